/*
 * tls.c: the TLS key, its certificate and the server SSL_CTX. The key is
 * generated here, in memory, and is never read from or written to disk;
 * OpenSSL clears it when the last SSL_CTX holding it is freed.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme.h"
#include "attest.h"
#include "fresh.h"
#include "libnacre.h"
#include "nacre/verify.h"
#include "records/records.h"
#include "nacred.h"

#define CERT_BACKDATE_S (5 * 60)
/* a certificate outlives its rotation by this much, so a client that
 * connected just before a rotation never sees it expire mid-handshake */
#define CERT_GRACE_S (15 * 60)

static void
set_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", buf);
	ERR_clear_error();
}

static EVP_PKEY *
key_generate(enum nacre_key_type type)
{
	return EVP_EC_gen(type == NACRE_KEY_EC_P384 ? "P-384" : "P-256");
}

static bool
is_ip_literal(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int
add_san(X509 *x, const struct nacre_config *cfg)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int ok = 0;

	if (!gens)
		return 0;
	for (size_t i = 0; i < cfg->tls.nnames; i++) {
		const char *n = cfg->tls.names[i];
		GENERAL_NAME *g = NULL;

		if (is_ip_literal(n)) {
			ASN1_OCTET_STRING *ip = a2i_IPADDRESS(n);
			if (ip)
				g = GENERAL_NAME_new();
			if (!g) {
				ASN1_OCTET_STRING_free(ip);
				goto out;
			}
			GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		} else {
			ASN1_IA5STRING *s = ASN1_IA5STRING_new();
			if (s && ASN1_STRING_set(s, n, (int)strlen(n)))
				g = GENERAL_NAME_new();
			if (!g) {
				ASN1_IA5STRING_free(s);
				goto out;
			}
			GENERAL_NAME_set0_value(g, GEN_DNS, s);
		}
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			goto out;
		}
	}
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) == 1;
out:
	GENERAL_NAMES_free(gens);
	return ok;
}

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* Self-signed leaf: the key proves itself; trust comes from attestation,
 * not from a CA. */
