/* hash_mbedtls.c — SHA-256 (and SHA-1 for OCSP CertIDs) through mbedTLS. */
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>

#include "common/crypto/backend_mbedtls.h"

ck_err ck_crypto_sha256(const void *data, size_t len,
                        uint8_t out[CK_SHA256_LEN]) {
  return mbedtls_sha256_ret(data, len, out, 0) == 0 ? CK_OK : CK_ERR_CRYPTO;
}

ck_err ck_crypto_sha1(const void *data, size_t len, uint8_t out[CK_SHA1_LEN]) {
  return mbedtls_sha1_ret(data, len, out) == 0 ? CK_OK : CK_ERR_CRYPTO;
}
