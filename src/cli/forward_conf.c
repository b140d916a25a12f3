/*
 * forward_conf.c: nacre forward's rules and limits, from flags or from a
 * libconfig file read like nacred.conf (nacre_libconfig_read: the same
 * syntax, the same traps closed). Strict: an unknown key is named with
 * the keys that are known, and every error is "FILE:LINE: what is wrong;
 * what to write instead".
 */
#include <arpa/inet.h>
#include <libconfig.h>
#include <linux/vm_sockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"

#define MAX_FILE (256 * 1024)

static const char *const outcome_names[FWD_OUTCOME_COUNT] = {
	"ok", "connect_failed", "timeout", "reset", "refused", "drain",
	"internal",
};

const char *
nacre_fwd_outcome_name(enum fwd_outcome o)
{
	return o < FWD_OUTCOME_COUNT ? outcome_names[o] : "internal";
}

void
nacre_fwd_config_defaults(struct fwd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_connections = FWD_DEFAULT_MAX_CONNECTIONS;
	c->buffer = FWD_DEFAULT_BUFFER;
	c->connect_timeout_ms = FWD_DEFAULT_CONNECT_TIMEOUT_MS;
	c->idle_timeout_ms = FWD_DEFAULT_IDLE_TIMEOUT_MS;
	c->drain_timeout_ms = FWD_DEFAULT_DRAIN_TIMEOUT_MS;
	c->log_level = NACRE_LOG_INFO;
}

/* "tcp:NAME:PORT" with NAME a DNS name (not an IP literal): 1 and the
 * parts set; 0 when it is anything else (nacre_addr_parse judges it) */
static int
tcp_by_name(const char *t, char *host, size_t hostlen, uint16_t *port)
{
	const char *rest, *colon;
	struct in_addr a4;
	unsigned long p;
	char *end;
	size_t n;

	if (strncmp(t, "tcp:", 4) != 0 || t[4] == '[')
		return 0;
	rest = t + 4;
	if (!(colon = strrchr(rest, ':')) || (n = (size_t)(colon - rest)) == 0 ||
	    n >= hostlen)
		return 0;
	memcpy(host, rest, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, &a4) == 1 || !nacre_hostname_valid(host))
		return 0;
	if (colon[1] < '1' || colon[1] > '9')
		return 0;
	p = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || p == 0 || p > 65535)
		return 0;
	*port = (uint16_t)p;
	return 1;
}

static int
rule_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
rule_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int
nacre_fwd_rule_add(struct fwd_config *c, enum fwd_dir dir, const char *listen,
		   const char *target, bool proxy_protocol, uint32_t from_cid,
		   unsigned line, char *err, size_t errlen)
{
	const char *what = dir == FWD_IN ? "inbound" : "outbound";
	struct fwd_rule *r;
	char aerr[NACRE_ERRLEN];

	if (c->nrules >= FWD_MAX_RULES)
		return rule_err(err, errlen, "too many rules (at most %d)",
				FWD_MAX_RULES);
	r = &c->rules[c->nrules];
	memset(r, 0, sizeof(*r));
	r->dir = dir;
	r->line = line;
	r->from_cid = from_cid;
	r->proxy_protocol = dir == FWD_IN && proxy_protocol;
	if (nacre_addr_parse(listen, true, &r->listen, aerr, sizeof(aerr)) < 0)
		return rule_err(err, errlen, "%s listen %s", what, aerr);
	if (r->listen.kind == NACRE_ADDR_UNIX)
		return rule_err(err, errlen, "%s listen \"%s\": listen on "
				"tcp:HOST:PORT or vsock:any:PORT", what, listen);
	if (strlen(target) >= sizeof(r->target_text))
		return rule_err(err, errlen, "%s target \"%.40s...\" is too "
				"long", what, target);
	snprintf(r->target_text, sizeof(r->target_text), "%s", target);
	if (tcp_by_name(target, r->host, sizeof(r->host), &r->port)) {
		r->by_name = true;
	} else if (nacre_addr_parse(target, false, &r->target, aerr,
				    sizeof(aerr)) < 0) {
		return rule_err(err, errlen, "%s target %s", what, aerr);
	} else if (r->target.kind == NACRE_ADDR_UNIX) {
		return rule_err(err, errlen, "%s target \"%s\": use %s",
				what, target, dir == FWD_IN ?
				"vsock:CID:PORT (the enclave)" :
				"tcp:HOST:PORT (an allowed destination)");
	}
	/* outbound reaches the network: tcp only. inbound is meant for the
	 * enclave's vsock port; tcp is accepted (tests, a host without
	 * enclaves) */
	if (dir == FWD_OUT && !r->by_name && r->target.kind != NACRE_ADDR_TCP)
		return rule_err(err, errlen, "outbound target \"%s\": use "
				"tcp:HOST:PORT (an allowed destination)",
				target);
	if (from_cid != FWD_ANY_CID &&
	    (dir != FWD_OUT || r->listen.kind != NACRE_ADDR_VSOCK))
		return rule_err(err, errlen, "from_cid applies to outbound "
				"rules listening on vsock:any:PORT only");
	c->nrules++;
	return 0;
}

