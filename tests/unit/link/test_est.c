/* test_est.c — the agent's EST client (agent/link/est.h, est_http.h):
 * the response parser (lengths, chunked, cut-short answers, limits,
 * Retry-After both ways), the PKCS#7 certs reader on top of it, the status
 * table, URL parsing, the answer handed to the state machine, and the
 * client itself against an in-process TLS server that plays a canned EST
 * server: /cacerts bootstrap with the pin and a refused pin, 202 with
 * Retry-After, 401 with the server's text, 200 with the issued
 * certificate, and what the client sent (Basic only on the verified
 * connection, application/pkcs10 base64). The real coordinator is in
 * tests/integration/test_agent_est.sh. */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/link/est.h"
#include "agent/link/est_http.h"
#include "common/crypto/pkcs7.h"
#include "common/crypto/tls.h"
#include "common/net/tls.h"

/* ---- parser ------------------------------------------------------------ */

static ck_err parse(const char *s, int eof, ck_est_resp *r) {
  return ck_est_resp_parse((const uint8_t *)s, strlen(s), eof, 1000, r, NULL);
}

static void test_resp_parse(void **state) {
  ck_est_resp r;
  (void)state;

  assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Type: application/"
                         "pkcs7-mime; smime-type=certs-only\r\nContent-"
                         "Transfer-Encoding: base64\r\nContent-Length: 4\r\n"
                         "\r\nQUJD",
                         0, &r),
                   CK_OK);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.content_type, "application/pkcs7-mime");
  assert_string_equal(r.smime_type, "certs-only");
  assert_int_equal(r.b64, 1);
  assert_int_equal(r.body_len, 4);
  assert_memory_equal(r.body, "QUJD", 4);
  ck_est_resp_clear(&r);
  /* incomplete: headers, then body */
  assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Le", 0, &r),
                   CK_ERR_AGAIN);
  assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", 0,
                         &r),
                   CK_ERR_AGAIN);
  assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", 1,
                         &r),
                   CK_ERR_HTTP_PARSE);
  assert_int_equal(parse("", 1, &r), CK_ERR_HTTP_PARSE);
  /* chunked, with an extension and a trailer */
  assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n",
                         0, &r),
                   CK_OK);
  assert_int_equal(r.body_len, 5);
  assert_memory_equal(r.body, "abcde", 5);
  ck_est_resp_clear(&r);
  assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "3\r\nabc",
                         0, &r),
                   CK_ERR_AGAIN);
  assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "zz\r\n",
                         0, &r),
                   CK_ERR_HTTP_PARSE);
  /* delimited by the end of the connection; bare LF line ends */
  assert_int_equal(parse("HTTP/1.0 500 Oops\n\nbody text", 0, &r),
                   CK_ERR_AGAIN);
  assert_int_equal(parse("HTTP/1.0 500 Oops\n\nbody text", 1, &r), CK_OK);
  assert_int_equal(r.status, 500);
  assert_int_equal(r.body_len, 9);
  ck_est_resp_clear(&r);
  /* malformed */
  assert_int_equal(parse("HTTP/2 200 OK\r\n\r\n", 0, &r), CK_ERR_HTTP_PARSE);
  assert_int_equal(parse("HTTP/1.1 20x OK\r\n\r\n", 0, &r), CK_ERR_HTTP_PARSE);
  assert_int_equal(parse("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", 0, &r),
                   CK_ERR_HTTP_PARSE);
  assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
                         "Content-Length: 2\r\n\r\nab",
                         0, &r),
                   CK_ERR_HTTP_PARSE);
  assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0,
                         &r),
                   CK_ERR_HTTP_PARSE);
  /* a head that never ends */
  {
    size_t n = CK_EST_HEAD_MAX + 100;
    char *big = malloc(n + 1);
    memset(big, 'a', n);
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    big[n] = '\0';
    assert_int_equal(parse(big, 0, &r), CK_ERR_LIMIT);
    free(big);
  }
}

