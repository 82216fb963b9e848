/* rest_acme.c — operators' side of the ACME server over REST
 * (docs/api.md "ACME"):
 *   POST /api/v1/acme/eab                 create an EAB key for an owner
 *   GET  /api/v1/acme/eab                 list EAB keys (never the HMAC)
 *   GET  /api/v1/acme/accounts            list ACME accounts
 *   GET  /api/v1/acme/directories         list directories
 *   PUT  /api/v1/acme/directories/{name}  create/update a directory
 * Runs on the thread pool like every REST resource (svc_rest.c). */
#include <stdio.h>
#include <string.h>

#include "common/util/mem.h"
#include "coordinator/acme/acme.h"
#include "coordinator/acme/acme_int.h"
#include "coordinator/http/rest.h"
#include "coordinator/workflow/profile_cache.h"

static void eab_create(rest_call *c) {
  ck_errctx err = CK_ERRCTX_INIT;
  json_t *body = rest_body_object(c);
  const char *owner, *dir;
  char kid[64], hmac[64];
  int bad = 0;
  ck_err rc;

  if (body == NULL)
    return;
  owner = rest_str(c, body, "owner", &bad);
  dir = bad ? NULL : rest_str(c, body, "directory", &bad);
  if (bad)
    goto out;
  if (owner == NULL || owner[0] == '\0') {
    rest_problem(c, 400, "bad-request", "owner is required");
    goto out;
  }
  if (dir != NULL && dir[0] != '\0') {
    ck_acme_dir d;
    if (!acme_dir_find(c->rt->acme, dir, &d)) {
      rest_problemf(c, 404, "not-found", "no ACME directory '%.64s'", dir);
      goto out;
    }
  }
  rc = ck_acme_eab_create(c->rt->acme, owner, dir != NULL ? dir : "", c->actor,
                          kid, hmac, &err);
  if (rc != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  rest_json(c, 201,
            json_pack("{s:s,s:s,s:s,s:s}", "kid", kid, "hmac", hmac, "owner",
                      owner, "directory", dir != NULL ? dir : ""));
  ck_wipe(hmac, sizeof hmac);
out:
  json_decref(body);
}

static json_t *eab_json(const ck_store_doc *d) {
  json_error_t je;
  json_t *doc = json_loads(d->doc, 0, &je);
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:o}", "kid", d->id, "owner", d->key, "state",
      d->state, "directory", acme_str(doc, "dir"), "account",
      acme_str(doc, "account"), "created_at", rest_time(d->created_at));
  json_decref(doc);
  return o;
}

static json_t *account_json(const ck_store_doc *d) {
  json_error_t je;
  json_t *doc = json_loads(d->doc, 0, &je);
  json_t *contact = json_object_get(doc, "contact");
  json_t *o =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:o}", "id", d->id, "directory",
                acme_str(doc, "dir"), "status", d->state, "owner",
                acme_str(doc, "owner"), "eab_kid", acme_str(doc, "eab_kid"),
                "contact", json_is_array(contact) ? contact : json_null(),
                "created_at", rest_time(d->created_at));
  json_decref(doc);
  return o;
}

static void list_dirs(rest_call *c) {
  const char *const *names = NULL;
  ck_doc_filter f = {ACME_K_DIR, NULL, NULL, 0};
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_page pg;
  ck_store_doc *items = NULL;
  size_t n = 0, i;
  json_t *arr = json_array();
  ck_acme_dir d;
  int has_default = 0;

  if (c->rt->cfg != NULL &&
      ck_config_sections(c->rt->cfg, "acme-directory:*", &names, &n) == CK_OK)
    for (i = 0; i < n; i++)
      if (acme_dir_find(c->rt->acme, names[i] + strlen("acme-directory:"),
                        &d)) {
        has_default |= strcmp(d.name, "default") == 0;
        json_array_append_new(arr,
                              json_pack("{s:s,s:s,s:b,s:b,s:s}", "name", d.name,
                                        "profile", d.profile, "eab_required",
                                        d.eab_required, "alternate_chains",
                                        d.alt_chains, "source", "config"));
      }
  memset(&pg, 0, sizeof pg);
  pg.limit = CK_STORE_PAGE_MAX;
  n = 0;
  if (ck_store_doc_list(c->rt->store, &f, &pg, ck_http_req_arena(c->req),
                        &items, &n, &err) == CK_OK)
    for (i = 0; i < n; i++)
      if (acme_dir_find(c->rt->acme, items[i].id, &d) &&
          strcmp(d.name, items[i].id) == 0) {
        has_default |= strcmp(d.name, "default") == 0;
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:b,s:b,s:s}", "name", d.name, "profile",
                           d.profile, "eab_required", d.eab_required,
                           "alternate_chains", d.alt_chains, "source", "api"));
      }
  if (!has_default)
    json_array_append_new(arr, json_pack("{s:s,s:s,s:b,s:b,s:s}", "name",
                                         "default", "profile", "tls-server",
                                         "eab_required", 1, "alternate_chains",
                                         0, "source", "built-in"));
  rest_json(c, 200, json_pack("{s:o,s:n}", "items", arr, "next_cursor"));
}

