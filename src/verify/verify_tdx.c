/*
 * verify_tdx.c: Intel TDX evidence in a certificate
 * (docs/evidence-format.md 9.5): the envelope and its claims, the quote
 * through nacre_tdx_verify (PCK chain to a root the policy trusts, QE
 * report, quote signature, the policy's collateral and TCB statuses), the
 * REPORTDATA binding to the certificate's key, then the policy's
 * measurements, debug bit and "iat" age. Every internal status maps to one
 * public code; the message keeps its name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attest.h"
#include "libnacre.h"
#include "nacred.h"
#include "policy_int.h"
#include "tdx.h"
#include "tee_evidence.h"

#define CHAIN_MAX 8

static enum nacre_verify_status
public_status(enum nacre_tdx_status st)
{
	switch (st) {
	case NACRE_TDX_OK:
		return NACRE_OK;
	case NACRE_TDX_E_MALFORMED:
		return NACRE_E_DOC_MALFORMED;
	case NACRE_TDX_E_UNSUPPORTED:
		return NACRE_E_UNSUPPORTED;
	case NACRE_TDX_E_PCK_CHAIN:
	case NACRE_TDX_E_PCK_EXTENSION:
		return NACRE_E_CHAIN;
	case NACRE_TDX_E_UNTRUSTED_ROOT:
		return NACRE_E_UNTRUSTED_ROOT;
	case NACRE_TDX_E_CRL:
	case NACRE_TDX_E_NO_COLLATERAL:
	case NACRE_TDX_E_COLLATERAL_MALFORMED:
	case NACRE_TDX_E_TCB_SIGNING_CHAIN:
	case NACRE_TDX_E_TCB_INFO_SIGNATURE:
	case NACRE_TDX_E_QE_IDENTITY_SIGNATURE:
	case NACRE_TDX_E_COLLATERAL_FUTURE:
	case NACRE_TDX_E_COLLATERAL_EXPIRED:
	case NACRE_TDX_E_COLLATERAL_TOO_OLD:
	case NACRE_TDX_E_FMSPC:
		return NACRE_E_COLLATERAL;
	case NACRE_TDX_E_CERT_REVOKED:
	case NACRE_TDX_E_QE_IDENTITY:
	case NACRE_TDX_E_TDX_MODULE:
	case NACRE_TDX_E_TCB_NOT_FOUND:
	case NACRE_TDX_E_TCB_STATUS:
		return NACRE_E_TCB;
	case NACRE_TDX_E_QE_REPORT_SIGNATURE:
	case NACRE_TDX_E_QE_BINDING:
	case NACRE_TDX_E_QUOTE_SIGNATURE:
		return NACRE_E_SIGNATURE;
	case NACRE_TDX_E_DEBUG:
		return NACRE_E_DEBUG;
	case NACRE_TDX_E_MRTD:
	case NACRE_TDX_E_RTMR:
	case NACRE_TDX_E_MRCONFIGID:
	case NACRE_TDX_E_MROWNER:
		return NACRE_E_MEASUREMENT;
	case NACRE_TDX_E_REPORT_DATA:
		return NACRE_E_BINDING;
	default:
		return NACRE_E_INTERNAL;
	}
}

/* the public code of st, the message naming the TDX check */
static int
fail(struct nacre_result *r, enum nacre_tdx_status st, const char *msg)
{
	return nacre_vset(r, public_status(st), "TDX %s: %s",
			  nacre_tdx_status_name(st), msg);
}

static bool
der_sha256(X509 *x, uint8_t h[32])
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	bool ok = n > 0 && EVP_Digest(der, (size_t)n, h, NULL, EVP_sha256(),
				      NULL) == 1;

	OPENSSL_free(der);
	return ok;
}

struct tdx_run {
	const struct nacre_policy *p;
	struct nacre_result *r;
	struct nacre_tee_facts *f;
	struct nacre_tdx_quote q;
	STACK_OF(X509) *chain;   /* the quote's PCK chain, when it parses */
	struct nacre_tdx_pck_ext ext;
	bool has_ext;
};

/* The anchor for the quote's chain: a root the policy names by file that
 * is in the chain (byte for byte) or, when the chain ends below a root,
 * that issued its last certificate; else Intel's (nacre_tdx_verify finds
 * it in the chain by its SHA-256). -1: none the policy trusts (r set). */