static void test_retry_after(void **state) {
  ck_est_resp r;
  (void)state;

  assert_int_equal(ck_est_retry_after("120", 3, 0), 120);
  assert_int_equal(ck_est_retry_after(" 7 ", 3, 0), 7);
  assert_int_equal(ck_est_retry_after("99999999", 8, 0), 30 * 86400);
  assert_int_equal(ck_est_retry_after("-5", 2, 0), -1);
  assert_int_equal(ck_est_retry_after("soon", 4, 0), -1);
  /* 1994-11-06 08:49:37 UTC = 784111777 */
  assert_int_equal(
      ck_est_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 29, 784111777 - 90),
      90);
  assert_int_equal(
      ck_est_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 29, 784111777 + 5),
      0);
  assert_int_equal(
      ck_est_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", 29, 0), -1);
  assert_int_equal(parse("HTTP/1.1 202 Accepted\r\nRetry-After: 42\r\n"
                         "Content-Length: 0\r\n\r\n",
                         0, &r),
                   CK_OK);
  assert_int_equal(r.retry_after, 42);
  ck_est_resp_clear(&r);
}

static void test_status_table(void **state) {
  const char *hint = NULL;
  (void)state;

  assert_int_equal(ck_est_status_err(200, &hint), CK_OK);
  assert_int_equal(ck_est_status_err(202, &hint), CK_ERR_AGAIN);
  assert_non_null(strstr(hint, "Retry-After"));
  assert_int_equal(ck_est_status_err(400, NULL), CK_ERR_PARSE);
  assert_int_equal(ck_est_status_err(401, &hint), CK_ERR_AUTH);
  assert_non_null(strstr(hint, "secret_file"));
  assert_int_equal(ck_est_status_err(403, NULL), CK_ERR_DENIED);
  assert_int_equal(ck_est_status_err(404, NULL), CK_ERR_NOT_FOUND);
  assert_int_equal(ck_est_status_err(415, NULL), CK_ERR_UNSUPPORTED);
  assert_int_equal(ck_est_status_err(429, NULL), CK_ERR_AGAIN);
  assert_int_equal(ck_est_status_err(503, NULL), CK_ERR_AGAIN);
  assert_int_equal(ck_est_status_err(500, NULL), CK_ERR_INTERNAL);
  assert_int_equal(ck_est_status_err(302, NULL), CK_ERR_HTTP_PARSE);
}

static void test_url(void **state) {
  ck_est_url u;
  (void)state;

  assert_int_equal(
      ck_est_url_parse("https://127.0.0.1:8443/.well-known/est", &u, NULL),
      CK_OK);
  assert_string_equal(u.host, "127.0.0.1");
  assert_string_equal(u.addr, "127.0.0.1:8443");
  assert_string_equal(u.base, "/.well-known/est");
  assert_int_equal(
      ck_est_url_parse("https://est.example/.well-known/est/fleet-a/", &u,
                       NULL),
      CK_OK);
  assert_string_equal(u.addr, "est.example:443");
  assert_string_equal(u.base, "/.well-known/est/fleet-a");
  assert_int_equal(
      ck_est_url_parse("https://[::1]:9/.well-known/est", &u, NULL), CK_OK);
  assert_string_equal(u.host, "::1");
  assert_string_equal(u.addr, "[::1]:9");
  assert_int_equal(ck_est_url_parse("http://h/.well-known/est", &u, NULL),
                   CK_ERR_CONFIG);
  assert_int_equal(ck_est_url_parse("https://h/other", &u, NULL),
                   CK_ERR_CONFIG);
  assert_int_equal(ck_est_url_parse("https://h/.well-known/estx", &u, NULL),
                   CK_ERR_CONFIG);
  assert_int_equal(ck_est_url_parse("https://h/.well-known/est/a/b", &u, NULL),
                   CK_ERR_CONFIG);
  assert_int_equal(ck_est_url_parse("https://h:0/.well-known/est", &u, NULL),
                   CK_ERR_CONFIG);
  assert_int_equal(ck_est_url_parse("https://h:99999/.well-known/est", &u,
                                    NULL),
                   CK_ERR_CONFIG);
}

/* ---- PKCS#7 answers ---------------------------------------------------- */

