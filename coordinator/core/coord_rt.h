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
  char *chain_pem;           /* default issuing CA + root, PEM */
  size_t chain_pem_len;
  volatile int ready;        /* every service listening */
  volatile int draining;     /* SIGTERM received */
} ck_coord_rt;

#endif
