/*
 * caa.c: the CAA check nacred makes before every ACME order and `nacre caa`
 * shows: the relevant record set of a name (RFC 8659), judged for our CA,
 * our account and tls-alpn-01 (RFC 8657). Answers are parsed with ldns;
 * dns.c carries the queries. Every failure to get a usable answer fails
 * closed.
 */
#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "acme/acme.h"
#include "nacred.h"

#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_TOTAL_MS 20000
#define FLAG_CRITICAL 0x80      /* RFC 8659 4.1.1: Issuer Critical Flag */

const char *
nacre_caa_verdict_name(enum nacre_caa_verdict v)
{
	switch (v) {
	case NACRE_CAA_PINNED: return "pinned";
	case NACRE_CAA_OPEN_ANY_ACCOUNT: return "open-any-account";
	case NACRE_CAA_OPEN_ANY_CA: return "open-any-ca";
	case NACRE_CAA_BLOCKED: return "blocked";
	case NACRE_CAA_ERROR: return "error";
	}
	return "error";
}

/* ---- names ---- */

/* IN as a lower-case name without a final dot or a leading "*." (which
 * sets *wild when allow_wild). WHAT names it in errors. */
static int
normalize(const char *in, bool allow_wild, bool *wild, char *out,
	  size_t outlen, const char *what, char *err, size_t errlen)
{
	const char *s = in ? in : "";
	char shown[96];
	size_t n;

	*wild = false;
	if (allow_wild && s[0] == '*' && s[1] == '.') {
		*wild = true;
		s += 2;
	}
	n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n > 0 && n < outlen) {
		for (size_t i = 0; i < n; i++)
			out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32
								  : s[i]);
		out[n] = '\0';
		if (nacre_hostname_valid(out))
			return 0;
	}
	nacre_escape(in ? in : "", in ? strlen(in) : 0, shown, sizeof(shown));
	nacre_seterr(err, errlen, "%s \"%s\" is not a domain name (letters, "
		     "digits, hyphens and dots%s)", what, shown,
		     allow_wild ? ", optionally \"*.\" first" : "");
	return -1;
}

/* ---- the issue property value (RFC 8659 4.2, RFC 8657) ---- */

struct issue {
	bool malformed;              /* not the ABNF: treated as issue ";" */
	char issuer[NACRE_CAA_NAME_MAX]; /* "" when none */
	const uint8_t *account, *methods, *unknown;
	size_t account_len, methods_len, unknown_len;
	unsigned naccount, nmethods;
};

static bool
is_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static size_t
skip_wsp(const uint8_t *v, size_t n, size_t i)
{
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	return i;
}

/* the end of label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)) at v[i],
 * or i when there is none */
static size_t
label_end(const uint8_t *v, size_t n, size_t i)
{
	size_t end = i;

	for (size_t j = i; j < n && (is_alnum(v[j]) || v[j] == '-'); j++) {
		if (j == i && v[j] == '-')
			return i;
		if (is_alnum(v[j]))
			end = j + 1;
	}
	return end;
}

/* issuer-domain-name = label *("." label) */
static size_t
domain_end(const uint8_t *v, size_t n, size_t i)
{
	size_t e = label_end(v, n, i);

	while (e > i && e < n && v[e] == '.' && label_end(v, n, e + 1) > e + 1)
		e = label_end(v, n, e + 1);
	return e;
}

