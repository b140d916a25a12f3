/*
 * cbor_util.c: the small CBOR helpers the attestation files share. Reading
 * walks untrusted bytes for well-formedness (every declared length must fit,
 * depth and item count capped) before libcbor allocates anything; writing
 * emits minimal-length heads, as serde_cbor and the NSM do.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "attest.h"

/* ---------------------------------------------------------------------- */
/* CBOR reading: a bounded well-formedness walk before libcbor allocates. */

struct wf {
	const uint8_t *p;
	size_t len, off, items, max_items;
	unsigned max_depth;
	const char *why;
};

static bool
wf_head(struct wf *w, unsigned *major, unsigned *ai, uint64_t *val)
{
	if (w->off >= w->len) {
		w->why = "truncated";
		return false;
	}
	uint8_t ib = w->p[w->off++];
	*major = ib >> 5;
	*ai = ib & 31;
	*val = *ai;
	if (*ai < 24 || *ai == 31)
		return true;
	if (*ai > 27) {
		w->why = "reserved additional-information value";
		return false;
	}
	size_t n = (size_t)1 << (*ai - 24);
	if (w->len - w->off < n) {
		w->why = "truncated";
		return false;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | w->p[w->off++];
	*val = v;
	return true;
}

bool
nacre_cbor_head(const uint8_t *buf, size_t len, size_t *off, unsigned *major,
		unsigned *ai, uint64_t *val)
{
	struct wf w = { .p = buf, .len = len, .off = *off };

	if (!wf_head(&w, major, ai, val))
		return false;
	*off = w.off;
	return true;
}

static bool wf_item(struct wf *w, unsigned depth, bool *is_break);

/* chunks of an indefinite-length string, each a definite string of the
 * same major type, up to the break */
static bool
wf_chunks(struct wf *w, unsigned major)
{
	for (;;) {
		unsigned m, ai;
		uint64_t v;

		if (w->off < w->len && w->p[w->off] == 0xff) {
			w->off++;
			return true;
		}
		if (++w->items > w->max_items) {
			w->why = "too many items";
			return false;
		}
		if (!wf_head(w, &m, &ai, &v))
			return false;
		if (m != major || ai == 31) {
			w->why = "bad chunk in an indefinite-length string";
			return false;
		}
		if (v > w->len - w->off) {
			w->why = "truncated";
			return false;
		}
		w->off += (size_t)v;
	}
}

static bool
wf_indefinite(struct wf *w, unsigned major, unsigned depth)
{
	bool brk;

	if (major == 2 || major == 3)
		return wf_chunks(w, major);
	if (major != 4 && major != 5) {
		w->why = "indefinite length on a type that has none";
		return false;
	}
	for (size_t n = 0;; n++) {
		if (!wf_item(w, depth + 1, &brk))
			return false;
		if (brk) {
			if (major == 5 && n % 2) {
				w->why = "map with a key but no value";
				return false;
			}
			return true;
		}
	}
}

static bool
wf_item(struct wf *w, unsigned depth, bool *is_break)
{
	unsigned major, ai;
	uint64_t val;

	if (is_break)
		*is_break = false;
	if (depth > w->max_depth) {
		w->why = "nested too deep";
		return false;
	}
	if (++w->items > w->max_items) {
		w->why = "too many items";
		return false;
	}
	if (!wf_head(w, &major, &ai, &val))
		return false;
	if (ai == 31 && major == 7) {
		if (!is_break) {
			w->why = "unexpected break";
			return false;
		}
		*is_break = true;
		return true;
	}
	if (ai == 31)
		return wf_indefinite(w, major, depth);
	switch (major) {
	case 2:
	case 3:
		if (val > w->len - w->off) {
			w->why = "truncated";
			return false;
		}
		w->off += (size_t)val;
		return true;
	case 4:
	case 5: {
		/* every item takes a byte: a count beyond the input is a lie,
		 * and refusing it here bounds what libcbor allocates */
		uint64_t n = major == 5 ? val * 2 : val;
		if (val > w->len || n > w->len - w->off) {
			w->why = "declared length exceeds the input";
			return false;
		}
		for (uint64_t i = 0; i < n; i++)
			if (!wf_item(w, depth + 1, NULL))
				return false;
		return true;
	}
	case 6:
		return wf_item(w, depth + 1, NULL);
	case 7:
		if (ai == 24 && val < 32) {
			w->why = "invalid simple value";
			return false;
		}
		return true;
	default:
		return true;
	}
}

struct cbor_item_t *
nacre_cbor_load(const uint8_t *buf, size_t len, unsigned max_depth,
		size_t max_items, char *err, size_t errlen)
{
	struct wf w = { .p = buf, .len = len, .max_items = max_items,
			.max_depth = max_depth };
	struct cbor_load_result res;
	cbor_item_t *it;

	if (!buf || len == 0) {
		nacre_seterr(err, errlen, "empty");
		return NULL;
	}
	if (!wf_item(&w, 0, NULL)) {
		nacre_seterr(err, errlen, "not well-formed CBOR: %s at byte %zu",
		       w.why, w.off);
		return NULL;
	}
	if (w.off != len) {
		nacre_seterr(err, errlen, "%zu trailing bytes after the CBOR item",
		       len - w.off);
		return NULL;
	}
	it = cbor_load(buf, len, &res);
	if (!it) {
		/* well-formed by now: what is left is libcbor 0.8 refusing
		 * tags 6..20, or memory */
		nacre_seterr(err, errlen, "CBOR decoder refused it at byte %zu (%s)",
		       res.error.position,
		       res.error.code == CBOR_ERR_MEMERROR ? "out of memory" :
		       "unsupported item, e.g. a tag in 6..20");
		return NULL;
	}
	if (res.read != len) {
		cbor_decref(&it);
		nacre_seterr(err, errlen, "%zu trailing bytes after the CBOR item",
		       len - res.read);
		return NULL;
	}
	return it;
}

bool
nacre_cbor_bytes(const cbor_item_t *it, const uint8_t **p, size_t *n)
{
	if (!it || !cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
		return false;
	*p = cbor_bytestring_handle(it);
	*n = cbor_bytestring_length(it);
	return true;
}

bool
nacre_cbor_text(const cbor_item_t *it, const char **p, size_t *n)
{
	if (!it || !cbor_isa_string(it) || !cbor_string_is_definite(it))
		return false;
	*p = (const char *)cbor_string_handle(it);
	*n = cbor_string_length(it);
	return true;
}

bool
nacre_cbor_text_eq(const cbor_item_t *it, const char *s)
{
	const char *p;
	size_t n;

	return nacre_cbor_text(it, &p, &n) && n == strlen(s) &&
	       (n == 0 || memcmp(p, s, n) == 0);
}

/* libcbor 0.8's cbor_is_null() asserts on floats: look at the width first */
static int
ctrl_value(const cbor_item_t *it)
{
	if (!it || !cbor_isa_float_ctrl(it) ||
	    cbor_float_get_width(it) != CBOR_FLOAT_0)
		return -1;
	return cbor_ctrl_value(it);
}

bool
nacre_cbor_is_null(const cbor_item_t *it)
{
	return ctrl_value(it) == CBOR_CTRL_NULL;
}

const char *
nacre_cbor_type_name(const cbor_item_t *it)
{
	if (!it)
		return "nothing";
	switch (cbor_typeof(it)) {
	case CBOR_TYPE_UINT: return "an unsigned integer";
	case CBOR_TYPE_NEGINT: return "a negative integer";
	case CBOR_TYPE_BYTESTRING:
		return cbor_bytestring_is_definite(it) ? "a byte string" :
		       "an indefinite-length byte string";
	case CBOR_TYPE_STRING:
		return cbor_string_is_definite(it) ? "a text string" :
		       "an indefinite-length text string";
	case CBOR_TYPE_ARRAY: return "an array";
	case CBOR_TYPE_MAP: return "a map";
	case CBOR_TYPE_TAG: return "a tag";
	case CBOR_TYPE_FLOAT_CTRL:
		switch (ctrl_value(it)) {
		case CBOR_CTRL_NULL: return "null";
		case CBOR_CTRL_TRUE:
		case CBOR_CTRL_FALSE: return "a boolean";
		case CBOR_CTRL_UNDEF: return "undefined";
		case -1: return "a float";
		default: return "a simple value";
		}
	}
	return "an unknown item";
}

/* ---------------------------------------------------------------------- */
/* CBOR writing: minimal-length heads, growable buffer. */

static bool
cbw_reserve(struct nacre_cbw *w, size_t n)
{
	if (w->failed)
		return false;
	if (n > SIZE_MAX / 2 - w->len) {
		w->failed = true;
		return false;
	}
	if (w->len + n <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : 256;
	while (cap < w->len + n)
		cap *= 2;
	uint8_t *b = realloc(w->buf, cap);
	if (!b) {
		w->failed = true;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

void
nacre_cbw_raw(struct nacre_cbw *w, const void *p, size_t n)
{
	if (!n || !cbw_reserve(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void
nacre_cbw_head(struct nacre_cbw *w, unsigned major, uint64_t val)
{
	uint8_t h[9];
	size_t n;

	h[0] = (uint8_t)(major << 5);
	if (val < 24) {
		h[0] |= (uint8_t)val;
		n = 1;
	} else if (val <= 0xff) {
		h[0] |= 24;
		n = 2;
	} else if (val <= 0xffff) {
		h[0] |= 25;
		n = 3;
	} else if (val <= 0xffffffff) {
		h[0] |= 26;
		n = 5;
	} else {
		h[0] |= 27;
		n = 9;
	}
	for (size_t i = n; i > 1; i--) {
		h[i - 1] = (uint8_t)val;
		val >>= 8;
	}
	nacre_cbw_raw(w, h, n);
}

void
nacre_cbw_uint(struct nacre_cbw *w, uint64_t v)
{
	nacre_cbw_head(w, 0, v);
}

void
nacre_cbw_bytes(struct nacre_cbw *w, const uint8_t *p, size_t n)
{
	nacre_cbw_head(w, 2, n);
	nacre_cbw_raw(w, p, n);
}

void
nacre_cbw_text(struct nacre_cbw *w, const char *s)
{
	size_t n = strlen(s);

	nacre_cbw_head(w, 3, n);
	nacre_cbw_raw(w, s, n);
}

void
nacre_cbw_null(struct nacre_cbw *w)
{
	static const uint8_t null = 0xf6;

	nacre_cbw_raw(w, &null, 1);
}

void
nacre_cbw_opt_bytes(struct nacre_cbw *w, const uint8_t *p, size_t n)
{
	if (p)
		nacre_cbw_bytes(w, p, n);
	else
		nacre_cbw_null(w);
}

int
nacre_cbw_finish(struct nacre_cbw *w, uint8_t **out, size_t *len)
{
	if (w->failed || !cbw_reserve(w, 1)) {
		free(w->buf);
		*w = (struct nacre_cbw){ 0 };
		*out = NULL;
		*len = 0;
		return -1;
	}
	*out = w->buf;
	*len = w->len;
	*w = (struct nacre_cbw){ 0 };
	return 0;
}

