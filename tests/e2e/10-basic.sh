# 10-basic: one request through nacred to the app over a unix socket and over
# loopback TCP; the certificate, ALPN and version that clients see.

check_eq "nacred -V prints the version" "$("$NACRED" -V 2>&1)" "nacred 0.1.0"

upstream app_unix "unix:$T/app.sock" --name unix-app
port P_APP
upstream app_tcp "tcp:127.0.0.1:$P_APP" --name tcp-app

conf_defaults
port P_U
C_LISTEN="tcp:127.0.0.1:$P_U"
C_UP="unix:$T/app.sock"
C_NAMES='"localhost", "app.example"'
conf "$T/basic_unix.conf"
nacred basic_unix "$T/basic_unix.conf" "$P_U"

port P_T
C_LISTEN="tcp:127.0.0.1:$P_T"
C_UP="tcp:127.0.0.1:$P_APP"
conf "$T/basic_tcp.conf"
nacred basic_tcp "$T/basic_tcp.conf" "$P_T"

check_eq "curl through nacred to a unix-socket app" \
	"$(https "$P_U" /)" "hello from the enclave app"
check_eq "curl through nacred to a loopback-TCP app" \
	"$(https "$P_T" /name)" "tcp-app"
check_eq "keep-alive: two requests on one connection (unix)" \
	"$(curl -sk --max-time 20 --resolve "localhost:$P_U:127.0.0.1" \
		"https://localhost:$P_U/" "https://localhost:$P_U/name" \
		-w '%{num_connects}\n' | tr '\n' ' ')" \
	"hello from the enclave app 1 unix-app 0 "
check_eq "HTTP status 404 passes through" \
	"$(https "$P_U" /nope -o /dev/null -w '%{http_code}')" "404"

# what an openssl client sees: SANs, ALPN, protocol, key type
s_out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$P_U" \
	-servername localhost -alpn http/1.1 2>&1)
check_has "s_client: ALPN http/1.1 negotiated" "$s_out" "ALPN protocol: http/1.1"
check_has "s_client: handshake completes, TLSv1.3 by default" "$s_out" "New, TLSv1.3, Cipher is TLS_"
check_has "s_client: ECDSA P-256 server key" "$s_out" "Server public key is 256 bit"
cert_text=$(printf '%s\n' "$s_out" | openssl x509 -noout -text 2>&1)
check_has "certificate SANs carry tls.names" "$cert_text" "DNS:localhost, DNS:app.example"
check_has "certificate is self-signed for names[0]" "$cert_text" "Subject: CN = localhost"

s12=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$P_U" -tls1_2 2>&1)
check_has "TLS 1.2 accepted with min_version TLSv1.2" "$s12" "New, TLSv1.2, Cipher is ECDHE-ECDSA-"
sh2=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$P_U" -alpn h2 2>&1)
check_has "ALPN h2 only: the client reached nacred" "$sh2" "CONNECTED("
check_lacks "ALPN: an unconfigured protocol (h2) is never selected" "$sh2" "ALPN protocol: h2"

# the pinned certificate verifies with real verification on
printf '%s\n' "$s_out" | openssl x509 >"$T/basic.pem" 2>/dev/null
check_eq "curl with the certificate pinned (--cacert, verification on)" \
	"$(curl -s --max-time 20 --cacert "$T/basic.pem" \
		--resolve "localhost:$P_U:127.0.0.1" "https://localhost:$P_U/")" \
	"hello from the enclave app"

check_has "nacred logs the accepted connection" "$(nlog basic_unix)" "accepted from 127.0.0.1"

nacred_stop basic_unix
nacred_stop basic_tcp
bg_stop app_unix
bg_stop app_tcp
