/* test_http_curl.c — the HTTP server layer against the real curl CLI (the
 * Foundation issue's acceptance): keep-alive reuse, pipelining (raw socket:
 * curl no longer pipelines), Expect: 100-continue, 431 for oversized
 * headers, 413 for oversized bodies (with and without 100-continue), a slow
 * uploading client dropped after the body timeout, HEAD, Connection: close,
 * HTTP/1.0, chunked uploads and a thread-pool handler.
 *
 * The server runs its loop in a second thread (http_fixture.h); curl runs
 * as a child of the test thread, bounded by --max-time. Connection counts
 * come from the server's own counters. */
#include "tests/unit/net/http_fixture.h"

#include <stdlib.h>

static char *tmpdir;

static void h_hello(ck_http_req *req, void *arg) {
  (void)arg;
  ck_http_respond(req, 200, "text/plain", "hello\n", 6);
}

/* Answers with the length and a checksum of the body it received. */
static void h_len(ck_http_req *req, void *arg) {
  size_t len, i;
  const uint8_t *b = ck_http_req_body(req, &len);
  unsigned long sum = 0;
  char out[128];
  int n;
  (void)arg;

  for (i = 0; i < len; i++)
    sum = sum * 31 + b[i];
  n = snprintf(out, sizeof out, "len=%zu sum=%lu\n", len, sum);
  ck_http_respond(req, 200, "text/plain", out, (size_t)n);
}

static void work_sum(ck_http_req *req, void *arg) {
  uint64_t s = 0;
  (void)req;
  for (uint64_t i = 1; i <= 1000000; i++)
    s += i;
  *(uint64_t *)arg = s;
}
static void work_after(ck_http_req *req, void *arg) {
  char out[64];
  int n = snprintf(out, sizeof out, "sum=%llu\n",
                   (unsigned long long)*(uint64_t *)arg);
  free(arg);
  ck_http_respond(req, 200, "text/plain", out, (size_t)n);
}
static void h_work(ck_http_req *req, void *arg) {
  uint64_t *slot = calloc(1, sizeof *slot);
  (void)arg;
  if (slot == NULL || ck_http_defer(req, work_sum, work_after, slot) != 0) {
    free(slot);
    ck_http_respond_status(req, 500);
  }
}

static void setup(hfx *f) {
  ck_errctx err = CK_ERRCTX_INIT;
  int ok = 1;

  ok &= ck_http_server_route(f->srv, CK_HTTP_GET, "/hello", h_hello, f,
                             &err) == CK_OK;
  ok &= ck_http_server_route(f->srv, CK_HTTP_POST | CK_HTTP_PUT, "/len", h_len,
                             f, &err) == CK_OK;
  ok &= ck_http_server_route(f->srv, CK_HTTP_GET, "/work", h_work, f, &err) ==
        CK_OK;
  if (!ok)
    f->failed = 1;
}

/* Writes n pseudo-random bytes to tmpdir/name and returns the path
 * (static buffer per name slot) and the checksum h_len will compute. */
static const char *make_file(const char *name, size_t n, unsigned long *sum) {
  static char path[4][1024];
  static int slot;
  char *p = path[slot++ % 4];
  FILE *fp;
  unsigned long s = 0, x = 12345;

  snprintf(p, 1024, "%s/%s", tmpdir, name);
  fp = fopen(p, "wb");
  assert_non_null(fp);
  for (size_t i = 0; i < n; i++) {
    x = x * 1103515245 + 12345;
    unsigned char c = (unsigned char)(x >> 16);
    fputc(c, fp);
    s = s * 31 + c;
  }
  fclose(fp);
  if (sum != NULL)
    *sum = s;
  return p;
}

#define CURL "curl --max-time 20 -sS "

static int have_curl(void) {
  if (!ck_test_have("curl")) {
    print_message("curl not installed: skipping\n");
    return 0;
  }
  return 1;
}

