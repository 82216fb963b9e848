#!/bin/sh
# test_est_interop.sh — EST (RFC 7030 / RFC 8951) with curl and openssl as
# the client, the way RFC 7030's examples and Appendix A drive a server:
# cacerts, csrattrs, simpleenroll with HTTP Basic, simplereenroll with the
# issued certificate as TLS client certificate, serverkeygen, a labelled
# fleet and a one-time password. Every certificate answer is decoded with
# `openssl pkcs7 -print_certs` and verified with `openssl verify`.
. "$(dirname "$0")/lib.sh" "$1"
command -v curl >/dev/null && command -v openssl >/dev/null || { echo "skipped: needs curl and openssl"; exit 77; }
start_coordinator
T=$CK_T
EST=https://127.0.0.1:$CK_HTTPS/.well-known/est
c() { curl -s --cacert "$T/root.pem" --max-time 30 "$@"; }

printf 'fleet-secret-%s' "$(openssl rand -hex 8)" >"$T/secret"
SECRET=$(cat "$T/secret")
"$CK_CLI" est fleet create sensors --profile tls-server --secret-file "$T/secret" \
  --pattern '*.sensors.test' --pattern '{serial}.dev.test' --owner ops --rate 100/min \
  >"$T/fc.log" 2>&1 || { cat "$T/fc.log"; fail "est fleet create"; }
ok "est fleet create"

# p7 FILE OUT: base64 certs-only PKCS#7 -> PEM certificates
p7() { openssl base64 -d -in "$1" -out "$1.der" && openssl pkcs7 -inform DER -in "$1.der" -print_certs -out "$2"; }
# leaf PEMFILE OUT: the first certificate of a PEM bundle
leaf() { awk '/BEGIN CERT/{n++} n==1{print} /END CERT/{if(n==1) exit}' "$1" >"$2"; }

# --- cacerts (RFC 7030 4.1)
hdr=$(c -D - -o "$T/ca.b64" "$EST/cacerts")
echo "$hdr" | grep -qi '^content-type: application/pkcs7-mime; smime-type=certs-only' || fail "cacerts content type: $hdr"
echo "$hdr" | grep -qi '^content-transfer-encoding: base64' || fail "cacerts transfer encoding"
p7 "$T/ca.b64" "$T/ca.pem" 2>/dev/null || fail "cacerts is not base64 certs-only PKCS#7"
[ "$(grep -c 'BEGIN CERT' "$T/ca.pem")" = 2 ] || fail "cacerts should hold the issuing CA and the root"
openssl verify -CAfile "$T/root.pem" "$T/ca.pem" >/dev/null 2>&1 || fail "cacerts: issuing CA does not verify"
ok "cacerts: certs-only PKCS#7, issuing CA + root"

# --- csrattrs (RFC 7030 4.5)
code=$(c -o "$T/attrs.b64" -w '%{http_code} %{content_type}' "$EST/csrattrs")
[ "$code" = "200 application/csrattrs" ] || fail "csrattrs answered $code"
openssl base64 -d -in "$T/attrs.b64" | openssl asn1parse -inform DER >"$T/attrs.txt" 2>&1 || fail "csrattrs is not DER"
grep -q ecdsa-with-SHA256 "$T/attrs.txt" || fail "csrattrs: $(cat "$T/attrs.txt")"
ok "csrattrs: DER CsrAttrs"

# --- simpleenroll with HTTP Basic (RFC 7030 4.2.1); body with line breaks
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/d1.key" \
  -subj "/CN=a1.sensors.test" -addext "subjectAltName=DNS:a1.sensors.test" -outform DER -out "$T/d1.csr" 2>/dev/null
openssl base64 -in "$T/d1.csr" >"$T/d1.b64"
hdr=$(c -D - -u "sensors:$SECRET" -H 'Content-Type: application/pkcs10' \
  -H 'Content-Transfer-Encoding: base64' --data-binary @"$T/d1.b64" -o "$T/e1.b64" "$EST/simpleenroll")
