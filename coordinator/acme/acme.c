/* acme.c — the ACME server's front: start-up (EAB master key, nonces,
 * validator), one request's life (ck_acme_call: route, JWS checks — url,
 * nonce, kid/jwk rules, signature — then the resource handler), the
 * answers and the document helpers every resource file uses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/acme/acme_int.h"
#include "coordinator/acme/acme_util.h"

#define EAB_MASTER_FILE "acme-eab.key"

/* ------------------------------------------------------------ start-up */

static ck_err load_master(ck_acme *a, ck_errctx *err) {
  char path[4200];
  uint8_t *data = NULL;
  size_t len = 0;
  ck_err rc;

  if ((rc = ck_coord_path(a->rt->set.data_dir, EAB_MASTER_FILE, path,
                          sizeof path)) != CK_OK)
    return ck_failf(err, rc, "acme: data directory path too long");
  rc = ck_fs_read_file(path, 4096, &data, &len, err);
  if (rc == CK_OK) {
    if (len != sizeof a->eab_master) {
      rc = ck_failf(err, CK_ERR_CONFIG, "%s: expected %zu bytes, found %zu",
                    path, sizeof a->eab_master, len);
    } else {
      memcpy(a->eab_master, data, len);
    }
    ck_wipe(data, len);
    free(data);
    return rc;
  }
  if (rc != CK_ERR_NOENT)
    return rc;
  ck_errctx_clear(err);
  if ((rc = ck_random(a->eab_master, sizeof a->eab_master)) != CK_OK)
    return ck_failf(err, rc, "acme: EAB master key");
  return ck_fs_write_atomic(path, a->eab_master, sizeof a->eab_master, 0600,
                            err);
}

static int64_t cfg_num(const ck_config *cfg, const char *key, int64_t def) {
  int64_t v = 0;
  return cfg != NULL && ck_config_num(cfg, "acme", key, &v) == CK_OK && v > 0
             ? v
             : def;
}

ck_err ck_acme_new(ck_coord_rt *rt, ck_acme **out, ck_errctx *err) {
  ck_acme_validator_opts vo;
  ck_acme *a = calloc(1, sizeof *a);
  ck_err rc;

  *out = NULL;
  if (a == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "acme");
  a->rt = rt;
  pthread_mutex_init(&a->mu, NULL);
  pthread_cond_init(&a->idle, NULL);
  a->max_payload = (size_t)cfg_num(rt->cfg, "max_payload", 65536);
  a->order_lifetime = cfg_num(rt->cfg, "order_lifetime", 7 * 86400);
  a->authz_lifetime = cfg_num(rt->cfg, "authz_lifetime", 30 * 86400);
  a->retry_after = cfg_num(rt->cfg, "retry_after", 2);
  if ((rc = load_master(a, err)) != CK_OK ||
      (rc = ck_acme_nonces_new(0, cfg_num(rt->cfg, "nonce_lifetime", 3600),
                               &a->nonces, err)) != CK_OK)
    goto out;
  memset(&vo, 0, sizeof vo);
  if ((rc = ck_acme_validator_opts_from_config(rt->cfg, &vo, err)) != CK_OK)
    goto out;
  if (rt->set.acme_dns_resolver[0] != '\0')
    ck_strlcpy(vo.dns_resolver, rt->set.acme_dns_resolver,
               sizeof vo.dns_resolver);
  if (rt->set.acme_http01_port > 0)
    vo.http01_port = rt->set.acme_http01_port;
  if ((rc = ck_acme_validator_new(&vo, &a->validator, err)) != CK_OK)
    goto out;
  *out = a;
  a = NULL;
out:
  ck_acme_free(a);
  return rc;
}

void ck_acme_close(ck_acme *a) {
  if (a != NULL)
    a->closing = 1;
}

void ck_acme_free(ck_acme *a) {
  if (a == NULL)
    return;
  pthread_mutex_lock(&a->mu);
  while (a->running > 0) /* bounded by the validator's attempts x timeout */
    pthread_cond_wait(&a->idle, &a->mu);
  pthread_mutex_unlock(&a->mu);
  pthread_cond_destroy(&a->idle);
  pthread_mutex_destroy(&a->mu);
  ck_acme_nonces_free(a->nonces);
  ck_acme_validator_free(a->validator);
  ck_wipe(a->eab_master, sizeof a->eab_master);
  free(a);
}

/* ------------------------------------------------------------ helpers */

void acme_json(ck_acme_call *c, int status, json_t *v) {
  free(c->body);
  c->body = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
  c->body_len = c->body != NULL ? strlen(c->body) : 0;
  c->status = c->body != NULL ? status : 500;
  c->ctype = "application/json";
  json_decref(v);
}

