/*
 * test_tdx.c: the Intel TDX quote verifier (src/verify/tdx*.c) on the real
 * vectors of tests/vectors/tdx/ (README.md there): the v4 production quote
 * and the v5 sample parse to the recorded values; the v4 quote passes the
 * PCK chain, CRLs, signatures and the recorded collateral at its recorded
 * time and then meets the TCB Info's levels honestly (none covers it);
 * single-byte flips in every signed part fail with their own error; dates,
 * policy values and truncations fail cleanly; the TCB evaluation and the
 * status convergence run on level lists made here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "nacred.h"
#include "tdx.h"
#include "tap.h"

#define VEC "tests/vectors/tdx/"
#define COL VEC "collateral/"

/* 2023-07-01T01:00:00Z, go-tdx-guest's time for the v4 quote */
#define T_V4 ((time_t)1688173200)
/* 2026-02-03T01:00:00Z, for the v5 sample */
#define T_V5 ((time_t)1770080400)

struct blob {
	uint8_t *p;
	size_t n;
};

static struct blob v4, v5, tcb, qeid, tcb_chain, qe_chain, root_crl, pck_crl,
	tcb5;
static X509 *intel_root;

static struct blob
slurp(const char *path)
{
	struct blob b = { 0 };
	FILE *f = fopen(path, "rb");
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) || !(b.p = malloc((size_t)n + 1)) ||
	    fread(b.p, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	b.n = (size_t)n;
	b.p[n] = 0;
	fclose(f);
	return b;
}

static struct nacre_tdx_collateral
full_collateral(void)
{
	return (struct nacre_tdx_collateral){
		.tcb_info = (const char *)tcb.p, .tcb_info_len = tcb.n,
		.tcb_info_chain = (const char *)tcb_chain.p,
		.tcb_info_chain_len = tcb_chain.n,
		.qe_identity = (const char *)qeid.p,
		.qe_identity_len = qeid.n,
		.qe_identity_chain = (const char *)qe_chain.p,
		.qe_identity_chain_len = qe_chain.n,
		.root_ca_crl = root_crl.p, .root_ca_crl_len = root_crl.n,
		.pck_crl = pck_crl.p, .pck_crl_len = pck_crl.n,
	};
}

static struct nacre_tdx_policy
policy_at(time_t t, bool quote_only)
{
	return (struct nacre_tdx_policy){ .root = intel_root, .now = t,
					  .allow_no_collateral = quote_only };
}

static bool
hex_eq(const uint8_t *v, size_t n, const char *hex)
{
	uint8_t want[128];

	return n <= sizeof(want) && nacre_hex_decode(hex, want, n) == 0 &&
	       memcmp(v, want, n) == 0;
}

static bool
is_zero(const uint8_t *v, size_t n)
{
	while (n--)
		if (*v++)
			return false;
	return true;
}

/* ---------------------------------------------------------------------- */

static void
test_parse_v4(void)
{
	struct nacre_tdx_quote q;
	enum nacre_tdx_status st;
	char err[512];

	CHECK(nacre_tdx_quote_parse(v4.p, v4.n, &q, &st, err, sizeof(err)) == 0,
	      "v4: parses");
	CHECK(q.version == 4 && q.att_key_type == 2 && q.tee_type == 0x81,
	      "v4: header version 4, key type 2, TEE type 0x81");
	CHECK(hex_eq(q.qe_vendor_id, 16, "939a7233f79c4ca9940a0db3957f0607"),
	      "v4: QE vendor id is Intel's");
	CHECK(hex_eq(q.user_data, 20,
		     "739c3f292a15bace1f726351a70d4b7900000000"),
	      "v4: header user_data");
	CHECK(q.quote_len == 4935 && q.trailing == 39,
	      "v4: 4935-byte quote, the 39-byte file trailer ignored");
	CHECK(q.signed_len == 632, "v4: signature covers header + body");
	CHECK(hex_eq(q.td.tee_tcb_svn, 16, "03000400000000000000000000000000"),
	      "v4: TEE_TCB_SVN");
	CHECK(hex_eq(q.td.td_attributes, 8, "0000004000000000") &&
	      hex_eq(q.td.xfam, 8, "e71a060000000000"),
	      "v4: TDATTRIBUTES and XFAM");
	CHECK(hex_eq(q.td.mrtd, 48, "6363b8043668a3ad953278e10389574d326c6749"
		     "fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb"),
	      "v4: MRTD");
	CHECK(q.td.rtmr[0][0] == 0x29 && q.td.rtmr[0][1] == 0x27 &&
	      q.td.rtmr[1][0] == 0x2c && q.td.rtmr[2][0] == 0x86 &&
	      is_zero(q.td.rtmr[3], 48), "v4: RTMR0-2 as recorded, RTMR3 zero");
	CHECK(is_zero(q.td.mrconfigid, 48) && is_zero(q.td.mrowner, 48) &&
	      is_zero(q.td.mrownerconfig, 48),
	      "v4: MRCONFIGID, MROWNER, MROWNERCONFIG zero");
	CHECK(q.td.mrseam[0] == 0x2f && q.td.mrseam[1] == 0xd2 &&
	      q.td.mrseam[47] == 0x56, "v4: MRSEAM 2fd2…56");
	CHECK(hex_eq(q.td.report_data, 64,
		     "6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993"
		     "d9899545eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6"
		     "f29f8acb281f1113"), "v4: REPORTDATA");
	CHECK(!q.td.is_td15 && q.body_type == 2, "v4: a TD 1.0 body");
	CHECK(hex_eq(q.qe_report.mrsigner, 32, "dc9e2a7c6f948f17474e34a7fc43ed"
		     "030f7c1563f1babddf6340c82e0e54a8c5") &&
	      q.qe_report.isvprodid == 2 && q.qe_report.isvsvn == 4,
	      "v4: QE report MRSIGNER, ISVPRODID 2, ISVSVN 4");
	CHECK(q.qe_auth_len == 32 && q.pck_pem_len == 3677,
	      "v4: 32 bytes of QE auth data, 3677-byte PCK chain");

	STACK_OF(X509) *chain = NULL;
	struct nacre_tdx_pck_ext e;
	CHECK(nacre_tdx_pem_certs(q.pck_pem, q.pck_pem_len, &chain, 8, err,
				  sizeof(err)) == 0 && sk_X509_num(chain) == 3,
	      "v4: the PCK chain holds 3 certificates");
	CHECK(chain && nacre_tdx_pck_ext_parse(sk_X509_value(chain, 0), &e,
					       err, sizeof(err)) == 0,
	      "v4: the PCK SGX extension parses");
	CHECK(hex_eq(e.fmspc, 6, "50806f000000") &&
	      hex_eq(e.pceid, 2, "0000"), "v4: FMSPC 50806f000000, PCE-ID 0");
	CHECK(e.pcesvn == 11 && e.sgx_comp[0] == 3 && e.sgx_comp[4] == 2 &&
	      e.sgx_comp[7] == 2, "v4: PCK TCB components and PCESVN 11");
	sk_X509_pop_free(chain, X509_free);
}

