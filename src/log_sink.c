/*
 * log_sink.c: log lines streamed to a collector (log.to: vsock, unix or
 * loopback tcp; a production enclave has no console). The threads that
 * log never wait on the collector: a line is copied into a bounded queue
 * under a mutex held for the copy only, and one thread of ours writes
 * the queue to the socket. When the queue is full, new lines are dropped
 * and counted; once there is room again a line says how many went (at
 * the place in the stream where they are missing). While the collector
 * is unreachable, lines queue and the thread reconnects with backoff.
 *
 * Once the queue is full, lines are dropped until an eighth of it is free
 * again (fewer, longer gaps), or until the link comes back: then the
 * report goes first. A small part of the queue is kept for this thread's
 * own lines (the report, the link's state), so they are not lost when
 * the queue is full of other lines.
 *
 * The queue is a ring of bytes. Lines are removed only once the socket
 * took them whole: after a broken link the line that was half sent goes
 * again from its start (the collector drops an unterminated line).
 * Producers write only past the tail, so the thread reads [head, tail)
 * without the lock.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define DIAL_TIMEOUT_MS 2000
#define POLL_SLICE_MS 100  /* how often a waiting thread looks at stop */

static struct {
	pthread_mutex_t mtx;
	pthread_cond_t cond;      /* lines queued, a new target, or stop */
	bool running;             /* a thread streams: put() queues */
	bool stopping;            /* nacre_log_sink_stop() is under way */
	bool stop;
	uint64_t deadline_ms;     /* with stop: when to give up flushing */
	pthread_t thread;
	char *ring;
	size_t cap;
	size_t reserve;           /* of cap, for the sink thread's own lines */
	uint64_t head;            /* the first line not wholly sent */
	uint64_t tail;            /* the end of what is queued */
	uint64_t pending_drops;   /* dropped, not yet reported */
	struct nacre_addr target;
	unsigned target_gen;
} S = { .mtx = PTHREAD_MUTEX_INITIALIZER };

static _Atomic uint64_t stop_at;     /* S.deadline_ms once stopping, or 0 */
static _Atomic uint64_t dropped_total;
static pthread_once_t cond_once = PTHREAD_ONCE_INIT;
static _Thread_local bool sink_thread; /* the thread of sink_main */

static void
cond_init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&S.cond, &a);
	pthread_condattr_destroy(&a);
}

static void
wait_until(uint64_t ms)
{
	struct timespec t = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	pthread_cond_timedwait(&S.cond, &S.mtx, &t);
}

/* the next LEN bytes at the tail (the caller checked the room) */
static void
ring_write(const char *p, size_t len)
{
	size_t off = (size_t)(S.tail % S.cap), first = S.cap - off;

	if (first > len)
		first = len;
	memcpy(S.ring + off, p, first);
	memcpy(S.ring, p + first, len - first);
	S.tail += len;
}

/* the bytes a line may take now: the sink thread may use the reserve */
static size_t
room_locked(void)
{
	size_t used = (size_t)(S.tail - S.head);
	size_t lim = sink_thread ? S.cap : S.cap - S.reserve;

	return used < lim ? lim - used : 0;
}

/* the count of dropped lines into the queue: AT_CONNECT, as the link
 * comes back (from the reserve); otherwise once an eighth of the queue
 * is free again */
static void
report_drops_locked(bool at_connect)
{
	char line[NACRE_LOG_LINE_MAX], ts[NACRE_LOG_TS_LEN];
	struct timespec t;
	size_t len, room = room_locked();

	clock_gettime(CLOCK_REALTIME, &t);
	nacre_log_timestamp(&t, ts);
	len = nacre_log_format_dropped(line, nacre_log_get_format(), ts,
				       S.pending_drops);
	if (len > room || (!at_connect && room - len < S.cap / 8))
		return;
	ring_write(line, len);
	S.pending_drops = 0;
	pthread_cond_signal(&S.cond);
}

bool
nacre_log_sink_put(const char *line, size_t len)
{
	pthread_mutex_lock(&S.mtx);
	if (!S.running) {
		pthread_mutex_unlock(&S.mtx);
		return false;
	}
	if (S.pending_drops)
		report_drops_locked(false);
	if (S.pending_drops || len > room_locked()) {
		S.pending_drops++;
		atomic_fetch_add(&dropped_total, 1);
	} else {
		ring_write(line, len);
		pthread_cond_signal(&S.cond);
	}
	pthread_mutex_unlock(&S.mtx);
	return true;
}

uint64_t
nacre_log_sink_dropped(void)
{
	return atomic_load(&dropped_total);
}

/* a connected stream socket to A, or -1 (errno set); gives up after
 * DIAL_TIMEOUT_MS or at the flush deadline */
