#!/bin/sh
# acme-bench.sh — the ACME benchmark (issue 7 item 6), one command:
#
#   tests/bench/acme-bench.sh BUILD_DIR
#
# Inits a coordinator in a temporary directory, starts it with its ACME
# validator pointed at loopback (pebble-challtestsrv resolves every name to
# 127.0.0.1; http-01 connects to a local port), creates one EAB credential
# per client worker, and runs acme_bench.py: PARALLEL worker threads, each
# with its own account, performing ORDERS full issuances in all (newOrder ->
# http-01 -> finalize -> certificate download). Prints issuances/s and
# latency percentiles; then the same with PARALLEL=1 for the serial latency.
# Stops by itself; every process it starts is stopped on exit.
#
# Knobs (environment): PARALLEL (8), ORDERS (400), KEEP=1 (keep the
# temporary directory). Figures: docs/performance.md ("ACME issuance").
# Timings are reported, never asserted.
set -u
B=$(cd "${1:?usage: acme-bench.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
COORD=$B/coordinator/certkeeper-coordinator
CLI=$B/coordinator/certkeeper
PARALLEL=${PARALLEL:-8}
ORDERS=${ORDERS:-400}
for t in curl python3 pebble-challtestsrv; do
  command -v $t >/dev/null || { echo "needs $t (packaging/install-deps.sh)" >&2; exit 1; }
done
python3 -c 'import cryptography' 2>/dev/null || { echo "needs python3-cryptography" >&2; exit 1; }
[ -x "$COORD" ] || { echo "no coordinator in $B (OpenSSL build needed)" >&2; exit 1; }
T=$(mktemp -d /tmp/ckacmebench.XXXXXX)
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  for p in $PIDS; do wait "$p" 2>/dev/null; done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
die() { echo "acme-bench: $*" >&2; [ -f "$T/coord.log" ] && tail -n 20 "$T/coord.log" >&2; exit 1; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

DNS=$(free_port); MGMT=$(free_port); H01=$(free_port)
pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 127.0.0.1:$DNS \
  -management 127.0.0.1:$MGMT -http01 "" -https01 "" -tlsalpn01 "" >"$T/challtestsrv.log" 2>&1 &
PIDS="$PIDS $!"
curl -s --retry 100 --retry-connrefused --retry-delay 0 --retry-max-time 15 -o /dev/null \
  "http://127.0.0.1:$MGMT/" || die "pebble-challtestsrv did not start"
"$COORD" init --data-dir "$T/data" --admin-token-out "$T/admin.token" >"$T/init.log" 2>&1 \
  || die "init failed: $(cat "$T/init.log")"
HTTP=$(free_port); HTTPS=$(free_port); GW=$(free_port)
"$COORD" run --data-dir "$T/data" --listen-http 127.0.0.1:$HTTP --listen-https 127.0.0.1:$HTTPS \
  --listen-gateway 127.0.0.1:$GW --acme-dns-resolver 127.0.0.1:$DNS --acme-http01-port $H01 \
  >"$T/coord.log" 2>&1 &
PIDS="$PIDS $!"
curl -sf --retry 300 --retry-connrefused --retry-delay 0 --retry-max-time 30 -o /dev/null \
  "http://127.0.0.1:$HTTP/healthz" || die "coordinator not healthy"
curl -sf "http://127.0.0.1:$HTTP/ca/chain.pem" -o "$T/chain.pem" || die "chain.pem"
awk '/BEGIN CERT/{b=""} {b=b $0 "\n"} /END CERT/{last=b} END{printf "%s", last}' \
  "$T/chain.pem" >"$T/root.pem"
export CERTKEEPER_SERVER=https://127.0.0.1:$HTTPS CERTKEEPER_CACERT=$T/root.pem
CERTKEEPER_TOKEN=$(cat "$T/admin.token"); export CERTKEEPER_TOKEN
DIR=https://127.0.0.1:$HTTPS/acme/default/directory

eabs=""
i=0
while [ $i -le "$PARALLEL" ]; do   # one more for the serial run
  "$CLI" acme eab create --owner "bench-$i" --json >"$T/eab-$i.json" 2>"$T/eab.err" \
    || die "acme eab create: $(cat "$T/eab.err")"
  [ $i -lt "$PARALLEL" ] && eabs="$eabs $T/eab-$i.json"
  i=$((i + 1))
done

echo "acme-bench: $(nproc) CPUs, $(uname -r), coordinator $B"
# shellcheck disable=SC2086
python3 "$HERE/acme_bench.py" "$DIR" "$T/root.pem" "$H01" "$PARALLEL" "$ORDERS" $eabs \
  || die "parallel run had failures"
SERIAL_ORDERS=$((ORDERS / 8 > 20 ? ORDERS / 8 : 20))
python3 "$HERE/acme_bench.py" "$DIR" "$T/root.pem" "$H01" 1 "$SERIAL_ORDERS" "$T/eab-$PARALLEL.json" \
  || die "serial run had failures"
