# 50-proxy: garbage where a PROXY v2 header must come (listen.proxy_protocol
# = true): random bytes, a truncated header, a header that announces 65535
# bytes (with and without them), a valid signature with version 3. Each
# connection is closed (at once, or at handshake_timeout 2 s at the latest)
# and logged; a correct PROXY client is served afterwards.

upstream px_app "unix:$T/px.sock" --proxy-v2
conf_defaults
port P_PX
C_LISTEN="tcp:127.0.0.1:$P_PX"
C_LISTEN_PP=true
C_UP="unix:$T/px.sock"
C_UP_PP=v2
C_HS=2s
conf "$T/px.conf"
nacred px "$T/px.conf" "$P_PX"

# all five at once: the slow ones wait for the handshake timeout together
for c in pp-random pp-truncated pp-hugelen pp-hugelen-full pp-badver; do
	bg "px_$c" /usr/bin/python3 tests/fault/client.py raw "$P_PX" "$c" 8
done
for c in pp-random pp-truncated pp-hugelen pp-hugelen-full pp-badver; do
	bg_wait "px_$c" 12 >/dev/null
	out=$(cat "$T/px_$c.out")
	case $out in
	"closed after "*)
		check_range "$c: connection closed by nacred within handshake_timeout (s)" \
			"${out#closed after }" 0 3.5 ;;
	*) notok "$c: connection closed by nacred" "$out $(cat "$T/px_$c.err")" ;;
	esac
done
for c in pp-random pp-badver; do
	out=$(cat "$T/px_$c.out")
	check_range "$c: closed at once, not at the timeout (s)" "${out#closed after }" 0 1
done
grep 'PROXY' "$T/px.err" | grep '\[c' | sed 's/^/#   /'
n=$(grep 'PROXY' "$T/px.err" | grep -c '\[c')
check "the bad PROXY headers are logged ($n connection lines name PROXY, want 5)" test "$n" -ge 5
check "nacred alive after bad PROXY headers" bg_running px
REQ='GET /proxy HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
out=$(tlsclient get --connect "tcp:127.0.0.1:$P_PX" --proxy-v2-src 198.51.100.9:9 \
	--request "$REQ" --timeout 10 2>&1)
check_has "a correct PROXY client is served afterwards" "$out" "src 198.51.100.9:9"
nacred_stop px
bg_stop px_app
