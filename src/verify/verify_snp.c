/*
 * verify_snp.c: AMD SEV-SNP evidence in a certificate
 * (docs/evidence-format.md 9.6): the envelope and its claims, the VCEK ->
 * ASK -> ARK chain (from the envelope's key 3, else the policy's snp.certs;
 * the ARK AMD's pinned one of a product the policy names, or a root the
 * policy names by file), the report through nacre_snp_verify, the
 * REPORT_DATA binding to the certificate's key, then the policy's
 * measurements, guest policy, minimum TCB and "iat" age. Every internal
 * status maps to one public code; the message keeps its name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest.h"
#include "libnacre.h"
#include "nacred.h"
#include "policy_int.h"
#include "snp.h"
#include "tee_evidence.h"

static enum nacre_verify_status
public_status(enum nacre_snp_status st)
{
	switch (st) {
	case NACRE_SNP_OK:
		return NACRE_OK;
	case NACRE_SNP_E_REPORT_SIZE:
	case NACRE_SNP_E_REPORT_VERSION:
	case NACRE_SNP_E_REPORT_RESERVED:
		return NACRE_E_DOC_MALFORMED;
	case NACRE_SNP_E_SIG_ALGO:
	case NACRE_SNP_E_SIGNING_KEY:
		return NACRE_E_UNSUPPORTED;
	case NACRE_SNP_E_CERT_MALFORMED:
	case NACRE_SNP_E_ARK_SIGNATURE:
	case NACRE_SNP_E_ASK_SIGNATURE:
	case NACRE_SNP_E_VCEK_SIGNATURE:
	case NACRE_SNP_E_CERT_ALGORITHM:
	case NACRE_SNP_E_CERT_VALIDITY:
	case NACRE_SNP_E_PRODUCT:
		return NACRE_E_CHAIN;
	case NACRE_SNP_E_ARK_UNTRUSTED:
		return NACRE_E_UNTRUSTED_ROOT;
	case NACRE_SNP_E_TCB_MISMATCH:
	case NACRE_SNP_E_CHIP_ID:
		return NACRE_E_COLLATERAL;
	case NACRE_SNP_E_REPORT_SIGNATURE:
		return NACRE_E_SIGNATURE;
	case NACRE_SNP_E_REPORT_DATA:
		return NACRE_E_BINDING;
	case NACRE_SNP_E_MEASUREMENT:
	case NACRE_SNP_E_HOST_DATA:
	case NACRE_SNP_E_ID_KEY_DIGEST:
	case NACRE_SNP_E_AUTHOR_KEY_DIGEST:
		return NACRE_E_MEASUREMENT;
	case NACRE_SNP_E_DEBUG:
		return NACRE_E_DEBUG;
	case NACRE_SNP_E_MIGRATE_MA:
	case NACRE_SNP_E_VMPL:
		return NACRE_E_GUEST_POLICY;
	case NACRE_SNP_E_TCB_TOO_LOW:
		return NACRE_E_TCB;
	case NACRE_SNP_E_UNPINNED:
		return NACRE_E_POLICY_UNPINNED;
	default:
		return NACRE_E_INTERNAL;
	}
}

static int
fail(struct nacre_result *r, enum nacre_snp_status st, const char *msg)
{
	return nacre_vset(r, public_status(st), "SNP %s: %s",
			  nacre_snp_status_name(st), msg);
}

static X509 *
der_cert(const uint8_t *der, size_t len)
{
	const uint8_t *q = der;
	X509 *x = len <= 0x7fffffff ? d2i_X509(NULL, &q, (long)len) : NULL;

	if (x && q != der + len) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}

struct snp_run {
	const struct nacre_policy *p;
	struct nacre_result *r;
	struct nacre_tee_facts *f;
	struct nacre_snp_report rep;
	struct nacre_snp_certs certs;
	X509 *trusted;            /* the policy's root for this chain, or NULL */
	char where[3][32];        /* where VCEK, ASK, ARK came from */
};

