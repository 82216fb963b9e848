/* test_validate_http.c — http-01 validation against a fake HTTP server and
 * a fake DNS server on 127.0.0.1: the good case (plain and chunked, Host
 * header), wrong content, HTTP errors, redirects (http, https, refused
 * ports and IP literals, loops), oversized bodies, a server that never
 * answers (timeout), connection refused, NXDOMAIN, a bad token, and
 * retries. */
#include "tests/unit/acme/acme_fixture.h"

#include "common/crypto/acme_alpn.h"
#include "common/util/clock.h"

#define TOKEN "tok_123-abc"
#define KA TOKEN ".thumb-print_XYZ"
#define PATH "/.well-known/acme-challenge/" TOKEN

typedef struct env {
  afx_dns dns;
  afx_http http;
  ck_acme_validator_opts o;
  ck_acme_validator *v;
  char resp[4][512]; /* canned responses built by ok_resp */
} env;

/* "200 OK" with Content-Length and body, kept in e->resp[i]. */
static const char *ok_resp(env *e, int i, const char *body) {
  snprintf(e->resp[i], sizeof e->resp[i],
           "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s", strlen(body),
           body);
  return e->resp[i];
}

static int setup(void **state) {
  env *e = calloc(1, sizeof *e);

  afx_dns_add(&e->dns, "app.test", 1, "127.0.0.1");
  afx_dns_add(&e->dns, "other.test", 1, "127.0.0.1");
  afx_dns_add(&e->dns, "secure.test", 1, "127.0.0.1");
  afx_dns_start(&e->dns);
  afx_http_start(&e->http);
  afx_opts(&e->o, e->dns.port, e->http.port, afx_dead_port());
  *state = e;
  return 0;
}

static int teardown(void **state) {
  env *e = *state;

  afx_http_stop(&e->http);
  afx_dns_stop(&e->dns);
  ck_acme_validator_free(e->v);
  free(e);
  return 0;
}

static ck_err run(env *e, const char *name, ck_acme_validation *r) {
  ck_errctx err = CK_ERRCTX_INIT;

  if (e->v == NULL)
    assert_int_equal(ck_acme_validator_new(&e->o, &e->v, &err), CK_OK);
  return ck_acme_validate(e->v, CK_ACME_CHAL_HTTP01, name, TOKEN, KA, r);
}

static void assert_problem(const ck_acme_validation *r, const char *type,
                           const char *in_detail) {
  char want[128];

  snprintf(want, sizeof want, "urn:ietf:params:acme:error:%s", type);
  if (strcmp(r->problem, want) != 0 || strstr(r->detail, in_detail) == NULL)
    fail_msg("want %s / '%s', got %s / '%s'", want, in_detail, r->problem,
             r->detail);
}

static void test_ok(void **state) {
  env *e = *state;
  ck_acme_validation r;

  afx_http_route(&e->http, PATH, ok_resp(e, 0, KA "\n"));
  assert_int_equal(run(e, "App.Test", &r), CK_OK);
  assert_string_equal(r.problem, "");
  assert_true(strstr(r.address, "127.0.0.1:") != NULL);
  afx_http_stop(&e->http);
  assert_int_equal(e->http.requests, 1);
  assert_string_equal(e->http.last_host, "app.test");
  assert_string_equal(e->http.last_path, PATH);
  afx_http_start(&e->http); /* for teardown */
}

static void test_chunked_and_close_delimited(void **state) {
  env *e = *state;
  ck_acme_validation r;

  snprintf(e->resp[0], sizeof e->resp[0],
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           "5\r\n%.5s\r\n%zx;x=y\r\n%s\r\n0\r\n\r\n",
           KA, strlen(KA) - 5, KA + 5);
  afx_http_route(&e->http, PATH, e->resp[0]);
  assert_int_equal(run(e, "app.test", &r), CK_OK);
  e->http.n = 0;
  afx_http_route(&e->http, PATH, "HTTP/1.0 200 OK\r\n\r\n  " KA " \r\n");
  assert_int_equal(run(e, "app.test", &r), CK_OK);
}

static void test_wrong_content(void **state) {
  env *e = *state;
  ck_acme_validation r;

  afx_http_route(&e->http, PATH,
                 "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nsomething");
  assert_int_equal(run(e, "app.test", &r), CK_ERR_DENIED);
  assert_problem(&r, "incorrectResponse", "got \"something\"");
  assert_true(strstr(r.detail, KA) != NULL);
}

