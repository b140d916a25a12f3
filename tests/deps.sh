#!/bin/sh
# deps.sh GROUP...: install the Debian packages a group needs, if missing.
# Groups: build (compile nacred), test (make check), vsock (QEMU vsock test),
# bench (make bench). Runs apt-get as root, or through sudo.
set -e
pkgs=""
for g in "$@"; do
	case "$g" in
	build) pkgs="$pkgs build-essential pkg-config libevent-dev libssl-dev libconfig-dev libcbor-dev openssl libcurl4-openssl-dev libjansson-dev libldns-dev" ;;
	test)  pkgs="$pkgs clang libclang-rt-14-dev curl socat python3 python3-cryptography python3-cbor2 procps iproute2 psmisc gdb util-linux pebble dnsmasq-base systemd binutils prometheus haproxy" ;;
	vsock) pkgs="$pkgs qemu-system-x86 linux-image-amd64 busybox-static cpio kmod xz-utils zstd socat pebble openssl" ;;
	bench) pkgs="$pkgs hitch haproxy wrk gnuplot-nox nginx-light libnginx-mod-stream" ;;
	*) echo "deps.sh: unknown group '$g' (use build, test, vsock, bench)" >&2; exit 2 ;;
	esac
done
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps.sh: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
