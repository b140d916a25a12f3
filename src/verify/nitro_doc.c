/*
 * nitro_doc.c: the AWS Nitro attestation document: a COSE_Sign1 (ES384)
 * whose payload is the NSM's CBOR map. Strict decoding of untrusted bytes,
 * signature and chain verification, and the encoder the sim uses to emit
 * the same bytes NSM does. The CBOR helpers are in cbor_util.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509_vfy.h>

#include "attest.h"

const uint8_t nacre_nitro_protected_es384[4] = { 0xa1, 0x01, 0x38, 0x22 };

/* ---------------------------------------------------------------------- */
/* Decoding the document. */

void
nacre_nitro_doc_free(struct nacre_nitro_doc *d)
{
	if (!d)
		return;
	free(d->module_id);
	free(d->certificate);
	for (size_t i = 0; i < d->ncabundle; i++)
		free(d->cabundle[i]);
	free(d->public_key);
	free(d->user_data);
	free(d->nonce);
	free(d->protected_raw);
	free(d->payload_raw);
	free(d);
}

static uint8_t *
dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	if (c && n)
		memcpy(c, p, n);
	return c;
}

/* a definite byte string of min..max bytes, copied */
static int
take_bytes(const cbor_item_t *v, const char *field, size_t min, size_t max,
	   uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	const uint8_t *p;
	size_t n;

	if (!nacre_cbor_bytes(v, &p, &n)) {
		nacre_seterr(err, errlen, "%s: expected a byte string, got %s", field,
		       nacre_cbor_type_name(v));
		return -1;
	}
	if (n < min || n > max) {
		nacre_seterr(err, errlen, "%s: %zu bytes, allowed %zu..%zu", field, n,
		       min, max);
		return -1;
	}
	if (!(*out = dup_bytes(p, n))) {
		nacre_seterr(err, errlen, "%s: out of memory", field);
		return -1;
	}
	*outlen = n;
	return 0;
}

/* byte string or null (= absent) */
static int
take_optional(const cbor_item_t *v, const char *field, size_t min,
	      bool *has, uint8_t **out, size_t *outlen, char *err,
	      size_t errlen)
{
	if (nacre_cbor_is_null(v)) {
		*has = false;
		return 0;
	}
	if (take_bytes(v, field, min, NACRE_NITRO_FIELD_MAX, out, outlen, err,
		       errlen) < 0)
		return -1;
	*has = true;
	return 0;
}

static int
take_module_id(struct nacre_nitro_doc *d, const cbor_item_t *v, char *err,
	       size_t errlen)
{
	const char *p;
	size_t n;

	if (!nacre_cbor_text(v, &p, &n)) {
		nacre_seterr(err, errlen, "payload.module_id: expected a text string, "
		       "got %s", nacre_cbor_type_name(v));
		return -1;
	}
	if (n == 0 || n > NACRE_NITRO_MODULE_ID_MAX) {
		nacre_seterr(err, errlen, "payload.module_id: %zu bytes, allowed 1..%d",
		       n, NACRE_NITRO_MODULE_ID_MAX);
		return -1;
	}
	/* it ends up in logs and JSON: printable ASCII only */
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e) {
			nacre_seterr(err, errlen, "payload.module_id: byte %zu is not "
			       "printable ASCII", i);
			return -1;
		}
	if (!(d->module_id = malloc(n + 1)))
		return nacre_seterr(err, errlen, "out of memory"), -1;
	memcpy(d->module_id, p, n);
	d->module_id[n] = '\0';
	return 0;
}

static int
take_digest(struct nacre_nitro_doc *d, const cbor_item_t *v, char *err,
	    size_t errlen)
{
	const char *p;
	size_t n;

	if (!nacre_cbor_text(v, &p, &n)) {
		nacre_seterr(err, errlen, "payload.digest: expected a text string, got "
		       "%s", nacre_cbor_type_name(v));
		return -1;
	}
	if (!nacre_cbor_text_eq(v, "SHA384")) {
		nacre_seterr(err, errlen, "payload.digest: expected \"SHA384\", got "
		       "\"%.*s\"", (int)(n > 16 ? 16 : n), p);
		return -1;
	}
	memcpy(d->digest, "SHA384", 7);
	return 0;
}

