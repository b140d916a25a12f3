/*
 * tdx_verify.c: nacre_tdx_verify, the TDX quote checks in the order of
 * Intel's Quote Verification Library: quote parsed; PCK chain to the
 * pinned Intel SGX Root CA at the caller's time, with the CRLs when given;
 * the PCK extension; the QE report signed by the PCK key; the QE report
 * binding the attestation key; the quote signed by the attestation key;
 * then the collateral (TCB Signing chain, signatures, dates, FMSPC, QE
 * identity, TCB level, TDX module) and the policy (TCB status, age,
 * debug, MRTD, RTMRs, MRCONFIGID, MROWNER, REPORTDATA). The first failure
 * decides the status.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509_vfy.h>

#include "nacred.h"
#include "tdx.h"

#define CHAIN_MAX 8

static const char *const status_names[NACRE_TDX_NSTATUS] = {
	[NACRE_TDX_OK] = "ok",
	[NACRE_TDX_E_MALFORMED] = "quote-malformed",
	[NACRE_TDX_E_UNSUPPORTED] = "quote-unsupported",
	[NACRE_TDX_E_PCK_CHAIN] = "pck-chain-invalid",
	[NACRE_TDX_E_UNTRUSTED_ROOT] = "untrusted-root",
	[NACRE_TDX_E_CRL] = "crl-invalid",
	[NACRE_TDX_E_CERT_REVOKED] = "certificate-revoked",
	[NACRE_TDX_E_PCK_EXTENSION] = "pck-extension-invalid",
	[NACRE_TDX_E_QE_REPORT_SIGNATURE] = "qe-report-signature-invalid",
	[NACRE_TDX_E_QE_BINDING] = "qe-binding-mismatch",
	[NACRE_TDX_E_QUOTE_SIGNATURE] = "quote-signature-invalid",
	[NACRE_TDX_E_NO_COLLATERAL] = "no-collateral",
	[NACRE_TDX_E_COLLATERAL_MALFORMED] = "collateral-malformed",
	[NACRE_TDX_E_TCB_SIGNING_CHAIN] = "tcb-signing-chain-invalid",
	[NACRE_TDX_E_TCB_INFO_SIGNATURE] = "tcb-info-signature-invalid",
	[NACRE_TDX_E_QE_IDENTITY_SIGNATURE] = "qe-identity-signature-invalid",
	[NACRE_TDX_E_COLLATERAL_FUTURE] = "collateral-from-future",
	[NACRE_TDX_E_COLLATERAL_EXPIRED] = "collateral-expired",
	[NACRE_TDX_E_COLLATERAL_TOO_OLD] = "collateral-too-old",
	[NACRE_TDX_E_FMSPC] = "fmspc-mismatch",
	[NACRE_TDX_E_QE_IDENTITY] = "qe-identity-mismatch",
	[NACRE_TDX_E_TDX_MODULE] = "tdx-module-mismatch",
	[NACRE_TDX_E_TCB_NOT_FOUND] = "tcb-level-not-found",
	[NACRE_TDX_E_TCB_STATUS] = "tcb-status-not-accepted",
	[NACRE_TDX_E_DEBUG] = "debug-td",
	[NACRE_TDX_E_MRTD] = "mrtd-mismatch",
	[NACRE_TDX_E_RTMR] = "rtmr-mismatch",
	[NACRE_TDX_E_MRCONFIGID] = "mrconfigid-mismatch",
	[NACRE_TDX_E_MROWNER] = "mrowner-mismatch",
	[NACRE_TDX_E_REPORT_DATA] = "report-data-mismatch",
	[NACRE_TDX_E_INTERNAL] = "internal-error",
};

const char *
nacre_tdx_status_name(enum nacre_tdx_status s)
{
	return (unsigned)s < NACRE_TDX_NSTATUS ? status_names[s] : "unknown";
}

static int set(struct nacre_tdx_result *r, enum nacre_tdx_status st,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
set(struct nacre_tdx_result *r, enum nacre_tdx_status st, const char *fmt,
    ...)
{
	va_list ap;

	r->status = st;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	return (int)st;
}

static void
utc(time_t t, char out[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(out, 32, "%lld", (long long)t);
}

/* ---------------------------------------------------------------------- */
/* Crypto (OpenSSL). */

