#!/bin/sh
# build-overlay.sh — a root-filesystem overlay with the constrained agent
# for a device image (docs/firmware.md): drop the directory into Buildroot's
# BR2_ROOTFS_OVERLAY or unpack the tarball in a Yocto recipe's do_install.
#
# Usage: packaging/firmware/build-overlay.sh arm64|armhf [--out DIR]
#   builds the static agent (build-agent.sh ARCH --static), then
#   DIR (default build-ARCH/overlay) and build-ARCH/certkeeper-agent-overlay-ARCH.tar.gz:
#     usr/sbin/certkeeper-agent            static, stripped (0755)
#     etc/certkeeper/agent.conf            device configuration (0644)
#     etc/init.d/S50certkeeper-agent       BusyBox init script (0755)
#     var/lib/certkeeper/agent/            state directory (0700)
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
fw=$top/packaging/firmware
arch=${1:-}
case $arch in
  arm64|armhf) ;;
  *) echo "usage: build-overlay.sh arm64|armhf [--out DIR]" >&2; exit 2 ;;
esac
base=${CK_FW_BUILD_ROOT:-$top}/build-$arch
out=$base/overlay
[ "${2:-}" = "--out" ] && out=${3:?--out needs a directory}

"$fw/build-agent.sh" "$arch" --static
bin=$base/static/certkeeper-agent

rm -rf "$out"
install -D -m 0755 "$bin" "$out/usr/sbin/certkeeper-agent"
install -D -m 0644 "$fw/agent.conf" "$out/etc/certkeeper/agent.conf"
install -D -m 0755 "$fw/S50certkeeper-agent" "$out/etc/init.d/S50certkeeper-agent"
install -d -m 0700 "$out/var/lib/certkeeper/agent"
tarball=$base/certkeeper-agent-overlay-$arch.tar.gz
tar -C "$out" --owner=0 --group=0 --numeric-owner --sort=name \
  --mtime=@"${SOURCE_DATE_EPOCH:-0}" -czf "$tarball" .
echo "overlay: $out"
echo "tarball: $tarball ($(stat -c %s "$tarball") bytes)"
find "$out" -mindepth 1 | sed "s|^$out||" | sort
