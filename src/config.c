/*
 * config.c: reads nacred.conf (libconfig syntax) into struct nacre_config.
 * Strict on purpose: unknown keys, wrong types and out-of-range values are
 * errors of the form "FILE:LINE: what is wrong; what to write instead".
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <linux/vm_sockets.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "nacred.h"

#define MAX_LISTEN 64
#define MAX_NAMES 100
#define MAX_ALPN 32
#define MAX_FILE (1024 * 1024)
#define X509_CN_MAX 64 /* ub-common-name: names[0] becomes the subject CN */

#define SEC 1000ULL
#define DAY (24 * 60 * 60 * SEC)

struct pctx {
	const char *name;
	char *err;
	size_t errlen;
	bool all;       /* go on after an error: one line per error (-t) */
	unsigned nerr;
	size_t used;    /* of err, in that mode */
};

/* ---- errors ---- */

static int fail_line(struct pctx *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail_line(struct pctx *p, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *out = p->err;
	size_t cap = p->errlen;
	int n;

	if (p->all && p->nerr > 0) {
		/* the next line of the list, if it fits whole */
		if (p->used + 2 >= p->errlen)
			goto counted;
		out = p->err + p->used;
		*out++ = '\n';
		cap = p->errlen - p->used - 1;
	}
	if (cap == 0)
		goto counted;
	if (line)
		n = snprintf(out, cap, "%s:%u: ", p->name, line);
	else
		n = snprintf(out, cap, "%s: ", p->name);
	if (n >= 0 && (size_t)n < cap) {
		va_start(ap, fmt);
		vsnprintf(out + n, cap - (size_t)n, fmt, ap);
		va_end(ap);
	}
	p->used = strlen(p->err);
counted:
	p->nerr++;
	return -1;
}

static unsigned
line_of(const config_setting_t *s)
{
	return s ? config_setting_source_line(s) : 0;
}

/* ---- unknown keys ---- */

/* Levenshtein distance of two short strings; large when either is long. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], prev, tmp;

	if (la >= 64 || lb >= 64)
		return 64;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

static const char *
suggest(const char *name, const char *const *known)
{
	const char *best = NULL;
	size_t best_d = 3; /* more than two edits away is not a typo */

	for (; *known; known++) {
		size_t d = edit_distance(name, *known);
		if (d < best_d && d < strlen(*known)) {
			best_d = d;
			best = *known;
		}
	}
	return best;
}

static int
check_keys(struct pctx *p, const config_setting_t *group, const char *where,
	   const char *const *known)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, i);
		const char *name = config_setting_name(s);
		const char *const *k;

		for (k = known; *k; k++)
			if (strcmp(name, *k) == 0)
				break;
		if (*k)
			continue;
		const char *hint = suggest(name, known);
		if (hint)
			return fail_line(p, line_of(s), "unknown key \"%s\" in "
					 "%s; did you mean \"%s\"?", name,
					 where, hint);
		char list[256] = "";
		for (k = known; *k; k++) {
			strncat(list, *k, sizeof(list) - strlen(list) - 1);
			if (k[1])
				strncat(list, ", ",
					sizeof(list) - strlen(list) - 1);
		}
		return fail_line(p, line_of(s), "unknown key \"%s\" in %s; "
				 "known keys are: %s", name, where, list);
	}
	return 0;
}

/* ---- typed values ---- */

static bool
is_int(const config_setting_t *s)
{
	int t = config_setting_type(s);
	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

static int
get_int(struct pctx *p, const config_setting_t *s, const char *key,
	long long min, long long max, long long *out)
{
	long long v;

	if (!is_int(s))
		return fail_line(p, line_of(s), "%s must be an integer from "
				 "%lld to %lld", key, min, max);
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return fail_line(p, line_of(s), "%s = %lld is out of range; "
				 "use %lld to %lld", key, v, min, max);
	*out = v;
	return 0;
}

static int
get_string(struct pctx *p, const config_setting_t *s, const char *key,
	   const char *example, const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_line(p, line_of(s), "%s must be a string like %s",
				 key, example);
	*out = config_setting_get_string(s);
	return 0;
}

static void
fmt_ms(uint64_t ms, char *buf, size_t len)
{
	if (ms % DAY == 0 && ms)
		snprintf(buf, len, "%llud", (unsigned long long)(ms / DAY));
	else if (ms % (3600 * SEC) == 0 && ms)
		snprintf(buf, len, "%lluh",
			 (unsigned long long)(ms / 3600 / SEC));
	else if (ms % (60 * SEC) == 0 && ms)
		snprintf(buf, len, "%llum",
			 (unsigned long long)(ms / 60 / SEC));
	else if (ms % SEC == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / SEC));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
}

/* "10s", "250ms", ... or an integer number of seconds. */
static int
get_duration(struct pctx *p, const config_setting_t *s, const char *key,
	     uint64_t min, uint64_t max, uint64_t *out)
{
	char lo[32], hi[32];
	uint64_t ms;

	fmt_ms(min, lo, sizeof(lo));
	fmt_ms(max, hi, sizeof(hi));
	if (is_int(s)) {
		long long v = config_setting_get_int64(s);
		if (v < 0)
			return fail_line(p, line_of(s), "%s must not be "
					 "negative; use %s to %s", key, lo, hi);
		ms = (uint64_t)v > UINT64_MAX / SEC ? UINT64_MAX
						    : (uint64_t)v * SEC;
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		if (nacre_parse_duration_ms(config_setting_get_string(s),
					    &ms) != 0)
			return fail_line(p, line_of(s), "%s = \"%s\" is not a "
					 "duration; write e.g. \"250ms\", "
					 "\"10s\", \"5m\", \"1h\" or \"1d\"",
					 key, config_setting_get_string(s));
	} else {
		return fail_line(p, line_of(s), "%s must be a duration string "
				 "like \"10s\" or \"250ms\" (or a number of "
				 "seconds)", key);
	}
	if (ms < min || ms > max)
		return fail_line(p, line_of(s), "%s is out of range; use %s to "
				 "%s", key, lo, hi);
	*out = ms;
	return 0;
}

/* "64k", "1m", ... or an integer number of bytes. */
static int
get_size(struct pctx *p, const config_setting_t *s, const char *key,
	 uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (is_int(s)) {
		long long i = config_setting_get_int64(s);
		if (i < 0)
			return fail_line(p, line_of(s), "%s must not be "
					 "negative; use \"%lluk\" to \"%llum\"",
					 key, (unsigned long long)(min >> 10),
					 (unsigned long long)(max >> 20));
		v = (uint64_t)i;
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		if (nacre_parse_size(config_setting_get_string(s), &v) != 0)
			return fail_line(p, line_of(s), "%s = \"%s\" is not a "
					 "size; write e.g. \"64k\" or \"1m\"",
					 key, config_setting_get_string(s));
	} else {
		return fail_line(p, line_of(s), "%s must be a size string like "
				 "\"64k\" (or a number of bytes)", key);
	}
	if (v < min || v > max)
		return fail_line(p, line_of(s), "%s is out of range; use "
				 "\"%lluk\" to \"%llum\"", key,
				 (unsigned long long)(min >> 10),
				 (unsigned long long)(max >> 20));
	*out = v;
	return 0;
}

