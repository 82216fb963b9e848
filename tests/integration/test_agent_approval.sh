#!/bin/sh
# test_agent_approval.sh — admin-mediated issuance for a REAL agent
# (`certkeeper-agent run`) against a REAL coordinator, profile with
# "approval": {"mode": "always"}:
#   1  the agent's renewal is answered `pending`: its state file says
#      PENDING_APPROVAL with the request id (rq-…) as ticket and a retry
#      time; the request is listed as pending; no certificate is installed;
#   2  the agent restarted while pending keeps the same key and CSR
#      (next.key, next.csr) and asks again with them: still ONE request;
#   3  an approver approves with `certkeeper request approve`; the agent is
#      nudged (`agent command ID renew --target app`: ask again now — the
#      coordinator's retry_after is 300 s), sends the same CSR, receives the
#      issued certificate and installs it WITHOUT a restart: the installed
#      key is the one generated before approval, the certificate is the one
#      the request shows, it chains to the coordinator's root.
# Waits poll real conditions with a deadline (CK_WAIT, default 90 s).
# Skips (77) without the agent binary or its `run` command.
# Usage: test_agent_approval.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"

CK_AGENT=${CK_AGENT_BIN:-$CK_BUILD/agent/certkeeper-agent}
WAIT=${CK_WAIT:-90}
T=$CK_T
if [ ! -x "$CK_AGENT" ] || ! "$CK_AGENT" run --help >/dev/null 2>&1; then
  echo "skipped: certkeeper-agent (with run) is not built"
  exit 77
fi

poll() { # WHAT CMD...: CMD until it succeeds; the agent must stay alive
  what=$1; shift
  deadline=$(($(date +%s) + WAIT))
  until "$@"; do
    if [ -n "${AGENT_PID:-}" ] && ! kill -0 "$AGENT_PID" 2>/dev/null; then
      tail -n 40 "$T/agent.log" >&2
      fail "the agent exited while waiting for: $what"
    fi
    [ "$(date +%s)" -lt "$deadline" ] || { tail -n 40 "$T/agent.log" >&2; fail "timed out after ${WAIT}s waiting for: $what"; }
    sleep 0.2
  done
}
start_agent() {
  "$CK_AGENT" run --config "$T/agent.conf" >>"$T/agent.log" 2>&1 &
  AGENT_PID=$!
  CK_PIDS="$CK_PIDS $AGENT_PID"
}
stop_agent() {
  kill -TERM "$AGENT_PID" 2>/dev/null || fail "agent not running at SIGTERM"
  n=0
  while kill -0 "$AGENT_PID" 2>/dev/null; do
    n=$((n + 1)); [ $n -lt 150 ] || fail "agent still running 30 s after SIGTERM"
    sleep 0.2
  done
  wait "$AGENT_PID"; rc=$?
  AGENT_PID=""
  [ "$rc" = 0 ] || { tail -n 20 "$T/agent.log" >&2; fail "agent exit status $rc after SIGTERM"; }
  ! grep -q "Sanitizer" "$T/agent.log" || fail "sanitizer report in the agent log"
}

start_coordinator
ADMIN=$CERTKEEPER_TOKEN
"$CK_CLI" api-token create --name bob --role approver >"$T/bob.token" || fail "api-token create bob"
cat >"$T/profile.json" <<'EOF'
{"name": "agent-approval", "workflow": "approval",
 "key_types": ["ec-p256"], "validity": {"max": "30d", "default": "10d"},
 "san": {"dns": [".test"]}, "cn": "copy_to_san",
 "ext_key_usage": ["serverAuth"],
 "access": {"agent_groups": ["web"], "roles": ["admin"]},
 "approval": {"mode": "always", "approvers": {"roles": ["approver"]}}}
EOF
"$CK_CLI" profile set agent-approval --file "$T/profile.json" >"$T/pset.out" 2>&1 ||
  fail "profile set: $(cat "$T/pset.out")"

FP=$(openssl x509 -in "$T/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
(umask 077; "$CK_CLI" token create --group web --profile agent-approval --ttl 1h >"$T/enroll.token") ||
  fail "token create"
S=$T/state
"$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token-file "$T/enroll.token" \
  --ca-fingerprint "$FP" --state-dir "$S" --name approval-host >"$T/enroll.log" 2>&1 ||
  fail "enroll: $(cat "$T/enroll.log")"
AGENT_ID=$(sed -n 's/^id = //p' "$S/agent.conf")
[ -n "$AGENT_ID" ] || fail "no agent id in $S/agent.conf"
mkdir -p "$T/scan" "$T/tls"
cat >"$T/agent.conf" <<EOF
[agent]
state_dir = $S
reconnect_max = 2s
[discovery]
roots = $T/scan
probe_endpoints = false
[cert:app]
profile = agent-approval
sans = DNS:app.approval.test
cert_file = $T/tls/cert.pem
key_file = $T/tls/key.pem
fullchain_file = $T/tls/fullchain.pem
reload = none
EOF
ok "agent $AGENT_ID enrolled; profile agent-approval needs one approver"

# --- 1: pending ---------------------------------------------------------------------
M=$S/managed/app
state_is() { grep -qx "state=$1" "$M/state" 2>/dev/null; }
start_agent
poll "PENDING_APPROVAL in the agent's state file" state_is PENDING_APPROVAL
TICKET=$(sed -n 's/^ticket=//p' "$M/state")
case $TICKET in rq-*) ;; *) fail "ticket '$TICKET' is not a request id: $(cat "$M/state")" ;; esac
RETRY=$(sed -n 's/^next_renewal=//p' "$M/state")
NOW=$(date +%s)
[ -n "$RETRY" ] && [ "$RETRY" -gt "$NOW" ] && [ "$RETRY" -le $((NOW + 400)) ] ||
  fail "no retry time from retry_after in the state file: $(cat "$M/state")"
