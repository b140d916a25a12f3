/*
 * test_nitro_doc.c: the Nitro document decoder and verifier on four real,
 * AWS-signed documents (definite and indefinite payload maps, null optional
 * fields, high-S signatures) and on every way a document must be refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "attest.h"
#include "tap.h"

#define VEC "tests/vectors/nitro/"
#define Y2100 4102444800

static char err[512];

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
		buf[n] = 0;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static uint8_t *
slurp_b64(const char *path, size_t *len)
{
	size_t n, m = 0, pad = 0;
	uint8_t *txt = slurp(path, &n), *out;
	int r;

	if (!txt)
		return NULL;
	for (size_t i = 0; i < n; i++) /* drop line breaks */
		if (txt[i] != '\n' && txt[i] != '\r') {
			pad = txt[i] == '=' ? pad + 1 : 0;
			txt[m++] = txt[i];
		}
	out = malloc(m + 1);
	r = EVP_DecodeBlock(out, txt, (int)m);
	free(txt);
	if (r < 0 || (size_t)r < pad) {
		free(out);
		return NULL;
	}
	*len = (size_t)r - pad; /* DecodeBlock counts '=' as zero bytes */
	return out;
}

static X509 *
load_cert_der(const char *path)
{
	size_t n;
	uint8_t *der = slurp(path, &n);
	const uint8_t *p = der;
	X509 *x = der ? d2i_X509(NULL, &p, (long)n) : NULL;

	free(der);
	return x;
}

static X509 *
aws_root(void)
{
	FILE *f = fopen(VEC "aws_nitro_root_g1.pem", "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return x;
}

static uint8_t *
spki_of(X509 *x, size_t *len)
{
	uint8_t *der = NULL;
	int n = i2d_PUBKEY(X509_get0_pubkey(x), &der);

	*len = n > 0 ? (size_t)n : 0;
	return der;
}

/* the beta TLS certificate carries a document hex-encoded in the first
 * label of one of its DNS SANs (the long one) */
static uint8_t *
doc_from_san(const char *path, size_t *len)
{
	X509 *x = load_cert_der(path);
	GENERAL_NAMES *gens = x ? X509_get_ext_d2i(x, NID_subject_alt_name,
						   NULL, NULL) : NULL;
	const char *best = NULL;
	size_t best_len = 0;
	uint8_t *out = NULL;

	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		const char *s = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
		const char *dot = strchr(s, '.');
		if (dot && (size_t)(dot - s) > best_len) {
			best = s;
			best_len = (size_t)(dot - s);
		}
	}
	if (best && (out = malloc(best_len / 2 + 1))) {
		for (size_t k = 0; k < best_len / 2; k++) {
			unsigned v = 0;
			sscanf(best + 2 * k, "%2x", &v);
			out[k] = (uint8_t)v;
		}
		*len = best_len / 2;
	}
	GENERAL_NAMES_free(gens);
	X509_free(x);
	return out;
}

static void
hexs(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static bool
pcr_prefix(const struct nacre_nitro_doc *d, unsigned i, const char *want)
{
	char h[129];

	if (!(d->pcr_mask & (1u << i)) || d->pcr_len[i] != 48)
		return false;
	hexs(d->pcr[i], 48, h);
	return strncmp(h, want, strlen(want)) == 0;
}

static bool
pcr_zero(const struct nacre_nitro_doc *d, unsigned i)
{
	static const uint8_t zero[48];

	return (d->pcr_mask & (1u << i)) && memcmp(d->pcr[i], zero, 48) == 0;
}

static bool
high_s(const struct nacre_nitro_doc *d)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_secp384r1);
	BIGNUM *half = BN_new(), *s = BN_bin2bn(d->signature + 48, 48, NULL);
	bool hi = g && half && s && BN_rshift1(half, EC_GROUP_get0_order(g)) &&
		  BN_cmp(s, half) > 0;

	BN_free(half);
	BN_free(s);
	EC_GROUP_free(g);
	return hi;
}

struct vec {
	const char *name;
	uint8_t *buf;
	size_t len;
	time_t at;
	uint64_t ts;
};

