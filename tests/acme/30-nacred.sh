# 30-nacred: nacred obtains browser-trusted (by Pebble's root) certificates
# for names it serves, with keys and account born in memory, answering
# tls-alpn-01 on its own listener. Real servers, offline: Debian's pebble
# (the ACME test CA, its default 5 % badNonce rejections on) and
# pebble-challtestsrv as the DNS it resolves the names with. Then: curl
# with Pebble's root and no -k gets the app through nacred and sees the
# ACME chain; nacre verify on the same port gets the attested certificate,
# whose claims name the account and the ACME certificate's key.

AC_NAMES="app.nacre.test www.nacre.test"
if ! command -v pebble >/dev/null 2>&1 || ! command -v pebble-challtestsrv >/dev/null 2>&1; then
	notok "acme: pebble is installed" "no pebble (sh tests/deps.sh test installs it)"
else
port AC_DNS
port AC_MGMT_DNS
port AC_DIR
port AC_MGMT
port AC_TLS   # nacred's listener: Pebble validates tls-alpn-01 on it

bg ac_dns pebble-challtestsrv -dns01 "127.0.0.1:$AC_DNS" -management "127.0.0.1:$AC_MGMT_DNS" \
	-http01 "" -https01 "" -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 ""
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$T/pebble.key" -out "$T/pebble.crt" -subj /CN=pebble \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
cat >"$T/pebble.json" <<PJ
{ "pebble": { "listenAddress": "127.0.0.1:$AC_DIR",
  "managementListenAddress": "127.0.0.1:$AC_MGMT",
  "certificate": "$T/pebble.crt", "privateKey": "$T/pebble.key",
  "httpPort": 1, "tlsPort": $AC_TLS, "ocspResponderURL": "",
  "externalAccountBindingRequired": false, "certificateValidityPeriod": 75 } }
PJ
PEBBLE_VA_NOSLEEP=1 bg ac_pebble pebble -config "$T/pebble.json" -dnsserver "127.0.0.1:$AC_DNS"
wait_for "$T/ac_pebble.out" "Listening on" 10 >/dev/null 2>&1 ||
	wait_for "$T/ac_pebble.err" "Listening on" 10 >/dev/null 2>&1
check "acme: pebble listens" port_listening "$AC_DIR"

