/*
 * fuzz_snp_certtable.c: the SEV-SNP certificate-table parser
 * (src/verify/snp_certtable.c) on arbitrary bytes, the host's "auxblob".
 * Whatever parses must hand out slices inside the input, after the table,
 * 1..8192 bytes long, not overlapping, each at the offset its entry says;
 * and the table re-encoded from those slices must parse to the same
 * certificates.
 */
#include <stdlib.h>
#include <string.h>

#include "nacred.h"
#include "snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

struct slice {
	const uint8_t *p;
	size_t n;
};

static void
check_slice(const uint8_t *buf, size_t len, size_t table_end,
	    const uint8_t *p, size_t n)
{
	if (!p) {
		REQUIRE(n == 0);
		return;
	}
	REQUIRE(n >= 1 && n <= NACRE_SNP_CERTTABLE_CERT_MAX);
	REQUIRE(p >= buf + table_end && p + n <= buf + len);
}

static void
check_no_overlap(const struct slice *s, size_t k)
{
	for (size_t i = 0; i < k; i++)
		for (size_t j = i + 1; j < k; j++)
			if (s[i].p && s[j].p)
				REQUIRE(s[i].p + s[i].n <= s[j].p ||
					s[j].p + s[j].n <= s[i].p);
}

static bool
same(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* encode what was read, parse it again: the same certificates */
static void
round_trip(const struct nacre_snp_certtable *t)
{
	struct nacre_snp_certtable t2;
	uint8_t *enc = NULL;
	size_t enc_len = 0;
	char err[512];

	REQUIRE(nacre_snp_certtable_encode(t, &enc, &enc_len, err,
					   sizeof(err)) == 0);
	REQUIRE(nacre_snp_certtable_parse(enc, enc_len, &t2, err,
					  sizeof(err)) == 0);
	REQUIRE(same(t->vcek, t->vcek_len, t2.vcek, t2.vcek_len));
	REQUIRE(same(t->vlek, t->vlek_len, t2.vlek, t2.vlek_len));
	REQUIRE(same(t->ask, t->ask_len, t2.ask, t2.ask_len));
	REQUIRE(same(t->ark, t->ark_len, t2.ark, t2.ark_len));
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan sees any read past the end */
	uint8_t *buf = malloc(size ? size : 1);
	struct nacre_snp_certtable t;
	char err[512] = "";

	memcpy(buf, data, size);
	if (nacre_snp_certtable_parse(buf, size, &t, err, sizeof(err)) < 0) {
		REQUIRE(err[0]);
		REQUIRE(!t.vcek && !t.vlek && !t.ask && !t.ark);
		free(buf);
		return 0;
	}
	REQUIRE(t.nentries <= NACRE_SNP_CERTTABLE_ENTRIES_MAX);
	size_t table_end = (t.nentries + 1) * NACRE_SNP_CERTTABLE_ENTRY_LEN;
	REQUIRE(table_end <= size);
	struct slice s[4] = {
		{ t.vcek, t.vcek_len }, { t.vlek, t.vlek_len },
		{ t.ask, t.ask_len }, { t.ark, t.ark_len },
	};
	for (size_t i = 0; i < 4; i++)
		check_slice(buf, size, table_end, s[i].p, s[i].n);
	check_no_overlap(s, 4);
	round_trip(&t);
	free(buf);
	return 0;
}