static int
pick_root(struct tdx_run *u, X509 **root)
{
	const struct nacre_policy_tdx *t = &u->p->tdx;
	int n = sk_X509_num(u->chain);
	X509 *last = n > 0 ? sk_X509_value(u->chain, n - 1) : NULL;
	bool self_issued = last && X509_NAME_cmp(X509_get_subject_name(last),
						 X509_get_issuer_name(last)) == 0;
	uint8_t h[32];

	*root = NULL;
	for (size_t i = 0; !*root && i < t->nroots; i++)
		for (int k = 0; !*root && k < n; k++)
			if (X509_cmp(sk_X509_value(u->chain, k), t->roots[i]) == 0)
				*root = t->roots[i];
	for (size_t i = 0; !*root && last && !self_issued && i < t->nroots; i++)
		if (X509_NAME_cmp(X509_get_issuer_name(last),
				  X509_get_subject_name(t->roots[i])) == 0)
			*root = t->roots[i];
	if (*root) {
		if (der_sha256(*root, h))
			nacre_hex_encode(h, 32, u->r->root_sha256_hex);
		return 0;
	}
	if (t->intel_root) {
		snprintf(u->r->root_sha256_hex, sizeof(u->r->root_sha256_hex),
			 "%s", NACRE_TDX_INTEL_ROOT_SHA256);
		return 0;
	}
	if (last && der_sha256(last, h))
		nacre_hex_encode(h, 32, u->r->root_sha256_hex);
	nacre_vset(u->r, NACRE_E_UNTRUSTED_ROOT, "TDX %s: the quote's PCK chain "
		   "leads to a root (last certificate SHA-256 %s) that this "
		   "policy does not trust; add \"intel-sgx\" to tdx.roots for "
		   "real Intel platforms, or the root's certificate file for "
		   "a simulated one (development only).",
		   nacre_tdx_status_name(NACRE_TDX_E_UNTRUSTED_ROOT),
		   u->r->root_sha256_hex);
	return -1;
}

/* The policy's collateral, with the TCB Info of the PCK's FMSPC when the
 * directory holds several (else the first: nacre_tdx_verify then says
 * fmspc-mismatch). false when the policy has none. */
static bool
collateral(struct tdx_run *u, struct nacre_tdx_collateral *c)
{
	const struct nacre_policy_tdx *t = &u->p->tdx;
	const struct nacre_blob *tcb = &t->tcb_info[0];
	char err[NACRE_ERRLEN];

	if (!t->ntcb_info)
		return false;
	for (size_t i = 0; u->has_ext && i < t->ntcb_info; i++) {
		struct nacre_tdx_tcb_info *ti = NULL;
		bool match = nacre_tdx_tcb_info_parse((const char *)
						      t->tcb_info[i].data,
						      t->tcb_info[i].len, &ti,
						      err, sizeof(err)) == 0 &&
			     nacre_tdx_tcb_info_match_platform(ti, &u->ext, err,
							       sizeof(err)) == 0;
		nacre_tdx_tcb_info_free(ti);
		if (match) {
			tcb = &t->tcb_info[i];
			break;
		}
	}
	*c = (struct nacre_tdx_collateral){
		.tcb_info = (const char *)tcb->data,
		.tcb_info_len = tcb->len,
		.tcb_info_chain = (const char *)t->tcb_chain.data,
		.tcb_info_chain_len = t->tcb_chain.len,
		.qe_identity = (const char *)t->qe_identity.data,
		.qe_identity_len = t->qe_identity.len,
		.qe_identity_chain = (const char *)t->qe_chain.data,
		.qe_identity_chain_len = t->qe_chain.len,
		.root_ca_crl = t->root_crl.data,
		.root_ca_crl_len = t->root_crl.len,
		.pck_crl = t->pck_crl.data,
		.pck_crl_len = t->pck_crl.len,
	};
	return true;
}

/* the quote's chain and PCK extension, read ahead for the root and the
 * TCB Info; failures are left to nacre_tdx_verify to report */
static void
read_ahead(struct tdx_run *u, const uint8_t *quote, size_t len)
{
	enum nacre_tdx_status st;
	char err[NACRE_ERRLEN];

	if (nacre_tdx_quote_parse(quote, len, &u->q, &st, err,
				  sizeof(err)) < 0 ||
	    nacre_tdx_pem_certs(u->q.pck_pem, u->q.pck_pem_len, &u->chain,
				CHAIN_MAX, err, sizeof(err)) < 0)
		return;
	u->has_ext = nacre_tdx_pck_ext_parse(sk_X509_value(u->chain, 0),
					     &u->ext, err, sizeof(err)) == 0;
}

