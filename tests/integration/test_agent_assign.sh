# test_agent_assign.sh — managed certificates assigned by the coordinator
# (agent/run/assign.c) against the REAL coordinator and agent: an agent
# with no [cert:ID] of its own gets `certkeeper agent command ID config
# --data-file F`, acknowledges it, stores state_dir/assigned.conf (0600),
# renews and installs the new certificate (chains to the coordinator's
# root), and `status` shows it as coming from the coordinator; a snippet
# colliding with a local [cert:ID] and a malformed one are answered with
# an error naming the line and change nothing; after a restart the agent
# still manages the assigned certificate.
# Every wait is a bounded poll of a real condition. Skips (77) when the
# coordinator or the agent binary is not built.
. "$(dirname "$0")/lib.sh" "$1"

CK_AGENT=${CK_AGENT_BIN:-$CK_BUILD/agent/certkeeper-agent}
[ -x "$CK_AGENT" ] || { echo "skipped: certkeeper-agent is not built"; exit 77; }

clean() { ! grep -q "Sanitizer" "$1" || fail "sanitizer report: $(cat "$1")"; }
# poll N CMD...: run CMD every 0.1 s until it succeeds, at most N times
poll() { local n=$1 i; shift; for i in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done; return 1; }
st_json() { "$CK_AGENT" status --config "$CK_T/agent.conf" --json >"$CK_T/st.json" 2>&1; }
connected() { st_json && grep -q '"state": "connected"' "$CK_T/st.json"; }
# answer N: the status of command N in `agent commands` (sent, ack, CK_ERR_...)
answer() {
  "$CK_CLI" agent commands "$AGENT_ID" --json 2>/dev/null | python3 -c '
import json, sys
for c in json.load(sys.stdin).get("items", []):
    if str(c.get("command_id")) == sys.argv[1]:
        print(c.get("status", ""), "|", c.get("detail", "")); break' "$1"
}
answered() { a=$(answer "$1"); [ -n "$a" ] && [ "${a%% *}" != sent ]; }
# send FILE: pushes `config` with FILE, prints the command id
send() {
  "$CK_CLI" agent command "$AGENT_ID" config --data-file "$1" >"$CK_T/send.out" 2>&1 ||
    fail "agent command config: $(cat "$CK_T/send.out")"
  sed -n 's/^command \([0-9]*\) .*/\1/p' "$CK_T/send.out"
}
start_agent() {
  "$CK_AGENT" run --config "$CK_T/agent.conf" >>"$CK_T/agent.log" 2>&1 &
  AP=$!
  CK_PIDS="$CK_PIDS $AP"
}
stop_agent() {
  kill -TERM "$AP"; wait "$AP"; RC=$?
  CK_PIDS=${CK_PIDS% $AP}
  [ "$RC" -eq 0 ] || fail "exit status $RC after SIGTERM: $(tail -n 20 "$CK_T/agent.log")"
}

start_coordinator
FP=$(openssl x509 -in "$CK_T/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
TOKEN=$("$CK_CLI" token create --group web --profile tls-server --ttl 1h 2>&1 \
  | grep -o 'cke_[^[:space:]]*' | head -n 1)
[ -n "$TOKEN" ] || fail "no token"
S=$CK_T/st
SRV=$CK_T/srv
mkdir -p "$CK_T/scan" "$SRV"
"$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token "$TOKEN" --ca-fingerprint "$FP" \
  --state-dir "$S" --name assign-test >"$CK_T/e.out" 2>&1 || { cat "$CK_T/e.out"; fail enroll; }
AGENT_ID=$(sed -n 's/^id = //p' "$S/agent.conf")
[ -n "$AGENT_ID" ] || fail "no agent id"
# one local certificate (never issued here: its renewals are not our concern)
cat >"$CK_T/agent.conf" <<EOT
[agent]
state_dir = $S
reconnect_max = 2s
[discovery]
roots = $CK_T/scan
probe_endpoints = false
[cert:local]
profile = tls-server
sans = DNS:local.test
cert_file = $SRV/local.crt
key_file = $SRV/local.key
EOT
start_agent
poll 300 connected || fail "not connected: $(cat "$CK_T/st.json") $(tail -n 20 "$CK_T/agent.log")"
ok "agent $AGENT_ID connected"

# 1. a malformed snippet: error with the line, nothing stored
printf '[cert:api]\nprofile = tls-server\ncert_file = %s/api.crt\nkey_file = %s/api.key\n' \
  "$SRV" "$SRV" >"$CK_T/bad.conf"
N=$(send "$CK_T/bad.conf")
[ -n "$N" ] || fail "no command id in $(cat "$CK_T/send.out")"
poll 300 answered "$N" || fail "no answer to command $N"
A=$(answer "$N")
case "$A" in CK_ERR_CONFIG*"assigned.conf"*"sans: required"*) ;; *) fail "bad snippet answered: $A" ;; esac
[ ! -e "$S/assigned.conf" ] || fail "bad snippet stored"
ok "malformed snippet refused: $A"

