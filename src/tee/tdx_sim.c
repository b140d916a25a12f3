/*
 * tdx_sim.c: a simulated Intel TDX platform (TDX module + TD quoting
 * enclave + Intel's PCS) for machines without TDX. It makes TDX quotes
 * version 4 laid out byte for byte as Intel's DCAP "Quote Format" says
 * (the layout src/verify/tdx_quote.c reads), signed by a simulated
 * attestation key, vouched for by a simulated QE report signed by a
 * simulated PCK certificate (with Intel's SGX extension) under a
 * simulated SGX root; and the PCS collateral for it (TCB Info v3, TD_QE
 * identity, CRLs) signed under the same root. Only the trust anchor
 * differs from real TDX: libnacre's verifier trusts the sim only when
 * its caller names the root (struct nacre_tdx_policy.root).
 * Key files and certificates: sim_store.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "nacred.h"
#include "tdx.h"
#include "tee/tee.h"

#define SIM_OU "SIMULATED - not Intel"
#define ROOT_CN "nacre-sim SGX Root CA"
#define PCK_CA_CN "nacre-sim SGX PCK Platform CA"
#define PCK_CN "Intel SGX PCK Certificate"	/* what verifiers look for */
#define TCB_CN "Intel SGX TCB Signing"		/* likewise */
#define SGX_OID "1.2.840.113741.1.13.1"
#define DAY (24L * 3600)
#define YEAR (365 * DAY)
#define COLLATERAL_LIFE (30 * DAY)	/* as Intel PCS's nextUpdate */
#define COLLATERAL_RENEW (7 * DAY)	/* re-signed when less is left */
#define CERT_RENEW (30 * DAY)		/* a certificate closer to expiry
					 * is made anew */
#define QE_AUTH_LEN 32

/* the simulated platform: TCB of the PCK certificate and the TD */
static const uint8_t sim_fmspc[6] = { 0x50, 0x80, 0x6f, 0x00, 0x00, 0x00 };
static const uint8_t sim_pceid[2] = { 0x00, 0x00 };
static const uint8_t sim_sgx_comp[16] = { 5, 5, 2, 2, 3, 1, 0, 3 };
#define SIM_PCESVN 11
static const uint8_t sim_tee_tcb_svn[16] = { 3, 0, 5 };
/* TDATTRIBUTES: SEPT_VE_DISABLE (bit 28), DEBUG (bit 0) clear; XFAM */
static const uint8_t sim_td_attributes[8] = { 0, 0, 0, 0x10 };
static const uint8_t sim_xfam[8] = { 0xe7, 0x1a, 0x06 };
/* the QE: ATTRIBUTES INIT | MODE64BIT (no DEBUG), ISVPRODID 2 (TD_QE) */
static const uint8_t qe_attributes[16] = { 0x11 };
#define QE_ISVPRODID 2
#define QE_ISVSVN 4
/* Intel's QE vendor id 939A7233-F79C-4CA9-940A-0DB3957F0607 */
static const uint8_t intel_qe_vendor[16] = {
	0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
	0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
};

struct nacre_tdx_sim {
	char *dir;
	EVP_PKEY *root_key, *ca_key, *pck_key, *tcb_key, *att_key;
	X509 *root, *ca, *pck, *tcb;
	char root_hex[65];
	uint8_t mrtd[48];
	uint8_t mrseam[48];
	uint8_t qe_mrenclave[32];
	uint8_t qe_mrsigner[32];
	uint8_t att_pub[64];		/* x || y */
	char *pck_pem;			/* leaf, platform CA, root; with NUL */
	size_t pck_pem_len;
	struct nacre_tdx_pck_ext ext;
	/* the collateral last written */
	char *tcb_info, *qe_identity, *chain_pem;
	uint8_t *pck_crl, *root_crl;
	size_t tcb_info_len, qe_identity_len, chain_pem_len, pck_crl_len,
	       root_crl_len;
	time_t next_update;
};

/* ---------------------------------------------------------------------- */
/* Small pieces. */

static void
put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static void
hex_upper(const uint8_t *p, size_t n, char *out)
{
	nacre_hex_encode(p, n, out);
	for (size_t i = 0; i < 2 * n; i++)
		if (out[i] >= 'a' && out[i] <= 'f')
			out[i] = (char)(out[i] - 'a' + 'A');
}

static void
iso_time(time_t t, char out[32])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* SHA-256 or SHA-384 of a label: the sim's fixed identities */
static void
label_digest(const char *label, uint8_t *out, size_t n)
{
	if (n == 32)
		SHA256((const uint8_t *)label, strlen(label), out);
	else
		SHA384((const uint8_t *)label, strlen(label), out);
}

