/* est.c — the agent's EST client (see est.h): one TLS connection per
 * request on the caller's libuv loop, the /cacerts trust bootstrap with a
 * pinned fingerprint, simpleenroll and simplereenroll. The bytes are read
 * by est_http.c and common/crypto/pkcs7.c. */
#include "agent/link/est.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/link/est_http.h"
#include "common/crypto/pkcs7.h"
#include "common/crypto/tls.h"
#include "common/net/tls.h"
#include "common/util/clock.h"
#include "common/util/mem.h"

#define CK__EST_TIMEOUT_MS 30000u

#ifndef CK_VERSION
#define CK_VERSION "0.1.0"
#endif

enum { CK__OP_CACERTS = 0, CK__OP_ENROLL, CK__OP_REENROLL };

typedef struct ck__est_req ck__est_req;

struct ck_est_client {
  uv_loop_t *loop;
  ck_est_url url;
  uint8_t pin[CK_SHA256_LEN];
  int has_pin;
  char *auth;       /* "Authorization: Basic ...\r\n" (secret), or NULL */
  size_t auth_len;
  uint8_t *cert_pem, *key_pem; /* client certificate (key: secret) */
  size_t cert_len, key_len;
  unsigned timeout_ms;
  ck_tls_ctx *boot;  /* provisional: no verification (bootstrap only) */
  ck_tls_ctx *ctx;   /* trust = anchors; client certificate when set */
  char *ca_pem;      /* the anchors (PEM), NULL before a bootstrap */
  size_t ca_len;
  ck__est_req *reqs; /* in flight */
  size_t busy;
  int closing;
};

struct ck__est_req {
  ck_est_client *c;
  ck__est_req *next, *prev;
  int op;
  int boot;        /* this connection fetches /cacerts for the bootstrap */
  uint8_t *body;   /* request body: base64 CSR */
  size_t body_len;
  uv_timer_t timer;
  ck_conn *conn;
  int connecting;  /* ck_tls_connect started, callback not yet run */
  int closing;     /* conn close requested */
  int timer_open;
  int done;        /* outcome known (callback called or dropped) */
  uint8_t *rbuf;   /* response bytes */
  size_t rlen, rcap;
  ck_est_result res;
  ck_est_cb cb;
  void *arg;
};

/* ---- URL ------------------------------------------------------------------- */

ck_err ck_est_url_parse(const char *url, ck_est_url *out, ck_errctx *err) {
  const char *p, *slash, *hs, *he, *port = "443";
  size_t hl, pl = 3, bl;
  char portbuf[8];

  memset(out, 0, sizeof *out);
  if (url == NULL || strncmp(url, "https://", 8) != 0)
    return ck_failf(err, CK_ERR_CONFIG, "EST URL '%s' must start with https://",
                    url ? url : "");
  p = url + 8;
  slash = strchr(p, '/');
  if (slash == NULL)
    return ck_failf(err, CK_ERR_CONFIG,
                    "EST URL '%s' has no path (/.well-known/est)", url);
  if (*p == '[') {
    hs = p + 1;
    he = memchr(hs, ']', (size_t)(slash - hs));
    if (he == NULL)
      return ck_failf(err, CK_ERR_CONFIG, "EST URL '%s': bad IPv6 address",
                      url);
    if (he[1] == ':') {
      port = he + 2;
      pl = (size_t)(slash - port);
    } else if (he + 1 != slash) {
      return ck_failf(err, CK_ERR_CONFIG, "EST URL '%s': bad host", url);
    }
  } else {
    const char *colon = memchr(p, ':', (size_t)(slash - p));
    hs = p;
    he = colon != NULL ? colon : slash;
    if (colon != NULL) {
      port = colon + 1;
      pl = (size_t)(slash - port);
    }
  }
  hl = (size_t)(he - hs);
  if (hl == 0 || hl >= sizeof out->host || pl == 0 || pl >= sizeof portbuf)
    return ck_failf(err, CK_ERR_CONFIG, "EST URL '%s': bad host or port", url);
  memcpy(portbuf, port, pl);
  portbuf[pl] = '\0';
  if (strspn(portbuf, "0123456789") != pl || strtol(portbuf, NULL, 10) < 1 ||
      strtol(portbuf, NULL, 10) > 65535)
    return ck_failf(err, CK_ERR_CONFIG, "EST URL '%s': bad port", url);
  memcpy(out->host, hs, hl);
  out->host[hl] = '\0';
  if (strpbrk(out->host, "@/?# ") != NULL)
    return ck_failf(err, CK_ERR_CONFIG, "EST URL '%s': bad host", url);
  if (*p == '[') {
    snprintf(out->addr, sizeof out->addr, "[%s]:%s", out->host, portbuf);
    snprintf(out->hostport, sizeof out->hostport, "[%s]:%s", out->host,
             portbuf);
  } else {
    snprintf(out->addr, sizeof out->addr, "%s:%s", out->host, portbuf);
    snprintf(out->hostport, sizeof out->hostport, "%s:%s", out->host,
             portbuf);
  }
  bl = strlen(slash);
  while (bl > 1 && slash[bl - 1] == '/')
    bl--;
  if (bl >= sizeof out->base || strncmp(slash, "/.well-known/est", 16) != 0 ||
      (bl > 16 && slash[16] != '/') || strpbrk(slash, "?# ") != NULL ||
      (bl > 17 && memchr(slash + 17, '/', bl - 17) != NULL))
    return ck_failf(err, CK_ERR_CONFIG,
                    "EST URL '%s': the path must be /.well-known/est or "
                    "/.well-known/est/LABEL",
                    url);
  memcpy(out->base, slash, bl);
  out->base[bl] = '\0';
  return CK_OK;
}

