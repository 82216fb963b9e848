#!/bin/sh
# test_import_ca.sh — `certkeeper-coordinator init --import-ca CERT KEY`
# adopting a CA made with the openssl CLI (a root and an intermediate; the
# intermediate + root in CERT, the intermediate's key in KEY): init, run,
# /ca/chain.pem serves the imported chain, the coordinator's TLS certificate
# and a certificate issued with the CLI verify against the imported root;
# a key that does not match, a non-CA certificate, an intermediate with an
# unrelated root in CERT, a file without a certificate and a missing key
# are refused with a clear message and create nothing.
# Usage: test_import_ca.sh BUILD_DIR
. "$(dirname "$0")/lib.sh" "$1"
T=$CK_T
command -v openssl >/dev/null || { echo "skipped: needs the openssl CLI"; exit 77; }

# --- an existing PKI, made with openssl ------------------------------------
cat >"$T/ext.cnf" <<'EOF'
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:leaf.example.test
EOF
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null || fail "genpkey"; }
self_signed() { # key subject ext-section out
  openssl req -new -key "$1" -subj "$2" -out "$T/x.csr" 2>/dev/null || fail "req $2"
  openssl x509 -req -in "$T/x.csr" -signkey "$1" -days 3650 -extfile "$T/ext.cnf" \
    -extensions "$3" -out "$4" 2>"$T/o.log" || { cat "$T/o.log"; fail "self-sign $2"; }
}
ec_key "$T/root.key"
self_signed "$T/root.key" "/O=Example Corp/CN=Example Root CA" root "$T/root.crt"
sign() { # key subject ext-section days out issuer-cert issuer-key
  openssl req -new -key "$1" -subj "$2" -out "$T/x.csr" 2>/dev/null || fail "req $2"
  openssl x509 -req -in "$T/x.csr" -CA "$6" -CAkey "$7" -CAcreateserial -days "$4" \
    -extfile "$T/ext.cnf" -extensions "$3" -out "$5" 2>"$T/o.log" || { cat "$T/o.log"; fail "sign $2"; }
}
ec_key "$T/inter.key"
sign "$T/inter.key" "/O=Example Corp/CN=Example Issuing CA 1" inter 1825 "$T/inter.crt" "$T/root.crt" "$T/root.key"
cat "$T/inter.crt" "$T/root.crt" >"$T/bundle.pem"
openssl verify -CAfile "$T/root.crt" "$T/inter.crt" >/dev/null || fail "openssl's own chain"

# refusal helper: init must fail, print the expected message, create nothing
refuse_init() { # what message-regexp cert key
  d=$T/refused-$CK_CHECKS
  if "$CK_COORD" init --data-dir "$d" --import-ca "$3" "$4" --admin-token-out "$d.token" \
      >"$T/ri.log" 2>&1; then
    fail "init --import-ca accepted $1"
  fi
  grep -qiE "$2" "$T/ri.log" || fail "$1: unclear message: $(cat "$T/ri.log")"
  [ -e "$d" ] && fail "$1: refused init left $d behind: $(ls -R "$d")"
  [ -e "$d.token" ] && fail "$1: refused init wrote a token"
  ok "refused $1: $(head -n 1 "$T/ri.log")"
}

# --- refusals first (each in a fresh directory) ------------------------------
ec_key "$T/other.key"
refuse_init "a key that does not match the certificate" "key.*does not match" "$T/bundle.pem" "$T/other.key"
ec_key "$T/leaf.key"
sign "$T/leaf.key" "/CN=leaf.example.test" leaf 365 "$T/leaf.crt" "$T/inter.crt" "$T/inter.key"
refuse_init "a certificate that is not a CA" "not a CA" "$T/leaf.crt" "$T/leaf.key"
ec_key "$T/root2.key"
self_signed "$T/root2.key" "/CN=Unrelated Root" root "$T/root2.crt"
cat "$T/inter.crt" "$T/root2.crt" >"$T/wrong-bundle.pem"
refuse_init "an intermediate followed by an unrelated root" "does not chain|not issued|chain" \
  "$T/wrong-bundle.pem" "$T/inter.key"
printf 'garbage\n' >"$T/garbage.pem"
refuse_init "a file without a certificate" "no certificate|pem|certificate" "$T/garbage.pem" "$T/inter.key"
refuse_init "a missing key file" "no-such.key" "$T/bundle.pem" "$T/no-such.key"

