/* request_act.c — the steps of an admin-mediated request after submission
 * (request.h ck_wf_request_act): approve (N of M, named approvers, roles,
 * criteria, separation of duties, each approver counted once through a
 * wf.approval document written with expect_version 0), reject, rework,
 * resubmit, reopen, acknowledge, and fulfilment through ck_issue_run.
 * Every step is one store write carrying the request document (compare-
 * and-swap on its version) and the audit event; refusals go to the
 * security log. */
#include "coordinator/workflow/request_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"

#define CAS_TRIES 5

char *ck__wf_public_json(json_t *o);

static const char *const ACTION_NAMES[] = {"approve", "reject", "rework",
                                           "resubmit", "reopen", "ack", "issue"};

static int in_list(const json_t *arr, const char *s) {
  size_t i;
  json_t *v;

  if (s == NULL || *s == '\0')
    return 0;
  json_array_foreach(arr, i, v) {
    if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
      return 1;
  }
  return 0;
}

/* Records a refusal on the security log and in err. */
static ck_err refuse(const ck_wf_act_in *in, ck_err code, ck_errctx *err,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static ck_err refuse(const ck_wf_act_in *in, ck_err code, ck_errctx *err,
                     const char *fmt, ...) {
  char msg[600];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ck_log(CK_LOG_SEC, CK_LOG_WARN, "request.refused", CK_S("request", in->id),
         CK_S("action", ACTION_NAMES[in->action]), CK_S("actor", in->who.actor),
         CK_S("role", in->who.role != NULL ? in->who.role : ""), CK_E(code, msg));
  return ck_failf(err, code, "%s", msg);
}

static int is_requester(const json_t *o, const ck_wf_actor *who) {
  return strcmp(ck__wf_str(o, "requester"), who->actor) == 0;
}

/* May who approve/reject/rework this request? */
static int eligible(const json_t *o, const ck_wf_actor *who) {
  const json_t *ap = json_object_get(o, "approval");
  const json_t *esc = json_object_get(o, "escalated_to");

  if (in_list(json_object_get(ap, "roles"), who->role) ||
      in_list(json_object_get(ap, "named"), who->name))
    return 1;
  return ck__wf_int(o, "escalations") > 0 &&
         (in_list(esc, who->role) || in_list(esc, who->name));
}

static const char *state_of(const json_t *o) { return ck__wf_str(o, "state"); }

/* Fulfilment hook: the request's update commits with the certificate. */
typedef struct fulfil_arg {
  json_t *o;
  int64_t version;
  const char *actor;
} fulfil_arg;

static ck_err fulfil_hook(ck_store_write *w, const ck_store_cert *sc,
                          const char *ca_chain_pem, void *arg, ck_errctx *err) {
  fulfil_arg *f = arg;
  size_t plen;
  char *pem = NULL, *chain = NULL;
  json_t *d;
  ck_err rc;

  if ((rc = ck_pem_encode("CERTIFICATE", sc->der, sc->der_len, &pem, &plen)) != CK_OK)
    return ck_failf(err, rc, "request: certificate encoding");
  if ((chain = malloc(plen + strlen(ca_chain_pem) + 1)) == NULL) {
    free(pem);
    return ck_failf(err, CK_ERR_NOMEM, "request");
  }
  memcpy(chain, pem, plen);
  memcpy(chain + plen, ca_chain_pem, strlen(ca_chain_pem) + 1);
  json_object_set_new(f->o, "state", json_string("issued"));
  json_object_set_new(f->o, "cert_fingerprint", json_string(sc->fingerprint));
  json_object_set_new(f->o, "cert_serial", json_string(sc->serial_hex));
  json_object_set_new(f->o, "cert_not_after", json_integer(sc->not_after));
  json_object_set_new(f->o, "cert_pem", json_string(chain));
  json_object_set_new(f->o, "issued_at", json_integer(ck_clock_now()));
  json_object_set_new(f->o, "error", json_string(""));
  json_object_set_new(f->o, "request_row", json_integer(0)); /* moved once */
  free(pem);
  free(chain);
  d = json_pack("{s:s,s:s}", "fingerprint", sc->fingerprint, "serial", sc->serial_hex);
  rc = ck__wf_put(w, f->o, f->version, err);
  if (rc == CK_OK)
    rc = ck__wf_audit(w, f->actor, "request.issue", ck__wf_str(f->o, "id"), d, err);
  json_decref(d);
  return rc;
}

/* Issues an approved request (o at version). On failure the error is noted
 * on the request, which stays approved. */
static ck_err fulfil(ck_coord_rt *rt, json_t *o, int64_t version,
                     const char *actor, ck_errctx *err) {
  ck_errctx ierr = CK_ERRCTX_INIT;
  ck_issue_in in;
  ck_issue_out out;
  fulfil_arg fa = {o, version, actor};
  const char *csr = ck__wf_str(o, "csr");
  ck_err rc;

  memset(&in, 0, sizeof in);
  memset(&out, 0, sizeof out);
  in.csr = (const uint8_t *)csr;
  in.csr_len = strlen(csr);
  in.profile = ck__wf_str(o, "profile");
  in.validity = ck__wf_int(o, "validity");
  in.owner = ck__wf_str(o, "owner")[0] != '\0' ? ck__wf_str(o, "owner") : NULL;
  in.who.actor = ck__wf_str(o, "requester");
  if (ck__wf_str(o, "agent_id")[0] != '\0') {
    in.who.kind = CK_WHO_AGENT;
    in.who.agent_id = ck__wf_str(o, "agent_id");
    in.who.group = ck__wf_str(o, "agent_group");
    in.who.profiles = ck__wf_str(o, "agent_profiles");
    in.who.san_patterns = ck__wf_str(o, "agent_patterns");
  } else {
    in.who.kind = CK_WHO_TOKEN;
    in.who.role = ck__wf_str(o, "requester_role");
    in.who.owner = ck__wf_str(o, "requester_owner")[0] != '\0'
                       ? ck__wf_str(o, "requester_owner")
                       : NULL;
  }
  in.strength = ck__wf_str(o, "identity");
  in.fulfil = ck__wf_str(o, "id");
  in.fulfil_row = ck__wf_int(o, "request_row");
  in.on_issue = fulfil_hook;
  in.on_issue_arg = &fa;
  rc = ck_issue_run(rt, &in, &out, &ierr);
  if (rc == CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "request.issued", CK_S("request", in.fulfil),
           CK_S("fingerprint", out.fingerprint));
  } else if (rc != CK_ERR_CONFLICT) {
    /* note the failure on the request (still approved; `issue` retries) */
    ck_store_write *w = ck_store_write_new();
    json_t *d = json_pack("{s:s}", "error", ck_errctx_msg(&ierr));
    ck_errctx e2 = CK_ERRCTX_INIT;
    json_object_set_new(o, "error", json_string(ck_errctx_msg(&ierr)));
    if (w != NULL && ck__wf_put(w, o, version, &e2) == CK_OK &&
        ck__wf_audit(w, actor, "request.issue.failed", in.fulfil, d, &e2) == CK_OK)
      (void)ck_store_submit_wait(rt->store, w, &e2);
    ck_store_write_free(w);
    json_decref(d);
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "request.issue.failed", CK_S("request", in.fulfil),
           CK_E(rc, ck_errctx_msg(&ierr)));
  }
  if (rc != CK_OK)
    ck_failf(err, rc, "approved, but issuance failed: %s", ck_errctx_msg(&ierr));
  ck_issue_out_clear(&out);
  return rc;
}