/* base64 certs-only PKCS#7 of the PEM files given (all their certs). */
static char *p7_b64(const char *const *rels, size_t n, size_t *len) {
  ck_cert_list l = {0};
  ck_pkcs7_cert pc[8];
  uint8_t *der = NULL;
  size_t der_len = 0, i, fl;
  char *b64 = NULL;

  for (i = 0; i < n; i++) {
    char *f = ck_test_slurp(rels[i], &fl);
    assert_int_equal(ck_cert_list_parse(&l, (uint8_t *)f, fl, NULL), CK_OK);
    free(f);
  }
  assert_true(l.n <= 8);
  for (i = 0; i < l.n; i++)
    pc[i].der = ck_cert_der(l.certs[i], &pc[i].len);
  assert_int_equal(ck_pkcs7_certs_only_build(pc, l.n, &der, &der_len, NULL),
                   CK_OK);
  assert_int_equal(ck_b64_encode(der, der_len, 1, &b64, len, NULL), CK_OK);
  free(der);
  ck_cert_list_clear(&l);
  return b64;
}

static void test_resp_certs(void **state) {
  const char *rels[] = {"tls/root-ca.pem", "tls/int-ca.pem"};
  ck_est_resp r;
  ck_cert_list l = {0};
  ck_errctx err = CK_ERRCTX_INIT;
  size_t b64_len = 0;
  char *b64 = p7_b64(rels, 2, &b64_len);
  (void)state;

  memset(&r, 0, sizeof r);
  snprintf(r.content_type, sizeof r.content_type, "application/pkcs7-mime");
  r.body = (const uint8_t *)b64;
  r.body_len = b64_len;
  assert_int_equal(ck_est_resp_certs(&r, &l, &err), CK_OK);
  assert_int_equal(l.n, 2);
  ck_cert_list_clear(&l);
  /* RFC 8951: base64 even without the header */
  r.b64 = 0;
  assert_int_equal(ck_est_resp_certs(&r, &l, NULL), CK_OK);
  ck_cert_list_clear(&l);
  snprintf(r.content_type, sizeof r.content_type, "text/plain");
  assert_int_equal(ck_est_resp_certs(&r, &l, &err), CK_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.msg, "text/plain"));
  snprintf(r.content_type, sizeof r.content_type, "application/pkcs7-mime");
  snprintf(r.smime_type, sizeof r.smime_type, "signed-data");
  assert_int_equal(ck_est_resp_certs(&r, &l, NULL), CK_ERR_UNSUPPORTED);
  r.smime_type[0] = '\0';
  r.body = (const uint8_t *)"not*base64";
  r.body_len = 10;
  assert_int_equal(ck_est_resp_certs(&r, &l, NULL), CK_ERR_PARSE);
  assert_int_equal(l.n, 0);
  free(b64);
}

/* A CSR for tls/client.key (the key of tls/client.pem). */
static void client_csr(uint8_t **der, size_t *len) {
  size_t kl;
  char *kp = ck_test_slurp("tls/client.key", &kl);
  ck_key *k = NULL;
  ck_csr *csr = NULL;
  ck_name_attr cn = {"CN", "agent-1"};
  ck_csr_req req = {&cn, 1, NULL, 0};
  const uint8_t *d;

  assert_int_equal(ck_key_parse((uint8_t *)kp, kl, &k, NULL), CK_OK);
  assert_int_equal(ck_csr_create(k, &req, &csr, NULL), CK_OK);
  d = ck_csr_der(csr, len);
  *der = malloc(*len);
  memcpy(*der, d, *len);
  ck_csr_free(csr);
  ck_key_free(k);
  free(kp);
}