static bool
same(const uint8_t *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

/* RFC 8657 names the parameters in lower case and says nothing of case;
 * we match exactly, so "AccountURI=" restricts nothing here: a CA that
 * matched it exactly would not read it as a pin either. */
static void
note_param(struct issue *iv, const uint8_t *tag, size_t tlen,
	   const uint8_t *val, size_t vlen)
{
	if (same(tag, tlen, "accounturi")) {
		iv->naccount++;
		iv->account = val;
		iv->account_len = vlen;
	} else if (same(tag, tlen, "validationmethods")) {
		iv->nmethods++;
		iv->methods = val;
		iv->methods_len = vlen;
	} else if (!iv->unknown) {
		iv->unknown = tag;
		iv->unknown_len = tlen;
	}
}

/* parameter = tag *WSP "=" *WSP value; the index after it, or SIZE_MAX */
static size_t
parse_param(const uint8_t *v, size_t n, size_t i, struct issue *iv)
{
	size_t te = label_end(v, n, i), s, e;

	if (te == i)
		return SIZE_MAX;
	s = skip_wsp(v, n, te);
	if (s == n || v[s] != '=')
		return SIZE_MAX;
	s = e = skip_wsp(v, n, s + 1);
	while (e < n && ((v[e] >= 0x21 && v[e] <= 0x3a) ||
			 (v[e] >= 0x3c && v[e] <= 0x7e)))
		e++;
	note_param(iv, v + i, te - i, v + s, e - s);
	return e;
}

/* issue-value = *WSP [issuer-domain-name *WSP]
 *               [";" *WSP [parameters *WSP]]
 * parameters  = (parameter *WSP ";" *WSP parameters) / parameter
 * Strict: a trailing ";" after a parameter does not match. A parameter
 * given twice is ambiguous (CAs may read either copy), so we count it as
 * malformed too. */
static void
parse_issue(const uint8_t *v, size_t n, struct issue *iv)
{
	size_t i = skip_wsp(v, n, 0), e = domain_end(v, n, i);

	memset(iv, 0, sizeof(*iv));
	if (e > i) {
		if (e - i >= sizeof(iv->issuer))
			goto bad;
		memcpy(iv->issuer, v + i, e - i);
		i = skip_wsp(v, n, e);
	}
	if (i == n)
		return;
	if (v[i] != ';')
		goto bad;
	i = skip_wsp(v, n, i + 1);
	while (i < n) {
		i = parse_param(v, n, i, iv);
		if (i == SIZE_MAX)
			goto bad;
		i = skip_wsp(v, n, i);
		if (i == n)
			break;
		if (v[i] != ';' || (i = skip_wsp(v, n, i + 1)) == n)
			goto bad;
	}
	if (iv->naccount < 2 && iv->nmethods < 2)
		return;
bad:
	iv->malformed = true;
	iv->issuer[0] = '\0';
}

/* validationmethods = label *("," label) (RFC 8657 4): 1 when it names
 * METHOD (*only: and nothing else), 0 when not, -1 when malformed. Method
 * names are compared exactly: RFC 8657 asks for "identical". */
static int
methods_have(const uint8_t *v, size_t n, const char *m, bool *only)
{
	int found = 0;

	*only = true;
	for (size_t i = 0;;) {
		size_t e = label_end(v, n, i);
		if (e == i || (e < n && v[e] != ','))
			break;
		if (same(v + i, e - i, m))
			found = 1;
		else
			*only = false;
		if (e == n)
			return found;
		i = e + 1;
	}
	*only = false;
	return -1;
}

/* ---- evaluation ---- */

/* what the applicable records of a set allow, first example of each */
struct tally {
	const char *tag;        /* "issue" or "issuewild": the tag that applies */
	size_t restricting;     /* records with that tag */
	bool us;                /* some record lets our account issue by our method */
	bool any_account, any_method, empty;
	char crit[64], other_ca[96], other_account[192], other_method[96];
	char malformed[160], unknown[64];
};

static void
note(char *slot, size_t cap, const uint8_t *p, size_t n)
{
	if (!slot[0])
		nacre_escape(p, n, slot, cap);
}

static void
judge_ours(const struct issue *iv, const struct nacre_caa_query *q,
	   const char *method, struct tally *t)
{
	bool acct_ok = iv->account && q->account_uri &&
		       same(iv->account, iv->account_len, q->account_uri);
	bool peer = false;
	bool only = false;

	for (size_t i = 0; iv->account && !acct_ok && i < q->npeer_accounts;
	     i++)
		peer |= same(iv->account, iv->account_len, q->peer_accounts[i]);
	bool meth_ok = !iv->methods ||
		       methods_have(iv->methods, iv->methods_len, method,
				    &only) == 1;

	if ((!iv->account || acct_ok) && meth_ok)
		t->us = true;
	if (!iv->account)
		t->any_account = true;
	else if (!acct_ok && !peer)
		note(t->other_account, sizeof(t->other_account), iv->account,
		     iv->account_len);
	if (!iv->methods)
		t->any_method = true;
	else if (!only)
		note(t->other_method, sizeof(t->other_method), iv->methods,
		     iv->methods_len);
	if (iv->unknown)
		note(t->unknown, sizeof(t->unknown), iv->unknown,
		     iv->unknown_len);
}

/* RFC 8659 4.2: a value that does not match the grammar is treated as
 * an empty issuer-domain-name: it lets nobody issue, and (authorizations
 * being additive) takes nothing from the other records. */
static void
judge_issue(const struct nacre_caa_rr *rr, const struct nacre_caa_query *q,
	    const char *method, struct tally *t)
{
	struct issue iv;

	parse_issue(rr->value, rr->value_len, &iv);
	if (iv.malformed)
		note(t->malformed, sizeof(t->malformed), rr->value,
		     rr->value_len);
	else if (!iv.issuer[0])
		t->empty = true;
	else if (strcasecmp(iv.issuer, q->ca) != 0)
		note(t->other_ca, sizeof(t->other_ca),
		     (const uint8_t *)iv.issuer, strlen(iv.issuer));
	else
		judge_ours(&iv, q, method, t);
}

static bool
tag_is(const struct nacre_caa_rr *rr, const char *name)
{
	return rr->tag_len == strlen(name) &&
	       strncasecmp((const char *)rr->tag, name, rr->tag_len) == 0;
}

/* RFC 8659 4.1.1: a CA must not issue when a critical property has a tag
 * it does not know. We can only vouch for the tags every CA knows. */
static void
scan_tags(const struct nacre_caa_rr *rrs, size_t n, bool wild,
	  struct tally *t)
{
	bool has_wild = false;

	for (size_t i = 0; i < n; i++) {
		const struct nacre_caa_rr *rr = &rrs[i];
		bool known = tag_is(rr, "issue") || tag_is(rr, "issuewild") ||
			     tag_is(rr, "iodef");
		if (!known && (rr->flags & FLAG_CRITICAL))
			note(t->crit, sizeof(t->crit), rr->tag, rr->tag_len);
		if (tag_is(rr, "issuewild"))
			has_wild = true;
	}
	/* RFC 8659 4.3: issuewild, when present, replaces issue for a
	 * wildcard name, and is ignored for any other name */
	t->tag = wild && has_wild ? "issuewild" : "issue";
}

static void
blocked_reason(const struct tally *t, const struct nacre_caa_query *q,
	       const char *method, struct nacre_caa_result *r)
{
	if (t->other_account[0])
		snprintf(r->reason, sizeof(r->reason), "blocked: %s may issue "
			 "only to account %s%s", q->ca, t->other_account,
			 q->account_uri ? "" : " (our account is not known)");
	else if (t->other_method[0])
		snprintf(r->reason, sizeof(r->reason), "blocked: %s may issue "
			 "only by %s, not %s", q->ca, t->other_method, method);
	else if (t->other_ca[0])
		snprintf(r->reason, sizeof(r->reason), "blocked: only other "
			 "CAs may issue (%s), not %s", t->other_ca, q->ca);
	else if (t->malformed[0])
		snprintf(r->reason, sizeof(r->reason), "blocked: malformed %s "
			 "value \"%s\" forbids issuance (RFC 8659 4.2)", t->tag,
			 t->malformed);
	else
		snprintf(r->reason, sizeof(r->reason), "blocked: %s \";\" "
			 "forbids every CA", t->tag);
}

static void
open_reason(const struct tally *t, const struct nacre_caa_query *q,
	    struct nacre_caa_result *r)
{
	r->verdict = NACRE_CAA_OPEN_ANY_ACCOUNT;
	if (t->other_ca[0]) {
		r->verdict = NACRE_CAA_OPEN_ANY_CA;
		snprintf(r->reason, sizeof(r->reason), "open to another CA: "
			 "%s may issue too", t->other_ca);
	} else if (t->any_account) {
		snprintf(r->reason, sizeof(r->reason), "open to any account: "
			 "%s may issue to any account (a %s record has no "
			 "accounturi)", q->ca, t->tag);
	} else if (t->other_account[0]) {
		snprintf(r->reason, sizeof(r->reason), "open to another "
			 "account: %s may also issue to account %s", q->ca,
			 t->other_account);
	} else if (t->any_method) {
		snprintf(r->reason, sizeof(r->reason), "open to any method: "
			 "%s may issue to this account by any method (a %s "
			 "record has no validationmethods)", q->ca, t->tag);
	} else {
		snprintf(r->reason, sizeof(r->reason), "open to another "
			 "method: %s may also issue by %s", q->ca,
			 t->other_method);
	}
}

static void __attribute__((format(printf, 3, 4)))
append(char *buf, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	if (n < cap)
		vsnprintf(buf + n, cap - n, fmt, ap);
	va_end(ap);
}

void
nacre_caa_evaluate(const struct nacre_caa_rr *rrs, size_t n,
		   const struct nacre_caa_query *q, struct nacre_caa_result *r)
{
	const char *method = q->method ? q->method : NACRE_CAA_METHOD;
	bool wild = q->name && q->name[0] == '*' && q->name[1] == '.';
	struct nacre_caa_query nq = *q;
	struct tally t;

	nq.ca = q->ca ? q->ca : "";
	q = &nq;
	memset(&t, 0, sizeof(t));
	scan_tags(rrs, n, wild, &t);
	for (size_t i = 0; i < n && !t.crit[0]; i++) {
		if (!tag_is(&rrs[i], t.tag))
			continue;
		t.restricting++;
		judge_issue(&rrs[i], q, method, &t);
	}
	r->verdict = NACRE_CAA_BLOCKED;
	if (t.crit[0]) {
		snprintf(r->reason, sizeof(r->reason), "blocked: unknown "
			 "critical tag %s", t.crit);
		return;
	}
	if (t.restricting == 0) {
		r->verdict = NACRE_CAA_OPEN_ANY_CA;
		snprintf(r->reason, sizeof(r->reason), "open to any CA: %s",
			 n == 0 ? "no CAA records" : wild ?
			 "no issue or issuewild property in the CAA records" :
			 "no issue property in the CAA records");
		return;
	}
	if (!t.us) {
		blocked_reason(&t, q, method, r);
		return;
	}
	if (t.other_ca[0] || t.any_account || t.other_account[0] ||
	    t.any_method || t.other_method[0]) {
		open_reason(&t, q, r);
	} else {
		r->verdict = NACRE_CAA_PINNED;
		snprintf(r->reason, sizeof(r->reason), "pinned: only %s may "
			 "issue, only to account %s, only by %s", q->ca,
			 q->account_uri ? q->account_uri : "?", method);
	}
	if (t.unknown[0])
		append(r->reason, sizeof(r->reason), " (unknown parameter %s "
		       "ignored)", t.unknown);
	if (t.malformed[0])
		append(r->reason, sizeof(r->reason), " (malformed value \"%s\" "
		       "lets nobody issue, RFC 8659 4.2)", t.malformed);
}

/* ---- one DNS answer ---- */

/* no verdict: nacred must not order (the check fails closed) */
static int
fail(struct nacre_caa_result *r, const char *err)
{
	r->verdict = NACRE_CAA_ERROR;
	r->nrecords = 0;
	snprintf(r->reason, sizeof(r->reason), "error: %s", err);
	return -1;
}

/* an ldns name as text without its final dot (escaped by ldns) */
static void
dname_text(const ldns_rdf *d, char *out, size_t cap)
{
	char *s = ldns_rdf2str(d);
	size_t n = s ? strlen(s) : 0;

	if (n > 1 && s[n - 1] == '.')
		n--;
	snprintf(out, cap, "%.*s", (int)n, s ? s : "?");
	free(s);
}

static int
check_header(const ldns_pkt *p, uint16_t id, const ldns_rdf *qn,
	     const char *qname, char *err, size_t errlen)
{
	const ldns_rr_list *qs = ldns_pkt_question(p);
	const ldns_rr *qr = ldns_rr_list_rr_count(qs) == 1 ?
			    ldns_rr_list_rr(qs, 0) : NULL;
	ldns_pkt_rcode rc = ldns_pkt_get_rcode(p);

	if (ldns_pkt_id(p) != id || !ldns_pkt_qr(p) ||
	    ldns_pkt_get_opcode(p) != LDNS_PACKET_QUERY) {
		nacre_seterr(err, errlen, "the answer for %s CAA is not a "
			     "response to our query (ID or flags differ)", qname);
		return -1;
	}
	if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN) {
		ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, (int)rc);
		nacre_seterr(err, errlen, "the resolver answered %s CAA with "
			     "%s: no answer to judge, so no issuance", qname,
			     t ? t->name : "an unknown rcode");
		return -1;
	}
	if (!qr || ldns_dname_compare(ldns_rr_owner(qr), qn) != 0 ||
	    ldns_rr_get_type(qr) != LDNS_RR_TYPE_CAA ||
	    ldns_rr_get_class(qr) != LDNS_RR_CLASS_IN) {
		nacre_seterr(err, errlen, "the answer for %s CAA carries "
			     "another question", qname);
		return -1;
	}
	if (ldns_pkt_tc(p)) {
		nacre_seterr(err, errlen, "the answer for %s CAA is truncated",
			     qname);
		return -1;
	}
	return 0;
}

