# 50-scaleout: three nacred replicas (sim provider) behind HAProxy in
# `mode tcp`, the way users scale out behind an L4 balancer that speaks
# PROXY v2. HAProxy sends PROXY v2 to every replica (listen.proxy_protocol
# = true), each replica sends PROXY v2 to the app (upstream.proxy_protocol
# = "v2"): the app sees the client's own address (a client bound to
# 127.0.0.2, not HAProxy's 127.0.0.1). All replicas share one sim root and
# run one binary, so one policy (--root <sim-root.crt> --pcr 0=PCR0)
# verifies whichever replica HAProxy picks. Each replica has its own ACME
# account and its own certificate from Pebble for the same name; the three
# accounts the evidence names are the three issue records CAA needs (and
# nacre caa says what such a set is: open to each of the accounts). After a
# SIGKILL of one replica, once HAProxy's health check (200 ms, fall 2)
# marks it down, no new connection is lost.
#
# tls-alpn-01 behind an L4 balancer: the CA connects to the name's address
# (the balancer), and a plain round-robin would hand the validation to any
# replica; nacred answers only its own pending challenge (another replica
# refuses the handshake: unrecognized_name), so the order would fail two
# times in three and be retried with backoff. The design here is
# deterministic instead: an enrolment route. HAProxy reads the ClientHello
# (tcp-request inspect-delay, req.ssl_alpn) and sends every connection that
# offers acme-tls/1 to the backend `acme`, which has exactly one server
# enabled: the replica that is ordering. Replicas are enrolled one after
# another (the route moved with HAProxy's runtime API), and each joins the
# client backend only once it serves its ACME certificate, so a browser
# never meets a replica that has only its attested certificate. Every
# replica gets its certificate at its first attempt (asserted: no failed
# order). docs/caa.md ("Several replicas") describes the same for
# operators, renewals included.

if ! command -v pebble >/dev/null 2>&1 || ! command -v pebble-challtestsrv >/dev/null 2>&1 ||
   ! command -v haproxy >/dev/null 2>&1 || ! command -v socat >/dev/null 2>&1; then
	notok "scale-out: pebble, haproxy and socat are installed" "sh tests/deps.sh test installs them"
else
AS_NAME=scale.nacre.test
AS_NACRE=${NACRE_CLI:-$(dirname "$NACRED")/nacre}
port AS_DNS
port AS_MGMT_DNS
port AS_DIR
port AS_MGMT
port AS_HAP   # HAProxy's frontend: clients, and Pebble's tls-alpn-01 port
port AS_P1
port AS_P2
port AS_P3

bg as_dns pebble-challtestsrv -dns01 "127.0.0.1:$AS_DNS" -management "127.0.0.1:$AS_MGMT_DNS" \
	-http01 "" -https01 "" -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 ""
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$T/as-ca.key" -out "$T/as-ca.crt" -subj /CN=pebble \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
cat >"$T/as-pebble.json" <<PJ
{ "pebble": { "listenAddress": "127.0.0.1:$AS_DIR",
  "managementListenAddress": "127.0.0.1:$AS_MGMT",
  "certificate": "$T/as-ca.crt", "privateKey": "$T/as-ca.key",
  "httpPort": 1, "tlsPort": $AS_HAP, "ocspResponderURL": "",
  "externalAccountBindingRequired": false } }
PJ
PEBBLE_VA_NOSLEEP=1 bg as_pebble pebble -config "$T/as-pebble.json" -dnsserver "127.0.0.1:$AS_DNS"
wait_for "$T/as_pebble.out" "Listening on" 10 >/dev/null 2>&1 ||
	wait_for "$T/as_pebble.err" "Listening on" 10 >/dev/null 2>&1

upstream as_app "unix:$T/as.sock" --proxy-v2

# every server starts disabled (maintenance): a replica is put on the
# enrolment route, then into the client backend, by the runtime API
cat >"$T/as-hap.cfg" <<HC
global
	stats socket $T/as-hap.sock mode 600 level admin
defaults
	mode tcp
	timeout connect 2s
	timeout client 30s
	timeout server 30s