/* A group member that must be a group itself (or be absent). */
static int
get_group(struct pctx *p, const config_setting_t *parent, const char *key,
	  const char *example, config_setting_t **out)
{
	config_setting_t *s = config_setting_get_member(parent, key);

	*out = NULL;
	if (!s)
		return 0;
	if (!config_setting_is_group(s))
		return fail_line(p, line_of(s), "%s must be a group like %s = "
				 "%s;", key, key, example);
	*out = s;
	return 0;
}

/* ---- listen ---- */

static const char *const listen_keys[] = { "address", "proxy_protocol",
					   NULL };

/*
 * Two listeners overlap when bind() of the second would fail (or, with
 * SO_REUSEPORT, silently share traffic): same kind, port and address, or a
 * wildcard on either side.
 */
static bool
addr_overlaps(const struct nacre_addr *a, const struct nacre_addr *b)
{
	if (a->kind != b->kind || a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->kind == NACRE_ADDR_VSOCK) {
		const struct sockaddr_vm *x = (const void *)&a->ss;
		const struct sockaddr_vm *y = (const void *)&b->ss;
		return x->svm_port == y->svm_port &&
		       (x->svm_cid == y->svm_cid ||
			x->svm_cid == VMADDR_CID_ANY ||
			y->svm_cid == VMADDR_CID_ANY);
	}
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss;
		const struct sockaddr_in *y = (const void *)&b->ss;
		return x->sin_port == y->sin_port &&
		       (x->sin_addr.s_addr == y->sin_addr.s_addr ||
			x->sin_addr.s_addr == htonl(INADDR_ANY) ||
			y->sin_addr.s_addr == htonl(INADDR_ANY));
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->ss;
		const struct sockaddr_in6 *y = (const void *)&b->ss;
		return x->sin6_port == y->sin6_port &&
		       (IN6_ARE_ADDR_EQUAL(&x->sin6_addr, &y->sin6_addr) ||
			IN6_IS_ADDR_UNSPECIFIED(&x->sin6_addr) ||
			IN6_IS_ADDR_UNSPECIFIED(&y->sin6_addr));
	}
	return a->sslen == b->sslen && memcmp(&a->ss, &b->ss, a->sslen) == 0;
}

static int
parse_listener(struct pctx *p, const config_setting_t *g, size_t i,
	       struct nacre_listen_conf *l)
{
	char key[48], where[32], aerr[NACRE_ERRLEN];
	const config_setting_t *s;
	const char *text = NULL;

	snprintf(where, sizeof(where), "listen[%zu]", i);
	if (!config_setting_is_group(g))
		return fail_line(p, line_of(g), "%s must be a group like "
				 "{ address = \"tcp:0.0.0.0:8443\"; }", where);
	if (check_keys(p, g, where, listen_keys) != 0)
		return -1;
	snprintf(key, sizeof(key), "%s.address", where);
	s = config_setting_get_member(g, "address");
	if (!s)
		return fail_line(p, line_of(g), "%s is missing; add e.g. "
				 "address = \"tcp:0.0.0.0:8443\";", key);
	if (get_string(p, s, key, "\"tcp:0.0.0.0:8443\" or \"vsock:any:8443\"",
		       &text) != 0)
		return -1;
	if (nacre_addr_parse(text, true, &l->addr, aerr, sizeof(aerr)) != 0)
		return fail_line(p, line_of(s), "%s %s", key, aerr);
	if (l->addr.kind == NACRE_ADDR_UNIX)
		return fail_line(p, line_of(s), "%s \"%s\": nacred listens on "
				 "tcp or vsock only; write e.g. "
				 "\"tcp:0.0.0.0:8443\" or \"vsock:any:8443\"",
				 key, text);
	snprintf(key, sizeof(key), "%s.proxy_protocol", where);
	s = config_setting_get_member(g, "proxy_protocol");
	if (s) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return fail_line(p, line_of(s), "%s must be true or "
					 "false", key);
		l->proxy_protocol = config_setting_get_bool(s) != 0;
	}
	return 0;
}

static int
parse_listen(struct pctx *p, const config_setting_t *root,
	     struct nacre_config *c)
{
	const config_setting_t *list;
	int n;

	list = config_setting_get_member(root, "listen");

	if (!list)
		return fail_line(p, 0, "listen is missing; add e.g. listen = "
				 "( { address = \"tcp:0.0.0.0:8443\"; } );");
	if (!config_setting_is_list(list))
		return fail_line(p, line_of(list), "listen must be a list of "
				 "groups like ( { address = "
				 "\"tcp:0.0.0.0:8443\"; } )");
	n = config_setting_length(list);
	if (n == 0)
		return fail_line(p, line_of(list), "listen is empty; add at "
				 "least one { address = "
				 "\"tcp:0.0.0.0:8443\"; }");
	if (n > MAX_LISTEN)
		return fail_line(p, line_of(list), "listen has %d entries; at "
				 "most %d are allowed", n, MAX_LISTEN);
	c->listen = calloc((size_t)n, sizeof(*c->listen));
	if (!c->listen)
		return fail_line(p, 0, "out of memory");
	for (size_t i = 0; i < (size_t)n; i++) {
		const config_setting_t *g;

		g = config_setting_get_elem(list, (unsigned)i);
		if (parse_listener(p, g, i, &c->listen[i]) != 0)
			return -1;
		c->nlisten = i + 1;
		for (size_t j = 0; j < i; j++) {
			if (!addr_overlaps(&c->listen[j].addr,
					   &c->listen[i].addr))
				continue;
			return fail_line(p, line_of(g), "listen[%zu] \"%s\" "
					 "overlaps listen[%zu] \"%s\"; remove "
					 "one of them", i,
					 c->listen[i].addr.text, j,
					 c->listen[j].addr.text);
		}
	}
	return 0;
}

/* ---- upstream ---- */

static const char *const upstream_keys[] = { "address", "proxy_protocol",
					     NULL };

static int
parse_upstream(struct pctx *p, const config_setting_t *root,
	       struct nacre_config *c)
{
	char aerr[NACRE_ERRLEN];
	config_setting_t *g;
	const config_setting_t *s;
	const char *text = NULL;

