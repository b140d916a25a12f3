# 80-drain: SIGTERM stops accepting at once, lets a transfer in progress
# finish intact, then exits 0; connections still open at drain_timeout are
# closed and nacred exits 0 anyway.

upstream dr_app "unix:$T/drain.sock"
conf_defaults
port P_DR
C_LISTEN="tcp:127.0.0.1:$P_DR"
C_UP="unix:$T/drain.sock"
C_DRAIN=20s
conf "$T/drain.conf"
nacred dr "$T/drain.conf" "$P_DR"

# ~4 s download at 1 MiB/s
bg dr_slow sh -c "curl -sk --max-time 30 --limit-rate 1M https://127.0.0.1:$P_DR/bytes/4000000 | sha256sum"
sleep 0.7
t0=$(now)
bg_signal dr TERM
check "SIGTERM: nacred logs that it is draining" wait_for "$T/dr.err" 'draining' 3
# new connections: refused once the listener is closed (poll: main thread)
rc=0
i=0
while [ $i -lt 40 ]; do
	https "$P_DR" / --max-time 3 >/dev/null 2>&1
	rc=$?
	[ $rc -eq 7 ] && break
	sleep 0.05
	i=$((i + 1))
done
check_eq "after SIGTERM: a new connection is refused (curl rc)" "$rc" 7
check "after SIGTERM: nacred still runs while the download is in progress" \
	bg_running dr
check "after SIGTERM: the download is still in progress" bg_running dr_slow
bg_wait dr_slow 30 >/dev/null
check_eq "download in progress at SIGTERM completes intact" \
	"$(cut -d' ' -f1 "$T/dr_slow.out")" "$(pattern_sha 4000000)"
rc=$(bg_wait dr 5)
dt=$(elapsed "$t0")
nacred_verdict dr "$rc" 0
check_range "nacred exits right after the last connection, not at drain_timeout 20s (s)" \
	"$dt" 1 10
check_has "nacred logs 'stopped'" "$(nlog dr)" "stopped"

# drain_timeout reached: idle clients are cut, nacred still exits 0
conf_defaults
port P_DR2
C_LISTEN="tcp:127.0.0.1:$P_DR2"
C_UP="unix:$T/drain.sock"
C_DRAIN=1s
conf "$T/drain2.conf"
nacred dr2 "$T/drain2.conf" "$P_DR2"
bg dr_idle "$TLSCLIENT" idle --connect "tcp:127.0.0.1:$P_DR2" --conns 3 --hold 20
wait_for "$T/dr_idle.out" '^ready' 10
t0=$(now)
bg_signal dr2 TERM
rc=$(bg_wait dr2 10)
dt=$(elapsed "$t0")
nacred_verdict dr2 "$rc" 0
check_range "drain_timeout 1s: nacred exits after about 1 s with idle clients (s)" \
	"$dt" 0.8 3
rc=$(bg_wait dr_idle 5)
check_eq "drain_timeout 1s: the idle clients were disconnected" \
	"$rc: $(tail -n 1 "$T/dr_idle.out")" "1: held 0, 3 closed early"
check_has "drain deadline is logged" "$(nlog dr2)" "drain deadline"

# a second SIGTERM ends the drain at once
conf_defaults
port P_DR3
C_LISTEN="tcp:127.0.0.1:$P_DR3"
C_UP="unix:$T/drain.sock"
C_DRAIN=30s
conf "$T/drain3.conf"
nacred dr3 "$T/drain3.conf" "$P_DR3"
bg dr_idle3 "$TLSCLIENT" idle --connect "tcp:127.0.0.1:$P_DR3" --conns 2 --hold 20
wait_for "$T/dr_idle3.out" '^ready' 10
bg_signal dr3 TERM
wait_for "$T/dr3.err" 'draining' 3
sleep 0.3
t0=$(now)
bg_signal dr3 TERM
rc=$(bg_wait dr3 10)
nacred_verdict dr3 "$rc" 0
check_range "second SIGTERM: exits at once despite drain_timeout 30s (s)" \
	"$(elapsed "$t0")" 0 2
bg_stop dr_idle
bg_stop dr_idle3
bg_stop dr_app