/* P-256 key from the raw x || y */
static EVP_PKEY *
p256_key(const uint8_t xy[64])
{
	uint8_t pt[65] = { 0x04 };
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *ps = NULL;
	EVP_PKEY_CTX *c = NULL;
	EVP_PKEY *k = NULL;

	memcpy(pt + 1, xy, 64);
	if (b && OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
						 "prime256v1", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt,
					     sizeof(pt)) &&
	    (ps = OSSL_PARAM_BLD_to_param(b)) &&
	    (c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) &&
	    EVP_PKEY_fromdata_init(c) == 1 &&
	    EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, ps) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(ps);
	OSSL_PARAM_BLD_free(b);
	ERR_clear_error();
	return k;
}

/* ECDSA-SHA256 of data by key, signature raw r || s: 1 valid, 0 not */
static int
verify_rs(EVP_PKEY *key, const void *data, size_t len, const uint8_t rs[64])
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rs, 32, NULL), *s = BN_bin2bn(rs + 32, 32, NULL);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	int n, ok = 0;

	if (!sig || !r || !s || !md || ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	if ((n = i2d_ECDSA_SIG(sig, &der)) > 0 &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1)
		ok = EVP_DigestVerify(md, der, (size_t)n, data, len) == 1;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	ECDSA_SIG_free(sig);
	ERR_clear_error();
	return ok;
}

static bool
cert_is_root_hash(X509 *x, const char *hex)
{
	unsigned char *der = NULL;
	uint8_t h[32];
	char got[65];
	int n = i2d_X509(x, &der);
	bool ok = n > 0 && EVP_Digest(der, (size_t)n, h, NULL, EVP_sha256(),
				      NULL) == 1;

	OPENSSL_free(der);
	if (!ok)
		return false;
	nacre_hex_encode(h, 32, got);
	return strcmp(got, hex) == 0;
}

static bool
cn_is(X509 *x, const char *want)
{
	char cn[128];

	return X509_NAME_get_text_by_NID(X509_get_subject_name(x),
					 NID_commonName, cn, sizeof(cn)) > 0 &&
	       strcmp(cn, want) == 0;
}

static bool
crl_error(int e)
{
	switch (e) {
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE:
		return true;
	default:
		return false;
	}
}

/* leaf through certs[1..] to root at now; crls (may be NULL) with flags.
 * Returns NACRE_TDX_OK or chain_err / E_CRL / E_CERT_REVOKED with r set. */
static int
verify_chain(STACK_OF(X509) *certs, X509 *root, time_t now,
	     STACK_OF(X509_CRL) *crls, unsigned long flags,
	     enum nacre_tdx_status chain_err, const char *what,
	     struct nacre_tdx_result *r)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	char when[32], name[128] = "?";
	int rc = NACRE_TDX_E_INTERNAL;

	for (int i = 1; untrusted && i < sk_X509_num(certs); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(certs, i)))
			goto out;
	if (!store || !ctx || !untrusted || X509_STORE_add_cert(store, root) != 1 ||
	    X509_STORE_CTX_init(ctx, store, sk_X509_value(certs, 0),
				untrusted) != 1) {
		rc = set(r, NACRE_TDX_E_INTERNAL, "Out of memory while checking "
			 "the %s.", what);
		goto out;
	}
	X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(vp, now);
	X509_VERIFY_PARAM_set_flags(vp, flags | X509_V_FLAG_X509_STRICT);
	if (crls)
		X509_STORE_CTX_set0_crls(ctx, crls);
	if (X509_verify_cert(ctx) == 1) {
		rc = NACRE_TDX_OK;
		goto out;
	}
	int e = X509_STORE_CTX_get_error(ctx), depth =
		X509_STORE_CTX_get_error_depth(ctx);
	X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
	if (bad)
		X509_NAME_get_text_by_NID(X509_get_subject_name(bad),
					  NID_commonName, name, sizeof(name));
	utc(now, when);
	if (e == X509_V_ERR_CERT_REVOKED)
		rc = set(r, NACRE_TDX_E_CERT_REVOKED, "The %s is revoked: "
			 "\"%s\" is on Intel's CRL; reject this platform.",
			 what, name);
	else if (crl_error(e))
		rc = set(r, NACRE_TDX_E_CRL, "A CRL for the %s is not usable at "
			 "%s (%s, for \"%s\"); fetch current CRLs from Intel "
			 "PCS.", what, when, X509_verify_cert_error_string(e),
			 name);
	else
		rc = set(r, chain_err, "The %s does not verify at %s: %s "
			 "(certificate %d, \"%s\").", what, when,
			 X509_verify_cert_error_string(e), depth, name);
