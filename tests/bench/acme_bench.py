#!/usr/bin/env python3
"""acme_bench.py — full ACME issuances per second (RFC 8555, order ->
certificate) against one directory, with a bounded parallel client.

PARALLEL worker threads, each with its own EAB-bound account (ES256), run
ORDERS issuances in all: newOrder for one fresh name, the http-01
challenge answered by one shared in-process HTTP server on H01_PORT (the
port the coordinator's validator was pointed at), finalize with a fresh
P-256 key's CSR, poll, download the chain. Polls follow Retry-After,
capped at POLL_MS (environment, default 10 ms), and every wait is
bounded. Connections are kept alive, one per worker, as real clients do. Prints one summary line:
issuances, seconds, issuances/s, p50/p95/max latency; exits 1 if any
issuance failed.

Usage: acme_bench.py DIRECTORY_URL ROOT_PEM H01_PORT PARALLEL ORDERS EAB_JSON...
(one EAB JSON file — {"kid", "hmac"} — per worker)."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

DIR_URL, ROOT, H01 = sys.argv[1], sys.argv[2], int(sys.argv[3])
PARALLEL, ORDERS = int(sys.argv[4]), int(sys.argv[5])
EABS = [json.load(open(p)) for p in sys.argv[6:6 + PARALLEL]]
CTX = ssl.create_default_context(cafile=ROOT)
DEADLINE_S = 60  # per issuance
POLL_S = float(os.environ.get("POLL_MS", "10")) / 1000  # cap on Retry-After
TOKENS = {}  # http-01 token -> key authorization
TOKENS_LOCK = threading.Lock()


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64j(o):
    return b64(json.dumps(o, separators=(",", ":")).encode())


class Challenges(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server's naming)
        tok = self.path.rsplit("/", 1)[-1]
        with TOKENS_LOCK:
            ka = TOKENS.get(tok)
        body = (ka or "").encode()
        self.send_response(200 if ka else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Client:
    """One account and its connection state (used by one thread)."""

    def __init__(self, directory, eab):
        self.d = directory
        self.k = ec.generate_private_key(ec.SECP256R1())
        n = self.k.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC", "x": b64(n.x.to_bytes(32, "big")),
                    "y": b64(n.y.to_bytes(32, "big"))}
        thumb = hashlib.sha256(json.dumps(self.jwk, separators=(",", ":"),
                                          sort_keys=True).encode()).digest()
        self.thumb = b64(thumb)
        self.kid = None
        self.nonce = None
        self.conn = None
        self.register(eab)

    def http(self, method, url, body=None):
        """One request on this client's keep-alive connection (reopened
        once if the server closed it), as real clients do."""
        u = urllib.parse.urlsplit(url)
        headers = {"Content-Type": "application/jose+json"} if body is not None else {}
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(u.hostname, u.port, context=CTX,
                                                        timeout=30)
            try:
                self.conn.request(method, u.path + (f"?{u.query}" if u.query else ""),
                                  body=body, headers=headers)
                r = self.conn.getresponse()
                st, hd, data = r.status, r.headers, r.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        if hd.get("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        if hd.get("Replay-Nonce"):
            self.nonce = hd["Replay-Nonce"]
        return st, hd, data

    def sign(self, url, payload, jwk=False):
        if self.nonce is None:
            self.http("HEAD", self.d["newNonce"])
        prot = {"alg": "ES256", "nonce": self.nonce, "url": url}
        self.nonce = None
        if jwk:
            prot["jwk"] = self.jwk
        else:
            prot["kid"] = self.kid
        p64 = "" if payload is None else b64j(payload)
        h64 = b64j(prot)
        r, s = decode_dss_signature(self.k.sign(f"{h64}.{p64}".encode(),
                                                ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return json.dumps({"protected": h64, "payload": p64, "signature": b64(sig)}).encode()

    def post(self, url, payload, jwk=False, ok=(200, 201)):
        for _ in range(3):  # a badNonce is retried once or twice (RFC 8555 6.5)
            st, hd, data = self.http("POST", url, self.sign(url, payload, jwk))
            if st == 400 and b"badNonce" in data:
                continue
            break
        if st not in ok:
            raise RuntimeError(f"POST {url}: {st} {data[:300]!r}")
        return hd, (json.loads(data) if data and hd.get_content_type().endswith("json") else data)

    def register(self, eab):
        url = self.d["newAccount"]
        mac_key = base64.urlsafe_b64decode(eab["hmac"] + "=" * (-len(eab["hmac"]) % 4))
        eh = b64j({"alg": "HS256", "kid": eab["kid"], "url": url})
        ep = b64j(self.jwk)
        es = b64(hmac.new(mac_key, f"{eh}.{ep}".encode(), hashlib.sha256).digest())
        hd, _ = self.post(url, {"termsOfServiceAgreed": True, "contact": [],
                                "externalAccountBinding": {"protected": eh, "payload": ep,
                                                           "signature": es}},
                          jwk=True)
        self.kid = hd["Location"]

    def poll(self, url, want, deadline):
        while True:
            hd, obj = self.post(url, None)
            if obj.get("status") in want:
                return obj
            if obj.get("status") == "invalid":
                raise RuntimeError(f"{url} invalid: {json.dumps(obj)[:400]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} still {obj.get('status')}")
            try:
                wait = min(float(hd.get("Retry-After", "1")), POLL_S)
            except ValueError:
                wait = POLL_S
            time.sleep(wait)  # the protocol's polling interval, bounded

    def issue(self, name):
        """One issuance; returns the seconds spent in each phase: order
        (newOrder + authz fetch), validation (challenge answered -> authz
        valid), finalize (-> order valid), download."""
        t = [time.monotonic()]
        deadline = t[0] + DEADLINE_S
        hd, order = self.post(self.d["newOrder"],
                              {"identifiers": [{"type": "dns", "value": name}]})
        order_url = hd["Location"]
        for az in order["authorizations"]:
            _, a = self.post(az, None)
            if a.get("status") == "valid":
                continue
            ch = next(c for c in a["challenges"] if c["type"] == "http-01")
            t.append(time.monotonic())
            with TOKENS_LOCK:
                TOKENS[ch["token"]] = ch["token"] + "." + self.thumb
            self.post(ch["url"], {})
            self.poll(az, ("valid",), deadline)
            with TOKENS_LOCK:
                TOKENS.pop(ch["token"], None)
        t.append(time.monotonic())
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
               .sign(key, hashes.SHA256()))
        self.post(order["finalize"], {"csr": b64(csr.public_bytes(serialization.Encoding.DER))})
        order = self.poll(order_url, ("valid",), deadline)
        t.append(time.monotonic())
        _, pem = self.post(order["certificate"], None)
        if b"BEGIN CERTIFICATE" not in pem:
            raise RuntimeError("no certificate")
        t.append(time.monotonic())
        if len(t) != 5:  # an authorization was already valid
            return None
        return [t[i + 1] - t[i] for i in range(4)]


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", H01), Challenges)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with urllib.request.urlopen(DIR_URL, context=CTX, timeout=30) as r:
        directory = json.load(r)
    clients = [Client(directory, e) for e in EABS]
    lat, errors, phases, lock = [], [], [], threading.Lock()
    counter = iter(range(ORDERS))
    run_id = int(time.time()) % 100000

    def worker(c):
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t0 = time.monotonic()
            try:
                ph = c.issue(f"b{run_id}-{i}.bench.test")
                with lock:
                    lat.append(time.monotonic() - t0)
                    if ph:
                        phases.append(ph)
            except Exception as e:  # noqa: BLE001 — count and report every failure
                with lock:
                    errors.append(str(e))

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    secs = time.monotonic() - t0
    srv.shutdown()
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else 0

    print(f"acme-bench: parallel={PARALLEL} issuances={len(lat)} failed={len(errors)} "
          f"seconds={secs:.2f} rate={len(lat) / secs:.1f}/s p50={pct(0.5):.0f}ms "
          f"p95={pct(0.95):.0f}ms max={pct(1.0):.0f}ms", flush=True)
    if phases:
        med = [sorted(p[i] for p in phases)[len(phases) // 2] * 1000 for i in range(4)]
        print(f"  median phases: order {med[0]:.0f}ms, validation {med[1]:.0f}ms, "
              f"finalize {med[2]:.0f}ms, download {med[3]:.0f}ms", flush=True)
    for e in errors[:5]:
        print(f"  error: {e}", file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
