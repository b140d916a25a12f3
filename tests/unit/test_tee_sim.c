/*
 * test_tee_sim.c: the simulated TDX and SEV-SNP hardware (src/tee/) make
 * evidence that libnacre's real verifiers accept once the caller names
 * the simulated root, and only then: a TDX quote v4 with its collateral
 * read back from the sim's files (UpToDate), an SNP report with the
 * certificate table the host would hand over; the expected MRTD,
 * measurement and report data come back; a re-opened sim loads the same
 * keys; one flipped byte in the body, a signature, the QE report, a
 * certificate or the collateral fails with the status of that check. And
 * the certificate-table parser: round trip, and refusal of tables whose
 * entries overlap, point outside, are too long or never end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "nacred.h"
#include "snp.h"
#include "tap.h"
#include "tdx.h"
#include "tee/tee.h"

static char err[512];
static char dir[64], tdx_dir[128], snp_dir[128];

static uint8_t *
slurp(const char *d, const char *name, size_t *len)
{
	char path[300];
	FILE *f;
	uint8_t *buf = malloc(1 << 20);
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", d, name);
	if (!buf || !(f = fopen(path, "rb"))) {
		free(buf);
		*len = 0;
		return NULL;
	}
	n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	*len = n;
	return buf;
}

static unsigned
mode_of(const char *d, const char *name)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", d, name);
	return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
}

/* the first PEM certificate of a file, as DER */
static uint8_t *
pem_file_der(const char *d, const char *name, int nth, size_t *len)
{
	size_t n;
	uint8_t *text = slurp(d, name, &n), *der = NULL;
	BIO *b = text ? BIO_new_mem_buf(text, (int)n) : NULL;
	X509 *x = NULL;
	int m = -1;

	for (int i = 0; b && i <= nth; i++) {
		X509_free(x);
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	}
	if (x)
		m = i2d_X509(x, &der);
	X509_free(x);
	BIO_free(b);
	free(text);
	*len = m > 0 ? (size_t)m : 0;
	return m > 0 ? der : NULL;
}

/* ---------------------------------------------------------------------- */
/* TDX */

struct tdx_files {
	uint8_t *tcb_info, *qe_id, *chain, *pck_crl, *root_crl, *root_der;
	size_t tcb_info_len, qe_id_len, chain_len, pck_crl_len, root_crl_len,
	       root_der_len;
	struct nacre_tdx_collateral c;
};

static void
tdx_files_load(struct tdx_files *f)
{
	f->tcb_info = slurp(tdx_dir, NACRE_TDX_SIM_TCB_INFO, &f->tcb_info_len);
	f->qe_id = slurp(tdx_dir, NACRE_TDX_SIM_QE_IDENTITY, &f->qe_id_len);
	f->chain = slurp(tdx_dir, NACRE_TDX_SIM_TCB_CHAIN, &f->chain_len);
	f->pck_crl = slurp(tdx_dir, NACRE_TDX_SIM_PCK_CRL, &f->pck_crl_len);
	f->root_crl = slurp(tdx_dir, NACRE_TDX_SIM_ROOT_CRL,
			    &f->root_crl_len);
	f->root_der = pem_file_der(tdx_dir, NACRE_TDX_SIM_ROOT_CRT, 0,
				   &f->root_der_len);
	f->c = (struct nacre_tdx_collateral){
		.tcb_info = (const char *)f->tcb_info,
		.tcb_info_len = f->tcb_info_len,
		.tcb_info_chain = (const char *)f->chain,
		.tcb_info_chain_len = f->chain_len,
		.qe_identity = (const char *)f->qe_id,
		.qe_identity_len = f->qe_id_len,
		.qe_identity_chain = (const char *)f->chain,
		.qe_identity_chain_len = f->chain_len,
		.root_ca_crl = f->root_crl,
		.root_ca_crl_len = f->root_crl_len,
		.pck_crl = f->pck_crl,
		.pck_crl_len = f->pck_crl_len,
	};
}

static void
tdx_files_free(struct tdx_files *f)
{
	free(f->tcb_info);
	free(f->qe_id);
	free(f->chain);
	free(f->pck_crl);
	free(f->root_crl);
	OPENSSL_free(f->root_der);
}

