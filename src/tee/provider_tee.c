/*
 * provider_tee.c: TDX and SEV-SNP evidence (docs/evidence-format.md 9).
 * A report source (configfs-tsm, tsm.c; or the simulated hardware,
 * tdx_sim.c / snp_sim.c) signs 64 bytes; here the claims get "iat", the
 * 64 bytes become nacre_report_data(spki, claims), and the quote or
 * report travels in the envelope {1: evidence, 2: claims, ? 3: certs}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "attest.h"
#include "snp.h"
#include "tdx.h"
#include "tee/tee.h"
#include "tee/tee_provider.h"
#include "tee_evidence.h"

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* the caller's claims with "iat" = now, encoded again */
static int
claims_with_iat(const uint8_t *claims, size_t claims_len, uint8_t **out,
		size_t *out_len, char *err, size_t errlen)
{
	struct nacre_claims c;
	char why[256];
	int rc;

	memset(&c, 0, sizeof(c));
	c.version = NACRE_CLAIMS_VERSION;
	if (claims && nacre_claims_decode(claims, claims_len, &c, why,
					  sizeof(why)) < 0) {
		nacre_seterr(err, errlen, "cannot read the claims to attest: %s",
			     why);
		return -1;
	}
	c.has_iat = true;
	c.iat_ms = now_ms();
	rc = nacre_claims_encode(&c, out, out_len);
	nacre_claims_free(&c);
	if (rc < 0 || *out_len > NACRE_TEE_CLAIMS_MAX) {
		if (rc == 0)
			free(*out);
		*out = NULL;
		nacre_seterr(err, errlen, "cannot encode the claims (over %d "
			     "bytes?)", NACRE_TEE_CLAIMS_MAX);
		return -1;
	}
	return 0;
}

/* the source's answer must be of the platform and bind what we asked:
 * anything else is a broken or lying source, and shipping it would be
 * worse than failing */
static int
check_binding(enum nacre_tee_kind p, const uint8_t *ev, size_t len,
	      const uint8_t rd[64], char *err, size_t errlen)
{
	char why[256] = "";
	const uint8_t *got = NULL;
	struct nacre_tdx_quote q;
	struct nacre_snp_report r;
	enum nacre_tdx_status st;

	if (len == 0 || len > NACRE_TEE_EVIDENCE_MAX) {
		nacre_seterr(err, errlen, "the %s %s is %zu bytes (1..%d expected)",
			     nacre_tee_kind_name(p),
			     p == NACRE_TEE_TDX ? "quote" : "report", len,
			     NACRE_TEE_EVIDENCE_MAX);
		return -1;
	}
	if (p == NACRE_TEE_TDX) {
		if (nacre_tdx_quote_parse(ev, len, &q, &st, why, sizeof(why)) == 0)
			got = q.td.report_data;
	} else if (nacre_snp_report_parse(ev, len, &r, why, sizeof(why)) ==
		   NACRE_SNP_OK) {
		got = r.report_data;
	}
	if (!got) {
		nacre_seterr(err, errlen, "the %s source returned %s nacre cannot "
			     "read: %s", nacre_tee_kind_name(p),
			     p == NACRE_TEE_TDX ? "a quote" : "a report", why);
		return -1;
	}
	if (memcmp(got, rd, 64) != 0) {
		nacre_seterr(err, errlen, "the %s source returned evidence whose "
			     "REPORTDATA differs from the request",
			     nacre_tee_kind_name(p));
		return -1;
	}
	return 0;
}

/* SNP: the host's certificate table (auxblob) -> envelope key 3, VCEK
 * (or VLEK) first, then ASK and ARK when both are there (a verifier reads
 * the array by position). A table without a VCEK adds nothing: key 3 is
 * optional, and the verifier then takes the VCEK from its policy's
 * snp.certs. The table is the host's: a malformed one fails the request. */
static int
certs_from_table(const uint8_t *table, size_t len,
		 struct nacre_tee_envelope *e, char *err, size_t errlen)
{
	struct nacre_snp_certtable t;
	char why[256];

	e->ncerts = 0;
	if (nacre_snp_certtable_parse(table, len, &t, why, sizeof(why)) < 0) {
		nacre_seterr(err, errlen, "the host's SNP certificate table "
			     "(auxblob) is malformed: %s", why);
		return -1;
	}
	if (!t.vcek && !t.vlek)
		return 0;
	e->certs[0] = t.vcek ? t.vcek : t.vlek;
	e->certs_len[0] = t.vcek ? t.vcek_len : t.vlek_len;
	e->ncerts = 1;
	if (t.ask && t.ark) {
		e->certs[1] = t.ask;
		e->certs_len[1] = t.ask_len;
		e->certs[2] = t.ark;
		e->certs_len[2] = t.ark_len;
		e->ncerts = 3;
	}
	return 0;
}

