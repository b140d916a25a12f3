/*
 * test_config.c: nacred.conf parsing. Defaults, a full valid file, the
 * shipped example, and every error path: each must be refused with a
 * message naming the file, the line and the key.
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nacred.h"
#include "tap.h"

/* Line 1 and 2 of most test files: the two required sections. */
#define LISTEN "listen = ( { address = \"tcp:127.0.0.1:8443\"; } );\n"
#define UP "upstream = { address = \"unix:/run/app.sock\"; };\n"
#define BASE LISTEN UP

static char err[NACRE_ERRLEN];

static struct nacre_config *
parse(const char *text)
{
	struct nacre_config *c = NULL;

	err[0] = '\0';
	if (nacre_config_parse(text, "test.conf", &c, err, sizeof(err)) != 0)
		return NULL;
	return c;
}

/*
 * text must be refused; the message must carry every one of want[] (the
 * "test.conf:LINE:" prefix and the key, at least).
 */
static void
bad_(const char *label, const char *text, const char *const *want)
{
	struct nacre_config *c = (struct nacre_config *)&c;
	char name[200];
	int rc;

	err[0] = '\0';
	rc = nacre_config_parse(text, "test.conf", &c, err, sizeof(err));
	snprintf(name, sizeof(name), "%s: refused", label);
	CHECK(rc == -1 && c == NULL, name);
	printf("# %s\n", err); /* the message, for a reader of the log */
	if (rc == 0)
		nacre_config_free(c);
	for (; *want; want++) {
		snprintf(name, sizeof(name), "%s: says %s", label, *want);
		CHECK_HAS(err, *want, name);
	}
}
#define bad(label, text, ...) \
	bad_(label, text, (const char *const[]){ __VA_ARGS__, NULL })

static void
sha256(const char *text, size_t len, unsigned char out[32])
{
	EVP_Digest(text, len, out, NULL, EVP_sha256(), NULL);
}

static void
test_defaults(void)
{
	const char *text = BASE;
	unsigned char want[32];
	struct nacre_config *c = parse(text);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	CHECK(c != NULL, "minimal config parses");
	if (!c) {
		printf("# %s\n", err);
		return;
	}
	CHECK_STR(c->path, "test.conf", "path is the name given");
	CHECK(c->nlisten == 1 && !c->listen[0].proxy_protocol,
	      "one listener, no PROXY by default");
	CHECK_STR(c->listen[0].addr.text, "tcp:127.0.0.1:8443", "listen address");
	CHECK(c->upstream.addr.kind == NACRE_ADDR_UNIX, "upstream unix");
	CHECK(c->upstream.proxy_protocol == NACRE_PP_NONE,
	      "upstream proxy_protocol defaults to none");
	CHECK(c->tls.key == NACRE_KEY_EC_P256, "key defaults to ec-p256");
	CHECK(c->tls.min_version == TLS1_2_VERSION, "min_version defaults to 1.2");
	CHECK(c->tls.session_tickets == 0, "no session tickets by default");
	CHECK(c->tls.records == NACRE_RECORDS_OPENSSL,
	      "records default to OpenSSL's");
	CHECK(c->tls.alpn == NULL && c->tls.alpn_len == 0, "no ALPN by default");
	CHECK(c->tls.nnames == 1, "one name by default");
	CHECK_STR(c->tls.nnames ? c->tls.names[0] : NULL, "localhost",
		  "names default to localhost");
	CHECK(c->limits.max_connections == 10000, "max_connections default");
	CHECK(c->limits.handshake_timeout_ms == 10000, "handshake_timeout 10s");
	CHECK(c->limits.idle_timeout_ms == 300000, "idle_timeout 5m");
	CHECK(c->limits.connect_timeout_ms == 5000, "connect_timeout 5s");
	CHECK(c->limits.drain_timeout_ms == 30000, "drain_timeout 30s");
	CHECK(c->limits.buffer == 65536, "buffer 64k");
	CHECK(c->workers == (unsigned)(cores < 1 ? 1 : cores > 256 ? 256 : cores),
	      "workers default to one per core");
	CHECK(c->workers >= 1, "workers at least 1");
	CHECK(c->log_level == NACRE_LOG_INFO, "log level defaults to info");
	CHECK(c->balance == NACRE_BALANCE_PACK, "balance defaults to pack");
	CHECK(c->pack_busy == NACRE_PACK_BUSY_DEFAULT && c->pack_busy == 80,
	      "pack_busy defaults to 80");
	sha256(text, strlen(text), want);
	CHECK(memcmp(c->digest, want, 32) == 0, "digest is SHA-256 of the text");
	nacre_config_free(c);

	/* empty groups are the same as absent ones */
	c = parse(BASE "tls = { };\nlimits = { };\nlog = { };\nworkers = 0;\n");
	CHECK(c && c->tls.nnames == 1 && c->limits.buffer == 65536 &&
	      c->log_level == NACRE_LOG_INFO && c->workers >= 1,
	      "empty sections give the defaults");
	nacre_config_free(c);
	nacre_config_free(NULL);
	CHECK(1, "nacre_config_free(NULL) is harmless");
}

static const char full[] =
	"# every key\n"
	"listen = ( { address = \"tcp:0.0.0.0:8443\"; proxy_protocol = false; },\n"
	"           { address = \"vsock:any:8443\"; proxy_protocol = true; },\n"
	"           { address = \"tcp:[::1]:9443\"; } );\n"
	"upstream = { address = \"vsock:3:8080\"; proxy_protocol = \"v2\"; };\n"
	"tls = { key = \"ec-p384\"; min_version = \"TLSv1.3\"; session_tickets = 2;\n"
	"        records = \"openssl\";\n"
	"        alpn = [ \"h2\", \"http/1.1\" ];\n"
	"        names = [ \"app.example.com\", \"*.example.com\", \"10.0.0.1\",\n"
	"                  \"::1\" ]; };\n"
	"limits = { max_connections = 1000000; handshake_timeout = \"250ms\";\n"
	"           idle_timeout = \"1h\"; connect_timeout = 2;\n"
	"           drain_timeout = \"0s\"; buffer = \"16m\"; };\n"
	"workers = 256;\n"
	"balance = \"pack\";\n"
	"pack_busy = 100;\n"
	"log = { level = \"debug\"; };\n";