static uint8_t tdx_mrtd[1][48], tdx_rd[64];

static struct nacre_tdx_policy
tdx_policy(const struct tdx_files *f)
{
	return (struct nacre_tdx_policy){
		.trusted_root = f->root_der, .trusted_root_len = f->root_der_len,
		.mrtd = (const uint8_t (*)[48])tdx_mrtd, .nmrtd = 1,
		.report_data = tdx_rd,
	};
}

/* the quote with byte off xor'ed, verified; the status */
static int
tdx_flip(const uint8_t *q, size_t len, size_t off,
	 const struct tdx_files *f)
{
	uint8_t *c = malloc(len);
	struct nacre_tdx_policy p = tdx_policy(f);
	struct nacre_tdx_result r;

	memcpy(c, q, len);
	c[off] ^= 0x01;
	nacre_tdx_verify(c, len, &f->c, &p, NULL, &r);
	free(c);
	return r.status;
}

/* offset of the n-th byte of the PCK leaf's base64 in the quote */
static size_t
pck_offset(const uint8_t *q, size_t len, size_t n)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----\n";

	for (size_t i = 0; i + sizeof(begin) < len; i++)
		if (memcmp(q + i, begin, sizeof(begin) - 1) == 0)
			return i + sizeof(begin) - 1 + n;
	return 0;
}

static void
test_tdx_flips(const uint8_t *q, size_t len, const struct tdx_files *f)
{
	size_t sig = NACRE_TDX_HEADER_LEN + NACRE_TDX_BODY10_LEN + 4;
	size_t qe = sig + 64 + 64 + 6;
	size_t auth = qe + NACRE_SGX_REPORT_LEN + 64 + 2;
	size_t pck = pck_offset(q, len, 700);
	int st;

	CHECK(tdx_flip(q, len, NACRE_TDX_HEADER_LEN + 136, f) ==
	      NACRE_TDX_E_QUOTE_SIGNATURE, "tdx: a flipped MRTD byte breaks "
	      "the quote signature");
	CHECK(tdx_flip(q, len, NACRE_TDX_HEADER_LEN + 520, f) ==
	      NACRE_TDX_E_QUOTE_SIGNATURE, "tdx: a flipped REPORTDATA byte "
	      "breaks the quote signature");
	CHECK(tdx_flip(q, len, 30, f) == NACRE_TDX_E_QUOTE_SIGNATURE,
	      "tdx: a flipped header byte breaks the quote signature");
	CHECK(tdx_flip(q, len, sig + 5, f) == NACRE_TDX_E_QUOTE_SIGNATURE,
	      "tdx: a flipped signature byte fails");
	CHECK(tdx_flip(q, len, qe + 64, f) ==
	      NACRE_TDX_E_QE_REPORT_SIGNATURE, "tdx: a flipped QE report "
	      "byte breaks the QE report signature");
	CHECK(tdx_flip(q, len, qe + NACRE_SGX_REPORT_LEN + 3, f) ==
	      NACRE_TDX_E_QE_REPORT_SIGNATURE, "tdx: a flipped QE report "
	      "signature byte fails");
	CHECK(tdx_flip(q, len, auth + 4, f) == NACRE_TDX_E_QE_BINDING,
	      "tdx: flipped QE auth data no longer matches the QE report");
	CHECK(tdx_flip(q, len, sig + 64 + 10, f) == NACRE_TDX_E_QE_BINDING,
	      "tdx: a flipped attestation key no longer matches the QE "
	      "report");
	st = tdx_flip(q, len, pck, f);
	CHECK(pck > 0 && st == NACRE_TDX_E_PCK_CHAIN,
	      "tdx: a flipped bit in the PCK certificate breaks the chain");
}