static void test_answer(void **state) {
  ck_est_result res;
  ck_arena *a = ck_arena_new(4096);
  ck_wire_msg m;
  uint8_t *csr = NULL;
  size_t csr_len = 0, fl;
  char *f = ck_test_slurp("tls/client.pem", &fl); /* leaf + intermediate */
  char *ca = ck_test_slurp("tls/root-ca.pem", NULL);
  (void)state;

  client_csr(&csr, &csr_len);
  memset(&res, 0, sizeof res);
  res.retry_after = -1;
  /* intermediate first: the leaf is found by the CSR's key */
  assert_int_equal(ck_cert_list_parse(&res.certs, (uint8_t *)f, fl, NULL),
                   CK_OK);
  {
    ck_cert *t = res.certs.certs[0];
    res.certs.certs[0] = res.certs.certs[1];
    res.certs.certs[1] = t;
  }
  assert_int_equal(ck_est_answer(&res, csr, csr_len, (uint8_t *)ca,
                                 strlen(ca), a, &m, NULL),
                   CK_OK);
  assert_int_equal(m.type, CK_WIRE_CERT);
  {
    size_t l;
    const uint8_t *d = ck_cert_der(res.certs.certs[1], &l);
    assert_int_equal(m.u.cert.cert.len, l);
    assert_memory_equal(m.u.cert.cert.data, d, l);
  }
  assert_int_equal(m.u.cert.chain.n, 1); /* the intermediate, no root */
  /* no certificate for the key */
  ck_cert_free(res.certs.certs[1]);
  res.certs.n = 1;
  assert_int_equal(ck_est_answer(&res, csr, csr_len, NULL, 0, a, &m, NULL),
                   CK_ERR_KEY_MISMATCH);
  assert_int_equal(m.type, CK_WIRE_ERROR);
  assert_int_equal(m.u.error.code, CK_ERR_KEY_MISMATCH);
  /* a refusal passes through, with Retry-After */
  res.rc = ck_setf(&res.err, CK_ERR_AGAIN, "EST simpleenroll: HTTP 202");
  res.retry_after = 17;
  assert_int_equal(ck_est_answer(&res, csr, csr_len, NULL, 0, a, &m, NULL),
                   CK_OK);
  assert_int_equal(m.type, CK_WIRE_ERROR);
  assert_int_equal(m.u.error.code, CK_ERR_AGAIN);
  assert_true(m.u.error.has_retry_after);
  assert_int_equal(m.u.error.retry_after, 17);
  ck_cert_list_clear(&res.certs);
  ck_arena_free(a);
  free(csr);
  free(f);
  free(ca);
}

/* ---- the client against a canned EST server ------------------------------ */

typedef struct srv {
  uv_loop_t loop;
  ck_listener *lst;
  ck_tls_ctx *ctx;
  int port;
  int lst_closed;
  const char *answer[4]; /* the answers, in connection order */
  size_t n_answers;
  size_t next;
  char req[4][8192]; /* what each connection sent */
  size_t req_len[4];
  int live; /* server conns open */
} srv;

typedef struct sconn {
  srv *s;
  size_t idx;
  int answered;
} sconn;

static void sconn_closed(ck_conn *c) {
  sconn *sc = c->data;
  sc->s->live--;
  free(sc);
}

static void sconn_read(ck_conn *c, const uint8_t *d, size_t n, ck_err st) {
  sconn *sc = c->data;
  srv *s = sc->s;
  char *r = s->req[sc->idx];
  size_t *rl = &s->req_len[sc->idx];
  const char *end, *cl;
  size_t body = 0;

  if (st != CK_OK) {
    ck_conn_close(c, sconn_closed);
    return;
  }
  if (sc->answered)
    return;
  if (*rl + n >= sizeof s->req[0])
    n = sizeof s->req[0] - 1 - *rl;
  memcpy(r + *rl, d, n);
  *rl += n;
  r[*rl] = '\0';
  if ((end = strstr(r, "\r\n\r\n")) == NULL)
    return;
  if ((cl = strstr(r, "Content-Length: ")) != NULL)
    body = (size_t)strtoul(cl + 16, NULL, 10);
  if ((size_t)(r + *rl - (end + 4)) < body)
    return;
  sc->answered = 1;
  {
    const char *a = sc->idx < s->n_answers ? s->answer[sc->idx]
                                           : "HTTP/1.1 500 X\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)a, (unsigned)strlen(a));
    assert_int_equal(ck_conn_write(c, &b, 1, NULL, NULL), CK_OK);
  }
  ck_conn_close(c, sconn_closed);
}

