/*
 * tlsclient.c: TLS test and load client for nacred (half-close, many
 * concurrent connections, stalled handshakes, idle connections, one request).
 * Nonblocking sockets under poll(). Deliberately self-contained (libssl,
 * libcrypto, libc only): the vsock test runs it inside a minimal QEMU guest.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#define PATTERN_PERIOD 251 /* byte i of a test stream is i % 251 (as upstream) */
#define CHUNK 16384
#define HEAD_CAP 8192

struct target {
	struct sockaddr_storage ss;
	socklen_t sslen;
	char text[160];
};

struct opts {
	const char *cmd;
	struct target to;
	bool have_to;
	const char *sni;          /* NULL: no SNI */
	unsigned char alpn[256];  /* wire format */
	unsigned alpn_len;
	int tls_version;          /* 0: any */
	unsigned char pre[2048];  /* bytes sent before TLS (PROXY header) */
	size_t pre_len;
	unsigned conns;
	uint64_t send_bytes;
	double hold;
	double timeout;
	char *request;
	unsigned char *raw;       /* stall: bytes to send after connect */
	size_t raw_len;
	bool partial_hello;
	bool quiet;
};

enum cstate { C_CONNECT, C_PRE, C_HANDSHAKE, C_READY, C_WRITE, C_SHUT,
	      C_READ, C_DONE, C_ERR };

/* what a connection does after its handshake */
enum job { JOB_HOLD, JOB_REQUEST, JOB_HALFCLOSE };

struct tconn {
	int fd;
	SSL *ssl;
	enum cstate st;
	enum job job;
	short want;              /* poll events wanted now */
	size_t pre_off;
	const char *req;         /* JOB_REQUEST */
	size_t req_len, req_off;
	uint64_t send_left, send_pos; /* JOB_HALFCLOSE: pattern bytes */
	EVP_MD_CTX *sent_sha;
	unsigned char wbuf[CHUNK];
	size_t wbuf_len;         /* pending SSL_write retry (same buffer) */
	char head[HEAD_CAP];     /* response head, or the whole half-close reply */
	size_t head_len;
	bool head_done, has_len, clean_eof;
	int status;
	uint64_t content_len, body;
	FILE *copy;              /* "get": every byte received is copied here */
	char err[256];
};

static struct opts o;
static SSL_CTX *ctx;
static unsigned char pattern[CHUNK + PATTERN_PERIOD];

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: tlsclient COMMAND --connect ADDR [options]\n"
	    "commands:\n"
	    "  half-close --send-bytes N   send N pattern bytes, close_notify +\n"
	    "                              SHUT_WR, print the reply (drain mode)\n"
	    "  concurrent --conns N [--request R]   N handshakes held at once,\n"
	    "                              then one request each; 'N ok, M errors'\n"
	    "  idle --conns N --hold S     N handshakes held open for S seconds\n"
	    "  get [--request R]           one request, response to stdout\n"
	    "  stall [--send TEXT|--send-hex HEX|--send-random N|--partial-hello]\n"
	    "                              plain TCP; seconds until the server closes\n"
	    "options: --sni NAME (default localhost; '' for none), --alpn a,b,\n"
	    "  --tls-version 1.2|1.3, --proxy-v2-src IP:PORT, --pre-hex HEX,\n"
	    "  --timeout S (default 30), -q\n"
	    "ADDR: tcp:HOST:PORT, unix:/path, vsock:CID:PORT\n"
	    "R: backslash escapes \\r \\n \\\\ are expanded\n");
	exit(2);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tlsclient: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- parsing ---- */

static bool
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static bool
parse_seconds(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < 0)
		return false;
	*out = v;
	return true;
}

/* "HOST:PORT" or "[V6]:PORT" -> sockaddr; HOST may be a name (localhost) */
static bool
parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host))
			return false;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = '\0';
		port = rb + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return false;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = colon + 1;
	}
	if (!*host || !*port || getaddrinfo(host, port, &hints, &res) != 0)
		return false;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}

