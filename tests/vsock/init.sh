#!/bin/sh
# /init of the vsock test guest (built by tests/vsock/run.sh): loads
# vsock_loopback, starts the upstream app and nacred on vsock, drives them
# with vsockc / tlsclient over CID 1, prints one "ok - vsock ..." or
# "not ok - vsock ..." line per check, then the end marker, and powers off.
# "/init step NAME" runs one check's body; the main run calls it that way
# under timeout(1), so a hung check costs its own time only.
export PATH=/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
. /etc/vsock-test.env # MODULES BYTES STEP_SECONDS GUEST_BUDGET HAVE_*

# ---- check bodies: exit 0 on success, diagnostics on stdout/stderr ----

step_raw_echo() { vsockc echo 1 9000 "$BYTES"; }

step_cert() { vsockc cert 1 8443; }

step_get_root() {
	body=$(vsockc get --tls 1 8443 /) || return 1
	[ "$body" = "hello from the enclave app" ] && return 0
	echo "body was: '$body'"
	return 1
}

# The bytes through nacred equal the app's own bytes fetched directly.
step_get_bytes() {
	vsockc get --tls 1 8443 "/bytes/$BYTES" >/tmp/tls.bin || return 1
	vsockc get 1 8080 "/bytes/$BYTES" >/tmp/plain.bin || return 1
	tls=$(wc -c </tmp/tls.bin)
	plain=$(wc -c </tmp/plain.bin)
	echo "through nacred $tls bytes, direct $plain bytes"
	[ "$tls" -eq "$BYTES" ] && [ "$plain" -eq "$BYTES" ] &&
		cmp /tmp/tls.bin /tmp/plain.bin
	rc=$?
	rm -f /tmp/tls.bin /tmp/plain.bin
	return $rc
}

# The app's digest of the body it received equals the digest of what we sent.
step_post_sha256() {
	want=$(vsockc gen "$BYTES" | sha256sum | cut -d' ' -f1)
	got=$(vsockc post --tls 1 8443 /sha256 "$BYTES") || return 1
	got=$(echo "$got" | tr -d ' \r\n')
	[ "$got" = "$want" ] && return 0
	echo "app answered '$got', want '$want'"
	return 1
}

# PROXY v2 to the app: a vsock client has no address v2 can carry (UNSPEC),
# the TLS facts still arrive.
step_proxy_v2() {
	vsockc get --tls 1 8446 /proxy >/tmp/proxy.out || return 1
	cat /tmp/proxy.out
	grep -qx 'src unknown' /tmp/proxy.out &&
		grep -qx 'tls_version TLSv1.3' /tmp/proxy.out
}

step_tls_echo() { vsockc echo --tls 1 8444 "$BYTES"; }

# nacre verify over vsock: the sim evidence chains to the root this nacred
# created, and PCR0 is the SHA-384 of the nacred binary.
step_verify() {
	nacre verify vsock:1:8443 --root /tmp/sim-root-http.pem \
		--pcr "0=$NACRED_SHA384"
}

# The same evidence fails (exit 1, not a crash or usage error) against a
# PCR0 it does not have, and against the default AWS root.
step_verify_refuses() {
	bad=$(echo "$NACRED_SHA384" | tr 0-9a-f 1-9a-f0)
	nacre verify vsock:1:8443 --root /tmp/sim-root-http.pem --pcr "0=$bad"
	rc=$?
	echo "wrong PCR0: exit $rc"
	[ "$rc" -eq 1 ] || return 1
	nacre verify vsock:1:8443
	rc=$?
	echo "AWS root: exit $rc"
	[ "$rc" -eq 1 ]
}

step_half_close() {
	tlsclient half-close --connect vsock:1:8445 --send-bytes "$BYTES" \
		--timeout "$((STEP_SECONDS - 5))"
}

step_concurrent() {
	tlsclient concurrent --connect vsock:1:8443 --conns 20 \
		--timeout "$((STEP_SECONDS - 5))"
}

if [ "$1" = step ]; then
	"step_$2"
	exit
fi

# ---- the main run, as PID 1 ----

/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
echo 1 >/proc/sys/kernel/printk # keep kernel lines out of the results
echo # end whatever the firmware left on the console line

