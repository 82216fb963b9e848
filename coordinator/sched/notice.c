/* notice.c — turns pending notice items ("sched.item", written by the
 * scan) into deliveries ("sched.delivery"): one per owner, channel and
 * day for digests (split in parts of [notices] digest_max certificates),
 * one per item for incidents, last-day notices and when digests are off.
 * Each delivery is created with expect_version 0 in the same write that
 * marks its items queued (with their versions), so an item goes into
 * exactly one delivery per channel even across restarts. A delivery
 * carries everything its message needs (what expires, where it is
 * installed, what to do), so sending it later reads nothing else. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto/crypto.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/sched/notice.h"
#include "coordinator/sched/sched_int.h"

#define QUEUE_PAGES 50  /* pending items read per tick: 50 pages of 1000 */
#define INSTALLS_MAX 20 /* installs listed per certificate */

typedef struct pitem {
  const char *id, *owner;
  int64_t version;
  json_t *doc; /* parsed item */
} pitem;

static int cmp_owner(const void *a, const void *b) {
  const pitem *x = a, *y = b;
  int c = strcmp(x->owner, y->owner);

  return c != 0 ? c : strcmp(x->id, y->id);
}

/* Where c is installed: [{agent, path, service, endpoint}]. */
static json_t *installs_of(ck_store *st, const char *fp) {
  ck_arena *a = ck_arena_new(8192);
  ck_store_install *in = NULL;
  ck_store_page pg;
  json_t *arr = json_array();
  size_t n = 0, i;

  memset(&pg, 0, sizeof pg);
  pg.limit = INSTALLS_MAX;
  if (a != NULL && arr != NULL &&
      ck_store_install_list(st, fp, NULL, &pg, a, &in, &n, NULL) == CK_OK)
    for (i = 0; i < n; i++)
      json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "agent",
                                           in[i].agent_id, "path", in[i].path,
                                           "service", in[i].service, "endpoint",
                                           in[i].endpoint));
  ck_arena_free(a);
  return arr;
}

/* 1 when the item must go out at once (not wait for tomorrow's digest). */
static int urgent(const json_t *item, int64_t now) {
  int64_t na = json_integer_value(json_object_get(item, "not_after"));

  return json_is_true(json_object_get(item, "incident")) || na - now <= 86400;
}

/* A short stable id part for owner (names may be long or odd). */
static void owner_tag(const char *owner, char out[17]) {
  uint8_t h[CK_SHA256_LEN];

  if (ck_crypto_sha256(owner, strlen(owner), h) != CK_OK)
    memset(h, 0, sizeof h);
  ck_hex_encode(h, 8, out);
}

/* The channels of one owner: [0] email, [1] webhook; "" when unused. */
static const char *const chans[2] = {"email", "webhook"};

/* Creates the deliveries of items v[from, from + nv) — one per channel
 * with a destination, ids[c] — and marks the items queued, all in one
 * write: either every channel gets them or none does. CK_ERR_CONFLICT:
 * already done (by an earlier tick or another coordinator). */
static ck_err make_delivery(ck_sched *s, char ids[2][160], const char *owner,
                            const char *const dest[2], int digest, pitem *v,
                            size_t from, size_t nv, int64_t now,
                            ck_errctx *err) {
  ck_store_write *w = ck_store_write_new();
  json_t *items = json_array(), *doc = NULL, *det = NULL;
  char *text[2] = {NULL, NULL}, *dtext = NULL, **itexts = NULL;
  ck_store_doc d;
  ck_audit_event ev;
  size_t i, c;
  ck_err rc = CK_OK;

  if (w == NULL || items == NULL ||
      (itexts = calloc(nv, sizeof *itexts)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "notice");
    goto out;
  }
  for (i = from; i < from + nv; i++) {
    json_t *it = json_deep_copy(v[i].doc);
    const char *fp = json_string_value(json_object_get(it, "fingerprint"));
    json_object_set_new(it, "deployed",
                        installs_of(s->rt->store, fp ? fp : ""));
    json_object_set_new(it, "item", json_string(v[i].id));
    json_array_append_new(items, it);
  }
  for (c = 0; c < 2; c++) {
    if (dest[c][0] == '\0')
      continue;
    doc = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:s,s:O}", "owner", owner,
                    "channel", chans[c], "to", dest[c], "digest", digest,
                    "created_at", (json_int_t)now, "attempts", (json_int_t)0,
                    "last_error", "", "items", items);
    text[c] =
        doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(doc);
    det = json_pack("{s:s,s:s,s:I,s:b}", "owner", owner, "channel", chans[c],
                    "certificates", (json_int_t)nv, "digest", digest);
    free(dtext);
    dtext = det != NULL ? json_dumps(det, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(det);
    if (text[c] == NULL || dtext == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "notice");
      goto out;
    }
    memset(&d, 0, sizeof d);
    d.kind = CK_SCHED_DOC_DELIVERY;
    d.id = ids[c];
    d.key = owner;
    d.state = "pending";
    d.due_at = now;
    d.doc = text[c];
    memset(&ev, 0, sizeof ev);
    ev.actor = CK_SCHED_ACTOR;
    ev.action = "notice.queue";
    ev.object_type = "delivery";
    ev.object_id = ids[c];
    ev.details = dtext;
    if ((rc = ck_store_write_doc_put(w, &d, 0, err)) != CK_OK ||
        (rc = ck_store_write_audit(w, &ev, err)) != CK_OK)
      goto out;
  }
  for (i = from; i < from + nv; i++) {
    ck_store_doc it;
    json_object_set_new(v[i].doc, "delivery",
                        json_string(ids[dest[0][0] != '\0' ? 0 : 1]));
    if ((itexts[i - from] =
             json_dumps(v[i].doc, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "notice");
      goto out;
    }
    memset(&it, 0, sizeof it);
    it.kind = CK_SCHED_DOC_ITEM;
    it.id = v[i].id;
    it.key = owner;
    it.state = "queued";
    it.doc = itexts[i - from];
    if ((rc = ck_store_write_doc_put(w, &it, v[i].version, err)) != CK_OK)
      goto out;
  }
  if ((rc = ck_store_submit_wait(s->rt->store, w, err)) == CK_OK)
    ck__sched_count(s, &s->st.deliveries_queued,
                    (dest[0][0] != '\0') + (dest[1][0] != '\0'));
out:
  for (i = 0; itexts != NULL && i < nv; i++)
    free(itexts[i]);
  free(itexts);
  free(text[0]);
  free(text[1]);
  free(dtext);
  json_decref(items);
  ck_store_write_free(w);
  return rc;
}

