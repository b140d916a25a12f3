/*
 * forward_pump.c: one forwarded connection of nacre forward, from accept
 * to close: the target's connect (a name resolved then, with evdns), the
 * PROXY v2 header of an inbound rule, then bytes both ways through
 * libevent bufferevents. Bounded: a side is read only while the other
 * side's queue holds less than limits.buffer (backpressure); a FIN is
 * passed on once what came before it is written (half-close); a broken
 * stream (an error, a reset) or a timeout resets the other side too, so
 * neither peer takes an abnormal end for a clean one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "forward.h"

struct fwd_conn {
	struct fwd *f;
	struct fwd_rule *r;
	struct fwd_conn *prev, *next;
	uint64_t id;
	struct bufferevent *cl, *tg; /* the accepted side, the target side */
	struct event *timer;
	struct timeval last_io;
	bool connected;
	bool starting, start_failed; /* in connect_target(); it failed */
	char why[160];               /* start_failed: the reason */
	bool cl_eof, tg_eof;         /* FIN received */
	bool cl_shut, tg_shut;       /* FIN sent */
	uint64_t to_target, from_target;
	struct timeval start;
	char who[128];
};

static void conn_end(struct fwd_conn *c, enum fwd_outcome o, bool reset_cl,
		     bool reset_tg, const char *why);

static struct bufferevent *
other(const struct fwd_conn *c, const struct bufferevent *b)
{
	return b == c->cl ? c->tg : c->cl;
}

static void
touch(struct fwd_conn *c)
{
	event_base_gettimeofday_cached(c->f->base, &c->last_io);
}

static void
arm(struct fwd_conn *c, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
			      (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

static uint64_t
ms_since(const struct fwd_conn *c, const struct timeval *t0)
{
	struct timeval now;

	event_base_gettimeofday_cached(c->f->base, &now);
	if (now.tv_sec < t0->tv_sec)
		return 0;
	return (uint64_t)(now.tv_sec - t0->tv_sec) * 1000 +
	       (uint64_t)(((int64_t)now.tv_usec - t0->tv_usec) / 1000);
}

/* a FIN goes on once everything before it is written; both ways done:
 * the connection ends well */
static void
pass_fins(struct fwd_conn *c)
{
	if (c->cl_eof && !c->tg_shut && c->connected &&
	    evbuffer_get_length(bufferevent_get_output(c->tg)) == 0) {
		shutdown(bufferevent_getfd(c->tg), SHUT_WR);
		c->tg_shut = true;
	}
	if (c->tg_eof && !c->cl_shut &&
	    evbuffer_get_length(bufferevent_get_output(c->cl)) == 0) {
		shutdown(bufferevent_getfd(c->cl), SHUT_WR);
		c->cl_shut = true;
	}
	if (c->cl_shut && c->tg_shut)
		conn_end(c, FWD_OK, false, false, NULL);
}

/* what SRC has read goes to the other side's queue, at once (no copy);
 * past the bound, SRC is no longer read until the queue drains */
static void
on_read(struct bufferevent *src, void *arg)
{
	struct fwd_conn *c = arg;
	struct bufferevent *dst = other(c, src);
	struct evbuffer *in = bufferevent_get_input(src);
	struct evbuffer *out = bufferevent_get_output(dst);
	size_t n = evbuffer_get_length(in);

	if (evbuffer_add_buffer(out, in) < 0) {
		conn_end(c, FWD_INTERNAL, true, true, "out of memory");
		return;
	}
	if (src == c->cl) {
		c->to_target += n;
		c->r->st.bytes_to_target += n;
	} else {
		c->from_target += n;
		c->r->st.bytes_from_target += n;
	}
	touch(c);
	if (evbuffer_get_length(out) >= c->f->cfg->buffer)
		bufferevent_disable(src, EV_READ);
}

/* DST's queue fell to half the bound (or emptied): read its source again */
static void
on_write(struct bufferevent *dst, void *arg)
{
	struct fwd_conn *c = arg;
	struct bufferevent *src = other(c, dst);
	bool src_eof = src == c->cl ? c->cl_eof : c->tg_eof;

	touch(c);
	if (!src_eof && (src != c->tg || c->connected) &&
	    evbuffer_get_length(bufferevent_get_output(dst)) < c->f->cfg->buffer)
		bufferevent_enable(src, EV_READ);
	pass_fins(c);
}

static void
connected(struct fwd_conn *c)
{
	int one = 1, fd = bufferevent_getfd(c->tg);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	c->connected = true;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    (ss.ss_family == AF_INET || ss.ss_family == AF_INET6))
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
	nacre_log(NACRE_LOG_DEBUG, c->id, "%s: connected to %s",
		  c->r->listen.text, c->r->target_text);
	bufferevent_enable(c->tg, EV_READ | EV_WRITE);
	touch(c);
	arm(c, c->f->cfg->idle_timeout_ms);
	pass_fins(c);
}

static void
on_event(struct bufferevent *b, short what, void *arg)
{
	struct fwd_conn *c = arg;
	char why[160];
	int err = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		connected(c);
		return;
	}
	if (b == c->tg && !c->connected) {
		int dnserr = bufferevent_socket_get_dns_error(b);

		if (dnserr)
			snprintf(c->why, sizeof(c->why), "cannot resolve the "
				 "name: %s", evutil_gai_strerror(dnserr));
		else
			snprintf(c->why, sizeof(c->why), "cannot connect: %s",
				 strerror(err));
		/* libevent may call back from inside the connect call:
		 * nacre_fwd_conn_start ends the connection then */
		if (c->starting)
			c->start_failed = true;
		else
			conn_end(c, FWD_CONNECT_FAILED, true, false, c->why);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		snprintf(why, sizeof(why), "the %s broke the stream (%s); "
			 "the %s is reset", b == c->cl ? "client" : "target",
			 err ? strerror(err) : "error",
			 b == c->cl ? "target" : "client");
		conn_end(c, FWD_RESET, b == c->tg, b == c->cl, why);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* libevent stopped reading this side already */
		if (b == c->cl)
			c->cl_eof = true;
		else
			c->tg_eof = true;
		touch(c);
		pass_fins(c);
	}
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct fwd_conn *c = arg;
	uint64_t idle, limit = c->f->cfg->idle_timeout_ms;
	char why[96];

	if (!c->connected) {
		snprintf(why, sizeof(why), "no connection to the target within "
			 "%llu ms", (unsigned long long)
			 c->f->cfg->connect_timeout_ms);
		conn_end(c, FWD_TIMEOUT, true, false, why);
		return;
	}
	/* re-armed when it fires, not on every read */
	if ((idle = ms_since(c, &c->last_io)) + 5 < limit) {
		arm(c, limit - idle);
		return;
	}
	snprintf(why, sizeof(why), "idle for %llu ms; both sides reset",
		 (unsigned long long)idle);
	conn_end(c, FWD_TIMEOUT, true, true, why);
}

