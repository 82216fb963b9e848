/* rest_inventory.c — REST resources over the inventory: agents, owners,
 * CAs and the audit trail (docs/api.md). Runs on the thread pool. */
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto.h"
#include "common/util/mem.h"
#include "coordinator/audit/audit.h"
#include "coordinator/http/rest.h"

static json_t *page_json(json_t *items, const ck_store_page *pg) {
  return json_pack("{s:o,s:o}", "items", items, "next_cursor",
                   pg->next_cursor ? json_string(pg->next_cursor) : json_null());
}

/* An agent; host is the facts it last reported (a JSON object stored by
 * the gateway, coordinator/gateway/inventory.c), null before any. */
static json_t *agent_json(const ck_store_agent *a) {
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:s,s:s}", "id", a->id, "name", a->name,
      "group", a->group, "status", ck_agent_status_name(a->status),
      "enrolled_at", rest_time(a->enrolled_at), "last_seen",
      rest_time(a->last_seen), "platform", a->platform, "version", a->version,
      "identity_fingerprint", a->identity_fp);
  json_t *h = a->host != NULL && a->host[0] != '\0'
                  ? json_loads(a->host, 0, NULL)
                  : NULL;

  if (o == NULL) {
    json_decref(h);
    return NULL;
  }
  json_object_set_new(o, "host",
                      json_is_object(h) ? json_incref(h) : json_null());
  json_decref(h);
  json_object_set_new(o, "host_updated_at",
                      a->host_at > 0 ? rest_time(a->host_at) : json_null());
  return o;
}

