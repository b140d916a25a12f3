/*
 * test_attest_sim.c: the software NSM and the provider path over it: root
 * file creation and reuse, documents that carry exactly what was asked and
 * verify against the sim root, AWS-shaped chains, leaf renewal, NSM error
 * answers, and a provider that refuses a document binding something else;
 * the root's certificate file for clients (.crt, 0644, no key) beside the
 * key file (0600), and FIFOs at either path refused at once, never waited
 * on.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "attest.h"
#include "tap.h"

static char err[512];
static char dir[64];

static uint8_t *
spki_der(EVP_PKEY *k, size_t *len)
{
	uint8_t *der = NULL;
	int n = i2d_PUBKEY(k, &der);

	*len = n > 0 ? (size_t)n : 0;
	return der;
}

static X509 *
root_from_file(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return x;
}

static X509 *
der_cert(const uint8_t *der, size_t len)
{
	const uint8_t *p = der;

	return d2i_X509(NULL, &p, (long)len);
}

/* decode + chain to root at the doc's time + signature */
static struct nacre_nitro_doc *
verified(const uint8_t *doc, size_t len, X509 *root)
{
	struct nacre_nitro_doc *d = NULL;
	EVP_PKEY *pub;

	if (nacre_nitro_doc_decode(doc, len, &d, err, sizeof(err)) < 0)
		return NULL;
	pub = nacre_nitro_doc_verify_chain(d, root,
					   (time_t)(d->timestamp_ms / 1000), err,
					   sizeof(err));
	if (!pub || nacre_nitro_doc_verify_sig(d, pub, err, sizeof(err)) < 0) {
		EVP_PKEY_free(pub);
		nacre_nitro_doc_free(d);
		return NULL;
	}
	EVP_PKEY_free(pub);
	return d;
}

static bool
name_has(X509_NAME *n, const char *s)
{
	char buf[512];

	X509_NAME_oneline(n, buf, sizeof(buf));
	return strstr(buf, s) != NULL;
}

static void
test_chain_shape(const struct nacre_nitro_doc *d, X509 *root)
{
	static const long pathlen[4] = { -1, 2, 1, 0 };
	X509 *c[5];
	bool shape = d->ncabundle == 4, names = true;

	for (size_t i = 0; i < 4; i++)
		c[i] = der_cert(d->cabundle[i], d->cabundle_len[i]);
	c[4] = der_cert(d->certificate, d->certificate_len);
	CHECK(X509_cmp(c[0], root) == 0, "sim: cabundle[0] is the root");
	for (size_t i = 0; i < 4 && shape; i++)
		shape = c[i] && X509_check_ca(c[i]) &&
			X509_get_pathlen(c[i]) == pathlen[i] &&
			X509_check_issued(i ? c[i - 1] : c[0], c[i]) == X509_V_OK;
	CHECK(shape, "sim: CA chain root -> regional (pathlen 2) -> zonal (1) "
	      "-> instance (0)");
	CHECK(c[4] && !X509_check_ca(c[4]) &&
	      X509_check_issued(c[3], c[4]) == X509_V_OK,
	      "sim: certificate is an end entity issued by the instance CA");
	for (size_t i = 0; i < 5; i++)
		names = names && c[i] &&
			name_has(X509_get_subject_name(c[i]), "SIMULATED");
	CHECK(names, "sim: every subject says SIMULATED");
	CHECK(c[0] && name_has(X509_get_subject_name(c[0]), "CN=nacre-sim-root") &&
	      name_has(X509_get_subject_name(c[0]), "not AWS"),
	      "sim: root is CN=nacre-sim-root, \"not AWS\"");
	int days = 0, secs = 0;
	CHECK(c[4] && ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(c[4]),
				     X509_get0_notAfter(c[4])) &&
	      days == 0 && secs == 3 * 3600,
	      "sim: signing certificate lives 3 hours");
	CHECK(c[0] && ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(c[0]),
				     X509_get0_notAfter(c[0])) && days > 3650,
	      "sim: root is long-lived");
	for (size_t i = 0; i < 5; i++)
		X509_free(c[i]);
}