echo "$hdr" | head -1 | grep -q ' 200' || fail "simpleenroll: $hdr $(cat "$T/e1.b64")"
echo "$hdr" | grep -qi '^content-type: application/pkcs7-mime; smime-type=certs-only' || fail "simpleenroll content type"
p7 "$T/e1.b64" "$T/e1.pem" 2>/dev/null || fail "simpleenroll answer is not PKCS#7"
leaf "$T/e1.pem" "$T/d1.pem"
openssl verify -CAfile "$T/root.pem" -untrusted "$T/chain.pem" "$T/d1.pem" >/dev/null || fail "issued certificate does not verify"
openssl x509 -in "$T/d1.pem" -noout -subject | grep -q 'CN *= *a1.sensors.test' || fail "subject"
ok "simpleenroll (Basic): certificate verifies"

# the inventory shows the fleet's owner on it
fp=$(openssl x509 -in "$T/d1.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
"$CK_CLI" cert show "$fp" --json >"$T/show.json" || fail "cert show"
grep -q '"owner": *"ops"' "$T/show.json" || fail "issued certificate lacks the fleet owner: $(cat "$T/show.json")"
ok "inventory: issued certificate recorded with the fleet's owner"

# body without line breaks (RFC 8951 3: both are base64)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/d2.key" \
  -subj "/CN=a2.sensors.test" -outform DER -out "$T/d2.csr" 2>/dev/null
openssl base64 -A -in "$T/d2.csr" >"$T/d2.b64"
code=$(c -u "sensors:$SECRET" -H 'Content-Type: application/pkcs10' --data-binary @"$T/d2.b64" \
  -o "$T/e2.b64" -w '%{http_code}' "$EST/simpleenroll")
[ "$code" = 200 ] || fail "simpleenroll, one-line base64: $code $(cat "$T/e2.b64")"
ok "simpleenroll: base64 without line breaks"

# --- simplereenroll with the issued certificate as TLS client certificate (4.2.2)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/d1n.key" \
  -subj "/CN=a1.sensors.test" -addext "subjectAltName=DNS:a1.sensors.test" -outform DER -out "$T/d1n.csr" 2>/dev/null
openssl base64 -in "$T/d1n.csr" >"$T/d1n.b64"
code=$(c --cert "$T/d1.pem" --key "$T/d1.key" -H 'Content-Type: application/pkcs10' \
  --data-binary @"$T/d1n.b64" -o "$T/r1.b64" -w '%{http_code}' "$EST/simplereenroll")
[ "$code" = 200 ] || fail "simplereenroll answered $code: $(cat "$T/r1.b64")"
p7 "$T/r1.b64" "$T/r1.pem" 2>/dev/null || fail "simplereenroll answer is not PKCS#7"
leaf "$T/r1.pem" "$T/d1n.pem"
openssl verify -CAfile "$T/root.pem" -untrusted "$T/chain.pem" "$T/d1n.pem" >/dev/null || fail "re-enrolled certificate does not verify"
[ "$(openssl x509 -in "$T/d1n.pem" -noout -pubkey)" = "$(openssl pkey -in "$T/d1n.key" -pubout)" ] || fail "re-enrolled certificate lacks the new key"
ok "simplereenroll with the current certificate: new key, verifies"

# the renewed certificate can renew again (the chain of renewals stays in the fleet)
code=$(c --cert "$T/d1n.pem" --key "$T/d1n.key" -H 'Content-Type: application/pkcs10' \
  --data-binary @"$T/d1n.b64" -o /dev/null -w '%{http_code}' "$EST/simplereenroll")
[ "$code" = 200 ] || fail "second simplereenroll answered $code"
ok "simplereenroll with the renewed certificate"

# --- serverkeygen (4.4): multipart/mixed, application/pkcs8 + certs-only
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/d3.key" \
  -subj "/CN=a3.sensors.test" -addext "subjectAltName=DNS:a3.sensors.test" -outform DER -out "$T/d3.csr" 2>/dev/null
openssl base64 -in "$T/d3.csr" >"$T/d3.b64"
hdr=$(c -D - -u "sensors:$SECRET" -H 'Content-Type: application/pkcs10' --data-binary @"$T/d3.b64" \
  -o "$T/kg.txt" "$EST/serverkeygen")
echo "$hdr" | head -1 | grep -q ' 200' || fail "serverkeygen: $hdr $(cat "$T/kg.txt")"
ct=$(echo "$hdr" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Tt]ype: //p')
python3 - "$ct" "$T/kg.txt" "$T" <<'PY' || fail "serverkeygen multipart does not parse"
import base64, email, sys
ct, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
msg = email.message_from_bytes(b"Content-Type: " + ct.encode() + b"\r\n\r\n" + open(path, "rb").read())
assert msg.is_multipart(), "not multipart"
parts = msg.get_payload()
assert len(parts) == 2, "expected 2 parts"
assert parts[0].get_content_type() == "application/pkcs8", parts[0].get_content_type()
assert parts[1].get_content_type() == "application/pkcs7-mime", parts[1].get_content_type()
assert parts[1].get_param("smime-type") == "certs-only"
for p in parts:
    assert p["Content-Transfer-Encoding"].lower() == "base64"
open(out + "/kg.key.der", "wb").write(base64.b64decode(parts[0].get_payload()))
open(out + "/kg.p7.der", "wb").write(base64.b64decode(parts[1].get_payload()))
PY
openssl pkey -inform DER -in "$T/kg.key.der" -out "$T/kg.key" 2>/dev/null || fail "serverkeygen key is not PKCS#8"
openssl pkcs7 -inform DER -in "$T/kg.p7.der" -print_certs -out "$T/kg.pem" 2>/dev/null || fail "serverkeygen certificate part is not PKCS#7"
leaf "$T/kg.pem" "$T/kg.crt"
openssl verify -CAfile "$T/root.pem" -untrusted "$T/chain.pem" "$T/kg.crt" >/dev/null || fail "serverkeygen certificate does not verify"
[ "$(openssl x509 -in "$T/kg.crt" -noout -pubkey)" = "$(openssl pkey -in "$T/kg.key" -pubout)" ] || fail "serverkeygen key and certificate do not match"
ok "serverkeygen: PKCS#8 key + certs-only certificate, matching"

# --- a one-time password bound to a device id ({serial}) and a labelled fleet
printf 'other-secret-%s' "$(openssl rand -hex 8)" >"$T/secret2"
"$CK_CLI" est fleet create cams --profile tls-server --secret-file "$T/secret2" --label cameras \
  --pattern '{serial}.dev.test' >/dev/null 2>&1 || fail "create labelled fleet"
PW=$("$CK_CLI" est otp create --fleet cams --device cam-7) || fail "est otp create"
case "$PW" in ckd_*) ;; *) fail "otp create printed '$PW'";; esac
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/c7.key" \
  -subj "/CN=cam-7.dev.test" -outform DER -out "$T/c7.csr" 2>/dev/null
