# tests/e2e/lib.sh: helpers the end-to-end topics share (POSIX sh, sourced).
# Every check prints "ok - NAME" or "not ok - NAME (reason)". Every process a
# test starts goes through bg() so that cleanup() can end it; every wait has a
# timeout. Files live in $T (a mktemp directory removed at exit).

NACRED=${NACRED:-build/nacred}
UPSTREAM=${UPSTREAM:-build/tools/upstream}
TLSCLIENT=${TLSCLIENT:-build/tools/tlsclient}
HSLOAD=${HSLOAD:-build/bench/hsload}
T=$(mktemp -d "${TMPDIR:-/tmp}/nacre-e2e.XXXXXX") || exit 1
PASS=0
FAIL=0
BGS=""        # names of every background process started
. tests/wait.sh # wait_for, port, port_listening

# ---- checks ----

ok() { # NAME
	echo "ok - $1"
	PASS=$((PASS + 1))
}

notok() { # NAME REASON
	echo "not ok - $1 ($2)"
	FAIL=$((FAIL + 1))
}

check() { # NAME CONDITION-COMMAND...: ok when the command succeeds
	_name=$1
	shift
	if "$@"; then ok "$_name"; else notok "$_name" "failed: $*"; fi
}

# ok when $2 contains $3; the reason shows what we got instead
check_has() { # NAME TEXT NEEDLE
	case $2 in
	*"$3"*) ok "$1" ;;
	*) notok "$1" "wanted '$3' in: $(printf '%s' "$2" | head -c 300 | tr '\n' '|')" ;;
	esac
}

check_lacks() { # NAME TEXT NEEDLE
	case $2 in
	*"$3"*) notok "$1" "did not want '$3' in: $(printf '%s' "$2" | head -c 300 | tr '\n' '|')" ;;
	*) ok "$1" ;;
	esac
}

check_eq() { # NAME GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "got '$2', want '$3'"; fi
}

# numeric range check on a decimal number: LOW <= X <= HIGH
in_range() { # X LOW HIGH
	awk -v x="$1" -v lo="$2" -v hi="$3" \
		'BEGIN { exit !(x != "" && x + 0 >= lo + 0 && x + 0 <= hi + 0) }'
}

check_range() { # NAME X LOW HIGH
	if in_range "$2" "$3" "$4"; then ok "$1: $2"
	else notok "$1" "got '$2', want between $3 and $4"; fi
}

now() { date +%s.%N; }
# sim_root_sha NAME: the SHA-256 of the sim root nacred NAME logged at start
sim_root_sha() {
	sed -n 's/.*sim root sha256:\([0-9a-f]\{64\}\).*/\1/p' "$T/$1.err" | head -n 1
}
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# ---- background processes ----
# bg NAME CMD...: stdout -> $T/NAME.out, stderr -> $T/NAME.err, pid ->
# $T/NAME.pid, exit status -> $T/NAME.rc when it ends. The command leads its
# own process group (setsid), so cleanup also ends what it started.

bg() {
	_n=$1
	shift
	rm -f "$T/$_n.pid" "$T/$_n.rc" "$T/$_n.out" "$T/$_n.err"
	(
		setsid "$@" >"$T/$_n.out" 2>"$T/$_n.err" &
		echo $! >"$T/$_n.pid.tmp"
		mv "$T/$_n.pid.tmp" "$T/$_n.pid"
		wait $!
		echo $? >"$T/$_n.rc"
	) &
	BGS="$BGS $_n"
	_i=0
	while [ ! -s "$T/$_n.pid" ] && [ $_i -lt 100 ]; do sleep 0.02; _i=$((_i + 1)); done
}

bg_pid() { cat "$T/$1.pid" 2>/dev/null; }
bg_running() { [ -s "$T/$1.pid" ] && [ ! -e "$T/$1.rc" ]; }

