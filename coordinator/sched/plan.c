/* plan.c — the scheduler's pure decisions (plan.h): cadence steps, the
 * sliding-window rate limit, successors, renewal triggers, late-renewal
 * incidents. Deterministic: the same inputs give the same plan, so a
 * restarted coordinator agrees with the one before it. */
#include "coordinator/sched/plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"

static const char *const kind_names[] = {"agent", "client", "manual",
                                         "unmanaged"};

const char *ck_sched_kind_name(ck_sched_kind k) {
  return (unsigned)k < CK_SCHED_KIND__MAX ? kind_names[k] : "?";
}

int ck_sched_kind_automated(ck_sched_kind k) {
  return k == CK_SCHED_AGENT || k == CK_SCHED_CLIENT;
}

/* ---------------------------------------------------------------- cadence */

void ck_sched_cadence_default(ck_sched_cadence *out) {
  memset(out, 0, sizeof *out);
  out->n = 4;
  out->before[0] = 90 * 86400LL;
  out->before[1] = 30 * 86400LL;
  out->before[2] = 7 * 86400LL;
  out->before[3] = 86400LL;
}

static int cmp_desc(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

  return x < y ? 1 : x > y ? -1 : 0;
}

ck_err ck_sched_cadence_parse(const char *text, ck_sched_cadence *out,
                              ck_errctx *err) {
  ck_sched_cadence c;
  char item[32];
  const char *p = text;
  size_t i, j, len;
  int64_t v;

  memset(&c, 0, sizeof c);
  if (text == NULL)
    return ck_failf(err, CK_ERR_RANGE, "cadence: empty");
  while (*p != '\0') {
    while (*p == ',' || *p == ' ' || *p == '\t')
      p++;
    if (*p == '\0')
      break;
    len = strcspn(p, ", \t");
    if (len >= sizeof item)
      return ck_failf(err, CK_ERR_PARSE, "cadence: item '%.*s...' too long", 16,
                      p);
    memcpy(item, p, len);
    item[len] = '\0';
    p += len;
    if (ck_duration_parse(item, &v) != CK_OK)
      return ck_failf(err, CK_ERR_PARSE,
                      "cadence: '%s' is not a duration (e.g. 30d, 12h)", item);
    if (v < 60 || v > 3650 * 86400LL)
      return ck_failf(err, CK_ERR_RANGE, "cadence: '%s' is outside 1m..3650d",
                      item);
    for (j = 0; j < c.n && c.before[j] != v; j++)
      ;
    if (j < c.n)
      continue; /* duplicate */
    if (c.n == CK_SCHED_CADENCE_MAX)
      return ck_failf(err, CK_ERR_RANGE, "cadence: more than %d steps",
                      CK_SCHED_CADENCE_MAX);
    c.before[c.n++] = v;
  }
  if (c.n == 0)
    return ck_failf(err, CK_ERR_RANGE, "cadence: no step given");
  qsort(c.before, c.n, sizeof c.before[0], cmp_desc);
  for (i = 0; i < c.n; i++)
    out->before[i] = c.before[i];
  out->n = c.n;
  return CK_OK;
}

int ck_sched_cadence_step(const ck_sched_cadence *c, int64_t not_after,
                          int64_t now) {
  int step = -1;
  size_t i;

  for (i = 0; i < c->n; i++)
    if (now >= not_after - c->before[i])
      step = (int)i;
  return step;
}

/* ------------------------------------------------------------- rate limit */

ck_err ck_sched_rate_init(ck_sched_rate *r, size_t cap, int64_t window) {
  memset(r, 0, sizeof *r);
  if (cap == 0 || cap > CK_SCHED_RATE_MAX || window <= 0)
    return CK_ERR_RANGE;
  r->ring = calloc(cap, sizeof *r->ring);
  if (r->ring == NULL)
    return CK_ERR_NOMEM;
  r->cap = cap;
  r->window = window;
  return CK_OK;
}

void ck_sched_rate_free(ck_sched_rate *r) {
  free(r->ring);
  memset(r, 0, sizeof *r);
}

/* The k-th oldest recorded event (0 = oldest). */
static int64_t rate_at(const ck_sched_rate *r, size_t k) {
  return r->ring[(r->head + r->cap - r->n + k) % r->cap];
}

size_t ck_sched_rate_available(const ck_sched_rate *r, int64_t now) {
  size_t k = 0;

  /* events older than the window free their slot */
  while (k < r->n && rate_at(r, k) <= now - r->window)
    k++;
  return r->cap - (r->n - k);
}

int ck_sched_rate_take(ck_sched_rate *r, int64_t now) {
  int64_t last = r->n > 0 ? rate_at(r, r->n - 1) : now;

  if (now < last)
    now = last;
  if (r->n == r->cap) {
    if (rate_at(r, 0) > now - r->window)
      return 0;
    r->n--; /* the oldest leaves the window */
  }
  r->ring[r->head] = now;
  r->head = (r->head + 1) % r->cap;
  r->n++;
  return 1;
}

/* --------------------------------------------------------------- decisions */

typedef struct order {
  int64_t k2;
  size_t i;
} order;

