/*
 * test_proxy_proto.c: PROXY v2 encode -> parse round trips for every family
 * nacred writes, and every way parse must turn a header away.
 */
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/un.h>

#include "nacred.h"
#include "tap.h"

static const uint8_t sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A,
				 0x51, 0x55, 0x49, 0x54, 0x0A };

/* TCP4 127.0.0.1:1234 -> 10.11.12.13:23456 with a CRC32C TLV, checksum
 * computed outside this code base (Python, bit by bit). */
static const uint8_t crc_vector[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
	0x21, 0x11, 0x00, 0x13, 0x7f, 0x00, 0x00, 0x01, 0x0a, 0x0b, 0x0c, 0x0d,
	0x04, 0xd2, 0x5b, 0xa0, 0x03, 0x00, 0x04, 0x19, 0x88, 0x20, 0x69
};

/* bit-at-a-time reference, to check the parser's table-driven CRC32C */
static uint32_t
ref_crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffff;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78 & (0u - (c & 1)));
	}
	return ~c;
}

static struct sockaddr_storage
in4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s = (void *)&ss;

	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	inet_pton(AF_INET, ip, &s->sin_addr);
	return ss;
}

static struct sockaddr_storage
in6(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *s = (void *)&ss;

	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &s->sin6_addr);
	return ss;
}

static struct sockaddr_storage
un(const char *path)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_un *s = (void *)&ss;

	s->sun_family = AF_UNIX;
	memcpy(s->sun_path, path, strnlen(path, sizeof(s->sun_path)));
	return ss;
}

static const struct nacre_pp2_tlv *
find_tlv(const struct nacre_pp2_info *in, uint8_t type)
{
	for (size_t i = 0; i < in->ntlvs; i++)
		if (in->tlvs[i].type == type)
			return &in->tlvs[i];
	return NULL;
}

static bool
tlv_is(const struct nacre_pp2_tlv *t, const char *want)
{
	return t && t->len == strlen(want) && memcmp(t->value, want, t->len) == 0;
}

/* Parse from an exact-size heap copy so ASan sees any read past the end;
 * the copy lives until the next call, as the TLVs point into it. */
static uint8_t *copy;

static ssize_t
parse_copy(const uint8_t *b, size_t n, struct nacre_pp2_info *in,
	   const char **err)
{
	free(copy);
	copy = malloc(n ? n : 1);
	memcpy(copy, b, n);
	return nacre_pp2_parse(copy, n, in, err);
}

/* signature + version/command + family + length; returns 16 */
static size_t
raw(uint8_t *b, uint8_t vercmd, uint8_t fam, size_t len)
{
	memcpy(b, sig, 12);
	b[12] = vercmd;
	b[13] = fam;
	b[14] = (uint8_t)(len >> 8);
	b[15] = (uint8_t)len;
	return 16;
}

/* expect -1 and an error naming the problem */
static void
reject(const uint8_t *b, size_t n, const char *needle, const char *name)
{
	struct nacre_pp2_info in;
	const char *err = NULL;
	ssize_t r = parse_copy(b, n, &in, &err);
	char why[160];

	snprintf(why, sizeof(why), "%s: error names the problem", name);
	CHECK(r == -1, name);
	CHECK_HAS(err, needle, why);
}

