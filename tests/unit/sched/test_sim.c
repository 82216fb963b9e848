/* test_sim.c — the scheduler's decisions (coordinator/sched/plan.h) driven
 * through a simulated 400 days over 10,000 agent-managed certificates with
 * 47-day validity, with the wall clock replaced by the clock seam.
 *
 * Worst case first: every certificate is issued at the same second, so the
 * whole estate falls due in one jitter window. A triggered agent renews
 * 5 minutes later, except that 1 trigger in 50 is lost (agent offline) and
 * must be re-triggered. Checks: no certificate ever expires without a
 * successor in place, and the triggers never exceed the configured rate in
 * any 60-second window (checked independently of the limiter, from the
 * log of trigger times). Superseded certificates are reported once and
 * leave the estate, as they do from the runtime's scan window. */
#include "tests/testutil.h"

#include <string.h>

#include "common/util/clock.h"
#include "coordinator/sched/plan.h"

#define NCERTS 10000
#define DAY 86400LL
#define VALIDITY (47 * DAY)
#define DAYS 400
#define RATE 50 /* renewals per minute */
#define T0 1900000000LL
#define TICK 300 /* [sched] tick of the simulated coordinator */

typedef struct sim_cert {
  char fp[48];
  int64_t not_before, not_after;
  int64_t triggered_at;
  int64_t renew_done_at; /* when the agent's successor arrives, 0 none */
  int64_t due;           /* when its renewal falls due (cached) */
  int noticed_step, incident;
} sim_cert;

static int64_t sim_now_ms;
static int64_t sim_clock(void *arg) {
  (void)arg;
  return sim_now_ms;
}

