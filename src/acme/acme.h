/*
 * acme.h: what the rest of nacre may call of src/acme/: the CAA check
 * (RFC 8659, RFC 8657) and the ACME client (RFC 8555, RFC 8737 tls-alpn-01)
 * that obtains certificates whose keys and account are born in memory.
 * Each section below belongs to one file of the folder.
 */
#ifndef NACRE_ACME_H
#define NACRE_ACME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nacred.h" /* struct nacre_addr */

/* ---- serve.c, manager.c: nacred's side ---- */
struct ssl_st;
struct ssl_ctx_st;
struct nacre_config;
struct nacre_acme_claims;

/* serve.c: what the TLS listener serves for ACME. ACME certificates: an
 * immutable table (name -> server context) that each generation holds, so
 * the per-connection path takes no lock. Challenges (acme-tls/1): a
 * process-wide table behind a mutex, only looked at for handshakes that
 * offer acme-tls/1. */
struct nacre_acme_served;
/* OLD (may be NULL) with NAMES now served from CTX (a reference is taken);
 * NULL when out of memory */
struct nacre_acme_served *nacre_acme_served_with(
	const struct nacre_acme_served *old, const char *const *names,
	size_t n, struct ssl_ctx_st *ctx);
void nacre_acme_served_ref(struct nacre_acme_served *s);
void nacre_acme_served_unref(struct nacre_acme_served *s);
/* the context for SNI NAME (no reference taken), or NULL */
struct ssl_ctx_st *nacre_acme_served_find(const struct nacre_acme_served *s,
					  const char *name);
/* the SHA-256 of each served certificate's key, for the claims */
size_t nacre_acme_served_key_hashes(const struct nacre_acme_served *s,
				    uint8_t (*out)[32], size_t max);
int nacre_acme_challenge_publish(const char *name, const uint8_t digest[32]);
void nacre_acme_challenge_unpublish(const char *name);
/* a reference to the challenge context for NAME, or NULL */
struct ssl_ctx_st *nacre_acme_challenge_find(const char *name);

/* manager.c: the ACME thread. It registers the account, checks CAA before
 * each order, obtains and renews the certificates of cfg->acme.domains,
 * and hands each result to the main thread through NOTIFY_FD (one byte
 * per event); nacre_acme_take() then gives what is new. */
struct nacre_acme_manager;
struct nacre_acme_manager *nacre_acme_start(const struct nacre_config *cfg,
					    int notify_fd, char *err,
					    size_t errlen);
/* stops the thread; false when it is still inside an exchange with the
 * CA after 2 s (then M stays in use: the caller must end the process) */
bool nacre_acme_stop(struct nacre_acme_manager *m);
struct nacre_acme_result {
	const char *const *names;       /* the domain group (in CFG) */
	size_t nnames;
	struct nacre_acme_cert *cert;   /* owned by the taker */
	unsigned long group;            /* for nacre_acme_retry */
	struct nacre_config *cfg;       /* a reference, for NAMES */
};
/* the account (claims: URL and thumbprint) once registered: true when it
 * changed since the last call */
bool nacre_acme_account(struct nacre_acme_manager *m,
			struct nacre_acme_claims *claims);
/* the next certificate obtained, or false; the taker ends it with
 * nacre_acme_result_done() */
bool nacre_acme_take(struct nacre_acme_manager *m, struct nacre_acme_result *r);
void nacre_acme_result_done(struct nacre_acme_result *r);
/* R's certificate could not be put in service: order it again, with
 * backoff (the manager had scheduled it for renewal only) */
void nacre_acme_retry(struct nacre_acme_manager *m,
		      const struct nacre_acme_result *r);
/* a reload: the thread takes CFG's domains, renew_before, require_caa,
 * caa_identity and resolver at its next turn (a reference is taken).
 * Groups with the same names keep their certificate. The account stays:
 * false when CFG names another (directory, ca_roots, via, contact), which
 * only a restart, with a new account and new CAA records, applies. */
