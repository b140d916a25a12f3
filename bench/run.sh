#!/bin/sh
# bench/run.sh: nacred against hitch and HAProxy, run by `make bench
# [QUICK=1]`. nacred is measured twice, with each record layer: `nacred`
# with the default (records = "openssl") and `nacred_compact` (records =
# "compact"). One upstream (build/tools/upstream, loopback TCP) behind all
# four, which run at the same time on their own ports and take turns under
# the same load. Every figure is the proxy's own CPU time (or memory) per
# unit of work, so the noise of a shared 2-core machine moves throughput
# much more than the figures. Writes bench/results/latest.{json,md,svg}.
# QUICK=1: shorter runs and one round (a little over a minute).
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
. bench/proxies.sh

NACRED=${NACRED:-build/nacred}
UPSTREAM=${UPSTREAM:-build/tools/upstream}
TLSCLIENT=${TLSCLIENT:-build/tools/tlsclient}
HSLOAD=${HSLOAD:-build/bench/hsload}
OUT=${BENCH_OUT:-bench/results}
PROXIES="nacred nacred_compact hitch haproxy" # in this order (idle_all)
IDLE_N=${IDLE_N:-5000}
# SPREAD: also measure a nacred with balance = "spread" (full runs only,
# so that QUICK stays short)
if [ "${QUICK:-}" = 1 ]; then
	DUR=2 ROUNDS=1 LAT_DUR=2 SETTLE=1 SPREAD=0
else
	DUR=8 ROUNDS=3 LAT_DUR=10 SETTLE=5 SPREAD=1
fi
CONNS=8         # wrk connections for the CPU runs
BULK_CONNS=4
LAT_CONNS=4     # latency: 4 connections, 10 ms pause after each response
LAT_DELAY_MS=10 # (about 400 requests/s: a moderate, fixed rate)

for b in "$NACRED" "$UPSTREAM" "$TLSCLIENT" "$HSLOAD"; do
	[ -x "$b" ] || die "$b is missing: run make all tools first"
done
NACRED_FROM=$NACRED
# run copies: the binaries measured stay the same for the whole run even if
# build/ is rebuilt meanwhile
for b in NACRED UPSTREAM TLSCLIENT HSLOAD; do
	_f=$(eval echo \$$b)
	cp "$_f" "$T/bin_${_f##*/}" || die "cannot copy $_f"
	eval "$b=\$T/bin_\${_f##*/}"
done
for c in hitch haproxy wrk gnuplot openssl ss; do
	command -v $c >/dev/null || die "$c is missing: sh tests/deps.sh bench"
done
# every proxy needs 2 fds per idle connection, the upstream one per
# connection of the (at most three) proxies holding them at once: idle_all
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge $((IDLE_N * 3 + 100)) ] ||
	die "ulimit -n is $(ulimit -n); the idle test needs $((IDLE_N * 3 + 100))"

# ---- the runs ----

# cpu_during NAME CMD...: runs CMD (output in $T/run.out) while NAME's
# CPU is counted; prints that CPU time in seconds
cpu_during() {
	_n=$1
	shift
	_c0=$(cpu_ticks "$_n")
	"$@" >"$T/run.out" 2>&1
	cpu_s "$_c0" "$(cpu_ticks "$_n")"
}

# cpu_run NAME KEY WRK-ARGS...: wrk against NAME's port while
# NAME's CPU is counted; appends "cpu_s requests errors" to $T/NAME.KEY
cpu_run() {
	_name=$1 _k=$2
	shift 2
	_cpu=$(cpu_during "$_name" wrk -t1 -d"${DUR}s" "$@")
	_r=$(wrk_requests "$T/run.out")
	[ -n "$_r" ] && [ "$_r" -gt 0 ] ||
		die "wrk got no responses from $_name: $(tr '\n' '|' <"$T/run.out")"
	echo "$_cpu $_r $(wrk_errors "$T/run.out")" >>"$T/$_name.$_k"
}

url() { echo "https://127.0.0.1:$(eval echo \$PORT_$1)$2"; }

# hs_run NAME: full handshakes (bench/hsload: a new SSL object and no
# session per connection; wrk would resume) against NAME's port while its
# CPU is counted; appends "cpu_s requests errors" to $T/NAME.hs
hs_run() {
	_cpu=$(cpu_during "$1" "$HSLOAD" 127.0.0.1 "$(eval echo \$PORT_$1)" $CONNS "$DUR")
	read -r _w _r _w _e _w _res _rest <"$T/run.out" 2>/dev/null
	[ "${_r:-0}" -gt 0 ] 2>/dev/null ||
		die "hsload got no responses from $1: $(tr '\n' '|' <"$T/run.out")"
	[ "$_res" = 0 ] || die "hsload: $_res of $_r handshakes with $1 were resumed"
	echo "$_cpu $_r $_e" >>"$T/$1.hs"
}

