#!/bin/sh
# make.sh — regenerates the crypto test fixtures with the openssl CLI.
#
# The fixtures are checked in; run this only to renew them (they are valid
# for 100 years, except expired.crt and future.crt, which have fixed dates).
# It also writes *.expect files: values computed by the openssl CLI
# (fingerprints, serials, key ids, dates, RFC 2253 names with UTF-8 left as
# is) that the unit tests compare with what common/crypto/ extracts, as an
# independent check.
#
#   root.crt/.key        RSA 2048 root CA (PKCS#8 key)
#   inter.crt/.key       EC P-384 intermediate CA, pathlen 0
#   leaf.crt/.key/.der   EC P-256 server+client leaf with DNS/IP/URI/email
#                        SANs, serial 0x1001 (key in traditional EC form)
#   chain.pem            leaf + intermediate, CRLF line ends, junk between
#   combined.pem         leaf certificate followed by its key
#   expired.crt          leaf signed by inter, 2000-01-01 .. 2001-01-01
#   future.crt           leaf signed by inter, 2090-01-01 .. 2091-01-01
#   other-root.crt       an unrelated root CA (for "untrusted")
#   rsa.key/.crt         RSA 2048, traditional PEM + self-signed cert
#   rsa-pkcs8.key        same key, PKCS#8
#   ed25519.key/.crt     Ed25519 key + self-signed cert
#   names.crt            self-signed; UTF-8, escaped and multi-valued RDNs,
#                        an unknown critical extension (1.2.3.4)
#   enc-pkcs8.key/.der   encrypted PKCS#8 (password "secret")
#   enc-trad.key         encrypted traditional RSA (Proc-Type header)
#   leaf.csr             CSR made by openssl req for leaf.key, with SANs
#   leaf.p12             key + leaf + inter, password "secret" (AES, PBKDF2)
#   nopass.p12           same, empty password
#   legacy.p12           same, password "secret", RC2/3DES (legacy provider)
set -eu
cd "$(dirname "$0")"
DAYS=36500
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

