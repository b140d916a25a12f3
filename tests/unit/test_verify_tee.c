/*
 * test_verify_tee.c: libnacre on TDX and SEV-SNP evidence
 * (docs/evidence-format.md 9): the envelope and REPORTDATA on fixed
 * vectors; the policy's tdx, snp and nitro sections, manifests and their
 * errors; pinning per platform; and certificates carrying evidence from
 * the simulated TDX and SNP hardware (src/tee/) verified end to end:
 * good, wrong measurement (the field named), wrong platform, wrong key,
 * tampered envelope, no "iat", too old "iat", untrusted root, no
 * collateral, and the fresh "hs" check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "attest.h"
#include "libnacre.h"
#include "nacre/verify.h"
#include "nacred.h"
#include "policy_int.h"
#include "snp.h"
#include "tap.h"
#include "tee/tee.h"
#include "tee_evidence.h"

static char err[512];
static char dir[64] = "/tmp/nacre-test-tee-XXXXXX";
static char tdx_dir[128], snp_dir[128];
static uint8_t mrtd[48], measurement[48];
static char mrtd_hex[97], meas_hex[97];
static EVP_PKEY *key, *other_key;

/* ---- helpers ---- */

static uint8_t *
spki_der(EVP_PKEY *k, size_t *len)
{
	uint8_t *der = NULL;
	int n = i2d_PUBKEY(k, &der);

	*len = n > 0 ? (size_t)n : 0;
	return der;
}

