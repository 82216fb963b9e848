#!/bin/sh
# test_replace_revoke.sh — replace-then-revoke end to end with a REAL agent,
# a REAL coordinator and a REAL nginx on loopback (docs/validation.md
# "Replace-then-revoke", docs/agent.md "replace-before-revoke"):
#   case 1  [cert:web], a 30-day certificate from the coordinator's CA (not
#           due for renewal) served by nginx: `certkeeper cert revoke SERIAL
#           --reason superseded --replace-first --deadline 5m` -> the agent
#           renews at once, installs, reloads nginx and checks the served
#           certificate -> the plan completes (state revoked) -> nginx serves
#           a NEW certificate (other fingerprint, chains to the root, key
#           0600) -> OCSP: the old one revoked (superseded), the new one good;
#           ordering: the new certificate was served before the old one was
#           revoked — the agent's managed.state event reaching MONITORING
#           with the new fingerprint precedes `cert.revoke` in the audit
#           trail, the plan's holder was marked replaced no later than the
#           revocation, and nginx already served the new certificate at the
#           first moment OCSP answered "revoked".
#   case 2  a certificate the agent only discovered (a file under its roots,
#           not managed): the plan keeps that holder `waiting`, the agent's
#           answer "not a certificate this agent manages" is in the audit
#           trail, OCSP stays good until the (short) deadline, and --force
#           revokes it then (state forced, the holder listed unconfirmed).
# All waits poll a real condition until a deadline (CK_WAIT, default 90 s).
# Skips (77) without nginx, without the agent binary or its `run` command.
# Usage: test_replace_revoke.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"

. "$(dirname "$0")/lib_agent.sh"
agent_prelude

# --- helpers -------------------------------------------------------------
ocsp_status() { # CERT: good | revoked | unknown | (error text)
  openssl ocsp -issuer "$T/issuer.pem" -url "$URL/ocsp" -CAfile "$T/root.pem" \
    -verify_other "$T/chain.pem" -cert "$1" -no_nonce 2>&1 |
    sed -n "s|^$1: \([a-z]*\).*|\1|p"
}
ocsp_is() { [ "$(ocsp_status "$1")" = "$2" ]; }

plan_field() { # ID FIELD
  "$CK_CLI" cert plans "$1" --json 2>/dev/null |
    python3 -c "import json,sys; print(json.load(sys.stdin).get(sys.argv[1]))" "$2"
}
plan_is() { [ "$(plan_field "$1" state)" = "$2" ]; }

audit_json() { "$CK_CLI" audit list --all --json >"$T/audit.json" 2>"$T/audit.err" ||
  fail "audit list: $(cat "$T/audit.err")"; }

# --- coordinator, enrollment -----------------------------------------------
start_coordinator
URL=http://127.0.0.1:$CK_HTTP
awk '/BEGIN CERT/{n++} n==1' "$T/chain.pem" >"$T/issuer.pem"
enroll_agent replace-test-host
ok "enrolled as $AGENT_ID"

# --- nginx serving a 30-day certificate; a discovered-only certificate ---------
N=$T/nginx
WEB=$N/web
OTHER=$N/other
issue web "$WEB" 30
issue other "$OTHER" 30
P1=$(free_port)
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
}
EOF
"$NGINX" -c "$N/nginx.conf" -e "$N/error.log" </dev/null >"$T/nginx.out" 2>&1 ||
  { cat "$T/nginx.out" "$N/error.log"; fail "nginx did not start"; }
NGINX_PID=$(cat "$N/nginx.pid")
CK_PIDS="$CK_PIDS $NGINX_PID"
OLD=$(fp_file "$WEB/cert.pem")
cp "$WEB/cert.pem" "$T/old.pem"
OTHER_FP=$(fp_file "$OTHER/cert.pem")
web_served_is() { [ "$(fp_served "$P1" web.test)" = "$1" ]; }
poll "nginx serving the first certificate" web_served_is "$OLD"
ok "nginx (pid $NGINX_PID) serves the 30-day certificate on 127.0.0.1:$P1"

# --- the agent: [cert:web] managed (not due), discovery over the nginx tree ----
cat >"$T/agent.conf" <<EOF
[agent]
state_dir = $S

