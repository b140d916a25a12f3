/*
 * worker.c: one thread per core, each with its own event_base and its own
 * connections. The main thread talks to a worker only through its mailbox
 * (a mutex-guarded slot plus a pipe wake-up): new generation, drain, force.
 * Nothing on the per-connection path takes a lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

#define ACCEPT_BATCH 32
#define ACCEPT_RETRY_MS 100
#define LOAD_MS 50 /* balance = "pack": how often a busy worker measures */

atomic_uint_fast64_t nacre_nconns;
atomic_uint_fast64_t nacre_next_conn_id = 1;
atomic_uint_fast64_t nacre_heap_events;

static int done_notify_fd = -1;
static struct nacre_worker *workers; /* all of them, for packing */
static unsigned nworkers;
static bool packing;

static void accept_cb(evutil_socket_t fd, short what, void *arg);

static void
accept_unregister(struct nacre_worker *w)
{
	for (size_t i = 0; i < w->naccept; i++) {
		event_del(&w->accept_evs[i]);
		nacre_listener_unref(w->accepting[i]);
	}
	free(w->accept_evs);
	free(w->accepting);
	w->accept_evs = NULL;
	w->accepting = NULL;
	w->naccept = 0;
	w->accept_on = false;
}

/* Called with w->mtx held, so the main thread cannot drop a listener
 * between our taking the generation and our taking references. */
static void
accept_register(struct nacre_worker *w, struct nacre_gen *g)
{
	size_t n = g->nlisteners;

	w->accept_evs = calloc(n ? n : 1, sizeof(*w->accept_evs));
	w->accepting = calloc(n ? n : 1, sizeof(*w->accepting));
	if (!w->accept_evs || !w->accepting) {
		free(w->accept_evs);
		free(w->accepting);
		w->accept_evs = NULL;
		w->accepting = NULL;
		log_err("worker %u: out of memory registering listeners", w->idx);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		nacre_listener_ref(g->listeners[i]);
		w->accepting[i] = g->listeners[i];
		event_assign(&w->accept_evs[i], w->base,
			     nacre_listener_fd(g->listeners[i], w->idx),
			     EV_READ | EV_PERSIST, accept_cb, w);
	}
	w->naccept = n;
}

/* Packing: worker i takes new connections only while every worker before
 * it is hot, so light load stays on worker 0 (one loop wakes per event,
 * not two half-idle ones) and the next worker joins as each one fills. */
static bool
packed_out(const struct nacre_worker *w)
{
	if (!packing)
		return false;
	for (unsigned j = 0; j < w->idx; j++)
		if (!atomic_load_explicit(&workers[j].hot, memory_order_acquire))
			return true;
	return false;
}

/* Adds or removes the accept events to match the worker's state. */
static void
accept_apply(struct nacre_worker *w)
{
	bool on = !w->accept_paused && !w->draining && !packed_out(w);

	if (on == w->accept_on)
		return;
	for (size_t i = 0; i < w->naccept; i++) {
		if (on)
			event_add(&w->accept_evs[i], NULL);
		else
			event_del(&w->accept_evs[i]);
	}
	w->accept_on = on;
}

static void
accept_pause(struct nacre_worker *w, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (w->accept_paused || w->draining)
		return;
	w->accept_paused = true;
	accept_apply(w);
	evtimer_add(&w->resume_ev, &tv);
}

static void
accept_resume(struct nacre_worker *w)
{
	if (!w->accept_paused || w->draining)
		return;
	w->accept_paused = false;
	evtimer_del(&w->resume_ev);
	accept_apply(w);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nacre_worker *w = arg;

	w->accept_paused = false;
	accept_apply(w);
}

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void wake(struct nacre_worker *w);

/* with a new connection: measuring starts, unless it is running */
static void
load_start(struct nacre_worker *w)
{
	struct timeval tv = { 0, LOAD_MS * 1000 };

	if (!packing || nworkers < 2 || evtimer_pending(&w->load_ev, NULL))
		return;
	w->load_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	w->load_wall_ns = clock_ns(CLOCK_MONOTONIC);
	evtimer_add(&w->load_ev, &tv); /* EV_PERSIST: every LOAD_MS */
}

