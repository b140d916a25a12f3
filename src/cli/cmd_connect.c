/*
 * cmd_connect.c: nacre connect: a local forwarder. Plaintext clients on a
 * loopback address; for each one a TLS connection to the server with the
 * policy enforced by libnacre. A server that fails verification gets
 * nothing: the client is closed and the reason logged. libevent accepts and
 * handles signals; each connection is one thread doing a blocking
 * handshake, then a poll() splice with half-close both ways. At exit the
 * connections are shut down and their threads joined.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cli.h"
#include "nacred.h"

#define SPLICE_BUF 16384

static const char help[] =
	"usage: nacre connect --listen 127.0.0.1:PORT --to HOST:PORT [--sni "
	"NAME] [--timeout DUR] [policy options]\n"
	"\n"
	"Forward plaintext connections accepted on a loopback address to a\n"
	"server over TLS, each only after the server's attestation evidence\n"
	"passed the policy; otherwise the client is closed and the reason\n"
	"logged. Prints \"ready\" when listening; SIGTERM / SIGINT end it\n"
	"(exit 0).\n"
	"\n"
	"  --listen ADDR        loopback address to accept on (required)\n"
	"  --to HOST:PORT       the attested server (tcp: or vsock: syntax too)\n"
	"  --sni NAME           server name sent (default: HOST unless an IP)\n"
	"  --timeout DUR        connect + handshake limit (default 10s)\n"
	"  --fresh              each connection sends a nonce and requires\n"
	"                       fresh evidence bound to its handshake (TLS 1.3)\n";

/* shared with the connection threads; never freed while one runs */
static struct {
	SSL_CTX *ctx;
	struct nacre_policy *policy;
	struct nacre_addr to;
	char sni[256];
	uint64_t timeout_ms;
} fw;

/* every connection thread; the main thread reaps finished ones and, at
 * exit, shuts their sockets down so that each ends and can be joined */
struct job {
	struct job *next;
	pthread_t thread;
	int cfd, tfd;          /* -1 once closed; under jobs_lock */
	bool done;
	char who[128];
};
static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct job *jobs;
static bool stopping;

/* *fdp = -1 under the lock, then close: never shut down a reused fd */
static void
job_close(int *fdp)
{
	int fd;

	pthread_mutex_lock(&jobs_lock);
	fd = *fdp;
	*fdp = -1;
	pthread_mutex_unlock(&jobs_lock);
	if (fd >= 0)
		close(fd);
}

struct opts {
	const char *listen, *to, *sni;
	uint64_t timeout_ms;
	bool fresh;
	struct cli_policy pol;
};

static int
parse(int argc, char **argv, struct opts *o)
{
	struct cli_args a = { argc, argv, 1, "connect" };
	const char *v;
	int m;

	o->timeout_ms = 10000;
	for (; a.i < argc; a.i++) {
		if (cli_match(&a, "help", false, &v) > 0) {
			printf("%s\n%s", help, cli_policy_help);
			return 1;
		}
		if ((m = cli_match(&a, "timeout", true, &v)) != 0) {
			if (m < 0 || nacre_parse_duration_ms(v, &o->timeout_ms)
			    < 0 || o->timeout_ms == 0) {
				fprintf(stderr, "nacre connect: --timeout: "
					"expected a duration (e.g. 5s)\n");
				return -1;
			}
			continue;
		}
		if (cli_match(&a, "fresh", false, &v) > 0) {
			o->fresh = true;
			continue;
		}
		if ((m = cli_match(&a, "listen", true, &o->listen)) == 0 &&
		    (m = cli_match(&a, "to", true, &o->to)) == 0 &&
		    (m = cli_match(&a, "sni", true, &o->sni)) == 0 &&
		    (m = cli_policy_opt(&o->pol, &a)) == 0) {
			fprintf(stderr, "nacre connect: unknown argument %s "
				"(nacre connect --help)\n", argv[a.i]);
			return -1;
		}
		if (m < 0)
			return -1;
	}
	if (!o->listen || !o->to) {
		fprintf(stderr, "nacre connect: --listen and --to are "
			"required (nacre connect --help)\n");
		return -1;
	}
	return 0;
}

static void
tls_reason(char *out, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	char buf[200] = "the connection closed";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(out, len, "tls-failed: TLS handshake failed: %s", buf);
	ERR_clear_error();
}

