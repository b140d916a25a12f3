/*
 * http.c: HTTPS to the CA with libcurl (a well-kept HTTP/1.1 + TLS client:
 * we write no HTTP ourselves). With `via`, every connection goes to that
 * hop (e.g. the parent instance of an enclave) instead of the CA's
 * address: a tcp socket we connect and hand to curl as already connected,
 * curl's own unix-socket support, or for vsock the relay of hop.c, which
 * curl reaches as an abstract unix socket; either way TLS runs end to end
 * with the CA, its host name used for SNI and verification, and the CA's
 * name is never looked up here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include "acme/acme.h"
#include "nacred.h"

#define CONNECT_TIMEOUT_MS 10000
/* through the relay, curl's connect phase (its TLS handshake included)
 * outlasts the relay's own bound on reaching the hop, so that the relay's
 * reason is what a failure reports */
#define RELAY_CONNECT_TIMEOUT_MS (NACRE_ACME_HOP_CONNECT_MS + 5000)
#define USER_AGENT "nacre/" NACRE_VERSION " (ACME; RFC 8555)"

struct nacre_acme_http {
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	char *ca_roots;
	bool has_via;
	struct nacre_addr via;
	char via_err[NACRE_ERRLEN]; /* why the hop refused, for the message */
	struct nacre_acme_hop *hop; /* the relay, for a vsock hop */
	struct curl_slist *resolve; /* host:port pinned so curl never looks
				     * the CA up itself when a hop is used */
	struct nacre_acme_resp *cur;
	bool too_big;
	void (*trace)(const char *, const char *, long, const char *, size_t,
		      void *);
	void *trace_arg;
};

void
nacre_acme_resp_clear(struct nacre_acme_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct nacre_acme_http *h = arg;
	struct nacre_acme_resp *r = h->cur;
	size_t len = size * n;
	char *b;

	if (len > NACRE_ACME_BODY_MAX - r->len) {
		h->too_big = true;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	b = realloc(r->body, r->len + len + 1);
	if (!b)
		return 0;
	memcpy(b + r->len, p, len);
	r->body = b;
	r->len += len;
	b[r->len] = '\0';
	return len;
}

/* the header's value without surrounding blanks, if it fits; else "" */
static void
header_value(const char *v, size_t n, char *out, size_t cap)
{
	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && strchr(" \t\r\n", v[n - 1]))
		n--;
	if (n >= cap || memchr(v, '\0', n)) {
		out[0] = '\0';
		return;
	}
	memcpy(out, v, n);
	out[n] = '\0';
}

static bool
nonce_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				  "qrstuvwxyz0123456789-_") == n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct nacre_acme_http *h = arg;
	struct nacre_acme_resp *r = h->cur;
	size_t len = size * n;
	const char *colon = memchr(p, ':', len);
	size_t name = colon ? (size_t)(colon - p) : 0;
	const char *v = colon ? colon + 1 : NULL;
	size_t vlen = colon ? len - name - 1 : 0;

	/* a new status line (after 1xx): only the last answer's headers */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		r->nonce[0] = r->location[0] = r->retry_after[0] = '\0';
		r->content_type[0] = '\0';
		return len;
	}
	if (!colon)
		return len;
	if (name == 12 && strncasecmp(p, "Replay-Nonce", 12) == 0) {
		header_value(v, vlen, r->nonce, sizeof(r->nonce));
		if (!nonce_ok(r->nonce))
			r->nonce[0] = '\0';
	} else if (name == 8 && strncasecmp(p, "Location", 8) == 0) {
		header_value(v, vlen, r->location, sizeof(r->location));
		if (!nacre_acme_url_ok(r->location))
			r->location[0] = '\0';
	} else if (name == 11 && strncasecmp(p, "Retry-After", 11) == 0) {
		header_value(v, vlen, r->retry_after, sizeof(r->retry_after));
	} else if (name == 12 && strncasecmp(p, "Content-Type", 12) == 0) {
		header_value(v, vlen, r->content_type, sizeof(r->content_type));
	}
	return len;
}

