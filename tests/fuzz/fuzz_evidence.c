/*
 * fuzz_evidence.c: the id-pe-cmw extension value decoder and the claims
 * map decoder on arbitrary bytes. What they accept must respect the caps and
 * survive an encode -> decode round trip unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static void
extension(const uint8_t *data, size_t size)
{
	char err[512] = "", *mt = NULL, *mt2 = NULL;
	uint8_t *doc = NULL, *doc2 = NULL, *der = NULL;
	size_t len = 0, len2 = 0, der_len;
	int rc = nacre_evidence_decode_extn_value(data, size, &mt, &doc, &len,
						  err, sizeof(err));

	REQUIRE(rc <= 0 && rc >= NACRE_EV_INTERNAL);
	if (rc != NACRE_EV_OK) {
		REQUIRE(!mt && !doc && err[0]);
		return;
	}
	REQUIRE(mt && mt[0] && strlen(mt) <= NACRE_MEDIA_TYPE_MAX);
	REQUIRE(doc && len >= 1 && len <= NACRE_NITRO_DOC_MAX);
	REQUIRE(nacre_evidence_encode_extn_value(mt, doc, len, &der,
						 &der_len) == 0);
	REQUIRE(nacre_evidence_decode_extn_value(der, der_len, &mt2, &doc2, &len2,
						 err, sizeof(err)) == NACRE_EV_OK);
	REQUIRE(strcmp(mt, mt2) == 0 && len == len2 && !memcmp(doc, doc2, len));
	free(mt);
	free(mt2);
	free(doc);
	free(doc2);
	free(der);
}

static void
claims(const uint8_t *data, size_t size)
{
	struct nacre_claims c, back;
	uint8_t *enc = NULL;
	size_t len;
	char err[512] = "";

	if (nacre_claims_decode(data, size, &c, err, sizeof(err)) < 0) {
		REQUIRE(err[0] && !c.acme_account_url);
		return;
	}
	REQUIRE(c.version == NACRE_CLAIMS_VERSION);
	REQUIRE(!c.has_acme || (c.acme_account_url && c.acme_account_url[0]));
	REQUIRE(nacre_claims_encode(&c, &enc, &len) == 0);
	REQUIRE(nacre_claims_decode(enc, len, &back, err, sizeof(err)) == 0);
	REQUIRE(back.has_config == c.has_config && back.has_acme == c.has_acme &&
		back.has_binding == c.has_binding);
	REQUIRE(!c.has_binding || !memcmp(back.binding, c.binding, 32));
	REQUIRE(!c.has_config ||
		!memcmp(back.config_sha256, c.config_sha256, 32));
	REQUIRE(!c.has_acme ||
		(!strcmp(back.acme_account_url, c.acme_account_url) &&
		 !memcmp(back.acme_jwk_thumbprint, c.acme_jwk_thumbprint, 32)));
	nacre_claims_free(&back);
	nacre_claims_free(&c);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	extension(copy, size);
	claims(copy, size);
	free(copy);
	return 0;
}
