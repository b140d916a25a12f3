/*
 * record.c: TLS 1.3 records after the handshake, without OpenSSL's SSL object.
 *
 * Once a TLS 1.3 handshake is done, what a connection needs is small: per
 * direction a cipher context, the traffic secret (for KeyUpdate), the IV
 * and a sequence number (RFC 8446 5.2-5.3, 7.1-7.2). OpenSSL 3.0 keeps
 * about 14 KB per connection for the same job (the SSL object alone is
 * 7.6 KB), which is most of what an idle connection costs. So the
 * connection takes the application traffic secrets (secrets.c keeps them
 * from OpenSSL's key schedule; they go nowhere but here), frees its SSL
 * object, and seals and opens records with this file.
 *
 * What this layer does, and refuses:
 *   - application data in, out; records of at most 2^14 plaintext bytes;
 *   - alerts: close_notify ends the read side, user_canceled is ignored,
 *     any other alert from the peer ends the connection; ours are sent
 *     encrypted, as TLS 1.3 requires after the handshake;
 *   - KeyUpdate from the peer, answered when it asks (update_requested):
 *     the answer is owed (one flag, so requests that arrive while it is
 *     unsent are answered once, RFC 8446 4.6.3) and reading stops until it
 *     is sent, so a peer that asks and never reads cannot make us queue;
 *     and our own KeyUpdate every REKEY_RECORDS records we send, well under
 *     the AES-GCM limit of RFC 8446 5.5 (2^24.5 full records per key);
 *   - OpenSSL's abuse limits: at most MAX_EMPTY_RECORDS empty records in a
 *     row and MAX_WARN_ALERTS user_canceled alerts;
 *   - any other handshake message (NewSessionTicket, post-handshake
 *     authentication: neither is used by a server here), a record of
 *     another outer type (plaintext, change_cipher_spec), an overlong
 *     record, a record that does not decrypt: a fatal alert, and the
 *     connection ends.
 * It knows nothing of sockets: the connection reads ciphertext into
 * nacre_rec_rspace(), takes plaintext from nacre_rec_read(), seals with
 * nacre_rec_seal() and sends what nacre_rec_pending() shows.
 *
 * Buffers are held only while bytes are in them: an idle connection holds
 * the two cipher contexts and this struct. The output buffer has one fixed
 * size (a batch of records and room for an alert and a KeyUpdate); the
 * input buffer is wiped of the plaintext opened in it before it goes back
 * to the cache.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "nacred.h"
#include "records/records.h"

#define HDR 5
#define TAG 16
#define IVLEN 12
#define SECRET_MAX NACRE_SECRET_MAX
#define PLAIN_MAX 16384               /* 2^14 */
#define CT_MAX (PLAIN_MAX + 256)      /* RFC 8446 5.2 */
#define RIN_CAP (HDR + CT_MAX)        /* one whole record always fits */
#define REC_OVERHEAD (HDR + 1 + TAG)  /* header, content type, tag */
#define BATCH_RECORDS 2               /* sealed per batch, sent in one write */
#define SLACK 64                      /* room for an alert or a KeyUpdate */
#define OUT_CAP (BATCH_RECORDS * (REC_OVERHEAD + PLAIN_MAX) + SLACK)
#define REKEY_RECORDS (1ULL << 23)
/* OpenSSL's limits (ssl/record): consecutive empty records, and warning
 * alerts (user_canceled is the only one TLS 1.3 has) before a fatal
 * unexpected_message */
#define MAX_EMPTY_RECORDS 32
#define MAX_WARN_ALERTS 5