static X509 *
cert_with(EVP_PKEY *k, const char *mt, const uint8_t *ev, size_t len)
{
	X509 *x = X509_new();

	if (!x)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"tee", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), -300);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	if ((ev && nacre_evidence_add_to_cert(x, mt, ev, len) < 0) ||
	    X509_sign(x, k, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static uint64_t
now_ms(void)
{
	return (uint64_t)time(NULL) * 1000;
}

/* how to make one piece of evidence */
struct make {
	EVP_PKEY *bind;       /* the key REPORTDATA binds (default key) */
	bool no_iat;
	uint64_t iat_ms;      /* 0: now */
	bool has_hs;
	uint8_t hs[32];
	bool with_certs;      /* SNP: key 3 from the sim's certificate table */
	int flip;             /* >0: flip this byte of the quote/report */
	bool flip_claims;     /* change the claims after binding */
};

static uint8_t *
claims_for(const struct make *m, size_t *len)
{
	struct nacre_claims c = { .version = 1, .has_config = true };
	uint8_t *out = NULL;

	memset(c.config_sha256, 0xcf, 32);
	c.has_iat = !m->no_iat;
	c.iat_ms = m->iat_ms ? m->iat_ms : now_ms();
	if (m->has_hs) {
		c.has_binding = true;
		memcpy(c.binding, m->hs, 32);
	}
	if (nacre_claims_encode(&c, &out, len) < 0)
		return NULL;
	return out;
}

static uint8_t *
envelope(const uint8_t *ev, size_t ev_len, uint8_t *claims, size_t cl_len,
	 const struct nacre_snp_certtable *t, size_t *len)
{
	struct nacre_tee_envelope e = { .evidence = ev, .evidence_len = ev_len,
					.claims = claims,
					.claims_len = cl_len };
	uint8_t *out = NULL;

	if (t) {
		e.certs[0] = t->vcek;
		e.certs_len[0] = t->vcek_len;
		e.certs[1] = t->ask;
		e.certs_len[1] = t->ask_len;
		e.certs[2] = t->ark;
		e.certs_len[2] = t->ark_len;
		e.ncerts = 3;
	}
	return nacre_tee_envelope_encode(&e, &out, len) == 0 ? out : NULL;
}

/* a certificate for key carrying TDX (tdx) or SNP evidence */
static X509 *
tee_cert(void *sim, bool tdx, const struct make *m)
{
	uint8_t *spki, *claims, *ev = NULL, *aux = NULL, *env = NULL, rd[64];
	size_t spki_len, cl_len = 0, ev_len = 0, aux_len = 0, env_len = 0;
	struct nacre_snp_certtable t;
	X509 *x = NULL;
	int rc;

	spki = spki_der(m->bind ? m->bind : key, &spki_len);
	claims = claims_for(m, &cl_len);
	if (!spki || !claims ||
	    nacre_report_data(spki, spki_len, claims, cl_len, rd) < 0)
		goto out;
	rc = tdx ? nacre_tdx_sim_quote(sim, rd, &ev, &ev_len, err, sizeof(err))
		 : nacre_snp_sim_report(sim, rd, &ev, &ev_len,
					m->with_certs ? &aux : NULL,
					m->with_certs ? &aux_len : NULL, err,
					sizeof(err));
	if (rc < 0) {
		printf("# sim: %s\n", err);
		goto out;
	}
	if (m->flip > 0 && (size_t)m->flip < ev_len)
		ev[m->flip] ^= 0x01;
	if (m->flip_claims)
		claims[cl_len - 1] ^= 0x01;
	if (m->with_certs &&
	    nacre_snp_certtable_parse(aux, aux_len, &t, err, sizeof(err)) < 0) {
		printf("# certtable: %s\n", err);
		goto out;
	}
	env = envelope(ev, ev_len, claims, cl_len, m->with_certs ? &t : NULL,
		       &env_len);
	if (env)
		x = cert_with(key, tdx ? NACRE_MEDIA_TYPE_TDX :
			      NACRE_MEDIA_TYPE_SNP, env, env_len);
out:
	OPENSSL_free(spki);
	free(claims);
	free(ev);
	free(aux);
	free(env);
	return x;
}

static struct nacre_policy *
parse(const char *text)
{
	struct nacre_policy *p = NULL;

	if (nacre_policy_parse(&p, text, "t.policy", err, sizeof(err)) < 0) {
		printf("# parse: %s\n", err);
		return NULL;
	}
	return p;
}

static int
verify(X509 *x, const struct nacre_policy *p, struct nacre_result *r,
       struct nacre_tee_facts *f)
{
	int st = x && p ? nacre_verify_cert_facts(x, p, r, f) : -1;

	printf("# %s: %s\n", nacre_verify_status_name(r->status), r->message);
	return st;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* ---- envelope and REPORTDATA ---- */

static void
test_vectors(void)
{
	static const char want[] =
		"5dc3e224df4e79c6c0200c0076d8a4e0adb426962fff980bb86f861f"
		"a147d33cb463d92e4fe03f0e0084993bfb5a3f12703ed06db75f1600"
		"74ec1dc71a789d98";
	static const uint8_t claims[] = { 0xa1, 0x61, 0x76, 0x01 };
	uint8_t spki[91], rd[64], ev[8] = { 1, 2, 3 }, *out = NULL;
	char hex[129];
	size_t len = 0;
	struct nacre_tee_envelope e = { .evidence = ev, .evidence_len = 8,
					.claims = claims, .claims_len = 4 }, d;

	nacre_hex_decode("3059301306072a8648ce3d020106082a8648ce3d0301070342"
			 "0004", spki, 27);
	for (int i = 0; i < 64; i++)
		spki[27 + i] = (uint8_t)i;
	CHECK(nacre_report_data(spki, sizeof(spki), claims, sizeof(claims),
				rd) == 0, "REPORTDATA computes");
	nacre_hex_encode(rd, 64, hex);
	CHECK_STR(hex, want, "REPORTDATA = SHA-512(domain, u32 len, SPKI, u32 "
		  "len, claims) (computed independently with hashlib)");
	CHECK(nacre_tee_envelope_encode(&e, &out, &len) == 0 && len == 17 &&
	      out[0] == 0xa2 && out[1] == 0x01 && out[2] == 0x48 &&
	      out[11] == 0x02 && out[12] == 0x44,
	      "envelope {1: h'..8', 2: claims} encodes deterministically");
	CHECK(out && nacre_tee_envelope_decode(out, len, &d, err,
					       sizeof(err)) == 0 &&
	      d.evidence_len == 8 && d.claims_len == 4 && d.ncerts == 0,
	      "... and decodes back");
	if (out) {
		out[0] = 0xa3;
		CHECK(nacre_tee_envelope_decode(out, len, &d, err,
						sizeof(err)) < 0,
		      "an envelope claiming 3 entries with 2 fails");
	}
	free(out);
}

/* ---- policies ---- */

static void
test_policy_errors(void)
{
	static const struct { const char *text, *want, *name; } bad[] = {
		{ "tdx = { bogus = 1; };\n",
		  "t.policy:1: unknown key \"bogus\" in tdx", "tdx unknown key" },
		{ "tdx = {\n mrtd = [ \"abcd\" ]; };\n",
		  "t.policy:2: tdx.mrtd[0] must be 96 hex digits",
		  "tdx mrtd bad length" },
		{ "snp = { host_data = [ \"" "00112233445566778899aabbccddeeff"
		  "00112233445566778899aabbccddeeff00\" ]; };\n",
		  "snp.host_data[0] must be 64 hex digits",
		  "snp host_data is 32 bytes" },
		{ "snp = { max_vmpl = 4; };\n",
		  "snp.max_vmpl must be a whole number from 0 to 3",
		  "snp max_vmpl range" },
		{ "snp = { min_tcb = { bootloader = 300; }; };\n",
		  "snp.min_tcb.bootloader must be a whole number from 0 to 255",
		  "snp min_tcb range" },
		{ "snp = { min_tcb = { fw = 1; }; };\n",
		  "unknown key \"fw\" in snp.min_tcb", "snp min_tcb unknown" },
		{ "tdx = { tcb_status = [ \"Fine\" ]; };\n",
		  "\"Fine\" is not a TCB status; write one of: UpToDate",
		  "tdx tcb_status unknown" },
		{ "tdx = { max_collateral_age = \"soon\"; };\n",
		  "tdx.max_collateral_age must be a duration",
		  "tdx max_collateral_age" },
		{ "tdx = { roots = [ \"intel\" ]; };\n",
		  "tdx.roots: intel", "tdx root neither intel-sgx nor a file" },
		{ "snp = { roots = [ \"amd-turin\" ]; };\n",
		  "snp.roots: amd-turin", "snp root unknown" },
		{ "tdx = { collateral = \"/nonexistent/coll\"; };\n",
		  "tdx.collateral: /nonexistent/coll: cannot list",
		  "tdx collateral dir missing" },
		{ "snp = { certs = \"/nonexistent/c\"; };\n",
		  "snp.certs: /nonexistent/c: cannot list",
		  "snp certs dir missing" },
		{ "pcrs = { pcr0 = [ \"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" ]; };\n"
		  "nitro = { pcrs = { pcr1 = [ \"" "aaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaa\" ]; }; };\n",
		  "t.policy:2: nitro.pcrs duplicates the top-level pcrs",
		  "nitro section and top-level key at once" },
		{ "nitro = { pcrs = { pcr16 = [ \"aa\" ]; }; };\n",
		  "unknown key \"pcr16\" in nitro.pcrs", "nitro pcr16" },
		{ "nitro = { sealed = true; };\n",
		  "unknown key \"sealed\" in nitro", "nitro unknown key" },
		{ "tdx = { allow_debug = false; };\ntdx = { };\n",
		  "t.policy:2:", "duplicate tdx section" },
		{ "@include \"x\"\n", "t.policy:1: @include is not supported",
		  "@include" },
		{ "manifests = [ ];\n", "manifests must be a non-empty list",
		  "empty manifests" },
		{ "manifests = [ \"/nonexistent/r.conf\" ];\n",
		  "t.policy:1: manifests[0]: /nonexistent/r.conf",
		  "manifest file missing" },
		{ "tdx = \"yes\";\n", "tdx must be a group", "tdx not a group" },
	};
	struct nacre_policy *p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = NULL;
		CHECK(nacre_policy_parse(&p, bad[i].text, "t.policy", err,
					 sizeof(err)) < 0 && !p, bad[i].name);
		CHECK_HAS(err, bad[i].want, bad[i].name);
		nacre_policy_free(p);
	}
}

