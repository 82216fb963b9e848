#!/bin/sh
# test_approvals.sh — admin-mediated issuance against a real coordinator
# (issue 8, docs/approvals.md): a request under an approval profile waits;
# the requester, a wrong role and a missing criterion are refused; the same
# approver counts once; 2-of-3 approvals issue it; delivery, acknowledgement
# and decisions on closed requests; reject with reason; rework + resubmit
# and reopen are counted in the KPIs; escalation fires after the clock
# (CK_FAKE_TIME) passes escalate_after across a restart and widens the
# approvers; `policy explain` for automatic, approval and the high blast
# radius override. Usage: test_approvals.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
T=$CK_T

start_coordinator
URL=http://127.0.0.1:$CK_HTTP
ADMIN=$CERTKEEPER_TOKEN

restart() { # [env assignments...]: SIGTERM, wait, run again on the same ports
  kill "$CK_COORD_PID"
  wait "$CK_COORD_PID" || fail "coordinator exit status"
  env "$@" "$CK_COORD" run --data-dir "$CK_DATA" --listen-http 127.0.0.1:$CK_HTTP \
    --listen-https 127.0.0.1:$CK_HTTPS --listen-gateway 127.0.0.1:$CK_GW \
    >>"$T/coord.log" 2>&1 &
  CK_COORD_PID=$!
  CK_PIDS="$CK_PIDS $CK_COORD_PID"
  wait_http "$URL/healthz" || fail "restart"
}
# as NAME CMD...: run the CLI with NAME's token; exit code in $RC
as() { n=$1; shift; RC=0
  CERTKEEPER_TOKEN=$(cat "$T/$n.token") "$CK_CLI" "$@" >"$T/out" 2>"$T/err" || RC=$?; }
