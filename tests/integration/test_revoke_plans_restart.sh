#!/bin/sh
# test_revoke_plans_restart.sh — replace-then-revoke plans survive a
# coordinator restart (store schema 4, revoke_plans): a waiting plan and
# its per-holder progress come back, and the plan completes after the
# restart; a plan whose deadline passes while the coordinator is down is
# acted on at the first check after start (--force: revoked) — the clock
# is moved with CK_FAKE_TIME instead of waiting.
# Usage: test_revoke_plans_restart.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
T=$CK_T

start_coordinator
URL=http://127.0.0.1:$CK_HTTP
awk '/BEGIN CERT/{n++} n==1' "$T/chain.pem" >"$T/issuer.pem"

restart() { # [env assignments...]: SIGTERM, wait, run again on the same ports
  kill "$CK_COORD_PID"
  wait "$CK_COORD_PID" || fail "coordinator exit status"
  env "$@" "$CK_COORD" run --data-dir "$CK_DATA" --listen-http 127.0.0.1:$CK_HTTP \
    --listen-https 127.0.0.1:$CK_HTTPS --listen-gateway 127.0.0.1:$CK_GW \
    >>"$T/coord.log" 2>&1 &
  CK_COORD_PID=$!
  CK_PIDS="$CK_PIDS $CK_COORD_PID"
  wait_http "$URL/healthz" || fail "restart"
}
db() { python3 - "$CK_DATA/certkeeper.db" "$@" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
op, serial, agent = sys.argv[2], sys.argv[3].lower(), sys.argv[4]
now = int(time.time())
db.execute("INSERT OR IGNORE INTO agents (agent_id, name, grp, enrolled_at) VALUES (?,?,?,?)",
           (agent, agent, "web", now))
cid = db.execute("SELECT id FROM certs WHERE serial = ?", (serial,)).fetchone()[0]
if op == "add":
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
wait_field() { # ID FIELD VALUE: bounded poll of the coordinator's answer
  i=0
  until [ "$(plan_field "$1" "$2")" = "$3" ]; do
    i=$((i + 1)); [ $i -lt 150 ] || fail "plan $1 $2 never became $3: $("$CK_CLI" cert plans "$1")"
    sleep 0.1
  done
}
ocsp_of() {
  openssl ocsp -issuer "$T/issuer.pem" -url "$URL/ocsp" -CAfile "$T/root.pem" \
    -verify_other "$T/chain.pem" -cert "$T/$1.pem" -no_nonce 2>&1 | grep "$1.pem:"
}

# --- a waiting plan with progress survives a restart, then completes ----------
s1=$(issue_leaf p1)
db add "$s1" agent-a /etc/nginx/p1.pem
db add "$s1" agent-b /etc/haproxy/p1.pem
"$CK_CLI" cert revoke "$s1" --reason superseded --replace-first --deadline 1h >"$T/plan.txt" \
  || fail "plan: $(cat "$T/plan.txt")"
P1=$(sed -n 's/^revocation plan \([0-9]*\):.*/\1/p' "$T/plan.txt")
[ -n "$P1" ] || fail "no plan id: $(cat "$T/plan.txt")"
db del "$s1" agent-a
wait_field "$P1" pending 1
restart
[ "$(plan_field "$P1" state)" = waiting ] || fail "plan lost at restart: $("$CK_CLI" cert plans "$P1")"
[ "$(plan_field "$P1" pending)" = 1 ] || fail "progress lost at restart"
"$CK_CLI" cert plans "$P1" | grep -q "agent-a /etc/nginx/p1.pem: replaced" || fail "holder state lost"
grep -q "event=revoke.plan.resumed.*waiting=1" "$T/coord.log" || fail "no resume log event"
ocsp_of p1 | grep -q ": good" || fail "revoked before the last holder replaced it"
db del "$s1" agent-b
wait_field "$P1" state revoked
ocsp_of p1 | grep -q ": revoked" || fail "plan done after restart but OCSP not revoked"
ok "a waiting plan and its per-holder progress survive a restart; it completes afterwards"

# --- the deadline passes while the coordinator is down (clock seam) ------------
s2=$(issue_leaf p2)
db add "$s2" agent-a /etc/nginx/p2.pem
"$CK_CLI" cert revoke "$s2" --reason superseded --replace-first --deadline 1h --force >"$T/plan2.txt" \
  || fail "plan 2"
P2=$(sed -n 's/^revocation plan \([0-9]*\):.*/\1/p' "$T/plan2.txt")
s3=$(issue_leaf p3)
db add "$s3" agent-a /etc/nginx/p3.pem
"$CK_CLI" cert revoke "$s3" --reason superseded --replace-first --deadline 1h >"$T/plan3.txt" \
  || fail "plan 3"
P3=$(sed -n 's/^revocation plan \([0-9]*\):.*/\1/p' "$T/plan3.txt")
restart CK_FAKE_TIME=+2h
wait_field "$P2" state forced
wait_field "$P3" state expired
# (the coordinator's clock is 2 h ahead now: its OCSP answers would not
# verify here, so the certificates' status is read over the API)
status_of() { "$CK_CLI" cert show "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['status'])"; }
[ "$(status_of "$s2")" = revoked ] || fail "forced plan not revoked: $(status_of "$s2")"
[ "$(status_of "$s3")" = active ] || fail "expired plan revoked anyway: $(status_of "$s3")"
[ "$(plan_field "$P1" state)" = revoked ] || fail "finished plan lost at the second restart"
ok "deadline passed while down (CK_FAKE_TIME=+2h): --force revokes, without it expires"
echo "all $CK_CHECKS checks passed"
