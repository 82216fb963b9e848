/* test_units.c — the CLI's pure pieces in-process: the option parser
 * (cli_args.c), the output cleaner and value formatting (cli_out.c) and the
 * server URL rules (cli_conf.c). The CLI is an executable, not a library,
 * so its sources are compiled into this test directly. */
#include "tests/testutil.h"

#include <string.h>

#include "coordinator/cli/cli_args.c"
#include "coordinator/cli/cli_conf.c"
#include "coordinator/cli/cli_out.c"

static const ck_cli_opt g_opts[] = {
    {"server", "URL", 0, 0, "s"},
    {"json", NULL, 0, 0, "j"},
    {"help", NULL, 0, 0, "h"},
    {NULL, NULL, 0, 0, NULL}};
static const ck_cli_opt c_opts[] = {
    {"profile", "NAME", 1, 1, "p"},
    {"out", "FILE", 0, 0, "o"},
    {"force", NULL, 0, 0, "f"},
    {NULL, NULL, 0, 0, NULL}};

static int parse(ck_cli_args *a, char why[256], int n, ...) {
  char *argv[16];
  va_list ap;
  int i;

  va_start(ap, n);
  for (i = 0; i < n; i++)
    argv[i] = va_arg(ap, char *);
  va_end(ap);
  return ck_cli_args_parse(a, n, argv, 0, NULL, why, 256);
}

static void test_args_forms(void **state) {
  ck_cli_args *a = ck_cli_args_new(g_opts, c_opts);
  const char *const *v;
  char why[256];
  size_t n;

  (void)state;
  assert_int_equal(parse(a, why, 9, "pos1", "--profile", "a", "--profile=b",
                         "--out=x=y", "--json", "--", "--force", "-"),
                   0);
  v = ck_cli_args_all(a, "profile", &n);
  assert_int_equal(n, 2);
  assert_string_equal(v[0], "a");
  assert_string_equal(v[1], "b");
  assert_string_equal(ck_cli_args_get(a, "profile"), "b");
  assert_string_equal(ck_cli_args_get(a, "out"), "x=y");
  assert_string_equal(ck_cli_args_get(a, "json"), "");
  assert_false(ck_cli_args_has(a, "force")); /* after "--" */
  assert_null(ck_cli_args_get(a, "server"));
  v = ck_cli_args_positional(a, &n);
  assert_int_equal(n, 3);
  assert_string_equal(v[0], "pos1");
  assert_string_equal(v[1], "--force");
  assert_string_equal(v[2], "-");
  assert_int_equal(ck_cli_args_check_required(a, why, sizeof why), 0);
  ck_cli_args_free(a);
}

static void test_args_errors(void **state) {
  ck_cli_args *a;
  char why[256];
  int used = -1;
  char *argv[] = {"--json", "--server", "u", "cert", "--json"};

  (void)state;
#define BAD(msg, ...)                                                          \
  do {                                                                         \
    a = ck_cli_args_new(g_opts, c_opts);                                       \
    assert_int_equal(parse(a, why, __VA_ARGS__), -1);                          \
    assert_non_null(strstr(why, msg));                                         \
    ck_cli_args_free(a);                                                       \
  } while (0)
  BAD("unknown option '--nope'", 1, "--nope");
  BAD("unknown option '-x'", 1, "-x");
  BAD("needs a value", 1, "--out");
  BAD("takes no value", 1, "--force=yes");
  BAD("more than once", 4, "--out", "a", "--out", "b");
#undef BAD
  /* required options */
  a = ck_cli_args_new(g_opts, c_opts);
  assert_int_equal(parse(a, why, 1, "--force"), 0);
  assert_int_equal(ck_cli_args_check_required(a, why, sizeof why), -1);
  assert_non_null(strstr(why, "--profile"));
  ck_cli_args_free(a);
  /* stop at the first word (global options before the command) */
  a = ck_cli_args_new(g_opts, NULL);
  assert_int_equal(ck_cli_args_parse(a, 5, argv, 1, &used, why, sizeof why), 0);
  assert_int_equal(used, 3);
  assert_string_equal(ck_cli_args_get(a, "server"), "u");
  ck_cli_args_free(a);
  /* -h is --help */
  a = ck_cli_args_new(g_opts, c_opts);
  assert_int_equal(parse(a, why, 1, "-h"), 0);
  assert_true(ck_cli_args_has(a, "help"));
  ck_cli_args_free(a);
}

