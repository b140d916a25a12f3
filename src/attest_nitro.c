/*
 * attest_nitro.c: the attestation provider: an NSM conversation (codec)
 * over a transport. "nitro" uses /dev/nsm; the sim plugs its software NSM
 * in as the transport, so both take the same path from request to document.
 * TDX and SNP providers (src/tee/) plug in a report source instead
 * (nacre_attest_tee_wrap); their envelope is made in tee/provider_tee.c.
 * A provider is shared by the main thread (rotation) and the fresh-evidence
 * thread (fresh.c): requests are serialized by its lock, and it lives
 * until its last reference is dropped (nacre_attest_ref / _free).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest.h"
#include "tee/tee_provider.h"
#include "tee_evidence.h"

struct nacre_attest {
	char name[8];
	/* TDX / SNP: the kind and its report source (transport is NULL) */
	enum nacre_tee_kind tee;
	const struct nacre_tee_ops *tee_ops;
	void *tee_ctx;
	nacre_nsm_transport transport;
	void *ctx;
	void (*free_ctx)(void *);
	char root_hex[65];
	bool has_root;
	char module_id[NACRE_NITRO_MODULE_ID_MAX + 1];
	uint8_t *resp; /* NACRE_NSM_RESPONSE_MAX bytes */
	pthread_mutex_t lock; /* one request at a time */
	atomic_uint refs;
};

/* one request -> decoded response; NSM errors become err */
static int
exchange(struct nacre_attest *a, const uint8_t *req, size_t reqlen,
	 enum nacre_nsm_kind want, struct nacre_nsm_response *r, char *err,
	 size_t errlen)
{
	size_t resplen = NACRE_NSM_RESPONSE_MAX;

	memset(r, 0, sizeof(*r));
	if (a->transport(a->ctx, req, reqlen, a->resp, &resplen, err,
			 errlen) < 0)
		return -1;
	if (nacre_nsm_decode_response(a->resp, resplen, r, err, errlen) < 0)
		return -1;
	if (r->kind == NACRE_NSM_ERROR) {
		nacre_nsm_error_message(r, err, errlen);
		nacre_nsm_response_free(r);
		return -1;
	}
	if (r->kind != want) {
		nacre_seterr(err, errlen, "NSM answered with a response of another kind");
		nacre_nsm_response_free(r);
		return -1;
	}
	return 0;
}

static int
describe(struct nacre_attest *a, char *err, size_t errlen)
{
	struct nacre_nsm_response r;
	uint8_t *req = NULL;
	size_t reqlen;
	int rc;

	if (nacre_nsm_encode_describe(&req, &reqlen) < 0) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	rc = exchange(a, req, reqlen, NACRE_NSM_DESCRIBE, &r, err, errlen);
	free(req);
	if (rc < 0)
		return -1;
	snprintf(a->module_id, sizeof(a->module_id), "%s", r.describe.module_id);
	nacre_nsm_response_free(&r);
	return 0;
}

