/* acme_alpn_mbedtls.c — tls-alpn-01 certificates in the mbedTLS build: not
 * offered (only the coordinator validates ACME challenges, and it is built
 * with OpenSSL). Both calls fail with CK_ERR_UNSUPPORTED. */
#include "common/crypto/acme_alpn.h"

ck_err ck_acme_alpn_cert_check(const uint8_t *der, size_t len,
                               const char *name,
                               const uint8_t digest[CK_SHA256_LEN],
                               ck_errctx *err) {
  (void)der;
  (void)len;
  (void)name;
  (void)digest;
  return ck_failf(err, CK_ERR_UNSUPPORTED,
                  "tls-alpn-01 certificates need the OpenSSL build");
}

ck_err ck_acme_alpn_cert_make(const char *name,
                              const uint8_t digest[CK_SHA256_LEN],
                              int bad_critical, char **cert_pem,
                              char **key_pem, ck_errctx *err) {
  (void)name;
  (void)digest;
  (void)bad_critical;
  *cert_pem = NULL;
  *key_pem = NULL;
  return ck_failf(err, CK_ERR_UNSUPPORTED,
                  "tls-alpn-01 certificates need the OpenSSL build");
}