static int
take_timestamp(struct nacre_nitro_doc *d, const cbor_item_t *v, char *err,
	       size_t errlen)
{
	if (!cbor_isa_uint(v)) {
		nacre_seterr(err, errlen, "payload.timestamp: expected an unsigned "
		       "integer, got %s", nacre_cbor_type_name(v));
		return -1;
	}
	d->timestamp_ms = cbor_get_int(v);
	if (d->timestamp_ms == 0) {
		nacre_seterr(err, errlen, "payload.timestamp: must be greater than 0");
		return -1;
	}
	return 0;
}

static int
take_pcrs(struct nacre_nitro_doc *d, const cbor_item_t *v, char *err,
	  size_t errlen)
{
	if (!cbor_isa_map(v)) {
		nacre_seterr(err, errlen, "payload.pcrs: expected a map, got %s",
		       nacre_cbor_type_name(v));
		return -1;
	}
	size_t n = cbor_map_size(v);
	struct cbor_pair *kv = cbor_map_handle(v);
	if (n == 0 || n > NACRE_NITRO_PCR_SLOTS) {
		nacre_seterr(err, errlen, "payload.pcrs: %zu entries, allowed 1..%d", n,
		       NACRE_NITRO_PCR_SLOTS);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p;
		size_t len;

		if (!cbor_isa_uint(kv[i].key) ||
		    cbor_get_int(kv[i].key) >= NACRE_NITRO_PCR_SLOTS) {
			nacre_seterr(err, errlen, "payload.pcrs: key %zu is not a PCR "
			       "index 0..31", i);
			return -1;
		}
		unsigned idx = (unsigned)cbor_get_int(kv[i].key);
		if (d->pcr_mask & (1u << idx)) {
			nacre_seterr(err, errlen, "payload.pcrs[%u]: duplicate index",
			       idx);
			return -1;
		}
		if (!nacre_cbor_bytes(kv[i].value, &p, &len)) {
			nacre_seterr(err, errlen, "payload.pcrs[%u]: expected a byte "
			       "string, got %s", idx,
			       nacre_cbor_type_name(kv[i].value));
			return -1;
		}
		if (len != 32 && len != 48 && len != 64) {
			nacre_seterr(err, errlen, "payload.pcrs[%u]: expected 48 bytes, "
			       "got %zu", idx, len);
			return -1;
		}
		memcpy(d->pcr[idx], p, len);
		d->pcr_len[idx] = (uint8_t)len;
		d->pcr_mask |= 1u << idx;
		d->npcrs++;
	}
	return 0;
}

static int
take_cabundle(struct nacre_nitro_doc *d, const cbor_item_t *v, char *err,
	      size_t errlen)
{
	char field[48];

	if (!cbor_isa_array(v)) {
		nacre_seterr(err, errlen, "payload.cabundle: expected an array, got %s",
		       nacre_cbor_type_name(v));
		return -1;
	}
	size_t n = cbor_array_size(v);
	cbor_item_t **items = cbor_array_handle(v);
	if (n == 0 || n > NACRE_NITRO_CABUNDLE_MAX) {
		nacre_seterr(err, errlen, "payload.cabundle: %zu certificates, allowed "
		       "1..%d", n, NACRE_NITRO_CABUNDLE_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "payload.cabundle[%zu]", i);
		if (take_bytes(items[i], field, 1, NACRE_NITRO_CERT_MAX,
			       &d->cabundle[i], &d->cabundle_len[i], err,
			       errlen) < 0)
			return -1;
		d->ncabundle = i + 1;
	}
	return 0;
}

enum { F_MODULE_ID, F_DIGEST, F_TIMESTAMP, F_PCRS, F_CERTIFICATE,
       F_CABUNDLE, F_PUBLIC_KEY, F_USER_DATA, F_NONCE, F_COUNT };

static const char *const field_names[F_COUNT] = {
	"module_id", "digest", "timestamp", "pcrs", "certificate",
	"cabundle", "public_key", "user_data", "nonce"
};