static void
test_full(void)
{
	struct nacre_config *c = parse(full);

	CHECK(c != NULL, "full config parses");
	if (!c) {
		printf("# %s\n", err);
		return;
	}
	CHECK(c->nlisten == 3, "three listeners");
	CHECK(c->listen[0].addr.kind == NACRE_ADDR_TCP &&
	      !c->listen[0].proxy_protocol, "listen[0] tcp, no PROXY");
	CHECK(c->listen[1].addr.kind == NACRE_ADDR_VSOCK &&
	      c->listen[1].proxy_protocol, "listen[1] vsock, PROXY");
	CHECK_STR(c->listen[2].addr.text, "tcp:[::1]:9443", "listen[2] text");
	CHECK(c->upstream.addr.kind == NACRE_ADDR_VSOCK &&
	      c->upstream.proxy_protocol == NACRE_PP_V2, "upstream vsock v2");
	CHECK(c->tls.key == NACRE_KEY_EC_P384, "key ec-p384");
	CHECK(c->tls.min_version == TLS1_3_VERSION, "min_version 1.3");
	CHECK(c->tls.session_tickets == 2, "session_tickets 2");
	CHECK(c->tls.alpn_len == 12 &&
	      memcmp(c->tls.alpn, "\x02h2\x08http/1.1", 12) == 0,
	      "ALPN in wire format");
	CHECK(c->tls.nnames == 4, "four names");
	CHECK_STR(c->tls.names[0], "app.example.com", "names[0]");
	CHECK_STR(c->tls.names[1], "*.example.com", "wildcard name");
	CHECK_STR(c->tls.names[3], "::1", "IPv6 name");
	CHECK(c->limits.max_connections == 1000000, "max_connections");
	CHECK(c->limits.handshake_timeout_ms == 250, "handshake_timeout 250ms");
	CHECK(c->limits.idle_timeout_ms == 3600000, "idle_timeout 1h");
	CHECK(c->limits.connect_timeout_ms == 2000, "integer duration: seconds");
	CHECK(c->limits.drain_timeout_ms == 0, "drain_timeout 0 allowed");
	CHECK(c->limits.buffer == 16u << 20, "buffer 16m");
	CHECK(c->workers == 256, "workers 256");
	CHECK(c->balance == NACRE_BALANCE_PACK && c->pack_busy == 100,
	      "balance pack, pack_busy 100");
	CHECK(c->log_level == NACRE_LOG_DEBUG, "log level debug");
	nacre_config_free(c);

	c = parse(BASE "balance = \"spread\";\n");
	CHECK(c && c->balance == NACRE_BALANCE_SPREAD, "balance spread");
	nacre_config_free(c);
	c = parse(BASE "pack_busy = 10;\n");
	CHECK(c && c->balance == NACRE_BALANCE_PACK && c->pack_busy == 10,
	      "pack_busy 10 without balance: pack");
	nacre_config_free(c);

	c = parse(BASE "limits = { buffer = 4096; idle_timeout = \"7d\"; };\n"
		  "log = { level = \"error\"; };\nworkers = 1;\n"
		  "tls = { alpn = [ ]; min_version = \"tlsv1.2\"; };\n");
	CHECK(c && c->limits.buffer == 4096 && c->log_level == NACRE_LOG_ERROR &&
	      c->workers == 1 && c->tls.alpn == NULL &&
	      c->limits.idle_timeout_ms == 7 * 86400000ULL,
	      "integer buffer, edge values, empty alpn");
	nacre_config_free(c);

	c = parse("listen = ( { address = \"vsock:any:1\"; },\n"
		  "           { address = \"vsock:16:3\"; proxy_protocol = true; },\n"
		  "           { address = \"vsock:any:2\"; } );\n"
		  "upstream = { address = \"tcp:localhost:80\"; };\n"
		  "tls = { names = ( \"a.b\" ); alpn = ( \"x\" ); };\n");
	CHECK(c && c->nlisten == 3 && c->tls.nnames == 1 &&
	      c->tls.alpn_len == 2, "vsock listeners, localhost upstream, "
	      "lists in ( ) form");
	if (!c)
		printf("# %s\n", err);
	nacre_config_free(c);
}

static void
test_syntax(void)
{
	bad("syntax error", BASE "workers = ;\n", "test.conf:3: syntax error");
	bad("missing equals", BASE "\nworkers 4;\n", "test.conf:4:", "syntax error");
	bad("unclosed group", BASE "tls = {\n", "test.conf:", "syntax error");
	bad("unclosed string", BASE "log = { level = \"info; };\n",
	    "test.conf:", "syntax error");
	bad("duplicate key", BASE "workers = 1;\nworkers = 2;\n",
	    "test.conf:4: \"workers\" is set twice in the same group");
	bad("@include", BASE "\n@include \"/etc/passwd\"\n",
	    "test.conf:4: @include is not supported");
	bad("@include indented", BASE "  @include \"x.conf\"\n",
	    "test.conf:3: @include");
	bad("32-bit overflow", BASE "\nworkers = 4294967297;\n",
	    "test.conf:4:", "the number 4294967297 is out of range");
	bad("hex overflow", BASE "limits = { max_connections = 0xffffffff; };\n",
	    "test.conf:3:", "0xffffffff is out of range");
	bad("huge negative", BASE "workers = -99999999999;\n",
	    "test.conf:3:", "out of range");
	bad("64-bit overflow", BASE "workers = 99999999999999999999L;\n",
	    "test.conf:3:", "out of range");
	bad("@ alone", BASE "workers = @4;\n", "test.conf:3: syntax error: "
	    "unexpected '@'");
	/* libconfig 1.5 would leak each of these strings; the ASan run of
	 * this test shows it does not happen */
	bad("string as a name", BASE "\n\"workers\" = 1;\n",
	    "test.conf:4: syntax error: a string cannot stand here");
	bad("two strings in a list", BASE "tls = { names = [ \"a\"\n \"b\" ]; };\n",
	    "test.conf:4: syntax error", "a string cannot stand here",
	    "is a ',' or");
	bad("two strings in a ( ) list", BASE "tls = { alpn = ( \"h2\", \"a\" \"b\" ); };\n",
	    "test.conf:3: syntax error", "a string cannot stand here");
	bad("string after a number", BASE "tls = { alpn = [ 1 \"b\" ]; };\n",
	    "test.conf:3: syntax error: a string cannot stand here; is a ',' or "
	    "a 'name =' missing before it?");
	bad("string in a group", BASE "tls = { \"h2\" };\n",
	    "test.conf:3: syntax error: a string cannot stand here");
	bad("string after a top-level comma", BASE "workers = 1, \"x\";\n",
	    "test.conf:3: syntax error: a string cannot stand here");
	bad("string at the start", "\"x\"", "test.conf:1: syntax error: a "
	    "string cannot stand here");
	bad("empty string at the start", "\"\"", "test.conf:1: syntax error");
	char deep[200];
	snprintf(deep, sizeof(deep), BASE "x = %.33s", "((((((((((((((((((((((((((((((((((((((((");
	bad("nesting too deep", deep, "test.conf:3: groups and lists are "
	    "nested too deeply");
	bad("empty file", "", "test.conf: listen is missing",
	    "listen = ( { address = \"tcp:0.0.0.0:8443\"; } );");
	bad("comments only", "# nothing\n// here\n/* or\n here */\n",
	    "test.conf: listen is missing");
	struct nacre_config *c = parse(BASE "workers = 1; # no newline");
	CHECK(c && c->workers == 1, "a comment on a last line without newline");
	nacre_config_free(c);
}

