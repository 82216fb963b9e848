#!/bin/sh
# test_validation_shards.sh — CRL sharding ([validation] crl_shards = 4,
# docs/validation.md "Sharded CRLs"): each certificate's CDP and freshest
# CRL name its shard (serial mod 4); the shard CRL carries a critical
# issuingDistributionPoint with that URL; openssl verify -crl_check accepts
# a good certificate with the CRL downloaded from its own CDP, refuses the
# CRL of another shard for it (scope mismatch), and rejects the certificate
# once revoked — through the shard's delta CRL alone (-use_deltas) since
# crl_rebuild_on_revoke = false here. The whole-CA CRL is still served.
# Usage: test_validation_shards.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
T=$CK_T

start_coordinator
kill "$CK_COORD_PID"
wait "$CK_COORD_PID" 2>/dev/null
printf '\n[validation]\ncrl_shards = 4\ncrl_rebuild_on_revoke = false\n' >>"$CK_DATA/coordinator.conf"
"$CK_COORD" run --data-dir "$CK_DATA" --listen-http 127.0.0.1:$CK_HTTP \
  --listen-https 127.0.0.1:$CK_HTTPS --listen-gateway 127.0.0.1:$CK_GW \
  >>"$T/coord.log" 2>&1 &
CK_COORD_PID=$!
CK_PIDS="$CK_PIDS $CK_COORD_PID"
wait_http "http://127.0.0.1:$CK_HTTP/healthz" || fail "restart with crl_shards"
URL=http://127.0.0.1:$CK_HTTP
awk '/BEGIN CERT/{n++} n==1' "$T/chain.pem" >"$T/issuer.pem"