# bg_wait NAME SECONDS: prints the exit status, or "timeout"
bg_wait() {
	_i=0
	_max=$(awk -v s="$2" 'BEGIN { printf "%d", s * 20 }')
	while [ ! -s "$T/$1.rc" ] && [ $_i -lt "$_max" ]; do sleep 0.05; _i=$((_i + 1)); done
	if [ -s "$T/$1.rc" ]; then cat "$T/$1.rc"; else echo timeout; fi
}

bg_signal() { # NAME SIGNAL
	_p=$(bg_pid "$1")
	[ -n "$_p" ] && bg_running "$1" && kill "-$2" "$_p" 2>/dev/null
}

# bg_group_kill NAME SIGNAL: the process group of NAME (it and its children)
bg_group_kill() {
	_p=$(bg_pid "$1")
	[ -n "$_p" ] && kill "-$2" "-$_p" 2>/dev/null  # dash: no "--", no -s with a group
}

# bg_stop NAME: SIGTERM, then SIGKILL after 5 s; its children go too
bg_stop() {
	if bg_running "$1"; then
		bg_signal "$1" TERM
		if [ "$(bg_wait "$1" 5)" = timeout ]; then
			bg_signal "$1" KILL
			bg_wait "$1" 2 >/dev/null
		fi
	fi
	bg_group_kill "$1" KILL
}