/* ECDSA-SHA256 of data by key as raw r || s (32 bytes each) */
static int
sign_rs(EVP_PKEY *key, const void *data, size_t len, uint8_t rs[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[80];
	const uint8_t *p = der;
	size_t n = sizeof(der);
	ECDSA_SIG *sig = NULL;
	int rc = -1;

	if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(md, der, &n, data, len) == 1 &&
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)n)) &&
	    BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32) == 32 &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32) == 32)
		rc = 0;
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

/* the P-256 public key as x || y */
static int
p256_xy(EVP_PKEY *k, uint8_t xy[64])
{
	uint8_t pt[65];
	size_t n = 0;

	if (EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", pt,
					    sizeof(pt), &n) != 1 ||
	    n != 65 || pt[0] != 0x04) {
		ERR_clear_error();
		return -1;
	}
	memcpy(xy, pt + 1, 64);
	return 0;
}

static bool
is_p256(EVP_PKEY *k)
{
	char group[32];
	size_t n;

	return k && EVP_PKEY_is_a(k, "EC") &&
	       EVP_PKEY_get_utf8_string_param(k, "group", group,
					      sizeof(group), &n) == 1 &&
	       strcmp(group, "prime256v1") == 0;
}

/* ---------------------------------------------------------------------- */
/* DER for the SGX extension (Intel SGX PCK Certificate and CRL Profile):
 * SEQUENCE OF SEQUENCE { OID, value }. */

struct der {
	uint8_t b[2048];
	size_t n;
	bool bad;
};

static void
der_tlv(struct der *d, uint8_t tag, const void *p, size_t n)
{
	uint8_t h[4] = { tag };
	size_t hl = 2;

	if (n < 128) {
		h[1] = (uint8_t)n;
	} else if (n < 256) {
		h[1] = 0x81;
		h[2] = (uint8_t)n;
		hl = 3;
	} else {
		h[1] = 0x82;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hl = 4;
	}
	if (n > 65535 || d->n + hl + n > sizeof(d->b)) {
		d->bad = true;
		return;
	}
	memcpy(d->b + d->n, h, hl);
	memcpy(d->b + d->n + hl, p, n);
	d->n += hl + n;
}

static void
der_oid(struct der *d, const char *txt)
{
	ASN1_OBJECT *o = OBJ_txt2obj(txt, 1);
	uint8_t *p = NULL;
	int n = o ? i2d_ASN1_OBJECT(o, &p) : -1;

	if (n > 0 && d->n + (size_t)n <= sizeof(d->b)) {
		memcpy(d->b + d->n, p, (size_t)n);
		d->n += (size_t)n;
	} else {
		d->bad = true;
	}
	OPENSSL_free(p);
	ASN1_OBJECT_free(o);
}

/* a non-negative INTEGER (tag 0x02) or ENUMERATED (0x0a) */
static void
der_uint(struct der *d, uint8_t tag, unsigned v)
{
	uint8_t b[3] = { 0, (uint8_t)(v >> 8), (uint8_t)v };
	size_t i = 0;

	while (i < 2 && b[i] == 0 && !(b[i + 1] & 0x80))
		i++;
	der_tlv(d, tag, b + i, 3 - i);
}

/* SEQUENCE { OID prefix.k, value } appended to d; value is DER */
static void
der_pair(struct der *d, const char *oid, const struct der *value)
{
	struct der p = { .n = 0 };

	der_oid(&p, oid);
	if (p.n + value->n > sizeof(p.b) || value->bad) {
		d->bad = true;
		return;
	}
	memcpy(p.b + p.n, value->b, value->n);
	p.n += value->n;
	der_tlv(d, 0x30, p.b, p.n);
	d->bad |= p.bad;
}

static void
sgx_oid(char *out, size_t n, const char *suffix)
{
	snprintf(out, n, "%s.%s", SGX_OID, suffix);
}

static void
sgx_tcb(struct der *tcb)
{
	char oid[64], k[8];
	struct der v;

	for (unsigned i = 1; i <= 18; i++) {
		v = (struct der){ .n = 0 };
		if (i <= 16)
			der_uint(&v, 0x02, sim_sgx_comp[i - 1]);
		else if (i == 17)
			der_uint(&v, 0x02, SIM_PCESVN);
		else
			der_tlv(&v, 0x04, sim_sgx_comp, 16); /* CPUSVN */
		snprintf(k, sizeof(k), "2.%u", i);
		sgx_oid(oid, sizeof(oid), k);
		der_pair(tcb, oid, &v);
	}
}

