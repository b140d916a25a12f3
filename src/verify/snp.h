/*
 * snp.h: AMD SEV-SNP attestation reports inside libnacre, not exported
 * (neither in include/nacre/verify.h nor in libnacre.map): the report's
 * layout (snp_report.c), the VCEK -> ASK -> ARK chain and the VCEK's
 * extensions (snp_chain.c), and the verification of a report against a
 * caller's expectations (snp_verify.c). Layout and checks follow AMD's
 * SEV-SNP ABI specification (ATTESTATION_REPORT) and AMD's VCEK/KDS
 * specification; docs/evidence-format.md lists them check by check.
 *
 * The status codes are internal for now: the public enum
 * nacre_verify_status gets SNP values when SNP evidence is wired into
 * nacre_verify_cert, so that the ABI changes once, on purpose.
 */
#ifndef NACRE_SNP_H
#define NACRE_SNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* ---- snp_report.c: the ATTESTATION_REPORT structure ---- */

#define NACRE_SNP_REPORT_LEN 1184       /* 0x4a0 */
#define NACRE_SNP_SIGNED_LEN 0x2a0      /* the signature covers [0, 0x2a0) */
#define NACRE_SNP_VERSION_MIN 2
#define NACRE_SNP_VERSION_MAX 5
#define NACRE_SNP_SIG_ECDSA_P384_SHA384 1
#define NACRE_SNP_SIG_COMPONENT_LEN 72  /* R and S, little-endian */

/* POLICY bits */
#define NACRE_SNP_POLICY_SMT (1ULL << 16)
#define NACRE_SNP_POLICY_RESERVED_17 (1ULL << 17) /* must be one */
#define NACRE_SNP_POLICY_MIGRATE_MA (1ULL << 18)
#define NACRE_SNP_POLICY_DEBUG (1ULL << 19)
#define NACRE_SNP_POLICY_SINGLE_SOCKET (1ULL << 20)

/* SIGNING_KEY (bits 4:2 of the word at 0x48) */
#define NACRE_SNP_KEY_VCEK 0
#define NACRE_SNP_KEY_VLEK 1
#define NACRE_SNP_KEY_NONE 7

/* TCB_VERSION as Milan and Genoa lay it out: byte 0 boot loader, 1 TEE,
 * 2..5 reserved, 6 SNP firmware, 7 microcode */
struct nacre_snp_tcb {
	uint64_t raw;           /* the 8 bytes, little-endian */
	uint8_t bootloader;
	uint8_t tee;
	uint8_t snp;
	uint8_t microcode;
};

struct nacre_snp_report {
	uint32_t version;
	uint32_t guest_svn;
	uint64_t policy;
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t vmpl;
	uint32_t signature_algo;
	struct nacre_snp_tcb current_tcb;
	uint64_t platform_info;
	uint32_t signer_info;   /* the word at 0x48, decoded below */
	bool author_key_en;     /* bit 0 */
	bool mask_chip_id;      /* bit 1: chip_id is all zero */
	unsigned signing_key;   /* bits 4:2: NACRE_SNP_KEY_* */
	uint8_t report_data[64];
	uint8_t measurement[48];
	uint8_t host_data[32];
	uint8_t id_key_digest[48];
	uint8_t author_key_digest[48];
	uint8_t report_id[32];
	uint8_t report_id_ma[32];
	struct nacre_snp_tcb reported_tcb;
	uint8_t cpuid_fam_id;   /* version 3 and later; 0 before */
	uint8_t cpuid_mod_id;
	uint8_t cpuid_step;
	uint8_t chip_id[64];
	struct nacre_snp_tcb committed_tcb;
	uint8_t current_build, current_minor, current_major;
	uint8_t committed_build, committed_minor, committed_major;
	struct nacre_snp_tcb launch_tcb;
	uint8_t sig_r[NACRE_SNP_SIG_COMPONENT_LEN]; /* as in the report */
	uint8_t sig_s[NACRE_SNP_SIG_COMPONENT_LEN];
	uint8_t raw[NACRE_SNP_REPORT_LEN];          /* the report itself */
};