rm -f ./*.crt ./*.key ./*.der ./*.pem ./*.csr ./*.p12 ./*.expect

cat > "$T/ext.cnf" <<'CNF'
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:www.example.com, DNS:example.com, IP:192.0.2.10, IP:2001:db8::1, URI:https://example.com/id, email:admin@example.com
[selfsigned]
basicConstraints = critical, CA:FALSE
subjectKeyIdentifier = hash
subjectAltName = DNS:self.example.com
[req]
distinguished_name = dn
[dn]
CNF

# Root and intermediate.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out root.key 2>/dev/null
openssl req -new -x509 -key root.key -days $DAYS -sha256 -set_serial 1 \
  -subj "/C=DE/O=certkeeper tests/CN=certkeeper Test Root CA" \
  -config "$T/ext.cnf" -extensions root -out root.crt
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out inter.key
openssl req -new -key inter.key -subj "/C=DE/O=certkeeper tests/CN=certkeeper Test Intermediate CA" \
  -config "$T/ext.cnf" -out "$T/inter.csr"
openssl x509 -req -in "$T/inter.csr" -CA root.crt -CAkey root.key -set_serial 2 \
  -days $DAYS -sha256 -extfile "$T/ext.cnf" -extensions inter -out inter.crt 2>/dev/null

# Leaf (traditional EC key).
openssl ecparam -name prime256v1 -genkey -noout -out leaf.key
openssl req -new -key leaf.key -subj "/C=DE/O=Example, Inc./OU=Web/CN=www.example.com" \
  -config "$T/ext.cnf" -out "$T/leaf-plain.csr"
openssl x509 -req -in "$T/leaf-plain.csr" -CA inter.crt -CAkey inter.key -set_serial 0x1001 \
  -days $DAYS -sha256 -extfile "$T/ext.cnf" -extensions leaf -out leaf.crt 2>/dev/null
openssl x509 -in leaf.crt -outform DER -out leaf.der

# A CSR with SANs made by openssl itself.
openssl req -new -key leaf.key -sha256 -subj "/C=DE/O=Example, Inc./CN=csr.example.com" \
  -addext "subjectAltName = DNS:csr.example.com, IP:198.51.100.7, IP:2001:db8::7, URI:spiffe://example.com/web, email:ops@example.com" \
  -config "$T/ext.cnf" -out leaf.csr

# Bundle with CRLF line endings and junk between and around the blocks.
{
  printf 'This bundle holds the leaf and its intermediate.\n'
  printf 'subject=CN = www.example.com\n'
  cat leaf.crt
  printf '\nBag Attributes: junk that is not PEM\n\n'
  cat inter.crt
  printf 'trailing junk\n'
} | sed 's/$/\r/' > chain.pem
cat leaf.crt leaf.key > combined.pem

# Fixed-date leaves via "openssl ca" (x509 -req has no start date option).
mkdir -p "$T/ca"
: > "$T/ca/index.txt"
echo 2000 > "$T/ca/serial"
cat > "$T/ca.cnf" <<CNF
[ca]
default_ca = ca
[ca]
dir = $T/ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
CNF
openssl ca -config "$T/ca.cnf" -batch -notext -preserveDN -cert inter.crt -keyfile inter.key \
  -in "$T/leaf-plain.csr" -startdate 20000101000000Z -enddate 20010101000000Z \
  -extfile "$T/ext.cnf" -extensions leaf -out expired.crt 2>/dev/null
openssl ca -config "$T/ca.cnf" -batch -notext -preserveDN -cert inter.crt -keyfile inter.key \
  -in "$T/leaf-plain.csr" -startdate 20900101000000Z -enddate 20910101000000Z \
  -extfile "$T/ext.cnf" -extensions leaf -out future.crt 2>/dev/null

# An unrelated root.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/other.key"
openssl req -new -x509 -key "$T/other.key" -days $DAYS -sha256 -set_serial 7 \
  -subj "/CN=Some Other Root" -config "$T/ext.cnf" -extensions root -out other-root.crt

# RSA (traditional and PKCS#8) and Ed25519 keys with self-signed certificates.
openssl genrsa -traditional -out rsa.key 2048 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in rsa.key -out rsa-pkcs8.key
openssl req -new -x509 -key rsa.key -days $DAYS -sha256 -set_serial 0x00ff01 \
  -subj "/CN=self.example.com" -config "$T/ext.cnf" -extensions selfsigned -out rsa.crt
openssl genpkey -algorithm ED25519 -out ed25519.key
openssl req -new -x509 -key ed25519.key -days $DAYS -set_serial 3 \
  -subj "/CN=ed25519.example.com" -config "$T/ext.cnf" -extensions selfsigned -out ed25519.crt

# Awkward names and an unknown critical extension.
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/names.key" \
  -days $DAYS -set_serial 4 -utf8 -config "$T/ext.cnf" \
  -subj "/C=DE/O=Müller GmbH/OU=a\\+b;c/CN=x.example.com+UID=42/emailAddress=a@b.c" \
  -addext "1.2.3.4=critical,ASN1:UTF8String:x" -out names.crt

# Encrypted keys.
openssl pkcs8 -topk8 -v2 aes-256-cbc -in leaf.key -passout pass:secret -out enc-pkcs8.key
openssl pkcs8 -topk8 -v2 aes-256-cbc -in leaf.key -passout pass:secret -outform DER -out enc-pkcs8.der
openssl rsa -in rsa.key -aes256 -traditional -passout pass:secret -out enc-trad.key 2>/dev/null

# PKCS#12.
openssl pkcs12 -export -inkey leaf.key -in leaf.crt -certfile inter.crt -name leaf \
  -passout pass:secret -out leaf.p12
openssl pkcs12 -export -inkey leaf.key -in leaf.crt -certfile inter.crt -name leaf \
  -passout pass: -out nopass.p12
openssl pkcs12 -export -legacy -inkey leaf.key -in leaf.crt -certfile inter.crt -name leaf \
  -passout pass:secret -out legacy.p12

# Expected values, computed by the openssl CLI.
hexid() { # "keyid:AB:CD" / "AB:CD" -> "abcd"
  tr -d ' \n' | sed 's/^keyid://' | tr -d ':' | tr 'A-F' 'a-f'
}
epoch() { date -u -d "$1" +%s; }
expect() { # cert file -> key=value lines
  c=$1
  echo "sha256=$(openssl x509 -in "$c" -outform DER | sha256sum | cut -d' ' -f1)"
  echo "spki_sha256=$(openssl x509 -in "$c" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)"
  echo "serial=$(openssl x509 -in "$c" -serial -noout | cut -d= -f2 | tr 'A-F' 'a-f')"
  echo "subject=$(openssl x509 -in "$c" -subject -noout -nameopt RFC2253,-esc_msb | sed 's/^subject=//')"
  echo "issuer=$(openssl x509 -in "$c" -issuer -noout -nameopt RFC2253,-esc_msb | sed 's/^issuer=//')"
  echo "not_before=$(epoch "$(openssl x509 -in "$c" -startdate -noout | cut -d= -f2)")"
  echo "not_after=$(epoch "$(openssl x509 -in "$c" -enddate -noout | cut -d= -f2)")"
  echo "ski=$(openssl x509 -in "$c" -noout -ext subjectKeyIdentifier 2>/dev/null | sed 1d | hexid)"
  echo "aki=$(openssl x509 -in "$c" -noout -ext authorityKeyIdentifier 2>/dev/null | sed 1d | hexid)"
}
for c in root inter leaf rsa ed25519 expired future names; do
  expect $c.crt > $c.expect
done
echo "spki_sha256=$(openssl req -in leaf.csr -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)" > leaf-csr.expect
echo "subject=$(openssl req -in leaf.csr -subject -noout -nameopt RFC2253,-esc_msb | sed 's/^subject=//')" >> leaf-csr.expect
# certs-only PKCS#7 (EST, common/crypto/pkcs7.c): leaf + intermediate
openssl crl2pkcs7 -nocrl -certfile chain.pem -outform DER -out chain.p7b
echo "fixtures written to $(pwd)"