out:
	ERR_clear_error();
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

/* the caller's extra anchor, one DER certificate, or NULL */
static X509 *
trusted_root(const struct nacre_tdx_policy *p)
{
	const uint8_t *q = p->trusted_root;
	X509 *x;

	if (!q || p->trusted_root_len == 0 || p->trusted_root_len > 65536)
		return NULL;
	x = d2i_X509(NULL, &q, (long)p->trusted_root_len);
	if (x && q != p->trusted_root + p->trusted_root_len) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}

/* the trust anchor: the policy's, the Intel root found in certs, or the
 * policy's extra root */
static X509 *
pick_root(const struct nacre_tdx_policy *p, STACK_OF(X509) *certs)
{
	if (p->root) {
		X509_up_ref(p->root);
		return p->root;
	}
	for (int i = 0; certs && i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		if (cert_is_root_hash(x, NACRE_TDX_INTEL_ROOT_SHA256)) {
			X509_up_ref(x);
			return x;
		}
	}
	return trusted_root(p);
}

static X509_CRL *
load_crl(const uint8_t *der, size_t len)
{
	const uint8_t *p = der;
	X509_CRL *c = len && len < (1u << 24) ?
		d2i_X509_CRL(NULL, &p, (long)len) : NULL;

	if (c && p != der + len) {
		X509_CRL_free(c);
		c = NULL;
	}
	ERR_clear_error();
	return c;
}

/* ---------------------------------------------------------------------- */
/* The steps. */

struct run {
	const struct nacre_tdx_policy *p;
	const struct nacre_tdx_collateral *c;
	struct nacre_tdx_quote *q;
	struct nacre_tdx_result *r;
	time_t now;
	STACK_OF(X509) *pck_chain;
	X509 *root;
	X509_CRL *root_crl, *pck_crl;
	struct nacre_tdx_pck_ext ext;
	struct nacre_tdx_tcb_info *tcb;
	struct nacre_tdx_qe_identity *qe;
	char err[NACRE_ERRLEN];
};

static int
load_crls(struct run *u)
{
	const struct nacre_tdx_collateral *c = u->c;

	if (!c)
		return NACRE_TDX_OK;
	if (c->root_ca_crl && !(u->root_crl = load_crl(c->root_ca_crl,
						      c->root_ca_crl_len)))
		return set(u->r, NACRE_TDX_E_CRL, "The root CA CRL is not one "
			   "DER CRL; fetch it again from Intel PCS.");
	if (c->pck_crl && !(u->pck_crl = load_crl(c->pck_crl,
						  c->pck_crl_len)))
		return set(u->r, NACRE_TDX_E_CRL, "The PCK CRL is not one DER "
			   "CRL; fetch it again from Intel PCS.");
	return NACRE_TDX_OK;
}

