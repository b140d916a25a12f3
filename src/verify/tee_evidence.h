/*
 * tee_evidence.h: the TDX / SEV-SNP evidence envelope and REPORTDATA of
 * docs/evidence-format.md 9, shared by nacred (which makes them) and
 * libnacre (which checks them). Internal: not in include/nacre/verify.h.
 */
#ifndef NACRE_TEE_EVIDENCE_H
#define NACRE_TEE_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#define NACRE_MEDIA_TYPE_TDX "application/vnd.nacre.tdx-evidence+cbor"
#define NACRE_MEDIA_TYPE_SNP "application/vnd.nacre.snp-evidence+cbor"

#define NACRE_TEE_EVIDENCE_MAX 16384 /* key 1: quote or report */
#define NACRE_TEE_CLAIMS_MAX 4096    /* key 2 */
#define NACRE_TEE_CERT_MAX 8192      /* each entry of key 3 */
#define NACRE_TEE_CERTS_MAX 4
/* the whole envelope, with room for the CBOR heads */
#define NACRE_TEE_ENVELOPE_MAX                                              \
	(NACRE_TEE_EVIDENCE_MAX + NACRE_TEE_CLAIMS_MAX +                    \
	 NACRE_TEE_CERTS_MAX * NACRE_TEE_CERT_MAX + 64)

#define NACRE_REPORT_DATA_DOMAIN "nacre-report-data-v1"

/* {1: evidence, 2: claims, ? 3: [+ cert]}. Decoded pointers point into
 * the caller's buffer. */
struct nacre_tee_envelope {
	const uint8_t *evidence;
	size_t evidence_len;
	const uint8_t *claims;
	size_t claims_len;
	const uint8_t *certs[NACRE_TEE_CERTS_MAX];
	size_t certs_len[NACRE_TEE_CERTS_MAX];
	size_t ncerts;
};

/* Deterministic CBOR, malloc'd in *out. 0, or -1 (a field over its
 * limit, or out of memory). */
int nacre_tee_envelope_encode(const struct nacre_tee_envelope *e,
			      uint8_t **out, size_t *len);
/* Strict: definite lengths, minimal heads, keys 1 and 2 present, no other
 * keys, none twice, each within its limit, no trailing bytes. 0, or -1
 * with err naming the field. */
int nacre_tee_envelope_decode(const uint8_t *buf, size_t len,
			      struct nacre_tee_envelope *e, char *err,
			      size_t errlen);

/* SHA-512("nacre-report-data-v1" || u32be(len spki) || spki ||
 * u32be(len claims) || claims). 0 or -1. */
int nacre_report_data(const uint8_t *spki, size_t spki_len,
		      const uint8_t *claims, size_t claims_len,
		      uint8_t out[64]);

#endif
