/* test_malformed.c — hostile and broken frame bodies: every one must give
 * its specific error and nothing may crash or allocate on the say-so of a
 * declared length (the ASan build runs this too). */
#include <stdlib.h>
#include <string.h>

#include "common/wire/wire.h"
#include "tests/testutil.h"
#include "tests/unit/wire/samples.h"

static ck_err decode(const void *body, size_t len, const ck_wire_limits *lim,
                     ck_errctx *err) {
  ck_arena *a = ck_arena_new(0);
  ck_wire_msg m;
  ck_err rc;

  assert_non_null(a);
  ck_errctx_clear(err);
  rc = ck_wire_decode(body, len, lim, a, &m, err);
  /* A failed decode leaves no payload behind. */
  if (rc != CK_OK) {
    static const ck_wire_msg zero;
    assert_memory_equal(&m.u, &zero.u, sizeof m.u);
  }
  ck_arena_free(a);
  return rc;
}

#define EXPECT(body, len, lim, code)                                           \
  do {                                                                         \
    ck_errctx e_ = CK_ERRCTX_INIT;                                             \
    ck_err rc_ = decode((body), (len), (lim), &e_);                            \
    if (rc_ != (code))                                                         \
      fail_msg("expected %s, got %s (%s)", ck_err_name(code),                  \
               ck_err_name(rc_), e_.msg);                                      \
    if (rc_ != CK_OK && e_.msg[0] == '\0')                                     \
      fail_msg("%s without a message", ck_err_name(rc_));                      \
  } while (0)

static uint8_t *encode(ck_wire_type t, size_t *len) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_msg m;
  uint8_t *f = NULL;

  sample_full(t, &m);
  assert_int_equal(ck_wire_encode(&m, NULL, &f, len, &err), CK_OK);
  return f;
}

/* Every proper prefix of every message's body is "truncated". */
static void test_truncated_every_byte(void **state) {
  int t;
  size_t k, total = 0;

  for (t = CK_WIRE_UNKNOWN + 1; t < CK_WIRE_TYPE__MAX; t++) {
    size_t len;
    uint8_t *f = encode((ck_wire_type)t, &len);
    const uint8_t *body = f + 4;
    size_t blen = len - 4;

    EXPECT(body, blen, NULL, CK_OK);
    for (k = 0; k < blen; k++) {
      /* Copy so ASan sees any read past the prefix. */
      uint8_t *cut = malloc(k > 0 ? k : 1);

      memcpy(cut, body, k);
      EXPECT(cut, k, NULL, CK_ERR_WIRE_TRUNCATED);
      free(cut);
      total++;
    }
    free(f);
  }
  assert_true(total > 1000);
}

static void test_oversized(void **state) {
  ck_wire_limits lim = ck_wire_limits_default();
  size_t len;
  uint8_t *f = encode(CK_WIRE_INVENTORY, &len);

  lim.max_frame = len - 4 - 1;
  EXPECT(f + 4, len - 4, &lim, CK_ERR_WIRE_TOO_BIG);
  lim.max_frame = len - 4;
  EXPECT(f + 4, len - 4, &lim, CK_OK);
  free(f);
}

/* Builds {"v":1,"t":"ping","id":1,"time":0,"x": <depth nested arrays>}. */
static uint8_t *nested(size_t depth, int maps, size_t *len) {
  static const uint8_t head[] = {0x85, 0xa1, 'v', 0x01, 0xa1, 't',  0xa4, 'p',
                                 'i',  'n',  'g', 0xa2, 'i',  'd',  0x01, 0xa4,
                                 't',  'i',  'm', 'e',  0x00, 0xa1, 'x'};
  size_t i, n = sizeof head;
  uint8_t *b = malloc(sizeof head + depth * 3 + 1);

  memcpy(b, head, sizeof head);
  for (i = 0; i < depth; i++) {
    if (maps) { /* {"k": {"k": ...}} */
      b[n++] = 0x81;
      b[n++] = 0xa1;
      b[n++] = 'k';
    } else {
      b[n++] = 0x91;
    }
  }
  b[n++] = 0xc0;
  *len = n;
  return b;
}

static void test_nesting_bombs(void **state) {
  size_t len;
  uint8_t *b;

  /* 1000 deep, arrays and maps. */
  b = nested(1000, 0, &len);
  EXPECT(b, len, NULL, CK_ERR_WIRE_DEPTH);
  free(b);
  b = nested(1000, 1, &len);
  EXPECT(b, len, NULL, CK_ERR_WIRE_DEPTH);
  free(b);
  /* The top map is depth 1: 7 more levels fit the default 8 (the unknown
   * field is then ignored), 8 do not. */
  b = nested(7, 0, &len);
  EXPECT(b, len, NULL, CK_OK);
  free(b);
  b = nested(8, 1, &len);
  EXPECT(b, len, NULL, CK_ERR_WIRE_DEPTH);
  free(b);
  /* A configured depth above msgpack-c's own stack is capped at 32. */
  {
    ck_wire_limits lim = ck_wire_limits_default();

    lim.max_depth = 1000;
    b = nested(31, 0, &len);
    EXPECT(b, len, &lim, CK_OK);
    free(b);
    b = nested(32, 0, &len);
    EXPECT(b, len, &lim, CK_ERR_WIRE_DEPTH);
    free(b);
  }
}

