#!/bin/sh
# test_coordinator.sh — a real coordinator on loopback: init, run, REST and
# CLI issuance under policy, refusals rule by rule, list, revoke, tokens and
# roles, audit verify (and tamper detection), clean shutdown.
# Usage: test_coordinator.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
T=$CK_T

start_coordinator
ok "coordinator healthy on 127.0.0.1:$CK_HTTP/$CK_HTTPS/$CK_GW"

# --- init: files, modes, refusal to overwrite --------------------------
[ "$(stat -c %a "$CK_DATA")" = 700 ] || fail "data dir mode $(stat -c %a "$CK_DATA")"
for k in "$CK_DATA"/ca/root.key "$CK_DATA"/ca/issuing.key "$CK_DATA"/tls/server.key "$T/admin.token"; do
  [ "$(stat -c %a "$k")" = 600 ] || fail "$k mode $(stat -c %a "$k")"
done
grep -q "cka_" "$T/admin.token" || fail "admin token file"
grep -rqs "$(cat "$T/admin.token")" "$CK_DATA" && fail "admin token stored in clear in the data dir"
grep -q "$(cat "$T/admin.token")" "$T/init.log" && fail "init printed the token despite --admin-token-out"
if "$CK_COORD" init --data-dir "$CK_DATA" --admin-token-out "$T/x.token" >"$T/init2.log" 2>&1; then
  fail "second init over an existing CA succeeded"
fi
grep -q "refusing" "$T/init2.log" || fail "second init message: $(cat "$T/init2.log")"
[ -e "$T/x.token" ] && fail "refused init wrote a token"
ok "init: modes 0700/0600, token only hashed, refuses to overwrite"

# --- CA endpoints ----------------------------------------------------------
[ "$(grep -c 'BEGIN CERTIFICATE' "$T/chain.pem")" = 2 ] || fail "chain.pem should hold issuing + root"
openssl x509 -in "$T/root.pem" -noout -text | grep -q "secp384r1\|P-384" || fail "root is not P-384"
curl -sf "http://127.0.0.1:$CK_HTTP/ca/issuing.crt" -o "$T/issuing.der" || fail "GET /ca/issuing.crt"
openssl x509 -inform DER -in "$T/issuing.der" -noout -text | grep -q "prime256v1\|P-256" || fail "issuing is not P-256"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CK_HTTP/ca/nope.crt")" = 404 ] || fail "unknown CA not 404"
ok "CA chain served (P-384 root, P-256 issuing)"

# --- authentication ----------------------------------------------------------
API=https://127.0.0.1:$CK_HTTPS/api/v1
code=$(curl -s --cacert "$T/root.pem" -o "$T/p.json" -w '%{http_code}' "$API/certificates")
[ "$code" = 401 ] || fail "no token: $code"
grep -q '"urn:certkeeper:problem:unauthorized"' "$T/p.json" || fail "401 body: $(cat "$T/p.json")"
code=$(curl -s --cacert "$T/root.pem" -H "Authorization: Bearer cka_wrong" -o /dev/null -w '%{http_code}' "$API/certificates")
[ "$code" = 401 ] || fail "wrong token: $code"
grep -q "api.auth.failure" "$T/coord.log" || fail "auth failure not on the security log"
ok "missing and wrong tokens get 401 problem+json and a security-log event"

# --- issue within policy (CLI) -----------------------------------------------
csr app1.test "$T/app1.key" "$T/app1.csr" www.app1.test
"$CK_CLI" cert issue --profile tls-server --csr "$T/app1.csr" --out "$T/app1.pem" >"$T/issue.log" 2>&1 \
  || { cat "$T/issue.log"; fail "issue app1.test"; }
openssl verify -CAfile "$T/root.pem" -untrusted "$T/chain.pem" "$T/app1.pem" >/dev/null 2>&1 \
  || fail "issued certificate does not verify"