static bool
parse_target(const char *s, struct target *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->text, sizeof(t->text), "%s", s);
	if (!strncmp(s, "tcp:", 4))
		return parse_hostport(s + 4, &t->ss, &t->sslen);
	if (!strncmp(s, "unix:", 5)) {
		struct sockaddr_un *un = (struct sockaddr_un *)&t->ss;
		if (!s[5] || strlen(s + 5) >= sizeof(un->sun_path))
			return false;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, s + 5);
		t->sslen = sizeof(*un);
		return true;
	}
	if (!strncmp(s, "vsock:", 6)) {
		struct sockaddr_vm *vm = (struct sockaddr_vm *)&t->ss;
		char cid[32];
		const char *colon = strchr(s + 6, ':');
		uint64_t c, p;
		if (!colon || (size_t)(colon - s - 6) >= sizeof(cid))
			return false;
		memcpy(cid, s + 6, (size_t)(colon - s - 6));
		cid[colon - s - 6] = '\0';
		if (!parse_u64(cid, &c) || !parse_u64(colon + 1, &p) ||
		    c > UINT32_MAX || p > UINT32_MAX)
			return false;
		vm->svm_family = AF_VSOCK;
		vm->svm_cid = (unsigned)c;
		vm->svm_port = (unsigned)p;
		t->sslen = sizeof(*vm);
		return true;
	}
	return false;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static size_t
parse_hex(const char *s, unsigned char *out, size_t cap)
{
	size_t n = 0;

	while (*s) {
		if (*s == ' ' || *s == ':') {
			s++;
			continue;
		}
		int hi = hexval(s[0]), lo = s[1] ? hexval(s[1]) : -1;
		if (hi < 0 || lo < 0 || n == cap)
			die("bad or too long hex string");
		out[n++] = (unsigned char)(hi << 4 | lo);
		s += 2;
	}
	return n;
}

static char *
unescape(const char *s)
{
	char *out = malloc(strlen(s) + 1), *p = out;

	if (!out)
		die("out of memory");
	for (; *s; s++) {
		if (*s != '\\' || !s[1]) {
			*p++ = *s;
			continue;
		}
		s++;
		*p++ = *s == 'r' ? '\r' : *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
	}
	*p = '\0';
	return out;
}

static void
parse_alpn(const char *s)
{
	while (*s) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		if (n == 0 || n > 255 || o.alpn_len + 1 + n > sizeof(o.alpn))
			die("bad --alpn list");
		o.alpn[o.alpn_len++] = (unsigned char)n;
		memcpy(o.alpn + o.alpn_len, s, n);
		o.alpn_len += (unsigned)n;
		s += n + (comma ? 1 : 0);
	}
}

/* PROXY v2 PROXY command, TCP over IPv4/IPv6: src from the option, dst from
 * --connect when it is the same family (else the zero address). */
static void
build_proxy_v2(const char *src_s)
{
	static const unsigned char sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
	struct sockaddr_storage src;
	socklen_t srclen;
	unsigned char *p = o.pre;

	if (!parse_hostport(src_s, &src, &srclen))
		die("bad --proxy-v2-src '%s' (want IP:PORT)", src_s);
	memcpy(p, sig, 12);
	p[12] = 0x21; /* version 2, PROXY */
	if (src.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&src, d4 = { 0 };
		if (o.have_to && o.to.ss.ss_family == AF_INET)
			d4 = *(struct sockaddr_in *)&o.to.ss;
		p[13] = 0x11;
		p[14] = 0;
		p[15] = 12;
		memcpy(p + 16, &s4->sin_addr, 4);
		memcpy(p + 20, &d4.sin_addr, 4);
		memcpy(p + 24, &s4->sin_port, 2);
		memcpy(p + 26, &d4.sin_port, 2);
		o.pre_len = 28;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&src, d6 = { 0 };
		if (o.have_to && o.to.ss.ss_family == AF_INET6)
			d6 = *(struct sockaddr_in6 *)&o.to.ss;
		p[13] = 0x21;
		p[14] = 0;
		p[15] = 36;
		memcpy(p + 16, &s6->sin6_addr, 16);
		memcpy(p + 32, &d6.sin6_addr, 16);
		memcpy(p + 48, &s6->sin6_port, 2);
		memcpy(p + 50, &d6.sin6_port, 2);
		o.pre_len = 52;
	}
}

