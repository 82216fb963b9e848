/* test_posix.c — the POSIX fallbacks. On Linux they are compiled into
 * ckplatform_posix under ckposix_* names (platforms/CMakeLists.txt), so this
 * test runs the poll watcher and the UNSUPPORTED seams next to the Linux
 * build; elsewhere it tests the build's own platform layer. */
#include "tests/testutil.h"

#include "platforms/hwkeys.h"
#include "platforms/listening.h"
#include "platforms/platform.h"
#include "platforms/sandbox.h"
#include "platforms/watch.h"

#define WATCH_EXPECT_BACKEND "poll"
#include "watch_cases.h"

static void posix_platform_name(void **state) {
  (void)state;
  assert_string_equal(ck_platform_name(), "posix");
  assert_int_equal(ck_platform_stderr_is_journal(), 0);
}

static void posix_unsupported_seams(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_hwkeys *h = (ck_hwkeys *)&err;
  ck_listen_addr *a = (ck_listen_addr *)&err;
  size_t n = 7;
  uv_loop_t loop;

  (void)state;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(ck_hwkeys_start(&loop, NULL, NULL, &h, &err),
                   CK_ERR_UNSUPPORTED);
  assert_null(h);
  ck_hwkeys_stop(NULL);
  ck_errctx_clear(&err);
  assert_int_equal(ck_sandbox_enter_net(&err), CK_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "seccomp"));
  assert_int_equal(ck_platform_listening(&a, &n, &err), CK_ERR_UNSUPPORTED);
  assert_null(a);
  assert_int_equal(n, 0);
  assert_int_equal(ck_listening_parse("", 0, 0, &a, &n, &err),
                   CK_ERR_UNSUPPORTED);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void posix_drop_user(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  assert_int_equal(ck_sandbox_drop_user(NULL, &err), CK_OK);
  assert_int_equal(ck_sandbox_drop_user("no-such-user-ck", &err), CK_ERR_NOENT);
  assert_non_null(strstr(err.msg, "no-such-user-ck"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(posix_platform_name),
      cmocka_unit_test(posix_unsupported_seams),
      cmocka_unit_test(posix_drop_user),
      cmocka_unit_test(watch_backend_name),
      cmocka_unit_test(watch_new_file_reported_once),
      cmocka_unit_test(watch_remove_rename_chmod),
      cmocka_unit_test(watch_remove_and_dir_deleted),
      cmocka_unit_test(watch_bad_arguments),
      cmocka_unit_test(watch_close_in_callback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
