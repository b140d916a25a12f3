/*
 * admin.h: nacred's admin endpoint (admin.listen): GET /metrics
 * (Prometheus text format), /healthz and /attestation, served by
 * libevent's evhttp on the main thread's event loop. It never sees a
 * key or plaintext: it reads counters (stats.h) and the view below,
 * which main.c keeps current. A local address only (unix, loopback tcp,
 * vsock), as for the upstream.
 */
#ifndef NACRE_ADMIN_H
#define NACRE_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "nacred.h"

struct event_base;
struct nacre_gen;
struct nacre_acme_manager;

/* what the main thread knows, for the endpoint (main thread only) */
struct nacre_admin_view {
	const struct nacre_gen *gen;   /* the current generation */
	bool draining;
	int64_t evidence_at;           /* Unix time the served evidence was made */
	int64_t started_at;            /* process start, Unix time */
	uint64_t rotations[2];         /* [0] done, [1] failed */
	uint64_t reloads[2];           /* [0] done, [1] failed */
	struct nacre_acme_manager *acme; /* NULL without acme */
};

/* Prometheus text for VIEW into OUT (an evbuffer) */
struct evbuffer;
void nacre_admin_metrics(const struct nacre_admin_view *view,
			 struct evbuffer *out);
/* /healthz: true when serving; else REASON (one line) says why not */
bool nacre_admin_healthy(const struct nacre_admin_view *view, char *reason,
			 size_t cap);

struct nacre_admin;
/* listens on cfg->admin_listen; NULL + err when it cannot */
struct nacre_admin *nacre_admin_start(struct event_base *base,
				      const struct nacre_config *cfg,
				      const struct nacre_admin_view *view,
				      char *err, size_t errlen);
void nacre_admin_stop(struct nacre_admin *a);

/* admission: new admin connections per second before the endpoint stops
 * accepting for the rest of the second; each lives at most TIMEOUT_S */
#define NACRE_ADMIN_CONN_PER_S 64
#define NACRE_ADMIN_TIMEOUT_S 5
#define NACRE_ADMIN_HEADERS_MAX 8192

#endif
