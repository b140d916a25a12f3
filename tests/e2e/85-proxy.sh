# 85-proxy: PROXY protocol v2 in front (listen.proxy_protocol = true: a load
# balancer's header is required) and behind (upstream.proxy_protocol = "v2":
# the app learns the client address and the TLS facts as TLVs).

upstream pp_app "unix:$T/pp.sock" --proxy-v2
conf_defaults
port P_PP
C_LISTEN="tcp:127.0.0.1:$P_PP"
C_LISTEN_PP=true
C_UP="unix:$T/pp.sock"
C_UP_PP=v2
conf "$T/pp.conf"
nacred pp "$T/pp.conf" "$P_PP"

REQ='GET /proxy HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
out=$(tlsclient get --connect "tcp:127.0.0.1:$P_PP" --proxy-v2-src 203.0.113.7:4242 \
	--alpn http/1.1 --request "$REQ" --timeout 10 2>&1)
check_has "PROXY v2 in and out: request served" "$out" "200 OK"
check_has "app sees the client address from the incoming header" "$out" \
	"src 203.0.113.7:4242"
check_has "app sees the ALPN TLV" "$out" "alpn http/1.1"
check_has "app sees the SNI as authority TLV" "$out" "authority localhost"
check_has "app sees the TLS version TLV" "$out" "tls_version TLSv1.3"
check_has "app sees the TLS cipher TLV" "$out" "tls_cipher TLS_"
check_has "SSL TLV flags a TLS client" "$out" "tls_client 0x01"

out=$(tlsclient get --connect "tcp:127.0.0.1:$P_PP" --proxy-v2-src '[2001:db8::7]:4343' \
	--request "$REQ" --timeout 10 2>&1)
check_has "an IPv6 client address is carried through" "$out" "src [2001:db8::7]:4343"
# the header's destination (tlsclient sends the zero address for IPv6),
# not nacred's own listen address, goes on to the app
check_has "... and its destination too, not nacred's address" "$out" "dst [::]:0"

out=$(tlsclient get --connect "tcp:127.0.0.1:$P_PP" --timeout 10 2>&1)
check "no PROXY header on a proxy_protocol listener: rejected" [ $? -ne 0 ]
check_has "no PROXY header: cut during the handshake" "$out" "handshake: "
# signature right, version 3: invalid
out=$(tlsclient stall --connect "tcp:127.0.0.1:$P_PP" --timeout 5 \
	--send-hex 0d0a0d0a000d0a515549540a31110000)
dt=$(printf '%s' "$out" | awk '/closed after/ { print $3 }')
check_range "invalid PROXY header (version 3): closed at once (s)" "$dt" 0 1.0
# a header that never completes: the handshake timeout covers it
out=$(tlsclient stall --connect "tcp:127.0.0.1:$P_PP" --timeout 8 \
	--send-hex 0d0a0d0a000d0a515549540a2111)
dt=$(printf '%s' "$out" | awk '/closed after/ { print $3 }')
check_range "incomplete PROXY header: closed at handshake_timeout 2s (s)" "$dt" 1.5 4
check_has "nacred logs the bad PROXY header" "$(nlog pp)" "PROXY"
out=$(tlsclient get --connect "tcp:127.0.0.1:$P_PP" --proxy-v2-src 198.51.100.1:1 \
	--request "$REQ" --timeout 10 2>&1)
check_has "nacred keeps serving PROXY clients after bad headers" "$out" \
	"src 198.51.100.1:1"

# plain listener, PROXY v2 to the app: the real peer and the TLS facts
port P_PQ
C_LISTEN="tcp:127.0.0.1:$P_PQ"
C_LISTEN_PP=false
conf "$T/pq.conf"
nacred pq "$T/pq.conf" "$P_PQ"
out=$(https "$P_PQ" /proxy --tlsv1.2 --tls-max 1.2)
check_has "plain listener: app sees the real client address" "$out" "src 127.0.0.1:"
check_has "plain listener: app sees nacred's listen address as dst" "$out" \
	"dst 127.0.0.1:$P_PQ"
check_has "TLS 1.2 client: version TLV says TLSv1.2" "$out" "tls_version TLSv1.2"
check_has "TLS 1.2 client: cipher TLV names an ECDHE-ECDSA suite" "$out" \
	"tls_cipher ECDHE-ECDSA-"
out=$(tlsclient get --connect "tcp:127.0.0.1:$P_PQ" --sni '' --request "$REQ" \
	--timeout 10 2>&1)
check_has "client without SNI or ALPN: served" "$out" "src 127.0.0.1:"
check_lacks "client without SNI: no authority TLV" "$out" "authority"
check_lacks "client without ALPN: no ALPN TLV" "$out" "alpn"

nacred_stop pp
nacred_stop pq
bg_stop pp_app
