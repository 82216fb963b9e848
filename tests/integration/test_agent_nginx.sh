#!/bin/sh
# test_agent_nginx.sh — `certkeeper-agent run` against a REAL coordinator
# and a REAL nginx on loopback (Debian's /usr/sbin/nginx with a private
# config, pid and logs in the test directory):
#   phase 1  [cert:web], a 2-day certificate from the coordinator's CA,
#            renew_before 30d (due at once), reload `command:nginx -s reload`:
#            enroll -> discovery reaches the coordinator (the certificate's
#            installs list this agent and path) -> renewal -> install ->
#            reload -> nginx serves the new certificate, which is the one on
#            disk, matches the key (0600), chains to the root and is known to
#            the coordinator; the previous pair is kept as *.ck-prev; SIGTERM
#            stops the agent cleanly.
#   phase 2  the agent restarted with a second managed certificate
#            [cert:bad] (its own nginx server on a second port) whose reload
#            command fails (command:/bin/false): rollback -> the old pair is
#            on disk and still served, the failure is in the coordinator's
#            audit trail (managed.* events from the agent), and [cert:web]
#            (renewed in phase 1, not due) is left alone.
# All waits poll a real condition until a deadline (CK_WAIT, default 90 s).
# Skips (77) without nginx, without the agent binary or its `run` command.
# Usage: test_agent_nginx.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"

. "$(dirname "$0")/lib_agent.sh"
agent_prelude

# --- coordinator, enrollment -----------------------------------------------
start_coordinator
enroll_agent nginx-test-host
ok "enrolled as $AGENT_ID"

# --- nginx: two TLS servers on loopback --------------------------------------
WEB=$T/nginx/web
BAD=$T/nginx/bad
issue web "$WEB" 2
issue bad "$BAD" 2
P1=$(free_port); P2=$(free_port)
N=$T/nginx
mkdir -p "$N/tmp"
cat >"$N/nginx.conf" <<EOF
pid $N/nginx.pid;
error_log $N/error.log;
worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $N/tmp/body;
  proxy_temp_path $N/tmp/proxy;
  fastcgi_temp_path $N/tmp/fastcgi;
  uwsgi_temp_path $N/tmp/uwsgi;
  scgi_temp_path $N/tmp/scgi;
  server {
    listen 127.0.0.1:$P1 ssl;
    server_name web.test;
    ssl_certificate $WEB/fullchain.pem;
    ssl_certificate_key $WEB/key.pem;
    location / { return 200 "web\n"; }
  }
  server {
    listen 127.0.0.1:$P2 ssl;
    server_name bad.test;
    ssl_certificate $BAD/fullchain.pem;
    ssl_certificate_key $BAD/key.pem;
    location / { return 200 "bad\n"; }
  }
}
EOF
"$NGINX" -c "$N/nginx.conf" -e "$N/error.log" </dev/null >"$T/nginx.out" 2>&1 ||
  { cat "$T/nginx.out" "$N/error.log"; fail "nginx did not start"; }
NGINX_PID=$(cat "$N/nginx.pid")
CK_PIDS="$CK_PIDS $NGINX_PID"
OLD_WEB=$(fp_file "$WEB/cert.pem")
OLD_BAD=$(fp_file "$BAD/cert.pem")
web_served_is() { [ "$(fp_served "$P1" web.test)" = "$1" ]; }
bad_served_is() { [ "$(fp_served "$P2" bad.test)" = "$1" ]; }
poll "nginx serving the first certificates" web_served_is "$OLD_WEB"
bad_served_is "$OLD_BAD" || fail "nginx does not serve bad.test's certificate on $P2"
ok "nginx (pid $NGINX_PID) serves the 2-day certificates on 127.0.0.1:$P1 and :$P2"

# --- phase 1: renew, install, reload, verify ------------------------------------
cert_section() { # ID DIR PORT RELOAD
  cat <<EOF

[cert:$1]
profile = tls-server
sans = DNS:$1.test
cert_file = $2/cert.pem
key_file = $2/key.pem
fullchain_file = $2/fullchain.pem
reload = $4
reload_timeout = 20s
verify = 127.0.0.1:$3
verify_sni = $1.test
verify_timeout = 20s
renew_before = 30d
jitter = 0s
EOF
}
{
  cat <<EOF
[agent]
state_dir = $S

[discovery]
roots = $N
probe_endpoints = false
EOF
  cert_section web "$WEB" "$P1" "command:$NGINX -c $N/nginx.conf -s reload"
} >"$T/agent.conf"
start_agent
ok "agent started (pid $AGENT_PID)"

# discovery: the coordinator lists this agent's install of the 2-day certificate
# The 2-day certificate is due at once: the agent may renew it before its
# first scan reaches the coordinator (scans wait while an install is under
# way), so discovery shows the old certificate or, already, the new one.
installed_now() { # PATH: any certificate the agent reports at PATH
  f=$(fp_file "$1") && [ -n "$f" ] &&
    { installed_at "$OLD_WEB" "$1" || installed_at "$f" "$1"; }
}
poll "inventory: $WEB/cert.pem installed on $AGENT_ID" installed_now "$WEB/cert.pem"
ok "discovery reached the coordinator: $WEB/cert.pem listed as installed on $AGENT_ID"

web_renewed() { f=$(fp_served "$P1" web.test); [ -n "$f" ] && [ "$f" != "$OLD_WEB" ]; }
poll "nginx serving a renewed web.test certificate" web_renewed
NEW_WEB=$(fp_served "$P1" web.test)
ok "nginx serves a new certificate after reload: $NEW_WEB"

