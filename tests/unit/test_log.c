/*
 * test_log.c: what a peer's bytes look like once logged: nacre_escape for
 * strings, nacre_log's own guard against control bytes (no forged lines),
 * the host-name check that decides what goes into a PROXY header; the
 * line formats (timestamp, text, JSON, access lines, close names; every
 * JSON line parsed by python3 when it is there) and the stream to a
 * collector (log_sink.c: queueing, drops and their report, leftovers).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static void
esc(const char *in, size_t n, size_t cap, const char *want, const char *name)
{
	char out[512];
	size_t len = nacre_escape(in, n, out, cap);

	CHECK_STR(out, want, name);
	CHECK(len == strlen(out) && len < cap, name);
}

/* one nacre_log call, as written to stderr, without its timestamp (its
 * shape is checked: *ts_ok) */
static bool ts_ok;

static bool
ts_shape(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return false;
	return true;
}

static void
logged(char *out, size_t cap, const char *arg)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	fflush(stderr);
	dup2(fileno(tmp), 2);
	nacre_log(NACRE_LOG_ERROR, 7, "%s", arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, cap - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	ts_ok = n > 25 && ts_shape(out) && out[24] == ' ';
	if (ts_ok)
		memmove(out, out + 25, n - 25 + 1);
}

static void
ts_is(time_t sec, long nsec, const char *want, const char *name)
{
	struct timespec t = { sec, nsec };
	char ts[NACRE_LOG_TS_LEN];

	nacre_log_timestamp(&t, ts);
	CHECK_STR(ts, want, name);
}

static void
timestamps(void)
{
	ts_is(0, 123456789, "1970-01-01T00:00:00.123Z", "time: the epoch, ms cut not rounded");
	ts_is(1796248030, 999999999, "2026-12-02T21:47:10.999Z", "time: 2026-12-02T21:47:10.999Z");
	ts_is(951868799, 5000000, "2000-02-29T23:59:59.005Z", "time: a leap day, leading zeros");
}

#define TS "2026-12-02T21:47:10.123Z"

