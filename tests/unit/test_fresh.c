/*
 * test_fresh.c: the fresh-evidence request in the ClientHello (every way
 * it can be malformed), the claims map's "hs" key, and the binding hash
 * against a vector worked out by hand from docs/evidence-format.md 8.3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest.h"
#include "libnacre.h"
#include "nacre/verify.h"
#include "tap.h"

static void
request(void)
{
	uint8_t nonce[NACRE_FRESH_NONCE_MAX], buf[80] = { 0 }, enc[NACRE_FRESH_REQ_MAX];
	size_t nlen = 0;

	CHECK(nacre_fresh_request_parse(buf, 0, nonce, &nlen) == NACRE_ASK_NONE,
	      "request: empty is no request");
	buf[0] = 0;
	CHECK(nacre_fresh_request_parse(buf, 1, nonce, &nlen) == NACRE_ASK_NONE,
	      "request: version 0 is no request");
	buf[0] = 1;
	CHECK(nacre_fresh_request_parse(buf, 1, nonce, &nlen) == NACRE_ASK_CERT,
	      "request: version 1 asks for the attested certificate");
	CHECK(nacre_fresh_request_parse(buf, 5, nonce, &nlen) == NACRE_ASK_CERT,
	      "request: version 1 with trailing bytes still asks (as before)");
	buf[0] = 2;
	CHECK(nacre_fresh_request_parse(buf, 1, nonce, &nlen) == NACRE_ASK_MALFORMED,
	      "request: version 2 without a nonce is malformed");
	for (size_t i = 0; i < 64; i++)
		buf[2 + i] = (uint8_t)i;
	buf[1] = 15;
	CHECK(nacre_fresh_request_parse(buf, 17, nonce, &nlen) == NACRE_ASK_MALFORMED,
	      "request: a 15-byte nonce is refused");
	buf[1] = 65;
	CHECK(nacre_fresh_request_parse(buf, 67, nonce, &nlen) == NACRE_ASK_MALFORMED,
	      "request: a 65-byte nonce is refused");
	buf[1] = 32;
	CHECK(nacre_fresh_request_parse(buf, 33, nonce, &nlen) == NACRE_ASK_MALFORMED,
	      "request: a nonce longer than the extension is refused");
	CHECK(nacre_fresh_request_parse(buf, 35, nonce, &nlen) == NACRE_ASK_MALFORMED,
	      "request: version 2 with bytes after the nonce is refused");
	CHECK(nacre_fresh_request_parse(buf, 34, nonce, &nlen) == NACRE_ASK_FRESH &&
	      nlen == 32 && nonce[31] == 31, "request: version 2, 32-byte nonce");
	buf[0] = 3;
	CHECK(nacre_fresh_request_parse(buf, 40, nonce, &nlen) == NACRE_ASK_FRESH &&
	      nlen == 32, "request: a later version's tail is skipped");
	CHECK(nacre_fresh_request_encode(nonce, 15, enc) == 0 &&
	      nacre_fresh_request_encode(nonce, 65, enc) == 0,
	      "encode: nonce lengths outside 16..64 are refused");
	CHECK(nacre_fresh_request_encode(nonce, 16, enc) == 18 && enc[0] == 2 &&
	      enc[1] == 16 && enc[17] == 15, "encode: 02 10 <16 bytes>");
}

static void
claims(void)
{
	struct nacre_claims c = { .version = 1, .has_binding = true }, back;
	uint8_t *enc = NULL;
	size_t len = 0;
	char err[256] = "";

	memset(c.binding, 0xab, 32);
	c.has_config = true;
	memset(c.config_sha256, 0x11, 32);
	CHECK(nacre_claims_encode(&c, &enc, &len) == 0 && len == 4 + 3 + 34 + 4 + 34 &&
	      enc[0] == 0xa3 && enc[4] == 0x62 && enc[5] == 'h' && enc[6] == 's' &&
	      enc[7] == 0x58 && enc[8] == 0x20,
	      "claims: \"hs\" sorts between \"v\" and \"cfg\"");
	CHECK(nacre_claims_decode(enc, len, &back, err, sizeof(err)) == 0 &&
	      back.has_binding && back.binding[31] == 0xab && back.has_config,
	      "claims: \"hs\" decodes");
	free(enc);
	enc = (uint8_t *)"\xa2\x61\x76\x01\x62\x68\x73\x41\x00";
	CHECK(nacre_claims_decode(enc, 9, &back, err, sizeof(err)) < 0,
	      "claims: a short \"hs\" is refused");
	CHECK_HAS(err, "claims.hs", "claims: the error names hs");
}

static void
binding(void)
{
	struct nacre_fresh_view v = { .nonce_len = 16, .client_share_len = 32,
				      .server_share_len = 65 };
	uint8_t out[32], want[32], in[512];
	size_t n = 0;
	unsigned wl = 32;

	memset(v.nonce, 0x01, 16);
	memset(v.client_random, 0x02, 32);
	memset(v.server_random, 0x03, 32);
	memset(v.client_share, 0x04, 32);
	memset(v.server_share, 0x05, 65);
	/* the input spelled out as docs/evidence-format.md 8.3 says */
	memcpy(in, "nacre-fresh-v1", 14); n = 14;
	in[n++] = 16; memset(in + n, 1, 16); n += 16;
	memset(in + n, 2, 32); n += 32;
	memset(in + n, 3, 32); n += 32;
	in[n++] = 0; in[n++] = 32; memset(in + n, 4, 32); n += 32;
	in[n++] = 0; in[n++] = 65; memset(in + n, 5, 65); n += 65;
	EVP_Digest(in, n, want, &wl, EVP_sha256(), NULL);
	CHECK(nacre_fresh_binding(&v, out) == 0 && !memcmp(out, want, 32),
	      "binding: SHA-256 of label, nonce, randoms, shares");
	v.server_random[5] ^= 1;
	CHECK(nacre_fresh_binding(&v, out) == 0 && memcmp(out, want, 32),
	      "binding: another server random gives another binding");
}

static void
policy(void)
{
	struct nacre_policy *p = NULL;
	char err[256] = "";

	CHECK(nacre_policy_parse(&p, "allow_any_code = true;", "t", err,
				 sizeof(err)) == 0 && !nacre_policy_fresh(p),
	      "policy: fresh is off by default");
	nacre_policy_set_fresh(p, true);
	CHECK(nacre_policy_fresh(p), "policy: nacre_policy_set_fresh");
	nacre_policy_free(p);
	p = NULL;
	CHECK(nacre_policy_parse(&p, "allow_any_code = true; fresh = true;", "t",
				 err, sizeof(err)) == 0 && nacre_policy_fresh(p),
	      "policy: fresh = true in a policy file");
	nacre_policy_free(p);
	p = NULL;
	CHECK(nacre_policy_parse(&p, "fresh = \"yes\";", "t", err,
				 sizeof(err)) < 0, "policy: fresh must be a boolean");
	CHECK_HAS(err, "fresh must be true or false", "policy: ... and says so");
	CHECK_STR(nacre_verify_status_name(NACRE_E_FRESH_MISSING),
		  "fresh-evidence-missing", "status name: fresh-evidence-missing");
	CHECK_STR(nacre_verify_status_name(NACRE_E_SESSION_BINDING),
		  "session-binding-mismatch", "status name: session-binding-mismatch");
}

int
main(void)
{
	request();
	policy();
	claims();
	binding();
	TAP_DONE();
}
