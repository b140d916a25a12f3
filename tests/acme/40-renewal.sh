# 40-renewal: what the CA says and what it does to a renewal. Pebble 2.4
# offers no renewalInfo (RFC 9773) and no meta.caaIdentities, so
# ari_proxy.py serves its directory with both (everything else is still
# Pebble's). nacred takes its CAA issuer domain from the directory, asks
# renewalInfo about its certificate with the RFC 9773 identifier, and the
# CA's window (already open) brings the renewal forward by years. The
# proxy stops Pebble (SIGSTOP) as it answers, so the renewal meets a
# stopped CA: the failure is logged, the first certificate stays in
# service, and once Pebble runs again the renewal succeeds. Then reloads
# that add and drop a domain group.

if command -v pebble >/dev/null 2>&1 && command -v pebble-challtestsrv >/dev/null 2>&1; then
port AR_DNS
port AR_MGMT_DNS
port AR_DIR
port AR_MGMT
port AR_PROXY
port AR_TLS
port AR_ADM

bg ar_dns pebble-challtestsrv -dns01 "127.0.0.1:$AR_DNS" -management "127.0.0.1:$AR_MGMT_DNS" \
	-http01 "" -https01 "" -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 ""
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$T/ar-ca.key" -out "$T/ar-ca.crt" -subj /CN=pebble \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
# Pebble's default validity (years): only the CA's window can make
# nacred renew within this test
cat >"$T/ar-pebble.json" <<PJ
{ "pebble": { "listenAddress": "127.0.0.1:$AR_DIR",
  "managementListenAddress": "127.0.0.1:$AR_MGMT",
  "certificate": "$T/ar-ca.crt", "privateKey": "$T/ar-ca.key",
  "httpPort": 1, "tlsPort": $AR_TLS, "ocspResponderURL": "",
  "externalAccountBindingRequired": false } }
PJ
PEBBLE_VA_NOSLEEP=1 bg ar_pebble pebble -config "$T/ar-pebble.json" -dnsserver "127.0.0.1:$AR_DNS"
wait_for "$T/ar_pebble.out" "Listening on" 10 >/dev/null 2>&1
: >"$T/ar-ids.log"
bg ar_proxy /usr/bin/python3 tests/acme/ari_proxy.py --port "$AR_PROXY" \
	--pebble "https://127.0.0.1:$AR_DIR/dir" --cert "$T/ar-ca.crt" --key "$T/ar-ca.key" \
	--cafile "$T/ar-ca.crt" --identity ari-ca.example --log "$T/ar-ids.log" \
	--stop-pid "$(bg_pid ar_pebble)"
wait_for "$T/ar_proxy.out" "listening" 10 >/dev/null 2>&1
check "acme renewal: pebble and the renewalInfo front listen" port_listening "$AR_PROXY"