/* decode, check the fields every document shares, verify at its time */
static struct nacre_nitro_doc *
check_common(const struct vec *v, X509 *root)
{
	static const char aws_root_sha[] =
		"641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";
	struct nacre_nitro_doc *d = NULL;
	char name[128], h[65];
	uint8_t md[32];
	EVP_PKEY *pub;

	snprintf(name, sizeof(name), "%s: decodes", v->name);
	CHECK(v->buf && nacre_nitro_doc_decode(v->buf, v->len, &d, err,
					       sizeof(err)) == 0, name);
	if (!d) {
		printf("# %s\n", err);
		return NULL;
	}
	snprintf(name, sizeof(name), "%s: untagged, ES384 protected header",
		 v->name);
	CHECK(!d->tagged && d->protected_len == 4 &&
	      memcmp(d->protected_raw, nacre_nitro_protected_es384, 4) == 0,
	      name);
	snprintf(name, sizeof(name), "%s: timestamp", v->name);
	CHECK(d->timestamp_ms == v->ts, name);
	snprintf(name, sizeof(name), "%s: digest SHA384, 16 PCRs", v->name);
	CHECK(strcmp(d->digest, "SHA384") == 0 && d->npcrs == 16 &&
	      d->pcr_mask == 0xffff, name);
	snprintf(name, sizeof(name), "%s: module_id is an enclave id", v->name);
	CHECK(d->module_id && strncmp(d->module_id, "i-", 2) == 0 &&
	      strstr(d->module_id, "-enc"), name);
	snprintf(name, sizeof(name), "%s: cabundle of 4, [0] is AWS root G1",
		 v->name);
	if (d->ncabundle > 0) {
		SHA256(d->cabundle[0], d->cabundle_len[0], md);
		hexs(md, 32, h);
	}
	CHECK(d->ncabundle == 4 && strcmp(h, aws_root_sha) == 0, name);

	snprintf(name, sizeof(name), "%s: chain verifies at its time", v->name);
	pub = nacre_nitro_doc_verify_chain(d, root, v->at, err, sizeof(err));
	CHECK(pub != NULL, name);
	if (!pub)
		printf("# %s\n", err);
	snprintf(name, sizeof(name), "%s: signature verifies", v->name);
	CHECK(pub && nacre_nitro_doc_verify_sig(d, pub, err, sizeof(err)) == 0,
	      name);
	EVP_PKEY_free(pub);

	snprintf(name, sizeof(name), "%s: chain fails in 2100", v->name);
	pub = nacre_nitro_doc_verify_chain(d, root, Y2100, err, sizeof(err));
	CHECK(pub == NULL, name);
	snprintf(name, sizeof(name), "%s: ... because it expired", v->name);
	CHECK_HAS(err, "certificate has expired", name);
	EVP_PKEY_free(pub);
	snprintf(name, sizeof(name), "%s: chain fails before it was made",
		 v->name);
	pub = nacre_nitro_doc_verify_chain(d, root, 1500000000, err,
					   sizeof(err));
	CHECK(pub == NULL && strstr(err, "not yet valid"), name);
	EVP_PKEY_free(pub);
	return d;
}

