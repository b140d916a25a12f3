#!/bin/sh
# tests/fuzz/run.sh: runs every build/fuzz/fuzz_* for FUZZ_SECONDS (default 15)
# on a scratch copy of its checked-in corpus tests/fuzz/corpus/NAME/ (new
# inputs land in the copy; the seeds are passed read-only after it). One
# "ok -" / "not ok -" line per target; logs and crash files in build/fuzz-work/.
# Two targets run at a time (one per core), each for its full FUZZ_SECONDS.
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

# fuzz_one BIN: one target for FUZZ_SECONDS; its verdict into WORK/NAME.result
fuzz_one() {
	bin=$1
	name=$(basename "$bin")
	seeds=tests/fuzz/corpus/$name
	log=$WORK/$name.log
	res=$WORK/$name.result
	if [ ! -d "$seeds" ]; then
		echo "not ok - fuzz $name (no seed corpus: $seeds is missing)" >"$res"
		return
	fi
	rm -rf "${WORK:?}/$name"
	rm -f "$WORK/$name"-crash-* "$WORK/$name"-leak-* "$WORK/$name"-timeout-* \
		"$WORK/$name"-oom-* "$WORK/$name"-slow-unit-*
	if ! mkdir -p "$WORK/$name" || ! cp -R "$seeds/." "$WORK/$name/"; then
		echo "not ok - fuzz $name (cannot copy $seeds to $WORK/$name)" >"$res"
		return
	fi
	$guard "$bin" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix="$WORK/$name-" "$WORK/$name" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
		echo "ok - fuzz $name ($execs execs, no crash)" >"$res"
	else
		report_failure "$name" "$log" >"$res"
	fi
}

# two targets at a time (one per core), each for its full FUZZ_SECONDS
failed=0
targets=0
set --
for bin in build/fuzz/fuzz_*; do
	if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then continue; fi
	targets=$((targets + 1))
	rm -f "$WORK/$(basename "$bin").result"
	set -- "$@" "$bin"
done
lane() { # every other target: the odd ones (LANE=1) or the even ones
	i=0
	for bin in "$@"; do
		i=$((i + 1))
		[ $((i % 2)) -eq $((LANE % 2)) ] && fuzz_one "$bin"
	done
}
LANE=1 lane "$@" &
LANE=2 lane "$@" &
wait
for bin in "$@"; do
	res=$WORK/$(basename "$bin").result
	if [ -s "$res" ]; then
		cat "$res"
		grep -q '^not ok' "$res" && failed=1
	else
		echo "not ok - fuzz $(basename "$bin") (no result)"
		failed=1
	fi
done

if [ "$targets" -eq 0 ]; then
	echo "not ok - fuzz: no fuzz targets in build/fuzz (run make fuzz-bins)"
	failed=1
fi
exit "$failed"