static int
take_field(struct nacre_nitro_doc *d, int f, const cbor_item_t *v,
	   char *err, size_t errlen)
{
	switch (f) {
	case F_MODULE_ID: return take_module_id(d, v, err, errlen);
	case F_DIGEST: return take_digest(d, v, err, errlen);
	case F_TIMESTAMP: return take_timestamp(d, v, err, errlen);
	case F_PCRS: return take_pcrs(d, v, err, errlen);
	case F_CERTIFICATE:
		return take_bytes(v, "payload.certificate", 1,
				  NACRE_NITRO_CERT_MAX, &d->certificate,
				  &d->certificate_len, err, errlen);
	case F_CABUNDLE: return take_cabundle(d, v, err, errlen);
	case F_PUBLIC_KEY:
		return take_optional(v, "payload.public_key", 1,
				     &d->has_public_key, &d->public_key,
				     &d->public_key_len, err, errlen);
	case F_USER_DATA:
		return take_optional(v, "payload.user_data", 0,
				     &d->has_user_data, &d->user_data,
				     &d->user_data_len, err, errlen);
	default:
		return take_optional(v, "payload.nonce", 0, &d->has_nonce,
				     &d->nonce, &d->nonce_len, err, errlen);
	}
}

static int
field_index(const cbor_item_t *key, char *err, size_t errlen)
{
	if (cbor_isa_string(key) && !cbor_string_is_definite(key)) {
		/* other decoders would join the chunks; refuse to differ */
		nacre_seterr(err, errlen, "payload: indefinite-length text key");
		return -2;
	}
	for (int f = 0; f < F_COUNT; f++)
		if (nacre_cbor_text_eq(key, field_names[f]))
			return f;
	return -1; /* unknown keys are ignored */
}

static int
decode_payload(struct nacre_nitro_doc *d, char *err, size_t errlen)
{
	char why[160];
	bool seen[F_COUNT] = { false };
	cbor_item_t *map = nacre_cbor_load(d->payload_raw, d->payload_len, 6,
					   1024, why, sizeof(why));
	int rc = -1;

	if (!map) {
		nacre_seterr(err, errlen, "payload: %s", why);
		return -1;
	}
	if (!cbor_isa_map(map)) {
		nacre_seterr(err, errlen, "payload: expected a map, got %s",
		       nacre_cbor_type_name(map));
		goto out;
	}
	d->payload_indefinite = cbor_map_is_indefinite(map);
	struct cbor_pair *kv = cbor_map_handle(map);
	for (size_t i = 0; i < cbor_map_size(map); i++) {
		int f = field_index(kv[i].key, err, errlen);
		if (f == -2)
			goto out;
		if (f < 0)
			continue;
		if (seen[f]) {
			nacre_seterr(err, errlen, "payload: duplicate key \"%s\"",
			       field_names[f]);
			goto out;
		}
		seen[f] = true;
		if (take_field(d, f, kv[i].value, err, errlen) < 0)
			goto out;
	}
	for (int f = 0; f <= F_CABUNDLE; f++)
		if (!seen[f]) {
			nacre_seterr(err, errlen, "payload: missing \"%s\"",
			       field_names[f]);
			goto out;
		}
	/* digest is SHA384: every PCR must be a SHA-384 value */
	for (unsigned i = 0; i < NACRE_NITRO_PCR_SLOTS; i++)
		if ((d->pcr_mask & (1u << i)) && d->pcr_len[i] != 48) {
			nacre_seterr(err, errlen, "payload.pcrs[%u]: expected 48 bytes, "
			       "got %u", i, d->pcr_len[i]);
			goto out;
		}
	rc = 0;
out:
	cbor_decref(&map);
	return rc;
}