bool nacre_acme_reconfigure(struct nacre_acme_manager *m,
			    const struct nacre_config *cfg);
/* each domain group's state, for the admin endpoint */
struct nacre_acme_group_state {
	char name[254];         /* the group's first name */
	int caa;                /* -1 not checked, 0 not pinned, 1 pinned */
	int64_t not_after;      /* of the certificate in service; 0: none */
	int64_t next_attempt;   /* Unix time of the next order attempt */
	unsigned failures;      /* attempts failed in a row */
};
/* up to MAX groups into OUT; *REGISTERED: the account exists */
size_t nacre_acme_groups(struct nacre_acme_manager *m,
			 struct nacre_acme_group_state *out, size_t max,
			 bool *registered);
/* calls FN for each name SERVED serves, with its certificate's notAfter */
void nacre_acme_served_each(const struct nacre_acme_served *served,
			    void (*fn)(const char *name, int64_t not_after,
				       void *arg), void *arg);
/* SERVED without the names CFG no longer configures (a new table; NULL
 * when out of memory) */
struct nacre_acme_served *nacre_acme_served_only(
	const struct nacre_acme_served *served, const struct nacre_config *cfg);
/* whether CFG's acme.domains list NAME */
bool nacre_acme_configured(const struct nacre_config *cfg, const char *name);
/* ---- end serve.c, manager.c ---- */

/* ---- caa.c ---- */
/*
 * Before every order nacred asks: does the relevant CAA record set of the
 * name (RFC 8659 section 3) let our CA issue to our account only, and only
 * by tls-alpn-01 (RFC 8657)? DNS failures fail closed (NACRE_CAA_ERROR).
 */
#define NACRE_CAA_METHOD "tls-alpn-01"   /* the only method nacred answers */
#define NACRE_CAA_MAX_RECORDS 32  /* in one record set; more: an error */
#define NACRE_CAA_MAX_CNAMES 8    /* CNAMEs followed in one answer */
#define NACRE_CAA_MAX_CLIMB 32    /* names queried, the FQDN up to its TLD */
#define NACRE_CAA_TEXT_MAX 640    /* a record or a reason, escaped */
#define NACRE_CAA_NAME_MAX 256

enum nacre_caa_verdict {
	NACRE_CAA_PINNED,           /* only our CA, our account, tls-alpn-01 */
	NACRE_CAA_OPEN_ANY_ACCOUNT, /* our CA may also issue to other accounts
				     * or by other methods */
	NACRE_CAA_OPEN_ANY_CA,      /* no restriction, or other CAs allowed */
	NACRE_CAA_BLOCKED,          /* we may not issue */
	NACRE_CAA_ERROR,            /* no usable answer: do not order */
};

struct nacre_caa_query {
	const char *name;        /* "app.example.com" or "*.example.com" */
	const char *ca;          /* our CA's issuer-domain-name */
	const char *account_uri; /* our ACME account URL; NULL: none yet */
	/* the accounts of the other replicas of this service: records naming
	 * them are siblings' pins, not another account's opening */
	const char *const *peer_accounts;
	size_t npeer_accounts;
	const char *method;      /* NULL: NACRE_CAA_METHOD */
	const char *resolver;    /* tcp:HOST:PORT, vsock:CID:PORT, udp:HOST:PORT */
	uint64_t timeout_ms;     /* each query; 0: 5 s */
	uint64_t total_ms;       /* the whole climb; 0: 20 s */
};

/* One CAA record as it came off the wire (pointing into its owner). */
struct nacre_caa_rr {
	uint8_t flags;
	const uint8_t *tag;
	size_t tag_len;
	const uint8_t *value;
	size_t value_len;
};

