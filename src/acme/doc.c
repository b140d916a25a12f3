/*
 * doc.c: the CA's documents read strictly (RFC 8555 7.1: directory, order,
 * authorization; RFC 7807 problems; RFC 9773 renewal windows) and the
 * Retry-After header. Everything here is input from the network: URLs must
 * be https and printable, other strings are escaped before they are shown.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acme/acme.h"
#include "nacred.h"

#define MAX_SUBPROBLEMS 3
#define TOKEN_MAX 256
#define CAA_IDENTITIES_MAX 8 /* entries looked at in meta.caaIdentities */

static const char *const status_names[] = {
	"unknown", "pending", "ready", "processing", "valid", "invalid",
	"expired", "deactivated", "revoked",
};
#define NSTATUS (sizeof(status_names) / sizeof(status_names[0]))

const char *
nacre_acme_status_str(enum nacre_acme_status s)
{
	if ((size_t)s >= NSTATUS)
		return "unknown";
	return status_names[s];
}

static enum nacre_acme_status
status_parse(const char *s)
{
	for (size_t i = 1; s && i < NSTATUS; i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum nacre_acme_status)i;
	return NACRE_ACME_UNKNOWN;
}

bool
nacre_acme_url_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n <= 8 || n > NACRE_ACME_URL_MAX || strncmp(s, "https://", 8) != 0)
		return false;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f || *s == '"' || *s == '\\')
			return false;
	return true;
}

static json_t *
load(const char *json, size_t len, const char *what, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	char esc[160];

	if (!j) {
		nacre_escape(je.text, strlen(je.text), esc, sizeof(esc));
		nacre_seterr(err, errlen, "the CA's %s is not valid JSON: %s "
			     "(at byte %d)", what, esc, je.position);
		return NULL;
	}
	if (!json_is_object(j)) {
		nacre_seterr(err, errlen, "the CA's %s is not a JSON object",
			     what);
		json_decref(j);
		return NULL;
	}
	return j;
}

/* O.KEY as a URL (malloc'd in *OUT); absent is fine unless REQUIRED */
static int
get_url(json_t *o, const char *key, bool required, char **out,
	const char *what, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v && !required)
		return 0;
	if (!json_is_string(v)) {
		nacre_seterr(err, errlen, "the CA's %s %s \"%s\"", what,
			     v ? "has a non-string" : "lacks", key);
		return -1;
	}
	if (!nacre_acme_url_ok(json_string_value(v))) {
		nacre_seterr(err, errlen, "the CA's %s has a \"%s\" that is "
			     "not an https URL of at most %d printable "
			     "characters", what, key, NACRE_ACME_URL_MAX);
		return -1;
	}
	*out = strdup(json_string_value(v));
	if (!*out) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
get_status(json_t *o, enum nacre_acme_status *st, const char *what, char *err,
	   size_t errlen)
{
	*st = status_parse(json_string_value(json_object_get(o, "status")));
	if (*st != NACRE_ACME_UNKNOWN)
		return 0;
	nacre_seterr(err, errlen, "the CA's %s has no known \"status\"", what);
	return -1;
}

/* meta.caaIdentities (RFC 8555 7.1.1): the first that is a host name. A
 * CA may list several; CAA names one issuer domain per record, and the
 * first is the one the CA puts first (Let's Encrypt lists one). Absent,
 * or none usable: NULL, and acme.caa_identity must say it. */
