/*
 * attest.h: attestation building blocks. Providers turn (public key, claims,
 * nonce) into evidence with its CMW media type: an AWS Nitro attestation
 * document (COSE_Sign1), from /dev/nsm or from the software NSM ("sim"),
 * or a TDX / SEV-SNP envelope (docs/evidence-format.md 9) from
 * configfs-tsm ("tsm") or the simulated hardware ("sim", src/tee/).
 * The functions of each file are listed under the file's name.
 */
#ifndef NACRE_ATTEST_H
#define NACRE_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "nacred.h"

struct cbor_item_t; /* libcbor */

/* ---- nitro_doc.c: the Nitro attestation document format ---- */
/* (the nacre_cbor_* and nacre_cbw_* helpers below live in cbor_util.c) */

#define NACRE_NITRO_DOC_MAX 32768      /* whole COSE_Sign1, bytes */
#define NACRE_NITRO_PAYLOAD_MAX 16384  /* AWS: payload bstr .size (1..16384) */
#define NACRE_NITRO_FIELD_MAX 1024     /* user_data, nonce, public_key */
#define NACRE_NITRO_CERT_MAX 4096      /* certificate, each cabundle entry */
#define NACRE_NITRO_CABUNDLE_MAX 8
#define NACRE_NITRO_MODULE_ID_MAX 256
#define NACRE_NITRO_PCR_SLOTS 32       /* AWS: index = 0..31 */
#define NACRE_NITRO_SIG_LEN 96         /* ES384 raw r || s */

/* protected header {1: -35} (alg ES384), as NSM writes it */
extern const uint8_t nacre_nitro_protected_es384[4];

struct nacre_nitro_doc {
	char *module_id;
	char digest[8];                  /* "SHA384" */
	uint64_t timestamp_ms;           /* ms since the epoch, UTC */
	uint32_t pcr_mask;               /* bit i set: pcr[i] present */
	uint8_t pcr[NACRE_NITRO_PCR_SLOTS][64];
	uint8_t pcr_len[NACRE_NITRO_PCR_SLOTS];
	size_t npcrs;
	uint8_t *certificate;            /* DER, the signing (leaf) certificate */
	size_t certificate_len;
	uint8_t *cabundle[NACRE_NITRO_CABUNDLE_MAX]; /* DER, [root, ..., issuer] */
	size_t cabundle_len[NACRE_NITRO_CABUNDLE_MAX];
	size_t ncabundle;
	/* optional fields: has_* is false when absent or CBOR null */
	bool has_public_key, has_user_data, has_nonce;
	uint8_t *public_key, *user_data, *nonce;
	size_t public_key_len, user_data_len, nonce_len;
	/* the signed bytes, kept verbatim for the Sig_structure */
	uint8_t *protected_raw;
	size_t protected_len;
	uint8_t *payload_raw;
	size_t payload_len;
	uint8_t signature[NACRE_NITRO_SIG_LEN];
	bool tagged;                     /* COSE tag 18 was present */
	bool payload_indefinite;         /* payload map was indefinite-length */
};

/* Strict decoder; err names the field ("payload.pcrs[3]: expected 48 bytes,
 * got 12"). Returns 0 and *out (free with nacre_nitro_doc_free), or -1. */
int nacre_nitro_doc_decode(const uint8_t *buf, size_t len,
			   struct nacre_nitro_doc **out, char *err,
			   size_t errlen);
void nacre_nitro_doc_free(struct nacre_nitro_doc *d);
/* Sig_structure = ["Signature1", protected, h'', payload], malloc'd */
int nacre_nitro_doc_sig_structure(const struct nacre_nitro_doc *d,
				  uint8_t **out, size_t *len);
/* ES384 over the Sig_structure with the leaf's key; high-S accepted. */
int nacre_nitro_doc_verify_sig(const struct nacre_nitro_doc *d,
			       EVP_PKEY *leaf_pub, char *err, size_t errlen);
/* cabundle[0] must be root (DER-equal); cabundle[1..] then certificate must
 * chain to it, valid at time at. Returns the leaf public key (caller frees)
 * or NULL with err. */
EVP_PKEY *nacre_nitro_doc_verify_chain(const struct nacre_nitro_doc *d,
				       X509 *root, time_t at, char *err,
				       size_t errlen);

