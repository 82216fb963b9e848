/* upstream_acme.c — one order at an upstream ACME CA (upstream_acme.h),
 * RFC 8555 section 7 in order: directory, nonce, account (cached), order,
 * authorizations and their challenges, finalize, certificate.
 *
 * The account itself is upstream_account.c; the per-order state both share
 * is upstream_session.h. Every request is a JWS signed by the account key
 * (upstream_jws.c) over one libcurl session (upstream_http.c); answers are
 * parsed strictly (upstream_parse.c). A badNonce is retried with the fresh
 * nonce the problem carries, as the RFC asks; a cached account the CA no
 * longer knows is registered again once. Polling follows Retry-After (at
 * most 10 s; without one 0.25 s doubling to 8 s), and everything stops at
 * the profile's timeout. Runs on a worker thread; the only shared state it
 * touches is the store and the http-01 responder registry. */
#include "coordinator/ca/upstream_acme.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/ca/upstream_session.h"

#define MAX_CHAIN 10
#define POLL_FIRST_MS 250
#define NONCE_RETRIES 3


/* "upstream ACME CA <dir>: <step>: <message>" with code. */
ck_err ck__acme_sfail(ck__acme_session *s, ck_err code, const char *step, const char *fmt, ...) {
  char msg[700];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ck_failf(s->err, code, "upstream ACME CA %s: %s: %s", s->cfg->directory, step, msg);
}

/* The CA answered with an unexpected status: name its problem. */
ck_err ck__acme_problem_fail(ck__acme_session *s, const char *step, const ck__acme_resp *r) {
  ck__acme_problem p;
  const char *t;

  if (ck__acme_parse_problem(r->body, r->len, &p)) {
    t = strncmp(p.type, "urn:ietf:params:acme:error:", 27) == 0 ? p.type + 27 : p.type;
    return ck__acme_sfail(s, CK_ERR_UPSTREAM, step, "HTTP %ld %s: %s", r->status, t, p.detail);
  }
  return ck__acme_sfail(s, CK_ERR_UPSTREAM, step, "unexpected HTTP status %ld", r->status);
}

static int is_problem(const ck__acme_resp *r, const char *type) {
  ck__acme_problem p;
  return ck__acme_parse_problem(r->body, r->len, &p) &&
         strncmp(p.type, "urn:ietf:params:acme:error:", 27) == 0 &&
         strcmp(p.type + 27, type) == 0;
}

/* Absolute path of a configured file. */
ck_err ck__acme_resolve(ck__acme_session *s, const char *path, char *buf, size_t len) {
  int n = path[0] == '/' ? snprintf(buf, len, "%s", path)
                         : snprintf(buf, len, "%s/%s", s->req->data_dir, path);
  if (n < 0 || (size_t)n >= len)
    return ck_failf(s->err, CK_ERR_CONFIG, "path too long: %s", path);
  return CK_OK;
}

static ck_err fresh_nonce(ck__acme_session *s) {
  ck__acme_resp r;
  ck_err rc;

  memset(&r, 0, sizeof r);
  if ((rc = ck__acme_http_do(s->http, "HEAD", s->dir.new_nonce, NULL, NULL, &r, s->err)) != CK_OK)
    return rc;
  if ((r.status != 200 && r.status != 204) || r.nonce[0] == '\0') {
    rc = ck__acme_sfail(s, CK_ERR_UPSTREAM, "newNonce", "HTTP %ld without a Replay-Nonce", r.status);
  } else {
    ck_strlcpy(s->nonce, r.nonce, sizeof s->nonce);
  }
  ck__acme_resp_clear(&r);
  return rc;
}

/* POSTs payload (NULL: POST-as-GET) to url signed with the account key (kid
 * when registered, else the JWK), retrying a badNonce. */