/* Declared lengths far beyond the frame: refused before msgpack-c would
 * allocate for them. */
static void test_huge_declared_lengths(void **state) {
  static const struct {
    const char *what;
    uint8_t b[16];
    size_t n;
    ck_err want;
  } cases[] = {
      /* a 5-byte body claiming 2^32-1 map pairs */
      {"map32 top", {0xdf, 0xff, 0xff, 0xff, 0xff}, 5, CK_ERR_WIRE_LENGTH},
      {"map16 top", {0xde, 0xff, 0xff}, 3, CK_ERR_WIRE_LENGTH},
      /* {"x": array32 of 2^32-1} */
      {"array32",
       {0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff},
       8,
       CK_ERR_WIRE_LENGTH},
      /* within max_entries but not in the bytes left */
      {"array16 short",
       {0x81, 0xa1, 'x', 0xdc, 0x03, 0xe8, 0x01},
       7,
       CK_ERR_WIRE_TRUNCATED},
      {"map in map", {0x81, 0xa1, 'x', 0x8f, 0x01}, 5, CK_ERR_WIRE_TRUNCATED},
      {"str32",
       {0x81, 0xa1, 'x', 0xdb, 0xff, 0xff, 0xff, 0xf0, 'a'},
       9,
       CK_ERR_WIRE_LENGTH},
      {"str8 short",
       {0x81, 0xa1, 'x', 0xd9, 0x64, 'a'},
       6,
       CK_ERR_WIRE_TRUNCATED},
      {"bin32",
       {0x81, 0xa1, 'x', 0xc6, 0x7f, 0xff, 0xff, 0xff},
       8,
       CK_ERR_WIRE_LENGTH},
      {"ext32",
       {0x81, 0xa1, 'x', 0xc9, 0x7f, 0xff, 0xff, 0xff, 0x01},
       9,
       CK_ERR_WIRE_LENGTH},
      {"fixext16 short",
       {0x81, 0xa1, 'x', 0xd8, 0x01, 0x00},
       6,
       CK_ERR_WIRE_TRUNCATED},
      {"key str16 short",
       {0x81, 0xda, 0x00, 0x10, 'a'},
       5,
       CK_ERR_WIRE_TRUNCATED},
      {"uint64 short", {0x81, 0xa1, 'x', 0xcf, 0x00}, 5, CK_ERR_WIRE_TRUNCATED},
      {"array32 header cut",
       {0x81, 0xa1, 'x', 0xdd, 0x00},
       5,
       CK_ERR_WIRE_TRUNCATED},
      {"reserved 0xc1", {0x81, 0xa1, 'x', 0xc1}, 4, CK_ERR_WIRE_MALFORMED},
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ck_errctx e = CK_ERRCTX_INIT;
    uint8_t *copy = malloc(cases[i].n);
    ck_err rc;

    memcpy(copy, cases[i].b, cases[i].n);
    rc = decode(copy, cases[i].n, NULL, &e);
    if (rc != cases[i].want)
      fail_msg("%s: expected %s, got %s (%s)", cases[i].what,
               ck_err_name(cases[i].want), ck_err_name(rc), e.msg);
    assert_true(ck_wire_validate(copy, cases[i].n, NULL, NULL) ==
                cases[i].want);
    free(copy);
  }
}

/* Many small objects: bounded by max_entries per container and by
 * max_objects per frame. */
static void test_object_limits(void **state) {
  ck_wire_limits lim = ck_wire_limits_default();
  size_t n = 3000, i, len = 0;
  uint8_t *b = malloc(16 + n);

  b[len++] = 0x81;
  b[len++] = 0xa1;
  b[len++] = 'x';
  b[len++] = 0xdc;
  b[len++] = (uint8_t)(n >> 8);
  b[len++] = (uint8_t)n;
  for (i = 0; i < n; i++)
    b[len++] = 0x01;
  assert_int_equal(ck_wire_validate(b, len, NULL, NULL), CK_OK);
  lim.max_entries = n - 1;
  assert_int_equal(ck_wire_validate(b, len, &lim, NULL), CK_ERR_WIRE_LENGTH);
  lim = ck_wire_limits_default();
  lim.max_objects = n; /* + the map, key and array objects: over */
  assert_int_equal(ck_wire_validate(b, len, &lim, NULL), CK_ERR_WIRE_LENGTH);
  lim.max_objects = n + 3;
  assert_int_equal(ck_wire_validate(b, len, &lim, NULL), CK_OK);
  lim.max_str = 0; /* the key "x" is one byte */
  assert_int_equal(ck_wire_validate(b, len, &lim, NULL), CK_ERR_WIRE_LENGTH);
  free(b);
}

