/*
 * secrets.c: the application traffic secrets of a TLS 1.3 handshake, for
 * record.c to take the connection's records over once it is done.
 *
 * OpenSSL 3.0 has no call that hands them out. It derives every TLS 1.3
 * secret with the "TLS13-KDF" EVP_KDF, fetched with the SSL_CTX's property
 * query, so nacred registers a small built-in provider, "nacre", whose
 * TLS13-KDF (property nacre.capture=yes) passes each call on to the
 * TLS13-KDF of the other providers (OpenSSL's default) and, while
 * nacre_secrets_handshake() drives an SSL on this thread, keeps the two
 * outputs labelled "c ap traffic" and "s ap traffic" in that SSL's
 * ex_data. Only SSL_CTXs made by nacre_secrets_ctx_new() prefer it (their
 * property query asks for it) and only their handshakes are captured.
 *
 * The key-log callback (SSL_CTX_set_keylog_callback) would hand out the
 * same two secrets, but OpenSSL formats five lines of hex with one
 * sprintf() per byte for it: 3-4 % of a full handshake's CPU.
 *
 * Nothing here logs or copies a secret elsewhere; the copies are cleansed
 * when taken or when the SSL is freed. If the provider cannot be set up,
 * the contexts are plain ones and connections keep OpenSSL's records.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>

#include "nacred.h"
#include "records/records.h"

#define PROPQ "?nacre.capture=yes"

struct secrets {
	uint8_t client[NACRE_SECRET_MAX], server[NACRE_SECRET_MAX];
	size_t len;
	bool have_client, have_server;
};

static int ex_index = -1;     /* SSL: its struct secrets */
static int ctx_index = -1;    /* SSL_CTX: non-NULL when made for capture */
static OSSL_PROVIDER *prov;   /* "nacre", loaded for the process's life */
static EVP_KDF *inner;        /* TLS13-KDF of the other providers */
static bool ready;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Thread_local SSL *driving; /* the SSL nacre_secrets_handshake runs */

static void
secrets_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
	     void *argp)
{
	if (ptr) {
		OPENSSL_cleanse(ptr, sizeof(struct secrets));
		free(ptr);
	}
}

/* one of the two secrets of the SSL being driven */
static void
keep(bool client, const uint8_t *secret, size_t len)
{
	struct secrets *s = SSL_get_ex_data(driving, ex_index);

	if (len > NACRE_SECRET_MAX)
		return;
	if (!s) {
		if (!(s = calloc(1, sizeof(*s))) ||
		    !SSL_set_ex_data(driving, ex_index, s)) {
			free(s);
			return; /* no capture: OpenSSL keeps the records */
		}
	}
	if (s->len && s->len != len)
		return;
	memcpy(client ? s->client : s->server, secret, len);
	s->len = len;
	if (client)
		s->have_client = true;
	else
		s->have_server = true;
}

/* ---- the provider's TLS13-KDF: OpenSSL's, plus keep() ---- */

struct kdf {
	EVP_KDF_CTX *in;
	uint8_t label[16]; /* the last label set, when short enough to matter */
	size_t label_len;
};

static void
note_label(struct kdf *k, const OSSL_PARAM params[])
{
	const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_KDF_PARAM_LABEL);
	const void *v;
	size_t n;

	if (!p)
		return;
	if (OSSL_PARAM_get_octet_string_ptr(p, &v, &n) && n <= sizeof(k->label)) {
		memcpy(k->label, v, n);
		k->label_len = n;
	} else {
		k->label_len = 0;
	}
}

static void *
kdf_new(void *provctx)
{
	struct kdf *k = calloc(1, sizeof(*k));

	if (k && !(k->in = EVP_KDF_CTX_new(inner))) {
		free(k);
		return NULL;
	}
	return k;
}

static void
kdf_free(void *vk)
{
	struct kdf *k = vk;

	if (k) {
		EVP_KDF_CTX_free(k->in);
		free(k);
	}
}

static void *
kdf_dup(void *vk)
{
	const struct kdf *k = vk;
	struct kdf *d = malloc(sizeof(*d));

	if (d) {
		*d = *k;
		if (!(d->in = EVP_KDF_CTX_dup(k->in))) {
			free(d);
			return NULL;
		}
	}
	return d;
}

static void
kdf_reset(void *vk)
{
	struct kdf *k = vk;

	EVP_KDF_CTX_reset(k->in);
	k->label_len = 0;
}

static int
kdf_set(void *vk, const OSSL_PARAM params[])
{
	struct kdf *k = vk;

	note_label(k, params);
	return EVP_KDF_CTX_set_params(k->in, params);
}

static int
kdf_get(void *vk, OSSL_PARAM params[])
{
	return EVP_KDF_CTX_get_params(((struct kdf *)vk)->in, params);
}

