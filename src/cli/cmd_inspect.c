/*
 * cmd_inspect.c: nacre inspect: show the attestation evidence in a
 * certificate (PEM or DER) or a bare attestation document (CBOR, base64 or
 * hex) and, with policy options, verify it offline. A bare document has no
 * certificate, so every check but the key binding runs.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "attest.h"
#include "cli.h"
#include "libnacre.h"
#include "snp.h"
#include "tdx.h"
#include "tee_evidence.h"

#define INPUT_MAX (1024 * 1024)
#define FETCH_TIMEOUT_MS 10000

static const char help[] =
	"usage: nacre inspect FILE|-|HOST:PORT [policy options] [--json]\n"
	"\n"
	"Show the attestation evidence of a certificate (PEM or DER) or of an\n"
	"attestation document (CBOR, base64 or hex). With a policy option,\n"
	"verify it offline (exit 0 verified, 1 failed, 2 input error).\n"
	"HOST:PORT (or tcp:, vsock:CID:PORT, unix:/path) that is not a file:\n"
	"the attested certificate a nacred serves there, fetched over TLS\n"
	"(asking for attestation, verifying nothing during the handshake).\n"
	"The admin endpoint's /attestation is a PEM file for FILE or -.\n"
	"\n"
	"  --sni NAME           server name to send when fetching\n"
	"AMD SEV-SNP: FILE may be a 1184-byte attestation report (raw or hex);\n"
	"  --snp-vcek FILE      its VCEK (DER or PEM), and\n"
	"  --snp-chain FILE     the ASK then the ARK (PEM): verify it offline\n"
	"  --snp-measurement HEX  the 48-byte measurement to accept\n"
	"                       (repeatable, up to 8)\n"
	"Intel TDX: FILE may be a v4/v5 quote, verified offline (quote, QE\n"
	"  report, PCK chain to the Intel SGX Root CA);\n"
	"  --tdx-collateral DIR Intel PCS files (tcbinfo*.json, qe_identity*.json,\n"
	"                       their *_issuer_chain.pem, CRLs): the TCB status\n"
	"  --tdx-mrtd HEX       the 48-byte MRTD to accept (repeatable, up to 8)\n"
	"  --json               one JSON object on stdout\n";

struct input {
	const char *form;        /* "PEM certificate", "base64 document", ... */
	X509 *cert;              /* or NULL for a bare document */
	uint8_t *doc;            /* the document bytes (owned) */
	size_t doc_len;
	char *media_type;
	char ev_err[NACRE_ERRLEN];
	int ev_status;           /* nacre_evidence_from_cert, when cert */
};

