#!/bin/sh
# test_validation.sh — OCSP and CRLs with real clients (openssl ocsp,
# openssl verify -crl_check, curl): good -> revoked with reason, nonce,
# RFC 5019 GET and caching headers (ETag / 304), unknown serial, unknown
# issuer, malformed and oversized requests, the delegated responder
# certificate, CRL number and AKI, and the blast-radius report.
# Usage: test_validation.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
T=$CK_T

start_coordinator
URL=http://127.0.0.1:$CK_HTTP
awk '/BEGIN CERT/{n++} n==1' "$T/chain.pem" >"$T/issuer.pem"

# two certificates with one key (shared SPKI) and one with its own
csr v1.test "$T/k1.key" "$T/v1.csr"
openssl req -new -key "$T/k1.key" -subj "/CN=v2.test" -addext "subjectAltName=DNS:v2.test" \
  -out "$T/v2.csr" 2>/dev/null || fail "csr v2"
for n in v1 v2; do
  "$CK_CLI" cert issue --profile tls-server --csr "$T/$n.csr" --out "$T/$n.chain" >/dev/null \
    || fail "issue $n"
  openssl x509 -in "$T/$n.chain" -out "$T/$n.pem" || fail "leaf $n"
done
ok "issued two certificates sharing one key"

# --- URLs in the certificate ---------------------------------------------
[ "$(openssl x509 -in "$T/v1.pem" -noout -ocsp_uri)" = "$URL/ocsp" ] || fail "OCSP URL: $(openssl x509 -in "$T/v1.pem" -noout -ocsp_uri)"
openssl x509 -in "$T/v1.pem" -noout -text | grep -q "URI:$URL/crl/issuing.crl" || fail "no CDP"
openssl x509 -in "$T/v1.pem" -noout -text | grep -A3 "Freshest CRL" | grep -q "URI:$URL/crl/issuing-delta.crl" \
  || fail "no freshest CRL"
ok "AIA OCSP, CDP and freshest-CRL URLs from the public URL"

ocsp() {
  openssl ocsp -issuer "$T/issuer.pem" -url "$URL/ocsp" -CAfile "$T/root.pem" \
    -verify_other "$T/chain.pem" "$@" 2>&1
}

# --- good, nonce, delegated responder --------------------------------------
out=$(ocsp -cert "$T/v1.pem" -resp_text)
echo "$out" | grep -q "v1.pem: good" || fail "not good: $out"
echo "$out" | grep -q "Response verify OK" || fail "does not verify: $out"
echo "$out" | grep -qi "WARNING.*nonce" && fail "nonce not echoed: $out"
echo "$out" | grep -q "OCSP Signing" || fail "responder certificate lacks OCSPSigning: $out"
echo "$out" | grep -q "OCSP No Check" || fail "responder certificate lacks ocsp-nocheck: $out"
echo "$out" | grep -q "Responder Id: O = certkeeper, CN = issuing OCSP responder" \
  || fail "responder id: $out"
ok "OCSP good over POST, nonce echoed, delegated responder (OCSPSigning, nocheck)"

