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
 * The BIO's data is (fd << 2 | tcp << 1 | more), or -1 without an fd.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>

#include "nacred.h"

/* room for a flight with a large certificate; only while handshaking */
#define FLIGHT_BUFFER 16384

static BIO_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static int
fd_of(BIO *b)
{
	intptr_t v = (intptr_t)BIO_get_data(b);

	return v < 0 ? -1 : (int)(v >> 2);
}

static bool
tcp_of(BIO *b)
{
	intptr_t v = (intptr_t)BIO_get_data(b);

	return v >= 0 && (v & 2);
}

static bool
more_of(BIO *b)
{
	intptr_t v = (intptr_t)BIO_get_data(b);

	return v >= 0 && (v & 1);
}

/* no fd: -1; MORE only on TCP */
static void
set_data(BIO *b, int fd, bool tcp, bool more)
{
	intptr_t v = fd < 0 ? -1
			    : ((intptr_t)fd << 2) | (tcp ? 2 : 0) | (tcp && more ? 1 : 0);

	BIO_set_data(b, (void *)v);
}

static bool
retryable(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

static int
sock_write(BIO *b, const char *buf, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(b);
	n = send(fd_of(b), buf, (size_t)len,
		 MSG_NOSIGNAL | (more_of(b) ? MSG_MORE : 0));
	if (n < 0 && retryable(errno))
		BIO_set_retry_write(b);
	return (int)n;
}

static int
sock_read(BIO *b, char *buf, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(b);
	n = read(fd_of(b), buf, (size_t)len);
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
		set_data(b, *(int *)ptr, false, false);
		BIO_set_shutdown(b, (int)num);
		BIO_set_init(b, 1);
		return 1;
	case BIO_C_GET_FD:
		if (!BIO_get_init(b))
			return -1;
		if (ptr)
			*(int *)ptr = fd_of(b);
		return fd_of(b);
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
	set_data(b, -1, false, false);
	return 1;
}

static int
sock_destroy(BIO *b)
{
	int fd = fd_of(b);

	if (BIO_get_shutdown(b) && BIO_get_init(b) && fd >= 0)
		close(fd);
	BIO_set_init(b, 0);
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
	set_data(b, fd, tcp, false);
	return b;
}

/* Writes on B carry MSG_MORE while MORE is set (B: nacre_sockbio_new; a
 * no-op unless on TCP). Clearing it does not push what is held: the next
 * write, FIN or close does. */
void
nacre_sockbio_more(BIO *b, bool more)
{
	set_data(b, fd_of(b), tcp_of(b), more);
}
