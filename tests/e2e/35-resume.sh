# 35-resume: session resumption. Off by default (every connection checks
# the attestation in its own handshake); tls.session_tickets = N turns on
# N stateless TLS 1.3 tickets (and TLS 1.2 tickets), which resume.

upstream resume_app "unix:$T/resume.sock"
REQ='GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'

# sclient PORT ARGS...: one request through openssl s_client
sclient() {
	_p=$1
	shift
	printf "$REQ" | timeout 10 openssl s_client -connect "127.0.0.1:$_p" \
		-servername localhost -ign_eof "$@" 2>&1
}

conf_defaults
C_UP="unix:$T/resume.sock"
port P_R0
C_LISTEN="tcp:127.0.0.1:$P_R0"
conf "$T/resume0.conf"
nacred resume0 "$T/resume0.conf" "$P_R0"
port P_R1
C_LISTEN="tcp:127.0.0.1:$P_R1"
C_TLS_EXTRA=" session_tickets = 1;"
conf "$T/resume1.conf"
nacred resume1 "$T/resume1.conf" "$P_R1"

for v in tls1_3 tls1_2; do
	rm -f "$T/sess0" "$T/sess1"
	out=$(sclient "$P_R0" -$v -sess_out "$T/sess0")
	check_has "default, $v: the request is answered" "$out" "hello from"
	check_lacks "default, $v: no session ticket is sent" "$out" "TLS session ticket:"
	if [ -s "$T/sess0" ]; then
		out=$(sclient "$P_R0" -$v -sess_in "$T/sess0")
		check_has "default, $v: a second connection is a full handshake" "$out" "New, TLSv1."
		check_lacks "default, $v: ... not a resumed one" "$out" "Reused, TLSv1."
	fi

	out=$(sclient "$P_R1" -$v -sess_out "$T/sess1")
	check_has "session_tickets = 1, $v: the request is answered" "$out" "hello from"
	check "session_tickets = 1, $v: the client saved a session" test -s "$T/sess1"
	out=$(sclient "$P_R1" -$v -sess_in "$T/sess1")
	check_has "session_tickets = 1, $v: the next connection resumes" "$out" "Reused, TLSv1."
	check_has "session_tickets = 1, $v: ... and is answered" "$out" "hello from"
done

# one ticket per full handshake in TLS 1.3, carried with the first response
out=$(sclient "$P_R1" -tls1_3 -msg)
check_eq "session_tickets = 1: exactly one NewSessionTicket" \
	"$(printf '%s\n' "$out" | grep -c 'NewSessionTicket')" 1

# tickets are sealed per generation: after a reload, a full handshake
sclient "$P_R1" -tls1_3 -sess_out "$T/sess2" >/dev/null
bg_signal resume1 HUP
wait_for "$T/resume1.err" 'reloaded' 10 || true
out=$(sclient "$P_R1" -tls1_3 -sess_in "$T/sess2")
check_has "after a reload, an old ticket gives a full handshake" "$out" "New, TLSv1.3"
check_has "... and the request is answered" "$out" "hello from"

nacred_stop resume0
nacred_stop resume1
bg_stop resume_app
