/* test_gateway_command.c — operators commanding a connected agent, end to
 * end with the real binaries: `certkeeper-coordinator run` as a child
 * process, the `certkeeper` CLI for the operator, and this test as the
 * agent (our own TLS and wire codec, no coordinator code linked in).
 *
 * Steps: init, run, enroll an agent; commands while it is not connected ->
 * exit 7 (409 agent-not-connected), for an unknown agent -> exit 6 (404), a
 * bad action -> exit 11 (400); an auditor token -> exit 5 (403); connect
 * with the identity; `agent renew ID CERT` and `agent command ID config
 * --arg ...` -> the agent receives both `command` frames with the ids the
 * CLI printed; the agent acks one and refuses the other; `agent commands`
 * shows both answers (bounded poll: the answer is written asynchronously);
 * the audit trail has agent.command and agent.command.answer and verifies;
 * SIGTERM -> exit 0.
 *
 * Skipped (with the reason printed) when the build has no coordinator or the
 * openssl/curl CLIs are missing. The coordinator process and the test agent
 * are tests/integration/itest.h and tests/testagent.h. Every wait is
 * bounded. */
#include "tests/integration/itest.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto/crypto.h"
#include "common/util/mem.h"
#include "common/wire/wire.h"

static ck_itest co;

/* Runs the shell command line expecting exit status want and, when needle
 * is not NULL, needle in its output. Returns the output (caller frees). */
static char *sh_expect(int want, const char *needle, const char *line) {
  char *out = NULL;
  int st = ck_test_sh(&out, "%s", line);

  if (st != want || (needle != NULL && (out == NULL || strstr(out, needle) == NULL))) {
    ck_itest_show_log(&co);
    fail_msg("%s: exit %d (want %d), output lacks '%s':\n%s", line, st, want,
             needle != NULL ? needle : "", out != NULL ? out : "");
  }
  return out;
}

/* sh_expect for `certkeeper <fmt...>` (also used with a raw shell line
 * when fmt starts with "!"). */
