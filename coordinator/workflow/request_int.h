/* request_int.h — what issue.c and the request files share: routing a
 * checked request, recording a wf.request document in the issuance write,
 * finding the same request asked again, and the document helpers
 * (request.c, request_act.c). */
#ifndef CK_COORD_WORKFLOW_REQUEST_INT_H
#define CK_COORD_WORKFLOW_REQUEST_INT_H

#include <jansson.h>

#include "coordinator/policy/profile.h"
#include "coordinator/policy/routing.h"
#include "coordinator/workflow/issue.h"
#include "coordinator/workflow/request.h"

#define CK_WF_KIND "wf.request"
#define CK_WF_APPROVAL_KIND "wf.approval"
#define CK_WF_ESCALATIONS_MAX 10 /* escalations of one request */

/* The issuance in progress, for the hooks below. Borrowed. */
typedef struct ck__wf_ctx {
  ck_coord_rt *rt;
  const ck_issue_in *in;
  const ck_profile *prof;
  const ck_route *route;
  const ck_csr *csr;
} ck__wf_ctx;

/* Routes a request that passed the profile check (v: the names to issue). */
void ck__wf_route(const ck_issue_in *in, const ck_profile *prof,
                  const ck_profile_verdict *v, ck_route *out);

/* Looks for an open request by the same requester for the same profile and
 * CSR. Pending/approved/rework: *done = 1, out PENDING with its ids.
 * Issued/closed: *done = 1, out ISSUED with its certificate (delivery to an
 * agent that asks again). None: *done = 0. */
ck_err ck__wf_find_open(const ck__wf_ctx *c, ck_issue_out *out, int *done,
                        ck_errctx *err);

/* Adds a new wf.request document (pending when sc is NULL, else issued with
 * sc's certificate and ca_chain_pem) and its audit event to w; sets
 * out->wf_id. */
ck_err ck__wf_record(const ck__wf_ctx *c, ck_store_write *w,
                     const ck_store_cert *sc, const char *ca_chain_pem,
                     ck_issue_out *out, ck_errctx *err);

/* Notes the requests-table row of a new pending request on its document
 * (so fulfilment and rejection move that row too). Failures are logged
 * only: the document stays authoritative. */
void ck__wf_link_row(ck_coord_rt *rt, const char *id, int64_t row);

/* Loads request id: *o (new reference) and *version. */
ck_err ck__wf_load(ck_store *s, const char *id, json_t **o, int64_t *version,
                   ck_errctx *err);

/* Parses and validates a stored document (the fields every reader relies
 * on, with their types). NULL when it is not a valid request document. */
json_t *ck__wf_parse(const char *text, size_t len, ck_errctx *err);

/* Puts o as request document (expect_version: see store.h) into w. */
ck_err ck__wf_put(ck_store_write *w, json_t *o, int64_t expect_version,
                  ck_errctx *err);

/* Member helpers: "" / 0 when absent or of another type. */
const char *ck__wf_str(const json_t *o, const char *k);
int64_t ck__wf_int(const json_t *o, const char *k);

/* Audit event for request id inside w; details borrowed (may be NULL). */
ck_err ck__wf_audit(ck_store_write *w, const char *actor, const char *action,
                    const char *id, json_t *details, ck_errctx *err);

#endif
