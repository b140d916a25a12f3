/*
 * test_caa.c: the CAA verdict on crafted record sets (RFC 8659, RFC 8657),
 * DNS answers built with ldns (CNAME chains, NXDOMAIN, SERVFAIL, answers
 * that are not ours), the records that would pin a name, and bad input.
 * No network. With CAA_SEED_DIR=DIR set, every answer built here is also
 * written there as a seed for tests/fuzz/fuzz_caa.c (one option byte, then
 * the DNS message).
 */
#include <stdlib.h>

#include <ldns/ldns.h>

#include "acme/acme.h"
#include "nacred.h"
#include "tap.h"

#define CA "letsencrypt.org"
#define OURS "https://acme.example/acme/acct/1"
#define OTHER "https://acme.example/acme/acct/2"
#define PIN CA "; accounturi=" OURS "; validationmethods=tls-alpn-01"

static struct nacre_caa_rr set[40];
static size_t nset;
static struct nacre_caa_query q;
static struct nacre_caa_result res;

static void
reset(const char *name)
{
	nset = 0;
	memset(&q, 0, sizeof(q));
	q.name = name;
	q.ca = CA;
	q.account_uri = OURS;
}

static void
rr(uint8_t flags, const char *tag, const char *value)
{
	set[nset].flags = flags;
	set[nset].tag = (const uint8_t *)tag;
	set[nset].tag_len = strlen(tag);
	set[nset].value = (const uint8_t *)value;
	set[nset].value_len = strlen(value);
	nset++;
}

static void
expect(enum nacre_caa_verdict v, const char *reason, const char *what)
{
	char name[200];

	memset(&res, 0, sizeof(res));
	nacre_caa_evaluate(set, nset, &q, &res);
	snprintf(name, sizeof(name), "%s: %s", what, nacre_caa_verdict_name(v));
	CHECK_STR(nacre_caa_verdict_name(res.verdict),
		  nacre_caa_verdict_name(v), name);
	snprintf(name, sizeof(name), "%s: reason", what);
	CHECK_HAS(res.reason, reason, name);
}

static void
test_basic(void)
{
	reset("app.example.com");
	expect(NACRE_CAA_OPEN_ANY_CA, "open to any CA: no CAA records",
	       "absent");
	rr(0, "iodef", "mailto:ops@example.com");
	expect(NACRE_CAA_OPEN_ANY_CA, "no issue property", "iodef only");

	reset("app.example.com");
	rr(0, "issue", PIN);
	rr(0, "issuewild", ";");
	expect(NACRE_CAA_PINNED, "pinned: only letsencrypt.org may issue, "
	       "only to account " OURS ", only by tls-alpn-01", "pinned");

	reset("app.example.com");
	rr(0, "issue", CA "; accounturi=" OTHER "; validationmethods="
	   "tls-alpn-01");
	expect(NACRE_CAA_BLOCKED, "blocked: letsencrypt.org may issue only "
	       "to account " OTHER, "another account only");
	rr(0, "issue", PIN);
	expect(NACRE_CAA_OPEN_ANY_ACCOUNT, "open to another account: "
	       "letsencrypt.org may also issue to account " OTHER,
	       "ours and another account");

	reset("app.example.com");
	rr(0, "issue", CA "; accounturi=" OURS "; validationmethods=http-01");
	expect(NACRE_CAA_BLOCKED, "blocked: letsencrypt.org may issue only "
	       "by http-01, not tls-alpn-01", "http-01 only");
	reset("app.example.com");
	rr(0, "issue", CA "; accounturi=" OURS
	   "; validationmethods=tls-alpn-01,http-01");
	expect(NACRE_CAA_OPEN_ANY_ACCOUNT, "open to another method: "
	       "letsencrypt.org may also issue by tls-alpn-01,http-01",
	       "tls-alpn-01 and http-01");
	reset("app.example.com");
	rr(0, "issue", CA);
	expect(NACRE_CAA_OPEN_ANY_ACCOUNT, "open to any account: "
	       "letsencrypt.org may issue to any account", "no accounturi");
	reset("app.example.com");
	rr(0, "issue", CA "; accounturi=" OURS);
	expect(NACRE_CAA_OPEN_ANY_ACCOUNT, "open to any method",
	       "no validationmethods");
}