static int
read_all(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (!f) {
		fprintf(stderr, "nacre inspect: cannot open %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	buf = malloc(INPUT_MAX + 1);
	n = buf ? fread(buf, 1, INPUT_MAX + 1, f) : 0;
	if (f != stdin)
		fclose(f);
	if (!buf || n > INPUT_MAX || n == 0) {
		fprintf(stderr, "nacre inspect: %s: %s\n", path,
			!buf ? "out of memory" : n ? "larger than 1 MiB, not "
			"a certificate or attestation document" : "empty");
		free(buf);
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* whitespace removed, in place; the new length */
static size_t
squeeze(uint8_t *b, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!isspace(b[i]))
			b[k++] = b[i];
	return k;
}

static bool
all_of(const uint8_t *b, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (!b[i] || !strchr(set, b[i]))
			return false;
	return n > 0;
}

/* printable ASCII and whitespace only: an encoding, not raw DER / CBOR */
static bool
is_text(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isprint(b[i]) && !isspace(b[i]))
			return false;
	return true;
}

static size_t
unhex(const uint8_t *b, size_t n, uint8_t *out)
{
	for (size_t i = 0; i + 1 < n; i += 2) {
		char t[3] = { (char)b[i], (char)b[i + 1], 0 };
		out[i / 2] = (uint8_t)strtoul(t, NULL, 16);
	}
	return n / 2;
}

/* standard or URL-safe base64, padding optional; -1 if malformed */
static long
unbase64(const uint8_t *b, size_t n, uint8_t *out)
{
	uint32_t acc = 0;
	size_t bits = 0, k = 0;

	while (n > 0 && b[n - 1] == '=')
		n--;
	for (size_t i = 0; i < n; i++) {
		const char *s = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
				"vwxyz0123456789+/";
		const char *p = strchr(s, b[i]);
		int v = p && b[i] ? (int)(p - s) : b[i] == '-' ? 62
			: b[i] == '_' ? 63 : -1;
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[k++] = (uint8_t)(acc >> bits);
		}
	}
	return (long)k;
}

static bool
is_der_cert(const uint8_t *b, size_t n, X509 **out)
{
	const unsigned char *p = b;
	X509 *x;

	if (n < 2 || b[0] != 0x30)
		return false;
	x = d2i_X509(NULL, &p, (long)n);
	if (!x || p != b + n) {
		X509_free(x);
		return false;
	}
	*out = x;
	return true;
}

static int
take_cert(struct input *in, X509 *x)
{
	in->cert = x;
	in->ev_status = nacre_evidence_from_cert(x, &in->media_type, &in->doc,
						 &in->doc_len, in->ev_err,
						 sizeof(in->ev_err));
	return 0;
}

/* binary: a DER certificate or a document (anything else is left to the
 * document decoder, whose error names the problem) */
static int
take_binary(struct input *in, uint8_t *b, size_t n, const char *cert_form,
	    const char *doc_form)
{
	X509 *x = NULL;

	if (is_der_cert(b, n, &x)) {
		in->form = cert_form;
		free(b);
		return take_cert(in, x);
	}
	in->form = doc_form;
	in->doc = b;
	in->doc_len = n;
	return 0;
}

static int
classify(const char *path, uint8_t *buf, size_t n, struct input *in)
{
	uint8_t *dec;
	long k;

	if (n >= 11 && memmem(buf, n, "-----BEGIN", 10)) {
		BIO *bio = BIO_new_mem_buf(buf, (int)n);
		X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL)
			      : NULL;
		BIO_free(bio);
		free(buf);
		if (!x) {
			fprintf(stderr, "nacre inspect: %s: PEM input holds "
				"no readable CERTIFICATE block\n", path);
			return -1;
		}
		in->form = "PEM certificate";
		return take_cert(in, x);
	}
	if (!is_text(buf, n))
		return take_binary(in, buf, n, "DER certificate",
				   "CBOR document");
	n = squeeze(buf, n);
	dec = malloc(n + 4); /* hex: n / 2, base64: 3n / 4 */
	if (!dec) {
		free(buf);
		return -1;
	}
	if (n % 2 == 0 && all_of(buf, n, "0123456789abcdefABCDEF")) {
		k = (long)unhex(buf, n, dec);
		free(buf);
		return take_binary(in, dec, (size_t)k, "hex DER certificate",
				   "hex document");
	}
	k = all_of(buf, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		   "0123456789+/=-_") ? unbase64(buf, n, dec) : -1;
	free(buf);
	if (k <= 0) {
		free(dec);
		fprintf(stderr, "nacre inspect: %s: not a certificate (PEM, "
			"DER) nor an attestation document (CBOR, base64, "
			"hex)\n", path);
		return -1;
	}
	return take_binary(in, dec, (size_t)k, "base64 DER certificate",
			   "base64 document");
}

/* ---- verification of a bare document ---- */

/* ---- output ---- */

static void
name_of(const uint8_t *der, size_t len, char *out, size_t outlen)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	if (!x || !X509_NAME_oneline(X509_get_subject_name(x), out,
				     (int)outlen))
		snprintf(out, outlen, "(unreadable certificate)");
	X509_free(x);
}