/* A connected socket to a tcp hop; curl does TLS over it. Connected
 * without blocking: libcurl 7.88 calls connect() on a socket
 * CURL_SOCKOPT_ALREADY_CONNECTED said was connected (curl issue #10626,
 * fixed in 8.0.0), and Linux answers 0 to that only while the socket's own
 * connect() was started non-blocking and has not been called again (a
 * connected vsock answers EISCONN: hence the relay for vsock). */
static int
connect_hop(struct nacre_acme_http *h)
{
	int fd = socket(h->via.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
			SOCK_NONBLOCK, 0);
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (fd < 0) {
		nacre_seterr(h->via_err, sizeof(h->via_err), "socket: %s",
			     strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&h->via.ss, h->via.sslen) != 0) {
		if (errno != EINPROGRESS) {
			soerr = errno;
		} else if (poll(&pfd, 1, CONNECT_TIMEOUT_MS) != 1) {
			soerr = ETIMEDOUT;
		} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
				      &sl) != 0) {
			soerr = errno;
		}
	}
	if (soerr != 0) {
		nacre_seterr(h->via_err, sizeof(h->via_err), "%s",
			     strerror(soerr));
		close(fd);
		return -1;
	}
	return fd;
}

static curl_socket_t
on_opensocket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct nacre_acme_http *h = arg;
	int fd;

	(void)addr; /* a placeholder: the hop is the only way out */
	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	fd = connect_hop(h);
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static int
on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	(void)arg, (void)fd, (void)purpose;
	return CURL_SOCKOPT_ALREADY_CONNECTED;
}

static int
setup(struct nacre_acme_http *h)
{
	CURL *c = h->curl;
	CURLcode e = CURLE_OK;

	e |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	e |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	e |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	e |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	e |= curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
			      (long)CURL_HTTP_VERSION_1_1);
	/* no proxy from the environment: the route to the CA is ours */
	e |= curl_easy_setopt(c, CURLOPT_PROXY, "");
	e |= curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
	e |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	e |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	e |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			      (long)CONNECT_TIMEOUT_MS);
	e |= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
			      (curl_off_t)NACRE_ACME_BODY_MAX);
	e |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	e |= curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	e |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	e |= curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	if (h->ca_roots) {
		/* the file's roots alone, not the system's as well */
		e |= curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_roots);
		e |= curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	if (h->hop) {
		/* curl connects the relay's abstract socket itself
		 * (CURLOPT_ABSTRACT_UNIX_SOCKET: libcurl 7.53 and later) */
		e |= curl_easy_setopt(c, CURLOPT_ABSTRACT_UNIX_SOCKET,
				      nacre_acme_hop_name(h->hop));
		e |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
				      (long)RELAY_CONNECT_TIMEOUT_MS);
		/* libcurl 7.88 reuses no connection to an abstract socket
		 * (its peer "address" is empty, which it takes for a name
		 * still being resolved): one kept connection at most, so
		 * that no more than two are open through the relay */
		e |= curl_easy_setopt(c, CURLOPT_MAXCONNECTS, 1L);
	} else if (h->has_via && h->via.kind == NACRE_ADDR_UNIX) {
		/* curl connects the path itself: a connected unix socket
		 * cannot survive 7.88's second connect() */
		const struct sockaddr_un *un = (const void *)&h->via.ss;
		e |= curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH,
				      un->sun_path);
	} else if (h->has_via) {
		e |= curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION,
				      on_opensocket);
		e |= curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, h);
		e |= curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
		e |= curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, h);
	}
	return e == CURLE_OK ? 0 : -1;
}

