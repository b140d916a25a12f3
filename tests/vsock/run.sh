#!/bin/sh
# tests/vsock/run.sh: nacred over real AF_VSOCK. A host has no vsock loopback,
# so this boots the installed Debian kernel under QEMU (TCG, no devices) with
# an initramfs built here: busybox, the vsock_loopback modules, nacred, the
# test tools and tests/vsock/vsockc. The guest's /init (tests/vsock/init.sh)
# runs the checks on CID 1 and prints "ok - vsock ..." lines on the serial
# console; this script captures it (build/vsock/console.log) and repeats them.
# ACME over vsock: Debian's pebble (the ACME test CA) and pebble-challtestsrv
# (its DNS) run in the guest, socat relays a vsock port to Pebble's TCP port
# as the parent instance of an enclave would, and nacred with
# acme.via = "vsock:1:PORT" gets a certificate through it.
#
# Environment: NACRED, UPSTREAM, TLSCLIENT, NACRE (binaries; NACRED may be the
# ASan build), VSOCK_KVER (kernel version; default: the newest installed with
# modules), VSOCK_ACCEL (default tcg, which needs no /dev/kvm), VSOCK_TIMEOUT
# (hard limit on the VM, 240 s), VSOCK_BYTES (bulk transfer size, 4 MiB).
# A normal run takes about 45 s under TCG; if every check hangs, about 210 s.
cd "$(dirname "$0")/../.." || exit 1
OUT=build/vsock
ROOT=$OUT/root
NACRED=${NACRED:-build/nacred}
UPSTREAM=${UPSTREAM:-build/tools/upstream}
TLSCLIENT=${TLSCLIENT:-build/tools/tlsclient}
NACRE=${NACRE:-build/nacre}
ACCEL=${VSOCK_ACCEL:-tcg}
TIMEOUT=${VSOCK_TIMEOUT:-240}
BYTES=${VSOCK_BYTES:-4194304}
FWD_BYTES=${VSOCK_FWD_BYTES:-16777216}
# a bound on each forward transfer: 15 s plus 1 s per MiB (~0.6 measured)
FWD_SECONDS=$((15 + FWD_BYTES / 1048576))
STEP_SECONDS=20 # bound on one check inside the guest (each takes ~1 s)
# The guest stops starting checks after this many seconds of uptime, so it
# reports and powers off before the hard timeout even when every check hangs.
GUEST_BUDGET=$((TIMEOUT - 30))
MODULES_WANTED="vsock vsock_loopback vmw_vsock_virtio_transport_common"
# One nacred in the guest per line: NAME LISTEN_PORT UPSTREAM_PORT PROXY.
# init.sh starts the upstream app of each (mode http, echo, drain; pp2 is
# http --proxy-v2) on UPSTREAM_PORT.
CONFIGS="http 8443 8080 none
echo 8444 8081 none
drain 8445 8082 none
pp2 8446 8083 v2"

failed=0
ok()    { echo "ok - vsock $*"; }
notok() { echo "not ok - vsock $*"; failed=1; }
prereq_fail() {
	echo "not ok - vsock prerequisites: $* (sh tests/deps.sh vsock installs them)"
	exit 1
}

# ---- prerequisites ----
missing=""
for t in qemu-system-x86_64 busybox cpio gzip modinfo timeout cc; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -z "$missing" ] || prereq_fail "missing$missing"
BUSYBOX=$(command -v busybox)
ldd "$BUSYBOX" >/dev/null 2>&1 &&
	prereq_fail "$BUSYBOX is dynamically linked; install busybox-static"

# newest kernel that has both an image and a modules directory
KVER=${VSOCK_KVER:-}
if [ -z "$KVER" ]; then
	for k in $(ls /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V -r); do
		[ -d "/lib/modules/$k/kernel" ] && { KVER=$k; break; }
	done
fi
[ -n "$KVER" ] || prereq_fail "no /boot/vmlinuz-* with /lib/modules/<version>/ (package linux-image-amd64)"
KERNEL=/boot/vmlinuz-$KVER
[ -r "$KERNEL" ] || prereq_fail "$KERNEL is missing or not readable by $(id -un)"

