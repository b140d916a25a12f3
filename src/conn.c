/*
 * conn.c: one client connection, from accept to close: optional PROXY v2
 * header, TLS handshake, upstream connect, then the splice. Each direction
 * has one bounded buffer, allocated while data is in flight and freed when
 * it drains, so an idle connection holds no buffer of ours (and OpenSSL
 * releases its record buffers: SSL_MODE_RELEASE_BUFFERS). After the
 * handshake the client's records go through records/records.h: OpenSSL's
 * or, with tls.records = "compact", nacre's own.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <openssl/err.h>

#include "fresh.h"
#include "runtime.h"
#include "records/records.h"
#include "admin/stats.h"

enum conn_state { ST_PROXY, ST_HANDSHAKE, ST_CONNECT, ST_SPLICE };
/* what a blocked operation waits for */
enum wait { W_NONE = 0, W_READ = 1, W_WRITE = 2 };

struct buf {
	unsigned char *data; /* c->cap bytes (nacre_buf_get), or NULL */
	uint32_t head, tail;
};

struct nacre_conn {
	struct nacre_worker *w;
	struct nacre_gen *gen;
	struct nacre_conn *prev, *next;
	uint64_t id;
	enum conn_state state;
	int cfd, ufd;
	SSL *ssl;                 /* until the splice starts */
	struct nacre_records *tls; /* the splice's records (records.h) */
	/* one event per socket, its interest (ev_on) set by ev_set: two
	 * events where a read and a write event per socket took four
	 * (256 bytes fewer per connection) */
	struct event cev, uev, timer;
	struct event *aev; /* the fresh evidence's fd: made when a handshake
			      first waits for it, freed when it is over
			      (most connections never ask: 128 bytes fewer
			      for each of them) */
	unsigned ev_on; /* bit per event above that is added */
	uint32_t cap;

	/* splice: c2u carries client plaintext to the upstream */
	struct buf c2u, u2c;
	enum wait ssl_rd, ssl_wr, ssl_sd;
	bool u_rd_wait, u_wr_wait;
	bool c_eof, u_eof;         /* read sides finished */
	bool u_wr_shut, c_wr_shut; /* write sides finished (FIN / close_notify) */
	bool dead;                 /* a hard error: close after this pump */
	bool u_reset;              /* the upstream's stream broke (not a FIN) */
	bool u_wr_broken;          /* writes to the upstream fail: what the
				      client sends is dropped, what the
				      upstream says still goes to the client */
	/* an abnormal end is passed on as one: the other side is reset
	 * (RST), never closed cleanly (FIN, close_notify) */
	bool abort_client, abort_upstream;
	bool hold_ticket;          /* client writes carry MSG_MORE until the
				      first read: see records/openssl.c */
	bool c_tcp;                /* the client socket is TCP (MSG_MORE) */

	/* timeouts: a deadline is checked lazily when the timer fires */
	struct timeval last_io;
	uint64_t timeout_ms;

	/* PROXY v2 header from the listener's peer */
	uint16_t pp_len;
	unsigned char *pp_buf;
	struct sockaddr_storage peer;
	struct sockaddr_storage *pp_dst; /* the PROXY header's destination,
					    when it carried one */
	socklen_t peerlen;
	struct timeval connect_start;

	/* what the connection did, for the access log and the metrics */
	struct nacre_listener_stats *lstats; /* a reference */
	struct timeval start;
	uint64_t handshake_us;
	uint64_t bytes_in, bytes_out;
	const char *version, *cipher;    /* OpenSSL's static names */
	const char *detail;              /* static text, or NULL */
	char *meta;                      /* "SNI\0ALPN\0" when log.access */
	uint8_t reason;                  /* enum nacre_close + 1; 0: unset */
	bool attest_asked, acme_cert;
};

enum { EV_CR = 1, EV_CW = 2, EV_UR = 4, EV_UW = 8, EV_ASYNC = 16 };

static void conn_pump(struct nacre_conn *c);
static void conn_close(struct nacre_conn *c);
static void set_reason(struct nacre_conn *c, enum nacre_close r,
		       const char *detail);
static enum nacre_tls_ver failed_version(const SSL *ssl);
static void handshake_step(struct nacre_conn *c);
static void upstream_connect(struct nacre_conn *c);
static void proxy_read(struct nacre_conn *c);

struct nacre_conn *
nacre_conn_next(struct nacre_conn *c)
{
	return c->next;
}

static void client_cb(evutil_socket_t fd, short what, void *arg);
static void upstream_cb(evutil_socket_t fd, short what, void *arg);

/* what an event has been activated for and not yet delivered (epoll's
 * readiness in this loop iteration, or an event_active): libevent 2.1's
 * struct event (event_struct.h), which the connection embeds anyway */
static short
ev_queued(const struct event *ev)
{
	if (!event_initialized(ev) ||
	    !(ev->ev_evcallback.evcb_flags & (EVLIST_ACTIVE | EVLIST_ACTIVE_LATER)))
		return 0;
	return ev->ev_res & (EV_READ | EV_WRITE);
}

/* Watch the client's socket (BIT EV_CR, EV_CW) or the upstream's (EV_UR,
 * EV_UW) for reading or writing, or not. A change of a socket's interest
 * assigns its event again. event_del drops what the event was activated
 * for and not yet told (readiness epoll reported in this loop iteration,
 * the pump's yield): that is queued again after, or a socket whose
 * interest another callback keeps changing (the upstream's pump turning
 * the client's write interest on and off in a bulk transfer) would never
 * be told it is readable, and a client's bytes would wait for the
 * transfer to end. */
