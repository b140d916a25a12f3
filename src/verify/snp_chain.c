/*
 * snp_chain.c: the SEV-SNP certificate chain, VCEK <- ASK <- ARK (AMD's
 * VCEK certificate and KDS interface specification): the ARK pinned per
 * product by the SHA-256 of its DER, every link RSASSA-PSS with SHA-384,
 * MGF1-SHA-384 and a 48-byte salt, validity at the caller's time, and
 * the VCEK's AMD extensions (product name, TCB components, hwID).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "nacred.h"
#include "snp.h"

#define CERT_MAX 16384

/* the AMD Root Keys, SHA-256 of their DER (docs/evidence-format.md) */
static const struct {
	enum nacre_snp_product product;
	const char *name;
	const char *ark_sha256;
} products[] = {
	{ NACRE_SNP_PRODUCT_MILAN, "Milan",
	  "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd" },
	{ NACRE_SNP_PRODUCT_GENOA, "Genoa",
	  "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1" },
};
#define NPRODUCTS (sizeof(products) / sizeof(products[0]))

/* the VCEK's extensions: 1.3.6.1.4.1.3704.1.x */
#define AMD_OID "1.3.6.1.4.1.3704.1."
#define OID_PRODUCT_NAME AMD_OID "2"
#define OID_HWID AMD_OID "4"

/* TCB components, and where each goes in the 8 TCB_VERSION bytes */
static const struct {
	const char *oid;
	const char *name;
	unsigned byte;
	bool required;
} tcb_exts[] = {
	{ AMD_OID "3.1", "bootloader", 0, true },
	{ AMD_OID "3.2", "tee", 1, true },
	{ AMD_OID "3.4", "spl_4", 2, false },
	{ AMD_OID "3.5", "spl_5", 3, false },
	{ AMD_OID "3.6", "spl_6", 4, false },
	{ AMD_OID "3.7", "spl_7", 5, false },
	{ AMD_OID "3.3", "snp", 6, true },
	{ AMD_OID "3.8", "microcode", 7, true },
};
#define NTCB_EXTS (sizeof(tcb_exts) / sizeof(tcb_exts[0]))

const char *
nacre_snp_product_name(enum nacre_snp_product p)
{
	for (size_t i = 0; i < NPRODUCTS; i++)
		if (products[i].product == p)
			return products[i].name;
	return "any";
}

static X509 *
parse_cert(const uint8_t *der, size_t len, const char *which, char *err,
	   size_t errlen)
{
	const uint8_t *p = der;
	X509 *x;

	if (!der || len == 0 || len > CERT_MAX) {
		nacre_seterr(err, errlen, "The %s certificate is missing or %zu "
			     "bytes long (allowed 1..%d); give the chain AMD "
			     "KDS serves for this chip.", which,
			     der ? len : 0, CERT_MAX);
		return NULL;
	}
	x = d2i_X509(NULL, &p, (long)len);
	if (!x || p != der + len) {
		X509_free(x);
		nacre_seterr(err, errlen, "The %s certificate is not one DER "
			     "X.509 certificate; give it in DER, as AMD KDS "
			     "serves it.", which);
		return NULL;
	}
	return x;
}

/* the one extension with this OID, or NULL; *dup when it occurs twice */
static ASN1_OCTET_STRING *
find_ext(X509 *x, const char *oid, bool *dup)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	int i = obj ? X509_get_ext_by_OBJ(x, obj, -1) : -1;

	*dup = i >= 0 && X509_get_ext_by_OBJ(x, obj, i) >= 0;
	ASN1_OBJECT_free(obj);
	return i < 0 ? NULL : X509_EXTENSION_get_data(X509_get_ext(x, i));
}

