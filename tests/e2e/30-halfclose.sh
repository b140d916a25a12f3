# 30-halfclose: the client finishes sending (close_notify + TCP FIN) and must
# still receive the app's reply; the app (drain mode) answers only at EOF.

upstream hc_app "unix:$T/hc.sock" --mode drain
conf_defaults
port P_HC
C_LISTEN="tcp:127.0.0.1:$P_HC"
C_UP="unix:$T/hc.sock"
conf "$T/hc.conf"
nacred hc "$T/hc.conf" "$P_HC"

for n in 1048576 0 1; do
	out=$(tlsclient half-close --connect "tcp:127.0.0.1:$P_HC" --send-bytes $n \
		--timeout 20 -q 2>"$T/hc_client.err")
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "half-close after $n bytes: reply arrives after our FIN ($out)"
	else
		notok "half-close after $n bytes: reply arrives after our FIN" \
			"rc $rc, got '$out', $(tr '\n' ' ' <"$T/hc_client.err")"
	fi
done

# a bigger body than nacred's buffer, sent while the app only reads: the
# half-close must not lose the tail that is still buffered in nacred
out=$(tlsclient half-close --connect "tcp:127.0.0.1:$P_HC" --send-bytes 20000000 \
	--timeout 30 2>"$T/hc_client.err")
check "half-close after 20 MB: nothing lost in flight" [ $? -eq 0 ]
check_has "half-close: nacred ends the reply with close_notify" \
	"$(cat "$T/hc_client.err")" "reply ended with close_notify"

nacred_stop hc
bg_stop hc_app
