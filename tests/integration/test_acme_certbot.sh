#!/bin/sh
# test_acme_certbot.sh — certbot (Debian package) against the coordinator's
# ACME server on loopback: register with EAB, obtain with http-01
# (standalone), renew (--force-renewal: a new certificate), revoke (the
# coordinator shows it revoked).
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/lib_acme.sh"
acme_need certbot
acme_start
acme_eab team-certbot
ok "coordinator, challenge DNS and EAB credentials ready"

export REQUESTS_CA_BUNDLE=$CK_ROOT
C="certbot --non-interactive --server $ACME_DIR --config-dir $CK_T/cb/c --work-dir $CK_T/cb/w --logs-dir $CK_T/cb/l"

$C register --agree-tos -m ops@app1.test --eab-kid "$KID" --eab-hmac-key "$HMAC" \
  >"$CK_T/certbot-reg.log" 2>&1 || { tail -20 "$CK_T/certbot-reg.log"; fail "certbot register with EAB"; }
ok "certbot registered with EAB"

# without EAB the directory refuses a new account
if certbot --non-interactive --server "$ACME_DIR" --config-dir "$CK_T/cb2/c" --work-dir "$CK_T/cb2/w" \
   --logs-dir "$CK_T/cb2/l" register --agree-tos -m x@app1.test >"$CK_T/certbot-noeab.log" 2>&1; then
  fail "an account without EAB was accepted"
fi
grep -qi 'externalAccount\|external account' "$CK_T/certbot-noeab.log" || { tail -5 "$CK_T/certbot-noeab.log"; fail "no EAB problem"; }
ok "registration without EAB refused"

$C certonly --standalone --http-01-address 127.0.0.1 --http-01-port "$ACME_H01" \
  -d cb.app1.test -d www.cb.app1.test --key-type ecdsa >"$CK_T/certbot.log" 2>&1 \
  || { tail -20 "$CK_T/certbot.log"; fail "certbot http-01 issuance"; }
crt=$CK_T/cb/c/live/cb.app1.test/cert.pem
acme_verify "$crt" || fail "certbot's certificate does not chain to the coordinator's root"
s1=$(acme_serial "$crt")
ok "certbot obtained cb.app1.test via http-01 (serial $s1)"

$C renew --cert-name cb.app1.test --force-renewal --no-random-sleep-on-renew >"$CK_T/certbot-renew.log" 2>&1 \
  || { tail -40 "$CK_T/certbot-renew.log"; tail -30 "$CK_T/cb/l/letsencrypt.log"; fail "certbot renew"; }
s2=$(acme_serial "$crt")
[ "$s1" != "$s2" ] || fail "certbot renew did not produce a new certificate"
acme_verify "$crt" || fail "renewed certificate does not verify"
ok "certbot renewed (serial $s2)"

$C revoke --cert-name cb.app1.test --reason superseded --no-delete-after-revoke \
  >"$CK_T/certbot-revoke.log" 2>&1 || { tail -20 "$CK_T/certbot-revoke.log"; fail "certbot revoke"; }
[ "$(acme_status "$s2")" = "revoked" ] || fail "coordinator does not show $s2 revoked (status '$(acme_status "$s2")')"
ok "certbot revoked; the coordinator shows $s2 revoked"
echo "certbot: $CK_CHECKS checks passed"