enum nacre_snp_status {
	NACRE_SNP_OK = 0,
	/* the report */
	NACRE_SNP_E_REPORT_SIZE,
	NACRE_SNP_E_REPORT_VERSION,
	NACRE_SNP_E_SIG_ALGO,
	NACRE_SNP_E_SIGNING_KEY,   /* VLEK or no key: not read yet */
	NACRE_SNP_E_REPORT_RESERVED,
	/* the certificates */
	NACRE_SNP_E_CERT_MALFORMED,
	NACRE_SNP_E_ARK_UNTRUSTED,
	NACRE_SNP_E_ARK_SIGNATURE,
	NACRE_SNP_E_ASK_SIGNATURE,
	NACRE_SNP_E_VCEK_SIGNATURE,
	NACRE_SNP_E_CERT_ALGORITHM, /* not RSASSA-PSS, SHA-384, salt 48 */
	NACRE_SNP_E_CERT_VALIDITY,
	NACRE_SNP_E_PRODUCT,
	/* the report against its VCEK */
	NACRE_SNP_E_TCB_MISMATCH,
	NACRE_SNP_E_CHIP_ID,
	NACRE_SNP_E_REPORT_SIGNATURE,
	/* the caller's expectations */
	NACRE_SNP_E_REPORT_DATA,
	NACRE_SNP_E_MEASUREMENT,
	NACRE_SNP_E_HOST_DATA,
	NACRE_SNP_E_ID_KEY_DIGEST,
	NACRE_SNP_E_AUTHOR_KEY_DIGEST,
	NACRE_SNP_E_DEBUG,
	NACRE_SNP_E_MIGRATE_MA,
	NACRE_SNP_E_VMPL,
	NACRE_SNP_E_TCB_TOO_LOW,
	NACRE_SNP_E_UNPINNED,
	NACRE_SNP_E_INTERNAL,
	NACRE_SNP_E_COUNT
};

/* Decodes a report: NACRE_SNP_OK, or the status of the first problem
 * (size, version 2..5, signature algorithm 1, VCEK-signed, reserved
 * bytes after S zero) with a sentence in err. */
int nacre_snp_report_parse(const uint8_t *buf, size_t len,
			   struct nacre_snp_report *r, char *err,
			   size_t errlen);
/* The 8 TCB bytes at p, Milan/Genoa layout */
void nacre_snp_tcb_decode(const uint8_t p[8], struct nacre_snp_tcb *t);

/* ---- snp_chain.c: VCEK -> ASK -> ARK ---- */

enum nacre_snp_product {
	NACRE_SNP_PRODUCT_ANY = 0, /* whichever pinned ARK signs */
	NACRE_SNP_PRODUCT_MILAN,
	NACRE_SNP_PRODUCT_GENOA,
};

/* "Milan", "Genoa"; "any" for NACRE_SNP_PRODUCT_ANY */
const char *nacre_snp_product_name(enum nacre_snp_product p);

/* DER certificates as AMD KDS and the guest's certificate table give them */
struct nacre_snp_certs {
	const uint8_t *vcek;
	size_t vcek_len;
	const uint8_t *ask;
	size_t ask_len;
	const uint8_t *ark;
	size_t ark_len;
	/* An extra trust anchor the caller names (DER), e.g. the ARK of
	 * nacre's simulated SNP (src/tee/snp_sim.c) that a policy pins;
	 * NULL: AMD's pinned ARKs only. The chain's ARK is trusted when it
	 * is byte for byte this certificate; its product is the one its
	 * subject CN names ("ARK-Milan", "ARK-Genoa"). Never fill it from
	 * the evidence (the certificate table): only from a policy. */
	const uint8_t *trusted_ark;
	size_t trusted_ark_len;
};

/* What the VCEK certifies (its AMD extensions) */
struct nacre_snp_vcek_info {
	char product_name[32];  /* 1.3.6.1.4.1.3704.1.2, e.g. "Milan-B0" */
	uint8_t tcb[8];         /* 1.3.6.1.4.1.3704.1.3.{1..8} laid out as a
				 * TCB_VERSION (bl, tee, spl_4..7, snp, ucode) */
	uint8_t hwid[64];       /* 1.3.6.1.4.1.3704.1.4 */
};

/* Checks the chain at time at: the ARK is pinned (SHA-256 of its DER) for
 * want (or any pinned product), or is c->trusted_ark, self-signed; ASK signed by ARK, VCEK by
 * ASK, each RSASSA-PSS SHA-384 salt 48; all valid at at; the VCEK's key
 * is EC P-384 and its product name is the ARK's product. On success the
 * VCEK's key (*vcek_key, EVP_PKEY_free it), its extensions and the
 * product; else the status with a sentence in err. */
int nacre_snp_chain_verify(const struct nacre_snp_certs *c, time_t at,
			   enum nacre_snp_product want,
			   EVP_PKEY **vcek_key, struct nacre_snp_vcek_info *info,
			   enum nacre_snp_product *product, char *err,
			   size_t errlen);
/* The VCEK's AMD extensions; 0, or -1 with err. */
int nacre_snp_vcek_extensions(X509 *vcek, struct nacre_snp_vcek_info *info,
			      char *err, size_t errlen);

/* ---- snp_certtable.c: the certificate table of an extended report ---- */

/* The table the host hands the guest with an extended report (SNP
 * GET_EXT_REPORT, configfs-tsm "auxblob"; GHCB specification, "SNP
 * Extended Guest Request"): entries of { GUID (16 bytes, in the order the
 * GUID is written: 63da758d-e664-... is 63 da 75 8d e6 64 ...), u32
 * offset, u32 length } (little-endian), ended by an all-zero entry, then
 * the DER certificates at their offsets. Bytes after the certificates
 * (page padding) are allowed. */
