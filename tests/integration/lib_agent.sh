# lib_agent.sh — shared by the integration tests that run a REAL agent
# (and nginx) against a REAL coordinator; sourced after lib.sh.
#   agent_prelude          skips (77) without nginx, the agent or its `run`
#   norm / fp_file / fp_served / served_pem / key_pub / crt_pub
#   poll WHAT CMD...       CMD until it succeeds or CK_WAIT s pass (the agent
#                          must stay alive meanwhile)
#   issue NAME DIR DAYS    DIR/key.pem (0600), fullchain.pem, cert.pem from
#                          the coordinator CA (profile tls-server)
#   enroll_agent NAME      enrolls with a fresh token: sets S, AGENT_ID
#   start_agent / stop_agent, installed_at FP PATH, clean LOG

CK_AGENT=${CK_AGENT_BIN:-$CK_BUILD/agent/certkeeper-agent}
NGINX=${CK_NGINX:-/usr/sbin/nginx}
WAIT=${CK_WAIT:-90}

agent_prelude() {
  if [ ! -x "$NGINX" ]; then
    echo "skipped: $NGINX is not installed (packaging/install-deps.sh installs nginx)"
    exit 77
  fi
  if [ ! -x "$CK_AGENT" ]; then
    echo "skipped: certkeeper-agent is not built"
    exit 77
  fi
  if ! "$CK_AGENT" run --help >/dev/null 2>&1; then
    echo "skipped: this certkeeper-agent has no run command"
    exit 77
  fi
  T=$CK_T
  case $T in *[!A-Za-z0-9._/-]*) fail "test directory $T has characters a reload command cannot carry" ;; esac
}

# fingerprints as lower-case hex without colons (the API's form)
norm() { cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f'; }
fp_file() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null | norm; }
served_pem() { # PORT SNI: the leaf served on 127.0.0.1:PORT, PEM on stdout
  timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername "$2" </dev/null 2>/dev/null |
    openssl x509 2>/dev/null
}
fp_served() { served_pem "$1" "$2" | openssl x509 -noout -fingerprint -sha256 2>/dev/null | norm; }
key_pub() { openssl pkey -in "$1" -pubout 2>/dev/null | sha256sum; }
crt_pub() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null | sha256sum; }
clean() { ! grep -q "Sanitizer" "$1" || fail "sanitizer report in $1: $(cat "$1")"; }

poll() {
  what=$1; shift
  deadline=$(($(date +%s) + WAIT))
  until "$@"; do
    if [ -n "${AGENT_PID:-}" ] && ! kill -0 "$AGENT_PID" 2>/dev/null; then
      tail -n 40 "$T/agent.log" >&2
      fail "the agent exited while waiting for: $what"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 40 "$T/agent.log" >&2
      fail "timed out after ${WAIT}s waiting for: $what"
    fi
    sleep 0.2
  done
}

issue() {
  mkdir -p "$2"
  (umask 077; openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$2/key.pem" -subj "/CN=$1.test" -addext "subjectAltName=DNS:$1.test" \
    -out "$T/$1.csr" 2>/dev/null) || fail "openssl req $1"
  "$CK_CLI" cert issue --profile tls-server --csr "$T/$1.csr" --validity "$3d" \
    --out "$2/fullchain.pem" >"$T/issue.log" 2>&1 || { cat "$T/issue.log"; fail "issue $1"; }
  openssl x509 -in "$2/fullchain.pem" -out "$2/cert.pem" || fail "split leaf $1"
  rm -f "$T/$1.csr"
}

enroll_agent() {
  FP=$(openssl x509 -in "$T/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
  (umask 077; "$CK_CLI" token create --group web --profile tls-server --ttl 1h >"$T/enroll.token") ||
    fail "token create"
  S=$T/state
  "$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token-file "$T/enroll.token" \
    --ca-fingerprint "$FP" --state-dir "$S" --name "$1" >"$T/enroll.log" 2>&1 ||
    { cat "$T/enroll.log"; fail "enroll"; }
  AGENT_ID=$(sed -n 's/^id = //p' "$S/agent.conf")
  [ -n "$AGENT_ID" ] || fail "no agent id in $S/agent.conf"
}

installed_at() { # FP PATH: the coordinator lists AGENT_ID's install of FP at PATH
  "$CK_CLI" cert show "$1" --json 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)
c = c.get("certificate", c)
sys.exit(0 if any(i.get("agent") == sys.argv[1] and i.get("path") == sys.argv[2]
                  for i in c.get("installs", [])) else 1)' "$AGENT_ID" "$2"
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
  clean "$T/agent.log"
  ps -eo args | grep -F "$T/agent.conf" | grep -v grep && fail "agent processes left after SIGTERM"
  return 0
}