static void
parse_args(int argc, char **argv)
{
	const char *pp2_src = NULL;

	if (argc < 2)
		usage();
	o.cmd = argv[1];
	o.sni = "localhost";
	o.timeout = 30;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;
		if (!strcmp(a, "-q")) {
			o.quiet = true;
			continue;
		}
		if (!strcmp(a, "--partial-hello")) {
			o.partial_hello = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--connect")) {
			if (!parse_target(v, &o.to))
				die("bad address '%s' (want tcp:HOST:PORT, "
				    "unix:/path or vsock:CID:PORT)", v);
			o.have_to = true;
		} else if (!strcmp(a, "--sni")) {
			o.sni = *v ? v : NULL;
		} else if (!strcmp(a, "--alpn")) {
			parse_alpn(v);
		} else if (!strcmp(a, "--tls-version")) {
			o.tls_version = !strcmp(v, "1.2") ? TLS1_2_VERSION
				      : !strcmp(v, "1.3") ? TLS1_3_VERSION : -1;
			if (o.tls_version < 0)
				die("--tls-version takes 1.2 or 1.3");
		} else if (!strcmp(a, "--proxy-v2-src")) {
			pp2_src = v;
		} else if (!strcmp(a, "--pre-hex")) {
			o.pre_len = parse_hex(v, o.pre, sizeof(o.pre));
		} else if (!strcmp(a, "--conns") && parse_u64(v, &n) && n > 0 &&
			   n <= 1000000) {
			o.conns = (unsigned)n;
		} else if (!strcmp(a, "--send-bytes") && parse_u64(v, &n)) {
			o.send_bytes = n;
		} else if (!strcmp(a, "--hold") && parse_seconds(v, &o.hold)) {
		} else if (!strcmp(a, "--timeout") && parse_seconds(v, &o.timeout)) {
		} else if (!strcmp(a, "--request")) {
			o.request = unescape(v);
		} else if (!strcmp(a, "--send")) {
			o.raw = (unsigned char *)unescape(v);
			o.raw_len = strlen((char *)o.raw);
		} else if (!strcmp(a, "--send-hex")) {
			o.raw = malloc(strlen(v) / 2 + 1);
			if (!o.raw)
				die("out of memory");
			o.raw_len = parse_hex(v, o.raw, strlen(v) / 2 + 1);
		} else if (!strcmp(a, "--send-random") && parse_u64(v, &n) &&
			   n <= 1 << 20) {
			o.raw = malloc(n ? n : 1);
			if (!o.raw || RAND_bytes(o.raw, (int)n) != 1)
				die("cannot make random bytes");
			o.raw_len = n;
		} else {
			usage();
		}
	}
	if (!o.have_to)
		die("--connect ADDR is required");
	if (pp2_src)
		build_proxy_v2(pp2_src); /* after --connect: it needs dst */
	if (!o.request)
		o.request = unescape("GET / HTTP/1.1\\r\\nHost: localhost\\r\\n"
				     "Connection: close\\r\\n\\r\\n");
}

/* ---- sockets and TLS ---- */

static void
raise_nofile(unsigned need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < (rlim_t)need + 16)
		die("need %u file descriptors, RLIMIT_NOFILE allows %llu", need + 16,
		    (unsigned long long)rl.rlim_cur);
}

static void
make_ctx(void)
{
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		die("SSL_CTX_new failed");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* self-signed server */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (o.tls_version) {
		SSL_CTX_set_min_proto_version(ctx, o.tls_version);
		SSL_CTX_set_max_proto_version(ctx, o.tls_version);
	}
	if (o.alpn_len && SSL_CTX_set_alpn_protos(ctx, o.alpn, o.alpn_len) != 0)
		die("SSL_CTX_set_alpn_protos failed");
}