frontend fe
	bind 127.0.0.1:$AS_HAP
	tcp-request inspect-delay 5s
	tcp-request content accept if { req.ssl_hello_type 1 }
	use_backend acme if { req.ssl_alpn acme-tls/1 }
	default_backend replicas
backend replicas
	balance roundrobin
	default-server send-proxy-v2 check inter 200ms fall 2 rise 1
	server r1 127.0.0.1:$AS_P1 disabled
	server r2 127.0.0.1:$AS_P2 disabled
	server r3 127.0.0.1:$AS_P3 disabled
backend acme
	default-server send-proxy-v2
	server r1 127.0.0.1:$AS_P1 disabled
	server r2 127.0.0.1:$AS_P2 disabled
	server r3 127.0.0.1:$AS_P3 disabled
HC
bg as_hap haproxy -db -f "$T/as-hap.cfg"
i=0
while ! port_listening "$AS_HAP" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
check "scale-out: pebble and haproxy listen" port_listening "$AS_HAP"

hap() { echo "$1" | socat -t 2 stdio "UNIX-CONNECT:$T/as-hap.sock" 2>/dev/null; }
# hap_status BACKEND SERVER: UP, DOWN, MAINT, ... (show stat, field 18)
hap_status() {
	hap "show stat" | awk -F, -v b="$1" -v s="$2" '$1 == b && $2 == s { print $18 }'
}
hap_wait() { # BACKEND SERVER STATUS SECONDS
	_j=0
	while [ "$(hap_status "$1" "$2")" != "$3" ] && [ $_j -lt $(($4 * 20)) ]; do
		sleep 0.05; _j=$((_j + 1))
	done
	[ "$(hap_status "$1" "$2")" = "$3" ]
}

