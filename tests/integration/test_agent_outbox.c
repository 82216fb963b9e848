/* test_agent_outbox.c — acceptance test of the agent's offline outbox with
 * the REAL coordinator and the REAL net process (ck_net_main in a forked
 * child, exactly as the supervisor runs it); this test plays priv on the
 * other end of the socketpair, feeding events through the IPC.
 *
 *   1. coordinator init + run; `certkeeper token create`; the real
 *      `certkeeper-agent enroll`; then the coordinator is STOPPED;
 *   2. net #1 (coordinator down): 5 events, each acknowledged by net only
 *      after it is on disk; net stopped with SIGTERM;
 *   3. net #2 (still down): 4 more events and one the coordinator will
 *      refuse (cert_id over its limit); net KILLED (SIGKILL); the outbox
 *      holds 10 entries;
 *   4. coordinator started again on the same ports; net #3 reconnects
 *      (backoff capped by reconnect_max = 2s), asks priv for a rescan
 *      (reason=connect), sends the outbox, which drains to 0; a renewal
 *      csr priv sent before the session was up is held, sent once it is,
 *      and its `cert` comes back under priv's id;
 *   5. an "ack lost" replay: the 9 entry files saved in step 3 are put
 *      back, net #4 resends them, the coordinator acknowledges them as
 *      duplicates, the outbox drains again;
 *   6. `certkeeper audit list --all --json`: each of the 9 events exactly
 *      once, the refused one never (dropped and logged each time); `certkeeper-agent status --json` shows the connection, the
 *      last report and an empty outbox; `certkeeper audit verify`.
 * Every wait is bounded (ck_test_run_until, bounded poll loops on a real
 * condition). Skipped where the coordinator is not built (mbedTLS). The
 * coordinator process is tests/integration/itest.h. */
#include "tests/integration/itest.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/link/outbox.h"
#include "agent/link/session.h"
#include "agent/run/agentconf.h"
#include "agent/run/ipc.h"
#include "agent/run/net.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

#define WAIT_MS CK_ITEST_WAIT_MS
#define N1 5
#define N2 4

/* The coordinator (itest.h) and the agent's files. */
static ck_itest E;
static char state_dir[1100], conf[1100];

static char *must_sh(const char *what, const char *cmd) {
  return ck_itest_sh(&E, what, cmd);
}

static void show_logs(void) { ck_itest_show_log(&E); }

/* ---- the fake priv ------------------------------------------------------------- */

typedef struct priv {
  uv_loop_t loop;
  ck_ipc *ipc;
  pid_t net;
  int acks;        /* acks of our events */
  int rescans;     /* `command rescan` reason=connect received */
  volatile int flag;
  int want_acks;
  int closed;
  volatile int answered; /* the answer to our csr arrived */
  ck_wire_type answer_type;
  uint64_t answer_id;
  size_t answer_cert_len;
} priv;

static void pv_msg(ck_ipc *ipc, const ck_wire_msg *m, void *arg) {
  priv *p = arg;
  ck_wire_msg a;
  size_t i;

  if (m->type == CK_WIRE_CERT || m->type == CK_WIRE_PENDING ||
      (m->type == CK_WIRE_ERROR && m->id == 4242)) {
    p->answer_type = m->type;
    p->answer_id = m->id;
    if (m->type == CK_WIRE_CERT)
      p->answer_cert_len = m->u.cert.cert.len;
    else if (m->type == CK_WIRE_ERROR)
      fprintf(stderr, "csr error: %s\n",
              m->u.error.message ? m->u.error.message : "");
    p->answered = 1;
    return;
  }
  if (m->type == CK_WIRE_ACK) {
    p->acks++;
    if (p->acks >= p->want_acks)
      p->flag = 1;
    return;
  }
  if (m->type == CK_WIRE_COMMAND) {
    if (m->u.command.action == CK_WIRE_ACT_RESCAN)
      for (i = 0; i < m->u.command.args.n; i++)
        if (!strcmp(m->u.command.args.v[i].key, "reason") &&
            !strcmp(m->u.command.args.v[i].value, "connect"))
          p->rescans++;
    memset(&a, 0, sizeof a);
    a.type = CK_WIRE_ACK;
    a.id = m->id;
    assert_int_equal(ck_ipc_send(ipc, &a, NULL), CK_OK);
  }
}

static void pv_close(ck_ipc *ipc, ck_err why, void *arg) {
  priv *p = arg;

  (void)ipc;
  (void)why;
  p->closed = 1;
}

/* Forks a net process on a fresh socketpair; this side becomes priv. */
static void net_start(priv *p, const ck_agentconf *cfg) {
  int sv[2], fd;
  char logp[1200];

  memset(p, 0, sizeof *p);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  snprintf(logp, sizeof logp, "%s/net.log", E.tmp);
  fflush(NULL);
  p->net = fork();
  assert_true(p->net >= 0);
  if (p->net == 0) {
    close(sv[0]);
    fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0)
      dup2(fd, 2);
    /* exit(), not _exit(): a sanitizer build checks the child for leaks */
    exit(ck_net_main(cfg, sv[1]));
  }
  close(sv[1]);
  assert_int_equal(uv_loop_init(&p->loop), 0);
  assert_int_equal(ck_ipc_open(&p->loop, sv[0], CK_WIRE_TO_AGENT, pv_msg,
                               pv_close, p, &p->ipc, NULL),
                   CK_OK);
}