struct nacre_caa_result {
	enum nacre_caa_verdict verdict;
	char reason[NACRE_CAA_TEXT_MAX];     /* "blocked: unknown critical ..." */
	char found_at[NACRE_CAA_NAME_MAX];   /* name whose query gave the set */
	char alias[NACRE_CAA_NAME_MAX];      /* its CNAME chain's end, or "" */
	char publish_at[NACRE_CAA_NAME_MAX]; /* where the fixing records go */
	size_t nrecords;                     /* the relevant set, escaped: */
	char records[NACRE_CAA_MAX_RECORDS][NACRE_CAA_TEXT_MAX];
	unsigned queries;                    /* DNS queries made */
};

/* "pinned", "open-any-account", "open-any-ca", "blocked", "error" */
const char *nacre_caa_verdict_name(enum nacre_caa_verdict v);

/* Climbs from Q->name towards the root through Q->resolver and judges
 * the first non-empty CAA set. 0 with R's verdict, or -1 with err (also in
 * R->reason, R->verdict NACRE_CAA_ERROR): bad query, or no usable DNS
 * answer (refused, timed out, SERVFAIL, malformed, mismatched). */
int nacre_caa_check(const struct nacre_caa_query *q,
		    struct nacre_caa_result *r, char *err, size_t errlen);

/* The pure parts, without a network (unit tests, fuzzing): */
/* The verdict for the relevant set RRS[0..N) (N == 0: no CAA at all)
 * for Q's name, CA, account and method; fills R's verdict and reason. */
void nacre_caa_evaluate(const struct nacre_caa_rr *rrs, size_t n,
			const struct nacre_caa_query *q,
			struct nacre_caa_result *r);
/* One DNS answer WIRE[0..LEN) to our CAA query for QNAME with ID. 1: it
 * holds the relevant set (R: verdict, records, found_at, alias); 0: empty
 * (NODATA or NXDOMAIN: climb; R->alias set if a chain was followed); -1:
 * unusable (err; R->verdict NACRE_CAA_ERROR). */
int nacre_caa_eval_answer(const uint8_t *wire, size_t len, const char *qname,
			  uint16_t id, const struct nacre_caa_query *q,
			  struct nacre_caa_result *r, char *err, size_t errlen);

/* The records that pin NAME to CA, ACCOUNT_URI and tls-alpn-01, one per
 * line in zone-file form, owned by AT (NULL: NAME without "*."; a CNAME's
 * target when NAME is an alias). 0, or -1 with err naming the argument the
 * records cannot carry. */
int nacre_caa_fix_records(const char *name, const char *at, const char *ca,
			  const char *account_uri, char *out, size_t outlen,
			  char *err, size_t errlen);

/* "tcp:ADDR:53" for the first nameserver of /etc/resolv.conf. 0, or -1. */
int nacre_caa_default_resolver(char *out, size_t outlen, char *err,
			       size_t errlen);
/* dns.c: the queries' transport (the CAA check's own) */
#define NACRE_DNS_MAX 65535  /* a TCP answer's 2-byte length allows no more */
struct nacre_dns_resolver {
	struct nacre_addr addr;
	bool udp;            /* UDP first, TCP when the answer is truncated */
};
/* tcp:HOST:PORT, vsock:CID:PORT or udp:HOST:PORT; 0 or -1 + err */
int nacre_dns_resolver_parse(const char *s, struct nacre_dns_resolver *rs,
			     char *err, size_t errlen);
/* a CAA query for QNAME with ID, its answer into ANS (NACRE_DNS_MAX bytes)
 * before DEADLINE (nacre_mono_ms); 0 or -1 + err */
int nacre_dns_exchange(const struct nacre_dns_resolver *rs, const char *qname,
		       uint16_t id, uint64_t deadline, uint8_t *ans,
		       size_t *alen, char *err, size_t errlen);
/* ---- end caa.c ---- */