static void
test_provider(void)
{
	static const uint8_t nonce[32] = { 9, 8, 7 };
	uint8_t pcrs[16][48];
	char path[128], hex1[65];
	struct nacre_attest *a, *b;
	struct nacre_nitro_doc *d;
	struct stat st;
	uint8_t *spki, *doc = NULL, *ud = NULL;
	size_t spki_len, doc_len, ud_len;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *root;

	for (int i = 0; i < 16; i++)
		memset(pcrs[i], i, 48);
	snprintf(path, sizeof(path), "%s/a/b/root.pem", dir);
	a = nacre_attest_sim_open(path, (const uint8_t (*)[48])pcrs, err,
				  sizeof(err));
	CHECK(a != NULL, "sim provider opens, creating its root");
	if (!a) {
		printf("# %s\n", err);
		return;
	}
	CHECK_STR(nacre_attest_name(a), "sim", "sim provider is named sim");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	      "root file is mode 0600");
	snprintf(hex1, sizeof(hex1), "%s", nacre_attest_sim_root_sha256_hex(a));
	CHECK(strlen(hex1) == 64, "root SHA-256 is 64 hex digits");
	snprintf(path, sizeof(path), "%s/a/b", dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0755,
	      "missing directories were created 0755 (clients read the .crt)");
	snprintf(path, sizeof(path), "%s/a/b/root.pem", dir);
	b = nacre_attest_sim_open(path, NULL, err, sizeof(err));
	CHECK(b && strcmp(nacre_attest_sim_root_sha256_hex(b), hex1) == 0,
	      "a second open loads the same root");
	CHECK(b && strncmp(nacre_attest_module_id(b), "i-sim", 5) == 0 &&
	      strcmp(nacre_attest_module_id(a), nacre_attest_module_id(b)) != 0,
	      "each open is a new simulated enclave (module_id)");
	nacre_attest_free(b);

	struct nacre_claims c = { .version = 1, .has_config = true };
	memset(c.config_sha256, 0xcf, 32);
	nacre_claims_encode(&c, &ud, &ud_len);
	spki = spki_der(k, &spki_len);
	root = root_from_file(path);
	time_t before = time(NULL);
	CHECK(nacre_attest_get(a, spki, spki_len, ud, ud_len, nonce,
			       sizeof(nonce), &doc, &doc_len, err,
			       sizeof(err)) == 0,
	      "sim provider: attestation with public_key, user_data, nonce");
	d = doc ? verified(doc, doc_len, root) : NULL;
	CHECK(d != NULL, "sim document verifies against the sim root");
	if (!d)
		printf("# %s\n", err);
	if (d) {
		struct nacre_claims back;
		CHECK(d->has_public_key && d->public_key_len == spki_len &&
		      memcmp(d->public_key, spki, spki_len) == 0,
		      "sim document: public_key is the SPKI");
		CHECK(d->has_user_data && d->user_data_len == ud_len &&
		      memcmp(d->user_data, ud, ud_len) == 0 &&
		      nacre_claims_decode(d->user_data, d->user_data_len, &back,
					  err, sizeof(err)) == 0 &&
		      back.has_config && back.config_sha256[31] == 0xcf,
		      "sim document: user_data is the claims map");
		CHECK(d->has_nonce && d->nonce_len == 32 &&
		      memcmp(d->nonce, nonce, 32) == 0, "sim document: nonce");
		CHECK(d->npcrs == 16 && d->pcr_mask == 0xffff &&
		      d->pcr[15][0] == 15 && d->pcr[15][47] == 15 && d->pcr[0][0] == 0,
		      "sim document: the given 16 PCRs");
		CHECK(strcmp(d->module_id, nacre_attest_module_id(a)) == 0 &&
		      strlen(d->module_id) == 39 && strstr(d->module_id, "-enc"),
		      "sim document: module_id shaped like AWS's");
		CHECK(d->timestamp_ms / 1000 >= (uint64_t)before &&
		      d->timestamp_ms / 1000 <= (uint64_t)time(NULL),
		      "sim document: timestamp is now, in ms");
		CHECK(!d->tagged && !d->payload_indefinite &&
		      memcmp(doc, "\x84\x44\xa1\x01\x38\x22\xa0\x59", 8) == 0 &&
		      d->payload_raw[0] == 0xa9,
		      "sim document: NSM byte layout (84 44 a1 01 38 22 a0 59, a9)");
		test_chain_shape(d, root);
		nacre_nitro_doc_free(d);
	}
	free(doc);
	doc = NULL;

	CHECK(nacre_attest_get(a, spki, spki_len, NULL, 0, NULL, 0, &doc,
			       &doc_len, err, sizeof(err)) == 0 &&
	      (d = verified(doc, doc_len, root)) && !d->has_user_data &&
	      !d->has_nonce, "sim document without user_data and nonce: nulls");
	nacre_nitro_doc_free(d);
	free(doc);
	doc = NULL;

	uint8_t *big = calloc(1, 1025);
	CHECK(nacre_attest_get(a, spki, spki_len, big, 1025, NULL, 0, &doc,
			       &doc_len, err, sizeof(err)) < 0 && !doc,
	      "user_data of 1025 bytes is refused");
	CHECK_STR(err, "NSM refused the request: InvalidArgument (user_data, "
		  "nonce and public_key must each be at most 1024 bytes)",
		  "... by the NSM, with the NSM's reason");
	free(big);
	CHECK(nacre_attest_get(a, NULL, 0, NULL, 0, NULL, 0, &doc, &doc_len, err,
			       sizeof(err)) < 0 && strstr(err, "public key"),
	      "attestation without a public key is refused");

	X509_free(root);
	OPENSSL_free(spki);
	free(ud);
	EVP_PKEY_free(k);
	nacre_attest_free(a);
}