static void
facts(struct tdx_run *u, const struct nacre_tdx_result *tr)
{
	const struct nacre_tdx_td_body *td = &u->q.td;
	struct nacre_tee_facts *f = u->f;
	const uint8_t *vals[7] = { td->mrtd, td->rtmr[0], td->rtmr[1],
				   td->rtmr[2], td->rtmr[3], td->mrconfigid,
				   td->mrowner };
	const char *rel;

	f->decoded = true;
	memcpy(f->mrtd, td->mrtd, 48);
	memcpy(f->rtmr, td->rtmr, sizeof(f->rtmr));
	memcpy(f->mrconfigid, td->mrconfigid, 48);
	memcpy(f->mrowner, td->mrowner, 48);
	memcpy(f->td_attributes, td->td_attributes, 8);
	if (tr->collateral_checked)
		snprintf(f->tcb_status, sizeof(f->tcb_status), "%s",
			 nacre_tdx_tcb_status_name(tr->tcb_status));
	if ((rel = nacre_manifest_match_tdx(u->p, vals)))
		snprintf(f->release, sizeof(f->release), "%s", rel);
	u->r->debug = td->td_attributes[0] & 1;
}

/* one measurement against its allowed set (empty: not checked) */
static int
measurement(struct nacre_result *r, enum nacre_tdx_status st,
	    const char *field, const char *key, const uint8_t *got,
	    const struct nacre_vals *want)
{
	char g[97], list[300];

	if (want->n == 0 || nacre_vals_has(want, got))
		return NACRE_OK;
	nacre_hex_encode(got, 48, g);
	nacre_vlist(want->v, want->n, 48, list, sizeof(list));
	return nacre_vset(r, NACRE_E_MEASUREMENT, "TDX %s: %s is %s, the policy "
			  "expects one of: %s; the TD runs other code or "
			  "configuration than allowed (update tdx.%s, or add a "
			  "release manifest, if this build is yours).",
			  nacre_tdx_status_name(st), field, g, list, key);
}

static int
check_policy(struct tdx_run *u)
{
	const struct nacre_policy_tdx *t = &u->p->tdx;
	const struct nacre_tdx_td_body *td = &u->q.td;
	static const char *const rtmr[4][2] = { { "RTMR0", "rtmr0" },
		{ "RTMR1", "rtmr1" }, { "RTMR2", "rtmr2" }, { "RTMR3", "rtmr3" } };
	struct nacre_result *r = u->r;
	int st;

	if ((td->td_attributes[0] & 1) && !t->allow_debug)
		return nacre_vset(r, NACRE_E_DEBUG, "TDX %s: the TD runs in "
				  "debug mode (TDATTRIBUTES.DEBUG), so its host "
				  "can read and change its memory; set "
				  "tdx.allow_debug = true only for development.",
				  nacre_tdx_status_name(NACRE_TDX_E_DEBUG));
	if ((st = measurement(r, NACRE_TDX_E_MRTD, "MRTD", "mrtd", td->mrtd,
			      &t->mrtd)))
		return st;
	for (int i = 0; i < 4; i++)
		if ((st = measurement(r, NACRE_TDX_E_RTMR, rtmr[i][0],
				      rtmr[i][1], td->rtmr[i], &t->rtmr[i])))
			return st;
	if ((st = measurement(r, NACRE_TDX_E_MRCONFIGID, "MRCONFIGID",
			      "mrconfigid", td->mrconfigid, &t->mrconfigid)) ||
	    (st = measurement(r, NACRE_TDX_E_MROWNER, "MROWNER", "mrowner",
			      td->mrowner, &t->mrowner)))
		return st;
	if ((st = nacre_vcheck_age(u->p, r, "TDX evidence (its claims' "
				   "\"iat\")")))
		return st;
	if (!nacre_policy_pins_platform(u->p, NACRE_PLATFORM_TDX) &&
	    !nacre_policy_allows_any_code(u->p))
		return nacre_vset(r, NACRE_E_POLICY_UNPINNED, "The TDX evidence "
				  "is genuine, but the policy pins no TD code, "
				  "so any TD under its roots would pass: add "
				  "tdx.mrtd (and the RTMRs), a release "
				  "manifest, or allow_any_code = true to accept "
				  "any TD.");
	return NACRE_OK;
}

/* envelope and claims (9.2, 5); the claims must carry "iat" (9.4) */
int
nacre_tee_read(const char *platform, const uint8_t *ev, size_t len,
	       struct nacre_tee_envelope *e, struct nacre_result *r)
{
	struct nacre_claims cl;
	char err[NACRE_ERRLEN];
	bool iat;

