/* svc_rest.c — the REST API front door: /api/v1/ routing, bearer-token
 * authentication, and the helpers every resource file uses (rest.h).
 *
 * Each call runs on the thread pool (ck_http_defer): authentication, store
 * reads and writes and JSON building never block the loop. */
#include "coordinator/http/rest.h"
#include "coordinator/core/secret.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"

#define REST_PREFIX "/api/v1/"
#define REST_MAX_SEGS 8

static const char *const role_names[] = {"none", "admin", "operator",
                                         "approver", "auditor", "owner"};

const char *ck_role_name(ck_role r) {
  return (unsigned)r < sizeof role_names / sizeof role_names[0] ? role_names[r]
                                                                : "none";
}

ck_role ck_role_parse(const char *s) {
  unsigned i;

  for (i = 1; s != NULL && i < sizeof role_names / sizeof role_names[0]; i++)
    if (strcmp(s, role_names[i]) == 0)
      return (ck_role)i;
  return CK_API_NONE;
}

void rest_json(rest_call *c, int status, json_t *v) {
  free(c->body);
  c->body = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
  c->body_len = c->body != NULL ? strlen(c->body) : 0;
  c->status = c->body != NULL ? status : 500;
  c->ctype = "application/json";
  json_decref(v);
}

static const char *problem_title(int status) { return ck_http_status_text(status); }

void rest_problem(rest_call *c, int status, const char *type,
                  const char *detail) {
  json_t *o = json_pack("{s:s+,s:s,s:i,s:s}", "type", "urn:certkeeper:problem:",
                        type, "title", problem_title(status), "status", status,
                        "detail", detail != NULL ? detail : "");
  free(c->body);
  c->body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  c->body_len = c->body != NULL ? strlen(c->body) : 0;
  c->status = status;
  c->ctype = "application/problem+json";
  json_decref(o);
}

void rest_problemf(rest_call *c, int status, const char *type,
                   const char *fmt, ...) {
  char buf[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  rest_problem(c, status, type, buf);
}

void rest_problem_err(rest_call *c, ck_err rc, const char *msg) {
  switch (rc) {
  case CK_ERR_NOT_FOUND:
  case CK_ERR_NOENT:
    rest_problem(c, 404, "not-found", msg);
    break;
  case CK_ERR_EXIST:
  case CK_ERR_CONFLICT:
    rest_problem(c, 409, "conflict", msg);
    break;
  case CK_ERR_DENIED:
    rest_problem(c, 403, "policy-violation", msg);
    break;
  case CK_ERR_BAD_CSR:
  case CK_ERR_BAD_PEM:
  case CK_ERR_BAD_DER:
  case CK_ERR_BAD_SIGNATURE:
    rest_problem(c, 400, "bad-csr", msg);
    break;
  case CK_ERR_INVAL:
  case CK_ERR_PARSE:
  case CK_ERR_LIMIT:
  case CK_ERR_RANGE:
    rest_problem(c, 400, "bad-request", msg);
    break;
  case CK_ERR_AUTH:
    rest_problem(c, 401, "unauthorized", msg);
    break;
  case CK_ERR_UPSTREAM: /* an upstream CA (ca/upstream_acme.h) refused or failed */
    rest_problem(c, 502, "upstream-ca", msg);
    break;
  default:
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "rest.error", CK_S("path", ck_http_req_path(c->req)),
           CK_E(rc, msg));
    rest_problem(c, 500, "internal", "internal error; see the coordinator's log");
    break;
  }
}

json_t *rest_body_object(rest_call *c) {
  const char *ct = ck_http_req_header(c->req, "Content-Type");
  const uint8_t *body;
  json_error_t je;
  json_t *v;
  size_t len;

  if (ct == NULL || strncmp(ct, "application/json", 16) != 0) {
    rest_problem(c, 415, "unsupported-media-type",
                 "the request body must be application/json");
    return NULL;
  }
  body = ck_http_req_body(c->req, &len);
  v = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
  if (v == NULL) {
    rest_problemf(c, 400, "bad-request", "malformed JSON at line %d column %d: %s",
                  je.line, je.column, je.text);
    return NULL;
  }
  if (!json_is_object(v)) {
    json_decref(v);
    rest_problem(c, 400, "bad-request", "the request body must be a JSON object");
    return NULL;
  }
  return v;
}