static const ldns_rr *
find_rr(const ldns_rr_list *an, const ldns_rdf *owner, ldns_rr_type type)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == type &&
		    ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
		    ldns_dname_compare(ldns_rr_owner(rr), owner) == 0)
			return rr;
	}
	return NULL;
}

/* The resolver follows CNAMEs and puts the chain in the answer; the
 * records that count are at its end (RFC 8659 3). NULL on a loop or an
 * overlong chain. */
static const ldns_rdf *
chain_end(const ldns_rr_list *an, const ldns_rdf *qn, const char *qname,
	  size_t *hops, char *err, size_t errlen)
{
	const ldns_rdf *cur = qn;
	const ldns_rr *c;

	for (*hops = 0; (c = find_rr(an, cur, LDNS_RR_TYPE_CNAME)); ++*hops) {
		if (*hops == NACRE_CAA_MAX_CNAMES ||
		    ldns_rr_rd_count(c) != 1 ||
		    ldns_rdf_get_type(ldns_rr_rdf(c, 0)) != LDNS_RDF_TYPE_DNAME) {
			nacre_seterr(err, errlen, "the CNAME chain from %s is "
				     "longer than %d or malformed", qname,
				     NACRE_CAA_MAX_CNAMES);
			return NULL;
		}
		cur = ldns_rr_rdf(c, 0);
	}
	return cur;
}

