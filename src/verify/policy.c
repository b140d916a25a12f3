/*
 * policy.c: what a verifier accepts (struct nacre_policy, policy_int.h):
 * trusted roots, freshness, debug enclaves, PCR values and module ids, built
 * in code or read from a libconfig file; the platforms it describes. Strict
 * like nacred.conf: unknown keys and bad values are errors "NAME:LINE: what
 * is wrong; what to write". The tdx and snp sections are policy_tee.c's,
 * release manifests manifest.c's.
 */
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "libnacre.h"
#include "nacre/verify.h"
#include "nacred.h"
#include "policy_int.h"

#define NPCRS NACRE_POL_NPCRS
#define PCR_LEN NACRE_POL_PCR_LEN
#define MODULE_ID_MAX 256
#define MAX_POLICY_FILE (256 * 1024)
#define DEFAULT_MAX_AGE_MS (2 * 3600 * 1000ULL)


/* AWS Nitro Enclaves Root G1 (docs/evidence-format.md §3), byte-exact */
static const char aws_root_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTEL\n"
	"MAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYD\n"
	"VQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4\n"
	"MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQL\n"
	"DANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEG\n"
	"BSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb\n"
	"48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZE\n"
	"h8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkF\n"
	"R+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYC\n"
	"MQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPW\n"
	"rfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6N\n"
	"IwLz3/Y=\n"
	"-----END CERTIFICATE-----\n";

static const uint8_t aws_root_sha256[32] = {
	0x64, 0x1a, 0x03, 0x21, 0xa3, 0xe2, 0x44, 0xef, 0xe4, 0x56, 0x46,
	0x31, 0x95, 0xd6, 0x06, 0x31, 0x7e, 0xd7, 0xcd, 0xcc, 0x3c, 0x17,
	0x56, 0xe0, 0x98, 0x93, 0xf3, 0xc6, 0x8f, 0x79, 0xbb, 0x5b,
};

/* ---- building blocks ---- */

static int
der_sha256(X509 *x, uint8_t out[32])
{
	uint8_t *der = NULL;
	int n = i2d_X509(x, &der);
	int ok = n > 0 && EVP_Digest(der, (size_t)n, out, NULL, EVP_sha256(),
				     NULL) == 1;

	OPENSSL_free(der);
	return ok ? 0 : -1;
}