/* ---- jws.c, client.c, challenge.c ---- */
/*
 * The ACME client (RFC 8555) answering tls-alpn-01 (RFC 8737). Blocking and
 * synchronous: it runs on nacred's ACME thread, never on a data-path event
 * loop. Every key it makes (account, certificate, challenge) is generated
 * in memory and never written anywhere; OpenSSL clears an EC private key
 * when it is freed. Files: jws.c (base64url, JWK, thumbprint, ES256 JWS),
 * doc.c (the CA's JSON documents, problems, Retry-After), http.c (libcurl,
 * the `via` hop), client.c (account, nonces, signed requests, deadline),
 * order.c (order, challenges, finalize), csr.c (certificate key, CSR,
 * chain), challenge.c (the acme-tls/1 certificate), ari.c (RFC 9773).
 */
struct evp_pkey_st;
struct x509_st;

#define NACRE_ACME_URL_MAX 2048            /* = NACRE_CLAIMS_URL_MAX */
#define NACRE_ACME_BODY_MAX (1024 * 1024)  /* larger answers are refused */
#define NACRE_ACME_ALPN "acme-tls/1"       /* RFC 8737 6.2 */
#define NACRE_ACME_MAX_NAMES 100

struct nacre_acme_config {
	const char *directory; /* https URL of the CA's directory */
	const char *ca_roots;  /* PEM file, the only roots trusted for the
				* CA's HTTPS; NULL: the system's roots */
	const char *via;       /* NULL, or the hop every connection to the CA
				* goes through: tcp:HOST:PORT, vsock:CID:PORT,
				* unix:/path (TLS stays end to end) */
	const char *const *contact; /* e.g. "mailto:ops@example.com" */
	size_t ncontact;
	unsigned timeout_s;    /* bound on one register/obtain; 0: 300 s */
	/* optional: every answer of the CA as received (tests keep them) */
	void (*trace)(const char *method, const char *url, long status,
		      const char *body, size_t len, void *arg);
	void *trace_arg;
};

/* publish: serve the acme-tls/1 certificate for NAME whose
 * id-pe-acmeIdentifier is DIGEST (see nacre_acme_challenge_cert); 0, or -1
 * to give up the order. unpublish: stop serving it. */
typedef int (*nacre_acme_publish_fn)(const char *name,
				     const uint8_t digest[32], void *arg);
typedef void (*nacre_acme_unpublish_fn)(const char *name, void *arg);

struct nacre_acme_cert {
	char *chain_pem;         /* as the CA sent it, leaf first */
	struct x509_st **chain;  /* parsed; chain[0] is the leaf */
	size_t nchain;
	struct evp_pkey_st *key; /* the leaf's key, made here, memory only */
	int64_t not_before, not_after; /* the leaf's, Unix time */
};

struct nacre_acme_client;

/* Checks the configuration (directory URL, ca_roots readable, via) and
 * generates the account key; no network yet. NULL + err on failure. */
struct nacre_acme_client *nacre_acme_client_new(
	const struct nacre_acme_config *cfg, char *err, size_t errlen);
void nacre_acme_client_free(struct nacre_acme_client *c);
/* newAccount (termsOfServiceAgreed, contact): the account URL (kid).
 * Called by nacre_acme_obtain when not done yet. 0 or -1 + err. */
int nacre_acme_account_register(struct nacre_acme_client *c, char *err,
				size_t errlen);
/* NULL until registered */
const char *nacre_acme_account_url(const struct nacre_acme_client *c);
/* the account key's RFC 7638 thumbprint: raw (the "acme-jkt" claim) and
 * base64url (43 characters and a NUL); either may be NULL */
void nacre_acme_thumbprint(const struct nacre_acme_client *c,
			   uint8_t raw[32], char b64[44]);
/* newOrder for NAMES (DNS names, no wildcards), tls-alpn-01 for each
 * pending authorization through PUBLISH/UNPUBLISH (every published name is
 * unpublished before this returns), finalize with a CSR for a fresh P-256
 * key, download the chain. REPLACES: NULL, or the RFC 9773 certificate
 * identifier of the certificate this one renews (only for a CA that
 * offers renewalInfo). 0 and *OUT, or -1 + err naming the step and the
 * CA's problem. */