/* the extension's value: PPID, TCB, PCE-ID, FMSPC, SGX type (Scalable) */
static int
sgx_extension(X509 *x, const uint8_t ppid[16])
{
	struct der top = { .n = 0 }, v, tcb = { .n = 0 };
	char oid[64];
	ASN1_OBJECT *obj;
	ASN1_OCTET_STRING *os;
	X509_EXTENSION *e = NULL;
	int ok;

	v = (struct der){ .n = 0 };
	der_tlv(&v, 0x04, ppid, 16);
	sgx_oid(oid, sizeof(oid), "1");
	der_pair(&top, oid, &v);
	sgx_tcb(&tcb);
	v = (struct der){ .n = 0 };
	der_tlv(&v, 0x30, tcb.b, tcb.n);
	v.bad |= tcb.bad;
	sgx_oid(oid, sizeof(oid), "2");
	der_pair(&top, oid, &v);
	v = (struct der){ .n = 0 };
	der_tlv(&v, 0x04, sim_pceid, 2);
	sgx_oid(oid, sizeof(oid), "3");
	der_pair(&top, oid, &v);
	v = (struct der){ .n = 0 };
	der_tlv(&v, 0x04, sim_fmspc, 6);
	sgx_oid(oid, sizeof(oid), "4");
	der_pair(&top, oid, &v);
	v = (struct der){ .n = 0 };
	der_uint(&v, 0x0a, 1);
	sgx_oid(oid, sizeof(oid), "5");
	der_pair(&top, oid, &v);
	v = (struct der){ .n = 0 };
	der_tlv(&v, 0x30, top.b, top.n);
	if (top.bad || v.bad)
		return -1;
	obj = OBJ_txt2obj(SGX_OID, 1);
	os = ASN1_OCTET_STRING_new();
	ok = obj && os && ASN1_OCTET_STRING_set(os, v.b, (int)v.n) &&
	     (e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) &&
	     X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return ok ? 0 : -1;
}

/* ---------------------------------------------------------------------- */
/* Keys and certificates. */

static X509 *
sign_cert(X509 *x, EVP_PKEY *issuer_key)
{
	if (x && X509_sign(x, issuer_key, EVP_sha256()) > 0)
		return x;
	X509_free(x);
	return NULL;
}

static X509 *
make_root(EVP_PKEY *k, time_t now)
{
	return sign_cert(nacre_tee_sim_cert_new(k, SIM_OU, ROOT_CN, NULL,
						now - DAY, now + 30 * YEAR,
						"critical,CA:TRUE,pathlen:1",
						"critical,keyCertSign,cRLSign"),
			 k);
}

static X509 *
make_ca(struct nacre_tdx_sim *s, EVP_PKEY *k, time_t now)
{
	return sign_cert(nacre_tee_sim_cert_new(k, SIM_OU, PCK_CA_CN, s->root,
						now - DAY, now + 25 * YEAR,
						"critical,CA:TRUE,pathlen:0",
						"critical,keyCertSign,cRLSign"),
			 s->root_key);
}

static X509 *
make_pck(struct nacre_tdx_sim *s, EVP_PKEY *k, time_t now)
{
	X509 *x = nacre_tee_sim_cert_new(k, SIM_OU, PCK_CN, s->ca, now - DAY,
					 now + 7 * YEAR, "critical,CA:FALSE",
					 "critical,digitalSignature,"
					 "nonRepudiation");
	uint8_t ppid[16];

	if (x && (RAND_bytes(ppid, sizeof(ppid)) != 1 ||
		  sgx_extension(x, ppid) < 0)) {
		X509_free(x);
		return NULL;
	}
	return sign_cert(x, s->ca_key);
}

static X509 *
make_tcb(struct nacre_tdx_sim *s, EVP_PKEY *k, time_t now)
{
	return sign_cert(nacre_tee_sim_cert_new(k, SIM_OU, TCB_CN, s->root,
						now - DAY, now + 7 * YEAR,
						"critical,CA:FALSE",
						"critical,digitalSignature,"
						"nonRepudiation"),
			 s->root_key);
}

/* a loaded certificate is kept while its issuer is the one loaded, it
 * verifies, and it has more than CERT_RENEW left */
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

typedef X509 *(*make_fn)(struct nacre_tdx_sim *, EVP_PKEY *, time_t);

/* dir/file loaded, or made (signed by the issuer, or by itself when
 * issuer_key is NULL) and saved; *made tells the caller to remake what
 * this one signs */
