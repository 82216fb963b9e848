/* test_mem.c — arenas, constant-time compare, wiping, bounded copies. */
#include "tests/testutil.h"

#include <string.h>

#include "common/util/mem.h"

static void arena_alloc_align_and_grow(void **state) {
  ck_arena *a = ck_arena_new(256);
  void *p[100];
  size_t i;

  (void)state;
  assert_non_null(a);
  for (i = 0; i < 100; i++) {
    p[i] = ck_arena_alloc(a, i * 13 + 1);
    assert_non_null(p[i]);
    assert_int_equal((uintptr_t)p[i] % _Alignof(max_align_t), 0);
    memset(p[i], (int)i, i * 13 + 1);
  }
  /* earlier allocations are intact after growth */
  for (i = 0; i < 100; i++)
    assert_int_equal(((unsigned char *)p[i])[i * 13], (unsigned char)i);
  assert_true(ck_arena_size(a) >= 100 * 13);
  /* a request bigger than a block gets its own block */
  assert_non_null(ck_arena_alloc(a, 100000));
  ck_arena_reset(a);
  assert_int_equal(ck_arena_size(a), 256);
  assert_non_null(ck_arena_alloc(a, 10));
  assert_null(ck_arena_alloc(a, SIZE_MAX - 4));
  assert_string_equal(ck_arena_strdup(a, "hello"), "hello");
  assert_string_equal(ck_arena_strndup(a, "hello", 3), "hel");
  ck_arena_free(a);
  ck_arena_free(NULL);
}

static void ct_equal(void **state) {
  (void)state;
  assert_true(ck_ct_equal("abcdef", "abcdef", 6));
  assert_false(ck_ct_equal("abcdef", "abcdeg", 6));
  assert_false(ck_ct_equal("xbcdef", "abcdef", 6));
  assert_true(ck_ct_equal("", "", 0));
}

static void wipe_and_copy(void **state) {
  char buf[8] = "secret";
  char small[4];
  char hex[9];
  const uint8_t bytes[] = {0x00, 0xab, 0x10, 0xff};

  (void)state;
  ck_wipe(buf, sizeof buf);
  assert_memory_equal(buf, "\0\0\0\0\0\0\0\0", 8);
  assert_int_equal(ck_strlcpy(small, "abcdef", sizeof small), 6);
  assert_string_equal(small, "abc");
  ck_hex_encode(bytes, 4, hex);
  assert_string_equal(hex, "00ab10ff");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(arena_alloc_align_and_grow),
      cmocka_unit_test(ct_equal),
      cmocka_unit_test(wipe_and_copy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