/* ---- client ------------------------------------------------------------------ */

static ck_err ck__est_ctx(ck_est_client *c, ck_errctx *err) {
  ck_tls_config tc;
  ck_tls_ctx *ctx = NULL;
  ck_err rc;

  memset(&tc, 0, sizeof tc);
  tc.role = CK_TLS_CLIENT;
  tc.ca_pem = (const uint8_t *)c->ca_pem;
  tc.ca_pem_len = c->ca_len;
  tc.verify = CK_TLS_VERIFY_REQUIRE;
  tc.cert_pem = c->cert_pem;
  tc.cert_pem_len = c->cert_len;
  tc.key_pem = c->key_pem;
  tc.key_pem_len = c->key_len;
  tc.server_name = c->url.host;
  tc.handshake_timeout_ms = c->timeout_ms;
  if ((rc = ck_tls_ctx_new(&tc, &ctx, err)) != CK_OK)
    return rc;
  ck_tls_ctx_free(c->ctx);
  c->ctx = ctx;
  return CK_OK;
}

static ck_err ck__dup(const uint8_t *p, size_t n, uint8_t **out) {
  if ((*out = malloc(n + 1)) == NULL)
    return CK_ERR_NOMEM;
  memcpy(*out, p, n);
  (*out)[n] = 0;
  return CK_OK;
}

