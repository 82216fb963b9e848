/* invindex.h — what priv keeps of the last inventory it sent: per sendable
 * finding (inventory.h) its key (path, index) and a 64-bit digest of every
 * field an inventory carries, the paths packed in one buffer. About 16
 * bytes plus the path per finding, instead of the findings themselves with
 * their DER (~1.3 KB each): priv scans again from disk when it needs the
 * findings (a full inventory, or a watched change) and diffs the fresh scan
 * against the index to build a delta (one merge walk: paths are stored
 * front-coded, ~7 bytes per path under a common root).
 *
 *   ck_invindex ix = {0};
 *   after a full inventory of d was sent: ck_invindex_build(&ix, &d);
 *   on a change: scan → cur; ck_invindex_delta(&ix, &cur, &changed,
 *     &removed, &n) → send DELTA; ck_invindex_build(&ix, &cur);
 *   ck_invindex_free(&ix);
 *
 * "Changed" means what ck_inventory_delta means: new, or different in a
 * field that is sent (the DER is covered by the fingerprint). Two different
 * findings with the same digest would hide a change: FNV-1a 64, so one in
 * 2^64 per changed finding. */
#ifndef CK_AGENT_RUN_INVINDEX_H
#define CK_AGENT_RUN_INVINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "agent/discover/discover.h"
#include "common/util/err.h"

typedef struct ck_invindex_ent {
  uint64_t digest; /* ck_invindex_digest of the finding */
  uint32_t path;   /* offset of the path's record in paths (equal for the
                      entries of one path) */
  uint32_t index;  /* ck_finding.index */
} ck_invindex_ent;

/* Zero-initialise; entries sorted by (path, index). */
typedef struct ck_invindex {
  ck_invindex_ent *v; /* owned */
  size_t n;
  char *paths; /* owned: each distinct path once, front-coded in order
                  (invindex.c): read with ck_invindex_path or a delta */
  size_t paths_len;
} ck_invindex;

/* Digest of every field of f that an inventory sends (the fields
 * inventory.c compares for deltas). */
uint64_t ck_invindex_digest(const ck_finding *f);

/* Replaces ix with the sendable findings of d. On failure ix is unchanged.
 * Errors: CK_ERR_NOMEM, CK_ERR_INVAL (paths over 4 GiB in total). */
ck_err ck_invindex_build(ck_invindex *ix, const ck_discover *d,
                         ck_errctx *err);

/* Like ck_inventory_delta(old, cur) with ix standing for old: the sendable
 * findings of cur that are new or differ, with every other finding of
 * their path, are deep-copied into *changed (zeroed by the caller; ck_discover_free it also on failure); paths of ix
 * that hold no sendable finding in cur go into *removed (free with
 * ck_inventory_removed_free; NULL when none). Errors: CK_ERR_INVAL,
 * CK_ERR_NOMEM. */
ck_err ck_invindex_delta(const ck_invindex *ix, const ck_discover *cur,
                         ck_discover *changed, char ***removed,
                         size_t *n_removed, ck_errctx *err);

/* The path of entry i, malloc'ed (caller frees), NULL if i is out of range
 * or on OOM. Decodes from the first path: O(size of the index), for tests
 * and diagnostics. */
char *ck_invindex_path(const ck_invindex *ix, size_t i);

/* Heap bytes held by ix (for logs and the footprint figures). */
size_t ck_invindex_bytes(const ck_invindex *ix);

/* Frees what ix holds and zeroes it. NULL is a no-op. */
void ck_invindex_free(ck_invindex *ix);

#endif
