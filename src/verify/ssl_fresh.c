/*
 * ssl_fresh.c: fresh, session-bound evidence on the client side
 * (docs/evidence-format.md 8). Under a fresh policy the ClientHello's
 * NACRE_TLSEXT_ATTEST carries version 2 and a 32-byte random nonce; the
 * server's answer arrives in the leaf's CertificateEntry before the
 * certificate is verified, and the verdict needs three things: evidence
 * that passes the policy and binds the leaf's key, the nonce echoed (Nitro;
 * TDX and SEV-SNP evidence has no nonce field), and "hs" = the binding of
 * the nonce, randoms and key shares this client saw.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "attest.h"
#include "libnacre.h"
#include "nacre/verify.h"
#include "tee_evidence.h"

#define NONCE_LEN 32

struct fresh_client {
	uint8_t req[NACRE_FRESH_REQ_MAX];
	size_t req_len;
	uint8_t *ev;              /* the leaf's CertificateEntry extension */
	size_t ev_len;
	bool have_view;
	struct nacre_fresh_view view;
};

static int state_idx = -1;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;

static void
state_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
	   void *argp)
{
	struct fresh_client *f = ptr;

	if (f) {
		free(f->ev);
		free(f);
	}
}

static void
state_index(void)
{
	state_idx = SSL_get_ex_new_index(0, "nacre fresh client", NULL, NULL,
					 state_free);
}

int
nacre_ssl_fresh_init(void)
{
	return pthread_once(&state_once, state_index) == 0 && state_idx >= 0 ?
		0 : -1;
}

static struct fresh_client *
state_of(const SSL *s)
{
	return state_idx >= 0 ? SSL_get_ex_data(s, state_idx) : NULL;
}

int
nacre_ssl_fresh_ext_add(SSL *s, unsigned int type, unsigned int context,
			const unsigned char **out, size_t *outlen, X509 *x,
			size_t chainidx, int *al, void *arg)
{
	static const unsigned char version = NACRE_TLSEXT_ATTEST_VERSION;
	const struct nacre_policy *p = arg;
	struct fresh_client *f;
	uint8_t nonce[NONCE_LEN];

	if (!(context & SSL_EXT_CLIENT_HELLO))
		return 0;
	if (!nacre_policy_fresh(p)) {
		*out = &version;
		*outlen = 1;
		return 1;
	}
	/* a second ClientHello (after HelloRetryRequest) repeats the nonce */
	if (!(f = state_of(s))) {
		if (!(f = calloc(1, sizeof(*f))) ||
		    RAND_bytes(nonce, sizeof(nonce)) != 1 ||
		    !SSL_set_ex_data(s, state_idx, f)) {
			free(f);
			*al = SSL_AD_INTERNAL_ERROR;
			return -1;
		}
		f->req_len = nacre_fresh_request_encode(nonce, sizeof(nonce),
							f->req);
	}
	*out = f->req;
	*outlen = f->req_len;
	return 1;
}

int
nacre_ssl_fresh_ext_parse(SSL *s, unsigned int type, unsigned int context,
			  const unsigned char *in, size_t inlen, X509 *x,
			  size_t chainidx, int *al, void *arg)
{
	struct fresh_client *f = state_of(s);

	if (!(context & SSL_EXT_TLS1_3_CERTIFICATE) || chainidx != 0 || !f)
		return 1; /* ignored: only the leaf's answer counts */
	free(f->ev);
	if (!(f->ev = malloc(inlen ? inlen : 1))) {
		*al = SSL_AD_INTERNAL_ERROR;
		return 0;
	}
	memcpy(f->ev, in, inlen);
	f->ev_len = inlen;
	return 1;
}

static int
fail(struct nacre_result *r, enum nacre_verify_status st, const char *msg)
{
	r->status = st;
	snprintf(r->message, sizeof(r->message), "%s", msg);
	return (int)st;
}

/* Nitro: the document's nonce, then its claims' "hs" */
static int
check_nitro(const uint8_t *doc, size_t len, const struct nacre_fresh_view *v,
	    struct nacre_result *r)
{
	struct nacre_nitro_doc *d = NULL;
	char err[NACRE_ERRLEN];
	int st;

	if (nacre_nitro_doc_decode(doc, len, &d, err, sizeof(err)) < 0)
		return fail(r, NACRE_E_DOC_MALFORMED, err);
	if (!d->has_nonce || d->nonce_len != v->nonce_len ||
	    memcmp(d->nonce, v->nonce, v->nonce_len) != 0)
		st = fail(r, NACRE_E_SESSION_BINDING, "Session binding failed: "
			  "the fresh evidence does not carry the nonce this "
			  "client sent, so it was made for another request "
			  "(a replay).");
	else if ((st = nacre_fresh_check_claims(d->has_user_data ?
						d->user_data : NULL,
						d->user_data_len, v, err,
						sizeof(err))) != NACRE_OK)
		st = fail(r, st, err);
	nacre_nitro_doc_free(d);
	return st;
}

