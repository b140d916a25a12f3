/*
 * err.c: the one-sentence error convention shared by libnacre and nacred:
 * a function that fails writes what went wrong into (err, errlen) and its
 * caller decides whether and how to report it.
 */
#include <stdarg.h>
#include <stdio.h>

#include "nacred.h"

/* err/errlen pairs carry one sentence back to the caller that decides
 * whether and how to log it */
void
nacre_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