static void
sha256_hex(const uint8_t *p, size_t n, char out[65])
{
	uint8_t h[32];

	if (EVP_Digest(p, n, h, NULL, EVP_sha256(), NULL) == 1)
		nacre_hex_encode(h, 32, out);
	else
		snprintf(out, 65, "?");
}

/* user_data: the claims when it is a nacre claims map, else hex */
static void
user_data_text(const struct nacre_nitro_doc *d, FILE *f, bool json)
{
	struct nacre_claims cl;
	char err[NACRE_ERRLEN], h[2 * NACRE_NITRO_FIELD_MAX + 1];

	if (!d->has_user_data) {
		fputs("null", f);
		return;
	}
	if (nacre_claims_decode(d->user_data, d->user_data_len, &cl, err,
				sizeof(err)) < 0) {
		nacre_hex_encode(d->user_data, d->user_data_len, h);
		if (json)
			fprintf(f, "{\"hex\": \"%s\"}", h);
		else
			fprintf(f, "%s (%zu bytes)", h, d->user_data_len);
		return;
	}
	fprintf(f, json ? "{\"claims\": {\"v\": %" PRIu64 : "nacre claims v%"
		PRIu64, cl.version);
	if (cl.has_config) {
		nacre_hex_encode(cl.config_sha256, 32, h);
		fprintf(f, json ? ", \"cfg\": \"%s\"" : ", config sha256 %s", h);
	}
	if (cl.has_acme) {
		nacre_hex_encode(cl.acme_jwk_thumbprint, 32, h);
		fprintf(f, json ? ", \"acme-jkt\": \"%s\", \"acme-url\": " :
			", acme-jkt %s, acme-url ", h);
		if (json)
			cli_json_str(f, cl.acme_account_url);
		else
			fputs(cl.acme_account_url, f);
	}
	for (size_t i = 0; i < cl.acme_nkeys; i++) {
		nacre_hex_encode(cl.acme_keys[i], 32, h);
		if (json)
			fprintf(f, "%s\"%s\"%s", i ? ", " : ", \"acme-keys\": [", h,
				i + 1 == cl.acme_nkeys ? "]" : "");
		else
			fprintf(f, ", acme key sha256 %s", h);
	}
	fputs(json ? "}}" : "", f);
	nacre_claims_free(&cl);
}

static void
opt_hex(FILE *f, bool has, const uint8_t *p, size_t n, bool json)
{
	char h[2 * NACRE_NITRO_FIELD_MAX + 1];

	if (!has) {
		fputs("null", f);
		return;
	}
	nacre_hex_encode(p, n, h);
	fprintf(f, json ? "\"%s\"" : "%s", h);
}

static void
doc_text(const struct input *in, const struct nacre_nitro_doc *d,
	 const struct nacre_result *facts, uint64_t now)
{
	char name[512], h[65];

	printf("input: %s\n", in->form);
	if (in->cert) {
		X509_NAME_oneline(X509_get_subject_name(in->cert), name,
				  sizeof(name));
		printf("certificate subject: %s\n", name);
	}
	printf("evidence:\n");
	cli_result_text(stdout, facts, now);
	printf("  pcrs present:  %zu\n", d->npcrs);
	name_of(d->certificate, d->certificate_len, name, sizeof(name));
	printf("  signing cert:  %s\n", name);
	for (size_t i = 0; i < d->ncabundle; i++) {
		name_of(d->cabundle[i], d->cabundle_len[i], name,
			sizeof(name));
		printf("  cabundle[%zu]:   %s\n", i, name);
	}
	if (d->has_public_key) {
		sha256_hex(d->public_key, d->public_key_len, h);
		printf("  public_key:    sha256:%s (%zu bytes)\n", h,
		       d->public_key_len);
	} else {
		printf("  public_key:    null\n");
	}
	printf("  user_data:     ");
	user_data_text(d, stdout, false);
	printf("\n  nonce:         ");
	opt_hex(stdout, d->has_nonce, d->nonce, d->nonce_len, false);
	printf("\n");
}

