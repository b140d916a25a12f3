#!/bin/sh
# tests/acme/run.sh [TOPIC...]: CAA and ACME against real servers started
# here (pebble, pebble-challtestsrv, dnsmasq), offline, on loopback.
# Conventions of tests/e2e/run.sh: one "ok - " / "not ok - " line per
# check, exit 1 if any failed; TOPIC filters tests/acme/NN-*.sh by name.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

start_all=$(now)
for f in tests/acme/[0-9]*.sh; do
	[ -e "$f" ] || continue
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
echo "# acme ($NACRED): $PASS passed, $FAIL failed in $(elapsed "$start_all") s"
[ "$FAIL" -eq 0 ]
