/*
 * policy_int.h: the inside of struct nacre_policy and the policy file
 * parser's helpers, shared by policy.c (Nitro keys, the file), policy_tee.c
 * (the tdx and snp sections) and manifest.c (release manifests). Not
 * installed, not exported.
 */
#ifndef NACRE_POLICY_INT_H
#define NACRE_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "libnacre.h"

#define NACRE_POL_NPCRS 16
#define NACRE_POL_PCR_LEN 48
#define NACRE_TDX_TCB_FILES_MAX 8   /* tcbinfo*.json in one directory */
#define NACRE_SNP_CERT_FILES_MAX 64 /* certificates in snp.certs */
#define NACRE_MANIFESTS_MAX 64

/* a set of byte strings of one length (48: MRTD, RTMR, measurement; 32:
 * host data) */
struct nacre_vals {
	uint8_t *v;    /* n * len bytes */
	size_t n;
	size_t len;
};

/* a file read whole (collateral, certificates) */
struct nacre_blob {
	char *name;    /* the file's name, for messages */
	uint8_t *data; /* NUL-terminated copy too, for the JSON and PEM readers */
	size_t len;
};

struct nacre_policy_tdx {
	bool described;       /* a tdx section, or a manifest with tdx */
	bool intel_root;      /* "intel-sgx" (the default) */
	X509 **roots;         /* roots the policy names by file */
	size_t nroots;
	char *collateral_dir;
	/* tcbinfo*.json (several FMSPCs may sit in one directory) */
	struct nacre_blob tcb_info[NACRE_TDX_TCB_FILES_MAX];
	size_t ntcb_info;
	struct nacre_blob tcb_chain, qe_identity, qe_chain, root_crl, pck_crl;
	struct nacre_vals mrtd, rtmr[4], mrconfigid, mrowner;
	bool allow_debug;
	unsigned accept_tcb;  /* NACRE_TDX_TCB_BIT(...); 0: UpToDate only */
	uint64_t max_collateral_age_s;
};

struct nacre_policy_snp {
	bool described;
	unsigned amd_products; /* bit 1 << NACRE_SNP_PRODUCT_MILAN, GENOA */
	X509 **roots;          /* ARKs the policy names by file */
	size_t nroots;
	char *certs_dir;
	struct nacre_blob *certs; /* DER of every certificate in certs_dir */
	size_t ncerts;
	struct nacre_vals measurement, host_data, id_key_digest;
	bool allow_debug;
	bool allow_migration_agent;
	uint32_t max_vmpl;
	uint8_t min_bootloader, min_tee, min_snp, min_microcode;
};

/* one release manifest: the values it names, per platform */
struct nacre_manifest {
	char *release;
	char *path;
	uint32_t pcr_mask;
	uint8_t pcr[NACRE_POL_NPCRS][NACRE_POL_PCR_LEN];
	/* TDX: bit 0 mrtd, 1..4 rtmr0..3, 5 mrconfigid, 6 mrowner */
	unsigned tdx_mask;
	uint8_t tdx[7][48];
	/* SNP: bit 0 measurement, 1 host_data (32 bytes), 2 id_key_digest */
	unsigned snp_mask;
	uint8_t snp[3][48];
};

struct pcr_allow {
	uint8_t (*v)[NACRE_POL_PCR_LEN];
	size_t n;
};

struct nacre_policy {
	/* false while the implicit AWS default is the only root: the first
	 * explicit root replaces it */
	bool roots_explicit;
	X509 **roots;
	size_t nroots;
	uint8_t (*pins)[32];
	size_t npins;
	uint64_t max_age_ms;
	bool allow_debug;
	bool allow_any_code;  /* no PCR or module id pinned is fine */
	bool fresh;           /* ask for fresh, session-bound evidence */
	time_t now;
	struct pcr_allow pcr[NACRE_POL_NPCRS];
	char **module_ids;
	size_t nmodule_ids;
	/* Nitro named explicitly (top-level keys, the nitro section, a
	 * manifest with nitro values, a setter); a policy that names no
	 * platform at all describes Nitro, as before TDX and SNP existed */
	bool nitro_explicit;
	struct nacre_policy_tdx tdx;
	struct nacre_policy_snp snp;
	struct nacre_manifest *manifests;
	size_t nmanifests;
};

