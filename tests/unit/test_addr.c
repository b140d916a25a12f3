/*
 * test_addr.c: every form of "tcp:", "vsock:", "unix:" address, every way
 * to get one wrong, local-ness of upstreams, and printing sockaddrs back.
 * Only literals and "localhost" (from /etc/hosts) are resolved: no DNS.
 */
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "nacred.h"
#include "tap.h"

static char err[NACRE_ERRLEN];

static int
parse(const char *s, bool for_listen, struct nacre_addr *a)
{
	err[0] = '\0';
	return nacre_addr_parse(s, for_listen, a, err, sizeof(err));
}

/* The address is refused and the message names the problem. */
static void
bad(const char *s, bool for_listen, const char *want)
{
	struct nacre_addr a;
	char name[200];

	snprintf(name, sizeof(name), "\"%.100s\" is refused", s);
	CHECK(parse(s, for_listen, &a) == -1, name);
	snprintf(name, sizeof(name), "\"%.100s\": error says \"%s\"", s, want);
	CHECK_HAS(err, want, name);
}

static void
local(const char *s, bool want)
{
	struct nacre_addr a;
	char name[160];

	snprintf(name, sizeof(name), "\"%s\" is %slocal", s, want ? "" : "not ");
	CHECK(parse(s, false, &a) == 0 && nacre_addr_is_local(&a) == want,
	      name);
}

static void
test_tcp(void)
{
	struct nacre_addr a;
	const struct sockaddr_in *in = (const void *)&a.ss;
	const struct sockaddr_in6 *in6 = (const void *)&a.ss;
	char buf[128];

	CHECK(parse("tcp:127.0.0.1:8080", false, &a) == 0, "tcp ipv4 parses");
	CHECK(a.kind == NACRE_ADDR_TCP, "tcp ipv4 kind");
	CHECK(a.ss.ss_family == AF_INET && a.sslen == sizeof(*in),
	      "tcp ipv4 family and length");
	CHECK(ntohs(in->sin_port) == 8080, "tcp ipv4 port");
	CHECK(in->sin_addr.s_addr == htonl(INADDR_LOOPBACK), "tcp ipv4 address");
	CHECK_STR(a.text, "tcp:127.0.0.1:8080", "tcp ipv4 text kept");

	CHECK(parse("tcp:0.0.0.0:65535", true, &a) == 0 &&
	      ntohs(in->sin_port) == 65535 && in->sin_addr.s_addr == 0,
	      "tcp 0.0.0.0 port 65535");
	CHECK(parse("tcp:1.2.3.4:1", false, &a) == 0 && ntohs(in->sin_port) == 1,
	      "tcp port 1");

	CHECK(parse("tcp:[::1]:443", false, &a) == 0, "tcp ipv6 parses");
	CHECK(a.ss.ss_family == AF_INET6 && a.sslen == sizeof(*in6),
	      "tcp ipv6 family and length");
	CHECK(ntohs(in6->sin6_port) == 443 &&
	      IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr), "tcp ipv6 address, port");
	CHECK_STR(a.text, "tcp:[::1]:443", "tcp ipv6 text kept");

	CHECK(parse("tcp:[::]:8443", true, &a) == 0 &&
	      IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr), "tcp [::] parses");
	CHECK(parse("tcp:[fe80::1%1]:80", false, &a) == 0 &&
	      in6->sin6_scope_id == 1, "tcp ipv6 with a scope id");

	CHECK(parse("tcp:localhost:80", false, &a) == 0, "tcp localhost resolves");
	CHECK(a.ss.ss_family == AF_INET || a.ss.ss_family == AF_INET6,
	      "tcp localhost is an IP address");
	nacre_sockaddr_str((struct sockaddr *)&a.ss, a.sslen, buf, sizeof(buf));
	CHECK(strcmp(buf, "127.0.0.1:80") == 0 || strcmp(buf, "[::1]:80") == 0,
	      "tcp localhost resolves to loopback, port kept");

	bad("tcp:1.2.3.4", false, "missing port");
	bad("tcp:1.2.3.4:", false, "port must be a number from 1 to 65535");
	bad("tcp:1.2.3.4:0", false, "port must be a number from 1 to 65535");
	bad("tcp:1.2.3.4:65536", false, "port must be a number from 1 to 65535");
	bad("tcp:1.2.3.4:99999999999", false, "port must be a number");
	bad("tcp:1.2.3.4:80x", false, "port must be a number");
	bad("tcp:1.2.3.4:+80", false, "port must be a number");
	bad("tcp:1.2.3.4:-80", false, "port must be a number");
	bad("tcp:1.2.3.4: 80", false, "port must be a number");
	bad("tcp::80", false, "missing host");
	bad("tcp:[]:80", false, "missing host");
	bad("tcp:::1:80", false, "must be in brackets");
	bad("tcp:[::1:80", false, "\"[ADDR]:PORT\"");
	bad("tcp:[::1]80", false, "\"[ADDR]:PORT\"");
	bad("tcp:[::1]", false, "\"[ADDR]:PORT\"");
	bad("tcp:[zz]:80", false, "\"zz\" is not an IPv6 address");
	bad("tcp:[127.0.0.1]:80", false, "is not an IPv6 address");
	bad("tcp:a b:80", false, "\"a b\" is not an IP address or host name");
	bad("tcp:-x:80", false, "is not an IP address or host name");
	bad("tcp:host/x:80", false, "is not an IP address or host name");
	bad("tcp:1.2.3.4:x", false, "(tcp:HOST:PORT");
}

