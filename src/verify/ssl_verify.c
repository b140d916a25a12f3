/*
 * ssl_verify.c: attestation as part of any OpenSSL client's handshake. The
 * certificate verification callback runs nacre_verify_cert on the peer's
 * leaf and keeps the result on the SSL, so the application can say why a
 * handshake failed (or what was proven when it succeeded).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "libnacre.h"
#include "nacre/verify.h"

static int result_idx = -1;
static pthread_once_t result_once = PTHREAD_ONCE_INIT;

static void
result_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
	    void *argp)
{
	free(ptr);
}

static void
result_index_init(void)
{
	result_idx = SSL_get_ex_new_index(0, "nacre_result", NULL, NULL,
					  result_free);
}

/* the verdict and the facts, kept together on the SSL; the public
 * accessor hands out the verdict (first member) */
struct verdict {
	struct nacre_result r;
	struct nacre_tee_facts f;
};

static struct verdict *
result_slot(SSL *ssl)
{
	struct verdict *v = SSL_get_ex_data(ssl, result_idx);

	if (!v) {
		v = calloc(1, sizeof(*v));
		if (v && !SSL_set_ex_data(ssl, result_idx, v)) {
			free(v);
			v = NULL;
		}
	}
	return v;
}

/* Replaces OpenSSL's chain building: the certificate is self-signed, and
 * what makes it trustworthy is the evidence inside it. */
static int
verify_cb(X509_STORE_CTX *xs, void *arg)
{
	const struct nacre_policy *p = arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
					      SSL_get_ex_data_X509_STORE_CTX_idx());
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);
	struct verdict *v = ssl ? result_slot(ssl) : NULL;
	struct verdict local;
	struct nacre_result *r;

	if (!v)
		v = &local;
	r = &v->r;
	memset(&v->f, 0, sizeof(v->f));
	if (!leaf) {
		memset(r, 0, sizeof(*r));
		r->status = NACRE_E_NO_EVIDENCE;
		snprintf(r->message, sizeof(r->message),
			 "The server sent no certificate.");
	} else if (ssl && nacre_policy_fresh(p)) {
		nacre_ssl_fresh_verify(ssl, leaf, p, r, &v->f);
	} else {
		nacre_verify_cert_facts(leaf, p, r, &v->f);
	}
	if (r->status == NACRE_OK)
		return 1;
	X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

int
nacre_ssl_ctx_verify(SSL_CTX *ctx, const struct nacre_policy *p)
{
	if (pthread_once(&result_once, result_index_init) != 0 || result_idx < 0 ||
	    nacre_ssl_fresh_init() < 0)
		return -1;
	/* the request for the attested certificate, in every ClientHello
	 * (version 2 with a nonce under a fresh policy), and the fresh
	 * evidence in the leaf's CertificateEntry (ssl_fresh.c); once per
	 * context (a second call would fail to add it again) */
	if (!SSL_CTX_has_client_custom_ext(ctx, NACRE_TLSEXT_ATTEST) &&
	    !SSL_CTX_add_custom_ext(ctx, NACRE_TLSEXT_ATTEST,
				    SSL_EXT_CLIENT_HELLO | SSL_EXT_TLS1_3_CERTIFICATE,
				    nacre_ssl_fresh_ext_add, NULL, (void *)p,
				    nacre_ssl_fresh_ext_parse, NULL))
		return -1;
	/* the answer travels in a TLS 1.3 CertificateEntry */
	if (nacre_policy_fresh(p) &&
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
		return -1;
	SSL_CTX_set_cert_verify_callback(ctx, verify_cb, (void *)p);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return 0;
}

const struct nacre_result *
nacre_ssl_result(const SSL *ssl)
{
	const struct verdict *v;

	if (result_idx < 0 || !(v = SSL_get_ex_data(ssl, result_idx)))
		return NULL;
	return &v->r;
}

const struct nacre_tee_facts *
nacre_ssl_facts(const SSL *ssl)
{
	const struct verdict *v;

	if (result_idx < 0 || !(v = SSL_get_ex_data(ssl, result_idx)))
		return NULL;
	return &v->f;
}