ck_err ck__acme_signed_post(ck__acme_session *s, const char *url, const char *payload,
                          const char *accept, ck__acme_resp *r) {
  char *jws = NULL;
  int attempt;
  ck_err rc = CK_OK;

  for (attempt = 0; attempt < NONCE_RETRIES; attempt++) {
    if (s->nonce[0] == '\0' && (rc = fresh_nonce(s)) != CK_OK)
      return rc;
    if ((rc = ck__acme_jws(&s->key, s->kid, s->nonce, url, payload, &jws, s->err)) != CK_OK)
      return rc;
    s->nonce[0] = '\0';
    rc = ck__acme_http_do(s->http, "POST", url, jws, accept, r, s->err);
    free(jws);
    jws = NULL;
    if (rc != CK_OK)
      return rc;
    if (r->nonce[0] != '\0')
      ck_strlcpy(s->nonce, r->nonce, sizeof s->nonce);
    if (!(r->status == 400 && is_problem(r, "badNonce")))
      break;
  }
  return CK_OK;
}

/* Waits before the next poll: Retry-After when given, else a growing
 * interval, never past the deadline. */
static ck_err poll_wait(ck__acme_session *s, const ck__acme_resp *r, unsigned round,
                        const char *step) {
  int64_t sec = ck__acme_retry_after(r->retry_after, ck_clock_now(), 0, 0, 10);
  uint64_t ms = sec > 0 ? (uint64_t)sec * 1000 : (uint64_t)POLL_FIRST_MS << (round < 5 ? round : 5);
  uint64_t now = ck_clock_mono_ms();

  if (ms > 10000)
    ms = 10000;
  if (now + ms >= s->deadline_ms)
    return ck__acme_sfail(s, CK_ERR_UPSTREAM, step, "not done within the profile's upstream timeout (%llds)",
                 (long long)s->cfg->timeout);
  uv_sleep((unsigned)ms);
  return CK_OK;
}

/* --------------------------------------------------------------- order */

static ck_err new_order(ck__acme_session *s, char *order_url, size_t url_len, ck__acme_order *o) {
  json_t *ids = json_array(), *p = NULL;
  char *payload = NULL;
  ck__acme_resp r;
  size_t i;
  ck_err rc;

  memset(&r, 0, sizeof r);
  if (ids == NULL) {
    rc = ck_failf(s->err, CK_ERR_NOMEM, "newOrder");
    goto out;
  }
  for (i = 0; i < s->req->n_names; i++) {
    const ck_san *n = &s->req->names[i];
    const char *t = n->type == CK_SAN_DNS ? "dns" : n->type == CK_SAN_IP ? "ip" : NULL;
    if (t == NULL) {
      rc = ck__acme_sfail(s, CK_ERR_CONFIG, "newOrder",
                 "'%s' is a %s name; an ACME CA issues only DNS and IP names",
                 n->value, ck_san_type_name(n->type));
      goto out;
    }
    if (json_array_append_new(ids, json_pack("{s:s,s:s}", "type", t, "value", n->value)) != 0) {
      rc = ck_failf(s->err, CK_ERR_NOMEM, "newOrder");
      goto out;
    }
  }
  if (json_array_size(ids) == 0) {
    rc = ck__acme_sfail(s, CK_ERR_CONFIG, "newOrder", "the request names no DNS or IP identifier");
    goto out;
  }
  p = json_pack("{s:O}", "identifiers", ids);
  if (p == NULL || (payload = json_dumps(p, JSON_COMPACT)) == NULL) {
    rc = ck_failf(s->err, CK_ERR_NOMEM, "newOrder");
    goto out;
  }
  if ((rc = ck__acme_signed_post(s, s->dir.new_order, payload, NULL, &r)) != CK_OK)
    goto out;
  if (r.status != 201) {
    rc = ck__acme_problem_fail(s, "newOrder", &r);
    goto out;
  }
  if (strncmp(r.location, "https://", 8) != 0 || strlen(r.location) >= url_len) {
    rc = ck__acme_sfail(s, CK_ERR_UPSTREAM, "newOrder", "no usable order URL (Location)");
    goto out;
  }
  ck_strlcpy(order_url, r.location, url_len);
  if ((rc = ck__acme_parse_order(r.body, r.len, o, s->err)) != CK_OK)
    rc = ck__acme_sfail(s, CK_ERR_UPSTREAM, "newOrder", "%s", ck_errctx_msg(s->err));
out:
  ck__acme_resp_clear(&r);
  free(payload);
  json_decref(p);
  json_decref(ids);
  return rc;
}