# --- RFC 5019 GET, caching headers, ETag --------------------------------------
ocsp -cert "$T/v1.pem" -no_nonce -reqout "$T/req.der" >/dev/null
b64=$(base64 -w0 "$T/req.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
curl -s -D "$T/h1" -o "$T/r1.der" "$URL/ocsp/$b64" || fail "GET"
grep -qi "^content-type: application/ocsp-response" "$T/h1" || fail "GET type: $(cat "$T/h1")"
grep -qi "^cache-control: max-age=[0-9]*, public, no-transform, must-revalidate" "$T/h1" \
  || fail "Cache-Control: $(cat "$T/h1")"
grep -qi "^last-modified: " "$T/h1" || fail "no Last-Modified"
grep -qi "^expires: " "$T/h1" || fail "no Expires"
etag=$(grep -i "^etag:" "$T/h1" | cut -d' ' -f2 | tr -d '\r')
[ -n "$etag" ] || fail "no ETag"
openssl ocsp -respin "$T/r1.der" -issuer "$T/issuer.pem" -cert "$T/v1.pem" -CAfile "$T/root.pem" \
  -verify_other "$T/chain.pem" 2>&1 | grep -q "v1.pem: good" || fail "GET answer not good"
curl -s -o "$T/r2.der" "$URL/ocsp/$b64"
cmp -s "$T/r1.der" "$T/r2.der" || fail "second GET was not the cached (pre-signed) answer"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$URL/ocsp/$b64")
[ "$code" = 304 ] || fail "If-None-Match: $code"
# unpadded URL-safe base64 (some clients) is accepted too
b64u=$(base64 -w0 "$T/req.der" | tr '+/' '-_' | tr -d '=')
curl -s -o "$T/r3.der" "$URL/ocsp/$b64u"
cmp -s "$T/r1.der" "$T/r3.der" || fail "URL-safe base64 GET"
ok "OCSP GET: pre-signed, max-age/Last-Modified/Expires/ETag, 304"

# --- unknown serial, unknown issuer, malformed, many, oversized, methods --------
out=$(ocsp -serial 0x0123456789abcdef -no_nonce)
echo "$out" | grep -q "0x0123456789abcdef: unknown" || fail "unknown serial: $out"
out=$(openssl ocsp -issuer "$T/root.pem" -cert "$T/v1.pem" -url "$URL/ocsp" -no_nonce 2>&1)
echo "$out" | grep -q "unauthorized (6)" || fail "unknown issuer: $out"
curl -s -o "$T/bad.der" --data-binary 'not der' -H 'Content-Type: application/ocsp-request' "$URL/ocsp"
[ "$(od -An -tx1 "$T/bad.der" | tr -d ' \n')" = "30030a0101" ] || fail "malformed: $(od -An -tx1 "$T/bad.der")"
out=$(ocsp -cert "$T/v1.pem" -cert "$T/v2.pem" -no_nonce)
echo "$out" | grep -q "malformedrequest (1)" || fail "two certificates in one request: $out"
code=$(curl -s -o "$T/bad2.der" -w '%{http_code}' "$URL/ocsp/%%%")
[ "$(od -An -tx1 "$T/bad2.der" | tr -d ' \n')" = "30030a0101" ] || fail "bad GET encoding ($code)"
head -c 20000 /dev/zero >"$T/big"
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/big" -H 'Content-Type: application/ocsp-request' "$URL/ocsp")
[ "$code" = 413 ] || fail "oversized request: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$URL/ocsp")
[ "$code" = 405 ] || fail "PUT /ocsp: $code"
wait_http "$URL/healthz" || fail "unhealthy after bad input"
ok "unknown -> unknown, other issuer -> unauthorized, malformed/many -> malformedRequest, 413, 405"

# --- CRL -----------------------------------------------------------------------
curl -s -D "$T/ch" -o "$T/crl.der" "$URL/crl/issuing.crl" || fail "CRL download"
grep -qi "^content-type: application/pkix-crl" "$T/ch" || fail "CRL type: $(cat "$T/ch")"
grep -qi "^cache-control: max-age=" "$T/ch" || fail "CRL Cache-Control"
openssl crl -inform DER -in "$T/crl.der" -out "$T/crl.pem" || fail "CRL parse"
openssl crl -in "$T/crl.pem" -noout -text >"$T/crl.txt"
grep -q "X509v3 CRL Number" "$T/crl.txt" || fail "no CRL number"
n1=$(grep -A1 "CRL Number" "$T/crl.txt" | tail -1 | tr -d ' ')
grep -q "X509v3 Authority Key Identifier" "$T/crl.txt" || fail "no AKI"
openssl crl -in "$T/crl.pem" -CAfile "$T/chain.pem" -noout 2>&1 | grep -q "verify OK" || fail "CRL signature"
openssl verify -crl_check -CAfile "$T/root.pem" -untrusted "$T/chain.pem" -CRLfile "$T/crl.pem" \
  "$T/v1.pem" >/dev/null 2>&1 || fail "verify -crl_check rejects a good certificate"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/crl/nope.crl")" = 404 ] || fail "unknown CRL not 404"
ok "CRL: pkix-crl, number $n1, AKI, signed, accepted by verify -crl_check"

# delta CRL on top of it, and the root's CRL for the whole chain
get_crl() { curl -sf "$URL/crl/$1" -o "$T/$2.der" && openssl crl -inform DER -in "$T/$2.der" -out "$T/$2.pem" \
  || fail "CRL $1"; }