static int
check_protected(const uint8_t *p, size_t n, char *err, size_t errlen)
{
	char why[160];
	cbor_item_t *h;
	int ok;

	if (n == 0 || n > 64) {
		nacre_seterr(err, errlen, "COSE_Sign1: protected header must be {1: -35} "
		       "(ES384), got %zu bytes", n);
		return -1;
	}
	if (!(h = nacre_cbor_load(p, n, 2, 16, why, sizeof(why)))) {
		nacre_seterr(err, errlen, "COSE_Sign1: protected header: %s", why);
		return -1;
	}
	ok = cbor_isa_map(h) && cbor_map_size(h) == 1;
	if (ok) {
		struct cbor_pair *kv = cbor_map_handle(h);
		ok = cbor_isa_uint(kv[0].key) && cbor_get_int(kv[0].key) == 1 &&
		     cbor_isa_negint(kv[0].value) &&
		     cbor_get_int(kv[0].value) == 34; /* -1 - 34 = -35 */
	}
	cbor_decref(&h);
	if (!ok) {
		nacre_seterr(err, errlen, "COSE_Sign1: protected header must be {1: -35} "
		       "(ES384)");
		return -1;
	}
	return 0;
}

static int
decode_cose(struct nacre_nitro_doc *d, cbor_item_t *arr, char *err,
	    size_t errlen)
{
	const uint8_t *p;
	size_t n;

	if (!cbor_isa_array(arr) || cbor_array_size(arr) != 4) {
		nacre_seterr(err, errlen, "COSE_Sign1: expected an array of 4, got %s",
		       cbor_isa_array(arr) ? "another array length" :
		       nacre_cbor_type_name(arr));
		return -1;
	}
	cbor_item_t **it = cbor_array_handle(arr);
	if (!nacre_cbor_bytes(it[0], &p, &n)) {
		nacre_seterr(err, errlen, "COSE_Sign1: protected: expected a byte "
		       "string, got %s", nacre_cbor_type_name(it[0]));
		return -1;
	}
	if (check_protected(p, n, err, errlen) < 0)
		return -1;
	if (!(d->protected_raw = dup_bytes(p, n)))
		return nacre_seterr(err, errlen, "out of memory"), -1;
	d->protected_len = n;
	if (!cbor_isa_map(it[1])) {
		nacre_seterr(err, errlen, "COSE_Sign1: unprotected: expected a map, got "
		       "%s", nacre_cbor_type_name(it[1]));
		return -1;
	}
	if (take_bytes(it[2], "COSE_Sign1: payload", 1, NACRE_NITRO_PAYLOAD_MAX,
		       &d->payload_raw, &d->payload_len, err, errlen) < 0)
		return -1;
	if (!nacre_cbor_bytes(it[3], &p, &n)) {
		nacre_seterr(err, errlen, "COSE_Sign1: signature: expected a byte "
		       "string, got %s", nacre_cbor_type_name(it[3]));
		return -1;
	}
	if (n != NACRE_NITRO_SIG_LEN) {
		nacre_seterr(err, errlen, "COSE_Sign1: signature: expected %d bytes "
		       "(ES384 r||s), got %zu", NACRE_NITRO_SIG_LEN, n);
		return -1;
	}
	memcpy(d->signature, p, n);
	return decode_payload(d, err, errlen);
}

/* COSE_Sign1 may carry tag 18. libcbor 0.8 refuses tags 6..20 outright,
 * so the tag is read here and only the array goes to libcbor. */
static int
strip_tag(const uint8_t *buf, size_t len, size_t *off, bool *tagged,
	  char *err, size_t errlen)
{
	size_t pos = 0;
	unsigned major, ai;
	uint64_t tag;

	*off = 0;
	*tagged = false;
	if (len == 0 || buf[0] >> 5 != 6)
		return 0;
	if (!nacre_cbor_head(buf, len, &pos, &major, &ai, &tag) || ai == 31) {
		nacre_seterr(err, errlen, "COSE_Sign1: malformed tag");
		return -1;
	}
	if (tag != 18) {
		nacre_seterr(err, errlen, "COSE_Sign1: unexpected tag %llu (18 or none)",
		       (unsigned long long)tag);
		return -1;
	}
	*off = pos;
	*tagged = true;
	return 0;
}

int
nacre_nitro_doc_decode(const uint8_t *buf, size_t len,
		       struct nacre_nitro_doc **out, char *err, size_t errlen)
{
	char why[160];
	struct nacre_nitro_doc *d;
	cbor_item_t *arr;
	size_t off;
	bool tagged;
	int rc;

