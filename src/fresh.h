/*
 * fresh.h: fresh, session-bound evidence in nacred (docs/evidence-format.md
 * 8). fresh.c makes documents on a thread of its own, off the workers'
 * event loops; tls_fresh.c is the TLS side: the request in the
 * ClientHello, the asynchronous wait, the answer in the leaf's
 * CertificateEntry.
 */
#ifndef NACRE_FRESH_H
#define NACRE_FRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct nacre_attest;
struct nacre_config;
struct nacre_acme_claims;

/* ---- fresh.c: the attestation thread ---- */

struct nacre_fresh_job;

/* Queues a request for evidence (nacre_attest_evidence with these
 * inputs, copied; nonce NULL: none, as TDX and SNP take) and returns the
 * job, or NULL with err. The job's fd (an eventfd) becomes readable when
 * it is done. */
struct nacre_fresh_job *nacre_fresh_submit(struct nacre_attest *a,
					   const uint8_t *spki, size_t spki_len,
					   const uint8_t *ud, size_t ud_len,
					   const uint8_t *nonce, size_t nonce_len,
					   char *err, size_t errlen);
int nacre_fresh_job_fd(const struct nacre_fresh_job *j);
bool nacre_fresh_job_done(const struct nacre_fresh_job *j);
/* once done: 0, the evidence (taken: the caller frees it) and its CMW
 * media type (static), or -1 and the provider's message */
int nacre_fresh_job_result(struct nacre_fresh_job *j, const char **media_type,
			   uint8_t **doc, size_t *len, const char **err);
/* the caller's reference; the job is freed when the thread is done too */
void nacre_fresh_job_release(struct nacre_fresh_job *j);

/* ends the thread (at exit, once no handshake waits); jobs still queued
 * are dropped */
void nacre_fresh_stop(void);

/* a slot among limit pending fresh handshakes (false: all taken) */
bool nacre_fresh_reserve(uint64_t limit);
void nacre_fresh_unreserve(void);
uint64_t nacre_fresh_pending(void);

/* ---- tls_fresh.c: in the handshake ---- */

/* what a context needs to answer: the provider (a reference), the
 * key's SPKI, the claims. 0 or -1 (out of memory). */
int nacre_tls_fresh_ctx_init(SSL_CTX *ctx, struct nacre_attest *a,
			     EVP_PKEY *key, const struct nacre_config *cfg,
			     const struct nacre_acme_claims *acme);
/* registers extension 0xff4e (ClientHello and CertificateEntry) and the
 * TLS 1.3 check; 0 or -1 */
int nacre_tls_fresh_ctx_setup(SSL_CTX *ctx);
/* from the ClientHello callback, for a version 2 request:
 * SSL_CLIENT_HELLO_SUCCESS, _RETRY (once: the handshake goes on as an
 * asynchronous job) or _ERROR with *al */
int nacre_tls_fresh_asked(SSL *s, const uint8_t *nonce, size_t nonce_len,
			  int *al);
bool nacre_tls_fresh_requested(const SSL *s);
/* the claims map of the certificate's evidence (docs/evidence-format.md 5) */
struct nacre_claims;
void nacre_tls_claims_fill(struct nacre_claims *c, const uint8_t cfg_digest[32],
			   const struct nacre_acme_claims *acme);
/* a connection closing while its handshake waits (SSL_waiting_for_async):
 * marks the request abandoned, without waiting for the document; the
 * caller then runs the handshake once more, so that the paused job ends
 * (failing) before the SSL is freed. The fresh thread finishes the
 * document and drops it. */
void nacre_tls_fresh_abandon(SSL *s);

#endif
