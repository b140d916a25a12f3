#!/bin/sh
# deploy/nitro/mkrootfs.sh OUT APP [APP-LIB-DIR]: the enclave image's file
# tree in OUT/rootfs and, from it, OUT/rootfs.tar (what the Dockerfile
# copies in; `nitro-cli build-enclave` turns the image into an EIF).
#
# In it: nacre-init (the entry point), nacred, the application APP, the
# shared libraries they load (as ldd finds them on this machine: build on
# the Debian release the image should carry, packages pinned, see
# docs/deploy-nitro.md), nacred's configuration, and nothing else: no
# shell, no package manager, no coreutils.
#
# Deterministic: files sorted, owner 0:0, modes fixed, every mtime set to
# SOURCE_DATE_EPOCH (default: the last commit's time), so the same inputs
# give the same tar, byte for byte.
set -eu
OUT=$1
APP=$2
cd "$(dirname "$0")/../.."
ROOT=$OUT/rootfs
: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
export SOURCE_DATE_EPOCH

for f in build/nacred build/enclave/nacre-init "$APP"; do
	[ -x "$f" ] || { echo "mkrootfs: $f is not built" >&2; exit 1; }
done
rm -rf "$ROOT"
mkdir -p "$ROOT/usr/sbin" "$ROOT/app" "$ROOT/etc/nacre" "$ROOT/proc" \
	"$ROOT/run" "$ROOT/tmp" "$ROOT/var/lib/nacre" "$ROOT/dev"
install -m 0755 build/enclave/nacre-init "$ROOT/nacre-init"
install -m 0755 build/nacred "$ROOT/usr/sbin/nacred"
install -m 0755 "$APP" "$ROOT/app/server"
install -m 0644 deploy/nitro/nacred.conf "$ROOT/etc/nacre/nacred.conf"
# the libraries, at the paths the dynamic loader looks at
libs() {
	ldd "$1" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'
}
for bin in "$ROOT/nacre-init" "$ROOT/usr/sbin/nacred" "$ROOT/app/server"; do
	libs "$bin"
done | sort -u | while read -r lib; do
	real=$(readlink -f "$lib")
	mkdir -p "$ROOT$(dirname "$lib")"
	install -m 0755 "$real" "$ROOT$lib"
done
# OpenSSL's configuration is read at start; an empty one means defaults
mkdir -p "$ROOT/usr/lib/ssl"
: >"$ROOT/usr/lib/ssl/openssl.cnf"
chmod 0644 "$ROOT/usr/lib/ssl/openssl.cnf"
chmod 1777 "$ROOT/tmp"
find "$ROOT" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 \
	--numeric-owner --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
	-C "$ROOT" -cf "$OUT/rootfs.tar" .
sha256sum "$OUT/rootfs.tar" | cut -d' ' -f1 >"$OUT/rootfs.tar.sha256"
echo "mkrootfs: $OUT/rootfs.tar $(cat "$OUT/rootfs.tar.sha256")"
