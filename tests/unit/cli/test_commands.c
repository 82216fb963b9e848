/* test_commands.c — the CLI's other command groups against the fake API
 * (fake_api.h): token create|list, api-token create, agent list|show,
 * profile list|show|set|delete, owner list|set|delete, ca list, audit
 * list|verify. Each checks the request sent and what is printed. */
#include "tests/unit/cli/fake_api.h"

static int setup(void **state) {
  *state = fake_start();
  return 0;
}

static int teardown(void **state) {
  fake_stop(*state);
  return 0;
}

static void write_file(fake *f, const char *name, const char *text,
                       char *path, size_t len) {
  ck_errctx err = CK_ERRCTX_INIT;

  snprintf(path, len, "%s/%s", f->dir, name);
  assert_int_equal(ck_fs_write_atomic(path, text, strlen(text), 0644, &err),
                   CK_OK);
}

static void test_token_create_prints_token_alone(void **state) {
  fake *f = *state;
  cli_run r;

  fake_answer(f, "POST", "/api/v1/enrollment-tokens", 201,
              "{\"id\":\"et_1\",\"token\":\"cke_SECRET123\",\"group\":\"web\","
              "\"expires_at\":\"2099-01-01T00:00:00Z\"}");
  r = cli(f, "token create --group web --profile tls-server --profile mtls "
             "--san-pattern .web.test --san-pattern localhost --ttl 1h");
  assert_rc(r, 0);
  assert_string_equal(r.out, "cke_SECRET123\n"); /* T=$(...) works */
  assert_string_equal(r.err, "");
  assert_string_equal(f->recs[0].method, "POST");
  assert_string_equal(f->recs[0].path, "/api/v1/enrollment-tokens");
  assert_string_equal(f->recs[0].body,
                      "{\"group\":\"web\",\"profiles\":[\"tls-server\","
                      "\"mtls\"],\"san_patterns\":[\".web.test\","
                      "\"localhost\"],\"ttl\":\"1h\"}");
  cli_run_free(&r);
  /* minimal form; --json gives the whole answer */
  r = cli(f, "token create --group web --profile tls-server --json");
  assert_rc(r, 0);
  assert_string_equal(f->recs[1].body,
                      "{\"group\":\"web\",\"profiles\":[\"tls-server\"]}");
  assert_non_null(strstr(r.out, "\"expires_at\""));
  cli_run_free(&r);
  r = cli(f, "token create --group web");
  assert_rc(r, 1);
  cli_run_free(&r);
  r = cli(f, "token create --group web --profile p --ttl forever");
  assert_rc(r, 1);
  cli_run_free(&r);
  assert_int_equal(fake_nrecs(f), 2);
}

static void test_token_list(void **state) {
  fake *f = *state;
  cli_run r;

  fake_answer(f, "GET", "/api/v1/enrollment-tokens", 200,
              "{\"items\":[{\"id\":\"et_1\",\"group\":\"web\",\"profiles\":"
              "\"tls-server\\nmtls\",\"san_patterns\":\"\",\"created_by\":"
              "\"admin\",\"expires_at\":\"2099-01-01T00:00:00Z\",\"used_at\":"
              "null,\"used_by\":\"\"}],\"next_cursor\":null}");
  r = cli(f, "token list");
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "ID"));
  assert_non_null(strstr(r.out, "et_1"));
  assert_non_null(strstr(r.out, "tls-server, mtls"));
  assert_non_null(strstr(r.out, "2099-01-01"));
  assert_string_equal(f->recs[0].method, "GET");
  cli_run_free(&r);
}

static void test_apitoken_create(void **state) {
  fake *f = *state;
  cli_run r;

  fake_answer(f, "POST", "/api/v1/api-tokens", 201,
              "{\"name\":\"ci\",\"role\":\"operator\",\"token\":\"cka_NEW\"}");
  r = cli(f, "api-token create --name ci --role operator --ttl 90d");
  assert_rc(r, 0);
  assert_string_equal(r.out, "cka_NEW\n");
  assert_string_equal(f->recs[0].body,
                      "{\"name\":\"ci\",\"role\":\"operator\",\"ttl\":\"90d\"}");
  cli_run_free(&r);
  r = cli(f, "api-token create --name team --role owner --owner team-a");
  assert_rc(r, 0);
  assert_string_equal(f->recs[1].body, "{\"name\":\"team\",\"owner\":\"team-a\","
                                       "\"role\":\"owner\"}");
  cli_run_free(&r);
  r = cli(f, "api-token create --name x --role root");
  assert_rc(r, 1);
  cli_run_free(&r);
  r = cli(f, "api-token create --name x --role owner");
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "--owner"));
  cli_run_free(&r);
  assert_int_equal(fake_nrecs(f), 2);
}

