# 63-tee-python: the certificates a running nacred serves with simulated
# Intel TDX and AMD SEV-SNP hardware (attestation.sim.platform "tdx" /
# "snp") verify with the independent Python verifier
# (tests/py/tee_verify.py, written from Intel's quote format, AMD's SNP ABI
# and docs/evidence-format.md 9, not from libnacre): CMW, envelope, claims,
# the quote or report and its chain to the sim's root (sim-tdx/sgx-root.crt,
# sim-snp/ark.crt beside the sim root), the TDX collateral the sim writes,
# REPORTDATA = the binding of the certificate's key and the claims, MRTD /
# MEASUREMENT = SHA-384 of the nacred binary. Evidence moved to another
# key's certificate fails the binding; another root is refused; fresh
# evidence (nacre verify --fresh) carries "hs" = this handshake's binding.

T63_PY="/usr/bin/python3 tests/py/tee_verify.py"
T63_EXE_SHA=$(sha384sum <"$NACRED" | cut -d' ' -f1)
T63_CLI=${NACRE_CLI:-$(dirname "$NACRED")/nacre}
# AMD's real Milan ARK: the second certificate of the vector file
awk '/BEGIN CERT/ { n++ } n == 2' tests/vectors/snp/ask_ark_milan.pem >"$T/t63_amd_ark.pem"

for t63 in tdx snp; do
	upstream "t63_${t63}_app" "unix:$T/t63_$t63.sock"
	conf_defaults
	C_LEVEL=info
	port P_T63
	C_LISTEN="tcp:127.0.0.1:$P_T63"
	C_UP="unix:$T/t63_$t63.sock"
	conf "$T/t63_$t63.conf"
	mkdir -p "$T/t63sim_$t63"
	sed -i 's|^attestation = .*|attestation = { provider = "sim"; sim = { platform = "'"$t63"'"; root = "'"$T"'/t63sim_'"$t63"'/root.pem"; }; };|' "$T/t63_$t63.conf"
	if nacred "t63_$t63" "$T/t63_$t63.conf" "$P_T63"; then
		t63_dir="$T/t63sim_$t63/sim-$t63"
		if [ "$t63" = tdx ]; then
			t63_root="$t63_dir/sgx-root.crt"
			t63_opt="--mrtd"
			t63_field=mrtd
			t63_coll="--collateral $t63_dir"
		else
			t63_root="$t63_dir/ark.crt"
			t63_opt="--measurement"
			t63_field=measurement
			t63_coll=""
		fi
		check "$t63: the sim wrote the root a client names (sim-$t63/$(basename "$t63_root"))" test -s "$t63_root"
		check_lacks "$t63: ... holding no private key" "$(cat "$t63_root" 2>/dev/null)" "PRIVATE KEY"
		cert_of "$P_T63" "$T/t63_$t63.pem"
		t63_out=$($T63_PY cert "$T/t63_$t63.pem" --root "$t63_root" $t63_coll "$t63_opt" "$T63_EXE_SHA" 2>&1)
		t63_rc=$?
		check_eq "$t63: the Python verifier accepts the served certificate (exit status; $(printf '%s' "$t63_out" | head -c 120))" "$t63_rc" 0
		check_has "$t63: ... platform $t63" "$t63_out" "\"platform\": \"$t63\""
		check_has "$t63: ... REPORTDATA binds the certificate's key and the claims" "$t63_out" '"binding": "REPORTDATA == SHA-512'
		check_has "$t63: ... $t63_field is the SHA-384 of the nacred binary" "$t63_out" "\"$t63_field\": \"$T63_EXE_SHA\""
		check_has "$t63: ... the claims carry the configuration's SHA-256" "$t63_out" \
			"\"cfg\": \"$(sha256sum <"$T/t63_$t63.conf" | cut -d' ' -f1)\""
		t63_iat=$(printf '%s' "$t63_out" | sed -n 's/.*"iat": \([0-9]*\).*/\1/p')
		check_range "$t63: ... \"iat\" is the guest's clock at signing (age in s)" \
			"$(( $(date +%s) - ${t63_iat:-0} / 1000 ))" -5 60
		check_has "$t63: ... not a debug guest" "$t63_out" '"debug": false'
		if [ "$t63" = tdx ]; then
			check_has "tdx: ... a version 4 quote" "$t63_out" '"quote_version": 4'
			check_has "tdx: ... the sim's collateral (CRLs, TCB Info, QE Identity) rates the TCB UpToDate" \
				"$t63_out" '"status": "UpToDate"'
		else
			check_has "snp: ... the VCEK, ASK and ARK travel in envelope key 3" "$t63_out" '"envelope_certs": 3'
			check_has "snp: ... a version 3 report" "$t63_out" '"report_version": 3'
			# a verifier without key 3 would take the sim's published VCEK
			# and chain: they are the ones in the evidence
			check_has "snp: ... the sim's vcek.der and cert_chain.pem are the envelope's VCEK and ASK" \
				"$($T63_PY cert "$T/t63_$t63.pem" --root "$t63_root" --vcek "$t63_dir/vcek.der" \
				--chain "$t63_dir/cert_chain.pem" 2>&1)" '"valid": true'
		fi
		forge_cert "$T/t63_$t63.pem" "$T/t63_${t63}_forged.pem"
		t63_out=$($T63_PY cert "$T/t63_${t63}_forged.pem" --root "$t63_root" 2>&1)
		check_has "$t63: evidence moved to another key's certificate fails the binding" "$t63_out" "FAIL binding:"
		t63_out=$($T63_PY cert "$T/t63_$t63.pem" --root "$t63_root" "$t63_opt" "$(printf '%096d' 0)" 2>&1)
		check_has "$t63: another expected $t63_field is refused" "$t63_out" "FAIL $t63_field:"
		if [ "$t63" = tdx ]; then
			t63_out=$($T63_PY cert "$T/t63_$t63.pem" --root tests/vectors/tdx/collateral/intel_sgx_root_ca.pem 2>&1)
			check_has "tdx: the real Intel SGX Root CA does not vouch for the sim's PCK chain" "$t63_out" "FAIL untrusted-root:"
		else
			t63_out=$($T63_PY cert "$T/t63_$t63.pem" --root "$T/t63_amd_ark.pem" 2>&1)
			check_has "snp: AMD's real Milan ARK is not the sim's ARK" "$t63_out" "FAIL untrusted-root:"
		fi

		# fresh evidence: libnacre's client asks and writes what it saw of
		# the handshake; the Python verifier recomputes "hs" from that alone
		if [ -x "$T63_CLI" ]; then
			if [ "$t63" = tdx ]; then
				printf 'tdx = { roots = [ "%s" ]; collateral = "%s"; mrtd = [ "%s" ]; };\n' \
					"$t63_root" "$t63_dir" "$T63_EXE_SHA" >"$T/t63_$t63.pol"
			else
				printf 'snp = { roots = [ "%s" ]; measurement = [ "%s" ]; };\n' \
					"$t63_root" "$T63_EXE_SHA" >"$T/t63_$t63.pol"
			fi
			t63_out=$(timeout 30 "$T63_CLI" verify "127.0.0.1:$P_T63" --sni localhost \
				--policy "$T/t63_$t63.pol" --fresh --session "$T/t63_${t63}_session.json" 2>&1)
			t63_rc=$?
			check_eq "$t63: nacre verify --fresh gets fresh evidence ($(printf '%s' "$t63_out" | tail -n 1 | head -c 100))" "$t63_rc" 0
			/usr/bin/python3 -c 'import json, sys
