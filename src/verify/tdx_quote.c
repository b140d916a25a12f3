/*
 * tdx_quote.c: the Intel TDX quote (v4, v5) from untrusted bytes: header,
 * TD quote body, ECDSA signature data, QE report certification data
 * (type 6) and its nested PCK chain (type 5); every length is checked
 * against the bytes that remain. Also the PCK certificate's SGX extension
 * (FMSPC, PCE-ID, TCB components), read with OpenSSL's ASN.1 parser.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "nacred.h"
#include "tdx.h"

#define ATT_KEY_ECDSA_P256 2
#define TEE_TYPE_TDX 0x81
#define BODY_TYPE_TD10 2
#define BODY_TYPE_TD15 3
#define CERT_DATA_PCK_CHAIN 5
#define CERT_DATA_QE_REPORT 6

/* a cursor over the bytes that remain */
struct rd {
	const uint8_t *p;
	size_t left;
	size_t off;	/* from the start of the quote, for messages */
};

static bool
take(struct rd *r, size_t n, const uint8_t **out)
{
	if (r->left < n)
		return false;
	*out = r->p;
	r->p += n;
	r->left -= n;
	r->off += n;
	return true;
}

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static int
malformed(enum nacre_tdx_status *st, char *err, size_t errlen,
	  const char *what, size_t off, size_t need, size_t left)
{
	*st = NACRE_TDX_E_MALFORMED;
	nacre_seterr(err, errlen, "%s at offset %zu needs %zu bytes, %zu remain "
		     "(truncated quote)", what, off, need, left);
	return -1;
}

#define TAKE(r, n, out, what) do {                                          \
	if (!take((r), (n), (out)))                                         \
		return malformed(st, err, errlen, (what), (r)->off, (n),    \
				 (r)->left);                                \
} while (0)

static void
parse_td_body(const uint8_t *b, bool td15, struct nacre_tdx_td_body *t)
{
	memcpy(t->tee_tcb_svn, b, 16);
	memcpy(t->mrseam, b + 16, 48);
	memcpy(t->mrsignerseam, b + 64, 48);
	memcpy(t->seam_attributes, b + 112, 8);
	memcpy(t->td_attributes, b + 120, 8);
	memcpy(t->xfam, b + 128, 8);
	memcpy(t->mrtd, b + 136, 48);
	memcpy(t->mrconfigid, b + 184, 48);
	memcpy(t->mrowner, b + 232, 48);
	memcpy(t->mrownerconfig, b + 280, 48);
	for (int i = 0; i < 4; i++)
		memcpy(t->rtmr[i], b + 328 + 48 * i, 48);
	memcpy(t->report_data, b + 520, 64);
	t->is_td15 = td15;
	if (td15) {
		memcpy(t->tee_tcb_svn2, b + 584, 16);
		memcpy(t->mrservicetd, b + 600, 48);
	}
}

static void
parse_sgx_report(const uint8_t *b, struct nacre_sgx_report *r)
{
	memcpy(r->cpusvn, b, 16);
	r->miscselect = le32(b + 16);
	memcpy(r->attributes, b + 48, 16);
	memcpy(r->mrenclave, b + 64, 32);
	memcpy(r->mrsigner, b + 128, 32);
	r->isvprodid = le16(b + 256);
	r->isvsvn = le16(b + 258);
	memcpy(r->report_data, b + 320, 64);
}

static int
parse_header(struct rd *r, struct nacre_tdx_quote *q,
	     enum nacre_tdx_status *st, char *err, size_t errlen)
{
	const uint8_t *h;

	TAKE(r, NACRE_TDX_HEADER_LEN, &h, "the quote header");
	q->version = le16(h);
	q->att_key_type = le16(h + 2);
	q->tee_type = le32(h + 4);
	memcpy(q->qe_vendor_id, h + 12, 16);
	memcpy(q->user_data, h + 28, 20);
	*st = NACRE_TDX_E_UNSUPPORTED;
	if (q->version != 4 && q->version != 5) {
		nacre_seterr(err, errlen, "quote version %u is not supported "
			     "(this verifier reads TDX quotes v4 and v5)",
			     q->version);
		return -1;
	}
	if (q->att_key_type != ATT_KEY_ECDSA_P256) {
		nacre_seterr(err, errlen, "attestation key type %u is not "
			     "supported (only 2, ECDSA-256 with P-256)",
			     q->att_key_type);
		return -1;
	}
	if (q->tee_type != TEE_TYPE_TDX) {
		nacre_seterr(err, errlen, "TEE type 0x%08x is not TDX (0x81)%s",
			     q->tee_type, q->tee_type == 0 ?
			     "; an SGX quote is not a TDX quote" : "");
		return -1;
	}
	return 0;
}

