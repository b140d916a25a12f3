/* sockbio.c: the BIO between a client connection's SSL and its socket.
 *
 * OpenSSL's own socket BIO would do, but for one thing: during a
 * handshake OpenSSL stacks a buffering BIO on top of ours and that
 * buffer is 4 KiB. nacred's certificate carries the attestation
 * evidence (about 4.8 KB), so the server's flight (ServerHello ...
 * Finished, about 5.2 KB) left in two write()s and two TCP segments per
 * handshake. When the buffer is pushed on top of us we are told
 * (BIO_CTRL_PUSH, with the buffering BIO as argument) and give it room
 * for the whole flight; it is freed when the handshake ends. Writes use
 * send(MSG_NOSIGNAL), so a peer gone away is an EPIPE error here, never
 * a signal.
 *
 * "More" (TCP sockets only; a no-op on others): while set, writes carry
 * MSG_MORE, so the kernel
 * holds them until a write without it, a FIN or a full segment. The
 * connection sets it where it knows a write follows soon: around the
 * handshake step that sends the session ticket (the first response
 * carries it) and around close_notify (the FIN follows at once). Each
 * saves a TCP segment, and the client a wake-up.
 *
 * Read-ahead, on from the start: OpenSSL is asked to read exactly (a
 * record header, then its body) and this BIO reads what the socket has,
 * up to one whole record's worth, into a buffer of its own. Same read()s
 * as OpenSSL's own read-ahead, but what follows the client's Finished
 * (often the first request) is ours to hand over, with
 * nacre_sockbio_take, when record.c takes the connection's records. For
 * a connection that stays with OpenSSL the connection turns this off and
 * OpenSSL's read-ahead on. The buffer is freed whenever it empties.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>

#include "nacred.h"

/* room for a flight with a large certificate; only while handshaking */
#define FLIGHT_BUFFER 16384
/* read-ahead: a ClientHello, a client's last flight and what follows it;
 * no more than record.c's buffer (one record of 5 + 2^14 + 256), so all
 * that is left over when it takes over fits there */
#define READ_BUFFER 16645

static BIO_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

struct sock {
	int fd;                /* -1: none */
	bool tcp, more;
	bool read_ahead;       /* fill rbuf with what the socket has */
	bool drained;          /* the last read() came back short or empty */
	unsigned char *rbuf;   /* read ahead, not yet handed out */
	uint32_t roff, rlen;
};

static struct sock *
sock_of(BIO *b)
{
	return BIO_get_data(b);
}