/* the TLS connection, verified; NULL with the reason logged */
static SSL *
open_verified(struct job *j)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	struct timeval none = { 0, 0 };
	const struct nacre_result *r;
	char err[NACRE_ERRLEN + 64];
	int fd = cli_dial(&fw.to, fw.timeout_ms, err, sizeof(err));
	SSL *ssl;

	if (fd < 0) {
		fprintf(stderr, "nacre connect: client %s closed: %s\n",
			j->who, err);
		return NULL;
	}
	pthread_mutex_lock(&jobs_lock);
	j->tfd = fd;
	if (stopping)
		shutdown(fd, SHUT_RDWR);
	pthread_mutex_unlock(&jobs_lock);
	ssl = SSL_new(fw.ctx);
	if (ssl && SSL_set_fd(ssl, fd) &&
	    (!fw.sni[0] || SSL_set_tlsext_host_name(ssl, fw.sni)) &&
	    SSL_set_alpn_protos(ssl, alpn, sizeof(alpn) - 1) == 0 &&
	    SSL_connect(ssl) == 1 && (r = nacre_ssl_result(ssl)) &&
	    r->status == NACRE_OK) {
		/* the splice waits in poll(); reads must not time out */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
		fprintf(stderr, "nacre connect: client %s: verified enclave "
			"%s at %s\n", j->who, r->module_id, fw.to.text);
		if (r->warning[0])
			fprintf(stderr, "nacre connect: client %s: warning: "
				"%s\n", j->who, r->warning);
		return ssl;
	}
	r = ssl ? nacre_ssl_result(ssl) : NULL;
	if (r && r->status != NACRE_OK)
		snprintf(err, sizeof(err), "%s: %s",
			 nacre_verify_status_name(r->status), r->message);
	else
		tls_reason(err, sizeof(err));
	fprintf(stderr, "nacre connect: client %s closed, server %s not "
		"verified: %s\n", j->who, fw.to.text, err);
	SSL_free(ssl);
	job_close(&j->tfd);
	return NULL;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* client -> server; 1 at EOF (close_notify sent), -1 on error */
static int
client_to_tls(int cfd, SSL *ssl, uint8_t *buf)
{
	ssize_t n = recv(cfd, buf, SPLICE_BUF, 0);

	if (n < 0 && errno == EINTR)
		return 0;
	if (n < 0)
		return -1;
	if (n == 0) {
		SSL_shutdown(ssl);   /* half-close: close_notify */
		return 1;
	}
	for (;;) {
		int w = SSL_write(ssl, buf, (int)n), e;
		if (w == (int)n)
			return 0;
		e = SSL_get_error(ssl, w);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			return -1;
		}
	}
}

