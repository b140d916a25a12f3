/*
 * test_record.c: record.c against OpenSSL itself. A real TLS 1.3 handshake
 * runs in memory (BIO pair); the server side is then taken over by
 * nacre_rec and talks to OpenSSL's client: data both ways in every size and
 * split, KeyUpdate both ways, close_notify both ways, and every malformed
 * record we can make (with OpenSSL's client or a second nacre_rec for the
 * client, which can seal any inner content).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "nacred.h"
#include "records/records.h"
#include "tap.h"

static EVP_PKEY *key;
static X509 *cert;

struct pair {
	SSL_CTX *sctx, *cctx;
	SSL *s, *c;
	BIO *net; /* the server's end of the BIO pair, kept after SSL_free */
	struct nacre_rec *srec, *crec;
};

static void
make_cert(void)
{
	X509_NAME *n;

	key = EVP_EC_gen("P-256");
	cert = X509_new();
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	n = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)"record.test", -1, -1, 0);
	X509_set_issuer_name(cert, n);
	X509_set_pubkey(cert, key);
	X509_sign(cert, key, EVP_sha256());
}

/* handshakes driven by SSL_do_handshake itself: nothing is captured */
static bool plain_drive;

/* a finished handshake; suites: the client's TLS 1.3 list; tls12: that
 * version instead; capture: both sides keep their secrets (secrets.c) */
static bool
pair_open(struct pair *p, const char *suites, bool tls12, bool capture)
{
	BIO *a, *b;
	int rs = 0, rc = 0;

	memset(p, 0, sizeof(*p));
	p->sctx = capture ? nacre_secrets_ctx_new(TLS_server_method()) :
			    SSL_CTX_new(TLS_server_method());
	p->cctx = capture ? nacre_secrets_ctx_new(TLS_client_method()) :
			    SSL_CTX_new(TLS_client_method());
	SSL_CTX_use_certificate(p->sctx, cert);
	SSL_CTX_use_PrivateKey(p->sctx, key);
	SSL_CTX_set_num_tickets(p->sctx, 0);
	SSL_CTX_set_options(p->sctx, SSL_OP_NO_TICKET);
	if (tls12)
		SSL_CTX_set_max_proto_version(p->cctx, TLS1_2_VERSION);
	if (suites)
		SSL_CTX_set_ciphersuites(p->cctx, suites);
	p->s = SSL_new(p->sctx);
	p->c = SSL_new(p->cctx);
	BIO_new_bio_pair(&a, 1 << 20, &b, 1 << 20);
	BIO_up_ref(a);
	p->net = a;
	SSL_set_bio(p->s, a, a);
	SSL_set_bio(p->c, b, b);
	SSL_set_accept_state(p->s);
	SSL_set_connect_state(p->c);
	for (int i = 0; i < 20 && (rs != 1 || rc != 1); i++) {
		if (rc != 1)
			rc = plain_drive ? SSL_do_handshake(p->c) :
					   nacre_secrets_handshake(p->c);
		if (rs != 1)
			rs = plain_drive ? SSL_do_handshake(p->s) :
					   nacre_secrets_handshake(p->s);
	}
	return rs == 1 && rc == 1;
}

static void
pair_close(struct pair *p)
{
	nacre_rec_free(p->srec);
	nacre_rec_free(p->crec);
	SSL_free(p->s);
	SSL_free(p->c);
	BIO_free(p->net);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
	ERR_clear_error();
}

/* SSL *ssl handed over to nacre_rec (into *out) and freed */
static bool
take(SSL **ssl, struct nacre_rec **out)
{
	const char *why = NULL;

	if (!(*out = nacre_rec_from_ssl(*ssl, &why)))
		return false;
	SSL_free(*ssl);
	*ssl = NULL;
	return true;
}

/* the server's side */
static bool
take_server(struct pair *p)
{
	return take(&p->s, &p->srec);
}

/* the client's too: records of any kind can then be sealed to the server */
static bool
take_client(struct pair *p)
{
	return take(&p->c, &p->crec);
}

/* what the client sent, into the server's record layer, STEP bytes at a
 * time (0: all at once) */
static size_t
net_to_srec(struct pair *p, size_t step)
{
	size_t total = 0;

	for (;;) {
		size_t room;
		uint8_t *dst = nacre_rec_rspace(p->srec, &room);
		int n;
		if (step && room > step)
			room = step;
		n = BIO_read(p->net, dst, (int)room);
		if (n <= 0)
			break;
		nacre_rec_rdone(p->srec, (size_t)n);
		total += (size_t)n;
		if (step)
			break;
	}
	return total;
}