static void
test_tdx_collateral_flips(const uint8_t *q, size_t len, struct tdx_files *f)
{
	struct nacre_tdx_policy p = tdx_policy(f);
	struct nacre_tdx_result r;
	char *at = strstr((char *)f->tcb_info, "\"pcesvn\":11");
	uint8_t save;

	CHECK(at != NULL, "tdx: TCB Info has the platform's level");
	if (!at)
		return;
	at[10] = '2';	/* pcesvn 12: signed bytes changed */
	nacre_tdx_verify(q, len, &f->c, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_TCB_INFO_SIGNATURE,
	      "tdx: an altered TCB Info fails its signature");
	at[10] = '1';
	at = strstr((char *)f->qe_id, "\"isvsvn\":4");
	if (at) {
		at[9] = '5';
		nacre_tdx_verify(q, len, &f->c, &p, NULL, &r);
		at[9] = '4';
	}
	CHECK(at && r.status == NACRE_TDX_E_QE_IDENTITY_SIGNATURE,
	      "tdx: an altered QE Identity fails its signature");
	save = f->pck_crl[f->pck_crl_len - 1];
	f->pck_crl[f->pck_crl_len - 1] ^= 1;
	nacre_tdx_verify(q, len, &f->c, &p, NULL, &r);
	f->pck_crl[f->pck_crl_len - 1] = save;
	CHECK(r.status == NACRE_TDX_E_CRL, "tdx: an altered PCK CRL fails");
	nacre_tdx_verify(q, len, &f->c, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_OK, "tdx: restored collateral verifies");
}

static void
test_tdx_trust(const uint8_t *q, size_t len, const struct tdx_files *f,
	       struct nacre_tdx_sim *s)
{
	struct nacre_tdx_policy p = tdx_policy(f);
	struct nacre_tdx_result r;
	uint8_t other[64] = { 1 };

	p.trusted_root = NULL;
	nacre_tdx_verify(q, len, &f->c, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_UNTRUSTED_ROOT,
	      "tdx: without the sim root named, the quote is untrusted");
	CHECK_HAS(r.message, "Intel SGX Root CA", "tdx: the message names "
		  "the missing root");
	p = tdx_policy(f);
	p.trusted_root = NULL;
	p.root = nacre_tdx_sim_root(s);
	nacre_tdx_verify(q, len, &f->c, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_OK, "tdx: the sim root as policy.root "
	      "verifies too");
	p = tdx_policy(f);
	p.report_data = other;
	nacre_tdx_verify(q, len, &f->c, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_REPORT_DATA,
	      "tdx: another REPORTDATA expected fails");
	p = tdx_policy(f);
	nacre_tdx_verify(q, len, NULL, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_NO_COLLATERAL,
	      "tdx: without collateral the TCB cannot be judged");
	p.now = time(NULL) + 40 * 24 * 3600;
	nacre_tdx_verify(q, len, &f->c, &p, NULL, &r);
	CHECK(r.status == NACRE_TDX_E_CRL ||
	      r.status == NACRE_TDX_E_COLLATERAL_EXPIRED,
	      "tdx: the collateral expires after 30 days");
}

static void
test_tdx_files(struct nacre_tdx_sim *s, const struct tdx_files *f)
{
	struct nacre_tdx_collateral c;
	char hex[65];
	X509 *root = nacre_tdx_sim_root(s);
	uint8_t *der = NULL;
	int n = i2d_X509(root, &der);

	CHECK(mode_of(tdx_dir, NACRE_TDX_SIM_ROOT_KEY) == 0600 &&
	      mode_of(tdx_dir, NACRE_TDX_SIM_PCK_CA_KEY) == 0600 &&
	      mode_of(tdx_dir, NACRE_TDX_SIM_PCK_KEY) == 0600 &&
	      mode_of(tdx_dir, NACRE_TDX_SIM_TCB_KEY) == 0600 &&
	      mode_of(tdx_dir, NACRE_TDX_SIM_ATT_KEY) == 0600,
	      "tdx: key files are 0600");
	CHECK(mode_of(tdx_dir, NACRE_TDX_SIM_ROOT_CRT) == 0644 &&
	      mode_of(tdx_dir, NACRE_TDX_SIM_TCB_INFO) == 0644 &&
	      mode_of(tdx_dir, NACRE_TDX_SIM_PCK_CRL) == 0644,
	      "tdx: certificate and collateral files are 0644");
	CHECK(n > 0 && (size_t)n == f->root_der_len &&
	      memcmp(der, f->root_der, (size_t)n) == 0,
	      "tdx: sgx-root.crt is the sim's root");
	OPENSSL_free(der);
	CHECK(nacre_tee_sim_cert_sha256_hex(root, hex) == 0 &&
	      strcmp(hex, nacre_tdx_sim_root_sha256_hex(s)) == 0,
	      "tdx: the root fingerprint is its DER's SHA-256");
	CHECK(nacre_tdx_sim_collateral(s, &c, err, sizeof(err)) == 0 &&
	      c.tcb_info_len == f->tcb_info_len &&
	      memcmp(c.tcb_info, f->tcb_info, c.tcb_info_len) == 0 &&
	      c.pck_crl_len == f->pck_crl_len,
	      "tdx: the collateral in memory is the files'");
	CHECK(strstr((char *)f->tcb_info, "{\"tcbInfo\":{\"id\":\"TDX\","
		     "\"version\":3,") == (char *)f->tcb_info,
	      "tdx: tcb-info.json is a TCB Info v3 for TDX");
}