/* Encoder (the sim, tests): NSM's byte layout. NULL optional = CBOR null. */
struct nacre_nitro_fields {
	const char *module_id;
	uint64_t timestamp_ms;
	const uint8_t (*pcrs)[48];       /* npcrs SHA-384 PCRs, index 0.. */
	size_t npcrs;
	const uint8_t *certificate;
	size_t certificate_len;
	const uint8_t *const *cabundle;
	const size_t *cabundle_len;
	size_t ncabundle;
	const uint8_t *public_key, *user_data, *nonce;
	size_t public_key_len, user_data_len, nonce_len;
};
int nacre_nitro_payload_encode(const struct nacre_nitro_fields *f,
			       uint8_t **out, size_t *len);
/* untagged COSE_Sign1 [h'a1013822', {}, payload, sig] signed with key
 * (EC P-384) */
int nacre_nitro_sign(const uint8_t *payload, size_t payload_len,
		     EVP_PKEY *key, uint8_t **out, size_t *len);

/* CBOR helpers shared by the attestation files. Reading: a bounded
 * well-formedness walk first (no allocation; every declared length must fit
 * the input, depth and item count capped), then libcbor's cbor_load, then
 * "no trailing bytes". */
struct cbor_item_t *nacre_cbor_load(const uint8_t *buf, size_t len,
				    unsigned max_depth, size_t max_items,
				    char *err, size_t errlen);
/* one item head at *off (advanced past it); false if malformed/truncated */
bool nacre_cbor_head(const uint8_t *buf, size_t len, size_t *off,
		     unsigned *major, unsigned *ai, uint64_t *val);
/* definite-length byte / text string contents; false for anything else */
bool nacre_cbor_bytes(const struct cbor_item_t *it, const uint8_t **p,
		      size_t *n);
bool nacre_cbor_text(const struct cbor_item_t *it, const char **p, size_t *n);
bool nacre_cbor_text_eq(const struct cbor_item_t *it, const char *s);
bool nacre_cbor_is_null(const struct cbor_item_t *it); /* safe on floats */
const char *nacre_cbor_type_name(const struct cbor_item_t *it);

/* Writing: minimal-length heads, as serde_cbor / NSM write them. */
struct nacre_cbw {
	uint8_t *buf;
	size_t len, cap;
	bool failed;
};
void nacre_cbw_head(struct nacre_cbw *w, unsigned major, uint64_t val);
void nacre_cbw_raw(struct nacre_cbw *w, const void *p, size_t n);
void nacre_cbw_uint(struct nacre_cbw *w, uint64_t v);
void nacre_cbw_bytes(struct nacre_cbw *w, const uint8_t *p, size_t n);
void nacre_cbw_text(struct nacre_cbw *w, const char *s);
void nacre_cbw_null(struct nacre_cbw *w);
void nacre_cbw_opt_bytes(struct nacre_cbw *w, const uint8_t *p, size_t n);
/* hands the buffer over (0), or frees it (-1) after an allocation failure */
int nacre_cbw_finish(struct nacre_cbw *w, uint8_t **out, size_t *len);

/* ---- nsm_codec.c: NSM request / response CBOR (serde, externally tagged) ---- */

#define NACRE_NSM_REQUEST_MAX 4096
#define NACRE_NSM_RESPONSE_MAX 12288

enum nacre_nsm_error {  /* aws-nitro-enclaves-nsm-api ErrorCode, in order */
	NACRE_NSM_SUCCESS,
	NACRE_NSM_INVALID_ARGUMENT,
	NACRE_NSM_INVALID_INDEX,
	NACRE_NSM_INVALID_RESPONSE,
	NACRE_NSM_READ_ONLY_INDEX,
	NACRE_NSM_INVALID_OPERATION,
	NACRE_NSM_BUFFER_TOO_SMALL,
	NACRE_NSM_INPUT_TOO_LARGE,
	NACRE_NSM_INTERNAL_ERROR,
	NACRE_NSM_ERROR_UNKNOWN      /* a name this code does not know */
};

enum nacre_nsm_kind {
	NACRE_NSM_ATTESTATION,
	NACRE_NSM_DESCRIBE,
	NACRE_NSM_ERROR,
	NACRE_NSM_OTHER              /* requests only: a variant not simulated */
};

struct nacre_nsm_describe {
	uint16_t version_major, version_minor, version_patch;
	char module_id[NACRE_NITRO_MODULE_ID_MAX + 1];
	uint16_t max_pcrs;
	uint32_t locked_pcrs;        /* bit i: PCR i locked (indexes < 32) */
	char digest[8];
};

