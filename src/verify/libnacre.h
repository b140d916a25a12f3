/*
 * libnacre.h: what the files of libnacre share and do not export: the
 * policy's accessors (policy.c) used by the verifier (verify.c and its
 * platform files verify_tdx.c, verify_snp.c), the facts a verification
 * learns beyond the public result, fresh evidence, and the name of the sim
 * root's certificate file (policy.c, attest_sim.c).
 */
#ifndef NACRE_LIBNACRE_H
#define NACRE_LIBNACRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "nacre/verify.h"

/* ---- policy.c ---- */
X509 *nacre_policy_root_for(const struct nacre_policy *p, const uint8_t *der,
			    size_t len);
bool nacre_policy_trusts_aws(const struct nacre_policy *p);
uint64_t nacre_policy_max_age_ms(const struct nacre_policy *p);
bool nacre_policy_allows_debug(const struct nacre_policy *p);
time_t nacre_policy_now(const struct nacre_policy *p);
size_t nacre_policy_pcr_values(const struct nacre_policy *p, unsigned index,
			       const uint8_t (**values)[48]);
bool nacre_policy_module_allowed(const struct nacre_policy *p,
				 const char *id, size_t *nallowed);
/* some platform's code is pinned (a PCR or module id for Nitro, an MRTD
 * or RTMR for TDX, a measurement for SNP) */
bool nacre_policy_pins_code(const struct nacre_policy *p);
/* nothing pinned and allow_any_code: every result carries the warning */
bool nacre_policy_any_code(const struct nacre_policy *p);
bool nacre_policy_fresh(const struct nacre_policy *p);

/* the platforms evidence comes from (docs/evidence-format.md 9.1) */
enum nacre_platform {
	NACRE_PLATFORM_NONE = 0,
	NACRE_PLATFORM_NITRO,
	NACRE_PLATFORM_TDX,
	NACRE_PLATFORM_SNP,
};
/* "nitro", "tdx", "snp" ("none") */
const char *nacre_platform_name(enum nacre_platform pl);
/* the platform a CMW media type names, NONE for others */
enum nacre_platform nacre_platform_of(const char *media_type);
/* the policy accepts evidence of pl (describes it) */
bool nacre_policy_describes(const struct nacre_policy *p,
			    enum nacre_platform pl);
/* the policy pins pl's code */
bool nacre_policy_pins_platform(const struct nacre_policy *p,
				enum nacre_platform pl);
/* pl is unpinned and allow_any_code: its results carry the warning */
bool nacre_policy_any_code_for(const struct nacre_policy *p,
			       enum nacre_platform pl);
bool nacre_policy_allows_any_code(const struct nacre_policy *p);

/* What the verification learned of the TEE beyond struct nacre_result
 * (whose layout is ABI): the platform, its measurements, the release a
 * manifest names. For nacre verify and the tests. */
struct nacre_tee_facts {
	enum nacre_platform platform;
	bool decoded;          /* the quote or report below was read */
	char release[64];      /* "" when no manifest matched */
	/* TDX */
	uint8_t mrtd[48], rtmr[4][48], mrconfigid[48], mrowner[48];
	uint8_t td_attributes[8];
	char tcb_status[48];   /* "UpToDate", ... ("" unknown) */
	/* SNP */
	uint8_t measurement[48], host_data[32], id_key_digest[48];
	uint32_t vmpl;
	uint64_t guest_policy;
	uint8_t reported_tcb[4]; /* bootloader, tee, snp, microcode */
	char product[32];      /* "Milan", "Genoa (policy root)" */
};

/* ---- verify.c: the dispatcher ---- */
/* The evidence of media type mt (the CMW value) against p, bound to spki
 * (DER SubjectPublicKeyInfo; NULL: not checked); f may be NULL. r is
 * reset first. Returns r->status. */
int nacre_verify_evidence(const char *mt, const uint8_t *ev, size_t len,
			  const uint8_t *spki, size_t spki_len,
			  const struct nacre_policy *p, struct nacre_result *r,
			  struct nacre_tee_facts *f);
