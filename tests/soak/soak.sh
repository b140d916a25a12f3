#!/bin/sh
# tests/soak/soak.sh: nacred (the RELEASE build, build/nacred) under mixed
# load for DURATION seconds (default 600; 30 at least), as `make soak
# DURATION=600` or `DURATION=600 sh tests/soak/soak.sh`. Not part of make
# check. At the same time:
#   - keep-alive requests: wrk, 16 connections (Debian's wrk; installed by
#     `sh tests/deps.sh bench` if missing);
#   - full handshakes: build/bench/hsload, 4 connections;
#   - large checksummed transfers in a loop: downloads of 10 MiB from
#     build/tools/upstream (http mode) compared with its --pattern, uploads
#     of 10 MiB to /sha256 compared with sha256sum (tests/soak/transfers.sh);
#   - SIGHUP reloads every 30 s (every DURATION/4 s for runs under 2 min);
#   - attestation.rotate = "10s": a new key and certificate every 10 s.
# nacred's RSS (VmRSS) and open descriptors are sampled every 10 s into
# build/soak/samples.csv.
#
# Fails (exit 1, with the reasons) on:
#   - any error counted by wrk (non-2xx responses, socket errors) or hsload;
#   - any checksum mismatch or failed transfer;
#   - nacred dying, or not exiting 0 on SIGTERM at the end;
#   - any "reload failed" or "rotation failed" in nacred's log;
#   - memory growth: RSS at the end of the load more than RSS_SLACK_MIB
#     (16) MiB above the warm-up sample, the one at 60 s (at DURATION/5 for
#     runs under 300 s);
#   - descriptor leaks: once the load has stopped, open descriptors not back
#     to the idle baseline (measured before the load) within +- 10.
# Writes build/soak/report.md (printed at the end), build/soak/rss.svg
# (gnuplot: RSS and descriptors over time), build/soak/samples.csv and
# build/soak/nacred.log.
cd "$(dirname "$0")/../.." || exit 1
DURATION=${DURATION:-600}
RSS_SLACK_MIB=${RSS_SLACK_MIB:-16}
FD_SLACK=10
OUT=build/soak
NACRED=${NACRED:-build/nacred}
UPSTREAM=${UPSTREAM:-build/tools/upstream}
HSLOAD=${HSLOAD:-build/bench/hsload}

case $DURATION in
'' | *[!0-9]*) echo "soak: DURATION must be a number of seconds, not '$DURATION'" >&2; exit 2 ;;
esac
if [ "$DURATION" -lt 30 ]; then
	echo "soak: DURATION must be 30 s at least (got $DURATION)" >&2
	exit 2
fi
for b in "$NACRED" "$UPSTREAM" "$HSLOAD"; do
	[ -x "$b" ] || { echo "soak: $b missing (make all tools)" >&2; exit 1; }
done
if ! command -v wrk >/dev/null 2>&1 || ! command -v gnuplot >/dev/null 2>&1; then
	sh tests/deps.sh bench || exit 1
fi
for c in wrk gnuplot curl sha256sum awk ss; do
	command -v "$c" >/dev/null 2>&1 || { echo "soak: $c missing" >&2; exit 1; }
done

. tests/e2e/lib.sh  # bg, bg_*, upstream, conf, nacred, port, $T (removed at exit)
mkdir -p "$OUT"
rm -f "$OUT/report.md" "$OUT/rss.svg" "$OUT/samples.csv" "$OUT/nacred.log"
ulimit -n "$(ulimit -Hn)" 2>/dev/null

if [ "$DURATION" -ge 300 ]; then WARM_AT=60; else WARM_AT=$((DURATION / 5)); fi
if [ "$DURATION" -ge 120 ]; then HUP_EVERY=30; else HUP_EVERY=$((DURATION / 4)); fi

echo "soak: $DURATION s on $NACRED; warm-up sample at $WARM_AT s; reload every $HUP_EVERY s; rotation every 10 s"