/* POST-as-GET of an authorization into *a. */
static ck_err get_authz(ck__acme_session *s, const char *url, ck__acme_authz *a) {
  ck__acme_resp r;
  ck_err rc;

  memset(&r, 0, sizeof r);
  ck__acme_authz_clear(a);
  if ((rc = ck__acme_signed_post(s, url, NULL, NULL, &r)) != CK_OK)
    return rc;
  if (r.status != 200)
    rc = ck__acme_problem_fail(s, "authorization", &r);
  else if ((rc = ck__acme_parse_authz(r.body, r.len, a, s->err)) != CK_OK)
    rc = ck__acme_sfail(s, CK_ERR_UPSTREAM, "authorization", "%s", ck_errctx_msg(s->err));
  ck__acme_resp_clear(&r);
  return rc;
}

/* Publishes the dns-01 record for c through the hook (remembered for the
 * "del" at the end). */
static ck_err publish_dns01(ck__acme_session *s, const ck__acme_authz *a, const char *keyauth) {
  char value[64], name[300];
  uint64_t now = ck_clock_mono_ms();
  ck_err rc;

  if (s->n_dns >= CK_ACME_MAX_AUTHZ)
    return ck__acme_sfail(s, CK_ERR_UPSTREAM, "authorization", "too many challenges");
  if ((rc = ck__acme_dns01_value(keyauth, value, sizeof value, s->err)) != CK_OK)
    return rc;
  if ((size_t)snprintf(name, sizeof name, "_acme-challenge.%s", a->ident_value) >= sizeof name)
    return ck__acme_sfail(s, CK_ERR_UPSTREAM, "authorization", "identifier too long");
  if ((s->dns[s->n_dns].name = strdup(name)) == NULL ||
      (s->dns[s->n_dns].value = strdup(value)) == NULL) {
    free(s->dns[s->n_dns].name);
    return ck_failf(s->err, CK_ERR_NOMEM, "dns-01");
  }
  s->n_dns++;
  rc = ck__acme_dns01_hook(s->hook, "add", name, value,
                           s->deadline_ms > now ? s->deadline_ms - now : 0, s->err);
  if (rc != CK_OK)
    return ck_failf(s->err, rc, "upstream ACME CA %s: dns-01", s->cfg->directory);
  return CK_OK;
}

/* Serves the http-01 key authorization for c on the responder. */
static ck_err serve_http01(ck__acme_session *s, const ck__acme_chall *c, const char *keyauth) {
  ck_err rc;

  if (s->http01 == NULL &&
      (rc = ck__acme_http01_acquire(s->cfg->http01_listen, &s->http01, s->err)) != CK_OK)
    return ck_failf(s->err, CK_ERR_CONFIG, "upstream ACME: profile '%s'", s->req->profile);
  if (s->n_tokens >= CK_ACME_MAX_AUTHZ)
    return ck__acme_sfail(s, CK_ERR_UPSTREAM, "authorization", "too many challenges");
  if ((s->tokens[s->n_tokens] = strdup(c->token)) == NULL)
    return ck_failf(s->err, CK_ERR_NOMEM, "http-01");
  if ((rc = ck__acme_http01_set(s->http01, c->token, keyauth, s->err)) != CK_OK) {
    free(s->tokens[s->n_tokens]);
    return rc;
  }
  s->n_tokens++;
  return CK_OK;
}

/* Starts a challenge of one pending authorization: http-01 when the
 * profile has a responder address and the CA offers it, else dns-01 when
 * it has a hook (the only way to a wildcard). */