[ -s "$M/next.key" ] && [ -s "$M/next.csr" ] || fail "next.key / next.csr missing"
[ "$(stat -c %a "$M/next.key")" = 600 ] || fail "next.key mode $(stat -c %a "$M/next.key")"
KEY0=$(openssl pkey -in "$M/next.key" -pubout 2>/dev/null | sha256sum)
CSR0=$(sha256sum <"$M/next.csr")
[ ! -e "$T/tls/cert.pem" ] || fail "a certificate was installed before approval"
"$CK_CLI" request show "$TICKET" --json >"$T/req.json" 2>&1 || fail "request show: $(cat "$T/req.json")"
grep -q '"state": *"pending"' "$T/req.json" || fail "request not pending: $(cat "$T/req.json")"
ok "pending: state PENDING_APPROVAL, ticket $TICKET, retry time persisted, nothing installed"

# --- 2: restart while pending: same key, same CSR, same request ------------------------
stop_agent
start_agent
asked_again() { [ "$(grep -c "agent.managed.pending_ask" "$T/agent.log")" -ge 1 ]; }
# after a restart the retry time still lies ahead: nudge (ask again now)
nudge() {
  "$CK_CLI" agent command "$AGENT_ID" renew --target app >"$T/nudge.out" 2>&1
}
poll "the restarted agent accepts a nudge" nudge
poll "the agent asking again with next.csr" asked_again
state_is PENDING_APPROVAL || fail "not pending after the restart: $(cat "$M/state")"
[ "$(openssl pkey -in "$M/next.key" -pubout 2>/dev/null | sha256sum)" = "$KEY0" ] || fail "key changed across the restart"
[ "$(sha256sum <"$M/next.csr")" = "$CSR0" ] || fail "CSR changed across the restart"
[ "$(sed -n 's/^ticket=//p' "$M/state")" = "$TICKET" ] || fail "a second request was opened: $(cat "$M/state")"
"$CK_CLI" request list --state pending --json >"$T/rl.json" 2>&1 || fail "request list"
n=$(grep -o '"id": *"rq-[0-9a-f]*"' "$T/rl.json" | sort -u | wc -l)
[ "$n" = 1 ] || fail "$n pending requests, want 1: $(cat "$T/rl.json")"
ok "restarted while pending: same key and CSR, asks again, still one request"

# --- 3: approve; the agent installs without a restart -------------------------------------
APID=$AGENT_PID
CERTKEEPER_TOKEN=$(cat "$T/bob.token") "$CK_CLI" request approve "$TICKET" >"$T/approve.out" 2>&1 ||
  fail "approve: $(cat "$T/approve.out")"
CERTKEEPER_TOKEN=$ADMIN
"$CK_CLI" request show "$TICKET" --json >"$T/req.json" 2>&1 || fail "request show"
grep -q '"state": *"issued"' "$T/req.json" || fail "request not issued: $(cat "$T/req.json")"
poll "nudge after approval" nudge
poll "MONITORING with the approved certificate installed" state_is MONITORING
[ "$AGENT_PID" = "$APID" ] && kill -0 "$AGENT_PID" || fail "the agent was restarted"
[ -s "$T/tls/cert.pem" ] || fail "no certificate installed"
[ "$(openssl x509 -in "$T/tls/cert.pem" -noout -pubkey | sha256sum)" = "$KEY0" ] ||
  fail "the installed certificate is not for the key generated before approval"
[ "$(openssl pkey -in "$T/tls/key.pem" -pubout | sha256sum)" = "$KEY0" ] || fail "installed key is not next.key's"
[ "$(stat -c %a "$T/tls/key.pem")" = 600 ] || fail "key mode"
IFP=$(openssl x509 -in "$T/tls/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f')
grep -q "$IFP" "$T/req.json" || fail "installed certificate $IFP is not the request's: $(cat "$T/req.json")"
awk '/BEGIN CERT/{n++} n>=2' "$T/tls/fullchain.pem" >"$T/issuers.pem"
out=$(openssl verify -CAfile "$T/root.pem" -untrusted "$T/issuers.pem" "$T/tls/cert.pem" 2>&1)
[ "$out" = "$T/tls/cert.pem: OK" ] || fail "installed certificate does not chain: $out"
[ ! -e "$M/next.key" ] && [ ! -e "$M/next.csr" ] || fail "next.key / next.csr left behind"
ok "approved: the agent installed the request's certificate without a restart, same key as before approval"

stop_agent
grep -q "gateway.csr.pending" "$T/coord.log" || fail "coordinator did not log the pending answer"
! grep -q "Sanitizer" "$T/coord.log" || fail "sanitizer report in the coordinator log"
ok "agent stopped cleanly"
echo "1..$CK_CHECKS"