int nacre_acme_obtain(struct nacre_acme_client *c, const char *const *names,
		      size_t n, nacre_acme_publish_fn publish,
		      nacre_acme_unpublish_fn unpublish, void *arg,
		      const char *replaces, struct nacre_acme_cert **out,
		      char *err, size_t errlen);
void nacre_acme_cert_free(struct nacre_acme_cert *cert);
/* when the CA last refused with a Retry-After (rateLimited, 503): the
 * Unix time it asked us to wait for; 0 if it did not */
int64_t nacre_acme_retry_hint(const struct nacre_acme_client *c);

/* the CA's CAA issuer domain from its directory's meta.caaIdentities
 * (RFC 8555 7.1.1), or NULL + err (none named, or no directory) */
const char *nacre_acme_ca_caa_identity(struct nacre_acme_client *c,
				       char *err, size_t errlen);

/* RFC 9773: the CA's suggested renewal window for a certificate */
struct nacre_acme_window {
	int64_t start, end;      /* Unix time; renew at a random time in it */
	uint64_t retry_after_s;  /* ask again after this long */
	char explanation[NACRE_ACME_URL_MAX + 1]; /* explanationURL or "" */
};
/* 1: *W filled; 0: the CA offers no renewalInfo (renew at notAfter -
 * renew_before); -1 + err */
int nacre_acme_renewal_info(struct nacre_acme_client *c,
			    struct x509_st *leaf, struct nacre_acme_window *w,
			    char *err, size_t errlen);

/* challenge.c: RFC 8737 3: self-signed by a fresh key (*KEY_OUT), SAN =
 * NAME only, critical id-pe-acmeIdentifier = OCTET STRING (DIGEST), where
 * DIGEST = SHA-256(key authorization). NULL when out of memory. */
struct x509_st *nacre_acme_challenge_cert(const char *name,
					  const uint8_t digest[32],
					  struct evp_pkey_st **key_out);

/* -- below: the parts the files above share, and what the unit tests and
 * fuzz_acme_json reach; the rest of nacred has no need of them -- */

/* jws.c */
/* base64url without padding; out needs 4 * ceil(n / 3) + 1 bytes (less
 * suffices, but cap is checked). Returns the length, 0 if cap is short. */
size_t nacre_acme_b64url(const uint8_t *p, size_t n, char *out, size_t cap);
/* strict: the alphabet only, no padding, zero trailing bits. 0 or -1 */
int nacre_acme_b64url_decode(const char *s, size_t len, uint8_t *out,
			     size_t cap, size_t *outlen);
struct evp_pkey_st *nacre_acme_key_new(void); /* P-256, memory only */
void nacre_acme_key_free(struct evp_pkey_st *key);
/* {"crv":"P-256","kty":"EC","x":"…","y":"…"}: RFC 7638 canonical form,
 * malloc'd; NULL if not a P-256 key */
char *nacre_acme_jwk(struct evp_pkey_st *key);
int nacre_acme_jwk_thumbprint(struct evp_pkey_st *key, uint8_t out[32]);
/* Flattened JSON JWS (RFC 8555 6.2): protected {alg ES256, nonce, url,
 * kid, or jwk when KID is NULL}; PAYLOAD "" makes a POST-as-GET. */
char *nacre_acme_jws(struct evp_pkey_st *key, const char *kid,
		     const char *nonce, const char *url, const char *payload,
		     char *err, size_t errlen);

/* doc.c: the CA's documents; server strings are checked or escaped */
enum nacre_acme_status {
	NACRE_ACME_UNKNOWN, NACRE_ACME_PENDING, NACRE_ACME_READY,
	NACRE_ACME_PROCESSING, NACRE_ACME_VALID, NACRE_ACME_INVALID,
	NACRE_ACME_EXPIRED, NACRE_ACME_DEACTIVATED, NACRE_ACME_REVOKED
};
const char *nacre_acme_status_str(enum nacre_acme_status s);

