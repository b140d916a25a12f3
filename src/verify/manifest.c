/*
 * manifest.c: release manifests. A policy's manifests = [ "FILE", ... ]
 * names files (libconfig, read next to the policy file when relative) that
 * each describe one release once, for every platform it ships on:
 *
 *   release = "1.4";
 *   nitro = { pcr0 = "<96 hex>"; pcr1 = ...; };
 *   tdx = { mrtd = "<96 hex>"; rtmr0 = ...; rtmr3; mrconfigid; mrowner; };
 *   snp = { measurement = "<96 hex>"; host_data = "<64 hex>";
 *           id_key_digest = "<96 hex>"; };
 *
 * Each manifest adds its values to the platforms' allowed sets (and so
 * describes those platforms); a verification names the release whose
 * values all equal the evidence's.
 */
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nacred.h"
#include "policy_int.h"
#include "snp.h"

#define MANIFEST_FILE_MAX (64 * 1024)
#define RELEASE_MAX 63

static const char *const tdx_keys[7] = { "mrtd", "rtmr0", "rtmr1", "rtmr2",
					 "rtmr3", "mrconfigid", "mrowner" };
static const char *const snp_keys[3] = { "measurement", "host_data",
					 "id_key_digest" };
static const size_t snp_lens[3] = { 48, 32, 48 };

static int
hex_value(struct pctx *c, const config_setting_t *s, const char *where,
	  uint8_t *out, size_t len)
{
	const char *v = config_setting_type(s) == CONFIG_TYPE_STRING ?
		config_setting_get_string(s) : NULL;

	if (!v)
		return nacre_pol_fail(c, s, "%s must be a string of %zu hex "
				      "digits (one value: a manifest describes "
				      "one release)", where, 2 * len);
	if (nacre_hex_decode(v, out, len) < 0)
		return nacre_pol_fail(c, s, "%s must be %zu hex digits (%zu "
				      "bytes), got %zu characters \"%.16s%s\"",
				      where, 2 * len, len, strlen(v), v,
				      strlen(v) > 16 ? "..." : "");
	return 0;
}

static int
group(struct pctx *c, const config_setting_t *g, const char *name)
{
	if (!config_setting_is_group(g) || config_setting_length(g) == 0)
		return nacre_pol_fail(c, g, "%s must be a non-empty group: "
				      "%s = { %s = \"<hex>\"; };", name, name,
				      strcmp(name, "nitro") == 0 ? "pcr0" :
				      strcmp(name, "tdx") == 0 ? "mrtd" :
				      "measurement");
	return 0;
}

static int
manifest_nitro(struct pctx *c, struct nacre_manifest *m,
	       const config_setting_t *g)
{
	int n = config_setting_length(g);

	if (group(c, g, "nitro") < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g,
								    (unsigned)i);
		unsigned idx = nacre_pol_pcr_index(config_setting_name(s));
		char where[32];

		if (idx >= NACRE_POL_NPCRS)
			return nacre_pol_fail(c, s, "unknown key \"%s\" in "
					      "nitro; write pcr0 to pcr15",
					      config_setting_name(s));
		snprintf(where, sizeof(where), "nitro.pcr%u", idx);
		if (hex_value(c, s, where, m->pcr[idx], 48) < 0)
			return -1;
		m->pcr_mask |= 1u << idx;
	}
	return 0;
}

static int
manifest_fields(struct pctx *c, const config_setting_t *g, const char *name,
		const char *const *keys, const size_t *lens, size_t nkeys,
		unsigned *mask, uint8_t (*vals)[48])
{
	char known[128] = "", where[48];

	if (group(c, g, name) < 0)
		return -1;
	for (size_t k = 0; k < nkeys; k++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known),
			 "%s%s", k ? ", " : "", keys[k]);
	if (nacre_pol_check_keys(c, g, name, known) < 0)
		return -1;
	for (size_t k = 0; k < nkeys; k++) {
		const config_setting_t *s = config_setting_get_member(g,
								      keys[k]);
		if (!s)
			continue;
		snprintf(where, sizeof(where), "%s.%s", name, keys[k]);
		if (hex_value(c, s, where, vals[k], lens ? lens[k] : 48) < 0)
			return -1;
		*mask |= 1u << k;
	}
	return 0;
}

