#!/bin/sh
# test_est_refusals.sh — EST bad input and refused requests, case by case:
# each gets the status RFC 7030 asks for and a one-line reason, is written
# to the security log, and issues nothing (the inventory's certificate
# count does not move). Clients: curl and openssl.
. "$(dirname "$0")/lib.sh" "$1"
command -v curl >/dev/null && command -v openssl >/dev/null || { echo "skipped: needs curl and openssl"; exit 77; }
start_coordinator
T=$CK_T
EST=https://127.0.0.1:$CK_HTTPS/.well-known/est
c() { curl -s --cacert "$T/root.pem" --max-time 30 "$@"; }
API=https://127.0.0.1:$CK_HTTPS/api/v1

printf 'fleet-secret-%s' "$(openssl rand -hex 8)" >"$T/secret"
SECRET=$(cat "$T/secret")
"$CK_CLI" est fleet create sensors --profile tls-server --secret-file "$T/secret" \
  --pattern '*.sensors.test' >/dev/null 2>&1 || fail "est fleet create"
printf 'slow-secret-%s' "$(openssl rand -hex 8)" >"$T/secret2"
"$CK_CLI" est fleet create slow --profile tls-server --secret-file "$T/secret2" --rate 2/min \
  >/dev/null 2>&1 || fail "est fleet create --rate"
SECRET2=$(cat "$T/secret2")
# fleet administration refusals: a label that is another fleet's name, a short secret,
# an unknown profile, a bad pattern (the CLI exits 7 for 409, 11 for 400)
"$CK_CLI" est fleet create other --profile tls-server --secret-file "$T/secret" --label sensors >/dev/null 2>&1
[ $? = 7 ] || fail "a label equal to another fleet's name was not refused with 409"
printf 'short' >"$T/short"
"$CK_CLI" est fleet create other --profile tls-server --secret-file "$T/short" >/dev/null 2>&1
[ $? = 11 ] || fail "a short secret was not refused with 400"
"$CK_CLI" est fleet create other --profile nosuch --secret-file "$T/secret" >/dev/null 2>&1
[ $? = 11 ] || fail "an unknown profile was not refused with 400"
"$CK_CLI" est fleet create other --profile tls-server --secret-file "$T/secret" --pattern 'a..b' >/dev/null 2>&1
[ $? = 11 ] || fail "a bad pattern was not refused with 400"
ok "fleet administration: label clash 409, short secret / unknown profile / bad pattern 400"

certs() { # how many certificates the inventory holds
  c -H "Authorization: Bearer $CERTKEEPER_TOKEN" "$API/certificates?limit=1000" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'
}
mkcsr() { # CN OUT.b64 [SAN-ext]
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$2.key" \
    -subj "/CN=$1" ${3:+-addext "subjectAltName=$3"} -outform DER -out "$2.der" 2>/dev/null || fail "openssl req"
  openssl base64 -in "$2.der" >"$2"
}
# expect STATUS TEXT NAME CURL-ARGS...: the answer's status and a body containing TEXT
expect() {
  local want=$1 text=$2 name=$3 got; shift 3
  got=$(c -D "$T/h" -o "$T/body" -w '%{http_code}' "$@")
  [ "$got" = "$want" ] || fail "$name: got $got, expected $want: $(cat "$T/body")"
  grep -qi -- "$text" "$T/body" || fail "$name: body '$(cat "$T/body")' lacks '$text'"
  [ "$want" -lt 400 ] || grep -qi '^content-type: text/plain' "$T/h" || fail "$name: error body is not text/plain"
  ok "$name -> $want ($(head -c 120 "$T/body" | tr -d '\n'))"
}

mkcsr ok1.sensors.test "$T/ok1.b64" DNS:ok1.sensors.test
expect 200 "" "baseline enrollment" -u "sensors:$SECRET" -H 'Content-Type: application/pkcs10' --data-binary @"$T/ok1.b64" "$EST/simpleenroll"
openssl base64 -d -in "$T/body" | openssl pkcs7 -inform DER -print_certs 2>/dev/null |
  awk '/BEGIN CERT/{n++} n==1{print} /END CERT/{if(n==1) exit}' >"$T/ok1.pem"