/* the VCEK of this chip and TCB among the policy's certificates: the
 * exact one, else one of this chip (nacre_snp_verify then names the TCB
 * mismatch), else any (it names the chip mismatch) */
static bool
policy_vcek(struct snp_run *u)
{
	const struct nacre_policy_snp *t = &u->p->snp;
	uint8_t tcb[8];
	int best = -1, best_score = -1;

	for (int i = 0; i < 8; i++)
		tcb[i] = (uint8_t)(u->rep.reported_tcb.raw >> (8 * i));
	for (size_t i = 0; i < t->ncerts; i++) {
		struct nacre_snp_vcek_info info;
		char err[NACRE_ERRLEN];
		X509 *x = der_cert(t->certs[i].data, t->certs[i].len);
		int score;

		if (!x || nacre_snp_vcek_extensions(x, &info, err,
						     sizeof(err)) < 0) {
			X509_free(x);
			ERR_clear_error();
			continue;
		}
		X509_free(x);
		score = (u->rep.mask_chip_id ||
			 memcmp(info.hwid, u->rep.chip_id, 64) == 0) * 2 +
			(memcmp(info.tcb, tcb, 8) == 0);
		if (score > best_score) {
			best = (int)i;
			best_score = score;
		}
	}
	if (best < 0)
		return false;
	u->certs.vcek = t->certs[best].data;
	u->certs.vcek_len = t->certs[best].len;
	snprintf(u->where[0], sizeof(u->where[0]), "snp.certs");
	return true;
}

/* the policy's certificate whose subject is issuer's issuer name */
static bool
policy_issuer(struct snp_run *u, const uint8_t *der, size_t len,
	      const uint8_t **out, size_t *out_len)
{
	const struct nacre_policy_snp *t = &u->p->snp;
	X509 *x = der_cert(der, len);
	bool found = false;

	for (size_t i = 0; x && !found && i < t->ncerts; i++) {
		X509 *c = der_cert(t->certs[i].data, t->certs[i].len);
		if (c && X509_NAME_cmp(X509_get_subject_name(c),
				       X509_get_issuer_name(x)) == 0 &&
		    X509_check_ca(c) == 1) {
			*out = t->certs[i].data;
			*out_len = t->certs[i].len;
			found = true;
		}
		X509_free(c);
	}
	X509_free(x);
	return found;
}

/* the policy root (by file) that is this ARK or, when the chain carries
 * none, that issued the ASK */
static void
policy_root(struct snp_run *u)
{
	const struct nacre_policy_snp *t = &u->p->snp;
	X509 *ark = u->certs.ark ? der_cert(u->certs.ark, u->certs.ark_len)
				 : NULL;
	X509 *ask = u->certs.ask ? der_cert(u->certs.ask, u->certs.ask_len)
				 : NULL;

	for (size_t i = 0; !u->trusted && i < t->nroots; i++)
		if ((ark && X509_cmp(ark, t->roots[i]) == 0) ||
		    (!ark && ask &&
		     X509_NAME_cmp(X509_get_issuer_name(ask),
				   X509_get_subject_name(t->roots[i])) == 0))
			u->trusted = t->roots[i];
	X509_free(ark);
	X509_free(ask);
}

