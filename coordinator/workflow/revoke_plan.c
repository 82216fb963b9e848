/* revoke_plan.c — replace-then-revoke plans (revoke_plan.h): a list under
 * a mutex, mirrored to the store at each change and loaded at start, a
 * loop timer that sends one check at a time to the thread pool, and the revocation (store + audit + validation) when a plan
 * completes or reaches its deadline with force. */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/crypto/crl.h"
#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/validation/validation.h"
#include "coordinator/workflow/revoke_plan.h"

typedef struct plan_node {
  struct plan_node *next;
  ck_plan p; /* holders owned */
} plan_node;

struct ck_revoke_plans {
  ck_coord_rt *rt;
  pthread_mutex_t mu; /* plans, next_id */
  plan_node *plans;   /* newest first */
  size_t n_plans;
  int64_t next_id;
  uv_timer_t timer;
  uv_work_t work;
  int busy;    /* (loop) a check is on the pool */
  int closing; /* (loop) */
};

static const char *const state_names[] = {"waiting", "revoked", "forced", "expired",
                                          "failed"};

const char *ck_plan_state_name(ck_plan_state st) {
  return (unsigned)st < sizeof state_names / sizeof state_names[0] ? state_names[st] : "?";
}

static ck_err copy_plan(const ck_plan *in, ck_plan *out) {
  *out = *in;
  out->holders = NULL;
  if (in->n_holders > 0) {
    out->holders = malloc(in->n_holders * sizeof *out->holders);
    if (out->holders == NULL)
      return CK_ERR_NOMEM;
    memcpy(out->holders, in->holders, in->n_holders * sizeof *out->holders);
  }
  return CK_OK;
}

void ck_revoke_plans_free_copy(ck_plan *plans, size_t n) {
  size_t i;

  for (i = 0; plans != NULL && i < n; i++)
    free(plans[i].holders);
  free(plans);
}

/* Appends an audit event (details: a JSON object, stolen) and submits w. */
static ck_err audit_submit(ck_revoke_plans *p, ck_store_write *w, const char *actor,
                           const char *action, const char *fp, json_t *details,
                           ck_errctx *err) {
  char *d = details != NULL ? json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  ck_audit_event ev;
  ck_err rc;

  json_decref(details);
  memset(&ev, 0, sizeof ev);
  ev.actor = actor;
  ev.action = action;
  ev.object_type = "cert";
  ev.object_id = fp;
  ev.details = d != NULL ? d : "";
  rc = ck_store_write_audit(w, &ev, err);
  free(d);
  if (rc == CK_OK)
    rc = ck_store_submit_wait(p->rt->store, w, err);
  return rc;
}

/* ------------------------------------------------------------ persistence */

/* The plan as the JSON document the store keeps (malloc'ed; NULL on
 * out of memory). */
static char *plan_doc(const ck_plan *pl) {
  json_t *hs = json_array(), *o;
  char *s;
  size_t i;

  for (i = 0; i < pl->n_holders; i++)
    json_array_append_new(hs, json_pack("{s:s,s:s,s:b,s:I}", "agent", pl->holders[i].agent,
                                        "path", pl->holders[i].path, "done",
                                        pl->holders[i].done, "done_at",
                                        (json_int_t)pl->holders[i].done_at));
  o = json_pack("{s:I,s:s,s:s,s:I,s:i,s:s,s:I,s:I,s:I,s:b,s:i,s:s,s:o}", "id",
                (json_int_t)pl->id, "fingerprint", pl->fingerprint, "serial", pl->serial,
                "ca_id", (json_int_t)pl->ca_id, "reason", pl->reason, "actor", pl->actor,
                "created_at", (json_int_t)pl->created_at, "deadline",
                (json_int_t)pl->deadline, "finished_at", (json_int_t)pl->finished_at,
                "force", pl->force, "state", (int)pl->state, "note", pl->note, "holders", hs);
  s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return s;
}

/* Copies a string member into dst (size len); 0 when missing or too long. */
static int doc_str(json_t *o, const char *key, char *dst, size_t len) {
  const char *v = json_string_value(json_object_get(o, key));

  return v != NULL && ck_strlcpy(dst, v, len) < len;
}

