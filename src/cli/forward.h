/*
 * forward.h: nacre forward, the parent instance's side of an enclave:
 * inbound rules (TCP clients to the enclave's vsock port, with a PROXY v2
 * header naming the client) and outbound rules (one vsock port of the
 * parent to one allow-listed TCP destination). A byte pump: it never sees
 * plaintext of nacred's clients. Shared by cmd_forward.c (options, the
 * event loop), forward_conf.c (the file), forward_pump.c (connections)
 * and forward_admin.c (/metrics, /healthz).
 */
#ifndef NACRE_FORWARD_H
#define NACRE_FORWARD_H

#include <stdbool.h>
#include <stdint.h>

#include "nacred.h"

#define FWD_MAX_RULES 64
#define FWD_HOST_MAX 254          /* a DNS name, 253 bytes, and a NUL */
#define FWD_ANY_CID UINT32_MAX    /* outbound: any peer CID may connect */

#define FWD_DEFAULT_MAX_CONNECTIONS 4096
#define FWD_DEFAULT_BUFFER (64 * 1024)
#define FWD_DEFAULT_CONNECT_TIMEOUT_MS 5000
#define FWD_DEFAULT_IDLE_TIMEOUT_MS (5 * 60 * 1000)
#define FWD_DEFAULT_DRAIN_TIMEOUT_MS 30000

enum fwd_dir { FWD_IN, FWD_OUT };

/* how a connection ended: the outcome label of the metrics */
enum fwd_outcome {
	FWD_OK,             /* both sides ended their streams (FIN each way) */
	FWD_CONNECT_FAILED, /* the target could not be reached (or resolved) */
	FWD_TIMEOUT,        /* connect or idle timeout */
	FWD_RESET,          /* a side broke its stream; the other was reset */
	FWD_REFUSED,        /* not allowed (an outbound rule's from_cid) */
	FWD_DRAIN,          /* cut at the drain deadline */
	FWD_INTERNAL,       /* out of memory and the like */
	FWD_OUTCOME_COUNT
};
const char *nacre_fwd_outcome_name(enum fwd_outcome o);

struct fwd_rule_stats {
	uint64_t conns[FWD_OUTCOME_COUNT];
	uint64_t bytes_to_target, bytes_from_target;
	uint64_t active;
};

struct evconnlistener;
struct nacre_listener;

struct fwd_rule {
	enum fwd_dir dir;
	struct nacre_addr listen;
	char target_text[300];    /* as written */
	/* a target with a numeric address (or vsock) is resolved once; a
	 * tcp HOST that is a name is resolved at each connect (evdns) */
	bool by_name;
	struct nacre_addr target; /* !by_name */
	char host[FWD_HOST_MAX];  /* by_name */
	uint16_t port;
	bool proxy_protocol;      /* inbound: a PROXY v2 header first */
	uint32_t from_cid;        /* outbound on vsock: the one peer CID
				     allowed, or FWD_ANY_CID */
	unsigned line;            /* in the file (0: a flag) */

	/* running */
	struct nacre_listener *sock;
	struct evconnlistener *lev;
	struct fwd_rule_stats st;
};

struct fwd_config {
	struct fwd_rule rules[FWD_MAX_RULES];
	size_t nrules;
	uint64_t max_connections;
	uint64_t buffer;          /* bytes queued per direction before the
				     reading side is paused */
	uint64_t connect_timeout_ms, idle_timeout_ms, drain_timeout_ms;
	bool has_admin;
	struct nacre_addr admin;
	int log_level;
};

void nacre_fwd_config_defaults(struct fwd_config *c);
/* "LISTEN=TARGET" from --in / --out (line 0) or a file; 0, or -1 + err */
int nacre_fwd_rule_add(struct fwd_config *c, enum fwd_dir dir,
		       const char *listen, const char *target,
		       bool proxy_protocol, uint32_t from_cid, unsigned line,
		       char *err, size_t errlen);
/* the libconfig file (forward_conf.c): "FILE:LINE: what; what instead" */
int nacre_fwd_config_load(struct fwd_config *c, const char *path,
			  char *err, size_t errlen);
/* the whole: at least one rule, no listen address twice; 0 or -1 + err */
int nacre_fwd_config_check(const struct fwd_config *c, char *err,
			   size_t errlen);

/* the running forwarder (cmd_forward.c) */
struct event_base;
struct evdns_base;
struct fwd_conn;
struct fwd {
	struct fwd_config *cfg;
	struct event_base *base;
	struct evdns_base *dns;
	struct fwd_conn *conns;   /* every live connection */
	uint64_t nconns;
	uint64_t next_id;
	uint64_t accept_pauses;   /* max_connections reached */
	uint64_t accept_errors;
	bool paused, draining;
	int64_t started_at;
};

/* forward_pump.c: a connection accepted on rule R */
void nacre_fwd_conn_start(struct fwd *f, struct fwd_rule *r, int fd,
			  const struct sockaddr *peer, int peerlen);
/* at the drain deadline: every connection is cut (reset) */
void nacre_fwd_conn_cut_all(struct fwd *f);
/* a connection ended: cmd_forward.c resumes accepting, ends a drain */
void nacre_fwd_conn_closed(struct fwd *f);

/* forward_admin.c: listens on cfg->admin; NULL + err when it cannot */
struct fwd_admin;
struct fwd_admin *nacre_fwd_admin_start(struct fwd *f, char *err,
				       size_t errlen);
void nacre_fwd_admin_stop(struct fwd_admin *a);

#endif
