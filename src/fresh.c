/*
 * fresh.c: the thread that makes fresh attestation documents. A provider
 * call takes milliseconds (an NSM ioctl on Nitro, a P-384 signature in the
 * sim); a worker's event loop must not wait for it. A handshake queues a
 * job here, its OpenSSL async job pauses, and the worker waits for the
 * job's eventfd with its other connections (tls_fresh.c, conn.c).
 *
 * One thread: the provider serializes requests anyway (attest_nitro.c),
 * so more threads would only queue on its lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "attest.h"
#include "fresh.h"

struct nacre_fresh_job {
	struct nacre_fresh_job *next;
	atomic_uint refs;            /* the caller's and the thread's */
	atomic_bool done;
	int efd;
	struct nacre_attest *a;      /* a reference */
	uint8_t *spki, *ud;
	size_t spki_len, ud_len;
	uint8_t nonce[64];
	size_t nonce_len;
	bool has_nonce;
	/* the result, written by the thread before done */
	int rc;
	const char *media_type;
	uint8_t *doc;
	size_t doc_len;
	char err[NACRE_ERRLEN];
};

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static struct nacre_fresh_job *q_head, *q_tail;
static bool started, stopping;
static pthread_t thread;
static atomic_uint_fast64_t pending;

static void
job_unref(struct nacre_fresh_job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	close(j->efd);
	nacre_attest_free(j->a);
	free(j->spki);
	free(j->ud);
	free(j->doc);
	free(j);
}

static void *
thread_main(void *arg)
{
	uint64_t one = 1;

	for (;;) {
		struct nacre_fresh_job *j;

		pthread_mutex_lock(&q_lock);
		while (!q_head && !stopping)
			pthread_cond_wait(&q_cond, &q_lock);
		if (stopping) {
			while ((j = q_head)) {
				q_head = j->next;
				job_unref(j);
			}
			q_tail = NULL;
			pthread_mutex_unlock(&q_lock);
			break;
		}
		j = q_head;
		q_head = j->next;
		if (!q_head)
			q_tail = NULL;
		pthread_mutex_unlock(&q_lock);

#ifdef NACRE_TEST_HOOKS
		/* test builds: a slow provider, to hold handshakes pending */
		if (getenv("NACRE_TEST_FRESH_DELAY_MS"))
			usleep((useconds_t)atoi(getenv("NACRE_TEST_FRESH_DELAY_MS")) *
			       1000);
#endif
		/* the handshake that asked is gone (closed, timed out): no
		 * document for nobody, so dead requests cannot hold up live
		 * ones or keep the provider busy */
		if (atomic_load(&j->refs) == 1) {
			j->rc = -1;
			snprintf(j->err, sizeof(j->err), "the connection "
				 "closed before its turn");
		} else {
			j->rc = nacre_attest_evidence(j->a, j->spki,
						      j->spki_len, j->ud,
						      j->ud_len,
						      j->has_nonce ? j->nonce :
								     NULL,
						      j->nonce_len,
						      &j->media_type, &j->doc,
						      &j->doc_len, j->err,
						      sizeof(j->err));
		}
		atomic_store(&j->done, true);
		while (write(j->efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
		job_unref(j);
	}
	OPENSSL_thread_stop(); /* its DRBGs and the like */
	return NULL;
}

static bool
start(char *err, size_t errlen)
{
	bool ok;

	if (started)
		return true;
	if (stopping) {
		nacre_seterr(err, errlen, "nacred is stopping");
		return false;
	}
	ok = pthread_create(&thread, NULL, thread_main, NULL) == 0;
	if (!ok)
		nacre_seterr(err, errlen, "cannot start the fresh evidence thread");
	started = ok;
	return ok;
}

static uint8_t *
dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d && n)
		memcpy(d, p, n);
	return d;
}

struct nacre_fresh_job *
nacre_fresh_submit(struct nacre_attest *a, const uint8_t *spki,
		   size_t spki_len, const uint8_t *ud, size_t ud_len,
		   const uint8_t *nonce, size_t nonce_len, char *err,
		   size_t errlen)
{
	struct nacre_fresh_job *j = calloc(1, sizeof(*j));

	if (!j || nonce_len > sizeof(j->nonce)) {
		free(j);
		nacre_seterr(err, errlen, "out of memory");
		return NULL;
	}
	j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	j->spki = dup_bytes(spki, spki_len);
	j->ud = dup_bytes(ud, ud_len);
	if (j->efd < 0 || !j->spki || !j->ud) {
		nacre_seterr(err, errlen, "cannot make a fresh evidence job: %s",
			     j->efd < 0 ? strerror(errno) : "out of memory");
		if (j->efd >= 0)
			close(j->efd);
		free(j->spki);
		free(j->ud);
		free(j);
		return NULL;
	}
	j->spki_len = spki_len;
	j->ud_len = ud_len;
	if (nonce) {
		memcpy(j->nonce, nonce, nonce_len);
		j->nonce_len = nonce_len;
		j->has_nonce = true;
	}
	j->a = nacre_attest_ref(a);
	atomic_init(&j->refs, 2);
	atomic_init(&j->done, false);
	pthread_mutex_lock(&q_lock);
	if (!start(err, errlen)) {
		pthread_mutex_unlock(&q_lock);
		atomic_store(&j->refs, 1);
		job_unref(j);
		return NULL;
	}
	if (q_tail)
		q_tail->next = j;
	else
		q_head = j;
	q_tail = j;
	pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_lock);
	return j;
}

int
nacre_fresh_job_fd(const struct nacre_fresh_job *j)
{
	return j->efd;
}

bool
nacre_fresh_job_done(const struct nacre_fresh_job *j)
{
	return atomic_load(&((struct nacre_fresh_job *)j)->done);
}

int
nacre_fresh_job_result(struct nacre_fresh_job *j, const char **media_type,
		       uint8_t **doc, size_t *len, const char **err)
{
	if (!nacre_fresh_job_done(j)) {
		*err = "not done";
		return -1;
	}
	if (j->rc < 0) {
		*err = j->err;
		return -1;
	}
	*media_type = j->media_type;
	*doc = j->doc;
	*len = j->doc_len;
	j->doc = NULL;
	return 0;
}

void
nacre_fresh_job_release(struct nacre_fresh_job *j)
{
	if (j)
		job_unref(j);
}

void
nacre_fresh_stop(void)
{
	bool join;

	pthread_mutex_lock(&q_lock);
	stopping = true;
	join = started;
	pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_lock);
	if (join)
		pthread_join(thread, NULL);
	started = false;
}

bool
nacre_fresh_reserve(uint64_t limit)
{
	uint_fast64_t n = atomic_load(&pending);

	do {
		if (n >= limit)
			return false;
	} while (!atomic_compare_exchange_weak(&pending, &n, n + 1));
	return true;
}

void
nacre_fresh_unreserve(void)
{
	atomic_fetch_sub(&pending, 1);
}

uint64_t
nacre_fresh_pending(void)
{
	return atomic_load(&pending);
}
