/*
 * listener.c: bound, listening sockets for tcp and vsock addresses. One
 * socket shared by the workers' event loops (balance = "pack"; worker.c
 * decides which loops watch it), or one SO_REUSEPORT socket per worker
 * (balance = "spread", TCP only). Refcounts decide when the sockets may be
 * closed (never while a worker still has them registered).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

#define LISTEN_BACKLOG 4096

static int
open_one(const struct nacre_addr *a, bool reuseport, char *err, size_t errlen)
{
	int fd, one = 1;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create socket: %s%s", a->text,
			 strerror(errno), a->kind == NACRE_ADDR_VSOCK ?
			 " (is the vsock module loaded?)" : "");
		return -1;
	}
	if (a->kind == NACRE_ADDR_TCP) {
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* accepted sockets inherit it: no setsockopt per connection */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		snprintf(err, errlen, "%s: SO_REUSEPORT: %s", a->text,
			 strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->sslen) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		snprintf(err, errlen, "%s: cannot listen: %s", a->text,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct nacre_listener *
nacre_listener_open(const struct nacre_addr *a, unsigned nworkers, bool spread,
		    char *err, size_t errlen)
{
	bool per_worker = spread && a->kind == NACRE_ADDR_TCP && nworkers > 1;
	unsigned n = per_worker ? nworkers : 1;
	struct nacre_listener *l = calloc(1, sizeof(*l));

	if (!l || !(l->fds = calloc(n, sizeof(*l->fds))) ||
	    !(l->stats = nacre_listener_stats_new(a->text))) {
		snprintf(err, errlen, "%s: out of memory", a->text);
		if (l)
			free(l->fds);
		free(l);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		l->fds[i] = open_one(a, per_worker, err, errlen);
		if (l->fds[i] < 0) {
			while (i-- > 0)
				close(l->fds[i]);
			nacre_listener_stats_unref(l->stats);
			free(l->fds);
			free(l);
			return NULL;
		}
	}
	atomic_init(&l->refs, 1);
	l->nfds = n;
	l->addr = *a;
	return l;
}

int
nacre_listener_fd(const struct nacre_listener *l, unsigned worker)
{
	return l->fds[worker % l->nfds];
}

void
nacre_listener_ref(struct nacre_listener *l)
{
	atomic_fetch_add(&l->refs, 1);
}

void
nacre_listener_unref(struct nacre_listener *l)
{
	if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	for (unsigned i = 0; i < l->nfds; i++)
		close(l->fds[i]);
	nacre_listener_stats_unref(l->stats); /* connections may hold it */
	free(l->fds);
	free(l);
}
