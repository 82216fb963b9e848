/* sched_scan.c — one scheduler tick (on the thread pool): read the
 * certificates expiring within the horizon and the scheduler's documents,
 * let plan.h decide, and record every decision in the store before acting
 * on it, with expect_version so that a restarted (or a second) coordinator
 * never repeats an action:
 *   renewal trigger  "sched.renew"    put with the version read (0: new),
 *                                     then the `renew` command is posted
 *   incident         "sched.incident" expect 0, plus its notice item
 *   notice due       "sched.item"     expect 0 (one per certificate/step)
 *   renewal seen     "sched.renewal"  expect 0 (feeds the KPIs)
 * each with its audit event in the same write. What earlier ticks learnt
 * (items known to exist, renewals recorded) is cached in memory; the store
 * stays the truth. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/wire/wire.h"
#include "coordinator/gateway/gateway.h"
#include "coordinator/policy/profile.h"
#include "coordinator/sched/sched_scan.h"
#include "coordinator/workflow/profile_cache.h"

#define SCAN_PAST (7 * 86400LL) /* expired this recently: still scanned */

static ck_err read_certs(scan *sc, int64_t now, ck_errctx *err) {
  ck_cert_filter f;
  ck_store_page pg;
  ck_store_cert *items = NULL;
  ck_arena *pa = ck_arena_new(65536);
  char *cursor = NULL;
  size_t n, i;
  ck_err rc = CK_OK;

  if (pa == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "scan");
  memset(&f, 0, sizeof f);
  f.by = CK_CERTQ_EXPIRING;
  f.from = now - SCAN_PAST;
  f.until = now + sc->s->o.horizon;
  do {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    pg.cursor = cursor;
    ck_arena_reset(pa);
    if ((rc = ck_store_cert_list(sc->st, &f, &pg, pa, &items, &n, err)) !=
        CK_OK)
      break;
    if (sc->n + n > sc->cap) {
      size_t cap = sc->cap ? sc->cap : 1024;
      scert *nc;
      while (cap < sc->n + n)
        cap *= 2;
      if ((nc = realloc(sc->c, cap * sizeof *nc)) == NULL) {
        rc = ck_failf(err, CK_ERR_NOMEM, "scan");
        break;
      }
      sc->c = nc;
      sc->cap = cap;
    }
    for (i = 0; i < n; i++) {
      scert *c = &sc->c[sc->n];
      memcpy(c->fp, items[i].fingerprint, sizeof c->fp);
      c->subject = ck_arena_strdup(sc->a, items[i].subject);
      c->sans = ck_arena_strdup(sc->a, items[i].sans);
      c->profile = ck_arena_strdup(sc->a, items[i].profile);
      c->owner = ck_arena_strdup(sc->a, items[i].owner);
      c->key_type = ck_arena_strdup(sc->a, items[i].key_type);
      c->not_before = items[i].not_before;
      c->not_after = items[i].not_after;
      c->managed = items[i].managed;
      if (c->subject == NULL || c->sans == NULL || c->profile == NULL ||
          c->owner == NULL || c->key_type == NULL) {
        rc = ck_failf(err, CK_ERR_NOMEM, "scan");
        break;
      }
      sc->n++;
    }
    cursor =
        pg.next_cursor != NULL ? ck_arena_strdup(sc->a, pg.next_cursor) : NULL;
  } while (rc == CK_OK && cursor != NULL);
  ck_arena_free(pa);
  return rc;
}

