/*
 * cmd_caa.c: nacre caa: the CAA check nacred makes before ordering a
 * certificate, from a shell: the relevant record set of a name, whether it
 * pins issuance to our CA, account and tls-alpn-01, and the records that
 * would make it so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme.h"
#include "cli.h"
#include "nacred.h"

#define DEFAULT_CA "letsencrypt.org"
#define NO_ACCOUNT "<account-url>"   /* placeholder in the records shown */

static const char help[] =
	"usage: nacre caa DOMAIN [--account URL] [--peer-account URL]...\n"
	"                 [--ca IDENTITY]\n"
	"                 [--resolver ADDR] [--timeout DUR] [--json]\n"
	"\n"
	"Find the CAA record set that applies to DOMAIN (RFC 8659; DOMAIN may\n"
	"be *.NAME) and say whether it lets the CA issue only to this ACME\n"
	"account and only by tls-alpn-01 (RFC 8657), then print the records\n"
	"that would pin it. Exit 0 pinned, 1 not pinned, 2 usage or DNS error\n"
	"(a DNS failure never counts as a verdict).\n"
	"\n"
	"  --account URL        our ACME account URL (nacred logs it)\n"
	"  --peer-account URL   another replica's account (acme.caa_peer_\n"
	"                       accounts): its records do not open the name;\n"
	"                       repeatable, up to 15\n"
	"  --ca IDENTITY        the CA's CAA identity (default letsencrypt.org)\n"
	"  --resolver ADDR      tcp:HOST:PORT, vsock:CID:PORT or udp:HOST:PORT\n"
	"                       (default: first nameserver of /etc/resolv.conf,\n"
	"                       over TCP port 53)\n"
	"  --timeout DUR        limit on each DNS query (default 5s)\n"
	"  --json               one JSON object on stdout\n";

#define PEERS_MAX 15

struct opts {
	const char *name;
	const char *account;
	const char *peers[PEERS_MAX];
	size_t npeers;
	const char *ca;
	const char *resolver;
	uint64_t timeout_ms;
	bool json;
	char resolver_buf[160];
};

static int
option(struct cli_args *a, struct opts *o)
{
	const char *v = NULL;
	int m;

	if ((m = cli_match(a, "json", false, &v)) > 0)
		o->json = true;
	else if (m == 0 && (m = cli_match(a, "account", true, &v)) > 0)
		o->account = v;
	else if (m == 0 && (m = cli_match(a, "peer-account", true, &v)) > 0) {
		if (o->npeers == PEERS_MAX) {
			fprintf(stderr, "nacre caa: at most %d --peer-account\n",
				PEERS_MAX);
			return -1;
		}
		o->peers[o->npeers++] = v;
	}
	else if (m == 0 && (m = cli_match(a, "ca", true, &v)) > 0)
		o->ca = v;
	else if (m == 0 && (m = cli_match(a, "resolver", true, &v)) > 0)
		o->resolver = v;
	else if (m == 0 && (m = cli_match(a, "timeout", true, &v)) > 0 &&
		 (nacre_parse_duration_ms(v, &o->timeout_ms) < 0 ||
		  o->timeout_ms < 100 || o->timeout_ms > 60000)) {
		fprintf(stderr, "nacre caa: --timeout %s: expected a duration "
			"from 100ms to 60s (e.g. 2s)\n", v);
		return -1;
	}
	return m;
}

static int
parse(int argc, char **argv, struct opts *o)
{
	struct cli_args a = { argc, argv, 1, "caa" };
	const char *v;
	int m;

	for (; a.i < argc; a.i++) {
		if (cli_match(&a, "help", false, &v) > 0) {
			fputs(help, stdout);
			return 1;
		}
		if ((m = option(&a, o)) < 0)
			return -1;
		if (m > 0)
			continue;
		if (argv[a.i][0] == '-' && argv[a.i][1] != '\0') {
			fprintf(stderr, "nacre caa: unknown option %s (nacre "
				"caa --help)\n", argv[a.i]);
			return -1;
		}
		if (o->name) {
			fprintf(stderr, "nacre caa: one domain only (got %s "
				"and %s)\n", o->name, argv[a.i]);
			return -1;
		}
		o->name = argv[a.i];
	}
	if (!o->name) {
		fprintf(stderr, "nacre caa: no domain; give one, e.g. nacre "
			"caa app.example.com (nacre caa --help)\n");
		return -1;
	}
	return 0;
}

static const char *
verdict_words(enum nacre_caa_verdict v)
{
	switch (v) {
	case NACRE_CAA_PINNED: return "pinned to this account and method";
	case NACRE_CAA_OPEN_ANY_ACCOUNT: return "open to any account or method";
	case NACRE_CAA_OPEN_ANY_CA: return "open to any CA";
	case NACRE_CAA_BLOCKED: return "blocked";
	case NACRE_CAA_ERROR: break;
	}
	return "error";
}

/* the next line of the fixing records (cut at '\n'), or NULL */
static const char *
next_line(const char *p, char *line, size_t cap)
{
	const char *nl = p ? strchr(p, '\n') : NULL;

	if (!nl)
		return NULL;
	snprintf(line, cap, "%.*s", (int)(nl - p), p);
	return nl + 1;
}

