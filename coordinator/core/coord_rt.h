/* coord_rt.h — the running coordinator's shared state, handed to every
 * service (REST, health/CA endpoints, gateway, issuance).
 *
 * Threading: fields are set before the loop starts serving and then only
 * read, except where a field says otherwise; the store and the CA set are
 * thread-safe. */
#ifndef CK_COORD_CORE_COORD_RT_H
#define CK_COORD_CORE_COORD_RT_H

#include <stddef.h>
#include <uv.h>

#include "common/util/config.h"
#include "coordinator/core/coord.h"
#include "coordinator/store/store.h"

typedef struct ck_ca_set ck_ca_set;
typedef struct ck_profile_cache ck_profile_cache;
typedef struct ck_validation ck_validation;
typedef struct ck_revoke_plans ck_revoke_plans;
typedef struct ck_gateway ck_gateway;
typedef struct ck_sched ck_sched;
typedef struct ck_acme ck_acme;
typedef struct ck_wf_timer ck_wf_timer;

typedef struct ck_coord_rt {
  uv_loop_t *loop;           /* the one loop */
  ck_coord_settings set;     /* resolved settings */
  ck_config *cfg;            /* the loaded configuration */
  ck_store *store;           /* inventory store (thread-safe) */
  ck_ca_set *cas;            /* CAs with their keys (thread-safe) */
  ck_profile_cache *profiles; /* parsed profiles (thread-safe) */
  ck_validation *validation; /* OCSP/CRL (thread-safe); NULL until run
                                starts it */
  ck_revoke_plans *plans;    /* replace-then-revoke plans (thread-safe);
                                NULL until run starts them */
  ck_gateway *gateway;       /* the agent gateway; NULL until run started
                                it. Other threads may only call
                                ck_gateway_post_command/_command_wait */
  ck_wf_timer *wf_timer;     /* request escalation timer (workflow/
                                request.h); NULL until run starts it */
  ck_acme *acme;             /* the ACME server (acme/acme.h); NULL until
                                run starts it */
  ck_sched *sched;           /* scheduler and notices (sched/sched.h);
                                NULL until run starts it. Other threads may
                                only call ck_sched_get_status/_tick_now */
  /* Rebuilds the HTTPS listener's client-certificate trust (our CAs plus
   * the EST fleets' IDevID anchors, est/tls_trust.c) from the store now.
   * The new TLS context is built on the calling thread (blocks: thread
   * pool) and used for every connection accepted after the call returns;
   * connections already accepted keep theirs. Any thread. NULL until run
   * sets it (EST fleet create/delete then need a SIGHUP). */
  ck_err (*https_trust_reload)(struct ck_coord_rt *rt, ck_errctx *err);
  char *chain_pem;           /* default issuing CA + root, PEM */
  size_t chain_pem_len;
  volatile int ready;        /* every service listening */
  volatile int draining;     /* SIGTERM received */
} ck_coord_rt;

#endif
