#!/bin/sh
# renew-nginx.sh — the README's main job, end to end on one machine:
#
#   ./packaging/install-deps.sh && ./tests/demo/renew-nginx.sh
#
# As root on Debian 12, from the top of a clone, it
#   1. builds the coordinator, the CLI and the agent (Release, OpenSSL) in
#      build-demo/;
#   2. initialises a coordinator on its embedded SQLite default in
#      WORK/coordinator and runs it on free 127.0.0.1 ports;
#   3. creates a one-time enrollment token with the `certkeeper` CLI and
#      enrolls an agent with it (identity key made on this host);
#   4. issues a certificate for www.demo.test from the coordinator's CA with
#      a 2-day lifetime (`certkeeper cert issue --validity 2d`): one that is
#      about to expire;
#   5. starts a real nginx (Debian's /usr/sbin/nginx with our own config,
#      pid and logs in WORK/nginx, 127.0.0.1 only — not the system
#      instance) serving that certificate;
#   6. writes an agent config managing it ([cert:web]: nginx's files, reload
#      `command:/usr/sbin/nginx -c WORK/nginx/nginx.conf -s reload`, verify
#      on nginx's port, renew_before 30d so a 2-day certificate is due now)
#      and starts `certkeeper-agent run`;
#   7. prints the certificate nginx serves BEFORE, waits (bounded, polling
#      the served certificate) until it changes, prints it AFTER and the
#      agent's `status`.
# Everything is left running; it prints how to look around and how to stop:
#
#   ./tests/demo/renew-nginx.sh --stop
#
# which stops the agent, nginx and the coordinator by their pid files (each
# pid checked to still be that program) and keeps WORK for inspection.
#
# Usage: renew-nginx.sh [--dir WORK] [--build DIR] [--stop]
#   --dir WORK    work directory (default /tmp/certkeeper-demo); a previous
#                 demo there is replaced (its processes must be stopped)
#   --build DIR   build directory (default build-demo at the top of the tree)
# Env: CK_DEMO_TIMEOUT  seconds to wait for the renewal (default 120)
#      CK_JOBS          parallel build jobs (default: nproc)
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
W=/tmp/certkeeper-demo
B=$top/build-demo
mode=start
while [ $# -gt 0 ]; do
  case $1 in
    --dir) W=${2:?--dir needs a directory}; shift 2 ;;
    --build) B=${2:?--build needs a directory}; shift 2 ;;
    --stop) mode=stop; shift ;;
    -h|--help) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "renew-nginx.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case $W in /*) ;; *) W=$(pwd)/$W ;; esac
case $W in *[!A-Za-z0-9._/-]*)
  echo "renew-nginx.sh: --dir '$W': use letters, digits, . _ - / only (reload commands are split on spaces)" >&2
  exit 2 ;;
esac
TIMEOUT=${CK_DEMO_TIMEOUT:-120}
NGINX=/usr/sbin/nginx
SNI=www.demo.test
MARK=$W/.certkeeper-demo

say() { printf '\n== %s\n' "$*"; }
die() { echo "renew-nginx.sh: $*" >&2; exit 1; }

# alive NAME: the pid in WORK/run/NAME.pid (nginx: WORK/nginx/nginx.pid) if
# that process still runs and its command line names WORK (so a recycled
# pid is never signalled); prints nothing otherwise.
pidfile_of() {
  if [ "$1" = nginx ]; then echo "$W/nginx/nginx.pid"; else echo "$W/run/$1.pid"; fi
}
alive() {
  pf=$(pidfile_of "$1")
  [ -r "$pf" ] || return 0
  p=$(tr -dc 0-9 <"$pf")
  [ -n "$p" ] && [ -r "/proc/$p/cmdline" ] || return 0
  tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF "$W/" && echo "$p"
  return 0
}

