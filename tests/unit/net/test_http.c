/* test_http.c — the HTTP/1.1 server layer over real loopback sockets: a
 * server loop in a second thread (http_fixture.h), a raw blocking client in
 * the test thread. Covers routing (exact, prefix, 404, 405 + Allow),
 * keep-alive, pipelining order with late answers, HEAD, Connection: close
 * and HTTP/1.0, Expect: 100-continue (100 / 413 / 417 / precheck refusal),
 * header and body limits (431, 413, per-route limit, chunked), malformed
 * input (400), slow clients (header, body and idle timeouts), thread-pool
 * handlers including a client that vanishes and a server closed while work
 * is pending, write backpressure and the connection limit. */
#include "tests/unit/net/http_fixture.h"

/* ---- the routes -------------------------------------------------------- */

typedef struct shared {
  uv_sem_t work_started; /* posted by the /gate work function */
  uv_sem_t gate;         /* posted by the test to let /gate finish */
  int gate_gone;         /* after(): ck_http_req_gone() */
  ck_err gate_rc;        /* after(): result of ck_http_respond */
  int gate_after_ran;
} shared;

static void h_hello(ck_http_req *req, void *arg) {
  (void)arg;
  ck_http_respond(req, 200, "text/plain", "hello\n", 6);
}

static void h_echo(ck_http_req *req, void *arg) {
  char out[4096];
  size_t blen;
  const uint8_t *body = ck_http_req_body(req, &blen);
  const char *name = ck_http_req_query_param(req, "name");
  const char *x = ck_http_req_header(req, "x-TEST");
  int n;
  (void)arg;

  n = snprintf(out, sizeof out,
               "method=%s path=%s query=%s name=%s x=%s peer=%s tls=%d "
               "minor=%d body=%.*s",
               ck_http_req_method_name(req), ck_http_req_path(req),
               ck_http_req_query(req), name ? name : "(none)", x ? x : "(none)",
               strncmp(ck_http_req_peer(req), "127.0.0.1:", 10) == 0 ? "local"
                                                                     : "?",
               ck_http_req_is_tls(req), ck_http_req_version_minor(req),
               (int)blen, (const char *)body);
  ck_http_add_header(req, "X-Body-Len", blen == 0 ? "0" : "some");
  ck_http_respond(req, 200, "text/plain", out, (size_t)n);
}

static void h_est_prefix(ck_http_req *req, void *arg) {
  char out[256];
  int n = snprintf(out, sizeof out, "rest=%s", ck_http_req_path_rest(req));
  (void)arg;
  ck_http_respond(req, 200, "text/plain", out, (size_t)n);
}

static void h_est_exact(ck_http_req *req, void *arg) {
  (void)arg;
  ck_http_respond(req, 200, "text/plain", "exact", 5);
}

/* /slow answers 100 ms later from a timer: a late answer. */
static void slow_timer_closed(uv_handle_t *h) { free(h); }
static void slow_fire(uv_timer_t *t) {
  ck_http_respond(t->data, 200, "text/plain", "slow", 4);
  uv_close((uv_handle_t *)t, slow_timer_closed);
}
static void h_slow(ck_http_req *req, void *arg) {
  uv_timer_t *t = malloc(sizeof *t);
  hfx *f = arg;

  if (t == NULL) {
    ck_http_respond_status(req, 500);
    return;
  }
  uv_timer_init(&f->loop, t);
  t->data = req;
  uv_timer_start(t, slow_fire, 100, 0);
}

/* /work computes on the thread pool, answers from the loop thread. */
static void work_sum(ck_http_req *req, void *arg) {
  uint64_t s = 0;
  char *out;

  for (uint64_t i = 1; i <= 1000000; i++)
    s += i;
  out = ck_arena_alloc(ck_http_req_arena(req), 64);
  if (out != NULL)
    snprintf(out, 64, "sum=%llu", (unsigned long long)s);
  ((char **)arg)[0] = out; /* where after() finds it */
}
static void work_sum_after(ck_http_req *req, void *arg) {
  char **slot = arg;
  char *out = slot[0];
  free(slot);
  if (out == NULL)
    ck_http_respond_status(req, 500);
  else
    ck_http_respond(req, 200, "text/plain", out, strlen(out));
}
static void h_work(ck_http_req *req, void *arg) {
  char **slot = calloc(1, sizeof *slot);
  (void)arg;
  if (slot == NULL || ck_http_defer(req, work_sum, work_sum_after, slot) != CK_OK) {
    free(slot);
    ck_http_respond_status(req, 500);
  }
}