static int
get_caa_identity(json_t *j, struct nacre_acme_directory *d, char *err,
		 size_t errlen)
{
	json_t *ids = json_object_get(json_object_get(j, "meta"),
				      "caaIdentities");
	size_t i, n;

	if (!ids)
		return 0;
	if (!json_is_array(ids)) {
		nacre_seterr(err, errlen, "the CA's directory has a "
			     "meta.caaIdentities that is not an array");
		return -1;
	}
	n = json_array_size(ids);
	for (i = 0; i < n && i < CAA_IDENTITIES_MAX; i++) {
		const char *v = json_string_value(json_array_get(ids, i));

		if (!v || strlen(v) > 253 || !nacre_hostname_valid(v))
			continue;
		if (!(d->caa_identity = strdup(v))) {
			nacre_seterr(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	return 0;
}

int
nacre_acme_directory_parse(const char *json, size_t len,
			   struct nacre_acme_directory *d, char *err,
			   size_t errlen)
{
	static const char what[] = "directory";
	json_t *j = load(json, len, what, err, errlen);
	int rc = -1;

	memset(d, 0, sizeof(*d));
	if (!j)
		return -1;
	if (get_url(j, "newNonce", true, &d->new_nonce, what, err, errlen) ||
	    get_url(j, "newAccount", true, &d->new_account, what, err,
		    errlen) ||
	    get_url(j, "newOrder", true, &d->new_order, what, err, errlen) ||
	    get_url(j, "renewalInfo", false, &d->renewal_info, what, err,
		    errlen) ||
	    get_caa_identity(j, d, err, errlen))
		goto out;
	rc = 0;
out:
	json_decref(j);
	if (rc != 0)
		nacre_acme_directory_clear(d);
	return rc;
}

void
nacre_acme_directory_clear(struct nacre_acme_directory *d)
{
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->renewal_info);
	free(d->caa_identity);
	memset(d, 0, sizeof(*d));
}

/* a server string, escaped, into out */
static void
esc_str(json_t *v, char *out, size_t cap)
{
	const char *s = json_string_value(v);

	if (!s) {
		snprintf(out, cap, "(none)");
		return;
	}
	nacre_escape(s, json_string_length(v), out, cap);
}

static size_t
append(char *out, size_t cap, size_t o, const char *s)
{
	int n = o < cap ? snprintf(out + o, cap - o, "%s", s) : 0;

	return n > 0 ? o + (size_t)n : o;
}

/* one problem object as "TYPE: DETAIL (HTTP N)" */
static size_t
problem_line(json_t *p, long http_status, char *out, size_t cap)
{
	char type[160], detail[320], buf[520];
	json_t *st = json_object_get(p, "status");

	esc_str(json_object_get(p, "type"), type, sizeof(type));
	esc_str(json_object_get(p, "detail"), detail, sizeof(detail));
	if (http_status <= 0 && json_is_integer(st))
		http_status = (long)json_integer_value(st);
	if (http_status > 0)
		snprintf(buf, sizeof(buf), "%s: %s (HTTP %ld)", type, detail,
			 http_status);
	else
		snprintf(buf, sizeof(buf), "%s: %s", type, detail);
	return append(out, cap, 0, buf);
}

/* "; for dns NAME: TYPE: DETAIL" for the first few subproblems */
static void
subproblems(json_t *p, char *out, size_t cap, size_t o)
{
	json_t *subs = json_object_get(p, "subproblems"), *s;
	size_t i;

	if (!json_is_array(subs))
		return;
	json_array_foreach(subs, i, s) {
		char ident[300], line[520], buf[900];
		if (i == MAX_SUBPROBLEMS) {
			snprintf(buf, sizeof(buf), "; and %zu more",
				 json_array_size(subs) - i);
			append(out, cap, o, buf);
			return;
		}
		if (!json_is_object(s))
			continue;
		esc_str(json_object_get(json_object_get(s, "identifier"),
					"value"), ident, sizeof(ident));
		problem_line(s, 0, line, sizeof(line));
		snprintf(buf, sizeof(buf), "; for %s: %s", ident, line);
		o = append(out, cap, o, buf);
	}
}

static void
problem_text(json_t *p, long http_status, char *out, size_t cap)
{
	size_t o = problem_line(p, http_status, out, cap);

	subproblems(p, out, cap, o);
}

static bool
printable(const char *s)
{
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return false;
	return true;
}

int
nacre_acme_problem(const char *body, size_t len, long http_status,
		   char *type, size_t typecap, char *text, size_t textcap)
{
	json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *t = json_string_value(json_object_get(j, "type"));

	if (typecap)
		type[0] = '\0';
	if (!json_is_object(j) || !t) {
		json_decref(j);
		snprintf(text, textcap, "HTTP %ld without a problem document",
			 http_status);
		return -1;
	}
	if (typecap && printable(t) && strlen(t) < typecap)
		memcpy(type, t, strlen(t) + 1);
	problem_text(j, http_status, text, textcap);
	json_decref(j);
	return 0;
}

/* an embedded problem (order.error, challenge.error), malloc'd or NULL */
static char *
embedded_problem(json_t *p)
{
	char buf[NACRE_ERRLEN];

	if (!json_is_object(p))
		return NULL;
	problem_text(p, 0, buf, sizeof(buf));
	return strdup(buf);
}

static int
order_authz(json_t *j, struct nacre_acme_order *o, char *err, size_t errlen)
{
	json_t *a = json_object_get(j, "authorizations"), *v;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > NACRE_ACME_MAX_NAMES) {
		nacre_seterr(err, errlen, "the CA's order needs 1 to %d "
			     "\"authorizations\"", NACRE_ACME_MAX_NAMES);
		return -1;
	}
	o->authz = calloc(json_array_size(a), sizeof(*o->authz));
	if (!o->authz) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	json_array_foreach(a, i, v) {
		if (!nacre_acme_url_ok(json_string_value(v))) {
			nacre_seterr(err, errlen, "the CA's order has an "
				     "authorization that is not an https URL");
			return -1;
		}
		o->authz[i] = strdup(json_string_value(v));
		if (!o->authz[i]) {
			nacre_seterr(err, errlen, "out of memory");
			return -1;
		}
		o->nauthz = i + 1;
	}
	return 0;
}

int
nacre_acme_order_parse(const char *json, size_t len,
		       struct nacre_acme_order *o, char *err, size_t errlen)
{
	static const char what[] = "order";
	json_t *j = load(json, len, what, err, errlen);
	int rc = -1;

	memset(o, 0, sizeof(*o));
	if (!j)
		return -1;
	if (get_status(j, &o->status, what, err, errlen) ||
	    order_authz(j, o, err, errlen) ||
	    get_url(j, "finalize", true, &o->finalize, what, err, errlen) ||
	    get_url(j, "certificate", false, &o->certificate, what, err,
		    errlen))
		goto out;
	o->error = embedded_problem(json_object_get(j, "error"));
	rc = 0;
out:
	json_decref(j);
	if (rc != 0)
		nacre_acme_order_clear(o);
	return rc;
}

void
nacre_acme_order_clear(struct nacre_acme_order *o)
{
	for (size_t i = 0; i < o->nauthz; i++)
		free(o->authz[i]);
	free(o->authz);
	free(o->finalize);
	free(o->certificate);
	free(o->error);
	memset(o, 0, sizeof(*o));
}

static bool
token_ok(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (n == 0 || n > TOKEN_MAX)
		return false;
	return strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-_") == n;
}

static int
authz_identifier(json_t *j, struct nacre_acme_authz *a, char *err,
		 size_t errlen)
{
	json_t *id = json_object_get(j, "identifier");
	const char *type = json_string_value(json_object_get(id, "type"));
	const char *value = json_string_value(json_object_get(id, "value"));

	if (!type || strcmp(type, "dns") != 0 || !value ||
	    strlen(value) > 253 || !printable(value)) {
		nacre_seterr(err, errlen, "the CA's authorization lacks a "
			     "\"dns\" identifier of at most 253 printable "
			     "characters");
		return -1;
	}
	a->name = strdup(value);
	if (!a->name) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* the tls-alpn-01 challenge, if the CA offers one */
static int
authz_challenge(json_t *j, struct nacre_acme_authz *a, char *err,
		size_t errlen)
{
	static const char what[] = "tls-alpn-01 challenge";
	json_t *cs = json_object_get(j, "challenges"), *c;
	size_t i;

	if (!json_is_array(cs)) {
		nacre_seterr(err, errlen, "the CA's authorization has no "
			     "\"challenges\" array");
		return -1;
	}
	json_array_foreach(cs, i, c) {
		const char *type = json_string_value(json_object_get(c,
								     "type"));
		if (!type || strcmp(type, "tls-alpn-01") != 0)
			continue;
		if (get_status(c, &a->chall_status, what, err, errlen) ||
		    get_url(c, "url", true, &a->chall_url, what, err, errlen))
			return -1;
		if (!token_ok(json_string_value(json_object_get(c, "token")))) {
			nacre_seterr(err, errlen, "the CA's %s has a \"token\" "
				     "that is not 1 to %d base64url characters",
				     what, TOKEN_MAX);
			return -1;
		}
		a->chall_token = strdup(json_string_value(
			json_object_get(c, "token")));
		a->error = embedded_problem(json_object_get(c, "error"));
		if (!a->chall_token) {
			nacre_seterr(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	return 0;
}

int
nacre_acme_authz_parse(const char *json, size_t len,
		       struct nacre_acme_authz *a, char *err, size_t errlen)
{
	json_t *j = load(json, len, "authorization", err, errlen);
	int rc = -1;

	memset(a, 0, sizeof(*a));
	if (!j)
		return -1;
	if (get_status(j, &a->status, "authorization", err, errlen) ||
	    authz_identifier(j, a, err, errlen) ||
	    authz_challenge(j, a, err, errlen))
		goto out;
	rc = 0;
out:
	json_decref(j);
	if (rc != 0)
		nacre_acme_authz_clear(a);
	return rc;
}

void
nacre_acme_authz_clear(struct nacre_acme_authz *a)
{
	free(a->name);
	free(a->chall_url);
	free(a->chall_token);
	free(a->error);
	memset(a, 0, sizeof(*a));
}

/* exactly N digits at S, as a number */
static int
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
index_of(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strncmp(s, names[i], 3) == 0)
			return i;
	return -1;
}

static bool
tm_ok(const struct tm *t)
{
	return t->tm_mon >= 0 && t->tm_mon < 12 && t->tm_mday >= 1 &&
	       t->tm_mday <= 31 && t->tm_hour < 24 && t->tm_min < 60 &&
	       t->tm_sec <= 60 && t->tm_year >= 70;
}

/* IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"): what servers send;
 * the obsolete forms of RFC 9110 5.6.7 count as no header at all */
static int
imf_fixdate(const char *s, int64_t *out)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
					    "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
					      "May", "Jun", "Jul", "Aug",
					      "Sep", "Oct", "Nov", "Dec" };
	struct tm t = { 0 };
	int year;

	if (strlen(s) != 29 || index_of(s, days, 7) < 0 ||
	    strncmp(s + 3, ", ", 2) != 0 || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    strcmp(s + 25, " GMT") != 0)
		return -1;
	t.tm_mon = index_of(s + 8, months, 12);
	if (digits(s + 5, 2, &t.tm_mday) || digits(s + 12, 4, &year) ||
	    digits(s + 17, 2, &t.tm_hour) || digits(s + 20, 2, &t.tm_min) ||
	    digits(s + 23, 2, &t.tm_sec))
		return -1;
	t.tm_year = year - 1900;
	if (!tm_ok(&t))
		return -1;
	*out = (int64_t)timegm(&t);
	return 0;
}

int
nacre_acme_retry_after(const char *value, int64_t now, uint64_t *secs)
{
	size_t n = value ? strlen(value) : 0;
	int64_t when;

	if (n > 0 && n <= 10 && strspn(value, "0123456789") == n) {
		*secs = strtoull(value, NULL, 10);
		return 0;
	}
	if (!value || imf_fixdate(value, &when) != 0)
		return -1;
	*secs = when > now ? (uint64_t)(when - now) : 0;
	return 0;
}

/* "+hh:mm" / "-hh:mm" / "Z" as seconds east of UTC */
static int
rfc3339_offset(const char *s, int *off)
{
	int h, m;

	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
		*off = 0;
		return 0;
	}
	if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':' ||
	    digits(s + 1, 2, &h) || digits(s + 4, 2, &m) || h > 23 || m > 59)
		return -1;
	*off = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
	return 0;
}

