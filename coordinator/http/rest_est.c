/* rest_est.c — REST resources for EST fleets and one-time device passwords
 * (docs/api.md "EST fleets", docs/est.md):
 *   GET    /api/v1/est/fleets               list
 *   POST   /api/v1/est/fleets               create (secret given once,
 *                                            stored salted and hashed)
 *   GET    /api/v1/est/fleets/{name}        show
 *   DELETE /api/v1/est/fleets/{name}        delete
 *   POST   /api/v1/est/fleets/{name}/otps   new one-time password (shown
 *                                            once)
 *   GET    /api/v1/est/fleets/{name}/otps   list (no passwords)
 * Admin and operator tokens; auditors may read. Every change is audited in
 * the same store write. Creating or deleting a fleet with IDevID anchors
 * rebuilds the HTTPS listener's client trust before answering, so the
 * change holds for the next handshake. Runs on the thread pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/core/secret.h"
#include "coordinator/est/fleet.h"
#include "coordinator/http/rest.h"
#include "coordinator/workflow/profile_cache.h"

#define OTP_TTL_DEFAULT (7 * 86400)

/* After a fleet with IDevID anchors was created or deleted: rebuilds the
 * HTTPS listener's client-certificate trust so the next TLS handshake
 * already sees the change (coord_rt.h https_trust_reload). A failure is
 * logged; the fleet change stands and a SIGHUP retries the rebuild. */
static void trust_reload(rest_call *c, const char *fleet) {
  ck_errctx err = CK_ERRCTX_INIT;

  if (c->rt->https_trust_reload == NULL)
    return;
  if (c->rt->https_trust_reload(c->rt, &err) != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "est.idevid.reload_failed",
           CK_S("fleet", fleet), CK_E(err.code, ck_errctx_msg(&err)));
  else
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "est.idevid.reloaded",
           CK_S("fleet", fleet));
}

/* Joins a JSON array of one-line strings with newlines into buf. 0 and a
 * 400 problem when malformed or too long. */
static int join_field(rest_call *c, json_t *body, const char *field, char *buf,
                      size_t cap) {
  json_t *arr = json_object_get(body, field), *v;
  size_t i, off = 0;

  buf[0] = '\0';
  if (arr == NULL || json_is_null(arr))
    return 1;
  if (json_is_string(arr)) { /* one value may be given bare */
    arr = json_pack("[O]", arr);
  } else if (json_is_array(arr)) {
    json_incref(arr);
  } else {
    rest_problemf(c, 400, "bad-request",
                  "field '%s' must be an array of strings", field);
    return 0;
  }
  json_array_foreach(arr, i, v) {
    const char *s = json_string_value(v);
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || strchr(s, '\n') != NULL || off + n + 2 > cap) {
      rest_problemf(c, 400, "bad-request",
                    "%s[%zu] must be a non-empty one-line string (at "
                    "most %zu bytes in all)",
                    field, i, cap - 1);
      json_decref(arr);
      return 0;
    }
    if (off > 0)
      buf[off++] = '\n';
    memcpy(buf + off, s, n);
    off += n;
    buf[off] = '\0';
  }
  json_decref(arr);
  return 1;
}

static void answer_fleet(rest_call *c, int status, const ck_estd_fleet *f) {
  char *text = ck_estd_fleet_to_json(f, 1);
  json_t *v = text != NULL ? json_loads(text, 0, NULL) : NULL;

  free(text);
  if (v == NULL) {
    rest_problem(c, 500, "internal", "out of memory");
    return;
  }
  rest_json(c, status, v);
}

