/*
 * tdx_collateral.c: Intel PCS collateral for TDX: TCB Info v3 (id "TDX")
 * and QE Identity v2 (id "TD_QE"), read with jansson; the signed body is
 * the raw bytes of the "tcbInfo" / "enclaveIdentity" value as they appear
 * in the document, which is what Intel signs. Then the evaluations: the
 * platform's TCB level (PCK SGX components, PCESVN, TEE_TCB_SVN), the TDX
 * module identity, the QE report against the QE identity, and the
 * convergence of their statuses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "nacred.h"
#include "tdx.h"

#define LEVELS_MAX 64
#define MODULES_MAX 8
#define MODULE_LEVELS_MAX 32
#define COLLATERAL_MAX (1 << 20)

struct tcb_level {
	uint8_t sgx[16];
	uint16_t pcesvn;
	uint8_t tdx[16];
	enum nacre_tdx_tcb_status status;
	char date[32];
	char advisories[256];
};

struct isv_level {
	uint16_t isvsvn;
	enum nacre_tdx_tcb_status status;
	char date[32];
};

struct module_identity {
	char id[16];
	uint8_t mrsigner[48];
	uint8_t attributes[8];
	uint8_t mask[8];
	size_t nlevels;
	struct isv_level levels[MODULE_LEVELS_MAX];
};

struct nacre_tdx_tcb_info {
	char *text;			/* our copy; s.body points into it */
	struct nacre_tdx_signed s;
	uint8_t fmspc[6];
	uint8_t pceid[2];
	struct module_identity module;	/* "tdxModule" */
	size_t nmodules;
	struct module_identity modules[MODULES_MAX];
	size_t nlevels;
	struct tcb_level levels[LEVELS_MAX];
};

struct nacre_tdx_qe_identity {
	char *text;
	struct nacre_tdx_signed s;
	uint32_t miscselect, miscselect_mask;
	uint8_t attributes[16], attributes_mask[16];
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	size_t nlevels;
	struct isv_level levels[LEVELS_MAX];
};

static const char *const tcb_names[NACRE_TDX_TCB_NSTATUS] = {
	[NACRE_TDX_TCB_UP_TO_DATE] = "UpToDate",
	[NACRE_TDX_TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
	[NACRE_TDX_TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
	[NACRE_TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] =
		"ConfigurationAndSWHardeningNeeded",
	[NACRE_TDX_TCB_OUT_OF_DATE] = "OutOfDate",
	[NACRE_TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] =
		"OutOfDateConfigurationNeeded",
	[NACRE_TDX_TCB_REVOKED] = "Revoked",
};

const char *
nacre_tdx_tcb_status_name(enum nacre_tdx_tcb_status s)
{
	return (unsigned)s < NACRE_TDX_TCB_NSTATUS ? tcb_names[s] : "unknown";
}

int
nacre_tdx_parse_time(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, se, n = 0;

	if (strlen(s) != 20 ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se,
		   &n) != 6 || n != 20 || mo < 1 || mo > 12 || d < 1 ||
	    d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970)
		return -1;
	for (int i = 0; i < 20; i++)	/* no signs or spaces in the fields */
		if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 &&
		    i != 19 && (s[i] < '0' || s[i] > '9'))
			return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

/* ---------------------------------------------------------------------- */
/* The raw bytes of a top-level member's value (the document has already
 * been validated by jansson, so only strings and nesting matter here). */

static size_t
skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
			 s[i] == '\r'))
		i++;
	return i;
}

/* index after the string starting at s[i] == '"', or n */
static size_t
skip_string(const char *s, size_t i, size_t n)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

