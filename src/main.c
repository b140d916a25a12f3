/*
 * main.c: nacred's entry point and its main thread: options, start-up,
 * signals (SIGHUP reload, SIGTERM/SIGINT drain), and the hand-over of new
 * generations to the workers. The main thread never touches a connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "acme/acme.h"
#include "admin/admin.h"
#include "attest.h"
#include "fresh.h"
#include "runtime.h"

#define EX_UNAVAILABLE 69 /* sysexits.h: the attestation provider */
#define ROTATE_RETRY_MIN_MS 1000
#define ROTATE_RETRY_MAX_MS 60000

struct daemon {
	struct event_base *base;
	const char *config_path;
	struct nacre_gen *gen;             /* the current generation */
	struct nacre_listener **listeners; /* main's references */
	size_t nlisteners;
	struct nacre_worker *workers;
	unsigned nworkers, workers_done;
	enum nacre_balance balance;
	int done_rd, done_wr;
	bool draining;
	struct nacre_attest *attest;       /* used by the main thread only */
	unsigned rotate_failures;
	struct event *ev_rotate;
	struct event *ev_trim;
	uint64_t trim_mark;
	struct event *ev_hup, *ev_term, *ev_int, *ev_done, *ev_deadline;
	/* ACME (src/acme/): its thread, what it made, what the claims say */
	struct nacre_acme_manager *acme;
	struct nacre_acme_served *acme_served;
	struct nacre_acme_claims acme_claims;
	struct event *ev_acme;
	int acme_rd, acme_wr;
	/* the admin endpoint (src/admin/) and what it reports */
	struct nacre_admin *admin;
	char admin_text[sizeof(((struct nacre_addr *)0)->text)];
	struct nacre_admin_view view;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: nacred [-t] [-d] -c FILE\n"
		"       nacred -V\n"
		"  -c FILE  configuration file (libconfig syntax, see nacred.conf(5))\n"
		"  -t       check the configuration and exit (0 ok, 78 bad)\n"
		"  -d       log at debug level, whatever the file says\n"
		"  -V       print the version and exit (also --version)\n"
		"  -h       this help (also --help)\n"
		"Signals: SIGHUP reloads the configuration; SIGTERM drains and exits.\n"
		"Manuals: nacred(8), nacred.conf(5); clients verify with nacre(1).\n");
}

/* Reuse open listeners whose address is unchanged; open the new ones. On
 * failure nothing changes and err says why. */
static int
listeners_reconcile(struct daemon *d, const struct nacre_config *cfg,
		    struct nacre_listener ***out, char *err, size_t errlen)
{
	struct nacre_listener **ls = calloc(cfg->nlisten, sizeof(*ls));

	if (!ls) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nlisten; i++) {
		for (size_t j = 0; j < d->nlisteners && !ls[i]; j++) {
			if (strcmp(d->listeners[j]->addr.text,
				   cfg->listen[i].addr.text) == 0) {
				ls[i] = d->listeners[j];
				nacre_listener_ref(ls[i]);
			}
		}
		if (!ls[i])
			ls[i] = nacre_listener_open(&cfg->listen[i].addr,
						    d->nworkers,
						    d->balance == NACRE_BALANCE_SPREAD,
						    err, errlen);
		if (!ls[i]) {
			for (size_t k = 0; k < i; k++)
				nacre_listener_unref(ls[k]);
			free(ls);
			return -1;
		}
	}
	*out = ls;
	return 0;
}

/* Build a generation from cfg (taking ownership of it on success). */
static void
log_generation(const struct nacre_gen *g)
{
	X509 *x = SSL_CTX_get0_certificate(g->ssl_ctx);
	unsigned char md[32];
	unsigned mdlen = sizeof(md);
	char hex[65];

	if (!x || !X509_digest(x, EVP_sha256(), md, &mdlen))
		return;
	nacre_hex_encode(md, sizeof(md), hex);
	log_info("generation %llu: certificate sha256:%s",
		 (unsigned long long)g->id, hex);
}

static struct nacre_gen *
gen_build(struct daemon *d, struct nacre_config *cfg, struct nacre_attest *a,
	  struct nacre_listener ***ls_out, char *err, size_t errlen)
{
	struct nacre_listener **ls;
	struct nacre_gen *g;
	SSL_CTX *ctx;

