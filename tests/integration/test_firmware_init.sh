#!/usr/bin/env bash
# test_firmware_init.sh — the device init script
# (packaging/firmware/S50certkeeper-agent, issue 9) under BusyBox: its sh
# and its start-stop-daemon applet, with this build's agent and a real
# coordinator.
#   not enrolled → "not enrolled", exit 0, nothing started
#   start → the agent runs (pid file = supervisor, both workers), logs to LOG
#   status → running; start again → "already running"
#   reload → SIGHUP: the agent reloads (agent.run.reload)
#   stop → SIGTERM, the agent and its workers are gone, pid file removed
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/lib_agent.sh"
T=$CK_T
command -v busybox >/dev/null || { echo "skipped: busybox is not installed (packaging/install-deps.sh)"; exit 77; }
[ -x "$CK_AGENT" ] || { echo "skipped: certkeeper-agent is not built"; exit 77; }
init=$(cd "$(dirname "$0")/../.." && pwd)/packaging/firmware/S50certkeeper-agent

# BusyBox applets first on PATH (start-stop-daemon, sed, grep, sleep, …)
mkdir -p "$T/bin"
for a in start-stop-daemon sed grep head sleep kill cat mkdir chmod rm printf; do
  ln -s "$(command -v busybox)" "$T/bin/$a"
done
run_init() {
  PATH=$T/bin:$PATH DAEMON=$CK_AGENT CONFIG=$T/agent.conf PIDFILE=$T/agent.pid \
    LOG=$T/agent.log busybox sh "$init" "$@"
}
wait_for() {
  local what=$1 deadline=$(($(date +%s) + WAIT)); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || { tail -n 20 "$T/agent.log" >&2; fail "timed out waiting for: $what"; }
    sleep 0.1
  done
}
two_workers() { [ "$(pgrep -P "$(cat "$T/agent.pid")" | wc -l)" = 2 ]; }

printf '[agent]\nstate_dir = %s/state\n[discovery]\nroots = %s/none\nprobe_endpoints = false\n' "$T" "$T" \
  >"$T/agent.conf"
mkdir -p "$T/none"
out=$(run_init start) || fail "start without enrollment: exit $?"
echo "$out" | grep -q "not enrolled" || fail "start without enrollment said: $out"
[ ! -e "$T/agent.pid" ] || fail "started without enrollment"
ok "not enrolled: refuses politely, exit 0, nothing started"

start_coordinator
enroll_agent fw-init
out=$(run_init start) || fail "start: exit $?: $out"
echo "$out" | grep -q "OK" || fail "start said: $out"
wait_for "pid file" test -s "$T/agent.pid"
pid=$(cat "$T/agent.pid")
CK_PIDS="$CK_PIDS $pid"
wait_for "both workers" two_workers
tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "certkeeper-agent run --config $T/agent.conf" ||
  fail "pid file names $(tr '\0' ' ' <"/proc/$pid/cmdline")"
wait_for "agent log" grep -q "agent.run.workers" "$T/agent.log"
ok "start: supervisor $pid in the pid file, two workers, log in LOG"

run_init status | grep -q "is running" || fail "status"
run_init start | grep -q "already running" || fail "second start"
[ "$(cat "$T/agent.pid")" = "$pid" ] || fail "second start replaced the pid file"
ok "status: running; a second start is a no-op"

run_init reload || fail "reload: exit $?"
wait_for "reload" grep -q "agent.run.reload" "$T/agent.log"
wait_for "workers after reload" two_workers
ok "reload: SIGHUP, configuration re-read, workers restarted"

workers=$(pgrep -P "$pid" | tr '\n' ' ')
out=$(run_init stop) || fail "stop: exit $?: $out"
echo "$out" | grep -q "OK" || fail "stop said: $out"
kill -0 "$pid" 2>/dev/null && fail "agent $pid still running after stop"
for w in $workers; do kill -0 "$w" 2>/dev/null && fail "worker $w still running after stop"; done
[ ! -e "$T/agent.pid" ] || fail "pid file left after stop"
clean "$T/agent.log"
run_init status >/dev/null && fail "status after stop says running"
ok "stop: SIGTERM, agent and workers gone, pid file removed"
echo "all $CK_CHECKS checks passed"
