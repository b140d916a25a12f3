/*
 * attest_sim.c: a software Nitro Secure Module for development and tests.
 * It answers /dev/nsm's CBOR requests with documents laid out byte for byte
 * like NSM's, signed through a chain shaped like AWS's (root -> regional ->
 * zonal -> instance -> 3-hour signing certificate) under a local root whose
 * every name says it is a simulator. Only the trust anchor differs from
 * real Nitro; verifiers reject sim evidence unless a policy names its root.
 * The root lives in two files: KEY (e.g. sim-root.pem: certificate and
 * private key, mode 0600, read by nacred only) and, beside it, its
 * certificate alone for clients to pin (sim-root.crt, mode 0644).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "attest.h"
#include "libnacre.h"
#include "nacred.h"
#include "tee/tee.h"

#define SIM_ORG "nacre simulator"
#define SIM_ROOT_CN "nacre-sim-root"
#define SIM_ROOT_OU "SIMULATED Nitro root - not AWS"
#define SIM_OU "SIMULATED - not AWS"
#define SIM_REGION "sim-region.nacre-sim.nitro-enclaves"
#define HOUR 3600
#define DAY (24 * HOUR)
#define LEAF_LIFE (3 * HOUR)      /* as NSM's signing certificates */
#define LEAF_RENEW (2 * HOUR)     /* a fresh one well before expiry */
#define CHAIN_RENEW (20 * HOUR)   /* the instance CA lives one day */
#define ROOT_FILE_MAX 65536

enum { CA_REGIONAL, CA_ZONAL, CA_INSTANCE, NCA };

struct nacre_sim {
	EVP_PKEY *root_key;
	X509 *root;
	EVP_PKEY *ca_key[NCA];
	X509 *ca[NCA];
	EVP_PKEY *leaf_key;
	X509 *leaf;
	uint8_t *der[NCA + 2];   /* root, regional, zonal, instance, leaf */
	size_t der_len[NCA + 2];
	time_t chain_born, leaf_born, fake_now;
	uint8_t pcrs[16][48];
	char instance[32];       /* "i-sim" + 14 hex, like "i-" + 17 hex */
	char module_id[64];
	char root_hex[65];
	char *root_path;         /* certificate and key, 0600 */
	char *cert_path;         /* the certificate alone, 0644, for clients */
};

static time_t
sim_now(const struct nacre_sim *s)
{
	return s->fake_now ? s->fake_now : time(NULL);
}

static uint64_t
sim_now_ms(const struct nacre_sim *s)
{
	struct timespec ts;

	if (s->fake_now)
		return (uint64_t)s->fake_now * 1000;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
random_hex(char *out, size_t nhex)
{
	uint8_t b[32];

	if (RAND_bytes(b, (int)sizeof(b)) != 1)
		memset(b, 0, sizeof(b)); /* names only; never a secret */
	nacre_hex_encode(b, (nhex + 1) / 2, out);
	out[nhex] = '\0';
}

/* ---- certificates ---- */

static X509_NAME *
sim_name(const char *ou, const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (n && X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
					    (const unsigned char *)SIM_ORG, -1,
					    -1, 0) &&
	    X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC,
				       (const unsigned char *)ou, -1, -1, 0) &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				       (const unsigned char *)cn, -1, -1, 0))
		return n;
	X509_NAME_free(n);
	return NULL;
}

