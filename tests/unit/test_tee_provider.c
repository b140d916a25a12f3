/*
 * test_tee_provider.c: nacred's TDX and SNP provider glue
 * (src/tee/provider_tee.c, the TEE side of attest_nitro.c, tsm.c's
 * start-up checks). Over the simulated hardware: the provider names its
 * media type, the evidence is the 9.2 envelope whose claims are the
 * caller's plus "iat" and whose REPORTDATA is nacre_report_data(SPKI,
 * claims); SNP's certificate table becomes key 3 (VCEK, ASK, ARK), a
 * table without a VCEK adds none, a malformed one fails; a nonce is
 * refused (it belongs in "hs"). Sources that answer for other REPORTDATA,
 * with bytes that are no quote, or with too many, are not shipped. A
 * simulated key directory that is gone is not re-created at a reload. The
 * configfs-tsm provider's start-up errors name the cause and the fix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attest.h"
#include "nacred.h"
#include "snp.h"
#include "tap.h"
#include "tee/tee.h"
#include "tee/tee_provider.h"
#include "tee_evidence.h"

static char err[NACRE_ERRLEN];
static char dir[64], tdx_dir[128], snp_dir[128];
static const uint8_t spki[] = "not really an SPKI, but bytes to bind";
static uint8_t meas[48];

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* the claims a certificate's evidence carries */
static void
claims_bytes(uint8_t **out, size_t *len, bool hs)
{
	struct nacre_claims c;

	memset(&c, 0, sizeof(c));
	c.version = NACRE_CLAIMS_VERSION;
	c.has_config = true;
	memset(c.config_sha256, 0xc5, 32);
	if (hs) {
		c.has_binding = true;
		memset(c.binding, 0xb1, 32);
	}
	if (nacre_claims_encode(&c, out, len) < 0)
		*out = NULL;
}

/* decodes ev and checks it as a verifier would; the claims in *c */
static bool
envelope_ok(const uint8_t *ev, size_t len, bool tdx,
	    struct nacre_tee_envelope *e, struct nacre_claims *c)
{
	uint8_t rd[64];
	const uint8_t *got;
	char why[256];

	memset(c, 0, sizeof(*c));
	if (nacre_tee_envelope_decode(ev, len, e, why, sizeof(why)) < 0 ||
	    nacre_claims_decode(e->claims, e->claims_len, c, why,
				sizeof(why)) < 0 ||
	    nacre_report_data(spki, sizeof(spki), e->claims, e->claims_len,
			      rd) < 0) {
		printf("# %s\n", why);
		return false;
	}
	if (tdx)
		got = e->evidence_len >= 48 + 584 ? e->evidence + 48 + 520 : NULL;
	else
		got = e->evidence_len == 1184 ? e->evidence + 0x50 : NULL;
	return got && memcmp(got, rd, 64) == 0;
}

static void
test_tdx(void)
{
	struct nacre_tee_envelope e;
	struct nacre_claims c;
	struct nacre_attest *a;
	char root[65];
	const char *mt = NULL;
	uint8_t *cl, *ev = NULL;
	size_t cl_len, ev_len;
	uint64_t before = now_ms();

	a = nacre_tee_sim_open(NACRE_TEE_TDX, tdx_dir, meas, true, root, err,
			       sizeof(err));
	CHECK(a != NULL, "tdx sim: the provider opens (keys made)");
	if (!a) {
		printf("# %s\n", err);
		return;
	}
	CHECK(strlen(root) == 64, "tdx sim: the root's SHA-256 is given");
	CHECK_STR(nacre_attest_media_type(a), NACRE_MEDIA_TYPE_TDX,
		  "tdx sim: the provider's media type is the TDX one");
	CHECK(!nacre_attest_has_nonce(a), "tdx sim: its evidence has no nonce field");
	CHECK_STR(nacre_attest_name(a), "sim", "tdx sim: named sim");
	claims_bytes(&cl, &cl_len, false);
	CHECK(nacre_attest_evidence(a, spki, sizeof(spki), cl, cl_len, NULL, 0,
				    &mt, &ev, &ev_len, err, sizeof(err)) == 0,
	      "tdx sim: evidence made");
	CHECK_STR(mt, NACRE_MEDIA_TYPE_TDX, "tdx sim: ... with the TDX media type");
	CHECK(ev && envelope_ok(ev, ev_len, true, &e, &c),
	      "tdx sim: an envelope whose REPORTDATA is nacre_report_data(SPKI, claims)");
	CHECK(e.ncerts == 0, "tdx sim: no key 3 (the PCK chain is in the quote)");
	CHECK(c.has_config && c.config_sha256[0] == 0xc5 && !c.has_binding,
	      "tdx sim: the caller's claims are kept");
	CHECK(c.has_iat && c.iat_ms >= before && c.iat_ms <= now_ms(),
	      "tdx sim: \"iat\" is the clock at signing");
	nacre_claims_free(&c);
	free(ev);
	ev = NULL;

	CHECK(nacre_attest_evidence(a, spki, sizeof(spki), cl, cl_len,
				    (const uint8_t *)"nonce", 5, &mt, &ev,
				    &ev_len, err, sizeof(err)) < 0 && !ev,
	      "tdx sim: a nonce is refused");
	CHECK_HAS(err, "bind the nonce in the \"hs\" claim",
		  "tdx sim: ... saying where it belongs");
	CHECK(nacre_attest_evidence(a, NULL, 0, cl, cl_len, NULL, 0, &mt, &ev,
				    &ev_len, err, sizeof(err)) < 0,
	      "tdx sim: no key, no evidence");

	/* the compatibility entry point gives the same kind of evidence */
	CHECK(nacre_attest_get(a, spki, sizeof(spki), NULL, 0, NULL, 0, &ev,
			       &ev_len, err, sizeof(err)) == 0 &&
	      envelope_ok(ev, ev_len, true, &e, &c) && c.has_iat &&
	      !c.has_config && c.version == NACRE_CLAIMS_VERSION,
	      "tdx sim: without claims the envelope holds {v, iat}");
	nacre_claims_free(&c);
	free(ev);
	free(cl);

	/* fresh: the claims carry "hs", which REPORTDATA covers */
	claims_bytes(&cl, &cl_len, true);
	ev = NULL;
	CHECK(nacre_attest_evidence(a, spki, sizeof(spki), cl, cl_len, NULL, 0,
				    &mt, &ev, &ev_len, err, sizeof(err)) == 0 &&
	      envelope_ok(ev, ev_len, true, &e, &c) && c.has_binding &&
	      c.binding[0] == 0xb1 && c.has_iat,
	      "tdx sim: fresh claims keep \"hs\" under REPORTDATA");
	nacre_claims_free(&c);
	free(ev);
	free(cl);
	nacre_attest_free(a);
}

