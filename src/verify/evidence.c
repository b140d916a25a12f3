/*
 * evidence.c: how evidence travels in a certificate, and the claims map
 * bound into it. The extension is IETF RATS id-pe-cmw
 * (draft-ietf-rats-msg-wrap): extnValue = DER of CMW ::= CHOICE { json
 * UTF8String, cbor OCTET STRING }, we write the cbor choice holding a
 * record CMW [media-type, evidence, 4]. docs/evidence-format.md has the
 * bytes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "attest.h"

#define EXTN_VALUE_MAX (NACRE_NITRO_DOC_MAX + 1024)
#define CLAIMS_MAX 4096

/* ---- the extension ---- */

static int
cmw_record(const char *media_type, const uint8_t *doc, size_t len,
	   uint8_t **out, size_t *outlen)
{
	struct nacre_cbw w = { 0 };

	nacre_cbw_head(&w, 4, 3);
	nacre_cbw_text(&w, media_type);
	nacre_cbw_bytes(&w, doc, len);
	nacre_cbw_uint(&w, NACRE_CMW_IND_EVIDENCE);
	return nacre_cbw_finish(&w, out, outlen);
}

int
nacre_evidence_encode_extn_value(const char *media_type, const uint8_t *doc,
				 size_t len, uint8_t **out, size_t *outlen)
{
	uint8_t *cbor = NULL, *der;
	size_t n, hl = 2;

	*out = NULL;
	if (!media_type || !*media_type ||
	    strlen(media_type) > NACRE_MEDIA_TYPE_MAX || !doc || !len ||
	    len > NACRE_NITRO_DOC_MAX ||
	    cmw_record(media_type, doc, len, &cbor, &n) < 0)
		return -1;
	/* DER OCTET STRING: 04, definite length in the fewest bytes */
	if (n >= 0x80)
		hl = n > 0xffff ? 5 : n > 0xff ? 4 : 3;
	if (!(der = malloc(hl + n))) {
		free(cbor);
		return -1;
	}
	der[0] = 0x04;
	if (hl == 2) {
		der[1] = (uint8_t)n;
	} else {
		der[1] = (uint8_t)(0x80 | (hl - 2));
		for (size_t i = 0; i < hl - 2; i++)
			der[hl - 1 - i] = (uint8_t)(n >> (8 * i));
	}
	memcpy(der + hl, cbor, n);
	free(cbor);
	*out = der;
	*outlen = hl + n;
	return 0;
}

static ASN1_OBJECT *
cmw_oid(void)
{
	return OBJ_txt2obj(NACRE_OID_PE_CMW, 1);
}

int
nacre_evidence_add_to_cert(X509 *x, const char *media_type,
			   const uint8_t *doc, size_t len)
{
	ASN1_OBJECT *oid = cmw_oid();
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	uint8_t *der = NULL;
	size_t der_len;
	int i, rc = -1;

	if (!oid || !os ||
	    nacre_evidence_encode_extn_value(media_type, doc, len, &der,
					     &der_len) < 0 ||
	    ASN1_OCTET_STRING_set(os, der, (int)der_len) != 1 ||
	    !(ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os)))
		goto out;
	while ((i = X509_get_ext_by_OBJ(x, oid, -1)) >= 0)
		X509_EXTENSION_free(X509_delete_ext(x, i));
	rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
out:
	ERR_clear_error();
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(oid);
	free(der);
	return rc;
}