static void test_clean(void **state) {
  char out[64];

  (void)state;
  assert_string_equal(ck_cli_clean("plain text", 0, out, sizeof out),
                      "plain text");
  assert_string_equal(ck_cli_clean("a\x1b[2Jb\x07\x7f", 0, out, sizeof out),
                      "a?[2Jb??");
  assert_string_equal(ck_cli_clean("l1\nl2\r", 1, out, sizeof out),
                      "l1\nl2?");
  assert_string_equal(ck_cli_clean("l1\nl2", 0, out, sizeof out), "l1?l2");
  /* valid UTF-8 passes: é, ✓, 😀 */
  assert_string_equal(
      ck_cli_clean("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", 0, out,
                   sizeof out),
      "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80");
  /* invalid: stray continuation, 0xff, overlong '/', surrogate, C1 CSI */
  assert_string_equal(ck_cli_clean("\x80|\xff|\xc0\xaf|\xed\xa0\x80|\xc2\x9b",
                                   0, out, sizeof out),
                      "?|?|??|???|??");
  /* truncation never splits a character */
  assert_string_equal(ck_cli_clean("ab\xc3\xa9", 0, out, 4), "ab");
  assert_string_equal(ck_cli_clean(NULL, 0, out, sizeof out), "");
}

static void test_fmt_value(void **state) {
  char buf[256];
  json_t *j = json_loads(
      "{\"n\":null,\"e\":\"\",\"t\":true,\"f\":false,\"i\":42,\"a\":[\"x\",1],"
      "\"o\":[{\"k\":1}],\"m\":\"a\\nb\\n\",\"z\":[]}",
      0, NULL);

  (void)state;
  assert_non_null(j);
  assert_string_equal(ck_cli_fmt_value(json_object_get(j, "n"), buf, 256), "-");
  assert_string_equal(ck_cli_fmt_value(json_object_get(j, "e"), buf, 256), "-");
  assert_string_equal(ck_cli_fmt_value(json_object_get(j, "missing"), buf, 256),
                      "-");
  assert_string_equal(ck_cli_fmt_value(json_object_get(j, "t"), buf, 256),
                      "yes");
  assert_string_equal(ck_cli_fmt_value(json_object_get(j, "f"), buf, 256), "no");
  assert_string_equal(ck_cli_fmt_value(json_object_get(j, "i"), buf, 256), "42");
  assert_string_equal(ck_cli_fmt_value(json_object_get(j, "a"), buf, 256),
                      "x, 1");
  assert_string_equal(ck_cli_fmt_value(json_object_get(j, "o"), buf, 256),
                      "[{\"k\":1}]");
  assert_string_equal(ck_cli_fmt_value(json_object_get(j, "m"), buf, 256),
                      "a, b");
  assert_string_equal(ck_cli_fmt_value(json_object_get(j, "z"), buf, 256), "-");
  json_decref(j);
}

static int64_t fixed_now(void *arg) {
  (void)arg;
  return (int64_t)1767225600 * 1000; /* 2026-01-01T00:00:00Z */
}

static void test_fmt_expiry(void **state) {
  char buf[64];

  (void)state;
  ck_clock_set_source(fixed_now, NULL);
  assert_string_equal(ck_cli_fmt_expiry("2026-01-31T00:00:00Z", buf, 64),
                      "2026-01-31 (in 30d)");
  assert_string_equal(ck_cli_fmt_expiry("2025-12-29T00:00:00Z", buf, 64),
                      "2025-12-29 (expired 3d ago)");
  assert_string_equal(ck_cli_fmt_expiry("soon", buf, 64), "soon");
  assert_string_equal(ck_cli_fmt_expiry(NULL, buf, 64), "-");
  ck_clock_set_source(NULL, NULL);
}

static void test_server_url(void **state) {
  char why[256], *u = NULL;

  (void)state;
  assert_int_equal(ck_cli_conf_server_url("pki.test:8443", &u, why, 256), 0);
  assert_string_equal(u, "https://pki.test:8443");
  free(u);
  assert_int_equal(ck_cli_conf_server_url("https://pki.test//", &u, why, 256),
                   0);
  assert_string_equal(u, "https://pki.test");
  free(u);
  assert_int_equal(
      ck_cli_conf_server_url("https://pki.test/prefix/", &u, why, 256), 0);
  assert_string_equal(u, "https://pki.test/prefix");
  free(u);
  assert_int_equal(ck_cli_conf_server_url("http://pki.test", &u, why, 256),
                   CK_CLI_USAGE);
  assert_null(u);
  assert_int_equal(ck_cli_conf_server_url("ftp://pki.test", &u, why, 256),
                   CK_CLI_USAGE);
  assert_int_equal(ck_cli_conf_server_url("HTTPS://", &u, why, 256),
                   CK_CLI_USAGE);
  assert_int_equal(ck_cli_conf_server_url("https://", &u, why, 256),
                   CK_CLI_USAGE);
  assert_int_equal(ck_cli_conf_server_url("https://a b", &u, why, 256),
                   CK_CLI_USAGE);
  assert_int_equal(ck_cli_conf_server_url("https://a\r\nX: y", &u, why, 256),
                   CK_CLI_USAGE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_args_forms), cmocka_unit_test(test_args_errors),
      cmocka_unit_test(test_clean),      cmocka_unit_test(test_fmt_value),
      cmocka_unit_test(test_fmt_expiry), cmocka_unit_test(test_server_url),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
