/* profile_cache.c — parsed profiles in memory (profile_cache.h).
 *
 * A small list of (name, profile, refcount) under a mutex. Entries leave
 * the list on clear; a profile still referenced by an in-flight issuance is
 * freed when its last reference is put. */
#include "coordinator/workflow/profile_cache.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct entry {
  ck_profile *p;
  int refs;      /* cache's own reference (while listed) + borrowers */
  struct entry *next;
} entry;

struct ck_profile_cache {
  ck_store *store;
  uv_mutex_t lock;
  entry *head;   /* listed entries */
  entry *gone;   /* cleared entries still referenced */
};

ck_err ck_profile_cache_new(ck_store *s, ck_profile_cache **out, ck_errctx *err) {
  ck_profile_cache *c = calloc(1, sizeof *c);

  if (c == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "profile cache");
  c->store = s;
  uv_mutex_init(&c->lock);
  *out = c;
  return CK_OK;
}

static void free_list(entry *e) {
  entry *next;

  for (; e != NULL; e = next) {
    next = e->next;
    ck_profile_free(e->p);
    free(e);
  }
}

void ck_profile_cache_free(ck_profile_cache *c) {
  if (c == NULL)
    return;
  free_list(c->head);
  free_list(c->gone);
  uv_mutex_destroy(&c->lock);
  free(c);
}

static entry *find(entry *e, const char *name) {
  for (; e != NULL; e = e->next)
    if (strcmp(e->p->name, name) == 0)
      return e;
  return NULL;
}

ck_err ck_profile_cache_get(ck_profile_cache *c, const char *name,
                            const ck_profile **out, ck_errctx *err) {
  ck_arena *a = NULL;
  ck_store_profile sp;
  ck_profile *p = NULL;
  entry *e;
  ck_err rc;

  uv_mutex_lock(&c->lock);
  e = find(c->head, name);
  if (e != NULL) {
    e->refs++;
    *out = e->p;
    uv_mutex_unlock(&c->lock);
    return CK_OK;
  }
  uv_mutex_unlock(&c->lock);

  /* Load outside the lock; a concurrent loader may win, then ours is
   * dropped. */
  if ((a = ck_arena_new(16 * 1024)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "profile %s", name);
  rc = ck_store_profile_get(c->store, name, 0, a, &sp, err);
  if (rc == CK_OK && sp.deleted)
    rc = ck_setf(err, CK_ERR_NOT_FOUND, "profile '%s' was deleted", name);
  else if (rc == CK_ERR_NOT_FOUND)
    rc = ck_setf(err, CK_ERR_NOT_FOUND, "no profile named '%s'", name);
  if (rc == CK_OK)
    rc = ck_profile_from_json(sp.body, strlen(sp.body), &p, err);
  if (rc == CK_OK)
    p->version = sp.version;
  ck_arena_free(a);
  if (rc != CK_OK)
    return rc;

  uv_mutex_lock(&c->lock);
  e = find(c->head, name);
  if (e == NULL) {
    e = calloc(1, sizeof *e);
    if (e == NULL) {
      uv_mutex_unlock(&c->lock);
      ck_profile_free(p);
      return ck_failf(err, CK_ERR_NOMEM, "profile %s", name);
    }
    e->p = p;
    e->refs = 1;
    e->next = c->head;
    c->head = e;
    p = NULL;
  }
  e->refs++;
  *out = e->p;
  uv_mutex_unlock(&c->lock);
  ck_profile_free(p);
  return CK_OK;
}

void ck_profile_cache_put(ck_profile_cache *c, const ck_profile *p) {
  entry **pp, *e;

  if (p == NULL)
    return;
  uv_mutex_lock(&c->lock);
  for (e = c->head; e != NULL; e = e->next)
    if (e->p == p) {
      e->refs--;
      uv_mutex_unlock(&c->lock);
      return;
    }
  for (pp = &c->gone; *pp != NULL; pp = &(*pp)->next) {
    e = *pp;
    if (e->p == p) {
      if (--e->refs == 0) {
        *pp = e->next;
        ck_profile_free(e->p);
        free(e);
      }
      break;
    }
  }
  uv_mutex_unlock(&c->lock);
}

ck_err ck_profile_cache_clear(ck_profile_cache *c) {
  entry *e, *next;

  uv_mutex_lock(&c->lock);
  for (e = c->head; e != NULL; e = next) {
    next = e->next;
    if (--e->refs == 0) { /* drop the cache's own reference */
      ck_profile_free(e->p);
      free(e);
    } else {
      e->next = c->gone;
      c->gone = e;
    }
  }
  c->head = NULL;
  uv_mutex_unlock(&c->lock);
  return CK_OK;
}