/* numbers inside strings and comments are not numbers */
static void
test_prescan_ignores(void)
{
	struct nacre_config *c = parse(
		"# 99999999999999999999 @include \"x\"\n"
		"/* 99999999999999999999\n @include \"y\" */\n"
		"// @include 99999999999\n"
		LISTEN UP
		"tls = { names = [ \"a99999999999999999.example\" ]; };\n"
		"limits = { max_connections = 2147483647L; };\n");

	CHECK(c == NULL, "2147483647L is still over max_connections");
	CHECK_HAS(err, "test.conf:8: limits.max_connections = 2147483647 is "
		  "out of range", "int64 in range reaches the range check");
	c = parse("listen = ( { address = \"tcp:1.2.3.4:80\"; } ); "
		  "# @include\n" UP "workers = -0;\nlog = { level = \"in\\\"fo\"; };\n");
	CHECK(c == NULL && strstr(err, "@include") == NULL,
	      "@include in a comment after a setting is ignored");
	CHECK_HAS(err, "test.conf:4: log.level", "escaped quote in a string");
	c = parse("listen = ( { address = \"tcp:127.0.0.1:1\"; }, { address =\n"
		  "\"tcp:127.0.0.1:2\"; } ) ;\nupstream = { address = \"unix:\" "
		  "\"/a\"; }; log = { level : \"debug\" , };\n");
	CHECK(c && c->nlisten == 2 && strcmp(c->upstream.addr.text, "unix:/a") == 0 &&
	      c->log_level == NACRE_LOG_DEBUG,
	      "strings after '=', ':', ',' in a list, and another string");
	nacre_config_free(c);
	c = parse(BASE "limits = { idle_timeout = 1e3; };\n");
	CHECK_HAS(err, "test.conf:3: limits.idle_timeout must be a duration",
		  "a float is a type error, not an overflow");
	nacre_config_free(c);
}

static void
test_unknown_keys(void)
{
	bad("top-level typo", "lisen = ( );\n",
	    "test.conf:1: unknown key \"lisen\" in the top level; did you mean "
	    "\"listen\"?");
	bad("top-level unknown", BASE "\nfrobnicate = 1;\n",
	    "test.conf:4: unknown key \"frobnicate\" in the top level; known "
	    "keys are: listen, upstream, tls, limits, workers, balance, "
	    "pack_busy, log");
	bad("unknown key in attestation",
	    BASE "attestation = { provder = \"sim\"; };\n",
	    "test.conf:3:", "unknown key \"provder\"", "did you mean \"provider\"");
	bad("admin typo", BASE "admin = { address = \"tcp:127.0.0.1:9000\"; };\n",
	    "test.conf:3: unknown key \"address\" in admin");
	bad("listen typo", "listen = ( { address = \"tcp:1.2.3.4:1\"; },\n"
	    " { adress = \"tcp:1.2.3.4:2\"; } );\n" UP,
	    "test.conf:2: unknown key \"adress\" in listen[1]; did you mean "
	    "\"address\"?");
	bad("upstream typo", LISTEN "upstream = { address = \"unix:/a\";\n"
	    " proxy_protocl = \"v2\"; };\n",
	    "test.conf:3: unknown key \"proxy_protocl\" in upstream; did you "
	    "mean \"proxy_protocol\"?");
	bad("tls typo", BASE "tls = { nmes = [ \"a\" ]; };\n",
	    "test.conf:3: unknown key \"nmes\" in tls; did you mean \"names\"?");
	bad("limits typo", BASE "limits = {\n buffers = \"64k\"; };\n",
	    "test.conf:4: unknown key \"buffers\" in limits; did you mean "
	    "\"buffer\"?");
	bad("log typo", BASE "log = { levl = \"info\"; };\n",
	    "test.conf:3: unknown key \"levl\" in log; did you mean \"level\"?");
	bad("no silly suggestion", BASE "log = { x = 1; };\n",
	    "unknown key \"x\" in log; known keys are: level");
}

static void
test_listen_errors(void)
{
	bad("listen missing", UP, "test.conf: listen is missing");
	bad("listen not a list", "listen = \"tcp:0.0.0.0:1\";\n" UP,
	    "test.conf:1: listen must be a list of groups",
	    "( { address = \"tcp:0.0.0.0:8443\"; } )");
	bad("listen group not list", "listen = { address = \"tcp:0.0.0.0:1\"; };\n"
	    UP, "test.conf:1: listen must be a list of groups");
	bad("listen empty", UP "listen = ( );\n", "test.conf:2: listen is empty");
	bad("listen element not group", UP "listen = (\n \"tcp:0.0.0.0:1\" );\n",
	    "test.conf:3: listen[0] must be a group like { address = ");
	bad("listen address missing", UP "listen = ( {\n proxy_protocol = true; } );\n",
	    "test.conf:2: listen[0].address is missing");
	bad("listen address not string", UP "listen = ( { address = 8443; } );\n",
	    "test.conf:2: listen[0].address must be a string");
	bad("listen address bad", UP "listen = ( { address = \"vsock:x:80\"; } );\n",
	    "test.conf:2: listen[0].address \"vsock:x:80\": CID must be a number "
	    "or \"any\" (vsock:CID:PORT)");
	bad("listen address bad tcp", UP "listen = ( { address = \"tcp:1.2.3.4\"; } );\n",
	    "test.conf:2: listen[0].address", "missing port");
	bad("listen unix", UP "listen = ( { address = \"unix:/run/x.sock\"; } );\n",
	    "test.conf:2: listen[0].address \"unix:/run/x.sock\": nacred listens "
	    "on tcp or vsock only");
	bad("listen proxy_protocol type", UP "listen = ( { address = "
	    "\"tcp:0.0.0.0:1\";\n proxy_protocol = \"v2\"; } );\n",
	    "test.conf:3: listen[0].proxy_protocol must be true or false");
	bad("listen duplicate", UP "listen = ( { address = \"tcp:127.0.0.1:1\"; },\n"
	    "{ address = \"tcp:127.0.0.1:1\"; } );\n",
	    "test.conf:3: listen[1] \"tcp:127.0.0.1:1\" overlaps listen[0]");
	/* localhost may resolve to 127.0.0.1 or ::1 first: use what it is */
	struct nacre_addr lo;
	char lotext[64], text[8192];
	if (nacre_addr_parse("tcp:localhost:1", false, &lo, err,
			     sizeof(err)) == 0) {
		nacre_sockaddr_str((struct sockaddr *)&lo.ss, lo.sslen, lotext,
				   sizeof(lotext));
		snprintf(text, sizeof(text), UP "listen = ( { address = "
			 "\"tcp:%s\"; },\n{ address = \"tcp:localhost:1\"; } );\n",
			 lotext);
		bad("listen duplicate by name", text,
		    "test.conf:3: listen[1] \"tcp:localhost:1\" overlaps");
	} else {
		CHECK(0, "localhost resolves");
	}
	bad("listen wildcard overlap", UP "listen = ( { address = "
	    "\"tcp:0.0.0.0:1\"; },\n\n{ address = \"tcp:10.0.0.1:1\"; } );\n",
	    "test.conf:4: listen[1]", "overlaps listen[0] \"tcp:0.0.0.0:1\"");
	bad("listen v6 wildcard overlap", UP "listen = ( { address = "
	    "\"tcp:[::1]:1\"; },\n{ address = \"tcp:[::]:1\"; } );\n",
	    "test.conf:3: listen[1]", "overlaps");
	bad("listen vsock overlap", UP "listen = ( { address = "
	    "\"vsock:16:5\"; },\n{ address = \"vsock:any:5\"; } );\n",
	    "test.conf:3: listen[1] \"vsock:any:5\" overlaps listen[0]");

	size_t off = (size_t)snprintf(text, sizeof(text), UP "listen = (");
	for (int i = 1; i <= 65; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
					"%s{ address = \"tcp:127.0.0.1:%d\"; }",
					i > 1 ? ", " : "", i);
	snprintf(text + off, sizeof(text) - off, " );\n");
	bad("too many listeners", text, "test.conf:2: listen has 65 entries; "
	    "at most 64");
}

