/* test_scan.c — the scheduler's scan against a real store: what one tick
 * records (renewal triggers for agent-managed certificates, a late-renewal
 * incident, notice items for the 30- and 7-day steps and the incident, a
 * renewal seen through its successor), that a second tick and a restarted
 * scheduler record nothing twice, that triggers repeat only after
 * [sched] retry, and the KPIs computed from those records. The gateway is
 * absent here (the command post is logged as not sent), and notices have
 * no channel so their items stay pending. */
#include "tests/testutil.h"

#include <string.h>

#include "common/util/log.h"
#include "coordinator/core/coord.h"
#include "coordinator/core/coord_rt.h"
#include "coordinator/sched/kpi.h"
#include "coordinator/sched/sched.h"
#include "tests/unit/store/fixture.h"

static const char conf[] = "[sched]\ntick = 1h\nrate = 100\n"
                           "[notices]\nfallback_email = ops@example.test\n"
                           "workers = 1\n";

typedef struct env {
  fx f;
  uv_loop_t loop;
  ck_coord_rt rt;
  ck_sched *s;
} env;

static void start(env *e) {
  ck_errctx err = CK_ERRCTX_INIT;

  assert_int_equal(ck_sched_start(&e->rt, &e->s, &err), CK_OK);
}

static void stop(env *e) {
  ck_sched_close(e->s);
  uv_run(&e->loop, UV_RUN_NOWAIT);
  ck_sched_free(e->s);
  e->s = NULL;
}

static int64_t ndocs(env *e, const char *kind, const char *state) {
  ck_doc_filter f;
  int64_t n = -1;

  memset(&f, 0, sizeof f);
  f.kind = kind;
  f.state = state;
  assert_int_equal(ck_store_doc_count(e->f.s, &f, &n, NULL), CK_OK);
  return n;
}

static void put(env *e, ck_store_cert *c, const char *agent) {
  char path[64];

  ck_store_write *w = ck_store_write_new();
  ck_store_install in;

  assert_int_equal(ck_store_write_cert_put(w, c, NULL), CK_OK);
  if (agent != NULL) {
    memset(&in, 0, sizeof in);
    memcpy(in.cert_fp, c->fingerprint, sizeof in.cert_fp);
    in.agent_id = agent;
    snprintf(path, sizeof path, "/etc/ssl/%.8s.pem", c->fingerprint);
    in.path = path;
    in.service = "nginx";
    in.endpoint = "";
    assert_int_equal(ck_store_write_install_put(w, &in, NULL), CK_OK);
  }
  fx_commit(&e->f, w, CK_OK);
  ck_store_write_free(w);
}

/* The agent reports fp as its managed certificate "web-<n>" (what the
 * gateway records for an agent's managed.state event). */
static void managed_event(env *e, const ck_store_cert *c, int n) {
  ck_store_write *w = ck_store_write_new();
  ck_audit_event ev;
  char id[32], details[256];

  snprintf(id, sizeof id, "web-%d", n);
  snprintf(details, sizeof details,
           "{\"at\":%lld,\"fingerprint\":\"%s\",\"new_state\":"
           "\"MONITORING\",\"old_state\":\"VERIFYING\"}",
           (long long)FX_NOW - 100, c->fingerprint);
  memset(&ev, 0, sizeof ev);
  ev.actor = "agent:a1";
  ev.action = "managed.state";
  ev.object_type = "managed";
  ev.object_id = id;
  ev.details = details;
  assert_int_equal(ck_store_write_audit(w, &ev, NULL), CK_OK);
  fx_commit(&e->f, w, CK_OK);
  ck_store_write_free(w);
}

