#!/bin/sh
# test_sched_agent.sh — the scheduler with a REAL agent: the agent obtains
# its managed certificate; the scheduler learns from the agent's
# managed.state events (audit trail) that the agent manages it, so it is
# "automated" (no notices); with both clocks moved 41 days on
# (CK_FAKE_TIME, the clock seam) the renewal window is open and the
# certificate is renewed (by the scheduler's `renew` command or the agent's
# own timer, whichever is first), and the scheduler records the renewal as
# automated and on time (certkeeper kpi). Skips (77) without the agent.
# Usage: test_sched_agent.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
T=$CK_T
CK_AGENT=${CK_AGENT_BIN:-$CK_BUILD/agent/certkeeper-agent}
[ -x "$CK_AGENT" ] || { echo "skipped: certkeeper-agent is not built"; exit 77; }
"$CK_AGENT" run --help >/dev/null 2>&1 || { echo "skipped: no run command"; exit 77; }

poll() { # DESC SECONDS CMD...
  local desc=$1 end=$(($(date +%s) + $2))
  shift 2
  until "$@"; do
    [ "$(date +%s)" -lt "$end" ] || { tail -n 30 "$T/agent.log" >&2; fail "timed out waiting: $desc"; }
    sleep 0.2
  done
}
api() { curl -sf --cacert "$T/root.pem" -H "Authorization: Bearer $CERTKEEPER_TOKEN" "https://127.0.0.1:$CK_HTTPS/api/v1/$1"; }
sched() { api scheduler | python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }
sched_ge() { v=$(sched "$1") && [ "$v" -ge "$2" ]; }
fp_file() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f'; }
changed() { [ -s "$SRV/web.crt" ] && [ "$(fp_file "$SRV/web.crt")" != "$OLD" ]; }

CK_DATA=$T/data
"$CK_COORD" init --data-dir "$CK_DATA" --admin-token-out "$T/admin.token" >"$T/init.log" 2>&1 \
  || { cat "$T/init.log"; fail "init"; }
printf '\n[sched]\ntick = 1s\njitter = 0s\n' >>"$CK_DATA/coordinator.conf"
CK_HTTP=$(free_port); CK_HTTPS=$(free_port); CK_GW=$(free_port)
run_coordinator() {
  "$CK_COORD" run --data-dir "$CK_DATA" --listen-http 127.0.0.1:$CK_HTTP \
    --listen-https 127.0.0.1:$CK_HTTPS --listen-gateway 127.0.0.1:$CK_GW \
    >>"$T/coord.log" 2>&1 &
  CK_COORD_PID=$!
  CK_PIDS="$CK_PIDS $CK_COORD_PID"
  wait_http "http://127.0.0.1:$CK_HTTP/healthz" || fail "coordinator not healthy"
}
run_coordinator
curl -sf "http://127.0.0.1:$CK_HTTP/ca/chain.pem" -o "$T/chain.pem" || fail "chain.pem"
awk '/BEGIN CERT/{b=""} {b=b $0 "\n"} /END CERT/{last=b} END{printf "%s", last}' \
  "$T/chain.pem" >"$T/root.pem"
export CERTKEEPER_SERVER=https://127.0.0.1:$CK_HTTPS CERTKEEPER_CACERT=$T/root.pem
CERTKEEPER_TOKEN=$(cat "$T/admin.token")
export CERTKEEPER_TOKEN

# the agent enrolls and obtains its managed certificate, at the real time
SRV=$T/srv
mkdir -p "$SRV" "$T/scan"
FP=$(openssl x509 -in "$T/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
(umask 077; "$CK_CLI" token create --group web --profile tls-server --ttl 1h >"$T/enroll.token") \
  || fail "token"
S=$T/state
"$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token-file "$T/enroll.token" \
  --ca-fingerprint "$FP" --state-dir "$S" --name sched-test >"$T/enroll.log" 2>&1 \
  || { cat "$T/enroll.log"; fail "enroll"; }
cat >"$T/agent.conf" <<EOT
[agent]
state_dir = $S
reconnect_max = 2s
[discovery]
roots = $T/scan
probe_endpoints = false
[cert:web]
profile = tls-server
sans = DNS:web.test
cert_file = $SRV/web.crt
key_file = $SRV/web.key
jitter = 0s
EOT
start_agent() {
  "$CK_AGENT" run --config "$T/agent.conf" >>"$T/agent.log" 2>&1 &
  AGENT_PID=$!
  CK_PIDS="$CK_PIDS $AGENT_PID"
}
stop_agent() { kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; }
monitoring() { "$CK_AGENT" status --config "$T/agent.conf" --json 2>/dev/null | grep -q MONITORING; }
start_agent
poll "the agent's first certificate" 60 test -s "$SRV/web.crt"
poll "the agent monitoring it" 60 monitoring
OLD=$(fp_file "$SRV/web.crt")
T0=$(sched ticks)
poll "two scans after it" 30 sched_ge ticks $((T0 + 2))
ok "the agent obtained $OLD; the scheduler has read its managed.state events"

# 41 days later for both (tls-server: 60 days, renewed with a third of the
# lifetime left): the certificate is renewed — by the scheduler's `renew` command
# for managed id web, or by the agent's own timer, whichever comes first
stop_agent
kill "$CK_COORD_PID"; wait "$CK_COORD_PID" 2>/dev/null
CK_FAKE_TIME=+41d
export CK_FAKE_TIME
run_coordinator
start_agent
poll "the successor installed" 90 changed
NEW=$(fp_file "$SRV/web.crt")
ok "renewed: $NEW installed"
poll "the renewal recorded" 60 sched_ge renewals.seen 1
"$CK_CLI" kpi --json >"$T/kpi.json" || fail "kpi"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["renewals"]
assert r["total"]==1 and r["automated"]==1 and r["on_time"]==1 and r["automation_coverage"]==1.0, r' \
  "$T/kpi.json" || fail "kpi: $(cat "$T/kpi.json")"
[ "$(sched incidents)" -eq 0 ] || fail "an incident was raised"
pending=$(api scheduler | python3 -c 'import json,sys; print(json.load(sys.stdin)["stored_notices"]["pending"])')
[ "$pending" -eq 0 ] || fail "$pending notices for automated certificates"
if grep -q "sched.renew.trigger.*target=web.*result=posted" "$T/coord.log"; then
  ok "the scheduler posted renew for managed id web (triggered $(sched renewals.triggered))"
else
  ok "the agent's own timer renewed first (the scheduler had nothing to trigger)"
fi
ok "recorded as an automated, on-time renewal (automation coverage 100%), no incident, no notice"
echo "passed: $CK_CHECKS checks"