static void test_agents(void **state) {
  fake *f = *state;
  cli_run r;

  fake_answer(f, "GET", "/api/v1/agents", 200,
              "{\"items\":[{\"id\":\"ag-1\",\"name\":\"web-1\",\"group\":"
              "\"web\",\"status\":\"online\",\"enrolled_at\":\"2026-01-01T00:"
              "00:00Z\",\"last_seen\":\"2026-01-02T00:00:00Z\",\"platform\":"
              "\"linux\",\"version\":\"0.1.0\"}],\"next_cursor\":null}");
  fake_answer(f, "GET", "/api/v1/agents/ag-1", 200,
              "{\"id\":\"ag-1\",\"name\":\"web-1\",\"group\":\"web\","
              "\"status\":\"online\",\"identity_fingerprint\":\"ffee\","
              "\"host\":{\"hostname\":\"web-1\",\"os\":\"linux\","
              "\"hwkeys\":[\"tpm:tpm0\",\"tpm:tpmrm0\"]}}");
  r = cli(f, "agent list");
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "web-1"));
  assert_non_null(strstr(r.out, "online"));
  assert_string_equal(f->recs[0].path, "/api/v1/agents");
  cli_run_free(&r);
  r = cli(f, "agent show ag-1");
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "name:"));
  assert_non_null(strstr(r.out, "identity fingerprint:"));
  assert_non_null(strstr(r.out, "ffee"));
  assert_non_null(strstr(r.out, "host hwkeys:"));
  assert_non_null(strstr(r.out, "tpm:tpm0, tpm:tpmrm0"));
  assert_non_null(strstr(r.out, "host os:"));
  cli_run_free(&r);
  r = cli(f, "agent show ag-2");
  assert_rc(r, 6);
  cli_run_free(&r);
}

