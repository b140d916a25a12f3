/*
 * http.c: the admin endpoint's HTTP side, libevent's evhttp: GET and HEAD
 * only, headers bounded, no body, a connection idle for
 * NACRE_ADMIN_TIMEOUT_S closed, and at most NACRE_ADMIN_CONN_PER_S new
 * connections a second (the listener pauses for the rest of the second).
 * KNOWN LIMIT: evhttp's timeout (libevent 2.1) is an idle timer and 2.1
 * caps no connections, so a peer that trickles bytes keeps its
 * connections, and a flood at the rate bound grows the descriptors held;
 * the admin address must be reachable by trusted parties only until the
 * open connections are bounded too.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "admin/admin.h"
#include "runtime.h"

struct nacre_admin {
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *lev;
	struct nacre_listener *sock; /* the listening socket (listener.c) */
	const struct nacre_admin_view *view;
	struct event *resume;
	time_t second;
	unsigned accepted;           /* in SECOND */
	bool paused;
};

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nacre_admin *a = arg;

	a->paused = false;
	evconnlistener_enable(a->lev);
}

/* evhttp asks for a bufferevent for each connection it accepted: the
 * place to count them */
static struct bufferevent *
new_conn(struct event_base *base, void *arg)
{
	struct nacre_admin *a = arg;
	time_t now = time(NULL);

	if (now != a->second) {
		a->second = now;
		a->accepted = 0;
	}
	if (++a->accepted >= NACRE_ADMIN_CONN_PER_S && !a->paused) {
		struct timeval tv = { 1, 0 };

		a->paused = true;
		evconnlistener_disable(a->lev);
		evtimer_add(a->resume, &tv);
		log_warn("admin: more than %d connections in a second; "
			 "pausing accept for 1 s", NACRE_ADMIN_CONN_PER_S);
	}
	return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

static void
reply(struct evhttp_request *req, int code, const char *reason,
      const char *type, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Connection", "close");
	evhttp_send_reply(req, code, reason, body);
}

static void
text_reply(struct evhttp_request *req, int code, const char *reason,
	   const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b)
		evbuffer_add_printf(b, "%s\n", text);
	reply(req, code, reason, "text/plain; charset=utf-8", b);
	if (b)
		evbuffer_free(b);
}

static void
on_metrics(struct nacre_admin *a, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();

	if (!b) {
		text_reply(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	nacre_admin_metrics(a->view, b);
	reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
}

static void
on_healthz(struct nacre_admin *a, struct evhttp_request *req)
{
	char why[256];

	if (nacre_admin_healthy(a->view, why, sizeof(why)))
		text_reply(req, 200, "OK", "ok");
	else
		text_reply(req, 503, "Service Unavailable", why);
}

/* the attested certificate in service, PEM: its evidence is in it */
static void
on_attestation(struct nacre_admin *a, struct evhttp_request *req)
{
	X509 *x = a->view->gen ? SSL_CTX_get0_certificate(
					 a->view->gen->ssl_ctx) : NULL;
	struct evbuffer *b;
	BIO *mem;
	char *p;
	long n;

	if (!x) {
		text_reply(req, 503, "Service Unavailable",
			   "no attested certificate yet");
		return;
	}
	if (!(mem = BIO_new(BIO_s_mem())) || !PEM_write_bio_X509(mem, x) ||
	    (n = BIO_get_mem_data(mem, &p)) <= 0 || !(b = evbuffer_new())) {
		BIO_free(mem);
		text_reply(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	evbuffer_add(b, p, (size_t)n);
	BIO_free(mem);
	reply(req, 200, "OK", "application/x-pem-file", b);
	evbuffer_free(b);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct nacre_admin *a = arg;
	const char *uri = evhttp_request_get_uri(req);
	size_t n = strcspn(uri, "?");

#define IS(path) (n == sizeof(path) - 1 && memcmp(uri, path, n) == 0)
	if (IS("/metrics"))
		on_metrics(a, req);
	else if (IS("/healthz"))
		on_healthz(a, req);
	else if (IS("/attestation"))
		on_attestation(a, req);
	else
		text_reply(req, 404, "Not Found",
			   "not found: /metrics, /healthz and /attestation are");
#undef IS
}

struct nacre_admin *
nacre_admin_start(struct event_base *base, const struct nacre_config *cfg,
		  const struct nacre_admin_view *view, char *err,
		  size_t errlen)
{
	struct nacre_admin *a = calloc(1, sizeof(*a));
	char lerr[NACRE_ERRLEN];

	if (!a) {
		nacre_seterr(err, errlen, "admin: out of memory");
		return NULL;
	}
	a->base = base;
	a->view = view;
	if (!(a->sock = nacre_listener_open(&cfg->admin_listen, 1, false, lerr,
					    sizeof(lerr)))) {
		nacre_seterr(err, errlen, "admin.listen %s", lerr);
		goto fail;
	}
	a->http = evhttp_new(base);
	a->resume = evtimer_new(base, resume_cb, a);
	/* backlog 0: the socket listens already */
	a->lev = a->http && a->resume ?
		 evconnlistener_new(base, NULL, NULL, LEV_OPT_REUSEABLE, 0,
				    nacre_listener_fd(a->sock, 0)) : NULL;
	if (!a->lev || !evhttp_bind_listener(a->http, a->lev)) {
		nacre_seterr(err, errlen, "admin: cannot set up the HTTP server");
		if (a->lev)
			evconnlistener_free(a->lev);
		a->lev = NULL;
		goto fail;
	}
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(a->http, NACRE_ADMIN_HEADERS_MAX);
	evhttp_set_max_body_size(a->http, 0);
	evhttp_set_timeout(a->http, NACRE_ADMIN_TIMEOUT_S);
	evhttp_set_bevcb(a->http, new_conn, a);
	evhttp_set_gencb(a->http, on_request, a);
	log_info("admin: listening on %s (/metrics, /healthz, /attestation)",
		 cfg->admin_listen.text);
	return a;
fail:
	nacre_admin_stop(a);
	return NULL;
}

void
nacre_admin_stop(struct nacre_admin *a)
{
	if (!a)
		return;
	if (a->http)
		evhttp_free(a->http); /* frees the bound listener too */
	if (a->resume)
		event_free(a->resume);
	nacre_listener_unref(a->sock);
	free(a);
}