static void
ev_set(struct nacre_conn *c, unsigned bit, bool on)
{
	bool client = bit & (EV_CR | EV_CW);
	unsigned mask = client ? EV_CR | EV_CW : EV_UR | EV_UW;
	unsigned was = c->ev_on & mask;
	unsigned now = on ? was | bit : was & ~bit;
	struct event *ev = client ? &c->cev : &c->uev;
	short what = EV_PERSIST, queued;

	if (now == was)
		return;
	queued = ev_queued(ev);
	if (event_initialized(ev))
		event_del(ev);
	c->ev_on = (c->ev_on & ~mask) | now;
	if (now) {
		if (now & (EV_CR | EV_UR))
			what |= EV_READ;
		if (now & (EV_CW | EV_UW))
			what |= EV_WRITE;
		event_assign(ev, c->w->base, client ? c->cfd : c->ufd, what,
			     client ? client_cb : upstream_cb, c);
		event_add(ev, NULL);
	}
	if (queued)
		event_active(ev, queued, 0);
}

/* the async job's event, if the handshake made one */
static void
async_event_free(struct nacre_conn *c)
{
	if (c->aev)
		event_free(c->aev); /* deletes it first if added */
	c->aev = NULL;
	c->ev_on &= ~EV_ASYNC;
}

static void
touch(struct nacre_conn *c)
{
	event_base_gettimeofday_cached(c->w->base, &c->last_io);
}

static void
timer_arm(struct nacre_conn *c, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	c->timeout_ms = ms;
	touch(c);
	evtimer_add(&c->timer, &tv);
}

static const char *
state_name(enum conn_state s)
{
	switch (s) {
	case ST_PROXY: return "waiting for the PROXY header";
	case ST_HANDSHAKE: return "in the TLS handshake";
	case ST_CONNECT: return "connecting to the upstream";
	default: return "idle";
	}
}

/* The idle timer is re-armed only when it fires, not on every read. */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nacre_conn *c = arg;
	struct timeval now, left;
	uint64_t idle_ms;

	if (c->state == ST_CONNECT && c->ufd < 0) {
		upstream_connect(c); /* retry after EAGAIN from a unix socket */
		return;
	}
	event_base_gettimeofday_cached(c->w->base, &now);
	idle_ms = (uint64_t)(now.tv_sec - c->last_io.tv_sec) * 1000 +
		  (uint64_t)((now.tv_usec - c->last_io.tv_usec) / 1000);
	if (c->state == ST_SPLICE && idle_ms + 5 < c->timeout_ms) {
		uint64_t rest = c->timeout_ms - idle_ms;
		left.tv_sec = (time_t)(rest / 1000);
		left.tv_usec = (suseconds_t)(rest % 1000) * 1000;
		evtimer_add(&c->timer, &left);
		return;
	}
	nacre_log(NACRE_LOG_INFO, c->id, "timeout after %llu ms %s; closing",
		  (unsigned long long)c->timeout_ms, state_name(c->state));
	set_reason(c, NACRE_CLOSE_TIMEOUT, state_name(c->state));
	if (c->state == ST_HANDSHAKE)
		nacre_stats_handshake(true, failed_version(c->ssl),
				      nacre_tls_attestation_asked(c->ssl), 0);
	conn_close(c);
}

/* ---- buffers ---- */

static bool
buf_alloc(struct nacre_conn *c, struct buf *b)
{
	if (b->data)
		return true;
	b->data = nacre_buf_get(c->cap);
	b->head = b->tail = 0;
	return b->data != NULL;
}

static void
buf_consumed(const struct nacre_conn *c, struct buf *b, uint32_t n)
{
	b->head += n;
	if (b->head == b->tail) {
		/* drained: give the memory back while the peer thinks, and
		 * no plaintext with it to the next connection */
		OPENSSL_cleanse(b->data, b->tail);
		nacre_buf_put(b->data, c->cap);
		b->data = NULL;
		b->head = b->tail = 0;
	}
}

static uint32_t
buf_room(const struct nacre_conn *c, const struct buf *b)
{
	return b->data ? c->cap - b->tail : c->cap;
}

static uint32_t
buf_len(const struct buf *b)
{
	return b->tail - b->head;
}

/* ---- lifecycle ---- */