static void
doc_json(const struct nacre_nitro_doc *d, const struct nacre_result *facts,
	 uint64_t now)
{
	char name[512], h[65];

	printf(", \"evidence\": ");
	cli_result_json(stdout, facts, now);
	printf(", \"document\": {\"pcr_count\": %zu, \"signing_cert\": ",
	       d->npcrs);
	name_of(d->certificate, d->certificate_len, name, sizeof(name));
	cli_json_str(stdout, name);
	printf(", \"cabundle\": [");
	for (size_t i = 0; i < d->ncabundle; i++) {
		name_of(d->cabundle[i], d->cabundle_len[i], name,
			sizeof(name));
		printf("%s", i ? ", " : "");
		cli_json_str(stdout, name);
	}
	printf("], \"public_key_sha256\": ");
	if (d->has_public_key) {
		sha256_hex(d->public_key, d->public_key_len, h);
		printf("\"%s\"", h);
	} else {
		printf("null");
	}
	printf(", \"user_data\": ");
	user_data_text(d, stdout, true);
	printf(", \"nonce\": ");
	opt_hex(stdout, d->has_nonce, d->nonce, d->nonce_len, true);
	printf("}");
}

static void
cert_json(X509 *cert)
{
	char name[512];

	if (!cert)
		return;
	X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof(name));
	printf(", \"certificate_subject\": ");
	cli_json_str(stdout, name);
}

static void
verdict(const struct nacre_result *r, bool json)
{
	const char *name = nacre_verify_status_name(r->status);

	cli_warn("inspect", r);
	if (json) {
		printf(", \"verified\": %s, \"status\": \"%s\", \"message\": ",
		       r->status == NACRE_OK ? "true" : "false", name);
		cli_json_str(stdout, r->message);
		printf(", \"warning\": ");
		if (r->warning[0])
			cli_json_str(stdout, r->warning);
		else
			printf("null");
		return;
	}
	printf("verification: %s\n  %s\n",
	       r->status == NACRE_OK ? "ok" : name, r->message);
	if (r->status != NACRE_OK)
		fprintf(stderr, "nacre inspect: verification failed: %s: %s\n",
			name, r->message);
}

/* ---- the command ---- */

struct opts {
	const char *path;
	const char *sni;
	struct cli_snp_opts snp;
	struct cli_tdx_opts tdx;
	bool json;
	struct cli_policy pol;
	const struct nacre_policy *shown; /* for the facts when no policy */
};

