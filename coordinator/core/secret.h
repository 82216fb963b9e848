/* secret.h — bearer secrets (API tokens, enrollment tokens): generated from
 * the random seam, shown once, stored only as SHA-256.
 *
 * A token is "<prefix><64 hex digits>" (256 random bits); the prefix
 * ("cka_" API, "cke_" enrollment) lets secret scanners recognise leaks. */
#ifndef CK_COORD_CORE_SECRET_H
#define CK_COORD_CORE_SECRET_H

#include "common/crypto/crypto.h"
#include "common/util/err.h"

typedef struct ck_secret {
  char token[80];                  /* the secret itself: show once, wipe */
  char id[17];                     /* a public id (16 hex digits) */
  char hash_hex[CK_SHA256_HEX_LEN]; /* SHA-256 of token, lower-case hex */
} ck_secret;

/* Makes a new secret with prefix (at most 8 characters). */
ck_err ck_secret_new(const char *prefix, ck_secret *out);

/* SHA-256 hex of a presented token (any length up to 4 KiB). */
ck_err ck_secret_hash(const char *token, char out[CK_SHA256_HEX_LEN]);

/* Wipes the token. */
void ck_secret_wipe(ck_secret *s);

#endif
