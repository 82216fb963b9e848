/* sched_map.c — the open-addressing hash map (64-bit keys, never 0) the
 * scan uses for its indexes and the scheduler for what earlier scans
 * learnt (sched_scan.h). */
#include <stdlib.h>
#include <string.h>

#include "coordinator/sched/sched_scan.h"

uint64_t ck__sched_hkey(const char *a, const char *b) {
  uint64_t h = 0xcbf29ce484222325ULL;
  const char *p;

  for (p = a; p != NULL && *p; p++)
    h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
  h = (h ^ '/') * 0x100000001b3ULL;
  for (p = b; p != NULL && *p; p++)
    h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
  return h != 0 ? h : 1;
}

int64_t *ck__sched_map_find(u64map *m, uint64_t key) {
  size_t i;

  if (m->cap == 0)
    return NULL;
  for (i = (size_t)(key * 0x9e3779b97f4a7c15ULL) & (m->cap - 1); m->k[i] != 0;
       i = (i + 1) & (m->cap - 1))
    if (m->k[i] == key)
      return &m->v[i];
  return NULL;
}

void ck__sched_map_free(u64map *m) {
  free(m->k);
  free(m->v);
  memset(m, 0, sizeof *m);
}

/* Sets key to v; on OOM the cache just forgets (it is only a cache). */
void ck__sched_map_set(u64map *m, uint64_t key, int64_t v) {
  int64_t *p = ck__sched_map_find(m, key);
  size_t i;

  if (p != NULL) {
    *p = v;
    return;
  }
  if (m->n >= SEEN_MAX)
    ck__sched_map_free(m);
  if (2 * (m->n + 1) > m->cap) {
    u64map g = {0};
    g.cap = m->cap ? 2 * m->cap : 1024;
    g.k = calloc(g.cap, sizeof *g.k);
    g.v = calloc(g.cap, sizeof *g.v);
    if (g.k == NULL || g.v == NULL) {
      ck__sched_map_free(&g);
      return;
    }
    for (i = 0; i < m->cap; i++)
      if (m->k[i] != 0)
        ck__sched_map_set(&g, m->k[i], m->v[i]);
    ck__sched_map_free(m);
    *m = g;
  }
  for (i = (size_t)(key * 0x9e3779b97f4a7c15ULL) & (m->cap - 1); m->k[i] != 0;
       i = (i + 1) & (m->cap - 1))
    ;
  m->k[i] = key;
  m->v[i] = v;
  m->n++;
}

void ck__sched_seen_free(struct ck__sched_seen *seen) {
  if (seen == NULL)
    return;
  ck__sched_map_free(&seen->noticed);
  ck__sched_map_free(&seen->renewal);
  free(seen);
}

/* ------------------------------------------------------------- the estate */