static int
parse(int argc, char **argv, struct opts *o)
{
	struct cli_args a = { argc, argv, 1, "inspect" };
	const char *v;
	int m;

	for (; a.i < argc; a.i++) {
		if (cli_match(&a, "help", false, &v) > 0) {
			printf("%s\n%s", help, cli_policy_help);
			return 1;
		}
		if ((m = cli_match(&a, "json", false, &v)) > 0) {
			o->json = true;
			continue;
		}
		if ((m = cli_match(&a, "sni", true, &v)) != 0) {
			if (m < 0)
				return -1;
			o->sni = v;
			continue;
		}
		if ((m = cli_match(&a, "tdx-collateral", true, &v)) != 0) {
			if (m < 0)
				return -1;
			o->tdx.collateral = v;
			continue;
		}
		if ((m = cli_match(&a, "tdx-mrtd", true, &v)) != 0) {
			if (m < 0)
				return -1;
			if (o->tdx.nmrtd == CLI_TDX_MRTD_MAX || strlen(v) != 96 ||
			    nacre_hex_decode(v, o->tdx.mrtd[o->tdx.nmrtd], 48) != 0) {
				fprintf(stderr, "nacre inspect: --tdx-mrtd %.100s: "
					"96 hex digits (48 bytes), at most %d "
					"times\n", v, CLI_TDX_MRTD_MAX);
				return -1;
			}
			o->tdx.nmrtd++;
			continue;
		}
		if ((m = cli_match(&a, "snp-vcek", true, &v)) != 0) {
			if (m < 0)
				return -1;
			o->snp.vcek = v;
			continue;
		}
		if ((m = cli_match(&a, "snp-chain", true, &v)) != 0) {
			if (m < 0)
				return -1;
			o->snp.chain = v;
			continue;
		}
		if ((m = cli_match(&a, "snp-measurement", true, &v)) != 0) {
			if (m < 0)
				return -1;
			if (o->snp.nmeasurements == CLI_SNP_MEASUREMENTS_MAX ||
			    strlen(v) != 96 ||
			    nacre_hex_decode(v, o->snp.measurements[
						     o->snp.nmeasurements], 48) != 0) {
				fprintf(stderr, "nacre inspect: --snp-measurement "
					"%.100s: 96 hex digits (48 bytes), at most "
					"%d times\n", v, CLI_SNP_MEASUREMENTS_MAX);
				return -1;
			}
			o->snp.nmeasurements++;
			continue;
		}
		if ((m = cli_policy_opt(&o->pol, &a)) < 0)
			return -1;
		if (m > 0)
			continue;
		if (argv[a.i][0] == '-' && argv[a.i][1] != '\0') {
			fprintf(stderr, "nacre inspect: unknown option %s "
				"(nacre inspect --help)\n", argv[a.i]);
			return -1;
		}
		if (o->path) {
			fprintf(stderr, "nacre inspect: one input only (got "
				"%s and %s)\n", o->path, argv[a.i]);
			return -1;
		}
		o->path = argv[a.i];
	}
	if (!o->path) {
		fprintf(stderr, "nacre inspect: no input; give a FILE or - "
			"(nacre inspect --help)\n");
		return -1;
	}
	return 0;
}

/* the input has no document to show: say why */
static int
no_document(const struct opts *o, struct input *in,
	    const struct nacre_policy *p)
{
	struct nacre_result r;

	if (p && in->cert) {
		nacre_verify_cert(in->cert, p, &r);
		if (o->json) {
			printf("{\"input\": \"%s\"", in->form);
			verdict(&r, true);
			printf("}\n");
		} else {
			verdict(&r, false);
		}
		return CLI_FAIL;
	}
	fprintf(stderr, "nacre inspect: %s: %s\n", o->path, in->ev_err);
	return CLI_USAGE;
}

/* ---- a certificate with TDX or SEV-SNP evidence (evidence format 9) ---- */

static void
tee_claims(const struct nacre_tee_envelope *e, const uint8_t *spki,
	   size_t spki_len, const uint8_t *report_data, bool json)
{
	struct nacre_claims c;
	char err[NACRE_ERRLEN], iso[40], h[65];
	uint8_t want[64];
	bool bound = spki && report_data &&
		     nacre_report_data(spki, spki_len, e->claims, e->claims_len,
				       want) == 0 &&
		     memcmp(want, report_data, 64) == 0;

	if (nacre_claims_decode(e->claims, e->claims_len, &c, err,
				sizeof(err)) < 0) {
		if (json)
			printf(", \"claims\": null");
		else
			printf("  %-18s%s\n", "claims:", err);
		return;
	}
	cli_iso_ms(c.iat_ms, iso, sizeof(iso));
	if (c.has_config)
		nacre_hex_encode(c.config_sha256, 32, h);
	if (json) {
		printf(", \"claims\": {\"iat_ms\": ");
		if (c.has_iat)
			printf("%llu", (unsigned long long)c.iat_ms);
		else
			printf("null");
		printf(", \"config_sha256\": ");
		if (c.has_config)
			printf("\"%s\"", h);
		else
			printf("null");
		printf(", \"fresh\": %s}, \"binding\": %s", c.has_binding ?
		       "true" : "false", bound ? "true" : "false");
	} else {
		printf("  %-18s%s\n", "iat:", c.has_iat ? iso :
		       "(none: such evidence is refused)");
		if (c.has_config)
			printf("  %-18s%s\n", "config sha256:", h);
		if (c.has_binding)
			printf("  %-18s%s\n", "fresh:", "yes (claims \"hs\")");
		printf("  %-18s%s\n", "binding:", bound ? "report data == "
		       "SHA-512(certificate key, claims)" : "report data does "
		       "NOT bind this certificate's key and claims");
	}
	nacre_claims_free(&c);
}

