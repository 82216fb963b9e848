/* request.c — the wf.request document (request_int.h): routing a checked
 * request, recording it in the issuance write, finding the same request
 * asked again, reading it back, delivery, KPIs and escalation. The steps
 * after submission (approve, reject, ...) are in request_act.c.
 * docs/approvals.md describes the workflow for operators. */
#include "coordinator/workflow/request_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"

static const char *const STATE_NAMES[] = {"pending", "approved", "rejected",
                                          "rework",  "issued",   "closed"};

const char *ck_wf_state_name(ck_wf_state st) {
  return (unsigned)st < CK_WF__MAX ? STATE_NAMES[st] : "?";
}

ck_err ck_wf_state_parse(const char *text, ck_wf_state *out) {
  int i;
  for (i = 0; text != NULL && i < CK_WF__MAX; i++)
    if (strcmp(text, STATE_NAMES[i]) == 0) {
      *out = (ck_wf_state)i;
      return CK_OK;
    }
  return CK_ERR_PARSE;
}

const char *ck__wf_str(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : "";
}

int64_t ck__wf_int(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* ------------------------------------------------------------- routing */

static ck_id_strength strength_of(const ck_issue_in *in) {
  ck_id_strength st;

  if (in->strength != NULL && ck_id_strength_parse(in->strength, &st) == CK_OK)
    return st;
  return in->who.kind == CK_WHO_AGENT ? CK_IDS_AGENT_MTLS : CK_IDS_API_TOKEN;
}

void ck__wf_route(const ck_issue_in *in, const ck_profile *prof,
                  const ck_profile_verdict *v, ck_route *out) {
  ck_route_in ri;

  memset(&ri, 0, sizeof ri);
  ri.profile = prof;
  ri.sans = v->sans;
  ri.n_sans = v->n_sans;
  ri.cn = v->subject_cn;
  ri.validity = v->validity;
  ri.strength = strength_of(in);
  ck_route_classify(&ri, out);
}

/* ------------------------------------------------------------ documents */

json_t *ck__wf_parse(const char *text, size_t len, ck_errctx *err) {
  static const char *const strs[] = {"id", "state", "profile", "requester",
                                     "csr", "csr_sha256", NULL};
  static const char *const ints[] = {"created_at", "submitted_at", "round",
                                     "rework_count", "reopen_count", NULL};
  json_error_t je;
  json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  ck_wf_state st;
  size_t i;

  if (o == NULL || !json_is_object(o)) {
    ck_failf(err, CK_ERR_PARSE, "request document: not a JSON object");
    goto bad;
  }
  for (i = 0; strs[i] != NULL; i++)
    if (!json_is_string(json_object_get(o, strs[i]))) {
      ck_failf(err, CK_ERR_PARSE, "request document: '%s' is not a string", strs[i]);
      goto bad;
    }
  for (i = 0; ints[i] != NULL; i++)
    if (!json_is_integer(json_object_get(o, ints[i]))) {
      ck_failf(err, CK_ERR_PARSE, "request document: '%s' is not an integer", ints[i]);
      goto bad;
    }
  if (ck_wf_state_parse(ck__wf_str(o, "state"), &st) != CK_OK ||
      !json_is_array(json_object_get(o, "approvals")) ||
      !json_is_object(json_object_get(o, "approval")) ||
      !json_is_object(json_object_get(o, "route"))) {
    ck_failf(err, CK_ERR_PARSE, "request document: bad state, approval, approvals or route");
    goto bad;
  }
  return o;
bad:
  json_decref(o);
  return NULL;
}

ck_err ck__wf_load(ck_store *s, const char *id, json_t **o, int64_t *version,
                   ck_errctx *err) {
  ck_arena *a = ck_arena_new(4096);
  ck_store_doc d;
  ck_err rc;

  *o = NULL;
  if (a == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "request");
  rc = ck_store_doc_get(s, CK_WF_KIND, id, a, &d, err);
  if (rc == CK_ERR_NOT_FOUND)
    rc = ck_failf(err, CK_ERR_NOT_FOUND, "no request '%.60s'", id);
  if (rc == CK_OK) {
    if ((*o = ck__wf_parse(d.doc, strlen(d.doc), err)) == NULL)
      rc = CK_ERR_STORE;
    *version = d.version;
  }
  ck_arena_free(a);
  return rc;
}

ck_err ck__wf_put(ck_store_write *w, json_t *o, int64_t expect_version,
                  ck_errctx *err) {
  ck_store_doc d;
  char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  ck_wf_state st = CK_WF_PENDING;
  ck_err rc;

  if (text == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "request document");
  (void)ck_wf_state_parse(ck__wf_str(o, "state"), &st);
  memset(&d, 0, sizeof d);
  d.kind = CK_WF_KIND;
  d.id = ck__wf_str(o, "id");
  d.key = ck__wf_str(o, "requester");
  d.state = ck_wf_state_name(st);
  d.due_at = st == CK_WF_PENDING ? ck__wf_int(o, "due_at") : 0;
  d.doc = text;
  rc = ck_store_write_doc_put(w, &d, expect_version, err);
  free(text);
  return rc;
}

ck_err ck__wf_audit(ck_store_write *w, const char *actor, const char *action,
                    const char *id, json_t *details, ck_errctx *err) {
  ck_audit_event ev;
  char *d = details != NULL ? json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  ck_err rc;

  memset(&ev, 0, sizeof ev);
  ev.actor = actor;
  ev.action = action;
  ev.object_type = "request";
  ev.object_id = id;
  ev.details = d != NULL ? d : "";
  rc = ck_store_write_audit(w, &ev, err);
  free(d);
  return rc;
}

static json_t *jlist(char **v, size_t n) {
  json_t *a = json_array();
  size_t i;
  for (i = 0; a != NULL && i < n; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

/* The approval rules in force for this request (a snapshot: editing the
 * profile later does not change requests already waiting). */
static json_t *approval_snapshot(const ck_profile *p) {
  const ck_profile_routing *r = p->routing;
  static char *def_roles[] = {"approver", "admin"};

  if (r == NULL || !r->has_approval)
    return json_pack("{s:o,s:[],s:i,s:[],s:i,s:[]}", "roles", jlist(def_roles, 2),
                     "named", "required", 1, "criteria", "escalate_after", 0,
                     "escalate_to");
  return json_pack("{s:o,s:o,s:i,s:o,s:I,s:o}", "roles", jlist(r->roles, r->n_roles),
                   "named", jlist(r->named, r->n_named), "required", (int)r->required,
                   "criteria", jlist(r->criteria, r->n_criteria), "escalate_after",
                   (json_int_t)r->escalate_after, "escalate_to",
                   jlist(r->escalate_to, r->n_escalate_to));
}

static json_t *route_json(const ck_route *r) {
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "decision",
                   ck_route_decision_name(r->decision), "reason", r->reason,
                   "purpose", ck_purpose_name(r->purpose), "identity",
                   ck_id_strength_name(r->strength), "blast_radius",
                   ck_blast_name(r->blast), "blast_factors", r->blast_why,
                   "mode", ck_approval_mode_name(r->mode), "ca", r->ca,
                   "validity", (json_int_t)r->validity);
}

static ck_err new_id(char *out, size_t len) {
  uint8_t rnd[8];
  char hex[17];
  ck_err rc = ck_random(rnd, sizeof rnd);

  if (rc != CK_OK)
    return rc;
  ck_hex_encode(rnd, sizeof rnd, hex);
  snprintf(out, len, "rq-%s", hex);
  return CK_OK;
}

static ck_err csr_digest(const ck_csr *csr, char hex[CK_SHA256_HEX_LEN],
                         char **pem) {
  uint8_t h[CK_SHA256_LEN];
  size_t der_len, pem_len;
  const uint8_t *der = ck_csr_der(csr, &der_len);
  ck_err rc = ck_crypto_sha256(der, der_len, h);

  if (rc != CK_OK)
    return rc;
  ck_hex_encode(h, sizeof h, hex);
  if (pem != NULL)
    return ck_pem_encode("CERTIFICATE REQUEST", der, der_len, pem, &pem_len);
  return CK_OK;
}

/* Sets the certificate fields of an issued request document. */
static ck_err set_issued(json_t *o, const ck_store_cert *sc,
                         const char *ca_chain_pem, int64_t now) {
  size_t der_len = sc->der_len, plen;
  char *pem = NULL, *chain;
  ck_err rc;

  if ((rc = ck_pem_encode("CERTIFICATE", sc->der, der_len, &pem, &plen)) != CK_OK)
    return rc;
  chain = malloc(plen + strlen(ca_chain_pem != NULL ? ca_chain_pem : "") + 1);
  if (chain == NULL) {
    free(pem);
    return CK_ERR_NOMEM;
  }
  memcpy(chain, pem, plen);
  chain[plen] = '\0';
  if (ca_chain_pem != NULL)
    memcpy(chain + plen, ca_chain_pem, strlen(ca_chain_pem) + 1);
  json_object_set_new(o, "state", json_string("issued"));
  json_object_set_new(o, "cert_fingerprint", json_string(sc->fingerprint));
  json_object_set_new(o, "cert_serial", json_string(sc->serial_hex));
  json_object_set_new(o, "cert_not_after", json_integer(sc->not_after));
  json_object_set_new(o, "cert_pem", json_string(chain));
  json_object_set_new(o, "issued_at", json_integer(now));
  json_object_set_new(o, "error", json_string(""));
  free(pem);
  free(chain);
  return CK_OK;
}

ck_err ck__wf_record(const ck__wf_ctx *c, ck_store_write *w,
                     const ck_store_cert *sc, const char *ca_chain_pem,
                     ck_issue_out *out, ck_errctx *err) {
  const ck_issue_in *in = c->in;
  char id[CK_WF_ID_MAX], hex[CK_SHA256_HEX_LEN], *pem = NULL;
  const char *name, *colon;
  json_t *o = NULL;
  int64_t now = ck_clock_now(), esc;
  ck_err rc;

  if ((rc = new_id(id, sizeof id)) != CK_OK ||
      (rc = csr_digest(c->csr, hex, &pem)) != CK_OK) {
    rc = ck_failf(err, rc, "request: id or CSR encoding");
    goto out;
  }
  colon = strchr(in->who.actor, ':');
  name = colon != NULL ? colon + 1 : in->who.actor;
  esc = c->prof->routing != NULL ? c->prof->routing->escalate_after : 0;
  o = json_pack(
      "{s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,"
      "s:s,s:o,s:o,s:[],s:i,s:i,s:[],s:i,s:i,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,"
      "s:I,s:I,s:s,s:s}",
      "id", id, "state", sc != NULL ? "issued" : "pending", "profile",
      c->prof->name, "profile_version", (json_int_t)c->prof->version,
      "requester", in->who.actor, "requester_name", name, "requester_role",
      in->who.role != NULL ? in->who.role : "", "requester_owner",
      in->who.owner != NULL ? in->who.owner : "", "agent_id",
      in->who.agent_id != NULL ? in->who.agent_id : "", "agent_group",
      in->who.group != NULL ? in->who.group : "", "agent_profiles",
      in->who.profiles != NULL ? in->who.profiles : "", "agent_patterns",
      in->who.san_patterns != NULL ? in->who.san_patterns : "", "justification",
      in->justification != NULL ? in->justification : "", "csr", pem,
      "csr_sha256", hex, "owner", in->owner != NULL ? in->owner : "",
      "validity", (json_int_t)in->validity, "identity",
      ck_id_strength_name(c->route->strength), "route", route_json(c->route),
      "approval", approval_snapshot(c->prof), "approvals", "round", 1,
      "escalations", 0, "escalated_to", "rework_count", 0, "reopen_count", 0,
      "note", "", "reason", "", "created_at", (json_int_t)now, "submitted_at",
      (json_int_t)now, "approved_at", (json_int_t)0, "issued_at", (json_int_t)0,
      "closed_at", (json_int_t)0, "due_at",
      (json_int_t)(sc == NULL && esc > 0 ? now + esc : 0), "approval_latency_s",
      (json_int_t)0, "decided_at", (json_int_t)0, "error", "", "cert_fingerprint",
      "");
  if (o == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "request document");
    goto out;
  }
  if (sc != NULL && (rc = set_issued(o, sc, ca_chain_pem, now)) != CK_OK) {
    rc = ck_failf(err, rc, "request: certificate encoding");
    goto out;
  }
  {
    json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s}", "profile", c->prof->name,
                          "decision", ck_route_decision_name(c->route->decision),
                          "reason", c->route->reason, "blast_radius",
                          ck_blast_name(c->route->blast), "purpose",
                          ck_purpose_name(c->route->purpose));
    rc = ck__wf_put(w, o, 0, err);
    if (rc == CK_OK)
      rc = ck__wf_audit(w, in->who.actor, "request.submit", id, d, err);
    json_decref(d);
    if (rc != CK_OK)
      goto out;
  }
  ck_strlcpy(out->wf_id, id, sizeof out->wf_id);