/* Verifies a resubmitted CSR and returns its PEM and digest. */
static ck_err new_csr(const ck_wf_act_in *in, char **pem, char hex[CK_SHA256_HEX_LEN],
                      ck_errctx *err) {
  ck_csr *csr = NULL;
  uint8_t h[CK_SHA256_LEN];
  const uint8_t *der;
  size_t der_len, plen;
  ck_err rc;

  rc = ck_csr_parse(in->csr, in->csr_len, &csr, err);
  if (rc == CK_OK)
    rc = ck_csr_verify(csr, err);
  if (rc != CK_OK) {
    rc = ck_failf(err, CK_ERR_BAD_CSR, "bad CSR: %s", ck_errctx_msg(err));
    goto out;
  }
  der = ck_csr_der(csr, &der_len);
  if ((rc = ck_crypto_sha256(der, der_len, h)) != CK_OK ||
      (rc = ck_pem_encode("CERTIFICATE REQUEST", der, der_len, pem, &plen)) != CK_OK) {
    rc = ck_failf(err, rc, "CSR encoding");
    goto out;
  }
  ck_hex_encode(h, sizeof h, hex);
out:
  ck_csr_free(csr);
  return rc;
}

/* Starts a new approval round (resubmit, reopen). */
static void new_round(json_t *o, int64_t now) {
  int64_t after = ck__wf_int(json_object_get(o, "approval"), "escalate_after");

  json_object_set_new(o, "round", json_integer(ck__wf_int(o, "round") + 1));
  json_object_set_new(o, "approvals", json_array());
  json_object_set_new(o, "state", json_string("pending"));
  json_object_set_new(o, "submitted_at", json_integer(now));
  json_object_set_new(o, "approved_at", json_integer(0));
  json_object_set_new(o, "escalations", json_integer(0));
  json_object_set_new(o, "escalated_to", json_array());
  json_object_set_new(o, "due_at", json_integer(after > 0 ? now + after : 0));
}

