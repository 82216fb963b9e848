/* sched_learn.c — what a scan learns from the audit trail (read from a
 * cursor that survives restarts, "sched.cursor"): which agent manages
 * which certificate, and under which id (agents' managed.state and
 * managed.failure events carry the fingerprint of the certificate in
 * place: "sched.managed"), and which renewals this scheduler triggered an
 * agent refused (agent.command.answer): those fail at once with an
 * incident. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "coordinator/sched/sched_scan.h"

/* Agents' answers to the renewals this scheduler triggered: audit events
 * agent.command.answer requested by system:scheduler. An agent that
 * refused (an error code; "closed" only means the session ended and the
 * retry covers it, CK_ERR_BUSY that the agent is renewing already) marks
 * the renewal failed and raises an incident at once, without waiting for
 * it to be late (read_audit finds them). */
#define AUDIT_PAGES 50

void ck__sched_renewal_failed(scan *sc, renew_doc *r, const char *status,
                              const char *detail, int64_t now) {
  ck_errctx err = CK_ERRCTX_INIT;
  u64map idx = {0};
  char reason[600];
  json_t *doc, *det;
  int64_t *ix;
  size_t i;
  ck_err rc;

  for (i = 0; i < sc->n; i++)
    if (strcmp(sc->c[i].fp, r->fp) == 0)
      ck__sched_map_set(&idx, ck__sched_hkey(r->fp, NULL), (int64_t)i + 1);
  ix = ck__sched_map_find(&idx, ck__sched_hkey(r->fp, NULL));
  snprintf(reason, sizeof reason,
           "renewal failed: agent %.100s answered %.40s: %.300s", r->agent,
           status, detail);
  doc = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "fingerprint", r->fp, "agent",
                  r->agent, "target", r->target, "triggered_at",
                  (json_int_t)r->triggered_at, "attempts",
                  (json_int_t)r->attempts, "last_error", reason);
  det = json_pack("{s:s,s:s,s:s,s:s}", "agent", r->agent, "target", r->target,
                  "status", status, "detail", detail);
  rc = ck__sched_record(sc, CK_SCHED_DOC_RENEW, r->fp, r->agent, "failed",
                        r->triggered_at + sc->s->o.pol.retry, doc, r->version,
                        NULL, "sched.renew.failed", "cert", r->fp, det, &err);
  json_decref(doc);
  json_decref(det);
  if (rc == CK_OK) {
    r->version++;
    r->state = "failed";
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "sched.renew.failed", CK_S("cert", r->fp),
           CK_S("agent", r->agent), CK_S("target", r->target),
           CK_S("status", status), CK_S("detail", detail));
    if (ix != NULL && !sc->it[*ix - 1].superseded)
      ck__sched_incident(sc, (size_t)(*ix - 1), now, reason, &err);
  }
  ck__sched_map_free(&idx);
}

/* The "sched.managed" documents: which agent manages which certificate. */
ck_err ck__sched_read_managed(scan *sc, ck_errctx *err) {
  ck_doc_filter f;
  ck_store_page pg;
  ck_store_doc *d = NULL;
  ck_arena *pa = ck_arena_new(65536);
  char *cursor = NULL;
  size_t n, i;
  ck_err rc = CK_OK;

  if (pa == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "scan");
  memset(&f, 0, sizeof f);
  f.kind = CK_SCHED_DOC_MANAGED;
  do {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    pg.cursor = cursor;
    ck_arena_reset(pa);
    if ((rc = ck_store_doc_list(sc->st, &f, &pg, pa, &d, &n, err)) != CK_OK)
      break;
    for (i = 0; i < n; i++) {
      json_t *o = json_loads(d[i].doc, 0, NULL);
      const char *cid = json_string_value(json_object_get(o, "cert_id"));
      managed_ref *nm = realloc(sc->mg, (sc->nmg + 1) * sizeof *nm);
      if (nm == NULL) {
        json_decref(o);
        rc = ck_failf(err, CK_ERR_NOMEM, "scan");
        break;
      }
      sc->mg = nm;
      nm[sc->nmg].fp = ck_arena_strdup(sc->a, d[i].id);
      nm[sc->nmg].agent = ck_arena_strdup(sc->a, d[i].key);
      nm[sc->nmg].cert_id = ck_arena_strdup(sc->a, cid != NULL ? cid : "");
      json_decref(o);
      ck__sched_map_set(&sc->mg_idx, ck__sched_hkey(d[i].id, NULL),
                        (int64_t)++sc->nmg);
    }
    cursor =
        pg.next_cursor != NULL ? ck_arena_strdup(sc->a, pg.next_cursor) : NULL;
  } while (rc == CK_OK && cursor != NULL);
  ck_arena_free(pa);
  return rc;
}

/* An agent reported fp as its managed certificate cert_id: remembered in
 * "sched.managed" (written only when new or changed). */
