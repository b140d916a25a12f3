#!/bin/sh
# bench/run.sh: nacred against hitch, HAProxy and nginx's stream module,
# run by `make bench [QUICK=1]`. Every proxy runs with the same number of
# workers: the main table with one each, a second table with two each.
# nacred is measured twice, with each record layer: `nacred` with the
# default (records = "openssl") and `nacred_compact` (records =
# "compact"). One upstream (build/tools/upstream, loopback TCP) behind all,
# which run at the same time on their own ports and take turns under the
# same load. Every figure is the proxy's own CPU time (or memory) per unit
# of work, so the noise of a shared 2-core machine moves throughput much
# more than the figures. Order: idle memory on freshly started proxies
# (one worker, three rounds), then the one-worker CPU rounds (with
# OpenSSL's in-memory floor in each), latency and rotation, then the
# two-worker CPU rounds. Each CPU round ends with two plain TCP relays (no
# TLS: nginx-stream and HAProxy in mode tcp), per connection with one
# request and per keep-alive request: what no TLS proxy can go below.
# Writes bench/results/latest.{txt,json,md,svg}.
# QUICK=1: shorter runs, one round (a couple of minutes).
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
. bench/proxies.sh

NACRED=${NACRED:-build/nacred}
UPSTREAM=${UPSTREAM:-build/tools/upstream}
TLSCLIENT=${TLSCLIENT:-build/tools/tlsclient}
HSLOAD=${HSLOAD:-build/bench/hsload}
SSLFLOOR=${SSLFLOOR:-build/bench/sslfloor}
OUT=${BENCH_OUT:-bench/results}
PROXIES="nacred nacred_compact hitch haproxy nginx"
PEERS="hitch haproxy nginx"
RELAYS="relay_nginx relay_haproxy" # plain TCP, no TLS: the relay floor
IDLE_N=${IDLE_N:-5000}
if [ "${QUICK:-}" = 1 ]; then
	DUR=2 ROUNDS=1 IDLE_ROUNDS=1 LAT_DUR=2 FLOOR_N=300
else
	DUR=4 ROUNDS=3 IDLE_ROUNDS=3 LAT_DUR=5 FLOOR_N=1000
fi
CONNS=8         # connections for the CPU runs (hsload, wrk keep-alive)
BULK_CONNS=4
LAT_CONNS=4     # latency: 4 connections, 10 ms pause after each response
LAT_DELAY_MS=10 # (about 400 requests/s: a moderate, fixed rate)

for b in "$NACRED" "$UPSTREAM" "$TLSCLIENT" "$HSLOAD" "$SSLFLOOR"; do
	[ -x "$b" ] || die "$b is missing: run make all tools first"
done
NACRED_FROM=$NACRED
# run copies: the binaries measured stay the same for the whole run even if
# build/ is rebuilt meanwhile
for b in NACRED UPSTREAM TLSCLIENT HSLOAD SSLFLOOR; do
	_f=$(eval echo \$$b)
	cp "$_f" "$T/bin_${_f##*/}" || die "cannot copy $_f"
	eval "$b=\$T/bin_\${_f##*/}"
done
for c in hitch haproxy nginx wrk gnuplot openssl ss python3; do
	command -v $c >/dev/null || die "$c is missing: sh tests/deps.sh bench"
done
[ -r /usr/lib/nginx/modules/ngx_stream_module.so ] ||
	die "nginx's stream module is missing: sh tests/deps.sh bench"
# every proxy needs 2 fds per idle connection, the upstream one per
# connection; one proxy holds connections at a time
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge $((IDLE_N * 2 + 100)) ] ||
	die "ulimit -n is $(ulimit -n); the idle test needs $((IDLE_N * 2 + 100))"

# s_time's request: "GET <this> HTTP/1.0\r\n\r\n"; the upstream keeps an
# HTTP/1.0 connection open unless asked to close, so the path carries a
# Connection: close header (and a dummy one to swallow s_time's "HTTP/1.0")
STIME_WWW=$(printf '/ HTTP/1.0\r\nConnection: close\r\nX-Pad:')

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

