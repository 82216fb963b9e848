#!/usr/bin/env python3
"""acme_scripted.py — a scripted ACME client (RFC 8555) for test_acme.sh.

Drives the coordinator's ACME server with hand-built JWS (ES256, ES384,
RS256, EdDSA) to cover what real clients never send: malformed JWS, wrong
url, bad and replayed nonces, a key the account does not own, identifiers
outside the profile, finalize before authorization, oversized payloads;
then a full issuance, ARI windows before and after a replace-then-revoke
plan, revocation rules, keyChange and deactivation.

Usage: acme_scripted.py DIRECTORY_URL ROOT_PEM API_BASE TOKEN H01_PORT
                        EAB_JSON_A EAB_JSON_B EAB_JSON_C PLAN_HOOK
PLAN_HOOK CERT_PEM SERIAL_HEX must make a waiting replace-then-revoke plan.
Prints "ok N - what" per check, exits 1 at the first failure."""
import base64
import datetime
import hashlib
import hmac
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

DIR_URL, ROOT, API, TOKEN, H01 = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
EABS = [json.load(open(p)) for p in sys.argv[6:9]]
PLAN_HOOK = sys.argv[9]
CTX = ssl.create_default_context(cafile=ROOT)
N = 0


def ok(what):
    global N
    N += 1
    print(f"ok {N} - {what}", flush=True)


def die(what):
    print(f"FAIL: {what}", file=sys.stderr, flush=True)
    sys.exit(1)


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64j(o):
    return b64(json.dumps(o, separators=(",", ":")).encode())


def http(method, url, body=None, ctype="application/jose+json", headers=None):
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", ctype)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, context=CTX, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class Key:
    """An account or certificate key with its JWS algorithm."""

    def __init__(self, kind):
        self.kind = kind
        if kind == "ES256":
            self.k = ec.generate_private_key(ec.SECP256R1())
        elif kind == "ES384":
            self.k = ec.generate_private_key(ec.SECP384R1())
        elif kind == "RS256":
            self.k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.k = ed25519.Ed25519PrivateKey.generate()

    def jwk(self):
        pub = self.k.public_key()
        if self.kind in ("ES256", "ES384"):
            n = pub.public_numbers()
            size = 32 if self.kind == "ES256" else 48
            return {"kty": "EC", "crv": "P-256" if size == 32 else "P-384",
                    "x": b64(n.x.to_bytes(size, "big")), "y": b64(n.y.to_bytes(size, "big"))}
        if self.kind == "RS256":
            n = pub.public_numbers()
            return {"kty": "RSA", "n": b64(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
                    "e": b64(n.e.to_bytes(3, "big"))}
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}

    def thumbprint(self):
        j = self.jwk()
        keys = {"EC": ["crv", "kty", "x", "y"], "RSA": ["e", "kty", "n"],
                "OKP": ["crv", "kty", "x"]}[j["kty"]]
        canon = json.dumps({k: j[k] for k in keys}, separators=(",", ":"), sort_keys=True)
        return b64(hashlib.sha256(canon.encode()).digest())

    def sign(self, data):
        if self.kind in ("ES256", "ES384"):
            h = hashes.SHA256() if self.kind == "ES256" else hashes.SHA384()
            r, s = decode_dss_signature(self.k.sign(data, ec.ECDSA(h)))
            size = 32 if self.kind == "ES256" else 48
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        if self.kind == "RS256":
            return self.k.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self.k.sign(data)

    def alg(self):
        return "EdDSA" if self.kind == "Ed25519" else self.kind


