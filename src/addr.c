/*
 * addr.c: the one address syntax of nacre ("tcp:HOST:PORT", "vsock:CID:PORT",
 * "unix:/path"), resolved once into a sockaddr ready for bind() or connect(),
 * and printed back for logs.
 */
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "nacred.h"

#define TCP_FORM   "(tcp:HOST:PORT, e.g. tcp:127.0.0.1:8080 or tcp:[::1]:8080)"
#define VSOCK_FORM "(vsock:CID:PORT)"
#define UNIX_FORM  "(unix:/absolute/path)"

/* Strict decimal: digits only, no sign, no spaces, no overflow past max. */
static int
parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* Characters a host name may have; anything else is a typo, not DNS. */
static bool
host_name_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 253 || h[0] == '-' || h[0] == '.')
		return false;
	for (; *h; h++) {
		char ch = *h;
		bool ok = (ch >= 'a' && ch <= 'z') ||
			  (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
			  ch == '_';
		if (!ok)
			return false;
	}
	return true;
}

static int
resolve_tcp(const char *s, const char *host, bool bracketed, uint16_t port,
	    struct nacre_addr *out, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = bracketed ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* A bracketed host is an IPv6 literal, never a name to look up. */
	if (bracketed)
		hints.ai_flags = AI_NUMERICHOST;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0 || res == NULL) {
		if (bracketed)
			snprintf(err, errlen, "\"%s\": \"%s\" is not an IPv6 "
				 "address %s", s, host, TCP_FORM);
		else
			snprintf(err, errlen, "\"%s\": cannot resolve \"%s\": "
				 "%s %s", s, host, gai_strerror(rc), TCP_FORM);
		if (res)
			freeaddrinfo(res);
		return -1;
	}
	if (res->ai_addrlen > sizeof(out->ss) ||
	    (res->ai_family != AF_INET && res->ai_family != AF_INET6)) {
		snprintf(err, errlen, "\"%s\": \"%s\" resolved to an unusable "
			 "address %s", s, host, TCP_FORM);
		freeaddrinfo(res);
		return -1;
	}
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->sslen = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
	if (out->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&out->ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&out->ss)->sin6_port = htons(port);
	return 0;
}

static int
parse_tcp(const char *s, const char *rest, struct nacre_addr *out, char *err,
	  size_t errlen)
{
	char host[128];
	const char *colon, *port_s;
	bool bracketed = false;
	uint32_t port;
	size_t hlen;

	if (rest[0] == '[') {
		const char *close = strchr(rest, ']');
		if (!close || close[1] != ':') {
			snprintf(err, errlen, "\"%s\": an IPv6 address needs "
				 "\"[ADDR]:PORT\" %s", s, TCP_FORM);
			return -1;
		}
		bracketed = true;
		hlen = (size_t)(close - rest - 1);
		memcpy(host, rest + 1, hlen); /* rest is shorter than host */
		port_s = close + 2;
	} else {
		colon = strrchr(rest, ':');
		if (!colon) {
			snprintf(err, errlen, "\"%s\": missing port %s", s,
				 TCP_FORM);
			return -1;
		}
		hlen = (size_t)(colon - rest);
		memcpy(host, rest, hlen);
		port_s = colon + 1;
	}
	host[hlen] = '\0';
	if (hlen == 0) {
		snprintf(err, errlen, "\"%s\": missing host; use 0.0.0.0 or "
			 "[::] for every address %s", s, TCP_FORM);
		return -1;
	}
	if (!bracketed && strchr(host, ':')) {
		snprintf(err, errlen, "\"%s\": an IPv6 address must be in "
			 "brackets, e.g. tcp:[::1]:8080 %s", s, TCP_FORM);
		return -1;
	}
	if (!bracketed && !host_name_ok(host)) {
		snprintf(err, errlen, "\"%s\": \"%s\" is not an IP address or "
			 "host name %s", s, host, TCP_FORM);
		return -1;
	}
	if (parse_u32(port_s, 65535, &port) != 0 || port == 0) {
		snprintf(err, errlen, "\"%s\": port must be a number from 1 to "
			 "65535 %s", s, TCP_FORM);
		return -1;
	}
	out->kind = NACRE_ADDR_TCP;
	return resolve_tcp(s, host, bracketed, (uint16_t)port, out, err,
			   errlen);
}

static int
parse_vsock(const char *s, const char *rest, bool for_listen,
	    struct nacre_addr *out, char *err, size_t errlen)
{
	struct sockaddr_vm *vm = (struct sockaddr_vm *)&out->ss;
	const char *colon = strchr(rest, ':');
	char cid_s[16];
	uint32_t cid, port;
	size_t clen;

	if (!colon) {
		snprintf(err, errlen, "\"%s\": missing port %s", s, VSOCK_FORM);
		return -1;
	}
	clen = (size_t)(colon - rest);
	if (clen == 0 || clen >= sizeof(cid_s)) {
		snprintf(err, errlen, "\"%s\": CID must be a number%s %s", s,
			 for_listen ? " or \"any\"" : "", VSOCK_FORM);
		return -1;
	}
	memcpy(cid_s, rest, clen);
	cid_s[clen] = '\0';
	if (strcmp(cid_s, "any") == 0) {
		if (!for_listen) {
			snprintf(err, errlen, "\"%s\": CID \"any\" is only for "
				 "listening; name the peer's CID, e.g. "
				 "vsock:3:8080 %s", s, VSOCK_FORM);
			return -1;
		}
		cid = VMADDR_CID_ANY;
	} else if (parse_u32(cid_s, UINT32_MAX, &cid) != 0) {
		snprintf(err, errlen, "\"%s\": CID must be a number%s %s", s,
			 for_listen ? " or \"any\"" : "", VSOCK_FORM);
		return -1;
	} else if (cid == VMADDR_CID_ANY && !for_listen) {
		snprintf(err, errlen, "\"%s\": CID %u means any CID and is "
			 "only for listening %s", s, cid, VSOCK_FORM);
		return -1;
	}
	if (parse_u32(colon + 1, UINT32_MAX, &port) != 0 ||
	    port == VMADDR_PORT_ANY) {
		snprintf(err, errlen, "\"%s\": port must be a number from 0 to "
			 "%u %s", s, VMADDR_PORT_ANY - 1, VSOCK_FORM);
		return -1;
	}
	out->kind = NACRE_ADDR_VSOCK;
	vm->svm_family = AF_VSOCK;
	vm->svm_cid = cid;
	vm->svm_port = port;
	out->sslen = sizeof(*vm);
	return 0;
}