# rec NAME KIND CPU COUNT ERRORS: one run, appended to $T/wW.NAME.KIND
rec() { echo "$3 $4 $5" >>"$T/w$WORKERS.$1.$2"; }

# wrk_run NAME KIND WRK-ARGS...: wrk against NAME's port while NAME's CPU
# is counted
wrk_run() {
	_name=$1 _k=$2
	shift 2
	_cpu=$(cpu_during "$_name" wrk -t1 -d"${DUR}s" "$@")
	_r=$(wrk_requests "$T/run.out")
	[ -n "$_r" ] && [ "$_r" -gt 0 ] ||
		die "wrk got no responses from $_name: $(tr '\n' '|' <"$T/run.out")"
	rec "$_name" "$_k" "$_cpu" "$_r" "$(wrk_errors "$T/run.out")"
}

url() { echo "https://127.0.0.1:$(eval echo \$PORT_$1)$2"; }
# http_url NAME PATH: the relays speak plain HTTP (no TLS)
http_url() { echo "http://127.0.0.1:$(eval echo \$PORT_$1)$2"; }

# hs_run NAME: full handshakes with bench/hsload (a new SSL object and no
# session per connection, 8 at a time; wrk would resume)
hs_run() {
	_cpu=$(cpu_during "$1" "$HSLOAD" 127.0.0.1 "$(eval echo \$PORT_$1)" $CONNS "$DUR")
	read -r _w _r _w _e _w _res _rest <"$T/run.out" 2>/dev/null
	[ "${_r:-0}" -gt 0 ] 2>/dev/null ||
		die "hsload got no responses from $1: $(tr '\n' '|' <"$T/run.out")"
	[ "$_res" = 0 ] || die "hsload: $_res of $_r handshakes with $1 were resumed"
	rec "$1" hs "$_cpu" "$_r" "$_e"
}

# st_run NAME: full handshakes with `openssl s_time -new -www`, one
# connection at a time, one request each (HTTP/1.0, Connection: close)
st_run() {
	_cpu=$(cpu_during "$1" openssl s_time -connect "127.0.0.1:$(eval echo \$PORT_$1)" \
		-new -www "$STIME_WWW" -time "$DUR")
	_r=$(awk '/connections in .* real seconds/ { print $1 }' "$T/run.out")
	_b=$(awk '/connections in .* real seconds/ { print $(NF - 4) }' "$T/run.out")
	[ "${_r:-0}" -gt 0 ] 2>/dev/null && [ "${_b:-0}" -gt 0 ] 2>/dev/null ||
		die "s_time got no responses from $1: $(tr '\n' '|' <"$T/run.out" | tail -c 300)"
	rec "$1" st "$_cpu" "$_r" 0
}

# floor_run: OpenSSL's server side of the same handshake in memory (same
# key type, group, suite, no tickets, a certificate extension the size of
# nacred's evidence), CPU per handshake in µs, measured by sslfloor itself
floor_run() {
	"$SSLFLOOR" handshake "$FLOOR_N" 0 "$FLOOR_PAD" >"$T/floor.out" 2>&1 ||
		die "sslfloor failed: $(tr '\n' '|' <"$T/floor.out")"
	_us=$(sed -n 's/.*per full handshake: \([0-9.]*\) us.*/\1/p' "$T/floor.out")
	[ -n "$_us" ] || die "sslfloor: $(tr '\n' '|' <"$T/floor.out")"
	echo "$_us" >>"$T/w$WORKERS.floor.us"
}

