# 55-logs: log.format = "json", log.access and log.to. Every line is a JSON
# object with a millisecond UTC time, streamed to a collector on a unix
# socket (tests/py/logcheck.py), nothing on stderr; lines logged before the
# collector is up wait for it; one access line per closed connection, with
# the client (from PROXY v2 when present), SNI (a hostile one escaped), TLS
# facts, attestation asked or not, and the right close reason. The collector
# goes away: nacred keeps serving promptly, lines past the queue's bound
# are dropped, and once the collector is back a line says how many. A
# reload back to text and stderr: timestamped text lines, text access lines.

LC="/usr/bin/python3 tests/py/logcheck.py"
LG_CLI=${NACRE_CLI:-$(dirname "$NACRED")/nacre}
LG_REQ='GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
LG_TSRE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z (error|warn|info|debug) '

# lg_collector NAME OUT: a collector on $T/lg.sock appending to OUT
lg_collector() {
	bg "$1" $LC collect "$T/lg.sock" "$2"
	wait_for "$T/$1.out" '^ready' 5
}

# lg_count FILE PATTERN: lines of FILE with PATTERN (grep -F), 0 if none
lg_count() {
	_c=$(grep -cF -- "$2" "$1" 2>/dev/null)
	echo "${_c:-0}"
}

