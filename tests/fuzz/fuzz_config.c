/*
 * fuzz_config.c: nacre_config_parse on arbitrary text. It must either
 * return a config that keeps every promise of config.c (upstream local,
 * values in range, ALPN well formed) or an error naming the file, and never
 * crash or leak. "@include" is refused before libconfig sees it, so no
 * input can make the parser open a file.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nacred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)
#define MAX_INPUT (64 * 1024)

/*
 * Host names in "tcp:" addresses go to getaddrinfo(); a fuzzer must not
 * send DNS queries (slow, and no network). This definition takes the place
 * of libc's for this binary: numeric addresses and "localhost" only.
 */
int
getaddrinfo(const char *node, const char *service,
	    const struct addrinfo *hints, struct addrinfo **res)
{
	struct fake {
		struct addrinfo ai;
		struct sockaddr_in6 sa; /* large enough for either family */
	} *f;
	struct sockaddr_in *in;
	char host[128];
	char *pct;
	int family = hints ? hints->ai_family : AF_UNSPEC;

	(void)service;
	if (!node || strlen(node) >= sizeof(host))
		return EAI_NONAME;
	snprintf(host, sizeof(host), "%s", node);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	f = calloc(1, sizeof(*f));
	if (!f)
		return EAI_MEMORY;
	f->ai.ai_socktype = SOCK_STREAM;
	f->ai.ai_addr = (struct sockaddr *)&f->sa;
	in = (struct sockaddr_in *)&f->sa;
	if (family != AF_INET6 && inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		f->ai.ai_family = AF_INET;
		f->ai.ai_addrlen = sizeof(*in);
		*res = &f->ai;
		return 0;
	}
	if ((pct = strchr(host, '%')) != NULL) {
		*pct++ = '\0';
		f->sa.sin6_scope_id = (uint32_t)strtoul(pct, NULL, 10);
	}
	if (family != AF_INET && inet_pton(AF_INET6, host, &f->sa.sin6_addr) == 1) {
		f->sa.sin6_family = AF_INET6;
		f->ai.ai_family = AF_INET6;
		f->ai.ai_addrlen = sizeof(f->sa);
		*res = &f->ai;
		return 0;
	}
	free(f);
	return EAI_NONAME;
}

void
freeaddrinfo(struct addrinfo *res)
{
	free(res); /* the fake above: one block, ai first */
}

static void
check_config(const struct nacre_config *c)
{
	REQUIRE(c->path && strcmp(c->path, "fuzz.conf") == 0);
	REQUIRE(c->nlisten >= 1 && c->nlisten <= 64 && c->listen);
	for (size_t i = 0; i < c->nlisten; i++) {
		REQUIRE(c->listen[i].addr.kind != NACRE_ADDR_UNIX);
		REQUIRE(c->listen[i].addr.sslen > 0 &&
			c->listen[i].addr.sslen <= sizeof(c->listen[i].addr.ss));
		REQUIRE(memchr(c->listen[i].addr.text, '\0',
			       sizeof(c->listen[i].addr.text)));
	}
	REQUIRE(nacre_addr_is_local(&c->upstream.addr));
	REQUIRE(c->upstream.proxy_protocol == NACRE_PP_NONE ||
		c->upstream.proxy_protocol == NACRE_PP_V2);
	REQUIRE(c->tls.key == NACRE_KEY_EC_P256 || c->tls.key == NACRE_KEY_EC_P384);
	REQUIRE(c->tls.nnames >= 1 && c->tls.names);
	REQUIRE(strlen(c->tls.names[0]) <= 64);
	for (size_t i = 0; i < c->tls.nnames; i++)
		REQUIRE(c->tls.names[i] && c->tls.names[i][0]);
	/* ALPN wire format: length-prefixed, non-empty, exactly filling */
	size_t off = 0;
	while (off < c->tls.alpn_len) {
		REQUIRE(c->tls.alpn[off] != 0);
		off += 1 + c->tls.alpn[off];
	}
	REQUIRE(off == c->tls.alpn_len);
	REQUIRE(c->limits.max_connections >= 1 &&
		c->limits.max_connections <= 1000000);
	REQUIRE(c->limits.handshake_timeout_ms >= 1);
	REQUIRE(c->limits.buffer >= 4096 && c->limits.buffer <= 16u << 20);
	REQUIRE(c->workers >= 1 && c->workers <= 256);
	REQUIRE(c->log_level >= NACRE_LOG_ERROR && c->log_level <= NACRE_LOG_DEBUG);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nacre_config *c = NULL;
	char err[NACRE_ERRLEN];
	char *text;

	if (size > MAX_INPUT)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (nacre_config_parse(text, "fuzz.conf", &c, err, sizeof(err)) == 0) {
		REQUIRE(c != NULL);
		check_config(c);
		nacre_config_free(c);
	} else {
		REQUIRE(c == NULL);
		REQUIRE(strncmp(err, "fuzz.conf:", 10) == 0); /* names the file */
		REQUIRE(memchr(err, '\0', sizeof(err)) != NULL);
	}
	free(text);
	return 0;
}
