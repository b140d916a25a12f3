# 59-enclave-image: the enclave image's file tree (deploy/nitro), as far as
# it can run here without nitro-cli: built twice, byte-identical; nothing
# in it but nacre-init, nacred, the application, their libraries and the
# configuration (no shell); and run as the enclave would run it: in a new
# network namespace whose lo is down, chrooted, from its own entry point,
# with the sim provider standing in for the NSM.

EI_INIT=build/enclave/nacre-init
if [ ! -x "$EI_INIT" ] || [ ! -x build/nacred ]; then
	notok "enclave image: nacre-init and nacred are built" "make $EI_INIT build/nacred"
elif ! command -v unshare >/dev/null 2>&1; then
	notok "enclave image: unshare is installed" "util-linux"
else
	SOURCE_DATE_EPOCH=1767225600 sh deploy/nitro/mkrootfs.sh "$T/ei1" build/tools/upstream >/dev/null 2>"$T/ei1.err"
	sleep 1
	SOURCE_DATE_EPOCH=1767225600 sh deploy/nitro/mkrootfs.sh "$T/ei2" build/tools/upstream >/dev/null 2>"$T/ei2.err"
	check "enclave image: the file tree is built" test -s "$T/ei1/rootfs.tar"
	check_eq "enclave image: built twice, a second apart: the same tar, byte for byte" \
		"$(cat "$T/ei1/rootfs.tar.sha256")" "$(cat "$T/ei2/rootfs.tar.sha256")"
	R="$T/ei1/rootfs"
	shells=$(find "$R" \( -name sh -o -name bash -o -name dash -o -name busybox \
		-o -name 'ls' -o -name 'apt*' \) 2>/dev/null)
	check_eq "enclave image: no shell, no tools (sh, bash, busybox, ls, apt)" "$shells" ""
	top=$(cd "$R" && ls -A | tr '\n' ' ')
	check_eq "enclave image: only what it needs at the top level" "$top" \
		"app dev etc lib lib64 nacre-init proc run tmp usr var "
	check "enclave image: nacred's configuration is the enclave's (nitro, vsock)" \
		grep -q 'provider = "nitro"' "$R/etc/nacre/nacred.conf"
	out=$("$NACRED" -t -c "$R/etc/nacre/nacred.conf" 2>&1)
	check_has "enclave image: its nacred.conf passes nacred -t" "$out" "configuration ok"
	out=$("$(dirname "$NACRED")/nacre" forward -t --config deploy/nitro/forward.conf 2>&1)
	check_has "enclave image: the parent's forward.conf passes nacre forward -t" "$out" "configuration ok"
	check_eq "enclave image: its nacred is the reproducible build's" \
		"$(sha256sum <"$R/usr/sbin/nacred")" "$(sha256sum <build/nacred)"
	# run it: the sim instead of the NSM, a TCP listener inside the namespace
	port EI_P
	cat >"$R/etc/nacre/nacred.conf" <<EOF
listen = ( { address = "tcp:127.0.0.1:$EI_P"; } );
upstream = { address = "tcp:127.0.0.1:8080"; proxy_protocol = "v2"; };
tls = { names = [ "localhost" ]; };
attestation = { provider = "sim"; sim = { root = "/var/lib/nacre/sim-root.pem"; }; };
EOF
	out=$(unshare -n -m sh tests/e2e/enclave-netns.sh "$R" \
		"$(dirname "$NACRED")/nacre" "$EI_P" 2>&1)
	printf '%s\n' "$out" | grep -E '^(ok|not ok) - ' | while read -r line; do
		echo "$line"
	done
	n=$(printf '%s\n' "$out" | grep -c '^ok - ')
	PASS=$((PASS + n))
	nf=$(printf '%s\n' "$out" | grep -c '^not ok - ')
	FAIL=$((FAIL + nf))
	if [ "$n" -lt 7 ] && [ "$nf" -eq 0 ]; then
		notok "enclave image: the namespace run reported every check" "$(printf '%s' "$out" | tail -n 5 | tr '\n' ' ')"
	fi
	[ "$nf" -gt 0 ] && sed 's/^/#   /' "$R.err" | tail -n 15
fi
