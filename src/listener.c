/*
 * listener.c: bound, listening sockets for tcp and vsock addresses. One
 * socket is shared by every worker's event loop; refcounts decide when it
 * may be closed (never while a worker still has it registered).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

#define LISTEN_BACKLOG 4096

struct nacre_listener *
nacre_listener_open(const struct nacre_addr *a, char *err, size_t errlen)
{
	struct nacre_listener *l;
	int fd, one = 1;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create socket: %s%s", a->text,
			 strerror(errno), a->kind == NACRE_ADDR_VSOCK ?
			 " (is the vsock module loaded?)" : "");
		return NULL;
	}
	if (a->kind == NACRE_ADDR_TCP)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->sslen) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		snprintf(err, errlen, "%s: cannot listen: %s", a->text,
			 strerror(errno));
		close(fd);
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "%s: out of memory", a->text);
		close(fd);
		return NULL;
	}
	atomic_init(&l->refs, 1);
	l->fd = fd;
	l->addr = *a;
	return l;
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
	close(l->fd);
	free(l);
}
