/* test_reports.c — schema version 2: the agent report mark
 * (ck_store_write_agent_report: moves forward only, rolls the whole write
 * back on a duplicate, one counter per agent, unknown agents and seq 0
 * refused) and the binding lookup by agent (ck_store_etoken_by_agent, with
 * the used_by index in the plan). */
#include "tests/unit/store/fixture.h"

static ck_store_write *wnew(void) {
  ck_store_write *w = ck_store_write_new();

  assert_non_null(w);
  return w;
}

static void put_agent(fx *f, const char *id) {
  ck_store_write *w = wnew();
  ck_store_agent a;

  memset(&a, 0, sizeof a);
  a.id = id;
  a.name = id;
  a.group = "web";
  a.status = CK_AGENT_ACTIVE;
  assert_int_equal(ck_store_write_agent_put(w, &a, NULL), CK_OK);
  fx_commit(f, w, CK_OK);
  ck_store_write_free(w);
}

static int64_t audit_rows(fx *f) {
  return fx_sql_int(f, "SELECT count(*) FROM audit");
}

/* One report write: the mark plus an audit event, as the gateway does. */
static ck_err report(fx *f, const char *agent, uint64_t seq,
                     size_t *failed_op) {
  ck_store_write *w = wnew();
  ck_errctx e = CK_ERRCTX_INIT;
  ck_audit_event ev;
  ck_err rc;

  memset(&ev, 0, sizeof ev);
  ev.actor = "agent:x";
  ev.action = "managed.state";
  ev.object_type = "managed";
  ev.object_id = "mc-1";
  ev.details = "{}";
  assert_int_equal(ck_store_write_agent_report(w, agent, seq, &e), CK_OK);
  assert_int_equal(ck_store_write_audit(w, &ev, &e), CK_OK);
  rc = ck_store_submit_wait(f->s, w, &e);
  if (rc == CK_ERR_EXIST)
    assert_non_null(strstr(e.msg, "duplicate"));
  if (failed_op != NULL)
    *failed_op = ck_store_write_failed_op(w);
  ck_store_write_free(w);
  return rc;
}

static int64_t mark_of(fx *f, const char *agent) {
  ck_store_agent a;

  assert_int_equal(ck_store_agent_get(f->s, agent, f->a, &a, NULL), CK_OK);
  return a.report_seq;
}

static void report_mark(void **state) {
  fx f;
  ck_store_write *w;
  ck_store_agent a;
  size_t op = 99;
  int64_t before;

  (void)state;
  fx_setup(&f);
  put_agent(&f, "agent-a");
  put_agent(&f, "agent-b");
  assert_int_equal(mark_of(&f, "agent-a"), 0);
  before = audit_rows(&f);
  assert_int_equal(report(&f, "agent-a", 3, NULL), CK_OK);
  assert_int_equal(mark_of(&f, "agent-a"), 3);
  /* the same and an older one: the whole write rolls back (no audit row) */
  assert_int_equal(report(&f, "agent-a", 3, &op), CK_ERR_EXIST);
  assert_int_equal(op, 0);
  assert_int_equal(report(&f, "agent-a", 1, NULL), CK_ERR_EXIST);
  assert_int_equal(audit_rows(&f), before + 1);
  assert_int_equal(report(&f, "agent-a", 4, NULL), CK_OK);
  /* agent-b has its own counter */
  assert_int_equal(report(&f, "agent-b", 1, NULL), CK_OK);
  assert_int_equal(mark_of(&f, "agent-b"), 1);
  assert_int_equal(mark_of(&f, "agent-a"), 4);
  assert_int_equal(audit_rows(&f), before + 3);
  /* an unknown agent; seq 0 refused by the builder */
  assert_int_equal(report(&f, "agent-none", 1, NULL), CK_ERR_NOT_FOUND);
  w = wnew();
  assert_int_equal(ck_store_write_agent_report(w, "agent-a", 0, NULL),
                   CK_ERR_INVAL);
  assert_int_equal(ck_store_write_count(w), 0);
  ck_store_write_free(w);
  /* agent_put (re-enrollment of the same id, identity renewal) keeps it */
  memset(&a, 0, sizeof a);
  a.id = "agent-a";
  a.name = "renamed";
  a.status = CK_AGENT_ACTIVE;
  w = wnew();
  assert_int_equal(ck_store_write_agent_put(w, &a, NULL), CK_OK);
  fx_commit(&f, w, CK_OK);
  ck_store_write_free(w);
  assert_int_equal(mark_of(&f, "agent-a"), 4);
  /* and it survives a reopen */
  fx_reopen(&f);
  assert_int_equal(mark_of(&f, "agent-a"), 4);
  fx_teardown(&f);
}

static void etoken_by_agent(void **state) {
  fx f;
  ck_store_write *w = wnew();
  ck_errctx e = CK_ERRCTX_INIT;
  ck_store_etoken t, got;
  char h[3][65];
  int i;

  (void)state;
  fx_setup(&f);
  for (i = 0; i < 3; i++) {
    char id[16];
    snprintf(id, sizeof id, "et-%d", i);
    fx_hex("token", i + 1, h[i]);
    memset(&t, 0, sizeof t);
    t.id = id;
    memcpy(t.hash, h[i], 65);
    t.group = i == 1 ? "db" : "web";
    t.profiles = "tls-server";
    t.san_patterns = ".web.test";
    t.actor = "test";
    t.expires_at = FX_NOW + 3600;
    assert_int_equal(ck_store_write_etoken_put(w, &t, &e), CK_OK);
  }
  fx_commit(&f, w, CK_OK);
  ck_store_write_reset(w);
  assert_int_equal(ck_store_write_etoken_use(w, h[1], "agent-7", FX_NOW, &e),
                   CK_OK);
  fx_commit(&f, w, CK_OK);
  ck_store_write_free(w);
  assert_int_equal(ck_store_etoken_by_agent(f.s, "agent-7", f.a, &got, &e),
                   CK_OK);
  assert_string_equal(got.id, "et-1");
  assert_string_equal(got.group, "db");
  assert_string_equal(got.used_by, "agent-7");
  assert_int_equal(ck_store_etoken_by_agent(f.s, "agent-8", f.a, &got, &e),
                   CK_ERR_NOT_FOUND);
  assert_non_null(strstr(e.msg, "agent-8"));
  /* unused tokens (used_by "") are never an agent's */
  assert_int_equal(ck_store_etoken_by_agent(f.s, "", f.a, &got, &e),
                   CK_ERR_INVAL);
  /* the lookup uses the index */
  assert_int_equal(
      fx_sql_int(&f, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                     " AND name = 'enroll_tokens_used_by'"),
      1);
  fx_teardown(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(report_mark),
      cmocka_unit_test(etoken_by_agent),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
