/*
 * cmd_forward.c: nacre forward, run on the parent instance of a Nitro
 * enclave. Inbound rules take TCP clients to the enclave's vsock port
 * with a PROXY v2 header naming the client (nacred's listener then has
 * proxy_protocol = true); outbound rules take the enclave's connections
 * on one vsock port to one allow-listed TCP destination (acme.via,
 * acme.resolver). One thread, one libevent loop; the connections are
 * forward_pump.c's, the rules forward_conf.c's, /metrics forward_admin.c's.
 * SIGTERM / SIGINT: the listeners close, live connections get
 * limits.drain_timeout to end, then exit 0.
 */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "cli.h"
#include "forward.h"
#include "runtime.h"

static const char help[] =
	"usage: nacre forward [--config FILE] [--in LISTEN=TARGET]... "
	"[--out LISTEN=TARGET]...\n"
	"                     [options]\n"
	"\n"
	"The parent instance's side of an enclave: a byte pump, event-driven,\n"
	"with bounded buffers, half-close and timeouts. Prints \"ready\" when\n"
	"listening; SIGTERM / SIGINT drain and end it (exit 0).\n"
	"\n"
	"  --in LISTEN=TARGET   inbound: TCP clients on LISTEN (tcp:HOST:PORT)\n"
	"                       to the enclave at TARGET (vsock:CID:PORT), with\n"
	"                       a PROXY v2 header naming the client; repeatable\n"
	"  --out LISTEN=TARGET  outbound: the enclave's connections on LISTEN\n"
	"                       (vsock:any:PORT) to TARGET (tcp:HOST:PORT, a\n"
	"                       name resolved at each connect); repeatable.\n"
	"                       The rules are the allow list: the enclave\n"
	"                       cannot name another destination\n"
	"  --from-cid CID       outbound rules from flags accept this enclave\n"
	"                       CID only; others are refused and logged\n"
	"  --config FILE        rules and limits from a file (nacre(1), FORWARD)\n"
	"  --max-connections N  live connections at most (default 4096); at\n"
	"                       the bound, accepting pauses\n"
	"  --buffer SIZE        bytes queued per direction before the sending\n"
	"                       side is paused (default 64k)\n"
	"  --connect-timeout DUR  target connect and name lookup (default 5s)\n"
	"  --idle-timeout DUR   no byte either way for this long: both sides\n"
	"                       reset (default 5m)\n"
	"  --drain-timeout DUR  at SIGTERM, live connections get this long\n"
	"                       (default 30s)\n"
	"  --admin ADDR         /metrics and /healthz on tcp:127.0.0.1:PORT or\n"
	"                       unix:/path (local only)\n"
	"  --log-level LEVEL    error, warn, info (default) or debug\n"
	"  -t, --check          check the rules and exit (0, or 78 with the\n"
	"                       reason)\n";

static struct fwd fw;
static struct event *drain_ev;

/* Outbound connections (the enclave's, to the CA, DNS, logs) keep this
 * many places beyond max_connections: internet clients filling the bound
 * pause the inbound listeners only, never the enclave's way out. */
#define OUT_RESERVE 256

static bool
over_bound(enum fwd_dir dir)
{
	return fw.nconns >= fw.cfg->max_connections +
			    (dir == FWD_OUT ? OUT_RESERVE : 0);
}

/* each listener on or off: ON, and not over its direction's bound */
static void
listeners_enable(bool on)
{
	for (size_t i = 0; i < fw.cfg->nrules; i++) {
		struct fwd_rule *r = &fw.cfg->rules[i];

		if (!r->lev)
			continue;
		if (on && !over_bound(r->dir))
			evconnlistener_enable(r->lev);
		else
			evconnlistener_disable(r->lev);
	}
}

static void
listeners_close(void)
{
	for (size_t i = 0; i < fw.cfg->nrules; i++) {
		struct fwd_rule *r = &fw.cfg->rules[i];

		if (r->lev)
			evconnlistener_free(r->lev);
		nacre_listener_unref(r->sock);
		r->lev = NULL;
		r->sock = NULL;
	}
}

void
nacre_fwd_conn_closed(struct fwd *f)
{
	if (f->draining && f->nconns == 0) {
		event_base_loopbreak(f->base);
	} else if (f->paused && !f->draining &&
		   f->nconns < f->cfg->max_connections) {
		f->paused = false;
		listeners_enable(true);
	} else if (f->paused && !f->draining) {
		listeners_enable(true); /* outbound may have room again */
	}
}

