/* key_mbedtls.c — private keys with mbedTLS 2.28 (mbedtls_pk_context).
 *
 * Generation: RSA (e = 65537) with mbedtls_rsa_gen_key, EC P-256/P-384 with
 * mbedtls_ecp_gen_key, both driven by a CTR-DRBG seeded from ck_random().
 * mbedTLS 2.28 has no Ed25519: such keys are refused with
 * CK_ERR_UNSUPPORTED (recognised by their PKCS#8 algorithm OID, so the
 * message says why instead of "unknown algorithm"). mbedTLS only writes
 * the traditional key formats; PKCS#8 is built around them by
 * ck__pkcs8_wrap. Temporary key buffers are wiped with
 * mbedtls_platform_zeroize; mbedtls_pk_free zeroizes the key itself. */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>

#include "common/crypto/backend_mbedtls.h"

#define KEY_DER_MAX 8192 /* RSA 4096 private key is ~2.4 KiB */
#define SPKI_DER_MAX 2048

mbedtls_pk_context *ck__key_pk(const ck_key *key) {
  return (mbedtls_pk_context *)key->be;
}

void ck__be_key_free(void *be) {
  if (be == NULL)
    return;
  mbedtls_pk_free(be);
  free(be);
}

ck_err ck__be_key_generate(const ck_key_spec *spec, void **be, ck_errctx *err) {
  mbedtls_pk_context *pk = NULL;
  ck__mbed_rng rng;
  int ret;
  ck_err rc;

  rc = ck__mbed_rng_init(&rng, err);
  if (rc != CK_OK)
    goto out;
  pk = malloc(sizeof *pk);
  if (pk == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  mbedtls_pk_init(pk);
  if (spec->type == CK_KEY_RSA) {
    ret = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
    if (ret == 0)
      ret = mbedtls_rsa_gen_key(mbedtls_pk_rsa(*pk), mbedtls_ctr_drbg_random,
                                &rng.drbg, spec->bits, 65537);
  } else if (spec->type == CK_KEY_EC) {
    ret = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (ret == 0)
      ret = mbedtls_ecp_gen_key(spec->bits == 384 ? MBEDTLS_ECP_DP_SECP384R1
                                                  : MBEDTLS_ECP_DP_SECP256R1,
                                mbedtls_pk_ec(*pk), mbedtls_ctr_drbg_random,
                                &rng.drbg);
  } else {
    rc = ck_failf(err, CK_ERR_UNSUPPORTED,
                  "mbedTLS 2.28 cannot generate this key type");
    goto out;
  }
  if (ret != 0) {
    rc = ck__mbed_fail(err, CK_ERR_CRYPTO, ret, "key generation failed");
    goto out;
  }
  *be = pk;
  pk = NULL;
  rc = CK_OK;
out:
  ck__be_key_free(pk);
  ck__mbed_rng_free(&rng);
  return rc;
}

/* The algorithm OID of a PKCS#8 PrivateKeyInfo, or 0 if der is not one. */
static int pkcs8_alg(const uint8_t *der, size_t len, ck__tlv *oid) {
  ck__der d;
  ck__tlv seq, t;

  ck__der_init(&d, der, len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &seq) != 0)
    return 0;
  ck__der_enter(&d, &seq);
  if (ck__der_expect(&d, CK__T_INTEGER, &t) != 0 ||
      ck__der_expect(&d, CK__T_SEQUENCE, &t) != 0)
    return 0;
  ck__der_enter(&d, &t);
  return ck__der_expect(&d, CK__T_OID, oid) == 0;
}

