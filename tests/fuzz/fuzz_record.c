/*
 * fuzz_record.c: record.c's reading side (the server's) on what a client
 * could send after the handshake. Byte 0: bits 0-1 the suite, bit 2 the
 * mode, bits 3-7 how the stream is cut into read()s.
 *   mode 0: the rest is the raw byte stream from the client (headers,
 *           lengths, ciphertext: almost all of it fails authentication);
 *   mode 1: the rest is a script of records a client record layer seals
 *           with the matching keys, [type, length, padding, content...]
 *           each, so the inner content (alerts, handshake messages,
 *           padding, KeyUpdate split over records) is what gets fuzzed;
 *           type 0xf0 (no content) is a real KeyUpdate of the client's
 *           (update_requested when the length byte is odd), after which
 *           it seals under its next key, so KeyUpdate and alert sequences
 *           go deep.
 * Checks: no read past a buffer (ASan), never more plaintext than asked
 * for, an error or close_notify stays final, what waits to be sent never
 * exceeds the fixed output buffer and an answer to a KeyUpdate is one
 * record, and in mode 1, when nothing failed, the plaintext read is
 * exactly the application data sealed and every update_requested read
 * was answered once.
 * Seeds (tests/fuzz/corpus/fuzz_record/) come from this file built with
 * -DFUZZ_RECORD_SEEDS=DIR and run once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nacred.h"
#include "records/records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static const uint16_t suite_ids[3] = { 0x1301, 0x1302, 0x1303 };
static const uint8_t client_secret[48] = "client application traffic secret, 48 bytes..";
static const uint8_t server_secret[48] = "server application traffic secret, 48 bytes..";

static size_t
secret_len(uint16_t suite)
{
	return suite == 0x1302 ? 48 : 32;
}

/* a record layer opening with RD and sealing with WR */
static struct nacre_rec *
rec(uint16_t suite, const uint8_t *rd, const uint8_t *wr)
{
	const char *why = NULL;
	struct nacre_rec *r = nacre_rec_new(suite, rd, wr, secret_len(suite), &why);

	REQUIRE(r);
	return r;
}

/* the server's side opens with the client's secret; the client's, the
 * other way round */
static struct nacre_rec *
server(uint16_t suite)
{
	return rec(suite, client_secret, server_secret);
}

static struct nacre_rec *
client(uint16_t suite)
{
	return rec(suite, server_secret, client_secret);
}

static size_t answers; /* KeyUpdates the server sent while reading */

/* feed STREAM to R in read()s of CHUNK bytes; plaintext into out */
static int
feed(struct nacre_rec *r, const uint8_t *stream, size_t n, size_t chunk,
     uint8_t *out, size_t cap, size_t *outlen)
{
	size_t off = 0;
	int st = NACRE_REC_WANT, last = NACRE_REC_WANT;

	*outlen = 0;
	answers = 0;
	for (;;) {
		size_t got = 0, take = *outlen < cap ? (cap - *outlen < 100 ? cap - *outlen : 100) : 0;
		if (take == 0)
			return last;
		st = nacre_rec_read(r, out + *outlen, take, &got);
		if (st == NACRE_REC_DATA) {
			REQUIRE(got > 0 && got <= take);
			*outlen += got;
			continue;
		}
		REQUIRE(got == 0);
		last = st;
		if (st == NACRE_REC_BLOCKED) {
			/* our KeyUpdate, one record, sealed and waiting: reading
			 * goes on only once it is sent */
			size_t plen, b = nacre_rec_buffered(r);
			const uint8_t *p = nacre_rec_pending(r, &plen);
			REQUIRE(p && plen == 5 + 5 + 1 + 16);
			REQUIRE(nacre_rec_read(r, out, 1, &got) == NACRE_REC_BLOCKED);
			REQUIRE(nacre_rec_buffered(r) == b);
			nacre_rec_sent(r, plen);
			answers++;
			continue;
		}
		if (st == NACRE_REC_ERR) {
			REQUIRE(nacre_rec_read(r, out, 1, &got) == NACRE_REC_ERR);
			REQUIRE(nacre_rec_seal(r, (const uint8_t *)"x", 1) < 0);
			return st;
		}
		if (st == NACRE_REC_EOF) {
			REQUIRE(nacre_rec_read(r, out, 1, &got) == NACRE_REC_EOF);
			return st;
		}
		if (off == n)
			return st;
		size_t room, k;
		uint8_t *dst = nacre_rec_rspace(r, &room);
		REQUIRE(dst && room > 0);
		k = n - off < chunk ? n - off : chunk;
		if (k > room)
			k = room;
		memcpy(dst, stream + off, k);
		nacre_rec_rdone(r, k);
		off += k;
	}
}

