/*
 * test_acme.c: the ACME client's offline parts: base64url, the JWK and its
 * RFC 7638 thumbprint against an independently computed value, ES256 JWS
 * checked by OpenSSL, the tls-alpn-01 certificate, the CA's documents
 * (real Pebble answers), problems, Retry-After, CSR and chain checks, the
 * RFC 9773 certificate identifier, and the client's configuration errors.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme.h"
#include "nacred.h"
#include "tap.h"

static char err[NACRE_ERRLEN];

/* ---- base64url ---- */

static void
b64_enc(const char *in, const char *want)
{
	char out[64], name[96];

	nacre_acme_b64url((const uint8_t *)in, strlen(in), out, sizeof(out));
	snprintf(name, sizeof(name), "base64url(\"%s\")", in);
	CHECK_STR(out, want, name);
}

static bool
b64_dec_ok(const char *s, const char *want)
{
	uint8_t out[64];
	size_t n;

	return nacre_acme_b64url_decode(s, strlen(s), out, sizeof(out), &n) ==
		       0 && n == strlen(want) && memcmp(out, want, n) == 0;
}

static bool
b64_dec_fails(const char *s)
{
	uint8_t out[64];
	size_t n;

	return nacre_acme_b64url_decode(s, strlen(s), out, sizeof(out),
					&n) != 0;
}

static void
test_b64url(void)
{
	static const uint8_t odd[] = { 0xfb, 0xff };
	uint8_t small[2];
	char out[8];
	size_t n;

	/* RFC 4648 10 test vectors, without their padding */
	b64_enc("", "");
	b64_enc("f", "Zg");
	b64_enc("fo", "Zm8");
	b64_enc("foo", "Zm9v");
	b64_enc("foob", "Zm9vYg");
	b64_enc("fooba", "Zm9vYmE");
	b64_enc("foobar", "Zm9vYmFy");
	nacre_acme_b64url(odd, sizeof(odd), out, sizeof(out));
	CHECK_STR(out, "-_8", "base64url uses - and _ (RFC 4648 5)");
	CHECK(nacre_acme_b64url((const uint8_t *)"foo", 3, out, 4) == 0,
	      "base64url: a buffer without room for the NUL is refused");
	CHECK(b64_dec_ok("Zm9vYmFy", "foobar") &&
	      b64_dec_ok("Zm9vYg", "foob") && b64_dec_ok("", ""),
	      "base64url decodes the RFC 4648 vectors");
	CHECK(b64_dec_fails("Zg=="), "base64url: padding is refused");
	CHECK(b64_dec_fails("Zh"), "base64url: non-zero trailing bits are "
	      "refused (one value, one spelling)");
	CHECK(b64_dec_fails("Zm9vY"), "base64url: a lone trailing character "
	      "is refused");
	CHECK(b64_dec_fails("Zm9v+A") && b64_dec_fails("Zm9v/A") &&
	      b64_dec_fails("Zm 9v"), "base64url: + / and blanks are refused");
	CHECK(nacre_acme_b64url_decode("Zm9vYg", 6, small, sizeof(small), &n) !=
	      0, "base64url: decoding past the output buffer is refused");
}

/* ---- JWK and thumbprint ---- */

/* A P-256 public key made with python3-cryptography and its RFC 7638
 * thumbprint computed there, independently of nacre:
 *   k = ec.generate_private_key(ec.SECP256R1()); n = k.public_key()
 *       .public_numbers(); x, y = b64url(n.x / n.y as 32 bytes)
 *   c = json.dumps({"crv":"P-256","kty":"EC","x":x,"y":y},
 *                  separators=(",", ":"), sort_keys=True)
 *   b64url(hashlib.sha256(c.encode()).digest()) */
#define KNOWN_X "11umuuJx7hWT9bBYOEIxNaP4pXFzjQXpmwT1VsMmY4w"
#define KNOWN_Y "KbMB2lRTSLttMnPn5EZhZeE1EqwdTN8utBFT1m6XLEE"
#define KNOWN_JKT "iA6EI7xm_JMzCb2qzGXA_T_aM__TRoZlfeXZ1jYRrA8"

