#!/bin/sh
# tests/cli/run.sh: offline checks of `nacre inspect` on the real AWS-signed
# documents in tests/vectors/nitro: they verify with the built-in AWS root at
# their recorded times, fail when too old, when a single byte of the
# signature, payload or chain is flipped, and on a wrong PCR; every input
# form (CBOR, base64 with newlines, hex, stdin, PEM/DER certificate) is read.
# Every verifying policy pins PCR0: one that pins no code is refused with
# the fix named, unless --any-code, which then warns on every verification.
# Then install.sh (make install PREFIX=/usr into a DESTDIR, a client built
# against it, libnacre.so's exported symbols) and systemd.sh (the units
# under systemd-analyze verify, the socket directory layout).
# NACRE picks the binary (default build/nacre; build/asan/nacre works too).
# Prints one "ok - " / "not ok - " line per check; exits 1 if any failed.
cd "$(dirname "$0")/../.." || exit 1
NACRE=${NACRE:-build/nacre}
PY=/usr/bin/python3
V=tests/vectors/nitro
T=$(mktemp -d "${TMPDIR:-/tmp}/nacre-cli.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
PASS=0
FAIL=0

ok() { echo "ok - $1"; PASS=$((PASS + 1)); }
notok() { echo "not ok - $1 ($2)"; FAIL=$((FAIL + 1)); }
# run NACRE-ARGS...: $out (stdout+stderr) and $rc
run() { out=$("$NACRE" "$@" 2>&1); rc=$?; }
# expect NAME RC [NEEDLE]: the last run exited RC and printed NEEDLE
expect() {
	if [ "$rc" != "$2" ]; then
		notok "$1" "exit $rc, want $2: $(printf '%s' "$out" | tail -n 3 | tr '\n' '|' | head -c 300)"
	elif [ -n "$3" ] && ! printf '%s' "$out" | grep -qF -- "$3"; then
		notok "$1" "wanted '$3' in: $(printf '%s' "$out" | tail -n 3 | tr '\n' '|' | head -c 300)"
	elif printf '%s' "$out" | grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer'; then
		notok "$1" "sanitizer report: $(printf '%s' "$out" | grep -m1 -E 'Sanitizer|runtime error')"
	else
		ok "$1"
	fi
}

if [ ! -x "$NACRE" ] || [ ! -x "$PY" ]; then
	notok "cli prerequisites" "missing $NACRE or $PY (make build/nacre)"
	exit 1
fi

BETA=$V/evervault_beta_attestation_doc.cbor; BETA_T=1665651500
GA=$V/evervault_ga_attestation_doc.b64; GA_T=1695049420
AWS=$V/aws_attestation_2026_01_03_indefinite_map.b64; AWS_T=1767472867

# the PCR0 (image measurement) each document records, as inspect shows it;
# the GA enclave runs in debug mode: its PCR0 is zero
pcr0_of() { "$NACRE" inspect "$1" 2>/dev/null | sed -n 's/^  pcr0  *\([0-9a-f]\{96\}\)$/\1/p'; }
ZERO=$(printf '%096d' 0)
BETA_PIN="--pcr 0=$(pcr0_of "$BETA")"
AWS_PIN="--pcr 0=$(pcr0_of "$AWS")"
GA_PIN="--pcr 0=$ZERO"
case "$BETA_PIN$AWS_PIN" in
*=--pcr*|*=) notok "the documents' PCR0 read with nacre inspect" "$BETA_PIN $AWS_PIN" ;;
*) ok "the documents' PCR0 read with nacre inspect" ;;
esac

