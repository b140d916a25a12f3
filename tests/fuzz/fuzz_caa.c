/*
 * fuzz_caa.c: the CAA answer parser and verdict on arbitrary bytes.
 * Input: one option byte, then a DNS message (the answer to our query;
 * its own ID is taken as ours, so the header check can pass), or, with
 * bit 7 set, raw records: (flags, tag length, tag, value length, value)*.
 * Whatever comes back must be consistent, escaped, and, for a pinned set,
 * react to one more record as RFC 8659 says it must.
 */
#include <stdlib.h>
#include <string.h>

#include "acme/acme.h"
#include "nacred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

#define OPT_WILD 0x01      /* the name is *.QNAME */
#define OPT_NO_ACCOUNT 0x02
#define OPT_QNAME 0x0c     /* which of qnames[] was asked */
#define OPT_RECORDS 0x80

static const char *const qnames[] = { "example.com", "www.example.com",
				      "a.example.com", "app.example.com" };
static const char *const wild[] = { "*.example.com", "*.www.example.com",
				    "*.a.example.com", "*.app.example.com" };

static void
query(uint8_t opt, struct nacre_caa_query *q)
{
	size_t i = (opt & OPT_QNAME) >> 2;

	memset(q, 0, sizeof(*q));
	q->name = opt & OPT_WILD ? wild[i] : qnames[i];
	q->ca = "letsencrypt.org";
	q->account_uri = opt & OPT_NO_ACCOUNT ? NULL :
			 "https://acme.example/acme/acct/1";
}

/* text we print or log: escaped, so printable ASCII only */
static void
printable(const char *s)
{
	for (; *s; s++)
		REQUIRE(*s >= 0x20 && *s <= 0x7e);
}

static void
fuzz_answer(const uint8_t *w, size_t n, uint8_t opt)
{
	static struct nacre_caa_result r;
	struct nacre_caa_query q;
	const char *qname = qnames[(opt & OPT_QNAME) >> 2];
	uint16_t id = n >= 2 ? (uint16_t)(w[0] << 8 | w[1]) : 0;
	char err[NACRE_ERRLEN] = "";
	int rc;

	query(opt, &q);
	rc = nacre_caa_eval_answer(w, n, qname, id, &q, &r, err, sizeof(err));
	REQUIRE(rc >= -1 && rc <= 1);
	REQUIRE((rc == -1) == (r.verdict == NACRE_CAA_ERROR) || rc == 0);
	if (rc == -1)
		REQUIRE(err[0] && r.nrecords == 0);
	if (rc == 0)
		REQUIRE(r.nrecords == 0 && !r.found_at[0]);
	if (rc == 1)
		REQUIRE(r.nrecords >= 1 && r.nrecords <= NACRE_CAA_MAX_RECORDS &&
			strcmp(r.found_at, qname) == 0 && r.reason[0]);
	printable(r.alias);
	if (rc != 0)
		printable(r.reason);
	for (size_t i = 0; i < r.nrecords; i++)
		printable(r.records[i]);
}

static size_t
take_records(const uint8_t *d, size_t n, struct nacre_caa_rr *rrs,
	     size_t max)
{
	size_t k = 0, i = 0;

	while (k < max && i + 3 <= n) {
		struct nacre_caa_rr *rr = &rrs[k];
		rr->flags = d[i];
		rr->tag_len = d[i + 1];
		if (i + 2 + rr->tag_len + 1 > n)
			break;
		rr->tag = d + i + 2;
		i += 2 + rr->tag_len;
		rr->value_len = d[i];
		if (i + 1 + rr->value_len > n)
			break;
		rr->value = d + i + 1;
		i += 1 + rr->value_len;
		k++;
	}
	return k;
}

static void
add(struct nacre_caa_rr *rr, uint8_t flags, const char *tag, const char *v)
{
	rr->flags = flags;
	rr->tag = (const uint8_t *)tag;
	rr->tag_len = strlen(tag);
	rr->value = (const uint8_t *)v;
	rr->value_len = strlen(v);
}

static enum nacre_caa_verdict
judge(const struct nacre_caa_rr *rrs, size_t n,
      const struct nacre_caa_query *q, struct nacre_caa_result *r)
{
	nacre_caa_evaluate(rrs, n, q, r);
	REQUIRE(r->verdict != NACRE_CAA_ERROR && r->reason[0]);
	printable(r->reason);
	return r->verdict;
}

static void
fuzz_records(const uint8_t *d, size_t n, uint8_t opt)
{
	static struct nacre_caa_result r, again;
	struct nacre_caa_rr rrs[NACRE_CAA_MAX_RECORDS + 1];
	struct nacre_caa_query q;
	size_t k = take_records(d, n, rrs, NACRE_CAA_MAX_RECORDS);
	enum nacre_caa_verdict v;

	query(opt, &q);
	v = judge(rrs, k, &q, &r);
	REQUIRE(judge(rrs, k, &q, &again) == v &&
		strcmp(r.reason, again.reason) == 0);
	REQUIRE(v != NACRE_CAA_PINNED || q.account_uri);
	if (v != NACRE_CAA_PINNED || (opt & OPT_WILD))
		return;
	/* authorizations add up: "no one" changes nothing */
	add(&rrs[k], 0, "issue", ";");
	REQUIRE(judge(rrs, k + 1, &q, &again) == NACRE_CAA_PINNED);
	/* another CA breaks the pin */
	add(&rrs[k], 0, "issue", "otherca.example");
	REQUIRE(judge(rrs, k + 1, &q, &again) == NACRE_CAA_OPEN_ANY_CA);
	/* an unknown critical property forbids everything */
	add(&rrs[k], 128, "x-unknown", "");
	REQUIRE(judge(rrs, k + 1, &q, &again) == NACRE_CAA_BLOCKED);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & OPT_RECORDS)
		fuzz_records(data + 1, size - 1, data[0]);
	else
		fuzz_answer(data + 1, size - 1, data[0]);
	return 0;
}