int
nacre_tee_evidence(const struct nacre_tee_ops *ops, void *ctx,
		   enum nacre_tee_kind platform, const uint8_t *spki,
		   size_t spki_len, const uint8_t *claims, size_t claims_len,
		   uint8_t **ev, size_t *ev_len, char *err, size_t errlen)
{
	struct nacre_tee_envelope e;
	uint8_t rd[64], *cl = NULL, *q = NULL, *aux = NULL;
	size_t cl_len = 0, q_len = 0, aux_len = 0;
	int rc = -1;

	*ev = NULL;
	*ev_len = 0;
	memset(&e, 0, sizeof(e));
	if (claims_with_iat(claims, claims_len, &cl, &cl_len, err, errlen) < 0)
		return -1;
	if (nacre_report_data(spki, spki_len, cl, cl_len, rd) < 0) {
		nacre_seterr(err, errlen, "cannot compute REPORTDATA");
		goto out;
	}
	if (ops->report(ctx, rd, &q, &q_len, &aux, &aux_len, err, errlen) < 0)
		goto out;
	if (check_binding(platform, q, q_len, rd, err, errlen) < 0)
		goto out;
	e.evidence = q;
	e.evidence_len = q_len;
	e.claims = cl;
	e.claims_len = cl_len;
	if (platform == NACRE_TEE_SNP && aux && aux_len &&
	    certs_from_table(aux, aux_len, &e, err, errlen) < 0)
		goto out;
	if (nacre_tee_envelope_encode(&e, ev, ev_len) < 0) {
		nacre_seterr(err, errlen, "cannot encode the %s evidence envelope",
			     nacre_tee_kind_name(platform));
		goto out;
	}
	rc = 0;
out:
	free(cl);
	free(q);
	free(aux);
	return rc;
}

/* ---- the simulated TDX and SNP hardware as sources ---- */

struct sim_src {
	enum nacre_tee_kind platform;
	struct nacre_tdx_sim *tdx;
	struct nacre_snp_sim *snp;
};

static int
sim_report(void *ctx, const uint8_t rd[64], uint8_t **ev, size_t *ev_len,
	   uint8_t **aux, size_t *aux_len, char *err, size_t errlen)
{
	struct sim_src *s = ctx;

	*aux = NULL;
	*aux_len = 0;
	if (s->platform == NACRE_TEE_TDX)
		return nacre_tdx_sim_quote(s->tdx, rd, ev, ev_len, err, errlen);
	return nacre_snp_sim_report(s->snp, rd, ev, ev_len, aux, aux_len, err,
				    errlen);
}

static void
sim_free(void *ctx)
{
	struct sim_src *s = ctx;

	if (!s)
		return;
	if (s->tdx)
		nacre_tdx_sim_free(s->tdx);
	if (s->snp)
		nacre_snp_sim_free(s->snp);
	free(s);
}

static const struct nacre_tee_ops sim_ops = { sim_report, sim_free };

struct nacre_attest *
nacre_tee_sim_open(enum nacre_tee_kind platform, const char *dir,
		   const uint8_t measurement[48], bool create,
		   char root_hex[65], char *err, size_t errlen)
{
	struct sim_src *s;
	struct stat st;

	if (platform != NACRE_TEE_TDX && platform != NACRE_TEE_SNP) {
		nacre_seterr(err, errlen, "sim: no simulated %s hardware",
			     nacre_tee_kind_name(platform));
		return NULL;
	}
	/* new keys (and a new root to pin) only at start: a reload must not
	 * change them behind the clients' back */
	if (!create && lstat(dir, &st) < 0 && errno == ENOENT) {
		nacre_seterr(err, errlen, "the simulated %s keys in %s are gone; "
			     "restore them, or restart nacred to create new ones "
			     "(and re-pin the new root)",
			     nacre_tee_kind_name(platform), dir);
		return NULL;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		nacre_seterr(err, errlen, "out of memory");
		return NULL;
	}
	s->platform = platform;
	if (platform == NACRE_TEE_TDX)
		s->tdx = nacre_tdx_sim_open(dir, measurement, err, errlen);
	else
		s->snp = nacre_snp_sim_open(dir, measurement, err, errlen);
	if (!s->tdx && !s->snp) {
		free(s);
		return NULL;
	}
	snprintf(root_hex, 65, "%s", s->tdx ?
		 nacre_tdx_sim_root_sha256_hex(s->tdx) :
		 nacre_snp_sim_ark_sha256_hex(s->snp));
	return nacre_attest_tee_wrap("sim", platform, &sim_ops, s, err, errlen);
}