static void
test_tdx(void)
{
	struct nacre_tdx_sim *s, *s2;
	struct tdx_files f = { 0 };
	struct nacre_tdx_policy p;
	struct nacre_tdx_result r;
	struct nacre_tdx_quote q;
	uint8_t *quote = NULL, *quote2 = NULL;
	size_t len = 0, len2 = 0;
	char hex[65];

	memset(tdx_mrtd[0], 0xa5, 48);
	for (int i = 0; i < 64; i++)
		tdx_rd[i] = (uint8_t)(i * 3);
	s = nacre_tdx_sim_open(tdx_dir, tdx_mrtd[0], err, sizeof(err));
	CHECK(s != NULL, "tdx: the sim opens in a new directory");
	if (!s) {
		printf("# %s\n", err);
		return;
	}
	CHECK(nacre_tdx_sim_quote(s, tdx_rd, &quote, &len, err,
				  sizeof(err)) == 0, "tdx: a quote is made");
	tdx_files_load(&f);
	CHECK(f.tcb_info && f.qe_id && f.chain && f.pck_crl && f.root_crl &&
	      f.root_der, "tdx: the collateral files are there");
	p = tdx_policy(&f);
	nacre_tdx_verify(quote, len, &f.c, &p, &q, &r);
	CHECK(r.status == NACRE_TDX_OK, "tdx: the real verifier accepts the "
	      "quote with the sim root and collateral");
	if (r.status != NACRE_TDX_OK)
		printf("# %s: %s\n", nacre_tdx_status_name(r.status), r.message);
	CHECK(r.collateral_checked && r.tcb_status == NACRE_TDX_TCB_UP_TO_DATE,
	      "tdx: the TCB status is UpToDate");
	CHECK(q.version == 4 && q.att_key_type == 2 && q.tee_type == 0x81 &&
	      q.body_type == 2 && q.trailing == 0 && q.qe_auth_len == 32,
	      "tdx: quote v4, ECDSA P-256, TDX, TD 1.0 body");
	CHECK(memcmp(q.td.mrtd, tdx_mrtd[0], 48) == 0 &&
	      memcmp(q.td.report_data, tdx_rd, 64) == 0,
	      "tdx: MRTD and REPORTDATA come back");
	CHECK(!(q.td.td_attributes[0] & 1), "tdx: DEBUG is clear");
	CHECK_STR(r.fmspc_hex, "50806f000000", "tdx: the PCK's FMSPC");
	test_tdx_files(s, &f);
	test_tdx_trust(quote, len, &f, s);
	test_tdx_flips(quote, len, &f);
	test_tdx_collateral_flips(quote, len, &f);

	snprintf(hex, sizeof(hex), "%s", nacre_tdx_sim_root_sha256_hex(s));
	nacre_tdx_sim_free(s);
	s2 = nacre_tdx_sim_open(tdx_dir, tdx_mrtd[0], err, sizeof(err));
	CHECK(s2 && strcmp(hex, nacre_tdx_sim_root_sha256_hex(s2)) == 0,
	      "tdx: re-opened, the sim loads the same root");
	if (s2 && nacre_tdx_sim_quote(s2, tdx_rd, &quote2, &len2, err,
				      sizeof(err)) == 0) {
		tdx_files_free(&f);
		memset(&f, 0, sizeof(f));
		tdx_files_load(&f);
		p = tdx_policy(&f);
		nacre_tdx_verify(quote2, len2, &f.c, &p, NULL, &r);
	}
	CHECK(quote2 && r.status == NACRE_TDX_OK,
	      "tdx: the re-opened sim's quote verifies");
	CHECK(quote2 && len2 == len &&
	      memcmp(quote2 + len2 - 1500, quote + len - 1500, 1500) == 0,
	      "tdx: same PCK chain after re-opening");
	free(quote);
	free(quote2);
	tdx_files_free(&f);
	nacre_tdx_sim_free(s2);
}