static void
formats(void)
{
	char line[NACRE_LOG_LINE_MAX], big[3000];
	size_t n;

	nacre_log_format_line(line, NACRE_LOG_TEXT, TS, NACRE_LOG_INFO, 0, "hello");
	CHECK_STR(line, TS " info hello\n", "text: TIME LEVEL message");
	nacre_log_format_line(line, NACRE_LOG_TEXT, TS, NACRE_LOG_WARN, 42, "x\xc3\xa9");
	CHECK_STR(line, TS " warn [c42] x\\xc3\\xa9\n",
		  "text: [cID]; non-ASCII bytes as \\xHH");
	nacre_log_format_line(line, NACRE_LOG_JSON, TS, NACRE_LOG_ERROR, 7,
			      "a\"b\\c\n\xff");
	CHECK_STR(line, "{\"ts\":\"" TS "\",\"level\":\"error\",\"conn\":7,"
		  "\"msg\":\"a\\\"b\\\\c\\\\x0a\\\\xff\"}\n",
		  "json: ts, level, conn, msg; quote, backslash, control and "
		  "high bytes escaped");
	nacre_log_format_line(line, NACRE_LOG_JSON, TS, NACRE_LOG_DEBUG, 0, "m");
	CHECK_STR(line, "{\"ts\":\"" TS "\",\"level\":\"debug\",\"msg\":\"m\"}\n",
		  "json: no conn key when not about a connection");
	memset(big, '"', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = nacre_log_format_line(line, NACRE_LOG_JSON, TS, NACRE_LOG_INFO, 1, big);
	CHECK(n < NACRE_LOG_LINE_MAX && n > 4 &&
	      memcmp(line + n - 6, "...\"}\n", 6) == 0 && memchr(line, '\n', n) == line + n - 1,
	      "json: a long message of quotes is cut with ..., still one valid line");
	memset(big, '\x01', sizeof(big) - 1);
	n = nacre_log_format_line(line, NACRE_LOG_TEXT, TS, NACRE_LOG_INFO, 1, big);
	CHECK(n < NACRE_LOG_LINE_MAX && memcmp(line + n - 4, "...\n", 4) == 0,
	      "text: a long message of control bytes is cut with ...");
	nacre_log_format_dropped(line, NACRE_LOG_JSON, TS, 5);
	CHECK_HAS(line, "5 lines dropped", "dropped: the count in msg");
	CHECK_HAS(line, ",\"dropped\":5}\n", "dropped: and as a key (json)");
	CHECK_HAS(line, "\"level\":\"warn\"", "dropped: a warning");
	nacre_log_format_dropped(line, NACRE_LOG_TEXT, TS, 1);
	CHECK_HAS(line, TS " warn log: 1 line dropped", "dropped: text");
}

static struct sockaddr_in client4;

static struct nacre_conn_summary
summary(void)
{
	struct nacre_conn_summary s = {
		.id = 9, .listener = "tcp:127.0.0.1:8443",
		.client = (const struct sockaddr *)&client4,
		.clientlen = sizeof(client4),
		.sni = "app.example.com", .alpn = "h2", .version = "TLSv1.3",
		.cipher = "TLS_AES_128_GCM_SHA256", .attestation_asked = true,
		.duration_us = 12345, .handshake_us = 2500, .bytes_in = 100,
		.bytes_out = 2000, .reason = NACRE_CLOSE_OK,
	};

	client4.sin_family = AF_INET;
	client4.sin_port = htons(51000);
	client4.sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1 */
	return s;
}

static void
access_lines(void)
{
	static const char *const names[] = { "ok", "proxy_header", "handshake",
		"acme_challenge", "upstream_connect", "timeout", "client_error",
		"upstream_error", "drain", "internal" };
	struct nacre_conn_summary s = summary();
	char line[NACRE_LOG_LINE_MAX], sni[400], hostile[256];
	size_t n;
	bool all = sizeof(names) / sizeof(names[0]) == NACRE_CLOSE_COUNT;

	for (int r = 0; r < NACRE_CLOSE_COUNT && all; r++)
		all = strcmp(nacre_close_name((enum nacre_close)r), names[r]) == 0;
	CHECK(all, "close names: ok, proxy_header, handshake, acme_challenge, "
	      "upstream_connect, timeout, client_error, upstream_error, drain, "
	      "internal");
	CHECK_STR(nacre_close_name((enum nacre_close)99), "internal",
		  "close names: out of range is internal");

	nacre_log_format_access(line, NACRE_LOG_TEXT, TS, &s);
	CHECK_STR(line, TS " info [c9] access client=\"192.0.2.1:51000\" "
		  "listener=\"tcp:127.0.0.1:8443\" sni=\"app.example.com\" "
		  "alpn=\"h2\" tls_version=\"TLSv1.3\" "
		  "cipher=\"TLS_AES_128_GCM_SHA256\" attestation=yes acme_cert=no "
		  "duration_ms=12.345 handshake_ms=2.500 bytes_in=100 "
		  "bytes_out=2000 close=\"ok\" detail=-\n",
		  "access: text, every field");
	nacre_log_format_access(line, NACRE_LOG_JSON, TS, &s);
	CHECK_STR(line, "{\"ts\":\"" TS "\",\"level\":\"info\",\"conn\":9,"
		  "\"msg\":\"access\",\"client\":\"192.0.2.1:51000\","
		  "\"listener\":\"tcp:127.0.0.1:8443\",\"sni\":\"app.example.com\","
		  "\"alpn\":\"h2\",\"tls_version\":\"TLSv1.3\","
		  "\"cipher\":\"TLS_AES_128_GCM_SHA256\",\"attestation\":true,"
		  "\"acme_cert\":false,\"duration_ms\":12.345,"
		  "\"handshake_ms\":2.500,\"bytes_in\":100,\"bytes_out\":2000,"
		  "\"close\":\"ok\",\"detail\":null}\n",
		  "access: json, every key");

	/* a failed handshake with a hostile server name */
	s.client = NULL;
	s.sni = "evil\"\n\\\xff";
	s.alpn = s.version = s.cipher = NULL;
	s.attestation_asked = false;
	s.handshake_us = 0;
	s.reason = NACRE_CLOSE_HANDSHAKE;
	s.detail = "wrong version number";
	nacre_log_format_access(line, NACRE_LOG_TEXT, TS, &s);
	CHECK_HAS(line, " client=- ", "access: no client address: -");
	CHECK_HAS(line, " sni=\"evil\\\"\\x0a\\\\\\xff\" alpn=- tls_version=- "
		  "cipher=- attestation=no", "access: a hostile SNI escaped, "
		  "no handshake: -");
	CHECK_HAS(line, "handshake_ms=- ", "access: no handshake time");
	CHECK_HAS(line, "close=\"handshake\" detail=\"wrong version number\"\n",
		  "access: close reason and detail");
	nacre_log_format_access(line, NACRE_LOG_JSON, TS, &s);
	CHECK_HAS(line, "\"sni\":\"evil\\\\\\\"\\\\x0a\\\\\\\\\\\\xff\"",
		  "access: json sni is the text form, JSON-escaped");
	CHECK_HAS(line, "\"tls_version\":null,\"cipher\":null", "access: json nulls");

	/* long fields are cut with "...": the line stays bounded */
	memset(sni, 'a', sizeof(sni) - 1);
	sni[sizeof(sni) - 1] = '\0';
	s.sni = sni;
	n = nacre_log_format_access(line, NACRE_LOG_TEXT, TS, &s);
	CHECK_HAS(line, "aaa...\" alpn", "access: a long SNI is cut with ...");
	CHECK(strstr(line, " sni=\"") && strchr(strstr(line, " sni=\"") + 6, '"') -
	      (strstr(line, " sni=\"") + 6) < NACRE_LOG_FIELD_MAX,
	      "access: the cut SNI fits its bound");
	for (size_t i = 0; i < sizeof(hostile) - 1; i++)
		hostile[i] = (char)(0x80 | i);
	hostile[sizeof(hostile) - 1] = '\0';
	s.sni = s.alpn = s.detail = s.listener = hostile;
	s.version = s.cipher = hostile;
	n = nacre_log_format_access(line, NACRE_LOG_JSON, TS, &s);
	CHECK(n < NACRE_LOG_LINE_MAX && line[n - 1] == '\n' &&
	      memchr(line, '\n', n) == line + n - 1 &&
	      memcmp(line + n - 2, "}\n", 2) == 0,
	      "access: every field hostile and long: one bounded line");
}

/* python3 reads every JSON line: valid, the stable keys, the escaping */
static const char checker[] =
"import json, re, sys\n"
"ts = re.compile(r'^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$')\n"
"def esc(b, quotes):\n"
"    o = ''\n"
"    for c in b:\n"
"        if 0x20 <= c < 0x7f:\n"
"            o += '\\\\' + chr(c) if quotes and c in (0x22, 0x5c) else chr(c)\n"
"        else:\n"
"            o += '\\\\x%02x' % c\n"
"    return o\n"
"def same(got, want):\n"
"    return got == want or (got.endswith('...') and want.startswith(got[:-3]))\n"
"bad = n = 0\n"
"for l in open(sys.argv[1], 'rb'):\n"
"    raw, line = l.rstrip(b'\\n').split(b'\\t', 1)\n"
"    raw = bytes.fromhex(raw.decode())\n"
"    n += 1\n"
"    try:\n"
"        j = json.loads(line.decode('ascii'))\n"
"    except Exception as e:\n"
"        print('# not JSON:', e, line[:120]); bad += 1; continue\n"
"    keys = list(j)\n"
"    if keys[:2] != ['ts', 'level'] or not ts.match(j['ts']) or 'msg' not in j:\n"
"        print('# keys:', keys); bad += 1; continue\n"
"    if j['msg'] == 'access':\n"
"        want = ['ts','level','conn','msg','client','listener','sni','alpn',\n"
"                'tls_version','cipher','attestation','acme_cert','duration_ms',\n"
"                'handshake_ms','bytes_in','bytes_out','close','detail']\n"
"        if keys != want or not same(j['sni'], esc(raw, True)):\n"
"            print('# access:', keys, repr(j['sni'])); bad += 1\n"
"    elif 'dropped' not in j and not same(j['msg'], esc(raw, False)):\n"
"        print('# msg:', repr(j['msg'][:80]), repr(esc(raw, False)[:80])); bad += 1\n"
"print('# %d JSON lines, %d bad' % (n, bad))\n"
"sys.exit(1 if bad or n == 0 else 0)\n";

static void
hexline(FILE *f, const char *raw, size_t rawlen, const char *line, size_t n)
{
	for (size_t i = 0; i < rawlen; i++)
		fprintf(f, "%02x", (unsigned char)raw[i]);
	fputc('\t', f);
	fwrite(line, 1, n, f);
}

static void
json_parses(void)
{
	char dir[] = "/tmp/nacre-test-log.XXXXXX", path[64], py[64], cmd[200];
	char line[NACRE_LOG_LINE_MAX], raw[1500];
	struct nacre_conn_summary s = summary();
	FILE *f;
	size_t n;
	int rc;

	if (access("/usr/bin/python3", X_OK) != 0 || !mkdtemp(dir)) {
		CHECK(1, "json: every line parses (skipped: no python3)");
		return;
	}
	snprintf(path, sizeof(path), "%s/lines", dir);
	snprintf(py, sizeof(py), "%s/check.py", dir);
	f = fopen(py, "w");
	fputs(checker, f);
	fclose(f);
	f = fopen(path, "w");
	/* every byte value but NUL in a message and in an SNI */
	for (int b = 1; b < 256; b++) {
		raw[0] = 'a';
		raw[1] = (char)b;
		raw[2] = '"';
		raw[3] = '\\';
		raw[4] = (char)b;
		raw[5] = '\0';
		n = nacre_log_format_line(line, NACRE_LOG_JSON, TS, b % 4, (uint64_t)b, raw);
		hexline(f, raw, 5, line, n);
		s.sni = raw;
		n = nacre_log_format_access(line, NACRE_LOG_JSON, TS, &s);
		hexline(f, raw, 5, line, n);
	}
	/* long ones, cut */
	for (size_t i = 0; i < sizeof(raw) - 1; i++)
		raw[i] = (char)(1 + i % 255);
	raw[sizeof(raw) - 1] = '\0';
	n = nacre_log_format_line(line, NACRE_LOG_JSON, TS, NACRE_LOG_INFO, 3, raw);
	hexline(f, raw, sizeof(raw) - 1, line, n);
	s.sni = raw;
	s.alpn = s.detail = raw;
	n = nacre_log_format_access(line, NACRE_LOG_JSON, TS, &s);
	hexline(f, raw, sizeof(raw) - 1, line, n);
	n = nacre_log_format_dropped(line, NACRE_LOG_JSON, TS, 12);
	hexline(f, "", 0, line, n);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s", py, path);
	fflush(stdout);
	rc = system(cmd);
	CHECK(rc == 0, "json: python3 parses every line (each byte value, "
	      "cut fields): stable keys, values escaped as in text");
	unlink(path);
	unlink(py);
	rmdir(dir);
}

/* ---- the stream to a collector ---- */

static char coll_path[108];

static int
coll_listen(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	unlink(coll_path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", coll_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 4) < 0)
		return -1;
	return fd;
}

static int
coll_accept(int lfd, int ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return -1;
	return accept(lfd, NULL, NULL);
}

/* read from fd into buf (appending) until NEEDLE is in it or MS pass */
static bool
coll_read_until(int fd, char *buf, size_t cap, const char *needle, int ms)
{
	size_t len = strlen(buf);

	for (int waited = 0; !strstr(buf, needle) && waited < ms; waited += 50) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 50) == 1) {
			ssize_t r = read(fd, buf + len, cap - 1 - len);
			if (r <= 0)
				break;
			len += (size_t)r;
			buf[len] = '\0';
		}
	}
	return strstr(buf, needle) != NULL;
}