/* an extension holding a DER INTEGER 0..255 */
static int
ext_u8(X509 *x, const char *oid, const char *name, bool required,
       uint8_t *out, char *err, size_t errlen)
{
	bool dup;
	ASN1_OCTET_STRING *v = find_ext(x, oid, &dup);
	const uint8_t *p;
	ASN1_INTEGER *i;
	int64_t n = -1;

	*out = 0;
	if (!v && !required)
		return 0;
	if (!v || dup) {
		nacre_seterr(err, errlen, "The VCEK %s the %s TCB extension "
			     "(%s); it is not a VCEK from AMD KDS.",
			     dup ? "repeats" : "lacks", name, oid);
		return -1;
	}
	p = ASN1_STRING_get0_data(v);
	i = d2i_ASN1_INTEGER(NULL, &p, ASN1_STRING_length(v));
	if (!i || p != ASN1_STRING_get0_data(v) + ASN1_STRING_length(v) ||
	    ASN1_INTEGER_get_int64(&n, i) != 1 || n < 0 || n > 255) {
		ASN1_INTEGER_free(i);
		nacre_seterr(err, errlen, "The VCEK's %s TCB extension (%s) is "
			     "not an integer 0..255; it is not a VCEK from AMD "
			     "KDS.", name, oid);
		return -1;
	}
	ASN1_INTEGER_free(i);
	*out = (uint8_t)n;
	return 0;
}

int
nacre_snp_vcek_extensions(X509 *vcek, struct nacre_snp_vcek_info *info,
			  char *err, size_t errlen)
{
	ASN1_OCTET_STRING *v;
	ASN1_IA5STRING *name = NULL;
	const uint8_t *p;
	bool dup;
	int n;

	memset(info, 0, sizeof(*info));
	v = find_ext(vcek, OID_PRODUCT_NAME, &dup);
	if (v && !dup) {
		p = ASN1_STRING_get0_data(v);
		name = d2i_ASN1_IA5STRING(NULL, &p, ASN1_STRING_length(v));
	}
	n = name ? ASN1_STRING_length(name) : -1;
	if (!name || p != ASN1_STRING_get0_data(v) + ASN1_STRING_length(v) ||
	    n < 1 || n >= (int)sizeof(info->product_name) ||
	    memchr(ASN1_STRING_get0_data(name), 0, (size_t)n)) {
		ASN1_IA5STRING_free(name);
		nacre_seterr(err, errlen, "The VCEK has no single product name "
			     "extension (%s, e.g. \"Milan-B0\"); it is not a "
			     "VCEK from AMD KDS.", OID_PRODUCT_NAME);
		return -1;
	}
	memcpy(info->product_name, ASN1_STRING_get0_data(name), (size_t)n);
	ASN1_IA5STRING_free(name);
	for (size_t i = 0; i < NTCB_EXTS; i++)
		if (ext_u8(vcek, tcb_exts[i].oid, tcb_exts[i].name,
			   tcb_exts[i].required, &info->tcb[tcb_exts[i].byte],
			   err, errlen) < 0)
			return -1;
	v = find_ext(vcek, OID_HWID, &dup);
	if (!v || dup || ASN1_STRING_length(v) != 64) {
		nacre_seterr(err, errlen, "The VCEK has no single 64-byte hwID "
			     "extension (%s); it is not a VCEK from AMD KDS.",
			     OID_HWID);
		return -1;
	}
	memcpy(info->hwid, ASN1_STRING_get0_data(v), 64);
	return 0;
}

static bool
alg_is(const X509_ALGOR *a, int nid)
{
	const ASN1_OBJECT *obj;
	int ptype;
	const void *pval;

	if (!a)
		return false;
	X509_ALGOR_get0(&obj, &ptype, &pval, a);
	/* the hash's parameters are absent or NULL */
	return OBJ_obj2nid(obj) == nid &&
	       (ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL);
}

