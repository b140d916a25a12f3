/*
 * snp_verify.c: nacre_snp_verify, an SEV-SNP report's pipeline: report
 * decoded, chain VCEK <- ASK <- pinned ARK at the caller's time, the
 * VCEK's TCB and hwID equal to the report's reported_tcb and chip_id, the
 * report's signature, then the caller's expectations (report_data,
 * measurement, host_data, key digests, debug, migration agent, VMPL,
 * minimum TCB). The first failure decides the status.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "nacred.h"
#include "snp.h"

static const char *const status_names[NACRE_SNP_E_COUNT] = {
	[NACRE_SNP_OK] = "ok",
	[NACRE_SNP_E_REPORT_SIZE] = "snp-report-size",
	[NACRE_SNP_E_REPORT_VERSION] = "snp-report-version",
	[NACRE_SNP_E_SIG_ALGO] = "snp-signature-algo",
	[NACRE_SNP_E_SIGNING_KEY] = "snp-signing-key",
	[NACRE_SNP_E_REPORT_RESERVED] = "snp-report-reserved",
	[NACRE_SNP_E_CERT_MALFORMED] = "snp-cert-malformed",
	[NACRE_SNP_E_ARK_UNTRUSTED] = "snp-ark-untrusted",
	[NACRE_SNP_E_ARK_SIGNATURE] = "snp-ark-signature",
	[NACRE_SNP_E_ASK_SIGNATURE] = "snp-ask-signature",
	[NACRE_SNP_E_VCEK_SIGNATURE] = "snp-vcek-signature",
	[NACRE_SNP_E_CERT_ALGORITHM] = "snp-cert-algorithm",
	[NACRE_SNP_E_CERT_VALIDITY] = "snp-cert-validity",
	[NACRE_SNP_E_PRODUCT] = "snp-product",
	[NACRE_SNP_E_TCB_MISMATCH] = "snp-tcb-mismatch",
	[NACRE_SNP_E_CHIP_ID] = "snp-chip-id",
	[NACRE_SNP_E_REPORT_SIGNATURE] = "snp-report-signature",
	[NACRE_SNP_E_REPORT_DATA] = "snp-report-data",
	[NACRE_SNP_E_MEASUREMENT] = "snp-measurement",
	[NACRE_SNP_E_HOST_DATA] = "snp-host-data",
	[NACRE_SNP_E_ID_KEY_DIGEST] = "snp-id-key-digest",
	[NACRE_SNP_E_AUTHOR_KEY_DIGEST] = "snp-author-key-digest",
	[NACRE_SNP_E_DEBUG] = "snp-debug",
	[NACRE_SNP_E_MIGRATE_MA] = "snp-migrate-ma",
	[NACRE_SNP_E_VMPL] = "snp-vmpl",
	[NACRE_SNP_E_TCB_TOO_LOW] = "snp-tcb-too-low",
	[NACRE_SNP_E_UNPINNED] = "snp-unpinned",
	[NACRE_SNP_E_INTERNAL] = "snp-internal-error",
};

const char *
nacre_snp_status_name(enum nacre_snp_status s)
{
	if ((unsigned)s >= NACRE_SNP_E_COUNT)
		return "unknown";
	return status_names[s];
}

static int set(struct nacre_snp_result *r, int st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
set(struct nacre_snp_result *r, int st, const char *fmt, ...)
{
	va_list ap;

	r->status = (enum nacre_snp_status)st;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	return st;
}

/* "3f1a2b3c…04a1": first 4 and last 2 bytes */
static void
short_hex(const uint8_t *v, size_t n, char out[24])
{
	char a[9], b[5];

	nacre_hex_encode(v, 4, a);
	nacre_hex_encode(v + n - 2, 2, b);
	snprintf(out, 24, "%s\u2026%s", a, b);
}

int
nacre_snp_report_verify_sig(const struct nacre_snp_report *rep,
			    EVP_PKEY *key, char *err, size_t errlen)
{
	BIGNUM *r = BN_lebin2bn(rep->sig_r, NACRE_SNP_SIG_COMPONENT_LEN, NULL);
	BIGNUM *s = BN_lebin2bn(rep->sig_s, NACRE_SNP_SIG_COMPONENT_LEN, NULL);
	ECDSA_SIG *sig = ECDSA_SIG_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *der = NULL;
	int n, rc = -1;

	if (!r || !s || !sig || !md || !ECDSA_SIG_set0(sig, r, s)) {
		BN_free(r);
		BN_free(s);
		nacre_seterr(err, errlen, "Out of memory checking the report's "
			     "signature.");
		goto out;
	}
	if ((n = i2d_ECDSA_SIG(sig, &der)) <= 0) {
		nacre_seterr(err, errlen, "Cannot encode the report's "
			     "signature.");
		goto out;
	}
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) != 1 ||
	    EVP_DigestVerify(md, der, (size_t)n, rep->raw,
			     NACRE_SNP_SIGNED_LEN) != 1) {
		nacre_seterr(err, errlen, "The SEV-SNP report's signature does "
			     "not verify with the VCEK's key; the report was "
			     "altered, or it is from another chip or TCB than "
			     "this VCEK.");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	ECDSA_SIG_free(sig);
	return rc;
}

