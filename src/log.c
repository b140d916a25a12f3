/*
 * log.c: one line per event on stderr, "LEVEL [cID] message". systemd adds
 * the time. Key material is never passed here. A peer's bytes can reach a
 * message (SNI, PROXY TLVs, config text): whatever a caller passes, a
 * control byte never reaches the log as itself, so no message can forge
 * a line; strings from peers are escaped by nacre_escape() first, so
 * they also read unambiguously.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nacred.h"

static _Atomic int log_level = NACRE_LOG_INFO;
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
	char msg[1024], line[1200];
	size_t len = 0, mlen;
	va_list ap;

	if (level > log_level)
		return;
	if (conn_id)
		len = (size_t)snprintf(line, sizeof(line), "%s [c%llu] ",
				       level_names[level], (unsigned long long)conn_id);
	else
		len = (size_t)snprintf(line, sizeof(line), "%s ", level_names[level]);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mlen = strnlen(msg, sizeof(msg));
	/* control bytes (a newline above all) never reach the log raw */
	for (size_t i = 0; i < mlen && len + 5 < sizeof(line); i++) {
		unsigned char c = (unsigned char)msg[i];
		if (c < 0x20 || c == 0x7f) {
			hex2(c, line + len);
			len += 4;
		} else {
			line[len++] = (char)c;
		}
	}
	/* one write per line so lines from worker threads do not interleave */
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
}

