/*
 * fuzz_acme_json.c: what the ACME client reads from a CA (src/acme/doc.c)
 * on arbitrary bytes: the directory, order, authorization, problem and
 * renewalInfo documents, Retry-After and RFC 3339 times. Whatever is
 * accepted must hold what the client relies on (https URLs, base64url
 * tokens, a status), and every text meant for a log must be one printable
 * line, whatever the CA sent.
 */
#include <stdlib.h>
#include <string.h>

#include "acme/acme.h"
#include "nacred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)
#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static bool
printable_line(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		return false; /* not NUL-terminated within its buffer */
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static bool
opt_url(const char *u)
{
	return u == NULL || nacre_acme_url_ok(u);
}

static void
directory(const char *json, size_t len)
{
	struct nacre_acme_directory d;
	char err[NACRE_ERRLEN];

	if (nacre_acme_directory_parse(json, len, &d, err, sizeof(err)) != 0) {
		REQUIRE(err[0] && printable_line(err, sizeof(err)));
		REQUIRE(!d.new_nonce && !d.new_account && !d.new_order);
		return;
	}
	REQUIRE(nacre_acme_url_ok(d.new_nonce) &&
		nacre_acme_url_ok(d.new_account) &&
		nacre_acme_url_ok(d.new_order) && opt_url(d.renewal_info));
	nacre_acme_directory_clear(&d);
}

static void
order(const char *json, size_t len)
{
	struct nacre_acme_order o;
	char err[NACRE_ERRLEN];

	if (nacre_acme_order_parse(json, len, &o, err, sizeof(err)) != 0) {
		REQUIRE(err[0] && printable_line(err, sizeof(err)));
		REQUIRE(!o.authz && !o.finalize);
		return;
	}
	REQUIRE(o.status != NACRE_ACME_UNKNOWN);
	REQUIRE(o.nauthz >= 1 && o.nauthz <= NACRE_ACME_MAX_NAMES);
	for (size_t i = 0; i < o.nauthz; i++)
		REQUIRE(nacre_acme_url_ok(o.authz[i]));
	REQUIRE(nacre_acme_url_ok(o.finalize) && opt_url(o.certificate));
	REQUIRE(!o.error || printable_line(o.error, strlen(o.error) + 1));
	nacre_acme_order_clear(&o);
}

static void
authz(const char *json, size_t len)
{
	struct nacre_acme_authz a;
	char err[NACRE_ERRLEN];

	if (nacre_acme_authz_parse(json, len, &a, err, sizeof(err)) != 0) {
		REQUIRE(err[0] && printable_line(err, sizeof(err)));
		REQUIRE(!a.name && !a.chall_url && !a.chall_token);
		return;
	}
	REQUIRE(a.status != NACRE_ACME_UNKNOWN);
	REQUIRE(a.name && strlen(a.name) <= 253 &&
		printable_line(a.name, 254));
	/* a challenge comes whole: URL, token and status, or not at all */
	REQUIRE(!a.chall_url == !a.chall_token);
	if (a.chall_url) {
		size_t n = strlen(a.chall_token);
		REQUIRE(nacre_acme_url_ok(a.chall_url));
		REQUIRE(a.chall_status != NACRE_ACME_UNKNOWN);
		REQUIRE(n >= 1 && strspn(a.chall_token, B64URL) == n);
	}
	REQUIRE(!a.error || printable_line(a.error, strlen(a.error) + 1));
	nacre_acme_authz_clear(&a);
}

static void
problem(const char *json, size_t len, long status)
{
	char type[128], text[NACRE_ERRLEN], small[17];
	int rc = nacre_acme_problem(json, len, status, type, sizeof(type),
				    text, sizeof(text));

	REQUIRE(rc == 0 || rc == -1);
	REQUIRE(printable_line(type, sizeof(type)));
	REQUIRE(printable_line(text, sizeof(text)) && text[0]);
	REQUIRE(rc == 0 || type[0] == '\0');
	/* a small buffer cuts the same line, never overflows it */
	nacre_acme_problem(json, len, status, NULL, 0, small, sizeof(small));
	REQUIRE(printable_line(small, sizeof(small)));
	REQUIRE(strncmp(small, text, strlen(small)) == 0);
}

static void
window(const char *json, size_t len)
{
	struct nacre_acme_window w = { 0 };
	char err[NACRE_ERRLEN];

	if (nacre_acme_window_parse(json, len, &w, err, sizeof(err)) != 0) {
		REQUIRE(err[0] && printable_line(err, sizeof(err)));
		return;
	}
	REQUIRE(w.end > w.start);
	REQUIRE(w.explanation[0] == '\0' || nacre_acme_url_ok(w.explanation));
}

/* the header parsers see a NUL-terminated value of at most a line */
static void
header_values(const uint8_t *data, size_t size)
{
	char v[80];
	size_t n = size < sizeof(v) - 1 ? size : sizeof(v) - 1;
	uint64_t secs;
	int64_t t;

	memcpy(v, data, n);
	v[n] = '\0';
	if (nacre_acme_retry_after(v, 1700000000, &secs) == 0)
		REQUIRE(strlen(v) > 0);
	if (nacre_acme_rfc3339(v, &t) == 0)
		REQUIRE(strlen(v) >= 20);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: ASan sees any read past its end */
	char *json = malloc(size ? size : 1);

	memcpy(json, data, size);
	directory(json, size);
	order(json, size);
	authz(json, size);
	problem(json, size, size ? 400 + data[0] % 200 : 0);
	window(json, size);
	header_values(data, size);
	free(json);
	return 0;
}
