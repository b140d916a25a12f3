/*
 * fuzz_nitro_doc.c: the Nitro document decoder on arbitrary bytes. Whatever
 * it accepts must respect every cap, re-encode to a document that decodes
 * to the same fields, and survive the chain and signature checks (with its
 * own cabundle[0] as root, so the certificate parsing and path building
 * run on fuzzed certificates too). The NSM response and request decoders
 * read the same input.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static void
check_doc(const struct nacre_nitro_doc *d)
{
	size_t n = 0;

	REQUIRE(d->module_id && d->module_id[0]);
	REQUIRE(strlen(d->module_id) <= NACRE_NITRO_MODULE_ID_MAX);
	REQUIRE(strcmp(d->digest, "SHA384") == 0 && d->timestamp_ms > 0);
	for (unsigned i = 0; i < NACRE_NITRO_PCR_SLOTS; i++)
		if (d->pcr_mask & (1u << i)) {
			REQUIRE(d->pcr_len[i] == 48);
			n++;
		}
	REQUIRE(n == d->npcrs && n >= 1);
	REQUIRE(d->ncabundle >= 1 && d->ncabundle <= NACRE_NITRO_CABUNDLE_MAX);
	for (size_t i = 0; i < d->ncabundle; i++)
		REQUIRE(d->cabundle_len[i] >= 1 &&
			d->cabundle_len[i] <= NACRE_NITRO_CERT_MAX);
	REQUIRE(d->certificate_len >= 1 &&
		d->certificate_len <= NACRE_NITRO_CERT_MAX);
	REQUIRE(!d->has_public_key || (d->public_key_len >= 1 &&
				       d->public_key_len <= 1024));
	REQUIRE(!d->has_user_data || d->user_data_len <= 1024);
	REQUIRE(!d->has_nonce || d->nonce_len <= 1024);
	REQUIRE(d->protected_len == 4 &&
		memcmp(d->protected_raw, nacre_nitro_protected_es384, 4) == 0);
	REQUIRE(d->payload_len >= 1 && d->payload_len <= NACRE_NITRO_PAYLOAD_MAX);
}

static bool
same_opt(bool ha, const uint8_t *a, size_t na, bool hb, const uint8_t *b,
	 size_t nb)
{
	return ha == hb && (!ha || (na == nb && (na == 0 || !memcmp(a, b, na))));
}

/* the encoder writes PCRs 0..n-1: re-encode when the document has those */
static void
roundtrip(const struct nacre_nitro_doc *d)
{
	uint8_t pcrs[NACRE_NITRO_PCR_SLOTS][48], sig[96] = { 0 };
	const uint8_t *cab[NACRE_NITRO_CABUNDLE_MAX];
	uint8_t *payload = NULL, *doc = NULL;
	size_t plen, len;
	struct nacre_nitro_doc *e = NULL;
	char err[512];

	if (d->pcr_mask != (uint32_t)((1ull << d->npcrs) - 1))
		return;
	for (size_t i = 0; i < d->npcrs; i++)
		memcpy(pcrs[i], d->pcr[i], 48);
	for (size_t i = 0; i < d->ncabundle; i++)
		cab[i] = d->cabundle[i];
	struct nacre_nitro_fields f = {
		.module_id = d->module_id, .timestamp_ms = d->timestamp_ms,
		.pcrs = (const uint8_t (*)[48])pcrs, .npcrs = d->npcrs,
		.certificate = d->certificate,
		.certificate_len = d->certificate_len, .cabundle = cab,
		.cabundle_len = d->cabundle_len, .ncabundle = d->ncabundle,
		.public_key = d->has_public_key ? d->public_key : NULL,
		.public_key_len = d->public_key_len,
		.user_data = d->has_user_data ? d->user_data : NULL,
		.user_data_len = d->user_data_len,
		.nonce = d->has_nonce ? d->nonce : NULL,
		.nonce_len = d->nonce_len,
	};
	/* an empty optional field has a non-NULL pointer: keep "present" */
	static const uint8_t none[1];
	if (d->has_user_data && !f.user_data)
		f.user_data = none;
	if (d->has_nonce && !f.nonce)
		f.nonce = none;
	REQUIRE(nacre_nitro_payload_encode(&f, &payload, &plen) == 0);
	if (plen > NACRE_NITRO_PAYLOAD_MAX) {
		free(payload);
		return;
	}
	struct nacre_cbw w = { 0 };
	nacre_cbw_head(&w, 4, 4);
	nacre_cbw_bytes(&w, nacre_nitro_protected_es384, 4);
	nacre_cbw_head(&w, 5, 0);
	nacre_cbw_bytes(&w, payload, plen);
	nacre_cbw_bytes(&w, sig, sizeof(sig));
	REQUIRE(nacre_cbw_finish(&w, &doc, &len) == 0);
	REQUIRE(nacre_nitro_doc_decode(doc, len, &e, err, sizeof(err)) == 0);
	REQUIRE(strcmp(e->module_id, d->module_id) == 0);
	REQUIRE(e->timestamp_ms == d->timestamp_ms && e->pcr_mask == d->pcr_mask);
	REQUIRE(memcmp(e->pcr, d->pcr, sizeof(d->pcr)) == 0);
	REQUIRE(e->ncabundle == d->ncabundle);
	for (size_t i = 0; i < d->ncabundle; i++)
		REQUIRE(e->cabundle_len[i] == d->cabundle_len[i] &&
			!memcmp(e->cabundle[i], d->cabundle[i], d->cabundle_len[i]));
	REQUIRE(e->certificate_len == d->certificate_len &&
		!memcmp(e->certificate, d->certificate, d->certificate_len));
	REQUIRE(same_opt(e->has_public_key, e->public_key, e->public_key_len,
			 d->has_public_key, d->public_key, d->public_key_len));
	REQUIRE(same_opt(e->has_user_data, e->user_data, e->user_data_len,
			 d->has_user_data, d->user_data, d->user_data_len));
	REQUIRE(same_opt(e->has_nonce, e->nonce, e->nonce_len, d->has_nonce,
			 d->nonce, d->nonce_len));
	nacre_nitro_doc_free(e);
	free(doc);
	free(payload);
}

