/*
 * libnacre.h: what the files of libnacre share and do not export: the
 * policy's accessors (policy.c) used by the verifier (verify.c), and the
 * name of the sim root's certificate file (policy.c, attest_sim.c).
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
/* a PCR or a module id is pinned */
bool nacre_policy_pins_code(const struct nacre_policy *p);
/* nothing pinned and allow_any_code: every result carries the warning */
bool nacre_policy_any_code(const struct nacre_policy *p);
bool nacre_policy_fresh(const struct nacre_policy *p);

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
/* the verdict on the fresh evidence of ssl's handshake for leaf */
int nacre_ssl_fresh_verify(SSL *ssl, X509 *leaf, const struct nacre_policy *p,
			   struct nacre_result *r);
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
