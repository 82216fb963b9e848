/* acme_util.c — base64url and HMAC-SHA256 for the ACME room (acme_util.h);
 * the base64 arithmetic is common/util/base64.c.
 * HMAC is assembled from the crypto seam's one-shot SHA-256 so no crypto
 * library header appears outside common/crypto/. */
#include "coordinator/acme/acme_util.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto.h"
#include "common/util/base64.h"
#include "common/util/mem.h"

/* base64url on the shared codec (common/util/base64.h): URL alphabet, no
 * padding, no whitespace, unused trailing bits not checked. */
size_t ck_b64u_encode(const uint8_t *in, size_t n, char *out, size_t cap) {
  if (cap == 0)
    return 0;
  if (CK_B64U_LEN(n) + 1 > cap) {
    out[0] = '\0';
    return 0;
  }
  return ck_base64_encode_into(in, n, CK_BASE64_URL | CK_BASE64_NOPAD, 0, NULL,
                               out);
}

ck_err ck_b64u_decode(const char *in, size_t len, uint8_t *out, size_t cap,
                      size_t *outlen) {
  *outlen = 0;
  if (len % 4 == 1)
    return CK_ERR_PARSE;
  if (len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1) > cap)
    return CK_ERR_LIMIT;
  return ck_base64_decode_into(in, len, CK_BASE64_URL | CK_BASE64_NOPAD, out,
                               cap, outlen, NULL) == CK_OK
             ? CK_OK
             : CK_ERR_PARSE;
}

ck_err ck_hmac_sha256(const uint8_t *key, size_t keylen, const void *msg,
                      size_t msglen, uint8_t out[32]) {
  uint8_t k0[64], inner[32], outer_in[64 + 32];
  uint8_t *buf = NULL;
  size_t i;
  ck_err rc;

  memset(k0, 0, sizeof k0);
  if (keylen > 64) {
    if ((rc = ck_crypto_sha256(key, keylen, k0)) != CK_OK)
      goto out;
  } else if (keylen > 0) {
    memcpy(k0, key, keylen);
  }
  if ((buf = malloc(64 + msglen)) == NULL) {
    rc = CK_ERR_NOMEM;
    goto out;
  }
  for (i = 0; i < 64; i++)
    buf[i] = k0[i] ^ 0x36;
  if (msglen > 0)
    memcpy(buf + 64, msg, msglen);
  if ((rc = ck_crypto_sha256(buf, 64 + msglen, inner)) != CK_OK)
    goto out;
  for (i = 0; i < 64; i++)
    outer_in[i] = k0[i] ^ 0x5c;
  memcpy(outer_in + 64, inner, 32);
  rc = ck_crypto_sha256(outer_in, sizeof outer_in, out);
out:
  if (buf != NULL) {
    ck_wipe(buf, 64);
    free(buf);
  }
  ck_wipe(k0, sizeof k0);
  ck_wipe(outer_in, sizeof outer_in);
  ck_wipe(inner, sizeof inner);
  return rc;
}
