/*
 * cfgread.c: libconfig text in, a config_t out, with libconfig 1.5's traps
 * closed first. nacred.conf and policy files both come through here.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nacred.h"

/*
 * What libconfig 1.5 gets wrong or does silently, found before it parses:
 * - "@include" opens any file (and we parse untrusted text, e.g. in the
 *   fuzzer);
 * - an integer literal too big for 32 bits is truncated without an error
 *   (4294967297 reads as 1);
 * - a string where the grammar allows none ("a = [ 1 "x" ]") is a syntax
 *   error whose string libconfig never frees.
 * This is a small tokenizer for comments, strings, names, numbers and
 * brackets; libconfig still judges everything else.
 */
#define MAX_NESTING 32

struct prescan {
	unsigned line;
	unsigned fatal_line;     /* refuse before libconfig runs */
	const char *fatal;
	unsigned big_line;       /* refuse after libconfig accepts */
	char big[24];
	char prev;               /* last token: 'S'tring, 'N'ame, '0', punct */
	unsigned depth;
	char stack[MAX_NESTING]; /* open brackets */
};

static void
prescan_fatal(struct prescan *ps, const char *what)
{
	if (!ps->fatal) {
		ps->fatal = what;
		ps->fatal_line = ps->line;
	}
}

static bool
number_too_big(const char *tok, size_t len)
{
	bool neg = tok[0] == '-', hex, is64 = false;
	uint64_t v = 0, limit;
	size_t i = (tok[0] == '-' || tok[0] == '+') ? 1 : 0;

	while (len > i && (tok[len - 1] == 'L' || tok[len - 1] == 'l')) {
		is64 = true;
		len--;
	}
	hex = len > i + 1 && tok[i] == '0' && (tok[i + 1] | 0x20) == 'x';
	if (hex)
		i += 2;
	for (; i < len; i++) {
		char ch = tok[i];
		unsigned d;
		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (hex && (ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
			d = (unsigned)((ch | 0x20) - 'a' + 10);
		else
			return false; /* a float or junk: libconfig decides */
		if (v > (UINT64_MAX - d) / (hex ? 16 : 10))
			return true;
		v = v * (hex ? 16 : 10) + d;
	}
	limit = is64 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX;
	return v > limit + (neg && !hex);
}

static const char *
skip_number(const char *t, struct prescan *ps)
{
	const char *start = t;
	bool hex = false, flt = false;

	if (*t == '-' || *t == '+')
		t++;
	if (t[0] == '0' && (t[1] | 0x20) == 'x') {
		hex = true;
		t += 2;
	}
	for (;; t++) {
		char ch = *t;
		if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || ch == '.') {
			if (ch == '.' || (!hex && (ch | 0x20) == 'e'))
				flt = true;
			continue;
		}
		/* the sign of an exponent: 1e-5 */
		if ((ch == '-' || ch == '+') && !hex && (t[-1] | 0x20) == 'e')
			continue;
		break;
	}
	size_t len = (size_t)(t - start);
	if (!flt && ps->big_line == 0 && number_too_big(start, len)) {
		ps->big_line = ps->line;
		snprintf(ps->big, sizeof(ps->big), "%.*s",
			 (int)(len < 20 ? len : 20), start);
	}
	return t;
}

/*
 * Strings are values: after "=" or ":", or as elements of [ ] or ( ).
 * libconfig joins adjacent strings ("a" "b" is "ab"); inside a list that is
 * a missing comma far more often than a wish, so only a value may do it.
 */
static bool
string_allowed(const struct prescan *ps)
{
	char open = ps->depth ? ps->stack[ps->depth - 1] : 0;
	bool in_list = open == '(' || open == '[';

	switch (ps->prev) {
	case '=': case ':': case '(': case '[':
		return true;
	case 'S':
		return !in_list;
	case ',':
		return in_list;
	default:
		return false;
	}
}

static const char *
skip_string(const char *t, struct prescan *ps)
{
	if (!string_allowed(ps))
		prescan_fatal(ps, "syntax error: a string cannot stand here; "
			      "is a ',' or a 'name =' missing before it?");
	for (t++; *t && *t != '"'; t++) {
		if (*t == '\\' && t[1])
			t++;
		ps->line += *t == '\n';
	}
	return *t ? t + 1 : t;
}

static void
punct(struct prescan *ps, char ch)
{
	if (ch == '(' || ch == '[' || ch == '{') {
		if (ps->depth == MAX_NESTING) {
			prescan_fatal(ps, "groups and lists are nested too "
				      "deeply; nacred.conf needs three levels");
			return;
		}
		ps->stack[ps->depth++] = ch;
	} else if ((ch == ')' || ch == ']' || ch == '}') && ps->depth) {
		ps->depth--;
	}
}

static bool
is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '*';
}