static void
refuse(struct fwd_rule *r, int fd, const struct sockaddr *sa, int salen)
{
	struct linger l = { 1, 0 };
	char who[128];

	nacre_sockaddr_str(sa, (socklen_t)salen, who, sizeof(who));
	nacre_log(NACRE_LOG_WARN, 0, "%s -> %s: refused %s: only CID %u may "
		  "use this rule (from_cid)", r->listen.text, r->target_text,
		  who, r->from_cid);
	r->st.conns[FWD_REFUSED]++;
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
	  int salen, void *arg)
{
	struct fwd_rule *r = arg;

	if (r->from_cid != FWD_ANY_CID &&
	    (sa->sa_family != AF_VSOCK ||
	     ((struct sockaddr_vm *)(void *)sa)->svm_cid != r->from_cid)) {
		refuse(r, fd, sa, salen);
		return;
	}
	nacre_fwd_conn_start(&fw, r, fd, sa, salen);
	if (fw.nconns >= fw.cfg->max_connections) {
		if (!fw.paused) {
			fw.accept_pauses++;
			log_warn("max_connections (%llu) reached: inbound "
				 "accepting pauses until a connection ends "
				 "(outbound keeps %d places)",
				 (unsigned long long)fw.cfg->max_connections,
				 OUT_RESERVE);
		}
		fw.paused = true;
		listeners_enable(true); /* each as its bound says */
	}
}

static struct event *resume_ev;

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	if (!fw.draining)
		listeners_enable(true); /* each as its bound says */
}

/* accept() failed (EMFILE, ENOBUFS): pause a second instead of spinning */
static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	struct fwd_rule *r = arg;
	struct timeval tv = { 1, 0 };
	int err = EVUTIL_SOCKET_ERROR();

	fw.accept_errors++;
	log_warn("%s: accept failed: %s; pausing 1 s", r->listen.text,
		 strerror(err));
	for (size_t i = 0; i < fw.cfg->nrules; i++)
		if (fw.cfg->rules[i].lev)
			evconnlistener_disable(fw.cfg->rules[i].lev);
	evtimer_add(resume_ev, &tv);
}

static void
on_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
	log_warn("drain: %llu connections still open after %llu ms; cutting "
		 "them", (unsigned long long)fw.nconns,
		 (unsigned long long)fw.cfg->drain_timeout_ms);
	nacre_fwd_conn_cut_all(&fw);
	event_base_loopbreak(fw.base);
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tv = { (time_t)(fw.cfg->drain_timeout_ms / 1000),
			      (suseconds_t)(fw.cfg->drain_timeout_ms % 1000) *
			      1000 };

	if (fw.draining) {   /* a second signal: no more waiting */
		on_drain_deadline(-1, 0, NULL);
		return;
	}
	fw.draining = true;
	listeners_close();
	log_info("stopping: listeners closed, %llu connections to drain",
		 (unsigned long long)fw.nconns);
	nacre_sd_notify("STOPPING=1");
	if (fw.nconns == 0)
		event_base_loopbreak(fw.base);
	else
		evtimer_add(drain_ev, &tv);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	log_info("SIGHUP: nacre forward does not reload; restart it to "
		 "change rules (names in targets are resolved at each connect)");
}

static int
open_listeners(void)
{
	char err[NACRE_ERRLEN];

	for (size_t i = 0; i < fw.cfg->nrules; i++) {
		struct fwd_rule *r = &fw.cfg->rules[i];

		if (!(r->sock = nacre_listener_open(&r->listen, 1, false, err,
						    sizeof(err)))) {
			log_err("cannot listen: %s", err);
			return -1;
		}
		r->lev = evconnlistener_new(fw.base, on_accept, r,
					    LEV_OPT_REUSEABLE |
					    LEV_OPT_CLOSE_ON_EXEC, 0,
					    nacre_listener_fd(r->sock, 0));
		if (!r->lev) {
			log_err("%s: cannot set up the listener",
				r->listen.text);
			return -1;
		}
		evconnlistener_set_error_cb(r->lev, on_accept_error);
		log_info("%s: %s -> %s%s", r->dir == FWD_IN ? "inbound" :
			 "outbound", r->listen.text, r->target_text,
			 r->proxy_protocol ? " (PROXY v2 header first)" :
			 r->from_cid != FWD_ANY_CID ? " (from one CID only)" :
			 "");
	}
	return 0;
}

static bool
any_by_name(const struct fwd_config *c)
{
	for (size_t i = 0; i < c->nrules; i++)
		if (c->rules[i].by_name)
			return true;
	return false;
}

