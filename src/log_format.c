/*
 * log_format.c: what one log line looks like. Text (the default):
 *
 *   2026-12-02T21:47:10.123Z info [c7] message
 *
 * JSON (log.format = "json"): one object per line, keys in this order,
 *
 *   {"ts":"2026-12-02T21:47:10.123Z","level":"info","conn":7,"msg":"..."}
 *
 * "conn" only when the line is about a connection. An access line has
 * "msg":"access" and the keys of nacred.conf(5) after it; the line that
 * reports dropped lines has "dropped". Every line is printable ASCII:
 * a control or non-ASCII byte in a message becomes the four characters
 * \xHH (what text lines show), so a line can never be split or forged,
 * and a JSON string never holds invalid UTF-8. A peer's string (SNI, ALPN)
 * is escaped by nacre_escape() and cut with "..." at NACRE_LOG_FIELD_MAX;
 * in JSON its value is exactly what the text line shows between quotes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* a line being built: never past cap, newline added at the end */
struct lbuf {
	char *p;
	size_t len;
	size_t cap; /* without the room kept for the newline and a NUL */
};

static void
put(struct lbuf *b, const char *s, size_t n)
{
	if (n > b->cap - b->len)
		n = b->cap - b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
puts_(struct lbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
putf(struct lbuf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static size_t
finish(struct lbuf *b)
{
	b->p[b->len++] = '\n';
	b->p[b->len] = '\0';
	return b->len;
}

/* V as N decimal digits at p */
static void
digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void
nacre_log_timestamp(const struct timespec *ts, char out[NACRE_LOG_TS_LEN])
{
	struct tm tm;
	time_t t = ts->tv_sec;

	memcpy(out, "0000-00-00T00:00:00.000Z", NACRE_LOG_TS_LEN);
	if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return;
	digits(out, (unsigned)(tm.tm_year + 1900), 4);
	digits(out + 5, (unsigned)tm.tm_mon + 1, 2);
	digits(out + 8, (unsigned)tm.tm_mday, 2);
	digits(out + 11, (unsigned)tm.tm_hour, 2);
	digits(out + 14, (unsigned)tm.tm_min, 2);
	digits(out + 17, (unsigned)tm.tm_sec, 2);
	digits(out + 20, (unsigned)(ts->tv_nsec / 1000000) % 1000, 3);
}

/* MSG with every byte outside printable ASCII as \xHH, cut with "..."
 * at NACRE_LOG_MSG_MAX; into out (NACRE_LOG_MSG_MAX + 1) */
static size_t
guard(const char *msg, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	for (const unsigned char *s = (const unsigned char *)msg; *s; s++) {
		size_t need = *s >= 0x20 && *s < 0x7f ? 1 : 4;
		if (o + need + 3 > NACRE_LOG_MSG_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (need == 1) {
			out[o++] = (char)*s;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = digits[*s >> 4];
			out[o++] = digits[*s & 15];
		}
	}
	out[o] = '\0';
	return o;
}

/* S (printable ASCII) as a JSON string, quotes included */
static void
json_str(struct lbuf *b, const char *s)
{
	puts_(b, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			put(b, "\\", 1);
		put(b, s, 1);
	}
	puts_(b, "\"");
}

/* a peer's (or config's) bytes, escaped and cut, into out */
static const char *
field(const char *raw, char out[NACRE_LOG_FIELD_MAX])
{
	nacre_escape(raw, strlen(raw), out, NACRE_LOG_FIELD_MAX);
	return out;
}

static void
head(struct lbuf *b, enum nacre_log_format fmt, const char *ts, int level,
     uint64_t conn)
{
	if (level < NACRE_LOG_ERROR || level > NACRE_LOG_DEBUG)
		level = NACRE_LOG_ERROR;
	if (fmt == NACRE_LOG_JSON) {
		puts_(b, "{\"ts\":\"");
		puts_(b, ts);
		puts_(b, "\",\"level\":\"");
		puts_(b, level_names[level]);
		puts_(b, "\"");
		if (conn)
			putf(b, ",\"conn\":%llu", (unsigned long long)conn);
		puts_(b, ",\"msg\":");
	} else {
		puts_(b, ts);
		puts_(b, " ");
		puts_(b, level_names[level]);
		if (conn)
			putf(b, " [c%llu]", (unsigned long long)conn);
		puts_(b, " ");
	}
}

size_t
nacre_log_format_line(char *out, enum nacre_log_format fmt, const char *ts,
		      int level, uint64_t conn, const char *msg)
{
	struct lbuf b = { out, 0, NACRE_LOG_LINE_MAX - 2 };
	char safe[NACRE_LOG_MSG_MAX + 1];

	guard(msg, safe);
	head(&b, fmt, ts, level, conn);
	if (fmt == NACRE_LOG_JSON) {
		json_str(&b, safe);
		puts_(&b, "}");
	} else {
		puts_(&b, safe);
	}
	return finish(&b);
}

/* one key of an access line: KEY=VALUE or "KEY":VALUE; quoted: a string
 * (escaped already); VALUE NULL: "-" or null */
static void
kv(struct lbuf *b, enum nacre_log_format fmt, const char *key,
   const char *value, bool quoted)
{
	if (fmt == NACRE_LOG_JSON) {
		putf(b, ",\"%s\":", key);
		if (!value)
			puts_(b, "null");
		else if (quoted)
			json_str(b, value);
		else
			puts_(b, value);
		return;
	}
	putf(b, " %s=", key);
	if (!value) {
		puts_(b, "-");
	} else if (quoted) {
		puts_(b, "\"");
		puts_(b, value);
		puts_(b, "\"");
	} else {
		puts_(b, value);
	}
}

static void
kv_bool(struct lbuf *b, enum nacre_log_format fmt, const char *key, bool v)
{
	if (fmt == NACRE_LOG_JSON)
		kv(b, fmt, key, v ? "true" : "false", false);
	else
		kv(b, fmt, key, v ? "yes" : "no", false);
}

static void
kv_u64(struct lbuf *b, enum nacre_log_format fmt, const char *key, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	kv(b, fmt, key, num, false);
}

/* microseconds as milliseconds with three decimals */
static void
kv_ms(struct lbuf *b, enum nacre_log_format fmt, const char *key, uint64_t us,
      bool present)
{
	char num[32];

	snprintf(num, sizeof(num), "%llu.%03llu", (unsigned long long)(us / 1000),
		 (unsigned long long)(us % 1000));
	kv(b, fmt, key, present ? num : NULL, false);
}

/* a string the peer chose, or the config: escaped, cut, quoted */
static void
kv_str(struct lbuf *b, enum nacre_log_format fmt, const char *key,
       const char *raw)
{
	char esc[NACRE_LOG_FIELD_MAX];

	kv(b, fmt, key, raw ? field(raw, esc) : NULL, true);
}

size_t
nacre_log_format_access(char *out, enum nacre_log_format fmt, const char *ts,
			const struct nacre_conn_summary *s)
{
	struct lbuf b = { out, 0, NACRE_LOG_LINE_MAX - 2 };
	char client[NACRE_LOG_FIELD_MAX];
	bool hs = s->version != NULL;

	client[0] = '\0';
	if (s->client && s->clientlen > 0)
		nacre_sockaddr_str(s->client, s->clientlen, client, sizeof(client));
	head(&b, fmt, ts, NACRE_LOG_INFO, s->id);
	puts_(&b, fmt == NACRE_LOG_JSON ? "\"access\"" : "access");
	kv_str(&b, fmt, "client", client[0] ? client : NULL);
	kv_str(&b, fmt, "listener",
	       s->listener && *s->listener ? s->listener : NULL);
	kv_str(&b, fmt, "sni", s->sni);
	kv_str(&b, fmt, "alpn", s->alpn);
	kv_str(&b, fmt, "tls_version", s->version);
	kv_str(&b, fmt, "cipher", s->cipher);
	kv_bool(&b, fmt, "attestation", s->attestation_asked);
	kv_bool(&b, fmt, "acme_cert", s->acme_cert);
	kv_ms(&b, fmt, "duration_ms", s->duration_us, true);
	kv_ms(&b, fmt, "handshake_ms", s->handshake_us, hs);
	kv_u64(&b, fmt, "bytes_in", s->bytes_in);
	kv_u64(&b, fmt, "bytes_out", s->bytes_out);
	kv(&b, fmt, "close", nacre_close_name(s->reason), true);
	kv_str(&b, fmt, "detail", s->detail);
	if (fmt == NACRE_LOG_JSON)
		puts_(&b, "}");
	return finish(&b);
}

size_t
nacre_log_format_dropped(char *out, enum nacre_log_format fmt, const char *ts,
			 uint64_t n)
{
	struct lbuf b = { out, 0, NACRE_LOG_LINE_MAX - 2 };
	char msg[160];

	snprintf(msg, sizeof(msg), "log: %llu line%s dropped: the queue for "
		 "the collector was full", (unsigned long long)n,
		 n == 1 ? "" : "s");
	head(&b, fmt, ts, NACRE_LOG_WARN, 0);
	if (fmt == NACRE_LOG_JSON) {
		json_str(&b, msg);
		putf(&b, ",\"dropped\":%llu}", (unsigned long long)n);
	} else {
		puts_(&b, msg);
	}
	return finish(&b);
}
