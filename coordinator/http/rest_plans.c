/* rest_plans.c — replace-then-revoke over REST (docs/api.md,
 * docs/validation.md): POST .../revoke with "replace_first" makes a plan
 * (coordinator/workflow/revoke_plan.h) after sending the holders
 * `replace-before-revoke`; GET /api/v1/revocation-plans[/{id}] shows the
 * progress per host. Runs on the thread pool (svc_rest.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crl.h"
#include "common/util/clock.h"
#include "common/util/mem.h"
#include "coordinator/http/rest.h"
#include "coordinator/workflow/revoke_plan.h"

static json_t *plan_json(const ck_plan *pl) {
  json_t *hs = json_array();
  size_t i, pending = 0;

  for (i = 0; i < pl->n_holders; i++) {
    pending += !pl->holders[i].done;
    json_array_append_new(hs, json_pack("{s:s,s:s,s:s,s:o}", "agent", pl->holders[i].agent,
                                        "path", pl->holders[i].path, "state",
                                        pl->holders[i].done ? "replaced" : "waiting",
                                        "replaced_at", rest_time(pl->holders[i].done_at)));
  }
  return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:b,s:s,s:I,s:o}", "id",
                   (json_int_t)pl->id, "serial", pl->serial, "fingerprint", pl->fingerprint,
                   "reason", ck_crl_reason_name(pl->reason) ? ck_crl_reason_name(pl->reason) : "?",
                   "state", ck_plan_state_name(pl->state), "actor", pl->actor, "created_at",
                   rest_time(pl->created_at), "deadline", rest_time(pl->deadline),
                   "finished_at", rest_time(pl->finished_at), "force", pl->force, "note",
                   pl->note, "pending", (json_int_t)pending, "holders", hs);
}

void ck__rest_plan_create(rest_call *c, const ck_store_cert *sc, int code, int64_t deadline,
                          int force) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_http_req_arena(c->req);
  ck_store_install *ins;
  ck_store_page pg;
  ck_plan pl, *got = NULL;
  json_t *rep = NULL;
  size_t n = 0, i, j, k = 0, got_n = 0;
  int64_t id = 0;
  ck_err rc;

  memset(&pl, 0, sizeof pl);
  if (c->rt->plans == NULL) {
    rest_problem(c, 503, "unavailable", "revocation plans are not running");
    return;
  }
  if (sc->status == CK_CERT_REVOKED) {
    rest_problemf(c, 409, "conflict", "certificate %s is already revoked", sc->serial_hex);
    return;
  }
  memset(&pg, 0, sizeof pg);
  pg.limit = CK_STORE_PAGE_MAX;
  if ((rc = ck_store_install_list(c->rt->store, sc->fingerprint, NULL, &pg, a, &ins, &n,
                                  &err)) != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  if (n == 0) {
    rest_problemf(c, 409, "conflict",
                  "no agent reports certificate %s installed: nothing to replace first; "
                  "revoke it without replace_first",
                  sc->serial_hex);
    return;
  }
  if ((pl.holders = calloc(n, sizeof *pl.holders)) == NULL) {
    rest_problem_err(c, CK_ERR_NOMEM, "out of memory");
    return;
  }
  for (i = 0; i < n; i++) { /* one holder per (agent, path) */
    for (j = 0; j < k; j++)
      if (strcmp(pl.holders[j].agent, ins[i].agent_id) == 0 &&
          strcmp(pl.holders[j].path, ins[i].path) == 0)
        break;
    if (j < k)
      continue;
    ck_strlcpy(pl.holders[k].agent, ins[i].agent_id, sizeof pl.holders[k].agent);
    ck_strlcpy(pl.holders[k].path, ins[i].path, sizeof pl.holders[k].path);
    k++;
  }
  pl.n_holders = k;
  memcpy(pl.fingerprint, sc->fingerprint, sizeof pl.fingerprint);
  ck_strlcpy(pl.serial, sc->serial_hex, sizeof pl.serial);
  pl.ca_id = sc->ca_id;
  pl.reason = code;
  ck_strlcpy(pl.actor, c->actor, sizeof pl.actor);
  pl.deadline = ck_clock_now() + deadline;
  pl.force = force;
  if ((rc = ck_revoke_plans_add(c->rt->plans, &pl, &id, &err)) != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  rep = ck__rest_replace_holders(c, sc, 0, ck_crl_reason_name(code));
  if ((rc = ck_revoke_plans_get(c->rt->plans, id, 1, &got, &got_n, &err)) != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  snprintf(c->location, sizeof c->location, "/api/v1/revocation-plans/%lld", (long long)id);
  rest_json(c, 202, json_pack("{s:o,s:O}", "plan", plan_json(&got[0]), "replacement", rep));
out:
  json_decref(rep);
  ck_revoke_plans_free_copy(got, got_n);
  free(pl.holders);
}

void ck__rest_plans(rest_call *c, char **segs, int nsegs) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_plan *pls = NULL;
  size_t n = 0, i;
  int64_t id = 0;
  json_t *arr;
  char *end;
  ck_err rc;

  if (!rest_allow(c, CK_R_ANY & ~CK_R(CK_API_OWNER)))
    return;
  if (ck_http_req_method(c->req) != CK_HTTP_GET && ck_http_req_method(c->req) != CK_HTTP_HEAD) {
    rest_problemf(c, 405, "bad-request", "%s is not supported on %s",
                  ck_http_req_method_name(c->req), ck_http_req_path(c->req));
    return;
  }
  if (nsegs > 2) {
    rest_problem(c, 404, "not-found", "no such revocation-plan resource");
    return;
  }
  if (nsegs == 2) {
    id = strtoll(segs[1], &end, 10);
    if (*segs[1] == '\0' || *end != '\0' || id <= 0) {
      rest_problemf(c, 404, "not-found", "no revocation plan '%.40s'", segs[1]);
      return;
    }
  }
  if (c->rt->plans == NULL) {
    rest_problem(c, 503, "unavailable", "revocation plans are not running");
    return;
  }
  if ((rc = ck_revoke_plans_get(c->rt->plans, id, 100, &pls, &n, &err)) != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  if (id != 0) {
    rest_json(c, 200, plan_json(&pls[0]));
  } else {
    arr = json_array();
    for (i = 0; i < n; i++)
      json_array_append_new(arr, plan_json(&pls[i]));
    rest_json(c, 200, json_pack("{s:o}", "items", arr));
  }
  ck_revoke_plans_free_copy(pls, n);
}
