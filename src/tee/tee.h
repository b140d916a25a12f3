/*
 * tee.h: nacred's TDX and SEV-SNP evidence sources
 * (docs/evidence-format.md 9): the simulated TDX and SNP hardware
 * (tdx_sim.c, snp_sim.c), which make evidence in the real binary formats
 * signed by keys created on first use, and the Linux configfs-tsm
 * provider (tsm.c), which asks the real hardware (or a simulated tree).
 */
#ifndef NACRE_TEE_H
#define NACRE_TEE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct nacre_tdx_collateral;	/* src/verify/tdx.h */

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

/* The files of a TDX sim dir (docs/evidence-format.md 9.7). Keys are PEM
 * certificate + private key, 0600; the rest is public, 0644. */
#define NACRE_TDX_SIM_ROOT_CRT "sgx-root.crt"	/* the root a policy names */
#define NACRE_TDX_SIM_ROOT_KEY "sgx-root.pem"
#define NACRE_TDX_SIM_PCK_CA_KEY "pck-platform-ca.pem"
#define NACRE_TDX_SIM_PCK_KEY "pck.pem"		/* PCK leaf, SGX extension */
#define NACRE_TDX_SIM_TCB_KEY "tcb-signing.pem"
#define NACRE_TDX_SIM_ATT_KEY "attestation-key.pem"	/* key only */
#define NACRE_TDX_SIM_TCB_INFO "tcb-info.json"	/* TCB Info v3, TDX */
#define NACRE_TDX_SIM_QE_IDENTITY "qe-identity.json"	/* TD_QE, v2 */
/* TCB Signing certificate + root: the issuer chain of both documents */
#define NACRE_TDX_SIM_TCB_CHAIN "tcb-signing-chain.pem"
#define NACRE_TDX_SIM_PCK_CRL "pck-crl.der"	/* by the PCK Platform CA */
#define NACRE_TDX_SIM_ROOT_CRL "root-crl.der"	/* by the root */

/* The simulated SGX root (owned by s): what a verifier must be given
 * (struct nacre_tdx_policy.root) to trust the sim's quotes */
X509 *nacre_tdx_sim_root(const struct nacre_tdx_sim *s);
/* SHA-256 of the root's DER, 64 hex digits */
const char *nacre_tdx_sim_root_sha256_hex(const struct nacre_tdx_sim *s);
/* The collateral as written to the dir (TCB Info, QE Identity, their
 * issuer chain, both CRLs), pointing into s: valid until the next call
 * on s. Re-signed when less than a week of it is left. 0, or -1 with
 * err. */
int nacre_tdx_sim_collateral(struct nacre_tdx_sim *s,
			     struct nacre_tdx_collateral *c, char *err,
			     size_t errlen);

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

/* The files of an SNP sim dir (docs/evidence-format.md 9.7) */
#define NACRE_SNP_SIM_ARK_CRT "ark.crt"	/* the ARK a policy names, PEM */
#define NACRE_SNP_SIM_ARK_KEY "ark.pem"	/* RSA-4096, 0600 */
#define NACRE_SNP_SIM_ASK_KEY "ask.pem"	/* RSA-4096, 0600 */
#define NACRE_SNP_SIM_VCEK_KEY "vcek.pem"	/* P-384, 0600 */
#define NACRE_SNP_SIM_VCEK_DER "vcek.der"	/* as AMD KDS serves it */
#define NACRE_SNP_SIM_CHAIN "cert_chain.pem"	/* ASK then ARK, as KDS */

/* The simulated ARK's DER (owned by s): what a verifier must be given
 * (struct nacre_snp_certs.trusted_ark) to trust the sim's reports */
const uint8_t *nacre_snp_sim_ark_der(const struct nacre_snp_sim *s,
				     size_t *len);
/* SHA-256 of the ARK's DER, 64 hex digits */
const char *nacre_snp_sim_ark_sha256_hex(const struct nacre_snp_sim *s);

/* ---- helpers the sims share (sim_store.c) ---- */

/* PATH (an absolute path, changed in place) and its missing parents with
 * MODE; -1 with errno when one cannot be made, PATH then cut after the one
 * that failed (for the message) */
int nacre_tee_sim_mkdirs(char *path, unsigned mode);
/* dir and its missing parents, 0700; -1 with err when it cannot be made
 * or is not a directory */
int nacre_tee_sim_mkdir(const char *dir, char *err, size_t errlen);
/* an exclusive lock on dir/.lock while keys are loaded or made: a file
 * descriptor to close, or -1 with err */
int nacre_tee_sim_lock(const char *dir, char *err, size_t errlen);
/* dir/name: a PEM certificate (when cert is not NULL) and private key,
 * mode 0600, no symlink. 1 loaded, 0 absent, -1 with err (which names
 * the file and says to delete it to start afresh). */
int nacre_tee_sim_load(const char *dir, const char *name, X509 **cert,
		       EVP_PKEY **key, char *err, size_t errlen);
/* dir/name written whole or not at all (a temporary file renamed) */
int nacre_tee_sim_write(const char *dir, const char *name, const void *data,
			size_t len, mode_t mode, char *err, size_t errlen);
/* cert (may be NULL) and key as PEM, mode 0600 */
int nacre_tee_sim_save(const char *dir, const char *name, X509 *cert,
		       EVP_PKEY *key, char *err, size_t errlen);
/* cert alone as PEM (mode 0644) */
int nacre_tee_sim_save_cert(const char *dir, const char *name, X509 *cert,
			    char *err, size_t errlen);
/* An unsigned version-3 certificate for the caller to sign: random
 * positive serial, subject O=nacre simulator, OU=ou, CN=cn; issuer's
 * subject as issuer (NULL: self-issued); validity from..to;
 * basicConstraints basic and keyUsage usage (X509v3 config syntax);
 * subject and authority key identifiers. NULL on error. */
X509 *nacre_tee_sim_cert_new(EVP_PKEY *key, const char *ou, const char *cn,
			     X509 *issuer, time_t from, time_t to,
			     const char *basic, const char *usage);
/* adds extension nid with value (X509v3 config syntax, issuer as the
 * authority: issuer == x for self-issued); the Nitro sim uses it too */
bool nacre_tee_sim_add_ext(X509 *x, X509 *issuer, int nid, const char *value);
/* a random positive 16-byte serial number */
bool nacre_tee_sim_random_serial(X509 *x);
/* the SHA-256 of x's DER in hex; 0, or -1 */
int nacre_tee_sim_cert_sha256_hex(X509 *x, char hex[65]);

#endif
