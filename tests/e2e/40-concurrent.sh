# 40-concurrent: 1000 TLS connections open at once (all handshakes done and
# held), then one request on each.

upstream cc_app "unix:$T/cc.sock"
conf_defaults
C_LEVEL=info
port P_CC
C_LISTEN="tcp:127.0.0.1:$P_CC"
C_UP="unix:$T/cc.sock"
C_HS=30s
conf "$T/cc.conf"
nacred cc "$T/cc.conf" "$P_CC"

t0=$(now)
out=$(tlsclient concurrent --connect "tcp:127.0.0.1:$P_CC" --conns 1000 \
	--timeout 90 2>"$T/cc_client.err")
rc=$?
if [ $rc -eq 0 ] && [ "$out" = "1000 ok, 0 errors" ]; then
	ok "1000 concurrent TLS connections, one request each ($(elapsed "$t0") s)"
else
	notok "1000 concurrent TLS connections, one request each" \
		"rc $rc: $out; $(head -n 5 "$T/cc_client.err" | tr '\n' ' ')"
fi
check_eq "nacred serves normally after the burst" "$(https "$P_CC" /)" \
	"hello from the enclave app"

nacred_stop cc
bg_stop cc_app