static void
test_parse_v5(void)
{
	struct nacre_tdx_quote q;
	enum nacre_tdx_status st;
	char err[512];

	CHECK(nacre_tdx_quote_parse(v5.p, v5.n, &q, &st, err, sizeof(err)) == 0,
	      "v5: parses");
	CHECK(q.version == 5 && q.body_type == 3 && q.td.is_td15 &&
	      q.signed_len == 54 + 648 && q.trailing == 0,
	      "v5: body type 3 (TD 1.5, 648 bytes), no trailer");
	CHECK(hex_eq(q.user_data, 20,
		     "ba103c0e5dffa40351f9d5dd559888eb00000000"),
	      "v5: header user_data");
	CHECK(hex_eq(q.td.tee_tcb_svn, 16, "0b010400000000000000000000000000") &&
	      hex_eq(q.td.tee_tcb_svn2, 16, "0d010400000000000000000000000000"),
	      "v5: TEE_TCB_SVN and TEE_TCB_SVN2");
	CHECK(hex_eq(q.td.mrtd, 48, "7348651a34b2d2d3462822e3a750ec6110125f36"
		     "757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876"),
	      "v5: MRTD");
	CHECK(is_zero(q.td.mrservicetd, 48), "v5: MRSERVICETD zero");
	CHECK(hex_eq(q.td.report_data, 64,
		     "945eaacf5abc1f719d8666a942fda03d1edcb4490277396093dc5a52"
		     "89ab9f1e094aed63060cd4a4933a4dd537ed1255c9c79ecb3ed82cd1"
		     "b486233e31c25c3a"), "v5: REPORTDATA");
	CHECK(q.qe_report.isvsvn == 7, "v5: QE ISVSVN 7");
}

static void
test_v4_verify(void)
{
	struct nacre_tdx_collateral c = full_collateral();
	struct nacre_tdx_policy p = policy_at(T_V4, false);
	struct nacre_tdx_result r;

	/* every check passes up to the TCB level: the recorded TCB Info is
	 * of the same FMSPC but its levels need SGX components (5,5,2,2,3,..)
	 * above this platform's PCK (3,3,2,2,2,..): honestly no level */
	nacre_tdx_verify(v4.p, v4.n, &c, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_TCB_NOT_FOUND,
	      "v4 + recorded collateral: chain, CRLs, signatures, TCB Info, "
	      "QE Identity pass; no TCB level covers the platform");
	CHECK_HAS(r.message, "PCK SGX TCB component 0 is 3, the lowest level "
		  "needs 5", "v4 + collateral: the message names the shortfall");
	CHECK_STR(r.fmspc_hex, "50806f000000", "v4: result FMSPC");
	CHECK(r.qe_status == NACRE_TDX_TCB_UP_TO_DATE,
	      "v4: QE identity level UpToDate (ISVSVN 4)");

	p.root = NULL;	/* the Intel root, recognised by its hash */
	nacre_tdx_verify(v4.p, v4.n, &c, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_TCB_NOT_FOUND,
	      "v4: the built-in Intel root pin gives the same verdict");

	p = policy_at(T_V4, true);
	c.tcb_info = c.qe_identity = NULL;
	nacre_tdx_verify(v4.p, v4.n, &c, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_OK && !r.collateral_checked,
	      "v4 quote-only with both CRLs: verifies");
	CHECK_HAS(r.message, "not evaluated", "v4 quote-only: says the TCB "
		  "was not evaluated");

	p.allow_no_collateral = false;
	nacre_tdx_verify(v4.p, v4.n, NULL, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_NO_COLLATERAL,
	      "v4 without collateral and without allow_no_collateral fails");
	CHECK_HAS(r.message, "fmspc=50806f000000", "no collateral: names "
		  "the FMSPC to fetch");
}

