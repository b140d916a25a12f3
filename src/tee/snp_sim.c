/*
 * snp_sim.c: a simulated AMD secure processor for machines without
 * SEV-SNP. It makes ATTESTATION_REPORTs (version 3, 1184 bytes) laid out
 * as AMD's SEV-SNP ABI specification says (the layout
 * src/verify/snp_report.c reads), signed ECDSA P-384 / SHA-384 by a
 * simulated VCEK that carries AMD's VCEK extensions (product name, TCB
 * components, hwID), under a simulated ASK and ARK (RSA-4096, every link
 * RSASSA-PSS SHA-384 with a 48-byte salt), and the certificate table a
 * host hands its guest with an extended report. Only the trust anchor
 * differs from a Milan chip: libnacre's verifier trusts the sim only when
 * its caller names the ARK (struct nacre_snp_certs.trusted_ark).
 *
 * RSA-4096 keys take seconds to make: they are made once and kept in the
 * sim's directory (tee.h lists its files).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "nacred.h"
#include "snp.h"
#include "tee/tee.h"

#define SIM_OU "SIMULATED - not AMD"
#define ARK_CN "ARK-Milan"	/* the product, for the verifier */
#define ASK_CN "SEV-Milan"
#define VCEK_CN "SEV-VCEK"
#define PRODUCT_NAME "Milan-B0"
#define AMD_OID "1.3.6.1.4.1.3704.1."
#define DAY (24L * 3600)
#define YEAR (365 * DAY)
#define CERT_RENEW (30 * DAY)

/* the simulated chip's TCB: boot loader 3, TEE 0, SNP 8, microcode 0x73
 * (a Milan TCB of 2023), laid out as TCB_VERSION */
static const uint8_t sim_tcb[8] = { 3, 0, 0, 0, 0, 0, 8, 0x73 };
/* POLICY: SMT allowed (bit 16), reserved bit 17 set; DEBUG, migration
 * agent, single socket clear; ABI 0.0 */
#define SIM_POLICY 0x30000ULL
#define SIM_PLATFORM_INFO 0x1ULL	/* SMT enabled */
/* CPUID family 0x19, model 0x01, stepping 1: Milan B0 */
static const uint8_t sim_cpuid[3] = { 0x19, 0x01, 0x01 };
/* SNP firmware 1.55.21 (build, minor, major) */
static const uint8_t sim_fw[3] = { 21, 55, 1 };

struct nacre_snp_sim {
	char *dir;
	EVP_PKEY *ark_key, *ask_key, *vcek_key;
	X509 *ark, *ask, *vcek;
	uint8_t *ark_der, *ask_der, *vcek_der;
	size_t ark_der_len, ask_der_len, vcek_der_len;
	char ark_hex[65];
	struct nacre_snp_vcek_info info;	/* read back from the VCEK */
	uint8_t measurement[48];
	uint8_t report_id[32];			/* one per open, a "guest" */
};

/* ---------------------------------------------------------------------- */
/* Keys and certificates. */

static bool
is_rsa4096(EVP_PKEY *k)
{
	return k && EVP_PKEY_is_a(k, "RSA") && EVP_PKEY_get_bits(k) == 4096;
}

static bool
is_p384(EVP_PKEY *k)
{
	char group[32];
	size_t n;

	return k && EVP_PKEY_is_a(k, "EC") &&
	       EVP_PKEY_get_utf8_string_param(k, "group", group,
					      sizeof(group), &n) == 1 &&
	       strcmp(group, "secp384r1") == 0;
}

/* RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48: AMD's signature on every
 * certificate of the chain */
static X509 *
sign_pss(X509 *x, EVP_PKEY *key)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	bool ok = x && md &&
		  EVP_DigestSignInit(md, &pc, EVP_sha384(), NULL, key) == 1 &&
		  EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
		  EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 48) > 0 &&
		  EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha384()) > 0 &&
		  X509_sign_ctx(x, md) > 0;

	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (ok)
		return x;
	X509_free(x);
	return NULL;
}

/* an extension whose value is the DER (or raw bytes) der */
static bool
add_raw_ext(X509 *x, const char *oid, const uint8_t *der, int n)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e = NULL;
	bool ok = obj && os && ASN1_OCTET_STRING_set(os, der, n) &&
		  (e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) &&
		  X509_add_ext(x, e, -1) == 1;

	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return ok;
}

static bool
add_int_ext(X509 *x, const char *oid, long v)
{
	ASN1_INTEGER *i = ASN1_INTEGER_new();
	uint8_t *der = NULL;
	int n = i && ASN1_INTEGER_set(i, v) ? i2d_ASN1_INTEGER(i, &der) : -1;
	bool ok = n > 0 && add_raw_ext(x, oid, der, n);

	OPENSSL_free(der);
	ASN1_INTEGER_free(i);
	return ok;
}

