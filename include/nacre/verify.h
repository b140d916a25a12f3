/*
 * nacre/verify.h: libnacre, the verifier. Checks that a certificate carries
 * attestation evidence (docs/evidence-format.md: an AWS Nitro document, an
 * Intel TDX quote or an AMD SEV-SNP report) that is genuine, binds the
 * certificate's own key, and satisfies a policy (the platforms it accepts,
 * roots, age, debug, measurements: PCRs and module ids, MRTD and RTMRs,
 * SNP measurement; TCB status, collateral).
 */
#ifndef NACRE_VERIFY_H
#define NACRE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

struct nacre_policy; /* opaque */

/* Defaults: trust the built-in AWS Nitro Enclaves Root G1 only; max_age 2h;
 * allow_debug false; no PCR or module constraints, and allow_any_code
 * false. Such a policy pins no code, so verification under it fails (with
 * NACRE_E_POLICY_UNPINNED) until a PCR or a module id is added, or
 * nacre_policy_set_allow_any_code is called: trusting a root alone would
 * accept any code in any enclave under that root. NULL on allocation
 * failure. */
struct nacre_policy *nacre_policy_new(void);
/* A policy file (libconfig syntax, see nacre_policy_parse). 0, or -1 with
 * err = "PATH:LINE: message". */
int nacre_policy_load(struct nacre_policy **out, const char *path, char *err,
		      size_t errlen);
/* Policy text; name is used in messages ("NAME:LINE: ..."):
 *   trust = { roots = [ "aws-nitro", "/path/root.pem", "sha256:<hex>" ]; };
 *   max_age = "2h";
 *   allow_debug = false;
 *   pcrs = { pcr0 = [ "<hex>", ... ]; ... pcr15 = [ ... ]; };
 *   module_ids = [ "i-...-enc..." ];
 *   allow_any_code = false;
 *   fresh = false;
 * Since 1.2, per platform (the top-level trust, pcrs, module_ids and
 * allow_debug are Nitro's; nitro = { roots; pcrs; module_ids;
 * allow_debug; } is their other spelling):
 *   tdx = { roots = [ "intel-sgx" | "/path/root.crt" ];
 *           collateral = "/dir";      Intel PCS files (TCB Info, QE
 *                                     Identity, issuer chains, CRLs)
 *           mrtd = [ "<96 hex>" ]; rtmr0 .. rtmr3; mrconfigid; mrowner;
 *           allow_debug = false; tcb_status = [ "UpToDate", ... ];
 *           max_collateral_age = "30d"; };
 *   snp = { roots = [ "amd-milan", "amd-genoa" | "/path/ark.crt" ];
 *           certs = "/dir";           VCEK, ASK, ARK when the evidence
 *                                     carries none
 *           measurement = [ "<96 hex>" ]; host_data = [ "<64 hex>" ];
 *           id_key_digest = [ "<96 hex>" ]; allow_debug = false;
 *           allow_migration_agent = false; max_vmpl = 0;
 *           min_tcb = { bootloader = N; tee = N; snp = N; microcode = N; };
 *         };
 *   manifests = [ "release-1.4.conf" ];  release manifests: each file
 *           says release = "1.4"; nitro = { pcr0 = "<hex>"; }; tdx =
 *           { mrtd = "<hex>"; ... }; snp = { measurement = "<hex>"; };
 *           and adds its values to those platforms' allowed sets
 * A platform is accepted only when the policy describes it (its section,
 * its keys, or a manifest naming it); a policy naming no platform at all
 * describes Nitro, as in 1.0. Pinning is per platform: evidence of a
 * platform whose code the policy does not pin fails with
 * NACRE_E_POLICY_UNPINNED unless allow_any_code.
 * Every key is optional; without trust the AWS root is trusted. A file
 * that pins no code (no pcrs, no module_ids, no tdx or snp measurement,
 * no allow_any_code = true) loads, since a caller may add pins after, but
 * verifies nothing (see nacre_policy_check). A relative path (PEM root,
 * collateral or certificate directory, manifest) is read next to the
 * policy file (nacre_policy_load) or from the working directory
 * (nacre_policy_parse); files are read when the policy loads.
 * @include is refused. */
int nacre_policy_parse(struct nacre_policy **out, const char *text,
		       const char *name, char *err, size_t errlen);
/* Each add_root call adds to the trusted set; the first one replaces the
 * default AWS root unless nacre_policy_add_root_aws is called too. */
int nacre_policy_add_root_aws(struct nacre_policy *p, char *err,
			      size_t errlen);
/* pem_path: a regular file of at most 64 KiB holding the root certificate
 * (PEM) and no private key; a FIFO or device is refused without waiting,
 * and so is a file with a private key (for nacred's sim root give its
 * certificate file, sim-root.crt, not the key file sim-root.pem) */