static int
tcp_connect(void)
{
	int fd = socket(o.to.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&o.to.ss, o.to.sslen) < 0 &&
	    errno != EINPROGRESS && errno != EAGAIN) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void
fail(struct tconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(struct tconn *c, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	n = strlen(c->err);
	unsigned long e = ERR_get_error();
	if (e && n + 3 < sizeof(c->err)) {
		strcpy(c->err + n, ": ");
		ERR_error_string_n(e, c->err + n + 2, sizeof(c->err) - n - 2);
	}
	ERR_clear_error();
	c->st = C_ERR;
	c->want = 0;
}

/* maps an SSL result to "retry with these poll events" (>0) or failure (0) */
static short
ssl_retry(struct tconn *c, int r, const char *what)
{
	int e = SSL_get_error(c->ssl, r);

	if (e == SSL_ERROR_WANT_READ)
		return POLLIN;
	if (e == SSL_ERROR_WANT_WRITE)
		return POLLOUT;
	if (e == SSL_ERROR_ZERO_RETURN)
		fail(c, "%s: peer sent close_notify", what);
	else if (e == SSL_ERROR_SYSCALL)
		fail(c, "%s: %s", what, errno ? strerror(errno)
					       : "connection closed by peer");
	else
		fail(c, "%s: TLS error", what);
	return 0;
}

static void
conn_start(struct tconn *c, enum job job)
{
	memset(c, 0, sizeof(*c));
	c->job = job;
	c->fd = tcp_connect();
	if (c->fd < 0) {
		fail(c, "connect %s: %s", o.to.text, strerror(errno));
		c->fd = -1;
		return;
	}
	c->st = C_CONNECT;
	c->want = POLLOUT;
}

static void
conn_close(struct tconn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	EVP_MD_CTX_free(c->sent_sha);
	c->ssl = NULL;
	c->fd = -1;
	c->sent_sha = NULL;
}

static void
begin_tls(struct tconn *c)
{
	c->ssl = SSL_new(ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
		fail(c, "SSL_new failed");
		return;
	}
	if (o.sni)
		SSL_set_tlsext_host_name(c->ssl, o.sni);
	SSL_set_connect_state(c->ssl);
	c->st = C_HANDSHAKE;
	c->want = POLLOUT;
}

/* after the handshake: hold, or begin the job */
static void
after_handshake(struct tconn *c, bool go)
{
	c->st = C_READY;
	c->want = POLLIN; /* session tickets, or the server closing on us */
	if (!go)
		return;
	if (c->job == JOB_REQUEST) {
		c->req = o.request;
		c->req_len = strlen(o.request);
		c->st = C_WRITE;
		c->want = POLLOUT;
	} else if (c->job == JOB_HALFCLOSE) {
		c->sent_sha = EVP_MD_CTX_new();
		if (!c->sent_sha || !EVP_DigestInit_ex(c->sent_sha, EVP_sha256(), NULL)) {
			fail(c, "EVP_MD_CTX_new failed");
			return;
		}
		c->send_left = o.send_bytes;
		c->st = C_WRITE;
		c->want = POLLOUT;
	}
}

static void
parse_head(struct tconn *c)
{
	char *end = memmem(c->head, c->head_len, "\r\n\r\n", 4), *p;

	if (!end)
		return;
	*end = '\0';
	c->head_done = true;
	c->body = c->head_len - (size_t)(end + 4 - c->head);
	if (sscanf(c->head, "HTTP/1.%*c %d", &c->status) != 1)
		c->status = -1;
	for (p = strstr(c->head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		if (!strncasecmp(p + 2, "Content-Length:", 15)) {
			c->has_len = true;
			c->content_len = strtoull(p + 17, NULL, 10);
		}
	}
	*end = '\r';
	/* a 100 Continue is followed by the real response */
	if (c->status == 100) {
		size_t rest = c->head_len - (size_t)(end + 4 - c->head);
		memmove(c->head, end + 4, rest);
		c->head_len = rest;
		c->head_done = false;
		c->has_len = false;
		parse_head(c);
	}
}

static bool
response_complete(const struct tconn *c)
{
	return c->job == JOB_REQUEST && c->head_done && c->has_len &&
	       c->body >= c->content_len;
}

static void
on_data(struct tconn *c, const unsigned char *p, size_t n)
{
	if (c->copy)
		fwrite(p, 1, n, c->copy);
	if (c->job == JOB_REQUEST && c->head_done) {
		c->body += n;
		return;
	}
	size_t k = n < HEAD_CAP - 1 - c->head_len ? n : HEAD_CAP - 1 - c->head_len;
	memcpy(c->head + c->head_len, p, k);
	c->head_len += k;
	c->head[c->head_len] = '\0';
	if (c->job == JOB_REQUEST) {
		parse_head(c);
		if (c->head_done)
			c->body += n - k; /* body bytes past the head buffer */
		else if (c->head_len == HEAD_CAP - 1)
			fail(c, "response head larger than %d bytes", HEAD_CAP);
	}
}

static void
step_write(struct tconn *c)
{
	for (;;) {
		if (!c->wbuf_len) {
			if (c->job == JOB_REQUEST) {
				size_t k = c->req_len - c->req_off;
				if (k > CHUNK)
					k = CHUNK;
				memcpy(c->wbuf, c->req + c->req_off, k);
				c->req_off += k;
				c->wbuf_len = k;
			} else {
				size_t k = c->send_left < CHUNK ? (size_t)c->send_left
								: CHUNK;
				memcpy(c->wbuf, pattern + c->send_pos % PATTERN_PERIOD, k);
				EVP_DigestUpdate(c->sent_sha, c->wbuf, k);
				c->send_pos += k;
				c->send_left -= k;
				c->wbuf_len = k;
			}
		}
		if (!c->wbuf_len)
			break;
		int r = SSL_write(c->ssl, c->wbuf, (int)c->wbuf_len);
		if (r <= 0) {
			c->want = ssl_retry(c, r, "write");
			return;
		}
		/* partial writes: keep the rest at the front of wbuf */
		memmove(c->wbuf, c->wbuf + r, c->wbuf_len - (size_t)r);
		c->wbuf_len -= (size_t)r;
	}
	c->st = c->job == JOB_HALFCLOSE ? C_SHUT : C_READ;
	c->want = c->job == JOB_HALFCLOSE ? POLLOUT : POLLIN;
}

static void
step_shut(struct tconn *c)
{
	int r = SSL_shutdown(c->ssl); /* 0: close_notify sent, peer's not seen */

	if (r < 0) {
		c->want = ssl_retry(c, r, "SSL_shutdown");
		return;
	}
	if (shutdown(c->fd, SHUT_WR) < 0) {
		fail(c, "shutdown(SHUT_WR): %s", strerror(errno));
		return;
	}
	c->st = C_READ;
	c->want = POLLIN;
}

static void
step_read(struct tconn *c)
{
	unsigned char buf[CHUNK];

	for (;;) {
		errno = 0; /* SSL_ERROR_SYSCALL with errno 0 means EOF */
		int r = SSL_read(c->ssl, buf, sizeof(buf));
		if (r > 0) {
			on_data(c, buf, (size_t)r);
			if (c->st == C_ERR)
				return;
			if (response_complete(c)) {
				c->st = C_DONE;
				c->want = 0;
				return;
			}
			continue;
		}
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ) {
			c->want = POLLIN;
			return;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			c->want = POLLOUT;
			return;
		}
		if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !errno) ||
		    (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) ==
			SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
			c->clean_eof = e == SSL_ERROR_ZERO_RETURN;
			ERR_clear_error();
			if (c->job == JOB_REQUEST && !c->head_done) {
				fail(c, "connection closed before a response");
				return;
			}
			if (c->job == JOB_REQUEST && c->has_len &&
			    c->body < c->content_len) {
				fail(c, "connection closed after %" PRIu64 " of %"
				     PRIu64 " body bytes", c->body, c->content_len);
				return;
			}
			c->st = C_DONE;
			c->want = 0;
			return;
		}
		ssl_retry(c, r, "read");
		return;
	}
}

