/*
 * tls_fresh.c: fresh, session-bound evidence in the handshake
 * (docs/evidence-format.md 8). A client asks with version 2 of extension
 * 0xff4e and a nonce; the leaf's CertificateEntry answers with a document
 * whose nonce is the client's and whose claims bind this handshake's
 * randoms and key shares.
 *
 * The document is made while OpenSSL builds the Certificate message: the
 * first moment the server's random and key share exist. Making it takes
 * milliseconds, so the handshake runs as an OpenSSL async job
 * (SSL_MODE_ASYNC): the extension's add callback queues the request on
 * the fresh thread (fresh.c), registers the job's eventfd in the job's
 * ASYNC_WAIT_CTX and pauses (ASYNC_pause_job). SSL_do_handshake returns
 * SSL_ERROR_WANT_ASYNC; the worker waits for the fd in its event loop
 * (conn.c) and calls it again, which resumes the callback where it
 * paused. Only connections that ask run as async jobs: the ClientHello
 * callback sets SSL_MODE_ASYNC and asks OpenSSL to call it again
 * (SSL_CLIENT_HELLO_RETRY), and the next SSL_do_handshake starts the job;
 * the mode is cleared when the handshake is done (conn.c), so reads and
 * writes after it never pay for a job.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/async.h>
#include <openssl/err.h>

#include "admin/stats.h"
#include "attest.h"
#include "fresh.h"
#include "libnacre.h"
#include "nacre/verify.h"
#include "nacred.h"

/* what a context answers with (SSL_CTX ex_data) */
struct fresh_ctx {
	struct nacre_attest *a;       /* a reference */
	uint8_t *spki;
	size_t spki_len;
	uint8_t cfg_digest[32];
	struct nacre_acme_claims acme;
	bool has_acme;
	uint64_t limit;               /* attestation.fresh_pending */
};

/* one handshake's request (SSL ex_data) */
struct fresh_state {
	uint8_t nonce[NACRE_FRESH_NONCE_MAX];
	size_t nonce_len;
	bool reserved;                /* holds a slot of fresh_pending */
	bool abandon;                 /* the connection is closing */
	struct nacre_fresh_job *job;
	uint8_t *ext;                 /* the answer's extension_data */
	size_t ext_len;
};

static int ctx_idx = -1, ssl_idx = -1;
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;
static const char wait_key[] = "nacre fresh evidence";

static void
ctx_data_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
	      void *argp)
{
	struct fresh_ctx *f = ptr;

	if (!f)
		return;
	nacre_attest_free(f->a);
	OPENSSL_free(f->spki);
	free(f);
}

static void
state_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
	   void *argp)
{
	struct fresh_state *st = ptr;

	if (!st)
		return;
	nacre_fresh_job_release(st->job);
	if (st->reserved)
		nacre_fresh_unreserve();
	free(st->ext);
	free(st);
}

static void
indexes(void)
{
	ctx_idx = SSL_CTX_get_ex_new_index(0, "nacre fresh ctx", NULL, NULL,
					   ctx_data_free);
	ssl_idx = SSL_get_ex_new_index(0, "nacre fresh state", NULL, NULL,
				       state_free);
}

static struct fresh_state *
state_of(const SSL *s)
{
	return ssl_idx >= 0 ? SSL_get_ex_data(s, ssl_idx) : NULL;
}

int
nacre_tls_fresh_ctx_init(SSL_CTX *ctx, struct nacre_attest *a, EVP_PKEY *key,
			 const struct nacre_config *cfg,
			 const struct nacre_acme_claims *acme)
{
	struct fresh_ctx *f;
	unsigned char *spki = NULL;
	int n;

	pthread_once(&idx_once, indexes);
	if (ctx_idx < 0 || !(f = calloc(1, sizeof(*f))))
		return -1;
	if ((n = i2d_PUBKEY(key, &spki)) <= 0) {
		free(f);
		return -1;
	}
	f->spki = spki;
	f->spki_len = (size_t)n;
	f->a = nacre_attest_ref(a);
	memcpy(f->cfg_digest, cfg->digest, sizeof(f->cfg_digest));
	if (acme && acme->account_url[0]) {
		f->acme = *acme;
		f->has_acme = true;
	}
	f->limit = cfg->attestation.fresh_pending;
	if (!SSL_CTX_set_ex_data(ctx, ctx_idx, f)) {
		ctx_data_free(NULL, f, NULL, 0, 0, NULL);
		return -1;
	}
	return 0;
}

