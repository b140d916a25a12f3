/*
 * fuzz_snp_report.c: the SEV-SNP report decoder and verifier on arbitrary
 * bytes. The first 1184 bytes are the report (shorter inputs test the
 * size check); any bytes after them are taken as the VCEK's DER, so the
 * certificate and extension parsing runs on fuzzed certificates too. The
 * real Milan ASK/ARK and VCEKs come from tests/vectors/snp/ (run.sh runs
 * from the repository's top). Whatever decodes must match its bytes at
 * AMD's offsets; whatever verifies must be one of the real reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "nacred.h"
#include "snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)
#define VEC "tests/vectors/snp/"

static bool loaded;
static uint8_t *vcek[2], *ask, *ark, *real[2];
static size_t vcek_len[2], ask_len, ark_len, real_len[2];

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(65536);
	size_t n = f && buf ? fread(buf, 1, 65536, f) : 0;

	if (f)
		fclose(f);
	if (!n) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static uint8_t *
pem_der(int nth, size_t *len)
{
	FILE *f = fopen(VEC "ask_ark_milan.pem", "r");
	X509 *x = NULL;
	uint8_t *der = NULL;
	int n;

	for (int i = 0; f && i <= nth; i++) {
		X509_free(x);
		x = PEM_read_X509(f, NULL, NULL, NULL);
	}
	if (f)
		fclose(f);
	n = x ? i2d_X509(x, &der) : -1;
	X509_free(x);
	*len = n > 0 ? (size_t)n : 0;
	return n > 0 ? der : NULL;
}

static void
load(void)
{
	size_t n;
	uint8_t *hex;

	loaded = true;
	vcek[0] = slurp(VEC "gosevguest_vcek_milan.der", &vcek_len[0]);
	vcek[1] = slurp(VEC "virtee_vcek_milan.der", &vcek_len[1]);
	real[0] = slurp(VEC "gosevguest_report_milan.bin", &real_len[0]);
	hex = slurp(VEC "virtee_report_milan.hex", &n);
	if (hex && n == 2 * NACRE_SNP_REPORT_LEN && (real[1] = malloc(n / 2))) {
		char *s = malloc(n + 1);
		memcpy(s, hex, n);
		s[n] = '\0';
		if (nacre_hex_decode(s, real[1], n / 2) == 0)
			real_len[1] = n / 2;
		free(s);
	}
	free(hex);
	ask = pem_der(0, &ask_len);
	ark = pem_der(1, &ark_len);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* the decoded fields are the bytes at AMD's offsets */
static void
check_report(const struct nacre_snp_report *r, const uint8_t *b)
{
	REQUIRE(memcmp(r->raw, b, NACRE_SNP_REPORT_LEN) == 0);
	REQUIRE(r->version == le32(b) && r->version >= NACRE_SNP_VERSION_MIN &&
		r->version <= NACRE_SNP_VERSION_MAX);
	REQUIRE(r->signature_algo == NACRE_SNP_SIG_ECDSA_P384_SHA384);
	REQUIRE(r->signing_key == NACRE_SNP_KEY_VCEK);
	REQUIRE(r->vmpl == le32(b + 0x30));
	REQUIRE(r->policy == ((uint64_t)le32(b + 0x0c) << 32 | le32(b + 8)));
	REQUIRE(!memcmp(r->report_data, b + 0x50, 64));
	REQUIRE(!memcmp(r->measurement, b + 0x90, 48));
	REQUIRE(!memcmp(r->host_data, b + 0xc0, 32));
	REQUIRE(!memcmp(r->chip_id, b + 0x1a0, 64));
	REQUIRE(r->reported_tcb.bootloader == b[0x180] &&
		r->reported_tcb.tee == b[0x181] &&
		r->reported_tcb.snp == b[0x186] &&
		r->reported_tcb.microcode == b[0x187]);
	REQUIRE(!memcmp(r->sig_r, b + 0x2a0, 72) &&
		!memcmp(r->sig_s, b + 0x2e8, 72));
	for (size_t i = 0x330; i < NACRE_SNP_REPORT_LEN; i++)
		REQUIRE(b[i] == 0);
}

static bool
is_real(const uint8_t *b)
{
	for (int i = 0; i < 2; i++)
		if (real_len[i] == NACRE_SNP_REPORT_LEN &&
		    memcmp(b, real[i], NACRE_SNP_SIGNED_LEN) == 0)
			return true;
	return false;
}

static void
verify(const uint8_t *b, size_t len, const uint8_t *tail, size_t tail_len)
{
	struct nacre_snp_expect w = {
		.allow_any_measurement = true, .allow_debug = true,
		.allow_migrate_ma = true, .max_vmpl = UINT32_MAX,
	};
	struct nacre_snp_certs c = { .ask = ask, .ask_len = ask_len,
				     .ark = ark, .ark_len = ark_len };
	struct nacre_snp_result r;
	/* the VCEK for the report's boot loader SVN, or the fuzzed one */
	int k = len >= 0x181 && b[0x180] == 3;

	if (!ask || !ark || !vcek[k])
		return;
	c.vcek = tail ? tail : vcek[k];
	c.vcek_len = tail ? tail_len : vcek_len[k];
	int st = nacre_snp_verify(b, len, &c, 1704067200, &w, &r);
	REQUIRE(st == (int)r.status && st >= 0 && st < NACRE_SNP_E_COUNT);
	REQUIRE(r.message[0]);
	REQUIRE(st != NACRE_SNP_OK || is_real(b));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = size < NACRE_SNP_REPORT_LEN ? size : NACRE_SNP_REPORT_LEN;
	size_t tail_len = size - len;
	/* exact-size copies, so ASan sees any read past the end */
	uint8_t *rep = malloc(len ? len : 1);
	uint8_t *tail = tail_len ? malloc(tail_len) : NULL;
	struct nacre_snp_report r;
	char err[512] = "";

	if (!loaded)
		load();
	memcpy(rep, data, len);
	if (tail)
		memcpy(tail, data + len, tail_len);
	int st = nacre_snp_report_parse(rep, len, &r, err, sizeof(err));
	if (st == NACRE_SNP_OK)
		check_report(&r, rep);
	else
		REQUIRE(err[0] && st > 0 && st < NACRE_SNP_E_COUNT);
	verify(rep, len, tail, tail_len);
	free(tail);
	free(rep);
	return 0;
}