struct nacre_attest *
nacre_attest_wrap(const char *name, nacre_nsm_transport transport, void *ctx,
		  void (*free_ctx)(void *), const char *root_sha256_hex,
		  char *err, size_t errlen)
{
	struct nacre_attest *a = calloc(1, sizeof(*a));

	if (!a || !(a->resp = malloc(NACRE_NSM_RESPONSE_MAX))) {
		free(a);
		if (free_ctx)
			free_ctx(ctx);
		nacre_seterr(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	atomic_init(&a->refs, 1);
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->transport = transport;
	a->ctx = ctx;
	a->free_ctx = free_ctx;
	if (root_sha256_hex) {
		snprintf(a->root_hex, sizeof(a->root_hex), "%s", root_sha256_hex);
		a->has_root = true;
	}
	/* ask once now: a wrong device fails at start, not at first use */
	if (describe(a, err, errlen) < 0) {
		nacre_attest_free(a);
		return NULL;
	}
	return a;
}

struct nacre_attest *
nacre_attest_tee_wrap(const char *name, enum nacre_tee_kind kind,
		      const struct nacre_tee_ops *ops, void *ctx, char *err,
		      size_t errlen)
{
	struct nacre_attest *a = calloc(1, sizeof(*a));

	if (!a) {
		if (ops->free_ctx)
			ops->free_ctx(ctx);
		nacre_seterr(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	atomic_init(&a->refs, 1);
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->tee = kind;
	a->tee_ops = ops;
	a->tee_ctx = ctx;
	return a;
}

const char *
nacre_tee_kind_media_type(enum nacre_tee_kind k)
{
	return k == NACRE_TEE_TDX ? NACRE_MEDIA_TYPE_TDX : NACRE_MEDIA_TYPE_SNP;
}

const char *
nacre_tee_kind_name(enum nacre_tee_kind k)
{
	return k == NACRE_TEE_TDX ? "tdx" : "snp";
}

static void
close_fd(void *ctx)
{
	close(*(int *)ctx);
	free(ctx);
}

struct nacre_attest *
nacre_attest_nitro_open(const char *dev, char *err, size_t errlen)
{
	const char *path = dev ? dev : "/dev/nsm";
	int *fd = malloc(sizeof(*fd));

	if (!fd) {
		nacre_seterr(err, errlen, "out of memory");
		return NULL;
	}
	if ((*fd = nacre_nsm_dev_open(path, err, errlen)) < 0) {
		free(fd);
		return NULL;
	}
	return nacre_attest_wrap("nitro", nacre_nsm_dev_transport, fd, close_fd,
				 NULL, err, errlen);
}

static bool
same(bool has, const uint8_t *got, size_t got_len, const uint8_t *want,
     size_t want_len)
{
	if (!want)
		return !has;
	return has && got_len == want_len &&
	       (want_len == 0 || memcmp(got, want, want_len) == 0);
}

/* the document must bind what we asked for; anything else is a broken or
 * lying NSM, and shipping it would be worse than failing */
static int
check_binding(const uint8_t *doc, size_t len, const uint8_t *spki,
	      size_t spki_len, const uint8_t *ud, size_t ud_len,
	      const uint8_t *nonce, size_t nonce_len, char *err, size_t errlen)
{
	struct nacre_nitro_doc *d;
	char why[256];
	const char *bad = NULL;

	if (nacre_nitro_doc_decode(doc, len, &d, why, sizeof(why)) < 0) {
		nacre_seterr(err, errlen, "NSM returned a document nacre cannot read: %s",
		       why);
		return -1;
	}
	if (!same(d->has_public_key, d->public_key, d->public_key_len, spki,
		  spki_len))
		bad = "public_key";
	else if (!same(d->has_user_data, d->user_data, d->user_data_len, ud,
		       ud_len))
		bad = "user_data";
	else if (!same(d->has_nonce, d->nonce, d->nonce_len, nonce, nonce_len))
		bad = "nonce";
	nacre_nitro_doc_free(d);
	if (bad) {
		nacre_seterr(err, errlen, "NSM returned a document whose %s differs "
		       "from the request", bad);
		return -1;
	}
	return 0;
}

static int
nsm_document(struct nacre_attest *a, const uint8_t *spki, size_t spki_len,
	     const uint8_t *user_data, size_t ud_len, const uint8_t *nonce,
	     size_t nonce_len, uint8_t **doc, size_t *doc_len, char *err,
	     size_t errlen)
{
	struct nacre_nsm_response r;
	uint8_t *req = NULL;
	size_t reqlen;
	int rc;

	if (nacre_nsm_encode_attestation(user_data, ud_len, nonce, nonce_len,
					 spki, spki_len, &req, &reqlen) < 0) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_lock(&a->lock);
	rc = exchange(a, req, reqlen, NACRE_NSM_ATTESTATION, &r, err, errlen);
	pthread_mutex_unlock(&a->lock);
	free(req);
	if (rc < 0)
		return -1;
	if (check_binding(r.document, r.document_len, spki, spki_len, user_data,
			  ud_len, nonce, nonce_len, err, errlen) < 0) {
		nacre_nsm_response_free(&r);
		return -1;
	}
	*doc = r.document;
	*doc_len = r.document_len;
	return 0;
}

int
nacre_attest_evidence(struct nacre_attest *a, const uint8_t *spki,
		      size_t spki_len, const uint8_t *claims, size_t claims_len,
		      const uint8_t *nonce, size_t nonce_len,
		      const char **media_type, uint8_t **ev, size_t *ev_len,
		      char *err, size_t errlen)
{
	int rc;

	*ev = NULL;
	*ev_len = 0;
	*media_type = nacre_attest_media_type(a);
	if (!spki || spki_len == 0) {
		nacre_seterr(err, errlen, "attestation needs the public key to bind");
		return -1;
	}
	if (!a->tee_ops)
		return nsm_document(a, spki, spki_len, claims, claims_len, nonce,
				    nonce_len, ev, ev_len, err, errlen);
	if (nonce) {
		/* a caller's mistake: the nonce would be silently unbound */
		nacre_seterr(err, errlen, "%s evidence has no nonce field; bind "
			     "the nonce in the \"hs\" claim",
			     nacre_tee_kind_name(a->tee));
		return -1;
	}
	pthread_mutex_lock(&a->lock);
	rc = nacre_tee_evidence(a->tee_ops, a->tee_ctx, a->tee, spki,
				spki_len, claims, claims_len, ev, ev_len, err,
				errlen);
	pthread_mutex_unlock(&a->lock);
	return rc;
}

int
nacre_attest_get(struct nacre_attest *a, const uint8_t *spki, size_t spki_len,
		 const uint8_t *user_data, size_t ud_len, const uint8_t *nonce,
		 size_t nonce_len, uint8_t **doc, size_t *doc_len, char *err,
		 size_t errlen)
{
	const char *mt;

	return nacre_attest_evidence(a, spki, spki_len, user_data, ud_len,
				     nonce, nonce_len, &mt, doc, doc_len, err,
				     errlen);
}

const char *
nacre_attest_media_type(const struct nacre_attest *a)
{
	return a->tee_ops ? nacre_tee_kind_media_type(a->tee) :
			    NACRE_MEDIA_TYPE_NITRO;
}

bool
nacre_attest_has_nonce(const struct nacre_attest *a)
{
	return !a->tee_ops;
}

const char *
nacre_attest_name(const struct nacre_attest *a)
{
	return a->name;
}

const char *
nacre_attest_sim_root_sha256_hex(const struct nacre_attest *a)
{
	return a->has_root ? a->root_hex : NULL;
}

const char *
nacre_attest_module_id(const struct nacre_attest *a)
{
	return a->module_id;
}

struct nacre_attest *
nacre_attest_ref(struct nacre_attest *a)
{
	atomic_fetch_add(&a->refs, 1);
	return a;
}

void
nacre_attest_free(struct nacre_attest *a)
{
	if (!a || atomic_fetch_sub(&a->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&a->lock);
	if (a->free_ctx)
		a->free_ctx(a->ctx);
	if (a->tee_ops && a->tee_ops->free_ctx)
		a->tee_ops->free_ctx(a->tee_ctx);
	free(a->resp);
	free(a);
}