/* TLS content types and the alerts this layer sends or knows */
enum { CT_ALERT = 21, CT_HANDSHAKE = 22, CT_DATA = 23 };
enum { HS_KEY_UPDATE = 24 };
enum { REC_AGAIN = 100 }; /* internal: a record with nothing to hand out */
enum {
	AL_CLOSE_NOTIFY = 0, AL_UNEXPECTED_MESSAGE = 10, AL_BAD_RECORD_MAC = 20,
	AL_RECORD_OVERFLOW = 22, AL_ILLEGAL_PARAMETER = 47, AL_DECODE_ERROR = 50,
	AL_INTERNAL_ERROR = 80, AL_USER_CANCELED = 90
};

struct suite {
	uint16_t id;          /* 0x1301 ... */
	const char *cipher;   /* EVP cipher name */
	const char *digest;   /* HKDF hash */
	unsigned keylen, hashlen;
};

static const struct suite suites[] = {
	{ 0x1301, "AES-128-GCM", "SHA256", 16, 32 },
	{ 0x1302, "AES-256-GCM", "SHA384", 32, 48 },
	{ 0x1303, "ChaCha20-Poly1305", "SHA256", 32, 32 },
};
#define NSUITES (sizeof(suites) / sizeof(suites[0]))

/* fetched once per process: no implicit fetch per connection */
static EVP_CIPHER *ciphers[NSUITES];
static EVP_MD *digests[NSUITES];
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

struct dir {
	EVP_CIPHER_CTX *ctx;
	uint8_t secret[SECRET_MAX];
	uint8_t iv[IVLEN];
	uint64_t seq;
};

struct nacre_rec {
	const struct suite *suite;
	struct dir rd, wr;
	uint64_t rekey_after; /* records sent under one key */

	/* read side: ciphertext as read; an opened record's plaintext stays
	 * in place until taken */
	uint8_t *in;
	uint32_t in_off, in_len; /* unprocessed bytes: [in_off, in_len) */
	uint32_t pt_off, pt_len; /* plaintext not yet taken */
	uint32_t in_hi;          /* bytes of in ever filled: wiped on release */
	uint8_t hs[5];           /* a KeyUpdate split over records */
	uint8_t hs_len;
	uint8_t empty_run;       /* empty records in a row */
	uint8_t warn_alerts;     /* user_canceled alerts since the last data */
	bool ku_owed;            /* the peer asked for a KeyUpdate: not sealed */
	bool ku_unsent;          /* ... sealed, in out until out is all sent */
	bool eof;                /* close_notify read */
	bool failed;             /* fatal: nothing more in or out but the alert */

	/* write side: sealed records not yet sent */
	uint8_t *out;
	uint32_t out_head, out_tail, out_cap;
	bool closed;             /* close_notify sealed */

	const char *why;         /* the last error, a static string */
};

static void
fetch_all(void)
{
	for (size_t i = 0; i < NSUITES; i++) {
		ciphers[i] = EVP_CIPHER_fetch(NULL, suites[i].cipher, NULL);
		digests[i] = EVP_MD_fetch(NULL, suites[i].digest, NULL);
	}
}

/* HKDF-Expand-Label(secret, label, "", len) for len <= hash length: one
 * block of HKDF-Expand, i.e. one HMAC (RFC 8446 7.1, RFC 5869 2.3, RFC
 * 2104). HMAC is written out over the digest fetched once: OpenSSL's
 * EVP_MAC looks the digest up by name on every use, which made this the
 * larger part of taking a connection over. */
