/*
 * hop.c: the vsock hop for libcurl. libcurl cannot be handed a connected
 * vsock socket on every version (7.88 calls connect() on it once more,
 * curl issue #10626, and a connected vsock answers EISCONN), but it
 * connects unix sockets itself. So with `via = "vsock:CID:PORT"` a relay
 * thread listens on an abstract unix socket with a random name, curl
 * connects there, and the thread copies bytes between each accepted
 * connection and a fresh vsock connection to the hop.
 *
 * Only ciphertext passes through here: curl runs TLS to the CA over the
 * unix socket, end to end, and this thread never sees a key or a byte of
 * plaintext. It takes connections from this process only (SO_PEERCRED),
 * relays at most NACRE_ACME_HOP_PAIRS of them at once, each through two
 * fixed buffers, and records why the hop could not be reached, so that
 * http.c can name it in its error (curl itself only sees a closed socket).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "acme/acme.h"
#include "nacred.h"

#define NAME_PREFIX "nacre-acme-hop-"
#define NAME_RANDOM 16 /* bytes, 32 hex digits */

/* one direction of a pair: read from one side, written to the other */
struct hop_dir {
	char buf[NACRE_ACME_HOP_BUF];
	size_t off, len;   /* what is still to write: buf[off..len) */
	uint64_t total;    /* bytes that passed */
	bool eof;          /* the source ended */
	bool shut;         /* ... and the destination got SHUT_WR */
};

struct hop_pair {
	int in;            /* curl's connection; -1: the slot is free */
	int out;           /* the vsock connection to the hop */
	bool connecting;
	uint64_t deadline; /* of the connect */
	uint64_t active;   /* when bytes last passed (or it was accepted) */
	int idx;           /* its in's pollfd this round; -1: none */
	struct hop_dir up;   /* curl -> hop */
	struct hop_dir down; /* hop -> curl */
};

struct nacre_acme_hop {
	struct nacre_addr via;
	char name[sizeof(NAME_PREFIX) + 2 * NAME_RANDOM];
	int lfd;
	int wake;          /* eventfd: stop */
	pthread_t thread;
	bool started;
	pthread_mutex_t mtx;
	char err[NACRE_ERRLEN]; /* the last failure to reach the hop */
	struct hop_pair pairs[NACRE_ACME_HOP_PAIRS];
};