static void
test_manifest_errors(void)
{
	static const struct { const char *text, *want, *name; } bad[] = {
		{ "nitro = { pcr0 = \"aa\"; };\n",
		  "m.conf: a manifest needs release", "manifest without release" },
		{ "release = \"1.0\";\nsnp = { measurement = \"abcd\"; };\n",
		  "m.conf:2: snp.measurement must be 96 hex digits",
		  "manifest bad hex length" },
		{ "release = \"1.0\";\ntdx = { mrtd = [ \"aa\" ]; };\n",
		  "m.conf:2: tdx.mrtd must be a string", "manifest value a list" },
		{ "release = \"1.0\";\ntdx = { rtmr4 = \"aa\"; };\n",
		  "m.conf:2: unknown key \"rtmr4\" in tdx",
		  "manifest unknown tdx key" },
		{ "release = \"1.0\";\nextra = 1;\n",
		  "m.conf:2: unknown key \"extra\" in the manifest",
		  "manifest unknown key" },
		{ "release = \"1.0\";\n", "release 1.0 describes no platform",
		  "manifest with no platform" },
		{ "release = \"1.0\";\nrelease = \"1.1\";\n", "m.conf:2:",
		  "manifest duplicate key" },
	};
	char path[128], text[512];
	struct nacre_policy *p;

	snprintf(path, sizeof(path), "%s/m.conf", dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i].text);
		snprintf(text, sizeof(text), "manifests = [ \"%s\" ];\n", path);
		p = NULL;
		CHECK(nacre_policy_parse(&p, text, "t.policy", err,
					 sizeof(err)) < 0 && !p, bad[i].name);
		CHECK_HAS(err, bad[i].want + 0, bad[i].name);
		nacre_policy_free(p);
	}
	/* the same release twice */
	write_file(path, "release = \"1.0\";\nsnp = { measurement = \""
		   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"; };\n");
	snprintf(text, sizeof(text), "manifests = [ \"%s\", \"%s\" ];\n", path,
		 path);
	p = NULL;
	CHECK(nacre_policy_parse(&p, text, "t.policy", err, sizeof(err)) < 0,
	      "two manifests of one release are refused");
	CHECK_HAS(err, "describes release 1.0 again", "... naming the release");
	nacre_policy_free(p);
}

