/* rest_profiles.c — /api/v1/profiles: list, show (any version), create or
 * update as a new version (admin, optimistic If-Match), delete (a version
 * marking the profile deleted). Every change is audited and clears the
 * in-memory profile cache. Runs on the thread pool. */
#include <stdlib.h>
#include <string.h>

#include "coordinator/ca/ca.h"
#include "coordinator/http/rest.h"
#include "coordinator/policy/profile.h"
#include "coordinator/workflow/profile_cache.h"

static json_t *profile_json(const ck_store_profile *p) {
  json_t *body = json_loads(p->body, 0, NULL);

  return json_pack("{s:s,s:I,s:o,s:s,s:o,s:b}", "name", p->name, "version",
                   (json_int_t)p->version, "profile", body ? body : json_null(),
                   "changed_by", p->actor, "changed_at", rest_time(p->created_at),
                   "deleted", p->deleted);
}

static void put_profile(rest_call *c, const char *name, int del) {
  const char *im = ck_http_req_header(c->req, "If-Match");
  ck_arena *a = ck_http_req_arena(c->req);
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = NULL;
  ck_store_profile sp;
  ck_profile *p = NULL;
  char *canon = NULL, *end;
  const uint8_t *body;
  size_t len;
  int64_t expect = -1;
  json_t *d;
  ck_err rc;

  if (!rest_allow(c, CK_R(CK_API_ADMIN)))
    return;
  if (im != NULL) {
    expect = strtoll(im[0] == '"' ? im + 1 : im, &end, 10);
    if (end == im || expect < 0) {
      rest_problem(c, 400, "bad-request", "If-Match must be a profile version number");
      return;
    }
  }
  memset(&sp, 0, sizeof sp);
  sp.name = name;
  sp.actor = c->actor;
  if (del) {
    if ((rc = ck_store_profile_get(c->rt->store, name, 0, a, &sp, &err)) != CK_OK) {
      rest_problem_err(c, rc, ck_errctx_msg(&err));
      return;
    }
    sp.deleted = 1;
    sp.actor = c->actor;
  } else {
    const char *ct = ck_http_req_header(c->req, "Content-Type");
    if (ct == NULL || strncmp(ct, "application/json", 16) != 0) {
      rest_problem(c, 415, "unsupported-media-type", "the profile must be application/json");
      return;
    }
    body = ck_http_req_body(c->req, &len);
    if ((rc = ck_profile_from_json((const char *)body, len, &p, &err)) != CK_OK) {
      rest_problem(c, 400, "bad-request", ck_errctx_msg(&err));
      return;
    }
    if (strcmp(p->name, name) != 0) {
      rest_problemf(c, 400, "bad-request", "the profile's name '%s' differs from the URL's '%s'",
                    p->name, name);
      goto out;
    }
    if (p->ca[0] != '\0' && ck_ca_set_find(c->rt->cas, p->ca) == NULL) {
      rest_problemf(c, 400, "bad-request", "profile names CA '%s', which does not exist", p->ca);
      goto out;
    }
    if ((rc = ck_profile_to_json(p, 0, &canon, &err)) != CK_OK) {
      rest_problem_err(c, rc, ck_errctx_msg(&err));
      goto out;
    }
    sp.body = canon;
  }
  if ((w = ck_store_write_new()) == NULL) {
    rest_problem_err(c, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  d = json_pack("{s:b}", "deleted", del);
  rc = ck_store_write_profile_put(w, &sp, expect, &err);
  if (rc == CK_OK)
    rc = rest_audit(w, c, del ? "profile.delete" : "profile.update", "profile", name, d, &err);
  json_decref(d);
  if (rc == CK_OK)
    rc = ck_store_submit_wait(c->rt->store, w, &err);
  if (rc != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  ck_profile_cache_clear(c->rt->profiles);
  if ((rc = ck_store_profile_get(c->rt->store, name, 0, a, &sp, &err)) == CK_OK)
    rest_json(c, 200, profile_json(&sp));
  else
    rest_problem_err(c, rc, ck_errctx_msg(&err));
out:
  free(canon);
  ck_profile_free(p);
  ck_store_write_free(w);
}

void ck__rest_profiles(rest_call *c, char **segs, int nsegs) {
  const char *m = ck_http_req_method_name(c->req);
  ck_arena *a = ck_http_req_arena(c->req);
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_profile *items, one;
  ck_store_page pg;
  const char *ver;
  size_t n, i;
  json_t *arr;
  ck_err rc;

  if (strcmp(m, "PUT") == 0 && nsegs == 2) {
    put_profile(c, segs[1], 0);
    return;
  }
  if (strcmp(m, "DELETE") == 0 && nsegs == 2) {
    put_profile(c, segs[1], 1);
    return;
  }
  if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
    rest_problem(c, 405, "bad-request", "profiles take GET, PUT and DELETE");
    return;
  }
  if (!rest_allow(c, CK_R_ANY))
    return;
  if (nsegs == 2) {
    long long v = 0;
    if ((ver = rest_query(c, "version")) != NULL) {
      char *end;
      v = strtoll(ver, &end, 10);
      if (*ver == '\0' || *end != '\0' || v < 1) {
        rest_problem(c, 400, "bad-request", "version must be a positive number");
        return;
      }
    }
    rc = ck_store_profile_get(c->rt->store, segs[1], v, a, &one, &err);
    if (rc == CK_OK && one.deleted && v == 0)
      rest_problemf(c, 404, "not-found", "profile '%s' was deleted", segs[1]);
    else if (rc != CK_OK)
      rest_problem_err(c, rc, ck_errctx_msg(&err));
    else
      rest_json(c, 200, profile_json(&one));
    return;
  }
  if (!rest_page(c, &pg))
    return;
  rc = ck_store_profile_list(c->rt->store, &pg, a, &items, &n, &err);
  if (rc != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  arr = json_array();
  for (i = 0; i < n; i++)
    json_array_append_new(arr, profile_json(&items[i]));
  rest_json(c, 200, json_pack("{s:o,s:o}", "items", arr, "next_cursor",
                              pg.next_cursor ? json_string(pg.next_cursor) : json_null()));
}