out:
  free(pem);
  json_decref(o);
  return rc;
}

/* Fills out from an issued request document (delivery to an agent that
 * sent the same CSR again). */
static ck_err deliver(json_t *o, ck_issue_out *out, ck_errctx *err) {
  const char *chain = ck__wf_str(o, "cert_pem");
  ck_pem_block blk;
  size_t pos = 0, leaf_len;
  const char *end;
  ck_err rc;

  memset(&blk, 0, sizeof blk);
  if ((rc = ck_pem_next((const uint8_t *)chain, strlen(chain), &pos, &blk, err)) != CK_OK)
    return ck_failf(err, CK_ERR_STORE, "request %s: stored certificate unreadable",
                    ck__wf_str(o, "id"));
  end = strstr(chain, "-----END CERTIFICATE-----");
  leaf_len = end != NULL ? (size_t)(end - chain) + 26 : strlen(chain);
  out->outcome = CK_ISSUE_ISSUED;
  out->leaf_der = blk.der;
  out->leaf_der_len = blk.der_len;
  blk.der = NULL;
  out->leaf_pem = strndup(chain, leaf_len);
  out->chain_pem = strdup(chain);
  ck_pem_block_clear(&blk);
  if (out->leaf_pem == NULL || out->chain_pem == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "request delivery");
  ck_strlcpy(out->fingerprint, ck__wf_str(o, "cert_fingerprint"), sizeof out->fingerprint);
  ck_strlcpy(out->serial_hex, ck__wf_str(o, "cert_serial"), sizeof out->serial_hex);
  out->not_after = ck__wf_int(o, "cert_not_after");
  out->not_before = ck__wf_int(o, "issued_at");
  ck_strlcpy(out->wf_id, ck__wf_str(o, "id"), sizeof out->wf_id);
  ck_strlcpy(out->reason, "approved", sizeof out->reason);
  return CK_OK;
}

