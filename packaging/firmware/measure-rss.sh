#!/usr/bin/env bash
# measure-rss.sh — idle memory of the constrained agent (docs/firmware.md,
# docs/performance.md "Constrained agent"): a real coordinator (the host's
# OpenSSL build) and the static firmware agent under qemu-user managing 10
# certificates; once all 10 are issued and installed and the agent has
# been idle for IDLE seconds, prints each process's RSS, the RSS of an
# idle do-nothing static program under the same qemu (the emulator's own
# share), and the difference.
#
# Usage: packaging/firmware/measure-rss.sh HOST_BUILD_DIR [arm64|armhf] [IDLE]
#   HOST_BUILD_DIR: an OpenSSL build with certkeeper-coordinator and certkeeper
#   the agent: build-ARCH/static/certkeeper-agent (build-agent.sh ARCH --static)
# Env: CK_FW_AGENT=BIN with CK_FW_QEMU= (empty) measures a native static
#   build the same way (no emulator: VmRSS is the kernel's own figure; Pss
#   and private memory are printed too).
set -u
host=$(cd "${1:?host build dir}" && pwd)
arch=${2:-arm64}
idle=${3:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
case $arch in
  arm64) qemu="qemu-aarch64"; triplet="aarch64-linux-gnu" ;;
  armhf) qemu="qemu-arm"; triplet="arm-linux-gnueabihf" ;;
  *) echo "measure-rss.sh: arch arm64 or armhf" >&2; exit 2 ;;
esac
bin=${CK_FW_AGENT:-${CK_FW_BUILD_ROOT:-$top}/build-$arch/static/certkeeper-agent}
qemu=${CK_FW_QEMU-$qemu}
cc=$triplet-gcc
[ -z "$qemu" ] && cc=cc
[ -x "$bin" ] || { echo "measure-rss.sh: $bin missing (build-agent.sh $arch --static)" >&2; exit 2; }
. "$top/tests/integration/lib.sh" "$host"
T=$CK_T
fail() { echo "FAIL: $*" >&2; tail -n 30 "$T/agent.log" >&2 2>/dev/null; exit 1; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# smaps_rollup: "pss private" in KiB
pss_priv_kb() {
  awk '/^Pss:/ {p=$2} /^Private_(Clean|Dirty):/ {v+=$2} END {print p+0, v+0}' \
    "/proc/$1/smaps_rollup" 2>/dev/null || echo "0 0"
}

start_coordinator
FP=$(openssl x509 -in "$T/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
(umask 077; "$CK_CLI" token create --group fw --profile tls-server --ttl 1h >"$T/token") ||
  fail "token create"
$qemu "$bin" enroll --server 127.0.0.1:$CK_GW --token-file "$T/token" \
  --ca-fingerprint "$FP" --state-dir "$T/state" --name fw-device >"$T/enroll.log" 2>&1 ||
  { cat "$T/enroll.log"; fail "enroll under $qemu"; }

mkdir -p "$T/targets"
{
  printf '[agent]\nstate_dir = %s\n[discovery]\nroots = %s/targets\nprobe_endpoints = false\n' "$T/state" "$T"
  for i in 0 1 2 3 4 5 6 7 8 9; do
    printf '[cert:c%s]\nprofile = tls-server\nsans = DNS:c%s.fw.test\n' $i $i
    printf 'cert_file = %s/targets/c%s.crt\nkey_file = %s/targets/c%s.key\n' "$T" $i "$T" $i
  done
} >"$T/agent.conf"
$qemu "$bin" run --config "$T/agent.conf" >"$T/agent.log" 2>&1 &
apid=$!
CK_PIDS="$CK_PIDS $apid"

deadline=$(($(date +%s) + 300))
until [ "$(ls "$T"/targets/*.crt 2>/dev/null | wc -l)" -eq 10 ]; do
  kill -0 "$apid" 2>/dev/null || fail "the agent exited"
  [ "$(date +%s)" -lt "$deadline" ] || fail "10 certificates not installed after 300 s"
  sleep 0.5
done
echo "10 certificates issued and installed; idle ${idle}s"
sleep "$idle" # the measurement window, not a synchronisation

# the emulator's own share: an idle static program doing nothing
printf '#include <unistd.h>\nint main(void){pause();return 0;}\n' >"$T/idle.c"
"$cc" -static -Os -o "$T/idle" "$T/idle.c" || fail "compile the idle program"
$qemu "$T/idle" &
ipid=$!
CK_PIDS="$CK_PIDS $ipid"
sleep 2
base=$(rss_kb $ipid)

total=0
n=0
pss=0
priv=0
for p in $apid $(pgrep -P "$apid"); do
  r=$(rss_kb "$p")
  read -r ps pv <<<"$(pss_priv_kb "$p")"
  role=supervisor; [ "$p" != "$apid" ] && role=worker
  echo "pid $p ($role): VmRSS ${r} KiB, Pss ${ps} KiB, private ${pv} KiB"
  total=$((total + r)); n=$((n + 1)); pss=$((pss + ps)); priv=$((priv + pv))
done
echo "processes: $n, VmRSS sum: $total KiB, Pss sum: $pss KiB, private sum: $priv KiB"
echo "idle do-nothing static program${qemu:+ under $qemu}: VmRSS $base KiB each"
[ -n "$qemu" ] &&
  echo "estimate of the agent's own memory (sum minus $n x emulator): $((total - n * base)) KiB"
echo "stripped static binary: $(stat -c %s "$bin") bytes"
