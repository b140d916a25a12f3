/*
 * tee.h: nacred's TDX and SEV-SNP evidence sources
 * (docs/evidence-format.md 9): the simulated TDX and SNP hardware
 * (tdx_sim.c, snp_sim.c), which make evidence in the real binary formats
 * signed by keys created on first use, and the Linux configfs-tsm
 * provider (tsm.c), which asks the real hardware (or a simulated tree).
 */
#ifndef NACRE_TEE_H
#define NACRE_TEE_H

#include <stddef.h>
#include <stdint.h>

/* ---- tdx_sim.c: a simulated TDX module + quoting enclave ---- */

struct nacre_tdx_sim;

/* Keys, certificates and collateral live in dir (created 0700 if
 * missing; private keys 0600): loaded when present, created on first use.
 * mrtd: the TD's measurement (MRTD); the RTMRs, MRCONFIGID, MROWNER are
 * zero. NULL with err naming the file and the fix. */
struct nacre_tdx_sim *nacre_tdx_sim_open(const char *dir,
					 const uint8_t mrtd[48], char *err,
					 size_t errlen);
/* A TDX quote version 4 (ECDSA P-256 attestation key, certification data
 * type 6 = QE report + type 5 = the simulated PCK chain as PEM) with
 * REPORTDATA = report_data, malloc'd. 0, or -1 with err. */
int nacre_tdx_sim_quote(struct nacre_tdx_sim *s, const uint8_t report_data[64],
			uint8_t **quote, size_t *len, char *err,
			size_t errlen);
void nacre_tdx_sim_free(struct nacre_tdx_sim *s);

/* ---- snp_sim.c: a simulated AMD secure processor ---- */

struct nacre_snp_sim;

/* ARK, ASK (RSA-4096, RSASSA-PSS) and VCEK (P-384, with AMD's VCEK
 * extensions) in dir, as for nacre_tdx_sim_open. measurement: the
 * guest's launch measurement. */
struct nacre_snp_sim *nacre_snp_sim_open(const char *dir,
					 const uint8_t measurement[48],
					 char *err, size_t errlen);
/* An ATTESTATION_REPORT (version 3, 1184 bytes) with REPORT_DATA =
 * report_data signed by the VCEK, malloc'd in *report; and, when certs is
 * not NULL, the certificate table the host would hand the guest
 * (configfs-tsm auxblob: GUID table of VCEK, ASK, ARK), malloc'd. 0, or
 * -1 with err. */
int nacre_snp_sim_report(struct nacre_snp_sim *s, const uint8_t report_data[64],
			 uint8_t **report, size_t *len, uint8_t **certs,
			 size_t *certs_len, char *err, size_t errlen);
void nacre_snp_sim_free(struct nacre_snp_sim *s);

#endif
