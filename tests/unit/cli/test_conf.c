/* test_conf.c — how the CLI finds its server, trust and token (flags >
 * environment > config file), that it verifies the server against
 * --cacert and refuses an untrusted one, that the token never appears in
 * its output and cannot be given on the command line, that every command
 * has --help, and that server text cannot inject terminal controls. Runs
 * the real binary against the fake API (fake_api.h). */
#include "tests/unit/cli/fake_api.h"

#define CA_LIST "{\"items\":[{\"name\":\"issuing\"}],\"next_cursor\":null}"
#define UNAUTH                                                                 \
  "{\"type\":\"urn:certkeeper:problem:unauthorized\",\"title\":"              \
  "\"Unauthorized\",\"status\":401,\"detail\":\"unknown or expired token\"}"

static int setup(void **state) {
  *state = fake_start();
  return 0;
}

static int teardown(void **state) {
  fake_stop(*state);
  return 0;
}

static void put(const char *path, const char *text) {
  ck_errctx err = CK_ERRCTX_INIT;
  assert_int_equal(ck_fs_write_atomic(path, text, strlen(text), 0600, &err),
                   CK_OK);
}

static const char *last_auth(fake *f) {
  assert_true(fake_nrecs(f) > 0);
  return f->recs[f->nrecs - 1].auth;
}

/* Writes <HOME>/.config/certkeeper/cli.conf pointing at the fake, with a
 * token file named relative to the config file. */
static void default_config(fake *f) {
  char dir[700], path[800], text[2048];
  ck_errctx err = CK_ERRCTX_INIT;

  snprintf(dir, sizeof dir, "%s/.config/certkeeper", f->dir);
  assert_int_equal(ck_fs_mkdir_p(dir, 0700, &err), CK_OK);
  snprintf(path, sizeof path, "%s/file.token", dir);
  put(path, "  cka_from_file  \n");
  snprintf(path, sizeof path, "%s/cli.conf", dir);
  snprintf(text, sizeof text,
           "# certkeeper CLI\n[server]\nurl = https://127.0.0.1:%d/\n"
           "cacert = %s\ntoken_file = file.token\ntimeout = 20s\n",
           f->port, ck_test_data("tls/root-ca.pem"));
  put(path, text);
}

static void test_precedence(void **state) {
  fake *f = *state;
  char envs[2048], other[800];
  cli_run r;

  fake_answer(f, "GET", "/api/v1/cas", 200, CA_LIST);
  default_config(f);
  /* the config file alone: url, cacert, token_file (relative) */
  r = cli_env(f, "", "ca list");
  assert_rc(r, 0);
  assert_string_equal(last_auth(f), "Bearer cka_from_file");
  assert_non_null(strstr(r.out, "issuing"));
  cli_run_free(&r);
  /* environment beats the file */
  r = cli_env(f, "CERTKEEPER_TOKEN=cka_from_env", "ca list");
  assert_rc(r, 0);
  assert_string_equal(last_auth(f), "Bearer cka_from_env");
  cli_run_free(&r);
  r = cli_env(f, "CERTKEEPER_SERVER=https://127.0.0.1:1", "ca list");
  assert_rc(r, 2);
  cli_run_free(&r);
  snprintf(envs, sizeof envs, "CERTKEEPER_CACERT='%s'",
           ck_test_data("tls/other-ca.pem"));
  r = cli_env(f, envs, "ca list");
  assert_rc(r, 2);
  cli_run_free(&r);
  /* flags beat the environment */
  snprintf(envs, sizeof envs,
           "CERTKEEPER_TOKEN=cka_from_env "
           "CERTKEEPER_SERVER=https://127.0.0.1:1 CERTKEEPER_CACERT='%s'",
           ck_test_data("tls/other-ca.pem"));
  r = cli_env(f, envs,
              "ca list --server https://127.0.0.1:%d --cacert '%s' "
              "--token-file '%s'",
              f->port, ck_test_data("tls/root-ca.pem"), f->token_file);
  assert_rc(r, 0);
  assert_string_equal(last_auth(f), "Bearer " TEST_TOKEN);
  cli_run_free(&r);
  /* CERTKEEPER_TOKEN_FILE, below CERTKEEPER_TOKEN */
  snprintf(envs, sizeof envs, "CERTKEEPER_TOKEN_FILE='%s'", f->token_file);
  r = cli_env(f, envs, "ca list");
  assert_rc(r, 0);
  assert_string_equal(last_auth(f), "Bearer " TEST_TOKEN);
  cli_run_free(&r);
  /* CERTKEEPER_CONFIG and --config name another file */
  snprintf(other, sizeof other, "%s/other.conf", f->dir);
  snprintf(envs, sizeof envs, "[server]\nurl = 127.0.0.1:%d\ncacert = %s\n"
                              "token_file = %s\n",
           f->port, ck_test_data("tls/root-ca.pem"), f->token_file);
  put(other, envs);
  snprintf(envs, sizeof envs, "CERTKEEPER_CONFIG='%s'", other);
  r = cli_env(f, envs, "ca list");
  assert_rc(r, 0);
  assert_string_equal(last_auth(f), "Bearer " TEST_TOKEN);
  cli_run_free(&r);
  r = cli_env(f, "", "--config '%s' ca list", other);
  assert_rc(r, 0);
  assert_string_equal(last_auth(f), "Bearer " TEST_TOKEN);
  cli_run_free(&r);
  /* a named config that is missing is an error, a typo names file:line */
  r = cli_env(f, "", "ca list --config /nonexistent/cli.conf");
  assert_rc(r, 9);
  assert_non_null(strstr(r.err, "/nonexistent/cli.conf"));
  cli_run_free(&r);
  put(other, "[server]\nurl = https://127.0.0.1:1\ntoken_flie = x\n");
  r = cli_env(f, "", "ca list --config '%s'", other);
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "other.conf:3"));
  assert_non_null(strstr(r.err, "token_flie"));
  cli_run_free(&r);
}

