/* nonce.h — ACME anti-replay nonces (RFC 8555 §6.5), in memory, bounded.
 *
 * A nonce is base64url(counter[8] || HMAC-SHA256(key, counter)[0..15]):
 * the MAC proves we issued it, a bitmap over the last `window` counters
 * says whether it is still unused. So memory is window/8 bytes whatever
 * the traffic; a nonce older than window issues (or than lifetime) is
 * refused as stale. Nonces do not survive a restart (clients retry on
 * badNonce, RFC 8555 §6.5). Thread-safe. */
#ifndef CK_COORD_ACME_NONCE_H
#define CK_COORD_ACME_NONCE_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

#define CK_ACME_NONCE_LEN 33 /* 32 base64url characters + NUL */

typedef struct ck_acme_nonces ck_acme_nonces;

/* window: unused nonces remembered (rounded up to a multiple of 64; 0 =
 * 1<<20). lifetime_s: age after which a nonce is refused (0 = 3600). On
 * success *out is caller-owned (ck_acme_nonces_free). */
ck_err ck_acme_nonces_new(size_t window, int64_t lifetime_s,
                          ck_acme_nonces **out, ck_errctx *err);
void ck_acme_nonces_free(ck_acme_nonces *n);

/* Issues a fresh nonce into out. */
ck_err ck_acme_nonce_issue(ck_acme_nonces *n, char out[CK_ACME_NONCE_LEN]);

/* Consumes nonce: CK_OK once for a nonce we issued, unused and not stale;
 * CK_ERR_AUTH otherwise, with *why set to a static reason ("unknown",
 * "already used", "expired"). */
ck_err ck_acme_nonce_consume(ck_acme_nonces *n, const char *nonce,
                             const char **why);

#endif
