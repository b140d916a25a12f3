/*
 * nacre.c: the nacre command-line tool: dispatch to the subcommands
 * (inspect, verify, connect, caa, forward) and the helpers they share (cli.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "nacred.h"

static const char usage[] =
	"usage: nacre COMMAND [OPTIONS]\n"
	"\n"
	"Check TEE attestation evidence (AWS Nitro) of nacred servers.\n"
	"\n"
	"commands:\n"
	"  inspect FILE|-       show (and with policy options verify) a\n"
	"                       certificate or attestation document\n"
	"  verify HOST:PORT     connect with TLS and verify the server's evidence\n"
	"  connect --listen ADDR --to HOST:PORT\n"
	"                       local plaintext forwarder to a verified server\n"
	"  caa DOMAIN           is DOMAIN's CAA pinned to our ACME account and\n"
	"                       tls-alpn-01? and the records that would pin it\n"
	"  forward --in tcp:0.0.0.0:443=vsock:16:8443 [--out ...]\n"
	"                       on the parent instance: TCP clients to the\n"
	"                       enclave (PROXY v2 header), and the enclave to\n"
	"                       allow-listed TCP destinations\n"
	"\n"
	"  nacre COMMAND --help   options of a command\n"
	"  nacre -V               version\n"
	"\n"
	"exit status: 0 verified / ok, 1 verification failed, 2 usage or input "
	"error\n";

const char cli_policy_help[] =
	"policy options (flags add to --policy FILE):\n"
	"  --policy FILE        policy file (libconfig; see nacre(1))\n"
	"  --root-aws           trust the AWS Nitro Enclaves root G1 (default)\n"
	"  --root PEM|sha256:HEX|aws-nitro\n"
	"                       trust this root (replaces the default); repeatable\n"
	"  --pcr N=HEX          PCR N must be HEX (96 hex digits); repeatable\n"
	"  --module-id ID       allow this module id only; repeatable\n"
	"  --max-age DUR        oldest document accepted (default 2h)\n"
	"  --allow-debug        accept debug-mode enclaves (PCR0-2 zero)\n"
	"  --any-code           with no --pcr and no --module-id, accept any\n"
	"                       code in any enclave under the roots (warns on\n"
	"                       every verification); refused otherwise\n"
	"  --at UNIX_TIME       verify as if the clock read this time\n";

int
cli_match(struct cli_args *a, const char *name, bool takes_value,
	  const char **val)
{
	const char *arg = a->argv[a->i];
	size_t n = strlen(name);

	if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, name, n) != 0)
		return 0;
	if (arg[2 + n] == '=' && takes_value) {
		*val = arg + 3 + n;
		return 1;
	}
	if (arg[2 + n] != '\0')
		return 0;
	if (!takes_value)
		return 1;
	if (a->i + 1 >= a->argc) {
		fprintf(stderr, "nacre %s: option --%s needs a value\n",
			a->cmd, name);
		return -1;
	}
	*val = a->argv[++a->i];
	return 1;
}

static int
parse_pcr(struct cli_policy *cp, const char *cmd, const char *v)
{
	char *end;
	unsigned long idx = strtoul(v, &end, 10);

	if (end == v || *end != '=' || idx > 15) {
		fprintf(stderr, "nacre %s: --pcr %s: expected N=HEX with N "
			"from 0 to 15\n", cmd, v);
		return -1;
	}
	if (cp->npcrs >= CLI_MAX_PCRS) {
		fprintf(stderr, "nacre %s: too many --pcr options (at most "
			"%d)\n", cmd, CLI_MAX_PCRS);
		return -1;
	}
	if (nacre_hex_decode(end + 1, cp->pcr_value[cp->npcrs], 48) < 0) {
		fprintf(stderr, "nacre %s: --pcr %s: the value of PCR%lu must "
			"be 96 hex digits (SHA-384)\n", cmd, v, idx);
		return -1;
	}
	cp->pcr_index[cp->npcrs++] = (unsigned)idx;
	return 0;
}

static int
parse_at(struct cli_policy *cp, const char *cmd, const char *v)
{
	char *end;
	unsigned long long t;

	if (*v < '0' || *v > '9' ||
	    (t = strtoull(v, &end, 10), *end != '\0') || t == 0 ||
	    t > (unsigned long long)INT64_MAX / 1000) {
		fprintf(stderr, "nacre %s: --at %s: expected a UNIX time in "
			"seconds (e.g. 1665651500)\n", cmd, v);
		return -1;
	}
	cp->at = (time_t)t;
	cp->has_at = true;
	return 0;
}

static int
add_root(struct cli_policy *cp, const char *cmd, const char *v)
{
	if (cp->nroots >= CLI_MAX_ROOTS) {
		fprintf(stderr, "nacre %s: too many roots (at most %d)\n",
			cmd, CLI_MAX_ROOTS);
		return -1;
	}
	cp->roots[cp->nroots++] = v;
	return 0;
}

int
cli_policy_opt(struct cli_policy *cp, struct cli_args *a)
{
	const char *v = NULL;
	uint64_t ms = 0;
	int m;

	if ((m = cli_match(a, "policy", true, &v)) != 0) {
		cp->file = v;
	} else if ((m = cli_match(a, "root-aws", false, &v)) != 0) {
		if (add_root(cp, a->cmd, "aws-nitro") < 0)
			return -1;
	} else if ((m = cli_match(a, "root", true, &v)) != 0) {
		if (m > 0 && add_root(cp, a->cmd, v) < 0)
			return -1;
	} else if ((m = cli_match(a, "pcr", true, &v)) != 0) {
		if (m > 0 && parse_pcr(cp, a->cmd, v) < 0)
			return -1;
	} else if ((m = cli_match(a, "module-id", true, &v)) != 0) {
		if (m > 0 && cp->nmodules >= CLI_MAX_ROOTS) {
			fprintf(stderr, "nacre %s: too many --module-id\n",
				a->cmd);
			return -1;
		}
		if (m > 0)
			cp->module_ids[cp->nmodules++] = v;
	} else if ((m = cli_match(a, "max-age", true, &v)) != 0) {
		if (m > 0 && (nacre_parse_duration_ms(v, &ms) < 0 ||
			      ms < 1000)) {
			fprintf(stderr, "nacre %s: --max-age %s: expected a "
				"duration of at least 1s (e.g. 30m, 2h)\n",
				a->cmd, v);
			return -1;
		}
		cp->has_max_age = true;
		cp->max_age_s = ms / 1000;
	} else if ((m = cli_match(a, "allow-debug", false, &v)) != 0) {
		cp->allow_debug = true;
	} else if ((m = cli_match(a, "any-code", false, &v)) != 0) {
		cp->any_code = true;
	} else if ((m = cli_match(a, "at", true, &v)) != 0) {
		if (m > 0 && parse_at(cp, a->cmd, v) < 0)
			return -1;
	}
	if (m > 0)
		cp->any = true;
	return m;
}

static int
apply_root(struct nacre_policy *p, const char *v, char *err, size_t len)
{
	if (strcmp(v, "aws-nitro") == 0)
		return nacre_policy_add_root_aws(p, err, len);
	if (strncmp(v, "sha256:", 7) == 0)
		return nacre_policy_add_root_sha256(p, v + 7, err, len);
	return nacre_policy_add_root_pem(p, v, err, len);
}

struct nacre_policy *
cli_policy_build(const struct cli_policy *cp)
{
	struct nacre_policy *p = NULL;
	char err[NACRE_ERRLEN];

	if (cp->file) {
		if (nacre_policy_load(&p, cp->file, err, sizeof(err)) < 0) {
			fprintf(stderr, "nacre: policy %s\n", err);
			return NULL;
		}
	} else if (!(p = nacre_policy_new())) {
		fprintf(stderr, "nacre: out of memory\n");
		return NULL;
	}
	for (size_t i = 0; i < cp->nroots; i++)
		if (apply_root(p, cp->roots[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "nacre: root %s: %s\n", cp->roots[i],
				err);
			nacre_policy_free(p);
			return NULL;
		}
	for (size_t i = 0; i < cp->npcrs; i++)
		if (nacre_policy_add_pcr(p, cp->pcr_index[i],
					 cp->pcr_value[i], 48) < 0)
			goto oom;
	for (size_t i = 0; i < cp->nmodules; i++)
		if (nacre_policy_add_module_id(p, cp->module_ids[i]) < 0)
			goto oom;
	if (cp->has_max_age)
		nacre_policy_set_max_age(p, cp->max_age_s);
	if (cp->allow_debug)
		nacre_policy_set_allow_debug(p, true);
	if (cp->has_at)
		nacre_policy_set_time(p, cp->at);
	if (cp->any_code)
		nacre_policy_set_allow_any_code(p, true);
	if (nacre_policy_check(p, err, sizeof(err)) < 0) {
		/* trusting a root alone takes any code in any enclave under
		 * it: say what to pin, in flags and in policy-file keys */
		/* libnacre's sentence names the keys of the platforms the
		 * policy describes (pcrs.pcr0, tdx.mrtd, snp.measurement);
		 * the flags are Nitro's */
		fprintf(stderr, "nacre: %s (on the command line, for Nitro: "
			"--pcr 0=<96 hex digits> or --module-id ID; "
			"--any-code to accept any enclave)\n", err);
		nacre_policy_free(p);
		return NULL;
	}
	return p;
