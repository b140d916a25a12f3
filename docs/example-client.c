/* example-client.c: an OpenSSL client that talks only to an attested nacre.
 *   cc example-client.c $(pkg-config --cflags --libs nacre) -o example-client
 *   ./example-client HOST PORT POLICY_FILE */
#include <stdio.h>
#include <openssl/ssl.h>
#include <nacre/verify.h>

int main(int argc, char **argv)
{
	char err[512], target[300];
	struct nacre_policy *policy;
	if (argc != 4 || nacre_policy_load(&policy, argv[3], err, sizeof(err)) != 0) {
		fprintf(stderr, "usage: example-client HOST PORT POLICY (%s)\n", argc == 4 ? err : "");
		return 2;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	nacre_ssl_ctx_verify(ctx, policy);           /* the one call */
	snprintf(target, sizeof(target), "%s:%s", argv[1], argv[2]);
	BIO *b = BIO_new_ssl_connect(ctx);
	BIO_set_conn_hostname(b, target);
	int ok = BIO_do_handshake(b) == 1;
	SSL *ssl = NULL;
	BIO_get_ssl(b, &ssl);
	const struct nacre_result *r = nacre_ssl_result(ssl);
	printf("%s: %s\n", ok ? "verified" : "refused", r ? r->message : "no certificate checked");
	if (r && r->warning[0])                      /* e.g. a policy with allow_any_code */
		fprintf(stderr, "warning: %s\n", r->warning);
	if (ok)
		printf("module %s, PCR0 %02x%02x..., signed at %llu ms\n", r->module_id,
		       r->pcr[0][0], r->pcr[0][1], (unsigned long long)r->timestamp_ms);
	BIO_free_all(b);
	SSL_CTX_free(ctx);
	nacre_policy_free(policy);
	return ok ? 0 : 1;
}
