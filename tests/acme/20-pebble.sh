# tests/acme/20-pebble.sh (sourced by tests/acme/run.sh): the ACME client
# of src/acme/ (through build/tools/acmeget) against Debian's pebble and
# pebble-challtestsrv, offline, on loopback: issuance for two names over
# tls-alpn-01, a wrong ca_roots, tcp and unix hops (`via`), an order that
# goes invalid, badNonce retries, and RFC 9773 renewalInfo (from a small
# stand-in server: Pebble 2.4 has none).

ACMEGET=${ACMEGET:-build/tools/acmeget}
PB_NAMES="a.nacre.test b.nacre.test"

# bg NAME sh -c "$PB_QUIET" sh CMD...: CMD ends with status 0 on SIGTERM,
# so the shell waiting for it has no "Terminated" to print (pebble and
# python die of the signal)
PB_QUIET='"$@" & c=$!; trap "kill \$c; wait \$c; exit 0" TERM; wait $c'

# pb_wait_port PORT: up to 10 s for a TCP listener
pb_wait_port() {
	_i=0
	while ! port_listening "$1" && [ $_i -lt 200 ]; do sleep 0.05; _i=$((_i + 1)); done
	port_listening "$1"
}

# pb_config FILE ACME-PORT MGMT-PORT: pebble's configuration
pb_config() {
	cat >"$1" <<EOF
{ "pebble": {
    "listenAddress": "127.0.0.1:$2",
    "managementListenAddress": "127.0.0.1:$3",
    "certificate": "$T/pb-pebble-cert.pem",
    "privateKey": "$T/pb-pebble-key.pem",
    "httpPort": $PB_HTTP,
    "tlsPort": $PB_ALPN,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false } }
EOF
}

# pb_start NAME ACME-PORT MGMT-PORT [ENV...]: one pebble, resolving names
# through challtestsrv, validating without its random sleeps
pb_start() {
	_n=$1 _a=$2 _m=$3
	shift 3
	pb_config "$T/$_n.json" "$_a" "$_m"
	bg "$_n" sh -c "$PB_QUIET" sh env PEBBLE_VA_NOSLEEP=1 "$@" pebble \
		-config "$T/$_n.json" -dnsserver "127.0.0.1:$PB_DNS"
	pb_wait_port "$_a" && pb_wait_port "$_m"
}

# pb_get NAME ARGS...: acmeget with its stdout+stderr in $T/pb-NAME.log;
# returns its exit status
pb_get() {
	_n=$1
	shift
	timeout 60 "$ACMEGET" --listen "tcp:127.0.0.1:$PB_ALPN" --timeout 40 \
		"$@" >"$T/pb-$_n.log" 2>&1
}

pb_setup() {
	for _c in pebble pebble-challtestsrv socat openssl; do
		if ! command -v "$_c" >/dev/null 2>&1; then
			notok "pebble topic: $_c is installed" "run tests/deps.sh"
			return 1
		fi
	done
	if [ ! -x "$ACMEGET" ]; then
		notok "pebble topic: $ACMEGET is built" "run make tools"
		return 1
	fi
	port PB_ACME; port PB_MGMT; port PB_ACME2; port PB_MGMT2; port PB_DNS
	port PB_CTS; port PB_ALPN; port PB_HTTP; port PB_HOP; port PB_DEAD
	port PB_ARI
	# Pebble's own HTTPS certificate (test material, removed with $T);
	# ca.nacre.test resolves nowhere: only a hop can reach it
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/pb-pebble-key.pem" -out "$T/pb-pebble-cert.pem" -days 2 \
		-subj /CN=localhost -addext \
		"subjectAltName=DNS:localhost,DNS:ca.nacre.test,IP:127.0.0.1" \
		2>/dev/null
	# DNS only: no default answers, no challenge servers on our ports
	bg pb_cts sh -c "$PB_QUIET" sh pebble-challtestsrv \
		-dns01 "127.0.0.1:$PB_DNS" -http01 "" -https01 "" -tlsalpn01 "" \
		-management "127.0.0.1:$PB_CTS" -defaultIPv4 "" -defaultIPv6 ""
	if ! pb_wait_port "$PB_CTS"; then
		notok "pebble-challtestsrv starts" "$(tail -n 3 "$T/pb_cts.err")"
		return 1
	fi
	for _h in $PB_NAMES; do
		curl -s --max-time 5 -d "{\"host\":\"$_h\",\"addresses\":[\"127.0.0.1\"]}" \
			"http://127.0.0.1:$PB_CTS/add-a" >/dev/null
	done
	if ! pb_start pb_pebble "$PB_ACME" "$PB_MGMT"; then
		notok "pebble starts" "$(tail -n 3 "$T/pb_pebble.out" "$T/pb_pebble.err")"
		return 1
	fi
	PB_DIR="https://127.0.0.1:$PB_ACME/dir"
	PB_ROOTS="$T/pb-pebble-cert.pem"
}

