# lib.sh — helpers for the shell integration tests (sourced).
# Usage: . "$(dirname "$0")/lib.sh" "$1"   ($1 = build directory)
set -u
CK_BUILD=$(cd "${1:?build dir}" && pwd)
CK_COORD=$CK_BUILD/coordinator/certkeeper-coordinator
CK_CLI=$CK_BUILD/coordinator/certkeeper
if [ "${CK_NEEDS_COORDINATOR:-1}" = 1 ] && [ ! -x "$CK_COORD" ]; then
  echo "skipped: this build has no coordinator (it needs -DCK_CRYPTO=openssl)"
  exit 77
fi
CK_T=$(mktemp -d /tmp/cktest.XXXXXX)
CK_PIDS=""
CK_CHECKS=0

ck_cleanup() {
  local p
  for p in $CK_PIDS; do kill "$p" 2>/dev/null; done
  for p in $CK_PIDS; do wait "$p" 2>/dev/null; done
  rm -rf "$CK_T"
}
trap ck_cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$CK_T/coord.log" ] && tail -n 30 "$CK_T/coord.log" >&2; exit 1; }
ok() { CK_CHECKS=$((CK_CHECKS + 1)); echo "ok $CK_CHECKS - $*"; }

# A free TCP port on 127.0.0.1 (bound and released by the kernel).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL: until it answers 200; curl's own retry loop bounds it
# (connection refused and 503 are retried for up to 30 s).
wait_http() {
  curl -sf --retry 300 --retry-connrefused --retry-delay 0 --retry-max-time 30 \
    -o /dev/null "$1"
}

# start_coordinator: init + run on free loopback ports.
start_coordinator() {
  CK_DATA=$CK_T/data
  "$CK_COORD" init --data-dir "$CK_DATA" --admin-token-out "$CK_T/admin.token" \
    >"$CK_T/init.log" 2>&1 || { cat "$CK_T/init.log"; fail "init"; }
  CK_HTTP=$(free_port); CK_HTTPS=$(free_port); CK_GW=$(free_port)
  "$CK_COORD" run --data-dir "$CK_DATA" --listen-http 127.0.0.1:$CK_HTTP \
    --listen-https 127.0.0.1:$CK_HTTPS --listen-gateway 127.0.0.1:$CK_GW \
    >"$CK_T/coord.log" 2>&1 &
  CK_COORD_PID=$!
  CK_PIDS="$CK_PIDS $CK_COORD_PID"
  wait_http "http://127.0.0.1:$CK_HTTP/healthz" || fail "coordinator not healthy"
  curl -sf "http://127.0.0.1:$CK_HTTP/ca/chain.pem" -o "$CK_T/chain.pem" || fail "chain.pem"
  awk '/BEGIN CERT/{b=""} {b=b $0 "\n"} /END CERT/{last=b} END{printf "%s", last}' \
    "$CK_T/chain.pem" >"$CK_T/root.pem"
  export CERTKEEPER_SERVER=https://127.0.0.1:$CK_HTTPS CERTKEEPER_CACERT=$CK_T/root.pem
  CERTKEEPER_TOKEN=$(cat "$CK_T/admin.token")
  export CERTKEEPER_TOKEN
}

# csr NAME KEY CSR [SAN...]: EC P-256 key and CSR with DNS SANs.
csr() {
  local cn=$1 key=$2 out=$3 sans s; shift 3
  sans="DNS:$cn"
  for s in "$@"; do sans="$sans,DNS:$s"; done
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$key" \
    -subj "/CN=$cn" -addext "subjectAltName=$sans" -out "$out" 2>/dev/null || fail "openssl req"
}
