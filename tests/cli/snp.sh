# tests/cli/snp.sh, sourced by tests/cli/run.sh (run, expect, $T): nacre
# inspect on AMD SEV-SNP reports, the real vendor vectors of
# tests/vectors/snp (README.md there: provenance, expected values). Times
# are inside the certificates' validity (2023-11-14).
V=tests/vectors/snp
SNP_AT="--at 1700000000"
VM=7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f
run inspect "$V/virtee_report_milan.hex"
expect "nacre inspect: an SNP report (hex) is recognised and shown" 0 "AMD SEV-SNP attestation report (version 2)"
expect "nacre inspect SNP: the measurement" 0 "$VM"
run inspect "$V/virtee_report_milan.hex" --snp-vcek "$V/virtee_vcek_milan.der" \
	--snp-chain "$V/ask_ark_milan.pem" --snp-measurement "$VM" $SNP_AT
expect "nacre inspect SNP: verified offline (Milan chain, TCB, signature, measurement)" 0 \
	"verification: ok (AMD Milan chain"
run inspect "$V/virtee_report_milan.hex" --snp-vcek "$V/virtee_vcek_milan.der" \
	--snp-chain "$V/ask_ark_milan.pem" --snp-measurement "$(printf '%096d' 0)" $SNP_AT
expect "nacre inspect SNP: another measurement: exit 1, the field named" 1 "snp-measurement"
run inspect "$V/virtee_report_milan.hex" --snp-vcek "$V/gosevguest_vcek_milan.der" \
	--snp-chain "$V/ask_ark_milan.pem" --snp-measurement "$VM" $SNP_AT
expect "nacre inspect SNP: another chip's VCEK: exit 1, the TCB named" 1 "snp-tcb-mismatch"
run inspect "$V/gosevguest_report_milan.bin" --snp-vcek "$V/gosevguest_vcek_milan.der" \
	--snp-chain "$V/ask_ark_milan.pem" $SNP_AT
expect "nacre inspect SNP: a debug guest is refused by default" 1 "snp-debug"
run inspect "$V/gosevguest_report_milan.bin" --snp-vcek "$V/gosevguest_vcek_milan.der" \
	--snp-chain "$V/ask_ark_milan.pem" --allow-debug $SNP_AT
expect "nacre inspect SNP: ... and accepted with --allow-debug, warned without a measurement" 0 \
	"no --snp-measurement given"
od -An -tx1 -v "$V/gosevguest_report_milan.bin" | tr -d ' \n' >"$T/snp.hex"
# flip one byte of the signed body (offset 21, as virtee's test does)
/usr/bin/python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[21] ^= 1; open(sys.argv[2], "wb").write(b)' \
	"$V/gosevguest_report_milan.bin" "$T/snp-flip.bin"
run inspect "$T/snp-flip.bin" --snp-vcek "$V/gosevguest_vcek_milan.der" \
	--snp-chain "$V/ask_ark_milan.pem" --allow-debug $SNP_AT
expect "nacre inspect SNP: one byte of the body flipped: exit 1, the signature" 1 "snp-report-signature"
run inspect "$V/virtee_report_milan.hex" --snp-vcek "$V/virtee_vcek_milan.der"
expect "nacre inspect SNP: --snp-vcek without --snp-chain: exit 2" 2 "--snp-chain"
run inspect "$V/virtee_report_milan.hex" --snp-measurement abc
expect "nacre inspect SNP: a bad --snp-measurement: exit 2" 2 "96 hex digits"