static void
test_pinning(void)
{
	struct nacre_policy *p;
	char text[512];

	p = parse("tdx = { roots = [ \"intel-sgx\" ]; };\n");
	CHECK(p && nacre_policy_describes(p, NACRE_PLATFORM_TDX) &&
	      !nacre_policy_describes(p, NACRE_PLATFORM_NITRO) &&
	      !nacre_policy_describes(p, NACRE_PLATFORM_SNP),
	      "a tdx section describes TDX alone (Nitro no longer implied)");
	CHECK(p && nacre_policy_check(p, err, sizeof(err)) < 0,
	      "a TDX policy without an MRTD pins no code");
	CHECK_HAS(err, "tdx.mrtd", "... and says to add tdx.mrtd");
	nacre_policy_free(p);

	snprintf(text, sizeof(text), "trust = { roots = [ \"aws-nitro\" ]; };\n"
		 "tdx = { mrtd = [ \"%s\" ]; };\n", mrtd_hex);
	p = parse(text);
	CHECK(p && nacre_policy_check(p, err, sizeof(err)) == 0,
	      "nacre_policy_check passes when one platform (TDX) is pinned");
	CHECK(p && nacre_policy_describes(p, NACRE_PLATFORM_NITRO) &&
	      !nacre_policy_pins_platform(p, NACRE_PLATFORM_NITRO) &&
	      nacre_policy_pins_platform(p, NACRE_PLATFORM_TDX),
	      "... Nitro described by trust.roots but not pinned");
	nacre_policy_free(p);

	p = parse("");
	CHECK(p && nacre_policy_describes(p, NACRE_PLATFORM_NITRO) &&
	      !nacre_policy_describes(p, NACRE_PLATFORM_TDX),
	      "an empty policy describes Nitro only, as before");
	nacre_policy_free(p);

	snprintf(text, sizeof(text), "nitro = { pcrs = { pcr0 = [ \"%s\" ]; };"
		 " };\n", mrtd_hex);
	p = parse(text);
	CHECK(p && nacre_policy_pins_platform(p, NACRE_PLATFORM_NITRO) &&
	      nacre_policy_check(p, err, sizeof(err)) == 0,
	      "nitro = { pcrs } pins Nitro like top-level pcrs");
	nacre_policy_free(p);

	p = parse("snp = { allow_debug = true; };\n");
	CHECK(p && nacre_policy_describes(p, NACRE_PLATFORM_SNP) &&
	      !nacre_policy_pins_platform(p, NACRE_PLATFORM_SNP),
	      "an snp section without a measurement: described, unpinned");
	nacre_policy_free(p);
}

static void
test_manifest(void)
{
	char path[256], text[1024], body[1024];
	struct nacre_policy *p;

	snprintf(path, sizeof(path), "%s/release-1.4.conf", dir);
	snprintf(body, sizeof(body), "release = \"1.4\";\n"
		 "tdx = { mrtd = \"%s\"; };\nsnp = { measurement = \"%s\"; };\n",
		 mrtd_hex, meas_hex);
	write_file(path, body);
	p = parse("manifests = [ \"/nonexistent.conf\" ];\n");
	CHECK(!p, "a missing manifest fails the policy");
	snprintf(path, sizeof(path), "%s/m.policy", dir);
	write_file(path, "manifests = [ \"release-1.4.conf\" ];\n");
	p = NULL;
	CHECK(nacre_policy_load(&p, path, err, sizeof(err)) == 0 && p,
	      "a relative manifest is read next to the policy file");
	CHECK(p && nacre_policy_pins_platform(p, NACRE_PLATFORM_TDX) &&
	      nacre_policy_pins_platform(p, NACRE_PLATFORM_SNP) &&
	      !nacre_policy_describes(p, NACRE_PLATFORM_NITRO),
	      "... and describes and pins the platforms it names, only those");
	if (p) {
		const uint8_t *t[7] = { mrtd, mrtd, mrtd, mrtd, mrtd, mrtd,
					mrtd };
		uint8_t zero[48] = { 0 };
		const uint8_t *s[3] = { measurement, zero, zero };
		const char *rel = nacre_manifest_match_tdx(p, t);
		CHECK(rel && strcmp(rel, "1.4") == 0,
		      "the TDX values name release 1.4");
		rel = nacre_manifest_match_snp(p, s);
		CHECK(rel && strcmp(rel, "1.4") == 0,
		      "the SNP values name release 1.4");
		s[0] = zero;
		CHECK(!nacre_manifest_match_snp(p, s),
		      "another measurement names no release");
	}
	nacre_policy_free(p);
	(void)text;
}

/* ---- end to end: TDX ---- */

static struct nacre_policy *
tdx_policy(const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text), "tdx = { roots = [ \"%s/%s\" ]; "
		 "collateral = \"%s\"; %s };\n", tdx_dir,
		 NACRE_TDX_SIM_ROOT_CRT, tdx_dir, extra);
	return parse(text);
}