/* what the server seals afterwards must be whole records */
static void
seal_after(struct nacre_rec *r)
{
	size_t len;
	const uint8_t *p;

	if (nacre_rec_seal(r, (const uint8_t *)"after", 5) < 0)
		return;
	p = nacre_rec_pending(r, &len);
	REQUIRE(p && len >= 5 + 5 + 1 + 16);
	nacre_rec_sent(r, len);
	REQUIRE(nacre_rec_pending(r, &len) == NULL);
}

static uint8_t out[1 << 17];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t suite;
	size_t chunk, outlen;
	struct nacre_rec *s;
	int st;

	if (size < 1)
		return 0;
	suite = suite_ids[(data[0] & 3) % 3];
	chunk = ((size_t)(data[0] >> 3) + 1) * 37;
	s = server(suite);
	if (!(data[0] & 4)) {
		st = feed(s, data + 1, size - 1, chunk, out, sizeof(out), &outlen);
		if (st != NACRE_REC_ERR)
			seal_after(s);
		nacre_rec_free(s);
		return 0;
	}

	/* mode 1: a script of records sealed by a client record layer */
	struct nacre_rec *c = client(suite);
	uint8_t *stream = NULL, *want = NULL;
	size_t slen = 0, wlen = 0, i = 1, requests = 0;
	bool closed = false, split = false;

	while (i + 3 <= size) {
		uint8_t type = data[i], len = data[i + 1], pad = data[i + 2];
		const uint8_t *content = data + i + 3;
		size_t have = size - i - 3 < len ? size - i - 3 : len;
		size_t plen;
		const uint8_t *p;

		if (type == 0xf0) {
			i += 3;
			if (nacre_rec_key_update(c, len & 1) != 0)
				break;
			if ((len & 1) && !closed)
				requests++;
		} else {
			i += 3 + have;
			if (nacre_rec_seal_raw(c, type, content, have, pad) != 0)
				break;
			/* a hand-made KeyUpdate moves the server's key but
			 * not the client's: the count no longer holds */
			if (type == 22 || type == 0)
				split = true;
		}
		p = nacre_rec_pending(c, &plen);
		REQUIRE(p);
		stream = realloc(stream, slen + plen);
		REQUIRE(stream);
		memcpy(stream + slen, p, plen);
		slen += plen;
		nacre_rec_sent(c, plen);
		if (type == 0xf0)
			continue;
		/* type 0: the content's last non-zero byte is the type, as
		 * the server will read it (RFC 8446 5.4) */
		if (type == 0) {
			while (have > 0 && content[have - 1] == 0)
				have--;
			if (have > 0)
				type = content[--have];
		}
		if (type == 23 && !closed) {
			want = realloc(want, wlen + have + 1);
			REQUIRE(want);
			memcpy(want + wlen, content, have);
			wlen += have;
		}
		if (type == 21 && have == 2 && content[1] == 0)
			closed = true;
	}
	st = feed(s, stream, slen, chunk, out, sizeof(out), &outlen);
	if (st != NACRE_REC_ERR) {
		/* every record was accepted: the data is what was sealed */
		REQUIRE(outlen == wlen || outlen == sizeof(out));
		REQUIRE(outlen == 0 || memcmp(out, want, outlen) == 0);
		REQUIRE(answers <= requests || split);
		if (st == NACRE_REC_WANT && !split && outlen < sizeof(out))
			REQUIRE(answers == requests);
		seal_after(s);
	}
	free(stream);
	free(want);
	nacre_rec_free(c);
	nacre_rec_free(s);
	return 0;
}

#ifdef FUZZ_RECORD_SEEDS
#define STR_(x) #x
#define STR(x) STR_(x)

static void
put(const char *name, const uint8_t *b, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", STR(FUZZ_RECORD_SEEDS), name);
	f = fopen(path, "wb");
	REQUIRE(f && fwrite(b, 1, n, f) == n && fclose(f) == 0);
}

