/*
 * pool.c: where what an idle connection keeps is allocated.
 *
 * An idle TLS connection keeps about 4 KB with nacre's records (its
 * struct nacre_conn, its record layer (record.c) and two OpenSSL cipher
 * contexts), about 15 KB with OpenSSL's (the SSL and what the handshake
 * hangs on it: session, key shares, transcript, cipher contexts). From malloc
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
 * it (nacre_pool_crypto): around creating a connection's cipher contexts
 * (compact records), or, with OpenSSL's records, around SSL_new and each
 * handshake step, there only those of at most 2 KiB (what the handshake
 * hangs on the SSL for good is small objects; its larger buffers are
 * freed when it ends and would stay behind in the pool as free slots);
 * CRYPTO_set_mem_functions routes them, and frees find their home by
 * address. libevent's allocations all come from here (event.h's
 * event_set_mem_functions): its entry per descriptor number is made the
 * first time that number is watched, in the middle of a burst of
 * handshakes, and kept for good. Free slots are reused by size; their
 * addresses are kept outside them, so a page made only of free slots
 * holds nothing the pool needs: nacre_pool_trim gives such pages back to
 * the kernel after a burst of connections has closed (the daemon's
 * periodic trim). The stacks themselves (8 bytes per free slot, malloc)
 * stay as large as the peak until their slots are taken again: about 0.4
 * KiB per connection of the peak with OpenSSL's records.
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
#include <unistd.h>

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

/* address space: 7/8 for connections (~60k with OpenSSL's records, ~230k
 * with compact), 1/8 for libevent; beyond, allocations go to malloc */
#define POOL_RESERVE ((size_t)1 << 30)
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

/* free slots, per size class: stacks of addresses kept outside the slots,
 * so that a free slot's bytes hold nothing the pool needs and pages made
 * only of free slots can be given back (nacre_pool_trim) */
struct freestack {
	unsigned char **a;
	size_t n, cap;
};

/* Two arenas in the one reserved region: what lives and dies with
 * connections (ours, OpenSSL's), and libevent's, whose entry per
 * descriptor number is kept for good: among the connections' slots those
 * would keep every page partly in use, and no page could be given back. */
enum { AR_CONN, AR_EVENT, NARENAS };
static struct arena {
	unsigned char *base, *bump, *end;
#ifdef POOL_ASAN
	unsigned char *rooted; /* LSan roots cover [base, rooted) */
#endif
	struct freestack free_slots[NCLASSES];
} ar[NARENAS];
#define EVENT_SHARE 8 /* libevent's arena: 1/8 of the region */
static unsigned char *base, *end; /* the whole region */
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local size_t crypto_max; /* nacre_pool_crypto */

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

static struct arena *
arena_of(const unsigned char *s)
{
	return s < ar[AR_EVENT].base ? &ar[AR_CONN] : &ar[AR_EVENT];
}

