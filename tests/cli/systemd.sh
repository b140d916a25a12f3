# tests/cli/systemd.sh, sourced by tests/cli/run.sh (ok/notok, $T): the
# units pass `systemd-analyze verify` without a word (binaries pointed at
# this build); exit 69 and 78 do not restart nacred, 78 not nacre forward
# (whose unit's ExecStartPre check passes on an example file); the shipped layout
# works: sysusers.d makes the group nacre-app, tmpfiles.d the directory
# /run/nacre-app (2770, that group) that conf/nacred.conf's upstream is
# in; as root, an app in the group makes its socket there and a nacred in
# the group may connect, anyone else not.

U=$T/units
mkdir -p "$U"
NACRED_ABS=$(pwd)/build/nacred
sed -e "s|/usr/local/sbin/nacred|$NACRED_ABS|g" -e "s|/etc/nacre/nacred.conf|$(pwd)/conf/nacred.conf|g" \
	systemd/nacred.service >"$U/nacred.service"
sed -e "s|^ExecStart=/usr/local/bin/my-app .*|ExecStart=/bin/sleep 1|" \
	systemd/nacre-app.service.example >"$U/nacre-app.service"
case $NACRE in /*) NACRE_ABS=$NACRE ;; *) NACRE_ABS=$(pwd)/$NACRE ;; esac
cat >"$T/forward.conf" <<EOF
inbound = ( { listen = "tcp:0.0.0.0:443"; target = "vsock:16:8443"; } );
outbound = ( { listen = "vsock:any:8001"; target = "tcp:acme-v02.api.letsencrypt.org:443"; from_cid = 16; } );
admin = { listen = "tcp:127.0.0.1:9101"; };
EOF
sed -e "s|/usr/local/bin/nacre|$NACRE_ABS|g" -e "s|/etc/nacre/forward.conf|$T/forward.conf|g" \
	systemd/nacre-forward.service >"$U/nacre-forward.service"
if ! command -v systemd-analyze >/dev/null; then
	notok "systemd-analyze verify of the units" "no systemd-analyze (sh tests/deps.sh test)"
elif [ ! -x "$NACRED_ABS" ]; then
	notok "systemd-analyze verify of the units" "no $NACRED_ABS (make)"
else
	out=$(systemd-analyze verify --man=no "$U/nacred.service" "$U/nacre-app.service" 2>&1); rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
		ok "systemd-analyze verify: nacred.service and nacre-app.service.example, no complaint"
	else
		notok "systemd-analyze verify: nacred.service and nacre-app.service.example, no complaint" \
			"exit $rc: $(printf '%s' "$out" | head -n 5 | tr '\n' '|')"
	fi
	out=$(systemd-analyze verify --man=no "$U/nacre-forward.service" 2>&1); rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
		ok "systemd-analyze verify: nacre-forward.service, no complaint"
	else
		notok "systemd-analyze verify: nacre-forward.service, no complaint" \
			"exit $rc: $(printf '%s' "$out" | head -n 5 | tr '\n' '|')"
	fi
	pre=$(sed -n 's/^ExecStartPre=//p' "$U/nacre-forward.service")
	out=$($pre 2>&1); rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "nacre-forward.service's ExecStartPre (nacre forward -t) passes on an example file"
	else
		notok "nacre-forward.service's ExecStartPre (nacre forward -t) passes on an example file" "exit $rc: $out"
	fi
	# the check catches what it should: a broken copy is reported
	mkdir -p "$U/broken"
	sed 's/^RestartPreventExitStatus=.*/RestartPreventExitStatus=69 78 bogus/' \
		"$U/nacred.service" >"$U/broken/nacred.service"
	out=$(systemd-analyze verify --man=no "$U/broken/nacred.service" 2>&1)
	case $out in
	*bogus*) ok "systemd-analyze verify reports a bad value (the check has teeth)" ;;
	*) notok "systemd-analyze verify reports a bad value (the check has teeth)" "$out" ;;
	esac
fi
prevent=$(sed -n 's/^RestartPreventExitStatus=//p' systemd/nacred.service)
case " $prevent " in
*" 69 "*) case " $prevent " in
	*" 78 "*) ok "exit 69 (no provider) and 78 (bad config) do not restart nacred" ;;
	*) notok "exit 69 (no provider) and 78 (bad config) do not restart nacred" "RestartPreventExitStatus=$prevent" ;;
	esac ;;