static void
test_inet(void)
{
	struct sockaddr_storage s = in4("192.0.2.1", 5000);
	struct sockaddr_storage d = in4("10.0.0.1", 443);
	struct nacre_pp2_info in;
	const char *err = NULL;
	uint8_t b[256];
	ssize_t n = nacre_pp2_encode(b, sizeof(b), (void *)&s, (void *)&d, NULL);

	CHECK(n == 28 && b[12] == 0x21 && b[13] == 0x11, "v4: TCP4, 28 bytes");
	CHECK(nacre_pp2_parse(b, (size_t)n, &in, &err) == n, "v4: parses");
	CHECK(in.family == AF_INET && in.socktype == SOCK_STREAM && !in.local &&
	      in.ntlvs == 0, "v4: family, no TLVs");
	CHECK(memcmp(&in.src, &s, sizeof(struct sockaddr_in)) == 0 &&
	      memcmp(&in.dst, &d, sizeof(struct sockaddr_in)) == 0 &&
	      in.srclen == sizeof(struct sockaddr_in), "v4: addresses, ports");

	s = in6("2001:db8::1", 40000);
	d = in6("2001:db8::2", 8443);
	n = nacre_pp2_encode(b, sizeof(b), (void *)&s, (void *)&d, NULL);
	CHECK(n == 52 && b[13] == 0x21, "v6: TCP6, 52 bytes");
	CHECK(nacre_pp2_parse(b, (size_t)n, &in, &err) == n, "v6: parses");
	CHECK(in.family == AF_INET6 && in.socktype == SOCK_STREAM &&
	      in.srclen == sizeof(struct sockaddr_in6), "v6: family");
	CHECK(memcmp(&in.src, &s, sizeof(struct sockaddr_in6)) == 0 &&
	      memcmp(&in.dst, &d, sizeof(struct sockaddr_in6)) == 0,
	      "v6: addresses, ports");
}

static void
test_mixed(void)
{
	struct sockaddr_storage s = in4("192.0.2.7", 1234);
	struct sockaddr_storage d = in6("2001:db8::9", 443);
	struct sockaddr_storage mapped = in6("::ffff:192.0.2.7", 1234);
	struct nacre_pp2_info in;
	const char *err = NULL;
	uint8_t b[256];
	ssize_t n = nacre_pp2_encode(b, sizeof(b), (void *)&s, (void *)&d, NULL);

	CHECK(n == 52 && b[13] == 0x21, "mixed v4->v6: TCP6");
	CHECK(nacre_pp2_parse(b, (size_t)n, &in, &err) == n &&
	      in.family == AF_INET6, "mixed v4->v6: parses");
	CHECK(memcmp(&in.src, &mapped, sizeof(struct sockaddr_in6)) == 0,
	      "mixed v4->v6: source is ::ffff:192.0.2.7 port 1234");
	CHECK(memcmp(&in.dst, &d, sizeof(struct sockaddr_in6)) == 0,
	      "mixed v4->v6: destination kept");

	n = nacre_pp2_encode(b, sizeof(b), (void *)&d, (void *)&s, NULL);
	CHECK(n == 52 && nacre_pp2_parse(b, (size_t)n, &in, &err) == n &&
	      memcmp(&in.dst, &mapped, sizeof(struct sockaddr_in6)) == 0 &&
	      memcmp(&in.src, &d, sizeof(struct sockaddr_in6)) == 0,
	      "mixed v6->v4: destination mapped");
}

static void
test_unix(void)
{
	char longp[109];
	struct sockaddr_storage s = un("/run/lb.sock"), d = un("/run/app.sock");
	struct nacre_pp2_info in;
	const char *err = NULL;
	uint8_t b[512];
	ssize_t n = nacre_pp2_encode(b, sizeof(b), (void *)&s, (void *)&d, NULL);

	CHECK(n == 16 + 216 && b[13] == 0x31, "unix: UNIX stream, 232 bytes");
	CHECK(b[16 + 12] == 0 && b[16 + 107] == 0, "unix: path NUL padded");
	CHECK(nacre_pp2_parse(b, (size_t)n, &in, &err) == n &&
	      in.family == AF_UNIX && in.socktype == SOCK_STREAM, "unix: parses");
	CHECK_STR(((struct sockaddr_un *)&in.src)->sun_path, "/run/lb.sock",
		  "unix: source path");
	CHECK_STR(((struct sockaddr_un *)&in.dst)->sun_path, "/run/app.sock",
		  "unix: destination path");

	/* a 108-byte path has no NUL: it must neither be cut nor overrun */
	memset(longp, 'a', 108);
	longp[108] = '\0';
	s = un(longp);
	n = nacre_pp2_encode(b, sizeof(b), (void *)&s, (void *)&d, NULL);
	CHECK(n == 232 && nacre_pp2_parse(b, (size_t)n, &in, &err) == n &&
	      memcmp(((struct sockaddr_un *)&in.src)->sun_path, longp, 108) == 0,
	      "unix: 108-byte path round trips");
}