/* both CRLs: every certificate of the chain; the PCK CRL alone: the leaf */
static int
check_pck_chain(struct run *u)
{
	STACK_OF(X509_CRL) *crls = NULL;
	unsigned long flags = 0;
	int rc;

	if (nacre_tdx_pem_certs(u->q->pck_pem, u->q->pck_pem_len,
				&u->pck_chain, CHAIN_MAX, u->err,
				sizeof(u->err)) < 0)
		return set(u->r, NACRE_TDX_E_PCK_CHAIN, "The quote's PCK "
			   "certificate chain does not parse: %s.", u->err);
	if (!cn_is(sk_X509_value(u->pck_chain, 0), "Intel SGX PCK Certificate"))
		return set(u->r, NACRE_TDX_E_PCK_CHAIN, "The first certificate "
			   "of the quote's chain is not an \"Intel SGX PCK "
			   "Certificate\".");
	if (!(u->root = pick_root(u->p, u->pck_chain)))
		return set(u->r, NACRE_TDX_E_UNTRUSTED_ROOT, "The quote's PCK "
			   "chain does not include the Intel SGX Root CA "
			   "(SHA-256 %s)%s; it was not issued by Intel, or give "
			   "the root to trust in the policy.",
			   NACRE_TDX_INTEL_ROOT_SHA256, u->p->trusted_root ?
			   " and the policy's trusted root is not one DER "
			   "certificate" : "");
	if (u->pck_crl) {
		if (!(crls = sk_X509_CRL_new_null()) ||
		    !sk_X509_CRL_push(crls, u->pck_crl) ||
		    (u->root_crl && !sk_X509_CRL_push(crls, u->root_crl))) {
			sk_X509_CRL_free(crls);
			return set(u->r, NACRE_TDX_E_INTERNAL, "Out of memory.");
		}
		flags = X509_V_FLAG_CRL_CHECK |
			(u->root_crl ? X509_V_FLAG_CRL_CHECK_ALL : 0);
	}
	rc = verify_chain(u->pck_chain, u->root, u->now, crls, flags,
			  NACRE_TDX_E_PCK_CHAIN, "PCK certificate chain", u->r);
	sk_X509_CRL_free(crls);
	return rc;
}

static int
check_quote_sigs(struct run *u)
{
	struct nacre_tdx_quote *q = u->q;
	uint8_t h[32];
	EVP_PKEY *k;
	int ok;

	if (nacre_tdx_pck_ext_parse(sk_X509_value(u->pck_chain, 0), &u->ext,
				    u->err, sizeof(u->err)) < 0)
		return set(u->r, NACRE_TDX_E_PCK_EXTENSION, "%s.", u->err);
	nacre_hex_encode(u->ext.fmspc, 6, u->r->fmspc_hex);
	k = X509_get0_pubkey(sk_X509_value(u->pck_chain, 0));
	if (!k || !verify_rs(k, q->qe_report_raw, NACRE_SGX_REPORT_LEN,
			     q->qe_report_sig))
		return set(u->r, NACRE_TDX_E_QE_REPORT_SIGNATURE, "The QE "
			   "report's signature does not verify with the PCK "
			   "certificate's key: the quote was not made on this "
			   "Intel platform or was altered.");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, q->att_key, 64) == 1 &&
	     EVP_DigestUpdate(md, q->qe_auth, q->qe_auth_len) == 1 &&
	     EVP_DigestFinal_ex(md, h, NULL) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return set(u->r, NACRE_TDX_E_INTERNAL, "SHA-256 failed.");
	static const uint8_t zero[32];
	if (memcmp(q->qe_report.report_data, h, 32) ||
	    memcmp(q->qe_report.report_data + 32, zero, 32))
		return set(u->r, NACRE_TDX_E_QE_BINDING, "The QE report does "
			   "not vouch for the attestation key: its REPORTDATA "
			   "is not SHA-256(attestation key || QE auth data) "
			   "followed by zeros.");
	if (!(k = p256_key(q->att_key)))
		return set(u->r, NACRE_TDX_E_QUOTE_SIGNATURE, "The quote's "
			   "attestation key is not a P-256 point.");
	ok = verify_rs(k, q->signed_data, q->signed_len, q->signature);
	EVP_PKEY_free(k);
	if (!ok)
		return set(u->r, NACRE_TDX_E_QUOTE_SIGNATURE, "The quote's "
			   "signature does not verify with its attestation "
			   "key: the TD report or header was altered.");
	return NACRE_TDX_OK;
}

