/*
 * cmd_verify.c: nacre verify: one TLS handshake to a server with the
 * policy enforced by libnacre (nacre_ssl_ctx_verify); prints who answered
 * (the platform: nitro, tdx, snp; its measurements; the release a
 * manifest names) and what the evidence proves, or why it does not.
 */
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "acme/acme.h"
#include "cli.h"
#include "libnacre.h"
#include "nacred.h"

static const char help[] =
	"usage: nacre verify HOST:PORT [--sni NAME] [--timeout DUR] [policy "
	"options] [--json]\n"
	"\n"
	"Connect with TLS, verify the attestation evidence in the server's\n"
	"certificate against the policy, print what it proves. HOST:PORT may\n"
	"also be tcp:HOST:PORT or vsock:CID:PORT. Exit 0 verified, 1 not\n"
	"verified (or no handshake), 2 usage error.\n"
	"\n"
	"  --sni NAME           server name sent (default: HOST unless an IP)\n"
	"  --timeout DUR        connect + handshake limit (default 10s)\n"
	"  --json               one JSON object on stdout\n"
	"  --fresh              send a nonce and require fresh evidence bound\n"
	"                       to this handshake (TLS 1.3; evidence format 8)\n"
	"  --session FILE       with --fresh: write what this client saw of the\n"
	"                       handshake (nonce, randoms, key shares, evidence,\n"
	"                       certificate; hex JSON) for another verifier\n"
	"\n"
	"For a name served with an ACME certificate, the whole chain (code ->\n"
	"account -> CAA -> the certificate browsers get):\n"
	"  --webpki             also connect without asking for attestation,\n"
	"                       verify that certificate (WebPKI), check its key\n"
	"                       is one the enclave says it made, and that the\n"
	"                       name's CAA pins the account the evidence names\n"
	"  --webpki-roots FILE  roots for that certificate (default: system's)\n"
	"  --ca IDENTITY        the CA's CAA issuer domain (default\n"
	"                       letsencrypt.org)\n"
	"  --resolver ADDR      DNS for the CAA check (default: resolv.conf's)\n";

struct opts {
	const char *target, *sni;
	uint64_t timeout_ms;
	bool json;
	bool fresh;
	const char *session;
	bool webpki;
	const char *webpki_roots, *ca, *resolver;
	struct cli_policy pol;
};

struct peer {
	char address[160], version[32], cipher[128], alpn[64], error[NACRE_ERRLEN];
	const char *status;       /* when no verdict: "connect-failed", ... */
};

static int
parse(int argc, char **argv, struct opts *o)
{
	struct cli_args a = { argc, argv, 1, "verify" };
	const char *v;
	int m;

	o->timeout_ms = 10000;
	for (; a.i < argc; a.i++) {
		if (cli_match(&a, "help", false, &v) > 0) {
			printf("%s\n%s", help, cli_policy_help);
			return 1;
		}
		if (cli_match(&a, "json", false, &v) > 0) {
			o->json = true;
			continue;
		}
		if ((m = cli_match(&a, "sni", true, &o->sni)) != 0) {
			if (m < 0)
				return -1;
			continue;
		}
		if (cli_match(&a, "webpki", false, &v) > 0) {
			o->webpki = true;
			continue;
		}
		if (cli_match(&a, "fresh", false, &v) > 0) {
			o->fresh = true;
			continue;
		}
		if ((m = cli_match(&a, "session", true, &o->session)) != 0) {
			if (m < 0)
				return -1;
			continue;
		}
		if ((m = cli_match(&a, "webpki-roots", true, &o->webpki_roots)) != 0 ||
		    (m = cli_match(&a, "ca", true, &o->ca)) != 0 ||
		    (m = cli_match(&a, "resolver", true, &o->resolver)) != 0) {
			if (m < 0)
				return -1;
			continue;
		}
		if ((m = cli_match(&a, "timeout", true, &v)) != 0) {
			if (m < 0 || nacre_parse_duration_ms(v, &o->timeout_ms)
			    < 0 || o->timeout_ms == 0) {
				fprintf(stderr, "nacre verify: --timeout: "
					"expected a duration (e.g. 5s)\n");
				return -1;
			}
			continue;
		}
		if ((m = cli_policy_opt(&o->pol, &a)) < 0)
			return -1;
		if (m > 0)
			continue;
		if (argv[a.i][0] == '-') {
			fprintf(stderr, "nacre verify: unknown option %s "
				"(nacre verify --help)\n", argv[a.i]);
			return -1;
		}
		if (o->target) {
			fprintf(stderr, "nacre verify: one server only (got %s "
				"and %s)\n", o->target, argv[a.i]);
			return -1;
		}
		o->target = argv[a.i];
	}
	if (!o->target) {
		fprintf(stderr, "nacre verify: no server; give HOST:PORT "
			"(nacre verify --help)\n");
		return -1;
	}
	if (o->session && !o->fresh) {
		fprintf(stderr, "nacre verify: --session needs --fresh\n");
		return -1;
	}
	return 0;
}