	ctx = nacre_tls_ctx_new(cfg, a, &d->acme_claims, err, errlen);
	if (!ctx)
		return NULL;
	if (listeners_reconcile(d, cfg, &ls, err, errlen) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	g = nacre_gen_new(cfg, ctx, ls, cfg->nlisten);
	if (g) {
		g->acme = d->acme_served;
		nacre_acme_served_ref(g->acme);
	}
	if (!g) {
		snprintf(err, errlen, "out of memory");
		for (size_t i = 0; i < cfg->nlisten; i++)
			nacre_listener_unref(ls[i]);
		free(ls);
		SSL_CTX_free(ctx);
		return NULL;
	}
	*ls_out = ls;
	return g;
}

static void
publish_gen(struct daemon *d, struct nacre_gen *g)
{
	for (unsigned i = 0; i < d->nworkers; i++)
		nacre_worker_send_gen(&d->workers[i], g);
	nacre_gen_unref(d->gen);
	d->gen = g;
	/* every generation has a new key and new evidence */
	d->view.gen = g;
	d->view.evidence_at = (int64_t)time(NULL);
	log_generation(g);
}

static void
install_gen(struct daemon *d, struct nacre_gen *g, struct nacre_listener **ls)
{
	struct nacre_listener **old = d->listeners;
	size_t nold = d->nlisteners;

	publish_gen(d, g);
	d->listeners = ls;
	d->nlisteners = g->cfg->nlisten;
	/* only after every worker's mailbox holds g (see worker.c) */
	for (size_t i = 0; i < nold; i++)
		nacre_listener_unref(old[i]);
	free(old);
}

static void
log_listening(const struct nacre_config *cfg)
{
	for (size_t i = 0; i < cfg->nlisten; i++)
		log_info("listening on %s%s", cfg->listen[i].addr.text,
			 cfg->listen[i].proxy_protocol ? " (PROXY v2 required)" : "");
	log_info("upstream %s%s", cfg->upstream.addr.text,
		 cfg->upstream.proxy_protocol == NACRE_PP_V2 ? " (PROXY v2)" : "");
}

static void
schedule_rotation(struct daemon *d, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(d->ev_rotate, &tv);
}

/* A new key, new evidence and a new certificate; the listeners and the
 * configuration stay. On failure the last good certificate stays in
 * service and we retry with backoff. */
static void
rotate_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct nacre_config *cfg = d->gen->cfg;
	char err[NACRE_ERRLEN];
	struct nacre_gen *g;
	SSL_CTX *ctx;
	uint64_t retry;

	if (d->draining)
		return;
	ctx = nacre_tls_ctx_new(cfg, d->attest, &d->acme_claims, err, sizeof(err));
	g = ctx ? nacre_gen_new(cfg, ctx, d->gen->listeners, d->gen->nlisteners)
		: NULL;
	if (g) {
		g->acme = d->acme_served;
		nacre_acme_served_ref(g->acme);
	}
	if (!g) {
		if (ctx) {
			SSL_CTX_free(ctx);
			snprintf(err, sizeof(err), "out of memory");
		}
		retry = (uint64_t)ROTATE_RETRY_MIN_MS << (d->rotate_failures < 6 ?
							  d->rotate_failures : 6);
		if (retry > ROTATE_RETRY_MAX_MS)
			retry = ROTATE_RETRY_MAX_MS;
		d->rotate_failures++;
		d->view.rotations[1]++;
		log_err("rotation failed (attempt %u): %s; still serving "
			"generation %llu; retrying in %llu ms", d->rotate_failures,
			err, (unsigned long long)d->gen->id,
			(unsigned long long)retry);
		schedule_rotation(d, retry);
		return;
	}
	d->rotate_failures = 0;
	publish_gen(d, g);
	d->view.rotations[0]++;
	log_info("rotated key and certificate (generation %llu)",
		 (unsigned long long)g->id);
	schedule_rotation(d, cfg->attestation.rotate_ms);
}

/*
 * A burst of handshakes leaves the heap full of freed holes between live
 * connections; glibc keeps those pages. Giving them back after a burst
 * halves the resident memory of idle TLS connections (44 -> 22 KiB each in
 * our measurement); the pool (pool.c) gives back the pages that closed
 * connections left free. At most every TRIM_INTERVAL_S, and only when
 * handshakes ended or connections closed since the last time (not when
 * they were accepted: a burst's handshakes finish long after its last
 * accept, and a trim between the two would be the last one).
 */
