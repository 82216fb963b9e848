/* test_post.c — commands posted to the gateway from other threads
 * (ck_gateway_post_command / ck_gateway_command_wait): a worker thread's
 * command reaches the connected agent and its ack lands in the audit
 * trail; an agent that is not connected gives CK_ERR_NOT_FOUND; the queue
 * is bounded (CK_ERR_BUSY); a wait that times out leaves the late outcome
 * to be freed by the loop (ASan); close fails what is queued and refuses
 * further posts. */
#include "tests/unit/gateway/gw_fixture.h"

/* A worker thread running ck_gateway_command_wait. */
typedef struct waiter {
  const char *agent_id;
  ck_wire_command cmd;
  unsigned timeout_ms;
  ck_err rc;
  uint64_t id;
  char sid[17];
  char msg[256];
  volatile int done;
  uv_async_t wake; /* wakes the loop once done is set */
} waiter;

static void waiter_main(void *arg) {
  waiter *w = arg;
  ck_errctx err = CK_ERRCTX_INIT;

  w->rc = ck_gateway_command_wait(fx.gw, w->agent_id, &w->cmd, "token:test",
                                  w->timeout_ms, &w->id, w->sid, &err);
  snprintf(w->msg, sizeof w->msg, "%s", ck_errctx_msg(&err));
  w->done = 1;
  uv_async_send(&w->wake);
}

static void on_wake(uv_async_t *h) { (void)h; }

/* Runs w on a thread while the loop turns; returns once it finished. */
static void run_waiter(waiter *w) {
  uv_thread_t t;

  assert_int_equal(uv_async_init(&fx.loop, &w->wake, on_wake), 0);
  assert_int_equal(uv_thread_create(&t, waiter_main, w), 0);
  ck_test_run_until(&fx.loop, &w->done, GW_WAIT_MS);
  assert_int_equal(uv_thread_join(&t), 0);
  uv_close((uv_handle_t *)&w->wake, NULL);
  uv_run(&fx.loop, UV_RUN_NOWAIT); /* the close callback */
}

typedef struct counter {
  int n;
  int ok, not_found, closed;
  volatile int all; /* n reached want */
  int want;
} counter;

static void on_posted(ck_err status, uint64_t id, const char *session,
                      const char *msg, void *arg) {
  counter *c = arg;

  (void)id;
  (void)session;
  assert_non_null(msg);
  c->n++;
  if (status == CK_OK)
    c->ok++;
  else if (status == CK_ERR_NOT_FOUND)
    c->not_found++;
  else if (status == CK_ERR_CLOSED)
    c->closed++;
  if (c->n >= c->want)
    c->all = 1;
}

/* The agent.command.answer event whose details contain needle (copied
 * into a), or 0. */
static int find_answer(ck_arena *a, const char *needle, ck_audit_event *out) {
  ck_store_page pg;
  ck_audit_event *items;
  size_t n, i;

  memset(&pg, 0, sizeof pg);
  pg.limit = CK_STORE_PAGE_MAX;
  assert_int_equal(ck_store_audit_list(fx.rt.store, 0, &pg, a, &items, &n,
                                       NULL),
                   CK_OK);
  for (i = 0; i < n; i++)
    if (strcmp(items[i].action, "agent.command.answer") == 0 &&
        strstr(items[i].details, needle) != NULL) {
      *out = items[i];
      return 1;
    }
  return 0;
}

static void test_post_from_thread(void **state) {
  ck_wire_kv kv = {"force", "true"};
  ck_audit_event ev;
  ck_wire_msg m, ack;
  ck_arena *a = NULL;
  gw_ident id;
  waiter w, w2;
  gwc c;

  (void)state;
  gw_enroll_agent(&fx, "web", "tls-server", ".web.test", &id);
  /* not connected */
  memset(&w, 0, sizeof w);
  w.agent_id = id.agent_id;
  w.cmd.action = CK_WIRE_ACT_RESCAN;
  w.timeout_ms = GW_WAIT_MS;
  run_waiter(&w);
  assert_int_equal(w.rc, CK_ERR_NOT_FOUND);
  assert_non_null(strstr(w.msg, "not connected"));

  /* connected: the command arrives with the id the waiter got */
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  gwc_expect(&c, CK_WIRE_WELCOME, gwc_hello(&c, id.agent_id), &m, &a);
  ck_arena_free(a);
  memset(&w, 0, sizeof w);
  w.agent_id = id.agent_id;
  w.cmd.action = CK_WIRE_ACT_RENEW;
  w.cmd.target = "managed-1";
  w.cmd.args.v = &kv;
  w.cmd.args.n = 1;
  w.cmd.data.data = (const uint8_t *)"payload";
  w.cmd.data.len = 7;
  w.timeout_ms = GW_WAIT_MS;
  run_waiter(&w);
  assert_int_equal(w.rc, CK_OK);
  assert_true(w.id > 0);
  assert_int_equal(strlen(w.sid), 16);
  gwc_expect(&c, CK_WIRE_COMMAND, w.id, &m, &a);
  assert_int_equal(m.u.command.action, CK_WIRE_ACT_RENEW);
  assert_string_equal(m.u.command.target, "managed-1");
  assert_int_equal(m.u.command.args.n, 1);
  assert_string_equal(m.u.command.args.v[0].key, "force");
  assert_string_equal(m.u.command.args.v[0].value, "true");
  assert_int_equal(m.u.command.data.len, 7);
  assert_memory_equal(m.u.command.data.data, "payload", 7);
  ck_arena_free(a);
  /* a second command the agent leaves unanswered */
  memset(&w2, 0, sizeof w2);
  w2.agent_id = id.agent_id;
  w2.cmd.action = CK_WIRE_ACT_RESCAN;
  w2.timeout_ms = GW_WAIT_MS;
  run_waiter(&w2);
  assert_int_equal(w2.rc, CK_OK);
  assert_true(w2.id != w.id);
  gwc_expect(&c, CK_WIRE_COMMAND, w2.id, &m, &a);
  ck_arena_free(a);
  memset(&ack, 0, sizeof ack);
  ack.type = CK_WIRE_ACK;
  ack.id = w.id;
  ack.u.ack.detail = "renewing";
  gwc_send(&c, &ack);
  /* hello/welcome: the ack before it has been handled */
  gwc_expect(&c, CK_WIRE_WELCOME, gwc_hello(&c, id.agent_id), &m, &a);
  ck_arena_free(a);
  gwc_close(&c);
  /* the close waits for the audit write submitted on the ack */
  ck_gateway_close(fx.gw, gw_fx_on_closed, &fx);
  ck_test_run_until(&fx.loop, &fx.gw_closed, GW_WAIT_MS);
  a = ck_arena_new(4096);
  assert_true(find_answer(a, "\"status\":\"closed\"", &ev));
  assert_non_null(strstr(ev.details, "\"action\":\"rescan\""));
  assert_true(find_answer(a, "\"status\":\"ack\"", &ev));
  assert_string_equal(ev.object_type, "agent");
  assert_string_equal(ev.object_id, id.agent_id);
  assert_non_null(strstr(ev.actor, id.agent_id));
  assert_non_null(strstr(ev.details, "\"status\":\"ack\""));
  assert_non_null(strstr(ev.details, "\"detail\":\"renewing\""));
  assert_non_null(strstr(ev.details, "\"requested_by\":\"token:test\""));
  assert_non_null(strstr(ev.details, w.sid));
  ck_arena_free(a);
  gw_ident_clear(&id);
}

