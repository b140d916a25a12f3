#!/bin/sh
# tests/fuzz/run.sh: runs every build/fuzz/fuzz_* for FUZZ_SECONDS (default 15)
# on a scratch copy of its checked-in corpus tests/fuzz/corpus/NAME/ (new
# inputs land in the copy; the seeds are passed read-only after it). One
# "ok -" / "not ok -" line per target; logs and crash files in build/fuzz-work/.
cd "$(dirname "$0")/../.." || exit 1
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
WORK=build/fuzz-work
# make UBSan findings fatal, so libFuzzer saves the input that caused them
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

case $FUZZ_SECONDS in
'' | *[!0-9]*)
	echo "not ok - fuzz: FUZZ_SECONDS='$FUZZ_SECONDS' is not a whole number of seconds"
	exit 1 ;;
esac
mkdir -p "$WORK" || exit 1

# a guard over libFuzzer's own limit, in case a target wedges outside it
guard=
command -v timeout >/dev/null 2>&1 && guard="timeout -k 10 $((FUZZ_SECONDS + 120))"

report_failure() { # name log
	crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$2" | tail -n 1)
	echo "not ok - fuzz $1 (input: ${crash:-none saved}; log: $2)"
	first=$(grep -n -m 1 -E '==[0-9]+==ERROR|ERROR: libFuzzer|runtime error|deadly signal' "$2" |
		cut -d: -f1)
	if [ -n "$first" ]; then
		sed -n "${first},$((first + 5))p" "$2"
	else
		tail -n 6 "$2"
	fi | sed 's/^/#   /'
}

failed=0
targets=0
for bin in build/fuzz/fuzz_*; do
	if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then continue; fi
	targets=$((targets + 1))
	name=$(basename "$bin")
	seeds=tests/fuzz/corpus/$name
	log=$WORK/$name.log
	if [ ! -d "$seeds" ]; then
		echo "not ok - fuzz $name (no seed corpus: $seeds is missing)"
		failed=1
		continue
	fi
	rm -rf "${WORK:?}/$name"
	rm -f "$WORK/$name"-crash-* "$WORK/$name"-leak-* "$WORK/$name"-timeout-* \
		"$WORK/$name"-oom-* "$WORK/$name"-slow-unit-*
	if ! mkdir -p "$WORK/$name" || ! cp -R "$seeds/." "$WORK/$name/"; then
		echo "not ok - fuzz $name (cannot copy $seeds to $WORK/$name)"
		failed=1
		continue
	fi
	$guard "$bin" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix="$WORK/$name-" "$WORK/$name" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
		echo "ok - fuzz $name ($execs execs, no crash)"
	else
		report_failure "$name" "$log"
		failed=1
	fi
done

if [ "$targets" -eq 0 ]; then
	echo "not ok - fuzz: no fuzz targets in build/fuzz (run make fuzz-bins)"
	failed=1
fi
exit "$failed"
