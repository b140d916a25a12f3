/*
 * policy_tee.c: the policy file's tdx and snp sections (nacre_policy_parse):
 * roots, the TDX collateral and SNP certificate directories (read when the
 * policy loads, so that a verification reads no file), the measurements a
 * platform may report, and its guest-policy and TCB limits. Strict: unknown
 * keys, bad hex lengths and out-of-range numbers are "NAME:LINE: ..."
 * errors that say what to write.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "nacred.h"
#include "policy_int.h"
#include "snp.h"
#include "tdx.h"

#define COLLATERAL_MAX (1024 * 1024) /* one collateral file */
#define SNP_CERT_FILE_MAX (64 * 1024)

/* ---- sets of values ---- */

int
nacre_vals_add(struct nacre_vals *a, const uint8_t *v, size_t len)
{
	uint8_t *n;

	if (a->n && a->len != len)
		return -1;
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(a->v + i * len, v, len) == 0)
			return 0; /* already there (a manifest repeats it) */
	if (!(n = realloc(a->v, (a->n + 1) * len)))
		return -1;
	a->v = n;
	a->len = len;
	memcpy(a->v + a->n++ * len, v, len);
	return 0;
}

bool
nacre_vals_has(const struct nacre_vals *a, const uint8_t *v)
{
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(a->v + i * a->len, v, a->len) == 0)
			return true;
	return false;
}

