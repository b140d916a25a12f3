/*
 * manager.c: nacred's ACME thread. Off the data path's event loops: it
 * registers the account (key born here), checks CAA before every order
 * when asked to, obtains a certificate for each configured domain group
 * with tls-alpn-01 answered by nacred's own listener (serve.c), and renews
 * it before it expires. Each result goes to the main thread, which serves
 * it from the next generation; on any failure the current certificate
 * stays in service and the attempt is repeated later, with backoff.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "nacred.h"
#include "acme/acme.h"

#define RETRY_MIN_S 10
#define RETRY_MAX_S 3600
#define PENDING_MAX 64
#define RENEW_MIN_S 10

struct nacre_acme_manager {
	pthread_t thread;
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	bool stop, started;
	int notify_fd;
	struct nacre_config *cfg;      /* a reference (cfg->refs) */
	struct nacre_acme_client *client;
	/* for the main thread, under mtx */
	struct nacre_acme_claims claims;
	bool claims_new;
	struct nacre_acme_result pending[PENDING_MAX];
	size_t npending;
	/* the thread's own */
	int64_t *due;
	unsigned *failures;
};

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static void
notify(struct nacre_acme_manager *m)
{
	char b = 'a';

	while (write(m->notify_fd, &b, 1) < 0 && errno == EINTR)
		;
}

/* sleeps until UNTIL (Unix time) or stop; true when stopping */
static bool
wait_until(struct nacre_acme_manager *m, int64_t until)
{
	struct timespec ts = { (time_t)until, 0 };
	bool stop;

	pthread_mutex_lock(&m->mtx);
	while (!m->stop && now_s() < until)
		if (pthread_cond_timedwait(&m->cond, &m->mtx, &ts) == ETIMEDOUT)
			break;
	stop = m->stop;
	pthread_mutex_unlock(&m->mtx);
	return stop;
}

/* 10 s after the first failure, doubling to an hour */
static int64_t
backoff(unsigned failures)
{
	unsigned k = failures ? failures - 1 : 0;
	int64_t s = (int64_t)RETRY_MIN_S << (k < 9 ? k : 9);

	return s > RETRY_MAX_S ? RETRY_MAX_S : s;
}

static int
publish(const char *name, const uint8_t digest[32], void *arg)
{
	return nacre_acme_challenge_publish(name, digest);
}

static void
unpublish(const char *name, void *arg)
{
	nacre_acme_challenge_unpublish(name);
}

static bool
registered(struct nacre_acme_manager *m)
{
	char err[NACRE_ERRLEN];
	unsigned failures = 0;

	while (!nacre_acme_account_url(m->client)) {
		if (nacre_acme_account_register(m->client, err, sizeof(err)) == 0)
			break;
		failures++;
		log_err("acme: account registration failed (attempt %u): %s; "
			"retrying in %lld s", failures, err,
			(long long)backoff(failures));
		if (wait_until(m, now_s() + backoff(failures)))
			return false;
	}
	pthread_mutex_lock(&m->mtx);
	snprintf(m->claims.account_url, sizeof(m->claims.account_url), "%s",
		 nacre_acme_account_url(m->client));
	nacre_acme_thumbprint(m->client, m->claims.jkt, NULL);
	m->claims_new = true;
	pthread_mutex_unlock(&m->mtx);
	log_info("acme: account %s (the accounturi for CAA)",
		 m->claims.account_url);
	notify(m);
	return true;
}

/* CAA before the order (RFC 8659, RFC 8657): every name must be pinned to
 * this account and tls-alpn-01, or no order is placed */