#define TRIM_INTERVAL_S 5

static void
trim_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t id = atomic_load_explicit(&nacre_heap_events,
					   memory_order_relaxed);

	if (id == d->trim_mark)
		return;
	d->trim_mark = id;
	malloc_trim(0);
	(void)nacre_pool_trim(); /* pool.c: what closed connections left */
}

static void
reload(struct daemon *d)
{
	struct nacre_config *cfg = NULL;
	struct nacre_listener **ls;
	struct nacre_attest *attest;
	struct nacre_acme_served *prev;
	struct nacre_gen *g;
	char err[NACRE_ERRLEN];

	if (d->draining)
		return;
	nacre_sd_notify("RELOADING=1");
	log_info("reloading %s", d->config_path);
	if (nacre_config_load(d->config_path, &cfg, err, sizeof(err)) < 0) {
		log_err("reload failed: %s; keeping the running configuration", err);
		d->view.reloads[1]++;
		nacre_sd_notify("READY=1");
		return;
	}
	attest = nacre_provider_open(cfg, false, err, sizeof(err));
	/* names the new configuration drops are not served by its
	 * generation; the old table stays with the running one */
	prev = d->acme_served;
	if (attest && d->acme && cfg->acme.enabled && prev) {
		if (!(d->acme_served = nacre_acme_served_only(prev, cfg))) {
			d->acme_served = prev;
			prev = NULL;
		}
	} else {
		prev = NULL;
	}
	g = attest ? gen_build(d, cfg, attest, &ls, err, sizeof(err)) : NULL;
	if (!g) {
		log_err("reload failed: %s; keeping the running configuration", err);
		d->view.reloads[1]++;
		if (prev) {
			nacre_acme_served_unref(d->acme_served);
			d->acme_served = prev;
		}
		nacre_attest_free(attest);
		nacre_config_free(cfg);
		nacre_sd_notify("READY=1");
		return;
	}
	if (prev) {
		nacre_acme_served_unref(prev);
		d->acme_claims.nkeys = nacre_acme_served_key_hashes(
			d->acme_served, d->acme_claims.keys, 16);
	}
	nacre_attest_free(d->attest);
	d->attest = attest;
	d->rotate_failures = 0;
	schedule_rotation(d, cfg->attestation.rotate_ms);
	if (cfg->workers != d->nworkers)
		log_warn("workers = %u takes effect at the next start (running %u)",
			 cfg->workers, d->nworkers);
	if (cfg->balance != d->balance)
		log_warn("balance = \"%s\" takes effect at the next start",
			 cfg->balance == NACRE_BALANCE_PACK ? "pack" : "spread");
	if (cfg->acme.enabled != (d->acme != NULL)) {
		log_warn("acme takes effect (or stops) at the next start");
	} else if (d->acme) {
		if (!nacre_acme_reconfigure(d->acme, cfg))
			log_warn("acme: a new directory, ca_roots, via or "
				 "contact takes effect at the next start, with "
				 "a new account (and so new CAA records); the "
				 "running account stays");
	}
	nacre_log_set_level(cfg->log_level);
	if (nacre_log_configure(cfg, err, sizeof(err)) < 0)
		log_err("%s; logging to stderr", err);
	install_gen(d, g, ls);
	log_listening(cfg);
	nacre_process_check_budget(cfg->limits.max_connections);
	d->view.reloads[0]++;
	if (strcmp(cfg->has_admin ? cfg->admin_listen.text : "",
		   d->admin_text) != 0)
		log_warn("admin.listen takes effect at the next start "
			 "(running: %s)", d->admin_text[0] ? d->admin_text :
			 "no admin endpoint");
	log_info("reloaded configuration (generation %llu)",
		 (unsigned long long)g->id);
	nacre_sd_notify("READY=1");
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	log_warn("drain deadline reached; closing the remaining connections");
	for (unsigned i = 0; i < d->nworkers; i++)
		nacre_worker_send_drain(&d->workers[i], true);
}

