/*
 * client.c: the ACME conversation (RFC 8555) under an order (order.c):
 * directory, nonces, JWS-signed requests with their badNonce retries, the
 * account, the CA's refusals as one line each, and the run's deadline
 * that bounds every wait. Blocking: nacred runs it on its ACME thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "acme/acme.h"
#include "nacred.h"

#define TIMEOUT_DEFAULT_S 300
#define REQUEST_MAX_MS 30000  /* one HTTP exchange */
#define BADNONCE_RETRIES 16   /* RFC 8555 6.5: badNonce is retryable */
#define POLL_BACKOFF_MAX_MS 8000 /* no Retry-After: back off up to this */
#define POLL_MIN_MS 200       /* never faster than this, whatever it says */
#define POLL_MAX_MS 60000     /* nor slower: the deadline bounds the sum */
#define ERR_PREFIX "urn:ietf:params:acme:error:"

struct nacre_acme_client {
	struct nacre_acme_http *http;
	char *directory_url;
	struct nacre_acme_directory dir;
	bool have_dir;
	EVP_PKEY *key;            /* the account key */
	uint8_t jkt[32];          /* its RFC 7638 thumbprint */
	char jkt_b64[44];
	char *kid;                /* the account URL, once registered */
	char nonce[256];          /* the next Replay-Nonce to spend, or "" */
	json_t *contact;          /* array of strings, or NULL */
	unsigned timeout_s;
	uint64_t deadline_ms;     /* CLOCK_MONOTONIC, of the run under way */
	int64_t retry_hint;
};

static void
sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
begin(struct nacre_acme_client *c)
{
	c->deadline_ms = nacre_mono_ms() + (uint64_t)c->timeout_s * 1000;
}

/* the time one request may take: what is left of the run, at most
 * REQUEST_MAX_MS; 0 when the run is out of time */
static uint64_t
request_ms(struct nacre_acme_client *c)
{
	uint64_t now = nacre_mono_ms();

	if (now >= c->deadline_ms)
		return 0;
	return c->deadline_ms - now < REQUEST_MAX_MS ? c->deadline_ms - now :
						       REQUEST_MAX_MS;
}

static int
out_of_time(struct nacre_acme_client *c, const char *what, char *err,
	    size_t errlen)
{
	nacre_seterr(err, errlen, "%s: gave up, the ACME run is past its "
		     "bound of %u s", what, c->timeout_s);
	return -1;
}