upstream ar_app "unix:$T/ar.sock"
ar_conf() { # FILE NAMES...: require_caa, caa_identity from the directory
	_arf=$1; shift
	groups=""
	for n in "$@"; do groups="$groups${groups:+, }{ names = [ \"$n\" ]; }"; done
	conf_defaults
	C_LEVEL=debug
	C_UP="unix:$T/ar.sock"
	C_LISTEN="tcp:127.0.0.1:$AR_TLS"
	C_EXTRA="acme = { directory = \"https://127.0.0.1:$AR_PROXY/dir\"; ca_roots = \"$T/ar-ca.crt\";
  resolver = \"tcp:127.0.0.1:$AR_DNS\"; require_caa = true; domains = ( $groups ); };
admin = { listen = \"tcp:127.0.0.1:$AR_ADM\"; };"
	conf "$_arf"
}
add_caa() { # NAME ACCOUNT
	curl -sf --max-time 5 -X POST -d "{\"host\":\"$1\",\"policies\":[{\"tag\":\"issue\",\"value\":\"ari-ca.example; accounturi=$2; validationmethods=tls-alpn-01\"}]}" \
		"http://127.0.0.1:$AR_MGMT_DNS/add-caa" >/dev/null
}
serial_of() { # NAME
	echo | openssl s_client -connect "127.0.0.1:$AR_TLS" -servername "$1" 2>/dev/null |
		openssl x509 -noout -serial 2>/dev/null
}
served_count() { grep -c "acme: serving the certificate for $1" "$T/ar_n.err"; }
wait_served() { # NAME COUNT SECONDS
	i=0
	while [ "$(served_count "$1")" -lt "$2" ] && [ $i -lt $(($3 * 10)) ]; do
		sleep 0.1; i=$((i + 1))
	done
}

ar_conf "$T/ar.conf" ari.nacre.test
check_has "acme renewal: -t without caa_identity says where it comes from" \
	"$("$NACRED" -t -c "$T/ar.conf" 2>&1)" "<the CA's CAA domain>"
if nacred ar_n "$T/ar.conf" "$AR_TLS"; then
	wait_for "$T/ar_n.err" "acme: publish:" 20 >/dev/null 2>&1
	acct=$(sed -n 's/.*acme: account \(https:[^ ]*\) (the accounturi.*/\1/p' "$T/ar_n.err" | head -n 1)
	check_has "acme renewal: the CAA issuer domain comes from meta.caaIdentities" "$(nlog ar_n)" \
		"ari.nacre.test. CAA 0 issue \"ari-ca.example; accounturi=$acct; validationmethods=tls-alpn-01\""
	add_caa ari.nacre.test "$acct"
	wait_served ari.nacre.test 1 40
	check_eq "acme renewal: once CAA pins the account, the first certificate" \
		"$(served_count ari.nacre.test)" 1
	check_has "acme renewal: the CAA verdict change is logged" "$(nlog ar_n)" \
		"acme: CAA for ari.nacre.test pins this account and tls-alpn-01 (issuer ari-ca.example)"
	# the state of each domain, on the admin endpoint
	curl -s --max-time 5 "http://127.0.0.1:$AR_ADM/metrics" >"$T/ar-metrics.txt"
	check "acme metrics: the CAA verdict per domain (pinned)" \
		grep -q '^nacre_acme_caa_pinned{domain="ari.nacre.test"} 1$' "$T/ar-metrics.txt"
	check "acme metrics: the account is registered" \
		grep -q '^nacre_acme_account_registered 1$' "$T/ar-metrics.txt"
	check "acme metrics: the served ACME certificate's expiry, by name" \
		grep -q '^nacre_certificate_expiry_timestamp_seconds{kind="acme",name="ari.nacre.test"} [1-9]' \
		"$T/ar-metrics.txt"
	out=$(promtool check metrics <"$T/ar-metrics.txt" 2>&1); rc=$?
	check_eq "acme metrics: promtool finds no problem ($out)" "$rc" 0
	serial1=$(serial_of ari.nacre.test)
	check "acme renewal: the first certificate is served ($serial1)" test -n "$serial1"
	# the RFC 9773 identifier: base64url(AKI keyIdentifier) "." base64url(serial)
	echo | openssl s_client -connect "127.0.0.1:$AR_TLS" -servername ari.nacre.test 2>/dev/null |
		openssl x509 -text -noout >"$T/ar-leaf.txt" 2>/dev/null
	want_id=$(/usr/bin/python3 - "$T/ar-leaf.txt" "${serial1#serial=}" <<'PY'
import base64, re, sys
t = open(sys.argv[1]).read()
aki = re.search(r"Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)", t).group(1)
ser = sys.argv[2]
b = lambda h: bytes.fromhex(h.replace(":", ""))
s = b(ser if len(ser) % 2 == 0 else "0" + ser)
if s[0] & 0x80:
    s = b"\0" + s
e = lambda x: base64.urlsafe_b64encode(x).decode().rstrip("=")
print(e(b(aki)) + "." + e(s))
PY
)
	wait_for "$T/ar_n.err" "the CA suggests renewing" 20 >/dev/null 2>&1
	check_eq "acme renewal: renewalInfo asked with the certificate's RFC 9773 identifier" \
		"$(head -n 1 "$T/ar-ids.log")" "$want_id"
	check_has "acme renewal: the CA's window brings the renewal forward" "$(nlog ar_n)" \
		"acme: the CA suggests renewing ari.nacre.test between"
	check_has "acme renewal: ... the renewal replaces the current certificate" "$(nlog ar_n)" \
		"ordering a certificate for ari.nacre.test (replacing the current one)"
	# Pebble is stopped now: the exchange times out (30 s per request)
	wait_for "$T/ar_n.err" "acme: certificate for ari.nacre.test failed" 50 >/dev/null 2>&1
	check_has "acme renewal, CA stopped: the failure is logged, the old certificate stays" \
		"$(nlog ar_n)" "the current certificate stays in service; retrying in"
	check_eq "acme renewal, CA stopped: clients still get the first certificate" \
		"$(serial_of ari.nacre.test)" "$serial1"
	bg_signal ar_pebble CONT
	wait_served ari.nacre.test 2 40
	check_eq "acme renewal, CA back: the renewal succeeds" "$(served_count ari.nacre.test)" 2
	serial2=$(serial_of ari.nacre.test)
	check "acme renewal: new connections get the renewed certificate ($serial1 -> $serial2)" \
		test -n "$serial2" -a "$serial1" != "$serial2"
	curl -sk --max-time 10 "https://127.0.0.1:$AR_MGMT/roots/0" >"$T/ar-root.pem"
	out=$(curl -s --max-time 10 --cacert "$T/ar-root.pem" --resolve "ari.nacre.test:$AR_TLS:127.0.0.1" \
		"https://ari.nacre.test:$AR_TLS/" 2>&1)
	check_eq "acme renewal: curl without -k through the renewed certificate" "$out" \
		"hello from the enclave app"
	check_eq "acme renewal: the renewed certificate is asked about too, and left alone" \
		"$(wc -l <"$T/ar-ids.log")" 2

	# reload: a new group is ordered (once CAA pins it), the old one kept
	add_caa add.nacre.test "$acct"
	ar_conf "$T/ar.conf" ari.nacre.test add.nacre.test
	bg_signal ar_n HUP
	wait_served add.nacre.test 1 40
	check_has "acme reload: a new domain group is ordered" "$(nlog ar_n)" \
		"acme: add.nacre.test is new in the configuration"
	check_eq "acme reload: ... and served" "$(served_count add.nacre.test)" 1
	check_eq "acme reload: the kept group keeps its certificate, no new order" \
		"$(serial_of ari.nacre.test)" "$serial2"
	# reload: the group dropped is no longer served its ACME certificate
	ar_conf "$T/ar.conf" add.nacre.test
	bg_signal ar_n HUP
	wait_for "$T/ar_n.err" "ari.nacre.test is no longer configured" 10 >/dev/null 2>&1
	check_has "acme reload: a dropped group is logged" "$(nlog ar_n)" \
		"acme: ari.nacre.test is no longer configured"
	issuer=$(echo | openssl s_client -connect "127.0.0.1:$AR_TLS" -servername ari.nacre.test 2>/dev/null |
		openssl x509 -noout -issuer 2>&1)
	check_lacks "acme reload: ... and no longer served its ACME certificate" "$issuer" "Pebble"
	check_has "acme reload: the remaining group is still served" \
		"$(echo | openssl s_client -connect "127.0.0.1:$AR_TLS" -servername add.nacre.test 2>/dev/null |
		openssl x509 -noout -issuer 2>&1)" "Pebble"
	# reload with another directory: the account stays, a warning says so
	sed "s|$AR_PROXY/dir|$AR_DIR/dir|" "$T/ar.conf" >"$T/ar2.conf" && mv "$T/ar2.conf" "$T/ar.conf"
	bg_signal ar_n HUP
	wait_for "$T/ar_n.err" "takes effect at the next start, with a new account" 10 >/dev/null 2>&1
	check_has "acme reload: a new directory waits for a restart (the account would change)" \
		"$(nlog ar_n)" "a new directory, ca_roots, via or contact takes effect at the next start"
	nacred_stop ar_n
fi
bg_stop ar_proxy
bg_signal ar_pebble CONT
bg_stop ar_pebble
bg_stop ar_app
bg_stop ar_dns
fi