static void
test_wildcard(void)
{
	reset("*.example.com");
	rr(0, "issue", PIN);
	rr(0, "issuewild", ";");
	expect(NACRE_CAA_BLOCKED, "blocked: issuewild \";\" forbids every CA",
	       "wildcard: issuewild \";\" wins over a pinned issue");
	q.name = "example.com";
	expect(NACRE_CAA_PINNED, "pinned:", "plain name: issuewild ignored");

	reset("*.example.com");
	rr(0, "issue", PIN);
	expect(NACRE_CAA_PINNED, "pinned:", "wildcard: no issuewild, issue "
	       "applies");

	reset("*.example.com");
	rr(0, "issue", ";");
	rr(0, "issuewild", PIN);
	expect(NACRE_CAA_PINNED, "pinned:", "wildcard: pinned issuewild");
	q.name = "www.example.com";
	expect(NACRE_CAA_BLOCKED, "blocked: issue \";\" forbids every CA",
	       "plain name: issue \";\" applies, not issuewild");

	reset("app.example.com");
	rr(0, "issuewild", PIN);
	expect(NACRE_CAA_OPEN_ANY_CA, "no issue property", "plain name: "
	       "issuewild only restricts nothing");
	reset("*.example.com");
	rr(0, "issuewild", "otherca.example");
	rr(0, "issue", PIN);
	expect(NACRE_CAA_BLOCKED, "only other CAs may issue (otherca.example)",
	       "wildcard: issuewild for another CA");
}

static void
test_tags(void)
{
	reset("app.example.com");
	rr(0, "issue", ";");
	expect(NACRE_CAA_BLOCKED, "blocked: issue \";\" forbids every CA",
	       "issue \";\"");
	rr(0, "issue", PIN);
	expect(NACRE_CAA_PINNED, "pinned:", "issue \";\" plus a pin: "
	       "authorizations add up");
	rr(128, "tbs", "x");
	expect(NACRE_CAA_BLOCKED, "blocked: unknown critical tag tbs",
	       "unknown critical tag");

	reset("app.example.com");
	rr(0, "issue", PIN);
	rr(0, "tbs", "whatever");
	rr(0, "contactemail", "ops@example.com");
	expect(NACRE_CAA_PINNED, "pinned:", "unknown non-critical tags "
	       "ignored");
	rr(128, "issue", PIN);
	rr(128, "iodef", "mailto:ops@example.com");
	expect(NACRE_CAA_PINNED, "pinned:", "critical flag on known tags");
	rr(129, "Foo", "x");
	expect(NACRE_CAA_BLOCKED, "unknown critical tag Foo", "critical "
	       "flag with other bits set");

	reset("app.example.com");
	rr(0, "ISSUE", PIN);
	rr(0, "IssueWild", ";");
	expect(NACRE_CAA_PINNED, "pinned:", "tags match in any case");
	rr(128, "is\x01sue\"", "x");
	expect(NACRE_CAA_BLOCKED, "unknown critical tag is\\x01sue\\\"",
	       "a critical tag from the network is escaped");
}