# ---- nacred and its app ----
upstream soak_app "unix:$T/soak.sock" || exit 1
conf_defaults
C_LEVEL=info
port P
C_LISTEN="tcp:127.0.0.1:$P"
C_UP="unix:$T/soak.sock"
C_HS=10s
C_IDLE=60s
C_CONNECT=5s
conf "$T/soak.conf"
sed -i 's|^attestation = .*|attestation = { provider = "sim"; rotate = "10s"; sim = { root = "'"$T"'/simroot/root.pem"; }; };|' "$T/soak.conf"
if ! nacred soak "$T/soak.conf" "$P"; then
	cp "$T/soak.err" "$OUT/nacred.log" 2>/dev/null
	echo "soak: FAIL: nacred did not start (see $OUT/nacred.log)"
	exit 1
fi
PID=$(bg_pid soak)
[ "$(https "$P" /)" = "hello from the enclave app" ] || {
	echo "soak: FAIL: nacred does not serve before the load"; exit 1; }
sleep 1
IDLE_FDS=$(ls "/proc/$PID/fd" | wc -l)
head -c 10485760 /dev/urandom >"$T/upload.bin"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

echo "seconds,rss_kib,fds,phase" >"$OUT/samples.csv"
sample() { # SECONDS PHASE
	_r=$(rss_kib "$PID")
	_f=$(nfds "$PID")
	[ -n "$_r" ] && echo "$1,$_r,$_f,$2" >>"$OUT/samples.csv"
}

# ---- the load ----
t0=$(date +%s)
sample 0 load
bg soak_wrk wrk -t1 -c16 -d"${DURATION}s" --timeout 10s "https://127.0.0.1:$P/"
bg soak_hs "$HSLOAD" 127.0.0.1 "$P" 4 "$DURATION"
bg soak_xfer sh tests/soak/transfers.sh "$P" "$DURATION" "$T/upload.bin"

died=""
hups=0
next_sample=10
next_hup=$HUP_EVERY
while :; do
	sleep 1
	el=$(($(date +%s) - t0))
	if ! bg_running soak; then
		died="nacred died after $el s (status $(cat "$T/soak.rc" 2>/dev/null))"
		break
	fi
	if [ "$el" -ge "$next_sample" ] && [ "$el" -lt "$DURATION" ]; then
		sample "$el" load
		next_sample=$((next_sample + 10))
	fi
	if [ "$el" -ge "$next_hup" ] && [ "$el" -lt "$DURATION" ]; then
		bg_signal soak HUP
		hups=$((hups + 1))
		next_hup=$((next_hup + HUP_EVERY))
	fi
	[ "$el" -ge "$DURATION" ] && break
done
END_RSS=$(rss_kib "$PID")
[ -z "$died" ] && sample "$(($(date +%s) - t0))" load-end

# the generators end by themselves; a transfer under way may take a while
bg_wait soak_wrk 30 >/dev/null
bg_wait soak_hs 30 >/dev/null
bg_wait soak_xfer 150 >/dev/null
for n in soak_wrk soak_hs soak_xfer; do bg_stop "$n"; done
load_end=$(($(date +%s) - t0))

# ---- after the load: descriptors back to the idle baseline ----
AFTER_FDS=""
if [ -z "$died" ] && bg_running soak; then
	i=0
	while [ $i -lt 150 ]; do
		AFTER_FDS=$(nfds "$PID")
		[ "$AFTER_FDS" -le $((IDLE_FDS + FD_SLACK)) ] && break
		sleep 0.1
		i=$((i + 1))
	done
	sleep 1
	AFTER_FDS=$(nfds "$PID")
	sample "$(($(date +%s) - t0))" idle
	SERVES_AFTER=$(https "$P" /)
fi
if [ -z "$died" ]; then
	bg_signal soak TERM
	stop_rc=$(bg_wait soak 20)
	[ "$stop_rc" = timeout ] && { bg_signal soak KILL; bg_wait soak 2 >/dev/null; }
fi
cp "$T/soak.err" "$OUT/nacred.log"
bg_stop soak_app

# ---- numbers ----
wrk_out=$(cat "$T/soak_wrk.out")
wrk_req=$(printf '%s\n' "$wrk_out" | awk '/requests in/ { print $1 }')
wrk_rps=$(printf '%s\n' "$wrk_out" | awk '/^Requests\/sec/ { print $2 }')
wrk_non2xx=$(printf '%s\n' "$wrk_out" | awk '/Non-2xx or 3xx responses/ { print $NF }')
wrk_sock=$(printf '%s\n' "$wrk_out" | awk '/Socket errors/ {
	gsub(",", ""); print $4 + $6 + $8 + $10 }')
