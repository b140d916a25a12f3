/*
 * inspect_tdx.c: nacre inspect on an Intel TDX quote (v4 or v5). It shows
 * the TD's measurements and verifies the quote offline with libnacre's
 * TDX verifier (src/verify/tdx*.c): always the quote signature, the QE
 * report and its binding, and the PCK chain to the Intel SGX Root CA; with
 * --tdx-collateral DIR also the CRLs, TCB Info and QE Identity (Intel PCS
 * files, named as below), so the platform's TCB status is known.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "nacred.h"
#include "tdx.h"

#define COLLATERAL_MAX (1024 * 1024)

bool
cli_inspect_is_tdx(const uint8_t *buf, size_t n)
{
	struct nacre_tdx_quote q;
	enum nacre_tdx_status st;
	char err[NACRE_ERRLEN];

	/* a TDX quote header: version 4 or 5, TEE type 0x81 */
	if (n < 48 || (buf[0] != 4 && buf[0] != 5) || buf[1] != 0 ||
	    buf[4] != 0x81)
		return false;
	return nacre_tdx_quote_parse(buf, n, &q, &st, err, sizeof(err)) == 0;
}

/* DIR/NAME, or the first DIR entry starting with PREFIX and ending with
 * SUFFIX (tcbinfo_fmspc_*.json), read whole; NULL when absent */
static char *
read_named(const char *dir, const char *prefix, const char *suffix,
	   size_t *len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096] = "";
	FILE *f;
	char *b;
	size_t n;

	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name), pl = strlen(prefix),
		       sl = strlen(suffix);
		if (l >= pl + sl && strncmp(e->d_name, prefix, pl) == 0 &&
		    strcmp(e->d_name + l - sl, suffix) == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			break;
		}
	}
	closedir(d);
	if (!path[0] || !(f = fopen(path, "rb")))
		return NULL;
	b = malloc(COLLATERAL_MAX + 1);
	n = b ? fread(b, 1, COLLATERAL_MAX + 1, f) : 0;
	fclose(f);
	if (!b || n == 0 || n > COLLATERAL_MAX) {
		free(b);
		return NULL;
	}
	b[n] = '\0';
	*len = n;
	return b;
}

int
cli_inspect_tdx(const char *path, const uint8_t *buf, size_t n,
		const struct cli_tdx_opts *o, time_t at)
{
	struct nacre_tdx_collateral c = { 0 };
	struct nacre_tdx_policy p = { 0 };
	struct nacre_tdx_result *r = calloc(1, sizeof(*r));
	struct nacre_tdx_quote *q = calloc(1, sizeof(*q));
	char *files[6] = { NULL };
	int rc = CLI_USAGE;

	if (!r || !q)
		goto out;
	p.now = at;
	p.allow_debug = o->allow_debug;
	p.mrtd = (const uint8_t (*)[48])o->mrtd;
	p.nmrtd = o->nmrtd;
	p.allow_no_collateral = !o->collateral;
	if (o->collateral) {
		static const char *const names[6][2] = {
			{ "tcbinfo", ".json" }, { "tcbinfo_issuer_chain", ".pem" },
			{ "qe_identity", ".json" },
			{ "qe_identity_issuer_chain", ".pem" },
			{ "root_ca_crl", ".der" }, { "pck", "crl.der" },
		};
		size_t lens[6] = { 0 };

		for (int i = 0; i < 6; i++)
			files[i] = read_named(o->collateral, names[i][0],
					      names[i][1], &lens[i]);
		if (!files[0] || !files[1] || !files[2] || !files[3]) {
			fprintf(stderr, "nacre inspect: %s holds no complete TDX "
				"collateral (tcbinfo*.json, tcbinfo_issuer_chain"
				".pem, qe_identity*.json, qe_identity_issuer_"
				"chain.pem; CRLs root_ca_crl.der, pck*crl.der "
				"optional)\n", o->collateral);
			goto out;
		}
		c.tcb_info = files[0];
		c.tcb_info_len = lens[0];
		c.tcb_info_chain = files[1];
		c.tcb_info_chain_len = lens[1];
		c.qe_identity = files[2];
		c.qe_identity_len = lens[2];
		c.qe_identity_chain = files[3];
		c.qe_identity_chain_len = lens[3];
		c.root_ca_crl = (const uint8_t *)files[4];
		c.root_ca_crl_len = lens[4];
		c.pck_crl = (const uint8_t *)files[5];
		c.pck_crl_len = lens[5];
	}
	nacre_tdx_verify(buf, n, o->collateral ? &c : NULL, &p, q, r);
	if (r->status == NACRE_TDX_E_MALFORMED ||
	    r->status == NACRE_TDX_E_UNSUPPORTED) {
		fprintf(stderr, "nacre inspect: %s: %s\n", path, r->message);
		goto out;
	}
	printf("input: Intel TDX quote (version %u, TD %s body)\n", q->version,
	       q->td.is_td15 ? "1.5" : "1.0");
	cli_hex_line("mrtd:", q->td.mrtd, 48);
	for (int i = 0; i < 4; i++) {
		char l[24];
		snprintf(l, sizeof(l), "rtmr%d:", i);
		cli_hex_line(l, q->td.rtmr[i], 48);
	}
	cli_hex_line("mrconfigid:", q->td.mrconfigid, 48);
	cli_hex_line("mrowner:", q->td.mrowner, 48);
	cli_hex_line("report data:", q->td.report_data, 64);
	cli_hex_line("td attributes:", q->td.td_attributes, 8);
	printf("  %-18s%s\n", "debug:", q->td.td_attributes[0] & 1 ? "yes" :
	       "no");
	cli_hex_line("tee tcb svn:", q->td.tee_tcb_svn, 16);
	if (r->collateral_checked)
		printf("  %-18s%s (platform %s, TDX module %s, QE %s)%s%s\n",
		       "tcb status:", nacre_tdx_tcb_status_name(r->tcb_status),
		       nacre_tdx_tcb_status_name(r->platform_status),
		       nacre_tdx_tcb_status_name(r->module_status),
		       nacre_tdx_tcb_status_name(r->qe_status),
		       r->advisories[0] ? ", advisories " : "", r->advisories);
	if (o->nmrtd == 0)
		fprintf(stderr, "nacre inspect: warning: no --tdx-mrtd given: "
			"any TD's quote passes the measurement check\n");
	if (r->status == NACRE_TDX_OK) {
		printf("verification: ok (%s)\n", r->collateral_checked ?
		       "quote, PCK chain, CRLs, TCB Info and QE Identity" :
		       "quote and PCK chain only: give --tdx-collateral for "
		       "the TCB status");
		rc = CLI_OK;
	} else {
		printf("verification: failed\n");
		fprintf(stderr, "nacre inspect: %s: %s\n",
			nacre_tdx_status_name(r->status), r->message);
		rc = CLI_FAIL;
	}
out:
	for (int i = 0; i < 6; i++)
		free(files[i]);
	free(q);
	free(r);
	return rc;
}