/* /gate blocks its pool work until the test posts the gate. */
static void work_gate(ck_http_req *req, void *arg) {
  shared *sh = arg;
  (void)req;
  uv_sem_post(&sh->work_started);
  uv_sem_wait(&sh->gate);
}
static void work_gate_after(ck_http_req *req, void *arg) {
  shared *sh = arg;
  sh->gate_gone = ck_http_req_gone(req);
  sh->gate_rc = ck_http_respond(req, 200, "text/plain", "gate", 4);
  sh->gate_after_ran = 1;
}
static void h_gate(ck_http_req *req, void *arg) {
  hfx *f = arg;
  if (ck_http_defer(req, work_gate, work_gate_after, f->user) != CK_OK)
    ck_http_respond_status(req, 500);
}

static void h_stats(ck_http_req *req, void *arg) {
  hfx *f = arg;
  shared *sh = f->user;
  ck_http_stats st;
  char out[512];
  int n;

  ck_http_server_stats(f->srv, &st);
  n = snprintf(out, sizeof out,
               "conns_total=%llu conns_open=%u reqs_live=%u requests=%llu "
               "bp=%llu gate_after=%d gate_gone=%d gate_rc=%d",
               (unsigned long long)st.conns_total, st.conns_open,
               st.reqs_live, (unsigned long long)st.requests_total,
               (unsigned long long)st.backpressure_events,
               sh ? sh->gate_after_ran : 0, sh ? sh->gate_gone : 0,
               sh ? (int)sh->gate_rc : 0);
  ck_http_respond(req, 200, "text/plain", out, (size_t)n);
}

#define BIG_LEN (1u << 20)
static void h_big(ck_http_req *req, void *arg) {
  static uint8_t *big;
  (void)arg;
  if (big == NULL) {
    big = malloc(BIG_LEN);
    if (big == NULL) {
      ck_http_respond_status(req, 500);
      return;
    }
    for (size_t i = 0; i < BIG_LEN; i++)
      big[i] = (uint8_t)('a' + i % 26);
  }
  ck_http_respond(req, 200, "application/octet-stream", big, BIG_LEN);
}

/* Handlers run on the server thread, where cmocka asserts must not be
 * used: a failed check answers 500 instead, which the test sees. */
static void h_close(ck_http_req *req, void *arg) {
  int ok = 1;
  (void)arg;
  ok &= ck_http_add_header(req, "Connection", "close") == CK_OK;
  ok &= ck_http_add_header(req, "Content-Length", "1") == CK_ERR_INVAL;
  ok &= ck_http_add_header(req, "X-Bad", "a\r\nb") == CK_ERR_INVAL;
  ok &= ck_http_add_header(req, "Bad Name", "v") == CK_ERR_INVAL;
  ok &= ck_http_add_header(req, "Connection", "upgrade") == CK_ERR_INVAL;
  if (ok)
    ck_http_respond(req, 200, "text/plain", "bye", 3);
  else
    ck_http_respond_status(req, 500);
}

static int guard(const ck_http_req *req, void *arg) {
  const char *a = ck_http_req_header(req, "authorization");
  (void)arg;
  return a != NULL && strcmp(a, "yes") == 0 ? 0 : 401;
}

static void setup_routes(hfx *f) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_http_server *s = f->srv;
  ck_http_route upload = {.methods = CK_HTTP_POST, .path = "/upload",
                          .handler = h_echo, .max_body_bytes = 64};
  ck_http_route guarded = {.methods = CK_HTTP_POST | CK_HTTP_GET,
                           .path = "/guarded", .handler = h_echo,
                           .precheck = guard};
  int ok = 1;

  ok &= ck_http_server_route(s, CK_HTTP_GET, "/hello", h_hello, f, &err) == 0;
  ok &= ck_http_server_route(s, CK_HTTP_GET | CK_HTTP_POST | CK_HTTP_PUT,
                             "/echo", h_echo, f, &err) == 0;
  ok &= ck_http_server_route_prefix(s, CK_HTTP_GET, "/.well-known/est/",
                                    h_est_prefix, f, &err) == 0;
  ok &= ck_http_server_route(s, CK_HTTP_GET, "/.well-known/est/cacerts",
                             h_est_exact, f, &err) == 0;
  ok &= ck_http_server_route(s, CK_HTTP_GET, "/slow", h_slow, f, &err) == 0;
  ok &= ck_http_server_route(s, CK_HTTP_GET, "/work", h_work, f, &err) == 0;
  ok &= ck_http_server_route(s, CK_HTTP_GET, "/gate", h_gate, f, &err) == 0;
  ok &= ck_http_server_route(s, CK_HTTP_GET, "/stats", h_stats, f, &err) == 0;
  ok &= ck_http_server_route(s, CK_HTTP_GET, "/big", h_big, f, &err) == 0;
  ok &= ck_http_server_route(s, CK_HTTP_GET, "/close", h_close, f, &err) == 0;
  ok &= ck_http_server_add_route(s, &upload, &err) == 0;
  ok &= ck_http_server_add_route(s, &guarded, &err) == 0;
  if (!ok)
    f->failed = 1;
}

