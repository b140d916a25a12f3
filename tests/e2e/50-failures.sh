# 50-failures: what nacred does with an app that is not there, clients that
# never finish a handshake or send garbage, idle clients; and that it keeps
# serving everyone else afterwards.

conf_defaults
port P_FA
C_LISTEN="tcp:127.0.0.1:$P_FA"
C_UP="unix:$T/fail_app.sock"   # nobody listens there yet
C_HS=2s
C_CONNECT=2s
conf "$T/fail.conf"
nacred fail "$T/fail.conf" "$P_FA"

# --- upstream refused: closed at once (well under connect_timeout), logged
t0=$(now)
https "$P_FA" / >/dev/null
rc=$?
dt=$(elapsed "$t0")
check "app missing (unix): connected, then closed without a response (curl rc $rc)" \
	[ $rc -ne 0 -a $rc -ne 7 ]
check_range "app missing (unix): client closed promptly (s)" "$dt" 0 1.0
wait_for "$T/fail.err" 'upstream' 2
check_has "app missing (unix): nacred logs why" \
	"$(grep -i upstream "$T/fail.err" | grep -iv 'listening\|Z info upstream unix')" \
	"No such file or directory"

port P_FREE  # nobody listens on it
C_UP="tcp:127.0.0.1:$P_FREE"
conf "$T/fail_tcp.conf"
port P_FT
C_LISTEN="tcp:127.0.0.1:$P_FT"
conf "$T/fail_tcp.conf"
nacred fail_tcp "$T/fail_tcp.conf" "$P_FT"
t0=$(now)
https "$P_FT" / >/dev/null
rc=$?
dt=$(elapsed "$t0")
check "app refusing (tcp): connected, then closed without a response (curl rc $rc)" \
	[ $rc -ne 0 -a $rc -ne 7 ]
check_range "app refusing (tcp): client closed promptly (s)" "$dt" 0 1.0
wait_for "$T/fail_tcp.err" 'refused' 2
check_has "app refusing (tcp): nacred logs why" "$(nlog fail_tcp)" "Connection refused"
nacred_stop fail_tcp

# --- connect_timeout: an app whose accept queue is full never answers the
# SYN; nacred gives up after connect_timeout (1s) and closes the client
port P_BH
bg fail_blackhole /usr/bin/python3 -c '
import socket, sys, time
port = int(sys.argv[1])
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen(0)
fill = []
for i in range(2):  # fill the accept queue; it is never accepted from
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    fill.append(s)
time.sleep(0.3)
print("ready", flush=True)
time.sleep(60)
' "$P_BH"
if wait_for "$T/fail_blackhole.out" '^ready' 5; then
	conf_defaults
	port P_CT
	C_LISTEN="tcp:127.0.0.1:$P_CT"
	C_UP="tcp:127.0.0.1:$P_BH"
	C_CONNECT=1s
	conf "$T/fail_ct.conf"
	nacred fail_ct "$T/fail_ct.conf" "$P_CT"
	t0=$(now)
	https "$P_CT" / >/dev/null
	rc=$?
	dt=$(elapsed "$t0")
	check "app not answering: connected, then closed without a response (curl rc $rc)" \
		[ $rc -ne 0 -a $rc -ne 7 -a $rc -ne 28 ]
	check_range "app not answering: closed at connect_timeout 1s (s)" "$dt" 0.8 2.5
	check_has "connect timeout is logged" "$(nlog fail_ct)" "timeout after 1000 ms"
	nacred_stop fail_ct
else
	notok "connect_timeout: black-hole app starts" "$(cat "$T/fail_blackhole.err")"
fi
bg_stop fail_blackhole

# the app comes up: the same nacred now serves
upstream fail_app "unix:$T/fail_app.sock"
check_eq "app started later: nacred serves without a restart" \
	"$(https "$P_FA" /)" "hello from the enclave app"

# --- handshake_timeout = 2s: silent client, then a partial ClientHello
out=$(tlsclient stall --connect "tcp:127.0.0.1:$P_FA" --timeout 8)
dt=$(printf '%s' "$out" | awk '/closed after/ { print $3 }')
check_range "silent client closed at handshake_timeout 2s (s)" "$dt" 1.5 4
out=$(tlsclient stall --connect "tcp:127.0.0.1:$P_FA" --partial-hello --timeout 8)
dt=$(printf '%s' "$out" | awk '/closed after/ { print $3 }')
check_range "partial ClientHello closed at handshake_timeout 2s (s)" "$dt" 1.5 4
check_has "handshake timeout is logged" "$(nlog fail)" "timeout after 2000 ms"

# --- garbage instead of a ClientHello: closed at once, not at the timeout
out=$(tlsclient stall --connect "tcp:127.0.0.1:$P_FA" --timeout 8 \
	--send-hex "$(printf 'deadbeef00ff%.0s' 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)")
dt=$(printf '%s' "$out" | awk '/closed after/ { print $3 }')
check_range "fixed garbage bytes: closed at once (s)" "$dt" 0 1.0
out=$(tlsclient stall --connect "tcp:127.0.0.1:$P_FA" --timeout 8 --send-random 4096)
dt=$(printf '%s' "$out" | awk '/closed after/ { print $3 }')
check_range "4 KiB of random bytes: closed by handshake_timeout at the latest (s)" "$dt" 0 4
out=$(tlsclient stall --connect "tcp:127.0.0.1:$P_FA" --timeout 8 \
	--send 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')
dt=$(printf '%s' "$out" | awk '/closed after/ { print $3 }')
check_range "plaintext HTTP request: closed at once (s)" "$dt" 0 1.0
out=$(tlsclient stall --connect "tcp:127.0.0.1:$P_FA" --timeout 8 \
	--send-hex 16030100050100000100)
dt=$(printf '%s' "$out" | awk '/closed after/ { print $3 }')
check_range "malformed ClientHello: closed at once (s)" "$dt" 0 1.0
curl -s --max-time 5 "http://127.0.0.1:$P_FA/" -o /dev/null
rc=$?
check "plain HTTP client: connected, then cut without a response (curl rc $rc: 52 or 56)" \
	[ $rc -eq 52 -o $rc -eq 56 ]
check_eq "nacred keeps serving after bad clients" "$(https "$P_FA" /)" \
	"hello from the enclave app"
nacred_stop fail

# --- idle_timeout: a connection with no traffic either way is closed
conf_defaults
port P_ID
C_LISTEN="tcp:127.0.0.1:$P_ID"
C_UP="unix:$T/fail_app.sock"
C_IDLE=1s
conf "$T/idle.conf"
nacred idle "$T/idle.conf" "$P_ID"
t0=$(now)
out=$(tlsclient idle --connect "tcp:127.0.0.1:$P_ID" --conns 2 --hold 6 2>/dev/null)
dt=$(elapsed "$t0")
check_has "idle_timeout 1s closes idle connections" "$out" "held 0, 2 closed early"
check_range "idle_timeout 1s: closed after about 1 s (s)" "$dt" 0.8 3
# a slow but steady transfer is not idle: 2 MB at 500 kB/s takes ~4 s
got=$(https "$P_ID" /bytes/2000000 --limit-rate 500k | sha256sum | cut -d' ' -f1)
check_eq "idle_timeout 1s: a 4 s steady download is not cut" "$got" \
	"$(pattern_sha 2000000)"
nacred_stop idle
bg_stop fail_app