static void
test_v5_verify(void)
{
	struct nacre_tdx_policy p = policy_at(T_V5, true);
	struct nacre_tdx_result r;
	struct nacre_tdx_quote q;
	struct nacre_tdx_tcb_info *t = NULL;
	struct nacre_tdx_tcb_eval ev;
	struct nacre_tdx_pck_ext e;
	STACK_OF(X509) *chain = NULL;
	enum nacre_tdx_status st;
	char err[512];

	/* the recorded CRLs and QE identity are of 2023: quote-only here */
	nacre_tdx_verify(v5.p, v5.n, NULL, &p, &q, &r);
	CHECK(r.status == NACRE_TDX_OK, "v5: signatures and PCK chain verify "
	      "at 2026-02-03");
	if (r.status)
		printf("# %s\n", r.message);
	CHECK_STR(r.fmspc_hex, "90c06f000000", "v5: FMSPC 90c06f000000");

	/* its TCB Info (signed 2026 by a key whose cert in the testdata
	 * expired 2025) evaluates against the quote's TCB */
	CHECK(nacre_tdx_tcb_info_parse((const char *)tcb5.p, tcb5.n, &t, err,
				       sizeof(err)) == 0, "v5: TCB Info parses");
	CHECK(nacre_tdx_pem_certs(q.pck_pem, q.pck_pem_len, &chain, 8, err,
				  sizeof(err)) == 0 &&
	      nacre_tdx_pck_ext_parse(sk_X509_value(chain, 0), &e, err,
				      sizeof(err)) == 0 &&
	      nacre_tdx_tcb_info_match_platform(t, &e, err, sizeof(err)) == 0,
	      "v5: TCB Info FMSPC and PCE-ID match the PCK");
	int rc = t ? nacre_tdx_tcb_evaluate(t, &e, &q.td, &ev, &st, err,
					    sizeof(err)) : -1;
	CHECK(rc == 0, "v5: a TCB level and the TDX_01 module identity match");
	if (rc)
		printf("# %s\n", err);
	printf("# v5 platform %s, module %s (%s)\n",
	       nacre_tdx_tcb_status_name(ev.platform),
	       nacre_tdx_tcb_status_name(ev.module), ev.tcb_date);
	CHECK(rc == 0 && ev.module == NACRE_TDX_TCB_UP_TO_DATE,
	      "v5: TDX module SVN 11 of TDX_01 is UpToDate");
	CHECK(rc == 0 && ev.platform == NACRE_TDX_TCB_UP_TO_DATE,
	      "v5: the platform's TCB level is UpToDate");
	sk_X509_pop_free(chain, X509_free);
	nacre_tdx_tcb_info_free(t);
}

/* ---------------------------------------------------------------------- */
/* One byte changed: each signed part its own error. */

static enum nacre_tdx_status
verify_flipped(size_t off, uint8_t x, bool quote_only, time_t t,
	       char *msg, size_t msglen)
{
	uint8_t *q = malloc(v4.n);
	struct nacre_tdx_collateral c = full_collateral();
	struct nacre_tdx_policy p = policy_at(t, quote_only);
	struct nacre_tdx_result r;

	memcpy(q, v4.p, v4.n);
	q[off] ^= x;
	if (quote_only)
		c.tcb_info = c.qe_identity = NULL;
	nacre_tdx_verify(q, v4.n, &c, &p, NULL, &r);
	free(q);
	if (msg)
		snprintf(msg, msglen, "%s", r.message);
	return r.status;
}

/* offset of the n-th character before the end of the k-th PEM block */
static size_t
pem_off(int k, size_t back)
{
	static const char end[] = "-----END CERTIFICATE-----";
	const uint8_t *e = v4.p;

	/* the quote is binary: memmem, not strstr */
	for (int i = 0; i <= k && e; i++)
		e = memmem(e + 1, v4.n - (size_t)(e + 1 - v4.p), end,
			   sizeof(end) - 1);
	if (!e)
		abort();
	return (size_t)(e - v4.p) - back;
}