static int
sim_exchange(struct nacre_sim *s, const uint8_t *req, size_t reqlen,
	     size_t cap, struct nacre_nsm_response *r)
{
	uint8_t *resp = malloc(cap);
	size_t n = cap;
	int rc = -1;

	if (nacre_sim_request(s, req, reqlen, resp, &n) == 0)
		rc = nacre_nsm_decode_response(resp, n, r, err, sizeof(err));
	free(resp);
	return rc;
}

static void
test_raw_requests(void)
{
	struct nacre_nsm_response r;
	struct nacre_sim *s;
	char path[128];
	uint8_t *req = NULL;
	size_t n;

	snprintf(path, sizeof(path), "%s/a/b/root.pem", dir);
	s = nacre_sim_new(path, NULL, err, sizeof(err));
	CHECK(s != NULL, "sim opens directly");
	if (!s)
		return;
	nacre_nsm_encode_describe(&req, &n);
	CHECK(sim_exchange(s, req, n, 12288, &r) == 0 &&
	      r.kind == NACRE_NSM_DESCRIBE &&
	      strncmp(r.describe.module_id, "i-sim", 5) == 0 &&
	      strcmp(r.describe.digest, "SHA384") == 0 &&
	      r.describe.locked_pcrs == 0xffff, "sim answers DescribeNSM");
	nacre_nsm_response_free(&r);
	free(req);

	CHECK(sim_exchange(s, (const uint8_t *)"\xff", 1, 12288, &r) == 0 &&
	      r.kind == NACRE_NSM_ERROR && r.error == NACRE_NSM_INVALID_ARGUMENT,
	      "garbage request: Error InvalidArgument");
	CHECK(sim_exchange(s, (const uint8_t *)"\x69GetRandom", 10, 12288,
			   &r) == 0 && r.kind == NACRE_NSM_ERROR &&
	      r.error == NACRE_NSM_INVALID_OPERATION,
	      "GetRandom: Error InvalidOperation (not simulated)");
	uint8_t *big = calloc(1, 5000);
	CHECK(sim_exchange(s, big, 5000, 12288, &r) == 0 &&
	      r.error == NACRE_NSM_INPUT_TOO_LARGE,
	      "request over 4096 bytes: Error InputTooLarge");
	free(big);
	nacre_nsm_encode_attestation(NULL, 0, NULL, 0, (const uint8_t *)"k", 1,
				     &req, &n);
	CHECK(sim_exchange(s, req, n, 200, &r) == 0 &&
	      r.error == NACRE_NSM_BUFFER_TOO_SMALL,
	      "response buffer of 200 bytes: Error BufferTooSmall");
	free(req);
	nacre_nsm_encode_attestation(NULL, 0, NULL, 0, (const uint8_t *)"", 0,
				     &req, &n);
	CHECK(sim_exchange(s, req, n, 12288, &r) == 0 &&
	      r.error == NACRE_NSM_INVALID_ARGUMENT,
	      "empty public_key: Error InvalidArgument");
	free(req);
	nacre_sim_free(s);
}