/* a signed collateral document: chain to the root, signature, dates */
static int
check_signed(struct run *u, const struct nacre_tdx_signed *s,
	     const char *chain_pem, size_t chain_len, const char *what,
	     enum nacre_tdx_status sig_err)
{
	STACK_OF(X509) *certs = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	char a[32], b[32];
	int rc;

	if (!chain_pem)
		return set(u->r, NACRE_TDX_E_NO_COLLATERAL, "The %s came "
			   "without its issuer chain (the PCS response's "
			   "issuer-chain header); give it too.", what);
	if (nacre_tdx_pem_certs(chain_pem, chain_len, &certs, CHAIN_MAX,
				u->err, sizeof(u->err)) < 0)
		return set(u->r, NACRE_TDX_E_TCB_SIGNING_CHAIN, "The %s issuer "
			   "chain does not parse: %s.", what, u->err);
	if (!cn_is(sk_X509_value(certs, 0), "Intel SGX TCB Signing")) {
		sk_X509_pop_free(certs, X509_free);
		return set(u->r, NACRE_TDX_E_TCB_SIGNING_CHAIN, "The %s is "
			   "not signed by an \"Intel SGX TCB Signing\" "
			   "certificate.", what);
	}
	if (u->root_crl && (crls = sk_X509_CRL_new_null()))
		sk_X509_CRL_push(crls, u->root_crl);
	rc = verify_chain(certs, u->root, u->now, crls,
			  crls ? X509_V_FLAG_CRL_CHECK : 0,
			  NACRE_TDX_E_TCB_SIGNING_CHAIN,
			  "TCB Signing certificate chain", u->r);
	sk_X509_CRL_free(crls);
	if (rc == NACRE_TDX_OK &&
	    !verify_rs(X509_get0_pubkey(sk_X509_value(certs, 0)), s->body,
		       s->body_len, s->sig))
		rc = set(u->r, sig_err, "The %s's signature does not verify "
			 "with the TCB Signing key: it was altered; fetch it "
			 "again from Intel PCS.", what);
	sk_X509_pop_free(certs, X509_free);
	if (rc != NACRE_TDX_OK)
		return rc;
	utc(s->issue_date, a);
	utc(u->now, b);
	if (s->issue_date > u->now)
		return set(u->r, NACRE_TDX_E_COLLATERAL_FUTURE, "The %s was "
			   "issued %s, after the verification time %s; check "
			   "the clock.", what, a, b);
	if (s->next_update < u->now) {
		utc(s->next_update, a);
		return set(u->r, NACRE_TDX_E_COLLATERAL_EXPIRED, "The %s "
			   "expired at its nextUpdate %s (now %s); fetch a "
			   "current one from Intel PCS.", what, a, b);
	}
	if (u->p->max_collateral_age &&
	    (uint64_t)(u->now - s->issue_date) > u->p->max_collateral_age)
		return set(u->r, NACRE_TDX_E_COLLATERAL_TOO_OLD, "The %s was "
			   "issued %s, more than the policy's %llu s before "
			   "%s; fetch a current one.", what, a,
			   (unsigned long long)u->p->max_collateral_age, b);
	return NACRE_TDX_OK;
}

