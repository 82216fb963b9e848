/* sched_scan.h — internals of one scheduler scan, shared by
 * sched_scan.c (the tick: read, plan, record, act), sched_learn.c (what the
 * audit trail teaches: which agent manages what, agents' refusals) and
 * sched_map.c (the small hash map the scan and its cache use). Not for use
 * outside coordinator/sched/. */
#ifndef CK_COORD_SCHED_SCHED_SCAN_H
#define CK_COORD_SCHED_SCHED_SCAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/mem.h"
#include "coordinator/sched/sched_int.h"

#define SEEN_MAX 2000000 /* cache entries before it is dropped */

/* ---------------------------------------------------------- memory cache */

/* Open-addressing map from a 64-bit key (never 0) to a value. */
typedef struct u64map {
  uint64_t *k;
  int64_t *v;
  size_t cap, n;
} u64map;

struct ck__sched_seen {
  u64map noticed; /* item id -> 1: the item exists */
  u64map renewal; /* fp -> 1: the renewal is recorded */
};

typedef struct scert {
  char fp[CK_SHA256_HEX_LEN];
  const char *subject, *sans, *profile, *owner, *key_type;
  int64_t not_before, not_after;
  int managed;
} scert;

typedef struct renew_doc {
  uint64_t key;
  int64_t version, triggered_at, attempts;
  const char *agent, *target, *fp; /* in the scan's arena */
  const char *state;
} renew_doc;

#define ITEM_BATCH 256

/* A certificate an agent manages: its fingerprint, the agent, and the
 * managed certificate id the agent knows it by (the `renew` target). */
typedef struct managed_ref {
  const char *fp, *agent, *cert_id; /* in the scan's arena */
} managed_ref;

typedef struct failed_ans {
  size_t rd;                   /* index in the scan's renew_doc list */
  const char *status, *detail; /* in the scan's arena */
} failed_ans;

typedef struct pend_item {
  char id[CK_SHA256_HEX_LEN + 32];
  const char *owner, *fp; /* in the scan's arena */
  char *doc, *det;        /* malloc'ed JSON */
  int incident;
  int64_t now;
} pend_item;

typedef struct scan {
  ck_sched *s;
  ck_store *st;
  ck_arena *a; /* the whole scan's strings */
  scert *c;
  ck_sched_item *it;
  size_t n, cap;
  renew_doc *rd;
  size_t nrd;
  u64map rd_idx;            /* fp -> index in rd + 1 */
  u64map incident;          /* fp -> 1 */
  pend_item pb[ITEM_BATCH]; /* notice items waiting for their write */
  size_t npb;
  managed_ref *mg; /* "sched.managed": which agent manages what */
  size_t nmg;
  u64map mg_idx;  /* fp -> index in mg + 1 */
  failed_ans *fa; /* agents' refusals of our renewals, applied after
                     planning */
  size_t nfa;
} scan;

/* sched_map.c: FNV-1a of a and "/" and b (never 0); the map (a failed
 * growth just forgets: it is only a cache). */
uint64_t ck__sched_hkey(const char *a, const char *b);
int64_t *ck__sched_map_find(u64map *m, uint64_t key);
void ck__sched_map_set(u64map *m, uint64_t key, int64_t v);
void ck__sched_map_free(u64map *m);

/* sched_scan.c: puts one document (and deletes another of del_kind with
 * id oid) with its audit event in one write; CK_ERR_CONFLICT when the
 * expect_version condition failed. */
ck_err ck__sched_record(scan *sc, const char *kind, const char *id,
                        const char *key, const char *state, int64_t due,
                        json_t *doc, int64_t expect, const char *del_kind,
                        const char *action, const char *otype, const char *oid,
                        json_t *details, ck_errctx *err);
/* sched_scan.c: raises the incident of certificate i (once) with reason. */
void ck__sched_incident(scan *sc, size_t i, int64_t now, const char *reason,
                        ck_errctx *err);

/* sched_learn.c */
void ck__sched_load_cursor(scan *sc);
void ck__sched_save_cursor(scan *sc, int64_t from);
ck_err ck__sched_read_managed(scan *sc, ck_errctx *err);
void ck__sched_read_audit(scan *sc);
void ck__sched_renewal_failed(scan *sc, renew_doc *r, const char *status,
                              const char *detail, int64_t now);

#endif
