/* test_served.c — agent/manage/served.c against a TLS server of our own
 * (common/net/tls.h) on 127.0.0.1, port 0, running its own libuv loop on a
 * second thread because ck_served_* block: fetching the served leaf's
 * fingerprint (with and without SNI), waiting until a server that switches
 * certificates after a few handshakes serves the expected one, timing out
 * with the served fingerprint in the message, and connection errors. Both
 * crypto builds; skipped where the TLS server is compiled out. */
#include "tests/testutil.h"

#include <string.h>

#include "agent/manage/served.h"
#include "common/net/tls.h"
#include "common/util/mem.h"
#include "tests/unit/manage/pki.h"

static pki g_pki;
static pki_leaf g_a, g_b;

typedef struct server {
  uv_loop_t loop;
  uv_thread_t thread;
  uv_async_t stop;
  ck_listener *lst;
  int port;
  ck_tls_ctx *ctx_a, *ctx_b;
  int switch_after; /* handshakes served with A before switching to B; -1 never */
  int handshakes;   /* server thread only */
} server;

static ck_tls_ctx *server_ctx(const pki_leaf *l, ck_err *rc) {
  ck_tls_config cfg;
  ck_tls_ctx *ctx = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  char *leaf = NULL, *inter = NULL, *chain;
  size_t leaf_len = 0, inter_len = 0, n;
  const uint8_t *der = ck_cert_der(g_pki.inter, &n);

  assert_int_equal(ck_pem_encode("CERTIFICATE", l->der, l->der_len, &leaf,
                                 &leaf_len),
                   CK_OK);
  assert_int_equal(ck_pem_encode("CERTIFICATE", der, n, &inter, &inter_len),
                   CK_OK);
  chain = malloc(leaf_len + inter_len);
  assert_non_null(chain);
  memcpy(chain, leaf, leaf_len);
  memcpy(chain + leaf_len, inter, inter_len);
  memset(&cfg, 0, sizeof cfg);
  cfg.role = CK_TLS_SERVER;
  cfg.cert_pem = (const uint8_t *)chain;
  cfg.cert_pem_len = leaf_len + inter_len;
  cfg.key_pem = (const uint8_t *)l->key_pem;
  cfg.key_pem_len = l->key_pem_len;
  *rc = ck_tls_ctx_new(&cfg, &ctx, &err);
  if (*rc != CK_OK && *rc != CK_ERR_UNSUPPORTED)
    print_error("server ctx: %s\n", ck_errctx_msg(&err));
  free(leaf);
  free(inter);
  free(chain);
  return ctx;
}

static void srv_closed(ck_conn *c) { (void)c; }

static void srv_hs(ck_conn *c, ck_err status, const ck_errctx *err, void *arg) {
  server *s = arg;

  (void)err;
  if (status != CK_OK)
    return; /* client gone early: nothing to close */
  s->handshakes++;
  ck_conn_close(c, srv_closed);
}

static void on_accept(ck_listener *l, ck_conn *c) {
  server *s = ck_listener_data(l);
  ck_tls_ctx *ctx =
      s->switch_after >= 0 && s->handshakes >= s->switch_after ? s->ctx_b
                                                               : s->ctx_a;
  if (ck_tls_conn_wrap(c, ctx, CK_TLS_SERVER, srv_hs, s, NULL) != CK_OK)
    ck_conn_close(c, NULL);
}

static void on_stop(uv_async_t *a) {
  server *s = a->data;
  ck_listener_close(s->lst, NULL);
  uv_close((uv_handle_t *)&s->stop, NULL);
}

static void server_thread(void *arg) {
  server *s = arg;
  uv_run(&s->loop, UV_RUN_DEFAULT);
}

/* Starts a server serving A (switching to B after switch_after
 * handshakes, -1: never). Returns 0 (and skips) when this build has no TLS
 * server. */
