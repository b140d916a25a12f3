/*
 * upstream.c: the demo app behind nacred and the e2e tests' upstream. One
 * poll() loop, nonblocking sockets, thousands of connections; modes http
 * (a tiny keep-alive HTTP/1.1 app), echo and drain (count + sha256 at EOF).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>

#include "nacred.h"

#define IN_CAP 16384
#define OUT_CAP 65536
#define PATTERN_PERIOD 251 /* prime: chunk boundaries never line up with it */

enum mode { MODE_HTTP, MODE_ECHO, MODE_DRAIN };
enum http_state { HTTP_HEAD, HTTP_BODY };

struct conn {
	int fd;
	bool pp2_pending;   /* --proxy-v2: header not yet received */
	char *pp2_text;     /* what GET /proxy answers */
	uint8_t *in;        /* IN_CAP bytes; malloc, not calloc: an idle */
	size_t inlen;       /* connection touches only a page or two */
	uint8_t *out;       /* OUT_CAP bytes */
	size_t outlen, outoff;
	bool peer_eof;
	bool close_after;   /* close once the output is flushed */
	bool closed;
	enum http_state state;
	uint64_t body_left; /* request body bytes still to hash */
	uint64_t gen_left;  /* /bytes/N response bytes still to produce */
	uint64_t gen_pos;
	uint64_t count;     /* drain mode */
	EVP_MD_CTX *sha;
};

static enum mode mode = MODE_HTTP;
static bool want_pp2;
static bool verbose;
static const char *app_name = "app";
static volatile sig_atomic_t stopping;
static uint8_t pattern[OUT_CAP + PATTERN_PERIOD];

static struct conn **conns;
static size_t nconns, conns_cap;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: upstream --listen ADDR [--mode http|echo|drain] [--proxy-v2]\n"
	    "                [--name NAME] [-v]\n"
	    "       upstream --pattern N   (write the N-byte test pattern to stdout)\n"
	    "ADDR: tcp:HOST:PORT, unix:/path, vsock:CID:PORT (vsock:any:PORT)\n"
	    "http: GET / | /name | /bytes/N | /proxy, POST or PUT /sha256\n");
	exit(2);
}

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
pattern_init(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i % PATTERN_PERIOD);
}

/* byte i of every test stream is i % 251; tlsclient uses the same rule */
static void
pattern_fill(uint8_t *dst, size_t n, uint64_t pos)
{
	memcpy(dst, pattern + pos % PATTERN_PERIOD, n);
}

static int
write_pattern(uint64_t n)
{
	static uint8_t buf[OUT_CAP];
	uint64_t pos = 0;

	while (pos < n) {
		size_t k = n - pos < sizeof(buf) ? (size_t)(n - pos) : sizeof(buf);
		pattern_fill(buf, k, pos);
		if (fwrite(buf, 1, k, stdout) != k)
			return 1;
		pos += k;
	}
	return fflush(stdout) != 0;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
listen_on(const struct nacre_addr *a)
{
	int one = 1;
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		fprintf(stderr, "upstream: socket: %s\n", strerror(errno));
		return -1;
	}
	if (a->kind == NACRE_ADDR_UNIX) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)&a->ss;
		if (un->sun_path[0])
			unlink(un->sun_path); /* a stale socket from an earlier run */
	}
	if (a->kind == NACRE_ADDR_TCP)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->sslen) < 0 ||
	    listen(fd, 4096) < 0) {
		fprintf(stderr, "upstream: bind/listen %s: %s\n", a->text,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static struct conn *
conn_new(int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->pp2_pending = want_pp2;
	c->in = malloc(IN_CAP);
	c->out = malloc(OUT_CAP);
	c->sha = EVP_MD_CTX_new();
	if (!c->in || !c->out || !c->sha ||
	    (mode == MODE_DRAIN && !EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL)))
		goto fail;
	if (nconns == conns_cap) {
		size_t ncap = conns_cap ? conns_cap * 2 : 256;
		struct conn **n = realloc(conns, ncap * sizeof(*n));
		if (!n)
			goto fail;
		conns = n;
		conns_cap = ncap;
	}
	conns[nconns++] = c;
	return c;
fail:
	EVP_MD_CTX_free(c->sha);
	free(c->in);
	free(c->out);
	free(c);
	return NULL;
}

static void
conn_free(struct conn *c)
{
	close(c->fd);
	EVP_MD_CTX_free(c->sha);
	free(c->pp2_text);
	free(c->in);
	free(c->out);
	free(c);
}

static void
accept_all(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				fprintf(stderr, "upstream: accept: %s\n",
					strerror(errno));
			return;
		}
		if (!conn_new(fd)) {
			fprintf(stderr, "upstream: out of memory\n");
			close(fd);
		}
	}
}