static void
test_unspec(void)
{
	struct sockaddr_storage v = { 0 }, d = in4("127.0.0.1", 80);
	struct sockaddr_vm *vm = (void *)&v;
	struct nacre_pp2_info in;
	const char *err = NULL;
	uint8_t b[64];
	ssize_t n;

	vm->svm_family = AF_VSOCK;
	vm->svm_cid = 3;
	vm->svm_port = 8000;
	n = nacre_pp2_encode(b, sizeof(b), (void *)&v, (void *)&v, NULL);
	CHECK(n == 16 && b[12] == 0x21 && b[13] == 0x00 && b[15] == 0,
	      "vsock: PROXY command, UNSPEC, empty address block");
	CHECK(nacre_pp2_parse(b, (size_t)n, &in, &err) == 16 &&
	      in.family == AF_UNSPEC && !in.local && in.socktype == 0,
	      "vsock: parses as UNSPEC");
	CHECK(nacre_pp2_encode(b, sizeof(b), NULL, (void *)&d, NULL) == 16 &&
	      b[13] == 0x00, "NULL source: UNSPEC");
	CHECK(nacre_pp2_encode(b, sizeof(b), (void *)&v, (void *)&d, NULL) == 16 &&
	      b[13] == 0x00, "vsock with inet: UNSPEC");
	d = un("/x");
	CHECK(nacre_pp2_encode(b, sizeof(b), (void *)&d, NULL, NULL) == 16 &&
	      b[13] == 0x00, "unix with NULL: UNSPEC");
}

static void
test_tls(void)
{
	struct nacre_pp2_tls tls = { "h2", "example.com", "TLSv1.3",
				     "TLS_AES_128_GCM_SHA256" };
	struct nacre_pp2_tls bare = { 0 };
	struct sockaddr_storage s = in4("192.0.2.1", 5000), d = in4("10.0.0.1", 80);
	struct nacre_pp2_info in;
	const struct nacre_pp2_tlv *t;
	const char *err = NULL;
	uint8_t b[512];
	ssize_t n = nacre_pp2_encode(b, sizeof(b), (void *)&s, (void *)&d, &tls);

	CHECK(n == 28 + 5 + 14 + 3 + 5 + 10 + 25, "tls: encoded length");
	CHECK(nacre_pp2_parse(b, (size_t)n, &in, &err) == n && in.ntlvs == 3,
	      "tls: parses with 3 TLVs");
	CHECK(tlv_is(find_tlv(&in, NACRE_PP2_TYPE_ALPN), "h2"), "tls: ALPN");
	CHECK(tlv_is(find_tlv(&in, NACRE_PP2_TYPE_AUTHORITY), "example.com"),
	      "tls: AUTHORITY");
	t = find_tlv(&in, NACRE_PP2_TYPE_SSL);
	CHECK(t && t->len == 5 + 10 + 25, "tls: SSL TLV length");
	if (!t || t->len != 40)
		return;
	CHECK(t->value[0] == NACRE_PP2_CLIENT_SSL, "tls: SSL client = PP2_CLIENT_SSL");
	CHECK(memcmp(t->value + 1, "\0\0\0\0", 4) == 0, "tls: SSL verify = 0");
	CHECK(t->value[5] == NACRE_PP2_SUBTYPE_SSL_VERSION && t->value[6] == 0 &&
	      t->value[7] == 7 && memcmp(t->value + 8, "TLSv1.3", 7) == 0,
	      "tls: SSL_VERSION sub-TLV");
	CHECK(t->value[15] == NACRE_PP2_SUBTYPE_SSL_CIPHER && t->value[17] == 22 &&
	      memcmp(t->value + 18, "TLS_AES_128_GCM_SHA256", 22) == 0,
	      "tls: SSL_CIPHER sub-TLV");

	n = nacre_pp2_encode(b, sizeof(b), (void *)&s, (void *)&d, &bare);
	CHECK(n == 28 + 8 && nacre_pp2_parse(b, (size_t)n, &in, &err) == n &&
	      in.ntlvs == 1 && in.tlvs[0].type == NACRE_PP2_TYPE_SSL &&
	      in.tlvs[0].len == 5, "tls: no facts -> bare SSL TLV only");

	tls.alpn = NULL;
	n = nacre_pp2_encode(b, sizeof(b), NULL, NULL, &tls);
	CHECK(n > 16 && nacre_pp2_parse(b, (size_t)n, &in, &err) == n &&
	      in.family == AF_UNSPEC && in.ntlvs == 2 &&
	      !find_tlv(&in, NACRE_PP2_TYPE_ALPN) &&
	      tlv_is(find_tlv(&in, NACRE_PP2_TYPE_AUTHORITY), "example.com"),
	      "tls: UNSPEC with TLVs, ALPN omitted");
}

