# 42-balance: which worker takes a new connection. balance = "pack" (the
# default) keeps them on worker 0 until it is pack_busy % busy, then worker 1
# joins, and leaves again once worker 0 cools; balance = "spread" lets the
# kernel deal them out over one SO_REUSEPORT socket per worker.

upstream bal_app "unix:$T/bal.sock"

# workers_of NAME: "accepted ... by worker N" counts, as "w0=A w1=B"
workers_of() {
	nlog "$1" | awk '/accepted from .* by worker/ { n[$NF]++ }
		END { printf "w0=%d w1=%d", n[0], n[1] }'
}

# wait_log NAME PATTERN SECONDS: until the log has a line matching PATTERN
wait_log() {
	_i=0
	while [ $_i -lt $(($3 * 20)) ] && ! nlog "$1" | grep -q "$2"; do
		sleep 0.05
		_i=$((_i + 1))
	done
	nlog "$1" | grep -q "$2"
}

conf_defaults
port P_BAL
C_LISTEN="tcp:127.0.0.1:$P_BAL"
C_UP="unix:$T/bal.sock"
conf "$T/bal.conf"
nacred bal "$T/bal.conf" "$P_BAL"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	https "$P_BAL" / >/dev/null
done
check_eq "pack: 12 connections one after another all go to worker 0" \
	"$(workers_of bal)" "w0=12 w1=0"
check_lacks "pack: a lightly loaded worker 0 never calls for help" \
	"$(nlog bal)" "the next worker joins"
check "pack: one listening socket, shared by the workers" \
	[ "$(ss -Htln "sport = :$P_BAL" | wc -l)" = 1 ]
nacred_stop bal

# pack_busy = 10: a handshake load makes worker 0 hot at once
conf_defaults
port P_SPILL
C_LISTEN="tcp:127.0.0.1:$P_SPILL"
C_UP="unix:$T/bal.sock"
C_EXTRA="pack_busy = 10;"
conf "$T/spill.conf"
nacred spill "$T/spill.conf" "$P_SPILL"
"$HSLOAD" 127.0.0.1 "$P_SPILL" 4 3 >"$T/spill_load.out" 2>&1 &
load_pid=$!
if wait_log spill "worker 0 is [0-9]*% busy: the next worker joins" 3; then
	ok "pack_busy = 10: worker 0 under handshake load calls worker 1 in"
else
	notok "pack_busy = 10: worker 0 under handshake load calls worker 1 in" \
		"no such line; $(workers_of spill)"
fi
wait "$load_pid"
case $(workers_of spill) in
*" w1=0") notok "worker 1 takes connections while worker 0 is hot" \
		"$(workers_of spill); load: $(cat "$T/spill_load.out")" ;;
*) ok "worker 1 takes connections while worker 0 is hot ($(workers_of spill))" ;;
esac
check_has "the load ran without errors" "$(cat "$T/spill_load.out")" " errors 0 "
# the last word on worker 0 must be that it cooled (it could have cooled
# and heated again during the load)
cooled() { nlog spill | grep "worker 0 is [0-9]*% busy" | tail -n 1 | grep -q "come back"; }
i=0
while [ $i -lt 60 ] && ! cooled; do
	sleep 0.05
	i=$((i + 1))
done
check "worker 0 cools once the load stops" cooled
before=$(workers_of spill)
joins_before=$(nlog spill | grep -c "the next worker joins")
for i in 1 2 3 4 5 6; do
	https "$P_SPILL" / >/dev/null
done
after=$(workers_of spill)
joins_after=$(nlog spill | grep -c "the next worker joins")
w0b=${before#w0=}; w0b=${w0b%% *}; w1b=${before##*w1=}
w0a=${after#w0=}; w0a=${w0a%% *}; w1a=${after##*w1=}
# at pack_busy = 10 one handshake of the sanitizer build inside a 50 ms
# window can make worker 0 hot again; then worker 1 may rightly take some
if [ "$joins_after" = "$joins_before" ]; then
	check_eq "after cooling, new connections go to worker 0 again" \
		"$((w0a - w0b)) $((w1a - w1b))" "6 0"
else
	check_eq "after cooling, new connections reach a worker (worker 0 heated again: $((w0a - w0b)) $((w1a - w1b)))" \
		"$((w0a - w0b + w1a - w1b))" 6
fi
nacred_stop spill

conf_defaults
port P_SPREAD
C_LISTEN="tcp:127.0.0.1:$P_SPREAD"
C_UP="unix:$T/bal.sock"
C_EXTRA='balance = "spread";'
conf "$T/spread.conf"
nacred spread "$T/spread.conf" "$P_SPREAD"
i=0
while [ $i -lt 30 ]; do
	https "$P_SPREAD" / >/dev/null
	i=$((i + 1))
done
case $(workers_of spread) in
"w0=0 "* | *" w1=0") notok "spread: 30 connections reach both workers" \
	"$(workers_of spread)" ;;
*) ok "spread: 30 connections reach both workers ($(workers_of spread))" ;;
esac
check "spread: one SO_REUSEPORT socket per worker (two listening sockets)" \
	[ "$(ss -Htln "sport = :$P_SPREAD" | wc -l)" = 2 ]
nacred_stop spread
bg_stop bal_app