static size_t
out_space(const struct conn *c)
{
	return OUT_CAP - c->outlen;
}

/* append to the output buffer; callers only queue small, bounded text */
static void
out_add(struct conn *c, const void *p, size_t n)
{
	if (n > out_space(c)) {
		fprintf(stderr, "upstream: output overflow, closing\n");
		c->closed = true;
		return;
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
}

static void
consume_in(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->inlen - n);
	c->inlen -= n;
}

static void
hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
sha_final_hex(struct conn *c, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_DigestFinal_ex(c->sha, md, &mdlen);
	hex(md, 32, out);
}

/* ---- PROXY v2 ---- */

static int
appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
appendf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= cap)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	*len += (size_t)n < cap - *len ? (size_t)n : cap - *len - 1;
	return 0;
}

static void
describe_ssl_tlv(const struct nacre_pp2_tlv *t, char *buf, size_t cap,
		 size_t *len)
{
	static const struct { uint8_t type; const char *name; } subs[] = {
		{ NACRE_PP2_SUBTYPE_SSL_VERSION, "tls_version" },
		{ NACRE_PP2_SUBTYPE_SSL_CN, "tls_cn" },
		{ NACRE_PP2_SUBTYPE_SSL_CIPHER, "tls_cipher" },
		{ NACRE_PP2_SUBTYPE_SSL_SIG_ALG, "tls_sig_alg" },
		{ NACRE_PP2_SUBTYPE_SSL_KEY_ALG, "tls_key_alg" },
	};
	const uint8_t *p = t->value;
	size_t left = t->len;

	if (left < 5) {
		appendf(buf, cap, len, "tls malformed\n");
		return;
	}
	appendf(buf, cap, len, "tls_client 0x%02x\ntls_verify %u\n", p[0],
		(unsigned)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
			   (uint32_t)p[3] << 8 | p[4]));
	p += 5;
	left -= 5;
	while (left >= 3) {
		uint8_t type = p[0];
		size_t n = (size_t)p[1] << 8 | p[2];
		const char *name = NULL;
		if (n > left - 3) {
			appendf(buf, cap, len, "tls sub-TLV overflows\n");
			return;
		}
		for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
			if (subs[i].type == type)
				name = subs[i].name;
		if (name)
			appendf(buf, cap, len, "%s %.*s\n", name, (int)n,
				(const char *)p + 3);
		else
			appendf(buf, cap, len, "tls_tlv 0x%02x len %zu\n",
				type, n);
		p += 3 + n;
		left -= 3 + n;
	}
}

static char *
describe_pp2(const struct nacre_pp2_info *info)
{
	char buf[2048], a[160];
	size_t len = 0;

	if (info->local)
		return strdup("local\n");
	if (info->family == AF_UNSPEC) {
		appendf(buf, sizeof(buf), &len, "src unknown\ndst unknown\n");
	} else {
		nacre_sockaddr_str((const struct sockaddr *)&info->src,
				   info->srclen, a, sizeof(a));
		appendf(buf, sizeof(buf), &len, "src %s\n", a);
		nacre_sockaddr_str((const struct sockaddr *)&info->dst,
				   info->dstlen, a, sizeof(a));
		appendf(buf, sizeof(buf), &len, "dst %s\n", a);
	}
	for (size_t i = 0; i < info->ntlvs; i++) {
		const struct nacre_pp2_tlv *t = &info->tlvs[i];
		switch (t->type) {
		case NACRE_PP2_TYPE_ALPN:
			appendf(buf, sizeof(buf), &len, "alpn %.*s\n",
				(int)t->len, (const char *)t->value);
			break;
		case NACRE_PP2_TYPE_AUTHORITY:
			appendf(buf, sizeof(buf), &len, "authority %.*s\n",
				(int)t->len, (const char *)t->value);
			break;
		case NACRE_PP2_TYPE_SSL:
			describe_ssl_tlv(t, buf, sizeof(buf), &len);
			break;
		default:
			appendf(buf, sizeof(buf), &len, "tlv 0x%02x len %u\n",
				t->type, t->len);
		}
	}
	return strdup(buf);
}