static int
expand_label(const struct suite *s, const uint8_t *secret, const char *label,
	     uint8_t *out, size_t len)
{
	uint8_t info[2 + 1 + 6 + 32 + 1 + 1], pad[128], inner[EVP_MAX_MD_SIZE],
		t[EVP_MAX_MD_SIZE];
	size_t ll = strlen(label), n = 0, block;
	const EVP_MD *md = digests[s - suites];
	EVP_MD_CTX *m;
	unsigned il = 0, tl = 0;
	int ok;

	if (len > s->hashlen || ll > 32 || !md)
		return -1;
	info[n++] = (uint8_t)(len >> 8);
	info[n++] = (uint8_t)len;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0;    /* empty context */
	info[n++] = 0x01; /* HKDF-Expand block counter */
	block = (size_t)EVP_MD_get_block_size(md); /* 64 or 128: > the secret */
	if (!(m = EVP_MD_CTX_new()))
		return -1;
	memset(pad, 0x36, block);
	for (size_t i = 0; i < s->hashlen; i++)
		pad[i] ^= secret[i];
	ok = EVP_DigestInit_ex2(m, md, NULL) && EVP_DigestUpdate(m, pad, block) &&
	     EVP_DigestUpdate(m, info, n) && EVP_DigestFinal_ex(m, inner, &il);
	memset(pad, 0x5c, block);
	for (size_t i = 0; i < s->hashlen; i++)
		pad[i] ^= secret[i];
	ok = ok && EVP_DigestInit_ex2(m, md, NULL) &&
	     EVP_DigestUpdate(m, pad, block) && EVP_DigestUpdate(m, inner, il) &&
	     EVP_DigestFinal_ex(m, t, &tl) && tl == s->hashlen;
	EVP_MD_CTX_free(m);
	if (ok)
		memcpy(out, t, len);
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
	OPENSSL_cleanse(t, sizeof(t));
	return ok ? 0 : -1;
}

/* key and IV from d->secret into d->ctx; the sequence starts again */
static int
dir_key(struct nacre_rec *r, struct dir *d, int enc)
{
	uint8_t key[32];
	int ok;

	ok = expand_label(r->suite, d->secret, "key", key, r->suite->keylen) == 0 &&
	     expand_label(r->suite, d->secret, "iv", d->iv, IVLEN) == 0 &&
	     EVP_CipherInit_ex(d->ctx, ciphers[r->suite - suites], NULL, key,
			       NULL, enc) == 1;
	OPENSSL_cleanse(key, sizeof(key));
	d->seq = 0;
	return ok ? 0 : -1;
}

/* application_traffic_secret_N+1 (RFC 8446 7.2) */
static int
dir_update(struct nacre_rec *r, struct dir *d, int enc)
{
	uint8_t next[SECRET_MAX];

	if (expand_label(r->suite, d->secret, "traffic upd", next,
			 r->suite->hashlen) != 0)
		return -1;
	memcpy(d->secret, next, r->suite->hashlen);
	OPENSSL_cleanse(next, sizeof(next));
	return dir_key(r, d, enc);
}

static void
nonce(const struct dir *d, uint8_t out[IVLEN])
{
	memcpy(out, d->iv, IVLEN);
	for (int i = 0; i < 8; i++)
		out[IVLEN - 1 - i] ^= (uint8_t)(d->seq >> (8 * i));
}

struct nacre_rec *
nacre_rec_new(uint16_t suite, const uint8_t *rd_secret,
	      const uint8_t *wr_secret, size_t secret_len, const char **why)
{
	struct nacre_rec *r;
	unsigned si;
	bool ok;

	pthread_once(&fetch_once, fetch_all);
	for (si = 0; si < NSUITES && suites[si].id != suite; si++)
		;
	if (si == NSUITES) {
		*why = "cipher suite not handled by the record layer";
		return NULL;
	}
	if (!ciphers[si] || !digests[si]) {
		*why = "cipher not available from OpenSSL";
		return NULL;
	}
	if (secret_len != suites[si].hashlen) {
		*why = "traffic secret of the wrong length";
		return NULL;
	}
	/* kept as long as the connection: from the pool (pool.c) */
	if (!(r = nacre_pool_alloc(sizeof(*r)))) {
		*why = "out of memory";
		return NULL;
	}
	r->suite = &suites[si];
	r->rekey_after = REKEY_RECORDS;
	memcpy(r->rd.secret, rd_secret, secret_len);
	memcpy(r->wr.secret, wr_secret, secret_len);
	nacre_pool_crypto(NACRE_POOL_ALL);
	ok = (r->rd.ctx = EVP_CIPHER_CTX_new()) && (r->wr.ctx = EVP_CIPHER_CTX_new()) &&
	     dir_key(r, &r->rd, 0) == 0 && dir_key(r, &r->wr, 1) == 0;
	nacre_pool_crypto(0);
	if (!ok) {
		*why = "cannot set up the record keys";
		nacre_rec_free(r);
		return NULL;
	}
	return r;
}

