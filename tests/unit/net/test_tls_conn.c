/* test_tls_conn.c — the TLS ck_conn (common/net/tls.h) over real sockets.
 *
 * A TLS server on 127.0.0.1:0 (listener -> TCP conn -> ck_tls_conn_wrap) and
 * a client made with ck_tls_connect, both on one libuv loop: handshake and
 * echo, client certificates required / optional / absent, pinning (leaf
 * and CA) accepted and refused, the peer chain and pinned CA of a conn,
 * untrusted server, name mismatch, handshake timeout, a 4 MiB
 * echo both ways under backpressure, close_notify, and connect errors. Each
 * test ends with every handle closed (uv_loop_close must succeed). Runs in
 * both crypto builds (with mbedTLS, both ends are mbedTLS). */
#include "tests/testutil.h"

#include <string.h>

#include "common/net/tls.h"

#define BIG (4u * 1024u * 1024u)
#define HIGH_WATER (256u * 1024u)

typedef struct side {
  ck_conn *conn; /* the TLS conn once ready */
  int hs_done;   /* handshake callback ran */
  ck_err hs;     /* its status */
  char hs_msg[512];
  uint8_t *rx; /* bytes received */
  size_t rxlen, rxcap;
  size_t bad; /* pattern mismatches (pattern mode) */
  int ended;  /* read callback saw a final status */
  ck_err end_status;
  int closed; /* close callback ran */
} side;

