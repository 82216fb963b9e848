/* invindex.c — the compact index of the last inventory sent (invindex.h):
 * digests of findings keyed by (path, index), diffed against a fresh scan. */
#include "agent/run/invindex.h"

#include <stdlib.h>
#include <string.h>

#include "agent/discover/inventory.h"

#define CK__IX_FNV_OFF 14695981039346656037ull
#define CK__IX_FNV_PRIME 1099511628211ull

/* The findings an inventory carries: inventory.c's rule (certificates, and
 * PKCS#12 files, read or not). */
static int ck__ix_sendable(const ck_finding *f) {
  return (f->has_cert && strcmp(f->kind, "certificate") == 0) ||
         strcmp(f->kind, "pkcs12") == 0;
}

static uint64_t ck__ix_bytes(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  size_t i;

  for (i = 0; i < n; i++) {
    h ^= b[i];
    h *= CK__IX_FNV_PRIME;
  }
  return h;
}

static uint64_t ck__ix_u64(uint64_t h, uint64_t v) {
  unsigned char b[8];
  int i;

  for (i = 0; i < 8; i++)
    b[i] = (unsigned char)(v >> (8 * i));
  return ck__ix_bytes(h, b, sizeof b);
}

/* Length-prefixed, so ("ab","c") and ("a","bc") differ; NULL differs from
 * "". */
static uint64_t ck__ix_str(uint64_t h, const char *s) {
  if (s == NULL)
    return ck__ix_u64(h, UINT64_MAX);
  h = ck__ix_u64(h, strlen(s));
  return ck__ix_bytes(h, s, strlen(s));
}

uint64_t ck_invindex_digest(const ck_finding *f) {
  uint64_t h = CK__IX_FNV_OFF;
  size_t i;

  h = ck__ix_str(h, f->kind);
  h = ck__ix_str(h, f->format);
  h = ck__ix_u64(h, (uint64_t)f->has_cert);
  h = ck__ix_str(h, f->fingerprint);
  h = ck__ix_str(h, f->subject);
  h = ck__ix_str(h, f->issuer);
  h = ck__ix_str(h, f->serial);
  h = ck__ix_u64(h, (uint64_t)f->not_before);
  h = ck__ix_u64(h, (uint64_t)f->not_after);
  h = ck__ix_str(h, f->sig_alg);
  h = ck__ix_u64(h, (uint64_t)f->is_ca);
  h = ck__ix_str(h, f->key_type);
  h = ck__ix_u64(h, f->key_bits);
  h = ck__ix_str(h, f->key_path);
  h = ck__ix_u64(h, (uint64_t)(int64_t)f->key_match);
  h = ck__ix_u64(h, (uint64_t)f->has_stat);
  h = ck__ix_str(h, f->owner);
  h = ck__ix_str(h, f->group);
  h = ck__ix_u64(h, f->mode);
  h = ck__ix_u64(h, f->risks);
  h = ck__ix_str(h, f->error);
  h = ck__ix_u64(h, f->n_sans);
  for (i = 0; i < f->n_sans; i++)
    h = ck__ix_str(h, f->sans[i]);
  h = ck__ix_u64(h, f->n_svcs);
  for (i = 0; i < f->n_svcs; i++) {
    h = ck__ix_str(h, f->svcs[i].service);
    h = ck__ix_str(h, f->svcs[i].conf);
    h = ck__ix_u64(h, f->svcs[i].line);
  }
  h = ck__ix_u64(h, f->n_endpoints);
  for (i = 0; i < f->n_endpoints; i++)
    h = ck__ix_str(h, f->endpoints[i]);
  return h;
}

static int ck__ix_fcmp(const void *x, const void *y) {
  const ck_finding *a = *(const ck_finding *const *)x;
  const ck_finding *b = *(const ck_finding *const *)y;
  int c = strcmp(a->path, b->path);

  if (c != 0)
    return c;
  return a->index < b->index ? -1 : a->index > b->index;
}

/* Sorted pointers to d's sendable findings; NULL on OOM. */
static const ck_finding **ck__ix_sorted(const ck_discover *d, size_t *n) {
  const ck_finding **v = calloc(d->n > 0 ? d->n : 1, sizeof *v);
  size_t i;

  *n = 0;
  if (v == NULL)
    return NULL;
  for (i = 0; i < d->n; i++)
    if (d->f[i].path != NULL && d->f[i].kind != NULL &&
        ck__ix_sendable(&d->f[i]))
      v[(*n)++] = &d->f[i];
  qsort(v, *n, sizeof *v, ck__ix_fcmp);
  return v;
}

