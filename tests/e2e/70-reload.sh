# 70-reload: SIGHUP with a good new file changes what new connections get
# (upstream, listen address, min_version) while live connections finish on
# the configuration they started with; a bad file is refused and the old
# configuration keeps serving.

upstream rl_alpha "unix:$T/alpha.sock" --name alpha
port P_BETA
upstream rl_beta "tcp:127.0.0.1:$P_BETA" --name beta

conf_defaults
port P_RL
C_LISTEN="tcp:127.0.0.1:$P_RL"
C_UP="unix:$T/alpha.sock"
conf "$T/reload.conf"
nacred rl "$T/reload.conf" "$P_RL"

# hup_and_wait NAME PATTERN: SIGHUP, then wait for the (n+1)th PATTERN line
hup_and_wait() {
	_before=$(grep -cE "$2" "$T/$1.err")
	bg_signal "$1" HUP
	_i=0
	while [ "$(grep -cE "$2" "$T/$1.err")" -le "$_before" ] && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	[ $_i -lt 100 ]
}

check_eq "before reload: app alpha (unix)" "$(https "$P_RL" /name)" "alpha"

# a slow download that spans the reload: ~4 s at 1 MiB/s
bg rl_slow sh -c "curl -sk --max-time 30 --limit-rate 1M https://127.0.0.1:$P_RL/bytes/4000000 | sha256sum"
sleep 0.5

C_UP="tcp:127.0.0.1:$P_BETA"
conf "$T/reload.conf"
check "SIGHUP with a good file: 'reloaded configuration' logged" \
	hup_and_wait rl 'reloaded configuration'
check_eq "after reload: new connections reach app beta (tcp)" \
	"$(https "$P_RL" /name)" "beta"
check "the download that started before the reload is still running" bg_running rl_slow
bg_wait rl_slow 30 >/dev/null
check_eq "the download that spans the reload completes intact" \
	"$(cut -d' ' -f1 "$T/rl_slow.out")" "$(pattern_sha 4000000)"

# a bad file: refused, reason logged, old configuration still serves
cp "$T/reload.conf" "$T/reload.good"
printf 'workers = ;\n' >>"$T/reload.conf"
bad_line=$(wc -l <"$T/reload.conf")
check "SIGHUP with a bad file: 'reload failed' logged" \
	hup_and_wait rl 'reload failed'
check_has "reload failure names file and line" \
	"$(grep 'reload failed' "$T/rl.err" | tail -n 1)" "$T/reload.conf:$bad_line:"
check_eq "after a failed reload: the old configuration serves (beta)" \
	"$(https "$P_RL" /name)" "beta"
C_LISTEN="tcp:127.0.0.1:$P_BETA"  # app beta listens there
conf "$T/reload.conf"
check "SIGHUP with a listen address already in use: 'reload failed' logged" \
	hup_and_wait rl 'reload failed'
check_has "reload failure says why (address in use)" \
	"$(grep 'reload failed' "$T/rl.err" | tail -n 1)" "in use"
check_eq "after the second failed reload: still beta on the old port" \
	"$(https "$P_RL" /name)" "beta"

# move the listener, tighten min_version; back to app alpha
port P_RL2
C_LISTEN="tcp:127.0.0.1:$P_RL2"
C_UP="unix:$T/alpha.sock"
C_MIN=TLSv1.3
conf "$T/reload.conf"
check "SIGHUP: move the listener to a new port" hup_and_wait rl 'reloaded configuration'
check_eq "new port serves app alpha" "$(https "$P_RL2" /name)" "alpha"
https "$P_RL" /name >/dev/null 2>&1
check_eq "old port is closed (curl: could not connect)" "$?" 7
out=$(tlsclient get --connect "tcp:127.0.0.1:$P_RL2" --tls-version 1.2 --timeout 10 2>&1)
check_has "min_version TLSv1.3 after reload: a TLS 1.2 client fails its handshake" \
	"$out" "handshake: "
out=$(tlsclient get --connect "tcp:127.0.0.1:$P_RL2" --tls-version 1.3 --timeout 10 2>&1)
check_has "min_version TLSv1.3 after reload: a TLS 1.3 client is served" "$out" "200 OK"

nacred_stop rl
bg_stop rl_alpha
bg_stop rl_beta