void
nacre_rec_free(struct nacre_rec *r)
{
	if (!r)
		return;
	EVP_CIPHER_CTX_free(r->rd.ctx);
	EVP_CIPHER_CTX_free(r->wr.ctx);
	if (r->in)
		OPENSSL_cleanse(r->in, RIN_CAP); /* plaintext may sit there */
	nacre_buf_put(r->in, RIN_CAP);
	nacre_buf_put(r->out, r->out_cap);
	OPENSSL_cleanse(r, sizeof(*r));
	nacre_pool_free(r);
}

void
nacre_rec_set_rekey_after(struct nacre_rec *r, uint64_t records)
{
	r->rekey_after = records ? records : 1;
}

const char *
nacre_rec_error(const struct nacre_rec *r)
{
	return r->why ? r->why : "no error";
}

/* ---- write side ---- */

/* room for need more bytes at out_tail; -1 when out of memory or when the
 * fixed buffer has no such room */
static int
out_reserve(struct nacre_rec *r, size_t need)
{
	if (r->out && r->out_head == r->out_tail)
		r->out_head = r->out_tail = 0;
	if (r->out && r->out_cap - r->out_tail >= need)
		return 0;
	if (r->out && r->out_head > 0) {
		memmove(r->out, r->out + r->out_head, r->out_tail - r->out_head);
		r->out_tail -= r->out_head;
		r->out_head = 0;
		if (r->out_cap - r->out_tail >= need)
			return 0;
	}
	if (!r->out && need <= OUT_CAP) {
		/* one size for every batch, so the buffer is reused */
		if (!(r->out = nacre_buf_get(OUT_CAP)))
			return -1;
		r->out_cap = OUT_CAP;
		return 0;
	}
	/* never grown: what is sealed waits to be sent, and nothing more is
	 * sealed (or read) meanwhile */
	return -1;
}

size_t
nacre_rec_out_cap(void)
{
	return OUT_CAP;
}

/* one record of type TYPE around P[0..n) (n <= PLAIN_MAX) with PAD zero
 * bytes of padding, appended to out; room must be reserved */
static int
seal_one(struct nacre_rec *r, uint8_t type, const uint8_t *p, size_t n, size_t pad)
{
	struct dir *d = &r->wr;
	size_t inner = n + 1 + pad, ctlen = inner + TAG;
	uint8_t *h = r->out + r->out_tail, *body = h + HDR, iv[IVLEN];
	int l;

	if (d->seq == UINT64_MAX) {
		r->why = "record sequence number exhausted";
		return -1;
	}
	h[0] = CT_DATA;
	h[1] = 0x03;
	h[2] = 0x03;
	h[3] = (uint8_t)(ctlen >> 8);
	h[4] = (uint8_t)ctlen;
	/* the content straight from the caller's buffer, then the type and
	 * padding: no plaintext is ever copied here */
	body[n] = type;
	memset(body + n + 1, 0, pad);
	nonce(d, iv);
	if (EVP_EncryptInit_ex(d->ctx, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(d->ctx, NULL, &l, h, HDR) != 1 ||
	    (n && EVP_EncryptUpdate(d->ctx, body, &l, p, (int)n) != 1) ||
	    EVP_EncryptUpdate(d->ctx, body + n, &l, body + n, (int)(1 + pad)) != 1 ||
	    EVP_EncryptFinal_ex(d->ctx, body + inner, &l) != 1 ||
	    EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_GET_TAG, TAG, body + inner) != 1) {
		r->why = "encryption failed";
		return -1;
	}
	d->seq++;
	r->out_tail += (uint32_t)(HDR + ctlen);
	return 0;
}