/* RSASSA-PSS with SHA-384, MGF1 with SHA-384, salt 48, trailer 1 */
static bool
pss_sha384(const X509 *x)
{
	const ASN1_BIT_STRING *sig;
	const X509_ALGOR *alg;
	const ASN1_OBJECT *obj;
	const void *pval;
	const uint8_t *p;
	RSA_PSS_PARAMS *pss = NULL;
	X509_ALGOR *mgf_hash = NULL;
	int ptype;
	bool ok = false;

	X509_get0_signature(&sig, &alg, x);
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (OBJ_obj2nid(obj) != NID_rsassaPss || ptype != V_ASN1_SEQUENCE)
		return false;
	p = ASN1_STRING_get0_data(pval);
	pss = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(pval));
	if (!pss || !alg_is(pss->hashAlgorithm, NID_sha384) ||
	    !pss->maskGenAlgorithm ||
	    OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) != NID_mgf1 ||
	    !pss->saltLength || ASN1_INTEGER_get(pss->saltLength) != 48 ||
	    (pss->trailerField && ASN1_INTEGER_get(pss->trailerField) != 1))
		goto out;
	mgf_hash = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
					     pss->maskGenAlgorithm->parameter);
	ok = alg_is(mgf_hash, NID_sha384);
out:
	X509_ALGOR_free(mgf_hash);
	RSA_PSS_PARAMS_free(pss);
	return ok;
}

/* x is signed by issuer's key with the AMD algorithm; its issuer name is
 * issuer's subject */
static int
check_link(X509 *x, X509 *issuer, const char *what, const char *by,
	   int status, char *err, size_t errlen)
{
	EVP_PKEY *key = X509_get0_pubkey(issuer);

	if (!pss_sha384(x)) {
		nacre_seterr(err, errlen, "The %s certificate is not signed "
			     "with RSASSA-PSS, SHA-384 and a 48-byte salt, as "
			     "AMD signs every SEV-SNP certificate; it is not "
			     "from AMD.", what);
		return NACRE_SNP_E_CERT_ALGORITHM;
	}
	if (!key || !EVP_PKEY_is_a(key, "RSA")) {
		nacre_seterr(err, errlen, "The %s certificate's key is not RSA, "
			     "so it cannot have signed the %s; it is not from "
			     "AMD.", by, what);
		return NACRE_SNP_E_CERT_MALFORMED;
	}
	if (X509_NAME_cmp(X509_get_issuer_name(x),
			  X509_get_subject_name(issuer)) != 0) {
		nacre_seterr(err, errlen, "The %s certificate's issuer is not "
			     "the %s's subject; the certificates do not form "
			     "an AMD chain (fetch the %s for this product from "
			     "AMD KDS).", what, by, by);
		return status;
	}
	if (X509_verify(x, key) != 1) {
		nacre_seterr(err, errlen, "The %s certificate's signature does "
			     "not verify with the %s's key; the %s was altered "
			     "or belongs to another product.", what, by, what);
		return status;
	}
	return NACRE_SNP_OK;
}

static void
iso_time(time_t t, char *out, size_t n)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, n, "@%lld", (long long)t);
}

static int
check_validity(X509 *x, const char *what, time_t at, char *err,
	       size_t errlen)
{
	int nb = X509_cmp_time(X509_get0_notBefore(x), &at);
	int na = X509_cmp_time(X509_get0_notAfter(x), &at);
	char when[32];

	if (nb < 0 && na > 0)
		return NACRE_SNP_OK;
	iso_time(at, when, sizeof(when));
	nacre_seterr(err, errlen, "The %s certificate is %s at %s; %s.", what,
		     nb == 0 || na == 0 ? "of unreadable validity" :
		     nb > 0 ? "not yet valid" : "expired", when,
		     nb > 0 ? "check this machine's clock" :
		     "fetch a current one from AMD KDS (or check this "
		     "machine's clock)");
	return NACRE_SNP_E_CERT_VALIDITY;
}

/* the product a caller-trusted ARK names in its CN ("ARK-Milan") */
static enum nacre_snp_product
product_of_cn(X509 *ark)
{
	char cn[64];

	if (X509_NAME_get_text_by_NID(X509_get_subject_name(ark),
				      NID_commonName, cn, sizeof(cn)) <= 0 ||
	    strncmp(cn, "ARK-", 4) != 0)
		return NACRE_SNP_PRODUCT_ANY;
	for (size_t i = 0; i < NPRODUCTS; i++)
		if (strcmp(cn + 4, products[i].name) == 0)
			return products[i].product;
	return NACRE_SNP_PRODUCT_ANY;
}

