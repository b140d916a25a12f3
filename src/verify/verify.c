/*
 * verify.c: nacre_verify_cert, the verifier's pipeline: evidence out of the
 * certificate, document decoded, root trusted, chain at the document's
 * time, signature, binding to the certificate's key, then policy (age,
 * debug, PCRs, module ids). The first failure decides the status.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attest.h"
#include "libnacre.h"
#include "nacre/verify.h"

#define FUTURE_SLACK_MS (5 * 60 * 1000ULL)
#define NPCRS 16


static const char aws_root_hex[] =
	"641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

static const char *const status_names[] = {
	[NACRE_OK] = "ok",
	[NACRE_E_NO_EVIDENCE] = "no-evidence",
	[NACRE_E_EVIDENCE_MALFORMED] = "evidence-malformed",
	[NACRE_E_UNSUPPORTED] = "unsupported-evidence",
	[NACRE_E_DOC_MALFORMED] = "document-malformed",
	[NACRE_E_UNTRUSTED_ROOT] = "untrusted-root",
	[NACRE_E_CHAIN] = "chain-invalid",
	[NACRE_E_SIGNATURE] = "signature-invalid",
	[NACRE_E_BINDING] = "binding-mismatch",
	[NACRE_E_TOO_OLD] = "too-old",
	[NACRE_E_FROM_FUTURE] = "from-future",
	[NACRE_E_DEBUG] = "debug-enclave",
	[NACRE_E_PCR] = "pcr-mismatch",
	[NACRE_E_MODULE] = "module-not-allowed",
	[NACRE_E_INTERNAL] = "internal-error",
	[NACRE_E_POLICY_UNPINNED] = "policy-pins-no-code",
	[NACRE_E_FRESH_MISSING] = "fresh-evidence-missing",
	[NACRE_E_SESSION_BINDING] = "session-binding-mismatch",
};

const char *
nacre_verify_status_name(enum nacre_verify_status s)
{
	if ((unsigned)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[s];
}

static int set(struct nacre_result *r, enum nacre_verify_status st,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
set(struct nacre_result *r, enum nacre_verify_status st, const char *fmt, ...)
{
	va_list ap;

	r->status = st;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	return (int)st;
}

/* "3f1a2b3c…04a1": first 4 and last 2 bytes, enough to tell values apart */
static void
short_hex(const uint8_t *v, char out[24])
{
	char a[9], b[5];

	nacre_hex_encode(v, 4, a);
	nacre_hex_encode(v + 46, 2, b);
	snprintf(out, 24, "%s\u2026%s", a, b);
}

/* "2h", "2h 5m", "3d 4h", "40s", "1500ms": the two largest units */
static void
human_ms(uint64_t ms, char *out, size_t len)
{
	static const struct { uint64_t s; const char *u; } units[] = {
		{ 86400, "d" }, { 3600, "h" }, { 60, "m" }, { 1, "s" },
	};
	uint64_t s = ms / 1000;

	if (ms < 1000) {
		snprintf(out, len, "%" PRIu64 "ms", ms);
		return;
	}
	for (size_t i = 0; i < 4; i++) {
		if (s < units[i].s)
			continue;
		uint64_t rest = i < 3 ? s % units[i].s / units[i + 1].s : 0;
		if (rest)
			snprintf(out, len, "%" PRIu64 "%s %" PRIu64 "%s",
				 s / units[i].s, units[i].u, rest,
				 units[i + 1].u);
		else
			snprintf(out, len, "%" PRIu64 "%s", s / units[i].s,
				 units[i].u);
		return;
	}
}