openssl base64 -in "$T/c7.csr" >"$T/c7.b64"
code=$(c -u "cams:$PW" -H 'Content-Type: application/pkcs10' --data-binary @"$T/c7.b64" \
  -o "$T/c7.out" -w '%{http_code}' "$EST/cameras/simpleenroll")
[ "$code" = 200 ] || fail "labelled simpleenroll with OTP answered $code: $(cat "$T/c7.out")"
p7 "$T/c7.out" "$T/c7.pem" 2>/dev/null || fail "labelled answer is not PKCS#7"
code=$(c -o "$T/lca.b64" -w '%{http_code}' "$EST/cameras/cacerts")
[ "$code" = 200 ] || fail "labelled cacerts answered $code"
ok "label + one-time password with {serial}: enrolled"

# --- IDevID: a device with a manufacturer certificate enrolls with it as TLS
# client certificate, no password. Creating the fleet over REST rebuilds the
# HTTPS listener's trust before it answers: no SIGHUP, no restart.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/mfg.key" \
  -subj "/O=Example Devices/CN=Example Manufacturer CA" -days 30 -out "$T/mfg.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null || fail "manufacturer CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/idev.key" \
  -subj "/serialNumber=SN4711/CN=Sensor SN4711" -out "$T/idev.csr" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$T/idev.ext"
