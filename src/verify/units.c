/*
 * units.c: durations ("250ms", "10s", "5m", "1h", "1d"; a bare number is
 * seconds) and sizes ("512", "64k", "1m", "1g"; binary multiples) as
 * written in nacred.conf. Anything else, overflow included, is an error.
 */
#include <strings.h>

#include "nacred.h"

struct unit {
	const char *suffix;
	uint64_t mult;
};

static const struct unit duration_units[] = {
	{ "", 1000 }, /* bare number: seconds */
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 60 * 60 * 1000 },
	{ "d", 24 * 60 * 60 * 1000 },
	{ NULL, 0 },
};

/* "64k", "64kb" and "64KiB" all mean 65536: nobody means 64000 here. */
static const struct unit size_units[] = {
	{ "", 1 }, { "b", 1 },
	{ "k", 1ULL << 10 }, { "kb", 1ULL << 10 }, { "kib", 1ULL << 10 },
	{ "m", 1ULL << 20 }, { "mb", 1ULL << 20 }, { "mib", 1ULL << 20 },
	{ "g", 1ULL << 30 }, { "gb", 1ULL << 30 }, { "gib", 1ULL << 30 },
	{ NULL, 0 },
};

/* Digits, then one of the suffixes (case-insensitive); no sign, no space. */
static int
parse_with_units(const char *s, const struct unit *units, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (s == NULL || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	for (const struct unit *u = units; u->suffix; u++) {
		if (strcasecmp(p, u->suffix) != 0)
			continue;
		if (v != 0 && u->mult > UINT64_MAX / v)
			return -1;
		*out = v * u->mult;
		return 0;
	}
	return -1;
}

int
nacre_parse_duration_ms(const char *s, uint64_t *ms)
{
	return parse_with_units(s, duration_units, ms);
}

int
nacre_parse_size(const char *s, uint64_t *bytes)
{
	return parse_with_units(s, size_units, bytes);
}
