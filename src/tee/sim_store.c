/*
 * sim_store.c: what the simulated TDX and SNP hardware share (tee.h):
 * their key directory (made 0700, locked while a sim opens it), key and
 * certificate files (private keys 0600, no symlinks, size-bounded,
 * written atomically), and the certificates they issue.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "nacred.h"
#include "tee/tee.h"

#define SIM_ORG "nacre simulator"
#define KEY_FILE_MAX 65536 /* a key or certificate file, bytes */


int
nacre_tee_sim_mkdirs(char *path, unsigned mode)
{
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, (mode_t)mode) < 0 && errno != EEXIST)
			return -1;
		*p = c;
		if (c == '\0')
			return 0;
	}
}

int
nacre_tee_sim_mkdir(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path)) {
		nacre_seterr(err, errlen, "sim directory \"%.64s\" is empty or "
			     "too long; give a short absolute path", dir);
		return -1;
	}
	memcpy(path, dir, n + 1);
	if (nacre_tee_sim_mkdirs(path, 0700) < 0) {
		nacre_seterr(err, errlen, "cannot create the sim directory %s: %s",
			     path, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		nacre_seterr(err, errlen, "sim directory %s is not a directory; "
			     "give the path of a directory (made if missing)",
			     dir);
		return -1;
	}
	return 0;
}

static int
path_of(const char *dir, const char *name, char *out, size_t n, char *err,
	size_t errlen)
{
	if (snprintf(out, n, "%s/%s", dir, name) >= (int)n) {
		nacre_seterr(err, errlen, "sim directory %s: path too long", dir);
		return -1;
	}
	return 0;
}

