/*
 * verify.c: nacre_verify_cert and nacre_verify_document: evidence out of
 * the certificate, dispatched on its CMW media type to the platform's
 * pipeline, after the policy says it accepts that platform. AWS Nitro's is
 * here: document decoded, root trusted, chain at the document's time,
 * signature, binding to the certificate's key, then policy (age, debug,
 * PCRs, module ids). TDX's and SEV-SNP's are verify_tdx.c and
 * verify_snp.c. The first failure decides the status. Also the helpers
 * the platform files share (messages, age, claims facts).
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
#include "policy_int.h"
#include "tee_evidence.h"

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
	[NACRE_E_PLATFORM] = "platform-not-accepted",
	[NACRE_E_MEASUREMENT] = "measurement-mismatch",
	[NACRE_E_TCB] = "tcb-not-accepted",
	[NACRE_E_COLLATERAL] = "collateral-invalid",
	[NACRE_E_GUEST_POLICY] = "guest-policy-not-accepted",
};

const char *
nacre_verify_status_name(enum nacre_verify_status s)
{
	if ((unsigned)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[s];
}

int
nacre_vset(struct nacre_result *r, enum nacre_verify_status st,
	   const char *fmt, ...)
{
	va_list ap;

	r->status = st;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	return (int)st;
}

#define set nacre_vset

void
nacre_short_hex(const uint8_t *v, size_t n, char out[24])
{
	char a[9], b[5];

	nacre_hex_encode(v, 4, a);
	nacre_hex_encode(v + n - 2, 2, b);
	snprintf(out, 24, "%s\u2026%s", a, b);
}

/* "3f1a2b3c…04a1": first 4 and last 2 bytes, enough to tell values apart */
static void
short_hex(const uint8_t *v, char out[24])
{
	nacre_short_hex(v, 48, out);
}

void
nacre_vlist(const uint8_t *v, size_t n, size_t len, char *out, size_t outlen)
{
	out[0] = '\0';
	for (size_t k = 0; k < n && k < 8; k++) {
		char h[24];
		nacre_short_hex(v + k * len, len, h);
		snprintf(out + strlen(out), outlen - strlen(out), "%s%s",
			 k ? ", " : "", h);
	}
	if (n > 8)
		snprintf(out + strlen(out), outlen - strlen(out),
			 " and %zu more", n - 8);
}

const char *
nacre_platform_name(enum nacre_platform pl)
{
	switch (pl) {
	case NACRE_PLATFORM_NITRO: return "nitro";
	case NACRE_PLATFORM_TDX: return "tdx";
	case NACRE_PLATFORM_SNP: return "snp";
	default: return "none";
	}
}

enum nacre_platform
nacre_platform_of(const char *mt)
{
	if (!mt)
		return NACRE_PLATFORM_NONE;
	if (strcmp(mt, NACRE_MEDIA_TYPE_NITRO) == 0)
		return NACRE_PLATFORM_NITRO;
	if (strcmp(mt, NACRE_MEDIA_TYPE_TDX) == 0)
		return NACRE_PLATFORM_TDX;
	if (strcmp(mt, NACRE_MEDIA_TYPE_SNP) == 0)
		return NACRE_PLATFORM_SNP;
	return NACRE_PLATFORM_NONE;
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

uint64_t
nacre_vnow_ms(const struct nacre_policy *p)
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
	    nacre_vclaims(d->user_data, d->user_data_len, r, &cl, err,
			  sizeof(err)) == 0)
		nacre_claims_free(&cl);
}

