# 62-tee-providers: nacred's Intel TDX and AMD SEV-SNP evidence
# (docs/evidence-format.md 9). The simulated TDX and SNP hardware
# (attestation.sim.platform) and the configfs-tsm provider against
# nacre-tsmsim (tests/tools/nacre-tsmsim.c: the kernel's report interface
# on a plain directory, so nacred's real src/tee/tsm.c runs) each serve a
# certificate whose CMW type is the platform's; an independent Python
# decoder (cbor2 + cryptography) reads the envelope and recomputes
# REPORTDATA from the certificate's SPKI and the claims. A concurrent
# writer (tsmsim --race) is detected and the request made again, and one
# that never stops fails start-up naming it; a missing report directory or
# an unknown provider stops start-up with the cause and the fix. libnacre
# (nacre verify, nacre connect) accepts the simulated evidence, static and
# fresh (the nonce bound through "hs"), under a policy naming the sim root.
#
# Run alone against another build: NACRED=B/asan/nacred UPSTREAM=B/tools/upstream
# TLSCLIENT=B/tools/tlsclient HSLOAD=B/bench/hsload sh tests/e2e/run.sh 62-tee
# (nacre-tsmsim is looked for beside UPSTREAM; TSMSIM overrides it).

TSMSIM=${TSMSIM:-$(dirname "$UPSTREAM")/nacre-tsmsim}
PYTV="/usr/bin/python3 tests/py/tee_verify.py"
NACRE_CLI=${NACRE_CLI:-$(dirname "$NACRED")/nacre}

# tee_py CERT.pem: the envelope of the certificate's id-pe-cmw extension,
# decoded independently of nacre; KEY=VALUE lines
tee_py() {
	/usr/bin/python3 - "$1" <<'PY'
import hashlib, sys, time
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import serialization

def der_octets(b):
    # DER OCTET STRING: 04 len contents
    if b[0] != 0x04:
        raise ValueError("CMW is not an OCTET STRING")
    n, i = b[1], 2
    if n & 0x80:
        k = n & 0x7F
        n, i = int.from_bytes(b[2:2 + k], "big"), 2 + k
    if i + n != len(b):
        raise ValueError("trailing bytes after the CMW")
    return b[i:i + n]

cert = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.5.5.7.1.35"))
print("critical=%s" % ext.critical)
mt, value, ind = cbor2.loads(der_octets(ext.value.value))
print("media_type=%s" % mt)
print("indicator=%d" % ind)
env = cbor2.loads(value)
if cbor2.dumps(env, canonical=True) != value:
    print("envelope=not-deterministic")
print("envelope_keys=%s" % ",".join(str(k) for k in sorted(env)))
ev, cl = env[1], env[2]
claims = cbor2.loads(cl)
print("claims_keys=%s" % ",".join(sorted(claims)))
print("claims_cfg=%s" % claims.get("cfg", b"").hex())
iat = claims.get("iat")
print("iat_age_s=%d" % (time.time() - iat / 1000.0 if iat else -1))
print("certs=%d" % len(env.get(3, [])))
spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)
rd = hashlib.sha512(b"nacre-report-data-v1" + len(spki).to_bytes(4, "big") + spki +
                    len(cl).to_bytes(4, "big") + cl).digest()
if mt == "application/vnd.nacre.tdx-evidence+cbor":
    ver = int.from_bytes(ev[0:2], "little")
    body = 48 if ver == 4 else 54           # v5: body type u16 + size u32
    got, meas = ev[body + 520:body + 584], ev[body + 136:body + 184]
    print("quote_version=%d" % ver)
else:
    got, meas = ev[0x50:0x90], ev[0x90:0xC0]
    print("report_version=%d" % int.from_bytes(ev[0:4], "little"))
    print("report_len=%d" % len(ev))
print("report_data=%s" % ("match" if got == rd else "MISMATCH"))
print("measurement=%s" % meas.hex())
for i, c in enumerate(env.get(3, [])):
    print("cert%d=%s" % (i, x509.load_der_x509_certificate(c).subject.rfc4514_string()))
PY
}