/* basic: "critical,CA:TRUE,pathlen:2" etc.; issuer NULL = self-signed */
static X509 *
make_cert(EVP_PKEY *key, const char *ou, const char *cn, X509 *issuer,
	  EVP_PKEY *issuer_key, time_t from, time_t to, const char *basic,
	  const char *usage)
{
	X509 *x = X509_new();
	X509_NAME *name = sim_name(ou, cn);
	bool ok;

	ok = x && name && X509_set_version(x, X509_VERSION_3) &&
	     nacre_tee_sim_random_serial(x) && X509_set_subject_name(x, name) &&
	     X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) :
				  name) &&
	     ASN1_TIME_set(X509_getm_notBefore(x), from) &&
	     ASN1_TIME_set(X509_getm_notAfter(x), to) &&
	     X509_set_pubkey(x, key) &&
	     nacre_tee_sim_add_ext(x, issuer ? issuer : x, NID_basic_constraints, basic) &&
	     nacre_tee_sim_add_ext(x, issuer ? issuer : x, NID_key_usage, usage);
	if (ok && strstr(basic, "CA:TRUE"))
		ok = nacre_tee_sim_add_ext(x, issuer ? issuer : x, NID_subject_key_identifier,
			     "hash") &&
		     nacre_tee_sim_add_ext(x, issuer ? issuer : x,
			     NID_authority_key_identifier, "keyid:always");
	ok = ok && X509_sign(x, issuer_key ? issuer_key : key, EVP_sha384()) > 0;
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int
set_der(struct nacre_sim *s, int slot, X509 *x)
{
	uint8_t *der = NULL;
	int n = i2d_X509(x, &der);

	if (n <= 0)
		return -1;
	OPENSSL_free(s->der[slot]);
	s->der[slot] = der;
	s->der_len[slot] = (size_t)n;
	return 0;
}

static void
drop_chain(struct nacre_sim *s)
{
	for (int i = 0; i < NCA; i++) {
		EVP_PKEY_free(s->ca_key[i]);
		X509_free(s->ca[i]);
		s->ca_key[i] = NULL;
		s->ca[i] = NULL;
	}
	EVP_PKEY_free(s->leaf_key);
	X509_free(s->leaf);
	s->leaf_key = NULL;
	s->leaf = NULL;
}

/* regional (20 days, pathlen 2) -> zonal (5 days, 1) -> instance (1 day,
 * 0), as AWS's intermediates */
static int
make_chain(struct nacre_sim *s, time_t now)
{
	static const int life[NCA] = { 20 * DAY, 5 * DAY, DAY };
	static const char *const basic[NCA] = {
		"critical,CA:TRUE,pathlen:2", "critical,CA:TRUE,pathlen:1",
		"critical,CA:TRUE,pathlen:0"
	};
	char cn[3][128], id[17];

	random_hex(id, 16);
	snprintf(cn[CA_REGIONAL], sizeof(cn[0]), "%s.%s", id, SIM_REGION);
	random_hex(id, 16);
	snprintf(cn[CA_ZONAL], sizeof(cn[0]), "%s.zonal.%s", id, SIM_REGION);
	snprintf(cn[CA_INSTANCE], sizeof(cn[0]), "%s.%s", s->instance,
		 SIM_REGION);
	drop_chain(s);
	for (int i = 0; i < NCA; i++) {
		X509 *up = i ? s->ca[i - 1] : s->root;
		EVP_PKEY *upkey = i ? s->ca_key[i - 1] : s->root_key;
		if (!(s->ca_key[i] = EVP_EC_gen("P-384")) ||
		    !(s->ca[i] = make_cert(s->ca_key[i], SIM_OU, cn[i], up, upkey,
					   now - HOUR, now + life[i], basic[i],
					   "critical,digitalSignature,"
					   "keyCertSign,cRLSign")) ||
		    set_der(s, 1 + i, s->ca[i]) < 0)
			return -1;
	}
	s->chain_born = now;
	return 0;
}

/* the document signing certificate: end entity, about 3 hours */
static int
make_leaf(struct nacre_sim *s, time_t now)
{
	char cn[128];

	snprintf(cn, sizeof(cn), "%s.sim-region.nacre-sim", s->module_id);
	EVP_PKEY_free(s->leaf_key);
	X509_free(s->leaf);
	s->leaf = NULL;
	if (!(s->leaf_key = EVP_EC_gen("P-384")) ||
	    !(s->leaf = make_cert(s->leaf_key, SIM_OU, cn, s->ca[CA_INSTANCE],
				  s->ca_key[CA_INSTANCE], now - 60,
				  now - 60 + LEAF_LIFE, "critical,CA:FALSE",
				  "digitalSignature,nonRepudiation")) ||
	    set_der(s, NCA + 1, s->leaf) < 0)
		return -1;
	s->leaf_born = now;
	return 0;
}

