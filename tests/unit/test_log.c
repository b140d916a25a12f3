/*
 * test_log.c: what a peer's bytes look like once logged: nacre_escape for
 * strings, nacre_log's own guard against control bytes (no forged lines),
 * and the host-name check that decides what goes into a PROXY header.
 */
#include <stdlib.h>
#include <unistd.h>

#include "nacred.h"
#include "tap.h"

static void
esc(const char *in, size_t n, size_t cap, const char *want, const char *name)
{
	char out[512];
	size_t len = nacre_escape(in, n, out, cap);

	CHECK_STR(out, want, name);
	CHECK(len == strlen(out) && len < cap, name);
}

/* one nacre_log call, as written to stderr */
static void
logged(char *out, size_t cap, const char *arg)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	fflush(stderr);
	dup2(fileno(tmp), 2);
	nacre_log(NACRE_LOG_ERROR, 7, "%s", arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, cap - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
}

int
main(void)
{
	char line[2048];

	esc("app.example.com", 15, 64, "app.example.com", "escape: a host name as it is");
	esc("evil\ninfo [c1] FORGED", 21, 64, "evil\\x0ainfo [c1] FORGED",
	    "escape: a newline as \\x0a");
	esc("a\"b\\c", 5, 64, "a\\\"b\\\\c", "escape: quote and backslash");
	esc("\x1b[31mred\x7f\xff", 10, 64, "\\x1b[31mred\\x7f\\xff",
	    "escape: ESC, DEL and high bytes as hex");
	esc("a\0b", 3, 64, "a\\x00b", "escape: a NUL byte is shown, not an end");
	esc("0123456789abcdef", 16, 10, "012345...", "escape: cut with ... to fit");
	esc("\n\n\n\n", 4, 11, "\\x0a...", "escape: never half an escape");

	logged(line, sizeof(line), "sni=evil\ninfo [c1] FORGED LINE");
	CHECK_STR(line, "error [c7] sni=evil\\x0ainfo [c1] FORGED LINE\n",
		  "log: a newline in a message cannot start a line");
	logged(line, sizeof(line), "x\r\x1b");
	CHECK_STR(line, "error [c7] x\\x0d\\x1b\n", "log: CR and ESC are hex too");
	{
		char big[1500];
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		logged(line, sizeof(line), big);
		CHECK(strlen(line) < 1200 && line[strlen(line) - 1] == '\n' &&
		      strchr(line, '\n') == line + strlen(line) - 1,
		      "log: a long message is cut, one line still");
	}

	CHECK(nacre_hostname_valid("app.example.com"), "host: app.example.com");
	CHECK(nacre_hostname_valid("a-b.c1"), "host: hyphen inside a label");
	CHECK(nacre_hostname_valid("localhost"), "host: one label");
	CHECK(!nacre_hostname_valid(""), "host: empty refused");
	CHECK(!nacre_hostname_valid("a..b"), "host: empty label refused");
	CHECK(!nacre_hostname_valid(".a"), "host: leading dot refused");
	CHECK(!nacre_hostname_valid("a."), "host: trailing dot refused");
	CHECK(!nacre_hostname_valid("-a.b"), "host: leading hyphen refused");
	CHECK(!nacre_hostname_valid("a-.b"), "host: trailing hyphen refused");
	CHECK(!nacre_hostname_valid("a_b.c"), "host: underscore refused");
	CHECK(!nacre_hostname_valid("evil\ninfo"), "host: newline refused");
	CHECK(!nacre_hostname_valid("a b"), "host: space refused");
	{
		char l63[80], l64[80], long254[300];
		memset(l63, 'a', 63); l63[63] = '\0';
		memset(l64, 'a', 64); l64[64] = '\0';
		CHECK(nacre_hostname_valid(l63), "host: a 63-byte label");
		CHECK(!nacre_hostname_valid(l64), "host: a 64-byte label refused");
		for (int i = 0; i < 254; i++)
			long254[i] = (i % 2) ? '.' : 'a';
		long254[253] = 'a';
		long254[254] = '\0';
		CHECK(!nacre_hostname_valid(long254), "host: 254 bytes refused");
		long254[252] = '\0'; /* "a.a. ... a" 251 + 1 */
		long254[251] = 'a';
		CHECK(nacre_hostname_valid(long254), "host: 252 bytes accepted");
	}
	TAP_DONE();
}