wrk_non2xx=${wrk_non2xx:-0}
wrk_sock=${wrk_sock:-0}
hs_out=$(cat "$T/soak_hs.out")
hs_req=$(printf '%s' "$hs_out" | awk '{ print $2 }')
hs_err=$(printf '%s' "$hs_out" | awk '{ print $4 }')
hs_res=$(printf '%s' "$hs_out" | awk '{ print $6 }')
dl_ok=$(grep -c '^download ok' "$T/soak_xfer.out")
ul_ok=$(grep -c '^upload ok' "$T/soak_xfer.out")
xfer_bad=$(grep -vc ' ok$' "$T/soak_xfer.out")
reloads=$(grep -c 'reloaded configuration' "$OUT/nacred.log")
reload_fail=$(grep -c 'reload failed' "$OUT/nacred.log")
rotations=$(grep -c 'rotated key and certificate' "$OUT/nacred.log")
rotate_fail=$(grep -c 'rotation failed' "$OUT/nacred.log")
warm_rss=$(awk -F, -v w="$WARM_AT" 'NR > 1 && $4 == "load" && $1 >= w { print $2; exit }' "$OUT/samples.csv")
stats() { # COLUMN: min max first last over the load samples
	awk -F, -v c="$1" 'NR > 1 && $4 != "idle" {
		if (n == 0 || $c < mn) mn = $c; if (n == 0 || $c > mx) mx = $c
		if (n == 0) f = $c; l = $c; n++ }
		END { printf "%s %s %s %s", mn, mx, f, l }' "$OUT/samples.csv"
}
set -- $(stats 2); rss_min=$1 rss_max=$2 rss_first=$3 rss_last=$4
set -- $(stats 3); fd_min=$1 fd_max=$2 fd_first=$3 fd_last=$4
mib() { awk -v k="$1" 'BEGIN { if (k == "") print "-"; else printf "%.1f", k / 1024 }'; }

