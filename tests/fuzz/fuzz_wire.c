/* fuzz_wire.c — libFuzzer target for the wire codec.
 *
 * The input is treated three ways:
 *   1. as a frame body, decoded directly;
 *   2. as body after a 4-byte prefix (seeds are whole frames);
 *   3. as a byte stream fed to the framer in chunks whose size comes from
 *      the input's length, each frame decoded.
 * Every message that decodes is re-encoded, decoded again and re-encoded
 * once more; the two encodings must be identical (encoding is canonical) or
 * the target aborts. Seeds: tests/fuzz/corpus/wire/ (one per message type,
 * written by tests/unit/wire/test_seeds.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire/framer.h"
#include "common/wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const ck_wire_msg *m) {
  ck_wire_limits relaxed = ck_wire_limits_default();
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(0);
  uint8_t *f1 = NULL, *f2 = NULL;
  size_t l1 = 0, l2 = 0;
  ck_wire_msg again;

  /* A decoded frame at the size limit may grow by a few bytes when an
   * unknown enum value is re-encoded as "unknown". */
  relaxed.max_frame += 64;
  if (a == NULL)
    abort();
  if (ck_wire_encode(m, &relaxed, &f1, &l1, &err) != CK_OK)
    abort(); /* whatever decodes must encode */
  if (ck_wire_decode(f1 + CK_WIRE_HEADER_LEN, l1 - CK_WIRE_HEADER_LEN, &relaxed,
                     a, &again, &err) != CK_OK)
    abort(); /* and what we encode must decode */
  if (again.type != m->type || again.id != m->id)
    abort();
  if (ck_wire_encode(&again, &relaxed, &f2, &l2, &err) != CK_OK)
    abort();
  if (l1 != l2 || memcmp(f1, f2, l1) != 0)
    abort(); /* canonical: decode/encode is a fixed point */
  free(f1);
  free(f2);
  ck_arena_free(a);
}

static void decode_body(const uint8_t *body, size_t len) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(0);
  ck_wire_msg m, reply;
  ck_err rc;

  if (a == NULL)
    abort();
  rc = ck_wire_decode(body, len, NULL, a, &m, &err);
  if (rc == CK_OK) {
    check_roundtrip(&m);
    ck_wire_msg_wipe_secrets(&m);
  } else {
    uint8_t *f = NULL;
    size_t fl;

    /* Every failure has a message, and its error reply encodes. */
    if (err.msg[0] == '\0')
      abort();
    ck_wire_error_reply(&reply, &m, &err);
    if (ck_wire_encode(&reply, NULL, &f, &fl, NULL) != CK_OK)
      abort();
    free(f);
  }
  ck_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ck_wire_framer fr;
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *body;
  size_t blen, at = 0, chunk = 1 + size % 61;
  ck_err rc = CK_OK;

  decode_body(data, size);
  if (size >= CK_WIRE_HEADER_LEN)
    decode_body(data + CK_WIRE_HEADER_LEN, size - CK_WIRE_HEADER_LEN);

  ck_wire_framer_init(&fr, 0);
  while (at < size && rc == CK_OK) {
    size_t n = size - at < chunk ? size - at : chunk;

    rc = ck_wire_framer_feed(&fr, data + at, n, &err);
    at += n;
    while (rc == CK_OK && ck_wire_framer_next(&fr, &body, &blen, &err) == CK_OK)
      decode_body(body, blen);
  }
  if (rc != CK_OK && rc != CK_ERR_WIRE_TOO_BIG)
    abort();
  ck_wire_framer_free(&fr);
  return 0;
}
