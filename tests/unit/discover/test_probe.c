/* test_probe.c — endpoint probes (agent/discover/probe.h) against servers
 * on 127.0.0.1 run by a thread of this test: a TLS server with
 * tests/data/tls/server-ec.pem, a plain TCP listener that accepts and never
 * says a word (the probe must give up after its timeout, not hang), one
 * that answers with a line of text and closes (fails fast), and a port
 * nobody listens on. */
#include "tests/testutil.h"

#include <string.h>

#include "agent/discover/probe.h"
#include "common/net/tls.h"
#include "common/util/clock.h"

#define MAX_CONNS 16

typedef struct server {
  uv_loop_t loop;
  uv_thread_t thread;
  uv_async_t stop;
  ck_tls_ctx *ctx;
  ck_listener *tls_l, *mute_l, *text_l;
  int tls_port, mute_port, text_port;
  ck_conn *conns[MAX_CONNS]; /* open conns, closed at stop */
  int nconns;
  int handshakes; /* completed on the TLS port (read after join) */
} server;

static void conn_closed(ck_conn *c) {
  server *s = c->data;
  for (int i = 0; i < s->nconns; i++)
    if (s->conns[i] == c)
      s->conns[i] = NULL;
}

static void keep(server *s, ck_conn *c) {
  c->data = s;
  if (s->nconns < MAX_CONNS)
    s->conns[s->nconns++] = c;
  else
    ck_conn_close(c, NULL);
}

static void tls_read(ck_conn *c, const uint8_t *d, size_t n, ck_err status) {
  (void)d;
  (void)n;
  if (status != CK_OK)
    ck_conn_close(c, conn_closed);
}

static void tls_hs(ck_conn *c, ck_err status, const ck_errctx *err,
                   void *arg) {
  server *s = arg;
  (void)err;
  if (status != CK_OK)
    return;
  s->handshakes++;
  keep(s, c);
  assert_int_equal(ck_conn_read_start(c, tls_read), CK_OK);
}

static void on_tls(ck_listener *l, ck_conn *c) {
  server *s = ck_listener_data(l);
  ck_errctx e = CK_ERRCTX_INIT;
  if (ck_tls_conn_wrap(c, s->ctx, CK_TLS_SERVER, tls_hs, s, &e) != CK_OK)
    ck_conn_close(c, NULL);
}

static void on_mute(ck_listener *l, ck_conn *c) {
  keep(ck_listener_data(l), c); /* never reads, never writes */
}

static void on_text(ck_listener *l, ck_conn *c) {
  static const char msg[] = "SSH-2.0-not-tls\r\n";
  uv_buf_t b = uv_buf_init((char *)msg, sizeof(msg) - 1);
  (void)l;
  (void)ck_conn_write(c, &b, 1, NULL, NULL);
  ck_conn_close(c, NULL);
}

static void on_stop(uv_async_t *a) {
  server *s = a->data;
  ck_listener_close(s->tls_l, NULL);
  ck_listener_close(s->mute_l, NULL);
  ck_listener_close(s->text_l, NULL);
  for (int i = 0; i < s->nconns; i++)
    if (s->conns[i]) {
      ck_conn *c = s->conns[i];
      s->conns[i] = NULL;
      ck_conn_close(c, NULL);
    }
  uv_close((uv_handle_t *)a, NULL);
}

static void server_thread(void *arg) {
  server *s = arg;
  uv_run(&s->loop, UV_RUN_DEFAULT);
}

/* Returns 0 when this build has no TLS server role (CK_DISABLE_TLS_SERVER):
 * the test is skipped then. */
static int server_start(server *s) {
  ck_tls_config cfg = {0};
  ck_errctx e = CK_ERRCTX_INIT;
  char cert[512], key[512];
  ck_err rc;

  memset(s, 0, sizeof(*s));
  assert_int_equal(uv_loop_init(&s->loop), 0);
  snprintf(cert, sizeof(cert), "%s", ck_test_data("tls/server-ec.pem"));
  snprintf(key, sizeof(key), "%s", ck_test_data("tls/server-ec.key"));
  cfg.role = CK_TLS_SERVER;
  cfg.cert_file = cert;
  cfg.key_file = key;
  rc = ck_tls_ctx_new(&cfg, &s->ctx, &e);
  if (rc == CK_ERR_UNSUPPORTED) {
    uv_loop_close(&s->loop);
    return 0;
  }
  if (rc != CK_OK)
    fail_msg("server ctx: %s", ck_errctx_msg(&e));
  assert_int_equal(
      ck_listener_start(&s->loop, "127.0.0.1:0", on_tls, s, &s->tls_l, &e),
      CK_OK);
  assert_int_equal(
      ck_listener_start(&s->loop, "127.0.0.1:0", on_mute, s, &s->mute_l, &e),
      CK_OK);
  assert_int_equal(
      ck_listener_start(&s->loop, "127.0.0.1:0", on_text, s, &s->text_l, &e),
      CK_OK);
  s->tls_port = ck_listener_port(s->tls_l);
  s->mute_port = ck_listener_port(s->mute_l);
  s->text_port = ck_listener_port(s->text_l);
  assert_int_equal(uv_async_init(&s->loop, &s->stop, on_stop), 0);
  s->stop.data = s;
  /* handles are set up before the thread runs the loop; from now on only
   * uv_async_send touches it from here */
  assert_int_equal(uv_thread_create(&s->thread, server_thread, s), 0);
  return 1;
}

