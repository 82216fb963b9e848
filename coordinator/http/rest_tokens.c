/* rest_tokens.c — REST resources for secrets: agent enrollment tokens and
 * API tokens (docs/api.md). A token is shown once in the creation answer;
 * the store keeps only its SHA-256. Runs on the thread pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/core/secret.h"
#include "coordinator/http/rest.h"

/* Joins the strings of a JSON array with newlines into the arena; NULL and
 * a 400 problem when an element is not a string. */
static const char *join_lines(rest_call *c, json_t *arr, const char *field) {
  ck_arena *a = ck_http_req_arena(c->req);
  size_t i, len = 0, off = 0;
  json_t *v;
  char *out;

  if (arr == NULL || json_is_null(arr))
    return "";
  if (!json_is_array(arr)) {
    rest_problemf(c, 400, "bad-request", "field '%s' must be an array of strings", field);
    return NULL;
  }
  json_array_foreach(arr, i, v) {
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strchr(json_string_value(v), '\n') != NULL) {
      rest_problemf(c, 400, "bad-request", "%s[%zu] must be a non-empty one-line string",
                    field, i);
      return NULL;
    }
    len += json_string_length(v) + 1;
  }
  out = ck_arena_alloc(a, len + 1);
  if (out == NULL)
    return NULL;
  json_array_foreach(arr, i, v) {
    size_t l = json_string_length(v);
    memcpy(out + off, json_string_value(v), l);
    off += l;
    out[off++] = '\n';
  }
  if (off > 0)
    off--; /* no trailing newline */
  out[off] = '\0';
  return out;
}

/* Parses an optional "ttl" duration field into seconds (def when absent). */
static int ttl_field(rest_call *c, json_t *body, int64_t def, int64_t *out) {
  int bad = 0;
  const char *ttl = rest_str(c, body, "ttl", &bad);

  if (bad)
    return 0;
  *out = def;
  if (ttl != NULL && (ck_duration_parse(ttl, out) != CK_OK || *out <= 0)) {
    rest_problemf(c, 400, "bad-request", "ttl '%s' is not a duration (e.g. 1h, 7d)", ttl);
    return 0;
  }
  return 1;
}

void ck__rest_etokens(rest_call *c, char **segs, int nsegs) {
  const char *m = ck_http_req_method_name(c->req);
  ck_arena *a = ck_http_req_arena(c->req);
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = NULL;
  ck_store_etoken t, *items;
  ck_store_page pg;
  ck_secret sec;
  json_t *body = NULL, *arr;
  size_t n, i;
  int64_t ttl;
  int bad = 0;
  ck_err rc;

  (void)segs;
  if (!rest_allow(c, CK_R_OPS))
    return;
  if (nsegs != 1) {
    rest_problem(c, 404, "not-found", "use /api/v1/enrollment-tokens");
    return;
  }
  if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
    if (!rest_page(c, &pg))
      return;
    rc = ck_store_etoken_list(c->rt->store, &pg, a, &items, &n, &err);
    if (rc != CK_OK) {
      rest_problem_err(c, rc, ck_errctx_msg(&err));
      return;
    }
    arr = json_array();
    for (i = 0; i < n; i++)
      json_array_append_new(
          arr, json_pack("{s:s,s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:s}", "id", items[i].id,
                         "group", items[i].group, "profiles", rest_split(items[i].profiles, "\n"),
                         "san_patterns", rest_split(items[i].san_patterns, "\n"), "created_by",
                         items[i].actor, "created_at", rest_time(items[i].created_at),
                         "expires_at", rest_time(items[i].expires_at), "used_at",
                         rest_time(items[i].used_at), "used_by", items[i].used_by));
    rest_json(c, 200, json_pack("{s:o,s:o}", "items", arr, "next_cursor",
                                pg.next_cursor ? json_string(pg.next_cursor) : json_null()));
    return;
  }
  if (strcmp(m, "POST") != 0) {
    rest_problem(c, 405, "bad-request", "enrollment tokens take GET and POST");
    return;
  }
  if ((body = rest_body_object(c)) == NULL)
    return;
  memset(&t, 0, sizeof t);
  t.group = rest_str(c, body, "group", &bad);
  if (bad)
    goto out;
  if (t.group == NULL || t.group[0] == '\0') {
    rest_problem(c, 400, "bad-request", "field 'group' is required");
    goto out;
  }
  if ((t.profiles = join_lines(c, json_object_get(body, "profiles"), "profiles")) == NULL ||
      (t.san_patterns = join_lines(c, json_object_get(body, "san_patterns"),
                                   "san_patterns")) == NULL)
    goto out;
  if (t.profiles[0] == '\0') {
    rest_problem(c, 400, "bad-request", "field 'profiles' must name at least one profile");
    goto out;
  }
  if (!ttl_field(c, body, 3600, &ttl))
    goto out;
  if ((rc = ck_secret_new("cke_", &sec)) != CK_OK) {
    rest_problem_err(c, rc, "random source failed");
    goto out;
  }
  t.id = sec.id;
  memcpy(t.hash, sec.hash_hex, sizeof t.hash);
  t.actor = c->actor;
  t.created_at = ck_clock_now();
  t.expires_at = t.created_at + ttl;
  w = ck_store_write_new();
  if (w == NULL) {
    rc = ck_failf(&err, CK_ERR_NOMEM, "out of memory");
  } else {
    json_t *d = json_pack("{s:s,s:s,s:s,s:I}", "id", t.id, "group", t.group, "profiles",
                          t.profiles, "ttl", (json_int_t)ttl);
    rc = ck_store_write_etoken_put(w, &t, &err);
    if (rc == CK_OK)
      rc = rest_audit(w, c, "etoken.create", "etoken", t.id, d, &err);
    json_decref(d);
    if (rc == CK_OK)
      rc = ck_store_submit_wait(c->rt->store, w, &err);
  }
  if (rc != CK_OK) {
    ck_secret_wipe(&sec);
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  ck_log(CK_LOG_SEC, CK_LOG_NOTICE, "etoken.create", CK_S("actor", c->actor),
         CK_S("id", t.id), CK_S("group", t.group));
  rest_json(c, 201, json_pack("{s:s,s:s,s:s,s:o}", "id", t.id, "token", sec.token,
                              "group", t.group, "expires_at", rest_time(t.expires_at)));
  ck_secret_wipe(&sec);
out:
  json_decref(body);
  ck_store_write_free(w);
}

