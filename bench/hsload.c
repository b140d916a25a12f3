/* hsload: full TLS handshakes under load, for `make bench`.
 *
 * wrk cannot measure full handshakes: it reuses its SSL objects with
 * SSL_clear(), which keeps the session, so every reconnection resumes
 * with the last ticket the server sent (a 586-byte ClientHello carrying
 * a pre_shared_key, no Certificate in the reply). A proxy that sends
 * tickets is then measured on resumptions, one that sends none on full
 * handshakes. hsload keeps CONNS connections busy, each doing: connect,
 * a full TLS handshake with a new SSL object and no session, one
 * "Connection: close" request, the whole response, close_notify, close.
 * It checks that no handshake was resumed and that every response is a
 * 200, and prints
 *     requests N errors E resumed R seconds S
 * Usage: hsload HOST PORT CONNS SECONDS [PATH]
 *
 * With HSLOAD_FRESH_PCT=P (0..100) in the environment, P of every 100
 * connections ask for fresh evidence (docs/evidence-format.md 8: the
 * ClientHello extension 0xff4e, version 2, a random 32-byte nonce; the
 * answer is not verified: the server's cost is what is measured), and a
 * second line gives the handshake latency of each kind, from connect to
 * handshake done:
 *     fresh F plain_p50_ms A plain_p99_ms B fresh_p50_ms C fresh_p99_ms D
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { CONNECTING, HANDSHAKE, WRITING, READING };

struct slot {
	int fd;
	SSL *ssl;
	enum state st;
	size_t sent;
	size_t got;
	char head[16];
	int fresh;      /* asks for fresh evidence */
	double t_open;  /* connect started */
};

static SSL_CTX *ctx;
static struct sockaddr_in addr;
static char req[512];
static size_t req_len;
static int ep;
static unsigned long requests, errors, resumed;
/* HSLOAD_FRESH_PCT: -1 off; handshake latencies (ms) of each kind */
static int fresh_pct = -1;
static unsigned long opened, nfresh;
#define LAT_MAX 1000000
static double *lat[2];
static size_t nlat[2];

static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void
slot_close(struct slot *s)
{
	if (s->ssl)
		SSL_free(s->ssl);
	s->ssl = NULL;
	if (s->fd >= 0)
		close(s->fd); /* also leaves the epoll set */
	s->fd = -1;
}

static int
slot_open(struct slot *s)
{
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -1;
	int one = 1;
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	s->ssl = SSL_new(ctx);
	if (!s->ssl || !SSL_set_fd(s->ssl, s->fd) ||
	    !SSL_set_tlsext_host_name(s->ssl, "localhost"))
		return -1;
	SSL_set_connect_state(s->ssl);
	s->fresh = fresh_pct > 0 && (int)(opened++ % 100) < fresh_pct;
	SSL_set_app_data(s->ssl, s->fresh ? (void *)s : NULL);
	s->t_open = now();
	s->st = CONNECTING;
	s->sent = s->got = 0;
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = s };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		return -1;
	if (connect(s->fd, (struct sockaddr *)&addr, sizeof addr) < 0 &&
	    errno != EINPROGRESS)
		return -1;
	return 0;
}

/* wait for WANT (SSL_ERROR_WANT_READ/WRITE) on the slot's socket */
static void
slot_want(struct slot *s, int err)
{
	struct epoll_event ev = {
		.events = err == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN,
		.data.ptr = s,
	};
	epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
}

/* drive the slot as far as it goes; returns 1 when the request is done
 * (or failed) and the slot must be reopened */
static int
slot_step(struct slot *s)
{
	int r, err;
	char buf[16384];

	switch (s->st) {
	case CONNECTING: {
		int e = 0;
		socklen_t l = sizeof e;
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0 || e)
			return errors++, 1;
		s->st = HANDSHAKE;
	}
		/* fall through */
	case HANDSHAKE:
		r = SSL_do_handshake(s->ssl);
		if (r != 1) {
			err = SSL_get_error(s->ssl, r);
			if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
				return slot_want(s, err), 0;
			return errors++, 1;
		}
		if (SSL_session_reused(s->ssl))
			resumed++;
		if (fresh_pct >= 0 && nlat[s->fresh] < LAT_MAX)
			lat[s->fresh][nlat[s->fresh]++] = (now() - s->t_open) * 1e3;
		nfresh += (unsigned long)s->fresh;
		s->st = WRITING;
		/* fall through */
	case WRITING:
		while (s->sent < req_len) {
			r = SSL_write(s->ssl, req + s->sent, (int)(req_len - s->sent));
			if (r <= 0) {
				err = SSL_get_error(s->ssl, r);
				if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
					return slot_want(s, err), 0;
				return errors++, 1;
			}
			s->sent += (size_t)r;
		}
		s->st = READING;
		slot_want(s, SSL_ERROR_WANT_READ);
		/* fall through */
	case READING:
		for (;;) {
			r = SSL_read(s->ssl, buf, sizeof buf);
			if (r > 0) {
				if (s->got < sizeof s->head) {
					size_t n = sizeof s->head - s->got;
					memcpy(s->head + s->got, buf, (size_t)r < n ? (size_t)r : n);
				}
				s->got += (size_t)r;
				continue;
			}
			err = SSL_get_error(s->ssl, r);
			if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
				return slot_want(s, err), 0;
			/* the end: close_notify, or EOF without one */
			if (s->got >= 12 && memcmp(s->head, "HTTP/1.1 200", 12) == 0) {
				requests++;
				if (err == SSL_ERROR_ZERO_RETURN)
					SSL_shutdown(s->ssl);
			} else {
				errors++;
			}
			return 1;
		}
	}
	return 1;
}