int
nacre_fwd_config_check(const struct fwd_config *c, char *err, size_t errlen)
{
	if (c->nrules == 0)
		return rule_err(err, errlen, "no rule: give --in LISTEN=TARGET "
				"or --out LISTEN=TARGET, or a --config file "
				"with inbound / outbound rules");
	for (size_t i = 0; i < c->nrules; i++)
		for (size_t j = 0; j < i; j++)
			if (c->rules[i].listen.sslen == c->rules[j].listen.sslen &&
			    memcmp(&c->rules[i].listen.ss, &c->rules[j].listen.ss,
				   c->rules[i].listen.sslen) == 0)
				return rule_err(err, errlen, "%s is the listen "
						"address of two rules; give "
						"each rule its own port",
						c->rules[i].listen.text);
	if (c->has_admin)
		for (size_t i = 0; i < c->nrules; i++)
			if (c->admin.sslen == c->rules[i].listen.sslen &&
			    memcmp(&c->admin.ss, &c->rules[i].listen.ss,
				   c->admin.sslen) == 0)
				return rule_err(err, errlen, "admin %s is also "
						"a rule's listen address",
						c->admin.text);
	return 0;
}

/* ---- the file ---- */

struct pctx {
	const char *name;
	char *err;
	size_t errlen;
};

static int fail(struct pctx *p, const config_setting_t *s, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));

static int
fail(struct pctx *p, const config_setting_t *s, const char *fmt, ...)
{
	unsigned line = s ? config_setting_source_line(s) : 0;
	va_list ap;
	int n;

	if (line)
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* every key of GROUP is in KNOWN (NULL-terminated) */
static int
check_keys(struct pctx *p, const config_setting_t *group, const char *where,
	   const char *const *known)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, i);
		const char *name = config_setting_name(s);
		const char *const *k;
		char list[256] = "";

		for (k = known; *k && strcmp(name, *k) != 0; k++)
			;
		if (*k)
			continue;
		for (k = known; *k; k++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
				 "%s%s", *k, k[1] ? ", " : "");
		return fail(p, s, "unknown key \"%s\" in %s; known keys are: %s",
			    name, where, list);
	}
	return 0;
}

static int
get_str(struct pctx *p, const config_setting_t *g, const char *key,
	const char *example, const char **out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(p, s, "%s must be a string like %s", key, example);
	*out = config_setting_get_string(s);
	return 1;
}

static int
get_duration(struct pctx *p, const config_setting_t *g, const char *key,
	     uint64_t *ms)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	const char *v;

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    !(v = config_setting_get_string(s)) ||
	    nacre_parse_duration_ms(v, ms) < 0 || *ms == 0 ||
	    *ms > 7 * 24 * 3600 * 1000ULL)
		return fail(p, s, "limits.%s must be a duration from 1ms to 7d "
			    "like \"5s\", \"10m\"", key);
	return 0;
}

static const char *const rule_keys[] = { "listen", "target", "proxy_protocol",
					 "from_cid", NULL };

static int
parse_rules(struct pctx *p, struct fwd_config *c, const config_setting_t *list,
	    enum fwd_dir dir)
{
	const char *what = dir == FWD_IN ? "inbound" : "outbound";
	char rerr[NACRE_ERRLEN];

	if (!config_setting_is_list(list) && !config_setting_is_array(list))
		return fail(p, list, "%s must be a list of rules: %s = ( { "
			    "listen = \"...\"; target = \"...\"; } );", what,
			    what);
	for (int i = 0; i < config_setting_length(list); i++) {
		const config_setting_t *g = config_setting_get_elem(list, i);
		const config_setting_t *s;
		const char *listen = NULL, *target = NULL;
		uint32_t cid = FWD_ANY_CID;
		bool pp = true;
		char where[32];

		snprintf(where, sizeof(where), "an %s rule", what);
		if (!config_setting_is_group(g))
			return fail(p, g, "each %s rule is a group { listen = "
				    "\"...\"; target = \"...\"; }", what);
		if (check_keys(p, g, where, rule_keys) < 0 ||
		    get_str(p, g, "listen", dir == FWD_IN ? "\"tcp:0.0.0.0:443\""
			    : "\"vsock:any:8001\"", &listen) < 0 ||
		    get_str(p, g, "target", dir == FWD_IN ? "\"vsock:16:8443\""
			    : "\"tcp:acme-v02.api.letsencrypt.org:443\"",
			    &target) < 0)
			return -1;
		if (!listen || !target)
			return fail(p, g, "an %s rule needs listen and target",
				    what);
		if ((s = config_setting_get_member(g, "proxy_protocol"))) {
			if (dir != FWD_IN ||
			    config_setting_type(s) != CONFIG_TYPE_BOOL)
				return fail(p, s, "proxy_protocol is true or "
					    "false, in inbound rules only");
			pp = config_setting_get_bool(s);
		}
		if ((s = config_setting_get_member(g, "from_cid"))) {
			long long v = config_setting_get_int64(s);
			int t = config_setting_type(s);

			if ((t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) ||
			    v < 3 || v >= (long long)VMADDR_CID_ANY)
				return fail(p, s, "from_cid must be an enclave's "
					    "CID (an integer from 3 to %u)",
					    VMADDR_CID_ANY - 1);
			cid = (uint32_t)v;
		}
		if (nacre_fwd_rule_add(c, dir, listen, target, pp, cid,
				       config_setting_source_line(g), rerr,
				       sizeof(rerr)) < 0)
			return fail(p, g, "%s", rerr);
	}
	return 0;
}