as_enrolled=""
for r in 1 2 3; do
	eval "p=\$AS_P$r"
	conf_defaults
	C_LEVEL=info
	C_LISTEN="tcp:127.0.0.1:$p"
	C_LISTEN_PP=true
	C_UP="unix:$T/as.sock"
	C_UP_PP=v2
	C_NAMES="\"localhost\", \"$AS_NAME\""
	C_EXTRA="acme = { directory = \"https://127.0.0.1:$AS_DIR/dir\"; ca_roots = \"$T/as-ca.crt\";
  domains = ( { names = [ \"$AS_NAME\" ]; } ); require_caa = false; };"
	conf "$T/as$r.conf"
	# the enrolment route: acme-tls/1 goes to this replica only
	hap "enable server acme/r$r" >/dev/null
	nacred "as_r$r" "$T/as$r.conf" "$p" || continue
	wait_for "$T/as_r$r.err" "acme: serving the certificate for $AS_NAME" 30 >/dev/null 2>&1
	lg=$(nlog "as_r$r")
	check_has "scale-out r$r: its certificate, ordered through the balancer's enrolment route" \
		"$lg" "acme: serving the certificate for $AS_NAME"
	check_has "scale-out r$r: ... the CA's validation reached it (tls-alpn-01 answered)" \
		"$lg" "tls-alpn-01: challenge certificate served"
	check_lacks "scale-out r$r: ... at the first attempt (no failed order)" \
		"$lg" "acme: certificate for $AS_NAME failed"
	hap "disable server acme/r$r" >/dev/null
	# into the client backend: the health check brings it up
	hap "enable server replicas/r$r" >/dev/null
	check "scale-out r$r: HAProxy's health check marks it up" hap_wait replicas "r$r" UP 5
	as_enrolled="$as_enrolled r$r"
done
check_eq "scale-out: three replicas enrolled" "$as_enrolled" " r1 r2 r3"
# why the route: a validation that lands on a replica that is not the one
# ordering fails (nacred answers only its own pending challenge)
hap "enable server acme/r1" >/dev/null
out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$AS_HAP" -servername "$AS_NAME" \
	-alpn acme-tls/1 2>&1)
check_has "scale-out: acme-tls/1 to a replica with no pending challenge: refused" "$out" \
	"unrecognized name"
hap "disable server acme/r1" >/dev/null

# one account per replica, born in its enclave
: >"$T/as-accts-log"
for r in 1 2 3; do
	sed -n 's/.*acme: account \(https:[^ ]*\) (the accounturi.*/\1/p' "$T/as_r$r.err" |
		head -n 1 >>"$T/as-accts-log"
done
check_eq "scale-out: each replica registered its own account (3 distinct)" \
	"$(sort -u "$T/as-accts-log" | grep -c .)" 3

# the app sees the real client: curl bound to 127.0.0.2, through HAProxy
# (PROXY v2) and nacred (PROXY v2 again); Pebble's root, no -k
curl -sk --max-time 10 "https://127.0.0.1:$AS_MGMT/roots/0" >"$T/as-root.pem"
as_curl() { # PATH [CURL-ARGS...]
	_path=$1; shift
	curl -s --max-time 10 --cacert "$T/as-root.pem" --resolve "$AS_NAME:$AS_HAP:127.0.0.1" \
		"$@" "https://$AS_NAME:$AS_HAP$_path"
}
for k in 1 2 3; do
	out=$(as_curl /proxy --interface 127.0.0.2 -w 'client %{local_ip}:%{local_port}\n' 2>&1)
	client=$(printf '%s\n' "$out" | sed -n 's/^client //p')
	check_has "scale-out: the app sees the real client address ($k: $client)" "$out" \
		"src ${client:-?}"
	check_has "scale-out: ... a 127.0.0.2 client, not HAProxy's address ($k)" "$client" "127.0.0.2:"
	check_has "scale-out: ... and HAProxy's frontend as dst ($k)" "$out" "dst 127.0.0.1:$AS_HAP"
done

# each replica's ACME certificate is its own (serial and key), each
# chaining to Pebble's root; roundrobin: 6 handshakes meet all three
: >"$T/as-serials"
: >"$T/as-keys"
for k in 1 2 3 4 5 6; do
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$AS_HAP" -servername "$AS_NAME" \
		-showcerts 2>/dev/null >"$T/as-served.txt"
	openssl x509 -noout -serial <"$T/as-served.txt" >>"$T/as-serials" 2>/dev/null
	openssl x509 -pubkey -noout <"$T/as-served.txt" 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null |
		sha256sum | cut -d' ' -f1 >>"$T/as-keys"
	# the chain the replica served (leaf + intermediate) verifies to the root
	awk '/BEGIN CERT/,/END CERT/' "$T/as-served.txt" >"$T/as-chain.pem"
	awk 'BEGIN { n = 0 } /BEGIN CERT/ { n++ } n >= 2' "$T/as-chain.pem" >"$T/as-inter.pem"
	out=$(openssl verify -CAfile "$T/as-root.pem" -untrusted "$T/as-inter.pem" \
		-verify_hostname "$AS_NAME" "$T/as-chain.pem" 2>&1)
	check_has "scale-out: served chain $k verifies to Pebble's root for $AS_NAME" "$out" ": OK"
done
check_eq "scale-out: three replicas, three ACME certificates (distinct serials)" \
	"$(sort -u "$T/as-serials" | grep -c .)" 3
check_eq "scale-out: ... and three keys" "$(sort -u "$T/as-keys" | grep -c .)" 3

# one policy for every replica: the shared sim root's .crt and PCR0 (one
# binary); 6 verifications through HAProxy meet the three replicas
PCR0=$(sed -n 's/.*sim PCR0 \([0-9a-f]\{96\}\).*/\1/p' "$T/as_r1.err" | head -n 1)
check_eq "scale-out: the replicas log one PCR0" \
	"$(sed -n 's/.*sim PCR0 \([0-9a-f]\{96\}\).*/\1/p' "$T/as_r1.err" "$T/as_r2.err" "$T/as_r3.err" |
	sort -u | grep -c .)" 1
check_eq "scale-out: ... and one sim root" \
	"$(sed -n 's/.*sim root sha256:\([0-9a-f]\{64\}\).*/\1/p' "$T/as_r1.err" "$T/as_r2.err" "$T/as_r3.err" |
	sort -u | grep -c .)" 1
: >"$T/as-accts-ev"
: >"$T/as-modules"
nver=0
for k in 1 2 3 4 5 6; do
	out=$(timeout 30 "$AS_NACRE" verify "127.0.0.1:$AS_HAP" --sni "$AS_NAME" \
		--root "$T/sim-root.crt" --pcr "0=$PCR0" 2>&1)
	case $out in *"verified: yes"*) nver=$((nver + 1)) ;; *) echo "# verify $k: $(printf '%s' "$out" | tail -n 3 | tr '\n' '|')" ;; esac
	printf '%s\n' "$out" | grep -o "https://127.0.0.1:$AS_DIR/[^ ,\"]*" | head -n 1 >>"$T/as-accts-ev"
	printf '%s\n' "$out" | sed -n 's/.*module id: *//p' | head -n 1 >>"$T/as-modules"