[ "$(fp_file "$WEB/cert.pem")" = "$NEW_WEB" ] || fail "served $NEW_WEB, cert_file holds $(fp_file "$WEB/cert.pem")"
[ "$(fp_file "$WEB/fullchain.pem")" = "$NEW_WEB" ] || fail "fullchain_file does not start with the new leaf"
[ "$(key_pub "$WEB/key.pem")" = "$(crt_pub "$WEB/cert.pem")" ] || fail "new key and certificate do not match"
[ "$(stat -c %a "$WEB/key.pem")" = 600 ] || fail "key mode $(stat -c %a "$WEB/key.pem")"
[ "$(stat -c %a "$WEB/cert.pem")" = 644 ] || fail "cert mode $(stat -c %a "$WEB/cert.pem")"
openssl verify -CAfile "$T/root.pem" -untrusted "$T/chain.pem" "$WEB/cert.pem" >/dev/null 2>&1 ||
  fail "new certificate does not chain to the coordinator root"
openssl x509 -in "$WEB/cert.pem" -noout -ext subjectAltName | grep -q "DNS:web.test" ||
  fail "new certificate lacks DNS:web.test"
openssl x509 -in "$WEB/cert.pem" -noout -checkend $((20 * 86400)) >/dev/null ||
  fail "new certificate expires within 20 days"
"$CK_CLI" cert show "$NEW_WEB" --json >/dev/null 2>&1 || fail "coordinator does not know $NEW_WEB"
ok "on disk: new leaf (= served), fullchain, key 0600 matching, chains to the root, known to the coordinator"

[ "$(fp_file "$WEB/cert.pem.ck-prev")" = "$OLD_WEB" ] || fail "previous certificate not kept as cert.pem.ck-prev"
[ -f "$WEB/key.pem.ck-prev" ] && [ "$(key_pub "$WEB/key.pem.ck-prev")" = "$(crt_pub "$WEB/cert.pem.ck-prev")" ] ||
  fail "previous key not kept as key.pem.ck-prev"
ok "previous pair kept as *.ck-prev"

poll "inventory: the renewed certificate installed on $AGENT_ID" installed_at "$NEW_WEB" "$WEB/cert.pem"
ok "the coordinator's inventory follows the renewal"

stop_agent
ok "SIGTERM: the agent stopped cleanly"

# --- phase 2: a failing reload command rolls back --------------------------------
cert_section bad "$BAD" "$P2" "command:/bin/false" >>"$T/agent.conf"
cp "$BAD/cert.pem" "$T/bad-old.crt"; cp "$BAD/key.pem" "$T/bad-old.key"
cp "$BAD/fullchain.pem" "$T/bad-old.full"
start_agent
ok "agent restarted with [cert:bad] (reload command:/bin/false)"

# the agent's managed.* audit rows for one managed certificate, one line
# each: ACTION OLD_STATE NEW_STATE REASON
agent_events() {
  "$CK_CLI" audit list --all --json 2>/dev/null | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("items", []):
    if r.get("object_id") == sys.argv[1] and str(r.get("action", "")).startswith("managed."):
        d = r.get("details") or {}
        print(r["action"], d.get("old_state", "-"), d.get("new_state", "-"), d.get("reason", ""))' "$1"
}
# the rollback is over once the coordinator holds a transition out of
# ROLLING_BACK (to MONITORING with the old pair, or FAILED)
rolled_back() {
  agent_events bad >"$T/bad.events"
  grep -q "^managed[.][a-z]* ROLLING_BACK " "$T/bad.events"
}
poll "[cert:bad]: a transition out of ROLLING_BACK reported to the coordinator" rolled_back
grep -q "^managed[.][a-z]* \(RELOADING\|VERIFYING\) \(ROLLING_BACK\|FAILED\)" "$T/bad.events" ||
  fail "no failed reload before the rollback: $(cat "$T/bad.events")"
ok "reload failure and rollback reported to the coordinator: $(grep -m1 "^managed[.][a-z]* RELOADING " "$T/bad.events"); $(grep -m1 "^managed.failure" "$T/bad.events")"

cmp -s "$BAD/cert.pem" "$T/bad-old.crt" && cmp -s "$BAD/key.pem" "$T/bad-old.key" &&
  cmp -s "$BAD/fullchain.pem" "$T/bad-old.full" || fail "[cert:bad]: the old pair is not back on disk"
[ "$(key_pub "$BAD/key.pem")" = "$(crt_pub "$BAD/cert.pem")" ] || fail "bad: key and certificate differ"
bad_served_is "$OLD_BAD" || fail "bad.test: nginx serves $(fp_served "$P2" bad.test), not the old $OLD_BAD"
ok "rollback: the old pair is on disk (byte for byte) and still served on :$P2"

web_served_is "$NEW_WEB" || fail "web.test changed during phase 2"
[ "$(fp_file "$WEB/cert.pem")" = "$NEW_WEB" ] || fail "web's files changed during phase 2"
ok "[cert:web] left alone (not due)"

"$CK_AGENT" status --config "$T/agent.conf" >"$T/status.out" 2>&1 || { cat "$T/status.out"; fail "status"; }
grep -q "web" "$T/status.out" && grep -q "bad" "$T/status.out" || fail "status lacks the managed certificates: $(cat "$T/status.out")"
clean "$T/status.out"
ok "status lists both managed certificates"

stop_agent
ok "SIGTERM: the agent stopped cleanly"
clean "$T/agent.log"
echo "all $CK_CHECKS checks passed"
