#!/bin/sh
# bench/report.sh RESULTS DIR: turns the KEY=VALUE figures bench/run.sh
# collected into DIR/latest.json, DIR/latest.md (table, ratios, PASS/MISS per
# target) and DIR/latest.svg (gnuplot, bench/plot.gp). nacred is there twice:
# "nacred" with its default record layer (records = "openssl"), on which the
# targets are judged, and "nacred_compact" (records = "compact"), shown next
# to it with its ratios. Runs on its own too:
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
	printf '  "%s": {' "$1"
	# the nacreds: which record layer ("openssl" or "compact")
	[ -z "$(get "$1.records")" ] || printf '"records": "%s", ' "$(get "$1.records")"
	printf '"handshake_us": %s, "keepalive_us": %s, "bulk_s_per_gib": %s, ' \
		"$(num "$1.handshake_us")" "$(num "$1.keepalive_us")" "$(num "$1.bulk_s_per_gib")"
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
	for p in nacred nacred_compact hitch haproxy; do proxy_json "$p"; done
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
	n=$(get "nacred.$2") c=$(get "nacred_compact.$2") h=$(get "hitch.$2") a=$(get "haproxy.$2")
	echo "| $1 | $n | $c | $h | $a | $(ratio "$n" "$h") | $(ratio "$c" "$h") | $(ratio "$n" "$a") | $(ratio "$c" "$a") | $3 | $4 |"
}

# sub LABEL VALUE KEY: a row of one more nacred (tickets, spread) under
# nacred's, with its ratios in nacred's columns
sub() {
	[ -z "$2" ] ||
	echo "| $1 | $2 | | | | $(ratio "$2" "$(get "hitch.$3")") | | $(ratio "$2" "$(get "haproxy.$3")") | | | |"
}

