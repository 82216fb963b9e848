/* test_framer.c — splitting a byte stream into frames: byte-by-byte reads,
 * many frames per read, random chunking, oversized length prefixes refused
 * before any buffer is allocated, and the framer staying failed after that. */
#include <stdlib.h>
#include <string.h>

#include "common/wire/framer.h"
#include "common/wire/wire.h"
#include "tests/testutil.h"
#include "tests/unit/wire/samples.h"

/* The concatenated frames of every message type (full samples, then
 * minimal ones), with the offsets of each frame. */
typedef struct stream {
  uint8_t *buf;
  size_t len;
  size_t off[2 * CK_WIRE_TYPE__MAX];
  size_t n;
} stream;

static void build_stream(stream *s) {
  int t, pass;

  memset(s, 0, sizeof *s);
  for (pass = 0; pass < 2; pass++)
    for (t = CK_WIRE_UNKNOWN + 1; t < CK_WIRE_TYPE__MAX; t++) {
      ck_errctx err = CK_ERRCTX_INIT;
      ck_wire_msg m;
      uint8_t *f;
      size_t fl;

      if (pass == 0)
        sample_full((ck_wire_type)t, &m);
      else
        sample_min((ck_wire_type)t, &m);
      assert_int_equal(ck_wire_encode(&m, NULL, &f, &fl, &err), CK_OK);
      s->buf = realloc(s->buf, s->len + fl);
      memcpy(s->buf + s->len, f, fl);
      s->off[s->n++] = s->len;
      s->len += fl;
      free(f);
    }
}

/* Drains f, checking each body against the next expected frame of s and
 * that it decodes to the expected type. */
static void drain(ck_wire_framer *f, const stream *s, size_t *seen) {
  const uint8_t *body;
  size_t blen;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  while ((rc = ck_wire_framer_next(f, &body, &blen, &err)) == CK_OK) {
    size_t i = *seen, end = i + 1 < s->n ? s->off[i + 1] : s->len;
    ck_arena *a = ck_arena_new(0);
    ck_wire_msg m;

    assert_true(i < s->n);
    assert_int_equal(blen, end - s->off[i] - 4);
    assert_memory_equal(body, s->buf + s->off[i] + 4, blen);
    assert_int_equal(ck_wire_decode(body, blen, NULL, a, &m, &err), CK_OK);
    assert_int_equal(m.type, (ck_wire_type)(i % (CK_WIRE_TYPE__MAX - 1) + 1));
    ck_arena_free(a);
    (*seen)++;
  }
  assert_int_equal(rc, CK_ERR_AGAIN);
  assert_int_equal(err.code, CK_OK); /* AGAIN is not an error */
}

static void test_byte_by_byte(void **state) {
  stream s;
  ck_wire_framer f;
  ck_errctx err = CK_ERRCTX_INIT;
  size_t i, seen = 0;

  build_stream(&s);
  ck_wire_framer_init(&f, 0);
  for (i = 0; i < s.len; i++) {
    assert_int_equal(ck_wire_framer_feed(&f, s.buf + i, 1, &err), CK_OK);
    drain(&f, &s, &seen);
  }
  assert_int_equal(seen, s.n);
  assert_int_equal(ck_wire_framer_pending(&f), 0);
  ck_wire_framer_free(&f);
  ck_wire_framer_free(&f); /* twice is harmless */
  ck_wire_framer_free(NULL);
  free(s.buf);
}

static void test_all_in_one_read(void **state) {
  stream s;
  ck_wire_framer f;
  ck_errctx err = CK_ERRCTX_INIT;
  size_t seen = 0;

  build_stream(&s);
  ck_wire_framer_init(&f, 0);
  assert_int_equal(ck_wire_framer_feed(&f, s.buf, s.len, &err), CK_OK);
  assert_int_equal(ck_wire_framer_pending(&f), s.len);
  drain(&f, &s, &seen);
  assert_int_equal(seen, s.n);
  /* Feeding again after everything was taken reuses the buffer. */
  seen = 0;
  assert_int_equal(ck_wire_framer_feed(&f, s.buf, s.len, &err), CK_OK);
  drain(&f, &s, &seen);
  assert_int_equal(seen, s.n);
  ck_wire_framer_free(&f);
  free(s.buf);
}

static void test_random_chunks(void **state) {
  stream s;
  uint64_t x = 88172645463325252ull;
  int round;

  build_stream(&s);
  for (round = 0; round < 50; round++) {
    ck_wire_framer f;
    ck_errctx err = CK_ERRCTX_INIT;
    size_t at = 0, seen = 0;

    ck_wire_framer_init(&f, 0);
    while (at < s.len) {
      size_t n;

      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      n = 1 + (size_t)(x % 700);
      if (n > s.len - at)
        n = s.len - at;
      assert_int_equal(ck_wire_framer_feed(&f, s.buf + at, n, &err), CK_OK);
      at += n;
      drain(&f, &s, &seen);
    }
    assert_int_equal(seen, s.n);
    ck_wire_framer_free(&f);
  }
  free(s.buf);
}