static int
load_or_make(struct nacre_tdx_sim *s, const char *file, X509 **x,
	     EVP_PKEY **k, X509 *issuer, EVP_PKEY *issuer_key, make_fn make,
	     bool *made, time_t now, char *err, size_t errlen)
{
	int rc = nacre_tee_sim_load(s->dir, file, x, k, err, errlen);

	if (rc < 0)
		return -1;
	if (rc > 0 && !*made && is_p256(*k) &&
	    still_good(*x, issuer ? issuer : *x, issuer_key ? issuer_key : *k,
		       now))
		return 0;
	X509_free(*x);
	EVP_PKEY_free(*k);
	*x = NULL;
	if (!(*k = EVP_EC_gen("P-256")) ||
	    !(*x = make ? make(s, *k, now) : make_root(*k, now))) {
		ERR_clear_error();
		nacre_seterr(err, errlen, "cannot make the simulated TDX key "
			     "%s/%s (out of memory?)", s->dir, file);
		return -1;
	}
	*made = true;
	return nacre_tee_sim_save(s->dir, file, *x, *k, err, errlen);
}

static int
load_att_key(struct nacre_tdx_sim *s, char *err, size_t errlen)
{
	int rc = nacre_tee_sim_load(s->dir, NACRE_TDX_SIM_ATT_KEY, NULL,
				    &s->att_key, err, errlen);

	if (rc < 0)
		return -1;
	if (rc > 0 && is_p256(s->att_key) && p256_xy(s->att_key,
						     s->att_pub) == 0)
		return 0;
	EVP_PKEY_free(s->att_key);
	if (!(s->att_key = EVP_EC_gen("P-256")) ||
	    p256_xy(s->att_key, s->att_pub) < 0) {
		nacre_seterr(err, errlen, "cannot make the simulated TDX "
			     "attestation key (out of memory?)");
		return -1;
	}
	return nacre_tee_sim_save(s->dir, NACRE_TDX_SIM_ATT_KEY, NULL,
				  s->att_key, err, errlen);
}

static int
load_keys(struct nacre_tdx_sim *s, char *err, size_t errlen)
{
	time_t now = time(NULL);
	bool made = false, tcb_made;

	if (load_or_make(s, NACRE_TDX_SIM_ROOT_KEY, &s->root, &s->root_key,
			 NULL, NULL, NULL, &made, now, err, errlen) < 0)
		return -1;
	tcb_made = made;
	if (load_or_make(s, NACRE_TDX_SIM_PCK_CA_KEY, &s->ca, &s->ca_key,
			 s->root, s->root_key, make_ca, &made, now, err,
			 errlen) < 0 ||
	    load_or_make(s, NACRE_TDX_SIM_PCK_KEY, &s->pck, &s->pck_key,
			 s->ca, s->ca_key, make_pck, &made, now, err,
			 errlen) < 0 ||
	    load_or_make(s, NACRE_TDX_SIM_TCB_KEY, &s->tcb, &s->tcb_key,
			 s->root, s->root_key, make_tcb, &tcb_made, now, err,
			 errlen) < 0 ||
	    load_att_key(s, err, errlen) < 0)
		return -1;
	return nacre_tee_sim_save_cert(s->dir, NACRE_TDX_SIM_ROOT_CRT, s->root,
				       err, errlen);
}

/* PEM of the certificates, in order, then a NUL (as Intel's QE ends the
 * PCK chain) when nul */
static char *
pem_chain(X509 *const *certs, size_t n, bool nul, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long m;
	bool ok = b != NULL;

	for (size_t i = 0; ok && i < n; i++)
		ok = PEM_write_bio_X509(b, certs[i]) == 1;
	if (ok && (m = BIO_get_mem_data(b, &data)) > 0 &&
	    (out = malloc((size_t)m + 1))) {
		memcpy(out, data, (size_t)m);
		out[m] = '\0';
		*len = (size_t)m + (nul ? 1 : 0);
	}
	BIO_free(b);
	return out;
}

/* ---------------------------------------------------------------------- */
/* Collateral: TCB Info, QE Identity, CRLs. */

static json_t *
components(const uint8_t v[16])
{
	json_t *a = json_array();

	for (int i = 0; a && i < 16; i++)
		json_array_append_new(a, json_pack("{s:i}", "svn", v[i]));
	return a;
}