# ---- the real documents verify at their times ----
run inspect "$BETA" --root-aws --at $BETA_T --max-age 1h $BETA_PIN
expect "evervault beta document (CBOR) verifies with the AWS root" 0 "verification: ok"
run inspect "$AWS" --root-aws --at $AWS_T --max-age 1h $AWS_PIN
expect "AWS 2026 document (base64, 100-char lines, indefinite map) verifies" 0 "verification: ok"
run inspect "$GA" --root-aws --at $GA_T --max-age 1h --allow-debug $GA_PIN
expect "evervault GA document (base64, high-S) verifies with --allow-debug" 0 "verification: ok"
run inspect "$GA" --root-aws --at $GA_T --max-age 1h $GA_PIN
expect "evervault GA document is refused without --allow-debug (debug enclave)" 1 "debug-enclave"
run inspect "$BETA" --root-aws --at $BETA_T $BETA_PIN
expect "the default policy (AWS root, 2h) accepts it too" 0 "verification: ok"
run inspect "$AWS"
expect "without policy options the document is shown, exit 0" 0 "module id:     i-0368fa67e156d6d23-enc019b8596b1a9dad6"
case $out in *verification*) notok "without policy options nothing is verified" "$out" ;;
*) ok "without policy options nothing is verified" ;; esac
expect "inspect shows the timestamp in ISO form" 0 "2026-01-03T20:41:07.402Z"
expect "inspect shows the cabundle subjects" 0 "cabundle[0]:   /C=US/O=Amazon/OU=AWS/CN=aws.nitro-enclaves"
expect "inspect shows non-claims user_data as hex" 0 "69553adc61d6e9fcdecbe1ea49bb2b52a60238e0"
expect "inspect shows the PCRs that are not zero" 0 "pcr4  245617239e18ae8e"
expect "inspect counts the zero PCRs" 0 "zero pcrs:     12"

# ---- too old ----
run inspect "$BETA" --root-aws --at $((BETA_T + 7200)) --max-age 1h $BETA_PIN
expect "two hours later under max_age 1h the document is too old (exit 1)" 1 "older than the policy's max_age"
expect "... with status too-old" 1 "too-old"
run inspect "$AWS" --root-aws --at $((AWS_T - 3600)) --max-age 1h $AWS_PIN
expect "an hour before its timestamp the document is from the future" 1 "from-future"

# ---- other roots ----
run inspect "$BETA" --root sha256:0000000000000000000000000000000000000000000000000000000000000000 --at $BETA_T $BETA_PIN
expect "pinning another root: untrusted-root" 1 "untrusted-root"
run inspect "$BETA" --root "$V/aws_nitro_root_g1.pem" --at $BETA_T $BETA_PIN
expect "the AWS root as a PEM file verifies" 0 "verification: ok"
run inspect "$BETA" --root sha256:641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b --at $BETA_T $BETA_PIN
expect "the AWS root pinned by SHA-256 verifies" 0 "verification: ok"

# ---- single flipped bytes; offsets found by decoding ----
$PY - "$BETA" "$T" <<'PY'
import sys, cbor2
doc = open(sys.argv[1], "rb").read()
out = sys.argv[2]
arr = cbor2.loads(doc)
payload, sig = arr[2], arr[3]
p = cbor2.loads(payload)
def flip(name, off):
    b = bytearray(doc)
    b[off] ^= 0x01
    open(out + "/" + name, "wb").write(bytes(b))