/* everything the server's rec has sealed, onto the wire */
static void
srec_to_net(struct pair *p)
{
	size_t len;
	const uint8_t *q;

	while ((q = nacre_rec_pending(p->srec, &len))) {
		int n = BIO_write(p->net, q, (int)len);
		if (n <= 0)
			break;
		nacre_rec_sent(p->srec, (size_t)n);
	}
}

/* drain the server's record layer: plaintext into out; returns the last
 * status (WANT when all read) */
static int
srec_drain(struct pair *p, size_t step, uint8_t *out, size_t cap, size_t *len)
{
	int st;

	*len = 0;
	for (;;) {
		size_t got;
		st = nacre_rec_read(p->srec, out + *len, cap - *len, &got);
		if (st == NACRE_REC_DATA) {
			*len += got;
			continue;
		}
		if (st != NACRE_REC_WANT)
			return st;
		if (net_to_srec(p, step) == 0)
			return st;
	}
}

/* seal all of DATA on the server, passing it to the client as it goes;
 * the client's plaintext into out */
static bool
srec_send(struct pair *p, const uint8_t *data, size_t n, uint8_t *out,
	  size_t *outlen)
{
	size_t off = 0;

	*outlen = 0;
	while (off < n || nacre_rec_pending(p->srec, &(size_t){ 0 })) {
		ssize_t k = off < n ? nacre_rec_seal(p->srec, data + off, n - off) : 0;
		if (k < 0)
			return false;
		off += (size_t)k;
		srec_to_net(p);
		for (;;) {
			int r = SSL_read(p->c, out + *outlen, 65536);
			if (r <= 0)
				break;
			*outlen += (size_t)r;
		}
	}
	return true;
}

static void
pattern(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 31 + seed);
}

/* --- the client end after take_client: BIO of the pair kept aside --- */
static BIO *client_end;

static void
crec_flush(struct pair *p)
{
	size_t len;
	const uint8_t *q;

	while ((q = nacre_rec_pending(p->crec, &len))) {
		int n = BIO_write(client_end, q, (int)len);
		if (n <= 0)
			break;
		nacre_rec_sent(p->crec, (size_t)n);
	}
}

static bool
crafted_pair(struct pair *p)
{
	if (!pair_open(p, NULL, false, true))
		return false;
	client_end = SSL_get_wbio(p->c);
	BIO_up_ref(client_end);
	return take_server(p) && take_client(p);
}

static void
crafted_close(struct pair *p)
{
	pair_close(p);
	BIO_free(client_end);
	client_end = NULL;
}

static void
seal_c(struct pair *p, uint8_t type, const void *d, size_t n, size_t pad)
{
	nacre_rec_seal_raw(p->crec, type, d, n, pad);
	crec_flush(p);
}

