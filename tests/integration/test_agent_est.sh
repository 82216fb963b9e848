#!/bin/sh
# test_agent_est.sh — the agent in EST mode ([est], agent/link/est.h)
# against the REAL coordinator's EST server: refusals first (a wrong pin, a
# wrong fleet secret, a secret file readable by others — each with a clear
# message and nothing installed), then `run` enrolls its managed
# certificate with simpleenroll (Basic: fleet + secret) and installs it;
# when its renewal comes due (the persisted schedule set to now) it renews:
# simplereenroll with the installed certificate, a new key, the same
# subject, the chain verifying to the coordinator's root. Then one-time
# passwords: a device with an OTP enrolls, and the same OTP replayed by a
# second device is refused; and a device with only an IDevID (a client
# certificate from a manufacturer CA the fleet trusts) enrolls. Every wait
# is a bounded poll of a file.
#
# Runs in the OpenSSL build and in the mbedTLS build; the coordinator only
# exists in OpenSSL builds, so the mbedTLS run takes it from CK_COORD_BIN
# (tests/run.sh sets it from the OpenSSL build it made first); skips (77)
# when there is none.
BUILD=${1:?build dir}
if [ ! -x "$BUILD/coordinator/certkeeper-coordinator" ]; then
  if [ -z "${CK_COORD_BIN:-}" ] || [ ! -x "$CK_COORD_BIN" ]; then
    echo "skipped: no coordinator in this build and CK_COORD_BIN is not set"
    exit 77
  fi
  CK_NEEDS_COORDINATOR=0
fi
. "$(dirname "$0")/lib.sh" "$BUILD"
if [ -n "${CK_NEEDS_COORDINATOR:-}" ] && [ "$CK_NEEDS_COORDINATOR" = 0 ]; then
  CK_COORD=$CK_COORD_BIN
  CK_CLI=$(dirname "$CK_COORD_BIN")/certkeeper
fi
CK_AGENT=${CK_AGENT_BIN:-$CK_BUILD/agent/certkeeper-agent}
[ -x "$CK_AGENT" ] || { echo "skipped: certkeeper-agent is not built"; exit 77; }
"$CK_CLI" est --help >/dev/null 2>&1 || { echo "skipped: this certkeeper has no est command"; exit 77; }
T=$CK_T
WAIT=${CK_WAIT:-60}

clean() { ! grep -q "Sanitizer" "$1" || fail "sanitizer report in $1: $(cat "$1")"; }
fp_file() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }
key_pub() { openssl pkey -in "$1" -pubout 2>/dev/null | sha256sum; }
crt_pub() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null | sha256sum; }
subject() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 2>/dev/null; }
# until WHAT CMD...: CMD every 0.2 s until it succeeds; the agent must stay up
until_ok() {
  local what=$1 deadline=$(($(date +%s) + WAIT)); shift
  until "$@"; do
    kill -0 "$AGENT_PID" 2>/dev/null || { tail -n 30 "$T/agent.log" >&2; fail "agent exited: $what"; }
    [ "$(date +%s)" -lt "$deadline" ] || { tail -n 30 "$T/agent.log" >&2; fail "timed out: $what"; }
    sleep 0.2
  done
}
start_agent() { # CONF LOG
  "$CK_AGENT" run --config "$1" >>"$2" 2>&1 &
  AGENT_PID=$!
  CK_PIDS="$CK_PIDS $AGENT_PID"
}
stop_agent() {
  kill -TERM "$AGENT_PID" 2>/dev/null || fail "agent not running at SIGTERM"
  local n=0
  while kill -0 "$AGENT_PID" 2>/dev/null; do
    n=$((n + 1)); [ $n -lt 150 ] || fail "agent still running 30 s after SIGTERM"
    sleep 0.2
  done
  wait "$AGENT_PID" || fail "agent exit status $? after SIGTERM"
  clean "$T/agent.log"
}
# conf NAME SECRET_FILE FINGERPRINT [RENEW_BEFORE]: an EST-mode agent config
conf() {
  cat >"$T/$1.conf" <<EOT
[agent]
state_dir = $T/$1.state
[discovery]
roots = $T/$1.empty
probe_endpoints = false
watch = false
[est]
url = https://127.0.0.1:$CK_HTTPS/.well-known/est
ca_fingerprint = $3
fleet = sensors
secret_file = $2
timeout = 10s
[cert:dev]
profile = tls-server
sans = DNS:$1.test
cert_file = $T/$1/cert.pem
key_file = $T/$1/key.pem
fullchain_file = $T/$1/fullchain.pem
jitter = 0s
renew_before = ${4:-1d}
EOT
  mkdir -p "$T/$1" "$T/$1.empty"
}

