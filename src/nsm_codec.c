/*
 * nsm_codec.c: the CBOR the Nitro Secure Module speaks over /dev/nsm, as
 * aws-nitro-enclaves-nsm-api's serde types encode it (externally tagged
 * enums: a unit variant is a text string, any other variant a one-entry
 * map from its name to its fields). Both directions: nacred's requests and
 * responses, and the sim's side of the same conversation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "attest.h"

static const struct {
	const char *name, *hint;
} nsm_errors[] = {
	[NACRE_NSM_SUCCESS] = { "Success",
		"the NSM reported success but returned no result" },
	[NACRE_NSM_INVALID_ARGUMENT] = { "InvalidArgument",
		"user_data, nonce and public_key must each be at most 1024 "
		"bytes" },
	[NACRE_NSM_INVALID_INDEX] = { "InvalidIndex",
		"a PCR index is out of range" },
	[NACRE_NSM_INVALID_RESPONSE] = { "InvalidResponse",
		"the NSM's response did not match the request; retry" },
	[NACRE_NSM_READ_ONLY_INDEX] = { "ReadOnlyIndex",
		"the PCR is locked and cannot be changed" },
	[NACRE_NSM_INVALID_OPERATION] = { "InvalidOperation",
		"this NSM does not support the request" },
	[NACRE_NSM_BUFFER_TOO_SMALL] = { "BufferTooSmall",
		"the response did not fit the 12288-byte buffer" },
	[NACRE_NSM_INPUT_TOO_LARGE] = { "InputTooLarge",
		"the request exceeds the NSM's 4096-byte limit; send less "
		"user_data" },
	[NACRE_NSM_INTERNAL_ERROR] = { "InternalError",
		"the NSM failed internally; retry, and restart the enclave if "
		"it persists" },
	[NACRE_NSM_ERROR_UNKNOWN] = { "Unknown",
		"an error code this version of nacre does not know" },
};

const char *
nacre_nsm_error_name(enum nacre_nsm_error e)
{
	if ((unsigned)e > NACRE_NSM_ERROR_UNKNOWN)
		e = NACRE_NSM_ERROR_UNKNOWN;
	return nsm_errors[e].name;
}

const char *
nacre_nsm_error_hint(enum nacre_nsm_error e)
{
	if ((unsigned)e > NACRE_NSM_ERROR_UNKNOWN)
		e = NACRE_NSM_ERROR_UNKNOWN;
	return nsm_errors[e].hint;
}

void
nacre_nsm_error_message(const struct nacre_nsm_response *r, char *err,
			size_t errlen)
{
	const char *name = r->error == NACRE_NSM_ERROR_UNKNOWN ?
			   r->error_name : nacre_nsm_error_name(r->error);

	nacre_seterr(err, errlen, "NSM refused the request: %s (%s)", name,
	       nacre_nsm_error_hint(r->error));
}

/* ---- encoders ---- */

int
nacre_nsm_encode_attestation(const uint8_t *user_data, size_t ud_len,
			     const uint8_t *nonce, size_t nonce_len,
			     const uint8_t *public_key, size_t pk_len,
			     uint8_t **out, size_t *len)
{
	struct nacre_cbw w = { 0 };

	/* serde field order: user_data, nonce, public_key */
	nacre_cbw_head(&w, 5, 1);
	nacre_cbw_text(&w, "Attestation");
	nacre_cbw_head(&w, 5, 3);
	nacre_cbw_text(&w, "user_data");
	nacre_cbw_opt_bytes(&w, user_data, ud_len);
	nacre_cbw_text(&w, "nonce");
	nacre_cbw_opt_bytes(&w, nonce, nonce_len);
	nacre_cbw_text(&w, "public_key");
	nacre_cbw_opt_bytes(&w, public_key, pk_len);
	return nacre_cbw_finish(&w, out, len);
}

int
nacre_nsm_encode_describe(uint8_t **out, size_t *len)
{
	struct nacre_cbw w = { 0 };

	nacre_cbw_text(&w, "DescribeNSM");
	return nacre_cbw_finish(&w, out, len);
}

int
nacre_nsm_encode_attestation_response(const uint8_t *doc, size_t len,
				      uint8_t **out, size_t *outlen)
{
	struct nacre_cbw w = { 0 };

	nacre_cbw_head(&w, 5, 1);
	nacre_cbw_text(&w, "Attestation");
	nacre_cbw_head(&w, 5, 1);
	nacre_cbw_text(&w, "document");
	nacre_cbw_bytes(&w, doc, len);
	return nacre_cbw_finish(&w, out, outlen);
}