[discovery]
roots = $N
probe_endpoints = false

[cert:web]
profile = tls-server
sans = DNS:web.test
cert_file = $WEB/cert.pem
key_file = $WEB/key.pem
fullchain_file = $WEB/fullchain.pem
reload = command:$NGINX -c $N/nginx.conf -s reload
reload_timeout = 20s
verify = 127.0.0.1:$P1
verify_sni = web.test
verify_timeout = 20s
renew_before = 1d
jitter = 0s
EOF
start_agent
ok "agent started (pid $AGENT_PID)"
poll "inventory: $WEB/cert.pem installed on $AGENT_ID" installed_at "$OLD" "$WEB/cert.pem"
poll "inventory: $OTHER/cert.pem installed on $AGENT_ID" installed_at "$OTHER_FP" "$OTHER/cert.pem"
# the managed machine settled on the existing pair (not due: no renewal)
web_monitoring() { grep -q "event=agent.managed.\(restore\|state\) id=web .*\(state\|to\)=MONITORING" "$T/agent.log"; }
poll "[cert:web] MONITORING on the first certificate" web_monitoring
web_served_is "$OLD" || fail "[cert:web] was renewed although not due"
ocsp_is "$T/old.pem" good || fail "OCSP for the served certificate: $(ocsp_status "$T/old.pem")"
ok "inventory lists both certificates on $AGENT_ID; [cert:web] MONITORING, not due; OCSP good"

# --- case 1: replace-then-revoke the served certificate ----------------------------
SERIAL=$(openssl x509 -in "$T/old.pem" -noout -serial | cut -d= -f2)
audit_json
SEQ0=$(python3 -c 'import json,sys; print(max([r["seq"] for r in json.load(open(sys.argv[1])).get("items", [])] or [0]))' "$T/audit.json")
"$CK_CLI" cert revoke "$SERIAL" --reason superseded --replace-first --deadline 5m >"$T/plan1.txt" 2>&1 ||
  fail "revoke --replace-first: $(cat "$T/plan1.txt")"
PLAN1=$(sed -n 's/^revocation plan \([0-9]*\):.*/\1/p' "$T/plan1.txt")
[ -n "$PLAN1" ] || fail "no plan id: $(cat "$T/plan1.txt")"
ok "plan $PLAN1: $(head -n 1 "$T/plan1.txt")"

# Watch until OCSP says revoked; at that first moment, record what nginx
# serves. Before it, the old certificate must be good (never revoked early).
w_deadline=$(($(date +%s) + WAIT))
while :; do
  st=$(ocsp_status "$T/old.pem")
  if [ "$st" = revoked ]; then
    AT_REVOKE=$(fp_served "$P1" web.test)
    break
  fi
  [ "$st" = good ] || fail "OCSP for the old certificate while the plan waits: '$st'"
  kill -0 "$AGENT_PID" 2>/dev/null || { tail -n 40 "$T/agent.log" >&2; fail "the agent exited"; }
  if [ "$(date +%s)" -ge "$w_deadline" ]; then
    "$CK_CLI" cert plans "$PLAN1" >&2
    tail -n 40 "$T/agent.log" >&2
    fail "timed out after ${WAIT}s waiting for the revocation of the old certificate"
  fi
  sleep 0.1
done
[ -n "$AT_REVOKE" ] && [ "$AT_REVOKE" != "$OLD" ] ||
  fail "when OCSP first said revoked nginx served '$AT_REVOKE' (old: $OLD)"
ok "at the first OCSP 'revoked' nginx already served a new certificate ($AT_REVOKE)"

poll "plan $PLAN1 revoked" plan_is "$PLAN1" revoked
"$CK_CLI" cert plans "$PLAN1" >"$T/plan1.show" 2>&1
grep -q "$AGENT_ID $WEB/cert.pem: replaced" "$T/plan1.show" ||
  fail "holder not shown replaced: $(cat "$T/plan1.show")"
ok "plan $PLAN1 completed (revoked), holder $WEB/cert.pem replaced"

