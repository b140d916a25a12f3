/*
 * forward_admin.c: nacre forward's admin endpoint, on nacred's conventions
 * (src/admin/): libevent's evhttp, GET and HEAD only, headers bounded, no
 * body, every connection closed after NACRE_ADMIN_TIMEOUT_S, at most
 * NACRE_ADMIN_CONN_PER_S new connections a second; a local address only.
 * GET /metrics: Prometheus text (nacre_forward_*: connections by rule and
 * outcome, bytes each way, refusals, live connections, accept pauses);
 * GET /healthz: 200 while forwarding, 503 while draining. nacred's
 * admin/http.c serves its own view (generations, attestation) and is
 * left as it is; this is the forwarder's own small server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "admin/admin.h"
#include "forward.h"
#include "runtime.h"

#define ADDS(b, lit) evbuffer_add((b), (lit), sizeof(lit) - 1)

struct fwd_admin {
	struct fwd *f;
	struct evhttp *http;
	struct evconnlistener *lev;
	struct nacre_listener *sock;
	struct event *resume;
	time_t second;
	unsigned accepted;
	bool paused;
};

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fwd_admin *a = arg;

	a->paused = false;
	evconnlistener_enable(a->lev);
}

static struct bufferevent *
new_conn(struct event_base *base, void *arg)
{
	struct fwd_admin *a = arg;
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

/* a label value: backslash, double quote and newline escaped (the rule
 * addresses are the operator's text, never a peer's) */
static void
label(struct evbuffer *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(b, "\\%c", *v);
		else if (*v == '\n')
			ADDS(b, "\\n");
		else if ((unsigned char)*v >= 0x20 && *v != 0x7f)
			evbuffer_add(b, v, 1);
	}
}

static void
head(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
			    type);
}

/* NAME{direction="in",listen="...",target="..."EXTRA} VALUE */
static void
series(struct evbuffer *b, const char *name, const struct fwd_rule *r,
       const char *extra_key, const char *extra, unsigned long long v)
{
	evbuffer_add_printf(b, "%s{direction=\"%s\",listen=\"", name,
			    r->dir == FWD_IN ? "in" : "out");
	label(b, r->listen.text);
	ADDS(b, "\",target=\"");
	label(b, r->target_text);
	if (extra_key)
		evbuffer_add_printf(b, "\",%s=\"%s", extra_key, extra);
	evbuffer_add_printf(b, "\"} %llu\n", v);
}