static int server_start(server *s, int switch_after) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  memset(s, 0, sizeof *s);
  s->ctx_a = server_ctx(&g_a, &rc);
  if (rc == CK_ERR_UNSUPPORTED)
    return 0;
  assert_int_equal(rc, CK_OK);
  s->ctx_b = server_ctx(&g_b, &rc);
  assert_int_equal(rc, CK_OK);
  s->switch_after = switch_after;
  assert_int_equal(uv_loop_init(&s->loop), 0);
  assert_int_equal(ck_listener_start(&s->loop, "127.0.0.1:0", on_accept, s,
                                     &s->lst, &err),
                   CK_OK);
  s->port = ck_listener_port(s->lst);
  assert_int_equal(uv_async_init(&s->loop, &s->stop, on_stop), 0);
  s->stop.data = s;
  assert_int_equal(uv_thread_create(&s->thread, server_thread, s), 0);
  return 1;
}

static void server_stop(server *s) {
  uv_async_send(&s->stop);
  assert_int_equal(uv_thread_join(&s->thread), 0);
  assert_int_equal(uv_loop_close(&s->loop), 0);
  ck_tls_ctx_free(s->ctx_a);
  ck_tls_ctx_free(s->ctx_b);
}

static void addr_of(const server *s, char *buf, size_t len) {
  snprintf(buf, len, "127.0.0.1:%d", s->port);
}

static void test_fetch(void **state) {
  server s;
  char addr[64];
  uint8_t fp[32];
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  (void)state;
  if (!server_start(&s, -1))
    skip();
  addr_of(&s, addr, sizeof addr);
  rc = ck_served_fetch(addr, NULL, 5000, fp, &err);
  if (rc != CK_OK)
    print_error("fetch: %s\n", ck_errctx_msg(&err));
  assert_int_equal(rc, CK_OK);
  assert_memory_equal(fp, g_a.fp, 32);
  memset(fp, 0, sizeof fp);
  assert_int_equal(ck_served_fetch(addr, "www.example.test", 5000, fp, &err),
                   CK_OK);
  assert_memory_equal(fp, g_a.fp, 32);
  server_stop(&s);

  /* nobody listens there any more */
  ck_errctx_clear(&err);
  rc = ck_served_fetch(addr, NULL, 5000, fp, &err);
  assert_int_not_equal(rc, CK_OK);
  assert_non_null(strstr(err.msg, addr));
  ck_errctx_clear(&err);
  assert_int_equal(ck_served_fetch("no port here", NULL, 1000, fp, &err),
                   CK_ERR_ADDR);
}

static void test_wait_until_switched(void **state) {
  server s;
  char addr[64];
  uint8_t last[32];
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  (void)state;
  if (!server_start(&s, 2)) /* A twice, then B */
    skip();
  addr_of(&s, addr, sizeof addr);
  rc = ck_served_wait(addr, NULL, g_b.fp, 20000, last, &err);
  if (rc != CK_OK)
    print_error("wait: %s\n", ck_errctx_msg(&err));
  assert_int_equal(rc, CK_OK);
  assert_memory_equal(last, g_b.fp, 32);
  server_stop(&s);
  assert_true(s.handshakes >= 3);
}

static void test_wait_times_out(void **state) {
  server s;
  char addr[64], hex[65];
  uint8_t last[32];
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  if (!server_start(&s, -1)) /* A forever */
    skip();
  addr_of(&s, addr, sizeof addr);
  assert_int_equal(ck_served_wait(addr, NULL, g_b.fp, 1200, last, &err),
                   CK_ERR_TIMEOUT);
  assert_memory_equal(last, g_a.fp, 32);
  ck_hex_encode(g_a.fp, 32, hex);
  assert_non_null(strstr(err.msg, hex)); /* names what was served */
  ck_hex_encode(g_b.fp, 32, hex);
  assert_non_null(strstr(err.msg, hex));
  server_stop(&s);
  assert_true(s.handshakes >= 2); /* it retried */

  /* nothing listening: the message carries the connect error */
  ck_errctx_clear(&err);
  assert_int_equal(ck_served_wait(addr, NULL, g_b.fp, 600, last, &err),
                   CK_ERR_TIMEOUT);
  assert_non_null(strstr(err.msg, "could not read"));
}

static int group_setup(void **state) {
  (void)state;
  pki_init(&g_pki);
  pki_leaf_make(&g_pki, "a.example.test", 0, &g_a);
  pki_leaf_make(&g_pki, "b.example.test", 0, &g_b);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  pki_leaf_free(&g_a);
  pki_leaf_free(&g_b);
  pki_free(&g_pki);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fetch),
      cmocka_unit_test(test_wait_until_switched),
      cmocka_unit_test(test_wait_times_out),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
