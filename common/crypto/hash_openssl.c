/* hash_openssl.c — SHA-256 (and SHA-1 for OCSP CertIDs) through OpenSSL's EVP interface. */
#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/crypto/backend_openssl.h"

ck_err ck_crypto_sha256(const void *data, size_t len,
                        uint8_t out[CK_SHA256_LEN]) {
  unsigned int n = 0;

  if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 ||
      n != CK_SHA256_LEN) {
    ERR_clear_error();
    return CK_ERR_CRYPTO;
  }
  return CK_OK;
}

ck_err ck_crypto_sha1(const void *data, size_t len, uint8_t out[CK_SHA1_LEN]) {
  unsigned int n = 0;

  if (EVP_Digest(data, len, out, &n, EVP_sha1(), NULL) != 1 ||
      n != CK_SHA1_LEN) {
    ERR_clear_error();
    return CK_ERR_CRYPTO;
  }
  return CK_OK;
}