/* DER OCTET STRING header; the CBOR follows and fills the rest exactly */
static int
der_octets(const uint8_t *der, size_t len, const uint8_t **body,
	   size_t *body_len, char *err, size_t errlen)
{
	size_t n, hl = 2;

	if (len < 2) {
		nacre_seterr(err, errlen, "id-pe-cmw: extension value is truncated");
		return NACRE_EV_MALFORMED;
	}
	if (der[0] == 0x0c) {
		nacre_seterr(err, errlen, "id-pe-cmw: holds a JSON CMW (UTF8String); "
		       "nacre reads the CBOR form (OCTET STRING) only");
		return NACRE_EV_UNSUPPORTED;
	}
	if (der[0] != 0x04) {
		nacre_seterr(err, errlen, "id-pe-cmw: expected the DER of an OCTET "
		       "STRING (cbor) or UTF8String (json), got tag 0x%02x",
		       der[0]);
		return NACRE_EV_MALFORMED;
	}
	n = der[1];
	if (n & 0x80) {
		hl = 2 + (n & 0x7f);
		if (hl < 3 || hl > 5 || len < hl || der[2] == 0) {
			nacre_seterr(err, errlen, "id-pe-cmw: bad DER length");
			return NACRE_EV_MALFORMED;
		}
		n = 0;
		for (size_t i = 2; i < hl; i++)
			n = n << 8 | der[i];
		if (n < 0x80) {
			nacre_seterr(err, errlen, "id-pe-cmw: bad DER length (not "
			       "minimal)");
			return NACRE_EV_MALFORMED;
		}
	}
	if (n != len - hl) {
		nacre_seterr(err, errlen, "id-pe-cmw: OCTET STRING of %zu bytes in an "
		       "extension value of %zu", n, len - hl);
		return NACRE_EV_MALFORMED;
	}
	*body = der + hl;
	*body_len = n;
	return 0;
}