static void test_profiles(void **state) {
  fake *f = *state;
  char file[700];
  cli_run r;

  /* the API wraps each profile: {"name", "version", "profile": {...}} */
  fake_answer(f, "GET", "/api/v1/profiles", 200,
              "{\"items\":[{\"name\":\"tls-server\",\"version\":3,"
              "\"profile\":{\"name\":\"tls-server\",\"ca\":\"\","
              "\"workflow\":\"automatic\"},\"changed_by\":\"system:init\"}],"
              "\"next_cursor\":null}");
  fake_answer(f, "GET", "/api/v1/profiles/tls-server", 200,
              "{\"name\":\"tls-server\",\"version\":2,\"profile\":{"
              "\"name\":\"tls-server\",\"validity\":{\"max\":\"90d\"}},"
              "\"changed_by\":\"token:admin\"}");
  fake_answer(f, "PUT", "/api/v1/profiles/web", 200,
              "{\"name\":\"web\",\"version\":4}");
  fake_answer(f, "DELETE", "/api/v1/profiles/web", 200,
              "{\"name\":\"web\",\"version\":5,\"deleted\":true}");
  r = cli(f, "profile list");
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "tls-server"));
  assert_non_null(strstr(r.out, "automatic"));
  assert_non_null(strstr(r.out, "(default)"));
  assert_non_null(strstr(r.out, "system:init"));
  cli_run_free(&r);
  /* show prints the profile itself (what set takes back) and its version
   * on stderr; --version asks for an older one */
  r = cli(f, "profile show tls-server --version 2");
  assert_rc(r, 0);
  assert_string_equal(f->recs[1].query, "version=2");
  assert_non_null(
      strstr(r.out, "{\n  \"name\": \"tls-server\",\n  \"validity\": {"));
  assert_true(r.out[0] == '{');
  assert_null(strstr(r.out, "changed_by"));
  assert_non_null(strstr(r.err, "version 2, changed by token:admin"));
  cli_run_free(&r);
  r = cli(f, "profile show tls-server --json");
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "\"changed_by\": \"token:admin\""));
  cli_run_free(&r);
  r = cli(f, "profile show tls-server --version two");
  assert_rc(r, 1);
  cli_run_free(&r);
  /* set: the file's JSON as body, If-Match header */
  write_file(f, "web.json", "{\"ca\": \"issuing\", \"workflow\": \"approval\"}",
             file, sizeof file);
  r = cli(f, "profile set web --file '%s' --if-match 3", file);
  assert_rc(r, 0);
  assert_string_equal(f->recs[3].method, "PUT");
  assert_string_equal(f->recs[3].if_match, "3");
  assert_string_equal(f->recs[3].body,
                      "{\"ca\":\"issuing\",\"workflow\":\"approval\"}");
  assert_non_null(strstr(r.out, "profile web stored as version 4"));
  cli_run_free(&r);
  r = cli(f, "profile set web --file '%s'", file);
  assert_rc(r, 0);
  assert_string_equal(f->recs[4].if_match, "");
  cli_run_free(&r);
  /* the API's wrapper (profile show --json output) is unwrapped */
  write_file(f, "wrapped.json",
             "{\"name\":\"web\",\"version\":4,\"profile\":{\"name\":"
             "\"web\"},\"changed_by\":\"x\"}",
             file, sizeof file);
  r = cli(f, "profile set web --file '%s'", file);
  assert_rc(r, 0);
  assert_string_equal(f->recs[5].body, "{\"name\":\"web\"}");
  cli_run_free(&r);
  r = cli(f, "profile delete web");
  assert_rc(r, 0);
  assert_string_equal(f->recs[6].method, "DELETE");
  assert_non_null(strstr(r.out, "profile web deleted"));
  cli_run_free(&r);
  /* a file that is not JSON, or not an object: nothing sent */
  write_file(f, "bad.json", "{\"ca\": ", file, sizeof file);
  r = cli(f, "profile set web --file '%s'", file);
  assert_rc(r, 9);
  assert_non_null(strstr(r.err, "not valid JSON"));
  cli_run_free(&r);
  write_file(f, "arr.json", "[1,2]", file, sizeof file);
  r = cli(f, "profile set web --file '%s'", file);
  assert_rc(r, 9);
  cli_run_free(&r);
  assert_int_equal(fake_nrecs(f), 7);
  /* a stale If-Match is a conflict */
  fake_reset(f);
  fake_answer(f, "PUT", "/api/v1/profiles/web", 409,
              "{\"type\":\"urn:certkeeper:problem:conflict\",\"title\":"
              "\"Conflict\",\"status\":409,\"detail\":\"profile web is at "
              "version 5, not 3\"}");
  write_file(f, "web.json", "{}", file, sizeof file);
  r = cli(f, "profile set web --file '%s' --if-match 3", file);
  assert_rc(r, 7);
  assert_non_null(strstr(r.err, "version 5, not 3"));
  cli_run_free(&r);
}

static void test_owners(void **state) {
  fake *f = *state;
  cli_run r;

  fake_answer(f, "GET", "/api/v1/owners", 200,
              "{\"items\":[{\"name\":\"team-a\",\"email\":\"a@example.test\","
              "\"webhook\":\"\"}],\"next_cursor\":null}");
  fake_answer(f, "PUT", "/api/v1/owners/team-a", 200,
              "{\"name\":\"team-a\",\"email\":\"a@example.test\"}");
  fake_answer(f, "DELETE", "/api/v1/owners/team-a", 200,
              "{\"name\":\"team-a\",\"deleted\":true}");
  r = cli(f, "owner list");
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "a@example.test"));
  cli_run_free(&r);
  r = cli(f, "owner set team-a --email a@example.test --webhook "
             "https://hooks.example.test/x");
  assert_rc(r, 0);
  assert_string_equal(f->recs[1].method, "PUT");
  assert_string_equal(f->recs[1].body,
                      "{\"email\":\"a@example.test\",\"webhook\":\"https://"
                      "hooks.example.test/x\"}");
  assert_non_null(strstr(r.out, "owner team-a saved"));
  cli_run_free(&r);
  r = cli(f, "owner delete team-a --json");
  assert_rc(r, 0);
  assert_string_equal(f->recs[2].method, "DELETE");
  assert_non_null(strstr(r.out, "\"deleted\": true"));
  cli_run_free(&r);
}

static void test_cas(void **state) {
  fake *f = *state;
  cli_run r;

  fake_answer(f, "GET", "/api/v1/cas", 200,
              "{\"items\":[{\"name\":\"root\",\"default\":false,\"subject\":"
              "\"CN=certkeeper Root CA\",\"not_after\":\"2099-01-01T00:00:00Z\","
              "\"parent\":0,\"fingerprint\":\"aa\"},{\"name\":\"issuing\","
              "\"default\":true,\"subject\":\"CN=certkeeper Issuing CA\","
              "\"parent\":1,\"fingerprint\":\"bb\"}],\"next_cursor\":null}");
  r = cli(f, "ca list");
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "NAME"));
  assert_non_null(strstr(r.out, "CN=certkeeper Issuing CA"));
  assert_non_null(strstr(r.out, "yes"));
  cli_run_free(&r);
}

