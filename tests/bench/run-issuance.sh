#!/bin/sh
# run-issuance.sh — the issuance benchmark, one command:
#
#   tests/bench/run-issuance.sh BUILD_DIR
#
# Inits a coordinator in a temporary directory, runs it on free loopback
# ports, and in the same run measures:
#   1. the raw `openssl speed -seconds 3 ecdsap256` sign rate (1 process and
#      one per core), the ceiling for comparison;
#   2. REST: bench_issue posts pre-generated EC P-256 CSRs to
#      POST /api/v1/certificates over keep-alive HTTPS connections;
#   3. gateway: bench_issue enrolls an agent with a one-time token and
#      pipelines `csr` renewals over mutual-TLS sessions;
#   4. the coordinator's CPU during each run (/proc/PID/stat) and its RSS
#      when idle afterwards, with the number of certificates stored;
#   5. `certkeeper audit verify` over the whole trail the runs wrote, and
#      `openssl verify` of one certificate from each front door.
# Every issuance goes through the full path: CSR parse + signature check,
# profile check, signing, one group-committed store write (certificate,
# request, audit event), certificate out. The load generator runs on the
# same machine and its CPU is reported too.
#
# Knobs (environment): N (requests per run, 50000), SECS (time bound per
# run, 60), REST_CONNS (32), GW_CONNS (4), GW_PIPE (32, the gateway's
# default per-session limit), POOL (CSRs, 2000), SYNC (normal|full: the
# store's [store] sync), THREADS (the coordinator's UV_THREADPOOL_SIZE;
# unset: its default), SKIP_SPEED=1, KEEP=1 (keep the temporary directory:
# coordinator log, database).
# Figures and their discussion: docs/performance.md ("Issuance").
set -u
B=$(cd "${1:?usage: run-issuance.sh BUILD_DIR}" && pwd)
COORD=$B/coordinator/certkeeper-coordinator
CLI=$B/coordinator/certkeeper
GEN=$B/tests/bench/bench_issue
N=${N:-50000}
SECS=${SECS:-60}
REST_CONNS=${REST_CONNS:-32}
GW_CONNS=${GW_CONNS:-4}
GW_PIPE=${GW_PIPE:-32}
POOL=${POOL:-2000}
SYNC=${SYNC:-normal}
for x in "$COORD" "$CLI" "$GEN"; do
  [ -x "$x" ] || { echo "run-issuance: $x not built" >&2; exit 2; }
done

T=$(mktemp -d /tmp/ckbench-issue.XXXXXX)
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT INT TERM
die() { echo "run-issuance: $*" >&2; [ -f "$T/coord.log" ] && tail -n 20 "$T/coord.log" >&2; exit 1; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# CPU seconds (user+system) the coordinator has used so far.
coord_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$PID/stat"
}

echo "== machine"
echo "$(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "$(uname -sr); $(openssl version)"
echo "store sync=$SYNC, $N requests or $SECS s per run"

if [ "${SKIP_SPEED:-0}" != 1 ]; then
  echo "== openssl speed -seconds 3 ecdsap256 (raw sign rate, no certificate, no store)"
  openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/256 bits ecdsa/ { print "1 process:  " $(NF-1) " signs/s, " $NF " verifies/s" }'
  openssl speed -seconds 3 -multi "$(nproc)" ecdsap256 2>/dev/null | awk '/256 bits ecdsa/ { print "'"$(nproc)"' processes: " $(NF-1) " signs/s, " $NF " verifies/s" }'
fi

echo "== coordinator"
"$COORD" init --data-dir "$T/data" --admin-token-out "$T/admin.token" >"$T/init.log" 2>&1 ||
  { cat "$T/init.log"; die "init failed"; }
if [ "$SYNC" != normal ]; then
  sed -i "s/^sync = normal\$/sync = $SYNC/" "$T/data/coordinator.conf"
  grep -q "^sync = $SYNC\$" "$T/data/coordinator.conf" || die "cannot set [store] sync = $SYNC"
fi
HTTP=$(free_port); HTTPS=$(free_port); GW=$(free_port)
[ -n "${THREADS:-}" ] && export UV_THREADPOOL_SIZE="$THREADS"
"$COORD" run --data-dir "$T/data" --listen-http "127.0.0.1:$HTTP" \
  --listen-https "127.0.0.1:$HTTPS" --listen-gateway "127.0.0.1:$GW" >"$T/coord.log" 2>&1 &
PID=$!
curl -sf --retry 300 --retry-connrefused --retry-delay 0 --retry-max-time 30 \
  -o /dev/null "http://127.0.0.1:$HTTP/healthz" || die "coordinator not healthy"
curl -sf "http://127.0.0.1:$HTTP/ca/chain.pem" -o "$T/chain.pem" || die "chain.pem"
awk '/BEGIN CERT/{b=""} {b=b $0 "\n"} /END CERT/{last=b} END{printf "%s", last}' \
  "$T/chain.pem" >"$T/root.pem"
