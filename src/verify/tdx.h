/*
 * tdx.h: Intel TDX quote verification inside libnacre (not exported: no
 * symbol here is in libnacre.map or include/nacre/verify.h, so the public
 * enum and ABI are unchanged). Quote v4 and v5 (Intel TDX DCAP Quote
 * Generation / Verification Library, appendix "Quote Format"), the PCK
 * chain to the Intel SGX Root CA, and the PCS collateral (TCB Info v3,
 * QE Identity v2, CRLs).
 *
 * tdx_quote.c parses the quote and the PCK certificate's SGX extension,
 * tdx_collateral.c the collateral JSON and the TCB evaluation, and
 * tdx_verify.c runs the checks in order; the first failure decides.
 */
#ifndef NACRE_TDX_H
#define NACRE_TDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#define NACRE_TDX_HEADER_LEN 48
#define NACRE_TDX_BODY10_LEN 584	/* TD 1.0 quote body (v4, v5 type 2) */
#define NACRE_TDX_BODY15_LEN 648	/* TD 1.5 (v5 type 3) */
#define NACRE_SGX_REPORT_LEN 384	/* SGX report body: the QE report */
#define NACRE_TDX_PCK_CHAIN_MAX 16384	/* PEM bytes of certification data 5 */
#define NACRE_TDX_QE_AUTH_MAX 4096

/* SHA-256 of the DER of the Intel SGX Root CA (valid 2018-05-21 ..
 * 2049-12-31), the default trust anchor */
#define NACRE_TDX_INTEL_ROOT_SHA256 \
	"44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"

struct nacre_tdx_td_body {
	uint8_t tee_tcb_svn[16];
	uint8_t mrseam[48];
	uint8_t mrsignerseam[48];
	uint8_t seam_attributes[8];
	uint8_t td_attributes[8];
	uint8_t xfam[8];
	uint8_t mrtd[48];
	uint8_t mrconfigid[48];
	uint8_t mrowner[48];
	uint8_t mrownerconfig[48];
	uint8_t rtmr[4][48];
	uint8_t report_data[64];
	/* TD 1.5 only (v5 body type 3), zero otherwise */
	bool is_td15;
	uint8_t tee_tcb_svn2[16];
	uint8_t mrservicetd[48];
};

struct nacre_sgx_report {
	uint8_t cpusvn[16];
	uint32_t miscselect;
	uint8_t attributes[16];
	uint8_t mrenclave[32];
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	uint16_t isvsvn;
	uint8_t report_data[64];
};

/* A parsed quote; the pointers point into the caller's buffer. */
struct nacre_tdx_quote {
	uint16_t version;		/* 4 or 5 */
	uint16_t att_key_type;		/* 2: ECDSA-256 with P-256 */
	uint32_t tee_type;		/* 0x81: TDX */
	uint8_t qe_vendor_id[16];
	uint8_t user_data[20];
	uint16_t body_type;		/* 2 (TD 1.0) or 3 (TD 1.5) */
	struct nacre_tdx_td_body td;
	const uint8_t *signed_data;	/* header + body: what the quote
					 * signature covers */
	size_t signed_len;
	uint8_t signature[64];		/* r || s */
	uint8_t att_key[64];		/* x || y */
	const uint8_t *qe_report_raw;	/* 384 bytes, what the PCK signs */
	struct nacre_sgx_report qe_report;
	uint8_t qe_report_sig[64];
	const uint8_t *qe_auth;
	size_t qe_auth_len;
	const char *pck_pem;		/* certification data type 5 */
	size_t pck_pem_len;
	size_t quote_len;		/* bytes used */
	size_t trailing;		/* bytes after the quote (ignored) */
};

/* The PCK certificate's SGX extension (OID 1.2.840.113741.1.13.1). */
struct nacre_tdx_pck_ext {
	uint8_t fmspc[6];
	uint8_t pceid[2];
	uint8_t cpusvn[16];
	uint8_t sgx_comp[16];		/* .2.1 .. .2.16 */
	uint16_t pcesvn;		/* .2.17 */
};

enum nacre_tdx_tcb_status {
	NACRE_TDX_TCB_UP_TO_DATE = 0,
	NACRE_TDX_TCB_SW_HARDENING_NEEDED,
	NACRE_TDX_TCB_CONFIGURATION_NEEDED,
	NACRE_TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
	NACRE_TDX_TCB_OUT_OF_DATE,
	NACRE_TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
	NACRE_TDX_TCB_REVOKED,
	NACRE_TDX_TCB_NSTATUS
};
#define NACRE_TDX_TCB_BIT(s) (1u << (s))

