#!/usr/bin/env bash
# test_acme.sh — the ACME server (RFC 8555 + RFC 9773 ARI) driven by a
# scripted client (acme_scripted.py, python3-cryptography): every bad input
# of issue 7 gets its RFC problem document and issues nothing; a full
# http-01 issuance (inventory owner, Link rel=up); a directory made over
# REST without EAB and with alternate chains; ARI before and after a
# replace-then-revoke plan held by a real agent, and "replaces"; revocation
# rules; keyChange; deactivation; the CLI's eab/account/directory lists;
# the audit chain intact. Names resolve through
# pebble-challtestsrv (Debian `pebble`) on loopback.
. "$(dirname "$0")/lib.sh" "$1"
command -v pebble-challtestsrv >/dev/null || { echo "skipped: pebble-challtestsrv missing"; exit 77; }
python3 -c 'import cryptography' 2>/dev/null || { echo "skipped: python3-cryptography missing"; exit 77; }

DNS=$(free_port); MGMT=$(free_port); H01=$(free_port)
pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 127.0.0.1:$DNS \
  -management 127.0.0.1:$MGMT -http01 "" -https01 "" -tlsalpn01 "" >"$CK_T/dns.log" 2>&1 &
CK_PIDS="$CK_PIDS $!"
curl -s --retry 50 --retry-connrefused --retry-delay 0 --retry-max-time 10 -o /dev/null \
  "http://127.0.0.1:$MGMT/" || fail "pebble-challtestsrv did not start"

CK_DATA=$CK_T/data
"$CK_COORD" init --data-dir "$CK_DATA" --admin-token-out "$CK_T/admin.token" \
  >"$CK_T/init.log" 2>&1 || { cat "$CK_T/init.log"; fail "init"; }
CK_HTTP=$(free_port); CK_HTTPS=$(free_port); CK_GW=$(free_port)
"$CK_COORD" run --data-dir "$CK_DATA" --listen-http 127.0.0.1:$CK_HTTP \
  --listen-https 127.0.0.1:$CK_HTTPS --listen-gateway 127.0.0.1:$CK_GW \
  --acme-dns-resolver 127.0.0.1:$DNS --acme-http01-port $H01 >"$CK_T/coord.log" 2>&1 &
CK_PIDS="$CK_PIDS $!"
wait_http "http://127.0.0.1:$CK_HTTP/healthz" || fail "coordinator not healthy"
curl -sf "http://127.0.0.1:$CK_HTTP/ca/chain.pem" -o "$CK_T/chain.pem" || fail "chain.pem"
awk '/BEGIN CERT/{b=""} {b=b $0 "\n"} /END CERT/{last=b} END{printf "%s", last}' \
  "$CK_T/chain.pem" >"$CK_T/root.pem"
export CERTKEEPER_SERVER=https://127.0.0.1:$CK_HTTPS CERTKEEPER_CACERT=$CK_T/root.pem
CERTKEEPER_TOKEN=$(cat "$CK_T/admin.token")
export CERTKEEPER_TOKEN

[ "$(stat -c %a "$CK_DATA/acme-eab.key")" = 600 ] || fail "acme-eab.key is not 0600"
ok "EAB master key file is 0600"
for o in team-a team-b team-c; do
  "$CK_CLI" acme eab create --owner $o --json >"$CK_T/eab-$o.json" || fail "acme eab create"
done
ok "three EAB keys created"
# the HMAC key is derived, never stored: it must not be in the database
hmac=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hmac"])' "$CK_T/eab-team-a.json")
if grep -q -a -- "$hmac" "$CK_DATA"/certkeeper.db*; then fail "an EAB HMAC key is in the database"; fi
ok "no EAB HMAC key in the database"
"$CK_CLI" acme eab list --json | grep -q '"owner":"team-a"\|"owner": "team-a"' || fail "acme eab list"
ok "acme eab list shows the keys (no HMAC)"
"$CK_CLI" acme eab list --json | grep -q "$hmac" && fail "acme eab list shows an HMAC key"

