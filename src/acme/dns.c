/*
 * dns.c: DNS queries for the CAA check, over TCP (or UDP first, to a local
 * resolver) to a resolver written in nacre's address syntax, so a vsock
 * hop to the parent instance works like a loopback one. Queries are built
 * with ldns; every wait has the caller's deadline and every answer the
 * 64 KiB bound of TCP's length prefix.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "acme/acme.h"
#include "nacred.h"

#define DNS_MAX NACRE_DNS_MAX
#define RESOLV_CONF "/etc/resolv.conf"


/* 1 ready, 0 deadline passed, -1 poll failed */
static int
wait_fd(int fd, short ev, uint64_t deadline)
{
	for (;;) {
		uint64_t now = nacre_mono_ms();
		struct pollfd p = { fd, ev, 0 };
		int n;
		if (now >= deadline)
			return 0;
		n = poll(&p, 1, (int)(deadline - now));
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int
dial(const struct nacre_dns_resolver *rs, int type, uint64_t deadline, char *err,
     size_t errlen)
{
	int fd = socket(rs->addr.ss.ss_family, type | SOCK_CLOEXEC |
			SOCK_NONBLOCK, 0), e = 0;
	socklen_t sl = sizeof(e);

	if (fd < 0) {
		nacre_seterr(err, errlen, "resolver %s: socket: %s",
			     rs->addr.text, strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&rs->addr.ss,
		    rs->addr.sslen) < 0) {
		e = errno;
		if (e == EINPROGRESS) {
			int w = wait_fd(fd, POLLOUT, deadline);
			e = w == 0 ? ETIMEDOUT : w < 0 ? errno : 0;
			if (w > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e,
						&sl) < 0)
				e = errno;
		}
	}
	if (e) {
		nacre_seterr(err, errlen, "resolver %s: cannot connect: %s",
			     rs->addr.text, strerror(e));
		close(fd);
		return -1;
	}
	return fd;
}

/* all N bytes in or out before the deadline: 0; -1 errno; -2 peer closed */
static int
io_all(int fd, bool out, uint8_t *b, size_t n, uint64_t deadline)
{
	for (size_t done = 0; done < n;) {
		ssize_t k = out ? send(fd, b + done, n - done, MSG_NOSIGNAL)
				: recv(fd, b + done, n - done, 0);
		if (k > 0) {
			done += (size_t)k;
			continue;
		}
		if (k == 0)
			return -2;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		int w = wait_fd(fd, out ? POLLOUT : POLLIN, deadline);
		if (w <= 0) {
			errno = w == 0 ? ETIMEDOUT : errno;
			return -1;
		}
	}
	return 0;
}

static int
io_error(const struct nacre_dns_resolver *rs, int rc, const char *qname, char *err,
	 size_t errlen)
{
	if (rc == -2)
		nacre_seterr(err, errlen, "resolver %s closed the connection "
			     "before answering %s CAA", rs->addr.text, qname);
	else if (errno == ETIMEDOUT)
		nacre_seterr(err, errlen, "resolver %s: no answer for %s CAA "
			     "in time", rs->addr.text, qname);
	else
		nacre_seterr(err, errlen, "resolver %s: %s", rs->addr.text,
			     strerror(errno));
	return -1;
}

/* DNS over TCP: a 2-byte length before each message (RFC 1035 4.2.2) */
static int
tcp_exchange(const struct nacre_dns_resolver *rs, const uint8_t *qw, size_t qlen,
	     uint8_t *ans, size_t *alen, uint64_t deadline, const char *qname,
	     char *err, size_t errlen)
{
	uint8_t hdr[2 + 512];
	int fd = dial(rs, SOCK_STREAM, deadline, err, errlen), rc;

	if (fd < 0)
		return -1;
	hdr[0] = (uint8_t)(qlen >> 8);
	hdr[1] = (uint8_t)qlen;
	memcpy(hdr + 2, qw, qlen);
	rc = io_all(fd, true, hdr, qlen + 2, deadline);
	if (rc == 0)
		rc = io_all(fd, false, hdr, 2, deadline);
	*alen = (size_t)hdr[0] << 8 | hdr[1];
	if (rc == 0 && *alen == 0)
		rc = -2;
	if (rc == 0)
		rc = io_all(fd, false, ans, *alen, deadline);
	close(fd);
	return rc < 0 ? io_error(rs, rc, qname, err, errlen) : 0;
}

/* DNS over UDP on a connected socket (only the resolver's answers come
 * in); a datagram with another ID is not ours and is skipped. 1 when the
 * answer is truncated: ask again over TCP. */
static int
udp_exchange(const struct nacre_dns_resolver *rs, const uint8_t *qw, size_t qlen,
	     uint8_t *ans, size_t *alen, uint64_t deadline, const char *qname,
	     char *err, size_t errlen)
{
	int fd = dial(rs, SOCK_DGRAM, deadline, err, errlen), w, e;
	ssize_t k = -1;

	if (fd < 0)
		return -1;
	if (send(fd, qw, qlen, 0) != (ssize_t)qlen) {
		close(fd);
		return io_error(rs, -1, qname, err, errlen);
	}
	while ((w = wait_fd(fd, POLLIN, deadline)) > 0) {
		k = recv(fd, ans, DNS_MAX, 0);
		if (k < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (k >= 12 && ans[0] == qw[0] && ans[1] == qw[1])
			break;
		k = -1;
	}
	e = w == 0 ? ETIMEDOUT : errno;
	close(fd);
	if (k < 0) {
		errno = e;
		return io_error(rs, -1, qname, err, errlen);
	}
	*alen = (size_t)k;
	return (ans[2] & 0x02) ? 1 : 0;
}

static int
build_query(const char *qname, uint16_t id, uint8_t **wire, size_t *len,
	    char *err, size_t errlen)
{
	ldns_rdf *dn = ldns_dname_new_frm_str(qname);
	/* the packet takes DN: freed with it */
	ldns_pkt *p = dn ? ldns_pkt_query_new(dn, LDNS_RR_TYPE_CAA,
					      LDNS_RR_CLASS_IN, LDNS_RD)
			 : NULL;
	ldns_status st = LDNS_STATUS_MEM_ERR;

	if (!dn || !p) {
		ldns_rdf_deep_free(p ? NULL : dn);
		nacre_seterr(err, errlen, "cannot build a CAA query for %s",
			     qname);
		return -1;
	}
	ldns_pkt_set_id(p, id);
	st = ldns_pkt2wire(wire, p, len);
	ldns_pkt_free(p);
	if (st != LDNS_STATUS_OK || *len > 512) {
		free(st == LDNS_STATUS_OK ? *wire : NULL);
		nacre_seterr(err, errlen, "cannot build a CAA query for %s: %s",
			     qname, ldns_get_errorstr_by_id(st));
		return -1;
	}
	return 0;
}

int
nacre_dns_resolver_parse(const char *s, struct nacre_dns_resolver *rs, char *err, size_t errlen)
{
	char tcp[sizeof(rs->addr.text) + 4];

	memset(rs, 0, sizeof(*rs));
	if (s && strncmp(s, "udp:", 4) == 0) {
		snprintf(tcp, sizeof(tcp), "tcp:%s", s + 4);
		rs->udp = true;
		s = tcp;
	}
	if (!s || strncmp(s, "unix:", 5) == 0) {
		nacre_seterr(err, errlen, "resolver %s: write tcp:HOST:PORT, "
			     "vsock:CID:PORT or udp:HOST:PORT", s ? s : "(none)");
		return -1;
	}
	if (nacre_addr_parse(s, false, &rs->addr, err, errlen) < 0)
		return -1;
	if (rs->udp)
		memcpy(rs->addr.text, "udp", 3);
	return 0;
}

int
nacre_dns_exchange(const struct nacre_dns_resolver *rs, const char *qname,
		   uint16_t id, uint64_t deadline, uint8_t *ans, size_t *alen,
		   char *err, size_t errlen)
{
	uint8_t *qw = NULL;
	size_t qlen = 0;
	int rc = 1;

	if (build_query(qname, id, &qw, &qlen, err, errlen) < 0)
		return -1;
	if (rs->udp)
		rc = udp_exchange(rs, qw, qlen, ans, alen, deadline, qname,
				  err, errlen);
	if (rc == 1)
		rc = tcp_exchange(rs, qw, qlen, ans, alen, deadline, qname,
				  err, errlen);
	free(qw);
	return rc < 0 ? -1 : 0;
}

int
nacre_caa_default_resolver(char *out, size_t outlen, char *err,
			   size_t errlen)
{
	FILE *f = fopen(RESOLV_CONF, "re");
	char line[512], ns[256];

	if (!f) {
		nacre_seterr(err, errlen, "cannot read %s (%s): name a "
			     "resolver", RESOLV_CONF, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " nameserver %255s", ns) != 1)
			continue;
		fclose(f);
		snprintf(out, outlen, strchr(ns, ':') ? "tcp:[%s]:53"
						      : "tcp:%s:53", ns);
		return 0;
	}
	fclose(f);
	nacre_seterr(err, errlen, "%s names no nameserver: name a resolver",
		     RESOLV_CONF);
	return -1;
}
