# 98-fresh: fresh, session-bound evidence (docs/evidence-format.md 8)
# against a running nacred (sim provider). `nacre verify --fresh` sends a
# nonce and gets a document made for its handshake, which libnacre and the
# independent Python verifier (from the handshake values nacre saw) both
# accept; plain and version-1 clients are unaffected; a malformed request
# and a TLS 1.2 handshake that asks are refused; fresh_pending = 0 refuses
# with the reason in the log; `nacre connect --fresh` forwards.
# The attacks (ASan build only: its test hook exports nacred's TLS key to
# the attacker, tests/tools/freshrelay.c): a server holding the stolen key
# that relays the client's nonce to the genuine nacred is refused under
# --fresh (session binding) but passes without it; one that replays
# evidence recorded from another handshake is refused, the error naming
# the binding. With a slow provider (test hook) and one worker: the
# pending limit refuses at once, a plain handshake passes the waiting
# ones, and a handshake that times out mid-evidence ends cleanly.

NACRE_CLI=${NACRE_CLI:-$(dirname "$NACRED")/nacre}
PYV="/usr/bin/python3 tests/py/nitro_verify.py"

fresh_run() { out=$(timeout 30 "$NACRE_CLI" "$@" 2>&1); rc=$?; }
fresh_expect() { # NAME RC NEEDLE
	_s=$(san_in "$out")
	if [ -n "$_s" ]; then notok "$1" "sanitizer: $_s"
	elif [ "$rc" != "$2" ]; then notok "$1" "exit $rc, want $2: $(printf '%s' "$out" | tail -n 3 | tr '\n' '|' | head -c 300)"
	else check_has "$1" "$out" "$3"; fi
}
FRESHRELAY=${FRESHRELAY:-build/tools/freshrelay}
NONCE16=000102030405060708090a0b0c0d0e0f
if [ ! -x "$NACRE_CLI" ]; then
	notok "nacre CLI present" "missing $NACRE_CLI"
else
upstream fr_app "unix:$T/fr.sock"
conf_defaults
C_LEVEL=debug
port P_FR
C_LISTEN="tcp:127.0.0.1:$P_FR"
C_UP="unix:$T/fr.sock"
conf "$T/fr.conf"
if nacred fr "$T/fr.conf" "$P_FR"; then
	ROOT_SHA=$(sim_root_sha fr)
	PCR0=$(sed -n 's/.*sim PCR0 \([0-9a-f]\{96\}\).*/\1/p' "$T/fr.err" | head -n 1)
	SIMPOL="--root sha256:$ROOT_SHA --pcr 0=$PCR0"

	fresh_run verify "127.0.0.1:$P_FR" --sni localhost $SIMPOL --fresh \
		--session "$T/fr_session.json"
	fresh_expect "nacre verify --fresh: fresh evidence made for this handshake (exit 0)" 0 \
		"made for this handshake"
	check_has "nacre verify --fresh: verified" "$out" "verified: yes"
	pyout=$($PYV --fresh "$T/fr_session.json" --root "$T/sim-root.crt" 2>&1)
	check "the Python verifier accepts the fresh evidence nacre received, from the handshake values alone" \
		test $? -eq 0
	check_has "... and reports the session binding" "$pyout" '"session_binding": "'
	check_has "... and the binding of the certificate's key" "$pyout" '"binding": "public_key == certificate SPKI"'
	nonce=$(sed -n 's/.*"nonce": "\([0-9a-f]*\)".*/\1/p' "$T/fr_session.json")
	check_eq "nacre sent a 32-byte nonce" "${#nonce}" 64
	check_has "the document echoes it" "$pyout" "\"nonce\": \"$nonce\""

	fresh_run verify "127.0.0.1:$P_FR" --sni localhost $SIMPOL
	fresh_expect "nacre verify without --fresh still verifies the certificate's evidence" 0 \
		"verified: yes"
	https "$P_FR" / >/dev/null
	check_eq "a plain client (curl) still gets through" "$?" 0

	out=$("$FRESHRELAY" ask --connect "127.0.0.1:$P_FR" --ext "0210$NONCE16" 2>&1)
	check_has "a bare version-2 request gets a handshake" "$out" "handshake ok"
	out=$("$FRESHRELAY" ask --connect "127.0.0.1:$P_FR" --ext "020f${NONCE16%??}" 2>&1)
	check_has "a 15-byte nonce is refused (decode_error)" "$out" "decode error"
	out=$("$FRESHRELAY" ask --connect "127.0.0.1:$P_FR" --ext "0210${NONCE16}00" 2>&1)
	check_has "a version-2 request with trailing bytes is refused" "$out" "decode error"
	out=$("$FRESHRELAY" ask --connect "127.0.0.1:$P_FR" --ext "0210$NONCE16" --tls12 2>&1)
	check_has "a TLS 1.2 handshake that asks for fresh evidence is refused" "$out" "handshake failed"
	out=$("$FRESHRELAY" ask --connect "127.0.0.1:$P_FR" --ext 01 --tls12 2>&1)
	check_has "a TLS 1.2 handshake that asks with version 1 still works" "$out" "handshake ok"

	# nacre connect --fresh forwards a verified connection
	port P_FRF
	bg fr_fwd "$NACRE_CLI" connect --listen "127.0.0.1:$P_FRF" \
		--to "127.0.0.1:$P_FR" --sni localhost $SIMPOL --fresh
	wait_for "$T/fr_fwd.out" ready 10
	got=$(curl -s --max-time 10 "http://127.0.0.1:$P_FRF/bytes/1000" | wc -c)
	check_eq "nacre connect --fresh forwards a request through a fresh handshake" "$got" 1000
	bg_stop fr_fwd
	nacred_stop fr
