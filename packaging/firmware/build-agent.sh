#!/bin/sh
# build-agent.sh — the constrained agent for a device: mbedTLS with every
# CK_DISABLE_* cut, cross-compiled with Debian's cross toolchains
# (docs/firmware.md).
#
# Usage: packaging/firmware/build-agent.sh arm64|armhf [--static] [--test]
#   (default)  build-ARCH: the trimmed agent and its tests, dynamically
#              linked against the multiarch libraries
#   --test     then run the test suite under qemu-user (ctest)
#   --static   build-ARCH/static: one statically linked, stripped
#              certkeeper-agent (the firmware binary), printed with its size
# Env: CK_JOBS (default 2), CK_FW_BUILD_ROOT (where build-ARCH goes;
# default: the source tree; tests/run.sh uses its own). Needs (packaging/install-deps.sh): the cross
# gcc, qemu-user, and the target's -dev packages (multiarch).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
fw=$top/packaging/firmware
arch=${1:-}
shift || true
static=0
test=0
for a in "$@"; do
  case $a in
    --static) static=1 ;;
    --test) test=1 ;;
    *) echo "build-agent.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
case $arch in
  arm64) triplet=aarch64-linux-gnu ;;
  armhf) triplet=arm-linux-gnueabihf ;;
  *) echo "usage: build-agent.sh arm64|armhf [--static] [--test]" >&2; exit 2 ;;
esac
command -v "$triplet-gcc" >/dev/null ||
  { echo "build-agent.sh: $triplet-gcc missing (packaging/install-deps.sh)" >&2; exit 3; }

base=${CK_FW_BUILD_ROOT:-$top}/build-$arch
mkdir -p "$base"
libdir=$base/cross-lib
pcdir=""
pcroot=""
mkdir -p "$libdir"
multi=/usr/lib/$triplet

# The target's libraries: multiarch -dev packages; when they are not
# installed (an architecture dpkg does not have), the same .debs fetched
# into build-ARCH/debs and unpacked into build-ARCH/sysroot.
if [ ! -f "$multi/libmbedtls.a" ]; then
  if ! ls "$base"/debs/libmbedtls-dev_*.deb >/dev/null 2>&1; then
    echo "build-agent.sh: no $arch libraries: install the $arch -dev packages" \
      "(packaging/install-deps.sh) or put their .debs in $base/debs" >&2
    exit 3
  fi
  rm -rf "$base/sysroot"
  for d in "$base"/debs/*.deb; do dpkg-deb -x "$d" "$base/sysroot"; done
  libdir=$base/sysroot/usr/lib/$triplet
  pcdir=$libdir/pkgconfig
  pcroot=$base/sysroot
  multi=$libdir
fi
# Debian's libuv1-dev names its static library libuv_a.a
[ -f "$multi/libuv_a.a" ] && ln -sf "$multi/libuv_a.a" "$libdir/libuv.a"
# libhttp-parser-dev is not co-installable across architectures: take the
# target's from its .deb
if [ ! -f "$multi/libhttp_parser.a" ]; then
  deb=$(ls "$base"/debs/libhttp-parser-dev_*_"$arch".deb 2>/dev/null | head -n 1 || true)
  if [ -z "$deb" ]; then
    mkdir -p "$base/debs"
    (cd "$base/debs" && apt-get download "libhttp-parser-dev:$arch") >/dev/null
    deb=$(ls "$base"/debs/libhttp-parser-dev_*_"$arch".deb | head -n 1)
  fi
  rm -rf "$base/hp" && dpkg-deb -x "$deb" "$base/hp"
  cp "$base/hp/usr/lib/$triplet/libhttp_parser.a" "$libdir/"
  so=$(ls "$multi"/libhttp_parser.so.2.9* 2>/dev/null | head -n 1 || true)
  [ -n "$so" ] && ln -sf "$so" "$libdir/libhttp_parser.so"
fi

trim="-DCK_CRYPTO=mbedtls -DCK_DISABLE_COORDINATOR=ON -DCK_DISABLE_HTTP_SERVER=ON \
  -DCK_DISABLE_TLS_SERVER=ON -DCK_DISABLE_PKCS12=ON -DCK_DISABLE_SYSLOG=ON"
tc=$fw/$triplet.cmake
jobs=${CK_JOBS:-2}

if [ $static -eq 1 ]; then
  b=$base/static
  # shellcheck disable=SC2086
  cmake -S "$top" -B "$b" -DCMAKE_TOOLCHAIN_FILE="$tc" -DCMAKE_BUILD_TYPE=MinSizeRel \
    -DCK_BUILD_TESTS=OFF -DCK_CROSS_STATIC=ON -DCK_CROSS_LIBDIR="$libdir" \
    -DCK_CROSS_PKGCONFIG="$pcdir" -DCK_CROSS_PCSYSROOT="$pcroot" $trim >"$b.configure.log" 2>&1 ||
    { cat "$b.configure.log"; exit 1; }
  cmake --build "$b" -j"$jobs" --target certkeeper-agent >"$b.build.log" 2>&1 ||
    { tail -n 40 "$b.build.log"; exit 1; }
  "$triplet-strip" --strip-all -R .comment -R .note -o "$b/certkeeper-agent" \
    "$b/agent/certkeeper-agent"
  file -b "$b/certkeeper-agent" 2>/dev/null | grep -q "statically linked" ||
    { echo "build-agent.sh: $b/certkeeper-agent is not static" >&2; exit 1; }
  echo "$b/certkeeper-agent: $(stat -c %s "$b/certkeeper-agent") bytes (static, stripped)"
else
  b=$base
  # shellcheck disable=SC2086
  cmake -S "$top" -B "$b" -DCMAKE_TOOLCHAIN_FILE="$tc" -DCMAKE_BUILD_TYPE=MinSizeRel \
    -DCK_WERROR=ON -DCK_CROSS_LIBDIR="$libdir" -DCK_CROSS_PKGCONFIG="$pcdir" -DCK_CROSS_PCSYSROOT="$pcroot" $trim \
    >"$b.configure.log" 2>&1 || { cat "$b.configure.log"; exit 1; }
  cmake --build "$b" -j"$jobs" >"$b.build.log" 2>&1 || { tail -n 40 "$b.build.log"; exit 1; }
  echo "$b: built"
  if [ $test -eq 1 ]; then
    (cd "$b" && ctest --output-on-failure -j"$jobs" --timeout 600)
  fi
fi
