/*
 * nacred.h: the structures every file of the daemon shares, and the functions
 * each file offers, listed under the file's name.
 */
#ifndef NACRED_H
#define NACRED_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#define NACRE_VERSION "0.1.0"
#define NACRE_EX_CONFIG 78 /* sysexits.h EX_CONFIG */
#define NACRE_ERRLEN 512

/* ---- addr.c: "tcp:HOST:PORT", "vsock:CID:PORT", "unix:/path" ---- */
enum nacre_addr_kind { NACRE_ADDR_TCP, NACRE_ADDR_VSOCK, NACRE_ADDR_UNIX };

struct nacre_addr {
	enum nacre_addr_kind kind;
	struct sockaddr_storage ss; /* resolved, ready for bind()/connect() */
	socklen_t sslen;
	char text[128];             /* as written, for logs and reload matching */
};

/* for_listen allows "vsock:any:PORT"; errors describe the expected form. */
int nacre_addr_parse(const char *s, bool for_listen, struct nacre_addr *out,
		     char *err, size_t errlen);
/* vsock, unix, or tcp to a loopback address: plaintext stays in the TEE. */
bool nacre_addr_is_local(const struct nacre_addr *a);
/* "1.2.3.4:5", "[::1]:5", "vsock:3:5", "unix:/p" for any sockaddr. */
void nacre_sockaddr_str(const struct sockaddr *sa, socklen_t len, char *out,
			size_t outlen);

/* ---- units.c: "10s", "5m", "250ms", "1h"; "64k", "1m" ---- */
int nacre_parse_duration_ms(const char *s, uint64_t *ms);
int nacre_parse_size(const char *s, uint64_t *bytes);

/* ---- verify/cfgread.c: libconfig with its 1.5 traps closed ---- */
struct config_t;
/* 0, or -1 with msg (no file name) and *line (0 if none) */
int nacre_libconfig_read(struct config_t *cfg, const char *text, char *msg,
			 size_t msglen, unsigned *line);
/* A small text file, whole and NUL-terminated: a regular file (opened
 * without blocking, so a FIFO cannot stall us), at most MAX bytes, no NUL
 * inside. NULL and err ("PATH: the WHAT must be a regular file; this is a
 * FIFO") otherwise. */
char *nacre_read_text_file(const char *path, size_t max, const char *what,
			   char *err, size_t errlen);

/* ---- verify/hex.c ---- */
/* 2n lower-case digits and a NUL into out */
void nacre_hex_encode(const uint8_t *p, size_t n, char *out);
/* exactly 2n hex digits (either case) into out; 0, or -1 otherwise */
int nacre_hex_decode(const char *s, uint8_t *out, size_t n);

/* ---- config.c ---- */
enum nacre_key_type { NACRE_KEY_EC_P256, NACRE_KEY_EC_P384 };
enum nacre_pp_mode { NACRE_PP_NONE, NACRE_PP_V2 };
enum nacre_provider { NACRE_ATTEST_NITRO, NACRE_ATTEST_SIM, NACRE_ATTEST_TSM };
/* what the sim provider simulates (attestation.sim.platform) */
enum nacre_sim_platform { NACRE_SIM_NITRO, NACRE_SIM_TDX, NACRE_SIM_SNP };
/* whose record layer a connection uses after its handshake: OpenSSL's
 * (audited; the default) or nacre's own TLS 1.3 one (records/) */
enum nacre_records_kind { NACRE_RECORDS_OPENSSL, NACRE_RECORDS_COMPACT };
/* pack: new connections go to the first worker not yet pack_busy % busy
 * (fewer wake-ups, cores left to the application); spread: one
 * SO_REUSEPORT socket per worker, the kernel deals connections out evenly */
enum nacre_balance { NACRE_BALANCE_PACK, NACRE_BALANCE_SPREAD };
#define NACRE_PACK_BUSY_DEFAULT 80
#define NACRE_SIM_ROOT_DEFAULT "/var/lib/nacre/sim-root.pem"
#define NACRE_NSM_DEVICE_DEFAULT "/dev/nsm"
#define NACRE_TSM_PATH_DEFAULT "/sys/kernel/config/tsm/report"
#define NACRE_FRESH_PENDING_DEFAULT 64