open(sys.argv[2], "wb").write(bytes.fromhex(json.load(open(sys.argv[1]))["certificate"]))' \
				"$T/t63_${t63}_session.json" "$T/t63_${t63}_fresh.der" 2>/dev/null
			t63_out=$($T63_PY cert "$T/t63_${t63}_fresh.der" --root "$t63_root" $t63_coll \
				"$t63_opt" "$T63_EXE_SHA" --fresh "$T/t63_${t63}_session.json" 2>&1)
			t63_rc=$?
			check_eq "$t63: the Python verifier accepts the fresh evidence from the handshake values alone ($(printf '%s' "$t63_out" | head -c 120))" "$t63_rc" 0
			check_has "$t63: ... \"hs\" is this handshake's binding" "$t63_out" '"session_binding": "'
			t63_hs=$(printf '%s' "$t63_out" | sed -n 's/.*"session_binding": "\([0-9a-f]*\)".*/\1/p')
			t63_out=$($T63_PY cert "$T/t63_${t63}_fresh.der" --root "$t63_root" $t63_coll \
				--nonce-hs "$(printf '%064d' 0)" --fresh "$T/t63_${t63}_session.json" 2>&1)
			check_has "$t63: ... and another expected \"hs\" is refused" "$t63_out" "FAIL hs:"
			t63_out=$($T63_PY cert "$T/t63_$t63.pem" --root "$t63_root" $t63_coll --nonce-hs "${t63_hs:-00}" 2>&1)
			check_has "$t63: the certificate's own evidence has no \"hs\"" "$t63_out" "FAIL hs:"
		else
			notok "$t63: nacre CLI present for the fresh-evidence checks" "missing $T63_CLI"
		fi
		nacred_stop "t63_$t63"
	fi
	bg_stop "t63_${t63}_app"
done
