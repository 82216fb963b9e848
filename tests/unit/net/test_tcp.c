/* test_tcp.c — the TCP half of conn.h: address parsing, listener on an
 * ephemeral port, client connect, both directions of data, write queue
 * accounting, graceful close (queued writes flushed before the FIN), and
 * connect failures. Everything runs on one loop in this thread. */
#include "tests/testutil.h"

#include <string.h>

#include "common/net/conn.h"

/* ---- ck_net_parse_addr ------------------------------------------------- */

static void test_parse_addr(void **state) {
  struct sockaddr_storage ss;
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  assert_int_equal(ck_net_parse_addr("127.0.0.1:8080", &ss, &err), CK_OK);
  assert_int_equal(ss.ss_family, AF_INET);
  assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8080);
  assert_int_equal(ck_net_parse_addr("[::1]:443", &ss, &err), CK_OK);
  assert_int_equal(ss.ss_family, AF_INET6);
  assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 443);
  assert_int_equal(ck_net_parse_addr("0.0.0.0:0", &ss, &err), CK_OK);
  assert_int_equal(ck_net_parse_addr("localhost:1", &ss, &err), CK_OK);
  assert_int_equal(ss.ss_family, AF_INET);

  static const char *const bad[] = {
      "",           "127.0.0.1",       "127.0.0.1:",   "127.0.0.1:65536",
      "1.2.3.4:8x", "::1:443",         "[::1]443",     "[::1",
      ":80",        "example.com:443", "999.1.1.1:80", "[]:80",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_errctx_clear(&err);
    assert_int_equal(ck_net_parse_addr(bad[i], &ss, &err), CK_ERR_ADDR);
    assert_true(strlen(err.msg) > 0);
  }
}

/* ---- loopback fixture -------------------------------------------------- */

typedef struct side {
  ck_conn *c;       /* the conn, NULL once closed */
  uint8_t *got;     /* bytes received */
  size_t got_len, got_cap;
  ck_err end;       /* status of the final read callback */
  int ended;        /* got the final read callback */
  int closed;       /* close callback ran */
  int writes_done;  /* write callbacks with CK_OK */
} side;

typedef struct fixture {
  uv_loop_t loop;
  ck_listener *l;
  side srv, cli;
  int connected;
  ck_err connect_status;
  int listener_closed;
} fixture;

static void on_read(ck_conn *c, const uint8_t *data, size_t len,
                    ck_err status) {
  side *s = c->data;

  if (status != CK_OK) {
    s->ended = 1;
    s->end = status;
    return;
  }
  if (s->got_len + len > s->got_cap) {
    s->got_cap = (s->got_len + len) * 2;
    s->got = realloc(s->got, s->got_cap);
    assert_non_null(s->got);
  }
  memcpy(s->got + s->got_len, data, len);
  s->got_len += len;
}

static void on_write(ck_conn *c, ck_err status, void *arg) {
  side *s = arg;
  (void)c;
  if (status == CK_OK)
    s->writes_done++;
}

static void on_closed(ck_conn *c) {
  side *s = c->data;
  s->closed = 1;
  s->c = NULL;
}

static void on_accept(ck_listener *l, ck_conn *c) {
  fixture *f = ck_listener_data(l);

  assert_null(f->srv.c);
  f->srv.c = c;
  c->data = &f->srv;
  assert_int_equal(ck_conn_read_start(c, on_read), CK_OK);
}

static void on_connect(ck_conn *c, ck_err status, void *arg) {
  fixture *f = arg;

  f->connected = 1;
  f->connect_status = status;
  if (c != NULL) {
    f->cli.c = c;
    c->data = &f->cli;
    assert_int_equal(ck_conn_read_start(c, on_read), CK_OK);
  }
}

static void on_listener_closed(void *data) {
  ((fixture *)data)->listener_closed = 1;
}