void acme_answer_pb(ck_acme_call *c) {
  free(c->body);
  c->body = ck_acme_problem_json(&c->pb);
  c->body_len = c->body != NULL ? strlen(c->body) : 0;
  c->status = c->pb.status;
  c->ctype = "application/problem+json";
  ck_log(c->pb.status >= 500 ? CK_LOG_OPS : CK_LOG_SEC, CK_LOG_INFO,
         "acme.refused", CK_S("dir", c->dir.name), CK_S("res", c->res),
         CK_S("type", c->pb.type), CK_S("detail", c->pb.detail),
         CK_S("account", c->acct_id), CK_S("peer", ck_http_req_peer(c->req)));
}

int acme_problem(ck_acme_call *c, int status, const char *type, const char *fmt,
                 ...) {
  va_list ap;

  c->pb.status = status;
  c->pb.type = type;
  va_start(ap, fmt);
  vsnprintf(c->pb.detail, sizeof c->pb.detail, fmt, ap);
  va_end(ap);
  acme_answer_pb(c);
  return 0;
}

int acme_internal(ck_acme_call *c, ck_err rc, const char *msg) {
  ck_log(CK_LOG_OPS, CK_LOG_ERR, "acme.error", CK_S("res", c->res),
         CK_E(rc, msg));
  return acme_problem(c, 500, "serverInternal",
                      "internal error; see the coordinator's log");
}

const char *acme_url(const ck_acme_call *c, char *buf, size_t len,
                     const char *fmt, ...) {
  va_list ap;
  int n = snprintf(buf, len, "%s/", c->base);

  if (n < 0 || (size_t)n >= len)
    return buf;
  va_start(ap, fmt);
  vsnprintf(buf + n, len - (size_t)n, fmt, ap);
  va_end(ap);
  return buf;
}

json_t *acme_time(int64_t t) {
  char buf[40];
  ck_time_format_rfc3339(t, buf, sizeof buf);
  return json_string(buf);
}

const char *acme_str(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : "";
}

int64_t acme_int(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

ck_err acme_new_id(char out[ACME_ID_LEN]) {
  uint8_t r[16];
  ck_err rc = ck_random(r, sizeof r);

  if (rc == CK_OK)
    ck_b64u_encode(r, sizeof r, out, ACME_ID_LEN);
  return rc;
}

ck_err acme_doc_load(ck_acme *a, const char *kind, const char *id, json_t **out,
                     int64_t *version, ck_errctx *err) {
  ck_arena *ar = ck_arena_new(4096);
  ck_store_doc d;
  json_error_t je;
  ck_err rc;

  *out = NULL;
  if (ar == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "acme doc");
  rc = ck_store_doc_get(a->rt->store, kind, id, ar, &d, err);
  if (rc == CK_OK) {
    *out = json_loads(d.doc, 0, &je);
    if (!json_is_object(*out)) {
      json_decref(*out);
      *out = NULL;
      rc = ck_failf(err, CK_ERR_STORE, "%s %s: stored document does not parse",
                    kind, id);
    } else if (version != NULL) {
      *version = d.version;
    }
  }
  ck_arena_free(ar);
  return rc;
}

ck_err acme_doc_put(ck_store_write *w, const char *kind, const char *id,
                    const char *key, const char *state, int64_t due_at,
                    const json_t *doc, int64_t expect_version, ck_errctx *err) {
  ck_store_doc d;
  char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
  ck_err rc;

  if (text == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "acme doc");
  memset(&d, 0, sizeof d);
  d.kind = kind;
  d.id = id;
  d.key = key != NULL ? key : "";
  d.state = state != NULL ? state : "";
  d.due_at = due_at;
  d.doc = text;
  rc = ck_store_write_doc_put(w, &d, expect_version, err);
  free(text);
  return rc;
}

ck_err acme_audit(ck_store_write *w, const char *actor, const char *action,
                  const char *otype, const char *oid, json_t *details,
                  ck_errctx *err) {
  ck_audit_event ev;
  char *text = details != NULL ? json_dumps(details, JSON_COMPACT) : NULL;
  ck_err rc;

  memset(&ev, 0, sizeof ev);
  ev.actor = actor;
  ev.action = action;
  ev.object_type = otype;
  ev.object_id = oid;
  ev.details = text != NULL ? text : "";
  rc = ck_store_write_audit(w, &ev, err);
  free(text);
  json_decref(details);
  return rc;
}

/* ------------------------------------------------------------ requests */

ck_acme_call *ck_acme_call_new(ck_acme *a, ck_http_req *req) {
  ck_acme_call *c = calloc(1, sizeof *c);

  if (c == NULL)
    return NULL;
  c->a = a;
  c->req = req;
  c->validate_type = -1;
  return c;
}

/* The scheme://host part clients used: the Host header when it is a
 * plain host[:port], else the HTTPS listen address. */
static void build_base(ck_acme_call *c) {
  const char *h = ck_http_req_header(c->req, "Host");
  size_t i;
  int ok = h != NULL && h[0] != '\0' && strlen(h) < 256;

  for (i = 0; ok && h[i] != '\0'; i++) {
    char ch = h[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
          (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == ':' ||
          ch == '[' || ch == ']'))
      ok = 0;
  }
  snprintf(c->base, sizeof c->base, "https://%s/acme/%s",
           ok ? h : c->a->rt->set.listen_https, c->dir.name);
}

/* Splits "<dir>/<res>" of the path after /acme/. */
static int split_path(ck_acme_call *c, char *name, size_t nlen) {
  const char *rest = ck_http_req_path_rest(c->req), *slash = strchr(rest, '/');
  size_t n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);

  if (n == 0 || n >= nlen)
    return 0;
  memcpy(name, rest, n);
  name[n] = '\0';
  ck_strlcpy(c->res, slash != NULL ? slash + 1 : "", sizeof c->res);
  return strlen(slash != NULL ? slash + 1 : "") < sizeof c->res;
}