static void fleet_create(rest_call *c) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = NULL;
  const ck_profile *prof = NULL;
  json_t *body = NULL, *rate, *details = NULL; /* details: rest_audit borrows */
  const char *name, *profile, *label, *secret, *idevid;
  ck_estd_fleet f;
  int bad = 0;
  ck_err rc;

  memset(&f, 0, sizeof f);
  if ((body = rest_body_object(c)) == NULL)
    return;
  name = rest_str(c, body, "name", &bad);
  profile = rest_str(c, body, "profile", &bad);
  label = rest_str(c, body, "label", &bad);
  secret = rest_str(c, body, "secret", &bad);
  idevid = rest_str(c, body, "idevid_ca", &bad);
  if (bad)
    goto out;
  if (name == NULL || profile == NULL || secret == NULL) {
    rest_problem(c, 400, "bad-request",
                 "fields 'name', 'profile' and 'secret' are required");
    goto out;
  }
  ck_strlcpy(f.name, name, sizeof f.name);
  ck_strlcpy(f.profile, profile, sizeof f.profile);
  ck_strlcpy(f.label, label != NULL ? label : "", sizeof f.label);
  if (strlen(name) >= sizeof f.name || strlen(profile) >= sizeof f.profile ||
      (label != NULL && strlen(label) >= sizeof f.label)) {
    rest_problem(c, 400, "bad-request", "name, label or profile too long");
    goto out;
  }
  if (!join_field(c, body, "patterns", f.patterns, sizeof f.patterns) ||
      !join_field(c, body, "owners", f.owners, sizeof f.owners))
    goto out;
  rate = json_object_get(body, "rate_per_minute");
  if (rate != NULL && !json_is_null(rate)) {
    if (!json_is_integer(rate) || json_integer_value(rate) < 0 ||
        json_integer_value(rate) > 1000000) {
      rest_problem(c, 400, "bad-request",
                   "rate_per_minute must be an integer 0..1000000");
      goto out;
    }
    f.rate_per_min = (unsigned)json_integer_value(rate);
  }
  if (idevid != NULL && idevid[0] != '\0') {
    if (strlen(idevid) > CK_ESTD_IDEVID_MAX) {
      rest_problem(c, 400, "bad-request", "idevid_ca is too large");
      goto out;
    }
    if ((f.idevid_pem = strdup(idevid)) == NULL) {
      rest_problem(c, 500, "internal", "out of memory");
      goto out;
    }
  }
  ck_strlcpy(f.created_by, c->actor, sizeof f.created_by);
  f.created_at = ck_clock_now();
  if ((rc = ck_estd_fleet_validate(&f, &err)) != CK_OK ||
      (rc = ck_estd_fleet_set_secret(&f, secret, &err)) != CK_OK) {
    rest_problem(c, 400, "bad-request", ck_errctx_msg(&err));
    goto out;
  }
  /* labels and names share one namespace under /.well-known/est/ */
  {
    ck_estd_fleet other;
    const char *keys[2] = {f.label, f.name};
    int k;
    for (k = 0; k < 2; k++) {
      if (keys[k][0] == '\0' ||
          ck_estd_fleet_by_label(c->rt->store, keys[k], &other, NULL) != CK_OK)
        continue;
      if (strcmp(other.name, f.name) != 0 || k == 0) {
        rest_problemf(c, 409, "conflict",
                      "EST label '%s' is already served by fleet '%s'", keys[k],
                      other.name);
        ck_estd_fleet_clear(&other);
        goto out;
      }
      ck_estd_fleet_clear(&other);
    }
  }
  if (ck_profile_cache_get(c->rt->profiles, f.profile, &prof, &err) != CK_OK) {
    rest_problemf(c, 400, "bad-request", "no profile '%s'", f.profile);
    goto out;
  }
  ck_profile_cache_put(c->rt->profiles, prof);
  if ((w = ck_store_write_new()) == NULL) {
    rest_problem(c, 500, "internal", "out of memory");
    goto out;
  }
  details = json_pack("{s:s,s:s,s:I,s:b}", "profile", f.profile, "label",
                      f.label, "rate_per_minute", (json_int_t)f.rate_per_min,
                      "idevid", f.idevid_pem != NULL);
  if ((rc = ck_estd_fleet_put(w, &f, 0, &err)) != CK_OK ||
      (rc = rest_audit(w, c, "est.fleet.create", "est.fleet", f.name, details,
                       &err)) != CK_OK ||
      (rc = ck_store_submit_wait(c->rt->store, w, &err)) != CK_OK) {
    if (rc == CK_ERR_CONFLICT)
      rest_problemf(c, 409, "conflict", "fleet '%s' already exists", f.name);
    else
      rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  f.version = 1;
  if (f.idevid_pem != NULL)
    trust_reload(c, f.name);
  snprintf(c->location, sizeof c->location, "/api/v1/est/fleets/%s", f.name);
  answer_fleet(c, 201, &f);
out:
  ck_store_write_free(w);
  ck_estd_fleet_clear(&f);
  json_decref(details);
  json_decref(body);
}

