# 90-maxconn: with max_connections = 5 and five connections held open, a
# sixth client waits (it is not served, nor dropped) until one closes.

upstream mc_app "unix:$T/mc.sock"
conf_defaults
port P_MC
C_LISTEN="tcp:127.0.0.1:$P_MC"
C_UP="unix:$T/mc.sock"
C_MAXCONN=5
C_HS=10s
conf "$T/mc.conf"
nacred mc "$T/mc.conf" "$P_MC"

bg mc_hold4 "$TLSCLIENT" idle --connect "tcp:127.0.0.1:$P_MC" --conns 4 --hold 30
check "four connections complete their handshakes" wait_for "$T/mc_hold4.out" '^ready 4' 10
bg mc_hold1 "$TLSCLIENT" idle --connect "tcp:127.0.0.1:$P_MC" --conns 1 --hold 30
check "a fifth completes its handshake" wait_for "$T/mc_hold1.out" '^ready 1' 10
bg mc_sixth sh -c "curl -sk --max-time 20 https://127.0.0.1:$P_MC/"
sleep 1.5
check "the sixth client is not served while five are open" bg_running mc_sixth
check "the five held connections are still open" \
	eval 'bg_running mc_hold4 && bg_running mc_hold1'
t0=$(now)
bg_signal mc_hold1 TERM  # tlsclient closes its one connection and exits
rc=$(bg_wait mc_sixth 10)
check_eq "once one closes, the sixth client is served" \
	"$rc: $(cat "$T/mc_sixth.out")" "0: hello from the enclave app"
check_range "the sixth is served promptly after one closes (s)" \
	"$(elapsed "$t0")" 0 3
check "the other four stayed open" bg_running mc_hold4
bg_signal mc_hold4 TERM
rc=$(bg_wait mc_hold4 5)
check_eq "the four held connections were never cut" \
	"$rc: $(tail -n 1 "$T/mc_hold4.out")" "0: held 4, 0 closed early"
check_eq "afterwards nacred serves as usual" "$(https "$P_MC" /)" \
	"hello from the enclave app"

nacred_stop mc
bg_stop mc_app