NEW=$(fp_served "$P1" web.test)
[ "$NEW" = "$AT_REVOKE" ] || fail "served certificate changed again: $NEW"
[ "$NEW" != "$OLD" ] || fail "nginx still serves the old certificate"
[ "$(fp_file "$WEB/cert.pem")" = "$NEW" ] || fail "served $NEW, cert_file holds $(fp_file "$WEB/cert.pem")"
[ "$(fp_file "$WEB/fullchain.pem")" = "$NEW" ] || fail "fullchain_file does not start with the new leaf"
[ "$(key_pub "$WEB/key.pem")" = "$(crt_pub "$WEB/cert.pem")" ] || fail "new key and certificate do not match"
[ "$(key_pub "$WEB/key.pem")" != "$(crt_pub "$T/old.pem")" ] || fail "the successor reuses the old key"
[ "$(stat -c %a "$WEB/key.pem")" = 600 ] || fail "key mode $(stat -c %a "$WEB/key.pem")"
served_pem "$P1" web.test >"$T/new.pem"
openssl verify -CAfile "$T/root.pem" -untrusted "$T/chain.pem" "$T/new.pem" >/dev/null 2>&1 ||
  fail "the served certificate does not chain to the coordinator root"
ok "nginx serves the successor: new fingerprint, new key (0600), chains to the root"

ocsp_is "$T/new.pem" good || fail "OCSP for the new certificate: $(ocsp_status "$T/new.pem")"
openssl ocsp -issuer "$T/issuer.pem" -url "$URL/ocsp" -CAfile "$T/root.pem" \
  -verify_other "$T/chain.pem" -cert "$T/old.pem" -no_nonce >"$T/ocsp.old" 2>&1
grep -q "Reason: superseded" "$T/ocsp.old" || fail "OCSP revocation reason: $(cat "$T/ocsp.old")"
ok "OCSP: old certificate revoked (superseded), new one good"

# ordering in the audit trail (sequence numbers are the commit order)
audit_json
python3 - "$T/audit.json" "$SEQ0" "$OLD" "$NEW" "$PLAN1" >"$T/order.txt" 2>&1 <<'PY' ||
import json, sys
rows = [r for r in json.load(open(sys.argv[1])).get("items", []) if r["seq"] > int(sys.argv[2])]
old, new, plan = sys.argv[3], sys.argv[4], int(sys.argv[5])
def det(r):
    d = r.get("details") or {}
    return json.loads(d) if isinstance(d, str) else d
planned = [r["seq"] for r in rows if r["action"] == "cert.revoke.planned"]
revoke = [r["seq"] for r in rows if r["action"] == "cert.revoke" and det(r).get("plan") == plan]
mon = [r["seq"] for r in rows if r["action"] == "managed.state" and r.get("object_id") == "web"
       and det(r).get("new_state") == "MONITORING" and det(r).get("fingerprint") == new]
ans = [r["seq"] for r in rows if r["action"] == "agent.command.answer"
       and det(r).get("action") == "replace-before-revoke" and det(r).get("status") == "ack"]
inv = [r["seq"] for r in rows if r["action"] == "inventory.delta" and ans and r["seq"] > ans[0]]
print("planned", planned, "answer", ans, "monitoring(new)", mon, "inventory.delta", inv[:1],
      "revoke", revoke)
if not planned or not revoke or not mon or not ans or not inv:
    sys.exit("missing audit rows")
if len(revoke) != 1 or det([r for r in rows if r["seq"] == revoke[0]][0]).get("mode") != "replaced":
    sys.exit("cert.revoke is not one 'replaced' revocation")
if not planned[0] < ans[0] < revoke[0]:
    sys.exit("the agent's ack does not fall between the plan and the revocation")
if not min(mon) < inv[0] < revoke[0]:
    sys.exit("not: MONITORING with the new certificate < the agent's inventory change < revocation")
PY
  fail "audit order: $(cat "$T/order.txt")"
ok "audit trail: planned < agent ack < managed.state MONITORING (new) < inventory.delta < cert.revoke: $(cat "$T/order.txt")"

# the plan's holder was replaced (inventory change) no later than the revocation
"$CK_CLI" cert plans "$PLAN1" --json >"$T/plan1.json" 2>&1 || fail "plans --json"
python3 - "$T/plan1.json" >"$T/plan1.order" 2>&1 <<'PY' || fail "plan times: $(cat "$T/plan1.order")"
import json, sys
p = json.load(open(sys.argv[1]))
h = p["holders"]
print("replaced_at", [x.get("replaced_at") for x in h], "finished_at", p.get("finished_at"))
if not all(x.get("state") == "replaced" and x.get("replaced_at") for x in h):
    sys.exit("a holder is not replaced")