static void
test_upstream_errors(void)
{
	bad("upstream missing", LISTEN, "test.conf: upstream is missing",
	    "upstream = { address = \"vsock:3:8080\"; };");
	bad("upstream not group", LISTEN "upstream = \"vsock:3:8080\";\n",
	    "test.conf:2: upstream must be a group like upstream = { address");
	bad("upstream address missing", LISTEN "upstream = {\n};\n",
	    "test.conf:2: upstream.address is missing");
	bad("upstream address type", LISTEN "upstream = { address = true; };\n",
	    "test.conf:2: upstream.address must be a string");
	bad("upstream address bad", LISTEN "upstream = { address = \"vsock:x:1\"; };\n",
	    "test.conf:2: upstream.address \"vsock:x:1\": CID must be a number "
	    "(vsock:CID:PORT)");
	bad("upstream vsock any", LISTEN "upstream = { address = \"vsock:any:1\"; };\n",
	    "test.conf:2: upstream.address", "only for listening");
	bad("upstream unix relative", LISTEN "upstream = { address = \"unix:a\"; };\n",
	    "test.conf:2: upstream.address", "must be absolute");
	bad("upstream not local", LISTEN "\nupstream = { address = "
	    "\"tcp:10.0.0.1:8080\"; };\n",
	    "test.conf:3: upstream.address \"tcp:10.0.0.1:8080\" is not local",
	    "plaintext must never leave the TEE",
	    "vsock:CID:PORT, unix:/path or tcp:127.0.0.1:PORT");
	bad("upstream 0.0.0.0", LISTEN "upstream = { address = \"tcp:0.0.0.0:80\"; };\n",
	    "test.conf:2: upstream.address", "is not local");
	bad("upstream pp type", LISTEN "upstream = { address = \"unix:/a\";\n"
	    "proxy_protocol = true; };\n",
	    "test.conf:3: upstream.proxy_protocol must be \"none\" or \"v2\"");
	bad("upstream pp value", LISTEN "upstream = { address = \"unix:/a\";\n"
	    "proxy_protocol = \"v1\"; };\n",
	    "test.conf:3: upstream.proxy_protocol = \"v1\" is unknown");
}

static void
test_tls_errors(void)
{
	char text[2048], big[300];

	bad("tls not group", BASE "tls = \"ec-p256\";\n",
	    "test.conf:3: tls must be a group");
	bad("tls key value", BASE "tls = { key = \"rsa-2048\"; };\n",
	    "test.conf:3: tls.key = \"rsa-2048\" is unknown; use \"ec-p256\" or "
	    "\"ec-p384\"");
	bad("tls key type", BASE "tls = { key = 256; };\n",
	    "test.conf:3: tls.key must be a string");
	bad("tls min_version", BASE "tls = {\n min_version = \"TLSv1.1\"; };\n",
	    "test.conf:4: tls.min_version = \"TLSv1.1\" is not supported",
	    "\"TLSv1.2\" or \"TLSv1.3\"");
	bad("tls min_version type", BASE "tls = { min_version = 1.3; };\n",
	    "test.conf:3: tls.min_version must be a string");
	bad("tls session_tickets range", BASE "tls = { session_tickets = 9; };\n",
	    "test.conf:3: tls.session_tickets = 9 is out of range; use 0 to 8");
	bad("tls session_tickets negative", BASE "tls = { session_tickets = -1; };\n",
	    "test.conf:3: tls.session_tickets = -1 is out of range; use 0 to 8");
	bad("tls session_tickets type", BASE "tls = { session_tickets = \"1\"; };\n",
	    "test.conf:3: tls.session_tickets must be an integer from 0 to 8");
	{
		struct nacre_config *c = parse(BASE "tls = { records = \"compact\"; };\n");
		CHECK(c && c->tls.records == NACRE_RECORDS_COMPACT, "records = \"compact\"");
		nacre_config_free(c);
	}
	bad("tls records unknown", BASE "tls = { records = \"own\"; };\n",
	    "test.conf:3: tls.records = \"own\" is unknown; use \"openssl\" or \"compact\"");
	bad("tls records type", BASE "tls = { records = 1; };\n",
	    "test.conf:3: tls.records must be a string like \"openssl\"");
	bad("tls records compact with tickets",
	    BASE "tls = { session_tickets = 1;\n records = \"compact\"; };\n",
	    "test.conf:4: tls.records = \"compact\" needs tls.session_tickets = 0");
	bad("alpn not list", BASE "tls = { alpn = \"h2\"; };\n",
	    "test.conf:3: tls.alpn must be a list of strings like "
	    "[ \"h2\", \"http/1.1\" ]");
	bad("alpn element type", BASE "tls = { alpn = ( \"h2\", 2 ); };\n",
	    "test.conf:3: tls.alpn[1] must be a string");
	bad("alpn empty string", BASE "tls = { alpn = [ \"h2\",\n \"\" ]; };\n",
	    "test.conf:4: tls.alpn[1] must be 1 to 255 bytes");
	memset(big, 'a', 256);
	big[256] = '\0';
	snprintf(text, sizeof(text), BASE "tls = { alpn = [ \"%s\" ]; };\n", big);
	bad("alpn too long", text, "test.conf:3: tls.alpn[0] must be 1 to 255");
	big[255] = '\0';
	snprintf(text, sizeof(text), BASE "tls = { alpn = [ \"%s\" ]; };\n", big);
	struct nacre_config *c = parse(text);
	CHECK(c && c->tls.alpn_len == 256 && c->tls.alpn[0] == 255,
	      "alpn of 255 bytes is fine");
	nacre_config_free(c);
	bad("alpn duplicate", BASE "tls = { alpn = [ \"h2\", \"h2\" ]; };\n",
	    "test.conf:3: tls.alpn[1] \"h2\" is listed twice");
	bad("alpn acme", BASE "tls = { alpn = [ \"acme-tls/1\" ]; };\n",
	    "test.conf:3: tls.alpn[0] \"acme-tls/1\" is reserved");
	bad("names not list", BASE "tls = { names = \"a.example\"; };\n",
	    "test.conf:3: tls.names must be a list of strings");
	bad("names empty", BASE "tls = { names = [ ]; };\n",
	    "test.conf:3: tls.names is empty");
	bad("names element type", BASE "tls = { names = ( \"a\", { } ); };\n",
	    "test.conf:3: tls.names[1] must be a string");
	bad("names bad char", BASE "tls = { names = [\n \"a.example\",\n"
	    " \"bad name\" ]; };\n",
	    "test.conf:5: tls.names[1] \"bad name\" is not a DNS name or IP "
	    "address");
	bad("names empty label", BASE "tls = { names = [ \"a..b\" ]; };\n",
	    "test.conf:3: tls.names[0] \"a..b\" is not a DNS name");
	bad("names trailing dot", BASE "tls = { names = [ \"a.b.\" ]; };\n",
	    "tls.names[0] \"a.b.\" is not a DNS name");
	bad("names hyphen edge", BASE "tls = { names = [ \"-a.b\" ]; };\n",
	    "tls.names[0] \"-a.b\" is not");
	bad("names hyphen end", BASE "tls = { names = [ \"a-.b\" ]; };\n",
	    "tls.names[0] \"a-.b\" is not");
	bad("names empty string", BASE "tls = { names = [ \"\" ]; };\n",
	    "test.conf:3: tls.names[0] \"\" is not");
	bad("names inner wildcard", BASE "tls = { names = [ \"a.*.b\" ]; };\n",
	    "tls.names[0] \"a.*.b\" is not");
	bad("names bare wildcard", BASE "tls = { names = [ \"*.\" ]; };\n",
	    "tls.names[0] \"*.\" is not");
	memset(big, 'a', 64);
	big[64] = '\0';
	snprintf(text, sizeof(text), BASE "tls = { names = [ \"%s.b\" ]; };\n", big);
	bad("names label too long", text, "test.conf:3: tls.names[0]",
	    "is not a DNS name");
	snprintf(text, sizeof(text), BASE "tls = { names = [ \"%.60s.example.com\" ]; };\n",
		 big);
	bad("names[0] too long for CN", text,
	    "test.conf:3: tls.names[0] is longer than 64 characters");
	snprintf(text, sizeof(text), BASE "tls = { names = [ \"a.b\", \"%.60s.example.com\" ]; };\n",
		 big);
	c = parse(text);
	CHECK(c && c->tls.nnames == 2, "a long name is fine after the first");
	nacre_config_free(c);
	bad("names duplicate", BASE "tls = { names = [ \"a.example\", \"A.Example\" ]; };\n",
	    "test.conf:3: tls.names[1] \"A.Example\" is listed twice");

	size_t off = (size_t)snprintf(text, sizeof(text), BASE "tls = { names = [");
	for (int i = 0; i < 101; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
					"%s\"n%d\"", i ? ", " : "", i);
	snprintf(text + off, sizeof(text) - off, " ]; };\n");
	bad("too many names", text, "test.conf:3: tls.names has 101 entries");
}