[ -s "$T/ok1.pem" ] || fail "baseline certificate"
mkcsr ok2.sensors.test "$T/ok2.b64" DNS:ok2.sensors.test
c -u "sensors:$SECRET" -H 'Content-Type: application/pkcs10' --data-binary @"$T/ok2.b64" "$EST/simpleenroll" |
  openssl base64 -d | openssl pkcs7 -inform DER -print_certs 2>/dev/null |
  awk '/BEGIN CERT/{n++} n==1{print} /END CERT/{if(n==1) exit}' >"$T/ok2.pem"
[ -s "$T/ok2.pem" ] || fail "second device's certificate"
BEFORE=$(certs)

# 1. wrong content type
expect 415 "application/pkcs10" "wrong Content-Type" -u "sensors:$SECRET" -H 'Content-Type: application/octet-stream' \
  --data-binary @"$T/ok1.b64" "$EST/simpleenroll"
# 2. bad base64
expect 400 "base64" "bad base64" -u "sensors:$SECRET" -H 'Content-Type: application/pkcs10' --data-binary 'MIIB*not/base64!!' "$EST/simpleenroll"
# 2b. a DER body (RFC 8951: bodies are base64), declared binary
expect 400 "base64" "binary transfer encoding" -u "sensors:$SECRET" -H 'Content-Type: application/pkcs10' -H 'Content-Transfer-Encoding: binary' \
  --data-binary @"$T/ok1.b64.der" "$EST/simpleenroll"
# 3. a CSR whose signature does not verify: flip a bit in the signature's last byte
python3 - "$T/ok1.b64.der" "$T/badsig.der" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 0x01; open(sys.argv[2], "wb").write(b)
PY
openssl base64 -in "$T/badsig.der" >"$T/badsig.b64"
expect 400 "does not verify" "CSR signature does not verify" -u "sensors:$SECRET" -H 'Content-Type: application/pkcs10' --data-binary @"$T/badsig.b64" "$EST/simpleenroll"
# 3a. a malformed challengePassword (the channel-binding attribute): over 255 bytes
printf '[req]\ndistinguished_name=dn\nattributes=attrs\nprompt=no\n[dn]\nCN=cp.sensors.test\n[attrs]\nchallengePassword=%s\n' \
  "$(head -c 300 /dev/zero | tr '\0' 'x')" >"$T/cp.cnf"
openssl req -new -config "$T/cp.cnf" -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/cp.key" \
  -outform DER -out "$T/cp.der" 2>/dev/null || fail "openssl req with challengePassword"
openssl base64 -in "$T/cp.der" >"$T/cp.b64"
expect 400 "challengePassword" "malformed challengePassword" -u "sensors:$SECRET" -H 'Content-Type: application/pkcs10' --data-binary @"$T/cp.b64" "$EST/simpleenroll"
# 3b. not a CSR at all
printf 'hello' | openssl base64 >"$T/junk.b64"
expect 400 "PKCS#10" "not a CSR" -u "sensors:$SECRET" -H 'Content-Type: application/pkcs10' --data-binary @"$T/junk.b64" "$EST/simpleenroll"
# 4. subject outside the fleet's pattern
mkcsr www.example.test "$T/out.b64" DNS:www.example.test
expect 403 "outside fleet" "subject outside the fleet pattern" -u "sensors:$SECRET" -H 'Content-Type: application/pkcs10' --data-binary @"$T/out.b64" "$EST/simpleenroll"
mkcsr ok3.sensors.test "$T/san.b64" "DNS:ok3.sensors.test,DNS:evil.example.test"
expect 403 "outside fleet" "SAN outside the fleet pattern" -u "sensors:$SECRET" -H 'Content-Type: application/pkcs10' --data-binary @"$T/san.b64" "$EST/simpleenroll"
mkcsr ok4.sensors.test "$T/ip.b64" "IP:10.0.0.1"
expect 403 "DNS names only" "IP SAN in a pattern fleet" -u "sensors:$SECRET" -H 'Content-Type: application/pkcs10' --data-binary @"$T/ip.b64" "$EST/simpleenroll"
# 5. re-enroll with another device's certificate (device 2 asks for device 1's names)
mkcsr ok1.sensors.test "$T/steal.b64" DNS:ok1.sensors.test
expect 403 "differs" "re-enroll with another device's certificate" --cert "$T/ok2.pem" --key "$T/ok2.b64.key" -H 'Content-Type: application/pkcs10' \
  --data-binary @"$T/steal.b64" "$EST/simplereenroll"
