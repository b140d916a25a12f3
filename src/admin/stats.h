/*
 * stats.h: the counters behind GET /metrics. The data path adds to them
 * with relaxed atomics (no lock, no allocation, a few adds per
 * connection); the admin endpoint reads them. Per listener: connections
 * open now and closed by outcome; process-wide: everything else.
 */
#ifndef NACRE_STATS_H
#define NACRE_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "nacred.h"

#define NACRE_HS_BUCKETS 12 /* finite bounds of the handshake histogram */

enum nacre_tls_ver { NACRE_VER_12, NACRE_VER_13, NACRE_VER_NONE,
		     NACRE_VER_COUNT };
enum nacre_upfail { NACRE_UPF_REFUSED, NACRE_UPF_TIMEOUT,
		    NACRE_UPF_UNREACHABLE, NACRE_UPF_RESOURCES,
		    NACRE_UPF_OTHER, NACRE_UPF_COUNT };
enum nacre_pause { NACRE_PAUSE_MAX_CONNECTIONS, NACRE_PAUSE_DESCRIPTORS,
		   NACRE_PAUSE_MEMORY, NACRE_PAUSE_COUNT };
/* what became of a request for fresh evidence (tls_fresh.c) */
enum nacre_fresh_result { NACRE_FRESH_SERVED, NACRE_FRESH_REFUSED,
			  NACRE_FRESH_FAILED, NACRE_FRESH_COUNT };

/* per listener; reference-counted, since connections outlive a listener
 * that a drain or reload closed */
struct nacre_listener_stats {
	atomic_int refs;
	char text[128];         /* the address as written */
	atomic_uint_fast64_t active;
	atomic_uint_fast64_t closed[NACRE_CLOSE_COUNT];
};
struct nacre_listener_stats *nacre_listener_stats_new(const char *text);
void nacre_listener_stats_ref(struct nacre_listener_stats *ls);
void nacre_listener_stats_unref(struct nacre_listener_stats *ls);

struct nacre_stats {
	/* [0 done, 1 failed][version][attestation asked] */
	atomic_uint_fast64_t handshakes[2][NACRE_VER_COUNT][2];
	atomic_uint_fast64_t hs_bucket[NACRE_HS_BUCKETS + 1]; /* + Inf */
	atomic_uint_fast64_t hs_sum_us;
	atomic_uint_fast64_t bytes_in, bytes_out;
	atomic_uint_fast64_t upstream_fail[NACRE_UPF_COUNT];
	atomic_uint_fast64_t accept_pauses[NACRE_PAUSE_COUNT];
	atomic_uint_fast64_t acme_served; /* handshakes given the ACME chain */
	atomic_uint_fast64_t fresh[NACRE_FRESH_COUNT];
};

extern struct nacre_stats nacre_stats;
/* the histogram's finite upper bounds, in seconds */
extern const double nacre_hs_bounds[NACRE_HS_BUCKETS];

const char *nacre_tls_ver_name(enum nacre_tls_ver v);
const char *nacre_upfail_name(enum nacre_upfail r);
const char *nacre_pause_name(enum nacre_pause r);
const char *nacre_fresh_result_name(enum nacre_fresh_result r);
void nacre_stats_fresh(enum nacre_fresh_result r);
enum nacre_tls_ver nacre_tls_ver_of(int ssl_version);

void nacre_stats_handshake(bool failed, enum nacre_tls_ver v, bool asked,
			   uint64_t us);
void nacre_stats_upstream_fail(int err);
void nacre_stats_accept_pause(enum nacre_pause why);
/* LS may be NULL */
void nacre_stats_conn_closed(struct nacre_listener_stats *ls,
			     const struct nacre_conn_summary *s);

/* log.c: lines the log.to link dropped */
uint64_t nacre_log_dropped_total(void);

#endif