cpu_round() {
	for p in $PROXIES; do
		say "  $p: full handshakes"
		hs_run "$p"
		if [ "$p" = nacred ]; then
			say "  nacred with session_tickets = 1: full handshakes"
			hs_run nacred_t1
			if [ "$SPREAD" = 1 ]; then
				say "  nacred with balance = spread: full handshakes"
				hs_run nacred_spread
			fi
		fi
		say "  $p: keep-alive requests"
		cpu_run "$p" ka -c$CONNS "$(url "$p" /)"
		if [ "$p" = nacred ] && [ "$SPREAD" = 1 ]; then
			say "  nacred with balance = spread: keep-alive requests"
			cpu_run nacred_spread ka -c$CONNS "$(url nacred_spread /)"
		fi
		say "  $p: 1 MiB responses"
		cpu_run "$p" bulk -c$BULK_CONNS "$(url "$p" /bytes/1048576)"
	done
}

# median FILE COLUMN-EXPR FMT: median over the rounds of an awk expression
# of the columns cpu ($1), requests ($2), printed with %FMT
median() {
	awk "{ print $2 }" "$1" | sort -g | awk -v f="%$3\n" '{ v[NR] = $1 }
		END { printf f, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

cpu_figures() {
	for p in $PROXIES; do
		put "$p.handshake_us" "$(median "$T/$p.hs" '$1 * 1e6 / $2' .1f)"
		put "$p.keepalive_us" "$(median "$T/$p.ka" '$1 * 1e6 / $2' .2f)"
		put "$p.bulk_s_per_gib" "$(median "$T/$p.bulk" '$1 * 1024 / $2' .3f)"
		put "$p.handshake_rps" "$(median "$T/$p.hs" "\$2 / $DUR" .0f)"
		if [ "$p" = nacred ]; then
			put nacred_only.handshake_us_tickets "$(median "$T/nacred_t1.hs" '$1 * 1e6 / $2' .1f)"
			if [ "$SPREAD" = 1 ]; then
				put nacred_only.handshake_us_spread "$(median "$T/nacred_spread.hs" '$1 * 1e6 / $2' .1f)"
				put nacred_only.keepalive_us_spread "$(median "$T/nacred_spread.ka" '$1 * 1e6 / $2' .2f)"
			fi
		fi
		# every round, for the spread: "µs/handshake µs/request s/GiB" each
		put "$p.rounds" "$(paste -d' ' "$T/$p.hs" "$T/$p.ka" "$T/$p.bulk" |
			awk '{ printf "%s%.1f/%.2f/%.3f", (NR > 1 ? " " : ""),
				$1 * 1e6 / $2, $4 * 1e6 / $5, $7 * 1024 / $8 }')"
		put "$p.wrk_errors" "$(cat "$T/$p.hs" "$T/$p.ka" "$T/$p.bulk" |
			awk '{ e += $3 } END { print e + 0 }')"
	done
}

# idle: RSS growth per idle TLS connection, IDLE_N held by each proxy. One
# proxy after the other (each handshake burst alone: heap fragmentation
# depends on it). Before: after a warm-up of 100 connections with a
# request each, so that the threads' first allocations are not counted. At
# ready: 0.5 s after the last handshake. After: the two nacreds (which give
# freed handshake memory back with malloc_trim every 5 s) go first and keep
# their connections until hitch and HAProxy are done, so they have the
# longest to settle (nacred: 3 bursts + 2 x SETTLE, nacred_compact: 2 +
# 2 x SETTLE); hitch and HAProxy, which give nothing back, are read SETTLE
# seconds after their last handshake and then let their connections go,
# so that the upstream never holds those of more than three proxies (its
# fd limit, 20000 here, would not take 4 x 5000).
idle_burst() { # NAME
	say "$1: $IDLE_N idle TLS connections"
	_port=$(eval echo \$PORT_$1)
	"$TLSCLIENT" concurrent -q --connect "tcp:127.0.0.1:$_port" --conns 100 \
		>"$T/warm.out" 2>&1 ||
		die "$1: warm-up failed: $(tr '\n' '|' <"$T/warm.out")"
	sleep 0.5
	eval "RSS0_$1=$(rss_kib "$1")"
	bg "idle_$1" "$TLSCLIENT" idle --connect "tcp:127.0.0.1:$_port" \
		--conns "$IDLE_N" --hold 300 --timeout 90
	wait_for "$T/idle_$1.out" '^ready|errors' 90 ||
		die "$1: $IDLE_N idle connections not ready in 90 s"
	sleep 0.5 # the upstream sides (nacred connects after the handshake)
	eval "RSS1_$1=$(rss_kib "$1")"
}