/* close() then sends RST, not FIN: the peer sees a broken stream */
static void
reset_on_close(int fd)
{
	struct linger l = { 1, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

/* the first cause of the end is the one reported */
static void
set_reason(struct nacre_conn *c, enum nacre_close r, const char *detail)
{
	if (c->reason)
		return;
	c->reason = (uint8_t)(r + 1);
	c->detail = detail;
}

static uint64_t
us_since(const struct nacre_conn *c, const struct timeval *t0)
{
	struct timeval now;

	event_base_gettimeofday_cached(c->w->base, &now);
	if (now.tv_sec < t0->tv_sec ||
	    (now.tv_sec == t0->tv_sec && now.tv_usec < t0->tv_usec))
		return 0;
	return (uint64_t)(now.tv_sec - t0->tv_sec) * 1000000 +
	       (uint64_t)((int64_t)now.tv_usec - t0->tv_usec);
}

/* the connection's record: to the access log and the counters */
static void
report(struct nacre_conn *c)
{
	struct nacre_conn_summary s = {
		.id = c->id,
		.listener = c->lstats ? c->lstats->text : "",
		.client = (const struct sockaddr *)&c->peer,
		.clientlen = c->peerlen,
		.version = c->version, .cipher = c->cipher,
		.attestation_asked = c->attest_asked, .acme_cert = c->acme_cert,
		.duration_us = us_since(c, &c->start),
		.handshake_us = c->handshake_us,
		.bytes_in = c->bytes_in, .bytes_out = c->bytes_out,
		.detail = c->detail,
	};

	if (c->reason)
		s.reason = (enum nacre_close)(c->reason - 1);
	else if (c->u_reset)
		s.reason = NACRE_CLOSE_UPSTREAM_ERROR;
	else
		s.reason = NACRE_CLOSE_OK;
	if (c->meta) {
		s.sni = c->meta[0] ? c->meta : NULL;
		s.alpn = c->meta + strlen(c->meta) + 1;
		if (!*s.alpn)
			s.alpn = NULL;
	}
	nacre_stats_conn_closed(c->lstats, &s);
	if (c->gen->cfg->log_access)
		nacre_log_access(&s);
	nacre_listener_stats_unref(c->lstats);
}

static void
conn_free(struct nacre_conn *c)
{
	struct nacre_worker *w = c->w;

	report(c);
	free(c->meta);

	if (event_initialized(&c->cev))
		event_del(&c->cev);
	event_del(&c->timer);
	if (c->ufd >= 0) {
		/* assigned only once the connect got that far */
		if (event_initialized(&c->uev))
			event_del(&c->uev);
		if (c->abort_upstream)
			reset_on_close(c->ufd);
		close(c->ufd);
	}
	async_event_free(c);
	if (c->ssl && SSL_waiting_for_async(c->ssl)) {
		/* a paused async job would leak with the SSL: resume it
		 * once, abandoned, so that it ends (the fresh thread
		 * drops the document when it comes) */
		nacre_tls_fresh_abandon(c->ssl);
		(void)nacre_secrets_handshake(c->ssl);
		if (SSL_waiting_for_async(c->ssl))
			nacre_log(NACRE_LOG_WARN, c->id, "fresh evidence: the "
				  "handshake's async job did not end");
		ERR_clear_error();
	}
	if (c->abort_client)
		reset_on_close(c->cfd);
	SSL_free(c->ssl);
	nacre_records_free(c->tls);
	close(c->cfd);
	if (c->c2u.data)
		OPENSSL_cleanse(c->c2u.data, c->c2u.tail);
	if (c->u2c.data)
		OPENSSL_cleanse(c->u2c.data, c->u2c.tail);
	nacre_buf_put(c->c2u.data, c->cap);
	nacre_buf_put(c->u2c.data, c->cap);
	free(c->pp_buf);
	nacre_pool_free(c->pp_dst);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	nacre_gen_unref(c->gen);
	nacre_pool_free(c);
	atomic_fetch_add_explicit(&nacre_heap_events, 1, memory_order_relaxed);
	w->nconns--;
	atomic_fetch_sub_explicit(&nacre_nconns, 1, memory_order_relaxed);
	nacre_worker_conn_closed(w);
}

static void
conn_close(struct nacre_conn *c)
{
	nacre_log(NACRE_LOG_DEBUG, c->id, "closed");
	conn_free(c);
}

void
nacre_conn_abort(struct nacre_conn *c, const char *why)
{
	nacre_log(NACRE_LOG_INFO, c->id, "closing: %s", why);
	set_reason(c, c->state == ST_PROXY ? NACRE_CLOSE_PROXY_HEADER :
		   NACRE_CLOSE_INTERNAL, NULL);
	conn_free(c);
}

void
nacre_conn_drain_close(struct nacre_conn *c, const char *why)
{
	set_reason(c, NACRE_CLOSE_DRAIN, NULL);
	nacre_conn_abort(c, why);
}

static void
log_ssl_error(struct nacre_conn *c, int level, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[200] = "connection reset or closed";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	else if (errno)
		snprintf(buf, sizeof(buf), "%s", strerror(errno));
	nacre_log(level, c->id, "%s: %s", what, buf);
	ERR_clear_error();
}

/* ---- event callbacks: record readiness, then pump ---- */

static void
client_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nacre_conn *c = arg;

	if (c->state == ST_PROXY) {
		proxy_read(c);
		return;
	}
	if (c->state == ST_HANDSHAKE) {
		handshake_step(c);
		return;
	}
	if (c->state == ST_CONNECT) {
		/* the request came before the upstream answered: read it
		 * once the upstream is connected */
		ev_set(c, EV_CR, false);
		return;
	}
	if (what & EV_READ) {
		if (c->ssl_rd == W_READ) c->ssl_rd = W_NONE;
		if (c->ssl_wr == W_READ) c->ssl_wr = W_NONE;
		if (c->ssl_sd == W_READ) c->ssl_sd = W_NONE;
	}
	if (what & EV_WRITE) {
		if (c->ssl_rd == W_WRITE) c->ssl_rd = W_NONE;
		if (c->ssl_wr == W_WRITE) c->ssl_wr = W_NONE;
		if (c->ssl_sd == W_WRITE) c->ssl_sd = W_NONE;
	}
	conn_pump(c);
}

static void
upstream_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nacre_conn *c = arg;

	if (c->state == ST_CONNECT) {
		upstream_connect(c);
		return;
	}
	if (what & EV_READ)
		c->u_rd_wait = false;
	if (what & EV_WRITE)
		c->u_wr_wait = false;
	conn_pump(c);
}

/* ---- PROXY v2 from the listener's peer ---- */

static void
proxy_done(struct nacre_conn *c, const struct nacre_pp2_info *pi)
{
	char src[160];

	if (!pi->local && pi->family != AF_UNSPEC) {
		memcpy(&c->peer, &pi->src, sizeof(c->peer));
		c->peerlen = pi->srclen;
		/* kept (only) for the PROXY header we send upstream */
		if (!(c->pp_dst = nacre_pool_alloc(sizeof(*c->pp_dst)))) {
			set_reason(c, NACRE_CLOSE_INTERNAL, "out of memory");
			nacre_conn_abort(c, "out of memory keeping the PROXY "
					 "header's destination");
			return;
		}
		memcpy(c->pp_dst, &pi->dst, sizeof(*c->pp_dst));
	}
	free(c->pp_buf);
	c->pp_buf = NULL;
	if (nacre_log_on(NACRE_LOG_DEBUG)) {
		nacre_sockaddr_str((struct sockaddr *)&c->peer, c->peerlen, src,
				   sizeof(src));
		nacre_log(NACRE_LOG_DEBUG, c->id, "PROXY v2: client %s", src);
	}
	c->state = ST_HANDSHAKE;
	handshake_step(c);
}