/* NULL when the pool is off, full, or N too large: the caller mallocs */
static void *
slot_get(size_t n, struct arena *a)
{
	size_t total = (n + HDR + GRAIN - 1) / GRAIN * GRAIN;
	unsigned cls = (unsigned)(total / GRAIN);
	unsigned char *s = NULL;

	if (!a || !a->base || n == 0 || total > SLOT_MAX)
		return NULL;
	pthread_mutex_lock(&mtx);
	if (a->free_slots[cls].n > 0) {
		s = a->free_slots[cls].a[--a->free_slots[cls].n];
	} else if ((size_t)(a->end - a->bump) >= total) {
		s = a->bump;
		a->bump += total;
#ifdef POOL_ASAN
		while (a->rooted < a->bump) {
			__lsan_register_root_region(a->rooted, ROOT_CHUNK);
			a->rooted += ROOT_CHUNK;
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
	struct freestack *fs;
	size_t total;

	if (h->magic != MAGIC || cls == 0 || cls >= NCLASSES)
		abort(); /* not a slot: a wild or double free */
	total = (size_t)cls * GRAIN;
	h->magic = 0; /* a second free of it aborts */
	pthread_mutex_lock(&mtx);
	fs = &arena_of(s)->free_slots[cls];
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 64;
		unsigned char **a = realloc(fs->a, cap * sizeof(*a));
		if (!a) { /* no memory to note it: the slot stays unused */
			pthread_mutex_unlock(&mtx);
			return;
		}
		fs->a = a;
		fs->cap = cap;
	}
	fs->a[fs->n++] = s;
	POISON(s + HDR, total - HDR);
	pthread_mutex_unlock(&mtx);
}

void *
nacre_pool_alloc(size_t n)
{
	void *p = slot_get(n, &ar[AR_CONN]);

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

/* the pages of arena A made only of free slots: MADV_DONTNEED; bytes
 * advised. Called with the lock held. */
static size_t
arena_trim(struct arena *a, size_t pg)
{
	size_t npages = (size_t)(a->bump - a->base) / pg; /* bump's page stays */
	size_t advised = 0;
	uint32_t *cov; /* free bytes on each page */

	if (npages == 0 || !(cov = calloc(npages, sizeof(*cov))))
		return 0;
	for (size_t cls = 1; cls < NCLASSES; cls++) {
		struct freestack *fs = &a->free_slots[cls];

		for (size_t i = 0; i < fs->n; i++) {
			size_t lo = (size_t)(fs->a[i] - a->base);
			size_t hi = lo + cls * GRAIN;

			for (size_t p = lo / pg; p < npages && p * pg < hi; p++) {
				size_t x = lo > p * pg ? lo : p * pg;
				size_t y = hi < (p + 1) * pg ? hi : (p + 1) * pg;
				cov[p] += (uint32_t)(y - x);
			}
		}
		/* a stack left mostly empty by a burst gives back its room */
		if (fs->cap > 64 && fs->n < fs->cap / 4) {
			size_t cap = fs->n * 2 > 64 ? fs->n * 2 : 64;
			unsigned char **na = realloc(fs->a, cap * sizeof(*na));
			if (na) {
				fs->a = na;
				fs->cap = cap;
			}
		}
	}
	for (size_t p = 0; p < npages;) {
		size_t q = p;

		while (q < npages && cov[q] == pg)
			q++;
		if (q == p) {
			p++;
			continue;
		}
		if (madvise(a->base + p * pg, (q - p) * pg, MADV_DONTNEED) == 0)
			advised += (q - p) * pg;
		p = q;
	}
	free(cov);
	return advised;
}

/* Pages made only of free slots go back to the kernel (MADV_DONTNEED:
 * they read as zeros, and cost nothing until a slot on them is handed
 * out again), so that the pool shrinks after a burst of connections has
 * closed. The daemon runs it with malloc_trim (main.c). It holds the
 * pool's lock for one walk over the free slots and the pages: a few
 * milliseconds for a pool of 100k free slots. Returns the bytes of the
 * pages advised (pages given back at an earlier trim count again). */
size_t
nacre_pool_trim(void)
{
	const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t advised = 0;

	if (!base)
		return 0;
	pthread_mutex_lock(&mtx);
	for (int i = 0; i < NARENAS; i++)
		advised += arena_trim(&ar[i], pg);
	pthread_mutex_unlock(&mtx);
	return advised;
}

void
nacre_pool_crypto(size_t max)
{
	crypto_max = max;
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
alloc_in(size_t n, struct arena *a)
{
	void *p = a ? slot_get(n, a) : NULL;

	return p ? p : malloc(n);
}

/* realloc for pointers from either place; a slot that must grow moves
 * to the pool when POOL, else to malloc */
static void *
realloc_in(void *p, size_t n, struct arena *a)
{
	void *q;

	if (!p)
		return alloc_in(n, a);
	if (!owns(p))
		return realloc(p, n);
	if (n == 0) {
		slot_put(p);
		return NULL;
	}
	if (n <= usable(p))
		return p;
	if (!(q = alloc_in(n, a)))
		return NULL;
	memcpy(q, p, usable(p));
	slot_put(p);
	return q;
}

/* OpenSSL: to the pool only while this thread asked (nacre_pool_crypto) */
static struct arena *
crypto_arena(size_t n)
{
	return n <= crypto_max ? &ar[AR_CONN] : NULL;
}

static void *
crypto_malloc(size_t n, const char *file, int line)
{
	return alloc_in(n, crypto_arena(n));
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
		return alloc_in(n, crypto_arena(n));
	have = owns(p) ? usable(p) : malloc_usable_size(p);
	if (n == 0) {
		wipe(p);
		nacre_pool_free(p);
		return NULL;
	}
	if (n <= have)
		return p;
	/* never realloc(): it could move the bytes and leave the old ones */
	if (!(q = alloc_in(n, crypto_arena(n))))
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
	return alloc_in(n, &ar[AR_EVENT]);
}

static void *
ev_realloc(void *p, size_t n)
{
	return realloc_in(p, n, &ar[AR_EVENT]);
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
	base = m;
	end = base + POOL_RESERVE;
	ar[AR_CONN].base = base;
	ar[AR_CONN].end = ar[AR_EVENT].base =
		base + POOL_RESERVE - POOL_RESERVE / EVENT_SHARE;
	ar[AR_EVENT].end = end;
	for (int i = 0; i < NARENAS; i++) {
		ar[i].bump = ar[i].base;
#ifdef POOL_ASAN
		ar[i].rooted = ar[i].base;
#endif
	}
	return 0;
}
