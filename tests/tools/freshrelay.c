/*
 * freshrelay: the attacker of docs/evidence-format.md 8.5, for the tests.
 * It holds a copy of nacred's TLS key and certificate (exported by a
 * test-only hook of the ASan build: NACRE_TEST_KEY_EXPORT), terminates the
 * client's TLS itself and, when the client asks for fresh evidence,
 * relays the client's nonce to the genuine nacred and hands the client the
 * genuine fresh evidence it got back (relay), or evidence recorded from an
 * earlier handshake (replay). A verifier must refuse both; without fresh
 * evidence the same attacker passes (the static evidence binds the key it
 * stole).
 *
 *   freshrelay serve --listen HOST:PORT --genuine HOST:PORT --key KEY.pem
 *              --cert CERT.pem [--replay EVIDENCE.bin] [--record OUT.bin]
 *              [--count N]
 *   freshrelay ask --connect HOST:PORT --ext HEX [--tls12]
 *
 * serve handles N connections (default 1) one after the other, then exits
 * 0. ask sends extension 0xff4e with the given bytes and prints
 * "handshake ok" or "handshake failed: REASON" (exit 0 / 1).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#define EXT 0xff4e

static const char *genuine, *replay_path, *record_path;
static uint8_t evidence[65536];
static size_t evidence_len;
static uint8_t ext_bytes[256];
static size_t ext_len;

static int
usage(void)
{
	fprintf(stderr, "usage: freshrelay serve --listen HOST:PORT --genuine "
		"HOST:PORT --key KEY.pem --cert CERT.pem [--replay FILE] "
		"[--record FILE] [--count N]\n"
		"       freshrelay ask --connect HOST:PORT --ext HEX [--tls12]\n");
	return 2;
}

static int
dial(const char *hp)
{
	char host[256];
	const char *c = strrchr(hp, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int fd;

	if (!c || (size_t)(c - hp) >= sizeof(host))
		return -1;
	memcpy(host, hp, (size_t)(c - hp));
	host[c - hp] = '\0';
	if (getaddrinfo(host, c + 1, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* ---- the client side: toward the genuine nacred, or ask ---- */

static int
cli_add(SSL *s, unsigned int type, unsigned int context,
	const unsigned char **out, size_t *outlen, X509 *x, size_t chainidx,
	int *al, void *arg)
{
	*out = ext_bytes;
	*outlen = ext_len;
	return 1;
}

static int
cli_parse(SSL *s, unsigned int type, unsigned int context,
	  const unsigned char *in, size_t inlen, X509 *x, size_t chainidx,
	  int *al, void *arg)
{
	if ((context & SSL_EXT_TLS1_3_CERTIFICATE) && chainidx == 0 &&
	    inlen <= sizeof(evidence)) {
		memcpy(evidence, in, inlen);
		evidence_len = inlen;
	}
	return 1;
}

/* one handshake sending ext_bytes; 0 ok, -1 with the reason printed */
static int
client_handshake(const char *addr, bool tls12, bool quiet)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	int fd = dial(addr), rc = -1;
	char why[256] = "cannot connect";

	if (fd < 0 || !ctx)
		goto out;
	if (tls12)
		SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_add_custom_ext(ctx, EXT, SSL_EXT_CLIENT_HELLO |
			       SSL_EXT_TLS1_3_CERTIFICATE, cli_add, NULL, NULL,
			       cli_parse, NULL);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "localhost");
	if (SSL_connect(ssl) == 1) {
		rc = 0;
		SSL_shutdown(ssl);
	} else {
		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
	}
out:
	if (!quiet || rc < 0)
		printf(rc == 0 ? "handshake ok\n" : "handshake failed: %s\n", why);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- the server side: toward the victim client ---- */

