/* test_reports.c — what the agent daemon relies on from the gateway:
 * exactly-once events (the frame id is the agent's outbox sequence: a
 * resent or older id is acknowledged "duplicate" and recorded once; each
 * agent has its own counter; a new session of the same agent keeps it),
 * `renew_at` on `cert` answers (renewal and identity), and a `renew`
 * command carried through to a renewal: command pushed, agent acks, its
 * `csr` for the target comes back as `cert` for that managed id. */
#include "tests/unit/gateway/gw_fixture.h"

#include "coordinator/policy/profile.h"

/* Audit events with this action and object id. */
static size_t audit_count(const char *action, const char *object_id) {
  ck_arena *a = ck_arena_new(65536);
  ck_store_page pg;
  ck_audit_event *items;
  size_t n, i, count = 0;
  int64_t after = 0;

  assert_non_null(a);
  for (;;) {
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    ck_arena_reset(a);
    assert_int_equal(ck_store_audit_list(fx.rt.store, after, &pg, a, &items,
                                         &n, NULL),
                     CK_OK);
    for (i = 0; i < n; i++)
      if (strcmp(items[i].action, action) == 0 &&
          strcmp(items[i].object_id, object_id) == 0)
        count++;
    if (n < CK_STORE_PAGE_MAX)
      break;
    after = items[n - 1].seq;
  }
  ck_arena_free(a);
  return count;
}

/* Sends an event with wire id seq and waits for its ack; returns whether
 * the ack said "duplicate". */
static int send_event(gwc *c, uint64_t seq, const char *cert_id,
                      const char *state) {
  ck_wire_msg m, r;
  ck_arena *a = NULL;
  int dup;

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_EVENT;
  m.id = seq;
  m.u.event.kind = CK_WIRE_EVENT_STATE;
  m.u.event.cert_id = cert_id;
  m.u.event.old_state = "RELOADING";
  m.u.event.new_state = state;
  m.u.event.at = 1700000000;
  gwc_send(c, &m);
  gwc_expect(c, CK_WIRE_ACK, seq, &r, &a);
  dup = r.u.ack.detail != NULL && strcmp(r.u.ack.detail, "duplicate") == 0;
  ck_arena_free(a);
  return dup;
}

static int64_t report_seq(const char *agent_id) {
  ck_arena *a = ck_arena_new(4096);
  ck_store_agent ag;
  int64_t seq;

  assert_int_equal(ck_store_agent_get(fx.rt.store, agent_id, a, &ag, NULL),
                   CK_OK);
  seq = ag.report_seq;
  ck_arena_free(a);
  return seq;
}

static void test_events_exactly_once(void **state) {
  gw_ident id, other;
  ck_wire_msg m;
  gwc c, c2;

  (void)state;
  gw_enroll_agent(&fx, "web", "tls-server", ".web.test", &id);
  gw_enroll_agent(&fx, "web", "tls-server", ".web.test", &other);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  gwc_welcome(&c, id.agent_id);
  assert_false(send_event(&c, 5, "mc-once", "MONITORING"));
  assert_int_equal(audit_count("managed.state", "mc-once"), 1);
  /* the same id again, then an older one: acknowledged, not recorded */
  assert_true(send_event(&c, 5, "mc-once", "MONITORING"));
  assert_true(send_event(&c, 3, "mc-once", "MONITORING"));
  assert_int_equal(audit_count("managed.state", "mc-once"), 1);
  assert_int_equal(report_seq(id.agent_id), 5);
  /* the next one is recorded */
  assert_false(send_event(&c, 6, "mc-once", "RENEWING"));
  assert_int_equal(audit_count("managed.state", "mc-once"), 2);
  /* id 0 is no outbox sequence: refused, not recorded */
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_EVENT;
  m.u.event.kind = CK_WIRE_EVENT_STATE;
  m.u.event.cert_id = "mc-once";
  m.u.event.new_state = "MONITORING";
  m.u.event.at = 1700000000;
  {
    uint8_t *buf = NULL;
    size_t blen = 0;
    assert_int_equal(ck_wire_encode(&m, NULL, &buf, &blen, NULL), CK_OK);
    gwc_send_raw(&c, buf, blen); /* id 0: gwc_send would number it */
    free(buf);
  }
  gwc_expect_error(&c, CK_ERR_INVAL, 0, "outbox sequence", 0);
  gwc_close(&c);

  /* a new session of the same agent resends what it had not seen acked */
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  gwc_welcome(&c, id.agent_id);
  assert_true(send_event(&c, 6, "mc-once", "RENEWING"));
  assert_false(send_event(&c, 7, "mc-once", "MONITORING"));
  assert_int_equal(audit_count("managed.state", "mc-once"), 3);

  /* another agent has its own counter, starting low again */
  assert_int_equal(gwc_open(&fx, &c2, &other), CK_OK);
  gwc_welcome(&c2, other.agent_id);
  assert_false(send_event(&c2, 1, "mc-other", "MONITORING"));
  assert_true(send_event(&c2, 1, "mc-other", "MONITORING"));
  assert_false(send_event(&c2, 2, "mc-other", "MONITORING"));
  assert_int_equal(audit_count("managed.state", "mc-other"), 2);
  assert_int_equal(report_seq(other.agent_id), 2);
  assert_int_equal(report_seq(id.agent_id), 7);
  gwc_close(&c2);
  gwc_close(&c);
  gw_ident_clear(&id);
  gw_ident_clear(&other);
}