static void
test_flips(void)
{
	char m[512];

	CHECK(verify_flipped(636 + 5, 1, true, T_V4, m, sizeof(m)) ==
	      NACRE_TDX_E_QUOTE_SIGNATURE, "flip: quote signature");
	CHECK(verify_flipped(48 + 136, 1, true, T_V4, m, sizeof(m)) ==
	      NACRE_TDX_E_QUOTE_SIGNATURE, "flip: TD body (MRTD)");
	CHECK(verify_flipped(48 + 520, 0x80, true, T_V4, m, sizeof(m)) ==
	      NACRE_TDX_E_QUOTE_SIGNATURE, "flip: TD body (REPORTDATA)");
	CHECK(verify_flipped(30, 1, true, T_V4, m, sizeof(m)) ==
	      NACRE_TDX_E_QUOTE_SIGNATURE, "flip: header user_data");
	CHECK_HAS(m, "signature does not verify with its attestation key",
		  "flip: quote signature message");
	CHECK(verify_flipped(700 + 10, 1, true, T_V4, m, sizeof(m)) ==
	      NACRE_TDX_E_QE_BINDING, "flip: attestation key breaks the "
	      "QE report binding");
	CHECK(verify_flipped(770 + 64, 1, true, T_V4, m, sizeof(m)) ==
	      NACRE_TDX_E_QE_REPORT_SIGNATURE, "flip: QE report (MRENCLAVE)");
	CHECK(verify_flipped(770 + 320, 1, true, T_V4, m, sizeof(m)) ==
	      NACRE_TDX_E_QE_REPORT_SIGNATURE, "flip: QE report (REPORTDATA)");
	CHECK(verify_flipped(1154 + 40, 1, true, T_V4, m, sizeof(m)) ==
	      NACRE_TDX_E_QE_REPORT_SIGNATURE, "flip: QE report signature");
	CHECK(verify_flipped(1220 + 3, 1, true, T_V4, m, sizeof(m)) ==
	      NACRE_TDX_E_QE_BINDING, "flip: QE auth data");
	CHECK_HAS(m, "SHA-256(attestation key || QE auth data)",
		  "flip: binding message");
	/* a base64 character of each certificate's signature: 'A'<->'B'
	 * style flips (x ^ 3 stays inside [A-Za-z0-9] for these) */
	size_t o = pem_off(0, 12);
	CHECK(verify_flipped(o, v4.p[o] >= 'a' ? 0x01 : 0x01, true, T_V4, m,
			     sizeof(m)) == NACRE_TDX_E_PCK_CHAIN,
	      "flip: PCK leaf certificate");
	printf("# %s\n", m);
	o = pem_off(1, 12);
	CHECK(verify_flipped(o, 0x01, true, T_V4, m, sizeof(m)) ==
	      NACRE_TDX_E_PCK_CHAIN, "flip: PCK Platform CA certificate");
	printf("# %s\n", m);

	/* the root in the quote, trusted only by its hash */
	o = pem_off(2, 40);
	uint8_t *q = malloc(v4.n);
	struct nacre_tdx_policy p = policy_at(T_V4, true);
	struct nacre_tdx_result r;
	memcpy(q, v4.p, v4.n);
	q[o] ^= 1;
	p.root = NULL;
	nacre_tdx_verify(q, v4.n, NULL, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_UNTRUSTED_ROOT ||
	      r.status == NACRE_TDX_E_PCK_CHAIN,
	      "flip: the chain's root copy is no longer the pinned Intel root");
	CHECK_STR(nacre_tdx_status_name(r.status), "untrusted-root",
		  "flip: root reported as untrusted");
	free(q);
}

static enum nacre_tdx_status
verify_collateral_flip(struct blob *b, const char *find, long at,
		       uint8_t x, char *msg, size_t msglen)
{
	char *hit = strstr((char *)b->p, find);
	size_t off = hit ? (size_t)((hit - (char *)b->p) + at) : 0;
	struct nacre_tdx_collateral c;
	struct nacre_tdx_policy p = policy_at(T_V4, false);
	struct nacre_tdx_result r;

	if (!hit)
		return NACRE_TDX_E_INTERNAL;
	b->p[off] ^= x;
	c = full_collateral();
	nacre_tdx_verify(v4.p, v4.n, &c, &p, NULL, &r);
	b->p[off] ^= x;
	snprintf(msg, msglen, "%s", r.message);
	return r.status;
}

static void
test_collateral_flips(void)
{
	char m[512];

	/* "tcbEvaluationDataNumber":15 -> 14: still valid JSON */
	CHECK(verify_collateral_flip(&tcb, "\"tcbEvaluationDataNumber\":15",
				     27, 0x01, m, sizeof(m)) ==
	      NACRE_TDX_E_TCB_INFO_SIGNATURE, "flip: TCB Info body");
	CHECK_HAS(m, "TCB Info's signature does not verify", "flip: TCB Info "
		  "message");
	CHECK(verify_collateral_flip(&tcb, "\"signature\":\"f6", 14, 0x01, m,
				     sizeof(m)) ==
	      NACRE_TDX_E_TCB_INFO_SIGNATURE, "flip: TCB Info signature");
	/* "isvprodid":2 -> 3 */
	CHECK(verify_collateral_flip(&qeid, "\"isvprodid\":2", 12, 0x01, m,
				     sizeof(m)) ==
	      NACRE_TDX_E_QE_IDENTITY_SIGNATURE, "flip: QE Identity body");
	CHECK(verify_collateral_flip(&tcb_chain, "-----END", -12, 0x01, m,
				     sizeof(m)) ==
	      NACRE_TDX_E_TCB_SIGNING_CHAIN, "flip: TCB Signing certificate");
	printf("# %s\n", m);
	CHECK(verify_collateral_flip(&tcb, "\"tcbInfo\"", 3, 0x20, m,
				     sizeof(m)) ==
	      NACRE_TDX_E_COLLATERAL_MALFORMED, "flip: TCB Info key name");

	/* the CRLs: a byte of each signature (the last ones of the DER) */
	pck_crl.p[pck_crl.n - 5] ^= 1;
	struct nacre_tdx_collateral c = full_collateral();
	struct nacre_tdx_policy p = policy_at(T_V4, false);
	struct nacre_tdx_result r;
	nacre_tdx_verify(v4.p, v4.n, &c, &p, NULL, &r);
	pck_crl.p[pck_crl.n - 5] ^= 1;
	CHECK(r.status == NACRE_TDX_E_CRL, "flip: PCK CRL signature");
	printf("# %s\n", r.message);
	root_crl.p[root_crl.n - 5] ^= 1;
	nacre_tdx_verify(v4.p, v4.n, &c, &p, NULL, &r);
	root_crl.p[root_crl.n - 5] ^= 1;
	CHECK(r.status == NACRE_TDX_E_CRL, "flip: root CA CRL signature");
	c.pck_crl_len = 10;
	nacre_tdx_verify(v4.p, v4.n, &c, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_CRL, "truncated PCK CRL");
}