static void
test_malformed(void)
{
	static const char *const bad[] = {
		"%%%%%", CA ".", CA "; accounturi=" OURS ";",
		CA " accounturi=" OURS, CA "; accounturi", CA "; =x",
		CA "; accounturi=" OURS "; accounturi=" OURS,
		"-" CA, CA "; a=b c=d", CA "; accounturi=a;b=c d",
	};
	char name[120];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reset("app.example.com");
		rr(0, "issue", bad[i]);
		snprintf(name, sizeof(name), "malformed \"%s\"", bad[i]);
		expect(NACRE_CAA_BLOCKED, "blocked: malformed issue value",
		       name);
	}
	reset("app.example.com");
	rr(0, "issue", "%%%%%");
	rr(0, "issue", PIN);
	expect(NACRE_CAA_PINNED, "(malformed value \"%%%%%\" lets nobody "
	       "issue, RFC 8659 4.2)", "malformed plus a pin");
	reset("app.example.com");
	rr(0, "issue", CA "; accounturi=\"" OURS "\"");
	expect(NACRE_CAA_BLOCKED, "only to account \\\"https:", "a quoted "
	       "accounturi is valid syntax, and another account");
	reset("app.example.com");
	rr(0, "issue", "");
	expect(NACRE_CAA_BLOCKED, "issue \";\" forbids every CA",
	       "empty value forbids like \";\"");
	reset("app.example.com");
	rr(0, "issue", CA "; accounturi=" OURS "; validationmethods="
	   "tls-alpn-01,");
	expect(NACRE_CAA_BLOCKED, "may issue only by tls-alpn-01,",
	       "malformed validationmethods list names no method");
	reset("app.example.com");
	rr(0, "issue", CA "; validationmethods=tls-alpn-01, http-01");
	expect(NACRE_CAA_BLOCKED, "malformed issue value", "a space in "
	       "validationmethods");
}

static void
test_other_ca(void)
{
	reset("app.example.com");
	rr(0, "issue", PIN);
	rr(0, "issue", "otherca.example");
	expect(NACRE_CAA_OPEN_ANY_CA, "open to another CA: otherca.example "
	       "may issue too", "another CA as well");
	reset("app.example.com");
	rr(0, "issue", "otherca.example; accounturi=" OURS);
	expect(NACRE_CAA_BLOCKED, "blocked: only other CAs may issue "
	       "(otherca.example), not letsencrypt.org", "another CA only");
	reset("app.example.com");
	rr(0, "issue", "sub.letsencrypt.org");
	expect(NACRE_CAA_BLOCKED, "only other CAs", "a sub-domain of our "
	       "CA's identity is another CA");
}

static void
test_spaces_case(void)
{
	reset("app.example.com");
	rr(0, "issue", " \tLetsEncrypt.ORG ;  accounturi = " OURS
	   "\t;validationmethods=tls-alpn-01  ");
	expect(NACRE_CAA_PINNED, "pinned:", "spaces and CA name case");
	reset("app.example.com");
	q.ca = "LETSENCRYPT.org";
	rr(0, "issue", PIN);
	expect(NACRE_CAA_PINNED, "pinned:", "our CA identity in any case");

	reset("app.example.com");
	rr(0, "issue", CA "; accounturi=HTTPS://ACME.EXAMPLE/acme/acct/1; "
	   "validationmethods=tls-alpn-01");
	expect(NACRE_CAA_BLOCKED, "only to account HTTPS://ACME.EXAMPLE/",
	       "accounturi compared exactly");
	reset("app.example.com");
	rr(0, "issue", CA "; accounturi=" OURS "/; validationmethods="
	   "tls-alpn-01");
	expect(NACRE_CAA_BLOCKED, "only to account " OURS "/",
	       "accounturi with a trailing slash is another account");
	reset("app.example.com");
	rr(0, "issue", CA "; AccountURI=" OURS "; validationmethods="
	   "tls-alpn-01");
	expect(NACRE_CAA_OPEN_ANY_ACCOUNT, "(unknown parameter AccountURI "
	       "ignored)", "parameter names compared exactly");
	reset("app.example.com");
	rr(0, "issue", CA "; accounturi=" OURS "; validationmethods="
	   "TLS-ALPN-01");
	expect(NACRE_CAA_BLOCKED, "only by TLS-ALPN-01", "method names "
	       "compared exactly (RFC 8657: identical)");
	reset("app.example.com");
	rr(0, "issue", PIN "; policy=ev");
	expect(NACRE_CAA_PINNED, "(unknown parameter policy ignored)",
	       "unknown parameter");

	reset("app.example.com");
	q.account_uri = NULL;
	rr(0, "issue", PIN);
	expect(NACRE_CAA_BLOCKED, "(our account is not known)",
	       "no account of ours to compare");
	reset("app.example.com");
	q.method = "http-01";
	rr(0, "issue", CA "; accounturi=" OURS "; validationmethods=http-01");
	expect(NACRE_CAA_PINNED, "only by http-01", "another method of ours");
}