	*out = NULL;
	if (len > NACRE_NITRO_DOC_MAX) {
		nacre_seterr(err, errlen, "attestation document is %zu bytes, more than "
		       "the %d allowed", len, NACRE_NITRO_DOC_MAX);
		return -1;
	}
	if (strip_tag(buf, len, &off, &tagged, err, errlen) < 0)
		return -1;
	if (!(arr = nacre_cbor_load(buf + off, len - off, 8, 1024, why,
				    sizeof(why)))) {
		nacre_seterr(err, errlen, "COSE_Sign1: %s", why);
		return -1;
	}
	if (!(d = calloc(1, sizeof(*d)))) {
		cbor_decref(&arr);
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	d->tagged = tagged;
	rc = decode_cose(d, arr, err, errlen);
	cbor_decref(&arr);
	if (rc < 0)
		nacre_nitro_doc_free(d);
	else
		*out = d;
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Signatures. */

static int
sig_structure(const uint8_t *prot, size_t prot_len, const uint8_t *payload,
	      size_t payload_len, uint8_t **out, size_t *len)
{
	struct nacre_cbw w = { 0 };

	nacre_cbw_head(&w, 4, 4);
	nacre_cbw_text(&w, "Signature1");
	nacre_cbw_bytes(&w, prot, prot_len);
	nacre_cbw_bytes(&w, NULL, 0); /* external_aad */
	nacre_cbw_bytes(&w, payload, payload_len);
	return nacre_cbw_finish(&w, out, len);
}

int
nacre_nitro_doc_sig_structure(const struct nacre_nitro_doc *d, uint8_t **out,
			      size_t *len)
{
	return sig_structure(d->protected_raw, d->protected_len,
			     d->payload_raw, d->payload_len, out, len);
}

static bool
is_p384(EVP_PKEY *k)
{
	char group[32];
	size_t n = 0;

	return k && EVP_PKEY_is_a(k, "EC") &&
	       EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME,
					      group, sizeof(group), &n) == 1 &&
	       strcmp(group, "secp384r1") == 0;
}

/* raw r || s (48 + 48) -> DER ECDSA-Sig-Value */
static int
raw_to_der(const uint8_t raw[96], uint8_t **der, size_t *len)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 48, NULL), *ss = BN_bin2bn(raw + 48, 48, NULL);
	int n;

	*der = NULL;
	if (!s || !r || !ss || !ECDSA_SIG_set0(s, r, ss)) {
		ECDSA_SIG_free(s);
		BN_free(r);
		BN_free(ss);
		return -1;
	}
	n = i2d_ECDSA_SIG(s, der);
	ECDSA_SIG_free(s);
	if (n <= 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

int
nacre_nitro_doc_verify_sig(const struct nacre_nitro_doc *d,
			   EVP_PKEY *leaf_pub, char *err, size_t errlen)
{
	uint8_t *tbs = NULL, *der = NULL;
	size_t tbs_len, der_len;
	EVP_MD_CTX *md = NULL;
	int rc = -1;

	if (!is_p384(leaf_pub)) {
		nacre_seterr(err, errlen, "signature: the signing key is not EC P-384");
		return -1;
	}
	if (nacre_nitro_doc_sig_structure(d, &tbs, &tbs_len) < 0 ||
	    raw_to_der(d->signature, &der, &der_len) < 0 ||
	    !(md = EVP_MD_CTX_new())) {
		nacre_seterr(err, errlen, "signature: out of memory");
		goto out;
	}
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, leaf_pub) != 1 ||
	    EVP_DigestVerify(md, der, der_len, tbs, tbs_len) != 1) {
		nacre_seterr(err, errlen, "signature: ES384 signature does not verify "
		       "with the document's certificate");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	free(tbs);
	return rc;
}