text=$(openssl x509 -in "$T/app1.pem" -noout -text)
echo "$text" | grep -q "DNS:www.app1.test" || fail "SAN missing"
echo "$text" | grep -q "OCSP - URI:http://127.0.0.1:$CK_HTTP/ocsp" || fail "AIA OCSP missing"
echo "$text" | grep -q "CA Issuers - URI:http://127.0.0.1:$CK_HTTP/ca/issuing.crt" || fail "AIA caIssuers missing"
echo "$text" | grep -q "URI:http://127.0.0.1:$CK_HTTP/crl/issuing.crl" || fail "CDP missing"
echo "$text" | grep -q "TLS Web Server Authentication" || fail "EKU serverAuth missing"
serial=$(openssl x509 -in "$T/app1.pem" -noout -serial | cut -d= -f2)
[ "${#serial}" -ge 16 ] || fail "serial $serial shorter than 64 bits"
a=$(openssl x509 -in "$T/app1.pem" -noout -pubkey | openssl sha256)
b=$(openssl pkey -in "$T/app1.key" -pubout | openssl sha256)
[ "$a" = "$b" ] || fail "certificate does not carry the CSR key"
ok "issued within policy: chain verifies, SAN, AIA, CDP, EKU, 64+ bit serial, CSR key"

count_certs() {
  curl -sf --cacert "$T/root.pem" -H "Authorization: Bearer $CERTKEEPER_TOKEN" "$API/certificates?limit=1000" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'
}
before=$(count_certs)

# --- refusals, rule by rule -----------------------------------------------------
refuse() { # name rule-regexp csr-args...
  what=$1; rule=$2; shift 2
  if "$CK_CLI" cert issue --profile tls-server --csr "$T/r.csr" --out "$T/r.pem" "$@" >"$T/r.log" 2>&1; then
    fail "$what was issued"
  fi
  [ -s "$T/r.pem" ] && fail "$what: refused request wrote a certificate"
  grep -qiE "$rule" "$T/r.log" || fail "$what: refusal does not name the rule: $(cat "$T/r.log")"
  ok "refused $what: $(head -n 1 "$T/r.log")"
}
csr evil.example.com "$T/r.key" "$T/r.csr"
refuse "a SAN outside the profile" "evil.example.com.*not allowed"
csr a.test "$T/r.key" "$T/r.csr" "*.wild.test"
refuse "a wildcard" "wildcard"
openssl req -new -newkey rsa:1024 -nodes -keyout "$T/r.key" -subj "/CN=small.test" \
  -addext "subjectAltName=DNS:small.test" -out "$T/r.csr" 2>/dev/null
refuse "an RSA-1024 key" "rsa-1024.*minimum|key"
csr long.test "$T/r.key" "$T/r.csr"
refuse "a validity above the maximum" "validity.*maximum" --validity 400d
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/r.key" \
  -subj "/CN=x.test" -addext "subjectAltName=DNS:x.test" -out "$T/good.csr" 2>/dev/null
python3 - "$T/good.csr" "$T/r.csr" <<'PY'
import sys, base64, re
pem = open(sys.argv[1]).read()
b = bytearray(base64.b64decode("".join(l for l in pem.splitlines() if "-----" not in l)))
b[-5] ^= 0xff
out = "-----BEGIN CERTIFICATE REQUEST-----\n" + "\n".join(re.findall(".{1,64}", base64.b64encode(bytes(b)).decode())) + "\n-----END CERTIFICATE REQUEST-----\n"
open(sys.argv[2], "w").write(out)
PY
refuse "a CSR whose signature does not verify" "csr|signature"
printf 'not a csr\n' >"$T/r.csr"
refuse "garbage instead of a CSR" "csr|pem"
grep -q "policy.refuse" "$T/coord.log" || fail "policy refusals not on the security log"
after=$(count_certs)
[ "$before" = "$after" ] || fail "refusals wrote certificates ($before -> $after)"
ok "refusals wrote nothing ($after certificates)"

# --- bad REST input -------------------------------------------------------------
code=$(curl -s --cacert "$T/root.pem" -H "Authorization: Bearer $CERTKEEPER_TOKEN" \
  -H 'Content-Type: application/json' -d '{"profile": ' -o "$T/p.json" -w '%{http_code}' "$API/certificates")