static void
drain(struct daemon *d)
{
	uint64_t ms = d->gen->cfg->limits.drain_timeout_ms;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	if (d->draining) {
		log_warn("second stop signal: closing all connections now");
		deadline_cb(-1, 0, d);
		return;
	}
	d->draining = true;
	d->view.draining = true;
	evtimer_del(d->ev_rotate);
	nacre_sd_notify("STOPPING=1");
	log_info("draining: no new connections; %llu open, deadline %llu ms",
		 (unsigned long long)atomic_load(&nacre_nconns),
		 (unsigned long long)ms);
	for (unsigned i = 0; i < d->nworkers; i++)
		nacre_worker_send_drain(&d->workers[i], false);
	/* the workers drop their listener references; drop ours so the
	 * sockets close and new clients are refused, not queued */
	for (size_t i = 0; i < d->nlisteners; i++)
		nacre_listener_unref(d->listeners[i]);
	free(d->listeners);
	d->listeners = NULL;
	d->nlisteners = 0;
	d->ev_deadline = evtimer_new(d->base, deadline_cb, d);
	evtimer_add(d->ev_deadline, &tv);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	if (sig == SIGHUP)
		reload(d);
	else
		drain(d);
}

/* The ACME thread has something new: the account (its claims go into the
 * attested certificate) or a certificate (served from the next
 * generation, its key's hash in the claims). Either way a rotation now
 * makes both visible. */
static void
acme_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	const struct nacre_config *cfg = d->gen->cfg;
	struct nacre_acme_result r;
	char buf[64], err[NACRE_ERRLEN];
	bool changed;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	changed = nacre_acme_account(d->acme, &d->acme_claims);
	while (nacre_acme_take(d->acme, &r)) {
		SSL_CTX *ctx;
		struct nacre_acme_served *s;

		if (!nacre_acme_configured(cfg, r.names[0])) {
			/* ordered before a reload that dropped it */
			nacre_acme_result_done(&r);
			continue;
		}
		ctx = nacre_tls_acme_ctx_new(cfg, r.cert->chain, r.cert->nchain,
					     r.cert->key, err, sizeof(err));
		s = ctx ? nacre_acme_served_with(d->acme_served, r.names,
						 r.nnames, ctx) : NULL;
		SSL_CTX_free(ctx);
		if (!s) {
			log_err("acme: cannot serve the certificate for %s: %s",
				r.names[0], ctx ? "out of memory" : err);
			nacre_acme_retry(d->acme, &r);
			nacre_acme_result_done(&r);
			continue;
		}
		nacre_acme_served_unref(d->acme_served);
		d->acme_served = s;
		d->acme_claims.nkeys = nacre_acme_served_key_hashes(
			s, d->acme_claims.keys, 16);
		log_info("acme: serving the certificate for %s to clients that "
			 "do not ask for attestation", r.names[0]);
		nacre_acme_result_done(&r);
		changed = true;
	}
	if (changed && !d->draining) {
		evtimer_del(d->ev_rotate);
		rotate_cb(-1, 0, d);
	}
}

static int
acme_begin(struct daemon *d, const struct nacre_config *cfg)
{
	char err[NACRE_ERRLEN];
	int p[2];

	if (!cfg->acme.enabled)
		return 0;
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
		log_err("acme: cannot create its pipe");
		return -1;
	}
	d->acme_rd = p[0];
	d->acme_wr = p[1];
	d->ev_acme = event_new(d->base, d->acme_rd, EV_READ | EV_PERSIST,
			       acme_cb, d);
	if (!d->ev_acme || !(d->acme = nacre_acme_start(cfg, d->acme_wr, err,
							  sizeof(err)))) {
		log_err("acme: %s", d->ev_acme ? err : "out of memory");
		return -1;
	}
	event_add(d->ev_acme, NULL);
	log_info("acme: %zu certificate%s to obtain from %s%s", cfg->acme.ndomains,
		 cfg->acme.ndomains == 1 ? "" : "s", cfg->acme.directory,
		 cfg->acme.require_caa ? " (each only once CAA pins our account)" : "");
	return 0;
}

static void
acme_end(struct daemon *d)
{
	if (d->ev_acme)
		event_free(d->ev_acme);
	if (!nacre_acme_stop(d->acme)) {
		/* its curl or OpenSSL calls must not meet exit's clean-up */
		log_warn("acme: an exchange with the CA is still running; "
			 "stopping without waiting for it");
		log_info("stopped");
		nacre_log_shutdown(); /* _exit skips atexit: the queue goes now */
		fflush(stderr);
		_exit(0);
	}
	if (d->acme) {
		close(d->acme_rd);
		close(d->acme_wr);
	}
	nacre_acme_served_unref(d->acme_served);
}