static void test_http_error(void **state) {
  env *e = *state;
  ck_acme_validation r;

  assert_int_equal(run(e, "app.test", &r), CK_ERR_DENIED); /* 404 */
  assert_problem(&r, "unauthorized", "HTTP 404");
  e->http.n = 0;
  afx_http_route(&e->http, PATH, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab");
  assert_int_not_equal(run(e, "app.test", &r), CK_OK); /* truncated body */
  assert_problem(&r, "unauthorized", "malformed");
  e->http.n = 0;
  afx_http_route(&e->http, PATH, "garbage\r\n\r\n");
  assert_int_not_equal(run(e, "app.test", &r), CK_OK);
  assert_problem(&r, "unauthorized", "malformed");
}

static void test_redirects(void **state) {
  env *e = *state;
  ck_acme_validation r;

  afx_http_route(&e->http, PATH,
                 "HTTP/1.1 302 Found\r\nLocation: http://other.test/x/y"
                 "\r\nContent-Length: 0\r\n\r\n");
  afx_http_route(&e->http, "/x/y",
                 "HTTP/1.1 301 Moved\r\nLocation: z?q=1\r\n"
                 "Content-Length: 0\r\n\r\n");
  afx_http_route(&e->http, "/x/z?q=1", ok_resp(e, 0, KA));
  assert_int_equal(run(e, "app.test", &r), CK_OK);
  afx_http_stop(&e->http);
  assert_int_equal(e->http.requests, 3);
  assert_string_equal(e->http.last_host, "other.test");
  afx_http_start(&e->http);
  ck_acme_validator_free(e->v); /* the port changed */
  e->v = NULL;
  e->o.http01_port = e->http.port;

  /* refused targets: another port, an IP literal, another scheme */
  static const char *const bad[] = {
      "HTTP/1.1 302 Found\r\nLocation: http://other.test:8080/x\r\n\r\n",
      "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1/x\r\n\r\n",
      "HTTP/1.1 302 Found\r\nLocation: ftp://other.test/x\r\n\r\n",
      "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n",
  };
  static const char *const why[] = {"port 8080", "redirect to", "redirect to",
                                    "without a Location"};
  for (size_t i = 0; i < 4; i++) {
    e->http.n = 0;
    afx_http_route(&e->http, PATH, bad[i]);
    assert_int_not_equal(run(e, "app.test", &r), CK_OK);
    assert_problem(&r, "connection", why[i]);
  }
  /* a loop */
  e->http.n = 0;
  afx_http_route(&e->http, PATH,
                 "HTTP/1.1 307 Again\r\nLocation: " PATH "\r\n\r\n");
  assert_int_equal(run(e, "app.test", &r), CK_ERR_LIMIT);
  assert_problem(&r, "connection", "too many redirects");
}

static void test_redirect_https(void **state) {
  env *e = *state;
  afx_http https;
  uint8_t digest[32] = {0};
  char *cert = NULL, *key = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_acme_validation r;

  memset(&https, 0, sizeof https);
  assert_int_equal(
      ck_acme_alpn_cert_make("secure.test", digest, 0, &cert, &key, &err),
      CK_OK);
  https.tls = afx_tls_ctx(cert, key, "http/1.1");
  afx_http_route(&https, "/final", ok_resp(e, 1, KA));
  afx_http_start(&https);
  e->o.tlsalpn01_port = https.port; /* "port 443" */
  afx_http_route(&e->http, PATH,
                 "HTTP/1.1 308 Perm\r\nLocation: https://secure.test/final"
                 "\r\n\r\n");
  assert_int_equal(run(e, "app.test", &r), CK_OK);
  afx_http_stop(&https);
  assert_int_equal(https.requests, 1);
  assert_string_equal(https.last_host, "secure.test");
  ck_tls_ctx_free(https.tls);
  free(cert);
  ck_crypto_free_secret(key, strlen(key));
}

static void test_too_large(void **state) {
  env *e = *state;
  ck_acme_validation r;
  static char big[20000];
  int n = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n",
                   12000);

  memset(big + n, 'a', 12000);
  big[n + 12000] = '\0';
  afx_http_route(&e->http, PATH, big);
  assert_int_equal(run(e, "app.test", &r), CK_ERR_LIMIT);
  assert_problem(&r, "unauthorized", "larger than");
}

static void test_timeout(void **state) {
  env *e = *state;
  ck_acme_validation r;
  uint64_t t0 = ck_clock_mono_ms(), dt;

  e->http.hang = 1;
  e->o.timeout_ms = 300;
  assert_int_equal(run(e, "app.test", &r), CK_ERR_TIMEOUT);
  dt = ck_clock_mono_ms() - t0;
  assert_problem(&r, "connection", "timeout");
  assert_true(dt >= 250 && dt < 3000);
}