cleanup() {
	for _n in $BGS; do
		bg_group_kill "$_n" KILL
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- upstream app ----

# upstream NAME ADDR [ARGS...]: start build/tools/upstream, wait for "ready"
upstream() {
	_n=$1
	_a=$2
	shift 2
	bg "$_n" "$UPSTREAM" --listen "$_a" "$@"
	_i=0
	while bg_running "$_n" && ! grep -q '^ready' "$T/$_n.out" && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	if ! grep -q '^ready' "$T/$_n.out"; then
		echo "# upstream $_n did not start: $(cat "$T/$_n.err")"
		return 1
	fi
}

# ---- nacred ----
# conf FILE: writes a config from the C_* variables (conf_defaults resets them)

conf_defaults() {
	C_LISTEN=""
	C_LISTEN_PP=false
	C_UP=""
	C_UP_PP=none
	C_ALPN='"http/1.1"'
	C_NAMES='"localhost"'
	C_MIN=TLSv1.2
	C_MAXCONN=10000
	C_HS=2s
	C_IDLE=30s
	C_CONNECT=2s
	C_DRAIN=5s
	C_BUFFER=64k
	C_WORKERS=2
	C_LEVEL=debug
	C_TLS_EXTRA=""
	C_EXTRA="" # more top-level lines
}
conf_defaults

conf() {
	cat >"$1" <<EOF
listen = ( { address = "$C_LISTEN"; proxy_protocol = $C_LISTEN_PP; } );
upstream = { address = "$C_UP"; proxy_protocol = "$C_UP_PP"; };
tls = { key = "ec-p256"; min_version = "$C_MIN"; alpn = [ $C_ALPN ]; names = [ $C_NAMES ];$C_TLS_EXTRA };
limits = { max_connections = $C_MAXCONN; handshake_timeout = "$C_HS"; idle_timeout = "$C_IDLE"; connect_timeout = "$C_CONNECT"; drain_timeout = "$C_DRAIN"; buffer = "$C_BUFFER"; };
workers = $C_WORKERS;
log = { level = "$C_LEVEL"; };
attestation = { provider = "sim"; sim = { root = "$T/sim-root.pem"; }; };
$C_EXTRA
EOF
}

# nacred NAME CONF PORT: start nacred, wait (10 s at most, less if it exits)
# until it has logged "listening on" and PORT accepts connections
nacred() {
	bg "$1" "$NACRED" -c "$2"
	_i=0
	while bg_running "$1" && [ $_i -lt 200 ] &&
	      ! { grep -q 'listening on' "$T/$1.err" && port_listening "$3"; }; do
		sleep 0.05
		_i=$((_i + 1))
	done
	if ! bg_running "$1" || [ $_i -ge 200 ]; then
		notok "nacred $1 starts and listens on port $3" "see its log below"
		sed 's/^/#   /' "$T/$1.err" | tail -n 20
		bg_stop "$1"
		return 1
	fi
}

# sanitizer reports in a finished nacred's log
san_errors() { # NAME
	grep -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: ThreadSanitizer' \
		"$T/$1.err" 2>/dev/null | head -n 3
}

# sanitizer reports in captured output (one-shot runs such as nacred -t)
san_in() { # TEXT
	printf '%s\n' "$1" | grep -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' | head -n 3
}

# nacred_stop NAME [EXPECT_RC]: SIGTERM; one check for exit status and a clean
# sanitizer log. A drain can take up to drain_timeout, so allow 15 s.
nacred_stop() {
	_n=$1
	_want=${2:-0}
	if bg_running "$_n"; then
		bg_signal "$_n" TERM
		_rc=$(bg_wait "$_n" 15)
		if [ "$_rc" = timeout ]; then
			bg_signal "$_n" KILL
			bg_wait "$_n" 2 >/dev/null
		fi
	else
		_rc=$(cat "$T/$_n.rc" 2>/dev/null || echo "never started")
	fi
	nacred_verdict "$_n" "$_rc" "$_want"
}

# nacred_verdict NAME RC WANT: the check nacred_stop makes, for callers that
# stopped nacred themselves
nacred_verdict() {
	_s=$(san_errors "$1")
	if [ -n "$_s" ]; then
		notok "nacred $1: no sanitizer report" "$(echo "$_s" | tr '\n' '|')"
		echo "# sanitizer report in the log of nacred $1:"
		grep -A 30 -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' \
			"$T/$1.err" | head -n 60 | sed 's/^/#   /'
	elif [ "$2" != "$3" ]; then
		notok "nacred $1: exits $3 on SIGTERM" "exit status $2"
		tail -n 10 "$T/$1.err" | sed 's/^/#   /'
	else
		ok "nacred $1: exits $3 on SIGTERM, no sanitizer report"
	fi
}

# log lines of a nacred instance
nlog() { cat "$T/$1.err" 2>/dev/null; }

# ---- clients ----

# https PORT PATH [CURL-ARGS...]: body on stdout, curl's status as exit
https() {
	_p=$1
	_path=$2
	shift 2
	curl -sk --max-time 20 --resolve "localhost:$_p:127.0.0.1" "$@" \
		"https://localhost:$_p$_path"
}

tlsclient() { "$TLSCLIENT" "$@"; }

pattern_sha() { "$UPSTREAM" --pattern "$1" | sha256sum | cut -d' ' -f1; }

# ---- attestation fixtures ----

# cert_of PORT FILE: the leaf certificate a handshake to PORT presents, PEM
cert_of() {
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername localhost \
		2>/dev/null | openssl x509 >"$2" 2>/dev/null
}

# forge_cert ATTESTED.pem OUT.pem [OUT.key]: a self-signed certificate for
# a new key that carries ATTESTED's id-pe-cmw extension unchanged (the
# evidence binds the other key: the binding must fail); OUT.key gets its
# key when asked (test material only, removed with $T)
forge_cert() {
	/usr/bin/python3 - "$1" "$2" "${3:-}" <<'PY'
import sys, datetime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
att = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
ext = att.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.5.5.7.1.35"))
key = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime.utcnow()
b = (x509.CertificateBuilder().subject_name(att.subject).issuer_name(att.subject)
     .public_key(key.public_key()).serial_number(x509.random_serial_number())
     .not_valid_before(now - datetime.timedelta(minutes=5))
     .not_valid_after(now + datetime.timedelta(hours=1))
     .add_extension(ext.value, critical=False))
open(sys.argv[2], "wb").write(b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
if sys.argv[3]:
    open(sys.argv[3], "wb").write(key.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
PY
}

topic() { echo "# --- $1"; }
