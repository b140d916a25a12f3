# 96-cli: the nacre tool against a running nacred (sim provider): `nacre
# verify` passes with a policy pinning the sim root (by hash, or by the
# certificate file nacred writes beside its key) and PCR0, fails with the
# default AWS-only trust, on a wrong PCR and on a certificate whose
# evidence belongs to another key; a policy that pins no code is refused
# unless --any-code, which warns on every verification; the sim's key file
# is refused as a root; `nacre connect` forwards a verified connection and
# closes one that fails the policy.

NACRE_CLI=${NACRE_CLI:-$(dirname "$NACRED")/nacre}

# cli_run ARGS...: $out (stdout + stderr) and $rc of one nacre run
cli_run() { out=$(timeout 30 "$NACRE_CLI" "$@" 2>&1); rc=$?; }
cli_expect() { # NAME RC NEEDLE
	_s=$(san_in "$out")
	if [ -n "$_s" ]; then notok "$1" "sanitizer: $_s"
	elif [ "$rc" != "$2" ]; then notok "$1" "exit $rc, want $2: $(printf '%s' "$out" | tail -n 3 | tr '\n' '|' | head -c 300)"
	else check_has "$1" "$out" "$3"; fi
}

if [ ! -x "$NACRE_CLI" ]; then
	notok "nacre CLI present" "missing $NACRE_CLI (make build/nacre build/asan/nacre)"
else
upstream cli_app "unix:$T/cli.sock"
conf_defaults
C_LEVEL=debug
port P_CLI
C_LISTEN="tcp:127.0.0.1:$P_CLI"
C_UP="unix:$T/cli.sock"
conf "$T/cli.conf"
if nacred cli "$T/cli.conf" "$P_CLI"; then
	ROOT_SHA=$(sim_root_sha cli)
	PCR0=$(sed -n 's/.*sim PCR0 \([0-9a-f]\{96\}\).*/\1/p' "$T/cli.err" | head -n 1)
	check "nacred logged the sim root sha256 and PCR0" test -n "$ROOT_SHA" -a -n "$PCR0"
	SIMPOL="--root sha256:$ROOT_SHA --pcr 0=$PCR0"

	cli_run verify "127.0.0.1:$P_CLI" --sni localhost $SIMPOL
	cli_expect "nacre verify: the sim root and PCR0 pinned: verified (exit 0)" 0 "verified: yes"
	check_has "nacre verify names the module id" "$out" "module id:"
	check_has "nacre verify shows the config sha256 claim" "$out" "config sha256: $(sha256sum <"$T/cli.conf" | cut -d' ' -f1)"
	check_has "nacre verify shows the TLS version and ALPN" "$out" "ALPN http/1.1"
	# nacre asks for the attested certificate in its ClientHello; curl not
	check_has "nacred saw nacre verify ask for attestation" \
		"$(grep 'handshake done' "$T/cli.err" | tail -n 1)" "attestation asked"
	https "$P_CLI" / >/dev/null
	check_lacks "curl does not ask for attestation" \
		"$(grep 'handshake done' "$T/cli.err" | tail -n 1)" "attestation asked"
	check_has "nacre verify shows the binding" "$out" "certificate key == document public_key"

	check_has "nacred logs the sim root's key file and its certificate for clients" \
		"$(cat "$T/cli.err")" "root certificate $T/sim-root.crt (mode 0644, for clients"
	check_eq "the certificate file is the root nacred logged (sha256)" \
		"$(openssl x509 -in "$T/sim-root.crt" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)" "$ROOT_SHA"
	check_eq "... mode 0644 beside the key file's 0600" \
		"$(stat -c '%a' "$T/sim-root.crt" "$T/sim-root.pem" 2>&1 | tr '\n' ' ')" "644 600 "
	cli_run verify "127.0.0.1:$P_CLI" --root "$T/sim-root.pem" --pcr 0=$PCR0
	cli_expect "nacre verify --root KEY-FILE: refused, pointing at the .crt (exit 2)" 2 \
		"holds a private key; give the verifier the root certificate alone (for nacred's sim root: $T/sim-root.crt"
	cli_run verify "127.0.0.1:$P_CLI" --sni localhost --root "$T/sim-root.crt" --pcr 0=$PCR0
	cli_expect "nacre verify --root the .crt file, PCR0 pinned: verified" 0 "verified: yes"

	cat >"$T/cli.policy" <<EOF2