static void
test_encode_cap(void)
{
	struct nacre_pp2_tls tls = { "http/1.1", "a.example", "TLSv1.2", "X" };
	struct sockaddr_storage s = in6("::1", 1), d = in6("::2", 2);
	uint8_t b[512];
	ssize_t full = nacre_pp2_encode(b, sizeof(b), (void *)&s, (void *)&d, &tls);
	bool ok = full > 0, intact = true;
	char *huge;

	for (size_t cap = 0; ok && cap < (size_t)full; cap++) {
		memset(b, 0xAA, sizeof(b));
		if (nacre_pp2_encode(b, cap, (void *)&s, (void *)&d, &tls) != -1)
			ok = false;
		for (size_t i = cap; i < sizeof(b); i++)
			intact &= b[i] == 0xAA;
	}
	CHECK(ok, "encode: -1 for every cap below the header size");
	CHECK(intact, "encode: never writes past cap");
	CHECK(nacre_pp2_encode(b, (size_t)full, (void *)&s, (void *)&d, &tls) ==
	      full, "encode: exact cap suffices");

	huge = malloc(70000);
	memset(huge, 'x', 69999);
	huge[69999] = '\0';
	tls.sni = huge;
	CHECK(nacre_pp2_encode(b, sizeof(b), NULL, NULL, &tls) == -1,
	      "encode: value over 64 KiB refused");
	free(huge);
}

static void
test_crc(void)
{
	struct sockaddr_storage s = in4("192.0.2.1", 5000), d = in4("10.0.0.1", 443);
	struct nacre_pp2_tls tls = { "h2", "example.com", NULL, NULL };
	struct nacre_pp2_info in;
	const char *err = NULL;
	uint8_t b[256];
	uint32_t c;
	ssize_t n;

	CHECK(ref_crc32c((const uint8_t *)"123456789", 9) == 0xE3069283,
	      "crc32c: check value of \"123456789\" is 0xE3069283");
	memcpy(b, crc_vector, sizeof(crc_vector));
	memset(b + sizeof(crc_vector) - 4, 0, 4);
	CHECK(ref_crc32c(b, sizeof(crc_vector)) == 0x19882069,
	      "crc32c: reference agrees with the external vector");
	CHECK(parse_copy(crc_vector, sizeof(crc_vector), &in, &err) ==
	      (ssize_t)sizeof(crc_vector), "crc32c: external vector accepted");

	/* append a CRC32C TLV to an encoded header and fill it in */
	n = nacre_pp2_encode(b, sizeof(b) - 7, (void *)&s, (void *)&d, &tls);
	memcpy(b + n, "\x03\x00\x04\0\0\0\0", 7);
	n += 7;
	b[15] = (uint8_t)(n - 16);
	c = ref_crc32c(b, (size_t)n);
	b[n - 4] = (uint8_t)(c >> 24);
	b[n - 3] = (uint8_t)(c >> 16);
	b[n - 2] = (uint8_t)(c >> 8);
	b[n - 1] = (uint8_t)c;
	CHECK(parse_copy(b, (size_t)n, &in, &err) == n && in.ntlvs == 4 &&
	      find_tlv(&in, NACRE_PP2_TYPE_CRC32C), "crc32c: good checksum accepted");
	b[20] ^= 1;
	reject(b, (size_t)n, "CRC32C mismatch", "crc32c: altered address rejected");
	b[20] ^= 1;
	b[n - 1] ^= 0x80;
	reject(b, (size_t)n, "CRC32C mismatch", "crc32c: altered checksum rejected");

	n = (ssize_t)raw(b, 0x21, 0x00, 5);
	memcpy(b + n, "\x03\x00\x02\x12\x34", 5);
	reject(b, 21, "CRC32C TLV has length 2", "crc32c: TLV of length 2 rejected");
}

