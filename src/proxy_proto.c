/*
 * proxy_proto.c: PROXY protocol v2 (haproxy's proxy-protocol.txt). Parses the
 * header a load balancer puts in front of a client connection, and writes one,
 * with the TLS facts of the connection, in front of the upstream's stream.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "nacred.h"

#define PP2_FIXED 16         /* signature, version/command, family, length */
#define PP2_UNIX_PATH 108    /* the spec's fixed path size, NUL padded */
#define PP2_MAX_TLVS (sizeof(((struct nacre_pp2_info *)0)->tlvs) / \
		      sizeof(struct nacre_pp2_tlv))

static const uint8_t pp2_sig[NACRE_PP2_SIG_LEN] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

struct pp2_family {
	uint8_t byte;    /* address family (high nibble) and transport (low) */
	int family;
	int socktype;
	uint16_t addrlen;
	const char *name;
};

static const struct pp2_family pp2_families[] = {
	{ 0x00, AF_UNSPEC, 0, 0, "UNSPEC" },
	{ 0x11, AF_INET, SOCK_STREAM, 12, "TCP over IPv4" },
	{ 0x12, AF_INET, SOCK_DGRAM, 12, "UDP over IPv4" },
	{ 0x21, AF_INET6, SOCK_STREAM, 36, "TCP over IPv6" },
	{ 0x22, AF_INET6, SOCK_DGRAM, 36, "UDP over IPv6" },
	{ 0x31, AF_UNIX, SOCK_STREAM, 216, "UNIX stream" },
	{ 0x32, AF_UNIX, SOCK_DGRAM, 216, "UNIX datagram" },
};

/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78) a nibble at a time:
 * headers are at most 1 KiB, so a 16-entry table is fast enough. */
static const uint32_t crc32c_tab[16] = {
	0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3,
	0x61c69362, 0x7198540d, 0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9,
	0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75
};

static uint32_t
crc32c_update(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n--) {
		crc ^= *p++;
		crc = (crc >> 4) ^ crc32c_tab[crc & 15];
		crc = (crc >> 4) ^ crc32c_tab[crc & 15];
	}
	return crc;
}

/* Messages with numbers in them are built here; *err stays valid until the
 * same thread parses again (every worker thread has its own buffer). */
static _Thread_local char pp2_errbuf[256];

__attribute__((format(printf, 2, 3)))
static ssize_t
pp2_fail(const char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pp2_errbuf, sizeof(pp2_errbuf), fmt, ap);
	va_end(ap);
	if (err)
		*err = pp2_errbuf;
	return -1;
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Every byte present is checked, so a peer that sends no PROXY header at
 * all is turned away on its first byte instead of waiting for sixteen. */
static ssize_t
check_signature(const uint8_t *buf, size_t len, const char **err)
{
	if (len > 0 && buf[0] == 0x16)
		return pp2_fail(err, "expected a PROXY v2 header, got something "
				"else (a TLS ClientHello? is proxy_protocol "
				"enabled on a listener whose peer does not "
				"send it?)");
	if (len > 0 && buf[0] == 'P')
		return pp2_fail(err, "expected a PROXY v2 header, got text "
				"starting with 'P' (a PROXY v1 header? only "
				"v2 is supported)");
	for (size_t i = 0; i < len && i < NACRE_PP2_SIG_LEN; i++)
		if (buf[i] != pp2_sig[i])
			return pp2_fail(err, "expected a PROXY v2 header, got "
					"something else (signature byte %zu is "
					"0x%02x, not 0x%02x)", i, buf[i],
					pp2_sig[i]);
	return 0;
}

static const struct pp2_family *
find_family(uint8_t byte)
{
	for (size_t i = 0; i < sizeof(pp2_families) / sizeof(pp2_families[0]); i++)
		if (pp2_families[i].byte == byte)
			return &pp2_families[i];
	return NULL;
}