static json_t *
tcb_level(const uint8_t sgx[16], unsigned pcesvn, const uint8_t tdx[16],
	  const char *date, const char *status, const char *advisory)
{
	json_t *l = json_pack("{s:{s:o,s:i,s:o},s:s,s:s}", "tcb",
			      "sgxtcbcomponents", components(sgx), "pcesvn",
			      (int)pcesvn, "tdxtcbcomponents", components(tdx),
			      "tcbDate", date, "tcbStatus", status);

	if (l && advisory)
		json_object_set_new(l, "advisoryIDs",
				    json_pack("[s]", advisory));
	return l;
}

static json_t *
tcb_info_body(time_t issue)
{
	char a[32], b[32], fmspc[13], pceid[5], zero48[97];
	uint8_t old_sgx[16], old_tdx[16];
	static const uint8_t z[48];

	iso_time(issue, a);
	iso_time(issue + COLLATERAL_LIFE, b);
	nacre_hex_encode(sim_fmspc, 6, fmspc);
	nacre_hex_encode(sim_pceid, 2, pceid);
	hex_upper(z, 48, zero48);
	memcpy(old_sgx, sim_sgx_comp, 16);
	memcpy(old_tdx, sim_tee_tcb_svn, 16);
	old_sgx[0] = 2;		/* an older microcode: out of date */
	old_tdx[2] = 2;
	return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:i,s:i,"
			 "s:{s:s,s:s,s:s},s:[o,o]}",
			 "id", "TDX", "version", 3, "issueDate", a,
			 "nextUpdate", b, "fmspc", fmspc, "pceId", pceid,
			 "tcbType", 0, "tcbEvaluationDataNumber", 17,
			 "tdxModule", "mrsigner", zero48, "attributes",
			 "0000000000000000", "attributesMask",
			 "FFFFFFFFFFFFFFFF", "tcbLevels",
			 tcb_level(sim_sgx_comp, SIM_PCESVN, sim_tee_tcb_svn,
				   "2024-03-13T00:00:00Z", "UpToDate", NULL),
			 tcb_level(old_sgx, 5, old_tdx,
				   "2018-01-04T00:00:00Z", "OutOfDate",
				   "INTEL-SA-00000"));
}

static json_t *
qe_identity_body(const struct nacre_tdx_sim *s, time_t issue)
{
	char a[32], b[32], mrsigner[65], attr[33];

	iso_time(issue, a);
	iso_time(issue + COLLATERAL_LIFE, b);
	hex_upper(s->qe_mrsigner, 32, mrsigner);
	hex_upper(qe_attributes, 16, attr);
	return json_pack("{s:s,s:i,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:i,"
			 "s:[{s:{s:i},s:s,s:s}]}",
			 "id", "TD_QE", "version", 2, "issueDate", a,
			 "nextUpdate", b, "tcbEvaluationDataNumber", 17,
			 "miscselect", "00000000", "miscselectMask", "FFFFFFFF",
			 "attributes", attr, "attributesMask",
			 "FBFFFFFFFFFFFFFF0000000000000000", "mrsigner",
			 mrsigner, "isvprodid", QE_ISVPRODID, "tcbLevels",
			 "tcb", "isvsvn", QE_ISVSVN, "tcbDate",
			 "2024-03-13T00:00:00Z", "tcbStatus", "UpToDate");
}

/* {"KEY":BODY,"signature":"r||s hex"}, the signature over BODY's bytes */
static char *
signed_doc(json_t *body, const char *key, EVP_PKEY *k, size_t *len)
{
	char *text = body ? json_dumps(body, JSON_COMPACT |
				       JSON_PRESERVE_ORDER) : NULL;
	char hex[129], *doc = NULL;
	uint8_t rs[64];
	int n;

	json_decref(body);
	if (!text || sign_rs(k, text, strlen(text), rs) < 0) {
		free(text);
		return NULL;
	}
	nacre_hex_encode(rs, 64, hex);
	n = asprintf(&doc, "{\"%s\":%s,\"signature\":\"%s\"}", key, text,
		     hex);
	free(text);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return doc;
}

static bool
crl_ext(X509_CRL *crl, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	bool ok;

	X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
	if (!(e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)))
		return false;
	ok = X509_CRL_add_ext(crl, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok;
}

static bool
crl_number(X509_CRL *crl, long n)
{
	ASN1_INTEGER *i = ASN1_INTEGER_new();
	bool ok = i && ASN1_INTEGER_set(i, n) &&
		  X509_CRL_add1_ext_i2d(crl, NID_crl_number, i, 0, 0) == 1;

	ASN1_INTEGER_free(i);
	return ok;
}

