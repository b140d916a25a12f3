/*
 * log.c: one line per event on stderr, "LEVEL [cID] message". systemd adds
 * the time. Key material is never passed here.
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

void
nacre_log(int level, uint64_t conn_id, const char *fmt, ...)
{
	char line[1024];
	int n;
	va_list ap;

	if (level > log_level)
		return;
	if (conn_id)
		n = snprintf(line, sizeof(line), "%s [c%llu] ", level_names[level],
			     (unsigned long long)conn_id);
	else
		n = snprintf(line, sizeof(line), "%s ", level_names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* one write per line so lines from worker threads do not interleave */
	size_t len = strnlen(line, sizeof(line) - 2);
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
}