/* TDX, SNP: no nonce field; "hs" covers the nonce (and REPORTDATA, checked
 * already, covers the claims) */
static int
check_tee(const uint8_t *ev, size_t len, const struct nacre_fresh_view *v,
	  struct nacre_result *r)
{
	struct nacre_tee_envelope e;
	char err[NACRE_ERRLEN];
	int st;

	if (nacre_tee_envelope_decode(ev, len, &e, err, sizeof(err)) < 0)
		return fail(r, NACRE_E_EVIDENCE_MALFORMED, err);
	if ((st = nacre_fresh_check_claims(e.claims, e.claims_len, v, err,
					   sizeof(err))) != NACRE_OK)
		return fail(r, st, err);
	return NACRE_OK;
}

/* the evidence's nonce and "hs" against this handshake */
static int
check_session(const char *mt, const uint8_t *ev, size_t len,
	      const struct nacre_fresh_view *v, struct nacre_result *r)
{
	if (nacre_platform_of(mt) == NACRE_PLATFORM_NITRO)
		return check_nitro(ev, len, v, r);
	return check_tee(ev, len, v, r);
}

int
nacre_ssl_fresh_verify(SSL *ssl, X509 *leaf, const struct nacre_policy *p,
		       struct nacre_result *r, struct nacre_tee_facts *facts)
{
	struct fresh_client *f = state_of(ssl);
	char err[NACRE_ERRLEN] = "", *mt = NULL;
	uint8_t *doc = NULL, *spki = NULL;
	size_t len = 0;
	int n, ev, st;

	memset(r, 0, sizeof(*r));
	if (!f)
		return fail(r, NACRE_E_INTERNAL, "This handshake did not ask for "
			    "fresh evidence.");
	if (!f->ev)
		return fail(r, NACRE_E_FRESH_MISSING, "The server sent no fresh "
			    "evidence (no extension 0xff4e in its certificate "
			    "entry): it does not support fresh evidence, or "
			    "something between changed the handshake.");
	memcpy(f->view.nonce, f->req + 2, f->req_len - 2);
	f->view.nonce_len = f->req_len - 2;
	if (nacre_fresh_view_of(ssl, false, &f->view, err, sizeof(err)) < 0)
		return fail(r, NACRE_E_INTERNAL, err);
	f->have_view = true;
	ev = nacre_evidence_decode_extn_value(f->ev, f->ev_len, &mt, &doc, &len,
					      err, sizeof(err));
	if (ev != NACRE_EV_OK)
		return fail(r, ev == NACRE_EV_UNSUPPORTED ? NACRE_E_UNSUPPORTED :
			    NACRE_E_EVIDENCE_MALFORMED, err);
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &spki);
	if (n <= 0) {
		st = fail(r, NACRE_E_INTERNAL, "Cannot encode the certificate's "
			  "public key.");
	} else {
		/* every check of the platform (its binding: the leaf's key),
		 * then the session */
		st = nacre_verify_evidence(mt, doc, len, spki, (size_t)n, p, r,
					   facts);
		if (st == NACRE_OK) {
			char warning[sizeof(r->warning)];
			memcpy(warning, r->warning, sizeof(warning));
			st = check_session(mt, doc, len, &f->view, r);
			memcpy(r->warning, warning, sizeof(warning));
		}
		if (st == NACRE_OK && facts &&
		    facts->platform != NACRE_PLATFORM_NITRO)
			snprintf(r->message, sizeof(r->message), "The server "
				 "sent fresh %s evidence made for this handshake "
				 "(nonce, randoms and key shares bound in "
				 "\"hs\") that satisfies the policy%s%s.",
				 facts->platform == NACRE_PLATFORM_TDX ?
				 "Intel TDX" : "AMD SEV-SNP",
				 facts->release[0] ? "; release " : "",
				 facts->release);
		else if (st == NACRE_OK)
			snprintf(r->message, sizeof(r->message), "The server "
				 "sent fresh evidence from enclave %s, made for "
				 "this handshake (nonce echoed, randoms and key "
				 "shares bound), that satisfies the policy.",
				 r->module_id);
	}
	OPENSSL_free(spki);
	free(mt);
	free(doc);
	return st;
}

bool
nacre_ssl_fresh_session(const SSL *ssl, struct nacre_fresh_view *v,
			const uint8_t **evidence, size_t *len)
{
	struct fresh_client *f = state_of(ssl);

	if (!f || !f->ev || !f->have_view)
		return false;
	*v = f->view;
	*evidence = f->ev;
	*len = f->ev_len;
	return true;
}
