/*
 * nacre-simdoc: writes a sim attestation document (and optionally the SPKI
 * it binds and a self-signed certificate carrying it in id-pe-cmw), so the
 * independent verifier (tests/py/nitro_verify.py) can check our output.
 *
 *   nacre-simdoc --root ROOT.pem --doc OUT.cbor [--spki OUT.der]
 *                [--cert OUT.der] [--mismatch] [--user-data HEX] [--nonce HEX]
 *                [--fresh SESSION.json]
 *
 * --fresh makes fresh evidence (docs/evidence-format.md 8) for the
 * handshake values in SESSION.json (hex "nonce", "client_random",
 * "server_random", "client_share", "server_share"): nonce = the nonce,
 * user_data = {"v": 1, "hs": binding}, the binding computed by libnacre.
 *
 * --mismatch puts a different key into the certificate than the document
 * binds (a certificate the verifier must refuse).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <jansson.h>

#include "attest.h"
#include "libnacre.h"

static int
usage(void)
{
	fprintf(stderr, "usage: nacre-simdoc --root ROOT.pem --doc OUT.cbor "
		"[--spki OUT.der] [--cert OUT.der] [--mismatch] "
		"[--user-data HEX] [--nonce HEX] [--fresh SESSION.json]\n");
	return 2;
}

static uint8_t *
unhex(const char *h, size_t *len)
{
	size_t n = strlen(h);
	uint8_t *out = malloc(n / 2 + 1);

	if (!out || n % 2)
		goto bad;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			goto bad;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return out;
bad:
	free(out);
	fprintf(stderr, "nacre-simdoc: bad hex \"%s\"\n", h);
	exit(2);
}

static int
write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

static int
hex_field(json_t *o, const char *k, uint8_t *out, size_t cap, size_t *len)
{
	const char *h = json_string_value(json_object_get(o, k));
	size_t n;
	uint8_t *b;

	if (!h) {
		fprintf(stderr, "nacre-simdoc: the session has no \"%s\"\n", k);
		return -1;
	}
	b = unhex(h, &n);
	if (n > cap) {
		free(b);
		fprintf(stderr, "nacre-simdoc: \"%s\" is too long\n", k);
		return -1;
	}
	memcpy(out, b, n);
	free(b);
	if (len)
		*len = n;
	return 0;
}

/* nonce and user_data of fresh evidence for the session in path */
static int
fresh_fields(const char *path, uint8_t **ud, size_t *ud_len, uint8_t **nonce,
	     size_t *nonce_len)
{
	struct nacre_fresh_view v = { 0 };
	struct nacre_claims c = { .version = NACRE_CLAIMS_VERSION,
				  .has_binding = true };
	json_t *o = json_load_file(path, 0, NULL);
	int rc = -1;

	if (!o || hex_field(o, "nonce", v.nonce, sizeof(v.nonce), &v.nonce_len) ||
	    hex_field(o, "client_random", v.client_random, 32, NULL) ||
	    hex_field(o, "server_random", v.server_random, 32, NULL) ||
	    hex_field(o, "client_share", v.client_share, sizeof(v.client_share),
		      &v.client_share_len) ||
	    hex_field(o, "server_share", v.server_share, sizeof(v.server_share),
		      &v.server_share_len) ||
	    nacre_fresh_binding(&v, c.binding) < 0 ||
	    nacre_claims_encode(&c, ud, ud_len) < 0 ||
	    !(*nonce = malloc(v.nonce_len))) {
		fprintf(stderr, "nacre-simdoc: cannot use the session %s\n", path);
		goto out;
	}
	memcpy(*nonce, v.nonce, v.nonce_len);
	*nonce_len = v.nonce_len;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* self-signed certificate for key, carrying doc */
static int
write_cert(const char *path, EVP_PKEY *key, const uint8_t *doc, size_t len)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);
	uint8_t *der = NULL;
	int dlen = -1, rc;

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)"nacre-simdoc", -1,
				   -1, 0);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	if (nacre_evidence_add_to_cert(x, NACRE_MEDIA_TYPE_NITRO, doc, len) == 0 &&
	    X509_sign(x, key, EVP_sha256()) > 0)
		dlen = i2d_X509(x, &der);
	rc = dlen > 0 ? write_file(path, der, (size_t)dlen) : -1;
	OPENSSL_free(der);
	X509_free(x);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *root = NULL, *docp = NULL, *spkip = NULL, *certp = NULL;
	uint8_t *ud = NULL, *nonce = NULL, *spki = NULL, *doc = NULL;
	size_t ud_len = 0, nonce_len = 0, doc_len;
	bool mismatch = false;
	char err[512];
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--mismatch")) {
			mismatch = true;
			continue;
		}
		if (!v)
			return usage();
		i++;
		if (!strcmp(a, "--root"))
			root = v;
		else if (!strcmp(a, "--doc"))
			docp = v;
		else if (!strcmp(a, "--spki"))
			spkip = v;
		else if (!strcmp(a, "--cert"))
			certp = v;
		else if (!strcmp(a, "--user-data"))
			ud = unhex(v, &ud_len);
		else if (!strcmp(a, "--nonce"))
			nonce = unhex(v, &nonce_len);
		else if (!strcmp(a, "--fresh")) {
			if (fresh_fields(v, &ud, &ud_len, &nonce, &nonce_len) < 0)
				return 1;
		} else
			return usage();
	}
	if (!root || !docp)
		return usage();

	struct nacre_attest *a = nacre_attest_sim_open(root, NULL, err,
						       sizeof(err));
	EVP_PKEY *key = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
	int spki_len = key ? i2d_PUBKEY(key, &spki) : -1;

	if (!a) {
		fprintf(stderr, "nacre-simdoc: %s\n", err);
		goto out;
	}
	if (spki_len <= 0 ||
	    nacre_attest_get(a, spki, (size_t)spki_len, ud, ud_len, nonce,
			     nonce_len, &doc, &doc_len, err, sizeof(err)) < 0) {
		fprintf(stderr, "nacre-simdoc: %s\n", spki_len <= 0 ?
			"cannot make a key" : err);
		goto out;
	}
	if (write_file(docp, doc, doc_len) < 0 ||
	    (spkip && write_file(spkip, spki, (size_t)spki_len) < 0) ||
	    (certp && write_cert(certp, mismatch ? other : key, doc,
				 doc_len) < 0))
		goto out;
	printf("%s\n", nacre_attest_sim_root_sha256_hex(a));
	rc = 0;
out:
	nacre_attest_free(a);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	OPENSSL_free(spki);
	free(doc);
	free(ud);
	free(nonce);
	return rc;
}