/* nacre_verify_cert with the facts */
int nacre_verify_cert_facts(X509 *cert, const struct nacre_policy *p,
			    struct nacre_result *r, struct nacre_tee_facts *f);
/* the facts of ssl's verification (NULL before one) */
const struct nacre_tee_facts *nacre_ssl_facts(const SSL *ssl);

/* ---- verify.c, for verify_tdx.c and verify_snp.c ---- */
int nacre_vset(struct nacre_result *r, enum nacre_verify_status st,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* max_age and clock skew on r->timestamp_ms; NACRE_OK or the status */
int nacre_vcheck_age(const struct nacre_policy *p, struct nacre_result *r,
		     const char *what);
uint64_t nacre_vnow_ms(const struct nacre_policy *p);
/* "3f1a2b3c…04a1": the first 4 and the last 2 of n bytes */
void nacre_short_hex(const uint8_t *v, size_t n, char out[24]);
/* claims facts (cfg, acme) into r; 0, or -1 with err when the claims do
 * not decode. On 0, *c is decoded (nacre_claims_free it). */
struct nacre_claims;
int nacre_vclaims(const uint8_t *claims, size_t len, struct nacre_result *r,
		  struct nacre_claims *c, char *err, size_t errlen);
/* "none of the 3 values tdx.mrtd allows: 3f1a…, ..." list of a set */
void nacre_vlist(const uint8_t *v, size_t n, size_t len, char *out,
		 size_t outlen);

/* ---- verify_tdx.c, verify_snp.c: envelope -> claims -> platform ->
 * binding -> policy (docs/evidence-format.md 9.5, 9.6) ---- */
int nacre_verify_tdx(const uint8_t *ev, size_t len, const uint8_t *spki,
		     size_t spki_len, const struct nacre_policy *p,
		     struct nacre_result *r, struct nacre_tee_facts *f);
int nacre_verify_snp(const uint8_t *ev, size_t len, const uint8_t *spki,
		     size_t spki_len, const struct nacre_policy *p,
		     struct nacre_result *r, struct nacre_tee_facts *f);
/* shared by both: the envelope and its claims (which must carry "iat",
 * into r->timestamp_ms); the REPORTDATA binding (spki NULL: skipped).
 * NACRE_OK or the status with r set. */
struct nacre_tee_envelope;
int nacre_tee_read(const char *platform, const uint8_t *ev, size_t len,
		   struct nacre_tee_envelope *e, struct nacre_result *r);
int nacre_tee_binding(const char *platform, const char *check,
		      const struct nacre_tee_envelope *e, const uint8_t *spki,
		      size_t spki_len, const uint8_t got[64],
		      struct nacre_result *r);

/* what nacre_policy_check says of a policy that pins no code */
#define NACRE_UNPINNED_MSG \
	"the policy pins no code: add pcrs.pcr0 (the image measurement) or " \
	"module_ids, or allow_any_code = true to accept any enclave"
/* what every verification under allow_any_code reports (warning) */
#define NACRE_ANY_CODE_WARNING \
	"the policy pins no code (allow_any_code): any code in any enclave " \
	"under the trusted roots passes; pin pcrs.pcr0 or module_ids to " \
	"accept only yours"

/* ---- fresh.c: fresh, session-bound evidence (docs/evidence-format.md 8) ---- */
#define NACRE_FRESH_VERSION 2        /* NACRE_TLSEXT_ATTEST version with a nonce */
#define NACRE_FRESH_NONCE_MIN 16
#define NACRE_FRESH_NONCE_MAX 64
#define NACRE_FRESH_REQ_MAX (2 + NACRE_FRESH_NONCE_MAX)
#define NACRE_FRESH_SHARE_MAX 1024   /* a key_exchange, bytes */
#define NACRE_FRESH_LABEL "nacre-fresh-v1"

enum nacre_fresh_ask {
	NACRE_ASK_NONE = 0,       /* no request (empty, or version 0) */
	NACRE_ASK_CERT = 1,       /* version 1: the attested certificate */
	NACRE_ASK_FRESH = 2,      /* version 2 or later: and fresh evidence */
	NACRE_ASK_MALFORMED = -1  /* version 2 or later without a valid nonce */
};

/* The extension_data of NACRE_TLSEXT_ATTEST in a ClientHello. On
 * NACRE_ASK_FRESH the nonce is copied to nonce (NACRE_FRESH_NONCE_MAX
 * bytes) and its length to *nonce_len. */
enum nacre_fresh_ask nacre_fresh_request_parse(const uint8_t *p, size_t n,
					       uint8_t *nonce,
					       size_t *nonce_len);
/* version 2 with nonce (16..64 bytes) into out (NACRE_FRESH_REQ_MAX);
 * the length, or 0 for a bad nonce length */
size_t nacre_fresh_request_encode(const uint8_t *nonce, size_t nonce_len,
				  uint8_t *out);

/* The values of one handshake a fresh document is bound to */
struct nacre_fresh_view {
	uint8_t nonce[NACRE_FRESH_NONCE_MAX];
	size_t nonce_len;
	uint8_t client_random[32], server_random[32];
	uint8_t client_share[NACRE_FRESH_SHARE_MAX];
	uint8_t server_share[NACRE_FRESH_SHARE_MAX];
	size_t client_share_len, server_share_len;
};
/* SHA-256 over the binding input of docs/evidence-format.md 8.3. 0 or -1. */
int nacre_fresh_binding(const struct nacre_fresh_view *v, uint8_t out[32]);
/* The claims map of fresh evidence against the handshake v: NACRE_OK when
 * its "hs" is v's binding, else NACRE_E_SESSION_BINDING (or
 * NACRE_E_INTERNAL) with a sentence in err. All three platforms. */
int nacre_fresh_check_claims(const uint8_t *claims, size_t len,
			     const struct nacre_fresh_view *v, char *err,
			     size_t errlen);
/* fills v's randoms and key shares from ssl, once the ServerHello is sent
 * (server) or read (client); the nonce is the caller's. 0, or -1 with err. */
int nacre_fresh_view_of(SSL *ssl, bool server, struct nacre_fresh_view *v,
			char *err, size_t errlen);

/* ---- ssl_fresh.c: the client side, under nacre_ssl_ctx_verify ---- */
/* the ClientHello extension's callbacks (add_arg = the policy) */
int nacre_ssl_fresh_ext_add(SSL *s, unsigned int type, unsigned int context,
			    const unsigned char **out, size_t *outlen, X509 *x,
			    size_t chainidx, int *al, void *arg);
int nacre_ssl_fresh_ext_parse(SSL *s, unsigned int type, unsigned int context,
			      const unsigned char *in, size_t inlen, X509 *x,
			      size_t chainidx, int *al, void *arg);
int nacre_ssl_fresh_init(void);
/* the verdict on the fresh evidence of ssl's handshake for leaf; facts
 * may be NULL */
struct nacre_tee_facts;
int nacre_ssl_fresh_verify(SSL *ssl, X509 *leaf, const struct nacre_policy *p,
			   struct nacre_result *r, struct nacre_tee_facts *facts);
/* what the client saw (for nacre verify --fresh --session): false unless
 * the handshake asked and the evidence arrived */
bool nacre_ssl_fresh_session(const SSL *ssl, struct nacre_fresh_view *v,
			     const uint8_t **evidence, size_t *len);

/* The sim root's certificate, for clients, beside its key file: the key
 * path with its extension replaced by ".crt" ("sim-root.pem" ->
 * "sim-root.crt", "root" -> "root.crt"). -1 when the key path is empty,
 * ends in "/" or already ends in ".crt", or out is too small. */
int nacre_sim_cert_path(const char *key_path, char *out, size_t len);

#endif