static void
test_limits_errors(void)
{
	bad("limits not group", BASE "limits = 5;\n",
	    "test.conf:3: limits must be a group");
	bad("max_connections 0", BASE "limits = { max_connections = 0; };\n",
	    "test.conf:3: limits.max_connections = 0 is out of range; use 1 to "
	    "1000000");
	bad("max_connections big", BASE "limits = {\nmax_connections = 1000001; };\n",
	    "test.conf:4: limits.max_connections = 1000001 is out of range");
	bad("max_connections string", BASE "limits = { max_connections = \"10\"; };\n",
	    "test.conf:3: limits.max_connections must be an integer");
	bad("max_connections float", BASE "limits = { max_connections = 10.0; };\n",
	    "test.conf:3: limits.max_connections must be an integer");
	bad("handshake_timeout junk", BASE "limits = { handshake_timeout = \"10 s\"; };\n",
	    "test.conf:3: limits.handshake_timeout = \"10 s\" is not a duration",
	    "\"250ms\"");
	bad("handshake_timeout zero", BASE "limits = { handshake_timeout = 0; };\n",
	    "test.conf:3: limits.handshake_timeout is out of range; use 1ms to 1d");
	bad("idle_timeout bool", BASE "limits = { idle_timeout = true; };\n",
	    "test.conf:3: limits.idle_timeout must be a duration string like "
	    "\"10s\"");
	bad("idle_timeout too long", BASE "limits = { idle_timeout = \"8d\"; };\n",
	    "test.conf:3: limits.idle_timeout is out of range; use 1ms to 7d");
	bad("connect_timeout negative", BASE "limits = { connect_timeout = -5; };\n",
	    "test.conf:3: limits.connect_timeout must not be negative");
	bad("connect_timeout overflow", BASE "limits = { connect_timeout = "
	    "\"99999999999999999999s\"; };\n",
	    "test.conf:3: limits.connect_timeout = \"99999999999999999999s\" is "
	    "not a duration");
	bad("connect_timeout int64", BASE "limits = { connect_timeout = "
	    "9223372036854775807L; };\n",
	    "test.conf:3: limits.connect_timeout is out of range");
	bad("drain_timeout too long", BASE "limits = { drain_timeout = \"25h\"; };\n",
	    "test.conf:3: limits.drain_timeout is out of range; use 0s to 1d");
	bad("buffer small", BASE "limits = { buffer = \"1k\"; };\n",
	    "test.conf:3: limits.buffer is out of range; use \"4k\" to \"16m\"");
	bad("buffer big", BASE "limits = { buffer = \"17m\"; };\n",
	    "test.conf:3: limits.buffer is out of range");
	bad("buffer int small", BASE "limits = { buffer = 4095; };\n",
	    "test.conf:3: limits.buffer is out of range");
	bad("buffer negative", BASE "limits = { buffer = -1; };\n",
	    "test.conf:3: limits.buffer must not be negative; use \"4k\"");
	bad("buffer junk", BASE "limits = { buffer = \"64x\"; };\n",
	    "test.conf:3: limits.buffer = \"64x\" is not a size");
	bad("buffer type", BASE "\nlimits = { buffer = [ 1 ]; };\n",
	    "test.conf:4: limits.buffer must be a size string like \"64k\"");
}