# 5b. re-enroll without a client certificate, and with a certificate we did not issue
expect 403 "TLS client certificate" "re-enroll without a client certificate" -H 'Content-Type: application/pkcs10' --data-binary @"$T/ok1.b64" "$EST/simplereenroll"
# 6. replayed one-time password
PW=$("$CK_CLI" est otp create --fleet sensors --device d9) || fail "otp create"
mkcsr d9.sensors.test "$T/d9.b64" DNS:d9.sensors.test
code=$(c -u "sensors:$PW" -H 'Content-Type: application/pkcs10' --data-binary @"$T/d9.b64" -o /dev/null -w '%{http_code}' "$EST/simpleenroll")
[ "$code" = 200 ] || fail "first use of the one-time password got $code"
BEFORE=$((BEFORE + 1))
ok "one-time password: first use enrolls"
expect 401 "already been used" "replayed one-time password" -u "sensors:$PW" -H 'Content-Type: application/pkcs10' --data-binary @"$T/d9.b64" "$EST/simpleenroll"
grep -qi '^www-authenticate: basic' "$T/h" || fail "401 without WWW-Authenticate: Basic"
# 6b. one password raced by four clients at once: exactly one certificate
PW2=$("$CK_CLI" est otp create --fleet sensors) || fail "otp create"
pids=""
for i in 1 2 3 4; do
  mkcsr "race$i.sensors.test" "$T/race$i.b64"
done
for i in 1 2 3 4; do
  c -u "sensors:$PW2" -H 'Content-Type: application/pkcs10' --data-binary @"$T/race$i.b64" -o /dev/null \
    -w '%{http_code}\n' "$EST/simpleenroll" >"$T/race$i.code" &
  pids="$pids $!"
done
for p in $pids; do wait "$p"; done
wins=$(cat "$T"/race*.code | grep -c '^200$')
losses=$(cat "$T"/race*.code | grep -c '^401$')
[ "$wins" = 1 ] && [ "$losses" = 3 ] || fail "raced one-time password: $(cat "$T"/race*.code | tr '\n' ' ')"
BEFORE=$((BEFORE + 1))
ok "one-time password raced by 4 clients: 1 certificate, 3 x 401"
# 7. wrong secret, unknown fleet, no credentials
expect 401 "wrong password" "wrong fleet secret" -u "sensors:not-the-secret" -H 'Content-Type: application/pkcs10' --data-binary @"$T/ok1.b64" "$EST/simpleenroll"
grep -qi '^www-authenticate: basic realm=' "$T/h" || fail "401 without WWW-Authenticate: Basic"
expect 401 "wrong password" "unknown fleet" -u "nosuch:$SECRET" -H 'Content-Type: application/pkcs10' --data-binary @"$T/ok1.b64" "$EST/simpleenroll"
expect 401 "authentication required" "no credentials" -H 'Content-Type: application/pkcs10' --data-binary @"$T/ok1.b64" "$EST/simpleenroll"
# 8. over the rate limit (2 per minute): 2 pass, the third is refused with Retry-After
# (a minute boundary between the calls would reset the window: retry once)
n200=0
for attempt in 1 2; do
  n429=0
  for i in 1 2 3; do
    mkcsr "r$attempt$i.sensors.test" "$T/r.b64"
    code=$(c -D "$T/h" -u "slow:$SECRET2" -H 'Content-Type: application/pkcs10' --data-binary @"$T/r.b64" -o "$T/body" -w '%{http_code}' "$EST/simpleenroll")
    case $code in 200) n200=$((n200 + 1));; 429) n429=$((n429 + 1)); break;; *) fail "rate limit: got $code";; esac
  done
  [ $n429 -ge 1 ] && break