int
nacre_nitro_sign(const uint8_t *payload, size_t payload_len, EVP_PKEY *key,
		 uint8_t **out, size_t *len)
{
	const uint8_t *prot = nacre_nitro_protected_es384;
	uint8_t *tbs = NULL, *der = NULL, raw[96];
	size_t tbs_len, der_len = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ECDSA_SIG *sig = NULL;
	struct nacre_cbw w = { 0 };
	int rc = -1;

	*out = NULL;
	if (!md || !is_p384(key) ||
	    sig_structure(prot, 4, payload, payload_len, &tbs, &tbs_len) < 0)
		goto out;
	if (EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &der_len, tbs, tbs_len) != 1 ||
	    !(der = OPENSSL_malloc(der_len)) ||
	    EVP_DigestSign(md, der, &der_len, tbs, tbs_len) != 1)
		goto out;
	const uint8_t *p = der;
	if (!(sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) ||
	    BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 48) != 48 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 48, 48) != 48)
		goto out;
	nacre_cbw_head(&w, 4, 4);
	nacre_cbw_bytes(&w, prot, 4);
	nacre_cbw_head(&w, 5, 0);
	nacre_cbw_bytes(&w, payload, payload_len);
	nacre_cbw_bytes(&w, raw, sizeof(raw));
	rc = nacre_cbw_finish(&w, out, len);
out:
	ERR_clear_error();
	ECDSA_SIG_free(sig);
	OPENSSL_free(der);
	free(tbs);
	EVP_MD_CTX_free(md);
	return rc;
}

int
nacre_nitro_payload_encode(const struct nacre_nitro_fields *f, uint8_t **out,
			   size_t *len)
{
	struct nacre_cbw w = { 0 };

	/* NSM's key order (serde field order of AttestationDoc) */
	nacre_cbw_head(&w, 5, 9);
	nacre_cbw_text(&w, "module_id");
	nacre_cbw_text(&w, f->module_id);
	nacre_cbw_text(&w, "digest");
	nacre_cbw_text(&w, "SHA384");
	nacre_cbw_text(&w, "timestamp");
	nacre_cbw_uint(&w, f->timestamp_ms);
	nacre_cbw_text(&w, "pcrs");
	nacre_cbw_head(&w, 5, f->npcrs);
	for (size_t i = 0; i < f->npcrs; i++) {
		nacre_cbw_uint(&w, i);
		nacre_cbw_bytes(&w, f->pcrs[i], 48);
	}
	nacre_cbw_text(&w, "certificate");
	nacre_cbw_bytes(&w, f->certificate, f->certificate_len);
	nacre_cbw_text(&w, "cabundle");
	nacre_cbw_head(&w, 4, f->ncabundle);
	for (size_t i = 0; i < f->ncabundle; i++)
		nacre_cbw_bytes(&w, f->cabundle[i], f->cabundle_len[i]);
	nacre_cbw_text(&w, "public_key");
	nacre_cbw_opt_bytes(&w, f->public_key, f->public_key_len);
	nacre_cbw_text(&w, "user_data");
	nacre_cbw_opt_bytes(&w, f->user_data, f->user_data_len);
	nacre_cbw_text(&w, "nonce");
	nacre_cbw_opt_bytes(&w, f->nonce, f->nonce_len);
	return nacre_cbw_finish(&w, out, len);
}

/* ---------------------------------------------------------------------- */
/* The certificate chain. */

static X509 *
parse_der_cert(const uint8_t *der, size_t len, const char *field, char *err,
	       size_t errlen)
{
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	if (!x || p != der + len) {
		X509_free(x);
		nacre_seterr(err, errlen, "%s: not a DER X.509 certificate", field);
		return NULL;
	}
	return x;
}

static void
sha256_hex(const uint8_t *p, size_t n, char out[65])
{
	uint8_t md[32];

	SHA256(p, n, md);
	nacre_hex_encode(md, sizeof(md), out);
}

static void
iso_time(time_t t, char *out, size_t n)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, n, "@%lld", (long long)t);
}