static hfx *start(const ck_http_config *cfg, shared *sh) {
  return hfx_start(cfg, setup_routes, sh);
}

/* Fetches /stats on a fresh connection. */
static void get_stats(int port, char *out, size_t len) {
  resp r;
  assert_int_equal(raw_once(port, "GET /stats HTTP/1.1\r\nHost: t\r\n\r\n", &r),
                   200);
  snprintf(out, len, "%s", r.body);
  resp_free(&r);
}

/* ---- tests ------------------------------------------------------------- */

static void test_basic_keepalive(void **state) {
  hfx *f = start(NULL, NULL);
  rawc *c = raw_connect(f->port);
  ck_http_stats st;
  resp r;
  (void)state;

  for (int i = 0; i < 3; i++) {
    assert_int_equal(raw_roundtrip(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
                                   &r),
                     200);
    assert_string_equal(r.body, "hello\n");
    assert_string_equal(resp_header(&r, "Content-Length"), "6");
    assert_string_equal(resp_header(&r, "Content-Type"), "text/plain");
    assert_string_equal(resp_header(&r, "Server"), "certkeeper");
    assert_non_null(strstr(resp_header(&r, "Date"), " GMT"));
    assert_null(resp_header(&r, "Connection"));
    resp_free(&r);
  }
  raw_close(c);
  hfx_stop(f, &st);
  assert_int_equal(st.conns_total, 1); /* three requests, one connection */
  assert_int_equal(st.requests_total, 3);
}

