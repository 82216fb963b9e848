/* key_openssl.c — private keys with OpenSSL 3 (EVP_PKEY).
 *
 * Generation uses EVP_PKEY_Q_keygen (RSA with e = 65537, EC P-256/P-384,
 * Ed25519); decoding accepts unencrypted PKCS#8 and traditional DER
 * (encrypted input never gets here, key.c filters it). Signing is SHA-256
 * with PKCS#1 v1.5 for RSA, DER ECDSA for EC and pure Ed25519. Serialised
 * key bytes are copied into malloc'ed buffers the caller wipes; OpenSSL
 * cleanses its own copies when the objects are freed. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/crypto/backend_openssl.h"

EVP_PKEY *ck__key_evp(const ck_key *key) {
  return (EVP_PKEY *)key->be;
}

void ck__be_key_free(void *be) {
  EVP_PKEY_free(be);
}

ck_err ck__be_key_generate(const ck_key_spec *spec, void **be, ck_errctx *err) {
  EVP_PKEY *pk = NULL;

  switch (spec->type) {
  case CK_KEY_RSA:
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)spec->bits);
    break;
  case CK_KEY_EC:
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
                           spec->bits == 384 ? "P-384" : "P-256");
    break;
  case CK_KEY_ED25519:
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    break;
  default:
    return ck_failf(err, CK_ERR_INVAL, "cannot generate key type %d",
                    (int)spec->type);
  }
  if (pk == NULL)
    return ck__ossl_fail(err, CK_ERR_CRYPTO, "key generation failed");
  *be = pk;
  return CK_OK;
}

ck_err ck__be_key_from_der(const uint8_t *der, size_t len, void **be,
                           ck_errctx *err) {
  const unsigned char *p = der;
  EVP_PKEY *pk;

  if (len > LONG_MAX)
    return ck_failf(err, CK_ERR_BAD_KEY, "key too large");
  pk = d2i_AutoPrivateKey(NULL, &p, (long)len);
  if (pk == NULL)
    return ck__ossl_fail(err, CK_ERR_BAD_KEY, "cannot read the private key");
  *be = pk;
  return CK_OK;
}

/* Copies an i2d result into a malloc'ed buffer (OpenSSL allocates with
 * OPENSSL_malloc, we hand out malloc memory). */
static ck_err i2d_copy(int n, unsigned char *tmp, uint8_t **out, size_t *len,
                       ck_errctx *err, const char *what) {
  uint8_t *buf;

  if (n <= 0 || tmp == NULL)
    return ck__ossl_fail(err, CK_ERR_CRYPTO, "encoding %s failed", what);
  buf = malloc((size_t)n);
  if (buf == NULL) {
    OPENSSL_clear_free(tmp, (size_t)n);
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  }
  memcpy(buf, tmp, (size_t)n);
  OPENSSL_clear_free(tmp, (size_t)n);
  *out = buf;
  *len = (size_t)n;
  return CK_OK;
}

ck_err ck__be_key_spki(const void *be, uint8_t **out, size_t *len,
                       ck_errctx *err) {
  unsigned char *tmp = NULL;
  int n = i2d_PUBKEY((EVP_PKEY *)be, &tmp);

  return i2d_copy(n, tmp, out, len, err, "the public key");
}

ck_err ck__be_key_to_der(const ck_key *key, ck_key_pem_format fmt,
                         uint8_t **out, size_t *len, ck_errctx *err) {
  EVP_PKEY *pk = key->be;
  PKCS8_PRIV_KEY_INFO *p8 = NULL;
  unsigned char *tmp = NULL;
  int n;
  ck_err rc;

  if (fmt == CK_KEY_PEM_PKCS8) {
    p8 = EVP_PKEY2PKCS8(pk);
    if (p8 == NULL)
      return ck__ossl_fail(err, CK_ERR_CRYPTO, "PKCS#8 conversion failed");
    n = i2d_PKCS8_PRIV_KEY_INFO(p8, &tmp);
    rc = i2d_copy(n, tmp, out, len, err, "the PKCS#8 key");
    PKCS8_PRIV_KEY_INFO_free(p8);
    return rc;
  }
  n = i2d_PrivateKey(pk, &tmp); /* RSAPrivateKey / ECPrivateKey */
  return i2d_copy(n, tmp, out, len, err, "the private key");
}

ck_err ck__be_key_sign(const ck_key *key, const uint8_t *tbs, size_t len,
                       uint8_t **sig, size_t *sig_len, ck_errctx *err) {
  EVP_MD_CTX *md = NULL;
  uint8_t *buf = NULL;
  size_t n = 0;
  ck_err rc;

  md = EVP_MD_CTX_new();
  if (md == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  if (EVP_DigestSignInit(md, NULL,
                         key->info.type == CK_KEY_ED25519 ? NULL : EVP_sha256(),
                         NULL, key->be) != 1 ||
      EVP_DigestSign(md, NULL, &n, tbs, len) != 1) {
    rc = ck__ossl_fail(err, CK_ERR_CRYPTO, "signing failed");
    goto out;
  }
  buf = malloc(n);
  if (buf == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  if (EVP_DigestSign(md, buf, &n, tbs, len) != 1) {
    rc = ck__ossl_fail(err, CK_ERR_CRYPTO, "signing failed");
    goto out;
  }
  *sig = buf;
  *sig_len = n;
  buf = NULL;
  rc = CK_OK;
out:
  free(buf);
  EVP_MD_CTX_free(md);
  return rc;
}

ck_err ck__be_key_match_spki(const ck_key *key, const uint8_t *spki, size_t len,
                             ck_errctx *err) {
  const unsigned char *p = spki;
  EVP_PKEY *pub;
  int eq;

  pub = d2i_PUBKEY(NULL, &p, (long)len);
  if (pub == NULL) {
    ERR_clear_error();
    return ck_failf(err, CK_ERR_UNSUPPORTED,
                    "cannot read the certificate's public key");
  }
  eq = EVP_PKEY_eq(pub, key->be);
  EVP_PKEY_free(pub);
  ERR_clear_error();
  if (eq == 1)
    return CK_OK;
  return ck_failf(err, CK_ERR_KEY_MISMATCH,
                  "the %s private key does not belong to this public key",
                  key->info.desc);
}
