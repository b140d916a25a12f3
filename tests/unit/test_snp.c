/*
 * test_snp.c: the SEV-SNP report verifier on two real, AMD-signed Milan
 * reports (go-sev-guest's, debug policy, and virtee's) with their VCEKs
 * and the real Milan ASK/ARK: the decoded fields, the verdict at a time
 * inside the certificates' validity, and every way a report, its chain
 * or an expectation must be refused, each with its own status and a
 * message naming the problem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "nacred.h"
#include "snp.h"
#include "tap.h"

#define VEC "tests/vectors/snp/"
#define T2024 1704067200  /* 2024-01-01: inside every certificate */
#define T2031 1924992000  /* 2031-01-01: both VCEKs have expired */
#define T2019 1546300800  /* 2019-01-01: before the ARK */

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
slurp_hex(const char *path, size_t *len)
{
	size_t n;
	uint8_t *txt = slurp(path, &n), *out = NULL;

	if (txt && n % 2 == 0 && (out = malloc(n / 2)) &&
	    nacre_hex_decode((char *)txt, out, n / 2) == 0)
		*len = n / 2;
	else {
		free(out);
		out = NULL;
	}
	free(txt);
	return out;
}

/* the n-th certificate of a PEM file, as DER */
static uint8_t *
pem_der(const char *path, int nth, size_t *len)
{
	FILE *f = fopen(path, "r");
	X509 *x = NULL;
	uint8_t *der = NULL, *out = NULL;
	int n = 0;

	if (!f)
		return NULL;
	for (int i = 0; i <= nth; i++) {
		X509_free(x);
		x = PEM_read_X509(f, NULL, NULL, NULL);
	}
	fclose(f);
	if (x && (n = i2d_X509(x, &der)) > 0 && (out = malloc((size_t)n))) {
		memcpy(out, der, (size_t)n);
		*len = (size_t)n;
	}
	OPENSSL_free(der);
	X509_free(x);
	return out;
}

static uint8_t *
dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n);

	memcpy(c, p, n);
	return c;
}

static void
hex_in(const char *hex, uint8_t *out, size_t n)
{
	if (nacre_hex_decode(hex, out, n) < 0)
		abort();
}

static size_t
find(const uint8_t *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return i;
	abort();
}

/* the vectors */
static uint8_t *gsg, *vir, *gsg_vcek, *vir_vcek, *ask, *ark;
static size_t gsg_len, vir_len, gsg_vcek_len, vir_vcek_len, ask_len, ark_len;
static uint8_t gsg_meas[1][48], vir_meas[1][48], vir_rd[64], gsg_rd[64];

static struct nacre_snp_certs
certs(const uint8_t *vcek, size_t vcek_len)
{
	struct nacre_snp_certs c = {
		.vcek = vcek, .vcek_len = vcek_len, .ask = ask,
		.ask_len = ask_len, .ark = ark, .ark_len = ark_len,
	};
	return c;
}

static struct nacre_snp_expect
expect_vir(void)
{
	struct nacre_snp_expect w = {
		.measurements = (const uint8_t (*)[48])vir_meas,
		.nmeasurements = 1, .has_report_data = true,
	};
	memcpy(w.report_data, vir_rd, 64);
	return w;
}

static struct nacre_snp_expect
expect_gsg(void)
{
	struct nacre_snp_expect w = {
		.measurements = (const uint8_t (*)[48])gsg_meas,
		.nmeasurements = 1, .has_report_data = true,
		.allow_debug = true,
	};
	memcpy(w.report_data, gsg_rd, 64);
	return w;
}

static int
run_vir(const uint8_t *rep, size_t len, const uint8_t *vcek,
	size_t vcek_len, time_t at, struct nacre_snp_result *r)
{
	struct nacre_snp_certs c = certs(vcek, vcek_len);
	struct nacre_snp_expect w = expect_vir();

	return nacre_snp_verify(rep, len, &c, at, &w, r);
}