/* the fresh-evidence request, in the ClientHellos of fresh slots */
static int
fresh_add(SSL *ssl, unsigned int type, unsigned int context,
	  const unsigned char **out, size_t *outlen, X509 *x, size_t chainidx,
	  int *al, void *arg)
{
	static unsigned char ask[2 + 32] = { 2, 32 };

	if (!(context & SSL_EXT_CLIENT_HELLO) || !SSL_get_app_data(ssl))
		return 0;
	RAND_bytes(ask + 2, 32);
	*out = ask;
	*outlen = sizeof(ask);
	return 1;
}

static int
fresh_parse(SSL *ssl, unsigned int type, unsigned int context,
	    const unsigned char *in, size_t inlen, X509 *x, size_t chainidx,
	    int *al, void *arg)
{
	return 1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
pct(int k, double p)
{
	if (!nlat[k])
		return 0;
	qsort(lat[k], nlat[k], sizeof(double), cmp_double);
	return lat[k][(size_t)(p * (double)(nlat[k] - 1))];
}

int
main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: hsload HOST PORT CONNS SECONDS [PATH]\n");
		return 2;
	}
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
		fprintf(stderr, "hsload: %s is not an IPv4 address\n", argv[1]);
		return 2;
	}
	int conns = atoi(argv[3]);
	double secs = atof(argv[4]);
	if (conns < 1 || conns > 10000 || secs <= 0) {
		fprintf(stderr, "hsload: CONNS 1..10000 and SECONDS > 0\n");
		return 2;
	}
	req_len = (size_t)snprintf(req, sizeof req,
	    "GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n",
	    argc > 5 ? argv[5] : "/", argv[1], argv[2]);

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return 1;
	/* no session kept anywhere: every handshake is a full one */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	if (getenv("HSLOAD_FRESH_PCT")) {
		fresh_pct = atoi(getenv("HSLOAD_FRESH_PCT"));
		lat[0] = malloc(LAT_MAX * sizeof(double));
		lat[1] = malloc(LAT_MAX * sizeof(double));
		if (fresh_pct < 0 || fresh_pct > 100 || !lat[0] || !lat[1] ||
		    !SSL_CTX_add_custom_ext(ctx, 0xff4e, SSL_EXT_CLIENT_HELLO |
					    SSL_EXT_TLS1_3_CERTIFICATE, fresh_add,
					    NULL, NULL, fresh_parse, NULL)) {
			fprintf(stderr, "hsload: HSLOAD_FRESH_PCT 0..100\n");
			return 2;
		}
	}

	ep = epoll_create1(EPOLL_CLOEXEC);
	struct slot *slots = calloc((size_t)conns, sizeof *slots);
	if (ep < 0 || !slots)
		return 1;
	for (int i = 0; i < conns; i++) {
		slots[i].fd = -1;
		if (slot_open(&slots[i]) < 0) {
			perror("hsload: connect");
			return 1;
		}
	}
	double t0 = now(), end = t0 + secs;
	struct epoll_event evs[64];
	while (now() < end) {
		int n = epoll_wait(ep, evs, 64, 100);
		for (int i = 0; i < n; i++) {
			struct slot *s = evs[i].data.ptr;
			if (slot_step(s)) {
				slot_close(s);
				if (slot_open(s) < 0)
					errors++;
			}
		}
	}
	double t1 = now();
	for (int i = 0; i < conns; i++)
		slot_close(&slots[i]);
	printf("requests %lu errors %lu resumed %lu seconds %.3f\n", requests,
	    errors, resumed, t1 - t0);
	if (fresh_pct >= 0)
		printf("fresh %lu plain_p50_ms %.2f plain_p99_ms %.2f "
		       "fresh_p50_ms %.2f fresh_p99_ms %.2f\n", nfresh, pct(0, 0.5),
		       pct(0, 0.99), pct(1, 0.5), pct(1, 0.99));
	free(lat[0]);
	free(lat[1]);
	free(slots);
	SSL_CTX_free(ctx);
	return 0;
}