/* flags, tag (its length byte first), value: as ldns splits CAA rdata */
static int
caa_view(const ldns_rr *rr, struct nacre_caa_rr *v)
{
	size_t n = ldns_rr_rd_count(rr);
	const ldns_rdf *f = n >= 2 ? ldns_rr_rdf(rr, 0) : NULL;
	const ldns_rdf *t = n >= 2 ? ldns_rr_rdf(rr, 1) : NULL;
	const ldns_rdf *val = n == 3 ? ldns_rr_rdf(rr, 2) : NULL;

	if (!f || n > 3 || ldns_rdf_size(f) != 1 || ldns_rdf_size(t) < 1 ||
	    ldns_rdf_data(t)[0] != ldns_rdf_size(t) - 1)
		return -1;
	v->flags = ldns_rdf_data(f)[0];
	v->tag = ldns_rdf_data(t) + 1;
	v->tag_len = ldns_rdf_size(t) - 1;
	v->value = val ? ldns_rdf_data(val) : (const uint8_t *)"";
	v->value_len = val ? ldns_rdf_size(val) : 0;
	return 0;
}

static void
record_text(const char *owner, const struct nacre_caa_rr *v, char *out,
	    size_t cap)
{
	char tag[64], val[NACRE_CAA_TEXT_MAX - 200];

	nacre_escape(v->tag, v->tag_len, tag, sizeof(tag));
	nacre_escape(v->value, v->value_len, val, sizeof(val));
	snprintf(out, cap, "%.120s. CAA %u %s \"%s\"", owner, v->flags, tag,
		 val);
}

