#!/bin/sh
# agent-footprint.sh — the agent's footprint benchmark, one command:
#
#   tests/bench/agent-footprint.sh BUILD_DIR
#
# Sets up, in a temporary directory:
#   - a real coordinator (init + run on free loopback ports) and an agent
#     enrolled with a one-time token from the CLI;
#   - 100 managed certificates ([cert:mN] sections), each an EC P-256 key
#     and a 60-day certificate already installed (not due: renewal at a
#     third of the lifetime left), reload "none";
#   - a discovery tree of 10,000 certificate files (100 directories of 100
#     PEM files, every one a distinct certificate: one template leaf with its
#     serial number rewritten, so fingerprints differ; nothing checks the
#     signature of a leaf found on disk).
# Then measures:
#   1. discovery time: `certkeeper-agent scan TREE --json` (wall clock,
#      best of SCAN_RUNS runs, and the scan's own stats.elapsed_ms);
#   2. `certkeeper-agent run`: after its first full inventory reached the
#      coordinator and its CPU has been still for 5 s, RSS and PSS of every
#      agent process (supervisor, priv, net: /proc/PID/status VmRSS and
#      /proc/PID/smaps_rollup), each and summed, and the largest mappings by
#      RSS (/proc/PID/smaps) to show what holds the memory;
#   3. CPU (utime + stime of all agent processes, /proc/PID/stat) and
#      voluntary context switches (wake-ups) over IDLE_SECS of idling;
#   4. binary size of certkeeper-agent as built and stripped, `size`, and
#      the shared libraries it loads.
# Knobs (environment): IDLE_SECS (600), SCAN_RUNS (3), MANAGED (100),
# FILES (10000), KEEP=1 (keep the directory: logs, tree, config),
# AGENT_BIN (another certkeeper-agent, e.g. an mbedTLS build; the
# coordinator and CLI still come from BUILD_DIR).
# Figures and discussion: docs/performance.md ("Agent footprint").
# Never run by ctest (it takes IDLE_SECS plus about a minute).
set -u
B=$(cd "${1:?usage: agent-footprint.sh BUILD_DIR}" && pwd)
COORD=$B/coordinator/certkeeper-coordinator
CLI=$B/coordinator/certkeeper
AGENT=${AGENT_BIN:-$B/agent/certkeeper-agent}
IDLE_SECS=${IDLE_SECS:-600}
SCAN_RUNS=${SCAN_RUNS:-3}
MANAGED=${MANAGED:-100}
FILES=${FILES:-10000}
for x in "$COORD" "$CLI" "$AGENT"; do
  [ -x "$x" ] || { echo "agent-footprint: $x not built" >&2; exit 2; }
done