static void
test_real_documents(void)
{
	X509 *root = aws_root();
	struct vec beta = { "evervault beta", NULL, 0, 1665651500,
			    1665651482136ULL };
	struct vec ga = { "evervault GA", NULL, 0, 1695049420,
			  1695049410860ULL };
	struct vec san = { "evervault beta (cert SAN)", NULL, 0, 1674047300,
			   1674047239280ULL };
	struct vec aws = { "aws 2026 indefinite", NULL, 0, 1767472867,
			   1767472867402ULL };
	struct nacre_nitro_doc *d;
	X509 *cert;
	uint8_t *spki;
	size_t spki_len = 0;

	CHECK(root != NULL, "AWS root G1 loads");
	beta.buf = slurp(VEC "evervault_beta_attestation_doc.cbor", &beta.len);
	ga.buf = slurp_b64(VEC "evervault_ga_attestation_doc.b64", &ga.len);
	san.buf = doc_from_san(VEC "evervault_beta_tls_cert_with_embedded_doc.der",
			       &san.len);
	aws.buf = slurp_b64(VEC "aws_attestation_2026_01_03_indefinite_map.b64",
			    &aws.len);
	CHECK(beta.len == 4654 && ga.len == 4748 && san.len == 4775 &&
	      aws.len == 4482, "vector sizes as recorded");

	if ((d = check_common(&beta, root))) {
		CHECK(!d->payload_indefinite, "beta: definite payload map");
		CHECK_STR(d->module_id, "i-020b6af9246d90e92-enc0183d09086c24190",
			  "beta: module_id");
		CHECK(pcr_prefix(d, 0, "f4d48b81") && pcr_prefix(d, 1, "bcdf05fe") &&
		      pcr_prefix(d, 2, "d8f114da") && pcr_prefix(d, 3, "4a9329d6") &&
		      pcr_prefix(d, 4, "1f442c86") && pcr_prefix(d, 8, "8790eb3c"),
		      "beta: PCR 0-4, 8");
		CHECK(!d->has_public_key && !d->has_user_data && d->has_nonce &&
		      d->nonce_len == 256,
		      "beta: public_key and user_data null, nonce 256 bytes");
		CHECK(!high_s(d), "beta: low-S signature");
		nacre_nitro_doc_free(d);
	}
	if ((d = check_common(&ga, root))) {
		cert = load_cert_der(VEC "evervault_ga_tls_cert.der");
		spki = cert ? spki_of(cert, &spki_len) : NULL;
		CHECK(pcr_zero(d, 0) && pcr_zero(d, 1) && pcr_zero(d, 2) &&
		      pcr_zero(d, 8), "GA: PCR 0, 1, 2, 8 all zero (debug mode)");
		CHECK(pcr_prefix(d, 3, "4a9329d6") && pcr_prefix(d, 4, "d0531b14"),
		      "GA: PCR 3, 4");
		CHECK(d->has_user_data && d->user_data_len == 91 && spki &&
		      spki_len == 91 && memcmp(d->user_data, spki, 91) == 0,
		      "GA: user_data is the TLS certificate's SPKI");
		CHECK(!d->has_public_key && d->has_nonce && d->nonce_len == 256,
		      "GA: public_key null, nonce 256 bytes");
		CHECK(high_s(d), "GA: high-S signature (and it verified)");
		OPENSSL_free(spki);
		X509_free(cert);
		nacre_nitro_doc_free(d);
	}
	if ((d = check_common(&san, root))) {
		char h[97];
		cert = load_cert_der(VEC "evervault_beta_tls_cert_with_embedded_doc.der");
		spki = cert ? spki_of(cert, &spki_len) : NULL;
		hexs(d->pcr[0], 48, h);
		CHECK_STR(h, "d265a83faa7b4fa0d73b82b6d06253e894445922937d0ee5a74fe4891da9817611a71e71b98e5329232902de3cf419af",
			  "cert SAN doc: PCR0 (upstream spec)");
		hexs(d->pcr[1], 48, h);
		CHECK_STR(h, "bcdf05fefccaa8e55bf2c8d6dee9e79bbff31e34bf28a99aa19e6b29c37ee80b214a414b7607236edf26fcb78654e63f",
			  "cert SAN doc: PCR1");
		hexs(d->pcr[2], 48, h);
		CHECK_STR(h, "e4f634d24ad83b7f6e49fe283bafdb220f6252fb4a278a858e19d15b7cd0f263b9168ed0bacefb4444266df9f9a77f24",
			  "cert SAN doc: PCR2");
		hexs(d->pcr[8], 48, h);
		CHECK_STR(h, "97c5395a83c0d6a04d53ff962663c714c178c24500bf97f78456ed3721d922cf3f940614da4bb90107c439bc4a1443ca",
			  "cert SAN doc: PCR8");
		CHECK(d->has_user_data && d->user_data_len == 120 && spki &&
		      spki_len == 120 && memcmp(d->user_data, spki, 120) == 0,
		      "cert SAN doc: user_data is the certificate's P-384 SPKI");
		CHECK(!d->has_public_key && d->nonce_len == 256,
		      "cert SAN doc: public_key null, nonce 256 bytes");
		OPENSSL_free(spki);
		X509_free(cert);
		nacre_nitro_doc_free(d);
	}
	if ((d = check_common(&aws, root))) {
		static const uint8_t ud[20] = {
			0x69, 0x55, 0x3a, 0xdc, 0x61, 0xd6, 0xe9, 0xfc, 0xde, 0xcb,
			0xe1, 0xea, 0x49, 0xbb, 0x2b, 0x52, 0xa6, 0x02, 0x38, 0xe0 };
		CHECK(d->payload_indefinite, "aws 2026: indefinite payload map");
		CHECK(pcr_prefix(d, 0, "4b8d4cf2") && pcr_prefix(d, 1, "0343b056") &&
		      pcr_prefix(d, 2, "16efcc1d") && pcr_prefix(d, 4, "24561723"),
		      "aws 2026: PCR 0, 1, 2, 4");
		CHECK(d->has_user_data && d->user_data_len == 20 &&
		      memcmp(d->user_data, ud, 20) == 0, "aws 2026: user_data");
		CHECK(!d->has_public_key && !d->has_nonce,
		      "aws 2026: public_key and nonce null");
		CHECK(high_s(d), "aws 2026: high-S signature (and it verified)");
		nacre_nitro_doc_free(d);
	}

	/* tampering, tags, other roots: on the beta document */
	if (beta.buf && beta.len == 4654) {
		uint8_t *t = malloc(beta.len + 1);
		EVP_PKEY *pub;

		t[0] = 0xd2; /* tag 18 */
		memcpy(t + 1, beta.buf, beta.len);
		CHECK(nacre_nitro_doc_decode(t, beta.len + 1, &d, err,
					     sizeof(err)) == 0 && d->tagged,
		      "tagged COSE_Sign1 (tag 18) decodes");
		if (!d)
			printf("# %s\n", err);
		pub = d ? nacre_nitro_doc_verify_chain(d, root, beta.at, err,
						       sizeof(err)) : NULL;
		CHECK(pub && nacre_nitro_doc_verify_sig(d, pub, err,
							sizeof(err)) == 0,
		      "tagged COSE_Sign1 verifies");
		EVP_PKEY_free(pub);
		nacre_nitro_doc_free(d);
		t[0] = 0xd1;
		CHECK(nacre_nitro_doc_decode(t, beta.len + 1, &d, err,
					     sizeof(err)) < 0 &&
		      strstr(err, "unexpected tag 17"), "tag 17 is refused");
		free(t);

		/* a flipped byte inside the nonce: still well-formed, no
		 * longer signed */
		t = malloc(beta.len);
		memcpy(t, beta.buf, beta.len);
		t[beta.len - 100] ^= 0x01;
		CHECK(nacre_nitro_doc_decode(t, beta.len, &d, err,
					     sizeof(err)) == 0,
		      "flipped payload byte: still decodes");
		pub = d ? nacre_nitro_doc_verify_chain(d, root, beta.at, err,
						       sizeof(err)) : NULL;
		CHECK(pub && nacre_nitro_doc_verify_sig(d, pub, err,
							sizeof(err)) < 0,
		      "flipped payload byte: signature fails");
		CHECK_HAS(err, "does not verify", "... with a clear error");
		EVP_PKEY_free(pub);
		nacre_nitro_doc_free(d);
		memcpy(t, beta.buf, beta.len);
		t[beta.len - 1] ^= 0x80;
		nacre_nitro_doc_decode(t, beta.len, &d, err, sizeof(err));
		pub = d ? nacre_nitro_doc_verify_chain(d, root, beta.at, err,
						       sizeof(err)) : NULL;
		CHECK(pub && nacre_nitro_doc_verify_sig(d, pub, err,
							sizeof(err)) < 0,
		      "flipped signature byte: signature fails");
		EVP_PKEY_free(pub);
		nacre_nitro_doc_free(d);

		/* Sig_structure layout */
		uint8_t *tbs = NULL;
		size_t tbs_len = 0;
		static const uint8_t head[] = { 0x84, 0x6a, 'S', 'i', 'g', 'n',
			'a', 't', 'u', 'r', 'e', '1', 0x44, 0xa1, 0x01, 0x38, 0x22,
			0x40, 0x59 };
		nacre_nitro_doc_decode(beta.buf, beta.len, &d, err, sizeof(err));
		CHECK(d && nacre_nitro_doc_sig_structure(d, &tbs, &tbs_len) == 0 &&
		      tbs_len == sizeof(head) + 2 + d->payload_len &&
		      memcmp(tbs, head, sizeof(head)) == 0 &&
		      memcmp(tbs + sizeof(head) + 2, d->payload_raw,
			     d->payload_len) == 0,
		      "Sig_structure = [\"Signature1\", protected, h'', payload]");
		free(tbs);

		/* another root: refused by name */
		X509 *other = load_cert_der(VEC "evervault_ga_tls_cert.der");
		pub = d ? nacre_nitro_doc_verify_chain(d, other, beta.at, err,
						       sizeof(err)) : NULL;
		CHECK(pub == NULL, "a document under another root fails");
		CHECK_HAS(err, "cabundle[0] is not the pinned root",
			  "... naming the root mismatch");
		X509_free(other);
		/* a signing key of the wrong kind */
		EVP_PKEY *p256 = EVP_EC_gen("P-256");
		CHECK(d && nacre_nitro_doc_verify_sig(d, p256, err,
						      sizeof(err)) < 0 &&
		      strstr(err, "not EC P-384"), "a non-P-384 key is refused");
		EVP_PKEY_free(p256);
		nacre_nitro_doc_free(d);
		free(t);

		/* truncated and trailing bytes */
		CHECK(nacre_nitro_doc_decode(beta.buf, beta.len - 1, &d, err,
					     sizeof(err)) < 0 &&
		      strstr(err, "truncated"), "truncated document is refused");
		t = malloc(beta.len + 1);
		memcpy(t, beta.buf, beta.len);
		t[beta.len] = 0x00;
		CHECK(nacre_nitro_doc_decode(t, beta.len + 1, &d, err,
					     sizeof(err)) < 0 &&
		      strstr(err, "trailing"), "trailing byte is refused");
		free(t);
	}
	free(beta.buf);
	free(ga.buf);
	free(san.buf);
	free(aws.buf);
	X509_free(root);
}

