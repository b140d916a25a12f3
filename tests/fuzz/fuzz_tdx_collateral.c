/*
 * fuzz_tdx_collateral.c: the Intel PCS collateral readers of
 * tdx_collateral.c (TCB Info v3 "TDX", QE Identity v2 "TD_QE") on
 * arbitrary text, then, for what parses, every evaluation: the platform
 * match, the TCB level for a platform whose PCK components, PCESVN and
 * TEE_TCB_SVN come from the input's last bytes (both module paths), the QE
 * report against the identity, and the status convergence. The signed body
 * must lie inside the input; nothing may crash, leak or loop. Also the
 * ISO time reader both use.
 */
#include <stdlib.h>
#include <string.h>

#include "tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

/* bytes of the input's tail, cycled, into out: a platform to evaluate */
static void
tail_bytes(const uint8_t *data, size_t size, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = size ? data[size - 1 - (i % size)] : 0;
}

static void
tcb_info(const uint8_t *data, size_t size)
{
	struct nacre_tdx_tcb_info *t = NULL;
	struct nacre_tdx_pck_ext e;
	struct nacre_tdx_td_body td;
	struct nacre_tdx_tcb_eval ev;
	enum nacre_tdx_status st;
	char err[512] = "";

	if (nacre_tdx_tcb_info_parse((const char *)data, size, &t, err,
				     sizeof(err)) < 0) {
		REQUIRE(err[0] && !t);
		return;
	}
	const struct nacre_tdx_signed *s = nacre_tdx_tcb_info_signed(t);
	REQUIRE(s->body && s->body_len <= size);
	memset(&e, 0, sizeof(e));
	memset(&td, 0, sizeof(td));
	tail_bytes(data, size, e.sgx_comp, sizeof(e.sgx_comp));
	tail_bytes(data, size, td.tee_tcb_svn, sizeof(td.tee_tcb_svn));
	e.pcesvn = (uint16_t)(e.sgx_comp[0] << 8 | e.sgx_comp[1]);
	nacre_tdx_tcb_info_match_platform(t, &e, err, sizeof(err));
	for (int mod = 0; mod < 2; mod++) {
		td.tee_tcb_svn[1] = (uint8_t)mod; /* tdxModule, then identities */
		if (nacre_tdx_tcb_evaluate(t, &e, &td, &ev, &st, err,
					   sizeof(err)) == 0) {
			REQUIRE(ev.platform < NACRE_TDX_TCB_NSTATUS &&
				ev.module < NACRE_TDX_TCB_NSTATUS);
			REQUIRE(nacre_tdx_tcb_converge(ev.platform, ev.module) <
				NACRE_TDX_TCB_NSTATUS);
		} else {
			REQUIRE(st == NACRE_TDX_E_TCB_NOT_FOUND ||
				st == NACRE_TDX_E_TDX_MODULE);
		}
	}
	nacre_tdx_tcb_info_free(t);
}

static void
qe_identity(const uint8_t *data, size_t size)
{
	struct nacre_tdx_qe_identity *q = NULL;
	struct nacre_sgx_report rep;
	enum nacre_tdx_tcb_status s;
	char err[512] = "";

	if (nacre_tdx_qe_identity_parse((const char *)data, size, &q, err,
					sizeof(err)) < 0) {
		REQUIRE(err[0] && !q);
		return;
	}
	REQUIRE(nacre_tdx_qe_identity_signed(q)->body_len <= size);
	memset(&rep, 0, sizeof(rep));
	nacre_tdx_qe_identity_evaluate(q, &rep, &s, err, sizeof(err));
	tail_bytes(data, size, rep.mrsigner, sizeof(rep.mrsigner));
	rep.isvsvn = (uint16_t)(size & 0xffff);
	if (nacre_tdx_qe_identity_evaluate(q, &rep, &s, err, sizeof(err)) == 0)
		REQUIRE(s < NACRE_TDX_TCB_NSTATUS);
	nacre_tdx_qe_identity_free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan sees any read past the end */
	uint8_t *copy = malloc(size ? size : 1);
	char when[40];
	time_t t;

	memcpy(copy, data, size);
	tcb_info(copy, size);
	qe_identity(copy, size);
	if (size < sizeof(when)) {
		memcpy(when, copy, size);
		when[size] = '\0';
		nacre_tdx_parse_time(when, &t);
	}
	free(copy);
	return 0;
}
