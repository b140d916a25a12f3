/*
 * fuzz_tee_envelope.c: the TDX / SEV-SNP evidence envelope
 * (docs/evidence-format.md 9.2) and the claims map (5) on arbitrary bytes,
 * then the whole verification of a bare envelope (nacre_verify_document:
 * envelope, claims, "iat", quote or report, chain) under a fixed policy.
 * Whatever decodes must lie inside the input and within its limits, and
 * encode back to the same bytes (the decoder is strict, the encoding
 * deterministic); nothing may crash, leak or read past the input.
 */
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "nacre/verify.h"
#include "tee_evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static struct nacre_policy *policy;

/* both platforms described and pinned; no files, so the run reads none */
static const char policy_text[] =
	"tdx = { mrtd = [ \"4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d"
	"4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d\" ]; };\n"
	"snp = { measurement = [ \"5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
	"5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e\" ]; };\n";

static bool
inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t size)
{
	return p >= buf && n <= size && (size_t)(p - buf) <= size - n;
}

static void
check_envelope(const struct nacre_tee_envelope *e, const uint8_t *buf,
	       size_t size)
{
	uint8_t *again = NULL;
	size_t len = 0;

	REQUIRE(e->evidence && e->evidence_len >= 1 &&
		e->evidence_len <= NACRE_TEE_EVIDENCE_MAX &&
		inside(e->evidence, e->evidence_len, buf, size));
	REQUIRE(e->claims && e->claims_len >= 1 &&
		e->claims_len <= NACRE_TEE_CLAIMS_MAX &&
		inside(e->claims, e->claims_len, buf, size));
	REQUIRE(e->ncerts <= NACRE_TEE_CERTS_MAX);
	for (size_t i = 0; i < e->ncerts; i++)
		REQUIRE(e->certs_len[i] >= 1 &&
			e->certs_len[i] <= NACRE_TEE_CERT_MAX &&
			inside(e->certs[i], e->certs_len[i], buf, size));
	/* strict decoding of deterministic CBOR: one encoding only */
	REQUIRE(nacre_tee_envelope_encode(e, &again, &len) == 0);
	REQUIRE(len == size && memcmp(again, buf, size) == 0);
	free(again);
}

static void
claims(const uint8_t *p, size_t n)
{
	struct nacre_claims c;
	char err[512] = "";

	if (nacre_claims_decode(p, n, &c, err, sizeof(err)) == 0) {
		REQUIRE(c.version == 1);
		REQUIRE(!c.has_acme || c.acme_account_url);
		REQUIRE(c.acme_nkeys <= NACRE_CLAIMS_KEYS_MAX);
		nacre_claims_free(&c);
	} else {
		REQUIRE(err[0]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan sees any read past the end */
	uint8_t *copy = malloc(size ? size : 1);
	struct nacre_tee_envelope e;
	struct nacre_result r;
	char err[512] = "";

	if (!policy) {
		REQUIRE(nacre_policy_parse(&policy, policy_text, "fuzz", err,
					   sizeof(err)) == 0);
		nacre_policy_set_time(policy, 1800000000);
	}
	memcpy(copy, data, size);
	if (nacre_tee_envelope_decode(copy, size, &e, err, sizeof(err)) == 0) {
		check_envelope(&e, copy, size);
		claims(e.claims, e.claims_len);
	} else {
		REQUIRE(err[0]);
		claims(copy, size);
	}
	/* the platform's verification; a map is taken for an envelope */
	nacre_verify_document(copy, size, NULL, 0, policy, &r);
	REQUIRE(r.message[0] && r.status != NACRE_OK);
	free(copy);
	return 0;
}