assert doc.endswith(sig) and len(sig) == 96
flip("sig.cbor", len(doc) - 40)                       # inside the signature
mid = doc.find(p["module_id"].encode())               # a letter of module_id
assert mid > 0
flip("payload.cbor", mid + 3)
c1 = p["cabundle"][1]                                 # the regional CA
o1 = doc.find(c1)
assert o1 > 0
flip("chain.cbor", o1 + len(c1) - 10)                 # its signature value
c0 = p["cabundle"][0]                                 # the root
o0 = doc.find(c0)
flip("root.cbor", o0 + len(c0) // 2)
pcr0 = p["pcrs"][0].hex()
open(out + "/pcr0", "w").write(pcr0)
PY
if [ -s "$T/sig.cbor" ]; then ok "flipped copies written (python3 cbor2)"
else notok "flipped copies written (python3 cbor2)" "python failed"; fi
run inspect "$T/sig.cbor" --root-aws --at $BETA_T $BETA_PIN
expect "a flipped signature byte: signature-invalid" 1 "signature-invalid"
run inspect "$T/payload.cbor" --root-aws --at $BETA_T $BETA_PIN
case $out in
*signature-invalid*|*document-malformed*) expect "a flipped payload byte: signature-invalid or document-malformed" 1 "" ;;
*) rc="$rc/no status"; expect "a flipped payload byte: signature-invalid or document-malformed" 1 "signature-invalid" ;;
esac
run inspect "$T/chain.cbor" --root-aws --at $BETA_T $BETA_PIN
expect "a flipped byte in cabundle[1]: chain-invalid" 1 "chain-invalid"
run inspect "$T/root.cbor" --root-aws --at $BETA_T $BETA_PIN
expect "a flipped byte in cabundle[0]: untrusted-root" 1 "untrusted-root"
run inspect "$T/payload.cbor"
expect "without policy a flipped (still well-formed) document is shown" 0 "module id:"

# ---- PCRs ----
wrong=$(printf '%096d' 0 | tr 0 a)
run inspect "$BETA" --root-aws --at $BETA_T $BETA_PIN --pcr 3=$wrong
expect "a wrong --pcr fails (exit 1)" 1 "pcr-mismatch"
expect "... and the message names the PCR" 1 "PCR3"
run inspect "$BETA" --root-aws --at $BETA_T --pcr "0=$(cat "$T/pcr0")"
expect "the right --pcr 0 passes" 0 "verification: ok"
run inspect "$BETA" --root-aws --at $BETA_T --pcr 0=abc
expect "a malformed --pcr is a usage error naming the problem" 2 "96 hex digits"
run inspect "$BETA" --root-aws --at $BETA_T --pcr 16=$wrong
expect "--pcr 16 is a usage error" 2 "0 to 15"

# ---- a policy that pins no code ----
# trusting the AWS root alone would accept any code in any Nitro enclave
run inspect "$BETA" --root-aws --at $BETA_T
expect "a policy that pins no code is refused (exit 2)" 2 "nacre: the policy pins no code"
expect "... naming what to pin, in policy keys and in flags" 2 "add pcrs.pcr0 (the image measurement) or module_ids, or allow_any_code = true to accept any enclave (on the command line, for Nitro: --pcr 0=<96 hex digits> or --module-id ID"
expect "... or how to accept any enclave" 2 "; --any-code to accept any enclave)"
case $out in *verification:*) notok "... before verifying anything" "$out" ;;
*) ok "... before verifying anything" ;; esac
run verify 127.0.0.1:1
expect "nacre verify with the default policy: refused before connecting (exit 2)" 2 "the policy pins no code"
run connect --listen 127.0.0.1:1 --to 127.0.0.1:1 --root-aws
expect "nacre connect with an unpinned policy: refused before listening (exit 2)" 2 "the policy pins no code"
printf 'trust = { roots = [ "aws-nitro" ]; };\nmax_age = "1h";\n' >"$T/unpinned.policy"
run inspect "$BETA" --policy "$T/unpinned.policy" --at $BETA_T
expect "a policy file that pins no code is refused too" 2 "the policy pins no code"
run inspect "$BETA" --policy "$T/unpinned.policy" --at $BETA_T $BETA_PIN
expect "... and passes once --pcr 0 pins the image" 0 "verification: ok"
run inspect "$BETA" --root-aws --at $BETA_T --module-id i-020b6af9246d90e92-enc0183d09086c24190
expect "a --module-id alone pins the enclave" 0 "verification: ok"
run inspect "$BETA" --root-aws --at $BETA_T --any-code
expect "--any-code: the unpinned policy verifies" 0 "verification: ok"
expect "--any-code: ... and warns" 0 "nacre inspect: warning: the policy pins no code (allow_any_code): any code in any enclave under the trusted roots passes"
run inspect "$T/sig.cbor" --root-aws --at $BETA_T --any-code
expect "--any-code: a failed verification warns too" 1 "warning: the policy pins no code"
printf 'trust = { roots = [ "aws-nitro" ]; };\nallow_any_code = true;\n' >"$T/any.policy"
run inspect "$BETA" --policy "$T/any.policy" --at $BETA_T
expect "allow_any_code = true in a policy file: verifies, with the warning" 0 "warning: the policy pins no code"
run inspect "$BETA" --root-aws --at $BETA_T --any-code $BETA_PIN
expect "--any-code with PCR0 pinned: verifies" 0 "verification: ok"
case $out in *warning*) notok "... without a warning (the pin applies)" "$out" ;;
*) ok "... without a warning (the pin applies)" ;; esac
printf 'allow_any_code = "yes";\n' >"$T/bad.policy"
run inspect "$BETA" --policy "$T/bad.policy"
expect "allow_any_code = \"yes\": exit 2 naming the key and line" 2 "bad.policy:1: allow_any_code must be true or false"
"$NACRE" inspect "$BETA" --root-aws --at $BETA_T --any-code --json 2>/dev/null >"$T/any.json"
"$NACRE" inspect "$BETA" --root-aws --at $BETA_T $BETA_PIN --json 2>/dev/null >"$T/pin.json"
v=$($PY -c 'import json,sys
a = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[2]))
print(a["verified"], "pins no code" in a["warning"], p["warning"])' "$T/any.json" "$T/pin.json" 2>&1)
if [ "$v" = "True True None" ]; then ok "--json: \"warning\" under --any-code, null when pinned"
else notok "--json: \"warning\" under --any-code, null when pinned" "$v"; fi