/* Every check its own code; the first failure decides. */
enum nacre_tdx_status {
	NACRE_TDX_OK = 0,
	NACRE_TDX_E_MALFORMED,		/* quote bytes */
	NACRE_TDX_E_UNSUPPORTED,	/* version, key type, TEE type, body */
	NACRE_TDX_E_PCK_CHAIN,		/* PCK chain: parse, signatures, dates */
	NACRE_TDX_E_UNTRUSTED_ROOT,
	NACRE_TDX_E_CRL,		/* a CRL is invalid, expired or missing */
	NACRE_TDX_E_CERT_REVOKED,	/* a certificate is on a CRL */
	NACRE_TDX_E_PCK_EXTENSION,	/* SGX extension of the PCK cert */
	NACRE_TDX_E_QE_REPORT_SIGNATURE,
	NACRE_TDX_E_QE_BINDING,		/* REPORTDATA != SHA-256(key||auth) */
	NACRE_TDX_E_QUOTE_SIGNATURE,
	NACRE_TDX_E_NO_COLLATERAL,
	NACRE_TDX_E_COLLATERAL_MALFORMED,
	NACRE_TDX_E_TCB_SIGNING_CHAIN,	/* TCB Signing cert to the root */
	NACRE_TDX_E_TCB_INFO_SIGNATURE,
	NACRE_TDX_E_QE_IDENTITY_SIGNATURE,
	NACRE_TDX_E_COLLATERAL_FUTURE,	/* issueDate after now */
	NACRE_TDX_E_COLLATERAL_EXPIRED,	/* nextUpdate before now */
	NACRE_TDX_E_COLLATERAL_TOO_OLD,	/* policy max age */
	NACRE_TDX_E_FMSPC,		/* TCB Info FMSPC/PCE-ID != PCK's */
	NACRE_TDX_E_QE_IDENTITY,	/* QE report vs QE identity */
	NACRE_TDX_E_TDX_MODULE,		/* MRSIGNERSEAM / SEAMATTRIBUTES */
	NACRE_TDX_E_TCB_NOT_FOUND,	/* no TCB level covers the platform */
	NACRE_TDX_E_TCB_STATUS,		/* status not accepted by policy */
	NACRE_TDX_E_DEBUG,
	NACRE_TDX_E_MRTD,
	NACRE_TDX_E_RTMR,
	NACRE_TDX_E_MRCONFIGID,
	NACRE_TDX_E_MROWNER,
	NACRE_TDX_E_REPORT_DATA,
	NACRE_TDX_E_INTERNAL,
	NACRE_TDX_NSTATUS
};

/* PCS collateral, as fetched (all optional; without tcb_info and
 * qe_identity nothing about the platform's TCB is known) */
struct nacre_tdx_collateral {
	const char *tcb_info;		/* {"tcbInfo":{...},"signature":".."} */
	size_t tcb_info_len;
	const char *tcb_info_chain;	/* PEM: TCB Signing cert (+ root) */
	size_t tcb_info_chain_len;
	const char *qe_identity;	/* {"enclaveIdentity":{...},...} */
	size_t qe_identity_len;
	const char *qe_identity_chain;	/* PEM: TCB Signing cert (+ root) */
	size_t qe_identity_chain_len;
	const uint8_t *root_ca_crl;	/* DER, by the Intel SGX Root CA */
	size_t root_ca_crl_len;
	const uint8_t *pck_crl;		/* DER, by the PCK Platform/Processor CA */
	size_t pck_crl_len;
};

struct nacre_tdx_policy {
	/* the trust anchor; NULL: the Intel SGX Root CA, recognised in the
	 * quote's PCK chain by NACRE_TDX_INTEL_ROOT_SHA256 */
	X509 *root;
	/* one more trust anchor (DER) besides the Intel SGX Root CA, e.g.
	 * the root of nacre's simulated TDX (src/tee/tdx_sim.c) a policy
	 * names; used when root is NULL and the chain has no Intel root.
	 * NULL: Intel's only. Never taken from the evidence. */
	const uint8_t *trusted_root;
	size_t trusted_root_len;
	time_t now;			/* 0: the real clock */
	/* quote-only verification (signatures, PCK chain, optional CRLs):
	 * the TCB is then not evaluated and the result says so */
	bool allow_no_collateral;
	/* bits NACRE_TDX_TCB_BIT(status); 0 = UpToDate only */
	unsigned accept_tcb;
	uint64_t max_collateral_age;	/* seconds since issueDate; 0: none */
	const uint8_t (*mrtd)[48];	/* any of nmrtd; none: not checked */
	size_t nmrtd;
	const uint8_t *rtmr[4];		/* 48 bytes each, NULL: not checked */
	const uint8_t *mrconfigid;	/* 48, NULL: not checked */
	const uint8_t *mrowner;		/* 48, NULL: not checked */
	const uint8_t *report_data;	/* 64, NULL: not checked */
	bool allow_debug;
};

struct nacre_tdx_result {
	enum nacre_tdx_status status;
	char message[512];		/* a sentence a person can act on */
	bool collateral_checked;	/* TCB evaluated from collateral */
	enum nacre_tdx_tcb_status tcb_status;	/* converged */
	enum nacre_tdx_tcb_status platform_status;	/* TCB Info level */
	enum nacre_tdx_tcb_status module_status;	/* TDX module identity */
	enum nacre_tdx_tcb_status qe_status;	/* QE Identity level */
	char tcb_date[32];
	char advisories[256];		/* "INTEL-SA-..., ..." */
	char fmspc_hex[13];
};

