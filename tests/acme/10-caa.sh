# tests/acme/10-caa.sh: `nacre caa` against real DNS servers on loopback:
# pebble-challtestsrv (CAA, CNAME and SERVFAIL through its management API;
# it answers every name NOERROR, flag 0) and dnsmasq (raw CAA rdata, so the
# critical flag and broken records; NXDOMAIN for names it does not hold),
# and resolvers that refuse or never answer. Sourced by tests/acme/run.sh.

NACRE=${NACRE:-build/asan/nacre}
ACCT=https://127.0.0.1:14000/my-account/1
PIN="letsencrypt.org; accounturi=$ACCT; validationmethods=tls-alpn-01"

# caa_run DOMAIN [ARGS...]: nacre caa --json through $RES; sets OUT, ERR,
# RC and VERDICT
caa_run() {
	_d=$1
	shift
	OUT=$("$NACRE" caa "$_d" --resolver "$RES" --account "$ACCT" --json \
		"$@" 2>"$T/caa.err")
	RC=$?
	ERR=$(cat "$T/caa.err")
	VERDICT=$(printf '%s' "$OUT" | sed -n 's/.*"verdict": "\([a-z-]*\)".*/\1/p')
}

# caa_case TITLE DOMAIN VERDICT EXIT REASON [ARGS...]: two checks
caa_case() {
	_t=$1 _dn=$2 _v=$3 _rc=$4 _why=$5
	shift 5
	caa_run "$_dn" "$@"
	_s=$(san_in "$ERR")
	if [ -n "$_s" ]; then
		notok "caa $_t: no sanitizer report" "$(echo "$_s" | tr '\n' '|')"
	elif [ "$VERDICT" = "$_v" ] && [ "$RC" = "$_rc" ]; then
		ok "caa $_t: $_v, exit $_rc"
	else
		notok "caa $_t" "got '$VERDICT' exit $RC, want '$_v' exit $_rc: $(printf '%s %s' "$OUT" "$ERR" | head -c 400)"
	fi
	check_has "caa $_t: reason" "$OUT" "$_why"
}

# wait_port PORT: until something listens there (5 s at most)
wait_port() {
	_i=0
	while ! port_listening "$1" && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	port_listening "$1"
}

# ---- pebble-challtestsrv ----
port CTS_DNS
port CTS_MGMT
bg challtestsrv pebble-challtestsrv -management "127.0.0.1:$CTS_MGMT" \
	-dns01 "127.0.0.1:$CTS_DNS" -http01 "" -https01 "" -tlsalpn01 ""
check "challtestsrv listens" wait_port "$CTS_MGMT"
wait_port "$CTS_DNS" >/dev/null