static fixture *fixture_up(void) {
  fixture *f = calloc(1, sizeof *f);
  ck_errctx err = CK_ERRCTX_INIT;
  char addr[64];

  assert_non_null(f);
  uv_loop_init(&f->loop);
  assert_int_equal(ck_listener_start(&f->loop, "127.0.0.1:0", on_accept, f,
                                     &f->l, &err),
                   CK_OK);
  assert_true(ck_listener_port(f->l) > 0);
  snprintf(addr, sizeof addr, "127.0.0.1:%d", ck_listener_port(f->l));
  assert_int_equal(ck_tcp_connect(&f->loop, addr, on_connect, f, &err), CK_OK);
  ck_test_run_until(&f->loop, &f->connected, 5000);
  assert_int_equal(f->connect_status, CK_OK);
  while (f->srv.c == NULL)
    uv_run(&f->loop, UV_RUN_ONCE);
  return f;
}

static void fixture_down(fixture *f) {
  if (f->cli.c != NULL)
    ck_conn_close(f->cli.c, on_closed);
  if (f->srv.c != NULL)
    ck_conn_close(f->srv.c, on_closed);
  ck_listener_close(f->l, on_listener_closed);
  ck_test_run_until(&f->loop, &f->listener_closed, 5000);
  ck_test_run_until(&f->loop, &f->cli.closed, 5000);
  ck_test_run_until(&f->loop, &f->srv.closed, 5000);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f->srv.got);
  free(f->cli.got);
  free(f);
}

/* Runs the loop until s has received n bytes (bounded). */
static void wait_bytes(fixture *f, side *s, size_t n) {
  uint64_t deadline = uv_now(&f->loop) + 10000;

  while (s->got_len < n && !s->ended) {
    uv_run(&f->loop, UV_RUN_ONCE);
    uv_update_time(&f->loop);
    assert_true(uv_now(&f->loop) < deadline);
  }
}

static void test_echo_both_ways(void **state) {
  fixture *f = fixture_up();
  uv_buf_t bufs[2];
  char scratch[8];
  (void)state;

  /* peer strings are filled on both ends */
  assert_non_null(strstr(f->cli.c->peer, "127.0.0.1:"));
  assert_non_null(strstr(f->srv.c->peer, "127.0.0.1:"));
  assert_int_equal(f->cli.c->is_tls, 0);
  size_t n = 99;
  assert_null(ck_conn_peer_cert_der(f->cli.c, &n));
  assert_int_equal(n, 0);

  /* the caller's buffers may be reused as soon as write returns */
  memcpy(scratch, "hello, ", 7);
  bufs[0] = uv_buf_init(scratch, 7);
  bufs[1] = uv_buf_init((char *)"server", 6);
  assert_int_equal(ck_conn_write(f->cli.c, bufs, 2, on_write, &f->cli), CK_OK);
  memset(scratch, 'X', sizeof scratch);
  wait_bytes(f, &f->srv, 13);
  assert_int_equal(f->srv.got_len, 13);
  assert_memory_equal(f->srv.got, "hello, server", 13);

  bufs[0] = uv_buf_init((char *)"hi client", 9);
  assert_int_equal(ck_conn_write(f->srv.c, bufs, 1, NULL, NULL), CK_OK);
  wait_bytes(f, &f->cli, 9);
  assert_memory_equal(f->cli.got, "hi client", 9);
  assert_int_equal(f->cli.writes_done, 1);
  fixture_down(f);
}

/* A big write cannot go to the kernel at once: the rest is reported by
 * write_queue_size until the reader drains it. Then a close right after a
 * big write still delivers every byte, followed by end of stream. */