static size_t
skip_value(const char *s, size_t i, size_t n)
{
	size_t depth = 0;

	if (i < n && s[i] == '"')
		return skip_string(s, i, n);
	if (i < n && s[i] != '{' && s[i] != '[') {
		while (i < n && !strchr(",}] \t\r\n", s[i]))
			i++;
		return i;
	}
	while (i < n) {
		if (s[i] == '"') {
			i = skip_string(s, i, n);
			continue;
		}
		if (s[i] == '{' || s[i] == '[')
			depth++;
		else if ((s[i] == '}' || s[i] == ']') && --depth == 0)
			return i + 1;
		i++;
	}
	return n;
}

static int
raw_member(const char *s, size_t n, const char *key, const char **val,
	   size_t *vlen)
{
	size_t klen = strlen(key), i = skip_ws(s, 0, n);

	if (i >= n || s[i] != '{')
		return -1;
	for (i = skip_ws(s, i + 1, n); i < n && s[i] == '"';) {
		size_t k = i + 1, e = skip_string(s, i, n);
		bool match = e - k - 1 == klen && !memcmp(s + k, key, klen);

		i = skip_ws(s, e, n);
		if (i >= n || s[i] != ':')
			return -1;
		i = skip_ws(s, i + 1, n);
		size_t v = i;
		i = skip_value(s, i, n);
		if (match) {
			*val = s + v;
			*vlen = i - v;
			return 0;
		}
		i = skip_ws(s, i, n);
		if (i >= n || s[i] != ',')
			return -1;
		i = skip_ws(s, i + 1, n);
	}
	return -1;
}

/* ---------------------------------------------------------------------- */
/* Typed fields. Each reports "FIELD: what is wrong". */