/* Checks and applies the step to o in memory, adding the approval document
 * to w for APPROVE. *issue_after = 1 when the request must be fulfilled
 * once the write commits. */
static ck_err apply(const ck_wf_act_in *in, json_t *o, ck_store_write *w,
                    json_t *details, int *issue_after, ck_errctx *err) {
  const char *st = state_of(o);
  const char *id = in->id;
  int64_t now = ck_clock_now();
  const char *text = in->text != NULL ? in->text : "";
  json_t *ap = json_object_get(o, "approval"), *crit, *conf;
  size_t i;
  ck_err rc;

  *issue_after = 0;
  if (strlen(text) > CK_WF_TEXT_MAX)
    return refuse(in, CK_ERR_INVAL, err, "text longer than %d bytes", CK_WF_TEXT_MAX);
  switch (in->action) {
  case CK_WF_DO_APPROVE: {
    char aid[CK_STORE_NAME_MAX];
    ck_store_doc d;
    json_t *list = json_object_get(o, "approvals"), *adoc;
    char *atext;
    if (strcmp(st, "pending") != 0)
      return refuse(in, CK_ERR_CONFLICT, err, "request %s is %s: only a pending request can be approved", id, st);
    if (is_requester(o, &in->who))
      return refuse(in, CK_ERR_DENIED, err,
                    "separation of duties: %s requested %s and cannot approve it",
                    in->who.actor, id);
    if (!eligible(o, &in->who))
      return refuse(in, CK_ERR_DENIED, err,
                    "%s (role %s) is not an approver of request %s (profile %s)",
                    in->who.actor, in->who.role, id, ck__wf_str(o, "profile"));
    crit = json_object_get(ap, "criteria");
    for (i = 0; i < in->n_confirm; i++)
      if (!in_list(crit, in->confirm[i]))
        return refuse(in, CK_ERR_INVAL, err, "'%.80s' is not a criterion of request %s",
                      in->confirm[i], id);
    conf = json_array();
    json_array_foreach(crit, i, ap) {
      size_t k;
      int ok = 0;
      for (k = 0; k < in->n_confirm; k++)
        ok |= strcmp(in->confirm[k], json_string_value(ap)) == 0;
      if (!ok) {
        json_decref(conf);
        return refuse(in, CK_ERR_DENIED, err,
                      "approval must confirm criterion '%s' (--confirm %s)",
                      json_string_value(ap), json_string_value(ap));
      }
      json_array_append(conf, ap);
    }
    json_array_foreach(list, i, ap) {
      if (strcmp(ck__wf_str(ap, "by"), in->who.actor) == 0) {
        json_decref(conf);
        return refuse(in, CK_ERR_CONFLICT, err,
                      "%s already approved request %s: an approver counts once",
                      in->who.actor, id);
      }
    }
    adoc = json_pack("{s:s,s:s,s:s,s:I,s:I,s:O}", "request", id, "by", in->who.actor,
                     "role", in->who.role, "round", (json_int_t)ck__wf_int(o, "round"),
                     "at", (json_int_t)now, "confirmed", conf);
    json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:o}", "by", in->who.actor,
                                          "role", in->who.role, "at", (json_int_t)now,
                                          "confirmed", conf));
    atext = adoc != NULL ? json_dumps(adoc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(adoc);
    if (atext == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "approval");
    snprintf(aid, sizeof aid, "%s/%lld/%s", id, (long long)ck__wf_int(o, "round"),
             in->who.actor);
    memset(&d, 0, sizeof d);
    d.kind = CK_WF_APPROVAL_KIND;
    d.id = aid;
    d.key = id;
    d.state = "counted";
    d.doc = atext;
    rc = ck_store_write_doc_put(w, &d, 0, err); /* counted exactly once */
    free(atext);
    if (rc != CK_OK)
      return rc;
    json_object_set_new(details, "approvals", json_integer((json_int_t)json_array_size(list)));
    json_object_set_new(details, "required",
                        json_integer(ck__wf_int(json_object_get(o, "approval"), "required")));
    if ((int64_t)json_array_size(list) >=
        ck__wf_int(json_object_get(o, "approval"), "required")) {
      json_object_set_new(o, "state", json_string("approved"));
      json_object_set_new(o, "approved_at", json_integer(now));
      json_object_set_new(o, "decided_at", json_integer(now));
      json_object_set_new(o, "due_at", json_integer(0));
      json_object_set_new(o, "approval_latency_s",
                          json_integer(now - ck__wf_int(o, "submitted_at")));
      *issue_after = 1;
    }
    return CK_OK;
  }
  case CK_WF_DO_REJECT:
  case CK_WF_DO_REWORK:
    if (strcmp(st, "pending") != 0)
      return refuse(in, CK_ERR_CONFLICT, err, "request %s is %s: only a pending request can be %s",
                    id, st, in->action == CK_WF_DO_REJECT ? "rejected" : "sent back");
    if (is_requester(o, &in->who))
      return refuse(in, CK_ERR_DENIED, err,
                    "separation of duties: %s requested %s and cannot decide on it",
                    in->who.actor, id);
    if (!eligible(o, &in->who))
      return refuse(in, CK_ERR_DENIED, err,
                    "%s (role %s) is not an approver of request %s (profile %s)",
                    in->who.actor, in->who.role, id, ck__wf_str(o, "profile"));
    if (*text == '\0')
      return refuse(in, CK_ERR_INVAL, err, "a %s is required",
                    in->action == CK_WF_DO_REJECT ? "reason" : "note");
    json_object_set_new(details, in->action == CK_WF_DO_REJECT ? "reason" : "note",
                        json_string(text));
    json_object_set_new(o, "decided_at", json_integer(now));
    json_object_set_new(o, "due_at", json_integer(0));
    json_object_set_new(o, "decided_by", json_string(in->who.actor));
    if (in->action == CK_WF_DO_REJECT) {
      json_object_set_new(o, "state", json_string("rejected"));
      json_object_set_new(o, "reason", json_string(text));
      if (ck__wf_int(o, "request_row") > 0) { /* the requests row too */
        if ((rc = ck_store_write_request_set(w, ck__wf_int(o, "request_row"), CK_REQ_REFUSED,
                                             text, NULL, err)) != CK_OK)
          return rc;
        json_object_set_new(o, "request_row", json_integer(0));
      }
    } else {
      json_object_set_new(o, "state", json_string("rework"));
      json_object_set_new(o, "note", json_string(text));
      json_object_set_new(o, "rework_count", json_integer(ck__wf_int(o, "rework_count") + 1));
    }
    return CK_OK;
  case CK_WF_DO_RESUBMIT:
    if (strcmp(st, "rework") != 0)
      return refuse(in, CK_ERR_CONFLICT, err,
                    "request %s is %s: only a request sent back for rework can be resubmitted", id, st);
    if (!is_requester(o, &in->who))
      return refuse(in, CK_ERR_DENIED, err, "only the requester (%s) may resubmit %s",
                    ck__wf_str(o, "requester"), id);
    if (in->csr != NULL && in->csr_len > 0) {
      char *pem = NULL, hex[CK_SHA256_HEX_LEN];
      if ((rc = new_csr(in, &pem, hex, err)) != CK_OK)
        return rc;
      json_object_set_new(o, "csr", json_string(pem));
      json_object_set_new(o, "csr_sha256", json_string(hex));
      json_object_set_new(details, "csr_sha256", json_string(hex));
      free(pem);
    }
    if (*text != '\0')
      json_object_set_new(o, "justification", json_string(text));
    new_round(o, now);
    return CK_OK;
  case CK_WF_DO_REOPEN:
    if (strcmp(st, "issued") != 0 && strcmp(st, "closed") != 0)
      return refuse(in, CK_ERR_CONFLICT, err,
                    "request %s is %s: only a delivered request can be reopened", id, st);
    if (!is_requester(o, &in->who) && strcmp(in->who.role, "admin") != 0)
      return refuse(in, CK_ERR_DENIED, err, "only the requester or an admin may reopen %s", id);
    if (*text == '\0')
      return refuse(in, CK_ERR_INVAL, err, "a reason is required");
    json_object_set_new(details, "reason", json_string(text));
    json_object_set_new(details, "previous_fingerprint",
                        json_string(ck__wf_str(o, "cert_fingerprint")));
    json_object_set_new(o, "reopen_count", json_integer(ck__wf_int(o, "reopen_count") + 1));
    json_object_set_new(o, "note", json_string(text));
    new_round(o, now);
    return CK_OK;
  case CK_WF_DO_ACK:
    if (strcmp(st, "issued") != 0)
      return refuse(in, CK_ERR_CONFLICT, err,
                    "request %s is %s: only an issued request can be acknowledged", id, st);
    if (!is_requester(o, &in->who) && strcmp(in->who.role, "admin") != 0)
      return refuse(in, CK_ERR_DENIED, err, "only the requester or an admin may acknowledge %s", id);
    json_object_set_new(o, "state", json_string("closed"));
    json_object_set_new(o, "closed_at", json_integer(now));
    json_object_set_new(o, "renewal_tracking", json_true());
    json_object_set_new(details, "fingerprint", json_string(ck__wf_str(o, "cert_fingerprint")));
    return CK_OK;
  case CK_WF_DO_ISSUE:
    if (strcmp(st, "approved") != 0)
      return refuse(in, CK_ERR_CONFLICT, err,
                    "request %s is %s: only an approved request can be issued", id, st);
    if (strcmp(in->who.role, "admin") != 0 && strcmp(in->who.role, "operator") != 0 &&
        !eligible(o, &in->who))
      return refuse(in, CK_ERR_DENIED, err, "%s may not issue request %s", in->who.actor, id);
    *issue_after = 1;
    return CK_OK;
  }
  return ck_failf(err, CK_ERR_INVAL, "unknown action");
}