int nacre_policy_add_root_pem(struct nacre_policy *p, const char *pem_path,
			      char *err, size_t errlen);
/* pins by SHA-256 of the root's DER; the document's cabundle[0] supplies
 * the certificate */
int nacre_policy_add_root_sha256(struct nacre_policy *p, const char *hex,
				 char *err, size_t errlen);
/* Any listed value for an index passes; indexes without values are not
 * checked. 0, or -1 (index >= 16, len != 48, or out of memory). */
int nacre_policy_add_pcr(struct nacre_policy *p, unsigned index,
			 const uint8_t *value, size_t len);
/* An empty list (the default) allows every module id. 0 or -1. */
int nacre_policy_add_module_id(struct nacre_policy *p, const char *id);
void nacre_policy_set_max_age(struct nacre_policy *p, uint64_t seconds);
void nacre_policy_set_allow_debug(struct nacre_policy *p, bool allow);
/* Accept evidence whatever code it measures when the policy pins no PCR
 * and no module id: any enclave under the trusted roots then passes, and
 * every verification says so in nacre_result.warning. For development and
 * for callers that check the measurements themselves; default false. With
 * a PCR or module id pinned it changes nothing. */
void nacre_policy_set_allow_any_code(struct nacre_policy *p, bool allow);
/* Since NACRE_1.1. With fresh, nacre_ssl_ctx_verify sends a random nonce
 * in every ClientHello (NACRE_TLSEXT_ATTEST version 2) and requires fresh
 * evidence bound to that handshake: the nonce echoed, and its randoms and
 * key shares in the document (docs/evidence-format.md 8). It makes the
 * context TLS 1.3 only. nacre_verify_cert alone cannot check it (a
 * certificate has no handshake). Policy text: fresh = true. Default false. */
void nacre_policy_set_fresh(struct nacre_policy *p, bool fresh);
/* Whether p can be used: 0 when it pins code for at least one platform (a
 * PCR or a module id; a TDX MRTD, RTMR or MRCONFIGID; an SNP measurement
 * or ID key digest) or allows any code; -1 with err naming what to pin,
 * e.g. "the policy pins
 * no code: add pcrs.pcr0 (the image measurement) or module_ids, or
 * allow_any_code = true to accept any enclave". Call it after building a
 * policy to refuse a bad one before connecting. */
int nacre_policy_check(const struct nacre_policy *p, char *err, size_t errlen);
/* injectable clock; 0 = the real clock */
void nacre_policy_set_time(struct nacre_policy *p, time_t now);
void nacre_policy_free(struct nacre_policy *p);

enum nacre_verify_status {
	NACRE_OK = 0,
	NACRE_E_NO_EVIDENCE,
	NACRE_E_EVIDENCE_MALFORMED,
	NACRE_E_UNSUPPORTED,
	NACRE_E_DOC_MALFORMED,
	NACRE_E_UNTRUSTED_ROOT,
	NACRE_E_CHAIN,
	NACRE_E_SIGNATURE,
	NACRE_E_BINDING,
	NACRE_E_TOO_OLD,
	NACRE_E_FROM_FUTURE,
	NACRE_E_DEBUG,
	NACRE_E_PCR,
	NACRE_E_MODULE,
	NACRE_E_INTERNAL,
	/* the policy pins no code and does not allow any (nacre_policy_check);
	 * reported once the evidence itself has passed every other check */
	NACRE_E_POLICY_UNPINNED,
	/* fresh policy: the server sent no fresh evidence for the request */
	NACRE_E_FRESH_MISSING,
	/* fresh policy: the evidence does not echo the nonce or is bound to
	 * another handshake (a replay or a relay) */
	NACRE_E_SESSION_BINDING,
	/* Since 1.2 (TDX and SEV-SNP evidence, docs/evidence-format.md 9).
	 * The message names the platform's own check (e.g. "mrtd-mismatch",
	 * "snp-tcb-too-low") and what to do. */
	/* the evidence is from a platform the policy does not describe (add
	 * its section: tdx = { ... }, snp = { ... }, or Nitro's keys) */
	NACRE_E_PLATFORM,
	/* a TEE measurement differs from the policy's: TDX MRTD, RTMR0..3,
	 * MRCONFIGID, MROWNER; SNP measurement, host data, ID or author key
	 * digest (the message names the field, expected and got) */
	NACRE_E_MEASUREMENT,
	/* the platform's TCB is not accepted: TDX TCB status (OutOfDate,
	 * Revoked, ...), QE or TDX module identity, a revoked PCK; SNP
	 * reported TCB below the policy's minimum */
	NACRE_E_TCB,
	/* collateral missing, malformed, expired or badly signed: TDX TCB
	 * Info, QE Identity, CRLs; SNP VCEK missing or not this chip's/TCB's */
	NACRE_E_COLLATERAL,
	/* the guest's own policy is weaker than allowed: SNP VMPL above
	 * max_vmpl, a migration agent allowed */
	NACRE_E_GUEST_POLICY
};