/* an empty CRL v2 by issuer, as PCS serves them (DER) */
static uint8_t *
make_crl(X509 *issuer, EVP_PKEY *key, time_t issue, size_t *len)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *a = ASN1_TIME_set(NULL, issue);
	ASN1_TIME *b = ASN1_TIME_set(NULL, issue + COLLATERAL_LIFE);
	uint8_t *der = NULL;
	int n = -1;

	if (crl && a && b && X509_CRL_set_version(crl, 1) &&
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) &&
	    X509_CRL_set1_lastUpdate(crl, a) &&
	    X509_CRL_set1_nextUpdate(crl, b) &&
	    crl_number(crl, 1) &&
	    crl_ext(crl, issuer, NID_authority_key_identifier,
		    "keyid:always") &&
	    X509_CRL_sort(crl) && X509_CRL_sign(crl, key, EVP_sha256()) > 0)
		n = i2d_X509_CRL(crl, &der);
	X509_CRL_free(crl);
	ASN1_TIME_free(a);
	ASN1_TIME_free(b);
	ERR_clear_error();
	if (n <= 0)
		return NULL;
	*len = (size_t)n;
	return der;
}

static void
drop_collateral(struct nacre_tdx_sim *s)
{
	free(s->tcb_info);
	free(s->qe_identity);
	free(s->chain_pem);
	OPENSSL_free(s->pck_crl);
	OPENSSL_free(s->root_crl);
	s->tcb_info = s->qe_identity = s->chain_pem = NULL;
	s->pck_crl = s->root_crl = NULL;
	s->next_update = 0;
}

