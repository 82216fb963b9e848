#!/bin/sh
# test_acme_upstream_pebble.sh — the upstream ACME connector against a real
# ACME CA: pebble (Debian package `pebble`), with External Account Binding
# required, its VA resolving every name to 127.0.0.1 through
# pebble-challtestsrv and validating http-01 on the coordinator's responder.
# A profile whose "upstream" is that pebble is fulfilled by it through the
# ordinary REST issuance (`certkeeper cert issue`): the certificate chains
# to pebble's root, is in `cert list` under the profile and owner, and the
# "cert.issue" audit event names the upstream; the account is registered
# once and reused. The same profile through a real agent's renewal (the
# agent installs pebble's certificate, checked against the anchor the
# coordinator sends as `roots`; one order) and through EST simpleenroll
# (curl), and a wildcard over dns-01 through a
# hook. Bad paths: pebble down, and a validation pebble fails, each give a
# clear error and record nothing; after a pebble restart the forgotten
# account is registered again.
# Usage: test_acme_upstream_pebble.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
T=$CK_T

for p in pebble pebble-challtestsrv openssl curl python3; do
  command -v "$p" >/dev/null 2>&1 || { echo "skipped: $p not installed (apt-get install pebble)"; exit 77; }
done

# --- pebble + its DNS -------------------------------------------------------
PB=$(free_port); PBM=$(free_port); DNS=$(free_port); CTM=$(free_port); RESP=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=pebble test" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$T/pebble.key" -out "$T/pebble.crt" 2>/dev/null || fail "pebble TLS certificate"
EAB_KEY=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
cat >"$T/pebble.json" <<EOF
{"pebble": {
  "listenAddress": "127.0.0.1:$PB",
  "managementListenAddress": "127.0.0.1:$PBM",
  "certificate": "$T/pebble.crt",
  "privateKey": "$T/pebble.key",
  "httpPort": $RESP,
  "tlsPort": $(free_port),
  "ocspResponderURL": "",
  "externalAccountBindingRequired": true,
  "externalAccountMACKeys": {"kid-certkeeper": "$EAB_KEY"}
}}
EOF

pebble-challtestsrv -management 127.0.0.1:$CTM -dns01 127.0.0.1:$DNS -http01 "" \
  -https01 "" -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" >"$T/challtestsrv.log" 2>&1 &
CK_PIDS="$CK_PIDS $!"

start_pebble() {
  PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
    pebble -config "$T/pebble.json" -dnsserver 127.0.0.1:$DNS >>"$T/pebble.log" 2>&1 &
  PEBBLE_PID=$!
  CK_PIDS="$CK_PIDS $PEBBLE_PID"
  curl -sf --cacert "$T/pebble.crt" --retry 300 --retry-connrefused --retry-delay 0 \
    --retry-max-time 30 -o /dev/null "https://127.0.0.1:$PB/dir" || fail "pebble not up: $(tail -5 "$T/pebble.log")"
}
start_pebble
ok "pebble (EAB required) and pebble-challtestsrv on loopback"

# --- coordinator with an upstream profile ----------------------------------
start_coordinator
# the EAB key the CA handed out, where the profile's bare file name points
(umask 077; mkdir -p "$CK_DATA/upstream" && printf '%s\n' "$EAB_KEY" >"$CK_DATA/upstream/pebble.eab")
cat >"$T/profile.json" <<EOF
{
  "name": "public-web",
  "description": "certificates from the upstream ACME CA (pebble)",
  "workflow": "automatic",
  "key_types": ["ec-p256", "rsa-2048"],
  "validity": {"max": "90d", "default": "60d"},
  "san": {"dns": [".upstream.test"], "ip": [], "uri": [], "email": [], "max": 10},
  "cn": "copy_to_san",
  "ext_key_usage": ["serverAuth"],
  "access": {"agent_groups": ["*"], "roles": ["admin", "operator"], "owners": []},
  "upstream": {
    "type": "acme",
    "directory": "https://127.0.0.1:$PB/dir",
    "ca_bundle": "$T/pebble.crt",
    "account_key": "pebble-account.key",
    "eab_kid": "kid-certkeeper",
    "eab_hmac_file": "pebble.eab",
    "http01_listen": "127.0.0.1:$RESP",
    "contact": "mailto:pki@upstream.test",
    "timeout": "60s"
  }
}
EOF
"$CK_CLI" profile set public-web --file "$T/profile.json" >"$T/pset.out" 2>&1 \
  || fail "profile set: $(cat "$T/pset.out")"