void
nacre_vals_free(struct nacre_vals *a)
{
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* ---- files ---- */

int
nacre_blob_read(const char *path, size_t max, const char *what,
		struct nacre_blob *b, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	size_t len = 0;

	memset(b, 0, sizeof(*b));
	if (fd < 0) {
		nacre_seterr(err, errlen, "%s: cannot read the %s: %s", path,
			     what, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > max) {
		nacre_seterr(err, errlen, "%s: the %s must be a regular file of "
			     "at most %zu KiB", path, what, max / 1024);
		goto fail;
	}
	if (!(b->data = malloc(max + 2)) || !(b->name = strdup(path))) {
		nacre_seterr(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		ssize_t n = read(fd, b->data + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			nacre_seterr(err, errlen, "%s: cannot read the %s: %s",
				     path, what, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			nacre_seterr(err, errlen, "%s: the %s is larger than "
				     "%zu KiB", path, what, max / 1024);
			goto fail;
		}
	}
	close(fd);
	if (len == 0) {
		nacre_seterr(err, errlen, "%s: the %s is empty", path, what);
		nacre_blob_free(b);
		return -1;
	}
	b->data[len] = '\0';
	b->len = len;
	return 0;
fail:
	close(fd);
	nacre_blob_free(b);
	return -1;
}

void
nacre_blob_free(struct nacre_blob *b)
{
	free(b->name);
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static int
name_sort(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static bool
has_affixes(const char *name, const char *prefix, const char *suffix)
{
	size_t l = strlen(name), pl = strlen(prefix), sl = strlen(suffix);

	return l >= pl + sl && strncmp(name, prefix, pl) == 0 &&
	       strcmp(name + l - sl, suffix) == 0;
}

/* the directory's entries, sorted; -1 with err */
static int
list_dir(const char *dir, struct dirent ***out, char *err, size_t errlen)
{
	int n = scandir(dir, out, NULL, name_sort);

	if (n < 0)
		nacre_seterr(err, errlen, "%s: cannot list the directory: %s",
			     dir, strerror(errno));
	return n;
}

static void
free_list(struct dirent **l, int n)
{
	for (int i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* ---- the tdx section ---- */

static int
hex_list(struct pctx *c, const config_setting_t *s, const char *where,
	 size_t len, struct nacre_vals *out)
{
	int n = config_setting_length(s);

	if (!nacre_pol_is_list(s) || n == 0)
		return nacre_pol_fail(c, s, "%s must be a non-empty list of "
				      "%zu-hex-digit strings, e.g. [ \"9c...04\" ]",
				      where, 2 * len);
	for (int i = 0; i < n; i++) {
		const char *v = nacre_pol_elem_string(s, i);
		uint8_t val[64];

		if (!v)
			return nacre_pol_fail(c, s, "%s[%d] must be a string of "
					      "%zu hex digits", where, i,
					      2 * len);
		if (nacre_hex_decode(v, val, len) < 0)
			return nacre_pol_fail(c, s, "%s[%d] must be %zu hex "
				    "digits (%zu bytes), got %zu characters "
				    "\"%.16s%s\"", where, i, 2 * len, len,
				    strlen(v), v, strlen(v) > 16 ? "..." : "");
		if (nacre_vals_add(out, val, len) < 0)
			return nacre_pol_fail(c, s, "out of memory");
	}
	return 0;
}

static int
push_x509(X509 ***roots, size_t *n, X509 *x)
{
	X509 **r = realloc(*roots, (*n + 1) * sizeof(*r));

	if (!r)
		return -1;
	*roots = r;
	r[(*n)++] = x;
	return 0;
}

/* a root given by file: trusted because this policy names it */
static int
root_file(struct pctx *c, const config_setting_t *s, const char *where,
	  const char *v, X509 ***roots, size_t *n)
{
	char path[4096], err[NACRE_ERRLEN];
	X509 *x;

	nacre_pol_path(c, v, path, sizeof(path));
	if (!(x = nacre_pol_read_root(path, err, sizeof(err))))
		return nacre_pol_fail(c, s, "%s: %s", where, err);
	if (push_x509(roots, n, x) < 0) {
		X509_free(x);
		return nacre_pol_fail(c, s, "out of memory");
	}
	return 0;
}

static int
tdx_roots(struct pctx *c, struct nacre_policy_tdx *t, const config_setting_t *s)
{
	int n = config_setting_length(s);

	if (!nacre_pol_is_list(s) || n == 0)
		return nacre_pol_fail(c, s, "tdx.roots must be a non-empty list "
				      "like [ \"intel-sgx\" ] or "
				      "[ \"/path/root.crt\" ]");
	for (int i = 0; i < n; i++) {
		const char *v = nacre_pol_elem_string(s, i);

		if (!v || !*v)
			return nacre_pol_fail(c, s, "tdx.roots[%d] must be "
					      "\"intel-sgx\" or a PEM file path",
					      i);
		if (strcmp(v, "intel-sgx") == 0)
			t->intel_root = true;
		else if (root_file(c, s, "tdx.roots", v, &t->roots,
				   &t->nroots) < 0)
			return -1;
	}
	return 0;
}

static int
collateral_file(struct pctx *c, const config_setting_t *s, const char *dir,
		const char *name, struct nacre_blob *b)
{
	char path[4096], err[NACRE_ERRLEN];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (nacre_blob_read(path, COLLATERAL_MAX, "TDX collateral file", b, err,
			    sizeof(err)) < 0)
		return nacre_pol_fail(c, s, "tdx.collateral: %s", err);
	return 0;
}

/* the first of names present in the directory listing, else NULL */
static const char *
first_of(struct dirent **l, int n, const char *const *names)
{
	for (; *names; names++)
		for (int i = 0; i < n; i++)
			if (strcmp(l[i]->d_name, *names) == 0)
				return *names;
	return NULL;
}

/* Intel PCS files, named as PCS and the PCCS tools name them
 * (tcbinfo*.json, one per FMSPC; tcbinfo_issuer_chain.pem;
 * qe_identity*.json; qe_identity_issuer_chain.pem; root_ca_crl.der;
 * pck*crl.der), or as nacred's TDX sim writes them (tcb-info.json,
 * qe-identity.json, tcb-signing-chain.pem for both, root-crl.der,
 * pck-crl.der) */
static int
tdx_collateral(struct pctx *c, struct nacre_policy_tdx *t,
	       const config_setting_t *s)
{
	static const char *const tcb_chain[] = { "tcbinfo_issuer_chain.pem",
		"tcb-signing-chain.pem", NULL };
	static const char *const qe_chain[] = { "qe_identity_issuer_chain.pem",
		"tcb-signing-chain.pem", NULL };
	static const char *const root_crl[] = { "root_ca_crl.der",
		"root-crl.der", NULL };
	const char *v = config_setting_type(s) == CONFIG_TYPE_STRING ?
		config_setting_get_string(s) : NULL;
	const char *qe = NULL, *pck = NULL, *tc, *qc, *rc_name;
	char dir[4096], err[NACRE_ERRLEN];
	struct dirent **l = NULL;
	int n, rc = -1;

	if (!v || !*v)
		return nacre_pol_fail(c, s, "tdx.collateral must be a directory "
				      "path string holding Intel PCS collateral");
	nacre_pol_path(c, v, dir, sizeof(dir));
	if ((n = list_dir(dir, &l, err, sizeof(err))) < 0)
		return nacre_pol_fail(c, s, "tdx.collateral: %s", err);
	for (int i = 0; i < n; i++) {
		const char *e = l[i]->d_name;

		if (has_affixes(e, "tcbinfo", ".json") ||
		    has_affixes(e, "tcb-info", ".json")) {
			if (t->ntcb_info == NACRE_TDX_TCB_FILES_MAX) {
				nacre_pol_fail(c, s, "tdx.collateral: %s: more "
					       "than %d TCB Info files; keep "
					       "those of your platforms", dir,
					       NACRE_TDX_TCB_FILES_MAX);
				goto out;
			}
			if (collateral_file(c, s, dir, e,
					    &t->tcb_info[t->ntcb_info]) < 0)
				goto out;
			t->ntcb_info++;
		} else if ((has_affixes(e, "qe_identity", ".json") ||
			    has_affixes(e, "qe-identity", ".json")) && !qe) {
			qe = e;
		} else if (has_affixes(e, "pck", "crl.der") && !pck) {
			pck = e;
		}
	}
	tc = first_of(l, n, tcb_chain);
	qc = first_of(l, n, qe_chain);
	rc_name = first_of(l, n, root_crl);
	if (!t->ntcb_info || !qe || !tc || !qc) {
		nacre_pol_fail(c, s, "tdx.collateral: %s has no %s; put Intel "
			       "PCS's TCB Info (tcbinfo*.json) and QE Identity "
			       "(qe_identity*.json) there, with their issuer "
			       "chains (tcbinfo_issuer_chain.pem, "
			       "qe_identity_issuer_chain.pem) and CRLs", dir,
			       !t->ntcb_info ? "TCB Info" : !qe ? "QE Identity" :
			       "issuer chain");
		goto out;
	}
	if (!pck || !rc_name) {
		nacre_pol_fail(c, s, "tdx.collateral: %s has no %s (DER, from "
			       "Intel PCS); without it a revoked certificate "
			       "would pass", dir, !pck ? "PCK CRL (pck*crl.der)"
			       : "root CA CRL (root_ca_crl.der)");
		goto out;
	}
	if (collateral_file(c, s, dir, qe, &t->qe_identity) < 0 ||
	    collateral_file(c, s, dir, tc, &t->tcb_chain) < 0 ||
	    collateral_file(c, s, dir, qc, &t->qe_chain) < 0 ||
	    collateral_file(c, s, dir, rc_name, &t->root_crl) < 0 ||
	    collateral_file(c, s, dir, pck, &t->pck_crl) < 0)
		goto out;
	if (!(t->collateral_dir = strdup(dir))) {
		nacre_pol_fail(c, s, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free_list(l, n);
	return rc;
}

static int
tdx_tcb_status(struct pctx *c, struct nacre_policy_tdx *t,
	       const config_setting_t *s)
{
	int n = config_setting_length(s);
	char names[256] = "";

	for (int k = 0; k < NACRE_TDX_TCB_NSTATUS; k++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names),
			 "%s%s", k ? ", " : "", nacre_tdx_tcb_status_name(k));
	if (!nacre_pol_is_list(s) || n == 0)
		return nacre_pol_fail(c, s, "tdx.tcb_status must be a non-empty "
				      "list of TCB statuses from: %s", names);
	t->accept_tcb = 0;
	for (int i = 0; i < n; i++) {
		const char *v = nacre_pol_elem_string(s, i);
		int k;

		for (k = 0; v && k < NACRE_TDX_TCB_NSTATUS; k++)
			if (strcmp(v, nacre_tdx_tcb_status_name(k)) == 0)
				break;
		if (!v || k == NACRE_TDX_TCB_NSTATUS)
			return nacre_pol_fail(c, s, "tdx.tcb_status[%d]: \"%s\" "
				    "is not a TCB status; write one of: %s", i,
				    v ? v : "(not a string)", names);
		t->accept_tcb |= NACRE_TDX_TCB_BIT(k);
	}
	return 0;
}

static int
duration_s(struct pctx *c, const config_setting_t *s, const char *what,
	   uint64_t *out)
{
	uint64_t ms;

	if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    nacre_parse_duration_ms(config_setting_get_string(s), &ms) < 0 ||
	    ms < 1000)
		return nacre_pol_fail(c, s, "%s must be a duration string of at "
				      "least 1s, like \"30d\" or \"12h\"", what);
	*out = ms / 1000;
	return 0;
}

int
nacre_pol_parse_tdx(struct pctx *c, struct nacre_policy *p,
		    const config_setting_t *g)
{
	static const char *const rtmr[4] = { "rtmr0", "rtmr1", "rtmr2",
					     "rtmr3" };
	struct nacre_policy_tdx *t = &p->tdx;
	const config_setting_t *s;
	char where[32];

	if (!config_setting_is_group(g))
		return nacre_pol_fail(c, g, "tdx must be a group: tdx = { "
				      "collateral = \"/dir\"; mrtd = "
				      "[ \"<hex>\" ]; };");
	if (nacre_pol_check_keys(c, g, "tdx", "roots, collateral, mrtd, rtmr0, "
				 "rtmr1, rtmr2, rtmr3, mrconfigid, mrowner, "
				 "allow_debug, tcb_status, max_collateral_age")
	    < 0)
		return -1;
	t->described = true;
	if ((s = config_setting_get_member(g, "roots"))) {
		if (tdx_roots(c, t, s) < 0)
			return -1;
	} else {
		t->intel_root = true;
	}
	if ((s = config_setting_get_member(g, "collateral")) &&
	    tdx_collateral(c, t, s) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "mrtd")) &&
	    hex_list(c, s, "tdx.mrtd", 48, &t->mrtd) < 0)
		return -1;
	for (int i = 0; i < 4; i++) {
		snprintf(where, sizeof(where), "tdx.%s", rtmr[i]);
		if ((s = config_setting_get_member(g, rtmr[i])) &&
		    hex_list(c, s, where, 48, &t->rtmr[i]) < 0)
			return -1;
	}
	if ((s = config_setting_get_member(g, "mrconfigid")) &&
	    hex_list(c, s, "tdx.mrconfigid", 48, &t->mrconfigid) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "mrowner")) &&
	    hex_list(c, s, "tdx.mrowner", 48, &t->mrowner) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "allow_debug")) &&
	    nacre_pol_bool(c, s, "tdx.allow_debug", &t->allow_debug) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "tcb_status")) &&
	    tdx_tcb_status(c, t, s) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "max_collateral_age")) &&
	    duration_s(c, s, "tdx.max_collateral_age",
		       &t->max_collateral_age_s) < 0)
		return -1;
	return 0;
}