static bool
add_ia5_ext(X509 *x, const char *oid, const char *s)
{
	ASN1_IA5STRING *a = ASN1_IA5STRING_new();
	uint8_t *der = NULL;
	int n = a && ASN1_STRING_set(a, s, -1) ?
		i2d_ASN1_IA5STRING(a, &der) : -1;
	bool ok = n > 0 && add_raw_ext(x, oid, der, n);

	OPENSSL_free(der);
	ASN1_IA5STRING_free(a);
	return ok;
}

/* AMD's VCEK extensions (VCEK Certificate and KDS Interface
 * Specification), in the order KDS writes them */
static bool
vcek_extensions(X509 *x, const uint8_t hwid[64])
{
	static const struct { const char *oid; unsigned byte; } tcb[] = {
		{ AMD_OID "3.1", 0 }, { AMD_OID "3.2", 1 },
		{ AMD_OID "3.4", 2 }, { AMD_OID "3.5", 3 },
		{ AMD_OID "3.6", 4 }, { AMD_OID "3.7", 5 },
		{ AMD_OID "3.3", 6 }, { AMD_OID "3.8", 7 },
	};

	if (!add_int_ext(x, AMD_OID "1", 0) ||	/* structVersion */
	    !add_ia5_ext(x, AMD_OID "2", PRODUCT_NAME))
		return false;
	for (size_t i = 0; i < sizeof(tcb) / sizeof(tcb[0]); i++)
		if (!add_int_ext(x, tcb[i].oid, sim_tcb[tcb[i].byte]))
			return false;
	return add_raw_ext(x, AMD_OID "4", hwid, 64);
}

typedef X509 *(*make_fn)(struct nacre_snp_sim *, EVP_PKEY *, time_t);

static X509 *
make_ark(struct nacre_snp_sim *s, EVP_PKEY *k, time_t now)
{
	(void)s;
	return sign_pss(nacre_tee_sim_cert_new(k, SIM_OU, ARK_CN, NULL,
					       now - DAY, now + 25 * YEAR,
					       "critical,CA:TRUE,pathlen:1",
					       "critical,keyCertSign,cRLSign"),
			k);
}

static X509 *
make_ask(struct nacre_snp_sim *s, EVP_PKEY *k, time_t now)
{
	return sign_pss(nacre_tee_sim_cert_new(k, SIM_OU, ASK_CN, s->ark,
					       now - DAY, now + 25 * YEAR,
					       "critical,CA:TRUE,pathlen:0",
					       "critical,keyCertSign"),
			s->ark_key);
}

static X509 *
make_vcek(struct nacre_snp_sim *s, EVP_PKEY *k, time_t now)
{
	X509 *x = nacre_tee_sim_cert_new(k, SIM_OU, VCEK_CN, s->ask, now - DAY,
					 now + 7 * YEAR, "critical,CA:FALSE",
					 "critical,digitalSignature");
	uint8_t hwid[64];

	if (x && (RAND_bytes(hwid, sizeof(hwid)) != 1 ||
		  !vcek_extensions(x, hwid))) {
		X509_free(x);
		return NULL;
	}
	return sign_pss(x, s->ask_key);
}

/* kept while issued by the issuer loaded, verifying, and not about to
 * expire */
static bool
still_good(X509 *x, X509 *issuer, EVP_PKEY *issuer_key, time_t now)
{
	time_t later = now + CERT_RENEW;
	bool ok = X509_check_issued(issuer, x) == X509_V_OK &&
		  X509_verify(x, issuer_key) == 1 &&
		  X509_cmp_time(X509_get0_notAfter(x), &later) > 0 &&
		  X509_cmp_time(X509_get0_notBefore(x), &now) < 0;

	ERR_clear_error();
	return ok;
}

static EVP_PKEY *
new_key(bool rsa)
{
	EVP_PKEY *k = rsa ? EVP_RSA_gen(4096) : EVP_EC_gen("P-384");

	ERR_clear_error();
	return k;
}