static int
manifest_text(struct pctx *c, struct nacre_manifest *m, const char *text)
{
	const config_setting_t *root, *s;
	char msg[512];
	unsigned line = 0;
	config_t cfg;
	int rc = -1;

	config_init(&cfg);
	if (nacre_libconfig_read(&cfg, text, msg, sizeof(msg), &line) < 0) {
		if (line)
			nacre_seterr(c->err, c->errlen, "%s:%u: %s", c->name,
				     line, msg);
		else
			nacre_seterr(c->err, c->errlen, "%s: %s", c->name, msg);
		goto out;
	}
	root = config_root_setting(&cfg);
	if (nacre_pol_check_keys(c, root, "the manifest", "release, nitro, "
				 "tdx, snp") < 0)
		goto out;
	s = config_setting_get_member(root, "release");
	if (!s || config_setting_type(s) != CONFIG_TYPE_STRING ||
	    !*config_setting_get_string(s) ||
	    strlen(config_setting_get_string(s)) > RELEASE_MAX) {
		nacre_pol_fail(c, s, "a manifest needs release = \"NAME\"; (1 "
			       "to %d characters), e.g. release = \"1.4\";",
			       RELEASE_MAX);
		goto out;
	}
	for (const char *q = config_setting_get_string(s); *q; q++)
		if (*q < 0x20 || *q > 0x7e) {
			nacre_pol_fail(c, s, "release must be printable ASCII");
			goto out;
		}
	if (!(m->release = strdup(config_setting_get_string(s)))) {
		nacre_pol_fail(c, s, "out of memory");
		goto out;
	}
	if ((s = config_setting_get_member(root, "nitro")) &&
	    manifest_nitro(c, m, s) < 0)
		goto out;
	if ((s = config_setting_get_member(root, "tdx")) &&
	    manifest_fields(c, s, "tdx", tdx_keys, NULL, 7, &m->tdx_mask,
			    m->tdx) < 0)
		goto out;
	if ((s = config_setting_get_member(root, "snp")) &&
	    manifest_fields(c, s, "snp", snp_keys, snp_lens, 3, &m->snp_mask,
			    m->snp) < 0)
		goto out;
	if (!m->pcr_mask && !m->tdx_mask && !m->snp_mask) {
		nacre_pol_fail(c, NULL, "release %s describes no platform; add "
			       "nitro = { pcr0 = ...; }, tdx = { mrtd = ...; } "
			       "or snp = { measurement = ...; }", m->release);
		goto out;
	}
	rc = 0;
out:
	config_destroy(&cfg);
	return rc;
}

/* the manifest's values into the policy's sets */
static int
apply(struct nacre_policy *p, const struct nacre_manifest *m)
{
	struct nacre_vals *tdx[7] = { &p->tdx.mrtd, &p->tdx.rtmr[0],
		&p->tdx.rtmr[1], &p->tdx.rtmr[2], &p->tdx.rtmr[3],
		&p->tdx.mrconfigid, &p->tdx.mrowner };
	struct nacre_vals *snp[3] = { &p->snp.measurement, &p->snp.host_data,
		&p->snp.id_key_digest };

	for (unsigned i = 0; i < NACRE_POL_NPCRS; i++)
		if ((m->pcr_mask & (1u << i)) &&
		    nacre_policy_add_pcr(p, i, m->pcr[i], 48) < 0)
			return -1;
	if (m->tdx_mask && !p->tdx.described) {
		p->tdx.described = true;
		p->tdx.intel_root = true; /* as a tdx section without roots */
	}
	for (unsigned k = 0; k < 7; k++)
		if ((m->tdx_mask & (1u << k)) &&
		    nacre_vals_add(tdx[k], m->tdx[k], 48) < 0)
			return -1;
	if (m->snp_mask && !p->snp.described) {
		p->snp.described = true;
		p->snp.amd_products = 1u << NACRE_SNP_PRODUCT_MILAN |
				      1u << NACRE_SNP_PRODUCT_GENOA;
	}
	for (unsigned k = 0; k < 3; k++)
		if ((m->snp_mask & (1u << k)) &&
		    nacre_vals_add(snp[k], m->snp[k], snp_lens[k]) < 0)
			return -1;
	return 0;
}

