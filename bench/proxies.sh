# bench/proxies.sh: configuration and start of the proxies (sourced by
# bench/run.sh). Same for all: $WORKERS workers/threads (1 for the main
# table, 2 for the second), TLS 1.3 only, the same
# TLS 1.3 suites in OpenSSL's default order with the server's preference,
# X25519, an ECDSA P-256 certificate, logging off (warn level for nacred,
# which logs nothing per connection at that level), the upstream on
# loopback TCP. nacred runs twice, otherwise identical: `nacred` with its
# default record layer, OpenSSL's (records = "openssl", written out), and
# `nacred_compact` with its own (records = "compact": OpenSSL's SSL is
# freed after the handshake). Differences that remain (see
# bench/README.md): each runs with its own default for session tickets:
# nacred sends none (and keeps no session cache), hitch and HAProxy send
# OpenSSL's default of two, and HAProxy keeps its shared session cache.
# A third nacred (nacred_t1) sends one ticket, for the handshake figure
# with tickets on (OpenSSL's records: tickets need them); a fourth
# (nacred_spread, OpenSSL's records) balances like hitch, one SO_REUSEPORT
# socket per worker, for the handshake and keep-alive figures without
# nacred's packing. Full handshakes are driven by bench/hsload, which never
# resumes; wrk (used for the rest) would resume with the last ticket on
# every reconnection. Two plain TCP relays with no TLS at all (relay_nginx:
# nginx's stream module; relay_haproxy: HAProxy in mode tcp), otherwise
# configured as their TLS counterparts, give the floor of the socket work:
# what a proxy costs per connection and per request before any TLS.

SUITES="TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
MAXCONN=9000  # idle test: N connections, 2 fds each (client + upstream)

# test_cert: the ECDSA P-256 key + self-signed certificate hitch and HAProxy
# serve (test material, lives in $T only); also the "plain" certificate
# whose size nacred's is compared with
test_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/test.key" -out "$T/test.crt" -days 30 \
		-subj /CN=localhost -addext subjectAltName=DNS:localhost \
		2>"$T/openssl.err" || die "openssl req failed: $(cat "$T/openssl.err")"
	cat "$T/test.crt" "$T/test.key" >"$T/test.pem"
}

# nacred_conf FILE PORT LEVEL ROTATE [TICKETS [BALANCE [RECORDS]]]
nacred_conf() {
	cat >"$1" <<EOF
listen = ( { address = "tcp:127.0.0.1:$2"; proxy_protocol = false; } );
upstream = { address = "tcp:127.0.0.1:$UP_PORT"; proxy_protocol = "none"; };
tls = { key = "ec-p256"; min_version = "TLSv1.3"; names = [ "localhost" ]; session_tickets = ${5:-0}; records = "${7:-openssl}"; };
limits = { max_connections = $MAXCONN; handshake_timeout = "30s"; idle_timeout = "5m"; connect_timeout = "5s"; drain_timeout = "0s"; buffer = "64k"; };
workers = $WORKERS;
balance = "${6:-pack}";
log = { level = "$3"; };
attestation = { provider = "sim"; rotate = "$4"; sim = { root = "$T/sim-root.pem"; }; };
EOF
}

hitch_conf() { # FILE PORT
	cat >"$1" <<EOF
frontend = "[127.0.0.1]:$2"
backend = "[127.0.0.1]:$UP_PORT"
pem-file = "$T/test.pem"
tls-protos = TLSv1.3
ciphersuites = "$SUITES"
ecdh-curve = "X25519"
prefer-server-ciphers = on
workers = $WORKERS
backlog = 4096
daemon = off
log-level = 0
EOF
	# hitch refuses to run its workers as root
	[ "$(id -u)" -ne 0 ] || printf 'user = "nobody"\ngroup = "nogroup"\n' >>"$1"
}

# haproxy_conf FILE PORT [relay]: HAProxy in mode tcp terminating TLS
# (OpenSSL's default tickets and its session cache, as shipped). With
# "relay": the same with no ssl on the bind, relaying plain TCP, so that it
# differs from HAProxy by the TLS alone (the relay floor)
haproxy_conf() {
	if [ "${3:-}" = relay ]; then
		_ha_tls=""
		_ha_bind="bind 127.0.0.1:$2"
	else
		_ha_tls="ssl-default-bind-ciphersuites $SUITES
	ssl-default-bind-options ssl-min-ver TLSv1.3
	ssl-server-verify none"
		_ha_bind="bind 127.0.0.1:$2 ssl crt $T/test.pem curves X25519"
	fi
	cat >"$1" <<EOF
global
	nbthread $WORKERS
	maxconn $MAXCONN
	$_ha_tls
defaults
	mode tcp
	timeout connect 5s
	timeout client 5m
	timeout server 5m
frontend tls
	$_ha_bind
	maxconn $MAXCONN
	backlog 4096
	default_backend app
backend app
	server app 127.0.0.1:$UP_PORT
EOF
}

