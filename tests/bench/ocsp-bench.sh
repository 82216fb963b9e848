#!/bin/sh
# ocsp-bench.sh — the validation benchmark (issue 5 item 5), one command:
#
#   tests/bench/ocsp-bench.sh BUILD_DIR        (as root: network namespace)
#
# In one run, on one machine, inside a private network namespace
# (`unshare -n`, loopback only: `openssl ocsp` binds every interface):
#   1. inits our coordinator in a temporary directory and issues one
#      certificate from its issuing CA;
#   2. exports what `openssl ocsp` needs to serve the same CA: index.txt
#      (that certificate, status V), the CA certificate, and a delegated
#      responder certificate (id-kp-OCSPSigning, ocsp-nocheck) with its own
#      key, issued here with openssl from the CA key in the data directory;
#   3. wrk on loopback, a fixed RFC 5019 GET URL (same request, no nonce),
#      SECS seconds each (default 10), --latency: responses/s and p99 for
#        a. our coordinator, GET /ocsp/<request>  (pre-signed, cached)
#        b. `openssl ocsp -index ... -port` (signs every response)
#        c. our coordinator, GET /healthz: a trivial keep-alive response on
#           the same HTTP stack (the ceiling);
#   4. bench_crl: full CRL generation (encode + sign) at 100,000 and
#      1,000,000 entries.
# Both OCSP answers are checked with `openssl ocsp -respin` first (good,
# verifies) so the load is measured against working responders.
# wrk's address probe (connect + close without a request) makes
# `openssl ocsp` 3.0 spin at 100% CPU, so wrk.resolve is overridden.
#
# Knobs (environment): SECS (10), THREADS (wrk threads, 2), CONNS (wrk
# connections, 64), SKIP_CRL=1, KEEP=1 (keep the temporary directory).
# Figures and machine: docs/performance.md ("Validation: OCSP and CRLs").
# Timings are reported, never asserted.
set -u
B=$(cd "${1:?usage: ocsp-bench.sh BUILD_DIR}" && pwd)
if [ "${CK_BENCH_NS:-0}" != 1 ]; then
  if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
    CK_BENCH_NS=1 exec unshare -n sh "$0" "$B"
  fi
  echo "warning: not root or no unshare: running on the host loopback" >&2
  echo "         (openssl ocsp will listen on all interfaces)" >&2
else
  ip link set lo up || { echo "cannot bring loopback up" >&2; exit 1; }
fi
COORD=$B/coordinator/certkeeper-coordinator
CLI=$B/coordinator/certkeeper
SECS=${SECS:-10}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
for t in wrk openssl curl python3; do
  command -v $t >/dev/null || { echo "needs $t (packaging/install-deps.sh)" >&2; exit 1; }
done
[ -x "$COORD" ] || { echo "no coordinator in $B (OpenSSL build needed)" >&2; exit 1; }
T=$(mktemp -d /tmp/ckocspbench.XXXXXX)
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  for p in $PIDS; do wait "$p" 2>/dev/null; done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
die() { echo "ocsp-bench: $*" >&2; [ -f "$T/coord.log" ] && tail -n 20 "$T/coord.log" >&2; exit 1; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_url() { # bounded by curl's own retry budget (30 s)
  curl -s --retry 300 --retry-connrefused --retry-delay 0 --retry-max-time 30 -o /dev/null "$1"
}

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) core(s)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "openssl: $(openssl version)   wrk: $(wrk -v 2>&1 | head -1)"

# --- 1. our coordinator + one certificate ---------------------------------------
D=$T/data
"$COORD" init --data-dir "$D" --admin-token-out "$T/admin.token" >"$T/init.log" 2>&1 || die "init"
HTTP=$(free_port); HTTPS=$(free_port); GW=$(free_port)
"$COORD" run --data-dir "$D" --listen-http 127.0.0.1:$HTTP --listen-https 127.0.0.1:$HTTPS \
  --listen-gateway 127.0.0.1:$GW >"$T/coord.log" 2>&1 &
CPID=$!
PIDS="$PIDS $CPID"
wait_url "http://127.0.0.1:$HTTP/healthz" || die "coordinator not healthy"
curl -sf "http://127.0.0.1:$HTTP/ca/chain.pem" -o "$T/chain.pem" || die "chain"
awk '/BEGIN CERT/{n++} n==1' "$T/chain.pem" >"$T/issuer.pem"
awk '/BEGIN CERT/{n++} n==2' "$T/chain.pem" >"$T/root.pem"
export CERTKEEPER_SERVER=https://127.0.0.1:$HTTPS CERTKEEPER_CACERT=$T/root.pem
CERTKEEPER_TOKEN=$(cat "$T/admin.token")
export CERTKEEPER_TOKEN
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/leaf.key" \
  -subj "/CN=bench.test" -addext "subjectAltName=DNS:bench.test" -out "$T/leaf.csr" 2>/dev/null \
  || die "csr"
"$CLI" cert issue --profile tls-server --csr "$T/leaf.csr" --out "$T/leaf.chain" >/dev/null \
  || die "issue"