static void test_not_a_map(void **state) {
  static const uint8_t arr[] = {0x91, 0x01}, str[] = {0xa1, 'x'},
                       nil[] = {0xc0}, num[] = {0x05}, c1[] = {0xc1};

  EXPECT(arr, sizeof arr, NULL, CK_ERR_WIRE_NOT_MAP);
  EXPECT(str, sizeof str, NULL, CK_ERR_WIRE_NOT_MAP);
  EXPECT(nil, sizeof nil, NULL, CK_ERR_WIRE_NOT_MAP);
  EXPECT(num, sizeof num, NULL, CK_ERR_WIRE_NOT_MAP);
  EXPECT(c1, sizeof c1, NULL, CK_ERR_WIRE_NOT_MAP);
  EXPECT("", 0, NULL, CK_ERR_WIRE_TRUNCATED);
  EXPECT(NULL, 0, NULL, CK_ERR_WIRE_TRUNCATED);
}

static void test_trailing(void **state) {
  size_t len;
  uint8_t *f = encode(CK_WIRE_PING, &len);
  uint8_t *two = malloc(2 * (len - 4));

  f = realloc(f, len + 1);
  f[len] = 0x00;
  EXPECT(f + 4, len - 4 + 1, NULL, CK_ERR_WIRE_TRAILING);
  /* Two maps in one frame. */
  memcpy(two, f + 4, len - 4);
  memcpy(two + len - 4, f + 4, len - 4);
  EXPECT(two, 2 * (len - 4), NULL, CK_ERR_WIRE_TRAILING);
  free(two);
  free(f);
}

/* A minimal well-formed map with a bad version, so only `v` is wrong. */
static void test_bad_version(void **state) {
  uint8_t ping[] = {0x84, 0xa1, 'v', 0x01, 0xa1, 't', 0xa4, 'p', 'i', 'n', 'g',
                    0xa2, 'i',  'd', 0x07, 0xa4, 't', 'i',  'm', 'e', 0x00};

  EXPECT(ping, sizeof ping, NULL, CK_OK);
  ping[3] = 0x02;
  EXPECT(ping, sizeof ping, NULL, CK_ERR_WIRE_VERSION);
  ping[3] = 0x00;
  EXPECT(ping, sizeof ping, NULL, CK_ERR_WIRE_VERSION);
  ping[3] = 0xff; /* -1 */
  EXPECT(ping, sizeof ping, NULL, CK_ERR_WIRE_TYPE);
  ping[3] = 0xc3; /* true */
  EXPECT(ping, sizeof ping, NULL, CK_ERR_WIRE_TYPE);
}

/* Deterministic mutation smoke test: flip, insert and cut bytes of valid
 * frames; every result is OK or a specific error, never a crash. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

static void test_mutations(void **state) {
  int t, round;
  size_t ok = 0, bad = 0;

  for (t = CK_WIRE_UNKNOWN + 1; t < CK_WIRE_TYPE__MAX; t++) {
    size_t len;
    uint8_t *f = encode((ck_wire_type)t, &len);

    for (round = 0; round < 1500; round++) {
      size_t blen = len - 4, k, muts = 1 + next_rand() % 4;
      uint8_t *b = malloc(blen + 8);
      ck_errctx e = CK_ERRCTX_INIT;
      ck_err rc;

      memcpy(b, f + 4, blen);
      for (k = 0; k < muts; k++) {
        size_t at = next_rand() % blen;
        switch (next_rand() % 4) {
        case 0:
          b[at] ^= (uint8_t)(1u << (next_rand() % 8));
          break;
        case 1:
          b[at] = (uint8_t)next_rand();
          break;
        case 2: /* interesting header bytes */
          b[at] = (uint8_t[]){
              0xdd, 0xdf, 0xdb, 0xc6, 0xc9, 0x9f, 0x8f, 0xc1}[next_rand() % 8];
          break;
        default:
          blen = at + 1;
          break;
        }
      }
      rc = decode(b, blen, NULL, &e);
      if (rc == CK_OK) {
        ok++;
      } else {
        bad++;
        assert_true(rc <= CK_ERR_WIRE_TRUNCATED && rc >= CK_ERR_WIRE_MALFORMED);
      }
      free(b);
    }
    free(f);
  }
  assert_true(bad > 0);
  print_message("mutations: %zu decoded, %zu refused\n", ok, bad);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_truncated_every_byte),
      cmocka_unit_test(test_oversized),
      cmocka_unit_test(test_nesting_bombs),
      cmocka_unit_test(test_huge_declared_lengths),
      cmocka_unit_test(test_object_limits),
      cmocka_unit_test(test_not_a_map),
      cmocka_unit_test(test_trailing),
      cmocka_unit_test(test_bad_version),
      cmocka_unit_test(test_mutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