/* $XDG_CONFIG_HOME/certkeeper/cli.conf is the default when set. */
static void test_xdg_config(void **state) {
  fake *f = *state;
  char dir[700], path[800], text[2048], envs[800];
  ck_errctx err = CK_ERRCTX_INIT;
  cli_run r;

  fake_answer(f, "GET", "/api/v1/cas", 200, CA_LIST);
  snprintf(dir, sizeof dir, "%s/xdg/certkeeper", f->dir);
  assert_int_equal(ck_fs_mkdir_p(dir, 0700, &err), CK_OK);
  snprintf(path, sizeof path, "%s/cli.conf", dir);
  snprintf(text, sizeof text,
           "[server]\nurl = https://127.0.0.1:%d\ncacert = %s\n"
           "token_file = %s\n",
           f->port, ck_test_data("tls/root-ca.pem"), f->token_file);
  put(path, text);
  snprintf(envs, sizeof envs, "XDG_CONFIG_HOME='%s/xdg'", f->dir);
  r = cli_env(f, envs, "ca list");
  assert_rc(r, 0);
  cli_run_free(&r);
  /* nothing configured at all: a usage error naming the ways to set it */
  r = cli_env(f, "", "ca list");
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "CERTKEEPER_SERVER"));
  cli_run_free(&r);
}

static void test_tls_trust(void **state) {
  fake *f = *state;
  cli_run r;

  fake_answer(f, "GET", "/api/v1/cas", 200, CA_LIST);
  /* a server whose chain does not lead to --cacert: refused before any
   * request (or token) is sent */
  r = cli_env(f, "",
              "ca list --server https://127.0.0.1:%d --cacert '%s' "
              "--token-file '%s'",
              f->port, ck_test_data("tls/other-ca.pem"), f->token_file);
  assert_rc(r, 2);
  assert_non_null(strstr(r.err, "not trusted"));
  assert_int_equal(fake_nrecs(f), 0);
  cli_run_free(&r);
  /* no --cacert: the system store, which does not hold the test root */
  r = cli_env(f, "",
              "ca list --server https://127.0.0.1:%d --token-file '%s'",
              f->port, f->token_file);
  assert_rc(r, 2);
  assert_int_equal(fake_nrecs(f), 0);
  cli_run_free(&r);
  /* the right root, reached by name too */
  r = cli_env(f, "",
              "ca list --server https://localhost:%d --cacert '%s' "
              "--token-file '%s'",
              f->port, ck_test_data("tls/root-ca.pem"), f->token_file);
  assert_rc(r, 0);
  assert_int_equal(fake_nrecs(f), 1);
  cli_run_free(&r);
  /* a --cacert that cannot be read is a local error */
  r = cli_env(f, "",
              "ca list --server https://127.0.0.1:%d --cacert /nonexistent.pem "
              "--token-file '%s'",
              f->port, f->token_file);
  assert_rc(r, 9);
  cli_run_free(&r);
  /* plain http is refused outright */
  r = cli_env(f, "",
              "ca list --server http://127.0.0.1:%d --token-file '%s'",
              f->port, f->token_file);
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "https"));
  cli_run_free(&r);
  /* nothing listening */
  r = cli_env(f, "",
              "ca list --server https://127.0.0.1:1 --cacert '%s' "
              "--token-file '%s'",
              ck_test_data("tls/root-ca.pem"), f->token_file);
  assert_rc(r, 2);
  cli_run_free(&r);
  assert_int_equal(fake_nrecs(f), 1);
}

