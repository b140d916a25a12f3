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
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/x509.h>

#include "nacred.h"
#include "acme/acme.h"

#define RETRY_MIN_S 10
#define RETRY_MAX_S 3600
#define PENDING_MAX 64
#define RETRIES_MAX 64
#define RENEW_MIN_S 10
#define CERT_ID_MAX 200

/* one domain group's state, the thread's own */
struct group {
	unsigned long id;       /* stays with the names across reloads */
	int64_t due;            /* next order attempt */
	unsigned failures;      /* in a row, for the backoff */
	X509 *leaf;             /* the certificate in service, or NULL */
	int64_t not_before, not_after;
	char cert_id[CERT_ID_MAX]; /* its RFC 9773 identifier, or "" */
	bool ari;               /* the CA offers renewalInfo */
	int64_t ari_due;        /* next renewalInfo poll; 0: none */
	unsigned ari_failures;
	int caa;                /* last CAA verdict: -1 unknown, 0 no, 1 pinned */
};

struct nacre_acme_manager {
	pthread_t thread;
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	bool stop, started;
	int notify_fd;
	struct nacre_config *cfg;      /* a reference; the thread's */
	struct nacre_config *acct_cfg; /* a reference: what the account is of */
	struct nacre_acme_client *client;
	/* between the threads, under mtx */
	struct nacre_config *next_cfg; /* a reload's, for the thread to take */
	struct nacre_acme_claims claims;
	bool claims_new;
	struct nacre_acme_result pending[PENDING_MAX];
	size_t npending;
	unsigned long retry[RETRIES_MAX]; /* groups the main thread could
					   * not install */
	size_t nretry;
	struct nacre_acme_group_state *status; /* each group's, for the admin */
	size_t nstatus;
	bool registered;
	/* the thread's own */
	struct group *g;
	size_t ng;
	unsigned long next_id;
};

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static void
cfg_unref(struct nacre_config *cfg)
{
	if (cfg && atomic_fetch_sub(&cfg->refs, 1) == 1)
		nacre_config_free(cfg);
}

static uint32_t
random_u32(void)
{
	uint32_t v = 0;

	(void)RAND_bytes((unsigned char *)&v, sizeof(v));
	return v;
}

static void
notify(struct nacre_acme_manager *m)
{
	char b = 'a';

	while (write(m->notify_fd, &b, 1) < 0 && errno == EINTR)
		;
}

static bool
stopping(struct nacre_acme_manager *m)
{
	bool stop;

	pthread_mutex_lock(&m->mtx);
	stop = m->stop;
	pthread_mutex_unlock(&m->mtx);
	return stop;
}

/* sleeps until UNTIL (Unix time), a stop or a reload; true when stopping */
static bool
wait_until(struct nacre_acme_manager *m, int64_t until)
{
	struct timespec ts = { (time_t)until, 0 };
	bool stop;

	pthread_mutex_lock(&m->mtx);
	while (!m->stop && !m->next_cfg && !m->nretry && now_s() < until)
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

static void
log_time(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "%lld", (long long)t);
}

/* our own schedule: renew_before ahead of the end, a little earlier at
 * random (up to 1/8 of it) so that replicas spread out */