# checks of one served certificate: PLATFORM (tdx|snp) CERT CONF WHAT ROOT
# [MEASUREMENT]; ROOT: the simulated SGX root or ARK (PEM)
tee_cert_checks() {
	_pl=$1
	_out=$(tee_py "$2" 2>&1)
	if [ "$_pl" = tdx ]; then _m=--mrtd; _coll="--collateral $(dirname "$5")"; else _m=--measurement; _coll=""; fi
	_vout=$($PYTV cert "$2" --root "$5" $_coll ${6:+$_m "$6"} 2>&1)
	check "$4: tests/py/tee_verify.py verifies the evidence (signatures, chain to the sim root, the measurement)" \
		test $? -eq 0
	case $_vout in '{'*) ;; *) echo "#   $_vout" | head -n 3 ;; esac
	check_has "$4: the certificate's CMW type is the $_pl one" "$_out" \
		"media_type=application/vnd.nacre.$_pl-evidence+cbor"
	check_has "$4: the extension is not critical" "$_out" "critical=False"
	check_has "$4: the CMW indicator is 4 (evidence)" "$_out" "indicator=4"
	check_lacks "$4: the envelope is deterministic CBOR" "$_out" "envelope=not-deterministic"
	check_has "$4: REPORTDATA = SHA-512 over the certificate's SPKI and the claims (Python)" \
		"$_out" "report_data=match"
	check_has "$4: the claims carry v, cfg and iat" "$_out" "claims_keys=cfg,iat,v"
	check_has "$4: the claims carry the SHA-256 of the configuration" "$_out" \
		"claims_cfg=$(sha256sum <"$3" | cut -d' ' -f1)"
	_age=$(printf '%s\n' "$_out" | sed -n 's/^iat_age_s=//p')
	check_range "$4: \"iat\" is the guest's clock at signing (age in s)" "$_age" -5 60
	if [ "$_pl" = tdx ]; then
		check_has "$4: a version 4 TD quote" "$_out" "quote_version=4"
	else
		check_has "$4: a 1184-byte SNP report" "$_out" "report_len=1184"
	fi
	TEE_OUT=$_out
}

# libnacre (nacre verify, nacre connect) against a running nacred, static
# and fresh evidence; the fresh evidence also by tee_verify.py from the
# handshake values nacre saw: PLATFORM PORT ROOT WHAT
tee_client_checks() {
	if [ ! -x "$NACRE_CLI" ]; then
		notok "$4: nacre CLI present" "missing $NACRE_CLI"
		return
	fi
	if [ "$1" = tdx ]; then
		printf 'tdx = { roots = [ "%s" ]; collateral = "%s"; mrtd = [ "%s" ]; };\n' \
			"$3" "$(dirname "$3")" "$EXE_SHA" >"$T/$1.pol"
		printf 'tdx = { roots = [ "%s" ]; collateral = "%s"; mrtd = [ "%096d" ]; };\n' \
			"$3" "$(dirname "$3")" 0 >"$T/$1_other.pol"
	else
		printf 'snp = { roots = [ "%s" ]; measurement = [ "%s" ]; };\n' \
			"$3" "$EXE_SHA" >"$T/$1.pol"
		printf 'snp = { roots = [ "%s" ]; measurement = [ "%096d" ]; };\n' \
			"$3" 0 >"$T/$1_other.pol"
	fi
	_o=$(timeout 30 "$NACRE_CLI" verify "127.0.0.1:$2" --sni localhost --policy "$T/$1.pol" 2>&1)
	_rc=$?
	check_eq "$4: nacre verify accepts the certificate's evidence (policy: the sim root, the measurement)" "$_rc" 0
	check_has "$4: ... verified" "$_o" "verified: yes"
	check_eq "$4: ... and no sanitizer report" "$(san_in "$_o")" ""
	timeout 30 "$NACRE_CLI" verify "127.0.0.1:$2" --sni localhost --policy "$T/$1_other.pol" >/dev/null 2>&1
	check_eq "$4: nacre verify refuses it when the policy pins another measurement" "$?" 1
	_o=$(timeout 30 "$NACRE_CLI" verify "127.0.0.1:$2" --sni localhost --policy "$T/$1.pol" \
		--fresh --session "$T/$1_session.json" 2>&1)
	_rc=$?
	check_eq "$4: nacre verify --fresh gets fresh evidence (exit 0)" "$_rc" 0
	check_has "$4: ... made for this handshake" "$_o" "made for this handshake"
	# the certificate of that handshake (DER; with TDX evidence it holds
	# the quote's PCK chain as PEM text)
	/usr/bin/python3 -c 'import json, sys
open(sys.argv[2], "wb").write(bytes.fromhex(json.load(open(sys.argv[1]))["certificate"]))' \
		"$T/$1_session.json" "$T/$1_session.der" 2>/dev/null
	if [ "$1" = tdx ]; then _c="--collateral $(dirname "$3")"; else _c=""; fi
	_o=$($PYTV cert "$T/$1_session.der" --root "$3" $_c --fresh "$T/$1_session.json" 2>&1)
	check "$4: tests/py/tee_verify.py accepts the fresh evidence from the handshake values alone" \
		test $? -eq 0
	check_has "$4: ... \"hs\" is this handshake's binding" "$_o" '"session_binding": "'
	port P_TC
	bg "tee_fwd_$1" "$NACRE_CLI" connect --listen "127.0.0.1:$P_TC" \
		--to "127.0.0.1:$2" --sni localhost --policy "$T/$1.pol" --fresh
	wait_for "$T/tee_fwd_$1.out" ready 10
	_got=$(curl -s --max-time 10 "http://127.0.0.1:$P_TC/bytes/1000" | wc -c)
	check_eq "$4: nacre connect --fresh forwards through a fresh handshake" "$_got" 1000
	bg_stop "tee_fwd_$1"
}

