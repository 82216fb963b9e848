/* kpi.h — the certificate-lifecycle KPIs (docs/notices.md "KPIs"):
 * automation coverage, on-time renewal rate, approval latency, rework and
 * reopen rates, certificates expiring without an owner. Computed from the
 * store on demand: the scheduler's "sched.renewal" and "sched.incident"
 * documents, the workflow's requests (workflow/request.h) and the
 * inventory. Reads only; any thread (the REST pool). */
#ifndef CK_COORD_SCHED_KPI_H
#define CK_COORD_SCHED_KPI_H

#include <jansson.h>
#include <stdint.h>

#include "coordinator/store/store.h"

typedef struct ck_kpi {
  int64_t since, now; /* the window: renewals and requests since */
  /* renewals seen by the scheduler (a successor appeared) */
  int64_t renewals, renewals_automated, renewals_on_time, incidents_open;
  double automation_coverage; /* automated / renewals (0..1; -1 none) */
  double on_time_rate;        /* on time / renewals (0..1; -1 none) */
  /* the inventory now */
  int64_t active, expiring_30d, expiring_30d_no_owner, no_owner;
  /* approvals (workflow) */
  int have_workflow;
  int64_t requests, approved, rejected, issued, rework_total, reopen_total,
      requests_with_rework, requests_reopened;
  int64_t latency_p50_s, latency_p90_s, latency_max_s;
  double rework_rate, reopen_rate; /* per request (0..1; -1 none) */
} ck_kpi;

/* Computes the KPIs at now over the window [since, now] (since 0 = all
 * time). CK_ERR_STORE and read errors. */
ck_err ck_kpi_compute(ck_store *s, int64_t since, int64_t now, ck_kpi *out,
                      ck_errctx *err);

/* The KPIs as the JSON of GET /api/v1/kpi (docs/api.md), new reference. */
json_t *ck_kpi_json(const ck_kpi *k);

#endif
