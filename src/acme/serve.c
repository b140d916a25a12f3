/*
 * serve.c: what nacred's TLS listener serves for ACME. The ACME
 * certificates live in an immutable table per generation (no lock per
 * connection); the tls-alpn-01 challenge certificates (RFC 8737) in one
 * small table behind a mutex, looked at only by handshakes that offer
 * acme-tls/1, which are the CA's validation connections.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "nacred.h"
#include "acme/acme.h"

struct served_entry {
	char *name;
	SSL_CTX *ctx;
};

struct nacre_acme_served {
	atomic_int refs;
	size_t n;
	struct served_entry e[];
};

static bool
listed(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(names[i], name) == 0)
			return true;
	return false;
}

bool
nacre_acme_configured(const struct nacre_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->acme.ndomains; i++)
		if (listed((const char *const *)cfg->acme.domains[i].names,
			   cfg->acme.domains[i].nnames, name))
			return true;
	return false;
}

/* OLD's entries that NAMES does not replace and CFG (if given) still
 * configures, then NAMES served from CTX */
static struct nacre_acme_served *
build(const struct nacre_acme_served *old, const struct nacre_config *cfg,
      const char *const *names, size_t n, SSL_CTX *ctx)
{
	size_t keep = 0, k = 0;
	struct nacre_acme_served *s;

#define KEEP(name) (!listed(names, n, (name)) && \
		    (!cfg || nacre_acme_configured(cfg, (name))))
	for (size_t i = 0; old && i < old->n; i++)
		keep += KEEP(old->e[i].name);
	s = calloc(1, sizeof(*s) + (keep + n) * sizeof(s->e[0]));
	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	for (size_t i = 0; old && i < old->n; i++) {
		if (!KEEP(old->e[i].name))
			continue;
		s->e[k].name = strdup(old->e[i].name);
		s->e[k].ctx = old->e[i].ctx;
		SSL_CTX_up_ref(s->e[k].ctx);
		s->n = ++k;
		if (!s->e[k - 1].name)
			goto oom;
	}
#undef KEEP
	for (size_t i = 0; i < n; i++) {
		s->e[k].name = strdup(names[i]);
		s->e[k].ctx = ctx;
		SSL_CTX_up_ref(ctx);
		s->n = ++k;
		if (!s->e[k - 1].name)
			goto oom;
	}
	return s;
oom:
	nacre_acme_served_unref(s);
	return NULL;
}

struct nacre_acme_served *
nacre_acme_served_with(const struct nacre_acme_served *old,
		       const char *const *names, size_t n, SSL_CTX *ctx)
{
	return build(old, NULL, names, n, ctx);
}

struct nacre_acme_served *
nacre_acme_served_only(const struct nacre_acme_served *served,
		       const struct nacre_config *cfg)
{
	return build(served, cfg, NULL, 0, NULL);
}

void
nacre_acme_served_each(const struct nacre_acme_served *served,
		       void (*fn)(const char *, int64_t, void *), void *arg)
{
	for (size_t i = 0; served && i < served->n; i++) {
		X509 *x = SSL_CTX_get0_certificate(served->e[i].ctx);
		int64_t t = 0;
		struct tm tm;

		if (x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
			t = (int64_t)timegm(&tm);
		fn(served->e[i].name, t, arg);
	}
}

void
nacre_acme_served_ref(struct nacre_acme_served *s)
{
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void
nacre_acme_served_unref(struct nacre_acme_served *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->e[i].name);
		SSL_CTX_free(s->e[i].ctx);
	}
	free(s);
}

SSL_CTX *
nacre_acme_served_find(const struct nacre_acme_served *s, const char *name)
{
	for (size_t i = 0; s && name && i < s->n; i++)
		if (strcasecmp(s->e[i].name, name) == 0)
			return s->e[i].ctx;
	return NULL;
}

size_t
nacre_acme_served_key_hashes(const struct nacre_acme_served *s,
			     uint8_t (*out)[32], size_t max)
{
	size_t n = 0;

	for (size_t i = 0; s && i < s->n && n < max; i++) {
		X509 *x = SSL_CTX_get0_certificate(s->e[i].ctx);
		unsigned char *der = NULL;
		int len = x ? i2d_PUBKEY(X509_get0_pubkey(x), &der) : -1;
		uint8_t h[32];
		bool seen = false;

		if (len <= 0 || !EVP_Digest(der, (size_t)len, h, NULL,
					    EVP_sha256(), NULL)) {
			OPENSSL_free(der);
			continue;
		}
		OPENSSL_free(der);
		/* one certificate may serve several names */
		for (size_t j = 0; j < n; j++)
			seen |= memcmp(out[j], h, 32) == 0;
		if (!seen)
			memcpy(out[n++], h, 32);
	}
	return n;
}

/* ---- tls-alpn-01 ---- */

struct challenge {
	char *name;
	SSL_CTX *ctx;
	struct challenge *next;
};

static pthread_mutex_t ch_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct challenge *challenges;

/* only acme-tls/1: RFC 8737 3 (the CA offers nothing else) */
static int
challenge_alpn(SSL *s, const unsigned char **out, unsigned char *outlen,
	       const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char proto[] = "\x0a" NACRE_ACME_ALPN;
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, proto, sizeof(proto) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *
challenge_ctx(const char *name, const uint8_t digest[32])
{
	EVP_PKEY *key = NULL;
	X509 *x = nacre_acme_challenge_cert(name, digest, &key);
	SSL_CTX *ctx = x ? SSL_CTX_new(TLS_server_method()) : NULL;

	if (ctx && (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
		    SSL_CTX_use_certificate(ctx, x) != 1 ||
		    SSL_CTX_use_PrivateKey(ctx, key) != 1)) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	if (ctx) {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_alpn_select_cb(ctx, challenge_alpn, NULL);
	}
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

int
nacre_acme_challenge_publish(const char *name, const uint8_t digest[32])
{
	struct challenge *c = calloc(1, sizeof(*c));

	if (!c || !(c->name = strdup(name)) || !(c->ctx = challenge_ctx(name, digest))) {
		if (c)
			free(c->name);
		free(c);
		return -1;
	}
	nacre_acme_challenge_unpublish(name); /* one per name */
	pthread_mutex_lock(&ch_mtx);
	c->next = challenges;
	challenges = c;
	pthread_mutex_unlock(&ch_mtx);
	return 0;
}

void
nacre_acme_challenge_unpublish(const char *name)
{
	struct challenge **pp, *c = NULL;

	pthread_mutex_lock(&ch_mtx);
	for (pp = &challenges; *pp; pp = &(*pp)->next)
		if (strcasecmp((*pp)->name, name) == 0) {
			c = *pp;
			*pp = c->next;
			break;
		}
	pthread_mutex_unlock(&ch_mtx);
	if (c) {
		SSL_CTX_free(c->ctx); /* handshakes using it hold their own */
		free(c->name);
		free(c);
	}
}

SSL_CTX *
nacre_acme_challenge_find(const char *name)
{
	SSL_CTX *ctx = NULL;

	pthread_mutex_lock(&ch_mtx);
	for (struct challenge *c = challenges; c; c = c->next)
		if (strcasecmp(c->name, name) == 0) {
			ctx = c->ctx;
			SSL_CTX_up_ref(ctx);
			break;
		}
	pthread_mutex_unlock(&ch_mtx);
	return ctx;
}