static void
json_hex(FILE *f, const char *key, const uint8_t *p, size_t n, bool last)
{
	fprintf(f, " \"%s\": \"", key);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fprintf(f, "\"%s\n", last ? "" : ",");
}

/* --session: the handshake as this client saw it (tests/py/nitro_verify.py
 * --fresh reads it) */
static void
write_session(const char *path, SSL *ssl)
{
	struct nacre_fresh_view v;
	const uint8_t *ev;
	unsigned char *der = NULL;
	X509 *leaf;
	size_t len;
	int dlen = -1;
	FILE *f;

	if (!nacre_ssl_fresh_session(ssl, &v, &ev, &len)) {
		fprintf(stderr, "nacre verify: --session: no fresh evidence "
			"arrived; %s not written\n", path);
		return;
	}
	if ((leaf = SSL_get0_peer_certificate(ssl)))
		dlen = i2d_X509(leaf, &der);
	if (!(f = fopen(path, "w"))) {
		fprintf(stderr, "nacre verify: %s: %s\n", path, strerror(errno));
		OPENSSL_free(der);
		return;
	}
	fprintf(f, "{\n");
	json_hex(f, "nonce", v.nonce, v.nonce_len, false);
	json_hex(f, "client_random", v.client_random, 32, false);
	json_hex(f, "server_random", v.server_random, 32, false);
	json_hex(f, "client_share", v.client_share, v.client_share_len, false);
	json_hex(f, "server_share", v.server_share, v.server_share_len, false);
	if (dlen > 0)
		json_hex(f, "certificate", der, (size_t)dlen, false);
	json_hex(f, "evidence", ev, len, true);
	fprintf(f, "}\n");
	if (fclose(f) != 0)
		fprintf(stderr, "nacre verify: %s: %s\n", path, strerror(errno));
	OPENSSL_free(der);
}

/* HOST:PORT, tcp:HOST:PORT or vsock:CID:PORT; the default SNI is HOST
 * when it is a name */
int
cli_target_addr(const char *t, struct nacre_addr *out, char *sni, size_t snilen)
{
	char err[NACRE_ERRLEN], buf[300];
	const char *host;

	if (strncmp(t, "tcp:", 4) == 0 || strncmp(t, "vsock:", 6) == 0 ||
	    strncmp(t, "unix:", 5) == 0)
		snprintf(buf, sizeof(buf), "%s", t);
	else
		snprintf(buf, sizeof(buf), "tcp:%s", t);
	if (nacre_addr_parse(buf, false, out, err, sizeof(err)) < 0) {
		fprintf(stderr, "nacre: server address %s: %s\n", t, err);
		return -1;
	}
	sni[0] = '\0';
	if (strncmp(buf, "tcp:", 4) != 0)
		return 0;
	host = buf + 4;
	if (*host == '[' || strspn(host, "0123456789.:") == strlen(host))
		return 0;
	snprintf(sni, snilen, "%.*s", (int)(strrchr(host, ':') - host), host);
	return 0;
}