static void srv_hs(ck_conn *c, ck_err st, const ck_errctx *err, void *arg) {
  sconn *sc = arg;
  (void)err;
  if (st != CK_OK) {
    sc->s->live--;
    free(sc);
    return;
  }
  c->data = sc;
  assert_int_equal(ck_conn_read_start(c, sconn_read), CK_OK);
}

static void srv_accept(ck_listener *l, ck_conn *c) {
  srv *s = ck_listener_data(l);
  sconn *sc = calloc(1, sizeof *sc);

  sc->s = s;
  sc->idx = s->next < 4 ? s->next++ : 3;
  s->live++;
  assert_int_equal(ck_tls_conn_wrap(c, s->ctx, CK_TLS_SERVER, srv_hs, sc, NULL),
                   CK_OK);
}

static void srv_start(srv *s) {
  ck_tls_config tc = {0};
  ck_errctx err = CK_ERRCTX_INIT;
  char cert[512], key[512];

  memset(s, 0, sizeof *s);
  snprintf(cert, sizeof cert, "%s", ck_test_data("tls/server-ec.pem"));
  snprintf(key, sizeof key, "%s", ck_test_data("tls/server-ec.key"));
  tc.role = CK_TLS_SERVER;
  tc.cert_file = cert;
  tc.key_file = key;
  assert_int_equal(uv_loop_init(&s->loop), 0);
  assert_int_equal(ck_tls_ctx_new(&tc, &s->ctx, &err), CK_OK);
  assert_int_equal(ck_listener_start(&s->loop, "127.0.0.1:0", srv_accept, s,
                                     &s->lst, &err),
                   CK_OK);
  s->port = ck_listener_port(s->lst);
}

static void srv_lst_closed(void *arg) { ((srv *)arg)->lst_closed = 1; }

static void srv_stop(srv *s) {
  ck_listener_close(s->lst, srv_lst_closed);
  ck_test_run_until(&s->loop, &s->lst_closed, 5000);
  while (uv_loop_alive(&s->loop))
    uv_run(&s->loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&s->loop), 0);
  ck_tls_ctx_free(s->ctx);
}

typedef struct outcome {
  int done;
  ck_err rc;
  int status;
  int64_t retry_after;
  size_t n_certs;
  char msg[512];
} outcome;

static void on_result(ck_est_client *c, ck_est_result *res, void *arg) {
  outcome *o = arg;
  (void)c;
  o->done = 1;
  o->rc = res->rc;
  o->status = res->status;
  o->retry_after = res->retry_after;
  o->n_certs = res->certs.n;
  snprintf(o->msg, sizeof o->msg, "%s", res->rc ? ck_errctx_msg(&res->err) : "");
}

static char *http_p7(const char *const *rels, size_t n) {
  size_t b64_len = 0;
  char *b64 = p7_b64(rels, n, &b64_len), *out;
  size_t cap = b64_len + 256;

  out = malloc(cap);
  snprintf(out, cap,
           "HTTP/1.1 200 OK\r\nContent-Type: application/pkcs7-mime; "
           "smime-type=certs-only\r\nContent-Transfer-Encoding: base64\r\n"
           "Content-Length: %zu\r\n\r\n%s",
           b64_len, b64);
  free(b64);
  return out;
}

static ck_est_client *client(srv *s, const char *pin_rel) {
  char url[128];
  char *pin = ck_test_slurp(pin_rel, NULL);
  ck_est_conf ec = {0};
  ck_est_client *c = NULL;
  ck_errctx err = CK_ERRCTX_INIT;

  pin[strcspn(pin, "\r\n")] = '\0';
  snprintf(url, sizeof url, "https://127.0.0.1:%d/.well-known/est/fleet",
           s->port);
  ec.url = url;
  ec.ca_fingerprint = pin;
  ec.user = "fleet-a";
  ec.password = (const uint8_t *)"s3cret";
  ec.password_len = 6;
  ec.timeout_ms = 5000;
  if (ck_est_client_new(&s->loop, &ec, &c, &err) != CK_OK) {
    print_error("client: %s\n", err.msg);
    fail();
  }
  free(pin);
  return c;
}

static void finish(srv *s, ck_est_client *c) {
  ck_est_client_close(c);
  while (s->live > 0)
    uv_run(&s->loop, UV_RUN_ONCE);
  srv_stop(s);
}

