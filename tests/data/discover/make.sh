#!/bin/sh
# make.sh — regenerates the discovery fixtures in tree/ with the openssl CLI.
# The output is checked in; rerun only to change fixtures. Validity periods:
# "good" certificates last 100 years, expired.crt ended in 2020 (made with
# -not_after... via a past-dated CA signing: see below). Modes are set by
# the tests (git keeps only +x).
set -eu
cd "$(dirname "$0")"
rm -rf tree && mkdir -p tree/chain tree/der tree/p12 tree/keys tree/weak \
  tree/conf/nginx tree/conf/apache tree/conf/haproxy tree/haproxy-certs
T=tree
O=openssl
# CA + intermediate + leaf chain, PEM with CRLF line ends
$O req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $T/keys/ca.key \
  -subj "/CN=Disc Test CA" -days 36500 -out $T/chain/ca.crt 2>/dev/null
$O req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $T/keys/leaf-pkcs8.key \
  -subj "/CN=www.example.test" -out $T/leaf.csr 2>/dev/null
printf 'subjectAltName=DNS:www.example.test,DNS:example.test\nbasicConstraints=CA:FALSE\n' > $T/ext.cnf
$O x509 -req -in $T/leaf.csr -CA $T/chain/ca.crt -CAkey $T/keys/ca.key -set_serial 0x1234abcd \
  -days 36500 -extfile $T/ext.cnf -out $T/chain/leaf.crt 2>/dev/null
cat $T/chain/leaf.crt $T/chain/ca.crt | sed 's/$/\r/' > $T/chain/fullchain-crlf.pem
rm $T/chain/leaf.crt
# DER certificate (RSA 2048, traditional RSA key)
$O genrsa -traditional -out $T/keys/rsa-trad.key 2048 2>/dev/null
$O req -new -key $T/keys/rsa-trad.key -subj "/CN=der.example.test" -out $T/der.csr
$O x509 -req -in $T/der.csr -CA $T/chain/ca.crt -CAkey $T/keys/ca.key -set_serial 2 \
  -days 36500 -extfile $T/ext.cnf -outform DER -out $T/der/server.der 2>/dev/null
# traditional EC key (unmatched) and an encrypted PKCS#8 key
$O ecparam -name prime256v1 -genkey -noout -out $T/keys/ec-trad.key
$O genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc -pass pass:secret \
  -out $T/keys/encrypted.key
# PKCS#12 without and with password
$O pkcs12 -export -in $T/der/server.der -inkey $T/keys/rsa-trad.key -passout pass: \
  -certpbe AES-256-CBC -keypbe AES-256-CBC -macalg sha256 -out $T/p12/nopass.p12 \
  -name nopass 2>/dev/null || \
$O x509 -inform DER -in $T/der/server.der -out $T/p12/tmp.pem
if [ ! -s $T/p12/nopass.p12 ]; then
  $O pkcs12 -export -in $T/p12/tmp.pem -inkey $T/keys/rsa-trad.key -passout pass: \
    -out $T/p12/nopass.p12; rm $T/p12/tmp.pem
fi
$O x509 -inform DER -in $T/der/server.der -out $T/p12.pem
$O pkcs12 -export -in $T/p12.pem -inkey $T/keys/rsa-trad.key -passout pass:hunter2 \
  -out $T/p12/withpass.p12
rm $T/p12.pem
# expired (2001-2002), SHA-1 signed, RSA-1024 self-signed leaf
$O req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $T/weak/expired.key \
  -subj "/CN=expired.example.test" -out $T/exp.csr 2>/dev/null
$O x509 -req -in $T/exp.csr -CA $T/chain/ca.crt -CAkey $T/keys/ca.key -set_serial 3 \
  -not_before 20010101000000Z -not_after 20020101000000Z -extfile $T/ext.cnf \
  -out $T/weak/expired.crt 2>/dev/null || \
  faketime_missing=1
if [ ! -s $T/weak/expired.crt ]; then
  # OpenSSL 3.0 has no -not_after: use ca with explicit dates
  mkdir -p $T/ca.db && : > $T/ca.db/index && echo 03 > $T/ca.db/serial
  cat > $T/ca.cnf <<CNF
[ca]
default_ca=c
[c]
database=$T/ca.db/index
serial=$T/ca.db/serial
new_certs_dir=$T/ca.db
default_md=sha256
policy=p
copy_extensions=none
x509_extensions=e
[p]
commonName=supplied
[e]
basicConstraints=CA:FALSE
subjectAltName=DNS:expired.example.test
CNF
  $O ca -batch -config $T/ca.cnf -cert $T/chain/ca.crt -keyfile $T/keys/ca.key \
    -startdate 20010101000000Z -enddate 20020101000000Z -in $T/exp.csr \
    -out $T/weak/expired.crt -notext 2>/dev/null
  rm -rf $T/ca.db $T/ca.cnf
fi
$O req -x509 -newkey rsa:2048 -nodes -keyout $T/weak/sha1.key -sha1 \
  -subj "/CN=sha1.example.test" -addext "basicConstraints=CA:FALSE" -days 36500 \
  -out $T/weak/sha1.crt 2>/dev/null
$O req -x509 -newkey rsa:1024 -nodes -keyout $T/weak/rsa1024.key \
  -subj "/CN=rsa1024.example.test" -addext "basicConstraints=CA:FALSE" -days 36500 \
  -out $T/weak/rsa1024.crt 2>/dev/null
# a key the tests make world-readable, with a combined cert+key file
cat $T/weak/sha1.crt $T/weak/sha1.key > $T/haproxy-certs/site.pem
rm -f $T/*.csr $T/ext.cnf
# configs (relative paths: resolved against the config file's directory)
cat > $T/conf/nginx/site.conf <<CONF
server {
    listen 443 ssl;
    # ssl_certificate /not/this/one.pem;
    ssl_certificate     ../../chain/fullchain-crlf.pem;
    ssl_certificate_key "../../keys/leaf-pkcs8.key";
}
CONF
cat > $T/conf/apache/ssl.conf <<CONF
<VirtualHost *:443>
  SSLEngine on
  SSLCertificateFile ../../der/server.der
  SSLCertificateKeyFile ../../keys/rsa-trad.key
</VirtualHost>
CONF
cat > $T/conf/haproxy/haproxy.cfg <<CONF
frontend https
    bind :443 ssl crt ../../haproxy-certs/ alpn h2
    bind :8443 ssl crt ../../weak/rsa1024.crt
CONF
cat > $T/conf/nginx/mismatch.conf <<CONF
server {
    listen 8443 ssl;
    ssl_certificate ../../weak/expired.crt;
    ssl_certificate_key ../../keys/ec-trad.key;
}
CONF
echo done
