/*
 * pool.c: where what an idle connection keeps is allocated.
 *
 * An idle TLS connection keeps about 4 KB: its struct nacre_conn, its
 * record layer (record.c) and two OpenSSL cipher contexts. From malloc
 * those few objects land in the holes between the handshake's much larger
 * short-lived allocations, so each connection pins three or four heap
 * pages that are otherwise free, and malloc_trim() cannot give them back:
 * 13.5 KiB resident per idle connection for 4 KB in use.
 *
 * So they come from here instead: one region reserved at start (address
 * space only; pages become resident as they are first used), carved into
 * slots of 16-byte size classes, freed slots reused by size. What the
 * handshakes leave behind in malloc's heap is then all free and trimmed.
 * OpenSSL's allocations go to the pool only while a thread has asked for
 * it (nacre_pool_crypto), around creating a connection's cipher contexts;
 * CRYPTO_set_mem_functions routes them, and frees find their home by
 * address. libevent's allocations all come from here (event.h's
 * event_set_mem_functions): its entry per descriptor number is made the
 * first time that number is watched, in the middle of a burst of
 * handshakes, and kept for good. The pool's pages are reused, not
 * returned: it stays as large
 * as the most connections held at once (about 4 KB each).
 *
 * Without nacre_pool_init (tests, tools) everything is plain malloc.
 * Under ASan free slots are poisoned, so use after free is still caught,
 * and the part of the region in use is a LeakSanitizer root (objects
 * malloc'd and pointed to only from pool slots are not leaks).
 */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "nacred.h"

#if defined(__SANITIZE_ADDRESS__)
#define POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_ASAN 1
#endif
#endif
#ifdef POOL_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define POOL_RESERVE ((size_t)1 << 30) /* address space: ~250k connections */
#define GRAIN 16
#define HDR GRAIN                       /* keeps slots 16-byte aligned */
#define SLOT_MAX 8192                   /* larger: malloc (an SSL fits) */
#define NCLASSES (SLOT_MAX / GRAIN + 1)
#define ROOT_CHUNK ((size_t)1 << 20)    /* ASan: registered as bump reaches it */

struct slot_hdr {
	uint32_t cls; /* slot size / GRAIN, header included */
	uint32_t magic;
};
#define MAGIC 0x6e616372u

static unsigned char *base, *bump, *end;
#ifdef POOL_ASAN
static unsigned char *rooted; /* LSan roots cover [base, rooted) */
#endif
static void *free_list[NCLASSES];
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local bool crypto_here;

static bool
owns(const void *p)
{
	return base && (const unsigned char *)p >= base &&
	       (const unsigned char *)p < end;
}

static size_t
usable(const void *p)
{
	const struct slot_hdr *h = (const struct slot_hdr *)((const unsigned char *)p - HDR);

	return (size_t)h->cls * GRAIN - HDR;
}

/* NULL when the pool is off, full, or N too large: the caller mallocs */
static void *
slot_get(size_t n)
{
	size_t total = (n + HDR + GRAIN - 1) / GRAIN * GRAIN;
	unsigned cls = (unsigned)(total / GRAIN);
	unsigned char *s = NULL;

	if (!base || n == 0 || total > SLOT_MAX)
		return NULL;
	pthread_mutex_lock(&mtx);
	if (free_list[cls]) {
		s = free_list[cls];
		UNPOISON(s, total);
		memcpy(&free_list[cls], s, sizeof(void *));
	} else if ((size_t)(end - bump) >= total) {
		s = bump;
		bump += total;
#ifdef POOL_ASAN
		while (rooted < bump) {
			__lsan_register_root_region(rooted, ROOT_CHUNK);
			rooted += ROOT_CHUNK;
		}
#endif
	}
	pthread_mutex_unlock(&mtx);
	if (!s)
		return NULL;
	UNPOISON(s, total);
	((struct slot_hdr *)s)->cls = cls;
	((struct slot_hdr *)s)->magic = MAGIC;
	return s + HDR;
}

static void
slot_put(void *p)
{
	unsigned char *s = (unsigned char *)p - HDR;
	struct slot_hdr *h = (struct slot_hdr *)s;
	uint32_t cls = h->cls;
	size_t total;

	if (h->magic != MAGIC || cls == 0 || cls >= NCLASSES)
		abort(); /* not a slot: a wild or double free */
	total = (size_t)cls * GRAIN;
	h->magic = 0;
	/* the link to the next free slot goes over the header */
	pthread_mutex_lock(&mtx);
	memcpy(s, &free_list[cls], sizeof(void *));
	free_list[cls] = s;
	POISON(s + sizeof(void *), total - sizeof(void *));
	pthread_mutex_unlock(&mtx);
}

void *
nacre_pool_alloc(size_t n)
{
	void *p = slot_get(n);

	if (p) {
		memset(p, 0, n);
		return p;
	}
	return calloc(1, n);
}

void
nacre_pool_free(void *p)
{
	if (!p)
		return;
	if (owns(p))
		slot_put(p);
	else
		free(p);
}

bool
nacre_pool_owns(const void *p)
{
	return owns(p);
}

void
nacre_pool_crypto(bool on)
{
	crypto_here = on;
}

/* ---- in-flight buffers: a few kept per thread ----
 * A request through a keep-alive connection takes four buffers (16 to 64
 * KiB: read records, plaintext each way, sealed records) and gives them
 * back when it is through, so that an idle connection holds none. The
 * last few freed are kept per worker thread and handed out again before
 * malloc is asked: no lock, no trip through malloc's large bins. */
#define BUF_CACHE 8