static void
test_suite(const char *suite)
{
	static uint8_t big[200000], got[200000];
	struct pair p;
	char name[160];
	size_t len;
	int st;

#define NAME(s) (snprintf(name, sizeof(name), "%s: %s", suite, (s)), name)
	CHECK(pair_open(&p, suite, false, true), NAME("handshake"));
	CHECK(take_server(&p), NAME("server taken over from OpenSSL"));
	if (!p.srec) {
		pair_close(&p);
		return;
	}

	/* client -> server, one small request */
	SSL_write(p.c, "GET / HTTP/1.1\r\n\r\n", 18);
	st = srec_drain(&p, 0, got, sizeof(got), &len);
	CHECK(st == NACRE_REC_WANT && len == 18 && memcmp(got, "GET / HTTP/1.1\r\n\r\n", 18) == 0,
	      NAME("client's request read"));
	CHECK(nacre_rec_buffered(p.srec) == 0, NAME("nothing left buffered"));

	/* server -> client, 200000 bytes: batches of full records */
	pattern(big, sizeof(big), 7);
	CHECK(srec_send(&p, big, sizeof(big), got, &len) && len == sizeof(big) &&
	      memcmp(got, big, len) == 0, NAME("200000 bytes to the client"));

	/* client -> server, 70000 bytes fed 7 bytes at a time */
	pattern(big, 70000, 3);
	SSL_write(p.c, big, 70000);
	st = srec_drain(&p, 7, got, sizeof(got), &len);
	CHECK(len == 70000 && memcmp(got, big, len) == 0,
	      NAME("70000 bytes from the client, 7 bytes per read"));

	/* a small out buffer: taken in pieces */
	SSL_write(p.c, "abcdefghij", 10);
	net_to_srec(&p, 0);
	{
		size_t g1 = 0, g2 = 0;
		int s1 = nacre_rec_read(p.srec, got, 4, &g1);
		int s2 = nacre_rec_read(p.srec, got + 4, 100, &g2);
		CHECK(s1 == NACRE_REC_DATA && g1 == 4 && s2 == NACRE_REC_DATA &&
		      g2 == 6 && memcmp(got, "abcdefghij", 10) == 0,
		      NAME("a record's plaintext taken in two reads"));
	}

	/* the client updates its key and asks for ours to change too */
	CHECK(SSL_key_update(p.c, SSL_KEY_UPDATE_REQUESTED) == 1, NAME("client KeyUpdate sent"));
	SSL_write(p.c, "after", 5);
	st = srec_drain(&p, 0, got, sizeof(got), &len);
	CHECK(st == NACRE_REC_BLOCKED && len == 0,
	      NAME("reading waits until our KeyUpdate is sent"));
	CHECK(nacre_rec_pending(p.srec, &len) != NULL,
	      NAME("our KeyUpdate sealed in answer"));
	CHECK(nacre_rec_read(p.srec, got, sizeof(got), &len) == NACRE_REC_BLOCKED,
	      NAME("... and still waits while it is unsent"));
	srec_to_net(&p);
	st = srec_drain(&p, 0, got, sizeof(got), &len);
	CHECK(len == 5 && memcmp(got, "after", 5) == 0,
	      NAME("data under the client's new key"));
	CHECK(srec_send(&p, (const uint8_t *)"reply", 5, got, &len) && len == 5 &&
	      memcmp(got, "reply", 5) == 0, NAME("client reads us under our new key"));
	SSL_write(p.c, "again", 5);
	st = srec_drain(&p, 0, got, sizeof(got), &len);
	CHECK(len == 5 && memcmp(got, "again", 5) == 0, NAME("and the client goes on"));

	/* our own KeyUpdate every 2 records */
	nacre_rec_set_rekey_after(p.srec, 2);
	{
		bool all = true;
		for (int i = 0; i < 7; i++) {
			char m[16];
			int ml = snprintf(m, sizeof(m), "msg%d", i);
			all &= srec_send(&p, (const uint8_t *)m, (size_t)ml, got, &len) &&
			       len == (size_t)ml && memcmp(got, m, len) == 0;
		}
		CHECK(all, NAME("seven records with our KeyUpdate every two"));
	}

	/* close_notify both ways */
	SSL_shutdown(p.c);
	st = srec_drain(&p, 0, got, sizeof(got), &len);
	CHECK(st == NACRE_REC_EOF && len == 0, NAME("client's close_notify is EOF"));
	CHECK(nacre_rec_close_notify(p.srec) == 0, NAME("close_notify sealed"));
	srec_to_net(&p);
	{
		int r = SSL_read(p.c, got, 10);
		CHECK(r == 0 && SSL_get_error(p.c, r) == SSL_ERROR_ZERO_RETURN,
		      NAME("client sees our close_notify"));
	}
	CHECK(nacre_rec_seal(p.srec, (const uint8_t *)"x", 1) < 0,
	      NAME("nothing sealed after close_notify"));
	pair_close(&p);
#undef NAME
}