static void
worker_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	char buf[64];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		d->workers_done += (unsigned)n;
	if (d->workers_done >= d->nworkers)
		event_base_loopbreak(d->base);
}

static int
check_only(const char *path)
{
	struct nacre_config *cfg;
	char err[NACRE_ERRLEN], all[8192];
	SSL_CTX *ctx;

	if (nacre_config_load_all(path, &cfg, all, sizeof(all)) < 0) {
		/* every error found, a line each */
		char *save = NULL;
		unsigned n = 0;
		for (char *l = strtok_r(all, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save), n++)
			nacre_print_line(stderr, l);
		if (n > 1)
			fprintf(stderr, "%s: %u errors\n", path, n);
		return NACRE_EX_CONFIG;
	}
	ctx = nacre_tls_ctx_new(cfg, NULL, NULL, err, sizeof(err));
	if (!ctx) {
		fprintf(stderr, "%s: ", path);
		nacre_print_line(stderr, err);
		nacre_config_free(cfg);
		return NACRE_EX_CONFIG;
	}
	SSL_CTX_free(ctx);
	printf("%s: configuration ok\n", path);
	/* the account exists only once nacred runs: its URL is logged then
	 * ("acme: account URL (the accounturi for CAA)") */
	if (cfg->acme.enabled) {
		const char *ca = cfg->acme.caa_identity ? cfg->acme.caa_identity
							 : "<the CA's CAA domain>";
		printf("acme: the CAA records to publish, with the account URL "
		       "nacred logs at start (see docs/caa.md):\n");
		for (size_t i = 0; i < cfg->acme.ndomains; i++)
			for (size_t j = 0; j < cfg->acme.domains[i].nnames; j++) {
				const char *n = cfg->acme.domains[i].names[j];
				printf("  %s. CAA 0 issue \"%s; accounturi=<account URL>; "
				       "validationmethods=tls-alpn-01\"\n", n, ca);
				printf("  %s. CAA 0 issuewild \";\"\n", n);
			}
	}
	nacre_config_free(cfg);
	return 0;
}

static void
workers_free(struct daemon *d)
{
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct nacre_worker *w = &d->workers[i];
		pthread_join(w->thread, NULL);
		for (size_t j = 0; j < w->naccept; j++) {
			event_del(&w->accept_evs[j]);
			nacre_listener_unref(w->accepting[j]);
		}
		free(w->accept_evs);
		free(w->accepting);
		if (w->pending)
			nacre_gen_unref(w->pending);
		nacre_gen_unref(w->gen);
		event_del(&w->notify_ev);
		event_del(&w->resume_ev);
		event_del(&w->load_ev);
		event_base_free(w->base);
		close(w->notify_rd);
		close(w->notify_wr);
		pthread_mutex_destroy(&w->mtx);
	}
	free(d->workers);
}

