/*
 * metrics.c: GET /metrics, the Prometheus text exposition format 0.0.4.
 * Names follow Prometheus' conventions: the nacre_ prefix, base units
 * (_seconds, _bytes), _total on counters; process_* as client libraries
 * name them. Label values are escaped (a listener's path or a domain name
 * is text an operator wrote, never a peer's bytes: SNI is not a label,
 * so a client cannot grow the series).
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "acme/acme.h"
#include "admin/admin.h"
#include "admin/stats.h"
#include "fresh.h"
#include "runtime.h"

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), \
							 memory_order_relaxed))
#define ACME_STATUS_MAX 16 /* = the most domain groups acme allows */
#define ADDS(b, lit) evbuffer_add((b), (lit), sizeof(lit) - 1)

/* a label value: backslash, double quote and newline escaped */
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

static int64_t
not_after_of(X509 *x)
{
	struct tm tm;

	if (!x || ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

static void
connections(struct evbuffer *b, const struct nacre_gen *g)
{
	head(b, "nacre_connections_active", "gauge",
	     "Client connections open now, by listener.");
	for (size_t i = 0; g && i < g->nlisteners; i++) {
		struct nacre_listener_stats *ls = g->listeners[i]->stats;
		ADDS(b, "nacre_connections_active{listener=\"");
		label(b, ls->text);
		evbuffer_add_printf(b, "\"} %llu\n", LOAD(ls->active));
	}
	head(b, "nacre_connections_total", "counter",
	     "Client connections ended, by listener and outcome.");
	for (size_t i = 0; g && i < g->nlisteners; i++) {
		struct nacre_listener_stats *ls = g->listeners[i]->stats;
		for (int r = 0; r < NACRE_CLOSE_COUNT; r++) {
			ADDS(b, "nacre_connections_total{listener=\"");
			label(b, ls->text);
			evbuffer_add_printf(b, "\",outcome=\"%s\"} %llu\n",
					    nacre_close_name((enum nacre_close)r),
					    LOAD(ls->closed[r]));
		}
	}
}

static void
handshakes(struct evbuffer *b)
{
	unsigned long long cum = 0;

	head(b, "nacre_handshakes_total", "counter",
	     "TLS handshakes, by result, TLS version and whether the client "
	     "asked for the attested certificate.");
	for (int f = 0; f < 2; f++)
		for (int v = 0; v < NACRE_VER_COUNT; v++)
			for (int a = 0; a < 2; a++)
				evbuffer_add_printf(b, "nacre_handshakes_total{"
					"result=\"%s\",version=\"%s\","
					"attestation=\"%s\"} %llu\n",
					f ? "failed" : "done",
					nacre_tls_ver_name((enum nacre_tls_ver)v),
					a ? "asked" : "not_asked",
					LOAD(nacre_stats.handshakes[f][v][a]));
	head(b, "nacre_handshake_duration_seconds", "histogram",
	     "Time from accept to a completed TLS handshake.");
	for (int i = 0; i <= NACRE_HS_BUCKETS; i++) {
		cum += LOAD(nacre_stats.hs_bucket[i]);
		if (i < NACRE_HS_BUCKETS)
			evbuffer_add_printf(b, "nacre_handshake_duration_seconds_"
					    "bucket{le=\"%g\"} %llu\n",
					    nacre_hs_bounds[i], cum);
		else
			evbuffer_add_printf(b, "nacre_handshake_duration_seconds_"
					    "bucket{le=\"+Inf\"} %llu\n", cum);
	}
	evbuffer_add_printf(b, "nacre_handshake_duration_seconds_sum %.6f\n"
			    "nacre_handshake_duration_seconds_count %llu\n",
			    (double)LOAD(nacre_stats.hs_sum_us) / 1e6, cum);
	head(b, "nacre_fresh_evidence_total", "counter",
	     "Requests for fresh, session-bound evidence, by result (refused: "
	     "over attestation.fresh_pending).");
	for (int r = 0; r < NACRE_FRESH_COUNT; r++)
		evbuffer_add_printf(b, "nacre_fresh_evidence_total{result=\"%s\"}"
				    " %llu\n",
				    nacre_fresh_result_name((enum nacre_fresh_result)r),
				    LOAD(nacre_stats.fresh[r]));
	head(b, "nacre_fresh_evidence_pending", "gauge",
	     "Handshakes waiting for fresh evidence now.");
	evbuffer_add_printf(b, "nacre_fresh_evidence_pending %llu\n",
			    (unsigned long long)nacre_fresh_pending());
	head(b, "nacre_acme_chain_served_total", "counter",
	     "Handshakes that got the ACME certificate chain of their SNI.");
	evbuffer_add_printf(b, "nacre_acme_chain_served_total %llu\n",
			    LOAD(nacre_stats.acme_served));
}

static void
traffic(struct evbuffer *b)
{
	head(b, "nacre_bytes_total", "counter",
	     "Plaintext bytes passed, by direction (counted as connections "
	     "end).");
	evbuffer_add_printf(b, "nacre_bytes_total{direction=\"client_to_upstream\"}"
			    " %llu\n", LOAD(nacre_stats.bytes_in));
	evbuffer_add_printf(b, "nacre_bytes_total{direction=\"upstream_to_client\"}"
			    " %llu\n", LOAD(nacre_stats.bytes_out));
	head(b, "nacre_upstream_connect_failures_total", "counter",
	     "Upstream connections that failed, by reason.");
	for (int r = 0; r < NACRE_UPF_COUNT; r++)
		evbuffer_add_printf(b, "nacre_upstream_connect_failures_total{"
				    "reason=\"%s\"} %llu\n",
				    nacre_upfail_name((enum nacre_upfail)r),
				    LOAD(nacre_stats.upstream_fail[r]));
	head(b, "nacre_accept_pauses_total", "counter",
	     "Times a worker stopped accepting for a while, by reason.");
	for (int r = 0; r < NACRE_PAUSE_COUNT; r++)
		evbuffer_add_printf(b, "nacre_accept_pauses_total{reason=\"%s\"} "
				    "%llu\n", nacre_pause_name((enum nacre_pause)r),
				    LOAD(nacre_stats.accept_pauses[r]));
}

struct expiry_ctx {
	struct evbuffer *b;
};

static void
acme_expiry(const char *name, int64_t not_after, void *arg)
{
	struct expiry_ctx *e = arg;

	ADDS(e->b, "nacre_certificate_expiry_timestamp_seconds{kind=\"acme\""
		     ",name=\"");
	label(e->b, name);
	evbuffer_add_printf(e->b, "\"} %lld\n", (long long)not_after);
}

static void
certificates(struct evbuffer *b, const struct nacre_admin_view *v)
{
	const struct nacre_gen *g = v->gen;
	X509 *x = g ? SSL_CTX_get0_certificate(g->ssl_ctx) : NULL;
	struct expiry_ctx e = { b };
	int64_t now = (int64_t)time(NULL);

	head(b, "nacre_certificate_rotations_total", "counter",
	     "Attested key and certificate rotations, by result.");
	evbuffer_add_printf(b, "nacre_certificate_rotations_total{result=\"done\"}"
			    " %llu\nnacre_certificate_rotations_total{result="
			    "\"failed\"} %llu\n",
			    (unsigned long long)v->rotations[0],
			    (unsigned long long)v->rotations[1]);
	head(b, "nacre_evidence_age_seconds", "gauge",
	     "Age of the attestation evidence in the served certificate.");
	evbuffer_add_printf(b, "nacre_evidence_age_seconds %lld\n",
			    (long long)(v->evidence_at ? now - v->evidence_at : 0));
	head(b, "nacre_certificate_expiry_timestamp_seconds", "gauge",
	     "notAfter of each served certificate (Unix time), by kind and "
	     "name.");
	if (x) {
		evbuffer_add_printf(b, "nacre_certificate_expiry_timestamp_seconds"
				    "{kind=\"attested\",name=\"");
		label(b, g->cfg->tls.nnames ? g->cfg->tls.names[0] : "");
		evbuffer_add_printf(b, "\"} %lld\n", (long long)not_after_of(x));
	}
	if (g)
		nacre_acme_served_each(g->acme, acme_expiry, &e);
}

enum gfield { G_CAA, G_EXPIRY, G_NEXT, G_FAILURES };

/* one gauge, a series per ACME domain group */
static void
domain_gauges(struct evbuffer *b, const char *name, const char *help,
	      const struct nacre_acme_group_state *st, size_t n, enum gfield f)
{
	head(b, name, "gauge", help);
	for (size_t i = 0; i < n; i++) {
		long long v = f == G_CAA ? st[i].caa :
			      f == G_EXPIRY ? (long long)st[i].not_after :
			      f == G_NEXT ? (long long)st[i].next_attempt :
			      (long long)st[i].failures;

		evbuffer_add_printf(b, "%s{domain=\"", name);
		label(b, st[i].name);
		evbuffer_add_printf(b, "\"} %lld\n", v);
	}
}

static void
acme(struct evbuffer *b, const struct nacre_admin_view *v)
{
	struct nacre_acme_group_state st[ACME_STATUS_MAX];
	bool registered = false;
	size_t n;

	if (!v->acme)
		return;
	n = nacre_acme_groups(v->acme, st, ACME_STATUS_MAX, &registered);
	head(b, "nacre_acme_account_registered", "gauge",
	     "1 once the ACME account exists (its URL is in the claims).");
	evbuffer_add_printf(b, "nacre_acme_account_registered %d\n", registered);
	domain_gauges(b, "nacre_acme_caa_pinned",
		      "Last CAA verdict per domain group: 1 pinned to this "
		      "account and tls-alpn-01, 0 not, -1 not checked "
		      "(require_caa off or not yet).", st, n, G_CAA);
	domain_gauges(b, "nacre_acme_certificate_expiry_timestamp_seconds",
		      "notAfter of the group's certificate in service; 0 "
		      "before the first.", st, n, G_EXPIRY);
	domain_gauges(b, "nacre_acme_next_attempt_timestamp_seconds",
		      "When the group's next order (or renewal) is due, Unix "
		      "time.", st, n, G_NEXT);
	domain_gauges(b, "nacre_acme_consecutive_failures",
		      "Order attempts for the group that failed in a row.", st,
		      n, G_FAILURES);
}

static unsigned long
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned long n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n > 3 ? n - 3 : 0; /* ".", ".." and the directory's own */
}

static unsigned long long
rss_bytes(void)
{
	unsigned long long size = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%llu %llu", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (unsigned long long)sysconf(_SC_PAGESIZE);
}

static void
process(struct evbuffer *b, const struct nacre_admin_view *v)
{
	struct rlimit rl;

	head(b, "nacre_reloads_total", "counter",
	     "Configuration reloads (SIGHUP), by result.");
	evbuffer_add_printf(b, "nacre_reloads_total{result=\"done\"} %llu\n"
			    "nacre_reloads_total{result=\"failed\"} %llu\n",
			    (unsigned long long)v->reloads[0],
			    (unsigned long long)v->reloads[1]);
	head(b, "nacre_log_dropped_lines_total", "counter",
	     "Log lines dropped because the log.to link was down or slow.");
	evbuffer_add_printf(b, "nacre_log_dropped_lines_total %llu\n",
			    (unsigned long long)nacre_log_dropped_total());
	head(b, "nacre_draining", "gauge", "1 while draining (stopping).");
	evbuffer_add_printf(b, "nacre_draining %d\n", v->draining);
	head(b, "process_resident_memory_bytes", "gauge",
	     "Resident memory size in bytes.");
	evbuffer_add_printf(b, "process_resident_memory_bytes %llu\n",
			    rss_bytes());
	head(b, "process_open_fds", "gauge", "Number of open file descriptors.");
	evbuffer_add_printf(b, "process_open_fds %lu\n", open_fds());
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		head(b, "process_max_fds", "gauge",
		     "Maximum number of open file descriptors.");
		evbuffer_add_printf(b, "process_max_fds %llu\n",
				    (unsigned long long)rl.rlim_cur);
	}
	head(b, "process_start_time_seconds", "gauge",
	     "Start time of the process since the Unix epoch in seconds.");
	evbuffer_add_printf(b, "process_start_time_seconds %lld\n",
			    (long long)v->started_at);
	head(b, "nacre_build_info", "gauge", "nacred's version, always 1.");
	evbuffer_add_printf(b, "nacre_build_info{version=\"%s\",openssl=\"",
			    NACRE_VERSION);
	label(b, OpenSSL_version(OPENSSL_VERSION));
	ADDS(b, "\"} 1\n");
}