trust = { roots = [ "$T/sim-root.crt" ]; };
max_age = "1h";
allow_debug = false;
pcrs = { pcr0 = [ "$PCR0" ]; };
EOF2
	cli_run verify "tcp:127.0.0.1:$P_CLI" --policy "$T/cli.policy"
	cli_expect "nacre verify --policy FILE (root PEM path, tcp: syntax): verified" 0 "verified: yes"

	cli_run verify "127.0.0.1:$P_CLI" --policy "$T/cli.policy" --json
	printf '%s\n' "$out" >"$T/cli.json"
	v=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["verified"], d["status"], d["peer"]["alpn"], d["evidence"]["pcrs"]["0"] == sys.argv[2])' "$T/cli.json" "$PCR0" 2>&1)
	check_eq "nacre verify --json: one object with verdict, peer, evidence" "$v" "True ok http/1.1 True"

	cli_run verify "127.0.0.1:$P_CLI" --pcr 0=$PCR0
	cli_expect "nacre verify with the default (AWS-only) trust: exit 1" 1 "untrusted-root"

	# a policy that pins no code: refused; --any-code: verified, warned
	cli_run verify "127.0.0.1:$P_CLI" --root sha256:$ROOT_SHA
	cli_expect "nacre verify, sim root trusted but no code pinned: refused (exit 2)" 2 \
		"the policy pins no code: add pcrs.pcr0 (the image measurement) or module_ids, or allow_any_code = true to accept any enclave (on the command line, for Nitro: --pcr 0=<96 hex digits> or --module-id ID; --any-code to accept any enclave)"
	printf 'tdx = { roots = [ "intel-sgx" ]; };\n' >"$T/cli_tdx_unpinned.pol"
	cli_run verify "127.0.0.1:$P_CLI" --policy "$T/cli_tdx_unpinned.pol"
	cli_expect "a TDX policy that pins no code: refused, naming the TDX key (exit 2)" 2 \
		"the policy pins no code: add tdx.mrtd (TDX), or allow_any_code = true"
	check_lacks "... before connecting" "$out" "server:"
	cli_run verify "127.0.0.1:$P_CLI" --root sha256:$ROOT_SHA --any-code
	cli_expect "nacre verify --any-code: verified (exit 0)" 0 "verified: yes"
	check_has "... with a warning" "$out" "nacre verify: warning: the policy pins no code (allow_any_code): any code in any enclave under the trusted roots passes"
	printf 'trust = { roots = [ "%s" ]; };\nallow_any_code = true;\n' "$T/sim-root.crt" >"$T/any.policy"
	cli_run verify "127.0.0.1:$P_CLI" --policy "$T/any.policy" --json
	printf '%s\n' "$out" | grep -v '^nacre' >"$T/any.json"
	v=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["verified"], "pins no code" in d["warning"])' "$T/any.json" 2>&1)
	check_eq "allow_any_code = true: --json says verified, with the warning" "$v" "True True"
	check_has "... and on stderr" "$out" "nacre verify: warning: the policy pins no code"

	wrong=$(printf '%096d' 0 | tr 0 b)
	cli_run verify "127.0.0.1:$P_CLI" --root sha256:$ROOT_SHA --pcr 4=$wrong
	cli_expect "nacre verify with a wrong PCR: exit 1, pcr-mismatch" 1 "pcr-mismatch"
	check_has "... the message names the PCR" "$out" "PCR4"

	cli_run verify "127.0.0.1:$P_CLI" --pcr 0=$PCR0 --json
	printf '%s\n' "$out" | grep -v '^nacre' >"$T/cli2.json"
	v=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["verified"], d["status"])' "$T/cli2.json" 2>&1)
	check_eq "nacre verify --json on failure: verified false and the status" "$v" "False untrusted-root"

	port P_DEAD
	cli_run verify "127.0.0.1:$P_DEAD" $SIMPOL --timeout 2s
	cli_expect "nacre verify to a closed port: exit 1 naming the problem" 1 "cannot connect"
	cli_run verify "no-port-here" $SIMPOL
	cli_expect "nacre verify with a bad address: exit 2" 2 "no-port-here"

	# a certificate that carries another key's evidence (binding broken),
	# served by openssl s_server with its own key
	cert_of "$P_CLI" "$T/cli-att.pem"
	forge_cert "$T/cli-att.pem" "$T/cli-forged.pem" "$T/cli-forged.key"
	# the served certificate, offline: full verification, claims decoded
	cli_run inspect "$T/cli-att.pem" $SIMPOL
	cli_expect "nacre inspect of the served certificate (PEM) verifies offline" 0 "verification: ok"
	check_has "... and shows the nacre claims in user_data" "$out" "nacre claims v1, config sha256 $(sha256sum <"$T/cli.conf" | cut -d' ' -f1)"
	check_has "... and the SHA-256 of the bound public key" "$out" "public_key:    sha256:"
	"$NACRE_CLI" inspect "$T/cli-att.pem" $SIMPOL --json >"$T/cli-att.json" 2>&1
	v=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["verified"], d["certificate_subject"] != "", d["document"]["user_data"]["claims"]["v"])' "$T/cli-att.json" 2>&1)
	check_eq "nacre inspect --json of the served certificate: verdict, subject, claims" "$v" "True True 1"
	cli_run inspect "$T/cli-forged.pem" $SIMPOL
	cli_expect "nacre inspect of the forged certificate: binding-mismatch" 1 "binding-mismatch"

	port P_FORGE
	bg cli_forge openssl s_server -accept "127.0.0.1:$P_FORGE" -cert "$T/cli-forged.pem" \
		-key "$T/cli-forged.key" -naccept 1 -quiet
	i=0
	while ! port_listening "$P_FORGE" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	cli_run verify "127.0.0.1:$P_FORGE" $SIMPOL --timeout 5s
	cli_expect "nacre verify: evidence moved to another key's certificate: binding-mismatch" 1 "binding-mismatch"
	bg_stop cli_forge
	rm -f "$T/cli-forged.key"

	# ---- nacre connect ----
	port P_FWD
	bg cli_fwd "$NACRE_CLI" connect --listen "127.0.0.1:$P_FWD" --to "127.0.0.1:$P_CLI" \
		--sni localhost $SIMPOL
	wait_for "$T/cli_fwd.out" '^ready' 10
	check_has "nacre connect prints ready" "$(cat "$T/cli_fwd.out")" "ready"
	body=$(curl -s --max-time 20 "http://127.0.0.1:$P_FWD/")
	check_eq "curl through nacre connect reaches the enclave app" "$body" "hello from the enclave app"
	want=$(pattern_sha 1048576)
	got=$(curl -s --max-time 30 "http://127.0.0.1:$P_FWD/bytes/1048576" | sha256sum | cut -d' ' -f1)
	check_eq "a 1 MiB download through nacre connect is intact" "$got" "$want"
	# an idle forwarded connection is open when SIGTERM comes: it is shut
	# down and its thread joined, promptly
	bg cli_idle /usr/bin/python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
