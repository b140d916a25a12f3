/*
 * inspect_snp.c: nacre inspect on an AMD SEV-SNP attestation report (the
 * 1184-byte ATTESTATION_REPORT, raw or hex). It shows the report and,
 * given the VCEK and the ASK/ARK chain (--snp-vcek, --snp-chain), verifies
 * it offline with libnacre's SNP verifier (src/verify/snp*.c): the chain
 * to the pinned AMD root, the VCEK's TCB against the report's, the
 * signature, and the measurement(s) given with --snp-measurement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "nacred.h"
#include "snp.h"

#define CERT_MAX (64 * 1024)

static void
tcb(const char *label, const struct nacre_snp_tcb *t)
{
	printf("  %-18sbootloader %u, tee %u, snp %u, microcode %u\n", label,
	       t->bootloader, t->tee, t->snp, t->microcode);
}

/* a whole small file; NULL with the reason printed */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = malloc(CERT_MAX + 1);
	size_t n = 0;

	if (!f || !b) {
		fprintf(stderr, "nacre inspect: cannot read %s\n", path);
		if (f)
			fclose(f);
		free(b);
		return NULL;
	}
	n = fread(b, 1, CERT_MAX + 1, f);
	fclose(f);
	if (n == 0 || n > CERT_MAX) {
		fprintf(stderr, "nacre inspect: %s: %s\n", path,
			n ? "larger than 64 KiB, not a certificate" : "empty");
		free(b);
		return NULL;
	}
	*len = n;
	return b;
}

/* the ASK and ARK from one PEM file (ASK first, as AMD's KDS serves
 * them): each as DER into *ask / *ark */
static int
split_chain(const uint8_t *pem, size_t n, uint8_t **ask, size_t *ask_len,
	    uint8_t **ark, size_t *ark_len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)n);
	X509 *x[2] = { NULL, NULL };
	int rc = -1;

	*ask = *ark = NULL;
	if (bio && (x[0] = PEM_read_bio_X509(bio, NULL, NULL, NULL)) &&
	    (x[1] = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		int a = i2d_X509(x[0], ask), b = i2d_X509(x[1], ark);
		if (a > 0 && b > 0) {
			*ask_len = (size_t)a;
			*ark_len = (size_t)b;
			rc = 0;
		}
	}
	X509_free(x[0]);
	X509_free(x[1]);
	BIO_free(bio);
	return rc;
}

/* DER, or the first PEM certificate, as DER (malloc'd) */
static uint8_t *
to_der(uint8_t *b, size_t *n)
{
	BIO *bio;
	X509 *x;
	uint8_t *der = NULL;
	int k;

	if (*n < 11 || !memmem(b, *n, "-----BEGIN", 10))
		return b;
	bio = BIO_new_mem_buf(b, (int)*n);
	x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	free(b);
	if (!x || (k = i2d_X509(x, &der)) <= 0) {
		X509_free(x);
		return NULL;
	}
	X509_free(x);
	*n = (size_t)k;
	return der;
}

bool
cli_inspect_is_snp(const uint8_t *buf, size_t n)
{
	struct nacre_snp_report *r;
	char err[NACRE_ERRLEN];
	bool yes;

	if (n != NACRE_SNP_REPORT_LEN || !(r = malloc(sizeof(*r))))
		return false;
	yes = nacre_snp_report_parse(buf, n, r, err, sizeof(err)) ==
	      NACRE_SNP_OK;
	free(r);
	return yes;
}

int
cli_inspect_snp(const char *path, const uint8_t *buf, size_t n,
		const struct cli_snp_opts *o, time_t at)
{
	struct nacre_snp_result *res = calloc(1, sizeof(*res));
	struct nacre_snp_expect want = { 0 };
	struct nacre_snp_certs certs = { 0 };
	const struct nacre_snp_report *r;
	uint8_t *vcek = NULL, *chain = NULL, *ask = NULL, *ark = NULL;
	size_t vlen = 0, clen = 0;
	int rc = CLI_USAGE;

	if (!res)
		return CLI_USAGE;
	if (nacre_snp_report_parse(buf, n, &res->report, res->message,
				   sizeof(res->message)) != NACRE_SNP_OK) {
		fprintf(stderr, "nacre inspect: %s: %s\n", path, res->message);
		goto out;
	}
	r = &res->report;
	printf("input: AMD SEV-SNP attestation report (version %u)\n",
	       r->version);
	cli_hex_line("measurement:", r->measurement, sizeof(r->measurement));
	cli_hex_line("report data:", r->report_data, sizeof(r->report_data));
	cli_hex_line("host data:", r->host_data, sizeof(r->host_data));
	cli_hex_line("id key digest:", r->id_key_digest, sizeof(r->id_key_digest));
	printf("  %-18s0x%llx (debug %s, migration agent %s)\n", "policy:",
	       (unsigned long long)r->policy,
	       r->policy & (1ULL << 19) ? "allowed" : "no",
	       r->policy & (1ULL << 18) ? "allowed" : "no");
	printf("  %-18s%u\n", "vmpl:", r->vmpl);
	tcb("reported tcb:", &r->reported_tcb);
	cli_hex_line("chip id:", r->chip_id, sizeof(r->chip_id));
	if (!o->vcek && !o->chain) {
		printf("verification: not done (give --snp-vcek and "
		       "--snp-chain to verify offline)\n");
		rc = CLI_OK;
		goto out;
	}
	if (!o->vcek || !o->chain) {
		fprintf(stderr, "nacre inspect: verifying an SNP report needs "
			"both --snp-vcek (the VCEK, DER or PEM) and --snp-chain "
			"(ASK then ARK, PEM)\n");
		goto out;
	}
	if (!(vcek = slurp(o->vcek, &vlen)) || !(vcek = to_der(vcek, &vlen)) ||
	    !(chain = slurp(o->chain, &clen)) ||
	    split_chain(chain, clen, &ask, &certs.ask_len, &ark,
			&certs.ark_len) != 0) {
		fprintf(stderr, "nacre inspect: cannot read the VCEK (%s) or "
			"the ASK and ARK (%s: two PEM certificates, ASK first)\n",
			o->vcek, o->chain);
		goto out;
	}
	certs.vcek = vcek;
	certs.vcek_len = vlen;
	certs.ask = ask;
	certs.ark = ark;
	want.measurements = (const uint8_t (*)[48])o->measurements;
	want.nmeasurements = o->nmeasurements;
	want.allow_any_measurement = o->nmeasurements == 0;
	want.allow_debug = o->allow_debug;
	nacre_snp_verify(buf, n, &certs, at ? at : time(NULL), &want, res);
	if (o->nmeasurements == 0)
		fprintf(stderr, "nacre inspect: warning: no --snp-measurement "
			"given: any code's report passes the measurement check\n");
	if (res->status == NACRE_SNP_OK) {
		printf("verification: ok (AMD %s chain, VCEK TCB = reported "
		       "TCB, signature)\n", nacre_snp_product_name(res->product));
		rc = CLI_OK;
	} else {
		printf("verification: failed\n");
		fprintf(stderr, "nacre inspect: %s: %s\n",
			nacre_snp_status_name(res->status), res->message);
		rc = CLI_FAIL;
	}
out:
	free(vcek);
	free(chain);
	OPENSSL_free(ask);
	OPENSSL_free(ark);
	free(res);
	return rc;
}