/* ---- the policy file parser (policy.c) ---- */
struct pctx {
	const char *name;
	const char *base_dir; /* relative paths start here; NULL: cwd */
	char *err;
	size_t errlen;
};

struct config_setting_t;
int nacre_pol_fail(struct pctx *c, const struct config_setting_t *s,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* every member of group g is named in known ("a, b, c") */
int nacre_pol_check_keys(struct pctx *c, const struct config_setting_t *g,
			 const char *where, const char *known);
bool nacre_pol_is_list(const struct config_setting_t *s);
const char *nacre_pol_elem_string(const struct config_setting_t *s, int i);
/* path relative to c->base_dir (or as given when absolute) */
void nacre_pol_path(const struct pctx *c, const char *v, char *out,
		    size_t len);
int nacre_pol_bool(struct pctx *c, const struct config_setting_t *s,
		   const char *what, bool *out);
/* parse the nitro keys (pcrs, module_ids, trust roots) of group g into p */
int nacre_pol_parse_pcrs(struct pctx *c, struct nacre_policy *p,
			 const struct config_setting_t *g, const char *where);
int nacre_pol_parse_module_ids(struct pctx *c, struct nacre_policy *p,
			       const struct config_setting_t *s,
			       const char *where);
int nacre_pol_parse_roots(struct pctx *c, struct nacre_policy *p,
			  const struct config_setting_t *roots,
			  const char *where);
/* a root certificate file (PEM, no private key, at most 64 KiB) */
X509 *nacre_pol_read_root(const char *path, char *err, size_t errlen);
/* "pcr0".."pcr15" -> 0..15; NACRE_POL_NPCRS otherwise */
unsigned nacre_pol_pcr_index(const char *name);

/* ---- policy_tee.c: the tdx and snp sections ---- */
int nacre_vals_add(struct nacre_vals *a, const uint8_t *v, size_t len);
bool nacre_vals_has(const struct nacre_vals *a, const uint8_t *v);
void nacre_vals_free(struct nacre_vals *a);
int nacre_pol_parse_tdx(struct pctx *c, struct nacre_policy *p,
			const struct config_setting_t *g);
int nacre_pol_parse_snp(struct pctx *c, struct nacre_policy *p,
			const struct config_setting_t *g);
void nacre_pol_tee_free(struct nacre_policy *p);
/* a regular file of at most max bytes, whole (binary safe, NUL added) */
int nacre_blob_read(const char *path, size_t max, const char *what,
		    struct nacre_blob *b, char *err, size_t errlen);
void nacre_blob_free(struct nacre_blob *b);

/* ---- manifest.c ---- */
int nacre_pol_parse_manifests(struct pctx *c, struct nacre_policy *p,
			      const struct config_setting_t *s);
void nacre_pol_manifests_free(struct nacre_policy *p);
/* The release of the first manifest that names values for the platform
 * and all of whose values equal the evidence's; NULL when none does.
 * Nitro: the PCRs present (mask, values); TDX: mrtd, rtmr0..3,
 * mrconfigid, mrowner in that order; SNP: measurement, host_data (32
 * bytes), id_key_digest. */
const char *nacre_manifest_match_nitro(const struct nacre_policy *p,
				       uint32_t pcr_mask,
				       const uint8_t (*pcr)[48]);
const char *nacre_manifest_match_tdx(const struct nacre_policy *p,
				     const uint8_t *const vals[7]);
const char *nacre_manifest_match_snp(const struct nacre_policy *p,
				     const uint8_t *const vals[3]);

#endif