#define NACRE_SNP_CERTTABLE_ENTRY_LEN 24
#define NACRE_SNP_CERTTABLE_ENTRIES_MAX 8   /* before the terminator */
#define NACRE_SNP_CERTTABLE_CERT_MAX 8192
#define NACRE_SNP_CERTTABLE_MAX                                          \
	((NACRE_SNP_CERTTABLE_ENTRIES_MAX + 1) * NACRE_SNP_CERTTABLE_ENTRY_LEN + \
	 NACRE_SNP_CERTTABLE_ENTRIES_MAX * NACRE_SNP_CERTTABLE_CERT_MAX)

extern const uint8_t nacre_snp_guid_vcek[16]; /* 63da758d-e664-4564-adc5-f4b93be8accd */
extern const uint8_t nacre_snp_guid_vlek[16]; /* a8074bc2-a25a-483e-aae6-39c045a0b8a1 */
extern const uint8_t nacre_snp_guid_ask[16];  /* 4ab7b379-bbac-4fe4-a02f-05aef327c782 */
extern const uint8_t nacre_snp_guid_ark[16];  /* c0b406a4-a803-4952-9743-3fb6014cd0ae */

/* The certificates found, as slices of the caller's buffer (NULL, 0 when
 * absent). Unknown GUIDs are skipped (but bounds-checked). */
struct nacre_snp_certtable {
	const uint8_t *vcek;
	size_t vcek_len;
	const uint8_t *vlek;
	size_t vlek_len;
	const uint8_t *ask;
	size_t ask_len;
	const uint8_t *ark;
	size_t ark_len;
	size_t nentries;        /* entries before the terminator */
};

/* Strict: at most NACRE_SNP_CERTTABLE_MAX bytes; a terminator within
 * NACRE_SNP_CERTTABLE_ENTRIES_MAX + 1 entries; every entry's certificate
 * 1..NACRE_SNP_CERTTABLE_CERT_MAX bytes, inside the blob, after the table
 * and overlapping no other; each known GUID at most once. 0, or -1 with
 * err naming the entry and the problem. */
int nacre_snp_certtable_parse(const uint8_t *blob, size_t len,
			      struct nacre_snp_certtable *t, char *err,
			      size_t errlen);
/* The table of t's certificates (VCEK or VLEK, ASK, ARK; the absent ones
 * left out) followed by them, malloc'd in *out. 0, or -1 with err. */
int nacre_snp_certtable_encode(const struct nacre_snp_certtable *t,
			       uint8_t **out, size_t *len, char *err,
			       size_t errlen);

/* ---- snp_verify.c: a report against its chain and an expectation ---- */

/* What the caller accepts. A zeroed struct is the strictest: debug and
 * migration agents refused, VMPL 0 only, no TCB minimum, and no
 * measurement pinned, which fails (NACRE_SNP_E_UNPINNED) unless
 * allow_any_measurement. */
struct nacre_snp_expect {
	enum nacre_snp_product product;
	const uint8_t (*measurements)[48]; /* any of these passes */
	size_t nmeasurements;
	bool allow_any_measurement;
	bool has_report_data;              /* the caller's binding */
	uint8_t report_data[64];
	bool has_host_data;
	uint8_t host_data[32];
	bool has_id_key_digest;
	uint8_t id_key_digest[48];
	bool has_author_key_digest;
	uint8_t author_key_digest[48];
	bool allow_debug;
	bool allow_migrate_ma;
	uint32_t max_vmpl;
	/* per component of reported_tcb; 0 = no minimum */
	uint8_t min_bootloader, min_tee, min_snp, min_microcode;
};

struct nacre_snp_result {
	enum nacre_snp_status status;
	char message[512];     /* a sentence a person can act on */
	bool parsed;           /* report holds the decoded report */
	struct nacre_snp_report report;
	enum nacre_snp_product product; /* set once the chain verified */
};

/* The whole verification, first failure decides: report decoded, chain
 * (nacre_snp_chain_verify) at time at, VCEK's TCB == reported_tcb, hwID
 * == chip_id, report signature, then the expectations. Returns
 * r->status. */
int nacre_snp_verify(const uint8_t *report, size_t len,
		     const struct nacre_snp_certs *certs, time_t at,
		     const struct nacre_snp_expect *want,
		     struct nacre_snp_result *r);
/* The expectations alone, on a report whose signature and chain the
 * caller has checked (nacre_snp_verify's last step). Returns r->status. */
int nacre_snp_check_expect(const struct nacre_snp_report *rep,
			   const struct nacre_snp_expect *want,
			   struct nacre_snp_result *r);
/* The report's ECDSA P-384 / SHA-384 signature over [0, 0x2a0) with key;
 * 0, or -1 with err. */
int nacre_snp_report_verify_sig(const struct nacre_snp_report *rep,
				EVP_PKEY *key, char *err, size_t errlen);
/* "ok", "snp-report-size", ...; "unknown" for other values */
const char *nacre_snp_status_name(enum nacre_snp_status s);

#endif