# One run at a time owns build/vsock (make check and a developer may overlap).
mkdir -p "$OUT" || exit 1
exec 9>"$OUT/.lock"
if command -v flock >/dev/null 2>&1 && ! flock -w 300 9; then
	echo "not ok - vsock build/vsock stayed locked by another run for 300 s"
	exit 1
fi

# ---- initramfs ----
rm -rf "$ROOT"
mkdir -p "$ROOT/bin" "$ROOT/dev" "$ROOT/proc" "$ROOT/sys" "$ROOT/tmp" \
	"$ROOT/etc/nacre" "$ROOT/lib/modules" || exit 1
cp "$BUSYBOX" "$ROOT/bin/busybox" && ln -s busybox "$ROOT/bin/sh" || exit 1
cp tests/vsock/init.sh "$ROOT/init" && chmod 755 "$ROOT/init" || exit 1

# add_module NAME: copies NAME's dependencies (depth first), then NAME,
# decompressed (busybox insmod takes plain .ko), and appends it to the load
# order once. On failure MODERR says why.
ORDER=""
MODERR=""
add_module() {
	local name file dep
	name=$(echo "$1" | tr - _)
	case " $ORDER " in *" $name "*) return 0 ;; esac
	file=$(modinfo -k "$KVER" -F filename "$name" 2>/dev/null)
	case "$file" in
	"") MODERR="module $name not found for kernel $KVER"; return 1 ;;
	"(builtin)") return 0 ;;
	esac
	for dep in $(modinfo -k "$KVER" -F depends "$name" | tr , ' '); do
		add_module "$dep" || return 1
	done
	case "$file" in
	*.ko.xz)  xz -dc "$file" ;;
	*.ko.zst) zstd -dc "$file" ;;
	*.ko.gz)  gzip -dc "$file" ;;
	*.ko)     cat "$file" ;;
	*) false ;;
	esac >"$ROOT/lib/modules/$name.ko" || {
		MODERR="cannot unpack $file (xz/zstd installed?)"
		return 1
	}
	ORDER="$ORDER $name"
}
for m in $MODULES_WANTED; do
	add_module "$m" || prereq_fail "$MODERR"
done

# add_program SRC [NAME]: the binary as /bin/NAME, its shared libraries and
# loader at the paths ldd names (the guest has no ld.so.cache; init.sh sets
# LD_LIBRARY_PATH).
add_program() {
	local lib
	if ldd "$1" | grep -q 'not found'; then
		echo "# $1: $(ldd "$1" | grep 'not found' | tr -s ' \t' ' ')"
		return 1
	fi
	cp "$1" "$ROOT/bin/${2:-$(basename "$1")}" || return 1
	for lib in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
				     $1 ~ /^\// { print $1 }'); do
		[ -e "$ROOT$lib" ] && continue
		mkdir -p "$ROOT$(dirname "$lib")" && cp -L "$lib" "$ROOT$lib" || return 1
	done
}

# vsockc: our own AF_VSOCK client, rebuilt when its source changes.
VSOCKC=$OUT/vsockc
if [ ! -x "$VSOCKC" ] || [ tests/vsock/vsockc.c -nt "$VSOCKC" ]; then
	mkdir -p "$OUT"
	cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wshadow \
		-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
		-o "$VSOCKC" tests/vsock/vsockc.c -lssl -lcrypto ||
		prereq_fail "cannot compile tests/vsock/vsockc.c (needs libssl-dev)"
fi
add_program "$VSOCKC" || prereq_fail "cannot copy $VSOCKC into the initramfs"

# nacred and the tools: without them only the harness runs, and that fails.
have_nacred=yes
for b in "$NACRED nacred" "$UPSTREAM upstream"; do
	set -- $b
	if [ ! -x "$1" ]; then
		notok "binaries: $1 is missing (make all tools)"
		have_nacred=no
	elif ! add_program "$1" "$2"; then
		notok "binaries: cannot copy $1 and its libraries"
		have_nacred=no
	fi