static void
test_parse(void)
{
	struct nacre_snp_report r;
	char err[512];
	static const uint8_t zero[64];

	CHECK(nacre_snp_report_parse(gsg, gsg_len, &r, err, sizeof(err)) ==
	      NACRE_SNP_OK, "go-sev-guest report parses");
	CHECK(r.version == 2 && r.signature_algo == 1 && r.vmpl == 0,
	      "go-sev-guest: version 2, ECDSA P-384, VMPL 0");
	CHECK(r.policy == 0xb0000, "go-sev-guest: policy 0xb0000");
	CHECK((r.policy & NACRE_SNP_POLICY_DEBUG) &&
	      (r.policy & NACRE_SNP_POLICY_SMT) &&
	      (r.policy & NACRE_SNP_POLICY_RESERVED_17) &&
	      !(r.policy & NACRE_SNP_POLICY_MIGRATE_MA),
	      "go-sev-guest: DEBUG, SMT and bit 17 set, MIGRATE_MA clear");
	CHECK(memcmp(r.report_data, gsg_rd, 64) == 0,
	      "go-sev-guest: report_data 0102030405 then zeros");
	CHECK(memcmp(r.measurement, gsg_meas[0], 48) == 0,
	      "go-sev-guest: measurement b07af962...2b01");
	CHECK(!memcmp(r.host_data, zero, 32) &&
	      !memcmp(r.id_key_digest, zero, 48) &&
	      !memcmp(r.author_key_digest, zero, 48),
	      "go-sev-guest: host_data, id_key_digest, author_key_digest zero");
	CHECK(r.chip_id[0] == 0x3a && r.chip_id[1] == 0xc3 &&
	      r.chip_id[62] == 0x6b && r.chip_id[63] == 0x5d,
	      "go-sev-guest: chip_id 3ac3...6b5d");
	CHECK(r.reported_tcb.raw == 0x4405000000000002ULL &&
	      r.committed_tcb.raw == 0x4405000000000002ULL &&
	      r.launch_tcb.raw == 0x4405000000000002ULL,
	      "go-sev-guest: reported, committed, launch TCB 0x4405000000000002");
	CHECK(r.reported_tcb.bootloader == 2 && r.reported_tcb.tee == 0 &&
	      r.reported_tcb.snp == 5 && r.reported_tcb.microcode == 0x44,
	      "go-sev-guest: TCB bl 2, tee 0, snp 5, ucode 0x44");
	CHECK(r.signing_key == NACRE_SNP_KEY_VCEK && !r.mask_chip_id &&
	      !r.author_key_en, "go-sev-guest: VCEK-signed, chip_id shown");

	CHECK(nacre_snp_report_parse(vir, vir_len, &r, err, sizeof(err)) ==
	      NACRE_SNP_OK, "virtee report parses");
	CHECK(r.version == 2 && r.vmpl == 0 && r.policy == 0x30000 &&
	      !(r.policy & NACRE_SNP_POLICY_DEBUG),
	      "virtee: version 2, VMPL 0, policy 0x30000, DEBUG clear");
	CHECK(memcmp(r.report_data, vir_rd, 64) == 0, "virtee: report_data");
	CHECK(memcmp(r.measurement, vir_meas[0], 48) == 0,
	      "virtee: measurement 7a1e5c26...841f");
	CHECK(r.reported_tcb.raw == 0x7308000000000003ULL &&
	      r.reported_tcb.bootloader == 3 && r.reported_tcb.tee == 0 &&
	      r.reported_tcb.snp == 8 && r.reported_tcb.microcode == 0x73,
	      "virtee: TCB 0x7308000000000003 (bl 3, snp 8, ucode 0x73)");
}