/* returns false when the connection must close */
static bool
pp2_progress(struct conn *c)
{
	struct nacre_pp2_info info;
	const char *err = NULL;
	ssize_t n = nacre_pp2_parse(c->in, c->inlen, &info, &err);

	if (n < 0) {
		fprintf(stderr, "upstream: bad PROXY v2 header: %s\n",
			err ? err : "?");
		return false;
	}
	if (n == 0) {
		if (c->peer_eof || c->inlen == IN_CAP) {
			fprintf(stderr, "upstream: connection %s before a "
				"complete PROXY v2 header\n",
				c->peer_eof ? "ended" : "overflowed");
			return false;
		}
		return true;
	}
	c->pp2_text = describe_pp2(&info);
	if (verbose)
		fprintf(stderr, "upstream: PROXY v2: %s", c->pp2_text);
	consume_in(c, (size_t)n);
	c->pp2_pending = false;
	return true;
}

/* ---- http mode ---- */

static void
respond(struct conn *c, int status, const char *reason, const char *body,
	uint64_t body_len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
		 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
		 "Content-Length: %" PRIu64 "\r\n%s\r\n",
		 status, reason,
		 body ? "text/plain" : "application/octet-stream", body_len,
		 c->close_after ? "Connection: close\r\n" : "");

	out_add(c, head, (size_t)n);
	if (body)
		out_add(c, body, body_len);
	else
		c->gen_left = body_len;
	c->gen_pos = 0;
}

static void
respond_text(struct conn *c, int status, const char *reason, const char *text)
{
	respond(c, status, reason, text, strlen(text));
}

/* header value for name (case-insensitive) within head, copied to out */
static bool
header_value(const char *head, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	const char *line = strstr(head, "\r\n");

	while (line && line[2] != '\r' && line[2] != '\0') {
		line += 2;
		const char *eol = strstr(line, "\r\n");
		if (!eol)
			return false;
		if ((size_t)(eol - line) > nlen && line[nlen] == ':' &&
		    strncasecmp(line, name, nlen) == 0) {
			const char *v = line + nlen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t vlen = (size_t)(eol - v);
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= cap)
				vlen = cap - 1;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return true;
		}
		line = eol;
	}
	return false;
}

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

static void
route(struct conn *c, const char *method, const char *path, const char *head,
      bool has_len, uint64_t clen)
{
	uint64_t n;
	char v[64];

	if ((!strcmp(method, "POST") || !strcmp(method, "PUT")) &&
	    !strcmp(path, "/sha256")) {
		if (!has_len) {
			c->close_after = true;
			respond_text(c, 411, "Length Required",
				     "Content-Length required\n");
			return;
		}
		if (header_value(head, "Expect", v, sizeof(v)) &&
		    !strcasecmp(v, "100-continue"))
			out_add(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL);
		c->body_left = clen;
		c->state = HTTP_BODY;
		return;
	}
	if (has_len && clen > 0) { /* a body we do not want: refuse, close */
		c->close_after = true;
		respond_text(c, 400, "Bad Request", "unexpected body\n");
		return;
	}
	if (strcmp(method, "GET")) {
		respond_text(c, 405, "Method Not Allowed", "GET only here\n");
	} else if (!strcmp(path, "/")) {
		respond_text(c, 200, "OK", "hello from the enclave app\n");
	} else if (!strcmp(path, "/name")) {
		char body[160];
		snprintf(body, sizeof(body), "%s\n", app_name);
		respond_text(c, 200, "OK", body);
	} else if (!strncmp(path, "/bytes/", 7) && parse_u64(path + 7, &n)) {
		respond(c, 200, "OK", NULL, n);
	} else if (!strcmp(path, "/proxy")) {
		respond_text(c, 200, "OK", c->pp2_text ? c->pp2_text : "none\n");
	} else {
		respond_text(c, 404, "Not Found", "not found\n");
	}
}