struct nacre_listen_conf {
	struct nacre_addr addr;
	bool proxy_protocol; /* PROXY v2 header required from the peer */
};

struct nacre_config {
	char *path;
	struct nacre_listen_conf *listen;
	size_t nlisten;
	struct {
		struct nacre_addr addr;
		enum nacre_pp_mode proxy_protocol;
	} upstream;
	struct {
		enum nacre_key_type key;
		int min_version;      /* TLS1_2_VERSION or TLS1_3_VERSION */
		unsigned session_tickets; /* per full handshake; 0: none */
		enum nacre_records_kind records;
		unsigned char *alpn;  /* ALPN wire format (len-prefixed list) */
		size_t alpn_len;
		char **names;         /* SANs; names[0] is the subject CN */
		size_t nnames;
	} tls;
	struct {
		uint64_t max_connections;
		uint64_t handshake_timeout_ms;
		uint64_t idle_timeout_ms;
		uint64_t connect_timeout_ms;
		uint64_t drain_timeout_ms;
		uint64_t buffer;      /* bytes buffered per direction at most */
	} limits;
	struct {
		enum nacre_provider provider;
		uint64_t rotate_ms;
		char *nitro_device;
		char *sim_root;            /* PEM: the sim root cert and key */
		/* nitro: the software NSM; tdx / snp: the simulated
		 * hardware, its keys in <dirname(sim_root)>/sim-tdx, sim-snp */
		enum nacre_sim_platform sim_platform;
		bool sim_pcrs_from_binary; /* PCR0 = SHA-384 of nacred */
		uint8_t sim_pcrs[16][48];  /* fixed values (pcrs_from "config");
					    * tdx / snp: pcr0 is MRTD /
					    * MEASUREMENT */
		char *tsm_path;            /* configfs-tsm report directory */
		bool tsm_has_privlevel;    /* SNP VMPL written when set */
		unsigned tsm_privlevel;    /* 0..3 */
		/* handshakes waiting for fresh evidence at most (0: fresh
		 * evidence refused); docs/evidence-format.md 8 */
		uint64_t fresh_pending;
	} attestation;
	/* ACME for CAA-pinned domains (src/acme/): enabled with the group */
	struct {
		bool enabled;
		char *directory;       /* https URL */
		char *ca_roots;        /* PEM path; NULL: the system's roots */
		char *via;             /* NULL or an address: the hop to the CA */
		char *resolver;        /* address of the DNS resolver for CAA */
		char *caa_identity;    /* NULL: the directory's meta.caaIdentities */
		char **contact;
		size_t ncontact;
		char **caa_peers;      /* caa_peer_accounts: the other replicas' */
		size_t ncaa_peers;
		struct nacre_acme_domain {
			char **names;  /* one certificate for these names */
			size_t nnames;
		} *domains;
		size_t ndomains;
		uint64_t renew_before_ms;
		bool require_caa;
	} acme;
	unsigned workers;             /* resolved: 0 in the file means one per core */
	enum nacre_balance balance;   /* how new connections find a worker */
	unsigned pack_busy;           /* "pack": % busy at which a worker spills */
	int log_level;                /* enum nacre_log_level */
	enum nacre_log_format { NACRE_LOG_TEXT, NACRE_LOG_JSON } log_format;
	bool log_access;              /* a line per closed connection */
	bool has_log_to;              /* lines go to log_to, not stderr */
	struct nacre_addr log_to;     /* a collector outside the enclave */
	bool has_admin;               /* the admin endpoint (src/admin/) */
	struct nacre_addr admin_listen;
	uint64_t admin_max_evidence_age_ms; /* /healthz: 503 when the served
					     * evidence is older; 0: no bound */
	unsigned char digest[32];     /* SHA-256 of the file as read */
	atomic_int refs;              /* generations sharing it (gen.c) */
};

/* Parse text (name is used in messages); on error err = "NAME:LINE: ...". */
int nacre_config_parse(const char *text, const char *name,
		       struct nacre_config **out, char *err, size_t errlen);
int nacre_config_load(const char *path, struct nacre_config **out, char *err,
		      size_t errlen);
/* the same, going on after an error: ERR gets one line per error found
 * (each section's first), for nacred -t */
