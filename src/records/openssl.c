/*
 * openssl.c: tls.records = "openssl" (the default): OpenSSL keeps the
 * connection's records after the handshake, through the SSL object and the
 * socket BIO of sockbio.c. What OpenSSL limits (empty records, warning
 * alerts, KeyUpdate answered before it reads on) it limits here too.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "nacred.h"
#include "records/records.h"

struct ossl {
	struct nacre_records base;
	SSL *ssl;
	bool hold;    /* the BIO holds writes (MSG_MORE) until the first read */
	bool drained; /* nothing buffered after the last read: wait for epoll */
};

/* OpenSSL's error queue as text: read by the caller right after */
static _Thread_local char ssl_err[200];

static struct ossl *
of(struct nacre_records *r)
{
	return (struct ossl *)r;
}

/* The ticket (when tickets are on) is written, and held, by the first
 * SSL_read after the handshake; from then on writes go out as they come. */
static void
hold_end(struct ossl *o)
{
	if (o->hold) {
		o->hold = false;
		nacre_sockbio_more(SSL_get_wbio(o->ssl), false);
	}
}

static int
fail(int ret, int err)
{
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, ssl_err, sizeof(ssl_err));
	else if (err == SSL_ERROR_SYSCALL && errno)
		snprintf(ssl_err, sizeof(ssl_err), "%s", strerror(errno));
	else
		snprintf(ssl_err, sizeof(ssl_err), "connection reset or closed");
	ERR_clear_error();
	return NACRE_IO_ERR;
}

static int
wants(int err)
{
	return err == SSL_ERROR_WANT_WRITE ? NACRE_IO_WANT_WRITE : NACRE_IO_WANT_READ;
}

static int
ossl_read(struct nacre_records *r, uint8_t *out, size_t cap, size_t *got)
{
	struct ossl *o = of(r);
	int n, err;

	*got = 0;
	if (o->drained) {
		o->drained = false;
		return NACRE_IO_WANT_READ;
	}
	n = SSL_read(o->ssl, out, cap > INT32_MAX ? INT32_MAX : (int)cap);
	hold_end(o);
	if (n > 0) {
		*got = (size_t)n;
		/* nothing buffered in OpenSSL: the socket is most likely
		 * drained too, so wait for epoll (level-triggered, so nothing
		 * is missed) rather than spend a read() to hear EAGAIN */
		o->drained = !SSL_has_pending(o->ssl) &&
			     BIO_pending(SSL_get_rbio(o->ssl)) == 0;
		return NACRE_IO_OK;
	}
	err = SSL_get_error(o->ssl, n);
	switch (err) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return wants(err);
	case SSL_ERROR_ZERO_RETURN:
		/* close_notify (or EOF, SSL_OP_IGNORE_UNEXPECTED_EOF) */
		return NACRE_IO_EOF;
	default:
		if (err == SSL_ERROR_SSL &&
		    ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			snprintf(ssl_err, sizeof(ssl_err), "the client closed "
				 "without close_notify (truncated)");
			return NACRE_IO_ERR;
		}
		return fail(n, err);
	}
}

static int
ossl_write(struct nacre_records *r, const uint8_t *p, size_t n, size_t *took)
{
	struct ossl *o = of(r);
	int k, err;

	*took = 0;
	hold_end(o);
	k = SSL_write(o->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	if (k > 0) {
		*took = (size_t)k;
		return NACRE_IO_OK;
	}
	err = SSL_get_error(o->ssl, k);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return wants(err);
	return fail(k, err);
}

static int
ossl_shutdown(struct nacre_records *r)
{
	struct ossl *o = of(r);
	int k, err;

	/* close_notify and the FIN in one segment (TCP) */
	nacre_sockbio_more(SSL_get_wbio(o->ssl), true);
	k = SSL_shutdown(o->ssl);
	nacre_sockbio_more(SSL_get_wbio(o->ssl), false);
	if (k >= 0)
		return NACRE_IO_OK;
	err = SSL_get_error(o->ssl, k);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return wants(err);
	return fail(k, err);
}

static const char *
ossl_error(const struct nacre_records *r)
{
	return ssl_err[0] ? ssl_err : "no error";
}

static void
ossl_free(struct nacre_records *r)
{
	struct ossl *o = of(r);

	SSL_free(o->ssl);
	nacre_pool_free(o);
}

static const struct nacre_records_ops ossl_ops = {
	.name = "openssl",
	.read = ossl_read,
	.write = ossl_write,
	.shutdown = ossl_shutdown,
	.error = ossl_error,
	.free = ossl_free,
};

struct nacre_records *
nacre_records_openssl(SSL *ssl, bool hold)
{
	struct ossl *o = nacre_pool_alloc(sizeof(*o));

	if (!o)
		return NULL;
	o->base.ops = &ossl_ops;
	o->ssl = ssl;
	o->hold = hold;
	/* the socket BIO's read-ahead was for the handshake: from here
	 * OpenSSL reads ahead itself (fewer read() calls), and what it
	 * decrypted is wiped from its buffer once read */
	nacre_sockbio_read_ahead(SSL_get_rbio(ssl), false);
	SSL_set_read_ahead(ssl, 1);
	SSL_set_options(ssl, SSL_OP_CLEANSE_PLAINTEXT);
	return &o->base;
}