[ "$code" = 400 ] && grep -q "malformed JSON" "$T/p.json" || fail "malformed JSON: $code $(cat "$T/p.json")"
code=$(curl -s --cacert "$T/root.pem" -H "Authorization: Bearer $CERTKEEPER_TOKEN" \
  -H 'Content-Type: application/json' -d '{"profile":"nope","csr":"x"}' -o "$T/p.json" -w '%{http_code}' "$API/certificates")
[ "$code" = 400 ] || [ "$code" = 404 ] || fail "unknown profile: $code"
head -c 2000000 /dev/zero | tr '\0' 'a' >"$T/big"
code=$(curl -s --cacert "$T/root.pem" -H "Authorization: Bearer $CERTKEEPER_TOKEN" \
  -H 'Content-Type: application/json' --data-binary @"$T/big" -o /dev/null -w '%{http_code}' "$API/certificates")
[ "$code" = 413 ] || fail "oversized body: $code"
ok "malformed JSON 400, unknown profile refused, oversized body 413"

# --- list, show, revoke ---------------------------------------------------------------
"$CK_CLI" cert list --json >"$T/list.json" || fail "cert list"
grep -q "www.app1.test" "$T/list.json" || fail "list lacks app1"
"$CK_CLI" cert list --expiring 90d --json | grep -q "www.app1.test" || fail "expiring filter lacks app1"
"$CK_CLI" cert show "$serial" >"$T/show.txt" || fail "cert show by serial"
grep -qi "app1.test" "$T/show.txt" || fail "show output"
"$CK_CLI" cert revoke "$serial" --reason keyCompromise >"$T/rev.log" 2>&1 || { cat "$T/rev.log"; fail "revoke"; }
"$CK_CLI" cert show "$serial" --json | grep -q '"revoked"' || fail "status not revoked"
if "$CK_CLI" cert revoke "$serial" --reason keyCompromise >/dev/null 2>&1; then fail "second revoke succeeded"; fi
ok "list/expiring/show; revoke records state; revoking twice is a conflict"

