/*
 * acmeget.c: the ACME client of src/acme/ on its own, for tests against
 * Pebble: it answers tls-alpn-01 itself (a TLS listener that speaks only
 * ALPN "acme-tls/1" and picks the challenge certificate publish() installed
 * by SNI), obtains a certificate for the names and writes the chain to a
 * file. Test material only: the certificate's key stays in memory and dies
 * with the process.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "acme/acme.h"
#include "nacred.h"

struct published {
	char name[256];
	X509 *cert;
	EVP_PKEY *key;
};

static struct published pubs[NACRE_ACME_MAX_NAMES];
static pthread_mutex_t pubs_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool stopping;
static atomic_int served;
static int verbose;
static unsigned bad_nonces;
static unsigned docs_saved;
static const char *docs_dir;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: acmeget --directory URL --listen tcp:127.0.0.1:PORT "
	    "--out CHAIN.pem\n"
	    "               [--ca-roots FILE] [--via ADDR] [--contact URI] "
	    "[--timeout S]\n"
	    "               [--save-docs DIR] [--ari] [-v] NAME...\n"
	    "       acmeget --directory URL [--ca-roots FILE] [--via ADDR] "
	    "--renewal-info CERT.pem\n"
	    "ADDR: tcp:HOST:PORT, vsock:CID:PORT, unix:/path (a hop to the "
	    "CA)\n");
	exit(2);
}

/* ---- the tls-alpn-01 listener ---- */

static int
on_publish(const char *name, const uint8_t digest[32], void *arg)
{
	int rc = -1;

	(void)arg;
	pthread_mutex_lock(&pubs_lock);
	for (size_t i = 0; i < NACRE_ACME_MAX_NAMES; i++) {
		struct published *p = &pubs[i];
		if (p->cert || strlen(name) >= sizeof(p->name))
			continue;
		p->cert = nacre_acme_challenge_cert(name, digest, &p->key);
		if (p->cert) {
			snprintf(p->name, sizeof(p->name), "%s", name);
			rc = 0;
		}
		break;
	}
	pthread_mutex_unlock(&pubs_lock);
	if (verbose)
		fprintf(stderr, "acmeget: publish %s: %s\n", name,
			rc == 0 ? "ok" : "failed");
	return rc;
}

static void
on_unpublish(const char *name, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pubs_lock);
	for (size_t i = 0; i < NACRE_ACME_MAX_NAMES; i++) {
		struct published *p = &pubs[i];
		if (!p->cert || strcasecmp(p->name, name) != 0)
			continue;
		X509_free(p->cert);
		nacre_acme_key_free(p->key);
		memset(p, 0, sizeof(*p));
	}
	pthread_mutex_unlock(&pubs_lock);
	if (verbose)
		fprintf(stderr, "acmeget: unpublish %s\n", name);
}

/* SNI picks the challenge certificate; an unknown name gets none */
static int
on_servername(SSL *ssl, int *alert, void *arg)
{
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	int rc = SSL_TLSEXT_ERR_ALERT_FATAL;

	(void)arg;
	*alert = SSL_AD_UNRECOGNIZED_NAME;
	if (!sni)
		return rc;
	pthread_mutex_lock(&pubs_lock);
	for (size_t i = 0; i < NACRE_ACME_MAX_NAMES; i++) {
		struct published *p = &pubs[i];
		if (!p->cert || strcasecmp(p->name, sni) != 0)
			continue;
		if (SSL_use_certificate(ssl, p->cert) == 1 &&
		    SSL_use_PrivateKey(ssl, p->key) == 1)
			rc = SSL_TLSEXT_ERR_OK;
		break;
	}
	pthread_mutex_unlock(&pubs_lock);
	return rc;
}

/* ALPN exactly "acme-tls/1" (RFC 8737 3): anything else is no validation */
static int
on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
	const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x0a" NACRE_ACME_ALPN;
	unsigned char *sel;

	(void)ssl, (void)arg;
	if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static void
serve_one(SSL_CTX *ctx, int fd)
{
	struct timeval tv = { .tv_sec = 5 };
	SSL *ssl = SSL_new(ctx);

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (ssl && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
		const unsigned char *alpn;
		unsigned alen;
		SSL_get0_alpn_selected(ssl, &alpn, &alen);
		atomic_fetch_add(&served, 1);
		if (verbose)
			fprintf(stderr, "acmeget: served %.*s to SNI %s\n",
				(int)alen, alpn,
				SSL_get_servername(ssl,
						   TLSEXT_NAMETYPE_host_name));
		SSL_shutdown(ssl);
	} else if (verbose) {
		fprintf(stderr, "acmeget: a handshake failed\n");
	}
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
}

static void *
listener(void *arg)
{
	int lfd = *(int *)arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
	SSL_CTX_set_alpn_select_cb(ctx, on_alpn, NULL);
	while (!atomic_load(&stopping)) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		if (poll(&pfd, 1, 100) != 1)
			continue;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			serve_one(ctx, fd);
	}
	SSL_CTX_free(ctx);
	return NULL;
}