get_crl issuing-delta.crl delta
get_crl root.crl rootcrl
openssl crl -in "$T/delta.pem" -noout -text | grep -q "Delta CRL Indicator: critical" || fail "delta indicator"
cat "$T/crl.pem" "$T/delta.pem" "$T/rootcrl.pem" >"$T/crls.pem"
openssl verify -crl_check_all -use_deltas -CAfile "$T/root.pem" -untrusted "$T/chain.pem" \
  -CRLfile "$T/crls.pem" "$T/v1.pem" >"$T/vd.txt" 2>&1 || fail "verify -crl_check_all with delta: $(cat "$T/vd.txt")"
ok "delta CRL and root CRL: verify -crl_check_all -use_deltas accepts the good certificate"

# --- blast radius ------------------------------------------------------------------
# Installs as agents would report them (no agent runs here): written straight
# into the store, which the coordinator shares through SQLite's WAL.
s1=$(openssl x509 -in "$T/v1.pem" -noout -serial | cut -d= -f2)
s2=$(openssl x509 -in "$T/v2.pem" -noout -serial | cut -d= -f2)
python3 - "$CK_DATA/certkeeper.db" "$s1" "$s2" <<'PY' || fail "seeding installs"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
now = int(time.time())
for aid, name in (("agent-a", "web-a"), ("agent-b", "web-b")):
    db.execute("INSERT INTO agents (agent_id, name, grp, enrolled_at) VALUES (?,?,?,?)",
               (aid, name, "web", now))
rows = [(sys.argv[2], "agent-a", "/etc/nginx/v1.pem", "nginx", "10.0.0.5:443"),
        (sys.argv[3], "agent-b", "/etc/haproxy/v2.pem", "haproxy", "10.0.0.6:443")]
for serial, aid, path, svc, ep in rows:
    cid = db.execute("SELECT id FROM certs WHERE serial = ?", (serial.lower(),)).fetchone()[0]
    db.execute("INSERT INTO installs (cert_id, agent_id, path, service, endpoint, first_seen,"
               " last_seen) VALUES (?,?,?,?,?,?,?)", (cid, aid, path, svc, ep, now, now))
db.commit()
PY
"$CK_CLI" cert blast-radius "$s1" --json >"$T/br.json" || fail "blast-radius"
python3 - "$T/br.json" <<'PY' || fail "blast radius: $(cat "$T/br.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["summary"] == {"certificates": 2, "installs": 2, "hosts": 2, "services": 2,
                        "endpoints": 2}, d["summary"]
assert sum(1 for c in d["certificates"] if c["same_certificate"]) == 1
assert {c["subject"] for c in d["certificates"]} == {"CN=v1.test", "CN=v2.test"}
ins = {i["path"]: i for c in d["certificates"] for i in c["installs"]}
assert ins["/etc/nginx/v1.pem"]["host"] == "web-a" and ins["/etc/nginx/v1.pem"]["service"] == "nginx"
assert ins["/etc/haproxy/v2.pem"]["endpoint"] == "10.0.0.6:443"
assert sorted(d["hosts"]) == ["agent-a", "agent-b"]
PY
"$CK_CLI" cert blast-radius "$s1" >"$T/br.txt" || fail "blast-radius text"
grep -q "2 certificate(s) with this key, 2 install(s) on 2 host(s)" "$T/br.txt" || fail "text: $(cat "$T/br.txt")"
grep -q "host web-a  path /etc/nginx/v1.pem  service nginx  endpoint 10.0.0.5:443" "$T/br.txt" \
  || fail "text: $(cat "$T/br.txt")"
ok "blast radius: both certificates with the key, their hosts, paths, services, endpoints"

# --- revoke: OCSP revoked with reason at once, CRL lists it -------------------------
"$CK_CLI" cert revoke "$s1" --reason superseded --force --json >"$T/rev.json" || fail "revoke"
python3 - "$T/rev.json" <<'PY' || fail "replacement: $(cat "$T/rev.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "revoked"
r = d["replacement"]
assert r["queued"] == 1, r          # only v1's holder: superseded is not a key problem
assert r["commands"][0]["agent"] == "agent-a" and r["commands"][0]["target"] == "/etc/nginx/v1.pem"
PY
ocsp -cert "$T/v1.pem" >"$T/rev.txt"
grep -q "v1.pem: revoked" "$T/rev.txt" || fail "OCSP not revoked right after revoke: $(cat "$T/rev.txt")"
grep -q "Reason: superseded" "$T/rev.txt" || fail "reason: $(cat "$T/rev.txt")"
grep -q "Revocation Time" "$T/rev.txt" || fail "time: $(cat "$T/rev.txt")"
curl -s -o "$T/r4.der" "$URL/ocsp/$b64"
openssl ocsp -respin "$T/r4.der" -issuer "$T/issuer.pem" -cert "$T/v1.pem" -CAfile "$T/root.pem" \
  -verify_other "$T/chain.pem" 2>&1 | grep -q "v1.pem: revoked" || fail "cached GET answer still good"