fi

# pending_nacred NAME PORT ADMIN_PORT N: nacred NAME on PORT, its admin
# endpoint on ADMIN_PORT, attestation.fresh_pending = N; fails as nacred does
pending_nacred() {
	C_LISTEN="tcp:127.0.0.1:$2"
	C_EXTRA="admin = { listen = \"tcp:127.0.0.1:$3\"; };"
	conf "$T/$1.conf"
	C_EXTRA=""
	sed -i "s|^attestation = { provider = \"sim\";|attestation = { provider = \"sim\"; fresh_pending = $4;|" "$T/$1.conf"
	nacred "$1" "$T/$1.conf" "$2"
}

# fresh_pending = 0: every request for fresh evidence is refused, clearly
port P_FR0
port P_FR0A
if pending_nacred fr0 "$P_FR0" "$P_FR0A" 0; then
	SIMPOL0="--root sha256:$(sim_root_sha fr0) --any-code"
	fresh_run verify "127.0.0.1:$P_FR0" --sni localhost $SIMPOL0 --fresh
	fresh_expect "fresh_pending = 0: nacre verify --fresh is refused (exit 1)" 1 "internal error"
	check_has "... and nacred logs why" "$(nlog fr0)" "fresh evidence refused: 0 handshakes already wait (attestation.fresh_pending = 0)"
	fresh_run verify "127.0.0.1:$P_FR0" --sni localhost $SIMPOL0
	fresh_expect "fresh_pending = 0: the attested certificate is still served" 0 "verified: yes"
	m=$(curl -s --max-time 5 "http://127.0.0.1:$P_FR0A/metrics")
	check_has "fresh_pending = 0: the refusal is counted on /metrics" "$m" \
		'nacre_fresh_evidence_total{result="refused"} 1'
	check_has "... and nothing waits" "$m" 'nacre_fresh_evidence_pending 0'
	nacred_stop fr0
fi