upstream ac_app "unix:$T/ac.sock"
conf_defaults
C_LEVEL=debug
C_UP="unix:$T/ac.sock"
C_LISTEN="tcp:127.0.0.1:$AC_TLS"
C_NAMES='"localhost", "app.nacre.test"'
# Pebble's certificates live 75 s here and nacred renews 1 min before the
# end: the first renewal comes 8 to 15 s after the first certificate
C_EXTRA="acme = { directory = \"https://127.0.0.1:$AC_DIR/dir\"; ca_roots = \"$T/pebble.crt\";
  domains = ( { names = [ \"app.nacre.test\", \"www.nacre.test\" ]; } ); require_caa = false;
  renew_before = \"1m\"; };"
conf "$T/ac.conf"
if nacred ac_n "$T/ac.conf" "$AC_TLS"; then
	wait_for "$T/ac_n.err" "acme: serving the certificate" 60 >/dev/null 2>&1
	check_has "acme: nacred registered an account" "$(nlog ac_n)" "acme: account https://127.0.0.1:$AC_DIR/"
	check_has "acme: nacred answered tls-alpn-01 itself" "$(nlog ac_n)" "tls-alpn-01: challenge certificate served"
	check_has "acme: nacred obtained the certificate" "$(nlog ac_n)" "acme: certificate for app.nacre.test obtained"
	check_has "acme: ... and serves it" "$(nlog ac_n)" "acme: serving the certificate for app.nacre.test"
	curl -sk "https://127.0.0.1:$AC_MGMT/roots/0" >"$T/pebble-root.pem"
	check "acme: Pebble's root fetched" grep -q "BEGIN CERTIFICATE" "$T/pebble-root.pem"
	for n in $AC_NAMES; do
		out=$(curl -s --max-time 10 --cacert "$T/pebble-root.pem" \
			--resolve "$n:$AC_TLS:127.0.0.1" "https://$n:$AC_TLS/" 2>&1)
		check_eq "acme: curl --cacert <pebble root>, no -k, $n: the app answers" "$out" \
			"hello from the enclave app"
	done
	# the chain served to a client that does not ask: issued by Pebble
	echo | openssl s_client -connect "127.0.0.1:$AC_TLS" -servername app.nacre.test \
		-showcerts 2>/dev/null >"$T/ac-served.txt"
	check_has "acme: the served leaf is Pebble's, not self-signed" \
		"$(openssl x509 -noout -issuer <"$T/ac-served.txt" 2>&1)" "Pebble"
	# nacre verify on the same port asks for the attested certificate
	ROOT_SHA=$(sed -n 's/.*sim root sha256:\([0-9a-f]\{64\}\).*/\1/p' "$T/ac_n.err" | head -n 1)
	PCR0=$(sed -n 's/.*sim PCR0 \([0-9a-f]\{96\}\).*/\1/p' "$T/ac_n.err" | head -n 1)
	out=$(timeout 30 "${NACRE_CLI:-$(dirname "$NACRED")/nacre}" verify "127.0.0.1:$AC_TLS" \
		--sni app.nacre.test --root "sha256:$ROOT_SHA" --pcr "0=$PCR0" 2>&1)
	check_has "acme: nacre verify on the same port: verified" "$out" "verified: yes"
	check_has "acme: ... its claims name the ACME account" "$out" "https://127.0.0.1:$AC_DIR/"
	# the attested certificate names the key of the served ACME certificate
	want=$(openssl x509 -pubkey -noout <"$T/ac-served.txt" | openssl pkey -pubin -outform DER |
		sha256sum | cut -d' ' -f1)
	check_has "acme: ... and the served ACME certificate's key" "$out" "$want"
	# renewal: a second certificate for new connections while an old one
	# keeps streaming through its own
	serial1=$(openssl x509 -noout -serial <"$T/ac-served.txt")
	curl -s --max-time 40 --limit-rate 4M --cacert "$T/pebble-root.pem" \
		--resolve "app.nacre.test:$AC_TLS:127.0.0.1" \
		"https://app.nacre.test:$AC_TLS/bytes/60000000" >"$T/ac-long.bin" &
	long_pid=$!
	i=0
	while [ "$(grep -c 'acme: serving the certificate for app.nacre.test' "$T/ac_n.err")" -lt 2 ] &&
	      [ $i -lt 400 ]; do sleep 0.1; i=$((i + 1)); done
	check_eq "acme: renewed before the end (a second certificate served)" \
		"$(grep -c 'acme: serving the certificate for app.nacre.test' "$T/ac_n.err")" 2
	serial2=$(echo | openssl s_client -connect "127.0.0.1:$AC_TLS" -servername app.nacre.test \
		2>/dev/null | openssl x509 -noout -serial)
	check "acme: new connections get the new certificate ($serial1 -> $serial2)" \
		test -n "$serial2" -a "$serial1" != "$serial2"
	wait "$long_pid"
	check_eq "acme: the connection that started before streams to its end, intact" \
		"$(sha256sum <"$T/ac-long.bin" | cut -d' ' -f1)" "$(pattern_sha 60000000)"
	nacred_stop ac_n
fi

# require_caa = true: no order while CAA does not pin the account; the
# records to publish are logged; once they are published, the order
conf_defaults
C_LEVEL=debug
C_UP="unix:$T/ac.sock"
C_LISTEN="tcp:127.0.0.1:$AC_TLS"
C_EXTRA="acme = { directory = \"https://127.0.0.1:$AC_DIR/dir\"; ca_roots = \"$T/pebble.crt\";
  resolver = \"tcp:127.0.0.1:$AC_DNS\"; caa_identity = \"pebble.example\"; require_caa = true;
  domains = ( { names = [ \"caa.nacre.test\" ]; } ); };"
conf "$T/ac2.conf"
check_has "acme: nacred -t prints the CAA records to publish" \
	"$("$NACRED" -t -c "$T/ac2.conf" 2>&1)" \
	'caa.nacre.test. CAA 0 issue "pebble.example; accounturi=<account URL>; validationmethods=tls-alpn-01"'
if nacred ac_c "$T/ac2.conf" "$AC_TLS"; then
	wait_for "$T/ac_c.err" "acme: publish:" 20 >/dev/null 2>&1
	lg=$(nlog ac_c)
	check_has "acme, require_caa: no CAA set: the verdict is logged" "$lg" \
		"acme: CAA for caa.nacre.test: open-any-ca"
	acct=$(sed -n 's/.*acme: account \(https:[^ ]*\) (the accounturi.*/\1/p' "$T/ac_c.err" | head -n 1)
	check_has "acme, require_caa: the record to publish names the account" "$lg" \
		"caa.nacre.test. CAA 0 issue \"pebble.example; accounturi=$acct; validationmethods=tls-alpn-01\""
	check_lacks "acme, require_caa: no order placed" "$lg" "ordering a certificate"
	curl -sf --max-time 5 -X POST -d "{\"host\":\"caa.nacre.test\",\"policies\":[{\"tag\":\"issue\",\"value\":\"pebble.example; accounturi=$acct; validationmethods=tls-alpn-01\"},{\"tag\":\"issuewild\",\"value\":\";\"}]}" \
		"http://127.0.0.1:$AC_MGMT_DNS/add-caa" >/dev/null
	wait_for "$T/ac_c.err" "acme: serving the certificate for caa.nacre.test" 40 >/dev/null 2>&1
	check_has "acme, require_caa: once CAA pins the account, the order" "$(nlog ac_c)" \
		"acme: serving the certificate for caa.nacre.test"
	out=$(curl -s --max-time 10 --cacert "$T/pebble-root.pem" \
		--resolve "caa.nacre.test:$AC_TLS:127.0.0.1" "https://caa.nacre.test:$AC_TLS/" 2>&1)
	check_eq "acme, require_caa: curl without -k" "$out" "hello from the enclave app"
	# the whole chain from a verifier's side: code -> account -> CAA -> key
	ROOT_SHA=$(sed -n 's/.*sim root sha256:\([0-9a-f]\{64\}\).*/\1/p' "$T/ac_c.err" | head -n 1)
	PCR0=$(sed -n 's/.*sim PCR0 \([0-9a-f]\{96\}\).*/\1/p' "$T/ac_c.err" | head -n 1)
	NACRE_BIN=${NACRE_CLI:-$(dirname "$NACRED")/nacre}
	out=$(timeout 30 "$NACRE_BIN" verify "127.0.0.1:$AC_TLS" --sni caa.nacre.test \
		--root "sha256:$ROOT_SHA" --pcr "0=$PCR0" --webpki --webpki-roots "$T/pebble-root.pem" \
		--resolver "tcp:127.0.0.1:$AC_DNS" --ca pebble.example 2>&1); rc=$?
	check_eq "acme: nacre verify --webpki: exit 0" "$rc" 0
	check_has "acme: ... the WebPKI certificate verifies" "$out" "verifies for caa.nacre.test"
	check_has "acme: ... its key is one the enclave made" "$out" "one the enclave made (acme-keys)"
	check_has "acme: ... CAA pins the account the evidence names" "$out" "caa:           pinned"
	check_has "acme: ... the chain" "$out" "chain (code -> account -> CAA -> certificate): verified"
	out=$(timeout 30 "$NACRE_BIN" verify "127.0.0.1:$AC_TLS" --sni caa.nacre.test \
		--root "sha256:$ROOT_SHA" --pcr "0=$PCR0" --webpki --webpki-roots "$T/pebble-root.pem" \
		--resolver "tcp:127.0.0.1:$AC_DNS" --ca other.example 2>&1); rc=$?
	check_eq "acme: nacre verify --webpki, CAA for another CA: exit 1" "$rc" 1
	check_has "acme: ... says the chain is broken" "$out" "NOT verified"
	nacred_stop ac_c
fi
bg_stop ac_app
bg_stop ac_pebble
bg_stop ac_dns
fi