struct nacre_nsm_response {
	enum nacre_nsm_kind kind;
	uint8_t *document;           /* ATTESTATION, malloc'd */
	size_t document_len;
	struct nacre_nsm_describe describe;
	enum nacre_nsm_error error;  /* ERROR */
	char error_name[32];         /* as sent, for unknown codes */
};

struct nacre_nsm_request {
	enum nacre_nsm_kind kind;    /* ATTESTATION, DESCRIBE or OTHER */
	char variant[32];            /* the variant's name */
	/* ATTESTATION: pointers into the decoded request, NULL = null/absent */
	const uint8_t *user_data, *nonce, *public_key;
	size_t user_data_len, nonce_len, public_key_len;
	struct cbor_item_t *item_; /* owns the above; nacre_nsm_request_free */
};

/* {"Attestation": {"user_data": b|null, "nonce": b|null, "public_key": b|null}}
 * NULL pointer = null; a non-NULL pointer with length 0 = empty bstr. */
int nacre_nsm_encode_attestation(const uint8_t *user_data, size_t ud_len,
				 const uint8_t *nonce, size_t nonce_len,
				 const uint8_t *public_key, size_t pk_len,
				 uint8_t **out, size_t *len);
int nacre_nsm_encode_describe(uint8_t **out, size_t *len); /* "DescribeNSM" */
int nacre_nsm_decode_response(const uint8_t *buf, size_t len,
			      struct nacre_nsm_response *out, char *err,
			      size_t errlen);
void nacre_nsm_response_free(struct nacre_nsm_response *r);
/* the NSM side (sim): requests in, responses out */
int nacre_nsm_decode_request(const uint8_t *buf, size_t len,
			     struct nacre_nsm_request *out, char *err,
			     size_t errlen);
void nacre_nsm_request_free(struct nacre_nsm_request *r);
int nacre_nsm_encode_attestation_response(const uint8_t *doc, size_t len,
					  uint8_t **out, size_t *outlen);
int nacre_nsm_encode_describe_response(const struct nacre_nsm_describe *d,
				       uint8_t **out, size_t *len);
int nacre_nsm_encode_error_response(enum nacre_nsm_error e, uint8_t **out,
				    size_t *len);
const char *nacre_nsm_error_name(enum nacre_nsm_error e);
/* one sentence on what the code means and what to do */
const char *nacre_nsm_error_hint(enum nacre_nsm_error e);
/* "NSM refused the request: InvalidArgument (user_data, nonce ...)" */
void nacre_nsm_error_message(const struct nacre_nsm_response *r, char *err,
			     size_t errlen);

/* ---- nsm_dev.c: /dev/nsm transport ---- */

/* One request / response exchange. *resplen is the buffer's size on entry
 * and the response's length on return. 0 or -1 with err. */
typedef int (*nacre_nsm_transport)(void *ctx, const uint8_t *req,
				   size_t reqlen, uint8_t *resp,
				   size_t *resplen, char *err, size_t errlen);

/* fd, or -1 with err naming the cause and the fix */
int nacre_nsm_dev_open(const char *path, char *err, size_t errlen);
/* ctx: pointer to the int fd */
int nacre_nsm_dev_transport(void *ctx, const uint8_t *req, size_t reqlen,
			    uint8_t *resp, size_t *resplen, char *err,
			    size_t errlen);

/* ---- attest_nitro.c: providers over transport + codec ---- */

struct nacre_attest; /* a provider instance; requests are serialized */

/* The TEEs whose evidence is the envelope of docs/evidence-format.md 9
 * (Nitro's is an NSM document) */
enum nacre_tee_kind {
	NACRE_TEE_TDX = 1, /* the envelope holding a TD quote */
	NACRE_TEE_SNP      /* the envelope holding an SNP report */
};
/* NACRE_MEDIA_TYPE_TDX / _SNP; "tdx", "snp" */
const char *nacre_tee_kind_media_type(enum nacre_tee_kind k);
const char *nacre_tee_kind_name(enum nacre_tee_kind k);