/* ---- sources that misbehave, over the real SNP sim ---- */

struct bad {
	struct nacre_snp_sim *s;
	int mode;
};
enum { FLIP_RD, GARBAGE, HUGE, BAD_TABLE, NO_VCEK, GOOD };

static int
bad_report(void *ctx, const uint8_t rd_in[64], uint8_t **ev, size_t *ev_len,
	   uint8_t **aux, size_t *aux_len, char *e, size_t elen)
{
	struct bad *b = ctx;
	uint8_t rd[64];
	int rc;

	memcpy(rd, rd_in, 64);
	if (b->mode == FLIP_RD)
		rd[7] ^= 1;
	if (b->mode == GARBAGE || b->mode == HUGE) {
		*ev_len = b->mode == GARBAGE ? 1184 : NACRE_TEE_EVIDENCE_MAX + 1;
		*ev = calloc(1, *ev_len);
		*aux = NULL;
		*aux_len = 0;
		return *ev ? 0 : -1;
	}
	rc = nacre_snp_sim_report(b->s, rd, ev, ev_len, aux, aux_len, e, elen);
	if (rc == 0 && b->mode == BAD_TABLE && *aux_len > 30)
		(*aux)[16] = 0xff; /* the first entry's offset: far outside */
	if (rc == 0 && b->mode == NO_VCEK) {
		struct nacre_snp_certtable t;
		uint8_t *table = NULL;
		size_t tlen;

		if (nacre_snp_certtable_parse(*aux, *aux_len, &t, e, elen) < 0)
			return -1;
		t.vcek = NULL;
		t.vcek_len = 0;
		if (nacre_snp_certtable_encode(&t, &table, &tlen, e, elen) < 0)
			return -1;
		free(*aux);
		*aux = table;
		*aux_len = tlen;
	}
	return rc;
}

static void
bad_free(void *ctx)
{
	(void)ctx; /* the test owns the sim */
}

static const struct nacre_tee_ops bad_ops = { bad_report, bad_free };

static int
bad_run(struct bad *b, int mode, struct nacre_tee_envelope *e,
	uint8_t **ev, size_t *ev_len)
{
	uint8_t *cl;
	size_t cl_len;
	int rc;

	b->mode = mode;
	claims_bytes(&cl, &cl_len, false);
	rc = nacre_tee_evidence(&bad_ops, b, NACRE_TEE_SNP, spki, sizeof(spki),
				cl, cl_len, ev, ev_len, err, sizeof(err));
	free(cl);
	if (rc == 0 && nacre_tee_envelope_decode(*ev, *ev_len, e, err,
						 sizeof(err)) < 0)
		rc = -2;
	return rc;
}