/* Verifies the POST's JWS: url, signer (jwk or kid per endpoint), signature
 * and nonce, then parses the payload. Returns 1 when the request may go on. */
static int verify_post(ck_acme_call *c, int want_jwk, int jwk_or_kid) {
  const uint8_t *body;
  const char *ct = ck_http_req_header(c->req, "Content-Type"), *why = "";
  char url[1100], kid_prefix[800];
  size_t len, plen;
  json_error_t je;
  json_t *key;

  if (ct == NULL || strncmp(ct, "application/jose+json", 21) != 0)
    return acme_problem(c, 415, "malformed",
                        "ACME requests must be application/jose+json");
  body = ck_http_req_body(c->req, &len);
  if (!ck_acme_jws_parse(body, len, c->a->max_payload, &c->jws, &c->pb)) {
    acme_answer_pb(c);
    return 0;
  }
  snprintf(url, sizeof url, "%s/%s", c->base, c->res);
  if (strcmp(c->jws.url, url) != 0)
    return acme_problem(
        c, 401, "unauthorized",
        "the JWS url header (%.300s) is not the URL of this request (%.300s)",
        c->jws.url, url);
  if (c->jws.jwk != NULL && !want_jwk && !jwk_or_kid)
    return acme_problem(
        c, 400, "malformed",
        "this resource needs a JWS signed with the account key (kid), not jwk");
  if (c->jws.kid != NULL && want_jwk)
    return acme_problem(
        c, 400, "malformed",
        "this resource needs a JWS carrying the new key as jwk, not kid");
  if (c->jws.kid != NULL) {
    ck_errctx err = CK_ERRCTX_INIT;
    ck_err rc;
    const char *st;
    plen = (size_t)snprintf(kid_prefix, sizeof kid_prefix, "%s/acct/", c->base);
    if (strncmp(c->jws.kid, kid_prefix, plen) != 0 ||
        strlen(c->jws.kid + plen) == 0 ||
        strlen(c->jws.kid + plen) >= sizeof c->acct_id ||
        strchr(c->jws.kid + plen, '/'))
      return acme_problem(c, 400, "accountDoesNotExist",
                          "kid %.300s is not an account URL of this directory",
                          c->jws.kid);
    ck_strlcpy(c->acct_id, c->jws.kid + plen, sizeof c->acct_id);
    rc = acme_doc_load(c->a, ACME_K_ACCOUNT, c->acct_id, &c->acct,
                       &c->acct_version, &err);
    if (rc == CK_ERR_NOT_FOUND ||
        (rc == CK_OK && strcmp(acme_str(c->acct, "dir"), c->dir.name) != 0))
      return acme_problem(c, 400, "accountDoesNotExist",
                          "no account %.64s in directory %s", c->acct_id,
                          c->dir.name);
    if (rc != CK_OK)
      return acme_internal(c, rc, ck_errctx_msg(&err));
    st = acme_str(c->acct, "status");
    if (strcmp(st, "valid") != 0)
      return acme_problem(c, 401, "unauthorized", "account %s is %s",
                          c->acct_id, st);
    key = json_object_get(c->acct, "jwk");
    if (!ck_acme_jws_verify(&c->jws, key, &c->pb)) {
      if (c->pb.status < 500) /* wrong key, or one of another type */
        return acme_problem(c, 401, "unauthorized",
                            "the JWS is not signed by the key of account %s",
                            c->acct_id);
      acme_answer_pb(c);
      return 0;
    }
    snprintf(c->actor, sizeof c->actor, "acme:%s/%s", c->dir.name, c->acct_id);
  } else if (!ck_acme_jws_verify(&c->jws, c->jws.jwk, &c->pb)) {
    acme_answer_pb(c);
    return 0;
  }
  if (c->jws.nonce == NULL)
    return acme_problem(c, 400, "badNonce",
                        "the JWS protected header has no nonce");
  if (ck_acme_nonce_consume(c->a->nonces, c->jws.nonce, &why) != CK_OK)
    return acme_problem(c, 400, "badNonce", "%s; get a fresh one from newNonce",
                        why);
  if (!c->jws.post_as_get) {
    c->payload = json_loadb((const char *)c->jws.payload, c->jws.payload_len,
                            JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(c->payload))
      return acme_problem(c, 400, "malformed",
                          "the JWS payload is not a JSON object");
  }
  return 1;
}