static int
serve(struct fwd_config *c)
{
	struct event *sterm = NULL, *sint = NULL, *shup = NULL;
	struct fwd_admin *admin = NULL;
	char err[NACRE_ERRLEN];
	int rc = CLI_FAIL;

	fw.cfg = c;
	fw.started_at = (int64_t)time(NULL);
	if (!(fw.base = event_base_new()))
		return CLI_FAIL;
	if (any_by_name(c) &&
	    !(fw.dns = evdns_base_new(fw.base,
				      EVDNS_BASE_INITIALIZE_NAMESERVERS)) &&
	    !(fw.dns = evdns_base_new(fw.base, 0))) {
		log_err("cannot set up the DNS resolver");
		goto out;
	}
	drain_ev = evtimer_new(fw.base, on_drain_deadline, NULL);
	resume_ev = evtimer_new(fw.base, on_resume, NULL);
	sterm = evsignal_new(fw.base, SIGTERM, on_stop, NULL);
	sint = evsignal_new(fw.base, SIGINT, on_stop, NULL);
	shup = evsignal_new(fw.base, SIGHUP, on_hup, NULL);
	if (!drain_ev || !resume_ev || !sterm || !sint || !shup ||
	    evsignal_add(sterm, NULL) || evsignal_add(sint, NULL) ||
	    evsignal_add(shup, NULL) || open_listeners() < 0)
		goto out;
	if (c->has_admin && !(admin = nacre_fwd_admin_start(&fw, err,
							    sizeof(err)))) {
		log_err("%s", err);
		goto out;
	}
	printf("ready\n");
	fflush(stdout);
	nacre_sd_notify("READY=1");
	event_base_dispatch(fw.base);
	nacre_fwd_conn_cut_all(&fw);  /* none left unless the loop failed */
	log_info("stopped");
	rc = CLI_OK;
out:
	listeners_close();
	nacre_fwd_admin_stop(admin);
	if (fw.dns)
		evdns_base_free(fw.dns, 1);
	if (sterm)
		event_free(sterm);
	if (sint)
		event_free(sint);
	if (shup)
		event_free(shup);
	if (drain_ev)
		event_free(drain_ev);
	if (resume_ev)
		event_free(resume_ev);
	event_base_free(fw.base);
	return rc;
}

/* flags: 1 --help, 0 parsed, -1 usage error (printed), -2 config error */
struct opts {
	const char *config;
	const char *in[FWD_MAX_RULES], *out[FWD_MAX_RULES];
	size_t nin, nout;
	const char *from_cid, *max_conn, *buffer, *connect, *idle, *drain;
	const char *admin, *level;
	bool check;
};

static int
parse(int argc, char **argv, struct opts *o)
{
	struct cli_args a = { argc, argv, 1, "forward" };
	const char *v;
	int m;

	for (; a.i < argc; a.i++) {
		if (cli_match(&a, "help", false, &v) > 0 ||
		    !strcmp(argv[a.i], "-h")) {
			fputs(help, stdout);
			return 1;
		}
		if (!strcmp(argv[a.i], "-t") ||
		    cli_match(&a, "check", false, &v) > 0) {
			o->check = true;
			continue;
		}
		if ((m = cli_match(&a, "in", true, &v)) != 0 ||
		    (m = -2 * (cli_match(&a, "out", true, &v))) != 0) {
			/* m: 1 --in, -2 --out, -1 or 2 a missing value */
			bool in = m == 1;

			if (m == -1 || m == 2)
				return -1;
			if ((in ? o->nin : o->nout) >= FWD_MAX_RULES) {
				fprintf(stderr, "nacre forward: too many rules "
					"(at most %d)\n", FWD_MAX_RULES);
				return -1;
			}
			if (in)
				o->in[o->nin++] = v;
			else
				o->out[o->nout++] = v;
			continue;
		}
		if ((m = cli_match(&a, "config", true, &o->config)) == 0 &&
		    (m = cli_match(&a, "from-cid", true, &o->from_cid)) == 0 &&
		    (m = cli_match(&a, "max-connections", true,
				   &o->max_conn)) == 0 &&
		    (m = cli_match(&a, "buffer", true, &o->buffer)) == 0 &&
		    (m = cli_match(&a, "connect-timeout", true,
				   &o->connect)) == 0 &&
		    (m = cli_match(&a, "idle-timeout", true, &o->idle)) == 0 &&
		    (m = cli_match(&a, "drain-timeout", true, &o->drain)) == 0 &&
		    (m = cli_match(&a, "admin", true, &o->admin)) == 0 &&
		    (m = cli_match(&a, "log-level", true, &o->level)) == 0) {
			fprintf(stderr, "nacre forward: unknown argument %s "
				"(nacre forward --help)\n", argv[a.i]);
			return -1;
		}
		if (m < 0)
			return -1;
	}
	return 0;
}

static int
flag_duration(const char *name, const char *v, uint64_t *ms)
{
	if (!v)
		return 0;
	if (nacre_parse_duration_ms(v, ms) < 0 || *ms == 0) {
		fprintf(stderr, "nacre forward: --%s %s: expected a duration "
			"like 5s, 10m\n", name, v);
		return -1;
	}
	return 0;
}

