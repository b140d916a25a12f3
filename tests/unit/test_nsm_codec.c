/*
 * test_nsm_codec.c: the NSM request / response CBOR against the bytes
 * serde_cbor writes for aws-nitro-enclaves-nsm-api's types, every Error
 * code's message, malformed responses, and the /dev/nsm transport's
 * errors when there is no NSM.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest.h"
#include "tap.h"

static char err[512];

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		if (*h == ' ') {
			h--;
			continue;
		}
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static bool
same_hex(const uint8_t *p, size_t n, const char *h)
{
	uint8_t want[512];
	size_t m = unhex(h, want);

	return m == n && memcmp(p, want, n) == 0;
}

static void
test_requests(void)
{
	static const uint8_t ud[2] = { 1, 2 }, pk[1] = { 3 };
	struct nacre_nsm_request r;
	uint8_t *b = NULL;
	size_t n;

	/* serde: {"Attestation": {"user_data": h'0102', "nonce": null,
	 * "public_key": h'03'}} */
	CHECK(nacre_nsm_encode_attestation(ud, 2, NULL, 0, pk, 1, &b, &n) == 0 &&
	      same_hex(b, n, "a1 6b 4174746573746174696f6e a3"
		       " 69 757365725f64617461 42 0102"
		       " 65 6e6f6e6365 f6"
		       " 6a 7075626c69635f6b6579 41 03"),
	      "Attestation request: serde bytes");
	CHECK(nacre_nsm_decode_request(b, n, &r, err, sizeof(err)) == 0 &&
	      r.kind == NACRE_NSM_ATTESTATION && r.user_data_len == 2 &&
	      r.user_data[1] == 2 && r.nonce == NULL && r.public_key_len == 1 &&
	      r.public_key[0] == 3, "Attestation request: decodes back");
	nacre_nsm_request_free(&r);
	free(b);

	CHECK(nacre_nsm_encode_attestation(ud, 0, NULL, 0, NULL, 0, &b, &n) == 0 &&
	      nacre_nsm_decode_request(b, n, &r, err, sizeof(err)) == 0 &&
	      r.user_data != NULL && r.user_data_len == 0 && !r.public_key,
	      "empty user_data stays apart from null");
	nacre_nsm_request_free(&r);
	free(b);

	CHECK(nacre_nsm_encode_describe(&b, &n) == 0 &&
	      same_hex(b, n, "6b 44657363726962654e534d"),
	      "DescribeNSM request: a bare text string");
	CHECK(nacre_nsm_decode_request(b, n, &r, err, sizeof(err)) == 0 &&
	      r.kind == NACRE_NSM_DESCRIBE, "DescribeNSM request decodes");
	nacre_nsm_request_free(&r);
	free(b);

	uint8_t buf[64];
	n = unhex("69 47657452616e646f6d", buf); /* "GetRandom" */
	CHECK(nacre_nsm_decode_request(buf, n, &r, err, sizeof(err)) == 0 &&
	      r.kind == NACRE_NSM_OTHER && strcmp(r.variant, "GetRandom") == 0,
	      "GetRandom: a known request the sim does not simulate");
	nacre_nsm_request_free(&r);
	n = unhex("63 466f6f", buf); /* "Foo" */
	CHECK(nacre_nsm_decode_request(buf, n, &r, err, sizeof(err)) < 0,
	      "unknown request is refused");
	CHECK_HAS(err, "unknown \"Foo\"", "... naming it");
	/* {"Attestation": {"nonce": "x"}} */
	n = unhex("a1 6b 4174746573746174696f6e a1 65 6e6f6e6365 61 78", buf);
	CHECK(nacre_nsm_decode_request(buf, n, &r, err, sizeof(err)) < 0,
	      "Attestation request with a text nonce is refused");
	CHECK_HAS(err, "nonce: expected a byte string or null, got a text "
		  "string", "... naming the field");
	n = unhex("ff", buf);
	CHECK(nacre_nsm_decode_request(buf, n, &r, err, sizeof(err)) < 0 &&
	      strstr(err, "NSM request: not well-formed"),
	      "garbage request is refused");
}