/* ---------------------------------------------------------------------- */

static enum nacre_tdx_status
verify_at(time_t t, bool crls, uint64_t max_age, char *m, size_t ml)
{
	struct nacre_tdx_collateral c = full_collateral();
	struct nacre_tdx_policy p = policy_at(t, false);
	struct nacre_tdx_result r;

	if (!crls)
		c.root_ca_crl = c.pck_crl = NULL;
	p.max_collateral_age = max_age;
	nacre_tdx_verify(v4.p, v4.n, &c, &p, NULL, &r);
	snprintf(m, ml, "%s", r.message);
	return r.status;
}

static void
test_times(void)
{
	char m[512];

	/* 2023-07-10: the QE Identity's nextUpdate (07-08) has passed */
	CHECK(verify_at(1688947200, false, 0, m, sizeof(m)) ==
	      NACRE_TDX_E_COLLATERAL_EXPIRED, "time: after the QE Identity's "
	      "nextUpdate");
	CHECK_HAS(m, "QE Identity expired at its nextUpdate 2023-07-08T07:24:59Z",
		  "time: names the QE Identity and its nextUpdate");
	/* 2023-07-19: the TCB Info's (07-18) too, reported first */
	CHECK(verify_at(1689724800, false, 0, m, sizeof(m)) ==
	      NACRE_TDX_E_COLLATERAL_EXPIRED, "time: after the TCB Info's "
	      "nextUpdate");
	CHECK_HAS(m, "TCB Info expired", "time: names the TCB Info");
	/* the PCK CRL's nextUpdate (07-08) */
	CHECK(verify_at(1688947200, true, 0, m, sizeof(m)) == NACRE_TDX_E_CRL,
	      "time: after the PCK CRL's nextUpdate");
	/* 2023-06-10: the TCB Info (issued 06-18) is from the future */
	CHECK(verify_at(1686355200, true, 0, m, sizeof(m)) ==
	      NACRE_TDX_E_COLLATERAL_FUTURE, "time: before the TCB Info's "
	      "issueDate");
	CHECK(verify_at(T_V4, true, 3600, m, sizeof(m)) ==
	      NACRE_TDX_E_COLLATERAL_TOO_OLD, "policy: collateral older than "
	      "max age");
	CHECK(verify_at(T_V4, true, 30 * 86400, m, sizeof(m)) ==
	      NACRE_TDX_E_TCB_NOT_FOUND, "policy: collateral within max age");

	/* after the PCK certificate's notAfter (2029-09-20) and before its
	 * notBefore (2022-09-20), quote only */
	struct nacre_tdx_policy p = policy_at(1884643200 /* 2029-09-21 */,
					      true);
	struct nacre_tdx_result r;
	nacre_tdx_verify(v4.p, v4.n, NULL, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_PCK_CHAIN, "time: after the PCK "
	      "certificate expired");
	CHECK_HAS(r.message, "expired", "time: says expired");
	p.now = 1661990400; /* 2022-09-01 */
	nacre_tdx_verify(v4.p, v4.n, NULL, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_PCK_CHAIN, "time: before the PCK "
	      "certificate's notBefore");
}

static void
test_policy(void)
{
	struct nacre_tdx_policy p = policy_at(T_V4, true);
	struct nacre_tdx_result r;
	struct nacre_tdx_quote q;
	uint8_t other[48] = { 1 }, mrtds[2][48], rd[64];
	enum nacre_tdx_status st;
	char err[512];

	nacre_tdx_quote_parse(v4.p, v4.n, &q, &st, err, sizeof(err));
	memset(mrtds, 0xaa, sizeof(mrtds));
	memcpy(mrtds[1], q.td.mrtd, 48);
	p.mrtd = (const uint8_t (*)[48])mrtds;
	p.nmrtd = 2;
	p.rtmr[0] = q.td.rtmr[0];
	p.rtmr[3] = q.td.rtmr[3];
	p.mrconfigid = q.td.mrconfigid;
	p.mrowner = q.td.mrowner;
	p.report_data = q.td.report_data;
	nacre_tdx_verify(v4.p, v4.n, NULL, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_OK, "policy: MRTD (second of two), RTMR0, "
	      "RTMR3, MRCONFIGID, MROWNER, REPORTDATA all match");

	p.nmrtd = 1;
	nacre_tdx_verify(v4.p, v4.n, NULL, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_MRTD, "policy: MRTD not in the list");
	CHECK_HAS(r.message, "6363b804", "policy: MRTD message shows the value");
	p.nmrtd = 2;
	p.rtmr[2] = other;
	nacre_tdx_verify(v4.p, v4.n, NULL, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_RTMR, "policy: RTMR2 differs");
	CHECK_HAS(r.message, "RTMR2", "policy: names RTMR2");
	p.rtmr[2] = NULL;
	p.mrconfigid = other;
	nacre_tdx_verify(v4.p, v4.n, NULL, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_MRCONFIGID, "policy: MRCONFIGID differs");
	p.mrconfigid = NULL;
	p.mrowner = other;
	nacre_tdx_verify(v4.p, v4.n, NULL, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_MROWNER, "policy: MROWNER differs");
	p.mrowner = NULL;
	memcpy(rd, q.td.report_data, 64);
	rd[63] ^= 1;
	p.report_data = rd;
	nacre_tdx_verify(v4.p, v4.n, NULL, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_REPORT_DATA, "policy: REPORTDATA "
	      "differs");
	CHECK(!(q.td.td_attributes[0] & 1), "policy: the real TD is not a "
	      "debug TD (TDATTRIBUTES bit 0 clear)");
}

