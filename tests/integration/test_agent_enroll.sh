# test_agent_enroll.sh — `certkeeper-agent enroll` against the REAL
# coordinator (init + run on free loopback ports, token from the
# `certkeeper` CLI): enrolled -> state files with the right modes, the
# identity certificate verifies against the coordinator's root, the agent is
# listed by `certkeeper agent list --json`; the same token again -> refused,
# nothing written; a wrong --ca-fingerprint -> pin mismatch, nothing written;
# an existing enrollment is not overwritten without --force.
# Skips (77) when the coordinator or the agent binary is not built.
. "$(dirname "$0")/lib.sh" "$1"

CK_AGENT=${CK_AGENT_BIN:-$CK_BUILD/agent/certkeeper-agent}
if [ ! -x "$CK_AGENT" ]; then
  echo "skipped: certkeeper-agent is not built (agent/main.c missing)"
  exit 77
fi
if ! "$CK_AGENT" enroll --help >/dev/null 2>&1; then
  echo "skipped: this certkeeper-agent has no enroll command yet"
  exit 77
fi

mode() { stat -c %a "$1"; }
# clean: no sanitizer report in an output (the ASan build runs this too)
clean() { ! grep -q "Sanitizer" "$1" || fail "sanitizer report: $(cat "$1")"; }