struct nacre_result {
	enum nacre_verify_status status;
	char message[512];           /* a sentence a person can act on */
	/* decoded facts, valid when the document decoded (status is OK or
	 * NACRE_E_UNTRUSTED_ROOT or later). For TDX and SEV-SNP evidence
	 * (evidence_type names the platform) module_id and the PCRs stay
	 * empty, timestamp_ms is the claims' "iat", debug the TD's or guest's
	 * debug bit, root_sha256_hex the trusted root's (Intel SGX Root CA,
	 * AMD ARK, or the policy's); the measurements are in message. */
	char evidence_type[64];      /* the CMW media type */
	char module_id[257];
	uint64_t timestamp_ms;
	uint32_t pcr_mask;           /* bit i: pcr[i] present (i < 16) */
	uint8_t pcr[16][48];
	bool debug;                  /* PCR0, PCR1, PCR2 all zero */
	bool has_config_sha256;      /* user_data is a nacre claims map */
	uint8_t config_sha256[32];
	/* the ACME account the enclave holds (CAA accounturi) and the
	 * SHA-256 of each ACME certificate key it made and serves (of the
	 * DER SubjectPublicKeyInfo); docs/evidence-format.md 5 */
	bool has_acme;
	char acme_account_url[2049];
	uint8_t acme_jwk_thumbprint[32];
	size_t acme_nkeys;
	uint8_t acme_keys[16][32];
	char root_sha256_hex[65];    /* of cabundle[0] */
	/* non-empty when the policy weakens the verdict, whatever the
	 * status: today when it allows any code and pins none ("the policy
	 * pins no code ..."); show it to the user on every verification */
	char warning[256];
};

/* Verifies cert against p, fills r; returns r->status. */
int nacre_verify_cert(X509 *cert, const struct nacre_policy *p,
		      struct nacre_result *r);
/* Verifies a bare attestation document against p: an AWS Nitro document
 * (CBOR COSE_Sign1), or the TDX / SEV-SNP envelope of
 * docs/evidence-format.md 9.2 (a CBOR map; the platform is told by the
 * evidence inside: an SNP report is 1184 bytes, a TD quote longer). The
 * same checks as nacre_verify_cert, the binding against spki (DER
 * SubjectPublicKeyInfo) when given; with spki NULL the binding is not
 * checked and the success message says so. The decoded facts are filled
 * whenever the document decodes, whatever the verdict. Returns r->status. */
int nacre_verify_document(const uint8_t *doc, size_t len, const uint8_t *spki,
			  size_t spki_len, const struct nacre_policy *p,
			  struct nacre_result *r);
/* "ok", "no-evidence", ..., "pcr-mismatch", "policy-pins-no-code",
 * "fresh-evidence-missing", "session-binding-mismatch",
 * "platform-not-accepted", "measurement-mismatch", "tcb-not-accepted",
 * "collateral-invalid", "guest-policy-not-accepted";
 * "unknown" for other values */
const char *nacre_verify_status_name(enum nacre_verify_status s);

/* The ClientHello extension (private-use type) by which a client asks
 * for the attested certificate; its data is one byte, the version 1. A
 * server that also has a WebPKI (ACME) certificate for the name serves
 * that to clients that do not ask. See docs/evidence-format.md. */
#define NACRE_TLSEXT_ATTEST 0xff4e
#define NACRE_TLSEXT_ATTEST_VERSION 1

/*
 * After this call, every handshake made from ctx asks for the attested
 * certificate (NACRE_TLSEXT_ATTEST) and fails unless the peer's
 * certificate carries attestation evidence that passes p (which must
 * outlive ctx). When p is fresh (nacre_policy_set_fresh), the request
 * carries a nonce, ctx is set to TLS 1.3 only, and the evidence checked
 * is the fresh document the server sends for this handshake. Call it
 * once per ctx, after the policy is complete: the ClientHello's request
 * follows the policy of the first call. The certificate is trusted for its evidence alone: CA
 * chain checks are replaced, not added to. A policy that pins no code
 * fails every handshake (NACRE_E_POLICY_UNPINNED) unless it allows any
 * code; nacre_policy_check says so before connecting. 0, or -1 on
 * allocation failure.
 */
int nacre_ssl_ctx_verify(SSL_CTX *ctx, const struct nacre_policy *p);
/* The verdict of ssl's handshake (whether it passed or failed), with the
 * decoded facts; NULL when no certificate was verified (e.g. a resumed
 * session, or the handshake failed before the certificate). */
const struct nacre_result *nacre_ssl_result(const SSL *ssl);

#ifdef __cplusplus
}
#endif
#endif