start_coordinator
FP=$(fp_file "$T/root.pem")
(umask 077; printf 'fleet-secret-%s\n' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" >"$T/fleet.secret")
"$CK_CLI" est fleet create sensors --profile tls-server --secret-file "$T/fleet.secret" \
  >"$T/fleet.log" 2>&1 || { cat "$T/fleet.log"; fail "est fleet create"; }
ok "fleet 'sensors' created"

# 1. refusals: nothing installed, a message that says what to fix
OTHER=$(printf '%064d' 0)
conf pin "$T/fleet.secret" "$OTHER"
: >"$T/agent.log"
start_agent "$T/pin.conf" "$T/agent.log"
until_ok "pin refusal logged" grep -q "ca_fingerprint" "$T/agent.log"
grep -q "agent.est.refused" "$T/agent.log" || fail "no refusal event: $(tail -n 5 "$T/agent.log")"
[ ! -e "$T/pin/cert.pem" ] || fail "installed despite a pin mismatch"
stop_agent
ok "wrong ca_fingerprint refused: $(grep -o 'no certificate of the server[^"]*' "$T/agent.log" | head -n 1)"

(umask 077; echo wrong-secret >"$T/wrong.secret")
conf bad "$T/wrong.secret" "$FP"
: >"$T/agent.log"
start_agent "$T/bad.conf" "$T/agent.log"
until_ok "401 logged" grep -q "HTTP 401" "$T/agent.log"
grep -q "wrong-secret" "$T/agent.log" && fail "the secret appears in the log"
[ ! -e "$T/bad/cert.pem" ] || fail "installed with a wrong secret"
stop_agent
ok "wrong fleet secret refused (401), secret not logged"

cp "$T/fleet.secret" "$T/open.secret"; chmod 0644 "$T/open.secret"
conf open "$T/open.secret" "$FP"
"$CK_AGENT" run --config "$T/open.conf" >"$T/open.log" 2>&1 &
OPEN_PID=$!
CK_PIDS="$CK_PIDS $OPEN_PID"
deadline=$(($(date +%s) + WAIT))
until grep -q "chmod 600" "$T/open.log"; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "no refusal of a 0644 secret_file: $(tail -n 5 "$T/open.log")"
  sleep 0.2
done
kill -TERM "$OPEN_PID" 2>/dev/null; wait "$OPEN_PID" 2>/dev/null
[ ! -e "$T/open/cert.pem" ] || fail "installed with a world-readable secret"
ok "secret_file readable by others refused"

# 2. enroll: simpleenroll with the fleet secret, installed
conf dev "$T/fleet.secret" "$FP" 1d
: >"$T/agent.log"
start_agent "$T/dev.conf" "$T/agent.log"
until_ok "certificate installed" test -s "$T/dev/cert.pem"
until_ok "state MONITORING" grep -q "MONITORING" "$T/dev.state/managed/dev/state"
grep -q '"simpleenroll"\|op=simpleenroll' "$T/agent.log" || fail "no simpleenroll in the log"
FP1=$(fp_file "$T/dev/cert.pem")
[ "$(key_pub "$T/dev/key.pem")" = "$(crt_pub "$T/dev/cert.pem")" ] || fail "key and certificate do not match"
[ "$(stat -c %a "$T/dev/key.pem")" = 600 ] || fail "key mode $(stat -c %a "$T/dev/key.pem")"
SUBJ1=$(subject "$T/dev/cert.pem")
case "$SUBJ1" in *CN=dev.test*) ;; *) fail "subject $SUBJ1" ;; esac
openssl verify -CAfile "$T/root.pem" -untrusted "$T/dev/fullchain.pem" "$T/dev/cert.pem" >/dev/null 2>&1 ||
  fail "the enrolled certificate does not verify to the root"
openssl x509 -in "$T/dev/cert.pem" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:dev.test" ||
  fail "SAN missing"
cp "$T/dev/key.pem" "$T/key1.pem"
stop_agent
ok "enrolled over EST and installed: $SUBJ1, chain verifies"

# 3. re-enroll: the renewal comes due (the persisted schedule moved to now,
#    as if the renewal window had opened) -> simplereenroll with the
#    installed certificate as TLS client certificate
grep -q '^next_renewal=' "$T/dev.state/managed/dev/state" || fail "no next_renewal in the state file"
sed -i "s/^next_renewal=.*/next_renewal=$(date +%s)/" "$T/dev.state/managed/dev/state"
start_agent "$T/dev.conf" "$T/agent.log"
newer() { [ -s "$T/dev/cert.pem" ] && [ "$(fp_file "$T/dev/cert.pem")" != "$FP1" ] &&
  grep -q "MONITORING" "$T/dev.state/managed/dev/state"; }
until_ok "re-enrolled certificate installed" newer
grep -q 'simplereenroll' "$T/agent.log" || fail "no simplereenroll in the log: $(grep est "$T/agent.log" | tail -n 5)"
# made by the helper process priv starts (est_helper.c), not by priv
grep -q 'event=agent.est.helper op=simplereenroll status=200 answer=cert' "$T/agent.log" ||
  fail "no answer from the re-enrollment helper: $(grep est "$T/agent.log" | tail -n 5)"