cpu_round() {
	floor_run
	for p in $PROXIES; do
		say "  $p: full handshakes (hsload, s_time), keep-alive, 1 MiB responses"
		hs_run "$p"
		st_run "$p"
		wrk_run "$p" ka -c$CONNS "$(url "$p" /)"
		wrk_run "$p" bulk -c$BULK_CONNS "$(url "$p" /bytes/1048576)"
		if [ "$p" = nacred ] && [ "$WORKERS" = 1 ]; then
			say "  nacred with session_tickets = 1: full handshakes"
			hs_run nacred_t1
		fi
		if [ "$p" = nacred ] && [ "$WORKERS" -gt 1 ]; then
			say "  nacred with balance = spread: full handshakes, keep-alive"
			hs_run nacred_spread
			wrk_run nacred_spread ka -c$CONNS "$(url nacred_spread /)"
		fi
	done
	# the relay floor, after the TLS proxies: the same requests with no
	# TLS, one per connection (as hsload: 8 at a time, Connection: close)
	# and keep-alive (as the TLS proxies' keep-alive run)
	for p in $RELAYS; do
		say "  $p (no TLS): one request per connection, keep-alive"
		wrk_run "$p" conn -c$CONNS -H 'Connection: close' "$(http_url "$p" /)"
		wrk_run "$p" ka -c$CONNS "$(http_url "$p" /)"
	done
}

# per_unit FILE EXPR: EXPR of cpu ($1) and count ($2) for every round,
# space-separated
per_unit() {
	[ -r "$1" ] || return 0
	awk "{ printf \"%s%.3f\", (NR > 1 ? \" \" : \"\"), $2 } END { print \"\" }" "$1"
}

cpu_figures() { # wW.NAME.KIND=round1 round2 ...
	for p in $PROXIES nacred_t1 nacred_spread; do
		_f=$T/w$WORKERS.$p
		[ -r "$_f.hs" ] || continue
		put "w$WORKERS.$p.hs" "$(per_unit "$_f.hs" '$1 * 1e6 / $2')"
		put "w$WORKERS.$p.hs_rps" "$(per_unit "$_f.hs" "\$2 / $DUR")"
		[ -r "$_f.st" ] && put "w$WORKERS.$p.st" "$(per_unit "$_f.st" '$1 * 1e6 / $2')"
		[ -r "$_f.ka" ] && put "w$WORKERS.$p.ka" "$(per_unit "$_f.ka" '$1 * 1e6 / $2')"
		[ -r "$_f.bulk" ] && put "w$WORKERS.$p.bulk" "$(per_unit "$_f.bulk" '$1 * 1024 / $2')"
		put "w$WORKERS.$p.errors" "$(cat "$_f".* | awk '{ e += $3 } END { print e + 0 }')"
	done
	put "w$WORKERS.floor.hs" "$(tr '\n' ' ' <"$T/w$WORKERS.floor.us" | sed 's/ $//')"
	# the relays: µs per connection (one request each), per keep-alive
	# request
	for p in $RELAYS; do
		_f=$T/w$WORKERS.$p
		[ -r "$_f.conn" ] || continue
		put "w$WORKERS.$p.conn" "$(per_unit "$_f.conn" '$1 * 1e6 / $2')"
		[ -r "$_f.ka" ] && put "w$WORKERS.$p.ka" "$(per_unit "$_f.ka" '$1 * 1e6 / $2')"
		put "w$WORKERS.$p.errors" "$(cat "$_f".* | awk '{ e += $3 } END { print e + 0 }')"
	done
}

# start_all NAMES: a fresh instance of each on a port of its own
start_all() {
	for p in "$@"; do
		port PORT
		eval "PORT_$p=$PORT"
		start_proxy "$p" "$PORT"
	done
}
stop_all() { for p in "$@"; do bg_stop "$p"; done; }