static ck_err answer(ck__acme_session *s, const ck__acme_authz *a) {
  const ck__acme_chall *c = NULL;
  char keyauth[400];
  ck__acme_resp r;
  int dns = 0;
  ck_err rc;

  memset(&r, 0, sizeof r);
  if (s->cfg->http01_listen[0] != '\0' && !a->wildcard)
    c = ck__acme_authz_find(a, "http-01");
  if (c == NULL && s->cfg->dns01_hook[0] != '\0' && strcmp(a->ident_type, "dns") == 0 &&
      (c = ck__acme_authz_find(a, "dns-01")) != NULL)
    dns = 1;
  if (c == NULL)
    return ck__acme_sfail(s, CK_ERR_UPSTREAM, "authorization",
                 "%s: the CA offers no challenge this profile can answer (http01_listen %s, "
                 "dns01_hook %s)",
                 a->ident_value, s->cfg->http01_listen[0] ? "set" : "not set",
                 s->cfg->dns01_hook[0] ? "set" : "not set");
  if (c->token == NULL)
    return ck__acme_sfail(s, CK_ERR_UPSTREAM, "authorization", "%s: %s challenge without a token",
                 a->ident_value, c->type);
  snprintf(keyauth, sizeof keyauth, "%s.%s", c->token, s->key.thumbprint);
  if ((rc = dns ? publish_dns01(s, a, keyauth) : serve_http01(s, c, keyauth)) != CK_OK)
    return rc;
  if (c->status != CK_ACME_ST_PENDING)
    return CK_OK; /* already processing */
  if ((rc = ck__acme_signed_post(s, c->url, "{}", NULL, &r)) != CK_OK)
    return rc;
  if (r.status != 200)
    rc = ck__acme_problem_fail(s, "challenge", &r);
  ck__acme_resp_clear(&r);
  return rc;
}

/* Drives every authorization of o to valid. */
static ck_err authorize(ck__acme_session *s, const ck__acme_order *o) {
  ck__acme_authz a;
  size_t i;
  unsigned round;
  ck_err rc = CK_OK;

  memset(&a, 0, sizeof a);
  for (i = 0; i < o->n_authz && rc == CK_OK; i++) {
    if ((rc = get_authz(s, o->authz[i], &a)) != CK_OK)
      break;
    if (a.status == CK_ACME_ST_PENDING)
      rc = answer(s, &a);
    else if (a.status != CK_ACME_ST_VALID)
      rc = ck__acme_sfail(s, CK_ERR_UPSTREAM, "authorization", "%s is %s", a.ident_value,
                 a.status == CK_ACME_ST_INVALID ? "invalid" : "not usable");
  }
  for (i = 0; i < o->n_authz && rc == CK_OK; i++) {
    for (round = 0;; round++) {
      if ((rc = get_authz(s, o->authz[i], &a)) != CK_OK)
        break;
      if (a.status == CK_ACME_ST_VALID)
        break;
      if (a.status != CK_ACME_ST_PENDING) {
        rc = ck__acme_sfail(s, CK_ERR_UPSTREAM, "validation", "%s: %s%s%s", a.ident_value,
                   a.error.type[0] ? a.error.type : "authorization failed",
                   a.error.detail[0] ? ": " : "", a.error.detail);
        break;
      }
      {
        ck__acme_resp none;
        memset(&none, 0, sizeof none);
        if ((rc = poll_wait(s, &none, round, "validation")) != CK_OK)
          break;
      }
    }
  }
  ck__acme_authz_clear(&a);
  return rc;
}