/* VCEK, ASK, ARK: the envelope's (key 3), then the policy's */
static int
gather(struct snp_run *u, const struct nacre_tee_envelope *e,
       uint8_t **ark_der, size_t *ark_len)
{
	struct nacre_snp_certs *c = &u->certs;
	char chip[24];

	*ark_der = NULL;
	if (e->ncerts > 0) {
		c->vcek = e->certs[0];
		c->vcek_len = e->certs_len[0];
		snprintf(u->where[0], sizeof(u->where[0]), "the evidence");
	}
	if (e->ncerts > 1) {
		c->ask = e->certs[1];
		c->ask_len = e->certs_len[1];
		snprintf(u->where[1], sizeof(u->where[1]), "the evidence");
	}
	if (e->ncerts > 2) {
		c->ark = e->certs[2];
		c->ark_len = e->certs_len[2];
		snprintf(u->where[2], sizeof(u->where[2]), "the evidence");
	}
	if (!c->vcek && !policy_vcek(u)) {
		nacre_short_hex(u->rep.chip_id, 64, chip);
		return nacre_vset(u->r, NACRE_E_COLLATERAL, "SNP no-vcek: the "
				  "evidence carries no VCEK and the policy has "
				  "none (chip_id %s); set snp.certs to a "
				  "directory holding this chip's VCEK from AMD "
				  "KDS, with the ASK and ARK.", chip);
	}
	if (!c->ask && policy_issuer(u, c->vcek, c->vcek_len, &c->ask,
				     &c->ask_len))
		snprintf(u->where[1], sizeof(u->where[1]), "snp.certs");
	if (!c->ask)
		return nacre_vset(u->r, NACRE_E_COLLATERAL, "SNP no-ask: no ASK "
				  "issued the VCEK: the evidence carries none "
				  "and snp.certs has none; put AMD KDS's "
				  "cert_chain.pem (ASK, ARK) in snp.certs.");
	policy_root(u);
	if (!c->ark && !u->trusted &&
	    policy_issuer(u, c->ask, c->ask_len, &c->ark, &c->ark_len)) {
		snprintf(u->where[2], sizeof(u->where[2]), "snp.certs");
		policy_root(u); /* that ARK may be a root the policy names */
	}
	if (!c->ark && !u->trusted)
		return nacre_vset(u->r, NACRE_E_COLLATERAL, "SNP no-ark: no ARK "
				  "issued the ASK: the evidence carries none, "
				  "and neither snp.certs nor snp.roots has it; "
				  "put AMD KDS's cert_chain.pem in snp.certs.");
	if (u->trusted) {
		/* the policy's root, the anchor nacre_snp_chain_verify
		 * compares byte for byte with the chain's ARK (or is the ARK
		 * when the chain carries none) */
		int n = i2d_X509(u->trusted, ark_der);
		if (n <= 0)
			return nacre_vset(u->r, NACRE_E_INTERNAL, "Cannot "
					  "encode the policy's ARK.");
		*ark_len = (size_t)n;
		c->trusted_ark = *ark_der;
		c->trusted_ark_len = *ark_len;
		if (!c->ark) {
			c->ark = *ark_der;
			c->ark_len = *ark_len;
			snprintf(u->where[2], sizeof(u->where[2]),
				 "snp.roots");
		}
	}
	return NACRE_OK;
}

/* an AMD ARK must be of a product the policy names (amd-milan,
 * amd-genoa); a root the policy names by file is trusted as such */
static int
check_product(struct snp_run *u, enum nacre_snp_product product)
{
	const struct nacre_policy_snp *t = &u->p->snp;
	uint8_t h[32];

	if (u->certs.ark && EVP_Digest(u->certs.ark, u->certs.ark_len, h, NULL,
				       EVP_sha256(), NULL) == 1)
		nacre_hex_encode(h, 32, u->r->root_sha256_hex);
	if (u->trusted) {
		snprintf(u->f->product, sizeof(u->f->product), "%s (policy "
			 "root)", nacre_snp_product_name(product));
		return NACRE_OK;
	}
	snprintf(u->f->product, sizeof(u->f->product), "%s",
		 nacre_snp_product_name(product));
	if (t->amd_products & (1u << product))
		return NACRE_OK;
	return nacre_vset(u->r, NACRE_E_UNTRUSTED_ROOT, "SNP %s: the report "
			  "chains to AMD's %s ARK, which this policy does not "
			  "trust; add \"amd-%s\" to snp.roots to accept %s "
			  "chips.", nacre_snp_status_name(
				  NACRE_SNP_E_ARK_UNTRUSTED),
			  nacre_snp_product_name(product),
			  product == NACRE_SNP_PRODUCT_MILAN ? "milan" : "genoa",
			  nacre_snp_product_name(product));
}

