/* binding.c — an agent's enrollment binding: the group, profiles and SAN
 * patterns of the one-time token it enrolled with.
 *
 * The binding is not copied onto the agent row: the consumed token row
 * keeps it (enroll writes used_by = agent id in the same transaction that
 * creates the agent), so an operator who looks at a token sees exactly what
 * its agent may request. The store has no lookup by used_by yet, so this
 * pages through the tokens, once per authenticated session (not per
 * request). A store read by agent (ck_store_etoken_by_agent, an index on
 * used_by) replaces the loop when it exists. */
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
  ck_arena *arena = ck_arena_new(16384);
  const ck_store_etoken *found = NULL;
  ck_store_etoken *items;
  ck_store_page pg;
  char cursor[256] = "";
  size_t n, i;
  ck_err rc = CK_OK;

  if (arena == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "binding: out of memory");
  for (;;) {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    pg.cursor = cursor[0] != '\0' ? cursor : NULL;
    ck_arena_reset(arena);
    rc = ck_store_etoken_list(s, &pg, arena, &items, &n, err);
    if (rc != CK_OK)
      goto out;
    for (i = 0; i < n && found == NULL; i++)
      if (strcmp(items[i].used_by, agent_id) == 0)
        found = &items[i];
    if (found != NULL || pg.next_cursor == NULL)
      break;
    if (ck_strlcpy(cursor, pg.next_cursor, sizeof cursor) >= sizeof cursor) {
      rc = ck_failf(err, CK_ERR_INTERNAL, "binding: page cursor too long");
      goto out;
    }
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
