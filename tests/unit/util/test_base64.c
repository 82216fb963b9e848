/* test_base64.c — the shared base64 codec (common/util/base64.h): RFC 4648
 * §10 vectors in both alphabets, padding on and off, line breaks, and each
 * refusal with its kind and offset. The rooms' wrappers (PEM, EST, ACME)
 * have their own tests in tests/unit/crypto and tests/unit/acme. */
#include "tests/testutil.h"

#include <string.h>

#include "common/util/base64.h"

static const char *const VEC[][2] = {{"", ""},
                                     {"f", "Zg=="},
                                     {"fo", "Zm8="},
                                     {"foo", "Zm9v"},
                                     {"foob", "Zm9vYg=="},
                                     {"fooba", "Zm9vYmE="},
                                     {"foobar", "Zm9vYmFy"}};

static void vectors(void **state) {
  char text[64];
  uint8_t out[64];
  size_t i, n, len;

  (void)state;
  for (i = 0; i < sizeof VEC / sizeof VEC[0]; i++) {
    const char *in = VEC[i][0];
    len = strlen(in);
    assert_int_equal(ck_base64_encoded_len(len, 0, 0, 0), strlen(VEC[i][1]));
    n = ck_base64_encode_into((const uint8_t *)in, len, 0, 0, NULL, text);
    assert_string_equal(text, VEC[i][1]);
    assert_int_equal(n, strlen(VEC[i][1]));
    assert_int_equal(ck_base64_decode_into(text, n, CK_BASE64_BITS, out,
                                           sizeof out, &n, NULL),
                     CK_OK);
    assert_int_equal(n, len);
    assert_memory_equal(out, in, len);
    /* unpadded: the same text without '=' */
    n = ck_base64_encode_into((const uint8_t *)in, len, CK_BASE64_NOPAD, 0,
                              NULL, text);
    assert_int_equal(n, ck_base64_encoded_len(len, CK_BASE64_NOPAD, 0, 0));
    assert_null(strchr(text, '='));
    assert_int_equal(ck_base64_decode_into(text, n, CK_BASE64_NOPAD, out,
                                           sizeof out, &n, NULL),
                     CK_OK);
    assert_int_equal(n, len);
  }
}

static void url_alphabet_and_wrap(void **state) {
  const uint8_t b[] = {0xfb, 0xff, 0xbf};
  uint8_t data[100], out[200];
  char text[300];
  size_t i, n;

  (void)state;
  ck_base64_encode_into(b, 3, 0, 0, NULL, text);
  assert_string_equal(text, "+/+/");
  ck_base64_encode_into(b, 3, CK_BASE64_URL, 0, NULL, text);
  assert_string_equal(text, "-_-_");
  assert_int_equal(
      ck_base64_decode_into("-_-_", 4, 0, out, sizeof out, &n, NULL),
      CK_ERR_PARSE);
  for (i = 0; i < sizeof data; i++)
    data[i] = (uint8_t)(i * 31);
  n = ck_base64_encode_into(data, sizeof data, 0, 64, "\r\n", text);
  assert_int_equal(n, ck_base64_encoded_len(sizeof data, 0, 64, 2));
  assert_int_equal(n, 136 + 3 * 2); /* 136 characters on 3 lines */
  assert_memory_equal(text + 64, "\r\n", 2);
  assert_memory_equal(text + n - 2, "\r\n", 2);
  assert_int_equal(ck_base64_decode_into(text, n, 0, out, sizeof out, &n, NULL),
                   CK_ERR_PARSE); /* CR is not base64 without SPACE */
  n = strlen(text);
  assert_int_equal(ck_base64_decode_into(text, n, CK_BASE64_SPACE, out,
                                         sizeof out, &n, NULL),
                   CK_OK);
  assert_int_equal(n, sizeof data);
  assert_memory_equal(out, data, sizeof data);
}

static void refusals(void **state) {
  static const struct {
    const char *in;
    unsigned flags;
    ck_base64_fault_kind kind;
    size_t at;
  } bad[] = {
      {"Zm9v!", 0, CK_BASE64_FAULT_CHAR, 4},
      {"Z===", 0, CK_BASE64_FAULT_PAD_EARLY, 1},
      {"Zg=a", 0, CK_BASE64_FAULT_AFTER_PAD, 3},
      {"Zg==Zg==", 0, CK_BASE64_FAULT_AFTER_PAD, 4},
      {"Zg= =\n", CK_BASE64_SPACE, CK_BASE64_FAULT_NONE, 0},
      {"Zg=", 0, CK_BASE64_FAULT_PAD, 0},
      {"Zm9vY", 0, CK_BASE64_FAULT_TRUNCATED, 1},
      {"Zm9vYg", 0, CK_BASE64_FAULT_TRUNCATED, 2},
      {"Zm9vY", CK_BASE64_NOPAD, CK_BASE64_FAULT_TRUNCATED, 1},
      {"Zh==", CK_BASE64_BITS, CK_BASE64_FAULT_BITS, 0},
      {"Zh==", 0, CK_BASE64_FAULT_NONE, 0},
      {"Zg==", CK_BASE64_NOPAD, CK_BASE64_FAULT_CHAR, 2},
  };
  ck_base64_fault why;
  uint8_t out[16];
  size_t i, n;

  (void)state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_err rc = ck_base64_decode_into(bad[i].in, strlen(bad[i].in),
                                      bad[i].flags, out, sizeof out, &n, &why);
    assert_int_equal(rc, bad[i].kind == CK_BASE64_FAULT_NONE ? CK_OK
                                                             : CK_ERR_PARSE);
    assert_int_equal(why.kind, bad[i].kind);
    assert_int_equal(why.at, bad[i].at);
  }
  assert_int_equal(ck_base64_decode_into("Zm9vYmFy", 8, 0, out, 5, &n, &why),
                   CK_ERR_LIMIT);
  assert_int_equal(why.kind, CK_BASE64_FAULT_ROOM);
  assert_int_equal(n, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(vectors),
      cmocka_unit_test(url_alphabet_and_wrap),
      cmocka_unit_test(refusals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