/* server -> client; 1 at the server's close_notify / EOF, -1 on error */
static int
tls_to_client(SSL *ssl, int cfd, uint8_t *buf)
{
	int n = SSL_read(ssl, buf, SPLICE_BUF);

	if (n > 0)
		return write_all(cfd, buf, (size_t)n) < 0 ? -1 : 0;
	switch (SSL_get_error(ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		shutdown(cfd, SHUT_WR);
		return 1;
	default:
		ERR_clear_error();
		return -1;
	}
}

static void
splice(int cfd, int tfd, SSL *ssl)
{
	uint8_t *buf = malloc(SPLICE_BUF);
	bool ceof = false, teof = false;
	int rc = 0;

	while (buf && rc >= 0 && !(ceof && teof)) {
		struct pollfd p[2] = { { cfd, ceof ? 0 : POLLIN, 0 },
				       { tfd, teof ? 0 : POLLIN, 0 } };
		bool pending = !teof && SSL_pending(ssl) > 0;

		if (poll(p, 2, pending ? 0 : -1) < 0 && errno != EINTR)
			break;
		if (!ceof && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    (rc = client_to_tls(cfd, ssl, buf)) == 1)
			ceof = true;
		if (rc >= 0 && !teof && (pending || (p[1].revents &
		    (POLLIN | POLLHUP | POLLERR))) &&
		    (rc = tls_to_client(ssl, cfd, buf)) == 1)
			teof = true;
		if (rc == 1)
			rc = 0;
	}
	free(buf);
}

static void *
connection(void *arg)
{
	struct job *j = arg;
	SSL *ssl = open_verified(j);

	if (ssl) {
		splice(j->cfd, j->tfd, ssl);
		SSL_free(ssl);
		job_close(&j->tfd);
	}
	job_close(&j->cfd);
	pthread_mutex_lock(&jobs_lock);
	j->done = true;
	pthread_mutex_unlock(&jobs_lock);
	return NULL;
}

/* joins the finished threads (all of them when stopping) */
static void
reap(bool all)
{
	struct job **pp, *j, *dead = NULL;

	pthread_mutex_lock(&jobs_lock);
	stopping = stopping || all;
	for (pp = &jobs; (j = *pp);) {
		if (all && j->cfd >= 0)
			shutdown(j->cfd, SHUT_RDWR);
		if (all && j->tfd >= 0)
			shutdown(j->tfd, SHUT_RDWR);
		if (!j->done && !all) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		j->next = dead;
		dead = j;
	}
	pthread_mutex_unlock(&jobs_lock);
	while ((j = dead)) {
		dead = j->next;
		pthread_join(j->thread, NULL);
		free(j);
	}
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
	  int salen, void *arg)
{
	struct job *j = calloc(1, sizeof(*j));

	reap(false);
	if (!j) {
		close(fd);
		return;
	}
	j->cfd = fd;
	j->tfd = -1;
	nacre_sockaddr_str(sa, (socklen_t)salen, j->who, sizeof(j->who));
	pthread_mutex_lock(&jobs_lock);
	if (pthread_create(&j->thread, NULL, connection, j) != 0) {
		pthread_mutex_unlock(&jobs_lock);
		fprintf(stderr, "nacre connect: client %s closed: cannot "
			"start a thread\n", j->who);
		close(fd);
		free(j);
		return;
	}
	j->next = jobs;
	jobs = j;
	pthread_mutex_unlock(&jobs_lock);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static int
serve(const struct nacre_addr *listen)
{
	struct event_base *base = event_base_new();
	struct evconnlistener *l = NULL;
	struct event *sterm = NULL, *sint = NULL;
	int rc = CLI_USAGE;

	if (!base)
		return CLI_USAGE;
	l = evconnlistener_new_bind(base, on_accept, NULL,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
				    LEV_OPT_CLOSE_ON_EXEC, 128,
				    (const struct sockaddr *)&listen->ss,
				    (int)listen->sslen);
	sterm = evsignal_new(base, SIGTERM, on_signal, base);
	sint = evsignal_new(base, SIGINT, on_signal, base);
	if (!l) {
		fprintf(stderr, "nacre connect: cannot listen on %s: %s\n",
			listen->text, strerror(errno));
	} else if (sterm && sint && !evsignal_add(sterm, NULL) &&
		   !evsignal_add(sint, NULL)) {
		printf("ready\n");
		fflush(stdout);
		fprintf(stderr, "nacre connect: listening on %s, forwarding "
			"to %s\n", listen->text, fw.to.text);
		event_base_dispatch(base);
		rc = CLI_OK;
		fprintf(stderr, "nacre connect: stopping\n");
	}
	if (l)
		evconnlistener_free(l);
	reap(true);
	if (sterm)
		event_free(sterm);
	if (sint)
		event_free(sint);
	event_base_free(base);
	return rc;
}

int
cli_connect(int argc, char **argv)
{
	struct opts o = { 0 };
	struct nacre_addr listen;
	char sni[256];
	int rc;

	if ((rc = parse(argc, argv, &o)) != 0)
		return rc > 0 ? CLI_OK : CLI_USAGE;
	if (cli_target_addr(o.listen, &listen, sni, sizeof(sni)) < 0)
		return CLI_USAGE;
	if (listen.kind != NACRE_ADDR_TCP || !nacre_addr_is_local(&listen)) {
		fprintf(stderr, "nacre connect: --listen %s: not a loopback "
			"address; plaintext must not leave this machine (use "
			"127.0.0.1:PORT or [::1]:PORT)\n", o.listen);
		return CLI_USAGE;
	}
	if (cli_target_addr(o.to, &fw.to, fw.sni, sizeof(fw.sni)) < 0)
		return CLI_USAGE;
	if (o.sni)
		snprintf(fw.sni, sizeof(fw.sni), "%s", o.sni);
	fw.timeout_ms = o.timeout_ms;
	if (!(fw.policy = cli_policy_build(&o.pol)))
		return CLI_USAGE;
	if (o.fresh)
		nacre_policy_set_fresh(fw.policy, true);
	if (!(fw.ctx = SSL_CTX_new(TLS_client_method())) ||
	    nacre_ssl_ctx_verify(fw.ctx, fw.policy) < 0) {
		fprintf(stderr, "nacre connect: cannot set up TLS\n");
		rc = CLI_USAGE;
	} else {
		/* SSL_read must return after a record that carries no data
		 * (a session ticket) instead of blocking the splice */
		SSL_CTX_clear_mode(fw.ctx, SSL_MODE_AUTO_RETRY);
		signal(SIGPIPE, SIG_IGN);
		rc = serve(&listen);
	}
	SSL_CTX_free(fw.ctx);   /* every connection thread has ended */
	nacre_policy_free(fw.policy);
	return rc;
}