/* Reads exactly the header (never into the TLS bytes behind it). */
static void
proxy_read(struct nacre_conn *c)
{
	struct nacre_pp2_info pi;
	const char *err = NULL;
	size_t want;
	ssize_t n, r;

	if (!c->pp_buf && !(c->pp_buf = malloc(NACRE_PP2_HDR_MAX))) {
		set_reason(c, NACRE_CLOSE_INTERNAL, NULL);
		nacre_conn_abort(c, "out of memory");
		return;
	}
	for (;;) {
		want = c->pp_len < 16 ? 16 : 16 + (((size_t)c->pp_buf[14] << 8) |
						   c->pp_buf[15]);
		if (want > NACRE_PP2_HDR_MAX)
			want = NACRE_PP2_HDR_MAX; /* the parser rejects it */
		if (c->pp_len < want) {
			n = read(c->cfd, c->pp_buf + c->pp_len, want - c->pp_len);
			if (n == 0) {
				nacre_conn_abort(c, "client closed before its PROXY header");
				return;
			}
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return;
				nacre_conn_abort(c, strerror(errno));
				return;
			}
			c->pp_len += (uint16_t)n;
		}
		r = nacre_pp2_parse(c->pp_buf, c->pp_len, &pi, &err);
		if (r < 0) {
			char why[300];
			snprintf(why, sizeof(why), "bad PROXY header: %s",
				 err ? err : "invalid");
			nacre_conn_abort(c, why);
			return;
		}
		if (r > 0) {
			proxy_done(c, &pi);
			return;
		}
		if (c->pp_len >= want && want >= NACRE_PP2_HDR_MAX) {
			nacre_conn_abort(c, "bad PROXY header: too long");
			return;
		}
	}
}

/* ---- TLS handshake ---- */

/* a handshake that failed: its version, once the ServerHello chose one */
static enum nacre_tls_ver
failed_version(const SSL *ssl)
{
	OSSL_HANDSHAKE_STATE st = SSL_get_state(ssl);

	if (st == TLS_ST_BEFORE || st == TLS_ST_SR_CLNT_HELLO ||
	    st == DTLS_ST_SW_HELLO_VERIFY_REQUEST)
		return NACRE_VER_NONE;
	return nacre_tls_ver_of(SSL_version(ssl));
}

/* what the handshake settled, kept past the SSL (compact frees it) */
static void
handshake_done(struct nacre_conn *c)
{
	enum nacre_tls_ver v = nacre_tls_ver_of(SSL_version(c->ssl));

	c->handshake_us = us_since(c, &c->start);
	c->version = SSL_get_version(c->ssl);
	c->cipher = SSL_get_cipher_name(c->ssl);
	c->attest_asked = nacre_tls_attestation_asked(c->ssl);
	c->acme_cert = nacre_tls_acme_served(c->ssl);
	nacre_stats_handshake(false, v, c->attest_asked, c->handshake_us);
	if (c->acme_cert)
		atomic_fetch_add_explicit(&nacre_stats.acme_served, 1,
					  memory_order_relaxed);
	if (c->gen->cfg->log_access) {
		const char *sni = SSL_get_servername(c->ssl,
						     TLSEXT_NAMETYPE_host_name);
		const unsigned char *alpn;
		unsigned alen;
		size_t slen = sni ? strnlen(sni, 255) : 0;

		SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
		if ((c->meta = malloc(slen + alen + 2))) {
			memcpy(c->meta, sni ? sni : "", slen);
			c->meta[slen] = '\0';
			if (alen) /* no ALPN agreed: alpn is NULL */
				memcpy(c->meta + slen + 1, alpn, alen);
			c->meta[slen + 1 + alen] = '\0';
		}
	}
}

/* the fresh evidence this handshake waits for is ready (tls_fresh.c) */
static void
async_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nacre_conn *c = arg;

	c->ev_on &= ~EV_ASYNC; /* not persistent */
	handshake_step(c);
}

/* SSL_ERROR_WANT_ASYNC: wait for the job's fd, not for the client */
static bool
wait_async(struct nacre_conn *c)
{
	OSSL_ASYNC_FD fd;
	size_t n = 0;

	if (!SSL_get_all_async_fds(c->ssl, NULL, &n) || n != 1 ||
	    !SSL_get_all_async_fds(c->ssl, &fd, &n))
		return false;
	ev_set(c, EV_CR, false);
	ev_set(c, EV_CW, false);
	if (!c->aev && !(c->aev = event_new(c->w->base, fd, EV_READ,
					    async_cb, c)))
		return false;
	if (c->ev_on & EV_ASYNC)
		event_del(c->aev);
	c->ev_on &= ~EV_ASYNC;
	/* the job's fd can change between waits: assign it each time */
	if (event_assign(c->aev, c->w->base, fd, EV_READ, async_cb, c) < 0 ||
	    event_add(c->aev, NULL) < 0)
		return false;
	c->ev_on |= EV_ASYNC;
	return true;
}