openssl x509 -req -in "$T/idev.csr" -CA "$T/mfg.pem" -CAkey "$T/mfg.key" -CAcreateserial -days 30 \
  -extfile "$T/idev.ext" -out "$T/idev.pem" 2>/dev/null || fail "IDevID certificate"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ld.key" \
  -subj "/CN=sn4711.factory.test" -outform DER -out "$T/ld.csr" 2>/dev/null
openssl base64 -in "$T/ld.csr" >"$T/ld.b64"
# before the fleet exists, the manufacturer's certificate does not get through the handshake
code=$(c --cert "$T/idev.pem" --key "$T/idev.key" -H 'Content-Type: application/pkcs10' \
  --data-binary @"$T/ld.b64" -o "$T/ld.out" -w '%{http_code}' "$EST/simpleenroll")
[ "$code" = 000 ] || fail "an IDevID of no fleet answered $code: $(cat "$T/ld.out")"
# a connection opened now (with an EST-issued client certificate) and still
# open across the trust rebuilds below keeps its TLS context
mkdir -p "$T/keep"
python3 - "$CK_HTTPS" "$T/root.pem" "$T/d1n.pem" "$T/d1n.key" "$T/keep" <<'PY' &
import http.client, os, ssl, sys, time
port, root, cert, key, d = sys.argv[1:]
ctx = ssl.create_default_context(cafile=root)
ctx.load_cert_chain(cert, key)
ctx.check_hostname = False
conn = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=30)
def get(tag):
    conn.request("GET", "/.well-known/est/cacerts")
    r = conn.getresponse(); r.read()
    open(os.path.join(d, tag), "w").write(str(r.status))
get("first")
deadline = time.time() + 60
while not os.path.exists(os.path.join(d, "go")) and time.time() < deadline:
    time.sleep(0.05)
get("second")
PY
KEEP_PID=$!
CK_PIDS="$CK_PIDS $KEEP_PID"
i=0
until [ -f "$T/keep/first" ]; do
  i=$((i + 1)); [ $i -le 300 ] || fail "kept-open connection did not start"; sleep 0.1
done
printf 'factory-secret-%s' "$(openssl rand -hex 8)" >"$T/secret3"
"$CK_CLI" est fleet create factory --profile tls-server --secret-file "$T/secret3" --label factory \
  --pattern '{serial}.factory.test' --idevid-ca "$T/mfg.pem" >/dev/null 2>&1 || fail "create IDevID fleet"
code=$(c --cert "$T/idev.pem" --key "$T/idev.key" -H 'Content-Type: application/pkcs10' \
  --data-binary @"$T/ld.b64" -o "$T/ld.out" -w '%{http_code}' "$EST/factory/simpleenroll")
[ "$code" = 200 ] || fail "IDevID simpleenroll right after fleet create answered $code: $(cat "$T/ld.out")"
p7 "$T/ld.out" "$T/ld.pem" 2>/dev/null || fail "IDevID answer is not PKCS#7"
openssl pkcs7 -inform DER -in "$T/ld.out.der" -print_certs -noout | grep -q 'CN *= *sn4711.factory.test' || fail "IDevID: wrong subject"
grep -q 'event=coordinator.reload' "$T/coord.log" && fail "the coordinator was reloaded"
# {serial} is the IDevID's serial number: another device's name is refused
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ld2.key" \
  -subj "/CN=sn9999.factory.test" -outform DER -out "$T/ld2.csr" 2>/dev/null
openssl base64 -in "$T/ld2.csr" >"$T/ld2.b64"
code=$(c --cert "$T/idev.pem" --key "$T/idev.key" -H 'Content-Type: application/pkcs10' \
  --data-binary @"$T/ld2.b64" -o "$T/ld2.out" -w '%{http_code}' "$EST/factory/simpleenroll")