/* our KeyUpdate (under the old key), then the new key */
static int
send_key_update(struct nacre_rec *r, bool request)
{
	const uint8_t ku[5] = { HS_KEY_UPDATE, 0, 0, 1, request ? 1 : 0 };

	if (out_reserve(r, REC_OVERHEAD + sizeof(ku)) != 0) {
		r->why = "out of memory";
		return -1;
	}
	if (seal_one(r, CT_HANDSHAKE, ku, sizeof(ku), 0) != 0)
		return -1;
	if (dir_update(r, &r->wr, 1) != 0) {
		r->why = "cannot derive the next write key";
		return -1;
	}
	return 0;
}

int
nacre_rec_key_update(struct nacre_rec *r, bool request)
{
	if (r->failed || r->closed) {
		r->why = r->failed ? r->why : "already closed";
		return -1;
	}
	if (send_key_update(r, request) != 0)
		return r->failed = true, -1;
	return 0;
}

int
nacre_rec_seal_raw(struct nacre_rec *r, uint8_t type, const uint8_t *p, size_t n,
		   size_t pad)
{
	if (r->failed || r->closed || n + pad > PLAIN_MAX) {
		r->why = r->failed ? r->why : r->closed ? "already closed"
							  : "record too long";
		return -1;
	}
	if (out_reserve(r, REC_OVERHEAD + n + pad) != 0) {
		r->why = "out of memory";
		return -1;
	}
	if (seal_one(r, type, p, n, pad) != 0)
		return r->failed = true, -1;
	return 0;
}

ssize_t
nacre_rec_seal(struct nacre_rec *r, const uint8_t *p, size_t n)
{
	size_t done = 0, recs, want;

	if (r->failed || r->closed) {
		r->why = r->failed ? r->why : "already closed";
		return -1;
	}
	/* a batch at a time: sealed bytes wait in out until sent */
	if (n == 0 || (r->out && r->out_head != r->out_tail))
		return 0;
	recs = (n + PLAIN_MAX - 1) / PLAIN_MAX;
	if (recs > BATCH_RECORDS)
		recs = BATCH_RECORDS;
	want = recs * REC_OVERHEAD + (n < recs * PLAIN_MAX ? n : recs * PLAIN_MAX);
	if (out_reserve(r, want + SLACK) != 0) {
		r->why = "out of memory";
		return -1;
	}
	/* an owed KeyUpdate goes before our next application data (RFC
	 * 8446 4.6.3); SLACK has room for it */
	if (r->ku_owed) {
		if (send_key_update(r, false) != 0)
			return r->failed = true, -1;
		r->ku_owed = false;
	}
	while (done < n && recs-- > 0) {
		size_t k = n - done < PLAIN_MAX ? n - done : PLAIN_MAX;
		if (r->wr.seq >= r->rekey_after && send_key_update(r, false) != 0)
			return r->failed = true, -1;
		if (out_reserve(r, REC_OVERHEAD + k) != 0) {
			r->why = "out of memory";
			return r->failed = true, -1;
		}
		if (seal_one(r, CT_DATA, p + done, k, 0) != 0)
			return r->failed = true, -1;
		done += k;
	}
	return (ssize_t)done;
}

int
nacre_rec_close_notify(struct nacre_rec *r)
{
	const uint8_t a[2] = { 1, AL_CLOSE_NOTIFY };

	if (r->closed)
		return 0;
	if (nacre_rec_seal_raw(r, CT_ALERT, a, sizeof(a), 0) != 0)
		return -1;
	r->closed = true;
	r->ku_owed = false; /* nothing may follow close_notify (RFC 8446 6.1) */
	return 0;
}

