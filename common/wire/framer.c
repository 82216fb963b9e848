/* framer.c — streaming frame splitter (see framer.h).
 *
 * Bytes arrive in arbitrary pieces: a length prefix may be split over two
 * reads, or one read may hold several frames. feed() first walks the length
 * prefixes across "what is buffered" + "what just arrived" without copying,
 * refusing an oversized one before the buffer grows; only then does it append.
 * next() hands out bodies in place, so a frame is copied once (socket buffer
 * -> framer buffer) before decoding. */
#include <stdlib.h>
#include <string.h>

#include "common/util/mem.h"
#include "common/wire/framer.h"
#include "common/wire/wire.h"

void ck_wire_framer_init(ck_wire_framer *f, size_t max_frame) {
  memset(f, 0, sizeof *f);
  f->max_frame = max_frame > 0 ? max_frame : ck_wire_limits_default().max_frame;
  f->failed = CK_OK;
}

void ck_wire_framer_free(ck_wire_framer *f) {
  if (f == NULL)
    return;
  if (f->buf != NULL) {
    ck_wipe(f->buf, f->cap);
    free(f->buf);
  }
  f->buf = NULL;
  f->cap = f->start = f->len = 0;
}

size_t ck_wire_framer_pending(const ck_wire_framer *f) {
  return f->len - f->start;
}

/* Byte i of the virtual stream buf[start..len) followed by data[0..n). */
static uint8_t vbyte(const ck_wire_framer *f, const uint8_t *data, size_t i) {
  size_t held = f->len - f->start;

  return i < held ? f->buf[f->start + i] : data[i - held];
}

static uint32_t vlen(const ck_wire_framer *f, const uint8_t *data, size_t i) {
  return (uint32_t)vbyte(f, data, i) << 24 |
         (uint32_t)vbyte(f, data, i + 1) << 16 |
         (uint32_t)vbyte(f, data, i + 2) << 8 | (uint32_t)vbyte(f, data, i + 3);
}

static ck_err too_big(ck_wire_framer *f, uint32_t n, ck_errctx *err) {
  f->failed = CK_ERR_WIRE_TOO_BIG;
  return ck_failf(err, CK_ERR_WIRE_TOO_BIG,
                  "frame length prefix announces %lu bytes, limit is %zu",
                  (unsigned long)n, f->max_frame);
}

ck_err ck_wire_framer_feed(ck_wire_framer *f, const uint8_t *data, size_t n,
                           ck_errctx *err) {
  size_t avail, pos = 0, need;

  if (f->failed != CK_OK)
    return ck_failf(err, f->failed, "framer stopped after an earlier error");
  if (n == 0)
    return CK_OK;

  /* Check each length prefix that is complete once data is added. */
  avail = f->len - f->start;
  if (n > SIZE_MAX - avail)
    return ck_failf(err, CK_ERR_NOMEM, "framer buffer size overflow");
  avail += n;
  while (avail - pos >= CK_WIRE_HEADER_LEN) {
    uint32_t blen = vlen(f, data, pos);

    if (blen > f->max_frame)
      return too_big(f, blen, err);
    if (blen > avail - pos - CK_WIRE_HEADER_LEN)
      break; /* body still incomplete; its prefix is fine */
    pos += CK_WIRE_HEADER_LEN + blen;
  }

  /* Drop what was handed out, then make room. */
  if (f->start > 0) {
    memmove(f->buf, f->buf + f->start, f->len - f->start);
    f->len -= f->start;
    f->start = 0;
  }
  need = f->len + n;
  if (need > f->cap) {
    size_t cap = f->cap > 0 ? f->cap : 4096;
    uint8_t *nb;

    while (cap < need) {
      if (cap > SIZE_MAX / 2)
        return ck_failf(err, CK_ERR_NOMEM, "framer buffer size overflow");
      cap *= 2;
    }
    nb = malloc(cap);
    if (nb == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "framer: cannot grow to %zu bytes",
                      cap);
    if (f->buf != NULL) {
      memcpy(nb, f->buf, f->len);
      ck_wipe(f->buf, f->cap);
      free(f->buf);
    }
    f->buf = nb;
    f->cap = cap;
  }
  memcpy(f->buf + f->len, data, n);
  f->len += n;
  return CK_OK;
}

ck_err ck_wire_framer_next(ck_wire_framer *f, const uint8_t **body, size_t *len,
                           ck_errctx *err) {
  size_t avail;
  uint32_t blen;

  *body = NULL;
  *len = 0;
  if (f->failed != CK_OK)
    return ck_failf(err, f->failed, "framer stopped after an earlier error");
  avail = f->len - f->start;
  if (avail == 0 && f->cap > CK_WIRE_FRAMER_KEEP) {
    /* everything handed out: give a large frame's buffer back instead of
     * keeping the largest size ever seen (an idle agent holds little) */
    ck_wipe(f->buf, f->cap);
    free(f->buf);
    f->buf = NULL;
    f->cap = f->len = f->start = 0;
  }
  if (avail < CK_WIRE_HEADER_LEN)
    return CK_ERR_AGAIN;
  blen = (uint32_t)f->buf[f->start] << 24 |
         (uint32_t)f->buf[f->start + 1] << 16 |
         (uint32_t)f->buf[f->start + 2] << 8 | (uint32_t)f->buf[f->start + 3];
  if (blen > f->max_frame) /* feed() already refused it; defensive */
    return too_big(f, blen, err);
  if (blen > avail - CK_WIRE_HEADER_LEN)
    return CK_ERR_AGAIN;
  *body = f->buf + f->start + CK_WIRE_HEADER_LEN;
  *len = blen;
  f->start += CK_WIRE_HEADER_LEN + blen;
  return CK_OK;
}