static void test_oversize_header(void **state) {
  ck_wire_framer f;
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *body;
  size_t blen;
  /* Claims 100 bytes against a limit of 99; and 4 GiB - 1. */
  const uint8_t hdr[] = {0x00, 0x00, 0x00, 0x64};
  const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x80};

  ck_wire_framer_init(&f, 99);
  assert_int_equal(ck_wire_framer_feed(&f, hdr, 4, &err), CK_ERR_WIRE_TOO_BIG);
  assert_null(f.buf); /* refused before anything was allocated */
  assert_int_equal(f.cap, 0);
  ck_errctx_clear(&err);
  assert_int_equal(ck_wire_framer_next(&f, &body, &blen, &err),
                   CK_ERR_WIRE_TOO_BIG);
  assert_int_equal(ck_wire_framer_feed(&f, hdr, 1, &err), CK_ERR_WIRE_TOO_BIG);
  ck_wire_framer_free(&f);

  /* The prefix split over reads: refused when its last byte arrives, and
   * the bytes before it were only the 2 already buffered. */
  ck_wire_framer_init(&f, 0);
  assert_int_equal(ck_wire_framer_feed(&f, huge, 2, &err), CK_OK);
  assert_int_equal(ck_wire_framer_next(&f, &body, &blen, &err), CK_ERR_AGAIN);
  assert_int_equal(ck_wire_framer_feed(&f, huge + 2, 1, &err), CK_OK);
  assert_int_equal(ck_wire_framer_feed(&f, huge + 3, 2, &err),
                   CK_ERR_WIRE_TOO_BIG);
  assert_true(f.cap <= 4096);
  assert_non_null(strstr(err.msg, "4294967295"));
  ck_wire_framer_free(&f);
}

/* A bad prefix after good frames in the same read. */
static void test_oversize_after_good(void **state) {
  stream s;
  ck_wire_framer f;
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *buf;
  const uint8_t bad[] = {0x00, 0x10, 0x00, 0x01}; /* 1 MiB + 1 */

  build_stream(&s);
  buf = malloc(s.len + 4);
  memcpy(buf, s.buf, s.len);
  memcpy(buf + s.len, bad, 4);
  ck_wire_framer_init(&f, 0);
  assert_int_equal(ck_wire_framer_feed(&f, buf, s.len + 4, &err),
                   CK_ERR_WIRE_TOO_BIG);
  assert_null(f.buf);
  ck_wire_framer_free(&f);
  free(buf);
  free(s.buf);
}

static void test_limits_exact_and_empty(void **state) {
  ck_wire_framer f;
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *body;
  size_t blen;
  uint8_t buf[4 + 100 + 4];
  ck_arena *a = ck_arena_new(0);
  ck_wire_msg m;

  memset(buf, 0x5a, sizeof buf);
  buf[0] = buf[1] = buf[2] = 0;
  buf[3] = 100;                                  /* exactly the limit */
  buf[104] = buf[105] = buf[106] = buf[107] = 0; /* then an empty frame */
  ck_wire_framer_init(&f, 100);
  assert_int_equal(ck_wire_framer_feed(&f, buf, sizeof buf, &err), CK_OK);
  assert_int_equal(ck_wire_framer_next(&f, &body, &blen, &err), CK_OK);
  assert_int_equal(blen, 100);
  assert_int_equal(body[0], 0x5a);
  assert_int_equal(ck_wire_framer_next(&f, &body, &blen, &err), CK_OK);
  assert_int_equal(blen, 0);
  assert_int_equal(ck_wire_decode(body, blen, NULL, a, &m, &err),
                   CK_ERR_WIRE_TRUNCATED);
  ck_errctx_clear(&err);
  assert_int_equal(ck_wire_framer_next(&f, &body, &blen, &err), CK_ERR_AGAIN);
  assert_null(body);
  assert_int_equal(ck_wire_framer_feed(&f, buf, 0, &err), CK_OK);
  ck_wire_framer_free(&f);
  ck_arena_free(a);
}

/* A large frame's buffer is given back once it is handed out; a small
 * one is kept for reuse. */
static void test_release_large(void **state) {
  ck_wire_framer f;
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *body;
  size_t blen, n = 200u * 1024u;
  uint8_t *buf = calloc(1, n + 4);
  uint8_t small[4 + 8] = {0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};

  (void)state;
  assert_non_null(buf);
  buf[1] = (uint8_t)(n >> 16);
  buf[2] = (uint8_t)(n >> 8);
  buf[3] = (uint8_t)n;
  buf[4] = 0x42;
  ck_wire_framer_init(&f, 1u << 20);
  assert_int_equal(ck_wire_framer_feed(&f, buf, n + 4, &err), CK_OK);
  assert_true(f.cap > CK_WIRE_FRAMER_KEEP);
  assert_int_equal(ck_wire_framer_next(&f, &body, &blen, &err), CK_OK);
  assert_int_equal(blen, n);
  assert_int_equal(body[0], 0x42);
  assert_int_equal(ck_wire_framer_next(&f, &body, &blen, &err), CK_ERR_AGAIN);
  assert_null(f.buf);
  assert_int_equal(f.cap, 0);
  /* still usable; a small buffer stays */
  assert_int_equal(ck_wire_framer_feed(&f, small, sizeof small, &err), CK_OK);
  assert_int_equal(ck_wire_framer_next(&f, &body, &blen, &err), CK_OK);
  assert_int_equal(blen, 8);
  assert_int_equal(body[7], 8);
  assert_int_equal(ck_wire_framer_next(&f, &body, &blen, &err), CK_ERR_AGAIN);
  assert_non_null(f.buf);
  assert_true(f.cap <= CK_WIRE_FRAMER_KEEP);
  ck_wire_framer_free(&f);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_byte_by_byte),
      cmocka_unit_test(test_all_in_one_read),
      cmocka_unit_test(test_random_chunks),
      cmocka_unit_test(test_oversize_header),
      cmocka_unit_test(test_oversize_after_good),
      cmocka_unit_test(test_limits_exact_and_empty),
      cmocka_unit_test(test_release_large),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