static void
refused(const struct fresh_ctx *f)
{
	nacre_log(NACRE_LOG_WARN, 0, "fresh evidence refused: %llu "
		  "handshakes already wait (attestation.fresh_pending "
		  "= %llu)", (unsigned long long)nacre_fresh_pending(),
		  (unsigned long long)f->limit);
	nacre_stats_fresh(NACRE_FRESH_REFUSED);
}

bool
nacre_tls_fresh_requested(const SSL *s)
{
	return state_of(s) != NULL;
}

int
nacre_tls_fresh_asked(SSL *s, const uint8_t *nonce, size_t nonce_len, int *al)
{
	struct fresh_state *st = state_of(s);
	struct fresh_ctx *f = ctx_idx >= 0 ?
		SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), ctx_idx) : NULL;

	if (st) /* called again after _RETRY: the async job runs now */
		return SSL_CLIENT_HELLO_SUCCESS;
	*al = SSL_AD_INTERNAL_ERROR;
	if (!f) {
		nacre_log(NACRE_LOG_INFO, 0, "fresh evidence refused: no "
			  "attestation provider for this context");
		nacre_stats_fresh(NACRE_FRESH_REFUSED);
		return SSL_CLIENT_HELLO_ERROR;
	}
	/* a look, not a reservation: the slot is taken when the document
	 * is asked for (fresh_ext_add), so a handshake that stalls before
	 * its Certificate (after a HelloRetryRequest, say) holds none */
	if (nacre_fresh_pending() >= f->limit) {
		refused(f);
		return SSL_CLIENT_HELLO_ERROR;
	}
	if (!(st = calloc(1, sizeof(*st))) || !SSL_set_ex_data(s, ssl_idx, st)) {
		free(st);
		return SSL_CLIENT_HELLO_ERROR;
	}
	memcpy(st->nonce, nonce, nonce_len);
	st->nonce_len = nonce_len;
	SSL_set_mode(s, SSL_MODE_ASYNC);
	return SSL_CLIENT_HELLO_RETRY;
}

void
nacre_tls_claims_fill(struct nacre_claims *c, const uint8_t cfg_digest[32],
		      const struct nacre_acme_claims *acme)
{
	memset(c, 0, sizeof(*c));
	c->version = NACRE_CLAIMS_VERSION;
	c->has_config = true;
	memcpy(c->config_sha256, cfg_digest, sizeof(c->config_sha256));
	/* the ACME account and the keys of the ACME certificates served:
	 * code -> account -> CAA -> WebPKI certificate */
	if (acme && acme->account_url[0]) {
		c->has_acme = true;
		c->acme_account_url = (char *)acme->account_url;
		memcpy(c->acme_jwk_thumbprint, acme->jkt, 32);
		c->acme_nkeys = acme->nkeys;
		memcpy(c->acme_keys, acme->keys, sizeof(c->acme_keys));
	}
}

/* the request to the fresh thread: this handshake's binding in the claims.
 * Takes a slot of attestation.fresh_pending first: 0, 1 when all are
 * taken (logged and counted here), -1 with err. */
static int
submit(SSL *s, struct fresh_state *st, char *err, size_t errlen)
{
	struct fresh_ctx *f = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), ctx_idx);
	struct nacre_fresh_view v;
	struct nacre_claims c;
	uint8_t *ud = NULL;
	size_t ud_len;

	if (!f) {
		nacre_seterr(err, errlen, "no attestation provider for this context");
		return -1;
	}
	if (!st->reserved) {
		if (!nacre_fresh_reserve(f->limit)) {
			refused(f);
			return 1;
		}
		st->reserved = true;
	}
	memcpy(v.nonce, st->nonce, st->nonce_len);
	v.nonce_len = st->nonce_len;
	if (nacre_fresh_view_of(s, true, &v, err, errlen) < 0)
		return -1;
	nacre_tls_claims_fill(&c, f->cfg_digest, f->has_acme ? &f->acme : NULL);
	c.has_binding = true;
	if (nacre_fresh_binding(&v, c.binding) < 0 ||
	    nacre_claims_encode(&c, &ud, &ud_len) < 0) {
		nacre_seterr(err, errlen, "cannot encode the claims");
		return -1;
	}
	/* TDX / SNP evidence has no nonce field: the nonce is in "hs",
	 * which REPORTDATA covers (docs/evidence-format.md 9.3) */
	if (nacre_attest_has_nonce(f->a))
		st->job = nacre_fresh_submit(f->a, f->spki, f->spki_len, ud,
					     ud_len, st->nonce, st->nonce_len,
					     err, errlen);
	else
		st->job = nacre_fresh_submit(f->a, f->spki, f->spki_len, ud,
					     ud_len, NULL, 0, err, errlen);
	free(ud);
	return st->job ? 0 : -1;
}