static int
write_collateral(struct nacre_tdx_sim *s, char *err, size_t errlen)
{
	const struct { const char *name; const void *p; size_t n; } f[] = {
		{ NACRE_TDX_SIM_TCB_CHAIN, s->chain_pem, s->chain_pem_len },
		{ NACRE_TDX_SIM_PCK_CRL, s->pck_crl, s->pck_crl_len },
		{ NACRE_TDX_SIM_ROOT_CRL, s->root_crl, s->root_crl_len },
		{ NACRE_TDX_SIM_TCB_INFO, s->tcb_info, s->tcb_info_len },
		{ NACRE_TDX_SIM_QE_IDENTITY, s->qe_identity,
		  s->qe_identity_len },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (nacre_tee_sim_write(s->dir, f[i].name, f[i].p, f[i].n, 0644,
					err, errlen) < 0)
			return -1;
	return 0;
}

/* new collateral, issued a minute ago (clock skew), in memory and in the
 * dir */
static int
make_collateral(struct nacre_tdx_sim *s, char *err, size_t errlen)
{
	time_t issue = time(NULL) - 60;
	X509 *chain[2] = { s->tcb, s->root };

	drop_collateral(s);
	if (!(s->chain_pem = pem_chain(chain, 2, false, &s->chain_pem_len)) ||
	    !(s->pck_crl = make_crl(s->ca, s->ca_key, issue,
				    &s->pck_crl_len)) ||
	    !(s->root_crl = make_crl(s->root, s->root_key, issue,
				     &s->root_crl_len)) ||
	    !(s->tcb_info = signed_doc(tcb_info_body(issue), "tcbInfo",
				       s->tcb_key, &s->tcb_info_len)) ||
	    !(s->qe_identity = signed_doc(qe_identity_body(s, issue),
					  "enclaveIdentity", s->tcb_key,
					  &s->qe_identity_len))) {
		drop_collateral(s);
		nacre_seterr(err, errlen, "cannot sign the simulated TDX "
			     "collateral (out of memory?)");
		return -1;
	}
	if (write_collateral(s, err, errlen) < 0) {
		drop_collateral(s);
		return -1;
	}
	s->next_update = issue + COLLATERAL_LIFE;
	return 0;
}

static int
fresh_collateral(struct nacre_tdx_sim *s, char *err, size_t errlen)
{
	int fd, rc;

	if (s->tcb_info && s->next_update - time(NULL) > COLLATERAL_RENEW)
		return 0;
	if ((fd = nacre_tee_sim_lock(s->dir, err, errlen)) < 0)
		return -1;
	rc = make_collateral(s, err, errlen);
	close(fd);
	return rc;
}

int
nacre_tdx_sim_collateral(struct nacre_tdx_sim *s,
			 struct nacre_tdx_collateral *c, char *err,
			 size_t errlen)
{
	if (fresh_collateral(s, err, errlen) < 0)
		return -1;
	*c = (struct nacre_tdx_collateral){
		.tcb_info = s->tcb_info,
		.tcb_info_len = s->tcb_info_len,
		.tcb_info_chain = s->chain_pem,
		.tcb_info_chain_len = s->chain_pem_len,
		.qe_identity = s->qe_identity,
		.qe_identity_len = s->qe_identity_len,
		.qe_identity_chain = s->chain_pem,
		.qe_identity_chain_len = s->chain_pem_len,
		.root_ca_crl = s->root_crl,
		.root_ca_crl_len = s->root_crl_len,
		.pck_crl = s->pck_crl,
		.pck_crl_len = s->pck_crl_len,
	};
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The quote. */

static void
header(const struct nacre_tdx_sim *s, uint8_t h[NACRE_TDX_HEADER_LEN])
{
	uint8_t md[32];

	memset(h, 0, NACRE_TDX_HEADER_LEN);
	put_le16(h, 4);				/* version */
	put_le16(h + 2, 2);			/* ECDSA-256 with P-256 */
	put_le32(h + 4, 0x81);			/* TDX */
	memcpy(h + 12, intel_qe_vendor, 16);
	/* user data: a QE id (here from the attestation key), as Intel's
	 * QE puts the first 16 bytes of its id there */
	SHA256(s->att_pub, 64, md);
	memcpy(h + 28, md, 16);
}

static void
td_body(const struct nacre_tdx_sim *s, const uint8_t rd[64],
	uint8_t b[NACRE_TDX_BODY10_LEN])
{
	memset(b, 0, NACRE_TDX_BODY10_LEN);
	memcpy(b, sim_tee_tcb_svn, 16);
	memcpy(b + 16, s->mrseam, 48);
	/* MRSIGNERSEAM (64) and SEAMATTRIBUTES (112): zero, Intel's module */
	memcpy(b + 120, sim_td_attributes, 8);
	memcpy(b + 128, sim_xfam, 8);
	memcpy(b + 136, s->mrtd, 48);
	/* MRCONFIGID, MROWNER, MROWNERCONFIG, RTMR0..3: zero */
	memcpy(b + 520, rd, 64);
}

static int
qe_report(const struct nacre_tdx_sim *s, const uint8_t *auth, size_t alen,
	  uint8_t r[NACRE_SGX_REPORT_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	memset(r, 0, NACRE_SGX_REPORT_LEN);
	memcpy(r, sim_sgx_comp, 16);		/* CPUSVN */
	memcpy(r + 48, qe_attributes, 16);
	memcpy(r + 64, s->qe_mrenclave, 32);
	memcpy(r + 128, s->qe_mrsigner, 32);
	put_le16(r + 256, QE_ISVPRODID);
	put_le16(r + 258, QE_ISVSVN);
	/* REPORTDATA: SHA-256(attestation key || QE auth data) || zeros */
	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, s->att_pub, 64) == 1 &&
	     EVP_DigestUpdate(md, auth, alen) == 1 &&
	     EVP_DigestFinal_ex(md, r + 320, NULL) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

/* header || body || u32 len || signature data */
static int
assemble(const struct nacre_tdx_sim *s, const uint8_t rd[64], uint8_t **out,
	 size_t *len)
{
	size_t signed_len = NACRE_TDX_HEADER_LEN + NACRE_TDX_BODY10_LEN;
	size_t cd5 = 2 + 4 + s->pck_pem_len;
	size_t cd6 = NACRE_SGX_REPORT_LEN + 64 + 2 + QE_AUTH_LEN + cd5;
	size_t sig = 64 + 64 + 2 + 4 + cd6;
	size_t total = signed_len + 4 + sig;
	uint8_t *q = calloc(1, total), *p, auth[QE_AUTH_LEN];

	if (!q)
		return -1;
	for (int i = 0; i < QE_AUTH_LEN; i++)
		auth[i] = (uint8_t)i;	/* as Intel's QE fills it */
	header(s, q);
	td_body(s, rd, q + NACRE_TDX_HEADER_LEN);
	p = q + signed_len;
	put_le32(p, (uint32_t)sig);
	p += 4;
	if (sign_rs(s->att_key, q, signed_len, p) < 0)
		goto fail;
	memcpy(p + 64, s->att_pub, 64);
	put_le16(p + 128, 6);			/* QE report cert. data */
	put_le32(p + 130, (uint32_t)cd6);
	p += 134;
	if (qe_report(s, auth, QE_AUTH_LEN, p) < 0 ||
	    sign_rs(s->pck_key, p, NACRE_SGX_REPORT_LEN,
		    p + NACRE_SGX_REPORT_LEN) < 0)
		goto fail;
	p += NACRE_SGX_REPORT_LEN + 64;
	put_le16(p, QE_AUTH_LEN);
	memcpy(p + 2, auth, QE_AUTH_LEN);
	p += 2 + QE_AUTH_LEN;
	put_le16(p, 5);				/* PCK chain, PEM */
	put_le32(p + 2, (uint32_t)s->pck_pem_len);
	memcpy(p + 6, s->pck_pem, s->pck_pem_len);
	*out = q;
	*len = total;
	return 0;
fail:
	free(q);
	return -1;
}

int
nacre_tdx_sim_quote(struct nacre_tdx_sim *s, const uint8_t report_data[64],
		    uint8_t **quote, size_t *len, char *err, size_t errlen)
{
	*quote = NULL;
	*len = 0;
	if (fresh_collateral(s, err, errlen) < 0)
		return -1;
	if (assemble(s, report_data, quote, len) < 0) {
		nacre_seterr(err, errlen, "cannot sign the simulated TDX quote "
			     "(out of memory?)");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Open, close. */

void
nacre_tdx_sim_free(struct nacre_tdx_sim *s)
{
	if (!s)
		return;
	drop_collateral(s);
	X509_free(s->root);
	X509_free(s->ca);
	X509_free(s->pck);
	X509_free(s->tcb);
	EVP_PKEY_free(s->root_key);
	EVP_PKEY_free(s->ca_key);
	EVP_PKEY_free(s->pck_key);
	EVP_PKEY_free(s->tcb_key);
	EVP_PKEY_free(s->att_key);
	free(s->pck_pem);
	free(s->dir);
	free(s);
}

static int
setup(struct nacre_tdx_sim *s, char *err, size_t errlen)
{
	X509 *chain[3] = { s->pck, s->ca, s->root };
	char e[NACRE_ERRLEN];

	if (nacre_tdx_pck_ext_parse(s->pck, &s->ext, e, sizeof(e)) < 0) {
		nacre_seterr(err, errlen, "the simulated PCK certificate %s/%s "
			     "is unusable (%s); delete it to make a new one",
			     s->dir, NACRE_TDX_SIM_PCK_KEY, e);
		return -1;
	}
	if (nacre_tee_sim_cert_sha256_hex(s->root, s->root_hex) < 0 ||
	    !(s->pck_pem = pem_chain(chain, 3, true, &s->pck_pem_len))) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	if (s->pck_pem_len > NACRE_TDX_PCK_CHAIN_MAX) {
		nacre_seterr(err, errlen, "the simulated PCK chain is %zu bytes, "
			     "over a quote's %d; delete %s to start afresh",
			     s->pck_pem_len, NACRE_TDX_PCK_CHAIN_MAX, s->dir);
		return -1;
	}
	label_digest("nacre simulated TDX module", s->mrseam, 48);
	label_digest("nacre simulated TD quoting enclave", s->qe_mrenclave,
		     32);
	label_digest("nacre simulated TD quoting enclave signer",
		     s->qe_mrsigner, 32);
	return 0;
}

struct nacre_tdx_sim *
nacre_tdx_sim_open(const char *dir, const uint8_t mrtd[48], char *err,
		   size_t errlen)
{
	struct nacre_tdx_sim *s = calloc(1, sizeof(*s));
	int fd = -1, rc;

	if (!s || !dir || !*dir || !(s->dir = strdup(dir))) {
		nacre_seterr(err, errlen, s ? "the simulated TDX needs a "
			     "directory for its keys (e.g. "
			     "/var/lib/nacre/tdx-sim)" : "out of memory");
		nacre_tdx_sim_free(s);
		return NULL;
	}
	if (mrtd)
		memcpy(s->mrtd, mrtd, 48);
	if (nacre_tee_sim_mkdir(dir, err, errlen) < 0 ||
	    (fd = nacre_tee_sim_lock(dir, err, errlen)) < 0) {
		nacre_tdx_sim_free(s);
		return NULL;
	}
	rc = load_keys(s, err, errlen);
	if (rc == 0 && (rc = setup(s, err, errlen)) == 0)
		rc = make_collateral(s, err, errlen);
	close(fd);
	if (rc < 0) {
		nacre_tdx_sim_free(s);
		return NULL;
	}
	return s;
}

X509 *
nacre_tdx_sim_root(const struct nacre_tdx_sim *s)
{
	return s->root;
}

const char *
nacre_tdx_sim_root_sha256_hex(const struct nacre_tdx_sim *s)
{
	return s->root_hex;
}