stop_all() {
  any=0
  for name in agent nginx coordinator; do
    p=$(alive "$name")
    [ -n "$p" ] || continue
    any=1
    kill -TERM "$p" 2>/dev/null
    n=0
    while kill -0 "$p" 2>/dev/null && [ $n -lt 150 ]; do sleep 0.1; n=$((n + 1)); done
    if kill -0 "$p" 2>/dev/null; then
      kill -KILL "$p" 2>/dev/null
      echo "stopped $name (pid $p) with SIGKILL after 15 s"
    else
      echo "stopped $name (pid $p)"
    fi
    rm -f "$(pidfile_of "$name")"
  done
  [ $any = 1 ] || echo "nothing of the demo in $W is running"
}

if [ "$mode" = stop ]; then
  [ -e "$MARK" ] || die "$W is not a demo work directory (no $MARK)"
  stop_all
  echo "files kept in $W (remove with: rm -rf $W)"
  exit 0
fi

# ------------------------------------------------------------------ checks
[ "$(id -u)" = 0 ] || die "run as root (the agent installs files and reloads nginx)"
[ -x "$NGINX" ] || die "$NGINX missing: run ./packaging/install-deps.sh first"
for c in cmake openssl curl python3; do
  command -v $c >/dev/null 2>&1 || die "$c missing: run ./packaging/install-deps.sh first"
done
if [ -e "$W" ]; then
  [ -e "$MARK" ] || die "$W exists and is not a demo work directory; choose another --dir"
  for name in agent nginx coordinator; do
    [ -z "$(alive $name)" ] || die "a demo is running in $W ($name); stop it first: $0 --stop"
  done
  rm -rf "$W"
fi
mkdir -p "$W/run" "$W/nginx/tls" "$W/nginx/tmp" "$W/agent" || die "cannot create $W"
chmod 0700 "$W"
: >"$MARK"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# served: what nginx serves on $PORT (SNI www.demo.test), as openssl prints it.
served() {
  timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername "$SNI" </dev/null 2>/dev/null |
    openssl x509 -noout "$@" 2>/dev/null
}
served_fp() { served -fingerprint -sha256 | cut -d= -f2; }

# ------------------------------------------------------------------ 1. build
say "1/7 build (Release, OpenSSL) in $B"
jobs=${CK_JOBS:-$(nproc)}
if ! cmake -S "$top" -B "$B" -DCK_CRYPTO=openssl -DCMAKE_BUILD_TYPE=Release >"$W/build.log" 2>&1 ||
   ! cmake --build "$B" -j"$jobs" --target certkeeper-coordinator certkeeper certkeeper-agent \
       >>"$W/build.log" 2>&1; then
  tail -n 40 "$W/build.log"
  die "build failed (log: $W/build.log)"
fi
COORD=$B/coordinator/certkeeper-coordinator
CLI=$B/coordinator/certkeeper
AGENT=$B/agent/certkeeper-agent
for x in "$COORD" "$CLI" "$AGENT"; do [ -x "$x" ] || die "$x was not built"; done
"$AGENT" run --help >/dev/null 2>&1 || die "this certkeeper-agent has no 'run' command"
echo "built $COORD, $CLI, $AGENT"

# ------------------------------------------------------------- 2. coordinator
say "2/7 coordinator: init (SQLite in $W/coordinator) and run on 127.0.0.1"
"$COORD" init --data-dir "$W/coordinator" --admin-token-out "$W/admin.token" >"$W/init.log" 2>&1 ||
  { cat "$W/init.log"; die "coordinator init failed"; }
HTTP=$(free_port); HTTPS=$(free_port); GW=$(free_port)
setsid "$COORD" run --data-dir "$W/coordinator" --listen-http 127.0.0.1:$HTTP \
  --listen-https 127.0.0.1:$HTTPS --listen-gateway 127.0.0.1:$GW \
  </dev/null >"$W/coordinator.log" 2>&1 &