void ck__rest_agents(rest_call *c, char **segs, int nsegs) {
  ck_arena *a = ck_http_req_arena(c->req);
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_page pg;
  ck_store_agent *items, one;
  size_t n, i;
  json_t *arr;
  ck_err rc;

  if (nsegs >= 3 && strcmp(segs[2], "commands") == 0) {
    ck__rest_agent_commands(c, segs, nsegs); /* rest_commands.c */
    return;
  }
  if (!rest_allow(c, CK_R_ANY))
    return;
  if (strcmp(ck_http_req_method_name(c->req), "GET") != 0 &&
      strcmp(ck_http_req_method_name(c->req), "HEAD") != 0) {
    rest_problem(c, 405, "bad-request", "agents are read-only over this API");
    return;
  }
  if (nsegs == 2) {
    rc = ck_store_agent_get(c->rt->store, segs[1], a, &one, &err);
    if (rc != CK_OK)
      rest_problem_err(c, rc, ck_errctx_msg(&err));
    else
      rest_json(c, 200, agent_json(&one));
    return;
  }
  if (!rest_page(c, &pg))
    return;
  rc = ck_store_agent_list(c->rt->store, &pg, a, &items, &n, &err);
  if (rc != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  arr = json_array();
  for (i = 0; i < n; i++)
    json_array_append_new(arr, agent_json(&items[i]));
  rest_json(c, 200, page_json(arr, &pg));
}

static json_t *owner_json(const ck_store_owner *o) {
  return json_pack("{s:s,s:s,s:s,s:o,s:o}", "name", o->name, "email", o->email,
                   "webhook", o->webhook, "created_at", rest_time(o->created_at),
                   "updated_at", rest_time(o->updated_at));
}

void ck__rest_owners(rest_call *c, char **segs, int nsegs) {
  const char *m = ck_http_req_method_name(c->req);
  ck_arena *a = ck_http_req_arena(c->req);
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = NULL;
  ck_store_page pg;
  ck_store_owner *items, o;
  json_t *body = NULL, *arr;
  size_t n, i;
  int bad = 0;
  ck_err rc;

  if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
    if (!rest_allow(c, CK_R_ANY))
      return;
    if (nsegs == 2) {
      rc = ck_store_owner_get(c->rt->store, segs[1], a, &o, &err);
      if (rc != CK_OK)
        rest_problem_err(c, rc, ck_errctx_msg(&err));
      else
        rest_json(c, 200, owner_json(&o));
      return;
    }
    if (!rest_page(c, &pg))
      return;
    rc = ck_store_owner_list(c->rt->store, &pg, a, &items, &n, &err);
    if (rc != CK_OK) {
      rest_problem_err(c, rc, ck_errctx_msg(&err));
      return;
    }
    arr = json_array();
    for (i = 0; i < n; i++)
      json_array_append_new(arr, owner_json(&items[i]));
    rest_json(c, 200, page_json(arr, &pg));
    return;
  }
  if (!rest_allow(c, CK_R_OPS))
    return;
  if (nsegs != 2) {
    rest_problem(c, 405, "bad-request", "PUT and DELETE need /owners/{name}");
    return;
  }
  w = ck_store_write_new();
  if (w == NULL) {
    rest_problem_err(c, CK_ERR_NOMEM, "out of memory");
    return;
  }
  if (strcmp(m, "PUT") == 0) {
    if ((body = rest_body_object(c)) == NULL)
      goto out;
    memset(&o, 0, sizeof o);
    o.name = segs[1];
    o.email = rest_str(c, body, "email", &bad);
    o.webhook = rest_str(c, body, "webhook", &bad);
    if (bad)
      goto out;
    if (o.email == NULL)
      o.email = "";
    if (o.webhook == NULL)
      o.webhook = "";
    rc = ck_store_write_owner_put(w, &o, &err);
    if (rc == CK_OK)
      rc = rest_audit(w, c, "owner.put", "owner", o.name, body, &err);
  } else if (strcmp(m, "DELETE") == 0) {
    rc = ck_store_write_owner_del(w, segs[1], &err);
    if (rc == CK_OK)
      rc = rest_audit(w, c, "owner.delete", "owner", segs[1], NULL, &err);
  } else {
    rest_problem(c, 405, "bad-request", "owners take GET, PUT and DELETE");
    goto out;
  }
  if (rc == CK_OK)
    rc = ck_store_submit_wait(c->rt->store, w, &err);
  if (rc != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  if (strcmp(m, "DELETE") == 0) {
    rest_json(c, 200, json_pack("{s:s,s:b}", "name", segs[1], "deleted", 1));
  } else if (ck_store_owner_get(c->rt->store, segs[1], a, &o, &err) == CK_OK) {
    rest_json(c, 200, owner_json(&o));
  } else {
    rest_problem_err(c, CK_ERR_INTERNAL, ck_errctx_msg(&err));
  }
out:
  json_decref(body);
  ck_store_write_free(w);
}

void ck__rest_cas(rest_call *c, char **segs, int nsegs) {
  ck_arena *a = ck_http_req_arena(c->req);
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_page pg;
  ck_store_ca *items;
  size_t n, i;
  json_t *arr;
  ck_err rc;

  (void)segs;
  if (!rest_allow(c, CK_R_ANY))
    return;
  if (nsegs != 1) {
    rest_problem(c, 404, "not-found", "use /api/v1/cas");
    return;
  }
  memset(&pg, 0, sizeof pg);
  pg.limit = CK_STORE_PAGE_MAX;
  rc = ck_store_ca_list(c->rt->store, &pg, a, &items, &n, &err);
  if (rc != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  arr = json_array();
  for (i = 0; i < n; i++) {
    ck_cert *cert = NULL;
    const ck_cert_info *ci;
    json_t *o = json_pack("{s:s,s:b,s:I}", "name", items[i].name, "default",
                          items[i].is_default, "id", (json_int_t)items[i].id);
    if (ck_cert_parse(items[i].cert_der, items[i].cert_der_len, &cert, NULL) == CK_OK) {
      ci = ck_cert_get_info(cert);
      json_object_set_new(o, "subject", json_string(ci->subject));
      json_object_set_new(o, "not_after", rest_time(ci->not_after));
      json_object_set_new(o, "fingerprint", json_string(ci->sha256_hex));
    }
    ck_cert_free(cert);
    json_object_set_new(o, "parent", json_integer(items[i].parent_id));
    json_array_append_new(arr, o);
  }
  rest_json(c, 200, page_json(arr, &pg));
}

void ck__rest_audit(rest_call *c, char **segs, int nsegs) {
  ck_arena *a = ck_http_req_arena(c->req);
  ck_errctx err = CK_ERRCTX_INIT;
  ck_audit_report rep;
  ck_store_page pg;
  ck_audit_event *items;
  const char *after = rest_query(c, "after");
  char *end, hex[CK_SHA256_HEX_LEN];
  long long after_seq = 0;
  size_t n, i;
  json_t *arr;
  ck_err rc;

  if (!rest_allow(c, CK_R(CK_API_ADMIN) | CK_R(CK_API_AUDITOR)))
    return;
  if (nsegs == 2 && strcmp(segs[1], "verify") == 0) {
    rc = ck_audit_verify(c->rt->store, NULL, &rep, &err);
    if (rc != CK_OK) {
      rest_problem_err(c, rc, ck_errctx_msg(&err));
      return;
    }
    ck_hex_encode(rep.head_hash, sizeof rep.head_hash, hex);
    if (rep.problem == CK_AUDIT_OK)
      rest_json(c, 200, json_pack("{s:b,s:I,s:I,s:s}", "ok", 1, "rows",
                                  (json_int_t)rep.checked, "head_seq",
                                  (json_int_t)rep.head_seq, "head_hash", hex));
    else
      rest_json(c, 200, json_pack("{s:b,s:I,s:s,s:s,s:I}", "ok", 0, "first_bad",
                                  (json_int_t)rep.bad_seq, "problem",
                                  ck_audit_problem_name(rep.problem), "reason",
                                  rep.msg, "rows", (json_int_t)rep.checked));
    return;
  }
  if (nsegs != 1) {
    rest_problem(c, 404, "not-found", "use /api/v1/audit or /api/v1/audit/verify");
    return;
  }
  if (!rest_page(c, &pg))
    return;
  if (after != NULL) {
    after_seq = strtoll(after, &end, 10);
    if (*after == '\0' || *end != '\0' || after_seq < 0) {
      rest_problem(c, 400, "bad-request", "after must be a sequence number");
      return;
    }
  }
  rc = ck_store_audit_list(c->rt->store, after_seq, &pg, a, &items, &n, &err);
  if (rc != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  arr = json_array();
  for (i = 0; i < n; i++) {
    json_t *d = items[i].details[0] ? json_loads(items[i].details, 0, NULL) : NULL;
    ck_hex_encode(items[i].hash, sizeof items[i].hash, hex);
    json_array_append_new(
        arr, json_pack("{s:I,s:o,s:s,s:s,s:s,s:s,s:o,s:s}", "seq",
                       (json_int_t)items[i].seq, "time", rest_time(items[i].time),
                       "actor", items[i].actor, "action", items[i].action,
                       "object_type", items[i].object_type, "object_id",
                       items[i].object_id, "details", d ? d : json_null(), "hash", hex));
  }
  rest_json(c, 200,
            json_pack("{s:o,s:o}", "items", arr, "next_cursor",
                      n > 0 && n == (pg.limit ? pg.limit : CK_STORE_PAGE_DEFAULT)
                          ? json_integer(items[n - 1].seq)
                          : json_null()));
}
