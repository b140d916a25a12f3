#!/bin/sh
# tests/fault/run.sh [GROUP...]: the fault suite. nacred against upstreams
# that vanish, stall or reset, clients that stall, flood, reset or lie, bad
# configurations, attestation failures, descriptor exhaustion and core dumps.
# Every scenario checks what it expects, then that nacred still serves a
# normal request, and ends with nacred_stop (clean exit, no sanitizer report).
# Conventions of tests/e2e/run.sh: NACRED picks the binary (default
# build/nacred; run it with NACRED=build/asan/nacred), one "ok - " /
# "not ok - " line per check, exit 1 if any failed. GROUP filters the
# scenario files (tests/fault/NN-*.sh) by name, e.g. "reload".
# About 1 to 1.5 minutes on 2 cores with the ASan build.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh
. tests/fault/lib.sh

missing=""
for b in "$NACRED" "$UPSTREAM" "$TLSCLIENT" "$HSLOAD" /usr/bin/python3; do
	[ -x "$b" ] || missing="$missing $b"
done
for c in curl openssl ss sha256sum awk setpriv; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || missing="$missing python3-cryptography"
if [ -n "$missing" ]; then
	notok "fault prerequisites" "missing:$missing (make all asan tools; sh tests/deps.sh build test)"
	exit 1
fi
# 5000 concurrent TLS connections: ~10000 descriptors in nacred, 5000 in
# the client, 5000 in the app
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 16384 ] ||
	echo "# ulimit -n is $(ulimit -n): the 5000-connection scenario may run short of descriptors"

start_all=$(now)
for f in tests/fault/[0-9]*.sh; do
	if [ $# -gt 0 ]; then
		want=0
		for t in "$@"; do case $f in *"$t"*) want=1 ;; esac; done
		[ $want = 1 ] || continue
	fi
	topic_start=$(now)
	topic "$f"
	. "./$f"
	echo "# $f took $(elapsed "$topic_start") s"
done
echo "# fault ($NACRED): $PASS passed, $FAIL failed in $(elapsed "$start_all") s"
[ "$FAIL" -eq 0 ]
