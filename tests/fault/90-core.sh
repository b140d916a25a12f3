# 90-core: nacred's memory holds its TLS keys and plaintext: it must not be
# dumpable. (a) nacred as user nobody, ulimit -c unlimited, in a directory
# nobody can write, killed with SIGABRT: no core file (control: a sleep run
# the same way leaves one; if not, this machine writes no cores and (a) is
# skipped). (b) a non-dumpable process has root-owned /proc/PID entries:
# /proc/PID/environ of nacred-as-nobody belongs to root.
# The ASan build would never dump (ASan sets RLIMIT_CORE to 0 unless
# disable_coredump=0): ASAN_OPTIONS gets disable_coredump=0 here so that
# only nacred's own hardening can prevent the core.

chmod 711 "$T"
CD="$T/coredir"
mkdir -p "$CD/simroot"
chown nobody:nogroup "$CD" "$CD/simroot"
chmod 755 "$CD"
chmod 700 "$CD/simroot"
AS_NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
CORE_ASAN="${ASAN_OPTIONS:+$ASAN_OPTIONS:}disable_coredump=0"

cores() { find "$CD" -maxdepth 1 -name 'core*' -type f | wc -l; }

# control: a sleep as nobody, same directory and limit, SIGABRT
bg co_sleep sh -c "cd '$CD' && ulimit -c unlimited && exec $AS_NOBODY sleep 30"
sleep 0.3
bg_signal co_sleep ABRT
bg_wait co_sleep 10 >/dev/null
ctl=$(cores)
rm -f "$CD"/core*
echo "# control: sleep as nobody, SIGABRT, ulimit -c unlimited: $ctl core file(s); core_pattern $(cat /proc/sys/kernel/core_pattern)"

port P_COA
upstream co_app "tcp:127.0.0.1:$P_COA"
conf_defaults
C_LEVEL=info
port P_CO
C_LISTEN="tcp:127.0.0.1:$P_CO"
C_UP="tcp:127.0.0.1:$P_COA"
conf "$CD/co.conf"
sed -i 's|^attestation = .*|attestation = { provider = "sim"; sim = { root = "'"$CD"'/simroot/root.pem"; }; };|' "$CD/co.conf"
chmod 644 "$CD/co.conf"
NACRED_REAL=$NACRED
printf '#!/bin/sh\ncd "%s" && ulimit -c unlimited && ASAN_OPTIONS="%s" exec %s "%s" "$@"\n' \
	"$CD" "$CORE_ASAN" "$AS_NOBODY" \
	"$(cd "$(dirname "$NACRED_REAL")" && pwd)/$(basename "$NACRED_REAL")" >"$T/nacred-core"
chmod 755 "$T/nacred-core"

# (b) root-owned /proc entries; then a normal stop
NACRED="$T/nacred-core"
if nacred co "$CD/co.conf" "$P_CO"; then
	pid=$(bg_pid co)
	check_eq "nacred runs as nobody" "$(ps -o user= -p "$pid" | tr -d ' ')" nobody
	check_eq "(b) /proc/PID/environ of nacred-as-nobody is owned by root (not dumpable)" \
		"$(stat -c %U "/proc/$pid/environ")" root
	serves co "$P_CO"
	nacred_stop co
fi

# (a) SIGABRT
if [ "$ctl" -eq 0 ]; then
	ok "(a) skipped: this machine writes no cores"
elif nacred co2 "$CD/co.conf" "$P_CO"; then
	check_eq "(a) before the abort: served" "$(https "$P_CO" /)" "$HELLO"
	bg_signal co2 ABRT
	rc=$(bg_wait co2 30)
	check "(a) nacred died of SIGABRT (status $rc)" test "$rc" != timeout
	n=$(cores)
	if [ "$n" -eq 0 ]; then
		ok "(a) SIGABRT: nacred leaves no core file"
	else
		notok "(a) SIGABRT: nacred leaves no core file" \
			"$(ls -l "$CD"/core* | head -n 1)"
	fi
	rm -f "$CD"/core*
fi
NACRED=$NACRED_REAL
chmod 700 "$T"
bg_stop co_app
