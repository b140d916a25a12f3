/*
 * provider.c: opens the configured attestation provider and works out what
 * the sim provider measures. A provider that cannot work stops start-up with
 * the cause and the fix; nothing is served without evidence.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "attest.h"
#include "runtime.h"

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
	if (cfg->attestation.sim_pcrs_from_binary) {
		if (pcrs_from_binary(pcrs, err, errlen) < 0)
			return NULL;
	} else {
		memcpy(pcrs, cfg->attestation.sim_pcrs, sizeof(pcrs));
	}
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