/* a points at the address block; its layout is src, dst, src port, dst port */
static void
read_addresses(const uint8_t *a, const struct pp2_family *f,
	       struct nacre_pp2_info *out)
{
	if (f->family == AF_INET) {
		struct sockaddr_in *s = (void *)&out->src, *d = (void *)&out->dst;
		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, a, 4);
		memcpy(&d->sin_addr, a + 4, 4);
		memcpy(&s->sin_port, a + 8, 2);
		memcpy(&d->sin_port, a + 10, 2);
		out->srclen = out->dstlen = sizeof(*s);
	} else if (f->family == AF_INET6) {
		struct sockaddr_in6 *s = (void *)&out->src, *d = (void *)&out->dst;
		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, a, 16);
		memcpy(&d->sin6_addr, a + 16, 16);
		memcpy(&s->sin6_port, a + 32, 2);
		memcpy(&d->sin6_port, a + 34, 2);
		out->srclen = out->dstlen = sizeof(*s);
	} else if (f->family == AF_UNIX) {
		struct sockaddr_un *s = (void *)&out->src, *d = (void *)&out->dst;
		s->sun_family = d->sun_family = AF_UNIX;
		memcpy(s->sun_path, a, PP2_UNIX_PATH);
		memcpy(d->sun_path, a + PP2_UNIX_PATH, PP2_UNIX_PATH);
		out->srclen = out->dstlen = sizeof(*s);
	}
}

/* The checksum covers the whole header with its own 4 bytes read as zero. */
static ssize_t
check_crc32c(const uint8_t *hdr, size_t hdrlen, size_t at, const char **err)
{
	static const uint8_t zero[4];
	uint32_t crc = 0xffffffff;

	crc = crc32c_update(crc, hdr, at);
	crc = crc32c_update(crc, zero, 4);
	crc = ~crc32c_update(crc, hdr + at + 4, hdrlen - at - 4);
	if (crc != be32(hdr + at))
		return pp2_fail(err, "PROXY v2 CRC32C mismatch: the header says "
				"0x%08x, its bytes give 0x%08x", be32(hdr + at),
				crc);
	return 0;
}

/* PP2_TYPE_SSL: client (1), verify (4), then sub-TLVs that must fill it. */
static ssize_t
check_ssl(const uint8_t *v, size_t len, const char **err)
{
	if (len < 5)
		return pp2_fail(err, "PROXY v2 SSL TLV of %zu bytes is shorter "
				"than its 5-byte client/verify prefix", len);
	for (size_t off = 5; off < len;) {
		if (len - off < 3)
			return pp2_fail(err, "PROXY v2 SSL TLV has a truncated "
					"sub-TLV header at byte %zu", off);
		size_t sublen = be16(v + off + 1);
		if (sublen > len - off - 3)
			return pp2_fail(err, "PROXY v2 SSL sub-TLV 0x%02x has "
					"length %zu, beyond the end of the SSL "
					"TLV", v[off], sublen);
		off += 3 + sublen;
	}
	return 0;
}

static ssize_t
parse_tlvs(const uint8_t *hdr, size_t off, size_t end,
	   struct nacre_pp2_info *out, const char **err)
{
	while (off < end) {
		if (end - off < 3)
			return pp2_fail(err, "PROXY v2 header has a truncated "
					"TLV at byte %zu (%zu bytes left, a TLV "
					"header needs 3)", off, end - off);
		uint8_t type = hdr[off];
		size_t len = be16(hdr + off + 1);
		if (len > end - off - 3)
			return pp2_fail(err, "PROXY v2 TLV 0x%02x at byte %zu "
					"has length %zu, beyond the end of the "
					"header", type, off, len);
		if (out->ntlvs == PP2_MAX_TLVS)
			return pp2_fail(err, "PROXY v2 header has more than %zu "
					"TLVs", PP2_MAX_TLVS);
		out->tlvs[out->ntlvs++] = (struct nacre_pp2_tlv){
			.type = type, .len = (uint16_t)len,
			.value = hdr + off + 3 };
		if (type == NACRE_PP2_TYPE_CRC32C && len != 4)
			return pp2_fail(err, "PROXY v2 CRC32C TLV has length "
					"%zu, expected 4", len);
		if (type == NACRE_PP2_TYPE_CRC32C &&
		    check_crc32c(hdr, end, off + 3, err) < 0)
			return -1;
		if (type == NACRE_PP2_TYPE_SSL &&
		    check_ssl(hdr + off + 3, len, err) < 0)
			return -1;
		off += 3 + len;
	}
	return 0;
}

