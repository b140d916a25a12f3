/*
 * log.h: what the log's three files share (and test_log.c reads): the
 * bounds of a line, the formatting of log_format.c and the collector
 * stream of log_sink.c. The rest of the daemon uses nacred.h's log section.
 */
#ifndef NACRE_LOG_H
#define NACRE_LOG_H

#include <time.h>

#include "nacred.h"

/* One line at most, newline and NUL included: what a peer sends cannot
 * make a line longer (its strings are cut with "..." first). */
#define NACRE_LOG_LINE_MAX 4096
/* a message, once its control bytes are shown as \xHH, is cut to this
 * (with "...") */
#define NACRE_LOG_MSG_MAX 1024
/* each peer string of an access line (SNI, ALPN, detail, addresses),
 * escaped, is cut to this (with "...") */
#define NACRE_LOG_FIELD_MAX 256
/* the lines waiting for the collector (log.to): past this, new lines are
 * dropped and counted until an eighth is free again or the link is back */
#define NACRE_LOG_QUEUE_BYTES (1024 * 1024)
/* reconnecting to the collector: 100 ms after the first failure, doubling
 * up to 5 s; at exit, what is queued gets this long to go out */
#define NACRE_LOG_BACKOFF_MIN_MS 100
#define NACRE_LOG_BACKOFF_MAX_MS 5000
#define NACRE_LOG_FLUSH_MS 2000

/* ---- log_format.c ---- */
/* "2026-12-02T21:47:10.123Z": RFC 3339, UTC, milliseconds; 25 bytes with
 * the NUL */
#define NACRE_LOG_TS_LEN 25
void nacre_log_timestamp(const struct timespec *ts, char out[NACRE_LOG_TS_LEN]);
/* One line into out (NACRE_LOG_LINE_MAX), newline- and NUL-terminated;
 * returns its length (newline included). MSG is a message as a caller
 * formatted it (any bytes: control and non-ASCII bytes become \xHH);
 * CONN 0: not about a connection. */
size_t nacre_log_format_line(char *out, enum nacre_log_format fmt,
			     const char *ts, int level, uint64_t conn,
			     const char *msg);
/* the access line of S */
size_t nacre_log_format_access(char *out, enum nacre_log_format fmt,
			       const char *ts,
			       const struct nacre_conn_summary *s);
/* the line that reports N lines dropped (JSON: with "dropped": N) */
size_t nacre_log_format_dropped(char *out, enum nacre_log_format fmt,
				const char *ts, uint64_t n);

/* ---- log.c ---- */
enum nacre_log_format nacre_log_get_format(void);

/* ---- log_sink.c: lines streamed to a collector ---- */
/* Start the stream to A (a queue of QUEUE_BYTES and its thread), or point
 * a running one at A (what is queued stays queued). 0, or -1 and err. */
int nacre_log_sink_start(const struct nacre_addr *a, size_t queue_bytes,
			 char *err, size_t errlen);
/* Give what is queued up to FLUSH_MS to go out, stop the thread; what is
 * left is written to stderr. Lines go to stderr again from then on. */
void nacre_log_sink_stop(unsigned flush_ms);
/* Queue one line (complete, newline-terminated); false when no stream
 * runs (the caller writes it to stderr). A full queue drops the line
 * (true: it was handled) and counts it. */
bool nacre_log_sink_put(const char *line, size_t len);
/* lines dropped since the start (every stream) */
uint64_t nacre_log_sink_dropped(void);

#endif