struct nacre_acme_directory {
	char *new_nonce, *new_account, *new_order;
	char *renewal_info; /* RFC 9773; NULL when not offered */
	char *caa_identity; /* the first usable meta.caaIdentities, or NULL */
};
struct nacre_acme_order {
	enum nacre_acme_status status;
	char **authz;       /* authorization URLs */
	size_t nauthz;
	char *finalize;
	char *certificate;  /* NULL until valid */
	char *error;        /* its problem as one line, or NULL */
};
struct nacre_acme_authz {
	enum nacre_acme_status status;
	char *name;         /* identifier (type dns) */
	enum nacre_acme_status chall_status; /* of its tls-alpn-01 */
	char *chall_url;    /* NULL: no tls-alpn-01 challenge offered */
	char *chall_token;  /* base64url characters only */
	char *error;        /* the challenge's problem as one line, or NULL */
};
/* every URL kept is https, at most NACRE_ACME_URL_MAX printable bytes */
bool nacre_acme_url_ok(const char *s);
int nacre_acme_directory_parse(const char *json, size_t len,
			       struct nacre_acme_directory *d, char *err,
			       size_t errlen);
void nacre_acme_directory_clear(struct nacre_acme_directory *d);
int nacre_acme_order_parse(const char *json, size_t len,
			   struct nacre_acme_order *o, char *err,
			   size_t errlen);
void nacre_acme_order_clear(struct nacre_acme_order *o);
int nacre_acme_authz_parse(const char *json, size_t len,
			   struct nacre_acme_authz *a, char *err,
			   size_t errlen);
void nacre_acme_authz_clear(struct nacre_acme_authz *a);
/* application/problem+json (RFC 7807, RFC 8555 6.7) as one line: "TYPE:
 * DETAIL (HTTP STATUS)", then up to 3 subproblems, server text escaped.
 * TYPE gets the raw type when printable (else ""). 0 when BODY is a
 * problem document; -1 otherwise (TEXT then says what came instead). */
int nacre_acme_problem(const char *body, size_t len, long http_status,
		       char *type, size_t typecap, char *text,
		       size_t textcap);
/* Retry-After (RFC 9110 10.2.3): delta-seconds or IMF-fixdate, as seconds
 * from NOW (0 for a past date); 0, or -1 for anything else */
int nacre_acme_retry_after(const char *value, int64_t now, uint64_t *secs);
/* RFC 3339 date-time to Unix time; 0 or -1 */
int nacre_acme_rfc3339(const char *s, int64_t *out);
/* a renewalInfo answer (RFC 9773 4.2); retry_after_s is left as it is */
int nacre_acme_window_parse(const char *json, size_t len,
			    struct nacre_acme_window *w, char *err,
			    size_t errlen);

/* http.c: one libcurl handle; every answer bounded */
struct nacre_acme_http;
struct nacre_acme_resp {
	long status;
	char *body;          /* NUL-terminated; NULL when empty */
	size_t len;
	char nonce[256];     /* Replay-Nonce, base64url, or "" */
	char location[NACRE_ACME_URL_MAX + 1]; /* an https URL, or "" */
	char retry_after[64];
	char content_type[128];
};
struct nacre_acme_http *nacre_acme_http_new(
	const struct nacre_acme_config *cfg, char *err, size_t errlen);
void nacre_acme_http_free(struct nacre_acme_http *h);
/* METHOD "GET", "HEAD" or "POST" (BODY: a JWS); ACCEPT may be NULL;
 * TIMEOUT_MS bounds the whole exchange. 0 once any HTTP answer came (see
 * r->status), -1 + err when none did (TLS, connection, size, time). */
int nacre_acme_http_do(struct nacre_acme_http *h, const char *method,
		       const char *url, const char *body, const char *accept,
		       uint64_t timeout_ms, struct nacre_acme_resp *r,
		       char *err, size_t errlen);
void nacre_acme_resp_clear(struct nacre_acme_resp *r);