static int
check_collateral(struct run *u)
{
	const struct nacre_tdx_collateral *c = u->c;
	struct nacre_tdx_tcb_eval ev;
	enum nacre_tdx_status st;
	enum nacre_tdx_tcb_status qs;
	int rc;

	if (!c || !c->tcb_info || !c->qe_identity) {
		if (u->p->allow_no_collateral)
			return NACRE_TDX_OK;
		return set(u->r, NACRE_TDX_E_NO_COLLATERAL, "No %s given: the "
			   "platform's TCB cannot be judged; fetch the TCB Info "
			   "(fmspc=%s) and the TDX QE Identity from Intel PCS.",
			   !c || (!c->tcb_info && !c->qe_identity) ?
			   "TCB Info or QE Identity" : !c->tcb_info ?
			   "TCB Info" : "QE Identity", u->r->fmspc_hex);
	}
	if (nacre_tdx_tcb_info_parse(c->tcb_info, c->tcb_info_len, &u->tcb,
				     u->err, sizeof(u->err)) < 0)
		return set(u->r, NACRE_TDX_E_COLLATERAL_MALFORMED, "The TCB "
			   "Info is malformed: %s.", u->err);
	if (nacre_tdx_qe_identity_parse(c->qe_identity, c->qe_identity_len,
					&u->qe, u->err, sizeof(u->err)) < 0)
		return set(u->r, NACRE_TDX_E_COLLATERAL_MALFORMED, "The QE "
			   "Identity is malformed: %s.", u->err);
	if ((rc = check_signed(u, nacre_tdx_tcb_info_signed(u->tcb),
			       c->tcb_info_chain, c->tcb_info_chain_len,
			       "TCB Info", NACRE_TDX_E_TCB_INFO_SIGNATURE)) ||
	    (rc = check_signed(u, nacre_tdx_qe_identity_signed(u->qe),
			       c->qe_identity_chain, c->qe_identity_chain_len,
			       "QE Identity",
			       NACRE_TDX_E_QE_IDENTITY_SIGNATURE)))
		return rc;
	if (nacre_tdx_tcb_info_match_platform(u->tcb, &u->ext, u->err,
					      sizeof(u->err)) < 0)
		return set(u->r, NACRE_TDX_E_FMSPC, "%s.", u->err);
	if (nacre_tdx_qe_identity_evaluate(u->qe, &u->q->qe_report, &qs,
					   u->err, sizeof(u->err)) < 0)
		return set(u->r, NACRE_TDX_E_QE_IDENTITY, "%s.", u->err);
	u->r->qe_status = qs;
	if (nacre_tdx_tcb_evaluate(u->tcb, &u->ext, &u->q->td, &ev, &st,
				   u->err, sizeof(u->err)) < 0)
		return set(u->r, st, "%s.", u->err);
	u->r->platform_status = ev.platform;
	u->r->module_status = ev.module;
	u->r->tcb_status = nacre_tdx_tcb_converge(
		nacre_tdx_tcb_converge(ev.platform, ev.module), qs);
	snprintf(u->r->tcb_date, sizeof(u->r->tcb_date), "%s", ev.tcb_date);
	snprintf(u->r->advisories, sizeof(u->r->advisories), "%s",
		 ev.advisories);
	u->r->collateral_checked = true;

	unsigned accept = u->p->accept_tcb ? u->p->accept_tcb
		: NACRE_TDX_TCB_BIT(NACRE_TDX_TCB_UP_TO_DATE);
	if (!(accept & NACRE_TDX_TCB_BIT(u->r->tcb_status)))
		return set(u->r, NACRE_TDX_E_TCB_STATUS, "The platform's TCB "
			   "status is %s (platform %s, TDX module %s, QE %s%s%s), "
			   "which the policy does not accept; update the "
			   "platform or accept the status in the policy.",
			   nacre_tdx_tcb_status_name(u->r->tcb_status),
			   nacre_tdx_tcb_status_name(ev.platform),
			   nacre_tdx_tcb_status_name(ev.module),
			   nacre_tdx_tcb_status_name(qs),
			   ev.advisories[0] ? "; advisories " : "",
			   ev.advisories);
	return NACRE_TDX_OK;
}

static bool
any_of(const uint8_t *v, const uint8_t (*list)[48], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(v, list[i], 48))
			return true;
	return false;
}