# ---- verdict ----
fails=""
fail() { fails="$fails
- $1"; }
[ -n "$died" ] && fail "$died"
[ -z "$died" ] && [ "$stop_rc" != 0 ] && fail "nacred exit status on SIGTERM: $stop_rc (want 0)"
[ -z "$wrk_req" ] && fail "wrk printed no result: $(head -c 300 "$T/soak_wrk.err" | tr '\n' ' ')"
[ "$wrk_non2xx" != 0 ] && fail "wrk: $wrk_non2xx non-2xx responses"
[ "$wrk_sock" != 0 ] && fail "wrk: socket errors: $(printf '%s\n' "$wrk_out" | grep 'Socket errors' | sed 's/^ *//')"
[ -z "$hs_req" ] && fail "hsload printed no result: $(head -c 300 "$T/soak_hs.err" | tr '\n' ' ')"
[ -n "$hs_err" ] && [ "$hs_err" != 0 ] && fail "hsload: $hs_err errors"
[ -n "$hs_res" ] && [ "$hs_res" != 0 ] && fail "hsload: $hs_res resumed handshakes (want full handshakes)"
[ "$xfer_bad" != 0 ] && fail "transfers: $xfer_bad failed or mismatched: $(grep -v ' ok$' "$T/soak_xfer.out" | head -n 3 | tr '\n' ';')"
[ $((dl_ok + ul_ok)) -eq 0 ] && fail "transfers: none completed"
[ "$reload_fail" != 0 ] && fail "$reload_fail reloads failed: $(grep -m 1 'reload failed' "$OUT/nacred.log")"
[ "$rotate_fail" != 0 ] && fail "$rotate_fail rotations failed: $(grep -m 1 'rotation failed' "$OUT/nacred.log")"
[ "$rotations" -eq 0 ] && fail "no rotation logged (rotate = 10s)"
if [ -n "$warm_rss" ] && [ -n "$END_RSS" ]; then
	growth=$((END_RSS - warm_rss))
	[ "$growth" -gt $((RSS_SLACK_MIB * 1024)) ] &&
		fail "RSS grew $(mib "$growth") MiB after warm-up ($(mib "$warm_rss") MiB at $WARM_AT s, $(mib "$END_RSS") MiB at the end; bound $RSS_SLACK_MIB MiB)"
elif [ -z "$died" ]; then
	fail "no warm-up RSS sample at $WARM_AT s"
fi
if [ -z "$died" ]; then
	if [ -z "$AFTER_FDS" ]; then
		fail "descriptors after the load: not measured"
	elif [ "$AFTER_FDS" -gt $((IDLE_FDS + FD_SLACK)) ] || [ "$AFTER_FDS" -lt $((IDLE_FDS - FD_SLACK)) ]; then
		fail "descriptors after the load: $AFTER_FDS, idle baseline $IDLE_FDS (+- $FD_SLACK)"
	fi
	[ "$SERVES_AFTER" = "hello from the enclave app" ] || fail "nacred does not serve after the load"
fi
if [ -z "$fails" ]; then verdict="PASS"; else verdict="FAIL"; fi

# ---- plot ----
cat >"$T/rss.gp" <<EOF
set terminal svg size 900,420 dynamic background rgb "white"
set output "$OUT/rss.svg"
set datafile separator ","
set key bottom right
set title "nacred soak: $DURATION s, $(git rev-parse --short HEAD 2>/dev/null || echo "?")"
set xlabel "seconds"
set ylabel "RSS (MiB)"
set y2label "open descriptors"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set arrow from $WARM_AT, graph 0 to $WARM_AT, graph 1 nohead dt 2 lc rgb "gray"
plot "$OUT/samples.csv" every ::1 using 1:(\$2/1024) with linespoints title "RSS (MiB)" lw 2, \
     "$OUT/samples.csv" every ::1 using 1:3 axes x1y2 with linespoints title "descriptors" lw 2
EOF
gnuplot "$T/rss.gp" 2>"$T/gnuplot.err" || echo "soak: gnuplot: $(cat "$T/gnuplot.err")"

# ---- report ----
{
	echo "# nacred soak report"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo "?")$(git diff --quiet HEAD -- src 2>/dev/null || echo " (src/ modified)")"
	echo "- binary: $NACRED; 2 workers; attestation sim, rotate = 10s"
	echo "- duration: $DURATION s of load (load generators done at $load_end s)"
	echo "- keep-alive requests (wrk, 16 connections): ${wrk_req:-?} (${wrk_rps:-?}/s), non-2xx $wrk_non2xx, socket errors $wrk_sock"
	echo "- full handshakes (hsload, 4 connections): ${hs_req:-?} requests, ${hs_err:-?} errors, ${hs_res:-?} resumed"
	echo "- transfers (10 MiB, checksummed): $dl_ok downloads and $ul_ok uploads ok, $xfer_bad failed or mismatched"
	echo "- reloads: $hups SIGHUP sent, $reloads logged 'reloaded configuration', $reload_fail failed"
	echo "- rotations observed in the log: $rotations ('rotated key and certificate'), $rotate_fail failed"
	echo
	echo "| | min | max | first | last |"
	echo "|---|---|---|---|---|"
	echo "| RSS (MiB) | $(mib "$rss_min") | $(mib "$rss_max") | $(mib "$rss_first") | $(mib "$rss_last") |"
	echo "| descriptors | $fd_min | $fd_max | $fd_first | $fd_last |"
	echo
	echo "- RSS bound: at the end of the load at most $RSS_SLACK_MIB MiB above the warm-up sample at $WARM_AT s: warm-up $(mib "$warm_rss") MiB, end $(mib "$END_RSS") MiB"
	echo "- descriptor bound: after the load back to the idle baseline +- $FD_SLACK: idle $IDLE_FDS, after ${AFTER_FDS:-?}"
	echo "- samples every 10 s: $OUT/samples.csv; plot: $OUT/rss.svg; nacred's log: $OUT/nacred.log"
	echo
	echo "## Verdict: $verdict"
	[ -n "$fails" ] && printf '%s\n' "$fails"
} >"$OUT/report.md"
cat "$OUT/report.md"
[ "$verdict" = PASS ]