# ---- idle memory ----
# idle_round NAME: a freshly started NAME (one worker): warm-up of 100
# connections with a request each; RSS 6 s later; IDLE_N idle TLS connections held;
# RSS 0.5 s after the last handshake ("at ready"); then the steady state,
# after the proxy's own trimming: nacred trims its heap at most every 5 s
# after handshakes ended, so RSS is read from 6 s after ready, once a
# second, until two reads in a row differ by less than 1 % of the growth
# (20 s at most); the proxy is stopped after.
idle_round() {
	port PORT
	eval "PORT_$1=$PORT"
	start_proxy "$1" "$PORT"
	"$TLSCLIENT" concurrent -q --connect "tcp:127.0.0.1:$PORT" --conns 100 \
		>"$T/warm.out" 2>&1 ||
		die "$1: warm-up failed: $(tr '\n' '|' <"$T/warm.out")"
	sleep 6 # "before" at steady state too: after nacred's trim of the warm-up
	_m0=$(rss_kib "$1")
	bg "idle_$1" "$TLSCLIENT" idle --connect "tcp:127.0.0.1:$PORT" \
		--conns "$IDLE_N" --hold 300 --timeout 90
	wait_for "$T/idle_$1.out" '^ready|errors' 90 ||
		die "$1: $IDLE_N idle connections not ready in 90 s"
	sleep 0.5 # the upstream sides (nacred connects after the handshake)
	_m1=$(rss_kib "$1")
	sleep 6
	_prev=$(rss_kib "$1") _i=0
	while :; do
		sleep 1
		_m2=$(rss_kib "$1")
		_i=$((_i + 1))
		awk -v a="$_prev" -v b="$_m2" -v z="$_m0" 'BEGIN {
			d = b - a; if (d < 0) d = -d; g = b - z; if (g < 1) g = 1
			exit !(d < 0.01 * g) }' && break
		[ $_i -ge 14 ] && break
		_prev=$_m2
	done
	_held=0
	grep -q "^held\|^ready" "$T/idle_$1.out" &&
		_held=$(awk '/^ready/ { print $2 }' "$T/idle_$1.out")
	bg_stop "idle_$1"
	grep -q "^held $IDLE_N, 0 closed" "$T/idle_$1.out" || _held=0
	bg_stop "$1"
	echo "$(calc .2f "(b - a) / n" -v a="$_m0" -v b="$_m2" -v n="$IDLE_N") $(calc .2f "(b - a) / n" -v a="$_m0" -v b="$_m1" -v n="$IDLE_N") ${_held:-0} $((_i + 6))" >>"$T/idle.$1"
}

idle_all() {
	_r=1
	while [ $_r -le "$IDLE_ROUNDS" ]; do
		for p in $PROXIES; do
			say "idle round $_r of $IDLE_ROUNDS: $p, freshly started, $IDLE_N idle TLS connections"
			idle_round "$p"
			sleep 1
		done
		_r=$((_r + 1))
	done
	for p in $PROXIES; do
		put "idle.$p.kib" "$(awk '{ printf "%s%s", (NR > 1 ? " " : ""), $1 } END { print "" }' "$T/idle.$p")"
		put "idle.$p.at_ready" "$(awk '{ printf "%s%s", (NR > 1 ? " " : ""), $2 } END { print "" }' "$T/idle.$p")"
		put "idle.$p.held" "$(awk '{ printf "%s%s", (NR > 1 ? " " : ""), $3 } END { print "" }' "$T/idle.$p")"
		put "idle.$p.settle_s" "$(awk '{ printf "%s%s", (NR > 1 ? " " : ""), $4 } END { print "" }' "$T/idle.$p")"
	done
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
	if [ -n "$ROT_M0" ] && [ -n "$_m1" ]; then
		put nacred_only.rotation_ms "$(calc .2f "(b - a) / r" -v a="$ROT_M0" -v b="$_m1" -v r="$_rots")"
	else
		put nacred_only.rotation_ms "$_stat"
	fi
}

cpu_rounds() {
	r=1
	while [ $r -le "$ROUNDS" ]; do
		say "CPU round $r of $ROUNDS, $WORKERS worker(s) each (${DUR} s per run)"
		cpu_round
		r=$((r + 1))
	done
	cpu_figures
}

# ---- main ----

START=$(date +%s)
: >"$T/results.txt"
# the nacred measured: the commit, and whether src/ differed from it
# (and which binary, when NACRED names another)
put meta.git "$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src 2>/dev/null || echo +src-changes)$(
	[ "$NACRED_FROM" = build/nacred ] || echo " ($NACRED_FROM)")"