static uint64_t fnv(uint64_t h, const char *s) {
  for (; s != NULL && *s != '\0'; s++) {
    h ^= (unsigned char)*s;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t ck_sched_name_hash(const char *subject, const char *sans,
                            const char *key_type) {
  uint64_t h = 0xcbf29ce484222325ULL;

  h = fnv(h, subject);
  h = fnv(h, "\x1f");
  h = fnv(h, sans);
  h = fnv(h, "\x1f");
  return fnv(h, key_type);
}

int64_t ck_sched_renew_due(const char *fp, int64_t renew_at, int64_t not_after,
                           int64_t jitter) {
  int64_t span = (not_after - renew_at) / 4;

  if (jitter < span)
    span = jitter;
  if (span <= 0)
    return renew_at;
  return renew_at + (int64_t)(fnv(0xcbf29ce484222325ULL, fp) % (uint64_t)span);
}

int64_t ck_sched_late_at(int64_t renew_at, int64_t not_after) {
  if (not_after <= renew_at)
    return not_after;
  return renew_at + (not_after - renew_at) / 2;
}

/* soonest expiry first */
static int cmp_expiry(const void *a, const void *b) {
  const order *x = a, *y = b;

  if (x->k2 != y->k2)
    return x->k2 < y->k2 ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

void ck_sched_scratch_free(ck_sched_scratch *scr) {
  free(scr->order);
  free(scr->slot);
  memset(scr, 0, sizeof *scr);
}

/* Grows scr to n items; 0 on OOM. */
static int scratch_fit(ck_sched_scratch *scr, size_t n, size_t slots) {
  if (scr->order_cap < n) {
    void *o = realloc(scr->order, n * sizeof(order));
    if (o == NULL)
      return 0;
    scr->order = o;
    scr->order_cap = n;
  }
  if (scr->slot_cap < slots) {
    size_t *sl = realloc(scr->slot, slots * sizeof *sl);
    if (sl == NULL)
      return 0;
    scr->slot = sl;
    scr->slot_cap = slots;
  }
  return 1;
}

long ck_sched_plan_run(const ck_sched_policy *p, ck_sched_rate *rate,
                       ck_sched_item *v, size_t n, int64_t now,
                       ck_sched_scratch *scr) {
  ck_sched_scratch local = {0};
  ck_sched_scratch *sc = scr != NULL ? scr : &local;
  order *o;
  size_t *slot, mask = 1, i, h, nc = 0;
  long renewed = 0;

  while (mask < 2 * n)
    mask <<= 1;
  if (n > 0 && !scratch_fit(sc, n, mask)) {
    ck_sched_scratch_free(&local);
    return -1;
  }
  o = sc->order;
  slot = sc->slot;
  mask--;
  for (h = 0; n > 0 && h <= mask; h++)
    slot[h] = SIZE_MAX;
  /* successors: per name (open addressing), the newest expiry */
  for (i = 0; i < n; i++) {
    v[i].superseded = v[i].renew = v[i].renew_wanted = v[i].incident = 0;
    v[i].succ = 0;
    v[i].notice_step = -1;
    for (h = (size_t)(v[i].name_hash * 0x9e3779b97f4a7c15ULL) & mask;
         slot[h] != SIZE_MAX && v[slot[h]].name_hash != v[i].name_hash;
         h = (h + 1) & mask)
      ;
    if (slot[h] == SIZE_MAX || v[slot[h]].not_after < v[i].not_after)
      slot[h] = i;
  }
  for (i = 0; i < n; i++) {
    for (h = (size_t)(v[i].name_hash * 0x9e3779b97f4a7c15ULL) & mask;
         v[slot[h]].name_hash != v[i].name_hash; h = (h + 1) & mask)
      ;
    if (v[slot[h]].not_after > v[i].not_after) {
      v[i].superseded = 1;
      v[i].succ = slot[h];
    }
  }
  for (i = 0; i < n; i++) {
    ck_sched_item *it = &v[i];
    int step;

    if (it->superseded)
      continue;
    if (!it->incident_raised &&
        now >= ck_sched_late_at(it->renew_at, it->not_after))
      it->incident = 1;
    if (!ck_sched_kind_automated(it->kind) || p->notify_automated) {
      step = ck_sched_cadence_step(
          it->cadence != NULL ? it->cadence : &p->cadence, it->not_after, now);
      if (step >= 0 && step > it->noticed_step)
        it->notice_step = step;
    }
    if (it->kind == CK_SCHED_AGENT &&
        now >= ck_sched_renew_due(it->fp, it->renew_at, it->not_after,
                                  p->jitter) &&
        (it->triggered_at == 0 || now >= it->triggered_at + p->retry)) {
      o[nc].k2 = it->not_after;
      o[nc].i = i;
      nc++;
    }
  }
  /* renewals: soonest expiry first, as far as the window allows */
  if (nc > 1)
    qsort(o, nc, sizeof *o, cmp_expiry);
  for (i = 0; i < nc; i++) {
    ck_sched_item *it = &v[o[i].i];
    if (rate == NULL || ck_sched_rate_take(rate, now)) {
      it->renew = 1;
      renewed++;
    } else {
      it->renew_wanted = 1;
    }
  }
  ck_sched_scratch_free(&local);
  return renewed;
}