/* parse one complete request head at c->in (len bytes incl. CRLFCRLF) */
static void
http_request(struct conn *c, size_t len)
{
	char head[IN_CAP + 1], method[16], path[1024], conn_hdr[64], v[64];
	uint64_t clen = 0;
	bool has_len;

	memcpy(head, c->in, len);
	head[len] = '\0';
	consume_in(c, len);
	if (sscanf(head, "%15s %1023s HTTP/1.%*c", method, path) != 2) {
		c->close_after = true;
		respond_text(c, 400, "Bad Request", "bad request line\n");
		return;
	}
	if (header_value(head, "Connection", conn_hdr, sizeof(conn_hdr)) &&
	    !strcasecmp(conn_hdr, "close"))
		c->close_after = true;
	if (header_value(head, "Transfer-Encoding", v, sizeof(v))) {
		c->close_after = true;
		respond_text(c, 501, "Not Implemented",
			     "send Content-Length, not chunked\n");
		return;
	}
	has_len = header_value(head, "Content-Length", v, sizeof(v));
	if (has_len && !parse_u64(v, &clen)) {
		c->close_after = true;
		respond_text(c, 400, "Bad Request", "bad Content-Length\n");
		return;
	}
	route(c, method, path, head, has_len, clen);
}

static bool
response_pending(const struct conn *c)
{
	return c->outoff < c->outlen || c->gen_left > 0;
}

static void
http_progress(struct conn *c)
{
	for (;;) {
		if (c->state == HTTP_BODY) {
			size_t k = c->inlen < c->body_left ? c->inlen
							   : (size_t)c->body_left;
			EVP_DigestUpdate(c->sha, c->in, k);
			consume_in(c, k);
			c->body_left -= k;
			if (c->body_left > 0) {
				if (c->peer_eof)
					c->closed = true; /* body cut short */
				return;
			}
			char body[66];
			sha_final_hex(c, body);
			strcat(body, "\n");
			c->state = HTTP_HEAD;
			respond_text(c, 200, "OK", body);
		}
		/* one response at a time: pipelined requests wait in c->in */
		if (response_pending(c) || c->close_after)
			return;
		uint8_t *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
		if (!end) {
			if (c->inlen == IN_CAP) {
				c->close_after = true;
				respond_text(c, 431, "Request Header Fields Too Large",
					     "request head too large\n");
			} else if (c->peer_eof) {
				c->closed = true;
			}
			return;
		}
		http_request(c, (size_t)(end - c->in) + 4);
	}
}

/* ---- echo / drain ---- */

static void
drain_progress(struct conn *c)
{
	if (c->inlen) {
		EVP_DigestUpdate(c->sha, c->in, c->inlen);
		c->count += c->inlen;
		c->inlen = 0;
	}
	if (c->peer_eof && !c->close_after) {
		char hexs[65], line[128];
		sha_final_hex(c, hexs);
		int n = snprintf(line, sizeof(line), "%" PRIu64 " %s\n",
				 c->count, hexs);
		out_add(c, line, (size_t)n);
		c->close_after = true;
	}
}

static void
echo_progress(struct conn *c)
{
	size_t k = c->inlen < out_space(c) ? c->inlen : out_space(c);

	out_add(c, c->in, k);
	consume_in(c, k);
	if (c->peer_eof && c->inlen == 0)
		c->close_after = true;
}

static void
progress(struct conn *c)
{
	if (c->pp2_pending && !pp2_progress(c)) {
		c->closed = true;
		return;
	}
	if (c->pp2_pending)
		return;
	if (mode == MODE_HTTP)
		http_progress(c);
	else if (mode == MODE_DRAIN)
		drain_progress(c);
	else
		echo_progress(c);
}

static bool
want_read(const struct conn *c)
{
	if (c->peer_eof || c->inlen == IN_CAP)
		return false;
	if (mode == MODE_ECHO)
		return out_space(c) > 0; /* backpressure */
	/* after "Connection: close" only the rest of the body is read */
	return !c->close_after || c->state == HTTP_BODY;
}

static bool
want_write(const struct conn *c)
{
	return response_pending(c);
}

static void
do_read(struct conn *c)
{
	ssize_t n = read(c->fd, c->in + c->inlen, IN_CAP - c->inlen);

	if (n > 0) {
		c->inlen += (size_t)n;
	} else if (n == 0) {
		c->peer_eof = true;
	} else if (errno != EAGAIN && errno != EINTR) {
		if (verbose)
			fprintf(stderr, "upstream: read: %s\n", strerror(errno));
		c->closed = true;
	}
}