/* mode 0 seeds: real ciphertext from a client record layer */
static void
raw_seed(const char *name, uint8_t sel, const uint8_t (*recs)[3], size_t nrecs,
	 const uint8_t *content)
{
	struct nacre_rec *c = client(suite_ids[sel & 3]);
	uint8_t buf[70000];
	size_t n = 1;

	buf[0] = sel;
	for (size_t k = 0; k < nrecs; k++) {
		size_t len;
		const uint8_t *p;
		REQUIRE(nacre_rec_seal_raw(c, recs[k][0], content, recs[k][1], recs[k][2]) == 0);
		p = nacre_rec_pending(c, &len);
		memcpy(buf + n, p, len);
		n += len;
		nacre_rec_sent(c, len);
	}
	put(name, buf, n);
	nacre_rec_free(c);
}

int
main(void)
{
	static const uint8_t data3[][3] = { { 23, 18, 0 }, { 23, 0, 0 }, { 23, 5, 40 } };
	static const uint8_t ku[][3] = { { 22, 5, 0 } };
	static const uint8_t close_[][3] = { { 23, 3, 0 }, { 21, 2, 0 } };
	static const uint8_t get[] = "GET / HTTP/1.1\r\n\r\n";
	static const uint8_t kureq[] = { 24, 0, 0, 1, 1 };
	static const uint8_t cn[] = { 1, 0 };

	raw_seed("raw_aes128_data", 0x00, data3, 3, get);
	raw_seed("raw_aes256_data", 0x09, data3, 3, get);
	raw_seed("raw_chacha_data", 0x12, data3, 3, get);
	raw_seed("raw_keyupdate", 0x00, ku, 1, kureq);
	raw_seed("raw_close", 0x01, close_, 2, cn);
	{
		static const uint8_t s[] = { 0x04, 23, 4, 0, 'G', 'E', 'T', ' ',
			22, 3, 0, 24, 0, 0, 22, 2, 0, 1, 1, 23, 2, 10, 'o', 'k' };
		put("script_split_keyupdate", s, sizeof(s));
	}
	{
		static const uint8_t s[] = { 0x05, 23, 0, 0, 21, 2, 0, 1, 90,
			23, 3, 200, 'a', 'b', 'c', 21, 2, 0, 1, 0, 23, 1, 0, 'z' };
		put("script_alerts_padding", s, sizeof(s));
	}
	{
		static const uint8_t s[] = { 0x06, 22, 5, 0, 4, 0, 0, 1, 0,
			0, 0, 9, 25, 1, 0, 'x', 21, 3, 0, 1, 0, 0 };
		put("script_refused", s, sizeof(s));
	}
	{
		static const uint8_t s[] = { 0x0c, 22, 6, 0, 24, 0, 0, 1, 0, 'x',
			22, 5, 0, 24, 0, 0, 1, 2, 22, 0, 0 };
		put("script_keyupdate_bad", s, sizeof(s));
	}
	{
		/* client KeyUpdates (asking and not) between data records */
		uint8_t s[1 + 40 * 3 + 3 * 6], *q = s;
		*q++ = 0x05;
		for (int k = 0; k < 40; k++) {
			*q++ = 0xf0; *q++ = (uint8_t)(k % 3 != 2); *q++ = 0;
		}
		for (int k = 0; k < 3; k++) {
			*q++ = 23; *q++ = 3; *q++ = 0; *q++ = 'a'; *q++ = 'b'; *q++ = 'c';
		}
		put("script_keyupdate_flood", s, (size_t)(q - s));
	}
	{
		/* user_canceled alerts up to OpenSSL's limit, data between */
		uint8_t s[1 + 6 * 5 + 5 * 4], *q = s;
		*q++ = 0x04;
		for (int k = 0; k < 6; k++) {
			*q++ = 21; *q++ = 2; *q++ = 0; *q++ = 1; *q++ = 90;
			if (k == 1) { *q++ = 23; *q++ = 1; *q++ = 0; *q++ = 'd'; }
		}
		put("script_warn_alerts", s, (size_t)(q - s));
	}
	{
		/* empty records around OpenSSL's limit of 32 */
		uint8_t s[1 + 40 * 3 + 4], *q = s;
		*q++ = 0x0d;
		for (int k = 0; k < 40; k++) {
			*q++ = 23; *q++ = 0; *q++ = (uint8_t)(k & 7);
			if (k == 20) { *q++ = 23; *q++ = 1; *q++ = 0; *q++ = 'e'; }
		}
		put("script_empty_records", s, (size_t)(q - s));
	}
	return 0;
}
#endif