ssize_t
nacre_pp2_parse(const uint8_t *buf, size_t len, struct nacre_pp2_info *out,
		const char **err)
{
	memset(out, 0, sizeof(*out));
	if (check_signature(buf, len, err) < 0)
		return -1;
	if (len <= NACRE_PP2_SIG_LEN)
		return 0;
	if (buf[12] >> 4 != 2)
		return pp2_fail(err, "PROXY v2 header has version %u, expected 2",
				buf[12] >> 4);
	if ((buf[12] & 0x0f) > 1)
		return pp2_fail(err, "PROXY v2 header has unknown command 0x%x "
				"(expected LOCAL 0x0 or PROXY 0x1)", buf[12] & 0x0f);
	if (len < 14)
		return 0;
	const struct pp2_family *f = find_family(buf[13]);
	if (!f)
		return pp2_fail(err, "PROXY v2 header has unknown address "
				"family/transport 0x%02x", buf[13]);
	if (len < PP2_FIXED)
		return 0;
	size_t total = PP2_FIXED + be16(buf + 14);
	if (total > NACRE_PP2_HDR_MAX)
		return pp2_fail(err, "PROXY v2 header of %zu bytes exceeds the "
				"limit of %d", total, NACRE_PP2_HDR_MAX);
	if (total - PP2_FIXED < f->addrlen)
		return pp2_fail(err, "PROXY v2 header length %zu is too short "
				"for its %s addresses (%u bytes)",
				total - PP2_FIXED, f->name, f->addrlen);
	if (len < total)
		return 0;
	/* LOCAL: the balancer speaks for itself (e.g. a health check); the
	 * spec says to ignore its address block and use the real peer. */
	out->local = (buf[12] & 0x0f) == 0;
	out->family = out->local ? AF_UNSPEC : f->family;
	out->socktype = out->local ? 0 : f->socktype;
	if (!out->local)
		read_addresses(buf + PP2_FIXED, f, out);
	if (parse_tlvs(buf, PP2_FIXED + f->addrlen, total, out, err) < 0) {
		memset(out, 0, sizeof(*out)); /* nothing of a bad header is used */
		return -1;
	}
	return (ssize_t)total;
}

/* ---- encoding ---- */

struct pp2_out {
	uint8_t *buf;
	size_t cap, off;
	bool bad; /* out of room, or a value too long for a 16-bit length */
};

static void
put(struct pp2_out *o, const void *p, size_t n)
{
	if (o->bad || n > o->cap - o->off) {
		o->bad = true;
		return;
	}
	if (n)
		memcpy(o->buf + o->off, p, n);
	o->off += n;
}

static void
put_u8(struct pp2_out *o, uint8_t v)
{
	put(o, &v, 1);
}

static void
put_u16(struct pp2_out *o, size_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	if (v > 0xffff)
		o->bad = true;
	put(o, b, 2);
}

static void
put_tlv(struct pp2_out *o, uint8_t type, const char *s)
{
	size_t n = strlen(s);

	put_u8(o, type);
	put_u16(o, n);
	put(o, s, n);
}

