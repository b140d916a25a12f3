# 58-forward: `nacre forward` on loopback, TCP standing in for vsock on the
# enclave side (the real vsock path runs in the QEMU guest,
# tests/vsock/): client -> forward (inbound rule, PROXY v2 header) ->
# nacred (listen.proxy_protocol = true, upstream PROXY v2) -> app; the app
# sees the client's address, IPv4 and IPv6; 100 MiB intact each way (an
# upload ended by a half-close, a download); an outbound rule reaches its
# one destination by name, a port with no rule is refused; a dead target,
# the idle timeout, /metrics and /healthz, the file's errors, SIGTERM.

NACRE_CLI=${NACRE_CLI:-$(dirname "$NACRED")/nacre}
FWD_BYTES=${FWD_BYTES:-104857600}

# fwd NAME ARGS...: nacre forward in the background, until it prints ready
fwd() {
	_n=$1
	shift
	bg "$_n" "$NACRE_CLI" forward "$@"
	_i=0
	while bg_running "$_n" && ! grep -q '^ready' "$T/$_n.out" && [ $_i -lt 200 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	grep -q '^ready' "$T/$_n.out" && return 0
	notok "nacre forward $_n starts" "$(tail -n 3 "$T/$_n.err" | tr '\n' '|')"
	return 1
}

# the upstream app's /bytes/N body: byte i is i % 251
pattern_sha() {
	/usr/bin/python3 -c 'import hashlib, sys
n = int(sys.argv[1]); p = bytes(range(251)) * 4177; h = hashlib.sha256()
while n > 0:
    k = min(n, len(p)); h.update(p[:k]); n -= k
print(h.hexdigest())' "$1"
}

if [ ! -x "$NACRE_CLI" ]; then
	notok "nacre CLI present" "missing $NACRE_CLI (make build/nacre build/asan/nacre)"
else
upstream fw_app "unix:$T/fw.sock" --proxy-v2
upstream fw_drain "unix:$T/fwd.sock" --mode drain --proxy-v2
port P_PLAIN
upstream fw_plain "tcp:127.0.0.1:$P_PLAIN"

conf_defaults
C_LISTEN_PP=true
C_UP_PP=v2
C_IDLE=60s
port P_NA
C_LISTEN="tcp:127.0.0.1:$P_NA"
C_UP="unix:$T/fw.sock"
conf "$T/fwa.conf"
port P_ND
C_LISTEN="tcp:127.0.0.1:$P_ND"
C_UP="unix:$T/fwd.sock"
conf "$T/fwd.conf"
nacred fwa "$T/fwa.conf" "$P_NA"
nacred fwd "$T/fwd.conf" "$P_ND"

port P_IN; port P_IN6; port P_UP; port P_OUT; port P_DEAD; port P_ADM
port P_NORULE
if fwd fw --in "tcp:127.0.0.1:$P_IN=tcp:127.0.0.1:$P_NA" \
	--in "tcp:[::1]:$P_IN6=tcp:127.0.0.1:$P_NA" \
	--in "tcp:127.0.0.1:$P_UP=tcp:127.0.0.1:$P_ND" \
	--in "tcp:127.0.0.1:$P_DEAD=tcp:127.0.0.1:$P_NORULE" \
	--out "tcp:127.0.0.1:$P_OUT=tcp:localhost:$P_PLAIN" \
	--admin "tcp:127.0.0.1:$P_ADM" --log-level debug; then
	REQ='GET /proxy HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
	out=$(tlsclient get --connect "tcp:127.0.0.1:$P_IN" --request "$REQ" --timeout 10 2>&1)
	check_has "forward -> nacred (PROXY v2 in) -> app (PROXY v2 out): served" "$out" "200 OK"
	check_has "the app sees the client's address forward read" "$out" "src 127.0.0.1:"
	check_has "the app sees forward's listen address as dst" "$out" "dst 127.0.0.1:$P_IN"
	check_has "the TLS facts still reach the app (nacred terminates TLS)" "$out" "tls_version TLSv1.3"
	if curl -s -g -6 --max-time 2 "http://[::1]:$P_IN6/" >/dev/null 2>&1 ||
	   ss -Hltn "sport = :$P_IN6" | grep -q '\[::1\]'; then
		out=$(tlsclient get --connect "tcp:[::1]:$P_IN6" --request "$REQ" --timeout 10 2>&1)
		check_has "IPv6 client: the app sees [::1]" "$out" "src [::1]:"
		check_has "IPv6 client: dst is forward's [::1] port" "$out" "dst [::1]:$P_IN6"
	fi

	# 100 MiB up: pattern bytes, close_notify + FIN; the drain app answers
	# with count and sha256 only after the FIN came through forward
	t0=$(now)
	out=$(tlsclient half-close --connect "tcp:127.0.0.1:$P_UP" --send-bytes "$FWD_BYTES" \
		--timeout 120 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "$FWD_BYTES bytes up through forward, half-closed, reply after the FIN ($(elapsed "$t0") s)"
	else
		notok "$FWD_BYTES bytes up through forward, half-closed, reply after the FIN" "exit $rc: $out"
	fi
	# 100 MiB down
	t0=$(now)
	got=$(curl -sk --max-time 120 "https://127.0.0.1:$P_IN/bytes/$FWD_BYTES" | sha256sum | cut -d' ' -f1)
	check_eq "$FWD_BYTES bytes down through forward intact (sha256, $(elapsed "$t0") s)" \
		"$got" "$(pattern_sha "$FWD_BYTES")"

	# outbound: the one destination, named, resolved at connect time
	out=$(curl -s --max-time 5 "http://127.0.0.1:$P_OUT/name")
	check_eq "outbound rule reaches its destination (tcp:localhost, resolved at connect)" "$out" "app"
	curl -s --max-time 5 "http://127.0.0.1:$P_NORULE/" >/dev/null 2>&1
	check "a port with no rule: refused" [ $? -eq 7 ]

	# a dead target: the client is reset, the failure logged and counted
	out=$(tlsclient stall --connect "tcp:127.0.0.1:$P_DEAD" --send x --timeout 5 2>&1)
	check_has "dead target: the client is reset at once (a failure, not a clean end)" "$out" "reset by peer"
	wait_for "$T/fw.err" "connect_failed: cannot connect: Connection refused" 5
	check_has "dead target: logged with the reason" "$(cat "$T/fw.err")" \
		"connect_failed: cannot connect: Connection refused"

	m=$(curl -s --max-time 5 "http://127.0.0.1:$P_ADM/metrics")
	check_has "/metrics: inbound connections ok" "$m" \
		"nacre_forward_connections_total{direction=\"in\",listen=\"tcp:127.0.0.1:$P_UP\",target=\"tcp:127.0.0.1:$P_ND\",outcome=\"ok\"} 1"
	check_has "/metrics: connect failures by rule" "$m" \
		"target=\"tcp:127.0.0.1:$P_NORULE\",outcome=\"connect_failed\"} 1"
	up=$(printf '%s\n' "$m" | sed -n "s/^nacre_forward_bytes_total{direction=\"in\",listen=\"tcp:127.0.0.1:$P_UP\",.*flow=\"to_target\"} //p")
	check_range "/metrics: bytes to the target counted (the upload and its TLS)" "$up" "$FWD_BYTES" $((FWD_BYTES * 11 / 10))
	check_has "/metrics: outbound rule counted" "$m" \
		"nacre_forward_connections_total{direction=\"out\",listen=\"tcp:127.0.0.1:$P_OUT\",target=\"tcp:localhost:$P_PLAIN\",outcome=\"ok\"} 1"
	check_eq "/healthz: ok" "$(curl -s --max-time 5 "http://127.0.0.1:$P_ADM/healthz")" "ok"
	bg_signal fw TERM
	rc=$(bg_wait fw 10)
	s=$(san_errors fw)
	check_eq "forward: SIGTERM drains and exits 0${s:+ (sanitizer: $s)}" "$rc${s:+ $s}" 0
fi

# the idle timeout resets both sides (the echo app never closes)
port P_IDLE
cat >"$T/fwi.conf" <<EOF
# the idle timeout: 1 s
inbound = ( { listen = "tcp:127.0.0.1:$P_IDLE"; target = "tcp:127.0.0.1:$P_PLAIN";
              proxy_protocol = false; } );
limits = { idle_timeout = "1s"; connect_timeout = "2s"; buffer = "16k"; };
EOF
if fwd fwi --config "$T/fwi.conf"; then
	out=$(tlsclient stall --connect "tcp:127.0.0.1:$P_IDLE" --send "GET" --timeout 8 2>&1)
	dt=$(printf '%s' "$out" | awk '/closed after/ { print $3 }')
	check_range "limits.idle_timeout 1s from a file: closed after (s)" "$dt" 0.9 3
	wait_for "$T/fwi.err" "timeout: idle for" 3
	check_has "idle timeout logged" "$(cat "$T/fwi.err")" "timeout: idle for"
	bg_stop fwi
fi

# the file: unknown keys named with a line, -t, exit 78
printf 'inbound = ( { listen = "tcp:127.0.0.1:1"; target = "vsock:16:8443";\n  proxy_protocl = true; } );\n' >"$T/bad.conf"
out=$("$NACRE_CLI" forward -t --config "$T/bad.conf" 2>&1); rc=$?
check_eq "bad file: exit 78" "$rc" 78
check_has "bad file: the unknown key, its line, the known keys" "$out" \
	"bad.conf:2: unknown key \"proxy_protocl\" in an inbound rule; known keys are: listen, target, proxy_protocol, from_cid"
out=$("$NACRE_CLI" forward -t --out "vsock:any:8001=vsock:3:1" 2>&1); rc=$?
check_has "an outbound target must be tcp (exit $rc)" "$out" "use tcp:HOST:PORT"
out=$("$NACRE_CLI" forward -t --in "tcp:127.0.0.1:1=unix:$T/x.sock" 2>&1); rc=$?
check_has "an inbound target is vsock (or tcp), not unix (exit $rc)" "$out" "use vsock:CID:PORT"
out=$("$NACRE_CLI" forward -t --in "tcp:0.0.0.0:443=vsock:16:8443" --admin tcp:0.0.0.0:9101 2>&1); rc=$?
check_has "the admin endpoint is local only (exit $rc)" "$out" "local only"
out=$("$NACRE_CLI" forward -t --in "tcp:0.0.0.0:443=vsock:16:8443" \
	--out "vsock:any:8001=tcp:acme-v02.api.letsencrypt.org:443" --from-cid 16 2>&1); rc=$?
check_eq "the issue's example checks (-t, no DNS needed)" "$rc: $out" "0: nacre forward: 2 rules, configuration ok"
fi