static void test_post_bounded(void **state) {
  ck_wire_command cmd;
  counter cnt;
  int i;

  (void)state;
  memset(&cmd, 0, sizeof cmd);
  memset(&cnt, 0, sizeof cnt);
  cmd.action = CK_WIRE_ACT_RESCAN;
  cnt.want = CK_GATEWAY_POST_MAX;
  /* the loop does not run: the queue fills up */
  for (i = 0; i < CK_GATEWAY_POST_MAX; i++)
    assert_int_equal(ck_gateway_post_command(fx.gw, "0123456789abcdef", &cmd,
                                             NULL, on_posted, &cnt, NULL),
                     CK_OK);
  assert_int_equal(ck_gateway_post_command(fx.gw, "0123456789abcdef", &cmd,
                                           NULL, on_posted, &cnt, NULL),
                   CK_ERR_BUSY);
  /* bad input is refused before queueing */
  cmd.action = CK_WIRE_ACT_UNKNOWN;
  assert_int_equal(ck_gateway_post_command(fx.gw, "0123456789abcdef", &cmd,
                                           NULL, on_posted, &cnt, NULL),
                   CK_ERR_INVAL);
  cmd.action = CK_WIRE_ACT_RESCAN;
  assert_int_equal(ck_gateway_post_command(fx.gw, "", &cmd, NULL, on_posted,
                                           &cnt, NULL),
                   CK_ERR_INVAL);
  ck_test_run_until(&fx.loop, &cnt.all, GW_WAIT_MS);
  assert_int_equal(cnt.not_found, CK_GATEWAY_POST_MAX);
  /* drained: room again */
  cnt.want++;
  cnt.all = 0;
  assert_int_equal(ck_gateway_post_command(fx.gw, "0123456789abcdef", &cmd,
                                           NULL, on_posted, &cnt, NULL),
                   CK_OK);
  ck_test_run_until(&fx.loop, &cnt.all, GW_WAIT_MS);
}

static void test_post_timeout_and_close(void **state) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_command cmd;
  counter cnt;
  uint64_t id = 0;

  (void)state;
  memset(&cmd, 0, sizeof cmd);
  memset(&cnt, 0, sizeof cnt);
  cmd.action = CK_WIRE_ACT_CONFIG;
  /* on this thread the loop cannot take it: the wait times out, and the
   * outcome that comes later is freed by the loop (ASan checks) */
  assert_int_equal(ck_gateway_command_wait(fx.gw, "0123456789abcdef", &cmd,
                                           "token:t", 20, &id, NULL, &err),
                   CK_ERR_TIMEOUT);
  assert_non_null(strstr(ck_errctx_msg(&err), "did not take"));
  /* queued when the gateway closes: failed with CK_ERR_CLOSED */
  cnt.want = 1;
  assert_int_equal(ck_gateway_post_command(fx.gw, "0123456789abcdef", &cmd,
                                           NULL, on_posted, &cnt, NULL),
                   CK_OK);
  ck_gateway_close(fx.gw, gw_fx_on_closed, &fx);
  assert_int_equal(cnt.closed, 1);
  assert_int_equal(ck_gateway_post_command(fx.gw, "0123456789abcdef", &cmd,
                                           NULL, on_posted, &cnt, NULL),
                   CK_ERR_CLOSED);
  assert_int_equal(ck_gateway_command_wait(fx.gw, "0123456789abcdef", &cmd,
                                           NULL, 1000, NULL, NULL, NULL),
                   CK_ERR_CLOSED);
  ck_test_run_until(&fx.loop, &fx.gw_closed, GW_WAIT_MS);
  assert_int_equal(cnt.n, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_post_from_thread, gw_setup, gw_teardown),
      cmocka_unit_test_setup_teardown(test_post_bounded, gw_setup, gw_teardown),
      cmocka_unit_test_setup_teardown(test_post_timeout_and_close, gw_setup,
                                      gw_teardown),
  };

  ck_log_configure(CK_LOG_OPS, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