/* ---- the snp section ---- */

static int
snp_roots(struct pctx *c, struct nacre_policy_snp *t, const config_setting_t *s)
{
	int n = config_setting_length(s);

	if (!nacre_pol_is_list(s) || n == 0)
		return nacre_pol_fail(c, s, "snp.roots must be a non-empty list "
				      "like [ \"amd-milan\", \"amd-genoa\" ] or "
				      "[ \"/path/ark.crt\" ]");
	for (int i = 0; i < n; i++) {
		const char *v = nacre_pol_elem_string(s, i);

		if (!v || !*v)
			return nacre_pol_fail(c, s, "snp.roots[%d] must be "
					      "\"amd-milan\", \"amd-genoa\" or a "
					      "PEM file path", i);
		if (strcmp(v, "amd-milan") == 0)
			t->amd_products |= 1u << NACRE_SNP_PRODUCT_MILAN;
		else if (strcmp(v, "amd-genoa") == 0)
			t->amd_products |= 1u << NACRE_SNP_PRODUCT_GENOA;
		else if (root_file(c, s, "snp.roots", v, &t->roots,
				   &t->nroots) < 0)
			return -1;
	}
	return 0;
}

static int
push_cert(struct nacre_policy_snp *t, X509 *x, const char *file)
{
	struct nacre_blob *n, *b;
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);

	if (len <= 0 || t->ncerts == NACRE_SNP_CERT_FILES_MAX ||
	    !(n = realloc(t->certs, (t->ncerts + 1) * sizeof(*n)))) {
		OPENSSL_free(der);
		return -1;
	}
	t->certs = n;
	b = &t->certs[t->ncerts];
	memset(b, 0, sizeof(*b));
	b->name = strdup(file);
	b->data = malloc((size_t)len + 1);
	if (!b->name || !b->data) {
		nacre_blob_free(b);
		OPENSSL_free(der);
		return -1;
	}
	memcpy(b->data, der, (size_t)len);
	b->data[len] = '\0';
	b->len = (size_t)len;
	t->ncerts++;
	OPENSSL_free(der);
	return 0;
}