ck_err ck__wf_find_open(const ck__wf_ctx *c, ck_issue_out *out, int *done,
                        ck_errctx *err) {
  ck_arena *a = ck_arena_new(16384);
  ck_doc_filter f;
  ck_store_page pg;
  ck_store_doc *items = NULL;
  char hex[CK_SHA256_HEX_LEN];
  size_t n = 0, i;
  int pages = 0;
  ck_err rc;

  *done = 0;
  if (a == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "request lookup");
  if ((rc = csr_digest(c->csr, hex, NULL)) != CK_OK) {
    rc = ck_failf(err, rc, "request lookup");
    goto out;
  }
  memset(&f, 0, sizeof f);
  f.kind = CK_WF_KIND;
  f.key = c->in->who.actor;
  memset(&pg, 0, sizeof pg);
  pg.limit = CK_STORE_PAGE_MAX;
  do {
    if ((rc = ck_store_doc_list(c->rt->store, &f, &pg, a, &items, &n, err)) != CK_OK)
      goto out;
    for (i = 0; i < n && !*done; i++) {
      json_t *o = ck__wf_parse(items[i].doc, strlen(items[i].doc), NULL);
      ck_wf_state st = CK_WF_REJECTED;
      if (o != NULL && strcmp(ck__wf_str(o, "csr_sha256"), hex) == 0 &&
          strcmp(ck__wf_str(o, "profile"), c->prof->name) == 0 &&
          ck_wf_state_parse(ck__wf_str(o, "state"), &st) == CK_OK &&
          st != CK_WF_REJECTED) {
        *done = 1;
        if ((st == CK_WF_ISSUED || st == CK_WF_CLOSED) &&
            ck__wf_str(o, "cert_pem")[0] != '\0') {
          rc = deliver(o, out, err);
        } else {
          out->outcome = CK_ISSUE_PENDING;
          out->request_id = ck__wf_int(o, "request_row");
          ck_strlcpy(out->wf_id, ck__wf_str(o, "id"), sizeof out->wf_id);
          snprintf(out->reason, sizeof out->reason, "request %s is %s: %s",
                   ck__wf_str(o, "id"), ck_wf_state_name(st),
                   ck__wf_str(json_object_get(o, "route"), "reason"));
        }
      }
      json_decref(o);
    }
    pg.cursor = pg.next_cursor;
  } while (!*done && pg.cursor != NULL && ++pages < 10);
out:
  ck_arena_free(a);
  return rc;
}