if not all(x["replaced_at"] <= p["finished_at"] for x in h):
    sys.exit("revoked before a holder was replaced")
PY
poll "inventory: the successor installed at $WEB/cert.pem" installed_at "$NEW" "$WEB/cert.pem"
! installed_at "$OLD" "$WEB/cert.pem" || fail "inventory still lists the old certificate at $WEB/cert.pem"
ok "inventory: the successor at $WEB/cert.pem, the old one gone from it; $(cat "$T/plan1.order")"

# --- case 2: a discovered-only certificate -> not replaced; --force at the deadline --
SERIAL2=$(openssl x509 -in "$OTHER/cert.pem" -noout -serial | cut -d= -f2)
"$CK_CLI" cert revoke "$SERIAL2" --reason superseded --replace-first --deadline 8s --force \
  >"$T/plan2.txt" 2>&1 || fail "revoke --replace-first --force: $(cat "$T/plan2.txt")"
PLAN2=$(sed -n 's/^revocation plan \([0-9]*\):.*/\1/p' "$T/plan2.txt")
[ -n "$PLAN2" ] || fail "no plan id: $(cat "$T/plan2.txt")"
not_managed_answered() {
  audit_json
  python3 - "$T/audit.json" "$OTHER/cert.pem" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1])).get("items", []):
    d = r.get("details") or {}
    d = json.loads(d) if isinstance(d, str) else d
    if (r["action"] == "agent.command.answer" and d.get("action") == "replace-before-revoke"
            and d.get("target") == sys.argv[2] and d.get("status") != "ack"
            and "not a certificate this agent manages" in str(d.get("detail"))):
        sys.exit(0)
sys.exit(1)
PY
}
poll "the agent's 'not managed' answer for $OTHER/cert.pem" not_managed_answered
# the answer is in; until the deadline the plan waits and OCSP stays good
if plan_is "$PLAN2" waiting; then
  ocsp_is "$OTHER/cert.pem" good || fail "revoked before the deadline"
  "$CK_CLI" cert plans "$PLAN2" | grep -q "$AGENT_ID $OTHER/cert.pem: waiting" ||
    fail "holder not waiting: $("$CK_CLI" cert plans "$PLAN2")"
fi
ok "plan $PLAN2: the agent answered 'not managed'; the holder stays waiting"
poll "plan $PLAN2 forced at the deadline" plan_is "$PLAN2" forced
"$CK_CLI" cert plans "$PLAN2" >"$T/plan2.show" 2>&1
grep -q "$AGENT_ID $OTHER/cert.pem: waiting" "$T/plan2.show" ||
  fail "forced plan does not show the holder unconfirmed: $(cat "$T/plan2.show")"
ocsp_is "$OTHER/cert.pem" revoked || fail "OCSP after the forced revocation: $(ocsp_status "$OTHER/cert.pem")"
[ "$(fp_file "$OTHER/cert.pem")" = "$OTHER_FP" ] || fail "the agent touched a certificate it does not manage"
audit_json
python3 - "$T/audit.json" "$PLAN2" "$OTHER/cert.pem" <<'PY' || fail "no forced cert.revoke audit row for plan $PLAN2"
import json, sys
for r in json.load(open(sys.argv[1])).get("items", []):
    d = r.get("details") or {}
    d = json.loads(d) if isinstance(d, str) else d
    if r["action"] == "cert.revoke" and d.get("plan") == int(sys.argv[2]) and d.get("mode") == "forced" \
            and any(h.get("path") == sys.argv[3] for h in d.get("unconfirmed", [])):
        sys.exit(0)
sys.exit(1)
PY
ok "plan $PLAN2 forced at the deadline: revoked (OCSP), holder unconfirmed, file untouched"

web_served_is "$NEW" || fail "web.test changed during case 2"
stop_agent
ok "SIGTERM: the agent stopped cleanly"
clean "$T/agent.log"
clean "$T/coord.log"
echo "all $CK_CHECKS checks passed"