idle_end() { # NAME: its figures, then its connections are let go
	_m0=$(eval echo \$RSS0_$1) _m1=$(eval echo \$RSS1_$1) _m2=$(rss_kib "$1")
	put "$1.idle_kib_per_conn" "$(calc .2f "(b - a) / n" -v a="$_m0" -v b="$_m2" -v n="$IDLE_N")"
	put "$1.idle_kib_at_ready" "$(calc .2f "(b - a) / n" -v a="$_m0" -v b="$_m1" -v n="$IDLE_N")"
	_ready=$(awk '/^ready/ { print $2 }' "$T/idle_$1.out")
	bg_stop "idle_$1"
	put "$1.idle_held" "$(grep -q "^held $IDLE_N, 0 closed" "$T/idle_$1.out" &&
		echo "${_ready:-0}" || echo 0)"
}

idle_all() {
	for p in $PROXIES; do
		idle_burst "$p"
		case $p in
		nacred*) ;; # held until the end
		*)
			sleep "$SETTLE"
			idle_end "$p"
			sleep 1 ;; # let the proxy close them before the next burst
		esac
	done
	# the last proxy measured was not a nacred: SETTLE has passed already
	for p in $PROXIES; do
		case $p in nacred*) idle_end "$p" ;; esac
	done
	sleep 1 # let the proxies close them before the next test
}

# concurrent NAME: IDLE_N handshakes at once, then a request on each
concurrent() {
	_port=$(eval echo \$PORT_$1)
	"$TLSCLIENT" concurrent -q --connect "tcp:127.0.0.1:$_port" --conns "$IDLE_N" \
		--timeout 60 >"$T/conc.out" 2>"$T/conc.err"
	put "$1.concurrent_ok" "$(awk '/ ok, / { print $1 }' "$T/conc.out")"
	put "$1.concurrent_errors" "$(awk '/ ok, / { print $3 }' "$T/conc.out")"
	sleep 0.5
}

# latency NAME URL: p50 and p99 at a fixed, moderate rate
latency() {
	wrk -t1 -c$LAT_CONNS -d"${LAT_DUR}s" --latency -s "$T/delay.lua" "$2" \
		>"$T/lat.out" 2>&1
	[ "$(wrk_requests "$T/lat.out")" -gt 0 ] 2>/dev/null ||
		die "latency run against $1 failed: $(tr '\n' '|' <"$T/lat.out")"
	put "$1.p50_abs_ms" "$(wrk_pct "$T/lat.out" 50)"
	put "$1.p99_abs_ms" "$(wrk_pct "$T/lat.out" 99)"
}

latency_all() {
	echo "function delay() return $LAT_DELAY_MS end" >"$T/delay.lua"
	say "latency: direct to the upstream, then through each proxy"
	latency direct "http://127.0.0.1:$UP_PORT/"
	for p in $PROXIES; do latency "$p" "$(url "$p" /)"; done
	[ "${QUICK:-}" = 1 ] || latency direct2 "http://127.0.0.1:$UP_PORT/" # drift
	for p in $PROXIES; do
		put "$p.p50_ms" "$(calc .3f "x - d" -v x="$(get "$p.p50_abs_ms")" -v d="$(get direct.p50_abs_ms)")"
		put "$p.p99_ms" "$(calc .3f "x - d" -v x="$(get "$p.p99_abs_ms")" -v d="$(get direct.p99_abs_ms)")"
	done
}

get() { awk -F= -v k="$1" '$1 == k { v = $2 } END { print v }' "$T/results.txt"; }

# rotation: a second nacred that rotates every second and serves nothing;
# its CPU between rotation_start and rotation_end (the light latency runs
# go on meanwhile, to save time) divided by the rotations it logged
rotation_start() {
	port ROT_PORT
	nacred_conf "$T/rot.conf" "$ROT_PORT" info 1s
	bg rot "$NACRED" -c "$T/rot.conf"
	wait_listen rot "$ROT_PORT" 10 ||
		die "rotating nacred did not start: $(tail -n 5 "$T/rot.err" | tr '\n' '|')"
	wait_for "$T/rot.err" 'rotated key and certificate' 5 ||
		die "nacred logged no rotation in 5 s: $(tail -n 3 "$T/rot.err" | tr '\n' '|')"
	ROT_R0=$(grep -c 'rotated key and certificate' "$T/rot.err")
	ROT_C0=$(cpu_ticks rot) ROT_M0=$(cpu_ms rot)
}

