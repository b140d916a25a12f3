/*
 * certcheck.c: test tool. Reads a certificate (PEM), finds the evidence in
 * its id-pe-cmw extension with nacred's own parser, decodes the Nitro
 * document, verifies signature and chain against a root (PEM) at the
 * document's time, and checks the binding (document public_key == the
 * certificate's SPKI). Prints key=value facts; exit 0 only if all hold.
 *   certcheck CERT.pem ROOT.pem
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "attest.h"
#include "nacred.h"

static void
hex(const char *k, const uint8_t *p, size_t n)
{
	printf("%s=", k);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

static X509 *
load(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	if (!x)
		fprintf(stderr, "certcheck: cannot read a PEM certificate from %s\n", path);
	return x;
}

int
main(int argc, char **argv)
{
	struct nacre_nitro_doc *d = NULL;
	struct nacre_claims cl = { 0 };
	char err[512], *mt = NULL;
	uint8_t *doc = NULL;
	unsigned char *spki = NULL;
	size_t len = 0;
	int spki_len, rc = 1;
	X509 *cert, *root;
	EVP_PKEY *leaf = NULL;

	if (argc != 3) {
		fprintf(stderr, "usage: certcheck CERT.pem ROOT.pem\n");
		return 2;
	}
	cert = load(argv[1]);
	root = load(argv[2]);
	if (!cert || !root)
		return 2;
	if (nacre_evidence_from_cert(cert, &mt, &doc, &len, err, sizeof(err)) != 0) {
		printf("error=%s\n", err);
		goto out;
	}
	printf("media_type=%s\ndoc_len=%zu\n", mt, len);
	if (nacre_nitro_doc_decode(doc, len, &d, err, sizeof(err)) != 0) {
		printf("error=%s\n", err);
		goto out;
	}
	printf("module_id=%s\ntimestamp_ms=%llu\ncabundle=%zu\n", d->module_id,
	       (unsigned long long)d->timestamp_ms, d->ncabundle);
	hex("pcr0", d->pcr[0], d->pcr_len[0]);
	leaf = nacre_nitro_doc_verify_chain(d, root, (time_t)(d->timestamp_ms / 1000),
					    err, sizeof(err));
	if (!leaf) {
		printf("chain=fail: %s\n", err);
		goto out;
	}
	printf("chain=ok\n");
	if (nacre_nitro_doc_verify_sig(d, leaf, err, sizeof(err)) != 0) {
		printf("signature=fail: %s\n", err);
		goto out;
	}
	printf("signature=ok\n");
	spki_len = i2d_PUBKEY(X509_get0_pubkey(cert), &spki);
	if (!d->has_public_key || spki_len <= 0 ||
	    d->public_key_len != (size_t)spki_len ||
	    memcmp(d->public_key, spki, (size_t)spki_len) != 0) {
		printf("binding=fail: the document's public_key is not this "
		       "certificate's key\n");
		goto out;
	}
	printf("binding=ok\n");
	if (!d->has_user_data ||
	    nacre_claims_decode(d->user_data, d->user_data_len, &cl, err,
				sizeof(err)) != 0) {
		printf("claims=fail: %s\n", d->has_user_data ? err : "no user_data");
		goto out;
	}
	printf("claims_version=%llu\n", (unsigned long long)cl.version);
	if (cl.has_config)
		hex("claims_config_sha256", cl.config_sha256, 32);
	rc = 0;
out:
	nacre_claims_free(&cl);
	nacre_nitro_doc_free(d);
	EVP_PKEY_free(leaf);
	OPENSSL_free(spki);
	free(mt);
	free(doc);
	X509_free(cert);
	X509_free(root);
	return rc;
}