/* ---- DNS answers ---- */

static int seed_no;

/* the option byte of fuzz_caa.c: which of its names was asked */
static void
seed(const char *qname, const uint8_t *w, size_t n)
{
	static const char *const names[] = { "example.com", "www.example.com",
					     "a.example.com",
					     "app.example.com" };
	uint8_t opts = 0;
	const char *dir = getenv("CAA_SEED_DIR");
	char path[512];
	FILE *f;

	if (!dir)
		return;
	for (uint8_t i = 0; i < 4; i++)
		if (strcmp(qname, names[i]) == 0)
			opts = (uint8_t)(i << 2);
	snprintf(path, sizeof(path), "%s/unit_%02d", dir, ++seed_no);
	if ((f = fopen(path, "wb"))) {
		fputc(opts, f);
		fwrite(w, 1, n, f);
		fclose(f);
	}
}

/* a response to a CAA query for QNAME with ID, RCODE and answer RRs */
static size_t
answer(uint8_t *out, uint16_t id, uint8_t rcode, const char *qname,
       const char *const *rrs)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(qname),
					 LDNS_RR_TYPE_CAA, LDNS_RR_CLASS_IN,
					 LDNS_RD);
	uint8_t *w = NULL;
	size_t n = 0;

	ldns_pkt_set_id(p, id);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_rcode(p, rcode);
	for (; rrs && *rrs; rrs++) {
		ldns_rr *r = NULL;
		if (ldns_rr_new_frm_str(&r, *rrs, 300, NULL, NULL) ==
		    LDNS_STATUS_OK)
			ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, r);
		else
			printf("# cannot parse %s\n", *rrs);
	}
	if (ldns_pkt2wire(&w, p, &n) == LDNS_STATUS_OK && n <= 65535)
		memcpy(out, w, n);
	free(w);
	ldns_pkt_free(p);
	seed(qname, out, n);
	return n;
}

static uint8_t wire[65536];
static char err[NACRE_ERRLEN];

static int
eval(size_t n, const char *qname, uint16_t id)
{
	err[0] = '\0';
	memset(&res, 0, sizeof(res));
	return nacre_caa_eval_answer(wire, n, qname, id, &q, &res, err,
				     sizeof(err));
}