typedef struct fixture {
  uv_loop_t loop;
  ck_listener *lst;
  int port;
  int listener_closed;
  ck_tls_ctx *sctx, *cctx;
  side srv, cli;
  int echo;       /* server echoes what it reads */
  int paused;     /* server stopped reading (backpressure) */
  int resumed;    /* times the server resumed reading */
  int both;       /* both handshake callbacks ran */
  size_t sent;    /* client bytes handed to write */
  size_t big_len; /* client payload size (bytes are pattern(offset)) */
  int writes_done;
  int blocked;  /* the client saw its write queue at the mark */
  int hold;     /* server: do not read after the handshake */
  int pattern;  /* rx: check pattern() instead of storing */
  int raw_mode; /* listener does not wrap (timeout test) */
  ck_conn *raw; /* accepted raw TCP conn */
  int raw_closed;
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

static void rx_append(side *s, const uint8_t *d, size_t n) {
  if (s->rxlen + n > s->rxcap) {
    s->rxcap = (s->rxlen + n) * 2;
    s->rx = realloc(s->rx, s->rxcap);
    assert_non_null(s->rx);
  }
  memcpy(s->rx + s->rxlen, d, n);
  s->rxlen += n;
}

static void update_both(fixture *fx) {
  fx->both = fx->srv.hs_done && fx->cli.hs_done;
}

/* ---- server side ------------------------------------------------------- */

static void srv_closed(ck_conn *c) {
  fixture *fx = c->data;
  fx->srv.closed = 1;
}

static void srv_read(ck_conn *c, const uint8_t *d, size_t n, ck_err status);

static void srv_write_done(ck_conn *c, ck_err status, void *arg) {
  fixture *fx = c->data;

  (void)arg;
  assert_int_equal(status, CK_OK);
  /* Drained below the mark: read again. */
  if (fx->paused && !fx->srv.ended &&
      ck_conn_write_queue_size(c) < HIGH_WATER) {
    fx->paused = 0;
    fx->resumed++;
    assert_int_equal(ck_conn_read_start(c, srv_read), CK_OK);
  }
}

static void srv_read(ck_conn *c, const uint8_t *d, size_t n, ck_err status) {
  fixture *fx = c->data;

  if (status != CK_OK) {
    fx->srv.ended = 1;
    fx->srv.end_status = status;
    ck_conn_close(c, srv_closed);
    return;
  }
  if (fx->pattern)
    fx->srv.rxlen += n;
  else
    rx_append(&fx->srv, d, n);
  if (fx->echo) {
    uv_buf_t b = uv_buf_init((char *)d, (unsigned)n);
    assert_int_equal(ck_conn_write(c, &b, 1, srv_write_done, NULL), CK_OK);
    if (ck_conn_write_queue_size(c) >= HIGH_WATER) {
      fx->paused = 1;
      ck_conn_read_stop(c);
    }
  }
}

static void srv_hs(ck_conn *c, ck_err status, const ck_errctx *err, void *arg) {
  fixture *fx = arg;

  fx->srv.hs_done = 1;
  fx->srv.hs = status;
  if (status != CK_OK) {
    assert_null(c);
    assert_non_null(err);
    snprintf(fx->srv.hs_msg, sizeof fx->srv.hs_msg, "%s", err->msg);
    fx->srv.closed = 1; /* nothing to close */
  } else {
    assert_non_null(c);
    assert_null(err);
    assert_true(c->is_tls);
    c->data = fx;
    fx->srv.conn = c;
    if (!fx->hold)
      assert_int_equal(ck_conn_read_start(c, srv_read), CK_OK);
  }
  update_both(fx);
}

static void raw_closed(ck_conn *c) {
  fixture *fx = c->data;
  fx->raw_closed = 1;
}

static void on_accept(ck_listener *l, ck_conn *c) {
  fixture *fx = ck_listener_data(l);
  ck_errctx err = CK_ERRCTX_INIT;

  if (fx->raw_mode) { /* a TCP peer that never speaks TLS */
    c->data = fx;
    fx->raw = c;
    return;
  }
  if (ck_tls_conn_wrap(c, fx->sctx, CK_TLS_SERVER, srv_hs, fx, &err) != CK_OK) {
    print_error("wrap: %s\n", err.msg);
    fail();
  }
}

/* ---- client side ------------------------------------------------------- */

static uint8_t pattern(size_t i);

static void cli_closed(ck_conn *c) {
  fixture *fx = c->data;
  fx->cli.closed = 1;
}

static void cli_read(ck_conn *c, const uint8_t *d, size_t n, ck_err status) {
  fixture *fx = c->data;

  if (status != CK_OK) {
    fx->cli.ended = 1;
    fx->cli.end_status = status;
    return;
  }
  if (fx->pattern) {
    size_t i;
    for (i = 0; i < n; i++)
      fx->cli.bad += d[i] != pattern(fx->cli.rxlen + i);
    fx->cli.rxlen += n;
    return;
  }
  rx_append(&fx->cli, d, n);
}

static void cli_hs(ck_conn *c, ck_err status, const ck_errctx *err, void *arg) {
  fixture *fx = arg;

  fx->cli.hs_done = 1;
  fx->cli.hs = status;
  if (status != CK_OK) {
    assert_null(c);
    assert_non_null(err);
    snprintf(fx->cli.hs_msg, sizeof fx->cli.hs_msg, "%s", err->msg);
    fx->cli.closed = 1;
  } else {
    assert_non_null(c);
    c->data = fx;
    fx->cli.conn = c;
    assert_int_equal(ck_conn_read_start(c, cli_read), CK_OK);
  }
  update_both(fx);
}

/* ---- fixture ------------------------------------------------------------ */

static void fx_start(fixture *fx, const ck_tls_config *scfg) {
  ck_errctx err = CK_ERRCTX_INIT;

  memset(fx, 0, sizeof *fx);
  assert_int_equal(uv_loop_init(&fx->loop), 0);
  if (scfg != NULL) {
    if (ck_tls_ctx_new(scfg, &fx->sctx, &err) != CK_OK) {
      print_error("server ctx: %s\n", err.msg);
      fail();
    }
  }
  assert_int_equal(ck_listener_start(&fx->loop, "127.0.0.1:0", on_accept, fx,
                                     &fx->lst, &err),
                   CK_OK);
  fx->port = ck_listener_port(fx->lst);
  assert_true(fx->port > 0);
}

static void connect_client(fixture *fx, const ck_tls_config *ccfg,
                           const char *host) {
  ck_errctx err = CK_ERRCTX_INIT;
  char addr[64];

  if (ck_tls_ctx_new(ccfg, &fx->cctx, &err) != CK_OK) {
    print_error("client ctx: %s\n", err.msg);
    fail();
  }
  snprintf(addr, sizeof addr, "%s:%d", host, fx->port);
  assert_int_equal(ck_tls_connect(&fx->loop, addr, fx->cctx, cli_hs, fx, &err),
                   CK_OK);
}

static void listener_closed(void *arg) {
  fixture *fx = arg;
  fx->listener_closed = 1;
}

static void fx_finish(fixture *fx) {
  if (fx->cli.conn != NULL && !fx->cli.closed)
    ck_conn_close(fx->cli.conn, cli_closed);
  if (fx->srv.conn != NULL && !fx->srv.closed && !fx->srv.ended)
    ck_conn_close(fx->srv.conn, srv_closed);
  ck_listener_close(fx->lst, listener_closed);
  ck_test_run_until(&fx->loop, &fx->listener_closed, 5000);
  ck_test_run_until(&fx->loop, &fx->cli.closed, 5000);
  if (fx->srv.conn != NULL)
    ck_test_run_until(&fx->loop, &fx->srv.closed, 5000);
  /* Wait for the TCP layers' lingering closes to finish. */
  while (uv_loop_alive(&fx->loop))
    uv_run(&fx->loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  ck_tls_ctx_free(fx->sctx);
  ck_tls_ctx_free(fx->cctx);
  free(fx->srv.rx);
  free(fx->cli.rx);
}

static ck_tls_config server_cfg(const char *name) {
  static char cert[64], key[64];
  ck_tls_config cfg = {0};

  snprintf(cert, sizeof cert, "tls/%s.pem", name);
  snprintf(key, sizeof key, "tls/%s.key", name);
  cfg.role = CK_TLS_SERVER;
  cfg.cert_file = data(cert);
  cfg.key_file = data(key);
  return cfg;
}

static ck_tls_config client_cfg(void) {
  ck_tls_config cfg = {0};

  cfg.role = CK_TLS_CLIENT;
  cfg.ca_file = data("tls/root-ca.pem");
  return cfg;
}

static void assert_der(const uint8_t *der, size_t len, const char *rel) {
  size_t want_len = 0;
  char *want = ck_test_slurp(rel, &want_len);

  assert_non_null(der);
  assert_int_equal(len, want_len);
  assert_memory_equal(der, want, len);
  free(want);
}

static void send_str(ck_conn *c, const char *s) {
  uv_buf_t b = uv_buf_init((char *)s, (unsigned)strlen(s));
  assert_int_equal(ck_conn_write(c, &b, 1, NULL, NULL), CK_OK);
}

/* Runs the loop until the client has received n bytes. */
static void wait_rx(fixture *fx, size_t n) {
  int done = 0;
  uint64_t deadline = uv_now(&fx->loop) + 10000;

  while (!done) {
    uv_run(&fx->loop, UV_RUN_ONCE);
    done = fx->cli.rxlen >= n || fx->cli.ended;
    if (uv_now(&fx->loop) > deadline) {
      print_error("received %zu of %zu bytes\n", fx->cli.rxlen, n);
      fail();
    }
  }
}

/* ---- tests --------------------------------------------------------------- */

static void test_echo(void **state) {
  fixture fx;
  ck_tls_config s = server_cfg("server-ec"), c = client_cfg();
  size_t len;
  const uint8_t *der;
  const ck_tls_session *sess;

  (void)state;
  s.alpn = "ck/1";
  c.alpn = "ck/1";
  fx_start(&fx, &s);
  fx.echo = 1;
  connect_client(&fx, &c, "localhost"); /* server name from the address */
  ck_test_run_until(&fx.loop, &fx.both, 5000);
  assert_int_equal(fx.cli.hs, CK_OK);
  assert_int_equal(fx.srv.hs, CK_OK);
  der = ck_conn_peer_cert_der(fx.cli.conn, &len);
  assert_der(der, len, "tls/server-ec.der");
  der = ck_conn_peer_cert_der(fx.srv.conn, &len);
  assert_null(der);
  assert_int_equal(len, 0);
  sess = ck_tls_conn_session(fx.cli.conn);
  assert_non_null(sess);
  assert_string_equal(ck_tls_session_alpn(sess), "ck/1");
  assert_null(ck_tls_conn_session(NULL));
  assert_int_equal(strncmp(fx.cli.conn->peer, "127.0.0.1:", 10), 0);
  assert_int_equal(strncmp(fx.srv.conn->peer, "127.0.0.1:", 10), 0);

  send_str(fx.cli.conn, "hello, ");
  send_str(fx.cli.conn, "world");
  wait_rx(&fx, 12);
  assert_int_equal(fx.cli.rxlen, 12);
  assert_memory_equal(fx.cli.rx, "hello, world", 12);

  /* Client closes: the server reads the end (close_notify). */
  ck_conn_close(fx.cli.conn, cli_closed);
  ck_test_run_until(&fx.loop, &fx.srv.ended, 5000);
  assert_int_equal(fx.srv.end_status, CK_ERR_CLOSED);
  ck_test_run_until(&fx.loop, &fx.srv.closed, 5000);
  fx_finish(&fx);
}

static void test_rsa_by_ip(void **state) {
  const uint8_t *der;
  fixture fx;
  ck_tls_config s = server_cfg("server-rsa"), c = client_cfg();
  size_t len;

  (void)state;
  fx_start(&fx, &s);
  fx.echo = 1;
  connect_client(&fx, &c, "127.0.0.1"); /* checked against the IP SAN */
  ck_test_run_until(&fx.loop, &fx.both, 5000);
  assert_int_equal(fx.cli.hs, CK_OK);
  der = ck_conn_peer_cert_der(fx.cli.conn, &len);
  assert_der(der, len, "tls/server-rsa.der");
  send_str(fx.cli.conn, "x");
  wait_rx(&fx, 1);
  fx_finish(&fx);
}

static void test_client_cert_required(void **state) {
  const uint8_t *der;
  fixture fx;
  ck_tls_config s = server_cfg("server-ec"), c = client_cfg();
  size_t len;

  (void)state;
  s.verify = CK_TLS_VERIFY_REQUIRE;
  s.ca_file = data("tls/root-ca.pem");
  c.cert_file = data("tls/client.pem");
  c.key_file = data("tls/client.key");
  fx_start(&fx, &s);
  fx.echo = 1;
  connect_client(&fx, &c, "localhost");
  ck_test_run_until(&fx.loop, &fx.both, 5000);
  assert_int_equal(fx.srv.hs, CK_OK);
  assert_int_equal(fx.cli.hs, CK_OK);
  der = ck_conn_peer_cert_der(fx.srv.conn, &len);
  assert_der(der, len, "tls/client.der");
  send_str(fx.cli.conn, "ping");
  wait_rx(&fx, 4);
  assert_memory_equal(fx.cli.rx, "ping", 4);
  fx_finish(&fx);

  /* Without a certificate the server refuses. */
  c.cert_file = c.key_file = NULL;
  fx_start(&fx, &s);
  connect_client(&fx, &c, "localhost");
  ck_test_run_until(&fx.loop, &fx.srv.hs_done, 5000);
  assert_int_equal(fx.srv.hs, CK_ERR_PEER_CERT_REQUIRED);
  assert_non_null(strstr(fx.srv.hs_msg, "127.0.0.1:"));
  ck_test_run_until(&fx.loop, &fx.cli.hs_done, 5000);
  if (fx.cli.hs == CK_OK) {
    /* TLS 1.3: the client finished first; its first read fails. */
    ck_test_run_until(&fx.loop, &fx.cli.ended, 5000);
    assert_int_not_equal(fx.cli.end_status, CK_OK);
    assert_int_equal(fx.cli.rxlen, 0);
  } else {
    assert_int_equal(fx.cli.hs, CK_ERR_TLS_HANDSHAKE);
  }
  fx_finish(&fx);
}

static void test_client_cert_optional(void **state) {
  const uint8_t *der;
  fixture fx;
  ck_tls_config s = server_cfg("server-ec"), c = client_cfg();
  size_t len = 1;

  (void)state;
  s.verify = CK_TLS_VERIFY_OPTIONAL;
  s.ca_file = data("tls/root-ca.pem");
  fx_start(&fx, &s);
  connect_client(&fx, &c, "localhost");
  ck_test_run_until(&fx.loop, &fx.both, 5000);
  assert_int_equal(fx.srv.hs, CK_OK);
  assert_int_equal(fx.cli.hs, CK_OK);
  assert_null(ck_conn_peer_cert_der(fx.srv.conn, &len));
  assert_int_equal(len, 0);
  fx_finish(&fx);

  c.cert_file = data("tls/client.pem");
  c.key_file = data("tls/client.key");
  fx_start(&fx, &s);
  connect_client(&fx, &c, "localhost");
  ck_test_run_until(&fx.loop, &fx.both, 5000);
  assert_int_equal(fx.srv.hs, CK_OK);
  der = ck_conn_peer_cert_der(fx.srv.conn, &len);
  assert_der(der, len, "tls/client.der");
  fx_finish(&fx);
}

static void test_pinning(void **state) {
  const uint8_t *der;
  fixture fx;
  ck_tls_config s = server_cfg("server-ec"), c = {0};
  char *good = read_pin("tls/server-ec.sha256");
  char *bad = read_pin("tls/client.sha256");
  size_t len;

  (void)state;
  /* Enrollment: no trust bundle yet, only the pin. */
  c.role = CK_TLS_CLIENT;
  c.pin_sha256 = good;
  fx_start(&fx, &s);
  connect_client(&fx, &c, "127.0.0.1");
  ck_test_run_until(&fx.loop, &fx.both, 5000);
  assert_int_equal(fx.cli.hs, CK_OK);
  assert_int_equal(fx.srv.hs, CK_OK);
  der = ck_conn_peer_cert_der(fx.cli.conn, &len);
  assert_der(der, len, "tls/server-ec.der");
  fx_finish(&fx);

  c.pin_sha256 = bad;
  fx_start(&fx, &s);
  connect_client(&fx, &c, "127.0.0.1");
  ck_test_run_until(&fx.loop, &fx.both, 5000);
  assert_int_equal(fx.cli.hs, CK_ERR_PIN_MISMATCH);
  assert_non_null(strstr(fx.cli.hs_msg, good));
  assert_int_not_equal(fx.srv.hs, CK_OK);
  fx_finish(&fx);
  free(good);
  free(bad);
}

/* Bootstrap enrollment with a CA pin: the agent knows only the fingerprint
 * of the coordinator's root, and keeps the pinned certificate afterwards. */
static void test_ca_pinning(void **state) {
  const uint8_t *der;
  fixture fx;
  ck_tls_config s = server_cfg("server-ec"), c = {0};
  char *root = read_pin("tls/root-ca.sha256");
  char *other = read_pin("tls/other-ca.sha256");
  size_t len;

  (void)state;
  s.cert_file = data("tls/server-ec-full.pem"); /* leaf, intermediate, root */
  c.role = CK_TLS_CLIENT;
  c.ca_pin_sha256 = root;
  fx_start(&fx, &s);
  connect_client(&fx, &c, "127.0.0.1");
  ck_test_run_until(&fx.loop, &fx.both, 5000);
  assert_int_equal(fx.cli.hs, CK_OK);
  assert_int_equal(fx.srv.hs, CK_OK);
  der = ck_tls_conn_pinned_ca(fx.cli.conn, &len);
  assert_der(der, len, "tls/root-ca.der");
  der = ck_tls_conn_peer_chain(fx.cli.conn, 0, &len);
  assert_der(der, len, "tls/server-ec.der");
  der = ck_tls_conn_peer_chain(fx.cli.conn, 1, &len);
  assert_der(der, len, "tls/int-ca.der");
  der = ck_tls_conn_peer_chain(fx.cli.conn, 2, &len);
  assert_der(der, len, "tls/root-ca.der");
  len = 1;
  assert_null(ck_tls_conn_peer_chain(fx.cli.conn, 3, &len));
  assert_int_equal(len, 0);
  /* The server asked for no client certificate: no chain, no pinned CA. */
  assert_null(ck_tls_conn_peer_chain(fx.srv.conn, 0, &len));
  assert_null(ck_tls_conn_pinned_ca(fx.srv.conn, &len));
  assert_int_equal(len, 0);
  fx_finish(&fx);

  /* Somebody else's CA. */
  c.ca_pin_sha256 = other;
  fx_start(&fx, &s);
  connect_client(&fx, &c, "localhost");
  ck_test_run_until(&fx.loop, &fx.both, 5000);
  assert_int_equal(fx.cli.hs, CK_ERR_PIN_MISMATCH);
  assert_int_not_equal(fx.srv.hs, CK_OK);
  fx_finish(&fx);

  /* Our root appended to a chain it did not sign. */
  s = server_cfg("other-server");
  c.ca_pin_sha256 = root;
  fx_start(&fx, &s);
  connect_client(&fx, &c, "localhost");
  ck_test_run_until(&fx.loop, &fx.both, 5000);
  assert_int_equal(fx.cli.hs, CK_ERR_UNTRUSTED);
  fx_finish(&fx);
  free(root);
  free(other);
}

static void test_refusals(void **state) {
  fixture fx;
  ck_tls_config s = server_cfg("server-ec"), c = client_cfg();

  (void)state;
  /* A server from an unrelated PKI. */
  c.ca_file = data("tls/other-ca.pem");
  fx_start(&fx, &s);
  connect_client(&fx, &c, "localhost");
  ck_test_run_until(&fx.loop, &fx.both, 5000);
  assert_int_equal(fx.cli.hs, CK_ERR_UNTRUSTED);
  assert_int_not_equal(fx.srv.hs, CK_OK);
  fx_finish(&fx);

  /* The right PKI, the wrong name. */
  c = client_cfg();
  c.server_name = "wrong.example";
  fx_start(&fx, &s);
  connect_client(&fx, &c, "localhost");
  ck_test_run_until(&fx.loop, &fx.both, 5000);
  assert_int_equal(fx.cli.hs, CK_ERR_VERIFY);
  fx_finish(&fx);

  /* An expired server certificate. */
  s = server_cfg("expired-server");
  c = client_cfg();
  fx_start(&fx, &s);
  connect_client(&fx, &c, "localhost");
  ck_test_run_until(&fx.loop, &fx.both, 5000);
  assert_int_equal(fx.cli.hs, CK_ERR_EXPIRED);
  fx_finish(&fx);
}

static void raw_connected(ck_conn *c, ck_err status, void *arg) {
  fixture *fx = arg;

  assert_int_equal(status, CK_OK);
  c->data = fx;
  fx->cli.conn = c; /* a plain TCP client that never speaks */
  fx->cli.hs_done = 1;
}

static void test_handshake_timeout(void **state) {
  fixture fx;
  ck_tls_config s = server_cfg("server-ec");
  ck_errctx err = CK_ERRCTX_INIT;
  char addr[64];
  uint64_t t0;

  (void)state;
  s.handshake_timeout_ms = 200;
  fx_start(&fx, &s);
  snprintf(addr, sizeof addr, "127.0.0.1:%d", fx.port);
  assert_int_equal(ck_tcp_connect(&fx.loop, addr, raw_connected, &fx, &err),
                   CK_OK);
  t0 = uv_now(&fx.loop);
  ck_test_run_until(&fx.loop, &fx.srv.hs_done, 5000);
  assert_int_equal(fx.srv.hs, CK_ERR_TIMEOUT);
  assert_true(uv_now(&fx.loop) - t0 >= 150);
  fx_finish(&fx);

  /* The client side: a server that accepts and never answers. */
  {
    ck_tls_config c = client_cfg();
    c.handshake_timeout_ms = 200;
    fx_start(&fx, NULL);
    fx.raw_mode = 1;
    connect_client(&fx, &c, "localhost");
    ck_test_run_until(&fx.loop, &fx.cli.hs_done, 5000);
    assert_int_equal(fx.cli.hs, CK_ERR_TIMEOUT);
    assert_non_null(fx.raw);
    ck_conn_close(fx.raw, raw_closed);
    ck_test_run_until(&fx.loop, &fx.raw_closed, 5000);
    fx_finish(&fx);
  }
}

static void test_not_tls_peer(void **state) {
  fixture fx;
  ck_tls_config c = client_cfg();

  (void)state;
  fx_start(&fx, NULL);
  fx.raw_mode = 1;
  connect_client(&fx, &c, "localhost");
  while (fx.raw == NULL)
    uv_run(&fx.loop, UV_RUN_ONCE);
  send_str(fx.raw, "HTTP/1.1 400 Bad Request\r\n\r\n");
  ck_test_run_until(&fx.loop, &fx.cli.hs_done, 5000);
  assert_int_equal(fx.cli.hs, CK_ERR_TLS_HANDSHAKE);
  ck_conn_close(fx.raw, raw_closed);
  ck_test_run_until(&fx.loop, &fx.raw_closed, 5000);
  fx_finish(&fx);
}

static uint8_t pattern(size_t i) {
  return (uint8_t)((i * 2654435761u) >> 13);
}

static void cli_write_more(fixture *fx);

static void cli_write_done(ck_conn *c, ck_err status, void *arg) {
  fixture *fx = c->data;

  (void)arg;
  assert_int_equal(status, CK_OK);
  fx->writes_done++;
  cli_write_more(fx);
}

/* Writes while the queue is below the mark; resumes from write callbacks.
 * Chunks are not a multiple of the TLS record size, on purpose. */
static void cli_write_more(fixture *fx) {
  uint8_t chunk[100000];

  while (fx->sent < fx->big_len) {
    size_t n = fx->big_len - fx->sent, i;
    uv_buf_t b;
    if (ck_conn_write_queue_size(fx->cli.conn) >= HIGH_WATER) {
      fx->blocked = 1;
      return;
    }
    if (n > sizeof chunk)
      n = sizeof chunk;
    for (i = 0; i < n; i++)
      chunk[i] = pattern(fx->sent + i);
    b = uv_buf_init((char *)chunk, (unsigned)n);
    assert_int_equal(ck_conn_write(fx->cli.conn, &b, 1, cli_write_done, NULL),
                     CK_OK);
    fx->sent += n;
  }
}

static void test_large_transfer(void **state) {
  fixture fx;
  ck_tls_config s = server_cfg("server-ec"), c = client_cfg();
  uint64_t deadline;

  (void)state;
  fx_start(&fx, &s);
  fx.echo = 1;
  fx.hold = 1;    /* the server does not read at first */
  fx.pattern = 1; /* the client checks what it gets back on the fly */
  connect_client(&fx, &c, "localhost");
  ck_test_run_until(&fx.loop, &fx.both, 5000);
  assert_int_equal(fx.cli.hs, CK_OK);
  /* More than the kernel buffers of both sockets can hold (4 MiB send +
   * a few MiB receive), so a server that does not read makes the client's
   * TLS write queue grow to the mark, where the client stops writing. */
  fx.big_len = 4 * BIG;
  cli_write_more(&fx);
  ck_test_run_until(&fx.loop, &fx.blocked, 20000);
  /* Backpressure engaged: the queue (TLS layer + TCP) reached the mark
   * with data still unsent. (It may drain again at once: do not re-read.) */
  assert_true(fx.sent < fx.big_len);
  /* The server starts reading and echoing (with its own backpressure). */
  assert_int_equal(ck_conn_read_start(fx.srv.conn, srv_read), CK_OK);
  deadline = uv_now(&fx.loop) + 120000;
  while (fx.cli.rxlen < fx.big_len && !fx.cli.ended) {
    uv_run(&fx.loop, UV_RUN_ONCE);
    assert_true(uv_now(&fx.loop) < deadline);
  }
  assert_int_equal(fx.cli.bad, 0);
  assert_int_equal(fx.cli.rxlen, fx.big_len);
  assert_int_equal(fx.srv.rxlen, fx.big_len);
  assert_int_equal(fx.sent, fx.big_len);
  assert_int_equal(fx.paused, 0); /* the server resumed after every pause */
  fx_finish(&fx);
}

static void dummy_hs(ck_conn *c, ck_err status, const ck_errctx *err,
                     void *arg) {
  int *called = arg;
  (void)c;
  (void)status;
  (void)err;
  *called = 1;
}

static void connect_failed_hs(ck_conn *c, ck_err status, const ck_errctx *err,
                              void *arg) {
  fixture *fx = arg;

  assert_null(c);
  assert_int_not_equal(status, CK_OK);
  assert_non_null(err);
  fx->cli.hs = status;
  fx->cli.hs_done = 1;
  fx->cli.closed = 1;
}

static void test_connect_errors(void **state) {
  fixture fx;
  ck_tls_config s = server_cfg("server-ec"), c = client_cfg();
  ck_errctx err = CK_ERRCTX_INIT;
  int called = 0;
  char addr[64];
  ck_listener *tmp = NULL;
  int port;

  (void)state;
  fx_start(&fx, &s);
  assert_int_equal(ck_tls_ctx_new(&c, &fx.cctx, &err), CK_OK);
  assert_int_equal(
      ck_tls_connect(&fx.loop, "no-port", fx.cctx, dummy_hs, &called, &err),
      CK_ERR_ADDR);
  /* A server context cannot connect. */
  assert_int_equal(
      ck_tls_connect(&fx.loop, "127.0.0.1:1", fx.sctx, dummy_hs, &called, &err),
      CK_ERR_INVAL);
  /* Nobody listening: the callback reports the connect failure. */
  assert_int_equal(
      ck_listener_start(&fx.loop, "127.0.0.1:0", on_accept, &fx, &tmp, &err),
      CK_OK);
  port = ck_listener_port(tmp);
  ck_listener_close(tmp, NULL);
  uv_run(&fx.loop, UV_RUN_NOWAIT);
  snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
  assert_int_equal(
      ck_tls_connect(&fx.loop, addr, fx.cctx, connect_failed_hs, &fx, &err),
      CK_OK);
  ck_test_run_until(&fx.loop, &fx.cli.hs_done, 5000);
  assert_int_not_equal(fx.cli.hs, CK_OK);
  assert_int_equal(called, 0);
  fx_finish(&fx);
}

/* A trimmed agent build (CK_DISABLE_TLS_SERVER) has no server role to test
 * against in-process; test_tls_interop runs its client against s_server. */
static int server_supported(void) {
  ck_tls_config s = server_cfg("server-ec");
  ck_tls_ctx *ctx = NULL;
  ck_err rc = ck_tls_ctx_new(&s, &ctx, NULL);

  ck_tls_ctx_free(ctx);
  return rc != CK_ERR_UNSUPPORTED;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_echo),
      cmocka_unit_test(test_rsa_by_ip),
      cmocka_unit_test(test_client_cert_required),
      cmocka_unit_test(test_client_cert_optional),
      cmocka_unit_test(test_pinning),
      cmocka_unit_test(test_ca_pinning),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_handshake_timeout),
      cmocka_unit_test(test_not_tls_peer),
      cmocka_unit_test(test_large_transfer),
      cmocka_unit_test(test_connect_errors),
  };

  printf("TLS backend: %s\n", ck_tls_backend());
  if (!server_supported()) {
    printf("skipped: the TLS server role is left out of this build "
           "(CK_DISABLE_TLS_SERVER)\n");
    return 0;
  }
  return cmocka_run_group_tests(tests, NULL, NULL);
}