void
nacre_admin_metrics(const struct nacre_admin_view *v, struct evbuffer *b)
{
	connections(b, v->gen);
	handshakes(b);
	traffic(b);
	certificates(b, v);
	acme(b, v);
	process(b, v);
}

bool
nacre_admin_healthy(const struct nacre_admin_view *v, char *reason,
		    size_t cap)
{
	const struct nacre_gen *g = v->gen;
	X509 *x = g ? SSL_CTX_get0_certificate(g->ssl_ctx) : NULL;
	int64_t now = (int64_t)time(NULL), age;
	uint64_t max_ms = g ? g->cfg->admin_max_evidence_age_ms : 0;

	if (v->draining) {
		snprintf(reason, cap, "draining");
		return false;
	}
	if (!x) {
		snprintf(reason, cap, "no certificate yet");
		return false;
	}
	if (not_after_of(x) <= now) {
		snprintf(reason, cap, "the attested certificate has expired");
		return false;
	}
	age = v->evidence_at && now > v->evidence_at ? now - v->evidence_at : 0;
	if (max_ms && (uint64_t)age * 1000 > max_ms) {
		snprintf(reason, cap, "the served evidence is %lld s old, more "
			 "than admin.max_evidence_age (%llu s)", (long long)age,
			 (unsigned long long)(max_ms / 1000));
		return false;
	}
	return true;
}