/* a client record changed on the wire */
static void
test_tamper(void)
{
	struct pair p;
	uint8_t buf[256];
	size_t len;
	int n, st;

	CHECK(pair_open(&p, NULL, false, true) && take_server(&p), "tamper: handshake");
	SSL_write(p.c, "secret", 6);
	n = BIO_read(p.net, buf, sizeof(buf));
	buf[n - 3] ^= 1;
	{
		size_t room;
		memcpy(nacre_rec_rspace(p.srec, &room), buf, (size_t)n);
		nacre_rec_rdone(p.srec, (size_t)n);
	}
	st = nacre_rec_read(p.srec, buf, sizeof(buf), &len);
	CHECK(st == NACRE_REC_ERR && len == 0, "tamper: a flipped bit is an error");
	CHECK_HAS(nacre_rec_error(p.srec), "authentication", "tamper: error names it");
	CHECK(nacre_rec_read(p.srec, buf, sizeof(buf), &len) == NACRE_REC_ERR,
	      "tamper: and stays an error");
	srec_to_net(&p);
	n = SSL_read(p.c, buf, sizeof(buf));
	{
		char e[256];
		ERR_error_string_n(ERR_peek_error(), e, sizeof(e));
		CHECK(n <= 0, "tamper: the client gets our alert");
		CHECK_HAS(e, "bad record mac", "tamper: the alert is bad_record_mac");
	}
	CHECK(nacre_rec_seal(p.srec, (const uint8_t *)"x", 1) < 0,
	      "tamper: nothing sealed after a fatal error");
	pair_close(&p);
}

/* bytes straight onto the wire, then what the server's rec makes of them */
static int
raw(const void *bytes, size_t n, const char **why)
{
	struct pair p;
	uint8_t out[64];
	size_t len, room;
	int st;

	if (!pair_open(&p, NULL, false, true) || !take_server(&p))
		return -1;
	memcpy(nacre_rec_rspace(p.srec, &room), bytes, n);
	nacre_rec_rdone(p.srec, n);
	st = nacre_rec_read(p.srec, out, sizeof(out), &len);
	*why = nacre_rec_error(p.srec);
	pair_close(&p);
	return st;
}

static void
test_outer(void)
{
	static const uint8_t big[] = { 23, 3, 3, 0x41, 0x01 };
	static const uint8_t hs[] = { 22, 3, 3, 0, 4, 1, 0, 0, 0 };
	static const uint8_t ccs[] = { 20, 3, 3, 0, 1, 1 };
	static const uint8_t shortr[] = { 23, 3, 3, 0, 5, 1, 2, 3, 4, 5 };
	static const uint8_t part[] = { 23, 3, 3, 0, 40, 1, 2 };
	const char *why = NULL;

	CHECK(raw(big, sizeof(big), &why) == NACRE_REC_ERR, "outer: a record over 2^14+256 refused");
	CHECK_HAS(why, "longer than", "outer: overflow named");
	CHECK(raw(hs, sizeof(hs), &why) == NACRE_REC_ERR, "outer: a plaintext handshake record refused");
	CHECK_HAS(why, "unprotected", "outer: plaintext named");
	CHECK(raw(ccs, sizeof(ccs), &why) == NACRE_REC_ERR, "outer: change_cipher_spec refused");
	CHECK_HAS(why, "change_cipher_spec", "outer: change_cipher_spec named");
	CHECK(raw(shortr, sizeof(shortr), &why) == NACRE_REC_ERR, "outer: a record shorter than a tag refused");
	CHECK_HAS(why, "too short", "outer: short named");
	CHECK(raw(part, sizeof(part), &why) == NACRE_REC_WANT, "outer: half a record waits for more");
}

