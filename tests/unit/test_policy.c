/*
 * test_policy.c: struct nacre_policy: defaults (the built-in AWS root,
 * checked against its published fingerprint), the programmatic setters,
 * every key of the policy file, and every error with its line number; a
 * policy that pins no code is refused unless it allows any code; a root
 * file is never a FIFO (refused at once, not waited on) nor a key file.
 */
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "nacre/verify.h"
#include "tap.h"

#include "libnacre.h"

#define AWS_PEM "tests/vectors/nitro/aws_nitro_root_g1.pem"
#define AWS_HEX \
	"641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"
#define HEX48_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX48_B "0102030405060708090a0b0c0d0e0f10111213141516171" \
		"8191a1b1c1d1e1f202122232425262728292a2b2c2d2e2F30"

static char err[512];
static char dir[64] = "/tmp/nacre-test-policy-XXXXXX";
static char other_pem[128];
static uint8_t *aws_der, *other_der;
static size_t aws_der_len, other_der_len;

static uint8_t *
cert_der(X509 *x, size_t *len)
{
	uint8_t *der = NULL;
	int n = x ? i2d_X509(x, &der) : -1;

	*len = n > 0 ? (size_t)n : 0;
	return der;
}

static X509 *
pem_file(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return x;
}

/* a self-signed stand-in for a sim root, written to dir/other.pem */
static int
make_other_root(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-384");
	X509 *x = X509_new();
	FILE *f;
	int ok;

	snprintf(other_pem, sizeof(other_pem), "%s/other.pem", dir);
	X509_set_version(x, 2);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"other root", -1, -1,
				   0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	ok = X509_sign(x, k, EVP_sha384()) > 0 &&
	     (f = fopen(other_pem, "w")) != NULL;
	if (ok) {
		ok = PEM_write_X509(f, x) == 1;
		fclose(f);
	}
	other_der = cert_der(x, &other_der_len);
	X509_free(x);
	EVP_PKEY_free(k);
	return ok && other_der ? 0 : -1;
}

static bool
trusts(const struct nacre_policy *p, const uint8_t *der, size_t len)
{
	X509 *x = nacre_policy_root_for(p, der, len);

	X509_free(x);
	return x != NULL;
}

static void
test_builtin_root(void)
{
	X509 *x = pem_file(AWS_PEM);
	uint8_t h[32];
	char hex[65];

	aws_der = cert_der(x, &aws_der_len);
	CHECK(aws_der && EVP_Digest(aws_der, aws_der_len, h, NULL,
				    EVP_sha256(), NULL) == 1,
	      "the AWS root vector reads");
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	CHECK_STR(hex, AWS_HEX, "the AWS root vector has the published "
		  "fingerprint");
	X509_free(x);
}

