/* priv_est.h — EST simplereenroll for priv (agent/run/priv_est.c): a
 * renewal over EST authenticates with the certificate being renewed, whose
 * key only priv may read, so priv runs it through the short-lived helper
 * process of est_helper.h. priv offers each `csr` of its managed
 * certificates here first; what is not taken goes to net, which enrolls
 * with the fleet secret or the IDevID (net_est.c). docs/internals/agent.md
 * "EST mode". Single-threaded: priv's loop. */
#ifndef CK_AGENT_RUN_PRIV_EST_H
#define CK_AGENT_RUN_PRIV_EST_H

#include <uv.h>

#include "agent/run/agentconf.h"
#include "common/wire/wire.h"

typedef struct ck_priv_est ck_priv_est;

/* Receives the answer to a taken csr (a `cert` or an `error` with the
 * csr's id), valid during the call: priv hands it to ck_managed_on_msg. */
typedef void (*ck_priv_est_deliver_fn)(const ck_wire_msg *m, void *arg);

/* Creates the re-enrollment runner for cfg's [est] (cfg borrowed for the
 * runner's life). *out is caller-owned (ck_priv_est_close). */
ck_err ck_priv_est_new(uv_loop_t *loop, const ck_agentconf *cfg,
                       ck_priv_est_deliver_fn deliver, void *arg,
                       ck_priv_est **out, ck_errctx *err);

/* Offers a `csr` (m->id already set): returns 1 when it was taken — a
 * renewal (replaces set) of a [cert:ID] whose installed certificate is the
 * one replaced and still valid: the helper is started with that
 * certificate and key, and deliver gets the answer later (a `cert`, or an
 * `error` also when the helper fails) — else 0 (send it to net). */
int ck_priv_est_take(ck_priv_est *pe, const ck_wire_msg *m);

/* Drops the answers of requests in flight, kills their helpers and frees
 * pe (the handles close on the loop). NULL: no-op. */
void ck_priv_est_close(ck_priv_est *pe);

#endif