static int
srv_hello(SSL *s, int *al, void *arg)
{
	const unsigned char *p;
	size_t n;

	evidence_len = 0;
	if (SSL_client_hello_get0_ext(s, EXT, &p, &n) != 1 || n < 2 || p[0] < 2)
		return SSL_CLIENT_HELLO_SUCCESS; /* no fresh request: nothing to do */
	if (replay_path) {
		FILE *f = fopen(replay_path, "rb");
		if (f) {
			evidence_len = fread(evidence, 1, sizeof(evidence), f);
			fclose(f);
		}
		fprintf(stderr, "freshrelay: replaying %zu bytes of evidence\n",
			evidence_len);
		return SSL_CLIENT_HELLO_SUCCESS;
	}
	/* relay: the client's very request (its nonce) to the genuine
	 * server, whose fresh evidence comes back in its CertificateEntry */
	if (n > sizeof(ext_bytes))
		return SSL_CLIENT_HELLO_SUCCESS;
	memcpy(ext_bytes, p, n);
	ext_len = n;
	client_handshake(genuine, false, true);
	fprintf(stderr, "freshrelay: relayed the nonce, got %zu bytes of "
		"genuine fresh evidence\n", evidence_len);
	if (record_path && evidence_len) {
		FILE *f = fopen(record_path, "wb");
		if (f) {
			fwrite(evidence, 1, evidence_len, f);
			fclose(f);
		}
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

static int
srv_add(SSL *s, unsigned int type, unsigned int context,
	const unsigned char **out, size_t *outlen, X509 *x, size_t chainidx,
	int *al, void *arg)
{
	if (!(context & SSL_EXT_TLS1_3_CERTIFICATE) || chainidx != 0 ||
	    !evidence_len)
		return 0;
	*out = evidence;
	*outlen = evidence_len;
	return 1;
}

static int
srv_parse(SSL *s, unsigned int type, unsigned int context,
	  const unsigned char *in, size_t inlen, X509 *x, size_t chainidx,
	  int *al, void *arg)
{
	return 1;
}

static int
serve(const char *listen_at, const char *key, const char *cert, int count)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *c = strrchr(listen_at, ':');
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);

	if (!ctx || !c || lfd < 0 ||
	    SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "freshrelay: cannot load the stolen key and "
			"certificate\n");
		return 1;
	}
	SSL_CTX_set_client_hello_cb(ctx, srv_hello, NULL);
	SSL_CTX_add_custom_ext(ctx, EXT, SSL_EXT_CLIENT_HELLO |
			       SSL_EXT_TLS1_3_CERTIFICATE, srv_add, NULL, NULL,
			       srv_parse, NULL);
	sa.sin_port = htons((uint16_t)atoi(c + 1));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 8) < 0) {
		perror("freshrelay: listen");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < count; i++) {
		int fd = accept(lfd, NULL, NULL);
		SSL *ssl;

		if (fd < 0)
			continue;
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1)
			SSL_shutdown(ssl);
		ERR_clear_error();
		SSL_free(ssl);
		close(fd);
	}
	close(lfd);
	SSL_CTX_free(ctx);
	return 0;
}

static size_t
unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = strlen(h) / 2;

	if (n > cap)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return 0;
		out[i] = (uint8_t)v;
	}
	return n;
}

int
main(int argc, char **argv)
{
	const char *listen_at = NULL, *key = NULL, *cert = NULL, *conn = NULL;
	bool tls12 = false;
	int count = 1;

	if (argc < 2)
		return usage();
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--tls12")) {
			tls12 = true;
			continue;
		}
		if (!v)
			return usage();
		i++;
		if (!strcmp(a, "--listen")) listen_at = v;
		else if (!strcmp(a, "--genuine")) genuine = v;
		else if (!strcmp(a, "--key")) key = v;
		else if (!strcmp(a, "--cert")) cert = v;
		else if (!strcmp(a, "--replay")) replay_path = v;
		else if (!strcmp(a, "--record")) record_path = v;
		else if (!strcmp(a, "--count")) count = atoi(v);
		else if (!strcmp(a, "--connect")) conn = v;
		else if (!strcmp(a, "--ext")) ext_len = unhex(v, ext_bytes, sizeof(ext_bytes));
		else return usage();
	}
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "serve") && listen_at && genuine && key && cert)
		return serve(listen_at, key, cert, count);
	if (!strcmp(argv[1], "ask") && conn)
		return client_handshake(conn, tls12, false) == 0 ? 0 : 1;
	return usage();
}
