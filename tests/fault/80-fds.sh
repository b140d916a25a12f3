# 80-fds: nacred with a hard and soft descriptor limit of 128 and 400
# clients at once (a handshake and one request each). A client whose
# handshake completes must get its response: nacred may refuse clients
# before or during the handshake, never drop one after it because the
# upstream socket could not be opened. nacred logs its descriptor limits.

upstream fd_app "unix:$T/fd.sock"
conf_defaults
C_LEVEL=info
port P_FD
C_LISTEN="tcp:127.0.0.1:$P_FD"
C_UP="unix:$T/fd.sock"
C_HS=5s
conf "$T/fd.conf"
NACRED_REAL=$NACRED
printf '#!/bin/sh\nulimit -Sn 128 && ulimit -Hn 128 && exec "%s" "$@"\n' \
	"$(cd "$(dirname "$NACRED_REAL")" && pwd)/$(basename "$NACRED_REAL")" >"$T/nacred-128fds"
chmod +x "$T/nacred-128fds"
NACRED="$T/nacred-128fds"
if nacred fd "$T/fd.conf" "$P_FD"; then
	NACRED=$NACRED_REAL
	check_eq "limit 128: the limit is in force" \
		"$(awk '/^Max open files/ { print $4 " " $5 }' "/proc/$(bg_pid fd)/limits")" "128 128"
	l=$(grep -m 1 'descriptors' "$T/fd.err")
	echo "#   $l"
	check "limit 128: nacred logs its descriptor limits at start" test -n "$l"
	out=$(fclient storm "$P_FD" 400 6 /bytes/100000 1 2>&1)
	printf '%s\n' "$out" | sed 's/^/#   /'
	res=$(printf '%s\n' "$out" | tail -n 1)
	check_eq "limit 128, 400 clients: no client dropped after its handshake" "$(field "$res" dropped)" 0
	check "limit 128, 400 clients: clients were served ($(field "$res" served))" \
		test "$(field "$res" served)" -gt 0
	check_eq "limit 128, 400 clients: every client served or refused" \
		$(($(field "$res" served) + $(field "$res" refused) + $(field "$res" dropped))) 400
	check "limit 128: nacred alive" bg_running fd
	sleep 0.5
	serves fd "$P_FD"
	nacred_stop fd
fi
NACRED=$NACRED_REAL
bg_stop fd_app