int
nacre_nsm_encode_describe_response(const struct nacre_nsm_describe *d,
				   uint8_t **out, size_t *len)
{
	struct nacre_cbw w = { 0 };
	unsigned nlocked = 0;

	for (unsigned i = 0; i < 32; i++)
		nlocked += (d->locked_pcrs >> i) & 1;
	nacre_cbw_head(&w, 5, 1);
	nacre_cbw_text(&w, "DescribeNSM");
	nacre_cbw_head(&w, 5, 7);
	nacre_cbw_text(&w, "version_major");
	nacre_cbw_uint(&w, d->version_major);
	nacre_cbw_text(&w, "version_minor");
	nacre_cbw_uint(&w, d->version_minor);
	nacre_cbw_text(&w, "version_patch");
	nacre_cbw_uint(&w, d->version_patch);
	nacre_cbw_text(&w, "module_id");
	nacre_cbw_text(&w, d->module_id);
	nacre_cbw_text(&w, "max_pcrs");
	nacre_cbw_uint(&w, d->max_pcrs);
	nacre_cbw_text(&w, "locked_pcrs");
	nacre_cbw_head(&w, 4, nlocked);
	for (unsigned i = 0; i < 32; i++)
		if (d->locked_pcrs & (1u << i))
			nacre_cbw_uint(&w, i);
	nacre_cbw_text(&w, "digest");
	nacre_cbw_text(&w, d->digest);
	return nacre_cbw_finish(&w, out, len);
}

int
nacre_nsm_encode_error_response(enum nacre_nsm_error e, uint8_t **out,
				size_t *len)
{
	struct nacre_cbw w = { 0 };

	nacre_cbw_head(&w, 5, 1);
	nacre_cbw_text(&w, "Error");
	nacre_cbw_text(&w, nacre_nsm_error_name(e));
	return nacre_cbw_finish(&w, out, len);
}

/* ---- decoding helpers ---- */

/* the variant: a text string (unit) or a one-entry map {name: fields} */
static int
variant(const cbor_item_t *top, char name[32], const cbor_item_t **fields,
	const char *what, char *err, size_t errlen)
{
	const cbor_item_t *key = top;
	const char *p;
	size_t n;

	*fields = NULL;
	if (cbor_isa_map(top)) {
		if (cbor_map_size(top) != 1) {
			nacre_seterr(err, errlen, "%s: expected a map with one entry, "
			       "got %zu", what, cbor_map_size(top));
			return -1;
		}
		key = cbor_map_handle(top)[0].key;
		*fields = cbor_map_handle(top)[0].value;
	}
	if (!nacre_cbor_text(key, &p, &n)) {
		nacre_seterr(err, errlen, "%s: expected a variant name, got %s", what,
		       nacre_cbor_type_name(key));
		return -1;
	}
	if (n == 0 || n >= 32) {
		nacre_seterr(err, errlen, "%s: variant name of %zu bytes", what, n);
		return -1;
	}
	memcpy(name, p, n);
	name[n] = '\0';
	if (strlen(name) != n) {
		nacre_seterr(err, errlen, "%s: variant name contains NUL", what);
		return -1;
	}
	return 0;
}

/* value of text key in map m, or NULL */
static const cbor_item_t *
field(const cbor_item_t *m, const char *key)
{
	struct cbor_pair *kv = cbor_map_handle(m);

	for (size_t i = 0; i < cbor_map_size(m); i++)
		if (nacre_cbor_text_eq(kv[i].key, key))
			return kv[i].value;
	return NULL;
}

static int
want_map(const cbor_item_t *v, const char *what, char *err, size_t errlen)
{
	if (v && cbor_isa_map(v))
		return 0;
	nacre_seterr(err, errlen, "%s: expected a map, got %s", what,
	       nacre_cbor_type_name(v));
	return -1;
}

static int
get_u16(const cbor_item_t *m, const char *key, uint16_t *out, char *err,
	size_t errlen)
{
	const cbor_item_t *v = field(m, key);

	if (!v || !cbor_isa_uint(v) || cbor_get_int(v) > 0xffff) {
		nacre_seterr(err, errlen, "NSM DescribeNSM response: %s: expected an "
		       "integer 0..65535, got %s", key, nacre_cbor_type_name(v));
		return -1;
	}
	*out = (uint16_t)cbor_get_int(v);
	return 0;
}