shard_of() { python3 -c "import sys; print(int(sys.argv[1], 16) % 4)" "$1"; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
cdp_of() { openssl x509 -in "$1" -noout -text | grep -A4 "CRL Distribution Points" | grep -o 'URI:[^ ]*' | head -1 | cut -c5-; }
fresh_of() { openssl x509 -in "$1" -noout -text | grep -A4 "Freshest CRL" | grep -o 'URI:[^ ]*' | head -1 | cut -c5-; }

# issue until two certificates fall in different shards (bounded)
i=0
while :; do
  i=$((i + 1)); [ $i -le 12 ] || fail "12 certificates, all in one shard"
  csr c$i.test "$T/c$i.key" "$T/c$i.csr"
  "$CK_CLI" cert issue --profile tls-server --csr "$T/c$i.csr" --out "$T/c$i.chain" >/dev/null \
    || fail "issue c$i"
  openssl x509 -in "$T/c$i.chain" -out "$T/c$i.pem" || fail "leaf c$i"
  [ $i -eq 1 ] && continue
  [ "$(shard_of "$(serial_of "$T/c$i.pem")")" != "$(shard_of "$(serial_of "$T/c1.pem")")" ] && break
done
A=$T/c1.pem B=$T/c$i.pem
SA=$(serial_of "$A"); KA=$(shard_of "$SA")
SB=$(serial_of "$B"); KB=$(shard_of "$SB")
[ "$(cdp_of "$A")" = "$URL/crl/issuing-s$KA.crl" ] || fail "CDP of A: $(cdp_of "$A") (shard $KA)"
[ "$(fresh_of "$A")" = "$URL/crl/issuing-s$KA-delta.crl" ] || fail "freshest CRL of A: $(fresh_of "$A")"
[ "$(cdp_of "$B")" = "$URL/crl/issuing-s$KB.crl" ] || fail "CDP of B: $(cdp_of "$B")"
ok "CDP and freshest CRL name the serial's shard (A: s$KA, B: s$KB)"

get() { # URL NAME: DER -> PEM
  curl -sf "$1" -o "$T/$2.der" && openssl crl -inform DER -in "$T/$2.der" -out "$T/$2.pem" \
    || fail "CRL $1"
}
get "$(cdp_of "$A")" ca
openssl crl -in "$T/ca.pem" -noout -text >"$T/ca.txt"
grep -q "X509v3 Issuing Distribution Point: critical" "$T/ca.txt" || fail "no critical IDP: $(cat "$T/ca.txt")"
grep -A3 "Issuing Distribution Point" "$T/ca.txt" | grep -q "URI:$URL/crl/issuing-s$KA.crl" \
  || fail "IDP URI: $(cat "$T/ca.txt")"
openssl crl -in "$T/ca.pem" -CAfile "$T/chain.pem" -noout 2>&1 | grep -q "verify OK" || fail "shard CRL signature"
get "$(cdp_of "$B")" cb
vfy() { # CERT CRLFILE [more args]
  c=$1 f=$2; shift 2
  openssl verify -crl_check -CAfile "$T/root.pem" -untrusted "$T/chain.pem" -CRLfile "$f" "$@" "$c" 2>&1
}
vfy "$A" "$T/ca.pem" | grep -q ": OK" || fail "verify A with its shard CRL: $(vfy "$A" "$T/ca.pem")"
vfy "$B" "$T/cb.pem" | grep -q ": OK" || fail "verify B with its shard CRL"
out=$(vfy "$A" "$T/cb.pem")
echo "$out" | grep -q "different CRL scope" || fail "A accepted with B's shard CRL: $out"
ok "shard CRL: critical issuingDistributionPoint = CDP; verify -crl_check OK; other shard's CRL not in scope"

"$CK_CLI" cert revoke "$SA" --reason keyCompromise --force --no-replace >/dev/null || fail "revoke A"
# the shard delta lists A (bounded poll: the delta is built on the pool)
n=0
while :; do
  get "$(fresh_of "$A")" da
  openssl crl -in "$T/da.pem" -noout -text | grep -q "$SA" && break
  n=$((n + 1)); [ $n -lt 100 ] || fail "shard delta never listed A"
  sleep 0.1
done
openssl crl -in "$T/da.pem" -noout -text >"$T/da.txt"
grep -q "Delta CRL Indicator: critical" "$T/da.txt" || fail "not a delta"
grep -A3 "Issuing Distribution Point" "$T/da.txt" | grep -q "URI:$URL/crl/issuing-s$KA.crl" \
  || fail "delta IDP must be its base's: $(cat "$T/da.txt")"
get "$(fresh_of "$B")" db
openssl crl -in "$T/db.pem" -noout -text | grep -q "$SA" && fail "A's revocation in B's shard delta"
get "$(cdp_of "$A")" ca2
openssl crl -in "$T/ca2.pem" -noout -text | grep -q "$SA" && fail "full shard CRL rebuilt despite crl_rebuild_on_revoke = false"
cat "$T/ca2.pem" "$T/da.pem" >"$T/a-crls.pem"
out=$(vfy "$A" "$T/a-crls.pem" -use_deltas)
echo "$out" | grep -q "certificate revoked" || fail "revoked A accepted with shard full + delta: $out"
vfy "$A" "$T/ca2.pem" | grep -q ": OK" || fail "full shard CRL alone should still (stale) accept A"
cat "$T/cb.pem" "$T/db.pem" >"$T/b-crls.pem"
vfy "$B" "$T/b-crls.pem" -use_deltas | grep -q ": OK" || fail "B rejected after A's revocation"
ok "revocation reaches only A's shard delta (same IDP as its base); verify -use_deltas rejects A, accepts B"

get "$URL/crl/issuing-delta.crl" whole
openssl crl -in "$T/whole.pem" -noout -text | grep -q "$SA" || fail "whole-CA delta lacks A"
openssl crl -in "$T/whole.pem" -noout -text | grep -q "Issuing Distribution Point" && fail "whole-CA CRL has an IDP"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/crl/issuing-s4.crl")" = 404 ] || fail "shard 4 of 4 exists"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/crl/root-s0.crl")" = 404 ] || fail "the root (issues only CAs) is sharded"
ok "the whole-CA CRL pair is still served (no IDP) for certificates issued before sharding"

# analytics count per shard
curl -s --cacert "$T/root.pem" -H "Authorization: Bearer $CERTKEEPER_TOKEN" \
  "https://127.0.0.1:$CK_HTTPS/api/v1/certificates/$SA/validation" >"$T/use.json"
python3 - "$T/use.json" "$KA" <<'PY' || fail "shard analytics: $(cat "$T/use.json")"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["crl_shard"]
assert s["shard"] == int(sys.argv[2]) and s["crl"] == "issuing-s" + sys.argv[2], s
assert s["full"]["fetches"] >= 2 and s["delta"]["fetches"] >= 1, s
PY
ok "validation analytics count downloads per shard"
echo "all $CK_CHECKS checks passed"