done
check_eq "scale-out: nacre verify with one policy through HAProxy: 6 of 6 verified" "$nver" 6
check_eq "scale-out: ... the evidence named three accounts (all three replicas met)" \
	"$(sort -u "$T/as-accts-ev" | grep -c .)" 3
check_eq "scale-out: ... the accounts the evidence names are those the replicas logged" \
	"$(sort -u "$T/as-accts-ev" | tr '\n' ' ')" "$(sort -u "$T/as-accts-log" | tr '\n' ' ')"
check_range "scale-out: ... module ids seen (distinct)" "$(sort -u "$T/as-modules" | grep -c .)" 2 3

# CAA for several replicas: one issue record per account (accounturi is
# per record). nacred's check calls such a set open-any-account for each
# replica (another account may issue too), so replicas run with
# require_caa = false until they share one account: nacre caa shows it
pol=""
while read -r a; do
	pol="$pol{\"tag\":\"issue\",\"value\":\"pebble.example; accounturi=$a; validationmethods=tls-alpn-01\"},"
done <"$T/as-accts-log"
curl -sf --max-time 5 -X POST -d "{\"host\":\"$AS_NAME\",\"policies\":[$pol{\"tag\":\"issuewild\",\"value\":\";\"}]}" \
	"http://127.0.0.1:$AS_MGMT_DNS/add-caa" >/dev/null
a1=$(head -n 1 "$T/as-accts-log")
out=$(timeout 20 "$AS_NACRE" caa "$AS_NAME" --account "$a1" --ca pebble.example \
	--resolver "tcp:127.0.0.1:$AS_DNS" 2>&1); rc=$?
check_has "scale-out CAA: three issue records, one per replica account" "$out" "(4 records)"
check_has "scale-out CAA: ... nacred's check: the CA may also issue to the other replicas' accounts" \
	"$out" "open to another account"
check_eq "scale-out CAA: ... not pinned to one account (exit 1)" "$rc" 1

# a replica dies: once the health check marks it down, no new connection
# is lost
bg_signal as_r2 KILL
bg_wait as_r2 5 >/dev/null
check "scale-out: SIGKILL r2: HAProxy's health check marks it down (200 ms, fall 2)" \
	hap_wait replicas r2 DOWN 5
good=0
: >"$T/as-after"
for k in $(seq 1 30); do
	out=$(as_curl / -w '\n%{http_code}\n' 2>&1)
	case $out in *"hello from the enclave app"*200) good=$((good + 1)) ;; *) echo "# request $k: $out" ;; esac
done
check_eq "scale-out: after r2 is down, 30 new connections: 30 served, none lost" "$good" 30
check_eq "scale-out: ... r1 and r3 still up" "$(hap_status replicas r1) $(hap_status replicas r3)" "UP UP"
s=$(san_errors as_r2)
check_eq "scale-out: r2 (killed): no sanitizer report before the kill" "$s" ""
nacred_stop as_r1
nacred_stop as_r3
bg_stop as_hap
bg_stop as_app
bg_stop as_pebble
bg_stop as_dns
fi
