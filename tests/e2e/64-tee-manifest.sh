# 64-tee-manifest: one policy for several platforms. Three nacreds run
# from the same binary on the simulated Nitro, TDX and SNP hardware; a
# policy describes Nitro and TDX, and a release manifest lists the
# release's measurement on each (Nitro PCR0 and TDX MRTD: the SHA-384 of
# nacred). nacre verify accepts the Nitro and the TDX nacred with that one
# policy and says which platform answered and which release matched; it
# refuses the SNP nacred (a platform the policy does not describe); and
# with a manifest whose TDX measurement is another release's, it still
# accepts Nitro and refuses TDX naming the field.

NACRE_CLI=${NACRE_CLI:-$(dirname "$NACRED")/nacre}
MF_SHA=$(sha384sum <"$NACRED" | cut -d' ' -f1)

mf_verify() { # PORT POLICY
	out=$(timeout 30 "$NACRE_CLI" verify "127.0.0.1:$1" --sni localhost --policy "$2" 2>&1)
	rc=$?
}

if [ ! -x "$NACRE_CLI" ]; then
	notok "nacre CLI present" "missing $NACRE_CLI"
else
upstream mf_app "unix:$T/mf.sock"
conf_defaults
C_UP="unix:$T/mf.sock"
mkdir -p "$T/mf"
started=""
for pl in nitro tdx snp; do
	port P_MF
	eval "P_MF_$pl=\$P_MF"
	C_LISTEN="tcp:127.0.0.1:$P_MF"
	conf "$T/mf_$pl.conf"
	sed -i "s|^attestation = .*|attestation = { provider = \"sim\"; sim = { root = \"$T/mf/sim-root.pem\"; platform = \"$pl\"; }; };|" \
		"$T/mf_$pl.conf"
	nacred "mf_$pl" "$T/mf_$pl.conf" "$P_MF" && started="$started $pl"
done
if [ "$started" = " nitro tdx snp" ]; then
	cat >"$T/mf/release-1.conf" <<EOF
release = "demo-1";
nitro = { pcr0 = "$MF_SHA"; };
tdx = { mrtd = "$MF_SHA"; };
EOF
	cat >"$T/mf/release-0.conf" <<EOF
release = "demo-0";
nitro = { pcr0 = "$MF_SHA"; };
tdx = { mrtd = "$(printf '%096d' 7)"; };
EOF
	for rel in 1 0; do
		cat >"$T/mf/policy-$rel.conf" <<EOF
trust = { roots = [ "$T/mf/sim-root.crt" ]; };
tdx = { roots = [ "$T/mf/sim-tdx/sgx-root.crt" ]; collateral = "$T/mf/sim-tdx"; };
manifests = [ "release-$rel.conf" ];
EOF
	done

	mf_verify "$P_MF_nitro" "$T/mf/policy-1.conf"
	check_eq "a Nitro+TDX policy with release manifest demo-1 accepts the nacred on (sim) Nitro" "$rc" 0
	check_has "... nacre verify says Nitro answered" "$out" "platform: nitro"
	check_has "... and which release matched" "$out" "demo-1"
	mf_verify "$P_MF_tdx" "$T/mf/policy-1.conf"
	check_eq "the same policy accepts the nacred on (sim) TDX" "$rc" 0
	check_has "... nacre verify says TDX answered" "$out" "platform: tdx"
	check_has "... and which release matched" "$out" "demo-1"
	mf_verify "$P_MF_snp" "$T/mf/policy-1.conf"
	check_eq "the same policy refuses the nacred on (sim) SNP, a platform it does not describe" "$rc" 1
	check_has "... naming why" "$out" "platform-not-accepted"

	mf_verify "$P_MF_nitro" "$T/mf/policy-0.conf"
	check_eq "manifest demo-0 (another TDX measurement): Nitro still accepted" "$rc" 0
	mf_verify "$P_MF_tdx" "$T/mf/policy-0.conf"
	check_eq "manifest demo-0: the TDX nacred, whose MRTD is not in the manifest, is refused" "$rc" 1
	check_has "... as a measurement mismatch" "$out" "measurement-mismatch"
	check_has "... naming the field" "$out" "mrtd"
	check_eq "... and no sanitizer report" "$(san_in "$out")" ""
else
	notok "three nacreds on the simulated Nitro, TDX and SNP hardware start" "started:$started"
fi
for pl in nitro tdx snp; do nacred_stop "mf_$pl"; done
bg_stop mf_app
fi