static void
test_prefixes(void)
{
	struct nacre_pp2_tls tls = { "h2", "example.com", "TLSv1.3", "X" };
	struct sockaddr_storage s = un("/a"), d = un("/b");
	struct nacre_pp2_info in;
	const char *err = NULL;
	uint8_t b[512];
	ssize_t n = nacre_pp2_encode(b, sizeof(b) - 8, (void *)&s, (void *)&d, &tls);
	bool all = true;

	for (size_t i = 0; i < (size_t)n; i++)
		if (parse_copy(b, i, &in, &err) != 0)
			all = false;
	CHECK(all, "need more: every proper prefix returns 0");

	memcpy(b + n, "GET / HTTP/1.1\r\n", 8);
	CHECK(parse_copy(b, (size_t)n + 8, &in, &err) == n,
	      "header followed by payload: returns the header length only");
}

static void
test_reject_start(void)
{
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00 };
	static const char v1[] = "PROXY TCP4 192.0.2.1 10.0.0.1 5000 443\r\n";
	uint8_t b[32];

	reject(hello, 1, "TLS ClientHello", "ClientHello: rejected on its first byte");
	reject(hello, sizeof(hello), "TLS ClientHello", "ClientHello: rejected");
	reject((const uint8_t *)v1, 1, "v1", "PROXY v1: rejected on its first byte");
	reject((const uint8_t *)v1, strlen(v1), "only v2 is supported",
	       "PROXY v1: rejected");
	memcpy(b, sig, 12);
	b[10] = 'X';
	reject(b, 11, "signature byte 10", "bad signature: rejected at the bad byte");
	reject((const uint8_t *)"\r\n\r\n\0\r\nQUIT\r", 12, "signature byte 11",
	       "bad signature: last byte wrong");
	reject((const uint8_t *)"GET / HTTP/1.1\r\n", 16, "expected a PROXY v2",
	       "bad signature: HTTP");
}

static void
test_reject_fixed(void)
{
	uint8_t b[1100] = { 0 };

	raw(b, 0x11, 0x11, 12);
	reject(b, 13, "version 1", "version 1 nibble rejected at byte 13");
	raw(b, 0x31, 0x11, 12);
	reject(b, 28, "version 3", "version 3 nibble rejected");
	raw(b, 0x22, 0x11, 12);
	reject(b, 13, "unknown command 0x2", "bad command rejected");
	raw(b, 0x2f, 0x11, 12);
	reject(b, 28, "unknown command 0xf", "command 0xf rejected");
	raw(b, 0x21, 0x13, 12);
	reject(b, 14, "family/transport 0x13", "bad transport rejected");
	raw(b, 0x21, 0x41, 12);
	reject(b, 28, "family/transport 0x41", "bad family rejected");
	raw(b, 0x21, 0x01, 0);
	reject(b, 16, "family/transport 0x01", "UNSPEC with a transport rejected");
	raw(b, 0x21, 0x11, 11);
	reject(b, 16, "too short for its TCP over IPv4", "TCP4 length 11 rejected");
	raw(b, 0x21, 0x22, 12);
	reject(b, 16, "too short for its UDP over IPv6", "UDP6 length 12 rejected");
	raw(b, 0x21, 0x31, 215);
	reject(b, 16, "too short for its UNIX stream", "UNIX length 215 rejected");
	raw(b, 0x21, 0x00, 1009);
	reject(b, 16, "PROXY v2 header of 1025 bytes exceeds the limit of 1024",
	       "length over the cap rejected on the 16th byte");
	raw(b, 0x21, 0x00, 0xffff);
	reject(b, 16, "exceeds the limit", "length 65535 rejected");
}