cts() { # ENDPOINT JSON
	curl -sf --max-time 5 -X POST -d "$2" "http://127.0.0.1:$CTS_MGMT/$1" >/dev/null ||
		echo "# challtestsrv /$1 refused $2"
}
caa_set() { # HOST TAG VALUE [TAG VALUE...]
	_h=$1
	shift
	_p=""
	while [ $# -ge 2 ]; do
		_p="$_p${_p:+,}{\"tag\":\"$1\",\"value\":\"$2\"}"
		shift 2
	done
	cts add-caa "{\"host\":\"$_h\",\"policies\":[$_p]}"
}

caa_set pinned.caa.test issue "$PIN" issuewild ";"
caa_set other.caa.test issue "letsencrypt.org; accounturi=https://127.0.0.1:14000/my-account/2; validationmethods=tls-alpn-01"
caa_set http.caa.test issue "letsencrypt.org; accounturi=$ACCT; validationmethods=http-01"
caa_set anyacct.caa.test issue "letsencrypt.org"
caa_set wildpin.caa.test issue ";" issuewild "$PIN"
caa_set malformed.caa.test issue "letsencrypt.org; accounturi=$ACCT;"
caa_set otherca.caa.test issue "$PIN" issue "otherca.example"
caa_set forbid.caa.test issue ";"
# two replicas, each its own account, one record each (docs/caa.md)
caa_set replicas.caa.test issue "$PIN" \
	issue "letsencrypt.org; accounturi=https://127.0.0.1:14000/my-account/2; validationmethods=tls-alpn-01"
cts set-cname '{"host":"alias.caa.test","target":"pinned.caa.test"}'
cts set-cname '{"host":"www.other.caa.test","target":"pinned.caa.test"}'
cts set-servfail '{"host":"fail.caa.test"}'
RES=tcp:127.0.0.1:$CTS_DNS

caa_case "records absent" absent.caa.test open-any-ca 1 \
	"no CAA records at absent.caa.test or any parent"
caa_case "pinned" pinned.caa.test pinned 0 \
	"pinned: only letsencrypt.org may issue, only to account $ACCT, only by tls-alpn-01"
caa_case "another account" other.caa.test blocked 1 \
	"may issue only to account https://127.0.0.1:14000/my-account/2"
caa_case "http-01 only" http.caa.test blocked 1 "only by http-01, not tls-alpn-01"
caa_case "any account" anyacct.caa.test open-any-account 1 "open to any account"
caa_case "wildcard: issuewild \";\"" '*.pinned.caa.test' blocked 1 \
	'blocked: issuewild \";\" forbids every CA'
caa_case "wildcard: pinned issuewild" '*.wildpin.caa.test' pinned 0 "pinned:"
caa_case "plain name under a pinned issuewild" wildpin.caa.test blocked 1 \
	'blocked: issue \";\" forbids every CA'
caa_case "CAA at a parent" app.sub.pinned.caa.test pinned 0 \
	'"found_at": "pinned.caa.test"'
check_has "caa parent: one query per name" "$OUT" '"queries": 3'
check_has "caa parent: fix records at the name" "$OUT" \
	'"fix": ["app.sub.pinned.caa.test. CAA 0 issue'
caa_case "CNAME on the way" alias.caa.test pinned 0 '"alias": "pinned.caa.test"'
check_has "caa CNAME: fix records at the target" "$OUT" '"publish_at": "pinned.caa.test"'
caa_case "CNAME beats the parent's set" www.other.caa.test pinned 0 \
	'"found_at": "www.other.caa.test"'
caa_case "malformed issue value" malformed.caa.test blocked 1 \
	"blocked: malformed issue value"
caa_case "another CA present" otherca.caa.test open-any-ca 1 \
	"open to another CA: otherca.example may issue too"
caa_case "issue \";\"" forbid.caa.test blocked 1 'forbids every CA'
caa_case "two replicas' records, the other one unknown" replicas.caa.test open-any-account 1 \
	"open to another account: letsencrypt.org may also issue to account https://127.0.0.1:14000/my-account/2"
caa_case "two replicas' records, the other one a peer (acme.caa_peer_accounts)" \
	replicas.caa.test pinned 0 "pinned:" --peer-account https://127.0.0.1:14000/my-account/2
caa_case "a peer account does not make another CA's record ours" otherca.caa.test \
	open-any-ca 1 "otherca.example may issue too" --peer-account https://127.0.0.1:14000/my-account/2
caa_case "SERVFAIL fails closed" fail.caa.test error 2 "with SERVFAIL"
caa_case "SERVFAIL at a parent fails closed" x.fail.caa.test error 2 \
	"answered fail.caa.test CAA with SERVFAIL"
caa_case "UDP resolver" pinned.caa.test pinned 0 "pinned:" \
	--resolver "udp:127.0.0.1:$CTS_DNS"
caa_case "another CA identity" pinned.caa.test blocked 1 \
	"only other CAs may issue (letsencrypt.org), not pebble.letsencrypt.org" \
	--ca pebble.letsencrypt.org

# text output: the verdict in words and the records that would fix it
TXT=$("$NACRE" caa other.caa.test --resolver "$RES" --account "$ACCT" 2>&1)
check_has "caa text: verdict in words" "$TXT" "verdict:  blocked"
check_has "caa text: the fixing record" "$TXT" \
	"other.caa.test. CAA 0 issue \"$PIN\""
check_has "caa text: no wildcards" "$TXT" 'other.caa.test. CAA 0 issuewild ";"'
TXT=$("$NACRE" caa absent.caa.test --resolver "$RES" 2>&1)
check_has "caa text: placeholder without --account" "$TXT" "accounturi=<account-url>"
bg_stop challtestsrv

# ---- dnsmasq: raw rdata, NXDOMAIN ----
# rdata of CAA FLAGS TAG VALUE in hex
caa_hex() {
	printf '%02x%02x' "$1" "${#2}"
	printf '%s%s' "$2" "$3" | od -An -tx1 | tr -d ' \n'
}
port DM_DNS
bg dnsmasq dnsmasq -k --conf-file=/dev/null --port="$DM_DNS" --no-resolv \
	--no-hosts --listen-address=127.0.0.1 --bind-interfaces --local=/test/ \
	--pid-file="$T/dnsmasq.pid" --log-queries --log-facility=- \
	--dns-rr="crit.test,257,$(caa_hex 128 tbs x)" \
	--dns-rr="crit.test,257,$(caa_hex 0 issue "$PIN")" \
	--dns-rr="noncrit.test,257,$(caa_hex 0 tbs x)" \
	--dns-rr="noncrit.test,257,$(caa_hex 128 issue "$PIN")" \
	--dns-rr="parent.test,257,$(caa_hex 0 issue "$PIN")" \
	--dns-rr="notag.test,257,80" \
	--dns-rr="shorttag.test,257,800569"
check "dnsmasq listens" wait_port "$DM_DNS"
RES=tcp:127.0.0.1:$DM_DNS

caa_case "unknown critical tag" crit.test blocked 1 "blocked: unknown critical tag tbs"
caa_case "unknown tag, not critical" noncrit.test pinned 0 "pinned:"
caa_case "NXDOMAIN, then a parent's set" a.b.parent.test pinned 0 \
	'"found_at": "parent.test"'
caa_case "NXDOMAIN up to the root" a.nothing.test open-any-ca 1 "no CAA records"
caa_case "record without a tag" notag.test error 2 "malformed"
caa_case "record with a cut tag" shorttag.test error 2 "is not a DNS message"
caa_case "NXDOMAIN over UDP" a.b.parent.test pinned 0 "pinned:" \
	--resolver "udp:127.0.0.1:$DM_DNS"
bg_stop dnsmasq

# ---- resolvers that do not answer: fail closed within the timeout ----
port CLOSED
RES=tcp:127.0.0.1:$CLOSED
t0=$(now)
caa_case "closed port" pinned.caa.test error 2 "cannot connect: Connection refused"
check_range "caa closed port: seconds" "$(elapsed "$t0")" 0 2

port SILENT
bg silent /usr/bin/python3 -c '
import signal, socket, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
p = int(sys.argv[1])
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", p)); t.listen(16)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", p))
held = []
while True:
    c, _ = t.accept(); held.append(c)  # read nothing, answer nothing