jget() { python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$T/out" "$1"; }
expect_rc() { [ "$RC" = "$1" ] || { cat "$T/out" "$T/err" >&2; fail "$2: exit $RC, expected $1"; }; }

cp "$T/admin.token" "$T/admin.token.keep"
for u in alice:operator bob:approver carol:approver dave:approver olga:operator; do
  "$CK_CLI" api-token create --name "${u%%:*}" --role "${u#*:}" >"$T/${u%%:*}.token" \
    || fail "api-token create $u"
done
ok "tokens for a requester, three approvers and a second operator"

cat >"$T/codesign.json" <<'J'
{"name": "codesign", "workflow": "approval", "key_types": ["ec-p256"],
 "validity": {"max": "365d", "default": "90d"},
 "san": {"dns": [".test"], "max": 5}, "cn": "copy_to_san",
 "key_usage": ["digitalSignature"], "ext_key_usage": ["codeSigning"],
 "access": {"agent_groups": [], "roles": ["admin", "operator"], "owners": []},
 "purpose": "code-signing",
 "approval": {"mode": "always",
              "approvers": {"roles": ["approver"], "required": 2},
              "criteria": ["identity-verified", "key-in-hsm"],
              "escalate_after": "1h", "escalate_to": ["admin"]}}
J
cat >"$T/wide.json" <<'J'
{"name": "wide", "workflow": "automatic", "key_types": ["ec-p256"],
 "validity": {"max": "90d", "default": "30d"},
 "san": {"dns": [".test", ".example.com"], "max": 100}, "cn": "copy_to_san",
 "ext_key_usage": ["serverAuth"],
 "access": {"agent_groups": [], "roles": ["admin", "operator"], "owners": []},
 "approval": {"mode": "auto"}}
J
"$CK_CLI" profile set codesign --file "$T/codesign.json" >/dev/null || fail "profile codesign"
"$CK_CLI" profile set wide --file "$T/wide.json" >/dev/null || fail "profile wide"
"$CK_CLI" profile show codesign >"$T/pshow" || fail "profile show"
grep -q '"escalate_after": "1h"' "$T/pshow" || fail "approval block round-trips"
ok "profiles with approval rules stored and shown"

bad='{"name":"bad","workflow":"approval","key_types":["ec-p256"],"validity":{"max":"9d","default":"9d"},"san":{"dns":[".test"]},"ext_key_usage":["serverAuth"],"access":{"roles":["admin"]},"approval":{"mode":"auto"}}'
echo "$bad" >"$T/bad.json"
if "$CK_CLI" profile set bad --file "$T/bad.json" 2>"$T/err" >/dev/null; then fail "contradicting mode accepted"; fi
grep -q 'approval.mode' "$T/err" || fail "message names approval.mode: $(cat "$T/err")"
ok "a profile whose approval mode contradicts its workflow is refused"

# ---------------------------------------------------------------- explain
csr app1.test "$T/k1" "$T/c1.csr"
as alice policy explain --profile tls-server --csr "$T/c1.csr" --json; expect_rc 0 "explain auto"
[ "$(jget outcome)" = automatic ] || fail "tls-server explained as $(jget outcome)"
as alice policy explain --profile codesign --csr "$T/c1.csr" --json; expect_rc 0 "explain codesign"
[ "$(jget outcome)" = admin ] || fail "codesign explained as $(jget outcome)"
[ "$(jget route.purpose)" = code-signing ] || fail "purpose $(jget route.purpose)"
names=""; i=0
while [ $i -lt 24 ]; do names="$names h$i.example.com"; i=$((i + 1)); done
# shellcheck disable=SC2086
csr wide0.example.com "$T/kw" "$T/cw.csr" $names
as alice policy explain --profile wide --csr "$T/cw.csr" --json; expect_rc 0 "explain wide"
[ "$(jget outcome)" = admin ] || fail "wide (25 external names) explained as $(jget outcome)"
[ "$(jget route.blast_radius)" = high ] || fail "blast radius $(jget route.blast_radius)"
jget reason | grep -q overrides || fail "reason does not say the override: $(jget reason)"
as alice policy explain --profile wide --csr "$T/c1.csr" --json; expect_rc 0 "explain wide small"
[ "$(jget outcome)" = automatic ] || fail "wide with one internal name: $(jget outcome)"
ok "policy explain: automatic, approval, and high blast radius overriding mode auto"
as alice cert issue --profile wide --csr "$T/cw.csr" --out "$T/cw.pem"; expect_rc 3 "wide issue waits"
[ ! -s "$T/cw.pem" ] || fail "a high blast radius certificate was issued at once"
ok "an automatic profile's high blast radius request waits (exit 3), nothing issued"

# ------------------------------------------------------ submit and approve
as alice request submit --profile codesign --csr "$T/c1.csr" --justification "release signing" --json
expect_rc 3 "submit waits"
R1=$(jget request.id)
[ "$(jget request.state)" = pending ] || fail "state $(jget request.state)"
[ "$(jget request.route.decision)" = admin ] || fail "route $(jget request.route.decision)"
ok "a request under the approval profile waits ($R1, exit 3, route stored)"

as alice request approve "$R1" --confirm identity-verified --confirm key-in-hsm; expect_rc 4 "self-approval"
grep -q "separation of duties" "$T/err" || fail "self approval message: $(cat "$T/err")"
ok "approval by the requester is refused"
as olga request approve "$R1" --confirm identity-verified --confirm key-in-hsm; expect_rc 4 "wrong role"
grep -q "not an approver" "$T/err" || fail "wrong role message: $(cat "$T/err")"
as admin request approve "$R1" --confirm identity-verified --confirm key-in-hsm; expect_rc 4 "admin before escalation"
ok "approval by a role the profile does not list is refused"
as bob request approve "$R1" --confirm identity-verified; expect_rc 4 "missing criterion"
grep -q "key-in-hsm" "$T/err" || fail "criterion message: $(cat "$T/err")"
as bob request approve "$R1" --confirm identity-verified --confirm bogus --confirm key-in-hsm; expect_rc 11 "unknown criterion"
ok "an approval must confirm every criterion, and only known ones"

as bob request approve "$R1" --confirm identity-verified --confirm key-in-hsm --json; expect_rc 0 "bob approves"
[ "$(jget request.approvals_count)" = 1 ] || fail "count after bob: $(jget request.approvals_count)"
as bob request approve "$R1" --confirm identity-verified --confirm key-in-hsm; expect_rc 7 "double approval"
grep -q "counts once" "$T/err" || fail "double approval message: $(cat "$T/err")"
as bob request show "$R1" --json
[ "$(jget request.approvals_count)" = 1 ] && [ "$(jget request.state)" = pending ] \
  || fail "double approval counted: $(jget request.approvals_count) $(jget request.state)"
ok "a second approval by the same approver is refused and counted once"

as carol request approve "$R1" --confirm identity-verified --confirm key-in-hsm --json; expect_rc 0 "carol approves"
[ "$(jget request.state)" = issued ] || fail "after 2 of 3: $(jget request.state) $(cat "$T/err")"
FP=$(jget request.cert_fingerprint)
as alice request cert "$R1" --out "$T/r1.pem"; expect_rc 0 "download"
openssl verify -CAfile "$T/root.pem" -untrusted "$T/r1.pem" "$T/r1.pem" >/dev/null 2>&1 \
  || fail "issued chain does not verify"
openssl x509 -in "$T/r1.pem" -noout -ext extendedKeyUsage 2>/dev/null | grep -q "Code Signing" \
  || fail "not a code signing certificate"
curl -sf -H "Authorization: Bearer $(cat "$T/alice.token")" --cacert "$T/root.pem" \
  "https://127.0.0.1:$CK_HTTPS/api/v1/requests/$R1/certificate" >"$T/r1.dl" || fail "REST download"
cmp -s "$T/r1.dl" "$T/r1.pem" || fail "REST download differs"
"$CK_CLI" cert show "$FP" >/dev/null 2>&1 || fail "issued certificate not in the inventory"
ok "2-of-3 approvals issue it; chain delivered over REST and CLI, in the inventory"

as dave request approve "$R1" --confirm identity-verified --confirm key-in-hsm; expect_rc 7 "approve issued"
as alice request ack "$R1" --json; expect_rc 0 "ack"
[ "$(jget request.state)" = closed ] || fail "after ack: $(jget request.state)"
as dave request reject "$R1" --reason "too late"; expect_rc 7 "reject closed"
as bob request rework "$R1" --note "too late"; expect_rc 7 "rework closed"
ok "acknowledgement closes the request; decisions on closed requests are refused (409)"

# ------------------------------------------------------------------ reject
csr app2.test "$T/k2" "$T/c2.csr"
as alice request submit --profile codesign --csr "$T/c2.csr" --justification "test" --json; expect_rc 3 "submit 2"
R2=$(jget request.id)
as dave request reject "$R2"; expect_rc 1 "reject needs --reason"
as dave request reject "$R2" --reason "no ticket number" --json; expect_rc 0 "reject"
[ "$(jget request.state)" = rejected ] && [ "$(jget request.reason)" = "no ticket number" ] \
  || fail "after reject: $(jget request.state) / $(jget request.reason)"
as bob request approve "$R2" --confirm identity-verified --confirm key-in-hsm; expect_rc 7 "approve rejected"
ok "reject with reason; the rejected request takes no more decisions"
rows=$(python3 -c 'import sqlite3,sys
db=sqlite3.connect(sys.argv[1], timeout=10)
print(" ".join("%d:%d" % r for r in db.execute("SELECT state, count(*) FROM requests WHERE profile = ? GROUP BY state ORDER BY state", ("codesign",))))' \
  "$CK_DATA/certkeeper.db") || fail "requests table"
[ "$rows" = "1:1 2:1" ] || fail "requests rows (state:count) are '$rows', expected one issued, one refused"
ok "the requests table follows: the approved row issued, the rejected row refused"

# ------------------------------------------------------ rework and reopen
csr app3.test "$T/k3" "$T/c3.csr"
as alice request submit --profile codesign --csr "$T/c3.csr" --justification "v1" --json; expect_rc 3 "submit 3"
R3=$(jget request.id)
as bob request approve "$R3" --confirm identity-verified --confirm key-in-hsm; expect_rc 0 "bob approves R3"
as carol request rework "$R3" --note "use a P-256 key from the HSM" --json; expect_rc 0 "rework"
[ "$(jget request.state)" = rework ] || fail "after rework: $(jget request.state)"
as bob request resubmit "$R3" --justification "x"; expect_rc 4 "resubmit by someone else"
csr app3b.test "$T/k3b" "$T/c3b.csr"
as alice request resubmit "$R3" --csr "$T/c3b.csr" --justification "v2, HSM key" --json; expect_rc 0 "resubmit"
[ "$(jget request.state)" = pending ] && [ "$(jget request.rework_count)" = 1 ] \
  && [ "$(jget request.approvals_count)" = 0 ] || fail "after resubmit: $(jget request.state) rework $(jget request.rework_count)"
as bob request approve "$R3" --confirm identity-verified --confirm key-in-hsm; expect_rc 0 "bob again (new round)"
as dave request approve "$R3" --confirm identity-verified --confirm key-in-hsm --json; expect_rc 0 "dave"
[ "$(jget request.state)" = issued ] || fail "R3 after approvals: $(jget request.state)"
as alice request cert "$R3" --out "$T/r3.pem"; expect_rc 0 "download R3"
openssl x509 -in "$T/r3.pem" -noout -ext subjectAltName | grep -q app3b.test || fail "R3 not issued from the resubmitted CSR"
as alice request reopen "$R3" --reason "wrong key usage" --json; expect_rc 0 "reopen"
[ "$(jget request.state)" = pending ] && [ "$(jget request.reopen_count)" = 1 ] \
  || fail "after reopen: $(jget request.state) reopen $(jget request.reopen_count)"
ok "rework + resubmit (new CSR, new round) and reopen after delivery"

curl -sf -H "Authorization: Bearer $ADMIN" --cacert "$T/root.pem" \
  "https://127.0.0.1:$CK_HTTPS/api/v1/requests/kpis" >"$T/out" || fail "kpis"
[ "$(jget rework_total)" = 1 ] && [ "$(jget reopen_total)" = 1 ] \
  && [ "$(jget requests_with_rework)" = 1 ] && [ "$(jget requests_reopened)" = 1 ] \
  && [ "$(jget rejected)" = 1 ] && [ "$(jget issued)" -ge 2 ] || fail "kpis: $(cat "$T/out")"
as admin request kpis --json; expect_rc 0 "kpis cli"
[ "$(jget approval_latency_s.max)" -ge 0 ] || fail "latency"
ok "rework and reopen counts, rejections and approval latency in the KPIs"

as admin request list --state pending --json; expect_rc 0 "list pending"
python3 -c 'import json,sys; ids=[i["id"] for i in json.load(open(sys.argv[1]))["items"]]; sys.exit(0 if sys.argv[2] in ids and sys.argv[3] not in ids else 1)' \
  "$T/out" "$R3" "$R1" || fail "list --state pending"
as admin request list --state bogus; expect_rc 11 "bad state"
ok "request list filters by state"

# -------------------------------------------------------------- escalation
csr app4.test "$T/k4" "$T/c4.csr"
as alice request submit --profile codesign --csr "$T/c4.csr" --justification "esc" --json; expect_rc 3 "submit 4"
R4=$(jget request.id)
as admin request show "$R4" --json
[ "$(jget request.escalations)" = 0 ] || fail "escalated too early"
restart CK_FAKE_TIME=+2h
i=0
while :; do
  as admin request show "$R4" --json
  [ "$(jget request.escalations)" -ge 1 ] && break
  i=$((i + 1)); [ $i -lt 100 ] || fail "no escalation after the clock passed escalate_after"
  curl -sf -o /dev/null "$URL/healthz"
done
grep -q '"request.escalated"\|request.escalated' "$T/coord.log" || fail "escalation not logged"
as admin request approve "$R4" --confirm identity-verified --confirm key-in-hsm --json; expect_rc 0 "admin after escalation"
[ "$(jget request.approvals_count)" = 1 ] || fail "escalated approval not counted"
ok "escalation fires after escalate_after (clock seam, across a restart) and admits escalate_to"

# the last approval when issuance cannot happen (profile deleted meanwhile)
"$CK_CLI" profile delete codesign >/dev/null 2>&1 || fail "profile delete"
as bob request approve "$R4" --confirm identity-verified --confirm key-in-hsm --json; expect_rc 0 "approve, issuance fails"
[ "$(jget request.state)" = approved ] || fail "after a failed issuance: $(jget request.state)"
jget request.error | grep -q codesign || fail "issuance error not shown: $(jget request.error)"
as bob request issue "$R4"; [ "$RC" != 0 ] || fail "retry without the profile succeeded"
"$CK_CLI" profile set codesign --file "$T/codesign.json" >/dev/null 2>&1 || fail "profile restored"
as bob request issue "$R4" --json; expect_rc 0 "retry"
[ "$(jget request.state)" = issued ] && [ -z "$(jget request.error)" ] || fail "after retry: $(jget request.state)"
ok "a failed fulfilment leaves the request approved with the error; request issue retries it"

"$CK_CLI" audit list --json >"$T/audit" 2>/dev/null || "$CK_CLI" audit list >"$T/audit" || fail "audit list"
for a in request.submit request.approve request.issue request.reject request.rework \
  request.resubmit request.reopen request.ack request.escalate; do
  grep -q "$a" "$T/audit" || fail "no $a in the audit trail"
done
ok "every step is in the audit trail"
echo "all $CK_CHECKS checks passed"
