#!/bin/sh
# test_validation_analytics.sh — validation analytics (docs/validation.md
# "Analytics"): OCSP fetches per certificate (POST and GET), CRL downloads
# per CA, first/last seen, client networks as /24, over REST
# (certificates/{id}/validation, validation/stats) and the CLI
# (`certkeeper cert validation`); the LRU cap ([validation] analytics_certs)
# after a restart, which also shows counters are in memory only.
# Usage: test_validation_analytics.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
T=$CK_T

start_coordinator
URL=http://127.0.0.1:$CK_HTTP
awk '/BEGIN CERT/{n++} n==1' "$T/chain.pem" >"$T/issuer.pem"
api() {
  curl -s --cacert "$T/root.pem" -H "Authorization: Bearer $CERTKEEPER_TOKEN" \
    "https://127.0.0.1:$CK_HTTPS/api/v1/$1"
}
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

for n in a1 a2; do
  csr $n.test "$T/$n.key" "$T/$n.csr"
  "$CK_CLI" cert issue --profile tls-server --csr "$T/$n.csr" --out "$T/$n.chain" >/dev/null \
    || fail "issue $n"
  openssl x509 -in "$T/$n.chain" -out "$T/$n.pem" || fail "leaf $n"
done
S1=$(openssl x509 -in "$T/a1.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
S2=$(openssl x509 -in "$T/a2.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')

# never asked: zeros
out=$(api "certificates/$S1/validation")
[ "$(echo "$out" | jget 'd["ocsp"]["fetches"]')" = 0 ] || fail "fresh certificate: $out"
[ "$(echo "$out" | jget 'd["ocsp"]["first_seen"]')" = None ] || fail "first_seen of fresh: $out"
ok "a certificate nobody asked about has zero fetches"

ocsp() {
  openssl ocsp -issuer "$T/issuer.pem" -url "$URL/ocsp" -CAfile "$T/root.pem" \
    -verify_other "$T/chain.pem" "$@" 2>&1
}
# a1: two POSTs (one with a nonce: signed fresh), one GET served from cache
ocsp -cert "$T/a1.pem" | grep -q "a1.pem: good" || fail "ocsp a1"
ocsp -cert "$T/a1.pem" -no_nonce -reqout "$T/req.der" | grep -q "a1.pem: good" || fail "ocsp a1 2"
b64=$(base64 -w0 "$T/req.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
curl -sf -o /dev/null "$URL/ocsp/$b64" || fail "GET"
# a2: once
ocsp -cert "$T/a2.pem" -no_nonce | grep -q "a2.pem: good" || fail "ocsp a2"
# CRLs: full twice, delta once
curl -sf -o /dev/null "$URL/crl/issuing.crl" && curl -sf -o /dev/null "$URL/crl/issuing.crl" \
  && curl -sf -o /dev/null "$URL/crl/issuing-delta.crl" || fail "CRL download"

out=$(api "certificates/$S1/validation")
[ "$(echo "$out" | jget 'd["ocsp"]["fetches"]')" = 3 ] || fail "a1 fetches: $out"
[ "$(echo "$out" | jget 'd["ocsp"]["networks"][0]["network"]')" = 127.0.0.0/24 ] \
  || fail "a1 network: $out"
[ "$(echo "$out" | jget 'd["ocsp"]["networks"][0]["fetches"]')" = 3 ] || fail "a1 net count: $out"
[ "$(echo "$out" | jget 'd["ocsp"]["first_seen"] is not None and d["ocsp"]["last_seen"] >= d["ocsp"]["first_seen"]')" = True ] \
  || fail "a1 first/last seen: $out"
[ "$(echo "$out" | jget 'd["crl"]["full"]["fetches"]')" = 2 ] || fail "CRL downloads: $out"
[ "$(echo "$out" | jget 'd["crl"]["delta"]["fetches"]')" = 1 ] || fail "delta downloads: $out"
[ "$(echo "$out" | jget 'd["crl"]["ca"]')" = issuing ] || fail "CRL CA: $out"
ok "per certificate: OCSP POST+GET counted (3), /24 network, first/last seen, CRL per CA"

out=$("$CK_CLI" cert validation "$S1") || fail "cli: $out"
echo "$out" | grep -q "OCSP (this certificate) 3 fetch(es)" || fail "cli OCSP line: $out"
echo "$out" | grep -q "127.0.0.0/24 *3" || fail "cli network line: $out"
echo "$out" | grep -q "CRL (whole CA) 2 fetch(es)" || fail "cli CRL line: $out"
"$CK_CLI" --json cert validation "$S2" | jget 'd["ocsp"]["fetches"]' | grep -qx 1 \
  || fail "cli --json"
"$CK_CLI" cert validation 0badbad >/dev/null 2>&1 && fail "cli: unknown certificate accepted"
ok "certkeeper cert validation (text, --json, unknown certificate fails)"

out=$(api "validation/stats?limit=5")
[ "$(echo "$out" | jget 'd["most_fetched"][0]["serial"]')" = "$S1" ] || fail "most fetched: $out"
[ "$(echo "$out" | jget 'd["least_fetched"][0]["serial"]')" = "$S2" ] || fail "least fetched: $out"
[ "$(echo "$out" | jget 'd["tracked"]')" = 2 ] || fail "tracked: $out"
[ "$(echo "$out" | jget '[x for x in d["crls"] if x["ca"] == "issuing"][0]["full"]["fetches"]')" -ge 2 ] || fail "crls: $out"
out=$(api "validation/stats?limit=0")
echo "$out" | grep -q "limit must be" || fail "bad limit: $out"
out=$(api "validation/nope")
echo "$out" | grep -q "not-found" || fail "unknown resource: $out"
ok "GET validation/stats: most and least fetched, tracked, CRLs; bad limit refused"

# --- restart with a cap of 2 certificates: in memory only, LRU --------------
kill "$CK_COORD_PID"
wait "$CK_COORD_PID" 2>/dev/null
printf '\n[validation]\nanalytics_certs = 2\n' >>"$CK_DATA/coordinator.conf"
"$CK_COORD" run --data-dir "$CK_DATA" --listen-http 127.0.0.1:$CK_HTTP \
  --listen-https 127.0.0.1:$CK_HTTPS --listen-gateway 127.0.0.1:$CK_GW \
  >>"$T/coord.log" 2>&1 &
CK_COORD_PID=$!
CK_PIDS="$CK_PIDS $CK_COORD_PID"
wait_http "$URL/healthz" || fail "restart"
[ "$(api "certificates/$S1/validation" | jget 'd["ocsp"]["fetches"]')" = 0 ] \
  || fail "counters survived a restart (documented as in memory)"
ocsp -cert "$T/a1.pem" -no_nonce >/dev/null
ocsp -cert "$T/a2.pem" -no_nonce >/dev/null
ocsp -serial 0x0123456789abcdef -no_nonce | grep -q unknown || fail "unknown serial"
out=$(api "validation/stats")
[ "$(echo "$out" | jget 'd["tracked"]')" = 2 ] || fail "cap: $out"
[ "$(echo "$out" | jget 'd["capacity"]')" = 2 ] || fail "capacity: $out"
[ "$(echo "$out" | jget 'd["evicted"]')" = 1 ] || fail "evicted: $out"
[ "$(api "certificates/$S1/validation" | jget 'd["ocsp"]["fetches"]')" = 0 ] \
  || fail "least recently asked (a1) not dropped"
[ "$(api "certificates/$S2/validation" | jget 'd["ocsp"]["fetches"]')" = 1 ] || fail "a2 dropped"
ok "analytics_certs caps the table; the least recently asked is dropped; reset at restart"
echo "all $CK_CHECKS checks passed"