static int
listen_on(const char *text)
{
	struct nacre_addr a;
	char err[NACRE_ERRLEN];
	int one = 1, fd;

	if (nacre_addr_parse(text, true, &a, err, sizeof(err)) != 0 ||
	    a.kind != NACRE_ADDR_TCP) {
		fprintf(stderr, "acmeget: --listen: %s\n",
			a.kind != NACRE_ADDR_TCP ? "a tcp address" : err);
		return -1;
	}
	fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&a.ss, a.sslen) != 0 ||
	    listen(fd, 64) != 0) {
		fprintf(stderr, "acmeget: cannot listen on %s: %s\n", text,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* ---- what the CA said, kept for the fuzz corpus ---- */

static void
on_trace(const char *method, const char *url, long status, const char *body,
	 size_t len, void *arg)
{
	char path[4096];
	FILE *f;

	(void)arg;
	if (status == 400 && body && strstr(body, "badNonce"))
		bad_nonces++;
	if (verbose)
		fprintf(stderr, "acmeget: %s %s -> %ld (%zu bytes)\n", method,
			url, status, len);
	if (!docs_dir || !body || len == 0)
		return;
	snprintf(path, sizeof(path), "%s/%03u-%s-%ld", docs_dir, docs_saved++,
		 method, status);
	f = fopen(path, "w");
	if (f) {
		fwrite(body, 1, len, f);
		fclose(f);
	}
}

/* ---- main ---- */

struct opts {
	struct nacre_acme_config cfg;
	const char *listen, *out, *renewal_info;
	const char *contact[4];
	bool ari;
	char **names;
	size_t nnames;
};

static void
parse_args(int argc, char **argv, struct opts *o)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "-v") == 0) {
			verbose = 1;
			continue;
		}
		if (strcmp(a, "--ari") == 0) {
			o->ari = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (strcmp(a, "--directory") == 0)
			o->cfg.directory = v;
		else if (strcmp(a, "--ca-roots") == 0)
			o->cfg.ca_roots = v;
		else if (strcmp(a, "--via") == 0)
			o->cfg.via = v;
		else if (strcmp(a, "--contact") == 0 && o->cfg.ncontact < 4)
			o->contact[o->cfg.ncontact++] = v;
		else if (strcmp(a, "--timeout") == 0)
			o->cfg.timeout_s = (unsigned)atoi(v);
		else if (strcmp(a, "--listen") == 0)
			o->listen = v;
		else if (strcmp(a, "--out") == 0)
			o->out = v;
		else if (strcmp(a, "--save-docs") == 0)
			docs_dir = v;
		else if (strcmp(a, "--renewal-info") == 0)
			o->renewal_info = v;
		else
			usage();
	}
	o->names = argv + i;
	o->nnames = (size_t)(argc - i);
	o->cfg.contact = o->contact;
	o->cfg.trace = on_trace;
	if (!o->cfg.directory ||
	    (!o->renewal_info && (!o->listen || !o->out || !o->nnames)))
		usage();
}

static void
print_window(const struct nacre_acme_window *w)
{
	printf("ari window %" PRId64 " %" PRId64 " retry-after %" PRIu64
	       "%s%s\n", w->start, w->end, w->retry_after_s,
	       w->explanation[0] ? " explanation " : "", w->explanation);
}

static int
renewal_info(struct nacre_acme_client *c, X509 *leaf)
{
	struct nacre_acme_window w;
	char err[NACRE_ERRLEN];
	int rc = nacre_acme_renewal_info(c, leaf, &w, err, sizeof(err));

	if (rc < 0) {
		fprintf(stderr, "acmeget: %s\n", err);
		return -1;
	}
	if (rc == 0)
		printf("ari none: the CA offers no renewalInfo; renew at "
		       "notAfter - renew_before\n");
	else
		print_window(&w);
	return 0;
}

static int
renewal_info_of_file(struct nacre_acme_client *c, const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	int rc;

	if (f)
		fclose(f);
	if (!x) {
		fprintf(stderr, "acmeget: %s: no PEM certificate\n", path);
		return -1;
	}
	rc = renewal_info(c, x);
	X509_free(x);
	return rc;
}

static int
write_chain(const char *path, const struct nacre_acme_cert *cert)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(cert->chain_pem, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "acmeget: cannot write %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int
obtain(struct nacre_acme_client *c, struct opts *o)
{
	struct nacre_acme_cert *cert = NULL;
	char err[NACRE_ERRLEN], jkt[44];
	int rc;

	rc = nacre_acme_obtain(c, (const char *const *)o->names, o->nnames,
			       on_publish, on_unpublish, NULL, NULL, &cert, err,
			       sizeof(err));
	printf("bad-nonce answers %u\n", bad_nonces);
	printf("acme-tls/1 handshakes %d\n", atomic_load(&served));
	if (rc != 0) {
		fprintf(stderr, "acmeget: %s\n", err);
		return -1;
	}
	nacre_acme_thumbprint(c, NULL, jkt);
	printf("account %s\nthumbprint %s\n", nacre_acme_account_url(c), jkt);
	printf("chain %zu certificates, notAfter %" PRId64 "\n", cert->nchain,
	       cert->not_after);
	rc = write_chain(o->out, cert);
	if (rc == 0 && o->ari)
		rc = renewal_info(c, cert->chain[0]);
	nacre_acme_cert_free(cert);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct nacre_acme_client *c;
	char err[NACRE_ERRLEN];
	pthread_t th;
	int lfd = -1, rc;

	parse_args(argc, argv, &o);
	/* a validator that hangs up mid-handshake must not end us */
	signal(SIGPIPE, SIG_IGN);
	if (verbose)
		nacre_log_set_level(NACRE_LOG_DEBUG);
	c = nacre_acme_client_new(&o.cfg, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "acmeget: %s\n", err);
		return 1;
	}
	if (o.renewal_info) {
		rc = renewal_info_of_file(c, o.renewal_info);
		nacre_acme_client_free(c);
		return rc == 0 ? 0 : 1;
	}
	lfd = listen_on(o.listen);
	if (lfd < 0 || pthread_create(&th, NULL, listener, &lfd) != 0) {
		nacre_acme_client_free(c);
		return 1;
	}
	rc = obtain(c, &o);
	atomic_store(&stopping, true);
	pthread_join(th, NULL);
	close(lfd);
	nacre_acme_client_free(c);
	return rc == 0 ? 0 : 1;
}