# The replace-then-revoke hook: a REAL agent discovers the ACME certificate
# (a file under its roots), the inventory shows it installed there, then
# the plan starts and waits for that holder.
CK_AGENT=$CK_BUILD/agent/certkeeper-agent
[ -x "$CK_AGENT" ] && "$CK_AGENT" run --help >/dev/null 2>&1 ||
  { echo "skipped: certkeeper-agent with a run command is needed for the ARI plan case"; exit 77; }
FPR=$(openssl x509 -in "$CK_T/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
(umask 077; "$CK_CLI" token create --group acme --profile tls-server --ttl 1h >"$CK_T/enroll.token") ||
  fail "token create"
"$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token-file "$CK_T/enroll.token" \
  --ca-fingerprint "$FPR" --state-dir "$CK_T/agent" --name acme-holder >"$CK_T/enroll.log" 2>&1 ||
  { cat "$CK_T/enroll.log"; fail "agent enroll"; }
AGENT_ID=$(sed -n 's/^id = //p' "$CK_T/agent/agent.conf")
cat >"$CK_T/plan-hook.sh" <<HOOK
#!/bin/sh
# \$1 = the certificate file, \$2 = its serial (hex)
cat >"$CK_T/agent-run.conf" <<CONF
[agent]
state_dir = $CK_T/agent

[discovery]
roots = \$(dirname "\$1")
probe_endpoints = false
CONF
"$CK_AGENT" run --config "$CK_T/agent-run.conf" >>"$CK_T/agent.log" 2>&1 &
echo \$! >"$CK_T/agent.pid"
fp=\$(openssl x509 -in "\$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
i=0
until "$CK_CLI" cert show "\$fp" --json 2>/dev/null | grep -q '"agent": *"$AGENT_ID"'; do
  i=\$((i + 1)); [ \$i -lt 450 ] || { echo "agent never reported \$1" >&2; exit 1; }
  sleep 0.2
done
"$CK_CLI" cert revoke "\$2" --reason superseded --replace-first --deadline 1h --force >"$CK_T/plan.txt" 2>&1 ||
  { cat "$CK_T/plan.txt" >&2; exit 1; }
HOOK
chmod +x "$CK_T/plan-hook.sh"

python3 "$(dirname "$0")/acme_scripted.py" "https://127.0.0.1:$CK_HTTPS/acme/default/directory" \
  "$CK_T/root.pem" "https://127.0.0.1:$CK_HTTPS/api/v1" "$CERTKEEPER_TOKEN" "$H01" \
  "$CK_T/eab-team-a.json" "$CK_T/eab-team-b.json" "$CK_T/eab-team-c.json" "$CK_T/plan-hook.sh"
rc=$?
[ -s "$CK_T/agent.pid" ] && CK_PIDS="$CK_PIDS $(cat "$CK_T/agent.pid")"
[ $rc = 0 ] || { tail -n 20 "$CK_T/agent.log" 2>/dev/null; fail "scripted ACME client"; }
ok "scripted ACME client passed"

"$CK_CLI" acme account list --json | grep -q '"status":"deactivated"\|"status": "deactivated"' \
  || fail "acme account list does not show the deactivated account"
ok "acme account list"
"$CK_CLI" acme directory list --json | grep -q '"name":"alt"\|"name": "alt"' || fail "acme directory list lacks alt"
ok "acme directory list shows the directory made over REST"
curl -s --cacert "$CK_T/root.pem" -o /dev/null -w '%{http_code}' \
  "https://127.0.0.1:$CK_HTTPS/acme/nosuch/directory" | grep -q 404 || fail "unknown directory"
ok "unknown directory -> 404"
"$CK_CLI" audit verify >/dev/null || fail "audit chain broken"
ok "audit chain intact"
wait_http "http://127.0.0.1:$CK_HTTP/healthz" || fail "coordinator unhealthy after the run"
ok "coordinator healthy after every bad input"
echo "test_acme: $CK_CHECKS checks passed"
