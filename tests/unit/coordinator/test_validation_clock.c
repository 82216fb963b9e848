/* test_validation_clock.c — the validation service's schedule under a fake
 * clock (ck_clock_set_source), without waiting for real hours or days:
 * full and delta CRLs are rebuilt once half of crl_validity has passed,
 * the delegated OCSP responders are replaced at two thirds of
 * responder_validity and not before, and a revocation schedules that CA's
 * CRLs at once. The service's own 1 s tick is real time: each step waits
 * for the counters to move (bounded), never sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "common/util/clock.h"
#include "coordinator/ca/ca.h"
#include "coordinator/core/coord.h"
#include "coordinator/core/coord_rt.h"
#include "coordinator/store/store.h"
#include "coordinator/validation/validation.h"
#include "tests/testutil.h"

#define WAIT_MS 15000

typedef struct fx {
  uv_loop_t loop;
  ck_coord_rt rt;
  char *dir;
  ck_validation *v;
  int64_t fake_ms; /* the wall clock the code sees */
  /* the condition the poll timer waits for */
  uint64_t want_crl, want_resp;
  int met;
  uv_timer_t poll;
} fx;

static int64_t fake_clock(void *arg) { return __atomic_load_n(&((fx *)arg)->fake_ms, __ATOMIC_RELAXED); }

static void advance(fx *f, int64_t secs) {
  __atomic_add_fetch(&f->fake_ms, secs * 1000, __ATOMIC_RELAXED);
}

static int setup(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_coord_init_opts io;
  ck_store_opts so;
  char path[4200], db[4200], tokp[4200];
  fx *f = calloc(1, sizeof *f);

  assert_non_null(f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  f->rt.loop = &f->loop;
  f->dir = ck_test_tmpdir();
  snprintf(path, sizeof path, "%s/data", f->dir);
  snprintf(tokp, sizeof tokp, "%s/admin.token", f->dir);
  memset(&io, 0, sizeof io);
  io.data_dir = path;
  io.admin_token_out = tokp;
  if (ck_coord_init(&io, &err) != CK_OK)
    fail_msg("init: %s", ck_errctx_msg(&err));
  if (ck_coord_load_settings(path, NULL, &f->rt.cfg, &f->rt.set, &err) != CK_OK)
    fail_msg("settings: %s", ck_errctx_msg(&err));
  memset(&so, 0, sizeof so);
  ck_coord_path(path, CK_COORD_DB, db, sizeof db);
  so.path = db;
  if (ck_store_open(&so, &f->rt.store, &err) != CK_OK ||
      ck_ca_set_load(f->rt.store, path, &f->rt.cas, &err) != CK_OK)
    fail_msg("open: %s", ck_errctx_msg(&err));
  f->fake_ms = ck_clock_now_ms();
  ck_clock_set_source(fake_clock, f);
  /* the defaults, stated: the schedule below depends on them */
  f->rt.set.val.crl_validity = 86400;
  f->rt.set.val.ocsp_validity = 3600;
  f->rt.set.val.responder_validity = 7 * 86400;
  if (ck_validation_new(&f->rt, &f->v, &err) != CK_OK)
    fail_msg("validation: %s", ck_errctx_msg(&err));
  uv_timer_init(&f->loop, &f->poll);
  f->poll.data = f;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;

  ck_validation_close(f->v);
  uv_close((uv_handle_t *)&f->poll, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  ck_validation_free(f->v);
  ck_clock_set_source(NULL, NULL);
  ck_store_close(f->rt.store);
  ck_ca_set_free(f->rt.cas);
  ck_config_free(f->rt.cfg);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  ck_test_rmtree(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

static void on_poll(uv_timer_t *t) {
  fx *f = t->data;
  ck_validation_stats st;

  ck_validation_get_stats(f->v, &st);
  if (st.crl_generated >= f->want_crl && st.responders_made >= f->want_resp) {
    f->met = 1;
    uv_timer_stop(t);
  }
}

/* Runs the loop until the counters reach (crl, resp), bounded. */
static void wait_for(fx *f, uint64_t crl, uint64_t resp) {
  f->want_crl = crl;
  f->want_resp = resp;
  f->met = 0;
  uv_timer_start(&f->poll, on_poll, 10, 10);
  ck_test_run_until(&f->loop, &f->met, WAIT_MS);
}

static ck_validation_stats stats(fx *f) {
  ck_validation_stats st;

  ck_validation_get_stats(f->v, &st);
  return st;
}

static void test_start(void **state) {
  fx *f = *state;
  ck_validation_stats st = stats(f);

  /* root + issuing: one responder and one full CRL each, made at start */
  assert_int_equal(st.responders_made, 2);
  assert_int_equal(st.crl_generated, 2);
}

static void test_crl_refresh_at_half_validity(void **state) {
  fx *f = *state;
  ck_validation_stats st0 = stats(f), st;

  /* 13 h: past half of 24 h; the responders (7 d) are not due */
  advance(f, 13 * 3600);
  wait_for(f, st0.crl_generated + 2, 0);
  st = stats(f);
  assert_true(st.crl_generated >= st0.crl_generated + 2);
  assert_int_equal(st.responders_made, st0.responders_made); /* not yet due */
}

static void test_responder_rotation(void **state) {
  fx *f = *state;
  ck_validation_stats st0 = stats(f), st;

  /* 4 days: under two thirds of 7 days. CRLs are due (past 12 h) so a
   * rebuild proves a tick ran; the responders must stay. */
  advance(f, 4 * 86400);
  wait_for(f, st0.crl_generated + 2, 0);
  assert_int_equal(stats(f).responders_made, st0.responders_made);
  /* 5 days: past two thirds (4.67 d): both responders are replaced */
  advance(f, 86400);
  wait_for(f, 0, st0.responders_made + 2);
  st = stats(f);
  assert_true(st.responders_made >= st0.responders_made + 2);
}

static void test_revocation_schedules_crls(void **state) {
  fx *f = *state;
  ck_validation_stats st0 = stats(f);
  const ck_ca *def = ck_ca_set_default(f->rt.cas);

  /* no time passes: only the revocation can make the CA's CRLs rebuild
   * (full, since crl_rebuild_on_revoke defaults to true) */
  assert_non_null(def);
  ck_validation_revoked(f->v, def->id, "0a1b2c3d");
  wait_for(f, st0.crl_generated + 1, 0);
  assert_int_equal(stats(f).responders_made, st0.responders_made);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_start, setup, teardown),
      cmocka_unit_test_setup_teardown(test_crl_refresh_at_half_validity, setup, teardown),
      cmocka_unit_test_setup_teardown(test_responder_rotation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_revocation_schedules_crls, setup, teardown),
  };
  ck_clock_init();
  return cmocka_run_group_tests(tests, NULL, NULL);
}