/* Two sessions of one agent sending the same events at once (the old
 * session still up while the reconnected one resends): each id recorded
 * once. */
static void test_events_two_sessions(void **state) {
  gw_ident id;
  ck_wire_msg m, r;
  ck_arena *a = NULL;
  gwc c1, c2;
  uint64_t seq;
  int dups = 0, i;

  (void)state;
  gw_enroll_agent(&fx, "web", "tls-server", ".web.test", &id);
  assert_int_equal(gwc_open(&fx, &c1, &id), CK_OK);
  assert_int_equal(gwc_open(&fx, &c2, &id), CK_OK);
  gwc_welcome(&c1, id.agent_id);
  gwc_welcome(&c2, id.agent_id);
  for (seq = 1; seq <= 10; seq++) {
    gwc *cs[2] = {&c1, &c2};
    for (i = 0; i < 2; i++) {
      memset(&m, 0, sizeof m);
      m.type = CK_WIRE_EVENT;
      m.id = seq;
      m.u.event.kind = CK_WIRE_EVENT_STATE;
      m.u.event.cert_id = "mc-race";
      m.u.event.new_state = "MONITORING";
      m.u.event.at = 1700000000 + (int64_t)seq;
      gwc_send(cs[i], &m);
    }
  }
  for (i = 0; i < 2; i++) {
    gwc *cc = i == 0 ? &c1 : &c2;
    for (seq = 1; seq <= 10; seq++) {
      gwc_expect(cc, CK_WIRE_ACK, seq, &r, &a);
      if (r.u.ack.detail != NULL && strcmp(r.u.ack.detail, "duplicate") == 0)
        dups++;
      ck_arena_free(a);
    }
  }
  assert_int_equal(dups, 10);
  assert_int_equal(audit_count("managed.state", "mc-race"), 10);
  gwc_close(&c1);
  gwc_close(&c2);
  gw_ident_clear(&id);
}

/* ---- renew command and renew_at ---------------------------------------- */

typedef struct cmd_result {
  volatile int done;
  ck_err status;
} cmd_result;

static void on_cmd(ck_err status, const char *detail, void *arg) {
  cmd_result *r = arg;

  (void)detail;
  r->status = status;
  r->done = 1;
}

static int64_t expected_renew_at(const char *profile_json, int64_t nb,
                                 int64_t na) {
  ck_profile *p = NULL;
  int64_t at;

  assert_int_equal(ck_profile_from_json(profile_json, strlen(profile_json),
                                        &p, NULL),
                   CK_OK);
  at = ck_profile_renew_at(p, nb, na);
  ck_profile_free(p);
  return at;
}

