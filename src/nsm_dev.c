/*
 * nsm_dev.c: the /dev/nsm transport: one ioctl carries a CBOR request in
 * and the CBOR response out (Linux uapi <linux/nsm.h>, redeclared here so
 * nacre builds against older kernel headers).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest.h"

struct nsm_iovec {
	uint64_t addr;
	uint64_t len;
};

struct nsm_raw {
	struct nsm_iovec request;
	struct nsm_iovec response; /* len: buffer size in, response size out */
};

#define NSM_IOCTL_RAW _IOWR(0x0A, 0, struct nsm_raw)
_Static_assert(NSM_IOCTL_RAW == 0xC0200A00, "NSM_IOCTL_RAW");

int
nacre_nsm_dev_open(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENODEV || e == ENXIO)
			nacre_seterr(err, errlen, "cannot open %s: %s: nacred is not "
			       "running inside a Nitro enclave (or the nsm driver "
			       "is not loaded); for development set "
			       "attestation.provider = \"sim\"", path, strerror(e));
		else if (e == EACCES || e == EPERM)
			nacre_seterr(err, errlen, "cannot open %s: %s: run nacred as a "
			       "user that may open it (root in the enclave)", path,
			       strerror(e));
		else
			nacre_seterr(err, errlen, "cannot open %s: %s", path, strerror(e));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
		nacre_seterr(err, errlen, "%s is not a character device, so not the "
		       "Nitro Secure Module", path);
		close(fd);
		return -1;
	}
	return fd;
}

int
nacre_nsm_dev_transport(void *ctx, const uint8_t *req, size_t reqlen,
			uint8_t *resp, size_t *resplen, char *err,
			size_t errlen)
{
	int fd = *(int *)ctx;
	struct nsm_raw raw = {
		.request = { (uintptr_t)req, reqlen },
		.response = { (uintptr_t)resp, *resplen },
	};
	int rc;

	if (reqlen > NACRE_NSM_REQUEST_MAX) {
		nacre_seterr(err, errlen, "NSM request of %zu bytes exceeds the %d-byte "
		       "limit", reqlen, NACRE_NSM_REQUEST_MAX);
		return -1;
	}
	do
		rc = ioctl(fd, NSM_IOCTL_RAW, &raw);
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		int e = errno;
		nacre_seterr(err, errlen, "NSM ioctl: %s%s", strerror(e),
		       e == ENOTTY || e == EINVAL ?
		       " (the device is not the Nitro Secure Module)" :
		       e == EMSGSIZE ? " (request or response too large)" : "");
		return -1;
	}
	if (raw.response.len > *resplen) {
		nacre_seterr(err, errlen, "NSM ioctl: response length %llu exceeds the "
		       "%zu-byte buffer", (unsigned long long)raw.response.len,
		       *resplen);
		return -1;
	}
	*resplen = (size_t)raw.response.len;
	return 0;
}