static int
parse_root(struct pctx *p, struct fwd_config *c, const config_setting_t *root)
{
	static const char *const top[] = { "inbound", "outbound", "limits",
					   "admin", "log", NULL };
	static const char *const lim[] = { "max_connections", "buffer",
					   "connect_timeout", "idle_timeout",
					   "drain_timeout", NULL };
	const config_setting_t *s, *g;
	const char *v = NULL;
	char aerr[NACRE_ERRLEN];

	if (check_keys(p, root, "the file", top) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "inbound")) &&
	    parse_rules(p, c, s, FWD_IN) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "outbound")) &&
	    parse_rules(p, c, s, FWD_OUT) < 0)
		return -1;
	if ((g = config_setting_get_member(root, "limits"))) {
		if (!config_setting_is_group(g))
			return fail(p, g, "limits is a group { ... }");
		if (check_keys(p, g, "limits", lim) < 0 ||
		    get_duration(p, g, "connect_timeout",
				 &c->connect_timeout_ms) < 0 ||
		    get_duration(p, g, "idle_timeout", &c->idle_timeout_ms) < 0 ||
		    get_duration(p, g, "drain_timeout", &c->drain_timeout_ms) < 0)
			return -1;
		if ((s = config_setting_get_member(g, "max_connections"))) {
			long long n = config_setting_get_int64(s);

			if ((config_setting_type(s) != CONFIG_TYPE_INT &&
			     config_setting_type(s) != CONFIG_TYPE_INT64) ||
			    n < 1 || n > 1000000)
				return fail(p, s, "limits.max_connections must "
					    "be an integer from 1 to 1000000");
			c->max_connections = (uint64_t)n;
		}
		if ((s = config_setting_get_member(g, "buffer")) &&
		    (config_setting_type(s) != CONFIG_TYPE_STRING ||
		     nacre_parse_size(config_setting_get_string(s),
				      &c->buffer) < 0 ||
		     c->buffer < 4096 || c->buffer > 64 * 1024 * 1024))
			return fail(p, s, "limits.buffer must be a size from "
				    "\"4k\" to \"64m\" like \"64k\"");
	}
	if ((g = config_setting_get_member(root, "admin"))) {
		static const char *const adm[] = { "listen", NULL };

		if (!config_setting_is_group(g) ||
		    check_keys(p, g, "admin", adm) < 0)
			return config_setting_is_group(g) ? -1 :
			       fail(p, g, "admin is a group { listen = "
				    "\"tcp:127.0.0.1:9101\"; }");
		if (get_str(p, g, "listen", "\"tcp:127.0.0.1:9101\"", &v) < 0)
			return -1;
		if (v && nacre_addr_parse(v, true, &c->admin, aerr,
					  sizeof(aerr)) < 0)
			return fail(p, config_setting_get_member(g, "listen"),
				    "admin.listen %s", aerr);
		c->has_admin = v != NULL;
	}
	if ((g = config_setting_get_member(root, "log"))) {
		static const char *const lg[] = { "level", NULL };

		if (!config_setting_is_group(g) ||
		    check_keys(p, g, "log", lg) < 0)
			return config_setting_is_group(g) ? -1 :
			       fail(p, g, "log is a group { level = \"info\"; }");
		v = NULL;
		if (get_str(p, g, "level", "\"info\"", &v) < 0)
			return -1;
		if (v && (c->log_level = nacre_log_level_from_str(v)) < 0)
			return fail(p, config_setting_get_member(g, "level"),
				    "log.level \"%s\" is unknown; use \"error\", "
				    "\"warn\", \"info\" or \"debug\"", v);
	}
	return 0;
}

int
nacre_fwd_config_load(struct fwd_config *c, const char *path, char *err,
		      size_t errlen)
{
	struct pctx p = { path, err, errlen };
	char msg[NACRE_ERRLEN];
	unsigned line = 0;
	config_t cfg;
	char *text;
	int rc;

	if (!(text = nacre_read_text_file(path, MAX_FILE, "configuration", err,
					  errlen)))
		return -1;
	config_init(&cfg);
	if (nacre_libconfig_read(&cfg, text, msg, sizeof(msg), &line) < 0) {
		rc = line ? snprintf(err, errlen, "%s:%u: %s", path, line, msg) :
			    snprintf(err, errlen, "%s: %s", path, msg);
		rc = -1;
	} else {
		rc = parse_root(&p, c, config_root_setting(&cfg));
	}
	config_destroy(&cfg);
	free(text);
	return rc;
}