static int
dial(const struct nacre_addr *a)
{
	int fd, e = 0;
	socklen_t elen = sizeof(e);

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&a->ss, a->sslen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	for (unsigned waited = 0;; waited += POLL_SLICE_MS) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int n = poll(&p, 1, POLL_SLICE_MS);
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR)
			goto fail;
		uint64_t until = atomic_load(&stop_at);
		if (waited >= DIAL_TIMEOUT_MS ||
		    (until && nacre_mono_ms() >= until)) {
			errno = ETIMEDOUT;
			goto fail;
		}
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
		goto fail;
	if (e == 0)
		return fd;
	errno = e;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Write some of p; the count written (0: the socket is full, we waited
 * a little), or -1 with errno when the link is gone. The collector has
 * nothing to say: what it sends is read and ignored, its end of the
 * stream means it went away. */
static ssize_t
send_some(int fd, const char *p, size_t n)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN | POLLRDHUP };
	char junk[512];
	ssize_t w;

	for (int i = 0; i < 16 && poll(&pf, 1, 0) > 0; i++) {
		if (pf.revents & (POLLERR | POLLHUP | POLLRDHUP)) {
			errno = EPIPE;
			return -1;
		}
		w = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (w == 0) {
			errno = EPIPE;
			return -1;
		}
		if (w < 0)
			break;
	}
	w = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w >= 0)
		return w;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		pf.events = POLLOUT;
		poll(&pf, 1, POLL_SLICE_MS);
		return 0;
	}
	return -1;
}

/* W more bytes past head + *sent went out: head moves past the last whole
 * line among them */
static void
advance(uint64_t *sent, size_t w)
{
	uint64_t end = S.head + *sent + w;

	for (uint64_t i = end; i > S.head + *sent; i--) {
		if (S.ring[(i - 1) % S.cap] == '\n') {
			S.head = i;
			*sent = end - i;
			return;
		}
	}
	*sent += w;
}

/* a line of our own about the link; the lock is released meanwhile */
static void __attribute__((format(printf, 2, 3)))
say(int level, const char *fmt, ...)
{
	char msg[NACRE_LOG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&S.mtx);
	nacre_log(level, 0, "%s", msg);
	pthread_mutex_lock(&S.mtx);
}

static void *
sink_main(void *arg)
{
	struct nacre_addr a;
	uint64_t now, sent = 0, next_try = 0, down_since = 0;
	unsigned gen = 0, backoff = 0;
	bool ever_up = false, said_down = false;
	int fd = -1, e;
	size_t off, n;
	ssize_t w;

	(void)arg;
	sink_thread = true;
	pthread_mutex_lock(&S.mtx);
	for (;;) {
		now = nacre_mono_ms();
		if (S.stop && (S.head == S.tail || now >= S.deadline_ms))
			break;
		if (gen != S.target_gen) { /* the start, or a reload moved it */
			if (fd >= 0)
				close(fd);
			fd = -1;
			sent = 0;
			backoff = 0;
			next_try = 0;
			ever_up = said_down = false;
			down_since = 0;
			gen = S.target_gen;
		}
		if (fd < 0) {
			if (now < next_try) {
				if (S.stop && next_try >= S.deadline_ms)
					break;
				wait_until(next_try);
				continue;
			}
			a = S.target;
			pthread_mutex_unlock(&S.mtx);
			fd = dial(&a);
			e = errno;
			pthread_mutex_lock(&S.mtx);
			if (fd < 0) {
				backoff = backoff ? backoff * 2 :
					  NACRE_LOG_BACKOFF_MIN_MS;
				if (backoff > NACRE_LOG_BACKOFF_MAX_MS)
					backoff = NACRE_LOG_BACKOFF_MAX_MS;
				next_try = nacre_mono_ms() + backoff;
				if (!said_down && !S.stop) {
					said_down = true;
					if (!down_since)
						down_since = now;
					say(NACRE_LOG_WARN, "log: cannot reach the "
					    "collector at %s (%s); lines queue (up "
					    "to %zu KiB) and it is tried again "
					    "every %u s at most", a.text,
					    strerror(e), S.cap / 1024,
					    NACRE_LOG_BACKOFF_MAX_MS / 1000);
				}
				continue;
			}
			sent = 0;
			backoff = 0;
			said_down = false;
			if (S.pending_drops)
				report_drops_locked(true);
			if (!ever_up)
				say(NACRE_LOG_INFO, "log: streaming to the "
				    "collector at %s", a.text);
			else
				say(NACRE_LOG_INFO, "log: the collector at %s "
				    "is back after %llu ms", a.text,
				    (unsigned long long)(nacre_mono_ms() -
							 down_since));
			ever_up = true;
			down_since = 0;
			continue;
		}
		if (S.head + sent == S.tail) {
			if (S.pending_drops) {
				report_drops_locked(false);
				if (!S.pending_drops)
					continue;
			}
			pthread_cond_wait(&S.cond, &S.mtx);
			continue;
		}
		off = (size_t)((S.head + sent) % S.cap);
		n = (size_t)(S.tail - (S.head + sent));
		if (n > S.cap - off)
			n = S.cap - off;
		pthread_mutex_unlock(&S.mtx);
		/* [head, tail) is ours: producers write past the tail only */
		w = send_some(fd, S.ring + off, n);
		e = errno;
		pthread_mutex_lock(&S.mtx);
		if (w < 0) {
			close(fd);
			fd = -1;
			sent = 0;
			down_since = nacre_mono_ms();
			backoff = NACRE_LOG_BACKOFF_MIN_MS;
			next_try = down_since + backoff;
			said_down = true;
			if (!S.stop)
				say(NACRE_LOG_WARN, "log: lost the collector at %s "
				    "(%s); lines queue (up to %zu KiB) until it "
				    "is back", a.text, strerror(e), S.cap / 1024);
			continue;
		}
		advance(&sent, (size_t)w);
		if (S.pending_drops)
			report_drops_locked(false);
	}
	pthread_mutex_unlock(&S.mtx);
	if (fd >= 0)
		close(fd);
	return NULL;
}