static void
verify(const struct nacre_nitro_doc *d)
{
	const uint8_t *p = d->cabundle[0];
	X509 *root = d2i_X509(NULL, &p, (long)d->cabundle_len[0]);
	uint8_t *tbs = NULL;
	size_t tbs_len;
	char err[512];

	REQUIRE(nacre_nitro_doc_sig_structure(d, &tbs, &tbs_len) == 0);
	REQUIRE(tbs_len > d->payload_len);
	free(tbs);
	if (!root)
		return;
	EVP_PKEY *pub = nacre_nitro_doc_verify_chain(
		d, root, (time_t)(d->timestamp_ms / 1000), err, sizeof(err));
	REQUIRE(pub || err[0]);
	if (pub)
		nacre_nitro_doc_verify_sig(d, pub, err, sizeof(err));
	EVP_PKEY_free(pub);
	X509_free(root);
}

static void
nsm_side(const uint8_t *data, size_t size)
{
	struct nacre_nsm_response r;
	struct nacre_nsm_request q;
	char err[512];

	if (nacre_nsm_decode_response(data, size, &r, err, sizeof(err)) == 0) {
		REQUIRE(r.kind != NACRE_NSM_ATTESTATION ||
			(r.document && r.document_len >= 1));
		if (r.kind == NACRE_NSM_ERROR)
			nacre_nsm_error_message(&r, err, sizeof(err));
		nacre_nsm_response_free(&r);
	} else {
		REQUIRE(err[0] && r.document == NULL);
	}
	if (nacre_nsm_decode_request(data, size, &q, err, sizeof(err)) == 0) {
		REQUIRE(q.user_data_len <= size && q.nonce_len <= size);
		nacre_nsm_request_free(&q);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan sees any read past the end */
	uint8_t *copy = malloc(size ? size : 1);
	struct nacre_nitro_doc *d = NULL;
	char err[512] = "";

	memcpy(copy, data, size);
	int rc = nacre_nitro_doc_decode(copy, size, &d, err, sizeof(err));
	REQUIRE(rc == 0 ? d != NULL : (d == NULL && err[0]));
	if (d) {
		check_doc(d);
		roundtrip(d);
		verify(d);
		nacre_nitro_doc_free(d);
	}
	nsm_side(copy, size);
	free(copy);
	return 0;
}
