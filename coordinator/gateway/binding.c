/* binding.c — an agent's enrollment binding: the group, profiles and SAN
 * patterns of the one-time token it enrolled with.
 *
 * The binding is not copied onto the agent row: the consumed token row
 * keeps it (enroll writes used_by = agent id in the same transaction that
 * creates the agent), so an operator who looks at a token sees exactly what
 * its agent may request. It is read once per authenticated session (not per
 * request) with ck_store_etoken_by_agent (index on used_by). */
#include <stdlib.h>
#include <string.h>

#include "coordinator/gateway/gw_int.h"

static char *dup_or_empty(const char *s) {
  return strdup(s != NULL ? s : "");
}

void ck__gw_agent_clear(gw_agent *a) {
  free(a->id);
  free(a->name);
  free(a->group);
  free(a->platform);
  free(a->version);
  free(a->profiles);
  free(a->san_patterns);
  free(a->token_id);
  memset(a, 0, sizeof *a);
}

ck_err ck__gw_binding_load(ck_store *s, const char *agent_id, gw_agent *a,
                           ck_errctx *err) {
  ck_arena *arena = ck_arena_new(4096);
  ck_store_etoken tok;
  const ck_store_etoken *found = NULL;
  ck_err rc;

  if (arena == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "binding: out of memory");
  rc = ck_store_etoken_by_agent(s, agent_id, arena, &tok, err);
  if (rc == CK_OK) {
    found = &tok;
  } else if (rc == CK_ERR_NOT_FOUND) {
    ck_errctx_clear(err);
    rc = CK_OK;
  } else {
    goto out;
  }
  a->profiles = dup_or_empty(found != NULL ? found->profiles : NULL);
  a->san_patterns = dup_or_empty(found != NULL ? found->san_patterns : NULL);
  a->token_id = dup_or_empty(found != NULL ? found->id : NULL);
  if (a->profiles == NULL || a->san_patterns == NULL || a->token_id == NULL)
    rc = ck_failf(err, CK_ERR_NOMEM, "binding: out of memory");
out:
  ck_arena_free(arena);
  return rc;
}