/* ---------------------------------------------------------------------- */

static void
test_malformed(void)
{
	struct nacre_tdx_quote q;
	enum nacre_tdx_status st;
	char err[512];
	bool all = true;
	uint8_t *b;

	/* every prefix of the quote, each in a buffer of exactly its size */
	for (size_t n = 0; n < 4935 && all; n++) {
		b = malloc(n ? n : 1);
		memcpy(b, v4.p, n);
		if (nacre_tdx_quote_parse(b, n, &q, &st, err, sizeof(err)) == 0 ||
		    st != NACRE_TDX_E_MALFORMED || !err[0]) {
			printf("# prefix %zu: %s\n", n, err);
			all = false;
		}
		free(b);
	}
	CHECK(all, "truncated: every prefix of the v4 quote is malformed");
	all = true;
	for (size_t n = 0; n < v5.n && all; n += 7) {
		b = malloc(n ? n : 1);
		memcpy(b, v5.p, n);
		all = nacre_tdx_quote_parse(b, n, &q, &st, err, sizeof(err)) < 0;
		free(b);
	}
	CHECK(all, "truncated: prefixes of the v5 quote are malformed");

	struct nacre_tdx_policy p = policy_at(T_V4, true);
	struct nacre_tdx_result r;
	b = malloc(1000);
	memcpy(b, v4.p, 1000);
	nacre_tdx_verify(b, 1000, NULL, &p, NULL, &r);
	free(b);
	CHECK(r.status == NACRE_TDX_E_MALFORMED, "truncated: verify says "
	      "malformed");
	CHECK_HAS(r.message, "truncated quote", "truncated: message");

	b = malloc(v4.n);
	memcpy(b, v4.p, v4.n);
	b[0] = 3;
	CHECK(nacre_tdx_quote_parse(b, v4.n, &q, &st, err, sizeof(err)) < 0 &&
	      st == NACRE_TDX_E_UNSUPPORTED, "version 3 is unsupported");
	CHECK_HAS(err, "quote version 3", "version message");
	b[0] = 4;
	b[2] = 3;
	CHECK(nacre_tdx_quote_parse(b, v4.n, &q, &st, err, sizeof(err)) < 0 &&
	      st == NACRE_TDX_E_UNSUPPORTED, "key type 3 is unsupported");
	b[2] = 2;
	b[4] = 0;
	CHECK(nacre_tdx_quote_parse(b, v4.n, &q, &st, err, sizeof(err)) < 0 &&
	      st == NACRE_TDX_E_UNSUPPORTED, "TEE type 0 (SGX) is unsupported");
	CHECK_HAS(err, "SGX", "TEE type message");
	b[4] = 0x81;
	b[632] ^= 0x01;		/* signature data length 4299 -> 4298 */
	CHECK(nacre_tdx_quote_parse(b, v4.n, &q, &st, err, sizeof(err)) < 0 &&
	      st == NACRE_TDX_E_MALFORMED, "a wrong signature data length is "
	      "malformed");
	b[632] ^= 0x01;
	b[764] = 5;		/* certification data type 6 -> 5 */
	CHECK(nacre_tdx_quote_parse(b, v4.n, &q, &st, err, sizeof(err)) < 0 &&
	      st == NACRE_TDX_E_UNSUPPORTED, "certification data type 5 at the "
	      "top is unsupported");
	free(b);

	b = malloc(v5.n);
	memcpy(b, v5.p, v5.n);
	b[48] = 1;
	CHECK(nacre_tdx_quote_parse(b, v5.n, &q, &st, err, sizeof(err)) < 0 &&
	      st == NACRE_TDX_E_UNSUPPORTED, "v5 body type 1 (SGX) is "
	      "unsupported");
	b[48] = 2;
	CHECK(nacre_tdx_quote_parse(b, v5.n, &q, &st, err, sizeof(err)) < 0 &&
	      st == NACRE_TDX_E_MALFORMED, "v5 body type 2 with size 648 is "
	      "malformed");
	free(b);

	struct nacre_tdx_tcb_info *t;
	CHECK(nacre_tdx_tcb_info_parse((const char *)tcb.p, tcb.n - 5, &t,
				       err, sizeof(err)) < 0,
	      "truncated TCB Info does not parse");
	CHECK(nacre_tdx_tcb_info_parse((const char *)qeid.p, qeid.n, &t, err,
				       sizeof(err)) < 0,
	      "a QE Identity is not a TCB Info");
	time_t tt;
	CHECK(nacre_tdx_parse_time("2023-06-18T08:42:58Z", &tt) == 0 &&
	      tt == 1687077778 &&
	      nacre_tdx_parse_time("2023-06-18T08:42:58", &tt) < 0 &&
	      nacre_tdx_parse_time("2023-06-18 08:42:58Z", &tt) < 0 &&
	      nacre_tdx_parse_time("2023-6-018T08:42:58Z", &tt) < 0,
	      "PCS times parse strictly");
}

/* ---------------------------------------------------------------------- */
/* TCB levels made here (not signed; nacre_tdx_tcb_evaluate does not need
 * the signature) against the real v4 platform: PCK SGX components
 * 3,3,2,2,2,1,0,2,0.., PCESVN 11, TEE_TCB_SVN 03 00 04 00.. */

