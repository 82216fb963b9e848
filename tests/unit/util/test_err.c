/* test_err.c — the error enum, its names and the error context. */
#include "tests/testutil.h"

#include <errno.h>
#include <string.h>

#include "common/util/err.h"

static void names_and_messages(void **state) {
  (void)state;
  assert_string_equal(ck_err_name(CK_OK), "CK_ERR_OK");
  assert_string_equal(ck_err_name(CK_ERR_WIRE_TOO_BIG), "CK_ERR_WIRE_TOO_BIG");
  assert_string_equal(ck_strerror(CK_ERR_KEY_MISMATCH),
                      "private key does not match the certificate");
  assert_string_equal(ck_err_name((ck_err)-9999), "CK_ERR_UNKNOWN");
  assert_string_equal(ck_strerror((ck_err)-9999), "unknown error");
}

/* Every code is unique and every failure is negative: the X-macro must not
 * give two names one number. */
static void codes_unique_and_negative(void **state) {
  static const int codes[] = {
#define C(name, code, msg) code,
      CK_ERR_MAP(C)
#undef C
  };
  size_t i, j, n = sizeof codes / sizeof codes[0];

  (void)state;
  assert_true(n > 40);
  for (i = 0; i < n; i++) {
    if (i > 0)
      assert_true(codes[i] < 0);
    for (j = i + 1; j < n; j++)
      assert_int_not_equal(codes[i], codes[j]);
    assert_string_not_equal(ck_err_name((ck_err)codes[i]), "CK_ERR_UNKNOWN");
  }
}

static void context_accumulates_outward(void **state) {
  ck_errctx ctx = CK_ERRCTX_INIT;

  (void)state;
  assert_string_equal(ck_errctx_msg(&ctx), "success");
  assert_int_equal(ck_failf(&ctx, CK_ERR_PARSE, "line %d", 7), CK_ERR_PARSE);
  assert_int_equal(ck_failf(&ctx, CK_ERR_CONFIG, "reading %s", "a.conf"),
                   CK_ERR_CONFIG);
  assert_string_equal(ctx.msg, "reading a.conf: line 7");
  assert_int_equal(ctx.code, CK_ERR_CONFIG);
  ck_setf(&ctx, CK_ERR_IO, "fresh");
  assert_string_equal(ctx.msg, "fresh");
  ck_errctx_clear(&ctx);
  assert_int_equal(ctx.code, CK_OK);
  assert_string_equal(ctx.msg, "");
  /* NULL context is allowed and still returns the code */
  assert_int_equal(ck_failf(NULL, CK_ERR_NOMEM, "x"), CK_ERR_NOMEM);
}

static void long_messages_truncate_safely(void **state) {
  ck_errctx ctx = CK_ERRCTX_INIT;
  char big[2000];
  int i;

  (void)state;
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  for (i = 0; i < 5; i++)
    ck_failf(&ctx, CK_ERR_PARSE, "%s", big);
  assert_true(strlen(ctx.msg) < sizeof ctx.msg);
}

static void errno_mapping(void **state) {
  (void)state;
  assert_int_equal(ck_err_from_errno(-ENOENT), CK_ERR_NOENT);
  assert_int_equal(ck_err_from_errno(-EACCES), CK_ERR_PERM);
  assert_int_equal(ck_err_from_errno(-ECONNRESET), CK_ERR_CLOSED);
  assert_int_equal(ck_err_from_errno(0), CK_OK);
  assert_int_equal(ck_err_from_errno(-EIO), CK_ERR_IO);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(names_and_messages),
      cmocka_unit_test(codes_unique_and_negative),
      cmocka_unit_test(context_accumulates_outward),
      cmocka_unit_test(long_messages_truncate_safely),
      cmocka_unit_test(errno_mapping),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