/* ------------------------------------------------------------ reading */

/* The answer form of a document: without the stored certificate chain. */
static char *public_json(json_t *o) {
  json_t *ap = json_object_get(o, "approval");
  json_object_del(o, "cert_pem");
  json_object_set_new(o, "approvals_count",
                      json_integer((json_int_t)json_array_size(json_object_get(o, "approvals"))));
  json_object_set_new(o, "approvals_required", json_integer(ck__wf_int(ap, "required")));
  return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

char *ck__wf_public_json(json_t *o);
char *ck__wf_public_json(json_t *o) { return public_json(o); }

ck_err ck_wf_request_get(ck_store *s, const char *id, char **doc_json,
                         ck_errctx *err) {
  json_t *o = NULL;
  int64_t version = 0;
  ck_err rc = ck__wf_load(s, id, &o, &version, err);

  *doc_json = NULL;
  if (rc == CK_OK && (*doc_json = public_json(o)) == NULL)
    rc = ck_failf(err, CK_ERR_NOMEM, "request");
  json_decref(o);
  return rc;
}

ck_err ck_wf_request_cert(ck_store *s, const char *id, char **chain_pem,
                          ck_errctx *err) {
  json_t *o = NULL;
  int64_t version = 0;
  ck_err rc = ck__wf_load(s, id, &o, &version, err);

  *chain_pem = NULL;
  if (rc == CK_OK && ck__wf_str(o, "cert_pem")[0] == '\0')
    rc = ck_failf(err, CK_ERR_CONFLICT, "request %s is %s: no certificate yet", id,
                  ck__wf_str(o, "state"));
  if (rc == CK_OK && (*chain_pem = strdup(ck__wf_str(o, "cert_pem"))) == NULL)
    rc = ck_failf(err, CK_ERR_NOMEM, "request");
  json_decref(o);
  return rc;
}

/* ---------------------------------------------------------------- KPIs */

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

ck_err ck_wf_request_kpis(ck_store *s, int64_t since, ck_wf_kpis *out,
                          ck_errctx *err) {
  ck_arena *a = NULL;
  ck_doc_filter f;
  ck_store_page pg;
  ck_store_doc *items = NULL;
  int64_t *lat = NULL;
  size_t n = 0, i, nlat = 0, cap = 0;
  char cursor[512];
  ck_err rc = CK_OK;

  memset(out, 0, sizeof *out);
  memset(&f, 0, sizeof f);
  f.kind = CK_WF_KIND;
  memset(&pg, 0, sizeof pg);
  pg.limit = CK_STORE_PAGE_MAX;
  for (;;) {
    ck_arena_free(a);
    if ((a = ck_arena_new(65536)) == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "request KPIs");
      goto out;
    }
    if ((rc = ck_store_doc_list(s, &f, &pg, a, &items, &n, err)) != CK_OK)
      goto out;
    for (i = 0; i < n; i++) {
      json_t *o = ck__wf_parse(items[i].doc, strlen(items[i].doc), NULL);
      ck_wf_state st = CK_WF_PENDING;
      int64_t rw, ro, l;
      if (o == NULL || ck__wf_int(o, "created_at") < since) {
        json_decref(o);
        continue;
      }
      (void)ck_wf_state_parse(ck__wf_str(o, "state"), &st);
      rw = ck__wf_int(o, "rework_count");
      ro = ck__wf_int(o, "reopen_count");
      out->requests++;
      out->approved += ck__wf_int(o, "approved_at") > 0;
      out->rejected += st == CK_WF_REJECTED;
      out->issued += ck__wf_int(o, "issued_at") > 0;
      out->rework_total += rw;
      out->reopen_total += ro;
      out->requests_with_rework += rw > 0;
      out->requests_reopened += ro > 0;
      if (ck__wf_int(o, "approved_at") > 0) {
        l = ck__wf_int(o, "approval_latency_s");
        if (nlat == cap) {
          size_t nc = cap ? cap * 2 : 64;
          int64_t *nl = realloc(lat, nc * sizeof *nl);
          if (nl == NULL) {
            json_decref(o);
            rc = ck_failf(err, CK_ERR_NOMEM, "request KPIs");
            goto out;
          }
          lat = nl;
          cap = nc;
        }
        lat[nlat++] = l;
      }
      json_decref(o);
    }
    if (pg.next_cursor == NULL)
      break;
    ck_strlcpy(cursor, pg.next_cursor, sizeof cursor);
    pg.cursor = cursor;
  }
  if (nlat > 0) {
    qsort(lat, nlat, sizeof *lat, cmp_i64);
    out->latency_p50_s = lat[(nlat - 1) / 2];
    out->latency_p90_s = lat[(nlat * 9 + 9) / 10 - 1];
    out->latency_max_s = lat[nlat - 1];
  }
out:
  free(lat);
  ck_arena_free(a);
  return rc;
}