# ---- root files: never a FIFO, never a private key ----
mkfifo "$T/fifo.crt"
out=$(timeout 10 "$NACRE" verify 127.0.0.1:1 --root "$T/fifo.crt" $BETA_PIN 2>&1); rc=$?
expect "a FIFO as --root: exit 2 at once, not a hang" 2 "$T/fifo.crt: the root certificate must be a regular file; this is a FIFO"
printf 'trust = { roots = [ "fifo.crt" ]; };\npcrs = { pcr0 = [ "%s" ]; };\n' "$ZERO" >"$T/fifo.policy"
out=$(timeout 10 "$NACRE" inspect "$BETA" --policy "$T/fifo.policy" 2>&1); rc=$?
expect "a FIFO as a policy file's root: exit 2 naming file and line" 2 "fifo.policy:1: trust.roots: $T/fifo.crt: the root certificate must be a regular file; this is a FIFO"
mkfifo "$T/fifo.policy2"
out=$(timeout 10 "$NACRE" inspect "$BETA" --policy "$T/fifo.policy2" 2>&1); rc=$?
expect "a FIFO as the policy file: exit 2 at once" 2 "this is a FIFO"
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -subj /CN=k \
	-keyout "$T/key.pem" -out "$T/key.crt" -days 1 >/dev/null 2>&1; then
	cat "$T/key.crt" "$T/key.pem" >"$T/sim-root.pem"
	run inspect "$BETA" --root "$T/sim-root.pem" $BETA_PIN
	expect "a root file holding a private key (the sim's key file) is refused" 2 "$T/sim-root.pem holds a private key; give the verifier the root certificate alone (for nacred's sim root: $T/sim-root.crt"
	run inspect "$BETA" --root "$T/key.crt" --at $BETA_T $BETA_PIN
	expect "... its certificate alone is read (and is not this document's root)" 1 "untrusted-root"
else
	notok "a root file holding a private key is refused" "openssl req failed"
fi