static void
test_answers(void)
{
	static const char *const pinned[] = {
		"example.com. CAA 0 issue \"" PIN "\"",
		"example.com. CAA 0 issuewild \";\"",
		"other.example. CAA 0 issue \"otherca.example\"", NULL };
	static const char *const chain[] = {
		"www.example.com. CNAME cdn.example.net.",
		"cdn.example.net. CNAME edge.example.org.",
		"edge.example.org. CAA 0 issue \"otherca.example\"", NULL };
	static const char *const dangling[] = {
		"www.example.com. CNAME cdn.example.net.", NULL };
	static const char *const loop[] = {
		"www.example.com. CNAME a.example.net.",
		"a.example.net. CNAME www.example.com.", NULL };
	static const char *const odd[] = {
		"example.com. CAA 0 issue \"a\\\"b\\001c\"", NULL };
	size_t n;

	reset("example.com");
	n = answer(wire, 7, LDNS_RCODE_NOERROR, "example.com", pinned);
	CHECK(eval(n, "example.com", 7) == 1, "answer: a set");
	CHECK_STR(nacre_caa_verdict_name(res.verdict), "pinned",
		  "answer: pinned; another owner's records left out");
	CHECK(res.nrecords == 2, "answer: two records at the name");
	CHECK_STR(res.records[0], "example.com. CAA 0 issue \"" PIN "\"",
		  "answer: record text");
	CHECK_STR(res.found_at, "example.com", "answer: found at the name");
	CHECK(eval(n, "EXAMPLE.com", 7) == 1, "answer: names in any case");
	CHECK(eval(n, "example.com", 8) == -1, "answer: another ID refused");
	CHECK_HAS(err, "not a response to our query", "answer: ID error");
	CHECK_STR(nacre_caa_verdict_name(res.verdict), "error",
		  "answer: ID mismatch fails closed");
	CHECK(eval(n, "example.org", 7) == -1, "answer: another question");
	CHECK_HAS(err, "carries another question", "answer: question error");
	CHECK(eval(n - 1, "example.com", 7) == -1, "answer: cut short");
	CHECK_HAS(err, "is not a DNS message", "answer: cut short error");
	wire[2] |= 0x02;
	CHECK(eval(n, "example.com", 7) == -1, "answer: truncated (TC)");
	CHECK_HAS(err, "truncated", "answer: TC error");
	wire[2] &= (uint8_t)~0x80;
	CHECK(eval(n, "example.com", 7) == -1, "answer: a query, not a "
	      "response");

	n = answer(wire, 9, LDNS_RCODE_NOERROR, "example.com", NULL);
	CHECK(eval(n, "example.com", 9) == 0, "answer: NODATA is empty");
	n = answer(wire, 9, LDNS_RCODE_NXDOMAIN, "a.example.com", NULL);
	CHECK(eval(n, "a.example.com", 9) == 0, "answer: NXDOMAIN is empty");
	n = answer(wire, 9, LDNS_RCODE_SERVFAIL, "example.com", NULL);
	CHECK(eval(n, "example.com", 9) == -1, "answer: SERVFAIL fails");
	CHECK_HAS(err, "with SERVFAIL", "answer: SERVFAIL named");
	CHECK_HAS(res.reason, "error: ", "answer: SERVFAIL reason");
	n = answer(wire, 9, LDNS_RCODE_REFUSED, "example.com", NULL);
	CHECK(eval(n, "example.com", 9) == -1, "answer: REFUSED fails");
	CHECK_HAS(err, "with REFUSED", "answer: REFUSED named");

	reset("www.example.com");
	n = answer(wire, 1, LDNS_RCODE_NOERROR, "www.example.com", chain);
	CHECK(eval(n, "www.example.com", 1) == 1, "answer: CNAME chain");
	CHECK_STR(res.alias, "edge.example.org", "answer: chain's end");
	CHECK_STR(nacre_caa_verdict_name(res.verdict), "blocked",
		  "answer: records at the chain's end judged");
	n = answer(wire, 1, LDNS_RCODE_NOERROR, "www.example.com", dangling);
	CHECK(eval(n, "www.example.com", 1) == 0, "answer: chain to NODATA");
	CHECK_STR(res.alias, "cdn.example.net", "answer: dangling alias");
	n = answer(wire, 1, LDNS_RCODE_NOERROR, "www.example.com", loop);
	CHECK(eval(n, "www.example.com", 1) == -1, "answer: CNAME loop");
	CHECK_HAS(err, "CNAME chain from www.example.com is longer than 8",
		  "answer: CNAME loop named");

	reset("example.com");
	n = answer(wire, 1, LDNS_RCODE_NOERROR, "example.com", odd);
	CHECK(eval(n, "example.com", 1) == 1, "answer: odd bytes");
	CHECK_STR(res.records[0], "example.com. CAA 0 issue \"a\\\"b\\x01c\"",
		  "answer: network bytes escaped");
}

static void
test_many(void)
{
	static char lines[40][80];
	const char *rrs[41];
	size_t n;

	for (int i = 0; i < 33; i++) {
		snprintf(lines[i], sizeof(lines[i]), "example.com. CAA 0 "
			 "iodef \"mailto:a%d@example.com\"", i);
		rrs[i] = lines[i];
	}
	rrs[32] = NULL;
	reset("example.com");
	n = answer(wire, 3, LDNS_RCODE_NOERROR, "example.com", rrs);
	CHECK(eval(n, "example.com", 3) == 1 && res.nrecords == 32,
	      "answer: 32 records judged");
	rrs[32] = lines[32];
	rrs[33] = NULL;
	n = answer(wire, 3, LDNS_RCODE_NOERROR, "example.com", rrs);
	CHECK(eval(n, "example.com", 3) == -1, "answer: 33 records refused");
	CHECK_HAS(err, "more than 32 CAA records", "answer: count named");
}