static int
check_ca_roots(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		nacre_seterr(err, errlen, "cannot read the ca_roots file %s: "
			     "%s", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

struct nacre_acme_http *
nacre_acme_http_new(const struct nacre_acme_config *cfg, char *err,
		    size_t errlen)
{
	struct nacre_acme_http *h = calloc(1, sizeof(*h));
	char aerr[NACRE_ERRLEN];

	if (!h || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		nacre_seterr(err, errlen, "cannot start libcurl");
		free(h);
		return NULL;
	}
	h->trace = cfg->trace;
	h->trace_arg = cfg->trace_arg;
	if (cfg->ca_roots && check_ca_roots(cfg->ca_roots, err, errlen) != 0)
		goto fail;
	if (cfg->ca_roots && !(h->ca_roots = strdup(cfg->ca_roots)))
		goto oom;
	if (cfg->via) {
		if (nacre_addr_parse(cfg->via, false, &h->via, aerr,
				     sizeof(aerr)) != 0) {
			nacre_seterr(err, errlen, "ACME via: %s", aerr);
			goto fail;
		}
		h->has_via = true;
		if (h->via.kind == NACRE_ADDR_VSOCK &&
		    !(h->hop = nacre_acme_hop_start(&h->via, err, errlen)))
			goto fail;
	}
	h->curl = curl_easy_init();
	if (!h->curl || setup(h) != 0)
		goto oom;
	return h;
oom:
	nacre_seterr(err, errlen, "cannot set up libcurl for the CA");
fail:
	nacre_acme_http_free(h);
	return NULL;
}

void
nacre_acme_http_free(struct nacre_acme_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl); /* closes its connections first */
	nacre_acme_hop_stop(h->hop);
	curl_slist_free_all(h->resolve);
	free(h->ca_roots);
	free(h);
	curl_global_cleanup();
}

static bool
ip_literal(const char *host)
{
	unsigned char buf[16];

	return host[0] == '[' || inet_pton(AF_INET, host, buf) == 1;
}

/* With a hop, curl must not resolve the CA's name (an enclave has no DNS):
 * pin HOST:PORT of URL to a placeholder address that on_opensocket
 * ignores. */
static int
pin_host(struct nacre_acme_http *h, const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, entry[300];
	int rc = -1;

	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		    CURLUE_OK)
		goto out;
	rc = 0;
	if (ip_literal(host))
		goto out;
	snprintf(entry, sizeof(entry), "%s:%s:127.0.0.1", host, port);
	curl_slist_free_all(h->resolve);
	h->resolve = curl_slist_append(NULL, entry);
	if (!h->resolve ||
	    curl_easy_setopt(h->curl, CURLOPT_RESOLVE, h->resolve) != CURLE_OK)
		rc = -1;
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

static int
set_method(CURL *c, const char *method, const char *body)
{
	CURLcode e = CURLE_OK;

	if (strcmp(method, "POST") == 0) {
		e |= curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
		e |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		e |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
				      (long)strlen(body));
		return e == CURLE_OK ? 0 : -1;
	}
	e |= curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	if (strcmp(method, "HEAD") == 0)
		e |= curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	return e == CURLE_OK ? 0 : -1;
}

static struct curl_slist *
request_headers(const char *method, const char *accept)
{
	struct curl_slist *l = NULL, *n;
	char a[160];

	/* no "Expect: 100-continue" round trip before a finalize body */
	if (!(l = curl_slist_append(NULL, "Expect:")))
		return NULL;
	if (strcmp(method, "POST") == 0) {
		n = curl_slist_append(l, "Content-Type: application/jose+json");
		if (!n)
			goto fail;
		l = n;
	}
	if (accept) {
		snprintf(a, sizeof(a), "Accept: %s", accept);
		if (!(n = curl_slist_append(l, a)))
			goto fail;
		l = n;
	}
	return l;
fail:
	curl_slist_free_all(l);
	return NULL;
}