/* ----------------------------------------------------------- escalation */

static ck_err escalate_one(ck_coord_rt *rt, const char *id, int64_t now,
                           int *did, ck_errctx *err) {
  ck_store_write *w = NULL;
  json_t *o = NULL, *ap, *d = NULL;
  int64_t version = 0, level, after;
  ck_err rc;

  *did = 0;
  if ((rc = ck__wf_load(rt->store, id, &o, &version, err)) != CK_OK)
    goto out;
  ap = json_object_get(o, "approval");
  after = ck__wf_int(ap, "escalate_after");
  if (strcmp(ck__wf_str(o, "state"), "pending") != 0 ||
      ck__wf_int(o, "due_at") == 0 || ck__wf_int(o, "due_at") > now)
    goto out; /* decided meanwhile */
  level = ck__wf_int(o, "escalations") + 1;
  json_object_set_new(o, "escalations", json_integer(level));
  json_object_set(o, "escalated_to", json_object_get(ap, "escalate_to"));
  json_object_set_new(o, "escalated_at", json_integer(now));
  json_object_set_new(o, "due_at", json_integer(level < CK_WF_ESCALATIONS_MAX && after > 0
                                                    ? now + after
                                                    : 0));
  d = json_pack("{s:I,s:O,s:s}", "level", (json_int_t)level, "escalate_to",
                json_object_get(ap, "escalate_to"), "profile", ck__wf_str(o, "profile"));
  if ((w = ck_store_write_new()) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "escalation");
    goto out;
  }
  if ((rc = ck__wf_put(w, o, version, err)) != CK_OK ||
      (rc = ck__wf_audit(w, "system:workflow", "request.escalate", id, d, err)) != CK_OK)
    goto out;
  rc = ck_store_submit_wait(rt->store, w, err);
  if (rc == CK_ERR_CONFLICT) { /* someone decided at the same moment */
    rc = CK_OK;
    goto out;
  }
  if (rc == CK_OK) {
    char *to = json_dumps(json_object_get(ap, "escalate_to"), JSON_COMPACT);
    *did = 1;
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "request.escalated", CK_S("request", id),
           CK_S("profile", ck__wf_str(o, "profile")), CK_I("level", level),
           CK_S("escalate_to", to != NULL ? to : "[]"));
    free(to);
  }
