#!/usr/bin/env bash
# test_packages.sh — the DEB and RPM packages (issue 9), end to end:
#   1. packaging/build-packages.sh builds version 0.1.0-1 and 0.1.0-2 of
#      certkeeper, certkeeper-agent and certkeeper-coordinator (.deb and
#      .rpm) from this build's binaries; lintian and rpmlint report no error;
#      the RPMs carry %config(noreplace) files and create their users;
#   2. the units pass `systemd-analyze verify` in the installed root;
#   3. the .debs install into a clean Debian 12 root (debootstrap minbase,
#      cached under /var/cache/certkeeper-test; services never started:
#      policy-rc.d 101): files, modes, conffiles, system users, enabled
#      units, an initialised coordinator data directory; the installed
#      coordinator runs there as user certkeeper and serves;
#   4. -2 installed over -1 keeps the data directory, the CA key, the state
#      created before (an API token) and local edits of every conffile;
#   5. removal keeps configuration and data; purge removes both.
# Needs root, dpkg-deb, rpmbuild, lintian, rpmlint, debootstrap (first run:
# network), systemd-analyze; skipped (77) otherwise, and for sanitizer or
# mbedTLS builds (the packages hold the OpenSSL build).
set -u
build=$(cd "${1:?build dir}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); echo "ok $checks - $*"; }

[ "$(id -u)" = 0 ] || skip "needs root (chroot, dpkg --install into a test root)"
for t in dpkg-deb dpkg-shlibdeps rpmbuild rpm lintian rpmlint debootstrap systemd-analyze chroot; do
  command -v "$t" >/dev/null || skip "$t is missing (packaging/install-deps.sh installs it)"
done
[ -x "$build/coordinator/certkeeper-coordinator" ] || skip "this build has no coordinator"
grep -q '^CK_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" && skip "sanitizer build (packages hold plain binaries)"

work=$(mktemp -d /tmp/ckpkg.XXXXXX)
root=$work/root
cleanup() {
  [ -n "${coord_pid:-}" ] && kill "$coord_pid" 2>/dev/null && wait "$coord_pid" 2>/dev/null
  mountpoint -q "$root/proc" 2>/dev/null && umount "$root/proc"
  rm -rf "$work"
}
trap cleanup EXIT

# ---- 1. build and lint ----------------------------------------------------
for rel in 1 2; do
  lint=""; [ $rel = 1 ] && lint=--lint
  "$top/packaging/build-packages.sh" --prebuilt "$build" --release $rel \
    --out "$work/out$rel" $lint >"$work/build$rel.log" 2>&1 ||
    { cat "$work/build$rel.log"; fail "build-packages.sh --release $rel"; }
done
arch=$(dpkg --print-architecture)
for p in certkeeper certkeeper-agent certkeeper-coordinator; do
  [ -f "$work/out1/${p}_0.1.0-1_$arch.deb" ] || fail "no $p .deb"
  ls "$work/out1/$p-0.1.0-1."*.rpm >/dev/null 2>&1 || fail "no $p .rpm"
done
grep -E '^(E|[a-z0-9.-]+: E): ' "$work/build1.log" && fail "lintian errors"
grep -E '[0-9]+ errors?, ' "$work/build1.log" | grep -qv ' 0 errors' && fail "rpmlint errors"
ok "6 packages built; lintian and rpmlint: no errors"

rpmf() { ls "$work/out1/$1-0.1.0-1."*.rpm; }
cfg=$(rpm -qp --configfiles "$(rpmf certkeeper-agent)" 2>/dev/null)
echo "$cfg" | grep -qx /etc/certkeeper/agent.conf || fail "rpm: agent.conf is not %config"
echo "$cfg" | grep -qx /etc/systemd/system/certkeeper-agent.service.d/targets.conf ||
  fail "rpm: targets.conf is not %config"
rpm -qp --configfiles "$(rpmf certkeeper-coordinator)" 2>/dev/null |
  grep -qx /etc/certkeeper/coordinator.conf || fail "rpm: coordinator.conf is not %config"
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$(rpmf certkeeper-agent)" |
  grep -q '^cn /etc/certkeeper/agent.conf' || fail "rpm: agent.conf is not noreplace"
rpm -qp --scripts "$(rpmf certkeeper-coordinator)" 2>/dev/null | grep -q 'useradd -r' ||
  fail "rpm: coordinator %pre creates no system user"
rpm -qp --scripts "$(rpmf certkeeper-agent)" 2>/dev/null | grep -q 'useradd -r' ||
  fail "rpm: agent %pre creates no system user"
rpm -qlp "$(rpmf certkeeper-agent)" | grep -qx /usr/lib/systemd/system/certkeeper-agent.service ||
  fail "rpm: no unit"
ok "rpm: %config(noreplace) files, users from %pre, units in /usr/lib/systemd/system"

# ---- 3. a clean Debian 12 root (cached) -----------------------------------
cache=${CK_PKG_CACHE:-/var/cache/certkeeper-test}/bookworm-minbase
mkdir -p "$(dirname "$cache")"
if [ ! -x "$cache/usr/bin/dpkg" ]; then
  rm -rf "$cache.tmp"
  debootstrap --variant=minbase bookworm "$cache.tmp" http://deb.debian.org/debian \
    >"$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log"; skip "debootstrap failed (network?)"; }
  mv "$cache.tmp" "$cache"