const uint8_t *
nacre_rec_pending(const struct nacre_rec *r, size_t *len)
{
	*len = r->out ? r->out_tail - r->out_head : 0;
	return *len ? r->out + r->out_head : NULL;
}

void
nacre_rec_sent(struct nacre_rec *r, size_t n)
{
	r->out_head += (uint32_t)n;
	if (r->out_head >= r->out_tail) {
		r->ku_unsent = false;
		nacre_buf_put(r->out, r->out_cap);
		r->out = NULL;
		r->out_head = r->out_tail = r->out_cap = 0;
	}
}

/* ---- read side ---- */

/* a fatal error: our alert is queued (when DESC >= 0) for the connection
 * to send; nothing else goes in or out */
static int
fail(struct nacre_rec *r, int desc, const char *why)
{
	r->why = why;
	if (desc >= 0 && !r->failed && !r->closed) {
		const uint8_t a[2] = { 2, (uint8_t)desc };
		if (out_reserve(r, REC_OVERHEAD + sizeof(a)) == 0)
			(void)seal_one(r, CT_ALERT, a, sizeof(a), 0);
	}
	r->failed = true;
	return NACRE_REC_ERR;
}

int
nacre_rec_abort(struct nacre_rec *r, uint8_t desc, const char *why)
{
	return fail(r, desc, why);
}

static void
in_release(struct nacre_rec *r)
{
	if (r->in && r->in_off == r->in_len && r->pt_len == 0) {
		/* records are opened in place: plaintext may sit anywhere
		 * below the high-water mark, not only below in_len */
		OPENSSL_cleanse(r->in, r->in_hi);
		nacre_buf_put(r->in, RIN_CAP);
		r->in = NULL;
		r->in_off = r->in_len = r->in_hi = 0;
	}
}

uint8_t *
nacre_rec_rspace(struct nacre_rec *r, size_t *room)
{
	if (!r->in) {
		if (!(r->in = nacre_buf_get(RIN_CAP)))
			return NULL;
		r->in_off = r->in_len = r->in_hi = 0;
	} else if (r->in_off == r->in_len && r->pt_len == 0) {
		r->in_off = r->in_len = 0;
	} else if (r->in_off > 0 && r->pt_len == 0) {
		/* move the unprocessed tail to the front, and wipe what it
		 * leaves behind (opened records: plaintext) */
		uint32_t old = r->in_len;
		memmove(r->in, r->in + r->in_off, r->in_len - r->in_off);
		r->in_len -= r->in_off;
		r->in_off = 0;
		OPENSSL_cleanse(r->in + r->in_len, old - r->in_len);
	}
	*room = RIN_CAP - r->in_len;
	return r->in + r->in_len;
}

void
nacre_rec_rdone(struct nacre_rec *r, size_t n)
{
	r->in_len += (uint32_t)n;
	if (r->in_len > r->in_hi)
		r->in_hi = r->in_len;
}

void
nacre_rec_rtrim(struct nacre_rec *r)
{
	in_release(r);
}

size_t
nacre_rec_buffered(const struct nacre_rec *r)
{
	return r->in ? r->in_len - r->in_off : 0;
}

/* the handshake bytes of one record: only KeyUpdate is welcome */
static int
handshake_bytes(struct nacre_rec *r, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		r->hs[r->hs_len++] = p[i];
		if (r->hs_len == 4) {
			if (r->hs[0] != HS_KEY_UPDATE)
				return fail(r, AL_UNEXPECTED_MESSAGE,
					    "unexpected handshake message after the handshake");
			/* OpenSSL's answers: longer than its one byte is
			 * an excessive message size, none a decode error */
			if (r->hs[1] != 0 || r->hs[2] != 0 || r->hs[3] > 1)
				return fail(r, AL_ILLEGAL_PARAMETER,
					    "malformed KeyUpdate (longer than 1 byte)");
			if (r->hs[3] == 0)
				return fail(r, AL_DECODE_ERROR, "malformed KeyUpdate (empty)");
		}
		if (r->hs_len < 5)
			continue;
		if (r->hs[4] > 1)
			return fail(r, AL_ILLEGAL_PARAMETER, "bad KeyUpdate request value");
		/* the key changes here, so nothing may follow in this record */
		if (i + 1 != n)
			return fail(r, AL_UNEXPECTED_MESSAGE,
				    "data after KeyUpdate in the same record");
		r->hs_len = 0;
		if (dir_update(r, &r->rd, 0) != 0)
			return fail(r, AL_INTERNAL_ERROR, "cannot derive the next read key");
		/* owed, not sealed here: see nacre_rec_read */
		if (r->hs[4] == 1 && !r->closed)
			r->ku_owed = true;
	}
	return REC_AGAIN;
}