/* the VCEK certifies one TCB: the report's reported_tcb, byte for byte */
static int
check_tcb(const struct nacre_snp_report *rep,
	  const struct nacre_snp_vcek_info *info, struct nacre_snp_result *r)
{
	static const char *const names[8] = {
		"bootloader", "tee", "spl_4", "spl_5", "spl_6", "spl_7",
		"snp", "microcode"
	};
	const uint8_t *got = rep->raw + 0x180;

	for (unsigned i = 0; i < 8; i++)
		if (info->tcb[i] != got[i])
			return set(r, NACRE_SNP_E_TCB_MISMATCH, "The VCEK "
				   "certifies %s SVN %u, but the report's "
				   "reported_tcb has %s %u; this VCEK is for "
				   "another TCB or chip: fetch the VCEK for "
				   "the report's chip_id and reported_tcb from "
				   "AMD KDS.", names[i], info->tcb[i],
				   names[i], got[i]);
	return NACRE_SNP_OK;
}

static int
check_chip_id(const struct nacre_snp_report *rep,
	      const struct nacre_snp_vcek_info *info,
	      struct nacre_snp_result *r)
{
	char got[24], want[24];

	/* MASK_CHIP_ID: the report says nothing of its chip; the VCEK's
	 * signature (checked next) still ties it to one */
	if (rep->mask_chip_id)
		return NACRE_SNP_OK;
	if (memcmp(rep->chip_id, info->hwid, 64) == 0)
		return NACRE_SNP_OK;
	short_hex(rep->chip_id, 64, got);
	short_hex(info->hwid, 64, want);
	return set(r, NACRE_SNP_E_CHIP_ID, "The report's chip_id %s is not the "
		   "VCEK's hwID %s; the VCEK is another chip's: fetch the VCEK "
		   "for this chip_id from AMD KDS.", got, want);
}

static int
check_bytes(struct nacre_snp_result *r, int st, const char *field,
	    const uint8_t *got, const uint8_t *want, size_t n,
	    const char *advice)
{
	char g[24], w[24];

	if (memcmp(got, want, n) == 0)
		return NACRE_SNP_OK;
	short_hex(got, n, g);
	short_hex(want, n, w);
	return set(r, st, "The report's %s is %s, expected %s; %s.", field, g,
		   w, advice);
}

static int
check_measurement(const struct nacre_snp_report *rep,
		  const struct nacre_snp_expect *w, struct nacre_snp_result *r)
{
	char got[24], list[300] = "";

	if (w->nmeasurements == 0)
		return NACRE_SNP_OK;
	for (size_t k = 0; k < w->nmeasurements; k++)
		if (memcmp(w->measurements[k], rep->measurement, 48) == 0)
			return NACRE_SNP_OK;
	for (size_t k = 0; k < w->nmeasurements && k < 8; k++) {
		char v[24];
		short_hex(w->measurements[k], 48, v);
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s%s", k ? ", " : "", v);
	}
	if (w->nmeasurements > 8)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 " and %zu more", w->nmeasurements - 8);
	short_hex(rep->measurement, 48, got);
	return set(r, NACRE_SNP_E_MEASUREMENT, "The report's measurement is %s, "
		   "expected one of: %s; the guest runs other code (firmware, "
		   "kernel or initrd) than allowed (add its measurement if "
		   "this build is yours).", got, list);
}

static int
check_min_tcb(const struct nacre_snp_tcb *t, const struct nacre_snp_expect *w,
	      struct nacre_snp_result *r)
{
	const struct { const char *name; unsigned got, min; } c[] = {
		{ "bootloader", t->bootloader, w->min_bootloader },
		{ "tee", t->tee, w->min_tee },
		{ "snp", t->snp, w->min_snp },
		{ "microcode", t->microcode, w->min_microcode },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (c[i].got < c[i].min)
			return set(r, NACRE_SNP_E_TCB_TOO_LOW, "The report's "
				   "reported_tcb.%s is %u, below the minimum "
				   "%u; the host runs AMD firmware or microcode "
				   "older than allowed and must be updated.",
				   c[i].name, c[i].got, c[i].min);
	return NACRE_SNP_OK;
}

int
nacre_snp_check_expect(const struct nacre_snp_report *rep,
		       const struct nacre_snp_expect *w,
		       struct nacre_snp_result *r)
{
	int st;

