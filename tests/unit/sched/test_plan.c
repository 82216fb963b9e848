/* test_plan.c — the scheduler's pure decisions (coordinator/sched/plan.h):
 * cadence parsing and steps, the sliding-window rate limit, successors,
 * renewal triggers (jitter, retry, soonest expiry first), late-renewal
 * incidents, and who gets notices. */
#include "tests/testutil.h"

#include <string.h>

#include "coordinator/sched/plan.h"

#define DAY 86400LL
#define NOW 1900000000LL

static void test_cadence_parse(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_sched_cadence c;

  (void)state;
  assert_int_equal(ck_sched_cadence_parse("1d, 90d,7d 30d,7d", &c, &err),
                   CK_OK);
  assert_int_equal(c.n, 4);
  assert_int_equal(c.before[0], 90 * DAY);
  assert_int_equal(c.before[3], DAY);
  assert_int_equal(ck_sched_cadence_parse("12h", &c, &err), CK_OK);
  assert_int_equal(c.before[0], 12 * 3600);
  assert_int_equal(ck_sched_cadence_parse("", &c, &err), CK_ERR_RANGE);
  assert_int_equal(ck_sched_cadence_parse("30x", &c, &err), CK_ERR_PARSE);
  assert_non_null(strstr(err.msg, "30x"));
  assert_int_equal(ck_sched_cadence_parse("10s", &c, &err), CK_ERR_RANGE);
  assert_int_equal(ck_sched_cadence_parse("1d,2d,3d,4d,5d,6d,7d,8d,9d,10d,"
                                          "11d,12d,13d,14d,15d,16d,17d",
                                          &c, &err),
                   CK_ERR_RANGE);
}

static void test_cadence_step(void **state) {
  ck_sched_cadence c;

  (void)state;
  ck_sched_cadence_default(&c);
  assert_int_equal(ck_sched_cadence_step(&c, NOW + 100 * DAY, NOW), -1);
  assert_int_equal(ck_sched_cadence_step(&c, NOW + 90 * DAY, NOW), 0);
  assert_int_equal(ck_sched_cadence_step(&c, NOW + 29 * DAY, NOW), 1);
  assert_int_equal(ck_sched_cadence_step(&c, NOW + 6 * DAY, NOW), 2);
  assert_int_equal(ck_sched_cadence_step(&c, NOW + 3600, NOW), 3);
  assert_int_equal(ck_sched_cadence_step(&c, NOW - DAY, NOW), 3);
}

static void test_rate_window(void **state) {
  ck_sched_rate r;
  int i, got = 0;

  (void)state;
  assert_int_equal(ck_sched_rate_init(&r, 0, 60), CK_ERR_RANGE);
  assert_int_equal(ck_sched_rate_init(&r, 3, 60), CK_OK);
  assert_int_equal(ck_sched_rate_available(&r, NOW), 3);
  for (i = 0; i < 5; i++)
    got += ck_sched_rate_take(&r, NOW);
  assert_int_equal(got, 3);
  assert_int_equal(ck_sched_rate_available(&r, NOW + 59), 0);
  assert_int_equal(ck_sched_rate_take(&r, NOW + 59), 0);
  /* 60 s after the first three, the window is free again */
  assert_int_equal(ck_sched_rate_available(&r, NOW + 60), 3);
  assert_int_equal(ck_sched_rate_take(&r, NOW + 60), 1);
  /* a clock going back does not reopen the window */
  assert_int_equal(ck_sched_rate_take(&r, NOW), 1);
  assert_int_equal(ck_sched_rate_take(&r, NOW), 1);
  assert_int_equal(ck_sched_rate_take(&r, NOW), 0);
  ck_sched_rate_free(&r);
}

static void item(ck_sched_item *it, const char *fp, uint64_t name, int64_t nb,
                 int64_t na, ck_sched_kind kind) {
  memset(it, 0, sizeof *it);
  it->fp = fp;
  it->name_hash = name;
  it->not_before = nb;
  it->not_after = na;
  it->renew_at = na - (na - nb) / 3;
  it->kind = kind;
  it->noticed_step = -1;
}

static void policy(ck_sched_policy *p) {
  memset(p, 0, sizeof *p);
  p->jitter = 0;
  p->retry = 3600;
  ck_sched_cadence_default(&p->cadence);
}

static void test_successor(void **state) {
  ck_sched_policy p;
  ck_sched_item v[3];

  (void)state;
  policy(&p);
  /* same name: the older one is superseded, the other name is not */
  item(&v[0], "old", 7, NOW - 80 * DAY, NOW + 10 * DAY, CK_SCHED_AGENT);
  item(&v[1], "new", 7, NOW - DAY, NOW + 89 * DAY, CK_SCHED_AGENT);
  item(&v[2], "other", 8, NOW - 80 * DAY, NOW + 10 * DAY, CK_SCHED_AGENT);
  assert_int_equal(ck_sched_plan_run(&p, NULL, v, 3, NOW, NULL), 1);
  assert_true(v[0].superseded);
  assert_int_equal(v[0].succ, 1);
  assert_false(v[0].renew);
  assert_false(v[1].superseded);
  assert_false(v[1].renew);
  assert_false(v[2].superseded);
  assert_true(v[2].renew);
  assert_int_equal(ck_sched_name_hash("CN=a", "DNS:a", "EC"),
                   ck_sched_name_hash("CN=a", "DNS:a", "EC"));
  assert_true(ck_sched_name_hash("CN=a", "DNS:a", "EC") !=
              ck_sched_name_hash("CN=a", "DNS:a", "RSA"));
}

