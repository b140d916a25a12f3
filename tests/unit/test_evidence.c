/*
 * test_evidence.c: the id-pe-cmw certificate extension (DER CMW CHOICE,
 * CBOR record [media-type, evidence, 4]) written, serialized and read back,
 * every way a certificate's extension must be turned away, and the claims
 * map's exact bytes and checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "attest.h"
#include "tap.h"

static char err[512];

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	while (h[0] && h[1]) {
		if (*h == ' ') {
			h++;
			continue;
		}
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
		h += 2;
	}
	return n;
}

static X509 *
new_cert(EVP_PKEY *k)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)"test", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	return x;
}

static X509 *
reparse(X509 *x)
{
	uint8_t *der = NULL;
	int n = i2d_X509(x, &der);
	const uint8_t *p = der;
	X509 *y = n > 0 ? d2i_X509(NULL, &p, n) : NULL;

	OPENSSL_free(der);
	return y;
}

/* an extension with raw extnValue contents */
static void
add_raw_ext(X509 *x, const uint8_t *v, size_t n, int crit)
{
	ASN1_OBJECT *oid = OBJ_txt2obj(NACRE_OID_PE_CMW, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	ASN1_OCTET_STRING_set(os, v, (int)n);
	e = X509_EXTENSION_create_by_OBJ(NULL, oid, crit, os);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(oid);
}

static void
test_round_trip(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = new_cert(k), *y;
	uint8_t doc[300];
	char *mt = NULL;
	uint8_t *back = NULL;
	size_t len = 0;

	for (size_t i = 0; i < sizeof(doc); i++)
		doc[i] = (uint8_t)i;
	CHECK(nacre_evidence_add_to_cert(x, NACRE_MEDIA_TYPE_NITRO, doc,
					 sizeof(doc)) == 0,
	      "extension added");
	CHECK(nacre_evidence_add_to_cert(x, NACRE_MEDIA_TYPE_NITRO, doc,
					 sizeof(doc)) == 0 &&
	      X509_get_ext_count(x) == 1, "adding again replaces it");
	X509_sign(x, k, EVP_sha256());
	y = reparse(x);
	CHECK(y && nacre_evidence_from_cert(y, &mt, &back, &len, err,
					    sizeof(err)) == NACRE_EV_OK,
	      "extension read back from a DER round trip");
	CHECK(mt && strcmp(mt, "application/aws-nitro-document") == 0,
	      "media type application/aws-nitro-document");
	CHECK(back && len == sizeof(doc) && memcmp(back, doc, len) == 0,
	      "evidence bytes intact");
	free(mt);
	free(back);

	/* the bytes: non-critical; 04 82 01 4f | 83 78 1e <mt> 59 01 2c <doc> 04 */
	X509_EXTENSION *e = X509_get_ext(y, 0);
	ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
	char oid[64];
	OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(e), 1);
	CHECK_STR(oid, "1.3.6.1.5.5.7.1.35", "extension OID is id-pe-cmw");
	CHECK(!X509_EXTENSION_get_critical(e), "extension is non-critical");
	uint8_t head[64];
	size_t hn = unhex("04 82 01 51 83 78 1e", head);
	size_t total = 4 + 3 + 30 + 3 + 300 + 1;
	CHECK(v->length == (int)total && memcmp(v->data, head, hn) == 0 &&
	      memcmp(v->data + hn, "application/aws-nitro-document", 30) == 0 &&
	      v->data[hn + 30] == 0x59 && v->data[hn + 31] == 0x01 &&
	      v->data[hn + 32] == 0x2c && v->data[total - 1] == 0x04,
	      "extnValue = OCTET STRING { [\"application/aws-nitro-document\", "
	      "bstr, 4] }");

	uint8_t *ev = NULL;
	size_t evn = 0;
	CHECK(nacre_evidence_encode_extn_value("a/b", doc, 2, &ev, &evn) == 0 &&
	      evn == 11 &&
	      memcmp(ev, "\x04\x09\x83\x63" "a/b" "\x42\x00\x01\x04", 11) == 0,
	      "short form: 04 09 83 63 'a/b' 42 0001 04");
	free(ev);
	CHECK(nacre_evidence_encode_extn_value("", doc, 2, &ev, &evn) < 0 &&
	      nacre_evidence_encode_extn_value("a/b", doc, 0, &ev, &evn) < 0,
	      "empty media type or evidence is not encoded");
	X509_free(y);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_cert_errors(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = new_cert(k);
	uint8_t v[64];
	size_t n;
	char *mt;
	uint8_t *doc;
	size_t len;

	CHECK(nacre_evidence_from_cert(x, &mt, &doc, &len, err, sizeof(err)) ==
	      NACRE_EV_ABSENT && !mt && !doc, "certificate without extension");
	CHECK_HAS(err, "no id-pe-cmw (1.3.6.1.5.5.7.1.35) extension",
		  "... says so");
	X509_free(x);

	x = new_cert(k);
	n = unhex("04 09 83 63 612f62 42 0001 04", v);
	add_raw_ext(x, v, n, 1);
	CHECK(nacre_evidence_from_cert(x, &mt, &doc, &len, err, sizeof(err)) ==
	      NACRE_EV_CRITICAL, "critical extension is refused");
	CHECK_HAS(err, "marked critical", "... says so");
	X509_free(x);

	x = new_cert(k);
	add_raw_ext(x, v, n, 0);
	CHECK(nacre_evidence_from_cert(x, &mt, &doc, &len, err, sizeof(err)) ==
	      NACRE_EV_OK && strcmp(mt, "a/b") == 0 && len == 2,
	      "hand-made extension reads");
	free(mt);
	free(doc);
	add_raw_ext(x, v, n, 0);
	CHECK(nacre_evidence_from_cert(x, &mt, &doc, &len, err, sizeof(err)) ==
	      NACRE_EV_DUPLICATE && strstr(err, "more than one"),
	      "two id-pe-cmw extensions are refused");
	X509_free(x);

	x = new_cert(k);
	n = unhex("04 04 83 63 612f", v);
	add_raw_ext(x, v, n, 0);
	CHECK(nacre_evidence_from_cert(x, &mt, &doc, &len, err, sizeof(err)) ==
	      NACRE_EV_MALFORMED && strstr(err, "CMW: not well-formed CBOR"),
	      "malformed CMW in a certificate is refused");
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
bad_value(const char *hex, int want_rc, const char *want, const char *name)
{
	uint8_t v[128];
	size_t n = unhex(hex, v), len;
	char *mt = NULL, why[160];
	uint8_t *doc = NULL;
	int rc = nacre_evidence_decode_extn_value(v, n, &mt, &doc, &len, err,
						  sizeof(err));

	CHECK(rc == want_rc && !mt && !doc, name);
	snprintf(why, sizeof(why), "%s: error says so", name);
	CHECK_HAS(err, want, why);
}

static void
test_value_errors(void)
{
	char *mt = NULL;
	uint8_t v[64], *doc = NULL;
	size_t n, len;

	bad_value("0c 02 5b5d", NACRE_EV_UNSUPPORTED, "JSON CMW (UTF8String)",
		  "JSON CMW is not read");
	bad_value("30 02 0500", NACRE_EV_MALFORMED, "got tag 0x30",
		  "a SEQUENCE is not a CMW");
	bad_value("04 0a 83 63 612f62 42 0001 04", NACRE_EV_MALFORMED,
		  "OCTET STRING of 10 bytes in an extension value of 9",
		  "DER length larger than the value");
	bad_value("04 81 09 83 63 612f62 42 0001 04", NACRE_EV_MALFORMED,
		  "not minimal", "non-minimal DER length");
	bad_value("04", NACRE_EV_MALFORMED, "truncated", "one byte");
	bad_value("04 03 a1 00 00", NACRE_EV_UNSUPPORTED, "a collection",
		  "CMW collection is not read");
	bad_value("04 03 d9 0101", NACRE_EV_UNSUPPORTED, "a tag CMW",
		  "tag CMW is not read");
	bad_value("04 0a 84 63 612f62 42 0001 04 04", NACRE_EV_MALFORMED,
		  "expected an array of 2 or 3", "record of 4 elements");
	bad_value("04 09 83 63 612f62 42 0001 01", NACRE_EV_UNSUPPORTED,
		  "indicator 1 does not mark evidence",
		  "record of reference values");
	bad_value("04 09 83 63 612f62 42 0001 00", NACRE_EV_MALFORMED,
		  "indicator: expected an integer 1..2^32-1", "indicator 0");
	bad_value("04 08 83 19 294b 42 0001 04", NACRE_EV_UNSUPPORTED,
		  "CoAP Content-Format 10571", "CoAP content format type");
	bad_value("04 09 83 63 612f62 62 0001 04", NACRE_EV_MALFORMED,
		  "value: expected a byte string", "text value");
	bad_value("04 07 83 63 612f62 40 04", NACRE_EV_MALFORMED,
		  "value: expected a byte string of 1..32768 bytes",
		  "empty value");
	bad_value("04 09 83 63 610a62 42 0001 04", NACRE_EV_MALFORMED,
		  "type: expected a media type", "media type with a newline");
	bad_value("04 0a 83 63 612f62 42 0001 04 00", NACRE_EV_MALFORMED,
		  "trailing", "trailing byte after the record");

	n = unhex("04 08 82 63 612f62 42 0001", v);
	CHECK(nacre_evidence_decode_extn_value(v, n, &mt, &doc, &len, err,
					       sizeof(err)) == NACRE_EV_OK &&
	      len == 2, "record without indicator reads");
	free(mt);
	free(doc);
	n = unhex("04 09 83 63 612f62 42 0001 0c", v);
	CHECK(nacre_evidence_decode_extn_value(v, n, &mt, &doc, &len, err,
					       sizeof(err)) == NACRE_EV_OK,
	      "indicator with the evidence bit among others reads");
	free(mt);
	free(doc);
}

static void
test_claims(void)
{
	struct nacre_claims c = { .version = 1 }, back;
	uint8_t *b = NULL, want[256], v[256];
	size_t n, wn;

	CHECK(nacre_claims_encode(&c, &b, &n) == 0 && n == 4 &&
	      memcmp(b, "\xa1\x61v\x01", 4) == 0, "claims {\"v\": 1}");
	free(b);

	c.has_config = true;
	memset(c.config_sha256, 0x11, 32);
	c.has_acme = true;
	c.acme_account_url = "https://ca.example/acct/1";
	memset(c.acme_jwk_thumbprint, 0x22, 32);
	CHECK(nacre_claims_encode(&c, &b, &n) == 0, "full claims encode");
	wn = unhex("a4 61 76 01"
		   " 63 636667 5820 1111111111111111111111111111111111111111111111111111111111111111"
		   " 68 61636d652d6a6b74 5820 2222222222222222222222222222222222222222222222222222222222222222"
		   " 68 61636d652d75726c 78 19 68747470733a2f2f63612e6578616d706c652f616363742f31",
		   want);
	CHECK(b && n == wn && memcmp(b, want, n) == 0,
	      "claims bytes: v, cfg, acme-jkt, acme-url (deterministic order)");
	CHECK(b && nacre_claims_decode(b, n, &back, err, sizeof(err)) == 0 &&
	      back.version == 1 && back.has_config &&
	      back.config_sha256[0] == 0x11 && back.has_acme &&
	      strcmp(back.acme_account_url, c.acme_account_url) == 0 &&
	      back.acme_jwk_thumbprint[31] == 0x22, "claims round trip");
	nacre_claims_free(&back);
	free(b);

	/* with the ACME certificate keys: "acme-keys" sorts last */
	c.acme_nkeys = 2;
	memset(c.acme_keys[0], 0x33, 32);
	memset(c.acme_keys[1], 0x44, 32);
	CHECK(nacre_claims_encode(&c, &b, &n) == 0, "claims with acme-keys encode");
	wn = unhex("a5 61 76 01"
		   " 63 636667 5820 1111111111111111111111111111111111111111111111111111111111111111"
		   " 68 61636d652d6a6b74 5820 2222222222222222222222222222222222222222222222222222222222222222"
		   " 68 61636d652d75726c 78 19 68747470733a2f2f63612e6578616d706c652f616363742f31"
		   " 69 61636d652d6b657973 82"
		   " 5820 3333333333333333333333333333333333333333333333333333333333333333"
		   " 5820 4444444444444444444444444444444444444444444444444444444444444444",
		   want);
	CHECK(b && n == wn && memcmp(b, want, n) == 0,
	      "claims bytes: acme-keys after acme-url, an array of bstr(32)");
	CHECK(b && nacre_claims_decode(b, n, &back, err, sizeof(err)) == 0 &&
	      back.acme_nkeys == 2 && back.acme_keys[0][0] == 0x33 &&
	      back.acme_keys[1][31] == 0x44, "claims with acme-keys round trip");
	nacre_claims_free(&back);
	free(b);
	c.acme_nkeys = NACRE_CLAIMS_KEYS_MAX + 1;
	CHECK(nacre_claims_encode(&c, &b, &n) < 0, "17 acme-keys: no encode");
	c.acme_nkeys = 1;
	c.has_acme = false;
	CHECK(nacre_claims_encode(&c, &b, &n) < 0, "acme-keys without account: no encode");
	c.has_acme = true;
	c.acme_nkeys = 0;

	c.acme_account_url = NULL;
	CHECK(nacre_claims_encode(&c, &b, &n) < 0, "acme without URL: no encode");

	static const struct { const char *hex, *want, *name; } bad[] = {
		{ "a1 61 76 02", "claims.v: version 2 is not supported",
		  "claims version 2" },
		{ "a1 61 76 61 31", "claims.v: version (not an integer)",
		  "claims version as text" },
		{ "a0", "claims: missing \"v\"", "claims without version" },
		{ "a2 61 76 01 63 636667 41 00", "claims.cfg: expected 32 bytes",
		  "cfg of 1 byte" },
		{ "a2 61 76 01 68 61636d652d75726c 61 78",
		  "\"acme-url\" and \"acme-jkt\" come together",
		  "acme-url without acme-jkt" },
		{ "a2 61 76 01 68 61636d652d75726c 62 2078",
		  "claims.acme-url: byte 0 is not a URL character",
		  "acme-url with a space" },
		{ "a2 61 76 01 61 76 01", "claims: duplicate key \"v\"",
		  "duplicate v" },
		{ "81 01", "claims: expected a map, got an array",
		  "claims not a map" },
		{ "a2 61 76 01 69 61636d652d6b657973 81 5820 3333333333333333333333333333333333333333333333333333333333333333",
		  "\"acme-keys\" without the account", "acme-keys without acme-url" },
		{ "a4 61 76 01 68 61636d652d6a6b74 5820 2222222222222222222222222222222222222222222222222222222222222222"
		  " 68 61636d652d75726c 61 78 69 61636d652d6b657973 80",
		  "claims.acme-keys: expected an array of 1..16 hashes", "empty acme-keys" },
		{ "a4 61 76 01 68 61636d652d6a6b74 5820 2222222222222222222222222222222222222222222222222222222222222222"
		  " 68 61636d652d75726c 61 78 69 61636d652d6b657973 81 41 00",
		  "claims.acme-keys: expected 32 bytes", "acme-keys entry of 1 byte" },
		{ "a1 61", "claims: not well-formed CBOR", "truncated claims" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char why[160];
		n = unhex(bad[i].hex, v);
		CHECK(nacre_claims_decode(v, n, &back, err, sizeof(err)) < 0 &&
		      !back.acme_account_url, bad[i].name);
		snprintf(why, sizeof(why), "%s: error says so", bad[i].name);
		CHECK_HAS(err, bad[i].want, why);
	}
	n = unhex("a2 61 76 01 63 6e6577 f5", v);
	CHECK(nacre_claims_decode(v, n, &back, err, sizeof(err)) == 0 &&
	      !back.has_config && !back.has_acme, "unknown claims are ignored");
}

int
main(void)
{
	test_round_trip();
	test_cert_errors();
	test_value_errors();
	test_claims();
	TAP_DONE();
}
