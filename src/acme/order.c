/*
 * order.c: one order (RFC 8555 7.4) from newOrder to the certificate
 * chain: each pending authorization answered by tls-alpn-01 (RFC 8737)
 * through the caller's publish/unpublish, finalize with a CSR for a key
 * born here, the chain downloaded and checked. The signed requests and
 * the bounds on every wait are client.c's.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "acme/acme.h"
#include "nacred.h"

#define POLL_FIRST_MS 250 /* no Retry-After: back off from here (client.c) */
#define PEM_CHAIN "application/pem-certificate-chain"

/* one name of an order being validated */
struct chall {
	char *authz_url;
	char *name;
	bool published;           /* its certificate is being served */
	bool done;                /* the CA found it valid */
};

static int
fetch_order(struct nacre_acme_client *c, const char *url,
	    struct nacre_acme_order *o, char *retry_after, char *err,
	    size_t errlen)
{
	struct nacre_acme_resp r;
	int rc;

	if (nacre_acme_post(c, url, "", NULL, "reading the order", &r, err,
			    errlen) != 0)
		return -1;
	rc = nacre_acme_order_parse(r.body, r.len, o, err, errlen);
	snprintf(retry_after, 64, "%s", r.retry_after);
	nacre_acme_resp_clear(&r);
	return rc;
}

static int
fetch_authz(struct nacre_acme_client *c, const char *url,
	    struct nacre_acme_authz *a, char *retry_after, char *err,
	    size_t errlen)
{
	struct nacre_acme_resp r;
	int rc;

	if (nacre_acme_post(c, url, "", NULL, "reading an authorization", &r,
			    err, errlen) != 0)
		return -1;
	rc = nacre_acme_authz_parse(r.body, r.len, a, err, errlen);
	snprintf(retry_after, 64, "%s", r.retry_after);
	nacre_acme_resp_clear(&r);
	return rc;
}

static bool
valid_names(const char *const *names, size_t n, char *err, size_t errlen)
{
	if (n == 0 || n > NACRE_ACME_MAX_NAMES) {
		nacre_seterr(err, errlen, "an ACME order needs 1 to %d names",
			     NACRE_ACME_MAX_NAMES);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char esc[80];
		nacre_escape(names[i], strlen(names[i]), esc, sizeof(esc));
		if (names[i][0] == '*') {
			nacre_seterr(err, errlen, "\"%s\": tls-alpn-01 cannot "
				     "validate a wildcard name", esc);
			return false;
		}
		if (!nacre_hostname_valid(names[i])) {
			nacre_seterr(err, errlen, "\"%s\" is not a DNS name an "
				     "ACME certificate can carry", esc);
			return false;
		}
	}
	return true;
}

static int
new_order(struct nacre_acme_client *c, const char *new_order_url,
	  const char *const *names, size_t n, const char *replaces,
	  struct nacre_acme_order *o, char **url, char *err, size_t errlen)
{
	json_t *ids = json_array(), *p;
	struct nacre_acme_resp r;
	int rc = -1;

	for (size_t i = 0; ids && i < n; i++)
		if (json_array_append_new(ids, json_pack("{s:s, s:s}", "type",
							 "dns", "value",
							 names[i])) != 0) {
			json_decref(ids);
			ids = NULL;
		}
	p = ids ? json_pack("{s:o}", "identifiers", ids) : NULL;
	/* RFC 9773 5: the certificate this order replaces */
	if (p && replaces &&
	    json_object_set_new(p, "replaces", json_string(replaces)) != 0) {
		json_decref(p);
		p = NULL;
	}
	if (nacre_acme_post_json(c, new_order_url, p, "placing the order "
				 "(newOrder)", &r, err, errlen) != 0)
		return -1;
	if (!r.location[0])
		nacre_seterr(err, errlen, "newOrder: the CA gave no https "
			     "Location for the order");
	else if (nacre_acme_order_parse(r.body, r.len, o, err, errlen) == 0) {
		*url = strdup(r.location);
		rc = *url ? 0 : -1;
		if (rc != 0) {
			nacre_acme_order_clear(o);
			nacre_seterr(err, errlen, "out of memory");
		}
	}
	nacre_acme_resp_clear(&r);
	return rc;
}

