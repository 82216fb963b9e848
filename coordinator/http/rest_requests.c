/* rest_requests.c — /api/v1/requests (admin-mediated issuance requests:
 * submit, list, show, approve, reject, rework, resubmit, reopen, ack,
 * issue, certificate download, KPIs) and /api/v1/policy/explain (what
 * would happen to a request, without issuing). docs/api.md "Requests";
 * the workflow itself is coordinator/workflow/request*.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "coordinator/http/rest.h"
#include "coordinator/workflow/issue.h"
#include "coordinator/workflow/profile_cache.h"
#include "coordinator/workflow/request_int.h"

#define CK_R_SUBMIT                                                            \
  (CK_R(CK_API_ADMIN) | CK_R(CK_API_OPERATOR) | CK_R(CK_API_APPROVER) |     \
   CK_R(CK_API_OWNER))

/* Answers with the request document text (taken). */
static void answer_doc(rest_call *c, int status, char *doc, const char *key,
                       json_t *extra) {
  json_error_t je;
  json_t *o = doc != NULL ? json_loads(doc, 0, &je) : NULL;
  json_t *res = json_object();

  free(doc);
  if (o == NULL || res == NULL) {
    json_decref(o);
    json_decref(res);
    json_decref(extra);
    rest_problem(c, 500, "internal", "request document unreadable");
    return;
  }
  json_object_set_new(res, key, o);
  if (extra != NULL)
    json_object_update(res, extra);
  json_decref(extra);
  rest_json(c, status, res);
}

static void submit(rest_call *c) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_issue_in in;
  ck_issue_out out;
  const char *validity, *just;
  json_t *body, *extra = NULL;
  char *doc = NULL;
  ck_err rc;

  memset(&in, 0, sizeof in);
  memset(&out, 0, sizeof out);
  if (!rest_allow(c, CK_R_SUBMIT))
    return;
  if ((body = rest_body_object(c)) == NULL)
    return;
  if (!ck__rest_issue_read(c, body, &in, &validity, &just))
    goto out;
  if (in.profile == NULL || in.csr == NULL || just == NULL || just[0] == '\0') {
    rest_problem(c, 400, "bad-request",
                 "fields 'profile', 'csr' and 'justification' are required");
    goto out;
  }
  if (strlen(just) > CK_WF_TEXT_MAX) {
    rest_problemf(c, 400, "bad-request", "justification longer than %d bytes", CK_WF_TEXT_MAX);
    goto out;
  }
  if (!ck__rest_issue_who(c, validity, &in))
    goto out;
  in.strength = "human";
  in.justification = just;
  in.always_record = 1;
  if ((rc = ck_issue_run(c->rt, &in, &out, &err)) != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  if (out.wf_id[0] == '\0' ||
      (rc = ck_wf_request_get(c->rt->store, out.wf_id, &doc, &err)) != CK_OK) {
    rest_problem_err(c, out.wf_id[0] == '\0' ? CK_ERR_INTERNAL : rc,
                     out.wf_id[0] == '\0' ? "no request recorded" : ck_errctx_msg(&err));
    goto out;
  }
  snprintf(c->location, sizeof c->location, "/api/v1/requests/%s", out.wf_id);
  if (out.outcome == CK_ISSUE_ISSUED)
    extra = json_pack("{s:s,s:s}", "pem", out.leaf_pem, "chain_pem", out.chain_pem);
  answer_doc(c, out.outcome == CK_ISSUE_PENDING ? 202 : 201, doc, "request", extra);
out:
  ck_issue_out_clear(&out);
  json_decref(body);
}