"$CK_CLI" profile show public-web 2>/dev/null | grep -q '"directory": "https://127.0.0.1:'"$PB"'/dir"' \
  || fail "profile show lacks the upstream: $("$CK_CLI" profile show public-web 2>&1)"
ok "profile with an upstream stored and shown"

# a typo in the upstream block is refused, naming the field
sed 's/"http01_listen"/"http01_lisen"/' "$T/profile.json" >"$T/bad.json"
out=$("$CK_CLI" profile set public-web --file "$T/bad.json" 2>&1) && fail "typo accepted"
echo "$out" | grep -q "upstream: unknown field 'http01_lisen'" || fail "typo message: $out"
sed 's|"https://127.0.0.1:'"$PB"'/dir"|"http://127.0.0.1:'"$PB"'/dir"|' "$T/profile.json" >"$T/bad.json"
out=$("$CK_CLI" profile set public-web --file "$T/bad.json" 2>&1) && fail "http directory accepted"
echo "$out" | grep -q "upstream.directory: .* is not an https:// URL" || fail "http message: $out"
sed 's|"pebble-account.key"|"../ca/issuing.key"|' "$T/profile.json" >"$T/bad.json"
out=$("$CK_CLI" profile set public-web --file "$T/bad.json" 2>&1) && fail "key path accepted"
echo "$out" | grep -q "upstream.account_key: '../ca/issuing.key' is not a file name" || fail "key path message: $out"
ok "bad upstream blocks refused with the field named"

# --- issue through REST ------------------------------------------------------
csr www.upstream.test "$T/w.key" "$T/w.csr" api.upstream.test
"$CK_CLI" cert issue --profile public-web --csr "$T/w.csr" --owner team-web --out "$T/w.chain" \
  >"$T/issue.out" 2>&1 || fail "issue via upstream: $(cat "$T/issue.out")"
[ -f "$CK_DATA/upstream/pebble-account.key" ] || fail "account key not generated"
[ "$(stat -c %a "$CK_DATA/upstream/pebble-account.key")" = 600 ] || fail "account key mode"
openssl x509 -in "$T/w.chain" -out "$T/w.pem" || fail "leaf"
awk '/BEGIN CERT/{n++} n>=2' "$T/w.chain" >"$T/w.issuers"
[ -s "$T/w.issuers" ] || fail "no issuer chain returned"
curl -sf --cacert "$T/pebble.crt" "https://127.0.0.1:$PBM/roots/0" -o "$T/pebble-root.pem" \
  || fail "pebble root"
out=$(openssl verify -CAfile "$T/pebble-root.pem" -untrusted "$T/w.issuers" "$T/w.pem" 2>&1)
[ "$out" = "$T/w.pem: OK" ] || fail "does not chain to pebble's root: $out"
# and not to ours
openssl verify -CAfile "$T/root.pem" -untrusted "$T/w.issuers" "$T/w.pem" >/dev/null 2>&1 \
  && fail "chains to the coordinator's own root"
openssl x509 -in "$T/w.pem" -noout -ext subjectAltName | grep -q "DNS:api.upstream.test" \
  || fail "SANs: $(openssl x509 -in "$T/w.pem" -noout -ext subjectAltName)"
[ "$(openssl x509 -in "$T/w.pem" -noout -pubkey)" = "$(openssl pkey -in "$T/w.key" -pubout)" ] \
  || fail "the certificate does not carry the CSR's key"
grep -q "upstream.http01.served" "$T/coord.log" || fail "pebble did not validate on our responder"
ok "issued by pebble through REST: http-01 on our responder, chains to pebble's root, CSR key"