static EVP_PKEY *
p256_public(const char *x64, const char *y64)
{
	uint8_t pt[65];
	size_t n;
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *key = NULL;

	pt[0] = 0x04; /* uncompressed point */
	if (nacre_acme_b64url_decode(x64, strlen(x64), pt + 1, 32, &n) != 0 ||
	    nacre_acme_b64url_decode(y64, strlen(y64), pt + 33, 32, &n) != 0)
		goto out;
	OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
					"prime256v1", 0);
	OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt,
					 sizeof(pt));
	params = OSSL_PARAM_BLD_to_param(b);
	if (params && EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static void
test_thumbprint(void)
{
	EVP_PKEY *key = p256_public(KNOWN_X, KNOWN_Y), *p384;
	uint8_t jkt[32];
	char b64[44], *jwk;

	CHECK(key != NULL, "the known P-256 key loads");
	jwk = nacre_acme_jwk(key);
	CHECK_STR(jwk, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" KNOWN_X
		  "\",\"y\":\"" KNOWN_Y "\"}",
		  "the JWK is RFC 7638's canonical form: crv, kty, x, y");
	free(jwk);
	CHECK(nacre_acme_jwk_thumbprint(key, jkt) == 0, "thumbprint computed");
	nacre_acme_b64url(jkt, sizeof(jkt), b64, sizeof(b64));
	CHECK_STR(b64, KNOWN_JKT, "the thumbprint matches python's");
	EVP_PKEY_free(key);

	p384 = EVP_EC_gen("P-384");
	CHECK(nacre_acme_jwk(p384) == NULL &&
	      nacre_acme_jwk_thumbprint(p384, jkt) != 0,
	      "a P-384 key has no ES256 JWK");
	EVP_PKEY_free(p384);
}

/* ---- JWS ---- */

static json_t *
b64_json(const char *s)
{
	uint8_t buf[2048];
	size_t n;

	if (!s || nacre_acme_b64url_decode(s, strlen(s), buf, sizeof(buf), &n))
		return NULL;
	return json_loadb((const char *)buf, n, 0, NULL);
}

/* ES256: r || s back to the DER OpenSSL verifies (RFC 7518 3.4) */
static int
verify_es256(EVP_PKEY *key, const char *input, const char *sig64)
{
	uint8_t rs[64];
	unsigned char *der = NULL;
	size_t n;
	ECDSA_SIG *es = ECDSA_SIG_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int derlen, ok = 0;

	if (nacre_acme_b64url_decode(sig64, strlen(sig64), rs, sizeof(rs),
				     &n) || n != 64 ||
	    !ECDSA_SIG_set0(es, BN_bin2bn(rs, 32, NULL),
			    BN_bin2bn(rs + 32, 32, NULL)))
		goto out;
	derlen = i2d_ECDSA_SIG(es, &der);
	ok = derlen > 0 &&
	     EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestVerify(md, der, (size_t)derlen,
			      (const unsigned char *)input, strlen(input)) == 1;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	return ok;
}

static void
check_jws(EVP_PKEY *key, const char *jws, const char *kid,
	  const char *payload, const char *what)
{
	json_t *j = json_loads(jws ? jws : "", 0, NULL), *h, *p = NULL;
	json_t *want = NULL;
	const char *prot = json_string_value(json_object_get(j, "protected"));
	const char *pay = json_string_value(json_object_get(j, "payload"));
	const char *sig = json_string_value(json_object_get(j, "signature"));
	char name[160], input[4096], *jwk = nacre_acme_jwk(key), *got = NULL;

	snprintf(name, sizeof(name), "%s: flattened JSON, three members", what);
	CHECK(j && json_object_size(j) == 3 && prot && pay && sig, name);
	h = b64_json(prot);
	snprintf(name, sizeof(name), "%s: protected header alg, nonce, url",
		 what);
	CHECK_STR(json_string_value(json_object_get(h, "alg")), "ES256", name);
	CHECK_STR(json_string_value(json_object_get(h, "nonce")), "n0nce-_",
		  name);
	CHECK_STR(json_string_value(json_object_get(h, "url")),
		  "https://ca.test/acme/x", name);
	snprintf(name, sizeof(name), "%s: %s", what,
		 kid ? "kid and no jwk" : "jwk (the account key) and no kid");
	if (kid) {
		CHECK(json_object_get(h, "jwk") == NULL &&
		      json_object_size(h) == 4, name);
		CHECK_STR(json_string_value(json_object_get(h, "kid")), kid,
			  name);
	} else {
		got = json_dumps(json_object_get(h, "jwk"),
				 JSON_COMPACT | JSON_SORT_KEYS);
		CHECK(json_object_get(h, "kid") == NULL &&
		      json_object_size(h) == 4, name);
		CHECK_STR(got, jwk, name);
	}
	if (payload[0]) {
		p = b64_json(pay);
		want = json_loads(payload, 0, NULL);
	}
	snprintf(name, sizeof(name), "%s: payload", what);
	CHECK(payload[0] ? json_equal(p, want) :
			   strcmp(pay ? pay : "?", "") == 0, name);
	json_decref(want);
	snprintf(input, sizeof(input), "%s.%s", prot ? prot : "",
		 pay ? pay : "");
	snprintf(name, sizeof(name), "%s: ES256 signature verifies", what);
	CHECK(sig && verify_es256(key, input, sig), name);
	free(got);
	free(jwk);
	json_decref(p);
	json_decref(h);
	json_decref(j);
}

static void
test_jws(void)
{
	EVP_PKEY *key = nacre_acme_key_new(), *other = nacre_acme_key_new();
	char *a, *b, *c;
	json_t *j;

	a = nacre_acme_jws(key, NULL, "n0nce-_", "https://ca.test/acme/x",
			   "{\"termsOfServiceAgreed\":true}", err, sizeof(err));
	check_jws(key, a, NULL, "{\"termsOfServiceAgreed\":true}",
		  "JWS with jwk");
	b = nacre_acme_jws(key, "https://ca.test/acct/1", "n0nce-_",
			   "https://ca.test/acme/x", "{}", err, sizeof(err));
	check_jws(key, b, "https://ca.test/acct/1", "{}", "JWS with kid");
	c = nacre_acme_jws(key, "https://ca.test/acct/1", "n0nce-_",
			   "https://ca.test/acme/x", "", err, sizeof(err));
	check_jws(key, c, "https://ca.test/acct/1", "", "POST-as-GET JWS");

	/* the same bytes do not verify under another key */
	j = json_loads(b, 0, NULL);
	char input[4096];
	snprintf(input, sizeof(input), "%s.%s",
		 json_string_value(json_object_get(j, "protected")),
		 json_string_value(json_object_get(j, "payload")));
	CHECK(!verify_es256(other, input, json_string_value(
		      json_object_get(j, "signature"))),
	      "a JWS does not verify under another key");
	input[3] ^= 1;
	CHECK(!verify_es256(key, input, json_string_value(
		      json_object_get(j, "signature"))),
	      "a changed protected header does not verify");
	json_decref(j);
	free(a);
	free(b);
	free(c);
	nacre_acme_key_free(key);
	nacre_acme_key_free(other);
}

/* ---- the tls-alpn-01 certificate ---- */

static void
test_challenge_cert(void)
{
	uint8_t digest[32];
	EVP_PKEY *key = NULL;
	X509 *x;
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *v;
	GENERAL_NAMES *san;
	int idx;

	for (int i = 0; i < 32; i++)
		digest[i] = (uint8_t)(i * 7 + 1);
	x = nacre_acme_challenge_cert("a.example.test", digest, &key);
	CHECK(x && key, "challenge certificate made");
	if (!x)
		return;
	idx = X509_get_ext_by_OBJ(x, oid, -1);
	CHECK(idx >= 0 && X509_get_ext_by_OBJ(x, oid, idx) < 0,
	      "one id-pe-acmeIdentifier (1.3.6.1.5.5.7.1.31) extension");
	ext = X509_get_ext(x, idx);
	CHECK(ext && X509_EXTENSION_get_critical(ext) == 1,
	      "id-pe-acmeIdentifier is critical (RFC 8737 3)");
	v = ext ? X509_EXTENSION_get_data(ext) : NULL;
	CHECK(v && v->length == 34 && v->data[0] == 0x04 &&
	      v->data[1] == 0x20 && memcmp(v->data + 2, digest, 32) == 0,
	      "its value is the DER OCTET STRING of the 32-byte digest");
	san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	CHECK(san && sk_GENERAL_NAME_num(san) == 1 &&
	      sk_GENERAL_NAME_value(san, 0)->type == GEN_DNS &&
	      strcmp((const char *)ASN1_STRING_get0_data(
			     sk_GENERAL_NAME_value(san, 0)->d.dNSName),
		     "a.example.test") == 0,
	      "the SAN is the one dNSName");
	GENERAL_NAMES_free(san);
	CHECK(X509_verify(x, key) == 1 &&
	      X509_check_issued(x, x) == X509_V_OK,
	      "self-signed by the key it returns");
	CHECK(X509_check_private_key(x, key) == 1, "the key matches");
	X509_free(x);
	nacre_acme_key_free(key);
	ASN1_OBJECT_free(oid);
}

/* ---- the CA's documents (from a Pebble 2.4 run) ---- */

static const char pebble_dir[] =
	"{\"keyChange\":\"https://127.0.0.1:14000/rollover-account-key\","
	"\"meta\":{\"externalAccountRequired\":false,\"termsOfService\":"
	"\"data:text/plain,Do%20what%20thou%20wilt\"},"
	"\"newAccount\":\"https://127.0.0.1:14000/sign-me-up\","
	"\"newNonce\":\"https://127.0.0.1:14000/nonce-plz\","
	"\"newOrder\":\"https://127.0.0.1:14000/order-plz\","
	"\"revokeCert\":\"https://127.0.0.1:14000/revoke-cert\"}";

static const char pebble_order[] =
	"{\"status\":\"valid\",\"expires\":\"2026-12-03T18:12:27Z\","
	"\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.nacre.test\"},"
	"{\"type\":\"dns\",\"value\":\"b.nacre.test\"}],"
	"\"finalize\":\"https://127.0.0.1:14000/finalize-order/YskI\","
	"\"authorizations\":[\"https://127.0.0.1:14000/authZ/HGP0\","
	"\"https://127.0.0.1:14000/authZ/iZg3\"],"
	"\"certificate\":\"https://127.0.0.1:14000/certZ/185728d6f47bdec0\"}";

static const char pebble_authz_invalid[] =
	"{\"status\":\"invalid\",\"identifier\":{\"type\":\"dns\",\"value\":"
	"\"nowhere.nacre.test\"},\"challenges\":[{\"type\":\"tls-alpn-01\","
	"\"url\":\"https://127.0.0.1:14000/chalZ/3NHf\",\"token\":"
	"\"6z3HqXKkvE4WfWXknBAJpYBNseFxHaik_FnXFwNbDow\",\"status\":"
	"\"invalid\",\"validated\":\"2026-12-02T18:12:28Z\",\"error\":{"
	"\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":"
	"\"Could not resolve URL \\\"nowhere.nacre.test\\\"\","
	"\"status\":400}}],"
	"\"expires\":\"2026-12-02T19:12:28Z\"}";

static const char pebble_authz_pending[] =
	"{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":"
	"\"b.nacre.test\"},\"challenges\":[{\"type\":\"http-01\",\"url\":"
	"\"https://127.0.0.1:14000/chalZ/mYhr\",\"token\":\"vQZ4\",\"status\":"
	"\"pending\"},{\"type\":\"tls-alpn-01\",\"url\":"
	"\"https://127.0.0.1:14000/chalZ/q8J4\",\"token\":"
	"\"hGe2toAsTAdCJNvMWbUIMfZ_YY1xYdZRiX1xa48s9mQ\",\"status\":"
	"\"pending\"}],\"expires\":\"2026-12-02T19:12:27Z\"}";

static void
test_directory(void)
{
	struct nacre_acme_directory d;
	static const char no_order[] =
		"{\"newNonce\":\"https://a.test/n\",\"newAccount\":"
		"\"https://a.test/a\"}";
	static const char http_url[] =
		"{\"newNonce\":\"http://a.test/n\",\"newAccount\":"
		"\"https://a.test/a\",\"newOrder\":\"https://a.test/o\"}";
	static const char ari[] =
		"{\"newNonce\":\"https://a.test/n\",\"newAccount\":"
		"\"https://a.test/a\",\"newOrder\":\"https://a.test/o\","
		"\"renewalInfo\":\"https://a.test/ari\"}";

	CHECK(nacre_acme_directory_parse(pebble_dir, strlen(pebble_dir), &d,
					 err, sizeof(err)) == 0,
	      "Pebble's directory parses");
	CHECK_STR(d.new_order, "https://127.0.0.1:14000/order-plz",
		  "directory: newOrder");
	CHECK(d.renewal_info == NULL, "Pebble 2.4 offers no renewalInfo");
	nacre_acme_directory_clear(&d);
	CHECK(nacre_acme_directory_parse(ari, strlen(ari), &d, err,
					 sizeof(err)) == 0 &&
	      d.renewal_info &&
	      strcmp(d.renewal_info, "https://a.test/ari") == 0,
	      "directory: renewalInfo when offered");
	nacre_acme_directory_clear(&d);
	CHECK(nacre_acme_directory_parse(no_order, strlen(no_order), &d, err,
					 sizeof(err)) != 0,
	      "no newOrder: refused");
	CHECK_HAS(err, "lacks \"newOrder\"", "... and the error names it");
	CHECK(nacre_acme_directory_parse(http_url, strlen(http_url), &d, err,
					 sizeof(err)) != 0,
	      "http URL: refused");
	CHECK_HAS(err, "\"newNonce\" that is not an https URL",
		  "... and the error says why");
	CHECK(nacre_acme_directory_parse("<html>\x01", 7, &d, err,
					 sizeof(err)) != 0, "HTML: refused");
	CHECK_HAS(err, "directory is not valid JSON", "... as not JSON");
	CHECK(nacre_acme_directory_parse("[1]", 3, &d, err, sizeof(err)) != 0,
	      "a JSON array is not a directory");

	/* meta.caaIdentities (RFC 8555 7.1.1): the first host name */
	static const char caa_ids[] =
		"{\"newNonce\":\"https://a.test/n\",\"newAccount\":"
		"\"https://a.test/a\",\"newOrder\":\"https://a.test/o\","
		"\"meta\":{\"caaIdentities\":[7,\"not a name\","
		"\"letsencrypt.org\",\"second.example\"]}}";
	static const char caa_ids_bad[] =
		"{\"newNonce\":\"https://a.test/n\",\"newAccount\":"
		"\"https://a.test/a\",\"newOrder\":\"https://a.test/o\","
		"\"meta\":{\"caaIdentities\":\"letsencrypt.org\"}}";
	CHECK(d.caa_identity == NULL, "Pebble 2.4 names no caaIdentities");
	CHECK(nacre_acme_directory_parse(caa_ids, strlen(caa_ids), &d, err,
					 sizeof(err)) == 0 && d.caa_identity &&
	      strcmp(d.caa_identity, "letsencrypt.org") == 0,
	      "directory: the first usable meta.caaIdentities");
	nacre_acme_directory_clear(&d);
	CHECK(nacre_acme_directory_parse(caa_ids_bad, strlen(caa_ids_bad), &d,
					 err, sizeof(err)) != 0,
	      "meta.caaIdentities not an array: refused");
	CHECK_HAS(err, "meta.caaIdentities that is not an array",
		  "... and the error names it");
}

static void
test_order_authz(void)
{
	struct nacre_acme_order o;
	struct nacre_acme_authz a;
	static const char bad_token[] =
		"{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
		"\"value\":\"x.test\"},\"challenges\":[{\"type\":"
		"\"tls-alpn-01\","
		"\"url\":\"https://a.test/c\",\"token\":\"../etc\",\"status\":"
		"\"pending\"}]}";
	static const char ip_ident[] =
		"{\"status\":\"pending\",\"identifier\":{\"type\":\"ip\","
		"\"value\":\"127.0.0.1\"},\"challenges\":[]}";
	static const char invalid_order[] =
		"{\"status\":\"invalid\",\"finalize\":\"https://a.test/f\","
		"\"authorizations\":[\"https://a.test/z\"],\"error\":{\"type\":"
		"\"urn:ietf:params:acme:error:unauthorized\",\"detail\":"
		"\"no\"}}";

	CHECK(nacre_acme_order_parse(pebble_order, strlen(pebble_order), &o,
				     err, sizeof(err)) == 0,
	      "Pebble's order parses");
	CHECK(o.status == NACRE_ACME_VALID && o.nauthz == 2 &&
	      strcmp(o.authz[1], "https://127.0.0.1:14000/authZ/iZg3") == 0 &&
	      o.certificate && !o.error, "order: status, authorizations, "
	      "certificate");
	nacre_acme_order_clear(&o);
	CHECK(nacre_acme_order_parse(invalid_order, strlen(invalid_order), &o,
				     err, sizeof(err)) == 0 &&
	      o.status == NACRE_ACME_INVALID, "an invalid order parses");
	CHECK_STR(o.error, "urn:ietf:params:acme:error:unauthorized: no",
		  "order: its error as one line");
	nacre_acme_order_clear(&o);

	CHECK(nacre_acme_authz_parse(pebble_authz_pending,
				     strlen(pebble_authz_pending), &a, err,
				     sizeof(err)) == 0,
	      "Pebble's pending authorization parses");
	CHECK(a.status == NACRE_ACME_PENDING && a.chall_url &&
	      strcmp(a.chall_url, "https://127.0.0.1:14000/chalZ/q8J4") == 0 &&
	      strcmp(a.chall_token,
		     "hGe2toAsTAdCJNvMWbUIMfZ_YY1xYdZRiX1xa48s9mQ") == 0 &&
	      strcmp(a.name, "b.nacre.test") == 0,
	      "authz: the tls-alpn-01 challenge among three");
	nacre_acme_authz_clear(&a);
	CHECK(nacre_acme_authz_parse(pebble_authz_invalid,
				     strlen(pebble_authz_invalid), &a, err,
				     sizeof(err)) == 0 &&
	      a.status == NACRE_ACME_INVALID &&
	      a.chall_status == NACRE_ACME_INVALID,
	      "Pebble's invalid authorization parses");
	CHECK_STR(a.error, "urn:ietf:params:acme:error:malformed: Could not "
		  "resolve URL \\\"nowhere.nacre.test\\\" (HTTP 400)",
		  "authz: the challenge's error, escaped, one line");
	nacre_acme_authz_clear(&a);
	CHECK(nacre_acme_authz_parse(bad_token, strlen(bad_token), &a, err,
				     sizeof(err)) != 0,
	      "a token outside base64url is refused");
	CHECK_HAS(err, "\"token\"", "... and the error names it");
	CHECK(nacre_acme_authz_parse(ip_ident, strlen(ip_ident), &a, err,
				     sizeof(err)) != 0,
	      "a non-dns identifier is refused");
	CHECK_STR(nacre_acme_status_str(NACRE_ACME_PROCESSING), "processing",
		  "status names");
}

/* ---- problems ---- */

static void
test_problem(void)
{
	char type[128], text[NACRE_ERRLEN], tiny[24];
	static const char rl[] =
		"{\"type\":\"urn:ietf:params:acme:error:rateLimited\","
		"\"detail\":\"too many certificates\\u0001 already\","
		"\"status\":429}";
	static const char subs[] =
		"{\"type\":\"urn:ietf:params:acme:error:compound\",\"detail\":"
		"\"2 problems\",\"subproblems\":[{\"type\":"
		"\"urn:ietf:params:acme:error:dns\",\"detail\":\"NXDOMAIN\","
		"\"identifier\":{\"type\":\"dns\",\"value\":\"x.test\"}},"
		"{\"type\":\"urn:ietf:params:acme:error:caa\",\"detail\":"
		"\"CAA forbids\",\"identifier\":{\"type\":\"dns\",\"value\":"
		"\"y.test\"}}]}";

	CHECK(nacre_acme_problem(rl, strlen(rl), 429, type, sizeof(type), text,
				 sizeof(text)) == 0, "a rateLimited problem");
	CHECK_STR(type, "urn:ietf:params:acme:error:rateLimited",
		  "problem: its type");
	CHECK_STR(text, "urn:ietf:params:acme:error:rateLimited: too many "
		  "certificates\\x01 already (HTTP 429)",
		  "problem: type, escaped detail and status on one line");
	nacre_acme_problem(subs, strlen(subs), 400, type, sizeof(type), text,
			   sizeof(text));
	CHECK_STR(text, "urn:ietf:params:acme:error:compound: 2 problems "
		  "(HTTP 400); for x.test: urn:ietf:params:acme:error:dns: "
		  "NXDOMAIN; for y.test: urn:ietf:params:acme:error:caa: "
		  "CAA forbids", "problem: subproblems name their identifier");
	CHECK(nacre_acme_problem("<h1>502</h1>", 12, 502, type, sizeof(type),
				 text, sizeof(text)) == -1 && type[0] == '\0',
	      "an HTML error page is not a problem");
	CHECK_STR(text, "HTTP 502 without a problem document",
		  "... and says what came");
	nacre_acme_problem(rl, strlen(rl), 429, NULL, 0, tiny, sizeof(tiny));
	CHECK(strlen(tiny) == sizeof(tiny) - 1, "problem: cut to fit");
}

/* ---- Retry-After and dates ---- */

static bool
ra(const char *v, int64_t now, uint64_t want)
{
	uint64_t s = 12345;

	return nacre_acme_retry_after(v, now, &s) == 0 && s == want;
}

static bool
ra_bad(const char *v)
{
	uint64_t s;

	return nacre_acme_retry_after(v, 0, &s) == -1;
}

static void
test_retry_after(void)
{
	static const int64_t t = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
	int64_t u;

	CHECK(ra("120", 0, 120) && ra("0", 0, 0), "Retry-After: seconds");
	CHECK(ra("Sun, 06 Nov 1994 08:49:37 GMT", t - 30, 30),
	      "Retry-After: an HTTP-date 30 s ahead");
	CHECK(ra("Sun, 06 Nov 1994 08:49:37 GMT", t + 5, 0),
	      "Retry-After: a past HTTP-date is now");
	CHECK(ra_bad("garbage") && ra_bad("") && ra_bad(NULL) &&
	      ra_bad("12a") && ra_bad("-5") && ra_bad(" 5") &&
	      ra_bad("12345678901"), "Retry-After: garbage is refused");
	CHECK(ra_bad("Sunday, 06-Nov-94 08:49:37 GMT") &&
	      ra_bad("Sun Nov  6 08:49:37 1994") &&
	      ra_bad("Sun, 06 Nov 1994 08:49:37 UTC") &&
	      ra_bad("Sun, 06 Now 1994 08:49:37 GMT") &&
	      ra_bad("Sun, 06 Nov 1994 25:49:37 GMT"),
	      "Retry-After: obsolete date forms and bad dates are refused");

	CHECK(nacre_acme_rfc3339("2025-01-02T04:00:00Z", &u) == 0 &&
	      u == 1735790400, "RFC 3339: UTC");
	CHECK(nacre_acme_rfc3339("2025-01-02T05:30:00.123+01:30", &u) == 0 &&
	      u == 1735790400, "RFC 3339: fraction and offset");
	CHECK(nacre_acme_rfc3339("2025-01-02 04:00:00Z", &u) != 0 &&
	      nacre_acme_rfc3339("2025-01-02T04:00:00", &u) != 0 &&
	      nacre_acme_rfc3339("2025-13-02T04:00:00Z", &u) != 0,
	      "RFC 3339: malformed times are refused");
}

/* ---- CSR, chain, ARI ---- */

static void
test_csr(void)
{
	static const char *const names[] = { "a.nacre.test", "b.nacre.test" };
	EVP_PKEY *key = nacre_acme_key_new();
	uint8_t *der = NULL;
	const uint8_t *p;
	size_t len;
	X509_REQ *req;
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *san = NULL;

	CHECK(nacre_acme_csr(key, names, 2, &der, &len) == 0, "CSR built");
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	CHECK(req && X509_REQ_verify(req, key) == 1,
	      "the CSR parses and is signed by the certificate key");
	exts = req ? X509_REQ_get_extensions(req) : NULL;
	for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) ==
		    NID_subject_alt_name)
			san = X509V3_EXT_d2i(e);
	}
	CHECK(san && sk_GENERAL_NAME_num(san) == 2 &&
	      strcmp((const char *)ASN1_STRING_get0_data(
			     sk_GENERAL_NAME_value(san, 1)->d.dNSName),
		     "b.nacre.test") == 0, "the CSR's SANs are the names");
	GENERAL_NAMES_free(san);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	OPENSSL_free(der);
	nacre_acme_key_free(key);
}

