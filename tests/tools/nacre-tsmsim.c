/*
 * nacre-tsmsim: the kernel's configfs-tsm report interface emulated on a
 * plain directory, so that nacred's real tsm.c runs in tests
 * (src/tee/tsm.c; Documentation/ABI/testing/configfs-tsm-report).
 *
 *   nacre-tsmsim --platform tdx|snp --dir D --state S [--race N]
 *                [--measurement HEX96] [--provider NAME]
 *
 * When an entry is made under D (mkdir, seen with inotify), it gets what
 * configfs would show: "generation" ("0"), "inblob" and (SNP) "privlevel"
 * as empty files to write, "outblob" and (SNP) "auxblob" as FIFOs, and,
 * last, "provider" (tdx_guest / sev_guest), so a reader that waits for
 * "provider" finds the rest. When "inblob" is closed after writing
 * (IN_CLOSE_WRITE), its bytes (64 at most, zero-padded) are the
 * REPORTDATA: "generation" is bumped, the simulated hardware (src/tee/,
 * keys in S) makes the quote or report, and it is written into the
 * "outblob" FIFO (and the certificate table into "auxblob"). Opening a
 * FIFO for writing waits until the reader opens it, so nacred's read
 * blocks as it does while the kernel asks the hardware. A write to
 * "privlevel" bumps "generation" as the kernel does.
 *
 * --race N: the first N reports also bump "generation" once more, as a
 * concurrent writer would (nacred must notice and ask again).
 * --provider NAME: the provider file says NAME (tests of unknown ones).
 * --measurement: MRTD (TDX) or MEASUREMENT (SNP), 48 bytes hex; default
 * zero.
 *
 * Prints "ready" on stdout once it watches D; logs to stderr; runs until
 * SIGTERM or SIGINT (then exits 0). rmdir of an entry is nacred's (tsm.c removes the files an
 * emulated entry leaves).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nacred.h"
#include "tee/tee.h"

#define MAX_ENTRIES 64
#define FIFO_WAIT_MS 10000

struct entry {
	int wd;                   /* -1: free */
	char path[PATH_MAX];
	unsigned long long gen;
};

static struct entry entries[MAX_ENTRIES];
static const char *dir, *provider_name;
static bool snp;
static long race_left;
static struct nacre_tdx_sim *tdx;
static struct nacre_snp_sim *snps;
static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nacre-tsmsim: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* dir/name = data, whole (a temporary file renamed) */
static int
put(const char *edir, const char *name, const char *data, mode_t mode)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	size_t n = strlen(data);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", edir, name);
	snprintf(dst, sizeof(dst), "%s/%s", edir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	if (write(fd, data, n) != (ssize_t)n) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, dst) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int
set_gen(struct entry *e, unsigned long long g)
{
	char s[32];

	e->gen = g;
	snprintf(s, sizeof(s), "%llu\n", g);
	return put(e->path, "generation", s, 0444);
}

static struct entry *
by_wd(int wd)
{
	for (int i = 0; i < MAX_ENTRIES; i++)
		if (entries[i].wd == wd)
			return &entries[i];
	return NULL;
}

static void
populate(int ifd, const char *name)
{
	struct entry *e = by_wd(-1);
	char p[PATH_MAX];
	int fd;

	if (!e) {
		say("too many entries; %s left empty", name);
		return;
	}
	snprintf(e->path, sizeof(e->path), "%s/%s", dir, name);
	if (set_gen(e, 0) < 0)
		goto fail;
	snprintf(p, sizeof(p), "%s/inblob", e->path);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0200)) < 0)
		goto fail;
	close(fd);
	snprintf(p, sizeof(p), "%s/outblob", e->path);
	if (mkfifo(p, 0400) < 0)
		goto fail;
	if (snp) {
		snprintf(p, sizeof(p), "%s/auxblob", e->path);
		if (mkfifo(p, 0400) < 0)
			goto fail;
		snprintf(p, sizeof(p), "%s/privlevel", e->path);
		if ((fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0200)) < 0)
			goto fail;
		close(fd);
		if (put(e->path, "privlevel_floor", "0\n", 0444) < 0)
			goto fail;
	}
	/* the writes nacred makes from now on are watched; "provider" last:
	 * whoever sees it sees the rest */
	e->wd = inotify_add_watch(ifd, e->path, IN_CLOSE_WRITE | IN_DELETE_SELF);
	if (e->wd < 0)
		goto fail;
	snprintf(p, sizeof(p), "%s\n", provider_name);
	if (put(e->path, "provider", p, 0444) < 0)
		goto fail;
	say("entry %s ready", name);
	return;
fail:
	say("cannot fill %s: %s", e->path, strerror(errno));
	if (e->wd >= 0)
		inotify_rm_watch(ifd, e->wd);
	e->wd = -1;
}

/* waits (bounded) for the reader of the FIFO, then writes it all */
static void
fifo_put(const char *edir, const char *name, const uint8_t *data, size_t n)
{
	char p[PATH_MAX];
	size_t off = 0;
	int fd = -1;

	snprintf(p, sizeof(p), "%s/%s", edir, name);
	for (int waited = 0; waited < FIFO_WAIT_MS; waited += 5) {
		fd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 || errno != ENXIO)
			break;
		usleep(5000);
	}
	if (fd < 0) {
		say("%s: nobody read it (%s)", p, strerror(errno));
		return;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	while (off < n) {
		ssize_t w = write(fd, data + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			say("%s: the reader went away after %zu of %zu bytes", p,
			    off, n);
			break;
		}
		off += (size_t)w;
	}
	close(fd);
}