static int
media_type_ok(const char *p, size_t n)
{
	if (n == 0 || n > NACRE_MEDIA_TYPE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

static int
cmw_type(const cbor_item_t *t, char **media_type, char *err, size_t errlen)
{
	const char *p;
	size_t n;

	if (cbor_isa_uint(t)) {
		nacre_seterr(err, errlen, "CMW record: type is CoAP Content-Format %llu; "
		       "nacre reads media type strings only",
		       (unsigned long long)cbor_get_int(t));
		return NACRE_EV_UNSUPPORTED;
	}
	if (!nacre_cbor_text(t, &p, &n) || !media_type_ok(p, n)) {
		nacre_seterr(err, errlen, "CMW record: type: expected a media type (1..%d "
		       "printable ASCII characters), got %s", NACRE_MEDIA_TYPE_MAX,
		       nacre_cbor_type_name(t));
		return NACRE_EV_MALFORMED;
	}
	if (!(*media_type = malloc(n + 1)))
		return nacre_seterr(err, errlen, "out of memory"), NACRE_EV_INTERNAL;
	memcpy(*media_type, p, n);
	(*media_type)[n] = '\0';
	return 0;
}

static int
cmw_ind(const cbor_item_t *ind, char *err, size_t errlen)
{
	if (!cbor_isa_uint(ind) || cbor_get_int(ind) == 0 ||
	    cbor_get_int(ind) > 0xffffffff) {
		nacre_seterr(err, errlen, "CMW record: indicator: expected an integer "
		       "1..2^32-1, got %s", nacre_cbor_type_name(ind));
		return NACRE_EV_MALFORMED;
	}
	if (!(cbor_get_int(ind) & NACRE_CMW_IND_EVIDENCE)) {
		nacre_seterr(err, errlen, "CMW record: indicator %llu does not mark "
		       "evidence (bit 2)", (unsigned long long)cbor_get_int(ind));
		return NACRE_EV_UNSUPPORTED;
	}
	return 0;
}

static int
cmw_decode(const uint8_t *cbor, size_t n, char **media_type, uint8_t **doc,
	   size_t *len, char *err, size_t errlen)
{
	char why[160];
	cbor_item_t *top;
	const uint8_t *p;
	size_t plen;
	int rc;

	if (n && (cbor[0] >> 5) == 5) {
		nacre_seterr(err, errlen, "CMW: a collection (CBOR map); nacre reads a "
		       "record [media-type, evidence, 4]");
		return NACRE_EV_UNSUPPORTED;
	}
	if (n && (cbor[0] >> 5) == 6) {
		nacre_seterr(err, errlen, "CMW: a tag CMW; nacre reads a record "
		       "[media-type, evidence, 4]");
		return NACRE_EV_UNSUPPORTED;
	}
	if (!(top = nacre_cbor_load(cbor, n, 2, 16, why, sizeof(why)))) {
		nacre_seterr(err, errlen, "CMW: %s", why);
		return NACRE_EV_MALFORMED;
	}
	rc = NACRE_EV_MALFORMED;
	if (!cbor_isa_array(top) || cbor_array_size(top) < 2 ||
	    cbor_array_size(top) > 3) {
		nacre_seterr(err, errlen, "CMW record: expected an array of 2 or 3, got "
		       "%s", nacre_cbor_type_name(top));
		goto out;
	}
	cbor_item_t **it = cbor_array_handle(top);
	if (cbor_array_size(top) == 3 && (rc = cmw_ind(it[2], err, errlen)) < 0)
		goto out;
	rc = NACRE_EV_MALFORMED;
	if (!nacre_cbor_bytes(it[1], &p, &plen) || plen == 0 ||
	    plen > NACRE_NITRO_DOC_MAX) {
		nacre_seterr(err, errlen, "CMW record: value: expected a byte string of "
		       "1..%d bytes, got %s", NACRE_NITRO_DOC_MAX,
		       nacre_cbor_type_name(it[1]));
		goto out;
	}
	if ((rc = cmw_type(it[0], media_type, err, errlen)) < 0)
		goto out;
	if (!(*doc = malloc(plen))) {
		free(*media_type);
		*media_type = NULL;
		rc = NACRE_EV_INTERNAL;
		nacre_seterr(err, errlen, "out of memory");
		goto out;
	}
	memcpy(*doc, p, plen);
	*len = plen;
	rc = NACRE_EV_OK;
out:
	cbor_decref(&top);
	return rc;
}

int
nacre_evidence_decode_extn_value(const uint8_t *der, size_t der_len,
				 char **media_type, uint8_t **doc, size_t *len,
				 char *err, size_t errlen)
{
	const uint8_t *cbor;
	size_t n;
	int rc;

	*media_type = NULL;
	*doc = NULL;
	*len = 0;
	if (der_len > EXTN_VALUE_MAX) {
		nacre_seterr(err, errlen, "id-pe-cmw: extension value of %zu bytes, more "
		       "than the %d allowed", der_len, EXTN_VALUE_MAX);
		return NACRE_EV_MALFORMED;
	}
	if ((rc = der_octets(der, der_len, &cbor, &n, err, errlen)) < 0)
		return rc;
	return cmw_decode(cbor, n, media_type, doc, len, err, errlen);
}

int
nacre_evidence_from_cert(X509 *x, char **media_type, uint8_t **doc,
			 size_t *len, char *err, size_t errlen)
{
	ASN1_OBJECT *oid = cmw_oid();
	X509_EXTENSION *ext;
	ASN1_OCTET_STRING *v;
	int i;

	*media_type = NULL;
	*doc = NULL;
	*len = 0;
	if (!oid) {
		nacre_seterr(err, errlen, "out of memory");
		return NACRE_EV_INTERNAL;
	}
	i = X509_get_ext_by_OBJ(x, oid, -1);
	int again = i >= 0 ? X509_get_ext_by_OBJ(x, oid, i) : -1;
	ASN1_OBJECT_free(oid);
	if (i < 0) {
		nacre_seterr(err, errlen, "the certificate has no id-pe-cmw (%s) "
		       "extension, so it carries no attestation evidence",
		       NACRE_OID_PE_CMW);
		return NACRE_EV_ABSENT;
	}
	if (again >= 0) {
		nacre_seterr(err, errlen, "the certificate has more than one id-pe-cmw "
		       "extension (RFC 5280 allows one)");
		return NACRE_EV_DUPLICATE;
	}
	ext = X509_get_ext(x, i);
	if (X509_EXTENSION_get_critical(ext)) {
		nacre_seterr(err, errlen, "the id-pe-cmw extension is marked critical; "
		       "nacre evidence is always non-critical");
		return NACRE_EV_CRITICAL;
	}
	v = X509_EXTENSION_get_data(ext);
	return nacre_evidence_decode_extn_value(v->data, (size_t)v->length,
						media_type, doc, len, err,
						errlen);
}

/* ---- the claims map ---- */

int
nacre_claims_encode(const struct nacre_claims *c, uint8_t **out, size_t *len)
{
	struct nacre_cbw w = { 0 };

	*out = NULL;
	if (c->has_acme && (!c->acme_account_url || !*c->acme_account_url ||
			    strlen(c->acme_account_url) > NACRE_CLAIMS_URL_MAX))
		return -1;
	if (c->acme_nkeys > NACRE_CLAIMS_KEYS_MAX || (c->acme_nkeys && !c->has_acme))
		return -1;
	/* keys in RFC 8949 4.2.1 order (bytewise on their encodings: the
	 * 9-byte "acme-keys" after the 8-byte ones) */
	nacre_cbw_head(&w, 5, 1 + (c->has_binding ? 1 : 0) +
		       (c->has_config ? 1 : 0) + (c->has_iat ? 1 : 0) +
		       (c->has_acme ? 2 : 0) + (c->acme_nkeys ? 1 : 0));
	nacre_cbw_text(&w, "v");
	nacre_cbw_uint(&w, c->version);
	if (c->has_binding) {
		nacre_cbw_text(&w, "hs");
		nacre_cbw_bytes(&w, c->binding, 32);
	}
	if (c->has_config) {
		nacre_cbw_text(&w, "cfg");
		nacre_cbw_bytes(&w, c->config_sha256, 32);
	}
	if (c->has_iat) {
		nacre_cbw_text(&w, "iat");
		nacre_cbw_uint(&w, c->iat_ms);
	}
	if (c->has_acme) {
		nacre_cbw_text(&w, "acme-jkt");
		nacre_cbw_bytes(&w, c->acme_jwk_thumbprint, 32);
		nacre_cbw_text(&w, "acme-url");
		nacre_cbw_text(&w, c->acme_account_url);
	}
	if (c->acme_nkeys) {
		nacre_cbw_text(&w, "acme-keys");
		nacre_cbw_head(&w, 4, c->acme_nkeys);
		for (size_t i = 0; i < c->acme_nkeys; i++)
			nacre_cbw_bytes(&w, c->acme_keys[i], 32);
	}
	return nacre_cbw_finish(&w, out, len);
}

void
nacre_claims_free(struct nacre_claims *c)
{
	if (!c)
		return;
	free(c->acme_account_url);
	c->acme_account_url = NULL;
}

static int
claim_hash(const cbor_item_t *v, const char *key, uint8_t out[32],
	   char *err, size_t errlen)
{
	const uint8_t *p;
	size_t n;

	if (!nacre_cbor_bytes(v, &p, &n) || n != 32) {
		nacre_seterr(err, errlen, "claims.%s: expected 32 bytes, got %s", key,
		       nacre_cbor_type_name(v));
		return -1;
	}
	memcpy(out, p, 32);
	return 0;
}

static int
claim_url(const cbor_item_t *v, struct nacre_claims *c, char *err,
	  size_t errlen)
{
	const char *p;
	size_t n;

	if (!nacre_cbor_text(v, &p, &n) || n == 0 || n > NACRE_CLAIMS_URL_MAX) {
		nacre_seterr(err, errlen, "claims.acme-url: expected a URL of 1..%d "
		       "bytes, got %s", NACRE_CLAIMS_URL_MAX,
		       nacre_cbor_type_name(v));
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e) {
			nacre_seterr(err, errlen, "claims.acme-url: byte %zu is not a "
			       "URL character", i);
			return -1;
		}
	if (!(c->acme_account_url = malloc(n + 1)))
		return nacre_seterr(err, errlen, "out of memory"), -1;
	memcpy(c->acme_account_url, p, n);
	c->acme_account_url[n] = '\0';
	return 0;
}

/* "acme-keys": an array of 1..NACRE_CLAIMS_KEYS_MAX SHA-256 values */
static int
claim_keys_array(const cbor_item_t *v, struct nacre_claims *c, char *err,
		 size_t errlen)
{
	size_t n;

	if (!cbor_isa_array(v) || !cbor_array_is_definite(v) ||
	    (n = cbor_array_size(v)) == 0 || n > NACRE_CLAIMS_KEYS_MAX) {
		nacre_seterr(err, errlen, "claims.acme-keys: expected an array of "
			     "1..%d hashes, got %s", NACRE_CLAIMS_KEYS_MAX,
			     nacre_cbor_type_name(v));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		cbor_item_t *e = cbor_array_get(v, i);
		int rc = claim_hash(e, "acme-keys", c->acme_keys[i], err, errlen);
		cbor_decref(&e);
		if (rc < 0)
			return -1;
	}
	c->acme_nkeys = n;
	return 0;
}

enum { C_V, C_CFG, C_JKT, C_URL, C_KEYS, C_HS, C_IAT, C_COUNT };
static const char *const claim_keys[C_COUNT] = {
	"v", "cfg", "acme-jkt", "acme-url", "acme-keys", "hs", "iat"
};

static int
claim(struct nacre_claims *c, int k, const cbor_item_t *v, char *err,
      size_t errlen)
{
	switch (k) {
	case C_V:
		if (!cbor_isa_uint(v) || cbor_get_int(v) != NACRE_CLAIMS_VERSION) {
			nacre_seterr(err, errlen, "claims.v: version %s%llu is not "
			       "supported (this nacre reads version %d)",
			       cbor_isa_uint(v) ? "" : "(not an integer) ",
			       cbor_isa_uint(v) ?
			       (unsigned long long)cbor_get_int(v) : 0ULL,
			       NACRE_CLAIMS_VERSION);
			return -1;
		}
		c->version = cbor_get_int(v);
		return 0;
	case C_CFG:
		c->has_config = true;
		return claim_hash(v, "cfg", c->config_sha256, err, errlen);
	case C_JKT:
		return claim_hash(v, "acme-jkt", c->acme_jwk_thumbprint, err,
				  errlen);
	case C_KEYS:
		return claim_keys_array(v, c, err, errlen);
	case C_HS:
		c->has_binding = true;
		return claim_hash(v, "hs", c->binding, err, errlen);
	case C_IAT:
		if (!cbor_isa_uint(v)) {
			nacre_seterr(err, errlen, "claims.iat: expected an "
				     "unsigned integer (ms), got %s",
				     nacre_cbor_type_name(v));
			return -1;
		}
		c->has_iat = true;
		c->iat_ms = cbor_get_int(v);
		return 0;
	default:
		return claim_url(v, c, err, errlen);
	}
}

static int
claims_map(const cbor_item_t *m, struct nacre_claims *c, char *err,
	   size_t errlen)
{
	bool seen[C_COUNT] = { false };
	struct cbor_pair *kv = cbor_map_handle(m);

	for (size_t i = 0; i < cbor_map_size(m); i++) {
		int k;
		for (k = 0; k < C_COUNT; k++)
			if (nacre_cbor_text_eq(kv[i].key, claim_keys[k]))
				break;
		if (k == C_COUNT)
			continue; /* later versions may add keys */
		if (seen[k]) {
			nacre_seterr(err, errlen, "claims: duplicate key \"%s\"",
			       claim_keys[k]);
			return -1;
		}
		seen[k] = true;
		if (claim(c, k, kv[i].value, err, errlen) < 0)
			return -1;
	}
	if (!seen[C_V]) {
		nacre_seterr(err, errlen, "claims: missing \"v\" (version)");
		return -1;
	}
	if (seen[C_JKT] != seen[C_URL]) {
		nacre_seterr(err, errlen, "claims: \"acme-url\" and \"acme-jkt\" come "
		       "together; only \"%s\" is present",
		       seen[C_URL] ? "acme-url" : "acme-jkt");
		return -1;
	}
	if (seen[C_KEYS] && !seen[C_URL]) {
		nacre_seterr(err, errlen, "claims: \"acme-keys\" without the "
			     "account (\"acme-url\", \"acme-jkt\")");
		return -1;
	}
	c->has_acme = seen[C_URL];
	return 0;
}

int
nacre_claims_decode(const uint8_t *buf, size_t len, struct nacre_claims *out,
		    char *err, size_t errlen)
{
	char why[160];
	cbor_item_t *m;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len > CLAIMS_MAX) {
		nacre_seterr(err, errlen, "claims: %zu bytes, more than %d", len,
		       CLAIMS_MAX);
		return -1;
	}
	if (!(m = nacre_cbor_load(buf, len, 2, 64, why, sizeof(why)))) {
		nacre_seterr(err, errlen, "claims: %s", why);
		return -1;
	}
	if (!cbor_isa_map(m))
		nacre_seterr(err, errlen, "claims: expected a map, got %s",
		       nacre_cbor_type_name(m));
	else
		rc = claims_map(m, out, err, errlen);
	cbor_decref(&m);
	if (rc < 0) {
		nacre_claims_free(out);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}