static char *
level(const char *sgx, int pcesvn, const char *tdx, const char *status)
{
	static char buf[4][1400];
	static int i;
	char *o = buf[i++ % 4], comps[2][600];
	const char *src[2] = { sgx, tdx };

	for (int k = 0; k < 2; k++) {
		int v[16] = { 0 }, n = 0;
		char *w = comps[k];
		sscanf(src[k], "%d,%d,%d,%d,%d,%d,%d,%d", &v[0], &v[1], &v[2],
		       &v[3], &v[4], &v[5], &v[6], &v[7]);
		w += sprintf(w, "[");
		for (int j = 0; j < 16; j++)
			w += sprintf(w, "%s{\"svn\":%d}", j ? "," : "", v[j]);
		sprintf(w, "]");
		(void)n;
	}
	snprintf(o, 1400, "{\"tcb\":{\"sgxtcbcomponents\":%s,\"pcesvn\":%d,"
		 "\"tdxtcbcomponents\":%s},\"tcbDate\":\"2023-02-15T00:00:00Z\","
		 "\"tcbStatus\":\"%s\",\"advisoryIDs\":[\"INTEL-SA-00001\"]}",
		 comps[0], pcesvn, comps[1], status);
	return o;
}

static int
eval_levels(const char *levels, struct nacre_tdx_tcb_eval *ev,
	    enum nacre_tdx_status *st, char *err, size_t errlen)
{
	static const char z96[] = "000000000000000000000000000000000000000000"
		"000000000000000000000000000000000000000000000000000000";
	char *json = malloc(8192);
	struct nacre_tdx_tcb_info *t = NULL;
	struct nacre_tdx_quote q;
	struct nacre_tdx_pck_ext e;
	STACK_OF(X509) *chain = NULL;
	int rc = -1;

	snprintf(json, 8192, "{\"tcbInfo\":{\"id\":\"TDX\",\"version\":3,"
		 "\"issueDate\":\"2023-06-18T08:42:58Z\",\"nextUpdate\":"
		 "\"2023-07-18T08:42:58Z\",\"fmspc\":\"50806f000000\","
		 "\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":"
		 "15,\"tdxModule\":{\"mrsigner\":\"%s\",\"attributes\":"
		 "\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},"
		 "\"tcbLevels\":[%s]},\"signature\":\"%0128d\"}", z96, levels,
		 0);
	nacre_tdx_quote_parse(v4.p, v4.n, &q, st, err, errlen);
	if (nacre_tdx_tcb_info_parse(json, strlen(json), &t, err, errlen) == 0 &&
	    nacre_tdx_pem_certs(q.pck_pem, q.pck_pem_len, &chain, 8, err,
				errlen) == 0 &&
	    nacre_tdx_pck_ext_parse(sk_X509_value(chain, 0), &e, err,
				    errlen) == 0)
		rc = nacre_tdx_tcb_evaluate(t, &e, &q.td, ev, st, err, errlen);
	else
		printf("# %s\n", err);
	sk_X509_pop_free(chain, X509_free);
	nacre_tdx_tcb_info_free(t);
	free(json);
	return rc;
}

static void
test_tcb_levels(void)
{
	struct nacre_tdx_tcb_eval ev;
	enum nacre_tdx_status st;
	char err[512], lv[3000];

	/* Intel's recorded levels (5,5,2,2,3,1,0,3 / 3,0,5), then ours */
	snprintf(lv, sizeof(lv), "%s,%s",
		 level("5,5,2,2,3,1,0,3", 11, "3,0,5", "UpToDate"),
		 level("3,3,2,2,2,1,0,2", 11, "3,0,4", "OutOfDate"));
	CHECK(eval_levels(lv, &ev, &st, err, sizeof(err)) == 0 &&
	      ev.platform == NACRE_TDX_TCB_OUT_OF_DATE,
	      "TCB: below the UpToDate level, at an OutOfDate one: OutOfDate");
	CHECK_STR(ev.advisories, "INTEL-SA-00001", "TCB: advisories kept");

	snprintf(lv, sizeof(lv), "%s,%s",
		 level("5,5,2,2,3,1,0,3", 11, "3,0,5", "UpToDate"),
		 level("3,3,2,2,2,1,0,2", 11, "3,0,4", "Revoked"));
	CHECK(eval_levels(lv, &ev, &st, err, sizeof(err)) == 0 &&
	      ev.platform == NACRE_TDX_TCB_REVOKED, "TCB: a Revoked level");

	snprintf(lv, sizeof(lv), "%s",
		 level("3,3,2,2,2,1,0,2", 11, "3,0,4", "UpToDate"));
	CHECK(eval_levels(lv, &ev, &st, err, sizeof(err)) == 0 &&
	      ev.platform == NACRE_TDX_TCB_UP_TO_DATE,
	      "TCB: exactly at the UpToDate level");

	/* SGX side matches level 1, TDX side only level 2 */
	snprintf(lv, sizeof(lv), "%s,%s",
		 level("3,3,2,2,2,1,0,2", 11, "3,0,5", "UpToDate"),
		 level("3,3,2,2,2,1,0,2", 5, "3,0,4",
		       "ConfigurationNeeded"));
	CHECK(eval_levels(lv, &ev, &st, err, sizeof(err)) == 0 &&
	      ev.platform == NACRE_TDX_TCB_CONFIGURATION_NEEDED,
	      "TCB: TEE_TCB_SVN below level 1 falls to level 2");

	snprintf(lv, sizeof(lv), "%s",
		 level("3,3,2,2,2,1,0,2", 12, "3,0,4", "UpToDate"));
	CHECK(eval_levels(lv, &ev, &st, err, sizeof(err)) < 0 &&
	      st == NACRE_TDX_E_TCB_NOT_FOUND, "TCB: PCESVN below every level");
	CHECK_HAS(err, "PCESVN is 11", "TCB: names PCESVN");

	CHECK(nacre_tdx_tcb_converge(NACRE_TDX_TCB_UP_TO_DATE,
				     NACRE_TDX_TCB_OUT_OF_DATE) ==
	      NACRE_TDX_TCB_OUT_OF_DATE &&
	      nacre_tdx_tcb_converge(NACRE_TDX_TCB_CONFIGURATION_NEEDED,
				     NACRE_TDX_TCB_OUT_OF_DATE) ==
	      NACRE_TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED &&
	      nacre_tdx_tcb_converge(NACRE_TDX_TCB_SW_HARDENING_NEEDED,
				     NACRE_TDX_TCB_CONFIGURATION_NEEDED) ==
	      NACRE_TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED &&
	      nacre_tdx_tcb_converge(NACRE_TDX_TCB_UP_TO_DATE,
				     NACRE_TDX_TCB_REVOKED) ==
	      NACRE_TDX_TCB_REVOKED &&
	      nacre_tdx_tcb_converge(NACRE_TDX_TCB_UP_TO_DATE,
				     NACRE_TDX_TCB_UP_TO_DATE) ==
	      NACRE_TDX_TCB_UP_TO_DATE, "TCB: statuses converge as in QVL");
	CHECK_STR(nacre_tdx_tcb_status_name(
			  NACRE_TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED),
		  "OutOfDateConfigurationNeeded", "TCB: PCS status names");
}