/* curl's failure as a sentence that names the cause */
static void
transport_error(struct nacre_acme_http *h, CURLcode e, const char *method,
		const char *url, uint64_t timeout_ms, char *err, size_t errlen)
{
	const char *detail = h->errbuf[0] ? h->errbuf : curl_easy_strerror(e);
	long os_errno = 0;

	curl_easy_getinfo(h->curl, CURLINFO_OS_ERRNO, &os_errno);

	/* the relay closed curl's connection because the hop failed: curl
	 * saw no more than an end, the relay knows why */
	if (h->hop && nacre_acme_hop_failure(h->hop, h->via_err,
					     sizeof(h->via_err))) {
		nacre_seterr(err, errlen, "cannot connect to the CA through the "
			     "hop %s: %s", h->via.text, h->via_err);
		return;
	}
	switch (e) {
	case CURLE_PEER_FAILED_VERIFICATION:
		nacre_seterr(err, errlen, "the CA's certificate could not be "
			     "verified (%s) against the ca_roots file %s: %s",
			     url, h->ca_roots ? h->ca_roots :
			     "(none: the system's roots)", detail);
		return;
	case CURLE_SSL_CACERT_BADFILE:
		nacre_seterr(err, errlen, "cannot load the ca_roots file %s "
			     "(PEM certificates expected): %s",
			     h->ca_roots ? h->ca_roots : "(none)", detail);
		return;
	case CURLE_SSL_CONNECT_ERROR:
		nacre_seterr(err, errlen, "TLS handshake with the CA (%s) "
			     "failed: %s", url, detail);
		return;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		if (h->has_via)
			nacre_seterr(err, errlen, "cannot connect to the CA "
				     "through the hop %s: %s", h->via.text,
				     h->via_err[0] ? h->via_err :
				     os_errno ? strerror((int)os_errno) :
						detail);
		else
			nacre_seterr(err, errlen, "cannot connect to the CA "
				     "(%s): %s", url, detail);
		return;
	case CURLE_OPERATION_TIMEDOUT:
		nacre_seterr(err, errlen, "the CA did not answer %s %s within "
			     "%llu ms", method, url,
			     (unsigned long long)timeout_ms);
		return;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (h->too_big || e == CURLE_FILESIZE_EXCEEDED) {
			nacre_seterr(err, errlen, "the CA's answer to %s %s is "
				     "larger than %d bytes", method, url,
				     NACRE_ACME_BODY_MAX);
			return;
		}
		break;
	default:
		break;
	}
	nacre_seterr(err, errlen, "%s %s failed: %s", method, url, detail);
}

int
nacre_acme_http_do(struct nacre_acme_http *h, const char *method,
		   const char *url, const char *body, const char *accept,
		   uint64_t timeout_ms, struct nacre_acme_resp *r, char *err,
		   size_t errlen)
{
	struct curl_slist *hdrs = request_headers(method, accept);
	CURLcode e;

	memset(r, 0, sizeof(*r));
	h->cur = r;
	h->too_big = false;
	h->errbuf[0] = h->via_err[0] = '\0';
	if (h->hop)
		nacre_acme_hop_clear(h->hop);
	if (!hdrs || set_method(h->curl, method, body ? body : "") != 0 ||
	    (h->has_via && h->via.kind == NACRE_ADDR_TCP &&
	     pin_host(h, url) != 0) ||
	    curl_easy_setopt(h->curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS,
			     (long)(timeout_ms ? timeout_ms : 1)) != CURLE_OK) {
		curl_slist_free_all(hdrs);
		nacre_seterr(err, errlen, "cannot prepare %s %s", method, url);
		return -1;
	}
	e = curl_easy_perform(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	h->cur = NULL;
	if (e != CURLE_OK) {
		transport_error(h, e, method, url, timeout_ms, err, errlen);
		nacre_acme_resp_clear(r);
		return -1;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
	log_debug("acme: %s %s -> HTTP %ld, %zu bytes", method, url, r->status,
		  r->len);
	if (h->trace)
		h->trace(method, url, r->status, r->body, r->len, h->trace_arg);
	return 0;
}