ocsp -cert "$T/v2.pem" | grep -q "v2.pem: good" || fail "the other certificate with the key changed"
ok "OCSP revoked with reason and time immediately (cache dropped), sibling still good"
i=0
while :; do
  curl -s -o "$T/crl2.der" "$URL/crl/issuing.crl"
  openssl crl -inform DER -in "$T/crl2.der" -out "$T/crl2.pem" 2>/dev/null
  openssl crl -in "$T/crl2.pem" -noout -text 2>/dev/null | grep -q "$s1" && break
  i=$((i + 1)); [ $i -lt 100 ] || fail "CRL never listed the revoked serial"
  sleep 0.1
done
openssl crl -in "$T/crl2.pem" -noout -text >"$T/crl2.txt"
grep -A5 "$s1" "$T/crl2.txt" | grep -q "Superseded" || fail "CRL reason: $(cat "$T/crl2.txt")"
n2=$(grep -A1 "CRL Number" "$T/crl2.txt" | tail -1 | tr -d ' ')
[ "$n1" != "$n2" ] || fail "CRL number did not change ($n1)"
if openssl verify -crl_check -CAfile "$T/root.pem" -untrusted "$T/chain.pem" -CRLfile "$T/crl2.pem" \
  "$T/v1.pem" >/dev/null 2>&1; then fail "verify -crl_check accepts the revoked certificate"; fi
openssl verify -crl_check -CAfile "$T/root.pem" -untrusted "$T/chain.pem" -CRLfile "$T/crl2.pem" \
  "$T/v2.pem" >/dev/null 2>&1 || fail "verify -crl_check rejects the good sibling"
ok "CRL regenerated on revocation: lists serial with reason, number $n1 -> $n2, verify rejects it"
# the delta sits on the current full CRL (rebuilt at the revocation)
get_crl issuing-delta.crl delta2
openssl crl -in "$T/delta2.pem" -noout -text | grep -q "Delta CRL Indicator" || fail "delta after revoke"
cat "$T/crl2.pem" "$T/delta2.pem" "$T/rootcrl.pem" >"$T/crls2.pem"
if openssl verify -crl_check_all -use_deltas -CAfile "$T/root.pem" -untrusted "$T/chain.pem" \
  -CRLfile "$T/crls2.pem" "$T/v1.pem" >/dev/null 2>&1; then
  fail "full + delta CRL still accept the revoked certificate"
fi
ok "full + delta CRLs (-crl_check_all -use_deltas) reject the revoked certificate"

i=0
until grep -q 'revoke.replace.unsent agent=agent-a target=/etc/nginx/v1.pem err=CK_ERR_NOT_FOUND' "$T/coord.log"; do
  i=$((i + 1)); [ $i -lt 100 ] || fail "no outcome logged for the replacement command"
  sleep 0.1
done
ok "revoke posts replace-before-revoke to the holder (agent offline: logged as unsent)"
"$CK_CLI" cert revoke "$s1" --reason superseded --force >/dev/null 2>&1
[ $? = 7 ] || fail "second revoke should exit 7 (conflict)"
"$CK_CLI" cert revoke "$s1" --reason bogus --force >/dev/null 2>&1 && fail "bogus reason accepted"
"$CK_CLI" audit verify >/dev/null || fail "audit chain"
ok "revoke refusals (already revoked, bad reason); audit chain intact"

kill "$CK_COORD_PID"
wait "$CK_COORD_PID" || fail "coordinator exit status"
CK_PIDS=""
ok "clean shutdown"

