/*
 * jws.c: what ACME signs with: the account key (P-256, born in memory),
 * its JWK and RFC 7638 thumbprint, and ES256 JWS in flattened JSON
 * serialization (RFC 7515 7.2.2, RFC 8555 6.2); base64url for all of them.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "acme/acme.h"
#include "nacred.h"

#define P256_LEN 32

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
nacre_acme_b64url(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t need = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0), o = 0;

	if (cap <= need)
		return 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t left = n - i;
		if (left > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		if (left > 1)
			out[o++] = b64url_alphabet[v >> 6 & 63];
		if (left > 2)
			out[o++] = b64url_alphabet[v & 63];
	}
	out[o] = '\0';
	return o;
}

static int
b64url_value(char c)
{
	const char *p = c ? strchr(b64url_alphabet, c) : NULL;

	return p ? (int)(p - b64url_alphabet) : -1;
}

int
nacre_acme_b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap,
			 size_t *outlen)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	/* one leftover character cannot carry a whole byte */
	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value(s[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* non-zero leftover bits: two spellings of one value; refuse */
	if (acc != 0)
		return -1;
	*outlen = o;
	return 0;
}

EVP_PKEY *
nacre_acme_key_new(void)
{
	return EVP_EC_gen("P-256");
}

/* EVP_PKEY_free clears the EC private scalar (BN_clear_free) before it
 * gives the memory back: nothing of the key outlives it. */
void
nacre_acme_key_free(EVP_PKEY *key)
{
	EVP_PKEY_free(key);
}

/* the public point's x and y, 32 bytes each, big-endian */
static int
p256_xy(EVP_PKEY *key, uint8_t x[P256_LEN], uint8_t y[P256_LEN])
{
	char group[32];
	BIGNUM *bx = NULL, *by = NULL;
	int ok;

	if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
					    group, sizeof(group), NULL) ||
	    strcmp(group, "prime256v1") != 0)
		return -1;
	ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &bx) &&
	     EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &by) &&
	     BN_bn2binpad(bx, x, P256_LEN) == P256_LEN &&
	     BN_bn2binpad(by, y, P256_LEN) == P256_LEN;
	BN_free(bx);
	BN_free(by);
	return ok ? 0 : -1;
}

char *
nacre_acme_jwk(EVP_PKEY *key)
{
	uint8_t x[P256_LEN], y[P256_LEN];
	char xs[48], ys[48], *out;
	/* the members RFC 7638 3.2 requires, in lexicographic order, no
	 * whitespace: this text is what the thumbprint hashes */
	static const char fmt[] =
		"{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}";

	if (p256_xy(key, x, y) != 0)
		return NULL;
	nacre_acme_b64url(x, sizeof(x), xs, sizeof(xs));
	nacre_acme_b64url(y, sizeof(y), ys, sizeof(ys));
	if (asprintf(&out, fmt, xs, ys) < 0)
		return NULL;
	return out;
}

int
nacre_acme_jwk_thumbprint(EVP_PKEY *key, uint8_t out[32])
{
	char *jwk = nacre_acme_jwk(key);
	int ok;

	if (!jwk)
		return -1;
	ok = EVP_Digest(jwk, strlen(jwk), out, NULL, EVP_sha256(), NULL);
	free(jwk);
	return ok ? 0 : -1;
}

/* ES256 wants r || s, 32 bytes each (RFC 7518 3.4); OpenSSL signs DER */
static int
es256_sign(EVP_PKEY *key, const char *input, uint8_t sig[2 * P256_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[80];
	const unsigned char *p = der;
	size_t derlen = sizeof(der);
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	int rc = -1;

	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &derlen, (const unsigned char *)input,
			   strlen(input)) != 1)
		goto out;
	es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	if (!es)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, P256_LEN) == P256_LEN &&
	    BN_bn2binpad(s, sig + P256_LEN, P256_LEN) == P256_LEN)
		rc = 0;
out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	return rc;
}

/* the protected header; jansson quotes the server's strings for us */
static char *
protected_header(EVP_PKEY *key, const char *kid, const char *nonce,
		 const char *url)
{
	json_t *h = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "nonce",
			      nonce, "url", url);
	char *jwk = NULL, *out = NULL;
	json_t *j = NULL;

	if (!h)
		return NULL;
	if (kid) {
		if (json_object_set_new(h, "kid", json_string(kid)) != 0)
			goto out;
	} else {
		jwk = nacre_acme_jwk(key);
		j = jwk ? json_loads(jwk, 0, NULL) : NULL;
		if (!j || json_object_set_new(h, "jwk", j) != 0)
			goto out;
	}
	out = json_dumps(h, JSON_COMPACT);
out:
	free(jwk);
	json_decref(h);
	return out;
}

/* base64url of a string, malloc'd */
static char *
b64url_str(const char *s)
{
	size_t n = strlen(s), cap = n / 3 * 4 + 5;
	char *out = malloc(cap);

	if (out && n &&
	    nacre_acme_b64url((const uint8_t *)s, n, out, cap) == 0) {
		free(out);
		return NULL;
	}
	if (out && !n)
		out[0] = '\0';
	return out;
}

char *
nacre_acme_jws(EVP_PKEY *key, const char *kid, const char *nonce,
	       const char *url, const char *payload, char *err, size_t errlen)
{
	char *hdr = protected_header(key, kid, nonce, url);
	char *p64 = hdr ? b64url_str(hdr) : NULL;
	char *b64 = b64url_str(payload);
	char *input = NULL, *out = NULL, sigs[96];
	uint8_t sig[2 * P256_LEN];

	if (!p64 || !b64 || asprintf(&input, "%s.%s", p64, b64) < 0) {
		input = NULL;
		nacre_seterr(err, errlen, "cannot build a JWS: out of memory");
		goto out;
	}
	if (es256_sign(key, input, sig) != 0) {
		nacre_seterr(err, errlen, "cannot sign a JWS with the ACME "
			     "account key");
		ERR_clear_error();
		goto out;
	}
	nacre_acme_b64url(sig, sizeof(sig), sigs, sizeof(sigs));
	if (asprintf(&out, "{\"protected\":\"%s\",\"payload\":\"%s\","
		     "\"signature\":\"%s\"}", p64, b64, sigs) < 0) {
		out = NULL;
		nacre_seterr(err, errlen, "cannot build a JWS: out of memory");
	}
out:
	free(hdr);
	free(p64);
	free(b64);
	free(input);
	return out;
}