class Client:
    def __init__(self, key, dir_url=None):
        self.key = key
        self.kid = None
        _, _, body = http("GET", dir_url or DIR_URL)
        self.d = json.loads(body)

    def nonce(self):
        st, h, _ = http("HEAD", self.d["newNonce"])
        if st != 200 or not h.get("Replay-Nonce"):
            die(f"newNonce gave {st} without Replay-Nonce")
        return h["Replay-Nonce"]

    def jws(self, url, payload, nonce=None, use_jwk=None, alg=None, key=None, extra=None):
        key = key or self.key
        prot = {"alg": alg or key.alg(), "nonce": nonce or self.nonce(), "url": url}
        if use_jwk or (use_jwk is None and self.kid is None):
            prot["jwk"] = key.jwk()
        else:
            prot["kid"] = self.kid
        prot.update(extra or {})
        p64 = b64j(prot)
        pl64 = "" if payload is None else (payload if isinstance(payload, str) else b64j(payload))
        sig = key.sign(f"{p64}.{pl64}".encode())
        return json.dumps({"protected": p64, "payload": pl64, "signature": b64(sig)}).encode()

    def post(self, url, payload, **kw):
        return http("POST", url, self.jws(url, payload, **kw))

    def eab(self, e, url):
        prot = b64j({"alg": "HS256", "kid": e["kid"], "url": url})
        pl = b64j(self.key.jwk())
        mac = hmac.new(base64.urlsafe_b64decode(e["hmac"] + "=="), f"{prot}.{pl}".encode(),
                       hashlib.sha256).digest()
        return {"protected": prot, "payload": pl, "signature": b64(mac)}

    def register(self, e):
        url = self.d["newAccount"]
        st, h, body = self.post(url, {"termsOfServiceAgreed": True, "contact": ["mailto:o@a.test"],
                                      "externalAccountBinding": self.eab(e, url)})
        if st != 201:
            die(f"newAccount gave {st}: {body[:300]!r}")
        self.kid = h["Location"]
        return json.loads(body)


def problem(st, body, want_status, want_type, what):
    try:
        p = json.loads(body)
    except ValueError:
        die(f"{what}: not a problem document ({st}): {body[:200]!r}")
    t = p.get("type", "")
    if st != want_status or t != "urn:ietf:params:acme:error:" + want_type:
        die(f"{what}: want {want_status} {want_type}, got {st} {t}: {p.get('detail')}")
    if not p.get("detail"):
        die(f"{what}: the problem has no detail")
    ok(f"{what} -> {st} {want_type} ({p['detail'][:70]})")


def api(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    st, _, out = http(method, API + path, data, "application/json",
                      {"Authorization": "Bearer " + TOKEN})
    return st, json.loads(out) if out else None


def cert_count():
    st, res = api("GET", "/certificates?limit=1000")
    if st != 200:
        die(f"GET certificates gave {st}")
    return len(res["items"])


def make_csr(key, names, cn=None):
    b = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn or names[0])]))
    b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
    return b.sign(key, hashes.SHA256() if not isinstance(key, ed25519.Ed25519PrivateKey) else None)


# ---------------------------------------------------------------- http-01 responder
TOKENS = {}


class H01Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        tok = self.path.rsplit("/", 1)[-1]
        ka = TOKENS.get(tok)
        self.send_response(200 if ka else 404)
        self.end_headers()
        if ka:
            self.wfile.write(ka.encode())

    def log_message(self, *a):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", H01), H01Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()


def poll(c, url, want, limit=60):
    deadline = time.time() + limit
    while time.time() < deadline:
        st, _, body = c.post(url, None)
        o = json.loads(body)
        if o.get("status") in want:
            return o
        time.sleep(0.2)
    die(f"{url} never became {want}")


def authorize(c, order):
    for az_url in order["authorizations"]:
        st, _, body = c.post(az_url, None)
        az = json.loads(body)
        ch = [x for x in az["challenges"] if x["type"] == "http-01"][0]
        TOKENS[ch["token"]] = ch["token"] + "." + c.key.thumbprint()
        st, h, body = c.post(ch["url"], {})
        if st != 200:
            die(f"challenge POST gave {st}: {body[:200]!r}")
        if 'rel="up"' not in h.get("Link", "") and 'rel="up"' not in str(h.get_all("Link")):
            die("challenge answer has no Link rel=up")
        a = poll(c, az_url, ("valid", "invalid"))
        if a["status"] != "valid":
            die(f"authorization failed: {json.dumps(a)[:400]}")


