/*
 * csr.c: the two ends of finalize: the CSR for a certificate key born in
 * memory (RFC 8555 7.4: PKCS#10, the names as SAN dNSNames) and the PEM
 * chain the CA sends back, checked before anything serves it: the leaf
 * holds our key and every name, and each certificate is issued by the next.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme.h"
#include "nacred.h"

#define CHAIN_MAX 10 /* a leaf and a few intermediates; more is not a chain */
#define CN_MAX 64    /* RFC 5280 ub-common-name */

static GENERAL_NAMES *
dns_names(const char *const *names, size_t n)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();

	for (size_t i = 0; gens && i < n; i++) {
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		GENERAL_NAME *g = NULL;
		if (s && ASN1_STRING_set(s, names[i], (int)strlen(names[i])))
			g = GENERAL_NAME_new();
		if (!g) {
			ASN1_IA5STRING_free(s);
			goto fail;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			goto fail;
		}
	}
	return gens;
fail:
	GENERAL_NAMES_free(gens);
	return NULL;
}

static int
req_add_san(X509_REQ *req, const char *const *names, size_t n)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	GENERAL_NAMES *gens = dns_names(names, n);
	X509_EXTENSION *ext = gens ? X509V3_EXT_i2d(NID_subject_alt_name, 0,
						    gens) : NULL;
	int ok = exts && ext && sk_X509_EXTENSION_push(exts, ext);

	if (ok)
		ext = NULL; /* the stack holds it now */
	ok = ok && X509_REQ_add_extensions(req, exts);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	return ok ? 0 : -1;
}

int
nacre_acme_csr(EVP_PKEY *key, const char *const *names, size_t n,
	       uint8_t **der, size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *subj = X509_REQ_get_subject_name(req);
	unsigned char *p = NULL;
	int dlen, rc = -1;

	if (!req || n == 0 || !X509_REQ_set_version(req, 0) ||
	    !X509_REQ_set_pubkey(req, key))
		goto out;
	/* the CN is optional (RFC 8555 7.4); the names live in the SAN */
	if (strlen(names[0]) <= CN_MAX &&
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
					(const unsigned char *)names[0], -1,
					-1, 0))
		goto out;
	if (req_add_san(req, names, n) != 0 ||
	    !X509_REQ_sign(req, key, EVP_sha256()))
		goto out;
	dlen = i2d_X509_REQ(req, &p);
	if (dlen <= 0)
		goto out;
	*der = p;
	*len = (size_t)dlen;
	rc = 0;
out:
	X509_REQ_free(req);
	ERR_clear_error();
	return rc;
}

static int
asn1_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int
read_chain(const char *pem, size_t len, struct nacre_acme_cert *out,
	   char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x;

	out->chain = calloc(CHAIN_MAX, sizeof(*out->chain));
	if (!b || !out->chain) {
		BIO_free(b);
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (out->nchain == CHAIN_MAX) {
			X509_free(x);
			BIO_free(b);
			nacre_seterr(err, errlen, "the CA's chain has more "
				     "than %d certificates", CHAIN_MAX);
			return -1;
		}
		out->chain[out->nchain++] = x;
	}
	BIO_free(b);
	ERR_clear_error(); /* the end of the PEM stream reads as an error */
	if (out->nchain == 0) {
		nacre_seterr(err, errlen, "the CA's certificate download holds "
			     "no PEM certificate");
		return -1;
	}
	return 0;
}

static int
check_leaf(X509 *leaf, EVP_PKEY *key, const char *const *names, size_t n,
	   char *err, size_t errlen)
{
	if (EVP_PKEY_eq(X509_get0_pubkey(leaf), key) != 1) {
		nacre_seterr(err, errlen, "the CA's certificate is not for the "
			     "key of our CSR");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (X509_check_host(leaf, names[i], 0,
				    X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1) {
			nacre_seterr(err, errlen, "the CA's certificate does "
				     "not name %s", names[i]);
			return -1;
		}
	}
	return 0;
}

static int
check_chain(struct nacre_acme_cert *out, EVP_PKEY *key,
	    const char *const *names, size_t n, char *err, size_t errlen)
{
	X509 *leaf = out->chain[0];

	if (check_leaf(leaf, key, names, n, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i + 1 < out->nchain; i++) {
		if (X509_check_issued(out->chain[i + 1], out->chain[i]) !=
		    X509_V_OK) {
			nacre_seterr(err, errlen, "the CA's chain is out of "
				     "order: certificate %zu is not issued by "
				     "certificate %zu", i + 1, i + 2);
			return -1;
		}
	}
	if (asn1_unix(X509_get0_notBefore(leaf), &out->not_before) != 0 ||
	    asn1_unix(X509_get0_notAfter(leaf), &out->not_after) != 0) {
		nacre_seterr(err, errlen, "the CA's certificate has an "
			     "unreadable validity period");
		return -1;
	}
	return 0;
}

static void
cert_clear(struct nacre_acme_cert *cert)
{
	for (size_t i = 0; i < cert->nchain; i++)
		X509_free(cert->chain[i]);
	free(cert->chain);
	free(cert->chain_pem);
	nacre_acme_key_free(cert->key);
	memset(cert, 0, sizeof(*cert));
}

int
nacre_acme_chain_parse(const char *pem, size_t len, EVP_PKEY *key,
		       const char *const *names, size_t n,
		       struct nacre_acme_cert *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (read_chain(pem, len, out, err, errlen) != 0 ||
	    check_chain(out, key, names, n, err, errlen) != 0) {
		cert_clear(out);
		return -1;
	}
	out->chain_pem = strndup(pem, len);
	if (!out->chain_pem) {
		nacre_seterr(err, errlen, "out of memory");
		cert_clear(out);
		return -1;
	}
	return 0;
}

void
nacre_acme_cert_free(struct nacre_acme_cert *cert)
{
	if (!cert)
		return;
	cert_clear(cert);
	free(cert);
}
