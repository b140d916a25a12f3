/*
 * challenge.c: the certificate a tls-alpn-01 validation sees (RFC 8737 3):
 * self-signed by a fresh key, one dNSName, and the critical
 * id-pe-acmeIdentifier extension holding SHA-256 of the key authorization.
 * It proves control of the name to the CA only; nothing else trusts it.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme.h"
#include "nacred.h"

#define ACME_IDENTIFIER_OID "1.3.6.1.5.5.7.1.31" /* id-pe-acmeIdentifier */
#define VALIDITY_S (7 * 24 * 3600)
#define BACKDATE_S 3600

/* extnValue = DER of Authorization ::= OCTET STRING (SIZE (32)) */
static int
add_acme_identifier(X509 *x, const uint8_t digest[32])
{
	ASN1_OBJECT *oid = OBJ_txt2obj(ACME_IDENTIFIER_OID, 1);
	ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	unsigned char *der = NULL;
	int len, ok = 0;

	if (!oid || !inner || !value ||
	    !ASN1_OCTET_STRING_set(inner, digest, 32))
		goto out;
	len = i2d_ASN1_OCTET_STRING(inner, &der);
	if (len <= 0 || !ASN1_OCTET_STRING_set(value, der, len))
		goto out;
	ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, value);
	ok = ext && X509_add_ext(x, ext, -1);
out:
	X509_EXTENSION_free(ext);
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(value);
	ASN1_OCTET_STRING_free(inner);
	ASN1_OBJECT_free(oid);
	return ok ? 0 : -1;
}

static int
add_san(X509 *x, const char *name)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	GENERAL_NAME *g = NULL;
	int ok = 0;

	if (!gens || !s || !ASN1_STRING_set(s, name, (int)strlen(name)) ||
	    !(g = GENERAL_NAME_new())) {
		ASN1_IA5STRING_free(s);
		goto out;
	}
	GENERAL_NAME_set0_value(g, GEN_DNS, s);
	if (!sk_GENERAL_NAME_push(gens, g)) {
		GENERAL_NAME_free(g);
		goto out;
	}
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) == 1;
out:
	GENERAL_NAMES_free(gens);
	return ok ? 0 : -1;
}

static int
set_serial(X509 *x)
{
	unsigned char serial[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(serial, sizeof(serial)) != 1)
		return -1;
	serial[0] &= 0x7f; /* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	return ok ? 0 : -1;
}

X509 *
nacre_acme_challenge_cert(const char *name, const uint8_t digest[32],
			  EVP_PKEY **key_out)
{
	EVP_PKEY *key = nacre_acme_key_new();
	X509 *x = X509_new();
	X509_NAME *subj;

	if (!key || !x || set_serial(x) != 0 || !X509_set_version(x, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_S) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), VALIDITY_S) ||
	    !X509_set_pubkey(x, key))
		goto fail;
	/* the name is in the SAN, where validation looks; the subject only
	 * says what this certificate is */
	subj = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
					(const unsigned char *)
					"ACME tls-alpn-01 challenge", -1, -1,
					0) ||
	    !X509_set_issuer_name(x, subj) || add_san(x, name) != 0 ||
	    add_acme_identifier(x, digest) != 0 ||
	    !X509_sign(x, key, EVP_sha256()))
		goto fail;
	*key_out = key;
	return x;
fail:
	ERR_clear_error();
	X509_free(x);
	nacre_acme_key_free(key);
	return NULL;
}