static void
test_vsock(void)
{
	struct nacre_addr a;
	const struct sockaddr_vm *vm = (const void *)&a.ss;

	CHECK(parse("vsock:3:8080", false, &a) == 0, "vsock parses");
	CHECK(a.kind == NACRE_ADDR_VSOCK && vm->svm_family == AF_VSOCK &&
	      a.sslen == sizeof(*vm), "vsock kind, family, length");
	CHECK(vm->svm_cid == 3 && vm->svm_port == 8080, "vsock cid and port");
	CHECK_STR(a.text, "vsock:3:8080", "vsock text kept");
	CHECK(parse("vsock:any:8443", true, &a) == 0 &&
	      vm->svm_cid == VMADDR_CID_ANY && vm->svm_port == 8443,
	      "vsock:any for listen");
	CHECK(parse("vsock:4294967295:1", true, &a) == 0 &&
	      vm->svm_cid == VMADDR_CID_ANY, "vsock numeric any CID for listen");
	CHECK(parse("vsock:4294967294:4294967294", false, &a) == 0 &&
	      vm->svm_cid == 4294967294U && vm->svm_port == 4294967294U,
	      "vsock largest CID and port");
	CHECK(parse("vsock:2:0", false, &a) == 0 && vm->svm_port == 0,
	      "vsock port 0");

	bad("vsock:x:80", false,
	    "\"vsock:x:80\": CID must be a number (vsock:CID:PORT)");
	bad("vsock:x:80", true,
	    "\"vsock:x:80\": CID must be a number or \"any\" (vsock:CID:PORT)");
	bad("vsock:any:80", false, "CID \"any\" is only for listening");
	bad("vsock:4294967295:80", false, "only for listening");
	bad("vsock:4294967296:80", true, "CID must be a number");
	bad("vsock:-1:80", true, "CID must be a number");
	bad("vsock::80", true, "CID must be a number");
	bad("vsock:12345678901234567890:80", true, "CID must be a number");
	bad("vsock:3", false, "missing port");
	bad("vsock:", false, "missing port");
	bad("vsock:3:", false, "port must be a number from 0 to 4294967294");
	bad("vsock:3:4294967295", false, "port must be a number");
	bad("vsock:3:4294967296", false, "port must be a number");
	bad("vsock:3:80:1", false, "port must be a number");
	bad("vsock:3:x", false, "(vsock:CID:PORT)");
}

static void
test_unix(void)
{
	struct nacre_addr a;
	const struct sockaddr_un *un = (const void *)&a.ss;
	char path[200], s[220];

	CHECK(parse("unix:/run/nacre/app.sock", false, &a) == 0, "unix parses");
	CHECK(a.kind == NACRE_ADDR_UNIX && un->sun_family == AF_UNIX,
	      "unix kind and family");
	CHECK_STR(un->sun_path, "/run/nacre/app.sock", "unix path");
	CHECK(a.sslen == offsetof(struct sockaddr_un, sun_path) +
			 strlen("/run/nacre/app.sock") + 1, "unix length");
	CHECK_STR(a.text, "unix:/run/nacre/app.sock", "unix text kept");

	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[sizeof(un->sun_path) - 1] = '\0'; /* 107 characters: fits */
	snprintf(s, sizeof(s), "unix:%s", path);
	CHECK(parse(s, false, &a) == 0, "unix path of 107 bytes fits");
	path[sizeof(un->sun_path) - 1] = 'p';
	path[sizeof(un->sun_path)] = '\0'; /* 108: no room for the NUL */
	snprintf(s, sizeof(s), "unix:%s", path);
	bad(s, false, "the path is longer than 107 bytes");

	bad("unix:run/app.sock", false, "the path must be absolute");
	bad("unix:./app.sock", false, "the path must be absolute");
	bad("unix:", false, "the path must be absolute (unix:/absolute/path)");
}