/* cabundle[0] is the pinned root, byte for byte */
static int
check_root(const struct nacre_nitro_doc *d, X509 *root, char *err,
	   size_t errlen)
{
	uint8_t *der = NULL;
	int n = i2d_X509(root, &der);
	char got[65] = "-", want[65];

	if (n <= 0) {
		nacre_seterr(err, errlen, "certificate chain: cannot encode the root");
		return -1;
	}
	sha256_hex(der, (size_t)n, want);
	bool same = d->ncabundle > 0 && d->cabundle_len[0] == (size_t)n &&
		    memcmp(d->cabundle[0], der, (size_t)n) == 0;
	OPENSSL_free(der);
	if (same)
		return 0;
	if (d->ncabundle > 0)
		sha256_hex(d->cabundle[0], d->cabundle_len[0], got);
	nacre_seterr(err, errlen, "certificate chain: cabundle[0] is not the pinned "
	       "root (SHA-256 %s, expected %s)", got, want);
	return -1;
}

static void
chain_error(X509_STORE_CTX *ctx, time_t at, char *err, size_t errlen)
{
	char subj[256] = "?", when[32];
	X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
	int e = X509_STORE_CTX_get_error(ctx);

	if (bad)
		X509_NAME_oneline(X509_get_subject_name(bad), subj, sizeof(subj));
	iso_time(at, when, sizeof(when));
	nacre_seterr(err, errlen, "certificate chain: %s (depth %d, %s) at %s",
	       X509_verify_cert_error_string(e),
	       X509_STORE_CTX_get_error_depth(ctx), subj, when);
}

/* the verified path must be certificate, cabundle[n-1], ..., cabundle[0] */
static int
check_path(const struct nacre_nitro_doc *d, X509_STORE_CTX *ctx,
	   X509 *const *bundle, X509 *leaf, char *err, size_t errlen)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	size_t n = d->ncabundle;

	if (!chain || (size_t)sk_X509_num(chain) != n + 1 ||
	    X509_cmp(sk_X509_value(chain, 0), leaf) != 0)
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (X509_cmp(sk_X509_value(chain, (int)(n - i)), bundle[i]) != 0)
			goto bad;
	return 0;
bad:
	nacre_seterr(err, errlen, "certificate chain: cabundle is not the issuer "
	       "chain of the certificate, root first");
	return -1;
}

EVP_PKEY *
nacre_nitro_doc_verify_chain(const struct nacre_nitro_doc *d, X509 *root,
			     time_t at, char *err, size_t errlen)
{
	X509 *leaf = NULL, *bundle[NACRE_NITRO_CABUNDLE_MAX] = { NULL };
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	EVP_PKEY *pub = NULL;
	char field[48];

	if (!untrusted || !store || !ctx) {
		nacre_seterr(err, errlen, "certificate chain: out of memory");
		goto out;
	}
	if (check_root(d, root, err, errlen) < 0)
		goto out;
	if (!(leaf = parse_der_cert(d->certificate, d->certificate_len,
				    "payload.certificate", err, errlen)))
		goto out;
	for (size_t i = 0; i < d->ncabundle; i++) {
		snprintf(field, sizeof(field), "payload.cabundle[%zu]", i);
		if (!(bundle[i] = parse_der_cert(d->cabundle[i], d->cabundle_len[i],
						 field, err, errlen)))
			goto out;
		if (i > 0 && !sk_X509_push(untrusted, bundle[i])) {
			nacre_seterr(err, errlen, "certificate chain: out of memory");
			goto out;
		}
	}
	if (X509_STORE_add_cert(store, root) != 1 ||
	    X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
		nacre_seterr(err, errlen, "certificate chain: cannot set up the check");
		goto out;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
	if (X509_verify_cert(ctx) != 1) {
		chain_error(ctx, at, err, errlen);
		goto out;
	}
	if (check_path(d, ctx, bundle, leaf, err, errlen) < 0)
		goto out;
	pub = X509_get_pubkey(leaf);
	if (!is_p384(pub)) {
		EVP_PKEY_free(pub);
		pub = NULL;
		nacre_seterr(err, errlen, "payload.certificate: key is not EC P-384");
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(untrusted);
	for (size_t i = 0; i < NACRE_NITRO_CABUNDLE_MAX; i++)
		X509_free(bundle[i]);
	X509_free(leaf);
	return pub;
}
