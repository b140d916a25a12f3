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

/* what nacre_policy_check says of a policy that pins no code */
#define NACRE_UNPINNED_MSG \
	"the policy pins no code: add pcrs.pcr0 (the image measurement) or " \
	"module_ids, or allow_any_code = true to accept any enclave"
/* what every verification under allow_any_code reports (warning) */
#define NACRE_ANY_CODE_WARNING \
	"the policy pins no code (allow_any_code): any code in any enclave " \
	"under the trusted roots passes; pin pcrs.pcr0 or module_ids to " \
	"accept only yours"

/* The sim root's certificate, for clients, beside its key file: the key
 * path with its extension replaced by ".crt" ("sim-root.pem" ->
 * "sim-root.crt", "root" -> "root.crt"). -1 when the key path is empty,
 * ends in "/" or already ends in ".crt", or out is too small. */
int nacre_sim_cert_path(const char *key_path, char *out, size_t len);

#endif