ck_err ck_invindex_build(ck_invindex *ix, const ck_discover *d,
                         ck_errctx *err) {
  const ck_finding **v = NULL;
  ck_invindex nx;
  size_t n = 0, i, plen = 0, off = 0;
  ck_err rc = CK_OK;

  memset(&nx, 0, sizeof nx);
  if (ix == NULL || d == NULL)
    return ck_failf(err, CK_ERR_INVAL, "inventory index: missing argument");
  if ((v = ck__ix_sorted(d, &n)) == NULL)
    goto nomem;
  for (i = 0; i < n; i++)
    if (i == 0 || strcmp(v[i]->path, v[i - 1]->path) != 0)
      plen += strlen(v[i]->path) + 1;
  if (plen > UINT32_MAX) {
    rc = ck_failf(err, CK_ERR_INVAL, "inventory index: paths too long");
    goto out;
  }
  nx.v = malloc((n > 0 ? n : 1) * sizeof *nx.v);
  nx.paths = malloc(plen > 0 ? plen : 1);
  if (nx.v == NULL || nx.paths == NULL)
    goto nomem;
  for (i = 0; i < n; i++) {
    if (i == 0 || strcmp(v[i]->path, v[i - 1]->path) != 0) {
      size_t l = strlen(v[i]->path) + 1;

      memcpy(nx.paths + off, v[i]->path, l);
      off += l;
    }
    nx.v[i].path = (uint32_t)(off - strlen(v[i]->path) - 1);
    nx.v[i].index = v[i]->index;
    nx.v[i].digest = ck_invindex_digest(v[i]);
  }
  nx.n = n;
  nx.paths_len = plen;
  ck_invindex_free(ix);
  *ix = nx;
  memset(&nx, 0, sizeof nx);
  goto out;
nomem:
  rc = ck_failf(err, CK_ERR_NOMEM, "inventory index: out of memory");
out:
  ck_invindex_free(&nx);
  free(v);
  return rc;
}

/* Entry of ix keyed (path, index), or NULL. */
static const ck_invindex_ent *ck__ix_find(const ck_invindex *ix,
                                          const char *path, unsigned index) {
  size_t lo = 0, hi = ix->n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const ck_invindex_ent *e = &ix->v[mid];
    int c = strcmp(ix->paths + e->path, path);

    if (c == 0)
      c = e->index < index ? -1 : e->index > index;
    if (c == 0)
      return e;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* Whether the sorted findings cv hold path. */
static int ck__ix_has_path(const ck_finding *const *cv, size_t n,
                           const char *path) {
  size_t lo = 0, hi = n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(cv[mid]->path, path);

    if (c == 0)
      return 1;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

ck_err ck_invindex_delta(const ck_invindex *ix, const ck_discover *cur,
                         ck_discover *changed, char ***removed,
                         size_t *n_removed, ck_errctx *err) {
  const ck_finding **cv = NULL;
  char **rv = NULL;
  size_t nc = 0, nr = 0, i;
  ck_err rc = CK_OK;

  if (ix == NULL || cur == NULL || changed == NULL || removed == NULL ||
      n_removed == NULL)
    return ck_failf(err, CK_ERR_INVAL, "inventory index: missing argument");
  *removed = NULL;
  *n_removed = 0;
  if ((cv = ck__ix_sorted(cur, &nc)) == NULL)
    goto nomem;
  for (i = 0; i < nc; i++) {
    const ck_invindex_ent *e = ck__ix_find(ix, cv[i]->path, cv[i]->index);

    if (e != NULL && e->digest == ck_invindex_digest(cv[i]))
      continue;
    if (ck_discover_append_copy(changed, cv[i]) != CK_OK)
      goto nomem;
  }
  for (i = 0; i < ix->n; i++) {
    const char *p = ix->paths + ix->v[i].path;

    if (i > 0 && ix->v[i].path == ix->v[i - 1].path)
      continue; /* one entry per path */
    if (ck__ix_has_path(cv, nc, p))
      continue;
    if (rv == NULL && (rv = calloc(ix->n, sizeof *rv)) == NULL)
      goto nomem;
    if ((rv[nr] = strdup(p)) == NULL)
      goto nomem;
    nr++;
  }
  *removed = rv;
  *n_removed = nr;
  rv = NULL;
  goto out;
nomem:
  rc = ck_failf(err, CK_ERR_NOMEM, "inventory index: out of memory");
out:
  ck_inventory_removed_free(rv, nr);
  free(cv);
  return rc;
}

size_t ck_invindex_bytes(const ck_invindex *ix) {
  return ix != NULL ? ix->n * sizeof *ix->v + ix->paths_len : 0;
}

void ck_invindex_free(ck_invindex *ix) {
  if (ix == NULL)
    return;
  free(ix->v);
  free(ix->paths);
  memset(ix, 0, sizeof *ix);
}