static void
test_responses(void)
{
	static const uint8_t doc[5] = { 0x84, 1, 2, 3, 4 };
	struct nacre_nsm_response r;
	struct nacre_nsm_describe d = {
		.version_major = 1, .version_minor = 2, .version_patch = 3,
		.module_id = "i-0123456789abcdef0-enc0123456789abcdef",
		.max_pcrs = 32, .locked_pcrs = 0x1ff, .digest = "SHA384",
	};
	uint8_t *b = NULL, buf[256];
	size_t n;

	CHECK(nacre_nsm_encode_attestation_response(doc, 5, &b, &n) == 0 &&
	      same_hex(b, n, "a1 6b 4174746573746174696f6e a1"
		       " 68 646f63756d656e74 45 8401020304"),
	      "Attestation response: serde bytes");
	CHECK(nacre_nsm_decode_response(b, n, &r, err, sizeof(err)) == 0 &&
	      r.kind == NACRE_NSM_ATTESTATION && r.document_len == 5 &&
	      memcmp(r.document, doc, 5) == 0, "Attestation response decodes");
	nacre_nsm_response_free(&r);
	free(b);

	CHECK(nacre_nsm_encode_describe_response(&d, &b, &n) == 0 &&
	      nacre_nsm_decode_response(b, n, &r, err, sizeof(err)) == 0 &&
	      r.kind == NACRE_NSM_DESCRIBE && r.describe.version_minor == 2 &&
	      r.describe.version_patch == 3 && r.describe.max_pcrs == 32 &&
	      r.describe.locked_pcrs == 0x1ff &&
	      strcmp(r.describe.module_id, d.module_id) == 0 &&
	      strcmp(r.describe.digest, "SHA384") == 0,
	      "DescribeNSM response round trip");
	nacre_nsm_response_free(&r);
	free(b);

	/* fields in another order than serde writes them */
	n = unhex("a1 6b 44657363726962654e534d a7"
		  " 66 646967657374 66 534841333834"
		  " 6b 6c6f636b65645f70637273 82 00 01"
		  " 68 6d61785f70637273 18 20"
		  " 69 6d6f64756c655f6964 61 6d"
		  " 6d 76657273696f6e5f7061746368 00"
		  " 6d 76657273696f6e5f6d696e6f72 00"
		  " 6d 76657273696f6e5f6d616a6f72 01", buf);
	CHECK(nacre_nsm_decode_response(buf, n, &r, err, sizeof(err)) == 0 &&
	      r.describe.version_major == 1 && r.describe.locked_pcrs == 3 &&
	      strcmp(r.describe.module_id, "m") == 0,
	      "DescribeNSM response: any key order");
	nacre_nsm_response_free(&r);
}

static void
test_errors(void)
{
	static const char *const names[] = {
		"Success", "InvalidArgument", "InvalidIndex", "InvalidResponse",
		"ReadOnlyIndex", "InvalidOperation", "BufferTooSmall",
		"InputTooLarge", "InternalError"
	};
	struct nacre_nsm_response r;
	char name[128], want[128];
	uint8_t *b = NULL, buf[64];
	size_t n;

	for (unsigned e = 0; e < 9; e++) {
		snprintf(name, sizeof(name), "Error %s: round trip", names[e]);
		CHECK(nacre_nsm_encode_error_response((enum nacre_nsm_error)e, &b,
						      &n) == 0 &&
		      b[0] == 0xa1 && b[1] == 0x65 && memcmp(b + 2, "Error", 5) == 0 &&
		      nacre_nsm_decode_response(b, n, &r, err, sizeof(err)) == 0 &&
		      r.kind == NACRE_NSM_ERROR && r.error == e, name);
		nacre_nsm_error_message(&r, err, sizeof(err));
		snprintf(name, sizeof(name), "Error %s: message names it",
			 names[e]);
		snprintf(want, sizeof(want), "NSM refused the request: %s (",
			 names[e]);
		CHECK_HAS(err, want, name);
		snprintf(name, sizeof(name), "Error %s: message explains it",
			 names[e]);
		CHECK_HAS(err, nacre_nsm_error_hint((enum nacre_nsm_error)e), name);
		nacre_nsm_response_free(&r);
		free(b);
	}
	r = (struct nacre_nsm_response){ .kind = NACRE_NSM_ERROR,
					 .error = NACRE_NSM_INVALID_ARGUMENT };
	nacre_nsm_error_message(&r, err, sizeof(err));
	CHECK_STR(err, "NSM refused the request: InvalidArgument (user_data, "
		  "nonce and public_key must each be at most 1024 bytes)",
		  "InvalidArgument: the whole sentence");

	n = unhex("a1 65 4572726f72 65 5765697264", buf); /* {"Error": "Weird"} */
	CHECK(nacre_nsm_decode_response(buf, n, &r, err, sizeof(err)) == 0 &&
	      r.error == NACRE_NSM_ERROR_UNKNOWN, "unknown error code decodes");
	nacre_nsm_error_message(&r, err, sizeof(err));
	CHECK_HAS(err, "NSM refused the request: Weird (", "... and is named");
	nacre_nsm_response_free(&r);
}