int
nacre_vclaims(const uint8_t *claims, size_t len, struct nacre_result *r,
	      struct nacre_claims *cl, char *err, size_t errlen)
{
	if (nacre_claims_decode(claims, len, cl, err, errlen) < 0)
		return -1;
	r->has_config_sha256 = cl->has_config;
	if (cl->has_config)
		memcpy(r->config_sha256, cl->config_sha256, 32);
	if (cl->has_acme) {
		r->has_acme = true;
		snprintf(r->acme_account_url, sizeof(r->acme_account_url),
			 "%s", cl->acme_account_url);
		memcpy(r->acme_jwk_thumbprint, cl->acme_jwk_thumbprint, 32);
		r->acme_nkeys = cl->acme_nkeys;
		memcpy(r->acme_keys, cl->acme_keys, sizeof(r->acme_keys));
	}
	return 0;
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

int
nacre_vcheck_age(const struct nacre_policy *p, struct nacre_result *r,
		 const char *what)
{
	uint64_t now = nacre_vnow_ms(p), ts = r->timestamp_ms;
	uint64_t max = nacre_policy_max_age_ms(p);
	char a[32], b[32];

	if (ts > now && ts - now > FUTURE_SLACK_MS) {
		human_ms(ts - now, a, sizeof(a));
		return set(r, NACRE_E_FROM_FUTURE, "The %s is dated %s "
			   "in the future (more than the 5m allowed for clock "
			   "skew); check this machine's clock.", what, a);
	}
	if (ts < now && now - ts > max) {
		human_ms(now - ts, a, sizeof(a));
		human_ms(max, b, sizeof(b));
		return set(r, NACRE_E_TOO_OLD, "The %s is %s old, older "
			   "than the policy's max_age of %s; the server should "
			   "re-attest (or check this machine's clock).", what,
			   a, b);
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

	if ((st = nacre_vcheck_age(p, r, "document")) != NACRE_OK)
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
	if (!nacre_policy_pins_platform(p, NACRE_PLATFORM_NITRO) &&
	    !nacre_policy_allows_any_code(p))
		return set(r, NACRE_E_POLICY_UNPINNED, "The evidence is genuine, "
			   "but the policy pins no code, so any enclave under "
			   "its roots would pass: add pcrs.pcr0 (the image "
			   "measurement) or module_ids, or allow_any_code = "
			   "true to accept any enclave.");
	return NACRE_OK;
}

/* every verification under allow_any_code (the platform's code not
 * pinned) says so */
static void
any_code_warning(const struct nacre_policy *p, enum nacre_platform pl,
		 struct nacre_result *r)
{
	if (nacre_policy_any_code_for(p, pl))
		snprintf(r->warning, sizeof(r->warning), "%s",
			 pl == NACRE_PLATFORM_NITRO ? NACRE_ANY_CODE_WARNING :
			 "the policy pins no code for this platform "
			 "(allow_any_code): any code under the trusted roots "
			 "passes; pin tdx.mrtd or snp.measurement to accept "
			 "only yours");
}

static int
verify_doc(const uint8_t *buf, size_t len, const uint8_t *spki,
	   size_t spki_len, const struct nacre_policy *p,
	   struct nacre_result *r, struct nacre_tee_facts *f)
{
	struct nacre_nitro_doc *d = NULL;
	char err[NACRE_ERRLEN];
	const char *rel;
	X509 *root = NULL;
	int st;

	if (nacre_nitro_doc_decode(buf, len, &d, err, sizeof(err)) < 0)
		return set(r, NACRE_E_DOC_MALFORMED, "The attestation document "
			   "is malformed (%s); reject this server.", err);
	fill_facts(d, r);
	f->decoded = true;
	if ((rel = nacre_manifest_match_nitro(p, r->pcr_mask,
					      (const uint8_t (*)[48])r->pcr)))
		snprintf(f->release, sizeof(f->release), "%s", rel);
	if ((st = check_root(d, p, r, &root)) == NACRE_OK &&
	    (st = check_signed(d, root, r)) == NACRE_OK &&
	    (st = check_binding(d, spki, spki_len, r)) == NACRE_OK)
		st = check_policy(p, r);
	X509_free(root);
	nacre_nitro_doc_free(d);
	return st;
}

/* the section a policy needs for pl's evidence */
static int
platform_refused(enum nacre_platform pl, struct nacre_result *r)
{
	switch (pl) {
	case NACRE_PLATFORM_TDX:
		return set(r, NACRE_E_PLATFORM, "The evidence is from Intel TDX, "
			   "a platform this policy does not accept; add a tdx "
			   "section (tdx = { collateral = \"DIR\"; mrtd = "
			   "[ \"<hex>\" ]; };) or a manifest with tdx values to "
			   "accept TDX guests.");
	case NACRE_PLATFORM_SNP:
		return set(r, NACRE_E_PLATFORM, "The evidence is from AMD "
			   "SEV-SNP, a platform this policy does not accept; "
			   "add an snp section (snp = { measurement = "
			   "[ \"<hex>\" ]; };) or a manifest with snp values to "
			   "accept SEV-SNP guests.");
	default:
		return set(r, NACRE_E_PLATFORM, "The evidence is from AWS Nitro "
			   "Enclaves, a platform this policy does not accept "
			   "(it describes only %s); add Nitro's keys (nitro = "
			   "{ pcrs = { pcr0 = [ \"<hex>\" ]; }; };, or the "
			   "top-level pcrs and trust) to accept Nitro "
			   "enclaves.", "TDX or SEV-SNP");
	}
}

int
nacre_verify_evidence(const char *mt, const uint8_t *ev, size_t len,
		      const uint8_t *spki, size_t spki_len,
		      const struct nacre_policy *p, struct nacre_result *r,
		      struct nacre_tee_facts *f)
{
	struct nacre_tee_facts local;
	enum nacre_platform pl = nacre_platform_of(mt);

	memset(r, 0, sizeof(*r));
	if (!f)
		f = &local;
	memset(f, 0, sizeof(*f));
	if (!ev || !p || !mt)
		return set(r, NACRE_E_INTERNAL, "No evidence or no policy was "
			   "given to the verifier.");
	snprintf(r->evidence_type, sizeof(r->evidence_type), "%s", mt);
	f->platform = pl;
	if (pl == NACRE_PLATFORM_NONE)
		return set(r, NACRE_E_UNSUPPORTED, "The evidence is of type %s; "
			   "this verifier reads %s, %s and %s.", mt,
			   NACRE_MEDIA_TYPE_NITRO, NACRE_MEDIA_TYPE_TDX,
			   NACRE_MEDIA_TYPE_SNP);
	if (!nacre_policy_describes(p, pl))
		return platform_refused(pl, r);
	any_code_warning(p, pl, r);
	switch (pl) {
	case NACRE_PLATFORM_TDX:
		return nacre_verify_tdx(ev, len, spki, spki_len, p, r, f);
	case NACRE_PLATFORM_SNP:
		return nacre_verify_snp(ev, len, spki, spki_len, p, r, f);
	default:
		return verify_doc(ev, len, spki, spki_len, p, r, f);
	}
}

/* the message for Nitro evidence that passed */
static void
nitro_ok(struct nacre_result *r, const struct nacre_tee_facts *f,
	 const char *fmt_head, bool spki)
{
	char rel[96] = "";

	if (f->release[0])
		snprintf(rel, sizeof(rel), " (release %s)", f->release);
	if (fmt_head)
		snprintf(r->message, sizeof(r->message), "The certificate "
			 "carries valid evidence from enclave %s%s that "
			 "satisfies the policy.", r->module_id, rel);
	else
		snprintf(r->message, sizeof(r->message), "The document from "
			 "enclave %s%s is genuine and satisfies the policy%s.",
			 r->module_id, rel, spki ? ", and binds the given key" :
			 " (no key was given, so its binding was not checked)");
}

/* a bare document's media type: a CBOR map is the TDX/SNP envelope, whose
 * key 1 is an SNP report (1184 bytes) or a TD quote (longer); anything
 * else is taken for a Nitro COSE_Sign1 */
static const char *
sniff(const uint8_t *doc, size_t len)
{
	struct nacre_tee_envelope e;
	char err[NACRE_ERRLEN];

	if (len && (doc[0] >> 5) == 5 &&
	    nacre_tee_envelope_decode(doc, len, &e, err, sizeof(err)) == 0)
		return e.evidence_len == 1184 ? NACRE_MEDIA_TYPE_SNP :
		       NACRE_MEDIA_TYPE_TDX;
	if (len && (doc[0] >> 5) == 5)
		return NACRE_MEDIA_TYPE_TDX; /* the envelope's errors, said there */
	return NACRE_MEDIA_TYPE_NITRO;
}

int
nacre_verify_document(const uint8_t *doc, size_t len, const uint8_t *spki,
		      size_t spki_len, const struct nacre_policy *p,
		      struct nacre_result *r)
{
	struct nacre_tee_facts f;
	int st;

	memset(r, 0, sizeof(*r));
	if (!doc || !p)
		return set(r, NACRE_E_INTERNAL, "No document or no policy was "
			   "given to the verifier.");
	st = nacre_verify_evidence(sniff(doc, len), doc, len, spki, spki_len,
				   p, r, &f);
	if (st == NACRE_OK && f.platform == NACRE_PLATFORM_NITRO)
		nitro_ok(r, &f, NULL, spki != NULL);
	return st;
}

int
nacre_verify_cert_facts(X509 *cert, const struct nacre_policy *p,
			struct nacre_result *r, struct nacre_tee_facts *f)
{
	char err[NACRE_ERRLEN] = "", *mt = NULL;
	struct nacre_tee_facts local;
	uint8_t *doc = NULL, *spki = NULL;
	size_t len = 0;
	int ev, n, st;

	memset(r, 0, sizeof(*r));
	if (!f)
		f = &local;
	memset(f, 0, sizeof(*f));
	if (!cert || !p)
		return set(r, NACRE_E_INTERNAL, "No certificate or no policy "
			   "was given to the verifier.");
	ev = nacre_evidence_from_cert(cert, &mt, &doc, &len, err, sizeof(err));
	if (ev != NACRE_EV_OK)
		return evidence_status(ev, err, r);
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki);
	if (n <= 0) {
		snprintf(r->evidence_type, sizeof(r->evidence_type), "%s", mt);
		st = set(r, NACRE_E_INTERNAL, "Cannot encode the certificate's "
			 "public key.");
	} else {
		st = nacre_verify_evidence(mt, doc, len, spki, (size_t)n, p, r,
					   f);
	}
	OPENSSL_free(spki);
	free(mt);
	free(doc);
	if (st == NACRE_OK && f->platform == NACRE_PLATFORM_NITRO)
		nitro_ok(r, f, "cert", true);
	return st;
}

int
nacre_verify_cert(X509 *cert, const struct nacre_policy *p,
		  struct nacre_result *r)
{
	return nacre_verify_cert_facts(cert, p, r, NULL);
}