/* the CAA records at OWNER into R (views for evaluation into RRS) */
static int
collect(const ldns_rr_list *an, const ldns_rdf *owner, const char *qname,
	struct nacre_caa_rr *rrs, struct nacre_caa_result *r, char *err,
	size_t errlen)
{
	char text[NACRE_CAA_NAME_MAX];
	size_t n = 0;

	dname_text(owner, text, sizeof(text));
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CAA ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
			continue;
		if (n == NACRE_CAA_MAX_RECORDS) {
			nacre_seterr(err, errlen, "more than %d CAA records "
				     "for %s: refusing to judge part of a set",
				     NACRE_CAA_MAX_RECORDS, qname);
			return -1;
		}
		if (caa_view(rr, &rrs[n]) < 0) {
			nacre_seterr(err, errlen, "a CAA record at %s is "
				     "malformed (no flags or tag)", text);
			return -1;
		}
		record_text(text, &rrs[n], r->records[n], sizeof(r->records[n]));
		n++;
	}
	r->nrecords = n;
	return (int)n;
}

static int
judge_packet(const ldns_pkt *p, const ldns_rdf *qn, const char *qname,
	     uint16_t id, const struct nacre_caa_query *q,
	     struct nacre_caa_result *r, char *err, size_t errlen)
{
	struct nacre_caa_rr rrs[NACRE_CAA_MAX_RECORDS];
	const ldns_rr_list *an = ldns_pkt_answer(p);
	const ldns_rdf *end;
	size_t hops;
	int n;

