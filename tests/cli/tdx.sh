# tests/cli/tdx.sh, sourced by tests/cli/run.sh (run, expect, $T): nacre
# inspect on Intel TDX quotes, the real vendor vectors of tests/vectors/tdx
# (README.md there). 1688173200 (2023-07-01) is inside the v4 quote's PCK
# chain validity.
V=tests/vectors/tdx
TDX_AT="--at 1688173200"
MRTD=6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb
run inspect "$V/quote_v4_tdx_prod_SPR_E4.dat" $TDX_AT --tdx-mrtd "$MRTD"
expect "nacre inspect: a TDX v4 quote is recognised and shown" 0 "Intel TDX quote (version 4, TD 1.0 body)"
expect "nacre inspect TDX: quote, QE report and PCK chain to the Intel root verify" 0 \
	"verification: ok (quote and PCK chain only"
run inspect "$V/quote_v4_tdx_prod_SPR_E4.dat" $TDX_AT --tdx-mrtd "$(printf '%096d' 0)"
expect "nacre inspect TDX: another MRTD: exit 1, named" 1 "mrtd-mismatch"
/usr/bin/python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[48 + 136] ^= 1; open(sys.argv[2], "wb").write(b)' \
	"$V/quote_v4_tdx_prod_SPR_E4.dat" "$T/tdx-flip.dat"
run inspect "$T/tdx-flip.dat" $TDX_AT --tdx-mrtd "$MRTD"
expect "nacre inspect TDX: one TD body byte flipped: exit 1, the quote signature" 1 "signature"
run inspect "$V/quote_v5_sample.dat" --at 1770080400
expect "nacre inspect: a TDX v5 quote is recognised" 0 "Intel TDX quote (version 5"
mkdir -p "$T/tdx-empty"
run inspect "$V/quote_v4_tdx_prod_SPR_E4.dat" $TDX_AT --tdx-collateral "$T/tdx-empty"
expect "nacre inspect TDX: an incomplete collateral directory: exit 2, what is missing" 2 \
	"holds no complete TDX collateral"
