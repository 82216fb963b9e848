/* test_ipc.c — the priv <-> net channel: frames both ways over a
 * socketpair (including one large enough to arrive in many reads), and
 * every way a peer can break it: an oversized length prefix, garbage, a
 * message for the wrong direction, the peer closing. Each closes the
 * channel with the reason and never crashes. */
#include "tests/testutil.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/run/ipc.h"

typedef struct side {
  int n_msg;
  ck_wire_type last_type;
  uint64_t last_id;
  size_t last_n_findings;
  char last_state[32];
  int closed;
  ck_err why;
} side;

static void on_msg(ck_ipc *ipc, const ck_wire_msg *m, void *arg) {
  side *s = arg;

  (void)ipc;
  s->n_msg++;
  s->last_type = m->type;
  s->last_id = m->id;
  if (m->type == CK_WIRE_EVENT)
    snprintf(s->last_state, sizeof s->last_state, "%s", m->u.event.new_state);
  if (m->type == CK_WIRE_INVENTORY)
    s->last_n_findings = m->u.inventory.n_findings;
}

static void on_close(ck_ipc *ipc, ck_err why, void *arg) {
  side *s = arg;

  (void)ipc;
  s->closed = 1;
  s->why = why;
}

static void test_round_trip(void **state) {
  uv_loop_t loop;
  int sv[2];
  side ps = {0}, ns = {0};
  ck_ipc *priv = NULL, *net = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_msg m;
  ck_wire_finding *f;
  size_t i, nf = 3000;
  (void)state;

  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert_int_equal(ck_ipc_open(&loop, sv[0], CK_WIRE_TO_AGENT, on_msg,
                               on_close, &ps, &priv, &err),
                   CK_OK);
  assert_int_equal(ck_ipc_open(&loop, sv[1], CK_WIRE_TO_COORD, on_msg,
                               on_close, &ns, &net, &err),
                   CK_OK);

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_EVENT;
  m.id = 7;
  m.u.event.kind = CK_WIRE_EVENT_STATE;
  m.u.event.cert_id = "web";
  m.u.event.new_state = "MONITORING";
  m.u.event.at = 1;
  assert_int_equal(ck_ipc_send(priv, &m, &err), CK_OK);
  ck_test_run_until(&loop, &ns.n_msg, 5000);
  assert_int_equal(ns.last_type, CK_WIRE_EVENT);
  assert_int_equal(ns.last_id, 7);
  assert_string_equal(ns.last_state, "MONITORING");

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_ACK;
  m.id = 7;
  assert_int_equal(ck_ipc_send(net, &m, &err), CK_OK);
  ck_test_run_until(&loop, &ps.n_msg, 5000);
  assert_int_equal(ps.last_type, CK_WIRE_ACK);

  /* a large inventory: many reads on the other side */
  f = calloc(nf, sizeof *f);
  assert_non_null(f);
  for (i = 0; i < nf; i++)
    f[i].path = "/etc/ssl/certs/some-rather-long-file-name-for-bulk.pem";
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_INVENTORY;
  m.id = 8;
  m.u.inventory.mode = CK_WIRE_INV_FULL;
  m.u.inventory.seq = 1;
  m.u.inventory.findings = f;
  m.u.inventory.n_findings = nf;
  ns.n_msg = 0;
  assert_int_equal(ck_ipc_send(priv, &m, &err), CK_OK);
  assert_true(ck_ipc_pending(priv) > 0 || ns.n_msg == 0);
  ck_test_run_until(&loop, &ns.n_msg, 5000);
  assert_int_equal(ns.last_type, CK_WIRE_INVENTORY);
  assert_int_equal(ns.last_n_findings, nf);
  free(f);

  /* an encode error is reported, the channel stays usable */
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_EVENT;
  m.id = 9;
  assert_int_equal(ck_ipc_send(priv, &m, &err), CK_ERR_INVAL);
  assert_false(ps.closed);

  /* priv closes: net learns CK_ERR_CLOSED */
  ck_ipc_close(priv);
  ck_test_run_until(&loop, &ns.closed, 5000);
  assert_int_equal(ns.why, CK_ERR_CLOSED);
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_ACK;
  m.id = 1;
  assert_int_equal(ck_ipc_send(net, &m, &err), CK_ERR_CLOSED);
  ck_ipc_close(net);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* Opens an ipc on one end, writes raw bytes into the other; returns the
 * close reason. */
static ck_err feed_raw(ck_wire_dir role, const void *bytes, size_t n) {
  uv_loop_t loop;
  int sv[2];
  side s = {0};
  ck_ipc *ipc = NULL;
  ck_errctx err = CK_ERRCTX_INIT;

  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert_int_equal(ck_ipc_open(&loop, sv[0], role, on_msg, on_close, &s, &ipc,
                               &err),
                   CK_OK);
  assert_int_equal(write(sv[1], bytes, n), (ssize_t)n);
  ck_test_run_until(&loop, &s.closed, 5000);
  assert_int_equal(s.n_msg, 0);
  ck_ipc_close(ipc);
  close(sv[1]);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  return s.why;
}

static void test_bad_frames(void **state) {
  static const uint8_t oversized[] = {0x7f, 0xff, 0xff, 0xff, 0x80};
  static const uint8_t garbage[] = {0, 0, 0, 3, 'a', 'b', 'c'};
  static const uint8_t empty[] = {0, 0, 0, 0};
  uint8_t *frame = NULL;
  size_t len = 0;
  ck_wire_msg m;
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  assert_int_equal(feed_raw(CK_WIRE_TO_COORD, oversized, sizeof oversized),
                   CK_ERR_WIRE_TOO_BIG);
  assert_true(feed_raw(CK_WIRE_TO_COORD, garbage, sizeof garbage) <=
              CK_ERR_WIRE_TRUNCATED);
  assert_true(feed_raw(CK_WIRE_TO_AGENT, empty, sizeof empty) < 0);

  /* a well-formed `cert` sent to the net side (which receives only what
   * the agent sends) is refused */
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_CERT;
  m.id = 3;
  m.u.cert.cert.data = (const uint8_t *)"x";
  m.u.cert.cert.len = 1;
  assert_int_equal(ck_wire_encode(&m, NULL, &frame, &len, &err), CK_OK);
  assert_int_equal(feed_raw(CK_WIRE_TO_COORD, frame, len),
                   CK_ERR_WIRE_UNKNOWN_TYPE);
  free(frame);
}

static void test_bad_args(void **state) {
  uv_loop_t loop;
  ck_ipc *ipc = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  int sv[2];
  (void)state;

  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert_int_equal(ck_ipc_open(&loop, sv[0], CK_WIRE_BOTH, on_msg, on_close,
                               NULL, &ipc, &err),
                   CK_ERR_INVAL);
  assert_null(ipc);
  assert_int_equal(ck_ipc_open(&loop, -1, CK_WIRE_TO_AGENT, on_msg, on_close,
                               NULL, &ipc, &err),
                   CK_ERR_INVAL);
  close(sv[1]);
  ck_ipc_close(NULL);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_bad_frames),
      cmocka_unit_test(test_bad_args),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