static void
test_workers_log_errors(void)
{
	bad("workers big", BASE "workers = 257;\n",
	    "test.conf:3: workers = 257 is out of range; use 0 to 256");
	bad("workers negative", BASE "workers = -1;\n",
	    "test.conf:3: workers = -1 is out of range");
	bad("workers string", BASE "workers = \"4\";\n",
	    "test.conf:3: workers must be an integer from 0 to 256");
	bad("balance value", BASE "balance = \"round-robin\";\n",
	    "test.conf:3: balance = \"round-robin\" is unknown; use \"pack\" "
	    "or \"spread\"");
	bad("balance type", BASE "balance = 1;\n",
	    "test.conf:3: balance must be a string like \"pack\"");
	bad("pack_busy low", BASE "pack_busy = 9;\n",
	    "test.conf:3: pack_busy = 9 is out of range; use 10 to 100");
	bad("pack_busy high", BASE "pack_busy = 101;\n",
	    "test.conf:3: pack_busy = 101 is out of range; use 10 to 100");
	bad("pack_busy string", BASE "pack_busy = \"80%\";\n",
	    "test.conf:3: pack_busy must be an integer from 10 to 100");
	bad("pack_busy with spread",
	    BASE "balance = \"spread\";\npack_busy = 50;\n",
	    "test.conf:4: pack_busy applies to balance = \"pack\" only");
	bad("log not group", BASE "log = \"info\";\n",
	    "test.conf:3: log must be a group like log = { level = \"info\"; };");
	bad("log level value", BASE "log = { level = \"verbose\"; };\n",
	    "test.conf:3: log.level = \"verbose\" is unknown; use \"error\", "
	    "\"warn\", \"info\" or \"debug\"");
	bad("log level type", BASE "log = { level = 3; };\n",
	    "test.conf:3: log.level must be a string");
}

