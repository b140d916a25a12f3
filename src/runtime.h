/*
 * runtime.h: the running daemon's shared structures: generations (config +
 * TLS context), listeners, worker threads and connections.
 */
#ifndef NACRE_RUNTIME_H
#define NACRE_RUNTIME_H

#include <pthread.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/ssl.h>

#include "nacred.h"
#include "admin/stats.h"

/*
 * A generation is what new connections start with: a configuration and the
 * SSL_CTX holding the current key and certificate. Reload and rotation make
 * a new one; each worker switches to it, and connections keep a reference
 * to the one they started with until they end.
 */
struct nacre_acme_served;
struct nacre_gen {
	atomic_int refs;
	uint64_t id;
	struct nacre_config *cfg;
	SSL_CTX *ssl_ctx;
	struct nacre_acme_served *acme;    /* ACME certificates, or NULL */
	struct nacre_listener **listeners; /* not owned: see worker.c */
	bool *listener_pp;                 /* proxy_protocol per listener */
	size_t nlisteners;
};

/* listener.c: a listening address. With balance = "spread", TCP gets one
 * SO_REUSEPORT socket per worker (the kernel spreads connections; no
 * thundering herd); otherwise, and always for vsock (no SO_REUSEPORT),
 * one socket that the accepting workers share. The sockets close when
 * the main thread and every accepting worker let go of the listener. */
struct nacre_listener {
	atomic_int refs;
	int *fds;
	unsigned nfds;
	struct nacre_addr addr;
	struct nacre_listener_stats *stats; /* admin/stats.h; connections
					     * hold it past the listener */
};

struct nacre_listener *nacre_listener_open(const struct nacre_addr *a,
					   unsigned nworkers, bool spread,
					   char *err, size_t errlen);
int nacre_listener_fd(const struct nacre_listener *l, unsigned worker);
void nacre_listener_ref(struct nacre_listener *l);
void nacre_listener_unref(struct nacre_listener *l);

/* gen.c */
struct nacre_gen *nacre_gen_new(struct nacre_config *cfg, SSL_CTX *ctx,
				struct nacre_listener **ls, size_t nls);
void nacre_gen_ref(struct nacre_gen *g);
void nacre_gen_unref(struct nacre_gen *g);

struct nacre_conn;

/* worker.c: one thread, one event_base, its own connections. */
struct nacre_worker {
	unsigned idx;
	pthread_t thread;
	struct event_base *base;
	int notify_rd, notify_wr;
	struct event notify_ev;
	pthread_mutex_t mtx;      /* guards the mailbox below only */
	struct nacre_gen *pending;
	bool pending_drain, pending_force;

	struct nacre_gen *gen;    /* what new connections start with */
	struct event *accept_evs;
	struct nacre_listener **accepting; /* refs held while registered */
	size_t naccept;
	bool accept_paused, draining;
	bool accept_on;           /* the accept events are added */
	struct event resume_ev;
	/* balance = "pack": this worker's share of a core, measured while it
	 * has connections; hot once it passes pack_busy %, until it falls
	 * below 5/8 of that. Worker i accepts only while 0..i-1 are hot. */
	struct event load_ev;
	uint64_t load_cpu_ns, load_wall_ns;
	atomic_bool hot;
	uint64_t nconns;
	struct nacre_conn *conns; /* list, for forced close at the deadline */
	uint64_t ticks;           /* rate-limits accept error logs */
};

struct nacre_worker *nacre_workers_start(unsigned n, struct nacre_gen *g,
					 int done_fd, bool pack);
void nacre_worker_send_gen(struct nacre_worker *w, struct nacre_gen *g);
void nacre_worker_send_drain(struct nacre_worker *w, bool force);
void nacre_worker_conn_closed(struct nacre_worker *w);

/* process-wide counters (atomics, no locks) */
extern atomic_uint_fast64_t nacre_nconns;
/* connections the descriptor limit leaves room for (2 descriptors each:
 * an accepted client can always open its upstream); process.c */
extern atomic_uint_fast64_t nacre_fd_conn_cap;
extern atomic_uint_fast64_t nacre_next_conn_id;
/* handshakes ended and connections closed: the heap changed (trim) */
extern atomic_uint_fast64_t nacre_heap_events;

/* process.c: at start, before any key exists */
struct nacre_process {
	bool dumpable_off, core_off;
	int secure_heap;       /* CRYPTO_secure_malloc_init: 0, 1, 2 (not mlocked) */
	size_t secure_heap_size;
	uint64_t nofile_was, nofile_soft, nofile_hard;
};
/* MAX_CONNECTIONS sizes OpenSSL's secure heap: each live SSL keeps its
 * ephemeral (key exchange) private key there */
void nacre_process_harden(struct nacre_process *p, uint64_t max_connections);
/* once the workers run: what the descriptors allow (sets nacre_fd_conn_cap) */
uint64_t nacre_process_fd_budget(const struct nacre_process *p);
void nacre_process_log(const struct nacre_process *p, uint64_t max_connections);
/* at start and reload: a warning when max_connections exceeds the budget */
void nacre_process_check_budget(uint64_t max_connections);

/* conn.c */
void nacre_conn_start(struct nacre_worker *w, int fd, struct nacre_listener *l,
		      bool proxy_protocol, const struct sockaddr *peer,
		      socklen_t peerlen);
void nacre_conn_abort(struct nacre_conn *c, const char *why);
/* closed by a drain deadline or shutdown (counted as such) */
void nacre_conn_drain_close(struct nacre_conn *c, const char *why);
struct nacre_conn *nacre_conn_next(struct nacre_conn *c);

#endif