/* Renewal triggers and incidents recorded by earlier ticks. */
static ck_err read_docs(scan *sc, ck_errctx *err) {
  ck_doc_filter f;
  ck_store_page pg;
  ck_store_doc *d = NULL;
  ck_arena *pa = ck_arena_new(65536);
  char *cursor = NULL;
  size_t n, i;
  int pass;
  ck_err rc = CK_OK;

  if (pa == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "scan");
  for (pass = 0; pass < 2 && rc == CK_OK; pass++) {
    memset(&f, 0, sizeof f);
    f.kind = pass == 0 ? CK_SCHED_DOC_RENEW : CK_SCHED_DOC_INCIDENT;
    cursor = NULL;
    do {
      memset(&pg, 0, sizeof pg);
      pg.limit = CK_STORE_PAGE_MAX;
      pg.cursor = cursor;
      ck_arena_reset(pa);
      if ((rc = ck_store_doc_list(sc->st, &f, &pg, pa, &d, &n, err)) != CK_OK)
        break;
      for (i = 0; i < n; i++) {
        uint64_t k = ck__sched_hkey(d[i].id, NULL);
        if (pass == 1) {
          ck__sched_map_set(&sc->incident, k, 1);
          continue;
        }
        {
          renew_doc *nr = realloc(sc->rd, (sc->nrd + 1) * sizeof *nr);
          json_t *o = json_loads(d[i].doc, 0, NULL);
          if (nr == NULL) {
            json_decref(o);
            rc = ck_failf(err, CK_ERR_NOMEM, "scan");
            break;
          }
          sc->rd = nr;
          nr[sc->nrd].key = k;
          nr[sc->nrd].version = d[i].version;
          nr[sc->nrd].triggered_at =
              json_integer_value(json_object_get(o, "triggered_at"));
          nr[sc->nrd].attempts =
              json_integer_value(json_object_get(o, "attempts"));
          nr[sc->nrd].agent = ck_arena_strdup(
              sc->a, json_string_value(json_object_get(o, "agent"))
                         ? json_string_value(json_object_get(o, "agent"))
                         : "");
          nr[sc->nrd].target = ck_arena_strdup(
              sc->a, json_string_value(json_object_get(o, "target"))
                         ? json_string_value(json_object_get(o, "target"))
                         : "");
          nr[sc->nrd].fp = ck_arena_strdup(sc->a, d[i].id);
          nr[sc->nrd].state = ck_arena_strdup(sc->a, d[i].state);
          json_decref(o);
          ck__sched_map_set(&sc->rd_idx, k, (int64_t)++sc->nrd);
        }
      }
      cursor = pg.next_cursor != NULL ? ck_arena_strdup(sc->a, pg.next_cursor)
                                      : NULL;
    } while (rc == CK_OK && cursor != NULL);
  }
  ck_arena_free(pa);
  return rc;
}

static int is_client_profile(const ck__sched_opts *o, const char *profile) {
  size_t i;

  for (i = 0; i < o->nclient; i++)
    if (strcmp(o->client_profiles[i], profile) == 0)
      return 1;
  return 0;
}

/* Who renews c. An agent manages it when the agent has reported it as
 * one of its managed certificates (a managed.state event carrying its
 * fingerprint: "sched.managed"); found on a host but not managed there, a
 * certificate issued here is renewed by a person. */
static ck_sched_kind kind_of(scan *sc, const scert *c) {
  if (!c->managed)
    return CK_SCHED_UNMANAGED;
  /* agents renew their own identity over the gateway */
  if (is_client_profile(&sc->s->o, c->profile) ||
      strcmp(c->profile, "agent-identity") == 0)
    return CK_SCHED_CLIENT;
  return ck__sched_map_find(&sc->mg_idx, ck__sched_hkey(c->fp, NULL)) != NULL
             ? CK_SCHED_AGENT
             : CK_SCHED_MANUAL;
}

static int64_t renew_at_of(ck_coord_rt *rt, const scert *c) {
  const ck_profile *p = NULL;
  int64_t at;

  if (c->managed && c->profile[0] != '\0' && rt->profiles != NULL &&
      ck_profile_cache_get(rt->profiles, c->profile, &p, NULL) == CK_OK) {
    at = ck_profile_renew_at(p, c->not_before, c->not_after);
    ck_profile_cache_put(rt->profiles, p);
    return at;
  }
  if (c->not_after <= c->not_before)
    return c->not_after;
  return c->not_after - (c->not_after - c->not_before) / 3;
}

/* ---------------------------------------------------------------- records */

/* Puts one document (and deletes another, when del_kind) with its audit
 * event in one write. Returns CK_ERR_CONFLICT when the expect_version
 * condition failed (someone did it already). */