	if (check_header(p, id, qn, qname, err, errlen) < 0)
		return -1;
	if (!(end = chain_end(an, qn, qname, &hops, err, errlen)))
		return -1;
	if (hops > 0)
		dname_text(end, r->alias, sizeof(r->alias));
	/* NXDOMAIN: nothing at the name (or its chain's end): climb */
	if (ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN)
		return 0;
	if ((n = collect(an, end, qname, rrs, r, err, errlen)) <= 0)
		return n;
	snprintf(r->found_at, sizeof(r->found_at), "%s", qname);
	nacre_caa_evaluate(rrs, (size_t)n, q, r);
	return 1;
}

int
nacre_caa_eval_answer(const uint8_t *wire, size_t len, const char *qname,
		      uint16_t id, const struct nacre_caa_query *q,
		      struct nacre_caa_result *r, char *err, size_t errlen)
{
	ldns_pkt *p = NULL;
	ldns_rdf *qn = NULL;
	ldns_status st;
	int rc = -1;

	r->nrecords = 0;
	r->alias[0] = r->found_at[0] = '\0';
	if (len > NACRE_DNS_MAX) {
		nacre_seterr(err, errlen, "the answer for %s CAA is longer "
			     "than %d bytes", qname, NACRE_DNS_MAX);
	} else if ((st = ldns_wire2pkt(&p, wire, len)) != LDNS_STATUS_OK) {
		nacre_seterr(err, errlen, "the answer for %s CAA is not a "
			     "DNS message (%s)", qname,
			     ldns_get_errorstr_by_id(st));
	} else if (!(qn = ldns_dname_new_frm_str(qname))) {
		nacre_seterr(err, errlen, "\"%s\" is not a domain name", qname);
	} else {
		rc = judge_packet(p, qn, qname, id, q, r, err, errlen);
	}
	if (rc < 0)
		fail(r, err);
	ldns_rdf_deep_free(qn);
	ldns_pkt_free(p);
	return rc;
}

