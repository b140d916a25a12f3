/*
 * snp_report.c: the AMD SEV-SNP ATTESTATION_REPORT (SNP ABI specification,
 * table "ATTESTATION_REPORT Structure"): 1184 bytes, little-endian, signed
 * over [0, 0x2a0) with ECDSA P-384 / SHA-384. Decoding only; what the
 * fields must be is snp_verify.c's business.
 */
#include <string.h>

#include "nacred.h"
#include "snp.h"

/* offsets in the report */
#define OFF_VERSION 0x000
#define OFF_GUEST_SVN 0x004
#define OFF_POLICY 0x008
#define OFF_FAMILY_ID 0x010
#define OFF_IMAGE_ID 0x020
#define OFF_VMPL 0x030
#define OFF_SIG_ALGO 0x034
#define OFF_CURRENT_TCB 0x038
#define OFF_PLATFORM_INFO 0x040
#define OFF_SIGNER_INFO 0x048
#define OFF_REPORT_DATA 0x050
#define OFF_MEASUREMENT 0x090
#define OFF_HOST_DATA 0x0c0
#define OFF_ID_KEY_DIGEST 0x0e0
#define OFF_AUTHOR_KEY_DIGEST 0x110
#define OFF_REPORT_ID 0x140
#define OFF_REPORT_ID_MA 0x160
#define OFF_REPORTED_TCB 0x180
#define OFF_CPUID_FAM_ID 0x188   /* version 3 and later */
#define OFF_CHIP_ID 0x1a0
#define OFF_COMMITTED_TCB 0x1e0
#define OFF_CURRENT_BUILD 0x1e8  /* build, minor, major, reserved */
#define OFF_COMMITTED_BUILD 0x1ec
#define OFF_LAUNCH_TCB 0x1f0
#define OFF_SIG_R 0x2a0
#define OFF_SIG_S 0x2e8
#define OFF_SIG_RESERVED 0x330   /* to the end: reserved, zero */

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

void
nacre_snp_tcb_decode(const uint8_t p[8], struct nacre_snp_tcb *t)
{
	t->raw = le64(p);
	t->bootloader = p[0];
	t->tee = p[1];
	t->snp = p[6];
	t->microcode = p[7];
}

int
nacre_snp_report_parse(const uint8_t *buf, size_t len,
		       struct nacre_snp_report *r, char *err, size_t errlen)
{
	const uint8_t *p = buf;