int
cli_dial(const struct nacre_addr *a, uint64_t timeout_ms, char *err,
	 size_t errlen)
{
	struct timeval tv = { (time_t)(timeout_ms / 1000),
			      (suseconds_t)(timeout_ms % 1000) * 1000 };
	struct pollfd pfd;
	socklen_t sl = sizeof(int);
	int fd, e = 0;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&a->ss, a->sslen) < 0 &&
	    errno != EINPROGRESS) {
		e = errno;
	} else {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)timeout_ms) != 1)
			e = ETIMEDOUT;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
			e = errno;
	}
	if (e) {
		snprintf(err, errlen, "cannot connect to %s: %s", a->text,
			 strerror(e));
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
describe_peer(SSL *ssl, struct peer *pe)
{
	const unsigned char *alpn;
	unsigned alen;

	snprintf(pe->version, sizeof(pe->version), "%s", SSL_get_version(ssl));
	snprintf(pe->cipher, sizeof(pe->cipher), "%s", SSL_get_cipher(ssl));
	SSL_get0_alpn_selected(ssl, &alpn, &alen);
	snprintf(pe->alpn, sizeof(pe->alpn), "%.*s", (int)alen,
		 alen ? (const char *)alpn : "");
}

static void tee_json(const struct nacre_tee_facts *f);

static void
print_json(const struct peer *pe, const struct nacre_result *r,
	   const struct nacre_tee_facts *f, uint64_t now)
{
	printf("{\"verified\": %s, \"status\": ",
	       r && r->status == NACRE_OK ? "true" : "false");
	cli_json_str(stdout, r ? nacre_verify_status_name(r->status)
			       : pe->status);
	printf(", \"message\": ");
	cli_json_str(stdout, r ? r->message : pe->error);
	printf(", \"warning\": ");
	if (r && r->warning[0])
		cli_json_str(stdout, r->warning);
	else
		printf("null");
	printf(", \"peer\": {\"address\": ");
	cli_json_str(stdout, pe->address);
	printf(", \"tls_version\": ");
	cli_json_str(stdout, pe->version);
	printf(", \"cipher\": ");
	cli_json_str(stdout, pe->cipher);
	printf(", \"alpn\": ");
	cli_json_str(stdout, pe->alpn);
	printf("}, \"evidence\": ");
	if (r && r->timestamp_ms)
		cli_result_json(stdout, r, now);
	else
		printf("null");
	tee_json(f);
	printf("}\n");
}

static void
hex_field(const char *label, const uint8_t *p, size_t n)
{
	char h[129];

	nacre_hex_encode(p, n, h);
	printf("  %-14s %s\n", label, h);
}

/* the TDX and SNP facts, as cli_result_text prints Nitro's */
static void
tee_text(const struct nacre_result *r, const struct nacre_tee_facts *f,
	 uint64_t now)
{
	static const char *const rtmr[4] = { "rtmr0:", "rtmr1:", "rtmr2:",
					     "rtmr3:" };
	char iso[40], h[97];

	printf("  evidence type: %s\n", r->evidence_type);
	printf("  platform:      %s\n", nacre_platform_name(f->platform));
	cli_iso_ms(r->timestamp_ms, iso, sizeof(iso));
	printf("  iat:           %s (%" PRIu64 " ms, age %.1f s)\n", iso,
	       r->timestamp_ms, ((double)now - (double)r->timestamp_ms) /
	       1000.0);
	if (r->root_sha256_hex[0])
		printf("  root sha256:   %s\n", r->root_sha256_hex);
	printf("  debug mode:    %s\n", r->debug ? "yes" : "no");
	if (f->decoded && f->platform == NACRE_PLATFORM_TDX) {
		hex_field("mrtd:", f->mrtd, 48);
		for (int i = 0; i < 4; i++)
			hex_field(rtmr[i], f->rtmr[i], 48);
		hex_field("mrconfigid:", f->mrconfigid, 48);
		hex_field("mrowner:", f->mrowner, 48);
		hex_field("td attributes:", f->td_attributes, 8);
		if (f->tcb_status[0])
			printf("  tcb status:    %s\n", f->tcb_status);
	} else if (f->decoded) {
		hex_field("measurement:", f->measurement, 48);
		hex_field("host data:", f->host_data, 32);
		hex_field("id key digest:", f->id_key_digest, 48);
		printf("  vmpl:          %" PRIu32 "\n", f->vmpl);
		printf("  guest policy:  0x%" PRIx64 "\n", f->guest_policy);
		printf("  reported tcb:  bootloader %u, tee %u, snp %u, "
		       "microcode %u\n", f->reported_tcb[0], f->reported_tcb[1],
		       f->reported_tcb[2], f->reported_tcb[3]);
		if (f->product[0])
			printf("  chip:          %s\n", f->product);
	}
	if (r->has_config_sha256) {
		nacre_hex_encode(r->config_sha256, 32, h);
		printf("  config sha256: %s\n", h);
	}
	if (r->has_acme) {
		printf("  acme account:  %s\n", r->acme_account_url);
		for (size_t i = 0; i < r->acme_nkeys; i++) {
			nacre_hex_encode(r->acme_keys[i], 32, h);
			printf("  acme key:      sha256 %s\n", h);
		}
	}
}

static void
json_hexkv(const char *key, const uint8_t *p, size_t n, bool first)
{
	char h[129];

	nacre_hex_encode(p, n, h);
	printf("%s\"%s\": \"%s\"", first ? "" : ", ", key, h);
}

/* "platform", "release" and the TEE's measurements */
static void
tee_json(const struct nacre_tee_facts *f)
{
	printf(", \"platform\": ");
	if (!f || f->platform == NACRE_PLATFORM_NONE) {
		printf("null, \"release\": null, \"measurements\": null");
		return;
	}
	cli_json_str(stdout, nacre_platform_name(f->platform));
	printf(", \"release\": ");
	if (f->release[0])
		cli_json_str(stdout, f->release);
	else
		printf("null");
	printf(", \"measurements\": ");
	if (!f->decoded || f->platform == NACRE_PLATFORM_NITRO) {
		printf("null");
		return;
	}
	printf("{");
	if (f->platform == NACRE_PLATFORM_TDX) {
		json_hexkv("mrtd", f->mrtd, 48, true);
		json_hexkv("rtmr0", f->rtmr[0], 48, false);
		json_hexkv("rtmr1", f->rtmr[1], 48, false);
		json_hexkv("rtmr2", f->rtmr[2], 48, false);
		json_hexkv("rtmr3", f->rtmr[3], 48, false);
		json_hexkv("mrconfigid", f->mrconfigid, 48, false);
		json_hexkv("mrowner", f->mrowner, 48, false);
		json_hexkv("td_attributes", f->td_attributes, 8, false);
		printf(", \"tcb_status\": ");
		cli_json_str(stdout, f->tcb_status);
	} else {
		json_hexkv("measurement", f->measurement, 48, true);
		json_hexkv("host_data", f->host_data, 32, false);
		json_hexkv("id_key_digest", f->id_key_digest, 48, false);
		printf(", \"vmpl\": %" PRIu32 ", \"guest_policy\": %" PRIu64
		       ", \"reported_tcb\": {\"bootloader\": %u, \"tee\": %u, "
		       "\"snp\": %u, \"microcode\": %u}, \"chip\": ", f->vmpl,
		       f->guest_policy, f->reported_tcb[0], f->reported_tcb[1],
		       f->reported_tcb[2], f->reported_tcb[3]);
		cli_json_str(stdout, f->product);
	}
	printf("}");
}

/* the status came after the binding check: the key is the evidence's */
static bool
binding_held(const struct nacre_result *r, const struct nacre_tee_facts *f)
{
	switch (r->status) {
	case NACRE_OK:
	case NACRE_E_TOO_OLD:
	case NACRE_E_FROM_FUTURE:
	case NACRE_E_DEBUG:
	case NACRE_E_PCR:
	case NACRE_E_MODULE:
	case NACRE_E_POLICY_UNPINNED:
	case NACRE_E_SESSION_BINDING:
	case NACRE_E_MEASUREMENT:
	case NACRE_E_GUEST_POLICY:
		return true;
	case NACRE_E_TCB: /* SNP's minimum TCB is policy, after it */
		return f && f->platform == NACRE_PLATFORM_SNP;
	default:
		return false;
	}
}

static void
print_text(const struct peer *pe, const struct nacre_result *r,
	   const struct nacre_tee_facts *f, uint64_t now)
{
	bool ok = r && r->status == NACRE_OK;
	bool tee = f && (f->platform == NACRE_PLATFORM_TDX ||
			 f->platform == NACRE_PLATFORM_SNP);

	printf("server: %s", pe->address);
	if (pe->version[0])
		printf(", %s, %s, ALPN %s", pe->version, pe->cipher,
		       pe->alpn[0] ? pe->alpn : "(none)");
	printf("\n");
	if (r && tee && (f->decoded || r->timestamp_ms)) {
		printf("evidence:\n");
		tee_text(r, f, now);
		if (f->release[0])
			printf("  release:       %s\n", f->release);
		printf("  binding:       %s\n", binding_held(r, f) ?
		       "certificate key == report data (SHA-512 of key and "
		       "claims)" : "not established");
	} else if (r && r->timestamp_ms) {
		printf("evidence:\n");
		cli_result_text(stdout, r, now);
		printf("  platform:      nitro\n");
		if (f && f->release[0])
			printf("  release:       %s\n", f->release);
		printf("  binding:       %s\n", binding_held(r, f) ?
		       "certificate key == document public_key" :
		       "not established");
	}
	if (r && f && f->platform != NACRE_PLATFORM_NONE)
		printf("platform: %s\n", nacre_platform_name(f->platform));
	printf("verified: %s\n", ok ? "yes" : "no");
	if (ok) {
		printf("  %s\n", r->message);
		return;
	}
	fprintf(stderr, "nacre verify: %s: %s\n",
		r ? nacre_verify_status_name(r->status) : pe->status,
		r ? r->message : pe->error);
}

static void
tls_error(struct peer *pe, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[200] = "no details";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(pe->error, sizeof(pe->error), "%s: %s", what, buf);
	pe->status = "tls-failed";
	ERR_clear_error();
}

/* the handshake; the verdict (possibly NULL) stays valid while ssl lives */
static const struct nacre_result *
handshake(SSL_CTX *ctx, int fd, const char *sni, struct peer *pe, SSL **out)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL *ssl = SSL_new(ctx);

	*out = ssl;
	if (!ssl || !SSL_set_fd(ssl, fd) ||
	    (sni[0] && !SSL_set_tlsext_host_name(ssl, sni)) ||
	    SSL_set_alpn_protos(ssl, alpn, sizeof(alpn) - 1) != 0) {
		tls_error(pe, "cannot set up TLS");
		return NULL;
	}
	if (SSL_connect(ssl) == 1)
		describe_peer(ssl, pe);
	else
		tls_error(pe, "TLS handshake failed");
	return nacre_ssl_result(ssl);
}