static bool
ours(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

/* SHA-256 over the key authorization, token "." thumbprint (RFC 8555
 * 8.1), which is what id-pe-acmeIdentifier carries (RFC 8737 3) */
static int
key_authz_digest(struct nacre_acme_client *c, const char *token,
		 uint8_t digest[32])
{
	char jkt[44], *ka;
	int ok;

	nacre_acme_thumbprint(c, NULL, jkt);
	if (asprintf(&ka, "%s.%s", token, jkt) < 0)
		return -1;
	ok = EVP_Digest(ka, strlen(ka), digest, NULL, EVP_sha256(), NULL);
	free(ka);
	return ok ? 0 : -1;
}

/* publishes the challenge certificate for A's name and tells the CA to
 * validate it */
static int
respond(struct nacre_acme_client *c, const struct nacre_acme_authz *a,
	struct chall *ch, nacre_acme_publish_fn publish, void *arg, char *err,
	size_t errlen)
{
	struct nacre_acme_resp r;
	uint8_t digest[32];

	if (key_authz_digest(c, a->chall_token, digest) != 0) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	if (publish(a->name, digest, arg) != 0) {
		nacre_seterr(err, errlen, "cannot serve the tls-alpn-01 "
			     "certificate for %s", a->name);
		return -1;
	}
	ch->published = true;
	if (nacre_acme_post(c, a->chall_url, "{}", NULL, "answering the "
			    "tls-alpn-01 challenge", &r, err, errlen) != 0)
		return -1;
	nacre_acme_resp_clear(&r);
	log_debug("acme: tls-alpn-01 for %s answered", a->name);
	return 0;
}

/* Reads one authorization of the order: valid already (nothing to do) or
 * pending with a tls-alpn-01 challenge, which we answer. */
static int
start_authz(struct nacre_acme_client *c, struct chall *ch,
	    const char *const *names, size_t n, nacre_acme_publish_fn publish,
	    void *arg, char *err, size_t errlen)
{
	struct nacre_acme_authz a;
	char ra[64];
	int rc = -1;

	if (fetch_authz(c, ch->authz_url, &a, ra, err, errlen) != 0)
		return -1;
	if (!ours(a.name, names, n)) {
		nacre_seterr(err, errlen, "the CA's order holds an "
			     "authorization for a name we did not ask for");
	} else if (a.status == NACRE_ACME_VALID) {
		rc = 0;
	} else if (a.status != NACRE_ACME_PENDING) {
		nacre_seterr(err, errlen, "the authorization for %s is %s, not "
			     "pending", a.name,
			     nacre_acme_status_str(a.status));
	} else if (!a.chall_url) {
		nacre_seterr(err, errlen, "the CA offers no tls-alpn-01 "
			     "challenge for %s", a.name);
	} else if (!(ch->name = strdup(a.name))) {
		nacre_seterr(err, errlen, "out of memory");
	} else {
		rc = respond(c, &a, ch, publish, arg, err, errlen);
	}
	nacre_acme_authz_clear(&a);
	return rc;
}

/* one answered authorization: 1 when valid, 0 while pending, -1 + err
 * when the CA found it invalid (and so the order) */
static int
authz_state(struct nacre_acme_client *c, struct chall *ch, char *ra,
	    char *err, size_t errlen)
{
	struct nacre_acme_authz a;
	enum nacre_acme_status st;

	if (fetch_authz(c, ch->authz_url, &a, ra, err, errlen) != 0)
		return -1;
	st = a.status;
	if (st != NACRE_ACME_VALID && st != NACRE_ACME_PENDING)
		nacre_seterr(err, errlen, "the CA could not validate %s by "
			     "tls-alpn-01 (the authorization is %s), so the "
			     "order is invalid: %s", ch->name,
			     nacre_acme_status_str(st),
			     a.error ? a.error : "no reason given");
	nacre_acme_authz_clear(&a);
	if (st == NACRE_ACME_VALID)
		ch->done = true;
	return st == NACRE_ACME_VALID ? 1 : st == NACRE_ACME_PENDING ? 0 : -1;
}

/* polls the answered authorizations until each is valid; one invalid
 * ends the order */
static int
await_authzs(struct nacre_acme_client *c, struct chall *ch, size_t n,
	     char *err, size_t errlen)
{
	uint64_t backoff = POLL_FIRST_MS;
	char ra[64] = "";

	for (;;) {
		size_t left = 0;
		for (size_t i = 0; i < n; i++) {
			if (!ch[i].published || ch[i].done)
				continue;
			int st = authz_state(c, &ch[i], ra, err, errlen);
			if (st < 0)
				return -1;
			left += st == 0;
		}
		if (left == 0)
			return 0;
		if (nacre_acme_pause(c, ra, &backoff, "waiting for tls-alpn-01 "
				     "validation", err, errlen) != 0)
			return -1;
	}
}

static void
unpublish_all(struct chall *ch, size_t n, nacre_acme_unpublish_fn unpublish,
	      void *arg)
{
	for (size_t i = 0; i < n; i++) {
		if (ch[i].published && unpublish)
			unpublish(ch[i].name, arg);
		ch[i].published = false;
		free(ch[i].name);
		ch[i].name = NULL;
	}
}

static int
validate(struct nacre_acme_client *c, const struct nacre_acme_order *o,
	 const char *const *names, size_t n, nacre_acme_publish_fn publish,
	 nacre_acme_unpublish_fn unpublish, void *arg, char *err,
	 size_t errlen)
{
	struct chall *ch = calloc(o->nauthz, sizeof(*ch));
	int rc = -1;

	if (!ch) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < o->nauthz; i++) {
		ch[i].authz_url = o->authz[i];
		if (start_authz(c, &ch[i], names, n, publish, arg, err,
				errlen) != 0)
			goto out;
	}
	rc = await_authzs(c, ch, o->nauthz, err, errlen);
out:
	unpublish_all(ch, o->nauthz, unpublish, arg);
	free(ch);
	return rc;
}