/* Evidence binding the key spki (DER SubjectPublicKeyInfo) and the claims
 * map (docs/evidence-format.md 5, encoded; may be NULL for none), with
 * its CMW media type (static) in *media_type:
 *  - Nitro: an NSM document, public_key = spki, user_data = claims,
 *    nonce = nonce (both may be NULL: CBOR null);
 *  - TDX / SNP: the 9.2 envelope; the claims get "iat" (the guest's
 *    clock, 9.4), REPORTDATA = nacre_report_data(spki, claims), the quote
 *    or report from the hardware, SNP's certificates when the host gives
 *    them. There is no nonce field (fresh evidence binds its nonce in the
 *    "hs" claim, 8.3): nonce must be NULL.
 * The evidence is malloc'd in *ev. 0, or -1 with err. */
int nacre_attest_evidence(struct nacre_attest *a, const uint8_t *spki,
			  size_t spki_len, const uint8_t *claims,
			  size_t claims_len, const uint8_t *nonce,
			  size_t nonce_len, const char **media_type,
			  uint8_t **ev, size_t *ev_len, char *err,
			  size_t errlen);
/* the CMW media type of a's evidence (NACRE_MEDIA_TYPE_*) */
const char *nacre_attest_media_type(const struct nacre_attest *a);
/* a's evidence has a nonce field (Nitro); TDX and SNP bind a nonce in
 * the claims only */
bool nacre_attest_has_nonce(const struct nacre_attest *a);

/* A TDX / SNP evidence source (src/tee/): the hardware's quote or report
 * for 64 bytes of REPORTDATA, malloc'd in *ev; SNP: the host's
 * certificate table (configfs-tsm auxblob), malloc'd in *aux, when it
 * gives one (else NULL, 0). 0, or -1 with err. Called under the
 * provider's lock. */
struct nacre_tee_ops {
	int (*report)(void *ctx, const uint8_t report_data[64], uint8_t **ev,
		      size_t *ev_len, uint8_t **aux, size_t *aux_len,
		      char *err, size_t errlen);
	void (*free_ctx)(void *ctx);
};
/* a provider over a TDX / SNP source (ops static); free_ctx(ctx) runs on
 * the last nacre_attest_free, and here already when this fails (NULL) */
struct nacre_attest *nacre_attest_tee_wrap(const char *name,
					   enum nacre_tee_kind kind,
					   const struct nacre_tee_ops *ops,
					   void *ctx, char *err,
					   size_t errlen);

struct nacre_attest *nacre_attest_nitro_open(const char *dev, char *err,
					     size_t errlen);
/* nacre_attest_evidence without the media type: on Nitro a COSE_Sign1
 * attestation document binding spki (DER SubjectPublicKeyInfo), user_data
 * and nonce (both may be NULL: CBOR null), malloc'd in *doc. 0, or -1
 * with err. */
int nacre_attest_get(struct nacre_attest *a, const uint8_t *spki,
		     size_t spki_len, const uint8_t *user_data, size_t ud_len,
		     const uint8_t *nonce, size_t nonce_len, uint8_t **doc,
		     size_t *doc_len, char *err, size_t errlen);
/* "nitro", "sim", "tsm" */
const char *nacre_attest_name(const struct nacre_attest *a);
/* hex SHA-256 of the sim root's DER; NULL for nitro */
const char *nacre_attest_sim_root_sha256_hex(const struct nacre_attest *a);
/* the module_id the NSM reported (DescribeNSM) at open */
const char *nacre_attest_module_id(const struct nacre_attest *a);
/* another reference; nacre_attest_free drops one, the last frees */
struct nacre_attest *nacre_attest_ref(struct nacre_attest *a);
void nacre_attest_free(struct nacre_attest *a);
/* for providers: wrap a transport and ask it DescribeNSM once. free_ctx(ctx)
 * runs on nacre_attest_free, and here already when this fails (NULL). */
struct nacre_attest *nacre_attest_wrap(const char *name,
				       nacre_nsm_transport transport,
				       void *ctx, void (*free_ctx)(void *),
				       const char *root_sha256_hex,
				       char *err, size_t errlen);

/* ---- attest_sim.c: a software NSM for development and tests ---- */

struct nacre_sim;

/* Root (certificate and key, PEM, mode 0600) is loaded from root_pem_path or
 * created there on first use. pcrs may be NULL (all zero). */
struct nacre_attest *nacre_attest_sim_open(const char *root_pem_path,
					   const uint8_t pcrs[16][48],
					   char *err, size_t errlen);
struct nacre_sim *nacre_sim_new(const char *root_pem_path,
				const uint8_t pcrs[16][48], char *err,
				size_t errlen);
void nacre_sim_free(struct nacre_sim *s);
/* Speaks /dev/nsm's CBOR; *resplen: buffer size in, response length out.
 * Bad requests get an {"Error": ...} response, as the device would. */