static void
test_qe_identity(void)
{
	struct nacre_tdx_qe_identity *qi = NULL;
	struct nacre_tdx_quote q;
	enum nacre_tdx_status st;
	enum nacre_tdx_tcb_status s;
	char err[512];

	nacre_tdx_quote_parse(v4.p, v4.n, &q, &st, err, sizeof(err));
	CHECK(nacre_tdx_qe_identity_parse((const char *)qeid.p, qeid.n, &qi,
					  err, sizeof(err)) == 0,
	      "QE identity parses");
	if (!qi)
		return;
	CHECK(nacre_tdx_qe_identity_evaluate(qi, &q.qe_report, &s, err,
					     sizeof(err)) == 0 &&
	      s == NACRE_TDX_TCB_UP_TO_DATE, "QE identity: the real QE matches");
	q.qe_report.isvsvn = 3;
	CHECK(nacre_tdx_qe_identity_evaluate(qi, &q.qe_report, &s, err,
					     sizeof(err)) == 0 &&
	      s == NACRE_TDX_TCB_OUT_OF_DATE, "QE identity: ISVSVN below every "
	      "level is OutOfDate");
	q.qe_report.attributes[0] |= 0x02;	/* DEBUG */
	CHECK(nacre_tdx_qe_identity_evaluate(qi, &q.qe_report, &s, err,
					     sizeof(err)) < 0,
	      "QE identity: a debug QE does not match the attributes");
	CHECK_HAS(err, "ATTRIBUTES byte 0", "QE identity: names the byte");
	q.qe_report.attributes[0] &= (uint8_t)~0x02;
	q.qe_report.isvprodid = 1;
	CHECK(nacre_tdx_qe_identity_evaluate(qi, &q.qe_report, &s, err,
					     sizeof(err)) < 0,
	      "QE identity: another ISVPRODID does not match");
	q.qe_report.mrsigner[0] ^= 1;
	CHECK(nacre_tdx_qe_identity_evaluate(qi, &q.qe_report, &s, err,
					     sizeof(err)) < 0,
	      "QE identity: another MRSIGNER does not match");
	CHECK_HAS(err, "MRSIGNER", "QE identity: names MRSIGNER");
	nacre_tdx_qe_identity_free(qi);
}

int
main(void)
{
	FILE *f;

	v4 = slurp(VEC "quote_v4_tdx_prod_SPR_E4.dat");
	v5 = slurp(VEC "quote_v5_sample.dat");
	tcb = slurp(COL "tcbinfo_fmspc_50806f000000.json");
	tcb5 = slurp(COL "tcbinfo_v5_fmspc_90c06f000000.json");
	qeid = slurp(COL "qe_identity_td_qe.json");
	tcb_chain = slurp(COL "tcbinfo_issuer_chain.pem");
	qe_chain = slurp(COL "qe_identity_issuer_chain.pem");
	root_crl = slurp(COL "root_ca_crl.der");
	pck_crl = slurp(COL "pck_platform_crl.der");
	if (!(f = fopen(COL "intel_sgx_root_ca.pem", "r")) ||
	    !(intel_root = PEM_read_X509(f, NULL, NULL, NULL)))
		return 2;
	fclose(f);

	test_parse_v4();
	test_parse_v5();
	test_v4_verify();
	test_v5_verify();
	test_flips();
	test_collateral_flips();
	test_times();
	test_policy();
	test_malformed();
	test_tcb_levels();
	test_qe_identity();

	X509_free(intel_root);
	struct blob *all[] = { &v4, &v5, &tcb, &tcb5, &qeid, &tcb_chain,
			       &qe_chain, &root_crl, &pck_crl };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		free(all[i]->p);
	TAP_DONE();
}