static int
tee_cert(const struct opts *o, struct input *in, const struct nacre_policy *p)
{
	bool tdx = strcmp(in->media_type, NACRE_MEDIA_TYPE_TDX) == 0;
	struct nacre_tee_envelope e;
	struct nacre_tdx_quote q;
	struct nacre_snp_report *rep = NULL;
	struct nacre_tee_facts f;
	struct nacre_result r;
	enum nacre_tdx_status tst;
	const uint8_t *rd = NULL;
	uint8_t *spki = NULL;
	char err[NACRE_ERRLEN];
	int n, rc;

	if (nacre_tee_envelope_decode(in->doc, in->doc_len, &e, err,
				      sizeof(err)) < 0) {
		fprintf(stderr, "nacre inspect: %s: %s\n", o->path, err);
		return p ? CLI_FAIL : CLI_USAGE;
	}
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(in->cert), &spki);
	if (tdx && nacre_tdx_quote_parse(e.evidence, e.evidence_len, &q, &tst,
					 err, sizeof(err)) == 0)
		rd = q.td.report_data;
	if (!tdx && (rep = calloc(1, sizeof(*rep))) &&
	    nacre_snp_report_parse(e.evidence, e.evidence_len, rep, err,
				   sizeof(err)) == NACRE_SNP_OK)
		rd = rep->report_data;
	if (o->json) {
		printf("{\"input\": \"%s\", \"evidence_type\": ", in->form);
		cli_json_str(stdout, in->media_type);
		printf(", \"platform\": \"%s\"", tdx ? "tdx" : "snp");
		cert_json(in->cert);
		tee_claims(&e, n > 0 ? spki : NULL, (size_t)(n > 0 ? n : 0), rd,
			   true);
	} else {
		printf("input: %s with %s evidence (%s)\n", in->form,
		       tdx ? "Intel TDX" : "AMD SEV-SNP", in->media_type);
		printf("  %-18s%s\n", "platform:", tdx ? "tdx" : "snp");
		tee_claims(&e, n > 0 ? spki : NULL, (size_t)(n > 0 ? n : 0), rd,
			   false);
		if (!tdx)
			printf("  %-18s%zu (VCEK, ASK, ARK in that order)\n",
			       "certificates:", e.ncerts);
	}
	OPENSSL_free(spki);
	free(rep);
	if (!p) {
		/* the quote or report itself, as for a bare one */
		if (o->json) {
			printf("}\n");
			return CLI_OK;
		}
		return tdx ? cli_inspect_tdx(o->path, e.evidence, e.evidence_len,
					     &o->tdx, o->pol.has_at ? o->pol.at : 0)
			   : cli_inspect_snp(o->path, e.evidence, e.evidence_len,
					     &o->snp, o->pol.has_at ? o->pol.at : 0);
	}
	rc = nacre_verify_cert_facts(in->cert, p, &r, &f) == NACRE_OK ?
		CLI_OK : CLI_FAIL;
	if (!o->json && f.release[0])
		printf("  %-18s%s\n", "release:", f.release);
	if (o->json) {
		printf(", \"release\": ");
		if (f.release[0])
			cli_json_str(stdout, f.release);
		else
			printf("null");
	}
	verdict(&r, o->json);
	printf(o->json ? "}\n" : "");
	return rc;
}