static void
prescan_text(const char *t, struct prescan *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->line = 1;
	while (*t && !ps->fatal) {
		char ch = *t;
		if (ch == '\n') {
			ps->line++;
			t++;
		} else if (strchr(" \t\r\f\v", ch)) {
			t++;
		} else if (ch == '#' || (ch == '/' && t[1] == '/')) {
			while (*t && *t != '\n')
				t++;
		} else if (ch == '/' && t[1] == '*') {
			for (t += 2; *t && !(t[0] == '*' && t[1] == '/'); t++)
				ps->line += *t == '\n';
			t += *t ? 2 : 0;
		} else if (ch == '"') {
			t = skip_string(t, ps);
			ps->prev = 'S';
		} else if (ch == '@') {
			prescan_fatal(ps, strncmp(t, "@include", 8) == 0
				? "@include is not supported; put every "
				  "setting in this one file"
				: "syntax error: unexpected '@'");
		} else if (is_name_char(ch) && !(ch >= '0' && ch <= '9') &&
			   ch != '-' && ch != '_') {
			while (is_name_char(*t))
				t++;
			ps->prev = 'N';
		} else if ((ch >= '0' && ch <= '9') ||
			   ((ch == '-' || ch == '+' || ch == '.') &&
			    t[1] >= '0' && t[1] <= '9')) {
			t = skip_number(t, ps);
			ps->prev = '0';
		} else {
			punct(ps, ch);
			ps->prev = ch;
			t++;
		}
	}
}

int
nacre_libconfig_read(config_t *cfg, const char *text, char *msg,
		     size_t msglen, unsigned *line)
{
	struct prescan ps;
	size_t len = strlen(text);
	char *copy = NULL;
	int ok;

	*line = 0;
	prescan_text(text, &ps);
	if (ps.fatal) {
		*line = ps.fatal_line;
		nacre_seterr(msg, msglen, "%s", ps.fatal);
		return -1;
	}
	/* Belt and braces: were an include to slip past the scan, libconfig
	 * would look under /dev/null/, which never opens. */
	config_set_include_dir(cfg, "/dev/null");
	/* libconfig 1.5 calls a comment on a last line without '\n' a syntax
	 * error; editors that leave out the final newline are common */
	if (len && text[len - 1] != '\n') {
		if (!(copy = malloc(len + 2))) {
			nacre_seterr(msg, msglen, "out of memory");
			return -1;
		}
		memcpy(copy, text, len);
		memcpy(copy + len, "\n", 2);
		text = copy;
	}
	ok = config_read_string(cfg, text);
	free(copy);
	if (!ok) {
		const char *e = config_error_text(cfg);
		*line = (unsigned)config_error_line(cfg);
		if (e && strcmp(e, "syntax error") != 0)
			nacre_seterr(msg, msglen, "syntax error (%s)", e);
		else
			nacre_seterr(msg, msglen, "syntax error (libconfig: %s); "
				     "look for a missing ';', '=', quote or "
				     "bracket here or on the line before",
				     e ? e : "?");
		return -1;
	}
	if (ps.big_line) {
		*line = ps.big_line;
		nacre_seterr(msg, msglen, "the number %s is out of range; no "
			     "setting takes a value that large", ps.big);
		return -1;
	}
	return 0;
}

/* What is at PATH when it is not a regular file, in words */
static const char *
file_kind(mode_t m)
{
	if (S_ISDIR(m)) return "a directory";
	if (S_ISFIFO(m)) return "a FIFO";
	if (S_ISSOCK(m)) return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
	return "not a regular file";
}

char *
nacre_read_text_file(const char *path, size_t max, const char *what,
		     char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (a reload
	 * runs on the main thread); it is refused below anyway */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	size_t len = 0;
	char *buf = NULL;

	if (fd < 0) {
		nacre_seterr(err, errlen, "%s: cannot read the %s: %s", path,
			     what, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		nacre_seterr(err, errlen, "%s: cannot read the %s: %s", path,
			     what, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		nacre_seterr(err, errlen, "%s: the %s must be a regular file; "
			     "this is %s", path, what, file_kind(st.st_mode));
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		nacre_seterr(err, errlen, "%s: the %s is larger than %zu KiB; "
			     "is this the right file?", path, what, max / 1024);
		goto fail;
	}
	/* one byte more than the limit tells a file that grew meanwhile */
	if (!(buf = malloc(max + 2))) {
		nacre_seterr(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			nacre_seterr(err, errlen, "%s: cannot read the %s: %s",
				     path, what, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			nacre_seterr(err, errlen, "%s: the %s is larger than %zu "
				     "KiB; is this the right file?", path, what,
				     max / 1024);
			goto fail;
		}
	}
	close(fd);
	buf[len] = '\0';
	if (strlen(buf) != len) {
		nacre_seterr(err, errlen, "%s: contains a NUL byte at offset %zu; "
			     "a %s is text", path, strlen(buf), what);
		free(buf);
		return NULL;
	}
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}