/* ---- the records to publish, and bad input ---- */

static void
test_fix(void)
{
	char out[2048];

	CHECK(nacre_caa_fix_records("App.Example.com.", NULL, CA, OURS, out,
				    sizeof(out), err, sizeof(err)) == 0,
	      "fix: a name");
	CHECK_STR(out, "app.example.com. CAA 0 issue \"" PIN "\"\n"
		  "app.example.com. CAA 0 issuewild \";\"\n", "fix: text");
	CHECK(nacre_caa_fix_records("*.example.com", NULL, CA, OURS, out,
				    sizeof(out), err, sizeof(err)) == 0,
	      "fix: a wildcard");
	CHECK_STR(out, "example.com. CAA 0 issue \"" PIN "\"\n"
		  "example.com. CAA 0 issuewild \"" PIN "\"\n",
		  "fix: wildcard text, both pinned");
	CHECK(nacre_caa_fix_records("www.example.com", "edge.example.org",
				    CA, OURS, out, sizeof(out), err,
				    sizeof(err)) == 0 &&
	      strncmp(out, "edge.example.org. CAA 0 issue", 29) == 0,
	      "fix: at a CNAME's target");
	CHECK(nacre_caa_fix_records("app.example.com", NULL, CA, "https://a "
				    "b", out, sizeof(out), err,
				    sizeof(err)) == -1, "fix: bad account");
	CHECK_HAS(err, "cannot go in a CAA record", "fix: account named");
	CHECK(nacre_caa_fix_records("app.example.com", NULL, CA, "x;y", out,
				    sizeof(out), err, sizeof(err)) == -1,
	      "fix: ';' in the account");
	CHECK(nacre_caa_fix_records("exa mple.com", NULL, CA, OURS, out,
				    sizeof(out), err, sizeof(err)) == -1,
	      "fix: bad name");
	CHECK_HAS(err, "name \"exa mple.com\" is not a domain name",
		  "fix: name named");
	CHECK(nacre_caa_fix_records("app.example.com", NULL, "*.ca", OURS,
				    out, sizeof(out), err, sizeof(err)) == -1,
	      "fix: bad CA");
	CHECK(nacre_caa_fix_records("app.example.com", NULL, CA, OURS, out,
				    40, err, sizeof(err)) == -1,
	      "fix: small buffer");
}

static void
test_bad_query(void)
{
	struct nacre_caa_result *r = calloc(1, sizeof(*r));

	reset("bad name");
	q.resolver = "tcp:127.0.0.1:53";
	CHECK(nacre_caa_check(&q, r, err, sizeof(err)) == -1 &&
	      r->verdict == NACRE_CAA_ERROR, "check: bad name fails");
	CHECK_HAS(err, "is not a domain name", "check: bad name named");
	reset("example.com");
	q.resolver = "unix:/run/dns";
	CHECK(nacre_caa_check(&q, r, err, sizeof(err)) == -1,
	      "check: unix resolver refused");
	CHECK_HAS(err, "write tcp:HOST:PORT, vsock:CID:PORT or udp:HOST:PORT",
		  "check: resolver forms named");
	CHECK_HAS(r->reason, "error: resolver unix:/run/dns",
		  "check: reason says error");
	q.resolver = "udp:nowhere";
	CHECK(nacre_caa_check(&q, r, err, sizeof(err)) == -1,
	      "check: udp resolver without a port");
	q.resolver = "tcp:127.0.0.1:53";
	q.ca = "";
	CHECK(nacre_caa_check(&q, r, err, sizeof(err)) == -1,
	      "check: empty CA refused");
	CHECK_HAS(err, "CA identity \"\"", "check: CA named");
	free(r);
}

int
main(void)
{
	test_basic();
	test_wildcard();
	test_tags();
	test_malformed();
	test_other_ca();
	test_spaces_case();
	test_answers();
	test_many();
	test_fix();
	test_bad_query();
	TAP_DONE();
}
