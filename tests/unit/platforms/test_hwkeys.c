/* test_hwkeys.c — the libudev monitor: start, start-up enumeration from the
 * loop (whatever this machine has: often nothing in a container), stop
 * before and after it, everything freed (uv_loop_close succeeds, ASan). */
#include "tests/testutil.h"

#include <string.h>

#include "platforms/hwkeys.h"
#include "platforms/platform.h"

typedef struct seen {
  int calls;
  int bad; /* a report that breaks the contract */
} seen;

static void on_key(const char *kind, const char *action, const char *devpath,
                   const char *name, void *arg) {
  seen *s = arg;

  s->calls++;
  if (kind == NULL || action == NULL || devpath == NULL || name == NULL ||
      (strcmp(kind, "tpm") != 0 && strcmp(kind, "smartcard-reader") != 0) ||
      (strcmp(action, "present") != 0 && strcmp(action, "add") != 0 &&
       strcmp(action, "remove") != 0))
    s->bad++;
  print_message("hwkey %s %s %s (%s)\n", action ? action : "?",
                kind ? kind : "?", name ? name : "?", devpath ? devpath : "?");
}

static void hwkeys_enumerate_and_stop(void **state) {
  uv_loop_t loop;
  ck_hwkeys *h = NULL;
  seen s = {0};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  (void)state;
  assert_int_equal(uv_loop_init(&loop), 0);
  rc = ck_hwkeys_start(&loop, on_key, &s, &h, &err);
  if (rc == CK_ERR_IO) { /* no netlink in this sandbox: a clear message */
    print_message("skipped: %s\n", err.msg);
    assert_null(h);
    assert_true(err.msg[0] != '\0');
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    skip();
  }
  assert_int_equal(rc, CK_OK);
  assert_non_null(h);
  assert_int_equal(s.calls, 0); /* reports come from the loop only */
  /* the enumeration timer is due at once: one iteration runs it */
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(s.bad, 0);
  print_message("%d hardware key store(s) present\n", s.calls);
  ck_hwkeys_stop(h);
  ck_hwkeys_stop(NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void hwkeys_stop_before_enumeration(void **state) {
  uv_loop_t loop;
  ck_hwkeys *h = NULL;
  seen s = {0};
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  assert_int_equal(uv_loop_init(&loop), 0);
  if (ck_hwkeys_start(&loop, on_key, &s, &h, &err) != CK_OK) {
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    skip();
  }
  ck_hwkeys_stop(h);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(s.calls, 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void hwkeys_bad_arguments(void **state) {
  uv_loop_t loop;
  ck_hwkeys *h = (ck_hwkeys *)&loop;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(ck_hwkeys_start(&loop, NULL, NULL, &h, &err), CK_ERR_INVAL);
  assert_null(h);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(hwkeys_enumerate_and_stop),
      cmocka_unit_test(hwkeys_stop_before_enumeration),
      cmocka_unit_test(hwkeys_bad_arguments),
  };
  if (strcmp(ck_platform_name(), "linux") != 0)
    return 0; /* test_posix checks CK_ERR_UNSUPPORTED */
  return cmocka_run_group_tests(tests, NULL, NULL);
}