/* close() then sends RST, not FIN */
static void
reset_on_free(struct bufferevent *b)
{
	struct linger l = { 1, 0 };
	int fd = b ? bufferevent_getfd(b) : -1;

	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

static void
conn_end(struct fwd_conn *c, enum fwd_outcome o, bool reset_cl, bool reset_tg,
	 const char *why)
{
	struct fwd *f = c->f;

	c->r->st.conns[o]++;
	c->r->st.active--;
	nacre_log(o == FWD_OK ? NACRE_LOG_DEBUG : NACRE_LOG_INFO, c->id,
		  "%s -> %s: client %s closed: %s%s%s, %llu bytes to the "
		  "target, %llu from it, %llu ms", c->r->listen.text,
		  c->r->target_text, c->who, nacre_fwd_outcome_name(o),
		  why ? ": " : "", why ? why : "",
		  (unsigned long long)c->to_target,
		  (unsigned long long)c->from_target,
		  (unsigned long long)ms_since(c, &c->start));
	if (reset_cl)
		reset_on_free(c->cl);
	if (reset_tg && c->connected)
		reset_on_free(c->tg);
	if (c->cl)
		bufferevent_free(c->cl);
	if (c->tg)
		bufferevent_free(c->tg);
	if (c->timer)
		event_free(c->timer);
	if (c->prev)
		c->prev->next = c->next;
	else
		f->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	f->nconns--;
	nacre_fwd_conn_closed(f);
}

void
nacre_fwd_conn_cut_all(struct fwd *f)
{
	while (f->conns)
		conn_end(f->conns, FWD_DRAIN, true, true,
			 "cut at the drain deadline");
}

/* both addresses IPv4-mapped (a [::] listener's IPv4 client): as IPv4 */
static void
unmap(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4 = { .sin_family = AF_INET };

	if (ss->ss_family != AF_INET6)
		return;
	memcpy(&s6, ss, sizeof(s6));
	if (!IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr))
		return;
	s4.sin_port = s6.sin6_port;
	memcpy(&s4.sin_addr, &s6.sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &s4, sizeof(s4));
	*len = sizeof(s4);
}