/* hop.c: the relay http.c hands curl for a vsock hop (curl connects unix
 * sockets itself, on every version). A thread accepts on an abstract unix
 * socket with a random name, from this process only, and copies bytes
 * (TLS records: ciphertext only) to a vsock connection to VIA each. */
#define NACRE_ACME_HOP_PAIRS 4          /* connections relayed at once */
#define NACRE_ACME_HOP_BUF 16384        /* each way, each connection */
#define NACRE_ACME_HOP_CONNECT_MS 10000 /* bound on reaching the hop */
struct nacre_acme_hop;
/* listening and its thread started, or NULL + err */
struct nacre_acme_hop *nacre_acme_hop_start(const struct nacre_addr *via,
					    char *err, size_t errlen);
/* the abstract socket's name (without the leading NUL), for
 * CURLOPT_ABSTRACT_UNIX_SOCKET */
const char *nacre_acme_hop_name(const struct nacre_acme_hop *hop);
/* forget the last failure (before a request) */
void nacre_acme_hop_clear(struct nacre_acme_hop *hop);
/* true + OUT: why the hop could not be reached since the last clear */
bool nacre_acme_hop_failure(struct nacre_acme_hop *hop, char *out,
			    size_t outlen);
/* wakes the thread, joins it, closes everything; HOP may be NULL */
void nacre_acme_hop_stop(struct nacre_acme_hop *hop);

/* client.c, for order.c: a run of signed requests */
/* starts a run (its deadline) with the account registered: the
 * directory's newOrder URL, or NULL + err */
const char *nacre_acme_session(struct nacre_acme_client *c, char *err,
			       size_t errlen);
/* A JWS POST (PAYLOAD "" for POST-as-GET) that ends in 2xx, retried with
 * the fresh nonce of a badNonce answer; -1 + err ("WHAT (URL): the CA
 * refused: TYPE: DETAIL (HTTP N)") otherwise. */
int nacre_acme_post(struct nacre_acme_client *c, const char *url,
		    const char *payload, const char *accept, const char *what,
		    struct nacre_acme_resp *r, char *err, size_t errlen);
struct json_t;
/* the same with a jansson payload, which it takes (NULL: out of memory) */
int nacre_acme_post_json(struct nacre_acme_client *c, const char *url,
			 struct json_t *payload, const char *what,
			 struct nacre_acme_resp *r, char *err, size_t errlen);
/* sleeps before the next poll: RETRY_AFTER when it parses (within 0.2 to
 * 60 s), else *BACKOFF, then doubled; -1 + err when past the deadline */
int nacre_acme_pause(struct nacre_acme_client *c, const char *retry_after,
		     uint64_t *backoff_ms, const char *what, char *err,
		     size_t errlen);

/* csr.c */
/* DER PKCS#10 for NAMES (SAN dNSNames; CN = names[0] when it fits) signed
 * by KEY, in *DER for OPENSSL_free; 0 or -1 */
int nacre_acme_csr(struct evp_pkey_st *key, const char *const *names,
		   size_t n, uint8_t **der, size_t *len);
/* PEM chain: the leaf must hold KEY's public key and every name, each
 * certificate must be issued by the next. Takes nothing from KEY: the
 * caller sets out->key. 0, or -1 + err with OUT left empty */
int nacre_acme_chain_parse(const char *pem, size_t len,
			   struct evp_pkey_st *key, const char *const *names,
			   size_t n, struct nacre_acme_cert *out, char *err,
			   size_t errlen);

/* ari.c */
/* RFC 9773 4.1: base64url(AKI keyIdentifier) "." base64url(serial DER
 * content); 0, or -1 (no AKI, negative serial, cap too small) */
int nacre_acme_ari_cert_id(struct x509_st *leaf, char *out, size_t cap);
int nacre_acme_ari_fetch(struct nacre_acme_http *h, const char *renewal_info,
			 struct x509_st *leaf, uint64_t timeout_ms,
			 struct nacre_acme_window *w, char *err,
			 size_t errlen);
/* ---- end client ---- */

#endif