/* ---- synthetic documents ---- */

enum { K_MOD = 1, K_DIG = 2, K_TS = 4, K_PCRS = 8, K_CERT = 16, K_CAB = 32,
       K_PK = 64, K_UD = 128, K_NONCE = 256, K_ALL = 511 };

static const uint8_t blob[64] = { 1, 2, 3 };

static void
std_pcrs(struct nacre_cbw *w, unsigned n)
{
	nacre_cbw_head(w, 5, n);
	for (unsigned i = 0; i < n; i++) {
		nacre_cbw_uint(w, i);
		nacre_cbw_bytes(w, blob, 48);
	}
}

static void
std_entries(struct nacre_cbw *w, unsigned mask)
{
	if (mask & K_MOD) {
		nacre_cbw_text(w, "module_id");
		nacre_cbw_text(w, "i-0123456789abcdef0-enc0123456789abcdef");
	}
	if (mask & K_DIG) {
		nacre_cbw_text(w, "digest");
		nacre_cbw_text(w, "SHA384");
	}
	if (mask & K_TS) {
		nacre_cbw_text(w, "timestamp");
		nacre_cbw_uint(w, 1700000000000ULL);
	}
	if (mask & K_PCRS) {
		nacre_cbw_text(w, "pcrs");
		std_pcrs(w, 16);
	}
	if (mask & K_CERT) {
		nacre_cbw_text(w, "certificate");
		nacre_cbw_bytes(w, blob, 10);
	}
	if (mask & K_CAB) {
		nacre_cbw_text(w, "cabundle");
		nacre_cbw_head(w, 4, 2);
		nacre_cbw_bytes(w, blob, 10);
		nacre_cbw_bytes(w, blob, 11);
	}
	if (mask & K_PK) {
		nacre_cbw_text(w, "public_key");
		nacre_cbw_bytes(w, blob, 20);
	}
	if (mask & K_UD) {
		nacre_cbw_text(w, "user_data");
		nacre_cbw_null(w);
	}
	if (mask & K_NONCE) {
		nacre_cbw_text(w, "nonce");
		nacre_cbw_bytes(w, blob, 0);
	}
}

