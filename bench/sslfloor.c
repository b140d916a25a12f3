/* sslfloor: what OpenSSL itself costs a TLS 1.3 server, without sockets.
 *
 *   sslfloor handshake N TICKETS PAD   server CPU per full handshake (us)
 *   sslfloor idle N TICKETS PAD        live heap per idle connection, and
 *                                      the allocation sites that hold it
 *
 * A server and a client SSL talk over a BIO pair in one thread. The server
 * has nacred's settings (TLS 1.3, X25519 first, ECDSA P-256, no session
 * cache, RELEASE_BUFFERS, read_ahead, TICKETS tickets); its certificate is
 * self-signed and carries a PAD-byte extension standing in for the
 * evidence (nacred's is about 4400 bytes). "handshake" sums
 * CLOCK_THREAD_CPUTIME_ID over the server's calls only (SSL_new,
 * SSL_accept, SSL_free). "idle" keeps N server connections after a
 * handshake and one request each, counting every live OpenSSL allocation by
 * file:line (CRYPTO_set_mem_functions); the BIO pair's buffer is the test's
 * and is listed too. Used for docs/performance.md.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- allocation sites ---- */
#define NSITES 4096
struct site {
	const char *file;
	int line;
	long allocs;
	long bytes;
};
static struct site sites[NSITES];
static int tracking;

struct hdr {
	const char *file;
	int line;
	size_t n;
	size_t pad; /* keeps the payload 16-byte aligned */
};

static void
site_add(const char *file, int line, long bytes)
{
	if (!tracking)
		return;
	for (int i = 0; i < NSITES; i++) {
		if (sites[i].file == file && sites[i].line == line) {
			sites[i].bytes += bytes;
			sites[i].allocs += bytes > 0 ? 1 : -1;
			return;
		}
		if (!sites[i].file) {
			sites[i] = (struct site){ file, line, bytes > 0 ? 1 : -1, bytes };
			return;
		}
	}
}

static void *
t_malloc(size_t n, const char *file, int line)
{
	struct hdr *h = malloc(n + sizeof(*h));

	if (!h)
		return NULL;
	*h = (struct hdr){ file, line, n, 0 };
	site_add(file, line, (long)n);
	return h + 1;
}

static void
t_free(void *p, const char *file, int line)
{
	struct hdr *h;

	(void)file;
	(void)line;
	if (!p)
		return;
	h = (struct hdr *)p - 1;
	site_add(h->file, h->line, -(long)h->n);
	free(h);
}

static void *
t_realloc(void *p, size_t n, const char *file, int line)
{
	struct hdr *h;

	if (!p)
		return t_malloc(n, file, line);
	h = (struct hdr *)p - 1;
	site_add(h->file, h->line, -(long)h->n);
	h = realloc(h, n + sizeof(*h));
	if (!h)
		return NULL;
	*h = (struct hdr){ file, line, n, 0 };
	site_add(file, line, (long)n);
	return h + 1;
}

static int
by_bytes(const void *a, const void *b)
{
	long x = ((const struct site *)a)->bytes, y = ((const struct site *)b)->bytes;

	return (x < y) - (x > y);
}

/* ---- TLS ---- */
static double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static SSL_CTX *
server_ctx(int tickets, int pad)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	SSL_CTX *s = SSL_CTX_new(TLS_server_method());
	X509_NAME *n;

	if (!k || !x || !s)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	if (pad > 0) {
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		unsigned char *zero = calloc(1, (size_t)pad);
		ASN1_OBJECT *o = OBJ_txt2obj("1.3.6.1.5.5.7.1.35", 1);
		X509_EXTENSION *e;

		ASN1_OCTET_STRING_set(os, zero, pad);
		e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		ASN1_OBJECT_free(o);
		ASN1_OCTET_STRING_free(os);
		free(zero);
	}
	X509_sign(x, k, EVP_sha256());
	SSL_CTX_use_certificate(s, x);
	SSL_CTX_use_PrivateKey(s, k);
	X509_free(x);
	EVP_PKEY_free(k);
	SSL_CTX_set_min_proto_version(s, TLS1_3_VERSION);
	SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				       SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
				    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_NO_AUTO_CHAIN);
	SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(s, (size_t)tickets);
	SSL_CTX_set_read_ahead(s, 1);
	SSL_CTX_set1_groups_list(s, "X25519:P-256:P-384");
	return s;
}

/* one connection: full handshake, a request and its answer; returns the
 * server SSL (NULL on failure) and adds the server's CPU to *srv */