/* dir/file loaded, or made and saved; *made: remake what it signs */
static int
load_or_make(struct nacre_snp_sim *s, const char *file, bool rsa, X509 **x,
	     EVP_PKEY **k, X509 *issuer, EVP_PKEY *issuer_key, make_fn make,
	     bool *made, time_t now, char *err, size_t errlen)
{
	int rc = nacre_tee_sim_load(s->dir, file, x, k, err, errlen);

	if (rc < 0)
		return -1;
	if (rc > 0 && !*made && (rsa ? is_rsa4096(*k) : is_p384(*k)) &&
	    still_good(*x, issuer ? issuer : *x, issuer_key ? issuer_key : *k,
		       now))
		return 0;
	X509_free(*x);
	*x = NULL;
	/* an RSA key already on disk is kept: making one takes seconds */
	if (!(rc > 0 && rsa && is_rsa4096(*k))) {
		EVP_PKEY_free(*k);
		*k = new_key(rsa);
	}
	if (!*k || !(*x = make(s, *k, now))) {
		nacre_seterr(err, errlen, "cannot make the simulated SEV-SNP "
			     "key %s/%s (out of memory?)", s->dir, file);
		return -1;
	}
	*made = true;
	return nacre_tee_sim_save(s->dir, file, *x, *k, err, errlen);
}

static int
der_of(X509 *x, uint8_t **der, size_t *len)
{
	int n = i2d_X509(x, der);

	if (n <= 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

/* ark.crt, vcek.der and cert_chain.pem, for verifiers */
static int
publish(struct nacre_snp_sim *s, char *err, size_t errlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int rc = -1;

	if (!b || PEM_write_bio_X509(b, s->ask) != 1 ||
	    PEM_write_bio_X509(b, s->ark) != 1 ||
	    (n = BIO_get_mem_data(b, &data)) <= 0) {
		nacre_seterr(err, errlen, "cannot encode the simulated SEV-SNP "
			     "certificates");
		goto out;
	}
	if (nacre_tee_sim_save_cert(s->dir, NACRE_SNP_SIM_ARK_CRT, s->ark, err,
				    errlen) == 0 &&
	    nacre_tee_sim_write(s->dir, NACRE_SNP_SIM_VCEK_DER, s->vcek_der,
				s->vcek_der_len, 0644, err, errlen) == 0 &&
	    nacre_tee_sim_write(s->dir, NACRE_SNP_SIM_CHAIN, data, (size_t)n,
				0644, err, errlen) == 0)
		rc = 0;
out:
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

static int
load_keys(struct nacre_snp_sim *s, char *err, size_t errlen)
{
	time_t now = time(NULL);
	bool made = false;
	char e[NACRE_ERRLEN];

	if (load_or_make(s, NACRE_SNP_SIM_ARK_KEY, true, &s->ark, &s->ark_key,
			 NULL, NULL, make_ark, &made, now, err, errlen) < 0 ||
	    load_or_make(s, NACRE_SNP_SIM_ASK_KEY, true, &s->ask, &s->ask_key,
			 s->ark, s->ark_key, make_ask, &made, now, err,
			 errlen) < 0 ||
	    load_or_make(s, NACRE_SNP_SIM_VCEK_KEY, false, &s->vcek,
			 &s->vcek_key, s->ask, s->ask_key, make_vcek, &made,
			 now, err, errlen) < 0)
		return -1;
	if (nacre_snp_vcek_extensions(s->vcek, &s->info, e, sizeof(e)) < 0) {
		nacre_seterr(err, errlen, "the simulated VCEK %s/%s is unusable "
			     "(%s); delete it to make a new one", s->dir,
			     NACRE_SNP_SIM_VCEK_KEY, e);
		return -1;
	}
	if (der_of(s->ark, &s->ark_der, &s->ark_der_len) < 0 ||
	    der_of(s->ask, &s->ask_der, &s->ask_der_len) < 0 ||
	    der_of(s->vcek, &s->vcek_der, &s->vcek_der_len) < 0 ||
	    nacre_tee_sim_cert_sha256_hex(s->ark, s->ark_hex) < 0) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	return publish(s, err, errlen);
}

/* ---------------------------------------------------------------------- */
/* The report. */

static void
put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static void
fill_report(const struct nacre_snp_sim *s, const uint8_t rd[64], uint8_t *r)
{
	memset(r, 0, NACRE_SNP_REPORT_LEN);
	put_le32(r + 0x000, 3);			/* VERSION */
	put_le64(r + 0x008, SIM_POLICY);
	put_le32(r + 0x034, NACRE_SNP_SIG_ECDSA_P384_SHA384);
	memcpy(r + 0x038, s->info.tcb, 8);	/* CURRENT_TCB */
	put_le64(r + 0x040, SIM_PLATFORM_INFO);
	/* 0x048 SIGNER_INFO 0: VCEK, chip id shown; 0x030 VMPL 0 */
	memcpy(r + 0x050, rd, 64);
	memcpy(r + 0x090, s->measurement, 48);
	memcpy(r + 0x140, s->report_id, 32);
	memset(r + 0x160, 0xff, 32);		/* REPORT_ID_MA: none */
	memcpy(r + 0x180, s->info.tcb, 8);	/* REPORTED_TCB */
	memcpy(r + 0x188, sim_cpuid, 3);
	memcpy(r + 0x1a0, s->info.hwid, 64);	/* CHIP_ID */
	memcpy(r + 0x1e0, s->info.tcb, 8);	/* COMMITTED_TCB */
	memcpy(r + 0x1e8, sim_fw, 3);		/* CURRENT build/minor/major */
	memcpy(r + 0x1ec, sim_fw, 3);		/* COMMITTED */
	memcpy(r + 0x1f0, s->info.tcb, 8);	/* LAUNCH_TCB */
}

/* ECDSA P-384 / SHA-384 over [0, 0x2a0); R and S little-endian, 72 bytes
 * each, at 0x2a0 and 0x2e8 */
static int
sign_report(EVP_PKEY *key, uint8_t *r)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[128];
	const uint8_t *p = der;
	size_t n = sizeof(der);
	ECDSA_SIG *sig = NULL;
	int rc = -1;

	if (md && EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) == 1 &&
	    EVP_DigestSign(md, der, &n, r, NACRE_SNP_SIGNED_LEN) == 1 &&
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)n)) &&
	    BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), r + 0x2a0,
			   NACRE_SNP_SIG_COMPONENT_LEN) > 0 &&
	    BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), r + 0x2e8,
			   NACRE_SNP_SIG_COMPONENT_LEN) > 0)
		rc = 0;
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