static uint64_t
ms_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static bool
every_line_stamped(const char *buf)
{
	for (const char *l = buf; *l; ) {
		const char *nl = strchr(l, '\n');
		if (!nl || !ts_shape(l))
			return false;
		l = nl + 1;
	}
	return true;
}

static void
sink(void)
{
	static char buf[256 * 1024];
	char dir[] = "/tmp/nacre-test-sink.XXXXXX", err[NACRE_ERRLEN];
	char pad[101], *p, want[64];
	struct nacre_addr a;
	unsigned got = 0;
	uint64_t t0, dropped, reported = 0;
	bool reach_seen, streaming, order = true;
	int lfd, cfd, saved;
	FILE *tmp;

	memset(pad, 'p', 100);
	pad[100] = '\0';
	if (!mkdtemp(dir))
		return;
	snprintf(coll_path, sizeof(coll_path), "%s/c.sock", dir);
	snprintf(buf, sizeof(buf), "unix:%s", coll_path);
	if (nacre_addr_parse(buf, false, &a, err, sizeof(err)) != 0) {
		CHECK(0, err);
		return;
	}
	buf[0] = '\0';
	nacre_log_set_level(NACRE_LOG_DEBUG);
	/* no collector yet: lines queue, past 8 KiB they are dropped */
	CHECK(nacre_log_sink_start(&a, 8192, err, sizeof(err)) == 0,
	      "sink: starts before the collector is up");
	usleep(50000); /* its first attempt fails */
	t0 = ms_now();
	for (int i = 0; i < 100; i++)
		nacre_log(NACRE_LOG_INFO, 0, "line %d %s", i, pad);
	CHECK(ms_now() - t0 < 500, "sink: 100 lines with no collector take no time");
	dropped = nacre_log_dropped_total();
	CHECK(dropped > 0 && dropped < 100, "sink: past the queue's bound lines are dropped and counted");

	/* the collector comes up: what was queued, the count of the drops */
	lfd = coll_listen();
	cfd = coll_accept(lfd, 10000);
	CHECK(cfd >= 0, "sink: connects to the collector once it is up");
	if (cfd < 0)
		return;
	nacre_log(NACRE_LOG_INFO, 0, "after 0");
	CHECK(coll_read_until(cfd, buf, sizeof(buf), "after 0", 5000),
	      "sink: lines logged after the reconnection arrive");
	reach_seen = strstr(buf, "log: cannot reach the collector") != NULL;
	for (int i = 0, last = -1; i < 100; i++) {
		snprintf(want, sizeof(want), " line %d ", i);
		if ((p = strstr(buf, want))) {
			got++;
			order = order && p - buf > last;
			last = (int)(p - buf);
		}
	}
	p = strstr(buf, " lines dropped");
	if (p) {
		while (p > buf && p[-1] != ' ')
			p--;
		reported = strtoull(p, NULL, 10);
	}
	dropped = nacre_log_dropped_total();
	streaming = strstr(buf, "log: streaming to the collector") != NULL;
	CHECK(got > 0 && order, "sink: queued lines arrive in order");
	/* ours: 100, and the sink's "cannot reach" and "streaming to" */
	CHECK(got + reach_seen + streaming + dropped == 102,
	      "sink: every line either arrives or is counted as dropped");
	CHECK(reported == dropped, "sink: a line reports how many were dropped");
	CHECK(p && strstr(buf, " line ") < p && p < strstr(buf, "after 0"),
	      "sink: the report stands where the lines are missing");
	CHECK(every_line_stamped(buf), "sink: whole lines, each with its time");

	/* the collector goes away: lines wait for it, none are lost */
	close(cfd);
	close(lfd);
	usleep(20000);
	nacre_log(NACRE_LOG_INFO, 0, "during 0");
	usleep(200000);
	nacre_log(NACRE_LOG_INFO, 0, "during 1");
	lfd = coll_listen();
	cfd = coll_accept(lfd, 10000);
	buf[0] = '\0';
	CHECK(cfd >= 0 && coll_read_until(cfd, buf, sizeof(buf), "during 1", 5000) &&
	      strstr(buf, "during 0"),
	      "sink: lines logged while the collector was away arrive when it is back");
	CHECK(strstr(buf, "log: lost the collector") && strstr(buf, "is back after"),
	      "sink: the lost link and its return are logged");

	/* a reload points log.to elsewhere: the stream follows */
	close(cfd);
	close(lfd);
	unlink(coll_path);
	snprintf(coll_path, sizeof(coll_path), "%s/d.sock", dir);
	snprintf(buf, sizeof(buf), "unix:%s", coll_path);
	lfd = coll_listen();
	CHECK(nacre_addr_parse(buf, false, &a, err, sizeof(err)) == 0 &&
	      nacre_log_sink_start(&a, 8192, err, sizeof(err)) == 0,
	      "sink: a new address for a running stream");
	nacre_log(NACRE_LOG_INFO, 0, "moved 0");
	cfd = coll_accept(lfd, 10000);
	buf[0] = '\0';
	CHECK(cfd >= 0 && coll_read_until(cfd, buf, sizeof(buf), "moved 0", 5000) &&
	      strstr(buf, "streaming to the collector at unix:") &&
	      strstr(buf, "/d.sock"),
	      "sink: lines go to the new address");

	/* stopping with the collector gone: what is left goes to stderr */
	close(cfd);
	close(lfd);
	unlink(coll_path);
	usleep(20000);
	nacre_log(NACRE_LOG_INFO, 0, "left over");
	tmp = tmpfile();
	saved = dup(2);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	t0 = ms_now();
	nacre_log_sink_stop(300);
	nacre_log(NACRE_LOG_INFO, 0, "to stderr again");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	buf[fread(buf, 1, sizeof(buf) - 1, tmp)] = '\0';
	fclose(tmp);
	CHECK(ms_now() - t0 < 3000, "sink: stopping waits a bounded time");
	CHECK(strstr(buf, "left over") && strstr(buf, "did not take the last"),
	      "sink: at stop, lines the collector did not take go to stderr");
	CHECK(strstr(buf, "to stderr again") != NULL, "sink: then lines go to stderr");
	rmdir(dir);
}