/* waits (pausing the async job) until the document is there */
static int
wait_job(struct fresh_state *st, char *err, size_t errlen)
{
	ASYNC_JOB *job = ASYNC_get_current_job();
	ASYNC_WAIT_CTX *wc = job ? ASYNC_get_wait_ctx(job) : NULL;

	if (!wc) {
		nacre_seterr(err, errlen, "the handshake is not an async job");
		return -1;
	}
	if (!ASYNC_WAIT_CTX_set_wait_fd(wc, wait_key,
					nacre_fresh_job_fd(st->job), NULL, NULL)) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	while (!nacre_fresh_job_done(st->job) && !st->abandon)
		if (!ASYNC_pause_job())
			break;
	ASYNC_WAIT_CTX_clear_fd(wc, wait_key);
	if (!nacre_fresh_job_done(st->job)) {
		nacre_seterr(err, errlen, "the connection closed while its "
			     "evidence was made");
		return -1;
	}
	return 0;
}

/* the leaf's CertificateEntry extension: the answer to a version 2 request */
static int
fresh_ext_add(SSL *s, unsigned int type, unsigned int context,
	      const unsigned char **out, size_t *outlen, X509 *x,
	      size_t chainidx, int *al, void *arg)
{
	struct fresh_state *st = state_of(s);
	char err[NACRE_ERRLEN];
	const char *why, *mt;
	uint8_t *doc = NULL;
	size_t doc_len;
	int rc;

	if (!(context & SSL_EXT_TLS1_3_CERTIFICATE) || chainidx != 0 || !st)
		return 0;
	if (!st->ext) {
		if (!st->job && (rc = submit(s, st, err, sizeof(err))) != 0) {
			if (rc > 0) {
				*al = SSL_AD_INTERNAL_ERROR;
				return -1;
			}
			goto fail;
		}
		if (wait_job(st, err, sizeof(err)) < 0)
			goto fail;
		if (nacre_fresh_job_result(st->job, &mt, &doc, &doc_len,
					   &why) < 0) {
			nacre_seterr(err, sizeof(err), "%s", why);
			goto fail;
		}
		rc = nacre_evidence_encode_extn_value(mt, doc, doc_len, &st->ext,
						      &st->ext_len);
		free(doc);
		if (rc < 0 || st->ext_len > 0xffff) {
			nacre_seterr(err, sizeof(err), "cannot encode the evidence");
			goto fail;
		}
		nacre_fresh_job_release(st->job);
		st->job = NULL;
		nacre_stats_fresh(NACRE_FRESH_SERVED);
		if (st->reserved) {
			st->reserved = false;
			nacre_fresh_unreserve();
		}
	}
	*out = st->ext;
	*outlen = st->ext_len;
	return 1;
fail:
	nacre_log(NACRE_LOG_INFO, 0, "fresh evidence failed: %s", err);
	nacre_stats_fresh(NACRE_FRESH_FAILED);
	*al = SSL_AD_INTERNAL_ERROR;
	return -1;
}

/* the ClientHello's request is read in the ClientHello callback (tls.c) */
static int
ext_parse(SSL *s, unsigned int type, unsigned int context,
	  const unsigned char *in, size_t inlen, X509 *x, size_t chainidx,
	  int *al, void *arg)
{
	return 1;
}

/* fresh evidence travels in a TLS 1.3 CertificateEntry: a client that
 * asked for it and got TLS 1.2 gets no handshake rather than none */
static int
cert_cb(SSL *s, void *arg)
{
	return !state_of(s) || SSL_version(s) == TLS1_3_VERSION;
}

int
nacre_tls_fresh_ctx_setup(SSL_CTX *ctx)
{
	pthread_once(&idx_once, indexes);
	if (ctx_idx < 0 || ssl_idx < 0)
		return -1;
	SSL_CTX_set_cert_cb(ctx, cert_cb, NULL);
	return SSL_CTX_add_custom_ext(ctx, NACRE_TLSEXT_ATTEST,
				      SSL_EXT_CLIENT_HELLO |
				      SSL_EXT_TLS1_3_CERTIFICATE,
				      fresh_ext_add, NULL, NULL, ext_parse,
				      NULL) == 1 ? 0 : -1;
}

void
nacre_tls_fresh_abandon(SSL *s)
{
	struct fresh_state *st = state_of(s);

	if (st)
		st->abandon = true;
}