static bool
is_mapped(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	return ss->ss_family == AF_INET6 &&
	       IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr);
}

/* the PROXY v2 header first in the target's queue: the client's address
 * and the address it connected to */
static int
queue_proxy_header(struct fwd_conn *c, int fd, const struct sockaddr *peer,
		   int peerlen)
{
	struct sockaddr_storage src = { 0 }, dst = { 0 };
	socklen_t srclen = (socklen_t)peerlen, dstlen = sizeof(dst);
	uint8_t hdr[128];
	ssize_t n;

	if (peerlen <= 0 || (size_t)peerlen > sizeof(src) ||
	    getsockname(fd, (struct sockaddr *)&dst, &dstlen) < 0)
		return -1;
	memcpy(&src, peer, (size_t)peerlen);
	if (is_mapped(&src) && is_mapped(&dst)) {
		unmap(&src, &srclen);
		unmap(&dst, &dstlen);
	}
	n = nacre_pp2_encode(hdr, sizeof(hdr), (struct sockaddr *)&src,
			     (struct sockaddr *)&dst, NULL);
	if (n < 0)
		return -1;
	return evbuffer_add(bufferevent_get_output(c->tg), hdr, (size_t)n);
}

static int
connect_target(struct fwd_conn *c)
{
	struct fwd_rule *r = c->r;
	int fd;

	if (r->by_name)
		return bufferevent_socket_connect_hostname(c->tg, c->f->dns,
							   AF_UNSPEC, r->host,
							   r->port);
	/* our own socket: close-on-exec */
	fd = socket(r->target.ss.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bufferevent_setfd(c->tg, fd) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return bufferevent_socket_connect(c->tg,
					  (struct sockaddr *)&r->target.ss,
					  (int)r->target.sslen);
}

void
nacre_fwd_conn_start(struct fwd *f, struct fwd_rule *r, int fd,
		     const struct sockaddr *peer, int peerlen)
{
	struct fwd_conn *c = calloc(1, sizeof(*c));
	size_t cap = f->cfg->buffer;
	int rc;

	if (!c) {
		close(fd);
		r->st.conns[FWD_INTERNAL]++;
		return;
	}
	c->f = f;
	c->r = r;
	c->id = ++f->next_id;
	nacre_sockaddr_str(peer, (socklen_t)peerlen, c->who, sizeof(c->who));
	event_base_gettimeofday_cached(f->base, &c->start);
	c->last_io = c->start;
	c->next = f->conns;
	if (f->conns)
		f->conns->prev = c;
	f->conns = c;
	f->nconns++;
	r->st.active++;
	c->cl = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->tg = bufferevent_socket_new(f->base, -1, BEV_OPT_CLOSE_ON_FREE);
	c->timer = evtimer_new(f->base, on_timer, c);
	if (!c->cl)
		close(fd);
	if (!c->cl || !c->tg || !c->timer ||
	    (r->proxy_protocol && queue_proxy_header(c, fd, peer, peerlen) < 0)) {
		conn_end(c, FWD_INTERNAL, true, false,
			 "out of memory or no address for the PROXY header");
		return;
	}
	nacre_log(NACRE_LOG_DEBUG, c->id, "%s: client %s, connecting to %s",
		  r->listen.text, c->who, r->target_text);
	/* input never grows past the bound either: reads stop there */
	bufferevent_setwatermark(c->cl, EV_READ, 0, cap);
	bufferevent_setwatermark(c->tg, EV_READ, 0, cap);
	bufferevent_setwatermark(c->cl, EV_WRITE, cap / 2, 0);
	bufferevent_setwatermark(c->tg, EV_WRITE, cap / 2, 0);
	bufferevent_setcb(c->cl, on_read, on_write, on_event, c);
	bufferevent_setcb(c->tg, on_read, on_write, on_event, c);
	arm(c, f->cfg->connect_timeout_ms);
	/* the client is read at once: up to the bound waits for the target */
	bufferevent_enable(c->cl, EV_READ | EV_WRITE);
	c->starting = true;
	rc = connect_target(c);
	c->starting = false;
	if (rc < 0 && !c->start_failed)
		snprintf(c->why, sizeof(c->why), "cannot connect: %s",
			 strerror(errno));
	if (rc < 0 || c->start_failed)
		conn_end(c, FWD_CONNECT_FAILED, true, false, c->why);
}