# --- crl_rebuild_on_revoke = false: the delta alone publishes revocations ---
printf '[validation]\ncrl_rebuild_on_revoke = false\n' >>"$CK_DATA/coordinator.conf"
"$CK_COORD" run --data-dir "$CK_DATA" --listen-http 127.0.0.1:$CK_HTTP \
  --listen-https 127.0.0.1:$CK_HTTPS --listen-gateway 127.0.0.1:$CK_GW >>"$T/coord.log" 2>&1 &
CK_COORD_PID=$!
CK_PIDS=$CK_COORD_PID
wait_http "$URL/healthz" || fail "restart"
get_crl issuing.crl full3
n3=$(openssl crl -in "$T/full3.pem" -noout -text | grep -A1 "CRL Number" | tail -1 | tr -d ' ')
s2=$(openssl x509 -in "$T/v2.pem" -noout -serial | cut -d= -f2)
"$CK_CLI" cert revoke "$s2" --reason keyCompromise --force --json >"$T/rev2.json" || fail "revoke v2"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["replacement"]; assert r["queued"] == 2, r' \
  "$T/rev2.json" || fail "keyCompromise: every holder of the key: $(cat "$T/rev2.json")"
i=0
while :; do
  get_crl issuing-delta.crl delta3
  openssl crl -in "$T/delta3.pem" -noout -text | grep -q "$s2" && break
  i=$((i + 1)); [ $i -lt 100 ] || fail "delta never listed the serial"
  sleep 0.1
done
get_crl issuing.crl full4
n4=$(openssl crl -in "$T/full4.pem" -noout -text | grep -A1 "CRL Number" | tail -1 | tr -d ' ')
[ "$n3" = "$n4" ] || fail "full CRL rebuilt ($n3 -> $n4) although crl_rebuild_on_revoke = false"
openssl crl -in "$T/full4.pem" -noout -text | grep -q "$s2" && fail "full CRL lists v2"
cat "$T/full4.pem" "$T/delta3.pem" "$T/rootcrl.pem" >"$T/crls3.pem"
if openssl verify -crl_check_all -use_deltas -CAfile "$T/root.pem" -untrusted "$T/chain.pem" \
  -CRLfile "$T/crls3.pem" "$T/v2.pem" >/dev/null 2>&1; then
  fail "full + delta accept v2 after its revocation"
fi
ocsp -cert "$T/v2.pem" | grep -q "v2.pem: revoked" || fail "OCSP after restart"
ok "crl_rebuild_on_revoke = false: full CRL kept, the delta lists the revocation, verify rejects"
csr v3.test "$T/k3.key" "$T/v3.csr"
"$CK_CLI" cert issue --profile tls-server --csr "$T/v3.csr" --out "$T/v3.chain" >/dev/null || fail "issue v3"
s3=$(openssl x509 -in "$T/v3.chain" -noout -serial | cut -d= -f2)
"$CK_CLI" cert revoke "$s3" --reason keyCompromise --force --no-replace >"$T/rev3.txt" || fail "revoke v3"
grep -q "^revoked " "$T/rev3.txt" || fail "revoke text: $(cat "$T/rev3.txt")"
grep -q "replace-before-revoke" "$T/rev3.txt" && fail "--no-replace still replaced: $(cat "$T/rev3.txt")"
ok "--no-replace revokes without replacement commands"

# --- replace-then-revoke plans --------------------------------------------------
db() { python3 - "$CK_DATA/certkeeper.db" "$@" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
op, serial, agent = sys.argv[2], sys.argv[3].lower(), sys.argv[4]
cid = db.execute("SELECT id FROM certs WHERE serial = ?", (serial,)).fetchone()[0]
if op == "add":
    now = int(time.time())
    db.execute("INSERT INTO installs (cert_id, agent_id, path, service, endpoint, first_seen,"
               " last_seen) VALUES (?,?,?,?,?,?,?)", (cid, agent, sys.argv[5], "nginx", "", now, now))
else:  # what an agent's inventory does once it installed the successor
    db.execute("DELETE FROM installs WHERE cert_id = ? AND agent_id = ?", (cid, agent))
db.commit()
PY
}
issue_leaf() {
  csr "$1.test" "$T/$1.key" "$T/$1.csr"
  "$CK_CLI" cert issue --profile tls-server --csr "$T/$1.csr" --out "$T/$1.pem" >/dev/null || fail "issue $1"
  openssl x509 -in "$T/$1.pem" -noout -serial | cut -d= -f2
}
plan_field() { "$CK_CLI" cert plans "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$2"; }
wait_plan() {  # wait_plan ID STATE
  i=0
  until [ "$(plan_field "$1" state)" = "$2" ]; do
    i=$((i + 1)); [ $i -lt 150 ] || fail "plan $1 never reached $2: $("$CK_CLI" cert plans "$1")"
    sleep 0.1
  done
}
ocsp_of() { ocsp -cert "$T/$1.pem" -no_nonce | grep "$1.pem:"; }