static void
facts(struct snp_run *u)
{
	const struct nacre_snp_report *rep = &u->rep;
	struct nacre_tee_facts *f = u->f;
	const uint8_t *vals[3] = { rep->measurement, rep->host_data,
				   rep->id_key_digest };
	const char *rel;

	f->decoded = true;
	memcpy(f->measurement, rep->measurement, 48);
	memcpy(f->host_data, rep->host_data, 32);
	memcpy(f->id_key_digest, rep->id_key_digest, 48);
	f->vmpl = rep->vmpl;
	f->guest_policy = rep->policy;
	f->reported_tcb[0] = rep->reported_tcb.bootloader;
	f->reported_tcb[1] = rep->reported_tcb.tee;
	f->reported_tcb[2] = rep->reported_tcb.snp;
	f->reported_tcb[3] = rep->reported_tcb.microcode;
	if ((rel = nacre_manifest_match_snp(u->p, vals)))
		snprintf(f->release, sizeof(f->release), "%s", rel);
	u->r->debug = (rep->policy & NACRE_SNP_POLICY_DEBUG) != 0;
}

static int
measurement(struct nacre_result *r, enum nacre_snp_status st,
	    const char *key, const uint8_t *got, const struct nacre_vals *want)
{
	char g[97], list[300];

	if (want->n == 0 || nacre_vals_has(want, got))
		return NACRE_OK;
	nacre_hex_encode(got, want->len, g);
	nacre_vlist(want->v, want->n, want->len, list, sizeof(list));
	return nacre_vset(r, NACRE_E_MEASUREMENT, "SNP %s: %s is %s, the policy "
			  "expects one of: %s; the guest runs other code or "
			  "was launched otherwise than allowed (update snp.%s, "
			  "or add a release manifest, if this build is yours).",
			  nacre_snp_status_name(st), key, g, list, key);
}

static int
check_policy(struct snp_run *u, struct nacre_snp_result *sr)
{
	const struct nacre_policy_snp *t = &u->p->snp;
	struct nacre_snp_expect w = {
		.allow_any_measurement = true,
		.allow_debug = t->allow_debug,
		.allow_migrate_ma = t->allow_migration_agent,
		.max_vmpl = t->max_vmpl,
		.min_bootloader = t->min_bootloader,
		.min_tee = t->min_tee,
		.min_snp = t->min_snp,
		.min_microcode = t->min_microcode,
	};
	struct nacre_result *r = u->r;
	int st;

	if ((st = measurement(r, NACRE_SNP_E_MEASUREMENT, "measurement",
			      u->rep.measurement, &t->measurement)) ||
	    (st = measurement(r, NACRE_SNP_E_HOST_DATA, "host_data",
			      u->rep.host_data, &t->host_data)) ||
	    (st = measurement(r, NACRE_SNP_E_ID_KEY_DIGEST, "id_key_digest",
			      u->rep.id_key_digest, &t->id_key_digest)))
		return st;
	if (nacre_snp_check_expect(&u->rep, &w, sr) != NACRE_SNP_OK) {
		char msg[sizeof(sr->message)];
		const char *hint = sr->status == NACRE_SNP_E_DEBUG ?
			" (snp.allow_debug)" :
			sr->status == NACRE_SNP_E_MIGRATE_MA ?
			" (snp.allow_migration_agent)" :
			sr->status == NACRE_SNP_E_VMPL ? " (snp.max_vmpl)" :
			sr->status == NACRE_SNP_E_TCB_TOO_LOW ?
			" (snp.min_tcb)" : "";
		snprintf(msg, sizeof(msg), "%.440s%s", sr->message, hint);
		return fail(r, sr->status, msg);
	}
	if ((st = nacre_vcheck_age(u->p, r, "SEV-SNP evidence (its claims' "
				   "\"iat\")")))
		return st;
	if (!nacre_policy_pins_platform(u->p, NACRE_PLATFORM_SNP) &&
	    !nacre_policy_allows_any_code(u->p))
		return nacre_vset(r, NACRE_E_POLICY_UNPINNED, "The SEV-SNP "
				  "evidence is genuine, but the policy pins no "
				  "guest code, so any guest on a trusted chip "
				  "would pass: add snp.measurement, a release "
				  "manifest, or allow_any_code = true to accept "
				  "any guest.");
	return NACRE_OK;
}