static void server_stop(server *s) {
  assert_int_equal(uv_async_send(&s->stop), 0);
  uv_thread_join(&s->thread);
  assert_int_equal(uv_loop_close(&s->loop), 0);
  ck_tls_ctx_free(s->ctx);
}

static const ck_finding *find_path(const ck_discover *d, const char *path) {
  for (size_t i = 0; i < d->n; i++)
    if (!strcmp(d->f[i].path, path))
      return &d->f[i];
  return NULL;
}

static void test_probe(void **state) {
  server s;
  ck_listen_addr a[6];
  ck_discover d;
  ck_discover_opts o;
  ck_errctx e = CK_ERRCTX_INIT;
  const char *roots[1];
  char path[600], want_fp[80], ep[64], tcp[80];
  char *fp = ck_test_slurp("tls/server-ec.sha256", NULL);
  const ck_finding *f;
  uint64_t t0, took;
  size_t ntcp = 0;

  (void)state;
  fp[strcspn(fp, "\r\n")] = '\0';
  snprintf(want_fp, sizeof(want_fp), "%s", fp);
  free(fp);
  if (!server_start(&s))
    skip();

  /* the certificate as a file: it gets the endpoint */
  snprintf(path, sizeof(path), "%s", ck_test_data("tls/server-ec.pem"));
  roots[0] = path;
  memset(&o, 0, sizeof(o));
  o.roots = roots;
  o.n_roots = 1;
  memset(&d, 0, sizeof(d));
  assert_int_equal(ck_discover_run(&o, &d, &e), CK_OK);
  assert_true(d.n >= 1);

  memset(a, 0, sizeof(a));
  snprintf(a[0].addr, sizeof(a[0].addr), "0.0.0.0:%d", s.tls_port);
  snprintf(a[1].addr, sizeof(a[1].addr), "127.0.0.1:%d", s.mute_port);
  snprintf(a[2].addr, sizeof(a[2].addr), "127.0.0.1:%d", s.text_port);
  snprintf(a[3].addr, sizeof(a[3].addr), "127.0.0.1:%d", s.tls_port); /* dup */
  snprintf(a[4].addr, sizeof(a[4].addr), "127.0.0.1:1");     /* refused */
  snprintf(a[5].addr, sizeof(a[5].addr), "not an address");  /* skipped */
  t0 = ck_clock_mono_ms();
  assert_int_equal(ck_probe_endpoints(a, 6, 1500, &d, &e), CK_OK);
  took = ck_clock_mono_ms() - t0;
  /* the mute port costs its timeout, plus the TCP layer's bounded linger
   * (3 s) since this peer ignores our FIN too; nothing hangs */
  assert_true(took >= 1400);
  assert_true(took < 1500 + 3000 + 2000);

  snprintf(ep, sizeof(ep), "127.0.0.1:%d", s.tls_port);
  snprintf(tcp, sizeof(tcp), "tcp://%s", ep);
  f = find_path(&d, tcp);
  assert_non_null(f);
  assert_string_equal(f->kind, "certificate");
  assert_string_equal(f->fingerprint, want_fp);
  assert_non_null(f->der);
  assert_true(f->der_len > 100);
  assert_non_null(f->subject);
  for (size_t i = 0; i < d.n; i++)
    ntcp += !strncmp(d.f[i].path, "tcp://", 6);
  assert_int_equal(ntcp, 1); /* the duplicate was probed once */

  f = find_path(&d, path); /* index 0: the leaf */
  assert_non_null(f);
  assert_string_equal(f->fingerprint, want_fp);
  assert_int_equal(f->n_endpoints, 1);
  assert_string_equal(f->endpoints[0], ep);
  for (size_t i = 0; i < d.n; i++)
    if (d.f[i].index == 1)
      assert_int_equal(d.f[i].n_endpoints, 0); /* the CA is not served */

  /* probing again does not add the endpoint twice */
  assert_int_equal(ck_probe_endpoints(a, 1, 1500, &d, &e), CK_OK);
  f = find_path(&d, path);
  assert_int_equal(f->n_endpoints, 1);

  assert_int_equal(ck_probe_endpoints(a, 0, 0, &d, &e), CK_OK);
  assert_int_equal(ck_probe_endpoints(NULL, 1, 0, &d, &e), CK_ERR_INVAL);

  /* a fresh scan gets the endpoints of this probe run without probing */
  {
    ck_discover fresh;
    size_t n_before, nt = 0;

    memset(&fresh, 0, sizeof(fresh));
    assert_int_equal(ck_discover_run(&o, &fresh, &e), CK_OK);
    n_before = fresh.n;
    f = find_path(&fresh, path);
    assert_int_equal(f->n_endpoints, 0);
    assert_int_equal(ck_probe_apply(&d, &fresh, &e), CK_OK);
    assert_int_equal(fresh.n, n_before + 1); /* the tcp:// finding */
    for (size_t i = 0; i < fresh.n; i++)
      nt += !strncmp(fresh.f[i].path, "tcp://", 6);
    assert_int_equal(nt, 1);
    assert_non_null(find_path(&fresh, tcp));
    f = find_path(&fresh, path);
    assert_int_equal(f->n_endpoints, 1);
    assert_string_equal(f->endpoints[0], ep);
    assert_int_equal(ck_probe_apply(NULL, &fresh, &e), CK_ERR_INVAL);
    ck_discover_free(&fresh);
  }
  ck_discover_free(&d);
  server_stop(&s);
  assert_true(s.handshakes >= 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_probe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