SERIAL=$(openssl x509 -in "$T/w.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//')
"$CK_CLI" cert list --profile public-web --json >"$T/list.json" 2>&1 || fail "cert list"
python3 - "$T/list.json" "$SERIAL" <<'EOF' || fail "cert list: $(cat "$T/list.json")"
import json, sys
items = json.load(open(sys.argv[1]))["items"]
serial = sys.argv[2]
hit = [c for c in items if c["serial"].lstrip("0") == serial]
assert len(hit) == 1, items
c = hit[0]
assert c["profile"] == "public-web" and c["owner"] == "team-web", c
assert "Pebble" in c["issuer"] or "pebble" in c["issuer"].lower(), c
EOF
"$CK_CLI" audit list --all >"$T/audit.txt" 2>&1 || fail "audit list"
grep "cert.issue" "$T/audit.txt" | grep -q "\"upstream\":\"https://127.0.0.1:$PB/dir\"" \
  || fail "cert.issue audit lacks the upstream: $(grep cert.issue "$T/audit.txt")"
[ "$(grep -c "ca.upstream.account" "$T/audit.txt")" = 1 ] || fail "account registration not audited once"
ok "recorded like any other: cert list (profile, owner, pebble issuer) and audited with the upstream"

# a second certificate reuses the cached account
csr www2.upstream.test "$T/w2.key" "$T/w2.csr"
"$CK_CLI" cert issue --profile public-web --csr "$T/w2.csr" --out "$T/w2.chain" >"$T/issue2.out" 2>&1 \
  || fail "second issue: $(cat "$T/issue2.out")"
"$CK_CLI" audit list --all >"$T/audit.txt" 2>&1
[ "$(grep -c "ca.upstream.account" "$T/audit.txt")" = 1 ] || fail "account registered twice"
ok "second certificate: the cached account is reused"

# a wrong EAB key: the CA refuses the account, the message says so, nothing recorded
head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=' >"$CK_DATA/upstream/wrong.eab"
python3 - "$T/profile.json" >"$T/profile-badeab.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["name"] = "public-badeab"
p["upstream"]["account_key"] = "other-account.key"
p["upstream"]["eab_hmac_file"] = "wrong.eab"
print(json.dumps(p))
EOF
"$CK_CLI" profile set public-badeab --file "$T/profile-badeab.json" >/dev/null 2>&1 || fail "profile set public-badeab"
csr eab.upstream.test "$T/eab.key" "$T/eab.csr"
"$CK_CLI" cert issue --profile public-badeab --csr "$T/eab.csr" --out "$T/eab.chain" >"$T/eab.out" 2>&1
rc=$?
[ $rc = 8 ] || fail "wrong EAB: exit $rc: $(cat "$T/eab.out")"
grep -q "newAccount: HTTP 4[0-9][0-9] " "$T/eab.out" || fail "wrong EAB message: $(cat "$T/eab.out")"
"$CK_CLI" cert list --profile public-badeab --json 2>/dev/null | grep -q '"items": \[\]' \
  || fail "something recorded for the wrong EAB"
ok "wrong EAB key: exit 8, '$(grep -o 'newAccount: .*' "$T/eab.out" | cut -c1-90)', nothing recorded"

# two orders at once share the http-01 responder (one listener, two tokens)
csr p1.upstream.test "$T/p1.key" "$T/p1.csr"
csr p2.upstream.test "$T/p2.key" "$T/p2.csr"
"$CK_CLI" cert issue --profile public-web --csr "$T/p1.csr" --out "$T/p1.chain" >"$T/p1.out" 2>&1 &
P1=$!
"$CK_CLI" cert issue --profile public-web --csr "$T/p2.csr" --out "$T/p2.chain" >"$T/p2.out" 2>&1 &
P2=$!
wait $P1 || fail "parallel order 1: $(cat "$T/p1.out")"
wait $P2 || fail "parallel order 2: $(cat "$T/p2.out")"
for n in p1 p2; do
  openssl x509 -in "$T/$n.chain" -out "$T/$n.pem"
  awk '/BEGIN CERT/{n++} n>=2' "$T/$n.chain" >"$T/$n.issuers"
  out=$(openssl verify -CAfile "$T/pebble-root.pem" -untrusted "$T/$n.issuers" "$T/$n.pem" 2>&1)
  [ "$out" = "$T/$n.pem: OK" ] || fail "parallel $n: $out"
done
ok "two orders at once, one shared http-01 responder: both issued"

# --- through a real agent: its renewal goes to pebble ---------------------------
CK_AGENT=${CK_AGENT_BIN:-$CK_BUILD/agent/certkeeper-agent}
if [ -x "$CK_AGENT" ]; then
  FP=$(openssl x509 -in "$T/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
  (umask 077; "$CK_CLI" token create --group web --profile public-web --ttl 1h >"$T/enroll.token") \
    || fail "token create"
  "$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token-file "$T/enroll.token" \
    --ca-fingerprint "$FP" --state-dir "$T/ast" --name up-agent >"$T/enroll.log" 2>&1 \
    || fail "enroll: $(cat "$T/enroll.log")"
  mkdir -p "$T/scan" "$T/tls"
  cat >"$T/agent.conf" <<EOF
[agent]
state_dir = $T/ast
reconnect_max = 2s
[discovery]
roots = $T/scan
probe_endpoints = false
[cert:pub]
profile = public-web
sans = DNS:agent.upstream.test
cert_file = $T/tls/cert.pem
key_file = $T/tls/key.pem
fullchain_file = $T/tls/fullchain.pem
reload = none
EOF
  "$CK_AGENT" run --config "$T/agent.conf" >"$T/agent.log" 2>&1 &
  AGENT_PID=$!
  CK_PIDS="$CK_PIDS $AGENT_PID"
  agent_issued() {
    "$CK_CLI" audit list --all 2>/dev/null | grep "cert.issue" | grep "agent:" |
      grep -q "\"upstream\":\"https://127.0.0.1:$PB/dir\""
  }
  deadline=$(($(date +%s) + 90))
  until agent_issued; do
    kill -0 "$AGENT_PID" 2>/dev/null || fail "agent exited: $(tail -20 "$T/agent.log")"
    [ "$(date +%s)" -lt "$deadline" ] || fail "no upstream issuance for the agent in 90 s: $(tail -20 "$T/agent.log")"
    sleep 0.2
  done
  "$CK_CLI" cert list --profile public-web --json >"$T/alist.json" 2>&1 || fail "cert list"
  python3 - "$T/alist.json" <<'EOF' || fail "agent's certificate not listed: $(cat "$T/alist.json")"
import json, sys
items = json.load(open(sys.argv[1]))["items"]
hit = [c for c in items if "DNS:agent.upstream.test" in c["sans"]]
assert len(hit) == 1 and "pebble" in hit[0]["issuer"].lower(), items
EOF
  ok "a real agent's renewal for the profile is fulfilled by pebble, listed and audited as the agent's"
  # The coordinator sends the top of pebble's chain as the `cert`'s roots
  # (over the agent's mutually authenticated session); the agent checks
  # this certificate against its pinned CA or those roots and installs it.
  deadline=$(($(date +%s) + 90))
  until grep -qx "state=MONITORING" "$T/ast/managed/pub/state" 2>/dev/null && [ -s "$T/tls/fullchain.pem" ]; do
    kill -0 "$AGENT_PID" 2>/dev/null || fail "agent exited: $(tail -20 "$T/agent.log")"
    ! grep -q "CK_ERR_UNTRUSTED" "$T/agent.log" || fail "agent refused pebble's chain: $(grep CK_ERR_UNTRUSTED "$T/agent.log" | tail -3)"
    [ "$(date +%s)" -lt "$deadline" ] || fail "agent did not install the pebble certificate: $(tail -20 "$T/agent.log")"
    sleep 0.2
  done
  grep -q "agent.managed.cert_roots" "$T/agent.log" || fail "no roots delivered with the agent's certificate"
  openssl x509 -in "$T/tls/fullchain.pem" -out "$T/a.pem"
  awk '/BEGIN CERT/{n++} n>=2' "$T/tls/fullchain.pem" >"$T/a.issuers"
  out=$(openssl verify -CAfile "$T/pebble-root.pem" -untrusted "$T/a.issuers" "$T/a.pem" 2>&1)
  [ "$out" = "$T/a.pem: OK" ] || fail "agent's certificate does not chain to pebble: $out"
  [ "$(openssl x509 -in "$T/a.pem" -noout -pubkey)" = "$(openssl pkey -in "$T/tls/key.pem" -pubout)" ] \
    || fail "installed certificate and key do not match"
  [ "$(stat -c %a "$T/tls/key.pem")" = 600 ] || fail "installed key mode"
  # one order for the agent: no re-request after the install
  n=$("$CK_CLI" audit list --all 2>/dev/null | grep "cert.issue" | grep "agent:" | grep -c "upstream")
  [ "$n" = 1 ] || fail "$n upstream issuances for the agent, want 1"
  ok "the agent installed pebble's certificate (checked against the roots the coordinator sent), one order"
  kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
  ! grep -q "Sanitizer" "$T/agent.log" || fail "sanitizer report in the agent log"
else
  echo "# agent not built: agent path not exercised"
fi

# --- through EST (RFC 7030 simpleenroll with curl) --------------------------------
if "$CK_CLI" est fleet --help >/dev/null 2>&1 || "$CK_CLI" help 2>&1 | grep -q "est fleet"; then
  printf 'fleet-secret-%s' "$(openssl rand -hex 8)" >"$T/est.secret"
  "$CK_CLI" est fleet create pubfleet --profile public-web --secret-file "$T/est.secret" \
    --pattern '*.upstream.test' >"$T/fleet.out" 2>&1 || fail "est fleet create: $(cat "$T/fleet.out")"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/e.key" \
    -subj "/CN=dev1.upstream.test" -addext "subjectAltName=DNS:dev1.upstream.test" \
    -outform DER -out "$T/e.csr" 2>/dev/null || fail "EST CSR"
  openssl base64 -in "$T/e.csr" >"$T/e.b64"
  code=$(curl -s --cacert "$T/root.pem" --max-time 90 -u "pubfleet:$(cat "$T/est.secret")" \
    -H 'Content-Type: application/pkcs10' -H 'Content-Transfer-Encoding: base64' \
    --data-binary @"$T/e.b64" -o "$T/e.p7" -w '%{http_code}' \
    "https://127.0.0.1:$CK_HTTPS/.well-known/est/simpleenroll")
  [ "$code" = 200 ] || fail "EST simpleenroll: $code $(cat "$T/e.p7")"
  openssl base64 -d -in "$T/e.p7" | openssl pkcs7 -inform DER -print_certs -out "$T/e.certs" \
    || fail "EST answer is not certs-only PKCS#7"
  awk '/BEGIN CERT/{n++} n==1' "$T/e.certs" >"$T/e.pem"
  awk '/BEGIN CERT/{n++} n>=2' "$T/e.certs" >"$T/e.issuers"
  out=$(openssl verify -CAfile "$T/pebble-root.pem" -untrusted "$T/e.issuers" "$T/e.pem" 2>&1)
  [ "$out" = "$T/e.pem: OK" ] || fail "EST certificate does not chain to pebble: $out"
  ok "EST simpleenroll under the profile: certificate from pebble, chain in the PKCS#7"
else
  echo "# no EST in this build: EST path not exercised"
fi

# --- dns-01 through the operator's hook, a wildcard ----------------------------
mkdir -p "$CK_DATA/hooks"
cat >"$CK_DATA/hooks/txt-hook" <<EOF
#!/bin/sh
# dns-01 hook: publishes TXT records in pebble-challtestsrv's DNS
echo "\$*" >>"$T/hook.calls"
case "\$1" in
  add) curl -sf -X POST -d "{\\"host\\":\\"\$2.\\",\\"value\\":\\"\$3\\"}" http://127.0.0.1:$CTM/set-txt ;;
  del) curl -sf -X POST -d "{\\"host\\":\\"\$2.\\"}" http://127.0.0.1:$CTM/clear-txt ;;
  *) exit 2 ;;