static void
handshake_step(struct nacre_conn *c)
{
	/* Once the client's Finished is read, OpenSSL 3.0 writes the session
	 * ticket on the next SSL_read: hold it (MSG_MORE) for the first
	 * response or the FIN to carry. The server waits for that Finished
	 * in TLS_ST_EARLY_DATA (TLS 1.3, with or without early data). */
	OSSL_HANDSHAKE_STATE st = SSL_get_state(c->ssl);
	bool more = st == TLS_ST_EARLY_DATA || st == TLS_ST_SW_FINISHED;
	int r;

	if (more)
		nacre_sockbio_more(SSL_get_wbio(c->ssl), true);
	/* with OpenSSL's records the SSL lives as long as the connection,
	 * and so does what the handshake hangs on it (session, key shares,
	 * transcript, the application cipher contexts: ~6 KB in small
	 * objects): from the pool, packed, instead of pinning heap pages
	 * between the handshakes' short-lived allocations. Not its buffers
	 * (4 KiB and up, freed when it ends): in the pool they would stay
	 * as free slots, one set per handshake in flight at the peak */
	nacre_pool_crypto(c->gen->cfg->tls.records == NACRE_RECORDS_OPENSSL ?
			  NACRE_POOL_HANDSHAKE_MAX : 0);
	r = nacre_secrets_handshake(c->ssl); /* SSL_do_handshake */
	/* a request for fresh evidence: OpenSSL calls the ClientHello
	 * callback again, now inside an async job (tls_fresh.c) */
	if (r <= 0 && SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_CLIENT_HELLO_CB)
		r = nacre_secrets_handshake(c->ssl);
	nacre_pool_crypto(0);
	if (more && r == 1)
		c->hold_ticket = true; /* until the first SSL_read is done */
	else if (more)
		nacre_sockbio_more(SSL_get_wbio(c->ssl), false);

	if (r == 1) {
		/* reads and writes from now on need no async job */
		SSL_clear_mode(c->ssl, SSL_MODE_ASYNC);
		async_event_free(c);
		handshake_done(c);
		if (nacre_log_on(NACRE_LOG_DEBUG)) {
			const char *sni = SSL_get_servername(c->ssl,
							     TLSEXT_NAMETYPE_host_name);
			char esc[300];
			nacre_escape(sni ? sni : "-", strlen(sni ? sni : "-"), esc,
				     sizeof(esc));
			nacre_log(NACRE_LOG_DEBUG, c->id, "handshake done: %s %s "
				  "sni=\"%s\"%s", SSL_get_version(c->ssl),
				  SSL_get_cipher_name(c->ssl), esc,
				  nacre_tls_attestation_asked(c->ssl) ?
				  " attestation asked" : "");
		}
		/* a CA's tls-alpn-01 validation: the handshake was all it
		 * wanted; nothing goes upstream (RFC 8737 3) */
		{
			const unsigned char *alpn;
			unsigned alen;
			SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
			if (alen == 10 && memcmp(alpn, "acme-tls/1", 10) == 0) {
				nacre_log(NACRE_LOG_INFO, c->id, "tls-alpn-01: "
					  "challenge certificate served");
				set_reason(c, NACRE_CLOSE_ACME_CHALLENGE, NULL);
				conn_close(c);
				return;
			}
		}
		/* the handshake's memory is freed: worth a trim (main.c) */
		atomic_fetch_add_explicit(&nacre_heap_events, 1, memory_order_relaxed);
		/* crev stays added: the splice reads the client next, and
		 * an early request is read when the upstream is ready */
		ev_set(c, EV_CW, false);
		c->state = ST_CONNECT;
		upstream_connect(c);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		ev_set(c, EV_CW, false);
		ev_set(c, EV_CR, true);
		return;
	case SSL_ERROR_WANT_WRITE:
		ev_set(c, EV_CR, false);
		ev_set(c, EV_CW, true);
		return;
	case SSL_ERROR_WANT_ASYNC:
		if (wait_async(c))
			return;
		set_reason(c, NACRE_CLOSE_INTERNAL, "fresh evidence");
		nacre_conn_abort(c, "cannot wait for the fresh evidence");
		return;
	default:
		{
			unsigned long e = ERR_peek_error();
			set_reason(c, NACRE_CLOSE_HANDSHAKE, e ?
				   ERR_reason_error_string(e) : NULL);
		}
		nacre_stats_handshake(true, failed_version(c->ssl),
				      nacre_tls_attestation_asked(c->ssl), 0);
		log_ssl_error(c, NACRE_LOG_INFO, "TLS handshake failed");
		conn_close(c);
	}
}

/* TLS records and request/response traffic go out whole; waiting for an
 * ACK before sending a short tail (Nagle) only adds latency here. */