static unsigned
popcount(unsigned m)
{
	unsigned n = 0;

	for (; m; m >>= 1)
		n += m & 1;
	return n;
}

/* COSE_Sign1 around payload with the given protected header and a dummy
 * signature of siglen bytes */
static uint8_t *
cose(const uint8_t *payload, size_t plen, const uint8_t *prot,
     size_t prot_len, size_t siglen, size_t *len)
{
	static const uint8_t sig[128];
	struct nacre_cbw w = { 0 };
	uint8_t *out;

	nacre_cbw_head(&w, 4, 4);
	nacre_cbw_bytes(&w, prot, prot_len);
	nacre_cbw_head(&w, 5, 0);
	nacre_cbw_bytes(&w, payload, plen);
	nacre_cbw_bytes(&w, sig, siglen);
	nacre_cbw_finish(&w, &out, len);
	return out;
}

/* the payload built in w, in a valid envelope; decode result + err */
static int
decode_payload(struct nacre_cbw *w, struct nacre_nitro_doc **d)
{
	uint8_t *p, *doc;
	size_t plen, len;
	int rc;

	nacre_cbw_finish(w, &p, &plen);
	doc = cose(p, plen, nacre_nitro_protected_es384, 4, 96, &len);
	rc = nacre_nitro_doc_decode(doc, len, d, err, sizeof(err));
	free(p);
	free(doc);
	return rc;
}

/* all standard entries but `skip`, then the caller's extra entries */
static void
start(struct nacre_cbw *w, unsigned skip, unsigned extra)
{
	*w = (struct nacre_cbw){ 0 };
	nacre_cbw_head(w, 5, popcount(K_ALL & ~skip) + extra);
	std_entries(w, K_ALL & ~skip);
}

static void
refused(struct nacre_cbw *w, const char *want, const char *name)
{
	struct nacre_nitro_doc *d = NULL;
	int rc = decode_payload(w, &d);

	char why[160];

	CHECK(rc < 0 && d == NULL, name);
	snprintf(why, sizeof(why), "%s: error says so", name);
	CHECK_HAS(err, want, why);
	nacre_nitro_doc_free(d);
}