/* ---------------------------------------------------------------------- */
/* SNP */

static uint8_t snp_meas[1][48], snp_rd[64];

struct snp_evidence {
	uint8_t *report, *table;
	size_t len, table_len;
	struct nacre_snp_certtable t;
	const uint8_t *ark;
	size_t ark_len;
};

static int
snp_run(const uint8_t *rep, const struct nacre_snp_certtable *t,
	const uint8_t *ark, size_t ark_len, struct nacre_snp_result *r)
{
	struct nacre_snp_certs c = {
		.vcek = t->vcek, .vcek_len = t->vcek_len, .ask = t->ask,
		.ask_len = t->ask_len, .ark = t->ark, .ark_len = t->ark_len,
		.trusted_ark = ark, .trusted_ark_len = ark_len,
	};
	struct nacre_snp_expect w = {
		.measurements = (const uint8_t (*)[48])snp_meas,
		.nmeasurements = 1, .has_report_data = true,
	};

	memcpy(w.report_data, snp_rd, 64);
	return nacre_snp_verify(rep, NACRE_SNP_REPORT_LEN, &c, time(NULL), &w,
				r);
}

/* a copy of the report with byte off flipped */
static int
snp_flip_report(const struct snp_evidence *e, size_t off)
{
	uint8_t rep[NACRE_SNP_REPORT_LEN];
	struct nacre_snp_result r;

	memcpy(rep, e->report, sizeof(rep));
	rep[off] ^= 0x01;
	return snp_run(rep, &e->t, e->ark, e->ark_len, &r);
}

/* a copy of the table with byte off of a certificate flipped */
static int
snp_flip_table(const struct snp_evidence *e, const uint8_t *cert,
	       size_t from_end)
{
	uint8_t *t = malloc(e->table_len);
	struct nacre_snp_certtable ct;
	struct nacre_snp_result r;
	int st = -1;

	memcpy(t, e->table, e->table_len);
	if (nacre_snp_certtable_parse(t, e->table_len, &ct, err,
				      sizeof(err)) == 0) {
		size_t off = (size_t)(cert - e->table);
		size_t n = cert == e->t.vcek ? e->t.vcek_len :
			   cert == e->t.ask ? e->t.ask_len : e->t.ark_len;
		t[off + n - from_end] ^= 0x01;
		st = snp_run(e->report, &ct, e->ark, e->ark_len, &r);
	}
	free(t);
	return st;
}

