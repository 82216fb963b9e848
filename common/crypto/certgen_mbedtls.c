/* certgen_mbedtls.c — the certificate signer for mbedTLS 2.28.
 *
 * An mbedTLS key may not be used by two threads at once (ECDSA caches its
 * comb table in the shared group on first use, RSA updates its blinding
 * values), so a signer serialises mbedtls_pk_sign behind a mutex; hashing
 * runs outside it. The signer keeps one CTR-DRBG (seeded from ck_random)
 * for all its signatures instead of seeding one per call. Devices rarely
 * issue certificates: simplicity beats throughput here. Ed25519 does not
 * exist in mbedTLS 2.28: CK_ERR_UNSUPPORTED. */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>
#include <uv.h>

#include "common/crypto/backend_mbedtls.h"
#include "common/crypto/certgen_int.h"

typedef struct signer {
  mbedtls_pk_context *pk; /* borrowed from the ck_key */
  const mbedtls_md_info_t *md;
  ck__mbed_rng rng; /* guarded by lock */
  uv_mutex_t lock;
  int rng_ok, lock_ok;
} signer;

void ck__certgen_be_free(void *p) {
  signer *s = p;

  if (s == NULL)
    return;
  if (s->rng_ok)
    ck__mbed_rng_free(&s->rng);
  if (s->lock_ok)
    uv_mutex_destroy(&s->lock);
  free(s);
}

ck_err ck__certgen_be_new(const ck_key *key, ck__certgen_md md, void **out,
                          ck_errctx *err) {
  mbedtls_md_type_t type = MBEDTLS_MD_SHA256;
  signer *s = NULL;
  ck_err rc;

  switch (md) {
  case CK__CERTGEN_PURE:
    return ck_failf(err, CK_ERR_UNSUPPORTED,
                    "the mbedtls backend cannot sign with a %s key",
                    key->info.desc);
  case CK__CERTGEN_SHA256:
    type = MBEDTLS_MD_SHA256;
    break;
  case CK__CERTGEN_SHA384:
    type = MBEDTLS_MD_SHA384;
    break;
  case CK__CERTGEN_SHA512:
    type = MBEDTLS_MD_SHA512;
    break;
  }
  s = calloc(1, sizeof *s);
  if (s == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  s->pk = ck__key_pk(key);
  s->md = mbedtls_md_info_from_type(type);
  if (s->md == NULL) {
    rc = ck_failf(err, CK_ERR_UNSUPPORTED, "digest not built into mbedTLS");
    goto out;
  }
  if (uv_mutex_init(&s->lock) != 0) {
    rc = ck_failf(err, CK_ERR_NOMEM, "cannot create a mutex");
    goto out;
  }
  s->lock_ok = 1;
  s->rng_ok = 1; /* ck__mbed_rng_init wants a free even when it fails */
  rc = ck__mbed_rng_init(&s->rng, err);
  if (rc != CK_OK)
    goto out;
  *out = s;
  s = NULL;
out:
  ck__certgen_be_free(s);
  return rc;
}

ck_err ck__certgen_be_sign(void *p, const uint8_t *tbs, size_t len,
                           uint8_t sig[CK__CERTGEN_SIG_MAX], size_t *sig_len,
                           ck_errctx *err) {
  signer *s = p;
  unsigned char hash[MBEDTLS_MD_MAX_SIZE], buf[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
  size_t n = 0;
  int ret;

  ret = mbedtls_md(s->md, tbs, len, hash);
  if (ret != 0)
    return ck__mbed_fail(err, CK_ERR_CRYPTO, ret, "hashing failed");
  uv_mutex_lock(&s->lock);
  ret = mbedtls_pk_sign(s->pk, mbedtls_md_get_type(s->md), hash,
                        mbedtls_md_get_size(s->md), buf, &n,
                        mbedtls_ctr_drbg_random, &s->rng.drbg);
  uv_mutex_unlock(&s->lock);
  if (ret != 0)
    return ck__mbed_fail(err, CK_ERR_CRYPTO, ret,
                         "signing the certificate failed");
  if (n > CK__CERTGEN_SIG_MAX)
    return ck_failf(err, CK_ERR_UNSUPPORTED, "signature of %zu bytes", n);
  memcpy(sig, buf, n);
  *sig_len = n;
  return CK_OK;
}