ck_err ck__sched_record(scan *sc, const char *kind, const char *id,
                        const char *key, const char *state, int64_t due,
                        json_t *doc, int64_t expect, const char *del_kind,
                        const char *action, const char *otype, const char *oid,
                        json_t *details, ck_errctx *err) {
  ck_store_write *w = ck_store_write_new();
  char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
  char *dtext = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
  ck_store_doc d;
  ck_audit_event ev;
  ck_err rc;

  memset(&d, 0, sizeof d);
  d.kind = kind;
  d.id = id;
  d.key = key != NULL ? key : "";
  d.state = state;
  d.due_at = due;
  d.doc = text;
  memset(&ev, 0, sizeof ev);
  ev.actor = CK_SCHED_ACTOR;
  ev.action = action;
  ev.object_type = otype;
  ev.object_id = oid;
  ev.details = dtext != NULL ? dtext : "";
  if (w == NULL || text == NULL)
    rc = ck_failf(err, CK_ERR_NOMEM, "scan");
  else if ((rc = ck_store_write_doc_put(w, &d, expect, err)) == CK_OK &&
           (del_kind == NULL || (rc = ck_store_write_doc_del(
                                     w, del_kind, oid, -1, err)) == CK_OK) &&
           (rc = ck_store_write_audit(w, &ev, err)) == CK_OK)
    rc = ck_store_submit_wait(sc->st, w, err);
  ck_store_write_free(w);
  free(text);
  free(dtext);
  return rc;
}

static json_t *cert_json(const scert *c, ck_sched_kind kind) {
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "fingerprint", c->fp,
                   "subject", c->subject, "sans", c->sans, "profile",
                   c->profile, "owner", c->owner, "not_before",
                   (json_int_t)c->not_before, "not_after",
                   (json_int_t)c->not_after, "kind", ck_sched_kind_name(kind));
}

static void do_renewal_seen(scan *sc, size_t i, int64_t now, ck_errctx *err) {
  struct ck__sched_seen *seen = sc->s->seen;
  const scert *c = &sc->c[i], *nc = &sc->c[sc->it[i].succ];
  const ck_sched_item *succ = &sc->it[sc->it[i].succ];
  uint64_t k = ck__sched_hkey(c->fp, NULL);
  int automated = ck_sched_kind_automated(succ->kind) ||
                  ck_sched_kind_automated(sc->it[i].kind);
  int on_time = nc->not_before < c->not_after;
  int had_incident = ck__sched_map_find(&sc->incident, k) != NULL;
  char state[32];
  json_t *doc, *det;
  ck_err rc;

  if (ck__sched_map_find(&seen->renewal, k) != NULL)
    return;
  snprintf(state, sizeof state, "%s-%s", automated ? "auto" : "manual",
           on_time ? "ontime" : "late");
  doc = json_pack("{s:s,s:s,s:I,s:I,s:I,s:b,s:b,s:b,s:s}", "fingerprint", c->fp,
                  "successor", nc->fp, "not_after", (json_int_t)c->not_after,
                  "successor_not_before", (json_int_t)nc->not_before, "seen_at",
                  (json_int_t)now, "automated", automated, "on_time", on_time,
                  "incident", had_incident, "owner", c->owner);
  det = json_pack("{s:s,s:s,s:b}", "successor", nc->fp, "state", state,
                  "incident", had_incident);
  /* due_at: when the successor took over, for KPIs "since" */
  rc = ck__sched_record(sc, CK_SCHED_DOC_RENEWAL, c->fp, c->owner, state,
                        nc->not_before > 0 ? nc->not_before : 1, doc, 0,
                        CK_SCHED_DOC_RENEW, "sched.renewal", "cert", c->fp, det,
                        err);
  json_decref(doc);
  json_decref(det);
  if (rc == CK_OK || rc == CK_ERR_CONFLICT) {
    ck__sched_map_set(&seen->renewal, k, 1);
    if (rc == CK_OK)
      ck__sched_count(sc->s, &sc->s->st.renewals_seen, 1);
  }
  if (rc == CK_OK) {
    /* the old certificate's incident and agent mapping are history now */
    ck_store_write *w = ck_store_write_new();
    if (w != NULL &&
        ck_store_write_doc_del(w, CK_SCHED_DOC_INCIDENT, c->fp, -1, NULL) ==
            CK_OK &&
        ck_store_write_doc_del(w, CK_SCHED_DOC_MANAGED, c->fp, -1, NULL) ==
            CK_OK)
      (void)ck_store_submit_wait(sc->st, w, NULL);
    ck_store_write_free(w);
  }
}