start_coordinator
FP=$(openssl x509 -in "$CK_T/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
[ -n "$FP" ] || fail "root fingerprint"

new_token() {
  "$CK_CLI" token create --group web --profile tls-server --ttl 1h >"$CK_T/tok.out" 2>&1 \
    || { cat "$CK_T/tok.out"; fail "token create"; }
  grep -o 'cke_[^[:space:]]*' "$CK_T/tok.out" | head -n 1
}
TOKEN=$(new_token)
[ -n "$TOKEN" ] || fail "no token printed"

# 1. enroll (token from a file: not in the process list)
S1=$CK_T/state1
(umask 077; printf '%s\n' "$TOKEN" >"$CK_T/token")
"$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token-file "$CK_T/token" --token "$TOKEN" \
  --ca-fingerprint "$FP" --state-dir "$S1" >"$CK_T/e0.out" 2>&1
[ $? -eq 2 ] || fail "--token with --token-file not a usage error: $(cat "$CK_T/e0.out")"
: >"$CK_T/empty-token"
"$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token-file "$CK_T/empty-token" \
  --ca-fingerprint "$FP" --state-dir "$S1" >"$CK_T/e0.out" 2>&1 && fail "empty token file accepted"
grep -q "no token" "$CK_T/e0.out" || fail "unclear message: $(cat "$CK_T/e0.out")"
"$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token-file "$CK_T/token" --ca-fingerprint "$FP" \
  --state-dir "$S1" --name enroll-test-host >"$CK_T/e1.out" 2>&1 \
  || { cat "$CK_T/e1.out"; fail "enroll"; }
grep -q "enrolled as agent" "$CK_T/e1.out" || fail "no success message: $(cat "$CK_T/e1.out")"
grep -q "$TOKEN" "$CK_T/e1.out" && fail "the token was printed"
clean "$CK_T/e1.out"
ok "enroll succeeded"
[ "$(mode "$S1")" = 700 ] || fail "state dir mode $(mode "$S1")"
[ "$(mode "$S1/identity.key")" = 600 ] || fail "key mode $(mode "$S1/identity.key")"
[ "$(mode "$S1/identity.crt")" = 644 ] || fail "cert mode"
[ "$(mode "$S1/ca.pem")" = 644 ] || fail "ca mode"
[ -f "$S1/agent.conf" ] || fail "agent.conf missing"
ok "state files and modes"
AGENT_ID=$(sed -n 's/^id = //p' "$S1/agent.conf")
[ -n "$AGENT_ID" ] || fail "no agent id in agent.conf"
grep -q "^server = 127.0.0.1:$CK_GW\$" "$S1/agent.conf" || fail "server not in agent.conf"
cmp -s "$S1/ca.pem" "$CK_T/root.pem" \
  || [ "$(openssl x509 -in "$S1/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)" = "$FP" ] \
  || fail "ca.pem is not the pinned root"
ok "agent.conf and ca.pem"
openssl verify -CAfile "$CK_T/root.pem" -untrusted "$S1/identity.crt" "$S1/identity.crt" \
  >"$CK_T/verify.out" 2>&1 || { cat "$CK_T/verify.out"; fail "identity cert does not verify"; }
K=$(openssl pkey -in "$S1/identity.key" -pubout | sha256sum)
C=$(openssl x509 -in "$S1/identity.crt" -noout -pubkey | sha256sum)
[ "$K" = "$C" ] || fail "identity key and certificate differ"
ok "identity certificate verifies against the root and matches the key"
"$CK_CLI" agent list --json >"$CK_T/agents.json" 2>&1 || { cat "$CK_T/agents.json"; fail "agent list"; }
grep -q "$AGENT_ID" "$CK_T/agents.json" || fail "agent $AGENT_ID not listed: $(cat "$CK_T/agents.json")"
grep -q '"version": *"[0-9]' "$CK_T/agents.json" || fail "agent version not recorded: $(cat "$CK_T/agents.json")"
ok "agent listed by certkeeper agent list --json, with its version"

# 2. the same state dir again: refused locally without --force
"$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token "$TOKEN" --ca-fingerprint "$FP" \
  --state-dir "$S1" >"$CK_T/e2.out" 2>&1 && fail "re-enroll over existing state succeeded"
grep -q -- "--force" "$CK_T/e2.out" || fail "unclear message: $(cat "$CK_T/e2.out")"
clean "$CK_T/e2.out"
ok "existing enrollment not overwritten without --force"

# 3. the same token again: refused with the coordinator's message, nothing written
S2=$CK_T/state2
"$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token "$TOKEN" --ca-fingerprint "$FP" \
  --state-dir "$S2" >"$CK_T/e3.out" 2>&1 && fail "reused token accepted"
grep -q "refused" "$CK_T/e3.out" || fail "unclear message: $(cat "$CK_T/e3.out")"
grep -q "$TOKEN" "$CK_T/e3.out" && fail "the token was printed"
[ ! -e "$S2/identity.key" ] && [ ! -e "$S2/agent.conf" ] || fail "state written after refusal"
clean "$CK_T/e3.out"
ok "reused token refused: $(cat "$CK_T/e3.out")"

# 4. wrong CA fingerprint: pin mismatch, nothing written (fresh token unused)
TOKEN2=$(new_token)
S3=$CK_T/state3
BAD=0000000000000000000000000000000000000000000000000000000000000000
"$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token "$TOKEN2" --ca-fingerprint $BAD \
  --state-dir "$S3" >"$CK_T/e4.out" 2>&1 && fail "wrong pin accepted"
grep -qi "pin" "$CK_T/e4.out" || fail "unclear message: $(cat "$CK_T/e4.out")"
[ ! -e "$S3/identity.key" ] && [ ! -e "$S3/agent.conf" ] || fail "state written after pin mismatch"
clean "$CK_T/e4.out"
ok "wrong fingerprint: $(cat "$CK_T/e4.out")"

# 5. connection refused: a closed port, clear message
PORT=$(free_port)
"$CK_AGENT" enroll --server 127.0.0.1:$PORT --token "$TOKEN2" --ca-fingerprint "$FP" \
  --state-dir "$S3" >"$CK_T/e5.out" 2>&1 && fail "enroll to a closed port succeeded"
grep -qi "connection refused" "$CK_T/e5.out" || fail "no OS error in: $(cat "$CK_T/e5.out")"
clean "$CK_T/e5.out"
ok "connection refused: $(cat "$CK_T/e5.out")"

# 6. --force with a fresh token replaces the enrollment
"$CK_AGENT" enroll --server 127.0.0.1:$CK_GW --token "$TOKEN2" --ca-fingerprint "$FP" \
  --state-dir "$S1" --force >"$CK_T/e6.out" 2>&1 || { cat "$CK_T/e6.out"; fail "--force"; }
AGENT_ID2=$(sed -n 's/^id = //p' "$S1/agent.conf")
[ -n "$AGENT_ID2" ] && [ "$AGENT_ID2" != "$AGENT_ID" ] || fail "--force did not replace the id"
clean "$CK_T/e6.out"
ok "--force replaces the enrollment"
echo "all $CK_CHECKS checks passed"
