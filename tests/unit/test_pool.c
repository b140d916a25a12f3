/*
 * test_pool.c: pool.c, initialised first as nacred does: slots are zeroed
 * and reused by size, large requests go to malloc, a double free aborts,
 * and OpenSSL's (while asked, up to a size limit) and libevent's
 * allocations land in the pool and work there; trim gives the pages of
 * free slots back and keeps those in use; in-flight buffers are reused
 * per size.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "nacred.h"
#include "tap.h"

static bool
zeroed(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* AES-256-GCM over a fixed message; the ciphertext and tag into out */
static bool
gcm(EVP_CIPHER_CTX *c, unsigned char out[48])
{
	static const unsigned char key[32] = "0123456789abcdef0123456789abcde";
	static const unsigned char iv[12] = "nonce-nonce";
	int l;

	return EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) == 1 &&
	       EVP_EncryptUpdate(c, out, &l, (const unsigned char *)"thirty-two bytes of plaintext!!", 32) == 1 &&
	       EVP_EncryptFinal_ex(c, out + 32, &l) == 1 &&
	       EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + 32) == 1;
}

int
main(void)
{
	unsigned char *a, *b, *big;
	static unsigned char *many[10000];
	unsigned char lo_hi_ok = 1;
	pid_t pid;
	int status = 0;

	CHECK(nacre_pool_init() == 0, "pool: set up before OpenSSL and libevent allocate");

	a = nacre_pool_alloc(100);
	CHECK(a && nacre_pool_owns(a) && zeroed(a, 100), "pool: a slot, zeroed");
	memset(a, 0xab, 100);
	nacre_pool_free(a);
	b = nacre_pool_alloc(100);
	CHECK(b == a && zeroed(b, 100), "pool: a freed slot is reused, zeroed again");
	nacre_pool_free(b);
	big = nacre_pool_alloc(9000);
	CHECK(big && !nacre_pool_owns(big) && zeroed(big, 9000),
	      "pool: larger than a slot: malloc, zeroed");
	nacre_pool_free(big);
	nacre_pool_free(NULL);

	for (size_t i = 0; i < 10000; i++)
		many[i] = nacre_pool_alloc(3000);
	{
		unsigned char *lo = many[0], *hi = many[0];
		for (size_t i = 0; i < 10000; i++) {
			lo_hi_ok &= many[i] && nacre_pool_owns(many[i]);
			lo = many[i] < lo ? many[i] : lo;
			hi = many[i] > hi ? many[i] : hi;
			memset(many[i], (int)i, 3000);
		}
		for (size_t i = 0; i < 10000; i++)
			nacre_pool_free(many[i]);
		for (size_t i = 0; i < 10000; i++) {
			many[i] = nacre_pool_alloc(3000);
			lo_hi_ok &= many[i] >= lo && many[i] <= hi;
		}
		for (size_t i = 0; i < 10000; i++)
			nacre_pool_free(many[i]);
	}
	CHECK(lo_hi_ok, "pool: 10000 slots freed and taken again: no growth");

	/* trim: the pages of those 10000 free slots go back to the kernel;
	 * a slot still in use keeps its page and its bytes */
	{
		const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
		unsigned char *keep, *lo = many[0], *hi = many[0];
		unsigned char vec[2048];
		size_t advised, resident = 0, pages;
		bool intact = true, usable_again = true;

		for (size_t i = 0; i < 10000; i++) {
			lo = many[i] < lo ? many[i] : lo;
			hi = many[i] > hi ? many[i] : hi;
		}
		keep = nacre_pool_alloc(3000); /* one of the freed ones again */
		memset(keep, 0x5a, 3000);
		advised = nacre_pool_trim();
		CHECK(advised >= 10000 * 3000 - 2 * pg && advised <= 10000 * 3024 + pg,
		      "pool: trim gives back the pages of 10000 free 3000-byte slots");
		/* resident pages over the freed range, in windows mincore takes */
		lo = (unsigned char *)((uintptr_t)lo / pg * pg);
		pages = (size_t)(hi - lo) / pg;
		for (size_t off = 0; off < pages; off += sizeof(vec)) {
			size_t n = pages - off < sizeof(vec) ? pages - off : sizeof(vec);
			if (mincore(lo + off * pg, n * pg, vec) < 0)
				break;
			for (size_t j = 0; j < n; j++)
				resident += vec[j] & 1;
		}
		CHECK(pages > 7000 && resident < pages / 100,
		      "pool: ... and they are no longer resident");
		for (size_t i = 0; i < 3000; i++)
			intact &= keep[i] == 0x5a;
		CHECK(intact, "pool: a slot in use keeps its bytes through a trim");
		for (size_t i = 0; i < 10000; i++) {
			many[i] = nacre_pool_alloc(3000);
			usable_again &= many[i] && nacre_pool_owns(many[i]) &&
					zeroed(many[i], 3000);
			if (many[i])
				memset(many[i], 0x11, 3000);
		}
		CHECK(usable_again, "pool: slots on given-back pages are handed out again");
		for (size_t i = 0; i < 10000; i++)
			nacre_pool_free(many[i]);
		nacre_pool_free(keep);
		(void)nacre_pool_trim();
	}
	pid = fork();
	if (pid == 0) {
		/* a slot in the middle of 64 freed ones: its pages are made
		 * only of free slots, so the trim gives them back and its
		 * header reads zero; a second free of it must still abort */
		unsigned char *s[64], vec[4];
		const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
		unsigned char *hdr_page;

		for (int i = 0; i < 64; i++)
			s[i] = nacre_pool_alloc(5000);
		for (int i = 0; i < 64; i++)
			nacre_pool_free(s[i]);
		(void)nacre_pool_trim();
		hdr_page = (unsigned char *)((uintptr_t)(s[32] - 16) / pg * pg);
		if (mincore(hdr_page, pg, vec) < 0 || (vec[0] & 1))
			_exit(3); /* not given back: this test would not test it */
		nacre_pool_free(s[32]);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	      "pool: a double free of a slot whose page was given back aborts too");

	pid = fork();
	if (pid == 0) {
		unsigned char *p = nacre_pool_alloc(64);
		nacre_pool_free(p);
		nacre_pool_free(p);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	      "pool: a double free aborts");

	{
		EVP_CIPHER_CTX *in, *out;
		unsigned char c1[48], c2[48];

		nacre_pool_crypto(NACRE_POOL_ALL);
		in = EVP_CIPHER_CTX_new();
		nacre_pool_crypto(0);
		out = EVP_CIPHER_CTX_new();
		CHECK(in && nacre_pool_owns(in), "pool: OpenSSL allocates here when asked");
		CHECK(out && !nacre_pool_owns(out), "pool: and from malloc otherwise");
		nacre_pool_crypto(NACRE_POOL_ALL);
		CHECK(gcm(in, c1), "pool: a cipher context set up in the pool works");
		nacre_pool_crypto(0);
		CHECK(gcm(out, c2) && memcmp(c1, c2, 48) == 0,
		      "pool: ... and computes what one from malloc does");
		/* freed from outside the pool mode: found by address */
		EVP_CIPHER_CTX_free(in);
		EVP_CIPHER_CTX_free(out);
	}
	{
		/* a limit: small allocations here, larger ones from malloc */
		void *small, *edge, *over;

		nacre_pool_crypto(NACRE_POOL_HANDSHAKE_MAX);
		small = OPENSSL_malloc(64);
		edge = OPENSSL_malloc(NACRE_POOL_HANDSHAKE_MAX);
		over = OPENSSL_malloc(NACRE_POOL_HANDSHAKE_MAX + 1);
		nacre_pool_crypto(0);
		CHECK(small && nacre_pool_owns(small) && edge && nacre_pool_owns(edge),
		      "pool: under a size limit, allocations up to it come from the pool");
		CHECK(over && !nacre_pool_owns(over),
		      "pool: ... and one byte over it from malloc");
		OPENSSL_free(small);
		OPENSSL_free(edge);
		OPENSSL_free(over);
	}
	{
		void *x = nacre_buf_get(65536), *y, *z, *w[12];
		nacre_buf_put(x, 65536);
		y = nacre_buf_get(16645);
		z = nacre_buf_get(65536);
		CHECK(z == x && y != x, "buffers: one put back is handed out again for its size only");
		nacre_buf_put(y, 16645);
		nacre_buf_put(z, 65536);
		for (int i = 0; i < 12; i++)
			w[i] = nacre_buf_get(4096);
		for (int i = 0; i < 12; i++)
			nacre_buf_put(w[i], 4096); /* 8 kept, the rest freed */
		z = nacre_buf_get(4096);
		CHECK(z == w[11], "buffers: the last one put back comes first");
		nacre_buf_put(z, 4096);
		nacre_buf_flush(); /* ASan: nothing kept leaks */
		y = nacre_buf_get(16645);
		CHECK(y != NULL, "buffers: after a flush, malloc again");
		free(y);
	}
	{
		struct event_base *base = event_base_new();
		CHECK(base && nacre_pool_owns(base), "pool: libevent allocates here");
		event_base_free(base);
	}
	TAP_DONE();
}