pb_issue() {
	pb_get issue --directory "$PB_DIR" --ca-roots "$PB_ROOTS" \
		--out "$T/pb-chain.pem" --ari $PB_NAMES
	_rc=$?
	check_eq "acme: a certificate for two names over tls-alpn-01 (exit status)" \
		"$_rc" 0
	_out=$(cat "$T/pb-issue.log")
	check_has "acme: the chain has the leaf and Pebble's intermediate" "$_out" \
		"chain 2 certificates"
	check_has "acme: the account URL is known" "$_out" \
		"account https://127.0.0.1:$PB_ACME/my-account/"
	_hs=$(sed -n 's/^acme-tls\/1 handshakes //p' "$T/pb-issue.log")
	check_range "acme: Pebble validated over ALPN acme-tls/1 (handshakes)" \
		"${_hs:-0}" 2 100
	check_has "acme: Pebble 2.4 offers no renewalInfo (fallback said)" "$_out" \
		"ari none: the CA offers no renewalInfo"
	curl -s --max-time 5 --cacert "$PB_ROOTS" \
		"https://127.0.0.1:$PB_MGMT/roots/0" >"$T/pb-pebble-root.pem"
	_v=$(openssl verify -CAfile "$T/pb-pebble-root.pem" -untrusted "$T/pb-chain.pem" \
		"$T/pb-chain.pem" 2>&1)
	check_eq "acme: the chain verifies against Pebble's root (openssl verify)" \
		"$_v" "$T/pb-chain.pem: OK"
	_san=$(openssl x509 -in "$T/pb-chain.pem" -noout -ext subjectAltName 2>/dev/null |
		tail -n 1 | tr -d ' ' | tr ',' '\n' | sort | tr '\n' ' ')
	check_eq "acme: its SANs are exactly the two names" "$_san" \
		"DNS:a.nacre.test DNS:b.nacre.test "
	check_lacks "acme: no private key was written" "$(cat "$T/pb-chain.pem")" \
		"PRIVATE KEY"
}

pb_wrong_roots() {
	pb_get roots --directory "$PB_DIR" --ca-roots "$T/pb-pebble-root.pem" \
		--out "$T/pb-roots.pem" a.nacre.test
	check_eq "acme: a wrong ca_roots file fails (exit status)" "$?" 1
	_out=$(cat "$T/pb-roots.log")
	check_has "acme: ... saying the CA's certificate could not be verified" \
		"$_out" "the CA's certificate could not be verified"
	check_has "acme: ... and naming the ca_roots file" "$_out" \
		"ca_roots file $T/pb-pebble-root.pem"
}