static void
test_synthetic(void)
{
	struct nacre_nitro_doc *d = NULL;
	struct nacre_cbw w;

	start(&w, 0, 0);
	CHECK(decode_payload(&w, &d) == 0 && d->has_public_key &&
	      d->public_key_len == 20 && !d->has_user_data && d->has_nonce &&
	      d->nonce_len == 0 && d->ncabundle == 2,
	      "synthetic document decodes (empty nonce kept apart from null)");
	nacre_nitro_doc_free(d);

	start(&w, K_PK | K_UD | K_NONCE, 0);
	CHECK(decode_payload(&w, &d) == 0 && !d->has_public_key &&
	      !d->has_user_data && !d->has_nonce,
	      "absent optional fields are allowed");
	nacre_nitro_doc_free(d);

	/* indefinite map, keys in reverse order, unknown keys */
	w = (struct nacre_cbw){ 0 };
	nacre_cbw_raw(&w, "\xbf", 1);
	nacre_cbw_text(&w, "extra");
	nacre_cbw_text(&w, "ignored");
	nacre_cbw_uint(&w, 7);
	nacre_cbw_uint(&w, 7);
	for (int k = 8; k >= 0; k--)
		std_entries(&w, 1u << k);
	nacre_cbw_raw(&w, "\xff", 1);
	CHECK(decode_payload(&w, &d) == 0 && d->payload_indefinite &&
	      d->timestamp_ms == 1700000000000ULL,
	      "indefinite map, any key order, unknown keys ignored");
	nacre_nitro_doc_free(d);

	start(&w, K_MOD, 0);
	refused(&w, "payload: missing \"module_id\"", "missing module_id");
	start(&w, K_CAB, 0);
	refused(&w, "payload: missing \"cabundle\"", "missing cabundle");

	start(&w, K_PCRS, 1);
	nacre_cbw_text(&w, "pcrs");
	nacre_cbw_head(&w, 5, 4);
	for (unsigned i = 0; i < 4; i++) {
		nacre_cbw_uint(&w, i);
		nacre_cbw_bytes(&w, blob, i == 3 ? 12 : 48);
	}
	refused(&w, "payload.pcrs[3]: expected 48 bytes, got 12",
		"PCR of 12 bytes names index and sizes");
	start(&w, K_PCRS, 1);
	nacre_cbw_text(&w, "pcrs");
	nacre_cbw_head(&w, 5, 1);
	nacre_cbw_uint(&w, 5);
	nacre_cbw_bytes(&w, blob, 32);
	refused(&w, "payload.pcrs[5]: expected 48 bytes, got 32",
		"SHA-256-sized PCR under SHA384 is refused");
	start(&w, K_PCRS, 1);
	nacre_cbw_text(&w, "pcrs");
	nacre_cbw_head(&w, 5, 1);
	nacre_cbw_uint(&w, 32);
	nacre_cbw_bytes(&w, blob, 48);
	refused(&w, "not a PCR index 0..31", "PCR index 32 is refused");
	start(&w, K_PCRS, 1);
	nacre_cbw_text(&w, "pcrs");
	nacre_cbw_head(&w, 5, 0);
	refused(&w, "payload.pcrs: 0 entries", "empty pcrs is refused");
	start(&w, K_PCRS, 1);
	nacre_cbw_text(&w, "pcrs");
	nacre_cbw_head(&w, 5, 2);
	nacre_cbw_uint(&w, 1);
	nacre_cbw_bytes(&w, blob, 48);
	nacre_cbw_uint(&w, 1);
	nacre_cbw_bytes(&w, blob, 48);
	refused(&w, "payload.pcrs[1]: duplicate index", "duplicate PCR index");

	start(&w, K_CAB, 1);
	nacre_cbw_text(&w, "cabundle");
	nacre_cbw_head(&w, 4, 0);
	refused(&w, "payload.cabundle: 0 certificates", "empty cabundle");
	start(&w, K_CAB, 1);
	nacre_cbw_text(&w, "cabundle");
	nacre_cbw_head(&w, 4, 9);
	for (int i = 0; i < 9; i++)
		nacre_cbw_bytes(&w, blob, 5);
	refused(&w, "payload.cabundle: 9 certificates, allowed 1..8",
		"cabundle of 9");
	start(&w, K_CAB, 1);
	nacre_cbw_text(&w, "cabundle");
	nacre_cbw_head(&w, 4, 3);
	nacre_cbw_bytes(&w, blob, 5);
	nacre_cbw_bytes(&w, blob, 5);
	nacre_cbw_text(&w, "cert");
	refused(&w, "payload.cabundle[2]: expected a byte string, got a text "
		"string", "cabundle entry of the wrong type");

	start(&w, K_UD, 1);
	nacre_cbw_text(&w, "user_data");
	{
		uint8_t *big = calloc(1, 1025);
		nacre_cbw_bytes(&w, big, 1025);
		free(big);
	}
	refused(&w, "payload.user_data: 1025 bytes, allowed 0..1024",
		"user_data over 1024 bytes");
	start(&w, K_PK, 1);
	nacre_cbw_text(&w, "public_key");
	nacre_cbw_bytes(&w, blob, 0);
	refused(&w, "payload.public_key: 0 bytes, allowed 1..1024",
		"empty public_key");
	start(&w, K_CERT, 1);
	nacre_cbw_text(&w, "certificate");
	{
		uint8_t *big = calloc(1, 4097);
		nacre_cbw_bytes(&w, big, 4097);
		free(big);
	}
	refused(&w, "payload.certificate: 4097 bytes", "certificate too long");
	start(&w, K_DIG, 1);
	nacre_cbw_text(&w, "digest");
	nacre_cbw_text(&w, "SHA256");
	refused(&w, "payload.digest: expected \"SHA384\", got \"SHA256\"",
		"digest other than SHA384");
	start(&w, K_TS, 1);
	nacre_cbw_text(&w, "timestamp");
	nacre_cbw_uint(&w, 0);
	refused(&w, "payload.timestamp: must be greater than 0", "timestamp 0");
	start(&w, K_TS, 1);
	nacre_cbw_text(&w, "timestamp");
	nacre_cbw_raw(&w, "\x20", 1); /* -1 */
	refused(&w, "payload.timestamp: expected an unsigned integer, got a "
		"negative integer", "negative timestamp");
	start(&w, K_MOD, 1);
	nacre_cbw_text(&w, "module_id");
	nacre_cbw_null(&w);
	refused(&w, "payload.module_id: expected a text string, got null",
		"null module_id");
	start(&w, K_MOD, 1);
	nacre_cbw_text(&w, "module_id");
	nacre_cbw_text(&w, "i-1\n2");
	refused(&w, "payload.module_id: byte 3 is not printable ASCII",
		"module_id with a control character");
	start(&w, K_UD, 1);
	nacre_cbw_text(&w, "user_data");
	nacre_cbw_raw(&w, "\xf9\x3e\x00", 3); /* 1.5 */
	refused(&w, "payload.user_data: expected a byte string, got a float",
		"float user_data (libcbor would assert in cbor_is_null)");
	start(&w, 0, 1);
	nacre_cbw_text(&w, "nonce");
	nacre_cbw_null(&w);
	refused(&w, "payload: duplicate key \"nonce\"", "duplicate key");
	start(&w, 0, 1);
	nacre_cbw_raw(&w, "\x7f\x63non\x62\x63\x65\xff", 9); /* "nonce" chunked */
	nacre_cbw_null(&w);
	refused(&w, "payload: indefinite-length text key",
		"indefinite-length text key");
	w = (struct nacre_cbw){ 0 };
	nacre_cbw_head(&w, 4, 1);
	nacre_cbw_uint(&w, 1);
	refused(&w, "payload: expected a map, got an array", "payload array");
}