' "$SILENT"
check "silent resolver listens" wait_port "$SILENT"
RES=tcp:127.0.0.1:$SILENT
t0=$(now)
caa_case "TCP resolver that never answers" pinned.caa.test error 2 "no answer for pinned.caa.test CAA in time" \
	--timeout 1s
check_range "caa silent TCP: seconds" "$(elapsed "$t0")" 0.9 3
t0=$(now)
caa_case "UDP resolver that never answers" pinned.caa.test error 2 "in time" \
	--resolver "udp:127.0.0.1:$SILENT" --timeout 1s
check_range "caa silent UDP: seconds" "$(elapsed "$t0")" 0.9 3
bg_stop silent

# ---- usage ----
"$NACRE" caa >/dev/null 2>"$T/caa.err"
check_eq "caa without a domain: exit 2" "$?" 2
check_has "caa without a domain: says so" "$(cat "$T/caa.err")" "no domain"
"$NACRE" caa 'bad name' --resolver "$RES" >/dev/null 2>"$T/caa.err"
check_eq "caa bad name: exit 2" "$?" 2
check_has "caa bad name: named" "$(cat "$T/caa.err")" 'name "bad name" is not a domain name'
"$NACRE" caa example.com --timeout forever >/dev/null 2>"$T/caa.err"
check_eq "caa bad --timeout: exit 2" "$?" 2
"$NACRE" caa --help >"$T/caa.out" 2>&1
check_has "caa --help" "$(cat "$T/caa.out")" "usage: nacre caa DOMAIN"
