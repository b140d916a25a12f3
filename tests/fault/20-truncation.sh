# 20-truncation: a TLS close_notify must mean "the whole stream". An app that
# resets (or is killed with input unread) mid-response: the client's TLS
# connection is aborted without close_notify, so the client can tell a cut
# response from a complete one. A client that closes TCP without
# close_notify: the app sees a reset, not a clean EOF; with close_notify: a
# clean EOF. A client that resets mid-download: nacred closes the app side.
# The app is tests/fault/app.py on loopback TCP (it reports how each
# connection ended; SO_LINGER resets need TCP, not a unix socket).

port P_TA
app tr_app "tcp:127.0.0.1:$P_TA"
conf_defaults
port P_TR
C_LISTEN="tcp:127.0.0.1:$P_TR"
C_UP="tcp:127.0.0.1:$P_TA"
conf "$T/tr.conf"
nacred tr "$T/tr.conf" "$P_TR"

# app_end PATH SECONDS: how the app says the last connection to PATH ended
app_end() {
	wait_for "$T/tr_app.out" "^end $1 " "$2" >/dev/null
	grep "^end $1 " "$T/tr_app.out" | tail -n 1 | cut -d' ' -f3
}

# --- a complete response ends with close_notify
out=$(fclient get "$P_TR" /full/1000000 2>&1)
echo "# complete: $out"
check_eq "complete response: all bytes, then close_notify" \
	"$(field "$out" body) $(field "$out" end)" "1000000 close_notify"

# --- the app resets mid-response
out=$(fclient get "$P_TR" /reset/300000 2>&1)
echo "# app reset: $out"
check_eq "app resets mid-response: the app did reset" "$(app_end /reset/300000 3)" rst
check "app resets mid-response: the client got part of the body ($(field "$out" body) of $(field "$out" clen))" \
	test "$(field "$out" body)" -lt "$(field "$out" clen)"
e=$(field "$out" end)
if [ "$e" = eof ] || [ "$e" = reset ]; then
	ok "app resets mid-response: client's TLS aborted without close_notify ($e)"
else
	notok "app resets mid-response: client's TLS aborted without close_notify" "client saw end=$e"
fi

# --- the app is killed (kill -9) while data flows. With bytes still unread
# in its socket the kernel resets the connection; the client pipelines a few
# bytes after its request (the /stream app never reads them) to make sure.
bg tr_dl /usr/bin/python3 tests/fault/client.py get "$P_TR" /stream \
	--flowing 1048576 --extra 4096 --timeout 10
# app_unread: bytes waiting unread in the app's side of the connection
app_unread() {
	ss -Htn state established "( sport = :$P_TA )" 2>/dev/null |
		awk '{ if ($1 > m) m = $1 } END { print m + 0 }'
}
if wait_for "$T/tr_dl.out" '^flowing' 10; then
	# the kill must find the client's extra bytes unread in the app's
	# socket (that is what makes the kernel reset): wait until nacred
	# has passed them on, rather than for a fixed time
	t0=$(now)
	while [ "$(app_unread)" -lt 4096 ] && [ "$(elapsed "$t0" | cut -d. -f1)" -lt 5 ]; do
		sleep 0.05
	done
	check "app killed mid-transfer: the client's bytes reached the app during the download ($(elapsed "$t0") s)" \
		test "$(app_unread)" -ge 4096
	bg_group_kill tr_app KILL
	bg_wait tr_dl 10 >/dev/null
	out=$(tail -n 1 "$T/tr_dl.out")
	echo "# app killed: $out"
	e=$(field "$out" end)
	if [ "$e" = eof ] || [ "$e" = reset ]; then
		ok "app killed mid-transfer: client's TLS aborted without close_notify ($e)"
	else
		notok "app killed mid-transfer: client's TLS aborted without close_notify" "client saw end=$e"
	fi
else
	notok "app killed mid-transfer: the download starts" "$(cat "$T/tr_dl.out" "$T/tr_dl.err")"
fi
# for the record: killed with nothing unread, the app's kernel sends a FIN,
# which a byte stream cannot tell from the end of a response
bg_wait tr_app 5 >/dev/null
app tr_app "tcp:127.0.0.1:$P_TA"
bg tr_dl2 /usr/bin/python3 tests/fault/client.py get "$P_TR" /stream --flowing 1048576 --timeout 10
if wait_for "$T/tr_dl2.out" '^flowing' 10; then
	bg_group_kill tr_app KILL
	bg_wait tr_dl2 10 >/dev/null
	out=$(tail -n 1 "$T/tr_dl2.out")
	echo "# app killed with all its input read: $out"
	check "app killed (FIN): the client is not left hanging and sees a short body" \
		test "$(field "$out" end)" != timeout -a "$(field "$out" body)" -lt 1000000000000
fi
bg_wait tr_app 5 >/dev/null
app tr_app "tcp:127.0.0.1:$P_TA"

# --- the client closes: TCP without close_notify, then with it
out=$(fclient close "$P_TR" /hold fin 2>&1)
check_eq "client closes TCP without close_notify: the app sees a reset, not a clean EOF" \
	"$(app_end /hold 5)" reset
n0=$(grep -c '^end /hold ' "$T/tr_app.out")
out=$(fclient close "$P_TR" /hold notify 2>&1)
i=0
while [ "$(grep -c '^end /hold ' "$T/tr_app.out")" -le "$n0" ] && [ $i -lt 100 ]; do
	sleep 0.05; i=$((i + 1))
done
check_eq "client sends close_notify, then closes: the app sees a clean EOF" \
	"$(app_end /hold 1)" eof

# --- the client resets mid-download: nacred closes the app side
out=$(fclient rstdl "$P_TR" /stream 1048576 2>&1)
echo "# $out"
check_eq "client resets mid-download: the app's connection ends" "$(app_end /stream 5)" reset
i=0
while [ "$(conns_to "$P_TA")" -gt 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check_eq "client resets mid-download: no connection to the app is left" "$(conns_to "$P_TA")" 0
check "client resets mid-download: nacred is alive" bg_running tr
serves tr "$P_TR"
nacred_stop tr
bg_stop tr_app