done
[ $n429 -ge 1 ] || fail "no 429 over the rate limit"
grep -qi '^retry-after: [0-9]' "$T/h" || fail "429 without Retry-After"
grep -q "limit of 2 enrollments per minute" "$T/body" || fail "429 body: $(cat "$T/body")"
BEFORE=$((BEFORE + n200))
ok "over the rate limit -> 429 with Retry-After"
# 9. unknown label, wrong method, unknown operation
expect 404 "no EST label" "unknown label" -u "sensors:$SECRET" -H 'Content-Type: application/pkcs10' --data-binary @"$T/ok1.b64" "$EST/nolabel/simpleenroll"
expect 405 "POST" "GET on simpleenroll" "$EST/simpleenroll"
expect 404 "no such EST operation" "unknown operation" "$EST/bogus"

# 10. the fleet's profile decides: approval -> 202 + Retry-After; access refused -> 403
cat >"$T/gated.json" <<'J'
{"name": "gated", "workflow": "approval", "key_types": ["ec-p256"],
 "validity": {"max": "90d", "default": "30d"}, "san": {"dns": [".test"], "max": 5},
 "cn": "copy_to_san", "ext_key_usage": ["serverAuth"],
 "access": {"agent_groups": ["est.gated"], "roles": [], "owners": []},
 "approval": {"mode": "always", "approvers": {"roles": ["approver"], "required": 1}}}
J
sed 's/"gated"/"closed"/; s/"workflow": "approval"/"workflow": "automatic"/; s/"est.gated"/"est.someone-else"/; s/"mode": "always", "approvers": {"roles": \["approver"\], "required": 1}/"mode": "auto"/' \
  "$T/gated.json" >"$T/closed.json"
"$CK_CLI" profile set gated --file "$T/gated.json" >/dev/null || fail "profile gated"
"$CK_CLI" profile set closed --file "$T/closed.json" >/dev/null || fail "profile closed: $(cat "$T/closed.json")"
"$CK_CLI" est fleet create gated --profile gated --secret-file "$T/secret" >/dev/null 2>&1 || fail "fleet gated"
"$CK_CLI" est fleet create closed --profile closed --secret-file "$T/secret" >/dev/null 2>&1 || fail "fleet closed"
mkcsr g1.gated.test "$T/g1.b64" DNS:g1.gated.test
expect 202 "approval" "profile needs approval" -u "gated:$SECRET" -H 'Content-Type: application/pkcs10' \
  --data-binary @"$T/g1.b64" "$EST/simpleenroll"
grep -qi '^retry-after: [0-9]' "$T/h" || fail "202 without Retry-After"
# 10b. a one-time password on an approval profile is spent on its request: another CSR
# with it is a replay (401); the same CSR polls (202), then collects the approved
# certificate (200) once; the collected certificate can re-enroll (recorded as EST)
PWG=$("$CK_CLI" est otp create --fleet gated --device g2) || fail "otp create (gated)"
mkcsr g2.gated.test "$T/g2.b64" DNS:g2.gated.test
expect 202 "approval" "one-time password on an approval profile" -u "gated:$PWG" -H 'Content-Type: application/pkcs10' \
  --data-binary @"$T/g2.b64" "$EST/simpleenroll"