ck_err ck_est_client_new(uv_loop_t *loop, const ck_est_conf *conf,
                         ck_est_client **out, ck_errctx *err) {
  ck_est_client *c = NULL;
  ck_tls_config tc;
  char *up = NULL, *b64 = NULL;
  size_t up_len = 0, b64_len = 0;
  ck_err rc;

  *out = NULL;
  if ((c = calloc(1, sizeof *c)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  c->loop = loop;
  c->timeout_ms = conf->timeout_ms ? conf->timeout_ms : CK__EST_TIMEOUT_MS;
  if ((rc = ck_est_url_parse(conf->url, &c->url, err)) != CK_OK)
    goto out;
  if (conf->ca_fingerprint != NULL && conf->ca_fingerprint[0] != '\0') {
    if (ck_crypto_fingerprint_parse(conf->ca_fingerprint, c->pin) != CK_OK) {
      rc = ck_failf(err, CK_ERR_CONFIG,
                    "ca_fingerprint: not a SHA-256 fingerprint (64 hex "
                    "digits)");
      goto out;
    }
    c->has_pin = 1;
  } else if (conf->ca_pem == NULL) {
    rc = ck_failf(err, CK_ERR_CONFIG,
                  "EST needs ca_fingerprint (the pinned CA) to trust the "
                  "server");
    goto out;
  }
  if ((conf->key_pem != NULL) != (conf->cert_pem != NULL)) {
    rc = ck_failf(err, CK_ERR_CONFIG,
                  "a client certificate needs both certificate and key");
    goto out;
  }
  if (conf->user != NULL) {
    if (conf->password == NULL || conf->password_len == 0 ||
        strchr(conf->user, ':') != NULL || conf->user[0] == '\0') {
      rc = ck_failf(err, CK_ERR_CONFIG,
                    "HTTP Basic needs a user without ':' and a non-empty "
                    "secret");
      goto out;
    }
    up_len = strlen(conf->user) + 1 + conf->password_len;
    if ((up = malloc(up_len + 1)) == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
      goto out;
    }
    memcpy(up, conf->user, strlen(conf->user));
    up[strlen(conf->user)] = ':';
    memcpy(up + strlen(conf->user) + 1, conf->password, conf->password_len);
    up[up_len] = '\0';
    if ((rc = ck_b64_encode((const uint8_t *)up, up_len, 0, &b64, &b64_len,
                            err)) != CK_OK)
      goto out;
    c->auth_len = b64_len + 25;
    if ((c->auth = malloc(c->auth_len + 1)) == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
      goto out;
    }
    snprintf(c->auth, c->auth_len + 1, "Authorization: Basic %s\r\n", b64);
    c->auth_len = strlen(c->auth);
  }
  if (conf->cert_pem != NULL &&
      ((rc = ck__dup(conf->cert_pem, conf->cert_pem_len, &c->cert_pem)) !=
           CK_OK ||
       (rc = ck__dup(conf->key_pem, conf->key_pem_len, &c->key_pem)) !=
           CK_OK)) {
    ck_failf(err, rc, "out of memory");
    goto out;
  }
  c->cert_len = conf->cert_pem != NULL ? conf->cert_pem_len : 0;
  c->key_len = conf->key_pem != NULL ? conf->key_pem_len : 0;
  memset(&tc, 0, sizeof tc);
  tc.role = CK_TLS_CLIENT;
  tc.verify = CK_TLS_VERIFY_NONE; /* RFC 7030 §4.1.1 provisional */
  tc.server_name = c->url.host;
  tc.handshake_timeout_ms = c->timeout_ms;
  if ((rc = ck_tls_ctx_new(&tc, &c->boot, err)) != CK_OK)
    goto out;
  if (conf->ca_pem != NULL) {
    if ((rc = ck__dup(conf->ca_pem, conf->ca_pem_len,
                      (uint8_t **)&c->ca_pem)) != CK_OK) {
      ck_failf(err, rc, "out of memory");
      goto out;
    }
    c->ca_len = conf->ca_pem_len;
  }
  if (c->ca_pem != NULL && (rc = ck__est_ctx(c, err)) != CK_OK)
    goto out;
  *out = c;
  c = NULL;
out:
  if (up != NULL)
    ck_crypto_free_secret(up, up_len + 1);
  if (b64 != NULL)
    ck_crypto_free_secret(b64, b64_len + 1);
  if (c != NULL) {
    c->closing = 1;
    ck_est_client_close(c);
  }
  return rc;
}

const uint8_t *ck_est_client_ca_pem(const ck_est_client *c, size_t *len) {
  *len = c->ca_pem != NULL ? c->ca_len : 0;
  return (const uint8_t *)c->ca_pem;
}

size_t ck_est_client_busy(const ck_est_client *c) { return c->busy; }

static void ck__client_free(ck_est_client *c) {
  if (c->auth != NULL)
    ck_crypto_free_secret(c->auth, c->auth_len + 1);
  if (c->key_pem != NULL)
    ck_crypto_free_secret(c->key_pem, c->key_len + 1);
  free(c->cert_pem);
  free(c->ca_pem);
  ck_tls_ctx_free(c->boot);
  ck_tls_ctx_free(c->ctx);
  free(c);
}

/* ---- one request ------------------------------------------------------------- */

static void ck__req_start(ck__est_req *q);
static void ck__req_finish(ck__est_req *q);

/* Frees q once its connection and timer are gone; frees the client too
 * when it is closing and this was its last request. */
static void ck__req_maybe_free(ck__est_req *q) {
  ck_est_client *c = q->c;

  if (!q->done || q->conn != NULL || q->connecting || q->timer_open)
    return;
  if (q->prev != NULL)
    q->prev->next = q->next;
  else
    c->reqs = q->next;
  if (q->next != NULL)
    q->next->prev = q->prev;
  c->busy--;
  ck_cert_list_clear(&q->res.certs);
  free(q->body);
  free(q->rbuf);
  free(q);
  if (c->closing && c->busy == 0)
    ck__client_free(c);
}

static void ck__req_timer_closed(uv_handle_t *h) {
  ck__est_req *q = h->data;
  q->timer_open = 0;
  ck__req_maybe_free(q);
}

static void ck__req_conn_closed(ck_conn *conn) {
  ck__est_req *q = conn->data;
  q->conn = NULL;
  q->closing = 0;
  if (!q->done) /* the bootstrap connection is done: the enroll one next */
    ck__req_start(q);
  else
    ck__req_maybe_free(q);
}

static void ck__req_close_conn(ck__est_req *q) {
  if (q->conn != NULL && !q->closing) {
    q->closing = 1;
    ck_conn_close(q->conn, ck__req_conn_closed);
  }
}

/* The outcome is known: report it (unless the client is closing) and let
 * everything close. */
static void ck__req_finish(ck__est_req *q) {
  if (q->done)
    return;
  q->done = 1;
  if (!q->c->closing && q->cb != NULL)
    q->cb(q->c, &q->res, q->arg);
  if (q->timer_open && !uv_is_closing((uv_handle_t *)&q->timer)) {
    uv_timer_stop(&q->timer);
    uv_close((uv_handle_t *)&q->timer, ck__req_timer_closed);
  }
  ck__req_close_conn(q);
  ck__req_maybe_free(q);
}

static void ck__req_fail(ck__est_req *q, ck_err code, const char *fmt,
                         const char *detail) {
  if (q->done)
    return;
  q->res.rc = ck_setf(&q->res.err, code, fmt, detail);
  ck__req_finish(q);
}

static void ck__req_timeout(uv_timer_t *t) {
  ck__est_req *q = t->data;
  ck__req_fail(q, CK_ERR_TIMEOUT, "%s",
               "no answer from the EST server in time");
}

static const char *ck__op_path(const ck__est_req *q) {
  if (q->boot || q->op == CK__OP_CACERTS)
    return "cacerts";
  return q->op == CK__OP_REENROLL ? "simplereenroll" : "simpleenroll";
}

/* Sends the HTTP request on the ready connection. */
static ck_err ck__req_send(ck__est_req *q) {
  ck_est_client *c = q->c;
  char head[1024];
  uv_buf_t b[3];
  unsigned nb = 0;
  int post = !q->boot && q->op != CK__OP_CACERTS, n;

  n = snprintf(head, sizeof head,
               "%s %s/%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: "
               "certkeeper-agent/%s\r\nAccept: application/pkcs7-mime, "
               "*/*\r\nConnection: close\r\n",
               post ? "POST" : "GET", c->url.base, ck__op_path(q),
               c->url.hostport, CK_VERSION);
  if (n < 0 || (size_t)n >= sizeof head)
    return CK_ERR_INTERNAL;
  if (post) {
    int m = snprintf(head + n, sizeof head - (size_t)n,
                     "Content-Type: application/pkcs10\r\n"
                     "Content-Transfer-Encoding: base64\r\n"
                     "Content-Length: %zu\r\n",
                     q->body_len);
    if (m < 0 || (size_t)m >= sizeof head - (size_t)n)
      return CK_ERR_INTERNAL;
    n += m;
  }
  b[nb++] = uv_buf_init(head, (unsigned)n);
  /* the secret only on the verified connection, never the provisional one */
  if (post && c->auth != NULL)
    b[nb++] = uv_buf_init(c->auth, (unsigned)c->auth_len);
  b[nb++] = uv_buf_init("\r\n", 2);
  if (ck_conn_write(q->conn, b, nb, NULL, NULL) != CK_OK)
    return CK_ERR_NET;
  if (post) {
    uv_buf_t body = uv_buf_init((char *)q->body, (unsigned)q->body_len);
    if (ck_conn_write(q->conn, &body, 1, NULL, NULL) != CK_OK)
      return CK_ERR_NET;
  }
  return CK_OK;
}

/* Checks the /cacerts answer of a bootstrap against the pin and the
 * server's own chain, and makes the anchors the client's trust. */
static ck_err ck__bootstrap(ck__est_req *q, const ck_cert_list *got,
                            ck_errctx *err) {
  ck_est_client *c = q->c;
  ck_cert_list anchors = {0}, pinned = {0}, presented = {0};
  const uint8_t *der;
  size_t i, len, pem_len = 0;
  char *pem = NULL;
  ck_cert *leaf = NULL;
  ck_err rc = CK_OK;

  for (i = 0; i < got->n; i++)
    if (c->has_pin &&
        ck_ct_equal(ck_cert_get_info(got->certs[i])->sha256, c->pin,
                    CK_SHA256_LEN)) {
      ck_cert *d = ck_cert_dup(got->certs[i]);
      if (d == NULL || ck_cert_list_add(&pinned, d) != CK_OK) {
        rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
        goto out;
      }
      break;
    }
  if (pinned.n == 0) {
    rc = ck_failf(err, CK_ERR_PIN_MISMATCH,
                  "no certificate of the server's /cacerts (%zu) matches "
                  "ca_fingerprint: refusing to trust it",
                  got->n);
    goto out;
  }
  /* anchors: the pinned certificate and those that chain to it */
  {
    ck_cert *d = ck_cert_dup(pinned.certs[0]);
    if (d == NULL || ck_cert_list_add(&anchors, d) != CK_OK) {
      rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
      goto out;
    }
  }
  for (i = 0; i < got->n; i++) {
    ck_cert *d;
    if (memcmp(ck_cert_get_info(got->certs[i])->sha256, c->pin,
               CK_SHA256_LEN) == 0 ||
        ck_cert_verify(got->certs[i], got, &pinned, 0, NULL) != CK_OK)
      continue;
    if ((d = ck_cert_dup(got->certs[i])) == NULL ||
        ck_cert_list_add(&anchors, d) != CK_OK) {
      rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
      goto out;
    }
  }
  /* the server we talked to must hold a certificate from that CA */
  /* (the provisional handshake verified nothing: read the chain as sent) */
  for (i = 0; (der = ck_tls_session_peer_chain(ck_tls_conn_session(q->conn),
                                               i, &len)) != NULL;
       i++) {
    ck_cert *pc = NULL;
    if (ck_cert_parse(der, len, &pc, NULL) != CK_OK)
      continue;
    if (i == 0)
      leaf = ck_cert_dup(pc);
    if (ck_cert_list_add(&presented, pc) != CK_OK) {
      rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
      goto out;
    }
  }
  if (leaf == NULL) {
    rc = ck_failf(err, CK_ERR_PEER_CERT_REQUIRED,
                  "the EST server presented no certificate");
    goto out;
  }
  if ((rc = ck_cert_verify(leaf, &presented, &anchors, 0, err)) != CK_OK) {
    ck_failf(err, rc, "the EST server's certificate does not chain to the "
                      "pinned CA");
    goto out;
  }
  for (i = 0; i < anchors.n; i++) {
    char *one = NULL, *nb;
    size_t one_len = 0;
    const uint8_t *d = ck_cert_der(anchors.certs[i], &len);
    if (ck_pem_encode("CERTIFICATE", d, len, &one, &one_len) != CK_OK ||
        (nb = realloc(pem, pem_len + one_len + 1)) == NULL) {
      free(one);
      rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
      goto out;
    }
    pem = nb;
    memcpy(pem + pem_len, one, one_len + 1);
    pem_len += one_len;
    free(one);
  }
  free(c->ca_pem);
  c->ca_pem = pem;
  c->ca_len = pem_len;
  pem = NULL;
  if ((rc = ck__est_ctx(c, err)) != CK_OK)
    ck_failf(err, rc, "trusting the EST CA set");
out:
  free(pem);
  ck_cert_free(leaf);
  ck_cert_list_clear(&anchors);
  ck_cert_list_clear(&pinned);
  ck_cert_list_clear(&presented);
  return rc;
}

/* A complete response. */
static void ck__req_response(ck__est_req *q, const ck_est_resp *r) {
  const char *hint = "";
  char text[200];
  ck_err rc;

  q->res.status = r->status;
  q->res.retry_after = r->retry_after;
  rc = ck_est_status_err(r->status, &hint);
  if (rc != CK_OK) {
    ck_est_body_excerpt(r->body, r->body_len, text, sizeof text);
    if (rc == CK_ERR_AGAIN && q->res.retry_after < 0)
      q->res.retry_after = r->status == 202 ? 60 : -1;
    q->res.rc = ck_setf(&q->res.err, rc, "EST %s: HTTP %d: %s%s%s",
                        ck__op_path(q), r->status, hint,
                        text[0] ? "; the server says: " : "", text);
    ck__req_finish(q);
    return;
  }
  rc = ck_est_resp_certs(r, &q->res.certs, &q->res.err);
  if (rc != CK_OK) {
    q->res.rc = ck_failf(&q->res.err, rc, "EST %s", ck__op_path(q));
    ck__req_finish(q);
    return;
  }
  if (q->boot) {
    ck_errctx berr = CK_ERRCTX_INIT;
    if ((rc = ck__bootstrap(q, &q->res.certs, &berr)) != CK_OK) {
      q->res.rc = ck_setf(&q->res.err, rc, "EST trust bootstrap: %s",
                          ck_errctx_msg(&berr));
      ck__req_finish(q);
      return;
    }
    if (q->op != CK__OP_CACERTS) { /* now the real request */
      ck_cert_list_clear(&q->res.certs);
      q->res.status = 0;
      q->boot = 0;
      q->rlen = 0;
      ck__req_close_conn(q); /* its close callback starts the next one */
      return;
    }
  }
  q->res.rc = CK_OK;
  ck__req_finish(q);
}

static void ck__req_read(ck_conn *conn, const uint8_t *data, size_t len,
                         ck_err status) {
  ck__est_req *q = conn->data;
  ck_est_resp r;
  ck_errctx perr = CK_ERRCTX_INIT;
  ck_err rc;
  int eof = status != CK_OK;

  if (q->done || q->closing)
    return;
  if (status == CK_OK && len > 0) {
    if (q->rlen + len > CK_EST_RESP_MAX) {
      ck__req_fail(q, CK_ERR_LIMIT, "%s", "the EST answer is too large");
      return;
    }
    if (q->rlen + len > q->rcap) {
      size_t cap = q->rcap ? q->rcap * 2 : 8192;
      uint8_t *nb;
      while (cap < q->rlen + len)
        cap *= 2;
      if ((nb = realloc(q->rbuf, cap)) == NULL) {
        ck__req_fail(q, CK_ERR_NOMEM, "%s", "out of memory");
        return;
      }
      q->rbuf = nb;
      q->rcap = cap;
    }
    memcpy(q->rbuf + q->rlen, data, len);
    q->rlen += len;
  }
  if (eof && status != CK_ERR_CLOSED && q->rlen == 0) {
    char why[300];
    /* TLS 1.3: a refused client certificate shows up here, after the
     * handshake completed on our side */
    snprintf(why, sizeof why, "%s%s", ck_strerror(status),
             q->c->cert_pem != NULL && !q->boot
                 ? " (the server may have refused our client certificate: "
                   "unknown, expired or revoked, or an IDevID no fleet "
                   "trusts)"
                 : "");
    ck__req_fail(q, status, "the connection to the EST server failed: %s",
                 why);
    return;
  }
  rc = ck_est_resp_parse(q->rbuf, q->rlen, eof, ck_clock_now(), &r, &perr);
  if (rc == CK_ERR_AGAIN)
    return;
  if (rc != CK_OK) {
    ck__req_fail(q, rc, "bad answer from the EST server: %s",
                 ck_errctx_msg(&perr));
    return;
  }
  ck__req_response(q, &r);
  ck_est_resp_clear(&r);
}

static void ck__req_hs(ck_conn *conn, ck_err status, const ck_errctx *err,
                       void *arg) {
  ck__est_req *q = arg;
  const char *why = err != NULL ? ck_errctx_msg(err) : ck_strerror(status);

  q->connecting = 0;
  if (status != CK_OK) {
    if (q->done) { /* timed out or closed meanwhile */
      ck__req_maybe_free(q);
      return;
    }
    if (status == CK_ERR_NET || status == CK_ERR_ADDR)
      ck__req_fail(q, status, "cannot connect to the EST server: %s", why);
    else if (status == CK_ERR_UNTRUSTED || status == CK_ERR_VERIFY ||
             status == CK_ERR_EXPIRED || status == CK_ERR_NOT_YET_VALID)
      ck__req_fail(q, status,
                   "the EST server's certificate does not verify against "
                   "the bootstrapped CA: %s",
                   why);
    else
      ck__req_fail(q, status, "TLS with the EST server failed: %s", why);
    return;
  }
  q->conn = conn;
  conn->data = q;
  if (q->done) {
    ck__req_close_conn(q);
    return;
  }
  if (ck_conn_read_start(conn, ck__req_read) != CK_OK ||
      ck__req_send(q) != CK_OK)
    ck__req_fail(q, CK_ERR_NET, "%s", "cannot send to the EST server");
}

/* Opens the next connection of q: the bootstrap one while the client has
 * no trust yet, else the request itself. */
static ck_err ck__req_connect(ck__est_req *q) {
  ck_est_client *c = q->c;
  ck_errctx cerr = CK_ERRCTX_INIT;
  ck_err rc;

  if (c->ctx == NULL)
    q->boot = 1;
  q->rlen = 0;
  rc = ck_tls_connect(c->loop, c->url.addr, q->boot ? c->boot : c->ctx,
                      ck__req_hs, q, &cerr);
  if (rc != CK_OK)
    return ck_setf(&q->res.err, rc, "cannot connect to %s: %s", c->url.addr,
                   ck_errctx_msg(&cerr));
  q->connecting = 1;
  return CK_OK;
}

static void ck__req_start(ck__est_req *q) {
  if ((q->res.rc = ck__req_connect(q)) != CK_OK)
    ck__req_finish(q);
}

static ck_err ck__req_new(ck_est_client *c, int op, const uint8_t *csr,
                          size_t csr_len, ck_est_cb cb, void *arg,
                          ck_errctx *err) {
  ck__est_req *q;
  char *b64 = NULL;
  size_t b64_len = 0;
  ck_err rc;

  if (c->closing)
    return ck_failf(err, CK_ERR_CLOSED, "the EST client is closing");
  if ((q = calloc(1, sizeof *q)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  if (csr != NULL) {
    if ((rc = ck_b64_encode(csr, csr_len, 1, &b64, &b64_len, err)) !=
        CK_OK) {
      free(q);
      return rc;
    }
    q->body = (uint8_t *)b64;
    q->body_len = b64_len;
  }
  q->c = c;
  q->op = op;
  q->cb = cb;
  q->arg = arg;
  q->res.retry_after = -1;
  q->next = c->reqs;
  if (c->reqs != NULL)
    c->reqs->prev = q;
  c->reqs = q;
  c->busy++;
  uv_timer_init(c->loop, &q->timer);
  q->timer.data = q;
  q->timer_open = 1;
  /* one deadline for the whole request, bootstrap included */
  uv_timer_start(&q->timer, ck__req_timeout, 2u * c->timeout_ms, 0);
  /* the callbacks run from the loop, never inside this call */
  if ((rc = ck__req_connect(q)) != CK_OK) {
    ck_failf(err, rc, "%s", ck_errctx_msg(&q->res.err));
    q->cb = NULL;
    ck__req_finish(q);
    return rc;
  }
  return CK_OK;
}

ck_err ck_est_cacerts(ck_est_client *c, ck_est_cb cb, void *arg,
                      ck_errctx *err) {
  return ck__req_new(c, CK__OP_CACERTS, NULL, 0, cb, arg, err);
}

ck_err ck_est_enroll(ck_est_client *c, int reenroll, const uint8_t *csr,
                     size_t csr_len, ck_est_cb cb, void *arg, ck_errctx *err) {
  if (csr == NULL || csr_len == 0)
    return ck_failf(err, CK_ERR_INVAL, "no CSR");
  return ck__req_new(c, reenroll ? CK__OP_REENROLL : CK__OP_ENROLL, csr,
                     csr_len, cb, arg, err);
}

void ck_est_client_close(ck_est_client *c) {
  ck__est_req *q, *next;

  if (c == NULL)
    return;
  c->closing = 1;
  if (c->busy == 0) {
    ck__client_free(c);
    return;
  }
  for (q = c->reqs; q != NULL; q = next) {
    next = q->next;
    if (!q->done) {
      q->res.rc = CK_ERR_CANCELED;
      ck__req_finish(q); /* may free q, and c with the last one */
    }
  }
}