static void
test_vcek_extensions(void)
{
	struct nacre_snp_vcek_info info;
	const uint8_t *p = gsg_vcek;
	X509 *x = d2i_X509(NULL, &p, (long)gsg_vcek_len);
	char err[512];

	CHECK(x && nacre_snp_vcek_extensions(x, &info, err, sizeof(err)) == 0,
	      "go-sev-guest VCEK (serial 0) parses, extensions read");
	CHECK_STR(info.product_name, "Milan-B0", "VCEK product name Milan-B0");
	CHECK(info.tcb[0] == 2 && info.tcb[1] == 0 && info.tcb[6] == 5 &&
	      info.tcb[7] == 0x44, "VCEK TCB bl 2, tee 0, snp 5, ucode 0x44");
	CHECK(info.hwid[0] == 0x3a && info.hwid[63] == 0x5d,
	      "VCEK hwID is the report's chip_id");
	X509_free(x);
}

static void
test_genuine(void)
{
	struct nacre_snp_certs c;
	struct nacre_snp_expect w;
	struct nacre_snp_result r;

	CHECK(run_vir(vir, vir_len, vir_vcek, vir_vcek_len, T2024, &r) ==
	      NACRE_SNP_OK, "virtee report verifies (VCEK, Milan ASK/ARK)");
	CHECK_HAS(r.message, "binds the given report_data", "message on success");
	CHECK(r.product == NACRE_SNP_PRODUCT_MILAN && r.parsed,
	      "virtee: product Milan");

	c = certs(gsg_vcek, gsg_vcek_len);
	w = expect_gsg();
	CHECK(nacre_snp_verify(gsg, gsg_len, &c, T2024, &w, &r) == NACRE_SNP_OK,
	      "go-sev-guest report verifies with debug allowed");
	w.product = NACRE_SNP_PRODUCT_MILAN;
	CHECK(nacre_snp_verify(gsg, gsg_len, &c, T2024, &w, &r) == NACRE_SNP_OK,
	      "go-sev-guest report verifies with Milan expected");

	/* no report_data given: verified, and the message says unbound */
	w = expect_vir();
	w.has_report_data = false;
	c = certs(vir_vcek, vir_vcek_len);
	CHECK(nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r) == NACRE_SNP_OK,
	      "virtee verifies without a report_data expectation");
	CHECK_HAS(r.message, "binding was not checked",
		  "message says the binding was not checked");
}

static void
test_report_flips(void)
{
	struct nacre_snp_result r;
	uint8_t *b = dup_bytes(vir, vir_len);
	static const struct { size_t off; const char *name; } flips[] = {
		{ 21, "body byte 21 (family_id, as virtee)" },
		{ 0x90, "measurement" },
		{ 0x50, "report_data" },
		{ 0x2a0, "signature R, first byte" },
		{ 0x2c7, "signature R, last byte (zero high byte)" },
		{ 0x2e8, "signature S, first byte" },
		{ 0x29f, "last signed byte" },
	};
	char name[128];

	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		b[flips[i].off] ^= 1;
		run_vir(b, vir_len, vir_vcek, vir_vcek_len, T2024, &r);
		snprintf(name, sizeof(name), "flip %s: report signature fails",
			 flips[i].name);
		CHECK(r.status == NACRE_SNP_E_REPORT_SIGNATURE, name);
		b[flips[i].off] ^= 1;
	}
	CHECK_HAS(r.message, "signature does not verify",
		  "report signature message");

	/* reported_tcb.snp: the VCEK no longer matches, named */
	b[0x186] ^= 1;
	run_vir(b, vir_len, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_TCB_MISMATCH, "flip reported_tcb.snp: "
	      "TCB mismatch");
	CHECK_HAS(r.message, "has snp 9", "TCB mismatch names snp");
	b[0x186] ^= 1;
	b[0x1a0 + 5] ^= 1;
	run_vir(b, vir_len, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_CHIP_ID, "flip chip_id: chip id mismatch");
	CHECK_HAS(r.message, "hwID", "chip id message names the hwID");
	b[0x1a0 + 5] ^= 1;
	/* the unsigned tail must stay zero */
	b[0x400] = 1;
	run_vir(b, vir_len, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_REPORT_RESERVED,
	      "non-zero reserved signature byte refused");
	b[0x400] = 0;
	CHECK(run_vir(b, vir_len, vir_vcek, vir_vcek_len, T2024, &r) ==
	      NACRE_SNP_OK, "flipped back: verifies again");
	free(b);
}