RQ=$(grep -o 'request rq-[0-9a-f]*' "$T/body" | sed 's/request //')
[ -n "$RQ" ] || fail "202 body names no request: $(cat "$T/body")"
mkcsr g3.gated.test "$T/g3.b64" DNS:g3.gated.test
expect 401 "already been used" "pending one-time password replayed with another CSR" -u "gated:$PWG" \
  -H 'Content-Type: application/pkcs10' --data-binary @"$T/g3.b64" "$EST/simpleenroll"
expect 202 "approval" "pending one-time password polls with its own CSR" -u "gated:$PWG" \
  -H 'Content-Type: application/pkcs10' --data-binary @"$T/g2.b64" "$EST/simpleenroll"
"$CK_CLI" api-token create --name bob --role approver >"$T/bob.token" || fail "api-token create bob"
CERTKEEPER_TOKEN=$(cat "$T/bob.token") "$CK_CLI" request approve "$RQ" >"$T/appr.out" 2>&1 || fail "approve $RQ: $(cat "$T/appr.out")"
BEFORE=$((BEFORE + 1))
expect 200 "" "approved request collected with its one-time password" -u "gated:$PWG" \
  -H 'Content-Type: application/pkcs10' --data-binary @"$T/g2.b64" "$EST/simpleenroll"
openssl base64 -d -in "$T/body" | openssl pkcs7 -inform DER -print_certs 2>/dev/null |
  awk '/BEGIN CERT/{n++} n==1{print} /END CERT/{if(n==1) exit}' >"$T/g2.pem"
openssl x509 -in "$T/g2.pem" -noout -subject | grep -q 'g2.gated.test' || fail "collected certificate"
expect 401 "already been used" "one-time password after its certificate was collected" -u "gated:$PWG" \
  -H 'Content-Type: application/pkcs10' --data-binary @"$T/g2.b64" "$EST/simpleenroll"
mkcsr g2.gated.test "$T/g2n.b64" DNS:g2.gated.test
expect 202 "approval" "collected certificate re-enrolls (through approval)" --cert "$T/g2.pem" --key "$T/g2.b64.key" \
  -H 'Content-Type: application/pkcs10' --data-binary @"$T/g2n.b64" "$EST/simplereenroll"
expect 403 "refused by profile" "profile does not admit the fleet" -u "closed:$SECRET" \
  -H 'Content-Type: application/pkcs10' --data-binary @"$T/g1.b64" "$EST/simpleenroll"

# 11. a deleted fleet's certificates cannot re-enroll
"$CK_CLI" est fleet delete sensors >/dev/null || fail "est fleet delete"
expect 403 "no longer exists" "re-enroll after the fleet was deleted" --cert "$T/ok1.pem" --key "$T/ok1.b64.key" \
  -H 'Content-Type: application/pkcs10' --data-binary @"$T/ok1.b64" "$EST/simplereenroll"

AFTER=$(certs)
[ "$AFTER" = "$BEFORE" ] || fail "refusals changed the inventory: $BEFORE certificates before, $AFTER after"
ok "inventory: nothing issued by the refusals ($AFTER certificates)"
n=$(grep -c 'event=est.refused' "$T/coord.log")
[ "$n" -ge 15 ] || fail "only $n est.refused events in the security log"
grep 'event=est.refused' "$T/coord.log" | grep -q 'stream=security' || fail "refusals not on the security stream"
grep -q "$SECRET" "$T/coord.log" && fail "the fleet secret appears in the log"
grep -q -e "$PW" -e "$PW2" "$T/coord.log" && fail "a one-time password appears in the log"
ok "security log: $n refusals, no secrets"
curl -sf "http://127.0.0.1:$CK_HTTP/healthz" >/dev/null || fail "coordinator unhealthy after bad input"
ok "coordinator healthy"
# a clean stop, and nothing from the sanitizers (ASan/UBSan builds)
kill "$CK_COORD_PID"; wait "$CK_COORD_PID" 2>/dev/null
if grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/coord.log" >&2; then fail "sanitizer report"; fi
ok "coordinator stopped cleanly, no sanitizer report"
echo "est refusals: $CK_CHECKS checks passed"