static int
run(const struct opts *o, struct input *in, const struct nacre_policy *p)
{
	struct nacre_nitro_doc *d = NULL;
	struct nacre_result facts, r = { 0 };
	char err[NACRE_ERRLEN];
	uint64_t now = cli_now_ms(o->pol.has_at ? o->pol.at : 0);
	const struct nacre_policy *shown = o->shown;

	if (in->cert && in->ev_status != NACRE_EV_OK)
		return no_document(o, in, p);
	if (in->cert && (strcmp(in->media_type, NACRE_MEDIA_TYPE_TDX) == 0 ||
			 strcmp(in->media_type, NACRE_MEDIA_TYPE_SNP) == 0))
		return tee_cert(o, in, p);
	if (in->cert && strcmp(in->media_type, NACRE_MEDIA_TYPE_NITRO) != 0) {
		snprintf(in->ev_err, sizeof(in->ev_err), "evidence of type %s "
			 "is not read by this tool", in->media_type);
		return no_document(o, in, p);
	}
	if (nacre_nitro_doc_decode(in->doc, in->doc_len, &d, err,
				   sizeof(err)) < 0) {
		memset(&r, 0, sizeof(r));
		r.status = NACRE_E_DOC_MALFORMED;
		snprintf(r.message, sizeof(r.message), "The attestation "
			 "document is malformed: %.400s.", err);
		if (!p) {
			fprintf(stderr, "nacre inspect: %s (%s): %s\n", o->path,
				in->form, r.message);
			return CLI_USAGE;
		}
		if (o->json)
			printf("{\"input\": \"%s\"", in->form);
		verdict(&r, o->json);
		printf(o->json ? "}\n" : "");
		return CLI_FAIL;
	}
	/* the library fills the decoded facts whatever its verdict */
	nacre_verify_document(in->doc, in->doc_len, NULL, 0, p ? p : shown,
			      &facts);
	if (o->json) {
		printf("{\"input\": \"%s\"", in->form);
		cert_json(in->cert);
		doc_json(d, &facts, now);
	} else {
		doc_text(in, d, &facts, now);
	}
	if (p) {
		if (in->cert)
			nacre_verify_cert(in->cert, p, &r);
		else
			r = facts;
		verdict(&r, o->json);
	}
	printf(o->json ? "}\n" : "");
	nacre_nitro_doc_free(d);
	return !p || r.status == NACRE_OK ? CLI_OK : CLI_FAIL;
}

/* PATH names a server rather than a file: not "-", no such file, and of
 * the form HOST:PORT or ADDRESS-KIND:... */
static bool
is_server(const char *path)
{
	struct stat st;
	const char *colon = strrchr(path, ':');

	if (strcmp(path, "-") == 0 || stat(path, &st) == 0 || !colon)
		return false;
	return strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
	       colon[1] != '\0';
}

static int
ask_attestation(SSL *s, unsigned int type, unsigned int context,
		const unsigned char **out, size_t *outlen, X509 *x,
		size_t chainidx, int *al, void *arg)
{
	static const unsigned char v = NACRE_TLSEXT_ATTEST_VERSION;

	*out = &v;
	*outlen = 1;
	return 1;
}

/* the leaf a nacred at TARGET serves to a client that asks for the
 * attested certificate, as PEM in *OUT; nothing is verified here (the
 * policy options do that after, offline) */