static void
do_write(struct conn *c)
{
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		if (c->gen_left) { /* stream /bytes/N in buffer-sized chunks */
			size_t k = c->gen_left < OUT_CAP ? (size_t)c->gen_left
							 : OUT_CAP;
			pattern_fill(c->out, k, c->gen_pos);
			c->gen_pos += k;
			c->gen_left -= k;
			c->outlen = k;
		}
	}
	ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
			 MSG_NOSIGNAL);
	if (n >= 0) {
		c->outoff += (size_t)n;
		if (c->outoff == c->outlen)
			c->outoff = c->outlen = 0;
	} else if (errno != EAGAIN && errno != EINTR) {
		if (verbose)
			fprintf(stderr, "upstream: write: %s\n", strerror(errno));
		c->closed = true;
	}
}

static void
handle(struct conn *c, short revents)
{
	if (revents & (POLLIN | POLLHUP | POLLERR))
		if (want_read(c))
			do_read(c);
	if (!c->closed)
		progress(c);
	if (!c->closed && (revents & (POLLOUT | POLLERR)) && want_write(c))
		do_write(c);
	if (!c->closed && !response_pending(c)) {
		progress(c); /* the next pipelined request, if any */
		if (c->close_after && !response_pending(c) &&
		    c->state != HTTP_BODY)
			c->closed = true;
	}
	/* a peer that hung up on us with nothing left to read */
	if (!c->closed && (revents & POLLHUP) && !want_read(c) &&
	    !want_write(c) && c->peer_eof)
		c->closed = true;
}

static void
reap(void)
{
	size_t j = 0;

	for (size_t i = 0; i < nconns; i++) {
		if (conns[i]->closed)
			conn_free(conns[i]);
		else
			conns[j++] = conns[i];
	}
	nconns = j;
}

static int
serve(int lfd)
{
	struct pollfd *pfds = NULL;
	size_t pcap = 0;

	while (!stopping) {
		size_t n = nconns + 1;
		if (n > pcap) {
			struct pollfd *np = realloc(pfds, n * 2 * sizeof(*np));
			if (!np) {
				fprintf(stderr, "upstream: out of memory\n");
				break;
			}
			pfds = np;
			pcap = n * 2;
		}
		pfds[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (size_t i = 0; i < nconns; i++) {
			struct conn *c = conns[i];
			short ev = 0;
			if (want_read(c))
				ev |= POLLIN;
			if (want_write(c))
				ev |= POLLOUT;
			pfds[i + 1] = (struct pollfd){ .fd = c->fd, .events = ev };
		}
		if (poll(pfds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "upstream: poll: %s\n", strerror(errno));
			break;
		}
		/* conns accepted below are appended after index n - 2 */
		for (size_t i = 0; i + 1 < n; i++)
			if (pfds[i + 1].revents)
				handle(conns[i], pfds[i + 1].revents);
		reap();
		if (pfds[0].revents & POLLIN)
			accept_all(lfd);
	}
	free(pfds);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *listen_s = NULL;
	struct nacre_addr addr;
	char err[NACRE_ERRLEN];

	pattern_init();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--listen") && v) {
			listen_s = v;
			i++;
		} else if (!strcmp(a, "--mode") && v) {
			if (!strcmp(v, "http"))
				mode = MODE_HTTP;
			else if (!strcmp(v, "echo"))
				mode = MODE_ECHO;
			else if (!strcmp(v, "drain"))
				mode = MODE_DRAIN;
			else
				usage();
			i++;
		} else if (!strcmp(a, "--name") && v) {
			app_name = v;
			i++;
		} else if (!strcmp(a, "--pattern") && v) {
			uint64_t n;
			if (!parse_u64(v, &n))
				usage();
			return write_pattern(n);
		} else if (!strcmp(a, "--proxy-v2")) {
			want_pp2 = true;
		} else if (!strcmp(a, "-v")) {
			verbose = true;
		} else {
			usage();
		}
	}
	if (!listen_s)
		usage();
	if (nacre_addr_parse(listen_s, true, &addr, err, sizeof(err)) < 0) {
		fprintf(stderr, "upstream: %s\n", err);
		return 2;
	}
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int lfd = listen_on(&addr);
	if (lfd < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	serve(lfd);
	for (size_t i = 0; i < nconns; i++)
		conn_free(conns[i]);
	free(conns);
	close(lfd);
	if (addr.kind == NACRE_ADDR_UNIX)
		unlink(((const struct sockaddr_un *)&addr.ss)->sun_path);
	return 0;
}