/* Parses a stored plan into *out (holders malloc'ed). */
static ck_err plan_parse(const char *doc, ck_plan *out, ck_errctx *err) {
  json_t *o = json_loads(doc, 0, NULL), *hs, *h;
  size_t i;
  ck_err rc = CK_OK;

  memset(out, 0, sizeof *out);
  hs = json_object_get(o, "holders");
  if (!json_is_object(o) || !json_is_array(hs) || json_array_size(hs) > CK_PLAN_HOLDERS_MAX ||
      !doc_str(o, "fingerprint", out->fingerprint, sizeof out->fingerprint) ||
      !doc_str(o, "serial", out->serial, sizeof out->serial) ||
      !doc_str(o, "actor", out->actor, sizeof out->actor) ||
      !doc_str(o, "note", out->note, sizeof out->note)) {
    rc = ck_failf(err, CK_ERR_PARSE, "stored revocation plan: bad document");
    goto out;
  }
  out->id = json_integer_value(json_object_get(o, "id"));
  out->ca_id = json_integer_value(json_object_get(o, "ca_id"));
  out->reason = (int)json_integer_value(json_object_get(o, "reason"));
  out->created_at = json_integer_value(json_object_get(o, "created_at"));
  out->deadline = json_integer_value(json_object_get(o, "deadline"));
  out->finished_at = json_integer_value(json_object_get(o, "finished_at"));
  out->force = json_is_true(json_object_get(o, "force"));
  out->state = (ck_plan_state)json_integer_value(json_object_get(o, "state"));
  if (out->id <= 0 || (unsigned)out->state > CK_PLAN_FAILED) {
    rc = ck_failf(err, CK_ERR_PARSE, "stored revocation plan: bad id or state");
    goto out;
  }
  out->n_holders = json_array_size(hs);
  if (out->n_holders > 0 &&
      (out->holders = calloc(out->n_holders, sizeof *out->holders)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  json_array_foreach(hs, i, h) {
    if (!doc_str(h, "agent", out->holders[i].agent, sizeof out->holders[i].agent) ||
        !doc_str(h, "path", out->holders[i].path, sizeof out->holders[i].path)) {
      rc = ck_failf(err, CK_ERR_PARSE, "stored revocation plan %lld: bad holder",
                    (long long)out->id);
      goto out;
    }
    out->holders[i].done = json_is_true(json_object_get(h, "done"));
    out->holders[i].done_at = json_integer_value(json_object_get(h, "done_at"));
  }
out:
  json_decref(o);
  if (rc != CK_OK) {
    free(out->holders);
    out->holders = NULL;
    out->n_holders = 0;
  }
  return rc;
}

/* Adds the plan's row to w. */
static ck_err plan_put(ck_store_write *w, const ck_plan *pl, ck_errctx *err) {
  ck_store_plan sp;
  char *doc = plan_doc(pl);
  ck_err rc;

  if (doc == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  memset(&sp, 0, sizeof sp);
  sp.id = pl->id;
  ck_strlcpy(sp.cert_fp, pl->fingerprint, sizeof sp.cert_fp);
  sp.state = (int)pl->state;
  sp.doc = doc;
  sp.updated_at = ck_clock_now();
  rc = ck_store_write_plan_put(w, &sp, err); /* copies doc */
  free(doc);
  return rc;
}

/* Writes the plan's progress (pool thread). A failure is logged: the
 * plan goes on in memory and is written again at its next change. */
static void plan_save(ck_revoke_plans *p, const ck_plan *pl) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = ck_store_write_new();
  ck_err rc;

  if (w == NULL)
    rc = ck_failf(&err, CK_ERR_NOMEM, "out of memory");
  else if ((rc = plan_put(w, pl, &err)) == CK_OK)
    rc = ck_store_submit_wait(p->rt->store, w, &err);
  if (rc != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "revoke.plan.save", CK_I("plan", pl->id),
           CK_E(rc, ck_errctx_msg(&err)));
  ck_store_write_free(w);
}

static json_t *holders_json(const ck_plan *pl, int pending_only) {
  json_t *arr = json_array();
  size_t i;

  for (i = 0; i < pl->n_holders; i++)
    if (!pending_only || !pl->holders[i].done)
      json_array_append_new(arr, json_pack("{s:s,s:s}", "agent", pl->holders[i].agent,
                                           "path", pl->holders[i].path));
  return arr;
}

ck_err ck_revoke_plans_add(ck_revoke_plans *p, const ck_plan *in, int64_t *id,
                           ck_errctx *err) {
  ck_store_write *w = NULL;
  plan_node *n = NULL, *it;
  size_t waiting = 0;
  ck_err rc;

  if (in->n_holders > CK_PLAN_HOLDERS_MAX)
    return ck_failf(err, CK_ERR_LIMIT, "a plan holds at most %d hosts/paths",
                    CK_PLAN_HOLDERS_MAX);
  if ((n = calloc(1, sizeof *n)) == NULL || copy_plan(in, &n->p) != CK_OK) {
    free(n);
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  }
  n->p.state = CK_PLAN_WAITING;
  n->p.created_at = ck_clock_now();
  n->p.finished_at = 0;
  pthread_mutex_lock(&p->mu);
  for (it = p->plans; it != NULL; it = it->next) {
    if (it->p.state != CK_PLAN_WAITING)
      continue;
    waiting++;
    if (strcmp(it->p.fingerprint, in->fingerprint) == 0) {
      pthread_mutex_unlock(&p->mu);
      rc = ck_failf(err, CK_ERR_CONFLICT,
                    "certificate %s already has a waiting revocation plan (%lld)",
                    in->serial, (long long)it->p.id);
      goto out;
    }
  }
  if (waiting >= CK_PLAN_MAX) {
    pthread_mutex_unlock(&p->mu);
    rc = ck_failf(err, CK_ERR_LIMIT, "%d revocation plans are waiting already", CK_PLAN_MAX);
    goto out;
  }
  n->p.id = ++p->next_id;
  pthread_mutex_unlock(&p->mu);
  if ((w = ck_store_write_new()) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  /* the plan's row commits with its audit event: a restart resumes it */
  if ((rc = plan_put(w, &n->p, err)) != CK_OK)
    goto out;
  rc = audit_submit(p, w, in->actor, "cert.revoke.planned", in->fingerprint,
                    json_pack("{s:I,s:s,s:s,s:I,s:b,s:o}", "plan", (json_int_t)n->p.id,
                              "serial", in->serial, "reason",
                              ck_crl_reason_name(in->reason) ? ck_crl_reason_name(in->reason)
                                                             : "?",
                              "deadline", (json_int_t)in->deadline, "force", in->force,
                              "holders", holders_json(&n->p, 0)),
                    err);
  if (rc != CK_OK)
    goto out;
  pthread_mutex_lock(&p->mu);
  n->next = p->plans;
  p->plans = n;
  p->n_plans++;
  /* bounded memory: drop the oldest finished plans */
  while (p->n_plans > CK_PLAN_MAX) {
    plan_node **pp = &p->plans, **victim = NULL;
    for (; *pp != NULL; pp = &(*pp)->next)
      if ((*pp)->p.state != CK_PLAN_WAITING)
        victim = pp;
    if (victim == NULL)
      break;
    it = *victim;
    *victim = it->next;
    free(it->p.holders);
    free(it);
    p->n_plans--;
  }
  pthread_mutex_unlock(&p->mu);
  *id = n->p.id;
  n = NULL;
  ck_log(CK_LOG_SEC, CK_LOG_NOTICE, "cert.revoke.planned", CK_S("actor", in->actor),
         CK_S("serial", in->serial), CK_I("plan", *id), CK_I("holders", (int64_t)in->n_holders));
out:
  if (n != NULL)
    free(n->p.holders);
  free(n);
  ck_store_write_free(w);
  return rc;
}

ck_err ck_revoke_plans_get(ck_revoke_plans *p, int64_t id, size_t max, ck_plan **out,
                           size_t *n, ck_errctx *err) {
  plan_node *it;
  ck_plan *arr;
  size_t k = 0;
  ck_err rc = CK_OK;

  *out = NULL;
  *n = 0;
  if (max == 0 || id != 0)
    max = id != 0 ? 1 : 100;
  if ((arr = calloc(max, sizeof *arr)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  pthread_mutex_lock(&p->mu);
  for (it = p->plans; it != NULL && k < max && rc == CK_OK; it = it->next)
    if (id == 0 || it->p.id == id)
      if ((rc = copy_plan(&it->p, &arr[k])) == CK_OK)
        k++;
  pthread_mutex_unlock(&p->mu);
  if (rc != CK_OK) {
    ck_revoke_plans_free_copy(arr, k);
    return ck_failf(err, rc, "out of memory");
  }
  if (id != 0 && k == 0) {
    free(arr);
    return ck_failf(err, CK_ERR_NOT_FOUND, "no revocation plan %lld", (long long)id);
  }
  *out = arr;
  *n = k;
  return CK_OK;
}

/* ------------------------------------------------------------- checking */

/* Revokes the plan's certificate (pool thread). */
static ck_err plan_revoke(ck_revoke_plans *p, const ck_plan *pl, const char *mode,
                          ck_errctx *err) {
  ck_store_write *w = ck_store_write_new();
  ck_store_revocation r;
  ck_err rc;

  if (w == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  memset(&r, 0, sizeof r);
  memcpy(r.cert_fp, pl->fingerprint, sizeof r.cert_fp);
  r.reason = pl->reason;
  r.actor = pl->actor;
  rc = ck_store_write_revoke(w, &r, err);
  if (rc == CK_OK)
    rc = audit_submit(p, w, pl->actor, "cert.revoke", pl->fingerprint,
                      json_pack("{s:s,s:s,s:I,s:s,s:o}", "serial", pl->serial, "reason",
                                ck_crl_reason_name(pl->reason) ? ck_crl_reason_name(pl->reason)
                                                               : "?",
                                "plan", (json_int_t)pl->id, "mode", mode, "unconfirmed",
                                holders_json(pl, 1)),
                      err);
  ck_store_write_free(w);
  if (rc == CK_OK) {
    ck_validation_revoked(p->rt->validation, pl->ca_id, pl->serial);
    ck_log(CK_LOG_SEC, CK_LOG_NOTICE, "cert.revoke", CK_S("actor", pl->actor),
           CK_S("serial", pl->serial), CK_S("fingerprint", pl->fingerprint),
           CK_S("reason", ck_crl_reason_name(pl->reason) ? ck_crl_reason_name(pl->reason) : "?"),
           CK_I("plan", pl->id), CK_S("mode", mode));
  }
  return rc;
}

/* Marks the holders whose install of the certificate is gone. */
static void check_holders(ck_revoke_plans *p, ck_plan *pl) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_arena_new(65536);
  ck_store_install *ins;
  ck_store_page pg;
  char cursor[128] = "";
  size_t n, i, h;
  char *present;

  if (a == NULL || (present = calloc(pl->n_holders + 1, 1)) == NULL) {
    ck_arena_free(a);
    return;
  }
  do {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    pg.cursor = cursor[0] != '\0' ? cursor : NULL;
    ck_arena_reset(a);
    if (ck_store_install_list(p->rt->store, pl->fingerprint, NULL, &pg, a, &ins, &n, &err) !=
        CK_OK) {
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "revoke.plan.check", CK_I("plan", pl->id),
             CK_E(err.code, ck_errctx_msg(&err)));
      free(present);
      ck_arena_free(a);
      return; /* try again next tick; nothing is marked */
    }
    for (i = 0; i < n; i++)
      for (h = 0; h < pl->n_holders; h++)
        if (strcmp(ins[i].agent_id, pl->holders[h].agent) == 0 &&
            strcmp(ins[i].path, pl->holders[h].path) == 0)
          present[h] = 1;
    if (pg.next_cursor != NULL && ck_strlcpy(cursor, pg.next_cursor, sizeof cursor) >= sizeof cursor)
      break;
  } while (pg.next_cursor != NULL);
  for (h = 0; h < pl->n_holders; h++)
    if (!present[h] && !pl->holders[h].done) {
      pl->holders[h].done = 1;
      pl->holders[h].done_at = ck_clock_now();
      ck_log(CK_LOG_OPS, CK_LOG_INFO, "revoke.plan.replaced", CK_I("plan", pl->id),
             CK_S("agent", pl->holders[h].agent), CK_S("path", pl->holders[h].path));
    }
  free(present);
  ck_arena_free(a);
}

/* Applies a checked copy back to the list. */
static void store_back(ck_revoke_plans *p, const ck_plan *pl) {
  plan_node *it;

  pthread_mutex_lock(&p->mu);
  for (it = p->plans; it != NULL; it = it->next)
    if (it->p.id == pl->id && it->p.n_holders == pl->n_holders) {
      memcpy(it->p.holders, pl->holders, pl->n_holders * sizeof *pl->holders);
      it->p.state = pl->state;
      it->p.finished_at = pl->finished_at;
      memcpy(it->p.note, pl->note, sizeof it->p.note);
    }
  pthread_mutex_unlock(&p->mu);
}

static void check_one(ck_revoke_plans *p, ck_plan *pl) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w;
  size_t h, left = 0, done_before = 0, done_after = 0;
  int64_t now = ck_clock_now();
  ck_err rc;

  for (h = 0; h < pl->n_holders; h++)
    done_before += pl->holders[h].done != 0;
  check_holders(p, pl);
  for (h = 0; h < pl->n_holders; h++)
    left += !pl->holders[h].done;
  if (left > 0 && now < pl->deadline)
    goto out;
  if (left > 0 && !pl->force) { /* deadline, no force: stop and tell */
    pl->state = CK_PLAN_EXPIRED;
    snprintf(pl->note, sizeof pl->note, "deadline passed with %zu holder(s) not replaced; "
             "not revoked", left);
    if ((w = ck_store_write_new()) != NULL) {
      audit_submit(p, w, "system", "cert.revoke.expired", pl->fingerprint,
                   json_pack("{s:I,s:s,s:o}", "plan", (json_int_t)pl->id, "serial", pl->serial,
                             "unconfirmed", holders_json(pl, 1)),
                   &err);
      ck_store_write_free(w);
    }
    ck_log(CK_LOG_SEC, CK_LOG_WARN, "cert.revoke.expired", CK_I("plan", pl->id),
           CK_S("serial", pl->serial), CK_I("unconfirmed", (int64_t)left));
  } else {
    rc = plan_revoke(p, pl, left > 0 ? "forced" : "replaced", &err);
    if (rc == CK_OK) {
      pl->state = left > 0 ? CK_PLAN_FORCED : CK_PLAN_REVOKED;
      if (left > 0)
        snprintf(pl->note, sizeof pl->note, "revoked at the deadline; %zu holder(s) had "
                 "not replaced it", left);
    } else if (rc == CK_ERR_CONFLICT) {
      pl->state = CK_PLAN_REVOKED;
      ck_strlcpy(pl->note, "already revoked by someone else", sizeof pl->note);
    } else if (rc == CK_ERR_BUSY || rc == CK_ERR_STORE) {
      goto out; /* transient: next tick */
    } else {
      pl->state = CK_PLAN_FAILED;
      ck_strlcpy(pl->note, ck_errctx_msg(&err), sizeof pl->note);
    }
  }
  pl->finished_at = now;
out:
  for (h = 0; h < pl->n_holders; h++)
    done_after += pl->holders[h].done != 0;
  if (pl->state != CK_PLAN_WAITING || done_after != done_before)
    plan_save(p, pl);
  store_back(p, pl);
}

static void check_work(uv_work_t *wk) {
  ck_revoke_plans *p = wk->data;
  plan_node *it;
  ck_plan *todo = NULL;
  size_t n = 0, cap = 0, i;

  pthread_mutex_lock(&p->mu);
  for (it = p->plans; it != NULL; it = it->next)
    if (it->p.state == CK_PLAN_WAITING)
      cap++;
  if (cap > 0 && (todo = calloc(cap, sizeof *todo)) != NULL)
    for (it = p->plans; it != NULL && n < cap; it = it->next)
      if (it->p.state == CK_PLAN_WAITING && copy_plan(&it->p, &todo[n]) == CK_OK)
        n++;
  pthread_mutex_unlock(&p->mu);
  for (i = 0; i < n; i++)
    check_one(p, &todo[i]);
  ck_revoke_plans_free_copy(todo, n);
}

static void check_done(uv_work_t *wk, int status) {
  ck_revoke_plans *p = wk->data;

  (void)status;
  p->busy = 0;
}

static void on_tick(uv_timer_t *t) {
  ck_revoke_plans *p = t->data;

  if (p->busy || p->closing)
    return;
  p->work.data = p;
  if (uv_queue_work(p->rt->loop, &p->work, check_work, check_done) == 0)
    p->busy = 1;
}

/* Reads the stored plans (oldest first, so the list ends newest first),
 * keeping at most CK_PLAN_MAX: every waiting one, then the newest finished
 * ones. A document that does not parse is skipped with a warning. */
static ck_err plans_load(ck_revoke_plans *p, ck_errctx *err) {
  ck_arena *a = ck_arena_new(1 << 20);
  ck_store_plan *items;
  ck_store_page pg;
  char cursor[64] = "";
  size_t n, i, waiting = 0;
  plan_node *node, **pp;
  ck_err rc = CK_OK;

  if (a == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  do {
    memset(&pg, 0, sizeof pg);
    pg.limit = 100;
    pg.cursor = cursor[0] != '\0' ? cursor : NULL;
    ck_arena_reset(a);
    if ((rc = ck_store_plan_list(p->rt->store, -1, &pg, a, &items, &n, err)) != CK_OK)
      goto out;
    for (i = 0; i < n; i++) {
      ck_errctx perr = CK_ERRCTX_INIT;
      if ((node = calloc(1, sizeof *node)) == NULL) {
        rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
        goto out;
      }
      if (plan_parse(items[i].doc, &node->p, &perr) != CK_OK) {
        ck_log(CK_LOG_OPS, CK_LOG_WARN, "revoke.plan.load", CK_I("plan", items[i].id),
               CK_E(perr.code, ck_errctx_msg(&perr)));
        free(node);
        continue;
      }
      node->next = p->plans;
      p->plans = node;
      p->n_plans++;
      waiting += node->p.state == CK_PLAN_WAITING;
      if (node->p.id > p->next_id)
        p->next_id = node->p.id;
    }
    if (pg.next_cursor != NULL &&
        ck_strlcpy(cursor, pg.next_cursor, sizeof cursor) >= sizeof cursor) {
      rc = ck_failf(err, CK_ERR_INTERNAL, "plan cursor too long");
      goto out;
    }
  } while (pg.next_cursor != NULL);
  /* bounded memory: drop the oldest finished plans (they stay stored) */
  while (p->n_plans > CK_PLAN_MAX) {
    plan_node **victim = NULL;
    for (pp = &p->plans; *pp != NULL; pp = &(*pp)->next)
      if ((*pp)->p.state != CK_PLAN_WAITING)
        victim = pp;
    if (victim == NULL)
      break;
    node = *victim;
    *victim = node->next;
    free(node->p.holders);
    free(node);
    p->n_plans--;
  }
  if (p->n_plans > 0)
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "revoke.plan.resumed", CK_I("plans", (int64_t)p->n_plans),
           CK_I("waiting", (int64_t)waiting));
out:
  ck_arena_free(a);
  return rc;
}

ck_err ck_revoke_plans_new(ck_coord_rt *rt, unsigned check_ms, ck_revoke_plans **out,
                           ck_errctx *err) {
  ck_revoke_plans *p = calloc(1, sizeof *p);
  ck_err rc;

  if (p == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  p->rt = rt;
  pthread_mutex_init(&p->mu, NULL);
  if ((rc = plans_load(p, err)) != CK_OK) {
    ck_revoke_plans_free(p);
    return ck_failf(err, rc, "loading the revocation plans");
  }
  uv_timer_init(rt->loop, &p->timer);
  p->timer.data = p;
  uv_timer_start(&p->timer, on_tick, check_ms ? check_ms : 2000, check_ms ? check_ms : 2000);
  *out = p;
  return CK_OK;
}

void ck_revoke_plans_close(ck_revoke_plans *p) {
  if (p == NULL || p->closing)
    return;
  p->closing = 1;
  uv_timer_stop(&p->timer);
  uv_close((uv_handle_t *)&p->timer, NULL);
}

void ck_revoke_plans_free(ck_revoke_plans *p) {
  plan_node *it, *next;

  if (p == NULL)
    return;
  while (p->busy) /* a forced stop may leave a check on the pool */
    uv_run(p->rt->loop, UV_RUN_ONCE);
  for (it = p->plans; it != NULL; it = next) {
    next = it->next;
    free(it->p.holders);
    free(it);
  }
  pthread_mutex_destroy(&p->mu);
  free(p);
}