static void
record(struct nacre_acme_hop *hop, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
record(struct nacre_acme_hop *hop, const char *fmt, ...)
{
	char msg[NACRE_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_debug("acme: hop %s: %s", hop->via.text, msg);
	pthread_mutex_lock(&hop->mtx);
	snprintf(hop->err, sizeof(hop->err), "%s", msg);
	pthread_mutex_unlock(&hop->mtx);
}

static void
pair_close(struct hop_pair *p)
{
	if (p->in >= 0) {
		log_debug("acme: a connection through the hop closed after "
			  "%llu bytes to the CA and %llu from it",
			  (unsigned long long)p->up.total,
			  (unsigned long long)p->down.total);
		close(p->in);
	}
	if (p->out >= 0)
		close(p->out);
	p->in = p->out = -1;
	p->connecting = false;
}

static void
connect_failed(struct nacre_acme_hop *hop, struct hop_pair *p, int e)
{
	record(hop, "%s", strerror(e));
	pair_close(p);
}

/* a new connection from curl: its pair and a connect to the hop started */
static void
accept_one(struct nacre_acme_hop *hop)
{
	struct hop_pair *p = NULL, *q;
	struct ucred cred = { .pid = 0 };
	socklen_t cl = sizeof(cred);
	int fd, e;
	size_t i;

	fd = accept4(hop->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return; /* EAGAIN, or the peer left: nothing to relay */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 ||
	    cred.pid != getpid()) {
		/* abstract names show in /proc/net/unix: the name is no
		 * secret, the peer check is what keeps others out */
		log_warn("acme: the relay to the hop %s refused a connection "
			 "from pid %ld uid %ld (only nacred's own libcurl may "
			 "use it)", hop->via.text, (long)cred.pid,
			 (long)cred.uid);
		close(fd);
		return;
	}
	/* a free slot, or the one idle longest: curl has left it in its
	 * cache, and uses one connection at a time */
	for (i = 0; i < NACRE_ACME_HOP_PAIRS; i++) {
		q = &hop->pairs[i];
		if (!p || q->in < 0 || (p->in >= 0 && q->active < p->active))
			p = q;
		if (q->in < 0)
			break;
	}
	if (p->in >= 0) {
		log_debug("acme: %d connections through the hop %s: closing "
			  "the one idle longest", NACRE_ACME_HOP_PAIRS,
			  hop->via.text);
		pair_close(p);
	}
	memset(p, 0, sizeof(*p));
	p->in = fd;
	p->active = nacre_mono_ms();
	p->idx = -1;
	p->out = socket(hop->via.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
			SOCK_CLOEXEC, 0);
	if (p->out < 0) {
		connect_failed(hop, p, errno);
		return;
	}
	if (connect(p->out, (struct sockaddr *)&hop->via.ss,
		    hop->via.sslen) == 0)
		return;
	e = errno;
	if (e != EINPROGRESS) {
		connect_failed(hop, p, e);
		return;
	}
	p->connecting = true;
	p->deadline = p->active + NACRE_ACME_HOP_CONNECT_MS;
}

/* 0, or -1 when the pair must close */
static int
dir_io(struct hop_dir *d, int src, int dst, bool readable, bool dst_ready)
{
	ssize_t n;

	if (readable && d->len == 0 && !d->eof) {
		n = recv(src, d->buf, sizeof(d->buf), 0);
		if (n > 0) {
			d->off = 0;
			d->len = (size_t)n;
			d->total += (uint64_t)n;
		} else if (n == 0) {
			d->eof = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			return -1;
		}
	}
	if (!dst_ready)
		return 0;
	while (d->off < d->len) {
		n = send(dst, d->buf + d->off, d->len - d->off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		d->off += (size_t)n;
	}
	d->off = d->len = 0;
	return 0;
}

static void
pair_io(struct nacre_acme_hop *hop, struct hop_pair *p, short ri, short ro,
	uint64_t now)
{
	const short any = POLLIN | POLLOUT | POLLERR | POLLHUP;
	int e = 0;
	socklen_t el = sizeof(e);

	if (p->connecting) {
		if (ro & any) {
			if (getsockopt(p->out, SOL_SOCKET, SO_ERROR, &e,
				       &el) != 0)
				e = errno;
			if (e != 0) {
				connect_failed(hop, p, e);
				return;
			}
			p->connecting = false;
		} else if (now >= p->deadline) {
			record(hop, "no connection within %d ms",
			       NACRE_ACME_HOP_CONNECT_MS);
			pair_close(p);
			return;
		}
	}
	if ((ri | ro) & (POLLIN | POLLOUT))
		p->active = now;
	if ((ri & POLLNVAL) || (ro & POLLNVAL) ||
	    dir_io(&p->up, p->in, p->out, ri & any, !p->connecting) != 0 ||
	    (!p->connecting &&
	     dir_io(&p->down, p->out, p->in, ro & any, true) != 0)) {
		pair_close(p);
		return;
	}
	if (p->down.eof && p->down.total == 0 && !p->up.eof) {
		/* a forwarder that took the connection but not to the CA */
		record(hop, "the hop closed the connection before the CA "
		       "answered (can it reach the CA?)");
		pair_close(p);
		return;
	}
	/* an end passed on once all before it is written (after the record
	 * above: curl reads the record when it sees the end) */
	if (!p->connecting && p->up.eof && p->up.len == 0 && !p->up.shut) {
		shutdown(p->out, SHUT_WR);
		p->up.shut = true;
	}
	if (!p->connecting && p->down.eof && p->down.len == 0 &&
	    !p->down.shut) {
		shutdown(p->in, SHUT_WR);
		p->down.shut = true;
	}
	if (p->up.shut && p->down.shut)
		pair_close(p);
}

/* IN's and OUT's events for P */
static void
pair_events(const struct hop_pair *p, struct pollfd *in, struct pollfd *out)
{
	in->fd = p->in;
	out->fd = p->out;
	in->events = out->events = 0;
	in->revents = out->revents = 0;
	if (p->up.len == 0 && !p->up.eof)
		in->events |= POLLIN;
	if (p->connecting) {
		out->events = POLLOUT;
	} else {
		if (p->up.len > 0)
			out->events |= POLLOUT;
		if (p->down.len == 0 && !p->down.eof)
			out->events |= POLLIN;
		if (p->down.len > 0)
			in->events |= POLLOUT;
	}
	/* nothing wanted: leave it out, or its POLLHUP would spin */
	if (!in->events)
		in->fd = -1;
	if (!out->events)
		out->fd = -1;
}

static void *
hop_main(void *arg)
{
	struct nacre_acme_hop *hop = arg;
	struct pollfd pfd[2 + 2 * NACRE_ACME_HOP_PAIRS]; /* wake, listen, pairs */
	struct hop_pair *p;
	uint64_t now;
	int n, timeout, rc;
	size_t i;

	for (;;) {
		n = 0;
		timeout = -1;
		now = nacre_mono_ms();
		pfd[n++] = (struct pollfd){ .fd = hop->wake, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = hop->lfd, .events = POLLIN };
		for (i = 0; i < NACRE_ACME_HOP_PAIRS; i++) {
			p = &hop->pairs[i];
			p->idx = -1;
			if (p->in < 0)
				continue;
			p->idx = n;
			pair_events(p, &pfd[n], &pfd[n + 1]);
			n += 2;
			if (p->connecting) {
				uint64_t left = p->deadline > now ?
						p->deadline - now : 0;
				if (timeout < 0 || left < (uint64_t)timeout)
					timeout = (int)left;
			}
		}
		rc = poll(pfd, (nfds_t)n, timeout);
		if (rc < 0) {
			if (errno != EINTR) {
				log_warn("acme: the relay to the hop %s: "
					 "poll: %s", hop->via.text,
					 strerror(errno));
				poll(NULL, 0, 100);
			}
			continue;
		}
		if (pfd[0].revents)
			break;
		now = nacre_mono_ms();
		for (i = 0; i < NACRE_ACME_HOP_PAIRS; i++) {
			p = &hop->pairs[i];
			if (p->in >= 0 && p->idx >= 0)
				pair_io(hop, p, pfd[p->idx].revents,
					pfd[p->idx + 1].revents, now);
		}
		if (pfd[1].revents)
			accept_one(hop);
	}
	for (i = 0; i < NACRE_ACME_HOP_PAIRS; i++)
		pair_close(&hop->pairs[i]);
	return NULL;
}

struct nacre_acme_hop *
nacre_acme_hop_start(const struct nacre_addr *via, char *err, size_t errlen)
{
	struct nacre_acme_hop *hop = calloc(1, sizeof(*hop));
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	unsigned char rnd[NAME_RANDOM];
	sigset_t all, old;
	socklen_t len;
	size_t i;
	int rc;

	if (!hop) {
		nacre_seterr(err, errlen, "ACME via %s: out of memory",
			     via->text);
		return NULL;
	}
	hop->via = *via;
	hop->lfd = hop->wake = -1;
	for (i = 0; i < NACRE_ACME_HOP_PAIRS; i++)
		hop->pairs[i].in = hop->pairs[i].out = -1;
	pthread_mutex_init(&hop->mtx, NULL);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		nacre_seterr(err, errlen, "ACME via %s: no random bytes for "
			     "the relay's socket name", via->text);
		goto fail;
	}
	memcpy(hop->name, NAME_PREFIX, sizeof(NAME_PREFIX) - 1);
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(hop->name + sizeof(NAME_PREFIX) - 1 + 2 * i, 3,
			 "%02x", rnd[i]);
	/* abstract: sun_path[0] is NUL, the name follows, no NUL after it
	 * (the length curl's CURLOPT_ABSTRACT_UNIX_SOCKET connects with) */
	memcpy(sun.sun_path + 1, hop->name, strlen(hop->name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			  strlen(hop->name));
	hop->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			  0);
	if (hop->lfd < 0 || bind(hop->lfd, (struct sockaddr *)&sun, len) != 0 ||
	    listen(hop->lfd, NACRE_ACME_HOP_PAIRS) != 0) {
		nacre_seterr(err, errlen, "ACME via %s: cannot listen on the "
			     "relay's abstract unix socket: %s", via->text,
			     strerror(errno));
		goto fail;
	}
	hop->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (hop->wake < 0) {
		nacre_seterr(err, errlen, "ACME via %s: eventfd: %s",
			     via->text, strerror(errno));
		goto fail;
	}
	/* the relay never takes signals: the main thread handles them */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&hop->thread, NULL, hop_main, hop);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		nacre_seterr(err, errlen, "ACME via %s: cannot start the relay "
			     "thread: %s", via->text, strerror(rc));
		goto fail;
	}
	hop->started = true;
	log_debug("acme: relaying the CA's connections to the hop %s",
		  via->text);
	return hop;
fail:
	nacre_acme_hop_stop(hop);
	return NULL;
}

const char *
nacre_acme_hop_name(const struct nacre_acme_hop *hop)
{
	return hop->name;
}

void
nacre_acme_hop_clear(struct nacre_acme_hop *hop)
{
	pthread_mutex_lock(&hop->mtx);
	hop->err[0] = '\0';
	pthread_mutex_unlock(&hop->mtx);
}

bool
nacre_acme_hop_failure(struct nacre_acme_hop *hop, char *out, size_t outlen)
{
	bool failed;

	pthread_mutex_lock(&hop->mtx);
	failed = hop->err[0] != '\0';
	if (failed)
		snprintf(out, outlen, "%s", hop->err);
	pthread_mutex_unlock(&hop->mtx);
	return failed;
}

void
nacre_acme_hop_stop(struct nacre_acme_hop *hop)
{
	uint64_t one = 1;

	if (!hop)
		return;
	if (hop->started) {
		while (write(hop->wake, &one, sizeof(one)) < 0 &&
		       errno == EINTR)
			;
		pthread_join(hop->thread, NULL);
	}
	if (hop->wake >= 0)
		close(hop->wake);
	if (hop->lfd >= 0)
		close(hop->lfd);
	pthread_mutex_destroy(&hop->mtx);
	free(hop);
}
