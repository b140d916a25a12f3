# 10-upstream: an app that stops (nothing listens), an app whose accept queue
# is full (connects hang until limits.connect_timeout), and no libevent noise
# on a refused connect.

# --- the app stops: clients are closed at once, the refusal is logged; the
# app comes back: the same nacred serves it without a restart
port P_UPAPP
upstream up_app "tcp:127.0.0.1:$P_UPAPP"
conf_defaults
port P_UP
C_LISTEN="tcp:127.0.0.1:$P_UP"
C_UP="tcp:127.0.0.1:$P_UPAPP"
conf "$T/up.conf"
nacred up "$T/up.conf" "$P_UP"
check_eq "app up: served" "$(https "$P_UP" /)" "$HELLO"
bg_stop up_app
res=""
for i in 1 2 3; do
	res="$res$(fclient get "$P_UP" / --timeout 5 2>&1);"
done
echo "# app stopped, three clients: $res"
check_eq "app stopped: no client gets a response" \
	"$(printf '%s' "$res" | tr ';' '\n' | grep -c 'status=- ')" 3
check_eq "app stopped: each client gets a clean close (close_notify)" \
	"$(printf '%s' "$res" | tr ';' '\n' | grep -c 'end=close_notify')" 3
check "app stopped: each client closed within 1 s of its request" secs_all "$res" 0 1
check_has "app stopped: nacred logs the refusal" "$(nlog up)" "Connection refused"
check_nolog "a refused upstream connect prints no libevent '[warn] event_del'" \
	up '\[warn\] event_del'
upstream up_app "tcp:127.0.0.1:$P_UPAPP"
check_eq "app back: the same nacred serves it" "$(https "$P_UP" /)" "$HELLO"
nacred_stop up

# --- the app's accept queue is full (listen backlog 1, nobody accepts):
# connects hang until connect_timeout (1 s); handshakes of other clients go
# on meanwhile; pointed at a working app (reload), nacred serves again
port P_BH
bg up_blackhole /usr/bin/python3 -c '
import socket, sys, time
port = int(sys.argv[1])
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen(1)
fill = []
for i in range(4):  # fill the accept queue; it is never accepted from
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    fill.append(s)
time.sleep(0.3)
print("ready", flush=True)
time.sleep(120)
' "$P_BH"
upstream up_app2 "unix:$T/up2.sock"
if wait_for "$T/up_blackhole.out" '^ready' 5; then
	conf_defaults
	port P_BL
	C_LISTEN="tcp:127.0.0.1:$P_BL"
	C_UP="tcp:127.0.0.1:$P_BH"
	C_CONNECT=1s
	C_HS=5s
	conf "$T/bl.conf"
	nacred bl "$T/bl.conf" "$P_BL"
	for i in 1 2 3 4 5 6 7 8; do
		bg "bl_c$i" /usr/bin/python3 tests/fault/client.py get "$P_BL" / --timeout 8
	done
	sleep 0.3
	# meanwhile a handshake completes at once: the workers are not stuck
	t1=$(now)
	out=$(tlsclient idle --connect "tcp:127.0.0.1:$P_BL" --conns 1 --hold 0.1 --timeout 5 2>&1)
	check_has "accept queue full: other clients' handshakes go on" "$out" "held 1, 0 closed early"
	check_range "... promptly (s)" "$(elapsed "$t1")" 0 0.8
	all=""
	for i in 1 2 3 4 5 6 7 8; do
		bg_wait "bl_c$i" 10 >/dev/null
		all="$all$(cat "$T/bl_c$i.out");"
	done
	echo "# eight clients: $all"
	check_eq "accept queue full: eight clients closed without a response" \
		"$(printf '%s' "$all" | tr ';' '\n' | grep -c 'status=- ')" 8
	check "accept queue full: each closed at connect_timeout 1 s (0.8-2 s after its request)" \
		secs_all "$all" 0.8 2
	n=$(grep -c "timeout after 1000 ms" "$T/bl.err")
	check "accept queue full: each connect timeout is logged ($n)" test "$n" -ge 8
	C_UP="unix:$T/up2.sock"
	conf "$T/bl.conf"
	check "accept queue full: reload to a working app" hup_wait bl 'reloaded configuration'
	serves bl "$P_BL"
	nacred_stop bl
else
	notok "accept queue full: black-hole app starts" "$(cat "$T/up_blackhole.err")"
fi
bg_stop up_blackhole
bg_stop up_app
bg_stop up_app2