static void fleet_list(rest_call *c) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_http_req_arena(c->req);
  ck_doc_filter f;
  ck_store_page pg;
  ck_store_doc *items = NULL;
  size_t n = 0, i;
  json_t *arr;
  ck_err rc;

  if (!rest_page(c, &pg))
    return;
  memset(&f, 0, sizeof f);
  f.kind = CK_ESTD_KIND_FLEET;
  if ((rc = ck_store_doc_list(c->rt->store, &f, &pg, a, &items, &n, &err)) !=
      CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  arr = json_array();
  for (i = 0; i < n; i++) {
    ck_estd_fleet fl;
    char *text;
    if (ck_estd_fleet_from_doc(&items[i], &fl, NULL) != CK_OK)
      continue;
    text = ck_estd_fleet_to_json(&fl, 0);
    if (text != NULL)
      json_array_append_new(arr, json_loads(text, 0, NULL));
    free(text);
    ck_estd_fleet_clear(&fl);
  }
  rest_json(
      c, 200,
      json_pack("{s:o,s:o}", "items", arr, "next_cursor",
                pg.next_cursor ? json_string(pg.next_cursor) : json_null()));
}

static void fleet_delete(rest_call *c, const ck_estd_fleet *f) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = ck_store_write_new();
  ck_err rc;

  if (w == NULL) {
    rest_problem(c, 500, "internal", "out of memory");
    return;
  }
  if ((rc = ck_store_write_doc_del(w, CK_ESTD_KIND_FLEET, f->name, f->version,
                                   &err)) != CK_OK ||
      (rc = rest_audit(w, c, "est.fleet.delete", "est.fleet", f->name, NULL,
                       &err)) != CK_OK ||
      (rc = ck_store_submit_wait(c->rt->store, w, &err)) != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
  } else {
    if (f->idevid_pem != NULL)
      trust_reload(c, f->name);
    rest_json(c, 200, json_pack("{s:s,s:b}", "name", f->name, "deleted", 1));
  }
  ck_store_write_free(w);
}

static void otp_create(rest_call *c, const ck_estd_fleet *f) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = NULL;
  json_t *body = NULL, *details = NULL; /* details: rest_audit borrows */
  const char *device = NULL, *ttl = NULL;
  char created[32], expires[32];
  int64_t secs = OTP_TTL_DEFAULT;
  ck_secret sec;
  ck_estd_otp o;
  size_t len = 0;
  int bad = 0;
  ck_err rc;

  memset(&sec, 0, sizeof sec);
  memset(&o, 0, sizeof o);
  (void)ck_http_req_body(c->req, &len);
  if (len > 0) { /* the body is optional */
    if ((body = rest_body_object(c)) == NULL)
      return;
    device = rest_str(c, body, "device", &bad);
    ttl = rest_str(c, body, "ttl", &bad);
    if (bad)
      goto out;
  }
  if (device != NULL &&
      (strlen(device) >= sizeof o.device || strchr(device, '\n') != NULL ||
       strchr(device, '"') != NULL)) {
    rest_problem(c, 400, "bad-request", "device id too long or not one line");
    goto out;
  }
  if (ttl != NULL && (ck_duration_parse(ttl, &secs) != CK_OK || secs <= 0)) {
    rest_problemf(c, 400, "bad-request",
                  "ttl '%s' is not a duration (e.g. 1h, 7d)", ttl);
    goto out;
  }
  if ((rc = ck_secret_new("ckd_", &sec)) != CK_OK) {
    rest_problem_err(c, rc, "random source failed");
    goto out;
  }
  memcpy(o.hash, sec.hash_hex, sizeof o.hash);
  ck_strlcpy(o.fleet, f->name, sizeof o.fleet);
  ck_strlcpy(o.device, device != NULL ? device : "", sizeof o.device);
  ck_strlcpy(o.created_by, c->actor, sizeof o.created_by);
  o.created_at = ck_clock_now();
  o.expires_at = o.created_at + secs;
  if ((w = ck_store_write_new()) == NULL) {
    rest_problem(c, 500, "internal", "out of memory");
    goto out;
  }
  details = json_pack("{s:s,s:s,s:I}", "id", sec.id, "device", o.device,
                      "expires_at", (json_int_t)o.expires_at);
  if ((rc = ck_estd_otp_put(w, &o, 0, &err)) != CK_OK ||
      (rc = rest_audit(w, c, "est.otp.create", "est.fleet", f->name, details,
                       &err)) != CK_OK ||
      (rc = ck_store_submit_wait(c->rt->store, w, &err)) != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  ck_time_format_rfc3339(o.created_at, created, sizeof created);
  ck_time_format_rfc3339(o.expires_at, expires, sizeof expires);
  rest_json(c, 201,
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "password", sec.token, "id",
                      sec.id, "fleet", o.fleet, "device", o.device,
                      "created_at", created, "expires_at", expires));