static bool
caa_pinned(struct nacre_acme_manager *m, const struct nacre_acme_domain *d)
{
	const struct nacre_config *cfg = m->cfg;

	for (size_t i = 0; i < d->nnames; i++) {
		struct nacre_caa_query q = {
			.name = d->names[i], .ca = cfg->acme.caa_identity,
			.account_uri = m->claims.account_url,
			.resolver = cfg->acme.resolver,
		};
		struct nacre_caa_result *r = calloc(1, sizeof(*r));
		char err[NACRE_ERRLEN], fix[2048];

		if (!r)
			return false;
		if (nacre_caa_check(&q, r, err, sizeof(err)) == 0 &&
		    r->verdict == NACRE_CAA_PINNED) {
			free(r);
			continue;
		}
		log_warn("acme: CAA for %s: %s: %s; no order until it pins this "
			 "account", d->names[i], nacre_caa_verdict_name(r->verdict),
			 r->reason);
		if (nacre_caa_fix_records(d->names[i], r->publish_at[0] ?
					  r->publish_at : NULL,
					  cfg->acme.caa_identity,
					  m->claims.account_url, fix, sizeof(fix),
					  err, sizeof(err)) == 0) {
			char *save = NULL;
			for (char *line = strtok_r(fix, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save))
				log_warn("acme: publish: %s", line);
		} else {
			log_warn("acme: no records to suggest for %s: %s",
				 d->names[i], err);
		}
		free(r);
		return false;
	}
	return true;
}

static void
hand_over(struct nacre_acme_manager *m, size_t domain,
	  struct nacre_acme_cert *cert)
{
	pthread_mutex_lock(&m->mtx);
	if (m->npending == PENDING_MAX) {
		nacre_acme_cert_free(m->pending[0].cert);
		memmove(m->pending, m->pending + 1,
			(PENDING_MAX - 1) * sizeof(m->pending[0]));
		m->npending--;
	}
	m->pending[m->npending].names =
		(const char *const *)m->cfg->acme.domains[domain].names;
	m->pending[m->npending].nnames = m->cfg->acme.domains[domain].nnames;
	m->pending[m->npending].cert = cert;
	m->npending++;
	pthread_mutex_unlock(&m->mtx);
	notify(m);
}

/* one attempt for domain group I: CAA, order, hand over; its next time */
static void
attempt(struct nacre_acme_manager *m, size_t i)
{
	const struct nacre_acme_domain *d = &m->cfg->acme.domains[i];
	struct nacre_acme_cert *cert = NULL;
	char err[NACRE_ERRLEN];
	int64_t next, hint;
	uint32_t jitter = 0;

	if (m->cfg->acme.require_caa && !caa_pinned(m, d)) {
		m->failures[i]++;
		m->due[i] = now_s() + backoff(m->failures[i]);
		return;
	}
	log_info("acme: ordering a certificate for %s%s", d->names[0],
		 d->nnames > 1 ? " and more" : "");
	if (nacre_acme_obtain(m->client, (const char *const *)d->names,
			      d->nnames, publish, unpublish, NULL, &cert, err,
			      sizeof(err)) != 0) {
		m->failures[i]++;
		next = now_s() + backoff(m->failures[i]);
		hint = nacre_acme_retry_hint(m->client);
		if (hint > next)
			next = hint;
		log_err("acme: certificate for %s failed (attempt %u): %s; the "
			"current certificate stays; retrying in %lld s",
			d->names[0], m->failures[i], err,
			(long long)(next - now_s()));
		m->due[i] = next;
		return;
	}
	m->failures[i] = 0;
	/* renew renew_before ahead of the end, a little earlier at random
	 * (up to 1/8 of it) so that replicas spread out */
	(void)RAND_bytes((unsigned char *)&jitter, sizeof(jitter));
	next = cert->not_after - (int64_t)(m->cfg->acme.renew_before_ms / 1000);
	next -= (int64_t)(jitter % (m->cfg->acme.renew_before_ms / 8000 + 1));
	/* a certificate shorter-lived than renew_before (e.g. 6-day ones):
	 * renew at two thirds of its life, not at once again and again */
	if (cert->not_after > cert->not_before) {
		int64_t two_thirds = cert->not_before +
				     (cert->not_after - cert->not_before) * 2 / 3;
		if (next < two_thirds && cert->not_after - cert->not_before <
					 (int64_t)(m->cfg->acme.renew_before_ms / 1000))
			next = two_thirds;
	}
	/* a certificate shorter-lived than renew_before: renew, but never
	 * more often than this */
	if (next < now_s() + RENEW_MIN_S)
		next = now_s() + RENEW_MIN_S;
	m->due[i] = next;
	log_info("acme: certificate for %s obtained, valid until %lld; renewal "
		 "at %lld", d->names[0], (long long)cert->not_after,
		 (long long)next);
	hand_over(m, i, cert);
}