/* a connection held after its handshake: drain tickets, notice a close */
static void
step_ready(struct tconn *c)
{
	unsigned char buf[512];
	int r = SSL_read(c->ssl, buf, sizeof(buf));

	if (r > 0) {
		fail(c, "unexpected %d bytes from the server while idle", r);
		return;
	}
	short w = ssl_retry(c, r, "idle");
	if (w)
		c->want = POLLIN; /* keep waiting */
}

static void
step(struct tconn *c, bool go)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	switch (c->st) {
	case C_CONNECT:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
			fail(c, "connect %s: %s", o.to.text, strerror(soerr ? soerr : errno));
			return;
		}
		c->st = o.pre_len ? C_PRE : C_HANDSHAKE;
		if (c->st == C_HANDSHAKE)
			begin_tls(c);
		else
			c->want = POLLOUT;
		if (c->st != C_PRE)
			break;
		/* fallthrough */
	case C_PRE: {
		ssize_t n = send(c->fd, o.pre + c->pre_off, o.pre_len - c->pre_off,
				 MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN) {
			fail(c, "send PROXY header: %s", strerror(errno));
			return;
		}
		if (n > 0)
			c->pre_off += (size_t)n;
		if (c->pre_off == o.pre_len)
			begin_tls(c);
		break;
	}
	case C_HANDSHAKE: {
		int r = SSL_do_handshake(c->ssl);
		if (r == 1)
			after_handshake(c, go);
		else
			c->want = ssl_retry(c, r, "handshake");
		break;
	}
	case C_READY:
		step_ready(c);
		break;
	case C_WRITE:
		step_write(c);
		break;
	case C_SHUT:
		step_shut(c);
		break;
	case C_READ:
		step_read(c);
		break;
	case C_DONE:
	case C_ERR:
		break;
	}
}