static void
test_snp_flips(const struct snp_evidence *e)
{
	CHECK(snp_flip_report(e, 0x90) == NACRE_SNP_E_REPORT_SIGNATURE,
	      "snp: a flipped measurement byte breaks the signature");
	CHECK(snp_flip_report(e, 0x50) == NACRE_SNP_E_REPORT_SIGNATURE,
	      "snp: a flipped report_data byte breaks the signature");
	CHECK(snp_flip_report(e, 0x2a0) == NACRE_SNP_E_REPORT_SIGNATURE,
	      "snp: a flipped R byte fails");
	CHECK(snp_flip_report(e, 0x2e8 + 3) == NACRE_SNP_E_REPORT_SIGNATURE,
	      "snp: a flipped S byte fails");
	CHECK(snp_flip_report(e, 0x180 + 6) == NACRE_SNP_E_TCB_MISMATCH,
	      "snp: a changed reported_tcb no longer matches the VCEK");
	CHECK(snp_flip_report(e, 0x1a0) == NACRE_SNP_E_CHIP_ID,
	      "snp: a changed chip_id no longer matches the VCEK's hwID");
	CHECK(snp_flip_report(e, 0x400) == NACRE_SNP_E_REPORT_RESERVED,
	      "snp: a byte in the reserved tail is refused");
	CHECK(snp_flip_table(e, e->t.vcek, 1) == NACRE_SNP_E_VCEK_SIGNATURE,
	      "snp: a flipped VCEK signature byte fails");
	CHECK(snp_flip_table(e, e->t.ask, 1) == NACRE_SNP_E_ASK_SIGNATURE,
	      "snp: a flipped ASK signature byte fails");
	CHECK(snp_flip_table(e, e->t.ark, 1) == NACRE_SNP_E_ARK_UNTRUSTED,
	      "snp: a changed ARK is no longer the trusted one");
}

static void
test_snp_report_fields(const struct snp_evidence *e,
		       const struct nacre_snp_result *r)
{
	const struct nacre_snp_report *p = &r->report;

	CHECK(p->version == 3 && p->signature_algo == 1 && p->vmpl == 0,
	      "snp: report version 3, ECDSA P-384, VMPL 0");
	CHECK((p->policy & NACRE_SNP_POLICY_RESERVED_17) &&
	      !(p->policy & NACRE_SNP_POLICY_DEBUG) &&
	      !(p->policy & NACRE_SNP_POLICY_MIGRATE_MA),
	      "snp: policy bit 17 set, debug and migration agent clear");
	CHECK(memcmp(p->measurement, snp_meas[0], 48) == 0 &&
	      memcmp(p->report_data, snp_rd, 64) == 0,
	      "snp: measurement and report_data come back");
	CHECK(p->signing_key == NACRE_SNP_KEY_VCEK && !p->mask_chip_id &&
	      p->cpuid_fam_id == 0x19, "snp: VCEK-signed, chip id shown, "
	      "family 0x19");
	CHECK(p->reported_tcb.raw == p->committed_tcb.raw &&
	      p->reported_tcb.snp == 8 && p->reported_tcb.microcode == 0x73,
	      "snp: reported TCB bl 3 snp 8 ucode 0x73");
	CHECK(r->product == NACRE_SNP_PRODUCT_MILAN,
	      "snp: the sim ARK stands for Milan");
	(void)e;
}

static void
test_snp_files(struct nacre_snp_sim *s, const struct snp_evidence *e)
{
	size_t n, vn, an;
	uint8_t *ark = pem_file_der(snp_dir, NACRE_SNP_SIM_ARK_CRT, 0, &n);
	uint8_t *vcek = slurp(snp_dir, NACRE_SNP_SIM_VCEK_DER, &vn);
	uint8_t *ask = pem_file_der(snp_dir, NACRE_SNP_SIM_CHAIN, 0, &an);

	CHECK(ark && n == e->ark_len && memcmp(ark, e->ark, n) == 0,
	      "snp: ark.crt is the sim's ARK");
	CHECK(vcek && vn == e->t.vcek_len && memcmp(vcek, e->t.vcek, vn) == 0,
	      "snp: vcek.der is the table's VCEK");
	CHECK(ask && an == e->t.ask_len && memcmp(ask, e->t.ask, an) == 0,
	      "snp: cert_chain.pem starts with the ASK");
	CHECK(mode_of(snp_dir, NACRE_SNP_SIM_ARK_KEY) == 0600 &&
	      mode_of(snp_dir, NACRE_SNP_SIM_ASK_KEY) == 0600 &&
	      mode_of(snp_dir, NACRE_SNP_SIM_VCEK_KEY) == 0600 &&
	      mode_of(snp_dir, NACRE_SNP_SIM_ARK_CRT) == 0644,
	      "snp: key files 0600, ark.crt 0644");
	OPENSSL_free(ark);
	OPENSSL_free(ask);
	free(vcek);
	(void)s;
}