FAILED=0
ok()    { echo "ok - vsock $*"; }
notok() { echo "not ok - vsock $*"; FAILED=1; }
show()  { [ -s "$1" ] && tail -n 20 "$1" | sed "s|^|# $(basename "$1"): |"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

# Seconds the next step may take: STEP_SECONDS, less near the end of the
# budget, so the guest always reports before the host's hard timeout.
step_time() {
	left=$((GUEST_BUDGET - $(cut -d. -f1 /proc/uptime)))
	[ "$left" -gt "$STEP_SECONDS" ] && left=$STEP_SECONDS
	echo "$left"
}

# check NAME STEP: runs "step_STEP" in a child, bounded by step_time.
check() {
	t=$(step_time)
	if [ "$t" -le 0 ]; then
		notok "$1 (skipped: the guest's ${GUEST_BUDGET}s are used up)"
		return 1
	fi
	timeout "$t" /init step "$2" >/tmp/check.out 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$1"
		return 0
	fi
	notok "$1"
	echo "# exit $rc (a timeout after ${t}s exits 143)"
	show /tmp/check.out
	return 1
}

finish() {
	if [ "$FAILED" -ne 0 ]; then
		for f in /tmp/upstream-*.log /tmp/nacred-*.log; do show "$f"; done
	fi
	echo "# guest uptime $(uptime_s)s"
	echo "# vsock guest done"
	sync
	poweroff -f
	sleep 5 # not reached
}

# wait_ready NAME PID COMMAND...: until COMMAND succeeds, while PID lives.
wait_ready() {
	_name=$1 _pid=$2
	shift 2
	_end=$(($(cut -d. -f1 /proc/uptime) + $(step_time)))
	while ! "$@" 2>/dev/null; do
		if ! kill -0 "$_pid" 2>/dev/null; then
			notok "$_name (the process exited)"
			return 1
		fi
		if [ "$(cut -d. -f1 /proc/uptime)" -ge "$_end" ]; then
			notok "$_name (not within ${STEP_SECONDS}s)"
			return 1
		fi
		sleep 0.1
	done
	ok "$_name"
}

# ---- vsock loopback itself ----
for m in $MODULES; do
	insmod "/lib/modules/$m.ko" 2>/tmp/insmod.out || show /tmp/insmod.out
done
if [ ! -d /sys/module/vsock_loopback ]; then
	notok "vsock_loopback module loaded ($MODULES)"
	finish
fi
ok "vsock_loopback module loaded ($MODULES)"
ip link set lo up

vsockc serve 9000 >/tmp/raw-echo.log 2>&1 &
if wait_ready "raw echo server ready on vsock:any:9000" $! \
	grep -qx ready /tmp/raw-echo.log; then
	check "raw round trip of $BYTES bytes on CID 1 (harness self-test)" raw_echo
fi

# ---- nacred between a client and the upstream app, all over vsock ----
if [ "$HAVE_NACRED" != yes ]; then
	echo "# no nacred/upstream in the image: only the harness was tested"
	finish
fi

# start_upstream NAME PORT MODE [OPTION]
start_upstream() {
	upstream --listen "vsock:any:$2" --mode "$3" $4 >"/tmp/upstream-$1.log" 2>&1 &
	wait_ready "upstream --mode $3${4:+ $4} ready on vsock:any:$2" $! \
		grep -qx ready "/tmp/upstream-$1.log"
}

# start_nacred NAME PORT: /etc/nacre/NAME.conf listens on vsock:any:PORT.
start_nacred() {
	nacred -c "/etc/nacre/$1.conf" >"/tmp/nacred-$1.log" 2>&1 &
	eval "NACRED_PID_$1=$!"
	wait_ready "nacred ($1.conf) accepts on vsock:any:$2" $! \
		vsockc wait 1 "$2" 0
}

start_upstream http 8080 http
start_upstream echo 8081 echo
start_upstream drain 8082 drain
start_upstream pp2 8083 http --proxy-v2
start_nacred http 8443
start_nacred echo 8444
start_nacred drain 8445
start_nacred pp2 8446
echo "# services up at $(uptime_s)s"

check "TLS handshake with nacred over vsock" cert &&
	echo "# negotiated: $(head -n 1 /tmp/check.out)"
if [ "$HAVE_NACRE" = yes ]; then
	check "nacre verify over vsock: sim evidence, PCR0 = SHA-384 of nacred" verify
	check "nacre verify over vsock refuses a wrong PCR0 and the AWS root" verify_refuses
else
	notok "nacre CLI present in the image (build/nacre)"
fi
check "GET / through nacred answers 'hello from the enclave app'" get_root
check "GET /bytes/$BYTES through nacred, identical to the app's own bytes" get_bytes
check "POST /sha256 of $BYTES bytes through nacred: the app saw the same sha256" post_sha256
check "PROXY v2 to the app over vsock: src unknown, TLS facts present" proxy_v2
check "TLS echo of $BYTES bytes through nacred, full duplex" tls_echo
if [ "$HAVE_TLSCLIENT" = yes ]; then
	check "tlsclient half-close ($BYTES bytes, drain app)" half_close
	check "tlsclient concurrent (20 connections, GET /)" concurrent
else
	notok "tlsclient present in the image (build/tools/tlsclient)"
fi
echo "# checks done at $(uptime_s)s"

# nacred survived everything, and exits 0 on SIGTERM (drain_timeout is 5 s).
termed=""
for n in http echo drain pp2; do
	eval "pid=\$NACRED_PID_$n"
	if kill -0 "$pid" 2>/dev/null; then
		ok "nacred ($n.conf) still running after the tests"
		kill -TERM "$pid"
		termed="$termed $n"
	else
		notok "nacred ($n.conf) still running after the tests"
	fi
done
t=$(step_time)
[ "$t" -gt 10 ] && t=10
end=$(($(cut -d. -f1 /proc/uptime) + t))
while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
	alive=0
	for n in $termed; do
		eval "pid=\$NACRED_PID_$n"
		kill -0 "$pid" 2>/dev/null && alive=1
	done
	[ "$alive" -eq 0 ] && break
	sleep 0.1
done
for n in $termed; do
	eval "pid=\$NACRED_PID_$n"
	if kill -0 "$pid" 2>/dev/null; then
		notok "nacred ($n.conf) exits 0 within ${t}s of SIGTERM (still running)"
		kill -KILL "$pid"
		continue
	fi
	wait "$pid"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "nacred ($n.conf) exits 0 within ${t}s of SIGTERM"
	else
		notok "nacred ($n.conf) exits 0 within ${t}s of SIGTERM (exit $rc)"
	fi
done
finish