static int
load_one(struct pctx *c, struct nacre_policy *p, const config_setting_t *s,
	 int i, const char *v)
{
	struct nacre_manifest *m;
	char path[4096], err[NACRE_ERRLEN], *text;
	struct pctx mc;

	if (p->nmanifests == NACRE_MANIFESTS_MAX)
		return nacre_pol_fail(c, s, "manifests: more than %d; drop the "
				      "releases you no longer run",
				      NACRE_MANIFESTS_MAX);
	nacre_pol_path(c, v, path, sizeof(path));
	if (!(text = nacre_read_text_file(path, MANIFEST_FILE_MAX,
					  "release manifest", err,
					  sizeof(err))))
		return nacre_pol_fail(c, s, "manifests[%d]: %s", i, err);
	m = &p->manifests[p->nmanifests];
	memset(m, 0, sizeof(*m));
	mc = (struct pctx){ path, c->base_dir, c->err, c->errlen };
	if (!(m->path = strdup(path)) || manifest_text(&mc, m, text) < 0) {
		if (!m->path)
			nacre_pol_fail(c, s, "out of memory");
		free(m->path);
		free(m->release);
		free(text);
		return -1;
	}
	free(text);
	p->nmanifests++;
	for (size_t k = 0; k + 1 < p->nmanifests; k++)
		if (strcmp(p->manifests[k].release, m->release) == 0)
			return nacre_pol_fail(c, s, "manifests[%d]: %s describes "
				    "release %s again (also %s); keep one "
				    "manifest per release", i, path,
				    m->release, p->manifests[k].path);
	if (apply(p, m) < 0)
		return nacre_pol_fail(c, s, "out of memory");
	return 0;
}

int
nacre_pol_parse_manifests(struct pctx *c, struct nacre_policy *p,
			  const config_setting_t *s)
{
	int n = config_setting_length(s);

	if (!nacre_pol_is_list(s) || n == 0)
		return nacre_pol_fail(c, s, "manifests must be a non-empty list "
				      "of file names like [ \"release-1.4.conf\" "
				      "]");
	if (n > NACRE_MANIFESTS_MAX)
		return nacre_pol_fail(c, s, "manifests: more than %d; drop the "
				      "releases you no longer run",
				      NACRE_MANIFESTS_MAX);
	if (!(p->manifests = calloc((size_t)n, sizeof(*p->manifests))))
		return nacre_pol_fail(c, s, "out of memory");
	for (int i = 0; i < n; i++) {
		const char *v = nacre_pol_elem_string(s, i);

		if (!v || !*v)
			return nacre_pol_fail(c, s, "manifests[%d] must be a "
					      "file name", i);
		if (load_one(c, p, s, i, v) < 0)
			return -1;
	}
	return 0;
}

void
nacre_pol_manifests_free(struct nacre_policy *p)
{
	for (size_t i = 0; i < p->nmanifests; i++) {
		free(p->manifests[i].release);
		free(p->manifests[i].path);
	}
	free(p->manifests);
	p->manifests = NULL;
	p->nmanifests = 0;
}

const char *
nacre_manifest_match_nitro(const struct nacre_policy *p, uint32_t pcr_mask,
			   const uint8_t (*pcr)[48])
{
	for (size_t i = 0; i < p->nmanifests; i++) {
		const struct nacre_manifest *m = &p->manifests[i];
		bool ok = m->pcr_mask != 0;

		for (unsigned k = 0; ok && k < NACRE_POL_NPCRS; k++)
			if (m->pcr_mask & (1u << k))
				ok = (pcr_mask & (1u << k)) &&
				     memcmp(m->pcr[k], pcr[k], 48) == 0;
		if (ok)
			return m->release;
	}
	return NULL;
}

static const char *
match(const struct nacre_policy *p, bool tdx, const uint8_t *const *vals,
      size_t nvals)
{
	for (size_t i = 0; i < p->nmanifests; i++) {
		const struct nacre_manifest *m = &p->manifests[i];
		unsigned mask = tdx ? m->tdx_mask : m->snp_mask;
		bool ok = mask != 0;

		for (size_t k = 0; ok && k < nvals; k++)
			if (mask & (1u << k))
				ok = memcmp(tdx ? m->tdx[k] : m->snp[k], vals[k],
					    tdx ? 48 : snp_lens[k]) == 0;
		if (ok)
			return m->release;
	}
	return NULL;
}

const char *
nacre_manifest_match_tdx(const struct nacre_policy *p,
			 const uint8_t *const vals[7])
{
	return match(p, true, vals, 7);
}

const char *
nacre_manifest_match_snp(const struct nacre_policy *p,
			 const uint8_t *const vals[3])
{
	return match(p, false, vals, 3);
}