static int
check_policy(struct run *u)
{
	const struct nacre_tdx_policy *p = u->p;
	const struct nacre_tdx_td_body *td = &u->q->td;
	char got[97];

	if ((td->td_attributes[0] & 1) && !p->allow_debug)
		return set(u->r, NACRE_TDX_E_DEBUG, "The TD runs in debug mode "
			   "(TDATTRIBUTES.DEBUG): the host can read and change "
			   "its memory; refuse it, or allow debug in the "
			   "policy for development.");
	if (p->nmrtd && !any_of(td->mrtd, p->mrtd, p->nmrtd)) {
		nacre_hex_encode(td->mrtd, 48, got);
		return set(u->r, NACRE_TDX_E_MRTD, "MRTD %s is none of the %zu "
			   "the policy allows: the TD's initial image (firmware) "
			   "differs.", got, p->nmrtd);
	}
	for (int i = 0; i < 4; i++)
		if (p->rtmr[i] && memcmp(td->rtmr[i], p->rtmr[i], 48)) {
			nacre_hex_encode(td->rtmr[i], 48, got);
			return set(u->r, NACRE_TDX_E_RTMR, "RTMR%d is %s, not "
				   "the policy's value: the TD booted other "
				   "code or configuration.", i, got);
		}
	if (p->mrconfigid && memcmp(td->mrconfigid, p->mrconfigid, 48)) {
		nacre_hex_encode(td->mrconfigid, 48, got);
		return set(u->r, NACRE_TDX_E_MRCONFIGID, "MRCONFIGID is %s, "
			   "not the policy's value.", got);
	}
	if (p->mrowner && memcmp(td->mrowner, p->mrowner, 48)) {
		nacre_hex_encode(td->mrowner, 48, got);
		return set(u->r, NACRE_TDX_E_MROWNER, "MROWNER is %s, not the "
			   "policy's value.", got);
	}
	if (p->report_data && memcmp(td->report_data, p->report_data, 64))
		return set(u->r, NACRE_TDX_E_REPORT_DATA, "REPORTDATA is not "
			   "the expected 64 bytes: the quote was made for "
			   "another key or nonce (replayed?).");
	return NACRE_TDX_OK;
}

int
nacre_tdx_verify(const uint8_t *quote, size_t len,
		 const struct nacre_tdx_collateral *c,
		 const struct nacre_tdx_policy *p, struct nacre_tdx_quote *qout,
		 struct nacre_tdx_result *r)
{
	struct nacre_tdx_quote qbuf;
	struct run u = { .p = p, .c = c, .q = qout ? qout : &qbuf, .r = r };
	enum nacre_tdx_status st;
	int rc;

	memset(r, 0, sizeof(*r));
	u.now = p->now ? p->now : time(NULL);
	if (nacre_tdx_quote_parse(quote, len, u.q, &st, u.err,
				  sizeof(u.err)) < 0)
		return set(r, st, "The TDX quote is %s: %s.",
			   st == NACRE_TDX_E_UNSUPPORTED ? "not supported" :
			   "malformed", u.err);
	if (!(rc = load_crls(&u)) && !(rc = check_pck_chain(&u)) &&
	    !(rc = check_quote_sigs(&u)) && !(rc = check_collateral(&u)) &&
	    !(rc = check_policy(&u))) {
		if (r->collateral_checked)
			set(r, NACRE_TDX_OK, "The TDX quote verifies and the "
			    "platform's TCB status %s is accepted.",
			    nacre_tdx_tcb_status_name(r->tcb_status));
		else
			set(r, NACRE_TDX_OK, "The TDX quote verifies; the "
			    "platform's TCB was not evaluated (no collateral).");
	}
	sk_X509_pop_free(u.pck_chain, X509_free);
	X509_free(u.root);
	X509_CRL_free(u.root_crl);
	X509_CRL_free(u.pck_crl);
	nacre_tdx_tcb_info_free(u.tcb);
	nacre_tdx_qe_identity_free(u.qe);
	return r->status;
}