static void
test_tdx(struct nacre_tdx_sim *s)
{
	struct make m = { 0 };
	struct nacre_tee_facts f;
	struct nacre_result r;
	struct nacre_policy *p;
	char extra[512], path[256], text[1024];
	X509 *good = tee_cert(s, true, &m), *x;

	CHECK(good != NULL, "TDX: a certificate with simulated TDX evidence");
	snprintf(extra, sizeof(extra), "mrtd = [ \"%s\" ];", mrtd_hex);
	p = tdx_policy(extra);
	CHECK(p != NULL, "TDX: the policy names the sim root and collateral");
	CHECK(verify(good, p, &r, &f) == NACRE_OK,
	      "TDX: the evidence verifies end to end");
	CHECK_STR(r.evidence_type, NACRE_MEDIA_TYPE_TDX,
		  "TDX: evidence_type names the platform");
	CHECK(f.platform == NACRE_PLATFORM_TDX && f.decoded &&
	      memcmp(f.mrtd, mrtd, 48) == 0 && r.has_config_sha256 &&
	      r.timestamp_ms > 0,
	      "TDX: the facts: platform, MRTD, claims, iat");
	CHECK_HAS(r.message, "Intel TDX", "TDX: the message names TDX");
	CHECK(nacre_verify_cert(good, p, &r) == NACRE_OK,
	      "TDX: nacre_verify_cert (public) agrees");
	nacre_policy_free(p);

	/* wrong measurement */
	memset(extra, 0, sizeof(extra));
	snprintf(extra, sizeof(extra), "mrtd = [ \"%096d\" ];", 0);
	p = tdx_policy(extra);
	CHECK(verify(good, p, &r, &f) == NACRE_E_MEASUREMENT,
	      "TDX: another MRTD fails with NACRE_E_MEASUREMENT");
	CHECK_HAS(r.message, "mrtd-mismatch: MRTD is ", "... naming the field");
	CHECK_HAS(r.message, mrtd_hex, "... showing what it got");
	CHECK_HAS(r.message, "expects one of: 00000000", "... and expected");
	CHECK_STR(nacre_verify_status_name(r.status), "measurement-mismatch",
		  "... status name measurement-mismatch");
	nacre_policy_free(p);
	snprintf(extra, sizeof(extra), "mrtd = [ \"%s\" ]; rtmr1 = [ \"%s\" ];",
		 mrtd_hex, mrtd_hex);
	p = tdx_policy(extra);
	CHECK(verify(good, p, &r, &f) == NACRE_E_MEASUREMENT,
	      "TDX: an RTMR1 other than pinned fails");
	CHECK_HAS(r.message, "RTMR1 is", "... naming RTMR1");
	nacre_policy_free(p);

	/* unpinned, any code */
	p = tdx_policy("");
	CHECK(verify(good, p, &r, &f) == NACRE_E_POLICY_UNPINNED,
	      "TDX: a tdx section pinning nothing refuses (unpinned)");
	nacre_policy_free(p);
	p = tdx_policy("");
	if (p)
		nacre_policy_set_allow_any_code(p, true);
	CHECK(verify(good, p, &r, &f) == NACRE_OK && r.warning[0],
	      "TDX: allow_any_code passes, with a warning");
	nacre_policy_free(p);

	/* wrong platform */
	snprintf(text, sizeof(text), "snp = { measurement = [ \"%s\" ]; };\n",
		 meas_hex);
	p = parse(text);
	CHECK(verify(good, p, &r, &f) == NACRE_E_PLATFORM,
	      "TDX evidence under an SNP-only policy: NACRE_E_PLATFORM");
	CHECK_HAS(r.message, "Intel TDX", "... naming the platform");
	CHECK_HAS(r.message, "tdx section", "... and the section to add");
	nacre_policy_free(p);
	p = parse("pcrs = { pcr0 = [ \"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "\" ]; };\n");
	CHECK(verify(good, p, &r, &f) == NACRE_E_PLATFORM,
	      "TDX evidence under a Nitro policy: NACRE_E_PLATFORM");
	nacre_policy_free(p);

	snprintf(extra, sizeof(extra), "mrtd = [ \"%s\" ];", mrtd_hex);
	p = tdx_policy(extra);
	/* wrong key */
	m = (struct make){ .bind = other_key };
	x = tee_cert(s, true, &m);
	CHECK(verify(x, p, &r, &f) == NACRE_E_BINDING,
	      "TDX: evidence binding another key fails (NACRE_E_BINDING)");
	CHECK_HAS(r.message, "report-data-mismatch", "... naming the check");
	X509_free(x);
	/* claims changed after binding */
	m = (struct make){ .flip_claims = true };
	x = tee_cert(s, true, &m);
	CHECK(verify(x, p, &r, &f) == NACRE_E_BINDING ||
	      r.status == NACRE_E_EVIDENCE_MALFORMED,
	      "TDX: claims altered after the quote fail");
	X509_free(x);
	/* tampered quote: a byte of the TD body */
	m = (struct make){ .flip = 48 + 200 };
	x = tee_cert(s, true, &m);
	CHECK(verify(x, p, &r, &f) == NACRE_E_SIGNATURE,
	      "TDX: a changed TD report body fails the quote signature");
	CHECK_HAS(r.message, "quote-signature-invalid", "... naming the check");
	X509_free(x);
	/* no iat, too old */
	m = (struct make){ .no_iat = true };
	x = tee_cert(s, true, &m);
	CHECK(verify(x, p, &r, &f) == NACRE_E_EVIDENCE_MALFORMED,
	      "TDX: claims without \"iat\" are refused");
	CHECK_HAS(r.message, "no \"iat\"", "... saying so");
	X509_free(x);
	m = (struct make){ .iat_ms = now_ms() - 3 * 3600 * 1000ULL };
	x = tee_cert(s, true, &m);
	CHECK(verify(x, p, &r, &f) == NACRE_E_TOO_OLD,
	      "TDX: an \"iat\" 3h old is past the default max_age of 2h");
	CHECK_HAS(r.message, "iat", "... saying which time");
	X509_free(x);
	m = (struct make){ .iat_ms = now_ms() + 3600 * 1000ULL };
	x = tee_cert(s, true, &m);
	CHECK(verify(x, p, &r, &f) == NACRE_E_FROM_FUTURE,
	      "TDX: an \"iat\" 1h ahead is from the future");
	X509_free(x);
	nacre_policy_free(p);

	/* untrusted root, no collateral */
	snprintf(text, sizeof(text), "tdx = { collateral = \"%s\"; mrtd = "
		 "[ \"%s\" ]; };\n", tdx_dir, mrtd_hex);
	p = parse(text);
	CHECK(verify(good, p, &r, &f) == NACRE_E_UNTRUSTED_ROOT,
	      "TDX: the sim root is not trusted unless the policy names it");
	nacre_policy_free(p);
	snprintf(text, sizeof(text), "tdx = { roots = [ \"%s/%s\" ]; mrtd = "
		 "[ \"%s\" ]; };\n", tdx_dir, NACRE_TDX_SIM_ROOT_CRT, mrtd_hex);
	p = parse(text);
	CHECK(verify(good, p, &r, &f) == NACRE_E_COLLATERAL,
	      "TDX: without collateral the TCB cannot be judged");
	CHECK_HAS(r.message, "tdx.collateral", "... saying what to set");
	nacre_policy_free(p);
	snprintf(extra, sizeof(extra), "mrtd = [ \"%s\" ]; tcb_status = "
		 "[ \"OutOfDate\" ];", mrtd_hex);
	p = tdx_policy(extra);
	CHECK(verify(good, p, &r, &f) == NACRE_E_TCB,
	      "TDX: a TCB status the policy does not list fails (NACRE_E_TCB)");
	CHECK_HAS(r.message, "tcb-status-not-accepted", "... naming the check");
	nacre_policy_free(p);

	/* manifest: the release is named */
	snprintf(path, sizeof(path), "%s/tdx-2.0.conf", dir);
	snprintf(text, sizeof(text), "release = \"2.0\";\ntdx = { mrtd = "
		 "\"%s\"; };\n", mrtd_hex);
	write_file(path, text);
	snprintf(extra, sizeof(extra), "}; manifests = [ \"%s\" ]; dummy = {",
		 path);
	snprintf(text, sizeof(text), "tdx = { roots = [ \"%s/%s\" ]; "
		 "collateral = \"%s\"; };\nmanifests = [ \"%s\" ];\n", tdx_dir,
		 NACRE_TDX_SIM_ROOT_CRT, tdx_dir, path);
	p = parse(text);
	CHECK(verify(good, p, &r, &f) == NACRE_OK &&
	      strcmp(f.release, "2.0") == 0,
	      "TDX: a manifest pins the MRTD and names its release");
	CHECK_HAS(r.message, "release 2.0", "... in the message too");
	nacre_policy_free(p);

	/* another sim (its root has the same name, not the same key) */
	{
		char other[160];
		struct nacre_tdx_sim *s2;

		snprintf(other, sizeof(other), "%s/tdx-other", dir);
		s2 = nacre_tdx_sim_open(other, mrtd, err, sizeof(err));
		m = (struct make){ 0 };
		x = s2 ? tee_cert(s2, true, &m) : NULL;
		snprintf(extra, sizeof(extra), "mrtd = [ \"%s\" ];", mrtd_hex);
		p = tdx_policy(extra);
		CHECK(verify(x, p, &r, &f) == NACRE_E_UNTRUSTED_ROOT,
		      "TDX: another sim's quote is refused: its root (same "
		      "name) is not the one the policy names");
		X509_free(x);
		nacre_policy_free(p);
		nacre_tdx_sim_free(s2);
	}
	X509_free(good);
}