/* the embedded root, after checking it is the one the format names */
static X509 *
aws_root(void)
{
	BIO *b = BIO_new_mem_buf(aws_root_pem, (int)sizeof(aws_root_pem) - 1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	uint8_t h[32];

	BIO_free(b);
	if (x && (der_sha256(x, h) < 0 ||
		  memcmp(h, aws_root_sha256, sizeof(h)) != 0)) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int
push_root(struct nacre_policy *p, X509 *x)
{
	X509 **n = realloc(p->roots, (p->nroots + 1) * sizeof(*n));

	if (!n)
		return -1;
	p->roots = n;
	p->roots[p->nroots++] = x;
	return 0;
}

/* the first explicit root drops the implicit AWS default */
static void
make_explicit(struct nacre_policy *p)
{
	if (p->roots_explicit)
		return;
	for (size_t i = 0; i < p->nroots; i++)
		X509_free(p->roots[i]);
	p->nroots = 0;
	p->roots_explicit = true;
}

/* ---- the programmatic API ---- */

struct nacre_policy *
nacre_policy_new(void)
{
	struct nacre_policy *p = calloc(1, sizeof(*p));
	X509 *x = aws_root();

	if (!p || !x || push_root(p, x) < 0) {
		X509_free(x);
		free(p);
		return NULL;
	}
	p->max_age_ms = DEFAULT_MAX_AGE_MS;
	return p;
}

void
nacre_policy_free(struct nacre_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nroots; i++)
		X509_free(p->roots[i]);
	free(p->roots);
	free(p->pins);
	for (size_t i = 0; i < NPCRS; i++)
		free(p->pcr[i].v);
	for (size_t i = 0; i < p->nmodule_ids; i++)
		free(p->module_ids[i]);
	free(p->module_ids);
	nacre_pol_tee_free(p);
	nacre_pol_manifests_free(p);
	free(p);
}

int
nacre_policy_add_root_aws(struct nacre_policy *p, char *err, size_t errlen)
{
	X509 *x;

	p->nitro_explicit = true;
	if (!p->roots_explicit) {
		p->roots_explicit = true; /* keep the default, now named */
		return 0;
	}
	if (!(x = aws_root()) || push_root(p, x) < 0) {
		X509_free(x);
		nacre_seterr(err, errlen, "cannot load the built-in AWS Nitro "
			     "root (out of memory?)");
		return -1;
	}
	return 0;
}

#define MAX_ROOT_FILE (64 * 1024)

int
nacre_sim_cert_path(const char *key_path, char *out, size_t len)
{
	const char *base = strrchr(key_path, '/');
	const char *dot;
	size_t stem;

	base = base ? base + 1 : key_path;
	dot = strrchr(base, '.');
	/* "root" and ".root" have no extension: ".crt" is appended */
	stem = dot && dot != base ? (size_t)(dot - key_path) : strlen(key_path);
	if (!*base || (dot && strcmp(dot, ".crt") == 0) ||
	    snprintf(out, len, "%.*s.crt", (int)stem, key_path) >= (int)len)
		return -1;
	return 0;
}

/* a root file is a small regular file (never a device or a FIFO, which
 * nacre_read_text_file refuses without waiting for a writer) holding a
 * certificate and no private key */
X509 *
nacre_pol_read_root(const char *path, char *err, size_t errlen)
{
	char *text, crt[4096];
	BIO *b;
	X509 *x = NULL;

	if (!(text = nacre_read_text_file(path, MAX_ROOT_FILE,
					  "root certificate", err, errlen)))
		return NULL;
	if (strstr(text, "PRIVATE KEY-----")) {
		/* a verifier never needs the root's key: nacred's sim keeps
		 * its key in PATH.pem and the certificate in PATH.crt */
		if (nacre_sim_cert_path(path, crt, sizeof(crt)) == 0)
			nacre_seterr(err, errlen, "%s holds a private key; give "
				     "the verifier the root certificate alone "
				     "(for nacred's sim root: %s, written "
				     "beside the key file)", path, crt);
		else
			nacre_seterr(err, errlen, "%s holds a private key; give "
				     "the verifier the root certificate alone",
				     path);
		goto out;
	}
	b = BIO_new_mem_buf(text, -1);
	x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	ERR_clear_error();
	if (!x)
		nacre_seterr(err, errlen, "%s holds no PEM certificate "
			     "(expected -----BEGIN CERTIFICATE-----)", path);
out:
	/* a key file read by mistake: leave no copy of the key behind */
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return x;
}

int
nacre_policy_add_root_pem(struct nacre_policy *p, const char *pem_path,
			  char *err, size_t errlen)
{
	X509 *x = nacre_pol_read_root(pem_path, err, errlen);

	if (!x)
		return -1;
	make_explicit(p);
	p->nitro_explicit = true;
	if (push_root(p, x) < 0) {
		X509_free(x);
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int
nacre_policy_add_root_sha256(struct nacre_policy *p, const char *hex,
			     char *err, size_t errlen)
{
	uint8_t h[32], (*n)[32];

	if (!hex || nacre_hex_decode(hex, h, sizeof(h)) < 0) {
		nacre_seterr(err, errlen, "a root's SHA-256 must be 64 hex "
			     "digits, got \"%s\"", hex ? hex : "(null)");
		return -1;
	}
	if (!(n = realloc(p->pins, (p->npins + 1) * sizeof(*n)))) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	p->pins = n;
	make_explicit(p);
	p->nitro_explicit = true;
	memcpy(p->pins[p->npins++], h, sizeof(h));
	return 0;
}

int
nacre_policy_add_pcr(struct nacre_policy *p, unsigned index,
		     const uint8_t *value, size_t len)
{
	struct pcr_allow *a;
	uint8_t (*n)[PCR_LEN];

	if (index >= NPCRS || len != PCR_LEN || !value)
		return -1;
	a = &p->pcr[index];
	if (!(n = realloc(a->v, (a->n + 1) * sizeof(*n))))
		return -1;
	a->v = n;
	memcpy(a->v[a->n++], value, PCR_LEN);
	p->nitro_explicit = true;
	return 0;
}

int
nacre_policy_add_module_id(struct nacre_policy *p, const char *id)
{
	char **n, *dup;

	if (!id || !*id || strlen(id) > MODULE_ID_MAX)
		return -1;
	if (!(dup = strdup(id)))
		return -1;
	n = realloc(p->module_ids, (p->nmodule_ids + 1) * sizeof(*n));
	if (!n) {
		free(dup);
		return -1;
	}
	p->module_ids = n;
	p->module_ids[p->nmodule_ids++] = dup;
	p->nitro_explicit = true;
	return 0;
}

void
nacre_policy_set_max_age(struct nacre_policy *p, uint64_t seconds)
{
	p->max_age_ms = seconds > UINT64_MAX / 1000 ? UINT64_MAX
						    : seconds * 1000;
}

void
nacre_policy_set_allow_debug(struct nacre_policy *p, bool allow)
{
	p->allow_debug = allow;
}

void
nacre_policy_set_time(struct nacre_policy *p, time_t now)
{
	p->now = now;
}

void
nacre_policy_set_allow_any_code(struct nacre_policy *p, bool allow)
{
	p->allow_any_code = allow;
}

void
nacre_policy_set_fresh(struct nacre_policy *p, bool fresh)
{
	p->fresh = fresh;
}

bool
nacre_policy_fresh(const struct nacre_policy *p)
{
	return p->fresh;
}

static bool
nitro_pinned(const struct nacre_policy *p)
{
	for (size_t i = 0; i < NPCRS; i++)
		if (p->pcr[i].n)
			return true;
	return p->nmodule_ids > 0;
}

bool
nacre_policy_describes(const struct nacre_policy *p, enum nacre_platform pl)
{
	switch (pl) {
	case NACRE_PLATFORM_NITRO:
		/* as before TDX and SNP: a policy naming no platform is
		 * Nitro's */
		return p->nitro_explicit ||
		       (!p->tdx.described && !p->snp.described);
	case NACRE_PLATFORM_TDX:
		return p->tdx.described;
	case NACRE_PLATFORM_SNP:
		return p->snp.described;
	default:
		return false;
	}
}

/* code pinned: Nitro a PCR or a module id; TDX the MRTD, an RTMR or
 * MRCONFIGID; SNP the launch measurement or the ID key that signs it */
bool
nacre_policy_pins_platform(const struct nacre_policy *p,
			   enum nacre_platform pl)
{
	switch (pl) {
	case NACRE_PLATFORM_NITRO:
		return nacre_policy_describes(p, pl) && nitro_pinned(p);
	case NACRE_PLATFORM_TDX:
		if (!p->tdx.described)
			return false;
		for (size_t i = 0; i < 4; i++)
			if (p->tdx.rtmr[i].n)
				return true;
		return p->tdx.mrtd.n || p->tdx.mrconfigid.n;
	case NACRE_PLATFORM_SNP:
		return p->snp.described &&
		       (p->snp.measurement.n || p->snp.id_key_digest.n);
	default:
		return false;
	}
}

bool
nacre_policy_pins_code(const struct nacre_policy *p)
{
	return nitro_pinned(p) ||
	       nacre_policy_pins_platform(p, NACRE_PLATFORM_TDX) ||
	       nacre_policy_pins_platform(p, NACRE_PLATFORM_SNP);
}

bool
nacre_policy_any_code(const struct nacre_policy *p)
{
	return !nacre_policy_pins_code(p) && p->allow_any_code;
}

bool
nacre_policy_any_code_for(const struct nacre_policy *p, enum nacre_platform pl)
{
	return p->allow_any_code && !nacre_policy_pins_platform(p, pl);
}

bool
nacre_policy_allows_any_code(const struct nacre_policy *p)
{
	return p->allow_any_code;
}

int
nacre_policy_check(const struct nacre_policy *p, char *err, size_t errlen)
{
	if (!p) {
		nacre_seterr(err, errlen, "no policy");
		return -1;
	}
	if (nacre_policy_pins_code(p) || p->allow_any_code)
		return 0;
	if (!p->tdx.described && !p->snp.described)
		nacre_seterr(err, errlen, "%s", NACRE_UNPINNED_MSG);
	else
		nacre_seterr(err, errlen, "the policy pins no code: add %s%s%s"
			     "or allow_any_code = true to accept any code",
			     nacre_policy_describes(p, NACRE_PLATFORM_NITRO) ?
			     "pcrs.pcr0 (Nitro), " : "",
			     p->tdx.described ? "tdx.mrtd (TDX), " : "",
			     p->snp.described ? "snp.measurement (SNP), " : "");
	return -1;
}

/* ---- for verify.c ---- */

/* a new reference to the trusted root that der (cabundle[0]) is, or NULL */
X509 *
nacre_policy_root_for(const struct nacre_policy *p, const uint8_t *der,
		      size_t len)
{
	const uint8_t *q = der;
	X509 *x = d2i_X509(NULL, &q, (long)len);
	uint8_t h[32];

	if (!x || q != der + len || der_sha256(x, h) < 0) {
		X509_free(x);
		return NULL;
	}
	for (size_t i = 0; i < p->nroots; i++) {
		uint8_t rh[32];
		if (der_sha256(p->roots[i], rh) == 0 &&
		    memcmp(rh, h, sizeof(h)) == 0)
			return x;
	}
	for (size_t i = 0; i < p->npins; i++)
		if (memcmp(p->pins[i], h, sizeof(h)) == 0)
			return x;
	X509_free(x);
	return NULL;
}

bool
nacre_policy_trusts_aws(const struct nacre_policy *p)
{
	for (size_t i = 0; i < p->nroots; i++) {
		uint8_t h[32];
		if (der_sha256(p->roots[i], h) == 0 &&
		    memcmp(h, aws_root_sha256, sizeof(h)) == 0)
			return true;
	}
	for (size_t i = 0; i < p->npins; i++)
		if (memcmp(p->pins[i], aws_root_sha256, 32) == 0)
			return true;
	return false;
}

uint64_t
nacre_policy_max_age_ms(const struct nacre_policy *p)
{
	return p->max_age_ms;
}

bool
nacre_policy_allows_debug(const struct nacre_policy *p)
{
	return p->allow_debug;
}

time_t
nacre_policy_now(const struct nacre_policy *p)
{
	return p->now;
}

size_t
nacre_policy_pcr_values(const struct nacre_policy *p, unsigned index,
			const uint8_t (**values)[48])
{
	if (index >= NPCRS) {
		*values = NULL;
		return 0;
	}
	*values = (const uint8_t (*)[48])p->pcr[index].v;
	return p->pcr[index].n;
}

/* true when the list is empty (no constraint) or names id */
bool
nacre_policy_module_allowed(const struct nacre_policy *p, const char *id,
			    size_t *nallowed)
{
	*nallowed = p->nmodule_ids;
	if (p->nmodule_ids == 0)
		return true;
	for (size_t i = 0; i < p->nmodule_ids; i++)
		if (strcmp(p->module_ids[i], id) == 0)
			return true;
	return false;
}

/* ---- the policy file ---- */

int
nacre_pol_fail(struct pctx *c, const config_setting_t *s, const char *fmt, ...)
{
	unsigned line = s ? config_setting_source_line(s) : 0;
	char msg[NACRE_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		nacre_seterr(c->err, c->errlen, "%s:%u: %s", c->name, line,
			     msg);
	else
		nacre_seterr(c->err, c->errlen, "%s: %s", c->name, msg);
	return -1;
}

int
nacre_pol_check_keys(struct pctx *c, const config_setting_t *g,
		     const char *where, const char *known)
{
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		const char *name = config_setting_name(s);
		size_t len = strlen(name);
		const char *k = known;
		bool found = false;

		/* known is "a, b, c": match whole words */
		while ((k = strstr(k, name)) != NULL) {
			if ((k == known || k[-1] == ' ') &&
			    (k[len] == ',' || k[len] == '\0')) {
				found = true;
				break;
			}
			k++;
		}
		if (!found)
			return nacre_pol_fail(c, s, "unknown key \"%s\" in %s; known "
				    "keys are: %s", name, where, known);
	}
	return 0;
}

bool
nacre_pol_is_list(const config_setting_t *s)
{
	return config_setting_is_array(s) || config_setting_is_list(s);
}

const char *
nacre_pol_elem_string(const config_setting_t *s, int i)
{
	const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

	if (!e || config_setting_type(e) != CONFIG_TYPE_STRING)
		return NULL;
	return config_setting_get_string(e);
}

void
nacre_pol_path(const struct pctx *c, const char *v, char *out, size_t len)
{
	if (*v != '/' && c->base_dir)
		snprintf(out, len, "%s/%s", c->base_dir, v);
	else
		snprintf(out, len, "%s", v);
}

int
nacre_pol_bool(struct pctx *c, const config_setting_t *s, const char *what,
	       bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return nacre_pol_fail(c, s, "%s must be true or false (without "
				      "quotes)", what);
	*out = config_setting_get_bool(s);
	return 0;
}

static int
parse_root(struct pctx *c, struct nacre_policy *p, const config_setting_t *s,
	   const char *v, const char *where)
{
	char err[NACRE_ERRLEN], path[4096];
	int rc;

	if (strcmp(v, "aws-nitro") == 0)
		rc = nacre_policy_add_root_aws(p, err, sizeof(err));
	else if (strncmp(v, "sha256:", 7) == 0)
		rc = nacre_policy_add_root_sha256(p, v + 7, err, sizeof(err));
	else if (*v == '\0')
		return nacre_pol_fail(c, s, "%s: an empty string is not a "
			    "root; write \"aws-nitro\", a PEM file path or "
			    "\"sha256:<64 hex digits>\"", where);
	else {
		nacre_pol_path(c, v, path, sizeof(path));
		rc = nacre_policy_add_root_pem(p, path, err, sizeof(err));
	}
	if (rc < 0)
		return nacre_pol_fail(c, s, "%s: %s", where, err);
	return 0;
}

int
nacre_pol_parse_roots(struct pctx *c, struct nacre_policy *p,
		      const config_setting_t *roots, const char *where)
{
	int n = config_setting_length(roots);

	if (!nacre_pol_is_list(roots) || n == 0)
		return nacre_pol_fail(c, roots, "%s must be a non-empty list "
			    "of strings like [ \"aws-nitro\" ]", where);
	for (int i = 0; i < n; i++) {
		const char *v = nacre_pol_elem_string(roots, i);
		if (!v)
			return nacre_pol_fail(c, roots, "%s[%d] must be a "
				    "string: \"aws-nitro\", a PEM file path "
				    "or \"sha256:<hex>\"", where, i);
		if (parse_root(c, p, roots, v, where) < 0)
			return -1;
	}
	p->nitro_explicit = true;
	return 0;
}

static int
parse_trust(struct pctx *c, struct nacre_policy *p, const config_setting_t *g)
{
	const config_setting_t *roots;

	if (!config_setting_is_group(g))
		return nacre_pol_fail(c, g, "trust must be a group: trust = { roots = "
			    "[ \"aws-nitro\" ]; };");
	if (nacre_pol_check_keys(c, g, "trust", "roots") < 0)
		return -1;
	if (!(roots = config_setting_get_member(g, "roots")))
		return nacre_pol_fail(c, g, "trust needs roots = [ ... ]; write "
			    "\"aws-nitro\" for real Nitro enclaves");
	return nacre_pol_parse_roots(c, p, roots, "trust.roots");
}

static int
parse_max_age(struct pctx *c, struct nacre_policy *p,
	      const config_setting_t *s)
{
	uint64_t ms;

	if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    nacre_parse_duration_ms(config_setting_get_string(s), &ms) < 0)
		return nacre_pol_fail(c, s, "max_age must be a duration string like "
			    "\"2h\", \"30m\" or \"90s\"");
	if (ms < 1000)
		return nacre_pol_fail(c, s, "max_age must be at least 1s; a document "
			    "is never younger than that when it arrives");
	p->max_age_ms = ms;
	return 0;
}

static int
parse_pcr_list(struct pctx *c, struct nacre_policy *p,
	       const config_setting_t *s, unsigned index, const char *where)
{
	int n = config_setting_length(s);

	if (!nacre_pol_is_list(s) || n == 0)
		return nacre_pol_fail(c, s, "%s.pcr%u must be a non-empty list of "
			    "96-hex-digit strings, e.g. [ \"9c...04\" ]",
			    where, index);
	for (int i = 0; i < n; i++) {
		const char *v = nacre_pol_elem_string(s, i);
		uint8_t val[PCR_LEN];
		if (!v)
			return nacre_pol_fail(c, s, "%s.pcr%u[%d] must be a string of "
				    "96 hex digits", where, index, i);
		if (nacre_hex_decode(v, val, sizeof(val)) < 0)
			return nacre_pol_fail(c, s, "%s.pcr%u[%d] must be 96 hex "
				    "digits (48 bytes, SHA-384), got %zu "
				    "characters \"%.16s%s\"", where, index, i,
				    strlen(v), v, strlen(v) > 16 ? "..." : "");
		if (nacre_policy_add_pcr(p, index, val, sizeof(val)) < 0)
			return nacre_pol_fail(c, s, "out of memory");
	}
	return 0;
}

/* "pcr0" .. "pcr15", no leading zeros; NPCRS otherwise */
static unsigned
pcr_index(const char *name)
{
	const char *d = name + 3;

	if (strncmp(name, "pcr", 3) == 0 && *d &&
	    strspn(d, "0123456789") == strlen(d) && strlen(d) <= 2 &&
	    (d[0] != '0' || d[1] == '\0') && atoi(d) < NPCRS)
		return (unsigned)atoi(d);
	return NPCRS;
}

int
nacre_pol_parse_pcrs(struct pctx *c, struct nacre_policy *p,
		     const config_setting_t *g, const char *where)
{
	int n = config_setting_length(g);

	if (!config_setting_is_group(g))
		return nacre_pol_fail(c, g, "%s must be a group: %s = { pcr0 = "
			    "[ \"<hex>\" ]; };", where, where);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g,
							(unsigned)i);
		const char *name = config_setting_name(s);
		unsigned idx = pcr_index(name);

		if (idx >= NPCRS)
			return nacre_pol_fail(c, s, "unknown key \"%s\" in %s; write "
				    "pcr0 to pcr15", name, where);
		if (parse_pcr_list(c, p, s, idx, where) < 0)
			return -1;
	}
	p->nitro_explicit = true;
	return 0;
}