static void test_queue_and_graceful_close(void **state) {
  fixture *f = fixture_up();
  size_t big = 8u << 20, i;
  uint8_t *data = malloc(big);
  uv_buf_t b;
  (void)state;

  assert_non_null(data);
  for (i = 0; i < big; i++)
    data[i] = (uint8_t)(i * 7 + 3);
  ck_conn_read_stop(f->srv.c); /* the peer does not read for now */
  b = uv_buf_init((char *)data, (unsigned)big);
  assert_int_equal(ck_conn_write(f->cli.c, &b, 1, on_write, &f->cli), CK_OK);
  assert_true(ck_conn_write_queue_size(f->cli.c) > 0);
  ck_conn_close(f->cli.c, on_closed); /* must flush first */
  assert_int_equal(ck_conn_write(f->cli.c, &b, 1, NULL, NULL), CK_ERR_CLOSED);
  assert_int_equal(ck_conn_read_start(f->srv.c, on_read), CK_OK);
  ck_test_run_until(&f->loop, &f->srv.ended, 10000);
  assert_int_equal(f->srv.end, CK_ERR_CLOSED);
  assert_int_equal(f->srv.got_len, big);
  assert_memory_equal(f->srv.got, data, big);
  assert_int_equal(f->cli.writes_done, 1);
  /* the client's close completes once the server closes too */
  ck_conn_close(f->srv.c, on_closed);
  ck_test_run_until(&f->loop, &f->cli.closed, 5000);
  free(data);
  fixture_down(f);
}

/* Bytes that arrive while reading is stopped are delivered after
 * read_start, followed by end of stream (CK_ERR_CLOSED) for a FIN. */
static void test_read_stop_and_eof(void **state) {
  fixture *f = fixture_up();
  uv_buf_t b = uv_buf_init((char *)"abc", 3);
  (void)state;

  ck_conn_read_stop(f->srv.c);
  assert_int_equal(ck_conn_write(f->cli.c, &b, 1, NULL, NULL), CK_OK);
  ck_conn_close(f->cli.c, on_closed);
  assert_int_equal(ck_conn_read_start(f->srv.c, on_read), CK_OK);
  ck_test_run_until(&f->loop, &f->srv.ended, 5000);
  assert_int_equal(f->srv.got_len, 3);
  assert_int_equal(f->srv.end, CK_ERR_CLOSED);
  fixture_down(f);
}

static void test_connect_refused(void **state) {
  uv_loop_t loop;
  ck_listener *l = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  fixture f;
  char addr[64];
  int port;
  (void)state;

  memset(&f, 0, sizeof f);
  uv_loop_init(&loop);
  /* find a free port, then close it so nothing listens there */
  assert_int_equal(
      ck_listener_start(&loop, "127.0.0.1:0", on_accept, &f, &l, &err), CK_OK);
  port = ck_listener_port(l);
  ck_listener_close(l, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
  assert_int_equal(ck_tcp_connect(&loop, addr, on_connect, &f, &err), CK_OK);
  ck_test_run_until(&loop, &f.connected, 5000);
  assert_int_equal(f.connect_status, CK_ERR_NET);
  assert_null(f.cli.c);

  /* errors reported synchronously never call the callback */
  f.connected = 0;
  assert_int_equal(ck_tcp_connect(&loop, "127.0.0.1", on_connect, &f, &err),
                   CK_ERR_ADDR);
  assert_int_equal(ck_tcp_connect(&loop, "127.0.0.1:0", on_connect, &f, &err),
                   CK_ERR_ADDR);
  /* binding a port already in use fails with a message naming it */
  assert_int_equal(
      ck_listener_start(&loop, "127.0.0.1:0", on_accept, &f, &l, &err), CK_OK);
  snprintf(addr, sizeof addr, "127.0.0.1:%d", ck_listener_port(l));
  ck_listener *l2 = NULL;
  ck_errctx_clear(&err);
  assert_int_not_equal(
      ck_listener_start(&loop, addr, on_accept, &f, &l2, &err), CK_OK);
  assert_null(l2);
  assert_non_null(strstr(err.msg, addr));
  ck_listener_close(l, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(f.connected, 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_addr),
      cmocka_unit_test(test_echo_both_ways),
      cmocka_unit_test(test_queue_and_graceful_close),
      cmocka_unit_test(test_read_stop_and_eof),
      cmocka_unit_test(test_connect_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
