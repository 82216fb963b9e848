#!/bin/sh
# test_notices.sh — expiry notices end to end with real receivers on
# loopback: a real SMTP server (Debian python3-aiosmtpd, STARTTLS required)
# receives the 30-day notice of a certificate expiring in 29 days exactly
# once, also across a coordinator restart (the scheduler's tick counter,
# polled over REST, proves it scanned again); webhook receivers
# (python3 http.server) get signed JSON whose HMAC-SHA256 the test
# verifies, a receiver answering 500 then 200 gets it retried and
# delivered once, a hanging one times out and is retried, one answering
# 410 is recorded as failed; an SMTP server that refuses (550) makes the
# delivery retry until a working server takes it, once. Then the KPIs
# over REST and `certkeeper kpi`.
# Usage: test_notices.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
T=$CK_T
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
if ! $PY -c 'import aiosmtpd' 2>/dev/null; then
  echo "skipped: python3-aiosmtpd is not installed (packaging/install-deps.sh)"
  exit 77
fi

# poll DESC SECONDS CMD...: until CMD succeeds, at most SECONDS.
poll() {
  local desc=$1 end=$(($(date +%s) + $2))
  shift 2
  until "$@"; do
    [ "$(date +%s)" -lt "$end" ] || fail "timed out waiting: $desc"
    sleep 0.2
  done
}
port_open() { $PY -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null; }
api() { curl -sf --cacert "$T/root.pem" -H "Authorization: Bearer $CERTKEEPER_TOKEN" "https://127.0.0.1:$CK_HTTPS/api/v1/$1"; }
# sched FIELD.PATH: a number from GET /api/v1/scheduler
sched() { api scheduler | $PY -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }
sched_ge() { v=$(sched "$1") && [ "$v" -ge "$2" ]; }
count() { find "$1" -maxdepth 1 -name "$2" | wc -l; }
count_is() { [ "$(count "$1" "$2")" -eq "$3" ]; }

# --- receivers ------------------------------------------------------------
mkdir -p "$T/mail" "$T/hooks"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$T/smtp.key" -out "$T/smtp.crt" -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null || fail "smtp cert"
SMTP=$(free_port); HOOK=$(free_port)
start_smtp() { # MODE
  PYTHONPATH=$HERE $PY -m aiosmtpd -n -l "127.0.0.1:$SMTP" --tlscert "$T/smtp.crt" \
    --tlskey "$T/smtp.key" -c notices_smtp.Sink "$T/mail" "$1" >"$T/smtp.log" 2>&1 &
  SMTP_PID=$!
  CK_PIDS="$CK_PIDS $SMTP_PID"
  poll "SMTP server on $SMTP" 20 port_open "$SMTP"
}
start_smtp ok
$PY "$HERE/notices_webhook.py" "$HOOK" "$T/hooks" >"$T/hook.log" 2>&1 &
CK_PIDS="$CK_PIDS $!"
poll "webhook receiver" 20 port_open "$HOOK"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/hook.key"
chmod 600 "$T/hook.key"
ok "SMTP server (aiosmtpd, STARTTLS) and webhook receiver on loopback"

# --- coordinator with [sched] and [notices] -------------------------------
CK_DATA=$T/data
"$CK_COORD" init --data-dir "$CK_DATA" --admin-token-out "$T/admin.token" >"$T/init.log" 2>&1 \
  || { cat "$T/init.log"; fail "init"; }
cat >>"$CK_DATA/coordinator.conf" <<EOF

[sched]
tick = 1s

[notices]
smtp_url = smtp://127.0.0.1:$SMTP
smtp_tls = all
smtp_cacert = $T/smtp.crt
smtp_from = certkeeper@example.test
smtp_timeout = 5s
webhook_secret_file = $T/hook.key
webhook_timeout = 2s
retry_base = 1s
retry_cap = 2s
EOF
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

# --- owners and certificates expiring in 29 days --------------------------
"$CK_CLI" owner set mail-team --email ops@example.test >/dev/null || fail "owner mail-team"
for o in ok flaky hang gone; do
  "$CK_CLI" owner set "hook-$o" --webhook "http://127.0.0.1:$HOOK/$o" >/dev/null || fail "owner hook-$o"
