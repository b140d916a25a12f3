/*
 * fuzz_proxy_proto.c: nacre_pp2_parse on arbitrary bytes. Whatever it
 * accepts must be self-consistent, be the same on its own bytes, be "need
 * more" on any prefix, and survive an encode -> parse round trip.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "nacred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

/* Parse an exact-size copy, so ASan sees any read past its end; the copy
 * lives until the next call, as the TLVs point into it. */
static uint8_t *copy;

static ssize_t
parse_exact(const uint8_t *b, size_t n, struct nacre_pp2_info *in)
{
	const char *err = NULL;
	ssize_t r;

	free(copy);
	copy = malloc(n ? n : 1);
	memcpy(copy, b, n);
	r = nacre_pp2_parse(copy, n, in, &err);
	REQUIRE(r != -1 || (err && *err));
	return r;
}

static void
check_info(const uint8_t *data, size_t n, const struct nacre_pp2_info *in)
{
	REQUIRE(n >= 16 && n <= NACRE_PP2_HDR_MAX);
	REQUIRE(in->ntlvs <= sizeof(in->tlvs) / sizeof(in->tlvs[0]));
	for (size_t i = 0; i < in->ntlvs; i++) {
		const struct nacre_pp2_tlv *t = &in->tlvs[i];
		REQUIRE(t->value >= data + 19 && t->value + t->len <= data + n);
	}
	REQUIRE(!in->local || in->family == AF_UNSPEC);
	REQUIRE((in->family == AF_UNSPEC) == (in->socktype == 0));
	REQUIRE(in->family == AF_UNSPEC || in->src.ss_family == in->family);
}

static const struct nacre_pp2_tlv *
find_tlv(const struct nacre_pp2_info *in, uint8_t type)
{
	for (size_t i = 0; i < in->ntlvs; i++)
		if (in->tlvs[i].type == type)
			return &in->tlvs[i];
	return NULL;
}

/* a TLV value as a C string, cut at its first NUL as encode would see it */
static const char *
tlv_str(const uint8_t *v, size_t len, char *buf)
{
	memcpy(buf, v, len);
	buf[len] = '\0';
	return buf;
}

static void
ssl_facts(const struct nacre_pp2_info *in, struct nacre_pp2_tls *tls,
	  char *ver, char *cipher)
{
	const struct nacre_pp2_tlv *t = find_tlv(in, NACRE_PP2_TYPE_SSL);

	for (size_t off = 5; t && off + 3 <= t->len;) {
		const uint8_t *s = t->value + off;
		size_t len = (size_t)s[1] << 8 | s[2];
		if (s[0] == NACRE_PP2_SUBTYPE_SSL_VERSION && !tls->version)
			tls->version = tlv_str(s + 3, len, ver);
		if (s[0] == NACRE_PP2_SUBTYPE_SSL_CIPHER && !tls->cipher)
			tls->cipher = tlv_str(s + 3, len, cipher);
		off += 3 + len;
	}
}

static bool
same_str_tlv(const struct nacre_pp2_info *in, uint8_t type, const char *s)
{
	const struct nacre_pp2_tlv *t = find_tlv(in, type);

	if (!s)
		return t == NULL;
	return t && t->len == strlen(s) && memcmp(t->value, s, t->len) == 0;
}

static bool
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family == AF_INET)
		return memcmp(a, b, sizeof(struct sockaddr_in)) == 0;
	if (a->ss_family == AF_INET6)
		return memcmp(a, b, sizeof(struct sockaddr_in6)) == 0;
	const char *p = ((const struct sockaddr_un *)(const void *)a)->sun_path;
	const char *q = ((const struct sockaddr_un *)(const void *)b)->sun_path;
	return strnlen(p, 108) == strnlen(q, 108) &&
	       memcmp(p, q, strnlen(p, 108)) == 0;
}

static void
roundtrip(const struct nacre_pp2_info *in, uint8_t capsel)
{
	static char alpn[1024], sni[1024], ver[1024], cipher[1024];
	static uint8_t out[4096];
	struct nacre_pp2_tls tls = { 0 };
	const struct nacre_pp2_tlv *t;
	const struct sockaddr *src = NULL, *dst = NULL;
	struct nacre_pp2_info back;

	if ((t = find_tlv(in, NACRE_PP2_TYPE_ALPN)))
		tls.alpn = tlv_str(t->value, t->len, alpn);
	if ((t = find_tlv(in, NACRE_PP2_TYPE_AUTHORITY)))
		tls.sni = tlv_str(t->value, t->len, sni);
	ssl_facts(in, &tls, ver, cipher);
	if (in->family != AF_UNSPEC) {
		src = (const void *)&in->src;
		dst = (const void *)&in->dst;
	}
	ssize_t m = nacre_pp2_encode(out, sizeof(out), src, dst, &tls);
	REQUIRE(m >= 16 + 8);

	/* a buffer of exactly cap bytes: ASan catches a write past it */
	size_t cap = capsel % ((size_t)m + 1);
	uint8_t *small = malloc(cap ? cap : 1);
	ssize_t r = nacre_pp2_encode(small, cap, src, dst, &tls);
	REQUIRE(cap < (size_t)m ? r == -1 : r == m);
	REQUIRE(r < 0 || memcmp(small, out, (size_t)m) == 0);
	free(small);

	r = parse_exact(out, (size_t)m, &back);
	if (m > NACRE_PP2_HDR_MAX) {
		REQUIRE(r == -1);
		return;
	}
	REQUIRE(r == m);
	REQUIRE(back.family == in->family && !back.local);
	REQUIRE(in->family == AF_UNSPEC || (same_addr(&in->src, &back.src) &&
					    same_addr(&in->dst, &back.dst)));
	REQUIRE(same_str_tlv(&back, NACRE_PP2_TYPE_ALPN, tls.alpn));
	REQUIRE(same_str_tlv(&back, NACRE_PP2_TYPE_AUTHORITY, tls.sni));
	REQUIRE(find_tlv(&back, NACRE_PP2_TYPE_SSL));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nacre_pp2_info in, again;
	const char *err = NULL;
	ssize_t n = nacre_pp2_parse(data, size, &in, &err);

	REQUIRE(n >= -1);
	REQUIRE(n != -1 || (err && *err));
	if (n <= 0)
		return 0;
	REQUIRE((size_t)n <= size);
	check_info(data, (size_t)n, &in);

	/* the header alone gives the same answer; any prefix needs more */
	REQUIRE(parse_exact(data, (size_t)n, &again) == n);
	REQUIRE(again.ntlvs == in.ntlvs && again.family == in.family);
	REQUIRE(parse_exact(data, (size_t)n - 1, &again) == 0);
	REQUIRE(parse_exact(data, (size_t)n / 2, &again) == 0);

	roundtrip(&in, size > (size_t)n ? data[n] : data[size - 1]);
	free(copy);
	copy = NULL;
	return 0;
}