static void test_renew_command(void **state) {
  const char *dns[] = {"app.web.test", NULL};
  ck_wire_command cmd;
  ck_wire_msg m, ack;
  ck_arena *a = NULL;
  cmd_result res;
  const ck_cert_info *ci;
  ck_cert *leaf = NULL;
  ck_key *key;
  uint8_t *der = NULL;
  size_t len = 0;
  uint64_t cid = 0, rid;
  gw_ident id;
  gwc c;

  (void)state;
  gw_enroll_agent(&fx, "web", "tls-server", ".web.test", &id);
  assert_int_equal(gwc_open(&fx, &c, &id), CK_OK);
  gwc_welcome(&c, id.agent_id);
  /* the coordinator pushes renew for managed certificate "web-app" */
  memset(&cmd, 0, sizeof cmd);
  memset(&res, 0, sizeof res);
  cmd.action = CK_WIRE_ACT_RENEW;
  cmd.target = "web-app";
  assert_int_equal(ck_gateway_send_command(fx.gw, id.agent_id, &cmd, on_cmd,
                                           &res, &cid, NULL),
                   CK_OK);
  gwc_expect(&c, CK_WIRE_COMMAND, cid, &m, &a);
  assert_int_equal(m.u.command.action, CK_WIRE_ACT_RENEW);
  assert_string_equal(m.u.command.target, "web-app");
  ck_arena_free(a);
  memset(&ack, 0, sizeof ack);
  ack.type = CK_WIRE_ACK;
  ack.id = cid;
  gwc_send(&c, &ack);
  ck_test_run_until(&fx.loop, &res.done, GW_WAIT_MS);
  assert_int_equal(res.status, CK_OK);
  /* the agent renews it: csr with the target as cert_id */
  key = gw_key("ec-p256");
  gw_csr(key, "app.web.test", dns, &der, &len);
  rid = ck_tagent_send_csr(&c, "web-app", "tls-server", der, len, "command");
  gwc_expect(&c, CK_WIRE_CERT, rid, &m, &a);
  assert_string_equal(m.u.cert.cert_id, "web-app");
  assert_int_equal(ck_cert_parse(m.u.cert.cert.data, m.u.cert.cert.len, &leaf,
                                 NULL),
                   CK_OK);
  ci = ck_cert_get_info(leaf);
  /* renew_at: the tls-server profile's window */
  assert_true(m.u.cert.has_renew_at);
  assert_true(m.u.cert.renew_at > ci->not_before);
  assert_true(m.u.cert.renew_at < ci->not_after);
  assert_int_equal(m.u.cert.renew_at,
                   expected_renew_at(ck_profile_default_json("tls-server"),
                                     ci->not_before, ci->not_after));
  ck_cert_free(leaf);
  ck_arena_free(a);
  free(der);

  /* identity renewal answers carry it too (agent-identity profile) */
  gw_csr(key, "ignored", dns, &der, &len);
  rid = ck_tagent_send_csr(&c, "identity", "agent-identity", der, len, NULL);
  gwc_expect(&c, CK_WIRE_CERT, rid, &m, &a);
  assert_int_equal(ck_cert_parse(m.u.cert.cert.data, m.u.cert.cert.len, &leaf,
                                 NULL),
                   CK_OK);
  ci = ck_cert_get_info(leaf);
  assert_true(m.u.cert.has_renew_at);
  assert_int_equal(m.u.cert.renew_at,
                   expected_renew_at(ck_profile_default_json("agent-identity"),
                                     ci->not_before, ci->not_after));
  ck_cert_free(leaf);
  ck_arena_free(a);
  free(der);
  ck_key_free(key);
  gwc_close(&c);
  gw_ident_clear(&id);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_events_exactly_once, gw_setup,
                                      gw_teardown),
      cmocka_unit_test_setup_teardown(test_events_two_sessions, gw_setup,
                                      gw_teardown),
      cmocka_unit_test_setup_teardown(test_renew_command, gw_setup, gw_teardown),
  };

  ck_log_configure(CK_LOG_OPS, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
