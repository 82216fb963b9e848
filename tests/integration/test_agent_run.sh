# test_agent_run.sh — `certkeeper-agent run` and `status` against the REAL
# coordinator: refusals (bad configuration with file:line, no enrollment),
# the supervisor with its two workers, the session coming up (status shows
# connected with a session and a last report), a worker killed with SIGKILL
# -> both workers restarted and a new session, SIGHUP survived, SIGTERM ->
# exit 0 with no worker left behind.
# Every wait is a bounded poll of a real condition. Skips (77) when the
# coordinator or the agent binary is not built.
. "$(dirname "$0")/lib.sh" "$1"

CK_AGENT=${CK_AGENT_BIN:-$CK_BUILD/agent/certkeeper-agent}
[ -x "$CK_AGENT" ] || { echo "skipped: certkeeper-agent is not built"; exit 77; }
"$CK_AGENT" run --help >/dev/null 2>&1 || { echo "skipped: no run command"; exit 77; }

clean() { ! grep -q "Sanitizer" "$1" || fail "sanitizer report: $(cat "$1")"; }
# poll N CMD...: run CMD every 0.1 s until it succeeds, at most N times
poll() { local n=$1 i; shift; for i in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done; return 1; }
workers() { pgrep -P "$AP" | sort | tr '\n' ' '; }
two_workers() { [ "$(pgrep -P "$AP" | wc -l)" -eq 2 ]; }
st_json() { "$CK_AGENT" status --config "$CK_T/agent.conf" --json >"$CK_T/st.json" 2>&1; }
connected() { st_json && grep -q '"state": "connected"' "$CK_T/st.json"; }
session() { sed -n 's/.*"session": "\([^"]*\)".*/\1/p' "$CK_T/st.json"; }