PIN=$(openssl x509 -in "$T/root.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')
export CERTKEEPER_SERVER="https://127.0.0.1:$HTTPS" CERTKEEPER_CACERT="$T/root.pem"
CERTKEEPER_TOKEN=$(cat "$T/admin.token"); export CERTKEEPER_TOKEN
echo "pid $PID, https 127.0.0.1:$HTTPS, gateway 127.0.0.1:$GW, RSS at start $(awk '/VmRSS/ {print $2 " " $3}' "/proc/$PID/status")"

run() { # name args...
  name=$1; shift
  c0=$(coord_cpu); t0=$(date +%s.%N)
  "$GEN" "$@" -n "$N" -t "$SECS" --pool "$POOL" --save-first "$T/$name.pem" >"$T/$name.out" 2>"$T/$name.err"
  rc=$?
  c1=$(coord_cpu); t1=$(date +%s.%N)
  grep -v '^RESULT' "$T/$name.out"
  [ $rc = 0 ] || { cat "$T/$name.err" >&2; echo "run-issuance: $name run had errors (exit $rc)" >&2; }
  secs=$(sed -n 's/^RESULT .* secs=\([0-9.]*\).*/\1/p' "$T/$name.out")
  ok=$(sed -n 's/^RESULT .* ok=\([0-9]*\).*/\1/p' "$T/$name.out")
  ccpu=$(sed -n 's/^RESULT .* client_cpu_s=\([0-9.]*\).*/\1/p' "$T/$name.out")
  # CPU per certificate is the stable figure on a shared machine; the
  # projection assumes every core of this machine goes to the two processes.
  awk -v c0="$c0" -v c1="$c1" -v s="$secs" -v n="$ok" -v cc="$ccpu" -v cores="$(nproc)" 'BEGIN {
    printf "coordinator CPU %.2f s over %.2f s of load (%.2f cores)\n", c1 - c0, s, (s > 0 ? (c1 - c0) / s : 0)
    if (n > 0) {
      us = (c1 - c0) * 1e6 / n; cu = cc * 1e6 / n
      printf "CPU per certificate: coordinator %.0f us + load generator %.0f us; all %d cores busy would give ~%.0f/s\n", us, cu, cores, cores * 1e6 / (us + cu)
    } }'
  if openssl verify -CAfile "$T/root.pem" -untrusted "$T/chain.pem" "$T/$name.pem" >/dev/null 2>&1; then
    echo "one issued certificate verifies against the root (openssl verify)"
  else
    echo "run-issuance: the saved $name certificate does not verify" >&2
  fi
  eval "${name}_rc=$rc"
}

echo "== REST: POST /api/v1/certificates, $REST_CONNS keep-alive HTTPS connections"
run rest rest --addr "127.0.0.1:$HTTPS" --cacert "$T/root.pem" --token "$CERTKEEPER_TOKEN" -c "$REST_CONNS"

echo "== gateway: csr renewals, $GW_CONNS mutual-TLS sessions x $GW_PIPE pipelined"
ETOK=$("$CLI" token create --group bench --profile tls-server --san-pattern .bench.test --ttl 1h) ||
  die "token create"
run gateway gateway --addr "127.0.0.1:$GW" --cacert "$T/root.pem" --ca-pin "$PIN" --token "$ETOK" \
  -c "$GW_CONNS" -p "$GW_PIPE"

echo "== after the runs"
# Let the writer, the WAL checkpointer and the pool go quiet before reading
# the idle RSS: poll the coordinator's CPU ticks until two readings 0.5 s
# apart are equal (at most 20 s).
ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
prev=-1; n=0
while [ "$(ticks)" != "$prev" ] && [ $n -lt 40 ]; do
  prev=$(ticks); n=$((n + 1)); sleep 0.5
done
awk '/VmRSS|VmHWM/ {print $1 " " $2 " " $3}' "/proc/$PID/status"
echo "certificates stored: $(sqlite3 "file:$T/data/certkeeper.db?mode=ro" 'PRAGMA busy_timeout=5000; SELECT count(*) FROM certs;' 2>/dev/null | tail -n 1)"
echo "database: $(du -sh "$T/data" | cut -f1) (data directory)"
if "$CLI" audit verify >"$T/audit.log" 2>&1; then
  echo "audit verify: $(head -n 1 "$T/audit.log")"
else
  cat "$T/audit.log"; die "audit verify failed"
fi
kill "$PID"; wait "$PID"; PID=""
# group commit: writes per transaction over both runs (logged at exit)
grep '"store.stats"\|store.stats' "$T/coord.log" | tail -n 1 | sed 's/.*store.stats/store.stats/'
grep '^RESULT' "$T/rest.out" "$T/gateway.out" | sed 's/^[^:]*://'
[ "$rest_rc" = 0 ] && [ "$gateway_rc" = 0 ]