int
main(void)
{
	char line[2048];

	esc("app.example.com", 15, 64, "app.example.com", "escape: a host name as it is");
	esc("evil\ninfo [c1] FORGED", 21, 64, "evil\\x0ainfo [c1] FORGED",
	    "escape: a newline as \\x0a");
	esc("a\"b\\c", 5, 64, "a\\\"b\\\\c", "escape: quote and backslash");
	esc("\x1b[31mred\x7f\xff", 10, 64, "\\x1b[31mred\\x7f\\xff",
	    "escape: ESC, DEL and high bytes as hex");
	esc("a\0b", 3, 64, "a\\x00b", "escape: a NUL byte is shown, not an end");
	esc("0123456789abcdef", 16, 10, "012345...", "escape: cut with ... to fit");
	esc("\n\n\n\n", 4, 11, "\\x0a...", "escape: never half an escape");

	logged(line, sizeof(line), "sni=evil\ninfo [c1] FORGED LINE");
	CHECK(ts_ok, "log: a line starts with an RFC 3339 UTC time, milliseconds");
	CHECK_STR(line, "error [c7] sni=evil\\x0ainfo [c1] FORGED LINE\n",
		  "log: a newline in a message cannot start a line");
	logged(line, sizeof(line), "x\r\x1b");
	CHECK_STR(line, "error [c7] x\\x0d\\x1b\n", "log: CR and ESC are hex too");
	{
		char big[1500];
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		logged(line, sizeof(line), big);
		CHECK(strlen(line) < 1200 && line[strlen(line) - 1] == '\n' &&
		      strchr(line, '\n') == line + strlen(line) - 1,
		      "log: a long message is cut, one line still");
		CHECK(strstr(line, "aaa...\n") != NULL,
		      "log: a cut message ends with ...");
	}
	timestamps();
	formats();
	access_lines();
	json_parses();
	sink();

	CHECK(nacre_hostname_valid("app.example.com"), "host: app.example.com");
	CHECK(nacre_hostname_valid("a-b.c1"), "host: hyphen inside a label");
	CHECK(nacre_hostname_valid("localhost"), "host: one label");
	CHECK(!nacre_hostname_valid(""), "host: empty refused");
	CHECK(!nacre_hostname_valid("a..b"), "host: empty label refused");
	CHECK(!nacre_hostname_valid(".a"), "host: leading dot refused");
	CHECK(!nacre_hostname_valid("a."), "host: trailing dot refused");
	CHECK(!nacre_hostname_valid("-a.b"), "host: leading hyphen refused");
	CHECK(!nacre_hostname_valid("a-.b"), "host: trailing hyphen refused");
	CHECK(!nacre_hostname_valid("a_b.c"), "host: underscore refused");
	CHECK(!nacre_hostname_valid("evil\ninfo"), "host: newline refused");
	CHECK(!nacre_hostname_valid("a b"), "host: space refused");
	{
		char l63[80], l64[80], long254[300];
		memset(l63, 'a', 63); l63[63] = '\0';
		memset(l64, 'a', 64); l64[64] = '\0';
		CHECK(nacre_hostname_valid(l63), "host: a 63-byte label");
		CHECK(!nacre_hostname_valid(l64), "host: a 64-byte label refused");
		for (int i = 0; i < 254; i++)
			long254[i] = (i % 2) ? '.' : 'a';
		long254[253] = 'a';
		long254[254] = '\0';
		CHECK(!nacre_hostname_valid(long254), "host: 254 bytes refused");
		long254[252] = '\0'; /* "a.a. ... a" 251 + 1 */
		long254[251] = 'a';
		CHECK(nacre_hostname_valid(long254), "host: 252 bytes accepted");
	}
	TAP_DONE();
}
