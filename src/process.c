/*
 * process.c: what the daemon sets up about itself at start: no core dumps
 * and no ptrace by other users (its memory holds keys and plaintext), a
 * secure heap for private keys, and the descriptor limit with the budget
 * of connections it allows.
 */
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <openssl/crypto.h>

#include "nacred.h"
#include "runtime.h"

/* OpenSSL puts private keys in its secure heap once there is one
 * (mlocked, MADV_DONTDUMP): ours (TLS, ACME), and each handshake's
 * ephemeral key-exchange key, which an SSL keeps until it is freed (with
 * OpenSSL's records: for the connection's life). A full heap makes
 * handshakes fail (no fallback), so it is sized for max_connections:
 * SECURE_PER_CONN each, plus room for the keys of many generations. */
#define SECURE_PER_CONN 128
#define SECURE_BASE (256 * 1024)
#define SECURE_CAP ((size_t)64 << 20)
#define SECURE_MIN 16
/* descriptors kept back from connections: reload and rotation read
 * files, the provider opens its device, libevent and logging need a few */
#define FD_SPARE 16

atomic_uint_fast64_t nacre_fd_conn_cap = UINT64_MAX;

static size_t
heap_size(uint64_t max_connections)
{
	uint64_t want = SECURE_BASE + max_connections * SECURE_PER_CONN;
	size_t n = SECURE_BASE;

	while (n < want && n < SECURE_CAP)
		n <<= 1; /* a power of two, as CRYPTO_secure_malloc_init asks */
	return n;
}

void
nacre_process_harden(struct nacre_process *p, uint64_t max_connections)
{
	struct rlimit core, nofile;

	memset(p, 0, sizeof(*p));
	/* a crash writes no core; only root may attach a debugger or read
	 * /proc/PID/mem. The unit sets LimitCORE=0 and forbids setrlimit():
	 * it is called only when the limit is not already what we want */
	p->dumpable_off = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
	if (getrlimit(RLIMIT_CORE, &core) == 0 && core.rlim_cur == 0 &&
	    core.rlim_max == 0) {
		p->core_off = true;
	} else {
		core.rlim_cur = core.rlim_max = 0;
		p->core_off = setrlimit(RLIMIT_CORE, &core) == 0;
	}
	if (CRYPTO_secure_malloc_initialized())
		p->secure_heap = 1;
	else
		p->secure_heap = CRYPTO_secure_malloc_init(
			heap_size(max_connections), SECURE_MIN);
	p->secure_heap_size = heap_size(max_connections);
	/* 2 per connection: take what the hard limit allows */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
		p->nofile_was = p->nofile_soft = nofile.rlim_cur;
		p->nofile_hard = nofile.rlim_max;
		if (nofile.rlim_cur < nofile.rlim_max) {
			nofile.rlim_cur = nofile.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &nofile) == 0)
				p->nofile_soft = nofile.rlim_cur;
		}
	}
}

static unsigned
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 64; /* a guess on the safe side */
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0; /* not the one opendir holds */
}

uint64_t
nacre_process_fd_budget(const struct nacre_process *p)
{
	uint64_t used = open_fds() + FD_SPARE, cap;

	if (p->nofile_soft == (uint64_t)RLIM_INFINITY || p->nofile_soft > (uint64_t)1 << 40)
		cap = UINT64_MAX;
	else
		cap = p->nofile_soft > used ? (p->nofile_soft - used) / 2 : 0;
	atomic_store(&nacre_fd_conn_cap, cap);
	return cap;
}

void
nacre_process_log(const struct nacre_process *p, uint64_t max_connections)
{
	if (p->nofile_was != p->nofile_soft)
		log_info("descriptors: soft limit raised from %llu to the hard limit %llu",
			 (unsigned long long)p->nofile_was,
			 (unsigned long long)p->nofile_soft);
	else
		log_info("descriptors: limit %llu (hard limit %llu)",
			 (unsigned long long)p->nofile_soft,
			 (unsigned long long)p->nofile_hard);
	if (atomic_load(&nacre_fd_conn_cap) != UINT64_MAX)
		log_info("descriptors: room for %llu connections at once",
			 (unsigned long long)atomic_load(&nacre_fd_conn_cap));
	nacre_process_check_budget(max_connections);
	if (!p->dumpable_off || !p->core_off)
		log_warn("cannot turn core dumps off: %s", strerror(errno));
	if (p->secure_heap)
		log_info("secure heap: %zu KiB for private keys (ephemeral ones "
			 "included)", p->secure_heap_size / 1024);
	if (p->secure_heap == 0)
		log_warn("no OpenSSL secure heap: private keys are in ordinary "
			 "memory (still kept out of core dumps by "
			 "PR_SET_DUMPABLE)");
	else if (p->secure_heap == 2)
		log_warn("OpenSSL secure heap not locked in memory (RLIMIT_MEMLOCK "
			 "too small): private keys may be swapped");
}

void
nacre_process_check_budget(uint64_t max_connections)
{
	uint64_t cap = atomic_load(&nacre_fd_conn_cap);

	if (cap == UINT64_MAX)
		return;
	if (max_connections > cap)
		log_warn("limits.max_connections = %llu needs %llu descriptors "
			 "(2 each), but the limit leaves room for %llu "
			 "connections: at most %llu are accepted at once; raise "
			 "LimitNOFILE (ulimit -n) or lower max_connections",
			 (unsigned long long)max_connections,
			 (unsigned long long)max_connections * 2,
			 (unsigned long long)cap, (unsigned long long)cap);
}

uint64_t
nacre_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