static void
set_nodelay(int fd, const struct sockaddr *sa)
{
	int one = 1;

	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* ---- upstream ---- */

static size_t
proxy_header_out(struct nacre_conn *c, unsigned char *out, size_t cap)
{
	struct nacre_pp2_tls t = { 0 };
	struct sockaddr_storage here;
	const unsigned char *alpn;
	unsigned alpnlen;
	char alpnbuf[256];
	ssize_t n;

	SSL_get0_alpn_selected(c->ssl, &alpn, &alpnlen);
	if (alpnlen) {
		memcpy(alpnbuf, alpn, alpnlen);
		alpnbuf[alpnlen] = '\0';
		t.alpn = alpnbuf;
	}
	/* the app gets only a name that is a host name: a client can put
	 * any bytes in its SNI */
	t.sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
	if (t.sni && !nacre_hostname_valid(t.sni)) {
		char esc[300];
		nacre_escape(t.sni, strlen(t.sni), esc, sizeof(esc));
		nacre_log(NACRE_LOG_INFO, c->id, "SNI \"%s\" is not a host name: "
			  "left out of the PROXY header", esc);
		t.sni = NULL;
	}
	t.version = SSL_get_version(c->ssl);
	if (!c->pp_dst) { /* our own address: asked for only here, once */
		socklen_t len = sizeof(here);
		if (getsockname(c->cfd, (struct sockaddr *)&here, &len) < 0)
			memset(&here, 0, sizeof(here));
	}
	t.cipher = SSL_get_cipher_name(c->ssl);
	n = nacre_pp2_encode(out, cap, (struct sockaddr *)&c->peer,
			     (struct sockaddr *)(c->pp_dst ? c->pp_dst : &here), &t);
	return n > 0 ? (size_t)n : 0;
}

/* The splice starts: the records go to OpenSSL's layer or, with records =
 * "compact" and TLS 1.3, to nacre's own, which frees the SSL (most of an
 * idle connection's memory). false: the connection is gone. */
static bool
start_records(struct nacre_conn *c)
{
	const char *why = NULL;
	bool lost = false;

	if (c->gen->cfg->tls.records == NACRE_RECORDS_COMPACT) {
		c->tls = nacre_records_compact(c->ssl, c->cfd, c->c_tcp, &why, &lost);
		if (c->tls) {
			SSL_free(c->ssl);
			c->ssl = NULL;
			c->hold_ticket = false;
			nacre_log(NACRE_LOG_DEBUG, c->id,
				  "TLS records: compact (SSL freed)");
			return true;
		}
		if (lost) {
			nacre_conn_abort(c, why);
			return false;
		}
	}
	if (!(c->tls = nacre_records_openssl(c->ssl, c->hold_ticket))) {
		nacre_conn_abort(c, "out of memory");
		return false;
	}
	c->ssl = NULL; /* the records own it now */
	if (why)
		nacre_log(NACRE_LOG_DEBUG, c->id, "TLS records: openssl (%s)", why);
	else
		nacre_log(NACRE_LOG_DEBUG, c->id, "TLS records: openssl");
	return true;
}

static void
upstream_ready(struct nacre_conn *c)
{
	const struct nacre_config *cfg = c->gen->cfg;

	c->state = ST_SPLICE;
	ev_set(c, EV_UR, false); /* the pump says what to watch */
	ev_set(c, EV_UW, false);
	/* the app answers what it is sent (or, if it speaks first, epoll
	 * says so): no recv() to hear EAGAIN before the first request */
	c->u_rd_wait = true;
	if (cfg->upstream.proxy_protocol == NACRE_PP_V2) {
		size_t n;
		if (!buf_alloc(c, &c->c2u)) {
			nacre_conn_abort(c, "out of memory");
			return;
		}
		n = proxy_header_out(c, c->c2u.data, c->cap);
		if (!n) {
			nacre_conn_abort(c, "cannot encode the PROXY header");
			return;
		}
		c->c2u.tail = (uint32_t)n;
	}
	if (!start_records(c))
		return;
	timer_arm(c, cfg->limits.idle_timeout_ms);
	conn_pump(c);
}

static void
upstream_fail(struct nacre_conn *c, int err)
{
	char why[300];

	snprintf(why, sizeof(why), "upstream %s: %s", c->gen->cfg->upstream.addr.text,
		 strerror(err));
	set_reason(c, NACRE_CLOSE_UPSTREAM_CONNECT, strerror(err));
	nacre_stats_upstream_fail(err);
	/* close_notify, so the client sees a clean close rather than a reset */
	SSL_shutdown(c->ssl);
	nacre_log(NACRE_LOG_WARN, c->id, "closing: %s", why);
	conn_free(c);
}

/* Unix sockets answer EAGAIN when the app's backlog is full: retry. */
#define UNIX_RETRY_MS 10

static void
upstream_connect(struct nacre_conn *c)
{
	const struct nacre_addr *a = &c->gen->cfg->upstream.addr;
	int err = 0;
	socklen_t el = sizeof(err);

	if (c->ufd >= 0) {
		/* a connect in progress has finished */
		if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		ev_set(c, EV_UW, false);
		if (err) {
			upstream_fail(c, err);
			return;
		}
		upstream_ready(c);
		return;
	}
	if (c->connect_start.tv_sec == 0)
		event_base_gettimeofday_cached(c->w->base, &c->connect_start);
	c->ufd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->ufd < 0) {
		upstream_fail(c, errno);
		return;
	}
	set_nodelay(c->ufd, (const struct sockaddr *)&a->ss);
	if (connect(c->ufd, (const struct sockaddr *)&a->ss, a->sslen) == 0) {
		upstream_ready(c);
		return;
	}
	err = errno;
	if (err == EAGAIN && a->kind == NACRE_ADDR_UNIX) {
		struct timeval now, tv = { 0, UNIX_RETRY_MS * 1000 };
		event_base_gettimeofday_cached(c->w->base, &now);
		close(c->ufd);
		c->ufd = -1;
		if ((uint64_t)(now.tv_sec - c->connect_start.tv_sec) * 1000 >=
		    c->gen->cfg->limits.connect_timeout_ms) {
			upstream_fail(c, ETIMEDOUT);
			return;
		}
		evtimer_add(&c->timer, &tv);
		return;
	}
	if (err != EINPROGRESS) {
		upstream_fail(c, err);
		return;
	}
	/* On loopback the TCP handshake has usually finished inside
	 * connect(): one poll() then saves a trip through the event loop
	 * (epoll_ctl add, epoll_wait, getsockopt, epoll_ctl del). */
	{
		struct pollfd p = { .fd = c->ufd, .events = POLLOUT };
		if (poll(&p, 1, 0) == 1 && p.revents == POLLOUT) {
			upstream_ready(c);
			return;
		}
	}
	ev_set(c, EV_UW, true);
	timer_arm(c, c->gen->cfg->limits.connect_timeout_ms);
}

/* ---- the splice ---- */