# ---- input forms ----
$PY -c 'import sys; sys.stdout.write(open(sys.argv[1],"rb").read().hex())' "$BETA" >"$T/beta.hex"
run inspect "$T/beta.hex" --root-aws --at $BETA_T $BETA_PIN
expect "hex input verifies" 0 "input: hex document"
base64 -w 76 "$BETA" >"$T/beta.b64"
run inspect "$T/beta.b64" --root-aws --at $BETA_T $BETA_PIN
expect "base64 with newlines verifies" 0 "input: base64 document"
out=$("$NACRE" inspect - --root-aws --at $BETA_T $BETA_PIN <"$BETA" 2>&1); rc=$?
expect "stdin (-) verifies" 0 "verification: ok"
run inspect "$V/evervault_ga_tls_cert.der"
expect "a DER certificate without evidence: input error naming id-pe-cmw" 2 "id-pe-cmw"
run inspect "$V/evervault_ga_tls_cert.der" --root-aws $BETA_PIN
expect "... with a policy: no-evidence, exit 1" 1 "no-evidence"
run inspect "$V/aws_nitro_root_g1.pem"
expect "a PEM certificate is read (the AWS root: no evidence)" 2 "id-pe-cmw"
: >"$T/empty"
run inspect "$T/empty"
expect "an empty file: exit 2, says empty" 2 "empty"
printf 'hello, world\n' >"$T/text"
run inspect "$T/text"
expect "text that is no document: exit 2" 2 "not a certificate"
head -c 200 "$BETA" >"$T/short.cbor"
run inspect "$T/short.cbor"
expect "a truncated document: exit 2, malformed" 2 "malformed"
run inspect "$T/short.cbor" --root-aws $BETA_PIN
expect "a truncated document with a policy: document-malformed, exit 1" 1 "document-malformed"
run inspect "$T/nonexistent"
expect "a missing file: exit 2 naming it" 2 "$T/nonexistent"

# ---- JSON ----
for f in "$BETA" "$AWS" "$T/sig.cbor" "$T/short.cbor"; do
	"$NACRE" inspect "$f" --root-aws --at $BETA_T $BETA_PIN --json 2>/dev/null >"$T/out.json"
	if $PY -m json.tool <"$T/out.json" >/dev/null 2>&1; then
		ok "--json output parses ($(basename "$f"))"
	else
		notok "--json output parses ($(basename "$f"))" "$(head -c 200 "$T/out.json")"
	fi
done
"$NACRE" inspect "$BETA" --root-aws --at $BETA_T $BETA_PIN --json >"$T/out.json"
v=$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["verified"], d["status"], d["evidence"]["module_id"])' "$T/out.json" 2>&1)
if [ "$v" = "True ok i-020b6af9246d90e92-enc0183d09086c24190" ]; then ok "--json carries verdict and module id"
else notok "--json carries verdict and module id" "$v"; fi

# ---- usage ----
run --help
expect "nacre --help exits 0" 0 "inspect"
run -V
expect "nacre -V prints the version" 0 "nacre "
run frobnicate
expect "an unknown command: exit 2 naming it" 2 "frobnicate"
for c in inspect verify connect; do
	run $c --help
	expect "nacre $c --help exits 0" 0 "usage: nacre $c"
done
run inspect "$BETA" --bogus
expect "an unknown option: exit 2 naming it" 2 "--bogus"
run inspect
expect "no input: exit 2" 2 "no input"
run verify vsock:x:5 $BETA_PIN
expect "nacre verify with a malformed vsock address: exit 2" 2 "vsock"
run connect --listen 10.1.2.3:8080 --to 127.0.0.1:1
expect "nacre connect refuses a non-loopback --listen" 2 "loopback"
run connect --to 127.0.0.1:1
expect "nacre connect without --listen: exit 2" 2 "--listen"
run inspect "$BETA" --max-age soon
expect "a bad --max-age: exit 2" 2 "--max-age"

# ---- make install into a DESTDIR, a client built against it, the
# library's exported symbols; the systemd units and socket layout ----
. tests/cli/install.sh
. tests/cli/systemd.sh
# ---- nacre inspect on AMD SEV-SNP reports (real vendor vectors) ----
. tests/cli/snp.sh
. tests/cli/tdx.sh

echo "# cli: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
