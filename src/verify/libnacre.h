/*
 * libnacre.h: what the files of libnacre share and do not export: the
 * policy's accessors (policy.c) used by the verifier (verify.c).
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

#endif