put meta.load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
test_cert
port UP_PORT
bg upstream "$UPSTREAM" --listen "tcp:127.0.0.1:$UP_PORT" --mode http
wait_for "$T/upstream.out" '^ready' 5 || die "upstream did not start: $(cat "$T/upstream.err")"

WORKERS=1
# idle memory first, each proxy freshly started, before any CPU run
idle_all

# one worker each: the main table
start_all $PROXIES nacred_t1 $RELAYS
for p in $PROXIES; do
	params=$(tls_params "$(eval echo \$PORT_$p)")
	say "$p: $params"
	put "$p.tls" "$(echo "$params" | tr ' ' '/')"
	[ "$params" = "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519" ] ||
		die "$p negotiates $params, not TLSv1.3 TLS_AES_256_GCM_SHA384 X25519"
done
# the record layer each nacred takes, from its log (a debug-level copy)
for p in nacred:openssl nacred_compact:compact nacred_t1:openssl; do
	records_check "${p%%:*}" "${p#*:}"
	say "${p%%:*}: records = \"${p#*:}\" (its log says so)"
	put "${p%%:*}.records" "${p#*:}"
done
put nacred_only.cert_bytes "$(cert_der_bytes "$PORT_nacred")"
put nacred_only.plain_cert_bytes "$(openssl x509 -in "$T/test.crt" -outform DER | wc -c)"
# the floor's certificate: an extension the size of what nacred's adds
FLOOR_PAD=$(($(get nacred_only.cert_bytes) - $(get nacred_only.plain_cert_bytes)))
[ "$FLOOR_PAD" -gt 0 ] || FLOOR_PAD=0
put meta.floor_pad "$FLOOR_PAD"
# the idle floor: OpenSSL's live heap per idle SSL once its handshake is
# done (in memory, no sockets, no proxy state); with OpenSSL's records
# the default nacred keeps one SSL per connection
"$SSLFLOOR" idle 1000 0 "$FLOOR_PAD" >"$T/idlefloor.out" 2>&1 ||
	die "sslfloor idle failed: $(tr '\n' '|' <"$T/idlefloor.out")"
_b=$(sed -n 's/.*per idle SSL, the BIO pair left out: \([0-9]*\) bytes.*/\1/p' "$T/idlefloor.out")
[ -n "$_b" ] || die "sslfloor idle: $(tr '\n' '|' <"$T/idlefloor.out")"
put idle.floor_ssl_bytes "$_b"
conc=nacred # QUICK: the one judged; full runs: all
[ "${QUICK:-}" = 1 ] || conc=$PROXIES
for p in $conc; do
	say "$p: $IDLE_N concurrent handshakes + requests"
	concurrent "$p"
done
cpu_rounds
say "nacred alone: another instance rotates every second meanwhile"
rotation_start
latency_all
rotation_end
stop_all $PROXIES nacred_t1 $RELAYS

# two workers each: the second table
WORKERS=2
start_all $PROXIES nacred_spread $RELAYS
cpu_rounds
stop_all $PROXIES nacred_spread $RELAYS upstream

put meta.load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
put meta.quick "${QUICK:-0}"
put meta.rounds "$ROUNDS"
put meta.dur "$DUR"
put meta.seconds "$(($(date +%s) - START))"
put meta.date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
put meta.openssl "$(openssl version | cut -d' ' -f2)"
put meta.hitch "$(hitch --version 2>&1 | awk '{ print $2; exit }')"
put meta.haproxy "$(haproxy -v | awk '{ print $3; exit }')"
put meta.nginx "$(nginx -v 2>&1 | sed 's|.*nginx/||')"
put meta.cpus "$(nproc)"
put meta.conns "$IDLE_N"
put meta.lat_rate "$LAT_CONNS connections, $LAT_DELAY_MS ms pause after each response"
mkdir -p "$OUT"
cp "$T/results.txt" "$OUT/latest.txt"
sh bench/report.sh "$OUT/latest.txt" "$OUT" || die "report failed"
cat "$OUT/latest.md"
