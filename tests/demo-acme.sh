#!/bin/sh
# tests/demo-acme.sh (make demo-acme): a browser-trusted certificate from an
# enclave key. Starts Debian's pebble (an ACME test CA) with
# pebble-challtestsrv as its DNS, the demo app, and nacred with an acme
# block on tcp:127.0.0.1:$DEMO_PORT (default 5001), where Pebble validates
# tls-alpn-01. nacred registers an account (its key born in memory),
# answers the challenge itself and serves Pebble's certificate; curl then
# trusts it with Pebble's root and no -k, and nacre verify gets the
# attested certificate on the same port, whose claims name the account and
# the key. Offline, on loopback. DEMO_ONESHOT=1 stops after the checks.
cd "$(dirname "$0")/.." || exit 1
NACRED=${NACRED:-build/nacred}
NACRE=${NACRE:-build/nacre}
UPSTREAM=${UPSTREAM:-build/tools/upstream}
PORT=${DEMO_PORT:-5001}
NAME=app.nacre.test
. tests/wait.sh # port

for b in "$NACRED" "$NACRE" "$UPSTREAM"; do
	[ -x "$b" ] || { echo "demo-acme: $b is missing; run 'make all tools' first" >&2; exit 1; }
done
for c in pebble pebble-challtestsrv curl openssl; do
	command -v $c >/dev/null || { echo "demo-acme: $c is missing (sh tests/deps.sh test)" >&2; exit 1; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/nacre-demo-acme.XXXXXX") || exit 1
pids=""
cleanup() {
	trap - EXIT INT TERM
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.5
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'echo; echo "demo-acme: stopping"; exit 0' INT TERM

wait_log() { # FILE PATTERN SECONDS
	i=0
	while [ $i -lt $(($3 * 20)) ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

die() {
	echo "demo-acme: $1" >&2
	for f in "$dir"/*.log; do
		echo "--- $f" >&2
		tail -n 15 "$f" >&2
	done
	exit 1
}

port DNS
port DNSM
port DIR
port MGMT
pebble-challtestsrv -dns01 "127.0.0.1:$DNS" -management "127.0.0.1:$DNSM" -http01 "" \
	-https01 "" -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" >"$dir/dns.log" 2>&1 &
pids="$pids $!"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$dir/pebble.key" -out "$dir/pebble.crt" -subj /CN=pebble \
	-addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
printf '{ "pebble": { "listenAddress": "127.0.0.1:%s", "managementListenAddress": "127.0.0.1:%s",
  "certificate": "%s", "privateKey": "%s", "httpPort": 1, "tlsPort": %s,
  "ocspResponderURL": "", "externalAccountBindingRequired": false } }\n' \
	"$DIR" "$MGMT" "$dir/pebble.crt" "$dir/pebble.key" "$PORT" >"$dir/pebble.json"
PEBBLE_VA_NOSLEEP=1 pebble -config "$dir/pebble.json" -dnsserver "127.0.0.1:$DNS" \
	>"$dir/pebble.log" 2>&1 &
pids="$pids $!"
wait_log "$dir/pebble.log" "Listening on" 10 || die "pebble did not start"
"$UPSTREAM" --listen "unix:$dir/app.sock" >"$dir/app.log" 2>&1 &
pids="$pids $!"
wait_log "$dir/app.log" ready 5 || die "the demo app did not start"

cat >"$dir/nacred.conf" <<EOF
# nacred with ACME (see nacred.conf(5) and docs/caa.md)
listen = ( { address = "tcp:127.0.0.1:$PORT"; } );
upstream = { address = "unix:$dir/app.sock"; };
tls = { key = "ec-p256"; alpn = [ "http/1.1" ]; names = [ "$NAME" ]; };
log = { level = "info"; };
attestation = { provider = "sim"; sim = { root = "$dir/sim-root.pem"; }; };
acme = { directory = "https://127.0.0.1:$DIR/dir"; ca_roots = "$dir/pebble.crt";
         domains = ( { names = [ "$NAME" ]; } );
         require_caa = false; };   # Pebble checks no CAA; see docs/caa.md
EOF
echo "demo-acme: config $dir/nacred.conf:"
sed 's/^/  /' "$dir/nacred.conf"
"$NACRED" -c "$dir/nacred.conf" 2>"$dir/nacred.log" &
pids="$pids $!"
wait_log "$dir/nacred.log" "acme: serving the certificate" 60 || die "no certificate from Pebble"
grep "acme:\|tls-alpn-01\|sim root" "$dir/nacred.log" | sed 's/^/  nacred: /'
curl -sk "https://127.0.0.1:$MGMT/roots/0" >"$dir/pebble-root.pem"

echo
echo "\$ curl --cacert pebble-root.pem https://$NAME:$PORT/     (no -k)"
out=$(curl -s --max-time 10 --cacert "$dir/pebble-root.pem" \
	--resolve "$NAME:$PORT:127.0.0.1" "https://$NAME:$PORT/")
printf '%s\n' "$out"
[ "$out" = "hello from the enclave app" ] || die "curl failed"
echo | openssl s_client -connect "127.0.0.1:$PORT" -servername "$NAME" 2>/dev/null |
	openssl x509 -noout -subject -issuer | sed 's/^/  served to curl: /'

root=$(sed -n 's/.*sim root sha256:\([0-9a-f]\{64\}\).*/\1/p' "$dir/nacred.log" | head -n 1)
# PCR0 of the sim is the SHA-384 of this nacred binary: the code pinned
pcr0=$(sed -n 's/.*sim PCR0 \([0-9a-f]\{96\}\).*/\1/p' "$dir/nacred.log" | head -n 1)
echo
echo "\$ nacre verify 127.0.0.1:$PORT --sni $NAME --root sha256:$root --pcr 0=${pcr0%${pcr0#????????}}..."
"$NACRE" verify "127.0.0.1:$PORT" --sni "$NAME" --root "sha256:$root" --pcr "0=$pcr0" ||
	die "nacre verify failed"
echo
echo "demo-acme: ok: one port, a WebPKI certificate for browsers, the attested one for nacre"
[ "${DEMO_ONESHOT:-}" = 1 ] && exit 0
echo "demo-acme: nacred keeps running; Ctrl-C stops everything"
wait
