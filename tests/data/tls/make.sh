#!/bin/sh
# make.sh — regenerates the TLS test PKI in this directory with the openssl CLI.
#
#   root-ca.pem        test root CA (ECDSA P-256), the trust bundle of the tests
#   int-ca.pem         intermediate CA signed by the root (pathlen 0)
#   server-ec.pem/.key server leaf (P-256) for localhost, 127.0.0.1, ::1;
#                      the .pem holds leaf + intermediate (the chain a server sends)
#   server-ec-full.pem the same leaf + intermediate + root (a server that also
#                      sends its root, for CA pins of the root)
#   server-rsa.pem/.key the same names with an RSA 2048 key
#   client.pem/.key    client leaf (P-256, clientAuth, CN agent-1) + intermediate
#   other-ca.pem       an unrelated root CA
#   other-client.pem/.key a client leaf issued by other-ca
#   expired-server.pem/.key a server leaf (root-issued) that expired in 2001
#   badku-server.pem/.key a localhost server leaf (RSA, intermediate-issued,
#                      serverAuth) whose key usage is dataEncipherment only:
#                      unfit for TLS; the .pem holds leaf + intermediate
#   other-server.pem/.key a localhost server leaf issued by other-ca, with our
#                      root appended to its chain file (a chain that contains
#                      the pinned CA but does not lead to it)
#   impostor-server.pem/.key a localhost server leaf issued by a CA that has
#                      the root's subject name but another key (no authority
#                      key id), our root appended: only the signature tells
#   *.der, *.sha256    each leaf's and CA's DER and the lower-case hex SHA-256
#                      of it (what the peer-certificate and pinning tests
#                      compare)
#
# Validity is long (about 50 years) so the checked-in files do not need
# regenerating; run `sh make.sh` from anywhere to rebuild them all. CA keys are
# thrown away: to add a certificate, add it here and regenerate everything.
set -eu
cd "$(dirname "$0")"
DAYS=18250
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

eckey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

cat > "$T/ext.cnf" <<'CNF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[int]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[badku]
basicConstraints = critical, CA:FALSE
keyUsage = critical, dataEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server_noaki]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = none
authorityKeyIdentifier = none
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

# selfsign KEY SUBJ OUT
selfsign() {
  openssl req -new -x509 -key "$1" -subj "$2" -days $DAYS -sha256 \
    -config "$T/ext.cnf" -extensions ca -set_serial "0x$(openssl rand -hex 8)" -out "$3"
}
# issue KEY SUBJ EXT CACERT CAKEY OUT
issue() {
  openssl req -new -key "$1" -subj "$2" -out "$T/req.csr"
  openssl x509 -req -in "$T/req.csr" -CA "$4" -CAkey "$5" -days $DAYS -sha256 \
    -set_serial "0x$(openssl rand -hex 8)" -extfile "$T/ext.cnf" -extensions "$3" -out "$6" 2>/dev/null
}
# fp CERT NAME: NAME.sha256 (hex of the certificate DER digest) and NAME.der
fp() {
  openssl x509 -in "$1" -outform DER -out "$2.der"
  openssl dgst -sha256 -r "$2.der" | cut -d' ' -f1 > "$2.sha256"
}

eckey "$T/root.key"
selfsign "$T/root.key" "/O=certkeeper tests/CN=certkeeper test root CA" root-ca.pem
eckey "$T/int.key"
issue "$T/int.key" "/O=certkeeper tests/CN=certkeeper test intermediate CA" int root-ca.pem "$T/root.key" int-ca.pem
fp root-ca.pem root-ca
fp int-ca.pem int-ca

eckey server-ec.key
issue server-ec.key "/O=certkeeper tests/CN=localhost" server int-ca.pem "$T/int.key" "$T/leaf.pem"
cat "$T/leaf.pem" int-ca.pem > server-ec.pem
cat "$T/leaf.pem" int-ca.pem root-ca.pem > server-ec-full.pem
fp "$T/leaf.pem" server-ec

openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server-rsa.key
issue server-rsa.key "/O=certkeeper tests/CN=localhost" server int-ca.pem "$T/int.key" "$T/leaf.pem"
cat "$T/leaf.pem" int-ca.pem > server-rsa.pem
fp "$T/leaf.pem" server-rsa

openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out badku-server.key
issue badku-server.key "/O=certkeeper tests/CN=localhost" badku int-ca.pem "$T/int.key" "$T/leaf.pem"
cat "$T/leaf.pem" int-ca.pem > badku-server.pem
fp "$T/leaf.pem" badku-server

eckey client.key
issue client.key "/O=certkeeper tests/CN=agent-1" client int-ca.pem "$T/int.key" "$T/leaf.pem"
cat "$T/leaf.pem" int-ca.pem > client.pem
fp "$T/leaf.pem" client

eckey "$T/other.key"
selfsign "$T/other.key" "/O=somebody else/CN=unrelated root CA" other-ca.pem
eckey other-client.key
fp other-ca.pem other-ca
issue other-client.key "/O=somebody else/CN=agent-1" client other-ca.pem "$T/other.key" other-client.pem
eckey other-server.key
issue other-server.key "/O=somebody else/CN=localhost" server other-ca.pem "$T/other.key" "$T/leaf.pem"
cat "$T/leaf.pem" root-ca.pem > other-server.pem
fp "$T/leaf.pem" other-server

eckey "$T/impostor.key"
selfsign "$T/impostor.key" "/O=certkeeper tests/CN=certkeeper test root CA" "$T/impostor-ca.pem"
eckey impostor-server.key
issue impostor-server.key "/O=certkeeper tests/CN=localhost" server_noaki "$T/impostor-ca.pem" "$T/impostor.key" "$T/leaf.pem"
cat "$T/leaf.pem" root-ca.pem > impostor-server.pem
fp "$T/leaf.pem" impostor-server

# An expired server certificate needs explicit dates: `openssl ca` can set them.
mkdir "$T/ca"
: > "$T/ca/index.txt"
echo 01 > "$T/ca/serial"
cat > "$T/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
dir = $T/ca
database = $T/ca/index.txt
serial = $T/ca/serial
new_certs_dir = $T/ca
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
organizationName = optional
commonName = supplied
CNF
eckey expired-server.key
openssl req -new -key expired-server.key -subj "/O=certkeeper tests/CN=localhost" -out "$T/exp.csr"
openssl ca -batch -config "$T/ca.cnf" -cert root-ca.pem -keyfile "$T/root.key" \
  -startdate 20000101000000Z -enddate 20010101000000Z -notext \
  -extfile "$T/ext.cnf" -extensions server -in "$T/exp.csr" -out expired-server.pem 2>/dev/null
fp expired-server.pem expired-server

chmod 644 ./*.pem ./*.key ./*.der ./*.sha256
echo "regenerated TLS test PKI in $(pwd)"