/* one file: DER (one certificate) or PEM (one or more: KDS's
 * cert_chain.pem holds the ASK and the ARK) */
static int
snp_cert_file(struct pctx *c, const config_setting_t *s,
	      struct nacre_policy_snp *t, const char *path)
{
	struct nacre_blob b;
	char err[NACRE_ERRLEN];
	const unsigned char *q;
	int found = 0, rc = -1;
	X509 *x;

	if (access(path, R_OK) < 0 && errno == EACCES)
		return 0; /* a key file of nacred's sim, mode 0600: not ours */
	if (nacre_blob_read(path, SNP_CERT_FILE_MAX, "SNP certificate file",
			    &b, err, sizeof(err)) < 0)
		return nacre_pol_fail(c, s, "snp.certs: %s", err);
	if (strstr((const char *)b.data, "PRIVATE KEY-----")) {
		/* nacred's sim keeps certificate and key together (ark.pem);
		 * the verifier needs neither the key nor that copy */
		OPENSSL_cleanse(b.data, b.len);
		nacre_blob_free(&b);
		return 0;
	}
	q = b.data;
	if ((x = d2i_X509(NULL, &q, (long)b.len)) && q == b.data + b.len) {
		found = push_cert(t, x, path) == 0 ? 1 : -1;
		X509_free(x);
	} else {
		BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);