static void
test_defaults(void)
{
	struct nacre_policy *p = nacre_policy_new();
	const uint8_t (*v)[48];
	size_t n, npcr = 0;

	CHECK(p != NULL, "nacre_policy_new");
	if (!p)
		return;
	CHECK(trusts(p, aws_der, aws_der_len),
	      "default: the built-in root is the AWS root G1 (DER-equal)");
	CHECK(!trusts(p, other_der, other_der_len),
	      "default: no other root is trusted");
	CHECK(!trusts(p, aws_der, aws_der_len - 1),
	      "default: a truncated root is not trusted");
	CHECK(nacre_policy_max_age_ms(p) == 2 * 3600 * 1000ULL,
	      "default: max_age 2h");
	CHECK(!nacre_policy_allows_debug(p), "default: debug not allowed");
	CHECK(nacre_policy_now(p) == 0, "default: the real clock");
	for (unsigned i = 0; i < 16; i++)
		npcr += nacre_policy_pcr_values(p, i, &v);
	CHECK(npcr == 0, "default: no PCR constraints");
	CHECK(nacre_policy_module_allowed(p, "anything", &n) && n == 0,
	      "default: any module id");

	uint8_t val[48] = { 1 };
	CHECK(nacre_policy_add_pcr(p, 16, val, 48) < 0 &&
	      nacre_policy_add_pcr(p, 0, val, 32) < 0,
	      "add_pcr refuses index 16 and 32-byte values");
	CHECK(nacre_policy_add_pcr(p, 15, val, 48) == 0 &&
	      nacre_policy_pcr_values(p, 15, &v) == 1 && v[0][0] == 1,
	      "add_pcr takes PCR15");
	CHECK(nacre_policy_add_module_id(p, "") < 0,
	      "add_module_id refuses an empty id");
	nacre_policy_set_max_age(p, 60);
	nacre_policy_set_allow_debug(p, true);
	nacre_policy_set_time(p, 12345);
	CHECK(nacre_policy_max_age_ms(p) == 60000 &&
	      nacre_policy_allows_debug(p) && nacre_policy_now(p) == 12345,
	      "setters: max_age, allow_debug, time");
	CHECK(nacre_policy_add_root_sha256(p, "abc", err, sizeof(err)) < 0,
	      "add_root_sha256 refuses a short hash");
	CHECK_HAS(err, "64 hex digits", "... saying what it expects");
	CHECK(trusts(p, aws_der, aws_der_len),
	      "a refused root leaves the default in place");
	CHECK(nacre_policy_add_root_pem(p, "/nonexistent/r.pem", err,
					sizeof(err)) < 0,
	      "add_root_pem refuses a missing file");
	CHECK_HAS(err, "/nonexistent/r.pem", "... naming it");
	CHECK(nacre_policy_add_root_pem(p, other_pem, err, sizeof(err)) == 0 &&
	      trusts(p, other_der, other_der_len) &&
	      !trusts(p, aws_der, aws_der_len) && !nacre_policy_trusts_aws(p),
	      "an explicit root replaces the implicit AWS default");
	CHECK(nacre_policy_add_root_aws(p, err, sizeof(err)) == 0 &&
	      trusts(p, aws_der, aws_der_len) &&
	      trusts(p, other_der, other_der_len),
	      "add_root_aws adds it back next to the other root");
	nacre_policy_free(p);
	nacre_policy_free(NULL);
}

static struct nacre_policy *
parse(const char *text)
{
	struct nacre_policy *p = NULL;

	if (nacre_policy_parse(&p, text, "t.policy", err, sizeof(err)) < 0)
		return NULL;
	return p;
}

