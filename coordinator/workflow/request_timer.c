/* request_timer.c — drives escalation of pending requests (request.h
 * ck_wf_timer_*): a libuv timer on the loop queues ck_wf_request_tick on
 * the thread pool, one at a time. */
#include <stdlib.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "coordinator/workflow/request.h"

struct ck_wf_timer {
  ck_coord_rt *rt;
  uv_timer_t timer;
  uv_work_t work;
  int busy;    /* (loop) a tick is on the pool */
  int closing; /* (loop) */
};

static void tick_work(uv_work_t *wk) {
  ck_wf_timer *t = wk->data;
  ck_errctx err = CK_ERRCTX_INIT;
  size_t n = 0;
  ck_err rc = ck_wf_request_tick(t->rt, ck_clock_now(), &n, &err);

  if (rc != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "request.tick.failed", CK_E(rc, ck_errctx_msg(&err)));
}

static void tick_done(uv_work_t *wk, int status) {
  ck_wf_timer *t = wk->data;
  (void)status;
  t->busy = 0;
}

static void on_tick(uv_timer_t *h) {
  ck_wf_timer *t = h->data;

  if (t->busy || t->closing || t->rt->draining)
    return;
  t->work.data = t;
  if (uv_queue_work(t->rt->loop, &t->work, tick_work, tick_done) == 0)
    t->busy = 1;
}

ck_err ck_wf_timer_start(ck_coord_rt *rt, unsigned interval_ms,
                         ck_wf_timer **out, ck_errctx *err) {
  ck_wf_timer *t = calloc(1, sizeof *t);

  if (t == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "request timer");
  t->rt = rt;
  if (interval_ms == 0)
    interval_ms = 1000;
  uv_timer_init(rt->loop, &t->timer);
  t->timer.data = t;
  uv_timer_start(&t->timer, on_tick, interval_ms, interval_ms);
  *out = t;
  return CK_OK;
}

void ck_wf_timer_close(ck_wf_timer *t) {
  if (t == NULL || t->closing)
    return;
  t->closing = 1;
  uv_timer_stop(&t->timer);
  uv_close((uv_handle_t *)&t->timer, NULL);
}

void ck_wf_timer_free(ck_wf_timer *t) {
  if (t == NULL)
    return;
  while (t->busy) /* a tick still on the pool */
    uv_run(t->rt->loop, UV_RUN_ONCE);
  free(t);
}