static void test_keepalive_reuse(void **state) {
  hfx *f;
  ck_http_stats st;
  char *out = NULL;
  (void)state;

  if (!have_curl())
    skip();
  f = hfx_start(NULL, setup, NULL);
  assert_int_equal(ck_test_sh(&out,
                              CURL "-v http://127.0.0.1:%d/hello "
                                   "http://127.0.0.1:%d/hello "
                                   "http://127.0.0.1:%d/hello",
                              f->port, f->port, f->port),
                   0);
  assert_non_null(strstr(out, "Re-using existing connection"));
  {
    int bodies = 0;
    for (const char *p = out; (p = strstr(p, "hello\n")) != NULL; p++)
      bodies++; /* stderr (-v) interleaves with the bodies */
    assert_int_equal(bodies, 3);
  }
  free(out);
  hfx_stop(f, &st);
  assert_int_equal(st.conns_total, 1);
  assert_int_equal(st.requests_total, 3);
}

static void test_connection_close_and_http10(void **state) {
  hfx *f;
  ck_http_stats st;
  char *out = NULL;
  (void)state;

  if (!have_curl())
    skip();
  f = hfx_start(NULL, setup, NULL);
  assert_int_equal(ck_test_sh(&out,
                              CURL "-v -H 'Connection: close' "
                                   "http://127.0.0.1:%d/hello "
                                   "http://127.0.0.1:%d/hello",
                              f->port, f->port),
                   0);
  assert_null(strstr(out, "Re-using existing connection"));
  assert_non_null(strstr(out, "< Connection: close"));
  free(out);
  /* HTTP/1.0 without keep-alive: one connection per request as well */
  assert_int_equal(ck_test_sh(&out,
                              CURL "-0 http://127.0.0.1:%d/hello "
                                   "http://127.0.0.1:%d/hello",
                              f->port, f->port),
                   0);
  assert_string_equal(out, "hello\nhello\n");
  free(out);
  hfx_stop(f, &st);
  assert_int_equal(st.conns_total, 4);
}

static void test_head(void **state) {
  hfx *f;
  char *out = NULL;
  (void)state;

  if (!have_curl())
    skip();
  f = hfx_start(NULL, setup, NULL);
  assert_int_equal(ck_test_sh(&out, CURL "-I http://127.0.0.1:%d/hello",
                              f->port),
                   0);
  assert_non_null(strstr(out, "HTTP/1.1 200 OK"));
  assert_non_null(strstr(out, "Content-Length: 6"));
  assert_null(strstr(out, "hello"));
  free(out);
  hfx_stop(f, NULL);
}

static void test_expect_continue(void **state) {
  hfx *f;
  char *out = NULL, want[128];
  unsigned long sum;
  const char *file = make_file("body100k", 100000, &sum);
  (void)state;

  if (!have_curl())
    skip();
  f = hfx_start(NULL, setup, NULL);
  assert_int_equal(ck_test_sh(&out,
                              CURL "-v -H 'Expect: 100-continue' "
                                   "--data-binary @%s http://127.0.0.1:%d/len",
                              file, f->port),
                   0);
  assert_non_null(strstr(out, "< HTTP/1.1 100 Continue"));
  snprintf(want, sizeof want, "len=100000 sum=%lu\n", sum);
  assert_non_null(strstr(out, want));
  free(out);
  /* chunked upload, de-chunked for the handler */
  assert_int_equal(ck_test_sh(&out,
                              CURL "-H 'Transfer-Encoding: chunked' "
                                   "--data-binary @%s http://127.0.0.1:%d/len",
                              file, f->port),
                   0);
  assert_string_equal(out, want);
  free(out);
  hfx_stop(f, NULL);
}

static void test_oversized(void **state) {
  hfx *f;
  char *out = NULL, hdr[1024];
  FILE *fp;
  const char *big = make_file("body2m", 2u << 20, NULL);
  (void)state;

  if (!have_curl())
    skip();
  f = hfx_start(NULL, setup, NULL);
  /* a 20 KB header (default limit 16 KiB) from a file: -H @file */
  snprintf(hdr, sizeof hdr, "%s/bighdr", tmpdir);
  fp = fopen(hdr, "w");
  assert_non_null(fp);
  fputs("X-Big: ", fp);
  for (int i = 0; i < 20000; i++)
    fputc('a' + i % 26, fp);
  fputs("\n", fp);
  fclose(fp);
  assert_int_equal(ck_test_sh(&out,
                              CURL "-o /dev/null -w '%%{http_code}' -H @%s "
                                   "http://127.0.0.1:%d/hello",
                              hdr, f->port),
                   0);
  assert_string_equal(out, "431");
  free(out);
  /* 2 MiB body (default limit 1 MiB): curl sends Expect: 100-continue for
   * big bodies and gets 413 without uploading */
  assert_int_equal(ck_test_sh(&out,
                              CURL "-v -o /dev/null -w '%%{http_code}' "
                                   "--data-binary @%s http://127.0.0.1:%d/len",
                              big, f->port),
                   0);
  assert_non_null(strstr(out, "Expect: 100-continue"));
  assert_null(strstr(out, "< HTTP/1.1 100 Continue"));
  assert_non_null(strstr(out, "413"));
  free(out);
  /* the same without Expect: the 413 arrives while curl is uploading */
  ck_test_sh(&out,
             CURL "-o /dev/null -w '%%{http_code}' -H 'Expect:' "
                  "--data-binary @%s http://127.0.0.1:%d/len",
             big, f->port);
  assert_non_null(strstr(out, "413"));
  free(out);
  hfx_stop(f, NULL);
}

