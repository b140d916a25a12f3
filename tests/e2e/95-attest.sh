# 95-attest: the certificate a running nacred (sim provider) serves carries
# Nitro evidence in id-pe-cmw; our parser and the independent Python
# verifier both accept it and the binding holds; rotation swaps certificates
# for new handshakes while an old connection keeps streaming; a provider
# that fails at rotation leaves the last good certificate in service; a
# missing NSM device stops start-up with the cause and the fix.

CERTCHECK=${CERTCHECK:-build/tools/certcheck}
PYV="/usr/bin/python3 tests/py/nitro_verify.py"

fpr() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }

upstream att_app "unix:$T/att.sock"
conf_defaults
C_LEVEL=info
port P_AT
C_LISTEN="tcp:127.0.0.1:$P_AT"
C_UP="unix:$T/att.sock"
conf "$T/att.conf"
# rotate fast, keep the sim root where the test can reach it
sed -i 's|^attestation = .*|attestation = { provider = "sim"; rotate = "3s"; sim = { root = "'"$T"'/simroot/root.pem"; }; };|' "$T/att.conf"
if nacred att "$T/att.conf" "$P_AT"; then
	# clients get the root's certificate file, never its key file
	ROOT="$T/simroot/root.crt"
	check "the sim wrote its root certificate beside the key file" \
		test -f "$ROOT" -a "$(stat -c %a "$ROOT" 2>/dev/null)" = 644
	check_lacks "... holding no private key" "$(cat "$ROOT")" "PRIVATE KEY"
	cert_of "$P_AT" "$T/att1.pem"
	text=$(openssl x509 -in "$T/att1.pem" -noout -text 2>&1)
	check_has "openssl x509 -text shows the id-pe-cmw extension" "$text" "1.3.6.1.5.5.7.1.35"
	check_lacks "the evidence extension is not critical" "$text" "1.3.6.1.5.5.7.1.35: critical"
	check_has "the certificate names the configured SAN" "$text" "DNS:localhost"

	# the root fingerprint nacred logs is the SHA-256 of the root's DER
	want=$(openssl x509 -in "$ROOT" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
	check_has "nacred logs the sim root's SHA-256 for pinning" "$(nlog att)" "sim root sha256:$want"
	check_has "nacred warns that sim evidence is simulated" "$(nlog att)" "SIMULATED"

	out=$("$CERTCHECK" "$T/att1.pem" "$ROOT" 2>&1)
	check_has "our parser: chain to the sim root verifies" "$out" "chain=ok"
	check_has "our parser: COSE ES384 signature verifies" "$out" "signature=ok"
	check_has "our parser: binding, document public_key == certificate SPKI" "$out" "binding=ok"
	cfg_sha=$(sha256sum <"$T/att.conf" | cut -d' ' -f1)
	check_has "claims carry the SHA-256 of the configuration" "$out" "claims_config_sha256=$cfg_sha"
	exe_sha=$(sha384sum <"$NACRED" | cut -d' ' -f1)
	check_has "sim PCR0 is the SHA-384 of the nacred binary" "$out" "pcr0=$exe_sha"

	pyout=$($PYV --cert "$T/att1.pem" --root "$ROOT" 2>&1)
	check "second implementation (Python, cbor2 + cryptography) verifies the served certificate" \
		test $? -eq 0
	check_has "second implementation confirms the binding" "$pyout" '"binding": "public_key == certificate SPKI"'

	# a certificate whose extension was taken from another key's certificate
	# fails the binding in both implementations
	forge_cert "$T/att1.pem" "$T/forged.pem"
	out=$("$CERTCHECK" "$T/forged.pem" "$ROOT" 2>&1)
	check_has "our parser: evidence moved to another key's certificate fails the binding" "$out" "binding=fail"
	$PYV --cert "$T/forged.pem" --root "$ROOT" >/dev/null 2>&1
	check "second implementation also rejects the moved evidence" test $? -ne 0

	# rotation: a slow download started before a rotation finishes intact
	# while new handshakes see the new certificate
	bg att_slow curl -sk --max-time 60 --limit-rate 4M -o "$T/slow.bin" \
		--resolve "localhost:$P_AT:127.0.0.1" "https://localhost:$P_AT/bytes/33554432"
	sleep 1
	cert_of "$P_AT" "$T/att_a.pem"
	wait_for "$T/att.err" "generation 3:" 10
	cert_of "$P_AT" "$T/att_b.pem"
	a=$(fpr "$T/att_a.pem")
	b=$(fpr "$T/att_b.pem")
	if [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; then
		ok "after a rotation new handshakes get a new certificate"
	else
		notok "after a rotation new handshakes get a new certificate" "before $a, after $b"
	fi
	out=$("$CERTCHECK" "$T/att_b.pem" "$ROOT" 2>&1)
	check_has "the rotated certificate carries fresh, bound evidence" "$out" "binding=ok"
	check_eq "the download that began before the rotation completes" "$(bg_wait att_slow 30)" 0
	want=$("$UPSTREAM" --pattern 33554432 | sha256sum | cut -d' ' -f1)
	check_eq "... and its bytes are intact (sha256)" "$(sha256sum <"$T/slow.bin" | cut -d' ' -f1)" "$want"
	na=$(openssl x509 -in "$T/att_b.pem" -noout -enddate | cut -d= -f2)
	nb=$(openssl x509 -in "$T/att_b.pem" -noout -startdate | cut -d= -f2)
	life=$(( $(date -d "$na" +%s) - $(date -d "$nb" +%s) ))
	check_range "certificate validity covers the rotation period plus a grace (s)" "$life" 900 1500

	# a provider that fails at rotation: the sim refuses to sign once its
	# root file is gone; the last good certificate stays in service
	mv "$ROOT" "$ROOT.away"
	wait_for "$T/att.err" "rotation failed" 10
	check_has "a failed rotation is logged as an error" "$(nlog att)" "rotation failed"
	cert_of "$P_AT" "$T/att_c.pem"
	# wait for a retry to fail as well, then look again
	i=0
	while [ "$(grep -c "rotation failed" "$T/att.err")" -lt 2 ] && [ $i -lt 200 ]; do
		sleep 0.05; i=$((i + 1))
	done
	cert_of "$P_AT" "$T/att_d.pem"
	c=$(fpr "$T/att_c.pem")
	d=$(fpr "$T/att_d.pem")
	if [ -n "$c" ] && [ "$c" = "$d" ]; then
		ok "while rotation fails, the last good certificate stays in service"
	else
		notok "while rotation fails, the last good certificate stays in service" "$c vs $d"
	fi
	check_eq "requests are still served while rotation fails" "$(https "$P_AT" /)" "hello from the enclave app"
	nfail=$(grep -c "rotation failed" "$T/att.err")
	mv "$ROOT.away" "$ROOT"
	n0=$(grep -c "rotated key and certificate" "$T/att.err")
	i=0
	while [ "$(grep -c "rotated key and certificate" "$T/att.err")" -le "$n0" ] && [ $i -lt 200 ]; do
		sleep 0.05; i=$((i + 1))
	done
	check "after the provider recovers, rotation resumes" test $i -lt 200
	check_has "each failed attempt is logged with its retry delay" "$(grep "rotation failed" "$T/att.err" | tail -n 1)" "retrying in"
	check "the failed attempts were retried ($nfail logged)" test "$nfail" -ge 1
	nacred_stop att
fi
bg_stop att_app

# no NSM device: start-up stops with the cause and the fix
cat >"$T/nsm.conf" <<EOF2
listen = ( { address = "tcp:127.0.0.1:1"; } );
upstream = { address = "unix:$T/none.sock"; };
attestation = { provider = "nitro"; nitro = { device = "$T/no-such-nsm"; }; };
EOF2
out=$("$NACRED" -c "$T/nsm.conf" 2>&1)
rc=$?
check_eq "without an NSM device nacred exits 69 (EX_UNAVAILABLE)" "$rc" 69
check_has "the start-up error names the device" "$out" "$T/no-such-nsm"
check_has "the start-up error names the fix" "$out" 'provider = "sim"'
check_eq "no sanitizer report" "$(san_in "$out")" ""
