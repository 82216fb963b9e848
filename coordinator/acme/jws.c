/* jws.c — ACME request JWS parsing and verification (jws.h). Parsing and
 * the header rules are ours (RFC 8555 §6.2); ES256/ES384/RS256 signatures
 * are checked by libjose, EdDSA by the crypto seam (libjose 11 has no
 * Ed25519), EAB MACs by our HMAC-SHA256. */
#include "coordinator/acme/jws.h"

#include <jose/jose.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto.h"
#include "common/crypto/sigverify.h"
#include "common/util/mem.h"
#include "coordinator/acme/acme_util.h"

static const struct {
  const char *name;
  ck_acme_alg alg;
} ALGS[] = {{"ES256", CK_ACME_ALG_ES256},
            {"ES384", CK_ACME_ALG_ES384},
            {"RS256", CK_ACME_ALG_RS256},
            {"EdDSA", CK_ACME_ALG_EDDSA}};

void ck_acme_jws_clear(ck_acme_jws *j) {
  if (j == NULL)
    return;
  json_decref(j->root);
  json_decref(j->hdr);
  free(j->payload);
  memset(j, 0, sizeof *j);
}

/* A string member or NULL. */
static const char *str_member(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Decodes a base64url JSON member into a malloc'ed NUL-terminated buffer. */
static int b64_member(const char *s, size_t max, uint8_t **out, size_t *len,
                      const char *what, ck_acme_problem *p) {
  size_t sl = strlen(s), cap = sl / 4 * 3 + 3;
  uint8_t *buf;
  ck_err rc;

  *out = NULL;
  *len = 0;
  if (cap > max + 3)
    return ck_acme_fail(p, 413, "malformed",
                        "the JWS %s is larger than %zu bytes", what, max);
  if ((buf = malloc(cap + 1)) == NULL)
    return ck_acme_fail(p, 500, "serverInternal", "out of memory");
  rc = ck_b64u_decode(s, sl, buf, cap, len);
  if (rc != CK_OK) {
    free(buf);
    return ck_acme_fail(p, 400, "malformed",
                        "the JWS %s is not base64url without padding", what);
  }
  if (*len > max) {
    free(buf);
    return ck_acme_fail(p, 413, "malformed",
                        "the JWS %s is larger than %zu bytes", what, max);
  }
  buf[*len] = '\0';
  *out = buf;
  return 1;
}

static size_t b64_len_ok(const char *s) {
  return s != NULL ? strlen(s) : 0;
}

int ck_acme_jwk_check(const json_t *jwk, ck_acme_alg alg, ck_acme_problem *p) {
  const char *kty, *crv, *x, *y, *n, *e;

  if (!json_is_object(jwk))
    return ck_acme_fail(p, 400, "malformed", "jwk is not a JSON object");
  if (json_object_get(jwk, "d") != NULL || json_object_get(jwk, "k") != NULL)
    return ck_acme_fail(p, 400, "malformed",
                        "jwk contains private key material");
  kty = str_member(jwk, "kty");
  crv = str_member(jwk, "crv");
  x = str_member(jwk, "x");
  y = str_member(jwk, "y");
  n = str_member(jwk, "n");
  e = str_member(jwk, "e");
  if (kty == NULL)
    return ck_acme_fail(p, 400, "badPublicKey", "jwk has no kty");
  if (strcmp(kty, "EC") == 0) {
    size_t want;
    if (crv == NULL || (strcmp(crv, "P-256") != 0 && strcmp(crv, "P-384") != 0))
      return ck_acme_fail(p, 400, "badPublicKey",
                          "EC keys must be on curve P-256 or P-384 (got %.40s)",
                          crv != NULL ? crv : "none");
    want = strcmp(crv, "P-256") == 0 ? 43 : 64;
    if (b64_len_ok(x) != want || b64_len_ok(y) != want)
      return ck_acme_fail(p, 400, "badPublicKey",
                          "EC jwk x/y have the wrong size for %s", crv);
    if ((alg == CK_ACME_ALG_ES256 && want != 43) ||
        (alg == CK_ACME_ALG_ES384 && want != 64) ||
        (alg != CK_ACME_ALG_NONE && alg != CK_ACME_ALG_ES256 &&
         alg != CK_ACME_ALG_ES384))
      return ck_acme_fail(
          p, 400, "badSignatureAlgorithm",
          "the JWS alg does not fit an EC %s key (use ES256 for P-256, "
          "ES384 for P-384)",
          crv);
    return 1;
  }
  if (strcmp(kty, "RSA") == 0) {
    if (n == NULL || e == NULL || strlen(e) > 8)
      return ck_acme_fail(p, 400, "badPublicKey", "RSA jwk needs n and e");
    if (strlen(n) < 342) /* 2048 bits = 256 bytes = 342 characters */
      return ck_acme_fail(p, 400, "badPublicKey",
                          "RSA keys must have at least 2048 bits");
    if (strlen(n) > 1366) /* 8192 bits */
      return ck_acme_fail(p, 400, "badPublicKey",
                          "RSA keys larger than 8192 bits are refused");
    if (alg != CK_ACME_ALG_NONE && alg != CK_ACME_ALG_RS256)
      return ck_acme_fail(p, 400, "badSignatureAlgorithm",
                          "the JWS alg does not fit an RSA key (use RS256)");
    return 1;
  }
  if (strcmp(kty, "OKP") == 0) {
    if (crv == NULL || strcmp(crv, "Ed25519") != 0 || b64_len_ok(x) != 43)
      return ck_acme_fail(p, 400, "badPublicKey", "OKP keys must be Ed25519");
    if (alg != CK_ACME_ALG_NONE && alg != CK_ACME_ALG_EDDSA)
      return ck_acme_fail(
          p, 400, "badSignatureAlgorithm",
          "the JWS alg does not fit an Ed25519 key (use EdDSA)");
    return 1;
  }
  return ck_acme_fail(p, 400, "badPublicKey", "unsupported key type '%.20s'",
                      kty);
}

int ck_acme_jws_parse(const uint8_t *body, size_t len, size_t max_payload,
                      ck_acme_jws *out, ck_acme_problem *p) {
  const char *prot, *payload, *sig;
  uint8_t *hbuf = NULL, *sbuf = NULL;
  size_t hlen = 0, slen = 0, i;
  json_error_t je;
  int ok = 0;

  memset(out, 0, sizeof *out);
  if (len > max_payload * 4 / 3 + CK_ACME_PROTECTED_MAX * 2 + 4096)
    return ck_acme_fail(p, 413, "malformed",
                        "request body of %zu bytes is over the limit", len);
  out->root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
  if (!json_is_object(out->root)) {
    ck_acme_fail(p, 400, "malformed",
                 "the request body is not a JSON object (a flattened JWS)");
    goto out;
  }
  if (json_object_get(out->root, "signatures") != NULL ||
      json_object_get(out->root, "header") != NULL) {
    ck_acme_fail(
        p, 400, "malformed",
        "use the flattened JWS JSON serialization with no unprotected header");
    goto out;
  }
  prot = str_member(out->root, "protected");
  payload = str_member(out->root, "payload");
  sig = str_member(out->root, "signature");
  if (prot == NULL || payload == NULL || sig == NULL) {
    ck_acme_fail(
        p, 400, "malformed",
        "the JWS needs string members protected, payload and signature");
    goto out;
  }
  if (!b64_member(prot, CK_ACME_PROTECTED_MAX, &hbuf, &hlen, "protected header",
                  p) ||
      !b64_member(sig, 1100, &sbuf, &slen, "signature", p) ||
      !b64_member(payload, max_payload, &out->payload, &out->payload_len,
                  "payload", p))
    goto out;
  out->post_as_get = payload[0] == '\0';
  out->hdr = json_loadb((const char *)hbuf, hlen, JSON_REJECT_DUPLICATES, &je);
  if (!json_is_object(out->hdr)) {
    ck_acme_fail(p, 400, "malformed",
                 "the JWS protected header is not a JSON object");
    goto out;
  }
  if (json_object_get(out->hdr, "crit") != NULL ||
      json_object_get(out->hdr, "b64") != NULL) {
    ck_acme_fail(p, 400, "malformed",
                 "the JWS protected header must not use crit or b64");
    goto out;
  }
  out->alg_name = str_member(out->hdr, "alg");
  if (out->alg_name == NULL) {
    ck_acme_fail(p, 400, "malformed", "the JWS protected header has no alg");
    goto out;
  }
  for (i = 0; i < sizeof ALGS / sizeof ALGS[0]; i++)
    if (strcmp(out->alg_name, ALGS[i].name) == 0)
      out->alg = ALGS[i].alg;
  if (out->alg == CK_ACME_ALG_NONE) {
    ck_acme_fail(p, 400, "badSignatureAlgorithm",
                 "JWS algorithm '%.32s' is not accepted (ES256, ES384, RS256, "
                 "EdDSA are)",
                 out->alg_name);
    goto out;
  }
  out->url = str_member(out->hdr, "url");
  out->nonce = str_member(out->hdr, "nonce");
  out->kid = str_member(out->hdr, "kid");
  out->jwk = json_object_get(out->hdr, "jwk");
  if (out->url == NULL) {
    ck_acme_fail(p, 400, "malformed", "the JWS protected header has no url");
    goto out;
  }
  if (json_object_get(out->hdr, "nonce") != NULL && out->nonce == NULL) {
    ck_acme_fail(p, 400, "badNonce", "the JWS nonce is not a string");
    goto out;
  }
  if ((out->jwk != NULL) == (json_object_get(out->hdr, "kid") != NULL)) {
    ck_acme_fail(
        p, 400, "malformed",
        "the JWS protected header must contain exactly one of jwk and kid");
    goto out;
  }
  if (out->jwk == NULL && out->kid == NULL) {
    ck_acme_fail(p, 400, "malformed", "the JWS kid is not a string");
    goto out;
  }
  if (out->jwk != NULL && !ck_acme_jwk_check(out->jwk, out->alg, p))
    goto out;
  ok = 1;
out:
  free(hbuf);
  free(sbuf);
  if (!ok)
    ck_acme_jws_clear(out);
  return ok;
}

static int verify_eddsa(const ck_acme_jws *j, const json_t *jwk,
                        ck_acme_problem *p) {
  uint8_t spki[CK_ACME_SPKI_MAX], sig[80];
  const char *prot = str_member(j->root, "protected");
  const char *payload = str_member(j->root, "payload");
  const char *s = str_member(j->root, "signature");
  size_t spki_len = 0, sig_len = 0, ml;
  char *msg;
  ck_err rc;

  if (ck_acme_jwk_spki(jwk, spki, sizeof spki, &spki_len) != CK_OK ||
      ck_b64u_decode(s, strlen(s), sig, sizeof sig, &sig_len) != CK_OK)
    return ck_acme_fail(p, 400, "malformed", "JWS signature does not verify");
  ml = strlen(prot) + 1 + strlen(payload);
  if ((msg = malloc(ml + 1)) == NULL)
    return ck_acme_fail(p, 500, "serverInternal", "out of memory");
  memcpy(msg, prot, strlen(prot));
  msg[strlen(prot)] = '.';
  memcpy(msg + strlen(prot) + 1, payload, strlen(payload));
  rc = ck_crypto_ed25519_verify(spki, spki_len, msg, ml, sig, sig_len);
  free(msg);
  if (rc == CK_ERR_UNSUPPORTED)
    return ck_acme_fail(p, 400, "badSignatureAlgorithm",
                        "EdDSA is not supported by this build");
  if (rc != CK_OK)
    return ck_acme_fail(p, 400, "malformed", "JWS signature does not verify");
  return 1;
}

int ck_acme_jws_verify(const ck_acme_jws *j, const json_t *jwk,
                       ck_acme_problem *p) {
  json_t *key = NULL;
  int ok;

  if (!ck_acme_jwk_check(jwk, j->alg, p))
    return 0;
  if (j->alg == CK_ACME_ALG_EDDSA)
    return verify_eddsa(j, jwk, p);
  /* libjose picks the algorithm from the protected header; give it the
   * key without an "alg"/"key_ops" of the client's choosing */
  key = json_deep_copy(jwk);
  if (key == NULL)
    return ck_acme_fail(p, 500, "serverInternal", "out of memory");
  json_object_del(key, "alg");
  json_object_del(key, "key_ops");
  json_object_del(key, "use");
  ok = jose_jws_ver(NULL, j->root, NULL, key, false);
  json_decref(key);
  if (!ok)
    return ck_acme_fail(p, 400, "malformed", "JWS signature does not verify");
  return 1;
}

ck_err ck_acme_jwk_thumbprint(const json_t *jwk, char out[CK_ACME_THUMB_LEN]) {
  const char *kty = str_member(jwk, "kty");
  json_t *canon = NULL;
  char *text = NULL;
  uint8_t h[CK_SHA256_LEN];
  ck_err rc = CK_ERR_PARSE;

  out[0] = '\0';
  if (kty == NULL)
    return rc;
  if (strcmp(kty, "EC") == 0 && str_member(jwk, "crv") &&
      str_member(jwk, "x") && str_member(jwk, "y"))
    canon =
        json_pack("{s:s,s:s,s:s,s:s}", "crv", str_member(jwk, "crv"), "kty",
                  "EC", "x", str_member(jwk, "x"), "y", str_member(jwk, "y"));
  else if (strcmp(kty, "RSA") == 0 && str_member(jwk, "e") &&
           str_member(jwk, "n"))
    canon = json_pack("{s:s,s:s,s:s}", "e", str_member(jwk, "e"), "kty", "RSA",
                      "n", str_member(jwk, "n"));
  else if (strcmp(kty, "OKP") == 0 && str_member(jwk, "crv") &&
           str_member(jwk, "x"))
    canon = json_pack("{s:s,s:s,s:s}", "crv", str_member(jwk, "crv"), "kty",
                      "OKP", "x", str_member(jwk, "x"));
  if (canon == NULL)
    return rc;
  /* RFC 7638: members in lexicographic order, no whitespace */
  text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(canon);
  if (text == NULL)
    return CK_ERR_NOMEM;
  rc = ck_crypto_sha256(text, strlen(text), h);
  free(text);
  if (rc == CK_OK)
    ck_b64u_encode(h, sizeof h, out, CK_ACME_THUMB_LEN);
  return rc;
}

/* DER helpers for ck_acme_jwk_spki. */
static size_t der_len(uint8_t *o, size_t n) {
  if (n < 128) {
    o[0] = (uint8_t)n;
    return 1;
  }
  if (n < 256) {
    o[0] = 0x81;
    o[1] = (uint8_t)n;
    return 2;
  }
  o[0] = 0x82;
  o[1] = (uint8_t)(n >> 8);
  o[2] = (uint8_t)n;
  return 3;
}

/* Appends an INTEGER of the unsigned big-endian v (n bytes). */
static size_t der_uint(uint8_t *o, const uint8_t *v, size_t n) {
  size_t k = 0, pad;

  while (n > 1 && v[0] == 0) {
    v++;
    n--;
  }
  pad = (v[0] & 0x80) ? 1 : 0;
  o[k++] = 0x02;
  k += der_len(o + k, n + pad);
  if (pad)
    o[k++] = 0;
  memcpy(o + k, v, n);
  return k + n;
}

static int dec_member(const json_t *jwk, const char *k, uint8_t *out,
                      size_t cap, size_t *len) {
  const char *s = str_member(jwk, k);
  return s != NULL && ck_b64u_decode(s, strlen(s), out, cap, len) == CK_OK &&
         *len > 0;
}

ck_err ck_acme_jwk_spki(const json_t *jwk, uint8_t *out, size_t cap,
                        size_t *len) {
  static const uint8_t P256[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a,
                                 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
                                 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
                                 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};
  static const uint8_t P384[] = {
      0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
      0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00, 0x04};
  static const uint8_t ED[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                               0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
  static const uint8_t RSA_ALG[] = {0x30, 0x0d, 0x06, 0x09, 0x2a,
                                    0x86, 0x48, 0x86, 0xf7, 0x0d,
                                    0x01, 0x01, 0x01, 0x05, 0x00};
  const char *kty = str_member(jwk, "kty"), *crv = str_member(jwk, "crv");
  uint8_t x[1100], y[80];
  size_t xl = 0, yl = 0, k = 0;

  *len = 0;
  if (kty == NULL)
    return CK_ERR_PARSE;
  if (strcmp(kty, "EC") == 0 && crv != NULL) {
    size_t cl = strcmp(crv, "P-256") == 0   ? 32
                : strcmp(crv, "P-384") == 0 ? 48
                                            : 0;
    const uint8_t *pre = cl == 32 ? P256 : P384;
    size_t pl = cl == 32 ? sizeof P256 : sizeof P384;
    if (cl == 0 || !dec_member(jwk, "x", x, sizeof x, &xl) ||
        !dec_member(jwk, "y", y, sizeof y, &yl) || xl != cl || yl != cl)
      return CK_ERR_PARSE;
    if (pl + 2 * cl > cap)
      return CK_ERR_LIMIT;
    memcpy(out, pre, pl);
    memcpy(out + pl, x, cl);
    memcpy(out + pl + cl, y, cl);
    *len = pl + 2 * cl;
    return CK_OK;
  }
  if (strcmp(kty, "OKP") == 0 && crv != NULL && strcmp(crv, "Ed25519") == 0) {
    if (!dec_member(jwk, "x", x, sizeof x, &xl) || xl != 32)
      return CK_ERR_PARSE;
    if (sizeof ED + 32 > cap)
      return CK_ERR_LIMIT;
    memcpy(out, ED, sizeof ED);
    memcpy(out + sizeof ED, x, 32);
    *len = sizeof ED + 32;
    return CK_OK;
  }
  if (strcmp(kty, "RSA") == 0) {
    uint8_t ints[1200], bits[1220], scratch[4];
    size_t il = 0, bl = 0, tl;
    if (!dec_member(jwk, "n", x, sizeof x, &xl) ||
        !dec_member(jwk, "e", y, sizeof y, &yl) || xl > 1030 || yl > 8)
      return CK_ERR_PARSE;
    il += der_uint(ints + il, x, xl);
    il += der_uint(ints + il, y, yl);
    /* BIT STRING { 0x00, SEQUENCE { n, e } } */
    bits[bl++] = 0x30;
    bl += der_len(bits + bl, il);
    memcpy(bits + bl, ints, il);
    bl += il;
    tl = sizeof RSA_ALG + 1 + 3 + 1 + bl;
    if (tl + 4 > cap)
      return CK_ERR_LIMIT;
    out[k++] = 0x30;
    k += der_len(out + k,
                 sizeof RSA_ALG + 1 + der_len(scratch, bl + 1) + bl + 1);
    memcpy(out + k, RSA_ALG, sizeof RSA_ALG);
    k += sizeof RSA_ALG;
    out[k++] = 0x03;
    k += der_len(out + k, bl + 1);
    out[k++] = 0x00;
    memcpy(out + k, bits, bl);
    k += bl;
    *len = k;
    return CK_OK;
  }
  return CK_ERR_PARSE;
}

int ck_acme_eab_kid(const json_t *eab, json_t **hdr_out, const char **kid,
                    ck_acme_problem *p) {
  const char *prot = str_member(eab, "protected");
  uint8_t *h = NULL;
  size_t hl = 0;
  json_error_t je;

  *hdr_out = NULL;
  *kid = NULL;
  if (!json_is_object(eab) || prot == NULL ||
      !json_is_string(json_object_get(eab, "payload")) ||
      !json_is_string(json_object_get(eab, "signature")))
    return ck_acme_fail(
        p, 400, "malformed",
        "externalAccountBinding must be a flattened JWS object");
  if (!b64_member(prot, CK_ACME_PROTECTED_MAX, &h, &hl, "EAB protected header",
                  p))
    return 0;
  *hdr_out = json_loadb((const char *)h, hl, JSON_REJECT_DUPLICATES, &je);
  free(h);
  if (!json_is_object(*hdr_out) ||
      (*kid = str_member(*hdr_out, "kid")) == NULL) {
    json_decref(*hdr_out);
    *hdr_out = NULL;
    return ck_acme_fail(
        p, 400, "malformed",
        "the externalAccountBinding protected header has no kid");
  }
  return 1;
}

int ck_acme_eab_verify(const json_t *eab, const uint8_t *key, size_t keylen,
                       const char *url, const json_t *outer_jwk,
                       ck_acme_problem *p) {
  const char *prot = str_member(eab, "protected");
  const char *payload = str_member(eab, "payload");
  const char *sig = str_member(eab, "signature");
  json_t *hdr = NULL, *inner = NULL;
  uint8_t *pl = NULL, mac[32], got[40];
  size_t pll = 0, gl = 0, ml;
  const char *kid, *alg, *u;
  char *msg = NULL;
  json_error_t je;
  int ok = 0;

  if (!ck_acme_eab_kid(eab, &hdr, &kid, p))
    return 0;
  alg = str_member(hdr, "alg");
  u = str_member(hdr, "url");
  if (alg == NULL || strcmp(alg, "HS256") != 0) {
    ck_acme_fail(p, 400, "badSignatureAlgorithm",
                 "externalAccountBinding must be signed with HS256");
    goto out;
  }
  if (json_object_get(hdr, "nonce") != NULL) {
    ck_acme_fail(p, 400, "malformed",
                 "externalAccountBinding must not carry a nonce");
    goto out;
  }
  if (u == NULL || strcmp(u, url) != 0) {
    ck_acme_fail(p, 400, "malformed",
                 "externalAccountBinding url must be the newAccount URL");
    goto out;
  }
  if (!b64_member(payload, 4096, &pl, &pll, "EAB payload", p))
    goto out;
  inner = json_loadb((const char *)pl, pll, JSON_REJECT_DUPLICATES, &je);
  if (inner == NULL || !json_equal(inner, (json_t *)outer_jwk)) {
    ck_acme_fail(p, 400, "malformed",
                 "externalAccountBinding payload must be the account's jwk");
    goto out;
  }
  ml = strlen(prot) + 1 + strlen(payload);
  if ((msg = malloc(ml + 1)) == NULL) {
    ck_acme_fail(p, 500, "serverInternal", "out of memory");
    goto out;
  }
  memcpy(msg, prot, strlen(prot));
  msg[strlen(prot)] = '.';
  memcpy(msg + strlen(prot) + 1, payload, strlen(payload));
  if (ck_hmac_sha256(key, keylen, msg, ml, mac) != CK_OK ||
      ck_b64u_decode(sig, strlen(sig), got, sizeof got, &gl) != CK_OK ||
      gl != 32 || !ck_ct_equal(mac, got, 32)) {
    ck_acme_fail(p, 403, "unauthorized",
                 "externalAccountBinding MAC does not verify with the key of "
                 "kid '%.64s'",
                 kid);
    goto out;
  }
  ok = 1;
out:
  ck_wipe(mac, sizeof mac);
  free(msg);
  free(pl);
  json_decref(inner);
  json_decref(hdr);
  return ok;
}