static void *
run(void *arg)
{
	struct nacre_acme_manager *m = arg;

	if (!registered(m))
		return NULL;
	for (;;) {
		int64_t next = INT64_MAX;

		for (size_t i = 0; i < m->cfg->acme.ndomains; i++) {
			if (m->due[i] <= now_s())
				attempt(m, i);
			if (m->due[i] < next)
				next = m->due[i];
			pthread_mutex_lock(&m->mtx);
			bool stop = m->stop;
			pthread_mutex_unlock(&m->mtx);
			if (stop)
				return NULL;
		}
		if (wait_until(m, next))
			return NULL;
	}
}

struct nacre_acme_manager *
nacre_acme_start(const struct nacre_config *cfg, int notify_fd, char *err,
		 size_t errlen)
{
	struct nacre_acme_config ac = {
		.directory = cfg->acme.directory, .ca_roots = cfg->acme.ca_roots,
		.via = cfg->acme.via,
		.contact = (const char *const *)cfg->acme.contact,
		.ncontact = cfg->acme.ncontact,
	};
	struct nacre_acme_manager *m = calloc(1, sizeof(*m));

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&m->mtx, NULL);
	pthread_cond_init(&m->cond, NULL);
	m->cfg = (struct nacre_config *)cfg;
	atomic_fetch_add(&m->cfg->refs, 1);
	m->notify_fd = notify_fd;
	if (!(m->due = calloc(cfg->acme.ndomains, sizeof(*m->due))) ||
	    !(m->failures = calloc(cfg->acme.ndomains, sizeof(*m->failures)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (!(m->client = nacre_acme_client_new(&ac, err, errlen)))
		goto fail;
	if (pthread_create(&m->thread, NULL, run, m) != 0) {
		snprintf(err, errlen, "cannot start the ACME thread");
		goto fail;
	}
	m->started = true;
	return m;
fail:
	(void)nacre_acme_stop(m);
	return NULL;
}

bool
nacre_acme_stop(struct nacre_acme_manager *m)
{
	if (!m)
		return true;
	if (m->started) {
		struct timespec ts;
		pthread_mutex_lock(&m->mtx);
		m->stop = true;
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->mtx);
		/* an exchange with the CA in flight could take its own bound
		 * to end: nacred does not wait for it at exit */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 2;
		if (pthread_timedjoin_np(m->thread, NULL, &ts) != 0)
			return false; /* the thread still uses m */
	}
	for (size_t i = 0; i < m->npending; i++)
		nacre_acme_cert_free(m->pending[i].cert);
	nacre_acme_client_free(m->client);
	if (m->cfg && atomic_fetch_sub(&m->cfg->refs, 1) == 1)
		nacre_config_free(m->cfg);
	pthread_mutex_destroy(&m->mtx);
	pthread_cond_destroy(&m->cond);
	free(m->due);
	free(m->failures);
	free(m);
	return true;
}

bool
nacre_acme_account(struct nacre_acme_manager *m, struct nacre_acme_claims *claims)
{
	bool changed;

	pthread_mutex_lock(&m->mtx);
	changed = m->claims_new;
	m->claims_new = false;
	memcpy(claims->account_url, m->claims.account_url,
	       sizeof(claims->account_url));
	memcpy(claims->jkt, m->claims.jkt, sizeof(claims->jkt));
	pthread_mutex_unlock(&m->mtx);
	return changed;
}

bool
nacre_acme_take(struct nacre_acme_manager *m, struct nacre_acme_result *r)
{
	bool got = false;

	pthread_mutex_lock(&m->mtx);
	if (m->npending) {
		*r = m->pending[0];
		memmove(m->pending, m->pending + 1,
			(m->npending - 1) * sizeof(m->pending[0]));
		m->npending--;
		got = true;
	}
	pthread_mutex_unlock(&m->mtx);
	return got;
}