/* Every LOAD_MS while the worker has connections: its CPU time over wall
 * time. Crossing pack_busy (up) or 5/8 of it (down) tells the workers
 * after it to look again at whether they accept. */
static void
load_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nacre_worker *w = arg;
	uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	uint64_t wall = now - w->load_wall_ns;
	unsigned busy = wall ? (unsigned)((cpu - w->load_cpu_ns) * 100 / wall) : 0;
	unsigned high = w->gen->cfg->pack_busy;
	bool hot = atomic_load_explicit(&w->hot, memory_order_relaxed);
	bool now_hot = hot ? busy >= high * 5 / 8 : busy >= high;

	w->load_cpu_ns = cpu;
	w->load_wall_ns = now;
	if (now_hot != hot) {
		atomic_store_explicit(&w->hot, now_hot, memory_order_release);
		for (unsigned j = w->idx + 1; j < nworkers; j++)
			wake(&workers[j]);
		log_debug("worker %u is %u%% busy: %s", w->idx, busy,
			  now_hot ? "the next worker joins in accepting" :
				    "new connections come back to it");
	}
	if (w->nconns == 0 && !now_hot)
		evtimer_del(&w->load_ev); /* idle: until the next connection */
}

static bool
at_capacity(const struct nacre_worker *w)
{
	uint64_t n = atomic_load_explicit(&nacre_nconns, memory_order_relaxed);

	return n >= w->gen->cfg->limits.max_connections ||
	       n >= atomic_load_explicit(&nacre_fd_conn_cap, memory_order_relaxed);
}

/* out of the descriptor budget (not max_connections): said, now and then */
static bool
fd_bound(void)
{
	return atomic_load_explicit(&nacre_nconns, memory_order_relaxed) >=
	       atomic_load_explicit(&nacre_fd_conn_cap, memory_order_relaxed);
}

static void
accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct nacre_worker *w = arg;
	struct nacre_listener *l = NULL;
	bool pp = false;

	for (size_t i = 0; i < w->gen->nlisteners; i++)
		if (nacre_listener_fd(w->gen->listeners[i], w->idx) == lfd) {
			pp = w->gen->listener_pp[i];
			l = w->gen->listeners[i];
		}

	for (int n = 0; n < ACCEPT_BATCH; n++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd;

		if (at_capacity(w)) {
			/* resumes when a connection here closes, or soon; the
			 * clients wait in the backlog, none is taken in that
			 * could not reach the upstream */
			if (!w->accept_paused)
				nacre_stats_accept_pause(fd_bound() ?
					NACRE_PAUSE_DESCRIPTORS :
					NACRE_PAUSE_MAX_CONNECTIONS);
			if (fd_bound() && !w->accept_paused && w->ticks++ % 64 == 0)
				log_warn("descriptor budget reached (%llu connections "
					 "with 2 descriptors each); pausing accept",
					 (unsigned long long)atomic_load(&nacre_fd_conn_cap));
			accept_pause(w, ACCEPT_RETRY_MS);
			return;
		}
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EPROTO)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors or memory: stop taking
				 * new work for a moment, keep the old */
				if (!w->accept_paused)
					nacre_stats_accept_pause(
						errno == EMFILE || errno == ENFILE ?
						NACRE_PAUSE_DESCRIPTORS :
						NACRE_PAUSE_MEMORY);
				if (w->ticks++ % 64 == 0)
					log_warn("accept: %s; pausing accept for %d ms",
						 strerror(errno), ACCEPT_RETRY_MS);
				accept_pause(w, ACCEPT_RETRY_MS);
				return;
			}
			log_err("accept: %s", strerror(errno));
			return;
		}
		nacre_conn_start(w, fd, l, pp, (struct sockaddr *)&ss, sl);
		load_start(w);
	}
}