static void net_stop(priv *p, int sig) {
  int st;

  kill(p->net, sig);
  st = ck_itest_reap(p->net, WAIT_MS);
  if (sig == SIGTERM)
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  ck_ipc_close(p->ipc);
  uv_run(&p->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&p->loop), 0);
}

/* Sends events [from, to) and waits until net acknowledged all. */
static void send_events(priv *p, int from, int to) {
  char id[32], reason[64];
  ck_wire_msg m;
  int i;

  p->acks = 0;
  p->flag = 0;
  p->want_acks = to - from;
  for (i = from; i < to; i++) {
    snprintf(id, sizeof id, "outbox-test-%d", i);
    snprintf(reason, sizeof reason, "test event %d while offline", i);
    memset(&m, 0, sizeof m);
    m.type = CK_WIRE_EVENT;
    m.id = (uint64_t)i;
    m.u.event.kind = CK_WIRE_EVENT_FAILURE;
    m.u.event.cert_id = id;
    m.u.event.new_state = "FAILED";
    m.u.event.reason = reason;
    m.u.event.code = CK_ERR_AGAIN;
    m.u.event.has_code = true;
    m.u.event.at = 1700000000 + i;
    assert_int_equal(ck_ipc_send(p->ipc, &m, NULL), CK_OK);
  }
  ck_test_run_until(&p->loop, &p->flag, WAIT_MS);
  assert_int_equal(p->acks, to - from);
}

/* Sends a renewal csr (id 4242) for web.test, as priv does. */
static void send_csr(priv *p) {
  const char *dns[] = {"web.test", NULL};
  ck_key *key = ck_tagent_key("ec-p256");
  uint8_t *csr = NULL;
  ck_wire_msg m;
  size_t len = 0;

  ck_tagent_csr(key, dns[0], dns, &csr, &len);
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_CSR;
  m.id = 4242;
  m.u.csr.cert_id = "web";
  m.u.csr.profile = "tls-server";
  m.u.csr.csr.data = csr;
  m.u.csr.csr.len = len;
  m.u.csr.reason = "expiring";
  p->answered = 0;
  assert_int_equal(ck_ipc_send(p->ipc, &m, NULL), CK_OK);
  free(csr);
  ck_key_free(key);
}

/* One event the coordinator refuses outright (cert_id over its limit):
 * stored like any other, later dropped by net with agent.outbox.refused. */
static void send_bad_event(priv *p) {
  char id[300];
  ck_wire_msg m;

  memset(id, 'z', sizeof id - 1);
  id[sizeof id - 1] = '\0';
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_EVENT;
  m.id = 100;
  m.u.event.kind = CK_WIRE_EVENT_FAILURE;
  m.u.event.cert_id = id;
  m.u.event.new_state = "FAILED";
  m.u.event.at = 1700000000;
  p->acks = 0;
  p->flag = 0;
  p->want_acks = 1;
  assert_int_equal(ck_ipc_send(p->ipc, &m, NULL), CK_OK);
  ck_test_run_until(&p->loop, &p->flag, WAIT_MS);
}

static size_t outbox_depth(void) {
  char dir[1200];
  size_t n = 0, bytes = 0;
  uint64_t dropped = 0;

  snprintf(dir, sizeof dir, "%s/outbox", state_dir);
  assert_int_equal(ck_outbox_stat(dir, &n, &bytes, &dropped, NULL), CK_OK);
  assert_int_equal(dropped, 0);
  return n;
}

/* Runs priv's loop until the outbox is empty and a report was recorded. */
static void wait_drained(priv *p) {
  uint64_t end = ck_clock_mono_ms() + WAIT_MS;

  while (outbox_depth() != 0) {
    if (ck_clock_mono_ms() > end) {
      show_logs();
      fail_msg("the outbox did not drain (%zu left)", outbox_depth());
    }
    uv_run(&p->loop, UV_RUN_NOWAIT);
    {
      struct timespec ts = {0, 20 * 1000 * 1000};
      nanosleep(&ts, NULL); /* polling a real condition, bounded */
    }
  }
}

/* ---- the test ------------------------------------------------------------------- */