rotation_end() {
	_c1=$(cpu_ticks rot) _m1=$(cpu_ms rot)
	_r1=$(grep -c 'rotated key and certificate' "$T/rot.err")
	bg_stop rot
	_rots=$((_r1 - ROT_R0))
	[ "$_rots" -gt 0 ] || die "the rotating nacred logged no rotation"
	put nacred_only.rotations "$_rots"
	_stat=$(calc .2f "c * 1000 / r" -v c="$(cpu_s "$ROT_C0" "$_c1")" -v r="$_rots")
	put nacred_only.rotation_ms_stat "$_stat"
	if [ -n "$ROT_M0" ] && [ -n "$_m1" ]; then
		put nacred_only.rotation_ms "$(calc .2f "(b - a) / r" -v a="$ROT_M0" -v b="$_m1" -v r="$_rots")"
		put nacred_only.rotation_clock sched
	else
		put nacred_only.rotation_ms "$_stat"
		put nacred_only.rotation_clock stat
	fi
}

# ---- main ----

START=$(date +%s)
: >"$T/results.txt"
# the nacred measured: the commit, and whether src/ differed from it
# (and which binary, when NACRED names another)
put meta.git "$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src 2>/dev/null || echo +src-changes)$(
	[ "$NACRED_FROM" = build/nacred ] || echo " ($NACRED_FROM)")"
test_cert
port UP_PORT
bg upstream "$UPSTREAM" --listen "tcp:127.0.0.1:$UP_PORT" --mode http
wait_for "$T/upstream.out" '^ready' 5 || die "upstream did not start: $(cat "$T/upstream.err")"
for p in $PROXIES; do
	port PORT
	eval "PORT_$p=$PORT"
	start_proxy "$p" "$PORT"
	params=$(tls_params "$PORT")
	say "$p on port $PORT: $params"
	put "$p.tls" "$(echo "$params" | tr ' ' '/')"
	[ "$params" = "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519" ] ||
		die "$p negotiates $params, not TLSv1.3 TLS_AES_256_GCM_SHA384 X25519"
done
for p in nacred_t1 nacred_spread; do
	port PORT
	eval "PORT_$p=$PORT"
	start_proxy "$p" "$PORT"
done
# the record layer each nacred takes, from its log (a debug-level copy)
for p in nacred:openssl nacred_compact:compact nacred_t1:openssl nacred_spread:openssl; do
	records_check "${p%%:*}" "${p#*:}"
	say "${p%%:*}: records = \"${p#*:}\" (its log says so)"
	put "${p%%:*}.records" "${p#*:}"
done
put nacred_only.cert_bytes "$(cert_der_bytes "$PORT_nacred")"
put nacred_only.plain_cert_bytes "$(openssl x509 -in "$T/test.crt" -outform DER | wc -c)"

idle_all
conc=nacred # QUICK: the one judged; full runs: all four
[ "${QUICK:-}" = 1 ] || conc=$PROXIES
for p in $conc; do
	say "$p: $IDLE_N concurrent handshakes + requests"
	concurrent "$p"
done
r=1
while [ $r -le "$ROUNDS" ]; do
	say "CPU round $r of $ROUNDS (${DUR} s per run)"
	cpu_round
	r=$((r + 1))
done
cpu_figures
say "nacred alone: another instance rotates every second meanwhile"
rotation_start
latency_all
rotation_end
for p in $PROXIES nacred_t1 nacred_spread upstream; do bg_stop "$p"; done

put meta.quick "${QUICK:-0}"
put meta.seconds "$(($(date +%s) - START))"
put meta.date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
put meta.openssl "$(openssl version | cut -d' ' -f2)"
put meta.hitch "$(hitch --version 2>&1 | awk '{ print $2; exit }')"
put meta.haproxy "$(haproxy -v | awk '{ print $3; exit }')"
put meta.cpus "$(nproc)"
put meta.conns "$IDLE_N"
put meta.lat_rate "$LAT_CONNS connections, $LAT_DELAY_MS ms pause after each response"
mkdir -p "$OUT"
cp "$T/results.txt" "$OUT/latest.txt"
sh bench/report.sh "$OUT/latest.txt" "$OUT" || die "report failed"
cat "$OUT/latest.md"