/* the flags on top of the file (or of the defaults) */
static int
apply_flags(const struct opts *o, struct fwd_config *c)
{
	char err[NACRE_ERRLEN];
	uint32_t cid = FWD_ANY_CID;
	char *end;

	if (o->from_cid) {
		unsigned long v = strtoul(o->from_cid, &end, 10);

		if (*o->from_cid < '0' || *o->from_cid > '9' || *end ||
		    v < 3 || v >= VMADDR_CID_ANY) {
			fprintf(stderr, "nacre forward: --from-cid %s: expected "
				"an enclave's CID (3 or more)\n", o->from_cid);
			return -1;
		}
		cid = (uint32_t)v;
	}
	for (size_t i = 0; i < o->nin + o->nout; i++) {
		bool in = i < o->nin;
		const char *rule = in ? o->in[i] : o->out[i - o->nin];
		const char *eq = strchr(rule, '=');
		char listen[300];

		if (!eq || (size_t)(eq - rule) >= sizeof(listen)) {
			fprintf(stderr, "nacre forward: --%s %s: expected "
				"LISTEN=TARGET, e.g. %s\n", in ? "in" : "out",
				rule, in ? "tcp:0.0.0.0:443=vsock:16:8443" :
				"vsock:any:8001=tcp:acme-v02.api.letsencrypt."
				"org:443");
			return -1;
		}
		memcpy(listen, rule, (size_t)(eq - rule));
		listen[eq - rule] = '\0';
		if (nacre_fwd_rule_add(c, in ? FWD_IN : FWD_OUT, listen, eq + 1,
				       true, in ? FWD_ANY_CID : cid, 0, err,
				       sizeof(err)) < 0) {
			fprintf(stderr, "nacre forward: --%s %s: %s\n",
				in ? "in" : "out", rule, err);
			return -1;
		}
	}
	if (o->max_conn) {
		unsigned long long v = strtoull(o->max_conn, &end, 10);

		if (*o->max_conn < '1' || *o->max_conn > '9' || *end ||
		    v > 1000000) {
			fprintf(stderr, "nacre forward: --max-connections %s: "
				"expected 1 to 1000000\n", o->max_conn);
			return -1;
		}
		c->max_connections = v;
	}
	if (o->buffer && (nacre_parse_size(o->buffer, &c->buffer) < 0 ||
			  c->buffer < 4096 || c->buffer > 64 * 1024 * 1024)) {
		fprintf(stderr, "nacre forward: --buffer %s: expected a size "
			"from 4k to 64m\n", o->buffer);
		return -1;
	}
	if (flag_duration("connect-timeout", o->connect,
			  &c->connect_timeout_ms) < 0 ||
	    flag_duration("idle-timeout", o->idle, &c->idle_timeout_ms) < 0 ||
	    flag_duration("drain-timeout", o->drain, &c->drain_timeout_ms) < 0)
		return -1;
	if (o->admin) {
		if (nacre_addr_parse(o->admin, true, &c->admin, err,
				     sizeof(err)) < 0) {
			fprintf(stderr, "nacre forward: --admin %s\n", err);
			return -1;
		}
		c->has_admin = true;
	}
	if (o->level && (c->log_level = nacre_log_level_from_str(o->level)) < 0) {
		fprintf(stderr, "nacre forward: --log-level %s: use error, "
			"warn, info or debug\n", o->level);
		return -1;
	}
	return 0;
}

int
cli_forward(int argc, char **argv)
{
	static struct fwd_config c;
	struct opts o = { 0 };
	char err[NACRE_ERRLEN];
	int rc;

	if ((rc = parse(argc, argv, &o)) != 0)
		return rc > 0 ? CLI_OK : CLI_USAGE;
	nacre_fwd_config_defaults(&c);
	if (o.config && nacre_fwd_config_load(&c, o.config, err,
					      sizeof(err)) < 0) {
		fprintf(stderr, "nacre forward: %s\n", err);
		return NACRE_EX_CONFIG;
	}
	if (apply_flags(&o, &c) < 0)
		return NACRE_EX_CONFIG;
	if (c.has_admin && !(c.admin.kind == NACRE_ADDR_UNIX ||
			     (c.admin.kind == NACRE_ADDR_TCP &&
			      nacre_addr_is_local(&c.admin)))) {
		fprintf(stderr, "nacre forward: admin %s: the admin endpoint "
			"is local only: tcp:127.0.0.1:PORT, tcp:[::1]:PORT or "
			"unix:/path\n", c.admin.text);
		return NACRE_EX_CONFIG;
	}
	if (nacre_fwd_config_check(&c, err, sizeof(err)) < 0) {
		fprintf(stderr, "nacre forward: %s\n", err);
		return NACRE_EX_CONFIG;
	}
	if (o.check) {
		printf("nacre forward: %zu rules, configuration ok\n", c.nrules);
		return CLI_OK;
	}
	nacre_log_set_level(c.log_level);
	signal(SIGPIPE, SIG_IGN);
	return serve(&c);
}
