/* webhook.h — one signed JSON POST with libcurl, and the signature.
 *
 * The body is signed with HMAC-SHA256 under the owner's (or the global)
 * key; the receiver recomputes it over the raw body and compares in
 * constant time (docs/notices.md "Verifying a webhook"). Headers:
 *   Content-Type: application/json
 *   X-Certkeeper-Signature: sha256=<64 hex digits>
 *   X-Certkeeper-Delivery: <delivery id>  (the same on every retry) */
#ifndef CK_COORD_SCHED_WEBHOOK_H
#define CK_COORD_SCHED_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/crypto.h"
#include "common/util/err.h"

/* HMAC-SHA256 (RFC 2104) of data under key into out. CK_ERR_NOMEM,
 * CK_ERR_CRYPTO. */
ck_err ck_webhook_hmac(const void *key, size_t keylen, const void *data,
                       size_t len, uint8_t out[CK_SHA256_LEN]);

/* POSTs body to url with the headers above, waiting at most timeout_s.
 * Returns CK_OK for a 2xx answer; CK_ERR_AGAIN for 5xx, 408 and 429
 * (worth retrying), CK_ERR_TIMEOUT, CK_ERR_NET, CK_ERR_TLS (transport:
 * retried by the caller), CK_ERR_DENIED for other answers (the endpoint
 * refuses: recorded, not retried), CK_ERR_INVAL for a URL that is not
 * http(s). *status gets the HTTP status (0 when none). Blocking. */
ck_err ck_webhook_post(const char *url, const char *delivery_id,
                       const void *key, size_t keylen, const char *body,
                       size_t len, long timeout_s, long *status,
                       ck_errctx *err);

#endif
