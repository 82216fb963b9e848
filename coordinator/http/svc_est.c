/* svc_est.c — EST (RFC 7030, with the RFC 8951 clarifications) on the
 * HTTPS listener: /.well-known/est/[<label>/]{cacerts, simpleenroll,
 * simplereenroll, csrattrs, serverkeygen}.
 *
 * This file is the HTTP side only: method and path, copying what the work
 * needs off the connection (the TLS client certificate), running the
 * decision on the thread pool (coordinator/est/) and writing the answer in
 * the media types the RFCs fix — application/pkcs7-mime;
 * smime-type=certs-only, application/csrattrs, multipart/mixed with
 * application/pkcs8 for serverkeygen — all base64 with
 * Content-Transfer-Encoding: base64. Errors are text/plain with one line
 * saying why; 401 carries WWW-Authenticate: Basic, 202/429 Retry-After. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/pkcs7.h"
#include "common/crypto/tls.h"
#include "common/net/tls.h"
#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/est/est.h"
#include "coordinator/http/svc_est.h"

#define EST_PREFIX "/.well-known/est/"
#define CT_CERTS "application/pkcs7-mime; smime-type=certs-only"

typedef struct est_call {
  ck_coord_rt *rt;
  ck_estd_op op;
  char label[CK_ESTD_NAME_MAX];
  uint8_t *peer_cert; /* copy of the TLS client certificate, or NULL */
  size_t peer_cert_len;
  uint8_t unique[64]; /* tls-unique (TLS 1.2), len 0 when undefined */
  size_t unique_len;
  uint8_t exporter[64]; /* tls-exporter (RFC 9266), len 0 when unavailable */
  size_t exporter_len;
  ck_estd_result res;
} est_call;

/* Answers an error: text/plain, the message and a newline. */
static void respond_text(ck_http_req *req, const ck_estd_result *r) {
  char buf[600], num[16];
  int n = snprintf(buf, sizeof buf, "%s\n",
                   r->message[0] != '\0' ? r->message
                                         : ck_http_status_text(r->status));

  if (r->status == 401)
    ck_http_add_header(req, "WWW-Authenticate",
                       "Basic realm=\"certkeeper EST\"");
  if (r->retry_after > 0) {
    snprintf(num, sizeof num, "%d", r->retry_after);
    ck_http_add_header(req, "Retry-After", num);
  }
  ck_http_add_header(req, "Cache-Control", "no-store");
  ck_http_respond(req, r->status, "text/plain; charset=utf-8", buf,
                  n > 0 && (size_t)n < sizeof buf ? (size_t)n : strlen(buf));
}

/* Answers 200 with body as base64 in content type ct. */
static void respond_b64(ck_http_req *req, const char *ct, const uint8_t *der,
                        size_t len) {
  char *text = NULL;
  size_t tl = 0;

  if (ck_b64_encode(der, len, 1, &text, &tl, NULL) != CK_OK) {
    ck_http_respond_status(req, 503);
    return;
  }
  ck_http_add_header(req, "Content-Transfer-Encoding", "base64");
  ck_http_add_header(req, "Cache-Control", "no-store");
  ck_http_respond(req, 200, ct, text, tl);
  free(text);
}

/* serverkeygen (RFC 7030 §4.4.2): multipart/mixed, the private key as
 * application/pkcs8 first, then the certificate as certs-only PKCS#7. The
 * key travels unencrypted inside the TLS channel, as the RFC allows when
 * no additional encryption is asked for. */
static void respond_keygen(ck_http_req *req, const ck_estd_result *r) {
  char *key = NULL, *p7 = NULL, *body = NULL, boundary[40], ct[96];
  size_t kl = 0, pl = 0, cap, n;
  uint8_t rnd[12];

  if (ck_random(rnd, sizeof rnd) != CK_OK ||
      ck_crypto_hex(rnd, sizeof rnd, 0, boundary + 4, sizeof boundary - 4) !=
          CK_OK ||
      ck_b64_encode(r->key_der, r->key_len, 1, &key, &kl, NULL) != CK_OK ||
      ck_b64_encode(r->p7, r->p7_len, 1, &p7, &pl, NULL) != CK_OK) {
    ck_http_respond_status(req, 503);
    goto out;
  }
  memcpy(boundary, "est-", 4);
  cap = kl + pl + 512;
  if ((body = malloc(cap)) == NULL) {
    ck_http_respond_status(req, 503);
    goto out;
  }
  n = (size_t)snprintf(body, cap,
                       "--%s\r\nContent-Type: application/pkcs8\r\n"
                       "Content-Transfer-Encoding: base64\r\n\r\n%s"
                       "--%s\r\nContent-Type: " CT_CERTS "\r\n"
                       "Content-Transfer-Encoding: base64\r\n\r\n%s"
                       "--%s--\r\n",
                       boundary, key, boundary, p7, boundary);
  snprintf(ct, sizeof ct, "multipart/mixed; boundary=%s", boundary);
  ck_http_add_header(req, "Cache-Control", "no-store");
  ck_http_respond(req, 200, ct, body, n < cap ? n : cap - 1);
out:
  if (body != NULL)
    ck_crypto_free_secret(body, cap);
  if (key != NULL)
    ck_crypto_free_secret(key, kl);
  free(p7);
}