/* SHA-256 of the DER SubjectPublicKeyInfo of X's key */
static bool
spki_sha256(X509 *x, uint8_t out[32])
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(X509_get0_pubkey(x), &der);
	bool ok = len > 0 && EVP_Digest(der, (size_t)len, out, NULL, EVP_sha256(),
					 NULL);

	OPENSSL_free(der);
	return ok;
}

/* The chain past the evidence: the certificate a browser gets (no
 * attestation asked) verifies as WebPKI, its key is one the evidence
 * names (acme-keys), and the name's CAA pins the evidence's account.
 * Prints each step; true when all hold. */
static bool
webpki_chain(const struct opts *o, const struct nacre_addr *addr,
	     const char *sni, const struct nacre_result *r)
{
	char err[NACRE_ERRLEN], h[65], resolver[300];
	struct nacre_caa_result *caa = NULL;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *leaf = NULL;
	uint8_t kh[32];
	bool ok = false, known = false;
	int fd = -1;

	printf("webpki:\n");
	if (!r->has_acme) {
		printf("  the evidence names no ACME account: nothing to tie\n");
		return false;
	}
	if (!sni[0]) {
		printf("  no server name: give --sni\n");
		return false;
	}
	if ((fd = cli_dial(addr, o->timeout_ms, err, sizeof(err))) < 0) {
		printf("  %s\n", err);
		return false;
	}
	if (!(ctx = SSL_CTX_new(TLS_client_method())) ||
	    !(o->webpki_roots ? SSL_CTX_load_verify_locations(ctx, o->webpki_roots, NULL)
			      : SSL_CTX_set_default_verify_paths(ctx)) ||
	    !(ssl = SSL_new(ctx)) || !SSL_set_fd(ssl, fd) ||
	    !SSL_set_tlsext_host_name(ssl, sni) || !SSL_set1_host(ssl, sni)) {
		printf("  cannot set up TLS (roots %s)\n",
		       o->webpki_roots ? o->webpki_roots : "of the system");
		goto out;
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	if (SSL_connect(ssl) != 1 || !(leaf = SSL_get1_peer_certificate(ssl))) {
		printf("  certificate:   does not verify for %s: %s\n", sni,
		       X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
		goto out;
	}
	{
		char subj[256], iss[256];
		X509_NAME_oneline(X509_get_subject_name(leaf), subj, sizeof(subj));
		X509_NAME_oneline(X509_get_issuer_name(leaf), iss, sizeof(iss));
		printf("  certificate:   %s, issued by %s: verifies for %s\n", subj,
		       iss, sni);
	}
	if (!spki_sha256(leaf, kh))
		goto out;
	for (size_t i = 0; i < r->acme_nkeys; i++)
		known |= memcmp(r->acme_keys[i], kh, 32) == 0;
	nacre_hex_encode(kh, 32, h);
	printf("  key:           sha256 %s: %s\n", h, known ? "one the enclave "
	       "made (acme-keys)" : "NOT among the keys the evidence names");
	if (!known)
		goto out;
	if (o->resolver)
		snprintf(resolver, sizeof(resolver), "%s", o->resolver);
	else if (nacre_caa_default_resolver(resolver, sizeof(resolver), err,
					    sizeof(err)) < 0) {
		printf("  caa:           %s\n", err);
		goto out;
	}
	if (!(caa = calloc(1, sizeof(*caa))))
		goto out;
	{
		struct nacre_caa_query q = { .name = sni,
			.ca = o->ca ? o->ca : "letsencrypt.org",
			.account_uri = r->acme_account_url, .resolver = resolver };
		if (nacre_caa_check(&q, caa, err, sizeof(err)) < 0) {
			printf("  caa:           %s\n", err);
			goto out;
		}
		printf("  caa:           %s: %s\n",
		       nacre_caa_verdict_name(caa->verdict), caa->reason);
		ok = caa->verdict == NACRE_CAA_PINNED;
	}
out:
	printf("chain (code -> account -> CAA -> certificate): %s\n",
	       ok ? "verified" : "NOT verified");
	free(caa);
	X509_free(leaf);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return ok;
}

static int
run(const struct opts *o, const struct nacre_policy *p)
{
	struct peer pe = { .status = "connect-failed" };
	const struct nacre_result *r = NULL;
	const struct nacre_tee_facts *f = NULL;
	char sni[256], err[NACRE_ERRLEN];
	struct nacre_addr addr;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int fd, rc;

	if (cli_target_addr(o->target, &addr, sni, sizeof(sni)) < 0)
		return CLI_USAGE;
	if (o->sni)
		snprintf(sni, sizeof(sni), "%s", o->sni);
	snprintf(pe.address, sizeof(pe.address), "%s", addr.text);
	fd = cli_dial(&addr, o->timeout_ms, err, sizeof(err));
	if (fd < 0) {
		snprintf(pe.error, sizeof(pe.error), "%s", err);
	} else if (!(ctx = SSL_CTX_new(TLS_client_method())) ||
		   nacre_ssl_ctx_verify(ctx, p) < 0) {
		tls_error(&pe, "cannot set up TLS");
	} else {
		r = handshake(ctx, fd, sni, &pe, &ssl);
	}
	if (r && r->status == NACRE_OK && !pe.version[0])
		r = NULL;   /* verified, yet the handshake failed after */
	f = r && ssl ? nacre_ssl_facts(ssl) : NULL;
	cli_warn("verify", r);
	if (o->json)
		print_json(&pe, r, f, cli_now_ms(o->pol.has_at ? o->pol.at : 0));
	else
		print_text(&pe, r, f, cli_now_ms(o->pol.has_at ? o->pol.at : 0));
	rc = r && r->status == NACRE_OK ? CLI_OK : CLI_FAIL;
	if (o->session && ssl)
		write_session(o->session, ssl);
	if (rc == CLI_OK && o->webpki && !o->json && !webpki_chain(o, &addr, sni, r))
		rc = CLI_FAIL;
	if (ssl && rc == CLI_OK)
		SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
cli_verify(int argc, char **argv)
{
	struct opts o = { 0 };
	struct nacre_policy *p;
	int rc;

	if ((rc = parse(argc, argv, &o)) != 0)
		return rc > 0 ? CLI_OK : CLI_USAGE;
	if (o.webpki && o.json) {
		fprintf(stderr, "nacre verify: --webpki prints text only for "
			"now; leave out --json\n");
		return CLI_USAGE;
	}
	if (!(p = cli_policy_build(&o.pol)))
		return CLI_USAGE;
	nacre_policy_set_fresh(p, o.fresh || nacre_policy_fresh(p));
	rc = run(&o, p);
	nacre_policy_free(p);
	return rc;
}
