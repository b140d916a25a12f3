# 40-hello: ClientHellos at the limits (a 255-byte server name, an ALPN list
# of ~64000 bytes, a 255-byte protocol name), and a server name that tries to
# forge a log line: nacred at log level debug must write it escaped.

upstream he_app "unix:$T/he.sock"
conf_defaults
C_LEVEL=debug
port P_HE
C_LISTEN="tcp:127.0.0.1:$P_HE"
C_UP="unix:$T/he.sock"
conf "$T/he.conf"
nacred he "$T/he.conf" "$P_HE"

for c in sni255 alpn64k alpn255; do
	out=$(fclient hello "$P_HE" "$c" 2>&1 | tail -n 1)
	echo "# $c: $out"
	case $out in
	"handshake ok"*|"refused:"*) ok "$c: handshake handled or refused ($(printf '%s' "$out" | cut -c1-60))" ;;
	*) notok "$c: handshake handled or refused" "$out" ;;
	esac
	check "$c: nacred alive" bg_running he
	check_eq "$c: the next client is served" "$(https "$P_HE" /)" "$HELLO"
done
# the same limits from another client implementation (OpenSSL's s_client)
name=$(printf 'x%.0s' $(seq 255))
out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$P_HE" -servername "$name" 2>&1)
check "s_client, 255-byte server name: nacred alive" bg_running he
check_eq "s_client, 255-byte server name: the next client is served" "$(https "$P_HE" /)" "$HELLO"

# --- log injection through the server name
echo | timeout 10 openssl s_client -connect "127.0.0.1:$P_HE" \
	-servername "$(printf 'evil\ninfo [c1] FORGED LINE')" >/dev/null 2>&1
sleep 0.3
check_nolog "log injection: no log line starts with the forged 'info [c1] FORGED LINE'" \
	he '^([0-9TZ:.-]+ )?info \[c1\] FORGED LINE'
check_nolog "log injection: no line holds the forged text on its own" \
	he '^[[:space:]]*(info \[c1\] )?FORGED LINE[[:space:]]*$'
check "log injection: the server name is logged escaped ('evil\\x0ainfo [c1] FORGED LINE')" \
	grep -qF 'evil\x0ainfo [c1] FORGED LINE' "$T/he.err"
serves he "$P_HE"
nacred_stop he
bg_stop he_app
