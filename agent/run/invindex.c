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

/* Paths are front-coded in sorted order: per distinct path one record,
 * the length it shares with the previous path (LEB128) then the rest of it
 * and a NUL. Under one root most of a path repeats the previous one
 * (".../tree/d042/c04217.pem" after ".../tree/d042/c04216.pem"), so a
 * record is ~7 bytes instead of the whole path. Records are read in order
 * only: a delta walks the index and the sorted scan side by side. */

static size_t ck__ix_shared(const char *a, const char *b) {
  size_t i = 0;

  while (a[i] != '\0' && a[i] == b[i])
    i++;
  return i;
}

static size_t ck__ix_varint_len(size_t v) {
  size_t n = 1;

  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

/* Decodes the record at off into *buf (holding the previous path), growing
 * it as needed; returns the offset after the record, 0 on OOM. */
static size_t ck__ix_decode(const ck_invindex *ix, size_t off, char **buf,
                            size_t *cap) {
  size_t shared = 0, l, shift = 0;
  const unsigned char *p = (const unsigned char *)ix->paths;

  for (;;) {
    unsigned char b = p[off++];
    shared |= (size_t)(b & 0x7f) << shift;
    shift += 7;
    if ((b & 0x80) == 0)
      break;
  }
  l = strlen(ix->paths + off);
  if (shared + l + 1 > *cap) {
    size_t nc = (shared + l + 1) * 2;
    char *nb = realloc(*buf, nc);
    if (nb == NULL)
      return 0;
    *buf = nb;
    *cap = nc;
  }
  memcpy(*buf + shared, ix->paths + off, l + 1);
  return off + l + 1;
}

ck_err ck_invindex_build(ck_invindex *ix, const ck_discover *d,
                         ck_errctx *err) {
  const ck_finding **v = NULL;
  ck_invindex nx;
  size_t n = 0, i, plen = 0, off = 0, rec = 0;
  const char *prev = "";
  ck_err rc = CK_OK;

  memset(&nx, 0, sizeof nx);
  if (ix == NULL || d == NULL)
    return ck_failf(err, CK_ERR_INVAL, "inventory index: missing argument");
  if ((v = ck__ix_sorted(d, &n)) == NULL)
    goto nomem;
  for (i = 0; i < n; i++)
    if (i == 0 || strcmp(v[i]->path, v[i - 1]->path) != 0) {
      size_t sh = ck__ix_shared(prev, v[i]->path);
      plen += ck__ix_varint_len(sh) + strlen(v[i]->path + sh) + 1;
      prev = v[i]->path;
    }
  if (plen > UINT32_MAX) {
    rc = ck_failf(err, CK_ERR_INVAL, "inventory index: paths too long");
    goto out;
  }
  nx.v = malloc((n > 0 ? n : 1) * sizeof *nx.v);
  nx.paths = malloc(plen > 0 ? plen : 1);
  if (nx.v == NULL || nx.paths == NULL)
    goto nomem;
  prev = "";
  for (i = 0; i < n; i++) {
    if (i == 0 || strcmp(v[i]->path, v[i - 1]->path) != 0) {
      size_t sh = ck__ix_shared(prev, v[i]->path), x = sh;
      size_t l = strlen(v[i]->path + sh) + 1;

      rec = off;
      do {
        nx.paths[off++] = (char)((x & 0x7f) | (x >= 0x80 ? 0x80 : 0));
        x >>= 7;
      } while (x != 0);
      memcpy(nx.paths + off, v[i]->path + sh, l);
      off += l;
      prev = v[i]->path;
    }
    nx.v[i].path = (uint32_t)rec;
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

char *ck_invindex_path(const ck_invindex *ix, size_t i) {
  char *buf = NULL;
  size_t cap = 0, off = 0, e;

  if (ix == NULL || i >= ix->n)
    return NULL;
  for (e = 0; e <= i; e++) {
    if (e > 0 && ix->v[e].path == ix->v[e - 1].path)
      continue;
    if ((off = ck__ix_decode(ix, off, &buf, &cap)) == 0) {
      free(buf);
      return NULL;
    }
  }
  return buf;
}

/* End (exclusive) of the entries of ix sharing entry e's path. */
static size_t ck__ix_group_end(const ck_invindex *ix, size_t e) {
  size_t g = e + 1;

  while (g < ix->n && ix->v[g].path == ix->v[e].path)
    g++;
  return g;
}

ck_err ck_invindex_delta(const ck_invindex *ix, const ck_discover *cur,
                         ck_discover *changed, char ***removed,
                         size_t *n_removed, ck_errctx *err) {
  const ck_finding **cv = NULL;
  char **rv = NULL, *ip = NULL;
  size_t nc = 0, nr = 0, i = 0, j, k, e = 0, eg, f, off = 0, icap = 0;
  ck_err rc = CK_OK;

  if (ix == NULL || cur == NULL || changed == NULL || removed == NULL ||
      n_removed == NULL)
    return ck_failf(err, CK_ERR_INVAL, "inventory index: missing argument");
  *removed = NULL;
  *n_removed = 0;
  if ((cv = ck__ix_sorted(cur, &nc)) == NULL)
    goto nomem;
  /* ip: the path of index entry e (decoded in order) */
  if (ix->n > 0 && (off = ck__ix_decode(ix, off, &ip, &icap)) == 0)
    goto nomem;
  /* both sides sorted by (path, index): one merge walk. Per path: when any
   * finding of a file is new or differs, every finding of that file is
   * sent, so the coordinator can replace what it holds for the path (a
   * renewed leaf in a bundle must not leave the old one listed); a path of
   * ix with no sendable finding in cur is removed */
  while (i < nc || e < ix->n) {
    int c = e >= ix->n ? 1 : i >= nc ? -1 : strcmp(ip, cv[i]->path);
    int touched = 0;

    eg = e < ix->n ? ck__ix_group_end(ix, e) : e;
    if (c < 0) {
      if (rv == NULL && (rv = calloc(ix->n, sizeof *rv)) == NULL)
        goto nomem;
      if ((rv[nr] = strdup(ip)) == NULL)
        goto nomem;
      nr++;
    } else {
      for (j = i; j < nc && strcmp(cv[j]->path, cv[i]->path) == 0; j++) {
        const ck_invindex_ent *m = NULL;

        for (f = e; c == 0 && f < eg; f++)
          if (ix->v[f].index == cv[j]->index) {
            m = &ix->v[f];
            break;
          }
        if (m == NULL || m->digest != ck_invindex_digest(cv[j]))
          touched = 1;
      }
      for (k = i; touched && k < j; k++)
        if (ck_discover_append_copy(changed, cv[k]) != CK_OK)
          goto nomem;
      i = j;
      if (c > 0)
        continue; /* a new path: ix stays where it is */
    }
    e = eg;
    if (e < ix->n && (off = ck__ix_decode(ix, off, &ip, &icap)) == 0)
      goto nomem;
  }
  *removed = rv;
  *n_removed = nr;
  rv = NULL;
  goto out;
nomem:
  rc = ck_failf(err, CK_ERR_NOMEM, "inventory index: out of memory");
out:
  ck_inventory_removed_free(rv, nr);
  free(ip);
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