/* Notice items are created in batches (a first scan of a large estate
 * creates one per certificate): one write of up to ITEM_BATCH items, each
 * with expect_version 0 and its audit event. Should one exist after all
 * (another coordinator), the batch fails as a whole and is redone item by
 * item. */
static ck_err write_items(scan *sc, pend_item *v, size_t n, ck_errctx *err) {
  ck_store_write *w = ck_store_write_new();
  ck_store_doc d;
  ck_audit_event ev;
  size_t i;
  ck_err rc = CK_OK;

  if (w == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "scan");
  for (i = 0; i < n && rc == CK_OK; i++) {
    memset(&d, 0, sizeof d);
    d.kind = CK_SCHED_DOC_ITEM;
    d.id = v[i].id;
    d.key = v[i].owner;
    d.state = "pending";
    d.due_at = v[i].now;
    d.doc = v[i].doc;
    memset(&ev, 0, sizeof ev);
    ev.actor = CK_SCHED_ACTOR;
    ev.action = v[i].incident ? "notice.incident" : "notice.due";
    ev.object_type = "cert";
    ev.object_id = v[i].fp;
    ev.details = v[i].det;
    if ((rc = ck_store_write_doc_put(w, &d, 0, err)) == CK_OK)
      rc = ck_store_write_audit(w, &ev, err);
  }
  if (rc == CK_OK)
    rc = ck_store_submit_wait(sc->st, w, err);
  ck_store_write_free(w);
  return rc;
}

static void flush_items(scan *sc) {
  ck_errctx err = CK_ERRCTX_INIT;
  size_t i, made = 0;
  ck_err rc;

  if (sc->npb == 0)
    return;
  rc = write_items(sc, sc->pb, sc->npb, &err);
  if (rc == CK_OK)
    made = sc->npb;
  for (i = 0; i < sc->npb; i++) {
    if (rc == CK_ERR_CONFLICT) {
      ck_errctx e1 = CK_ERRCTX_INIT;
      ck_err r1 = write_items(sc, &sc->pb[i], 1, &e1);
      made += r1 == CK_OK;
      if (r1 != CK_OK && r1 != CK_ERR_CONFLICT)
        ck_log(CK_LOG_OPS, CK_LOG_ERR, "sched.notice.store",
               CK_S("item", sc->pb[i].id), CK_E(r1, ck_errctx_msg(&e1)));
      else
        ck__sched_map_set(&sc->s->seen->noticed,
                          ck__sched_hkey(sc->pb[i].id, NULL), 1);
    } else if (rc == CK_OK) {
      ck__sched_map_set(&sc->s->seen->noticed,
                        ck__sched_hkey(sc->pb[i].id, NULL), 1);
    }
    free(sc->pb[i].doc);
    free(sc->pb[i].det);
  }
  if (rc != CK_OK && rc != CK_ERR_CONFLICT)
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "sched.notice.store",
           CK_I("items", (int64_t)sc->npb), CK_E(rc, ck_errctx_msg(&err)));
  if (made > 0)
    ck__sched_count(sc->s, &sc->s->st.notices, (int64_t)made);
  sc->npb = 0;
}

/* A notice item: what the owner must hear about c (notice.c sends it).
 * Returns CK_ERR_CONFLICT when it exists already, CK_OK when queued for
 * the next batch. */