static int64_t
own_schedule(const struct nacre_acme_manager *m, const struct group *g)
{
	uint64_t rb = m->cfg->acme.renew_before_ms / 1000;
	int64_t next = g->not_after - (int64_t)rb;

	next -= (int64_t)(random_u32() % (rb / 8 + 1));
	/* a certificate shorter-lived than renew_before (e.g. 6-day ones):
	 * renew at two thirds of its life, not at once again and again */
	if (g->not_after > g->not_before &&
	    g->not_after - g->not_before < (int64_t)rb) {
		int64_t two_thirds = g->not_before +
				     (g->not_after - g->not_before) * 2 / 3;
		if (next < two_thirds)
			next = two_thirds;
	}
	if (next < now_s() + RENEW_MIN_S)
		next = now_s() + RENEW_MIN_S;
	return next;
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
same_names(const struct nacre_acme_domain *a, const struct nacre_acme_domain *b)
{
	if (a->nnames != b->nnames)
		return false;
	for (size_t i = 0; i < a->nnames; i++)
		if (strcasecmp(a->names[i], b->names[i]) != 0)
			return false;
	return true;
}

static void
group_clear(struct group *g)
{
	X509_free(g->leaf);
	memset(g, 0, sizeof(*g));
}

/* a reload's configuration: groups with the same names keep their
 * certificate and schedule (renew_before may have moved it); new groups
 * are ordered now; dropped ones are forgotten */
static void
adopt(struct nacre_acme_manager *m, struct nacre_config *nc)
{
	struct nacre_config *old = m->cfg;
	struct group *ng = calloc(nc->acme.ndomains ? nc->acme.ndomains : 1,
				  sizeof(*ng));

	if (!ng) {
		log_err("acme: out of memory taking the new configuration; "
			"keeping the old domain list");
		cfg_unref(nc);
		return;
	}
	m->cfg = nc;
	for (size_t j = 0; j < nc->acme.ndomains; j++) {
		const struct nacre_acme_domain *nd = &nc->acme.domains[j];
		size_t i;

		for (i = 0; i < m->ng; i++)
			if (m->g[i].id && same_names(&old->acme.domains[i], nd))
				break;
		if (i == m->ng) {
			ng[j].id = ++m->next_id;
			ng[j].caa = -1;
			log_info("acme: %s is new in the configuration; ordering "
				 "its certificate", nd->names[0]);
			continue;
		}
		ng[j] = m->g[i];
		memset(&m->g[i], 0, sizeof(m->g[i]));
		if (ng[j].leaf && ng[j].failures == 0)
			ng[j].due = own_schedule(m, &ng[j]);
	}
	for (size_t i = 0; i < m->ng; i++) {
		if (m->g[i].id)
			log_info("acme: %s is no longer configured; its "
				 "certificate is no longer renewed",
				 old->acme.domains[i].names[0]);
		group_clear(&m->g[i]);
	}
	free(m->g);
	m->g = ng;
	m->ng = nc->acme.ndomains;
	cfg_unref(old);
}

/* what the main thread asked for: a reload's configuration, and groups
 * whose certificate it could not install (ordered again, with backoff) */
static void
take_requests(struct nacre_acme_manager *m)
{
	struct nacre_config *nc;
	unsigned long retry[RETRIES_MAX];
	size_t nretry;

	pthread_mutex_lock(&m->mtx);
	nc = m->next_cfg;
	m->next_cfg = NULL;
	nretry = m->nretry;
	memcpy(retry, m->retry, nretry * sizeof(retry[0]));
	m->nretry = 0;
	pthread_mutex_unlock(&m->mtx);
	if (nc)
		adopt(m, nc);
	for (size_t k = 0; k < nretry; k++)
		for (size_t i = 0; i < m->ng; i++) {
			struct group *g = &m->g[i];

			if (g->id != retry[k])
				continue;
			g->failures++;
			g->due = now_s() + backoff(g->failures);
			log_warn("acme: the certificate for %s was not put in "
				 "service; ordering again in %lld s",
				 m->cfg->acme.domains[i].names[0],
				 (long long)backoff(g->failures));
		}
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
		for (int64_t until = now_s() + backoff(failures);
		     now_s() < until;) {
			if (wait_until(m, until))
				return false;
			take_requests(m);
		}
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
 * this account and tls-alpn-01, or no order is placed. The verdict is
 * logged when it changes; the records to publish on every refusal. */
static bool
caa_pinned(struct nacre_acme_manager *m, struct group *g,
	   const struct nacre_acme_domain *d)
{
	const struct nacre_config *cfg = m->cfg;
	const char *ca = cfg->acme.caa_identity;
	char err[NACRE_ERRLEN], fix[2048];

	if (!ca && !(ca = nacre_acme_ca_caa_identity(m->client, err,
						     sizeof(err)))) {
		log_err("acme: CAA for %s cannot be checked: %s; no order",
			d->names[0], err);
		g->caa = 0;
		return false;
	}
	for (size_t i = 0; i < d->nnames; i++) {
		struct nacre_caa_query q = {
			.name = d->names[i], .ca = ca,
			.account_uri = m->claims.account_url,
			.peer_accounts = (const char *const *)cfg->acme.caa_peers,
			.npeer_accounts = cfg->acme.ncaa_peers,
			.resolver = cfg->acme.resolver,
		};
		struct nacre_caa_result *r = calloc(1, sizeof(*r));

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
					  r->publish_at : NULL, ca,
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
		g->caa = 0;
		return false;
	}
	if (g->caa != 1)
		log_info("acme: CAA for %s%s pins this account and tls-alpn-01 "
			 "(issuer %s)", d->names[0], d->nnames > 1 ? " and the "
			 "other names of its certificate" : "", ca);
	g->caa = 1;
	return true;
}

static void
hand_over(struct nacre_acme_manager *m, struct group *g,
	  const struct nacre_acme_domain *d, struct nacre_acme_cert *cert)
{
	pthread_mutex_lock(&m->mtx);
	if (m->npending == PENDING_MAX) {
		nacre_acme_result_done(&m->pending[0]);
		memmove(m->pending, m->pending + 1,
			(PENDING_MAX - 1) * sizeof(m->pending[0]));
		m->npending--;
	}
	atomic_fetch_add(&m->cfg->refs, 1);
	m->pending[m->npending] = (struct nacre_acme_result){
		.names = (const char *const *)d->names, .nnames = d->nnames,
		.cert = cert, .group = g->id, .cfg = m->cfg,
	};
	m->npending++;
	pthread_mutex_unlock(&m->mtx);
	notify(m);
}

/* RFC 9773: the CA's window for renewing G's certificate; a window that
 * starts before our own schedule brings the renewal forward (never later:
 * renew_before is the operator's) */
static void
ask_renewal_info(struct nacre_acme_manager *m, struct group *g,
		 const struct nacre_acme_domain *d)
{
	struct nacre_acme_window w;
	char err[NACRE_ERRLEN], a[32], b[32];
	int rc;

	memset(&w, 0, sizeof(w));
	rc = nacre_acme_renewal_info(m->client, g->leaf, &w, err, sizeof(err));
	if (rc == 0) {
		g->ari = false;
		g->ari_due = 0;
		return;
	}
	if (rc < 0) {
		g->ari_failures++;
		g->ari_due = now_s() + backoff(g->ari_failures);
		log_warn("acme: renewalInfo for %s failed: %s; asking again in "
			 "%lld s", d->names[0], err,
			 (long long)backoff(g->ari_failures));
		return;
	}
	g->ari = true;
	g->ari_failures = 0;
	g->ari_due = now_s() + (int64_t)w.retry_after_s;
	if (g->failures == 0) {
		int64_t t = w.start, span = w.end - w.start;

		if (span > 0)
			t += (int64_t)(random_u32() % (uint64_t)(span + 1));
		if (t < now_s())
			t = now_s();
		if (t < g->due) {
			log_time(w.start, a, sizeof(a));
			log_time(w.end, b, sizeof(b));
			log_info("acme: the CA suggests renewing %s between %s "
				 "and %s (RFC 9773%s%s); renewal in %lld s",
				 d->names[0], a, b, w.explanation[0] ? ", " : "",
				 w.explanation, (long long)(t - now_s()));
			g->due = t;
		}
	}
}

/* one attempt for group I: CAA, order, hand over; its next time */
static void
attempt(struct nacre_acme_manager *m, size_t i)
{
	const struct nacre_acme_domain *d = &m->cfg->acme.domains[i];
	struct group *g = &m->g[i];
	struct nacre_acme_cert *cert = NULL;
	char err[NACRE_ERRLEN], until[32], at[32];
	int64_t next, hint;

	if (m->cfg->acme.require_caa && !caa_pinned(m, g, d)) {
		g->failures++;
		g->due = now_s() + backoff(g->failures);
		return;
	}
	log_info("acme: ordering a certificate for %s%s%s", d->names[0],
		 d->nnames > 1 ? " and more" : "",
		 g->ari && g->cert_id[0] ? " (replacing the current one)" : "");
	if (nacre_acme_obtain(m->client, (const char *const *)d->names,
			      d->nnames, publish, unpublish, NULL,
			      g->ari && g->cert_id[0] ? g->cert_id : NULL,
			      &cert, err, sizeof(err)) != 0) {
		g->failures++;
		next = now_s() + backoff(g->failures);
		hint = nacre_acme_retry_hint(m->client);
		if (hint > next)
			next = hint;
		log_err("acme: certificate for %s failed (attempt %u): %s; %s; "
			"retrying in %lld s", d->names[0], g->failures, err,
			g->leaf ? "the current certificate stays in service" :
				  "no ACME certificate is served yet",
			(long long)(next - now_s()));
		g->due = next;
		return;
	}
	g->failures = 0;
	X509_free(g->leaf);
	g->leaf = cert->chain[0];
	X509_up_ref(g->leaf);
	g->not_before = cert->not_before;
	g->not_after = cert->not_after;
	if (nacre_acme_ari_cert_id(g->leaf, g->cert_id,
				   sizeof(g->cert_id)) != 0)
		g->cert_id[0] = '\0';
	g->due = own_schedule(m, g);
	/* ask the CA's window now if it offers one (RFC 9773 4.3) */
	g->ari_due = g->cert_id[0] ? now_s() : 0;
	g->ari_failures = 0;
	log_time(cert->not_after, until, sizeof(until));
	log_time(g->due, at, sizeof(at));
	log_info("acme: certificate for %s obtained, valid until %s; renewal "
		 "at %s", d->names[0], until, at);
	hand_over(m, g, d, cert);
}

/* the groups' state for nacre_acme_groups() */
static void
publish_status(struct nacre_acme_manager *m)
{
	struct nacre_acme_group_state *st = calloc(m->ng ? m->ng : 1, sizeof(*st));

	if (!st)
		return; /* the last one stays */
	for (size_t i = 0; i < m->ng; i++) {
		snprintf(st[i].name, sizeof(st[i].name), "%s",
			 m->cfg->acme.domains[i].names[0]);
		st[i].caa = m->cfg->acme.require_caa ? m->g[i].caa : -1;
		st[i].not_after = m->g[i].leaf ? m->g[i].not_after : 0;
		st[i].next_attempt = m->g[i].due;
		st[i].failures = m->g[i].failures;
	}
	pthread_mutex_lock(&m->mtx);
	free(m->status);
	m->status = st;
	m->nstatus = m->ng;
	m->registered = nacre_acme_account_url(m->client) != NULL;
	pthread_mutex_unlock(&m->mtx);
}

static void *
run(void *arg)
{
	struct nacre_acme_manager *m = arg;

	publish_status(m);
	if (!registered(m))
		return NULL;
	for (;;) {
		int64_t next = INT64_MAX;

		take_requests(m);
		for (size_t i = 0; i < m->ng; i++) {
			struct group *g = &m->g[i];

			if (g->due <= now_s())
				attempt(m, i);
			else if (g->leaf && g->ari_due && g->ari_due <= now_s())
				ask_renewal_info(m, g, &m->cfg->acme.domains[i]);
			if (g->due < next)
				next = g->due;
			if (g->leaf && g->ari_due && g->ari_due < next)
				next = g->ari_due;
			if (stopping(m))
				return NULL;
		}
		publish_status(m);
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
	m->acct_cfg = (struct nacre_config *)cfg;
	atomic_fetch_add(&m->cfg->refs, 2);
	m->notify_fd = notify_fd;
	if (!(m->g = calloc(cfg->acme.ndomains ? cfg->acme.ndomains : 1,
			    sizeof(*m->g)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	m->ng = cfg->acme.ndomains;
	for (size_t i = 0; i < m->ng; i++) {
		m->g[i].id = ++m->next_id;
		m->g[i].caa = -1;
	}
	if (!(m->client = nacre_acme_client_new(&ac, err, errlen)))
		goto fail;
	{
		/* process signals are the main thread's: none may land on
		 * this one (EINTR inside curl, a handler on the wrong loop) */
		sigset_t all, old;
		int rc;

		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		rc = pthread_create(&m->thread, NULL, run, m);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0) {
			snprintf(err, errlen, "cannot start the ACME thread");
			goto fail;
		}
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
		nacre_acme_result_done(&m->pending[i]);
	for (size_t i = 0; i < m->ng; i++)
		group_clear(&m->g[i]);
	free(m->g);
	free(m->status);
	nacre_acme_client_free(m->client);
	cfg_unref(m->next_cfg);
	cfg_unref(m->cfg);
	cfg_unref(m->acct_cfg);
	pthread_mutex_destroy(&m->mtx);
	pthread_cond_destroy(&m->cond);
	free(m);
	return true;
}

static bool
same_account(const struct nacre_config *a, const struct nacre_config *b)
{
#define SAME(x, y) ((!(x) && !(y)) || ((x) && (y) && strcmp((x), (y)) == 0))
	if (!SAME(a->acme.directory, b->acme.directory) ||
	    !SAME(a->acme.ca_roots, b->acme.ca_roots) ||
	    !SAME(a->acme.via, b->acme.via) ||
	    a->acme.ncontact != b->acme.ncontact)
		return false;
	for (size_t i = 0; i < a->acme.ncontact; i++)
		if (strcmp(a->acme.contact[i], b->acme.contact[i]) != 0)
			return false;
	return true;
#undef SAME
}

bool
nacre_acme_reconfigure(struct nacre_acme_manager *m,
		       const struct nacre_config *cfg)
{
	atomic_fetch_add(&((struct nacre_config *)cfg)->refs, 1);
	pthread_mutex_lock(&m->mtx);
	cfg_unref(m->next_cfg); /* a reload the thread has not taken yet */
	m->next_cfg = (struct nacre_config *)cfg;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mtx);
	return same_account(m->acct_cfg, cfg);
}

void
nacre_acme_retry(struct nacre_acme_manager *m, const struct nacre_acme_result *r)
{
	pthread_mutex_lock(&m->mtx);
	if (m->nretry < RETRIES_MAX)
		m->retry[m->nretry++] = r->group;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mtx);
}

void
nacre_acme_result_done(struct nacre_acme_result *r)
{
	nacre_acme_cert_free(r->cert);
	cfg_unref(r->cfg);
	memset(r, 0, sizeof(*r));
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

size_t
nacre_acme_groups(struct nacre_acme_manager *m, struct nacre_acme_group_state *out,
		  size_t max, bool *registered)
{
	size_t n;

	pthread_mutex_lock(&m->mtx);
	n = m->nstatus < max ? m->nstatus : max;
	if (n)
		memcpy(out, m->status, n * sizeof(*out));
	*registered = m->registered;
	pthread_mutex_unlock(&m->mtx);
	return n;
}