static int
parse_unix(const char *s, const char *path, struct nacre_addr *out, char *err,
	   size_t errlen)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;
	size_t n = strlen(path);

	if (path[0] != '/') {
		snprintf(err, errlen, "\"%s\": the path must be absolute %s", s,
			 UNIX_FORM);
		return -1;
	}
	if (n >= sizeof(un->sun_path)) {
		snprintf(err, errlen, "\"%s\": the path is longer than %zu "
			 "bytes, the limit of a unix socket %s", s,
			 sizeof(un->sun_path) - 1, UNIX_FORM);
		return -1;
	}
	out->kind = NACRE_ADDR_UNIX;
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, path, n + 1);
	out->sslen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
				 1);
	return 0;
}

int
nacre_addr_parse(const char *s, bool for_listen, struct nacre_addr *out,
		 char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "empty address; write tcp:HOST:PORT, "
			 "vsock:CID:PORT or unix:/path");
		return -1;
	}
	if (strlen(s) >= sizeof(out->text)) {
		snprintf(err, errlen, "\"%.40s...\": address is longer than "
			 "%zu characters", s, sizeof(out->text) - 1);
		return -1;
	}
	memcpy(out->text, s, strlen(s) + 1);
	int rc;
	if (strncmp(s, "tcp:", 4) == 0)
		rc = parse_tcp(s, s + 4, out, err, errlen);
	else if (strncmp(s, "vsock:", 6) == 0)
		rc = parse_vsock(s, s + 6, for_listen, out, err, errlen);
	else if (strncmp(s, "unix:", 5) == 0)
		rc = parse_unix(s, s + 5, out, err, errlen);
	else {
		snprintf(err, errlen, "\"%s\": unknown address type; write "
			 "tcp:HOST:PORT, vsock:CID:PORT or unix:/path", s);
		rc = -1;
	}
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

bool
nacre_addr_is_local(const struct nacre_addr *a)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;

	switch (a->kind) {
	case NACRE_ADDR_UNIX:
	case NACRE_ADDR_VSOCK:
		return true;
	case NACRE_ADDR_TCP:
		break;
	default:
		return false;
	}
	if (a->ss.ss_family == AF_INET)
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	if (a->ss.ss_family != AF_INET6)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
		return true;
	/* ::ffff:127.x.y.z reaches the IPv4 loopback through a v6 socket */
	return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
	       in6->sin6_addr.s6_addr[12] == 127;
}

void
nacre_sockaddr_str(const struct sockaddr *sa, socklen_t len, char *out,
		   size_t outlen)
{
	char host[INET6_ADDRSTRLEN];

	if (outlen == 0)
		return;
	if (sa == NULL || len < sizeof(sa_family_t)) {
		snprintf(out, outlen, "(none)");
		return;
	}
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		if (len < sizeof(*in))
			break;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, outlen, "%s:%u", host, ntohs(in->sin_port));
		return;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (len < sizeof(*in6))
			break;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		if (in6->sin6_scope_id)
			snprintf(out, outlen, "[%s%%%u]:%u", host,
				 in6->sin6_scope_id, ntohs(in6->sin6_port));
		else
			snprintf(out, outlen, "[%s]:%u", host,
				 ntohs(in6->sin6_port));
		return;
	}
	case AF_UNIX: {
		const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
		size_t off = offsetof(struct sockaddr_un, sun_path);
		size_t n = len > off ? len - off : 0;
		if (n > sizeof(un->sun_path))
			n = sizeof(un->sun_path);
		if (n == 0) {
			snprintf(out, outlen, "unix:(unnamed)");
			return;
		}
		/* abstract names start with NUL; show it the way ss(8) does */
		if (un->sun_path[0] == '\0')
			snprintf(out, outlen, "unix:@%.*s", (int)(n - 1),
				 un->sun_path + 1);
		else
			snprintf(out, outlen, "unix:%.*s",
				 (int)strnlen(un->sun_path, n), un->sun_path);
		return;
	}
	case AF_VSOCK: {
		const struct sockaddr_vm *vm = (const struct sockaddr_vm *)sa;
		if (len < sizeof(*vm))
			break;
		if (vm->svm_cid == VMADDR_CID_ANY)
			snprintf(out, outlen, "vsock:any:%u", vm->svm_port);
		else
			snprintf(out, outlen, "vsock:%u:%u", vm->svm_cid,
				 vm->svm_port);
		return;
	}
	default:
		snprintf(out, outlen, "(address family %d)", sa->sa_family);
		return;
	}
	snprintf(out, outlen, "(short address, family %d)", sa->sa_family);
}

bool
nacre_hostname_valid(const char *s)
{
	size_t label = 0, total = 0;

	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++, total++) {
		char c = *p;
		if (c == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[total - 1] != '-' && total <= 253;
}