	if (w->has_report_data &&
	    (st = check_bytes(r, NACRE_SNP_E_REPORT_DATA, "report_data",
			      rep->report_data, w->report_data, 64,
			      "the report was made for another key or "
			      "nonce (copied or replayed), reject it")))
		return st;
	if ((st = check_measurement(rep, w, r)))
		return st;
	if (w->has_host_data &&
	    (st = check_bytes(r, NACRE_SNP_E_HOST_DATA, "host_data",
			      rep->host_data, w->host_data, 32,
			      "the host launched the guest with other "
			      "host data than allowed")))
		return st;
	if (w->has_id_key_digest &&
	    (st = check_bytes(r, NACRE_SNP_E_ID_KEY_DIGEST, "id_key_digest",
			      rep->id_key_digest, w->id_key_digest, 48,
			      "the guest was launched with another ID key "
			      "(or none) than allowed")))
		return st;
	if (w->has_author_key_digest &&
	    (st = check_bytes(r, NACRE_SNP_E_AUTHOR_KEY_DIGEST,
			      "author_key_digest", rep->author_key_digest,
			      w->author_key_digest, 48, "the guest's ID key "
			      "was signed by another author key (or none) "
			      "than allowed")))
		return st;
	if ((rep->policy & NACRE_SNP_POLICY_DEBUG) && !w->allow_debug)
		return set(r, NACRE_SNP_E_DEBUG, "The guest's policy allows "
			   "debugging (POLICY bit 19), so its host can read "
			   "and change its memory; allow debug only for "
			   "development.");
	if ((rep->policy & NACRE_SNP_POLICY_MIGRATE_MA) && !w->allow_migrate_ma)
		return set(r, NACRE_SNP_E_MIGRATE_MA, "The guest's policy allows "
			   "a migration agent (POLICY bit 18), which can "
			   "export its memory; allow migration agents only if "
			   "you trust the one this guest is bound to.");
	if (rep->vmpl > w->max_vmpl)
		return set(r, NACRE_SNP_E_VMPL, "The report was requested at "
			   "VMPL %u, above the maximum %u: less privileged "
			   "guest code than allowed asked for it (raise the "
			   "maximum only if that layer is yours).", rep->vmpl,
			   w->max_vmpl);
	if ((st = check_min_tcb(&rep->reported_tcb, w, r)))
		return st;
	r->status = NACRE_SNP_OK;
	/* last: the evidence is sound, but nothing pins the code */
	if (w->nmeasurements == 0 && !w->allow_any_measurement)
		return set(r, NACRE_SNP_E_UNPINNED, "The report is genuine, but "
			   "no measurement is expected, so any guest on an AMD "
			   "chip would pass: pin the launch measurement, or "
			   "allow any measurement explicitly.");
	return NACRE_SNP_OK;
}

static int
verify(const uint8_t *report, size_t len, const struct nacre_snp_certs *c,
       time_t at, const struct nacre_snp_expect *w,
       struct nacre_snp_result *r)
{
	struct nacre_snp_report *rep = &r->report;
	struct nacre_snp_vcek_info info;
	enum nacre_snp_product product;
	char err[NACRE_ERRLEN];
	EVP_PKEY *key = NULL;
	int st;

	if ((st = nacre_snp_report_parse(report, len, rep, err, sizeof(err))))
		return set(r, st, "%s", err);
	r->parsed = true;
	/* the TCB layout read above is Milan's and Genoa's; Turin (family
	 * 0x1a) lays it out otherwise */
	if (rep->cpuid_fam_id > 0x19)
		return set(r, NACRE_SNP_E_PRODUCT, "The report is from a CPU of "
			   "family 0x%02x (Turin or later), whose TCB layout "
			   "this verifier does not read yet.",
			   rep->cpuid_fam_id);
	st = nacre_snp_chain_verify(c, at, w->product, &key, &info, &product,
				    err, sizeof(err));
	if (st)
		return set(r, st, "%s", err);
	if ((st = check_tcb(rep, &info, r)) == NACRE_SNP_OK &&
	    (st = check_chip_id(rep, &info, r)) == NACRE_SNP_OK &&
	    nacre_snp_report_verify_sig(rep, key, err, sizeof(err)) < 0)
		st = set(r, NACRE_SNP_E_REPORT_SIGNATURE, "%s", err);
	EVP_PKEY_free(key);
	if (st)
		return st;
	r->product = product;
	return nacre_snp_check_expect(rep, w, r);
}

int
nacre_snp_verify(const uint8_t *report, size_t len,
		 const struct nacre_snp_certs *certs, time_t at,
		 const struct nacre_snp_expect *want,
		 struct nacre_snp_result *r)
{
	char m[24];
	int st;

	memset(r, 0, sizeof(*r));
	if (!certs || !want)
		return set(r, NACRE_SNP_E_INTERNAL, "No certificates or no "
			   "expectations were given to the SEV-SNP verifier.");
	st = verify(report, len, certs, at, want, r);
	if (st == NACRE_SNP_OK) {
		short_hex(r->report.measurement, 48, m);
		set(r, NACRE_SNP_OK, "The SEV-SNP report from an AMD %s chip "
		    "(measurement %s) is genuine and meets the "
		    "expectations%s.", nacre_snp_product_name(r->product), m,
		    want->has_report_data ? ", and binds the given "
		    "report_data" : " (no report_data was given, so its "
		    "binding was not checked)");
	}
	return st;
}