start_coordinator
FP=$(openssl x509 -in "$CK_T/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
TOKEN=$("$CK_CLI" token create --group web --profile tls-server --ttl 1h 2>&1 \
  | grep -o 'cke_[^[:space:]]*' | head -n 1)
[ -n "$TOKEN" ] || fail "no token"
mkdir -p "$CK_T/scan"
cp "$CK_T/root.pem" "$CK_T/scan/root.pem" # something to report

# 1. refusals
cat >"$CK_T/bad.conf" <<EOT
[agent]
state_dir = $CK_T/st
outbox_max_event = 5
EOT
"$CK_AGENT" run --config "$CK_T/bad.conf" >"$CK_T/r1.out" 2>&1 && fail "bad config accepted"
grep -q "bad.conf:3" "$CK_T/r1.out" && grep -q "outbox_max_event" "$CK_T/r1.out" \
  || fail "unclear message: $(cat "$CK_T/r1.out")"
clean "$CK_T/r1.out"
ok "bad configuration refused: $(cat "$CK_T/r1.out")"
cat >"$CK_T/agent.conf" <<EOT
[agent]
state_dir = $CK_T/st
reconnect_max = 2s
[discovery]
roots = $CK_T/scan
probe_endpoints = false
EOT
"$CK_AGENT" run --config "$CK_T/agent.conf" >"$CK_T/r2.out" 2>&1 && fail "ran without enrollment"
grep -q "enroll" "$CK_T/r2.out" || fail "unclear message: $(cat "$CK_T/r2.out")"
ok "no enrollment refused: $(cat "$CK_T/r2.out")"
"$CK_AGENT" status --config "$CK_T/agent.conf" >"$CK_T/s0.out" 2>&1 || fail "status before enroll"
grep -q "not enrolled" "$CK_T/s0.out" || fail "status: $(cat "$CK_T/s0.out")"
ok "status before enrollment"

# 2. enroll, run: supervisor + two workers, session up
"$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token "$TOKEN" --ca-fingerprint "$FP" \
  --state-dir "$CK_T/st" --name run-test >"$CK_T/e.out" 2>&1 || { cat "$CK_T/e.out"; fail enroll; }
if [ "$(id -u)" != 0 ]; then
  printf '[agent]\nstate_dir = %s/st\nuser = root\n' "$CK_T" >"$CK_T/user.conf"
  "$CK_AGENT" run --config "$CK_T/user.conf" >"$CK_T/r3.out" 2>&1 && fail "user switch without root"
  grep -q "needs root" "$CK_T/r3.out" || fail "unclear message: $(cat "$CK_T/r3.out")"
  ok "[agent] user without root refused: $(cat "$CK_T/r3.out")"
fi

"$CK_AGENT" run --config "$CK_T/agent.conf" >"$CK_T/agent.log" 2>&1 &
AP=$!
CK_PIDS="$CK_PIDS $AP"
poll 300 two_workers || fail "no two workers: $(cat "$CK_T/agent.log")"
poll 300 connected || fail "not connected: $(cat "$CK_T/st.json") $(tail -n 20 "$CK_T/agent.log")"
S1=$(session)
[ -n "$S1" ] || fail "no session in $(cat "$CK_T/st.json")"
grep -q '"events": 0' "$CK_T/st.json" || fail "outbox not empty: $(cat "$CK_T/st.json")"
ok "run: two workers, connected (session $S1)"
"$CK_AGENT" status --config "$CK_T/agent.conf" >"$CK_T/s1.out" 2>&1 || fail "status"
grep -q "connected, session $S1" "$CK_T/s1.out" || fail "status text: $(cat "$CK_T/s1.out")"
ok "status text"

# 3. a worker dies: both restarted, a new session
W1=$(workers)
kill -KILL $(pgrep -P "$AP" | head -n 1)
changed() { two_workers && [ "$(workers)" != "$W1" ] && ! echo "$(workers)" | grep -qw -- "$(echo $W1 | cut -d' ' -f2)"; }
poll 100 changed || fail "workers not restarted: $(workers) was $W1; $(tail -n 20 "$CK_T/agent.log")"
newsession() { connected && [ "$(session)" != "$S1" ]; }
poll 300 newsession || fail "no new session: $(cat "$CK_T/st.json")"
grep -q "agent.run.worker_exit" "$CK_T/agent.log" || fail "worker exit not logged"
grep -q "agent.run.restart" "$CK_T/agent.log" || fail "restart not logged"
ok "killed worker: both restarted, new session $(session)"

# 4. SIGHUP is forwarded, not fatal; SIGTERM stops everything with 0
W2=$(workers)
kill -HUP "$AP"
poll 20 two_workers || fail "workers gone after SIGHUP"
kill -0 "$AP" || fail "supervisor died on SIGHUP"
ok "SIGHUP survived"
kill -TERM "$AP"
wait "$AP"; RC=$?
CK_PIDS=${CK_PIDS% $AP}
[ "$RC" -eq 0 ] || fail "exit status $RC after SIGTERM: $(tail -n 20 "$CK_T/agent.log")"
for p in $W2; do kill -0 "$p" 2>/dev/null && fail "worker $p left running"; done
st_json
grep -q '"state": "disconnected"' "$CK_T/st.json" && grep -q '"last_error": "the agent stopped"' "$CK_T/st.json" \
  || fail "link state after stop: $(cat "$CK_T/st.json")"
clean "$CK_T/agent.log"
ok "SIGTERM: exit 0, no worker left"
# 5. as root with [agent] user: net runs as that user, owns the outbox
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  sed -i 's/^\[agent\]$/[agent]\nuser = nobody/' "$CK_T/agent.conf"
  "$CK_AGENT" run --config "$CK_T/agent.conf" >"$CK_T/agent2.log" 2>&1 &
  AP=$!
  CK_PIDS="$CK_PIDS $AP"
  S3=$(session)
  newsession3() { connected && [ -n "$(session)" ] && [ "$(session)" != "$S3" ]; }
  poll 300 newsession3 || fail "not connected as nobody: $(cat "$CK_T/st.json") $(tail -n 20 "$CK_T/agent2.log")"
  USERS=$(ps -o user= -p "$(workers | tr ' ' ',' | sed 's/,$//')" | sort | tr '\n' ' ')
  [ "$USERS" = "nobody root " ] || fail "worker users: '$USERS'"
  [ "$(stat -c %U "$CK_T/st/outbox")" = nobody ] || fail "outbox owner $(stat -c %U "$CK_T/st/outbox")"
  [ "$(stat -c %a "$CK_T/st")" = 700 ] || fail "state dir mode changed"
  kill -TERM "$AP"; wait "$AP"; RC=$?
  CK_PIDS=${CK_PIDS% $AP}
  [ "$RC" -eq 0 ] || fail "exit status $RC"
  clean "$CK_T/agent2.log"
  ok "[agent] user = nobody: net runs as nobody and owns the outbox"
fi
echo "all $CK_CHECKS checks passed"