	if (get_group(p, root, "upstream", "{ address = \"vsock:3:8080\"; }",
		      &g) != 0)
		return -1;
	if (!g)
		return fail_line(p, 0, "upstream is missing; add e.g. upstream "
				 "= { address = \"vsock:3:8080\"; };");
	if (check_keys(p, g, "upstream", upstream_keys) != 0)
		return -1;
	s = config_setting_get_member(g, "address");
	if (!s)
		return fail_line(p, line_of(g), "upstream.address is missing; "
				 "add e.g. address = \"vsock:3:8080\";");
	if (get_string(p, s, "upstream.address", "\"vsock:3:8080\"",
		       &text) != 0)
		return -1;
	if (nacre_addr_parse(text, false, &c->upstream.addr, aerr,
			     sizeof(aerr)) != 0)
		return fail_line(p, line_of(s), "upstream.address %s", aerr);
	if (!nacre_addr_is_local(&c->upstream.addr))
		return fail_line(p, line_of(s), "upstream.address \"%s\" is "
				 "not local: plaintext must never leave the "
				 "TEE over a network; use vsock:CID:PORT, "
				 "unix:/path or tcp:127.0.0.1:PORT", text);
	s = config_setting_get_member(g, "proxy_protocol");
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_line(p, line_of(s), "upstream.proxy_protocol must "
				 "be \"none\" or \"v2\"");
	text = config_setting_get_string(s);
	if (strcmp(text, "none") == 0)
		c->upstream.proxy_protocol = NACRE_PP_NONE;
	else if (strcmp(text, "v2") == 0)
		c->upstream.proxy_protocol = NACRE_PP_V2;
	else
		return fail_line(p, line_of(s), "upstream.proxy_protocol = "
				 "\"%s\" is unknown; use \"none\" or \"v2\"",
				 text);
	return 0;
}

/* ---- tls ---- */

static const char *const tls_keys[] = { "key", "min_version", "alpn", "names",
					"session_tickets", "records", NULL };

/* A string list: libconfig array [ "a", "b" ] or list ( "a", "b" ). */
static int
check_string_list(struct pctx *p, const config_setting_t *s, const char *key,
		  const char *example, int max)
{
	int n;

	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return fail_line(p, line_of(s), "%s must be a list of strings "
				 "like %s", key, example);
	n = config_setting_length(s);
	if (n > max)
		return fail_line(p, line_of(s), "%s has %d entries; at most %d "
				 "are allowed", key, n, max);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e;

		e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return fail_line(p, line_of(e), "%s[%d] must be a "
					 "string; write e.g. %s", key, i,
					 example);
	}
	return 0;
}

/* ALPN ids are exact bytes; DNS names compare without case. */
static bool
in_list(const config_setting_t *s, int upto, const char *v, bool nocase)
{
	for (int j = 0; j < upto; j++) {
		const char *e = config_setting_get_string_elem(s, j);
		if (nocase ? strcasecmp(e, v) == 0 : strcmp(e, v) == 0)
			return true;
	}
	return false;
}

static unsigned
elem_line(const config_setting_t *s, int i)
{
	return line_of(config_setting_get_elem(s, (unsigned)i));
}

static int
parse_alpn(struct pctx *p, const config_setting_t *s, struct nacre_config *c)
{
	size_t total = 0, off = 0;
	int n;

	if (check_string_list(p, s, "tls.alpn", "[ \"h2\", \"http/1.1\" ]",
			      MAX_ALPN) != 0)
		return -1;
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const char *proto = config_setting_get_string_elem(s, i);
		size_t len = strlen(proto);
		if (len == 0 || len > 255)
			return fail_line(p, elem_line(s, i), "tls.alpn[%d] "
					 "must be 1 to 255 bytes long, e.g. "
					 "\"h2\"", i);
		/* answered by nacred's ACME code, never forwarded upstream */
		if (strcmp(proto, "acme-tls/1") == 0)
			return fail_line(p, elem_line(s, i), "tls.alpn[%d] "
					 "\"acme-tls/1\" is reserved for ACME "
					 "challenges; remove it", i);
		if (in_list(s, i, proto, false))
			return fail_line(p, elem_line(s, i), "tls.alpn[%d] "
					 "\"%s\" is listed twice; remove one",
					 i, proto);
		total += 1 + len;
	}
	if (total == 0)
		return 0;
	c->tls.alpn = malloc(total);
	if (!c->tls.alpn)
		return fail_line(p, 0, "out of memory");
	for (int i = 0; i < n; i++) {
		const char *proto = config_setting_get_string_elem(s, i);
		size_t len = strlen(proto);
		c->tls.alpn[off++] = (unsigned char)len;
		memcpy(c->tls.alpn + off, proto, len);
		off += len;
	}
	c->tls.alpn_len = total;
	return 0;
}