static void
test_cert_flips(void)
{
	struct nacre_snp_certs c;
	struct nacre_snp_expect w = expect_vir();
	struct nacre_snp_result r;
	uint8_t *v = dup_bytes(vir_vcek, vir_vcek_len);
	uint8_t *s = dup_bytes(ask, ask_len);
	uint8_t *k = dup_bytes(ark, ark_len);
	size_t off;

	/* VCEK: its subject, then its signature value */
	off = find(v, vir_vcek_len, "SEV-VCEK");
	v[off + 4] ^= 1;
	run_vir(vir, vir_len, v, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_VCEK_SIGNATURE,
	      "flip in the VCEK's subject: VCEK signature fails");
	CHECK_HAS(r.message, "VCEK certificate's signature", "names the VCEK");
	v[off + 4] ^= 1;
	v[vir_vcek_len - 1] ^= 1;
	run_vir(vir, vir_len, v, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_VCEK_SIGNATURE,
	      "flip in the VCEK's signature: VCEK signature fails");
	v[vir_vcek_len - 1] ^= 1;

	/* ASK: its subject's CN, then its signature value */
	off = find(s, ask_len, "SEV-Milan");
	s[off + 4] ^= 1;
	c = certs(vir_vcek, vir_vcek_len);
	c.ask = s;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_ASK_SIGNATURE,
	      "flip in the ASK's subject: ASK signature fails");
	CHECK_HAS(r.message, "ASK certificate's signature", "names the ASK");
	s[off + 4] ^= 1;
	s[ask_len - 1] ^= 1;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_ASK_SIGNATURE,
	      "flip in the ASK's signature: ASK signature fails");
	s[ask_len - 1] ^= 1;

	/* ARK: any byte changes the pin */
	k[ark_len - 1] ^= 1;
	c = certs(vir_vcek, vir_vcek_len);
	c.ark = k;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_ARK_UNTRUSTED,
	      "flip in the ARK: not the pinned ARK");
	CHECK_HAS(r.message, "not a pinned AMD Root Key", "ARK message");

	/* the ASK in the ARK's place, the ARK in the ASK's */
	c = certs(vir_vcek, vir_vcek_len);
	c.ark = ask;
	c.ark_len = ask_len;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_ARK_UNTRUSTED, "ASK as ARK: untrusted");
	c = certs(vir_vcek, vir_vcek_len);
	c.ask = ark;
	c.ask_len = ark_len;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_VCEK_SIGNATURE,
	      "ARK as ASK: the VCEK's issuer is not it");
	CHECK_HAS(r.message, "issuer", "message names the issuer");

	/* missing, truncated, trailing bytes */
	c = certs(vir_vcek, vir_vcek_len);
	c.ask = NULL;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_CERT_MALFORMED && strstr(r.message, "ASK"),
	      "no ASK: malformed, named");
	c = certs(vir_vcek, vir_vcek_len - 10);
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_CERT_MALFORMED && strstr(r.message, "VCEK"),
	      "truncated VCEK: malformed, named");
	free(v);
	free(s);
	free(k);
}

/* a self-signed ECDSA certificate where the VCEK should be */
static void
test_cert_algorithm(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-384");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	uint8_t *der = NULL;
	struct nacre_snp_result r;
	int len;

	X509_set_version(x, 2);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)"SEV-VCEK", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_sha384());
	len = i2d_X509(x, &der);
	run_vir(vir, vir_len, der, (size_t)len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_CERT_ALGORITHM,
	      "ECDSA-signed VCEK: not RSASSA-PSS");
	CHECK_HAS(r.message, "RSASSA-PSS", "algorithm message");
	OPENSSL_free(der);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void