def issue(c, names, cert_key=None):
    st, h, body = c.post(c.d["newOrder"], {"identifiers": [{"type": "dns", "value": n} for n in names]})
    if st != 201:
        die(f"newOrder gave {st}: {body[:300]!r}")
    order, order_url = json.loads(body), h["Location"]
    authorize(c, order)
    order = poll(c, order_url, ("ready",))
    ck = cert_key or ec.generate_private_key(ec.SECP256R1())
    csr = make_csr(ck, names)
    st, _, body = c.post(order["finalize"], {"csr": b64(csr.public_bytes(serialization.Encoding.DER))})
    if st != 200:
        die(f"finalize gave {st}: {body[:300]!r}")
    order = poll(c, order_url, ("valid",))
    st, h, pem = c.post(order["certificate"], None)
    if st != 200 or h.get("Content-Type") != "application/pem-certificate-chain":
        die(f"certificate download gave {st} {h.get('Content-Type')}")
    certs = x509.load_pem_x509_certificates(pem)
    return certs, ck, order, order_url


def cert_id(cert):
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    serial = cert.serial_number.to_bytes((cert.serial_number.bit_length() + 8) // 8, "big")
    return b64(aki) + "." + b64(serial)


def ari(c, cert):
    st, h, body = http("GET", c.d["renewalInfo"] + "/" + cert_id(cert))
    if st != 200:
        die(f"renewalInfo gave {st}: {body[:200]!r}")
    w = json.loads(body)["suggestedWindow"]
    p = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    return p(w["start"]), p(w["end"]), h.get("Retry-After")


# ================================================================ the checks
a = Client(Key("ES256"))
d = a.d
for k in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange", "renewalInfo"):
    if k not in d:
        die(f"directory has no {k}")
ok("directory lists every resource and renewalInfo")
st, h, _ = http("GET", d["newNonce"])
if st != 204 or "no-store" not in h.get("Cache-Control", "") or not h.get("Replay-Nonce"):
    die(f"GET newNonce: {st} {dict(h)}")
ok("newNonce: 204, Replay-Nonce, Cache-Control no-store")

before = cert_count()
url = d["newAccount"]
problem(*http("POST", url, b"{not json")[::2], 400, "malformed", "body that is not JSON")
problem(*http("POST", url, b'{"protected":"e30","payload":"","signature":"AAAA"}')[::2], 400,
        "malformed", "JWS without alg/url/nonce")
st, _, body = http("POST", url, a.jws(url, {"termsOfServiceAgreed": True}), ctype="application/json")
if st != 415:
    die(f"wrong content type gave {st}")
ok("wrong Content-Type -> 415")
good = json.loads(a.jws(url, {"termsOfServiceAgreed": True}))
good["signature"] = b64(b"\x01" * 64)
problem(*http("POST", url, json.dumps(good).encode())[::2], 400, "malformed", "forged signature")
problem(*http("POST", url, a.jws(url, {}, alg="HS256"))[::2], 400, "badSignatureAlgorithm",
        "alg HS256")
problem(*http("POST", url, a.jws(url, {}, alg="none"))[::2], 400, "badSignatureAlgorithm",
        "alg none")
problem(*http("POST", url, a.jws(d["newOrder"], {}))[::2], 401, "unauthorized",
        "url header of another resource")
problem(*http("POST", url, a.jws(url, {}, nonce="bm90LWEtbm9uY2U"))[::2], 400, "badNonce",
        "made-up nonce")
n1 = a.nonce()
http("POST", url, a.jws(url, {"onlyReturnExisting": True}, nonce=n1))
problem(*http("POST", url, a.jws(url, {"onlyReturnExisting": True}, nonce=n1))[::2], 400,
        "badNonce", "replayed nonce")
problem(*http("POST", url, a.jws(url, {"onlyReturnExisting": True}))[::2], 400,
        "accountDoesNotExist", "onlyReturnExisting for an unknown key")
problem(*http("POST", url, a.jws(url, {"termsOfServiceAgreed": True}))[::2], 403,
        "externalAccountRequired", "newAccount without EAB")
bad_eab = a.eab(EABS[0], url)
bad_eab["signature"] = b64(b"\x00" * 32)
problem(*http("POST", url, a.jws(url, {"externalAccountBinding": bad_eab}))[::2], 403,
        "unauthorized", "EAB with a wrong MAC")
big = b64j({"termsOfServiceAgreed": True, "pad": "x" * 70000})
problem(*http("POST", url, a.jws(url, big))[::2], 413, "malformed", "oversized payload")

a.register(EABS[0])
ok(f"account A (ES256, EAB) created: {a.kid}")
st, h, body = a.post(url, {"onlyReturnExisting": True}, use_jwk=True)
if st != 200 or h["Location"] != a.kid:
    die(f"onlyReturnExisting for A gave {st} {h.get('Location')}")
ok("onlyReturnExisting returns the existing account")
b = Client(Key("Ed25519"))
problem(*http("POST", url, b.jws(url, {"externalAccountBinding": b.eab(EABS[0], url)}))[::2], 403,
        "unauthorized", "an EAB key used twice")
b.register(EABS[1])
ok("account B (EdDSA, EAB) created")
c3 = Client(Key("RS256"))
c3.register(EABS[2])
ok("account C (RS256, EAB) created")

problem(*a.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "www.evil.example"}]})[::2],
        400, "rejectedIdentifier", "identifier outside the profile")