	memset(r, 0, sizeof(*r));
	if (!buf || len != NACRE_SNP_REPORT_LEN) {
		nacre_seterr(err, errlen, "The SEV-SNP report is %zu bytes; an "
			     "ATTESTATION_REPORT is exactly %d, so it was cut "
			     "short or is something else.", buf ? len : 0,
			     NACRE_SNP_REPORT_LEN);
		return NACRE_SNP_E_REPORT_SIZE;
	}
	r->version = le32(p + OFF_VERSION);
	if (r->version < NACRE_SNP_VERSION_MIN ||
	    r->version > NACRE_SNP_VERSION_MAX) {
		nacre_seterr(err, errlen, "The SEV-SNP report has version %u; "
			     "this verifier reads versions %d to %d, so the "
			     "firmware is too old or too new for it.",
			     r->version, NACRE_SNP_VERSION_MIN,
			     NACRE_SNP_VERSION_MAX);
		return NACRE_SNP_E_REPORT_VERSION;
	}
	r->signature_algo = le32(p + OFF_SIG_ALGO);
	if (r->signature_algo != NACRE_SNP_SIG_ECDSA_P384_SHA384) {
		nacre_seterr(err, errlen, "The SEV-SNP report's signature_algo "
			     "is %u; only 1 (ECDSA P-384 with SHA-384) is "
			     "defined, so the report is damaged or not from "
			     "AMD firmware.", r->signature_algo);
		return NACRE_SNP_E_SIG_ALGO;
	}
	r->signer_info = le32(p + OFF_SIGNER_INFO);
	r->author_key_en = r->signer_info & 1;
	r->mask_chip_id = (r->signer_info >> 1) & 1;
	r->signing_key = (r->signer_info >> 2) & 7;
	if (r->signing_key != NACRE_SNP_KEY_VCEK) {
		nacre_seterr(err, errlen, "The SEV-SNP report is signed by %s "
			     "(signing_key %u); this verifier checks "
			     "VCEK-signed reports only.",
			     r->signing_key == NACRE_SNP_KEY_VLEK ? "a VLEK" :
			     r->signing_key == NACRE_SNP_KEY_NONE ? "no key" :
			     "an unknown key", r->signing_key);
		return NACRE_SNP_E_SIGNING_KEY;
	}
	/* unsigned bytes: zero, so that no two accepted reports differ in
	 * bytes the signature does not cover but R and S */
	for (size_t i = OFF_SIG_RESERVED; i < NACRE_SNP_REPORT_LEN; i++)
		if (p[i]) {
			nacre_seterr(err, errlen, "The SEV-SNP report has a "
				     "non-zero byte at 0x%zx in the reserved "
				     "part of its signature field, which AMD "
				     "firmware leaves zero; the report was "
				     "altered.", i);
			return NACRE_SNP_E_REPORT_RESERVED;
		}
	r->guest_svn = le32(p + OFF_GUEST_SVN);
	r->policy = le64(p + OFF_POLICY);
	memcpy(r->family_id, p + OFF_FAMILY_ID, 16);
	memcpy(r->image_id, p + OFF_IMAGE_ID, 16);
	r->vmpl = le32(p + OFF_VMPL);
	nacre_snp_tcb_decode(p + OFF_CURRENT_TCB, &r->current_tcb);
	r->platform_info = le64(p + OFF_PLATFORM_INFO);
	memcpy(r->report_data, p + OFF_REPORT_DATA, 64);
	memcpy(r->measurement, p + OFF_MEASUREMENT, 48);
	memcpy(r->host_data, p + OFF_HOST_DATA, 32);
	memcpy(r->id_key_digest, p + OFF_ID_KEY_DIGEST, 48);
	memcpy(r->author_key_digest, p + OFF_AUTHOR_KEY_DIGEST, 48);
	memcpy(r->report_id, p + OFF_REPORT_ID, 32);
	memcpy(r->report_id_ma, p + OFF_REPORT_ID_MA, 32);
	nacre_snp_tcb_decode(p + OFF_REPORTED_TCB, &r->reported_tcb);
	if (r->version >= 3) {
		r->cpuid_fam_id = p[OFF_CPUID_FAM_ID];
		r->cpuid_mod_id = p[OFF_CPUID_FAM_ID + 1];
		r->cpuid_step = p[OFF_CPUID_FAM_ID + 2];
	}
	memcpy(r->chip_id, p + OFF_CHIP_ID, 64);
	nacre_snp_tcb_decode(p + OFF_COMMITTED_TCB, &r->committed_tcb);
	r->current_build = p[OFF_CURRENT_BUILD];
	r->current_minor = p[OFF_CURRENT_BUILD + 1];
	r->current_major = p[OFF_CURRENT_BUILD + 2];
	r->committed_build = p[OFF_COMMITTED_BUILD];
	r->committed_minor = p[OFF_COMMITTED_BUILD + 1];
	r->committed_major = p[OFF_COMMITTED_BUILD + 2];
	nacre_snp_tcb_decode(p + OFF_LAUNCH_TCB, &r->launch_tcb);
	memcpy(r->sig_r, p + OFF_SIG_R, NACRE_SNP_SIG_COMPONENT_LEN);
	memcpy(r->sig_s, p + OFF_SIG_S, NACRE_SNP_SIG_COMPONENT_LEN);
	memcpy(r->raw, p, NACRE_SNP_REPORT_LEN);
	return NACRE_SNP_OK;
}
