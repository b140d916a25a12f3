/*
 * cli.h: what the subcommands of the nacre tool share: argument matching,
 * policy building from flags, and printing a struct nacre_result as text
 * and JSON. Implemented in nacre.c.
 */
#ifndef NACRE_CLI_H
#define NACRE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "nacre/verify.h"

/* exit statuses of every subcommand */
#define CLI_OK 0
#define CLI_FAIL 1    /* verification failed */
#define CLI_USAGE 2   /* usage or input error */

#define CLI_MAX_ROOTS 16
#define CLI_MAX_PCRS 32

struct cli_args {
	int argc;
	char **argv;
	int i;            /* the argument being looked at */
	const char *cmd;  /* "inspect", ... for messages */
};

/* argv[i] is --NAME (or --NAME=VALUE when takes_value): 1 and *val set
 * (i advanced past the value), 0 not this option, -1 value missing
 * (printed). */
int cli_match(struct cli_args *a, const char *name, bool takes_value,
	      const char **val);

struct cli_policy {
	const char *file;
	const char *roots[CLI_MAX_ROOTS];  /* "aws-nitro", PEM path, sha256:HEX */
	size_t nroots;
	unsigned pcr_index[CLI_MAX_PCRS];
	uint8_t pcr_value[CLI_MAX_PCRS][48];
	size_t npcrs;
	const char *module_ids[CLI_MAX_ROOTS];
	size_t nmodules;
	bool has_max_age;
	uint64_t max_age_s;
	bool allow_debug;
	bool any_code;    /* --any-code: no PCR or module id pinned is fine */
	bool has_at;
	time_t at;
	bool any;         /* some policy option was given */
};

/* One of the policy options at a->i: 1 consumed, 0 not one, -1 bad value
 * (printed). */
int cli_policy_opt(struct cli_policy *cp, struct cli_args *a);
/* the policy the options describe (file first, flags on top); NULL with
 * the reason printed, also when it pins no code without --any-code */
struct nacre_policy *cli_policy_build(const struct cli_policy *cp);
/* the policy options' lines for --help */
extern const char cli_policy_help[];

/* "2022-10-13T08:58:02.136Z" */
void cli_iso_ms(uint64_t ms, char *out, size_t len);
/* a JSON string literal, escaped */
void cli_json_str(FILE *f, const char *s);
uint64_t cli_now_ms(time_t at);  /* at, or the real clock when 0 */

/* "nacre CMD: warning: ..." on stderr when r carries a warning (a policy
 * with --any-code), for every verification */
void cli_warn(const char *cmd, const struct nacre_result *r);

/* the decoded facts of r as "  key: value" lines */
void cli_result_text(FILE *f, const struct nacre_result *r, uint64_t now_ms);
/* the decoded facts of r as one JSON object */
void cli_result_json(FILE *f, const struct nacre_result *r, uint64_t now_ms);

struct nacre_addr;
/* connect with a deadline (cmd_verify.c); the socket is left blocking with
 * send/receive timeouts of the same length. fd, or -1 with err. */
int cli_dial(const struct nacre_addr *a, uint64_t timeout_ms, char *err,
	     size_t errlen);
/* "tcp:HOST:PORT" for HOST:PORT, else as given; the default SNI (HOST
 * when it is a name, else ""). 0, or -1 (printed). */
int cli_target_addr(const char *t, struct nacre_addr *out, char *sni,
		    size_t snilen);

/* "  LABEL             <hex of P[0..N)>", the inspect listings' line */
void cli_hex_line(const char *label, const uint8_t *p, size_t n);

/* inspect_snp.c: nacre inspect on an AMD SEV-SNP report */
#define CLI_SNP_MEASUREMENTS_MAX 8
struct cli_snp_opts {
	const char *vcek;   /* --snp-vcek FILE (DER or PEM) */
	const char *chain;  /* --snp-chain FILE (ASK then ARK, PEM) */
	uint8_t measurements[CLI_SNP_MEASUREMENTS_MAX][48];
	size_t nmeasurements;
	bool allow_debug;
};
bool cli_inspect_is_snp(const uint8_t *buf, size_t n);
/* inspect_tdx.c: nacre inspect on an Intel TDX quote */
#define CLI_TDX_MRTD_MAX 8
struct cli_tdx_opts {
	const char *collateral; /* --tdx-collateral DIR (Intel PCS files) */
	uint8_t mrtd[CLI_TDX_MRTD_MAX][48];
	size_t nmrtd;
	bool allow_debug;
};
bool cli_inspect_is_tdx(const uint8_t *buf, size_t n);
int cli_inspect_tdx(const char *path, const uint8_t *buf, size_t n,
		    const struct cli_tdx_opts *o, time_t at);
int cli_inspect_snp(const char *path, const uint8_t *buf, size_t n,
		    const struct cli_snp_opts *o, time_t at);

int cli_inspect(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_connect(int argc, char **argv);
int cli_caa(int argc, char **argv);    /* cmd_caa.c */
int cli_forward(int argc, char **argv); /* cmd_forward.c */

#endif
