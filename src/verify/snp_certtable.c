/*
 * snp_certtable.c: the SEV-SNP extended report's certificate table (the
 * blob a host hands its guest beside the report: SNP_GET_EXT_REPORT's
 * certificate buffer, configfs-tsm's "auxblob"; AMD's GHCB specification,
 * "SNP Extended Guest Request"). A table of 24-byte entries { GUID, u32
 * offset, u32 length }, ended by an all-zero entry, then the DER
 * certificates. The GUID bytes are in the order the GUID is written, as
 * Linux, AMD's sev-guest tools, virtee/sev and go-sev-guest lay them out.
 * The blob is the host's, so untrusted: every offset and length is
 * checked before a slice is handed out; the certificates themselves are
 * snp_chain.c's to judge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nacred.h"
#include "snp.h"

#define ENTRY NACRE_SNP_CERTTABLE_ENTRY_LEN

const uint8_t nacre_snp_guid_vcek[16] = {
	0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
	0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd,
};
const uint8_t nacre_snp_guid_vlek[16] = {
	0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
	0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1,
};
const uint8_t nacre_snp_guid_ask[16] = {
	0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
	0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82,
};
const uint8_t nacre_snp_guid_ark[16] = {
	0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
	0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae,
};

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

#define SLOT(field, label) do {                                        \
	*len = &t->field##_len;                                         \
	*name = (label);                                                \
	return &t->field;                                               \
} while (0)

/* the slot of a known GUID in t, or NULL */
static const uint8_t **
slot_of(const uint8_t guid[16], struct nacre_snp_certtable *t,
	size_t **len, const char **name)
{
	if (memcmp(guid, nacre_snp_guid_vcek, 16) == 0)
		SLOT(vcek, "VCEK");
	if (memcmp(guid, nacre_snp_guid_vlek, 16) == 0)
		SLOT(vlek, "VLEK");
	if (memcmp(guid, nacre_snp_guid_ask, 16) == 0)
		SLOT(ask, "ASK");
	if (memcmp(guid, nacre_snp_guid_ark, 16) == 0)
		SLOT(ark, "ARK");
	return NULL;
}

/* the number of entries before the terminator, or -1 */
static int
count_entries(const uint8_t *blob, size_t len, char *err, size_t errlen)
{
	for (size_t i = 0; i <= NACRE_SNP_CERTTABLE_ENTRIES_MAX; i++) {
		const uint8_t *e = blob + i * ENTRY;

		if ((i + 1) * ENTRY > len) {
			nacre_seterr(err, errlen, "The SEV-SNP certificate table "
				     "ends after %zu entries without its all-zero "
				     "terminator (%zu bytes); the host's blob is "
				     "truncated: have the host give the whole "
				     "certificate table.", i, len);
			return -1;
		}
		if (!all_zero(e, 16))
			continue;
		if (!all_zero(e + 16, 8)) {
			nacre_seterr(err, errlen, "The SEV-SNP certificate table's "
				     "entry %zu has an all-zero GUID (the "
				     "terminator) but a non-zero offset or "
				     "length; the table is malformed: have the "
				     "host give a valid table.", i);
			return -1;
		}
		return (int)i;
	}
	nacre_seterr(err, errlen, "The SEV-SNP certificate table has more than "
		     "%d entries before its terminator; a host gives at most a "
		     "VCEK (or VLEK), ASK, ARK and a few more: the blob is not "
		     "a certificate table.", NACRE_SNP_CERTTABLE_ENTRIES_MAX);
	return -1;
}

/* entry i's certificate lies inside the blob, after the table */
static int
check_bounds(size_t i, uint32_t off, uint32_t n, size_t table_end, size_t len,
	     char *err, size_t errlen)
{
	if (n == 0 || n > NACRE_SNP_CERTTABLE_CERT_MAX) {
		nacre_seterr(err, errlen, "The SEV-SNP certificate table's entry "
			     "%zu is %u bytes long (allowed 1..%d); the host's "
			     "table is malformed or holds no certificate there.",
			     i, n, NACRE_SNP_CERTTABLE_CERT_MAX);
		return -1;
	}
	if (off < table_end || (size_t)off > len || n > len - off) {
		nacre_seterr(err, errlen, "The SEV-SNP certificate table's entry "
			     "%zu points at bytes %u..%llu, outside %zu..%zu (after "
			     "the table, inside the %zu-byte blob); the host's "
			     "table is malformed.", i, off,
			     (unsigned long long)off + n, table_end, len, len);
		return -1;
	}
	return 0;
}