static bool
retryable(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

static int
sock_write(BIO *b, const char *buf, int len)
{
	struct sock *k = sock_of(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	n = send(k->fd, buf, (size_t)len,
		 MSG_NOSIGNAL | (k->tcp && k->more ? MSG_MORE : 0));
	if (n < 0 && retryable(errno))
		BIO_set_retry_write(b);
	return (int)n;
}

static void
rbuf_free(struct sock *k)
{
	free(k->rbuf);
	k->rbuf = NULL;
	k->roff = k->rlen = 0;
}

/* up to CAP bytes of what was read ahead into OUT; the buffer is freed
 * once it empties */
static size_t
rbuf_give(struct sock *k, unsigned char *out, size_t cap)
{
	size_t n = k->rlen - k->roff;

	if (n > cap)
		n = cap;
	if (n) {
		memcpy(out, k->rbuf + k->roff, n);
		k->roff += (uint32_t)n;
		if (k->roff == k->rlen)
			rbuf_free(k);
	}
	return n;
}

/* What was read ahead first; then, reading ahead, one read() of up to
 * READ_BUFFER bytes; otherwise straight into the caller's buffer. */
static int
sock_read(BIO *b, char *buf, int len)
{
	struct sock *k = sock_of(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	if (k->rlen > k->roff)
		return (int)rbuf_give(k, (unsigned char *)buf, (size_t)len);
	if (k->read_ahead && len < READ_BUFFER) {
		if (!k->rbuf && !(k->rbuf = malloc(READ_BUFFER)))
			return -1;
		n = read(k->fd, k->rbuf, READ_BUFFER);
		k->drained = n < READ_BUFFER;
		if (n > 0) {
			k->roff = 0;
			k->rlen = (uint32_t)n;
			return sock_read(b, buf, len);
		}
		rbuf_free(k);
	} else {
		n = read(k->fd, buf, (size_t)len);
		k->drained = n < len;
	}
	if (n < 0 && retryable(errno))
		BIO_set_retry_read(b);
	else if (n == 0)
		BIO_set_flags(b, BIO_FLAGS_IN_EOF);
	return (int)n;
}

static int
sock_puts(BIO *b, const char *s)
{
	size_t n = strlen(s);

	return sock_write(b, s, n > INT_MAX ? INT_MAX : (int)n);
}

static long
sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	switch (cmd) {
	case BIO_C_SET_FD:
		sock_of(b)->fd = *(int *)ptr;
		BIO_set_shutdown(b, (int)num);
		BIO_set_init(b, 1);
		return 1;
	case BIO_C_GET_FD:
		if (!BIO_get_init(b))
			return -1;
		if (ptr)
			*(int *)ptr = sock_of(b)->fd;
		return sock_of(b)->fd;
	case BIO_CTRL_PENDING:
		return (long)(sock_of(b)->rlen - sock_of(b)->roff);
	case BIO_CTRL_GET_CLOSE:
		return BIO_get_shutdown(b);
	case BIO_CTRL_SET_CLOSE:
		BIO_set_shutdown(b, (int)num);
		return 1;
	case BIO_CTRL_EOF:
		return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
	case BIO_CTRL_FLUSH:
	case BIO_CTRL_DUP:
		return 1;
	case BIO_CTRL_PUSH:
		/* a buffer pushed on top of us: OpenSSL's handshake buffer */
		if (ptr && BIO_method_type(ptr) == BIO_TYPE_BUFFER)
			BIO_set_write_buffer_size((BIO *)ptr, FLIGHT_BUFFER);
		return 0;
	default:
		return 0;
	}
}

static int
sock_create(BIO *b)
{
	struct sock *k = calloc(1, sizeof(*k));

	if (!k)
		return 0;
	k->fd = -1;
	BIO_set_data(b, k);
	return 1;
}

static int
sock_destroy(BIO *b)
{
	struct sock *k = sock_of(b);

	if (!k)
		return 1;
	if (BIO_get_shutdown(b) && BIO_get_init(b) && k->fd >= 0)
		close(k->fd);
	BIO_set_init(b, 0);
	rbuf_free(k);
	free(k);
	BIO_set_data(b, NULL);
	return 1;
}

static void
method_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK |
					     BIO_TYPE_DESCRIPTOR,
				     "nacre socket");

	if (m && BIO_meth_set_write(m, sock_write) &&
	    BIO_meth_set_read(m, sock_read) && BIO_meth_set_puts(m, sock_puts) &&
	    BIO_meth_set_ctrl(m, sock_ctrl) && BIO_meth_set_create(m, sock_create) &&
	    BIO_meth_set_destroy(m, sock_destroy)) {
		method = m;
		return;
	}
	BIO_meth_free(m);
}

/* A BIO on FD that does not close it; TCP: FD is a TCP socket (MSG_MORE
 * applies). NULL when out of memory. */
BIO *
nacre_sockbio_new(int fd, bool tcp)
{
	BIO *b;

	pthread_once(&method_once, method_init);
	if (!method || !(b = BIO_new(method)))
		return NULL;
	BIO_set_fd(b, fd, BIO_NOCLOSE);
	sock_of(b)->tcp = tcp;
	sock_of(b)->read_ahead = true;
	return b;
}

/* Writes on B carry MSG_MORE while MORE is set (B: nacre_sockbio_new; a
 * no-op unless on TCP). Clearing it does not push what is held: the next
 * write, FIN or close does. */
void
nacre_sockbio_more(BIO *b, bool more)
{
	sock_of(b)->more = more;
}

void
nacre_sockbio_read_ahead(BIO *b, bool on)
{
	sock_of(b)->read_ahead = on;
}

bool
nacre_sockbio_drained(BIO *b)
{
	return sock_of(b)->drained;
}

size_t
nacre_sockbio_take(BIO *b, unsigned char *out, size_t cap)
{
	return rbuf_give(sock_of(b), out, cap);
}