/* ---- end to end: SNP ---- */

static struct nacre_policy *
snp_policy(const char *extra, bool certs_dir)
{
	char text[2048], certs[300] = "";

	if (certs_dir)
		snprintf(certs, sizeof(certs), "certs = \"%s\";", snp_dir);
	snprintf(text, sizeof(text), "snp = { roots = [ \"%s/%s\" ]; %s %s "
		 "};\n", snp_dir, NACRE_SNP_SIM_ARK_CRT, certs, extra);
	return parse(text);
}

static void
test_snp(struct nacre_snp_sim *s)
{
	struct make m = { .with_certs = true };
	struct nacre_tee_facts f;
	struct nacre_result r;
	struct nacre_policy *p;
	char extra[512], text[1024];
	X509 *good = tee_cert(s, false, &m), *bare, *x;

	m = (struct make){ 0 };
	bare = tee_cert(s, false, &m);
	CHECK(good && bare, "SNP: certificates with simulated SNP evidence, "
	      "with and without key 3");
	snprintf(extra, sizeof(extra), "measurement = [ \"%s\" ];", meas_hex);
	p = snp_policy(extra, false);
	CHECK(verify(good, p, &r, &f) == NACRE_OK,
	      "SNP: the evidence with its certificates verifies end to end");
	CHECK_STR(r.evidence_type, NACRE_MEDIA_TYPE_SNP,
		  "SNP: evidence_type names the platform");
	CHECK(f.platform == NACRE_PLATFORM_SNP &&
	      memcmp(f.measurement, measurement, 48) == 0 && !r.debug,
	      "SNP: the facts: platform, measurement, debug");
	CHECK(verify(bare, p, &r, &f) == NACRE_E_COLLATERAL,
	      "SNP: without key 3 and without snp.certs the VCEK is missing");
	CHECK_HAS(r.message, "snp.certs", "... saying to set snp.certs");
	nacre_policy_free(p);
	p = snp_policy(extra, true);
	CHECK(verify(bare, p, &r, &f) == NACRE_OK,
	      "SNP: without key 3 the VCEK, ASK come from snp.certs");
	nacre_policy_free(p);

	snprintf(extra, sizeof(extra), "measurement = [ \"%096d\" ];", 0);
	p = snp_policy(extra, false);
	CHECK(verify(good, p, &r, &f) == NACRE_E_MEASUREMENT,
	      "SNP: another measurement fails with NACRE_E_MEASUREMENT");
	CHECK_HAS(r.message, "snp-measurement: measurement is ",
		  "... naming the field");
	CHECK_HAS(r.message, meas_hex, "... showing what it got");
	nacre_policy_free(p);
	snprintf(extra, sizeof(extra), "measurement = [ \"%s\" ]; host_data = "
		 "[ \"%064d\" ];", meas_hex, 1);
	p = snp_policy(extra, false);
	CHECK(verify(good, p, &r, &f) == NACRE_E_MEASUREMENT,
	      "SNP: another host_data fails");
	CHECK_HAS(r.message, "host_data is", "... naming host_data");
	nacre_policy_free(p);
	snprintf(extra, sizeof(extra), "measurement = [ \"%s\" ]; min_tcb = { "
		 "microcode = 255; };", meas_hex);
	p = snp_policy(extra, false);
	CHECK(verify(good, p, &r, &f) == NACRE_E_TCB,
	      "SNP: a TCB below the minimum fails (NACRE_E_TCB)");
	CHECK_HAS(r.message, "snp-tcb-too-low", "... naming the check");
	nacre_policy_free(p);

	/* roots */
	snprintf(text, sizeof(text), "snp = { measurement = [ \"%s\" ]; };\n",
		 meas_hex);
	p = parse(text);
	CHECK(verify(good, p, &r, &f) == NACRE_E_UNTRUSTED_ROOT,
	      "SNP: the sim ARK is not trusted unless the policy names it");
	nacre_policy_free(p);

	/* wrong platform, key, tampering, iat */
	snprintf(text, sizeof(text), "tdx = { mrtd = [ \"%s\" ]; };\n",
		 mrtd_hex);
	p = parse(text);
	CHECK(verify(good, p, &r, &f) == NACRE_E_PLATFORM,
	      "SNP evidence under a TDX-only policy: NACRE_E_PLATFORM");
	CHECK_HAS(r.message, "snp section", "... naming the section to add");
	nacre_policy_free(p);
	snprintf(extra, sizeof(extra), "measurement = [ \"%s\" ];", meas_hex);
	p = snp_policy(extra, true);
	m = (struct make){ .bind = other_key };
	x = tee_cert(s, false, &m);
	CHECK(verify(x, p, &r, &f) == NACRE_E_BINDING,
	      "SNP: evidence binding another key fails (NACRE_E_BINDING)");
	CHECK_HAS(r.message, "snp-report-data", "... naming the check");
	X509_free(x);
	m = (struct make){ .flip = 0x90 };
	x = tee_cert(s, false, &m);
	CHECK(verify(x, p, &r, &f) == NACRE_E_SIGNATURE,
	      "SNP: a changed measurement byte fails the report signature");
	X509_free(x);
	m = (struct make){ .no_iat = true };
	x = tee_cert(s, false, &m);
	CHECK(verify(x, p, &r, &f) == NACRE_E_EVIDENCE_MALFORMED,
	      "SNP: claims without \"iat\" are refused");
	X509_free(x);
	m = (struct make){ .iat_ms = now_ms() - 3 * 3600 * 1000ULL };
	x = tee_cert(s, false, &m);
	CHECK(verify(x, p, &r, &f) == NACRE_E_TOO_OLD,
	      "SNP: an \"iat\" 3h old is too old");
	X509_free(x);
	nacre_policy_free(p);

	/* fresh: "hs" in the claims */
	{
		struct nacre_fresh_view v = { .nonce_len = 32,
					      .client_share_len = 32,
					      .server_share_len = 32 };
		uint8_t *claims;
		size_t cl_len;

		memset(v.nonce, 7, 32);
		m = (struct make){ .has_hs = true };
		nacre_fresh_binding(&v, m.hs);
		claims = claims_for(&m, &cl_len);
		CHECK(claims && nacre_fresh_check_claims(claims, cl_len, &v, err,
							 sizeof(err)) == NACRE_OK,
		      "fresh: claims whose \"hs\" is this handshake's pass");
		v.server_random[0] ^= 1;
		CHECK(claims && nacre_fresh_check_claims(claims, cl_len, &v, err,
							 sizeof(err)) ==
		      NACRE_E_SESSION_BINDING,
		      "fresh: another server random fails the session binding");
		CHECK_HAS(err, "bound to another handshake", "... saying so");
		free(claims);
		m = (struct make){ 0 };
		claims = claims_for(&m, &cl_len);
		CHECK(claims && nacre_fresh_check_claims(claims, cl_len, &v, err,
							 sizeof(err)) ==
		      NACRE_E_SESSION_BINDING,
		      "fresh: claims without \"hs\" fail the session binding");
		free(claims);
	}

	/* the bare envelope through nacre_verify_document */
	{
		char *mt = NULL;
		uint8_t *ev = NULL;
		size_t len = 0;

		snprintf(extra, sizeof(extra), "measurement = [ \"%s\" ];",
			 meas_hex);
		p = snp_policy(extra, true);
		if (nacre_evidence_from_cert(good, &mt, &ev, &len, err,
					     sizeof(err)) == 0 && p) {
			CHECK(nacre_verify_document(ev, len, NULL, 0, p, &r) ==
			      NACRE_OK && strcmp(r.evidence_type,
						 NACRE_MEDIA_TYPE_SNP) == 0,
			      "SNP: nacre_verify_document tells the envelope");
			CHECK_HAS(r.message, "binding was not checked",
				  "... and says the binding was not checked");
		}
		free(mt);
		free(ev);
		nacre_policy_free(p);
	}
	X509_free(good);
	X509_free(bare);
}