/* A DNS name (optionally "*." + name) or an IPv4/IPv6 literal. */
static bool
tls_name_ok(const char *n)
{
	unsigned char buf[sizeof(struct in6_addr)];
	size_t total = strlen(n), label = 0;

	if (inet_pton(AF_INET, n, buf) == 1 || inet_pton(AF_INET6, n, buf) == 1)
		return true;
	if (total == 0 || total > 253)
		return false;
	if (strncmp(n, "*.", 2) == 0) /* wildcard: leftmost label only */
		n += 2;
	for (const char *q = n;; q++) {
		if (*q == '.' || *q == '\0') {
			if (label == 0 || label > 63 || q[-1] == '-')
				return false;
			if (*q == '\0')
				return true;
			label = 0;
			continue;
		}
		char ch = *q;
		bool ok = (ch >= 'a' && ch <= 'z') ||
			  (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '-';
		if (!ok || (label == 0 && *q == '-'))
			return false;
		label++;
	}
}

static int
set_default_names(struct pctx *p, struct nacre_config *c)
{
	c->tls.names = calloc(1, sizeof(char *));
	if (!c->tls.names || !(c->tls.names[0] = strdup("localhost")))
		return fail_line(p, 0, "out of memory");
	c->tls.nnames = 1;
	return 0;
}

static int
parse_names(struct pctx *p, const config_setting_t *s, struct nacre_config *c)
{
	const char *ex = "[ \"app.example.com\" ]";
	int n;

	if (check_string_list(p, s, "tls.names", ex, MAX_NAMES) != 0)
		return -1;
	n = config_setting_length(s);
	if (n == 0)
		return fail_line(p, line_of(s), "tls.names is empty; list at "
				 "least one name like %s, or remove the key "
				 "for \"localhost\"", ex);
	c->tls.names = calloc((size_t)n, sizeof(char *));
	if (!c->tls.names)
		return fail_line(p, 0, "out of memory");
	for (int i = 0; i < n; i++) {
		const char *name = config_setting_get_string_elem(s, i);
		if (!tls_name_ok(name))
			return fail_line(p, elem_line(s, i), "tls.names[%d] "
					 "\"%s\" is not a DNS name or IP "
					 "address; write e.g. "
					 "\"app.example.com\"", i, name);
		if (i == 0 && strlen(name) > X509_CN_MAX)
			return fail_line(p, elem_line(s, i), "tls.names[0] is "
					 "longer than %d characters and cannot "
					 "be the certificate's subject CN; put "
					 "a shorter name first", X509_CN_MAX);
		if (in_list(s, i, name, true))
			return fail_line(p, elem_line(s, i), "tls.names[%d] "
					 "\"%s\" is listed twice; remove one",
					 i, name);
		c->tls.names[i] = strdup(name);
		if (!c->tls.names[i])
			return fail_line(p, 0, "out of memory");
		c->tls.nnames = (size_t)i + 1;
	}
	return 0;
}

static int
parse_tls(struct pctx *p, const config_setting_t *root, struct nacre_config *c)
{
	config_setting_t *g;
	const config_setting_t *s;
	const char *v = NULL;

	c->tls.key = NACRE_KEY_EC_P256;
	c->tls.min_version = TLS1_2_VERSION;
	if (get_group(p, root, "tls", "{ names = [ \"app.example.com\" ]; }",
		      &g) != 0)
		return -1;
	if (!g)
		return set_default_names(p, c);
	if (check_keys(p, g, "tls", tls_keys) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "key"))) {
		if (get_string(p, s, "tls.key", "\"ec-p256\"", &v) != 0)
			return -1;
		if (strcasecmp(v, "ec-p256") == 0)
			c->tls.key = NACRE_KEY_EC_P256;
		else if (strcasecmp(v, "ec-p384") == 0)
			c->tls.key = NACRE_KEY_EC_P384;
		else
			return fail_line(p, line_of(s), "tls.key = \"%s\" is "
					 "unknown; use \"ec-p256\" or "
					 "\"ec-p384\"", v);
	}
	if ((s = config_setting_get_member(g, "min_version"))) {
		if (get_string(p, s, "tls.min_version", "\"TLSv1.2\"", &v) != 0)
			return -1;
		if (strcasecmp(v, "TLSv1.2") == 0)
			c->tls.min_version = TLS1_2_VERSION;
		else if (strcasecmp(v, "TLSv1.3") == 0)
			c->tls.min_version = TLS1_3_VERSION;
		else
			return fail_line(p, line_of(s), "tls.min_version = "
					 "\"%s\" is not supported; use "
					 "\"TLSv1.2\" or \"TLSv1.3\"", v);
	}
	if ((s = config_setting_get_member(g, "alpn")) &&
	    parse_alpn(p, s, c) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "session_tickets"))) {
		long long n;
		if (get_int(p, s, "tls.session_tickets", 0, 8, &n) != 0)
			return -1;
		c->tls.session_tickets = (unsigned)n;
	}
	if ((s = config_setting_get_member(g, "records"))) {
		const char *rv = NULL;
		if (get_string(p, s, "tls.records", "\"openssl\"", &rv) != 0)
			return -1;
		if (strcmp(rv, "compact") == 0)
			c->tls.records = NACRE_RECORDS_COMPACT;
		else if (strcmp(rv, "openssl") != 0)
			return fail_line(p, line_of(s), "tls.records = \"%s\" is "
					 "unknown; use \"openssl\" or \"compact\"", rv);
		/* OpenSSL writes tickets after the handshake: it must keep
		 * the records then */
		if (c->tls.records == NACRE_RECORDS_COMPACT &&
		    c->tls.session_tickets > 0)
			return fail_line(p, line_of(s), "tls.records = \"compact\" "
					 "needs tls.session_tickets = 0 (OpenSSL "
					 "writes the tickets after the handshake); "
					 "use \"openssl\" with tickets");
	}
	if ((s = config_setting_get_member(g, "names")))
		return parse_names(p, s, c);
	return set_default_names(p, c);
}

/* ---- limits, workers, log ---- */

static const char *const limits_keys[] = {
	"max_connections", "handshake_timeout", "idle_timeout",
	"connect_timeout", "drain_timeout", "buffer", NULL
};

struct duration_key {
	const char *name;
	uint64_t min, max;
	size_t off;
};

#define LIM(f) offsetof(struct nacre_config, limits.f)
static const struct duration_key duration_keys[] = {
	{ "handshake_timeout", 1, DAY, LIM(handshake_timeout_ms) },
	{ "idle_timeout", 1, 7 * DAY, LIM(idle_timeout_ms) },
	{ "connect_timeout", 1, DAY, LIM(connect_timeout_ms) },
	{ "drain_timeout", 0, DAY, LIM(drain_timeout_ms) },
	{ NULL, 0, 0, 0 },
};

static int
parse_limits(struct pctx *p, const config_setting_t *root,
	     struct nacre_config *c)
{
	config_setting_t *g;
	const config_setting_t *s;
	char key[48];
	long long v;

	c->limits.max_connections = 10000;
	c->limits.handshake_timeout_ms = 10 * SEC;
	c->limits.idle_timeout_ms = 5 * 60 * SEC;
	c->limits.connect_timeout_ms = 5 * SEC;
	c->limits.drain_timeout_ms = 30 * SEC;
	c->limits.buffer = 64 * 1024;
	if (get_group(p, root, "limits", "{ max_connections = 10000; }",
		      &g) != 0)
		return -1;
	if (!g)
		return 0;
	if (check_keys(p, g, "limits", limits_keys) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "max_connections"))) {
		if (get_int(p, s, "limits.max_connections", 1, 1000000, &v))
			return -1;
		c->limits.max_connections = (uint64_t)v;
	}
	for (const struct duration_key *d = duration_keys; d->name; d++) {
		if (!(s = config_setting_get_member(g, d->name)))
			continue;
		snprintf(key, sizeof(key), "limits.%s", d->name);
		if (get_duration(p, s, key, d->min, d->max,
				 (uint64_t *)((char *)c + d->off)) != 0)
			return -1;
	}
	if ((s = config_setting_get_member(g, "buffer")) &&
	    get_size(p, s, "limits.buffer", 4 << 10, 16 << 20,
		     &c->limits.buffer) != 0)
		return -1;
	return 0;
}

static int
parse_workers(struct pctx *p, const config_setting_t *root,
	      struct nacre_config *c)
{
	const config_setting_t *s = config_setting_get_member(root, "workers");
	long long v = 0;

	if (s && get_int(p, s, "workers", 0, 256, &v) != 0)
		return -1;
	if (v == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		v = cores < 1 ? 1 : cores > 256 ? 256 : cores;
	}
	c->workers = (unsigned)v;
	return 0;
}

static int
parse_balance(struct pctx *p, const config_setting_t *root,
	      struct nacre_config *c)
{
	const config_setting_t *s = config_setting_get_member(root, "balance");
	const char *v = NULL;
	long long busy = NACRE_PACK_BUSY_DEFAULT;

	c->balance = NACRE_BALANCE_PACK;
	if (s) {
		if (get_string(p, s, "balance", "\"pack\"", &v) != 0)
			return -1;
		if (strcmp(v, "spread") == 0)
			c->balance = NACRE_BALANCE_SPREAD;
		else if (strcmp(v, "pack") != 0)
			return fail_line(p, line_of(s), "balance = \"%s\" is "
					 "unknown; use \"pack\" or \"spread\"", v);
	}
	s = config_setting_get_member(root, "pack_busy");
	if (s && get_int(p, s, "pack_busy", 10, 100, &busy) != 0)
		return -1;
	if (s && c->balance != NACRE_BALANCE_PACK)
		return fail_line(p, line_of(s), "pack_busy applies to "
				 "balance = \"pack\" only");
	c->pack_busy = (unsigned)busy;
	return 0;
}

static const char *const log_keys[] = { "level", "format", "access", "to",
					NULL };

