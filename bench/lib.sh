# bench/lib.sh: process and measurement helpers for bench/run.sh (POSIX sh,
# sourced). Every process the benchmark starts goes through bg() so that
# cleanup() ends it and everything it forked (setsid: one session each).
# Files live in $T, a mktemp directory removed at exit.

T=$(mktemp -d "${TMPDIR:-/tmp}/nacre-bench.XXXXXX") || exit 1
BGS=""        # names of every background process started
. tests/wait.sh # wait_for, port, port_listening
TCK=$(getconf CLK_TCK)

T0=$(date +%s)
say() { printf '[%3ds] %s\n' "$(($(date +%s) - T0))" "$*" >&2; }
die() { say "bench: $*"; exit 1; }

# ---- background processes ----
# bg NAME CMD...: stdout -> $T/NAME.out, stderr -> $T/NAME.err, pid ->
# $T/NAME.pid. The command leads its own session, so its workers (hitch
# forks) are found with ps -s and killed with its process group.
bg() {
	_n=$1
	shift
	rm -f "$T/$_n.pid" "$T/$_n.out" "$T/$_n.err"
	setsid "$@" >"$T/$_n.out" 2>"$T/$_n.err" &
	echo $! >"$T/$_n.pid"
	BGS="$BGS $_n"
}

bg_pid() { cat "$T/$1.pid" 2>/dev/null; }
bg_running() { _p=$(bg_pid "$1") && [ -n "$_p" ] && kill -0 "$_p" 2>/dev/null; }

# bg_stop NAME: SIGTERM to the group, SIGKILL after 5 s
bg_stop() {
	_p=$(bg_pid "$1")
	[ -n "$_p" ] || return 0
	kill -TERM "-$_p" 2>/dev/null
	_i=0
	while kill -0 "$_p" 2>/dev/null && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	kill -KILL "-$_p" 2>/dev/null
	wait "$_p" 2>/dev/null
	rm -f "$T/$1.pid"
}

cleanup() {
	for _n in $BGS; do
		_p=$(bg_pid "$_n")
		[ -n "$_p" ] && kill -KILL "-$_p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- ports ----
# wait_listen NAME PORT SECONDS: until PORT listens (fails if NAME died)
wait_listen() {
	_i=0
	_max=$(awk -v s="$3" 'BEGIN { printf "%d", s * 20 }')
	while [ $_i -lt "$_max" ]; do
		bg_running "$1" || return 1
		port_listening "$2" && return 0
		sleep 0.05
		_i=$((_i + 1))
	done
	return 1
}

# ---- measurements ----
# pids NAME: every process in NAME's session (hitch: master + workers)
pids() {
	_p=$(bg_pid "$1")
	[ -n "$_p" ] && ps -o pid= -s "$_p" 2>/dev/null
}

# cpu_ticks NAME: utime + stime of all its processes (all threads), in
# clock ticks. The text after the last ')' skips "pid (comm)" safely.
cpu_ticks() {
	for _q in $(pids "$1"); do
		sed 's/.*) //' "/proc/$_q/stat" 2>/dev/null
	done | awk '{ t += $12 + $13 } END { printf "%d\n", t }'
}

# cpu_ms NAME: the scheduler's own run time of all its threads, in ms with
# ns resolution (/proc/PID/task/TID/sched, where the kernel has it; empty
# otherwise). For the rotation figure, a few ms a time: ticks are too coarse.
cpu_ms() {
	for _q in $(pids "$1"); do
		cat "/proc/$_q/task/"*/sched 2>/dev/null
	done | awk '/^se.sum_exec_runtime/ { t += $3; n++ }
		END { if (n) printf "%.3f\n", t }'
}

# cpu_s TICKS_BEFORE TICKS_AFTER: seconds
cpu_s() { awk -v a="$1" -v b="$2" -v h="$TCK" 'BEGIN { printf "%.3f", (b - a) / h }'; }

# rss_kib NAME: resident memory of all its processes
rss_kib() {
	for _q in $(pids "$1"); do
		grep '^VmRSS:' "/proc/$_q/status" 2>/dev/null
	done | awk '{ t += $2 } END { printf "%d\n", t }'
}

# ---- wrk output ----
wrk_requests() { awk '/ requests in /{ print $1; exit }' "$1"; }

# socket errors + non-2xx responses
wrk_errors() {
	awk '/Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
	     /Non-2xx/ { e += $NF }
	     END { printf "%d\n", e }' "$1"
}

# wrk_pct FILE PCT: that percentile of the latency distribution, in ms
wrk_pct() {
	awk -v p="$2%" '$1 == p && NF == 2 {
		v = $2
		if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); v += 0 }
		else if (v ~ /m$/) { sub(/m$/, "", v); v *= 60000 }
		else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
		printf "%.3f\n", v; exit
	}' "$1"
}

# ---- results ----
# put KEY VALUE: one figure, e.g. put nacred.handshake_us 123.4
put() { echo "$1=$2" >>"$T/results.txt"; }

# calc EXPR [VAR=VALUE...]: awk arithmetic, printed with %.FMT
calc() { # FMT EXPR VAR=VALUE...
	_f=$1
	_e=$2
	shift 2
	awk "$@" "BEGIN { x = $_e; printf \"%$_f\n\", x }"
}