/* curl uploading at 20 KB/s exceeds a 500 ms body timeout: the server drops
 * it. The whole upload would take ~45 s; curl fails within seconds (it
 * notices when a send fails after the server's close has run its course:
 * 0.5 s timeout + up to 3 s of lingering close). */
static void test_slow_client_dropped(void **state) {
  ck_http_config cfg;
  hfx *f;
  char *out = NULL;
  uint64_t t0, ms;
  int rc;
  const char *file = make_file("body900k", 900000, NULL);
  (void)state;

  if (!have_curl())
    skip();
  ck_http_config_defaults(&cfg);
  cfg.body_timeout_ms = 500;
  f = hfx_start(&cfg, setup, NULL);
  t0 = now_ms();
  rc = ck_test_sh(&out,
                  CURL "-H 'Expect:' --limit-rate 20K --data-binary @%s "
                       "http://127.0.0.1:%d/len",
                  file, f->port);
  ms = now_ms() - t0;
  assert_int_not_equal(rc, 0); /* curl reports the dropped connection */
  assert_null(strstr(out, "len="));
  assert_true(ms >= 400 && ms < 8000);
  free(out);
  hfx_stop(f, NULL);
}

static void test_pipelining_raw(void **state) {
  hfx *f = hfx_start(NULL, setup, NULL);
  rawc *c = raw_connect(f->port);
  resp r;
  (void)state;

  raw_sends(c, "GET /work HTTP/1.1\r\nHost: t\r\n\r\n"
               "POST /len HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nA"
               "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_string_equal(r.body, "sum=500000500000\n");
  resp_free(&r);
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_string_equal(r.body, "len=1 sum=65\n");
  resp_free(&r);
  assert_int_equal(raw_response(c, &r, 0), 0);
  assert_string_equal(r.body, "hello\n");
  resp_free(&r);
  raw_close(c);
  hfx_stop(f, NULL);
}

static void test_deferred_handler(void **state) {
  hfx *f;
  char *out = NULL;
  (void)state;

  if (!have_curl())
    skip();
  f = hfx_start(NULL, setup, NULL);
  assert_int_equal(ck_test_sh(&out,
                              CURL "http://127.0.0.1:%d/work "
                                   "http://127.0.0.1:%d/work",
                              f->port, f->port),
                   0);
  assert_string_equal(out, "sum=500000500000\nsum=500000500000\n");
  free(out);
  /* 404 and 405 as curl sees them */
  assert_int_equal(ck_test_sh(&out,
                              CURL "-o /dev/null -w '%%{http_code}' "
                                   "http://127.0.0.1:%d/nope",
                              f->port),
                   0);
  assert_string_equal(out, "404");
  free(out);
  assert_int_equal(ck_test_sh(&out,
                              CURL "-o /dev/null -w '%%{http_code}' "
                                   "-X DELETE http://127.0.0.1:%d/hello",
                              f->port),
                   0);
  assert_string_equal(out, "405");
  free(out);
  hfx_stop(f, NULL);
}

static int group_setup(void **state) {
  (void)state;
  tmpdir = ck_test_tmpdir();
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  ck_test_rmtree(tmpdir);
  free(tmpdir);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keepalive_reuse),
      cmocka_unit_test(test_connection_close_and_http10),
      cmocka_unit_test(test_head),
      cmocka_unit_test(test_expect_continue),
      cmocka_unit_test(test_oversized),
      cmocka_unit_test(test_slow_client_dropped),
      cmocka_unit_test(test_pipelining_raw),
      cmocka_unit_test(test_deferred_handler),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
