/* inventory.c — discovery results as `inventory` messages split to the
 * frame limit, the delta between two scans, and folding a partial rescan
 * into a full one (see inventory.h). */
#include "agent/discover/inventory.h"

#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "common/util/mem.h"

#define INV_MIN_FRAME 4096u
/* msgpack objects of one finding besides its lists: a map and 2 per field */
#define INV_FINDING_OBJS (1u + 2u * 30u)
#define INV_BASE_OBJS 64u

static int sendable(const ck_finding *f) {
  return (f->has_cert && !strcmp(f->kind, "certificate")) ||
         !strcmp(f->kind, "pkcs12");
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* 64 hex digits -> 32 bytes; 0 when fp is not that. */
static int unhex32(const char *fp, uint8_t out[32]) {
  for (size_t i = 0; i < 32; i++) {
    int hi = hexval(fp[2 * i]), lo = hi < 0 ? -1 : hexval(fp[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return 0;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return fp[64] == '\0';
}

/* Fills wf from f with arrays allocated in a; 0 on OOM. */
static int to_wire(const ck_finding *f, int with_der, ck_arena *a,
                   ck_wire_finding *wf) {
  const char **v;
  size_t n;
  memset(wf, 0, sizeof(*wf));
  wf->path = f->path;
  wf->format = f->format;
  wf->index = f->index;
  wf->has_index = true;
  if (f->has_cert) {
    uint8_t *fp = ck_arena_alloc(a, 32);
    if (!fp)
      return 0;
    if (unhex32(f->fingerprint, fp)) {
      wf->fingerprint.data = fp;
      wf->fingerprint.len = 32;
    }
    wf->subject = f->subject;
    wf->issuer = f->issuer;
    wf->serial = f->serial && f->serial[0] ? f->serial : NULL;
    wf->not_before = f->not_before;
    wf->has_not_before = true;
    wf->not_after = f->not_after;
    wf->has_not_after = true;
    wf->sans.v = (const char **)f->sans;
    wf->sans.n = f->n_sans;
    wf->sig_alg = f->sig_alg && f->sig_alg[0] ? f->sig_alg : NULL;
    wf->is_ca = f->is_ca != 0;
    wf->has_is_ca = true;
  }
  if (f->key_type[0])
    wf->key_type = f->key_type;
  if (f->key_bits) {
    wf->key_bits = f->key_bits;
    wf->has_key_bits = true;
  }
  if (f->has_cert && f->key_path) {
    wf->key_path = f->key_path;
    if (f->key_match >= 0) {
      wf->key_match = f->key_match == 1;
      wf->has_key_match = true;
    }
  }
  if (f->has_stat) {
    wf->owner = f->owner;
    wf->group = f->group;
    wf->mode = f->mode;
    wf->has_mode = true;
  }
  if (f->n_svcs) {
    v = ck_arena_alloc(a, f->n_svcs * sizeof(*v));
    if (!v)
      return 0;
    n = 0;
    for (size_t i = 0; i < f->n_svcs; i++) {
      int dup = 0;
      for (size_t k = 0; k < n && !dup; k++)
        dup = !strcmp(v[k], f->svcs[i].service);
      if (!dup)
        v[n++] = f->svcs[i].service;
    }
    wf->services.v = v;
    wf->services.n = n;
  }
  wf->endpoints.v = (const char **)f->endpoints;
  wf->endpoints.n = f->n_endpoints;
  v = ck_arena_alloc(a, (CK_RISK_COUNT + 2) * sizeof(*v));
  if (!v)
    return 0;
  n = 0;
  for (unsigned b = 0; b < CK_RISK_COUNT; b++)
    if (f->risks & (1u << b))
      v[n++] = ck_risk_name(1u << b);
  if (f->has_cert && f->key_path && f->key_match == 0)
    v[n++] = "key_mismatch";
  if (!f->has_cert)
    v[n++] = "unread";
  wf->risks.v = v;
  wf->risks.n = n;
  if (with_der && f->der && f->der_len) {
    wf->der.data = f->der;
    wf->der.len = f->der_len;
  }
  return 1;
}

/* Body length of m encoded under lim, or 0 when it does not encode (*rc
 * says why). */
static size_t body_len(const ck_wire_msg *m, const ck_wire_limits *lim,
                       ck_err *rc, ck_errctx *err) {
  uint8_t *buf = NULL;
  size_t len = 0;
  *rc = ck_wire_encode(m, lim, &buf, &len, err);
  free(buf);
  return *rc == CK_OK ? len - CK_WIRE_HEADER_LEN : 0;
}

/* msgpack size of a str of n bytes. */
static size_t str_size(size_t n) {
  return n + (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5);
}

ck_err ck_inventory_frames(const ck_discover *d, ck_wire_inv_mode mode,
                           uint64_t seq, uint64_t base,
                           const char *const *removed, size_t n_removed,
                           size_t max_frame, ck_inventory_emit_fn emit,
                           void *arg, ck_errctx *err) {
  ck_wire_limits lim = ck_wire_limits_default(), big;
  ck_arena *a = NULL;
  ck_wire_finding *wf = NULL;
  size_t *fsize = NULL, nw = 0, overhead, empty;
  size_t i_f = 0, i_r = 0;
  uint32_t part = 0;
  ck_wire_msg m;
  ck_err rc = CK_OK, erc;
  int final = 0;
  if (!d || !emit || (mode != CK_WIRE_INV_FULL && mode != CK_WIRE_INV_DELTA) ||
      (n_removed && !removed))
    return ck_failf(err, CK_ERR_INVAL, "inventory: bad arguments");
  if (max_frame == 0)
    max_frame = lim.max_frame;
  if (max_frame < INV_MIN_FRAME)
    return ck_failf(err, CK_ERR_INVAL,
                    "inventory: max_frame %zu is below %u bytes", max_frame,
                    INV_MIN_FRAME);
  if (mode == CK_WIRE_INV_FULL)
    n_removed = 0;
  lim.max_frame = max_frame;
  big = lim;
  big.max_frame = (size_t)64 * 1024 * 1024; /* measuring only */
  a = ck_arena_new(16384);
  wf = calloc(d->n ? d->n : 1, sizeof(*wf));
  fsize = calloc(d->n ? d->n : 1, sizeof(*fsize));
  if (!a || !wf || !fsize) {
    rc = ck_failf(err, CK_ERR_NOMEM, "inventory: out of memory");
    goto out;
  }
  memset(&m, 0, sizeof(m));
  m.type = CK_WIRE_INVENTORY;
  m.u.inventory.mode = mode;
  m.u.inventory.seq = seq;
  /* largest encodings of the fields that vary while measuring (later
   * delta parts carry base = seq; the sender may set any id) */
  m.u.inventory.base = UINT64_MAX;
  m.u.inventory.has_base = mode == CK_WIRE_INV_DELTA;
  m.u.inventory.part = UINT32_MAX;
  m.u.inventory.has_part = true;
  m.u.inventory.final = false;
  m.u.inventory.has_final = true;
  m.u.inventory.scanned_at = d->scanned_at;
  m.u.inventory.has_scanned_at = d->scanned_at != 0;
  m.id = UINT64_MAX;
  empty = body_len(&m, &big, &rc, err);
  if (rc != CK_OK)
    goto out;
  /* array headers up to array16 for findings, the removed key + header */
  overhead = empty + 2 + (n_removed ? str_size(7) + 3 : 0);
  for (size_t i = 0; i < d->n; i++) {
    const ck_finding *f = &d->f[i];
    size_t sz;
    if (!sendable(f))
      continue;
    if (!to_wire(f, 1, a, &wf[nw])) {
      rc = ck_failf(err, CK_ERR_NOMEM, "inventory: out of memory");
      goto out;
    }
    m.u.inventory.findings = &wf[nw];
    m.u.inventory.n_findings = 1;
    sz = body_len(&m, &big, &erc, NULL);
    if ((erc != CK_OK || overhead + sz - empty > max_frame) &&
        wf[nw].der.data) {
      wf[nw].der.data = NULL; /* too large with its DER: send without */
      wf[nw].der.len = 0;
      sz = body_len(&m, &big, &erc, NULL);
    }
    if (erc == CK_ERR_NOMEM) {
      rc = ck_failf(err, erc, "inventory: out of memory");
      goto out;
    }
    if (erc != CK_OK || overhead + sz - empty > max_frame) {
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "inventory.finding_too_large",
             CK_S("path", f->path), CK_I("index", f->index),
             CK_I("max_frame", max_frame));
      continue;
    }
    fsize[nw++] = sz - empty;
  }
  do {
    size_t body = overhead, objs = INV_BASE_OBJS, nf = 0, nr = 0;
    while (i_r + nr < n_removed && nr < lim.max_entries) {
      size_t sz = str_size(strlen(removed[i_r + nr]));
      if (body + sz > max_frame) {
        if (nr)
          break;
        ck_log(CK_LOG_OPS, CK_LOG_WARN, "inventory.removed_too_large",
               CK_S("path", removed[i_r]));
        i_r++; /* cannot be sent at all */
        continue;
      }
      body += sz;
      objs++;
      nr++;
    }
    while (i_f + nf < nw && nf < lim.max_entries) {
      const ck_wire_finding *w = &wf[i_f + nf];
      size_t o = INV_FINDING_OBJS + w->sans.n + w->services.n +
                 w->endpoints.n + w->risks.n;
      if (body + fsize[i_f + nf] > max_frame || objs + o > lim.max_objects)
        break;
      body += fsize[i_f + nf];
      objs += o;
      nf++;
    }
    for (;;) {
      final = i_f + nf == nw && i_r + nr == n_removed;
      m.id = 0;
      m.u.inventory.part = part;
      m.u.inventory.final = final;
      m.u.inventory.base = mode == CK_WIRE_INV_DELTA && part > 0 ? seq : base;
      m.u.inventory.findings = nf ? &wf[i_f] : NULL;
      m.u.inventory.n_findings = nf;
      m.u.inventory.removed.v = nr ? (const char **)&removed[i_r] : NULL;
      m.u.inventory.removed.n = nr;
      (void)body_len(&m, &lim, &erc, err);
      if (erc == CK_OK)
        break;
      if (erc == CK_ERR_NOMEM || nf + nr <= 1) {
        rc = erc; /* the estimate was wrong for a single item: give up */
        goto out;
      }
      /* estimate too low (should not happen): halve the part */
      if (nf > 1)
        nf /= 2;
      else
        nr /= 2;
    }
    if (emit(&m, arg) != 0) {
      rc = ck_failf(err, CK_ERR_CANCELED, "inventory: stopped by the sender");
      goto out;
    }
    i_f += nf;
    i_r += nr;
    part++;
  } while (!final);
out:
  free(fsize);
  free(wf);
  ck_arena_free(a);
  return rc;
}

/* ---- delta ---------------------------------------------------------------- */

static int str_eq(const char *a, const char *b) {
  return a == b || (a && b && !strcmp(a, b));
}

static int key_cmp(const ck_finding *a, const ck_finding *b) {
  int c = strcmp(a->path, b->path);
  if (c)
    return c;
  return a->index < b->index ? -1 : a->index > b->index;
}

static int ptr_cmp(const void *x, const void *y) {
  return key_cmp(*(const ck_finding *const *)x, *(const ck_finding *const *)y);
}

static int same(const ck_finding *a, const ck_finding *b) {
  if (!str_eq(a->kind, b->kind) || !str_eq(a->format, b->format) ||
      a->has_cert != b->has_cert || strcmp(a->fingerprint, b->fingerprint) ||
      !str_eq(a->subject, b->subject) || !str_eq(a->issuer, b->issuer) ||
      !str_eq(a->serial, b->serial) || a->not_before != b->not_before ||
      a->not_after != b->not_after || !str_eq(a->sig_alg, b->sig_alg) ||
      a->is_ca != b->is_ca || strcmp(a->key_type, b->key_type) ||
      a->key_bits != b->key_bits || !str_eq(a->key_path, b->key_path) ||
      a->key_match != b->key_match || a->has_stat != b->has_stat ||
      !str_eq(a->owner, b->owner) || !str_eq(a->group, b->group) ||
      a->mode != b->mode || a->risks != b->risks ||
      !str_eq(a->error, b->error) || a->n_sans != b->n_sans ||
      a->n_svcs != b->n_svcs || a->n_endpoints != b->n_endpoints ||
      (a->der_len && b->der_len && a->der_len != b->der_len))
    return 0;
  for (size_t i = 0; i < a->n_sans; i++)
    if (strcmp(a->sans[i], b->sans[i]))
      return 0;
  for (size_t i = 0; i < a->n_svcs; i++)
    if (strcmp(a->svcs[i].service, b->svcs[i].service) ||
        !str_eq(a->svcs[i].conf, b->svcs[i].conf) ||
        a->svcs[i].line != b->svcs[i].line)
      return 0;
  for (size_t i = 0; i < a->n_endpoints; i++)
    if (strcmp(a->endpoints[i], b->endpoints[i]))
      return 0;
  return 1;
}

/* Sorted pointers to d's sendable findings (*n of them); NULL on OOM. */
static const ck_finding **sorted(const ck_discover *d, size_t *n) {
  const ck_finding **v = calloc(d->n ? d->n : 1, sizeof(*v));
  *n = 0;
  if (!v)
    return NULL;
  for (size_t i = 0; i < d->n; i++)
    if (sendable(&d->f[i]))
      v[(*n)++] = &d->f[i];
  qsort(v, *n, sizeof(*v), ptr_cmp);
  return v;
}

static int path_cmp(const void *x, const void *y) {
  return strcmp((*(const ck_finding *const *)x)->path,
                (*(const ck_finding *const *)y)->path);
}

void ck_inventory_removed_free(char **removed, size_t n) {
  for (size_t i = 0; removed && i < n; i++)
    free(removed[i]);
  free(removed);
}

ck_err ck_inventory_delta(const ck_discover *old, const ck_discover *cur,
                          ck_discover *changed, char ***removed,
                          size_t *n_removed, ck_errctx *err) {
  const ck_finding **ov = NULL, **cv = NULL;
  size_t no = 0, nc = 0, nr = 0;
  char **rv = NULL;
  ck_err rc = CK_OK;
  if (!old || !cur || !changed || !removed || !n_removed)
    return ck_failf(err, CK_ERR_INVAL, "inventory delta: missing argument");
  *removed = NULL;
  *n_removed = 0;
  ov = sorted(old, &no);
  cv = sorted(cur, &nc);
  if (!ov || !cv)
    goto nomem;
  /* per path: a file with any new or different finding is sent whole, so
   * the receiver can replace what it holds for that path */
  for (size_t i = 0, j; i < nc; i = j) {
    int touched = 0;
    for (j = i; j < nc && !strcmp(cv[j]->path, cv[i]->path); j++) {
      const ck_finding **hit = bsearch(&cv[j], ov, no, sizeof(*ov), ptr_cmp);
      if (!hit || !same(*hit, cv[j]))
        touched = 1;
    }
    for (size_t k = i; touched && k < j; k++)
      if (ck_discover_append_copy(changed, cv[k]) != CK_OK)
        goto nomem;
  }
  for (size_t i = 0; i < no; i++) {
    if (i > 0 && !strcmp(ov[i]->path, ov[i - 1]->path))
      continue; /* one entry per path */
    if (bsearch(&ov[i], cv, nc, sizeof(*cv), path_cmp))
      continue; /* cv is sorted by path first: a path lookup works */
    if (!rv) {
      rv = calloc(no, sizeof(*rv));
      if (!rv)
        goto nomem;
    }
    rv[nr] = strdup(ov[i]->path);
    if (!rv[nr])
      goto nomem;
    nr++;
  }
  *removed = rv;
  *n_removed = nr;
  rv = NULL;
  goto out;
nomem:
  rc = ck_failf(err, CK_ERR_NOMEM, "inventory delta: out of memory");
out:
  ck_inventory_removed_free(rv, nr);
  free(ov);
  free(cv);
  return rc;
}

/* ---- merge ---------------------------------------------------------------- */

/* Whether path is p or a direct entry of directory p. */
static int covered(const char *path, const char *const *paths, size_t n) {
  for (size_t i = 0; i < n; i++) {
    size_t pl = strlen(paths[i]);
    while (pl > 1 && paths[i][pl - 1] == '/')
      pl--;
    if (strncmp(path, paths[i], pl) != 0)
      continue;
    if (path[pl] == '\0')
      return 1;
    if (path[pl] == '/' && path[pl + 1] && !strchr(path + pl + 1, '/'))
      return 1;
  }
  return 0;
}

static int copy_svcs(ck_finding *dst, const ck_finding *src) {
  dst->svcs = calloc(src->n_svcs, sizeof(*dst->svcs));
  if (!dst->svcs)
    return 0;
  for (size_t i = 0; i < src->n_svcs; i++) {
    dst->svcs[i] = src->svcs[i];
    dst->svcs[i].conf = strdup(src->svcs[i].conf);
    dst->n_svcs = i + 1;
    if (!dst->svcs[i].conf)
      return 0;
  }
  return 1;
}

static int copy_endpoints(ck_finding *dst, const ck_finding *src) {
  dst->endpoints = calloc(src->n_endpoints, sizeof(char *));
  if (!dst->endpoints)
    return 0;
  for (size_t i = 0; i < src->n_endpoints; i++) {
    dst->endpoints[i] = strdup(src->endpoints[i]);
    dst->n_endpoints = i + 1;
    if (!dst->endpoints[i])
      return 0;
  }
  return 1;
}

#define KEY_RISKS (CK_RISK_KEY_WORLD_READABLE | CK_RISK_KEY_GROUP_READABLE)

/* Records key k (path kpath) as the key of certificate c. */
static int set_key(ck_finding *c, ck_finding *k) {
  char *kp = strdup(k->path);
  if (!kp)
    return 0;
  free(c->key_path);
  c->key_path = kp;
  c->key_match = 1;
  c->risks |= k->risks & KEY_RISKS;
  if (!k->cert_path && !(k->cert_path = strdup(c->path)))
    return 0;
  return 1;
}

static int is_key(const ck_finding *f) {
  return !strcmp(f->kind, "key") && f->has_spki;
}

static int wants_key(const ck_finding *f) {
  return f->has_cert && f->has_spki && f->key_match != 1;
}

ck_err ck_inventory_merge(ck_discover *base, const char *const *paths,
                          size_t n, ck_discover *fresh, ck_errctx *err) {
  unsigned char *drop = NULL;
  size_t keep;
  if (!base || !fresh || (n && !paths))
    return ck_failf(err, CK_ERR_INVAL, "inventory merge: missing argument");
  drop = calloc(base->n ? base->n : 1, 1);
  if (!drop)
    goto nomem;
  for (size_t i = 0; i < base->n; i++)
    drop[i] = (unsigned char)covered(base->f[i].path, paths, n);
  /* carry services (same path) and endpoints (same fingerprint) over */
  for (size_t j = 0; j < fresh->n; j++) {
    ck_finding *nf = &fresh->f[j];
    for (size_t i = 0; i < base->n; i++) {
      const ck_finding *of = &base->f[i];
      if (!drop[i])
        continue;
      if (!nf->n_svcs && of->n_svcs && !strcmp(of->path, nf->path) &&
          !copy_svcs(nf, of))
        goto nomem;
      if (!nf->n_endpoints && of->n_endpoints && nf->has_cert &&
          of->has_cert && !strcmp(of->fingerprint, nf->fingerprint) &&
          !copy_endpoints(nf, of))
        goto nomem;
    }
  }
  /* certificates kept whose key file was re-examined: forget the key */
  for (size_t i = 0; i < base->n; i++) {
    ck_finding *c = &base->f[i];
    if (drop[i] || !c->has_cert || !c->key_path ||
        !covered(c->key_path, paths, n))
      continue;
    free(c->key_path);
    c->key_path = NULL;
    c->key_match = -1;
    c->risks &= ~(unsigned)KEY_RISKS;
  }
  /* new certificates <-> kept keys, kept certificates <-> new keys */
  for (size_t j = 0; j < fresh->n; j++) {
    ck_finding *nf = &fresh->f[j];
    for (size_t i = 0; i < base->n; i++) {
      ck_finding *of = &base->f[i];
      if (drop[i] || memcmp(nf->spki, of->spki, sizeof(nf->spki)) != 0)
        continue;
      if (wants_key(nf) && is_key(of) && !set_key(nf, of))
        goto nomem;
      if (wants_key(of) && is_key(nf) && !set_key(of, nf))
        goto nomem;
    }
  }
  /* drop, then move fresh in */
  keep = 0;
  for (size_t i = 0; i < base->n; i++) {
    if (drop[i]) {
      ck_finding_clear(&base->f[i]);
      continue;
    }
    if (keep != i)
      base->f[keep] = base->f[i];
    keep++;
  }
  base->n = keep;
  if (base->n + fresh->n > base->cap) {
    ck_finding *nv = realloc(base->f, (base->n + fresh->n) * sizeof(*nv));
    if (!nv)
      goto nomem_dropped;
    base->f = nv;
    base->cap = base->n + fresh->n;
  }
  if (fresh->n)
    memcpy(base->f + base->n, fresh->f, fresh->n * sizeof(*fresh->f));
  base->n += fresh->n;
  fresh->n = 0;
  if (fresh->scanned_at)
    base->scanned_at = fresh->scanned_at;
  free(drop);
  return CK_OK;
nomem:
  /* nothing dropped yet: base is as before, apart from key fields */
nomem_dropped:
  free(drop);
  return ck_failf(err, CK_ERR_NOMEM, "inventory merge: out of memory");
}