[ "$code" = 403 ] || fail "IDevID enrolling another serial answered $code"
ok "IDevID client certificate right after fleet create (no reload): enrolls as {serial}, other serials refused"
# deleting the fleet withdraws its anchor at once: the device is refused in the handshake
"$CK_CLI" est fleet delete factory >/dev/null || fail "est fleet delete factory"
code=$(c --cert "$T/idev.pem" --key "$T/idev.key" -H 'Content-Type: application/pkcs10' \
  --data-binary @"$T/ld.b64" -o "$T/ld3.out" -w '%{http_code}' "$EST/factory/simpleenroll")
[ "$code" = 000 ] || fail "IDevID of a deleted fleet answered $code: $(cat "$T/ld3.out")"
code=$(c --cert "$T/idev.pem" --key "$T/idev.key" -H 'Content-Type: application/pkcs10' \
  --data-binary @"$T/ld.b64" -o "$T/ld3.out" -w '%{http_code}' "$EST/simpleenroll")
[ "$code" = 000 ] || fail "IDevID of a deleted fleet (no label) answered $code: $(cat "$T/ld3.out")"
grep -q 'event=https.handshake.failed' "$T/coord.log" || fail "refused handshake not in the security log"
ok "IDevID of a deleted fleet refused right after delete (TLS handshake)"
# the connection opened before both rebuilds still works on its own context
touch "$T/keep/go"
wait "$KEEP_PID" || fail "kept-open connection failed"
[ "$(cat "$T/keep/second" 2>/dev/null)" = 200 ] || fail "kept-open connection after the trust rebuilds"
ok "a connection opened before the trust rebuilds keeps working"

# --- channel binding (RFC 7030 3.5): tls-unique in challengePassword, TLS 1.2
out=$(python3 "$(dirname "$0")/est_bound_client.py" 127.0.0.1 "$CK_HTTPS" "$T/root.pem" sensors "$SECRET" \
  b1.sensors.test "$T") || fail "bound client: $out"
echo "$out" | head -1 | grep -q ' 200' || fail "channel-bound simpleenroll: $out"
c -H "Authorization: Bearer $CERTKEEPER_TOKEN" "https://127.0.0.1:$CK_HTTPS/api/v1/audit?limit=1000" |
  python3 -c 'import json,sys; ev=[e for e in json.load(sys.stdin)["items"] if e["action"]=="est.enroll" and (e["details"] or {}).get("channel_bound")]; sys.exit(0 if ev else 1)' \
  || fail "no est.enroll audit event records the channel binding"
out=$(python3 "$(dirname "$0")/est_bound_client.py" 127.0.0.1 "$CK_HTTPS" "$T/root.pem" sensors "$SECRET" \
  b2.sensors.test "$T" wrong) || fail "bound client: $out"
echo "$out" | head -1 | grep -q ' 403' || fail "a CSR bound to another TLS connection was not refused: $out"
echo "$out" | grep -q 'channel binding failed' || fail "binding refusal message: $out"
ok "channel binding: tls-unique in challengePassword accepted on its connection, refused on another"

"$CK_CLI" est fleet list >"$T/fl.txt" || fail "est fleet list"
grep -q sensors "$T/fl.txt" && grep -q cams "$T/fl.txt" || fail "fleet list: $(cat "$T/fl.txt")"
"$CK_CLI" est fleet show sensors --json >"$T/fs.json" || fail "est fleet show"
grep -q secret "$T/fs.json" && fail "fleet show leaks secret material: $(cat "$T/fs.json")"
ok "est fleet list/show (no secret material)"

"$CK_CLI" audit verify >/dev/null || fail "audit chain broken"
ok "audit chain intact"
# a clean stop, and nothing from the sanitizers (ASan/UBSan builds)
kill "$CK_COORD_PID"; wait "$CK_COORD_PID" 2>/dev/null
if grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/coord.log" >&2; then fail "sanitizer report"; fi
ok "coordinator stopped cleanly, no sanitizer report"
echo "est interop: $CK_CHECKS checks passed"