/* ---- tdx_quote.c ---- */
/* Parses a v4/v5 TDX quote; bytes after the quote are counted in
 * q->trailing. 0, or -1 with err and *status (MALFORMED/UNSUPPORTED). */
int nacre_tdx_quote_parse(const uint8_t *buf, size_t len,
			  struct nacre_tdx_quote *q,
			  enum nacre_tdx_status *status, char *err,
			  size_t errlen);
/* up to max certificates from PEM text (leaf first); -1 when none, when a
 * block does not parse or when there are more than max */
int nacre_tdx_pem_certs(const char *pem, size_t len, STACK_OF(X509) **out,
			int max, char *err, size_t errlen);
int nacre_tdx_pck_ext_parse(X509 *pck, struct nacre_tdx_pck_ext *e,
			    char *err, size_t errlen);

/* ---- tdx_collateral.c ---- */
struct nacre_tdx_tcb_info;
struct nacre_tdx_qe_identity;

/* the signed body (the raw "tcbInfo" / "enclaveIdentity" value) and the
 * signature are kept for tdx_verify.c */
int nacre_tdx_tcb_info_parse(const char *json, size_t len,
			     struct nacre_tdx_tcb_info **out, char *err,
			     size_t errlen);
void nacre_tdx_tcb_info_free(struct nacre_tdx_tcb_info *t);
int nacre_tdx_qe_identity_parse(const char *json, size_t len,
				struct nacre_tdx_qe_identity **out, char *err,
				size_t errlen);
void nacre_tdx_qe_identity_free(struct nacre_tdx_qe_identity *q);

/* signed body, signature (r||s), issueDate and nextUpdate */
struct nacre_tdx_signed {
	const char *body;
	size_t body_len;
	uint8_t sig[64];
	time_t issue_date;
	time_t next_update;
};
const struct nacre_tdx_signed *
nacre_tdx_tcb_info_signed(const struct nacre_tdx_tcb_info *t);
const struct nacre_tdx_signed *
nacre_tdx_qe_identity_signed(const struct nacre_tdx_qe_identity *q);

/* FMSPC and PCE-ID equal to the PCK's; -1 with err otherwise */
int nacre_tdx_tcb_info_match_platform(const struct nacre_tdx_tcb_info *t,
				      const struct nacre_tdx_pck_ext *e,
				      char *err, size_t errlen);

struct nacre_tdx_tcb_eval {
	enum nacre_tdx_tcb_status platform;	/* the matching TCB level */
	enum nacre_tdx_tcb_status module;	/* TDX module identity level */
	char tcb_date[32];
	char advisories[256];
};
/* The TCB level of the platform (PCK SGX components and PCESVN, the
 * quote's TEE_TCB_SVN) and the TDX module checks (MRSIGNERSEAM,
 * SEAMATTRIBUTES; module identity for TEE_TCB_SVN[1] > 0). 0, or -1 with
 * *status NACRE_TDX_E_TCB_NOT_FOUND or NACRE_TDX_E_TDX_MODULE and err. */
int nacre_tdx_tcb_evaluate(const struct nacre_tdx_tcb_info *t,
			   const struct nacre_tdx_pck_ext *e,
			   const struct nacre_tdx_td_body *td,
			   struct nacre_tdx_tcb_eval *out,
			   enum nacre_tdx_status *status, char *err,
			   size_t errlen);
/* The QE report against the identity: MRSIGNER, ISVPRODID, MISCSELECT
 * and ATTRIBUTES under their masks, then the ISVSVN's level (*st). 0, or
 * -1 (NACRE_TDX_E_QE_IDENTITY) with err. */
int nacre_tdx_qe_identity_evaluate(const struct nacre_tdx_qe_identity *q,
				   const struct nacre_sgx_report *r,
				   enum nacre_tdx_tcb_status *st, char *err,
				   size_t errlen);
/* QE and TDX module statuses folded into the platform's, as Intel's QVL
 * converges them */
enum nacre_tdx_tcb_status nacre_tdx_tcb_converge(enum nacre_tdx_tcb_status a,
						 enum nacre_tdx_tcb_status b);
/* "UpToDate", ..., "Revoked" (the PCS spelling) */
const char *nacre_tdx_tcb_status_name(enum nacre_tdx_tcb_status s);
/* "2023-06-18T08:42:58Z" -> time_t; -1 if not exactly that form */
int nacre_tdx_parse_time(const char *s, time_t *out);

/* ---- tdx_verify.c ---- */
/* Parses then verifies quote (and c when given) against p; fills r and,
 * when q is not NULL and the quote parses, *q. Returns r->status. */
int nacre_tdx_verify(const uint8_t *quote, size_t len,
		     const struct nacre_tdx_collateral *c,
		     const struct nacre_tdx_policy *p,
		     struct nacre_tdx_quote *q, struct nacre_tdx_result *r);
/* "ok", "quote-malformed", ... */
const char *nacre_tdx_status_name(enum nacre_tdx_status s);

#endif
