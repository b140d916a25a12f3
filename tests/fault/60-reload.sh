# 60-reload: SIGHUP with files that cannot be loaded (a syntax error, an
# unknown key, a directory, a FIFO): the running configuration stays and
# keeps serving; a FIFO must not block the daemon. Then a storm of 20
# reloads 100 ms apart under full-handshake load: no client sees an error.

upstream rf_app "unix:$T/rf.sock"
conf_defaults
port P_RF
C_LISTEN="tcp:127.0.0.1:$P_RF"
C_UP="unix:$T/rf.sock"
conf "$T/rf.conf"
cp "$T/rf.conf" "$T/rf.good"
nacred rf "$T/rf.conf" "$P_RF"

# bad_reload WHAT: the file in place is bad; SIGHUP; check and serve
bad_reload() {
	if hup_wait rf 'reload failed' 5; then
		l=$(grep 'reload failed' "$T/rf.err" | tail -n 1)
		check_has "$1: 'reload failed ... keeping the running configuration'" \
			"$l" "keeping the running configuration"
		echo "#   $l"
	else
		notok "$1: 'reload failed' logged" "nothing logged in 5 s"
	fi
	check_eq "$1: still served" "$(https "$P_RF" /)" "$HELLO"
}
printf 'workers = ;\n' >>"$T/rf.conf"
bad_reload "syntax error"
cp "$T/rf.good" "$T/rf.conf"
printf 'no_such_key = 1;\n' >>"$T/rf.conf"
bad_reload "unknown key"
rm -f "$T/rf.conf"
mkdir "$T/rf.conf"
bad_reload "config path is a directory"
rmdir "$T/rf.conf"
cp "$T/rf.good" "$T/rf.conf"
check "a good file again: reloaded" hup_wait rf 'reloaded configuration'
serves rf "$P_RF"
nacred_stop rf

# --- a FIFO as the configuration: opening it for reading would block until a
# writer comes; nacred must refuse it by type instead. Two instances: one
# gets its regular file back and a second SIGHUP, the other SIGTERM while
# the FIFO is still in place.
conf_defaults
port P_FF
C_LISTEN="tcp:127.0.0.1:$P_FF"
C_UP="unix:$T/rf.sock"
conf "$T/ff.conf"
cp "$T/ff.conf" "$T/ff.good"
nacred ff "$T/ff.conf" "$P_FF"
port P_FG
C_LISTEN="tcp:127.0.0.1:$P_FG"
conf "$T/fg.conf"
nacred fg "$T/fg.conf" "$P_FG"
rm -f "$T/ff.conf" "$T/fg.conf"
mkfifo "$T/ff.conf" "$T/fg.conf"
if hup_wait ff 'reload failed' 3; then
	ok "FIFO as config: the reload fails at once"
	check_has "FIFO as config: the log names the rule (a regular file)" \
		"$(grep 'reload failed' "$T/ff.err" | tail -n 1)" "regular file"
else
	notok "FIFO as config: the reload fails at once" "nothing logged in 3 s: blocked opening the FIFO?"
fi
check_eq "FIFO as config: still served" "$(https "$P_FF" /)" "$HELLO"
mv "$T/ff.good" "$T/ff.conf"   # a regular file again, the FIFO unlinked
check "FIFO as config: a second SIGHUP after restoring a regular file works" \
	hup_wait ff 'reloaded configuration' 5
serves ff "$P_FF"
nacred_stop ff

bg_signal fg HUP
sleep 0.5
t0=$(now)
bg_signal fg TERM
rc=$(bg_wait fg 5)
if [ "$rc" = timeout ]; then
	notok "FIFO as config, SIGHUP then SIGTERM: nacred stops within 5 s" "still running after 5 s"
	# a writer unblocks the open(); then the SIGTERM can be handled
	timeout 2 sh -c "exec 3>'$T/fg.conf'" 2>/dev/null
	rc=$(bg_wait fg 5)
	[ "$rc" = timeout ] && { bg_signal fg KILL; bg_wait fg 2 >/dev/null; rc=killed; }
else
	ok "FIFO as config, SIGHUP then SIGTERM: nacred stops within 5 s ($(elapsed "$t0") s)"
fi
nacred_verdict fg "$rc" 0

# --- a reload storm under load: 20 SIGHUPs 100 ms apart while hsload runs
conf_defaults
C_LEVEL=info
port P_RS
C_LISTEN="tcp:127.0.0.1:$P_RS"
C_UP="unix:$T/rf.sock"
C_HS=10s
conf "$T/rs.conf"
nacred rs "$T/rs.conf" "$P_RS"
bg rs_load "$HSLOAD" 127.0.0.1 "$P_RS" 16 6
sleep 1
i=0
while [ $i -lt 20 ]; do
	bg_signal rs HUP
	sleep 0.1
	i=$((i + 1))
done
bg_wait rs_load 20 >/dev/null
out=$(cat "$T/rs_load.out")
echo "# hsload: $out"
check_eq "reload storm: hsload ran to its end" "$(cat "$T/rs_load.rc" 2>/dev/null)" 0
check_eq "reload storm: 0 errors from hsload" "$(printf '%s' "$out" | awk '{ print $4 }')" 0
check "reload storm: hsload made requests ($(printf '%s' "$out" | awk '{ print $2 }'))" \
	test "$(printf '%s' "$out" | awk '{ print $2 + 0 }')" -gt 0
wait_for "$T/rs.err" 'reloaded configuration \(generation 2[01]\)' 10
n=$(grep -c 'reloaded configuration' "$T/rs.err")
check "reload storm: the reloads were done ($n of 20 logged)" test "$n" -ge 1
check "reload storm: nacred alive" bg_running rs
serves rs "$P_RS"
nacred_stop rs
bg_stop rf_app