out:
  ck_secret_wipe(&sec);
  ck_store_write_free(w);
  json_decref(details);
  json_decref(body);
}

static void otp_list(rest_call *c, const ck_estd_fleet *fl) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = ck_http_req_arena(c->req);
  ck_doc_filter f;
  ck_store_page pg;
  ck_store_doc *items = NULL;
  size_t n = 0, i;
  json_t *arr;
  ck_err rc;

  if (!rest_page(c, &pg))
    return;
  memset(&f, 0, sizeof f);
  f.kind = CK_ESTD_KIND_OTP;
  f.key = fl->name;
  if ((rc = ck_store_doc_list(c->rt->store, &f, &pg, a, &items, &n, &err)) !=
      CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  arr = json_array();
  for (i = 0; i < n; i++) {
    json_t *o = json_loads(items[i].doc, 0, NULL);
    if (o == NULL)
      continue;
    json_object_set_new(o, "state", json_string(items[i].state));
    json_array_append_new(arr, o);
  }
  rest_json(
      c, 200,
      json_pack("{s:o,s:o}", "items", arr, "next_cursor",
                pg.next_cursor ? json_string(pg.next_cursor) : json_null()));
}

void ck__rest_est(rest_call *c, char **segs, int nsegs) {
  const char *m = ck_http_req_method_name(c->req);
  int get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_estd_fleet f;
  ck_err rc;

  if (!rest_allow(c, get ? CK_R_OPS | CK_R(CK_API_AUDITOR) : CK_R_OPS))
    return;
  if (nsegs < 2 || strcmp(segs[1], "fleets") != 0 || nsegs > 4 ||
      (nsegs == 4 && strcmp(segs[3], "otps") != 0)) {
    rest_problem(c, 404, "not-found", "use /api/v1/est/fleets[/{name}[/otps]]");
    return;
  }
  if (nsegs == 2) {
    if (get)
      fleet_list(c);
    else if (strcmp(m, "POST") == 0)
      fleet_create(c);
    else
      rest_problem(c, 405, "bad-request", "est/fleets takes GET and POST");
    return;
  }
  memset(&f, 0, sizeof f);
  rc = ck_estd_fleet_get(c->rt->store, segs[2], &f, &err);
  if (rc != CK_OK) {
    rest_problem_err(
        c, rc, rc == CK_ERR_NOT_FOUND ? "no such fleet" : ck_errctx_msg(&err));
    return;
  }
  if (nsegs == 3 && get)
    answer_fleet(c, 200, &f);
  else if (nsegs == 3 && strcmp(m, "DELETE") == 0)
    fleet_delete(c, &f);
  else if (nsegs == 4 && strcmp(m, "POST") == 0)
    otp_create(c, &f);
  else if (nsegs == 4 && get)
    otp_list(c, &f);
  else
    rest_problemf(c, 405, "bad-request", "%s is not allowed here", m);
  ck_estd_fleet_clear(&f);
}