sys.exit(0 if s.recv(1) == b"" else 1)' "$P_FWD"
	i=0
	while [ "$(grep -c 'verified enclave' "$T/cli_fwd.err")" -lt 3 ] && [ $i -lt 100 ]; do
		sleep 0.05; i=$((i + 1))
	done
	t0=$(now)
	bg_signal cli_fwd TERM
	check_eq "nacre connect exits 0 on SIGTERM (a connection still open)" "$(bg_wait cli_fwd 10)" 0
	check_range "... within 3 s (s)" "$(elapsed "$t0")" 0 3
	check_eq "... and the open client sees its connection end" "$(bg_wait cli_idle 5)" 0
	check_eq "nacre connect: no sanitizer report" "$(san_errors cli_fwd)" ""

	port P_FWD2
	bg cli_fwd2 "$NACRE_CLI" connect --listen "127.0.0.1:$P_FWD2" --to "127.0.0.1:$P_CLI" \
		--sni localhost --root sha256:$ROOT_SHA --pcr 0=$wrong
	wait_for "$T/cli_fwd2.out" '^ready' 10
	body=$(curl -s --max-time 20 "http://127.0.0.1:$P_FWD2/")
	rc=$?
	check "with a failing policy curl through nacre connect fails (exit $rc)" test "$rc" -ne 0 -a -z "$body"
	wait_for "$T/cli_fwd2.err" 'pcr-mismatch' 5
	check_has "nacre connect logs the reason" "$(cat "$T/cli_fwd2.err")" "pcr-mismatch"
	bg_signal cli_fwd2 INT
	check_eq "nacre connect exits 0 on SIGINT" "$(bg_wait cli_fwd2 10)" 0
	check_eq "nacre connect (refusing): no sanitizer report" "$(san_errors cli_fwd2)" ""

	# --any-code: every forwarded connection is verified and warned about
	bg cli_fwd4 "$NACRE_CLI" connect --listen "127.0.0.1:$P_FWD2" --to "127.0.0.1:$P_CLI" \
		--sni localhost --root sha256:$ROOT_SHA --any-code
	wait_for "$T/cli_fwd4.out" '^ready' 10
	b1=$(curl -s --max-time 20 "http://127.0.0.1:$P_FWD2/")
	b2=$(curl -s --max-time 20 "http://127.0.0.1:$P_FWD2/")
	check_eq "nacre connect --any-code forwards (two requests)" "$b1 $b2" \
		"hello from the enclave app hello from the enclave app"
	count_wait_file() { _i=0; while [ "$(grep -c "$2" "$1")" -lt "$3" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done; }
	count_wait_file "$T/cli_fwd4.err" 'warning: the policy pins no code' 2
	check_eq "... and warns once per verified connection" \
		"$(grep -c 'verified enclave' "$T/cli_fwd4.err") $(grep -c 'warning: the policy pins no code' "$T/cli_fwd4.err")" "2 2"
	bg_signal cli_fwd4 TERM
	check_eq "nacre connect --any-code exits 0" "$(bg_wait cli_fwd4 10)" 0
	check_eq "nacre connect --any-code: no sanitizer report" "$(san_errors cli_fwd4)" ""

	# half-close through the forwarder: the app (drain mode) answers only
	# after our FIN has reached it through TLS (close_notify)
	upstream cli_drain "unix:$T/cli-drain.sock" --mode drain
	sed "s|unix:$T/cli.sock|unix:$T/cli-drain.sock|" "$T/cli.conf" >"$T/cli-drain.conf"
	port P_CD
	sed -i "s|tcp:127.0.0.1:$P_CLI|tcp:127.0.0.1:$P_CD|" "$T/cli-drain.conf"
	if nacred cli_dr "$T/cli-drain.conf" "$P_CD"; then
		port P_FWD3
		bg cli_fwd3 "$NACRE_CLI" connect --listen "127.0.0.1:$P_FWD3" --to "127.0.0.1:$P_CD" \
			--sni localhost $SIMPOL
		wait_for "$T/cli_fwd3.out" '^ready' 10
		got=$(/usr/bin/python3 - "$P_FWD3" <<'PY'
import socket, sys, hashlib
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
body = bytes(range(256)) * 4096   # 1 MiB
s.sendall(body)
s.shutdown(socket.SHUT_WR)
reply = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    reply += d
print(reply.decode().strip() == "%d %s" % (len(body), hashlib.sha256(body).hexdigest()), reply[:100])
PY
)
		check_has "half-close through nacre connect: the reply sent after our FIN arrives, then EOF" "$got" "True"
		bg_signal cli_fwd3 TERM
		check_eq "nacre connect (half-close) exits 0" "$(bg_wait cli_fwd3 10)" 0
		check_eq "nacre connect (half-close): no sanitizer report" "$(san_errors cli_fwd3)" ""
		nacred_stop cli_dr
	fi
	bg_stop cli_drain

	cli_run connect --listen "0.0.0.0:$P_FWD2" --to "127.0.0.1:$P_CLI" $SIMPOL
	cli_expect "nacre connect refuses a non-loopback --listen" 2 "loopback"
	nacred_stop cli
fi
bg_stop cli_app
fi