static void
test_crafted(void)
{
	static const uint8_t ku_req[] = { 24, 0, 0, 1, 1 };
	static const uint8_t ku_bad[] = { 24, 0, 0, 1, 2 };
	static const uint8_t ku_long[] = { 24, 0, 0, 2, 0, 0 };
	static const uint8_t nst[] = { 4, 0, 0, 1, 0 };
	static const uint8_t ku_data[] = { 24, 0, 0, 1, 0, 'x' };
	static const uint8_t fatal[] = { 2, 40 };
	static const uint8_t canceled[] = { 1, 90 };
	static const uint8_t alert3[] = { 1, 0, 0 };
	uint8_t got[256];
	struct pair p;
	size_t len;
	int st;

	/* a KeyUpdate split over two records (update_requested): accepted,
	 * answered with ours, and the client reads us under the new key */
	CHECK(crafted_pair(&p), "crafted: two record layers");
	seal_c(&p, 22, ku_req, 3, 0);
	seal_c(&p, 22, ku_req + 3, 2, 0);
	st = srec_drain(&p, 0, got, sizeof(got), &len);
	CHECK(st == NACRE_REC_BLOCKED && len == 0,
	      "crafted: split KeyUpdate accepted; ours is owed");
	CHECK(nacre_rec_seal(p.srec, (const uint8_t *)"hi", 2) == 0,
	      "crafted: sealing waits while our KeyUpdate is unsent");
	srec_to_net(&p);
	CHECK(nacre_rec_seal(p.srec, (const uint8_t *)"hi", 2) == 2, "crafted: then seals");
	srec_to_net(&p);
	{
		size_t room, n = 0, g = 0;
		int cs;
		uint8_t *dst = nacre_rec_rspace(p.crec, &room);
		int k = BIO_read(client_end, dst, (int)room);
		nacre_rec_rdone(p.crec, k > 0 ? (size_t)k : 0);
		do {
			cs = nacre_rec_read(p.crec, got + n, sizeof(got) - n, &g);
			n += cs == NACRE_REC_DATA ? g : 0;
		} while (cs == NACRE_REC_DATA);
		CHECK(cs == NACRE_REC_WANT && n == 2 && memcmp(got, "hi", 2) == 0,
		      "crafted: our KeyUpdate and the data after it open at the client");
	}
	crafted_close(&p);

	/* records the server must refuse */
	struct { uint8_t type; const uint8_t *d; size_t n, pad; const char *want, *name; } bad[] = {
		{ 22, nst, sizeof(nst), 0, "unexpected handshake", "crafted: NewSessionTicket from a client refused" },
		{ 22, ku_bad, sizeof(ku_bad), 0, "request value", "crafted: KeyUpdate request 2 refused" },
		{ 22, ku_long, sizeof(ku_long), 0, "malformed KeyUpdate", "crafted: KeyUpdate of length 2 refused" },
		{ 22, ku_data, sizeof(ku_data), 0, "after KeyUpdate", "crafted: data after KeyUpdate in its record refused" },
		{ 22, NULL, 0, 0, "empty handshake", "crafted: empty handshake record refused" },
		{ 21, fatal, sizeof(fatal), 0, "fatal alert", "crafted: the client's fatal alert ends it" },
		{ 21, alert3, sizeof(alert3), 0, "malformed alert", "crafted: 3-byte alert refused" },
		{ 0, NULL, 0, 9, "no content type", "crafted: all-padding record refused" },
		{ 25, (const uint8_t *)"x", 1, 0, "unexpected record type", "crafted: unknown inner type refused" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t pl;
		if (!crafted_pair(&p)) {
			CHECK(0, bad[i].name);
			continue;
		}
		seal_c(&p, bad[i].type, bad[i].d, bad[i].n, bad[i].pad);
		st = srec_drain(&p, 0, got, sizeof(got), &len);
		CHECK(st == NACRE_REC_ERR && len == 0, bad[i].name);
		CHECK_HAS(nacre_rec_error(p.srec), bad[i].want, bad[i].name);
		/* our alert goes out, except in answer to the client's own */
		CHECK((nacre_rec_pending(p.srec, &pl) != NULL) == (bad[i].d != fatal),
		      "crafted: alert queued unless the client sent one");
		crafted_close(&p);
	}

	/* a handshake message interrupted by data */
	CHECK(crafted_pair(&p), "crafted: pair for interleaving");
	seal_c(&p, 22, ku_req, 2, 0);
	seal_c(&p, 23, "x", 1, 0);
	st = srec_drain(&p, 0, got, sizeof(got), &len);
	CHECK(st == NACRE_REC_ERR, "crafted: data inside a split KeyUpdate refused");
	CHECK_HAS(nacre_rec_error(p.srec), "interrupted", "crafted: interleaving named");
	crafted_close(&p);

	/* what the server must let through */
	CHECK(crafted_pair(&p), "crafted: pair for the tolerated");
	seal_c(&p, 23, "", 0, 0);          /* empty data record */
	seal_c(&p, 21, canceled, 2, 0);    /* user_canceled: a warning */
	seal_c(&p, 23, "pad", 3, 200);     /* padded */
	seal_c(&p, 23, "ded", 3, 0);
	st = srec_drain(&p, 0, got, sizeof(got), &len);
	CHECK(st == NACRE_REC_WANT && len == 6 && memcmp(got, "padded", 6) == 0,
	      "crafted: empty, user_canceled and padded records pass");
	CHECK(nacre_rec_pending(p.srec, &len) == NULL, "crafted: and nothing is answered");
	crafted_close(&p);
}

/* The defects an audit found in record.c, each checked here: a KeyUpdate
 * flood from a client that does not read, abuse limits, plaintext left
 * in cached buffers. */
static void
test_bounds(void)
{
	static const uint8_t ku_req[] = { 24, 0, 0, 1, 1 };
	static const uint8_t canceled[] = { 1, 90 };
	uint8_t got[256];
	struct pair p;
	size_t len, most = 0, sealed_kus = 0;
	int st = NACRE_REC_WANT;
	bool blocked = false;

	/* 2000 KeyUpdate(update_requested) and nothing sent: the first is
	 * answered (sealed), then reading stops; what waits to be sent never
	 * exceeds the fixed output buffer */
	CHECK(crafted_pair(&p), "bounds: pair for the KeyUpdate flood");
	(void)ku_req;
	for (int i = 0; i < 2000; i++) {
		nacre_rec_key_update(p.crec, true); /* and the client's key moves on */
		crec_flush(&p);
	}
	for (int i = 0; i < 3; i++) {
		st = srec_drain(&p, 0, got, sizeof(got), &len);
		if (nacre_rec_pending(p.srec, &len) && len > most)
			most = len;
		blocked = st == NACRE_REC_BLOCKED;
	}
	CHECK(blocked, "bounds: a KeyUpdate flood blocks reading while our answer is unsent");
	CHECK(most > 0 && most <= nacre_rec_out_cap(),
	      "bounds: what waits to be sent stays within the fixed buffer");
	{
		size_t k = nacre_rec_buffered(p.srec);
		for (int i = 0; i < 10; i++)
			(void)nacre_rec_read(p.srec, got, sizeof(got), &len);
		CHECK(nacre_rec_buffered(p.srec) == k,
		      "bounds: nothing more is opened while blocked");
	}
	/* sending the answer lets it go on: each request answered once
	 * reading resumes, never two answers queued */
	for (int i = 0; i < 10000; i++) {
		size_t pl;
		if (nacre_rec_pending(p.srec, &pl)) {
			if (pl > 64)
				most = pl;
			sealed_kus++;
			nacre_rec_sent(p.srec, pl);
		}
		st = srec_drain(&p, 0, got, sizeof(got), &len);
		if (st != NACRE_REC_BLOCKED)
			break;
	}
	CHECK(most <= 64, "bounds: one KeyUpdate at a time in answer");
	CHECK(st == NACRE_REC_WANT && sealed_kus == 2000,
	      "bounds: after the flood is read, 2000 requests got 2000 answers");
	crafted_close(&p);

	/* OpenSSL's limit: 32 empty records in a row, then unexpected_message */
	CHECK(crafted_pair(&p), "bounds: pair for empty records");
	for (int i = 0; i < 32; i++)
		seal_c(&p, 23, "", 0, 0);
	seal_c(&p, 23, "x", 1, 0);
	for (int i = 0; i < 32; i++)
		seal_c(&p, 23, "", 0, 0);
	st = srec_drain(&p, 0, got, sizeof(got), &len);
	CHECK(st == NACRE_REC_WANT && len == 1,
	      "bounds: 32 empty records in a row pass (the count starts again after data)");
	seal_c(&p, 23, "", 0, 0);
	st = srec_drain(&p, 0, got, sizeof(got), &len);
	CHECK(st == NACRE_REC_ERR && nacre_rec_pending(p.srec, &len) != NULL,
	      "bounds: the 33rd gets a fatal alert");
	CHECK_HAS(nacre_rec_error(p.srec), "empty records", "bounds: empty records named");
	crafted_close(&p);

	/* and 5 warning alerts (user_canceled) */
	CHECK(crafted_pair(&p), "bounds: pair for warning alerts");
	for (int i = 0; i < 4; i++)
		seal_c(&p, 21, canceled, 2, 0);
	st = srec_drain(&p, 0, got, sizeof(got), &len);
	CHECK(st == NACRE_REC_WANT, "bounds: 4 user_canceled alerts pass");
	seal_c(&p, 21, canceled, 2, 0);
	st = srec_drain(&p, 0, got, sizeof(got), &len);
	CHECK(st == NACRE_REC_ERR && nacre_rec_pending(p.srec, &len) != NULL,
	      "bounds: the 5th gets a fatal alert");
	CHECK_HAS(nacre_rec_error(p.srec), "warning alerts", "bounds: warning alerts named");
	crafted_close(&p);

	/* plaintext is wiped before the read buffer goes back to the cache,
	 * also where a partial record was moved over opened ones */
	CHECK(crafted_pair(&p), "bounds: pair for wiping");
	{
		static const char secret[] = "SECRET-PLAINTEXT-0123456789";
		uint8_t wire[4096], first[1200], all[2048];
		int n;
		uint8_t *cached;
		bool left = false;

		/* a long record with the secret at its end, then a short one:
		 * the short one's tail is moved to the front, far below where
		 * the secret was opened */
		memset(first, 'A', sizeof(first));
		memcpy(first + sizeof(first) - (sizeof(secret) - 1), secret,
		       sizeof(secret) - 1);
		seal_c(&p, 23, first, sizeof(first), 0);
		seal_c(&p, 23, "y", 1, 0);
		n = BIO_read(p.net, wire, sizeof(wire));
		/* both records but the last 3 bytes: one opens, one waits */
		{
			size_t room;
			uint8_t *dst = nacre_rec_rspace(p.srec, &room);
			memcpy(dst, wire, (size_t)n - 3);
			nacre_rec_rdone(p.srec, (size_t)n - 3);
		}
		st = srec_drain(&p, 0, all, sizeof(all), &len);
		{
			size_t room;
			uint8_t *dst = nacre_rec_rspace(p.srec, &room); /* moves the tail */
			memcpy(dst, wire + n - 3, 3);
			nacre_rec_rdone(p.srec, 3);
		}
		st = srec_drain(&p, 0, all, sizeof(all), &len);
		CHECK(st == NACRE_REC_WANT && len == 1 && all[0] == 'y',
		      "bounds: both records read");
		nacre_rec_rtrim(p.srec);
		cached = nacre_buf_get(16384 + 256 + 5); /* the cache gives it back */
		for (size_t i = 0; cached && i + sizeof(secret) - 1 <= 16384 + 256 + 5; i++)
			if (memcmp(cached + i, secret, sizeof(secret) - 1) == 0)
				left = true;
		CHECK(cached && !left, "bounds: no plaintext in the read buffer given back");
		nacre_buf_put(cached, 16384 + 256 + 5);
	}
	crafted_close(&p);
}

static void
test_refusals(void)
{
	struct pair p;
	const char *why = NULL;

	CHECK(pair_open(&p, NULL, true, true), "refusal: TLS 1.2 handshake");
	CHECK(nacre_rec_from_ssl(p.s, &why) == NULL, "refusal: TLS 1.2 stays with OpenSSL");
	CHECK_HAS(why, "not TLS 1.3", "refusal: version named");
	pair_close(&p);

	CHECK(pair_open(&p, NULL, false, false), "refusal: handshake without capture");
	CHECK(nacre_rec_from_ssl(p.s, &why) == NULL, "refusal: no secrets, no takeover");
	CHECK_HAS(why, "not captured", "refusal: missing secrets named");
	pair_close(&p);

	plain_drive = true;
	CHECK(pair_open(&p, NULL, false, true),
	      "refusal: capture context, handshake not driven by nacre_secrets_handshake");
	CHECK(nacre_rec_from_ssl(p.s, &why) == NULL &&
	      nacre_rec_from_ssl(p.c, &why) == NULL,
	      "refusal: secrets are kept only while nacre_secrets_handshake runs");
	pair_close(&p);
	plain_drive = false;

	/* the same context again, driven as nacred does: taken over */
	CHECK(pair_open(&p, NULL, false, true) && take_server(&p),
	      "capture: the default suite, driven by nacre_secrets_handshake");
	pair_close(&p);

	CHECK(nacre_rec_new(0x1304, (const uint8_t *)"", (const uint8_t *)"", 32, &why) == NULL,
	      "refusal: TLS_AES_128_CCM_SHA256 not handled");
	CHECK_HAS(why, "not handled", "refusal: suite named");
	{
		uint8_t s[48] = { 0 };
		CHECK(nacre_rec_new(0x1302, s, s, 32, &why) == NULL,
		      "refusal: a SHA-384 suite with a 32-byte secret");
		CHECK_HAS(why, "wrong length", "refusal: length named");
	}
}

int
main(void)
{
	make_cert();
	test_suite("TLS_AES_128_GCM_SHA256");
	test_suite("TLS_AES_256_GCM_SHA384");
	test_suite("TLS_CHACHA20_POLY1305_SHA256");
	test_tamper();
	test_outer();
	test_crafted();
	test_bounds();
	test_refusals();
	X509_free(cert);
	EVP_PKEY_free(key);
	TAP_DONE();
}