fi
# the packages' run-time dependencies, once, into the cache,
deps=$(for f in "$work/out1"/*.deb; do dpkg-deb -f "$f" Depends; done | tr ',' '\n' |
  sed -E 's/\(.*\)//; s/\|.*//; s/ //g' | grep -v '^$' | sort -u | tr '\n' ' ')
# and what a server has that the units refer to (sysinit.target, /bin/kill)
deps="$deps systemd procps"
missing=""
for d in $deps; do
  chroot "$cache" dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $d"
done
if [ -n "$missing" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$cache/usr/sbin/policy-rc.d"; chmod 0755 "$cache/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$cache/etc/resolv.conf" 2>/dev/null
  # shellcheck disable=SC2086
  { chroot "$cache" apt-get update -q && DEBIAN_FRONTEND=noninteractive chroot "$cache" \
      apt-get install -y -q --no-install-recommends $missing && chroot "$cache" apt-get clean; } \
    >"$work/deps.log" 2>&1 || { tail -n 20 "$work/deps.log"; skip "cannot install$missing into $cache (network?)"; }
fi
cp -a "$cache" "$root"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod 0755 "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/tmp/debs1" "$root/tmp/debs2"
cp "$work/out1"/*.deb "$root/tmp/debs1/"; cp "$work/out2"/*.deb "$root/tmp/debs2/"
in_root() { chroot "$root" "$@"; }
# mode PATH: "octal-mode user:group" with the names of the test root
mode() {
  # shellcheck disable=SC2046
  set -- $(stat -c '%a %u %g' "$root$1")
  echo "$1 $(in_root getent passwd "$2" | cut -d: -f1):$(in_root getent group "$3" | cut -d: -f1)"
}

export DEBIAN_FRONTEND=noninteractive
in_root dpkg -i /tmp/debs1/certkeeper_0.1.0-1_"$arch".deb /tmp/debs1/certkeeper-agent_0.1.0-1_"$arch".deb \
  /tmp/debs1/certkeeper-coordinator_0.1.0-1_"$arch".deb </dev/null >"$work/install1.log" 2>&1 ||
  { cat "$work/install1.log"; fail "dpkg -i (version 1)"; }
for p in certkeeper certkeeper-agent certkeeper-coordinator; do
  [ "$(in_root dpkg-query -W -f='${Status} ${Version}' $p)" = "install ok installed 0.1.0-1" ] ||
    fail "$p not installed"
done
ok "dpkg -i into a clean bookworm root: 3 packages installed"

[ "$(mode /usr/sbin/certkeeper-agent)" = "755 root:root" ] || fail "agent binary $(mode /usr/sbin/certkeeper-agent)"
[ "$(mode /usr/sbin/certkeeper-coordinator)" = "755 root:root" ] || fail "coordinator binary"
[ "$(mode /usr/bin/certkeeper)" = "755 root:root" ] || fail "cli binary"
in_root /usr/bin/certkeeper --version >/dev/null 2>&1 || fail "certkeeper --version in the root"
in_root /usr/sbin/certkeeper-agent help >/dev/null 2>&1 || fail "certkeeper-agent help in the root"
for m in man1/certkeeper.1 man8/certkeeper-agent.8 man8/certkeeper-coordinator.8 \
         man5/certkeeper-agent.conf.5 man5/certkeeper-coordinator.conf.5; do
  [ -f "$root/usr/share/man/$m.gz" ] || fail "man page $m"
done
for u in certkeeper-agent.service certkeeper-coordinator.service; do
  [ -f "$root/lib/systemd/system/$u" ] || fail "unit $u"
  [ -L "$root/etc/systemd/system/multi-user.target.wants/$u" ] || fail "$u not enabled"
done
conff=$(in_root dpkg-query -W -f='${Conffiles}\n' certkeeper-agent certkeeper-coordinator | awk '{print $1}')
for c in /etc/certkeeper/agent.conf /etc/certkeeper/coordinator.conf \
         /etc/systemd/system/certkeeper-agent.service.d/targets.conf; do
  echo "$conff" | grep -qx "$c" || fail "$c is not a conffile"
done
ok "binaries 0755 in /usr/bin and /usr/sbin, 5 man pages, units enabled, 3 conffiles"

for u in certkeeper certkeeper-agent; do
  ent=$(in_root getent passwd $u) || fail "no user $u"
  uid=$(echo "$ent" | cut -d: -f3)
  [ "$uid" -lt 1000 ] || fail "$u is not a system user (uid $uid)"
  echo "$ent" | grep -q ':/usr/sbin/nologin$' || fail "$u has a login shell: $ent"
done
ok "system users certkeeper and certkeeper-agent (no login shell)"

d=/var/lib/certkeeper/coordinator
[ "$(mode $d)" = "700 certkeeper:certkeeper" ] || fail "$d: $(mode $d)"
[ "$(mode $d/ca/root.key)" = "600 certkeeper:certkeeper" ] || fail "root.key: $(mode $d/ca/root.key)"
[ "$(mode $d/admin.token)" = "600 root:root" ] || fail "admin.token: $(mode $d/admin.token)"
[ "$(readlink "$root$d/coordinator.conf")" = /etc/certkeeper/coordinator.conf ] ||
  fail "$d/coordinator.conf does not link to /etc"
[ "$(mode /var/lib/certkeeper/agent)" = "700 root:root" ] || fail "agent state dir"
ok "data directories: coordinator 0700 certkeeper (CA key 0600, admin token root 0600), agent 0700 root"

# ---- 2. units -------------------------------------------------------------
for u in certkeeper-agent.service certkeeper-coordinator.service; do
  systemd-analyze verify --man=no --root="$root" "/lib/systemd/system/$u" >"$work/verify.log" 2>&1 ||
    { cat "$work/verify.log"; fail "systemd-analyze verify $u"; }
  grep -q . "$work/verify.log" &&
    { cat "$work/verify.log"; fail "systemd-analyze verify $u: warnings"; }
  for k in Type=notify ExecReload= ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
           NoNewPrivileges=yes CapabilityBoundingSet= ReadWritePaths=/var/lib/certkeeper; do
    grep -q "^$k" "$root/lib/systemd/system/$u" || fail "$u lacks $k"
  done
done
grep -q '^ReadWritePaths=' "$root/etc/systemd/system/certkeeper-agent.service.d/targets.conf" ||
  fail "targets.conf has no ReadWritePaths"
ok "units: systemd-analyze verify clean; notify, HUP reload, hardening, ReadWritePaths"

# ---- the installed coordinator runs as certkeeper on its data directory ----
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
start_coord() {
  mount -t proc proc "$root/proc" 2>/dev/null
  ph=$(port); ps=$(port); pg=$(port)
  chroot --userspec=certkeeper:certkeeper "$root" /usr/sbin/certkeeper-coordinator run \
    --data-dir $d --listen-http 127.0.0.1:$ph --listen-https 127.0.0.1:$ps \
    --listen-gateway 127.0.0.1:$pg >>"$work/coord.log" 2>&1 &
  coord_pid=$!
  curl -sf --retry 300 --retry-connrefused --retry-delay 0 --retry-max-time 30 -o /dev/null \
    "http://127.0.0.1:$ph/healthz" || { tail -n 20 "$work/coord.log"; fail "installed coordinator not healthy"; }
  curl -sf "http://127.0.0.1:$ph/ca/chain.pem" -o "$work/chain.pem" || fail "chain.pem"
}
stop_coord() {
  kill -TERM "$coord_pid"; wait "$coord_pid" || fail "coordinator exit status $?"
  coord_pid=""
  umount "$root/proc" 2>/dev/null
}
cli() {
  CERTKEEPER_SERVER=https://127.0.0.1:$ps CERTKEEPER_CACERT=$work/chain.pem \
    CERTKEEPER_TOKEN_FILE=$root$d/admin.token "$root/usr/bin/certkeeper" "$@"
}
start_coord
cli token create --group pkgtest --profile tls-server --ttl 30d --json >"$work/token.json" 2>"$work/cli.err" ||
  { cat "$work/cli.err"; fail "token create against the installed coordinator"; }
tok_id=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("id") or d.get("token",{}).get("id",""))' "$work/token.json")
[ -n "$tok_id" ] || fail "no token id in $(cat "$work/token.json")"
stop_coord
ok "installed coordinator runs as certkeeper, serves, keeps state (token $tok_id)"

# ---- 4. upgrade keeps data and local edits ---------------------------------
for c in /etc/certkeeper/agent.conf /etc/certkeeper/coordinator.conf \
         /etc/systemd/system/certkeeper-agent.service.d/targets.conf; do
  echo "# local edit $c" >>"$root$c"
done
key_sum=$(sha256sum <"$root$d/ca/root.key")
in_root dpkg -i /tmp/debs2/certkeeper_0.1.0-2_"$arch".deb /tmp/debs2/certkeeper-agent_0.1.0-2_"$arch".deb \
  /tmp/debs2/certkeeper-coordinator_0.1.0-2_"$arch".deb </dev/null >"$work/install2.log" 2>&1 ||
  { cat "$work/install2.log"; fail "dpkg -i (version 2 over 1)"; }
for p in certkeeper certkeeper-agent certkeeper-coordinator; do
  [ "$(in_root dpkg-query -W -f='${Version}' $p)" = 0.1.0-2 ] || fail "$p not upgraded"
done
for c in /etc/certkeeper/agent.conf /etc/certkeeper/coordinator.conf \
         /etc/systemd/system/certkeeper-agent.service.d/targets.conf; do
  grep -q "^# local edit $c" "$root$c" || fail "upgrade lost the edit of $c"
done
[ "$(sha256sum <"$root$d/ca/root.key")" = "$key_sum" ] || fail "upgrade changed the CA key"
grep -q "data directory .* created" "$work/install2.log" && fail "upgrade re-initialised the data directory"
start_coord
cli token list --json >"$work/tokens.json" 2>"$work/cli.err" || { cat "$work/cli.err"; fail "token list"; }
grep -q "$tok_id" "$work/tokens.json" || fail "token $tok_id lost by the upgrade"
stop_coord
ok "0.1.0-2 over 0.1.0-1: conffile edits, CA key and state kept; coordinator serves them"

# ---- 5. remove keeps data, purge removes it --------------------------------
in_root dpkg -r certkeeper certkeeper-agent certkeeper-coordinator >"$work/remove.log" 2>&1 ||
  { cat "$work/remove.log"; fail "dpkg -r"; }
[ ! -e "$root/usr/sbin/certkeeper-coordinator" ] && [ ! -e "$root/usr/sbin/certkeeper-agent" ] ||
  fail "binaries left after remove"
[ -f "$root$d/certkeeper.db" ] && [ -f "$root$d/ca/root.key" ] || fail "remove deleted the data"
grep -q "^# local edit" "$root/etc/certkeeper/agent.conf" || fail "remove deleted agent.conf"
[ "$(in_root dpkg-query -W -f='${Status}' certkeeper-coordinator)" = "deinstall ok config-files" ] ||
  fail "coordinator not in config-files state"
ok "dpkg -r: binaries gone; data directory and configuration kept"

in_root dpkg -P certkeeper certkeeper-agent certkeeper-coordinator >"$work/purge.log" 2>&1 ||
  { cat "$work/purge.log"; fail "dpkg -P"; }
[ ! -e "$root/var/lib/certkeeper" ] || fail "purge left /var/lib/certkeeper: $(find "$root/var/lib/certkeeper" | head)"
[ ! -e "$root/etc/certkeeper" ] || fail "purge left /etc/certkeeper"
[ ! -e "$root/etc/systemd/system/certkeeper-agent.service.d" ] || fail "purge left the drop-in"
[ ! -e "$root/etc/systemd/system/multi-user.target.wants/certkeeper-coordinator.service" ] ||
  fail "purge left the enablement"
ok "dpkg -P: data, configuration and unit state gone"
echo "all $checks checks passed"