unsigned
nacre_pol_pcr_index(const char *name)
{
	return pcr_index(name);
}

int
nacre_pol_parse_module_ids(struct pctx *c, struct nacre_policy *p,
			   const config_setting_t *s, const char *where)
{
	int n = config_setting_length(s);

	if (!nacre_pol_is_list(s))
		return nacre_pol_fail(c, s, "%s must be a list of strings like "
			    "[ \"i-0123456789abcdef0-enc0123456789abcdef\" ]",
			    where);
	for (int i = 0; i < n; i++) {
		const char *v = nacre_pol_elem_string(s, i);
		if (!v || !*v || strlen(v) > MODULE_ID_MAX)
			return nacre_pol_fail(c, s, "%s[%d] must be a non-empty "
				    "string of at most %d characters", where, i,
				    MODULE_ID_MAX);
		if (nacre_policy_add_module_id(p, v) < 0)
			return nacre_pol_fail(c, s, "out of memory");
	}
	p->nitro_explicit = true;
	return 0;
}

/* nitro = { pcrs; module_ids; roots; allow_debug; }: the top-level keys'
 * other spelling; a key given in both places is refused */
static int
parse_nitro(struct pctx *c, struct nacre_policy *p, const config_setting_t *g,
	    const config_setting_t *root)
{
	static const struct { const char *key, *top; } both[] = {
		{ "pcrs", "pcrs" }, { "module_ids", "module_ids" },
		{ "roots", "trust" }, { "allow_debug", "allow_debug" },
	};
	const config_setting_t *s;

	if (!config_setting_is_group(g))
		return nacre_pol_fail(c, g, "nitro must be a group: nitro = { "
				      "pcrs = { pcr0 = [ \"<hex>\" ]; }; };");
	if (nacre_pol_check_keys(c, g, "nitro", "pcrs, module_ids, roots, "
				 "allow_debug") < 0)
		return -1;
	for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++)
		if ((s = config_setting_get_member(g, both[i].key)) &&
		    config_setting_get_member(root, both[i].top))
			return nacre_pol_fail(c, s, "nitro.%s duplicates the "
				    "top-level %s; keep one of them",
				    both[i].key, both[i].top);
	p->nitro_explicit = true;
	if ((s = config_setting_get_member(g, "roots")) &&
	    nacre_pol_parse_roots(c, p, s, "nitro.roots") < 0)
		return -1;
	if ((s = config_setting_get_member(g, "pcrs")) &&
	    nacre_pol_parse_pcrs(c, p, s, "nitro.pcrs") < 0)
		return -1;
	if ((s = config_setting_get_member(g, "module_ids")) &&
	    nacre_pol_parse_module_ids(c, p, s, "nitro.module_ids") < 0)
		return -1;
	if ((s = config_setting_get_member(g, "allow_debug")) &&
	    nacre_pol_bool(c, s, "nitro.allow_debug", &p->allow_debug) < 0)
		return -1;
	return 0;
}