# fresh_pending = 1 and a client that asks for fresh evidence, gets a
# HelloRetryRequest (no key share) and stalls: it has cost the enclave no
# document, so it holds no slot, and a genuine fresh request goes through
port P_FR1
port P_FR1A
if pending_nacred fr1 "$P_FR1" "$P_FR1A" 1; then
	SIMPOL1="--root sha256:$(sim_root_sha fr1) --any-code"
	bg fr1_hrr /usr/bin/python3 tests/py/hrr_stall.py 127.0.0.1 "$P_FR1" 6
	i=0
	while [ $i -lt 50 ] && ! grep -q . "$T/fr1_hrr.out" 2>/dev/null; do
		sleep 0.1; i=$((i + 1))
	done
	check_eq "a fresh request without a key share gets a HelloRetryRequest and stalls" \
		"$(cat "$T/fr1_hrr.out" 2>/dev/null)" "hrr"
	m=$(curl -s --max-time 5 "http://127.0.0.1:$P_FR1A/metrics")
	check_has "... it holds no fresh_pending slot while it stalls" "$m" \
		'nacre_fresh_evidence_pending 0'
	fresh_run verify "127.0.0.1:$P_FR1" --sni localhost $SIMPOL1 --fresh
	fresh_expect "fresh_pending = 1 with a stalled HRR client: nacre verify --fresh gets its evidence" 0 \
		"made for this handshake"
	bg_stop fr1_hrr
	nacred_stop fr1
fi

# ---- the attacks: a thief of nacred's TLS key ----
mkdir -p "$T/stolen"
NACRE_TEST_KEY_EXPORT=$T/stolen
export NACRE_TEST_KEY_EXPORT
port P_FRA
C_LISTEN="tcp:127.0.0.1:$P_FRA"
C_TLS_EXTRA=' records = "compact";'
conf "$T/fra.conf"
C_TLS_EXTRA=""
nacred fra "$T/fra.conf" "$P_FRA"
started=$?
unset NACRE_TEST_KEY_EXPORT
if [ $started -ne 0 ]; then
	:
elif [ ! -s "$T/stolen/key.pem" ]; then
	ok "# SKIP relay and replay attacks: $NACRED has no test hooks (the ASan build has)"
	nacred_stop fra
