/*
 * tee_provider.h: nacred's TDX and SEV-SNP providers
 * (docs/evidence-format.md 9). provider_tee.c turns a report source
 * (struct nacre_tee_ops, attest.h) into the envelope and opens the
 * simulated TDX / SNP providers over tdx_sim.c / snp_sim.c; tsm.c is the
 * Linux configfs-tsm source, which asks the real hardware (or a plain
 * directory that emulates it, tests/tools/nacre-tsmsim.c).
 */
#ifndef NACRE_TEE_PROVIDER_H
#define NACRE_TEE_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest.h"

/* ---- provider_tee.c ---- */

/* The envelope (9.2) binding spki and the claims (encoded, may be NULL:
 * the claims are then {"v": 1}): the claims get "iat", REPORTDATA =
 * nacre_report_data(spki, claims), ops->report gives the quote / report,
 * which must be of the platform and carry that REPORTDATA (a source that
 * returns anything else is broken, and its evidence is not shipped).
 * Malloc'd in *ev. 0, or -1 with err. */
int nacre_tee_evidence(const struct nacre_tee_ops *ops, void *ctx,
		       enum nacre_tee_kind platform, const uint8_t *spki,
		       size_t spki_len, const uint8_t *claims,
		       size_t claims_len, uint8_t **ev, size_t *ev_len,
		       char *err, size_t errlen);

/* The simulated TDX (MRTD = measurement) or SNP (MEASUREMENT =
 * measurement) provider, its keys in dir (tee.h: created on first use
 * when create, else dir must exist); root_hex gets the SHA-256 of the
 * root a policy names (TDX: the SGX root, SNP: the ARK). Named "sim".
 * NULL with err. */
struct nacre_attest *nacre_tee_sim_open(enum nacre_tee_kind platform,
					const char *dir,
					const uint8_t measurement[48],
					bool create, char root_hex[65],
					char *err, size_t errlen);

/* ---- tsm.c: configfs-tsm (Linux 6.7+, Documentation/ABI/testing/
 * configfs-tsm-report) ---- */

#define NACRE_TSM_OUTBLOB_MAX 16384 /* a TD quote or an SNP report */
#define NACRE_TSM_AUXBLOB_MAX 40960 /* SNP's certificate table */
#define NACRE_TSM_TRIES 3           /* requests a concurrent writer spoils */

struct nacre_tsm_opts {
	const char *path;       /* the report directory */
	bool has_privlevel;     /* SNP VMPL, written when set */
	unsigned privlevel;     /* 0..3 */
};

/* Checks the report directory now (an entry made, its provider read,
 * removed): the platform is its provider's, "tdx_guest" (TDX) or
 * "sev_guest" (SNP). Named "tsm". NULL with err naming the cause and
 * the fix. */
struct nacre_attest *nacre_tsm_open(const struct nacre_tsm_opts *o,
				    char *err, size_t errlen);

/* the platform the provider file names; -1 for a name nacred does not
 * know */
int nacre_tsm_platform_of(const char *provider);

#endif
