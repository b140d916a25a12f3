/*
 * test_units.c: durations and sizes as nacred.conf writes them, including
 * every way to get them wrong (junk, signs, spaces, overflow).
 */
#include "nacred.h"
#include "tap.h"

static void
dur_ok(const char *s, uint64_t want)
{
	char name[96];
	uint64_t ms = 12345;

	snprintf(name, sizeof(name), "duration \"%s\" = %llu ms", s,
		 (unsigned long long)want);
	CHECK(nacre_parse_duration_ms(s, &ms) == 0 && ms == want, name);
}

static void
dur_bad(const char *s)
{
	char name[96];
	uint64_t ms = 12345;

	snprintf(name, sizeof(name), "duration \"%s\" is refused", s);
	CHECK(nacre_parse_duration_ms(s, &ms) == -1 && ms == 12345, name);
}

static void
size_ok(const char *s, uint64_t want)
{
	char name[96];
	uint64_t b = 12345;

	snprintf(name, sizeof(name), "size \"%s\" = %llu bytes", s,
		 (unsigned long long)want);
	CHECK(nacre_parse_size(s, &b) == 0 && b == want, name);
}

static void
size_bad(const char *s)
{
	char name[96];
	uint64_t b = 12345;

	snprintf(name, sizeof(name), "size \"%s\" is refused", s);
	CHECK(nacre_parse_size(s, &b) == -1 && b == 12345, name);
}

int
main(void)
{
	uint64_t v = 0;

	dur_ok("250ms", 250);
	dur_ok("10s", 10000);
	dur_ok("5m", 300000);
	dur_ok("1h", 3600000);
	dur_ok("1d", 86400000);
	dur_ok("7", 7000);      /* bare number: seconds */
	dur_ok("0", 0);
	dur_ok("0ms", 0);
	dur_ok("10S", 10000);   /* case does not matter */
	dur_ok("007s", 7000);
	dur_ok("18446744073709551615ms", UINT64_MAX);
	dur_ok("213503982334d", 213503982334ULL * 86400000ULL);
	dur_bad("");
	dur_bad("s");
	dur_bad("ms");
	dur_bad("10x");
	dur_bad("10sec");
	dur_bad("10 s");
	dur_bad(" 10s");
	dur_bad("10s ");
	dur_bad("-1s");
	dur_bad("+1s");
	dur_bad("1.5s");
	dur_bad("10sx");
	dur_bad("1m1s");
	dur_bad("0x10");
	dur_bad("18446744073709551616ms"); /* digits overflow */
	dur_bad("18446744073709551615");   /* * 1000 overflows */
	dur_bad("213503982335d");          /* * 86400000 overflows */
	dur_bad("99999999999999999999999999h");
	CHECK(nacre_parse_duration_ms(NULL, &v) == -1, "duration NULL refused");

	size_ok("512", 512);
	size_ok("0", 0);
	size_ok("512b", 512);
	size_ok("64k", 65536);
	size_ok("64K", 65536);
	size_ok("64kb", 65536);
	size_ok("64kB", 65536);
	size_ok("64KiB", 65536);
	size_ok("1m", 1048576);
	size_ok("1MB", 1048576);
	size_ok("1mib", 1048576);
	size_ok("1g", 1073741824);
	size_ok("2GiB", 2147483648ULL);
	size_ok("18446744073709551615", UINT64_MAX);
	size_ok("17179869183g", 17179869183ULL << 30);
	size_bad("");
	size_bad("k");
	size_bad("64kk");
	size_bad("64 k");
	size_bad(" 64k");
	size_bad("-1");
	size_bad("+1");
	size_bad("1.5k");
	size_bad("1t");
	size_bad("64ki");
	size_bad("64bk");
	size_bad("18446744073709551616");  /* digits overflow */
	size_bad("17179869184g");          /* 2^34 * 2^30 overflows */
	size_bad("18014398509481984k");    /* 2^54 * 2^10 overflows */
	CHECK(nacre_parse_size(NULL, &v) == -1, "size NULL refused");
	TAP_DONE();
}