static uint64_t lcg_state = 42;
static unsigned lcg(void) {
  lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)(lcg_state >> 33);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void test_400_days(void **state) {
  sim_cert *c = calloc(NCERTS, sizeof *c);
  ck_sched_item *v = calloc(2 * NCERTS, sizeof *v);
  size_t log_cap = 400000, nlog = 0, i, n;
  int64_t *log = malloc(log_cap * sizeof *log);
  int64_t end = T0 + DAYS * DAY, now, gen = 0;
  size_t peak = 0;
  long renewals = 0, lost = 0, incidents = 0, ticks = 0, expired_gaps = 0;
  ck_sched_policy pol;
  ck_sched_rate rate;
  ck_sched_scratch scr = {0};
  uint64_t t_start = ck_clock_mono_ms();

  (void)state;
  assert_non_null(c);
  assert_non_null(v);
  assert_non_null(log);
  memset(&pol, 0, sizeof pol);
  pol.jitter = 6 * 3600;
  pol.retry = 3600;
  ck_sched_cadence_default(&pol.cadence);
  assert_int_equal(ck_sched_rate_init(&rate, RATE, 60), CK_OK);
  for (i = 0; i < NCERTS; i++) {
    snprintf(c[i].fp, sizeof c[i].fp, "c%zu-g0", i);
    c[i].not_before = T0;
    c[i].not_after = T0 + VALIDITY;
    c[i].noticed_step = -1;
    c[i].due = ck_sched_renew_due(c[i].fp, c[i].not_after - VALIDITY / 3,
                                  c[i].not_after, pol.jitter);
  }
  sim_now_ms = T0 * 1000;
  ck_clock_set_source(sim_clock, NULL);
  while ((now = ck_clock_now()) < end) {
    long r;
    int64_t next = now + 3600;
    int busy = 0;

    /* agents deliver the successors they were asked for */
    for (i = 0; i < NCERTS; i++)
      if (c[i].renew_done_at != 0 && c[i].renew_done_at <= now) {
        assert_true(now <= c[i].not_after); /* in place before expiry */
        gen++;
        snprintf(c[i].fp, sizeof c[i].fp, "c%zu-g%lld", i, (long long)gen);
        c[i].not_before = c[i].renew_done_at;
        c[i].not_after = c[i].renew_done_at + VALIDITY;
        c[i].triggered_at = c[i].renew_done_at = 0;
        c[i].noticed_step = -1;
        c[i].due = ck_sched_renew_due(c[i].fp, c[i].not_after - VALIDITY / 3,
                                      c[i].not_after, pol.jitter);
      }
    /* the estate as the runtime would read it */
    for (i = n = 0; i < NCERTS; i++) {
      ck_sched_item *it = &v[n++];
      it->fp = c[i].fp;
      it->name_hash = (uint64_t)i * 0x9e3779b97f4a7c15ULL; /* one name each */
      it->not_before = c[i].not_before;
      it->not_after = c[i].not_after;
      it->renew_at = c[i].not_after - (c[i].not_after - c[i].not_before) / 3;
      it->kind = CK_SCHED_AGENT;
      it->cadence = NULL;
      it->triggered_at = c[i].triggered_at;
      it->incident_raised = c[i].incident;
      it->noticed_step = c[i].noticed_step;
      if (now > c[i].not_after)
        expired_gaps++;
    }
    r = ck_sched_plan_run(&pol, &rate, v, n, now, &scr);
    assert_true(r >= 0);
    ticks++;
    for (i = 0; i < n; i++) {
      ck_sched_item *it = &v[i];
      assert_false(it->superseded);
      assert_int_equal(it->notice_step, -1); /* automated: no notices */
      if (it->incident) {
        incidents++;
        c[i].incident = 1;
      }
      if (it->renew_wanted)
        busy = 1;
      if (!it->renew)
        continue;
      renewals++;
      assert_true(nlog < log_cap);
      log[nlog++] = now;
      c[i].triggered_at = now;
      if (lcg() % 50 == 0)
        lost++; /* the agent was offline: re-triggered after retry */
      else
        c[i].renew_done_at = now + 300;
    }
    /* next tick: the simulated coordinator ticks every TICK seconds;
     * ticks in which nothing can happen (nothing due, no renewal waiting
     * for the rate window) are skipped: the next one is the first tick at
     * or after the next due time, at most an hour away */
    if (!busy) {
      for (i = 0; i < NCERTS; i++) {
        int64_t due = c[i].due;
        if (c[i].triggered_at != 0)
          due = c[i].triggered_at + pol.retry;
        if (c[i].renew_done_at != 0 && c[i].renew_done_at < due)
          due = c[i].renew_done_at;
        if (due > now && due < next)
          next = due;
      }
      next = T0 + (next - T0 + TICK - 1) / TICK * TICK;
    }
    if (busy || next < now + TICK)
      next = now + TICK;
    sim_now_ms = next * 1000;
  }
  ck_clock_set_source(NULL, NULL);
  /* the rate, checked from the log: any 60 s window holds at most RATE */
  qsort(log, nlog, sizeof *log, cmp_i64);
  for (i = 0, n = 0; i < nlog; i++) {
    while (log[n] <= log[i] - 60)
      n++;
    assert_true(i - n + 1 <= RATE);
    if (i - n + 1 > peak)
      peak = i - n + 1;
  }
  /* the herd did press against the limit (the check is not vacuous) */
  assert_int_equal(peak, RATE);
  print_message("sim: %ld ticks, %ld renewals (%ld lost and re-triggered), "
                "%ld incidents, peak %zu per 60 s, %llu ms\n",
                ticks, renewals, lost, incidents, peak,
                (unsigned long long)(ck_clock_mono_ms() - t_start));
  assert_int_equal(expired_gaps, 0);
  assert_int_equal(incidents, 0);
  /* 400 days / ~31.3 days per cycle: at least 12 renewals each */
  assert_true(renewals >= 12L * NCERTS);
  ck_sched_rate_free(&rate);
  ck_sched_scratch_free(&scr);
  free(log);
  free(v);
  free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_400_days)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
