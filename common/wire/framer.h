/* framer.h — splits a byte stream into wire frames.
 *
 * The session feeds whatever the socket delivered; the framer buffers it and
 * hands out complete frame bodies (without the 4-byte length prefix). A
 * length prefix above the limit is refused as soon as its 4 bytes are seen,
 * before anything is allocated for the body (CK_ERR_WIRE_TOO_BIG), and the
 * framer then stays failed: the stream cannot be resynchronised, the session
 * answers with a fatal `error` frame and closes.
 *
 *   ck_wire_framer f;
 *   ck_wire_framer_init(&f, lim.max_frame);
 *   on read:
 *     rc = ck_wire_framer_feed(&f, data, len, &err);
 *     while ((rc = ck_wire_framer_next(&f, &body, &blen, &err)) == CK_OK)
 *       ck_wire_decode(body, blen, &lim, arena, &msg, &err) ...
 *     rc == CK_ERR_AGAIN: wait for more bytes.
 *   on close:
 *     ck_wire_framer_free(&f);
 */
#ifndef CK_WIRE_FRAMER_H
#define CK_WIRE_FRAMER_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

typedef struct ck_wire_framer {
  uint8_t *buf;     /* owned: buffered bytes [start, len) not yet handed out */
  size_t cap;       /* allocated size of buf */
  size_t start;     /* offset of the first byte not yet handed out */
  size_t len;       /* bytes held in buf */
  size_t max_frame; /* largest body accepted */
  ck_err failed;    /* CK_OK, or the error that stopped the framer */
} ck_wire_framer;

/* Prepares f (caller-allocated) to accept bodies of at most max_frame bytes
 * (0 means the default limit, 1 MiB). Allocates nothing. */
void ck_wire_framer_init(ck_wire_framer *f, size_t max_frame);

/* Frees the buffer (wiped first: frames may carry tokens). f may be used
 * again after ck_wire_framer_init. NULL is a no-op. */
void ck_wire_framer_free(ck_wire_framer *f);

/* Appends len bytes from data (borrowed). Before growing the buffer it checks
 * every length prefix that the new bytes complete; returns CK_OK,
 * CK_ERR_WIRE_TOO_BIG (nothing appended, framer failed for good) or
 * CK_ERR_NOMEM. Bodies returned by ck_wire_framer_next() before this call are
 * invalid after it. */
ck_err ck_wire_framer_feed(ck_wire_framer *f, const uint8_t *data, size_t len,
                           ck_errctx *err);

/* Takes the next complete frame: *body points into the framer's buffer
 * (borrowed, valid until the next ck_wire_framer_feed/_free, or the next
 * ck_wire_framer_next that returns CK_ERR_AGAIN) and *len is its size (0 for
 * an empty frame, which the decoder refuses). Returns CK_OK, CK_ERR_AGAIN
 * when no complete frame is buffered, or the framer's failure. When nothing
 * is buffered and the buffer grew beyond CK_WIRE_FRAMER_KEEP bytes, the
 * CK_ERR_AGAIN call also frees it (wiped), so a long-lived connection does
 * not keep its largest frame's buffer. */
#define CK_WIRE_FRAMER_KEEP (64u * 1024u)
ck_err ck_wire_framer_next(ck_wire_framer *f, const uint8_t **body, size_t *len,
                           ck_errctx *err);

/* Bytes buffered and not yet handed out (for backpressure and metrics). */
size_t ck_wire_framer_pending(const ck_wire_framer *f);

#endif
