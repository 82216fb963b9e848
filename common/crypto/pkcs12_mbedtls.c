/* pkcs12_mbedtls.c — PKCS#12 in the mbedTLS build: recognised, not read.
 *
 * mbedTLS 2.28 has PKCS#12 key derivation but no parser for the PFX
 * container (authenticated safes, bags). The file is still recognised — by
 * ck_crypto_detect(), which is backend-neutral — and reading it reports
 * CK_ERR_UNSUPPORTED, so discovery can say "PKCS#12 found, not read". */
#include "common/crypto/backend_mbedtls.h"

ck_err ck_pkcs12_read(const uint8_t *data, size_t len, const char *password,
                      ck_key **key, ck_cert **cert, ck_cert_list *chain,
                      ck_errctx *err) {
  ck_content c;

  (void)password;
  (void)key;
  (void)cert;
  (void)chain;
  ck_crypto_detect(data, len, &c);
  if (c.kind != CK_CONTENT_PKCS12)
    return ck_failf(err, CK_ERR_BAD_PKCS12, "not a PKCS#12 file");
  return ck_failf(err, CK_ERR_UNSUPPORTED,
                  "PKCS#12 file found but not read: the mbedTLS build has no "
                  "PKCS#12 parser");
}