done
issue() { # NAME OWNER VALIDITY
  csr "$1.test" "$T/$1.key" "$T/$1.csr"
  "$CK_CLI" cert issue --profile tls-server --csr "$T/$1.csr" --validity "$3" \
    --owner "$2" --out "$T/$1.pem" >/dev/null || fail "issue $1"
}
issue mail mail-team 29d
for o in ok flaky hang gone; do issue "w$o" "hook-$o" 29d; done
ok "five certificates expiring in 29 days, owners with email or webhook"

# --- delivered: mail once, webhooks signed, retried where it makes sense ---
poll "4 deliveries sent" 60 sched_ge stored_deliveries.sent 4
poll "the refused webhook recorded as failed" 30 sched_ge stored_deliveries.failed 1
poll "one mail" 10 count_is "$T/mail" "*.eml" 1
MSG=$(find "$T/mail" -name '*.eml')
grep -q "^X-Rcpt: ops@example.test" "$MSG" || fail "recipient: $(head -3 "$MSG")"
grep -q "^X-Tls: yes" "$MSG" || fail "the mail did not come over STARTTLS"
grep -q "^Subject: \[certkeeper\] mail.test expires in 2[89] days" "$MSG" || fail "subject: $(grep Subject "$MSG")"
grep -q "mail-team" "$MSG" || fail "owner not named"
grep -q "Expires .* (in 2[89] days)" "$MSG" || fail "no expiry line: $(cat "$MSG")"
grep -q "Deployed:" "$MSG" && grep -q "What to do: Renew it" "$MSG" || fail "no deployment/action: $(cat "$MSG")"
ok "30-day notice by SMTP with STARTTLS: what expires, where, what to do"

verify() { # BASE: the HMAC of BASE.json under the key is BASE.hdr's signature
  $PY - "$1.hdr" "$1.json" "$T/hook.key" <<'EOF'
import hashlib, hmac, sys
hdr = open(sys.argv[1]).read().splitlines()
body = open(sys.argv[2], "rb").read()
key = open(sys.argv[3], "rb").read().rstrip(b"\r\n")
sig = [l.split(":", 1)[1].strip() for l in hdr
       if l.lower().startswith("x-certkeeper-signature:")]
want = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
sys.exit(0 if sig and hmac.compare_digest(sig[0], want) else 1)
EOF
}
verify "$T/hooks/ok-1" || fail "signature of /ok does not verify"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1]))
c=d["certificates"][0]
assert d["type"]=="certkeeper.notice" and d["owner"]=="hook-ok", d
assert c["sans"]==["DNS:wok.test"] and c["step"]=="30d" and c["days_left"] in (28,29), c
assert c["renewed_by"]=="manual" and c["action"], c' "$T/hooks/ok-1.json" || fail "webhook JSON: $(cat "$T/hooks/ok-1.json")"
# a wrong key does not verify (the check can fail)
printf 'not-the-key' >"$T/wrong.key"
cp "$T/hook.key" "$T/hook.key.bak"; cp "$T/wrong.key" "$T/hook.key"
verify "$T/hooks/ok-1" && fail "a wrong key verified"
cp "$T/hook.key.bak" "$T/hook.key"
ok "webhook: signed JSON, HMAC-SHA256 verifies (and a wrong key does not)"
count_is "$T/hooks" "flaky-*.json" 2 || fail "flaky: $(count "$T/hooks" 'flaky-*.json') requests"
verify "$T/hooks/flaky-2" || fail "retried body not signed"
cmp -s "$T/hooks/flaky-1.json" "$T/hooks/flaky-2.json" || fail "retry changed the body: $(cat "$T/hooks/flaky-1.json") $(cat "$T/hooks/flaky-2.json")"
grep -i "^x-certkeeper-delivery:" "$T/hooks/flaky-1.hdr" >"$T/d1"
grep -i "^x-certkeeper-delivery:" "$T/hooks/flaky-2.hdr" >"$T/d2"
cmp -s "$T/d1" "$T/d2" || fail "retry changed the delivery id"
ok "webhook answering 500 then 200: retried with the same delivery id, delivered once"
count_is "$T/hooks" "hang-*.json" 2 || fail "hang: $(count "$T/hooks" 'hang-*.json') requests"
grep -q "notice.retry.*webhook: no answer within 2s" "$T/coord.log" || fail "no timeout logged"
ok "hanging webhook: timed out after 2 s, retried, delivered"
count_is "$T/hooks" "gone-*.json" 1 || fail "gone retried"
grep -q "notice.failed.*answered 410" "$T/coord.log" || fail "410 not recorded"
ok "webhook answering 410: recorded as failed, not retried"