		X509_free(x);
		while (bio && found >= 0 &&
		       (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
			found = push_cert(t, x, path) == 0 ? found + 1 : -1;
			X509_free(x);
		}
		BIO_free(bio);
	}
	ERR_clear_error();
	if (found < 0)
		nacre_pol_fail(c, s, "snp.certs: %s: more than %d certificates "
			       "in the directory, or out of memory", path,
			       NACRE_SNP_CERT_FILES_MAX);
	else if (found == 0)
		nacre_pol_fail(c, s, "snp.certs: %s holds no certificate (DER "
			       "or PEM)", path);
	else
		rc = 0;
	nacre_blob_free(&b);
	return rc;
}

/* every *.der, *.pem, *.crt, *.cer: VCEKs (one per chip and TCB), the ASK
 * and the ARK as AMD KDS serves them; files holding a private key (or
 * that this user may not read, mode 0600) are skipped */
static int
snp_certs(struct pctx *c, struct nacre_policy_snp *t, const config_setting_t *s)
{
	const char *v = config_setting_type(s) == CONFIG_TYPE_STRING ?
		config_setting_get_string(s) : NULL;
	char dir[4096], path[4400], err[NACRE_ERRLEN];
	struct dirent **l = NULL;
	int n, rc = 0;

	if (!v || !*v)
		return nacre_pol_fail(c, s, "snp.certs must be a directory path "
				      "string holding the VCEK, ASK and ARK");
	nacre_pol_path(c, v, dir, sizeof(dir));
	if ((n = list_dir(dir, &l, err, sizeof(err))) < 0)
		return nacre_pol_fail(c, s, "snp.certs: %s", err);
	for (int i = 0; i < n && rc == 0; i++) {
		const char *e = l[i]->d_name;

		if (e[0] == '.' || !(has_affixes(e, "", ".der") ||
				     has_affixes(e, "", ".pem") ||
				     has_affixes(e, "", ".crt") ||
				     has_affixes(e, "", ".cer")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e);
		rc = snp_cert_file(c, s, t, path);
	}
	free_list(l, n);
	if (rc == 0 && t->ncerts == 0)
		rc = nacre_pol_fail(c, s, "snp.certs: %s holds no certificate "
				    "file (*.der, *.pem, *.crt); put the VCEK, "
				    "ASK and ARK from AMD KDS there", dir);
	if (rc == 0 && !(t->certs_dir = strdup(dir)))
		rc = nacre_pol_fail(c, s, "out of memory");
	return rc;
}

static int
small_int(struct pctx *c, const config_setting_t *s, const char *what,
	  int max, int *out)
{
	int v;

	if (config_setting_type(s) != CONFIG_TYPE_INT ||
	    (v = config_setting_get_int(s)) < 0 || v > max)
		return nacre_pol_fail(c, s, "%s must be a whole number from 0 "
				      "to %d", what, max);
	*out = v;
	return 0;
}

static int
snp_min_tcb(struct pctx *c, struct nacre_policy_snp *t,
	    const config_setting_t *g)
{
	const struct { const char *key; uint8_t *v; } f[] = {
		{ "bootloader", &t->min_bootloader }, { "tee", &t->min_tee },
		{ "snp", &t->min_snp }, { "microcode", &t->min_microcode },
	};

	if (!config_setting_is_group(g))
		return nacre_pol_fail(c, g, "snp.min_tcb must be a group: "
				      "min_tcb = { bootloader = 3; tee = 0; "
				      "snp = 8; microcode = 115; };");
	if (nacre_pol_check_keys(c, g, "snp.min_tcb", "bootloader, tee, snp, "
				 "microcode") < 0)
		return -1;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		const config_setting_t *s = config_setting_get_member(g,
								      f[i].key);
		char what[32];
		int v = 0;

		snprintf(what, sizeof(what), "snp.min_tcb.%s", f[i].key);
		if (s && small_int(c, s, what, 255, &v) < 0)
			return -1;
		if (s)
			*f[i].v = (uint8_t)v;
	}
	return 0;
}