static const char *const AUDIT_ACTIONS[] = {
    "request.approve", "request.reject", "request.rework", "request.resubmit",
    "request.reopen",  "request.ack",    "request.issue.retry"};

ck_err ck_wf_request_act(ck_coord_rt *rt, const ck_wf_act_in *in,
                         char **doc_json, ck_errctx *err) {
  ck_store_write *w = NULL;
  json_t *o = NULL, *details = NULL;
  int64_t version = 0;
  int issue_after = 0, tries;
  ck_err rc = CK_OK;

  *doc_json = NULL;
  if (in == NULL || in->id == NULL || in->who.actor == NULL || in->who.role == NULL ||
      (unsigned)in->action > CK_WF_DO_ISSUE)
    return ck_failf(err, CK_ERR_INVAL, "request step: missing arguments");
  for (tries = 0; tries < CAS_TRIES; tries++) {
    json_decref(o);
    json_decref(details);
    ck_store_write_free(w);
    o = details = NULL;
    w = NULL;
    if ((rc = ck__wf_load(rt->store, in->id, &o, &version, err)) != CK_OK)
      goto out;
    if ((details = json_pack("{s:s,s:s}", "from", state_of(o), "profile",
                             ck__wf_str(o, "profile"))) == NULL ||
        (w = ck_store_write_new()) == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "request step");
      goto out;
    }
    if ((rc = apply(in, o, w, details, &issue_after, err)) != CK_OK)
      goto out;
    if (in->action == CK_WF_DO_ISSUE)
      break; /* nothing to write before fulfilment */
    json_object_set_new(details, "to", json_string(state_of(o)));
    if ((rc = ck__wf_put(w, o, version, err)) != CK_OK ||
        (rc = ck__wf_audit(w, in->who.actor, AUDIT_ACTIONS[in->action], in->id,
                           details, err)) != CK_OK)
      goto out;
    rc = ck_store_submit_wait(rt->store, w, err);
    if (rc != CK_ERR_CONFLICT)
      break;
    /* a concurrent step changed the request, or this approver's approval
     * was just counted: read again and re-decide */
  }
  if (rc == CK_ERR_CONFLICT) {
    rc = ck_failf(err, CK_ERR_CONFLICT, "request %s changed concurrently; try again", in->id);
    goto out;
  }
  if (rc != CK_OK)
    goto out;
  if (in->action != CK_WF_DO_ISSUE)
    version++; /* the put above */
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "request.step", CK_S("request", in->id),
         CK_S("action", ACTION_NAMES[in->action]), CK_S("actor", in->who.actor),
         CK_S("state", state_of(o)));
  if (issue_after) {
    ck_errctx ferr = CK_ERRCTX_INIT;
    /* a failed issuance is noted on the request (state approved, "error"),
     * which is the answer: the step itself (the approval) committed */
    ck_err frc = fulfil(rt, o, version, in->who.actor, &ferr);
    json_decref(o);
    o = NULL;
    if (frc != CK_OK && in->action == CK_WF_DO_ISSUE) { /* the retry failed */
      rc = ck_failf(err, frc, "%s", ck_errctx_msg(&ferr));
      goto out;
    }
    if ((rc = ck__wf_load(rt->store, in->id, &o, &version, err)) != CK_OK)
      goto out;
  }
  if ((*doc_json = ck__wf_public_json(o)) == NULL)
    rc = ck_failf(err, CK_ERR_NOMEM, "request");
out:
  json_decref(o);
  json_decref(details);
  ck_store_write_free(w);
  return rc;
}