done
have_tlsclient=no
[ -x "$TLSCLIENT" ] && add_program "$TLSCLIENT" tlsclient && have_tlsclient=yes
have_nacre=no
[ -x "$NACRE" ] && add_program "$NACRE" nacre && have_nacre=yes
# The sim provider's PCR0 is the SHA-384 of the nacred executable; busybox
# has no sha384sum, so the guest gets it from here.
nacred_sha384=none
[ "$have_nacred" = yes ] && nacred_sha384=$(sha384sum "$NACRED" | cut -d' ' -f1)

# Configs: the vsock address syntax as users write it; nacred -t checks
# them here first, where errors are easy to read.
t_hung=""
while read -r name port upport pp; do
	cat >"$ROOT/etc/nacre/$name.conf" <<EOF
# nacred in the vsock test guest: TLS on vsock port $port, the app on
# port $upport of the same VM (CID 1, VMADDR_CID_LOCAL, via vsock_loopback).
listen = ( { address = "vsock:any:$port"; } );
upstream = { address = "vsock:1:$upport"; proxy_protocol = "$pp"; };
limits = { drain_timeout = "5s"; };  # init.sh waits 10 s after SIGTERM
# no /dev/nsm in QEMU: the software NSM, its root created at first start
attestation = { provider = "sim"; sim = { root = "/tmp/sim-root-$name.pem"; }; };
EOF
	[ "$have_nacred" = yes ] || continue
	what="nacred -t accepts vsock listen/upstream addresses ($name.conf)"
	if [ -n "$t_hung" ]; then
		notok "$what (not run: nacred -t hung before)"
		continue
	fi
	timeout -k 2 10 "$NACRED" -t -c "$ROOT/etc/nacre/$name.conf" \
		>"$OUT/conftest-$name.log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$what"
		continue
	fi
	[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && t_hung=yes
	notok "$what (exit $rc)"
	sed 's/^/# /' "$OUT/conftest-$name.log"
done <<EOF
$CONFIGS
EOF

# ---- nacre forward, the parent's side ----
# client -> tcp:127.0.0.1:9443 -> nacre forward -> vsock:1:8449 -> nacred
# (fwd.conf: the listener requires PROXY v2, the app gets it) -> the pp2
# app (vsock 8083); 9444 -> vsock:1:8450 -> fwdrain.conf -> a drain app
# (vsock 8084). Outbound: vsock 9001 -> tcp:127.0.0.1:8090 (a plain app);
# vsock 9002 -> the same, but only for CID 99: our CID 1 is refused.
for fw in "fwd 8449 8083" "fwdrain 8450 8084"; do
	set -- $fw
	cat >"$ROOT/etc/nacre/$1.conf" <<EOF
# nacred behind nacre forward: the listener requires its PROXY v2 header
listen = ( { address = "vsock:any:$2"; proxy_protocol = true; } );
upstream = { address = "vsock:1:$3"; proxy_protocol = "v2"; };
limits = { drain_timeout = "5s"; };
attestation = { provider = "sim"; sim = { root = "/tmp/sim-root-$1.pem"; }; };
EOF
done
cat >"$ROOT/etc/nacre/forward.conf" <<EOF
# nacre forward in the vsock test guest (the parent instance's part)
inbound = ( { listen = "tcp:127.0.0.1:9443"; target = "vsock:1:8449"; },
            { listen = "tcp:127.0.0.1:9444"; target = "vsock:1:8450"; },
            { listen = "tcp:127.0.0.1:9445"; target = "vsock:1:8460"; } );
outbound = ( { listen = "vsock:any:9001"; target = "tcp:127.0.0.1:8090"; },
             { listen = "vsock:any:9002"; target = "tcp:127.0.0.1:8090"; from_cid = 99; } );
limits = { idle_timeout = "60s"; };
admin = { listen = "tcp:127.0.0.1:9101"; };
EOF
if [ -x "$NACRE" ]; then
	what="nacre forward -t accepts forward.conf"
	if out=$(timeout -k 2 10 "$NACRE" forward -t --config "$ROOT/etc/nacre/forward.conf" 2>&1); then
		ok "$what"
	else
		notok "$what"
		echo "$out" | sed 's/^/# /'
	fi
fi

# ---- ACME through a vsock hop ----
# Pebble's HTTPS certificate (test material) names ca.nacre.test, a name
# that resolves nowhere: nacred's directory URL uses it with a port nothing
# listens on, so only the hop reaches the CA. Ports: Pebble 14000 (ACME),
# 15000 (management); challtestsrv 8053 (DNS: every name is 127.0.0.1),
# 8055; socat vsock 14001 -> 14000 (the hop), 15001 -> 15000 (Pebble's
# root, for the client's check), 8054 -> 8053 (DNS over TCP: acme.conf's
# CAA resolver); nacred (acme.conf) tcp:127.0.0.1:5001 (Pebble's
# tls-alpn-01 validation, tlsPort) and vsock 8447 (the client);
# nohop.conf's hop, vsock:1:14999, has no listener.
have_acme=no
acme_missing=""
for t in pebble pebble-challtestsrv socat openssl; do
	command -v "$t" >/dev/null 2>&1 || acme_missing="$acme_missing $t"
done
if [ "$have_nacred" = yes ] && [ -n "$acme_missing" ]; then
	notok "ACME over vsock: prerequisites (missing$acme_missing; sh tests/deps.sh vsock)"
elif [ "$have_nacred" = yes ]; then
	have_acme=yes
	mkdir -p "$ROOT/etc/acme" &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-days 2 -keyout "$ROOT/etc/acme/pebble.key" \
		-out "$ROOT/etc/acme/pebble.crt" -subj /CN=pebble -addext \
		"subjectAltName=DNS:ca.nacre.test,DNS:localhost,IP:127.0.0.1" \
		>"$OUT/openssl.log" 2>&1 || have_acme=no
	for b in pebble pebble-challtestsrv socat; do
		add_program "$(command -v "$b")" || have_acme=no
	done
	[ "$have_acme" = yes ] ||
		notok "ACME over vsock: Pebble's certificate and the programs in the initramfs"
	cat >"$ROOT/etc/acme/pebble.json" <<EOF
{ "pebble": { "listenAddress": "127.0.0.1:14000",
  "managementListenAddress": "127.0.0.1:15000",
  "certificate": "/etc/acme/pebble.crt", "privateKey": "/etc/acme/pebble.key",
  "httpPort": 1, "tlsPort": 5001, "ocspResponderURL": "",
  "externalAccountBindingRequired": false } }
EOF
	# NAME TCP_PORT VSOCK_PORT HOP_PORT CAA_SETTINGS
	while read -r name tport vport hport caa; do
		cat >"$ROOT/etc/nacre/$name.conf" <<EOF
# nacred in the vsock test guest, ACME through the hop vsock:1:$hport
listen = ( { address = "tcp:127.0.0.1:$tport"; }, { address = "vsock:any:$vport"; } );
upstream = { address = "vsock:1:8080"; proxy_protocol = "none"; };
limits = { drain_timeout = "5s"; };
log = { level = "debug"; };
attestation = { provider = "sim"; sim = { root = "/tmp/sim-root-$name.pem"; }; };
acme = { directory = "https://ca.nacre.test:14999/dir"; ca_roots = "/etc/acme/pebble.crt";
  via = "vsock:1:$hport"; domains = ( { names = [ "app.nacre.test" ]; } );
  $caa };
EOF
	done <<EOF
acme 5001 8447 14001 require_caa = true; resolver = "vsock:1:8054"; caa_identity = "pebble.example";
nohop 5011 8448 14999 require_caa = false;
EOF
	what="nacred -t accepts acme.via = \"vsock:1:14001\" (acme.conf)"
	if out=$(timeout -k 2 10 "$NACRED" -t -c "$ROOT/etc/nacre/acme.conf" 2>&1); then
		ok "$what"
	else
		notok "$what"
		echo "$out" | sed 's/^/# /'
	fi
fi

# ---- the enclave image (deploy/nitro), run from its own entry point ----
# The file tree make enclave-rootfs builds, chrooted in the guest: the
# shipped nacred.conf with the sim instead of the NSM, port 8460 (8443 is
# taken here) and its log on stderr (no collector at CID 3 here); nacre
# forward's inbound rule 9445 leads to it.
have_image=no
image_sha384=""
if [ -x build/enclave/nacre-init ] && [ -x build/nacred ] && [ -x build/tools/upstream ] &&
   sh deploy/nitro/mkrootfs.sh "$OUT/enclave" build/tools/upstream >"$OUT/enclave.log" 2>&1; then
	cp -a "$OUT/enclave/rootfs" "$ROOT/enclave" &&
	sed -i -e 's|provider = "nitro"; rotate = "1h";|provider = "sim"; sim = { root = "/var/lib/nacre/sim-root.pem"; };|' \
		-e 's|vsock:any:8443|vsock:any:8460|' -e 's| to = "vsock:3:5140";||' \
		"$ROOT/enclave/etc/nacre/nacred.conf" &&
	grep -q 'provider = "sim"' "$ROOT/enclave/etc/nacre/nacred.conf" &&
	image_sha384=$(sha384sum <"$ROOT/enclave/usr/sbin/nacred" | cut -d' ' -f1) &&
	have_image=yes
fi
[ "$have_image" = yes ] || notok "the enclave image's file tree for the guest (make enclave-rootfs; $OUT/enclave.log)"

cat >"$ROOT/etc/vsock-test.env" <<EOF
MODULES="${ORDER# }"
BYTES=$BYTES
FWD_BYTES=$FWD_BYTES
FWD_SECONDS=$FWD_SECONDS
STEP_SECONDS=$STEP_SECONDS
GUEST_BUDGET=$GUEST_BUDGET
HAVE_NACRED=$have_nacred
HAVE_TLSCLIENT=$have_tlsclient
HAVE_NACRE=$have_nacre
HAVE_ACME=$have_acme
NACRED_SHA384=$nacred_sha384
HAVE_IMAGE=$have_image
IMAGE_SHA384=$image_sha384
EOF

INITRD=$OUT/initramfs.cpio.gz
(cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -1 >"$INITRD" || prereq_fail "cannot build $INITRD"

# ---- boot ----
echo "# kernel $KVER, accel $ACCEL, initramfs $(du -k "$INITRD" | cut -f1) KiB, timeout ${TIMEOUT}s"
CONSOLE=$OUT/console.log
rm -f "$CONSOLE"
start=$(date +%s)
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -accel "$ACCEL" -cpu max -m 1024 \
	-smp 1 -nographic -no-reboot -nic none -monitor none \
	-serial "file:$CONSOLE" -kernel "$KERNEL" -initrd "$INITRD" \
	-append "console=ttyS0 quiet panic=-1" </dev/null >"$OUT/qemu.log" 2>&1
rc=$?
echo "# qemu exited $rc after $(($(date +%s) - start))s"

# Results: a test line must start a console line. The tty adds \r, and the
# firmware's screen resets (ESC c, ESC [2J ...) may precede the first line.
ESC=$(printf '\033')
sed "s/\r//g; s/${ESC}\\[[0-9;?]*[A-Za-z]//g; s/${ESC}c//g" "$CONSOLE" \
	>"$OUT/console.txt" 2>/dev/null
grep -E '^(not )?ok - ' "$OUT/console.txt" | tee "$OUT/results.txt"
grep -q '^not ok - ' "$OUT/results.txt" && failed=1
if ! grep -qx '# vsock guest done' "$OUT/console.txt"; then
	echo "not ok - vsock guest did not finish (see $CONSOLE)"
	tail -n 20 "$OUT/console.txt" | sed 's/^/# console: /'
	[ -s "$OUT/qemu.log" ] && sed 's/^/# qemu: /' "$OUT/qemu.log" | tail -n 5
	exit 1
fi
# on failure, the guest's diagnostics (its "# " lines: exit codes, logs)
[ "$failed" -ne 0 ] && grep '^# ' "$OUT/console.txt" | tail -n 60
exit "$failed"
