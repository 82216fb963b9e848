/* rest_kpi.c — GET /api/v1/kpi (lifecycle KPIs, coordinator/sched/kpi.h)
 * and GET /api/v1/scheduler (the scheduler's counters since start-up and
 * the notice deliveries by state, from the store); docs/api.md "KPIs" and
 * "Scheduler". Read-only; any role but owner. */
#include <string.h>

#include "common/util/clock.h"
#include "coordinator/http/rest.h"
#include "coordinator/sched/kpi.h"
#include "coordinator/sched/sched.h"

static int get_only(rest_call *c) {
  int m = ck_http_req_method(c->req);

  if (m == CK_HTTP_GET || m == CK_HTTP_HEAD)
    return 1;
  rest_problemf(c, 405, "bad-request", "%s is not supported on %s",
                ck_http_req_method_name(c->req), ck_http_req_path(c->req));
  return 0;
}

void ck__rest_kpi(rest_call *c, char **segs, int nsegs) {
  ck_errctx err = CK_ERRCTX_INIT;
  const char *q;
  int64_t now = ck_clock_now(), since = 0, d;
  ck_kpi k;
  ck_err rc;

  (void)segs;
  if (!rest_allow(c, CK_R_ANY & ~CK_R(CK_API_OWNER)) || !get_only(c))
    return;
  if (nsegs != 1) {
    rest_problem(c, 404, "not-found", "no such KPI resource (try kpi)");
    return;
  }
  if ((q = rest_query(c, "since")) != NULL) {
    if (ck_duration_parse(q, &d) == CK_OK && d > 0)
      since = now - d;
    else if (ck_time_parse_rfc3339(q, &since) != CK_OK) {
      rest_problemf(c, 400, "bad-request",
                    "since must be a duration (30d) or an RFC 3339 time, not "
                    "'%.64s'",
                    q);
      return;
    }
  }
  if ((rc = ck_kpi_compute(c->rt->store, since, now, &k, &err)) != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  rest_json(c, 200, ck_kpi_json(&k));
}

static json_t *count_states(ck_store *s, const char *kind,
                            const char *const *states) {
  json_t *o = json_object();
  ck_doc_filter f;
  size_t i;

  for (i = 0; states[i] != NULL; i++) {
    int64_t n = 0;
    memset(&f, 0, sizeof f);
    f.kind = kind;
    f.state = states[i];
    if (ck_store_doc_count(s, &f, &n, NULL) != CK_OK)
      n = -1;
    json_object_set_new(o, states[i], json_integer(n));
  }
  return o;
}

void ck__rest_scheduler(rest_call *c, char **segs, int nsegs) {
  static const char *const dstates[] = {"pending", "sending", "sent", "failed",
                                        NULL};
  static const char *const istates[] = {"pending", "queued", "undeliverable",
                                        NULL};
  ck_sched_status st;
  json_t *o;

  (void)segs;
  if (!rest_allow(c, CK_R_ANY & ~CK_R(CK_API_OWNER)) || !get_only(c))
    return;
  if (nsegs != 1) {
    rest_problem(c, 404, "not-found",
                 "no such scheduler resource (try scheduler)");
    return;
  }
  if (c->rt->sched == NULL) {
    rest_problem(c, 503, "unavailable", "the scheduler is not running");
    return;
  }
  ck_sched_get_status(c->rt->sched, &st);
  o = json_pack(
      "{s:b,s:I,s:o,s:I,s:s?,s:I,s:I,s:{s:I,s:I,s:I},s:I,s:I,s:{s:I,s:I,s:I,"
      "s:I}}",
      "enabled", st.enabled, "ticks", (json_int_t)st.ticks, "last_tick_at",
      st.last_tick_at ? rest_time(st.last_tick_at) : json_null(),
      "last_tick_ms", (json_int_t)st.last_tick_ms, "last_error",
      st.last_error ? ck_err_name((ck_err)st.last_error) : NULL, "certificates",
      (json_int_t)st.certificates, "rate_per_minute", (json_int_t)st.rate,
      "renewals", "triggered", (json_int_t)st.renewals, "waiting",
      (json_int_t)st.renewals_waiting, "seen", (json_int_t)st.renewals_seen,
      "incidents", (json_int_t)st.incidents, "notices", (json_int_t)st.notices,
      "deliveries", "queued", (json_int_t)st.deliveries_queued, "sent",
      (json_int_t)st.deliveries_sent, "retried",
      (json_int_t)st.deliveries_retried, "failed",
      (json_int_t)st.deliveries_failed);
  if (o == NULL) {
    rest_problem(c, 503, "unavailable", "out of memory");
    return;
  }
  json_object_set_new(o, "stored_deliveries",
                      count_states(c->rt->store, "sched.delivery", dstates));
  json_object_set_new(o, "stored_notices",
                      count_states(c->rt->store, "sched.item", istates));
  rest_json(c, 200, o);
}
