/* secret.c — generation and hashing of bearer secrets (secret.h). */
#include "coordinator/core/secret.h"

#include <string.h>

#include "common/util/clock.h"
#include "common/util/mem.h"

ck_err ck_secret_new(const char *prefix, ck_secret *out) {
  uint8_t rnd[32], idb[8], digest[CK_SHA256_LEN];
  size_t pl = strlen(prefix);
  ck_err rc;

  memset(out, 0, sizeof *out);
  if (pl > 8)
    return CK_ERR_INVAL;
  if ((rc = ck_random(rnd, sizeof rnd)) != CK_OK ||
      (rc = ck_random(idb, sizeof idb)) != CK_OK)
    return rc;
  memcpy(out->token, prefix, pl);
  ck_hex_encode(rnd, sizeof rnd, out->token + pl);
  ck_hex_encode(idb, sizeof idb, out->id);
  ck_wipe(rnd, sizeof rnd);
  if ((rc = ck_crypto_sha256(out->token, strlen(out->token), digest)) != CK_OK)
    return rc;
  ck_hex_encode(digest, sizeof digest, out->hash_hex);
  return CK_OK;
}

ck_err ck_secret_hash(const char *token, char out[CK_SHA256_HEX_LEN]) {
  uint8_t digest[CK_SHA256_LEN];
  size_t n = strnlen(token, 4097);
  ck_err rc;

  if (n > 4096)
    return CK_ERR_LIMIT;
  if ((rc = ck_crypto_sha256(token, n, digest)) != CK_OK)
    return rc;
  ck_hex_encode(digest, sizeof digest, out);
  return CK_OK;
}

void ck_secret_wipe(ck_secret *s) { ck_wipe(s->token, sizeof s->token); }