/* Items that cannot be sent anywhere: recorded as such, once. */
static void undeliverable(ck_sched *s, pitem *v, size_t from, size_t to) {
  size_t i;

  for (i = from; i < to; i++) {
    ck_store_write *w = ck_store_write_new();
    char *text = json_dumps(v[i].doc, JSON_COMPACT | JSON_SORT_KEYS);
    ck_store_doc d;
    ck_audit_event ev;

    memset(&d, 0, sizeof d);
    d.kind = CK_SCHED_DOC_ITEM;
    d.id = v[i].id;
    d.key = v[i].owner;
    d.state = "undeliverable";
    d.doc = text;
    memset(&ev, 0, sizeof ev);
    ev.actor = CK_SCHED_ACTOR;
    ev.action = "notice.undeliverable";
    ev.object_type = "notice";
    ev.object_id = v[i].id;
    ev.details = "";
    if (w != NULL && text != NULL &&
        ck_store_write_doc_put(w, &d, v[i].version, NULL) == CK_OK &&
        ck_store_write_audit(w, &ev, NULL) == CK_OK &&
        ck_store_submit_wait(s->rt->store, w, NULL) == CK_OK)
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "notice.undeliverable",
             CK_S("item", v[i].id), CK_S("owner", v[i].owner),
             CK_S("msg", "no email or webhook for this owner and no "
                         "[notices] fallback_email/fallback_webhook"));
    free(text);
    ck_store_write_free(w);
  }
}

static void queue_log(ck_err rc, const char *id, const ck_errctx *err) {
  if (rc != CK_OK && rc != CK_ERR_CONFLICT)
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "notice.queue.failed", CK_S("id", id),
           CK_E(rc, ck_errctx_msg(err)));
}

/* make_delivery, split in halves (ids suffixed -a, -b) while a delivery
 * document would exceed the store's size limit (many installs each). */
static ck_err make_split(ck_sched *s, char ids[2][160], const char *owner,
                         const char *const dest[2], int digest, pitem *v,
                         size_t from, size_t nv, int64_t now, ck_errctx *err) {
  ck_err rc = make_delivery(s, ids, owner, dest, digest, v, from, nv, now, err);
  char half[2][160];
  size_t c, h = nv / 2;

  if (rc != CK_ERR_LIMIT || nv < 2)
    return rc;
  ck_errctx_clear(err);
  for (c = 0; c < 2; c++)
    snprintf(half[c], sizeof half[c], "%.150s-a", ids[c]);
  if ((rc = make_split(s, half, owner, dest, digest, v, from, h, now, err)) !=
      CK_OK)
    return rc;
  for (c = 0; c < 2; c++)
    snprintf(half[c], sizeof half[c], "%.150s-b", ids[c]);
  return make_split(s, half, owner, dest, digest, v, from + h, nv - h, now,
                    err);
}

/* The deliveries of one owner's pending items v[from, to): its urgent
 * items (incidents, expiry within a day; every item without digests) at
 * once in one message per channel, the others in today's digest, once a
 * day, in parts of digest_max. */
