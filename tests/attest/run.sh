#!/bin/sh
# tests/attest/run.sh: attestation documents through the second, independent
# verifier (tests/py/nitro_verify.py, Python, written from AWS's docs):
# real AWS-signed documents must verify at their recorded times and fail when
# tampered with or too late; sim documents written by our C code
# (build/tools/nacre-simdoc) must verify under the sim root (the certificate
# file the sim writes beside its key file, as a client gets it), bind the
# key, user_data and nonce they were asked for, and be refused under the
# AWS root.
# One "ok - " / "not ok - " line per check.
cd "$(dirname "$0")/../.." || exit 1
SIMDOC=${NACRE_SIMDOC:-build/tools/nacre-simdoc}
PY=/usr/bin/python3
VERIFY=tests/py/nitro_verify.py
VEC=tests/vectors/nitro
AWS_ROOT=$VEC/aws_nitro_root_g1.pem
tmp=$(mktemp -d /tmp/nacre-attest.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=0

pass() { echo "ok - $1"; }
fail() { echo "not ok - $1"; failed=1; sed 's/^/# /' "$tmp/out"; }

# must_pass NAME cmd...: command exits 0
must_pass() {
	name=$1; shift
	if timeout 60 "$@" >"$tmp/out" 2>&1; then pass "$name"; else fail "$name"; fi
}
# must_fail NAME PATTERN cmd...: exits 1 and its output contains PATTERN
must_fail() {
	name=$1; pattern=$2; shift 2
	timeout 60 "$@" >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q -- "$pattern" "$tmp/out"; then
		pass "$name"
	else
		echo "# exit $rc, wanted 1 and \"$pattern\"" >>"$tmp/out"
		fail "$name"
	fi
}
# has NAME PATTERN: the last command's output contains PATTERN
has() {
	if grep -q -- "$2" "$tmp/out"; then pass "$1"; else fail "$1"; fi
}
flip() { # in out offset: copy with one bit flipped
	$PY -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[int(sys.argv[3])] ^= 1
open(sys.argv[2], "wb").write(b)' "$1" "$2" "$3"
}
spki_hex() { # DER certificate -> hex of its SubjectPublicKeyInfo
	openssl x509 -inform der -in "$1" -noout -pubkey |
		openssl pkey -pubin -outform der | od -An -v -tx1 | tr -d ' \n'
}

must_pass "python3 has cbor2 and cryptography" \
	$PY -c 'import cbor2, cryptography'

# ---- real AWS documents ----
cp "$VEC/evervault_beta_attestation_doc.cbor" "$tmp/beta.cbor"
base64 -d "$VEC/evervault_ga_attestation_doc.b64" >"$tmp/ga.cbor"
base64 -d "$VEC/aws_attestation_2026_01_03_indefinite_map.b64" >"$tmp/aws.cbor"

must_pass "AWS beta document verifies at its time" \
	$PY $VERIFY "$tmp/beta.cbor" --root $AWS_ROOT --at 1665651500
has "AWS beta document: PCR0 as recorded" '"0": "f4d48b81a460c991'
must_pass "AWS GA document (high-S) verifies at its time, user_data = TLS SPKI" \
	$PY $VERIFY "$VEC/evervault_ga_attestation_doc.b64" --root $AWS_ROOT \
	--at 1695049420 --expect-user-data-hex "$(spki_hex $VEC/evervault_ga_tls_cert.der)"
must_pass "AWS 2026 document (indefinite map, high-S) verifies at its timestamp" \
	$PY $VERIFY "$tmp/aws.cbor" --root $AWS_ROOT
has "AWS 2026 document: user_data as recorded" \
	'"user_data": "69553adc61d6e9fcdecbe1ea49bb2b52a60238e0"'
has "AWS 2026 document: nonce null" '"nonce": null'
for d in beta ga aws; do
	flip "$tmp/$d.cbor" "$tmp/$d.flip" 4400
	must_fail "AWS $d document with a flipped payload byte is refused" \
		"does not verify" $PY $VERIFY "$tmp/$d.flip" --root $AWS_ROOT \
		--at $(case $d in beta) echo 1665651500;; ga) echo 1695049420;;
		       aws) echo 1767472867;; esac)
	must_fail "AWS $d document is refused in 2100" "not valid at" \
		$PY $VERIFY "$tmp/$d.cbor" --root $AWS_ROOT --at 4102444800
done
must_fail "AWS beta document with a wrong expected user_data is refused" \
	"user_data is not the expected value" \
	$PY $VERIFY "$tmp/beta.cbor" --root $AWS_ROOT --at 1665651500 \
	--expect-user-data-hex 00

# ---- sim documents from our C code ----
if [ ! -x "$SIMDOC" ]; then
	echo "not ok - $SIMDOC is built (make tools)"
	exit 1
fi
must_pass "nacre-simdoc writes a sim document and certificate" \
	"$SIMDOC" --root "$tmp/sim/root.pem" --doc "$tmp/sim.cbor" \
	--spki "$tmp/spki.der" --cert "$tmp/cert.der" \
	--user-data a16176 --nonce 00112233445566778899