static int
parse_body(struct rd *r, struct nacre_tdx_quote *q,
	   enum nacre_tdx_status *st, char *err, size_t errlen)
{
	const uint8_t *b;
	size_t size = NACRE_TDX_BODY10_LEN;

	q->body_type = BODY_TYPE_TD10;
	if (q->version == 5) {
		TAKE(r, 6, &b, "the v5 body type and size");
		q->body_type = le16(b);
		uint32_t n = le32(b + 2);
		if (q->body_type != BODY_TYPE_TD10 &&
		    q->body_type != BODY_TYPE_TD15) {
			*st = NACRE_TDX_E_UNSUPPORTED;
			nacre_seterr(err, errlen, "quote v5 body type %u is not "
				     "a TD report (2: TDX 1.0, 3: TDX 1.5)%s",
				     q->body_type, q->body_type == 1 ?
				     "; type 1 is an SGX enclave report" : "");
			return -1;
		}
		size = q->body_type == BODY_TYPE_TD15 ? NACRE_TDX_BODY15_LEN
						      : NACRE_TDX_BODY10_LEN;
		if (n != size) {
			*st = NACRE_TDX_E_MALFORMED;
			nacre_seterr(err, errlen, "quote v5 body type %u must be "
				     "%zu bytes, the quote says %u",
				     q->body_type, size, n);
			return -1;
		}
	}
	TAKE(r, size, &b, "the TD quote body");
	parse_td_body(b, q->body_type == BODY_TYPE_TD15, &q->td);
	return 0;
}

/* certification data type 6: QE report, its signature, QE auth data and
 * the nested certification data (type 5, the PCK chain) */
static int
parse_qe_cert_data(struct rd *r, struct nacre_tdx_quote *q,
		   enum nacre_tdx_status *st, char *err, size_t errlen)
{
	const uint8_t *p;

	TAKE(r, NACRE_SGX_REPORT_LEN, &q->qe_report_raw, "the QE report");
	parse_sgx_report(q->qe_report_raw, &q->qe_report);
	TAKE(r, 64, &p, "the QE report signature");
	memcpy(q->qe_report_sig, p, 64);
	TAKE(r, 2, &p, "the QE auth data size");
	q->qe_auth_len = le16(p);
	TAKE(r, q->qe_auth_len, &q->qe_auth, "the QE auth data");
	TAKE(r, 6, &p, "the PCK certification data header");
	uint16_t type = le16(p);
	uint32_t n = le32(p + 2);
	if (type != CERT_DATA_PCK_CHAIN) {
		*st = NACRE_TDX_E_UNSUPPORTED;
		nacre_seterr(err, errlen, "QE certification data type %u is not "
			     "supported (only 5, the PCK certificate chain in "
			     "PEM); fetch the PCK certificate from Intel PCS "
			     "and have the quote carry it", type);
		return -1;
	}
	if (n == 0 || n > NACRE_TDX_PCK_CHAIN_MAX) {
		*st = NACRE_TDX_E_MALFORMED;
		nacre_seterr(err, errlen, "PCK certificate chain of %u bytes, "
			     "allowed 1..%d", n, NACRE_TDX_PCK_CHAIN_MAX);
		return -1;
	}
	TAKE(r, n, &p, "the PCK certificate chain");
	q->pck_pem = (const char *)p;
	q->pck_pem_len = n;
	return 0;
}

static int
parse_sig_data(struct rd *r, struct nacre_tdx_quote *q,
	       enum nacre_tdx_status *st, char *err, size_t errlen)
{
	const uint8_t *p;
	struct rd s;

	TAKE(r, 4, &p, "the signature data length");
	uint32_t n = le32(p);
	TAKE(r, n, &p, "the signature data");
	q->quote_len = r->off;
	s = (struct rd){ p, n, r->off - n };
	r = &s;		/* from here on only the signature data is read */
	TAKE(r, 64, &p, "the quote signature");
	memcpy(q->signature, p, 64);
	TAKE(r, 64, &p, "the attestation key");
	memcpy(q->att_key, p, 64);
	TAKE(r, 6, &p, "the certification data header");
	uint16_t type = le16(p);
	uint32_t cn = le32(p + 2);
	if (type != CERT_DATA_QE_REPORT) {
		*st = NACRE_TDX_E_UNSUPPORTED;
		nacre_seterr(err, errlen, "certification data type %u is not "
			     "supported (TDX quotes carry type 6, the QE report "
			     "certification data)", type);
		return -1;
	}
	if (cn != r->left) {
		*st = NACRE_TDX_E_MALFORMED;
		nacre_seterr(err, errlen, "certification data says %u bytes but "
			     "%zu remain in the signature data", cn, r->left);
		return -1;
	}
	if (parse_qe_cert_data(r, q, st, err, errlen) < 0)
		return -1;
	if (r->left) {
		*st = NACRE_TDX_E_MALFORMED;
		nacre_seterr(err, errlen, "%zu unexplained bytes after the PCK "
			     "certificate chain", r->left);
		return -1;
	}
	return 0;
}

