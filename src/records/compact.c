/*
 * compact.c: tls.records = "compact": the records of a TLS 1.3 connection
 * sealed and opened by record.c once OpenSSL's SSL is freed. This file is
 * the socket side: it reads ciphertext into record.c, sends what record.c
 * sealed, and turns both into the splice's NACRE_IO_* answers.
 *
 * Bounds: record.c's output buffer has a fixed size; while a KeyUpdate we
 * owe the client is unsent nothing more is read from it (as OpenSSL, which
 * must write its KeyUpdate before it reads on), and a write's bytes count
 * as taken only once their records are all sent.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "nacred.h"
#include "records/records.h"

struct compact {
	struct nacre_records base;
	struct nacre_rec *rec;
	int fd;
	bool tcp;       /* MSG_MORE with close_notify: the FIN joins it */
	bool drained;   /* the last read() was short: wait for epoll next */
	size_t sealed;  /* bytes of the caller's write sealed, not all sent */
	const char *why;
};

/* socket errors as text: read by the caller right after the failure */
static _Thread_local char sock_err[96];

static struct compact *
of(struct nacre_records *r)
{
	return (struct compact *)r;
}

static int
sock_fail(struct compact *k, const char *what, int err)
{
	snprintf(sock_err, sizeof(sock_err), "%s: %s", what, strerror(err));
	k->why = sock_err;
	return NACRE_IO_ERR;
}

/* what record.c sealed -> the socket: OK once all is sent */
static int
flush(struct compact *k, int flags)
{
	size_t len;
	const uint8_t *p;

	while ((p = nacre_rec_pending(k->rec, &len))) {
		ssize_t n = send(k->fd, p, len, MSG_NOSIGNAL | flags);
		if (n > 0) {
			nacre_rec_sent(k->rec, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return NACRE_IO_WANT_WRITE;
		return sock_fail(k, "send", n < 0 ? errno : EPIPE);
	}
	return NACRE_IO_OK;
}

/* record.c failed: its alert (if any) goes out now if the socket takes
 * it, once; the connection ends either way */
static int
rec_fail(struct compact *k)
{
	size_t len;
	const uint8_t *p = nacre_rec_pending(k->rec, &len);

	if (p) {
		(void)send(k->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		nacre_rec_sent(k->rec, len); /* sent or not: never again */
	}
	k->why = nacre_rec_error(k->rec);
	return NACRE_IO_ERR;
}

/* reads in one call that brought no plaintext: then the other
 * connections get their turn (epoll is level-triggered: it comes back) */
#define READS_PER_CALL 16

static int
compact_read(struct nacre_records *r, uint8_t *out, size_t cap, size_t *got)
{
	struct compact *k = of(r);
	unsigned reads = 0;

	*got = 0;
	for (;;) {
		size_t room;
		uint8_t *dst;
		ssize_t n;
		int st = nacre_rec_read(k->rec, out, cap, got);

		switch (st) {
		case NACRE_REC_DATA:
			return NACRE_IO_OK;
		case NACRE_REC_EOF:
			return NACRE_IO_EOF;
		case NACRE_REC_ERR:
			return rec_fail(k);
		case NACRE_REC_BLOCKED:
			st = flush(k, 0);
			if (st != NACRE_IO_OK)
				return st;
			continue;
		default:
			break; /* NACRE_REC_WANT */
		}
		/* a short read() drained the socket: wait for epoll (level-
		 * triggered) rather than spend a read() to hear EAGAIN */
		if (k->drained) {
			k->drained = false;
			nacre_rec_rtrim(k->rec);
			return NACRE_IO_WANT_READ;
		}
		if (++reads > READS_PER_CALL)
			return NACRE_IO_WANT_READ;
		if (!(dst = nacre_rec_rspace(k->rec, &room))) {
			k->why = "out of memory";
			return NACRE_IO_ERR;
		}
		n = read(k->fd, dst, room);
		if (n > 0) {
			nacre_rec_rdone(k->rec, (size_t)n);
			k->drained = (size_t)n < room;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			nacre_rec_rtrim(k->rec); /* an idle connection holds none */
			return NACRE_IO_WANT_READ;
		}
		if (n < 0)
			return sock_fail(k, "read", errno);
		/* EOF without close_notify, inside a record or between
		 * records: a truncation, answered as OpenSSL does
		 * (decode_error; the client may still read) */
		nacre_rec_abort(k->rec, 50, nacre_rec_buffered(k->rec) > 0
			? "the client closed without close_notify, inside a "
			  "record (truncated)"
			: "the client closed without close_notify (truncated)");
		return rec_fail(k);
	}
}

static int
compact_write(struct nacre_records *r, const uint8_t *p, size_t n, size_t *took)
{
	struct compact *k = of(r);

	*took = 0;
	for (;;) {
		int st;

		if (!k->sealed) {
			ssize_t s = nacre_rec_seal(k->rec, p, n);
			if (s < 0)
				return rec_fail(k);
			k->sealed = (size_t)s; /* 0: a KeyUpdate went first */
		}
		st = flush(k, 0);
		if (st != NACRE_IO_OK)
			return st;
		if (k->sealed) {
			*took = k->sealed;
			k->sealed = 0;
			return NACRE_IO_OK;
		}
	}
}

static int
compact_shutdown(struct nacre_records *r)
{
	struct compact *k = of(r);

	if (nacre_rec_close_notify(k->rec) != 0)
		return rec_fail(k);
	/* with close_notify in it, the FIN follows: one segment (TCP) */
	return flush(k, k->tcp ? MSG_MORE : 0);
}

static const char *
compact_error(const struct nacre_records *r)
{
	const struct compact *k = (const struct compact *)r;

	return k->why ? k->why : "no error";
}

static void
compact_free(struct nacre_records *r)
{
	struct compact *k = of(r);

	nacre_rec_free(k->rec);
	nacre_pool_free(k);
}

static const struct nacre_records_ops compact_ops = {
	.name = "compact",
	.read = compact_read,
	.write = compact_write,
	.shutdown = compact_shutdown,
	.error = compact_error,
	.free = compact_free,
};

struct nacre_records *
nacre_records_compact(SSL *ssl, int fd, bool tcp, const char **why, bool *lost)
{
	BIO *bio = SSL_get_rbio(ssl);
	struct compact *k;

	*lost = false;
	if (!(k = nacre_pool_alloc(sizeof(*k)))) {
		*why = "out of memory";
		*lost = true;
		return NULL;
	}
	if (!(k->rec = nacre_rec_from_ssl(ssl, why))) {
		nacre_pool_free(k);
		return NULL;
	}
	k->base.ops = &compact_ops;
	k->fd = fd;
	k->tcp = tcp;
	/* what the BIO read past the Finished (fits: see sockbio.c) */
	while (BIO_pending(bio) > 0) {
		size_t room;
		uint8_t *dst = nacre_rec_rspace(k->rec, &room);
		size_t n = dst ? nacre_sockbio_take(bio, dst, room) : 0;
		if (!n) {
			*why = "out of memory";
			*lost = true; /* some of the BIO's bytes are gone */
			compact_free(&k->base);
			return NULL;
		}
		nacre_rec_rdone(k->rec, n);
	}
	k->drained = nacre_sockbio_drained(bio);
	return &k->base;
}
