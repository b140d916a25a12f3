/*
 * tee_evidence.c: the envelope that carries a TDX quote or an SNP report
 * with nacre's claims (and, on SNP, the VCEK chain), and the REPORTDATA
 * digest that binds them to the certificate's key
 * (docs/evidence-format.md 9.2, 9.3). The decoder reads heads one by one
 * from the peer's bytes: nothing is allocated, every length is checked
 * against what is left and against its field's limit first.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest.h"
#include "libnacre.h"
#include "tee_evidence.h"

int
nacre_tee_envelope_encode(const struct nacre_tee_envelope *e, uint8_t **out,
			  size_t *len)
{
	struct nacre_cbw w = { 0 };

	*out = NULL;
	if (!e->evidence || !e->evidence_len ||
	    e->evidence_len > NACRE_TEE_EVIDENCE_MAX || !e->claims ||
	    !e->claims_len || e->claims_len > NACRE_TEE_CLAIMS_MAX ||
	    e->ncerts > NACRE_TEE_CERTS_MAX)
		return -1;
	for (size_t i = 0; i < e->ncerts; i++)
		if (!e->certs[i] || !e->certs_len[i] ||
		    e->certs_len[i] > NACRE_TEE_CERT_MAX)
			return -1;
	nacre_cbw_head(&w, 5, e->ncerts ? 3 : 2);
	nacre_cbw_uint(&w, 1);
	nacre_cbw_bytes(&w, e->evidence, e->evidence_len);
	nacre_cbw_uint(&w, 2);
	nacre_cbw_bytes(&w, e->claims, e->claims_len);
	if (e->ncerts) {
		nacre_cbw_uint(&w, 3);
		nacre_cbw_head(&w, 4, e->ncerts);
		for (size_t i = 0; i < e->ncerts; i++)
			nacre_cbw_bytes(&w, e->certs[i], e->certs_len[i]);
	}
	return nacre_cbw_finish(&w, out, len);
}

/* one definite, minimally encoded head of the wanted major type */
static bool
head(const uint8_t *buf, size_t len, size_t *off, unsigned want,
     uint64_t *val, const char *what, char *err, size_t errlen)
{
	unsigned major, ai;
	size_t at = *off;

	if (!nacre_cbor_head(buf, len, off, &major, &ai, val)) {
		nacre_seterr(err, errlen, "envelope: %s: truncated or malformed "
			     "at byte %zu", what, at);
		return false;
	}
	if (major != want || ai == 31) {
		nacre_seterr(err, errlen, "envelope: %s: expected a definite %s "
			     "at byte %zu", what,
			     want == 0 ? "unsigned integer" :
			     want == 2 ? "byte string" :
			     want == 4 ? "array" : "map", at);
		return false;
	}
	if ((ai == 24 && *val < 24) || (ai == 25 && *val <= 0xff) ||
	    (ai == 26 && *val <= 0xffff) || (ai == 27 && *val <= 0xffffffffULL)) {
		nacre_seterr(err, errlen, "envelope: %s: length or value not "
			     "minimally encoded at byte %zu (RFC 8949 4.2.1)",
			     what, at);
		return false;
	}
	return true;
}

static bool
bstr(const uint8_t *buf, size_t len, size_t *off, size_t max,
     const uint8_t **p, size_t *n, const char *what, char *err,
     size_t errlen)
{
	uint64_t v;

	if (!head(buf, len, off, 2, &v, what, err, errlen))
		return false;
	if (v == 0 || v > max) {
		nacre_seterr(err, errlen, "envelope: %s: %llu bytes, expected "
			     "1..%zu", what, (unsigned long long)v, max);
		return false;
	}
	if (v > len - *off) {
		nacre_seterr(err, errlen, "envelope: %s: %llu bytes declared, "
			     "%zu left", what, (unsigned long long)v,
			     len - *off);
		return false;
	}
	*p = buf + *off;
	*n = (size_t)v;
	*off += (size_t)v;
	return true;
}