static SSL *
one(SSL_CTX *sc, SSL_CTX *cc, double *srv)
{
	SSL *c = SSL_new(cc), *s;
	BIO *bc, *bs;
	double t0 = cpu_now();
	bool cdone = false, sdone = false;
	char buf[64];

	s = SSL_new(sc);
	*srv += cpu_now() - t0;
	if (!c || !s || !BIO_new_bio_pair(&bc, 0, &bs, 0))
		return NULL;
	SSL_set_bio(c, bc, bc);
	SSL_set_bio(s, bs, bs);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	for (int r = 0; r < 20 && !(cdone && sdone); r++) {
		if (!cdone && SSL_do_handshake(c) == 1)
			cdone = true;
		if (!sdone) {
			t0 = cpu_now();
			if (SSL_accept(s) == 1)
				sdone = true;
			*srv += cpu_now() - t0;
		}
	}
	if (!cdone || !sdone) {
		ERR_print_errors_fp(stderr);
		return NULL;
	}
	SSL_read(c, buf, 0); /* the tickets */
	SSL_write(c, "GET / HTTP/1.1\r\n\r\n", 18);
	t0 = cpu_now();
	SSL_read(s, buf, sizeof(buf));
	SSL_write(s, "HTTP/1.1 200 OK\r\n\r\n", 19);
	SSL_read(s, buf, sizeof(buf)); /* WANT_READ: idle from here */
	*srv += cpu_now() - t0;
	SSL_read(c, buf, sizeof(buf));
	SSL_free(c);
	return s;
}

int
main(int argc, char **argv)
{
	SSL_CTX *sc, *cc;
	SSL **keep;
	double srv = 0, dummy = 0;
	int n, tickets, pad;
	bool idle;

	if (argc != 5 || (strcmp(argv[1], "handshake") && strcmp(argv[1], "idle"))) {
		fprintf(stderr, "usage: sslfloor handshake|idle N TICKETS PAD\n");
		return 2;
	}
	idle = strcmp(argv[1], "idle") == 0;
	n = atoi(argv[2]);
	tickets = atoi(argv[3]);
	pad = atoi(argv[4]);
	if (n < 1 || tickets < 0 || pad < 0) {
		fprintf(stderr, "sslfloor: N >= 1, TICKETS >= 0, PAD >= 0\n");
		return 2;
	}
	if (idle && !CRYPTO_set_mem_functions(t_malloc, t_realloc, t_free)) {
		fprintf(stderr, "sslfloor: cannot hook OpenSSL's allocator\n");
		return 1;
	}
	sc = server_ctx(tickets, pad);
	cc = SSL_CTX_new(TLS_client_method());
	keep = calloc((size_t)n, sizeof(*keep));
	if (!sc || !cc || !keep)
		return 1;
	/* a first round warms caches and OpenSSL's lazily built tables */
	for (int i = 0; i < 50; i++) {
		SSL *s = one(sc, cc, &dummy);
		if (!s)
			return 1;
		SSL_free(s);
	}
	tracking = idle;
	for (int i = 0; i < n; i++) {
		SSL *s = one(sc, cc, &srv);
		if (!s)
			return 1;
		if (idle) {
			keep[i] = s;
		} else {
			double t0 = cpu_now();
			SSL_free(s);
			srv += cpu_now() - t0;
		}
	}
	tracking = 0;
	if (!idle) {
		printf("server CPU per full handshake: %.1f us (%d handshakes, "
		       "%d tickets, %d-byte extension)\n", srv * 1e6 / n, n, tickets, pad);
	} else {
		long total = 0;
		int nsites = 0;

		while (nsites < NSITES && sites[nsites].file)
			nsites++;
		qsort(sites, (size_t)nsites, sizeof(sites[0]), by_bytes);
		for (int i = 0; i < nsites; i++)
			total += sites[i].bytes;
		printf("live OpenSSL heap per idle connection: %.0f bytes (%d kept, "
		       "%d tickets, %d-byte extension); by site:\n",
		       (double)total / n, n, tickets, pad);
		{
			/* the in-memory BIO pair is this program's transport,
			 * not the connection's: what an SSL itself keeps once
			 * its handshake is done, which a proxy that keeps the
			 * SSL (OpenSSL's records) cannot go below */
			long bio = 0;
			for (int i = 0; i < nsites; i++)
				if (strstr(sites[i].file, "bss_bio.c"))
					bio += sites[i].bytes;
			printf("live OpenSSL heap per idle SSL, the BIO pair left "
			       "out: %.0f bytes\n", (double)(total - bio) / n);
		}
		for (int i = 0; i < nsites && sites[i].bytes > 0; i++)
			if (sites[i].bytes >= n * 32L)
				printf("  %7.0f B  %5.1f allocs  %s:%d\n",
				       (double)sites[i].bytes / n,
				       (double)sites[i].allocs / n, sites[i].file,
				       sites[i].line);
		for (int i = 0; i < n; i++)
			SSL_free(keep[i]);
	}
	free(keep);
	SSL_CTX_free(sc);
	SSL_CTX_free(cc);
	return 0;
}