void ck__rest_apitokens(rest_call *c, char **segs, int nsegs) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = NULL;
  ck_store_apitoken t;
  const char *role, *owner;
  ck_secret sec;
  json_t *body = NULL;
  int64_t ttl;
  int bad = 0;
  ck_err rc;

  (void)segs;
  if (!rest_allow(c, CK_R(CK_API_ADMIN)))
    return;
  if (nsegs != 1 || strcmp(ck_http_req_method_name(c->req), "POST") != 0) {
    rest_problem(c, 405, "bad-request", "use POST /api/v1/api-tokens");
    return;
  }
  if ((body = rest_body_object(c)) == NULL)
    return;
  memset(&t, 0, sizeof t);
  t.name = rest_str(c, body, "name", &bad);
  role = rest_str(c, body, "role", &bad);
  owner = rest_str(c, body, "owner", &bad);
  if (bad)
    goto out;
  if (t.name == NULL || t.name[0] == '\0' || ck_role_parse(role) == CK_API_NONE) {
    rest_problem(c, 400, "bad-request",
                 "fields 'name' and 'role' (admin, operator, approver, auditor, owner) are required");
    goto out;
  }
  if (ck_role_parse(role) == CK_API_OWNER && (owner == NULL || owner[0] == '\0')) {
    rest_problem(c, 400, "bad-request", "role 'owner' needs field 'owner'");
    goto out;
  }
  if (!ttl_field(c, body, 0, &ttl))
    goto out;
  if ((rc = ck_secret_new("cka_", &sec)) != CK_OK) {
    rest_problem_err(c, rc, "random source failed");
    goto out;
  }
  t.role = role;
  t.owner = owner != NULL ? owner : "";
  memcpy(t.hash, sec.hash_hex, sizeof t.hash);
  t.created_at = ck_clock_now();
  t.expires_at = ttl > 0 ? t.created_at + ttl : 0;
  w = ck_store_write_new();
  if (w == NULL) {
    rc = ck_failf(&err, CK_ERR_NOMEM, "out of memory");
  } else {
    json_t *d = json_pack("{s:s,s:s}", "role", role, "owner", t.owner);
    rc = ck_store_write_apitoken_put(w, &t, &err);
    if (rc == CK_OK)
      rc = rest_audit(w, c, "apitoken.create", "apitoken", t.name, d, &err);
    json_decref(d);
    if (rc == CK_OK)
      rc = ck_store_submit_wait(c->rt->store, w, &err);
  }
  if (rc != CK_OK) {
    ck_secret_wipe(&sec);
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  ck_log(CK_LOG_SEC, CK_LOG_NOTICE, "apitoken.create", CK_S("actor", c->actor),
         CK_S("name", t.name), CK_S("role", role));
  rest_json(c, 201, json_pack("{s:s,s:s,s:s,s:o}", "name", t.name, "role", role,
                              "token", sec.token, "expires_at", rest_time(t.expires_at)));
  ck_secret_wipe(&sec);
out:
  json_decref(body);
  ck_store_write_free(w);
}