# nginx_conf FILE PORT [relay]: nginx's stream module (TCP proxy) terminating
# TLS, proxy_pass to the same upstream; tickets and the session cache off
# (as nacred's default); no access log (the stream module's default);
# errors only, to stderr. With "relay": the same with no ssl on the listen,
# relaying plain TCP, so that it differs from nginx-stream by the TLS alone
# (the relay floor)
nginx_conf() {
	if [ "${3:-}" = relay ]; then
		_ng_listen="listen 127.0.0.1:$2 backlog=4096;"
		_ng_tls=""
	else
		_ng_listen="listen 127.0.0.1:$2 ssl backlog=4096;"
		_ng_tls="ssl_certificate $T/test.crt;
		ssl_certificate_key $T/test.key;
		ssl_protocols TLSv1.3;
		ssl_conf_command Ciphersuites $SUITES;
		ssl_prefer_server_ciphers on;
		ssl_ecdh_curve X25519;
		ssl_session_tickets off;
		ssl_session_cache off;"
	fi
	cat >"$1" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process on;
worker_processes $WORKERS;
worker_rlimit_nofile $((MAXCONN * 2 + 100));
pid $T/nginx_$2.pid;
error_log stderr error;
$( [ "$(id -u)" -ne 0 ] || echo 'user nobody nogroup;' )
events { worker_connections $((MAXCONN * 2 + 100)); }
stream {
	server {
		$_ng_listen
		$_ng_tls
		proxy_pass 127.0.0.1:$UP_PORT;
	}
}
EOF
}

# start_proxy NAME PORT: start a nacred, hitch, haproxy, nginx or one of the
# plain relays on PORT and wait until it listens (10 s at most)
start_proxy() {
	case $1 in
	nacred) # the default record layer: OpenSSL's
		nacred_conf "$T/nacred.conf" "$2" warn 1h 0 pack openssl
		bg nacred "$NACRED" -c "$T/nacred.conf" ;;
	nacred_compact) # the same with nacred's own records
		nacred_conf "$T/nacred_compact.conf" "$2" warn 1h 0 pack compact
		bg nacred_compact "$NACRED" -c "$T/nacred_compact.conf" ;;
	nacred_t1) # nacred with one session ticket per handshake
		nacred_conf "$T/nacred_t1.conf" "$2" warn 1h 1 pack openssl
		bg nacred_t1 "$NACRED" -c "$T/nacred_t1.conf" ;;
	nacred_spread) # nacred with hitch's way of balancing: the kernel
		# deals connections out over one SO_REUSEPORT socket per worker
		nacred_conf "$T/nacred_spread.conf" "$2" warn 1h 0 spread openssl
		bg nacred_spread "$NACRED" -c "$T/nacred_spread.conf" ;;
	hitch)
		hitch_conf "$T/hitch.conf" "$2"
		bg hitch hitch --config="$T/hitch.conf" ;;
	haproxy)
		haproxy_conf "$T/haproxy.cfg" "$2"
		bg haproxy haproxy -db -f "$T/haproxy.cfg" ;;
	nginx)
		nginx_conf "$T/nginx.conf" "$2"
		bg nginx nginx -e stderr -p "$T" -c "$T/nginx.conf" ;;
	relay_nginx) # nginx-stream with no TLS: the relay floor
		nginx_conf "$T/relay_nginx.conf" "$2" relay
		bg relay_nginx nginx -e stderr -p "$T" -c "$T/relay_nginx.conf" ;;
	relay_haproxy) # HAProxy with no TLS: the relay floor
		haproxy_conf "$T/relay_haproxy.cfg" "$2" relay
		bg relay_haproxy haproxy -db -f "$T/relay_haproxy.cfg" ;;
	esac
	wait_listen "$1" "$2" 10 ||
		die "$1 did not start on port $2: $(tail -n 5 "$T/$1.err" | tr '\n' '|')"
}

# records_check NAME LAYER: the record layer NAME's configuration gives a
# connection is LAYER ("openssl" or "compact"). A copy of the configuration
# at debug level, on a port of its own, serves one request and must log
# "TLS records: LAYER"; it is stopped after (the measured instance logs
# nothing per connection)
records_check() {
	port _rc_port
	sed -e "s/^listen = .*/listen = ( { address = \"tcp:127.0.0.1:$_rc_port\"; proxy_protocol = false; } );/" \
	    -e 's/^log = .*/log = { level = "debug"; };/' "$T/$1.conf" >"$T/rc_$1.conf"
	bg "rc_$1" "$NACRED" -c "$T/rc_$1.conf"
	wait_listen "rc_$1" "$_rc_port" 10 ||
		die "$1 (debug copy) did not start: $(tail -n 5 "$T/rc_$1.err" | tr '\n' '|')"
	"$TLSCLIENT" get -q --connect "tcp:127.0.0.1:$_rc_port" >"$T/rc.out" 2>&1
	wait_for "$T/rc_$1.err" "TLS records: $2" 5
	_rc=$?
	_got=$(grep -o 'TLS records: .*' "$T/rc_$1.err" | head -n 1)
	bg_stop "rc_$1"
	[ $_rc = 0 ] || die "$1 should take records = \"$2\"; its log says: ${_got:-nothing}"
}

# tls_params PORT: "protocol cipher group" a client gets from PORT
tls_params() {
	openssl s_client -connect "127.0.0.1:$1" -servername localhost \
		</dev/null 2>/dev/null | awk '
		/^New, / { proto = $2; sub(/,$/, "", proto); cipher = $NF }
		/Server Temp Key:/ { group = $4; sub(/,$/, "", group) }
		END { print proto, cipher, group }'
}

# cert_der_bytes PORT: DER size of the leaf certificate served on PORT
cert_der_bytes() {
	openssl s_client -connect "127.0.0.1:$1" -servername localhost \
		</dev/null 2>/dev/null | openssl x509 -outform DER 2>/dev/null | wc -c
}