s4=$(issue_leaf v4)
db add "$s4" agent-a /etc/nginx/v4.pem
db add "$s4" agent-b /etc/haproxy/v4.pem
"$CK_CLI" cert revoke "$s4" --reason superseded --replace-first --deadline 1h >"$T/plan.txt" \
  || fail "plan: $(cat "$T/plan.txt")"
grep -q "^revocation plan [0-9]*: waiting for 2 holder(s)" "$T/plan.txt" || fail "plan text: $(cat "$T/plan.txt")"
P4=$(sed -n 's/^revocation plan \([0-9]*\):.*/\1/p' "$T/plan.txt")
[ "$(plan_field "$P4" state)" = waiting ] || fail "plan state"
ocsp_of v4 | grep -q ": good" || fail "revoked before the holders replaced it"
db del "$s4" agent-a
i=0
until [ "$(plan_field "$P4" pending)" = 1 ]; do
  i=$((i + 1)); [ $i -lt 150 ] || fail "agent-a's replacement not noticed"; sleep 0.1
done
ocsp_of v4 | grep -q ": good" || fail "revoked with a holder left"
db del "$s4" agent-b
wait_plan "$P4" revoked
ocsp_of v4 | grep -q ": revoked" || fail "plan done but OCSP not revoked"
"$CK_CLI" cert plans "$P4" | grep -q "agent-b /etc/haproxy/v4.pem: replaced" || fail "plans text"
ok "replace-then-revoke: waits for each holder, then revokes (OCSP good until then)"

s5=$(issue_leaf v5)
db add "$s5" agent-a /etc/nginx/v5.pem
"$CK_CLI" cert revoke "$s5" --reason superseded --replace-first --deadline 1s --force >"$T/plan5.txt" \
  || fail "plan 5"
P5=$(sed -n 's/^revocation plan \([0-9]*\):.*/\1/p' "$T/plan5.txt")
wait_plan "$P5" forced
ocsp_of v5 | grep -q ": revoked" || fail "forced plan not revoked"
s6=$(issue_leaf v6)
db add "$s6" agent-a /etc/nginx/v6.pem
"$CK_CLI" cert revoke "$s6" --reason superseded --replace-first --deadline 1s >"$T/plan6.txt" || fail "plan 6"
P6=$(sed -n 's/^revocation plan \([0-9]*\):.*/\1/p' "$T/plan6.txt")
wait_plan "$P6" expired
ocsp_of v6 | grep -q ": good" || fail "expired plan revoked anyway"
"$CK_CLI" cert revoke "$s6" --reason superseded --replace-first >/dev/null 2>&1 || fail "re-plan after expiry"
"$CK_CLI" cert revoke "$s6" --reason superseded --replace-first >/dev/null 2>&1
[ $? = 7 ] || fail "second waiting plan for one certificate not a conflict"
s7=$(issue_leaf v7)
"$CK_CLI" cert revoke "$s7" --reason superseded --replace-first >"$T/p7.txt" 2>&1
[ $? = 7 ] && grep -q "nothing to replace" "$T/p7.txt" || fail "plan without holders: $(cat "$T/p7.txt")"
"$CK_CLI" audit verify >/dev/null || fail "audit chain"
curl -s --cacert "$T/root.pem" -H "Authorization: Bearer $CERTKEEPER_TOKEN" \
  "https://127.0.0.1:$CK_HTTPS/api/v1/audit?limit=1000" >"$T/audit.json"
for a in cert.revoke.planned cert.revoke.expired '"mode":"forced"' '"mode":"replaced"'; do
  grep -q "$a" "$T/audit.json" || fail "audit lacks $a"
done
ok "deadline: --force revokes, without it the plan expires (not revoked); conflicts and refusals; audited"
kill "$CK_COORD_PID"
wait "$CK_COORD_PID" || fail "coordinator exit status (2)"
CK_PIDS=""
