/* sched.h — the estate-wide scheduler and the notice service
 * (docs/notices.md).
 *
 * Every [sched] tick the scheduler reads the certificates of the inventory
 * (issued here, enrolled over EST/ACME, discovered on hosts), decides with
 * plan.h what is due — renewals to trigger on agents, late renewals to
 * raise as incidents, notices to owners — and records each action in the
 * document store ("sched.*" kinds) with expect_version, so a restarted
 * coordinator neither repeats nor forgets one. Notices are grouped into
 * deliveries (a daily digest per owner and channel, or one per
 * certificate) that worker threads send by SMTP (smtp.h) and webhook
 * (webhook.h), retried with backoff, recorded once sent.
 *
 * Threading: ck_sched_start/_close run on the loop thread; the scan runs on
 * the libuv thread pool, deliveries on the scheduler's own worker threads;
 * ck_sched_get_status and ck_sched_tick_now on any thread. */
#ifndef CK_COORD_SCHED_SCHED_H
#define CK_COORD_SCHED_SCHED_H

#include <stdint.h>

#include "common/util/config.h"
#include "coordinator/core/coord_rt.h"
#include "coordinator/sched/plan.h"

typedef struct ck_sched ck_sched;

/* Schema of the [sched], [notices], [notices-owner:NAME] and
 * [notices-profile:NAME] sections (chained into coordinator.conf's). */
extern const ck_cfg_key ck_sched_cfg_keys[];

/* Counters for GET /api/v1/scheduler; all since this process started. */
typedef struct ck_sched_status {
  int enabled;
  int64_t ticks;            /* scans completed */
  int64_t last_tick_at;     /* when the last scan started (epoch s), 0 none */
  int64_t last_tick_ms;     /* how long it took */
  int64_t last_error;       /* ck_err of the last failed scan, 0 none */
  int64_t certificates;     /* certificates in the last scan's window */
  int64_t renewals;         /* renewal commands triggered */
  int64_t renewals_waiting; /* due in the last scan, held by the rate limit */
  int64_t renewals_seen;    /* successors recorded */
  int64_t incidents;        /* late renewals raised */
  int64_t notices;          /* notice items created */
  int64_t deliveries_queued;
  int64_t deliveries_sent;
  int64_t deliveries_retried; /* failed attempts that will be retried */
  int64_t deliveries_failed;  /* given up after retry_max attempts */
  int64_t rate;               /* configured renewals per minute */
} ck_sched_status;

/* Reads the settings from rt->cfg, starts the tick timer on rt->loop and
 * the delivery workers. Returns CK_ERR_CONFIG (err names the key) for bad
 * settings, CK_ERR_NOMEM. *out is owned by the caller: ck_sched_close on
 * the loop thread, then ck_sched_free after the loop ended — also when
 * start failed (then *out may be set, half started). A disabled scheduler
 * ([sched] enabled = false) still answers status. */
ck_err ck_sched_start(ck_coord_rt *rt, ck_sched **out, ck_errctx *err);

/* Stops the timer and asks the workers to stop after the delivery in
 * progress (they are joined by ck_sched_free). Loop thread; NULL no-op. */
void ck_sched_close(ck_sched *s);

/* Joins the workers and frees s. After the loop ended (a scan in flight
 * on the pool has finished by then). NULL is a no-op. */
void ck_sched_free(ck_sched *s);

/* Copies the counters. Any thread. */
void ck_sched_get_status(ck_sched *s, ck_sched_status *out);

/* Runs one scan at time now, blocking (thread pool or tests, never the
 * loop thread), then wakes the workers. */
ck_err ck_sched_tick_now(ck_sched *s, int64_t now, ck_errctx *err);

#endif