stop_agent
FP2=$(fp_file "$T/dev/cert.pem")
[ "$(key_pub "$T/dev/key.pem")" = "$(crt_pub "$T/dev/cert.pem")" ] || fail "new key and certificate do not match"
[ "$(key_pub "$T/dev/key.pem")" != "$(key_pub "$T/key1.pem")" ] || fail "re-enrollment kept the old key"
[ "$(subject "$T/dev/cert.pem")" = "$SUBJ1" ] || fail "subject changed: $(subject "$T/dev/cert.pem")"
openssl verify -CAfile "$T/root.pem" -untrusted "$T/dev/fullchain.pem" "$T/dev/cert.pem" >/dev/null 2>&1 ||
  fail "the re-enrolled certificate does not verify"
ok "re-enrolled with simplereenroll: new key, same subject, chain verifies ($FP1 -> $FP2)"
ok "the re-enrollment ran in the helper process: $(grep -o 'event=agent.est.helper op=simplereenroll [^"]*' "$T/agent.log" | head -n 1)"
"$CK_AGENT" status --config "$T/dev.conf" >"$T/status.out" 2>&1 || fail "status: $(cat "$T/status.out")"
grep -q "EST mode" "$T/status.out" && grep -q "^dev .*MONITORING" "$T/status.out" ||
  fail "status in EST mode: $(cat "$T/status.out")"
ok "status shows EST mode and the managed certificate MONITORING"

# 4. one-time password: used once, replay refused
(umask 077; "$CK_CLI" est otp create --fleet sensors >"$T/otp.secret" 2>"$T/otp.log") ||
  { cat "$T/otp.log"; fail "est otp create"; }
[ -s "$T/otp.secret" ] || fail "no OTP printed"
conf otp1 "$T/otp.secret" "$FP"
: >"$T/agent.log"
start_agent "$T/otp1.conf" "$T/agent.log"
until_ok "OTP enrollment installed" test -s "$T/otp1/cert.pem"
stop_agent
conf otp2 "$T/otp.secret" "$FP"
: >"$T/agent.log"
start_agent "$T/otp2.conf" "$T/agent.log"
until_ok "OTP replay refused" grep -q "agent.est.refused" "$T/agent.log"
[ ! -e "$T/otp2/cert.pem" ] || fail "a replayed one-time password enrolled"
stop_agent
ok "one-time password enrolled once, replay refused: $(grep -o 'HTTP [0-9]*' "$T/agent.log" | head -n 1)"

# 5. IDevID: a device certificate from a manufacturer CA the fleet trusts,
#    no secret at all
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -keyout "$T/mfg.key" -out "$T/mfg.pem" -subj "/O=Maker/CN=Maker Device CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null || fail "openssl: manufacturer CA"
(umask 077; openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$T/idevid.key" -subj "/CN=SN-0042/serialNumber=SN-0042" -out "$T/idevid.csr" 2>/dev/null) ||
  fail "openssl: IDevID key"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$T/idevid.ext"
openssl x509 -req -in "$T/idevid.csr" -CA "$T/mfg.pem" -CAkey "$T/mfg.key" -set_serial 42 -days 30 \
  -extfile "$T/idevid.ext" -out "$T/idevid.pem" 2>/dev/null || fail "openssl: IDevID certificate"
(umask 077; printf 'factory-%s\n' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" >"$T/factory.secret")
"$CK_CLI" est fleet create factory --profile tls-server --secret-file "$T/factory.secret" \
  --idevid-ca "$T/mfg.pem" >"$T/fleet2.log" 2>&1 || { cat "$T/fleet2.log"; fail "est fleet create --idevid-ca"; }
# the HTTPS listener's TLS trust (our CAs + the fleets' IDevID anchors) is
# built when the coordinator starts: restart it on the same ports
kill -TERM "$CK_COORD_PID"; wait "$CK_COORD_PID" 2>/dev/null
"$CK_COORD" run --data-dir "$CK_DATA" --listen-http 127.0.0.1:$CK_HTTP \
  --listen-https 127.0.0.1:$CK_HTTPS --listen-gateway 127.0.0.1:$CK_GW >>"$T/coord.log" 2>&1 &
CK_COORD_PID=$!
CK_PIDS="$CK_PIDS $CK_COORD_PID"
wait_http "http://127.0.0.1:$CK_HTTP/healthz" || fail "coordinator not healthy after the restart"
conf idev "$T/fleet.secret" "$FP"
sed -i -e '/^fleet = /d' -e '/^secret_file = /d' "$T/idev.conf"
sed -i "s|^timeout = 10s|timeout = 10s\nidevid_cert = $T/idevid.pem\nidevid_key = $T/idevid.key|" "$T/idev.conf"
: >"$T/agent.log"
start_agent "$T/idev.conf" "$T/agent.log"
until_ok "IDevID enrollment installed" test -s "$T/idev/cert.pem"
stop_agent
openssl verify -CAfile "$T/root.pem" -untrusted "$T/idev/fullchain.pem" "$T/idev/cert.pem" >/dev/null 2>&1 ||
  fail "the IDevID-enrolled certificate does not verify"
ok "enrolled with an IDevID client certificate (no secret): $(subject "$T/idev/cert.pem")"

echo "$CK_CHECKS passed, 0 failed"