int
nacre_tdx_quote_parse(const uint8_t *buf, size_t len,
		      struct nacre_tdx_quote *q, enum nacre_tdx_status *st,
		      char *err, size_t errlen)
{
	struct rd r = { buf, len, 0 };

	memset(q, 0, sizeof(*q));
	if (parse_header(&r, q, st, err, errlen) < 0 ||
	    parse_body(&r, q, st, err, errlen) < 0)
		return -1;
	q->signed_data = buf;
	q->signed_len = r.off;
	if (parse_sig_data(&r, q, st, err, errlen) < 0)
		return -1;
	q->trailing = len - q->quote_len;
	*st = NACRE_TDX_OK;
	return 0;
}

int
nacre_tdx_pem_certs(const char *pem, size_t len, STACK_OF(X509) **out,
		    int max, char *err, size_t errlen)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *b;
	X509 *x;

	/* Intel's PCK chain often ends in a NUL: PEM stops at it anyway */
	while (len && pem[len - 1] == '\0')
		len--;
	if (!sk || len > NACRE_TDX_PCK_CHAIN_MAX ||
	    !(b = BIO_new_mem_buf(pem, (int)len))) {
		sk_X509_free(sk);
		nacre_seterr(err, errlen, "out of memory or chain too long");
		return -1;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (sk_X509_num(sk) >= max || !sk_X509_push(sk, x)) {
			X509_free(x);
			nacre_seterr(err, errlen, "more than %d certificates "
				     "in the chain", max);
			goto fail;
		}
	}
	/* the loop ends at the end of the text (no start line) or at a
	 * block that does not parse: only the former is fine */
	unsigned long e = ERR_peek_last_error();
	if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
		   ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		nacre_seterr(err, errlen, "certificate %d of the chain does not "
			     "parse (%s)", sk_X509_num(sk) + 1,
			     ERR_reason_error_string(e));
		goto fail;
	}
	ERR_clear_error();
	if (sk_X509_num(sk) == 0) {
		nacre_seterr(err, errlen, "no PEM certificate in the chain");
		goto fail;
	}
	BIO_free(b);
	*out = sk;
	return 0;
fail:
	ERR_clear_error();
	BIO_free(b);
	sk_X509_pop_free(sk, X509_free);
	return -1;
}

/* ---------------------------------------------------------------------- */
/* The SGX extension: SEQUENCE OF SEQUENCE { OID, value } (Intel SGX PCK
 * Certificate and CRL Profile). */

#define SGX_OID "1.2.840.113741.1.13.1"

static STACK_OF(ASN1_TYPE) *
seq_of(const uint8_t *p, long n)
{
	const uint8_t *q = p;
	STACK_OF(ASN1_TYPE) *s = d2i_ASN1_SEQUENCE_ANY(NULL, &q, n);

	if (s && q != p + n) {
		sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free);
		return NULL;
	}
	return s;
}

/* the OID text and the value of one { OID, value } pair */
static const ASN1_TYPE *
pair(const ASN1_TYPE *t, char *oid, size_t oidlen, STACK_OF(ASN1_TYPE) **hold)
{
	*hold = NULL;
	if (t->type != V_ASN1_SEQUENCE)
		return NULL;
	STACK_OF(ASN1_TYPE) *s = seq_of(t->value.sequence->data,
					t->value.sequence->length);
	if (!s || sk_ASN1_TYPE_num(s) != 2 ||
	    sk_ASN1_TYPE_value(s, 0)->type != V_ASN1_OBJECT ||
	    OBJ_obj2txt(oid, (int)oidlen,
			sk_ASN1_TYPE_value(s, 0)->value.object, 1) <= 0) {
		sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free);
		return NULL;
	}
	*hold = s;
	return sk_ASN1_TYPE_value(s, 1);
}

static bool
octets(const ASN1_TYPE *v, uint8_t *out, int n)
{
	if (v->type != V_ASN1_OCTET_STRING ||
	    v->value.octet_string->length != n)
		return false;
	memcpy(out, v->value.octet_string->data, (size_t)n);
	return true;
}

static bool
small_int(const ASN1_TYPE *v, long max, long *out)
{
	int64_t x;

	if (v->type != V_ASN1_INTEGER ||
	    !ASN1_INTEGER_get_int64(&x, v->value.integer) ||
	    x < 0 || x > max)
		return false;
	*out = (long)x;
	return true;
}