/* polls the order until it is WANT; pending, ready (still to process) and
 * processing mean wait */
static int
await_order(struct nacre_acme_client *c, const char *url,
	    enum nacre_acme_status want, struct nacre_acme_order *o,
	    char *err, size_t errlen)
{
	uint64_t backoff = POLL_FIRST_MS;
	char ra[64];

	for (;;) {
		if (fetch_order(c, url, o, ra, err, errlen) != 0)
			return -1;
		if (o->status == want)
			return 0;
		if (o->status == NACRE_ACME_INVALID) {
			nacre_seterr(err, errlen, "the CA made the order "
				     "invalid: %s", o->error ? o->error :
				     "no reason given");
			nacre_acme_order_clear(o);
			return -1;
		}
		if (o->status != NACRE_ACME_PENDING &&
		    o->status != NACRE_ACME_READY &&
		    o->status != NACRE_ACME_PROCESSING) {
			nacre_seterr(err, errlen, "the order is %s, not %s",
				     nacre_acme_status_str(o->status),
				     nacre_acme_status_str(want));
			nacre_acme_order_clear(o);
			return -1;
		}
		nacre_acme_order_clear(o);
		if (nacre_acme_pause(c, ra, &backoff, want == NACRE_ACME_READY ?
				     "waiting for the order to be ready" :
				     "waiting for the CA to issue", err,
				     errlen) != 0)
			return -1;
	}
}