root_sha=$(grep -E '^[0-9a-f]{64}$' "$tmp/out")
SIM_CRT=$tmp/sim/root.crt
if [ "$(stat -c %a "$SIM_CRT" "$tmp/sim/root.pem" 2>&1 | tr '\n' ' ')" = "644 600 " ] &&
	grep -q "BEGIN CERTIFICATE" "$SIM_CRT" && ! grep -q "PRIVATE KEY" "$SIM_CRT"; then
	pass "the sim writes root.crt (0644, certificate only) beside root.pem (0600)"
else
	ls -l "$tmp/sim" >"$tmp/out" 2>&1
	fail "the sim writes root.crt (0644, certificate only) beside root.pem (0600)"
fi
if [ "$(openssl x509 -in "$SIM_CRT" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$root_sha" ]; then
	pass "root.crt is the root whose SHA-256 the sim prints"
else
	fail "root.crt is the root whose SHA-256 the sim prints"
fi
must_pass "sim document verifies (independent verifier, sim root)" \
	$PY $VERIFY "$tmp/sim.cbor" --root "$SIM_CRT" \
	--expect-public-key-der "$tmp/spki.der" --expect-user-data-hex a16176
has "sim document: cabundle[0] is the sim root" "\"${root_sha:-no root hash printed}\""
has "sim document: nonce as asked" '"nonce": "00112233445566778899"'
has "sim document: signing certificate says SIMULATED" 'OU=SIMULATED'
must_pass "sim certificate: id-pe-cmw evidence verifies and binds the key" \
	$PY $VERIFY --cert "$tmp/cert.der" --root "$SIM_CRT"
has "sim certificate: media type application/aws-nitro-document" \
	'"media_type": "application/aws-nitro-document"'
must_fail "sim document under the AWS root is refused" \
	"cabundle\[0\] is not the given root" \
	$PY $VERIFY "$tmp/sim.cbor" --root $AWS_ROOT
flip "$tmp/sim.cbor" "$tmp/sim.flip" 200
must_fail "sim document with a flipped byte is refused" "does not verify" \
	$PY $VERIFY "$tmp/sim.flip" --root "$SIM_CRT"
must_fail "sim document verified 4 hours later is refused" "not valid at" \
	$PY $VERIFY "$tmp/sim.cbor" --root "$SIM_CRT" \
	--at $(( $(date +%s) + 4 * 3600 ))
must_pass "nacre-simdoc writes a certificate whose key differs" \
	"$SIMDOC" --root "$tmp/sim/root.pem" --doc "$tmp/sim2.cbor" \
	--cert "$tmp/cert2.der" --mismatch
must_fail "certificate whose key is not the attested one is refused" \
	"binding" $PY $VERIFY --cert "$tmp/cert2.der" --root "$SIM_CRT"
must_fail "certificate without evidence is refused" "no id-pe-cmw" \
	$PY $VERIFY --cert $VEC/evervault_ga_tls_cert.der --root $AWS_ROOT
must_pass "nacre-simdoc without user_data and nonce" \
	"$SIMDOC" --root "$tmp/sim/root.pem" --doc "$tmp/sim3.cbor"
must_pass "sim document with null user_data and nonce verifies" \
	$PY $VERIFY "$tmp/sim3.cbor" --root "$SIM_CRT"
has "sim document: user_data null" '"user_data": null'

# ---- fresh, session-bound evidence (docs/evidence-format.md 8) ----
# the binding is computed by libnacre (nacre-simdoc --fresh) and checked
# by the Python verifier from the spec's definition
cat >"$tmp/session.json" <<'JSON'
{"nonce": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
 "client_random": "1111111111111111111111111111111111111111111111111111111111111111",
 "server_random": "2222222222222222222222222222222222222222222222222222222222222222",
 "client_share": "3333333333333333333333333333333333333333333333333333333333333333",
 "server_share": "0444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444"}
JSON
must_pass "nacre-simdoc writes fresh evidence for a session" \
	"$SIMDOC" --root "$tmp/sim/root.pem" --doc "$tmp/fresh.cbor" \
	--fresh "$tmp/session.json"
must_pass "fresh evidence verifies: nonce echoed, hs = the session's binding" \
	$PY $VERIFY "$tmp/fresh.cbor" --root "$SIM_CRT" --fresh "$tmp/session.json"
has "fresh evidence: the session binding is reported" '"session_binding": "'
sed 's/"server_random": "22/"server_random": "23/' "$tmp/session.json" >"$tmp/other.json"
must_fail "fresh evidence checked against another handshake is refused" \
	"session binding" \
	$PY $VERIFY "$tmp/fresh.cbor" --root "$SIM_CRT" --fresh "$tmp/other.json"
sed 's/"nonce": "00/"nonce": "ff/' "$tmp/session.json" >"$tmp/other.json"
must_fail "fresh evidence checked against another nonce is refused" \
	"not the client's nonce" \
	$PY $VERIFY "$tmp/fresh.cbor" --root "$SIM_CRT" --fresh "$tmp/other.json"
must_pass "nacre-simdoc: the session's nonce, claims without \"hs\"" \
	"$SIMDOC" --root "$tmp/sim/root.pem" --doc "$tmp/nohs.cbor" \
	--user-data a1617601 \
	--nonce 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
must_fail "a document with the nonce but no \"hs\" is not session-bound" \
	"session binding" \
	$PY $VERIFY "$tmp/nohs.cbor" --root "$SIM_CRT" --fresh "$tmp/session.json"

exit $failed