static void test_token_hygiene(void **state) {
  fake *f = *state;
  char path[800];
  cli_run r;

  fake_answer(f, "GET", "/api/v1/cas", 401, UNAUTH);
  /* no --token flag: tokens on the command line leak through ps */
  r = cli(f, "ca list --token cka_visible");
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "unknown option '--token'"));
  cli_run_free(&r);
  /* a refused token: exit 5, the token in no output */
  r = cli(f, "ca list");
  assert_rc(r, 5);
  assert_non_null(strstr(r.err, "unknown or expired token"));
  assert_null(strstr(r.err, TEST_TOKEN));
  assert_null(strstr(r.out, TEST_TOKEN));
  cli_run_free(&r);
  r = cli_env(f, "CERTKEEPER_TOKEN=cka_env_secret",
              "ca list --server https://127.0.0.1:%d --cacert '%s'", f->port,
              ck_test_data("tls/root-ca.pem"));
  assert_rc(r, 5);
  assert_null(strstr(r.err, "cka_env_secret"));
  cli_run_free(&r);
  /* bad token files */
  snprintf(path, sizeof path, "%s/empty.token", f->dir);
  put(path, "\n\n");
  r = cli_env(f, "", "ca list --server https://127.0.0.1:%d --token-file '%s'",
              f->port, path);
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "empty"));
  cli_run_free(&r);
  snprintf(path, sizeof path, "%s/space.token", f->dir);
  put(path, "cka_half secret\n");
  r = cli_env(f, "", "ca list --server https://127.0.0.1:%d --token-file '%s'",
              f->port, path);
  assert_rc(r, 1);
  assert_null(strstr(r.err, "cka_half"));
  cli_run_free(&r);
  r = cli_env(f, "",
              "ca list --server https://127.0.0.1:%d --token-file /nonexistent",
              f->port);
  assert_rc(r, 9);
  cli_run_free(&r);
  r = cli_env(f, "", "ca list --server https://127.0.0.1:%d", f->port);
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "CERTKEEPER_TOKEN"));
  cli_run_free(&r);
  assert_int_equal(fake_nrecs(f), 2);
}