int
nacre_tee_envelope_decode(const uint8_t *buf, size_t len,
			  struct nacre_tee_envelope *e, char *err,
			  size_t errlen)
{
	static const char *const names[] = { "", "key 1 (quote or report)",
					     "key 2 (claims)",
					     "key 3 (certificates)" };
	size_t off = 0;
	uint64_t n, key, last = 0;

	memset(e, 0, sizeof(*e));
	if (len > NACRE_TEE_ENVELOPE_MAX) {
		nacre_seterr(err, errlen, "envelope: %zu bytes, more than %d",
			     len, NACRE_TEE_ENVELOPE_MAX);
		return -1;
	}
	if (!head(buf, len, &off, 5, &n, "top level", err, errlen))
		return -1;
	if (n < 2 || n > 3) {
		nacre_seterr(err, errlen, "envelope: a map of %llu entries, "
			     "expected 2 or 3", (unsigned long long)n);
		return -1;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (!head(buf, len, &off, 0, &key, "map key", err, errlen))
			return -1;
		if (key < 1 || key > 3) {
			nacre_seterr(err, errlen, "envelope: unknown key %llu "
				     "(expected 1, 2 or 3)",
				     (unsigned long long)key);
			return -1;
		}
		if (key <= last) {
			nacre_seterr(err, errlen, "envelope: key %llu %s",
				     (unsigned long long)key,
				     key == last ? "appears twice" :
				     "out of order (RFC 8949 4.2.1)");
			return -1;
		}
		last = key;
		if (key == 1 &&
		    !bstr(buf, len, &off, NACRE_TEE_EVIDENCE_MAX, &e->evidence,
			  &e->evidence_len, names[1], err, errlen))
			return -1;
		if (key == 2 &&
		    !bstr(buf, len, &off, NACRE_TEE_CLAIMS_MAX, &e->claims,
			  &e->claims_len, names[2], err, errlen))
			return -1;
		if (key == 3) {
			uint64_t m;

			if (!head(buf, len, &off, 4, &m, names[3], err, errlen))
				return -1;
			if (m == 0 || m > NACRE_TEE_CERTS_MAX) {
				nacre_seterr(err, errlen, "envelope: %s: %llu "
					     "entries, expected 1..%d", names[3],
					     (unsigned long long)m,
					     NACRE_TEE_CERTS_MAX);
				return -1;
			}
			for (size_t c = 0; c < m; c++)
				if (!bstr(buf, len, &off, NACRE_TEE_CERT_MAX,
					  &e->certs[c], &e->certs_len[c],
					  names[3], err, errlen))
					return -1;
			e->ncerts = (size_t)m;
		}
	}
	if (!e->evidence || !e->claims) {
		nacre_seterr(err, errlen, "envelope: %s is missing",
			     !e->evidence ? names[1] : names[2]);
		return -1;
	}
	if (off != len) {
		nacre_seterr(err, errlen, "envelope: %zu trailing bytes",
			     len - off);
		return -1;
	}
	return 0;
}

static void
u32be(uint8_t b[4], size_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

int
nacre_report_data(const uint8_t *spki, size_t spki_len, const uint8_t *claims,
		  size_t claims_len, uint8_t out[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t l1[4], l2[4];
	unsigned n = 64;
	int ok;

	if (!md || spki_len > 0xffffffffU || claims_len > 0xffffffffU) {
		EVP_MD_CTX_free(md);
		return -1;
	}
	u32be(l1, spki_len);
	u32be(l2, claims_len);
	ok = EVP_DigestInit_ex(md, EVP_sha512(), NULL) &&
	     EVP_DigestUpdate(md, NACRE_REPORT_DATA_DOMAIN,
			      strlen(NACRE_REPORT_DATA_DOMAIN)) &&
	     EVP_DigestUpdate(md, l1, 4) &&
	     EVP_DigestUpdate(md, spki, spki_len) &&
	     EVP_DigestUpdate(md, l2, 4) &&
	     EVP_DigestUpdate(md, claims, claims_len) &&
	     EVP_DigestFinal_ex(md, out, &n);
	EVP_MD_CTX_free(md);
	return ok && n == 64 ? 0 : -1;
}