/* Finalizes o with the CSR and polls until the certificate URL is known. */
static ck_err finalize(ck__acme_session *s, const char *order_url, ck__acme_order *o) {
  char *csr_b64 = NULL, *payload = NULL;
  ck__acme_resp r;
  unsigned round;
  ck_err rc;

  memset(&r, 0, sizeof r);
  if ((csr_b64 = ck__acme_b64url(s->req->csr_der, s->req->csr_der_len)) == NULL) {
    rc = ck_failf(s->err, CK_ERR_NOMEM, "finalize");
    goto out;
  }
  {
    json_t *p = json_pack("{s:s}", "csr", csr_b64);
    payload = p != NULL ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
  }
  if (payload == NULL) {
    rc = ck_failf(s->err, CK_ERR_NOMEM, "finalize");
    goto out;
  }
  if ((rc = ck__acme_signed_post(s, o->finalize, payload, NULL, &r)) != CK_OK)
    goto out;
  if (r.status != 200) {
    rc = ck__acme_problem_fail(s, "finalize", &r);
    goto out;
  }
  for (round = 0;; round++) {
    ck__acme_order_clear(o);
    if ((rc = ck__acme_parse_order(r.body, r.len, o, s->err)) != CK_OK) {
      rc = ck__acme_sfail(s, CK_ERR_UPSTREAM, "finalize", "%s", ck_errctx_msg(s->err));
      goto out;
    }
    if (o->status == CK_ACME_ST_VALID)
      break;
    if (o->status == CK_ACME_ST_INVALID) {
      rc = ck__acme_sfail(s, CK_ERR_UPSTREAM, "finalize", "order invalid: %s %s", o->error.type,
                 o->error.detail);
      goto out;
    }
    if ((rc = poll_wait(s, &r, round, "finalize")) != CK_OK ||
        (rc = ck__acme_signed_post(s, order_url, NULL, NULL, &r)) != CK_OK)
      goto out;
    if (r.status != 200) {
      rc = ck__acme_problem_fail(s, "order", &r);
      goto out;
    }
  }
out:
  ck__acme_resp_clear(&r);
  free(payload);
  free(csr_b64);
  return rc;
}

/* Downloads the chain, keeps only its certificates (re-encoded), checks
 * the leaf carries the CSR's key. */
static ck_err download(ck__acme_session *s, const char *url, ck_upstream_acme_out *out) {
  ck__acme_resp r;
  ck_pem_block blk;
  ck_csr *csr = NULL;
  size_t pos = 0, n = 0, cap = 0, len, a_len, b_len;
  const uint8_t *a, *b;
  char *pem = NULL;
  ck_err rc;

  memset(&r, 0, sizeof r);
  memset(&blk, 0, sizeof blk);
  if ((rc = ck__acme_signed_post(s, url, NULL, "application/pem-certificate-chain", &r)) != CK_OK)
    goto out;
  if (r.status != 200) {
    rc = ck__acme_problem_fail(s, "certificate", &r);
    goto out;
  }
  for (;;) {
    rc = ck_pem_next((const uint8_t *)r.body, r.len, &pos, &blk, s->err);
    if (rc == CK_ERR_NOENT)
      break;
    if (rc != CK_OK || strcmp(blk.label, "CERTIFICATE") != 0 || n >= MAX_CHAIN) {
      rc = ck__acme_sfail(s, CK_ERR_UPSTREAM, "certificate", "the chain is not a PEM certificate list");
      goto out;
    }
    if (n == 0 && (rc = ck_cert_parse(blk.der, blk.der_len, &out->leaf, s->err)) != CK_OK) {
      rc = ck__acme_sfail(s, CK_ERR_UPSTREAM, "certificate", "the leaf does not parse");
      goto out;
    }
    if ((rc = ck_pem_encode("CERTIFICATE", blk.der, blk.der_len, &pem, &len)) != CK_OK)
      goto out;
    if (out->chain_pem_len + len + 1 > cap) {
      char *p;
      cap = (out->chain_pem_len + len + 1) * 2;
      if ((p = realloc(out->chain_pem, cap)) == NULL) {
        rc = ck_failf(s->err, CK_ERR_NOMEM, "certificate chain");
        goto out;
      }
      out->chain_pem = p;
    }
    memcpy(out->chain_pem + out->chain_pem_len, pem, len + 1);
    out->chain_pem_len += len;
    if (n == 0)
      out->leaf_pem_len = len;
    free(pem);
    pem = NULL;
    ck_pem_block_clear(&blk);
    n++;
  }
  if (n == 0) {
    rc = ck__acme_sfail(s, CK_ERR_UPSTREAM, "certificate", "the answer holds no certificate");
    goto out;
  }
  if ((rc = ck_csr_parse(s->req->csr_der, s->req->csr_der_len, &csr, s->err)) != CK_OK)
    goto out;
  a = ck_cert_spki(out->leaf, &a_len);
  b = ck_csr_spki(csr, &b_len);
  if (a_len != b_len || memcmp(a, b, a_len) != 0) {
    rc = ck__acme_sfail(s, CK_ERR_UPSTREAM, "certificate",
               "the issued certificate does not carry the CSR's public key");
    goto out;
  }
  rc = CK_OK;
out:
  free(pem);
  ck_pem_block_clear(&blk);
  ck_csr_free(csr);
  ck__acme_resp_clear(&r);
  return rc;
}