static int
fetch_cert(const char *target, const char *sni_opt, uint8_t **out,
	   size_t *len)
{
	struct nacre_addr addr;
	char sni[256], err[NACRE_ERRLEN];
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *leaf = NULL;
	BIO *mem = NULL;
	char *p;
	long n;
	int fd = -1, rc = -1;

	if (cli_target_addr(target, &addr, sni, sizeof(sni)) < 0)
		return -1;
	if (sni_opt)
		snprintf(sni, sizeof(sni), "%s", sni_opt);
	if ((fd = cli_dial(&addr, FETCH_TIMEOUT_MS, err, sizeof(err))) < 0) {
		fprintf(stderr, "nacre inspect: %s: %s\n", target, err);
		return -1;
	}
	if (!(ctx = SSL_CTX_new(TLS_client_method())) ||
	    !SSL_CTX_add_custom_ext(ctx, NACRE_TLSEXT_ATTEST,
				    SSL_EXT_CLIENT_HELLO, ask_attestation,
				    NULL, NULL, NULL, NULL) ||
	    !(ssl = SSL_new(ctx)) || !SSL_set_fd(ssl, fd) ||
	    (sni[0] && !SSL_set_tlsext_host_name(ssl, sni))) {
		fprintf(stderr, "nacre inspect: cannot set up TLS\n");
		goto out;
	}
	if (SSL_connect(ssl) != 1 || !(leaf = SSL_get1_peer_certificate(ssl))) {
		unsigned long e = ERR_peek_last_error();
		char buf[200] = "no certificate";

		if (e)
			ERR_error_string_n(e, buf, sizeof(buf));
		fprintf(stderr, "nacre inspect: %s: TLS handshake failed: %s\n",
			target, buf);
		goto out;
	}
	if (!(mem = BIO_new(BIO_s_mem())) || !PEM_write_bio_X509(mem, leaf) ||
	    (n = BIO_get_mem_data(mem, &p)) <= 0 || !(*out = malloc((size_t)n))) {
		fprintf(stderr, "nacre inspect: out of memory\n");
		goto out;
	}
	memcpy(*out, p, (size_t)n);
	*len = (size_t)n;
	rc = 0;
out:
	BIO_free(mem);
	X509_free(leaf);
	if (ssl)
		SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return rc;
}

int
cli_inspect(int argc, char **argv)
{
	struct opts o = { 0 };
	struct input in = { 0 };
	struct nacre_policy *p = NULL;
	uint8_t *buf;
	size_t n;
	int rc;

	if ((rc = parse(argc, argv, &o)) != 0)
		return rc > 0 ? CLI_OK : CLI_USAGE;
	if ((is_server(o.path) ? fetch_cert(o.path, o.sni, &buf, &n) :
				 read_all(o.path, &buf, &n)) < 0)
		return CLI_USAGE;
	/* an AMD SEV-SNP report, raw or hex */
	/* (on a copy: other text, PEM above all, must keep its lines) */
	if (n >= 2 * NACRE_SNP_REPORT_LEN && is_text(buf, n)) {
		char *t = malloc(n + 1);
		size_t k = 0;

		if (t) {
			memcpy(t, buf, n);
			k = squeeze((uint8_t *)t, n);
			t[k] = '\0';
		}
		/* decoded into t itself (it reads ahead of what it writes),
		 * and into buf only whole */
		if (t && k == 2 * NACRE_SNP_REPORT_LEN &&
		    nacre_hex_decode(t, (uint8_t *)t, k / 2) == 0) {
			memcpy(buf, t, k / 2);
			n = k / 2;
		}
		free(t);
	}
	if (cli_inspect_is_snp(buf, n)) {
		o.snp.allow_debug = o.pol.allow_debug;
		rc = cli_inspect_snp(o.path, buf, n, &o.snp,
				     o.pol.has_at ? o.pol.at : 0);
		free(buf);
		return rc;
	}
	if (cli_inspect_is_tdx(buf, n)) {
		o.tdx.allow_debug = o.pol.allow_debug;
		rc = cli_inspect_tdx(o.path, buf, n, &o.tdx,
				     o.pol.has_at ? o.pol.at : 0);
		free(buf);
		return rc;
	}
	/* the policy (bare SNP reports and TDX quotes have their own
	 * options above; certificates of every platform take the policy) */
	if (o.pol.any && !(p = cli_policy_build(&o.pol))) {
		free(buf);
		return CLI_USAGE;
	}
	if (classify(o.path, buf, n, &in) < 0) {
		nacre_policy_free(p);
		return CLI_USAGE;
	}
	struct nacre_policy *shown = nacre_policy_new();
	if (!shown) {
		fprintf(stderr, "nacre inspect: out of memory\n");
		rc = CLI_USAGE;
	} else {
		o.shown = shown;
		rc = run(&o, &in, p);
	}
	nacre_policy_free(shown);
	X509_free(in.cert);
	free(in.doc);
	free(in.media_type);
	nacre_policy_free(p);
	return rc;
}