static void
test_accept_edges(void)
{
	uint8_t b[1100] = { 0 };
	struct nacre_pp2_info in;
	const char *err = NULL;

	/* the largest header allowed: one NOOP TLV filling 1024 bytes */
	raw(b, 0x21, 0x00, 1008);
	b[16] = NACRE_PP2_TYPE_NOOP;
	b[17] = (1005 >> 8);
	b[18] = (uint8_t)1005;
	CHECK(parse_copy(b, 1024, &in, &err) == 1024 && in.ntlvs == 1 &&
	      in.tlvs[0].len == 1005, "1024-byte header accepted");

	/* LOCAL: addresses skipped, TLVs still read */
	raw(b, 0x20, 0x11, 12 + 5);
	memset(b + 16, 0x7f, 12);
	memcpy(b + 28, "\x01\x00\x02h2", 5);
	CHECK(parse_copy(b, 33, &in, &err) == 33 && in.local &&
	      in.family == AF_UNSPEC && in.ntlvs == 1 &&
	      tlv_is(find_tlv(&in, NACRE_PP2_TYPE_ALPN), "h2"),
	      "LOCAL: accepted, local, TLVs parsed");

	raw(b, 0x21, 0x12, 12);
	CHECK(parse_copy(b, 28, &in, &err) == 28 && in.family == AF_INET &&
	      in.socktype == SOCK_DGRAM, "UDP4 accepted as datagram");
	raw(b, 0x21, 0x32, 216);
	memset(b + 16, 0, 216);
	CHECK(parse_copy(b, 232, &in, &err) == 232 && in.family == AF_UNIX &&
	      in.socktype == SOCK_DGRAM, "UNIX datagram accepted");
}

static void
test_reject_tlvs(void)
{
	uint8_t b[256] = { 0 };
	struct nacre_pp2_info in;
	const char *err = NULL;
	size_t n;

	raw(b, 0x21, 0x11, 14);
	b[28] = NACRE_PP2_TYPE_NOOP;
	reject(b, 30, "truncated TLV at byte 28", "truncated TLV header rejected");

	raw(b, 0x21, 0x11, 12 + 8);
	memcpy(b + 28, "\x02\x00\x0a" "abcde", 8);
	reject(b, 36, "TLV 0x02 at byte 28 has length 10, beyond the end",
	       "TLV value overflowing the header rejected");

	n = raw(b, 0x21, 0x00, 32 * 3);
	memset(b + n, 0, 33 * 3);
	for (size_t i = 0; i < 33; i++)
		b[n + 3 * i] = NACRE_PP2_TYPE_NOOP;
	CHECK(parse_copy(b, 16 + 32 * 3, &in, &err) == 16 + 32 * 3 &&
	      in.ntlvs == 32, "32 TLVs accepted");
	raw(b, 0x21, 0x00, 33 * 3);
	reject(b, 16 + 33 * 3, "more than 32 TLVs", "33 TLVs rejected");

	raw(b, 0x21, 0x00, 3 + 3);
	memcpy(b + 16, "\x20\x00\x03\x01\0\0", 6);
	reject(b, 22, "shorter than its 5-byte", "SSL TLV shorter than 5 rejected");
	raw(b, 0x21, 0x00, 3 + 5 + 4);
	memcpy(b + 16, "\x20\x00\x09\x01\0\0\0\0\x21\x00\x05v", 12);
	reject(b, 28, "SSL sub-TLV 0x21 has length 5", "SSL sub-TLV overflow rejected");
	raw(b, 0x21, 0x00, 3 + 5 + 2);
	memcpy(b + 16, "\x20\x00\x07\x01\0\0\0\0\x21\x00", 10);
	reject(b, 26, "truncated sub-TLV", "SSL truncated sub-TLV rejected");
	raw(b, 0x21, 0x00, 3 + 5 + 4);
	memcpy(b + 16, "\x20\x00\x09\x01\0\0\0\0\x22\x00\x01x", 12);
	CHECK(parse_copy(b, 28, &in, &err) == 28, "SSL TLV with a CN sub-TLV accepted");
}

int
main(void)
{
	test_inet();
	test_mixed();
	test_unix();
	test_unspec();
	test_tls();
	test_encode_cap();
	test_crc();
	test_prefixes();
	test_reject_start();
	test_reject_fixed();
	test_accept_edges();
	test_reject_tlvs();
	free(copy);
	TAP_DONE();
}
