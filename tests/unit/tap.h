/*
 * tap.h: the unit tests' tiny harness. Each check prints "ok - NAME" or
 * "not ok - NAME"; tests/run counts those lines across every suite.
 */
#ifndef NACRE_TAP_H
#define NACRE_TAP_H
#include <stdio.h>
#include <string.h>

static int tap_failed;

#define CHECK(cond, name) do {                                               \
	if (cond) { printf("ok - %s\n", (name)); }                           \
	else { printf("not ok - %s (%s:%d: %s)\n", (name), __FILE__,         \
		      __LINE__, #cond); tap_failed = 1; }                     \
	fflush(stdout);                                                       \
} while (0)

#define CHECK_STR(got, want, name) do {                                      \
	const char *g_ = (got), *w_ = (want);                                 \
	if (g_ && w_ && strcmp(g_, w_) == 0) { printf("ok - %s\n", (name)); } \
	else { printf("not ok - %s (%s:%d: got \"%s\", want \"%s\")\n",      \
		      (name), __FILE__, __LINE__, g_ ? g_ : "(null)",         \
		      w_ ? w_ : "(null)"); tap_failed = 1; }                  \
	fflush(stdout);                                                       \
} while (0)

/* substring check: error messages must name the problem */
#define CHECK_HAS(hay, needle, name) do {                                    \
	const char *h_ = (hay), *n_ = (needle);                               \
	if (h_ && strstr(h_, n_)) { printf("ok - %s\n", (name)); }            \
	else { printf("not ok - %s (%s:%d: \"%s\" lacks \"%s\")\n", (name),  \
		      __FILE__, __LINE__, h_ ? h_ : "(null)", n_);            \
		tap_failed = 1; }                                             \
	fflush(stdout);                                                       \
} while (0)

#define TAP_DONE() return tap_failed
#endif