int
nacre_pol_parse_snp(struct pctx *c, struct nacre_policy *p,
		    const config_setting_t *g)
{
	struct nacre_policy_snp *t = &p->snp;
	const config_setting_t *s;
	int v = 0;

	if (!config_setting_is_group(g))
		return nacre_pol_fail(c, g, "snp must be a group: snp = { "
				      "measurement = [ \"<hex>\" ]; };");
	if (nacre_pol_check_keys(c, g, "snp", "roots, certs, measurement, "
				 "host_data, id_key_digest, allow_debug, "
				 "allow_migration_agent, max_vmpl, min_tcb") < 0)
		return -1;
	t->described = true;
	if ((s = config_setting_get_member(g, "roots"))) {
		if (snp_roots(c, t, s) < 0)
			return -1;
	} else {
		t->amd_products = 1u << NACRE_SNP_PRODUCT_MILAN |
				  1u << NACRE_SNP_PRODUCT_GENOA;
	}
	if ((s = config_setting_get_member(g, "certs")) &&
	    snp_certs(c, t, s) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "measurement")) &&
	    hex_list(c, s, "snp.measurement", 48, &t->measurement) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "host_data")) &&
	    hex_list(c, s, "snp.host_data", 32, &t->host_data) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "id_key_digest")) &&
	    hex_list(c, s, "snp.id_key_digest", 48, &t->id_key_digest) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "allow_debug")) &&
	    nacre_pol_bool(c, s, "snp.allow_debug", &t->allow_debug) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "allow_migration_agent")) &&
	    nacre_pol_bool(c, s, "snp.allow_migration_agent",
			   &t->allow_migration_agent) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "max_vmpl"))) {
		if (small_int(c, s, "snp.max_vmpl", 3, &v) < 0)
			return -1;
		t->max_vmpl = (uint32_t)v;
	}
	if ((s = config_setting_get_member(g, "min_tcb")) &&
	    snp_min_tcb(c, t, s) < 0)
		return -1;
	return 0;
}

void
nacre_pol_tee_free(struct nacre_policy *p)
{
	struct nacre_policy_tdx *t = &p->tdx;
	struct nacre_policy_snp *s = &p->snp;

	for (size_t i = 0; i < t->nroots; i++)
		X509_free(t->roots[i]);
	free(t->roots);
	free(t->collateral_dir);
	for (size_t i = 0; i < t->ntcb_info; i++)
		nacre_blob_free(&t->tcb_info[i]);
	nacre_blob_free(&t->tcb_chain);
	nacre_blob_free(&t->qe_identity);
	nacre_blob_free(&t->qe_chain);
	nacre_blob_free(&t->root_crl);
	nacre_blob_free(&t->pck_crl);
	nacre_vals_free(&t->mrtd);
	for (size_t i = 0; i < 4; i++)
		nacre_vals_free(&t->rtmr[i]);
	nacre_vals_free(&t->mrconfigid);
	nacre_vals_free(&t->mrowner);
	for (size_t i = 0; i < s->nroots; i++)
		X509_free(s->roots[i]);
	free(s->roots);
	free(s->certs_dir);
	for (size_t i = 0; i < s->ncerts; i++)
		nacre_blob_free(&s->certs[i]);
	free(s->certs);
	nacre_vals_free(&s->measurement);
	nacre_vals_free(&s->host_data);
	nacre_vals_free(&s->id_key_digest);
}
