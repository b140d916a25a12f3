/*
 * test_process.c: what nacred sets up about itself at start (process.c):
 * not dumpable, no core size, a secure heap that the TLS private key then
 * lives in, the descriptor limit raised and the budget it gives.
 */
#define OPENSSL_API_COMPAT 0x10100000L /* EC_KEY_get0_private_key */
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <openssl/ec.h>
#include <openssl/ssl.h>

#include "nacred.h"
#include "runtime.h"
#include "tap.h"

static const char conf[] =
	"listen = ( { address = \"tcp:127.0.0.1:8443\"; } );\n"
	"upstream = { address = \"unix:/run/app.sock\"; };\n";

int
main(void)
{
	struct nacre_process p;
	struct nacre_config *cfg = NULL;
	struct rlimit rl;
	char err[NACRE_ERRLEN];
	SSL_CTX *ctx;
	uint64_t cap;

	/* a soft limit below the hard one, to see it raised */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max > 256) {
		rl.rlim_cur = 256;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	nacre_process_harden(&p, 10000);
	CHECK(prctl(PR_GET_DUMPABLE) == 0, "not dumpable");
	CHECK(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 && rl.rlim_max == 0,
	      "core size limit 0, soft and hard");
	CHECK(p.dumpable_off && p.core_off, "both reported done");
	CHECK(p.secure_heap != 0 && CRYPTO_secure_malloc_initialized(),
	      "OpenSSL's secure heap is set up");
	CHECK(p.secure_heap_size >= 10000 * 128,
	      "the secure heap has room for 10000 connections' ephemeral keys");
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur == rl.rlim_max &&
	      p.nofile_soft == rl.rlim_max && p.nofile_was == 256,
	      "descriptor soft limit raised to the hard limit (from 256)");

	/* the TLS key made after that is in the secure heap */
	CHECK(nacre_config_parse(conf, "test.conf", &cfg, err, sizeof(err)) == 0,
	      "a config");
	size_t used0 = CRYPTO_secure_used();
	ctx = cfg ? nacre_tls_ctx_new(cfg, NULL, NULL, err, sizeof(err)) : NULL;
	CHECK(ctx != NULL, "a TLS context with a fresh key");
	if (ctx) {
		EVP_PKEY *pk = SSL_CTX_get0_privatekey(ctx);
		const EC_KEY *ec = pk ? EVP_PKEY_get0_EC_KEY(pk) : NULL;
		const BIGNUM *d = ec ? EC_KEY_get0_private_key(ec) : NULL;
		CHECK(d && BN_get_flags(d, BN_FLG_SECURE),
		      "the private key's scalar is marked secure");
		/* BN_FLG_SECURE alone does not say where: the heap grew */
		CHECK(CRYPTO_secure_used() > used0,
		      "the private key was allocated in the secure heap");
		SSL_CTX_free(ctx);
	}

	/* the budget: 2 descriptors a connection, under the limit */
	rl.rlim_cur = rl.rlim_max = 128;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
		struct nacre_process q = p;
		q.nofile_soft = 128;
		cap = nacre_process_fd_budget(&q);
		CHECK(cap > 20 && cap < 64 && atomic_load(&nacre_fd_conn_cap) == cap,
		      "128 descriptors: room for fewer than 64 connections");
	} else {
		CHECK(0, "lower the descriptor limit for the budget check");
	}
	nacre_config_free(cfg);
	TAP_DONE();
}