static void
envelope(const uint8_t *doc, size_t len, const char *want, const char *name)
{
	struct nacre_nitro_doc *d = NULL;

	char why[160];

	CHECK(nacre_nitro_doc_decode(doc, len, &d, err, sizeof(err)) < 0 &&
	      d == NULL, name);
	snprintf(why, sizeof(why), "%s: error says so", name);
	CHECK_HAS(err, want, why);
}

static void
test_envelope(void)
{
	static const uint8_t es256[] = { 0xa1, 0x01, 0x26 };
	static const uint8_t two[] = { 0xa2, 0x01, 0x38, 0x22, 0x04, 0x41, 0x00 };
	struct nacre_cbw w = { 0 };
	uint8_t *p, *doc;
	size_t plen, len;

	nacre_cbw_head(&w, 5, 9);
	std_entries(&w, K_ALL);
	nacre_cbw_finish(&w, &p, &plen);

	doc = cose(p, plen, es256, 3, 96, &len);
	envelope(doc, len, "protected header must be {1: -35} (ES384)",
		 "ES256 protected header is refused");
	free(doc);
	doc = cose(p, plen, two, sizeof(two), 96, &len);
	envelope(doc, len, "protected header must be {1: -35}",
		 "extra protected header entries are refused");
	free(doc);
	doc = cose(p, plen, nacre_nitro_protected_es384, 4, 64, &len);
	envelope(doc, len, "signature: expected 96 bytes (ES384 r||s), got 64",
		 "64-byte signature is refused");
	free(doc);
	doc = cose(p, 0, nacre_nitro_protected_es384, 4, 96, &len);
	envelope(doc, len, "payload: 0 bytes", "empty payload is refused");
	free(doc);
	doc = cose(p, plen, nacre_nitro_protected_es384, 4, 96, &len);
	doc[0] = 0x83; /* now an array of 3 with a trailing item */
	envelope(doc, len, "trailing", "array of 3 (+ trailing) is refused");
	doc[0] = 0xa2; /* a map */
	envelope(doc, len, "expected an array of 4, got a map",
		 "a map instead of COSE_Sign1 is refused");
	doc[0] = 0x84;
	doc[6] = 0x80; /* unprotected {} -> [] */
	envelope(doc, len, "unprotected: expected a map, got an array",
		 "unprotected header must be a map");
	free(doc);
	free(p);

	static const uint8_t huge[] = { 0x9b, 0, 0, 0, 1, 0, 0, 0, 0, 0 };
	envelope(huge, sizeof(huge), "declared length exceeds the input",
		 "array declaring 2^32 items is refused before allocation");
	static const uint8_t hugestr[] = { 0x84, 0x5b, 0xff, 0xff, 0xff, 0xff,
					   0, 0, 0, 0 };
	envelope(hugestr, sizeof(hugestr), "truncated",
		 "byte string declaring 2^64 bytes is refused");
	uint8_t deep[200];
	memset(deep, 0x81, sizeof(deep));
	deep[199] = 0;
	envelope(deep, sizeof(deep), "nested too deep", "nesting bomb is refused");
	envelope((const uint8_t *)"", 0, "empty", "empty input is refused");
	envelope((const uint8_t *)"\xf9\xf5\x59", 3,
		 "expected an array of 4, got a float",
		 "a top-level float is refused (fuzzer finding)");
	uint8_t *big = calloc(1, NACRE_NITRO_DOC_MAX + 1);
	envelope(big, NACRE_NITRO_DOC_MAX + 1, "more than the 32768 allowed",
		 "input over 32 KiB is refused");
	free(big);
}