static void estate(env *e) {
  ck_store_write *w = ck_store_write_new();
  ck_store_agent ag;
  ck_store_cert c;

  memset(&ag, 0, sizeof ag);
  ag.id = "a1";
  ag.name = "web-01";
  ag.group = "web";
  assert_int_equal(ck_store_write_agent_put(w, &ag, NULL), CK_OK);
  fx_commit(&e->f, w, CK_OK);
  ck_store_write_free(w);
  /* 1: agent-managed, late (an incident) and due */
  fx_cert(&e->f, &c, 1);
  c.not_before = FX_NOW - 40 * FX_DAY;
  c.not_after = FX_NOW + 7 * FX_DAY;
  c.owner = "web-team";
  put(e, &c, "a1");
  managed_event(e, &c, 1);
  /* 2: agent-managed, due, not late */
  fx_cert(&e->f, &c, 2);
  c.not_before = FX_NOW - 35 * FX_DAY;
  c.not_after = FX_NOW + 12 * FX_DAY;
  c.owner = "web-team";
  put(e, &c, "a1");
  managed_event(e, &c, 2);
  /* 3: issued here, renewed by a person: the 30-day notice */
  fx_cert(&e->f, &c, 3);
  c.not_before = FX_NOW - FX_DAY;
  c.not_after = FX_NOW + 29 * FX_DAY;
  c.owner = "app-team";
  put(e, &c, NULL);
  /* 4 and its successor 5 (same names and key type), 5 on the agent */
  fx_cert(&e->f, &c, 4);
  c.subject = "CN=renewed.example.com";
  c.sans = "DNS:renewed.example.com";
  c.not_before = FX_NOW - 50 * FX_DAY;
  c.not_after = FX_NOW + 10 * FX_DAY;
  put(e, &c, NULL);
  fx_cert(&e->f, &c, 5);
  c.subject = "CN=renewed.example.com";
  c.sans = "DNS:renewed.example.com";
  c.not_before = FX_NOW - FX_DAY;
  c.not_after = FX_NOW + 59 * FX_DAY;
  put(e, &c, "a1");
  managed_event(e, &c, 5);
  /* 6: discovered, from another CA, no owner: the 7-day notice */
  fx_cert(&e->f, &c, 6);
  c.source = CK_CERT_SRC_DISCOVERED;
  c.not_after = FX_NOW + 6 * FX_DAY;
  put(e, &c, NULL);
  /* 7: issued here, found on the agent's host but not managed there: a
   * person renews it (the 30-day notice), no renewal command */
  fx_cert(&e->f, &c, 7);
  c.not_before = FX_NOW - 5 * FX_DAY;
  c.not_after = FX_NOW + 20 * FX_DAY;
  put(e, &c, "a1");
}

static int setup(void **state) {
  env *e = calloc(1, sizeof *e);
  ck_errctx err = CK_ERRCTX_INIT;

  ck_log_configure(CK_LOG_OPS, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_KV, CK_LOG_DEBUG, NULL);
  fx_setup(&e->f);
  uv_loop_init(&e->loop);
  e->rt.loop = &e->loop;
  e->rt.store = e->f.s;
  assert_int_equal(ck_config_load_string("test.conf", conf, ck_coord_cfg_keys,
                                         &e->rt.cfg, &err),
                   CK_OK);
  estate(e);
  *state = e;
  return 0;
}

static int teardown(void **state) {
  env *e = *state;

  if (e->s != NULL)
    stop(e);
  ck_config_free(e->rt.cfg);
  uv_loop_close(&e->loop);
  fx_teardown(&e->f);
  free(e);
  return 0;
}

static void test_tick_records_once(void **state) {
  env *e = *state;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_sched_status st;
  ck_kpi k;

  start(e);
  assert_int_equal(ck_sched_tick_now(e->s, FX_NOW, &err), CK_OK);
  ck_sched_get_status(e->s, &st);
  assert_int_equal(st.ticks, 1);
  assert_int_equal(st.certificates, 7);
  assert_int_equal(st.renewals, 2);
  assert_int_equal(st.incidents, 1);
  assert_int_equal(st.notices, 4);
  assert_int_equal(st.renewals_seen, 1);
  assert_int_equal(ndocs(e, "sched.renew", "triggered"), 2);
  assert_int_equal(ndocs(e, "sched.incident", NULL), 1);
  assert_int_equal(ndocs(e, "sched.item", "pending"), 4);
  assert_int_equal(ndocs(e, "sched.renewal", "auto-ontime"), 1);
  assert_int_equal(ndocs(e, "sched.managed", NULL), 3); /* 1, 2 and 5 */

  /* the same tick again: nothing new */
  assert_int_equal(ck_sched_tick_now(e->s, FX_NOW + 60, &err), CK_OK);
  ck_sched_get_status(e->s, &st);
  assert_int_equal(st.renewals + st.incidents + st.notices + st.renewals_seen,
                   2 + 1 + 4 + 1);

  /* a restarted scheduler (empty memory) reads the store: nothing new */
  stop(e);
  start(e);
  assert_int_equal(ck_sched_tick_now(e->s, FX_NOW + 120, &err), CK_OK);
  ck_sched_get_status(e->s, &st);
  assert_int_equal(st.renewals, 0);
  assert_int_equal(st.incidents, 0);
  assert_int_equal(st.notices, 0);
  assert_int_equal(st.renewals_seen, 0);
  assert_int_equal(ndocs(e, "sched.item", "pending"), 4);
  assert_int_equal(ndocs(e, "sched.renew", NULL), 2);

  /* after [sched] retry (1h) without successors: triggered again */
  assert_int_equal(ck_sched_tick_now(e->s, FX_NOW + 3600 + 120, &err), CK_OK);
  ck_sched_get_status(e->s, &st);
  assert_int_equal(st.renewals, 2);

  /* KPIs from the records */
  assert_int_equal(ck_kpi_compute(e->f.s, 0, FX_NOW, &k, &err), CK_OK);
  assert_int_equal(k.renewals, 1);
  assert_int_equal(k.renewals_automated, 1);
  assert_int_equal(k.renewals_on_time, 1);
  assert_true(k.automation_coverage > 0.99);
  assert_int_equal(k.incidents_open, 1);
  assert_int_equal(k.active, 7);
  assert_int_equal(k.expiring_30d, 6);
  assert_int_equal(k.no_owner, 4);
  assert_int_equal(k.expiring_30d_no_owner, 3);
  /* a window after the renewal: none in it */
  assert_int_equal(ck_kpi_compute(e->f.s, FX_NOW, FX_NOW, &k, &err), CK_OK);
  assert_int_equal(k.renewals, 0);
  assert_true(k.automation_coverage < 0);
}

