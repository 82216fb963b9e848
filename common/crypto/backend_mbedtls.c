/* backend_mbedtls.c — mbedTLS glue shared by the *_mbedtls.c files: the
 * random generator (CTR-DRBG over the ck_random seam), error codes to text,
 * the backend's identity and capabilities.
 *
 * mbedTLS 2.28 has neither Ed25519 nor a PKCS#12 parser; ck__be_has() says
 * so, and the operations return CK_ERR_UNSUPPORTED. */
#include <stdarg.h>
#include <stdio.h>

#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/version.h>

#include "common/crypto/backend_mbedtls.h"
#include "common/util/clock.h"

static int entropy(void *ctx, unsigned char *out, size_t len) {
  (void)ctx;
  return ck_random(out, len) == CK_OK
             ? 0
             : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

ck_err ck__mbed_rng_init(ck__mbed_rng *rng, ck_errctx *err) {
  static const unsigned char pers[] = "certkeeper";
  int ret;

  mbedtls_ctr_drbg_init(&rng->drbg);
  ret = mbedtls_ctr_drbg_seed(&rng->drbg, entropy, NULL, pers, sizeof pers - 1);
  if (ret != 0)
    return ck__mbed_fail(err, CK_ERR_CRYPTO, ret, "seeding the DRBG failed");
  return CK_OK;
}

void ck__mbed_rng_free(ck__mbed_rng *rng) {
  mbedtls_ctr_drbg_free(&rng->drbg);
}

ck_err ck__mbed_fail(ck_errctx *err, ck_err code, int mbed_ret, const char *fmt,
                     ...) {
  char msg[384], reason[160];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (mbed_ret == 0)
    return ck_failf(err, code, "%s", msg);
  mbedtls_strerror(mbed_ret, reason, sizeof reason);
  return ck_failf(err, code, "%s (%s)", msg, reason);
}

int ck__mbed_check_sig(mbedtls_md_type_t md, mbedtls_pk_type_t sig_pk,
                       const void *sig_opts, mbedtls_pk_context *pk,
                       const unsigned char *data, size_t len,
                       const unsigned char *sig, size_t sig_len) {
  const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
  unsigned char hash[MBEDTLS_MD_MAX_SIZE];
  int ret;

  if (info == NULL)
    return MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE;
  ret = mbedtls_md(info, data, len, hash);
  if (ret != 0)
    return ret;
  return mbedtls_pk_verify_ext(sig_pk, sig_opts, pk, md, hash,
                               mbedtls_md_get_size(info), sig, sig_len);
}

int64_t ck__mbed_time(const mbedtls_x509_time *t) {
  return ck__civil_to_epoch(t->year, t->mon, t->day, t->hour, t->min, t->sec);
}

int ck__be_has(ck_crypto_cap cap) {
  (void)cap;
  return 0; /* neither Ed25519 nor PKCS#12 in mbedTLS 2.28 */
}

const char *ck_crypto_backend(void) {
  return "mbedtls";
}

const char *ck_crypto_backend_version(void) {
  return MBEDTLS_VERSION_STRING_FULL;
}
