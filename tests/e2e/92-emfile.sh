# 92-emfile: nacred out of file descriptors. With a small RLIMIT_NOFILE,
# a burst of clients exhausts them: accept fails with EMFILE, nacred pauses
# accepting, keeps the connections it has, and serves again once
# descriptors are free. It must neither crash nor spin.

upstream em_app "unix:$T/em.sock"
conf_defaults
C_LEVEL=info
port P_EM
C_LISTEN="tcp:127.0.0.1:$P_EM"
C_UP="unix:$T/em.sock"
conf "$T/em.conf"
# about 20 descriptors go to the process itself (workers, pipes, logs,
# the listener); 64 leaves room for ~20 proxied connections
NACRED_REAL=$NACRED
printf '#!/bin/sh\nulimit -n 64 && exec "%s" "$@"\n' "$(cd "$(dirname "$NACRED_REAL")" && pwd)/$(basename "$NACRED_REAL")" >"$T/nacred-64fds"
chmod +x "$T/nacred-64fds"
NACRED="$T/nacred-64fds"
if nacred em "$T/em.conf" "$P_EM"; then
	NACRED=$NACRED_REAL
	bg em_burst "$TLSCLIENT" idle --connect "tcp:127.0.0.1:$P_EM" --conns 120 --hold 3 --timeout 6
	wait_for "$T/em.err" "pausing accept" 10
	check_has "out of descriptors: nacred logs it and pauses accept" "$(nlog em)" "pausing accept"
	check "nacred survives running out of descriptors" bg_running em
	bg_wait em_burst 15 >/dev/null
	sleep 0.5
	check_eq "after the burst ends, accept resumes and requests are served" \
		"$(https "$P_EM" /)" "hello from the enclave app"
	n=$(grep -c "pausing accept" "$T/em.err")
	check "the EMFILE warning is rate-limited, not one line per retry ($n lines)" test "$n" -lt 50
	nacred_stop em
fi
NACRED=$NACRED_REAL
bg_stop em_app