static char *
pem_of(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	BIO_free(b);
	return out;
}

static void
test_chain(void)
{
	static const char *const good[] = { "c.nacre.test" };
	static const char *const other[] = { "d.nacre.test" };
	uint8_t digest[32] = { 0 };
	EVP_PKEY *key = NULL, *stranger = nacre_acme_key_new();
	X509 *x = nacre_acme_challenge_cert("c.nacre.test", digest, &key);
	char *pem = pem_of(x);
	struct nacre_acme_cert c;

	CHECK(nacre_acme_chain_parse(pem, strlen(pem), key, good, 1, &c, err,
				     sizeof(err)) == 0 && c.nchain == 1 &&
	      c.not_after > c.not_before && c.chain_pem,
	      "a one-certificate chain for our key and name is taken");
	for (size_t i = 0; i < c.nchain; i++)
		X509_free(c.chain[i]);
	free(c.chain);
	free(c.chain_pem);
	CHECK(nacre_acme_chain_parse(pem, strlen(pem), key, other, 1, &c, err,
				     sizeof(err)) != 0 && c.nchain == 0,
	      "a certificate without one of the names is refused");
	CHECK_HAS(err, "does not name d.nacre.test", "... and says which");
	CHECK(nacre_acme_chain_parse(pem, strlen(pem), stranger, good, 1, &c,
				     err, sizeof(err)) != 0,
	      "a certificate for another key is refused");
	CHECK_HAS(err, "not for the key of our CSR", "... and says so");
	CHECK(nacre_acme_chain_parse("junk", 4, key, good, 1, &c, err,
				     sizeof(err)) != 0,
	      "a download without PEM is refused");
	CHECK_HAS(err, "no PEM certificate", "... and says so");
	free(pem);
	X509_free(x);
	nacre_acme_key_free(key);
	nacre_acme_key_free(stranger);
}