/* the ARK is the caller's trust anchor, byte for byte */
static bool
is_trusted_ark(const struct nacre_snp_certs *c, const uint8_t *der, int n)
{
	return c->trusted_ark && c->trusted_ark_len == (size_t)n &&
	       memcmp(c->trusted_ark, der, (size_t)n) == 0;
}

/* the ARK's product from its pin or, for the caller's trusted ARK, from
 * its CN; NACRE_SNP_PRODUCT_ANY when untrusted */
static int
check_ark(X509 *ark, const struct nacre_snp_certs *c,
	  enum nacre_snp_product want, enum nacre_snp_product *product,
	  char *err, size_t errlen)
{
	uint8_t *der = NULL, md[32];
	char hex[65];
	int n = i2d_X509(ark, &der);
	bool trusted;

	if (n <= 0) {
		nacre_seterr(err, errlen, "Cannot encode the ARK certificate.");
		return NACRE_SNP_E_INTERNAL;
	}
	SHA256(der, (size_t)n, md);
	trusted = is_trusted_ark(c, der, n);
	OPENSSL_free(der);
	nacre_hex_encode(md, sizeof(md), hex);
	*product = NACRE_SNP_PRODUCT_ANY;
	for (size_t i = 0; i < NPRODUCTS; i++)
		if (strcmp(hex, products[i].ark_sha256) == 0)
			*product = products[i].product;
	if (*product == NACRE_SNP_PRODUCT_ANY && trusted &&
	    (*product = product_of_cn(ark)) == NACRE_SNP_PRODUCT_ANY) {
		nacre_seterr(err, errlen, "The trusted ARK (SHA-256 %s) names no "
			     "product: its subject CN is not \"ARK-Milan\" or "
			     "\"ARK-Genoa\"; give an ARK made for one of them.",
			     hex);
		return NACRE_SNP_E_ARK_UNTRUSTED;
	}
	if (*product == NACRE_SNP_PRODUCT_ANY) {
		nacre_seterr(err, errlen, "The ARK certificate (SHA-256 %s) is "
			     "not a pinned AMD Root Key (Milan or Genoa)%s; the "
			     "chain does not lead to AMD.", hex,
			     c->trusted_ark ? " nor the ARK the policy trusts" :
			     "");
		return NACRE_SNP_E_ARK_UNTRUSTED;
	}
	if (want != NACRE_SNP_PRODUCT_ANY && want != *product) {
		nacre_seterr(err, errlen, "The chain leads to the %s ARK, but "
			     "%s was expected; the report is from another "
			     "processor generation than allowed.",
			     nacre_snp_product_name(*product),
			     nacre_snp_product_name(want));
		return NACRE_SNP_E_PRODUCT;
	}
	return NACRE_SNP_OK;
}

static int
check_ca(X509 *x, const char *what, char *err, size_t errlen)
{
	if (X509_check_ca(x) == 1)
		return NACRE_SNP_OK;
	nacre_seterr(err, errlen, "The %s certificate is not a CA "
		     "certificate, so it cannot sign the chain; it is not "
		     "from AMD.", what);
	return NACRE_SNP_E_CERT_MALFORMED;
}

static bool
is_p384(EVP_PKEY *k)
{
	char group[32];
	size_t n = 0;

	return k && EVP_PKEY_is_a(k, "EC") &&
	       EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME,
					      group, sizeof(group), &n) == 1 &&
	       strcmp(group, "secp384r1") == 0;
}

/* "Milan-B0" names the Milan product; so does "Milan" */
static int
check_product_name(const struct nacre_snp_vcek_info *info,
		   enum nacre_snp_product product, char *err, size_t errlen)
{
	const char *want = nacre_snp_product_name(product);
	size_t n = strlen(want);