static int
run(const char *path, bool debug)
{
	struct daemon d = { .config_path = path };
	struct nacre_process proc;
	struct nacre_config *cfg;
	char err[NACRE_ERRLEN];
	int p[2];

	if (nacre_config_load(path, &cfg, err, sizeof(err)) < 0) {
		nacre_print_line(stderr, err);
		return NACRE_EX_CONFIG;
	}
	/* before any key exists; the secure heap sized for the connections
	 * (each holds its ephemeral key there while its SSL lives) */
	nacre_process_harden(&proc, cfg->limits.max_connections);
	if (debug)
		cfg->log_level = NACRE_LOG_DEBUG;
	nacre_log_set_level(cfg->log_level);
	if (nacre_log_configure(cfg, err, sizeof(err)) < 0)
		log_err("%s; logging to stderr", err);
	/* both fixed for the life of the process: listeners are opened for them */
	d.nworkers = cfg->workers;
	d.balance = cfg->balance;
	d.attest = nacre_provider_open(cfg, true, err, sizeof(err));
	if (!d.attest) {
		log_err("%s", err);
		nacre_config_free(cfg);
		return EX_UNAVAILABLE;
	}
	d.gen = gen_build(&d, cfg, d.attest, &d.listeners, err, sizeof(err));
	if (!d.gen) {
		log_err("%s", err);
		nacre_attest_free(d.attest);
		nacre_config_free(cfg);
		return 1;
	}
	log_generation(d.gen);
	d.view.gen = d.gen;
	d.view.evidence_at = (int64_t)time(NULL);
	d.nlisteners = cfg->nlisten;
	signal(SIGPIPE, SIG_IGN);
	d.base = event_base_new();
	if (!d.base || pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
		log_err("cannot create the main event loop");
		return 1;
	}
	d.done_rd = p[0];
	d.done_wr = p[1];
	d.workers = nacre_workers_start(d.nworkers, d.gen, d.done_wr,
					d.balance == NACRE_BALANCE_PACK);
	if (!d.workers)
		return 1;
	d.ev_hup = evsignal_new(d.base, SIGHUP, signal_cb, &d);
	d.ev_term = evsignal_new(d.base, SIGTERM, signal_cb, &d);
	d.ev_int = evsignal_new(d.base, SIGINT, signal_cb, &d);
	d.ev_done = event_new(d.base, d.done_rd, EV_READ | EV_PERSIST,
			      worker_done_cb, &d);
	event_add(d.ev_hup, NULL);
	event_add(d.ev_term, NULL);
	event_add(d.ev_int, NULL);
	event_add(d.ev_done, NULL);
	d.ev_rotate = evtimer_new(d.base, rotate_cb, &d);
	schedule_rotation(&d, cfg->attestation.rotate_ms);
	d.ev_trim = event_new(d.base, -1, EV_PERSIST, trim_cb, &d);
	event_add(d.ev_trim, &(struct timeval){ TRIM_INTERVAL_S, 0 });
	log_info("nacred %s started: %u workers, key %s, %s", NACRE_VERSION,
		 d.nworkers, cfg->tls.key == NACRE_KEY_EC_P384 ? "ec-p384" : "ec-p256",
		 OpenSSL_version(OPENSSL_VERSION));
	log_listening(cfg);
	if (acme_begin(&d, cfg) < 0)
		return 1;
	d.view.acme = d.acme;
	d.view.started_at = (int64_t)time(NULL);
	if (cfg->has_admin) {
		if (!(d.admin = nacre_admin_start(d.base, cfg, &d.view, err,
						  sizeof(err)))) {
			log_err("%s", err);
			return 1;
		}
		snprintf(d.admin_text, sizeof(d.admin_text), "%s",
			 cfg->admin_listen.text);
	}
	nacre_process_fd_budget(&proc);
	nacre_process_log(&proc, cfg->limits.max_connections);
	nacre_sd_notify("READY=1");

	event_base_dispatch(d.base);

	nacre_admin_stop(d.admin);
	acme_end(&d);
	workers_free(&d);
	nacre_fresh_stop(); /* after the workers: no handshake waits now */
	for (size_t i = 0; i < d.nlisteners; i++)
		nacre_listener_unref(d.listeners[i]);
	free(d.listeners);
	nacre_gen_unref(d.gen);
	event_free(d.ev_hup);
	event_free(d.ev_term);
	event_free(d.ev_int);
	event_free(d.ev_done);
	if (d.ev_deadline)
		event_free(d.ev_deadline);
	event_free(d.ev_rotate);
	event_free(d.ev_trim);
	nacre_attest_free(d.attest);
	event_base_free(d.base);
	close(d.done_rd);
	close(d.done_wr);
	log_info("stopped");
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	bool check = false, debug = false;
	int ch;

	/* first, before OpenSSL allocates: idle connections' memory (pool.c);
	 * on failure plain malloc serves, with more memory per connection */
	(void)nacre_pool_init();
	/* the long forms people type first */
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("nacred %s\n", NACRE_VERSION);
		return 0;
	}
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strncmp(argv[i], "--", 2) == 0) {
			fprintf(stderr, "nacred: unknown option %.64s (nacred "
				"--help lists them)\n", argv[i]);
			return 64;
		}
	while ((ch = getopt(argc, argv, "c:tdVh")) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 't': check = true; break;
		case 'd': debug = true; break;
		case 'V': printf("nacred %s\n", NACRE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 64;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 64;
	}
	if (check)
		return check_only(path);
	return run(path, debug);
}