T=$(mktemp -d /tmp/ckbench-agent.XXXXXX)
CPID=""
APID=""
cleanup() {
  [ -n "$APID" ] && kill "$APID" 2>/dev/null && wait "$APID" 2>/dev/null
  [ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT INT TERM
die() { echo "agent-footprint: $*" >&2; [ -f "$T/agent.log" ] && tail -n 20 "$T/agent.log" >&2; exit 1; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
now_ms() { date +%s%3N; }

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), load $(cut -d' ' -f1-3 /proc/loadavg)"
ab=$(cd "$(dirname "$AGENT")/.." && pwd)
echo "agent: $AGENT ($(sed -n 's/^CMAKE_BUILD_TYPE:[^=]*=//p' "$ab/CMakeCache.txt" 2>/dev/null), crypto $(sed -n 's/^CK_CRYPTO:[^=]*=//p' "$ab/CMakeCache.txt" 2>/dev/null))"

# ------------------------------------------------------------- test data
t0=$(now_ms)
mkdir -p "$T/ca" "$T/tree" "$T/managed"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca/ca.key" \
  -subj "/CN=Footprint Bench CA" -days 365 -out "$T/ca/ca.pem" 2>/dev/null || die "bench CA"
# mk_leaf NAME DIR DAYS: DIR/key.pem + DIR/cert.pem for NAME, signed by the bench CA
mk_leaf() {
  (umask 077; openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$2/key.pem" -subj "/CN=$1" -out "$2/req.csr" 2>/dev/null) &&
  printf 'subjectAltName=DNS:%s\n' "$1" >"$2/ext" &&
  openssl x509 -req -in "$2/req.csr" -CA "$T/ca/ca.pem" -CAkey "$T/ca/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$3" -extfile "$2/ext" -out "$2/cert.pem" 2>/dev/null &&
  rm -f "$2/req.csr" "$2/ext"
}
mkdir -p "$T/template"
mk_leaf template.bench.test "$T/template" 365 || die "template leaf"
python3 - "$T/template/cert.pem" "$T/tree" "$FILES" <<'PY' || die "tree"
import base64, os, sys
pem, root, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
der = base64.b64decode("".join(l for l in open(pem) if "-----" not in l))
# TBSCertificate: SEQ { [0] version, INTEGER serial (16/17 bytes) ... }
i = der.index(b"\xa0\x03\x02\x01\x02") + 5
assert der[i] == 0x02
slen = der[i + 1]
s0 = i + 2
for k in range(n):
    d = bytearray(der)
    d[s0 + slen - 4:s0 + slen] = k.to_bytes(4, "big")   # distinct serial, same length
    b64 = base64.b64encode(bytes(d)).decode()
    body = "\n".join(b64[j:j + 64] for j in range(0, len(b64), 64))
    sub = os.path.join(root, "d%03d" % (k // 100))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "c%05d.pem" % k), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\n" + body + "\n-----END CERTIFICATE-----\n")
PY
i=0
while [ $i -lt "$MANAGED" ]; do
  mkdir -p "$T/managed/m$i"
  mk_leaf "m$i.bench.test" "$T/managed/m$i" 60 || die "managed leaf $i"
  i=$((i + 1))
done
echo "test data: $FILES discovered files, $MANAGED managed pairs in $(( ($(now_ms) - t0) / 1000 )) s"

# -------------------------------------------------------- 1. discovery time
best=""
runs=""
i=0
while [ $i -lt "$SCAN_RUNS" ]; do
  s=$(now_ms)
  "$AGENT" scan "$T/tree" --json >"$T/scan.json" 2>"$T/scan.err" || die "scan failed: $(cat "$T/scan.err")"
  e=$(( $(now_ms) - s ))
  runs="$runs $e"
  { [ -z "$best" ] || [ "$e" -lt "$best" ]; } && best=$e
  i=$((i + 1))
done
stats=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = d["stats"]
n = sum(1 for f in d["findings"] if f["kind"] == "certificate")
print("files=%d certificates=%d errors=%d elapsed_ms=%d" % (s["files"], n, s["errors"], s["elapsed_ms"]))' "$T/scan.json")
echo "discovery: scan of $FILES files: wall ms per run:$runs (best $best); last run $stats"
/usr/bin/time -f "scan peak RSS %M KiB, %e s, %U user %S sys" "$AGENT" scan "$T/tree" --json >/dev/null 2>"$T/time.out" ||
  true
tail -n 1 "$T/time.out"

# ------------------------------------------------- coordinator + enrollment
"$COORD" init --data-dir "$T/data" --admin-token-out "$T/admin.token" >"$T/init.log" 2>&1 || die "init"
HTTP=$(free_port); HTTPS=$(free_port); GW=$(free_port)
"$COORD" run --data-dir "$T/data" --listen-http 127.0.0.1:$HTTP --listen-https 127.0.0.1:$HTTPS \
  --listen-gateway 127.0.0.1:$GW >"$T/coord.log" 2>&1 &
CPID=$!
curl -sf --retry 300 --retry-connrefused --retry-delay 0 --retry-max-time 30 -o /dev/null \
  "http://127.0.0.1:$HTTP/healthz" || die "coordinator not healthy"
curl -sf "http://127.0.0.1:$HTTP/ca/chain.pem" -o "$T/chain.pem" || die "chain.pem"
awk '/BEGIN CERT/{b=""} {b=b $0 "\n"} /END CERT/{last=b} END{printf "%s", last}' "$T/chain.pem" >"$T/root.pem"
export CERTKEEPER_SERVER=https://127.0.0.1:$HTTPS CERTKEEPER_CACERT=$T/root.pem CERTKEEPER_TOKEN_FILE=$T/admin.token
FP=$(openssl x509 -in "$T/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
(umask 077; "$CLI" token create --group bench --profile tls-server --ttl 1h >"$T/enroll.token") || die "token"
if "$AGENT" enroll --help 2>&1 | grep -q -- '--token-file'; then
  set -- --token-file "$T/enroll.token"
else
  set -- --token "$(cat "$T/enroll.token")"
fi
"$AGENT" enroll --server 127.0.0.1:$GW "$@" --ca-fingerprint "$FP" --state-dir "$T/state" \
  --name footprint-bench >"$T/enroll.log" 2>&1 || die "enroll: $(cat "$T/enroll.log")"
set --
AGENT_ID=$(sed -n 's/^id = //p' "$T/state/agent.conf")

{
  printf '[agent]\nstate_dir = %s\n\n[discovery]\nroots = %s\nprobe_endpoints = false\n' "$T/state" "$T/tree"
  i=0
  while [ $i -lt "$MANAGED" ]; do
    printf '\n[cert:m%d]\nprofile = tls-server\nsans = DNS:m%d.bench.test\n' $i $i
    printf 'cert_file = %s/cert.pem\nkey_file = %s/key.pem\nreload = none\n' "$T/managed/m$i" "$T/managed/m$i"
    i=$((i + 1))
  done
} >"$T/agent.conf"

# ---------------------------------------------------------------- 2. run
# agent_pids: the supervisor and its descendants
agent_pids() {
  python3 - "$APID" <<'PY'
import os, sys
root = int(sys.argv[1]); kids = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            st = open("/proc/%s/stat" % p).read()
            ppid = int(st[st.rindex(")") + 2:].split()[1])
            kids.setdefault(ppid, []).append(int(p))
        except (OSError, ValueError):
            pass
out, todo = [], [root]
while todo:
    p = todo.pop(); out.append(p); todo += kids.get(p, [])
print(" ".join(str(p) for p in sorted(out)))
PY
}
# cpu_ticks PIDS: utime+stime (clock ticks) summed
cpu_ticks() {
  for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done |
    awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}
vcsw() {
  for p in "$@"; do sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null; done |
    awk '{ t += $1 } END { print t + 0 }'
}
s=$(now_ms)
"$AGENT" run --config "$T/agent.conf" >"$T/agent.log" 2>&1 &
APID=$!
# wait: the coordinator lists every discovered file as installed on this
# agent (the first full inventory stored), then neither the agent's
# processes nor the coordinator use CPU for 5 consecutive seconds (later
# inventories absorbed too)
inv_count() {
  "$CLI" cert list --host "$AGENT_ID" --all --json 2>/dev/null |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))' 2>/dev/null || echo 0
}
n=0
until [ "$(inv_count)" -ge "$FILES" ]; do
  kill -0 "$APID" 2>/dev/null || die "agent exited"
  n=$((n + 1)); [ $n -lt 600 ] || die "inventory incomplete at the coordinator after 600 s: $(inv_count)"
  sleep 1
done
echo "run: $FILES discovered files stored by the coordinator after $(( $(now_ms) - s )) ms"
quiet=0; n=0; last=-1
while [ $quiet -lt 5 ]; do
  kill -0 "$APID" 2>/dev/null || die "agent exited"
  c=$(cpu_ticks $(agent_pids) "$CPID")
  if [ "$c" = "$last" ]; then quiet=$((quiet + 1)); else quiet=0; fi
  last=$c
  n=$((n + 1)); [ $n -lt 600 ] || die "agent/coordinator CPU not still after 600 s"
  sleep 1
done
PIDS=$(agent_pids)
echo "run: idle after $(( $(now_ms) - s )) ms; processes: $PIDS"
echo "coordinator inventory for the agent: $(inv_count) certificates"
grep -c 'event=gateway.inventory ' "$T/coord.log" | sed 's/^/coordinator: inventory parts stored: /'
grep -c 'event=agent.priv.inventory mode=full' "$T/agent.log" | sed 's/^/agent: full inventories sent: /'

echo
echo "memory (idle, $MANAGED managed, $FILES discovered):"
printf '%-8s %-12s %10s %10s %10s %10s %8s\n' PID ROLE VmRSS_KiB Rss_KiB Pss_KiB PssAnon_KiB threads
for p in $PIDS; do
  role=$(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-12)
  [ "$p" = "$APID" ] && role=supervisor
  r=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$p/status")
  th=$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$p/status")
  awk -v pid="$p" -v role="$role" -v vr="$r" -v th="$th" '
    /^Rss:/ {rss=$2} /^Pss:/ {pss=$2} /^Pss_Anon:/ {pa=$2}
    END {printf "%-8s %-12s %10d %10d %10d %10d %8s\n", pid, role, vr, rss, pss, pa, th}' "/proc/$p/smaps_rollup"
done | tee "$T/mem.txt"
awk '{v+=$3; r+=$4; p+=$5; a+=$6} END {printf "%-21s %10d %10d %10d %10d   (= %.1f MiB RSS, %.1f MiB PSS)\n", "TOTAL", v, r, p, a, v/1024, p/1024}' "$T/mem.txt"

echo
echo "largest mappings by RSS, all agent processes (KiB; [heap]/anon = malloc):"
for p in $PIDS; do cat "/proc/$p/smaps"; done | awk '
  /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anon]"; next }
  /^Rss:/ { rss[name] += $2 } /^Pss:/ { pss[name] += $2 }
  END { for (n in rss) printf "%8d %8d  %s\n", rss[n], pss[n], n }' | sort -rn | head -n 15 |
  awk 'BEGIN {printf "%8s %8s  %s\n", "Rss", "Pss", "mapping"} {print}'

# ------------------------------------------------------------ 3. idle CPU
echo
echo "idle: measuring CPU for ${IDLE_SECS}s ..."
c0=$(cpu_ticks $PIDS); w0=$(vcsw $PIDS); s=$(now_ms)
for p in $PIDS; do echo "$p $(cpu_ticks "$p") $(vcsw "$p")"; done >"$T/idle0.txt"
sleep "$IDLE_SECS"   # the measurement window itself, not a synchronisation
c1=$(cpu_ticks $PIDS); w1=$(vcsw $PIDS); e=$(( $(now_ms) - s ))
for p in $PIDS; do kill -0 "$p" 2>/dev/null || die "agent process $p died while idle"; done
hz=$(getconf CLK_TCK)
awk -v d="$((c1 - c0))" -v hz="$hz" -v ms="$e" -v w="$((w1 - w0))" 'BEGIN {
  printf "idle CPU: %.2f s over %.0f s (%.4f%% of one core), %d voluntary context switches (%.2f/s)\n",
    d / hz, ms / 1000, 100 * (d / hz) / (ms / 1000), w, w / (ms / 1000) }'
while read -r p c w; do
  echo "  pid $p: $(( $(cpu_ticks "$p") - c )) ticks, $(( $(vcsw "$p") - w )) voluntary context switches"
done <"$T/idle0.txt"
echo "RSS after the idle window (KiB): $(for p in $PIDS; do sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$p/status"; done | awk '{t+=$1} END {print t}')"

# --------------------------------------------------------- 4. binary size
echo
strip -o "$T/agent.stripped" "$AGENT"
printf 'binary: %s bytes as built, %s bytes stripped\n' "$(stat -c %s "$AGENT")" "$(stat -c %s "$T/agent.stripped")"
size "$T/agent.stripped" | sed 's/^/  /'
echo "shared libraries:"
ldd "$AGENT" | awk '{print "  " $1}'
