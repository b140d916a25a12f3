# 70-attest: the sim root removed while rotation runs every second: rotation
# fails with the reason logged and the last good certificate stays in
# service. A sim root nacred may not read (nacred as user nobody, the file
# chmod 000): at rotation and at start the error says "Permission denied",
# not that the root is gone.

# served_sha PORT: SHA-256 of the DER of the certificate a handshake gets,
# lower-case hex as nacred logs it
served_sha() {
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername localhost \
		2>/dev/null | openssl x509 -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}
last_logged_sha() { # NAME
	sed -n 's/.*generation [0-9]*: certificate sha256:\([0-9a-f]*\).*/\1/p' "$T/$1.err" | tail -n 1
}

upstream at_app "unix:$T/at.sock"
conf_defaults
C_LEVEL=info
port P_AT
C_LISTEN="tcp:127.0.0.1:$P_AT"
C_UP="unix:$T/at.sock"
conf "$T/at.conf"
mkdir -p "$T/atroot"
sed -i 's|^attestation = .*|attestation = { provider = "sim"; rotate = "1s"; sim = { root = "'"$T"'/atroot/root.pem"; }; };|' "$T/at.conf"
if nacred at "$T/at.conf" "$P_AT"; then
	check "rotate = 1s: a rotation happens" wait_for "$T/at.err" 'rotated key and certificate' 5
	rm -f "$T/atroot/root.pem"
	if wait_for "$T/at.err" 'rotation failed' 5; then
		l=$(grep 'rotation failed' "$T/at.err" | head -n 1)
		echo "#   $l"
		check_has "root removed: the failed rotation says why" "$l" "sim root $T/atroot/root.pem is gone"
		good=$(last_logged_sha at)
		a=$(served_sha "$P_AT")
		n=$(grep -c 'rotation failed' "$T/at.err")
		count_wait at 'rotation failed' $((n + 1)) 6
		b=$(served_sha "$P_AT")
		check_eq "root removed: the last good certificate is served" "$a" "$good"
		check_eq "root removed: ... and still after another failed attempt" "$b" "$good"
		check_has "root removed: retried with a delay" "$(grep 'rotation failed' "$T/at.err" | tail -n 1)" "retrying in"
		check_lacks "root removed: no rotation succeeded since" \
			"$(sed -n '/rotation failed/,$p' "$T/at.err")" "rotated key and certificate"
	else
		notok "root removed: rotation fails" "no 'rotation failed' in 5 s"
	fi
	serves at "$P_AT"
	nacred_stop at
fi
bg_stop at_app

# --- a sim root nacred cannot read: nacred runs as nobody (root reads any
# file), its root in a directory of nobody's
port P_UA
upstream ur_app "tcp:127.0.0.1:$P_UA"  # nobody cannot connect to root's unix socket
chmod 711 "$T"
mkdir -p "$T/ur"
chown nobody:nogroup "$T/ur"
conf_defaults
C_LEVEL=info
port P_UR
C_LISTEN="tcp:127.0.0.1:$P_UR"
C_UP="tcp:127.0.0.1:$P_UA"
conf "$T/ur/ur.conf"
sed -i 's|^attestation = .*|attestation = { provider = "sim"; rotate = "1s"; sim = { root = "'"$T"'/ur/root.pem"; }; };|' "$T/ur/ur.conf"
chmod 644 "$T/ur/ur.conf"
NACRED_REAL=$NACRED
printf '#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups "%s" "$@"\n' \
	"$(cd "$(dirname "$NACRED_REAL")" && pwd)/$(basename "$NACRED_REAL")" >"$T/nacred-nobody"
chmod 755 "$T/nacred-nobody"
NACRED="$T/nacred-nobody"
if nacred ur "$T/ur/ur.conf" "$P_UR"; then
	NACRED=$NACRED_REAL
	check_eq "as nobody: nacred runs as user nobody" \
		"$(ps -o user= -p "$(bg_pid ur)" | tr -d ' ')" nobody
	wait_for "$T/ur.err" 'rotated key and certificate' 5
	chmod 000 "$T/ur/root.pem"
	if wait_for "$T/ur.err" 'rotation failed' 5; then
		l=$(grep 'rotation failed' "$T/ur.err" | head -n 1)
		echo "#   $l"
		check_has "unreadable root at rotation: the error says permission denied" "$l" "Permission denied"
		check_lacks "unreadable root at rotation: ... not 'gone'" "$l" "gone"
	else
		notok "unreadable root at rotation: rotation fails" "no 'rotation failed' in 5 s"
	fi
	serves ur "$P_UR"
	nacred_stop ur
	out=$(timeout 20 "$T/nacred-nobody" -c "$T/ur/ur.conf" 2>&1)
	rc=$?
	echo "$out" | tail -n 3 | sed 's/^/#   /'
	check "unreadable root at start: nacred does not start (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	check_has "unreadable root at start: the error says permission denied" "$out" "Permission denied"
	check_lacks "unreadable root at start: ... not 'gone'" "$out" "gone"
	check_eq "unreadable root at start: no sanitizer report" "$(san_in "$out")" ""
fi
NACRED=$NACRED_REAL
chmod 700 "$T"
bg_stop ur_app