out:
  json_decref(d);
  json_decref(o);
  ck_store_write_free(w);
  return rc;
}

ck_err ck_wf_request_tick(ck_coord_rt *rt, int64_t now, size_t *n,
                          ck_errctx *err) {
  ck_arena *a = ck_arena_new(16384);
  ck_doc_filter f;
  ck_store_page pg;
  ck_store_doc *items = NULL;
  size_t cnt = 0, i, k = 0;
  ck_err rc;

  if (n != NULL)
    *n = 0;
  if (a == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "escalation");
  memset(&f, 0, sizeof f);
  f.kind = CK_WF_KIND;
  f.state = "pending";
  f.due_before = now + 1;
  memset(&pg, 0, sizeof pg);
  pg.limit = 200; /* the rest at the next tick */
  rc = ck_store_doc_list(rt->store, &f, &pg, a, &items, &cnt, err);
  for (i = 0; rc == CK_OK && i < cnt; i++) {
    int did = 0;
    rc = escalate_one(rt, items[i].id, now, &did, err);
    k += (size_t)did;
  }
  if (n != NULL)
    *n = k;
  ck_arena_free(a);
  return rc;
}

void ck__wf_link_row(ck_coord_rt *rt, const char *id, int64_t row) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = NULL;
  json_t *o = NULL;
  int64_t version = 0;
  ck_err rc;

  if (id == NULL || id[0] == '\0' || row <= 0)
    return;
  if ((rc = ck__wf_load(rt->store, id, &o, &version, &err)) == CK_OK) {
    json_object_set_new(o, "request_row", json_integer(row));
    if ((w = ck_store_write_new()) == NULL)
      rc = ck_failf(&err, CK_ERR_NOMEM, "request row link");
    else if ((rc = ck__wf_put(w, o, version, &err)) == CK_OK)
      rc = ck_store_submit_wait(rt->store, w, &err);
  }
  if (rc != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "request.link.failed", CK_S("request", id),
           CK_I("row", row), CK_E(rc, ck_errctx_msg(&err)));
  ck_store_write_free(w);
  json_decref(o);
}
