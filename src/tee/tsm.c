/*
 * tsm.c: the configfs-tsm provider ("tsm"): TD quotes and SEV-SNP reports
 * from the Linux kernel's TSM report interface (Linux 6.7+,
 * Documentation/ABI/testing/configfs-tsm-report).
 *
 * One request = one report entry of our own: mkdir <path>/<name>, read
 * "provider" (tdx_guest or sev_guest) and "generation", write "privlevel"
 * (SNP, when configured) and the 64 bytes of "inblob", read "outblob" (the
 * quote or report, at most 16 KiB) and "auxblob" (SNP's certificate table,
 * at most 40 KiB, may be absent or empty), read "generation" again, rmdir.
 * The kernel counts every write to an entry in "generation": if it moved
 * by more than our own writes, another writer raced us and the outblob
 * may answer its inblob, not ours; the request is then made again in a
 * new entry, NACRE_TSM_TRIES times at most.
 *
 * On configfs an entry's attributes exist as soon as mkdir returns and
 * rmdir removes them with it. A plain directory that emulates the kernel
 * (tests/tools/nacre-tsmsim.c) fills an entry a moment after mkdir and
 * leaves its files behind: "provider" is looked for again for up to 2 s,
 * and an entry rmdir finds not empty loses the attribute files first.
 * Neither happens on configfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "attest.h"
#include "tee/tee_provider.h"

#define CONFIGFS_MAGIC 0x62656570
#define ATTR_MAX 64              /* provider, generation, privlevel_floor */
#define PROVIDER_WAIT_MS 2000

struct tsm {
	char *path;
	enum nacre_tee_kind platform;
	char provider[32];
	bool has_privlevel;
	unsigned privlevel;
	atomic_uint seq;
};

static const char *const attrs[] = { "inblob", "outblob", "auxblob",
				     "provider", "generation", "privlevel",
				     "privlevel_floor", NULL };

int
nacre_tsm_platform_of(const char *provider)
{
	if (strcmp(provider, "tdx_guest") == 0)
		return NACRE_TEE_TDX;
	if (strcmp(provider, "sev_guest") == 0)
		return NACRE_TEE_SNP;
	return -1;
}

/* reads NAME in DIRFD, whole, at most max bytes; -2 when it does not
 * exist (errno ENOENT), -1 with err otherwise */