static const char *
str_of(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int
get_hex(json_t *o, const char *k, uint8_t *out, size_t n, const char *ctx,
	char *err, size_t errlen)
{
	const char *s = str_of(o, k);

	if (!s || nacre_hex_decode(s, out, n) < 0) {
		nacre_seterr(err, errlen, "%s.%s: expected %zu bytes of hex", ctx,
			     k, n);
		return -1;
	}
	return 0;
}

static int
get_int(json_t *o, const char *k, long long max, long long *out,
	const char *ctx, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max) {
		nacre_seterr(err, errlen, "%s.%s: expected an integer 0..%lld",
			     ctx, k, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int
get_time(json_t *o, const char *k, time_t *out, const char *ctx, char *err,
	 size_t errlen)
{
	const char *s = str_of(o, k);

	if (!s || nacre_tdx_parse_time(s, out) < 0) {
		nacre_seterr(err, errlen, "%s.%s: expected a time "
			     "\"YYYY-MM-DDThh:mm:ssZ\"", ctx, k);
		return -1;
	}
	return 0;
}

static int
get_status(json_t *o, enum nacre_tdx_tcb_status *out, const char *ctx,
	   char *err, size_t errlen)
{
	const char *s = str_of(o, "tcbStatus");

	for (int i = 0; s && i < NACRE_TDX_TCB_NSTATUS; i++)
		if (!strcmp(s, tcb_names[i])) {
			*out = (enum nacre_tdx_tcb_status)i;
			return 0;
		}
	nacre_seterr(err, errlen, "%s.tcbStatus: \"%.40s\" is not a known TCB "
		     "status", ctx, s ? s : "(missing)");
	return -1;
}

static void
copy_date(json_t *o, char *out, size_t n)
{
	const char *s = str_of(o, "tcbDate");

	snprintf(out, n, "%s", s ? s : "");
}

/* the whole document: {"KEY": {...}, "signature": "<hex r||s>"} */
static json_t *
load_signed(const char *text, size_t len, const char *key, char **copy,
	    struct nacre_tdx_signed *sd, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc, *body;

	if (len == 0 || len > COLLATERAL_MAX) {
		nacre_seterr(err, errlen, "%zu bytes, allowed 1..%d", len,
			     COLLATERAL_MAX);
		return NULL;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		nacre_seterr(err, errlen, "not JSON (line %d: %s)", je.line,
			     je.text);
		return NULL;
	}
	body = json_object_get(doc, key);
	if (!json_is_object(body) || json_object_size(doc) != 2 ||
	    get_hex(doc, "signature", sd->sig, 64, "document", err,
		    errlen) < 0) {
		if (!json_is_object(body) || json_object_size(doc) != 2)
			nacre_seterr(err, errlen, "expected {\"%s\": {...}, "
				     "\"signature\": \"...\"}", key);
		json_decref(doc);
		return NULL;
	}
	if (!(*copy = malloc(len))) {
		nacre_seterr(err, errlen, "out of memory");
		json_decref(doc);
		return NULL;
	}
	memcpy(*copy, text, len);
	if (raw_member(*copy, len, key, &sd->body, &sd->body_len) < 0) {
		nacre_seterr(err, errlen, "cannot find the raw \"%s\" value",
			     key);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static int
parse_isv_levels(json_t *arr, struct isv_level *lv, size_t max, size_t *n,
		 const char *ctx, char *err, size_t errlen)
{
	char c[96];
	size_t i;
	json_t *l;
	long long x;

	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > max) {
		nacre_seterr(err, errlen, "%s.tcbLevels: expected 1..%zu levels",
			     ctx, max);
		return -1;
	}
	json_array_foreach(arr, i, l) {
		snprintf(c, sizeof(c), "%s.tcbLevels[%zu]", ctx, i);
		if (get_int(json_object_get(l, "tcb"), "isvsvn", 65535, &x, c,
			    err, errlen) < 0 ||
		    get_status(l, &lv[i].status, c, err, errlen) < 0)
			return -1;
		lv[i].isvsvn = (uint16_t)x;
		copy_date(l, lv[i].date, sizeof(lv[i].date));
	}
	*n = json_array_size(arr);
	return 0;
}

static int
parse_module(json_t *m, struct module_identity *mi, bool levels,
	     const char *ctx, char *err, size_t errlen)
{
	if (!json_is_object(m)) {
		nacre_seterr(err, errlen, "%s: expected an object", ctx);
		return -1;
	}
	if (levels) {
		const char *id = str_of(m, "id");
		if (!id || strlen(id) >= sizeof(mi->id)) {
			nacre_seterr(err, errlen, "%s.id: expected a short "
				     "string", ctx);
			return -1;
		}
		snprintf(mi->id, sizeof(mi->id), "%s", id);
	}
	if (get_hex(m, "mrsigner", mi->mrsigner, 48, ctx, err, errlen) < 0 ||
	    get_hex(m, "attributes", mi->attributes, 8, ctx, err, errlen) < 0 ||
	    get_hex(m, "attributesMask", mi->mask, 8, ctx, err, errlen) < 0)
		return -1;
	return levels ? parse_isv_levels(json_object_get(m, "tcbLevels"),
					 mi->levels, MODULE_LEVELS_MAX,
					 &mi->nlevels, ctx, err, errlen)
		      : 0;
}

static int
parse_components(json_t *arr, uint8_t out[16], const char *ctx, char *err,
		 size_t errlen)
{
	size_t i;
	json_t *c;
	long long x;

	if (!json_is_array(arr) || json_array_size(arr) != 16) {
		nacre_seterr(err, errlen, "%s: expected 16 components", ctx);
		return -1;
	}
	json_array_foreach(arr, i, c) {
		if (get_int(c, "svn", 255, &x, ctx, err, errlen) < 0)
			return -1;
		out[i] = (uint8_t)x;
	}
	return 0;
}

static void
join_advisories(json_t *arr, char *out, size_t n)
{
	size_t i, used = 0;
	json_t *a;

	out[0] = '\0';
	json_array_foreach(arr, i, a) {
		const char *s = json_string_value(a);
		int w;

		if (!s)
			continue;
		w = snprintf(out + used, n - used, "%s%s", used ? ", " : "", s);
		if (w < 0 || (size_t)w >= n - used) {
			out[used] = '\0';
			return;
		}
		used += (size_t)w;
	}
}

static int
parse_tcb_levels(json_t *arr, struct nacre_tdx_tcb_info *t, char *err,
		 size_t errlen)
{
	char c[96];
	size_t i;
	json_t *l;
	long long x;

	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > LEVELS_MAX) {
		nacre_seterr(err, errlen, "tcbInfo.tcbLevels: expected 1..%d "
			     "levels", LEVELS_MAX);
		return -1;
	}
	json_array_foreach(arr, i, l) {
		struct tcb_level *lv = &t->levels[i];
		json_t *tcb = json_object_get(l, "tcb");

		snprintf(c, sizeof(c), "tcbInfo.tcbLevels[%zu]", i);
		if (parse_components(json_object_get(tcb, "sgxtcbcomponents"),
				     lv->sgx, c, err, errlen) < 0 ||
		    parse_components(json_object_get(tcb, "tdxtcbcomponents"),
				     lv->tdx, c, err, errlen) < 0 ||
		    get_int(tcb, "pcesvn", 65535, &x, c, err, errlen) < 0 ||
		    get_status(l, &lv->status, c, err, errlen) < 0)
			return -1;
		lv->pcesvn = (uint16_t)x;
		copy_date(l, lv->date, sizeof(lv->date));
		join_advisories(json_object_get(l, "advisoryIDs"),
				lv->advisories, sizeof(lv->advisories));
	}
	t->nlevels = json_array_size(arr);
	return 0;
}

static int
parse_tcb_info_body(json_t *b, struct nacre_tdx_tcb_info *t, char *err,
		    size_t errlen)
{
	const char *id = str_of(b, "id");
	long long v;
	json_t *mods, *m;
	size_t i;
	char c[64];

	if (!id || strcmp(id, "TDX")) {
		nacre_seterr(err, errlen, "tcbInfo.id: \"%.16s\", expected "
			     "\"TDX\" (an SGX TCB Info does not cover a TD)",
			     id ? id : "(missing)");
		return -1;
	}
	if (get_int(b, "version", 1000, &v, "tcbInfo", err, errlen) < 0)
		return -1;
	if (v != 3) {
		nacre_seterr(err, errlen, "tcbInfo.version: %lld, expected 3",
			     v);
		return -1;
	}
	if (get_int(b, "tcbType", 1000, &v, "tcbInfo", err, errlen) < 0)
		return -1;
	if (v != 0) {
		nacre_seterr(err, errlen, "tcbInfo.tcbType: %lld, expected 0", v);
		return -1;
	}
	if (get_time(b, "issueDate", &t->s.issue_date, "tcbInfo", err,
		     errlen) < 0 ||
	    get_time(b, "nextUpdate", &t->s.next_update, "tcbInfo", err,
		     errlen) < 0 ||
	    get_hex(b, "fmspc", t->fmspc, 6, "tcbInfo", err, errlen) < 0 ||
	    get_hex(b, "pceId", t->pceid, 2, "tcbInfo", err, errlen) < 0 ||
	    parse_module(json_object_get(b, "tdxModule"), &t->module, false,
			 "tcbInfo.tdxModule", err, errlen) < 0)
		return -1;
	mods = json_object_get(b, "tdxModuleIdentities");
	if (mods && (!json_is_array(mods) ||
		     json_array_size(mods) > MODULES_MAX)) {
		nacre_seterr(err, errlen, "tcbInfo.tdxModuleIdentities: "
			     "expected 0..%d identities", MODULES_MAX);
		return -1;
	}
	json_array_foreach(mods, i, m) {
		snprintf(c, sizeof(c), "tcbInfo.tdxModuleIdentities[%zu]", i);
		if (parse_module(m, &t->modules[i], true, c, err, errlen) < 0)
			return -1;
	}
	t->nmodules = mods ? json_array_size(mods) : 0;
	return parse_tcb_levels(json_object_get(b, "tcbLevels"), t, err,
				errlen);
}

void
nacre_tdx_tcb_info_free(struct nacre_tdx_tcb_info *t)
{
	if (!t)
		return;
	free(t->text);
	free(t);
}

int
nacre_tdx_tcb_info_parse(const char *json, size_t len,
			 struct nacre_tdx_tcb_info **out, char *err,
			 size_t errlen)
{
	struct nacre_tdx_tcb_info *t = calloc(1, sizeof(*t));
	json_t *doc;
	int rc = -1;

	*out = NULL;
	if (!t) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	doc = load_signed(json, len, "tcbInfo", &t->text, &t->s, err, errlen);
	if (doc && parse_tcb_info_body(json_object_get(doc, "tcbInfo"), t, err,
				       errlen) == 0) {
		*out = t;
		rc = 0;
	}
	json_decref(doc);
	if (rc < 0)
		nacre_tdx_tcb_info_free(t);
	return rc;
}

static int
parse_qe_identity_body(json_t *b, struct nacre_tdx_qe_identity *q, char *err,
		       size_t errlen)
{
	const char *id = str_of(b, "id");
	uint8_t m[4];
	long long v;

	if (!id || strcmp(id, "TD_QE")) {
		nacre_seterr(err, errlen, "enclaveIdentity.id: \"%.16s\", "
			     "expected \"TD_QE\" (the identity of the TDX "
			     "quoting enclave)", id ? id : "(missing)");
		return -1;
	}
	if (get_int(b, "version", 1000, &v, "enclaveIdentity", err,
		    errlen) < 0)
		return -1;
	if (v != 2) {
		nacre_seterr(err, errlen, "enclaveIdentity.version: %lld, "
			     "expected 2", v);
		return -1;
	}
	if (get_time(b, "issueDate", &q->s.issue_date, "enclaveIdentity", err,
		     errlen) < 0 ||
	    get_time(b, "nextUpdate", &q->s.next_update, "enclaveIdentity",
		     err, errlen) < 0 ||
	    get_hex(b, "mrsigner", q->mrsigner, 32, "enclaveIdentity", err,
		    errlen) < 0 ||
	    get_hex(b, "attributes", q->attributes, 16, "enclaveIdentity", err,
		    errlen) < 0 ||
	    get_hex(b, "attributesMask", q->attributes_mask, 16,
		    "enclaveIdentity", err, errlen) < 0 ||
	    get_int(b, "isvprodid", 65535, &v, "enclaveIdentity", err,
		    errlen) < 0)
		return -1;
	q->isvprodid = (uint16_t)v;
	/* MISCSELECT is written big-endian in the JSON */
	if (get_hex(b, "miscselect", m, 4, "enclaveIdentity", err, errlen) < 0)
		return -1;
	q->miscselect = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 |
			(uint32_t)m[2] << 8 | m[3];
	if (get_hex(b, "miscselectMask", m, 4, "enclaveIdentity", err,
		    errlen) < 0)
		return -1;
	q->miscselect_mask = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 |
			     (uint32_t)m[2] << 8 | m[3];
	return parse_isv_levels(json_object_get(b, "tcbLevels"), q->levels,
				LEVELS_MAX, &q->nlevels, "enclaveIdentity",
				err, errlen);
}

void
nacre_tdx_qe_identity_free(struct nacre_tdx_qe_identity *q)
{
	if (!q)
		return;
	free(q->text);
	free(q);
}

int
nacre_tdx_qe_identity_parse(const char *json, size_t len,
			    struct nacre_tdx_qe_identity **out, char *err,
			    size_t errlen)
{
	struct nacre_tdx_qe_identity *q = calloc(1, sizeof(*q));
	json_t *doc;
	int rc = -1;

	*out = NULL;
	if (!q) {
		nacre_seterr(err, errlen, "out of memory");
		return -1;
	}
	doc = load_signed(json, len, "enclaveIdentity", &q->text, &q->s, err,
			  errlen);
	if (doc && parse_qe_identity_body(json_object_get(doc,
							  "enclaveIdentity"),
					  q, err, errlen) == 0) {
		*out = q;
		rc = 0;
	}
	json_decref(doc);
	if (rc < 0)
		nacre_tdx_qe_identity_free(q);
	return rc;
}

const struct nacre_tdx_signed *
nacre_tdx_tcb_info_signed(const struct nacre_tdx_tcb_info *t)
{
	return &t->s;
}

const struct nacre_tdx_signed *
nacre_tdx_qe_identity_signed(const struct nacre_tdx_qe_identity *q)
{
	return &q->s;
}

/* ---------------------------------------------------------------------- */
/* Evaluations. */

int
nacre_tdx_tcb_info_match_platform(const struct nacre_tdx_tcb_info *t,
				  const struct nacre_tdx_pck_ext *e, char *err,
				  size_t errlen)
{
	char a[13], b[13];

	if (memcmp(t->fmspc, e->fmspc, 6)) {
		nacre_hex_encode(t->fmspc, 6, a);
		nacre_hex_encode(e->fmspc, 6, b);
		nacre_seterr(err, errlen, "the TCB Info is for FMSPC %s but the "
			     "PCK certificate says %s; fetch the TCB Info for "
			     "fmspc=%s from Intel PCS", a, b, b);
		return -1;
	}
	if (memcmp(t->pceid, e->pceid, 2)) {
		nacre_hex_encode(t->pceid, 2, a);
		nacre_hex_encode(e->pceid, 2, b);
		nacre_seterr(err, errlen, "the TCB Info is for PCE-ID %s but the "
			     "PCK certificate says %s", a, b);
		return -1;
	}
	return 0;
}

static bool
sgx_covers(const struct tcb_level *l, const struct nacre_tdx_pck_ext *e)
{
	for (int i = 0; i < 16; i++)
		if (e->sgx_comp[i] < l->sgx[i])
			return false;
	return e->pcesvn >= l->pcesvn;
}

/* TEE_TCB_SVN bytes 0 and 1 are the TDX module's SVN and version when the
 * version is not 0: the module identity judges them, not the level */
static bool
tdx_covers(const struct tcb_level *l, const uint8_t svn[16])
{
	for (int i = svn[1] > 0 ? 2 : 0; i < 16; i++)
		if (svn[i] < l->tdx[i])
			return false;
	return true;
}

/* why the lowest level does not cover the platform */
static void
shortfall(const struct tcb_level *l, const struct nacre_tdx_pck_ext *e,
	  const uint8_t svn[16], char *out, size_t n)
{
	for (int i = 0; i < 16; i++)
		if (e->sgx_comp[i] < l->sgx[i]) {
			snprintf(out, n, "PCK SGX TCB component %d is %u, the "
				 "lowest level needs %u", i, e->sgx_comp[i],
				 l->sgx[i]);
			return;
		}
	if (e->pcesvn < l->pcesvn) {
		snprintf(out, n, "PCESVN is %u, the lowest level needs %u",
			 e->pcesvn, l->pcesvn);
		return;
	}
	for (int i = svn[1] > 0 ? 2 : 0; i < 16; i++)
		if (svn[i] < l->tdx[i]) {
			snprintf(out, n, "TEE_TCB_SVN[%d] is %u, the lowest "
				 "level needs %u", i, svn[i], l->tdx[i]);
			return;
		}
	snprintf(out, n, "no level matched");
}

static int
module_check(const struct nacre_tdx_tcb_info *t,
	     const struct nacre_tdx_td_body *td, struct nacre_tdx_tcb_eval *o,
	     enum nacre_tdx_status *st, char *err, size_t errlen)
{
	const struct module_identity *m = &t->module;
	uint8_t ver = td->tee_tcb_svn[1], isvsvn = td->tee_tcb_svn[0];
	char id[16];

	o->module = NACRE_TDX_TCB_UP_TO_DATE;
	if (ver > 0) {
		snprintf(id, sizeof(id), "TDX_%02X", ver);
		m = NULL;
		for (size_t i = 0; i < t->nmodules && !m; i++)
			if (!strcmp(t->modules[i].id, id))
				m = &t->modules[i];
		if (!m) {
			*st = NACRE_TDX_E_TDX_MODULE;
			nacre_seterr(err, errlen, "the TDX module version %u "
				     "(TEE_TCB_SVN[1]) has no identity %s in "
				     "the TCB Info; fetch a current TCB Info",
				     ver, id);
			return -1;
		}
		size_t i;
		for (i = 0; i < m->nlevels; i++)
			if (isvsvn >= m->levels[i].isvsvn)
				break;
		if (i == m->nlevels) {
			*st = NACRE_TDX_E_TCB_NOT_FOUND;
			nacre_seterr(err, errlen, "the TDX module's SVN %u is "
				     "below every level of %s in the TCB Info; "
				     "update the TDX module", isvsvn, id);
			return -1;
		}
		o->module = m->levels[i].status;
	}
	if (memcmp(td->mrsignerseam, m->mrsigner, 48)) {
		*st = NACRE_TDX_E_TDX_MODULE;
		nacre_seterr(err, errlen, "MRSIGNERSEAM is not the TDX module "
			     "signer the TCB Info names (Intel's is all zero): "
			     "the TD runs on a module Intel did not sign");
		return -1;
	}
	for (int i = 0; i < 8; i++)
		if ((td->seam_attributes[i] & m->mask[i]) !=
		    (m->attributes[i] & m->mask[i])) {
			*st = NACRE_TDX_E_TDX_MODULE;
			nacre_seterr(err, errlen, "SEAMATTRIBUTES byte %d is "
				     "0x%02x, the TCB Info expects 0x%02x under "
				     "mask 0x%02x", i, td->seam_attributes[i],
				     m->attributes[i], m->mask[i]);
			return -1;
		}
	return 0;
}

int
nacre_tdx_tcb_evaluate(const struct nacre_tdx_tcb_info *t,
		       const struct nacre_tdx_pck_ext *e,
		       const struct nacre_tdx_td_body *td,
		       struct nacre_tdx_tcb_eval *o,
		       enum nacre_tdx_status *st, char *err, size_t errlen)
{
	const struct tcb_level *found = NULL;
	bool sgx_found = false;
	char why[128];

	memset(o, 0, sizeof(*o));
	/* Intel lists levels newest first: the first level whose SGX
	 * components the PCK covers fixes the SGX side (a Revoked one ends
	 * the search); from there the first whose TDX components the
	 * TEE_TCB_SVN covers is the platform's level */
	for (size_t i = 0; i < t->nlevels && !found; i++) {
		const struct tcb_level *l = &t->levels[i];

		if (!sgx_found && !sgx_covers(l, e))
			continue;
		if (!sgx_found && l->status == NACRE_TDX_TCB_REVOKED) {
			o->platform = NACRE_TDX_TCB_REVOKED;
			snprintf(o->tcb_date, sizeof(o->tcb_date), "%s",
				 l->date);
			snprintf(o->advisories, sizeof(o->advisories), "%s",
				 l->advisories);
			return module_check(t, td, o, st, err, errlen);
		}
		sgx_found = true;
		if (tdx_covers(l, td->tee_tcb_svn))
			found = l;
	}
	if (!found) {
		shortfall(&t->levels[t->nlevels - 1], e, td->tee_tcb_svn, why,
			  sizeof(why));
		*st = NACRE_TDX_E_TCB_NOT_FOUND;
		nacre_seterr(err, errlen, "no TCB level of the TCB Info covers "
			     "this platform (%s): its TCB is older than any "
			     "Intel lists (update microcode, BIOS and TDX "
			     "module) or the TCB Info belongs to another "
			     "platform", why);
		return -1;
	}
	o->platform = found->status;
	snprintf(o->tcb_date, sizeof(o->tcb_date), "%s", found->date);
	snprintf(o->advisories, sizeof(o->advisories), "%s",
		 found->advisories);
	return module_check(t, td, o, st, err, errlen);
}

int
nacre_tdx_qe_identity_evaluate(const struct nacre_tdx_qe_identity *q,
			       const struct nacre_sgx_report *r,
			       enum nacre_tdx_tcb_status *st, char *err,
			       size_t errlen)
{
	char a[65], b[65];

	if (memcmp(r->mrsigner, q->mrsigner, 32)) {
		nacre_hex_encode(r->mrsigner, 32, a);
		nacre_hex_encode(q->mrsigner, 32, b);
		nacre_seterr(err, errlen, "the QE's MRSIGNER %s is not the one "
			     "the QE Identity names (%s): the quote was not "
			     "made by Intel's TD quoting enclave", a, b);
		return -1;
	}
	if (r->isvprodid != q->isvprodid) {
		nacre_seterr(err, errlen, "the QE's ISVPRODID is %u, the QE "
			     "Identity says %u", r->isvprodid, q->isvprodid);
		return -1;
	}
	if ((r->miscselect & q->miscselect_mask) !=
	    (q->miscselect & q->miscselect_mask)) {
		nacre_seterr(err, errlen, "the QE's MISCSELECT 0x%08x does not "
			     "match the QE Identity's 0x%08x under mask 0x%08x",
			     r->miscselect, q->miscselect, q->miscselect_mask);
		return -1;
	}
	for (int i = 0; i < 16; i++)
		if ((r->attributes[i] & q->attributes_mask[i]) !=
		    (q->attributes[i] & q->attributes_mask[i])) {
			nacre_seterr(err, errlen, "the QE's ATTRIBUTES byte %d "
				     "is 0x%02x, the QE Identity expects 0x%02x "
				     "under mask 0x%02x (a debug QE?)", i,
				     r->attributes[i], q->attributes[i],
				     q->attributes_mask[i]);
			return -1;
		}
	/* below every level: Intel's QVL reports the QE out of date */
	*st = NACRE_TDX_TCB_OUT_OF_DATE;
	for (size_t i = 0; i < q->nlevels; i++)
		if (r->isvsvn >= q->levels[i].isvsvn) {
			*st = q->levels[i].status;
			break;
		}
	return 0;
}

/* a status as its parts: out of date, configuration, SW hardening */
#define F_OOD 1
#define F_CFG 2
#define F_SW 4

static unsigned
flags_of(enum nacre_tdx_tcb_status s)
{
	switch (s) {
	case NACRE_TDX_TCB_SW_HARDENING_NEEDED: return F_SW;
	case NACRE_TDX_TCB_CONFIGURATION_NEEDED: return F_CFG;
	case NACRE_TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
		return F_CFG | F_SW;
	case NACRE_TDX_TCB_OUT_OF_DATE: return F_OOD;
	case NACRE_TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED:
		return F_OOD | F_CFG;
	default: return 0;
	}
}

enum nacre_tdx_tcb_status
nacre_tdx_tcb_converge(enum nacre_tdx_tcb_status a,
		       enum nacre_tdx_tcb_status b)
{
	if (a == NACRE_TDX_TCB_REVOKED || b == NACRE_TDX_TCB_REVOKED)
		return NACRE_TDX_TCB_REVOKED;
	unsigned f = flags_of(a) | flags_of(b);
	if (f & F_OOD)
		return f & F_CFG ? NACRE_TDX_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED
				 : NACRE_TDX_TCB_OUT_OF_DATE;
	if ((f & (F_CFG | F_SW)) == (F_CFG | F_SW))
		return NACRE_TDX_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED;
	return f & F_CFG ? NACRE_TDX_TCB_CONFIGURATION_NEEDED
	       : f & F_SW ? NACRE_TDX_TCB_SW_HARDENING_NEEDED
			  : NACRE_TDX_TCB_UP_TO_DATE;
}
