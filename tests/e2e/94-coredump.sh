# 94-coredump: nacred's memory holds TLS keys and plaintext. It never
# writes a core file (PR_SET_DUMPABLE 0, RLIMIT_CORE 0), and even a memory
# dump taken on purpose (gcore, as root) holds no TLS 1.3 traffic secret of
# a live connection on either record path, nor, with "compact", the record
# keys: the SSL object and the record layer live in the pool, which is
# MADV_DONTDUMP, and whatever OpenSSL frees is wiped. The client logs its
# secrets (Python's ssl key log) so the test knows what to look for.
# Release build: an ASan process maps terabytes of shadow memory.

CD_NACRED=build/nacred
upstream cd_app "unix:$T/cd.sock" --mode echo

# cd_probe PORT PID: one connection held open while nacred is dumped; prints
# "LABEL secret=FOUND|absent key=... " per key-log line and the plaintext
cd_probe() {
	/usr/bin/python3 - "$1" "$2" "$T" <<'PY'
import hashlib, hmac, os, socket, ssl, subprocess, sys
port, pid, tmp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
kl = os.path.join(tmp, "cd-keylog")
if os.path.exists(kl):
    os.unlink(kl)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.keylog_filename = kl
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                    server_hostname="localhost")
marker = b"plaintext-marker-" + os.urandom(8).hex().encode()
s.sendall(marker)
got = b""
while len(got) < len(marker):
    got += s.recv(100)
core = os.path.join(tmp, "cd-core")
r = subprocess.run(["gcore", "-o", core, pid], capture_output=True, text=True)
path = core + "." + pid
if not os.path.exists(path):
    print("nocore", r.stdout[-200:].replace("\n", "|"), r.stderr[-200:].replace("\n", "|"))
    sys.exit(0)
data = open(path, "rb").read()
os.unlink(path)
hl = 48 if s.cipher()[0].endswith("SHA384") else 32
kn = 16 if "128" in s.cipher()[0] else 32
def label(secret, lab, n):
    h = hashlib.sha384 if len(secret) == 48 else hashlib.sha256
    info = n.to_bytes(2, "big") + bytes([6 + len(lab)]) + b"tls13 " + lab + b"\x00"
    return hmac.new(secret, info + b"\x01", h).digest()[:n]
print("dumped", len(data))
for line in open(kl):
    if line.startswith("#") or not line.strip():
        continue
    lab, _, sec = line.split()
    b = bytes.fromhex(sec)
    print(lab, "secret=" + ("FOUND" if b in data else "absent"),
          "key=" + ("FOUND" if label(b, b"key", kn) in data else "absent"))
print("plaintext=" + ("FOUND" if marker in data else "absent"))
s.close()
PY
}

if ! command -v gcore >/dev/null 2>&1; then
	notok "coredump: gcore is there" "no gcore (sh tests/deps.sh test installs gdb)"
elif [ ! -x "$CD_NACRED" ]; then
	notok "coredump: a release nacred" "no $CD_NACRED (make all)"
else
	_saved_nacred=$NACRED
	NACRED=$CD_NACRED
	for _p in openssl compact; do
		conf_defaults
		C_UP="unix:$T/cd.sock"
		C_LEVEL=info
		C_TLS_EXTRA=" records = \"$_p\";"
		port P_CD
		C_LISTEN="tcp:127.0.0.1:$P_CD"
		conf "$T/cd-$_p.conf"
		nacred "cd_$_p" "$T/cd-$_p.conf" "$P_CD" || continue
		out=$(cd_probe "$P_CD" "$(bg_pid "cd_$_p")")
		echo "$out" | sed "s/^/# $_p: /"
		check_has "coredump, $_p: gcore took a dump" "$out" "dumped"
		for _l in CLIENT_HANDSHAKE_TRAFFIC_SECRET SERVER_HANDSHAKE_TRAFFIC_SECRET \
			  CLIENT_TRAFFIC_SECRET_0 SERVER_TRAFFIC_SECRET_0 EXPORTER_SECRET; do
			check_has "coredump, $_p: no $_l in it" "$out" "$_l secret=absent"
		done
		check_has "coredump, $_p: no plaintext of the live connection" "$out" "plaintext=absent"
		if [ "$_p" = compact ]; then
			check_has "coredump, compact: no client record key" "$out" \
				"CLIENT_TRAFFIC_SECRET_0 secret=absent key=absent"
			check_has "coredump, compact: no server record key" "$out" \
				"SERVER_TRAFFIC_SECRET_0 secret=absent key=absent"
		fi
		# what a crash does: SIGABRT with core dumps allowed by the shell
		# that started it; nacred itself turned them off
		check_eq "coredump, $_p: core size limit 0 inside nacred" \
			"$(awk '/^Max core file size/ { print $5 " " $6 }' "/proc/$(bg_pid "cd_$_p")/limits")" "0 0"
		nacred_stop "cd_$_p"
	done
	NACRED=$_saved_nacred
fi
bg_stop cd_app