static void
report(struct entry *e)
{
	uint8_t rd[64] = { 0 }, buf[65], *ev = NULL, *aux = NULL;
	size_t ev_len = 0, aux_len = 0, n = 0;
	char p[PATH_MAX], err[512];
	ssize_t r;
	int fd, rc;

	snprintf(p, sizeof(p), "%s/inblob", e->path);
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (n == 0)
		return; /* an empty write: nothing asked */
	if (n > 64) {
		say("%s: more than 64 bytes (the kernel refuses them)", p);
		return;
	}
	memcpy(rd, buf, n);
	set_gen(e, e->gen + 1);
	if (race_left > 0) {
		race_left--;
		set_gen(e, e->gen + 1);
		say("race: generation of %s bumped once more (to %llu)", e->path,
		    e->gen);
	}
	if (tdx)
		rc = nacre_tdx_sim_quote(tdx, rd, &ev, &ev_len, err, sizeof(err));
	else
		rc = nacre_snp_sim_report(snps, rd, &ev, &ev_len, &aux, &aux_len,
					  err, sizeof(err));
	if (rc < 0) {
		say("the simulated hardware failed: %s", err);
		/* as the kernel: reading outblob then fails (here: EOF) */
		fifo_put(e->path, "outblob", NULL, 0);
		return;
	}
	fifo_put(e->path, "outblob", ev, ev_len);
	if (snp)
		fifo_put(e->path, "auxblob", aux, aux_len);
	say("report of %zu bytes (aux %zu) for %s", ev_len, aux_len, e->path);
	free(ev);
	free(aux);
}

static void
usage(void)
{
	fprintf(stderr, "usage: nacre-tsmsim --platform tdx|snp --dir D --state S "
		"[--race N] [--measurement HEX96] [--provider NAME]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "platform", required_argument, NULL, 'p' },
		{ "dir", required_argument, NULL, 'd' },
		{ "state", required_argument, NULL, 's' },
		{ "race", required_argument, NULL, 'r' },
		{ "measurement", required_argument, NULL, 'm' },
		{ "provider", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	const char *platform = NULL, *state = NULL;
	uint8_t m[48] = { 0 };
	char err[512], evbuf[8192]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	int c, ifd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': platform = optarg; break;
		case 'd': dir = optarg; break;
		case 's': state = optarg; break;
		case 'r': race_left = atol(optarg); break;
		case 'P': provider_name = optarg; break;
		case 'm':
			if (nacre_hex_decode(optarg, m, sizeof(m)) < 0)
				usage();
			break;
		default: usage();
		}
	}
	if (!platform || !dir || !state ||
	    (strcmp(platform, "tdx") != 0 && strcmp(platform, "snp") != 0))
		usage();
	snp = strcmp(platform, "snp") == 0;
	if (!provider_name)
		provider_name = snp ? "sev_guest" : "tdx_guest";
	signal(SIGPIPE, SIG_IGN);
	/* SIGTERM ends the read below (no SA_RESTART): a clean exit */
	sigaction(SIGTERM, &(struct sigaction){ .sa_handler = on_term }, NULL);
	sigaction(SIGINT, &(struct sigaction){ .sa_handler = on_term }, NULL);
	for (int i = 0; i < MAX_ENTRIES; i++)
		entries[i].wd = -1;
	if (snp)
		snps = nacre_snp_sim_open(state, m, err, sizeof(err));
	else
		tdx = nacre_tdx_sim_open(state, m, err, sizeof(err));
	if (!snps && !tdx) {
		say("%s", err);
		return 1;
	}
	if ((ifd = inotify_init1(IN_CLOEXEC)) < 0 ||
	    inotify_add_watch(ifd, dir, IN_CREATE | IN_ONLYDIR) < 0) {
		say("cannot watch %s: %s", dir, strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		ssize_t len = read(ifd, evbuf, sizeof(evbuf));

		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			break;
		for (char *q = evbuf; q < evbuf + len;) {
			struct inotify_event *ev = (struct inotify_event *)q;
			struct entry *e;

			q += sizeof(*ev) + ev->len;
			if ((ev->mask & IN_CREATE) && (ev->mask & IN_ISDIR) &&
			    ev->len && !by_wd(ev->wd)) {
				populate(ifd, ev->name);
				continue;
			}
			if (!(e = by_wd(ev->wd)))
				continue;
			if (ev->mask & (IN_DELETE_SELF | IN_IGNORED)) {
				e->wd = -1;
				continue;
			}
			if (!(ev->mask & IN_CLOSE_WRITE) || !ev->len)
				continue;
			if (strcmp(ev->name, "privlevel") == 0)
				set_gen(e, e->gen + 1);
			else if (strcmp(ev->name, "inblob") == 0)
				report(e);
		}
	}
	close(ifd);
	if (tdx)
		nacre_tdx_sim_free(tdx);
	if (snps)
		nacre_snp_sim_free(snps);
	say("stopped");
	return 0;
}