esac
EOF
chmod 755 "$CK_DATA/hooks/txt-hook"
python3 - "$T/profile.json" txt-hook >"$T/profile-dns.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["name"] = "public-dns"
p["san"]["wildcards"] = True
del p["upstream"]["http01_listen"]
p["upstream"]["dns01_hook"] = sys.argv[2]
print(json.dumps(p))
EOF
"$CK_CLI" profile set public-dns --file "$T/profile-dns.json" >"$T/pset2.out" 2>&1 \
  || fail "profile set public-dns: $(cat "$T/pset2.out")"
csr wild.upstream.test "$T/wild.key" "$T/wild.csr" "*.wild.upstream.test"
"$CK_CLI" cert issue --profile public-dns --csr "$T/wild.csr" --out "$T/wild.chain" >"$T/wild.out" 2>&1 \
  || fail "dns-01 issue: $(cat "$T/wild.out") $(cat "$T/hook.calls" 2>/dev/null)"
openssl x509 -in "$T/wild.chain" -noout -ext subjectAltName | grep -q 'DNS:\*.wild.upstream.test' \
  || fail "wildcard SAN: $(openssl x509 -in "$T/wild.chain" -noout -ext subjectAltName)"
openssl x509 -in "$T/wild.chain" -out "$T/wild.pem"
awk '/BEGIN CERT/{n++} n>=2' "$T/wild.chain" >"$T/wild.issuers"
out=$(openssl verify -CAfile "$T/pebble-root.pem" -untrusted "$T/wild.issuers" "$T/wild.pem" 2>&1)
[ "$out" = "$T/wild.pem: OK" ] || fail "wildcard does not chain to pebble: $out"
grep -q "^add _acme-challenge.wild.upstream.test " "$T/hook.calls" || fail "hook add: $(cat "$T/hook.calls")"
grep -q "^del _acme-challenge.wild.upstream.test " "$T/hook.calls" || fail "hook del: $(cat "$T/hook.calls")"
ok "dns-01 through the hook (add, then del): wildcard *.wild.upstream.test from pebble"