/* a local address (tcp loopback, unix, vsock) from KEY's string */
static int
get_local_addr(struct pctx *p, const config_setting_t *s, const char *key,
	       const char *example, bool for_listen, struct nacre_addr *out)
{
	const char *text = NULL;
	char aerr[NACRE_ERRLEN];

	if (get_string(p, s, key, example, &text) != 0)
		return -1;
	if (nacre_addr_parse(text, for_listen, out, aerr, sizeof(aerr)) != 0)
		return fail_line(p, line_of(s), "%s %s", key, aerr);
	if (!nacre_addr_is_local(out))
		return fail_line(p, line_of(s), "%s = \"%s\" is not local: "
				 "use vsock:CID:PORT, unix:/path or "
				 "tcp:127.0.0.1:PORT (it must not be reachable "
				 "from a network)", key, text);
	return 0;
}

static int
parse_log(struct pctx *p, const config_setting_t *root, struct nacre_config *c)
{
	config_setting_t *g;
	const config_setting_t *s;
	const char *v = NULL;

	c->log_level = NACRE_LOG_INFO;
	c->log_format = NACRE_LOG_TEXT;
	if (get_group(p, root, "log", "{ level = \"info\"; }", &g) != 0)
		return -1;
	if (!g)
		return 0;
	if (check_keys(p, g, "log", log_keys) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "level"))) {
		if (get_string(p, s, "log.level", "\"info\"", &v) != 0)
			return -1;
		c->log_level = nacre_log_level_from_str(v);
		if (c->log_level < 0)
			return fail_line(p, line_of(s), "log.level = \"%s\" is "
					 "unknown; use \"error\", \"warn\", "
					 "\"info\" or \"debug\"", v);
	}
	if ((s = config_setting_get_member(g, "format"))) {
		if (get_string(p, s, "log.format", "\"json\"", &v) != 0)
			return -1;
		if (strcmp(v, "json") == 0)
			c->log_format = NACRE_LOG_JSON;
		else if (strcmp(v, "text") != 0)
			return fail_line(p, line_of(s), "log.format = \"%s\" is "
					 "unknown; use \"text\" or \"json\"", v);
	}
	if ((s = config_setting_get_member(g, "access"))) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return fail_line(p, line_of(s), "log.access must be true "
					 "or false");
		c->log_access = config_setting_get_bool(s) != 0;
	}
	if ((s = config_setting_get_member(g, "to"))) {
		if (get_local_addr(p, s, "log.to", "\"vsock:3:5140\"", false,
				   &c->log_to) != 0)
			return -1;
		c->has_log_to = true;
	}
	return 0;
}

/* ---- admin ---- */

static const char *const admin_keys[] = { "listen", "max_evidence_age",
					  NULL };

static int
parse_admin(struct pctx *p, const config_setting_t *root,
	    struct nacre_config *c)
{
	config_setting_t *g;
	const config_setting_t *s;

	if (get_group(p, root, "admin",
		      "{ listen = \"unix:/run/nacre/admin.sock\"; }", &g) != 0)
		return -1;
	if (!g)
		return 0;
	if (check_keys(p, g, "admin", admin_keys) != 0)
		return -1;
	if (!(s = config_setting_get_member(g, "listen")))
		return fail_line(p, line_of(g), "admin needs listen = "
				 "\"unix:/run/nacre/admin.sock\" (or "
				 "tcp:127.0.0.1:PORT, vsock:CID:PORT)");
	if (get_local_addr(p, s, "admin.listen",
			   "\"unix:/run/nacre/admin.sock\"", true,
			   &c->admin_listen) != 0)
		return -1;
	c->has_admin = true;
	if ((s = config_setting_get_member(g, "max_evidence_age")) &&
	    get_duration(p, s, "admin.max_evidence_age", SEC, 30 * DAY,
			 &c->admin_max_evidence_age_ms) != 0)
		return -1;
	return 0;
}

/* ---- attestation ---- */

static const char *const attest_keys[] = { "provider", "rotate", "nitro",
					   "sim", "tsm", "fresh_pending", NULL };
static const char *const nitro_keys[] = { "device", NULL };
static const char *const sim_keys[] = { "root", "pcrs_from", "pcrs",
					"platform", NULL };
static const char *const tsm_keys[] = { "path", "privlevel", NULL };

#define ROTATE_MIN (1 * SEC)
#define ROTATE_MAX (2 * 3600 * SEC) /* well inside a Nitro cert's ~3 h */

static int
dup_path(struct pctx *p, const config_setting_t *s, const char *key,
	 char **out)
{
	const char *v = NULL;

	if (get_string(p, s, key, "\"/absolute/path\"", &v) != 0)
		return -1;
	if (v[0] != '/' || strlen(v) > 4000)
		return fail_line(p, line_of(s), "%s = \"%s\" must be an "
				 "absolute path", key, v);
	free(*out);
	*out = strdup(v);
	return *out ? 0 : fail_line(p, line_of(s), "out of memory");
}

static int
parse_sim_pcrs(struct pctx *p, const config_setting_t *g,
	       struct nacre_config *c)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s), *v = NULL;
		char key[64];
		int idx = -1, n = 0;

		if (sscanf(name, "pcr%d%n", &idx, &n) != 1 ||
		    name[n] != '\0' || idx < 0 || idx > 15)
			return fail_line(p, line_of(s), "attestation.sim.pcrs: "
					 "unknown key \"%s\"; use pcr0 .. pcr15",
					 name);
		snprintf(key, sizeof(key), "attestation.sim.pcrs.%s", name);
		if (get_string(p, s, key, "\"<96 hex digits>\"", &v) != 0)
			return -1;
		if (nacre_hex_decode(v, c->attestation.sim_pcrs[idx], 48) != 0)
			return fail_line(p, line_of(s), "%s must be 96 hex "
					 "digits (48 bytes, SHA-384)", key);
	}
	return 0;
}

static int
parse_sim(struct pctx *p, config_setting_t *g, struct nacre_config *c)
{
	const config_setting_t *s;
	config_setting_t *pcrs;
	const char *from = NULL;

	if (check_keys(p, g, "attestation.sim", sim_keys) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "root")) &&
	    dup_path(p, s, "attestation.sim.root", &c->attestation.sim_root) != 0)
		return -1;
	if (get_group(p, g, "pcrs", "{ pcr0 = \"<hex>\"; }", &pcrs) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "pcrs_from"))) {
		if (get_string(p, s, "attestation.sim.pcrs_from", "\"binary\"",
			       &from) != 0)
			return -1;
		if (strcmp(from, "binary") != 0 && strcmp(from, "config") != 0)
			return fail_line(p, line_of(s), "attestation.sim."
					 "pcrs_from = \"%s\" is unknown; use "
					 "\"binary\" or \"config\"", from);
	}
	if (pcrs && from && strcmp(from, "binary") == 0)
		return fail_line(p, line_of(pcrs), "attestation.sim.pcrs is "
				 "given but pcrs_from = \"binary\"; remove one "
				 "or set pcrs_from = \"config\"");
	c->attestation.sim_pcrs_from_binary = !pcrs && (!from ||
					      strcmp(from, "binary") == 0);
	if ((s = config_setting_get_member(g, "platform"))) {
		const char *v = NULL;

		if (get_string(p, s, "attestation.sim.platform", "\"nitro\"",
			       &v) != 0)
			return -1;
		if (strcmp(v, "nitro") == 0)
			c->attestation.sim_platform = NACRE_SIM_NITRO;
		else if (strcmp(v, "tdx") == 0)
			c->attestation.sim_platform = NACRE_SIM_TDX;
		else if (strcmp(v, "snp") == 0)
			c->attestation.sim_platform = NACRE_SIM_SNP;
		else
			return fail_line(p, line_of(s), "attestation.sim.platform "
					 "= \"%s\" is unknown; use \"nitro\" (the "
					 "default), \"tdx\" or \"snp\"", v);
	}
	return pcrs ? parse_sim_pcrs(p, pcrs, c) : 0;
}