	if (strncmp(info->product_name, want, n) == 0 &&
	    (info->product_name[n] == '\0' || info->product_name[n] == '-'))
		return NACRE_SNP_OK;
	nacre_seterr(err, errlen, "The VCEK is for product \"%s\" but the chain "
		     "leads to the %s ARK; fetch the VCEK and chain for the "
		     "same product from AMD KDS.", info->product_name, want);
	return NACRE_SNP_E_PRODUCT;
}

static int
chain_checks(X509 *vcek, X509 *ask, X509 *ark,
	     const struct nacre_snp_certs *c, time_t at,
	     enum nacre_snp_product want, struct nacre_snp_vcek_info *info,
	     enum nacre_snp_product *product, char *err, size_t errlen)
{
	int st;

	if ((st = check_ark(ark, c, want, product, err, errlen)) !=
		    NACRE_SNP_OK ||
	    (st = check_ca(ark, "ARK", err, errlen)) != NACRE_SNP_OK ||
	    (st = check_link(ark, ark, "ARK", "ARK", NACRE_SNP_E_ARK_SIGNATURE,
			     err, errlen)) != NACRE_SNP_OK ||
	    (st = check_ca(ask, "ASK", err, errlen)) != NACRE_SNP_OK ||
	    (st = check_link(ask, ark, "ASK", "ARK", NACRE_SNP_E_ASK_SIGNATURE,
			     err, errlen)) != NACRE_SNP_OK ||
	    (st = check_link(vcek, ask, "VCEK", "ASK",
			     NACRE_SNP_E_VCEK_SIGNATURE, err, errlen)) !=
		    NACRE_SNP_OK)
		return st;
	if (!is_p384(X509_get0_pubkey(vcek))) {
		nacre_seterr(err, errlen, "The VCEK's key is not EC P-384, the "
			     "only kind that signs SEV-SNP reports; it is not "
			     "a VCEK.");
		return NACRE_SNP_E_CERT_MALFORMED;
	}
	if ((st = check_validity(ark, "ARK", at, err, errlen)) != NACRE_SNP_OK ||
	    (st = check_validity(ask, "ASK", at, err, errlen)) != NACRE_SNP_OK ||
	    (st = check_validity(vcek, "VCEK", at, err, errlen)) != NACRE_SNP_OK)
		return st;
	if (nacre_snp_vcek_extensions(vcek, info, err, errlen) < 0)
		return NACRE_SNP_E_CERT_MALFORMED;
	return check_product_name(info, *product, err, errlen);
}

int
nacre_snp_chain_verify(const struct nacre_snp_certs *c, time_t at,
		       enum nacre_snp_product want, EVP_PKEY **vcek_key,
		       struct nacre_snp_vcek_info *info,
		       enum nacre_snp_product *product, char *err,
		       size_t errlen)
{
	X509 *vcek = NULL, *ask = NULL, *ark = NULL;
	int st = NACRE_SNP_E_CERT_MALFORMED;

	*vcek_key = NULL;
	*product = NACRE_SNP_PRODUCT_ANY;
	memset(info, 0, sizeof(*info));
	if (!(ark = parse_cert(c->ark, c->ark_len, "ARK", err, errlen)) ||
	    !(ask = parse_cert(c->ask, c->ask_len, "ASK", err, errlen)) ||
	    !(vcek = parse_cert(c->vcek, c->vcek_len, "VCEK", err, errlen)))
		goto out;
	st = chain_checks(vcek, ask, ark, c, at, want, info, product, err,
			  errlen);
	if (st == NACRE_SNP_OK && !(*vcek_key = X509_get_pubkey(vcek))) {
		nacre_seterr(err, errlen, "Out of memory reading the VCEK's "
			     "key.");
		st = NACRE_SNP_E_INTERNAL;
	}
	if (st != NACRE_SNP_OK)
		*product = NACRE_SNP_PRODUCT_ANY;
out:
	ERR_clear_error();
	X509_free(vcek);
	X509_free(ask);
	X509_free(ark);
	return st;
}