static void test_routing(void **state) {
  hfx *f = start(NULL, NULL);
  rawc *c = raw_connect(f->port);
  resp r;
  (void)state;

  assert_int_equal(raw_roundtrip(c, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", &r),
                   404);
  assert_string_equal(r.body, "404 Not Found\n");
  resp_free(&r);
  assert_int_equal(
      raw_roundtrip(c, "DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r), 405);
  assert_string_equal(resp_header(&r, "Allow"), "GET, HEAD");
  resp_free(&r);
  /* unknown methods are routed nowhere */
  assert_int_equal(
      raw_roundtrip(c, "PROPFIND /echo HTTP/1.1\r\nHost: t\r\n\r\n", &r), 405);
  assert_string_equal(resp_header(&r, "Allow"), "GET, HEAD, POST, PUT");
  resp_free(&r);
  assert_int_equal(raw_roundtrip(c,
                                 "GET /.well-known/est/simpleenroll HTTP/1.1\r\n"
                                 "Host: t\r\n\r\n",
                                 &r),
                   200);
  assert_string_equal(r.body, "rest=simpleenroll");
  resp_free(&r);
  assert_int_equal(raw_roundtrip(c,
                                 "GET /.well-known/est/cacerts HTTP/1.1\r\n"
                                 "Host: t\r\n\r\n",
                                 &r),
                   200);
  assert_string_equal(r.body, "exact");
  resp_free(&r);
  /* the prefix itself matches with an empty rest; a shorter path does not */
  assert_int_equal(raw_roundtrip(c,
                                 "GET /.well-known/est/ HTTP/1.1\r\n"
                                 "Host: t\r\n\r\n",
                                 &r),
                   200);
  assert_string_equal(r.body, "rest=");
  resp_free(&r);
  assert_int_equal(raw_roundtrip(c,
                                 "GET /.well-known/est HTTP/1.1\r\n"
                                 "Host: t\r\n\r\n",
                                 &r),
                   404);
  resp_free(&r);
  /* query, decoded parameter, case-insensitive header lookup, peer */
  assert_int_equal(raw_roundtrip(c,
                                 "GET /echo?a=1&name=J%C3%B6rg+X&z HTTP/1.1\r\n"
                                 "Host: t\r\nX-Test:  value \r\n\r\n",
                                 &r),
                   200);
  assert_string_equal(r.body,
                      "method=GET path=/echo query=a=1&name=J%C3%B6rg+X&z "
                      "name=J\xC3\xB6rg X x=value peer=local tls=0 minor=1 "
                      "body=");
  assert_string_equal(resp_header(&r, "X-Body-Len"), "0");
  resp_free(&r);
  /* absolute-form target */
  assert_int_equal(raw_roundtrip(c,
                                 "GET http://t/hello?q=1 HTTP/1.1\r\n"
                                 "Host: t\r\n\r\n",
                                 &r),
                   200);
  assert_string_equal(r.body, "hello\n");
  resp_free(&r);
  raw_close(c);
  hfx_stop(f, NULL);
}

/* Three requests in one write: the first is answered 100 ms late, the
 * second at once, the third from the thread pool; the answers must come
 * back in request order. */
static void test_pipelining_order(void **state) {
  hfx *f = start(NULL, NULL);
  rawc *c = raw_connect(f->port);
  ck_http_stats st;
  resp r;
  (void)state;

  raw_sends(c, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"
               "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
               "GET /work HTTP/1.1\r\nHost: t\r\n\r\n"
               "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_string_equal(r.body, "slow");
  resp_free(&r);
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_string_equal(r.body, "hello\n");
  resp_free(&r);
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_string_equal(r.body, "sum=500000500000");
  resp_free(&r);
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_non_null(strstr(r.body, "method=POST"));
  assert_non_null(strstr(r.body, "body=abc"));
  resp_free(&r);
  raw_close(c);
  hfx_stop(f, &st);
  assert_int_equal(st.conns_total, 1);
}

static void test_head(void **state) {
  hfx *f = start(NULL, NULL);
  rawc *c = raw_connect(f->port);
  resp r;
  (void)state;

  /* HEAD and GET pipelined: if HEAD leaked a body, the GET would misparse */
  raw_sends(c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"
               "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
               "HEAD /nope HTTP/1.1\r\nHost: t\r\n\r\n"
               "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_int_equal(raw_response(c, &r, 1), 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(resp_header(&r, "Content-Length"), "6");
  resp_free(&r);
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_string_equal(r.body, "hello\n");
  resp_free(&r);
  assert_int_equal(raw_response(c, &r, 1), 0);
  assert_int_equal(r.status, 404);
  resp_free(&r);
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_string_equal(r.body, "hello\n");
  resp_free(&r);
  raw_close(c);
  hfx_stop(f, NULL);
}

static void test_connection_close(void **state) {
  hfx *f = start(NULL, NULL);
  rawc *c;
  resp r;
  (void)state;

  /* client asks */
  c = raw_connect(f->port);
  raw_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
               "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_string_equal(resp_header(&r, "Connection"), "close");
  resp_free(&r);
  raw_wait_close(c);
  assert_int_equal(c->len, 0); /* the second request was not answered */
  raw_close(c);

  /* HTTP/1.0 without keep-alive closes */
  c = raw_connect(f->port);
  assert_int_equal(raw_roundtrip(c, "GET /echo HTTP/1.0\r\n\r\n", &r), 200);
  assert_string_equal(resp_header(&r, "Connection"), "close");
  assert_non_null(strstr(r.body, "minor=0"));
  resp_free(&r);
  raw_wait_close(c);
  raw_close(c);

  /* HTTP/1.0 with keep-alive stays open and says so */
  c = raw_connect(f->port);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(
        raw_roundtrip(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                      &r),
        200);
    assert_string_equal(resp_header(&r, "Connection"), "keep-alive");
    resp_free(&r);
  }
  raw_close(c);

  /* the handler asks */
  c = raw_connect(f->port);
  assert_int_equal(raw_roundtrip(c, "GET /close HTTP/1.1\r\nHost: t\r\n\r\n", &r),
                   200);
  assert_string_equal(resp_header(&r, "Connection"), "close");
  assert_string_equal(r.body, "bye");
  resp_free(&r);
  raw_wait_close(c);
  raw_close(c);

  /* a client that half-closes after its request still gets the answer */
  c = raw_connect(f->port);
  raw_sends(c, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  shutdown(c->fd, SHUT_WR);
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_string_equal(r.body, "slow");
  resp_free(&r);
  raw_wait_close(c);
  raw_close(c);
  hfx_stop(f, NULL);
}

static void test_expect_continue(void **state) {
  hfx *f = start(NULL, NULL);
  rawc *c;
  resp r;
  (void)state;

  c = raw_connect(f->port);
  raw_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
               "Expect: 100-continue\r\n\r\n");
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_int_equal(r.status, 100);
  resp_free(&r);
  raw_sends(c, "12345");
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "body=12345"));
  resp_free(&r);
  /* same connection: too big for the route -> 413 at once, no 100 */
  raw_sends(c, "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 65\r\n"
               "Expect: 100-continue\r\n\r\n");
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_int_equal(r.status, 413);
  assert_string_equal(resp_header(&r, "Connection"), "close");
  resp_free(&r);
  raw_wait_close(c);
  raw_close(c);

  /* an expectation we do not know */
  c = raw_connect(f->port);
  assert_int_equal(raw_roundtrip(c,
                                 "POST /echo HTTP/1.1\r\nHost: t\r\n"
                                 "Content-Length: 5\r\nExpect: magic\r\n\r\n",
                                 &r),
                   417);
  resp_free(&r);
  raw_close(c);

  /* refused by the route's precheck: 401 without 100 Continue */
  c = raw_connect(f->port);
  assert_int_equal(raw_roundtrip(c,
                                 "POST /guarded HTTP/1.1\r\nHost: t\r\n"
                                 "Content-Length: 5\r\n"
                                 "Expect: 100-continue\r\n\r\n",
                                 &r),
                   401);
  resp_free(&r);
  raw_close(c);
  /* accepted by the precheck */
  c = raw_connect(f->port);
  raw_sends(c, "POST /guarded HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
               "Authorization: yes\r\nExpect: 100-continue\r\n\r\n");
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_int_equal(r.status, 100);
  resp_free(&r);
  raw_sends(c, "ok");
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_int_equal(r.status, 200);
  resp_free(&r);
  /* precheck refusing a body-less request keeps the connection */
  assert_int_equal(
      raw_roundtrip(c, "GET /guarded HTTP/1.1\r\nHost: t\r\n\r\n", &r), 401);
  assert_null(resp_header(&r, "Connection"));
  resp_free(&r);
  assert_int_equal(raw_roundtrip(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r),
                   200);
  resp_free(&r);
  raw_close(c);
  hfx_stop(f, NULL);
}

static void test_limits(void **state) {
  ck_http_config cfg;
  hfx *f;
  rawc *c;
  resp r;
  char *big;
  (void)state;

  ck_http_config_defaults(&cfg);
  cfg.max_body_bytes = 1000;
  cfg.max_headers = 20;
  f = start(&cfg, NULL);

  /* headers over 16 KiB */
  big = malloc(20000);
  assert_non_null(big);
  memset(big, 'a', 19999);
  big[19999] = '\0';
  c = raw_connect(f->port);
  raw_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: ");
  raw_sends(c, big);
  raw_sends(c, "\r\n\r\n");
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_int_equal(r.status, 431);
  assert_string_equal(resp_header(&r, "Connection"), "close");
  resp_free(&r);
  raw_wait_close(c);
  raw_close(c);
  /* a long URL counts too */
  c = raw_connect(f->port);
  raw_sends(c, "GET /");
  raw_sends(c, big);
  raw_sends(c, " HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_int_equal(r.status, 431);
  resp_free(&r);
  raw_close(c);
  free(big);

  /* too many header fields */
  {
    char req[4096];
    size_t n = (size_t)snprintf(req, sizeof req, "GET /hello HTTP/1.1\r\n");
    for (int i = 0; i < 30; i++)
      n += (size_t)snprintf(req + n, sizeof req - n, "X-H%d: v\r\n", i);
    snprintf(req + n, sizeof req - n, "\r\n");
    assert_int_equal(raw_once(f->port, req, &r), 431);
    resp_free(&r);
  }

  /* Content-Length over the server limit: refused before the body */
  assert_int_equal(raw_once(f->port,
                            "POST /echo HTTP/1.1\r\nHost: t\r\n"
                            "Content-Length: 1001\r\n\r\n",
                            &r),
                   413);
  resp_free(&r);
  /* chunked body that grows over the limit */
  c = raw_connect(f->port);
  raw_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\n"
               "Transfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 3; i++) {
    char chunk[600];
    snprintf(chunk, sizeof chunk, "1f4\r\n%0500d\r\n", 0);
    raw_sends(c, chunk);
  }
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_int_equal(r.status, 413);
  resp_free(&r);
  raw_wait_close(c);
  raw_close(c);
  /* chunked body within the limit is de-chunked for the handler */
  assert_int_equal(raw_once(f->port,
                            "POST /echo HTTP/1.1\r\nHost: t\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n"
                            "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n",
                            &r),
                   200);
  assert_non_null(strstr(r.body, "body=abcdefg"));
  resp_free(&r);
  /* per-route limit (64 bytes) */
  assert_int_equal(raw_once(f->port,
                            "POST /upload HTTP/1.1\r\nHost: t\r\n"
                            "Content-Length: 64\r\n\r\n"
                            "0123456789012345678901234567890123456789"
                            "012345678901234567890123",
                            &r),
                   200);
  resp_free(&r);
  assert_int_equal(raw_once(f->port,
                            "POST /upload HTTP/1.1\r\nHost: t\r\n"
                            "Content-Length: 65\r\n\r\n",
                            &r),
                   413);
  resp_free(&r);
  /* a body on a path with no route is refused before it is read */
  assert_int_equal(raw_once(f->port,
                            "POST /nope HTTP/1.1\r\nHost: t\r\n"
                            "Content-Length: 10\r\n\r\n",
                            &r),
                   404);
  resp_free(&r);
  hfx_stop(f, NULL);
}

static void test_bad_requests(void **state) {
  hfx *f = start(NULL, NULL);
  static const char *const bad[] = {
      "FOO BAR\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "zz\r\n",
      "GET nopath HTTP/1.1\r\nHost: t\r\n\r\n",
      "GET /hello HTTP/1.1\r\n\r\n",                     /* no Host */
      "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", /* two */
  };
  resp r;
  (void)state;

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    rawc *c = raw_connect(f->port);
    raw_sends(c, bad[i]);
    assert_int_equal(raw_response(c, &r, 0), 0);
    if (r.status != 400)
      print_error("request %zu: status %d\n", i, r.status);
    assert_int_equal(r.status, 400);
    assert_string_equal(resp_header(&r, "Connection"), "close");
    resp_free(&r);
    raw_wait_close(c);
    raw_close(c);
  }
  /* only HTTP/1.x is spoken */
  assert_int_equal(raw_once(f->port, "GET /hello HTTP/2.0\r\n\r\n", &r), 505);
  resp_free(&r);
  /* a good request before a bad one is still answered first */
  {
    rawc *c = raw_connect(f->port);
    raw_sends(c, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGARBAGE\r\n\r\n");
    assert_int_equal(raw_response(c, &r, 0), 0);
    assert_string_equal(r.body, "slow");
    resp_free(&r);
    assert_int_equal(raw_response(c, &r, 0), 0);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    raw_wait_close(c);
    raw_close(c);
  }
  hfx_stop(f, NULL);
}

/* Slow clients are dropped after the header, body and idle timeouts. The
 * elapsed time is measured against deadlines, with no sleeping. */
static void test_slow_clients(void **state) {
  ck_http_config cfg;
  hfx *f;
  rawc *c;
  resp r;
  uint64_t ms;
  (void)state;

  ck_http_config_defaults(&cfg);
  cfg.header_timeout_ms = 300;
  cfg.body_timeout_ms = 400;
  cfg.idle_timeout_ms = 500;
  f = start(&cfg, NULL);

  /* half a request head, then nothing (slowloris) */
  c = raw_connect(f->port);
  raw_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: ");
  ms = raw_wait_close(c);
  assert_int_equal(c->len, 0); /* dropped without an answer */
  assert_true(ms >= 200 && ms < 3000);
  raw_close(c);
  /* trickling one byte at a time does not reset the header deadline */
  c = raw_connect(f->port);
  {
    uint64_t t0 = now_ms();
    const char *req = "GET /hello HTTP/1.1\r\nHost: t\r\nX-Pad: ";
    size_t i = 0, n = strlen(req);
    struct timeval tv = {0, 50000};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    /* each recv waits at most 50 ms for the close: it paces the trickle */
    for (;;) {
      char b = i < n ? req[i] : 'x';
      i++;
      if (send(c->fd, &b, 1, MSG_NOSIGNAL) != 1)
        break;
      if (raw_fill(c) == 0)
        break;
      assert_true(now_ms() - t0 < 5000);
    }
    ms = now_ms() - t0;
    assert_true(ms >= 200 && ms < 3000);
  }
  raw_close(c);
  /* connecting and saying nothing */
  c = raw_connect(f->port);
  ms = raw_wait_close(c);
  assert_true(ms >= 200 && ms < 3000);
  raw_close(c);
  /* head in time, body never completes */
  c = raw_connect(f->port);
  raw_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  ms = raw_wait_close(c);
  assert_int_equal(c->len, 0);
  assert_true(ms >= 300 && ms < 3000);
  raw_close(c);
  /* idle keep-alive connection after a complete exchange */
  c = raw_connect(f->port);
  assert_int_equal(raw_roundtrip(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r),
                   200);
  resp_free(&r);
  ms = raw_wait_close(c);
  assert_true(ms >= 400 && ms < 3000);
  raw_close(c);
  /* a slow handler is not a slow client: no timeout while it works */
  c = raw_connect(f->port);
  assert_int_equal(raw_roundtrip(c, "GET /work HTTP/1.1\r\nHost: t\r\n\r\n", &r),
                   200);
  resp_free(&r);
  raw_close(c);
  hfx_stop(f, NULL);
}

static void test_deferred_pool(void **state) {
  hfx *f = start(NULL, NULL);
  resp r;
  (void)state;

  for (int i = 0; i < 4; i++) {
    assert_int_equal(
        raw_once(f->port, "GET /work HTTP/1.1\r\nHost: t\r\n\r\n", &r), 200);
    assert_string_equal(r.body, "sum=500000500000");
    resp_free(&r);
  }
  hfx_stop(f, NULL);
}

/* The client resets while its request is on the thread pool; the late
 * completion finds the request detached and nothing is touched after free
 * (ASan checks the latter). */
static void test_deferred_client_gone(void **state) {
  shared sh;
  hfx *f;
  rawc *c;
  char st[512];
  uint64_t t0;
  (void)state;

  memset(&sh, 0, sizeof sh);
  uv_sem_init(&sh.work_started, 0);
  uv_sem_init(&sh.gate, 0);
  f = start(NULL, &sh);
  c = raw_connect(f->port);
  raw_sends(c, "GET /gate HTTP/1.1\r\nHost: t\r\n\r\n");
  uv_sem_wait(&sh.work_started);
  raw_reset(c);
  /* wait until the server has seen the reset: only our /stats conn open */
  t0 = now_ms();
  for (;;) {
    get_stats(f->port, st, sizeof st);
    if (strstr(st, "conns_open=1 ") != NULL)
      break;
    assert_true(now_ms() - t0 < 5000);
  }
  /* live: the detached /gate request and this /stats request itself */
  assert_non_null(strstr(st, "reqs_live=2 "));
  uv_sem_post(&sh.gate);
  t0 = now_ms();
  for (;;) {
    get_stats(f->port, st, sizeof st);
    if (strstr(st, "gate_after=1") != NULL)
      break;
    assert_true(now_ms() - t0 < 5000);
  }
  assert_non_null(strstr(st, "reqs_live=1 ")); /* only /stats */
  hfx_stop(f, NULL);
  assert_int_equal(sh.gate_gone, 1);
  assert_int_equal(sh.gate_rc, CK_ERR_CLOSED);
  uv_sem_destroy(&sh.work_started);
  uv_sem_destroy(&sh.gate);
}

/* Closing the server while work is pending: connections close at once, the
 * close callback waits for the work to finish. */
static void test_close_with_pending_work(void **state) {
  shared sh;
  hfx *f;
  rawc *c;
  (void)state;

  memset(&sh, 0, sizeof sh);
  uv_sem_init(&sh.work_started, 0);
  uv_sem_init(&sh.gate, 0);
  f = start(NULL, &sh);
  c = raw_connect(f->port);
  raw_sends(c, "GET /gate HTTP/1.1\r\nHost: t\r\n\r\n");
  uv_sem_wait(&sh.work_started);
  hfx_request_stop(f);
  raw_wait_close(c); /* the server closed our conn */
  assert_int_equal(c->len, 0);
  raw_close(c);
  uv_sem_post(&sh.gate);
  hfx_stop(f, NULL); /* joins */
  assert_int_equal(sh.gate_after_ran, 1);
  assert_int_equal(sh.gate_gone, 1);
  assert_int_equal(sh.gate_rc, CK_ERR_CLOSED);
  uv_sem_destroy(&sh.work_started);
  uv_sem_destroy(&sh.gate);
}

/* Twenty pipelined 1 MiB answers to a client that reads nothing at first:
 * the server must stop reading (backpressure, seen in its counters) and
 * still deliver every answer, whole and in order, once the client reads. */
static void test_backpressure(void **state) {
  ck_http_config cfg;
  hfx *f;
  rawc *c;
  resp r;
  char st[512], reqs[20 * 64];
  size_t n = 0;
  uint64_t t0;
  (void)state;

  ck_http_config_defaults(&cfg);
  cfg.write_high_water = 64 * 1024;
  cfg.max_pipelined = 64;
  f = start(&cfg, NULL);
  c = raw_connect_rcvbuf(f->port, 8192);
  for (int i = 0; i < 20; i++)
    n += (size_t)snprintf(reqs + n, sizeof reqs - n,
                          "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
  raw_send(c, reqs, n);
  /* 20 MiB cannot fit in the socket buffers: the server must pause */
  t0 = now_ms();
  for (;;) {
    get_stats(f->port, st, sizeof st);
    if (strstr(st, "bp=0 ") == NULL)
      break;
    assert_true(now_ms() - t0 < 5000);
  }
  for (int i = 0; i < 20; i++) {
    assert_int_equal(raw_response(c, &r, 0), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, BIG_LEN);
    for (size_t j = 0; j < BIG_LEN; j += 4099)
      assert_int_equal(r.body[j], 'a' + j % 26);
    resp_free(&r);
  }
  raw_close(c);
  hfx_stop(f, NULL);
}

static void test_max_connections(void **state) {
  ck_http_config cfg;
  hfx *f;
  rawc *a, *b;
  resp r;
  (void)state;

  ck_http_config_defaults(&cfg);
  cfg.max_connections = 1;
  f = start(&cfg, NULL);
  a = raw_connect(f->port);
  assert_int_equal(raw_roundtrip(a, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r),
                   200);
  resp_free(&r);
  b = raw_connect(f->port);
  raw_wait_close(b); /* refused: closed at once */
  assert_int_equal(b->len, 0);
  raw_close(b);
  raw_close(a);
  hfx_stop(f, NULL);
}

static void dummy(ck_http_req *req, void *arg) {
  (void)arg;
  ck_http_respond_status(req, 204);
}

static void on_api_closed(void *arg) { *(int *)arg = 1; }

static void test_api(void **state) {
  uv_loop_t loop;
  ck_http_server *srv = NULL;
  ck_http_config cfg;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_http_route r = {.methods = CK_HTTP_GET, .path = "/x", .handler = dummy};
  int closed = 0;
  (void)state;

  ck_http_config_defaults(&cfg);
  assert_int_equal(cfg.max_header_bytes, 16384);
  assert_int_equal(cfg.max_body_bytes, 1048576);
  assert_int_equal(cfg.idle_timeout_ms, 60000);
  assert_int_equal(cfg.header_timeout_ms, 10000);
  assert_int_equal(cfg.body_timeout_ms, 30000);
  assert_string_equal(ck_http_status_text(431),
                      "Request Header Fields Too Large");
  assert_string_equal(ck_http_status_text(799), "Unknown");

  uv_loop_init(&loop);
  cfg.server_name = "bad\r\nname";
  assert_int_equal(ck_http_server_new(&loop, &cfg, &srv, &err), CK_ERR_INVAL);
  assert_null(srv);
  assert_int_equal(ck_http_server_new(&loop, NULL, &srv, &err), CK_OK);
  assert_int_equal(ck_http_server_add_route(srv, &r, &err), CK_OK);
  assert_int_equal(ck_http_server_add_route(srv, &r, &err), CK_ERR_INVAL);
  r.methods = CK_HTTP_POST; /* same path, other method: fine */
  assert_int_equal(ck_http_server_add_route(srv, &r, &err), CK_OK);
  r.prefix = 1; /* same string as a prefix route: distinct */
  assert_int_equal(ck_http_server_add_route(srv, &r, &err), CK_OK);
  r.path = "nope";
  assert_int_equal(ck_http_server_add_route(srv, &r, &err), CK_ERR_INVAL);
  r.path = "/y";
  r.handler = NULL;
  assert_int_equal(ck_http_server_add_route(srv, &r, &err), CK_ERR_INVAL);
  r.handler = dummy;
  r.methods = 0;
  assert_int_equal(ck_http_server_add_route(srv, &r, &err), CK_ERR_INVAL);
  r.methods = CK_HTTP_OTHER;
  assert_int_equal(ck_http_server_add_route(srv, &r, &err), CK_ERR_INVAL);
  assert_int_equal(ck_http_server_listen(srv, "nonsense", &err), CK_ERR_ADDR);
  assert_int_equal(ck_http_server_listen(srv, "127.0.0.1:0", &err), CK_OK);
  assert_true(ck_http_server_port(srv) > 0);
  ck_http_server_close(srv, on_api_closed, &closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(closed, 1);
  ck_http_server_close(NULL, NULL, NULL);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_api),
      cmocka_unit_test(test_basic_keepalive),
      cmocka_unit_test(test_routing),
      cmocka_unit_test(test_pipelining_order),
      cmocka_unit_test(test_head),
      cmocka_unit_test(test_connection_close),
      cmocka_unit_test(test_expect_continue),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_bad_requests),
      cmocka_unit_test(test_slow_clients),
      cmocka_unit_test(test_deferred_pool),
      cmocka_unit_test(test_deferred_client_gone),
      cmocka_unit_test(test_close_with_pending_work),
      cmocka_unit_test(test_backpressure),
      cmocka_unit_test(test_max_connections),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