count_certs() {
  "$CK_CLI" cert list --profile public-web --json 2>/dev/null |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'
}
count_issue_audit() { "$CK_CLI" audit list --all 2>/dev/null | grep -c "cert.issue"; }
N0=$(count_certs); A0=$(count_issue_audit)

# --- a name pebble refuses: a clear error, nothing recorded ---------------------
# (policy allows it; pebble's VA cannot reach it because challtestsrv is told
# to answer SERVFAIL for it)
curl -sf -X POST -d '{"host":"fail.upstream.test."}' "http://127.0.0.1:$CTM/set-servfail" >/dev/null || fail "challtestsrv set-servfail"
csr fail.upstream.test "$T/f.key" "$T/f.csr"
"$CK_CLI" cert issue --profile public-web --csr "$T/f.csr" --out "$T/f.chain" >"$T/f.out" 2>&1
rc=$?
[ $rc = 8 ] || fail "refused order: exit $rc: $(cat "$T/f.out")"
grep -q "upstream ACME CA https://127.0.0.1:$PB/dir" "$T/f.out" || fail "message: $(cat "$T/f.out")"
[ "$(count_certs)" = "$N0" ] && [ "$(count_issue_audit)" = "$A0" ] || fail "something was recorded"
ok "validation failure at the CA: exit 8, message names the upstream and the step, nothing recorded"