static int
finalize(struct nacre_acme_client *c, const char *finalize_url,
	 EVP_PKEY *key, const char *const *names, size_t n, char *err,
	 size_t errlen)
{
	struct nacre_acme_resp r;
	uint8_t *der = NULL;
	size_t len, cap;
	char *b64;
	int rc;

	if (nacre_acme_csr(key, names, n, &der, &len) != 0) {
		nacre_seterr(err, errlen, "cannot build the CSR");
		return -1;
	}
	cap = len / 3 * 4 + 5;
	b64 = malloc(cap);
	if (!b64 || nacre_acme_b64url(der, len, b64, cap) == 0) {
		free(b64);
		OPENSSL_free(der);
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	OPENSSL_free(der);
	rc = nacre_acme_post_json(c, finalize_url,
				  json_pack("{s:s}", "csr", b64),
				  "finalizing the order", &r, err, errlen);
	free(b64);
	if (rc == 0)
		nacre_acme_resp_clear(&r);
	return rc;
}

static int
download(struct nacre_acme_client *c, const char *url, EVP_PKEY *key,
	 const char *const *names, size_t n, struct nacre_acme_cert **out,
	 char *err, size_t errlen)
{
	struct nacre_acme_cert *cert = calloc(1, sizeof(*cert));
	struct nacre_acme_resp r;
	int rc;

	if (!cert) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	if (nacre_acme_post(c, url, "", PEM_CHAIN, "downloading the "
			    "certificate", &r, err, errlen) != 0) {
		free(cert);
		return -1;
	}
	rc = r.body ? nacre_acme_chain_parse(r.body, r.len, key, names, n, cert,
					     err, errlen) : -1;
	if (!r.body)
		nacre_seterr(err, errlen, "the CA's certificate download (%s) "
			     "is empty", url);
	nacre_acme_resp_clear(&r);
	if (rc != 0) {
		free(cert);
		return -1;
	}
	cert->key = key;
	*out = cert;
	return 0;
}

/* after validation: finalize with a fresh key and fetch the chain */
static int
issue(struct nacre_acme_client *c, const char *order_url,
      const char *const *names, size_t n, struct nacre_acme_cert **out,
      char *err, size_t errlen)
{
	struct nacre_acme_order o;
	EVP_PKEY *key = NULL;
	int rc = -1;

	if (await_order(c, order_url, NACRE_ACME_READY, &o, err, errlen) != 0)
		return -1;
	key = nacre_acme_key_new();
	if (!key) {
		nacre_seterr(err, errlen, "cannot generate the certificate "
			     "key");
		goto out;
	}
	if (finalize(c, o.finalize, key, names, n, err, errlen) != 0)
		goto out;
	nacre_acme_order_clear(&o);
	if (await_order(c, order_url, NACRE_ACME_VALID, &o, err, errlen) != 0)
		goto out;
	if (!o.certificate) {
		nacre_seterr(err, errlen, "the CA's valid order has no "
			     "certificate URL");
		goto out;
	}
	if (download(c, o.certificate, key, names, n, out, err, errlen) == 0) {
		key = NULL; /* the certificate owns it now */
		rc = 0;
	}
out:
	nacre_acme_key_free(key);
	nacre_acme_order_clear(&o);
	return rc;
}

int
nacre_acme_obtain(struct nacre_acme_client *c, const char *const *names,
		  size_t n, nacre_acme_publish_fn publish,
		  nacre_acme_unpublish_fn unpublish, void *arg,
		  const char *replaces, struct nacre_acme_cert **out,
		  char *err, size_t errlen)
{
	struct nacre_acme_order o;
	const char *new_order_url;
	char *order_url = NULL;
	int rc = -1;

	*out = NULL;
	if (!valid_names(names, n, err, errlen))
		return -1;
	new_order_url = nacre_acme_session(c, err, errlen);
	if (!new_order_url ||
	    new_order(c, new_order_url, names, n, replaces, &o, &order_url,
		      err, errlen) != 0)
		return -1;
	if (o.status == NACRE_ACME_INVALID)
		nacre_seterr(err, errlen, "the CA made the new order invalid: "
			     "%s", o.error ? o.error : "no reason given");
	else if (validate(c, &o, names, n, publish, unpublish, arg, err,
			  errlen) == 0 &&
		 issue(c, order_url, names, n, out, err, errlen) == 0)
		rc = 0;
	nacre_acme_order_clear(&o);
	free(order_url);
	if (rc == 0)
		log_info("acme: certificate issued for %zu name%s (%s%s), "
			 "notAfter %lld", n, n == 1 ? "" : "s", names[0],
			 n == 1 ? "" : ", ...", (long long)(*out)->not_after);
	return rc;
}