static uint64_t
now_ms(const struct nacre_policy *p)
{
	struct timespec ts;
	time_t t = nacre_policy_now(p);

	if (t)
		return (uint64_t)t * 1000;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
evidence_status(int ev, const char *err, struct nacre_result *r)
{
	switch (ev) {
	case NACRE_EV_ABSENT:
		return set(r, NACRE_E_NO_EVIDENCE, "The certificate carries no "
			   "attestation evidence (no id-pe-cmw extension, "
			   "OID %s); the server is not an attested nacred or "
			   "a proxy in between replaced its certificate.",
			   NACRE_OID_PE_CMW);
	case NACRE_EV_UNSUPPORTED:
		return set(r, NACRE_E_UNSUPPORTED, "The certificate's evidence "
			   "is of a kind this verifier does not read: %s.",
			   err);
	case NACRE_EV_INTERNAL:
		return set(r, NACRE_E_INTERNAL, "Out of memory while reading "
			   "the evidence: %s.", err);
	default:
		return set(r, NACRE_E_EVIDENCE_MALFORMED, "The certificate's "
			   "attestation extension is malformed (%s); reject "
			   "this server.", err);
	}
}

/* the facts a caller may want to print, whatever the verdict */
static void
fill_facts(const struct nacre_nitro_doc *d, struct nacre_result *r)
{
	static const uint8_t zero[48];
	struct nacre_claims cl;
	char err[NACRE_ERRLEN];
	uint8_t h[32];

	snprintf(r->module_id, sizeof(r->module_id), "%s",
		 d->module_id ? d->module_id : "");
	r->timestamp_ms = d->timestamp_ms;
	for (unsigned i = 0; i < NPCRS; i++) {
		if (!(d->pcr_mask & (1u << i)) || d->pcr_len[i] != 48)
			continue;
		r->pcr_mask |= 1u << i;
		memcpy(r->pcr[i], d->pcr[i], 48);
	}
	r->debug = (r->pcr_mask & 7) == 7;
	for (unsigned i = 0; i < 3 && r->debug; i++)
		r->debug = memcmp(r->pcr[i], zero, 48) == 0;
	if (d->ncabundle && EVP_Digest(d->cabundle[0], d->cabundle_len[0], h,
				       NULL, EVP_sha256(), NULL) == 1)
		nacre_hex_encode(h, sizeof(h), r->root_sha256_hex);
	/* user_data of other software is not a claims map: no fact then */
	if (d->has_user_data &&
	    nacre_claims_decode(d->user_data, d->user_data_len, &cl, err,
				sizeof(err)) == 0) {
		r->has_config_sha256 = cl.has_config;
		if (cl.has_config)
			memcpy(r->config_sha256, cl.config_sha256, 32);
		if (cl.has_acme) {
			r->has_acme = true;
			snprintf(r->acme_account_url, sizeof(r->acme_account_url),
				 "%s", cl.acme_account_url);
			memcpy(r->acme_jwk_thumbprint, cl.acme_jwk_thumbprint, 32);
			r->acme_nkeys = cl.acme_nkeys;
			memcpy(r->acme_keys, cl.acme_keys, sizeof(r->acme_keys));
		}
		nacre_claims_free(&cl);
	}
}

static int
check_root(const struct nacre_nitro_doc *d, const struct nacre_policy *p,
	   struct nacre_result *r, X509 **root)
{
	*root = d->ncabundle ? nacre_policy_root_for(p, d->cabundle[0],
						     d->cabundle_len[0])
			     : NULL;
	if (*root)
		return NACRE_OK;
	if (strcmp(r->root_sha256_hex, aws_root_hex) == 0)
		return set(r, NACRE_E_UNTRUSTED_ROOT, "The document chains to "
			   "the AWS Nitro root, which this policy does not "
			   "trust; add \"aws-nitro\" to trust.roots to accept "
			   "real Nitro enclaves.");
	return set(r, NACRE_E_UNTRUSTED_ROOT, "The document chains to a root "
		   "with SHA-256 %s, which this policy does not trust; if "
		   "this is your nacre sim root, add \"sha256:%s\" to "
		   "trust.roots (development only).", r->root_sha256_hex,
		   r->root_sha256_hex);
}

static int
check_signed(const struct nacre_nitro_doc *d, X509 *root,
	     struct nacre_result *r)
{
	char err[NACRE_ERRLEN];
	EVP_PKEY *leaf;
	int rc;

	leaf = nacre_nitro_doc_verify_chain(d, root,
					    (time_t)(d->timestamp_ms / 1000),
					    err, sizeof(err));
	if (!leaf)
		return set(r, NACRE_E_CHAIN, "The document's certificate chain "
			   "does not verify at the document's time: %s; the "
			   "evidence is forged or damaged.", err);
	rc = nacre_nitro_doc_verify_sig(d, leaf, err, sizeof(err));
	EVP_PKEY_free(leaf);
	if (rc < 0)
		return set(r, NACRE_E_SIGNATURE, "The document's signature does "
			   "not verify: %s; the evidence is forged or "
			   "damaged.", err);
	return NACRE_OK;
}

/* spki NULL: a bare document, no certificate to bind (said on success) */
static int
check_binding(const struct nacre_nitro_doc *d, const uint8_t *spki,
	      size_t spki_len, struct nacre_result *r)
{
	if (!spki)
		return NACRE_OK;
	if (!d->has_public_key)
		return set(r, NACRE_E_BINDING, "The document binds no public "
			   "key (public_key is null), so it does not vouch for "
			   "this certificate's key; reject this server.");
	if (d->public_key_len != spki_len ||
	    memcmp(d->public_key, spki, spki_len) != 0)
		return set(r, NACRE_E_BINDING, "The document binds a different "
			   "key than this certificate's; the evidence was "
			   "copied from another certificate, reject this "
			   "server.");
	return NACRE_OK;
}

static int
check_age(const struct nacre_policy *p, struct nacre_result *r)
{
	uint64_t now = now_ms(p), ts = r->timestamp_ms;
	uint64_t max = nacre_policy_max_age_ms(p);
	char a[32], b[32];

	if (ts > now && ts - now > FUTURE_SLACK_MS) {
		human_ms(ts - now, a, sizeof(a));
		return set(r, NACRE_E_FROM_FUTURE, "The document is dated %s "
			   "in the future (more than the 5m allowed for clock "
			   "skew); check this machine's clock.", a);
	}
	if (ts < now && now - ts > max) {
		human_ms(now - ts, a, sizeof(a));
		human_ms(max, b, sizeof(b));
		return set(r, NACRE_E_TOO_OLD, "The document is %s old, older "
			   "than the policy's max_age of %s; the server should "
			   "re-attest (or check this machine's clock).", a, b);
	}
	return NACRE_OK;
}

static int
check_pcrs(const struct nacre_policy *p, struct nacre_result *r)
{
	for (unsigned i = 0; i < NPCRS; i++) {
		const uint8_t (*want)[48];
		size_t n = nacre_policy_pcr_values(p, i, &want);
		char got[24], list[300] = "";
		bool ok = false;

		if (n == 0)
			continue;
		for (size_t k = 0; k < n && (r->pcr_mask & (1u << i)); k++)
			ok = ok || memcmp(want[k], r->pcr[i], 48) == 0;
		if (ok)
			continue;
		for (size_t k = 0; k < n && k < 8; k++) {
			char v[24];
			short_hex(want[k], v);
			snprintf(list + strlen(list), sizeof(list) -
				 strlen(list), "%s%s", k ? ", " : "", v);
		}
		if (n > 8)
			snprintf(list + strlen(list), sizeof(list) -
				 strlen(list), " and %zu more", n - 8);
		if (!(r->pcr_mask & (1u << i)))
			return set(r, NACRE_E_PCR, "The document has no PCR%u, "
				   "policy expects one of: %s.", i, list);
		short_hex(r->pcr[i], got);
		return set(r, NACRE_E_PCR, "PCR%u is %s, policy expects one "
			   "of: %s; the enclave runs other code than the "
			   "policy allows (update pcrs.pcr%u if this build is "
			   "yours).", i, got, list, i);
	}
	return NACRE_OK;
}

static int
check_policy(const struct nacre_policy *p, struct nacre_result *r)
{
	size_t nallowed;
	int st;

	if ((st = check_age(p, r)) != NACRE_OK)
		return st;
	if (r->debug && !nacre_policy_allows_debug(p))
		return set(r, NACRE_E_DEBUG, "The enclave runs in debug mode "
			   "(PCR0, PCR1 and PCR2 are all zero), so its host "
			   "can read its memory; set allow_debug = true only "
			   "for development.");
	if ((st = check_pcrs(p, r)) != NACRE_OK)
		return st;
	if (!nacre_policy_module_allowed(p, r->module_id, &nallowed))
		return set(r, NACRE_E_MODULE, "The enclave's module id %s is "
			   "not among the policy's %zu module_ids; add it if "
			   "this enclave is yours.", r->module_id, nallowed);
	/* last: the evidence is sound, but a policy that pins nothing would
	 * take any code in any enclave under its roots for this one */
	if (nacre_policy_check(p, NULL, 0) < 0)
		return set(r, NACRE_E_POLICY_UNPINNED, "The evidence is genuine, "
			   "but the policy pins no code, so any enclave under "
			   "its roots would pass: add pcrs.pcr0 (the image "
			   "measurement) or module_ids, or allow_any_code = "
			   "true to accept any enclave.");
	return NACRE_OK;
}

/* every verification under allow_any_code (nothing pinned) says so */
static void
any_code_warning(const struct nacre_policy *p, struct nacre_result *r)
{
	if (nacre_policy_any_code(p))
		snprintf(r->warning, sizeof(r->warning), "%s",
			 NACRE_ANY_CODE_WARNING);
}

static int
verify_doc(const uint8_t *buf, size_t len, const uint8_t *spki,
	   size_t spki_len, const struct nacre_policy *p,
	   struct nacre_result *r)
{
	struct nacre_nitro_doc *d = NULL;
	char err[NACRE_ERRLEN];
	X509 *root = NULL;
	int st;

	if (nacre_nitro_doc_decode(buf, len, &d, err, sizeof(err)) < 0)
		return set(r, NACRE_E_DOC_MALFORMED, "The attestation document "
			   "is malformed (%s); reject this server.", err);
	fill_facts(d, r);
	if ((st = check_root(d, p, r, &root)) == NACRE_OK &&
	    (st = check_signed(d, root, r)) == NACRE_OK &&
	    (st = check_binding(d, spki, spki_len, r)) == NACRE_OK)
		st = check_policy(p, r);
	X509_free(root);
	nacre_nitro_doc_free(d);
	return st;
}

int
nacre_verify_document(const uint8_t *doc, size_t len, const uint8_t *spki,
		      size_t spki_len, const struct nacre_policy *p,
		      struct nacre_result *r)
{
	int st;

	memset(r, 0, sizeof(*r));
	if (!doc || !p)
		return set(r, NACRE_E_INTERNAL, "No document or no policy was "
			   "given to the verifier.");
	any_code_warning(p, r);
	snprintf(r->evidence_type, sizeof(r->evidence_type), "%s",
		 NACRE_MEDIA_TYPE_NITRO);
	st = verify_doc(doc, len, spki, spki_len, p, r);
	if (st == NACRE_OK)
		snprintf(r->message, sizeof(r->message), "The document from "
			 "enclave %s is genuine and satisfies the policy%s.",
			 r->module_id, spki ? ", and binds the given key" :
			 " (no key was given, so its binding was not checked)");
	return st;
}

int
nacre_verify_cert(X509 *cert, const struct nacre_policy *p,
		  struct nacre_result *r)
{
	char err[NACRE_ERRLEN] = "", *mt = NULL;
	uint8_t *doc = NULL;
	size_t len = 0;
	int ev, st;

	memset(r, 0, sizeof(*r));
	if (!cert || !p)
		return set(r, NACRE_E_INTERNAL, "No certificate or no policy "
			   "was given to the verifier.");
	any_code_warning(p, r);
	ev = nacre_evidence_from_cert(cert, &mt, &doc, &len, err, sizeof(err));
	if (ev != NACRE_EV_OK)
		return evidence_status(ev, err, r);
	snprintf(r->evidence_type, sizeof(r->evidence_type), "%s", mt);
	if (strcmp(mt, NACRE_MEDIA_TYPE_NITRO) != 0)
		st = set(r, NACRE_E_UNSUPPORTED, "The certificate's evidence is "
			 "of type %s; this verifier reads %s only.", mt,
			 NACRE_MEDIA_TYPE_NITRO);
	else {
		uint8_t *spki = NULL;
		int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki);
		st = n <= 0 ? set(r, NACRE_E_INTERNAL, "Cannot encode the "
				  "certificate's public key.")
			    : verify_doc(doc, len, spki, (size_t)n, p, r);
		OPENSSL_free(spki);
	}
	free(mt);
	free(doc);
	if (st == NACRE_OK)
		snprintf(r->message, sizeof(r->message), "The certificate "
			 "carries valid evidence from enclave %s that "
			 "satisfies the policy.", r->module_id);
	return st;
}