static void test_audit_trail(void **state) {
  env *e = *state;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_audit_event *ev = NULL;
  ck_store_page pg;
  size_t n = 0, i;
  int trig = 0, inc = 0, due = 0, ren = 0;

  start(e);
  assert_int_equal(ck_sched_tick_now(e->s, FX_NOW, &err), CK_OK);
  memset(&pg, 0, sizeof pg);
  pg.limit = 1000;
  assert_int_equal(ck_store_audit_list(e->f.s, 0, &pg, e->f.a, &ev, &n, &err),
                   CK_OK);
  for (i = 0; i < n; i++) {
    if (strcmp(ev[i].actor, "system:scheduler") != 0)
      continue;
    trig += strcmp(ev[i].action, "sched.renew.trigger") == 0;
    inc += strcmp(ev[i].action, "sched.incident") == 0;
    due += strcmp(ev[i].action, "notice.due") == 0 ||
           strcmp(ev[i].action, "notice.incident") == 0;
    ren += strcmp(ev[i].action, "sched.renewal") == 0;
  }
  assert_int_equal(trig, 2);
  assert_int_equal(inc, 1);
  assert_int_equal(due, 4);
  assert_int_equal(ren, 1);
}

/* An agent refusing a scheduled renewal: failed at once, an incident with
 * the agent's answer, retried after [sched] retry. */
static void test_agent_refusal(void **state) {
  env *e = *state;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w;
  ck_audit_event ev;
  ck_store_cert c;
  ck_store_doc d;
  ck_sched_status st;
  char path[64], details[512];

  start(e);
  assert_int_equal(ck_sched_tick_now(e->s, FX_NOW, &err), CK_OK);
  fx_cert(&e->f, &c, 2);                /* due, not late: no incident yet */
  snprintf(path, sizeof path, "web-2"); /* its managed id on the agent */
  snprintf(details, sizeof details,
           "{\"action\":\"renew\",\"command_id\":7,\"detail\":\"no "
           "managed certificate\",\"requested_by\":\"system:scheduler\","
           "\"session\":\"s\",\"status\":\"CK_ERR_NOT_FOUND\","
           "\"target\":\"%s\"}",
           path);
  memset(&ev, 0, sizeof ev);
  ev.time = FX_NOW + 5;
  ev.actor = "agent:a1";
  ev.action = "agent.command.answer";
  ev.object_type = "agent";
  ev.object_id = "a1";
  ev.details = details;
  w = ck_store_write_new();
  assert_int_equal(ck_store_write_audit(w, &ev, NULL), CK_OK);
  fx_commit(&e->f, w, CK_OK);
  ck_store_write_free(w);
  assert_int_equal(ck_sched_tick_now(e->s, FX_NOW + 60, &err), CK_OK);
  assert_int_equal(ndocs(e, "sched.renew", "failed"), 1);
  assert_int_equal(
      ck_store_doc_get(e->f.s, "sched.renew", c.fingerprint, e->f.a, &d, NULL),
      CK_OK);
  assert_string_equal(d.state, "failed");
  assert_non_null(strstr(d.doc, "CK_ERR_NOT_FOUND"));
  assert_int_equal(ndocs(e, "sched.incident", NULL), 2);
  ck_sched_get_status(e->s, &st);
  assert_int_equal(st.incidents, 2);
  assert_int_equal(st.renewals, 2); /* the first tick's triggers only */
  /* the failed renewal is triggered again after retry */
  assert_int_equal(ck_sched_tick_now(e->s, FX_NOW + 3600 + 60, &err), CK_OK);
  ck_sched_get_status(e->s, &st);
  assert_int_equal(st.renewals, 4);
  assert_int_equal(ndocs(e, "sched.renew", "triggered"), 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_tick_records_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_audit_trail, setup, teardown),
      cmocka_unit_test_setup_teardown(test_agent_refusal, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