test_time(void)
{
	struct nacre_snp_result r;

	run_vir(vir, vir_len, vir_vcek, vir_vcek_len, T2031, &r);
	CHECK(r.status == NACRE_SNP_E_CERT_VALIDITY, "2031: out of validity");
	CHECK_HAS(r.message, "VCEK certificate is expired at 2031-01-01",
		  "names the expired VCEK and the time");
	run_vir(vir, vir_len, vir_vcek, vir_vcek_len, T2019, &r);
	CHECK(r.status == NACRE_SNP_E_CERT_VALIDITY, "2019: out of validity");
	CHECK_HAS(r.message, "ARK certificate is not yet valid",
		  "names the ARK, not yet valid");
	/* the virtee VCEK starts 2023-04-03: valid 2023-01-01 for the ARK
	 * and ASK, not for it */
	run_vir(vir, vir_len, vir_vcek, vir_vcek_len, 1672531200, &r);
	CHECK(r.status == NACRE_SNP_E_CERT_VALIDITY &&
	      strstr(r.message, "VCEK certificate is not yet valid"),
	      "2023-01-01: the VCEK is not yet valid");
}

static void
test_pairing(void)
{
	struct nacre_snp_result r;

	run_vir(vir, vir_len, gsg_vcek, gsg_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_TCB_MISMATCH,
	      "virtee report with go-sev-guest VCEK: TCB mismatch");
	CHECK_HAS(r.message, "certifies bootloader SVN 2, but the report's "
		  "reported_tcb has bootloader 3", "names the bootloader");
	struct nacre_snp_certs c = certs(vir_vcek, vir_vcek_len);
	struct nacre_snp_expect w = expect_gsg();
	nacre_snp_verify(gsg, gsg_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_TCB_MISMATCH,
	      "go-sev-guest report with virtee VCEK: TCB mismatch");
}

static void
test_expectations(void)
{
	struct nacre_snp_certs c = certs(vir_vcek, vir_vcek_len);
	struct nacre_snp_expect w;
	struct nacre_snp_result r;
	uint8_t other[2][48];

	w = expect_vir();
	memset(other, 0x11, sizeof(other));
	w.measurements = (const uint8_t (*)[48])other;
	w.nmeasurements = 2;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_MEASUREMENT, "wrong measurement refused");
	CHECK_HAS(r.message, "measurement is 7a1e5c26", "names the field, value");
	CHECK_HAS(r.message, "11111111", "lists the expected values");
	memcpy(other[1], vir_meas[0], 48);
	CHECK(nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r) == NACRE_SNP_OK,
	      "any of the listed measurements passes");

	w = expect_vir();
	w.report_data[63] ^= 1;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_REPORT_DATA, "other report_data refused");
	CHECK_HAS(r.message, "report_data", "names report_data");

	w = expect_vir();
	w.has_host_data = true;
	w.host_data[0] = 1;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_HOST_DATA, "other host_data refused");
	w.host_data[0] = 0;
	CHECK(nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r) == NACRE_SNP_OK,
	      "host_data zero expected: passes");

	w = expect_vir();
	w.has_id_key_digest = true;
	w.id_key_digest[47] = 1;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_ID_KEY_DIGEST, "other id_key_digest");
	w = expect_vir();
	w.has_author_key_digest = true;
	w.author_key_digest[0] = 1;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_AUTHOR_KEY_DIGEST,
	      "other author_key_digest");

	w = expect_vir();
	w.min_snp = 9;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_TCB_TOO_LOW, "snp 8 below minimum 9");
	CHECK_HAS(r.message, "reported_tcb.snp is 8, below the minimum 9",
		  "names the component");
	w.min_snp = 8;
	w.min_bootloader = 3;
	w.min_microcode = 0x73;
	CHECK(nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r) == NACRE_SNP_OK,
	      "minimum TCB met exactly: passes");
	w.min_microcode = 0x74;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_TCB_TOO_LOW &&
	      strstr(r.message, "microcode"), "microcode below minimum");

	w = expect_vir();
	w.product = NACRE_SNP_PRODUCT_GENOA;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_PRODUCT, "Genoa expected, Milan given");

	w = expect_vir();
	w.nmeasurements = 0;
	nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_UNPINNED, "no measurement pinned: refused");
	w.allow_any_measurement = true;
	CHECK(nacre_snp_verify(vir, vir_len, &c, T2024, &w, &r) == NACRE_SNP_OK,
	      "allow_any_measurement: passes");

	/* debug: the go-sev-guest guest allows it */
	c = certs(gsg_vcek, gsg_vcek_len);
	w = expect_gsg();
	w.allow_debug = false;
	nacre_snp_verify(gsg, gsg_len, &c, T2024, &w, &r);
	CHECK(r.status == NACRE_SNP_E_DEBUG, "debug policy refused");
	CHECK_HAS(r.message, "bit 19", "debug message names the bit");
}