static void
test_full(void)
{
	char text[2048];
	struct nacre_policy *p;
	const uint8_t (*v)[48];
	size_t n;

	snprintf(text, sizeof(text),
		 "# every key\n"
		 "trust = { roots = [ \"aws-nitro\", \"%s\", "
		 "\"sha256:%s\" ]; };\n"
		 "max_age = \"30m\";\n"
		 "allow_debug = true;\n"
		 "pcrs = {\n"
		 "  pcr0 = [ \"" HEX48_A "\", \"" HEX48_B "\" ];\n"
		 "  pcr8 = [ \"" HEX48_B "\" ];\n"
		 "  pcr15 = ( \"" HEX48_A "\" );\n"
		 "};\n"
		 "module_ids = [ \"i-1-enc1\", \"i-2-enc2\" ];\n"
		 "# trailing comment without newline",
		 other_pem, "00112233445566778899aabbccddeeff"
			    "00112233445566778899AABBCCDDEEFF");
	p = parse(text);
	CHECK(p != NULL, "a policy with every key parses");
	if (!p) {
		printf("# %s\n", err);
		return;
	}
	CHECK(trusts(p, aws_der, aws_der_len) &&
	      trusts(p, other_der, other_der_len),
	      "trust.roots: aws-nitro and a PEM path");
	CHECK(nacre_policy_max_age_ms(p) == 30 * 60 * 1000ULL,
	      "max_age \"30m\"");
	CHECK(nacre_policy_allows_debug(p), "allow_debug = true");
	CHECK(nacre_policy_pcr_values(p, 0, &v) == 2 && v[0][0] == 0xaa &&
	      v[1][0] == 0x01 && v[1][47] == 0x30,
	      "pcrs.pcr0: two values, hex in either case");
	CHECK(nacre_policy_pcr_values(p, 8, &v) == 1 && v[0][1] == 0x02,
	      "pcrs.pcr8: one value");
	CHECK(nacre_policy_pcr_values(p, 15, &v) == 1,
	      "pcrs.pcr15 as a list ( ... )");
	CHECK(nacre_policy_pcr_values(p, 1, &v) == 0, "pcr1 unconstrained");
	CHECK(nacre_policy_module_allowed(p, "i-2-enc2", &n) && n == 2 &&
	      !nacre_policy_module_allowed(p, "i-3-enc3", &n),
	      "module_ids: an allow-list");
	nacre_policy_free(p);

	p = parse("trust = { roots = [ \"sha256:" AWS_HEX "\" ]; };\n");
	CHECK(p && trusts(p, aws_der, aws_der_len) &&
	      !trusts(p, other_der, other_der_len),
	      "trust.roots: sha256 pin of the AWS root");
	nacre_policy_free(p);

	snprintf(text, sizeof(text), "trust = { roots = [ \"%s\" ]; };\n",
		 other_pem);
	p = parse(text);
	CHECK(p && !trusts(p, aws_der, aws_der_len) &&
	      trusts(p, other_der, other_der_len),
	      "trust.roots without aws-nitro: AWS is not trusted");
	nacre_policy_free(p);

	p = parse("");
	CHECK(p && trusts(p, aws_der, aws_der_len) &&
	      nacre_policy_max_age_ms(p) == 7200000 &&
	      !nacre_policy_allows_debug(p), "an empty policy is the default");
	nacre_policy_free(p);
}

struct bad {
	const char *text;
	const char *want; /* "t.policy:LINE: ..." prefix or substring */
	const char *name;
};