static int need_get(ck_acme_call *c) {
  if (!c->jws.post_as_get)
    return acme_problem(c, 400, "malformed",
                        "use POST-as-GET (an empty payload) here");
  return 1;
}

/* Splits res at '/' into at most 4 segments (copies in buf). */
static int split_res(const char *res, char *buf, size_t len, char *seg[4]) {
  int n = 0;
  char *p = buf;

  ck_strlcpy(buf, res, len);
  while (n < 4) {
    seg[n++] = p;
    if ((p = strchr(p, '/')) == NULL)
      return n;
    *p++ = '\0';
  }
  return 5; /* too many */
}

static void dispatch_post(ck_acme_call *c) {
  char buf[300], *s[4];
  int n = split_res(c->res, buf, sizeof buf, s), i;

  for (i = 0; i < n && i < 4; i++)
    if (s[i][0] == '\0')
      n = 0;
  if (n == 1 && strcmp(s[0], "new-account") == 0) {
    if (verify_post(c, 1, 0))
      acme_new_account(c);
  } else if (n == 1 && strcmp(s[0], "new-order") == 0) {
    if (verify_post(c, 0, 0))
      acme_new_order(c);
  } else if (n == 1 && strcmp(s[0], "revoke-cert") == 0) {
    if (verify_post(c, 0, 1))
      acme_revoke(c);
  } else if (n == 1 && strcmp(s[0], "key-change") == 0) {
    if (verify_post(c, 0, 0))
      acme_key_change(c);
  } else if (n == 2 && strcmp(s[0], "acct") == 0) {
    if (verify_post(c, 0, 0))
      acme_account(c, s[1]);
  } else if (n == 3 && strcmp(s[0], "acct") == 0 &&
             strcmp(s[2], "orders") == 0) {
    if (verify_post(c, 0, 0) && need_get(c))
      acme_account_orders(c, s[1]);
  } else if (n == 2 && strcmp(s[0], "order") == 0) {
    if (verify_post(c, 0, 0) && need_get(c))
      acme_order(c, s[1]);
  } else if (n == 3 && strcmp(s[0], "order") == 0 &&
             strcmp(s[2], "finalize") == 0) {
    if (verify_post(c, 0, 0))
      acme_finalize(c, s[1]);
  } else if (n == 2 && strcmp(s[0], "authz") == 0) {
    if (verify_post(c, 0, 0))
      acme_authz(c, s[1]);
  } else if (n == 3 && strcmp(s[0], "chall") == 0) {
    if (verify_post(c, 0, 0))
      acme_challenge(c, s[1], s[2]);
  } else if (n == 2 && strcmp(s[0], "cert") == 0) {
    if (verify_post(c, 0, 0) && need_get(c))
      acme_cert(c, s[1], 0);
  } else if (n == 3 && strcmp(s[0], "cert") == 0 && strcmp(s[2], "alt") == 0) {
    if (verify_post(c, 0, 0) && need_get(c))
      acme_cert(c, s[1], 1);
  } else {
    acme_problem(c, 404, "malformed", "no ACME resource %.200s in directory %s",
                 c->res, c->dir.name);
  }
}