static void test_renew_order_rate_retry(void **state) {
  ck_sched_policy p;
  ck_sched_rate r;
  ck_sched_item v[3];

  (void)state;
  policy(&p);
  item(&v[0], "a", 1, NOW - 60 * DAY, NOW + 20 * DAY, CK_SCHED_AGENT);
  item(&v[1], "b", 2, NOW - 60 * DAY, NOW + 5 * DAY, CK_SCHED_AGENT);
  item(&v[2], "c", 3, NOW - 60 * DAY, NOW + 10 * DAY, CK_SCHED_AGENT);
  assert_int_equal(ck_sched_rate_init(&r, 2, 60), CK_OK);
  assert_int_equal(ck_sched_plan_run(&p, &r, v, 3, NOW, NULL), 2);
  /* soonest expiry first: b and c, a waits */
  assert_true(v[1].renew && v[2].renew);
  assert_false(v[0].renew);
  assert_true(v[0].renew_wanted);
  /* a minute later a goes; b and c wait for `retry` */
  v[1].triggered_at = v[2].triggered_at = NOW;
  assert_int_equal(ck_sched_plan_run(&p, &r, v, 3, NOW + 60, NULL), 1);
  assert_true(v[0].renew);
  assert_false(v[1].renew || v[2].renew);
  v[0].triggered_at = NOW + 60;
  assert_int_equal(ck_sched_plan_run(&p, &r, v, 3, NOW + 3600, NULL), 2);
  assert_true(v[1].renew && v[2].renew);
  ck_sched_rate_free(&r);
}

static void test_jitter(void **state) {
  int64_t ra = NOW, na = NOW + 16 * DAY, d1, d2;

  (void)state;
  d1 = ck_sched_renew_due("fp-one", ra, na, 6 * 3600);
  d2 = ck_sched_renew_due("fp-one", ra, na, 6 * 3600);
  assert_int_equal(d1, d2); /* deterministic: restarts agree */
  assert_true(d1 >= ra && d1 < ra + 6 * 3600);
  /* never more than a quarter of the time left */
  d1 = ck_sched_renew_due("fp-two", ra, ra + 400, 6 * 3600);
  assert_true(d1 >= ra && d1 < ra + 100);
  assert_int_equal(ck_sched_late_at(NOW, NOW + 10 * DAY), NOW + 5 * DAY);
}

static void test_incident_and_notices(void **state) {
  ck_sched_policy p;
  ck_sched_item v[4];
  ck_sched_cadence one;

  (void)state;
  policy(&p);
  /* late: past halfway between renew_at and expiry */
  item(&v[0], "late", 1, NOW - 80 * DAY, NOW + 2 * DAY, CK_SCHED_AGENT);
  item(&v[1], "manual", 2, NOW - 60 * DAY, NOW + 29 * DAY, CK_SCHED_MANUAL);
  item(&v[2], "unmanaged", 3, NOW - 300 * DAY, NOW + 6 * DAY,
       CK_SCHED_UNMANAGED);
  item(&v[3], "own", 4, NOW - 60 * DAY, NOW + 29 * DAY, CK_SCHED_MANUAL);
  assert_int_equal(ck_sched_cadence_parse("60d", &one, NULL), CK_OK);
  v[3].cadence = &one;
  v[2].incident_raised = 1;
  ck_sched_plan_run(&p, NULL, v, 4, NOW, NULL);
  assert_true(v[0].incident);
  assert_int_equal(v[0].notice_step, -1); /* automated: no notice */
  assert_false(v[1].incident);
  assert_int_equal(v[1].notice_step, 1); /* the 30-day step */
  assert_false(v[2].incident);           /* raised before: not again */
  assert_int_equal(v[2].notice_step, 2); /* the 7-day step */
  assert_int_equal(v[3].notice_step, 0); /* its own cadence */
  /* a step noticed is not noticed again; the next one is */
  v[1].noticed_step = 1;
  ck_sched_plan_run(&p, NULL, v, 4, NOW, NULL);
  assert_int_equal(v[1].notice_step, -1);
  ck_sched_plan_run(&p, NULL, v, 4, NOW + 23 * DAY, NULL);
  assert_int_equal(v[1].notice_step, 2);
  /* notify_automated */
  p.notify_automated = 1;
  ck_sched_plan_run(&p, NULL, v, 4, NOW, NULL);
  assert_int_equal(v[0].notice_step, 2);
  assert_string_equal(ck_sched_kind_name(CK_SCHED_CLIENT), "client");
  assert_string_equal(ck_sched_kind_name((ck_sched_kind)99), "?");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cadence_parse),
      cmocka_unit_test(test_cadence_step),
      cmocka_unit_test(test_rate_window),
      cmocka_unit_test(test_successor),
      cmocka_unit_test(test_renew_order_rate_retry),
      cmocka_unit_test(test_jitter),
      cmocka_unit_test(test_incident_and_notices),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
