#!/bin/sh
# bench/report.sh RESULTS DIR: turns the KEY=VALUE figures bench/run.sh
# collected into DIR/latest.json, DIR/latest.md (table, ratios, PASS/MISS per
# target) and DIR/latest.svg (gnuplot, bench/plot.gp). Runs on its own too:
#   sh bench/report.sh bench/results/latest.txt bench/results
set -u
[ $# -eq 2 ] && [ -r "$1" ] || { echo "usage: report.sh RESULTS DIR" >&2; exit 2; }
R=$1
D=$2
here=$(dirname "$0")

get() { awk -F= -v k="$1" '$1 == k { v = $2 } END { print v }' "$R"; }
num() { v=$(get "$1"); echo "${v:-null}"; }

# ---- JSON ----
proxy_json() { # NAME
	printf '  "%s": {"handshake_us": %s, "keepalive_us": %s, "bulk_s_per_gib": %s, ' \
		"$1" "$(num "$1.handshake_us")" "$(num "$1.keepalive_us")" "$(num "$1.bulk_s_per_gib")"
	printf '"idle_kib_per_conn": %s, "idle_kib_at_ready": %s, "p50_ms": %s, "p99_ms": %s, ' \
		"$(num "$1.idle_kib_per_conn")" "$(num "$1.idle_kib_at_ready")" "$(num "$1.p50_ms")" "$(num "$1.p99_ms")"
	printf '"p50_abs_ms": %s, "p99_abs_ms": %s, "handshakes_per_s": %s, ' \
		"$(num "$1.p50_abs_ms")" "$(num "$1.p99_abs_ms")" "$(num "$1.handshake_rps")"
	printf '"idle_held": %s, "concurrent_ok": %s, "concurrent_errors": %s, "wrk_errors": %s},\n' \
		"$(num "$1.idle_held")" "$(num "$1.concurrent_ok")" \
		"$(num "$1.concurrent_errors")" "$(num "$1.wrk_errors")"
}

{
	echo "{"
	for p in nacred hitch haproxy; do proxy_json "$p"; done
	printf '  "nacred_only": {"handshake_us_session_tickets_1": %s, "handshake_us_balance_spread": %s, "keepalive_us_balance_spread": %s, "rotation_ms": %s, "rotations": %s, "cert_bytes": %s, "plain_cert_bytes": %s},\n' \
		"$(num nacred_only.handshake_us_tickets)" "$(num nacred_only.handshake_us_spread)" \
		"$(num nacred_only.keepalive_us_spread)" "$(num nacred_only.rotation_ms)" "$(num nacred_only.rotations)" \
		"$(num nacred_only.cert_bytes)" "$(num nacred_only.plain_cert_bytes)"
	printf '  "direct": {"p50_ms": %s, "p99_ms": %s, "p50_ms_after": %s, "p99_ms_after": %s},\n' \
		"$(num direct.p50_abs_ms)" "$(num direct.p99_abs_ms)" \
		"$(num direct2.p50_abs_ms)" "$(num direct2.p99_abs_ms)"
	printf '  "meta": {"date": "%s", "git": "%s", "quick": %s, "seconds": %s, "conns": %s, "cpus": %s, "openssl": "%s", "hitch": "%s", "haproxy": "%s"}\n' \
		"$(get meta.date)" "$(get meta.git)" "$(num meta.quick)" "$(num meta.seconds)" "$(num meta.conns)" \
		"$(num meta.cpus)" "$(get meta.openssl)" "$(get meta.hitch)" "$(get meta.haproxy)"
	echo "}"
} >"$D/latest.json"

# ---- table ----
ratio() { # A B
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-";
		else printf "%.2f\n", a / b }'
}

# verdict X LIMIT: PASS when X <= LIMIT
verdict() {
	awk -v x="$1" -v l="$2" 'BEGIN { if (x == "" || x == "-") print "-";
		else print (x + 0 <= l + 0) ? "PASS" : "MISS" }'
}

row() { # LABEL KEY TARGET-TEXT VERDICT
	n=$(get "nacred.$2") h=$(get "hitch.$2") a=$(get "haproxy.$2")
	echo "| $1 | $n | $h | $a | $(ratio "$n" "$h") | $(ratio "$n" "$a") | $3 | $4 |"
}