ck_err ck__be_key_from_der(const uint8_t *der, size_t len, void **be,
                           ck_errctx *err) {
  mbedtls_pk_context *pk;
  ck__tlv oid;
  int ret;

  if (pkcs8_alg(der, len, &oid) &&
      (ck__oid_eq(&oid, CK__OID(CK__OID_ED25519)) ||
       ck__oid_eq(&oid, CK__OID(CK__OID_ED448))))
    return ck_failf(err, CK_ERR_UNSUPPORTED,
                    "EdDSA keys are not supported by mbedTLS 2.28");
  pk = malloc(sizeof *pk);
  if (pk == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  mbedtls_pk_init(pk);
  ret = mbedtls_pk_parse_key(pk, der, len, NULL, 0);
  if (ret != 0) {
    ck__be_key_free(pk);
    return ck__mbed_fail(err, CK_ERR_BAD_KEY, ret,
                         "cannot read the private key");
  }
  *be = pk;
  return CK_OK;
}

/* mbedTLS writes DER backwards from the end of buf: copy it out. */
static ck_err copy_tail(const unsigned char *buf, size_t size, int ret,
                        uint8_t **out, size_t *len, ck_errctx *err,
                        const char *what) {
  uint8_t *copy;

  if (ret <= 0)
    return ck__mbed_fail(err, CK_ERR_CRYPTO, ret, "encoding %s failed", what);
  copy = malloc((size_t)ret);
  if (copy == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  memcpy(copy, buf + size - (size_t)ret, (size_t)ret);
  *out = copy;
  *len = (size_t)ret;
  return CK_OK;
}

ck_err ck__be_key_spki(const void *be, uint8_t **out, size_t *len,
                       ck_errctx *err) {
  unsigned char buf[SPKI_DER_MAX];
  int ret =
      mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)be, buf, sizeof buf);

  return copy_tail(buf, sizeof buf, ret, out, len, err, "the public key");
}

ck_err ck__be_key_to_der(const ck_key *key, ck_key_pem_format fmt,
                         uint8_t **out, size_t *len, ck_errctx *err) {
  unsigned char *buf;
  uint8_t *trad = NULL;
  size_t trad_len = 0;
  int ret;
  ck_err rc;

  buf = malloc(KEY_DER_MAX);
  if (buf == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  ret = mbedtls_pk_write_key_der(key->be, buf, KEY_DER_MAX);
  rc = copy_tail(buf, KEY_DER_MAX, ret, &trad, &trad_len, err,
                 "the private key");
  mbedtls_platform_zeroize(buf, KEY_DER_MAX);
  free(buf);
  if (rc != CK_OK || fmt == CK_KEY_PEM_TRADITIONAL) {
    if (rc == CK_OK) {
      *out = trad;
      *len = trad_len;
    }
    return rc;
  }
  rc = ck__pkcs8_wrap(key->spki, key->spki_len, trad, trad_len, out, len);
  ck_crypto_free_secret(trad, trad_len);
  if (rc != CK_OK)
    return ck_failf(err, rc, "building PKCS#8 failed");
  return CK_OK;
}

ck_err ck__be_key_sign(const ck_key *key, const uint8_t *tbs, size_t len,
                       uint8_t **sig, size_t *sig_len, ck_errctx *err) {
  unsigned char hash[32], buf[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
  ck__mbed_rng rng;
  size_t n = 0;
  int ret;
  ck_err rc;

  rc = ck__mbed_rng_init(&rng, err);
  if (rc != CK_OK)
    goto out;
  if (mbedtls_sha256_ret(tbs, len, hash, 0) != 0) {
    rc = ck_failf(err, CK_ERR_CRYPTO, "SHA-256 failed");
    goto out;
  }
  ret = mbedtls_pk_sign(key->be, MBEDTLS_MD_SHA256, hash, sizeof hash, buf, &n,
                        mbedtls_ctr_drbg_random, &rng.drbg);
  if (ret != 0) {
    rc = ck__mbed_fail(err, CK_ERR_CRYPTO, ret, "signing failed");
    goto out;
  }
  *sig = malloc(n);
  if (*sig == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  memcpy(*sig, buf, n);
  *sig_len = n;
  rc = CK_OK;
out:
  ck__mbed_rng_free(&rng);
  return rc;
}

ck_err ck__be_key_match_spki(const ck_key *key, const uint8_t *spki, size_t len,
                             ck_errctx *err) {
  mbedtls_pk_context pub;
  int ret;

  mbedtls_pk_init(&pub);
  ret = mbedtls_pk_parse_public_key(&pub, spki, len);
  if (ret != 0) {
    mbedtls_pk_free(&pub);
    return ck__mbed_fail(err, CK_ERR_UNSUPPORTED, ret,
                         "cannot read the other public key");
  }
  ret = mbedtls_pk_check_pair(&pub, key->be);
  mbedtls_pk_free(&pub);
  if (ret == 0)
    return CK_OK;
  return ck_failf(err, CK_ERR_KEY_MISMATCH,
                  "the %s private key does not belong to this public key",
                  key->info.desc);
}