static void test_help_everywhere(void **state) {
  fake *f = *state;
  static const char *const cmds[] = {
      "cert issue",   "cert list",      "cert show",     "cert revoke",
      "token create", "token list",     "api-token create", "agent list",
      "agent show",   "profile list",   "profile show",  "profile set",
      "profile delete", "owner list",   "owner set",     "owner delete",
      "ca list",      "audit list",     "audit verify",  NULL};
  char want[128];
  size_t i;
  cli_run r;

  for (i = 0; cmds[i] != NULL; i++) {
    /* help needs no server, token or config */
    r = cli_env(f, "", "%s --help", cmds[i]);
    assert_rc(r, 0);
    snprintf(want, sizeof want, "usage: certkeeper %s", cmds[i]);
    assert_true(strncmp(r.out, want, strlen(want)) == 0);
    assert_non_null(strstr(r.out, "--server URL"));
    cli_run_free(&r);
  }
  r = cli_env(f, "", "--help");
  assert_rc(r, 0);
  for (i = 0; cmds[i] != NULL; i++)
    assert_non_null(strstr(r.out, cmds[i]));
  assert_non_null(strstr(r.out, "exit codes"));
  cli_run_free(&r);
  r = cli_env(f, "", "cert");
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "usage: certkeeper cert"));
  cli_run_free(&r);
  r = cli_env(f, "", "cert -h");
  assert_rc(r, 0);
  cli_run_free(&r);
  r = cli_env(f, "", "%s", "");
  assert_rc(r, 1);
  cli_run_free(&r);
  r = cli_env(f, "", "frobnicate");
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "unknown command 'frobnicate'"));
  cli_run_free(&r);
  r = cli_env(f, "", "cert frobnicate");
  assert_rc(r, 1);
  cli_run_free(&r);
  r = cli_env(f, "", "cert list --frobnicate");
  assert_rc(r, 1);
  cli_run_free(&r);
  r = cli_env(f, "", "cert show a b");
  assert_rc(r, 1);
  assert_non_null(strstr(r.err, "too many arguments"));
  cli_run_free(&r);
  r = cli_env(f, "", "--version");
  assert_rc(r, 0);
  assert_true(strncmp(r.out, "certkeeper ", 11) == 0);
  cli_run_free(&r);
  assert_int_equal(fake_nrecs(f), 0);
}

/* Global options before the command, "--opt=value", and "--" before a
 * positional that starts with a dash. */
static void test_option_forms(void **state) {
  fake *f = *state;
  cli_run r;

  fake_answer(f, "GET", "/api/v1/cas", 200, CA_LIST);
  fake_answer(f, "GET", "/api/v1/agents/-odd", 200, "{\"id\":\"-odd\"}");
  r = cli_env(f, "",
              "--server=https://127.0.0.1:%d --cacert '%s' --json "
              "--token-file='%s' ca list",
              f->port, ck_test_data("tls/root-ca.pem"), f->token_file);
  assert_rc(r, 0);
  assert_non_null(strstr(r.out, "\"items\": ["));
  cli_run_free(&r);
  r = cli_env(f, "",
              "--server https://127.0.0.1:%d --cacert '%s' --token-file '%s' "
              "agent show -- -odd",
              f->port, ck_test_data("tls/root-ca.pem"), f->token_file);
  assert_rc(r, 0);
  assert_string_equal(f->recs[1].path, "/api/v1/agents/-odd");
  cli_run_free(&r);
  r = cli(f, "ca list --timeout never");
  assert_rc(r, 1);
  cli_run_free(&r);
  r = cli(f, "ca list --timeout 5s");
  assert_rc(r, 0);
  cli_run_free(&r);
}

/* Text from the server cannot drive the terminal. */
static void test_terminal_injection(void **state) {
  fake *f = *state;
  cli_run r;

  fake_answer(f, "GET", "/api/v1/cas", 200,
              "{\"items\":[{\"name\":\"evil\\u001b]0;owned\\u0007\","
              "\"subject\":\"CN=\\u001b[2Jx\\u009b1m\"}]}");
  fake_answer(f, "GET", "/api/v1/agents/x", 404,
              "{\"type\":\"urn:certkeeper:problem:not-found\",\"status\":404,"
              "\"title\":\"Not Found\",\"detail\":\"no agent "
              "\\u001b[31mx\\r\\nfake line\"}");
  r = cli(f, "ca list");
  assert_rc(r, 0);
  assert_null(strchr(r.out, '\x1b'));
  assert_null(strchr(r.out, '\x07'));
  assert_null(strstr(r.out, "\xc2\x9b"));
  assert_non_null(strstr(r.out, "evil?]0;owned?"));
  cli_run_free(&r);
  r = cli(f, "agent show x");
  assert_rc(r, 6);
  assert_null(strchr(r.err, '\x1b'));
  assert_null(strchr(r.err, '\r'));
  assert_non_null(strstr(r.err, "no agent ?[31mx??fake line"));
  cli_run_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
      cmocka_unit_test_setup_teardown(test_xdg_config, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tls_trust, setup, teardown),
      cmocka_unit_test_setup_teardown(test_token_hygiene, setup, teardown),
      cmocka_unit_test_setup_teardown(test_help_everywhere, setup, teardown),
      cmocka_unit_test_setup_teardown(test_option_forms, setup, teardown),
      cmocka_unit_test_setup_teardown(test_terminal_injection, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