static int
parse_top(struct pctx *c, struct nacre_policy *p, const config_setting_t *root)
{
	const config_setting_t *s;

	if (nacre_pol_check_keys(c, root, "the policy", "trust, max_age, "
		       "allow_debug, pcrs, module_ids, allow_any_code, fresh, "
		       "nitro, tdx, snp, manifests") < 0)
		return -1;
	if ((s = config_setting_get_member(root, "trust")) &&
	    parse_trust(c, p, s) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "max_age")) &&
	    parse_max_age(c, p, s) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "allow_debug")) &&
	    nacre_pol_bool(c, s, "allow_debug", &p->allow_debug) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "pcrs")) &&
	    nacre_pol_parse_pcrs(c, p, s, "pcrs") < 0)
		return -1;
	if ((s = config_setting_get_member(root, "module_ids")) &&
	    nacre_pol_parse_module_ids(c, p, s, "module_ids") < 0)
		return -1;
	if ((s = config_setting_get_member(root, "allow_any_code")) &&
	    nacre_pol_bool(c, s, "allow_any_code", &p->allow_any_code) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "fresh")) &&
	    nacre_pol_bool(c, s, "fresh", &p->fresh) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "nitro")) &&
	    parse_nitro(c, p, s, root) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "tdx")) &&
	    nacre_pol_parse_tdx(c, p, s) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "snp")) &&
	    nacre_pol_parse_snp(c, p, s) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "manifests")) &&
	    nacre_pol_parse_manifests(c, p, s) < 0)
		return -1;
	return 0;
}