static void est_work(ck_http_req *req, void *arg) {
  est_call *c = arg;
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *body;
  ck_csr *csr = NULL;
  ck_estd_req in;
  size_t len;
  int status = 0;

  switch (c->op) {
  case CK_ESTD_OP_CACERTS:
    ck_estd_cacerts(c->rt, c->label, &c->res);
    return;
  case CK_ESTD_OP_CSRATTRS:
    ck_estd_csrattrs(c->rt, c->label, &c->res);
    return;
  default:
    break;
  }
  body = ck_http_req_body(req, &len);
  if (ck_estd_decode_csr(ck_http_req_header(req, "Content-Type"),
                         ck_http_req_header(req, "Content-Transfer-Encoding"),
                         body, len, &csr, &status, &err) != CK_OK) {
    c->res.status = status;
    ck_strlcpy(c->res.message, ck_errctx_msg(&err), sizeof c->res.message);
    memset(&in, 0, sizeof in);
    in.op = c->op;
    in.label = c->label;
    in.peer = ck_http_req_peer(req);
    ck_estd_refused(c->rt, &in, NULL, &c->res);
    return;
  }
  memset(&in, 0, sizeof in);
  in.op = c->op;
  in.label = c->label;
  in.authorization = ck_http_req_header(req, "Authorization");
  in.peer_cert = c->peer_cert;
  in.peer_cert_len = c->peer_cert_len;
  in.csr = csr;
  in.peer = ck_http_req_peer(req);
  memcpy(in.tls_unique, c->unique, c->unique_len);
  in.tls_unique_len = c->unique_len;
  memcpy(in.tls_exporter, c->exporter, c->exporter_len);
  in.tls_exporter_len = c->exporter_len;
  ck_estd_enroll(c->rt, &in, &c->res);
  ck_csr_free(csr);
}

static void est_after(ck_http_req *req, void *arg) {
  est_call *c = arg;

  if (c->res.status == 200 && c->op == CK_ESTD_OP_SERVERKEYGEN)
    respond_keygen(req, &c->res);
  else if (c->res.status == 200 && c->op == CK_ESTD_OP_CSRATTRS)
    respond_b64(req, "application/csrattrs", c->res.p7, c->res.p7_len);
  else if (c->res.status == 200)
    respond_b64(req, CT_CERTS, c->res.p7, c->res.p7_len);
  else
    respond_text(req, &c->res);
  ck_estd_result_clear(&c->res);
  free(c->peer_cert);
  free(c);
}

static void est_handler(ck_http_req *req, void *arg) {
  ck_errctx err = CK_ERRCTX_INIT;
  unsigned m = ck_http_req_method(req), want;
  const ck_tls_session *sess;
  const uint8_t *pc;
  est_call *c = calloc(1, sizeof *c);
  ck_estd_result r;
  size_t pcl = 0;

  memset(&r, 0, sizeof r);
  if (c == NULL) {
    ck_http_respond_status(req, 503);
    return;
  }
  c->rt = arg;
  if (ck_estd_parse_path(ck_http_req_path_rest(req), c->label, &c->op, &err) !=
      CK_OK) {
    r.status = 404;
    ck_strlcpy(r.message, ck_errctx_msg(&err), sizeof r.message);
    goto answer;
  }
  if (c->op == CK_ESTD_OP_FULLCMC) {
    r.status = 501;
    ck_strlcpy(r.message, "fullcmc is not implemented; use simpleenroll",
               sizeof r.message);
    goto answer;
  }
  want = c->op == CK_ESTD_OP_CACERTS || c->op == CK_ESTD_OP_CSRATTRS
             ? CK_HTTP_GET | CK_HTTP_HEAD
             : CK_HTTP_POST;
  if (!(m & want)) {
    ck_http_add_header(req, "Allow",
                       want == CK_HTTP_POST ? "POST" : "GET, HEAD");
    r.status = 405;
    snprintf(r.message, sizeof r.message, "%s takes %s", ck_estd_op_name(c->op),
             want == CK_HTTP_POST ? "POST" : "GET");
    goto answer;
  }
  if (!ck_http_req_is_tls(req)) {
    r.status = 403;
    ck_strlcpy(r.message, "EST is served over HTTPS only", sizeof r.message);
    goto answer;
  }
  pc = ck_http_req_peer_cert_der(req, &pcl);
  if (pc != NULL && pcl > 0) {
    if ((c->peer_cert = malloc(pcl)) == NULL) {
      r.status = 503;
      goto answer;
    }
    memcpy(c->peer_cert, pc, pcl);
    c->peer_cert_len = pcl;
  }
  /* the channel bindings, read now: the connection may be gone later */
  sess = ck_http_req_conn(req) != NULL
             ? ck_tls_conn_session(ck_http_req_conn(req))
             : NULL;
  if (sess != NULL) {
    if (ck_tls_session_channel_binding(sess, CK_TLS_BINDING_UNIQUE, c->unique,
                                       sizeof c->unique, &c->unique_len,
                                       NULL) != CK_OK)
      c->unique_len = 0;
    if (ck_tls_session_channel_binding(sess, CK_TLS_BINDING_EXPORTER,
                                       c->exporter, sizeof c->exporter,
                                       &c->exporter_len, NULL) != CK_OK)
      c->exporter_len = 0;
  }
  if (ck_http_defer(req, est_work, est_after, c) == CK_OK)
    return;
  r.status = 503;
  ck_strlcpy(r.message, "busy; retry shortly", sizeof r.message);
  r.retry_after = 5;
answer:
  respond_text(req, &r);
  free(c->peer_cert);
  free(c);
}

ck_err ck_svc_est_register(ck_http_server *srv, ck_coord_rt *rt,
                           ck_errctx *err) {
  ck_http_route r;

  memset(&r, 0, sizeof r);
  r.methods = CK_HTTP_GET | CK_HTTP_POST;
  r.path = EST_PREFIX;
  r.prefix = 1;
  r.handler = est_handler;
  r.arg = rt;
  r.max_body_bytes = CK_ESTD_BODY_MAX;
  return ck_http_server_add_route(srv, &r, err);
}