# --- pebble down: a clear error, nothing recorded ---------------------------------
kill "$PEBBLE_PID"; wait "$PEBBLE_PID" 2>/dev/null
csr down.upstream.test "$T/d.key" "$T/d.csr"
"$CK_CLI" cert issue --profile public-web --csr "$T/d.csr" --out "$T/d.chain" >"$T/d.out" 2>&1
rc=$?
[ $rc = 8 ] || fail "pebble down: exit $rc: $(cat "$T/d.out")"
grep -q "upstream ACME CA https://127.0.0.1:$PB/dir" "$T/d.out" || fail "down message: $(cat "$T/d.out")"
grep -qi "refused\|connect" "$T/d.out" || fail "down message does not say why: $(cat "$T/d.out")"
[ ! -s "$T/d.chain" ] || fail "a chain was written"
[ "$(count_certs)" = "$N0" ] && [ "$(count_issue_audit)" = "$A0" ] || fail "something was recorded"
ok "pebble down: exit 8 with '$(sed -n 1p "$T/d.out" | cut -c1-120)...', nothing recorded"

# --- pebble restarted (it forgets every account): registered again, issued -------
start_pebble
csr back.upstream.test "$T/b.key" "$T/b.csr"
"$CK_CLI" cert issue --profile public-web --csr "$T/b.csr" --out "$T/b.chain" >"$T/b.out" 2>&1 \
  || fail "after pebble restart: $(cat "$T/b.out")"
grep -q "upstream.account_stale" "$T/coord.log" || fail "stale account not noticed"
ok "pebble restarted: the stale cached account is registered again and the order succeeds"

echo "# order durations (ms, newOrder to chain): $(sed -n 's/.*event=upstream.issued .* ms=\([0-9]*\).*/\1/p' "$T/coord.log" | tr '\n' ' ')"
echo "all $CK_CHECKS checks passed"