int nacre_config_load_all(const char *path, struct nacre_config **out,
			  char *err, size_t errlen);
void nacre_config_free(struct nacre_config *c);

/* ---- log.c ---- */
enum nacre_log_level { NACRE_LOG_ERROR, NACRE_LOG_WARN, NACRE_LOG_INFO,
		       NACRE_LOG_DEBUG };
void nacre_log_set_level(int level);
bool nacre_log_on(int level); /* skip building what would not be logged */
int nacre_log_level_from_str(const char *s); /* -1 if unknown */
/* log.format and log.to, at start and at each reload: with log.to, lines
 * stream to the collector through a bounded queue (log_sink.c), else go
 * to stderr. 0, or -1 and err (lines then stay on stderr). */
int nacre_log_configure(const struct nacre_config *cfg, char *err,
			size_t errlen);
/* what is queued for the collector gets 2 s to go out, the rest goes to
 * stderr (nacre_log_configure registers it with atexit) */
void nacre_log_shutdown(void);
/* lines dropped because the collector's queue was full, since the start */
uint64_t nacre_log_dropped_total(void);
void nacre_log(int level, uint64_t conn_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A peer's (or a file's) bytes made safe to log: printable ASCII as it
 * is, '\\' and '"' with a backslash, every other byte as \xHH; cut with
 * "..." to fit CAP (> 0). Returns the length written (NUL-terminated). */
size_t nacre_escape(const void *p, size_t n, char *out, size_t cap);
/* S and a newline on F, control bytes as \xHH (messages that quote a
 * file's text, printed outside the log) */
void nacre_print_line(FILE *f, const char *s);
/* RFC 1123 host name: LDH labels of 1-63, 253 bytes at most, no dot at
 * either end (what may go into a PROXY v2 authority TLV) */