static bool
active(const struct tconn *c, bool ready_is_done)
{
	if (c->st == C_DONE || c->st == C_ERR)
		return false;
	return !(ready_is_done && c->st == C_READY);
}

/*
 * Drives every connection until none is active or the deadline passes.
 * ready_is_done: stop at the handshake barrier (connections stay in C_READY).
 * go: a connection that finishes its handshake starts its job at once.
 * Returns the number of connections still active at the deadline.
 */
static unsigned
drive(struct tconn *cs, unsigned n, double deadline, bool ready_is_done, bool go)
{
	struct pollfd *pf = calloc(n, sizeof(*pf));
	unsigned *idx = calloc(n, sizeof(*idx));
	unsigned left = 0;

	if (!pf || !idx)
		die("out of memory");
	for (;;) {
		unsigned np = 0;
		for (unsigned i = 0; i < n; i++) {
			if (!active(&cs[i], ready_is_done))
				continue;
			pf[np] = (struct pollfd){ .fd = cs[i].fd, .events = cs[i].want };
			idx[np++] = i;
		}
		left = np;
		if (np == 0)
			break;
		double t = deadline - now();
		if (t <= 0)
			break;
		int r = poll(pf, np, t > 1 ? 1000 : (int)(t * 1000) + 1);
		if (r < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (unsigned k = 0; r > 0 && k < np; k++)
			if (pf[k].revents)
				step(&cs[idx[k]], go);
	}
	free(pf);
	free(idx);
	return left;
}

static void
init_pattern(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (unsigned char)(i % PATTERN_PERIOD);
}

static void
timeout_all(struct tconn *cs, unsigned n, const char *phase)
{
	for (unsigned i = 0; i < n; i++)
		if (cs[i].st != C_DONE && cs[i].st != C_ERR && cs[i].st != C_READY)
			fail(&cs[i], "timed out in %s (state %d)", phase, cs[i].st);
}

/* ---- commands ---- */

static int
report_errors(struct tconn *cs, unsigned n, unsigned *errs)
{
	unsigned shown = 0;

	*errs = 0;
	for (unsigned i = 0; i < n; i++) {
		if (cs[i].st != C_ERR)
			continue;
		(*errs)++;
		if (shown++ < 5)
			fprintf(stderr, "tlsclient: conn %u: %s\n", i, cs[i].err);
	}
	return *errs ? 1 : 0;
}

static int
cmd_concurrent(void)
{
	unsigned n = o.conns ? o.conns : 100, ok = 0, errs;
	struct tconn *cs = calloc(n, sizeof(*cs));
	double t0 = now(), deadline = t0 + o.timeout;

	if (!cs)
		die("out of memory");
	raise_nofile(n);
	for (unsigned i = 0; i < n; i++)
		conn_start(&cs[i], JOB_REQUEST);
	drive(cs, n, deadline, true, false);
	timeout_all(cs, n, "handshake");
	double t1 = now();
	for (unsigned i = 0; i < n; i++) /* barrier passed: every request now */
		if (cs[i].st == C_READY)
			after_handshake(&cs[i], true);
	drive(cs, n, deadline, false, true);
	timeout_all(cs, n, "request");
	for (unsigned i = 0; i < n; i++) {
		if (cs[i].st == C_DONE && cs[i].status != 200)
			fail(&cs[i], "HTTP status %d", cs[i].status);
		if (cs[i].st == C_DONE)
			ok++;
	}
	report_errors(cs, n, &errs);
	if (!o.quiet)
		fprintf(stderr, "tlsclient: %u handshakes in %.2f s, requests in "
			"%.2f s\n", n, t1 - t0, now() - t1);
	printf("%u ok, %u errors\n", ok, errs);
	for (unsigned i = 0; i < n; i++)
		conn_close(&cs[i]);
	free(cs);
	return errs ? 1 : 0;
}

static volatile sig_atomic_t stop_idle;

static void
on_stop(int sig)
{
	(void)sig;
	stop_idle = 1;
}

static int
cmd_idle(void)
{
	unsigned n = o.conns ? o.conns : 1, errs;
	struct tconn *cs = calloc(n, sizeof(*cs));
	double deadline = now() + o.timeout;
	struct sigaction sa = { .sa_handler = on_stop };

	if (!cs)
		die("out of memory");
	raise_nofile(n);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (unsigned i = 0; i < n; i++)
		conn_start(&cs[i], JOB_HOLD);
	drive(cs, n, deadline, true, false);
	timeout_all(cs, n, "handshake");
	if (report_errors(cs, n, &errs)) {
		printf("%u errors during handshakes\n", errs);
		return 1;
	}
	printf("ready %u\n", n);
	fflush(stdout);
	/* hold: the connections stay in C_READY, drive watches for closes;
	 * stop early only once the server has closed every one of them */
	double end = now() + o.hold;
	while (!stop_idle && now() < end) {
		double t = end - now();
		if (drive(cs, n, now() + (t < 0.2 ? t : 0.2), false, false) == 0)
			break;
	}
	report_errors(cs, n, &errs);
	printf("held %u, %u closed early\n", n - errs, errs);
	for (unsigned i = 0; i < n; i++)
		conn_close(&cs[i]);
	free(cs);
	return errs ? 1 : 0;
}

static int
cmd_get(void)
{
	struct tconn c;

	conn_start(&c, JOB_REQUEST);
	c.copy = stdout;
	drive(&c, 1, now() + o.timeout, false, true);
	timeout_all(&c, 1, "get");
	fflush(stdout);
	if (c.st == C_ERR)
		fprintf(stderr, "tlsclient: %s\n", c.err);
	conn_close(&c);
	return c.st == C_DONE ? 0 : 1;
}

static int
cmd_half_close(void)
{
	struct tconn c;
	unsigned char md[32];
	char want[128], hexs[65];
	unsigned mdlen = 0;
	int rc = 1;

	conn_start(&c, JOB_HALFCLOSE);
	drive(&c, 1, now() + o.timeout, false, true);
	timeout_all(&c, 1, "half-close");
	if (c.st == C_ERR) {
		fprintf(stderr, "tlsclient: %s\n", c.err);
		if (c.head_len)
			printf("%s", c.head);
		conn_close(&c);
		return 1;
	}
	EVP_DigestFinal_ex(c.sent_sha, md, &mdlen);
	for (int i = 0; i < 32; i++)
		snprintf(hexs + 2 * i, 3, "%02x", md[i]);
	snprintf(want, sizeof(want), "%" PRIu64 " %s\n", o.send_bytes, hexs);
	printf("%s", c.head);
	if (!strcmp(c.head, want)) {
		rc = 0;
	} else {
		fprintf(stderr, "tlsclient: expected: %s", want);
	}
	if (!o.quiet)
		fprintf(stderr, "tlsclient: reply ended with %s\n",
			c.clean_eof ? "close_notify" : "TCP EOF without close_notify");
	conn_close(&c);
	return rc;
}

/* a ClientHello record header announcing 512 bytes, and only a few of them */
static const unsigned char partial_hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00,
					       0x01, 0x00, 0x01, 0xfc, 0x03, 0x03 };

