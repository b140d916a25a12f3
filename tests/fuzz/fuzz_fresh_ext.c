/*
 * fuzz_fresh_ext.c: the parser of the NACRE_TLSEXT_ATTEST extension_data
 * a client sends in its ClientHello (nacred parses it from any client).
 * It must stay inside its input, give a nonce of 16..64 bytes whenever it
 * says "fresh", and a fresh request it accepts must encode back to the
 * same bytes (version 2) and parse again to the same nonce.
 */
#include <stdlib.h>
#include <string.h>

#include "libnacre.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	uint8_t nonce[NACRE_FRESH_NONCE_MAX], nonce2[NACRE_FRESH_NONCE_MAX];
	uint8_t enc[NACRE_FRESH_REQ_MAX];
	size_t nlen = 0, nlen2 = 0, elen;
	enum nacre_fresh_ask a;

	memcpy(copy, data, size);
	a = nacre_fresh_request_parse(copy, size, nonce, &nlen);
	REQUIRE(a >= NACRE_ASK_MALFORMED && a <= NACRE_ASK_FRESH);
	REQUIRE((a == NACRE_ASK_NONE) == (size == 0 || copy[0] == 0));
	if (a == NACRE_ASK_FRESH) {
		REQUIRE(nlen >= NACRE_FRESH_NONCE_MIN && nlen <= NACRE_FRESH_NONCE_MAX);
		REQUIRE(!memcmp(nonce, copy + 2, nlen));
		elen = nacre_fresh_request_encode(nonce, nlen, enc);
		REQUIRE(elen == 2 + nlen);
		if (copy[0] == NACRE_FRESH_VERSION)
			REQUIRE(elen == size && !memcmp(enc, copy, size));
		REQUIRE(nacre_fresh_request_parse(enc, elen, nonce2, &nlen2) ==
			NACRE_ASK_FRESH);
		REQUIRE(nlen2 == nlen && !memcmp(nonce, nonce2, nlen));
	}
	free(copy);
	return 0;
}