static void test_client_bootstrap_and_enroll(void **state) {
  const char *cas[] = {"tls/root-ca.pem", "tls/int-ca.pem"};
  const char *issued[] = {"tls/client.pem"};
  char *a0 = http_p7(cas, 2), *a1 = http_p7(issued, 1);
  srv s;
  outcome o = {0};
  ck_est_client *c;
  uint8_t *csr = NULL;
  size_t csr_len = 0, ca_len = 0;
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  srv_start(&s);
  s.answer[0] = a0;
  s.answer[1] = a1;
  s.n_answers = 2;
  c = client(&s, "tls/root-ca.sha256");
  client_csr(&csr, &csr_len);
  assert_int_equal(ck_est_enroll(c, 0, csr, csr_len, on_result, &o, &err),
                   CK_OK);
  assert_int_equal(o.done, 0); /* never inside the call */
  ck_test_run_until(&s.loop, &o.done, 10000);
  assert_int_equal(o.rc, CK_OK);
  assert_int_equal(o.status, 200);
  assert_int_equal(o.n_certs, 2);
  assert_non_null(ck_est_client_ca_pem(c, &ca_len));
  assert_true(ca_len > 0);
  /* the bootstrap: GET, no secret on the provisional connection */
  assert_non_null(strstr(s.req[0], "GET /.well-known/est/fleet/cacerts "));
  assert_null(strstr(s.req[0], "Authorization"));
  /* the enrollment: Basic fleet-a:s3cret, base64 PKCS#10 */
  assert_non_null(strstr(s.req[1], "POST /.well-known/est/fleet/simpleenroll "));
  assert_non_null(strstr(s.req[1], "Authorization: Basic ZmxlZXQtYTpzM2NyZXQ="));
  assert_non_null(strstr(s.req[1], "Content-Type: application/pkcs10\r\n"));
  assert_non_null(strstr(s.req[1], "Content-Transfer-Encoding: base64\r\n"));
  finish(&s, c);
  free(csr);
  free(a0);
  free(a1);
}

static void test_client_pin_mismatch(void **state) {
  const char *cas[] = {"tls/root-ca.pem", "tls/int-ca.pem"};
  char *a0 = http_p7(cas, 2);
  srv s;
  outcome o = {0};
  ck_est_client *c;
  size_t ca_len = 0;
  (void)state;

  srv_start(&s);
  s.answer[0] = a0;
  s.n_answers = 1;
  c = client(&s, "tls/other-ca.sha256");
  assert_int_equal(ck_est_cacerts(c, on_result, &o, NULL), CK_OK);
  ck_test_run_until(&s.loop, &o.done, 10000);
  assert_int_equal(o.rc, CK_ERR_PIN_MISMATCH);
  assert_non_null(strstr(o.msg, "ca_fingerprint"));
  assert_null(ck_est_client_ca_pem(c, &ca_len));
  finish(&s, c);
  free(a0);
}