# 2. an id the local configuration declares: refused
printf '[cert:local]\nprofile = tls-server\nsans = DNS:x.test\ncert_file = %s/x.crt\nkey_file = %s/x.key\n' \
  "$SRV" "$SRV" >"$CK_T/clash.conf"
N=$(send "$CK_T/clash.conf")
poll 300 answered "$N" || fail "no answer to command $N"
A=$(answer "$N")
case "$A" in CK_ERR_EXIST*"local configuration"*) ;; *) fail "clash answered: $A" ;; esac
[ ! -e "$S/assigned.conf" ] || fail "colliding snippet stored"
ok "colliding id refused: $A"

# 3. a valid snippet: ack, stored 0600, renewed and installed
cat >"$CK_T/api.conf" <<EOT
# assigned by the coordinator
[cert:api]
profile = tls-server
sans = DNS:api.test
cert_file = $SRV/api.crt
key_file = $SRV/api.key
fullchain_file = $SRV/api.fullchain.pem
jitter = 0s
EOT
N=$(send "$CK_T/api.conf")
poll 300 answered "$N" || fail "no answer to command $N"
A=$(answer "$N")
case "$A" in "ack | 1 assigned; added api"*) ;; *) fail "valid snippet answered: $A" ;; esac
cmp -s "$CK_T/api.conf" "$S/assigned.conf" || fail "assigned.conf differs from the snippet"
[ "$(stat -c %a "$S/assigned.conf")" = 600 ] || fail "assigned.conf mode $(stat -c %a "$S/assigned.conf")"
ok "valid snippet acknowledged ($A) and stored 0600"
installed() { [ -s "$SRV/api.crt" ] && [ -s "$SRV/api.key" ]; }
poll 600 installed || fail "api never installed: $(tail -n 30 "$CK_T/agent.log")"
openssl verify -CAfile "$CK_T/root.pem" -untrusted "$CK_T/chain.pem" "$SRV/api.crt" >/dev/null 2>&1 ||
  fail "api.crt does not chain to the coordinator root"
openssl x509 -in "$SRV/api.crt" -noout -ext subjectAltName | grep -q "DNS:api.test" ||
  fail "api.crt lacks DNS:api.test"
[ "$(stat -c %a "$SRV/api.key")" = 600 ] || fail "key mode $(stat -c %a "$SRV/api.key")"
monitoring() { st_json && python3 -c '
import json, sys
m = [c for c in json.load(open(sys.argv[1]))["managed"] if c["id"] == "api"]
sys.exit(0 if m and m[0].get("source") == "coordinator" and m[0]["state"] == "MONITORING" else 1)' "$CK_T/st.json"; }
poll 300 monitoring || fail "status: $(cat "$CK_T/st.json")"
"$CK_AGENT" status --config "$CK_T/agent.conf" >"$CK_T/s.out" 2>&1 || fail status
grep -Eq '^api +coordinator +MONITORING' "$CK_T/s.out" || fail "status text: $(cat "$CK_T/s.out")"
grep -Eq '^local +config ' "$CK_T/s.out" || fail "status text: $(cat "$CK_T/s.out")"
ok "api renewed and installed (chains to the root), status: from coordinator, MONITORING"
FP1=$(openssl x509 -in "$SRV/api.crt" -noout -fingerprint -sha256)

# 4. restart: assigned.conf is read, api is still managed (renew is accepted)
stop_agent
start_agent
poll 300 connected || fail "not connected after restart"
"$CK_CLI" agent renew "$AGENT_ID" api >"$CK_T/renew.out" 2>&1 || fail "renew: $(cat "$CK_T/renew.out")"
N=$(sed -n 's/^command \([0-9]*\) .*/\1/p' "$CK_T/renew.out")
poll 300 answered "$N" || fail "no answer to renew"
A=$(answer "$N")
[ "${A%% *}" = ack ] || fail "renew api after restart: $A"
renewed() { [ "$(openssl x509 -in "$SRV/api.crt" -noout -fingerprint -sha256 2>/dev/null)" != "$FP1" ]; }
poll 600 renewed || fail "api not renewed after restart: $(tail -n 30 "$CK_T/agent.log")"
ok "after a restart the assigned certificate is still managed (renewed again)"
stop_agent
clean "$CK_T/agent.log"
echo "all $CK_CHECKS checks passed"