static int
write_tmp(const char *text, size_t len, char *path, size_t pathlen)
{
	snprintf(path, pathlen, "/tmp/test_config.XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void
test_load(void)
{
	struct nacre_config *c = NULL;
	unsigned char want[32];
	char path[64], name[128];
	int rc;

	if (write_tmp(full, strlen(full), path, sizeof(path)) != 0) {
		CHECK(0, "temporary file");
		return;
	}
	rc = nacre_config_load(path, &c, err, sizeof(err));
	CHECK(rc == 0 && c != NULL, "load reads a file");
	sha256(full, strlen(full), want);
	CHECK(c && memcmp(c->digest, want, 32) == 0,
	      "load digest is SHA-256 of the file");
	CHECK_STR(c ? c->path : NULL, path, "load keeps the path");
	nacre_config_free(c);
	unlink(path);

	/* errors carry the file name given, not "test.conf" */
	const char badtext[] = LISTEN "upstream = { address = \"tcp:10.1.1.1:1\"; };\n";
	if (write_tmp(badtext, strlen(badtext), path, sizeof(path)) == 0) {
		rc = nacre_config_load(path, &c, err, sizeof(err));
		snprintf(name, sizeof(name), "%s:2: upstream.address", path);
		CHECK(rc == -1 && c == NULL, "load refuses a bad file");
		CHECK_HAS(err, name, "load error names the file and line");
		unlink(path);
	}

	rc = nacre_config_load("/nonexistent/nacred.conf", &c, err, sizeof(err));
	CHECK(rc == -1 && c == NULL, "load of a missing file fails");
	CHECK_STR(err, "/nonexistent/nacred.conf: cannot read the configuration: "
		  "No such file or directory", "missing file message");
	rc = nacre_config_load("/tmp", &c, err, sizeof(err));
	CHECK(rc == -1, "load of a directory fails");
	CHECK_STR(err, "/tmp: the configuration must be a regular file; this is "
		  "a directory", "directory message");
	{
		/* a FIFO with no writer: refused at once, never waited on */
		char fifo[] = "/tmp/nacre-test-fifo-XXXXXX";
		int fd = mkstemp(fifo);
		close(fd);
		unlink(fifo);
		if (mkfifo(fifo, 0600) == 0) {
			rc = nacre_config_load(fifo, &c, err, sizeof(err));
			CHECK(rc == -1 && c == NULL, "load of a FIFO fails without blocking");
			CHECK_HAS(err, "must be a regular file; this is a FIFO",
				  "FIFO message names the rule");
			unlink(fifo);
		} else {
			CHECK(0, "mkfifo for the FIFO check");
		}
	}
	rc = nacre_config_load("/dev/zero", &c, err, sizeof(err));
	CHECK(rc == -1 && strstr(err, "this is a device"),
	      "load of a device refused (never read)");

	const char nul[] = "listen = ( );\0 junk";
	if (write_tmp(nul, sizeof(nul) - 1, path, sizeof(path)) == 0) {
		rc = nacre_config_load(path, &c, err, sizeof(err));
		CHECK(rc == -1, "load refuses a NUL byte");
		CHECK_HAS(err, "contains a NUL byte at offset 13", "NUL message");
		unlink(path);
	}

	size_t biglen = 1024 * 1024 + 1;
	char *big = malloc(biglen);
	if (big) {
		memset(big, '#', biglen);
		if (write_tmp(big, biglen, path, sizeof(path)) == 0) {
			rc = nacre_config_load(path, &c, err, sizeof(err));
			CHECK(rc == -1, "load refuses a file over 1 MiB");
			CHECK_HAS(err, "larger than 1024 KiB", "size message");
			unlink(path);
		}
		/* exactly 1 MiB is read (then listen is missing) */
		if (write_tmp(big, biglen - 1, path, sizeof(path)) == 0) {
			nacre_config_load(path, &c, err, sizeof(err));
			CHECK_HAS(err, "listen is missing",
				  "a file of exactly 1 MiB is read");
			unlink(path);
		}
		free(big);
	}
}

/* The shipped example (tests run from the top of the tree) must load. */
static void
test_example(void)
{
	struct nacre_config *c = NULL;
	int rc = nacre_config_load("conf/nacred.conf", &c, err, sizeof(err));

	CHECK(rc == 0, "conf/nacred.conf loads");
	if (rc != 0) {
		printf("# %s\n", err);
		return;
	}
	CHECK(c->nlisten >= 1 && strcmp(c->listen[0].addr.text,
					"tcp:0.0.0.0:8443") == 0,
	      "example listens on tcp:0.0.0.0:8443");
	CHECK_STR(c->upstream.addr.text, "unix:/run/nacre-app/app.sock",
		  "example upstream is unix:/run/nacre-app/app.sock");
	nacre_config_free(c);
}

static void
test_attestation(void)
{
	struct nacre_config *c;
	const char *pcr2 = "attestation = { provider = \"sim\"; sim = { pcrs = { "
			   "pcr2 = \"" "000102030405060708090a0b0c0d0e0f"
			   "101112131415161718191a1b1c1d1e1f"
			   "202122232425262728292a2b2c2d2e2f\"; }; }; };\n";

	c = parse(BASE);
	CHECK(c && c->attestation.provider == NACRE_ATTEST_NITRO,
	      "attestation: the default provider is nitro (never unattested)");
	CHECK(c && c->attestation.rotate_ms == 3600000, "attestation: rotate defaults to 1h");
	CHECK_STR(c ? c->attestation.nitro_device : NULL, "/dev/nsm",
		  "attestation: nitro device defaults to /dev/nsm");
	CHECK_STR(c ? c->attestation.sim_root : NULL, NACRE_SIM_ROOT_DEFAULT,
		  "attestation: sim root has a default path");
	CHECK(c && c->attestation.sim_pcrs_from_binary,
	      "attestation: sim PCRs come from the binary by default");
	nacre_config_free(c);

	c = parse(BASE "attestation = { provider = \"sim\"; rotate = \"90s\";\n"
		  "  sim = { root = \"/tmp/r.pem\"; pcrs_from = \"binary\"; }; };\n");
	CHECK(c && c->attestation.provider == NACRE_ATTEST_SIM &&
	      c->attestation.rotate_ms == 90000, "attestation: sim with rotate 90s");
	CHECK_STR(c ? c->attestation.sim_root : NULL, "/tmp/r.pem",
		  "attestation: sim root path taken");
	nacre_config_free(c);

	c = parse(BASE);
	CHECK(c && c->attestation.sim_platform == NACRE_SIM_NITRO,
	      "attestation: the sim simulates nitro by default");
	CHECK_STR(c ? c->attestation.tsm_path : NULL, NACRE_TSM_PATH_DEFAULT,
		  "attestation: tsm path defaults to /sys/kernel/config/tsm/report");
	CHECK(c && !c->attestation.tsm_has_privlevel,
	      "attestation: tsm privlevel not written by default");
	nacre_config_free(c);
	c = parse(BASE "attestation = { provider = \"sim\"; sim = { platform = \"tdx\"; }; };\n");
	CHECK(c && c->attestation.provider == NACRE_ATTEST_SIM &&
	      c->attestation.sim_platform == NACRE_SIM_TDX &&
	      c->attestation.sim_pcrs_from_binary,
	      "attestation: sim platform tdx, measured from the binary");
	nacre_config_free(c);
	c = parse(BASE "attestation = { provider = \"sim\"; sim = { platform = \"snp\"; "
		  "pcrs_from = \"config\"; }; };\n");
	CHECK(c && c->attestation.sim_platform == NACRE_SIM_SNP &&
	      !c->attestation.sim_pcrs_from_binary,
	      "attestation: sim platform snp with the measurement from the config");
	nacre_config_free(c);
	c = parse(BASE "attestation = { provider = \"tsm\";\n"
		  "  tsm = { path = \"/tmp/tsm/report\"; privlevel = 2; }; };\n");
	CHECK(c && c->attestation.provider == NACRE_ATTEST_TSM &&
	      c->attestation.tsm_has_privlevel && c->attestation.tsm_privlevel == 2,
	      "attestation: tsm provider with privlevel 2");
	CHECK_STR(c ? c->attestation.tsm_path : NULL, "/tmp/tsm/report",
		  "attestation: tsm path taken");
	nacre_config_free(c);
	{
		char dir[256];
		CHECK(nacre_sim_tee_dir("/var/lib/nacre/sim-root.pem", NACRE_SIM_TDX,
					dir, sizeof(dir)) == 0 &&
		      strcmp(dir, "/var/lib/nacre/sim-tdx") == 0,
		      "attestation: simulated TDX keys beside the sim root");
		CHECK(nacre_sim_tee_dir("/sim-root.pem", NACRE_SIM_SNP, dir,
					sizeof(dir)) == 0 &&
		      strcmp(dir, "/sim-snp") == 0,
		      "attestation: simulated SNP keys beside a root in /");
		CHECK(nacre_sim_tee_dir("/var/lib/nacre/sim-root.pem", NACRE_SIM_SNP,
					dir, 8) < 0,
		      "attestation: a sim key directory that does not fit is refused");
	}

	c = parse(BASE "attestation = { nitro = { device = \"/dev/nsm0\"; }; };\n");
	CHECK_STR(c ? c->attestation.nitro_device : NULL, "/dev/nsm0",
		  "attestation: nitro device path taken");
	nacre_config_free(c);

	char text[1024];
	snprintf(text, sizeof(text), "%s%s", BASE, pcr2);
	c = parse(text);
	CHECK(c && !c->attestation.sim_pcrs_from_binary &&
	      c->attestation.sim_pcrs[2][0] == 0x00 &&
	      c->attestation.sim_pcrs[2][47] == 0x2f &&
	      c->attestation.sim_pcrs[0][0] == 0,
	      "attestation: fixed sim PCRs from the config");
	nacre_config_free(c);

	bad("provider unknown", BASE "attestation = { provider = \"tdx\"; };\n",
	    "test.conf:3:", "attestation.provider", "\"nitro\"", "\"sim\"",
	    "\"tsm\"");
	bad("sim platform unknown",
	    BASE "attestation = { provider = \"sim\"; sim = { platform = \"sgx\"; }; };\n",
	    "test.conf:3:", "attestation.sim.platform = \"sgx\" is unknown",
	    "\"nitro\"", "\"tdx\"", "\"snp\"");
	bad("sim platform not a string",
	    BASE "attestation = { sim = { platform = 2; }; };\n",
	    "test.conf:3:", "attestation.sim.platform");
	bad("tsm path relative",
	    BASE "attestation = { provider = \"tsm\"; tsm = { path = \"tsm/report\"; }; };\n",
	    "test.conf:3:", "attestation.tsm.path", "absolute path");
	bad("tsm privlevel out of range",
	    BASE "attestation = { tsm = { privlevel = 4; }; };\n",
	    "test.conf:3:", "attestation.tsm.privlevel");
	bad("tsm unknown key", BASE "attestation = { tsm = { pth = \"/x\"; }; };\n",
	    "test.conf:3:", "unknown key \"pth\"", "attestation.tsm");
	bad("tsm not a group", BASE "attestation = { tsm = \"/x\"; };\n",
	    "test.conf:3:", "tsm");
	bad("rotate too long", BASE "attestation = { rotate = \"3h\"; };\n",
	    "test.conf:3:", "attestation.rotate", "out of range");
	bad("rotate not a duration", BASE "attestation = { rotate = \"soon\"; };\n",
	    "test.conf:3:", "attestation.rotate");
	bad("sim root relative", BASE "attestation = { sim = { root = \"r.pem\"; }; };\n",
	    "test.conf:3:", "attestation.sim.root", "absolute path");
	bad("nitro device not a string", BASE "attestation = { nitro = { device = 3; }; };\n",
	    "test.conf:3:", "attestation.nitro.device");
	bad("pcrs_from unknown", BASE "attestation = { sim = { pcrs_from = \"tpm\"; }; };\n",
	    "test.conf:3:", "pcrs_from", "\"binary\" or \"config\"");
	bad("pcr index out of range", BASE "attestation = { sim = { pcrs = { pcr16 = \"00\"; }; }; };\n",
	    "test.conf:3:", "pcr16", "pcr0 .. pcr15");
	bad("pcr value short", BASE "attestation = { sim = { pcrs = { pcr0 = \"abcd\"; }; }; };\n",
	    "test.conf:3:", "attestation.sim.pcrs.pcr0", "96 hex digits");
	bad("pcrs with pcrs_from binary",
	    BASE "attestation = { sim = { pcrs_from = \"binary\"; pcrs = { }; }; };\n",
	    "test.conf:3:", "pcrs_from = \"binary\"");
	bad("attestation not a group", BASE "attestation = 1;\n",
	    "test.conf:3:", "attestation must be a group");
	bad("sim unknown key", BASE "attestation = { sim = { rot = \"/x\"; }; };\n",
	    "test.conf:3:", "unknown key \"rot\"");
}

#define ACME_OK "acme = { directory = \"https://ca.example/dir\"; " \
	"require_caa = false;\n domains = ( { names = [ \"a.example.com\", " \
	"\"b.example.com\" ]; }, { names = [ \"c.example.com\" ]; } ); };\n"

static void
test_acme(void)
{
	struct nacre_config *c = parse(BASE ACME_OK);

	CHECK(c && c->acme.enabled && c->acme.ndomains == 2 &&
	      c->acme.domains[0].nnames == 2 &&
	      strcmp(c->acme.domains[1].names[0], "c.example.com") == 0,
	      "acme: two domain groups");
	CHECK(c && c->acme.renew_before_ms == 30ULL * 86400 * 1000 &&
	      !c->acme.require_caa && !c->acme.via && !c->acme.ca_roots,
	      "acme: defaults (renew 30d, direct, system roots)");
	nacre_config_free(c);
	c = parse(BASE);
	CHECK(c && !c->acme.enabled, "acme: off without the group");
	nacre_config_free(c);
	c = parse(BASE "acme = { directory = \"https://ca.example/dir\"; "
		  "resolver = \"udp:127.0.0.1:53\"; caa_identity = \"ca.example\";\n"
		  "via = \"vsock:3:8001\"; contact = [ \"mailto:ops@example.com\" ];\n"
		  "renew_before = \"10d\"; domains = ( { names = [ \"a.example.com\" ]; } ); };\n");
	CHECK(c && c->acme.require_caa && c->acme.resolver && c->acme.via &&
	      c->acme.ncontact == 1 && c->acme.renew_before_ms == 10ULL * 86400 * 1000,
	      "acme: every key");
	nacre_config_free(c);

	bad("acme without directory", BASE "acme = { require_caa = false;\n"
	    "domains = ( { names = [ \"a.example.com\" ]; } ); };\n",
	    "test.conf:3: acme needs directory");
	bad("acme http directory", BASE "acme = { directory = \"http://ca/dir\"; };\n",
	    "must be an https:// URL");
	bad("acme wildcard", BASE "acme = { directory = \"https://ca/dir\"; require_caa = false;\n"
	    "domains = ( { names = [ \"*.example.com\" ]; } ); };\n",
	    "test.conf:4: acme.domains[0].names", "cannot prove a wildcard");
	bad("acme not fqdn", BASE "acme = { directory = \"https://ca/dir\"; require_caa = false;\n"
	    "domains = ( { names = [ \"localhost\" ]; } ); };\n",
	    "\"localhost\" is not a fully qualified DNS name");
	bad("acme name twice", BASE "acme = { directory = \"https://ca/dir\"; require_caa = false;\n"
	    "domains = ( { names = [ \"a.example.com\" ]; }, { names = [ \"A.example.com\" ]; } ); };\n",
	    "\"a.example.com\" is in two entries");
	bad("acme caa without resolver", BASE "acme = { directory = \"https://ca/dir\";\n"
	    "caa_identity = \"ca.example\"; domains = ( { names = [ \"a.example.com\" ]; } ); };\n",
	    "acme.require_caa = true needs acme.resolver");
	/* without caa_identity, the CA's directory names it */
	c = parse(BASE "acme = { directory = \"https://ca/dir\";\n"
		  "resolver = \"tcp:127.0.0.1:53\"; domains = ( { names = [ \"a.example.com\" ]; } ); };\n");
	CHECK(c && c->acme.require_caa && !c->acme.caa_identity,
	      "acme: require_caa without caa_identity (from the directory)");
	nacre_config_free(c);
	bad("acme bad contact", BASE "acme = { directory = \"https://ca/dir\"; require_caa = false;\n"
	    "contact = [ \"ops@example.com\" ]; domains = ( { names = [ \"a.example.com\" ]; } ); };\n",
	    "acme.contact[0]", "mailto:");
	bad("acme unix resolver", BASE "acme = { directory = \"https://ca/dir\"; resolver = \"unix:/x\"; };\n",
	    "a DNS resolver is tcp:, udp: or vsock:");
	bad("acme unknown key", BASE "acme = { directroy = \"https://ca/dir\"; };\n",
	    "unknown key \"directroy\" in acme; did you mean \"directory\"?");
	c = parse(BASE "acme = { directory = \"https://ca/dir\"; require_caa = false;\n"
		  "caa_peer_accounts = [ \"https://ca/acct/2\", \"https://ca/acct/3\" ];\n"
		  "domains = ( { names = [ \"a.example.com\" ]; } ); };\n");
	CHECK(c && c->acme.ncaa_peers == 2 &&
	      strcmp(c->acme.caa_peers[1], "https://ca/acct/3") == 0,
	      "acme: caa_peer_accounts (the other replicas' accounts)");
	nacre_config_free(c);
	bad("acme peer account not a URL", BASE "acme = { directory = \"https://ca/dir\";\n"
	    "caa_peer_accounts = [ \"acct/2\" ]; require_caa = false;\n"
	    "domains = ( { names = [ \"a.example.com\" ]; } ); };\n",
	    "test.conf:4: acme.caa_peer_accounts[0] = \"acct/2\": an account URL");
	/* libconfig says "duplicate setting name"; we say which */
	bad("duplicate key, indented", BASE "workers = 1;\n  workers = 2;\n",
	    "\"workers\" is set twice in the same group; keep one");
	bad("duplicate key in a group", BASE "admin = { listen = \"unix:/a\";\n"
	    "listen = \"unix:/b\"; };\n", "\"listen\" is set twice");
	bad("admin public", BASE "admin = { listen = \"tcp:0.0.0.0:9100\"; };\n",
	    "admin.listen = \"tcp:0.0.0.0:9100\" is not local");
	bad("admin without listen", BASE "admin = { max_evidence_age = \"1h\"; };\n",
	    "admin needs listen");
	bad("log format", BASE "log = { format = \"xml\"; };\n",
	    "log.format = \"xml\" is unknown; use \"text\" or \"json\"");
	bad("log to public", BASE "log = { to = \"tcp:192.0.2.1:514\"; };\n",
	    "log.to = \"tcp:192.0.2.1:514\" is not local");
}

int
main(void)
{
	test_acme();
	test_defaults();
	test_full();
	test_syntax();
	test_prescan_ignores();
	test_unknown_keys();
	test_listen_errors();
	test_upstream_errors();
	test_tls_errors();
	test_limits_errors();
	test_workers_log_errors();
	test_load();
	test_example();
	test_attestation();
	TAP_DONE();
}