N=$(get meta.conns)
hs=$(ratio "$(get nacred.handshake_us)" "$(get hitch.handshake_us)")
ka=$(ratio "$(get nacred.keepalive_us)" "$(get hitch.keepalive_us)")
bulk=$(ratio "$(get nacred.bulk_s_per_gib)" "$(get hitch.bulk_s_per_gib)")
conc_ok=MISS
[ "$(get nacred.concurrent_errors)" = 0 ] && [ "$(get nacred.concurrent_ok)" = "$N" ] &&
	[ "$(get nacred.idle_held)" = "$N" ] && conc_ok=PASS
{
	echo "# nacred vs hitch vs HAProxy"
	echo
	echo "$(get meta.date), nacred at $(get meta.git), $(get meta.cpus) CPUs, OpenSSL $(get meta.openssl), hitch $(get meta.hitch), HAProxy $(get meta.haproxy)$( [ "$(get meta.quick)" = 1 ] && echo ', QUICK run (one short round)'). Proxy CPU time per unit of work (utime+stime of all its processes and threads); lower is better."
	echo
	echo "| figure | nacred | hitch | HAProxy | nacred/hitch | nacred/HAProxy | target | result |"
	echo "|---|---:|---:|---:|---:|---:|---|---|"
	row "CPU per full handshake (µs)" handshake_us "≤ 0.8x hitch" "$(verdict "$hs" 0.8)"
	t1=$(get nacred_only.handshake_us_tickets)
	echo "| ... nacred with session_tickets = 1 (µs) | $t1 | | | $(ratio "$t1" "$(get hitch.handshake_us)") | $(ratio "$t1" "$(get haproxy.handshake_us)") | | |"
	sp=$(get nacred_only.handshake_us_spread)
	[ -z "$sp" ] ||
	echo "| ... nacred with balance = \"spread\" (µs) | $sp | | | $(ratio "$sp" "$(get hitch.handshake_us)") | $(ratio "$sp" "$(get haproxy.handshake_us)") | | |"
	row "CPU per keep-alive request (µs)" keepalive_us "≤ 0.8x hitch" "$(verdict "$ka" 0.8)"
	sp=$(get nacred_only.keepalive_us_spread)
	[ -z "$sp" ] ||
	echo "| ... nacred with balance = \"spread\" (µs) | $sp | | | $(ratio "$sp" "$(get hitch.keepalive_us)") | $(ratio "$sp" "$(get haproxy.keepalive_us)") | | |"
	row "CPU per GiB in 1 MiB responses (s)" bulk_s_per_gib "≤ 0.9x hitch" "$(verdict "$bulk" 0.9)"
	row "RSS per idle TLS connection (KiB)" idle_kib_per_conn "≤ 12 KiB" "$(verdict "$(get nacred.idle_kib_per_conn)" 12)"
	row "p50 latency added (ms)" p50_ms "-" "-"
	row "p99 latency added (ms)" p99_ms "-" "-"
	echo "| RSS per idle connection right after the handshakes (KiB) | $(get nacred.idle_kib_at_ready) | $(get hitch.idle_kib_at_ready) | $(get haproxy.idle_kib_at_ready) | $(ratio "$(get nacred.idle_kib_at_ready)" "$(get hitch.idle_kib_at_ready)") | $(ratio "$(get nacred.idle_kib_at_ready)" "$(get haproxy.idle_kib_at_ready)") | | |"
	echo "| $N idle connections held | $(get nacred.idle_held) | $(get hitch.idle_held) | $(get haproxy.idle_held) | | | all | $( [ "$(get nacred.idle_held)" = "$N" ] && echo PASS || echo MISS) |"
	echo "| $N concurrent handshakes + requests: errors | $(get nacred.concurrent_errors) | $(get hitch.concurrent_errors) | $(get haproxy.concurrent_errors) | | | 0 errors | $conc_ok |"
	echo
	echo "nacred alone: one rotation (key + evidence + certificate) costs $(get nacred_only.rotation_ms) ms of CPU ($(get nacred_only.rotations) rotations); its certificate is $(get nacred_only.cert_bytes) bytes (DER) against $(get nacred_only.plain_cert_bytes) for a plain self-signed P-256 one ($(ratio "$(get nacred_only.cert_bytes)" "$(get nacred_only.plain_cert_bytes)")x)."
	echo
	echo "Latency over keep-alive at a fixed, moderate rate ($(get meta.lat_rate)); direct to the upstream p50 $(get direct.p50_abs_ms) ms, p99 $(get direct.p99_abs_ms) ms$( [ -n "$(get direct2.p50_abs_ms)" ] && echo " (again at the end: $(get direct2.p50_abs_ms) / $(get direct2.p99_abs_ms) ms)"); through nacred $(get nacred.p50_abs_ms) / $(get nacred.p99_abs_ms), hitch $(get hitch.p50_abs_ms) / $(get hitch.p99_abs_ms), HAProxy $(get haproxy.p50_abs_ms) / $(get haproxy.p99_abs_ms) ms."
	echo "Full handshakes per second reached (2 noisy cores shared with bench/hsload and the upstream; no handshake resumed): nacred $(get nacred.handshake_rps), hitch $(get hitch.handshake_rps), HAProxy $(get haproxy.handshake_rps). Errors over all CPU runs: nacred $(get nacred.wrk_errors), hitch $(get hitch.wrk_errors), HAProxy $(get haproxy.wrk_errors). Negotiated: nacred $(get nacred.tls), hitch $(get hitch.tls), HAProxy $(get haproxy.tls). Run time $(get meta.seconds) s."
	echo
	echo "Every round (µs per handshake / µs per keep-alive request / s per GiB): nacred $(get nacred.rounds); hitch $(get hitch.rounds); HAProxy $(get haproxy.rounds). The table shows the medians."
} >"$D/latest.md"

# ---- chart: each figure relative to hitch ----
dat=$(mktemp "${TMPDIR:-/tmp}/nacre-plot.XXXXXX") || exit 1
h=$(get hitch.idle_kib_per_conn)
for k in handshake_us:handshake:0.8 keepalive_us:keep-alive:0.8 \
	 bulk_s_per_gib:bulk:0.9 "idle_kib_per_conn:idle-memory:$(ratio 12 "$h")"; do
	key=${k%%:*} rest=${k#*:}
	h=$(get "hitch.$key")
	echo "${rest%%:*} $(ratio "$(get "nacred.$key")" "$h") 1 $(ratio "$(get "haproxy.$key")" "$h") ${rest#*:}"
done >"$dat"
gnuplot -e "data='$dat'; out='$D/latest.svg'" "$here/plot.gp"
rc=$?
rm -f "$dat"
exit $rc