static void
bad_response(const char *hex, const char *want, const char *name)
{
	struct nacre_nsm_response r;
	uint8_t buf[256];
	size_t n = unhex(hex, buf);
	char why[160];

	CHECK(nacre_nsm_decode_response(buf, n, &r, err, sizeof(err)) < 0 &&
	      r.document == NULL, name);
	snprintf(why, sizeof(why), "%s: error says so", name);
	CHECK_HAS(err, want, why);
}

static void
test_malformed(void)
{
	bad_response("67 4c6f636b504352", "unexpected \"LockPCR\"",
		     "unit response nacred never asks for");
	bad_response("a2 65 4572726f72 60 60 60", "one entry, got 2",
		     "two-entry response map");
	bad_response("a1 6b 4174746573746174696f6e a1 68 646f63756d656e74 61 78",
		     "document: expected a byte string", "text document");
	bad_response("a1 6b 4174746573746174696f6e a0",
		     "document: expected a byte string of 1..32768 bytes, got "
		     "nothing", "Attestation response without a document");
	bad_response("a1 65 4572726f72 05", "expected an error code name",
		     "Error with a number");
	bad_response("a1 01 02", "expected a variant name", "integer variant");
	bad_response("a1 6b 44657363726962654e534d a0",
		     "version_major: expected an integer",
		     "DescribeNSM without fields");
	bad_response("a1 63 466f6f a0", "unexpected \"Foo\"", "unknown response");
	bad_response("5f", "not well-formed", "truncated response");

	struct nacre_nsm_response r;
	uint8_t *big = calloc(1, NACRE_NSM_RESPONSE_MAX + 1);
	CHECK(nacre_nsm_decode_response(big, NACRE_NSM_RESPONSE_MAX + 1, &r, err,
					sizeof(err)) < 0 &&
	      strstr(err, "exceeds 12288"), "response over 12288 bytes");
	free(big);
}

static void
test_transport(void)
{
	struct nacre_attest *a;
	uint8_t resp[64];
	size_t n = sizeof(resp);
	int fd;

	fd = nacre_nsm_dev_open("/nonexistent/nsm", err, sizeof(err));
	CHECK(fd < 0, "a missing NSM device cannot be opened");
	CHECK_STR(err, "cannot open /nonexistent/nsm: No such file or directory: "
		  "nacred is not running inside a Nitro enclave (or the nsm "
		  "driver is not loaded); for development set "
		  "attestation.provider = \"sim\"",
		  "... and the error names cause and fix");
	if (access("/dev/nsm", F_OK) != 0) {
		a = nacre_attest_nitro_open(NULL, err, sizeof(err));
		CHECK(a == NULL, "nitro provider without /dev/nsm fails");
		CHECK_HAS(err, "cannot open /dev/nsm: No such file or directory: "
			  "nacred is not running inside a Nitro enclave",
			  "... defaulting to /dev/nsm");
		nacre_attest_free(a);
	}
	fd = nacre_nsm_dev_open("tests/unit/tap.h", err, sizeof(err));
	CHECK(fd < 0 && strstr(err, "is not a character device"),
	      "a regular file is not an NSM");
	fd = nacre_nsm_dev_open("/dev/null", err, sizeof(err));
	CHECK(fd >= 0, "/dev/null opens (a character device)");
	CHECK(fd >= 0 && nacre_nsm_dev_transport(&fd, (const uint8_t *)"x", 1,
						 resp, &n, err,
						 sizeof(err)) < 0,
	      "... but the NSM ioctl fails on it");
	CHECK_HAS(err, "the device is not the Nitro Secure Module",
		  "... saying it is not the NSM");
	uint8_t *big = calloc(1, NACRE_NSM_REQUEST_MAX + 1);
	CHECK(fd >= 0 && nacre_nsm_dev_transport(&fd, big,
						 NACRE_NSM_REQUEST_MAX + 1, resp,
						 &n, err, sizeof(err)) < 0 &&
	      strstr(err, "exceeds the 4096-byte limit"),
	      "a request over 4096 bytes is not sent");
	free(big);
	if (fd >= 0)
		close(fd);
	a = nacre_attest_nitro_open("/dev/null", err, sizeof(err));
	CHECK(a == NULL && strstr(err, "not the Nitro Secure Module"),
	      "nitro provider on /dev/null fails at open");
}

int
main(void)
{
	test_requests();
	test_responses();
	test_errors();
	test_malformed();
	test_transport();
	TAP_DONE();
}
