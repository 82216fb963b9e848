/* kpi.c — KPIs (kpi.h) from what the scheduler and the workflow record:
 *   automation coverage  renewals whose successor came without a person
 *                        (agent, EST/ACME client) / all renewals seen
 *   on-time rate         renewals whose successor was valid before the old
 *                        certificate expired / all renewals seen
 *   approvals            ck_wf_request_kpis (latency, rework, reopen)
 *   no owner             active certificates without an owner, and those
 *                        of them expiring within 30 days */
#include "coordinator/sched/kpi.h"

#include <string.h>

#include "common/util/mem.h"
#include "coordinator/sched/sched_int.h"
#include "coordinator/workflow/request.h"

static ck_err count(ck_store *s, const char *kind, const char *state,
                    int64_t since, int64_t *out, ck_errctx *err) {
  ck_doc_filter f;
  int64_t all = 0, before = 0;
  ck_err rc;

  memset(&f, 0, sizeof f);
  f.kind = kind;
  f.state = state;
  if ((rc = ck_store_doc_count(s, &f, &all, err)) != CK_OK)
    return rc;
  if (since > 0) {
    f.due_before = since;
    if ((rc = ck_store_doc_count(s, &f, &before, err)) != CK_OK)
      return rc;
  }
  *out = all - before;
  return CK_OK;
}

static ck_err inventory(ck_store *s, int64_t now, ck_kpi *k, ck_errctx *err) {
  ck_arena *a = ck_arena_new(1 << 16);
  ck_cert_filter f;
  ck_store_page pg;
  ck_store_cert *c = NULL;
  char cursor[512] = "";
  size_t n, i;
  ck_err rc = CK_OK;

  if (a == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "kpi");
  memset(&f, 0, sizeof f);
  f.by = CK_CERTQ_EXPIRING;
  f.from = now;
  f.until = INT64_MAX / 2;
  do {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    pg.cursor = cursor[0] ? cursor : NULL;
    ck_arena_reset(a);
    if ((rc = ck_store_cert_list(s, &f, &pg, a, &c, &n, err)) != CK_OK)
      break;
    for (i = 0; i < n; i++) {
      int no_owner = c[i].owner[0] == '\0';
      int soon = c[i].not_after < now + 30 * 86400LL;
      k->active++;
      k->no_owner += no_owner;
      k->expiring_30d += soon;
      k->expiring_30d_no_owner += soon && no_owner;
    }
    if (pg.next_cursor == NULL ||
        ck_strlcpy(cursor, pg.next_cursor, sizeof cursor) >= sizeof cursor)
      cursor[0] = '\0';
  } while (cursor[0] != '\0');
  ck_arena_free(a);
  return rc;
}

static double ratio(int64_t a, int64_t b) {
  return b > 0 ? (double)a / (double)b : -1.0;
}

ck_err ck_kpi_compute(ck_store *s, int64_t since, int64_t now, ck_kpi *k,
                      ck_errctx *err) {
  static const char *const states[] = {"auto-ontime", "auto-late",
                                       "manual-ontime", "manual-late"};
  ck_wf_kpis wf;
  int64_t v[4];
  size_t i;
  ck_err rc;

  memset(k, 0, sizeof *k);
  k->since = since;
  k->now = now;
  for (i = 0; i < 4; i++)
    if ((rc = count(s, CK_SCHED_DOC_RENEWAL, states[i], since, &v[i], err)) !=
        CK_OK)
      return rc;
  k->renewals = v[0] + v[1] + v[2] + v[3];
  k->renewals_automated = v[0] + v[1];
  k->renewals_on_time = v[0] + v[2];
  k->automation_coverage = ratio(k->renewals_automated, k->renewals);
  k->on_time_rate = ratio(k->renewals_on_time, k->renewals);
  if ((rc = count(s, CK_SCHED_DOC_INCIDENT, NULL, 0, &k->incidents_open,
                  err)) != CK_OK)
    return rc;
  if ((rc = inventory(s, now, k, err)) != CK_OK)
    return rc;
  memset(&wf, 0, sizeof wf);
  if (ck_wf_request_kpis(s, since, &wf, err) == CK_OK) {
    k->have_workflow = 1;
    k->requests = wf.requests;
    k->approved = wf.approved;
    k->rejected = wf.rejected;
    k->issued = wf.issued;
    k->rework_total = wf.rework_total;
    k->reopen_total = wf.reopen_total;
    k->requests_with_rework = wf.requests_with_rework;
    k->requests_reopened = wf.requests_reopened;
    k->latency_p50_s = wf.latency_p50_s;
    k->latency_p90_s = wf.latency_p90_s;
    k->latency_max_s = wf.latency_max_s;
    k->rework_rate = ratio(wf.requests_with_rework, wf.requests);
    k->reopen_rate = ratio(wf.requests_reopened, wf.requests);
  } else {
    ck_errctx_clear(err);
    k->rework_rate = k->reopen_rate = -1.0;
  }
  return CK_OK;
}

/* A ratio as a JSON number, or null when there is nothing to divide. */
static json_t *rjson(double r) {
  return r < 0 ? json_null() : json_real((double)(long)(r * 10000.0) / 10000.0);
}

json_t *ck_kpi_json(const ck_kpi *k) {
  json_t *o = json_object();

  if (o == NULL)
    return NULL;
  json_object_set_new(o, "since", json_integer(k->since));
  json_object_set_new(o, "now", json_integer(k->now));
  json_object_set_new(
      o, "renewals",
      json_pack("{s:I,s:I,s:I,s:o,s:o,s:I}", "total", (json_int_t)k->renewals,
                "automated", (json_int_t)k->renewals_automated, "on_time",
                (json_int_t)k->renewals_on_time, "automation_coverage",
                rjson(k->automation_coverage), "on_time_rate",
                rjson(k->on_time_rate), "incidents_open",
                (json_int_t)k->incidents_open));
  json_object_set_new(
      o, "inventory",
      json_pack("{s:I,s:I,s:I,s:I}", "active", (json_int_t)k->active,
                "without_owner", (json_int_t)k->no_owner, "expiring_30d",
                (json_int_t)k->expiring_30d, "expiring_30d_without_owner",
                (json_int_t)k->expiring_30d_no_owner));
  if (k->have_workflow)
    json_object_set_new(
        o, "approvals",
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:{s:I,s:I,s:I}}",
                  "requests", (json_int_t)k->requests, "approved",
                  (json_int_t)k->approved, "rejected", (json_int_t)k->rejected,
                  "issued", (json_int_t)k->issued, "rework_total",
                  (json_int_t)k->rework_total, "reopen_total",
                  (json_int_t)k->reopen_total, "requests_with_rework",
                  (json_int_t)k->requests_with_rework, "requests_reopened",
                  (json_int_t)k->requests_reopened, "rework_rate",
                  rjson(k->rework_rate), "reopen_rate", rjson(k->reopen_rate),
                  "latency_s", "p50", (json_int_t)k->latency_p50_s, "p90",
                  (json_int_t)k->latency_p90_s, "max",
                  (json_int_t)k->latency_max_s));
  else
    json_object_set_new(o, "approvals", json_null());
  return o;
}