/* --------------------------------------------------------------- entry */

void ck_upstream_acme_out_clear(ck_upstream_acme_out *out) {
  if (out == NULL)
    return;
  ck_cert_free(out->leaf);
  free(out->chain_pem);
  memset(out, 0, sizeof *out);
}

static ck_err directory(ck__acme_session *s) {
  ck__acme_resp r;
  ck_err rc;

  memset(&r, 0, sizeof r);
  if ((rc = ck__acme_http_do(s->http, "GET", s->cfg->directory, NULL, NULL, &r, s->err)) !=
      CK_OK)
    return rc; /* named and turned into CK_ERR_UPSTREAM at the end */
  if (r.status != 200)
    rc = ck__acme_problem_fail(s, "directory", &r);
  else if ((rc = ck__acme_parse_dir(r.body, r.len, &s->dir, s->err)) != CK_OK)
    rc = ck__acme_sfail(s, CK_ERR_UPSTREAM, "directory", "%s", ck_errctx_msg(s->err));
  ck__acme_resp_clear(&r);
  return rc;
}

ck_err ck_upstream_acme_issue(const ck_upstream_acme_req *req,
                              ck_upstream_acme_out *out, ck_errctx *err) {
  ck__acme_session s;
  ck__acme_order o;
  char path[4200], id[CK_SHA256_HEX_LEN];
  int created = 0;
  size_t i;
  uint64_t t0 = ck_clock_mono_ms();
  ck_err rc;

  memset(out, 0, sizeof *out);
  memset(&s, 0, sizeof s);
  memset(&o, 0, sizeof o);
  if (req == NULL || req->cfg == NULL || req->csr_der == NULL)
    return ck_failf(err, CK_ERR_INVAL, "upstream ACME: no request");
  s.req = req;
  s.cfg = req->cfg;
  s.err = err;
  s.deadline_ms = t0 + (uint64_t)(req->cfg->timeout > 0 ? req->cfg->timeout : 120) * 1000;

  /* account key and hook are file names in DATA_DIR/upstream/ and
   * DATA_DIR/hooks/ (profile_upstream.c refuses paths) */
  if (strchr(s.cfg->account_key, '/') != NULL || strchr(s.cfg->dns01_hook, '/') != NULL) {
    rc = ck_failf(err, CK_ERR_CONFIG, "upstream ACME: profile '%s': account_key and dns01_hook "
                  "must be file names", req->profile);
    goto out;
  }
  if ((size_t)snprintf(path, sizeof path, "%s/upstream", req->data_dir) >= sizeof path ||
      (size_t)snprintf(s.hook, sizeof s.hook, "%s/hooks/%s", req->data_dir, s.cfg->dns01_hook) >=
          sizeof s.hook) {
    rc = ck_failf(err, CK_ERR_CONFIG, "upstream ACME: data directory path too long");
    goto out;
  }
  if ((rc = ck_fs_mkdir_p(path, 0700, err)) != CK_OK) {
    rc = ck_failf(err, CK_ERR_CONFIG, "upstream ACME: profile '%s'", req->profile);
    goto out;
  }
  if ((size_t)snprintf(path, sizeof path, "%s/upstream/%s", req->data_dir,
                       s.cfg->account_key) >= sizeof path) {
    rc = ck_failf(err, CK_ERR_CONFIG, "upstream ACME: data directory path too long");
    goto out;
  }
  if ((rc = ck__acme_key_load(path, 1, &s.key, &created, err)) != CK_OK) {
    rc = ck_failf(err, CK_ERR_CONFIG, "upstream ACME: profile '%s'", req->profile);
    goto out;
  }
  if (created)
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "upstream.account_key", CK_S("profile", req->profile),
           CK_S("path", path), CK_S("msg", "generated a new EC P-256 account key (0600)"));
  if (s.cfg->ca_bundle[0] != '\0' &&
      (rc = ck__acme_resolve(&s, s.cfg->ca_bundle, path, sizeof path)) != CK_OK)
    goto out;
  if ((rc = ck__acme_http_new(s.cfg->ca_bundle[0] ? path : "", s.deadline_ms, &s.http, err)) !=
          CK_OK ||
      (rc = directory(&s)) != CK_OK || (rc = ck__acme_account_id(&s, id)) != CK_OK)
    goto out;
  rc = ck__acme_account_cached(&s, id);
  if (rc == CK_ERR_NOT_FOUND)
    rc = ck__acme_account_register(&s, id);
  if (rc != CK_OK)
    goto out;
  rc = new_order(&s, out->order_url, sizeof out->order_url, &o);
  if (rc == CK_ERR_UPSTREAM && created == 0 &&
      (strstr(ck_errctx_msg(err), "accountDoesNotExist") != NULL ||
       strstr(ck_errctx_msg(err), " unauthorized:") != NULL)) {
    /* the CA forgot the cached account (a reset test CA, a deactivation
     * elsewhere): register again, once */
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "upstream.account_stale", CK_S("profile", req->profile),
           CK_S("account", s.kid));
    ck__acme_order_clear(&o);
    if ((rc = ck__acme_account_register(&s, id)) == CK_OK)
      rc = new_order(&s, out->order_url, sizeof out->order_url, &o);
  }
  if (rc != CK_OK)
    goto out;
  if (o.status == CK_ACME_ST_PENDING && (rc = authorize(&s, &o)) != CK_OK)
    goto out;
  if ((o.status != CK_ACME_ST_VALID && (rc = finalize(&s, out->order_url, &o)) != CK_OK) ||
      (rc = download(&s, o.certificate, out)) != CK_OK)
    goto out;
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "upstream.issued", CK_S("profile", req->profile),
         CK_S("directory", s.cfg->directory), CK_S("order", out->order_url),
         CK_S("serial", ck_cert_get_info(out->leaf)->serial_hex),
         CK_I("ms", ck_clock_mono_ms() - t0));