int
nacre_verify_snp(const uint8_t *ev, size_t len, const uint8_t *spki,
		 size_t spki_len, const struct nacre_policy *p,
		 struct nacre_result *r, struct nacre_tee_facts *f)
{
	struct snp_run u = { .p = p, .r = r, .f = f };
	const struct nacre_policy_snp *t = &p->snp;
	struct nacre_snp_expect genuine = {
		.allow_any_measurement = true, .allow_debug = true,
		.allow_migrate_ma = true, .max_vmpl = UINT32_MAX,
	};
	struct nacre_snp_result *sr = NULL;
	struct nacre_tee_envelope e;
	uint8_t *ark_der = NULL;
	size_t ark_len = 0;
	char err[NACRE_ERRLEN], m[24], rel[96] = "";
	time_t now = nacre_policy_now(p);
	int st;

	if ((st = nacre_tee_read("SEV-SNP", ev, len, &e, r)))
		return st;
	if ((st = nacre_snp_report_parse(e.evidence, e.evidence_len, &u.rep,
					 err, sizeof(err))))
		return fail(r, st, err);
	facts(&u);
	if ((st = gather(&u, &e, &ark_der, &ark_len)))
		goto out;
	/* one AMD product named: the chain must lead to it */
	if (!u.trusted && t->amd_products == 1u << NACRE_SNP_PRODUCT_MILAN)
		genuine.product = NACRE_SNP_PRODUCT_MILAN;
	else if (!u.trusted && t->amd_products == 1u << NACRE_SNP_PRODUCT_GENOA)
		genuine.product = NACRE_SNP_PRODUCT_GENOA;
	if (!(sr = calloc(1, sizeof(*sr)))) {
		st = nacre_vset(r, NACRE_E_INTERNAL, "Out of memory.");
		goto out;
	}
	if (nacre_snp_verify(e.evidence, e.evidence_len, &u.certs,
			     now ? now : time(NULL), &genuine, sr)) {
		char msg[sizeof(r->message)];
		snprintf(msg, sizeof(msg), "%.380s (VCEK from %.16s, ASK from "
			 "%.16s, ARK from %.16s)", sr->message, u.where[0], u.where[1],
			 u.where[2]);
		st = fail(r, sr->status, msg);
		goto out;
	}
	if ((st = check_product(&u, sr->product)) ||
	    (st = nacre_tee_binding("SNP", nacre_snp_status_name(
					    NACRE_SNP_E_REPORT_DATA), &e, spki,
				    spki_len, u.rep.report_data, r)) ||
	    (st = check_policy(&u, sr)))
		goto out;
	nacre_short_hex(u.rep.measurement, 48, m);
	if (f->release[0])
		snprintf(rel, sizeof(rel), ", release %s", f->release);
	st = nacre_vset(r, NACRE_OK, "Valid AMD SEV-SNP evidence (%s chip, "
			"measurement %s, VMPL %u%s) that %s and satisfies the "
			"policy.", f->product, m, u.rep.vmpl, rel,
			spki ? "binds the certificate's key" :
			"(no key was given, so its binding was not checked)");
out:
	OPENSSL_free(ark_der);
	free(sr);
	return st;
}
