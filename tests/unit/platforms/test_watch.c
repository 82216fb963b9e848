/* test_watch.c — ck_watch with this build's backend (inotify on Linux):
 * prompt single reports, removal, rename, attributes, unwatching, deleted
 * directories, bad arguments, close from the callback; inotify only: a
 * burst beyond the pending limit becomes one overflow, and nothing keeps a
 * timer running once the changes are reported (idle costs no CPU). */
#include "tests/testutil.h"

#include "platforms/platform.h"
#include "platforms/watch.h"

#define WATCH_EXPECT_BACKEND                                                   \
  (strcmp(ck_platform_name(), "linux") == 0 ? "inotify" : "poll")
#include "watch_cases.h"

static void count_active_timers(uv_handle_t *h, void *arg) {
  if (h->type == UV_TIMER && uv_is_active(h))
    (*(int *)arg)++;
}

static void watch_idle_has_no_timer(void **state) {
  wfix *f;
  int timers = 0;

  (void)state;
  if (is_poll())
    skip(); /* the fallback polls by design */
  f = wfix_new();
  write_file(f, "a", "a", 1);
  wait_event(f, "a", CK_WATCH_CHANGED);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  uv_walk(&f->loop, count_active_timers, &timers);
  assert_int_equal(timers, 0);
  wfix_free(f);
}

static void watch_burst_overflows_once(void **state) {
  wfix *f;
  char name[64];

  (void)state;
  if (is_poll())
    skip();
  f = wfix_new();
  /* the loop does not run meanwhile: the whole burst is read at once */
  for (int i = 0; i < 4200; i++) {
    snprintf(name, sizeof name, "f%05d", i);
    write_file(f, name, "", 0);
  }
  ck_test_run_until(&f->loop, &f->overflow, wait_ms());
  assert_int_equal(f->n, 1); /* one overflow, no individual paths */
  wfix_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(watch_backend_name),
      cmocka_unit_test(watch_new_file_reported_once),
      cmocka_unit_test(watch_remove_rename_chmod),
      cmocka_unit_test(watch_remove_and_dir_deleted),
      cmocka_unit_test(watch_bad_arguments),
      cmocka_unit_test(watch_close_in_callback),
      cmocka_unit_test(watch_idle_has_no_timer),
      cmocka_unit_test(watch_burst_overflows_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