static int
read_config(struct pctx *c, const char *text, config_t *cfg)
{
	char msg[512];
	unsigned line = 0;

	if (nacre_libconfig_read(cfg, text, msg, sizeof(msg), &line) == 0)
		return 0;
	if (line)
		nacre_seterr(c->err, c->errlen, "%s:%u: %s", c->name, line, msg);
	else
		nacre_seterr(c->err, c->errlen, "%s: %s", c->name, msg);
	return -1;
}

static int
parse_with(struct nacre_policy **out, const char *text, struct pctx *c)
{
	struct nacre_policy *p;
	config_t cfg;
	int rc;

	*out = NULL;
	if (c->errlen)
		c->err[0] = '\0';
	if (!(p = nacre_policy_new()))
		return nacre_pol_fail(c, NULL, "out of memory");
	config_init(&cfg);
	rc = read_config(c, text, &cfg);
	if (rc == 0)
		rc = parse_top(c, p, config_root_setting(&cfg));
	config_destroy(&cfg);
	if (rc < 0) {
		nacre_policy_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int
nacre_policy_parse(struct nacre_policy **out, const char *text,
		   const char *name, char *err, size_t errlen)
{
	struct pctx c = { name ? name : "(policy)", NULL, err, errlen };

	return parse_with(out, text, &c);
}

int
nacre_policy_load(struct nacre_policy **out, const char *path, char *err,
		  size_t errlen)
{
	char dir[4096], *slash, *text;
	struct pctx c = { path, NULL, err, errlen };
	int rc;

	*out = NULL;
	if (!(text = nacre_read_text_file(path, MAX_POLICY_FILE, "policy", err, errlen)))
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/'))) {
		slash[slash == dir] = '\0'; /* "/x.conf" -> "/" */
		c.base_dir = dir;
	}
	rc = parse_with(out, text, &c);
	free(text);
	return rc;
}