out:
  if (rc == CK_ERR_NET || rc == CK_ERR_TLS || rc == CK_ERR_LIMIT || rc == CK_ERR_TIMEOUT ||
      rc == CK_ERR_PARSE)
    rc = ck_failf(err, CK_ERR_UPSTREAM, "upstream ACME CA %s", s.cfg->directory);
  if (rc != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "upstream.failed", CK_S("profile", req->profile),
           CK_E(rc, ck_errctx_msg(err)));
    ck_upstream_acme_out_clear(out);
  }
  for (i = 0; i < s.n_tokens; i++) {
    ck__acme_http01_unset(s.http01, s.tokens[i]);
    free(s.tokens[i]);
  }
  ck__acme_http01_release(s.http01);
  for (i = 0; i < s.n_dns; i++) {
    ck_errctx e2 = CK_ERRCTX_INIT;
    if (s.dns[i].value != NULL &&
        ck__acme_dns01_hook(s.hook, "del", s.dns[i].name, s.dns[i].value, 30000,
                            &e2) != CK_OK)
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "upstream.dns01.cleanup", CK_S("profile", req->profile),
             CK_S("msg", ck_errctx_msg(&e2)));
    free(s.dns[i].name);
    free(s.dns[i].value);
  }
  ck__acme_order_clear(&o);
  ck__acme_dir_clear(&s.dir);
  ck__acme_key_clear(&s.key);
  ck__acme_http_free(s.http);
  free(s.kid);
  return rc;
}