/* fields no real report has: checked on a decoded one */
static void
test_expect_only(void)
{
	struct nacre_snp_report rep;
	struct nacre_snp_expect w = expect_vir();
	struct nacre_snp_result r;
	char err[512];

	nacre_snp_report_parse(vir, vir_len, &rep, err, sizeof(err));
	memset(&r, 0, sizeof(r));
	CHECK(nacre_snp_check_expect(&rep, &w, &r) == NACRE_SNP_OK,
	      "expectations alone pass on the virtee report");
	rep.policy |= NACRE_SNP_POLICY_MIGRATE_MA;
	CHECK(nacre_snp_check_expect(&rep, &w, &r) == NACRE_SNP_E_MIGRATE_MA,
	      "migration agent refused");
	CHECK_HAS(r.message, "bit 18", "names the bit");
	w.allow_migrate_ma = true;
	CHECK(nacre_snp_check_expect(&rep, &w, &r) == NACRE_SNP_OK,
	      "migration agent allowed");
	rep.vmpl = 2;
	CHECK(nacre_snp_check_expect(&rep, &w, &r) == NACRE_SNP_E_VMPL,
	      "VMPL 2 above the maximum 0");
	CHECK_HAS(r.message, "VMPL 2, above the maximum 0", "VMPL message");
	w.max_vmpl = 2;
	CHECK(nacre_snp_check_expect(&rep, &w, &r) == NACRE_SNP_OK,
	      "VMPL 2 with maximum 2");
}