openssl x509 -in "$T/leaf.chain" -out "$T/leaf.pem" || die "leaf"

# --- 2. what openssl ocsp needs ---------------------------------------------------
serial=$(openssl x509 -in "$T/leaf.pem" -noout -serial | cut -d= -f2)
enddate=$(openssl x509 -in "$T/leaf.pem" -noout -enddate | cut -d= -f2)
exp=$(date -u -d "$enddate" +%y%m%d%H%M%SZ) || die "date"
subj=$(openssl x509 -in "$T/leaf.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
printf 'V\t%s\t\t%s\tunknown\t%s\n' "$exp" "$serial" "$subj" >"$T/index.txt"
printf 'extendedKeyUsage=OCSPSigning\nkeyUsage=critical,digitalSignature\nnoCheck=ignored\n' \
  >"$T/resp.ext"
(umask 077 && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$T/resp.key" -subj "/O=bench/CN=openssl ocsp responder" -out "$T/resp.csr" 2>/dev/null) \
  || die "responder csr"
openssl x509 -req -in "$T/resp.csr" -CA "$T/issuer.pem" -CAkey "$D/ca/issuing.key" \
  -CAcreateserial -CAserial "$T/resp.srl" -days 2 -extfile "$T/resp.ext" -out "$T/resp.pem" \
  2>/dev/null || die "responder certificate"
OPORT=$(free_port)
openssl ocsp -index "$T/index.txt" -port "$OPORT" -rsigner "$T/resp.pem" -rkey "$T/resp.key" \
  -CA "$T/issuer.pem" -ndays 1 >"$T/openssl-ocsp.log" 2>&1 &
OPID=$!
PIDS="$PIDS $OPID"

# the one request both serve, as an RFC 5019 GET path
openssl ocsp -issuer "$T/issuer.pem" -cert "$T/leaf.pem" -no_nonce -reqout "$T/req.der" \
  -url "http://127.0.0.1:$HTTP/ocsp" -CAfile "$T/root.pem" -verify_other "$T/chain.pem" \
  >"$T/check-ours.txt" 2>&1 || die "our OCSP: $(cat "$T/check-ours.txt")"
grep -q "leaf.pem: good" "$T/check-ours.txt" || die "our OCSP: $(cat "$T/check-ours.txt")"
b64=$(base64 -w0 "$T/req.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
# openssl ocsp: wait for its port with a real request (never a bare
# connect: that makes it spin); curl's retry budget bounds it (10 s)
curl -s --retry 100 --retry-connrefused --retry-delay 0 --retry-max-time 10 \
  -o "$T/theirs.der" "http://127.0.0.1:$OPORT/$b64" || die "openssl ocsp does not answer"
openssl ocsp -respin "$T/theirs.der" -issuer "$T/issuer.pem" -cert "$T/leaf.pem" \
  -CAfile "$T/root.pem" -verify_other "$T/chain.pem" >"$T/check-theirs.txt" 2>&1
grep -q "leaf.pem: good" "$T/check-theirs.txt" || die "openssl ocsp: $(cat "$T/check-theirs.txt" "$T/openssl-ocsp.log")"
echo "both responders answer 'good' for serial $serial and their answers verify"

# --- 3. wrk --------------------------------------------------------------------
cat >"$T/noprobe.lua" <<'EOF'
-- no connect probe: openssl ocsp spins on a connection closed unused
wrk.resolve = function(host, service)
  wrk.addrs = wrk.lookup(host, service)
end
EOF
bench() { # NAME URL
  echo "== $1: wrk -t$THREADS -c$CONNS -d${SECS}s --latency"
  wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -s "$T/noprobe.lua" "$2" >"$T/wrk-$1.txt" 2>&1
  grep -E "Requests/sec|99%|Non-2xx|Socket errors|requests in" "$T/wrk-$1.txt"
}
bench ours "http://127.0.0.1:$HTTP/ocsp/$b64"
bench openssl "http://127.0.0.1:$OPORT/$b64"
bench ceiling "http://127.0.0.1:$HTTP/healthz"
r_ours=$(awk '/Requests\/sec/{print $2}' "$T/wrk-ours.txt")
r_ceil=$(awk '/Requests\/sec/{print $2}' "$T/wrk-ceiling.txt")
r_ssl=$(awk '/Requests\/sec/{print $2}' "$T/wrk-openssl.txt")
python3 - "$r_ours" "$r_ssl" "$r_ceil" <<'EOF'
import sys
def f(x):
    try: return float(x)
    except ValueError: return 0.0
o, s, c = (f(a) for a in sys.argv[1:4])
print("== summary: ours %.0f/s, openssl ocsp %.0f/s (x%.1f), ceiling %.0f/s (ours = %.0f%% of it)"
      % (o, s, o / s if s else 0, c, 100 * o / c if c else 0))
EOF

# --- 4. CRL generation ---------------------------------------------------------
if [ "${SKIP_CRL:-0}" != 1 ]; then
  echo "== CRL generation (bench_crl)"
  "$B/tests/bench/bench_crl" 100000 1000000 || die "bench_crl"
fi