# --- restart: the scheduler scans again, nothing is sent twice -------------
kill "$CK_COORD_PID"; wait "$CK_COORD_PID" 2>/dev/null
run_coordinator
poll "two scans after restart" 30 sched_ge ticks 3
[ "$(sched deliveries.queued)" -eq 0 ] || fail "deliveries queued again after restart"
[ "$(sched notices)" -eq 0 ] || fail "notices created again after restart"
count_is "$T/mail" "*.eml" 1 || fail "mail sent again after restart"
[ "$(count "$T/hooks" '*.json')" -eq 6 ] || fail "webhooks sent again: $(ls "$T/hooks")"
ok "after a restart and 3 scans: still exactly one mail and one delivery per webhook"

# --- an SMTP server that refuses: retried, nothing lost, sent once ---------
kill "$SMTP_PID"; wait "$SMTP_PID" 2>/dev/null
start_smtp refuse
"$CK_CLI" owner set mail-two --email two@example.test >/dev/null || fail "owner mail-two"
issue mail2 mail-two 6d
poll "refusals retried" 40 sched_ge deliveries.retried 2
grep -q "notice.retry.*the server refused (550)" "$T/coord.log" || fail "550 not in the log"
[ "$(sched stored_deliveries.pending)" -ge 1 ] || [ "$(sched stored_deliveries.sending)" -ge 1 ] \
  || fail "the refused delivery is not waiting"
count_is "$T/mail" "*.eml" 1 || fail "a refused mail was stored"
ok "SMTP 550: the delivery is retried with backoff and kept"
kill "$SMTP_PID"; wait "$SMTP_PID" 2>/dev/null
start_smtp ok
poll "the refused mail delivered" 40 count_is "$T/mail" "*.eml" 2
poll "recorded as sent" 20 sched_ge stored_deliveries.sent 5
grep -l "^X-Rcpt: two@example.test" "$T"/mail/*.eml | wc -l | grep -qx 1 || fail "mail-two not once"
grep -h "^Subject:" "$T"/mail/*.eml | grep -q "mail2.test expires in [56] days" || fail "7-day notice subject"
ok "after the server accepts again: delivered exactly once"

# --- audit and KPIs -------------------------------------------------------
api "audit?limit=1000" >"$T/audit.json" || fail "audit list"
for a in notice.due notice.queue notice.sent notice.retry notice.failed; do
  grep -q "\"$a\"" "$T/audit.json" || fail "no $a audit event"
done
ok "audit: notice.due, notice.queue, notice.sent, notice.retry, notice.failed"
"$CK_CLI" kpi --json >"$T/kpi.json" || fail "certkeeper kpi --json"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1]))
i=d["inventory"]
assert i["active"]==6 and i["expiring_30d"]==6 and i["expiring_30d_without_owner"]==0, i
assert d["renewals"]["total"]==0 and d["renewals"]["automation_coverage"] is None, d' "$T/kpi.json" \
  || fail "kpi: $(cat "$T/kpi.json")"
"$CK_CLI" kpi >"$T/kpi.txt" || fail "certkeeper kpi"
grep -q "^expiring in 30 days 6 (without owner 0)" "$T/kpi.txt" || fail "kpi text: $(cat "$T/kpi.txt")"
api "kpi?since=bogus" >/dev/null && fail "bad since accepted"
ok "KPIs over REST and certkeeper kpi"
echo "passed: $CK_CHECKS checks"