static void
test_other_errors(void)
{
	struct nacre_addr a;
	char longs[300];

	bad("", false, "empty address");
	CHECK(parse(NULL, false, &a) == -1, "NULL address refused");
	bad("udp:1.2.3.4:5", false, "\"udp:1.2.3.4:5\": unknown address type");
	bad("TCP:1.2.3.4:5", false, "unknown address type");
	bad("1.2.3.4:5", false, "write tcp:HOST:PORT, vsock:CID:PORT or "
	    "unix:/path");
	memset(longs, 'a', sizeof(longs));
	memcpy(longs, "tcp:", 4);
	longs[200] = '\0';
	bad(longs, false, "address is longer than 127 characters");
	/* a failed parse leaves nothing half-filled behind */
	memset(&a, 0x55, sizeof(a));
	CHECK(parse("vsock:3:x", false, &a) == -1 && a.text[0] == '\0' &&
	      a.sslen == 0, "failed parse clears the result");
}

static void
test_local(void)
{
	local("tcp:127.0.0.1:80", true);
	local("tcp:127.1.2.3:80", true);
	local("tcp:127.255.255.254:80", true);
	local("tcp:[::1]:80", true);
	local("tcp:[::ffff:127.0.0.1]:80", true);
	local("tcp:localhost:80", true);
	local("vsock:3:80", true);
	local("vsock:2:80", true);
	local("unix:/run/app.sock", true);
	local("tcp:10.0.0.1:80", false);
	local("tcp:0.0.0.0:80", false);
	local("tcp:128.0.0.1:80", false);
	local("tcp:126.255.255.255:80", false);
	local("tcp:[::]:80", false);
	local("tcp:[::2]:80", false);
	local("tcp:[::ffff:10.0.0.1]:80", false);
	local("tcp:[fe80::1]:80", false);
	local("tcp:[2001:db8::1]:80", false);
}

static void
str_of(const char *addr, bool for_listen, const char *want)
{
	struct nacre_addr a;
	char buf[160], name[160];

	snprintf(name, sizeof(name), "sockaddr_str of %s", addr);
	if (parse(addr, for_listen, &a) != 0) {
		CHECK(0, name);
		return;
	}
	nacre_sockaddr_str((struct sockaddr *)&a.ss, a.sslen, buf, sizeof(buf));
	CHECK_STR(buf, want, name);
}

static void
test_sockaddr_str(void)
{
	struct sockaddr_un un;
	struct sockaddr_in in;
	struct sockaddr_storage ss;
	char buf[64];

	str_of("tcp:1.2.3.4:5", false, "1.2.3.4:5");
	str_of("tcp:[::1]:443", false, "[::1]:443");
	str_of("tcp:[2001:db8::7]:8443", false, "[2001:db8::7]:8443");
	str_of("tcp:[fe80::1%2]:80", false, "[fe80::1%2]:80");
	str_of("vsock:3:8080", false, "vsock:3:8080");
	str_of("vsock:any:8443", true, "vsock:any:8443");
	str_of("unix:/run/app.sock", false, "unix:/run/app.sock");

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	memcpy(un.sun_path, "\0abstract", 9);
	nacre_sockaddr_str((struct sockaddr *)&un,
			   offsetof(struct sockaddr_un, sun_path) + 9, buf,
			   sizeof(buf));
	CHECK_STR(buf, "unix:@abstract", "sockaddr_str abstract unix");
	nacre_sockaddr_str((struct sockaddr *)&un, sizeof(sa_family_t), buf,
			   sizeof(buf));
	CHECK_STR(buf, "unix:(unnamed)", "sockaddr_str unnamed unix");
	/* a peer address with no NUL inside sun_path stays in bounds */
	memset(un.sun_path, 'x', sizeof(un.sun_path));
	nacre_sockaddr_str((struct sockaddr *)&un, sizeof(un), buf, sizeof(buf));
	CHECK(strncmp(buf, "unix:xxxx", 9) == 0 && strlen(buf) == sizeof(buf) - 1,
	      "sockaddr_str unterminated unix path, truncated");

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_APPLETALK;
	nacre_sockaddr_str((struct sockaddr *)&ss, sizeof(ss), buf, sizeof(buf));
	CHECK_HAS(buf, "family", "sockaddr_str unknown family");
	nacre_sockaddr_str(NULL, 0, buf, sizeof(buf));
	CHECK_STR(buf, "(none)", "sockaddr_str NULL");

	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = htons(80);
	in.sin_addr.s_addr = htonl(0x0a000001);
	nacre_sockaddr_str((struct sockaddr *)&in, 4, buf, sizeof(buf));
	CHECK_HAS(buf, "short", "sockaddr_str short AF_INET length");
	nacre_sockaddr_str((struct sockaddr *)&in, sizeof(in), buf, 6);
	CHECK_STR(buf, "10.0.", "sockaddr_str truncates to the buffer");
	buf[0] = 'Z';
	nacre_sockaddr_str((struct sockaddr *)&in, sizeof(in), buf, 0);
	CHECK(buf[0] == 'Z', "sockaddr_str with no room writes nothing");
}

int
main(void)
{
	test_tcp();
	test_vsock();
	test_unix();
	test_other_errors();
	test_local();
	test_sockaddr_str();
	TAP_DONE();
}
