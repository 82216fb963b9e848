#!/usr/bin/env bash
# test_notify.sh — systemd readiness and reload (issue 9), without systemd:
# a datagram socket stands in for $NOTIFY_SOCKET and records what the
# daemons send.
#   coordinator: READY=1 once /healthz answers; SIGHUP → RELOADING=1, READY=1
#                (and the reload is logged); SIGTERM → STOPPING=1, exit 0
#   agent:       READY=1 once both workers run; SIGHUP with an edited config
#                → new workers with the new configuration, READY=1; SIGHUP
#                with a broken config → refused, old workers keep running;
#                SIGTERM → STOPPING=1, exit 0
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/lib_agent.sh"
T=$CK_T
[ -x "$CK_AGENT" ] || { echo "skipped: certkeeper-agent is not built"; exit 77; }

# notify_listen NAME: a receiver on $T/NAME.sock appending each datagram
# (newlines as '|') to $T/NAME.msgs
notify_listen() {
  python3 - "$T/$1.sock" "$T/$1.msgs" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", "|") + "\n")
PY
  CK_PIDS="$CK_PIDS $!"
  wait_for "receiver $1" test -S "$T/$1.sock"
}

# wait_for WHAT CMD...: CMD until it succeeds, for at most WAIT seconds
wait_for() {
  local what=$1 deadline=$(($(date +%s) + WAIT)); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out waiting for: $what"
    sleep 0.1
  done
}
count() { grep -cx "$2" "$T/$1.msgs" 2>/dev/null || true; }
has_n() { [ "$(count "$1" "$2")" -ge "$3" ]; }
workers() { pgrep -P "$1" | sort | tr '\n' ' '; }

notify_listen coord
notify_listen agent

# ---- coordinator -----------------------------------------------------------
export NOTIFY_SOCKET=$T/coord.sock
start_coordinator
unset NOTIFY_SOCKET
wait_for "coordinator READY=1" has_n coord READY=1 1
ok "coordinator: READY=1 after /healthz answered"
kill -HUP "$CK_COORD_PID"
wait_for "coordinator READY=1 after reload" has_n coord READY=1 2
[ "$(count coord RELOADING=1)" = 1 ] || fail "coordinator: no RELOADING=1: $(cat "$T/coord.msgs")"
grep -q "coordinator.reload" "$T/coord.log" || fail "coordinator: reload not logged"
ok "coordinator: SIGHUP → RELOADING=1, reload, READY=1"

# ---- agent -----------------------------------------------------------------
enroll_agent notify-host
cat >"$T/agent.conf" <<EOF
[agent]
state_dir = $S
[discovery]
roots = $T/none
probe_endpoints = false
EOF
mkdir -p "$T/none"
NOTIFY_SOCKET=$T/agent.sock start_agent
wait_for "agent READY=1" has_n agent READY=1 1
w1=$(workers "$AGENT_PID")
[ "$(echo "$w1" | wc -w)" = 2 ] || fail "agent: 2 workers expected after READY=1, got '$w1'"
ok "agent: READY=1 with both workers running ($w1)"

# an edited configuration: new workers, READY=1 again
printf '[log]\nformat = json\n' >>"$T/agent.conf"
kill -HUP "$AGENT_PID"
wait_for "agent READY=1 after reload" has_n agent READY=1 2
grep -q "agent.run.reload" "$T/agent.log" || fail "agent: reload not logged"
w2=$(workers "$AGENT_PID")
[ "$(echo "$w2" | wc -w)" = 2 ] && [ "$w2" != "$w1" ] ||
  fail "agent: workers not restarted by the reload ('$w1' → '$w2')"
grep -q '"event":"agent.run.reload"' "$T/agent.log" ||
  fail "agent: the reloaded [log] format is not in effect"
ok "agent: SIGHUP → new configuration, new workers ($w2), READY=1"

# a broken configuration: refused, the running workers stay
printf '[agent]\nno_such_key = 1\n' >>"$T/agent.conf"
kill -HUP "$AGENT_PID"
wait_for "agent reload refusal" grep -q "agent.run.reload_failed" "$T/agent.log"
wait_for "agent READY=1 after the refusal" has_n agent READY=1 3
[ "$(workers "$AGENT_PID")" = "$w2" ] || fail "agent: workers changed after a refused reload"
grep "agent.run.reload_failed" "$T/agent.log" | grep -q "no_such_key" ||
  fail "agent: the refusal does not name the key"
ok "agent: broken configuration refused, workers kept"

stop_agent
[ "$(count agent STOPPING=1)" = 1 ] || fail "agent: no STOPPING=1"
ok "agent: SIGTERM → STOPPING=1, exit 0"

kill -TERM "$CK_COORD_PID"
wait "$CK_COORD_PID" || fail "coordinator exit status $? after SIGTERM"
[ "$(count coord STOPPING=1)" = 1 ] || fail "coordinator: no STOPPING=1"
ok "coordinator: SIGTERM → STOPPING=1, exit 0"
echo "all $CK_CHECKS checks passed"