static void
set_wait(enum wait *w, int st)
{
	*w = st == NACRE_IO_WANT_WRITE ? W_WRITE : W_READ;
}

/* client records -> c2u buffer */
static bool
client_read(struct nacre_conn *c)
{
	bool progress = false;

	while (!c->c_eof && c->ssl_rd == W_NONE && buf_room(c, &c->c2u) > 0) {
		size_t got;
		int st;

		if (!buf_alloc(c, &c->c2u))
			return false;
		st = nacre_records_read(c->tls, c->c2u.data + c->c2u.tail,
					buf_room(c, &c->c2u), &got);
		if (st == NACRE_IO_OK) {
			c->c2u.tail += (uint32_t)got;
			progress = true;
			continue;
		}
		if (st == NACRE_IO_EOF) {
			c->c_eof = true;
			progress = true;
		} else if (st == NACRE_IO_ERR) {
			/* a truncated or broken request: the app must not
			 * take what it got for all of it */
			nacre_log(NACRE_LOG_DEBUG, c->id, "client read: %s",
				  nacre_records_error(c->tls));
			set_reason(c, NACRE_CLOSE_CLIENT_ERROR, NULL);
			c->dead = true;
			c->abort_upstream = true;
			return true;
		} else {
			set_wait(&c->ssl_rd, st);
		}
		break;
	}
	if (c->c2u.data && buf_len(&c->c2u) == 0)
		buf_consumed(c, &c->c2u, 0);
	return progress;
}

/* c2u buffer -> upstream socket */
static bool
upstream_write(struct nacre_conn *c)
{
	bool progress = false;

	while (buf_len(&c->c2u) > 0 && !c->u_wr_wait && !c->u_wr_broken) {
		ssize_t n = send(c->ufd, c->c2u.data + c->c2u.head,
				 buf_len(&c->c2u), MSG_NOSIGNAL);
		if (n > 0) {
			buf_consumed(c, &c->c2u, (uint32_t)n);
			c->bytes_in += (uint64_t)n;
			progress = true;
			continue;
		}
		if (errno == EAGAIN || errno == EINTR) {
			c->u_wr_wait = errno == EAGAIN;
			continue;
		}
		/* the app stopped reading (an early answer to an upload,
		 * then close): its answer may still be on the way, so keep
		 * reading it; what the client sends now goes nowhere */
		nacre_log(NACRE_LOG_DEBUG, c->id, "upstream write: %s", strerror(errno));
		c->u_wr_broken = true;
		/* a reset is reported once, here: the reads that follow see
		 * only an EOF, which must not pass for a clean end */
		if (errno == ECONNRESET)
			c->u_reset = true;
		break;
	}
	if (c->u_wr_broken && buf_len(&c->c2u) > 0) {
		buf_consumed(c, &c->c2u, buf_len(&c->c2u));
		progress = true;
	}
	if (c->c_eof && buf_len(&c->c2u) == 0 && !c->u_wr_shut) {
		/* when the other way is over too, close() follows at once
		 * and sends the FIN itself */
		if (!(c->u_eof && c->c_wr_shut))
			shutdown(c->ufd, SHUT_WR);
		c->u_wr_shut = true;
		progress = true;
	}
	return progress;
}