static int
cmd_stall(void)
{
	double t0 = now(), deadline = t0 + o.timeout;
	unsigned char buf[4096];
	size_t got = 0, off = 0;
	const unsigned char *data = o.raw;
	size_t len = o.raw_len;
	struct pollfd pf;
	bool sent_pre = o.pre_len == 0;

	if (o.partial_hello) {
		data = partial_hello;
		len = sizeof(partial_hello);
	}
	int fd = tcp_connect();
	if (fd < 0)
		die("connect %s: %s", o.to.text, strerror(errno));
	/* a refused connection is not "closed by the server": exit 2 */
	pf = (struct pollfd){ .fd = fd, .events = POLLOUT };
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (poll(&pf, 1, (int)(o.timeout * 1000)) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr)
		die("connect %s: %s", o.to.text,
		    soerr ? strerror(soerr) : "timed out");
	for (;;) {
		double t = deadline - now();
		if (t <= 0) {
			printf("not closed after %.3f s\n", now() - t0);
			close(fd);
			return 1;
		}
		pf.events = POLLIN | (!sent_pre || off < len ? POLLOUT : 0);
		if (poll(&pf, 1, (int)(t * 1000) + 1) <= 0)
			continue;
		if (pf.revents & POLLOUT) {
			const unsigned char *p = sent_pre ? data + off : o.pre;
			size_t k = sent_pre ? len - off : o.pre_len;
			ssize_t n = send(fd, p, k, MSG_NOSIGNAL);
			if (n > 0 && !sent_pre && (size_t)n == o.pre_len)
				sent_pre = true;
			else if (n > 0 && sent_pre)
				off += (size_t)n;
			/* errors show up on the read side */
		}
		if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			if (n > 0) {
				got += (size_t)n;
				continue;
			}
			if (n < 0 && errno == EAGAIN)
				continue;
			printf("closed after %.3f s (%s, %zu bytes received)\n",
			       now() - t0, n == 0 ? "EOF" : strerror(errno), got);
			close(fd);
			return 0;
		}
	}
}

int
main(int argc, char **argv)
{
	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	init_pattern();
	if (!strcmp(o.cmd, "stall"))
		return cmd_stall();
	make_ctx();
	int rc;
	if (!strcmp(o.cmd, "concurrent"))
		rc = cmd_concurrent();
	else if (!strcmp(o.cmd, "idle"))
		rc = cmd_idle();
	else if (!strcmp(o.cmd, "get"))
		rc = cmd_get();
	else if (!strcmp(o.cmd, "half-close"))
		rc = cmd_half_close();
	else
		usage();
	SSL_CTX_free(ctx);
	free(o.request);
	return rc;
}