*) notok "exit 69 (no provider) and 78 (bad config) do not restart nacred" "RestartPreventExitStatus=$prevent" ;;
esac
case " $(sed -n 's/^RestartPreventExitStatus=//p' systemd/nacre-forward.service) " in
*" 78 "*) ok "exit 78 (bad config) does not restart nacre forward" ;;
*) notok "exit 78 (bad config) does not restart nacre forward" "see systemd/nacre-forward.service" ;;
esac

# the socket layout, one directory named in four places
up=$(sed -n 's/^[[:space:]]*address = "unix:\(.*\)";.*/\1/p' conf/nacred.conf | head -n 1)
tmpdir=$(awk '$1 == "d" { print $2 }' systemd/nacre.tmpfiles)
if [ -n "$up" ] && [ "$(dirname "$up")" = "$tmpdir" ] && [ "$tmpdir" = /run/nacre-app ]; then
	ok "conf/nacred.conf's upstream ($up) is in the tmpfiles.d directory $tmpdir"
else
	notok "conf/nacred.conf's upstream is in the tmpfiles.d directory" "upstream $up, tmpfiles $tmpdir"
fi
grep -q '^SupplementaryGroups=nacre-app$' systemd/nacred.service &&
	grep -q '^SupplementaryGroups=nacre-app$' systemd/nacre-app.service.example &&
	grep -q 'ReadWritePaths=/run/nacre-app' systemd/nacre-app.service.example &&
	ok "nacred and the app's unit both join nacre-app; the app may write /run/nacre-app" ||
	notok "nacred and the app's unit both join nacre-app; the app may write /run/nacre-app" "see systemd/"
case $up in
/run/nacre/*) notok "the upstream socket is not in nacred's RuntimeDirectory (the app cannot write it)" "$up" ;;
*) ok "the upstream socket is not in nacred's RuntimeDirectory (the app cannot write it)" ;;
esac

R=$T/sysroot
mkdir -p "$R/etc" "$R/run"
if command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null &&
	systemd-sysusers --root="$R" "$(pwd)/systemd/nacre.sysusers" >"$T/sysusers.log" 2>&1 &&
	systemd-tmpfiles --root="$R" --create "$(pwd)/systemd/nacre.tmpfiles" >"$T/tmpfiles.log" 2>&1; then
	gid=$(awk -F: '$1 == "nacre-app" { print $3 }' "$R/etc/group")
	st=$(stat -c '%a %g %u' "$R/run/nacre-app" 2>&1)
	if [ -n "$gid" ] && [ "$st" = "2770 $gid 0" ]; then
		ok "sysusers.d makes group nacre-app, tmpfiles.d /run/nacre-app (2770, root:nacre-app)"
	else
		notok "sysusers.d makes group nacre-app, tmpfiles.d /run/nacre-app (2770, root:nacre-app)" "gid '$gid', dir '$st'"
	fi
	if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && [ -n "$gid" ]; then
		# the app (uid 61001) and nacred (61002) are in the group, a
		# stranger (61003) is not; umask 0007 as in the app's unit
		chmod 711 "$T" "$R" "$R/run"
		as() { _u=$1; shift; setpriv --reuid="$_u" --regid="$_u" --groups="$gid" "$@"; }
		sock=$R/run/nacre-app/app.sock
		as 61001 sh -c 'umask 0007; exec /usr/bin/python3 -c "
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
print(\"ready\", flush=True); time.sleep(20)" "$0"' "$sock" >"$T/app.out" 2>&1 &
		app_pid=$!
		i=0; while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
		conn='import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); print("connected")
except OSError as e:
    print(e.strerror)'
		got=$(as 61002 /usr/bin/python3 -c "$conn" "$sock" 2>&1)
		if [ "$got" = connected ]; then ok "nacred's group may connect to the app's socket in /run/nacre-app"
		else notok "nacred's group may connect to the app's socket in /run/nacre-app" "$got ($(cat "$T/app.out"))"; fi
		got=$(setpriv --reuid=61003 --regid=61003 --clear-groups /usr/bin/python3 -c "$conn" "$sock" 2>&1)
		if [ "$got" = "Permission denied" ]; then ok "... and a user outside the group may not"
		else notok "... and a user outside the group may not" "$got"; fi
		kill "$app_pid" 2>/dev/null
		wait "$app_pid" 2>/dev/null
		chmod 700 "$T"
	fi
else
	notok "sysusers.d and tmpfiles.d snippets apply" "$(cat "$T/sysusers.log" "$T/tmpfiles.log" 2>/dev/null | tail -n 3 | tr '\n' '|')"
fi