static void
test_snp(void)
{
	struct nacre_tee_envelope e;
	struct nacre_claims c;
	struct nacre_attest *a;
	struct bad b;
	char root[65];
	const char *mt = NULL;
	uint8_t *cl, *ev = NULL;
	size_t cl_len, ev_len;

	a = nacre_tee_sim_open(NACRE_TEE_SNP, snp_dir, meas, true, root, err,
			       sizeof(err));
	CHECK(a != NULL, "snp sim: the provider opens (keys made)");
	if (!a) {
		printf("# %s\n", err);
		return;
	}
	CHECK_STR(nacre_attest_media_type(a), NACRE_MEDIA_TYPE_SNP,
		  "snp sim: the provider's media type is the SNP one");
	claims_bytes(&cl, &cl_len, false);
	CHECK(nacre_attest_evidence(a, spki, sizeof(spki), cl, cl_len, NULL, 0,
				    &mt, &ev, &ev_len, err, sizeof(err)) == 0 &&
	      envelope_ok(ev, ev_len, false, &e, &c) && c.has_iat,
	      "snp sim: an envelope whose REPORTDATA is nacre_report_data(SPKI, claims)");
	CHECK_STR(mt, NACRE_MEDIA_TYPE_SNP, "snp sim: ... with the SNP media type");
	CHECK(e.ncerts == 3, "snp sim: the certificate table became key 3 (VCEK, ASK, ARK)");
	nacre_claims_free(&c);
	free(ev);
	free(cl);
	nacre_attest_free(a);

	memset(&b, 0, sizeof(b));
	b.s = nacre_snp_sim_open(snp_dir, meas, err, sizeof(err));
	CHECK(b.s != NULL, "snp sim: opened again from its files");
	if (!b.s)
		return;
	ev = NULL;
	CHECK(bad_run(&b, GOOD, &e, &ev, &ev_len) == 0 && e.ncerts == 3,
	      "source: a good one passes");
	free(ev);
	ev = NULL;
	CHECK(bad_run(&b, FLIP_RD, &e, &ev, &ev_len) == -1 && !ev,
	      "source: a report for other REPORTDATA is not shipped");
	CHECK_HAS(err, "REPORTDATA differs from the request",
		  "source: ... and the error says so");
	CHECK(bad_run(&b, GARBAGE, &e, &ev, &ev_len) == -1 && !ev,
	      "source: bytes that are no report are not shipped");
	CHECK_HAS(err, "returned a report nacre cannot read",
		  "source: ... and the error says so");
	CHECK(bad_run(&b, HUGE, &e, &ev, &ev_len) == -1 && !ev,
	      "source: a report over 16384 bytes is not shipped");
	CHECK(bad_run(&b, BAD_TABLE, &e, &ev, &ev_len) == -1 && !ev,
	      "source: a malformed certificate table fails the request");
	CHECK_HAS(err, "certificate table (auxblob) is malformed",
		  "source: ... naming the table");
	CHECK(bad_run(&b, NO_VCEK, &e, &ev, &ev_len) == 0 && e.ncerts == 0,
	      "source: a table without a VCEK adds no key 3");
	free(ev);
	nacre_snp_sim_free(b.s);
}

static void
test_sim_reload(void)
{
	char gone[160], root[65];
	struct nacre_attest *a;

	snprintf(gone, sizeof(gone), "%s/sim-gone", dir);
	a = nacre_tee_sim_open(NACRE_TEE_TDX, gone, meas, false, root, err,
			       sizeof(err));
	CHECK(a == NULL, "sim reload: a key directory that is gone is not re-created");
	CHECK_HAS(err, "restart nacred to create new ones",
		  "sim reload: ... the error says how to get new ones");
	CHECK(access(gone, F_OK) != 0, "sim reload: ... and nothing was made");
}

static void
test_tsm_open(void)
{
	struct nacre_tsm_opts o = { 0 };
	char path[160];
	FILE *f;

	CHECK(nacre_tsm_platform_of("tdx_guest") == NACRE_TEE_TDX &&
	      nacre_tsm_platform_of("sev_guest") == NACRE_TEE_SNP &&
	      nacre_tsm_platform_of("arm_cca_guest") < 0 &&
	      nacre_tsm_platform_of("") < 0,
	      "tsm: provider names map to TDX and SNP, others to none");
	snprintf(path, sizeof(path), "%s/no/tsm/report", dir);
	o.path = path;
	CHECK(nacre_tsm_open(&o, err, sizeof(err)) == NULL,
	      "tsm: a missing report directory fails");
	CHECK_HAS(err, "does not exist; set it to the configfs-tsm report directory",
		  "tsm: ... naming the cause and the fix");
	o.path = "/sys/kernel/config/nacre-test-none/report";
	CHECK(nacre_tsm_open(&o, err, sizeof(err)) == NULL,
	      "tsm: a missing configfs path fails");
	CHECK(strstr(err, "mount -t configfs") || strstr(err, "modprobe"),
	      "tsm: ... saying to mount configfs or load the driver");
	snprintf(path, sizeof(path), "%s/file", dir);
	if ((f = fopen(path, "w")))
		fclose(f);
	o.path = path;
	CHECK(nacre_tsm_open(&o, err, sizeof(err)) == NULL,
	      "tsm: a file is no report directory");
	CHECK_HAS(err, "is not a directory", "tsm: ... and the error says so");
	unlink(path);
}

int
main(void)
{
	char cmd[200];

	snprintf(dir, sizeof(dir), "/tmp/nacre-teeprov.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tdx_dir, sizeof(tdx_dir), "%s/sim-tdx", dir);
	snprintf(snp_dir, sizeof(snp_dir), "%s/sim-snp", dir);
	memset(meas, 0x5a, sizeof(meas));
	test_tdx();
	test_snp();
	test_sim_reload();
	test_tsm_open();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	TAP_DONE();
}