else
	check_has "the test hook says loudly that it exported the key" "$(nlog fra)" "TEST HOOK"
	SIMPOLA="--root sha256:$(sim_root_sha fra) --pcr 0=$(sed -n 's/.*sim PCR0 \([0-9a-f]\{96\}\).*/\1/p' "$T/fra.err" | head -n 1)"
	port P_ATT
	bg fr_att "$FRESHRELAY" serve --listen "127.0.0.1:$P_ATT" \
		--genuine "127.0.0.1:$P_FRA" --key "$T/stolen/key.pem" \
		--cert "$T/stolen/cert.pem" --record "$T/relayed.bin" --count 3
	wait_for "$T/fr_att.out" ready 10
	# the genuine nacred (records = "compact": its own record layer
	# after an async handshake) answers a fresh request
	port P_FRAF
	bg fra_fwd "$NACRE_CLI" connect --listen "127.0.0.1:$P_FRAF" \
		--to "127.0.0.1:$P_FRA" --sni localhost $SIMPOLA --fresh
	wait_for "$T/fra_fwd.out" ready 10
	want=$(pattern_sha 300000)
	got=$(curl -s --max-time 10 "http://127.0.0.1:$P_FRAF/bytes/300000" | sha256sum | cut -d' ' -f1)
	check_eq "records = compact: a fresh handshake, then 300 kB intact through nacre connect --fresh" "$got" "$want"
	bg_stop fra_fwd
	# 1. without fresh evidence the thief passes: the certificate's
	# evidence binds the very key it stole
	fresh_run verify "127.0.0.1:$P_ATT" --sni localhost $SIMPOLA
	fresh_expect "relay attacker with the stolen key, non-fresh mode: it PASSES (the attack works)" 0 "verified: yes"
	# 2. with fresh evidence: the attacker relays the nonce to the
	# genuine nacred and forwards its genuine fresh evidence, bound to
	# nacred's own ServerHello, not the attacker's
	fresh_run verify "127.0.0.1:$P_ATT" --sni localhost $SIMPOLA --fresh \
		--session "$T/relay_session.json"
	fresh_expect "relay attacker, nacre verify --fresh: refused (exit 1)" 1 \
		"bound to another handshake"
	check_has "... the verdict names the session binding" "$out" "session-binding-mismatch"
	check_has "... the attacker did relay genuine fresh evidence" "$(cat "$T/fr_att.err")" "got 4"
	pyout=$($PYV --fresh "$T/relay_session.json" --root "$T/sim-root.crt" 2>&1)
	check_has "the Python verifier also refuses the relayed evidence (session binding)" \
		"$pyout" "session binding"
	check_lacks "... though the document itself is genuine and echoes the nonce" \
		"$pyout" "not the client's nonce"
	bg_wait fr_att 10 >/dev/null
	# 3. replay: evidence recorded from that handshake, shown to a new one
	port P_REP
	bg fr_rep "$FRESHRELAY" serve --listen "127.0.0.1:$P_REP" \
		--genuine "127.0.0.1:$P_FRA" --key "$T/stolen/key.pem" \
		--cert "$T/stolen/cert.pem" --replay "$T/relayed.bin"
	wait_for "$T/fr_rep.out" ready 10
	fresh_run verify "127.0.0.1:$P_REP" --sni localhost $SIMPOLA --fresh
	fresh_expect "replayed fresh evidence: refused (exit 1), the error names the binding" 1 \
		"Session binding failed"
	check_has "... (the nonce of another request)" "$out" "nonce"
	bg_wait fr_rep 10 >/dev/null
	bg_stop fr_att
	bg_stop fr_rep
	nacred_stop fra

	# a slow provider (test hook: 3 s per document) and one worker:
	# fresh_pending = 2 refuses the third request at once, a plain
	# handshake on the same worker goes through while two wait, and the
	# waiting ones hit the handshake timeout mid-evidence (their paused
	# async jobs must end cleanly: ASan watches)
	port P_FRD
	C_LISTEN="tcp:127.0.0.1:$P_FRD"
	C_WORKERS=1
	conf "$T/frd.conf"
	C_WORKERS=2
	sed -i 's|^attestation = { provider = "sim";|attestation = { provider = "sim"; fresh_pending = 2;|' "$T/frd.conf"
	NACRE_TEST_FRESH_DELAY_MS=3000
	export NACRE_TEST_FRESH_DELAY_MS
	nacred frd "$T/frd.conf" "$P_FRD"
	started=$?
	unset NACRE_TEST_FRESH_DELAY_MS
	if [ $started -eq 0 ]; then
		bg frd_a "$FRESHRELAY" ask --connect "127.0.0.1:$P_FRD" --ext "0210$NONCE16"
		bg frd_b "$FRESHRELAY" ask --connect "127.0.0.1:$P_FRD" --ext "0210$NONCE16"
		sleep 0.5 # both are in their handshakes, waiting (3 s each)
		out=$("$FRESHRELAY" ask --connect "127.0.0.1:$P_FRD" --ext "0210$NONCE16" 2>&1)
		check_has "fresh_pending = 2 with two waiting: the third request is refused" "$out" "handshake failed"
		check_has "... and nacred says why" "$(nlog frd)" \
			"fresh evidence refused: 2 handshakes already wait (attestation.fresh_pending = 2)"
		out=$("$FRESHRELAY" ask --connect "127.0.0.1:$P_FRD" --ext 01 2>&1)
		check_has "a plain handshake on the same worker completes while two wait for evidence" "$out" "handshake ok"
		check_eq "... before either waiting handshake has ended" \
			"$(cat "$T/frd_a.out" "$T/frd_b.out" 2>/dev/null)" ""
		bg_wait frd_a 20 >/dev/null
		bg_wait frd_b 20 >/dev/null
		check_has "the waiting handshakes time out mid-evidence" \
			"$(cat "$T/frd_a.out" "$T/frd_b.out")" "handshake failed"
		check_has "... and their evidence is abandoned, not waited for" "$(nlog frd)" \
			"the connection closed while its evidence was made"
		nacred_stop frd
	fi
fi
bg_stop fr_app
fi