const char *rest_str(rest_call *c, json_t *o, const char *key, int *bad) {
  json_t *v = json_object_get(o, key);

  if (v == NULL || json_is_null(v))
    return NULL;
  if (!json_is_string(v)) {
    rest_problemf(c, 400, "bad-request", "field '%s' must be a string", key);
    *bad = 1;
    return NULL;
  }
  return json_string_value(v);
}

const char *rest_query(rest_call *c, const char *name) {
  return ck_http_req_query_param(c->req, name);
}

json_t *rest_split(const char *text, const char *sep) {
  json_t *arr = json_array();
  size_t seplen = strlen(sep);
  const char *p = text, *end;

  while (p != NULL && *p != '\0') {
    end = strstr(p, sep);
    json_array_append_new(arr, json_stringn(p, end ? (size_t)(end - p) : strlen(p)));
    p = end ? end + seplen : NULL;
  }
  return arr;
}

int rest_page(rest_call *c, ck_store_page *pg) {
  const char *l = rest_query(c, "limit");
  char *end;
  long v;

  memset(pg, 0, sizeof *pg);
  if (l != NULL) {
    v = strtol(l, &end, 10);
    if (*l == '\0' || *end != '\0' || v < 1 || v > CK_STORE_PAGE_MAX) {
      rest_problemf(c, 400, "bad-request", "limit must be 1..%d", CK_STORE_PAGE_MAX);
      return 0;
    }
    pg->limit = (unsigned)v;
  }
  pg->cursor = rest_query(c, "cursor");
  return 1;
}

json_t *rest_time(int64_t t) {
  char buf[32];

  if (t == 0)
    return json_null();
  ck_time_format_rfc3339(t, buf, sizeof buf);
  return json_string(buf);
}

ck_err rest_audit(ck_store_write *w, rest_call *c, const char *action,
                  const char *otype, const char *oid, json_t *details,
                  ck_errctx *err) {
  ck_audit_event ev;
  char *d = details != NULL ? json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  ck_err rc;

  memset(&ev, 0, sizeof ev);
  ev.actor = c->actor;
  ev.action = action;
  ev.object_type = otype != NULL ? otype : "";
  ev.object_id = oid != NULL ? oid : "";
  ev.details = d != NULL ? d : "";
  rc = ck_store_write_audit(w, &ev, err);
  free(d);
  return rc;
}

int rest_allow(rest_call *c, unsigned mask) {
  if (mask & CK_R(c->role))
    return 1;
  rest_problemf(c, 403, "forbidden", "role '%s' may not %s %s", ck_role_name(c->role),
                ck_http_req_method_name(c->req), ck_http_req_path(c->req));
  ck_log(CK_LOG_SEC, CK_LOG_WARN, "api.forbidden", CK_S("actor", c->actor),
         CK_S("role", ck_role_name(c->role)),
         CK_S("method", ck_http_req_method_name(c->req)),
         CK_S("path", ck_http_req_path(c->req)), CK_S("peer", ck_http_req_peer(c->req)));
  return 0;
}

/* Authenticates the bearer token: 1 when valid (fills role/actor). */
static int authenticate(rest_call *c) {
  const char *h = ck_http_req_header(c->req, "Authorization");
  const char *why = "missing bearer token";
  char hex[CK_SHA256_HEX_LEN];
  ck_store_apitoken t;
  ck_arena *a = ck_http_req_arena(c->req);
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  if (h != NULL && strncmp(h, "Bearer ", 7) == 0 && h[7] != '\0') {
    rc = ck_secret_hash(h + 7, hex);
    if (rc == CK_OK)
      rc = ck_store_apitoken_get(c->rt->store, hex, a, &t, &err);
    if (rc == CK_OK && !ck_ct_equal(t.hash, hex, 64)) {
      why = "unknown token";
    } else if (rc == CK_OK && t.revoked) {
      why = "token revoked";
    } else if (rc == CK_OK && t.expires_at != 0 && t.expires_at <= ck_clock_now()) {
      why = "token expired";
    } else if (rc == CK_OK) {
      c->role = ck_role_parse(t.role);
      snprintf(c->actor, sizeof c->actor, "token:%s", t.name);
      ck_strlcpy(c->owner, t.owner, sizeof c->owner);
      if (c->role != CK_API_NONE)
        return 1;
      why = "token has no valid role";
    } else if (rc == CK_ERR_NOT_FOUND || rc == CK_ERR_PARSE) {
      why = "unknown token";
    } else {
      rest_problem_err(c, rc, ck_errctx_msg(&err));
      return 0;
    }
  } else if (h != NULL) {
    why = "Authorization is not a bearer token";
  }
  ck_log(CK_LOG_SEC, CK_LOG_WARN, "api.auth.failure", CK_S("reason", why),
         CK_S("peer", ck_http_req_peer(c->req)),
         CK_S("method", ck_http_req_method_name(c->req)),
         CK_S("path", ck_http_req_path(c->req)));
  rest_problem(c, 401, "unauthorized", why);
  return 0;
}

