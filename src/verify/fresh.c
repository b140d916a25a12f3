/*
 * fresh.c: the pieces of fresh, session-bound evidence that the server
 * (nacred) and the client (libnacre) share: the ClientHello request with
 * its nonce, and the binding of a document to one handshake
 * (docs/evidence-format.md 8), checked in the claims' "hs" on every
 * platform (on TDX and SEV-SNP, which have no nonce field, "hs" carries
 * the nonce too).
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "attest.h"
#include "libnacre.h"
#include "nacred.h"

enum nacre_fresh_ask
nacre_fresh_request_parse(const uint8_t *p, size_t n, uint8_t *nonce,
			  size_t *nonce_len)
{
	size_t len;

	if (n == 0 || p[0] == 0)
		return NACRE_ASK_NONE;
	if (p[0] < NACRE_FRESH_VERSION)
		return NACRE_ASK_CERT; /* bytes after the version: ignored */
	/* version 2 (or a later one, which keeps this prefix):
	 * version, opaque nonce<16..64>, then bytes for later versions */
	if (n < 2)
		return NACRE_ASK_MALFORMED;
	len = p[1];
	if (len < NACRE_FRESH_NONCE_MIN || len > NACRE_FRESH_NONCE_MAX ||
	    2 + len > n || (p[0] == NACRE_FRESH_VERSION && 2 + len != n))
		return NACRE_ASK_MALFORMED;
	memcpy(nonce, p + 2, len);
	*nonce_len = len;
	return NACRE_ASK_FRESH;
}

size_t
nacre_fresh_request_encode(const uint8_t *nonce, size_t nonce_len,
			   uint8_t *out)
{
	if (nonce_len < NACRE_FRESH_NONCE_MIN || nonce_len > NACRE_FRESH_NONCE_MAX)
		return 0;
	out[0] = NACRE_FRESH_VERSION;
	out[1] = (uint8_t)nonce_len;
	memcpy(out + 2, nonce, nonce_len);
	return 2 + nonce_len;
}

static int
put16(EVP_MD_CTX *md, const uint8_t *p, size_t n)
{
	uint8_t len[2] = { (uint8_t)(n >> 8), (uint8_t)n };

	return n <= 0xffff && EVP_DigestUpdate(md, len, 2) &&
	       EVP_DigestUpdate(md, p, n);
}

int
nacre_fresh_binding(const struct nacre_fresh_view *v, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t nlen = (uint8_t)v->nonce_len;
	unsigned olen = 32;
	int ok;

	ok = md && v->nonce_len <= NACRE_FRESH_NONCE_MAX &&
	     v->client_share_len <= NACRE_FRESH_SHARE_MAX &&
	     v->server_share_len <= NACRE_FRESH_SHARE_MAX &&
	     EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(md, NACRE_FRESH_LABEL, strlen(NACRE_FRESH_LABEL)) &&
	     EVP_DigestUpdate(md, &nlen, 1) &&
	     EVP_DigestUpdate(md, v->nonce, v->nonce_len) &&
	     EVP_DigestUpdate(md, v->client_random, 32) &&
	     EVP_DigestUpdate(md, v->server_random, 32) &&
	     put16(md, v->client_share, v->client_share_len) &&
	     put16(md, v->server_share, v->server_share_len) &&
	     EVP_DigestFinal_ex(md, out, &olen);
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

int
nacre_fresh_check_claims(const uint8_t *claims, size_t len,
			 const struct nacre_fresh_view *v, char *err,
			 size_t errlen)
{
	struct nacre_claims c;
	char why[NACRE_ERRLEN];
	uint8_t want[32];
	bool bound;

	if (!claims || nacre_claims_decode(claims, len, &c, why,
					   sizeof(why)) < 0) {
		nacre_seterr(err, errlen, "Session binding failed: the fresh "
			     "evidence has no claims map, so no handshake "
			     "binding (claims \"hs\").");
		return NACRE_E_SESSION_BINDING;
	}
	bound = c.has_binding;
	if (bound)
		memcpy(want, c.binding, 32);
	nacre_claims_free(&c);
	if (!bound) {
		nacre_seterr(err, errlen, "Session binding failed: the fresh "
			     "evidence has no handshake binding (claims "
			     "\"hs\").");
		return NACRE_E_SESSION_BINDING;
	}
	{
		uint8_t got[32];
		if (nacre_fresh_binding(v, got) < 0) {
			nacre_seterr(err, errlen, "Cannot compute the handshake "
				     "binding.");
			return NACRE_E_INTERNAL;
		}
		if (memcmp(want, got, 32) != 0) {
			nacre_seterr(err, errlen, "Session binding failed: the "
				     "fresh evidence is bound to another "
				     "handshake (its \"hs\" is not this "
				     "handshake's nonce, randoms and key "
				     "shares): evidence relayed from another "
				     "connection, or replayed.");
			return NACRE_E_SESSION_BINDING;
		}
	}
	return NACRE_OK;
}

/* a key share's key_exchange bytes as they travel (RFC 8446 4.2.8.2:
 * the raw X25519 key, the uncompressed point of an ECDHE group) */
static int
share_of(EVP_PKEY *k, uint8_t *out, size_t *len)
{
	unsigned char *p = NULL;
	size_t n = k ? EVP_PKEY_get1_encoded_public_key(k, &p) : 0;

	if (n == 0 || n > NACRE_FRESH_SHARE_MAX) {
		OPENSSL_free(p);
		return -1;
	}
	memcpy(out, p, n);
	*len = n;
	OPENSSL_free(p);
	return 0;
}

int
nacre_fresh_view_of(SSL *ssl, bool server, struct nacre_fresh_view *v,
		    char *err, size_t errlen)
{
	EVP_PKEY *own = NULL, *peer = NULL;
	int rc = -1;

	if (SSL_version(ssl) != TLS1_3_VERSION) {
		nacre_seterr(err, errlen, "fresh evidence needs TLS 1.3");
		return -1;
	}
	if (SSL_get_client_random(ssl, v->client_random, 32) != 32 ||
	    SSL_get_server_random(ssl, v->server_random, 32) != 32 ||
	    !SSL_get_tmp_key(ssl, &own) || !SSL_get_peer_tmp_key(ssl, &peer)) {
		nacre_seterr(err, errlen, "the handshake's randoms or key "
			     "shares are not available");
		goto out;
	}
	if (share_of(server ? peer : own, v->client_share, &v->client_share_len) < 0 ||
	    share_of(server ? own : peer, v->server_share, &v->server_share_len) < 0) {
		nacre_seterr(err, errlen, "cannot encode the handshake's key shares");
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(own);
	EVP_PKEY_free(peer);
	return rc;
}