static X509 *
cert_self_signed(EVP_PKEY *key, const struct nacre_config *cfg,
		 const char *media_type, const uint8_t *doc, size_t doc_len)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	const char *cn = cfg->tls.nnames ? cfg->tls.names[0] : "nacre";

	if (!x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f; /* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto fail;
	if (!X509_set_version(x, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -CERT_BACKDATE_S) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x),
			     (long)(cfg->attestation.rotate_ms / 1000) + CERT_GRACE_S) ||
	    !X509_set_pubkey(x, key))
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto fail;
	if (!add_san(x, cfg) ||
	    !add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, NID_key_usage, "critical,digitalSignature") ||
	    !add_ext(x, NID_ext_key_usage, "serverAuth") ||
	    !add_ext(x, NID_subject_key_identifier, "hash"))
		goto fail;
	if (doc && nacre_evidence_add_to_cert(x, media_type, doc, doc_len) != 0)
		goto fail;
	if (!X509_sign(x, key, EVP_sha256()))
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/* Server preference among the configured protocols. A client that offers
 * ALPN but none of ours gets no_application_protocol (RFC 7301 3.2); one
 * that offers no ALPN at all never reaches this callback. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
	    const unsigned char *in, unsigned int inlen, void *arg)
{
	const struct nacre_config *cfg = arg;
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, cfg->tls.alpn,
				  (unsigned int)cfg->tls.alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* ---- what the client asked for, read in its ClientHello ---- */

static int asked_idx = -1, served_idx = -1;
static pthread_once_t asked_once = PTHREAD_ONCE_INIT;

/* asked_idx: what client_hello() decided for the connection */
#define MARK_ASKED ((uintptr_t)1) /* the attested certificate, asked for */
#define MARK_ACME ((uintptr_t)2)  /* the ACME chain of its SNI */

static void
asked_index(void)
{
	asked_idx = SSL_get_ex_new_index(0, "nacre attestation asked", NULL,
					 NULL, NULL);
	served_idx = SSL_get_ex_new_index(0, "nacre acme served", NULL, NULL,
					  NULL);
}

void
nacre_tls_set_served(SSL *s, const struct nacre_acme_served *served)
{
	pthread_once(&asked_once, asked_index);
	if (served_idx >= 0)
		SSL_set_ex_data(s, served_idx, (void *)served);
}

/* the host_name of a server_name extension (RFC 6066 3) into OUT */
static bool
sni_of(const unsigned char *p, size_t n, char *out, size_t cap)
{
	size_t list, len;

	if (n < 2 || (list = ((size_t)p[0] << 8) | p[1]) + 2 != n || list < 3)
		return false;
	if (p[2] != 0) /* host_name */
		return false;
	len = ((size_t)p[3] << 8) | p[4];
	if (len == 0 || len + 5 > n || len >= cap)
		return false;
	memcpy(out, p + 5, len);
	out[len] = '\0';
	return strlen(out) == len && nacre_hostname_valid(out);
}

/* the ALPN list (RFC 7301 3.1) offers acme-tls/1 */
static bool
offers_acme(const unsigned char *p, size_t n)
{
	size_t i = 2;

	if (n < 2 || (((size_t)p[0] << 8) | p[1]) + 2 != n)
		return false;
	while (i < n) {
		size_t len = p[i];
		if (len == 0 || i + 1 + len > n)
			return false;
		if (len == sizeof(NACRE_ACME_ALPN) - 1 &&
		    memcmp(p + i + 1, NACRE_ACME_ALPN, len) == 0)
			return true;
		i += 1 + len;
	}
	return false;
}

/*
 * Which certificate this client gets. A client that runs nacre or libnacre
 * asks for the attested one with NACRE_TLSEXT_ATTEST (version 1); browsers
 * never send it, and get the ACME chain of their SNI when there is one.
 * The CA's validation connections offer acme-tls/1: they get the pending
 * challenge certificate for their SNI (RFC 8737 3), or no handshake.
 */
static int
client_hello(SSL *s, int *al, void *arg)
{
	const unsigned char *p;
	const struct nacre_acme_served *served =
		served_idx >= 0 ? SSL_get_ex_data(s, served_idx) : NULL;
	char sni[256];
	bool have_sni, asked = false;
	size_t n;

	if (asked_idx >= 0 &&
	    SSL_client_hello_get0_ext(s, NACRE_TLSEXT_ATTEST, &p, &n) == 1) {
		uint8_t nonce[NACRE_FRESH_NONCE_MAX];
		size_t nonce_len = 0;
		int r;

		switch (nacre_fresh_request_parse(p, n, nonce, &nonce_len)) {
		case NACRE_ASK_MALFORMED:
			*al = SSL_AD_DECODE_ERROR;
			return SSL_CLIENT_HELLO_ERROR;
		case NACRE_ASK_FRESH:
			/* the first time: _RETRY, and the handshake goes on
			 * as an async job (tls_fresh.c) */
			r = nacre_tls_fresh_asked(s, nonce, nonce_len, al);
			if (r != SSL_CLIENT_HELLO_SUCCESS)
				return r;
			/* it asks for the attested certificate too */
			/* fall through */
		case NACRE_ASK_CERT:
			SSL_set_ex_data(s, asked_idx, (void *)MARK_ASKED);
			asked = true;
			break;
		default:
			break;
		}
	}
	have_sni = SSL_client_hello_get0_ext(s, TLSEXT_TYPE_server_name, &p, &n) == 1 &&
		   sni_of(p, n, sni, sizeof(sni));
	if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_application_layer_protocol_negotiation,
				      &p, &n) == 1 && offers_acme(p, n)) {
		SSL_CTX *ch = have_sni ? nacre_acme_challenge_find(sni) : NULL;
		if (!ch) {
			*al = SSL_AD_UNRECOGNIZED_NAME;
			return SSL_CLIENT_HELLO_ERROR;
		}
		SSL_set_SSL_CTX(s, ch);
		SSL_CTX_free(ch); /* the SSL holds its own reference now */
		return SSL_CLIENT_HELLO_SUCCESS;
	}
	if (!asked && have_sni && served) {
		SSL_CTX *acme = nacre_acme_served_find(served, sni);
		if (acme) {
			SSL_set_SSL_CTX(s, acme);
			SSL_set_ex_data(s, asked_idx, (void *)MARK_ACME);
		}
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

bool
nacre_tls_attestation_asked(const SSL *s)
{
	return asked_idx >= 0 &&
	       (uintptr_t)SSL_get_ex_data(s, asked_idx) == MARK_ASKED;
}

bool
nacre_tls_acme_served(const SSL *s)
{
	return asked_idx >= 0 &&
	       (uintptr_t)SSL_get_ex_data(s, asked_idx) == MARK_ACME;
}

/* Evidence binding the key and the claims map (format version, SHA-256 of
 * the configuration): on Nitro NSM public_key = the key's DER SPKI,
 * user_data = the claims; on TDX / SNP REPORTDATA over both (attest.h). */
static int
evidence_for(struct nacre_attest *a, EVP_PKEY *key,
	     const struct nacre_config *cfg, const struct nacre_acme_claims *acme,
	     const char **media_type, uint8_t **doc, size_t *doc_len, char *err,
	     size_t errlen)
{
	struct nacre_claims claims;
	unsigned char *spki = NULL;
	uint8_t *ud = NULL;
	size_t ud_len;
	int spki_len, rc = -1;

	nacre_tls_claims_fill(&claims, cfg->digest, acme);
	spki_len = i2d_PUBKEY(key, &spki);
	if (spki_len <= 0 || nacre_claims_encode(&claims, &ud, &ud_len) != 0) {
		snprintf(err, errlen, "cannot encode the key and claims for "
			 "attestation");
		goto out;
	}
	rc = nacre_attest_evidence(a, spki, (size_t)spki_len, ud, ud_len, NULL,
				   0, media_type, doc, doc_len, err, errlen);
out:
	OPENSSL_free(spki);
	free(ud);
	return rc;
}

/* The server context every certificate of ours is served from: options,
 * suites, groups, ALPN and the ClientHello callback that picks what a
 * client gets. CERT and KEY are used; CHAIN (may be NULL) follows CERT. */
static SSL_CTX *
ctx_new(const struct nacre_config *cfg, X509 *cert, EVP_PKEY *key,
	X509 *const *chain, size_t nchain, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	/* records = "compact": a TLS 1.3 connection's records leave OpenSSL
	 * once the handshake is done (records/record.c), so its handshake
	 * keeps the traffic secrets (records/secrets.c). If that cannot be
	 * had, OpenSSL keeps the records. By default nothing of this runs:
	 * the key schedule and the records are OpenSSL's alone. */
	ctx = cfg->tls.records == NACRE_RECORDS_COMPACT ?
		      nacre_secrets_ctx_new(TLS_server_method()) :
		      SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		set_err(err, errlen, "cannot create the TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, cfg->tls.min_version);
	/* no SSL_OP_IGNORE_UNEXPECTED_EOF: a client's EOF without
	 * close_notify is a truncation, and the app is told (conn.c resets
	 * the upstream) */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
				 SSL_OP_CIPHER_SERVER_PREFERENCE |
				 SSL_OP_NO_COMPRESSION);
	/* Idle connections give their record buffers back; writes may move;
	 * the chain is given whole, so none is looked for per handshake. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
			      SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			      SSL_MODE_NO_AUTO_CHAIN);
	/* No session cache shared (and locked) between worker threads:
	 * resumption, when enabled, is by stateless tickets only, sealed
	 * with keys this SSL_CTX made in memory, so they die with its
	 * generation (a rotation or reload means a full handshake). Off by
	 * default (tls.session_tickets = 0, in TLS 1.2 too): every
	 * connection then checks the attestation in its own handshake. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, cfg->tls.session_tickets);
	if (cfg->tls.session_tickets == 0)
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	/* OpenSSL reads exactly (header, then body); during the handshake
	 * the socket BIO reads ahead for it, so what follows the client's
	 * Finished is not held inside OpenSSL (sockbio.c). A connection
	 * whose records stay with OpenSSL turns OpenSSL's read-ahead on. */
	SSL_CTX_set_read_ahead(ctx, 0);
	if (!SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") ||
	    !SSL_CTX_set_cipher_list(ctx,
		"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
		"ECDHE-ECDSA-CHACHA20-POLY1305") ||
	    SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	for (size_t i = 0; i < nchain; i++)
		if (!SSL_CTX_add1_chain_cert(ctx, chain[i]))
			goto fail;
	if (cfg->tls.alpn_len)
		SSL_CTX_set_alpn_select_cb(ctx, alpn_select, (void *)cfg);
	pthread_once(&asked_once, asked_index);
	SSL_CTX_set_client_hello_cb(ctx, client_hello, NULL);
	/* the request is read by client_hello(); fresh evidence answers in
	 * the leaf's CertificateEntry (tls_fresh.c) */
	if (nacre_tls_fresh_ctx_setup(ctx) < 0)
		goto fail;
	return ctx;
fail:
	set_err(err, errlen, "cannot configure the TLS context");
	SSL_CTX_free(ctx);
	return NULL;
}

#ifdef NACRE_TEST_HOOKS
#include <openssl/pem.h>
/* Test builds only (the ASan build, Makefile): the attack tests of fresh
 * evidence play a thief of the TLS key (tests/tools/freshrelay.c), so
 * NACRE_TEST_KEY_EXPORT=DIR makes each generation's key and certificate
 * appear in DIR. A release build has no such path. */
static void
test_export_key(EVP_PKEY *key, X509 *cert)
{
	const char *dir = getenv("NACRE_TEST_KEY_EXPORT");
	char path[4096];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	if ((f = fopen(path, "w"))) {
		PEM_write_X509(f, cert);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	if ((f = fopen(path, "w"))) {
		PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
		fclose(f);
	}
	log_warn("TEST HOOK: the TLS key was exported to %s", dir);
}
#endif

SSL_CTX *
nacre_tls_ctx_new(const struct nacre_config *cfg, struct nacre_attest *a,
		  const struct nacre_acme_claims *acme, char *err, size_t errlen)
{
	SSL_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	uint8_t *doc = NULL;
	size_t doc_len = 0;
	const char *media_type = NULL;

	key = key_generate(cfg->tls.key);
	if (!key) {
		set_err(err, errlen, "cannot generate the TLS key");
		return NULL;
	}
	if (a && evidence_for(a, key, cfg, acme, &media_type, &doc, &doc_len,
			      err, errlen) != 0)
		goto out;
	cert = cert_self_signed(key, cfg, media_type, doc, doc_len);
	if (!cert) {
		set_err(err, errlen, "cannot build the certificate");
		goto out;
	}
	ctx = ctx_new(cfg, cert, key, NULL, 0, err, errlen);
#ifdef NACRE_TEST_HOOKS
	if (ctx)
		test_export_key(key, cert);
#endif
	if (ctx && a && nacre_tls_fresh_ctx_init(ctx, a, key, cfg, acme) < 0) {
		snprintf(err, errlen, "out of memory");
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	free(doc);
	return ctx;
}

/* An ACME context outlives the generation whose configuration it was
 * made with (the served table goes from one generation to the next), and
 * its ALPN callback reads that configuration: the context holds a
 * reference to it, dropped when the context is freed. */
static int cfg_idx = -1;
static pthread_once_t cfg_once = PTHREAD_ONCE_INIT;

static void
cfg_unref(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
	  void *argp)
{
	struct nacre_config *cfg = ptr;

	if (cfg && atomic_fetch_sub(&cfg->refs, 1) == 1)
		nacre_config_free(cfg);
}

static void
cfg_index(void)
{
	cfg_idx = SSL_CTX_get_ex_new_index(0, "nacre config", NULL, NULL, cfg_unref);
}

SSL_CTX *
nacre_tls_acme_ctx_new(const struct nacre_config *cfg, X509 *const *chain,
		       size_t nchain, EVP_PKEY *key, char *err, size_t errlen)
{
	struct nacre_config *c = (struct nacre_config *)cfg;
	SSL_CTX *ctx;

	if (nchain == 0) {
		snprintf(err, errlen, "no certificate");
		return NULL;
	}
	pthread_once(&cfg_once, cfg_index);
	if (cfg_idx < 0) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!(ctx = ctx_new(cfg, chain[0], key, chain + 1, nchain - 1, err, errlen)))
		return NULL;
	atomic_fetch_add(&c->refs, 1);
	if (!SSL_CTX_set_ex_data(ctx, cfg_idx, c)) {
		atomic_fetch_sub(&c->refs, 1);
		SSL_CTX_free(ctx);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return ctx;
}