static struct nacre_nitro_doc *
doc_at(struct nacre_sim *s, time_t t, X509 *root)
{
	struct nacre_nsm_response r;
	struct nacre_nitro_doc *d = NULL;
	uint8_t *req = NULL;
	size_t n;

	nacre_sim_set_time(s, t);
	nacre_nsm_encode_attestation(NULL, 0, NULL, 0, (const uint8_t *)"k", 1,
				     &req, &n);
	if (sim_exchange(s, req, n, 12288, &r) == 0 &&
	    r.kind == NACRE_NSM_ATTESTATION)
		d = verified(r.document, r.document_len, root);
	nacre_nsm_response_free(&r);
	free(req);
	return d;
}

static void
test_renewal(void)
{
	struct nacre_nitro_doc *d1, *d2, *d3, *d4;
	struct nacre_sim *s;
	char path[128];
	time_t now = time(NULL);

	snprintf(path, sizeof(path), "%s/a/b/root.pem", dir);
	s = nacre_sim_new(path, NULL, err, sizeof(err));
	if (!s)
		return;
	d1 = doc_at(s, now, nacre_sim_root(s));
	d2 = doc_at(s, now + 3600, nacre_sim_root(s));
	d3 = doc_at(s, now + 3 * 3600, nacre_sim_root(s));
	d4 = doc_at(s, now + 2 * 86400, nacre_sim_root(s));
	CHECK(d1 && d2 && d3 && d4, "sim documents verify at now, +1 h, +3 h, "
	      "+2 days (at their own time)");
	CHECK(d1 && d2 && d1->certificate_len == d2->certificate_len &&
	      memcmp(d1->certificate, d2->certificate, d1->certificate_len) == 0,
	      "the signing certificate is reused within 2 hours");
	CHECK(d1 && d3 && (d1->certificate_len != d3->certificate_len ||
			   memcmp(d1->certificate, d3->certificate,
				  d1->certificate_len) != 0) &&
	      d1->cabundle_len[3] == d3->cabundle_len[3] &&
	      memcmp(d1->cabundle[3], d3->cabundle[3], d1->cabundle_len[3]) == 0,
	      "after 3 hours: a new signing certificate, same instance CA");
	CHECK(d1 && d4 && memcmp(d1->cabundle[3], d4->cabundle[3],
				 d1->cabundle_len[3] < d4->cabundle_len[3] ?
				 d1->cabundle_len[3] : d4->cabundle_len[3]) != 0,
	      "after 2 days: new intermediates too");
	CHECK(d1 && d1->timestamp_ms == (uint64_t)now * 1000,
	      "document timestamp follows the sim clock");
	EVP_PKEY *pub = d1 ? nacre_nitro_doc_verify_chain(d1, nacre_sim_root(s),
							  now + 4 * 3600, err,
							  sizeof(err)) : NULL;
	CHECK(pub == NULL && strstr(err, "expired"),
	      "an old sim document fails the chain 4 hours later");
	EVP_PKEY_free(pub);
	nacre_nitro_doc_free(d1);
	nacre_nitro_doc_free(d2);
	nacre_nitro_doc_free(d3);
	nacre_nitro_doc_free(d4);
	nacre_sim_free(s);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void
test_bad_roots(void)
{
	char path[128], good[128], buf[8192];
	struct nacre_sim *s;

	snprintf(good, sizeof(good), "%s/a/b/root.pem", dir);
	snprintf(path, sizeof(path), "%s/open.pem", dir);
	FILE *f = fopen(good, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
	write_file(path, buf, 0644);
	s = nacre_sim_new(path, NULL, err, sizeof(err));
	CHECK(s == NULL, "a root file readable by others is refused");
	CHECK_HAS(err, "(mode 0644); chmod 600 it", "... saying how to fix it");
	nacre_sim_free(s);

	snprintf(path, sizeof(path), "%s/garbage.pem", dir);
	write_file(path, "not a pem\n", 0600);
	s = nacre_sim_new(path, NULL, err, sizeof(err));
	CHECK(s == NULL && strstr(err, "expected a PEM certificate and its PEM "
				  "private key"), "a garbage root file is refused");
	nacre_sim_free(s);

	/* the root certificate with a key that is not its own */
	EVP_PKEY *k = EVP_EC_gen("P-384");
	snprintf(path, sizeof(path), "%s/mismatch.pem", dir);
	f = fopen(path, "w");
	char *end = strstr(buf, "-----END CERTIFICATE-----");
	if (f && end) {
		fwrite(buf, 1, (size_t)(end - buf) + 26, f);
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	}
	if (f)
		fclose(f);
	chmod(path, 0600);
	s = nacre_sim_new(path, NULL, err, sizeof(err));
	CHECK(s == NULL && strstr(err, "not a self-signed P-384 root with its "
				  "own key"), "a root with another key is refused");
	nacre_sim_free(s);
	EVP_PKEY_free(k);

	s = nacre_sim_new(NULL, NULL, err, sizeof(err));
	CHECK(s == NULL && strstr(err, "root file path"), "no root path");
	snprintf(path, sizeof(path), "%s/garbage.pem/sub/root.pem", dir);
	s = nacre_sim_new(path, NULL, err, sizeof(err));
	CHECK(s == NULL && strstr(err, "Not a directory"),
	      "a root path under a file is refused");
	nacre_sim_free(s);
}

static char *
slurp(const char *path)
{
	static char buf[16384];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return f ? buf : NULL;
}

static void
on_alarm(int sig)
{
	static const char msg[] = "not ok - a FIFO at a sim root path hangs\n";

	(void)sig;
	(void)!write(1, msg, sizeof(msg) - 1);
	_exit(1);
}

/* 1 when dir d holds a leftover temporary file (NAME.XXXXXX) */
static bool
has_temp_files(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	bool found = false;

	while (dp && (e = readdir(dp)))
		found |= strchr(e->d_name, '.') &&
			 strlen(strrchr(e->d_name, '.')) == 7;
	if (dp)
		closedir(dp);
	return found;
}

/* the certificate file for clients, and what the provider does when
 * either file changes under it */
static void
test_cert_file(void)
{
	char key[128], crt[128], sub[128], hex[65];
	const char *text;
	struct nacre_attest *a;
	struct stat st;
	uint8_t *doc = NULL;
	size_t len;
	X509 *from_key, *from_crt;

	snprintf(sub, sizeof(sub), "%s/c", dir);
	snprintf(key, sizeof(key), "%s/c/sim-root.pem", dir);
	snprintf(crt, sizeof(crt), "%s/c/sim-root.crt", dir);
	a = nacre_attest_sim_open(key, NULL, err, sizeof(err));
	CHECK(a != NULL, "crt: the sim opens, creating key file and certificate");
	if (!a) {
		printf("# %s\n", err);
		return;
	}
	CHECK(stat(key, &st) == 0 && (st.st_mode & 07777) == 0600,
	      "crt: the key file is mode 0600");
	CHECK(stat(crt, &st) == 0 && S_ISREG(st.st_mode) &&
	      (st.st_mode & 07777) == 0644,
	      "crt: sim-root.crt beside it, a regular file of mode 0644");
	text = slurp(crt);
	CHECK(text && strstr(text, "BEGIN CERTIFICATE") &&
	      !strstr(text, "PRIVATE KEY"),
	      "crt: it holds the certificate and no private key");
	from_key = root_from_file(key);
	from_crt = root_from_file(crt);
	CHECK(from_key && from_crt && X509_cmp(from_key, from_crt) == 0,
	      "crt: the same root certificate as in the key file");
	CHECK(!has_temp_files(sub), "crt: no temporary file left behind");
	snprintf(hex, sizeof(hex), "%s", nacre_attest_sim_root_sha256_hex(a));
	nacre_attest_free(a);

	/* an old install has no .crt; another root's .crt is stale */
	unlink(crt);
	a = nacre_attest_sim_open(key, NULL, err, sizeof(err));
	CHECK(a && stat(crt, &st) == 0 && (st.st_mode & 07777) == 0644 &&
	      strcmp(nacre_attest_sim_root_sha256_hex(a), hex) == 0,
	      "crt: a missing .crt is written again from the key file");
	nacre_attest_free(a);
	write_file(crt, slurp("tests/vectors/nitro/aws_nitro_root_g1.pem"),
		   0600);
	a = nacre_attest_sim_open(key, NULL, err, sizeof(err));
	X509_free(from_crt);
	from_crt = root_from_file(crt);
	CHECK(a && from_crt && X509_cmp(from_key, from_crt) == 0 &&
	      stat(crt, &st) == 0 && (st.st_mode & 07777) == 0644,
	      "crt: a .crt of another root (or mode) is replaced at open");
	CHECK(!has_temp_files(sub), "crt: ... no temporary file left behind");

	/* at attestation: both files must still hold this root */
	EVP_PKEY *k = EVP_EC_gen("P-256");
	size_t spki_len;
	uint8_t *spki = spki_der(k, &spki_len);
	CHECK(a && nacre_attest_get(a, spki, spki_len, NULL, 0, NULL, 0, &doc,
				    &len, err, sizeof(err)) == 0,
	      "crt: attestation while both files are in place");
	free(doc);
	doc = NULL;
	unlink(crt);
	CHECK(a && nacre_attest_get(a, spki, spki_len, NULL, 0, NULL, 0, &doc,
				    &len, err, sizeof(err)) < 0 && !doc,
	      "crt: the .crt removed: attestation refused");
	CHECK_HAS(err, "sim root certificate", "... naming the certificate");
	CHECK_HAS(err, "is gone; restore it, or restart nacred to write it "
		  "again", "... and the fix");

	signal(SIGALRM, on_alarm);
	alarm(10);
	CHECK(mkfifo(crt, 0644) == 0, "crt: a FIFO in place of the .crt");
	CHECK(a && nacre_attest_get(a, spki, spki_len, NULL, 0, NULL, 0, &doc,
				    &len, err, sizeof(err)) < 0 && !doc,
	      "crt: ... attestation refused at once, not blocked on the FIFO");
	CHECK_HAS(err, "must be a regular file; this is a FIFO",
		  "... saying it is a FIFO");
	unlink(crt);
	rename(key, crt);   /* keep the key aside */
	CHECK(mkfifo(key, 0600) == 0, "crt: a FIFO in place of the key file");
	CHECK(a && nacre_attest_get(a, spki, spki_len, NULL, 0, NULL, 0, &doc,
				    &len, err, sizeof(err)) < 0 && !doc &&
	      strstr(err, "this is a FIFO") && strstr(err, key),
	      "crt: ... attestation refused at once, naming the file");
	nacre_attest_free(a);
	a = nacre_attest_sim_open(key, NULL, err, sizeof(err));
	CHECK(a == NULL && strstr(err, "not a regular file (a FIFO)"),
	      "crt: opening a FIFO as the key file fails at once");
	alarm(0);
	nacre_attest_free(a);

	snprintf(key, sizeof(key), "%s/c/root.crt", dir);
	a = nacre_attest_sim_open(key, NULL, err, sizeof(err));
	CHECK(a == NULL && strstr(err, "does not end in \".crt\""),
	      "crt: a key path ending in .crt is refused (the name is the "
	      "certificate's)");
	nacre_attest_free(a);
	X509_free(from_key);
	X509_free(from_crt);
	OPENSSL_free(spki);
	EVP_PKEY_free(k);
}

/* a transport that swaps the public key: the provider must notice */
static int
lying_transport(void *ctx, const uint8_t *req, size_t reqlen, uint8_t *resp,
		size_t *resplen, char *e, size_t elen)
{
	struct nacre_nsm_request r;
	uint8_t *other = NULL;
	size_t n;
	int rc;

	if (nacre_nsm_decode_request(req, reqlen, &r, e, elen) < 0)
		return -1;
	if (r.kind == NACRE_NSM_ATTESTATION) {
		nacre_nsm_encode_attestation(r.user_data, r.user_data_len, r.nonce,
					     r.nonce_len, (const uint8_t *)"x", 1,
					     &other, &n);
		rc = nacre_sim_request(ctx, other, n, resp, resplen);
		free(other);
	} else {
		rc = nacre_sim_request(ctx, req, reqlen, resp, resplen);
	}
	nacre_nsm_request_free(&r);
	return rc;
}

static void
sim_free(void *ctx)
{
	nacre_sim_free(ctx);
}

static void
test_lying_nsm(void)
{
	char path[128];
	struct nacre_sim *s;
	struct nacre_attest *a;
	uint8_t *doc = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/a/b/root.pem", dir);
	s = nacre_sim_new(path, NULL, err, sizeof(err));
	a = s ? nacre_attest_wrap("sim", lying_transport, s, sim_free, NULL, err,
				  sizeof(err)) : NULL;
	CHECK(a != NULL, "provider over a custom transport opens");
	CHECK(a && nacre_attest_get(a, (const uint8_t *)"spki", 4, NULL, 0, NULL,
				    0, &doc, &len, err, sizeof(err)) < 0 && !doc,
	      "a document binding another public key is refused");
	CHECK_STR(err, "NSM returned a document whose public_key differs from "
		  "the request", "... and the error says which field");
	nacre_attest_free(a);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/nacre-sim-test-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_provider();
	test_raw_requests();
	test_renewal();
	test_bad_roots();
	test_lying_nsm();
	test_cert_file();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	TAP_DONE();
}
