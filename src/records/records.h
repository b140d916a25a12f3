/*
 * records.h: a client connection's TLS records once its handshake is done,
 * behind one interface with two implementations:
 *   openssl.c  OpenSSL's record layer (SSL_read, SSL_write, SSL_shutdown),
 *              the default (tls.records = "openssl"): the audited path;
 *   compact.c  nacre's own TLS 1.3 record layer (record.c) after the SSL is
 *              freed (tls.records = "compact"): less memory per idle
 *              connection and less CPU per byte, opt-in.
 * conn.c's splice calls only nacre_records_*(); each implementation reads
 * and writes the client socket itself and says what it waits for. Both
 * treat an EOF without close_notify as an error (a truncation).
 */
#ifndef NACRE_RECORDS_H
#define NACRE_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ssl_st;
struct ssl_ctx_st;
struct ssl_method_st;

/* what a call did, or what it waits for before it can go on */
enum nacre_io {
	NACRE_IO_OK,         /* done (read: *got > 0 bytes; write: *took) */
	NACRE_IO_WANT_READ,  /* call again once the socket is readable */
	NACRE_IO_WANT_WRITE, /* call again once the socket is writable */
	NACRE_IO_EOF,        /* read: the client ended its stream */
	NACRE_IO_ERR         /* fatal: nacre_records_error() says why */
};

struct nacre_records;

struct nacre_records_ops {
	const char *name;
	int (*read)(struct nacre_records *r, uint8_t *out, size_t cap, size_t *got);
	int (*write)(struct nacre_records *r, const uint8_t *p, size_t n,
		     size_t *took);
	int (*shutdown)(struct nacre_records *r);
	const char *(*error)(const struct nacre_records *r);
	void (*free)(struct nacre_records *r);
};

/* the first member of each implementation's state */
struct nacre_records {
	const struct nacre_records_ops *ops;
};

/*
 * The splice's four calls. read: plaintext from the client into OUT (a
 * close_notify, or an EOF between records, is NACRE_IO_EOF). write: seals
 * P[0..n) and sends it; *took counts bytes the client will get whatever
 * happens next. After NACRE_IO_WANT_*, call again with the same bytes
 * (more may follow them). shutdown: close_notify, sent whole (the caller
 * then sends its FIN). A fatal alert is sent by the call that fails.
 */
static inline int
nacre_records_read(struct nacre_records *r, uint8_t *out, size_t cap,
		   size_t *got)
{
	return r->ops->read(r, out, cap, got);
}

static inline int
nacre_records_write(struct nacre_records *r, const uint8_t *p, size_t n,
		    size_t *took)
{
	return r->ops->write(r, p, n, took);
}

static inline int
nacre_records_shutdown(struct nacre_records *r)
{
	return r->ops->shutdown(r);
}

static inline const char *
nacre_records_error(const struct nacre_records *r)
{
	return r->ops->error(r);
}

static inline const char *
nacre_records_name(const struct nacre_records *r)
{
	return r->ops->name;
}

static inline void
nacre_records_free(struct nacre_records *r)
{
	if (r)
		r->ops->free(r);
}

/* ---- openssl.c ---- */
/* Takes SSL (its handshake done) and frees it with itself. HOLD: the
 * socket BIO holds writes (MSG_MORE, a session ticket) until the first
 * read or write is done. NULL when out of memory (SSL not taken). */
struct nacre_records *nacre_records_openssl(struct ssl_st *ssl, bool hold);

/* ---- compact.c ---- */
/* Takes the records of a finished TLS 1.3 handshake on socket FD (TCP:
 * MSG_MORE is used) and moves what the socket BIO read ahead; the caller
 * then frees SSL. NULL and *why when this one cannot be taken (not TLS
 * 1.3, a suite record.c does not do, no secrets captured): then OpenSSL
 * can keep the records, unless *LOST (out of memory: the connection must
 * end). */
struct nacre_records *nacre_records_compact(struct ssl_st *ssl, int fd, bool tcp,
					    const char **why, bool *lost);

