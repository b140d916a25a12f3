#!/bin/sh
# tests/e2e/run.sh [TOPIC...]: end-to-end tests of nacred with real clients
# (curl, openssl s_client, build/tools/tlsclient) and build/tools/upstream as
# the app. NACRED picks the binary (default build/nacred; tests/run passes the
# ASan+UBSan build). TOPIC filters the topic files by name, e.g. "reload".
# Prints one "ok - " / "not ok - " line per check; exits 1 if any failed.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

missing=""
for b in "$NACRED" "$UPSTREAM" "$TLSCLIENT" "$HSLOAD"; do
	[ -x "$b" ] || missing="$missing $b"
done
for c in curl openssl ss sha256sum awk; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
if [ -n "$missing" ]; then
	notok "e2e prerequisites" "missing:$missing (make all asan tools; sh tests/deps.sh build test)"
	exit 1
fi
# 1000 concurrent TLS connections need ~2000 descriptors in nacred
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

start_all=$(now)
for f in tests/e2e/[0-9]*.sh; do
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
echo "# e2e ($NACRED): $PASS passed, $FAIL failed in $(elapsed "$start_all") s"
[ "$FAIL" -eq 0 ]
