/* sigverify_mbedtls.c — raw signature verification with mbedTLS
 * (sigverify.h): mbedTLS 2.28 has no Ed25519. */
#include "common/crypto/sigverify.h"

ck_err ck_crypto_ed25519_verify(const uint8_t *spki, size_t spki_len,
                                const void *msg, size_t msg_len,
                                const uint8_t *sig, size_t sig_len) {
  (void)spki;
  (void)spki_len;
  (void)msg;
  (void)msg_len;
  (void)sig;
  (void)sig_len;
  return CK_ERR_UNSUPPORTED;
}
