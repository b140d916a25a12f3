#!/bin/sh
# tests/demo.sh (make demo): the README's "run it" demo. Starts the demo app
# on a unix socket, nacred in front of it on tcp:127.0.0.1:$DEMO_PORT (8443),
# makes one request with curl and shows the certificate; then leaves nacred
# running until Ctrl-C. DEMO_ONESHOT=1 stops after the request. Attestation
# is the "sim" provider (a local test root) unless DEMO_PROVIDER=nitro (in an
# enclave).
cd "$(dirname "$0")/.." || exit 1
NACRED=${NACRED:-build/nacred}
UPSTREAM=${UPSTREAM:-build/tools/upstream}
PORT=${DEMO_PORT:-8443}
PROVIDER=${DEMO_PROVIDER:-sim}

for b in "$NACRED" "$UPSTREAM"; do
	if [ ! -x "$b" ]; then
		echo "demo: $b is missing; run 'make all tools' first" >&2
		exit 1
	fi
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/nacre-demo.XXXXXX") || exit 1
app_pid=""
nacred_pid=""
tail_pid=""

# stop_pid PID: SIGTERM, then SIGKILL if it is still there after 5 s
stop_pid() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	trap - EXIT INT TERM
	stop_pid "$nacred_pid"
	stop_pid "$app_pid"
	[ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT TERM

# wait_for FILE PATTERN SECONDS
wait_for() {
	i=0
	while [ $i -lt $(($3 * 20)) ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

"$UPSTREAM" --listen "unix:$dir/app.sock" >"$dir/app.out" 2>"$dir/app.err" &
app_pid=$!
if ! wait_for "$dir/app.out" ready 5; then
	echo "demo: the demo app did not start:" >&2
	cat "$dir/app.err" >&2
	exit 1
fi

cat >"$dir/nacred.conf" <<EOF
# nacred demo configuration (see nacred.conf(5))
listen = ( { address = "tcp:127.0.0.1:$PORT"; } );
upstream = { address = "unix:$dir/app.sock"; };   # the app, plaintext, same host
tls = { key = "ec-p256"; min_version = "TLSv1.2"; alpn = [ "http/1.1" ];
        names = [ "localhost" ]; };                 # self-signed, key only in memory
limits = { max_connections = 1000; idle_timeout = "60s"; drain_timeout = "5s"; };
log = { level = "info"; };
EOF
if [ "$PROVIDER" = sim ]; then
	cat >>"$dir/nacred.conf" <<EOF
# simulated Nitro evidence under a local root (created on first start)
attestation = { provider = "sim"; sim = { root = "$dir/sim-root.pem"; }; };
EOF
else
	echo "attestation = { provider = \"$PROVIDER\"; };" >>"$dir/nacred.conf"
fi

echo "demo: config $dir/nacred.conf:"
sed 's/^/  /' "$dir/nacred.conf"
echo "demo: starting $NACRED -c $dir/nacred.conf"
"$NACRED" -c "$dir/nacred.conf" 2>"$dir/nacred.log" &
nacred_pid=$!
if ! wait_for "$dir/nacred.log" "listening on" 10; then
	echo "demo: nacred did not start (is port $PORT free? set DEMO_PORT):" >&2
	cat "$dir/nacred.log" >&2
	exit 1
fi
sed 's/^/  nacred: /' "$dir/nacred.log"

echo
echo "\$ curl -sk https://localhost:$PORT/"
out=$(curl -sk --max-time 10 "https://localhost:$PORT/")
rc=$?
printf '%s\n' "$out"
if [ $rc -ne 0 ] || [ "$out" != "hello from the enclave app" ]; then
	echo "demo: request failed (curl exit $rc)" >&2
	cat "$dir/nacred.log" >&2
	exit 1
fi

echo
echo "\$ openssl s_client -connect 127.0.0.1:$PORT -servername localhost  (summary)"
s=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
	-servername localhost -alpn http/1.1 2>/dev/null)
printf '%s\n' "$s" | grep -E '^(New,|Server public key|ALPN protocol|    Protocol  :)' |
	sed 's/^ *//; s/^/  /'
printf '%s\n' "$s" | openssl x509 -noout -subject -issuer -dates -fingerprint -sha256 \
	-ext subjectAltName 2>/dev/null | sed 's/^ *//; s/^/  /'
if printf '%s\n' "$s" | openssl x509 -noout -text 2>/dev/null | grep -q '1\.3\.6\.1\.5\.5\.7\.1\.35'; then
	echo "  attestation evidence: present (extension id-pe-cmw, 1.3.6.1.5.5.7.1.35)"
else
	echo "  attestation evidence: none in this certificate"
fi

# a verifying client: nacre verify checks, during the handshake, that the
# key nacred used is the one the (simulated) enclave attested, that the
# evidence chains to the sim root it logged (the root's certificate, which
# nacred writes beside the root's key file), and that PCR0 is this nacred
pcr0=$(grep -o 'sim PCR0 [0-9a-f]*' "$dir/nacred.log" | cut -d' ' -f3)
echo
echo "\$ nacre verify 127.0.0.1:$PORT --root $dir/sim-root.crt --pcr 0=${pcr0%${pcr0#????????}}..."
if build/nacre verify "127.0.0.1:$PORT" --sni localhost --root "$dir/sim-root.crt" \
	--pcr "0=$pcr0" >"$dir/verify.out" 2>&1; then
	sed 's/^/  /' "$dir/verify.out"
else
	sed 's/^/  /' "$dir/verify.out"
	echo "demo: nacre verify did not verify nacred's attestation" >&2
	exit 1
fi

if [ "${DEMO_ONESHOT:-0}" = 1 ]; then
	echo
	echo "demo: ok (DEMO_ONESHOT=1: stopping)"
	exit 0
fi

echo
echo "demo: nacred is serving https://localhost:$PORT/ (try /bytes/1000, /proxy);"
echo "demo: its log follows. Ctrl-C to stop."
tail -n 0 -f "$dir/nacred.log" &
tail_pid=$!
wait "$nacred_pid"
echo "demo: nacred exited"
