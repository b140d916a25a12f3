/*
 * fuzz_tdx_quote.c: the TDX quote parser and verifier on arbitrary bytes.
 * Whatever parses must respect the layout (lengths inside the input, the
 * signed part header + body), and the whole verification must then run
 * (PCK chain from the fuzzed PEM, the SGX extension, the signatures)
 * without a crash. Inputs that look like JSON go to the TCB Info and QE
 * Identity parsers too, and, when they parse, to the evaluations.
 */
#include <stdlib.h>
#include <string.h>

#include "tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static void
check_quote(const struct nacre_tdx_quote *q, const uint8_t *buf, size_t size)
{
	REQUIRE(q->version == 4 || q->version == 5);
	REQUIRE(q->att_key_type == 2 && q->tee_type == 0x81);
	REQUIRE(q->signed_data == buf);
	REQUIRE(q->signed_len == (q->version == 4 ? 48 + 584 :
				  q->td.is_td15 ? 54 + 648 : 54 + 584));
	REQUIRE(q->quote_len + q->trailing == size);
	REQUIRE(q->qe_report_raw > buf &&
		q->qe_report_raw + NACRE_SGX_REPORT_LEN <= buf + q->quote_len);
	REQUIRE(q->qe_auth_len <= 65535 &&
		q->qe_auth + q->qe_auth_len <= buf + q->quote_len);
	REQUIRE(q->pck_pem_len >= 1 &&
		q->pck_pem_len <= NACRE_TDX_PCK_CHAIN_MAX &&
		(const uint8_t *)q->pck_pem + q->pck_pem_len ==
		buf + q->quote_len);
}

static void
json_side(const uint8_t *data, size_t size)
{
	static const struct nacre_sgx_report zero_report;
	struct nacre_tdx_tcb_info *t = NULL;
	struct nacre_tdx_qe_identity *qi = NULL;
	struct nacre_tdx_pck_ext e = { 0 };
	struct nacre_tdx_td_body td = { 0 };
	struct nacre_tdx_tcb_eval ev;
	enum nacre_tdx_status st;
	enum nacre_tdx_tcb_status s;
	char err[512];

	if (nacre_tdx_tcb_info_parse((const char *)data, size, &t, err,
				     sizeof(err)) == 0) {
		const struct nacre_tdx_signed *sd = nacre_tdx_tcb_info_signed(t);
		REQUIRE(sd->body && sd->body_len <= size);
		nacre_tdx_tcb_info_match_platform(t, &e, err, sizeof(err));
		nacre_tdx_tcb_evaluate(t, &e, &td, &ev, &st, err, sizeof(err));
		td.tee_tcb_svn[1] = 1;
		nacre_tdx_tcb_evaluate(t, &e, &td, &ev, &st, err, sizeof(err));
		nacre_tdx_tcb_info_free(t);
	} else {
		REQUIRE(err[0] && !t);
	}
	if (nacre_tdx_qe_identity_parse((const char *)data, size, &qi, err,
					sizeof(err)) == 0) {
		REQUIRE(nacre_tdx_qe_identity_signed(qi)->body_len <= size);
		nacre_tdx_qe_identity_evaluate(qi, &zero_report, &s, err,
					       sizeof(err));
		nacre_tdx_qe_identity_free(qi);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan sees any read past the end */
	uint8_t *copy = malloc(size ? size : 1);
	struct nacre_tdx_quote q;
	struct nacre_tdx_result r;
	/* 2023-07-01T01:00:00Z; the Intel root by its hash, quote only */
	struct nacre_tdx_policy p = { .now = 1688173200,
				      .allow_no_collateral = true };
	enum nacre_tdx_status st;
	char err[512] = "";

	memcpy(copy, data, size);
	if (nacre_tdx_quote_parse(copy, size, &q, &st, err, sizeof(err)) == 0) {
		check_quote(&q, copy, size);
		nacre_tdx_verify(copy, size, NULL, &p, NULL, &r);
		REQUIRE(r.message[0]);
	} else {
		REQUIRE(err[0] && (st == NACRE_TDX_E_MALFORMED ||
				   st == NACRE_TDX_E_UNSUPPORTED));
	}
	if (size && copy[0] == '{')
		json_side(copy, size);
	free(copy);
	return 0;
}