/* RFC 9773 4.1's example: AKI keyIdentifier 69:88:5B:...:D4, serial
 * 0x87654321 (DER contents 00 87 65 43 21) */
static void
test_ari(void)
{
	static const uint8_t kid[] = { 0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40,
				       0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0,
				       0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4 };
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	EVP_PKEY *key = nacre_acme_key_new();
	X509 *x = X509_new();
	struct nacre_acme_window w;
	char id[128];
	static const char win[] =
		"{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\","
		"\"end\":\"2025-01-03T04:00:00Z\"},\"explanationURL\":"
		"\"https://acme.example.com/docs/ari\"}";
	static const char backwards[] =
		"{\"suggestedWindow\":{\"start\":\"2025-01-03T04:00:00Z\","
		"\"end\":\"2025-01-02T04:00:00Z\"}}";

	akid->keyid = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(akid->keyid, kid, sizeof(kid));
	ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), 0x87654321);
	X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0);
	/* a whole, signed certificate: OpenSSL reads the AKI back only then */
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"ari", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_sign(x, key, EVP_sha256());
	CHECK(nacre_acme_ari_cert_id(x, id, sizeof(id)) == 0, "ARI certID");
	CHECK_STR(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
		  "ARI certID is RFC 9773's example");
	CHECK(nacre_acme_ari_cert_id(x, id, 20) != 0,
	      "ARI certID: a short buffer is refused");
	AUTHORITY_KEYID_free(akid);
	X509_free(x);
	nacre_acme_key_free(key);

	CHECK(nacre_acme_window_parse(win, strlen(win), &w, err, sizeof(err)) ==
	      0 && w.start == 1735790400 && w.end == 1735790400 + 86400,
	      "renewalInfo window");
	CHECK_STR(w.explanation, "https://acme.example.com/docs/ari",
		  "renewalInfo explanationURL");
	CHECK(nacre_acme_window_parse(backwards, strlen(backwards), &w, err,
				      sizeof(err)) != 0,
	      "a window that ends before it starts is refused");
	CHECK_HAS(err, "ends before it starts", "... and says so");
}