static void
print_text(const struct opts *o, const struct nacre_caa_result *r,
	   const char *fix)
{
	char line[1024];

	printf("name:     %s\nCA:       %s\naccount:  %s\nmethod:   %s\n"
	       "resolver: %s\n", o->name, o->ca,
	       o->account ? o->account : "(none given)", NACRE_CAA_METHOD,
	       o->resolver);
	if (r->verdict == NACRE_CAA_ERROR)
		printf("record set: unknown (no usable DNS answer)\n");
	else if (!r->found_at[0])
		printf("record set: none at %s or any parent\n", r->publish_at);
	else
		printf("record set: at %s%s%s (%zu records)\n", r->found_at,
		       r->alias[0] ? ", through CNAME to " : "", r->alias,
		       r->nrecords);
	for (size_t i = 0; i < r->nrecords; i++)
		printf("  %s\n", r->records[i]);
	printf("verdict:  %s\n  %s\n", verdict_words(r->verdict), r->reason);
	if (r->verdict == NACRE_CAA_PINNED || !fix)
		return;
	printf("records that pin %s to this account and method, at %s:\n",
	       o->name, r->publish_at);
	for (const char *p = fix; (p = next_line(p, line, sizeof(line)));)
		printf("  %s\n", line);
	if (!o->account)
		printf("  (replace %s with nacred's ACME account URL)\n",
		       NO_ACCOUNT);
}

static void
json_opt(const char *s)
{
	if (s && *s)
		cli_json_str(stdout, s);
	else
		fputs("null", stdout);
}

static void
print_json(const struct opts *o, const struct nacre_caa_result *r,
	   const char *fix)
{
	char line[1024];
	bool first = true;

	printf("{\"name\": ");
	cli_json_str(stdout, o->name);
	printf(", \"ca\": ");
	cli_json_str(stdout, o->ca);
	printf(", \"account\": ");
	json_opt(o->account);
	printf(", \"method\": \"%s\", \"resolver\": ", NACRE_CAA_METHOD);
	cli_json_str(stdout, o->resolver);
	printf(", \"verdict\": \"%s\", \"pinned\": %s, \"reason\": ",
	       nacre_caa_verdict_name(r->verdict),
	       r->verdict == NACRE_CAA_PINNED ? "true" : "false");
	cli_json_str(stdout, r->reason);
	printf(", \"found_at\": ");
	json_opt(r->found_at);
	printf(", \"alias\": ");
	json_opt(r->alias);
	printf(", \"records\": [");
	for (size_t i = 0; i < r->nrecords; i++) {
		printf("%s", i ? ", " : "");
		cli_json_str(stdout, r->records[i]);
	}
	printf("], \"publish_at\": ");
	json_opt(r->publish_at);
	printf(", \"fix\": [");
	for (const char *p = fix; (p = next_line(p, line, sizeof(line)));) {
		printf("%s", first ? "" : ", ");
		cli_json_str(stdout, line);
		first = false;
	}
	printf("], \"queries\": %u}\n", r->queries);
}

static int
run(struct opts *o)
{
	struct nacre_caa_query q = { 0 };
	struct nacre_caa_result *r = calloc(1, sizeof(*r));
	char err[NACRE_ERRLEN], ferr[NACRE_ERRLEN], fix[2048];
	const char *at;
	int rc;

	if (!r) {
		fprintf(stderr, "nacre caa: out of memory\n");
		return CLI_USAGE;
	}
	q.name = o->name;
	q.ca = o->ca;
	q.account_uri = o->account;
	q.peer_accounts = o->peers;
	q.npeer_accounts = o->npeers;
	q.resolver = o->resolver;
	q.timeout_ms = o->timeout_ms;
	q.total_ms = o->timeout_ms * 4;
	rc = nacre_caa_check(&q, r, err, sizeof(err));
	at = r->publish_at[0] ? r->publish_at : NULL;
	if (nacre_caa_fix_records(o->name, at, o->ca, o->account ? o->account
				  : NO_ACCOUNT, fix, sizeof(fix), ferr,
				  sizeof(ferr)) < 0 && rc == 0) {
		fprintf(stderr, "nacre caa: %s\n", ferr);
		free(r);
		return CLI_USAGE;
	}
	if (o->json)
		print_json(o, r, rc < 0 ? NULL : fix);
	else
		print_text(o, r, rc < 0 ? NULL : fix);
	if (rc < 0)
		fprintf(stderr, "nacre caa: no verdict, failing closed: %s\n",
			err);
	rc = rc < 0 ? CLI_USAGE : r->verdict == NACRE_CAA_PINNED ? CLI_OK
								 : CLI_FAIL;
	free(r);
	return rc;
}

int
cli_caa(int argc, char **argv)
{
	struct opts o = { .ca = DEFAULT_CA, .timeout_ms = 5000 };
	char err[NACRE_ERRLEN];
	int rc = parse(argc, argv, &o);

	if (rc != 0)
		return rc > 0 ? CLI_OK : CLI_USAGE;
	if (!o.resolver) {
		if (nacre_caa_default_resolver(o.resolver_buf,
					       sizeof(o.resolver_buf), err,
					       sizeof(err)) < 0) {
			fprintf(stderr, "nacre caa: %s (--resolver)\n", err);
			return CLI_USAGE;
		}
		o.resolver = o.resolver_buf;
	}
	return run(&o);
}