static ck_err put_item(scan *sc, size_t i, const char *label, int incident,
                       int64_t now, const char *reason, ck_errctx *err) {
  const scert *c = &sc->c[i];
  pend_item *p;
  ck_store_doc old;
  ck_arena *a;
  json_t *doc, *det;
  char id[CK_SHA256_HEX_LEN + 32];
  int exists;

  snprintf(id, sizeof id, "%s/%s", c->fp, label);
  if (ck__sched_map_find(&sc->s->seen->noticed, ck__sched_hkey(id, NULL)) !=
      NULL)
    return CK_ERR_CONFLICT;
  /* a read is far cheaper than a write that fails (after a restart) */
  if ((a = ck_arena_new(4096)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "scan");
  exists =
      ck_store_doc_get(sc->st, CK_SCHED_DOC_ITEM, id, a, &old, NULL) == CK_OK;
  ck_arena_free(a);
  if (exists) {
    ck__sched_map_set(&sc->s->seen->noticed, ck__sched_hkey(id, NULL), 1);
    return CK_ERR_CONFLICT;
  }
  if (sc->npb == ITEM_BATCH)
    flush_items(sc);
  p = &sc->pb[sc->npb];
  memset(p, 0, sizeof *p);
  snprintf(p->id, sizeof p->id, "%s", id);
  p->owner = c->owner;
  p->fp = c->fp;
  p->incident = incident;
  p->now = now;
  doc = cert_json(c, sc->it[i].kind);
  json_object_set_new(doc, "step", json_string(label));
  json_object_set_new(doc, "incident", json_boolean(incident));
  json_object_set_new(doc, "due_at", json_integer(now));
  if (reason != NULL)
    json_object_set_new(doc, "reason", json_string(reason));
  det = json_pack("{s:s,s:s,s:I}", "step", label, "owner", c->owner,
                  "not_after", (json_int_t)c->not_after);
  p->doc = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
  p->det = json_dumps(det, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(doc);
  json_decref(det);
  if (p->doc == NULL || p->det == NULL) {
    free(p->doc);
    free(p->det);
    return ck_failf(err, CK_ERR_NOMEM, "scan");
  }
  sc->npb++;
  return CK_OK;
}

#define LATE_REASON                                                            \
  "renewal is late: no successor halfway through the renewal window"

void ck__sched_incident(scan *sc, size_t i, int64_t now, const char *reason,
                        ck_errctx *err) {
  const scert *c = &sc->c[i];
  const ck_sched_item *it = &sc->it[i];
  json_t *doc = cert_json(c, it->kind), *det;
  ck_err rc;

  json_object_set_new(doc, "raised_at", json_integer(now));
  json_object_set_new(doc, "renew_at", json_integer(it->renew_at));
  json_object_set_new(doc, "reason", json_string(reason));
  det = json_pack("{s:s,s:s,s:I,s:I,s:s}", "kind", ck_sched_kind_name(it->kind),
                  "owner", c->owner, "renew_at", (json_int_t)it->renew_at,
                  "not_after", (json_int_t)c->not_after, "reason", reason);
  rc =
      ck__sched_record(sc, CK_SCHED_DOC_INCIDENT, c->fp, c->owner, "open", 0,
                       doc, 0, NULL, "sched.incident", "cert", c->fp, det, err);
  json_decref(doc);
  json_decref(det);
  if (rc == CK_ERR_CONFLICT)
    return; /* raised before */
  if (rc != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "sched.incident.store", CK_S("cert", c->fp),
           CK_E(rc, ck_errctx_msg(err)));
    return;
  }
  ck__sched_count(sc->s, &sc->s->st.incidents, 1);
  ck_log(CK_LOG_SEC, CK_LOG_WARN, "sched.incident", CK_S("cert", c->fp),
         CK_S("subject", c->subject), CK_S("owner", c->owner),
         CK_S("kind", ck_sched_kind_name(it->kind)),
         CK_I("not_after", c->not_after), CK_S("msg", reason));
  ck_log(CK_LOG_OPS, CK_LOG_WARN, "sched.incident", CK_S("cert", c->fp),
         CK_S("owner", c->owner), CK_I("not_after", c->not_after));
  ck__sched_map_set(&sc->incident, ck__sched_hkey(c->fp, NULL), 1);
  sc->it[i].incident_raised = 1;
  if (sc->s->o.notices)
    (void)put_item(sc, i, "incident", 1, now, reason, err);
}

static void do_renew(scan *sc, size_t i, int64_t now, ck_errctx *err) {
  const scert *c = &sc->c[i];
  uint64_t k = ck__sched_hkey(c->fp, NULL);
  int64_t *ix = ck__sched_map_find(&sc->rd_idx, k),
          *mx = ck__sched_map_find(&sc->mg_idx, k);
  renew_doc *prev = ix != NULL ? &sc->rd[*ix - 1] : NULL;
  const char *agent, *path;
  ck_wire_command cmd;
  ck_wire_kv kv[2];
  json_t *doc = NULL, *det = NULL;
  ck_err rc;

  if (mx == NULL || sc->mg[*mx - 1].cert_id[0] == '\0')
    return; /* no longer known as managed: next tick re-classifies it */
  /* the managed certificate's id on the agent is the command's target */
  agent = sc->mg[*mx - 1].agent;
  path = sc->mg[*mx - 1].cert_id;
  doc = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "fingerprint", c->fp, "agent",
                  agent, "target", path, "triggered_at", (json_int_t)now,
                  "attempts", (json_int_t)(prev ? prev->attempts + 1 : 1),
                  "not_after", (json_int_t)c->not_after);
  det = json_pack("{s:s,s:s,s:I,s:I}", "agent", agent, "target", path,
                  "attempt", (json_int_t)(prev ? prev->attempts + 1 : 1),
                  "not_after", (json_int_t)c->not_after);
  /* the intent first: a restarted scheduler sees it and waits `retry` */
  rc = ck__sched_record(sc, CK_SCHED_DOC_RENEW, c->fp, agent, "triggered",
                        now + sc->s->o.pol.retry, doc, prev ? prev->version : 0,
                        NULL, "sched.renew.trigger", "cert", c->fp, det, err);
  if (rc != CK_OK) {
    if (rc != CK_ERR_CONFLICT)
      ck_log(CK_LOG_OPS, CK_LOG_ERR, "sched.renew.store", CK_S("cert", c->fp),
             CK_E(rc, ck_errctx_msg(err)));
    goto out;
  }
  ck__sched_count(sc->s, &sc->s->st.renewals, 1);
  memset(&cmd, 0, sizeof cmd);
  cmd.action = CK_WIRE_ACT_RENEW;
  cmd.target = path;
  kv[0].key = "fingerprint";
  kv[0].value = c->fp;
  kv[1].key = "reason";
  kv[1].value = "scheduled";
  cmd.args.v = kv;
  cmd.args.n = 2;
  rc = sc->s->rt->gateway != NULL
           ? ck_gateway_post_command(sc->s->rt->gateway, agent, &cmd,
                                     CK_SCHED_ACTOR, NULL, NULL, err)
           : ck_failf(err, CK_ERR_CLOSED, "the agent gateway is not running");
  ck_log(CK_LOG_OPS, rc == CK_OK ? CK_LOG_INFO : CK_LOG_WARN,
         "sched.renew.trigger", CK_S("cert", c->fp), CK_S("agent", agent),
         CK_S("target", path), CK_I("not_after", c->not_after),
         CK_S("result", rc == CK_OK ? "posted" : ck_errctx_msg(err)));
out:
  json_decref(doc);
  json_decref(det);
}

