# tests/wait.sh: waiting and port helpers shared by the end-to-end tests
# (tests/e2e/lib.sh) and the benchmark (bench/lib.sh). POSIX sh, sourced
# from the top of the tree; every wait is bounded.

# wait_for FILE PATTERN SECONDS: grep -E PATTERN in FILE until found
wait_for() {
	_i=0
	_max=$(awk -v s="$3" 'BEGIN { printf "%d", s * 20 }')
	while [ $_i -lt "$_max" ]; do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
		_i=$((_i + 1))
	done
	return 1
}

port_listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# port VAR: sets VAR to a free TCP port. A per-run base in 20000-30999 (below
# the ephemeral range, so clients' own ports never collide), then the next
# port nobody listens on. Not in $(...): the counter must survive.
NEXT_PORT=""
port() {
	if [ -z "$NEXT_PORT" ]; then
		NEXT_PORT=$((20000 + ($$ * 37 + $(date +%N | sed 's/^0*//;s/^$/0/')) % 11000))
	fi
	while port_listening "$NEXT_PORT"; do
		NEXT_PORT=$((NEXT_PORT + 1))
	done
	eval "$1=$NEXT_PORT"
	NEXT_PORT=$((NEXT_PORT + 1))
}