static void test_audit_list(void **state) {
  fake *f = *state;
  cli_run r;

  /* the trail pages by sequence number: next_cursor is the last seq */
  fake_answer_q(f, "GET", "/api/v1/audit", "limit=2&after=5", 200,
                "{\"items\":[{\"seq\":6,\"time\":\"2026-01-01T00:00:00Z\","
                "\"actor\":\"admin\",\"action\":\"cert.issue\",\"object_type\":"
                "\"cert\",\"object_id\":\"ab\",\"details\":{\"profile\":\"tls-"
                "server\"}},{\"seq\":7,\"actor\":\"admin\",\"action\":\"x\"}],"
                "\"next_cursor\":7}");
  fake_answer_q(f, "GET", "/api/v1/audit", "limit=2&after=7", 200,
                "{\"items\":[{\"seq\":8,\"actor\":\"ops\",\"action\":"
                "\"owner.put\"}],\"next_cursor\":null}");
  r = cli(f, "audit list --after 5 --limit 2 --all");
  assert_rc(r, 0);
  assert_int_equal(fake_nrecs(f), 2);
  assert_non_null(strstr(r.out, "cert.issue"));
  assert_non_null(strstr(r.out, "cert ab"));
  assert_non_null(strstr(r.out, "{\"profile\":\"tls-server\"}"));
  assert_non_null(strstr(r.out, "owner.put"));
  cli_run_free(&r);
  r = cli(f, "audit list --after 5 --limit 2");
  assert_rc(r, 0);
  assert_null(strstr(r.out, "owner.put"));
  assert_non_null(strstr(r.err, "--after 7"));
  cli_run_free(&r);
  r = cli(f, "audit list --after -1");
  assert_rc(r, 1);
  cli_run_free(&r);
}

static void test_audit_verify(void **state) {
  fake *f = *state;
  cli_run r;

  fake_answer(f, "GET", "/api/v1/audit/verify", 200,
              "{\"ok\":true,\"rows\":1234,\"head_seq\":1234}");
  r = cli(f, "audit verify");
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "intact"));
  assert_non_null(strstr(r.out, "1234"));
  cli_run_free(&r);
  fake_reset(f);
  fake_answer(f, "GET", "/api/v1/audit/verify", 200,
              "{\"ok\":false,\"first_bad\":17,\"problem\":\"modified\","
              "\"reason\":\"row 17: hash does not match its contents\","
              "\"rows\":16}");
  r = cli(f, "audit verify");
  assert_rc(r, 10);
  assert_non_null(strstr(r.out, "BROKEN at row 17"));
  assert_non_null(strstr(r.out, "hash does not match"));
  cli_run_free(&r);
  r = cli(f, "audit verify --json");
  assert_rc(r, 10);
  assert_non_null(strstr(r.out, "\"first_bad\": 17"));
  cli_run_free(&r);
  /* an auditor-less token */
  fake_reset(f);
  fake_answer(f, "GET", "/api/v1/audit/verify", 403,
              "{\"type\":\"urn:certkeeper:problem:forbidden\",\"title\":"
              "\"Forbidden\",\"status\":403,\"detail\":\"role operator may "
              "not read the audit trail\"}");
  r = cli(f, "audit verify");
  assert_rc(r, 5);
  assert_non_null(strstr(r.err, "role operator"));
  cli_run_free(&r);
  /* an answer without "ok" is not taken as intact */
  fake_reset(f);
  fake_answer(f, "GET", "/api/v1/audit/verify", 200, "{\"rows\":3}");
  r = cli(f, "audit verify");
  assert_rc(r, 8);
  cli_run_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_token_create_prints_token_alone,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_token_list, setup, teardown),
      cmocka_unit_test_setup_teardown(test_apitoken_create, setup, teardown),
      cmocka_unit_test_setup_teardown(test_agents, setup, teardown),
      cmocka_unit_test_setup_teardown(test_profiles, setup, teardown),
      cmocka_unit_test_setup_teardown(test_owners, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cas, setup, teardown),
      cmocka_unit_test_setup_teardown(test_audit_list, setup, teardown),
      cmocka_unit_test_setup_teardown(test_audit_verify, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
