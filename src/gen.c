/*
 * gen.c: generations, the unit of atomic swap on reload and rotation.
 */
#include <stdlib.h>

#include "runtime.h"
#include "acme/acme.h"

static atomic_uint_fast64_t next_gen_id = 1;

struct nacre_gen *
nacre_gen_new(struct nacre_config *cfg, SSL_CTX *ctx,
	      struct nacre_listener **ls, size_t nls)
{
	struct nacre_gen *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->listeners = calloc(nls ? nls : 1, sizeof(*g->listeners));
	g->listener_pp = calloc(nls ? nls : 1, sizeof(*g->listener_pp));
	if (!g->listeners || !g->listener_pp) {
		free(g->listeners);
		free(g->listener_pp);
		free(g);
		return NULL;
	}
	atomic_init(&g->refs, 1);
	g->id = atomic_fetch_add(&next_gen_id, 1);
	g->cfg = cfg;
	atomic_fetch_add(&cfg->refs, 1); /* rotation shares one config */
	g->ssl_ctx = ctx;
	for (size_t i = 0; i < nls; i++) {
		g->listeners[i] = ls[i];
		g->listener_pp[i] = cfg->listen[i].proxy_protocol;
	}
	g->nlisteners = nls;
	return g;
}

void
nacre_gen_ref(struct nacre_gen *g)
{
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
}

void
nacre_gen_unref(struct nacre_gen *g)
{
	if (!g || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	SSL_CTX_free(g->ssl_ctx);
	nacre_acme_served_unref(g->acme);
	if (atomic_fetch_sub(&g->cfg->refs, 1) == 1)
		nacre_config_free(g->cfg);
	free(g->listeners);
	free(g->listener_pp);
	free(g);
}