N=$(get meta.conns)
# targets NAME: sets _hs _ka _bulk (ratios to hitch), _idle (KiB) and _held,
# _conc (PASS/MISS) for nacred (judged) or nacred_compact (shown)
targets() { # NAME
	_hs=$(ratio "$(get "$1.handshake_us")" "$(get hitch.handshake_us)")
	_ka=$(ratio "$(get "$1.keepalive_us")" "$(get hitch.keepalive_us)")
	_bulk=$(ratio "$(get "$1.bulk_s_per_gib")" "$(get hitch.bulk_s_per_gib)")
	_idle=$(get "$1.idle_kib_per_conn")
	_held=MISS
	[ "$(get "$1.idle_held")" = "$N" ] && _held=PASS
	_conc=MISS
	[ "$(get "$1.concurrent_errors")" = 0 ] && [ "$(get "$1.concurrent_ok")" = "$N" ] &&
		[ "$(get "$1.idle_held")" = "$N" ] && _conc=PASS
	[ -n "$(get "$1.concurrent_ok")" ] || _conc=-
}
targets nacred_compact
c_line="full handshake ${_hs}x hitch ($(verdict "$_hs" 0.8)), keep-alive ${_ka}x ($(verdict "$_ka" 0.8)), bulk ${_bulk}x ($(verdict "$_bulk" 0.9)), idle ${_idle:--} KiB per connection ($(verdict "$_idle" 12)), $N idle connections held ($_held), $N concurrent handshakes + requests with 0 errors ($( [ "$_conc" = - ] && echo 'not measured in QUICK runs' || echo "$_conc"))"
targets nacred
{
	echo "# nacred vs hitch vs HAProxy"
	echo
	echo "$(get meta.date), nacred at $(get meta.git), $(get meta.cpus) CPUs, OpenSSL $(get meta.openssl), hitch $(get meta.hitch), HAProxy $(get meta.haproxy)$( [ "$(get meta.quick)" = 1 ] && echo ', QUICK run (one short round)'). Proxy CPU time per unit of work (utime+stime of all its processes and threads); lower is better."
	echo
	echo "nacred: its default record layer, OpenSSL's (\`records = \"openssl\"\`); nacred compact: the same nacred with its own (\`records = \"compact\"\`: OpenSSL's \`SSL\` freed after the handshake). The targets are judged on the default nacred."
	echo
	echo "| figure | nacred | nacred compact | hitch | HAProxy | nacred/hitch | compact/hitch | nacred/HAProxy | compact/HAProxy | target | result |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
	row "CPU per full handshake (µs)" handshake_us "≤ 0.8x hitch" "$(verdict "$_hs" 0.8)"
	sub "... nacred with session_tickets = 1 (µs)" "$(get nacred_only.handshake_us_tickets)" handshake_us
	sub "... nacred with balance = \"spread\" (µs)" "$(get nacred_only.handshake_us_spread)" handshake_us
	row "CPU per keep-alive request (µs)" keepalive_us "≤ 0.8x hitch" "$(verdict "$_ka" 0.8)"
	sub "... nacred with balance = \"spread\" (µs)" "$(get nacred_only.keepalive_us_spread)" keepalive_us
	row "CPU per GiB in 1 MiB responses (s)" bulk_s_per_gib "≤ 0.9x hitch" "$(verdict "$_bulk" 0.9)"
	row "RSS per idle TLS connection (KiB)" idle_kib_per_conn "≤ 12 KiB" "$(verdict "$_idle" 12)"
	row "p50 latency added (ms)" p50_ms "-" "-"
	row "p99 latency added (ms)" p99_ms "-" "-"
	row "RSS per idle connection right after the handshakes (KiB)" idle_kib_at_ready "" ""
	echo "| $N idle connections held | $(get nacred.idle_held) | $(get nacred_compact.idle_held) | $(get hitch.idle_held) | $(get haproxy.idle_held) | | | | | all | $_held |"
	echo "| $N concurrent handshakes + requests: errors | $(get nacred.concurrent_errors) | $(get nacred_compact.concurrent_errors) | $(get hitch.concurrent_errors) | $(get haproxy.concurrent_errors) | | | | | 0 errors | $_conc |"
	echo
	echo "nacred compact against the same targets: $c_line."
	echo
	echo "nacred alone: one rotation (key + evidence + certificate) costs $(get nacred_only.rotation_ms) ms of CPU ($(get nacred_only.rotations) rotations); its certificate is $(get nacred_only.cert_bytes) bytes (DER) against $(get nacred_only.plain_cert_bytes) for a plain self-signed P-256 one ($(ratio "$(get nacred_only.cert_bytes)" "$(get nacred_only.plain_cert_bytes)")x)."
	echo
	echo "Latency over keep-alive at a fixed, moderate rate ($(get meta.lat_rate)); direct to the upstream p50 $(get direct.p50_abs_ms) ms, p99 $(get direct.p99_abs_ms) ms$( [ -n "$(get direct2.p50_abs_ms)" ] && echo " (again at the end: $(get direct2.p50_abs_ms) / $(get direct2.p99_abs_ms) ms)"); through nacred $(get nacred.p50_abs_ms) / $(get nacred.p99_abs_ms), nacred compact $(get nacred_compact.p50_abs_ms) / $(get nacred_compact.p99_abs_ms), hitch $(get hitch.p50_abs_ms) / $(get hitch.p99_abs_ms), HAProxy $(get haproxy.p50_abs_ms) / $(get haproxy.p99_abs_ms) ms."
	echo "Full handshakes per second reached (2 noisy cores shared with bench/hsload and the upstream; no handshake resumed): nacred $(get nacred.handshake_rps), nacred compact $(get nacred_compact.handshake_rps), hitch $(get hitch.handshake_rps), HAProxy $(get haproxy.handshake_rps). Errors over all CPU runs: nacred $(get nacred.wrk_errors), nacred compact $(get nacred_compact.wrk_errors), hitch $(get hitch.wrk_errors), HAProxy $(get haproxy.wrk_errors). Negotiated: nacred $(get nacred.tls), nacred compact $(get nacred_compact.tls), hitch $(get hitch.tls), HAProxy $(get haproxy.tls). Run time $(get meta.seconds) s."
	echo
	echo "Every round (µs per handshake / µs per keep-alive request / s per GiB): nacred $(get nacred.rounds); nacred compact $(get nacred_compact.rounds); hitch $(get hitch.rounds); HAProxy $(get haproxy.rounds). The table shows the medians."
} >"$D/latest.md"

# ---- chart: each figure relative to hitch ----
dat=$(mktemp "${TMPDIR:-/tmp}/nacre-plot.XXXXXX") || exit 1
h=$(get hitch.idle_kib_per_conn)
for k in handshake_us:handshake:0.8 keepalive_us:keep-alive:0.8 \
	 bulk_s_per_gib:bulk:0.9 "idle_kib_per_conn:idle-memory:$(ratio 12 "$h")"; do
	key=${k%%:*} rest=${k#*:}
	h=$(get "hitch.$key")
	echo "${rest%%:*} $(ratio "$(get "nacred.$key")" "$h") $(ratio "$(get "nacred_compact.$key")" "$h") 1 $(ratio "$(get "haproxy.$key")" "$h") ${rest#*:}"
done >"$dat"
gnuplot -e "data='$dat'; out='$D/latest.svg'" "$here/plot.gp"
rc=$?
rm -f "$dat"
exit $rc