/* Open the next record in place: NACRE_REC_DATA (its plaintext is pending),
 * REC_AGAIN (it carried nothing for the caller), NACRE_REC_WANT (it is not
 * all here yet), NACRE_REC_EOF or NACRE_REC_ERR. */
static int
open_one(struct nacre_rec *r)
{
	uint8_t *h = r->in + r->in_off, *body = h + HDR, iv[IVLEN];
	size_t avail = r->in_len - r->in_off, ctlen, inner;
	struct dir *d = &r->rd;
	int l;

	if (avail < HDR)
		return NACRE_REC_WANT;
	/* legacy_record_version is ignored (RFC 8446 5.1) */
	ctlen = ((size_t)h[3] << 8) | h[4];
	if (h[0] != CT_DATA)
		return fail(r, AL_UNEXPECTED_MESSAGE, h[0] == 20
			    ? "change_cipher_spec after the handshake"
			    : "unprotected record after the handshake");
	if (ctlen > CT_MAX)
		return fail(r, AL_RECORD_OVERFLOW, "record longer than 2^14 + 256");
	/* as OpenSSL: too short to hold a tag and a type cannot be
	 * authentic (bad_record_mac) */
	if (ctlen < TAG + 1)
		return fail(r, AL_BAD_RECORD_MAC, "record too short to be protected");
	if (avail < HDR + ctlen)
		return NACRE_REC_WANT;
	if (d->seq == UINT64_MAX)
		return fail(r, AL_INTERNAL_ERROR, "record sequence number exhausted");
	inner = ctlen - TAG;
	nonce(d, iv);
	if (EVP_DecryptInit_ex(d->ctx, NULL, NULL, NULL, iv) != 1 ||
	    EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_SET_TAG, TAG, body + inner) != 1 ||
	    EVP_DecryptUpdate(d->ctx, NULL, &l, h, HDR) != 1 ||
	    EVP_DecryptUpdate(d->ctx, body, &l, body, (int)inner) != 1 ||
	    EVP_DecryptFinal_ex(d->ctx, body + inner, &l) != 1)
		return fail(r, AL_BAD_RECORD_MAC, "record failed authentication");
	d->seq++;
	r->in_off += (uint32_t)(HDR + ctlen);

	/* inner plaintext: content, type, zero padding (RFC 8446 5.4) */
	while (inner > 0 && body[inner - 1] == 0)
		inner--;
	if (inner == 0)
		return fail(r, AL_UNEXPECTED_MESSAGE, "record with no content type");
	inner--;
	if (inner > PLAIN_MAX)
		return fail(r, AL_RECORD_OVERFLOW, "plaintext longer than 2^14");
	if (r->hs_len && body[inner] != CT_HANDSHAKE)
		return fail(r, AL_UNEXPECTED_MESSAGE,
			    "handshake message interrupted by another record type");
	if (inner > 0)
		r->empty_run = 0;
	else if (++r->empty_run > MAX_EMPTY_RECORDS)
		return fail(r, AL_UNEXPECTED_MESSAGE, "too many empty records in a row");
	switch (body[inner]) {
	case CT_DATA:
		if (inner == 0)
			return REC_AGAIN;
		r->warn_alerts = 0;
		r->pt_off = (uint32_t)(body - r->in);
		r->pt_len = (uint32_t)inner;
		return NACRE_REC_DATA;
	case CT_ALERT:
		if (inner != 2)
			return fail(r, AL_UNEXPECTED_MESSAGE, "malformed alert");
		if (body[1] == AL_CLOSE_NOTIFY) {
			r->eof = true;
			return NACRE_REC_EOF;
		}
		if (body[1] == AL_USER_CANCELED) {
			if (++r->warn_alerts >= MAX_WARN_ALERTS)
				return fail(r, AL_UNEXPECTED_MESSAGE,
					    "too many warning alerts");
			return REC_AGAIN;
		}
		r->why = "the client sent a fatal alert";
		r->failed = true;
		return NACRE_REC_ERR;
	case CT_HANDSHAKE:
		if (inner == 0)
			return fail(r, AL_UNEXPECTED_MESSAGE, "empty handshake record");
		return handshake_bytes(r, body, inner);
	default:
		return fail(r, AL_UNEXPECTED_MESSAGE, "unexpected record type");
	}
}