static void
metrics(const struct fwd *f, struct evbuffer *b)
{
	const struct fwd_config *c = f->cfg;

	head(b, "nacre_forward_connections_total", "counter",
	     "Connections closed, by rule and outcome.");
	for (size_t i = 0; i < c->nrules; i++)
		for (int o = 0; o < FWD_OUTCOME_COUNT; o++)
			series(b, "nacre_forward_connections_total",
			       &c->rules[i], "outcome",
			       nacre_fwd_outcome_name((enum fwd_outcome)o),
			       (unsigned long long)c->rules[i].st.conns[o]);
	head(b, "nacre_forward_refused_total", "counter",
	     "Connections refused: the peer is not allowed on the rule "
	     "(from_cid).");
	for (size_t i = 0; i < c->nrules; i++)
		series(b, "nacre_forward_refused_total", &c->rules[i], NULL,
		       NULL, (unsigned long long)
		       c->rules[i].st.conns[FWD_REFUSED]);
	head(b, "nacre_forward_bytes_total", "counter",
	     "Bytes forwarded, by rule and flow (to_target: what the "
	     "accepted side sent; from_target: what the target sent back).");
	for (size_t i = 0; i < c->nrules; i++) {
		series(b, "nacre_forward_bytes_total", &c->rules[i], "flow",
		       "to_target", (unsigned long long)
		       c->rules[i].st.bytes_to_target);
		series(b, "nacre_forward_bytes_total", &c->rules[i], "flow",
		       "from_target", (unsigned long long)
		       c->rules[i].st.bytes_from_target);
	}
	head(b, "nacre_forward_active_connections", "gauge",
	     "Connections open now, by rule.");
	for (size_t i = 0; i < c->nrules; i++)
		series(b, "nacre_forward_active_connections", &c->rules[i],
		       NULL, NULL, (unsigned long long)c->rules[i].st.active);
	head(b, "nacre_forward_max_connections", "gauge",
	     "limits.max_connections: accepting pauses at this many.");
	evbuffer_add_printf(b, "nacre_forward_max_connections %llu\n",
			    (unsigned long long)c->max_connections);
	head(b, "nacre_forward_accept_pauses_total", "counter",
	     "Times accepting paused at max_connections.");
	evbuffer_add_printf(b, "nacre_forward_accept_pauses_total %llu\n",
			    (unsigned long long)f->accept_pauses);
	head(b, "nacre_forward_accept_errors_total", "counter",
	     "accept() failures (descriptors, memory); each pauses 1 s.");
	evbuffer_add_printf(b, "nacre_forward_accept_errors_total %llu\n",
			    (unsigned long long)f->accept_errors);
	head(b, "nacre_forward_draining", "gauge",
	     "1 after SIGTERM while connections drain.");
	evbuffer_add_printf(b, "nacre_forward_draining %d\n", f->draining);
	head(b, "nacre_forward_build_info", "gauge", "nacre's version.");
	evbuffer_add_printf(b, "nacre_forward_build_info{version=\"%s\"} 1\n",
			    NACRE_VERSION);
	head(b, "process_start_time_seconds", "gauge",
	     "Start time of the process since the Unix epoch in seconds.");
	evbuffer_add_printf(b, "process_start_time_seconds %lld\n",
			    (long long)f->started_at);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct fwd_admin *a = arg;
	const char *uri = evhttp_request_get_uri(req);
	size_t n = strcspn(uri, "?");
	struct evbuffer *b;

#define IS(path) (n == sizeof(path) - 1 && memcmp(uri, path, n) == 0)
	if (IS("/metrics")) {
		if (!(b = evbuffer_new())) {
			text_reply(req, 500, "Internal Server Error",
				   "out of memory");
			return;
		}
		metrics(a->f, b);
		reply(req, 200, "OK", "text/plain; version=0.0.4; "
		      "charset=utf-8", b);
		evbuffer_free(b);
	} else if (IS("/healthz")) {
		if (a->f->draining)
			text_reply(req, 503, "Service Unavailable",
				   "draining: stopping");
		else
			text_reply(req, 200, "OK", "ok");
	} else {
		text_reply(req, 404, "Not Found",
			   "not found: /metrics and /healthz are");
	}
#undef IS
}

struct fwd_admin *
nacre_fwd_admin_start(struct fwd *f, char *err, size_t errlen)
{
	struct fwd_admin *a = calloc(1, sizeof(*a));
	char lerr[NACRE_ERRLEN];

	if (!a) {
		nacre_seterr(err, errlen, "admin: out of memory");
		return NULL;
	}
	a->f = f;
	if (!(a->sock = nacre_listener_open(&f->cfg->admin, 1, false, lerr,
					    sizeof(lerr)))) {
		nacre_seterr(err, errlen, "admin %s", lerr);
		goto fail;
	}
	a->http = evhttp_new(f->base);
	a->resume = evtimer_new(f->base, resume_cb, a);
	a->lev = a->http && a->resume ?
		 evconnlistener_new(f->base, NULL, NULL, LEV_OPT_REUSEABLE, 0,
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
	log_info("admin: listening on %s (/metrics, /healthz)",
		 f->cfg->admin.text);
	return a;
fail:
	nacre_fwd_admin_stop(a);
	return NULL;
}

void
nacre_fwd_admin_stop(struct fwd_admin *a)
{
	if (!a)
		return;
	if (a->http)
		evhttp_free(a->http);
	if (a->resume)
		event_free(a->resume);
	nacre_listener_unref(a->sock);
	free(a);
}
