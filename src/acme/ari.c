/*
 * ari.c: ACME Renewal Information (RFC 9773): the CA's suggested window
 * for renewing a certificate, asked for by the certificate's identifier
 * (its issuer's key identifier and its serial). A CA that offers no
 * renewalInfo leaves the caller to renew at notAfter - renew_before.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme.h"
#include "nacred.h"

#define SERIAL_MAX 64           /* RFC 5280 allows 20 octets; room to spare */
#define RETRY_DEFAULT_S (6 * 3600) /* RFC 9773 4.3.3: when none was given */
#define RETRY_MIN_S 60
#define RETRY_MAX_S (24 * 3600)

/* the serial's DER INTEGER contents: big-endian, a leading 00 if the top
 * bit is set (positive), at least one byte */
static int
serial_der(X509 *x, uint8_t *out, size_t *len)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(x);
	BIGNUM *bn = s ? ASN1_INTEGER_to_BN(s, NULL) : NULL;
	int n;

	if (!bn || BN_is_negative(bn) || BN_num_bytes(bn) >= SERIAL_MAX) {
		BN_free(bn);
		return -1;
	}
	n = BN_bn2bin(bn, out + 1);
	BN_free(bn);
	if (n == 0 || out[1] & 0x80) {
		out[0] = 0;
		*len = (size_t)n + 1;
		return 0;
	}
	memmove(out, out + 1, (size_t)n);
	*len = (size_t)n;
	return 0;
}

int
nacre_acme_ari_cert_id(X509 *leaf, char *out, size_t cap)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(leaf);
	uint8_t serial[SERIAL_MAX + 1];
	size_t slen, a;

	if (!aki || aki->length <= 0 || aki->length > 64 ||
	    serial_der(leaf, serial, &slen) != 0)
		return -1;
	a = nacre_acme_b64url(aki->data, (size_t)aki->length, out, cap);
	if (a == 0 || a + 2 > cap)
		return -1;
	out[a] = '.';
	return nacre_acme_b64url(serial, slen, out + a + 1, cap - a - 1) ? 0 :
									   -1;
}

static uint64_t
retry_after_s(const struct nacre_acme_resp *r)
{
	uint64_t s;

	if (nacre_acme_retry_after(r->retry_after, (int64_t)time(NULL), &s) !=
	    0)
		return RETRY_DEFAULT_S;
	if (s < RETRY_MIN_S)
		return RETRY_MIN_S;
	return s > RETRY_MAX_S ? RETRY_MAX_S : s;
}

int
nacre_acme_ari_fetch(struct nacre_acme_http *h, const char *renewal_info,
		     X509 *leaf, uint64_t timeout_ms,
		     struct nacre_acme_window *w, char *err, size_t errlen)
{
	char id[200], *url = NULL, text[NACRE_ERRLEN];
	size_t n = strlen(renewal_info);
	struct nacre_acme_resp r;
	int rc = -1;

	if (nacre_acme_ari_cert_id(leaf, id, sizeof(id)) != 0) {
		nacre_seterr(err, errlen, "renewalInfo: the certificate has no "
			     "authority key identifier or a bad serial");
		return -1;
	}
	if (asprintf(&url, "%s%s%s", renewal_info,
		     n && renewal_info[n - 1] == '/' ? "" : "/", id) < 0) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	if (nacre_acme_http_do(h, "GET", url, NULL, NULL, timeout_ms, &r, err,
			       errlen) != 0)
		goto out;
	if (r.status != 200) {
		nacre_acme_problem(r.body, r.len, r.status, NULL, 0, text,
				   sizeof(text));
		nacre_seterr(err, errlen, "renewalInfo %s: %s", url, text);
		goto out;
	}
	if (nacre_acme_window_parse(r.body, r.len, w, err, errlen) != 0)
		goto out;
	w->retry_after_s = retry_after_s(&r);
	rc = 1;
out:
	nacre_acme_resp_clear(&r);
	free(url);
	return rc;
}
