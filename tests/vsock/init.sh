#!/bin/sh
# /init of the vsock test guest (built by tests/vsock/run.sh): loads
# vsock_loopback, starts the upstream app and nacred on vsock, drives them
# with vsockc / tlsclient over CID 1, prints one "ok - vsock ..." or
# "not ok - vsock ..." line per check, then the end marker, and powers off.
# "/init step NAME" runs one check's body; the main run calls it that way
# under timeout(1), so a hung check costs its own time only.
# ACME (when the image has pebble): Pebble, its DNS and a socat vsock->TCP
# relay (the parent instance's part) start early, since Go programs take
# seconds to start under TCG; after the data-path checks nacred obtains a
# certificate through the hop vsock:1:14001 and a client verifies it.
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

# The sim root's certificate: the .crt nacred writes beside the root's key
# file (a verifier refuses the key file itself).
sim_root() {
	echo "/tmp/sim-root-$1.crt"
}

# nacre verify over vsock: the sim evidence chains to the root this nacred
# created, and PCR0 is the SHA-384 of the nacred binary.
step_verify() {
	nacre verify vsock:1:8443 --root "$(sim_root http)" \
		--pcr "0=$NACRED_SHA384"
}

# The same evidence fails (exit 1, not a crash or usage error) against a
# PCR0 it does not have, and against the default AWS root.
step_verify_refuses() {
	bad=$(echo "$NACRED_SHA384" | tr 0-9a-f 1-9a-f0)
	nacre verify vsock:1:8443 --root "$(sim_root http)" --pcr "0=$bad"
	rc=$?
	echo "wrong PCR0: exit $rc"
	[ "$rc" -eq 1 ] || return 1
	nacre verify vsock:1:8443 --pcr "0=$NACRED_SHA384"
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

# The ACME certificate over vsock, by SNI: the chain nacred serves verifies
# for the name against Pebble's root (fetched from its management API
# through a second relay), and the leaf's issuer is Pebble's intermediate.
step_acme_client() {
	vsockc get --tls 1 15001 /roots/0 >/tmp/pebble-root.pem || return 1
	grep -q 'BEGIN CERTIFICATE' /tmp/pebble-root.pem || {
		echo "no certificate from Pebble's /roots/0"
		return 1
	}
	vsockc cert --sni app.nacre.test --ca /tmp/pebble-root.pem 1 8447 \
		>/tmp/acme-cert.out || return 1
	cat /tmp/acme-cert.out
	grep -q '^issuer: .*Pebble Intermediate CA' /tmp/acme-cert.out &&
		grep -q '^verified: yes for app.nacre.test' /tmp/acme-cert.out &&
		grep -q 'cmw=no' /tmp/acme-cert.out
}

# ---- nacre forward (the parent instance's part) ----
# FWD_SECONDS (run.sh) bounds each of the two FWD_BYTES transfers: TLS
# under TCG is the slow part (the "# up:" / "# down:" lines give times)
FWD_REQ='GET /proxy HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'

# TCP client -> forward -> vsock -> nacred (PROXY v2 required) -> app
# (PROXY v2): the app sees the TCP client's address and forward's port
step_fwd_proxy() {
	tlsclient get --connect tcp:127.0.0.1:9443 --request "$FWD_REQ" \
		--timeout 10 >/tmp/fwd-proxy.out 2>&1
	cat /tmp/fwd-proxy.out
	grep -q '^src 127\.0\.0\.1:' /tmp/fwd-proxy.out &&
		grep -q '^dst 127\.0\.0\.1:9443$' /tmp/fwd-proxy.out
}

# FWD_BYTES up, ended by close_notify + FIN; the drain app's count and
# sha256 come back only after the FIN crossed forward and nacred
step_fwd_up() {
	s=$(cut -d' ' -f1 /proc/uptime)
	tlsclient half-close --connect tcp:127.0.0.1:9444 \
		--send-bytes "$FWD_BYTES" --timeout "$((FWD_SECONDS - 5))" || return 1
	echo "# up: $FWD_BYTES bytes in $(awk -v a="$s" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { print b - a }') s"
}

# FWD_BYTES down: the same response (head and body) as through a nacred
# reached directly over vsock
step_fwd_down() {
	s=$(cut -d' ' -f1 /proc/uptime)
	req="GET /bytes/$FWD_BYTES HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n"
	got=$(tlsclient get --connect tcp:127.0.0.1:9443 --request "$req" \
		--timeout "$((FWD_SECONDS - 5))" | sha256sum | cut -d' ' -f1)
	echo "# down: $FWD_BYTES bytes in $(awk -v a="$s" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { print b - a }') s"
	want=$(tlsclient get --connect vsock:1:8443 --request "$req" \
		--timeout "$((FWD_SECONDS - 5))" | sha256sum | cut -d' ' -f1)
	echo "through forward $got, through nacred alone $want"
	[ -n "$got" ] && [ "$got" = "$want" ] && [ "$got" != "$(true | sha256sum | cut -d' ' -f1)" ]
}

step_fwd_out() {
	body=$(vsockc get 1 9001 /name) || return 1
	[ "$body" = app ] && return 0
	echo "body was: '$body'"
	return 1
}

# from_cid = 99: our CID 1 is refused, and forward says so; a port with
# no rule is refused by the kernel (nothing listens there)
step_fwd_refused() {
	vsockc get 1 9002 /name && { echo "9002 answered"; return 1; }
	i=0
	while ! grep -qF "refused vsock:1:" /tmp/forward.log; do
		i=$((i + 1))
		[ $i -gt 25 ] && { echo "no refusal in forward's log"; return 1; }
		sleep 0.2
	done
	grep -F "refused vsock:1:" /tmp/forward.log | head -n 1
	vsockc get 1 9003 /name && { echo "9003 answered"; return 1; }
	wget -q -O - http://127.0.0.1:9101/metrics >/tmp/fwd-metrics.txt || return 1
	grep -q 'nacre_forward_refused_total{direction="out",listen="vsock:any:9002",target="tcp:127.0.0.1:8090"} 1' \
		/tmp/fwd-metrics.txt
}

# the enclave image (deploy/nitro) behind forward: the app in the image
# sees the client's address, and the image's nacred verifies with PCR0 =
# SHA-384 of its binary (the measurement predicted from the build)
step_image_proxy() {
	tlsclient get --connect tcp:127.0.0.1:9445 --request "$FWD_REQ" \
		--timeout 10 >/tmp/image-proxy.out 2>&1
	cat /tmp/image-proxy.out
	grep -q '^src 127\.0\.0\.1:' /tmp/image-proxy.out &&
		grep -q '^dst 127\.0\.0\.1:9445$' /tmp/image-proxy.out
}

step_image_verify() {
	nacre verify tcp:127.0.0.1:9445 --root /enclave/var/lib/nacre/sim-root.crt \
		--pcr "0=$IMAGE_SHA384"
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
	[ "$left" -gt "${1:-$STEP_SECONDS}" ] && left=${1:-$STEP_SECONDS}
	echo "$left"
}

# check NAME STEP [SECONDS]: runs "step_STEP" in a child, bounded by
# step_time (STEP_SECONDS unless given).
check() {
	t=$(step_time "${3:-}")
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
		for f in /tmp/upstream-*.log /tmp/nacred-*.log /tmp/forward.log \
			 /tmp/pebble.log \
			 /tmp/challtestsrv.log /tmp/socat-*.log; do
			show "$f"
		done
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

# wait_log FILE TEXT SECONDS: until FILE holds TEXT (0), or SECONDS pass or
# the guest's budget ends (1)
wait_log() {
	_end=$(($(cut -d. -f1 /proc/uptime) + $3))
	[ "$_end" -gt "$GUEST_BUDGET" ] && _end=$GUEST_BUDGET
	while ! grep -qF "$2" "$1" 2>/dev/null; do
		[ "$(cut -d. -f1 /proc/uptime)" -ge "$_end" ] && return 1
		sleep 0.2
	done
}

# the CA, its DNS (every name is 127.0.0.1, so Pebble validates
# tls-alpn-01 on nacred's tcp:127.0.0.1:5001), and the parent's relays:
# vsock 14001 -> Pebble's ACME port, 15001 -> its management port
if [ "$HAVE_ACME" = yes ]; then
	pebble-challtestsrv -dns01 127.0.0.1:8053 -management 127.0.0.1:8055 \
		-http01 "" -https01 "" -tlsalpn01 "" -defaultIPv4 127.0.0.1 \
		-defaultIPv6 "" >/tmp/challtestsrv.log 2>&1 &
	PEBBLE_VA_NOSLEEP=1 pebble -config /etc/acme/pebble.json \
		-dnsserver 127.0.0.1:8053 >/tmp/pebble.log 2>&1 &
	PEBBLE_PID=$!
	socat -d -d VSOCK-LISTEN:14001,fork TCP:127.0.0.1:14000 \
		>/tmp/socat-hop.log 2>&1 &
	socat VSOCK-LISTEN:15001,fork TCP:127.0.0.1:15000 \
		>/tmp/socat-mgmt.log 2>&1 &
	socat VSOCK-LISTEN:8054,fork TCP:127.0.0.1:8053 \
		>/tmp/socat-dns.log 2>&1 &
fi

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
# ---- nacre forward: TCP in, vsock to nacred; vsock out to TCP ----
fwd_names=""
if [ "$HAVE_NACRE" = yes ] && [ "$HAVE_TLSCLIENT" = yes ]; then
	start_upstream fwdrain 8084 drain --proxy-v2
	upstream --listen tcp:127.0.0.1:8090 --mode http >/tmp/upstream-tcp.log 2>&1 &
	wait_ready "upstream --mode http ready on tcp:127.0.0.1:8090" $! \
		grep -qx ready /tmp/upstream-tcp.log
	start_nacred fwd 8449 && fwd_names="$fwd_names fwd"
	start_nacred fwdrain 8450 && fwd_names="$fwd_names fwdrain"
	nacre forward --config /etc/nacre/forward.conf --log-level debug \
		>/tmp/forward.out 2>/tmp/forward.log &
	FWD_PID=$!
	if wait_ready "nacre forward (forward.conf) ready" $FWD_PID \
		grep -qx ready /tmp/forward.out; then
		check "forward: TCP client -> forward -> vsock -> nacred -> app: the app sees the client's address (PROXY v2)" fwd_proxy
		check "forward: $FWD_BYTES bytes up, half-closed, reply after the FIN" fwd_up "$FWD_SECONDS" &&
			grep '^# up' /tmp/check.out
		check "forward: $FWD_BYTES bytes down, identical to the app's own" fwd_down "$FWD_SECONDS" &&
			grep '^# down' /tmp/check.out
		check "forward: outbound vsock:any:9001 reaches tcp:127.0.0.1:8090" fwd_out
		check "forward: outbound refusals: from_cid (logged, counted), a port with no rule" fwd_refused
		if [ "$HAVE_IMAGE" = yes ]; then
			chroot /enclave /nacre-init --grace 5 /usr/sbin/nacred -c /etc/nacre/nacred.conf -- \
				/app/server --listen tcp:127.0.0.1:8080 --mode http --proxy-v2 \
				>/tmp/image.out 2>/tmp/image.log &
			IMG_PID=$!
			if wait_ready "enclave image: nacre-init started nacred and the app (vsock:any:8460)" $IMG_PID \
				grep -q "listening on vsock:any:8460" /tmp/image.log; then
				check "enclave image from its own entry point, behind forward: the app sees the client's address" image_proxy
				check "enclave image: nacre verify through forward, PCR0 = SHA-384 of the image's nacred" image_verify
			fi
			kill -TERM "$IMG_PID" 2>/dev/null
			wait "$IMG_PID"
			rc=$?
			if [ "$rc" -eq 0 ]; then ok "enclave image: nacre-init stops nacred and the app on SIGTERM (exit 0)"
			else notok "enclave image: nacre-init on SIGTERM (exit $rc)"; show /tmp/image.log; fi
		fi
		kill -TERM "$FWD_PID"
		wait "$FWD_PID"
		rc=$?
		if [ "$rc" -eq 0 ]; then ok "nacre forward exits 0 on SIGTERM"
		else notok "nacre forward exits 0 on SIGTERM (exit $rc)"; fi
	fi
fi
echo "# checks done at $(uptime_s)s"

# ---- ACME through the vsock hop ----
# bound on the certificate: about 15 s under TCG, 10 of them nacred's
# pause after the CAA refusal
ACME_SECONDS=60
acme_names=""
if [ "$HAVE_ACME" = yes ] &&
   wait_ready "pebble (the ACME test CA) listening" "$PEBBLE_PID" \
	grep -q "Listening on" /tmp/pebble.log; then
	start_nacred acme 8447 && acme_names="$acme_names acme"
	start_nacred nohop 8448 && acme_names="$acme_names nohop"
	echo "# ACME nacreds up at $(uptime_s)s"
fi
case " $acme_names " in *" acme "*)
	lg=/tmp/nacred-acme.log
	# require_caa: nacred registers, asks the resolver vsock:1:8054 (DNS
	# over TCP through a relay) for CAA, finds no record and orders
	# nothing; the record that pins its account is then added, and its
	# next attempt (10 s later) orders
	if wait_log $lg "acme: publish: app.nacre.test. CAA 0 issue" 30; then
		ok "ACME: CAA checked through the resolver vsock:1:8054: $(sed -n 's/.*acme: CAA for app.nacre.test: \([a-z-]*\).*/\1/p' $lg | head -n 1), no order, the records to publish logged"
		acct=$(sed -n 's/.*acme: account \(https:[^ ]*\) (the accounturi.*/\1/p' $lg | head -n 1)
		if wget -q -O /dev/null --post-data "{\"host\":\"app.nacre.test\",\"policies\":[{\"tag\":\"issue\",\"value\":\"pebble.example; accounturi=$acct; validationmethods=tls-alpn-01\"},{\"tag\":\"issuewild\",\"value\":\";\"}]}" \
			http://127.0.0.1:8055/add-caa >/tmp/add-caa.out 2>&1; then
			ok "ACME: the CAA record pinning the account added (challtestsrv)"
			echo "# account $acct"
		else
			notok "ACME: the CAA record pinning the account added (challtestsrv)"
			show /tmp/add-caa.out
		fi
	else
		notok "ACME: CAA checked through the resolver vsock:1:8054, the records to publish logged"
	fi
	if wait_log $lg "acme: serving the certificate for app.nacre.test" \
		"$ACME_SECONDS"; then
		ok "ACME via vsock:1:14001: nacred obtained a certificate from Pebble and serves it"
		echo "# served at $(uptime_s)s"
	else
		notok "ACME via vsock:1:14001: nacred obtained a certificate from Pebble and serves it (not within ${ACME_SECONDS}s)"
	fi
	if grep -qF "acme: CAA for app.nacre.test pins this account" $lg; then
		ok "ACME: the order came once CAA (over vsock) pinned the account"
	else
		notok "ACME: the order came once CAA (over vsock) pinned the account"
	fi
	if grep -qF "acme: relaying the CA's connections to the hop vsock:1:14001" $lg &&
	   grep -qF "acme: certificate for app.nacre.test obtained" $lg &&
	   [ "$(grep -c 'accepting connection from AF=40' /tmp/socat-hop.log)" -gt 0 ]; then
		ok "ACME: the log shows the certificate obtained through the hop"
		echo "# $(grep -c 'accepting connection from AF=40' /tmp/socat-hop.log) vsock connections at the relay"
	else
		notok "ACME: the log shows the certificate obtained through the hop"
	fi
	check "ACME: a TLS client over vsock with SNI app.nacre.test gets Pebble's chain, verified by Pebble's root" acme_client
	;;
esac
case " $acme_names " in *" nohop "*)
	want="cannot connect to the CA through the hop vsock:1:14999: "
	if wait_log /tmp/nacred-nohop.log "$want" 20; then
		ok "ACME: a hop nobody listens on is named in the log: '$(sed -n "s/.*\\($want[^;]*\\).*/\\1/p" \
			/tmp/nacred-nohop.log | head -n 1)'"
	else
		notok "ACME: a hop nobody listens on is named in the log"
	fi
	;;
esac

# nacred survived everything, and exits 0 on SIGTERM (drain_timeout is 5 s).
termed=""
for n in http echo drain pp2 $fwd_names $acme_names; do
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
