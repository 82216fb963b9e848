# test_agent_hostfacts.sh — host facts end to end: the real agent reports
# its host (name, OS, arch, machine id, hardware key stores) in the full
# inventory after connecting, the coordinator records them on the agent,
# and the REST API (through `certkeeper agent show --json`) and the CLI's
# text output show them. Hardware key stores depend on the machine (a
# container usually has none): the list must be there, whatever it holds.
# Every wait is a bounded poll of a real condition. Skips (77) when the
# coordinator or the agent binary is not built.
. "$(dirname "$0")/lib.sh" "$1"

CK_AGENT=${CK_AGENT_BIN:-$CK_BUILD/agent/certkeeper-agent}
[ -x "$CK_AGENT" ] || { echo "skipped: certkeeper-agent is not built"; exit 77; }
"$CK_AGENT" run --help >/dev/null 2>&1 || { echo "skipped: no run command"; exit 77; }

# poll N CMD...: run CMD every 0.1 s until it succeeds, at most N times
poll() { local n=$1 i; shift; for i in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done; return 1; }
show_json() { "$CK_CLI" --json agent show "$AID" >"$CK_T/show.json" 2>"$CK_T/show.err"; }
has_host() {
  show_json && python3 - "$CK_T/show.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
sys.exit(0 if isinstance(a.get("host"), dict) else 1)
PY
}

start_coordinator
FP=$(openssl x509 -in "$CK_T/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
TOKEN=$("$CK_CLI" token create --group web --profile tls-server --ttl 1h 2>&1 \
  | grep -o 'cke_[^[:space:]]*' | head -n 1)
[ -n "$TOKEN" ] || fail "no token"
mkdir -p "$CK_T/scan"
"$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token "$TOKEN" --ca-fingerprint "$FP" \
  --state-dir "$CK_T/st" --name hostfacts-test >"$CK_T/e.out" 2>&1 || { cat "$CK_T/e.out"; fail enroll; }
AID=$(sed -n 's/^enrolled as agent \([0-9a-f]*\) .*/\1/p' "$CK_T/e.out")
[ -n "$AID" ] || fail "no agent id in $(cat "$CK_T/e.out")"
show_json || fail "agent show: $(cat "$CK_T/show.err")"
grep -q '"host": null' "$CK_T/show.json" || fail "host facts before any inventory: $(cat "$CK_T/show.json")"
ok "enrolled agent $AID has no host facts yet"

cat >"$CK_T/agent.conf" <<EOT
[agent]
state_dir = $CK_T/st
reconnect_max = 2s
[discovery]
roots = $CK_T/scan
probe_endpoints = false
EOT
"$CK_AGENT" run --config "$CK_T/agent.conf" >"$CK_T/agent.log" 2>&1 &
AP=$!
CK_PIDS="$CK_PIDS $AP"
poll 300 has_host || fail "no host facts: $(cat "$CK_T/show.json") $(tail -n 20 "$CK_T/agent.log")"
MID=""
[ -r /etc/machine-id ] && MID=$(tr -d ' \n' </etc/machine-id)
python3 - "$CK_T/show.json" "$(hostname)" "$(uname -m)" "$MID" <<'PY' || fail "host facts: $(cat "$CK_T/show.json")"
import json, sys
a = json.load(open(sys.argv[1]))
h = a["host"]
assert h["hostname"] == sys.argv[2], h
assert h["os"] == "linux", h
assert h["arch"] == sys.argv[3], h
if sys.argv[4]:
    assert h.get("machine_id") == sys.argv[4], h
assert isinstance(h["hwkeys"], list), h
assert all(":" in k for k in h["hwkeys"]), h
assert h["hwkeys"] == sorted(h["hwkeys"]), h
assert a["host_updated_at"], a
PY
ok "REST shows the host facts: $(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["host"]))' "$CK_T/show.json")"

"$CK_CLI" agent show "$AID" >"$CK_T/show.txt" 2>&1 || fail "agent show: $(cat "$CK_T/show.txt")"
grep -q "^host hostname: *$(hostname)\$" "$CK_T/show.txt" && grep -q "^host hwkeys:" "$CK_T/show.txt" \
  || fail "agent show text: $(cat "$CK_T/show.txt")"
ok "agent show prints the host facts"

kill -TERM "$AP"
wait "$AP"; RC=$?
[ "$RC" = 0 ] || fail "agent exit $RC: $(tail -n 20 "$CK_T/agent.log")"
! grep -q "Sanitizer" "$CK_T/agent.log" || fail "sanitizer report: $(cat "$CK_T/agent.log")"
ok "agent stopped cleanly"