static void test_refused_and_nxdomain(void **state) {
  env *e = *state;
  ck_acme_validation r;

  e->o.http01_port = afx_dead_port();
  assert_int_equal(run(e, "app.test", &r), CK_ERR_NET);
  assert_problem(&r, "connection", "refused");
  assert_true(strstr(r.address, "127.0.0.1:") != NULL);
  assert_int_equal(run(e, "nowhere.test", &r), CK_ERR_NOENT);
  assert_problem(&r, "dns", "NXDOMAIN");
}

static void test_bad_input(void **state) {
  env *e = *state;
  ck_acme_validation r;
  ck_errctx err = CK_ERRCTX_INIT;

  assert_int_equal(ck_acme_validator_new(&e->o, &e->v, &err), CK_OK);
  assert_int_equal(ck_acme_validate(e->v, CK_ACME_CHAL_HTTP01, "app.test",
                                    "../../etc/passwd", KA, &r),
                   CK_ERR_INVAL);
  assert_problem(&r, "malformed", "token");
  assert_int_equal(ck_acme_validate(e->v, CK_ACME_CHAL_HTTP01, "*.app.test",
                                    TOKEN, KA, &r),
                   CK_ERR_INVAL);
  assert_problem(&r, "rejectedIdentifier", "*.app.test");
  assert_int_equal(ck_acme_validate(e->v, CK_ACME_CHAL_HTTP01,
                                    "a b.test", TOKEN, KA, &r),
                   CK_ERR_INVAL);
  assert_int_equal(
      ck_acme_validate(e->v, CK_ACME_CHAL_HTTP01, "app.test", TOKEN, "x", &r),
      CK_ERR_INVAL);
  afx_http_stop(&e->http);
  assert_int_equal(e->http.requests, 0);
  afx_http_start(&e->http);
}

static void test_retries(void **state) {
  env *e = *state;
  ck_acme_validation r;
  uint64_t t0 = ck_clock_mono_ms(), dt;

  e->o.attempts = 3;
  e->o.retry_delay_ms = 100;
  afx_http_route(&e->http, PATH, "HTTP/1.1 500 Oops\r\n\r\n");
  assert_int_equal(run(e, "app.test", &r), CK_ERR_DENIED);
  dt = ck_clock_mono_ms() - t0;
  assert_true(dt >= 200);
  afx_http_stop(&e->http);
  assert_int_equal(e->http.requests, 3);
  afx_http_start(&e->http);
}

/* No configured resolver: the system's (getaddrinfo, /etc/hosts) finds
 * localhost; an address that refuses (::1, where the fake server does not
 * listen) is skipped for the next one. */
static void test_system_resolver(void **state) {
  env *e = *state;
  ck_acme_validation r;

  e->o.dns_resolver[0] = '\0';
  afx_http_route(&e->http, PATH, ok_resp(e, 0, KA));
  assert_int_equal(run(e, "localhost", &r), CK_OK);
  assert_string_equal(r.problem, "");
  afx_http_stop(&e->http);
  assert_string_equal(e->http.last_host, "localhost");
  afx_http_start(&e->http);
}

/* One validator, several worker threads at once (as the thread pool uses
 * it): every validation succeeds (ASan/UBSan builds watch the sharing). */
typedef struct conc {
  env *e;
  int ok;
} conc;

static void *conc_main(void *arg) {
  conc *c = arg;
  ck_acme_validation r;

  for (int i = 0; i < 10; i++)
    if (ck_acme_validate(c->e->v, CK_ACME_CHAL_HTTP01, "app.test", TOKEN, KA,
                         &r) == CK_OK)
      c->ok++;
  return NULL;
}

static void test_concurrent(void **state) {
  env *e = *state;
  pthread_t th[4];
  conc c[4];
  ck_errctx err = CK_ERRCTX_INIT;

  afx_http_route(&e->http, PATH, ok_resp(e, 0, KA));
  e->o.timeout_ms = 5000;
  assert_int_equal(ck_acme_validator_new(&e->o, &e->v, &err), CK_OK);
  for (int i = 0; i < 4; i++) {
    c[i].e = e;
    c[i].ok = 0;
    assert_int_equal(pthread_create(&th[i], NULL, conc_main, &c[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(c[i].ok, 10);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
      cmocka_unit_test_setup_teardown(test_chunked_and_close_delimited, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_wrong_content, setup, teardown),
      cmocka_unit_test_setup_teardown(test_http_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_redirects, setup, teardown),
      cmocka_unit_test_setup_teardown(test_redirect_https, setup, teardown),
      cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refused_and_nxdomain, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retries, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_system_resolver, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
