/*
 * provider.c: opens the configured attestation provider and works out what
 * the sim provider measures. A provider that cannot work stops start-up with
 * the cause and the fix; nothing is served without evidence.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "attest.h"
#include "runtime.h"
#include "tee/tee.h"
#include "tee/tee_provider.h"

/* PCR0 of the sim = SHA-384 over the nacred executable's bytes, so a policy
 * can pin what `sha384sum nacred` prints. The other PCRs stay zero. */
static int
pcrs_from_binary(uint8_t pcrs[16][48], char *err, size_t errlen)
{
	unsigned char buf[65536];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned len = 48;
	ssize_t n;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	memset(pcrs, 0, 16 * 48);
	if (fd < 0 || !md || !EVP_DigestInit_ex(md, EVP_sha384(), NULL)) {
		snprintf(err, errlen, "sim: cannot read /proc/self/exe to measure "
			 "nacred; set attestation.sim.pcrs_from = \"config\"");
		goto fail;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(md, buf, (size_t)n);
	if (n < 0 || !EVP_DigestFinal_ex(md, pcrs[0], &len)) {
		snprintf(err, errlen, "sim: cannot measure /proc/self/exe");
		goto fail;
	}
	close(fd);
	EVP_MD_CTX_free(md);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(md);
	return -1;
}

int
nacre_sim_tee_dir(const char *sim_root, enum nacre_sim_platform p, char *out,
		  size_t cap)
{
	char copy[PATH_MAX];
	const char *d;
	int n;

	if (strlen(sim_root) >= sizeof(copy))
		return -1;
	memcpy(copy, sim_root, strlen(sim_root) + 1);
	d = dirname(copy);
	n = snprintf(out, cap, "%s/%s", strcmp(d, "/") == 0 ? "" : d,
		     p == NACRE_SIM_TDX ? "sim-tdx" : "sim-snp");
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

static struct nacre_attest *
tsm_open(const struct nacre_config *cfg, char *err, size_t errlen)
{
	struct nacre_tsm_opts o = {
		.path = cfg->attestation.tsm_path,
		.has_privlevel = cfg->attestation.tsm_has_privlevel,
		.privlevel = cfg->attestation.tsm_privlevel,
	};
	struct nacre_attest *a = nacre_tsm_open(&o, err, errlen);

	if (a)
		log_info("attestation provider \"tsm\": evidence %s from "
			 "configfs-tsm at %s", nacre_attest_media_type(a), o.path);
	return a;
}

/* the simulated TDX / SNP hardware: measured as the Nitro sim's PCR0 */
static struct nacre_attest *
sim_tee_open(const struct nacre_config *cfg, const uint8_t m[48],
	     bool at_start, char *err, size_t errlen)
{
	enum nacre_sim_platform sp = cfg->attestation.sim_platform;
	enum nacre_tee_kind p = sp == NACRE_SIM_TDX ? NACRE_TEE_TDX :
						      NACRE_TEE_SNP;
	struct nacre_attest *a;
	char dir[PATH_MAX], hex[97], root[65];

	if (nacre_sim_tee_dir(cfg->attestation.sim_root, sp, dir,
			      sizeof(dir)) < 0) {
		nacre_seterr(err, errlen, "attestation.sim.root %s: its directory "
			     "name is too long", cfg->attestation.sim_root);
		return NULL;
	}
	if (!(a = nacre_tee_sim_open(p, dir, m, at_start, root, err, errlen)))
		return NULL;
	nacre_hex_encode(m, 48, hex);
	log_warn("attestation provider \"sim\", platform \"%s\": evidence is "
		 "SIMULATED %s (%s), signed by keys in %s",
		 nacre_tee_kind_name(p), p == NACRE_TEE_TDX ? "Intel TDX" :
		 "AMD SEV-SNP", nacre_tee_kind_media_type(p), dir);
	log_info("sim %s root %s/%s sha256:%s (name it in client policies)",
		 nacre_tee_kind_name(p), dir, p == NACRE_TEE_TDX ?
		 NACRE_TDX_SIM_ROOT_CRT : NACRE_SNP_SIM_ARK_CRT, root);
	log_info("sim %s %s", p == NACRE_TEE_TDX ? "MRTD" : "MEASUREMENT",
		 hex);
	return a;
}

struct nacre_attest *
nacre_provider_open(const struct nacre_config *cfg, bool at_start, char *err,
		    size_t errlen)
{
	struct nacre_attest *a;
	uint8_t pcrs[16][48];
	char hex[97];
	struct stat st;

	if (cfg->attestation.provider == NACRE_ATTEST_NITRO)
		return nacre_attest_nitro_open(cfg->attestation.nitro_device, err,
					       errlen);
	if (cfg->attestation.provider == NACRE_ATTEST_TSM)
		return tsm_open(cfg, err, errlen);
	if (cfg->attestation.sim_pcrs_from_binary) {
		if (pcrs_from_binary(pcrs, err, errlen) < 0)
			return NULL;
	} else {
		memcpy(pcrs, cfg->attestation.sim_pcrs, sizeof(pcrs));
	}
	if (cfg->attestation.sim_platform != NACRE_SIM_NITRO)
		return sim_tee_open(cfg, pcrs[0], at_start, err, errlen);
	/* a new sim root (and fingerprint) only at start: clients pin it,
	 * and a reload must not change it behind their back */
	if (!at_start && lstat(cfg->attestation.sim_root, &st) < 0 &&
	    errno == ENOENT) {
		nacre_seterr(err, errlen, "sim root %s is gone; restore it, or "
			     "restart nacred to create a new root (and re-pin its "
			     "fingerprint)", cfg->attestation.sim_root);
		return NULL;
	}
	a = nacre_attest_sim_open(cfg->attestation.sim_root,
				  (const uint8_t (*)[48])pcrs, err, errlen);
	if (!a)
		return NULL;
	nacre_hex_encode(pcrs[0], 48, hex);
	log_warn("attestation provider \"sim\": evidence is SIMULATED, signed by "
		 "the local root %s", cfg->attestation.sim_root);
	log_info("sim root sha256:%s (pin it in client policies)",
		 nacre_attest_sim_root_sha256_hex(a));
	log_info("sim PCR0 %s", hex);
	return a;
}