echo $! >"$W/run/coordinator.pid"
curl -sf --retry 300 --retry-connrefused --retry-delay 0 --retry-max-time 30 -o /dev/null \
  "http://127.0.0.1:$HTTP/healthz" || { tail -n 20 "$W/coordinator.log"; die "coordinator not healthy"; }
curl -sf "http://127.0.0.1:$HTTP/ca/chain.pem" -o "$W/chain.pem" || die "GET /ca/chain.pem"
# the root CA is the last certificate of the chain
awk '/BEGIN CERT/{b=""} {b=b $0 "\n"} /END CERT/{last=b} END{printf "%s", last}' \
  "$W/chain.pem" >"$W/root.pem"
FP=$(openssl x509 -in "$W/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
cat >"$W/cli.env" <<EOF
export CERTKEEPER_SERVER=https://127.0.0.1:$HTTPS
export CERTKEEPER_CACERT=$W/root.pem
export CERTKEEPER_TOKEN_FILE=$W/admin.token
EOF
. "$W/cli.env"
echo "coordinator pid $(cat "$W/run/coordinator.pid"): REST https://127.0.0.1:$HTTPS, agent gateway 127.0.0.1:$GW"
echo "root CA sha256 $FP"

# ------------------------------------------------------------------ 3. enroll
say "3/7 enrollment token (certkeeper token create) and certkeeper-agent enroll"
(umask 077; "$CLI" token create --group web --profile tls-server --ttl 1h >"$W/enroll.token") ||
  die "certkeeper token create failed"
if "$AGENT" enroll --help 2>&1 | grep -q -- '--token-file'; then
  set -- --token-file "$W/enroll.token"
else
  set -- --token "$(cat "$W/enroll.token")"
fi
"$AGENT" enroll --server 127.0.0.1:$GW "$@" --ca-fingerprint "$FP" \
  --state-dir "$W/agent/state" --name demo-host >"$W/enroll.log" 2>&1 ||
  { cat "$W/enroll.log"; die "enroll failed"; }
set --
rm -f "$W/enroll.token"
cat "$W/enroll.log"

# ------------------------------------------------------- 4. expiring certificate
say "4/7 a certificate for $SNI that expires in 2 days (certkeeper cert issue --validity 2d)"
T=$W/nginx/tls
(umask 077; openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$T/key.pem" -subj "/CN=$SNI" -addext "subjectAltName=DNS:$SNI,DNS:localhost" \
  -out "$W/first.csr" 2>/dev/null) || die "openssl req"
"$CLI" cert issue --profile tls-server --csr "$W/first.csr" --validity 2d --out "$T/fullchain.pem" ||
  die "certkeeper cert issue failed"
openssl x509 -in "$T/fullchain.pem" -out "$T/cert.pem" || die "split leaf"

# ------------------------------------------------------------------- 5. nginx
say "5/7 nginx with its own config on 127.0.0.1 (not the system instance)"
PORT=$(free_port)
N=$W/nginx
cat >"$N/nginx.conf" <<EOF
# certkeeper demo: a private nginx instance on loopback
pid $N/nginx.pid;
error_log $N/error.log;
worker_processes 1;
events { worker_connections 64; }
http {
  access_log $N/access.log;
  client_body_temp_path $N/tmp/body;
  proxy_temp_path $N/tmp/proxy;
  fastcgi_temp_path $N/tmp/fastcgi;
  uwsgi_temp_path $N/tmp/uwsgi;
  scgi_temp_path $N/tmp/scgi;
  server {
    listen 127.0.0.1:$PORT ssl;
    server_name $SNI;
    ssl_certificate $T/fullchain.pem;
    ssl_certificate_key $T/key.pem;
    location / { return 200 "certkeeper demo\n"; }
  }
}
EOF
"$NGINX" -c "$N/nginx.conf" -e "$N/error.log" -t >"$W/nginx-t.log" 2>&1 ||
  { cat "$W/nginx-t.log"; die "nginx -t refused the config"; }
"$NGINX" -c "$N/nginx.conf" -e "$N/error.log" </dev/null || die "nginx did not start ($N/error.log)"
n=0
until [ -n "$(served_fp)" ]; do
  n=$((n + 1)); [ $n -lt 100 ] || die "nginx does not answer TLS on 127.0.0.1:$PORT"
  sleep 0.1
done
echo "nginx master pid $(cat "$N/nginx.pid") on https://127.0.0.1:$PORT"

# ------------------------------------------------------------------- 6. agent
say "6/7 agent config ($W/agent/agent.conf) and certkeeper-agent run"
cat >"$W/agent/agent.conf" <<EOF
# certkeeper demo agent: manages nginx's certificate
[agent]
state_dir = $W/agent/state

[discovery]
roots = $N

[cert:web]
profile = tls-server
sans = DNS:$SNI, DNS:localhost
cert_file = $T/cert.pem
key_file = $T/key.pem
fullchain_file = $T/fullchain.pem
reload = command:$NGINX -c $N/nginx.conf -s reload
verify = 127.0.0.1:$PORT
verify_sni = $SNI
; due when 30 days or less remain: the 2-day certificate is due now
renew_before = 30d
jitter = 0s
EOF
cat "$W/agent/agent.conf"

say "BEFORE: the certificate nginx serves on 127.0.0.1:$PORT"
served -subject -issuer -serial -enddate -fingerprint -sha256
BEFORE=$(served_fp)
[ -n "$BEFORE" ] || die "cannot read the served certificate"

setsid "$AGENT" run --config "$W/agent/agent.conf" </dev/null >"$W/agent.log" 2>&1 &
echo $! >"$W/run/agent.pid"
echo "agent pid $(cat "$W/run/agent.pid"), log $W/agent.log"

# ------------------------------------------------------------------ 7. renewal
say "7/7 waiting (at most ${TIMEOUT}s) for the agent to renew, install, reload and verify"
start=$(date +%s)
AFTER=$BEFORE
while [ "$AFTER" = "$BEFORE" ] || [ -z "$AFTER" ]; do
  if [ -z "$(alive agent)" ]; then
    tail -n 30 "$W/agent.log"
    die "the agent exited (log: $W/agent.log); stop the rest with: $0 --stop --dir $W"
  fi
  if [ $(( $(date +%s) - start )) -ge "$TIMEOUT" ]; then
    tail -n 30 "$W/agent.log"
    "$AGENT" status --config "$W/agent/agent.conf" 2>&1
    die "nginx still serves the old certificate after ${TIMEOUT}s (log: $W/agent.log); stop with: $0 --stop --dir $W"
  fi
  sleep 0.5
  AFTER=$(served_fp)
done
echo "renewed after $(( $(date +%s) - start ))s"

say "AFTER: the certificate nginx serves on 127.0.0.1:$PORT"
served -subject -issuer -serial -enddate -fingerprint -sha256

say "certkeeper-agent status"
"$AGENT" status --config "$W/agent/agent.conf" 2>&1

stop_cmd="$0 --stop"
[ "$W" = /tmp/certkeeper-demo ] || stop_cmd="$stop_cmd --dir $W"
say "everything is still running"
cat <<EOF
coordinator  pid $(cat "$W/run/coordinator.pid")  REST https://127.0.0.1:$HTTPS  gateway 127.0.0.1:$GW  log $W/coordinator.log
nginx        pid $(cat "$N/nginx.pid")  https://127.0.0.1:$PORT  config $N/nginx.conf  log $N/error.log
agent        pid $(cat "$W/run/agent.pid")  config $W/agent/agent.conf  log $W/agent.log

look around:  . $W/cli.env; $CLI cert list --expiring 90d
              $AGENT status --config $W/agent/agent.conf
              curl --cacert $W/root.pem --resolve $SNI:$PORT:127.0.0.1 https://$SNI:$PORT/
stop all:     $stop_cmd
EOF