/* upstream socket -> u2c buffer */
static bool
upstream_read(struct nacre_conn *c)
{
	bool progress = false;

	while (!c->u_eof && !c->u_rd_wait && buf_room(c, &c->u2c) > 0) {
		ssize_t n;

		if (!buf_alloc(c, &c->u2c))
			return false;
		size_t want = buf_room(c, &c->u2c);
		n = recv(c->ufd, c->u2c.data + c->u2c.tail, want, 0);
		if (n > 0) {
			c->u2c.tail += (uint32_t)n;
			progress = true;
			/* a short read drained the socket: epoll will say
			 * when there is more (or EOF) */
			if ((size_t)n < want)
				c->u_rd_wait = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			c->u_rd_wait = true;
		else {
			/* a FIN ends the stream; a reset (or any error)
			 * breaks it, and the client is told so */
			if (n < 0) {
				nacre_log(NACRE_LOG_DEBUG, c->id, "upstream read: %s",
					  strerror(errno));
				c->u_reset = true;
			}
			c->u_eof = true;
			progress = true;
		}
		if (buf_len(&c->u2c) == 0)
			buf_consumed(c, &c->u2c, 0);
	}
	return progress;
}

/* u2c buffer -> client records; after the upstream's EOF, close_notify
 * + FIN */
static bool
client_write(struct nacre_conn *c)
{
	bool progress = false;

	while (buf_len(&c->u2c) > 0 && c->ssl_wr == W_NONE && !c->c_wr_shut) {
		size_t took;
		int st = nacre_records_write(c->tls, c->u2c.data + c->u2c.head,
					     buf_len(&c->u2c), &took);
		if (st == NACRE_IO_OK) {
			buf_consumed(c, &c->u2c, (uint32_t)took);
			c->bytes_out += took;
			progress = true;
			continue;
		}
		if (st == NACRE_IO_ERR || st == NACRE_IO_EOF) {
			nacre_log(NACRE_LOG_DEBUG, c->id, "client write: %s",
				  nacre_records_error(c->tls));
			set_reason(c, NACRE_CLOSE_CLIENT_ERROR, NULL);
			c->dead = true;
			c->abort_upstream = true;
			return true;
		}
		set_wait(&c->ssl_wr, st);
	}
	if (c->u_eof && c->u_reset && buf_len(&c->u2c) == 0 && !c->c_wr_shut) {
		/* what the upstream sent before it broke is sent; the client
		 * learns of the break from a FIN without close_notify (a
		 * truncation in TLS terms). Not an RST: that would throw away
		 * what is still in the socket's send queue. */
		nacre_log(NACRE_LOG_DEBUG, c->id, "upstream broke off: closing the "
			  "client connection without close_notify");
		if (!c->c_eof)
			shutdown(c->cfd, SHUT_WR);
		c->c_wr_shut = true;
		c->dead = true;
		return true;
	}
	if (c->u_eof && buf_len(&c->u2c) == 0 && !c->c_wr_shut &&
	    c->ssl_sd == W_NONE) {
		int st = nacre_records_shutdown(c->tls);

		if (st == NACRE_IO_WANT_READ || st == NACRE_IO_WANT_WRITE) {
			set_wait(&c->ssl_sd, st);
			return progress;
		}
		/* sent, or it cannot be: the write side is over either way */
		if (st == NACRE_IO_OK && !(c->c_eof && c->u_wr_shut))
			shutdown(c->cfd, SHUT_WR); /* else close() follows */
		c->c_wr_shut = true;
		progress = true;
	}
	return progress;
}

static bool
waits_on(const struct nacre_conn *c, enum wait w)
{
	return (c->ssl_rd == w && !c->c_eof && buf_room(c, &c->c2u) > 0) ||
	       (c->ssl_wr == w && buf_len(&c->u2c) > 0) ||
	       (c->ssl_sd == w && !c->c_wr_shut);
}

static void
conn_pump(struct nacre_conn *c)
{
	bool progress;
	int rounds = 0;

	/* after a hard error nothing more is done: the records that failed
	 * have sent their alert, once */
	do {
		progress = client_read(c);
		if (!c->dead)
			progress |= upstream_write(c);
		if (!c->dead)
			progress |= upstream_read(c);
		if (!c->dead)
			progress |= client_write(c);
	} while (progress && !c->dead && ++rounds < 16);

	if (c->dead) {
		conn_close(c);
		return;
	}

	if (rounds > 0 || progress)
		touch(c);
	if (c->c_eof && c->u_eof && c->u_wr_shut && c->c_wr_shut &&
	    buf_len(&c->c2u) == 0 && buf_len(&c->u2c) == 0) {
		conn_close(c);
		return;
	}
	ev_set(c, EV_CR, waits_on(c, W_READ));
	ev_set(c, EV_CW, waits_on(c, W_WRITE));
	ev_set(c, EV_UR, c->u_rd_wait && !c->u_eof &&
				       buf_room(c, &c->u2c) > 0);
	ev_set(c, EV_UW, c->u_wr_wait && buf_len(&c->c2u) > 0);
	if (progress && rounds >= 16) {
		/* yield to other connections; come back at once */
		event_active(&c->cev, EV_WRITE, 0);
	}
}

/* ---- accept ---- */

void
nacre_conn_start(struct nacre_worker *w, int fd, struct nacre_listener *l,
		 bool proxy_protocol, const struct sockaddr *peer,
		 socklen_t peerlen)
{
	struct nacre_gen *g = w->gen;
	struct nacre_conn *c = nacre_pool_alloc(sizeof(*c)); /* pool.c */
	char addr[160];
	BIO *bio = NULL;

	bool tcp = peer->sa_family == AF_INET || peer->sa_family == AF_INET6;

	/* the SSL object holds the traffic secrets inline: when it lives as
	 * long as the connection (OpenSSL's records), from the pool, which is
	 * left out of memory dumps (pool.c); "compact" frees it after the
	 * handshake (and pool.c wipes what OpenSSL frees) */
	if (c) {
		bool pooled = g->cfg->tls.records == NACRE_RECORDS_OPENSSL;
		nacre_pool_crypto(pooled ? NACRE_POOL_ALL : 0);
		c->ssl = SSL_new(g->ssl_ctx);
		nacre_pool_crypto(0);
	}
	if (c && c->ssl)
		nacre_tls_set_served(c->ssl, g->acme); /* g outlives c */
	if (!c || !c->ssl || !(bio = nacre_sockbio_new(fd, tcp))) {
		log_err("out of memory accepting a connection");
		if (c)
			SSL_free(c->ssl);
		nacre_pool_free(c);
		close(fd);
		return;
	}
	SSL_set_bio(c->ssl, bio, bio); /* TCP_NODELAY comes from the listener */
	c->w = w;
	c->gen = g;
	nacre_gen_ref(g);
	c->id = atomic_fetch_add_explicit(&nacre_next_conn_id, 1, memory_order_relaxed);
	c->cfd = fd;
	c->c_tcp = tcp;
	c->ufd = -1;
	c->cap = (uint32_t)g->cfg->limits.buffer;
	c->state = proxy_protocol ? ST_PROXY : ST_HANDSHAKE;
	memcpy(&c->peer, peer, peerlen);
	c->peerlen = peerlen;
	if (l) {
		c->lstats = l->stats;
		nacre_listener_stats_ref(c->lstats);
		atomic_fetch_add_explicit(&c->lstats->active, 1,
					  memory_order_relaxed);
	}
	event_base_gettimeofday_cached(w->base, &c->start);
	SSL_set_accept_state(c->ssl);
	evtimer_assign(&c->timer, w->base, timer_cb, c);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	atomic_fetch_add_explicit(&nacre_nconns, 1, memory_order_relaxed);

	if (nacre_log_on(NACRE_LOG_DEBUG)) {
		nacre_sockaddr_str(peer, peerlen, addr, sizeof(addr));
		nacre_log(NACRE_LOG_DEBUG, c->id, "accepted from %s by worker %u",
			  addr, w->idx);
	}
	timer_arm(c, g->cfg->limits.handshake_timeout_ms);
	/* the client speaks first: PROXY header or ClientHello */
	ev_set(c, EV_CR, true);
}