static void queue_owner(ck_sched *s, pitem *v, size_t from, size_t to,
                        int64_t now) {
  const char *owner = v[from].owner;
  ck_arena *a = ck_arena_new(4096);
  ck_store_owner ow;
  const char *dest[2] = {"", ""};
  char tag[17], day[16], ids[2][160];
  time_t t = (time_t)now;
  struct tm tm;
  size_t i, j, c, part, nd = 0, nu = 0;
  pitem *dg = NULL, *ug = NULL;

  owner_tag(owner, tag);
  gmtime_r(&t, &tm);
  strftime(day, sizeof day, "%Y-%m-%d", &tm);
  if (a != NULL && owner[0] != '\0' &&
      ck_store_owner_get(s->rt->store, owner, a, &ow, NULL) == CK_OK) {
    dest[0] = ow.email;
    dest[1] = ow.webhook;
  }
  if (dest[0][0] == '\0' && dest[1][0] == '\0') {
    dest[0] = s->o.fallback_email;
    dest[1] = s->o.fallback_webhook;
  }
  if (dest[0][0] == '\0' && dest[1][0] == '\0') {
    undeliverable(s, v, from, to);
    goto out;
  }
  if (dest[0][0] != '\0' && s->o.smtp_url[0] == '\0')
    dest[0] = ""; /* no mail server configured */
  if (dest[0][0] == '\0' && dest[1][0] == '\0') {
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "notice.no_channel", CK_S("owner", owner),
           CK_S("msg", "the owner has only an email address and [notices] "
                       "smtp_url is not set; notices wait"));
    goto out;
  }
  if ((dg = calloc(to - from, sizeof *dg)) == NULL ||
      (ug = calloc(to - from, sizeof *ug)) == NULL)
    goto out;
  for (i = from; i < to; i++) {
    if (s->o.digest && !urgent(v[i].doc, now))
      dg[nd++] = v[i];
    else
      ug[nu++] = v[i];
  }
  for (j = 0; j < nu; j += (size_t)s->o.digest_max) {
    ck_errctx err = CK_ERRCTX_INIT;
    size_t k =
        nu - j < (size_t)s->o.digest_max ? nu - j : (size_t)s->o.digest_max;
    for (c = 0; c < 2; c++)
      snprintf(ids[c], sizeof ids[c], "%s/%s/now/%lld-%zu", tag, chans[c],
               (long long)now, j);
    queue_log(make_split(s, ids, owner, dest, nu > 1, ug, j, k, now, &err),
              ids[0], &err);
  }
  if (nd == 0)
    goto out;
  /* today's digest, once: later items wait for tomorrow's */
  for (c = 0; c < 2; c++) {
    ck_store_doc d;
    snprintf(ids[c], sizeof ids[c], "%s/%s/%s/1", tag, chans[c], day);
    if (dest[c][0] != '\0' &&
        ck_store_doc_get(s->rt->store, CK_SCHED_DOC_DELIVERY, ids[c], a, &d,
                         NULL) == CK_OK)
      goto out;
  }
  for (part = 1, j = 0; j < nd; part++, j += (size_t)s->o.digest_max) {
    ck_errctx err = CK_ERRCTX_INIT;
    size_t k =
        nd - j < (size_t)s->o.digest_max ? nd - j : (size_t)s->o.digest_max;
    for (c = 0; c < 2; c++)
      snprintf(ids[c], sizeof ids[c], "%s/%s/%s/%zu", tag, chans[c], day, part);
    queue_log(make_split(s, ids, owner, dest, 1, dg, j, k, now, &err), ids[0],
              &err);
  }
out:
  free(dg);
  free(ug);
  ck_arena_free(a);
}

ck_err ck__notice_queue(ck_sched *s, int64_t now, ck_errctx *err) {
  ck_arena *a = ck_arena_new(1 << 16);
  ck_doc_filter f;
  ck_store_page pg;
  ck_store_doc *d = NULL;
  pitem *v = NULL;
  char *cursor = NULL;
  size_t n = 0, nv = 0, i, g, pages = 0;
  ck_err rc = CK_OK;

  if (a == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "notice");
  memset(&f, 0, sizeof f);
  f.kind = CK_SCHED_DOC_ITEM;
  f.state = "pending";
  do {
    pitem *nvp;
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    pg.cursor = cursor;
    if ((rc = ck_store_doc_list(s->rt->store, &f, &pg, a, &d, &n, err)) !=
        CK_OK)
      goto out;
    if (n > 0 && (nvp = realloc(v, (nv + n) * sizeof *v)) == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "notice");
      goto out;
    } else if (n > 0) {
      v = nvp;
    }
    for (i = 0; i < n; i++) {
      json_t *o = json_loads(d[i].doc, 0, NULL);
      if (!json_is_object(o)) {
        json_decref(o);
        continue;
      }
      v[nv].id = d[i].id;
      v[nv].owner = d[i].key;
      v[nv].version = d[i].version;
      v[nv].doc = o;
      nv++;
    }
    cursor = (char *)pg.next_cursor;
  } while (cursor != NULL && ++pages < QUEUE_PAGES);
  if (nv > 1)
    qsort(v, nv, sizeof *v, cmp_owner);
  for (g = 0; g < nv; g = i) {
    for (i = g + 1; i < nv && strcmp(v[i].owner, v[g].owner) == 0; i++)
      ;
    queue_owner(s, v, g, i, now);
  }
out:
  for (i = 0; i < nv; i++)
    json_decref(v[i].doc);
  free(v);
  ck_arena_free(a);
  return rc;
}