problem(*a.post(d["newOrder"], {"identifiers": [{"type": "ip", "value": "10.0.0.1"}]})[::2],
        400, "rejectedIdentifier", "ip identifier")
problem(*a.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "ok.test"}]},
                use_jwk=True)[::2], 400, "malformed", "newOrder signed with jwk instead of kid")
forged = Client(Key("ES256"))
forged.kid = a.kid  # B's own key, A's account URL
problem(*forged.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "x.test"}]})[::2],
        401, "unauthorized", "a key the account does not own")
st, h, body = a.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "app.test"}]})
if st != 201:
    die(f"newOrder gave {st}")
order, order_url = json.loads(body), h["Location"]
ok("order for app.test created (pending)")
ck = ec.generate_private_key(ec.SECP256R1())
csr_der = make_csr(ck, ["app.test"]).public_bytes(serialization.Encoding.DER)
problem(*a.post(order["finalize"], {"csr": b64(csr_der)})[::2], 403, "orderNotReady",
        "finalize before authorization")
problem(*b.post(order_url, None)[::2], 404, "malformed", "another account's order")
if cert_count() != before:
    die("a certificate was issued during the bad-input checks")
ok("nothing was issued by any refused request")

authorize(a, order)
ok("http-01 validated on the thread pool; authorization valid")
order = poll(a, order_url, ("ready",))
ok("order ready")
wrong = make_csr(ck, ["app.test", "other.test"]).public_bytes(serialization.Encoding.DER)
problem(*a.post(order["finalize"], {"csr": b64(wrong)})[::2], 400, "badCSR",
        "CSR with a name outside the order")
problem(*a.post(order["finalize"], {"csr": "AAAA"})[::2], 400, "badCSR", "CSR that is not DER")
if cert_count() != before:
    die("a certificate was issued for a bad CSR")
st, h, body = a.post(order["finalize"], {"csr": b64(csr_der)})
if st != 200:
    die(f"finalize gave {st}: {body[:200]!r}")