static const OSSL_PARAM *
kdf_settable(void *vk, void *provctx)
{
	return EVP_KDF_settable_ctx_params(inner);
}

static const OSSL_PARAM *
kdf_gettable(void *vk, void *provctx)
{
	return EVP_KDF_gettable_ctx_params(inner);
}

static int
kdf_derive(void *vk, unsigned char *out, size_t len, const OSSL_PARAM params[])
{
	static const char c_ap[] = "c ap traffic", s_ap[] = "s ap traffic";
	struct kdf *k = vk;

	note_label(k, params);
	if (!EVP_KDF_derive(k->in, out, len, params))
		return 0;
	if (driving && k->label_len == sizeof(c_ap) - 1) {
		if (memcmp(k->label, c_ap, k->label_len) == 0)
			keep(true, out, len);
		else if (memcmp(k->label, s_ap, k->label_len) == 0)
			keep(false, out, len);
	}
	return 1;
}

static const OSSL_DISPATCH kdf_fns[] = {
	{ OSSL_FUNC_KDF_NEWCTX, (void (*)(void))kdf_new },
	{ OSSL_FUNC_KDF_DUPCTX, (void (*)(void))kdf_dup },
	{ OSSL_FUNC_KDF_FREECTX, (void (*)(void))kdf_free },
	{ OSSL_FUNC_KDF_RESET, (void (*)(void))kdf_reset },
	{ OSSL_FUNC_KDF_DERIVE, (void (*)(void))kdf_derive },
	{ OSSL_FUNC_KDF_SETTABLE_CTX_PARAMS, (void (*)(void))kdf_settable },
	{ OSSL_FUNC_KDF_SET_CTX_PARAMS, (void (*)(void))kdf_set },
	{ OSSL_FUNC_KDF_GETTABLE_CTX_PARAMS, (void (*)(void))kdf_gettable },
	{ OSSL_FUNC_KDF_GET_CTX_PARAMS, (void (*)(void))kdf_get },
	{ 0, NULL }
};

static const OSSL_ALGORITHM kdfs[] = {
	{ "TLS13-KDF", "provider=nacre,nacre.capture=yes", kdf_fns,
	  "TLS13-KDF keeping nacred's application traffic secrets" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM *
query(void *provctx, int op, int *no_cache)
{
	*no_cache = 0;
	return op == OSSL_OP_KDF ? kdfs : NULL;
}

static const OSSL_DISPATCH prov_fns[] = {
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))query },
	{ 0, NULL }
};

static int
prov_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
	  const OSSL_DISPATCH **out, void **provctx)
{
	*out = prov_fns;
	*provctx = NULL;
	return 1;
}

/* at exit, before OpenSSL's own clean-up (registered earlier, so later) */
static void
teardown(void)
{
	EVP_KDF_free(inner);
	inner = NULL;
	ready = false;
	if (prov)
		OSSL_PROVIDER_unload(prov);
	prov = NULL;
}

static void
setup(void)
{
	atexit(teardown);
	ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, secrets_free);
	ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (ex_index < 0 || ctx_index < 0 ||
	    !OSSL_PROVIDER_add_builtin(NULL, "nacre", prov_init) ||
	    /* keep the fallback: OpenSSL's default provider still loads */
	    !(prov = OSSL_PROVIDER_try_load(NULL, "nacre", 1)) ||
	    !(inner = EVP_KDF_fetch(NULL, "TLS13-KDF", "provider!=nacre")))
		return;
	ready = true;
}

SSL_CTX *
nacre_secrets_ctx_new(const SSL_METHOD *method)
{
	SSL_CTX *ctx;

	pthread_once(&once, setup);
	if (!ready)
		return SSL_CTX_new(method);
	ctx = SSL_CTX_new_ex(NULL, PROPQ, method);
	if (ctx && !SSL_CTX_set_ex_data(ctx, ctx_index, ctx)) {
		SSL_CTX_free(ctx);
		return SSL_CTX_new(method);
	}
	return ctx;
}

int
nacre_secrets_handshake(SSL *ssl)
{
	int r;

	if (ctx_index < 0 || !SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index))
		return SSL_do_handshake(ssl);
	driving = ssl;
	r = SSL_do_handshake(ssl);
	driving = NULL;
	return r;
}

bool
nacre_secrets_take(SSL *ssl, uint8_t *client, uint8_t *server, size_t *len)
{
	struct secrets *s = ex_index >= 0 ? SSL_get_ex_data(ssl, ex_index) : NULL;

	if (!s || !s->have_client || !s->have_server)
		return false;
	memcpy(client, s->client, s->len);
	memcpy(server, s->server, s->len);
	*len = s->len;
	/* the SSL keeps no copy */
	SSL_set_ex_data(ssl, ex_index, NULL);
	secrets_free(NULL, s, NULL, 0, 0, NULL);
	return true;
}