static int
parse_tsm(struct pctx *p, config_setting_t *g, struct nacre_config *c)
{
	const config_setting_t *s;

	if (check_keys(p, g, "attestation.tsm", tsm_keys) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "path")) &&
	    dup_path(p, s, "attestation.tsm.path", &c->attestation.tsm_path) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "privlevel"))) {
		long long n;

		if (get_int(p, s, "attestation.tsm.privlevel", 0, 3, &n) != 0)
			return -1;
		c->attestation.tsm_has_privlevel = true;
		c->attestation.tsm_privlevel = (unsigned)n;
	}
	return 0;
}

static int
parse_attestation(struct pctx *p, const config_setting_t *root,
		  struct nacre_config *c)
{
	config_setting_t *g, *sub;
	const config_setting_t *s;
	const char *v = NULL;

	c->attestation.provider = NACRE_ATTEST_NITRO;
	c->attestation.rotate_ms = 3600 * SEC;
	c->attestation.fresh_pending = NACRE_FRESH_PENDING_DEFAULT;
	c->attestation.sim_pcrs_from_binary = true;
	c->attestation.nitro_device = strdup(NACRE_NSM_DEVICE_DEFAULT);
	c->attestation.sim_root = strdup(NACRE_SIM_ROOT_DEFAULT);
	c->attestation.tsm_path = strdup(NACRE_TSM_PATH_DEFAULT);
	if (!c->attestation.nitro_device || !c->attestation.sim_root ||
	    !c->attestation.tsm_path)
		return fail_line(p, 0, "out of memory");
	if (get_group(p, root, "attestation", "{ provider = \"nitro\"; }",
		      &g) != 0)
		return -1;
	if (!g)
		return 0;
	if (check_keys(p, g, "attestation", attest_keys) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "provider"))) {
		if (get_string(p, s, "attestation.provider", "\"nitro\"", &v) != 0)
			return -1;
		if (strcmp(v, "sim") == 0)
			c->attestation.provider = NACRE_ATTEST_SIM;
		else if (strcmp(v, "tsm") == 0)
			c->attestation.provider = NACRE_ATTEST_TSM;
		else if (strcmp(v, "nitro") != 0)
			return fail_line(p, line_of(s), "attestation.provider = "
					 "\"%s\" is unknown; use \"nitro\" (in a "
					 "Nitro enclave), \"tsm\" (Intel TDX or AMD "
					 "SEV-SNP, configfs-tsm) or \"sim\" "
					 "(development)", v);
	}
	if ((s = config_setting_get_member(g, "rotate")) &&
	    get_duration(p, s, "attestation.rotate", ROTATE_MIN, ROTATE_MAX,
			 &c->attestation.rotate_ms) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "fresh_pending"))) {
		long long n;
		if (get_int(p, s, "attestation.fresh_pending", 0, 65536, &n) != 0)
			return -1;
		c->attestation.fresh_pending = (uint64_t)n;
	}
	if (get_group(p, g, "nitro", "{ device = \"/dev/nsm\"; }", &sub) != 0)
		return -1;
	if (sub) {
		if (check_keys(p, sub, "attestation.nitro", nitro_keys) != 0)
			return -1;
		if ((s = config_setting_get_member(sub, "device")) &&
		    dup_path(p, s, "attestation.nitro.device",
			     &c->attestation.nitro_device) != 0)
			return -1;
	}
	if (get_group(p, g, "tsm", "{ path = \"" NACRE_TSM_PATH_DEFAULT "\"; }",
		      &sub) != 0)
		return -1;
	if (sub && parse_tsm(p, sub, c) != 0)
		return -1;
	if (get_group(p, g, "sim", "{ root = \"/var/lib/nacre/sim-root.pem\"; }",
		      &sub) != 0)
		return -1;
	return sub ? parse_sim(p, sub, c) : 0;
}

/* ---- the whole file ---- */

/*
 * Top-level sections. "attestation = { ... }" (evidence provider, rotation)
 * and "admin = { ... }" (the local /metrics, /healthz listener) belong here
 * once their code exists: add the name to top_keys and a parse_* call to
 * parse_root(). Until then they are unknown keys, so a file written for a
 * newer nacred is refused instead of half applied.
 */
static const char *const top_keys[] = {
	"listen", "upstream", "tls", "limits", "workers", "balance",
	"pack_busy", "log", "attestation", "acme", "admin", NULL
};

/* ---- acme ---- */

static const char *const acme_keys[] = { "directory", "ca_roots", "via",
	"resolver", "domains", "contact", "renew_before", "require_caa",
	"caa_identity", "caa_peer_accounts", NULL };
static const char *const acme_domain_keys[] = { "names", NULL };

#define ACME_NAMES_MAX 100   /* RFC 8555 sets none; Let's Encrypt: 100 */
#define ACME_DOMAINS_MAX 16  /* the claims name at most 16 keys */

static int
dup_str(struct pctx *p, const config_setting_t *s, const char *key,
	const char *example, char **out)
{
	const char *v = NULL;

	if (get_string(p, s, key, example, &v) != 0)
		return -1;
	if (!*v || strlen(v) > 2048)
		return fail_line(p, line_of(s), "%s must be 1 to 2048 characters",
				 key);
	free(*out);
	*out = strdup(v);
	return *out ? 0 : fail_line(p, line_of(s), "out of memory");
}

static int
acme_address(struct pctx *p, const config_setting_t *s, const char *key,
	     bool dns, char **out)
{
	struct nacre_addr a;
	char why[200];
	const char *v;

	if (dup_str(p, s, key, dns ? "\"tcp:127.0.0.1:53\"" : "\"vsock:3:8001\"",
		    out) != 0)
		return -1;
	v = *out;
	/* a DNS resolver may also be udp:HOST:PORT (a local resolver) */
	if (dns && strncmp(v, "udp:", 4) == 0) {
		char t[2100];
		snprintf(t, sizeof(t), "tcp:%s", v + 4);
		v = t;
		if (nacre_addr_parse(v, false, &a, why, sizeof(why)) == 0)
			return 0;
	} else if (nacre_addr_parse(v, false, &a, why, sizeof(why)) == 0) {
		if (dns && a.kind == NACRE_ADDR_UNIX)
			return fail_line(p, line_of(s), "%s = \"%s\": a DNS "
					 "resolver is tcp:, udp: or vsock:", key, v);
		return 0;
	}
	return fail_line(p, line_of(s), "%s = \"%s\": %s", key, *out, why);
}