static void
test_snp_trust(const struct snp_evidence *e)
{
	struct nacre_snp_result r;
	struct nacre_snp_certtable none = e->t;

	snp_run(e->report, &e->t, NULL, 0, &r);
	CHECK(r.status == NACRE_SNP_E_ARK_UNTRUSTED,
	      "snp: without the sim ARK named, the report is untrusted");
	CHECK_HAS(r.message, "not a pinned AMD Root Key",
		  "snp: the message says the ARK is not AMD's");
	none.vcek = NULL;
	none.vcek_len = 0;
	snp_run(e->report, &none, e->ark, e->ark_len, &r);
	CHECK(r.status == NACRE_SNP_E_CERT_MALFORMED,
	      "snp: without a VCEK the chain is incomplete");
}

static void
test_snp(void)
{
	struct nacre_snp_sim *s, *s2;
	struct snp_evidence e = { 0 };
	struct nacre_snp_result r;
	uint8_t *rep2 = NULL;
	size_t len2 = 0;
	char hex[65];
	time_t t0;

	memset(snp_meas[0], 0x5a, 48);
	for (int i = 0; i < 64; i++)
		snp_rd[i] = (uint8_t)(255 - i);
	s = nacre_snp_sim_open(snp_dir, snp_meas[0], err, sizeof(err));
	CHECK(s != NULL, "snp: the sim opens (RSA-4096 keys made)");
	if (!s) {
		printf("# %s\n", err);
		return;
	}
	CHECK(nacre_snp_sim_report(s, snp_rd, &e.report, &e.len, &e.table,
				   &e.table_len, err, sizeof(err)) == 0 &&
	      e.len == NACRE_SNP_REPORT_LEN, "snp: a 1184-byte report and a "
	      "certificate table are made");
	CHECK(nacre_snp_certtable_parse(e.table, e.table_len, &e.t, err,
					sizeof(err)) == 0 &&
	      e.t.vcek && e.t.ask && e.t.ark && !e.t.vlek &&
	      e.t.nentries == 3, "snp: the table holds VCEK, ASK, ARK");
	e.ark = nacre_snp_sim_ark_der(s, &e.ark_len);
	snp_run(e.report, &e.t, e.ark, e.ark_len, &r);
	CHECK(r.status == NACRE_SNP_OK, "snp: the real verifier accepts the "
	      "report with the sim ARK trusted");
	if (r.status != NACRE_SNP_OK)
		printf("# %s: %s\n", nacre_snp_status_name(r.status),
		       r.message);
	test_snp_report_fields(&e, &r);
	test_snp_files(s, &e);
	test_snp_trust(&e);
	test_snp_flips(&e);

	snprintf(hex, sizeof(hex), "%s", nacre_snp_sim_ark_sha256_hex(s));
	t0 = time(NULL);
	s2 = nacre_snp_sim_open(snp_dir, snp_meas[0], err, sizeof(err));
	CHECK(s2 && strcmp(hex, nacre_snp_sim_ark_sha256_hex(s2)) == 0,
	      "snp: re-opened, the sim loads the same ARK");
	CHECK(time(NULL) - t0 < 5, "snp: re-opening makes no RSA key");
	if (s2 && nacre_snp_sim_report(s2, snp_rd, &rep2, &len2, NULL, NULL,
				       err, sizeof(err)) == 0)
		snp_run(rep2, &e.t, e.ark, e.ark_len, &r);
	CHECK(rep2 && r.status == NACRE_SNP_OK,
	      "snp: the re-opened sim's report verifies with the first "
	      "table's certificates");
	free(rep2);
	free(e.report);
	free(e.table);
	nacre_snp_sim_free(s2);
	nacre_snp_sim_free(s);
}

/* ---------------------------------------------------------------------- */
/* The certificate table */

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
entry(uint8_t *b, size_t i, const uint8_t guid[16], uint32_t off,
      uint32_t n)
{
	memcpy(b + 24 * i, guid, 16);
	put32(b + 24 * i + 16, off);
	put32(b + 24 * i + 20, n);
}