static int
ensure_fresh(struct nacre_sim *s, time_t now)
{
	if (!s->leaf || now < s->chain_born || now - s->chain_born > CHAIN_RENEW) {
		if (make_chain(s, now) < 0)
			return -1;
		return make_leaf(s, now);
	}
	if (now < s->leaf_born || now - s->leaf_born > LEAF_RENEW)
		return make_leaf(s, now);
	return 0;
}

/* ---- the root on disk ---- */

static int
mkdir_parents(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		nacre_seterr(err, errlen, "sim root path is too long");
		return -1;
	}
	if (!(slash = strrchr(dir, '/')) || slash == dir)
		return 0;
	*slash = '\0';
	/* 0755: clients read the certificate beside the key file, which
	 * keeps itself private (0600) */
	if (nacre_tee_sim_mkdirs(dir, 0755) < 0) {
		nacre_seterr(err, errlen, "cannot create directory %s for the sim "
			     "root: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static bool
is_p384(EVP_PKEY *k)
{
	char group[32];
	size_t n;

	return k && EVP_PKEY_is_a(k, "EC") &&
	       EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group),
					      &n) == 1 &&
	       strcmp(group, "secp384r1") == 0;
}

static int
read_small_file(int fd, const char *path, uint8_t **out, size_t *len,
		char *err, size_t errlen)
{
	uint8_t *buf = malloc(ROOT_FILE_MAX);
	size_t n = 0;
	ssize_t r;

	if (!buf) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	while ((r = read(fd, buf + n, ROOT_FILE_MAX - n)) > 0 &&
	       (n += (size_t)r) < ROOT_FILE_MAX)
		;
	if (r < 0 || n == ROOT_FILE_MAX) {
		nacre_seterr(err, errlen, "sim root %s: %s", path,
		       r < 0 ? strerror(errno) : "file too large");
		OPENSSL_cleanse(buf, ROOT_FILE_MAX);
		free(buf);
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int
parse_root(struct nacre_sim *s, const uint8_t *pem, size_t len,
	   const char *path, char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);

	s->root = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	b = BIO_new_mem_buf(pem, (int)len);
	s->root_key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	ERR_clear_error();
	if (!s->root || !s->root_key) {
		nacre_seterr(err, errlen, "sim root %s: expected a PEM certificate and "
		       "its PEM private key; delete the file to make a new root",
		       path);
		return -1;
	}
	if (!is_p384(s->root_key) || X509_check_private_key(s->root,
							    s->root_key) != 1 ||
	    X509_check_issued(s->root, s->root) != X509_V_OK) {
		ERR_clear_error();
		nacre_seterr(err, errlen, "sim root %s: not a self-signed P-384 root "
		       "with its own key; delete the file to make a new root",
		       path);
		return -1;
	}
	return 0;
}

/* 1 loaded, 0 absent, -1 error */
static int
load_root(struct nacre_sim *s, const char *path, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *pem;
	size_t len;
	/* O_NONBLOCK: a FIFO at the path must not wait for a writer; it is
	 * refused below as not a regular file */
	int rc, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 && errno == ELOOP) {
		/* a key file is never reached through a symlink */
		nacre_seterr(err, errlen, "sim root %s is a symbolic link; give the "
		       "path of the file itself", path);
		return -1;
	}
	if (fd < 0) {
		nacre_seterr(err, errlen, "sim root %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		nacre_seterr(err, errlen, "sim root %s: not a regular file (%s)",
			     path, S_ISFIFO(st.st_mode) ? "a FIFO" :
			     S_ISDIR(st.st_mode) ? "a directory" :
			     "a device or socket");
		return -1;
	}
	if (st.st_mode & 077) {
		close(fd);
		nacre_seterr(err, errlen, "sim root %s holds a private key but is open "
		       "to others (mode %04o); chmod 600 it", path,
		       (unsigned)(st.st_mode & 07777));
		return -1;
	}
	rc = read_small_file(fd, path, &pem, &len, err, errlen);
	close(fd);
	if (rc < 0)
		return -1;
	rc = parse_root(s, pem, len, path, err, errlen);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return rc < 0 ? -1 : 1;
}