static int
acme_names(struct pctx *p, const config_setting_t *s, const char *where,
	   struct nacre_acme_domain *d)
{
	int n;

	if (check_string_list(p, s, where, "[ \"app.example.com\" ]",
			      ACME_NAMES_MAX) != 0)
		return -1;
	if ((n = config_setting_length(s)) == 0)
		return fail_line(p, line_of(s), "%s is empty; give at least one "
				 "name", where);
	if (!(d->names = calloc((size_t)n, sizeof(char *))))
		return fail_line(p, line_of(s), "out of memory");
	for (int i = 0; i < n; i++) {
		const char *v = config_setting_get_string_elem(s, i);
		if (strncmp(v, "*.", 2) == 0)
			return fail_line(p, elem_line(s, i), "%s: \"%s\": "
					 "tls-alpn-01 cannot prove a wildcard "
					 "name (RFC 8737 3); list the names", where, v);
		if (!nacre_hostname_valid(v) || !strchr(v, '.'))
			return fail_line(p, elem_line(s, i), "%s: \"%s\" is not "
					 "a fully qualified DNS name", where, v);
		if (in_list(s, i, v, true))
			return fail_line(p, elem_line(s, i), "%s: \"%s\" is "
					 "listed twice", where, v);
		if (!(d->names[i] = strdup(v)))
			return fail_line(p, line_of(s), "out of memory");
		d->nnames = (size_t)i + 1;
	}
	return 0;
}

static int
acme_domains(struct pctx *p, const config_setting_t *s, struct nacre_config *c)
{
	int n;

	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		return fail_line(p, line_of(s), "acme.domains must be a list like "
				 "( { names = [ \"app.example.com\" ]; } )");
	n = config_setting_length(s);
	if (n == 0 || n > ACME_DOMAINS_MAX)
		return fail_line(p, line_of(s), "acme.domains must have 1 to %d "
				 "entries", ACME_DOMAINS_MAX);
	if (!(c->acme.domains = calloc((size_t)n, sizeof(*c->acme.domains))))
		return fail_line(p, line_of(s), "out of memory");
	c->acme.ndomains = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		const config_setting_t *names;
		char where[48];

		snprintf(where, sizeof(where), "acme.domains[%d]", i);
		if (!config_setting_is_group(g))
			return fail_line(p, line_of(g), "%s must be a group like "
					 "{ names = [ \"app.example.com\" ]; }", where);
		if (check_keys(p, g, where, acme_domain_keys) != 0)
			return -1;
		if (!(names = config_setting_get_member(g, "names")))
			return fail_line(p, line_of(g), "%s needs names = [ ... ]",
					 where);
		snprintf(where, sizeof(where), "acme.domains[%d].names", i);
		if (acme_names(p, names, where, &c->acme.domains[i]) != 0)
			return -1;
	}
	/* a name in two certificates would make the choice per SNI ambiguous */
	for (size_t i = 0; i < c->acme.ndomains; i++)
		for (size_t j = 0; j < c->acme.domains[i].nnames; j++)
			for (size_t k = i + 1; k < c->acme.ndomains; k++)
				for (size_t l = 0; l < c->acme.domains[k].nnames; l++)
					if (strcasecmp(c->acme.domains[i].names[j],
						       c->acme.domains[k].names[l]) == 0)
						return fail_line(p, line_of(s), "acme.domains: "
							"\"%s\" is in two entries; a name has one "
							"certificate", c->acme.domains[i].names[j]);
	return 0;
}

/* the accounts of the other replicas of this service: a CAA issue record
 * naming one of them does not open the name to "another account" */
static int
acme_peers(struct pctx *p, const config_setting_t *s, struct nacre_config *c)
{
	int n;

	if (check_string_list(p, s, "acme.caa_peer_accounts",
			      "[ \"https://acme.example/acct/2\" ]", 15) != 0)
		return -1;
	n = config_setting_length(s);
	if (n && !(c->acme.caa_peers = calloc((size_t)n, sizeof(char *))))
		return fail_line(p, line_of(s), "out of memory");
	for (int i = 0; i < n; i++) {
		const char *v = config_setting_get_string_elem(s, i);
		if (strncmp(v, "https://", 8) != 0 || strlen(v) > 400 ||
		    strpbrk(v, " \";\\"))
			return fail_line(p, elem_line(s, i), "acme.caa_peer_"
					 "accounts[%d] = \"%s\": an account URL "
					 "(https://, at most 400 characters, no "
					 "space, quote or ';') as another replica "
					 "logs it", i, v);
		if (!(c->acme.caa_peers[i] = strdup(v)))
			return fail_line(p, line_of(s), "out of memory");
		c->acme.ncaa_peers = (size_t)i + 1;
	}
	return 0;
}

static int
acme_contact(struct pctx *p, const config_setting_t *s, struct nacre_config *c)
{
	int n;

	if (check_string_list(p, s, "acme.contact", "[ \"mailto:ops@example.com\" ]",
			      8) != 0)
		return -1;
	n = config_setting_length(s);
	if (n && !(c->acme.contact = calloc((size_t)n, sizeof(char *))))
		return fail_line(p, line_of(s), "out of memory");
	for (int i = 0; i < n; i++) {
		const char *v = config_setting_get_string_elem(s, i);
		if (strncmp(v, "mailto:", 7) != 0 || strlen(v) < 8 ||
		    strlen(v) > 256 || strpbrk(v, " ,\"<>\\"))
			return fail_line(p, elem_line(s, i), "acme.contact[%d] = "
					 "\"%s\": write one address as "
					 "\"mailto:ops@example.com\"", i, v);
		if (!(c->acme.contact[i] = strdup(v)))
			return fail_line(p, line_of(s), "out of memory");
		c->acme.ncontact = (size_t)i + 1;
	}
	return 0;
}

