#!/bin/sh
# test_acme_uacme.sh — uacme (Debian package) against the coordinator's ACME
# server on loopback: register with EAB (-e KID:KEY), obtain with http-01
# (a hook writes the key authorization into a webroot served by python3's
# http.server on the validator's http-01 port), renew (-f: a new
# certificate), revoke (the coordinator shows it revoked).
# uacme trusts only the system store: the test root is added to
# /usr/local/share/ca-certificates for the run and removed on exit (root
# needed; skipped otherwise).
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/lib_acme.sh"
acme_need uacme update-ca-certificates
[ "$(id -u)" = 0 ] || { echo "skipped: adding the test root to the system store needs root"; exit 77; }
SYS_ROOT=/usr/local/share/ca-certificates/certkeeper-acme-test-$$.crt
uacme_cleanup() {
  if [ -f "$SYS_ROOT" ]; then
    rm -f "$SYS_ROOT"
    update-ca-certificates >/dev/null 2>&1
  fi
  ck_cleanup
}
trap uacme_cleanup EXIT
acme_start
cp "$CK_ROOT" "$SYS_ROOT"
update-ca-certificates >"$CK_T/update-ca.log" 2>&1 || fail "update-ca-certificates"
acme_eab team-uacme
ok "coordinator, challenge DNS, EAB credentials; test root in the system store"

# the http-01 responder and the uacme hook that feeds it
WEB=$CK_T/www
mkdir -p "$WEB/.well-known/acme-challenge"
python3 -m http.server --bind 127.0.0.1 --directory "$WEB" "$ACME_H01" >"$CK_T/web.log" 2>&1 &
CK_PIDS="$CK_PIDS $!"
cat >"$CK_T/hook.sh" <<HOOK
#!/bin/sh
# uacme hook: method type ident token key_auth; accept http-01 only
[ "\$2" = http-01 ] || exit 1
case "\$1" in
  begin) printf '%s' "\$5" >"$WEB/.well-known/acme-challenge/\$4" ;;
  done|failed) rm -f "$WEB/.well-known/acme-challenge/\$4" ;;
esac
HOOK
chmod +x "$CK_T/hook.sh"
curl -s --retry 100 --retry-connrefused --retry-delay 0 --retry-max-time 15 -o /dev/null \
  "http://127.0.0.1:$ACME_H01/" || fail "challenge web server did not start"

U="uacme -v -c $CK_T/uacme -a $ACME_DIR -y"
$U -e "$KID:$HMAC" new ops@app1.test >"$CK_T/uacme-new.log" 2>&1 \
  || { tail -20 "$CK_T/uacme-new.log"; fail "uacme new with EAB"; }
ok "uacme registered with EAB"

$U -h "$CK_T/hook.sh" -t EC issue u.app1.test www.u.app1.test >"$CK_T/uacme-issue.log" 2>&1 \
  || { tail -20 "$CK_T/uacme-issue.log"; fail "uacme http-01 issuance"; }
crt=$CK_T/uacme/u.app1.test/cert.pem
acme_verify "$crt" || fail "uacme's certificate does not chain to the coordinator's root"
s1=$(acme_serial "$crt")
ok "uacme obtained u.app1.test via http-01 (serial $s1)"

$U -h "$CK_T/hook.sh" -t EC -f issue u.app1.test www.u.app1.test >"$CK_T/uacme-renew.log" 2>&1 \
  || { tail -20 "$CK_T/uacme-renew.log"; fail "uacme renew (-f issue)"; }
s2=$(acme_serial "$crt")
[ "$s1" != "$s2" ] || fail "uacme renew did not produce a new certificate"
ok "uacme renewed (serial $s2)"

$U revoke "$crt" >"$CK_T/uacme-revoke.log" 2>&1 \
  || { tail -20 "$CK_T/uacme-revoke.log"; fail "uacme revoke"; }
[ "$(acme_status "$s2")" = "revoked" ] || fail "coordinator does not show $s2 revoked (status '$(acme_status "$s2")')"
ok "uacme revoked; the coordinator shows $s2 revoked"
echo "uacme: $CK_CHECKS checks passed"