int
nacre_tee_sim_lock(const char *dir, char *err, size_t errlen)
{
	char path[4200];
	int fd;

	if (path_of(dir, ".lock", path, sizeof(path), err, errlen) < 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		nacre_seterr(err, errlen, "cannot lock %s: %s; check the sim "
			     "directory's owner and mode", path,
			     strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* the whole file, at most KEY_FILE_MAX bytes, NUL-terminated; regular,
 * not a symlink, private. 1, 0 absent, -1 */
static int
read_key_file(const char *path, char **out, size_t *len, char *err,
	      size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	char *buf;
	size_t n = 0;
	ssize_t r = 0;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		nacre_seterr(err, errlen, "sim key %s: %s; remove it (a new key "
			     "is made in its place)", path, fd < 0 ?
			     (errno == ELOOP ? "a symbolic link" :
			      strerror(errno)) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		close(fd);
		nacre_seterr(err, errlen, "sim key %s is open to others (mode "
			     "%04o); chmod 600 it", path,
			     (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (!(buf = malloc(KEY_FILE_MAX + 1))) {
		close(fd);
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	while (n < KEY_FILE_MAX &&
	       (r = read(fd, buf + n, KEY_FILE_MAX - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (r < 0 || n == KEY_FILE_MAX) {
		OPENSSL_cleanse(buf, n);
		free(buf);
		nacre_seterr(err, errlen, "sim key %s: %s; remove it to make a "
			     "new key", path, r < 0 ? strerror(errno) :
			     "file too large");
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 1;
}

int
nacre_tee_sim_load(const char *dir, const char *name, X509 **cert,
		   EVP_PKEY **key, char *err, size_t errlen)
{
	char path[4200], *text = NULL;
	size_t len = 0;
	BIO *b;
	int rc = -1;

	*key = NULL;
	if (cert)
		*cert = NULL;
	if (path_of(dir, name, path, sizeof(path), err, errlen) < 0 ||
	    (rc = read_key_file(path, &text, &len, err, errlen)) <= 0)
		return rc < 0 ? -1 : 0;
	if (cert && (b = BIO_new_mem_buf(text, (int)len))) {
		*cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	if ((b = BIO_new_mem_buf(text, (int)len))) {
		*key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	OPENSSL_cleanse(text, len);
	free(text);
	if (!*key || (cert && (!*cert ||
			       X509_check_private_key(*cert, *key) != 1))) {
		ERR_clear_error();
		EVP_PKEY_free(*key);
		*key = NULL;
		if (cert) {
			X509_free(*cert);
			*cert = NULL;
		}
		nacre_seterr(err, errlen, "sim key %s does not hold %s; delete "
			     "it (and what it signed) to make new keys", path,
			     cert ? "a PEM certificate and its private key" :
			     "a PEM private key");
		return -1;
	}
	return 1;
}

int
nacre_tee_sim_write(const char *dir, const char *name, const void *data,
		    size_t len, mode_t mode, char *err, size_t errlen)
{
	char path[4200], tmp[4300];
	const uint8_t *p = data;
	size_t done = 0;
	ssize_t w = 0;
	int fd;

	if (path_of(dir, name, path, sizeof(path), err, errlen) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name);
	if ((fd = mkstemp(tmp)) < 0) {
		nacre_seterr(err, errlen, "cannot write %s: %s; check the sim "
			     "directory's owner and mode", path,
			     strerror(errno));
		return -1;
	}
	errno = 0;
	if (fchmod(fd, mode) == 0)
		while (done < len && (w = write(fd, p + done, len - done)) > 0)
			done += (size_t)w;
	if (done != len || fsync(fd) < 0) {
		nacre_seterr(err, errlen, "cannot write %s: %s; check the free "
			     "space and the sim directory's mode", path,
			     errno ? strerror(errno) : "short write");
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		nacre_seterr(err, errlen, "cannot install %s: %s", path,
			     strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int
write_bio(const char *dir, const char *name, BIO *b, mode_t mode, char *err,
	  size_t errlen)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);
	int rc = nacre_tee_sim_write(dir, name, data, n > 0 ? (size_t)n : 0,
				     mode, err, errlen);

	OPENSSL_cleanse(data, n > 0 ? (size_t)n : 0);
	return rc;
}

int
nacre_tee_sim_save(const char *dir, const char *name, X509 *cert,
		   EVP_PKEY *key, char *err, size_t errlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	int rc = -1;

	if (b && (!cert || PEM_write_bio_X509(b, cert) == 1) &&
	    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1)
		rc = write_bio(dir, name, b, 0600, err, errlen);
	else
		nacre_seterr(err, errlen, "cannot encode the sim key %s/%s",
			     dir, name);
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

int
nacre_tee_sim_save_cert(const char *dir, const char *name, X509 *cert,
			char *err, size_t errlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	int rc = -1;

	if (b && PEM_write_bio_X509(b, cert) == 1)
		rc = write_bio(dir, name, b, 0644, err, errlen);
	else
		nacre_seterr(err, errlen, "cannot encode the sim certificate "
			     "%s/%s", dir, name);
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

bool
nacre_tee_sim_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	bool ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if (!(e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)))
		return false;
	ok = X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok;
}

bool
nacre_tee_sim_random_serial(X509 *x)
{
	uint8_t b[16];
	BIGNUM *bn;
	bool ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return false;
	b[0] = (uint8_t)((b[0] & 0x7f) | 0x01);	/* positive, 16 bytes */
	if (!(bn = BN_bin2bn(b, sizeof(b), NULL)))
		return false;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

static X509_NAME *
sim_name(const char *ou, const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (n && X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
					    (const uint8_t *)cn, -1, -1, 0) &&
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
				       (const uint8_t *)SIM_ORG, -1, -1, 0) &&
	    X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC,
				       (const uint8_t *)ou, -1, -1, 0))
		return n;
	X509_NAME_free(n);
	return NULL;
}

X509 *
nacre_tee_sim_cert_new(EVP_PKEY *key, const char *ou, const char *cn,
		       X509 *issuer, time_t from, time_t to,
		       const char *basic, const char *usage)
{
	X509 *x = X509_new();
	X509_NAME *name = sim_name(ou, cn);
	bool ok;

	ok = x && name && X509_set_version(x, X509_VERSION_3) &&
	     nacre_tee_sim_random_serial(x) && X509_set_subject_name(x, name) &&
	     X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer)
					    : name) &&
	     ASN1_TIME_set(X509_getm_notBefore(x), from) &&
	     ASN1_TIME_set(X509_getm_notAfter(x), to) &&
	     X509_set_pubkey(x, key) &&
	     nacre_tee_sim_add_ext(x, issuer ? issuer : x, NID_subject_key_identifier,
		     "hash") &&
	     nacre_tee_sim_add_ext(x, issuer ? issuer : x, NID_authority_key_identifier,
		     "keyid:always") &&
	     nacre_tee_sim_add_ext(x, issuer ? issuer : x, NID_basic_constraints, basic) &&
	     (!usage || nacre_tee_sim_add_ext(x, issuer ? issuer : x, NID_key_usage, usage));
	X509_NAME_free(name);
	ERR_clear_error();
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int
nacre_tee_sim_cert_sha256_hex(X509 *x, char hex[65])
{
	uint8_t *der = NULL, md[32];
	int n = i2d_X509(x, &der);

	if (n <= 0)
		return -1;
	SHA256(der, (size_t)n, md);
	OPENSSL_free(der);
	nacre_hex_encode(md, 32, hex);
	return 0;
}
