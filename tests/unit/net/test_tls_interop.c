/* test_tls_interop.c — our TLS conn against the openssl command-line tools.
 *
 * Real interop in both builds: our client (OpenSSL or mbedTLS) against
 * `openssl s_server`, and our server against `openssl s_client`, each a
 * child process on 127.0.0.1 with a free port. Readiness of a server child
 * is a connect polled on the loop with a deadline. Covers: handshake and
 * data, pinning (leaf and CA), key usage, client certificates, a TLS 1.1-only
 * peer refused in both directions, a server certificate without serverAuth
 * refused, and the tls-exporter channel binding compared with the value
 * s_server prints. Skips (saying so) when the openssl tool is missing. */
#include "tests/testutil.h"

#include <ctype.h>
#include <signal.h>
#include <string.h>

#include "common/net/tls.h"

typedef struct proc {
  uv_process_t p;
  uv_pipe_t in, out, err;
  int started;
  int exited;
  int64_t status;
  int closing; /* handles still to be closed */
  char *buf;   /* stdout + stderr */
  size_t len, cap;
} proc;

typedef struct fixture {
  uv_loop_t loop;
  proc child;
  int port;
  ck_tls_ctx *ctx;
  /* client side */
  int hs_done;
  ck_err hs;
  char hs_msg[512];
  ck_conn *conn;
  char rx[4096];
  size_t rxlen;
  int ended;
  ck_err end_status;
  int closed;
  ck_conn *raw; /* TCP conn before a hand-made wrap */
  /* server side */
  ck_listener *lst;
  int lst_closed;
  /* readiness probe */
  int probe_done;
  int probe_ok;
  uv_timer_t timer;
  int timer_fired;
} fixture;

static const char *data(const char *rel) {
  static char bufs[8][512];
  static int i;
  char *b = bufs[i++ % 8];

  snprintf(b, 512, "%s", ck_test_data(rel));
  return b;
}

static char *read_pin(const char *rel) {
  char *p = ck_test_slurp(rel, NULL);
  p[strcspn(p, "\r\n")] = '\0';
  return p;
}

static int is_openssl(void) {
  return strcmp(ck_tls_backend(), "openssl") == 0;
}

/* ---- child processes ------------------------------------------------------
 */

static void proc_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  proc *pr = h->data;

  (void)suggested;
  if (pr->cap - pr->len < 4097) {
    pr->cap = pr->cap * 2 + 8192;
    pr->buf = realloc(pr->buf, pr->cap);
    assert_non_null(pr->buf);
  }
  *b = uv_buf_init(pr->buf + pr->len, (unsigned)(pr->cap - pr->len - 1));
}

static void proc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  proc *pr = s->data;

  (void)b;
  if (n > 0) {
    pr->len += (size_t)n;
    pr->buf[pr->len] = '\0';
  } else if (n < 0) {
    uv_read_stop(s);
  }
}

static void proc_exit(uv_process_t *p, int64_t status, int sig) {
  proc *pr = p->data;

  pr->exited = 1;
  pr->status = sig != 0 ? -sig : status;
}

/* The child of the running test, so a failed test does not leave it
 * behind (see teardown). */
static int child_pid;

