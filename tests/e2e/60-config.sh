# 60-config: nacred -t on good and bad files: exit 0, or exit 78 with
# "FILE:LINE: problem" naming where the problem is.

conf_defaults
C_LISTEN="tcp:127.0.0.1:1"
C_UP="unix:$T/none.sock"
conf "$T/good.conf"
out=$("$NACRED" -t -c "$T/good.conf" 2>&1)
rc=$?
SAN_ALL=$(san_in "$out")
check_eq "nacred -t: good config exits 0" "$rc" 0
check_has "nacred -t: good config says so" "$out" "ok"

# bad_config NAME LINE NEEDLE: $T/bad.conf must fail with FILE:LINE and NEEDLE
bad_config() {
	out=$("$NACRED" -t -c "$T/bad.conf" 2>&1)
	rc=$?
	SAN_ALL="$SAN_ALL$(san_in "$out")"
	if [ $rc -ne 78 ]; then
		notok "nacred -t: $1 exits 78" "exit $rc: $out"
		return
	fi
	case $out in
	*"$T/bad.conf:$2:"*"$3"*) ok "nacred -t: $1 exits 78 naming line $2 ($3)" ;;
	*) notok "nacred -t: $1 names $T/bad.conf:$2: and '$3'" "got: $out" ;;
	esac
}

# each setting on its own line so the line number is unambiguous
bad_lines() { # LINE-3-TEXT: a good file whose third line is replaced
	cat >"$T/bad.conf" <<EOF
listen = ( { address = "tcp:127.0.0.1:1"; } );
upstream = { address = "unix:$T/none.sock"; };
$1
EOF
}

bad_lines 'workers = ;'
bad_config "syntax error" 3 ""
bad_lines 'limits = { handshake_timeout = "2 parsecs"; };'
bad_config "bad duration" 3 "handshake_timeout"
bad_lines 'limits = { buffer = "lots"; };'
bad_config "bad size" 3 "buffer"
bad_lines 'tls = { min_version = "SSLv3"; };'
bad_config "bad TLS version" 3 "min_version"
bad_lines 'tls = { key = "rsa-512"; };'
bad_config "unknown key type" 3 "key"
bad_lines 'listn = ( );'
bad_config "misspelt setting" 3 "listn"
cat >"$T/bad.conf" <<EOF
listen = ( { address = "tcp:127.0.0.1"; } );
upstream = { address = "unix:$T/none.sock"; };
EOF
bad_config "listen address without a port" 1 "tcp:127.0.0.1"
cat >"$T/bad.conf" <<EOF
listen = ( { address = "tcp:127.0.0.1:1"; } );
upstream = {
  address = "tcp:192.0.2.10:80";
};
EOF
bad_config "upstream that is not local (plaintext off the TEE)" 3 "192.0.2.10"
cat >"$T/bad.conf" <<EOF
listen = ( { address = "tcp:127.0.0.1:1"; } );
upstream = {
  address = "unix:$T/none.sock";
  proxy_protocol = "v3";
};
EOF
bad_config "bad upstream proxy_protocol" 4 "proxy_protocol"
cat >"$T/bad.conf" <<EOF
upstream = { address = "unix:$T/none.sock"; };
EOF
out=$("$NACRED" -t -c "$T/bad.conf" 2>&1)
rc=$?
SAN_ALL="$SAN_ALL$(san_in "$out")"
check_eq "nacred -t: no listen setting exits 78" "$rc" 78
check_has "nacred -t: no listen setting is named" "$out" "listen"

out=$("$NACRED" -t -c "$T/does-not-exist.conf" 2>&1)
rc=$?
SAN_ALL="$SAN_ALL$(san_in "$out")"
check_eq "nacred -t: missing file exits 78" "$rc" 78
check_has "nacred -t: missing file is named" "$out" "$T/does-not-exist.conf"

# the daemon itself refuses a bad file the same way, without starting
bad_lines 'workers = ;'
out=$(timeout 10 "$NACRED" -c "$T/bad.conf" 2>&1)
rc=$?
SAN_ALL="$SAN_ALL$(san_in "$out")"
check_eq "nacred -c bad.conf exits 78 without starting" "$rc" 78
check_lacks "nacred -c bad.conf: nothing listens" "$out" "listening on"
out=$("$NACRED" -x 2>&1)
rc=$?
check_eq "unknown option: exit 64" "$rc" 64
check_has "unknown option: usage is printed" "$out" "usage: nacred"
SAN_ALL="$SAN_ALL$(san_in "$out")"
out=$("$NACRED" --help 2>&1)
rc=$?
check_eq "nacred --help: exit 0" "$rc" 0
check_has "nacred --help: the usage, with the manuals" "$out" "nacred(8), nacred.conf(5); clients verify with nacre(1)"
out=$("$NACRED" --chek 2>&1)
rc=$?
check_eq "nacred --chek (a typo): exit 64" "$rc" 64
check_has "nacred --chek: names the option" "$out" "unknown option --chek"
# a duplicate key is named; -t reports every error of the file, a line each
printf 'listen = ( { address = "tcp:127.0.0.1:1"; } );\nworkers = 1;\nworkers = 2;\n' >"$T/dup.conf"
out=$("$NACRED" -t -c "$T/dup.conf" 2>&1)
check_has "nacred -t: a duplicate key is named" "$out" "$T/dup.conf:3: \"workers\" is set twice in the same group"
printf '%s\n' 'listen = ( { address = "tcp:127.0.0.1:1"; } );' \
	'upstream = { address = "tcp:10.0.0.1:80"; };' 'tls = { key = "rsa"; };' \
	'log = { level = "loud"; };' >"$T/multi.conf"
out=$("$NACRED" -t -c "$T/multi.conf" 2>&1)
rc=$?
SAN_ALL="$SAN_ALL$(san_in "$out")"
check_eq "nacred -t, three errors: exit 78" "$rc" 78
check_has "nacred -t: the first error" "$out" "$T/multi.conf:2: upstream.address"
check_has "nacred -t: ... the second" "$out" "$T/multi.conf:3: tls.key = \"rsa\" is unknown"
check_has "nacred -t: ... the third" "$out" "$T/multi.conf:4: log.level = \"loud\" is unknown"
check_has "nacred -t: ... and the count" "$out" "$T/multi.conf: 3 errors"
check_eq "nacred -t runs: no sanitizer report" "$SAN_ALL" ""