static json_t *
contact_list(const struct nacre_acme_config *cfg)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < cfg->ncontact; i++) {
		json_t *s = json_string(cfg->contact[i]);
		if (json_array_append_new(a, s) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

struct nacre_acme_client *
nacre_acme_client_new(const struct nacre_acme_config *cfg, char *err,
		      size_t errlen)
{
	struct nacre_acme_client *c;

	if (!cfg->directory || !nacre_acme_url_ok(cfg->directory)) {
		nacre_seterr(err, errlen, "the ACME directory must be an https "
			     "URL, e.g. https://acme-v02.api.letsencrypt.org/"
			     "directory");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		nacre_seterr(err, errlen, "out of memory");
		return NULL;
	}
	c->timeout_s = cfg->timeout_s ? cfg->timeout_s : TIMEOUT_DEFAULT_S;
	c->http = nacre_acme_http_new(cfg, err, errlen);
	if (!c->http)
		goto fail;
	c->contact = contact_list(cfg);
	if (!c->contact) {
		nacre_seterr(err, errlen, "an ACME contact is not valid UTF-8");
		goto fail;
	}
	c->directory_url = strdup(cfg->directory);
	c->key = nacre_acme_key_new();
	if (!c->directory_url || !c->key ||
	    nacre_acme_jwk_thumbprint(c->key, c->jkt) != 0) {
		nacre_seterr(err, errlen, "cannot generate the ACME account "
			     "key");
		goto fail;
	}
	nacre_acme_b64url(c->jkt, sizeof(c->jkt), c->jkt_b64,
			  sizeof(c->jkt_b64));
	return c;
fail:
	nacre_acme_client_free(c);
	return NULL;
}

void
nacre_acme_client_free(struct nacre_acme_client *c)
{
	if (!c)
		return;
	nacre_acme_http_free(c->http);
	nacre_acme_directory_clear(&c->dir);
	nacre_acme_key_free(c->key);
	json_decref(c->contact);
	free(c->directory_url);
	free(c->kid);
	free(c);
}

const char *
nacre_acme_account_url(const struct nacre_acme_client *c)
{
	return c->kid;
}

void
nacre_acme_thumbprint(const struct nacre_acme_client *c, uint8_t raw[32],
		      char b64[44])
{
	if (raw)
		memcpy(raw, c->jkt, sizeof(c->jkt));
	if (b64)
		memcpy(b64, c->jkt_b64, sizeof(c->jkt_b64));
}

int64_t
nacre_acme_retry_hint(const struct nacre_acme_client *c)
{
	return c->retry_hint;
}

static bool
is_problem(const char *type, const char *name)
{
	return strncmp(type, ERR_PREFIX, strlen(ERR_PREFIX)) == 0 &&
	       strcmp(type + strlen(ERR_PREFIX), name) == 0;
}

/* an answer that is not 2xx, as the error of WHAT */
static void
refused(struct nacre_acme_client *c, const char *what, const char *url,
	const struct nacre_acme_resp *r, char *err, size_t errlen)
{
	char type[128], text[NACRE_ERRLEN - 128];
	uint64_t s = 0;
	bool later = nacre_acme_retry_after(r->retry_after,
					    (int64_t)time(NULL), &s) == 0;

	nacre_acme_problem(r->body, r->len, r->status, type, sizeof(type),
			   text, sizeof(text));
	if (later)
		c->retry_hint = (int64_t)time(NULL) + (int64_t)s;
	if (is_problem(type, "rateLimited"))
		nacre_seterr(err, errlen, "%s: the CA's rate limit refused it: "
			     "%s; retry after %llu s", what, text,
			     (unsigned long long)(later ? s : 0));
	else
		nacre_seterr(err, errlen, "%s (%s): the CA refused: %s", what,
			     url, text);
}

static int
fetch_directory(struct nacre_acme_client *c, char *err, size_t errlen)
{
	struct nacre_acme_resp r;
	char derr[NACRE_ERRLEN - 64];
	int rc = -1;

	if (c->have_dir)
		return 0;
	if (nacre_acme_http_do(c->http, "GET", c->directory_url, NULL, NULL,
			       request_ms(c), &r, err, errlen) != 0)
		return -1;
	if (r.status != 200) {
		refused(c, "reading the ACME directory", c->directory_url, &r,
			err, errlen);
	} else if (nacre_acme_directory_parse(r.body, r.len, &c->dir, derr,
					      sizeof(derr)) != 0) {
		nacre_seterr(err, errlen, "%s: %s", c->directory_url, derr);
	} else {
		c->have_dir = true;
		rc = 0;
	}
	nacre_acme_resp_clear(&r);
	return rc;
}

static void
take_nonce(struct nacre_acme_client *c, const struct nacre_acme_resp *r)
{
	if (r->nonce[0])
		memcpy(c->nonce, r->nonce, sizeof(c->nonce));
}

static int
new_nonce(struct nacre_acme_client *c, char *err, size_t errlen)
{
	struct nacre_acme_resp r;
	int rc = 0;

	if (nacre_acme_http_do(c->http, "HEAD", c->dir.new_nonce, NULL, NULL,
			       request_ms(c), &r, err, errlen) != 0)
		return -1;
	take_nonce(c, &r);
	if (r.status != 200 && r.status != 204) {
		refused(c, "getting a nonce", c->dir.new_nonce, &r, err,
			errlen);
		rc = -1;
	} else if (!c->nonce[0]) {
		nacre_seterr(err, errlen, "the CA's newNonce (%s) answered "
			     "without a usable Replay-Nonce", c->dir.new_nonce);
		rc = -1;
	}
	nacre_acme_resp_clear(&r);
	return rc;
}

static int
post_once(struct nacre_acme_client *c, const char *url, const char *payload,
	  const char *accept, struct nacre_acme_resp *r, char *err,
	  size_t errlen)
{
	char *jws;
	int rc;

	if (!c->nonce[0] && new_nonce(c, err, errlen) != 0)
		return -1;
	jws = nacre_acme_jws(c->key, c->kid, c->nonce, url, payload, err,
			     errlen);
	if (!jws)
		return -1;
	c->nonce[0] = '\0'; /* spent, whatever happens next */
	rc = nacre_acme_http_do(c->http, "POST", url, jws, accept,
				request_ms(c), r, err, errlen);
	free(jws);
	if (rc == 0)
		take_nonce(c, r);
	return rc;
}

/* badNonce (RFC 8555 6.5) is retried with the fresh nonce its answer
 * carries, a bounded number of times */
int
nacre_acme_post(struct nacre_acme_client *c, const char *url,
		const char *payload, const char *accept, const char *what,
		struct nacre_acme_resp *r, char *err, size_t errlen)
{
	char type[128], text[8];

	for (int tries = 0;; tries++) {
		if (request_ms(c) == 0)
			return out_of_time(c, what, err, errlen);
		if (post_once(c, url, payload, accept, r, err, errlen) != 0)
			return -1;
		if (r->status >= 200 && r->status < 300)
			return 0;
		nacre_acme_problem(r->body, r->len, r->status, type,
				   sizeof(type), text, sizeof(text));
		if (!is_problem(type, "badNonce") || tries == BADNONCE_RETRIES)
			break;
		log_debug("acme: %s: badNonce, retrying with the CA's new "
			  "nonce", what);
		nacre_acme_resp_clear(r);
	}
	refused(c, what, url, r, err, errlen);
	nacre_acme_resp_clear(r);
	return -1;
}

/* POST with a payload built by jansson */
int
nacre_acme_post_json(struct nacre_acme_client *c, const char *url, json_t *p,
		     const char *what, struct nacre_acme_resp *r, char *err,
		     size_t errlen)
{
	char *s = p ? json_dumps(p, JSON_COMPACT) : NULL;
	int rc;

	json_decref(p);
	if (!s) {
		nacre_seterr(err, errlen, "%s: out of memory", what);
		return -1;
	}
	rc = nacre_acme_post(c, url, s, NULL, what, r, err, errlen);
	free(s);
	return rc;
}

static int
account_status(const struct nacre_acme_resp *r, char *err, size_t errlen)
{
	json_t *j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	const char *st = json_string_value(json_object_get(j, "status"));
	int rc = st && strcmp(st, "valid") == 0 ? 0 : -1;

	if (rc != 0)
		nacre_seterr(err, errlen, "the CA's account is not valid "
			     "(status %s)", st && strlen(st) < 16 ? st : "?");
	json_decref(j);
	return rc;
}

static int
register_account(struct nacre_acme_client *c, char *err, size_t errlen)
{
	static const char what[] = "creating the ACME account (newAccount)";
	struct nacre_acme_resp r;
	json_t *p;
	int rc = -1;

	if (c->kid)
		return 0;
	if (fetch_directory(c, err, errlen) != 0)
		return -1;
	p = json_pack("{s:b, s:O}", "termsOfServiceAgreed", 1, "contact",
		      c->contact);
	if (nacre_acme_post_json(c, c->dir.new_account, p, what, &r, err,
				 errlen) != 0)
		return -1;
	if (!r.location[0])
		nacre_seterr(err, errlen, "%s: the CA gave no https Location "
			     "for the account", what);
	else if (account_status(&r, err, errlen) == 0) {
		c->kid = strdup(r.location);
		rc = c->kid ? 0 : -1;
		if (rc != 0)
			nacre_seterr(err, errlen, "out of memory");
	}
	nacre_acme_resp_clear(&r);
	if (rc == 0)
		log_info("acme: account %s, key thumbprint %s", c->kid,
			 c->jkt_b64);
	return rc;
}

int
nacre_acme_account_register(struct nacre_acme_client *c, char *err,
			    size_t errlen)
{
	begin(c);
	return register_account(c, err, errlen);
}

const char *
nacre_acme_session(struct nacre_acme_client *c, char *err, size_t errlen)
{
	begin(c);
	if (register_account(c, err, errlen) != 0)
		return NULL;
	return c->dir.new_order;
}

/* a Retry-After outside 0.2 to 60 s is brought into it: the deadline
 * bounds the whole run, and a CA that says 0 is not polled flat out */
int
nacre_acme_pause(struct nacre_acme_client *c, const char *retry_after,
		 uint64_t *backoff, const char *what, char *err, size_t errlen)
{
	uint64_t wait = *backoff, s;

	if (nacre_acme_retry_after(retry_after, (int64_t)time(NULL), &s) == 0)
		wait = s > POLL_MAX_MS / 1000 ? POLL_MAX_MS : s * 1000;
	else
		*backoff = *backoff * 2 > POLL_BACKOFF_MAX_MS ?
				   POLL_BACKOFF_MAX_MS : *backoff * 2;
	if (wait < POLL_MIN_MS)
		wait = POLL_MIN_MS;
	if (nacre_mono_ms() + wait >= c->deadline_ms)
		return out_of_time(c, what, err, errlen);
	sleep_ms(wait);
	return 0;
}

int
nacre_acme_renewal_info(struct nacre_acme_client *c, X509 *leaf,
			struct nacre_acme_window *w, char *err, size_t errlen)
{
	begin(c);
	if (fetch_directory(c, err, errlen) != 0)
		return -1;
	if (!c->dir.renewal_info)
		return 0;
	return nacre_acme_ari_fetch(c->http, c->dir.renewal_info, leaf,
				    request_ms(c), w, err, errlen);
}

const char *
nacre_acme_ca_caa_identity(struct nacre_acme_client *c, char *err,
			   size_t errlen)
{
	begin(c);
	if (fetch_directory(c, err, errlen) != 0)
		return NULL;
	if (!c->dir.caa_identity)
		nacre_seterr(err, errlen, "the CA's directory %s names no "
			     "meta.caaIdentities; set acme.caa_identity to the "
			     "CA's CAA issuer domain", c->directory_url);
	return c->dir.caa_identity;
}
