#!/usr/bin/env python3
"""est_bound_client.py — an EST client that binds its CSR to the TLS
channel as RFC 7030 section 3.5 describes: over TLS 1.2 it reads the
connection's tls-unique, puts its base64 in the CSR's challengePassword
(made with `openssl req`) and POSTs simpleenroll on that same connection.
Prints the HTTP status line and body. Used by test_est_interop.sh.

usage: est_bound_client.py HOST PORT CAFILE USER PASSWORD CN WORKDIR [wrong]
("wrong" puts a tls-unique of another connection in the CSR instead)."""
import base64
import os
import socket
import ssl
import subprocess
import sys

host, port, cafile, user, password, cn, work = sys.argv[1:8]
wrong = len(sys.argv) > 8 and sys.argv[8] == "wrong"


def connect():
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection((host, int(port)), timeout=30)
    return ctx.wrap_socket(raw)


s = connect()
unique = s.get_channel_binding("tls-unique")
if wrong:
    other = connect()
    unique = other.get_channel_binding("tls-unique")
    other.close()
conf = os.path.join(work, "bound.cnf")
with open(conf, "w") as f:
    f.write("[req]\ndistinguished_name=dn\nattributes=attrs\nprompt=no\n"
            "[dn]\nCN=%s\n[attrs]\nchallengePassword=%s\n" % (cn, base64.b64encode(unique).decode()))
csr = subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", os.path.join(work, "bound.key"), "-config", conf,
                      "-outform", "DER"], check=True, capture_output=True).stdout
body = base64.encodebytes(csr)
auth = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
req = ("POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\n"
       "Content-Type: application/pkcs10\r\nContent-Transfer-Encoding: base64\r\n"
       "Content-Length: %d\r\nConnection: close\r\n\r\n" % (host, auth, len(body))).encode() + body
s.sendall(req)
resp = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    resp += chunk
s.close()
head, _, payload = resp.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].decode())
print(payload.decode(errors="replace").strip())
