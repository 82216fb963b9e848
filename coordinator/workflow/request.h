/* request.h — admin-mediated issuance requests (docs/approvals.md).
 *
 * A request is a "wf.request" document in the store (one per request, its
 * JSON owned by request.c); each counted approval is a "wf.approval"
 * document whose id is "<request id>/<approver>", written with
 * expect_version 0 so an approver is counted exactly once. States:
 *   pending -> approved -> issued -> closed (acknowledged)
 *   pending -> rejected (closed); pending -> rework -> pending (resubmit)
 *   issued|closed -> pending (reopen)
 * Every transition is one store write with its audit event. Blocking
 * functions (they wait for the store): call them from the thread pool or a
 * CLI process, never the loop thread. */
#ifndef CK_COORD_WORKFLOW_REQUEST_H
#define CK_COORD_WORKFLOW_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/core/coord_rt.h"
#include "coordinator/store/store.h"

#define CK_WF_ID_MAX 48       /* "rq-" + 16 hex digits, with room */
#define CK_WF_TEXT_MAX 4096   /* justification, reason, note */

typedef enum ck_wf_state {
  CK_WF_PENDING = 0, /* waiting for approvals */
  CK_WF_APPROVED,    /* enough approvals; issuance failed or is running */
  CK_WF_REJECTED,    /* closed by a rejection (reason recorded) */
  CK_WF_REWORK,      /* sent back: the requester resubmits */
  CK_WF_ISSUED,      /* certificate issued, waiting for acknowledgement */
  CK_WF_CLOSED,      /* acknowledged: renewal tracking has started */
  CK_WF__MAX
} ck_wf_state;

/* "pending", "approved", ...; "?" out of range. Parse: CK_ERR_PARSE. */
const char *ck_wf_state_name(ck_wf_state st);
ck_err ck_wf_state_parse(const char *text, ck_wf_state *out);

/* Who acts (an API token). Borrowed. */
typedef struct ck_wf_actor {
  const char *actor; /* "token:<name>" */
  const char *name;  /* the token's name */
  const char *role;  /* its role */
  const char *owner; /* role owner: the owner, else NULL/"" */
} ck_wf_actor;

typedef enum ck_wf_action {
  CK_WF_DO_APPROVE = 0,
  CK_WF_DO_REJECT,   /* text = reason (required) */
  CK_WF_DO_REWORK,   /* text = note (required) */
  CK_WF_DO_RESUBMIT, /* text = new justification (optional), csr optional */
  CK_WF_DO_REOPEN,   /* text = reason (required) */
  CK_WF_DO_ACK,      /* text = optional note */
  CK_WF_DO_ISSUE,    /* retry the issuance of an approved request */
} ck_wf_action;

/* One decision or step on request id. */
typedef struct ck_wf_act_in {
  const char *id;
  ck_wf_action action;
  ck_wf_actor who;
  const char *text;            /* see ck_wf_action */
  const char *const *confirm;  /* APPROVE: criteria confirmed */
  size_t n_confirm;
  const uint8_t *csr;          /* RESUBMIT: a new CSR (PEM/DER) or NULL */
  size_t csr_len;
} ck_wf_act_in;

/* Applies in->action to the request. Returns CK_OK with *doc_json set to
 * the request's JSON after the step (malloc'ed, caller frees), or:
 * CK_ERR_NOT_FOUND (no such request), CK_ERR_DENIED (not allowed: the
 * requester approving, a role or name the profile does not list, a
 * criterion not confirmed; message says which), CK_ERR_CONFLICT (the
 * request is not in a state that allows it — e.g. closed — or this
 * approver already approved: counted once), CK_ERR_INVAL (missing reason
 * or note, unknown criterion). Approval by the last required approver
 * issues the certificate (the request becomes issued; when issuance fails
 * the step still succeeds, the request stays approved with the failure in
 * its "error" member, and CK_WF_DO_ISSUE retries it).
 * Audited; refusals go to the security log. Blocking. */
ck_err ck_wf_request_act(ck_coord_rt *rt, const ck_wf_act_in *in,
                         char **doc_json, ck_errctx *err);

/* The JSON of request id (malloc'ed, caller frees): CK_ERR_NOT_FOUND. */
ck_err ck_wf_request_get(ck_store *s, const char *id, char **doc_json,
                         ck_errctx *err);

/* The request's issued chain (leaf first, PEM; malloc'ed) for delivery.
 * CK_ERR_NOT_FOUND (no request), CK_ERR_CONFLICT (not issued yet). */
ck_err ck_wf_request_cert(ck_store *s, const char *id, char **chain_pem,
                          ck_errctx *err);

/* Workflow KPIs over requests created at or after since (unix seconds; 0 =
 * all). latency_* are seconds from submission to the final approval
 * (p50/p90 over approved requests; 0 when none). */
typedef struct ck_wf_kpis {
  int64_t requests, approved, rejected, issued, rework_total, reopen_total,
      requests_with_rework, requests_reopened;
  int64_t latency_p50_s, latency_p90_s, latency_max_s;
} ck_wf_kpis;

/* Computes the KPIs from the stored "wf.request" documents. Reads only;
 * any thread. */
ck_err ck_wf_request_kpis(ck_store *s, int64_t since, ck_wf_kpis *out,
                          ck_errctx *err);

/* Escalates every pending request whose due_at <= now (records the
 * escalation, audits "request.escalate", notes it on the ops log and moves
 * due_at to the next escalation). Returns the number escalated in *n (may
 * be NULL). Blocking (store writes): thread pool, not the loop thread. */
ck_err ck_wf_request_tick(ck_coord_rt *rt, int64_t now, size_t *n,
                          ck_errctx *err);

/* The escalation timer: runs ck_wf_request_tick on the thread pool every
 * interval_ms (0 = 1000) until closed. Used when no scheduler drives the
 * tick. Start and close on the loop thread; free after the loop stopped
 * (waits for a tick in flight). */
typedef struct ck_wf_timer ck_wf_timer;
ck_err ck_wf_timer_start(ck_coord_rt *rt, unsigned interval_ms,
                         ck_wf_timer **out, ck_errctx *err);
void ck_wf_timer_close(ck_wf_timer *t);
void ck_wf_timer_free(ck_wf_timer *t);

#endif