int
nacre_acme_rfc3339(const char *s, int64_t *out)
{
	struct tm t = { 0 };
	int year, mon, off;
	const char *p;

	if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' ||
	    digits(s, 4, &year) || digits(s + 5, 2, &mon) ||
	    digits(s + 8, 2, &t.tm_mday) || digits(s + 11, 2, &t.tm_hour) ||
	    digits(s + 14, 2, &t.tm_min) || digits(s + 17, 2, &t.tm_sec))
		return -1;
	t.tm_year = year - 1900;
	t.tm_mon = mon - 1;
	p = s + 19;
	if (*p == '.') { /* fractions of a second: whole seconds suffice */
		size_t n = strspn(p + 1, "0123456789");
		if (n == 0)
			return -1;
		p += 1 + n;
	}
	if (!tm_ok(&t) || rfc3339_offset(p, &off) != 0)
		return -1;
	*out = (int64_t)timegm(&t) - off;
	return 0;
}

static int
window_time(json_t *w, const char *key, int64_t *out, char *err,
	    size_t errlen)
{
	if (nacre_acme_rfc3339(json_string_value(json_object_get(w, key)),
			       out) == 0)
		return 0;
	nacre_seterr(err, errlen, "the CA's renewalInfo has no RFC 3339 "
		     "suggestedWindow.%s", key);
	return -1;
}

int
nacre_acme_window_parse(const char *json, size_t len,
			struct nacre_acme_window *w, char *err, size_t errlen)
{
	json_t *j = load(json, len, "renewalInfo", err, errlen);
	json_t *sw = json_object_get(j, "suggestedWindow");
	const char *ex;
	int rc = -1;

	if (!j)
		return -1;
	w->explanation[0] = '\0';
	if (window_time(sw, "start", &w->start, err, errlen) ||
	    window_time(sw, "end", &w->end, err, errlen))
		goto out;
	if (w->end <= w->start) {
		nacre_seterr(err, errlen, "the CA's renewalInfo window ends "
			     "before it starts");
		goto out;
	}
	ex = json_string_value(json_object_get(j, "explanationURL"));
	if (ex && nacre_acme_url_ok(ex))
		memcpy(w->explanation, ex, strlen(ex) + 1);
	rc = 0;
out:
	json_decref(j);
	return rc;
}