static void list(rest_call *c) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_page pg;
  ck_doc_filter f;
  ck_store_doc *items = NULL;
  const char *state = rest_query(c, "state");
  ck_wf_state st;
  size_t n = 0, i;
  json_t *arr;
  ck_err rc;

  if (!rest_page(c, &pg))
    return;
  if (state != NULL && ck_wf_state_parse(state, &st) != CK_OK) {
    rest_problemf(c, 400, "bad-request",
                  "state '%.40s' is not one of pending, approved, rejected, rework, "
                  "issued, closed", state);
    return;
  }
  memset(&f, 0, sizeof f);
  f.kind = CK_WF_KIND;
  f.state = state;
  if (c->role == CK_API_OWNER) /* owners see their own requests */
    f.key = c->actor;
  if ((rc = ck_store_doc_list(c->rt->store, &f, &pg, ck_http_req_arena(c->req), &items,
                              &n, &err)) != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  arr = json_array();
  for (i = 0; i < n; i++) {
    json_t *o = ck__wf_parse(items[i].doc, strlen(items[i].doc), NULL);
    if (o == NULL)
      continue;
    json_object_del(o, "cert_pem");
    json_object_del(o, "csr");
    json_object_set_new(o, "approvals_count",
                        json_integer((json_int_t)json_array_size(json_object_get(o, "approvals"))));
    json_object_set_new(o, "approvals_required",
                        json_integer(ck__wf_int(json_object_get(o, "approval"), "required")));
    json_array_append_new(arr, o);
  }
  rest_json(c, 200, json_pack("{s:o,s:o}", "items", arr, "next_cursor",
                              pg.next_cursor ? json_string(pg.next_cursor) : json_null()));
}

static void kpis(rest_call *c) {
  ck_errctx err = CK_ERRCTX_INIT;
  const char *since_q = rest_query(c, "since");
  int64_t since = 0, d;
  ck_wf_kpis k;
  ck_err rc;

  if (since_q != NULL) {
    if (ck_duration_parse(since_q, &d) != CK_OK || d <= 0) {
      rest_problemf(c, 400, "bad-request", "since '%.40s' is not a duration (e.g. 30d)", since_q);
      return;
    }
    since = ck_clock_now() - d;
  }
  if ((rc = ck_wf_request_kpis(c->rt->store, since, &k, &err)) != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  rest_json(c, 200,
            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:{s:I,s:I,s:I}}",
                      "requests", (json_int_t)k.requests, "approved",
                      (json_int_t)k.approved, "rejected", (json_int_t)k.rejected,
                      "issued", (json_int_t)k.issued, "rework_total",
                      (json_int_t)k.rework_total, "reopen_total",
                      (json_int_t)k.reopen_total, "requests_with_rework",
                      (json_int_t)k.requests_with_rework, "requests_reopened",
                      (json_int_t)k.requests_reopened, "rework_rate",
                      k.requests ? (double)k.requests_with_rework / (double)k.requests : 0.0,
                      "reopen_rate",
                      k.requests ? (double)k.requests_reopened / (double)k.requests : 0.0,
                      "approval_latency_s", "p50", (json_int_t)k.latency_p50_s, "p90",
                      (json_int_t)k.latency_p90_s, "max", (json_int_t)k.latency_max_s));
}

static const struct {
  const char *name;
  ck_wf_action action;
  const char *text_key; /* body member carrying the text */
} STEPS[] = {{"approve", CK_WF_DO_APPROVE, "comment"}, {"reject", CK_WF_DO_REJECT, "reason"},
             {"rework", CK_WF_DO_REWORK, "note"},      {"resubmit", CK_WF_DO_RESUBMIT, "justification"},
             {"reopen", CK_WF_DO_REOPEN, "reason"},    {"ack", CK_WF_DO_ACK, "note"},
             {"issue", CK_WF_DO_ISSUE, "note"}};

static void step(rest_call *c, const char *id, const char *name) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wf_act_in in;
  const char *confirm[32], *csr = NULL;
  json_t *body = NULL, *cv, *v;
  char *doc = NULL;
  size_t i, k;
  int bad = 0;
  ck_err rc;

  memset(&in, 0, sizeof in);
  for (k = 0; k < sizeof STEPS / sizeof STEPS[0] && strcmp(STEPS[k].name, name) != 0; k++)
    ;
  if (k == sizeof STEPS / sizeof STEPS[0]) {
    rest_problemf(c, 404, "not-found", "no request action '%.40s'", name);
    return;
  }
  if (!rest_allow(c, CK_R_SUBMIT))
    return;
  if (ck_http_req_header(c->req, "Content-Type") != NULL) {
    if ((body = rest_body_object(c)) == NULL)
      return;
  } else {
    body = json_object();
  }
  in.id = id;
  in.action = STEPS[k].action;
  in.who.actor = c->actor;
  in.who.name = c->actor + 6; /* after "token:" */
  in.who.role = ck_role_name(c->role);
  in.who.owner = c->owner;
  in.text = rest_str(c, body, STEPS[k].text_key, &bad);
  csr = rest_str(c, body, "csr", &bad);
  if (bad)
    goto out;
  cv = json_object_get(body, "confirm");
  if (cv != NULL) {
    if (!json_is_array(cv) || json_array_size(cv) > 32) {
      rest_problem(c, 400, "bad-request", "'confirm' must be an array of at most 32 strings");
      goto out;
    }
    json_array_foreach(cv, i, v) {
      if (!json_is_string(v)) {
        rest_problem(c, 400, "bad-request", "'confirm' must hold strings");
        goto out;
      }
      confirm[i] = json_string_value(v);
    }
    in.confirm = confirm;
    in.n_confirm = json_array_size(cv);
  }
  if (csr != NULL) {
    in.csr = (const uint8_t *)csr;
    in.csr_len = strlen(csr);
  }
  rc = ck_wf_request_act(c->rt, &in, &doc, &err);
  if (rc != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  answer_doc(c, 200, doc, "request", NULL);
out:
  json_decref(body);
}