static int
write_pem(int fd, X509 *x, EVP_PKEY *k)
{
	BIO *b = BIO_new_fd(fd, BIO_NOCLOSE);
	int ok = b && PEM_write_bio_X509(b, x) &&
		 PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) &&
		 BIO_flush(b) == 1;

	BIO_free(b);
	return ok && fsync(fd) == 0 ? 0 : -1;
}

/* the certificate alone, PEM */
static int
write_cert_pem(int fd, X509 *x)
{
	BIO *b = BIO_new_fd(fd, BIO_NOCLOSE);
	int ok = b && PEM_write_bio_X509(b, x) && BIO_flush(b) == 1;

	BIO_free(b);
	return ok && fsync(fd) == 0 ? 0 : -1;
}

/* 1 when path is a regular file whose first PEM certificate is exactly
 * the root s->der[0] (and, with need_0644, of mode 0644), 0 when absent or
 * different, -1 (err) when it cannot be read or is not a regular file */
static int
cert_file_is_root(const struct nacre_sim *s, const char *path,
		  const char *what, bool need_0644, char *err, size_t errlen)
{
	struct stat st;
	char *text;
	BIO *b;
	X509 *x = NULL;
	unsigned char *der = NULL;
	int len = -1;
	bool same;

	if (stat(path, &st) < 0 && errno == ENOENT)
		return 0;
	/* regular files only, size-bounded, never waiting on a FIFO */
	if (!(text = nacre_read_text_file(path, ROOT_FILE_MAX, what, err,
					  errlen)))
		return -1;
	if ((b = BIO_new_mem_buf(text, -1))) {
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	ERR_clear_error();
	OPENSSL_cleanse(text, strlen(text));   /* the key file's text too */
	free(text);
	if (x)
		len = i2d_X509(x, &der);
	same = len > 0 && (size_t)len == s->der_len[0] &&
	       memcmp(der, s->der[0], (size_t)len) == 0;
	X509_free(x);
	OPENSSL_free(der);
	if (same && need_0644 && stat(path, &st) == 0 &&
	    (st.st_mode & 07777) != 0644)
		same = false;
	return same ? 1 : 0;
}

/* The certificate for clients, beside the key file: written to a
 * temporary file (0644), then renamed into place, so a reader sees the
 * old file or the whole new one. Rewritten when missing, different
 * (an older root's) or of another mode. */
static int
publish_cert(struct nacre_sim *s, char *err, size_t errlen)
{
	char tmp[4200];
	int fd, rc = cert_file_is_root(s, s->cert_path, "sim root certificate",
				       true, err, errlen);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", s->cert_path);
	if ((fd = mkstemp(tmp)) < 0) {
		nacre_seterr(err, errlen, "cannot write the sim root certificate "
			     "next to %s: %s", s->cert_path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0644) < 0 || write_cert_pem(fd, s->root) < 0) {
		nacre_seterr(err, errlen, "cannot write the sim root certificate "
			     "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, s->cert_path) < 0) {
		nacre_seterr(err, errlen, "cannot install the sim root certificate "
			     "at %s: %s", s->cert_path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	log_info("sim: wrote the root certificate %s for clients",
		 s->cert_path);
	return 0;
}

/* a new root, published atomically: written to a temporary file (0600),
 * then linked into place, so a concurrent creator's root wins cleanly */
static int
create_root(struct nacre_sim *s, const char *path, char *err, size_t errlen)
{
	char tmp[4200];
	time_t now = time(NULL);
	int fd;

	if (mkdir_parents(path, err, errlen) < 0)
		return -1;
	if (!(s->root_key = EVP_EC_gen("P-384")) ||
	    !(s->root = make_cert(s->root_key, SIM_ROOT_OU, SIM_ROOT_CN, NULL,
				  NULL, now - HOUR, now + 30L * 365 * DAY,
				  "critical,CA:TRUE",
				  "critical,digitalSignature,keyCertSign,"
				  "cRLSign"))) {
		nacre_seterr(err, errlen, "cannot generate the sim root");
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		nacre_seterr(err, errlen, "cannot write the sim root next to %s: %s",
		       path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) < 0 || write_pem(fd, s->root, s->root_key) < 0) {
		nacre_seterr(err, errlen, "cannot write the sim root %s: %s", tmp,
		       strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (link(tmp, path) == 0) {
		unlink(tmp);
		return 1;
	}
	int e = errno;
	if (e == EEXIST) { /* someone else made one meanwhile: use theirs */
		unlink(tmp);
		return 0;
	}
	if (rename(tmp, path) == 0) /* filesystems without hard links */
		return 1;
	nacre_seterr(err, errlen, "cannot install the sim root at %s: %s", path,
	       strerror(e));
	unlink(tmp);
	return -1;
}

static int
root_open(struct nacre_sim *s, const char *path, char *err, size_t errlen)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int rc = load_root(s, path, err, errlen);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return 0;
		if ((rc = create_root(s, path, err, errlen)) < 0)
			return -1;
		if (rc > 0) {
			log_info("sim: created a new SIMULATED Nitro root at %s",
				 path);
			return 0;
		}
		/* lost a creation race: drop ours and load the winner's */
		X509_free(s->root);
		EVP_PKEY_free(s->root_key);
		s->root = NULL;
		s->root_key = NULL;
	}
	nacre_seterr(err, errlen, "sim root %s: could not create or load it", path);
	return -1;
}

/* ---- the sim ---- */

void
nacre_sim_free(struct nacre_sim *s)
{
	if (!s)
		return;
	drop_chain(s);
	X509_free(s->root);
	EVP_PKEY_free(s->root_key);
	for (int i = 0; i < NCA + 2; i++)
		OPENSSL_free(s->der[i]);
	free(s->root_path);
	free(s->cert_path);
	free(s);
}

struct nacre_sim *
nacre_sim_new(const char *root_pem_path, const uint8_t pcrs[16][48],
	      char *err, size_t errlen)
{
	struct nacre_sim *s = calloc(1, sizeof(*s));
	uint8_t md[32];
	char enc[17], crt[4096];

	if (!s) {
		nacre_seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (!root_pem_path || !*root_pem_path) {
		nacre_seterr(err, errlen, "the sim needs a root file path");
		goto fail;
	}
	if (pcrs)
		memcpy(s->pcrs, pcrs, sizeof(s->pcrs));
	if (nacre_sim_cert_path(root_pem_path, crt, sizeof(crt)) < 0) {
		nacre_seterr(err, errlen, "sim root %s: the key file needs a "
			     "name that does not end in \".crt\" or \"/\" "
			     "(its certificate for clients is written beside it, "
			     "as NAME.crt); e.g. /var/lib/nacre/sim-root.pem",
			     root_pem_path);
		goto fail;
	}
	if (!(s->root_path = strdup(root_pem_path)) ||
	    !(s->cert_path = strdup(crt))) {
		nacre_seterr(err, errlen, "out of memory");
		goto fail;
	}
	if (root_open(s, root_pem_path, err, errlen) < 0 ||
	    set_der(s, 0, s->root) < 0 || publish_cert(s, err, errlen) < 0)
		goto fail;
	SHA256(s->der[0], s->der_len[0], md);
	nacre_hex_encode(md, 32, s->root_hex);
	/* the "instance" follows the root; each open is a new "enclave" */
	memcpy(s->instance, "i-sim", 5);
	nacre_hex_encode(md, 7, s->instance + 5);
	random_hex(enc, 16);
	snprintf(s->module_id, sizeof(s->module_id), "%s-enc%s", s->instance,
		 enc);
	if (ensure_fresh(s, sim_now(s)) < 0) {
		nacre_seterr(err, errlen, "cannot build the sim certificate chain");
		goto fail;
	}
	return s;
fail:
	nacre_sim_free(s);
	return NULL;
}

const char *
nacre_sim_root_sha256_hex(const struct nacre_sim *s)
{
	return s->root_hex;
}

X509 *
nacre_sim_root(const struct nacre_sim *s)
{
	return s->root;
}

void
nacre_sim_set_time(struct nacre_sim *s, time_t now)
{
	s->fake_now = now;
}

static int
sim_document(struct nacre_sim *s, const struct nacre_nsm_request *r,
	     uint8_t **doc, size_t *len)
{
	const uint8_t *cab[NCA + 1];
	size_t cab_len[NCA + 1];
	uint8_t *payload = NULL;
	size_t payload_len;
	int rc;

	if (ensure_fresh(s, sim_now(s)) < 0)
		return -1;
	for (int i = 0; i <= NCA; i++) {
		cab[i] = s->der[i];
		cab_len[i] = s->der_len[i];
	}
	struct nacre_nitro_fields f = {
		.module_id = s->module_id,
		.timestamp_ms = sim_now_ms(s),
		.pcrs = (const uint8_t (*)[48])s->pcrs,
		.npcrs = 16,
		.certificate = s->der[NCA + 1],
		.certificate_len = s->der_len[NCA + 1],
		.cabundle = cab,
		.cabundle_len = cab_len,
		.ncabundle = NCA + 1,
		.public_key = r->public_key,
		.public_key_len = r->public_key_len,
		.user_data = r->user_data,
		.user_data_len = r->user_data_len,
		.nonce = r->nonce,
		.nonce_len = r->nonce_len,
	};
	if (nacre_nitro_payload_encode(&f, &payload, &payload_len) < 0)
		return -1;
	rc = nacre_nitro_sign(payload, payload_len, s->leaf_key, doc, len);
	free(payload);
	return rc;
}

static bool
too_big(const uint8_t *p, size_t n)
{
	return p && n > NACRE_NITRO_FIELD_MAX;
}

/* the response for one request, as NSM would give it */
static int
answer(struct nacre_sim *s, const uint8_t *req, size_t reqlen, uint8_t **out,
       size_t *outlen)
{
	struct nacre_nsm_request r;
	enum nacre_nsm_error e = NACRE_NSM_INVALID_ARGUMENT;
	uint8_t *doc = NULL;
	size_t doc_len;
	int rc;

	if (reqlen > NACRE_NSM_REQUEST_MAX)
		return nacre_nsm_encode_error_response(NACRE_NSM_INPUT_TOO_LARGE,
						       out, outlen);
	if (nacre_nsm_decode_request(req, reqlen, &r, NULL, 0) < 0)
		return nacre_nsm_encode_error_response(e, out, outlen);
	if (r.kind == NACRE_NSM_DESCRIBE) {
		struct nacre_nsm_describe d = {
			.version_major = 1, .max_pcrs = 32,
			.locked_pcrs = 0xffff, .digest = "SHA384",
		};
		snprintf(d.module_id, sizeof(d.module_id), "%s", s->module_id);
		rc = nacre_nsm_encode_describe_response(&d, out, outlen);
	} else if (r.kind != NACRE_NSM_ATTESTATION) {
		rc = nacre_nsm_encode_error_response(NACRE_NSM_INVALID_OPERATION,
						     out, outlen);
	} else if (too_big(r.user_data, r.user_data_len) ||
		   too_big(r.nonce, r.nonce_len) ||
		   too_big(r.public_key, r.public_key_len) ||
		   (r.public_key && r.public_key_len == 0)) {
		rc = nacre_nsm_encode_error_response(e, out, outlen);
	} else if (sim_document(s, &r, &doc, &doc_len) < 0) {
		rc = nacre_nsm_encode_error_response(NACRE_NSM_INTERNAL_ERROR,
						     out, outlen);
	} else {
		rc = nacre_nsm_encode_attestation_response(doc, doc_len, out,
							   outlen);
		free(doc);
	}
	nacre_nsm_request_free(&r);
	return rc;
}

int
nacre_sim_request(struct nacre_sim *s, const uint8_t *req, size_t reqlen,
		  uint8_t *resp, size_t *resplen)
{
	uint8_t *out = NULL;
	size_t outlen;

	if (answer(s, req, reqlen, &out, &outlen) < 0)
		return -1;
	if (outlen > *resplen) {
		free(out);
		if (nacre_nsm_encode_error_response(NACRE_NSM_BUFFER_TOO_SMALL,
						    &out, &outlen) < 0)
			return -1;
		if (outlen > *resplen) {
			free(out);
			return -1;
		}
	}
	memcpy(resp, out, outlen);
	*resplen = outlen;
	free(out);
	return 0;
}

/* ---- the provider ---- */

/*
 * Clients pin the sim root by its fingerprint or by its certificate file;
 * a restart loads the key file. If either file is gone or holds another
 * root, evidence signed under ours could no longer be checked by anyone
 * who looks there, so the provider refuses. Both are read without ever
 * blocking (a FIFO there is refused, not waited on).
 */
static int
root_unchanged(const struct nacre_sim *s, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	rc = cert_file_is_root(s, s->root_path, "sim root", false, err, errlen);
	if (rc == 0)
		nacre_seterr(err, errlen, "sim root %s is %s; restore it, or "
			     "restart nacred to create a new root (and re-pin "
			     "its fingerprint)", s->root_path,
			     stat(s->root_path, &st) == 0 ? "no longer the root "
			     "this sim signs with" : "gone");
	if (rc <= 0)
		return -1;
	rc = cert_file_is_root(s, s->cert_path, "sim root certificate", false,
			       err, errlen);
	if (rc == 0)
		nacre_seterr(err, errlen, "sim root certificate %s is %s; "
			     "restore it, or restart nacred to write it again "
			     "from %s", s->cert_path,
			     stat(s->cert_path, &st) == 0 ? "no longer the root "
			     "this sim signs with" : "gone", s->root_path);
	return rc > 0 ? 0 : -1;
}

static int
sim_transport(void *ctx, const uint8_t *req, size_t reqlen, uint8_t *resp,
	      size_t *resplen, char *err, size_t errlen)
{
	if (root_unchanged(ctx, err, errlen) < 0)
		return -1;
	if (nacre_sim_request(ctx, req, reqlen, resp, resplen) < 0) {
		nacre_seterr(err, errlen, "sim: cannot answer the request (out of "
		       "memory)");
		return -1;
	}
	return 0;
}

static void
sim_free_ctx(void *ctx)
{
	nacre_sim_free(ctx);
}

struct nacre_attest *
nacre_attest_sim_open(const char *root_pem_path, const uint8_t pcrs[16][48],
		      char *err, size_t errlen)
{
	struct nacre_sim *s = nacre_sim_new(root_pem_path, pcrs, err, errlen);
	char root_hex[65];

	if (!s)
		return NULL;
	memcpy(root_hex, s->root_hex, sizeof(root_hex));
	/* where each file is: the key never leaves this machine, the
	 * certificate is what clients pin (nacre verify --root FILE.crt) */
	log_info("sim: root key file %s (mode 0600, nacred only); root "
		 "certificate %s (mode 0644, for clients: nacre verify --root "
		 "%s)", s->root_path, s->cert_path, s->cert_path);
	return nacre_attest_wrap("sim", sim_transport, s, sim_free_ctx,
				 root_hex, err, errlen);
}