int
nacre_rec_read(struct nacre_rec *r, uint8_t *out, size_t cap, size_t *got)
{
	*got = 0;
	for (;;) {
		int st;

		if (r->failed)
			return NACRE_REC_ERR;
		if (r->eof)
			return NACRE_REC_EOF;
		if (r->pt_len > 0) {
			size_t k = r->pt_len < cap ? r->pt_len : cap;
			memcpy(out, r->in + r->pt_off, k);
			r->pt_off += (uint32_t)k;
			r->pt_len -= (uint32_t)k;
			*got = k;
			in_release(r);
			return NACRE_REC_DATA;
		}
		/* a KeyUpdate we owe goes out before we read on: sealed
		 * when nothing else is waiting to be sent */
		if (r->ku_owed && !r->closed) {
			size_t len;
			if (!nacre_rec_pending(r, &len)) {
				if (send_key_update(r, false) != 0)
					return fail(r, -1, r->why);
				r->ku_owed = false;
				r->ku_unsent = true;
			}
			return NACRE_REC_BLOCKED;
		}
		if (r->ku_unsent)
			return NACRE_REC_BLOCKED;
		if (!r->in)
			return NACRE_REC_WANT;
		st = open_one(r);
		if (st == NACRE_REC_WANT) {
			in_release(r);
			return NACRE_REC_WANT;
		}
		if (st != NACRE_REC_DATA && st != REC_AGAIN)
			return st;
		/* data (handed out above; empty records are skipped), or a
		 * record with nothing for the caller: the next one */
	}
}

/* ---- taking over from OpenSSL ---- */

struct nacre_rec *
nacre_rec_from_ssl(SSL *ssl, const char **why)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	uint8_t client[SECRET_MAX], server[SECRET_MAX];
	struct nacre_rec *r;
	size_t len;

	if (SSL_version(ssl) != TLS1_3_VERSION) {
		*why = "not TLS 1.3";
		return NULL;
	}
	if (!SSL_is_init_finished(ssl)) {
		*why = "handshake not finished";
		return NULL;
	}
	if (SSL_has_pending(ssl)) {
		*why = "OpenSSL holds unread bytes";
		return NULL;
	}
	if (!c || !nacre_secrets_take(ssl, client, server, &len)) {
		*why = "traffic secrets not captured";
		return NULL;
	}
	/* a server reads what the client writes */
	r = nacre_rec_new((uint16_t)(SSL_CIPHER_get_id(c) & 0xffff),
			  SSL_is_server(ssl) ? client : server,
			  SSL_is_server(ssl) ? server : client, len, why);
	OPENSSL_cleanse(client, sizeof(client));
	OPENSSL_cleanse(server, sizeof(server));
	return r;
}
