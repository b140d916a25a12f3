# tests/fault/lib.sh: helpers of the fault suite, on top of tests/e2e/lib.sh
# (sourced after it by tests/fault/run.sh).

HELLO="hello from the enclave app"

# fclient ARGS...: tests/fault/client.py (see its usage)
fclient() { /usr/bin/python3 tests/fault/client.py "$@"; }

# app NAME ADDR: tests/fault/app.py, an upstream that tells how each
# connection ended; waits for "ready"
app() {
	bg "$1" /usr/bin/python3 -u tests/fault/app.py --listen "$2"
	if ! wait_for "$T/$1.out" '^ready' 10; then
		echo "# app $1 did not start: $(cat "$T/$1.err")"
		return 1
	fi
}

# serves NAME PORT: the check every scenario ends with
serves() {
	check_eq "$1: nacred still serves a normal request" \
		"$(https "$2" /)" "$HELLO"
}

# fds PID: open descriptors of a process
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# fds_settle PID WANT SECONDS: wait until PID has at most WANT descriptors;
# prints the last count
fds_settle() {
	_i=0
	_max=$(awk -v s="$3" 'BEGIN { printf "%d", s * 10 }')
	_n=$(fds "$1")
	while [ "$_n" -gt "$2" ] && [ $_i -lt "$_max" ]; do
		sleep 0.1
		_i=$((_i + 1))
		_n=$(fds "$1")
	done
	echo "$_n"
}

# hup_wait NAME PATTERN [SECONDS]: SIGHUP, then wait for one more line
# matching PATTERN (grep -E) in the log
hup_wait() {
	_before=$(grep -cE "$2" "$T/$1.err")
	bg_signal "$1" HUP
	_i=0
	_max=$(awk -v s="${3:-5}" 'BEGIN { printf "%d", s * 20 }')
	while [ "$(grep -cE "$2" "$T/$1.err")" -le "$_before" ] && [ $_i -lt "$_max" ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	[ $_i -lt "$_max" ]
}

# count_wait NAME PATTERN N SECONDS: wait until the log has N lines matching
count_wait() {
	_i=0
	_max=$(awk -v s="$4" 'BEGIN { printf "%d", s * 20 }')
	while [ "$(grep -cE "$2" "$T/$1.err")" -lt "$3" ] && [ $_i -lt "$_max" ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	[ $_i -lt "$_max" ]
}

# field TEXT KEY: the value of KEY=VALUE in a result line of client.py
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | tail -n 1; }

fpr() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }

# established TCP connections to PORT (as seen from the client side)
conns_to() { ss -Htn state established "( dport = :$1 )" 2>/dev/null | wc -l; }

# check_nolog NAME LOGNAME PATTERN: no line of the log matches (grep -E);
# the reason quotes the first that does
check_nolog() {
	_l=$(grep -E -m 1 -- "$3" "$T/$2.err")
	if [ -z "$_l" ]; then ok "$1"
	else notok "$1" "log line: $(printf '%s' "$_l" | head -c 200)"; fi
}

# secs_all RESULTS LOW HIGH: every "secs=" in RESULTS is within LOW..HIGH
secs_all() {
	for _s in $(printf '%s\n' "$1" | tr ' ;' '\n\n' | sed -n 's/^secs=//p'); do
		in_range "$_s" "$2" "$3" || return 1
	done
}