int nacre_sim_request(struct nacre_sim *s, const uint8_t *req, size_t reqlen,
		      uint8_t *resp, size_t *resplen);
const char *nacre_sim_root_sha256_hex(const struct nacre_sim *s);
X509 *nacre_sim_root(const struct nacre_sim *s); /* borrowed */
/* tests: pretend the clock reads now (0: the real clock) */
void nacre_sim_set_time(struct nacre_sim *s, time_t now);

/* ---- evidence.c: the certificate extension and the claims map ---- */

#define NACRE_OID_PE_CMW "1.3.6.1.5.5.7.1.35"
/* the media type Veraison's AWS_NITRO scheme registers for NSM documents */
#define NACRE_MEDIA_TYPE_NITRO "application/aws-nitro-document"
#define NACRE_CMW_IND_EVIDENCE 4   /* cm-type bit 2: evidence */
#define NACRE_MEDIA_TYPE_MAX 256

enum nacre_evidence_status {
	NACRE_EV_OK = 0,
	NACRE_EV_ABSENT = -1,      /* no id-pe-cmw extension */
	NACRE_EV_CRITICAL = -2,    /* marked critical */
	NACRE_EV_DUPLICATE = -3,   /* more than one */
	NACRE_EV_MALFORMED = -4,   /* extnValue / CMW not as specified */
	NACRE_EV_UNSUPPORTED = -5, /* well-formed CMW of a kind we do not take */
	NACRE_EV_INTERNAL = -6     /* allocation failure */
};

/* adds (replacing any earlier one) the non-critical id-pe-cmw extension
 * holding the CBOR CMW record [media_type, doc, 4]; call it before signing
 * the certificate. 0 or -1. */
int nacre_evidence_add_to_cert(X509 *x, const char *media_type,
			       const uint8_t *doc, size_t len);
/* enum nacre_evidence_status; on NACRE_EV_OK *media_type and *doc are
 * malloc'd */
int nacre_evidence_from_cert(X509 *x, char **media_type, uint8_t **doc,
			     size_t *len, char *err, size_t errlen);
/* the same from the extension's extnValue contents (DER CMW CHOICE) */
int nacre_evidence_decode_extn_value(const uint8_t *der, size_t der_len,
				     char **media_type, uint8_t **doc,
				     size_t *len, char *err, size_t errlen);
/* DER of CMW ::= CHOICE { cbor OCTET STRING }: 04 len [mt, doc, 4] */
int nacre_evidence_encode_extn_value(const char *media_type,
				     const uint8_t *doc, size_t len,
				     uint8_t **out, size_t *outlen);

#define NACRE_CLAIMS_VERSION 1
#define NACRE_CLAIMS_URL_MAX 2048
#define NACRE_CLAIMS_KEYS_MAX 16

struct nacre_claims {
	uint64_t version;                /* NACRE_CLAIMS_VERSION */
	bool has_config;
	uint8_t config_sha256[32];       /* "cfg" */
	/* "hs" (fresh evidence only): SHA-256 binding the document to one
	 * handshake (docs/evidence-format.md 8.3) */
	bool has_binding;
	uint8_t binding[32];
	/* "iat" (TDX and SNP evidence): the guest's clock at signing, ms
	 * since the epoch (docs/evidence-format.md 9.4) */
	bool has_iat;
	uint64_t iat_ms;
	bool has_acme;
	char *acme_account_url;          /* "acme-url" */
	uint8_t acme_jwk_thumbprint[32]; /* "acme-jkt" (RFC 7638, SHA-256) */
	/* "acme-keys" (with has_acme, optional): SHA-256 of the DER
	 * SubjectPublicKeyInfo of each ACME certificate key the enclave
	 * made and still serves */
	size_t acme_nkeys;
	uint8_t acme_keys[NACRE_CLAIMS_KEYS_MAX][32];
};

/* deterministic CBOR map (RFC 8949 4.2.1 key order): {"v", "hs", "cfg",
 * "iat", "acme-jkt", "acme-url", "acme-keys"} */
int nacre_claims_encode(const struct nacre_claims *c, uint8_t **out,
			size_t *len);
int nacre_claims_decode(const uint8_t *buf, size_t len,
			struct nacre_claims *out, char *err, size_t errlen);
void nacre_claims_free(struct nacre_claims *c); /* frees the URL only */

#endif