/* ---- the client's configuration ---- */

static void
test_client_config(void)
{
	struct nacre_acme_config cfg = { .directory = "http://ca.test/dir" };
	struct nacre_acme_client *c;
	uint8_t raw[32], again[32];
	char b64[44];

	CHECK(nacre_acme_client_new(&cfg, err, sizeof(err)) == NULL,
	      "an http directory is refused");
	CHECK_HAS(err, "must be an https URL", "... and the error says so");
	cfg.directory = "https://127.0.0.1:1/dir";
	cfg.ca_roots = "/nonexistent/roots.pem";
	CHECK(nacre_acme_client_new(&cfg, err, sizeof(err)) == NULL,
	      "a missing ca_roots file is refused");
	CHECK_HAS(err, "ca_roots file /nonexistent/roots.pem",
		  "... and the error names it");
	cfg.ca_roots = NULL;
	cfg.via = "udp:1.2.3.4:5";
	CHECK(nacre_acme_client_new(&cfg, err, sizeof(err)) == NULL,
	      "a bad via address is refused");
	CHECK_HAS(err, "ACME via: \"udp:1.2.3.4:5\": unknown address type",
		  "... and the error names it");

	/* nothing listens on port 1 of the loopback: the hop refuses */
	cfg.via = "tcp:127.0.0.1:1";
	cfg.timeout_s = 5;
	c = nacre_acme_client_new(&cfg, err, sizeof(err));
	CHECK(c != NULL, "client with a tcp hop");
	if (!c)
		return;
	CHECK(nacre_acme_account_url(c) == NULL, "no account before register");
	nacre_acme_thumbprint(c, raw, b64);
	CHECK(strlen(b64) == 43 &&
	      nacre_acme_jwk_thumbprint(NULL, again) != 0,
	      "the account thumbprint is 43 base64url characters");
	CHECK(nacre_acme_account_register(c, err, sizeof(err)) != 0,
	      "register through a closed hop fails");
	CHECK_HAS(err, "cannot connect to the CA through the hop "
		  "tcp:127.0.0.1:1: Connection refused", "... and says where");
	nacre_acme_client_free(c);
}

int
main(void)
{
	test_b64url();
	test_thumbprint();
	test_jws();
	test_challenge_cert();
	test_directory();
	test_order_authz();
	test_problem();
	test_retry_after();
	test_csr();
	test_chain();
	test_ari();
	test_client_config();
	TAP_DONE();
}