# Through a hop the directory names a port nothing listens on: a connection
# that bypassed the hop would be refused, and ca.nacre.test resolves nowhere.
pb_via() {
	PB_VIA_DIR="https://ca.nacre.test:$PB_DEAD/dir"
	bg pb_hop socat -d -d "TCP-LISTEN:$PB_HOP,bind=127.0.0.1,reuseaddr,fork" \
		"TCP:127.0.0.1:$PB_ACME"
	pb_wait_port "$PB_HOP"
	pb_get via --directory "$PB_VIA_DIR" --ca-roots "$PB_ROOTS" \
		--via "tcp:127.0.0.1:$PB_HOP" --out "$T/pb-via.pem" a.nacre.test
	check_eq "acme: via a tcp hop (socat) to ca.nacre.test (exit status)" "$?" 0
	check_has "acme: ... TLS end to end with the CA's name" "$(cat "$T/pb-via.log")" \
		"account https://ca.nacre.test:$PB_DEAD/my-account/"
	_acc=$(grep -c "accepting connection" "$T/pb_hop.err")
	check_range "acme: ... every connection went through the hop" "$_acc" 1 100
	bg_stop pb_hop

	bg pb_uhop socat "UNIX-LISTEN:$T/pb-hop.sock,fork" "TCP:127.0.0.1:$PB_ACME"
	_i=0
	while [ ! -S "$T/pb-hop.sock" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	pb_get uvia --directory "$PB_VIA_DIR" --ca-roots "$PB_ROOTS" \
		--via "unix:$T/pb-hop.sock" --out "$T/pb-uvia.pem" a.nacre.test
	check_eq "acme: via a unix hop (exit status)" "$?" 0
	bg_stop pb_uhop
	pb_get nohop --directory "$PB_VIA_DIR" --ca-roots "$PB_ROOTS" \
		--via "tcp:127.0.0.1:$PB_DEAD" --out "$T/pb-nohop.pem" a.nacre.test
	check_has "acme: a hop that refuses is named in the error" \
		"$(cat "$T/pb-nohop.log")" \
		"through the hop tcp:127.0.0.1:$PB_DEAD: Connection refused"
}

pb_invalid() {
	pb_get invalid --directory "$PB_DIR" --ca-roots "$PB_ROOTS" \
		--out "$T/pb-invalid.pem" nowhere.nacre.test a.nacre.test
	check_eq "acme: a name that does not resolve fails (exit status)" "$?" 1
	_out=$(cat "$T/pb-invalid.log")
	check_has "acme: ... the order is invalid, and the error says which name" \
		"$_out" "could not validate nowhere.nacre.test by tls-alpn-01"
	check_has "acme: ... with the CA's reason" "$_out" \
		"so the order is invalid: urn:ietf:params:acme:error:"
}

pb_bad_nonce() {
	if ! pb_start pb_pebble2 "$PB_ACME2" "$PB_MGMT2" PEBBLE_WFE_NONCEREJECT=50; then
		notok "pebble with 50 % badNonce starts" "$(tail -n 3 "$T/pb_pebble2.out")"
		return
	fi
	pb_get nonce --directory "https://127.0.0.1:$PB_ACME2/dir" \
		--ca-roots "$PB_ROOTS" --out "$T/pb-nonce.pem" $PB_NAMES
	check_eq "acme: issuance with 50 % of nonces rejected (exit status)" "$?" 0
	_bn=$(sed -n 's/^bad-nonce answers //p' "$T/pb-nonce.log")
	check_range "acme: ... after retrying badNonce answers" "${_bn:-0}" 1 1000
	bg_stop pb_pebble2
}

# A stand-in CA for what Pebble does not do: RFC 9773 renewalInfo (it
# knows the certificate: its certID is computed here with
# python3-cryptography, and only that path answers) and a rateLimited
# refusal with a Retry-After.
pb_standin() {
	cat >"$T/pb-ari.py" <<'PY'
import base64, http.server, json, ssl, sys
from cryptography import x509
port, cert, key, chain = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
leaf = x509.load_pem_x509_certificate(open(chain, "rb").read())
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
n = leaf.serial_number
ser = n.to_bytes((n.bit_length() + 8) // 8, "big")  # DER: a leading 0 if the top bit is set
cert_id = b64(aki) + "." + b64(ser)
base = "https://127.0.0.1:%d" % port
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, code, body, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        for k, v in extra: self.send_header(k, v)
        self.end_headers(); self.wfile.write(json.dumps(body).encode())
    def do_GET(self):
        if self.path == "/dir":
            self.send(200, {"newNonce": base + "/n", "newAccount": base + "/a",
                            "newOrder": base + "/o", "renewalInfo": base + "/ari/"})
        elif self.path == "/ari/" + cert_id:
            self.send(200, {"suggestedWindow": {"start": "2030-01-02T04:00:00Z",
                            "end": "2030-01-03T04:00:00.5+00:00"},
                            "explanationURL": base + "/why"}, [("Retry-After", "3600")])
        else:
            self.send(404, {"type": "urn:ietf:params:acme:error:malformed",
                            "detail": "unknown certID"})
    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Replay-Nonce", "bm9uY2U")
        self.end_headers()
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send(429, {"type": "urn:ietf:params:acme:error:rateLimited",
                        "detail": "too many new accounts\x01", "status": 429},
                  [("Retry-After", "3600"), ("Replay-Nonce", "bm9uY2U")])
s = http.server.HTTPServer(("127.0.0.1", port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
s.serve_forever()
PY
	bg pb_ari sh -c "$PB_QUIET" sh /usr/bin/python3 "$T/pb-ari.py" "$PB_ARI" \
		"$PB_ROOTS" "$T/pb-pebble-key.pem" "$T/pb-chain.pem"
	if ! pb_wait_port "$PB_ARI"; then
		notok "renewalInfo stand-in starts" "$(tail -n 3 "$T/pb_ari.err")"
		return
	fi
	timeout 20 "$ACMEGET" --directory "https://127.0.0.1:$PB_ARI/dir" \
		--ca-roots "$PB_ROOTS" --renewal-info "$T/pb-chain.pem" >"$T/pb-ari.log" 2>&1
	# 2030-01-02T04:00:00Z = 1893556800; the end a day later
	check_eq "acme: RFC 9773 renewalInfo window, asked for by certID" \
		"$(cat "$T/pb-ari.log")" \
		"ari window 1893556800 1893643200 retry-after 3600 explanation https://127.0.0.1:$PB_ARI/why"
	pb_get limited --directory "https://127.0.0.1:$PB_ARI/dir" \
		--ca-roots "$PB_ROOTS" --out "$T/pb-limited.pem" a.nacre.test
	check_eq "acme: a rateLimited refusal fails (exit status)" "$?" 1
	check_has "acme: ... with one clear line: type, escaped detail, status, retry" \
		"$(cat "$T/pb-limited.log")" \
		"the CA's rate limit refused it: urn:ietf:params:acme:error:rateLimited: too many new accounts\\x01 (HTTP 429); retry after 3600 s"
	bg_stop pb_ari
}

pb_stop_all() {
	bg_stop pb_pebble
	bg_stop pb_cts
}

if pb_setup; then
	pb_issue
	pb_wrong_roots
	pb_via
	pb_invalid
	pb_bad_nonce
	pb_standin
fi
pb_stop_all