typedef struct resource {
  const char *name;
  rest_fn fn;
} resource;

static const resource resources[] = {
    {"certificates", ck__rest_certs},  {"enrollment-tokens", ck__rest_etokens},
    {"agents", ck__rest_agents},       {"profiles", ck__rest_profiles},
    {"owners", ck__rest_owners},       {"cas", ck__rest_cas},
    {"api-tokens", ck__rest_apitokens}, {"audit", ck__rest_audit},
    {"revocation-plans", ck__rest_plans},
    {"validation", ck__rest_validation},
    {"est", ck__rest_est},
    {"acme", ck__rest_acme},
    {"requests", ck__rest_requests},   {"policy", ck__rest_policy},
    {"kpi", ck__rest_kpi},             {"scheduler", ck__rest_scheduler},
};

/* Splits rest ("certificates/abc/revoke") into segments in the arena. */
static int split_path(ck_arena *a, const char *rest, char **segs) {
  char *copy = ck_arena_strdup(a, rest), *p = copy, *s;
  int n = 0;

  if (copy == NULL)
    return -1;
  while (*p != '\0') {
    s = p;
    while (*p != '\0' && *p != '/')
      p++;
    if (*p == '/')
      *p++ = '\0';
    if (*s == '\0')
      continue;
    if (n == REST_MAX_SEGS)
      return -1;
    segs[n++] = s;
  }
  return n;
}

static void rest_work(ck_http_req *req, void *arg) {
  rest_call *c = arg;
  char *segs[REST_MAX_SEGS];
  int nsegs;
  size_t i;

  (void)req;
  if (!authenticate(c))
    return;
  nsegs = split_path(ck_http_req_arena(c->req), ck_http_req_path_rest(c->req), segs);
  if (nsegs <= 0) {
    rest_problem(c, 404, "not-found", "no such API resource");
    return;
  }
  for (i = 0; i < sizeof resources / sizeof resources[0]; i++) {
    if (strcmp(segs[0], resources[i].name) == 0) {
      resources[i].fn(c, segs, nsegs);
      if (c->status == 0)
        rest_problem(c, 500, "internal", "handler gave no answer");
      return;
    }
  }
  rest_problemf(c, 404, "not-found", "no such API resource '%s'", segs[0]);
}

static void rest_after(ck_http_req *req, void *arg) {
  rest_call *c = arg;

  if (c->location[0] != '\0')
    ck_http_add_header(req, "Location", c->location);
  ck_http_add_header(req, "Cache-Control", "no-store");
  ck_http_respond(req, c->status, c->ctype, c->body, c->body_len);
  free(c->body);
  free(c);
}

static void rest_handler(ck_http_req *req, void *arg) {
  ck_coord_rt *rt = arg;
  rest_call *c = calloc(1, sizeof *c);

  if (c == NULL) {
    ck_http_respond_status(req, 503);
    return;
  }
  c->rt = rt;
  c->req = req;
  if (ck_http_defer(req, rest_work, rest_after, c) != CK_OK) {
    free(c);
    ck_http_respond_status(req, 503);
  }
}

ck_err ck_svc_rest_register(ck_http_server *srv, ck_coord_rt *rt,
                            ck_errctx *err) {
  return ck_http_server_route_prefix(
      srv, CK_HTTP_GET | CK_HTTP_POST | CK_HTTP_PUT | CK_HTTP_DELETE,
      REST_PREFIX, rest_handler, rt, err);
}