order = poll(a, order_url, ("valid",))
st, h, pem = a.post(order["certificate"], None)
certs = x509.load_pem_x509_certificates(pem)
if len(certs) < 2 or certs[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value != "app.test":
    die("the certificate chain is wrong")
ok(f"certificate issued and downloaded with its chain ({len(certs)} certificates)")
st, res = api("GET", "/certificates/" + certs[0].fingerprint(hashes.SHA256()).hex())
if st != 200 or res.get("owner") != EABS[0]["owner"] or res.get("profile") != "tls-server":
    die(f"inventory record: {st} {res}")
ok("inventory: owner of the EAB key, profile tls-server")
problem(*a.post(order["finalize"], {"csr": b64(csr_der)})[::2], 403, "orderNotReady",
        "finalize twice")
st, _, body = a.post(a.kid + "/orders", None)
if st != 200 or order_url not in json.loads(body)["orders"]:
    die("orders list lacks the order")
ok("account orders list")
st, h, _ = a.post(order["certificate"], None)
links = h.get_all("Link") or []
if not any('rel="up"' in l and "/ca/" in l for l in links):
    die(f"certificate download has no Link rel=up to the CA: {links}")
ok("certificate download links rel=up to the issuing CA")

# a directory made over REST: no EAB, alternate chains (with the root)
st, res = api("PUT", "/acme/directories/alt", {"profile": "tls-server", "eab_required": False,
                                              "alternate_chains": True})
if st != 200:
    die(f"PUT acme/directories/alt gave {st}: {res}")
alt = Client(Key("ES256"), DIR_URL.replace("/default/", "/alt/"))
if alt.d["meta"]["externalAccountRequired"]:
    die("directory alt still requires EAB")
st, h, body = alt.post(alt.d["newAccount"], {"termsOfServiceAgreed": True})
if st != 201:
    die(f"newAccount without EAB on alt gave {st}: {body[:200]!r}")
alt.kid = h["Location"]
ok("directory 'alt' (REST): account without EAB")
certs_alt, _, order_alt, _ = issue(alt, ["alt.test"])
st, h, _ = alt.post(order_alt["certificate"], None)
alt_link = [l for l in (h.get_all("Link") or []) if 'rel="alternate"' in l]
if not alt_link:
    die("no Link rel=alternate on a directory with alternate_chains")
alt_url = alt_link[0].split(">")[0].lstrip("<")
st, h, pem = alt.post(alt_url, None)
chain = x509.load_pem_x509_certificates(pem)
if st != 200 or len(chain) != len(certs_alt) + 1 or chain[-1].issuer != chain[-1].subject:
    die(f"alternate chain: {st}, {len(chain)} vs {len(certs_alt)} certificates")
ok(f"alternate chain offered and served with the root ({len(chain)} certificates)")
st, res = api("GET", "/certificates/" + certs_alt[0].fingerprint(hashes.SHA256()).hex())
if st != 200 or res.get("owner", "") != "":
    die(f"no-EAB account's certificate has an owner: {res}")

s1, e1, ra = ari(a, certs[0])
now = time.time()
if not (now + 86400 < s1 < e1 <= certs[0].not_valid_after_utc.timestamp() + 1) or not ra:
    die(f"ARI window {s1}..{e1} (now {now}) Retry-After {ra}")
ok(f"ARI window given ({(s1 - now) / 86400:.1f} to {(e1 - now) / 86400:.1f} days from now)")
# replace-then-revoke needs a holder: the hook (test_acme.sh) puts the
# certificate where a real agent discovers it, waits for the inventory to
# show it, then starts the plan (certkeeper cert revoke --replace-first)
pem_path = PLAN_HOOK.rsplit("/", 1)[0] + "/held/app.pem"
import os
import subprocess
os.makedirs(os.path.dirname(pem_path), exist_ok=True)
with open(pem_path, "wb") as f:
    f.write(certs[0].public_bytes(serialization.Encoding.PEM))
if subprocess.run([PLAN_HOOK, pem_path, format(certs[0].serial_number, "x")]).returncode != 0:
    die("the replace-then-revoke hook failed")
st, res = api("GET", "/revocation-plans")
fp = certs[0].fingerprint(hashes.SHA256()).hex()
if st != 200 or not any(p.get("fingerprint") == fp and p.get("state") == "waiting"
                        for p in res.get("items", res if isinstance(res, list) else [])):
    die(f"no waiting plan for the certificate: {st} {res}")
ok("a replace-then-revoke plan waits for the agent holding the certificate")
s2, e2, _ = ari(a, certs[0])
if not (s2 <= time.time() + 60 and e2 > s2 and s2 < s1):
    die(f"ARI window did not move forward: {s2}..{e2}")
ok("ARI window moved forward to now after a replace-then-revoke plan")

# RFC 9773 §5: a renewal order names the certificate it replaces, once
rep = {"identifiers": [{"type": "dns", "value": "app.test"}], "replaces": cert_id(certs[0])}
problem(*b.post(d["newOrder"], rep)[::2], 403, "unauthorized",
        "replaces: a certificate of another account")
problem(*a.post(d["newOrder"], dict(rep, replaces="not-a-cert-id"))[::2], 400, "malformed",
        "replaces: not a certID")
st, _, body = a.post(d["newOrder"], rep)
if st != 201:
    die(f"newOrder with replaces gave {st}: {body[:300]!r}")
ok("newOrder replaces the ARI certificate")
problem(*a.post(d["newOrder"], rep)[::2], 409, "alreadyReplaced", "replaces: the same certificate twice")

certs2, ck2, order2, _ = issue(a, ["rev.test"])
der2 = certs2[0].public_bytes(serialization.Encoding.DER)
problem(*b.post(d["revokeCert"], {"certificate": b64(der2)})[::2], 403, "unauthorized",
        "revokeCert by an account that does not own the certificate")
problem(*a.post(d["revokeCert"], {"certificate": b64(der2), "reason": 7})[::2], 400,
        "badRevocationReason", "revocation reason 7")
cert_key = Key("ES256")
cert_key.k = ck2
st, _, body = http("POST", d["revokeCert"],
                   a.jws(d["revokeCert"], {"certificate": b64(der2), "reason": 1}, use_jwk=True,
                         key=cert_key))
if st != 200:
    die(f"revokeCert signed by the certificate key gave {st}: {body[:200]!r}")
ok("revokeCert signed with the certificate's own key")
problem(*a.post(d["revokeCert"], {"certificate": b64(der2)})[::2], 400, "alreadyRevoked",
        "revoking twice")
st, res = api("GET", "/certificates/" + certs2[0].fingerprint(hashes.SHA256()).hex())
if res.get("status") != "revoked":
    die(f"inventory does not show the revocation: {res}")
ok("the revocation is in the inventory")

new = Key("ES384")
inner = json.loads(a.jws(d["keyChange"], {"account": a.kid, "oldKey": a.key.jwk()}, use_jwk=True,
                         key=new, nonce="x"))
prot = json.loads(base64.urlsafe_b64decode(inner["protected"] + "=="))
del prot["nonce"]
inner["protected"] = b64j(prot)
inner["signature"] = b64(new.sign(f"{inner['protected']}.{inner['payload']}".encode()))
st, _, body = a.post(d["keyChange"], inner)
if st != 200:
    die(f"keyChange gave {st}: {body[:300]!r}")
old = a.key
a.key = new
ok("keyChange to an ES384 key")
st, _, _ = a.post(a.kid, None)
if st != 200:
    die(f"the new key does not work ({st})")
a2 = Client(old)
a2.kid = a.kid
problem(*a2.post(a.kid, None)[::2], 401, "unauthorized", "the old key after keyChange")

st, _, body = c3.post(c3.kid, {"status": "deactivated"})
if st != 200 or json.loads(body)["status"] != "deactivated":
    die(f"deactivation gave {st}: {body[:200]!r}")
ok("account C deactivated")
problem(*c3.post(d["newOrder"], {"identifiers": [{"type": "dns", "value": "c.test"}]})[::2], 401,
        "unauthorized", "a deactivated account")
st, _, _ = http("POST", d["newOrder"], b"\x00" * 2000000)
if st not in (400, 413):
    die(f"a 2 MB body gave {st}")
ok(f"a 2 MB body -> {st}")
print(f"acme scripted client: {N} checks passed")