/* no two certificates share a byte */
static int
check_overlap(const uint8_t *blob, size_t nent, char *err, size_t errlen)
{
	for (size_t i = 0; i < nent; i++)
		for (size_t j = i + 1; j < nent; j++) {
			const uint8_t *a = blob + i * ENTRY, *b = blob + j * ENTRY;
			uint64_t ao = le32(a + 16), an = le32(a + 20);
			uint64_t bo = le32(b + 16), bn = le32(b + 20);

			if (ao < bo + bn && bo < ao + an) {
				nacre_seterr(err, errlen, "The SEV-SNP "
					     "certificate table's entries %zu "
					     "and %zu overlap; the host's table "
					     "is malformed.", i, j);
				return -1;
			}
		}
	return 0;
}

static int
parse_entries(const uint8_t *blob, size_t len, size_t nent,
	      struct nacre_snp_certtable *t, char *err, size_t errlen)
{
	size_t table_end = (nent + 1) * ENTRY;

	for (size_t i = 0; i < nent; i++) {
		const uint8_t *e = blob + i * ENTRY;
		uint32_t off = le32(e + 16), n = le32(e + 20);
		const char *name;
		size_t *slot_len;
		const uint8_t **slot;

		if (check_bounds(i, off, n, table_end, len, err, errlen) < 0)
			return -1;
		if (!(slot = slot_of(e, t, &slot_len, &name)))
			continue;	/* another kind of entry: skipped */
		if (*slot) {
			nacre_seterr(err, errlen, "The SEV-SNP certificate table "
				     "has two %s entries (the second is entry "
				     "%zu); the host's table is malformed.",
				     name, i);
			return -1;
		}
		*slot = blob + off;
		*slot_len = n;
	}
	return check_overlap(blob, nent, err, errlen);
}

int
nacre_snp_certtable_parse(const uint8_t *blob, size_t len,
			  struct nacre_snp_certtable *t, char *err,
			  size_t errlen)
{
	struct nacre_snp_certtable got = { .vcek = NULL };
	int nent;

	memset(t, 0, sizeof(*t));
	if (!blob || len > NACRE_SNP_CERTTABLE_MAX) {
		nacre_seterr(err, errlen, "The SEV-SNP certificate table is %zu "
			     "bytes (allowed up to %d); it is not a certificate "
			     "table.", blob ? len : 0, NACRE_SNP_CERTTABLE_MAX);
		return -1;
	}
	if ((nent = count_entries(blob, len, err, errlen)) < 0 ||
	    parse_entries(blob, len, (size_t)nent, &got, err, errlen) < 0)
		return -1;
	got.nentries = (size_t)nent;
	*t = got;	/* all or nothing */
	return 0;
}

int
nacre_snp_certtable_encode(const struct nacre_snp_certtable *t,
			   uint8_t **out, size_t *len, char *err,
			   size_t errlen)
{
	const struct { const uint8_t *guid, *der; size_t n; } in[] = {
		{ nacre_snp_guid_vcek, t->vcek, t->vcek_len },
		{ nacre_snp_guid_vlek, t->vlek, t->vlek_len },
		{ nacre_snp_guid_ask, t->ask, t->ask_len },
		{ nacre_snp_guid_ark, t->ark, t->ark_len },
	};
	size_t nent = 0, total, off;
	uint8_t *buf;

	*out = NULL;
	*len = 0;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		if (!in[i].der)
			continue;
		if (in[i].n == 0 || in[i].n > NACRE_SNP_CERTTABLE_CERT_MAX) {
			nacre_seterr(err, errlen, "A certificate for the SEV-SNP "
				     "certificate table is %zu bytes (allowed "
				     "1..%d).", in[i].n,
				     NACRE_SNP_CERTTABLE_CERT_MAX);
			return -1;
		}
		nent++;
	}
	total = (nent + 1) * ENTRY;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		total += in[i].der ? in[i].n : 0;
	if (!(buf = calloc(1, total))) {
		nacre_seterr(err, errlen, "Out of memory building the SEV-SNP "
			     "certificate table.");
		return -1;
	}
	off = (nent + 1) * ENTRY;
	nent = 0;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		uint8_t *e = buf + nent * ENTRY;

		if (!in[i].der)
			continue;
		memcpy(e, in[i].guid, 16);
		put_le32(e + 16, (uint32_t)off);
		put_le32(e + 20, (uint32_t)in[i].n);
		memcpy(buf + off, in[i].der, in[i].n);
		off += in[i].n;
		nent++;
	}
	*out = buf;
	*len = total;
	return 0;
}