static char *cli_expect(int want, const char *needle, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static char *cli_expect(int want, const char *needle, const char *fmt, ...) {
  char args[4096], line[5200];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  if (args[0] == '!')
    snprintf(line, sizeof line, "%s", args + 1);
  else
    snprintf(line, sizeof line, "'%s' %s", co.cli, args);
  return sh_expect(want, needle, line);
}

/* The "command_id" of a --json answer. */
static uint64_t command_id(const char *json) {
  const char *p = json != NULL ? strstr(json, "\"command_id\"") : NULL;
  char *end;
  unsigned long long v;

  if (p == NULL)
    fail_msg("no command_id in: %s", json != NULL ? json : "");
  p += strlen("\"command_id\"");
  while (*p == ' ' || *p == ':')
    p++;
  v = strtoull(p, &end, 10);
  if (end == p || v == 0)
    fail_msg("bad command_id in: %s", json);
  return (uint64_t)v;
}

/* The value of args key k in command c, or NULL. */
static const char *cmd_arg(const ck_wire_command *c, const char *k) {
  size_t i;

  for (i = 0; i < c->args.n; i++)
    if (strcmp(c->args.v[i].key, k) == 0)
      return c->args.v[i].value;
  return NULL;
}

static void test_gateway_command(void **state) {
  char *out, *tok, *nl, auditor[256];
  ck_wire_msg m;
  ck_arena *ar = NULL;
  uint64_t renew_id, config_id;
  ck_tagent_ident id;
  ck_tagent_peer peer;
  ck_tagent a;
  int i, seen;

  (void)state;
  ck_itest_require(&co, 0);
  memset(&id, 0, sizeof id);
  ck_itest_init(&co, NULL);
  ck_itest_start(&co);
  ck_itest_client_env(&co);
  ck_itest_peer(&co, &peer);

  /* enroll an agent, then leave: it is known but not connected */
  tok = ck_itest_token(&co, "--group web --profile tls-server --ttl 1h");
  ck_tagent_enroll_new(&peer, tok, "e2e-host", NULL, &id);
  free(tok);

  /* not connected: 409 -> exit 7, nothing queued */
  free(cli_expect(7, "not connected", "agent command %s rescan", id.agent_id));
  free(cli_expect(7, "HTTP 409", "agent renew %s managed-1",
                  id.agent_id));
  /* unknown agent: 404 -> exit 6 */
  free(cli_expect(6, "no agent", "agent command 0123456789abcdef rescan"));
  free(cli_expect(6, "no agent", "agent commands 0123456789abcdef"));
  /* bad input: 400 -> exit 11; a local usage error -> exit 1 */
  free(cli_expect(11, "unknown action 'reboot'", "agent command %s reboot",
                  id.agent_id));
  free(cli_expect(11, "needs a 'target'", "agent command %s renew",
                  id.agent_id));
  free(cli_expect(1, "KEY=VALUE", "agent command %s config --arg novalue",
                  id.agent_id));
  /* the API directly: problem+json with the detail */
  out = cli_expect(0, "\"status\":400", "!curl -s "
                   "--cacert \"$CERTKEEPER_CACERT\" -H \"Authorization: Bearer "
                   "$CERTKEEPER_TOKEN\" -H 'Content-Type: application/json' "
                   "-d '{\"action\":\"rescan\",\"bogus\":1}' "
                   "\"$CERTKEEPER_SERVER/api/v1/agents/%s/commands\"",
                   id.agent_id);
  if (strstr(out, "unknown field 'bogus'") == NULL)
    fail_msg("unknown field: %s", out);
  free(out);
  /* an auditor may list but not command: 403 -> exit 5 */
  out = cli_expect(0, NULL, "api-token create --name aud --role auditor");
  tok = strstr(out, "cka_");
  tok = tok != NULL ? tok : out;
  if ((nl = strpbrk(tok, " \r\n")) != NULL)
    *nl = '\0';
  ck_strlcpy(auditor, tok, sizeof auditor);
  free(out);
  free(cli_expect(5, "may not POST", "!"
                  "CERTKEEPER_TOKEN='%s' '%s' agent command %s rescan",
                  auditor, co.cli, id.agent_id));
  free(cli_expect(0, NULL, "!CERTKEEPER_TOKEN='%s' '%s' "
                  "agent commands %s", auditor, co.cli, id.agent_id));

  /* connected: the commands reach the agent */
  ck_tagent_connect(&a, &peer, &id);
  ck_tagent_welcome(&a, id.agent_id);
  out = cli_expect(0, "\"delivered\"", "agent renew %s managed-1 --json",
                   id.agent_id);
  renew_id = command_id(out);
  free(out);
  ck_tagent_expect(&a, CK_WIRE_COMMAND, renew_id, &m, &ar);
  assert_int_equal(m.u.command.action, CK_WIRE_ACT_RENEW);
  assert_non_null(m.u.command.target);
  assert_string_equal(m.u.command.target, "managed-1");
  ck_arena_free(ar);

  out = cli_expect(0, "delivered", "agent command %s config --arg "
                   "scan_interval=1h --arg log_level=debug", id.agent_id);
  free(out);
  out = cli_expect(0, "\"config\"", "agent commands %s --json", id.agent_id);
  config_id = command_id(out); /* newest first */
  free(out);
  assert_true(config_id != renew_id);
  ck_tagent_expect(&a, CK_WIRE_COMMAND, config_id, &m, &ar);
  assert_int_equal(m.u.command.action, CK_WIRE_ACT_CONFIG);
  assert_null(m.u.command.target);
  assert_int_equal(m.u.command.args.n, 2);
  assert_string_equal(cmd_arg(&m.u.command, "scan_interval"), "1h");
  assert_string_equal(cmd_arg(&m.u.command, "log_level"), "debug");
  ck_arena_free(ar);

  /* the agent acks the renewal and refuses the config */
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_ACK;
  m.id = renew_id;
  m.u.ack.detail = "renewal of managed-1 started";
  ck_tagent_send(&a, &m);
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_ERROR;
  m.id = config_id;
  m.u.error.code = CK_ERR_UNSUPPORTED;
  m.u.error.message = "setting log_level cannot change at run time";
  ck_tagent_send(&a, &m);
  ck_tagent_welcome(&a, id.agent_id);

  /* the answers show up (written asynchronously: bounded poll) */
  seen = 0;
  for (i = 0; i < 200 && !seen; i++) {
    out = cli_expect(0, NULL, "agent commands %s --json", id.agent_id);
    seen = strstr(out, "renewal of managed-1 started") != NULL &&
           strstr(out, "CK_ERR_UNSUPPORTED") != NULL &&
           strstr(out, "\"ack\"") != NULL;
    free(out);
  }
  if (!seen) {
    out = cli_expect(0, NULL, "agent commands %s --json", id.agent_id);
    fail_msg("the agent's answers are not listed:\n%s", out);
  }
  out = cli_expect(0, "renew", "agent commands %s", id.agent_id);
  if (strstr(out, "managed-1") == NULL || strstr(out, "token:") == NULL)
    fail_msg("agent commands table:\n%s", out);
  free(out);
  ck_tagent_close(&a);

  /* the audit trail: who asked, what the agent said; the chain holds */
  out = cli_expect(0, "agent.command.answer", "audit list --json");
  if (strstr(out, "\"agent.command\"") == NULL)
    fail_msg("audit lacks agent.command:\n%s", out);
  free(out);
  free(cli_expect(0, NULL, "audit verify"));

  /* SIGTERM: drains and exits 0 */
  ck_itest_stop(&co);
  ck_tagent_ident_clear(&id);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_prestate_setup_teardown(
          test_gateway_command, ck_itest_cm_setup, ck_itest_cm_teardown, &co),
  };

  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