int
nacre_snp_sim_report(struct nacre_snp_sim *s, const uint8_t report_data[64],
		     uint8_t **report, size_t *len, uint8_t **certs,
		     size_t *certs_len, char *err, size_t errlen)
{
	struct nacre_snp_certtable t = {
		.vcek = s->vcek_der, .vcek_len = s->vcek_der_len,
		.ask = s->ask_der, .ask_len = s->ask_der_len,
		.ark = s->ark_der, .ark_len = s->ark_der_len,
	};
	uint8_t *r = malloc(NACRE_SNP_REPORT_LEN);

	*report = NULL;
	*len = 0;
	if (certs) {
		*certs = NULL;
		*certs_len = 0;
	}
	if (!r) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	fill_report(s, report_data, r);
	if (sign_report(s->vcek_key, r) < 0) {
		free(r);
		nacre_seterr(err, errlen, "cannot sign the simulated SEV-SNP "
			     "report (out of memory?)");
		return -1;
	}
	if (certs && nacre_snp_certtable_encode(&t, certs, certs_len, err,
						errlen) < 0) {
		free(r);
		return -1;
	}
	*report = r;
	*len = NACRE_SNP_REPORT_LEN;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Open, close. */

void
nacre_snp_sim_free(struct nacre_snp_sim *s)
{
	if (!s)
		return;
	X509_free(s->ark);
	X509_free(s->ask);
	X509_free(s->vcek);
	EVP_PKEY_free(s->ark_key);
	EVP_PKEY_free(s->ask_key);
	EVP_PKEY_free(s->vcek_key);
	OPENSSL_free(s->ark_der);
	OPENSSL_free(s->ask_der);
	OPENSSL_free(s->vcek_der);
	free(s->dir);
	free(s);
}

struct nacre_snp_sim *
nacre_snp_sim_open(const char *dir, const uint8_t measurement[48],
		   char *err, size_t errlen)
{
	struct nacre_snp_sim *s = calloc(1, sizeof(*s));
	int fd, rc;

	if (!s || !dir || !*dir || !(s->dir = strdup(dir))) {
		nacre_seterr(err, errlen, s ? "the simulated SEV-SNP needs a "
			     "directory for its keys (e.g. "
			     "/var/lib/nacre/snp-sim)" : "out of memory");
		nacre_snp_sim_free(s);
		return NULL;
	}
	if (measurement)
		memcpy(s->measurement, measurement, 48);
	if (RAND_bytes(s->report_id, sizeof(s->report_id)) != 1) {
		nacre_seterr(err, errlen, "the random generator failed; check "
			     "that /dev/urandom is readable");
		nacre_snp_sim_free(s);
		return NULL;
	}
	if (nacre_tee_sim_mkdir(dir, err, errlen) < 0 ||
	    (fd = nacre_tee_sim_lock(dir, err, errlen)) < 0) {
		nacre_snp_sim_free(s);
		return NULL;
	}
	rc = load_keys(s, err, errlen);
	close(fd);
	if (rc < 0) {
		nacre_snp_sim_free(s);
		return NULL;
	}
	return s;
}

const uint8_t *
nacre_snp_sim_ark_der(const struct nacre_snp_sim *s, size_t *len)
{
	*len = s->ark_der_len;
	return s->ark_der;
}

const char *
nacre_snp_sim_ark_sha256_hex(const struct nacre_snp_sim *s)
{
	return s->ark_hex;
}