static const struct bad bad_cases[] = {
	{ "max_age = \"1h\";\nmaxage = \"2h\";\n",
	  "t.policy:2: unknown key \"maxage\" in the policy; known keys are: "
	  "trust, max_age", "unknown top-level key" },
	{ "\n\ntrust = { roots = [ \"aws-nitro\" ]; root = 1; };\n",
	  "t.policy:3: unknown key \"root\" in trust", "unknown key in trust" },
	{ "trust = 1;\n", "t.policy:1: trust must be a group",
	  "trust not a group" },
	{ "trust = { };\n", "t.policy:1: trust needs roots",
	  "trust without roots" },
	{ "trust = {\n roots = [ ];\n};\n",
	  "t.policy:2: trust.roots must be a non-empty list",
	  "empty roots" },
	{ "trust = {\n roots = ( 1 );\n};\n",
	  "t.policy:2: trust.roots[0] must be a string", "root not a string" },
	{ "trust = { roots = [ \"sha256:abcd\" ]; };\n",
	  "t.policy:1: trust.roots: a root's SHA-256 must be 64 hex digits",
	  "short sha256 pin" },
	{ "trust = { roots = [ \"sha256:" AWS_HEX "\" ]; };\n"
	  "trust2 = 1;\n", "t.policy:2: unknown key \"trust2\"",
	  "error after a good root" },
	{ "\ntrust = { roots = [ \"/nonexistent/root.pem\" ]; };\n",
	  "t.policy:2: trust.roots: /nonexistent/root.pem: cannot read the "
	  "root certificate: No such file", "missing PEM file" },
	{ "trust = { roots = [ \"/dev/null\" ]; };\n",
	  "t.policy:1: trust.roots: /dev/null: the root certificate must be a "
	  "regular file; this is a device", "a device is not a root file" },
	{ "trust = { roots = [ \"/dev/zero\" ]; };\n",
	  "t.policy:1: trust.roots: /dev/zero: the root certificate must be a "
	  "regular file", "an endless device is refused, not read" },
	{ "trust = { roots = [ \"LICENSE\" ]; };\n",
	  "t.policy:1: trust.roots: LICENSE holds no PEM certificate",
	  "file without a certificate" },
	{ "trust = { roots = [ \"\" ]; };\n",
	  "t.policy:1: trust.roots: an empty string", "empty root string" },
	{ "max_age = 7200;\n", "t.policy:1: max_age must be a duration string",
	  "max_age as a number" },
	{ "\nmax_age = \"2 hours\";\n",
	  "t.policy:2: max_age must be a duration string", "max_age bad unit" },
	{ "max_age = \"500ms\";\n", "t.policy:1: max_age must be at least 1s",
	  "max_age below 1s" },
	{ "allow_debug = \"yes\";\n",
	  "t.policy:1: allow_debug must be true or false", "allow_debug text" },
	{ "\nallow_any_code = 1;\n",
	  "t.policy:2: allow_any_code must be true or false",
	  "allow_any_code a number" },
	{ "allow_any_codes = true;\n",
	  "t.policy:1: unknown key \"allow_any_codes\" in the policy; known "
	  "keys are: trust, max_age, allow_debug, pcrs, module_ids, "
	  "allow_any_code", "unknown key lists allow_any_code" },
	{ "pcrs = [ 1 ];\n", "t.policy:1: pcrs must be a group",
	  "pcrs not a group" },
	{ "pcrs = {\n pcr16 = [ \"" HEX48_A "\" ];\n};\n",
	  "t.policy:2: unknown key \"pcr16\" in pcrs; write pcr0 to pcr15",
	  "pcr16" },
	{ "pcrs = {\n pcr01 = [ \"" HEX48_A "\" ];\n};\n",
	  "t.policy:2: unknown key \"pcr01\"", "pcr01 (leading zero)" },
	{ "pcrs = {\n\n pcrx = [ \"" HEX48_A "\" ];\n};\n",
	  "t.policy:3: unknown key \"pcrx\"", "pcrx" },
	{ "pcrs = {\n pcr2 = [ \"abcd\" ];\n};\n",
	  "t.policy:2: pcrs.pcr2[0] must be 96 hex digits (48 bytes, SHA-384), "
	  "got 4 characters", "short PCR value" },
	{ "pcrs = { pcr2 = [ \"" HEX48_A "\", \"zz" HEX48_A "\" ]; };\n",
	  "t.policy:1: pcrs.pcr2[1] must be 96 hex digits", "PCR value not hex" },
	{ "pcrs = { pcr2 = [ ]; };\n",
	  "t.policy:1: pcrs.pcr2 must be a non-empty list", "empty PCR list" },
	{ "pcrs = { pcr2 = \"" HEX48_A "\"; };\n",
	  "t.policy:1: pcrs.pcr2 must be a non-empty list", "PCR not a list" },
	{ "pcrs = { pcr3 = ( 5 ); };\n",
	  "t.policy:1: pcrs.pcr3[0] must be a string", "PCR value a number" },
	{ "module_ids = \"i-1\";\n", "t.policy:1: module_ids must be a list",
	  "module_ids not a list" },
	{ "\nmodule_ids = [ \"i-1\", \"\" ];\n",
	  "t.policy:2: module_ids[1] must be a non-empty string",
	  "empty module id" },
	{ "max_age = \"2h\";\nallow_debug = ;\n", "t.policy:2: syntax error",
	  "syntax error (missing value)" },
	{ "max_age = \"2h\";\npcrs = { pcr0 = [ \"a\" ];\n",
	  "t.policy:3: syntax error", "syntax error (unclosed group)" },
	{ "\n@include \"/etc/passwd\"\n",
	  "t.policy:2: @include is not supported",
	  "@include" },
	{ NULL, NULL, NULL },
};

static void
test_errors(void)
{
	for (const struct bad *b = bad_cases; b->text; b++) {
		struct nacre_policy *p = (struct nacre_policy *)1;
		int rc = nacre_policy_parse(&p, b->text, "t.policy", err,
					    sizeof(err));
		CHECK(rc < 0 && p == NULL, b->name);
		CHECK_HAS(err, b->want, b->name);
	}
}