static int
get_text(const cbor_item_t *m, const char *key, char *out, size_t cap,
	 char *err, size_t errlen)
{
	const cbor_item_t *v = field(m, key);
	const char *p;
	size_t n;

	if (!nacre_cbor_text(v, &p, &n) || n >= cap || memchr(p, 0, n)) {
		nacre_seterr(err, errlen, "NSM DescribeNSM response: %s: expected a "
		       "text string under %zu bytes, got %s", key, cap,
		       nacre_cbor_type_name(v));
		return -1;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static int
decode_describe(const cbor_item_t *m, struct nacre_nsm_describe *d,
		char *err, size_t errlen)
{
	const cbor_item_t *locked;

	if (want_map(m, "NSM DescribeNSM response", err, errlen) < 0 ||
	    get_u16(m, "version_major", &d->version_major, err, errlen) < 0 ||
	    get_u16(m, "version_minor", &d->version_minor, err, errlen) < 0 ||
	    get_u16(m, "version_patch", &d->version_patch, err, errlen) < 0 ||
	    get_u16(m, "max_pcrs", &d->max_pcrs, err, errlen) < 0 ||
	    get_text(m, "module_id", d->module_id, sizeof(d->module_id), err,
		     errlen) < 0 ||
	    get_text(m, "digest", d->digest, sizeof(d->digest), err,
		     errlen) < 0)
		return -1;
	locked = field(m, "locked_pcrs");
	if (!locked || !cbor_isa_array(locked)) {
		nacre_seterr(err, errlen, "NSM DescribeNSM response: locked_pcrs: "
		       "expected an array, got %s", nacre_cbor_type_name(locked));
		return -1;
	}
	for (size_t i = 0; i < cbor_array_size(locked); i++) {
		const cbor_item_t *v = cbor_array_handle(locked)[i];
		if (!cbor_isa_uint(v) || cbor_get_int(v) > 0xffff) {
			nacre_seterr(err, errlen, "NSM DescribeNSM response: "
			       "locked_pcrs[%zu]: expected a PCR index", i);
			return -1;
		}
		if (cbor_get_int(v) < 32)
			d->locked_pcrs |= 1u << cbor_get_int(v);
	}
	return 0;
}

static int
decode_error(const cbor_item_t *v, struct nacre_nsm_response *r, char *err,
	     size_t errlen)
{
	const char *p;
	size_t n;

	if (!nacre_cbor_text(v, &p, &n) || n == 0 ||
	    n >= sizeof(r->error_name) || memchr(p, 0, n)) {
		nacre_seterr(err, errlen, "NSM Error response: expected an error code "
		       "name, got %s", nacre_cbor_type_name(v));
		return -1;
	}
	memcpy(r->error_name, p, n);
	r->error_name[n] = '\0';
	r->error = NACRE_NSM_ERROR_UNKNOWN;
	for (unsigned e = 0; e < NACRE_NSM_ERROR_UNKNOWN; e++)
		if (strcmp(r->error_name, nsm_errors[e].name) == 0)
			r->error = (enum nacre_nsm_error)e;
	return 0;
}

static int
decode_attestation_response(const cbor_item_t *m,
			    struct nacre_nsm_response *r, char *err,
			    size_t errlen)
{
	const cbor_item_t *v;
	const uint8_t *p;
	size_t n;

	if (want_map(m, "NSM Attestation response", err, errlen) < 0)
		return -1;
	v = field(m, "document");
	if (!nacre_cbor_bytes(v, &p, &n) || n == 0 || n > NACRE_NITRO_DOC_MAX) {
		nacre_seterr(err, errlen, "NSM Attestation response: document: "
		       "expected a byte string of 1..%d bytes, got %s",
		       NACRE_NITRO_DOC_MAX, nacre_cbor_type_name(v));
		return -1;
	}
	if (!(r->document = malloc(n))) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	memcpy(r->document, p, n);
	r->document_len = n;
	return 0;
}

int
nacre_nsm_decode_response(const uint8_t *buf, size_t len,
			  struct nacre_nsm_response *out, char *err,
			  size_t errlen)
{
	char why[160], name[32];
	const cbor_item_t *fields;
	cbor_item_t *top;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len > NACRE_NSM_RESPONSE_MAX) {
		nacre_seterr(err, errlen, "NSM response of %zu bytes exceeds %d", len,
		       NACRE_NSM_RESPONSE_MAX);
		return -1;
	}
	if (!(top = nacre_cbor_load(buf, len, 4, 256, why, sizeof(why)))) {
		nacre_seterr(err, errlen, "NSM response: %s", why);
		return -1;
	}
	if (variant(top, name, &fields, "NSM response", err, errlen) < 0)
		goto out;
	if (!fields) {
		nacre_seterr(err, errlen, "NSM response: unexpected \"%s\"", name);
		goto out;
	}
	if (strcmp(name, "Attestation") == 0) {
		out->kind = NACRE_NSM_ATTESTATION;
		rc = decode_attestation_response(fields, out, err, errlen);
	} else if (strcmp(name, "DescribeNSM") == 0) {
		out->kind = NACRE_NSM_DESCRIBE;
		rc = decode_describe(fields, &out->describe, err, errlen);
	} else if (strcmp(name, "Error") == 0) {
		out->kind = NACRE_NSM_ERROR;
		rc = decode_error(fields, out, err, errlen);
	} else {
		nacre_seterr(err, errlen, "NSM response: unexpected \"%s\"", name);
	}
out:
	cbor_decref(&top);
	if (rc < 0)
		nacre_nsm_response_free(out);
	return rc;
}

void
nacre_nsm_response_free(struct nacre_nsm_response *r)
{
	if (!r)
		return;
	free(r->document);
	memset(r, 0, sizeof(*r));
}

/* ---- the NSM side ---- */

static const char *const other_requests[] = {
	"DescribePCR", "ExtendPCR", "LockPCR", "LockPCRs", "GetRandom"
};

static int
optional_bytes(const cbor_item_t *m, const char *key, const uint8_t **p,
	       size_t *n, char *err, size_t errlen)
{
	const cbor_item_t *v = field(m, key);

	*p = NULL;
	*n = 0;
	if (!v || nacre_cbor_is_null(v))
		return 0;
	if (!nacre_cbor_bytes(v, p, n)) {
		nacre_seterr(err, errlen, "NSM Attestation request: %s: expected a "
		       "byte string or null, got %s", key,
		       nacre_cbor_type_name(v));
		return -1;
	}
	if (!*p)
		*p = (const uint8_t *)""; /* empty, not null */
	return 0;
}

static int
decode_attestation_request(const cbor_item_t *m, struct nacre_nsm_request *r,
			   char *err, size_t errlen)
{
	if (want_map(m, "NSM Attestation request", err, errlen) < 0)
		return -1;
	r->kind = NACRE_NSM_ATTESTATION;
	if (optional_bytes(m, "user_data", &r->user_data, &r->user_data_len,
			   err, errlen) < 0 ||
	    optional_bytes(m, "nonce", &r->nonce, &r->nonce_len, err,
			   errlen) < 0 ||
	    optional_bytes(m, "public_key", &r->public_key, &r->public_key_len,
			   err, errlen) < 0)
		return -1;
	return 0;
}

int
nacre_nsm_decode_request(const uint8_t *buf, size_t len,
			 struct nacre_nsm_request *out, char *err,
			 size_t errlen)
{
	char why[160];
	const cbor_item_t *fields;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len > NACRE_NSM_REQUEST_MAX) {
		nacre_seterr(err, errlen, "NSM request of %zu bytes exceeds %d", len,
		       NACRE_NSM_REQUEST_MAX);
		return -1;
	}
	if (!(out->item_ = nacre_cbor_load(buf, len, 4, 64, why, sizeof(why)))) {
		nacre_seterr(err, errlen, "NSM request: %s", why);
		return -1;
	}
	if (variant(out->item_, out->variant, &fields, "NSM request", err,
		    errlen) < 0)
		goto out;
	if (!fields && strcmp(out->variant, "DescribeNSM") == 0) {
		out->kind = NACRE_NSM_DESCRIBE;
		rc = 0;
	} else if (fields && strcmp(out->variant, "Attestation") == 0) {
		rc = decode_attestation_request(fields, out, err, errlen);
	} else {
		for (size_t i = 0; i < sizeof(other_requests) /
				       sizeof(other_requests[0]); i++)
			if (strcmp(out->variant, other_requests[i]) == 0) {
				out->kind = NACRE_NSM_OTHER;
				rc = 0;
			}
		if (rc < 0)
			nacre_seterr(err, errlen, "NSM request: unknown \"%s\"",
			       out->variant);
	}
out:
	if (rc < 0)
		nacre_nsm_request_free(out);
	return rc;
}

void
nacre_nsm_request_free(struct nacre_nsm_request *r)
{
	if (!r)
		return;
	if (r->item_)
		cbor_decref(&r->item_);
	memset(r, 0, sizeof(*r));
}
