/*
 * test_verify.c: nacre_verify_cert end to end on certificates carrying sim
 * evidence (trusted by PEM and by hash, untrusted by default, broken chain,
 * signature and binding, age, debug, PCRs, module ids), a policy that
 * pins no code (refused, or with allow_any_code accepted with a warning on
 * every verification), on certificates without or with foreign evidence,
 * and on real AWS documents, which must pass chain and signature and then
 * fail the binding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "attest.h"
#include "nacre/verify.h"
#include "tap.h"

#define VEC "tests/vectors/nitro/"
#define AWS_ROOT_HEX \
	"641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"

static char err[512];
static char dir[64] = "/tmp/nacre-test-verify-XXXXXX";
static char root_path[128];
static char crt_path[128];
static uint8_t pcrs[16][48];

static uint8_t *
spki_der(EVP_PKEY *k, size_t *len)
{
	uint8_t *der = NULL;
	int n = i2d_PUBKEY(k, &der);

	*len = n > 0 ? (size_t)n : 0;
	return der;
}

/* self-signed, like nacred's: the evidence is what vouches for it */
static X509 *
cert_with(EVP_PKEY *key, const char *media_type, const uint8_t *doc,
	  size_t len)
{
	X509 *x = X509_new();

	if (!x)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), -300);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	if ((doc && nacre_evidence_add_to_cert(x, media_type, doc, len) < 0) ||
	    X509_sign(x, key, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* a sim document binding bind_key, in a certificate for cert_key */
static X509 *
sim_cert(struct nacre_attest *a, EVP_PKEY *bind_key, EVP_PKEY *cert_key)
{
	struct nacre_claims c = { .version = 1, .has_config = true };
	uint8_t *spki, *ud = NULL, *doc = NULL;
	size_t spki_len, ud_len = 0, doc_len = 0;
	X509 *x = NULL;

	memset(c.config_sha256, 0xcf, 32);
	spki = spki_der(bind_key, &spki_len);
	if (nacre_claims_encode(&c, &ud, &ud_len) == 0 &&
	    nacre_attest_get(a, spki, spki_len, ud, ud_len, NULL, 0, &doc,
			     &doc_len, err, sizeof(err)) == 0)
		x = cert_with(cert_key, NACRE_MEDIA_TYPE_NITRO, doc, doc_len);
	else
		printf("# %s\n", err);
	OPENSSL_free(spki);
	free(ud);
	free(doc);
	return x;
}

/* the sim root pinned by hash, nothing else: pins no code */
static struct nacre_policy *
root_only_policy(const char *sha_hex)
{
	struct nacre_policy *p = nacre_policy_new();

	if (p && nacre_policy_add_root_sha256(p, sha_hex, err,
					      sizeof(err)) < 0) {
		nacre_policy_free(p);
		return NULL;
	}
	return p;
}

/* the sim root and PCR0 as the sim enclave measures it */
static struct nacre_policy *
sim_policy(const char *sha_hex)
{
	struct nacre_policy *p = root_only_policy(sha_hex);

	if (p && nacre_policy_add_pcr(p, 0, pcrs[0], 48) < 0) {
		nacre_policy_free(p);
		return NULL;
	}
	return p;
}

static int
verify(X509 *x, const struct nacre_policy *p, struct nacre_result *r)
{
	int st = nacre_verify_cert(x, p, r);

	printf("# %s: %s\n", nacre_verify_status_name(r->status), r->message);
	return st;
}

static void
test_trust(struct nacre_attest *a, X509 *good)
{
	struct nacre_policy *p = nacre_policy_new();
	const char *hex = nacre_attest_sim_root_sha256_hex(a);
	struct nacre_result r;

	CHECK(p && nacre_policy_add_root_pem(p, root_path, err,
					     sizeof(err)) < 0,
	      "policy: the sim's key file is refused as a root");
	CHECK_HAS(err, "holds a private key", "... saying it holds a key");
	CHECK_HAS(err, crt_path, "... and naming the certificate beside it");
	CHECK(p && nacre_policy_add_root_pem(p, crt_path, err,
					     sizeof(err)) == 0 &&
	      nacre_policy_add_pcr(p, 0, pcrs[0], 48) == 0,
	      "policy: sim root added by its certificate file, PCR0 pinned");
	CHECK(p && verify(good, p, &r) == NACRE_OK && r.status == NACRE_OK,
	      "sim evidence verifies with the sim root pinned by PEM");
	CHECK_HAS(r.message, "satisfies the policy", "OK message says so");
	CHECK_STR(r.module_id, nacre_attest_module_id(a),
		  "result: module_id is the sim enclave's");
	CHECK_STR(r.root_sha256_hex, hex, "result: root SHA-256 is the sim's");
	CHECK_STR(r.evidence_type, NACRE_MEDIA_TYPE_NITRO,
		  "result: evidence type is the Nitro media type");
	CHECK(r.pcr_mask == 0xffff && r.pcr[2][0] == 3 && r.pcr[15][47] == 16 &&
	      !r.debug, "result: the 16 PCRs, not debug");
	CHECK(r.has_config_sha256 && r.config_sha256[0] == 0xcf,
	      "result: config SHA-256 from the claims");
	CHECK(r.timestamp_ms / 1000 + 60 > (uint64_t)time(NULL) &&
	      r.timestamp_ms / 1000 <= (uint64_t)time(NULL),
	      "result: timestamp is the document's (now)");
	nacre_policy_free(p);

	p = sim_policy(hex);
	CHECK(p && verify(good, p, &r) == NACRE_OK,
	      "sim evidence verifies with the sim root pinned by sha256");
	nacre_policy_free(p);

	p = nacre_policy_new();
	CHECK(p && verify(good, p, &r) == NACRE_E_UNTRUSTED_ROOT,
	      "default policy (AWS root only) refuses the sim root");
	CHECK_HAS(r.message, hex, "... naming the root's SHA-256");
	CHECK_HAS(r.message, "add \"sha256:", "... and how to trust it");
	CHECK_STR(r.module_id, nacre_attest_module_id(a),
		  "... with the decoded facts still filled in");
	nacre_policy_free(p);

	p = nacre_policy_new();
	CHECK(p && nacre_policy_add_root_sha256(p, AWS_ROOT_HEX, err,
						sizeof(err)) == 0 &&
	      verify(good, p, &r) == NACRE_E_UNTRUSTED_ROOT,
	      "a policy pinning another hash refuses the sim root");
	nacre_policy_free(p);
}

static void
test_policy_checks(struct nacre_attest *a, X509 *good)
{
	struct nacre_policy *p = sim_policy(nacre_attest_sim_root_sha256_hex(a));
	struct nacre_result r;
	uint8_t v[48];

	if (!p)
		return;
	memset(v, 9, sizeof(v));
	nacre_policy_add_pcr(p, 2, v, sizeof(v));
	CHECK(verify(good, p, &r) == NACRE_E_PCR, "PCR2 mismatch is refused");
	CHECK_HAS(r.message, "PCR2 is 03030303\u20260303, policy expects one "
		  "of: 09090909\u20260909", "... naming PCR, value, expected");
	CHECK_STR(nacre_verify_status_name(r.status), "pcr-mismatch",
		  "... status name pcr-mismatch");
	nacre_policy_add_pcr(p, 2, pcrs[2], 48);
	CHECK(verify(good, p, &r) == NACRE_OK,
	      "any listed value for a PCR passes");
	memset(v, 0xee, sizeof(v)); /* the sim's PCR8 is all 09 */
	nacre_policy_add_pcr(p, 8, v, sizeof(v));
	CHECK(verify(good, p, &r) == NACRE_E_PCR && strstr(r.message, "PCR8"),
	      "every constrained PCR is checked (PCR8)");
	nacre_policy_free(p);

	p = sim_policy(nacre_attest_sim_root_sha256_hex(a));
	nacre_policy_set_time(p, time(NULL) + 3 * 3600 + 30);
	CHECK(verify(good, p, &r) == NACRE_E_TOO_OLD,
	      "a document 3h old is too old for the default max_age");
	CHECK_HAS(r.message, "is 3h old", "... naming its age");
	CHECK_HAS(r.message, "max_age of 2h", "... and the limit");
	nacre_policy_set_max_age(p, 4 * 3600);
	CHECK(verify(good, p, &r) == NACRE_OK, "max_age 4h accepts it");
	nacre_policy_set_time(p, time(NULL) - 3600);
	CHECK(verify(good, p, &r) == NACRE_E_FROM_FUTURE,
	      "a document 1h in the future is refused");
	CHECK_HAS(r.message, "clock", "... pointing at the clock");
	nacre_policy_set_time(p, time(NULL) - 60);
	CHECK(verify(good, p, &r) == NACRE_OK,
	      "1 minute of clock skew is tolerated");
	nacre_policy_set_time(p, 0);

	CHECK(nacre_policy_add_module_id(p, "i-00000000000000000-enc0000") == 0 &&
	      verify(good, p, &r) == NACRE_E_MODULE,
	      "a module id outside the allow-list is refused");
	CHECK_HAS(r.message, nacre_attest_module_id(a),
		  "... naming the module id");
	nacre_policy_add_module_id(p, nacre_attest_module_id(a));
	CHECK(verify(good, p, &r) == NACRE_OK, "an allowed module id passes");
	nacre_policy_free(p);
}

static void
test_debug(const char *hex, EVP_PKEY *k)
{
	static const uint8_t zero[48];
	struct nacre_attest *b = nacre_attest_sim_open(root_path, NULL, err,
						       sizeof(err));
	struct nacre_policy *p = root_only_policy(hex);
	struct nacre_result r;
	X509 *x = b ? sim_cert(b, k, k) : NULL;

	CHECK(x && p, "debug sim enclave (all-zero PCRs) issues a certificate");
	if (p)
		nacre_policy_add_pcr(p, 0, zero, sizeof(zero));
	if (x && p) {
		CHECK(verify(x, p, &r) == NACRE_E_DEBUG && r.debug,
		      "a debug enclave is refused by default");
		CHECK_HAS(r.message, "allow_debug", "... naming the setting");
		nacre_policy_set_allow_debug(p, true);
		CHECK(verify(x, p, &r) == NACRE_OK && r.debug,
		      "allow_debug accepts it (and still reports debug)");
	}
	X509_free(x);
	nacre_policy_free(p);
	nacre_attest_free(b);
}

/* a policy that trusts a root and pins no code accepts any enclave
 * under it: refused unless allow_any_code, which then warns every time */
static void
test_unpinned(struct nacre_attest *a, EVP_PKEY *k, X509 *good)
{
	const char *hex = nacre_attest_sim_root_sha256_hex(a);
	struct nacre_policy *p = root_only_policy(hex);
	struct nacre_result r;
	uint8_t *spki, *doc = NULL;
	size_t spki_len, doc_len = 0;

	if (!p)
		return;
	CHECK(nacre_policy_check(p, err, sizeof(err)) < 0,
	      "unpinned: nacre_policy_check refuses a policy pinning no code");
	CHECK_STR(err, "the policy pins no code: add pcrs.pcr0 (the image "
		  "measurement) or module_ids, or allow_any_code = true to "
		  "accept any enclave", "... saying what to pin");
	CHECK(verify(good, p, &r) == NACRE_E_POLICY_UNPINNED,
	      "unpinned: genuine sim evidence is refused");
	CHECK_STR(nacre_verify_status_name(r.status), "policy-pins-no-code",
		  "... status policy-pins-no-code");
	CHECK_HAS(r.message, "pins no code", "... the message says so");
	CHECK_HAS(r.message, "pcrs.pcr0", "... and names what to pin");
	CHECK_HAS(r.message, "allow_any_code = true", "... or how to allow any");
	CHECK(r.warning[0] == '\0' && strcmp(r.module_id,
					      nacre_attest_module_id(a)) == 0,
	      "... no warning, the facts filled in");

	nacre_policy_set_allow_any_code(p, true);
	CHECK(nacre_policy_check(p, err, sizeof(err)) == 0,
	      "allow_any_code: nacre_policy_check accepts it");
	CHECK(verify(good, p, &r) == NACRE_OK,
	      "allow_any_code: the same evidence verifies");
	CHECK_HAS(r.warning, "pins no code (allow_any_code)",
		  "allow_any_code: the result carries a warning");
	memset(&r, 0, sizeof(r));
	CHECK(verify(good, p, &r) == NACRE_OK &&
	      strstr(r.warning, "any code in any enclave"),
	      "allow_any_code: ... on every verification");
	spki = spki_der(k, &spki_len);
	CHECK(nacre_attest_get(a, spki, spki_len, NULL, 0, NULL, 0, &doc,
			       &doc_len, err, sizeof(err)) == 0 &&
	      nacre_verify_document(doc, doc_len, spki, spki_len, p, &r) ==
	      NACRE_OK && strstr(r.warning, "pins no code"),
	      "allow_any_code: nacre_verify_document warns too");
	nacre_policy_set_time(p, time(NULL) + 3 * 3600);
	CHECK(verify(good, p, &r) == NACRE_E_TOO_OLD && r.warning[0],
	      "allow_any_code: a failed verification carries it too");
	nacre_policy_set_time(p, 0);

	nacre_policy_add_module_id(p, nacre_attest_module_id(a));
	CHECK(verify(good, p, &r) == NACRE_OK && r.warning[0] == '\0',
	      "allow_any_code with a module id pinned: no warning");
	nacre_policy_free(p);

	p = root_only_policy(hex);
	nacre_policy_add_module_id(p, nacre_attest_module_id(a));
	CHECK(p && nacre_policy_check(p, err, sizeof(err)) == 0 &&
	      verify(good, p, &r) == NACRE_OK && r.warning[0] == '\0',
	      "a module id alone pins the enclave: verifies, no warning");
	nacre_policy_free(p);

	p = root_only_policy(hex);
	nacre_policy_add_pcr(p, 8, pcrs[8], 48);
	CHECK(p && verify(good, p, &r) == NACRE_OK && r.warning[0] == '\0',
	      "any pinned PCR (PCR8, the signer) counts as a pin");
	nacre_policy_free(p);

	CHECK(nacre_policy_check(NULL, err, sizeof(err)) < 0,
	      "nacre_policy_check(NULL) fails, no crash");
	free(doc);
	OPENSSL_free(spki);
}

static void
test_binding(struct nacre_attest *a, EVP_PKEY *k)
{
	EVP_PKEY *other = EVP_EC_gen("P-256");
	struct nacre_policy *p = sim_policy(nacre_attest_sim_root_sha256_hex(a));
	struct nacre_result r;
	X509 *x = sim_cert(a, k, other);

	CHECK(x && p && verify(x, p, &r) == NACRE_E_BINDING,
	      "evidence for key A in a certificate of key B is refused");
	CHECK_HAS(r.message, "another certificate", "... saying it was copied");
	X509_free(x);
	nacre_policy_free(p);
	EVP_PKEY_free(other);
}

/* flips the last byte of needle inside doc (signature bytes of a cert) */
static void
flip_in(uint8_t *doc, size_t len, const uint8_t *needle, size_t n)
{
	uint8_t *at = memmem(doc, len, needle, n);

	if (at)
		at[n - 1] ^= 1;
}

static void
test_forgery(struct nacre_attest *a, EVP_PKEY *k)
{
	struct nacre_policy *p = sim_policy(nacre_attest_sim_root_sha256_hex(a));
	struct nacre_nitro_doc *d = NULL;
	struct nacre_result r;
	uint8_t *spki, *doc = NULL, *leaf = NULL;
	size_t spki_len, len = 0, leaf_len = 0;
	X509 *x;

	spki = spki_der(k, &spki_len);
	if (!p || nacre_attest_get(a, spki, spki_len, NULL, 0, NULL, 0, &doc,
				   &len, err, sizeof(err)) < 0 ||
	    nacre_nitro_doc_decode(doc, len, &d, err, sizeof(err)) < 0) {
		CHECK(0, "forgery setup");
		goto out;
	}
	leaf_len = d->certificate_len;
	leaf = malloc(leaf_len);
	memcpy(leaf, d->certificate, leaf_len);

	doc[len - 1] ^= 1; /* last byte of the COSE signature */
	x = cert_with(k, NACRE_MEDIA_TYPE_NITRO, doc, len);
	CHECK(x && verify(x, p, &r) == NACRE_E_SIGNATURE,
	      "a flipped signature bit is refused as a bad signature");
	X509_free(x);
	doc[len - 1] ^= 1;

	flip_in(doc, len, leaf, leaf_len);
	x = cert_with(k, NACRE_MEDIA_TYPE_NITRO, doc, len);
	CHECK(x && verify(x, p, &r) == NACRE_E_CHAIN,
	      "a damaged signing certificate is refused as a bad chain");
	X509_free(x);

	x = cert_with(k, NACRE_MEDIA_TYPE_NITRO, (const uint8_t *)"\x84\x01",
		      2);
	CHECK(x && verify(x, p, &r) == NACRE_E_DOC_MALFORMED,
	      "a malformed document is refused as malformed");
	CHECK_HAS(r.message, "malformed", "... saying so");
	X509_free(x);

	x = cert_with(k, "application/eat+cwt", doc, len);
	CHECK(x && verify(x, p, &r) == NACRE_E_UNSUPPORTED,
	      "evidence of another media type is unsupported");
	CHECK_HAS(r.message, "application/eat+cwt", "... naming the type");
	CHECK_STR(r.evidence_type, "application/eat+cwt",
		  "... and reporting it");
	X509_free(x);

	x = cert_with(k, NULL, NULL, 0);
	CHECK(x && verify(x, p, &r) == NACRE_E_NO_EVIDENCE,
	      "a certificate without the extension has no evidence");
	CHECK_HAS(r.message, NACRE_OID_PE_CMW, "... naming the OID");
	X509_free(x);
out:
	nacre_nitro_doc_free(d);
	nacre_policy_free(p);
	OPENSSL_free(spki);
	free(doc);
	free(leaf);
}

static uint8_t *
read_vec(const char *name, size_t *len)
{
	char path[256];
	FILE *f;
	uint8_t *buf = malloc(65536);

	snprintf(path, sizeof(path), VEC "%s", name);
	f = fopen(path, "rb");
	*len = f && buf ? fread(buf, 1, 65536, f) : 0;
	if (f)
		fclose(f);
	if (!*len) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* base64 with line breaks -> bytes */
static uint8_t *
read_b64_vec(const char *name, size_t *len)
{
	size_t n, m = 0, pad = 0;
	uint8_t *txt = read_vec(name, &n), *out;
	int k;

	if (!txt)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (txt[i] != '\n' && txt[i] != '\r' && txt[i] != ' ')
			txt[m++] = txt[i];
	while (pad < 2 && m > pad && txt[m - 1 - pad] == '=')
		pad++;
	out = malloc(m);
	k = out ? EVP_DecodeBlock(out, txt, (int)m) : -1;
	free(txt);
	if (k < 0 || (size_t)k < pad) {
		free(out);
		return NULL;
	}
	*len = (size_t)k - pad;
	return out;
}

static void
aws_case(const char *label, uint8_t *doc, size_t len, time_t at, EVP_PKEY *k)
{
	struct nacre_policy *p = nacre_policy_new();
	struct nacre_result r;
	char name[160];
	X509 *x = doc ? cert_with(k, NACRE_MEDIA_TYPE_NITRO, doc, len) : NULL;

	nacre_policy_set_time(p, at);
	snprintf(name, sizeof(name), "%s: real AWS document under the default "
		 "policy fails exactly at the binding", label);
	CHECK(x && p && verify(x, p, &r) == NACRE_E_BINDING, name);
	snprintf(name, sizeof(name), "%s: ... after chain and signature "
		 "passed (AWS root, facts decoded)", label);
	CHECK(strcmp(r.root_sha256_hex, AWS_ROOT_HEX) == 0 &&
	      strncmp(r.module_id, "i-", 2) == 0 && r.pcr_mask == 0xffff &&
	      r.timestamp_ms / 1000 <= (uint64_t)at, name);
	nacre_policy_free(p);

	p = sim_policy(AWS_ROOT_HEX);
	nacre_policy_set_time(p, at);
	snprintf(name, sizeof(name), "%s: pinned by AWS's hash: binding too",
		 label);
	CHECK(x && p && verify(x, p, &r) == NACRE_E_BINDING, name);
	nacre_policy_free(p);

	p = sim_policy("00000000000000000000000000000000"
		       "00000000000000000000000000000000");
	snprintf(name, sizeof(name), "%s: a policy without the AWS root "
		 "refuses it, saying to add aws-nitro", label);
	CHECK(x && p && verify(x, p, &r) == NACRE_E_UNTRUSTED_ROOT &&
	      strstr(r.message, "\"aws-nitro\""), name);
	nacre_policy_free(p);
	X509_free(x);
	free(doc);
}

static void
test_aws(EVP_PKEY *k)
{
	size_t len = 0;
	uint8_t *doc;

	doc = read_b64_vec("aws_attestation_2026_01_03_indefinite_map.b64",
			   &len);
	CHECK(doc && len == 4482, "AWS 2026 vector decodes to 4482 bytes");
	aws_case("AWS 2026 (indefinite map)", doc, len, 1767472867, k);
	doc = read_vec("evervault_beta_attestation_doc.cbor", &len);
	aws_case("Evervault beta", doc, len, 1665651500, k);
}

static void
test_status_names(void)
{
	bool distinct = true;

	for (int i = NACRE_OK; i <= NACRE_E_POLICY_UNPINNED; i++)
		for (int j = NACRE_OK; j < i; j++)
			distinct = distinct &&
				strcmp(nacre_verify_status_name(i),
				       nacre_verify_status_name(j)) != 0 &&
				strcmp(nacre_verify_status_name(i),
				       "unknown") != 0;
	CHECK(distinct, "status names are distinct");
	CHECK_STR(nacre_verify_status_name(NACRE_E_BINDING), "binding-mismatch",
		  "binding-mismatch");
	CHECK_STR(nacre_verify_status_name((enum nacre_verify_status)99),
		  "unknown", "out-of-range status is unknown");
	struct nacre_result r;
	CHECK(nacre_verify_cert(NULL, NULL, &r) == NACRE_E_INTERNAL,
	      "NULL certificate is an internal error, not a crash");
}

/* nacre_verify_document: the same checks on a bare document */
static void
test_document(struct nacre_attest *a, EVP_PKEY *k)
{
	struct nacre_policy *p = sim_policy(nacre_attest_sim_root_sha256_hex(a));
	EVP_PKEY *other = EVP_EC_gen("P-256");
	uint8_t *spki, *ospki, *doc = NULL;
	size_t spki_len, ospki_len, doc_len = 0;
	struct nacre_result r;

	spki = spki_der(k, &spki_len);
	ospki = other ? spki_der(other, &ospki_len) : NULL;
	CHECK(p && spki && ospki &&
	      nacre_attest_get(a, spki, spki_len, NULL, 0, NULL, 0, &doc,
			       &doc_len, err, sizeof(err)) == 0,
	      "document: a bare sim document is made");
	if (doc && p) {
		CHECK(nacre_verify_document(doc, doc_len, NULL, 0, p, &r) ==
		      NACRE_OK, "document: verifies without a key to bind");
		CHECK_HAS(r.message, "binding was not checked",
			  "document: says the binding was not checked");
		CHECK(nacre_verify_document(doc, doc_len, spki, spki_len, p,
					    &r) == NACRE_OK,
		      "document: verifies bound to its key");
		CHECK(nacre_verify_document(doc, doc_len, ospki, ospki_len, p,
					    &r) == NACRE_E_BINDING,
		      "document: another key fails the binding");
		doc[doc_len - 1] ^= 1;
		CHECK(nacre_verify_document(doc, doc_len, NULL, 0, p, &r) ==
		      NACRE_E_SIGNATURE && r.module_id[0],
		      "document: a flipped signature bit fails, facts still filled");
		CHECK(nacre_verify_document(doc, 3, NULL, 0, p, &r) ==
		      NACRE_E_DOC_MALFORMED, "document: truncated is malformed");
	}
	free(doc);
	OPENSSL_free(spki);
	OPENSSL_free(ospki);
	EVP_PKEY_free(other);
	nacre_policy_free(p);
}

int
main(void)
{
	struct nacre_attest *a;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	char cmd[128];
	X509 *good;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(root_path, sizeof(root_path), "%s/root.pem", dir);
	snprintf(crt_path, sizeof(crt_path), "%s/root.crt", dir);
	for (int i = 0; i < 16; i++)
		memset(pcrs[i], i + 1, 48);
	a = nacre_attest_sim_open(root_path, (const uint8_t (*)[48])pcrs, err,
				  sizeof(err));
	CHECK(a != NULL, "sim provider opens");
	good = a ? sim_cert(a, k, k) : NULL;
	CHECK(good != NULL, "a certificate carrying sim evidence is built");
	if (good) {
		test_trust(a, good);
		test_policy_checks(a, good);
		test_unpinned(a, k, good);
		test_debug(nacre_attest_sim_root_sha256_hex(a), k);
		test_binding(a, k);
		test_forgery(a, k);
		test_document(a, k);
	}
	test_aws(k);
	test_status_names();
	X509_free(good);
	nacre_attest_free(a);
	EVP_PKEY_free(k);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	TAP_DONE();
}