	if (nacre_tee_envelope_decode(ev, len, e, err, sizeof(err)) < 0)
		return nacre_vset(r, NACRE_E_EVIDENCE_MALFORMED, "The %s "
				  "evidence is malformed (%s); reject this "
				  "server.", platform, err);
	if (nacre_vclaims(e->claims, e->claims_len, r, &cl, err,
			  sizeof(err)) < 0)
		return nacre_vset(r, NACRE_E_EVIDENCE_MALFORMED, "The %s "
				  "evidence's claims (envelope key 2) are "
				  "malformed (%s); reject this server.",
				  platform, err);
	iat = cl.has_iat;
	r->timestamp_ms = cl.iat_ms;
	nacre_claims_free(&cl);
	if (!iat)
		return nacre_vset(r, NACRE_E_EVIDENCE_MALFORMED, "The %s "
				  "evidence's claims carry no \"iat\" (the "
				  "guest's time of signing, required on TDX "
				  "and SEV-SNP, whose evidence has no time of "
				  "its own); reject this server.", platform);
	return NACRE_OK;
}

/* REPORTDATA == SHA-512 over the SPKI and the claims (9.3) */
int
nacre_tee_binding(const char *platform, const char *check,
		  const struct nacre_tee_envelope *e, const uint8_t *spki,
		  size_t spki_len, const uint8_t got[64],
		  struct nacre_result *r)
{
	uint8_t want[64];

	if (!spki)
		return NACRE_OK;
	if (nacre_report_data(spki, spki_len, e->claims, e->claims_len,
			      want) < 0)
		return nacre_vset(r, NACRE_E_INTERNAL, "Cannot compute the "
				  "REPORTDATA binding (SHA-512).");
	if (memcmp(want, got, 64) != 0)
		return nacre_vset(r, NACRE_E_BINDING, "%s %s: the evidence's "
				  "report data is not SHA-512 of this "
				  "certificate's key and the envelope's claims: "
				  "it was made for another key (copied from "
				  "another certificate) or its claims were "
				  "altered; reject this server.", platform,
				  check);
	return NACRE_OK;
}

int
nacre_verify_tdx(const uint8_t *ev, size_t len, const uint8_t *spki,
		 size_t spki_len, const struct nacre_policy *p,
		 struct nacre_result *r, struct nacre_tee_facts *f)
{
	struct tdx_run u = { .p = p, .r = r, .f = f };
	struct nacre_tdx_collateral c;
	struct nacre_tdx_policy tp = { 0 };
	struct nacre_tdx_result *tr;
	struct nacre_tee_envelope e;
	char m[24], rel[96] = "";
	X509 *root;
	int st;

	if ((st = nacre_tee_read("TDX", ev, len, &e, r)))
		return st;
	if (!(tr = calloc(1, sizeof(*tr))))
		return nacre_vset(r, NACRE_E_INTERNAL, "Out of memory.");
	read_ahead(&u, e.evidence, e.evidence_len);
	if (u.chain && pick_root(&u, &root) < 0) {
		st = r->status;
		goto out;
	}
	tp.root = u.chain ? root : NULL;
	tp.now = nacre_policy_now(p);
	tp.accept_tcb = p->tdx.accept_tcb;
	tp.max_collateral_age = p->tdx.max_collateral_age_s;
	tp.allow_debug = true; /* checked below, after the binding */
	if (!collateral(&u, &c)) {
		nacre_tdx_verify(e.evidence, e.evidence_len, NULL, &tp, &u.q,
				 tr);
		if (tr->status == NACRE_TDX_E_NO_COLLATERAL) {
			st = nacre_vset(r, NACRE_E_COLLATERAL, "TDX %s: the "
					"policy gives no collateral, so the "
					"platform's TCB cannot be judged; set "
					"tdx.collateral to a directory of "
					"Intel PCS files (TCB Info, QE "
					"Identity, issuer chains, CRLs).",
					nacre_tdx_status_name(tr->status));
			goto out;
		}
	} else {
		nacre_tdx_verify(e.evidence, e.evidence_len, &c, &tp, &u.q, tr);
	}
	if (tr->status != NACRE_TDX_OK) {
		st = fail(r, tr->status, tr->message);
		goto out;
	}
	facts(&u, tr);
	if ((st = nacre_tee_binding("TDX", nacre_tdx_status_name(
					    NACRE_TDX_E_REPORT_DATA), &e, spki,
				    spki_len, u.q.td.report_data, r)) ||
	    (st = check_policy(&u)))
		goto out;
	nacre_short_hex(u.q.td.mrtd, 48, m);
	if (f->release[0])
		snprintf(rel, sizeof(rel), ", release %s", f->release);
	st = nacre_vset(r, NACRE_OK, "Valid Intel TDX evidence (MRTD %s, TCB "
			"%s%s) that %s and satisfies the policy.", m,
			f->tcb_status, rel, spki ? "binds the certificate's key" :
			"(no key was given, so its binding was not checked)");
out:
	sk_X509_pop_free(u.chain, X509_free);
	free(tr);
	return st;
}
