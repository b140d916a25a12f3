/*
 * fuzz_policy.c: nacre_policy_parse on arbitrary text. A policy is either
 * built or refused with a message naming the file; never a crash, a leak or
 * a hang. Root files named by the input are opened read-only; devices and
 * files over 64 KiB are refused before they are read.
 */
#include <stdlib.h>
#include <string.h>

#include "nacre/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nacre_policy *p = NULL;
	char err[512] = "", *text;
	int rc;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = nacre_policy_parse(&p, text, "fuzz.policy", err, sizeof(err));
	if (rc == 0 && !p)
		abort();
	if (rc != 0 && (p || strncmp(err, "fuzz.policy", 11) != 0))
		abort(); /* refused: no policy, and the message names the file */
	nacre_policy_free(p);
	free(text);
	return 0;
}
