#!/bin/sh
# run-est.sh — the EST enrollment benchmark, one command:
#
#   tests/bench/run-est.sh BUILD_DIR [AGENT_BUILD_DIR]
#
# Inits a coordinator in a temporary directory, runs it on free loopback
# ports, creates an EST fleet (profile tls-server, no rate limit) and lets
# bench_est enroll N simulated devices (default 1,000) over TLS with HTTP
# Basic, at most C (32) at a time, each on its own connection: trust
# bootstrap once (/cacerts + pinned fingerprint), then simpleenroll per
# device with a pre-generated P-256 key and CSR. Prints enrollments/s,
# latency percentiles, the coordinator's CPU per enrollment, and checks one
# enrolled certificate with `openssl verify`. AGENT_BUILD_DIR (default:
# BUILD_DIR) is where bench_est comes from, e.g. an mbedTLS build: the
# coordinator always comes from BUILD_DIR (an OpenSSL build).
# Knobs (environment): N (1000), C (32), SECS (time bound, 300), KEEP=1.
# Figures: docs/performance.md ("EST enrollment").
set -u
B=$(cd "${1:?usage: run-est.sh BUILD_DIR [AGENT_BUILD_DIR]}" && pwd)
A=$(cd "${2:-$B}" && pwd)
COORD=$B/coordinator/certkeeper-coordinator
CLI=$B/coordinator/certkeeper
GEN=$A/tests/bench/bench_est
N=${N:-1000}
C=${C:-32}
SECS=${SECS:-300}
for x in "$COORD" "$CLI" "$GEN"; do
  [ -x "$x" ] || { echo "run-est: $x not built" >&2; exit 2; }
done
T=$(mktemp -d /tmp/ckbench-est.XXXXXX)
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT INT TERM
die() { echo "run-est: $*" >&2; [ -f "$T/coord.log" ] && tail -n 20 "$T/coord.log" >&2; exit 1; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
coord_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$PID/stat"
}

echo "== machine"
echo "$(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "$(uname -sr); $(openssl version)"

"$COORD" init --data-dir "$T/data" --admin-token-out "$T/admin.token" >"$T/init.log" 2>&1 ||
  { cat "$T/init.log"; die "init failed"; }
HTTP=$(free_port); HTTPS=$(free_port); GW=$(free_port)
"$COORD" run --data-dir "$T/data" --listen-http "127.0.0.1:$HTTP" \
  --listen-https "127.0.0.1:$HTTPS" --listen-gateway "127.0.0.1:$GW" >"$T/coord.log" 2>&1 &
PID=$!
curl -sf --retry 300 --retry-connrefused --retry-delay 0 --retry-max-time 30 \
  -o /dev/null "http://127.0.0.1:$HTTP/healthz" || die "coordinator not healthy"
curl -sf "http://127.0.0.1:$HTTP/ca/chain.pem" -o "$T/chain.pem" || die "chain.pem"
awk '/BEGIN CERT/{b=""} {b=b $0 "\n"} /END CERT/{last=b} END{printf "%s", last}' \
  "$T/chain.pem" >"$T/root.pem"
PIN=$(openssl x509 -in "$T/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
export CERTKEEPER_SERVER="https://127.0.0.1:$HTTPS" CERTKEEPER_CACERT="$T/root.pem"
CERTKEEPER_TOKEN=$(cat "$T/admin.token"); export CERTKEEPER_TOKEN
(umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$T/fleet.secret")
"$CLI" est fleet create bench --profile tls-server --secret-file "$T/fleet.secret" --rate 0 \
  >"$T/fleet.log" 2>&1 || { cat "$T/fleet.log"; die "est fleet create"; }

echo "== EST: $N devices, simpleenroll with HTTP Basic, at most $C at a time, one TLS connection each"
c0=$(coord_cpu)
"$GEN" -u "https://127.0.0.1:$HTTPS/.well-known/est" -f "$PIN" -l bench -s "$T/fleet.secret" \
  -n "$N" -c "$C" -t "$SECS" -o "$T/first.pem" >"$T/bench.out" 2>"$T/bench.err"
rc=$?
c1=$(coord_cpu)
cat "$T/bench.out"
[ $rc = 0 ] || { tail -n 5 "$T/bench.err" >&2; echo "run-est: some enrollments failed (exit $rc)" >&2; }
ok=$(sed -n 's/^enrolled \([0-9]*\),.*/\1/p' "$T/bench.out")
awk -v c0="$c0" -v c1="$c1" -v n="${ok:-0}" 'BEGIN {
  printf "coordinator CPU %.2f s", c1 - c0
  if (n > 0) printf ", %.1f ms per enrollment", (c1 - c0) * 1000 / n
  printf "\n" }'
echo "coordinator RSS $(awk '/VmRSS/ {print $2 " " $3}' "/proc/$PID/status")"
# one enrolled device certificate (and the chain the answer carried),
# checked by openssl against the root
if [ -s "$T/first.pem" ] &&
   openssl verify -CAfile "$T/root.pem" -untrusted "$T/first.pem" "$T/first.pem" >/dev/null 2>&1; then
  echo "one enrolled certificate verifies against the root (openssl verify)"
else
  echo "run-est: the first enrolled certificate does not verify" >&2; rc=1
fi
exit $rc
