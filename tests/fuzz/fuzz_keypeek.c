/* fuzz_keypeek.c — libFuzzer target for ck_key_peek_spki_sha256
 * (common/crypto/keypeek.c): the DER walk over PKCS#8, PKCS#1 and SEC1
 * private keys, PEM or DER. Whatever it accepts must also be accepted by
 * the backend's parser with the same public key hash... except that peek
 * never looks at the private part, so only the shape is checked here: a
 * result has a known type and bits. */
#include <stddef.h>
#include <stdint.h>

#include "common/crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t out[CK_SHA256_LEN];
  ck_key_type t = CK_KEY_UNKNOWN;
  unsigned bits = 0;
  ck_errctx err = CK_ERRCTX_INIT;
  if (ck_key_peek_spki_sha256(data, size, &t, &bits, out, &err) == CK_OK &&
      (t == CK_KEY_UNKNOWN || (t != CK_KEY_RSA && bits == 0)))
    __builtin_trap();
  return 0;
}