static void test_outbox_exactly_once(void **state) {
  char cmd[8192], *out, *tok, *p;
  ck_agentconf *cfg = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  priv pv;
  int i;

  (void)state;
  ck_itest_require(&E, 1);
  snprintf(state_dir, sizeof state_dir, "%s/state", E.tmp);
  snprintf(conf, sizeof conf, "%s/agent.conf", E.tmp);

  /* 1. coordinator, token, enrollment with the real agent binary */
  ck_itest_init(&E, NULL);
  ck_itest_start(&E);
  ck_itest_client_env(&E);
  tok = ck_itest_token(&E, "--group web --profile tls-server --ttl 1h");
  snprintf(cmd, sizeof cmd,
           "'%s' enroll --server 127.0.0.1:%d --token '%s' --ca-fingerprint "
           "$(openssl x509 -in '%s/root.pem' -noout -fingerprint -sha256 | "
           "cut -d= -f2) --state-dir '%s' --name outbox-test",
           E.agent, E.gw, tok, E.tmp, state_dir);
  free(tok);
  free(must_sh("enroll", cmd));
  snprintf(cmd, sizeof cmd,
           "printf '[agent]\\nstate_dir = %s\\nreconnect_max = 2s\\n"
           "[log]\\nlevel = debug\\n' >'%s'",
           state_dir, conf);
  free(must_sh("agent.conf", cmd));
  assert_int_equal(ck_agentconf_load(conf, &cfg, &err), CK_OK);
  assert_true(cfg->enrolled);
  ck_itest_stop(&E);

  /* 2. net #1 with the coordinator down: events stored, then SIGTERM */
  net_start(&pv, cfg);
  send_events(&pv, 1, 1 + N1);
  net_stop(&pv, SIGTERM);
  assert_int_equal(outbox_depth(), N1);

  /* 3. net #2, still down: more events, then SIGKILL */
  net_start(&pv, cfg);
  send_events(&pv, 1 + N1, 1 + N1 + 2);
  send_bad_event(&pv);
  send_events(&pv, 1 + N1 + 2, 1 + N1 + N2);
  net_stop(&pv, SIGKILL);
  assert_int_equal(outbox_depth(), N1 + N2 + 1);
  snprintf(cmd, sizeof cmd, "mkdir '%s/saved' && cp -p '%s/outbox/'*.ev "
                            "'%s/saved/'",
           E.tmp, state_dir, E.tmp);
  free(must_sh("save entries", cmd));

  /* 4. coordinator back; net #3 delivers everything */
  ck_itest_start(&E);
  net_start(&pv, cfg);
  send_csr(&pv); /* while the session is being set up: held, then sent */
  wait_drained(&pv);
  ck_test_run_until(&pv.loop, (volatile int *)&pv.rescans, WAIT_MS);
  assert_true(pv.rescans >= 1);
  ck_test_run_until(&pv.loop, &pv.answered, WAIT_MS);
  assert_int_equal(pv.answer_type, CK_WIRE_CERT);
  assert_int_equal(pv.answer_id, 4242); /* priv's id, not the session's */
  assert_true(pv.answer_cert_len > 100);
  net_stop(&pv, SIGTERM);

  /* 5. the acks were "lost": the same entries again, answered as
   * duplicates and not recorded twice */
  snprintf(cmd, sizeof cmd, "cp -p '%s/saved/'*.ev '%s/outbox/'", E.tmp,
           state_dir);
  free(must_sh("restore entries", cmd));
  assert_int_equal(outbox_depth(), N1 + N2 + 1);
  net_start(&pv, cfg);
  wait_drained(&pv);
  net_stop(&pv, SIGTERM);

  /* 6. the audit trail: each event exactly once */
  snprintf(cmd, sizeof cmd, "'%s' audit list --all --json", E.cli);
  out = must_sh("audit list", cmd);
  for (i = 1; i <= N1 + N2; i++) {
    char needle[64];
    int n = 0;

    snprintf(needle, sizeof needle, "\"outbox-test-%d\"", i);
    for (p = strstr(out, needle); p != NULL; p = strstr(p + 1, needle))
      n++;
    if (n != 1) {
      show_logs();
      fail_msg("event %d recorded %d times in:\n%s", i, n, out);
    }
  }
  assert_non_null(strstr(out, "managed.failure"));
  assert_null(strstr(out, "zzzzzzzzzz")); /* the refused one */
  free(out);
  snprintf(cmd, sizeof cmd, "'%s' audit verify", E.cli);
  free(must_sh("audit verify", cmd));

  /* status: link state and the empty outbox */
  snprintf(cmd, sizeof cmd, "'%s' status --config '%s' --json", E.agent,
           conf);
  out = must_sh("status", cmd);
  if (strstr(out, "\"events\": 0") == NULL ||
      strstr(out, "\"last_report\": 0") != NULL ||
      strstr(out, "\"last_connect\": 0") != NULL)
    fail_msg("status: %s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "grep -c agent.outbox.refused '%s/net.log'",
           E.tmp);
  out = must_sh("refused logged", cmd);
  assert_int_equal(strtol(out, NULL, 10), 2); /* once per delivery attempt */
  free(out);
  /* no sanitizer report from any net process (the ASan build) */
  snprintf(cmd, sizeof cmd, "! grep -n Sanitizer '%s/net.log'", E.tmp);
  free(must_sh("net.log", cmd));
  ck_agentconf_free(cfg);
  ck_itest_stop(&E);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_prestate_setup_teardown(
          test_outbox_exactly_once, ck_itest_cm_setup, ck_itest_cm_teardown,
          &E),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
