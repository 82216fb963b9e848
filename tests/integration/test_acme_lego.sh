#!/bin/sh
# test_acme_lego.sh — lego (Debian package) against the coordinator's ACME
# server on loopback: register with EAB, obtain with http-01 (two names),
# renew (a new certificate), revoke (the coordinator shows it revoked), then
# obtain with dns-01 (TXT records on pebble-challtestsrv through lego's exec
# provider) and with tls-alpn-01 (lego's own acme-tls/1 server).
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/lib_acme.sh"
acme_need lego
TLS=$(free_port)
acme_start "$TLS"
acme_eab team-lego
ok "coordinator, challenge DNS and EAB credentials ready"

export LEGO_CA_CERTIFICATES=$CK_ROOT
L="lego --server $ACME_DIR --path $CK_T/lego --email ops@app1.test --accept-tos --eab --kid $KID --hmac $HMAC --key-type ec256"

# http-01: lego listens on the port the validator was pointed at
$L --domains app1.test --domains www.app1.test --http --http.port 127.0.0.1:$ACME_H01 run \
  >"$CK_T/lego-run.log" 2>&1 || { tail -20 "$CK_T/lego-run.log"; fail "lego http-01 issuance"; }
crt=$CK_T/lego/certificates/app1.test.crt
acme_verify "$crt" || fail "lego's certificate does not chain to the coordinator's root"
openssl x509 -in "$crt" -noout -ext subjectAltName | grep -q 'DNS:www.app1.test' || fail "SAN missing"
s1=$(acme_serial "$crt")
st=$(acme_status "$s1")
[ -n "$st" ] && [ "$st" != "revoked" ] || fail "certificate $s1 not in the coordinator's inventory ('$st')"
ok "lego registered with EAB and obtained app1.test via http-01 (serial $s1)"

$L --domains app1.test --domains www.app1.test --http --http.port 127.0.0.1:$ACME_H01 \
  renew --days 100000 --no-random-sleep >"$CK_T/lego-renew.log" 2>&1 \
  || { tail -20 "$CK_T/lego-renew.log"; fail "lego renew"; }
s2=$(acme_serial "$crt")
[ "$s1" != "$s2" ] || fail "lego renew did not produce a new certificate"
acme_verify "$crt" || fail "renewed certificate does not verify"
ok "lego renewed (serial $s2)"

$L --domains app1.test revoke >"$CK_T/lego-revoke.log" 2>&1 \
  || { tail -20 "$CK_T/lego-revoke.log"; fail "lego revoke"; }
[ "$(acme_status "$s2")" = "revoked" ] || fail "coordinator does not show $s2 revoked (status '$(acme_status "$s2")')"
ok "lego revoked; the coordinator shows $s2 revoked"

# dns-01 through the challenge test server's management API
hook=$(acme_dns_hook)
EXEC_PATH=$hook EXEC_PROPAGATION_TIMEOUT=10 EXEC_POLLING_INTERVAL=1 \
  $L --domains dns1.test --dns exec --dns.disable-cp run >"$CK_T/lego-dns.log" 2>&1 \
  || { tail -20 "$CK_T/lego-dns.log"; fail "lego dns-01 issuance"; }
acme_verify "$CK_T/lego/certificates/dns1.test.crt" || fail "dns-01 certificate does not verify"
ok "lego obtained dns1.test via dns-01"

# tls-alpn-01: lego serves acme-tls/1 on the port the validator uses
$L --domains alpn1.test --tls --tls.port 127.0.0.1:$TLS run >"$CK_T/lego-tls.log" 2>&1 \
  || { tail -20 "$CK_T/lego-tls.log"; fail "lego tls-alpn-01 issuance"; }
acme_verify "$CK_T/lego/certificates/alpn1.test.crt" || fail "tls-alpn-01 certificate does not verify"
ok "lego obtained alpn1.test via tls-alpn-01"

# a challenge nobody answers fails with an ACME problem, nothing issued
if $L --domains nobody.test --http --http.port 127.0.0.1:$(free_port) run >"$CK_T/lego-bad.log" 2>&1; then
  fail "an unanswerable http-01 challenge was accepted"
fi
grep -q 'urn:ietf:params:acme:error' "$CK_T/lego-bad.log" || { tail -5 "$CK_T/lego-bad.log"; fail "no ACME problem for a failed challenge"; }
[ ! -f "$CK_T/lego/certificates/nobody.test.crt" ] || fail "a certificate was issued for a failed challenge"
ok "failed http-01 challenge refused with an ACME problem"
echo "lego: $CK_CHECKS checks passed"