bool nacre_hostname_valid(const char *s);
/* formats one sentence into err (may be NULL) */
/* CLOCK_MONOTONIC in milliseconds (process.c) */
uint64_t nacre_mono_ms(void);
void nacre_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* What one connection did, filled by conn.c as it closes: log.c writes
 * the access line from it (log.access), metrics count it. Strings are
 * raw (a client's SNI may hold any bytes): escape them to write them. */
enum nacre_close {
	NACRE_CLOSE_OK,               /* both sides ended the stream */
	NACRE_CLOSE_PROXY_HEADER,     /* no valid PROXY header */
	NACRE_CLOSE_HANDSHAKE,        /* the TLS handshake failed */
	NACRE_CLOSE_ACME_CHALLENGE,   /* a CA's tls-alpn-01 validation */
	NACRE_CLOSE_UPSTREAM_CONNECT, /* the upstream could not be reached */
	NACRE_CLOSE_TIMEOUT,          /* idle, handshake or connect timeout */
	NACRE_CLOSE_CLIENT_ERROR,     /* the client broke the stream or TLS */
	NACRE_CLOSE_UPSTREAM_ERROR,   /* the upstream broke the stream */
	NACRE_CLOSE_DRAIN,            /* closed by a drain or shutdown */
	NACRE_CLOSE_INTERNAL,         /* out of memory and the like */
	NACRE_CLOSE_COUNT
};
/* "ok", "proxy_header", "handshake", ...: stable, for logs and labels */
const char *nacre_close_name(enum nacre_close r);
struct nacre_conn_summary {
	uint64_t id;
	const char *listener;          /* the listen address as written */
	const struct sockaddr *client; /* from PROXY v2 when present */
	socklen_t clientlen;
	const char *sni;               /* NULL: none */
	const char *alpn;              /* NULL: none */
	const char *version;           /* "TLSv1.3"; NULL: no handshake */
	const char *cipher;            /* NULL: no handshake */
	bool attestation_asked;
	bool acme_cert;                /* the ACME certificate was served */
	uint64_t duration_us;          /* accept to close */
	uint64_t handshake_us;         /* accept to handshake done; 0: none */
	uint64_t bytes_in;             /* plaintext, client to upstream */
	uint64_t bytes_out;            /* plaintext, upstream to client */
	enum nacre_close reason;
	const char *detail;            /* e.g. OpenSSL's reason; NULL: none */
};
/* the access line (log.access), text or JSON as log.format says */
void nacre_log_access(const struct nacre_conn_summary *s);

#define log_err(...)   nacre_log(NACRE_LOG_ERROR, 0, __VA_ARGS__)
#define log_warn(...)  nacre_log(NACRE_LOG_WARN, 0, __VA_ARGS__)
#define log_info(...)  nacre_log(NACRE_LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...) nacre_log(NACRE_LOG_DEBUG, 0, __VA_ARGS__)

/* ---- proxy_proto.c: PROXY protocol v2 ---- */
#define NACRE_PP2_SIG_LEN 12
#define NACRE_PP2_HDR_MAX 1024 /* our cap on an incoming header, TLVs included */
#define NACRE_PP2_TYPE_ALPN 0x01
#define NACRE_PP2_TYPE_AUTHORITY 0x02
#define NACRE_PP2_TYPE_CRC32C 0x03
#define NACRE_PP2_TYPE_NOOP 0x04
#define NACRE_PP2_TYPE_UNIQUE_ID 0x05
#define NACRE_PP2_TYPE_SSL 0x20
#define NACRE_PP2_SUBTYPE_SSL_VERSION 0x21
#define NACRE_PP2_SUBTYPE_SSL_CN 0x22
#define NACRE_PP2_SUBTYPE_SSL_CIPHER 0x23
#define NACRE_PP2_SUBTYPE_SSL_SIG_ALG 0x24
#define NACRE_PP2_SUBTYPE_SSL_KEY_ALG 0x25
#define NACRE_PP2_CLIENT_SSL 0x01

struct nacre_pp2_tlv {
	uint8_t type;
	uint16_t len;
	const uint8_t *value; /* points into the parsed buffer */
};

struct nacre_pp2_info {
	bool local;                   /* LOCAL command: use the real peer */
	int family;                   /* AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC */
	int socktype;                 /* SOCK_STREAM, SOCK_DGRAM or 0 */
	struct sockaddr_storage src, dst;
	socklen_t srclen, dstlen;
	struct nacre_pp2_tlv tlvs[32];
	size_t ntlvs;
};

/* TLS facts carried to the upstream; NULL fields are omitted. */
struct nacre_pp2_tls {
	const char *alpn;
	const char *sni;
	const char *version; /* "TLSv1.3" */
	const char *cipher;  /* "TLS_AES_128_GCM_SHA256" */
};

/*
 * Returns the header length (> 0) when a complete, valid header is at buf;
 * 0 when more bytes are needed; -1 when the bytes cannot be a valid header
 * (*err names the problem). Strict: signature, version, command, family,
 * lengths and TLV framing are all checked, CRC32C when present.
 */
ssize_t nacre_pp2_parse(const uint8_t *buf, size_t len,
			struct nacre_pp2_info *out, const char **err);
/* Writes a PROXY header for src -> dst (either may be NULL or a family v2
 * cannot carry, e.g. AF_VSOCK: then the address block is UNSPEC). Returns
 * bytes written, or -1 if cap is too small. */
ssize_t nacre_pp2_encode(uint8_t *buf, size_t cap, const struct sockaddr *src,
			 const struct sockaddr *dst,
			 const struct nacre_pp2_tls *tls);

/* ---- tls.c: keys born in memory, certificate, server SSL_CTX ---- */
struct ssl_ctx_st;
struct nacre_attest;
/* Generates a fresh key (never leaves memory), evidence for it from the
 * provider (none when a is NULL: configuration checks only), a self-signed
 * certificate for cfg->tls.names carrying that evidence, and a server
 * SSL_CTX using both. NULL + err on failure. */
/* What the attested certificate's claims say of ACME (empty URL: no
 * account yet): the account and the SHA-256 of each served ACME
 * certificate's SubjectPublicKeyInfo. */
struct nacre_acme_claims {
	char account_url[2049];
	uint8_t jkt[32];
	size_t nkeys;
	uint8_t keys[16][32];
};
struct ssl_ctx_st *nacre_tls_ctx_new(const struct nacre_config *cfg,
				     struct nacre_attest *a,
				     const struct nacre_acme_claims *acme,
				     char *err, size_t errlen);
/* a server context for an ACME certificate: CHAIN[0] the leaf, KEY its
 * key (both kept by the context) */
struct x509_st;
struct evp_pkey_st;
struct ssl_ctx_st *nacre_tls_acme_ctx_new(const struct nacre_config *cfg,
					  struct x509_st *const *chain,
					  size_t nchain, struct evp_pkey_st *key,
					  char *err, size_t errlen);

/* the client asked for the attested certificate (NACRE_TLSEXT_ATTEST in
 * its ClientHello: nacre and libnacre do, browsers never) */
struct ssl_st;
bool nacre_tls_attestation_asked(const struct ssl_st *s);
/* S was given the ACME certificate chain of its SNI */
bool nacre_tls_acme_served(const struct ssl_st *s);
/* the ACME certificates (acme/acme.h) S may be served from: its
 * generation's table, which must outlive the handshake */
struct nacre_acme_served;
void nacre_tls_set_served(struct ssl_st *s,
			  const struct nacre_acme_served *served);

/* ---- sockbio.c: the BIO under a client connection's SSL ---- */
struct bio_st;
/* A BIO on FD (not closed with it) that gives OpenSSL's handshake buffer
 * room for a whole flight and writes with MSG_NOSIGNAL; TCP: FD is a TCP
 * socket. NULL when out of memory. */
struct bio_st *nacre_sockbio_new(int fd, bool tcp);
/* While MORE is set, writes carry MSG_MORE (on TCP; a no-op otherwise):
 * the kernel holds them until a write without it, a FIN or a full
 * segment. */
void nacre_sockbio_more(struct bio_st *b, bool more);
/* Reading ahead into the BIO's own buffer (on from the start; OpenSSL's
 * own read-ahead should then be off). Off: what is buffered is handed out
 * first, then reads go straight through. BIO_pending() counts it. */
void nacre_sockbio_read_ahead(struct bio_st *b, bool on);
/* moves up to CAP buffered bytes into OUT; returns how many */
size_t nacre_sockbio_take(struct bio_st *b, unsigned char *out, size_t cap);
/* the last read() found the socket drained (a short read or EAGAIN) */
bool nacre_sockbio_drained(struct bio_st *b);

/* ---- pool.c: what idle connections keep, packed together ---- */
/* At start, before OpenSSL allocates anything: reserve the region and
 * route OpenSSL's allocator through it. 0, or -1 (then malloc is used). */
int nacre_pool_init(void);
void *nacre_pool_alloc(size_t n); /* zeroed; malloc when the pool is off */
void nacre_pool_free(void *p);
bool nacre_pool_owns(const void *p);
/* give pages made only of free slots back to the kernel; bytes advised */
size_t nacre_pool_trim(void);
/* this thread's OpenSSL allocations of at most MAX bytes come from the
 * pool until the next call (0: none; NACRE_POOL_ALL: any the pool takes) */
#define NACRE_POOL_ALL ((size_t)-1)
#define NACRE_POOL_HANDSHAKE_MAX 2048 /* during a handshake (conn.c) */
void nacre_pool_crypto(size_t max);
/* buffers for bytes in flight: malloc'd, the last few put back kept per
 * thread for the next get of the same size (freed at thread exit, or now
 * by flush) */
void *nacre_buf_get(size_t size);
void nacre_buf_put(void *p, size_t size);
void nacre_buf_flush(void);

/* ---- records/: TLS records after the handshake: see records/records.h ---- */

/* ---- provider.c ---- */
/* AT_START: the sim provider may create its root (not on a reload) */
struct nacre_attest *nacre_provider_open(const struct nacre_config *cfg,
					 bool at_start,
					 char *err, size_t errlen);
/* where the simulated TDX / SNP keys live: <dirname(sim_root)>/sim-tdx or
 * sim-snp. 0, or -1 when it does not fit CAP */
int nacre_sim_tee_dir(const char *sim_root, enum nacre_sim_platform p,
		      char *out, size_t cap);

/* ---- sdnotify.c: systemd readiness (Type=notify), no libsystemd ---- */
void nacre_sd_notify(const char *state);

/* ---- daemon.c / worker.c / listener.c / conn.c: see daemon.h ---- */

#endif