static void test_client_statuses(void **state) {
  const char *cas[] = {"tls/root-ca.pem", "tls/int-ca.pem"};
  char *a0 = http_p7(cas, 2);
  srv s;
  outcome o = {0};
  ck_est_client *c;
  uint8_t *csr = NULL;
  size_t csr_len = 0;
  (void)state;

  client_csr(&csr, &csr_len);
  srv_start(&s);
  s.answer[0] = a0;
  s.answer[1] = "HTTP/1.1 202 Accepted\r\nRetry-After: 7\r\n"
                "Content-Length: 0\r\n\r\n";
  s.answer[2] = "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\n"
                "Content-Length: 22\r\n\r\nunknown fleet 'nope'\r\n";
  s.answer[3] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                "Content-Length: 2\r\n\r\nhi";
  s.n_answers = 4;
  c = client(&s, "tls/root-ca.sha256");
  assert_int_equal(ck_est_enroll(c, 0, csr, csr_len, on_result, &o, NULL),
                   CK_OK);
  ck_test_run_until(&s.loop, &o.done, 10000);
  assert_int_equal(o.rc, CK_ERR_AGAIN);
  assert_int_equal(o.status, 202);
  assert_int_equal(o.retry_after, 7);
  /* trust is kept: the next request goes straight to simplereenroll */
  memset(&o, 0, sizeof o);
  assert_int_equal(ck_est_enroll(c, 1, csr, csr_len, on_result, &o, NULL),
                   CK_OK);
  ck_test_run_until(&s.loop, &o.done, 10000);
  assert_int_equal(o.rc, CK_ERR_AUTH);
  assert_int_equal(o.status, 401);
  assert_non_null(strstr(o.msg, "HTTP 401"));
  assert_non_null(strstr(o.msg, "unknown fleet 'nope'"));
  assert_non_null(strstr(s.req[2], "POST /.well-known/est/fleet/simplereenroll "));
  memset(&o, 0, sizeof o);
  assert_int_equal(ck_est_enroll(c, 0, csr, csr_len, on_result, &o, NULL),
                   CK_OK);
  ck_test_run_until(&s.loop, &o.done, 10000);
  assert_int_equal(o.rc, CK_ERR_UNSUPPORTED);
  assert_non_null(strstr(o.msg, "text/html"));
  finish(&s, c);
  free(csr);
  free(a0);
}

static void test_client_refused_connect(void **state) {
  ck_est_conf ec = {0};
  ck_est_client *c = NULL;
  uv_loop_t loop;
  outcome o = {0};
  (void)state;

  assert_int_equal(uv_loop_init(&loop), 0);
  ec.url = "https://127.0.0.1:1/.well-known/est";
  ec.ca_fingerprint =
      "0000000000000000000000000000000000000000000000000000000000000000";
  ec.timeout_ms = 3000;
  assert_int_equal(ck_est_client_new(&loop, &ec, &c, NULL), CK_OK);
  assert_int_equal(ck_est_cacerts(c, on_result, &o, NULL), CK_OK);
  ck_test_run_until(&loop, &o.done, 10000);
  assert_int_equal(o.rc, CK_ERR_NET);
  assert_non_null(strstr(o.msg, "cannot connect"));
  ck_est_client_close(c);
  while (uv_loop_alive(&loop))
    uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&loop), 0);
  /* configuration errors */
  ec.ca_fingerprint = NULL;
  assert_int_equal(ck_est_client_new(&loop, &ec, &c, NULL), CK_ERR_CONFIG);
  ec.ca_fingerprint = "zz";
  assert_int_equal(ck_est_client_new(&loop, &ec, &c, NULL), CK_ERR_CONFIG);
}

static int server_supported(void) {
  ck_tls_config tc = {0};
  ck_tls_ctx *ctx = NULL;
  char cert[512], key[512];
  ck_err rc;

  snprintf(cert, sizeof cert, "%s", ck_test_data("tls/server-ec.pem"));
  snprintf(key, sizeof key, "%s", ck_test_data("tls/server-ec.key"));
  tc.role = CK_TLS_SERVER;
  tc.cert_file = cert;
  tc.key_file = key;
  rc = ck_tls_ctx_new(&tc, &ctx, NULL);
  ck_tls_ctx_free(ctx);
  return rc != CK_ERR_UNSUPPORTED;
}

int main(void) {
  const struct CMUnitTest pure[] = {
      cmocka_unit_test(test_resp_parse),   cmocka_unit_test(test_retry_after),
      cmocka_unit_test(test_status_table), cmocka_unit_test(test_url),
      cmocka_unit_test(test_resp_certs),   cmocka_unit_test(test_answer),
      cmocka_unit_test(test_client_refused_connect),
  };
  const struct CMUnitTest net[] = {
      cmocka_unit_test(test_client_bootstrap_and_enroll),
      cmocka_unit_test(test_client_pin_mismatch),
      cmocka_unit_test(test_client_statuses),
  };
  int rc = cmocka_run_group_tests(pure, NULL, NULL);

  if (!server_supported()) {
    printf("skipped: the canned EST server needs the TLS server role "
           "(CK_DISABLE_TLS_SERVER)\n");
    return rc;
  }
  return rc | cmocka_run_group_tests(net, NULL, NULL);
}