/* a policy must pin code (a PCR or a module id) or say it takes any */
static void
test_any_code(void)
{
	struct nacre_policy *p = parse("");
	uint8_t v[48] = { 1 };

	CHECK(p && !nacre_policy_pins_code(p) &&
	      nacre_policy_check(p, err, sizeof(err)) < 0,
	      "unpinned: an empty policy pins no code and fails the check");
	CHECK_STR(err, "the policy pins no code: add pcrs.pcr0 (the image "
		  "measurement) or module_ids, or allow_any_code = true to "
		  "accept any enclave", "unpinned: ... saying what to pin");
	nacre_policy_free(p);

	p = parse("trust = { roots = [ \"aws-nitro\" ]; };\n"
		  "allow_any_code = false;\n");
	CHECK(p && nacre_policy_check(p, err, sizeof(err)) < 0 &&
	      !nacre_policy_any_code(p),
	      "unpinned: allow_any_code = false is the default, refused");
	nacre_policy_free(p);

	p = parse("trust = { roots = [ \"aws-nitro\" ]; };\n"
		  "allow_any_code = true;\n");
	CHECK(p && nacre_policy_check(p, err, sizeof(err)) == 0 &&
	      nacre_policy_any_code(p),
	      "allow_any_code = true: the check passes, any code taken");
	nacre_policy_add_pcr(p, 0, v, sizeof(v));
	CHECK(p && nacre_policy_pins_code(p) && !nacre_policy_any_code(p),
	      "allow_any_code with PCR0 pinned: the pin applies");
	nacre_policy_free(p);

	p = nacre_policy_new();
	nacre_policy_set_allow_any_code(p, true);
	CHECK(p && nacre_policy_check(p, err, sizeof(err)) == 0 &&
	      nacre_policy_any_code(p), "nacre_policy_set_allow_any_code");
	nacre_policy_set_allow_any_code(p, false);
	CHECK(p && nacre_policy_check(p, err, sizeof(err)) < 0,
	      "... and back off");
	nacre_policy_free(p);

	p = parse("module_ids = [ \"i-1-enc1\" ];\n");
	CHECK(p && nacre_policy_check(p, err, sizeof(err)) == 0,
	      "module_ids alone pin the enclave");
	nacre_policy_free(p);
	p = parse("pcrs = { pcr8 = [ \"" HEX48_A "\" ]; };\n");
	CHECK(p && nacre_policy_check(p, err, sizeof(err)) == 0,
	      "any pinned PCR passes the check");
	nacre_policy_free(p);
}

static void
on_alarm(int sig)
{
	static const char msg[] = "not ok - a FIFO root hangs the verifier\n";

	(void)sig;
	(void)!write(1, msg, sizeof(msg) - 1);
	_exit(1);
}

/* root files: a FIFO is refused at once (it used to block in fopen until
 * a writer came), a file with a private key is refused naming the .crt */
