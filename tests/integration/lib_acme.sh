# lib_acme.sh — helpers for the ACME interop tests (sourced after lib.sh):
# Let's Encrypt's pebble-challtestsrv as the DNS server every name resolves
# through (all names -> 127.0.0.1; TXT records set over its management API),
# a coordinator whose validator is pointed at it and at loopback challenge
# ports, and EAB credentials from the CLI.
#   acme_need PROG...         skip (77) unless the programs are installed
#   acme_start [TLSALPN_PORT] challtestsrv + coordinator; sets ACME_DIR (the
#                             directory URL), ACME_DNS, ACME_MGMT, ACME_H01,
#                             CK_ROOT (trust anchor), CK_CHAIN
#   acme_eab OWNER            sets KID and HMAC for a new account of OWNER
#   acme_serial FILE          lower-case hex serial of a PEM certificate
#   acme_status SERIAL        the coordinator's status of that certificate
#   acme_verify FILE          the certificate chains to the coordinator's root
#   acme_set_txt NAME VALUE / acme_clear_txt NAME

acme_need() {
  local p
  for p in "$@"; do
    command -v "$p" >/dev/null 2>&1 || { echo "skipped: $p is not installed"; exit 77; }
  done
}

acme_start() {
  local tls_port=${1:-}
  acme_need pebble-challtestsrv python3 curl openssl
  ACME_DNS=$(free_port); ACME_MGMT=$(free_port); ACME_H01=$(free_port)
  pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
    -dns01 127.0.0.1:$ACME_DNS -management 127.0.0.1:$ACME_MGMT \
    -http01 "" -https01 "" -tlsalpn01 "" >"$CK_T/challtestsrv.log" 2>&1 &
  CK_PIDS="$CK_PIDS $!"
  curl -s --retry 100 --retry-connrefused --retry-delay 0 --retry-max-time 15 \
    -o /dev/null "http://127.0.0.1:$ACME_MGMT/" || fail "pebble-challtestsrv did not start"

  CK_DATA=$CK_T/data
  "$CK_COORD" init --data-dir "$CK_DATA" --admin-token-out "$CK_T/admin.token" \
    >"$CK_T/init.log" 2>&1 || { cat "$CK_T/init.log"; fail "init"; }
  if [ -n "$tls_port" ]; then
    printf '\n[acme]\ntlsalpn01_port = %s\nvalidation_timeout = 5s\n' "$tls_port" \
      >>"$CK_DATA/coordinator.conf"
  fi
  CK_HTTP=$(free_port); CK_HTTPS=$(free_port); CK_GW=$(free_port)
  "$CK_COORD" run --data-dir "$CK_DATA" --listen-http 127.0.0.1:$CK_HTTP \
    --listen-https 127.0.0.1:$CK_HTTPS --listen-gateway 127.0.0.1:$CK_GW \
    --acme-dns-resolver 127.0.0.1:$ACME_DNS --acme-http01-port $ACME_H01 \
    >"$CK_T/coord.log" 2>&1 &
  CK_COORD_PID=$!
  CK_PIDS="$CK_PIDS $CK_COORD_PID"
  wait_http "http://127.0.0.1:$CK_HTTP/healthz" || fail "coordinator not healthy"
  curl -sf "http://127.0.0.1:$CK_HTTP/ca/chain.pem" -o "$CK_T/chain.pem" || fail "chain.pem"
  awk '/BEGIN CERT/{b=""} {b=b $0 "\n"} /END CERT/{last=b} END{printf "%s", last}' \
    "$CK_T/chain.pem" >"$CK_T/root.pem"
  CK_ROOT=$CK_T/root.pem; CK_CHAIN=$CK_T/chain.pem
  export CERTKEEPER_SERVER=https://127.0.0.1:$CK_HTTPS CERTKEEPER_CACERT=$CK_ROOT
  CERTKEEPER_TOKEN=$(cat "$CK_T/admin.token")
  export CERTKEEPER_TOKEN
  ACME_DIR=https://127.0.0.1:$CK_HTTPS/acme/default/directory
  curl -sf --cacert "$CK_ROOT" "$ACME_DIR" -o "$CK_T/dir.json" \
    || fail "no ACME directory at $ACME_DIR"
}

acme_eab() {
  "$CK_CLI" acme eab create --owner "$1" --json >"$CK_T/eab-$1.json" 2>"$CK_T/eab-$1.err" \
    || { cat "$CK_T/eab-$1.err"; fail "acme eab create --owner $1"; }
  KID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kid"])' "$CK_T/eab-$1.json") \
    || fail "eab: no kid"
  HMAC=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hmac"])' "$CK_T/eab-$1.json") \
    || fail "eab: no hmac"
}

acme_serial() {
  openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f' | sed 's/^0*//'
}

acme_status() {
  "$CK_CLI" cert show "$1" --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",""))' 2>/dev/null
}

acme_verify() {
  openssl verify -CAfile "$CK_ROOT" -untrusted "$CK_CHAIN" "$1" >/dev/null 2>&1
}

acme_set_txt() {
  curl -sf -d "{\"host\":\"$1.\",\"value\":\"$2\"}" "http://127.0.0.1:$ACME_MGMT/set-txt" >/dev/null
}

acme_clear_txt() {
  curl -sf -d "{\"host\":\"$1.\"}" "http://127.0.0.1:$ACME_MGMT/clear-txt" >/dev/null
}

# Writes a shell script (the lego exec DNS provider) that sets/clears TXT
# records on the challenge test server; prints its path.
acme_dns_hook() {
  cat >"$CK_T/dns-hook.sh" <<HOOK
#!/bin/sh
# lego exec provider: \$1 = present|cleanup, \$2 = fqdn, \$3 = value
case "\$1" in
  present) curl -s -d "{\"host\":\"\$2\",\"value\":\"\$3\"}" http://127.0.0.1:$ACME_MGMT/set-txt ;;
  cleanup) curl -s -d "{\"host\":\"\$2\"}" http://127.0.0.1:$ACME_MGMT/clear-txt ;;
esac
HOOK
  chmod +x "$CK_T/dns-hook.sh"
  echo "$CK_T/dns-hook.sh"
}