void
nacre_worker_conn_closed(struct nacre_worker *w)
{
	if (w->accept_paused && !at_capacity(w))
		accept_resume(w);
	if (w->draining && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

static void
switch_gen(struct nacre_worker *w, struct nacre_gen *g)
{
	/* w->mtx is held by the caller */
	accept_unregister(w);
	nacre_gen_unref(w->gen);
	w->gen = g;
	if (w->draining)
		return;
	accept_register(w, g);
	accept_apply(w);
}

static void
start_drain(struct nacre_worker *w)
{
	w->draining = true;
	evtimer_del(&w->resume_ev);
	accept_unregister(w);
	if (w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

static void
force_close_all(struct nacre_worker *w)
{
	struct nacre_conn *c = w->conns;

	while (c) {
		struct nacre_conn *next = nacre_conn_next(c);
		nacre_conn_drain_close(c, "drain deadline reached");
		c = next;
	}
	event_base_loopexit(w->base, NULL);
}

static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nacre_worker *w = arg;
	char buf[64];
	bool drain, force;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&w->mtx);
	if (w->pending) {
		switch_gen(w, w->pending);
		w->pending = NULL;
	}
	drain = w->pending_drain;
	force = w->pending_force;
	w->pending_drain = w->pending_force = false;
	if (drain && !w->draining)
		start_drain(w);
	pthread_mutex_unlock(&w->mtx);
	if (force)
		force_close_all(w);
	/* also the wake-up of a worker before this one turning hot or cool */
	accept_apply(w);
}

static void
wake(struct nacre_worker *w)
{
	char c = 1;

	if (write(w->notify_wr, &c, 1) < 0 && errno != EAGAIN)
		log_err("worker %u: wake-up failed: %s", w->idx, strerror(errno));
}

void
nacre_worker_send_gen(struct nacre_worker *w, struct nacre_gen *g)
{
	nacre_gen_ref(g);
	pthread_mutex_lock(&w->mtx);
	if (w->pending)
		nacre_gen_unref(w->pending);
	w->pending = g;
	pthread_mutex_unlock(&w->mtx);
	wake(w);
}

void
nacre_worker_send_drain(struct nacre_worker *w, bool force)
{
	pthread_mutex_lock(&w->mtx);
	w->pending_drain = true;
	w->pending_force = force;
	pthread_mutex_unlock(&w->mtx);
	wake(w);
}

static void *
worker_main(void *arg)
{
	struct nacre_worker *w = arg;
	char c = 1;

	event_base_dispatch(w->base);
	/* tell the main thread this worker has finished */
	if (write(done_notify_fd, &c, 1) < 0)
		log_err("worker %u: cannot report exit", w->idx);
	return NULL;
}

static int
worker_init(struct nacre_worker *w, unsigned idx, struct nacre_gen *g)
{
	int p[2];
	struct event_config *ec = event_config_new();

	w->idx = idx;
	if (!ec)
		return -1;
	/* one thread owns this base: no libevent locking */
	event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
	w->base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (!w->base || pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	w->notify_rd = p[0];
	w->notify_wr = p[1];
	pthread_mutex_init(&w->mtx, NULL);
	event_assign(&w->notify_ev, w->base, w->notify_rd, EV_READ | EV_PERSIST,
		     notify_cb, w);
	event_add(&w->notify_ev, NULL);
	evtimer_assign(&w->resume_ev, w->base, resume_cb, w);
	event_assign(&w->load_ev, w->base, -1, EV_PERSIST, load_cb, w);
	atomic_init(&w->hot, false);
	nacre_gen_ref(g);
	w->gen = g;
	accept_register(w, g);
	accept_apply(w);
	return 0;
}

struct nacre_worker *
nacre_workers_start(unsigned n, struct nacre_gen *g, int done_fd, bool pack)
{
	struct nacre_worker *ws = calloc(n, sizeof(*ws));
	sigset_t all, old;

	if (!ws)
		return NULL;
	done_notify_fd = done_fd;
	workers = ws;
	nworkers = n;
	packing = pack;
	/* workers never take signals: the main thread's loop handles them */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < n; i++) {
		if (worker_init(&ws[i], i, g) < 0 ||
		    pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
			log_err("cannot start worker %u", i);
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			return NULL; /* the process exits; nothing to unwind */
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ws;
}
