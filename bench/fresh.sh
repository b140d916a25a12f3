#!/bin/sh
# bench/fresh.sh: the cost of fresh, session-bound evidence
# (docs/evidence-format.md 8), run by `make bench` after bench/run.sh.
# One nacred (sim provider, one worker) behind full-handshake load
# (bench/hsload, 8 connections) with 0 %, 1 %, 50 % and 100 % of the clients
# asking for fresh evidence. Per run: handshakes per second, nacred's CPU
# per handshake (its worker and the fresh-evidence thread: the sim's
# P-384 signature and the document), and the handshake latency of plain
# and fresh clients, p50 and p99, from connect to handshake done. The
# plain clients' latency at 1 % against 0 % shows whether handshakes
# waiting for evidence stall the others on the same worker (they should
# not: the evidence is made on its own thread, the handshake resumes when
# it is ready). The run ends with the assertion: the plain clients' p99
# with half the clients asking (many handshakes waiting for evidence at
# once) is at most twice their p99 with none asking, medians over the
# rounds; else it prints FAIL and exits 1. A provider call made on the
# event loop instead would add each waiting document's time (the sim's
# signature, about a millisecond; an NSM ioctl on Nitro) to the plain
# handshakes queued behind it.
# Writes $BENCH_OUT/fresh.txt (default bench/results).
# QUICK=1: one round of 2 s runs.
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh

NACRED=${NACRED:-build/nacred}
UPSTREAM=${UPSTREAM:-build/tools/upstream}
HSLOAD=${HSLOAD:-build/bench/hsload}
OUT=${BENCH_OUT:-bench/results}
if [ "${QUICK:-}" = 1 ]; then DUR=2 ROUNDS=1; else DUR=4 ROUNDS=3; fi
CONNS=8
for b in "$NACRED" "$UPSTREAM" "$HSLOAD"; do
	[ -x "$b" ] || die "$b is missing: run make all tools first"
done

# CMD's run (output in $T/run.out) and nacred's CPU meanwhile, seconds
cpu_during() {
	_c0=$(cpu_ticks nacred)
	"$@" >"$T/run.out" 2>&1
	cpu_s "$_c0" "$(cpu_ticks nacred)"
}

port P_UP
port P_TLS
bg up "$UPSTREAM" --listen "tcp:127.0.0.1:$P_UP" --mode http
cat >"$T/fresh.conf" <<CONF
listen = ( { address = "tcp:127.0.0.1:$P_TLS"; } );
upstream = { address = "tcp:127.0.0.1:$P_UP"; };
tls = { key = "ec-p256"; alpn = [ "http/1.1" ]; names = [ "localhost" ]; };
workers = 1;
log = { level = "warn"; };
attestation = { provider = "sim"; fresh_pending = 1024; sim = { root = "$T/sim-root.pem"; }; };
CONF
bg nacred "$NACRED" -c "$T/fresh.conf"
wait_listen nacred "$P_TLS" 10 || die "nacred did not start: $(tail -n 3 "$T/nacred.err")"

mkdir -p "$OUT" || exit 1
res=$OUT/fresh.txt
{
	echo "# bench/fresh.sh $(date -u +%Y-%m-%dT%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# one nacred worker, sim provider, $CONNS hsload connections, ${DUR} s runs, $ROUNDS round(s)"
	echo "# pct round hs_per_s cpu_ms_per_hs errors plain_p50_ms plain_p99_ms fresh_p50_ms fresh_p99_ms"
} >"$res"
r=1
while [ $r -le $ROUNDS ]; do
	for pct in 0 1 50 100; do
		cpu=$(HSLOAD_FRESH_PCT=$pct cpu_during "$HSLOAD" 127.0.0.1 "$P_TLS" $CONNS "$DUR")
		read -r _w req _w err _w _res _w secs <"$T/run.out"
		[ "${req:-0}" -gt 0 ] 2>/dev/null || die "hsload: no responses: $(tr '\n' '|' <"$T/run.out")"
		set -- $(sed -n 2p "$T/run.out")
		awk -v p="$pct" -v r="$r" -v n="$req" -v s="$secs" -v c="$cpu" -v e="$err" \
			-v pp50="$4" -v pp99="$6" -v fp50="$8" -v fp99="${10}" 'BEGIN {
			printf "%d %d %.0f %.3f %d %s %s %s %s\n", p, r, n / s,
				c * 1000 / n, e, pp50, pp99, fp50, fp99 }' >>"$res"
		say "fresh $pct %, round $r: $(tail -n 1 "$res")"
	done
	r=$((r + 1))
done
# the no-stall assertion: median plain p99 at 50 % vs at 0 %
verdict=$(awk '
	function median(a, n,   i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	/^#/ { next }
	$1 == 0 { z[++nz] = $7 }
	$1 == 50 { h[++nh] = $7 }
	END {
		if (!nz || !nh) { print "FAIL no plain latencies"; exit }
		a = median(z, nz); b = median(h, nh)
		printf "%s plain p99 with 50 %% asking %.2f ms vs %.2f ms with none: %.2fx (bound 2x)\n",
			(b <= 2 * a ? "PASS" : "FAIL"), b, a, b / a }' "$res")
echo "# no-stall: $verdict" >>"$res"
cat "$res"
case $verdict in PASS*) ;; *) exit 1 ;; esac