oom:
	fprintf(stderr, "nacre: out of memory building the policy\n");
	nacre_policy_free(p);
	return NULL;
}

void
cli_iso_ms(uint64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (!gmtime_r(&t, &tm) ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(out, len, "(out of range)");
		return;
	}
	snprintf(out, len, "%s.%03uZ", buf, (unsigned)(ms % 1000));
}

void
cli_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c == '\n')
			fputs("\\n", f);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

uint64_t
cli_now_ms(time_t at)
{
	struct timespec ts;

	if (at)
		return (uint64_t)at * 1000;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
cli_warn(const char *cmd, const struct nacre_result *r)
{
	if (r && r->warning[0])
		fprintf(stderr, "nacre %s: warning: %s\n", cmd, r->warning);
}

static int64_t
age_ms(const struct nacre_result *r, uint64_t now_ms)
{
	return (int64_t)now_ms - (int64_t)r->timestamp_ms;
}

void
cli_result_text(FILE *f, const struct nacre_result *r, uint64_t now_ms)
{
	static const uint8_t zero[48];
	char iso[40], h[97];
	unsigned nzero = 0;

	fprintf(f, "  evidence type: %s\n", r->evidence_type);
	fprintf(f, "  module id:     %s\n", r->module_id);
	cli_iso_ms(r->timestamp_ms, iso, sizeof(iso));
	fprintf(f, "  timestamp:     %s (%" PRIu64 " ms, age %.1f s)\n", iso,
		r->timestamp_ms, (double)age_ms(r, now_ms) / 1000.0);
	fprintf(f, "  root sha256:   %s\n", r->root_sha256_hex);
	fprintf(f, "  debug mode:    %s\n", r->debug ? "yes" : "no");
	for (unsigned i = 0; i < 16; i++) {
		if (!(r->pcr_mask & (1u << i)))
			continue;
		if (memcmp(r->pcr[i], zero, 48) == 0) {
			nzero++;
			continue;
		}
		nacre_hex_encode(r->pcr[i], 48, h);
		fprintf(f, "  pcr%-2u %s\n", i, h);
	}
	fprintf(f, "  zero pcrs:     %u\n", nzero);
	if (r->has_config_sha256) {
		nacre_hex_encode(r->config_sha256, 32, h);
		fprintf(f, "  config sha256: %s\n", h);
	}
	if (r->has_acme) {
		/* the URL is the CA's text: printable ASCII only (claims.c) */
		fprintf(f, "  acme account:  %s\n", r->acme_account_url);
		nacre_hex_encode(r->acme_jwk_thumbprint, 32, h);
		fprintf(f, "  acme jkt:      %s\n", h);
		for (size_t i = 0; i < r->acme_nkeys; i++) {
			nacre_hex_encode(r->acme_keys[i], 32, h);
			fprintf(f, "  acme key:      sha256 %s\n", h);
		}
	}
}

void
cli_result_json(FILE *f, const struct nacre_result *r, uint64_t now_ms)
{
	char iso[40], h[97];
	bool first = true;

	fputs("{\"type\": ", f);
	cli_json_str(f, r->evidence_type);
	fputs(", \"module_id\": ", f);
	cli_json_str(f, r->module_id);
	cli_iso_ms(r->timestamp_ms, iso, sizeof(iso));
	fprintf(f, ", \"timestamp_ms\": %" PRIu64 ", \"timestamp\": \"%s\", "
		"\"age_ms\": %" PRId64 ", \"root_sha256\": \"%s\", "
		"\"debug\": %s, \"pcrs\": {", r->timestamp_ms, iso,
		age_ms(r, now_ms), r->root_sha256_hex,
		r->debug ? "true" : "false");
	for (unsigned i = 0; i < 16; i++) {
		if (!(r->pcr_mask & (1u << i)))
			continue;
		nacre_hex_encode(r->pcr[i], 48, h);
		fprintf(f, "%s\"%u\": \"%s\"", first ? "" : ", ", i, h);
		first = false;
	}
	fputs("}, \"config_sha256\": ", f);
	if (r->has_config_sha256) {
		nacre_hex_encode(r->config_sha256, 32, h);
		fprintf(f, "\"%s\"", h);
	} else {
		fputs("null", f);
	}
	fputs(", \"acme\": ", f);
	if (r->has_acme) {
		fputs("{\"account\": ", f);
		cli_json_str(f, r->acme_account_url);
		nacre_hex_encode(r->acme_jwk_thumbprint, 32, h);
		fprintf(f, ", \"jkt\": \"%s\", \"keys\": [", h);
		for (size_t i = 0; i < r->acme_nkeys; i++) {
			nacre_hex_encode(r->acme_keys[i], 32, h);
			fprintf(f, "%s\"%s\"", i ? ", " : "", h);
		}
		fputs("]}}", f);
	} else {
		fputs("null}", f);
	}
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (argc < 2) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") ||
	    !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("nacre %s\n", NACRE_VERSION);
		return CLI_OK;
	}
	if (!strcmp(cmd, "inspect"))
		return cli_inspect(argc - 1, argv + 1);
	if (!strcmp(cmd, "verify"))
		return cli_verify(argc - 1, argv + 1);
	if (!strcmp(cmd, "connect"))
		return cli_connect(argc - 1, argv + 1);
	if (!strcmp(cmd, "caa"))
		return cli_caa(argc - 1, argv + 1);
	if (!strcmp(cmd, "forward"))
		return cli_forward(argc - 1, argv + 1);
	fprintf(stderr, "nacre: unknown command '%s' (inspect, verify, "
		"connect, caa, forward; nacre --help)\n", cmd);
	return CLI_USAGE;
}

void
cli_hex_line(const char *label, const uint8_t *p, size_t n)
{
	printf("  %-18s", label);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}
