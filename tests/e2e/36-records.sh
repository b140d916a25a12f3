# 36-records: with tls.records = "compact", after a TLS 1.3 handshake
# nacred frees the connection's SSL and seals and opens records itself
# (src/records/record.c); by default OpenSSL keeps them. Real clients across
# it: every TLS 1.3 suite, KeyUpdate both ways (openssl s_client "K" / "k"),
# close_notify, and records a client must not send (a Python client that
# finishes its handshake, then writes raw bytes), each answered with the
# alert TLS 1.3 names. TLS 1.2 keeps OpenSSL's records.

upstream rec_echo "unix:$T/rec-echo.sock" --mode echo
upstream rec_http "unix:$T/rec-http.sock"

conf_defaults
C_TLS_EXTRA=' records = "compact";'
C_UP="unix:$T/rec-echo.sock"
port P_RE
C_LISTEN="tcp:127.0.0.1:$P_RE"
conf "$T/rec-echo.conf"
nacred rec_echo_n "$T/rec-echo.conf" "$P_RE"
C_UP="unix:$T/rec-http.sock"
port P_RH
C_LISTEN="tcp:127.0.0.1:$P_RH"
conf "$T/rec-http.conf"
nacred rec_http_n "$T/rec-http.conf" "$P_RH"

# lines to the echo app, with a pause before each so every line is its own
# record (and "K" / "k" its own s_client command)
slow_lines() {
	for _l in "$@"; do sleep 0.3; echo "$_l"; done
	sleep 0.5
}

out=$(slow_lines one K two K three | timeout 15 openssl s_client \
	-connect "127.0.0.1:$P_RE" -servername localhost -tls1_3 -msg -quiet \
	-no_ign_eof 2>&1)
check_has "records: echo before a KeyUpdate" "$out" "one"
check_has "records: echo after the client's KeyUpdate" "$out" "two"
check_has "records: echo after a second KeyUpdate" "$out" "three"
n=$(printf '%s\n' "$out" | grep -c '^<<< TLS 1.3, Handshake \[length 0005\], KeyUpdate')
check_eq "records: nacred answers each update_requested with its own KeyUpdate" "$n" 2

out=$(slow_lines one k two | timeout 15 openssl s_client \
	-connect "127.0.0.1:$P_RE" -servername localhost -tls1_3 -msg -quiet \
	-no_ign_eof 2>&1)
check_has "records: echo after a KeyUpdate that asks nothing" "$out" "two"
check_lacks "records: ... and nacred keeps its key" "$out" "<<< TLS 1.3, Handshake [length 0005], KeyUpdate"
check_has "records: the log says nacre took the records" "$(nlog rec_echo_n)" "TLS records: compact (SSL freed)"

for s in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
	got=$(https "$P_RH" /bytes/3000000 --tlsv1.3 --tls13-ciphers "$s" | sha256sum | cut -d' ' -f1)
	check_eq "records: $s, 3 MB download intact" "$got" "$(pattern_sha 3000000)"
	head -c 2000000 /dev/urandom >"$T/rec-up.bin"
	got=$(https "$P_RH" /sha256 --tlsv1.3 --tls13-ciphers "$s" --data-binary @"$T/rec-up.bin")
	check_has "records: $s, 2 MB upload intact" "$got" "$(sha256sum <"$T/rec-up.bin" | cut -d' ' -f1)"
done

out=$(printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
	timeout 10 openssl s_client -connect "127.0.0.1:$P_RH" -servername localhost \
	-tls1_2 -ign_eof 2>&1)
check_has "records: TLS 1.2 is answered" "$out" "hello from"
check_has "records: TLS 1.2 stays with OpenSSL" "$(nlog rec_http_n)" "TLS records: openssl (not TLS 1.3)"

# rawrec PORT HEX: a TLS 1.3 handshake (no verification: this is about
# records), then the raw bytes HEX; prints the error the client's TLS
# stack reports for what nacred sent back
rawrec() {
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import socket, ssl, sys
port, raw = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, outg, server_hostname="localhost")
s = socket.create_connection(("127.0.0.1", port), timeout=10)
while True:
    try:
        obj.do_handshake()
        break
    except ssl.SSLWantReadError:
        s.sendall(outg.read())
        d = s.recv(65536)
        if not d:
            print("closed during the handshake"); sys.exit(0)
        inc.write(d)
s.sendall(outg.read())
s.sendall(raw)
try:
    while True:
        d = s.recv(65536)
        if not d:
            inc.write_eof()
        else:
            inc.write(d)
        try:
            obj.read(65536)
        except ssl.SSLWantReadError:
            if not d:
                print("closed without an alert"); break
            continue
except ssl.SSLError as e:
    print("alert:", e.reason)
except OSError as e:
    print("socket:", e)
EOF
}

out=$(rawrec "$P_RH" "1703030020$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')")
check_has "records: a forged record gets bad_record_mac" "$out" "BAD_RECORD_MAC"
out=$(rawrec "$P_RH" "160303000404000000")
check_has "records: a plaintext handshake record gets unexpected_message" "$out" "UNEXPECTED_MESSAGE"
out=$(rawrec "$P_RH" "1403030001011703030020")
check_has "records: change_cipher_spec after the handshake gets unexpected_message" "$out" "UNEXPECTED_MESSAGE"
out=$(rawrec "$P_RH" "1703034800")
check_has "records: a record over 2^14+256 gets record_overflow" "$out" "RECORD_OVERFLOW"
lg=$(nlog rec_http_n)
check_has "records: the log names the forged record" "$lg" "client read: record failed authentication"
check_has "records: the log names the overlong record" "$lg" "record longer than 2^14 + 256"

# the app still answers after all that
check_has "records: nacred serves on" "$(https "$P_RH" /)" "hello from"
# the default: OpenSSL's records, and the log says so
conf_defaults
C_UP="unix:$T/rec-http.sock"
port P_RD
C_LISTEN="tcp:127.0.0.1:$P_RD"
conf "$T/rec-default.conf"
nacred rec_def_n "$T/rec-default.conf" "$P_RD"
check_has "records: default config, TLS 1.3 answered" "$(https "$P_RD" / --tlsv1.3)" "hello from"
check_has "records: by default OpenSSL keeps the records" "$(nlog rec_def_n)" "TLS records: openssl"
check_lacks "records: ... and nacre's own are not used" "$(nlog rec_def_n)" "TLS records: compact"
nacred_stop rec_def_n
nacred_stop rec_echo_n
nacred_stop rec_http_n
bg_stop rec_echo
bg_stop rec_http