# --- tokens and roles -----------------------------------------------------------------
tok=$("$CK_CLI" token create --group web --profile tls-server --ttl 1h) || fail "token create"
case $tok in cke_*) ;; *) fail "enrollment token looks wrong: $tok" ;; esac
grep -q "$tok" "$T/coord.log" && fail "enrollment token logged"
aud=$(curl -sf --cacert "$T/root.pem" -H "Authorization: Bearer $CERTKEEPER_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"aud","role":"auditor"}' "$API/api-tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') \
  || fail "api-token create"
code=$(curl -s --cacert "$T/root.pem" -H "Authorization: Bearer $aud" -H 'Content-Type: application/json' \
  -d "{\"profile\":\"tls-server\",\"csr\":\"x\"}" -o "$T/p.json" -w '%{http_code}' "$API/certificates")
[ "$code" = 403 ] && grep -q forbidden "$T/p.json" || fail "auditor could issue: $code"
code=$(curl -s --cacert "$T/root.pem" -H "Authorization: Bearer $aud" -o /dev/null -w '%{http_code}' "$API/audit/verify")
[ "$code" = 200 ] || fail "auditor cannot verify audit: $code"
ok "enrollment token shown once and not logged; auditor may read the audit trail but not issue"

# --- profiles: versioned policy as data, choosing among several CAs -------------------
cat >"$T/p.json" <<'JSON'
{"name": "root-signed", "description": "issued by the root CA", "ca": "root",
 "workflow": "automatic", "key_types": ["ec-p256"], "validity": {"max": "30d", "default": "7d"},
 "renewal": {"fraction": 0.3333},
 "san": {"dns": [".rs.test"], "ip": [], "uri": [], "email": [], "wildcards": false,
         "from_binding": false, "max": 10},
 "cn": "copy_to_san", "key_usage": ["digitalSignature"], "ext_key_usage": ["serverAuth"],
 "access": {"agent_groups": [], "roles": ["admin"], "owners": []}}
JSON
"$CK_CLI" profile set root-signed --file "$T/p.json" >"$T/ps.log" 2>&1 || { cat "$T/ps.log"; fail "profile set"; }
csr a.rs.test "$T/rs.key" "$T/rs.csr"
"$CK_CLI" cert issue --profile root-signed --csr "$T/rs.csr" --out "$T/rs.pem" >/dev/null 2>&1 || fail "issue under root-signed"
openssl x509 -in "$T/rs.pem" -noout -issuer | grep -q "certkeeper Root CA" || fail "root-signed not issued by the root"
openssl verify -CAfile "$T/root.pem" "$T/rs.pem" >/dev/null 2>&1 || fail "root-signed does not verify"
sed -i 's/"30d"/"20d"/' "$T/p.json"
"$CK_CLI" profile set root-signed --file "$T/p.json" --if-match 1 >/dev/null 2>&1 || fail "profile update v1 -> v2"
if "$CK_CLI" profile set root-signed --file "$T/p.json" --if-match 1 >/dev/null 2>&1; then
  fail "a stale If-Match was accepted"
fi
"$CK_CLI" profile show root-signed --json 2>/dev/null | grep -q '"version": *2' || fail "profile version not 2"
if "$CK_CLI" cert issue --profile root-signed --csr "$T/rs.csr" --out "$T/rs2.pem" --validity 25d >"$T/rs2.log" 2>&1; then
  fail "the new profile version (max 20d) was not applied"
fi
ok "profiles choose their CA (root-signed); versions, If-Match and the new version's rules apply"

# --- audit trail ----------------------------------------------------------------------
"$CK_CLI" audit verify >"$T/av.log" 2>&1 || { cat "$T/av.log"; fail "audit verify on an untouched trail"; }
"$CK_CLI" audit list --json | grep -q '"cert.revoke"' || fail "revocation not audited"
# the table refuses updates (triggers); an attacker with the file drops them
if sqlite3 "$CK_DATA/certkeeper.db" "PRAGMA busy_timeout=5000; UPDATE audit SET actor='x' WHERE seq=3;" 2>/dev/null; then
  fail "the audit table accepted an UPDATE"
fi
sqlite3 "$CK_DATA/certkeeper.db" "PRAGMA busy_timeout=5000; DROP TRIGGER audit_no_update;
  UPDATE audit SET actor='token:mallory' WHERE seq=3;" || fail "tampering with sqlite3"
if "$CK_CLI" audit verify >"$T/av.log" 2>&1; then fail "audit verify missed a modified row"; fi
grep -q "3" "$T/av.log" || fail "audit verify does not name the row: $(cat "$T/av.log")"
ok "audit verify detects a modified row: $(head -n 1 "$T/av.log")"

# --- SIGHUP: the [log] section changes without a restart ---------------------------
sed -i 's/^format = kv$/format = json/' "$CK_DATA/coordinator.conf"
grep -q '^format = json$' "$CK_DATA/coordinator.conf" || fail "could not edit the config"
kill -HUP "$CK_COORD_PID"
# the reload record itself is the first one written in the new format
curl -s --retry 100 --retry-delay 0 --retry-max-time 10 -o /dev/null "http://127.0.0.1:$CK_HTTP/healthz"
n=0
until grep -q '"event":"coordinator.reload"' "$T/coord.log"; do
  n=$((n + 1)); [ $n -lt 200000 ] || fail "no JSON reload record after SIGHUP"
done
kill -0 "$CK_COORD_PID" || fail "coordinator died on SIGHUP"
ok "SIGHUP re-applies [log]: records are now JSON"

# --- clean shutdown ---------------------------------------------------------------------
kill -TERM "$CK_COORD_PID"
wait "$CK_COORD_PID"; rc=$?
CK_PIDS=""
[ "$rc" = 0 ] || fail "coordinator exit status $rc after SIGTERM"
grep -q "coordinator.stopped" "$T/coord.log" || fail "no clean-stop record"
ok "SIGTERM: clean exit"
echo "$CK_CHECKS passed, 0 failed"
