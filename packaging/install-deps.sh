#!/bin/sh
# Installs everything needed to build, test and fuzz certkeeper on Debian 12.
# Idempotent: packages already present are left as they are.
# Usage: packaging/install-deps.sh [--runtime]   (as root)
#   --runtime   only the shared libraries the daemons need at run time
set -eu

runtime="libssl3 libseccomp2 libmbedtls14 libuv1 libsqlite3-0 libmsgpackc2 libudev1 libinih1 libhttp-parser2.9 libjansson4 libcurl4 openssl ca-certificates"
build="build-essential cmake pkg-config clang libclang-rt-14-dev llvm \
  libssl-dev libmbedtls-dev libuv1-dev libsqlite3-dev libmsgpack-dev libudev-dev \
  libinih-dev libhttp-parser-dev libcmocka-dev libjansson-dev libcurl4-openssl-dev \
  libseccomp-dev nginx \
  cppcheck openssl curl ca-certificates git python3 sqlite3 wrk"
# ACME server (issue 7): libjose verifies JWS; python3-cryptography drives the scripted-client test
build="$build libjose-dev python3-cryptography"
runtime="$runtime libjose0"
# ACME upstream connector (issue 7): libcurl + libjose (above) at run time; pebble is the test CA
build="$build pebble"
# ACME validator + interop (issue 7): real clients for the interop tests (lego, certbot, uacme)
build="$build lego certbot uacme"

# notices (issue 8): libcurl (above) sends SMTP/webhooks; aiosmtpd is the real SMTP server of test_notices.sh
build="$build python3-aiosmtpd"
# packaging (issue 9): .deb/.rpm builders and their lints, the clean-root install test
build="$build dpkg-dev lintian rpm rpmlint debootstrap systemd procps file"
# firmware overlay (issue 9): BusyBox runs the device init script in test_firmware_init.sh
build="$build busybox"
# constrained agent (issue 9): cross toolchains and qemu-user for the arm64/armhf device builds
build="$build gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross qemu-user"
# constrained agent (issue 9): the arm64 target's -dev packages (multiarch: dpkg --add-architecture
# arm64, done below). libhttp-parser-dev is not co-installable: build-agent.sh takes the target's
# from its .deb (apt-get download). armhf: the same list with :armhf, see docs/firmware.md.
cross_arch="arm64"
cross="libmbedtls-dev:arm64 libuv1-dev:arm64 libinih-dev:arm64 libmsgpack-dev:arm64 \
  libjansson-dev:arm64 libcmocka-dev:arm64 libhttp-parser2.9:arm64"
build="$build $cross"

if [ "${1:-}" = "--runtime" ]; then
  pkgs="$runtime"
else
  pkgs="$runtime $build"
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (apt-get install)" >&2
  exit 1
fi

if [ "${1:-}" != "--runtime" ]; then
  # multiarch for the cross -dev packages (issue 9)
  for a in $cross_arch; do
    dpkg --print-foreign-architectures | grep -qx "$a" || dpkg --add-architecture "$a"
  done
fi

missing=""
for p in $pkgs; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  echo "install-deps.sh: all packages present"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# Debian server packages start their service on install; refuse that so tests
# run their own instances bound to 127.0.0.1.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
fi
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
echo "install-deps.sh: installed:$missing"