static int
parse(const uint8_t *b, size_t n, struct nacre_snp_certtable *t)
{
	return nacre_snp_certtable_parse(b, n, t, err, sizeof(err));
}

static void
test_certtable(void)
{
	static uint8_t b[20000];
	static const uint8_t other[16] = { 0xec, 0xae, 0x0c, 0x0f };
	struct nacre_snp_certtable t, t2;
	uint8_t *enc = NULL;
	size_t enc_len = 0;

	memset(b, 0, sizeof(b));
	entry(b, 0, nacre_snp_guid_vcek, 96, 100);
	entry(b, 1, nacre_snp_guid_ask, 196, 200);
	entry(b, 2, nacre_snp_guid_ark, 396, 300);
	for (int i = 96; i < 696; i++)
		b[i] = (uint8_t)i;
	CHECK(parse(b, 696, &t) == 0 && t.vcek == b + 96 &&
	      t.vcek_len == 100 && t.ask == b + 196 && t.ark_len == 300 &&
	      t.nentries == 3, "table: three entries read");
	CHECK(nacre_snp_certtable_encode(&t, &enc, &enc_len, err,
					 sizeof(err)) == 0 &&
	      enc_len == 696 && memcmp(enc, b, 696) == 0,
	      "table: encoding what was read gives the same bytes");
	free(enc);
	CHECK(parse(b, 4096, &t) == 0, "table: page padding after the "
	      "certificates is allowed");
	CHECK(parse(b, 695, &t) < 0, "table: a certificate past the end is "
	      "refused");
	CHECK_HAS(err, "outside", "table: the message says where");
	entry(b, 1, nacre_snp_guid_ask, 150, 200);
	CHECK(parse(b, 696, &t) < 0 && strstr(err, "overlap"),
	      "table: overlapping certificates are refused");
	entry(b, 1, nacre_snp_guid_ask, 80, 100);
	CHECK(parse(b, 696, &t) < 0, "table: a certificate inside the table "
	      "is refused");
	entry(b, 1, nacre_snp_guid_ask, 196, 0);
	CHECK(parse(b, 696, &t) < 0, "table: an empty entry is refused");
	entry(b, 1, nacre_snp_guid_ask, 196, 9000);
	CHECK(parse(b, sizeof(b), &t) < 0 && strstr(err, "8192"),
	      "table: a certificate over 8192 bytes is refused");
	entry(b, 1, nacre_snp_guid_vcek, 196, 200);
	CHECK(parse(b, 696, &t) < 0 && strstr(err, "two VCEK"),
	      "table: two VCEK entries are refused");
	entry(b, 1, other, 196, 200);
	CHECK(parse(b, 696, &t) == 0 && !t.ask && t.vcek && t.ark &&
	      t.nentries == 3, "table: an unknown GUID is skipped");
	put32(b + 24 * 3 + 16, 5);
	CHECK(parse(b, 696, &t) < 0, "table: a terminator with an offset is "
	      "refused");
	put32(b + 24 * 3 + 16, 0);
	CHECK(parse(b, 72, &t) < 0 && strstr(err, "terminator"),
	      "table: a table cut before its terminator is refused");
	memset(b, 0, sizeof(b));
	for (size_t i = 0; i < 9; i++)
		entry(b, i, other, (uint32_t)(300 + 10 * i), 10);
	CHECK(parse(b, 400, &t) < 0 && strstr(err, "more than 8"),
	      "table: more than 8 entries are refused");
	memset(b + 24 * 8, 0, 24);
	CHECK(parse(b, 400, &t) == 0 && t.nentries == 8,
	      "table: 8 entries are read");
	CHECK(parse(NULL, 0, &t) < 0 && parse(b, 0, &t) < 0,
	      "table: nothing is not a table");
	CHECK(parse(b, NACRE_SNP_CERTTABLE_MAX + 1, &t2) < 0,
	      "table: a blob over the maximum is refused");
}

int
main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/nacre-tee-sim-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tdx_dir, sizeof(tdx_dir), "%s/tdx", dir);
	snprintf(snp_dir, sizeof(snp_dir), "%s/snp/sub", dir);
	test_certtable();
	test_tdx();
	test_snp();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	TAP_DONE();
}