static void show(rest_call *c, const char *id) {
  ck_errctx err = CK_ERRCTX_INIT;
  char *doc = NULL;
  ck_err rc = ck_wf_request_get(c->rt->store, id, &doc, &err);

  if (rc != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  answer_doc(c, 200, doc, "request", NULL);
}

static void download(rest_call *c, const char *id) {
  ck_errctx err = CK_ERRCTX_INIT;
  char *pem = NULL;
  ck_err rc = ck_wf_request_cert(c->rt->store, id, &pem, &err);

  if (rc != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  if (rest_query(c, "format") != NULL && strcmp(rest_query(c, "format"), "json") == 0) {
    rest_json(c, 200, json_pack("{s:s,s:s}", "request", id, "chain_pem", pem));
    free(pem);
    return;
  }
  free(c->body);
  c->body = pem;
  c->body_len = strlen(pem);
  c->status = 200;
  c->ctype = "application/pem-certificate-chain";
}

void ck__rest_requests(rest_call *c, char **segs, int nsegs) {
  unsigned m = ck_http_req_method(c->req);

  if (nsegs == 1 && m == CK_HTTP_POST) {
    submit(c);
  } else if (nsegs == 1 && m == CK_HTTP_GET) {
    list(c);
  } else if (nsegs == 2 && m == CK_HTTP_GET && strcmp(segs[1], "kpis") == 0) {
    kpis(c);
  } else if (nsegs == 2 && m == CK_HTTP_GET) {
    show(c, segs[1]);
  } else if (nsegs == 3 && m == CK_HTTP_GET && strcmp(segs[2], "certificate") == 0) {
    download(c, segs[1]);
  } else if (nsegs == 3 && m == CK_HTTP_POST) {
    step(c, segs[1], segs[2]);
  } else {
    rest_problemf(c, 405, "bad-request", "%s is not supported on %s",
                  ck_http_req_method_name(c->req), ck_http_req_path(c->req));
  }
}

/* ------------------------------------------------------- policy explain */

static void explain(rest_call *c) {
  ck_errctx err = CK_ERRCTX_INIT;
  const ck_profile *prof = NULL;
  ck_profile_request req;
  ck_profile_verdict v;
  ck_csr *csr = NULL;
  ck_route_in ri;
  ck_route route;
  const char *pname, *csr_text, *ident, *validity, *group;
  ck_id_strength st = CK_IDS_API_TOKEN;
  json_t *body, *res;
  int bad = 0;
  ck_err rc;

  memset(&v, 0, sizeof v);
  memset(&req, 0, sizeof req);
  if ((body = rest_body_object(c)) == NULL)
    return;
  pname = rest_str(c, body, "profile", &bad);
  csr_text = rest_str(c, body, "csr", &bad);
  ident = rest_str(c, body, "identity", &bad);
  validity = rest_str(c, body, "validity", &bad);
  group = rest_str(c, body, "group", &bad);
  if (bad)
    goto out;
  if (pname == NULL || csr_text == NULL) {
    rest_problem(c, 400, "bad-request", "fields 'profile' and 'csr' are required");
    goto out;
  }
  if (ident != NULL && ck_id_strength_parse(ident, &st) != CK_OK) {
    rest_problemf(c, 400, "bad-request",
                  "identity '%.40s' is not one of human, api-token, acme-eab, est-idevid, "
                  "agent-mtls", ident);
    goto out;
  }
  if (validity != NULL && (ck_duration_parse(validity, &req.validity) != CK_OK || req.validity <= 0)) {
    rest_problemf(c, 400, "bad-request", "validity '%.40s' is not a duration (e.g. 30d)", validity);
    goto out;
  }
  rc = ck_csr_parse((const uint8_t *)csr_text, strlen(csr_text), &csr, &err);
  if (rc == CK_OK)
    rc = ck_csr_verify(csr, &err);
  if (rc != CK_OK) {
    rest_problemf(c, 400, "bad-csr", "bad CSR: %s", ck_errctx_msg(&err));
    goto out;
  }
  if ((rc = ck_profile_cache_get(c->rt->profiles, pname, &prof, &err)) != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  req.csr = ck_csr_get_info(csr);
  if (st == CK_IDS_AGENT_MTLS || st == CK_IDS_EST_IDEVID) {
    req.who.kind = CK_PROFILE_REQ_AGENT;
    req.who.id = "explain";
    req.who.group = group != NULL ? group
                    : prof->n_agent_groups > 0 ? prof->agent_groups[0] : "";
  } else {
    req.who.kind = CK_PROFILE_REQ_TOKEN;
    req.who.id = c->actor;
    req.who.role = ck_role_name(c->role);
    req.who.owner = c->role == CK_API_OWNER ? c->owner : NULL;
  }
  rc = ck_profile_check(prof, &req, &v, &err);
  memset(&ri, 0, sizeof ri);
  ri.profile = prof;
  ri.strength = st;
  if (rc == CK_OK) {
    ri.sans = v.sans;
    ri.n_sans = v.n_sans;
    ri.cn = v.subject_cn;
    ri.validity = v.validity;
  } else {
    ri.sans = req.csr->sans;
    ri.n_sans = req.csr->n_sans;
    ri.cn = req.csr->subject_cn;
    ri.validity = req.validity;
  }
  ck_route_classify(&ri, &route);
  res = json_pack("{s:s,s:I,s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}}", "profile",
                  prof->name, "profile_version", (json_int_t)prof->version, "outcome",
                  rc != CK_OK ? "refused" : route.decision == CK_ROUTE_ADMIN ? "admin" : "automatic",
                  "reason", rc != CK_OK ? ck_errctx_msg(&err) : route.reason, "route",
                  "decision", ck_route_decision_name(route.decision), "reason", route.reason,
                  "purpose", ck_purpose_name(route.purpose), "identity",
                  ck_id_strength_name(route.strength), "blast_radius", ck_blast_name(route.blast),
                  "blast_factors", route.blast_why, "mode", ck_approval_mode_name(route.mode),
                  "ca", route.ca, "validity", (json_int_t)route.validity);
  if (res != NULL && rc != CK_OK)
    json_object_set_new(res, "refusal",
                        json_pack("{s:s,s:s}", "rule", ck_profile_rule_name(v.rule), "value", v.value));
  if (res != NULL && prof->routing != NULL && prof->routing->has_approval) {
    const ck_profile_routing *r = prof->routing;
    json_t *ap = json_pack("{s:i,s:[],s:[],s:[]}", "required", (int)r->required, "roles",
                           "named", "criteria");
    size_t i;
    for (i = 0; ap != NULL && i < r->n_roles; i++)
      json_array_append_new(json_object_get(ap, "roles"), json_string(r->roles[i]));
    for (i = 0; ap != NULL && i < r->n_named; i++)
      json_array_append_new(json_object_get(ap, "named"), json_string(r->named[i]));
    for (i = 0; ap != NULL && i < r->n_criteria; i++)
      json_array_append_new(json_object_get(ap, "criteria"), json_string(r->criteria[i]));
    json_object_set_new(res, "approval", ap);
  }
  rest_json(c, 200, res);
out:
  ck_profile_verdict_clear(&v);
  if (prof != NULL)
    ck_profile_cache_put(c->rt->profiles, prof);
  ck_csr_free(csr);
  json_decref(body);
}

void ck__rest_policy(rest_call *c, char **segs, int nsegs) {
  if (nsegs == 2 && strcmp(segs[1], "explain") == 0 &&
      ck_http_req_method(c->req) == CK_HTTP_POST) {
    explain(c);
    return;
  }
  rest_problem(c, 404, "not-found", "the policy resource has only POST /policy/explain");
}