static int
parse_acme(struct pctx *p, const config_setting_t *root, struct nacre_config *c)
{
	config_setting_t *g;
	const config_setting_t *s;
	int b;

	c->acme.renew_before_ms = 30 * DAY;
	c->acme.require_caa = true;
	if (get_group(p, root, "acme", "{ directory = \"https://...\"; "
		      "domains = ( { names = [ \"app.example.com\" ]; } ); }", &g) != 0)
		return -1;
	if (!g)
		return 0;
	c->acme.enabled = true;
	if (check_keys(p, g, "acme", acme_keys) != 0)
		return -1;
	if (!(s = config_setting_get_member(g, "directory")))
		return fail_line(p, line_of(g), "acme needs directory = \"https://"
				 "...\" (the CA's ACME directory URL)");
	if (dup_str(p, s, "acme.directory", "\"https://acme-v02.api.letsencrypt."
		    "org/directory\"", &c->acme.directory) != 0)
		return -1;
	if (strncmp(c->acme.directory, "https://", 8) != 0 ||
	    strpbrk(c->acme.directory, " \"\\"))
		return fail_line(p, line_of(s), "acme.directory = \"%s\" must be an "
				 "https:// URL", c->acme.directory);
	if ((s = config_setting_get_member(g, "ca_roots")) &&
	    dup_path(p, s, "acme.ca_roots", &c->acme.ca_roots) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "via")) &&
	    acme_address(p, s, "acme.via", false, &c->acme.via) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "resolver")) &&
	    acme_address(p, s, "acme.resolver", true, &c->acme.resolver) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "caa_identity"))) {
		if (dup_str(p, s, "acme.caa_identity", "\"letsencrypt.org\"",
			    &c->acme.caa_identity) != 0)
			return -1;
		if (!nacre_hostname_valid(c->acme.caa_identity))
			return fail_line(p, line_of(s), "acme.caa_identity = \"%s\" "
					 "must be a domain name (the CA's CAA "
					 "issuer domain)", c->acme.caa_identity);
	}
	if ((s = config_setting_get_member(g, "caa_peer_accounts")) &&
	    acme_peers(p, s, c) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "contact")) &&
	    acme_contact(p, s, c) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "renew_before")) &&
	    get_duration(p, s, "acme.renew_before", 60 * SEC, 60 * DAY,
			 &c->acme.renew_before_ms) != 0)
		return -1;
	if ((s = config_setting_get_member(g, "require_caa"))) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return fail_line(p, line_of(s), "acme.require_caa must be "
					 "true or false");
		b = config_setting_get_bool(s);
		c->acme.require_caa = b != 0;
	}
	if (c->acme.require_caa && !c->acme.resolver)
		return fail_line(p, line_of(g), "acme.require_caa = true needs "
				 "acme.resolver (the DNS server for the CAA check, "
				 "e.g. \"tcp:127.0.0.1:53\")");
	if (!(s = config_setting_get_member(g, "domains")))
		return fail_line(p, line_of(g), "acme needs domains = ( { names = "
				 "[ \"app.example.com\" ]; } )");
	return acme_domains(p, s, c);
}

static int
parse_root(struct pctx *p, const config_setting_t *root,
	   struct nacre_config *c)
{
	/* the sections do not read each other: with p->all, each one's
	 * first error is reported */
	static int (*const parts[])(struct pctx *, const config_setting_t *,
				    struct nacre_config *) = {
		parse_listen, parse_upstream, parse_tls, parse_limits,
		parse_workers, parse_balance, parse_log, parse_admin,
		parse_attestation, parse_acme,
	};
	int rc = check_keys(p, root, "the top level", top_keys);

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (rc != 0 && !p->all)
			break;
		if (parts[i](p, root, c) != 0)
			rc = -1;
	}
	return rc;
}

/* the setting name that starts line LINE of TEXT, or "" */
static void
key_at_line(const char *text, unsigned line, char *out, size_t cap)
{
	size_t n = 0;

	for (unsigned l = 1; l < line && text; l++)
		if ((text = strchr(text, '\n')))
			text++;
	out[0] = '\0';
	if (!text || !cap)
		return;
	text += strspn(text, " \t");
	while (n + 1 < cap && (isalnum((unsigned char)text[n]) ||
			       text[n] == '_' || text[n] == '-' ||
			       text[n] == '*'))
		n++;
	memcpy(out, text, n);
	out[n] = '\0';
}

static int
read_libconfig(struct pctx *p, const char *text, config_t *cfg)
{
	char msg[NACRE_ERRLEN], key[64];
	unsigned line = 0;

	if (nacre_libconfig_read(cfg, text, msg, sizeof(msg), &line) == 0)
		return 0;
	/* libconfig does not say which: the name is the line's first word */
	if (line && strstr(msg, "duplicate setting name")) {
		key_at_line(text, line, key, sizeof(key));
		if (key[0])
			return fail_line(p, line, "\"%s\" is set twice in the "
					 "same group; keep one", key);
	}
	return fail_line(p, line, "%s", msg);
}

static int
config_parse(const char *text, const char *name, bool all,
	     struct nacre_config **out, char *err, size_t errlen)
{
	struct pctx p = { name ? name : "(config)", err, errlen, all, 0, 0 };
	struct nacre_config *c;
	config_t cfg;
	int rc;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(p.name))) {
		free(c);
		return fail_line(&p, 0, "out of memory");
	}
	if (EVP_Digest(text, strlen(text), c->digest, NULL, EVP_sha256(),
		       NULL) != 1) {
		nacre_config_free(c);
		return fail_line(&p, 0, "cannot compute the SHA-256 digest");
	}
	config_init(&cfg);
	rc = read_libconfig(&p, text, &cfg);
	if (rc == 0)
		rc = parse_root(&p, config_root_setting(&cfg), c);
	config_destroy(&cfg);
	if (rc != 0) {
		nacre_config_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

int
nacre_config_parse(const char *text, const char *name,
		   struct nacre_config **out, char *err, size_t errlen)
{
	return config_parse(text, name, false, out, err, errlen);
}

static int
config_load(const char *path, bool all, struct nacre_config **out, char *err,
	    size_t errlen)
{
	char *text;
	int rc;

	*out = NULL;
	text = nacre_read_text_file(path, MAX_FILE, "configuration", err, errlen);
	if (!text)
		return -1;
	/* the text is exactly the file's bytes, so parse's digest is the
	 * SHA-256 of the file as read */
	rc = config_parse(text, path, all, out, err, errlen);
	free(text);
	return rc;
}

int
nacre_config_load(const char *path, struct nacre_config **out, char *err,
		  size_t errlen)
{
	return config_load(path, false, out, err, errlen);
}

int
nacre_config_load_all(const char *path, struct nacre_config **out, char *err,
		      size_t errlen)
{
	return config_load(path, true, out, err, errlen);
}

void
nacre_config_free(struct nacre_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->listen);
	free(c->tls.alpn);
	if (c->tls.names)
		for (size_t i = 0; i < c->tls.nnames; i++)
			free(c->tls.names[i]);
	free(c->tls.names);
	free(c->attestation.nitro_device);
	free(c->attestation.sim_root);
	free(c->attestation.tsm_path);
	free(c->acme.directory);
	free(c->acme.ca_roots);
	free(c->acme.via);
	free(c->acme.resolver);
	free(c->acme.caa_identity);
	for (size_t i = 0; i < c->acme.ncontact; i++)
		free(c->acme.contact[i]);
	free(c->acme.contact);
	for (size_t i = 0; i < c->acme.ncaa_peers; i++)
		free(c->acme.caa_peers[i]);
	free(c->acme.caa_peers);
	for (size_t i = 0; i < c->acme.ndomains; i++) {
		for (size_t j = 0; j < c->acme.domains[i].nnames; j++)
			free(c->acme.domains[i].names[j]);
		free(c->acme.domains[i].names);
	}
	free(c->acme.domains);
	free(c);
}
