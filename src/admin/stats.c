/*
 * stats.c: the data path's counters (stats.h). Relaxed atomics: each
 * counter is exact, and a scrape sees each one as of some moment during
 * the scrape, which is what Prometheus expects of counters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/ssl.h>

#include "admin/stats.h"

struct nacre_stats nacre_stats;

const double nacre_hs_bounds[NACRE_HS_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
};

#define ADD(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)

const char *
nacre_tls_ver_name(enum nacre_tls_ver v)
{
	static const char *const n[] = { "TLSv1.2", "TLSv1.3", "none" };

	return v < NACRE_VER_COUNT ? n[v] : "none";
}

const char *
nacre_upfail_name(enum nacre_upfail r)
{
	static const char *const n[] = { "refused", "timeout", "unreachable",
					 "resources", "other" };

	return r < NACRE_UPF_COUNT ? n[r] : "other";
}

const char *
nacre_pause_name(enum nacre_pause r)
{
	static const char *const n[] = { "max_connections", "descriptors",
					 "memory" };

	return r < NACRE_PAUSE_COUNT ? n[r] : "memory";
}

const char *
nacre_fresh_result_name(enum nacre_fresh_result r)
{
	static const char *const n[] = { "served", "refused", "failed" };

	return r < NACRE_FRESH_COUNT ? n[r] : "failed";
}

void
nacre_stats_fresh(enum nacre_fresh_result r)
{
	ADD(nacre_stats.fresh[r < NACRE_FRESH_COUNT ? r : NACRE_FRESH_FAILED],
	    1);
}

enum nacre_tls_ver
nacre_tls_ver_of(int ssl_version)
{
	if (ssl_version == TLS1_3_VERSION)
		return NACRE_VER_13;
	if (ssl_version == TLS1_2_VERSION)
		return NACRE_VER_12;
	return NACRE_VER_NONE;
}

void
nacre_stats_handshake(bool failed, enum nacre_tls_ver v, bool asked,
		      uint64_t us)
{
	unsigned b = 0;

	ADD(nacre_stats.handshakes[failed][v < NACRE_VER_COUNT ? v :
					   NACRE_VER_NONE][asked], 1);
	if (failed)
		return;
	while (b < NACRE_HS_BUCKETS && (double)us > nacre_hs_bounds[b] * 1e6)
		b++;
	ADD(nacre_stats.hs_bucket[b], 1);
	ADD(nacre_stats.hs_sum_us, us);
}

void
nacre_stats_upstream_fail(int err)
{
	enum nacre_upfail r;

	switch (err) {
	case ECONNREFUSED: case ENOENT: case ECONNRESET:
		r = NACRE_UPF_REFUSED;
		break;
	case ETIMEDOUT:
		r = NACRE_UPF_TIMEOUT;
		break;
	case ENETUNREACH: case EHOSTUNREACH: case ENODEV: case EADDRNOTAVAIL:
		r = NACRE_UPF_UNREACHABLE;
		break;
	case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM: case EAGAIN:
		r = NACRE_UPF_RESOURCES;
		break;
	default:
		r = NACRE_UPF_OTHER;
	}
	ADD(nacre_stats.upstream_fail[r], 1);
}

void
nacre_stats_accept_pause(enum nacre_pause why)
{
	ADD(nacre_stats.accept_pauses[why < NACRE_PAUSE_COUNT ? why :
				      NACRE_PAUSE_MEMORY], 1);
}

struct nacre_listener_stats *
nacre_listener_stats_new(const char *text)
{
	struct nacre_listener_stats *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return NULL;
	atomic_init(&ls->refs, 1);
	snprintf(ls->text, sizeof(ls->text), "%s", text);
	return ls;
}

void
nacre_listener_stats_ref(struct nacre_listener_stats *ls)
{
	atomic_fetch_add_explicit(&ls->refs, 1, memory_order_relaxed);
}

void
nacre_listener_stats_unref(struct nacre_listener_stats *ls)
{
	if (ls && atomic_fetch_sub_explicit(&ls->refs, 1,
					    memory_order_acq_rel) == 1)
		free(ls);
}

void
nacre_stats_conn_closed(struct nacre_listener_stats *ls,
			const struct nacre_conn_summary *s)
{
	ADD(nacre_stats.bytes_in, s->bytes_in);
	ADD(nacre_stats.bytes_out, s->bytes_out);
	if (!ls)
		return;
	atomic_fetch_sub_explicit(&ls->active, 1, memory_order_relaxed);
	ADD(ls->closed[s->reason < NACRE_CLOSE_COUNT ? s->reason :
		       NACRE_CLOSE_INTERNAL], 1);
}