int
nacre_log_sink_start(const struct nacre_addr *a, size_t queue_bytes,
		     char *err, size_t errlen)
{
	sigset_t all, old;
	int rc;

	pthread_once(&cond_once, cond_init);
	pthread_mutex_lock(&S.mtx);
	if (S.running) {
		if (strcmp(S.target.text, a->text) != 0) {
			S.target = *a;
			S.target_gen++;
			pthread_cond_broadcast(&S.cond);
		}
		pthread_mutex_unlock(&S.mtx);
		return 0;
	}
	if (S.stopping) {
		pthread_mutex_unlock(&S.mtx);
		nacre_seterr(err, errlen, "log.to: the previous stream is "
			     "still stopping");
		return -1;
	}
	if (!(S.ring = malloc(queue_bytes))) {
		pthread_mutex_unlock(&S.mtx);
		nacre_seterr(err, errlen, "log.to: out of memory for its queue");
		return -1;
	}
	S.cap = queue_bytes;
	S.reserve = queue_bytes >= 64 * 1024 ? 2 * NACRE_LOG_LINE_MAX :
		    queue_bytes / 8;
	S.head = S.tail = S.pending_drops = 0;
	S.target = *a;
	S.target_gen++;
	S.stop = false;
	atomic_store(&stop_at, 0);
	/* signals stay with the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&S.thread, NULL, sink_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		free(S.ring);
		S.ring = NULL;
		pthread_mutex_unlock(&S.mtx);
		nacre_seterr(err, errlen, "log.to: cannot start its thread: %s",
			     strerror(rc));
		return -1;
	}
	S.running = true;
	pthread_mutex_unlock(&S.mtx);
	return 0;
}

void
nacre_log_sink_stop(unsigned flush_ms)
{
	char *left = NULL;
	size_t nleft = 0, nlines = 0;
	uint64_t drops;
	char target[sizeof(S.target.text)];

	pthread_mutex_lock(&S.mtx);
	if (!S.running || S.stopping) {
		pthread_mutex_unlock(&S.mtx);
		return;
	}
	S.stopping = true;
	S.stop = true;
	S.deadline_ms = nacre_mono_ms() + flush_ms;
	atomic_store(&stop_at, S.deadline_ms);
	pthread_cond_broadcast(&S.cond);
	pthread_mutex_unlock(&S.mtx);
	pthread_join(S.thread, NULL);

	/* lines logged until now still queued: what is left goes to stderr */
	pthread_mutex_lock(&S.mtx);
	nleft = (size_t)(S.tail - S.head);
	if (nleft && (left = malloc(nleft))) {
		for (size_t i = 0; i < nleft; i++) {
			left[i] = S.ring[(S.head + i) % S.cap];
			nlines += left[i] == '\n';
		}
	}
	drops = S.pending_drops;
	memcpy(target, S.target.text, sizeof(target));
	free(S.ring);
	S.ring = NULL;
	S.cap = 0;
	S.head = S.tail = S.pending_drops = 0;
	S.running = false;
	S.stopping = false;
	pthread_mutex_unlock(&S.mtx);

	if (left)
		fwrite(left, 1, nleft, stderr);
	free(left);
	if (drops) {
		char line[NACRE_LOG_LINE_MAX], ts[NACRE_LOG_TS_LEN];
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		nacre_log_timestamp(&t, ts);
		fwrite(line, 1, nacre_log_format_dropped(line,
			nacre_log_get_format(), ts, drops), stderr);
	}
	if (nleft)
		nacre_log(NACRE_LOG_WARN, 0, "log: the collector at %s did not "
			  "take the last %zu line%s: they are above, on stderr",
			  target, nlines, nlines == 1 ? "" : "s");
}