/* encoder + signer: byte layout of NSM, and it verifies */
static void
test_sign(void)
{
	static const uint8_t pcrs[16][48] = { { 7 } };
	const uint8_t *cab[1] = { blob };
	size_t cab_len[1] = { 10 };
	EVP_PKEY *k = EVP_EC_gen("P-384");
	struct nacre_nitro_fields f = {
		.module_id = "i-0123456789abcdef0-enc0123456789abcdef",
		.timestamp_ms = 1700000000123ULL, .pcrs = pcrs, .npcrs = 16,
		.certificate = blob, .certificate_len = 10, .cabundle = cab,
		.cabundle_len = cab_len, .ncabundle = 1, .user_data = blob,
		.user_data_len = 3,
	};
	static const uint8_t head[] = { 0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0,
					0x59 };
	struct nacre_nitro_doc *d = NULL;
	uint8_t *payload = NULL, *doc = NULL;
	size_t plen, len;

	CHECK(nacre_nitro_payload_encode(&f, &payload, &plen) == 0 &&
	      payload[0] == 0xa9 && payload[1] == 0x69 &&
	      memcmp(payload + 2, "module_id", 9) == 0,
	      "payload: definite map of 9, module_id first");
	CHECK(nacre_nitro_sign(payload, plen, k, &doc, &len) == 0 &&
	      memcmp(doc, head, sizeof(head)) == 0,
	      "signed document starts 84 44 a1 01 38 22 a0 59");
	CHECK(doc && nacre_nitro_doc_decode(doc, len, &d, err, sizeof(err)) == 0 &&
	      d->timestamp_ms == f.timestamp_ms && d->pcr[0][0] == 7 &&
	      d->has_user_data && !d->has_public_key && !d->has_nonce,
	      "signed document decodes to its fields");
	CHECK(d && nacre_nitro_doc_verify_sig(d, k, err, sizeof(err)) == 0,
	      "signed document verifies with the signing key");
	nacre_nitro_doc_free(d);
	free(payload);
	free(doc);
	EVP_PKEY_free(k);
}

int
main(void)
{
	test_real_documents();
	test_synthetic();
	test_envelope();
	test_sign();
	TAP_DONE();
}