static void
test_status_names(void)
{
	CHECK_STR(nacre_verify_status_name(NACRE_E_PLATFORM),
		  "platform-not-accepted", "status name: platform");
	CHECK_STR(nacre_verify_status_name(NACRE_E_TCB), "tcb-not-accepted",
		  "status name: tcb");
	CHECK_STR(nacre_verify_status_name(NACRE_E_COLLATERAL),
		  "collateral-invalid", "status name: collateral");
	CHECK_STR(nacre_verify_status_name(NACRE_E_GUEST_POLICY),
		  "guest-policy-not-accepted", "status name: guest policy");
	CHECK(NACRE_E_SESSION_BINDING == 17 && NACRE_E_PLATFORM == 18 &&
	      NACRE_E_GUEST_POLICY == 22,
	      "the new codes are appended, the old ones keep their values");
	CHECK_STR(nacre_verify_status_name(NACRE_E_GUEST_POLICY + 1),
		  "unknown", "status name: past the end");
}

int
main(void)
{
	struct nacre_tdx_sim *tdx = NULL;
	struct nacre_snp_sim *snp = NULL;
	char cmd[160];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tdx_dir, sizeof(tdx_dir), "%s/tdx", dir);
	snprintf(snp_dir, sizeof(snp_dir), "%s/snp", dir);
	memset(mrtd, 0x4d, 48);
	memset(measurement, 0x5e, 48);
	nacre_hex_encode(mrtd, 48, mrtd_hex);
	nacre_hex_encode(measurement, 48, meas_hex);
	key = EVP_EC_gen("P-256");
	other_key = EVP_EC_gen("P-256");

	test_vectors();
	test_policy_errors();
	test_manifest_errors();
	test_pinning();
	test_manifest();
	test_status_names();

	tdx = nacre_tdx_sim_open(tdx_dir, mrtd, err, sizeof(err));
	CHECK(tdx != NULL, "the TDX sim opens");
	if (!tdx)
		printf("# %s\n", err);
	else
		test_tdx(tdx);
	snp = nacre_snp_sim_open(snp_dir, measurement, err, sizeof(err));
	CHECK(snp != NULL, "the SNP sim opens");
	if (!snp)
		printf("# %s\n", err);
	else
		test_snp(snp);

	nacre_tdx_sim_free(tdx);
	nacre_snp_sim_free(snp);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other_key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	TAP_DONE();
}