static const char *step_label(const ck_sched_cadence *cad, int step, char *buf,
                              size_t len) {
  int64_t b = cad->before[step];

  if (b % 86400 == 0)
    snprintf(buf, len, "%lldd", (long long)(b / 86400));
  else if (b % 3600 == 0)
    snprintf(buf, len, "%lldh", (long long)(b / 3600));
  else
    snprintf(buf, len, "%llds", (long long)b);
  return buf;
}

ck_err ck__sched_scan(ck_sched *s, int64_t now, ck_errctx *err) {
  scan sc;
  size_t i;
  long renewed;
  int64_t waiting = 0, audit_from;
  ck_err rc;

  memset(&sc, 0, sizeof sc);
  sc.s = s;
  sc.st = s->rt->store;
  if (s->seen == NULL && (s->seen = calloc(1, sizeof *s->seen)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "scan");
  if ((sc.a = ck_arena_new(1 << 20)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "scan");
  if (s->audit_seq < 0)
    ck__sched_load_cursor(&sc);
  audit_from = s->audit_seq;
  if ((rc = read_certs(&sc, now, err)) != CK_OK ||
      (rc = read_docs(&sc, err)) != CK_OK ||
      (rc = ck__sched_read_managed(&sc, err)) != CK_OK)
    goto out;
  ck__sched_read_audit(&sc);
  if (sc.n > 0 && (sc.it = calloc(sc.n, sizeof *sc.it)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "scan");
    goto out;
  }
  for (i = 0; i < sc.n; i++) {
    scert *c = &sc.c[i];
    ck_sched_item *it = &sc.it[i];
    uint64_t k = ck__sched_hkey(c->fp, NULL);
    int64_t *ix = ck__sched_map_find(&sc.rd_idx, k);

    it->fp = c->fp;
    it->name_hash = ck_sched_name_hash(c->subject, c->sans, c->key_type);
    it->not_before = c->not_before;
    it->not_after = c->not_after;
    it->renew_at = renew_at_of(s->rt, c);
    it->kind = kind_of(&sc, c);
    it->triggered_at = ix != NULL ? sc.rd[*ix - 1].triggered_at : 0;
    it->incident_raised = ck__sched_map_find(&sc.incident, k) != NULL;
    it->noticed_step = -1; /* items known to exist are skipped below */
    it->cadence = ck__sched_cadence_for(&s->o, c->owner, c->profile);
  }
  renewed = ck_sched_plan_run(&s->o.pol, &s->rate, sc.it, sc.n, now, NULL);
  for (i = 0; i < sc.nfa; i++)
    ck__sched_renewal_failed(&sc, &sc.rd[sc.fa[i].rd], sc.fa[i].status,
                             sc.fa[i].detail, now);
  if (renewed < 0) {
    rc = ck_failf(err, CK_ERR_NOMEM, "scan");
    goto out;
  }
  for (i = 0; i < sc.n; i++) {
    ck_sched_item *it = &sc.it[i];
    ck_errctx e2 = CK_ERRCTX_INIT;
    char label[32];

    if (it->superseded) {
      do_renewal_seen(&sc, i, now, &e2);
      continue;
    }
    if (it->incident && !it->incident_raised)
      ck__sched_incident(&sc, i, now, LATE_REASON, &e2);
    if (it->renew)
      do_renew(&sc, i, now, &e2);
    if (it->renew_wanted)
      waiting++;
    if (it->notice_step >= 0 && s->o.notices) {
      const ck_sched_cadence *cad =
          it->cadence != NULL ? it->cadence : &s->o.pol.cadence;
      rc = put_item(&sc, i,
                    step_label(cad, it->notice_step, label, sizeof label), 0,
                    now, NULL, &e2);
      if (rc != CK_OK && rc != CK_ERR_CONFLICT)
        ck_log(CK_LOG_OPS, CK_LOG_ERR, "sched.notice.store",
               CK_S("cert", sc.c[i].fp), CK_E(rc, ck_errctx_msg(&e2)));
    }
  }
  flush_items(&sc);
  ck__sched_save_cursor(&sc, audit_from);
  rc = CK_OK;
  uv_mutex_lock(&s->mu);
  s->st.certificates = (int64_t)sc.n;
  s->st.renewals_waiting = waiting;
  uv_mutex_unlock(&s->mu);
out:
  flush_items(&sc); /* frees what an early exit left */
  free(sc.it);
  free(sc.c);
  free(sc.rd);
  ck__sched_map_free(&sc.rd_idx);
  ck__sched_map_free(&sc.mg_idx);
  free(sc.mg);
  free(sc.fa);
  ck__sched_map_free(&sc.incident);
  ck_arena_free(sc.a);
  return rc;
}