# lg_wait FILE PATTERN COUNT SECONDS: until COUNT lines have PATTERN
lg_wait() {
	_i=0
	_max=$(awk -v s="$4" 'BEGIN { printf "%d", s * 20 }')
	while [ "$(lg_count "$1" "$2")" -lt "$3" ] && [ $_i -lt "$_max" ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	[ "$(lg_count "$1" "$2")" -ge "$3" ]
}

# lg_fact FACTS NAME: the value of "NAME value" in logcheck's output
lg_fact() { printf '%s\n' "$1" | sed -n "s/^$2 //p" | head -n 1; }

# lg_access FACTS NEEDLE...: the access facts lines holding every NEEDLE
lg_access() {
	_a=$(printf '%s\n' "$1" | grep '^access ')
	shift
	for _n in "$@"; do
		_a=$(printf '%s\n' "$_a" | grep -F -- "$_n")
	done
	printf '%s' "$_a"
}

lg_conf() { # FORMAT EXTRA-LOG-KEYS
	cat >"$T/lg.conf" <<EOF
listen = ( { address = "tcp:127.0.0.1:$P_LG"; },
           { address = "tcp:127.0.0.1:$P_LGP"; proxy_protocol = true; } );
upstream = { address = "unix:$T/lg_app.sock"; };
tls = { key = "ec-p256"; alpn = [ "http/1.1" ]; names = [ "localhost" ]; };
limits = { handshake_timeout = "1s"; };
workers = 2;
log = { level = "debug"; format = "$1"; access = true; $2 };
attestation = { provider = "sim"; sim = { root = "$T/sim-root.pem"; }; };
EOF
}

upstream lg_app "unix:$T/lg_app.sock"
port P_LG
port P_LGP
lg_conf json "to = \"unix:$T/lg.sock\";"

# nacred first: until the collector listens, its lines wait in the queue
bg lg "$NACRED" -c "$T/lg.conf"
_i=0
while bg_running lg && ! port_listening "$P_LGP" && [ $_i -lt 200 ]; do
	sleep 0.05
	_i=$((_i + 1))
done
check "nacred starts with log.to pointing at no collector yet" port_listening "$P_LGP"
lg_collector lg_c1 "$T/coll1"
check "the collector gets the start-up lines once it is up" \
	lg_wait "$T/coll1" 'listening on tcp:127.0.0.1:' 2 10

# --- a few connections, each ending its own way
check_eq "a request through nacred (curl, SNI localhost)" \
	"$(https "$P_LG" / | head -c 10)" "hello from"
hostile=$(printf 'evil"\\\n\033[31m')
hostile_hex=$(printf '%s' "$hostile" | od -An -tx1 | tr -d ' \n')
# no -alpn: a handshake that agrees on no ALPN has an access line too
echo | timeout 10 openssl s_client -connect "127.0.0.1:$P_LG" \
	-servername "$hostile" >/dev/null 2>&1
$LC flood 127.0.0.1 "$P_LG" 1 >/dev/null
out=$(tlsclient get --connect "tcp:127.0.0.1:$P_LGP" --proxy-v2-src 203.0.113.7:4242 \
	--alpn http/1.1 --request "$LG_REQ" --timeout 10 2>&1)
check_has "through the PROXY v2 listener: served" "$out" "200 OK"
tlsclient get --connect "tcp:127.0.0.1:$P_LGP" --alpn http/1.1 --timeout 10 >/dev/null 2>&1
tlsclient stall --connect "tcp:127.0.0.1:$P_LG" --timeout 5 >/dev/null 2>&1
n_access=6
if [ -x "$LG_CLI" ]; then
	pcr0=$(sed -n 's/.*sim PCR0 \([0-9a-f]\{96\}\).*/\1/p' "$T/coll1" | head -n 1)
	out=$(timeout 30 "$LG_CLI" verify "127.0.0.1:$P_LG" --sni localhost \
		--root "$T/sim-root.crt" --pcr "0=$pcr0" 2>&1)
	check_has "nacre verify (asks for attestation): verified" "$out" "verified: yes"
	n_access=7
fi
check "$n_access access lines reach the collector" \
	lg_wait "$T/coll1" '"msg":"access"' "$n_access" 10

facts=$($LC check "$T/coll1" "$hostile_hex")
printf '%s\n' "$facts" | grep '^#' | head -n 5
check_range "lines at the collector" "$(lg_fact "$facts" lines)" 20 100000
check_eq "every line parses as JSON (python3 json)" "$(lg_fact "$facts" bad_json)" 0
check_eq "every line has ts with milliseconds, RFC 3339 UTC" "$(lg_fact "$facts" bad_ts)" 0
check_eq "every line has the stable keys in order (ts, level, [conn], msg; access keys)" \
	"$(lg_fact "$facts" bad_keys)" 0
check_eq "every line is printable ASCII" "$(lg_fact "$facts" bad_ascii)" 0
check_eq "one access line per closed connection" "$(lg_fact "$facts" access)" "$n_access"
check_eq "a hostile SNI is logged escaped (quote, backslash, newline, ESC)" \
	"$(lg_fact "$facts" hostile_sni)" yes
a=$(lg_access "$facts" "listener=\"tcp:127.0.0.1:$P_LG\"" 'sni="localhost"' \
	'close="ok"' 'attestation=false' 'client="127.0.0.1:' 'alpn="http/1.1"' \
	'tls_version="TLSv1.3"' 'cipher="TLS_' 'detail=null')
check "curl's access line: client, listener, SNI, ALPN, TLS 1.3, cipher, close ok" [ -n "$a" ]
bin=$(printf '%s' "$a" | head -n 1 | sed -n 's/.* bytes_in=\([0-9]*\) .*/\1/p')
bout=$(printf '%s' "$a" | head -n 1 | sed -n 's/.* bytes_out=\([0-9]*\) .*/\1/p')
check_range "curl's access line: bytes in (its request)" "$bin" 20 10000
check_range "curl's access line: bytes out (the answer)" "$bout" 20 10000
a=$(lg_access "$facts" 'close="handshake"' 'tls_version=null' 'cipher=null' \
	'handshake_ms=null' 'bytes_in=0')
check "plain text to the TLS port: close handshake, no TLS facts" [ -n "$a" ]
check_lacks "the failed handshake says why (detail)" "$a" 'detail=null'
check "PROXY v2: the client address from the header, the PROXY listener" \
	[ -n "$(lg_access "$facts" 'client="203.0.113.7:4242"' \
		"listener=\"tcp:127.0.0.1:$P_LGP\"" 'sni="localhost"')" ]
check "no PROXY header on a PROXY listener: close proxy_header" \
	[ -n "$(lg_access "$facts" 'close="proxy_header"' "listener=\"tcp:127.0.0.1:$P_LGP\"")" ]
a=$(lg_access "$facts" 'close="timeout"')
check "a silent client: close timeout" [ -n "$a" ]
check_range "the timeout's duration_ms (handshake_timeout 1s)" \
	"$(printf '%s' "$a" | head -n 1 | sed -n 's/.* duration_ms=\([0-9.]*\) .*/\1/p')" 950 4000
if [ -x "$LG_CLI" ]; then
	check "nacre verify's access line: attestation asked" \
		[ -n "$(lg_access "$facts" 'attestation=true' 'close="ok"' 'sni="localhost"')" ]
fi
check "stderr gets nothing while log.to streams" [ ! -s "$T/lg.err" ]

# --- the collector goes away
bg_stop lg_c1
t0=$(now)
flood=$($LC flood 127.0.0.1 "$P_LG" 3000)
echo "# collector down: $flood (connections, seconds)"
check "nacred still running after lines pile up" bg_running lg
t0=$(now)
check_eq "collector down, queue full: a request is served" \
	"$(https "$P_LG" / | head -c 10)" "hello from"
check_range "collector down, queue full: served promptly (s)" "$(elapsed "$t0")" 0 2
lg_collector lg_c2 "$T/coll2"
check "collector back: the line that counts the dropped ones arrives" \
	lg_wait "$T/coll2" '"dropped":' 1 15
check "collector back: its return is logged" lg_wait "$T/coll2" 'is back after' 1 5
c0=$(lg_count "$T/coll2" '"close":"ok"')
https "$P_LG" / >/dev/null
check "collector back: new connections are logged" \
	lg_wait "$T/coll2" '"close":"ok"' $((c0 + 1)) 5
facts=$($LC check "$T/coll2")
printf '%s\n' "$facts" | grep '^#' | head -n 5
check_range "lines dropped while the queue was full" "$(lg_fact "$facts" dropped)" 1 100000
check_eq "after the outage every line parses still" \
	"$(lg_fact "$facts" bad_json)/$(lg_fact "$facts" bad_ts)/$(lg_fact "$facts" bad_keys)" 0/0/0
check_has "the lost link is logged (delivered once it is back)" \
	"$(cat "$T/coll2")" 'log: lost the collector at unix:'
check "stderr gets nothing through the outage" [ ! -s "$T/lg.err" ]

# --- a reload back to text on stderr
lg_conf text ""
bg_signal lg HUP
check "reload to text without log.to: lines go to stderr again" \
	wait_for "$T/lg.err" 'reloaded configuration' 10
check "the collector got the lines logged before the switch" \
	lg_wait "$T/coll2" 'reloading ' 1 5
https "$P_LG" / >/dev/null
check "a text access line on stderr" wait_for "$T/lg.err" ' access client=' 5
check_eq "every stderr line: TIME LEVEL ..., milliseconds, UTC" \
	"$(grep -cvE "$LG_TSRE" "$T/lg.err")" 0
check_has "the text access line: close and SNI" \
	"$(grep ' access client=' "$T/lg.err" | tail -n 1)" 'sni="localhost" alpn="http/1.1" tls_version="TLSv1.3"'
check_lacks "nothing was left undelivered at the switch" "$(cat "$T/lg.err")" 'did not take'
nacred_stop lg
bg_stop lg_c2
bg_stop lg_app
