/* upstream_jws.c — the ACME account key and the JWS the upstream connector
 * signs with it (RFC 8555 6.2, 7.3.4).
 *
 * The key is an ordinary PEM private key file, made and read through
 * common/crypto (so the private key never meets a second crypto library's
 * file parser); libjose signs with it as a JWK. Only EC P-256 (ES256) and
 * P-384 (ES384) keys are accepted: they are what ACME CAs universally take
 * and what our crypto layer exports in a form that maps onto a JWK without
 * a full RSA CRT decomposition. */
#include "coordinator/ca/upstream_acme_int.h"

#include <errno.h>
#include <jose/b64.h>
#include <jose/jwk.h>
#include <jose/jws.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/crypto/crypto.h"
#include "common/util/fs.h"

#define KEY_FILE_MAX (64 * 1024)

char *ck__acme_b64url(const uint8_t *data, size_t len) {
  json_t *s = jose_b64_enc(data, len);
  char *out = NULL;

  if (s != NULL)
    out = strdup(json_string_value(s));
  json_decref(s);
  return out;
}

ck_err ck__acme_b64url_decode(const char *in, size_t len, uint8_t **out,
                              size_t *out_len, ck_errctx *err) {
  char *clean = NULL;
  uint8_t *buf = NULL;
  size_t i, k = 0, n;
  ck_err rc = CK_OK;

  *out = NULL;
  *out_len = 0;
  if ((clean = malloc(len + 1)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "base64url");
  for (i = 0; i < len; i++) {
    char c = in[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '=')
      continue;
    clean[k++] = c;
  }
  n = jose_b64_dec_buf(clean, k, NULL, 0);
  if (n == SIZE_MAX) {
    rc = ck_failf(err, CK_ERR_PARSE, "not base64url");
    goto out;
  }
  if ((buf = malloc(n + 1)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "base64url");
    goto out;
  }
  if (jose_b64_dec_buf(clean, k, buf, n) != n) {
    rc = ck_failf(err, CK_ERR_PARSE, "not base64url");
    goto out;
  }
  *out = buf;
  *out_len = n;
  buf = NULL;
out:
  if (buf != NULL)
    ck_crypto_free_secret(buf, n + 1);
  ck_crypto_free_secret(clean, len + 1);
  return rc;
}

/* ------------------------------------------------------------ key -> JWK */

/* Reads one DER TLV at *p (< end): tag, content start and length. */
static int der_next(const uint8_t **p, const uint8_t *end, unsigned *tag,
                    const uint8_t **val, size_t *len) {
  const uint8_t *q = *p;
  size_t n;

  if (end - q < 2)
    return 0;
  *tag = *q++;
  n = *q++;
  if (n & 0x80) {
    size_t k = n & 0x7f;
    if (k == 0 || k > 3 || (size_t)(end - q) < k)
      return 0;
    for (n = 0; k > 0; k--)
      n = (n << 8) | *q++;
  }
  if ((size_t)(end - q) < n)
    return 0;
  *val = q;
  *len = n;
  *p = q + n;
  return 1;
}

/* The private scalar of a SEC1 ECPrivateKey (RFC 5915), left-padded to
 * size bytes into d. */
static int sec1_scalar(const uint8_t *der, size_t len, uint8_t *d,
                       size_t size) {
  const uint8_t *p = der, *v, *end = der + len;
  unsigned tag;
  size_t n;

  if (!der_next(&p, end, &tag, &v, &n) || tag != 0x30)
    return 0;
  p = v;
  end = v + n;
  if (!der_next(&p, end, &tag, &v, &n) || tag != 0x02 || n != 1 || v[0] != 1)
    return 0;
  if (!der_next(&p, end, &tag, &v, &n) || tag != 0x04 || n == 0 || n > size)
    return 0;
  memset(d, 0, size - n);
  memcpy(d + size - n, v, n);
  return 1;
}

static ck_err set_b64(json_t *o, const char *k, const uint8_t *v, size_t n) {
  json_t *s = jose_b64_enc(v, n);
  if (s == NULL || json_object_set_new(o, k, s) != 0)
    return CK_ERR_NOMEM;
  return CK_OK;
}

ck_err ck__acme_key_from_pem(const uint8_t *data, size_t len, ck__acme_key *out,
                             ck_errctx *err) {
  ck_key *key = NULL;
  ck_key_info ki;
  uint8_t *spki = NULL, d[66];
  size_t spki_len = 0, size, pos = 0, pem_len = 0;
  char *pem = NULL;
  ck_pem_block blk;
  json_t *thp = NULL;
  const char *crv;
  ck_err rc;

  memset(out, 0, sizeof *out);
  memset(&blk, 0, sizeof blk);
  if ((rc = ck_key_parse(data, len, &key, err)) != CK_OK)
    goto out;
  ck_key_get_info(key, &ki);
  if (ki.type == CK_KEY_EC && strcmp(ki.curve, "P-256") == 0) {
    size = 32;
    crv = "P-256";
    memcpy(out->alg, "ES256", 6);
  } else if (ki.type == CK_KEY_EC && strcmp(ki.curve, "P-384") == 0) {
    size = 48;
    crv = "P-384";
    memcpy(out->alg, "ES384", 6);
  } else {
    rc = ck_failf(err, CK_ERR_UNSUPPORTED,
                  "ACME account key is %s; use an EC P-256 or P-384 key",
                  ki.desc);
    goto out;
  }
  if ((rc = ck_key_spki_der(key, &spki, &spki_len, err)) != CK_OK)
    goto out;
  if (spki_len < 2 * size + 1 || spki[spki_len - 2 * size - 1] != 0x04) {
    rc = ck_failf(err, CK_ERR_BAD_KEY, "ACME account key: unexpected public key encoding");
    goto out;
  }
  if ((rc = ck_key_export_pem(key, CK_KEY_PEM_TRADITIONAL, &pem, &pem_len, err)) != CK_OK ||
      (rc = ck_pem_next((const uint8_t *)pem, pem_len, &pos, &blk, err)) != CK_OK)
    goto out;
  if (!sec1_scalar(blk.der, blk.der_len, d, size)) {
    rc = ck_failf(err, CK_ERR_BAD_KEY, "ACME account key: unexpected private key encoding");
    goto out;
  }
  out->jwk = json_pack("{s:s,s:s}", "kty", "EC", "crv", crv);
  out->pub = json_pack("{s:s,s:s}", "kty", "EC", "crv", crv);
  if (out->jwk == NULL || out->pub == NULL ||
      set_b64(out->pub, "x", spki + spki_len - 2 * size, size) != CK_OK ||
      set_b64(out->pub, "y", spki + spki_len - size, size) != CK_OK ||
      set_b64(out->jwk, "x", spki + spki_len - 2 * size, size) != CK_OK ||
      set_b64(out->jwk, "y", spki + spki_len - size, size) != CK_OK ||
      set_b64(out->jwk, "d", d, size) != CK_OK) {
    rc = ck_failf(err, CK_ERR_NOMEM, "ACME account key");
    goto out;
  }
  thp = jose_jwk_thp(NULL, out->pub, "S256");
  if (thp == NULL || json_string_length(thp) >= sizeof out->thumbprint) {
    rc = ck_failf(err, CK_ERR_CRYPTO, "ACME account key: JWK thumbprint failed");
    goto out;
  }
  memcpy(out->thumbprint, json_string_value(thp), json_string_length(thp) + 1);
  rc = CK_OK;
out:
  if (rc != CK_OK)
    ck__acme_key_clear(out);
  json_decref(thp);
  memset(d, 0, sizeof d);
  ck_pem_block_clear(&blk);
  if (pem != NULL)
    ck_crypto_free_secret(pem, pem_len);
  free(spki);
  ck_key_free(key);
  return rc;
}

ck_err ck__acme_key_load(const char *path, int create, ck__acme_key *out,
                         int *created, ck_errctx *err) {
  uint8_t *data = NULL;
  size_t len = 0, pem_len = 0;
  char *pem = NULL;
  ck_key *key = NULL;
  ck_key_spec spec = {CK_KEY_EC, 256};
  struct stat st;
  ck_err rc;

  *created = 0;
  memset(out, 0, sizeof *out);
  if (stat(path, &st) != 0 && errno == ENOENT && create) {
    if ((rc = ck_key_generate(&spec, &key, err)) != CK_OK ||
        (rc = ck_key_export_pem(key, CK_KEY_PEM_PKCS8, &pem, &pem_len, err)) != CK_OK ||
        (rc = ck_fs_write_atomic(path, pem, pem_len, 0600, err)) != CK_OK) {
      rc = ck_failf(err, rc, "ACME account key %s", path);
      goto out;
    }
    *created = 1;
  }
  if ((rc = ck_fs_read_file(path, KEY_FILE_MAX, &data, &len, err)) != CK_OK) {
    rc = ck_failf(err, rc, "ACME account key %s", path);
    goto out;
  }
  if ((rc = ck__acme_key_from_pem(data, len, out, err)) != CK_OK)
    rc = ck_failf(err, rc, "ACME account key %s", path);
out:
  if (data != NULL)
    ck_crypto_free_secret(data, len);
  if (pem != NULL)
    ck_crypto_free_secret(pem, pem_len);
  ck_key_free(key);
  return rc;
}

void ck__acme_key_clear(ck__acme_key *k) {
  json_t *d;

  if (k == NULL)
    return;
  if (k->jwk != NULL && (d = json_object_get(k->jwk, "d")) != NULL &&
      json_is_string(d)) {
    /* jansson owns the string; overwrite it through the API */
    json_string_set(d, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  }
  json_decref(k->jwk);
  json_decref(k->pub);
  memset(k, 0, sizeof *k);
}

/* ------------------------------------------------------------------ JWS */

/* Signs payload_b64 with protected header hdr (consumed) under jwk; the
 * flattened JWS JSON into *out. */
static ck_err sign(json_t *hdr, const char *payload_b64, const json_t *jwk,
                   json_t **out, ck_errctx *err) {
  json_t *jws = NULL, *sig = NULL;
  ck_err rc = CK_OK;

  *out = NULL;
  jws = json_pack("{s:s}", "payload", payload_b64);
  sig = json_pack("{s:o}", "protected", hdr);
  hdr = NULL;
  if (jws == NULL || sig == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "JWS");
    goto out;
  }
  if (!jose_jws_sig(NULL, jws, sig, jwk)) {
    rc = ck_failf(err, CK_ERR_CRYPTO, "JWS signing failed");
    goto out;
  }
  *out = jws;
  jws = NULL;
out:
  json_decref(hdr);
  json_decref(jws);
  json_decref(sig);
  return rc;
}

ck_err ck__acme_jws(const ck__acme_key *k, const char *kid, const char *nonce,
                    const char *url, const char *payload, char **out,
                    ck_errctx *err) {
  json_t *hdr = NULL, *jws = NULL;
  char *b64 = NULL;
  ck_err rc;

  *out = NULL;
  if (k == NULL || k->jwk == NULL || nonce == NULL || url == NULL)
    return ck_failf(err, CK_ERR_INVAL, "JWS: missing key, nonce or url");
  hdr = json_pack("{s:s,s:s,s:s}", "alg", k->alg, "nonce", nonce, "url", url);
  if (hdr == NULL ||
      (kid != NULL ? json_object_set_new(hdr, "kid", json_string(kid))
                   : json_object_set(hdr, "jwk", k->pub)) != 0) {
    json_decref(hdr);
    return ck_failf(err, CK_ERR_NOMEM, "JWS");
  }
  if (payload == NULL)
    b64 = strdup("");
  else
    b64 = ck__acme_b64url((const uint8_t *)payload, strlen(payload));
  if (b64 == NULL) {
    json_decref(hdr);
    return ck_failf(err, CK_ERR_NOMEM, "JWS");
  }
  if ((rc = sign(hdr, b64, k->jwk, &jws, err)) != CK_OK)
    goto out;
  if ((*out = json_dumps(jws, JSON_COMPACT)) == NULL)
    rc = ck_failf(err, CK_ERR_NOMEM, "JWS");
out:
  free(b64);
  json_decref(jws);
  return rc;
}

ck_err ck__acme_eab(const ck__acme_key *k, const char *kid, const uint8_t *hmac,
                    size_t hmac_len, const char *url, json_t **out,
                    ck_errctx *err) {
  json_t *hdr = NULL, *oct = NULL;
  char *pub = NULL, *b64 = NULL;
  ck_err rc;

  *out = NULL;
  if (hmac_len == 0)
    return ck_failf(err, CK_ERR_INVAL, "EAB: empty HMAC key");
  hdr = json_pack("{s:s,s:s,s:s}", "alg", "HS256", "kid", kid, "url", url);
  oct = json_pack("{s:s,s:s}", "kty", "oct", "alg", "HS256");
  pub = json_dumps(k->pub, JSON_COMPACT | JSON_SORT_KEYS);
  if (hdr == NULL || oct == NULL || pub == NULL ||
      set_b64(oct, "k", hmac, hmac_len) != CK_OK ||
      (b64 = ck__acme_b64url((const uint8_t *)pub, strlen(pub))) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "EAB");
    json_decref(hdr);
    goto out;
  }
  rc = sign(hdr, b64, oct, out, err);
  if (rc != CK_OK)
    rc = ck_failf(err, rc, "EAB");
out:
  free(pub);
  free(b64);
  json_decref(oct);
  return rc;
}
