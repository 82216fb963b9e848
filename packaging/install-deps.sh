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

if [ "${1:-}" = "--runtime" ]; then
  pkgs="$runtime"
else
  pkgs="$runtime $build"
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (apt-get install)" >&2
  exit 1
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