struct buf_cache {
	size_t n;
	struct { void *p; size_t size; } e[BUF_CACHE];
};
static _Thread_local struct buf_cache bufs;
static _Thread_local bool bufs_registered; /* for bufs_release at exit */
static pthread_key_t bufs_key;
static pthread_once_t bufs_once = PTHREAD_ONCE_INIT;

/* at thread exit, what the thread kept goes back to malloc */
static void
bufs_release(void *arg)
{
	struct buf_cache *c = arg;

	while (c->n > 0) {
		c->n--;
		free(c->e[c->n].p);
	}
}

static void
bufs_init(void)
{
	(void)pthread_key_create(&bufs_key, bufs_release);
}

void *
nacre_buf_get(size_t size)
{
	for (size_t i = bufs.n; i-- > 0;) {
		if (bufs.e[i].size == size) {
			void *p = bufs.e[i].p;
			bufs.e[i] = bufs.e[--bufs.n];
			return p;
		}
	}
	return malloc(size);
}

void
nacre_buf_put(void *p, size_t size)
{
	if (!p)
		return;
	if (bufs.n == BUF_CACHE) {
		free(bufs.e[0].p); /* the oldest makes room */
		memmove(&bufs.e[0], &bufs.e[1], sizeof(bufs.e[0]) * (BUF_CACHE - 1));
		bufs.n--;
	}
	if (!bufs_registered) {
		pthread_once(&bufs_once, bufs_init);
		bufs_registered = pthread_setspecific(bufs_key, &bufs) == 0;
	}
	bufs.e[bufs.n].p = p;
	bufs.e[bufs.n].size = size;
	bufs.n++;
}

void
nacre_buf_flush(void)
{
	bufs_release(&bufs);
}

/* ---- the allocators handed to OpenSSL and libevent ---- */

/* from the pool when POOL (and it has room), else malloc */
static void *
alloc_in(size_t n, bool pool)
{
	void *p = pool ? slot_get(n) : NULL;

	return p ? p : malloc(n);
}

/* realloc for pointers from either place; a slot that must grow moves
 * to the pool when POOL, else to malloc */
static void *
realloc_in(void *p, size_t n, bool pool)
{
	void *q;

	if (!p)
		return alloc_in(n, pool);
	if (!owns(p))
		return realloc(p, n);
	if (n == 0) {
		slot_put(p);
		return NULL;
	}
	if (n <= usable(p))
		return p;
	if (!(q = alloc_in(n, pool)))
		return NULL;
	memcpy(q, p, usable(p));
	slot_put(p);
	return q;
}

/* OpenSSL: to the pool only while this thread asked (nacre_pool_crypto) */
static void *
crypto_malloc(size_t n, const char *file, int line)
{
	return alloc_in(n, crypto_here);
}

/* What OpenSSL frees is wiped first: traffic secrets, the exporter
 * secret and key schedules in a freed SSL would otherwise stay in the
 * heap (and in any memory dump) until reused. Not the record buffers
 * (16 KiB and more, given back after every request of an idle-prone
 * connection): the read buffer's plaintext is wiped by OpenSSL as it is
 * read (SSL_OP_CLEANSE_PLAINTEXT, set by records/openssl.c) and the
 * write buffer holds ciphertext; wiping them cost a quarter of a
 * keep-alive request's CPU. */
#ifndef WIPE_MAX
#define WIPE_MAX 16384
#endif

static void
wipe(void *p)
{
	size_t n = owns(p) ? usable(p) : malloc_usable_size(p);

	if (n < WIPE_MAX)
		OPENSSL_cleanse(p, n);
}

static void *
crypto_realloc(void *p, size_t n, const char *file, int line)
{
	void *q;
	size_t have;

	if (!p)
		return alloc_in(n, crypto_here);
	have = owns(p) ? usable(p) : malloc_usable_size(p);
	if (n == 0) {
		wipe(p);
		nacre_pool_free(p);
		return NULL;
	}
	if (n <= have)
		return p;
	/* never realloc(): it could move the bytes and leave the old ones */
	if (!(q = alloc_in(n, crypto_here)))
		return NULL;
	memcpy(q, p, have);
	wipe(p);
	nacre_pool_free(p);
	return q;
}

static void
crypto_free(void *p, const char *file, int line)
{
	if (!p)
		return;
	wipe(p);
	nacre_pool_free(p);
}

/* libevent: always to the pool; its per-descriptor entries (made the
 * first time a descriptor number is watched, in the middle of
 * handshakes) are kept for good */
static void *
ev_malloc(size_t n)
{
	return alloc_in(n, true);
}

static void *
ev_realloc(void *p, size_t n)
{
	return realloc_in(p, n, true);
}

static void
ev_free(void *p)
{
	nacre_pool_free(p);
}

int
nacre_pool_init(void)
{
	void *m = mmap(NULL, POOL_RESERVE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED)
		return -1; /* plain malloc then: more memory, same behaviour */
	/* the record layer's traffic secrets and cipher contexts live
	 * here: never in a core dump (process.c keeps the rest out too) */
	(void)madvise(m, POOL_RESERVE, MADV_DONTDUMP);
	if (!CRYPTO_set_mem_functions(crypto_malloc, crypto_realloc, crypto_free)) {
		munmap(m, POOL_RESERVE);
		return -1; /* OpenSSL has allocated already */
	}
	event_set_mem_functions(ev_malloc, ev_realloc, ev_free);
	base = bump = m;
	end = base + POOL_RESERVE;
#ifdef POOL_ASAN
	rooted = base;
#endif
	return 0;
}