tee_conf() { # FILE ATTESTATION-LINE
	conf "$1"
	sed -i "s|^attestation = .*|$2|" "$1"
}

upstream tee_app "unix:$T/tee.sock"
conf_defaults
C_LEVEL=info
C_UP="unix:$T/tee.sock"
EXE_SHA=$(sha384sum <"$NACRED" | cut -d' ' -f1)

# ---- the simulated TDX and SNP hardware ----
for pl in tdx snp; do
	port P_TS
	C_LISTEN="tcp:127.0.0.1:$P_TS"
	tee_conf "$T/sim_$pl.conf" "attestation = { provider = \"sim\"; sim = { root = \"$T/simtee/sim-root.pem\"; platform = \"$pl\"; }; };"
	out=$("$NACRED" -t -c "$T/sim_$pl.conf" 2>&1)
	check_eq "nacred -t accepts attestation.sim.platform = \"$pl\"" "$?" 0
	if nacred "sim_$pl" "$T/sim_$pl.conf" "$P_TS"; then
		log=$(nlog "sim_$pl")
		check_has "sim $pl: nacred logs the platform it simulates" "$log" \
			"attestation provider \"sim\", platform \"$pl\": evidence is SIMULATED"
		check_has "sim $pl: ... and where its keys are (beside the sim root)" "$log" \
			"signed by keys in $T/simtee/sim-$pl"
		if [ "$pl" = tdx ]; then rootf=$T/simtee/sim-tdx/sgx-root.crt; else rootf=$T/simtee/sim-snp/ark.crt; fi
		want=$(openssl x509 -in "$rootf" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
		check_has "sim $pl: nacred logs the root a policy names, and its SHA-256" "$log" \
			"root $rootf sha256:$want"
		cert_of "$P_TS" "$T/sim_$pl.pem"
		tee_cert_checks "$pl" "$T/sim_$pl.pem" "$T/sim_$pl.conf" "sim $pl" "$rootf" "$EXE_SHA"
		check_has "sim $pl: the measurement is the SHA-384 of the nacred executable" \
			"$TEE_OUT" "measurement=$EXE_SHA"
		check_has "sim $pl: nacred logs that measurement" "$log" "$EXE_SHA"
		if [ "$pl" = snp ]; then
			check_has "sim snp: the envelope carries VCEK, ASK and ARK (key 3)" \
				"$TEE_OUT" "certs=3"
		else
			check_has "sim tdx: no certificates beside the quote (the PCK chain is inside)" \
				"$TEE_OUT" "envelope_keys=1,2"
		fi
		check_eq "sim $pl: requests are served" "$(https "$P_TS" /)" "hello from the enclave app"
		tee_client_checks "$pl" "$P_TS" "$rootf" "sim $pl"
		forge_cert "$T/sim_$pl.pem" "$T/sim_${pl}_forged.pem"
		check_has "sim $pl: the evidence moved to another key's certificate fails REPORTDATA (Python)" \
			"$(tee_py "$T/sim_${pl}_forged.pem" 2>&1)" "report_data=MISMATCH"
		nacred_stop "sim_$pl"
	fi
done
cat >"$T/sim_sgx.conf" <<EOF
listen = ( { address = "tcp:127.0.0.1:1"; } );
upstream = { address = "unix:$T/none.sock"; };
attestation = { provider = "sim"; sim = { platform = "sgx"; }; };
EOF
out=$("$NACRED" -t -c "$T/sim_sgx.conf" 2>&1)
rc=$?
check_eq "nacred -t refuses an unknown sim.platform (exit 78)" "$rc" 78
check_has "... naming the value and the ones there are" "$out" \
	'attestation.sim.platform = "sgx" is unknown; use "nitro" (the default), "tdx" or "snp"'

# ---- configfs-tsm against nacre-tsmsim ----
# tsm_start NAME PLATFORM [ARGS...]: a simulated report directory in $T/NAME
tsm_start() {
	_n=$1
	_pl=$2
	shift 2
	mkdir -p "$T/$_n/report"
	bg "$_n" "$TSMSIM" --platform "$_pl" --dir "$T/$_n/report" \
		--state "$T/tsmstate-$_pl" --measurement "$EXE_SHA" "$@"
	wait_for "$T/$_n.out" ready 60
}

if [ ! -x "$TSMSIM" ]; then
	notok "nacre-tsmsim present" "missing $TSMSIM (make $TSMSIM)"
else
	for pl in tdx snp; do
		tsm_start "tsm_$pl" "$pl"
		port P_TT
		C_LISTEN="tcp:127.0.0.1:$P_TT"
		# SNP: a VMPL too (privlevel, one more write nacred counts in
		# "generation"; the simulated report does not reflect it)
		if [ "$pl" = snp ]; then pv=" privlevel = 1;"; else pv=""; fi
		tee_conf "$T/tsm_$pl.conf" "attestation = { provider = \"tsm\"; rotate = \"2s\"; tsm = { path = \"$T/tsm_$pl/report\";$pv }; };"
		if nacred "tsmd_$pl" "$T/tsm_$pl.conf" "$P_TT"; then
			check_has "tsm $pl: nacred reads the platform from the report directory" \
				"$(nlog "tsmd_$pl")" "attestation provider \"tsm\": evidence application/vnd.nacre.$pl-evidence+cbor from configfs-tsm at $T/tsm_$pl/report"
			cert_of "$P_TT" "$T/tsm_$pl.pem"
			if [ "$pl" = tdx ]; then rootf=$T/tsmstate-tdx/sgx-root.crt; else rootf=$T/tsmstate-snp/ark.crt; fi
			tee_cert_checks "$pl" "$T/tsm_$pl.pem" "$T/tsm_$pl.conf" "tsm $pl" "$rootf" "$EXE_SHA"
			check_has "tsm $pl: the quote / report is the one the hardware made for nacred's inblob" \
				"$(cat "$T/tsm_$pl.err")" "report of "
			if [ "$pl" = snp ]; then
				check_has "tsm snp: the auxblob certificate table became envelope key 3" \
					"$TEE_OUT" "certs=3"
			fi
			wait_for "$T/tsmd_$pl.err" "generation 3:" 15
			check_has "tsm $pl: rotation gets new evidence through configfs-tsm" \
				"$(nlog "tsmd_$pl")" "generation 3:"
			check_lacks "tsm $pl: no rotation failed" "$(nlog "tsmd_$pl")" "rotation failed"
			check_lacks "tsm $pl: nacred's own writes$pv are all the generation counted (no race seen)" \
				"$(nlog "tsmd_$pl")" "another writer"
			check_eq "tsm $pl: requests are served" "$(https "$P_TT" /)" "hello from the enclave app"
			nacred_stop "tsmd_$pl"
			check_eq "tsm $pl: nacred removed every report entry it made" \
				"$(ls -A "$T/tsm_$pl/report" | tr '\n' ' ')" ""
		fi
		bg_stop "tsm_$pl"
	done

	# a concurrent writer once: detected, asked again, served
	tsm_start tsm_race tdx --race 1
	port P_TR
	C_LISTEN="tcp:127.0.0.1:$P_TR"
	tee_conf "$T/tsm_race.conf" "attestation = { provider = \"tsm\"; tsm = { path = \"$T/tsm_race/report\"; }; };"
	if nacred tsmd_race "$T/tsm_race.conf" "$P_TR"; then
		check_has "tsm race: nacred notices the generation moved by more than its own writes" \
			"$(nlog tsmd_race)" "another writer changed a report entry of nacred during its request"
		check_has "... and asks again" "$(nlog tsmd_race)" "asking again (1 of 3)"
		cert_of "$P_TR" "$T/tsm_race.pem"
		check_has "tsm race: the evidence served is the retry's, bound to the key" \
			"$(tee_py "$T/tsm_race.pem" 2>&1)" "report_data=match"
		nacred_stop tsmd_race
	fi
	bg_stop tsm_race

	# a writer that never stops: start-up fails, naming it
	tsm_start tsm_race9 tdx --race 99
	tee_conf "$T/tsm_race9.conf" "attestation = { provider = \"tsm\"; tsm = { path = \"$T/tsm_race9/report\"; }; };"
	out=$(timeout 60 "$NACRED" -c "$T/tsm_race9.conf" 2>&1)
	rc=$?
	check "tsm race every time: nacred does not start (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	check_has "... and says another writer spoiled each of 3 requests" "$out" \
		"another writer changed nacred's report entries in $T/tsm_race9/report during each of 3 requests"
	check_has "... and what to do" "$out" "find the process that writes into nacred-* entries there and stop it"
	check_eq "... no sanitizer report" "$(san_in "$out")" ""
	bg_stop tsm_race9

	# a VMPL on TDX
	tsm_start tsm_pl tdx
	tee_conf "$T/tsm_pl.conf" "attestation = { provider = \"tsm\"; tsm = { path = \"$T/tsm_pl/report\"; privlevel = 2; }; };"
	out=$(timeout 30 "$NACRED" -c "$T/tsm_pl.conf" 2>&1)
	check_eq "tsm: privlevel on TDX stops start-up with exit 69" "$?" 69
	check_has "... saying it is an SEV-SNP VMPL and to remove it" "$out" \
		"attestation.tsm.privlevel is an SEV-SNP VMPL, but $T/tsm_pl/report is Intel TDX (tdx_guest); remove attestation.tsm.privlevel"
	bg_stop tsm_pl

	# a provider nacred does not know
	tsm_start tsm_cca tdx --provider arm_cca_guest
	tee_conf "$T/tsm_cca.conf" "attestation = { provider = \"tsm\"; tsm = { path = \"$T/tsm_cca/report\"; }; };"
	out=$(timeout 30 "$NACRED" -c "$T/tsm_cca.conf" 2>&1)
	check_eq "tsm: an unknown provider stops start-up with exit 69" "$?" 69
	check_has "... naming it and the ones nacred knows" "$out" \
		'names the provider "arm_cca_guest"; nacred knows "tdx_guest" (Intel TDX) and "sev_guest" (AMD SEV-SNP)'
	bg_stop tsm_cca
fi

# no report directory: start-up stops with the cause and the fix
for p in "$T/no-such/tsm/report" /sys/kernel/config/nacre-no-such/report; do
	cat >"$T/tsm_none.conf" <<EOF2
listen = ( { address = "tcp:127.0.0.1:1"; } );
upstream = { address = "unix:$T/none.sock"; };
attestation = { provider = "tsm"; tsm = { path = "$p"; }; };
EOF2
	out=$("$NACRED" -c "$T/tsm_none.conf" 2>&1)
	check_eq "tsm path $p missing: nacred exits 69 (EX_UNAVAILABLE)" "$?" 69
	check_has "... the error names the path" "$out" "attestation.tsm.path $p does not exist"
	case $p in
	/sys/*) if [ "$(stat -f -c %T /sys/kernel/config 2>/dev/null)" = configfs ]; then
			want="modprobe"
		else
			want="mount -t configfs none /sys/kernel/config"
		fi ;;
	*) want="set it to the configfs-tsm report directory (/sys/kernel/config/tsm/report)" ;;
	esac
	check_has "... and the fix" "$out" "$want"
	check_eq "... no sanitizer report" "$(san_in "$out")" ""
done
bg_stop tee_app