# --- adopt the CA ---------------------------------------------------------------
CK_DATA=$T/data
"$CK_COORD" init --data-dir "$CK_DATA" --import-ca "$T/bundle.pem" "$T/inter.key" \
  --admin-token-out "$T/admin.token" >"$T/init.log" 2>&1 || { cat "$T/init.log"; fail "init --import-ca"; }
root_fp=$(openssl x509 -in "$T/root.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
grep -q "$root_fp" "$T/init.log" || fail "init does not print the root fingerprint to pin: $(cat "$T/init.log")"
for k in "$CK_DATA"/ca/*.key "$CK_DATA"/tls/server.key; do
  [ "$(stat -c %a "$k")" = 600 ] || fail "$k mode $(stat -c %a "$k")"
done
if "$CK_COORD" init --data-dir "$CK_DATA" --import-ca "$T/bundle.pem" "$T/inter.key" \
    --admin-token-out "$T/x.token" >"$T/init2.log" 2>&1; then
  fail "second init over an imported CA succeeded"
fi
grep -q "refusing" "$T/init2.log" || fail "second init message: $(cat "$T/init2.log")"
ok "init --import-ca: adopted, prints the root fingerprint, keys 0600, no overwrite"

CK_HTTP=$(free_port); CK_HTTPS=$(free_port); CK_GW=$(free_port)
"$CK_COORD" run --data-dir "$CK_DATA" --listen-http 127.0.0.1:$CK_HTTP \
  --listen-https 127.0.0.1:$CK_HTTPS --listen-gateway 127.0.0.1:$CK_GW >"$T/coord.log" 2>&1 &
CK_COORD_PID=$!
CK_PIDS="$CK_PIDS $CK_COORD_PID"
wait_http "http://127.0.0.1:$CK_HTTP/healthz" || fail "coordinator not healthy"
curl -sf "http://127.0.0.1:$CK_HTTP/ca/chain.pem" -o "$T/chain.pem" || fail "GET /ca/chain.pem"
fps() { # the SHA-256 fingerprints of every certificate in a PEM file, in order
  awk -v d="$T" '/BEGIN CERT/{n++} {print > (d "/split." n ".pem")}' "$1"
  for f in "$T"/split.*.pem; do openssl x509 -in "$f" -noout -fingerprint -sha256; done
  rm -f "$T"/split.*.pem
}
[ "$(fps "$T/chain.pem")" = "$(fps "$T/bundle.pem")" ] ||
  fail "chain.pem is not the imported chain: $(fps "$T/chain.pem")"
ok "/ca/chain.pem serves the imported chain (issuing CA, then root)"

# the coordinator's own TLS certificate chains to the imported root
curl -sf --cacert "$T/root.crt" -o /dev/null "https://127.0.0.1:$CK_HTTPS/api/v1/certificates" \
  -H "Authorization: Bearer $(cat "$T/admin.token")" || fail "HTTPS does not verify against the imported root"
export CERTKEEPER_SERVER=https://127.0.0.1:$CK_HTTPS CERTKEEPER_CACERT=$T/root.crt
CERTKEEPER_TOKEN=$(cat "$T/admin.token"); export CERTKEEPER_TOKEN

csr app.test "$T/app.key" "$T/app.csr" www.app.test
"$CK_CLI" cert issue --profile tls-server --csr "$T/app.csr" --out "$T/app.pem" >"$T/issue.log" 2>&1 ||
  { cat "$T/issue.log"; fail "issue under the imported CA"; }
openssl verify -CAfile "$T/root.crt" -untrusted "$T/inter.crt" "$T/app.pem" >"$T/v.log" 2>&1 ||
  fail "issued certificate does not verify against the imported root: $(cat "$T/v.log")"
[ "$(openssl x509 -in "$T/app.pem" -noout -issuer)" = "$(openssl x509 -in "$T/inter.crt" -noout -subject | sed 's/^subject/issuer/')" ] ||
  fail "issuer is not the imported intermediate"
ok "HTTPS and a CLI-issued certificate verify against the imported root"

"$CK_CLI" audit verify >"$T/av.log" 2>&1 || { cat "$T/av.log"; fail "audit verify"; }
kill -TERM "$CK_COORD_PID"
wait "$CK_COORD_PID"; rc=$?
CK_PIDS=""
[ "$rc" = 0 ] || fail "coordinator exit status $rc after SIGTERM"
ok "audit verify; SIGTERM: clean exit"
echo "$CK_CHECKS passed, 0 failed"