static void
set_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
test_malformed(void)
{
	struct nacre_snp_result r;
	uint8_t *b = dup_bytes(vir, vir_len), *big = malloc(vir_len + 1);

	run_vir(b, 0, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_REPORT_SIZE && !r.parsed, "empty report");
	run_vir(NULL, vir_len, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_REPORT_SIZE, "NULL report");
	run_vir(b, NACRE_SNP_SIGNED_LEN, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_REPORT_SIZE, "signed part only");
	CHECK_HAS(r.message, "672 bytes", "size message gives the size");
	/* exact-size copies, so ASan sees a read past the end */
	uint8_t *cut = dup_bytes(vir, vir_len - 1);
	run_vir(cut, vir_len - 1, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_REPORT_SIZE, "one byte short");
	free(cut);
	memcpy(big, vir, vir_len);
	big[vir_len] = 0;
	run_vir(big, vir_len + 1, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_REPORT_SIZE, "one byte too many");

	set_le32(b, 1);
	run_vir(b, vir_len, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_REPORT_VERSION, "version 1 refused");
	CHECK_HAS(r.message, "version 1", "version message");
	set_le32(b, 6);
	run_vir(b, vir_len, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_REPORT_VERSION, "version 6 refused");
	set_le32(b, 3);
	run_vir(b, vir_len, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_REPORT_SIGNATURE,
	      "version 3 read, but the signature no longer verifies");
	b[0x188] = 0x1a;
	run_vir(b, vir_len, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_PRODUCT, "version 3, family 0x1a "
	      "(Turin): refused");
	b[0x188] = 0;
	set_le32(b, 2);

	set_le32(b + 0x34, 2);
	run_vir(b, vir_len, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_SIG_ALGO, "signature_algo 2 refused");
	CHECK_HAS(r.message, "signature_algo is 2", "algo message");
	set_le32(b + 0x34, 0);
	run_vir(b, vir_len, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_SIG_ALGO, "signature_algo 0 refused");
	set_le32(b + 0x34, 1);

	set_le32(b + 0x48, NACRE_SNP_KEY_VLEK << 2);
	run_vir(b, vir_len, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_SIGNING_KEY, "VLEK-signed: not read yet");
	CHECK_HAS(r.message, "VLEK", "names the VLEK");
	set_le32(b + 0x48, NACRE_SNP_KEY_NONE << 2);
	run_vir(b, vir_len, vir_vcek, vir_vcek_len, T2024, &r);
	CHECK(r.status == NACRE_SNP_E_SIGNING_KEY, "unsigned report refused");
	set_le32(b + 0x48, 0);
	CHECK(run_vir(b, vir_len, vir_vcek, vir_vcek_len, T2024, &r) ==
	      NACRE_SNP_OK, "restored: verifies");

	CHECK(nacre_snp_verify(vir, vir_len, NULL, T2024, NULL, &r) ==
	      NACRE_SNP_E_INTERNAL, "no certificates: internal error");
	free(b);
	free(big);
}

static void
test_names(void)
{
	bool ok = true;

	for (int s = 0; s < NACRE_SNP_E_COUNT; s++)
		ok = ok && strcmp(nacre_snp_status_name(s), "unknown") != 0;
	CHECK(ok, "every status has a name");
	CHECK_STR(nacre_snp_status_name(NACRE_SNP_E_COUNT), "unknown",
		  "out of range: unknown");
	CHECK_STR(nacre_snp_status_name(NACRE_SNP_E_TCB_MISMATCH),
		  "snp-tcb-mismatch", "a name");
}

int
main(void)
{
	gsg = slurp(VEC "gosevguest_report_milan.bin", &gsg_len);
	vir = slurp_hex(VEC "virtee_report_milan.hex", &vir_len);
	gsg_vcek = slurp(VEC "gosevguest_vcek_milan.der", &gsg_vcek_len);
	vir_vcek = slurp(VEC "virtee_vcek_milan.der", &vir_vcek_len);
	ask = pem_der(VEC "ask_ark_milan.pem", 0, &ask_len);
	ark = pem_der(VEC "ask_ark_milan.pem", 1, &ark_len);
	CHECK(gsg && vir && gsg_vcek && vir_vcek && ask && ark,
	      "vectors load");
	if (!gsg || !vir || !gsg_vcek || !vir_vcek || !ask || !ark)
		TAP_DONE();
	CHECK(gsg_len == 1184 && vir_len == 1184, "both reports are 1184 bytes");
	hex_in("b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b"
	       "6bdf8a9ece31a5a608eb0cf2e4872b01", gsg_meas[0], 48);
	hex_in("7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d"
	       "3e1a0dc39b2c60bd95b9c480cd81841f", vir_meas[0], 48);
	hex_in("d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c64581"
	       "0b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd",
	       vir_rd, 64);
	memcpy(gsg_rd, "\x01\x02\x03\x04\x05", 5);

	test_parse();
	test_vcek_extensions();
	test_genuine();
	test_report_flips();
	test_cert_flips();
	test_cert_algorithm();
	test_time();
	test_pairing();
	test_expectations();
	test_expect_only();
	test_malformed();
	test_names();
	free(gsg);
	free(vir);
	free(gsg_vcek);
	free(vir_vcek);
	free(ask);
	free(ark);
	TAP_DONE();
}