static void learn_managed(scan *sc, const char *fp, const char *agent,
                          const char *cert_id, int64_t at) {
  int64_t *ix = ck__sched_map_find(&sc->mg_idx, ck__sched_hkey(fp, NULL));
  managed_ref *m = ix != NULL ? &sc->mg[*ix - 1] : NULL, *nm;
  ck_store_write *w;
  ck_store_doc d;
  json_t *o;
  char *text;

  if (m != NULL && strcmp(m->agent, agent) == 0 &&
      strcmp(m->cert_id, cert_id) == 0)
    return;
  o = json_pack("{s:s,s:s,s:I}", "agent", agent, "cert_id", cert_id, "at",
                (json_int_t)at);
  text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(o);
  w = ck_store_write_new();
  memset(&d, 0, sizeof d);
  d.kind = CK_SCHED_DOC_MANAGED;
  d.id = fp;
  d.key = agent;
  d.state = "managed";
  d.doc = text;
  /* the scheduler's own bookkeeping of what an agent reported (the
   * agent's event is in the audit trail already): no audit event */
  if (text != NULL && w != NULL &&
      ck_store_write_doc_put(w, &d, -1, NULL) == CK_OK &&
      ck_store_submit_wait(sc->st, w, NULL) == CK_OK) {
    if (m == NULL &&
        (nm = realloc(sc->mg, (sc->nmg + 1) * sizeof *nm)) != NULL) {
      sc->mg = nm;
      m = &nm[sc->nmg];
      m->fp = ck_arena_strdup(sc->a, fp);
      ck__sched_map_set(&sc->mg_idx, ck__sched_hkey(fp, NULL),
                        (int64_t)++sc->nmg);
    }
    if (m != NULL) {
      m->agent = ck_arena_strdup(sc->a, agent);
      m->cert_id = ck_arena_strdup(sc->a, cert_id);
    }
  }
  free(text);
  ck_store_write_free(w);
}

/* Reads the audit trail from where the previous scan stopped (the cursor
 * "sched.cursor"/audit survives restarts; at most AUDIT_PAGES pages a
 * tick): agents' managed.state/managed.failure events teach which agent
 * manages which certificate; agent.command.answer events requested by
 * this scheduler tell whether an agent refused a renewal. */
void ck__sched_read_audit(scan *sc) {
  ck_sched *s = sc->s;
  ck_arena *a = ck_arena_new(1 << 16);
  ck_audit_event *ev = NULL;
  ck_store_page pg;
  size_t n = 0, i, j, pages = 0;

  if (a == NULL)
    return;
  do {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    ck_arena_reset(a);
    if (ck_store_audit_list(sc->st, s->audit_seq, &pg, a, &ev, &n, NULL) !=
        CK_OK)
      break;
    for (i = 0; i < n; i++) {
      json_t *d;
      const char *by, *act, *status, *target, *detail, *fp;
      int managed_ev = strcmp(ev[i].action, "managed.state") == 0 ||
                       strcmp(ev[i].action, "managed.failure") == 0;
      s->audit_seq = ev[i].seq;
      if ((!managed_ev && strcmp(ev[i].action, "agent.command.answer") != 0) ||
          (d = json_loads(ev[i].details, 0, NULL)) == NULL)
        continue;
      if (managed_ev) {
        fp = json_string_value(json_object_get(d, "fingerprint"));
        if (fp != NULL && strncmp(ev[i].actor, "agent:", 6) == 0)
          learn_managed(sc, fp, ev[i].actor + 6, ev[i].object_id, ev[i].time);
        json_decref(d);
        continue;
      }
      by = json_string_value(json_object_get(d, "requested_by"));
      act = json_string_value(json_object_get(d, "action"));
      status = json_string_value(json_object_get(d, "status"));
      target = json_string_value(json_object_get(d, "target"));
      detail = json_string_value(json_object_get(d, "detail"));
      if (by != NULL && strcmp(by, CK_SCHED_ACTOR) == 0 && act != NULL &&
          strcmp(act, "renew") == 0 && status != NULL && target != NULL &&
          strcmp(status, "ack") != 0 && strcmp(status, "closed") != 0 &&
          strcmp(status, "CK_ERR_BUSY") != 0) /* busy: already renewing */
        for (j = 0; j < sc->nrd; j++)
          if (strcmp(sc->rd[j].agent, ev[i].object_id) == 0 &&
              strcmp(sc->rd[j].target, target) == 0 &&
              strcmp(sc->rd[j].state, "triggered") == 0 &&
              ev[i].time >= sc->rd[j].triggered_at) {
            failed_ans *nf = realloc(sc->fa, (sc->nfa + 1) * sizeof *nf);
            if (nf != NULL) {
              sc->fa = nf;
              nf[sc->nfa].rd = j;
              nf[sc->nfa].status = ck_arena_strdup(sc->a, status);
              nf[sc->nfa].detail =
                  ck_arena_strdup(sc->a, detail != NULL ? detail : "");
              sc->nfa++;
            }
            break;
          }
      json_decref(d);
    }
  } while (n == CK_STORE_PAGE_MAX && ++pages < AUDIT_PAGES);
  ck_arena_free(a);
}

/* Where read_audit starts: the stored cursor (0 on a first start: the
 * whole trail is read, AUDIT_PAGES pages a tick). */
void ck__sched_load_cursor(scan *sc) {
  ck_arena *a = ck_arena_new(1024);
  ck_store_doc d;
  json_t *o;

  sc->s->audit_seq = 0;
  if (a != NULL &&
      ck_store_doc_get(sc->st, CK_SCHED_DOC_CURSOR, "audit", a, &d, NULL) ==
          CK_OK &&
      (o = json_loads(d.doc, 0, NULL)) != NULL) {
    sc->s->audit_seq = json_integer_value(json_object_get(o, "seq"));
    json_decref(o);
  }
  ck_arena_free(a);
}

void ck__sched_save_cursor(scan *sc, int64_t from) {
  ck_store_write *w;
  ck_store_doc d;
  char text[64];

  if (sc->s->audit_seq == from)
    return;
  snprintf(text, sizeof text, "{\"seq\":%lld}", (long long)sc->s->audit_seq);
  memset(&d, 0, sizeof d);
  d.kind = CK_SCHED_DOC_CURSOR;
  d.id = "audit";
  d.doc = text;
  if ((w = ck_store_write_new()) != NULL &&
      ck_store_write_doc_put(w, &d, -1, NULL) == CK_OK)
    (void)ck_store_submit_wait(sc->st, w, NULL);
  ck_store_write_free(w);
}
