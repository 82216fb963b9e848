/* revoke_plan.h — replace-then-revoke: a revocation that waits until the
 * hosts holding the certificate have replaced it (docs/validation.md).
 *
 * A plan names a certificate, an RFC 5280 reason, a deadline and the
 * holders (agent + path) the inventory showed when it was made; the caller
 * has already sent them `replace-before-revoke`. A timer checks the
 * waiting plans on the thread pool: a holder is done when the inventory no
 * longer shows the certificate at that agent and path (the agent installed
 * its successor and reported it). When every holder is done the certificate
 * is revoked (store + audit, then OCSP/CRL through ck_validation_revoked).
 * At the deadline a plan with force revokes anyway; without force it stops
 * as "expired" and waits for the operator. Every transition is audited
 * (cert.revoke.planned / cert.revoke / cert.revoke.expired).
 *
 * Plans are kept in memory and in the store (revoke_plans: one JSON row
 * per plan, written with the plan's audit event, again at each holder
 * replaced and at the end): ck_revoke_plans_new loads them, so a restart
 * resumes the waiting ones; a deadline that passed while the coordinator
 * was down is acted on at the first check. Thread-safe; new/close on the
 * loop thread. */
#ifndef CK_COORD_WORKFLOW_REVOKE_PLAN_H
#define CK_COORD_WORKFLOW_REVOKE_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/core/coord_rt.h"

#define CK_PLAN_HOLDERS_MAX 1000
#define CK_PLAN_MAX 10000 /* plans kept (finished ones are dropped first) */

typedef enum ck_plan_state {
  CK_PLAN_WAITING = 0,
  CK_PLAN_REVOKED = 1, /* every holder replaced, then revoked */
  CK_PLAN_FORCED = 2,  /* revoked at the deadline with holders left */
  CK_PLAN_EXPIRED = 3, /* deadline passed without force: not revoked */
  CK_PLAN_FAILED = 4,  /* the revocation itself failed (see note) */
} ck_plan_state;

const char *ck_plan_state_name(ck_plan_state st);

typedef struct ck_plan_holder {
  char agent[CK_STORE_NAME_MAX + 1];
  char path[1024];
  int done;          /* the certificate is gone from there */
  int64_t done_at;
} ck_plan_holder;

/* A plan (snapshots handed out are copies). */
typedef struct ck_plan {
  int64_t id;
  char fingerprint[CK_SHA256_HEX_LEN];
  char serial[130];
  int64_t ca_id;
  int reason;
  char actor[160];
  int64_t created_at, deadline, finished_at;
  int force;
  ck_plan_state state;
  char note[256];
  size_t n_holders;
  ck_plan_holder *holders; /* n_holders */
} ck_plan;

typedef struct ck_revoke_plans ck_revoke_plans;

/* Loads the stored plans, then starts the checker (every check_ms, 0 =
 * 2000) on rt's loop. Fails only when the store cannot be read. */
ck_err ck_revoke_plans_new(ck_coord_rt *rt, unsigned check_ms,
                           ck_revoke_plans **out, ck_errctx *err);

/* Records a waiting plan from *in (copied; id, state, timestamps are
 * set here) and audits cert.revoke.planned. CK_ERR_CONFLICT when a plan
 * for that certificate is already waiting, CK_ERR_LIMIT past CK_PLAN_MAX
 * waiting plans. Any thread but the loop (it waits for the store). */
ck_err ck_revoke_plans_add(ck_revoke_plans *p, const ck_plan *in, int64_t *id,
                           ck_errctx *err);

/* Copies plan id (0: every plan, newest first, at most max) into *out
 * (malloc'ed array, *n entries; free with ck_revoke_plans_free_copy).
 * CK_ERR_NOT_FOUND for an unknown id. */
ck_err ck_revoke_plans_get(ck_revoke_plans *p, int64_t id, size_t max,
                           ck_plan **out, size_t *n, ck_errctx *err);
void ck_revoke_plans_free_copy(ck_plan *plans, size_t n);

/* Stops the timer (loop thread); a check in flight finishes. */
void ck_revoke_plans_close(ck_revoke_plans *p);
/* After the loop stopped. NULL is a no-op. */
void ck_revoke_plans_free(ck_revoke_plans *p);

#endif