static int
read_attr(int dirfd, const char *dir, const char *name, size_t max,
	  uint8_t **out, size_t *len, char *err, size_t errlen)
{
	uint8_t *buf = malloc(max + 1);
	size_t n = 0;
	ssize_t r = 0;
	int fd, e;

	*out = NULL;
	*len = 0;
	if (!buf) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	while ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) < 0 &&
	       errno == EINTR)
		;
	if (fd < 0) {
		e = errno;
		free(buf);
		if (e == ENOENT)
			return -2;
		nacre_seterr(err, errlen, "configfs-tsm: cannot open %s/%s: %s",
			     dir, name, strerror(e));
		return -1;
	}
	/* one byte more than allowed tells "too long" from "just fits" */
	while (n <= max) {
		r = read(fd, buf + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	e = errno;
	close(fd);
	if (r < 0) {
		nacre_seterr(err, errlen, "configfs-tsm: reading %s/%s failed: %s "
			     "(the TSM driver refused the request; see the "
			     "kernel log, dmesg)", dir, name, strerror(e));
		free(buf);
		return -1;
	}
	if (n > max) {
		nacre_seterr(err, errlen, "configfs-tsm: %s/%s is over %zu "
			     "bytes; nacre takes no more", dir, name, max);
		free(buf);
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* a one-line text attribute, NUL-terminated, the newline cut */
static int
read_text(int dirfd, const char *dir, const char *name, char *out,
	  size_t cap, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int rc = read_attr(dirfd, dir, name, cap - 1, &buf, &len, err, errlen);

	if (rc < 0)
		return rc;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	memcpy(out, buf, len);
	out[len] = '\0';
	free(buf);
	if (memchr(out, '\0', len)) {
		nacre_seterr(err, errlen, "configfs-tsm: %s/%s holds a NUL byte",
			     dir, name);
		return -1;
	}
	return 0;
}

static int
read_u64(int dirfd, const char *dir, const char *name, uint64_t *v,
	 char *err, size_t errlen)
{
	char s[ATTR_MAX], *end;
	int rc = read_text(dirfd, dir, name, s, sizeof(s), err, errlen);

	if (rc == -2)
		nacre_seterr(err, errlen, "configfs-tsm: %s/%s is missing; is %s "
			     "a configfs-tsm report entry?", dir, name, dir);
	if (rc < 0)
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-') {
		nacre_seterr(err, errlen, "configfs-tsm: %s/%s is not a "
			     "number: \"%.32s\"", dir, name, s);
		return -1;
	}
	return 0;
}

static int
write_attr(int dirfd, const char *dir, const char *name, const void *p,
	   size_t n, char *err, size_t errlen)
{
	ssize_t w = -1;
	size_t off = 0;
	int fd;

	while ((fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC)) < 0 &&
	       errno == EINTR)
		;
	if (fd < 0) {
		nacre_seterr(err, errlen, "configfs-tsm: cannot open %s/%s for "
			     "writing: %s", dir, name, strerror(errno));
		return -1;
	}
	while (off < n) {
		w = write(fd, (const uint8_t *)p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	/* configfs takes a binary attribute's bytes when it is closed */
	if (off < n || close(fd) < 0) {
		nacre_seterr(err, errlen, "configfs-tsm: writing %s/%s failed: %s",
			     dir, name, off < n && w == 0 ? "short write" :
			     strerror(errno));
		if (off < n)
			close(fd);
		return -1;
	}
	return 0;
}

/* the entry's attributes: there with mkdir on configfs, a moment later
 * in an emulation */
static int
wait_provider(int dirfd, const char *dir, char *out, size_t cap, char *err,
	      size_t errlen)
{
	for (unsigned waited = 0;; waited += 10) {
		int rc = read_text(dirfd, dir, "provider", out, cap, err, errlen);

		if (rc != -2)
			return rc;
		if (waited >= PROVIDER_WAIT_MS) {
			nacre_seterr(err, errlen, "configfs-tsm: %s/provider did not "
				     "appear; is %s a configfs-tsm report "
				     "directory?", dir, dir);
			return -1;
		}
		usleep(10000);
	}
}

static void
entry_remove(int dirfd, const char *entry)
{
	char p[PATH_MAX];

	close(dirfd);
	if (rmdir(entry) == 0)
		return;
	if (errno == ENOTEMPTY) {
		/* a plain directory (an emulation), not configfs */
		for (size_t i = 0; attrs[i]; i++) {
			snprintf(p, sizeof(p), "%s/%s", entry, attrs[i]);
			unlink(p);
		}
	}
	if (rmdir(entry) < 0 && errno != ENOENT)
		nacre_log(NACRE_LOG_WARN, 0, "configfs-tsm: cannot remove %s: %s",
			  entry, strerror(errno));
}

/* the causes of a report directory that is not there, and their fixes */
static void
explain_missing(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct statfs fs;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	/* the deepest ancestor that exists, and what it is */
	while ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if (access(dir, F_OK) == 0)
			break;
	}
	if (statfs(dir, &fs) == 0 && (unsigned long)fs.f_type == CONFIGFS_MAGIC) {
		nacre_seterr(err, errlen, "attestation.tsm.path %s does not exist: "
			     "configfs is mounted at %s but this kernel offers no "
			     "TSM reports there; nacred needs Linux 6.7 or later "
			     "with CONFIG_TSM_REPORTS, in an Intel TDX or AMD "
			     "SEV-SNP guest with its attestation driver loaded "
			     "(modprobe tdx_guest, or modprobe sev-guest)", path,
			     dir);
	} else if (strncmp(path, "/sys/kernel/config/", 19) == 0) {
		nacre_seterr(err, errlen, "attestation.tsm.path %s does not exist: "
			     "configfs is not mounted at /sys/kernel/config; mount "
			     "it (mount -t configfs none /sys/kernel/config) and "
			     "start nacred again", path);
	} else {
		nacre_seterr(err, errlen, "attestation.tsm.path %s does not exist; "
			     "set it to the configfs-tsm report directory "
			     "(/sys/kernel/config/tsm/report)", path);
	}
}

/* makes a new entry: its path in entry, its fd; -1 with err */
static int
entry_make(struct tsm *t, char *entry, size_t cap, char *err, size_t errlen)
{
	bool made = false;
	int fd;

	for (int i = 0; i < 16 && !made; i++) {
		unsigned n = atomic_fetch_add(&t->seq, 1);

		snprintf(entry, cap, "%s/nacred-%ld-%u", t->path, (long)getpid(), n);
		if (mkdir(entry, 0700) == 0) {
			made = true;
			break;
		}
		if (errno == EEXIST)
			continue;
		if (errno == EACCES || errno == EPERM)
			nacre_seterr(err, errlen, "configfs-tsm: nacred (uid %u) may "
				     "not create report entries in %s (%s); run "
				     "nacred as root, or give its user write "
				     "access to %s", (unsigned)geteuid(), t->path,
				     strerror(errno), t->path);
		else if (errno == ENXIO || errno == ENODEV)
			nacre_seterr(err, errlen, "configfs-tsm: %s has no TSM "
				     "provider (%s); load the guest's attestation "
				     "driver (modprobe tdx_guest, or modprobe "
				     "sev-guest) in an Intel TDX or AMD SEV-SNP guest",
				     t->path, strerror(errno));
		else if (errno == ENOENT)
			explain_missing(t->path, err, errlen);
		else
			nacre_seterr(err, errlen, "configfs-tsm: cannot create a "
				     "report entry in %s: %s", t->path,
				     strerror(errno));
		return -1;
	}
	if (!made) {
		nacre_seterr(err, errlen, "configfs-tsm: no free entry name in %s; "
			     "remove the stale nacred-* entries there", t->path);
		return -1;
	}
	if ((fd = open(entry, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		nacre_seterr(err, errlen, "configfs-tsm: cannot open %s: %s", entry,
			     strerror(errno));
		rmdir(entry);
		return -1;
	}
	return fd;
}

/* one attempt: 0, 1 when a concurrent writer moved "generation" (*g0,
 * *g1, *writes say how), -1 with err */
static int
attempt(struct tsm *t, const uint8_t rd[64], uint8_t **ev, size_t *ev_len,
	uint8_t **aux, size_t *aux_len, uint64_t *g0, uint64_t *g1,
	unsigned *writes, char *err, size_t errlen)
{
	char entry[PATH_MAX], prov[32], lvl[16];
	int dfd, rc = -1, r;

	*writes = 0;
	if ((dfd = entry_make(t, entry, sizeof(entry), err, errlen)) < 0)
		return -1;
	if (wait_provider(dfd, entry, prov, sizeof(prov), err, errlen) < 0)
		goto out;
	if (strcmp(prov, t->provider) != 0) {
		nacre_seterr(err, errlen, "configfs-tsm: %s/provider is now \"%s\", "
			     "was \"%s\" at start; restart nacred", entry, prov,
			     t->provider);
		goto out;
	}
	if (read_u64(dfd, entry, "generation", g0, err, errlen) < 0)
		goto out;
	if (t->has_privlevel) {
		snprintf(lvl, sizeof(lvl), "%u\n", t->privlevel);
		if (write_attr(dfd, entry, "privlevel", lvl, strlen(lvl), err,
			       errlen) < 0)
			goto out;
		(*writes)++;
	}
	if (write_attr(dfd, entry, "inblob", rd, 64, err, errlen) < 0)
		goto out;
	(*writes)++;
	if ((r = read_attr(dfd, entry, "outblob", NACRE_TSM_OUTBLOB_MAX, ev,
			   ev_len, err, errlen)) < 0) {
		if (r == -2)
			nacre_seterr(err, errlen, "configfs-tsm: %s/outblob is "
				     "missing; is %s a configfs-tsm report "
				     "directory?", entry, t->path);
		goto out;
	}
	if (*ev_len == 0) {
		nacre_seterr(err, errlen, "configfs-tsm: %s/outblob is empty (the "
			     "TSM driver made no report; see dmesg)", entry);
		goto out;
	}
	if (t->platform == NACRE_TEE_SNP &&
	    (r = read_attr(dfd, entry, "auxblob", NACRE_TSM_AUXBLOB_MAX, aux,
			   aux_len, err, errlen)) == -1)
		goto out;
	if (read_u64(dfd, entry, "generation", g1, err, errlen) < 0)
		goto out;
	rc = *g1 == *g0 + *writes ? 0 : 1;
out:
	if (rc != 0) {
		free(*ev);
		free(*aux);
		*ev = *aux = NULL;
		*ev_len = *aux_len = 0;
	}
	entry_remove(dfd, entry);
	return rc;
}

static int
tsm_report(void *ctx, const uint8_t rd[64], uint8_t **ev, size_t *ev_len,
	   uint8_t **aux, size_t *aux_len, char *err, size_t errlen)
{
	struct tsm *t = ctx;
	uint64_t g0 = 0, g1 = 0;
	unsigned writes = 0;

	*ev = *aux = NULL;
	*ev_len = *aux_len = 0;
	for (int i = 0; i < NACRE_TSM_TRIES; i++) {
		int rc = attempt(t, rd, ev, ev_len, aux, aux_len, &g0, &g1,
				 &writes, err, errlen);

		if (rc <= 0)
			return rc;
		nacre_log(NACRE_LOG_WARN, 0, "configfs-tsm: another writer changed "
			  "a report entry of nacred during its request "
			  "(generation %llu -> %llu, %u writes of ours); "
			  "asking again (%d of %d)", (unsigned long long)g0,
			  (unsigned long long)g1, writes, i + 1, NACRE_TSM_TRIES);
	}
	nacre_seterr(err, errlen, "configfs-tsm: another writer changed nacred's "
		     "report entries in %s during each of %d requests (last: "
		     "generation %llu -> %llu, %u writes of ours), so no report "
		     "can be trusted to answer nacred's REPORTDATA; find the "
		     "process that writes into nacred-* entries there and stop it",
		     t->path, NACRE_TSM_TRIES, (unsigned long long)g0,
		     (unsigned long long)g1, writes);
	return -1;
}

static void
tsm_free(void *ctx)
{
	struct tsm *t = ctx;

	if (t) {
		free(t->path);
		free(t);
	}
}

static const struct nacre_tee_ops tsm_ops = { tsm_report, tsm_free };

/* at open: an entry made, its provider (and privlevel floor) read */
static int
probe(struct tsm *t, char *err, size_t errlen)
{
	char entry[PATH_MAX], floor_s[ATTR_MAX];
	int dfd, p, rc = -1, r;

	if ((dfd = entry_make(t, entry, sizeof(entry), err, errlen)) < 0)
		return -1;
	if (wait_provider(dfd, entry, t->provider, sizeof(t->provider), err,
			  errlen) < 0)
		goto out;
	if ((p = nacre_tsm_platform_of(t->provider)) < 0) {
		nacre_seterr(err, errlen, "configfs-tsm: %s names the provider "
			     "\"%.31s\"; nacred knows \"tdx_guest\" (Intel TDX) and "
			     "\"sev_guest\" (AMD SEV-SNP): run nacred in such a "
			     "guest, or choose another attestation.provider",
			     t->path, t->provider);
		goto out;
	}
	t->platform = (enum nacre_tee_kind)p;
	if (t->has_privlevel && t->platform != NACRE_TEE_SNP) {
		nacre_seterr(err, errlen, "attestation.tsm.privlevel is an SEV-SNP "
			     "VMPL, but %s is Intel TDX (%s); remove "
			     "attestation.tsm.privlevel", t->path, t->provider);
		goto out;
	}
	if (t->has_privlevel &&
	    (r = read_text(dfd, entry, "privlevel_floor", floor_s,
			   sizeof(floor_s), err, errlen)) != -2) {
		char *end;
		unsigned long fl;

		if (r < 0)
			goto out;
		fl = strtoul(floor_s, &end, 10);
		if (*end == '\0' && end != floor_s && t->privlevel < fl) {
			nacre_seterr(err, errlen, "attestation.tsm.privlevel = %u is "
				     "below the floor %lu of %s (privlevel_floor); "
				     "set it to %lu or more", t->privlevel, fl,
				     t->path, fl);
			goto out;
		}
	}
	rc = 0;
out:
	entry_remove(dfd, entry);
	return rc;
}

struct nacre_attest *
nacre_tsm_open(const struct nacre_tsm_opts *o, char *err, size_t errlen)
{
	struct tsm *t;
	struct stat st;

	if (stat(o->path, &st) < 0) {
		if (errno == ENOENT)
			explain_missing(o->path, err, errlen);
		else if (errno == EACCES)
			nacre_seterr(err, errlen, "attestation.tsm.path %s: nacred "
				     "(uid %u) may not look into it; run nacred as "
				     "root, or give its user access", o->path,
				     (unsigned)geteuid());
		else
			nacre_seterr(err, errlen, "attestation.tsm.path %s: %s",
				     o->path, strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		nacre_seterr(err, errlen, "attestation.tsm.path %s is not a "
			     "directory; set it to the configfs-tsm report "
			     "directory (/sys/kernel/config/tsm/report)", o->path);
		return NULL;
	}
	if (!(t = calloc(1, sizeof(*t))) || !(t->path = strdup(o->path))) {
		free(t);
		nacre_seterr(err, errlen, "out of memory");
		return NULL;
	}
	t->has_privlevel = o->has_privlevel;
	t->privlevel = o->privlevel;
	atomic_init(&t->seq, 0);
	if (probe(t, err, errlen) < 0) {
		tsm_free(t);
		return NULL;
	}
	return nacre_attest_tee_wrap("tsm", t->platform, &tsm_ops, t, err,
				     errlen);
}
