# 30-clients: 2000 connections that never speak, slowloris ClientHellos (one
# byte per 200 ms), then 5000 concurrent handshakes with a request each.

upstream cl_app "unix:$T/cl.sock"
conf_defaults
C_LEVEL=info
port P_CL
C_LISTEN="tcp:127.0.0.1:$P_CL"
C_UP="unix:$T/cl.sock"
C_HS=2s
conf "$T/cl.conf"
nacred cl "$T/cl.conf" "$P_CL"
CL_PID=$(bg_pid cl)
check_eq "before: served" "$(https "$P_CL" /)" "$HELLO"
sleep 0.3
base=$(fds "$CL_PID")
echo "# idle descriptors: $base"

# --- 2000 silent TCP connections: all closed at handshake_timeout (2 s)
out=$(fclient silent "$P_CL" 2000 15 2>&1 | tail -n 1)
echo "# silent: $out"
check_eq "2000 silent connections: all closed by nacred" "$(field "$out" closed)" 2000/2000
check_range "2000 silent connections: the first closed at handshake_timeout (s)" \
	"$(field "$out" min)" 1.8 4
check_range "2000 silent connections: the last closed soon after (s)" \
	"$(field "$out" max)" 1.8 6
n=$(fds_settle "$CL_PID" "$base" 5)
check_eq "2000 silent connections: nacred's descriptors back to the idle count" "$n" "$base"
check_eq "after 2000 silent connections: served" "$(https "$P_CL" /)" "$HELLO"

# --- slowloris: 20 ClientHellos at one byte per 200 ms
out=$(fclient slowloris "$P_CL" 20 0.2 15 2>&1 | tail -n 1)
echo "# slowloris: $out"
check_eq "slowloris: all 20 closed by nacred" "$(field "$out" closed)" 20/20
check_range "slowloris: closed at handshake_timeout 2 s, not later (max, s)" \
	"$(field "$out" max)" 1.8 3.5
check_range "slowloris: not before it either (min, s)" "$(field "$out" min)" 1.8 3.5
check_eq "after slowloris: served" "$(https "$P_CL" /)" "$HELLO"
nacred_stop cl

# --- 5000 concurrent TLS connections (all handshakes held), one request each
conf_defaults
C_LEVEL=info
port P_CC5
C_LISTEN="tcp:127.0.0.1:$P_CC5"
C_UP="unix:$T/cl.sock"
C_HS=60s
conf "$T/cc5.conf"
nacred cc5 "$T/cc5.conf" "$P_CC5"
t0=$(now)
out=$(tlsclient concurrent --connect "tcp:127.0.0.1:$P_CC5" --conns 5000 \
	--timeout 120 2>"$T/cc5_client.err")
rc=$?
echo "# 5000 concurrent: $out ($(tail -n 1 "$T/cc5_client.err"))"
if [ $rc -eq 0 ] && [ "$out" = "5000 ok, 0 errors" ]; then
	ok "5000 concurrent TLS connections, one request each, 0 errors ($(elapsed "$t0") s)"
else
	notok "5000 concurrent TLS connections, one request each" \
		"rc $rc: $out; $(head -n 5 "$T/cc5_client.err" | tr '\n' ' ')"
fi
serves cc5 "$P_CC5"
nacred_stop cc5
bg_stop cl_app