static void
test_root_files(void)
{
	char path[160], text[512], crt[64];
	struct nacre_policy *p = nacre_policy_new();
	EVP_PKEY *k = EVP_EC_gen("P-384");
	X509 *x = pem_file(other_pem);
	FILE *f;

	snprintf(path, sizeof(path), "%s/fifo.pem", dir);
	CHECK(mkfifo(path, 0600) == 0, "a FIFO made for the root path");
	signal(SIGALRM, on_alarm);
	alarm(10);
	CHECK(nacre_policy_add_root_pem(p, path, err, sizeof(err)) < 0,
	      "a FIFO as root file is refused without waiting for a writer");
	snprintf(text, sizeof(text), "%s: the root certificate must be a "
		 "regular file; this is a FIFO", path);
	CHECK_HAS(err, text, "... saying it is a FIFO");
	snprintf(text, sizeof(text), "trust = { roots = [ \"%s\" ]; };\n",
		 path);
	CHECK(parse(text) == NULL && strstr(err, "this is a FIFO"),
	      "... in a policy file too");
	alarm(0);

	snprintf(path, sizeof(path), "%s/key.pem", dir);
	f = fopen(path, "w");
	if (f) {
		PEM_write_X509(f, x);
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
		fclose(f);
	}
	CHECK(nacre_policy_add_root_pem(p, path, err, sizeof(err)) < 0,
	      "a root file holding a private key is refused");
	snprintf(text, sizeof(text), "%s holds a private key; give the "
		 "verifier the root certificate alone (for nacred's sim root: "
		 "%s/key.crt", path, dir);
	CHECK_HAS(err, text, "... pointing at the certificate beside it");

	CHECK(nacre_sim_cert_path("/var/lib/nacre/sim-root.pem", crt,
				  sizeof(crt)) == 0 &&
	      strcmp(crt, "/var/lib/nacre/sim-root.crt") == 0,
	      "sim certificate path: sim-root.pem -> sim-root.crt");
	CHECK(nacre_sim_cert_path("/x.d/root", crt, sizeof(crt)) == 0 &&
	      strcmp(crt, "/x.d/root.crt") == 0,
	      "... a name without extension gets .crt (dots in directories "
	      "ignored)");
	CHECK(nacre_sim_cert_path("/x/.root", crt, sizeof(crt)) == 0 &&
	      strcmp(crt, "/x/.root.crt") == 0, "... .root -> .root.crt");
	CHECK(nacre_sim_cert_path("/x/root.crt", crt, sizeof(crt)) < 0 &&
	      nacre_sim_cert_path("/x/", crt, sizeof(crt)) < 0 &&
	      nacre_sim_cert_path("", crt, sizeof(crt)) < 0,
	      "... refused for a .crt key path, a directory, nothing");
	CHECK(nacre_sim_cert_path("/a/very/long/path/to/the/sim/root/key.pem",
				  crt, 16) < 0, "... and when it does not fit");
	X509_free(x);
	EVP_PKEY_free(k);
	nacre_policy_free(p);
}

static void
test_load(void)
{
	char path[160], text[256];
	struct nacre_policy *p = NULL;
	FILE *f;

	/* a relative PEM path is read next to the policy file */
	snprintf(path, sizeof(path), "%s/p.conf", dir);
	snprintf(text, sizeof(text), "trust = { roots = [ \"other.pem\" ]; };\n"
		 "max_age = \"1d\";\n");
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	CHECK(nacre_policy_load(&p, path, err, sizeof(err)) == 0 && p &&
	      trusts(p, other_der, other_der_len) &&
	      nacre_policy_max_age_ms(p) == 86400000ULL,
	      "load: a file; relative root paths are next to it");
	nacre_policy_free(p);

	f = fopen(path, "w");
	if (f) {
		fputs("max_age = \"1d\";\nbogus = 1;\n", f);
		fclose(f);
	}
	CHECK(nacre_policy_load(&p, path, err, sizeof(err)) < 0 && !p,
	      "load: a bad file is refused");
	snprintf(text, sizeof(text), "%s:2: unknown key \"bogus\"", path);
	CHECK_HAS(err, text, "... with PATH:LINE");

	CHECK(nacre_policy_load(&p, dir, err, sizeof(err)) < 0 && !p,
	      "load: a directory is refused");
	CHECK_HAS(err, "the policy must be a regular file; this is a directory",
		  "... as not a regular file");

	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	CHECK(nacre_policy_load(&p, path, err, sizeof(err)) < 0 && !p,
	      "load: a missing file is refused");
	CHECK_HAS(err, "missing.conf: cannot read the policy", "... naming it");
}

int
main(void)
{
	char cmd[128];

	if (!mkdtemp(dir) || make_other_root() < 0) {
		perror("setup");
		return 1;
	}
	test_builtin_root();
	test_defaults();
	test_full();
	test_errors();
	test_any_code();
	test_root_files();
	test_load();
	OPENSSL_free(aws_der);
	OPENSSL_free(other_der);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	TAP_DONE();
}