static void proc_spawn(uv_loop_t *loop, proc *pr, char **args) {
  uv_process_options_t o;
  uv_stdio_container_t io[3];
  int rc;

  memset(pr, 0, sizeof *pr);
  memset(&o, 0, sizeof o);
  uv_pipe_init(loop, &pr->in, 0);
  uv_pipe_init(loop, &pr->out, 0);
  uv_pipe_init(loop, &pr->err, 0);
  pr->in.data = pr->out.data = pr->err.data = pr->p.data = pr;
  io[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  io[0].data.stream = (uv_stream_t *)&pr->in;
  io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  io[1].data.stream = (uv_stream_t *)&pr->out;
  io[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  io[2].data.stream = (uv_stream_t *)&pr->err;
  o.file = args[0];
  o.args = args;
  o.exit_cb = proc_exit;
  o.stdio = io;
  o.stdio_count = 3;
  rc = uv_spawn(loop, &pr->p, &o);
  if (rc != 0) {
    print_error("spawn %s: %s\n", args[0], uv_strerror(rc));
    fail();
  }
  pr->started = 1;
  child_pid = pr->p.pid;
  uv_read_start((uv_stream_t *)&pr->out, proc_alloc, proc_read);
  uv_read_start((uv_stream_t *)&pr->err, proc_alloc, proc_read);
}

static void proc_closed(uv_handle_t *h) {
  proc *pr = h->data;
  pr->closing--;
}

/* Ends the child (SIGTERM unless it exited) and closes its handles. */
static void proc_finish(uv_loop_t *loop, proc *pr) {
  if (!pr->started)
    return;
  if (!pr->exited)
    uv_process_kill(&pr->p, SIGTERM);
  ck_test_run_until(loop, &pr->exited, 5000);
  child_pid = 0;
  pr->closing = 4;
  uv_close((uv_handle_t *)&pr->p, proc_closed);
  uv_close((uv_handle_t *)&pr->in, proc_closed);
  uv_close((uv_handle_t *)&pr->out, proc_closed);
  uv_close((uv_handle_t *)&pr->err, proc_closed);
  while (pr->closing > 0)
    uv_run(loop, UV_RUN_ONCE);
  free(pr->buf);
  pr->buf = NULL;
  pr->started = 0;
}

/* ---- fixture --------------------------------------------------------------
 */

static void fx_init(fixture *fx) {
  memset(fx, 0, sizeof *fx);
  assert_int_equal(uv_loop_init(&fx->loop), 0);
  uv_timer_init(&fx->loop, &fx->timer);
  fx->timer.data = fx;
}

static void timer_closed(uv_handle_t *h) {
  fixture *fx = h->data;
  fx->timer_fired = -1;
}

static void conn_closed(ck_conn *c) {
  fixture *fx = c->data;
  fx->closed = 1;
}

static void lst_closed(void *arg) {
  fixture *fx = arg;
  fx->lst_closed = 1;
}

static void fx_finish(fixture *fx) {
  if (fx->conn != NULL && !fx->closed) {
    ck_conn_close(fx->conn, conn_closed);
    ck_test_run_until(&fx->loop, &fx->closed, 5000);
  }
  if (fx->lst != NULL) {
    ck_listener_close(fx->lst, lst_closed);
    ck_test_run_until(&fx->loop, &fx->lst_closed, 5000);
  }
  proc_finish(&fx->loop, &fx->child);
  uv_close((uv_handle_t *)&fx->timer, timer_closed);
  while (uv_loop_alive(&fx->loop))
    uv_run(&fx->loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  ck_tls_ctx_free(fx->ctx);
}

/* A port that was free a moment ago (bind 127.0.0.1:0, read, close). */
static int free_port(fixture *fx) {
  ck_listener *l = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  int port;

  assert_int_equal(
      ck_listener_start(&fx->loop, "127.0.0.1:0", NULL, NULL, &l, &err), CK_OK);
  port = ck_listener_port(l);
  ck_listener_close(l, NULL);
  uv_run(&fx->loop, UV_RUN_NOWAIT);
  return port;
}

static void probe_closed(ck_conn *c) {
  (void)c;
}

static void probe_connected(ck_conn *c, ck_err status, void *arg) {
  fixture *fx = arg;

  fx->probe_done = 1;
  fx->probe_ok = status == CK_OK;
  if (c != NULL)
    ck_conn_close(c, probe_closed);
}

static void on_timer(uv_timer_t *t) {
  fixture *fx = t->data;
  fx->timer_fired = 1;
}

/* Polls a TCP connect to the child's port every 20 ms (on the loop) until it
 * succeeds; 0 when the child died or 10 s passed. */
static int wait_listening(fixture *fx) {
  ck_errctx err = CK_ERRCTX_INIT;
  char addr[64];
  uint64_t deadline = uv_now(&fx->loop) + 10000;

  snprintf(addr, sizeof addr, "127.0.0.1:%d", fx->port);
  while (uv_now(&fx->loop) < deadline && !fx->child.exited) {
    fx->probe_done = fx->probe_ok = 0;
    assert_int_equal(ck_tcp_connect(&fx->loop, addr, probe_connected, fx, &err),
                     CK_OK);
    ck_test_run_until(&fx->loop, &fx->probe_done, 5000);
    if (fx->probe_ok)
      return 1;
    fx->timer_fired = 0;
    uv_timer_start(&fx->timer, on_timer, 20, 0);
    ck_test_run_until(&fx->loop, &fx->timer_fired, 1000);
  }
  return 0;
}

/* Starts `openssl s_server` with extra arguments (NULL-terminated) and waits
 * until it accepts connections; retries on another port if it could not
 * bind. */
static void start_s_server(fixture *fx, const char *const *extra) {
  char *args[48];
  char accept[32];
  int n, attempt, i;

  for (attempt = 0; attempt < 3; attempt++) {
    fx->port = free_port(fx);
    snprintf(accept, sizeof accept, "127.0.0.1:%d", fx->port);
    n = 0;
    args[n++] = "openssl";
    args[n++] = "s_server";
    args[n++] = "-accept";
    args[n++] = accept;
    args[n++] = "-naccept";
    args[n++] = "2"; /* the readiness probe, then us */
    for (i = 0; extra[i] != NULL && n < 46; i++)
      args[n++] = (char *)extra[i];
    args[n] = NULL;
    proc_spawn(&fx->loop, &fx->child, args);
    if (wait_listening(fx))
      return;
    print_error("s_server did not start:\n%s\n",
                fx->child.buf ? fx->child.buf : "");
    proc_finish(&fx->loop, &fx->child);
  }
  fail();
}

/* ---- our client ------------------------------------------------------------
 */

static void cli_read(ck_conn *c, const uint8_t *d, size_t n, ck_err status) {
  fixture *fx = c->data;

  if (status != CK_OK) {
    fx->ended = 1;
    fx->end_status = status;
    return;
  }
  if (n > sizeof fx->rx - 1 - fx->rxlen)
    n = sizeof fx->rx - 1 - fx->rxlen;
  memcpy(fx->rx + fx->rxlen, d, n);
  fx->rxlen += n;
  fx->rx[fx->rxlen] = '\0';
}

static void cli_hs(ck_conn *c, ck_err status, const ck_errctx *err, void *arg) {
  fixture *fx = arg;

  fx->hs_done = 1;
  fx->hs = status;
  if (status != CK_OK) {
    snprintf(fx->hs_msg, sizeof fx->hs_msg, "%s", err->msg);
    return;
  }
  c->data = fx;
  fx->conn = c;
  assert_int_equal(ck_conn_read_start(c, cli_read), CK_OK);
}

/* TCP connected: wrap with the fixture's ctx (no server name). */
static void raw_connected(ck_conn *c, ck_err status, void *arg) {
  fixture *fx = arg;
  ck_errctx err = CK_ERRCTX_INIT;

  assert_int_equal(status, CK_OK);
  fx->raw = c;
  assert_int_equal(
      ck_tls_conn_wrap(c, fx->ctx, CK_TLS_CLIENT, cli_hs, fx, &err), CK_OK);
}

static void connect_to_child(fixture *fx, const ck_tls_config *cfg,
                             const char *host) {
  ck_errctx err = CK_ERRCTX_INIT;
  char addr[64];

  if (ck_tls_ctx_new(cfg, &fx->ctx, &err) != CK_OK) {
    print_error("ctx: %s\n", err.msg);
    fail();
  }
  snprintf(addr, sizeof addr, "%s:%d", host, fx->port);
  assert_int_equal(ck_tls_connect(&fx->loop, addr, fx->ctx, cli_hs, fx, &err),
                   CK_OK);
  ck_test_run_until(&fx->loop, &fx->hs_done, 10000);
  if (fx->hs != CK_OK)
    printf("  handshake: %s: %s\n", ck_err_name(fx->hs), fx->hs_msg);
}

static void send_str(ck_conn *c, const char *s) {
  uv_buf_t b = uv_buf_init((char *)s, (unsigned)strlen(s));
  assert_int_equal(ck_conn_write(c, &b, 1, NULL, NULL), CK_OK);
}

/* Runs until the client got want bytes or the stream ended. */
static void wait_rx(fixture *fx, size_t want) {
  uint64_t deadline = uv_now(&fx->loop) + 10000;

  while (fx->rxlen < want && !fx->ended) {
    uv_run(&fx->loop, UV_RUN_ONCE);
    if (uv_now(&fx->loop) > deadline) {
      print_error("got %zu of %zu bytes; child said:\n%s\n", fx->rxlen, want,
                  fx->child.buf ? fx->child.buf : "");
      fail();
    }
  }
}

static ck_tls_config client_cfg(void) {
  ck_tls_config cfg = {0};

  cfg.role = CK_TLS_CLIENT;
  cfg.ca_file = data("tls/root-ca.pem");
  return cfg;
}

static int have_openssl(void) {
  if (ck_test_have("openssl"))
    return 1;
  printf("  skipped: the openssl command-line tool is not installed\n");
  return 0;
}

static void test_client_vs_s_server(void **state) {
  fixture fx;
  ck_tls_config c = client_cfg();
  const char *extra[] = {"-cert",       data("tls/server-ec.pem"),
                         "-key",        data("tls/server-ec.key"),
                         "-cert_chain", data("tls/int-ca.pem"),
                         "-rev",        "-quiet",
                         NULL};
  const ck_tls_session *s;

  (void)state;
  if (!have_openssl())
    skip();
  fx_init(&fx);
  start_s_server(&fx, extra);
  connect_to_child(&fx, &c, "localhost");
  assert_int_equal(fx.hs, CK_OK);
  s = ck_tls_conn_session(fx.conn);
  assert_int_equal(ck_tls_session_version(s),
                   is_openssl() ? CK_TLS_V13 : CK_TLS_V12);
  send_str(fx.conn, "hello\n");
  wait_rx(&fx, 5);
  assert_memory_equal(fx.rx, "olleh", 5);
  fx_finish(&fx);
}

static void test_client_pin_vs_s_server(void **state) {
  fixture fx;
  ck_tls_config c = {0};
  char *good = read_pin("tls/server-rsa.sha256");
  char *bad = read_pin("tls/server-ec.sha256");
  const char *extra[] = {"-cert",       data("tls/server-rsa.pem"),
                         "-key",        data("tls/server-rsa.key"),
                         "-cert_chain", data("tls/int-ca.pem"),
                         "-rev",        "-quiet",
                         NULL};

  (void)state;
  if (!have_openssl())
    skip();
  c.role = CK_TLS_CLIENT;
  c.pin_sha256 = good;
  fx_init(&fx);
  start_s_server(&fx, extra);
  connect_to_child(&fx, &c, "127.0.0.1");
  assert_int_equal(fx.hs, CK_OK);
  send_str(fx.conn, "abc\n");
  wait_rx(&fx, 3);
  assert_memory_equal(fx.rx, "cba", 3);
  fx_finish(&fx);

  c.pin_sha256 = bad;
  fx_init(&fx);
  start_s_server(&fx, extra);
  connect_to_child(&fx, &c, "127.0.0.1");
  assert_int_equal(fx.hs, CK_ERR_PIN_MISMATCH);
  fx_finish(&fx);
  free(good);
  free(bad);
}

/* Bootstrap with a CA pin against a real server: the pinned intermediate
 * is accepted and handed back, a root it does not send cannot match, and a
 * leaf whose key usage is unfit for TLS is refused under a CA pin and under
 * a trust bundle (mbedTLS only flags it by itself). */
static void test_client_ca_pin_vs_s_server(void **state) {
  fixture fx;
  ck_tls_config c = {0};
  char *inter = read_pin("tls/int-ca.sha256");
  char *root = read_pin("tls/root-ca.sha256");
  const char *extra[] = {"-cert",       data("tls/server-rsa.pem"),
                         "-key",        data("tls/server-rsa.key"),
                         "-cert_chain", data("tls/int-ca.pem"),
                         "-rev",        "-quiet",
                         NULL};
  const char *badku[] = {"-cert",       data("tls/badku-server.pem"),
                         "-key",        data("tls/badku-server.key"),
                         "-cert_chain", data("tls/int-ca.pem"),
                         "-rev",        "-quiet",
                         NULL};
  const uint8_t *der;
  size_t len = 0, dlen = 0;
  char *want;

  (void)state;
  if (!have_openssl())
    skip();
  c.role = CK_TLS_CLIENT;
  c.ca_pin_sha256 = inter;
  fx_init(&fx);
  start_s_server(&fx, extra);
  connect_to_child(&fx, &c, "127.0.0.1");
  assert_int_equal(fx.hs, CK_OK);
  der = ck_tls_conn_pinned_ca(fx.conn, &len);
  want = ck_test_slurp("tls/int-ca.der", &dlen);
  assert_non_null(der);
  assert_int_equal(len, dlen);
  assert_memory_equal(der, want, dlen);
  free(want);
  send_str(fx.conn, "abc\n");
  wait_rx(&fx, 3);
  assert_memory_equal(fx.rx, "cba", 3);
  fx_finish(&fx);

  c.ca_pin_sha256 = root;
  fx_init(&fx);
  start_s_server(&fx, extra);
  connect_to_child(&fx, &c, "127.0.0.1");
  assert_int_equal(fx.hs, CK_ERR_PIN_MISMATCH);
  fx_finish(&fx);

  c.ca_pin_sha256 = inter;
  fx_init(&fx);
  start_s_server(&fx, badku);
  connect_to_child(&fx, &c, "127.0.0.1");
  assert_int_equal(fx.hs, CK_ERR_VERIFY);
  fx_finish(&fx);

  c = client_cfg();
  fx_init(&fx);
  start_s_server(&fx, badku);
  connect_to_child(&fx, &c, "127.0.0.1");
  assert_int_equal(fx.hs, CK_ERR_VERIFY);
  fx_finish(&fx);
  free(inter);
  free(root);
}

static void test_client_cert_vs_s_server(void **state) {
  fixture fx;
  ck_tls_config c = client_cfg();
  const char *extra[] = {"-cert",
                         data("tls/server-ec.pem"),
                         "-key",
                         data("tls/server-ec.key"),
                         "-cert_chain",
                         data("tls/int-ca.pem"),
                         "-Verify",
                         "2",
                         "-verify_return_error",
                         "-CAfile",
                         data("tls/root-ca.pem"),
                         "-rev",
                         "-quiet",
                         NULL};

  (void)state;
  if (!have_openssl())
    skip();
  c.cert_file = data("tls/client.pem");
  c.key_file = data("tls/client.key");
  fx_init(&fx);
  start_s_server(&fx, extra);
  connect_to_child(&fx, &c, "localhost");
  assert_int_equal(fx.hs, CK_OK);
  send_str(fx.conn, "cert\n");
  wait_rx(&fx, 4);
  assert_memory_equal(fx.rx, "trec", 4);
  fx_finish(&fx);

  /* Without a certificate, s_server refuses: during the handshake (TLS 1.2)
   * or on the first read (TLS 1.3). */
  c.cert_file = c.key_file = NULL;
  fx_init(&fx);
  start_s_server(&fx, extra);
  connect_to_child(&fx, &c, "localhost");
  if (fx.hs == CK_OK) {
    uv_buf_t b = uv_buf_init("nocert\n", 7);
    /* The write may already fail: the alert can arrive first. */
    ck_err wrc = ck_conn_write(fx.conn, &b, 1, NULL, NULL);
    assert_true(wrc == CK_OK || wrc == CK_ERR_TLS);
    wait_rx(&fx, 1);
    assert_true(fx.ended);
    assert_int_not_equal(fx.end_status, CK_OK);
    assert_int_equal(fx.rxlen, 0);
  } else {
    assert_int_equal(fx.hs, CK_ERR_TLS_HANDSHAKE);
  }
  fx_finish(&fx);
}

static void test_client_refuses(void **state) {
  fixture fx;
  ck_tls_config c = client_cfg();
  const char *tls11[] = {"-cert",
                         data("tls/server-ec.pem"),
                         "-key",
                         data("tls/server-ec.key"),
                         "-cert_chain",
                         data("tls/int-ca.pem"),
                         "-tls1_1",
                         "-cipher",
                         "DEFAULT@SECLEVEL=0",
                         "-rev",
                         "-quiet",
                         NULL};
  const char *eku[] = {
      "-cert",       data("tls/client.pem"), "-key", data("tls/client.key"),
      "-cert_chain", data("tls/int-ca.pem"), "-rev", "-quiet",
      NULL};

  (void)state;
  if (!have_openssl())
    skip();
  /* A TLS 1.1-only server. */
  fx_init(&fx);
  start_s_server(&fx, tls11);
  connect_to_child(&fx, &c, "localhost");
  assert_int_equal(fx.hs, CK_ERR_TLS_HANDSHAKE);
  fx_finish(&fx);

  /* A server presenting a client certificate (no serverAuth). Wrapped by
   * hand so no server name is checked: the refusal is for the key usage. */
  fx_init(&fx);
  start_s_server(&fx, eku);
  {
    ck_errctx err = CK_ERRCTX_INIT;
    char addr[64];
    assert_int_equal(ck_tls_ctx_new(&c, &fx.ctx, &err), CK_OK);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", fx.port);
    fx.raw = NULL;
    assert_int_equal(ck_tcp_connect(&fx.loop, addr, raw_connected, &fx, &err),
                     CK_OK);
    ck_test_run_until(&fx.loop, &fx.hs_done, 10000);
  }
  assert_int_equal(fx.hs, CK_ERR_VERIFY);
  printf("  handshake: %s\n", fx.hs_msg);
  assert_null(strstr(fx.hs_msg, "name"));
  fx_finish(&fx);
}

/* The hex after the last "Keying material: " in the child's output. */
static int child_keymat(fixture *fx, uint8_t out[32]) {
  const char *p = NULL, *q;
  int i;

  for (q = fx->child.buf;
       q != NULL && (q = strstr(q, "Keying material: ")) != NULL; q++)
    p = q;
  if (p == NULL)
    return 0;
  p += strlen("Keying material: ");
  for (i = 0; i < 32; i++) {
    unsigned v;
    if (!isxdigit((unsigned char)p[2 * i]) ||
        !isxdigit((unsigned char)p[2 * i + 1]))
      return 0;
    if (sscanf(p + 2 * i, "%2x", &v) != 1)
      return 0;
    out[i] = (uint8_t)v;
  }
  return 1;
}

static void exporter_round(ck_tls_version max) {
  fixture fx;
  ck_tls_config c = client_cfg();
  const char *extra[] = {"-cert",
                         data("tls/server-ec.pem"),
                         "-key",
                         data("tls/server-ec.key"),
                         "-cert_chain",
                         data("tls/int-ca.pem"),
                         "-keymatexport",
                         "EXPORTER-Channel-Binding",
                         "-keymatexportlen",
                         "32",
                         NULL};
  uint8_t ours[64], theirs[32];
  size_t len = 0;
  ck_errctx err = CK_ERRCTX_INIT;
  uint64_t deadline;
  int got = 0;

  c.max_version = max;
  fx_init(&fx);
  start_s_server(&fx, extra);
  connect_to_child(&fx, &c, "localhost");
  assert_int_equal(fx.hs, CK_OK);
  /* s_server prints the exporter once the connection is set up; make sure
   * it is, with a line it echoes to its stdout. */
  send_str(fx.conn, "sync-line\n");
  deadline = uv_now(&fx.loop) + 10000;
  while (!(got = fx.child.buf != NULL &&
                 strstr(fx.child.buf, "sync-line") != NULL &&
                 child_keymat(&fx, theirs)) &&
         uv_now(&fx.loop) < deadline)
    uv_run(&fx.loop, UV_RUN_ONCE);
  if (!got)
    print_error("no keying material from s_server:\n%s\n",
                fx.child.buf ? fx.child.buf : "");
  assert_true(got);
  assert_int_equal(ck_tls_session_channel_binding(ck_tls_conn_session(fx.conn),
                                                  CK_TLS_BINDING_EXPORTER, ours,
                                                  sizeof ours, &len, &err),
                   CK_OK);
  assert_int_equal(len, 32);
  assert_memory_equal(ours, theirs, 32);
  fx_finish(&fx);
}

static void test_exporter_matches_openssl(void **state) {
  (void)state;
  if (!have_openssl())
    skip();
  exporter_round(CK_TLS_V12);
  if (is_openssl())
    exporter_round(CK_TLS_VERSION_ANY); /* TLS 1.3 */
}

/* ---- our server ------------------------------------------------------------
 */

static void srv_hs(ck_conn *c, ck_err status, const ck_errctx *err, void *arg) {
  fixture *fx = arg;

  fx->hs_done = 1;
  fx->hs = status;
  if (status != CK_OK) {
    snprintf(fx->hs_msg, sizeof fx->hs_msg, "%s", err->msg);
    return;
  }
  c->data = fx;
  fx->conn = c;
  assert_int_equal(ck_conn_read_start(c, cli_read), CK_OK);
  send_str(c, "from-certkeeper\n");
}

static void on_accept(ck_listener *l, ck_conn *c) {
  fixture *fx = ck_listener_data(l);
  ck_errctx err = CK_ERRCTX_INIT;

  assert_int_equal(
      ck_tls_conn_wrap(c, fx->ctx, CK_TLS_SERVER, srv_hs, fx, &err), CK_OK);
}

static void serve(fixture *fx, const ck_tls_config *scfg) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  fx_init(fx);
  rc = ck_tls_ctx_new(scfg, &fx->ctx, &err);
  if (rc == CK_ERR_UNSUPPORTED) {
    printf("  skipped: %s\n", err.msg);
    fx_finish(fx);
    skip();
  }
  if (rc != CK_OK) {
    print_error("ctx: %s\n", err.msg);
    fail();
  }
  assert_int_equal(ck_listener_start(&fx->loop, "127.0.0.1:0", on_accept, fx,
                                     &fx->lst, &err),
                   CK_OK);
  fx->port = ck_listener_port(fx->lst);
}

static void run_s_client(fixture *fx, const char *const *extra) {
  char *args[40];
  char connect[32];
  int n = 0, i;

  snprintf(connect, sizeof connect, "127.0.0.1:%d", fx->port);
  args[n++] = "openssl";
  args[n++] = "s_client";
  args[n++] = "-connect";
  args[n++] = connect;
  for (i = 0; extra[i] != NULL && n < 38; i++)
    args[n++] = (char *)extra[i];
  args[n] = NULL;
  proc_spawn(&fx->loop, &fx->child, args);
  ck_test_run_until(&fx->loop, &fx->hs_done, 10000);
}

static ck_tls_config server_cfg(void) {
  ck_tls_config cfg = {0};

  cfg.role = CK_TLS_SERVER;
  cfg.cert_file = data("tls/server-ec.pem");
  cfg.key_file = data("tls/server-ec.key");
  return cfg;
}

static void test_server_vs_s_client(void **state) {
  fixture fx;
  ck_tls_config s = server_cfg();
  const char *extra[] = {"-CAfile",
                         data("tls/root-ca.pem"),
                         "-servername",
                         "localhost",
                         "-verify_hostname",
                         "localhost",
                         "-verify_return_error",
                         NULL};
  uint64_t deadline;
  size_t len;
  const uint8_t *der;

  (void)state;
  if (!have_openssl())
    skip();
  serve(&fx, &s);
  run_s_client(&fx, extra);
  assert_int_equal(fx.hs, CK_OK);
  /* s_client prints what we sent; then we close and it exits. */
  deadline = uv_now(&fx.loop) + 10000;
  while ((fx.child.buf == NULL ||
          strstr(fx.child.buf, "from-certkeeper") == NULL) &&
         uv_now(&fx.loop) < deadline)
    uv_run(&fx.loop, UV_RUN_ONCE);
  assert_non_null(strstr(fx.child.buf, "from-certkeeper"));
  assert_non_null(strstr(fx.child.buf, "Verify return code: 0 (ok)"));
  der = ck_conn_peer_cert_der(fx.conn, &len);
  assert_null(der);
  ck_conn_close(fx.conn, conn_closed);
  ck_test_run_until(&fx.loop, &fx.closed, 5000);
  ck_test_run_until(&fx.loop, &fx.child.exited, 10000);
  fx_finish(&fx);
}

static void test_server_client_cert_vs_s_client(void **state) {
  fixture fx;
  ck_tls_config s = server_cfg();
  const char *extra[] = {
      "-CAfile", data("tls/root-ca.pem"), "-cert",       data("tls/client.pem"),
      "-key",    data("tls/client.key"),  "-cert_chain", data("tls/int-ca.pem"),
      NULL};
  size_t len = 0, want_len = 0;
  const uint8_t *der;
  char *want;

  (void)state;
  if (!have_openssl())
    skip();
  s.verify = CK_TLS_VERIFY_REQUIRE;
  s.ca_file = data("tls/root-ca.pem");
  serve(&fx, &s);
  run_s_client(&fx, extra);
  assert_int_equal(fx.hs, CK_OK);
  der = ck_conn_peer_cert_der(fx.conn, &len);
  want = ck_test_slurp("tls/client.der", &want_len);
  assert_non_null(der);
  assert_int_equal(len, want_len);
  assert_memory_equal(der, want, len);
  free(want);
  fx_finish(&fx);
}

static void test_server_refuses_tls11(void **state) {
  fixture fx;
  ck_tls_config s = server_cfg();
  const char *extra[] = {"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", NULL};

  (void)state;
  if (!have_openssl())
    skip();
  serve(&fx, &s);
  run_s_client(&fx, extra);
  assert_int_equal(fx.hs, CK_ERR_TLS_HANDSHAKE);
  assert_null(fx.conn);
  fx_finish(&fx);
}

/* After a failed assertion the test's loop is gone: just end its child. */
static int teardown(void **state) {
  (void)state;
  if (child_pid > 0)
    kill(child_pid, SIGTERM);
  child_pid = 0;
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_client_vs_s_server, teardown),
      cmocka_unit_test_teardown(test_client_pin_vs_s_server, teardown),
      cmocka_unit_test_teardown(test_client_ca_pin_vs_s_server, teardown),
      cmocka_unit_test_teardown(test_client_cert_vs_s_server, teardown),
      cmocka_unit_test_teardown(test_client_refuses, teardown),
      cmocka_unit_test_teardown(test_exporter_matches_openssl, teardown),
      cmocka_unit_test_teardown(test_server_vs_s_client, teardown),
      cmocka_unit_test_teardown(test_server_client_cert_vs_s_client, teardown),
      cmocka_unit_test_teardown(test_server_refuses_tls11, teardown),
  };

  signal(SIGPIPE, SIG_IGN);
  printf("TLS backend: %s\n", ck_tls_backend());
  return cmocka_run_group_tests(tests, NULL, NULL);
}