/* ---- secrets.c ---- */
#define NACRE_SECRET_MAX 48 /* SHA-384 */
/* An SSL_CTX (SSL_CTX_new) whose TLS 1.3 handshakes keep their
 * application traffic secrets (never logged) for nacre_rec_from_ssl, when
 * driven by nacre_secrets_handshake (SSL_do_handshake; for any other SSL
 * just that). If capture cannot be set up, a plain SSL_CTX. */
struct ssl_ctx_st *nacre_secrets_ctx_new(const struct ssl_method_st *method);
int nacre_secrets_handshake(struct ssl_st *ssl);
/* the captured secrets, moved out of the SSL (false: none, or not both) */
bool nacre_secrets_take(struct ssl_st *ssl, uint8_t *client, uint8_t *server,
			size_t *len);

/* ---- record.c: TLS 1.3 records after the handshake, without an SSL ---- */
struct nacre_rec;
enum {
	NACRE_REC_DATA,    /* plaintext handed out */
	NACRE_REC_WANT,    /* more ciphertext needed */
	NACRE_REC_EOF,     /* close_notify */
	NACRE_REC_ERR,     /* fatal: an alert may be pending to send */
	NACRE_REC_BLOCKED  /* our own records must be sent before reading on */
};
/* The record layer of a finished TLS 1.3 handshake, after which the SSL
 * can be freed; NULL and *why when this one cannot be taken over (not
 * TLS 1.3, a suite other than AES-GCM / ChaCha20-Poly1305, bytes OpenSSL
 * has read but not handed out, no secrets captured). */
struct nacre_rec *nacre_rec_from_ssl(struct ssl_st *ssl, const char **why);
/* From secrets: SUITE is the TLS 1.3 suite id (0x1301-0x1303); RD opens,
 * WR seals, each SECRET_LEN bytes (the suite's hash length). */
struct nacre_rec *nacre_rec_new(uint16_t suite, const uint8_t *rd_secret,
				const uint8_t *wr_secret, size_t secret_len,
				const char **why);
void nacre_rec_free(struct nacre_rec *r);
/* reading: read() the socket into rspace (NULL: out of memory), report
 * with rdone, take plaintext with nacre_rec_read: NACRE_REC_DATA (*got
 * bytes into out), _WANT (read more), _EOF (close_notify), _ERR (fatal;
 * nacre_rec_error says why, and an alert may be pending to send),
 * _BLOCKED (a KeyUpdate we owe the peer is pending: send it first; the
 * peer that does not read stops being read). */
uint8_t *nacre_rec_rspace(struct nacre_rec *r, size_t *room);
void nacre_rec_rdone(struct nacre_rec *r, size_t n);
int nacre_rec_read(struct nacre_rec *r, uint8_t *out, size_t cap, size_t *got);
size_t nacre_rec_buffered(const struct nacre_rec *r); /* unopened bytes */
void nacre_rec_rtrim(struct nacre_rec *r); /* frees the read buffer if empty */
/* writing: seal takes what fits in one batch (0 while anything sealed is
 * still unsent; -1 on error), pending shows what to send, sent reports it.
 * What is sealed never exceeds one batch and an alert: the output buffer
 * has a fixed size. */
ssize_t nacre_rec_seal(struct nacre_rec *r, const uint8_t *p, size_t n);
int nacre_rec_close_notify(struct nacre_rec *r);
const uint8_t *nacre_rec_pending(const struct nacre_rec *r, size_t *len);
void nacre_rec_sent(struct nacre_rec *r, size_t n);
const char *nacre_rec_error(const struct nacre_rec *r);
/* ends it from outside (e.g. a truncated stream): fatal alert DESC queued,
 * WHY (a static string) kept; returns NACRE_REC_ERR */
int nacre_rec_abort(struct nacre_rec *r, uint8_t desc, const char *why);
/* tests and fuzzing: one record of any inner type with PAD zero bytes of
 * padding; our own KeyUpdate after RECORDS records under one key; the
 * output buffer's fixed size */
int nacre_rec_seal_raw(struct nacre_rec *r, uint8_t type, const uint8_t *p,
		       size_t n, size_t pad);
void nacre_rec_set_rekey_after(struct nacre_rec *r, uint64_t records);
/* a KeyUpdate of ours now (REQUEST: ask the peer for one), new key after */
int nacre_rec_key_update(struct nacre_rec *r, bool request);
size_t nacre_rec_out_cap(void);

#endif
