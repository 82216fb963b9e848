/* test_agent_command.c — `certkeeper agent command|renew|commands` against
 * the fake API (fake_api.h): the JSON body sent (action, target, args,
 * data from --data-file), local refusal of a malformed --arg, what is
 * printed, and the exit codes for 409, 404, 400 and 503. */
#include "tests/unit/cli/fake_api.h"

static int setup(void **state) {
  *state = fake_start();
  return 0;
}

static int teardown(void **state) {
  fake_stop(*state);
  return 0;
}

#define CMD_PATH "/api/v1/agents/ag-1/commands"

static void test_command_body(void **state) {
  fake *f = *state;
  char file[700];
  cli_run r;

  fake_answer(f, "POST", CMD_PATH, 202,
              "{\"agent_id\":\"ag-1\",\"command_id\":7,\"session\":"
              "\"0011223344556677\",\"action\":\"config\",\"delivered\":true}");
  snprintf(file, sizeof file, "%s/bundle.pem", f->dir);
  assert_int_equal(ck_fs_write_atomic(file, "PEM\n", 4, 0644, NULL), CK_OK);
  r = cli(f, "agent command ag-1 config --target /etc/x --arg a=1 --arg "
             "b=x=y --data-file '%s'",
          file);
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "command 7 (config) delivered to agent ag-1"));
  assert_int_equal(fake_nrecs(f), 1);
  assert_string_equal(f->recs[0].method, "POST");
  assert_string_equal(f->recs[0].path, CMD_PATH);
  assert_string_equal(f->recs[0].body,
                      "{\"action\":\"config\",\"args\":{\"a\":\"1\",\"b\":"
                      "\"x=y\"},\"data\":\"PEM\\n\",\"target\":\"/etc/x\"}");
  cli_run_free(&r);
  /* the shortcut */
  r = cli(f, "agent renew ag-1 web-frontend --json");
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "\"command_id\""));
  assert_string_equal(f->recs[1].body,
                      "{\"action\":\"renew\",\"target\":\"web-frontend\"}");
  cli_run_free(&r);
}

static void test_command_refusals(void **state) {
  fake *f = *state;
  cli_run r;

  /* local: malformed or repeated --arg, missing file; nothing is sent */
  r = cli(f, "agent command ag-1 config --arg novalue");
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "KEY=VALUE"));
  cli_run_free(&r);
  r = cli(f, "agent command ag-1 config --arg a=1 --arg a=2");
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "given twice"));
  cli_run_free(&r);
  r = cli(f, "agent command ag-1 trust-update --data-file /nonexistent/x");
  assert_rc(r, 9);
  cli_run_free(&r);
  r = cli(f, "agent renew ag-1");
  assert_rc(r, 1);
  cli_run_free(&r);
  assert_int_equal(fake_nrecs(f), 0);
  /* the server's answers */
  fake_answer(f, "POST", CMD_PATH, 409,
              "{\"type\":\"urn:certkeeper:problem:agent-not-connected\","
              "\"title\":\"Conflict\",\"status\":409,\"detail\":\"agent "
              "'ag-1' is not connected to the gateway\"}");
  r = cli(f, "agent command ag-1 rescan");
  assert_rc(r, 7);
  assert_non_null(strstr(r.err, "not connected"));
  cli_run_free(&r);
  fake_reset(f);
  fake_answer(f, "POST", CMD_PATH, 400,
              "{\"type\":\"urn:certkeeper:problem:bad-request\",\"title\":"
              "\"Bad Request\",\"status\":400,\"detail\":\"unknown action "
              "'x'\"}");
  r = cli(f, "agent command ag-1 x");
  assert_rc(r, 11);
  assert_non_null(strstr(r.err, "unknown action"));
  cli_run_free(&r);
  fake_reset(f);
  fake_answer(f, "POST", CMD_PATH, 503,
              "{\"type\":\"urn:certkeeper:problem:unavailable\",\"title\":"
              "\"Service Unavailable\",\"status\":503,\"detail\":\"too many "
              "commands queued\"}");
  r = cli(f, "agent command ag-1 rescan");
  assert_rc(r, 8);
  cli_run_free(&r);
  r = cli(f, "agent command ag-2 rescan"); /* nothing canned: 404 */
  assert_rc(r, 6);
  cli_run_free(&r);
}

static void test_commands_list(void **state) {
  fake *f = *state;
  cli_run r;

  fake_answer(f, "GET", CMD_PATH, 200,
              "{\"agent_id\":\"ag-1\",\"items\":[{\"command_id\":3,"
              "\"session\":\"s1\",\"action\":\"renew\",\"target\":\"web\","
              "\"requested_by\":\"token:ops\",\"sent_at\":\"2026-01-01T00:00:"
              "00Z\",\"status\":\"ack\",\"answered_at\":\"2026-01-01T00:00:"
              "01Z\",\"detail\":\"ok\"}]}");
  r = cli(f, "agent commands ag-1 --limit 5");
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "ACTION"));
  assert_non_null(strstr(r.out, "renew"));
  assert_non_null(strstr(r.out, "ack"));
  assert_non_null(strstr(r.out, "token:ops"));
  assert_string_equal(f->recs[0].query, "limit=5");
  cli_run_free(&r);
  r = cli(f, "agent commands ag-1 --limit 0");
  assert_rc(r, 1);
  cli_run_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_command_body, setup, teardown),
      cmocka_unit_test_setup_teardown(test_command_refusals, setup, teardown),
      cmocka_unit_test_setup_teardown(test_commands_list, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
