/* acme_util.h — small pure helpers of the ACME room: base64url without
 * padding (RFC 8555 §6.1 / RFC 7515 §2) and HMAC-SHA256 (RFC 2104) built
 * on the crypto seam's SHA-256, used for nonces and EAB keys. No I/O, no
 * state: the JWS/JSON fuzz target and the unit tests call them directly. */
#ifndef CK_COORD_ACME_UTIL_H
#define CK_COORD_ACME_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

/* Encoded length of n bytes (no padding), without the NUL. */
#define CK_B64U_LEN(n) (((n)*4 + 2) / 3)

/* Encodes n bytes into out (cap bytes incl. NUL). Returns the length
 * written, or 0 when cap is too small (out is then ""). */
size_t ck_b64u_encode(const uint8_t *in, size_t n, char *out, size_t cap);

/* Decodes len characters of base64url (no padding, no other characters:
 * '=' and whitespace are refused) into out (cap bytes). Returns CK_OK with
 * *outlen, CK_ERR_PARSE for a character outside the alphabet or a length
 * of 4k+1, CK_ERR_LIMIT when out is too small. */
ck_err ck_b64u_decode(const char *in, size_t len, uint8_t *out, size_t cap,
                      size_t *outlen);

/* HMAC-SHA256 of msg under key (any length). Returns CK_ERR_NOMEM or the
 * crypto seam's error. */
ck_err ck_hmac_sha256(const uint8_t *key, size_t keylen, const void *msg,
                      size_t msglen, uint8_t out[32]);

#endif
