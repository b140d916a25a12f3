#!/bin/sh
# tests/e2e/enclave-netns.sh ROOT NACRE PORT: run inside a new network and
# mount namespace (unshare -n -m) by 59-enclave-image.sh. The namespace's
# lo starts down, as an enclave's does; nacre-init must bring it up. The
# image's own entry point runs chrooted in ROOT; the clients (curl, nacre)
# run from the host's files in the same namespace. Prints "ok -" /
# "not ok -" lines; the caller counts them.
ROOT=$1
NACRE=$2
PORT=$3
ok() { echo "ok - enclave image: $*"; }
notok() { echo "not ok - enclave image: $*"; }

if ip link show lo | grep -q "state UNKNOWN\|UP"; then
	notok "lo starts down in the new namespace ($(ip -o link show lo))"
else
	ok "lo starts down in the new namespace, as in an enclave"
fi
chroot "$ROOT" /nacre-init --grace 5 /usr/sbin/nacred -c /etc/nacre/nacred.conf -- \
	/app/server --listen tcp:127.0.0.1:8080 --mode http --proxy-v2 \
	>"$ROOT.out" 2>"$ROOT.err" &
init=$!
i=0
while [ $i -lt 100 ] && ! grep -q "listening on" "$ROOT.err"; do
	sleep 0.1; i=$((i + 1))
done
if grep -q "nacre-init: lo is up" "$ROOT.err"; then
	ok "nacre-init brought lo up"
else
	notok "nacre-init brought lo up ($(head -n 3 "$ROOT.err" | tr '\n' ' '))"
fi
out=$(curl -sk --max-time 10 "https://127.0.0.1:$PORT/proxy" 2>&1)
case $out in
*127.0.0.1*) ok "a client through nacred reaches the app, which sees its address ($out)" ;;
*) notok "a client through nacred reaches the app ($out)" ;;
esac
pcr0=$(sha384sum <"$ROOT/usr/sbin/nacred" | cut -d' ' -f1)
out=$("$NACRE" verify "127.0.0.1:$PORT" --sni localhost \
	--root "$ROOT/var/lib/nacre/sim-root.crt" --pcr "0=$pcr0" 2>&1)
case $out in
*"verified: yes"*) ok "nacre verify: the image's nacred, PCR0 = SHA-384 of its binary" ;;
*) notok "nacre verify ($(printf '%s' "$out" | tail -n 2 | tr '\n' ' '))" ;;
esac
# the application ends: nacre-init stops nacred and ends with its status
# (^: nacre-init's own command line holds the app's too)
pkill -TERM -f "^/app/server --listen tcp:127.0.0.1:8080"
i=0
while [ $i -lt 100 ] && kill -0 "$init" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$init" 2>/dev/null; then
	notok "when the application ends, nacre-init stops nacred and exits"
	kill -KILL "$init" 2>/dev/null
else
	wait "$init"
	rc=$?
	if grep -q "the application (pid [0-9]*) ended with status 0" "$ROOT.err" &&
	   grep -q "nacred (pid [0-9]*) ended with status 0" "$ROOT.err" &&
	   [ "$rc" -eq 0 ]; then
		ok "when the application ends, nacre-init stops nacred and exits ($rc)"
	else
		notok "nacre-init's account of the end ($(grep nacre-init "$ROOT.err" | tail -n 3 | tr '\n' ' '))"
	fi
fi
if pgrep -f "^/app/server --listen tcp:127.0.0.1:8080" >/dev/null ||
   pgrep -f "^/usr/sbin/nacred -c /etc/nacre/nacred.conf" >/dev/null ||
   pgrep -f "^/nacre-init" >/dev/null; then
	notok "nothing of the image runs after nacre-init"
else
	ok "nothing of the image runs after nacre-init"
fi

# SIGTERM to nacre-init (the enclave is stopped): both end cleanly, exit 0
: >"$ROOT.err"
chroot "$ROOT" /nacre-init --grace 5 /usr/sbin/nacred -c /etc/nacre/nacred.conf -- \
	/app/server --listen tcp:127.0.0.1:8080 --mode http --proxy-v2 \
	>"$ROOT.out" 2>"$ROOT.err" &
init=$!
i=0
while [ $i -lt 100 ] && ! grep -q "listening on" "$ROOT.err"; do
	sleep 0.1; i=$((i + 1))
done
kill -TERM "$init"
i=0
while [ $i -lt 100 ] && kill -0 "$init" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
wait "$init"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "nacred (pid [0-9]*) ended with status 0" "$ROOT.err" &&
   grep -q "the application (pid [0-9]*) ended with status 0" "$ROOT.err"; then
	ok "SIGTERM to nacre-init: nacred drains, both end, exit 0"
else
	notok "SIGTERM to nacre-init (exit $rc: $(grep nacre-init "$ROOT.err" | tail -n 3 | tr '\n' ' '))"
fi
