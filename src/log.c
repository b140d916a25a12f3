/*
 * log.c: one line per event, "TIME LEVEL [cID] message" (or a JSON object,
 * log_format.c), on stderr or streamed to a collector (log.to,
 * log_sink.c). Key material is never passed here. A peer's bytes can
 * reach a message (SNI, PROXY TLVs, config text): whatever a caller
 * passes, a control byte never reaches the log as itself, so no message
 * can forge a line; strings from peers are escaped by nacre_escape()
 * first, so they also read unambiguously.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

static _Atomic int log_level = NACRE_LOG_INFO;
static _Atomic int log_format = NACRE_LOG_TEXT;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
nacre_log_set_level(int level)
{
	if (level >= NACRE_LOG_ERROR && level <= NACRE_LOG_DEBUG)
		log_level = level;
}

bool
nacre_log_on(int level)
{
	return level <= log_level;
}

int
nacre_log_level_from_str(const char *s)
{
	for (int i = 0; i <= NACRE_LOG_DEBUG; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	if (strcasecmp(s, "warning") == 0)
		return NACRE_LOG_WARN;
	return -1;
}

enum nacre_log_format
nacre_log_get_format(void)
{
	return log_format == NACRE_LOG_JSON ? NACRE_LOG_JSON : NACRE_LOG_TEXT;
}

void
nacre_log_shutdown(void)
{
	nacre_log_sink_stop(NACRE_LOG_FLUSH_MS);
}

int
nacre_log_configure(const struct nacre_config *cfg, char *err, size_t errlen)
{
	static bool at_exit;

	log_format = cfg->log_format;
	if (!cfg->has_log_to) {
		nacre_log_sink_stop(NACRE_LOG_FLUSH_MS);
		return 0;
	}
	/* every way out of the process flushes what is queued */
	if (!at_exit && atexit(nacre_log_shutdown) == 0)
		at_exit = true;
	return nacre_log_sink_start(&cfg->log_to, NACRE_LOG_QUEUE_BYTES, err,
				    errlen);
}

uint64_t
nacre_log_dropped_total(void)
{
	return nacre_log_sink_dropped();
}

const char *
nacre_close_name(enum nacre_close r)
{
	static const char *const names[NACRE_CLOSE_COUNT] = {
		[NACRE_CLOSE_OK] = "ok",
		[NACRE_CLOSE_PROXY_HEADER] = "proxy_header",
		[NACRE_CLOSE_HANDSHAKE] = "handshake",
		[NACRE_CLOSE_ACME_CHALLENGE] = "acme_challenge",
		[NACRE_CLOSE_UPSTREAM_CONNECT] = "upstream_connect",
		[NACRE_CLOSE_TIMEOUT] = "timeout",
		[NACRE_CLOSE_CLIENT_ERROR] = "client_error",
		[NACRE_CLOSE_UPSTREAM_ERROR] = "upstream_error",
		[NACRE_CLOSE_DRAIN] = "drain",
		[NACRE_CLOSE_INTERNAL] = "internal",
	};

	return (unsigned)r < NACRE_CLOSE_COUNT ? names[r] : "internal";
}

/* one finished line: to the collector's queue, or stderr (one write per
 * line so lines from worker threads do not interleave) */
static void
emit(const char *line, size_t len)
{
	if (!nacre_log_sink_put(line, len))
		fwrite(line, 1, len, stderr);
}

static void
now_ts(char ts[NACRE_LOG_TS_LEN])
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	nacre_log_timestamp(&t, ts);
}

void
nacre_log_access(const struct nacre_conn_summary *s)
{
	char ts[NACRE_LOG_TS_LEN], line[NACRE_LOG_LINE_MAX];

	now_ts(ts);
	emit(line, nacre_log_format_access(line, nacre_log_get_format(), ts, s));
}

static void
hex2(unsigned char c, char *out)
{
	static const char digits[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'x';
	out[2] = digits[c >> 4];
	out[3] = digits[c & 15];
}

size_t
nacre_escape(const void *p, size_t n, char *out, size_t cap)
{
	const unsigned char *s = p;
	size_t o = 0;

	if (cap < 4) { /* no room for an escape or "..." */
		if (cap)
			out[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		size_t need = c >= 0x20 && c < 0x7f ? (c == '\\' || c == '"' ? 2 : 1) : 4;
		if (o + need + 4 > cap) { /* room for "..." and the NUL */
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (need == 4) {
			hex2(c, out + o);
		} else if (need == 2) {
			out[o] = '\\';
			out[o + 1] = (char)c;
		} else {
			out[o] = (char)c;
		}
		o += need;
	}
	out[o] = '\0';
	return o;
}

void
nacre_print_line(FILE *f, const char *s)
{
	char out[4 * 512 + 2];
	size_t o = 0;

	for (; *s && o + 6 < sizeof(out); s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f) {
			hex2(c, out + o);
			o += 4;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '\n';
	fwrite(out, 1, o, f);
}

void
nacre_log(int level, uint64_t conn_id, const char *fmt, ...)
{
	char msg[NACRE_LOG_MSG_MAX + 1], ts[NACRE_LOG_TS_LEN];
	char line[NACRE_LOG_LINE_MAX];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	else if (n >= (int)sizeof(msg)) /* cut: say so */
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	now_ts(ts);
	emit(line, nacre_log_format_line(line, nacre_log_get_format(), ts, level,
					 conn_id, msg));
}