static uint8_t
encode_family(const struct sockaddr *src, const struct sockaddr *dst)
{
	if (!src || !dst)
		return 0x00;
	int a = src->sa_family, b = dst->sa_family;
	if (a == AF_INET && b == AF_INET)
		return 0x11;
	if ((a == AF_INET || a == AF_INET6) && (b == AF_INET || b == AF_INET6))
		return 0x21;
	if (a == AF_UNIX && b == AF_UNIX)
		return 0x31;
	return 0x00; /* e.g. vsock: v2 has no family for it */
}

/* IPv4 is written as ::ffff:a.b.c.d when the other side is IPv6. */
static void
put_in6(struct pp2_out *o, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (sa->sa_family == AF_INET6) {
		put(o, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return;
	}
	put(o, mapped, sizeof(mapped));
	put(o, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
}

static const void *
port_of(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6)
		return &((const struct sockaddr_in6 *)(const void *)sa)->sin6_port;
	return &((const struct sockaddr_in *)(const void *)sa)->sin_port;
}

static void
put_unix(struct pp2_out *o, const struct sockaddr *sa)
{
	static const uint8_t zero[PP2_UNIX_PATH];
	const char *path = ((const struct sockaddr_un *)(const void *)sa)->sun_path;
	size_t n = strnlen(path, PP2_UNIX_PATH);

	put(o, path, n);
	put(o, zero, PP2_UNIX_PATH - n);
}

static void
put_addresses(struct pp2_out *o, uint8_t fam, const struct sockaddr *src,
	      const struct sockaddr *dst)
{
	if (fam == 0x11) {
		put(o, &((const struct sockaddr_in *)(const void *)src)->sin_addr, 4);
		put(o, &((const struct sockaddr_in *)(const void *)dst)->sin_addr, 4);
	} else if (fam == 0x21) {
		put_in6(o, src);
		put_in6(o, dst);
	} else if (fam == 0x31) {
		put_unix(o, src);
		put_unix(o, dst);
		return;
	} else {
		return;
	}
	put(o, port_of(src), 2);
	put(o, port_of(dst), 2);
}

static void
put_ssl(struct pp2_out *o, const struct nacre_pp2_tls *tls)
{
	static const uint8_t verify[4]; /* 0: no client certificate to fail */
	size_t len = 1 + sizeof(verify);

	if (tls->version)
		len += 3 + strlen(tls->version);
	if (tls->cipher)
		len += 3 + strlen(tls->cipher);
	put_u8(o, NACRE_PP2_TYPE_SSL);
	put_u16(o, len);
	put_u8(o, NACRE_PP2_CLIENT_SSL);
	put(o, verify, sizeof(verify));
	if (tls->version)
		put_tlv(o, NACRE_PP2_SUBTYPE_SSL_VERSION, tls->version);
	if (tls->cipher)
		put_tlv(o, NACRE_PP2_SUBTYPE_SSL_CIPHER, tls->cipher);
}

ssize_t
nacre_pp2_encode(uint8_t *buf, size_t cap, const struct sockaddr *src,
		 const struct sockaddr *dst, const struct nacre_pp2_tls *tls)
{
	struct pp2_out o = { .buf = buf, .cap = cap };
	uint8_t fam = encode_family(src, dst);

	put(&o, pp2_sig, sizeof(pp2_sig));
	put_u8(&o, 0x21); /* version 2, PROXY */
	put_u8(&o, fam);
	put_u16(&o, 0);   /* patched below */
	put_addresses(&o, fam, src, dst);
	if (tls && tls->alpn)
		put_tlv(&o, NACRE_PP2_TYPE_ALPN, tls->alpn);
	if (tls && tls->sni)
		put_tlv(&o, NACRE_PP2_TYPE_AUTHORITY, tls->sni);
	if (tls)
		put_ssl(&o, tls);
	if (o.bad || o.off - PP2_FIXED > 0xffff)
		return -1;
	buf[14] = (uint8_t)((o.off - PP2_FIXED) >> 8);
	buf[15] = (uint8_t)(o.off - PP2_FIXED);
	return (ssize_t)o.off;
}
