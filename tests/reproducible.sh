#!/bin/sh
# tests/reproducible.sh: the same sources built in another directory, later,
# give bit-identical nacred, nacre and libnacre.so: the tracked files, as
# they are in the working tree, are built in two temporary directories
# with paths of different lengths, a second apart, and the SHA-256 of each
# binary must match. REPRO_KEEP=1 keeps the directories (for diffoscope).
cd "$(dirname "$0")/.." || exit 1
failed=0
ok() { echo "ok - reproducible: $*"; }
notok() { echo "not ok - reproducible: $*"; failed=1; }

BINS="build/nacred build/nacre build/libnacre.so"
# the shared library's real file, not its symlink
real() { readlink -f "$1"; }
jobs=$(nproc 2>/dev/null || echo 2)

tmp=$(mktemp -d /tmp/nacre-repro.XXXXXXXX) || exit 1
trap '[ -n "$REPRO_KEEP" ] || rm -rf "$tmp"' EXIT
# build DIR: the tracked files as they are in the working tree, copied
# to DIR and built there
build() {
	mkdir -p "$1"
	git ls-files -z | xargs -0 cp --parents -t "$1" 2>/dev/null ||
		{ notok "copy the tracked files to $1"; return 1; }
	_s=$(date +%s)
	if ! make -C "$1" --no-print-directory -j"$jobs" $BINS >"$1.log" 2>&1; then
		notok "the build in $1 (see $1.log)"
		tail -n 20 "$1.log" | sed 's/^/#   /'
		REPRO_KEEP=1
		return 1
	fi
	echo "# built in $1 in $(( $(date +%s) - _s )) s"
}
one="$tmp/one"
other="$tmp/a/much/longer/path/to/the/same/sources"
build "$one" || exit 1
sleep 1 # another time, to the second
build "$other" || exit 1
for b in $BINS; do
	a=$(sha256sum <"$(real "$one/$b")" | cut -d' ' -f1)
	c=$(sha256sum <"$(real "$other/$b")" | cut -d' ' -f1)
	if [ "$a" = "$c" ]; then
		ok "$b is bit-identical when built elsewhere, later ($a)"
	else
		notok "$b differs between $one and $other"
		REPRO_KEEP=1
	fi
done
# nothing of the build's place in them
for b in $BINS; do
	if grep -q -a -F "$tmp" "$(real "$one/$b")" "$(real "$other/$b")"; then
		notok "$b holds its source directory's path"
	else
		ok "$b holds no source directory path"
	fi
done

# The measurement, predicted from source: the sim's PCR0 is the SHA-384 of
# the nacred binary. A verifier that built the sources itself ($other)
# pins the hash of its own build and verifies the nacred built elsewhere
# ($one) that a client reaches; the same holds for an enclave image's PCR0
# as far as the image build is deterministic (docs/deploy-nitro.md).
pcr0=$(sha384sum <"$other/build/nacred" | cut -d' ' -f1)
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '%s\n' "listen = ( { address = \"tcp:127.0.0.1:$port\"; } );" \
	"upstream = { address = \"unix:$tmp/no-app.sock\"; };" \
	'tls = { names = [ "localhost" ]; };' \
	"attestation = { provider = \"sim\"; sim = { root = \"$tmp/sim-root.pem\"; }; };" \
	>"$tmp/sim.conf"
"$one/build/nacred" -c "$tmp/sim.conf" 2>"$tmp/nacred.log" &
npid=$!
i=0
while [ $i -lt 100 ] && ! grep -q "listening on" "$tmp/nacred.log"; do
	sleep 0.1; i=$((i + 1))
done
out=$("$other/build/nacre" verify "127.0.0.1:$port" --sni localhost \
	--root "$tmp/sim-root.crt" --pcr "0=$pcr0" 2>&1); rc=$?
kill "$npid" 2>/dev/null
wait "$npid" 2>/dev/null
if [ "$rc" -eq 0 ] && printf '%s' "$out" | grep -q "verified: yes"; then
	ok "PCR0 predicted from source (SHA-384 of an independent build) verifies the running nacred"
else
	notok "PCR0 predicted from source verifies the running nacred (exit $rc: $(printf '%s' "$out" | tail -n 2 | tr '\n' ' '))"
fi
[ -n "$REPRO_KEEP" ] && echo "# kept: $tmp"
exit $failed
