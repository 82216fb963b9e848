/* sched.c — the scheduler's life cycle (sched.h): settings, the tick timer
 * on the loop, the scan on the thread pool (one at a time), the delivery
 * workers, the status counters.
 *
 * The timer never blocks the loop: each tick queues the scan
 * (sched_scan.c, then notice.c) on the libuv pool; a tick that finds the
 * previous scan still running is skipped. Workers (deliver.c) wait on a
 * condition variable, woken after each scan and at close. */
#include "coordinator/sched/sched_int.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"

void ck__sched_count(ck_sched *s, int64_t *field, int64_t d) {
  uv_mutex_lock(&s->mu);
  *field += d;
  uv_mutex_unlock(&s->mu);
}

void ck_sched_get_status(ck_sched *s, ck_sched_status *out) {
  uv_mutex_lock(&s->mu);
  *out = s->st;
  uv_mutex_unlock(&s->mu);
}

ck_err ck_sched_tick_now(ck_sched *s, int64_t now, ck_errctx *err) {
  uint64_t t0 = ck_clock_mono_ms();
  ck_err rc;

  uv_mutex_lock(&s->scan_mu);
  rc = ck__sched_scan(s, now, err);
  if (rc == CK_OK && s->o.notices)
    rc = ck__notice_queue(s, now, err);
  uv_mutex_unlock(&s->scan_mu);
  uv_mutex_lock(&s->mu);
  s->st.ticks++;
  s->st.last_tick_at = now;
  s->st.last_tick_ms = (int64_t)(ck_clock_mono_ms() - t0);
  s->st.last_error = rc;
  s->kick = 1;
  uv_cond_broadcast(&s->cond);
  uv_mutex_unlock(&s->mu);
  return rc;
}

static void scan_work(uv_work_t *w) {
  ck_sched *s = w->data;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc = ck_sched_tick_now(s, ck_clock_now(), &err);

  if (rc != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "sched.tick.failed",
           CK_E(rc, ck_errctx_msg(&err)));
}

static void scan_done(uv_work_t *w, int status) {
  ck_sched *s = w->data;

  (void)status;
  s->busy = 0;
}

static void on_tick(uv_timer_t *t) {
  ck_sched *s = t->data;

  if (s->busy || s->closing)
    return; /* the previous scan is still running */
  s->busy = 1;
  s->work.data = s;
  if (uv_queue_work(s->rt->loop, &s->work, scan_work, scan_done) != 0)
    s->busy = 0;
}

ck_err ck_sched_start(ck_coord_rt *rt, ck_sched **out, ck_errctx *err) {
  ck_sched *s = calloc(1, sizeof *s);
  ck_err rc;
  size_t i;

  *out = NULL;
  if (s == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "scheduler");
  s->rt = rt;
  uv_mutex_init(&s->mu);
  uv_mutex_init(&s->scan_mu);
  uv_cond_init(&s->cond);
  uv_timer_init(rt->loop, &s->timer);
  s->timer.data = s;
  *out = s; /* from here ck_sched_close/_free clean up */
  if ((rc = ck__sched_opts_load(rt->cfg, &s->o, err)) != CK_OK)
    return rc;
  if ((rc = ck_sched_rate_init(&s->rate, (size_t)s->o.rate, 60)) != CK_OK)
    return ck_failf(err, rc, "[sched] rate");
  s->audit_seq = -1; /* the first scan loads the stored cursor */
  s->st.enabled = s->o.enabled;
  s->st.rate = s->o.rate;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return ck_failf(err, CK_ERR_INTERNAL, "libcurl failed to initialise");
  if (!s->o.enabled) {
    ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "sched.disabled");
    return CK_OK;
  }
  if (s->o.notices) {
    s->threads = calloc((size_t)s->o.workers, sizeof *s->threads);
    if (s->threads == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "scheduler");
    for (i = 0; i < (size_t)s->o.workers; i++) {
      if (uv_thread_create(&s->threads[i], ck__deliver_main, s) != 0)
        return ck_failf(err, CK_ERR_INTERNAL, "delivery thread");
      s->nthreads++;
    }
  }
  /* first scan soon after start-up, then every tick */
  uv_timer_start(&s->timer, on_tick, 1000, (uint64_t)s->o.tick * 1000);
  ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "sched.started", CK_I("tick", s->o.tick),
         CK_I("rate", s->o.rate), CK_I("workers", (int64_t)s->nthreads),
         CK_S("smtp", s->o.smtp_url[0] ? s->o.smtp_url : "none"));
  return CK_OK;
}

void ck_sched_close(ck_sched *s) {
  if (s == NULL || s->closing)
    return;
  s->closing = 1;
  uv_timer_stop(&s->timer);
  uv_close((uv_handle_t *)&s->timer, NULL);
  uv_mutex_lock(&s->mu);
  s->stop = 1;
  uv_cond_broadcast(&s->cond);
  uv_mutex_unlock(&s->mu);
}

void ck_sched_free(ck_sched *s) {
  size_t i;

  if (s == NULL)
    return;
  uv_mutex_lock(&s->mu);
  s->stop = 1;
  uv_cond_broadcast(&s->cond);
  uv_mutex_unlock(&s->mu);
  for (i = 0; i < s->nthreads; i++)
    uv_thread_join(&s->threads[i]);
  free(s->threads);
  ck__sched_seen_free(s->seen);
  ck_sched_rate_free(&s->rate);
  ck__sched_opts_clear(&s->o);
  uv_cond_destroy(&s->cond);
  uv_mutex_destroy(&s->scan_mu);
  uv_mutex_destroy(&s->mu);
  free(s);
}