static int
query_one(const struct nacre_dns_resolver *rs, const char *qname,
	  uint64_t deadline, uint8_t *ans, const struct nacre_caa_query *q,
	  struct nacre_caa_result *r, char *err, size_t errlen)
{
	size_t alen = 0;
	uint16_t id;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id)) {
		nacre_seterr(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	r->queries++;
	if (nacre_dns_exchange(rs, qname, id, deadline, ans, &alen, err,
			       errlen) < 0)
		return -1;
	return nacre_caa_eval_answer(ans, alen, qname, id, q, r, err, errlen);
}

/* ---- the climb ---- */

static const char *
parent(const char *name)
{
	const char *dot = strchr(name, '.');

	return dot ? dot + 1 : NULL;
}

/* every name from BASE up to its TLD (the root is not asked, RFC 8659 3) */
static int
climb(const struct nacre_dns_resolver *rs, const char *base,
      const struct nacre_caa_query *q, struct nacre_caa_result *r,
      uint8_t *ans, char *err, size_t errlen)
{
	uint64_t start = nacre_mono_ms();
	uint64_t per = q->timeout_ms ? q->timeout_ms : DEFAULT_TIMEOUT_MS;
	uint64_t end = start + (q->total_ms ? q->total_ms : DEFAULT_TOTAL_MS);

	for (const char *cur = base; cur; cur = parent(cur)) {
		uint64_t now = nacre_mono_ms();
		int rc;
		if (r->queries == NACRE_CAA_MAX_CLIMB || now >= end) {
			nacre_seterr(err, errlen, "no CAA verdict for %s after "
				     "%u queries in %llu ms", base, r->queries,
				     (unsigned long long)(now - start));
			return fail(r, err);
		}
		rc = query_one(rs, cur, now + per < end ? now + per : end, ans,
			       q, r, err, errlen);
		if (rc < 0)
			return fail(r, err);
		if (cur == base && r->alias[0])
			snprintf(r->publish_at, sizeof(r->publish_at), "%s",
				 r->alias);
		if (rc > 0)
			return 0;
	}
	nacre_caa_evaluate(NULL, 0, q, r);
	snprintf(r->reason, sizeof(r->reason), "open to any CA: no CAA "
		 "records at %s or any parent", base);
	r->alias[0] = '\0';
	return 0;
}

int
nacre_caa_check(const struct nacre_caa_query *q, struct nacre_caa_result *r,
		char *err, size_t errlen)
{
	char base[NACRE_CAA_NAME_MAX], ca[NACRE_CAA_NAME_MAX];
	struct nacre_caa_query nq = *q;
	struct nacre_dns_resolver rs;
	uint8_t *ans;
	bool wild, ca_wild;
	int rc;

	memset(r, 0, sizeof(*r));
	if (normalize(q->name, true, &wild, base, sizeof(base), "name", err,
		      errlen) < 0 ||
	    normalize(q->ca, false, &ca_wild, ca, sizeof(ca), "CA identity",
		      err, errlen) < 0 ||
	    nacre_dns_resolver_parse(q->resolver, &rs, err, errlen) < 0)
		return fail(r, err);
	nq.ca = ca;
	snprintf(r->publish_at, sizeof(r->publish_at), "%s", base);
	if (!(ans = malloc(NACRE_DNS_MAX))) {
		nacre_seterr(err, errlen, "out of memory");
		return fail(r, err);
	}
	rc = climb(&rs, base, &nq, r, ans, err, errlen);
	free(ans);
	return rc;
}

/* ---- what to publish ---- */

/* RFC 8659 4.2 value = *(%x21-3A / %x3C-7E): no space, no ";"; we also
 * keep '"' and '\' out so the zone-file line needs no escapes (no URL
 * has them unencoded). */
static bool
account_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 400)
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e || *s == ';' || *s == '"' ||
		    *s == '\\')
			return false;
	return true;
}

/*
 * A name: issue carries the pin, issuewild ";" forbids wildcards outright.
 * A wildcard *.X: issuewild must carry the pin (it replaces issue for
 * *.X), and issue carries it too rather than ";": issue ";" would forbid X
 * itself and every name under it, which a wildcard order usually also
 * holds. Both stay pinned to our account and tls-alpn-01. (CAs validate
 * wildcard names by dns-01 only today, so in practice this pin lets no
 * wildcard certificate be issued: nacred orders plain names.)
 */
int
nacre_caa_fix_records(const char *name, const char *at, const char *ca,
		      const char *account_uri, char *out, size_t outlen,
		      char *err, size_t errlen)
{
	char base[NACRE_CAA_NAME_MAX], owner[NACRE_CAA_NAME_MAX];
	char cid[NACRE_CAA_NAME_MAX], pin[720];
	bool wild, w2;
	int n;

	if (normalize(name, true, &wild, base, sizeof(base), "name", err,
		      errlen) < 0 ||
	    normalize(at ? at : base, false, &w2, owner, sizeof(owner),
		      "owner", err, errlen) < 0 ||
	    normalize(ca, false, &w2, cid, sizeof(cid), "CA identity", err,
		      errlen) < 0)
		return -1;
	if (!account_ok(account_uri)) {
		nacre_seterr(err, errlen, "account URL \"%.200s\" cannot go "
			     "in a CAA record (it must be 1 to 400 printable "
			     "characters without space, ';', '\"' or '\\')",
			     account_uri ? account_uri : "");
		return -1;
	}
	snprintf(pin, sizeof(pin), "%s; accounturi=%s; validationmethods=%s",
		 cid, account_uri, NACRE_CAA_METHOD);
	n = snprintf(out, outlen, "%s. CAA 0 issue \"%s\"\n%s. CAA 0 "
		     "issuewild \"%s\"\n", owner, pin, owner, wild ? pin : ";");
	if (n < 0 || (size_t)n >= outlen) {
		nacre_seterr(err, errlen, "the CAA records for %s need more "
			     "than %zu bytes", base, outlen);
		return -1;
	}
	return 0;
}