void ck_acme_call_work(ck_acme_call *c) {
  unsigned m = ck_http_req_method(c->req);
  char name[128];

  if (!split_path(c, name, sizeof name) || !acme_dir_name_ok(name)) {
    ck_strlcpy(c->dir.name, "?", sizeof c->dir.name);
    acme_problem(c, 404, "malformed", "no such ACME directory");
    return;
  }
  if (!acme_dir_find(c->a, name, &c->dir)) {
    ck_strlcpy(c->dir.name, name, sizeof c->dir.name);
    build_base(c);
    acme_problem(c, 404, "malformed", "no ACME directory '%s'", name);
    return;
  }
  build_base(c);
  if (m == CK_HTTP_GET || m == CK_HTTP_HEAD) {
    if (strcmp(c->res, "directory") == 0) {
      acme_directory(c);
    } else if (strcmp(c->res, "new-nonce") == 0) {
      c->status = m == CK_HTTP_HEAD ? 200 : 204;
      c->head_only = 1;
    } else if (strncmp(c->res, "renewal-info/", 13) == 0) {
      acme_renewal_info(c, c->res + 13);
    } else {
      acme_problem(c, 405, "malformed",
                   "use POST-as-GET for ACME resources (RFC 8555 section 6.3)");
    }
    return;
  }
  if (m == CK_HTTP_POST) {
    dispatch_post(c);
    return;
  }
  acme_problem(c, 405, "malformed", "method not allowed");
}

/* Loop thread: queues a validation on the thread pool. */
typedef struct vjob {
  uv_work_t w;
  ck_acme *a;
  char authz[ACME_ID_LEN + 8];
  int type;
} vjob;

static void vjob_work(uv_work_t *w) {
  vjob *j = w->data;
  ck_acme *a = j->a;

  if (!a->closing) /* else: left processing, restarted when answered again */
    acme_validate_job(a, j->authz, j->type);
  pthread_mutex_lock(&a->mu);
  if (--a->running == 0)
    pthread_cond_broadcast(&a->idle);
  pthread_mutex_unlock(&a->mu);
}

static void vjob_after(uv_work_t *w, int status) {
  (void)status;
  free(w->data);
}

static void start_validation(ck_acme_call *c) {
  vjob *j;

  if (c->a->closing || (j = calloc(1, sizeof *j)) == NULL)
    return;
  j->a = c->a;
  j->type = c->validate_type;
  ck_strlcpy(j->authz, c->validate_authz, sizeof j->authz);
  j->w.data = j;
  pthread_mutex_lock(&c->a->mu);
  c->a->running++;
  pthread_mutex_unlock(&c->a->mu);
  if (uv_queue_work(c->a->rt->loop, &j->w, vjob_work, vjob_after) != 0) {
    pthread_mutex_lock(&c->a->mu);
    c->a->running--;
    pthread_mutex_unlock(&c->a->mu);
    free(j);
  }
}

void ck_acme_call_finish(ck_acme_call *c) {
  ck_http_req *req = c->req;
  char nonce[CK_ACME_NONCE_LEN], link[1200], ra[32];

  if (c->status == 0)
    acme_problem(c, 500, "serverInternal", "no answer");
  if (ck_acme_nonce_issue(c->a->nonces, nonce) == CK_OK)
    ck_http_add_header(req, "Replay-Nonce", nonce);
  ck_http_add_header(req, "Cache-Control", "no-store");
  if (strcmp(c->res, "directory") != 0 && c->base[0] != '\0') {
    snprintf(link, sizeof link, "<%s/directory>;rel=\"index\"", c->base);
    ck_http_add_header(req, "Link", link);
  }
  if (c->link_up[0] != '\0') {
    snprintf(link, sizeof link, "<%s>;rel=\"up\"", c->link_up);
    ck_http_add_header(req, "Link", link);
  }
  if (c->link_alt[0] != '\0') {
    snprintf(link, sizeof link, "<%s>;rel=\"alternate\"", c->link_alt);
    ck_http_add_header(req, "Link", link);
  }
  if (c->location[0] != '\0')
    ck_http_add_header(req, "Location", c->location);
  if (c->retry_after > 0) {
    snprintf(ra, sizeof ra, "%d", c->retry_after);
    ck_http_add_header(req, "Retry-After", ra);
  }
  if (c->status == 405)
    ck_http_add_header(req, "Allow", "POST");
  if (c->head_only)
    ck_http_respond(req, c->status, NULL, NULL, 0);
  else
    ck_http_respond(req, c->status, c->ctype, c->body, c->body_len);
  if (c->validate_type >= 0)
    start_validation(c);
  ck_acme_jws_clear(&c->jws);
  json_decref(c->payload);
  json_decref(c->acct);
  free(c->body);
  free(c);
}