static void put_dir(rest_call *c, const char *name) {
  ck_errctx err = CK_ERRCTX_INIT;
  json_t *body = rest_body_object(c), *doc = NULL, *v;
  const ck_profile *prof = NULL;
  const char *profile;
  ck_store_write *w = NULL;
  int bad = 0, eab = 1, alt = 0;
  ck_err rc;

  if (body == NULL)
    return;
  if (!acme_dir_name_ok(name)) {
    rest_problem(
        c, 400, "bad-request",
        "directory names are [a-z0-9][a-z0-9._-]*, at most 64 characters");
    goto out;
  }
  profile = rest_str(c, body, "profile", &bad);
  if (bad)
    goto out;
  if (profile == NULL || profile[0] == '\0') {
    rest_problem(c, 400, "bad-request", "profile is required");
    goto out;
  }
  if ((rc = ck_profile_cache_get(c->rt->profiles, profile, &prof, &err)) !=
      CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  ck_profile_cache_put(c->rt->profiles, prof);
  if ((v = json_object_get(body, "eab_required")) != NULL) {
    if (!json_is_boolean(v)) {
      rest_problem(c, 400, "bad-request", "eab_required must be true or false");
      goto out;
    }
    eab = json_is_true(v);
  }
  if ((v = json_object_get(body, "alternate_chains")) != NULL) {
    if (!json_is_boolean(v)) {
      rest_problem(c, 400, "bad-request",
                   "alternate_chains must be true or false");
      goto out;
    }
    alt = json_is_true(v);
  }
  doc = json_pack("{s:s,s:b,s:b}", "profile", profile, "eab_required", eab,
                  "alternate_chains", alt);
  if (doc == NULL || (w = ck_store_write_new()) == NULL) {
    rest_problem_err(c, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  if ((rc = acme_doc_put(w, ACME_K_DIR, name, "", "", 0, doc, -1, &err)) !=
          CK_OK ||
      (rc = rest_audit(w, c, "acme.directory.put", "acme.directory", name, doc,
                       &err)) != CK_OK ||
      (rc = ck_store_submit_wait(c->rt->store, w, &err)) != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  json_object_set_new(doc, "name", json_string(name));
  rest_json(c, 200, json_incref(doc));
out:
  ck_store_write_free(w);
  json_decref(doc);
  json_decref(body);
}

void ck__rest_acme(rest_call *c, char **segs, int nsegs) {
  const char *m = ck_http_req_method_name(c->req);
  int is_get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;

  if (c->rt->acme == NULL) {
    rest_problem(c, 503, "unavailable", "the ACME server is not running");
    return;
  }
  if (nsegs == 2 && strcmp(segs[1], "eab") == 0 && strcmp(m, "POST") == 0) {
    if (rest_allow(c, CK_R_OPS))
      eab_create(c);
  } else if (nsegs == 2 && strcmp(segs[1], "eab") == 0 && is_get) {
    if (rest_allow(c, CK_R_OPS | CK_R(CK_API_AUDITOR)))
      /* EAB keys are indexed by owner */
      ck__rest_doc_page(c, ACME_K_EAB, rest_query(c, "owner"), eab_json);
  } else if (nsegs == 2 && strcmp(segs[1], "accounts") == 0 && is_get) {
    if (rest_allow(c, CK_R_OPS | CK_R(CK_API_AUDITOR)))
      ck__rest_doc_page(c, ACME_K_ACCOUNT, NULL, account_json);
  } else if (nsegs == 2 && strcmp(segs[1], "directories") == 0 && is_get) {
    if (rest_allow(c, CK_R_ANY))
      list_dirs(c);
  } else if (nsegs == 3 && strcmp(segs[1], "directories") == 0 &&
             strcmp(m, "PUT") == 0) {
    if (rest_allow(c, CK_R(CK_API_ADMIN)))
      put_dir(c, segs[2]);
  } else {
    rest_problem(c, 404, "not-found", "no such ACME resource");
  }
}