/* the TCB sequence: .2.1 .. .2.16 components, .2.17 PCESVN, .2.18 CPUSVN */
static int
parse_tcb(const ASN1_TYPE *v, struct nacre_tdx_pck_ext *e, char *err,
	  size_t errlen)
{
	STACK_OF(ASN1_TYPE) *s, *hold;
	unsigned seen = 0;
	char oid[80];
	int rc = -1;

	if (v->type != V_ASN1_SEQUENCE ||
	    !(s = seq_of(v->value.sequence->data, v->value.sequence->length))) {
		nacre_seterr(err, errlen, "the TCB entry is not a sequence");
		return -1;
	}
	for (int i = 0; i < sk_ASN1_TYPE_num(s); i++) {
		const ASN1_TYPE *val = pair(sk_ASN1_TYPE_value(s, i), oid,
					    sizeof(oid), &hold);
		unsigned k;
		char extra;
		long x;

		if (!val || sscanf(oid, SGX_OID ".2.%u%c", &k, &extra) != 1 ||
		    k < 1 || k > 18) {
			sk_ASN1_TYPE_pop_free(hold, ASN1_TYPE_free);
			continue;	/* unknown entries are allowed */
		}
		bool ok = k <= 16 ? small_int(val, 255, &x)
			: k == 17 ? small_int(val, 65535, &x)
			: octets(val, e->cpusvn, 16);
		if (ok && k <= 16)
			e->sgx_comp[k - 1] = (uint8_t)x;
		else if (ok && k == 17)
			e->pcesvn = (uint16_t)x;
		sk_ASN1_TYPE_pop_free(hold, ASN1_TYPE_free);
		if (!ok) {
			nacre_seterr(err, errlen, "TCB entry %s." "2.%u has the "
				     "wrong type or range", SGX_OID, k);
			goto out;
		}
		seen |= 1u << k;
	}
	if (seen != 0x7fffeu) {
		nacre_seterr(err, errlen, "the TCB entry lacks some of the 16 "
			     "SGX components, PCESVN or CPUSVN");
		goto out;
	}
	rc = 0;
out:
	sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free);
	return rc;
}

int
nacre_tdx_pck_ext_parse(X509 *pck, struct nacre_tdx_pck_ext *e, char *err,
			size_t errlen)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(SGX_OID, 1);
	STACK_OF(ASN1_TYPE) *s = NULL, *hold;
	unsigned seen = 0;
	char oid[80];
	int rc = -1;

	memset(e, 0, sizeof(*e));
	int i = obj ? X509_get_ext_by_OBJ(pck, obj, -1) : -1;
	ASN1_OBJECT_free(obj);
	if (i < 0) {
		nacre_seterr(err, errlen, "the PCK certificate has no SGX "
			     "extension (%s); it is not an Intel PCK "
			     "certificate", SGX_OID);
		return -1;
	}
	const ASN1_OCTET_STRING *d =
		X509_EXTENSION_get_data(X509_get_ext(pck, i));
	if (!(s = seq_of(d->data, d->length))) {
		nacre_seterr(err, errlen, "the PCK certificate's SGX extension "
			     "is not a DER sequence");
		return -1;
	}
	for (int j = 0; j < sk_ASN1_TYPE_num(s); j++) {
		const ASN1_TYPE *v = pair(sk_ASN1_TYPE_value(s, j), oid,
					  sizeof(oid), &hold);
		bool ok = true;

		if (!v) {
			ok = false;
		} else if (!strcmp(oid, SGX_OID ".2")) {
			ok = parse_tcb(v, e, err, errlen) == 0;
			seen |= 1;
			if (!ok) {
				sk_ASN1_TYPE_pop_free(hold, ASN1_TYPE_free);
				goto out;
			}
		} else if (!strcmp(oid, SGX_OID ".3")) {
			ok = octets(v, e->pceid, 2);
			seen |= 2;
		} else if (!strcmp(oid, SGX_OID ".4")) {
			ok = octets(v, e->fmspc, 6);
			seen |= 4;
		}
		sk_ASN1_TYPE_pop_free(hold, ASN1_TYPE_free);
		if (!ok) {
			nacre_seterr(err, errlen, "entry %d of the PCK "
				     "certificate's SGX extension is malformed",
				     j);
			goto out;
		}
	}
	if (seen != 7) {
		nacre_seterr(err, errlen, "the PCK certificate's SGX extension "
			     "lacks %s", !(seen & 1) ? "the TCB" :
			     !(seen & 2) ? "the PCE-ID" : "the FMSPC");
		goto out;
	}
	rc = 0;
out:
	sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free);
	return rc;
}
