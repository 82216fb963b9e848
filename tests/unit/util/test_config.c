/* test_config.c — schema-checked INI loading; every error names file:line
 * and the key. */
#include "tests/testutil.h"

#include <string.h>

#include "common/util/config.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/log_config.h"

static const ck_cfg_key schema[] = {
    {"log", "level", CK_CFG_STRING, "info", 0, 0, "minimum level", NULL},
    {"log", "json", CK_CFG_BOOL, "false", 0, 0, "JSON lines", NULL},
    {"gateway", "listen", CK_CFG_ADDR, "127.0.0.1:8444", 0, 0, "agent port", NULL},
    {"gateway", "max_frame", CK_CFG_SIZE, "1MiB", 1024, 64 * 1024 * 1024, "frame limit", NULL},
    {"gateway", "workers", CK_CFG_INT, "4", 1, 64, "threads", NULL},
    {"renew", "before", CK_CFG_DURATION, "30d", 3600, 0x7fffffff, "window", NULL},
    {"discover", "roots", CK_CFG_LIST, "", 0, 0, "where to look", NULL},
    {"profile:*", "ttl", CK_CFG_DURATION, NULL, 0, 0, "validity", NULL},
    {NULL, NULL, 0, NULL, 0, 0, NULL, ck_log_cfg_keys},
};

static ck_config *load_ok(const char *text) {
  ck_config *cfg = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc = ck_config_load_string("t.conf", text, schema, &cfg, &err);

  if (rc != CK_OK)
    print_error("unexpected: %s\n", err.msg);
  assert_int_equal(rc, CK_OK);
  return cfg;
}

static void expect_error(const char *text, const char *msg) {
  ck_config *cfg = NULL;
  ck_errctx err = CK_ERRCTX_INIT;

  assert_int_equal(ck_config_load_string("t.conf", text, schema, &cfg, &err), CK_ERR_CONFIG);
  assert_null(cfg);
  if (strcmp(err.msg, msg) != 0)
    print_error("got:  %s\nwant: %s\n", err.msg, msg);
  assert_string_equal(err.msg, msg);
}

static void typed_values_and_defaults(void **state) {
  ck_config *cfg = load_ok("# comment\n"
                           "[log]\n"
                           "level = debug\n"
                           "json = yes\n"
                           "\n"
                           "[gateway]\n"
                           "listen = [::1]:9000\n"
                           "max_frame = 64KiB ; inline comment\n"
                           "[renew]\n"
                           "before = 12h\n"
                           "[discover]\n"
                           "roots = /etc/ssl, /etc/pki\n"
                           "roots = /opt\n"
                           "[profile:web]\n"
                           "ttl = 47d\n"
                           "[profile:iot]\n"
                           "ttl = 1w\n");
  const char *s;
  int64_t n;
  int b;
  const char *const *items;
  size_t ni;
  char where[128];

  (void)state;
  assert_int_equal(ck_config_str(cfg, "log", "level", &s), CK_OK);
  assert_string_equal(s, "debug");
  assert_int_equal(ck_config_bool(cfg, "log", "json", &b), CK_OK);
  assert_int_equal(b, 1);
  assert_int_equal(ck_config_str(cfg, "gateway", "listen", &s), CK_OK);
  assert_string_equal(s, "[::1]:9000");
  assert_int_equal(ck_config_num(cfg, "gateway", "max_frame", &n), CK_OK);
  assert_int_equal(n, 65536);
  assert_int_equal(ck_config_int(cfg, "gateway", "workers", &n), CK_OK);
  assert_int_equal(n, 4); /* default */
  assert_int_equal(ck_config_num(cfg, "renew", "before", &n), CK_OK);
  assert_int_equal(n, 12 * 3600);
  assert_int_equal(ck_config_list(cfg, "discover", "roots", &items, &ni), CK_OK);
  assert_int_equal(ni, 3);
  assert_string_equal(items[0], "/etc/ssl");
  assert_string_equal(items[1], "/etc/pki");
  assert_string_equal(items[2], "/opt");
  assert_int_equal(ck_config_num(cfg, "profile:web", "ttl", &n), CK_OK);
  assert_int_equal(n, 47 * 86400);
  assert_int_equal(ck_config_sections(cfg, "profile:*", &items, &ni), CK_OK);
  assert_int_equal(ni, 2);
  assert_string_equal(items[0], "profile:web");
  assert_string_equal(items[1], "profile:iot");
  {
    /* results stay valid across other calls (borrowed until free), so
     * threads may list sections at once */
    const char *const *other = NULL, *const *again = NULL;
    size_t no = 9, na = 0;
    assert_int_equal(ck_config_sections(cfg, "nosuch:*", &other, &no), CK_OK);
    assert_int_equal(no, 0);
    assert_int_equal(ck_config_sections(cfg, "profile:*", &again, &na), CK_OK);
    assert_int_equal(na, 2);
    assert_ptr_equal(again, items);
    assert_string_equal(items[0], "profile:web");
    assert_string_equal(items[1], "profile:iot");
  }
  assert_int_equal(ck_config_num(cfg, "profile:none", "ttl", &n), CK_ERR_NOENT);
  assert_int_equal(ck_config_str(cfg, "log", "nonsense", &s), CK_ERR_INVAL);
  assert_string_equal(ck_config_where(cfg, "renew", "before", where, sizeof where), "t.conf:10");
  ck_config_free(cfg);
}

static void errors_name_file_line_and_key(void **state) {
  (void)state;
  expect_error("[log]\nlevel = info\nlevle = debug\n", "t.conf:3: [log] levle: unknown key");
  expect_error("[lgo]\nlevel = info\n", "t.conf:2: [lgo] level: unknown section");
  expect_error("[gateway]\n\nworkers = many\n",
               "t.conf:3: [gateway] workers: 'many' is not an integer");
  expect_error("[gateway]\nworkers = 65\n",
               "t.conf:2: [gateway] workers: '65' is out of range [1, 64]");
  expect_error("[gateway]\nlisten = somewhere\n",
               "t.conf:2: [gateway] listen: 'somewhere' is not an address (HOST:PORT "
               "or [IPv6]:PORT with a numeric host)");
  expect_error("[renew]\nbefore = soon\n",
               "t.conf:2: [renew] before: 'soon' is not a duration (e.g. 90s, 15m, 12h, 30d, 2w)");
  expect_error("[log]\njson = maybe\n",
               "t.conf:2: [log] json: 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)");
  expect_error("[log]\nlevel = a\nlevel = b\n",
               "t.conf:3: [log] level: set twice (first at line 2)");
  expect_error("level = a\n", "t.conf:1: key 'level': outside any [section]");
  expect_error("[log]\nthis line has no equals sign\n",
               "t.conf:2: syntax error (expected [section] or key = value)");
  expect_error("[log\n", "t.conf:1: syntax error (expected [section] or key = value)");
}

static void long_line_is_an_error_not_a_split(void **state) {
  char text[1024];

  (void)state;
  snprintf(text, sizeof text, "[log]\nlevel = %0600d\n", 7);
  {
    ck_config *cfg = NULL;
    ck_errctx err = CK_ERRCTX_INIT;
    assert_int_equal(ck_config_load_string("t.conf", text, schema, &cfg, &err), CK_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "t.conf:2: line longer than"));
  }
}

static void load_from_file(void **state) {
  char *dir = ck_test_tmpdir();
  char path[512];
  ck_config *cfg = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  const char *s;

  (void)state;
  snprintf(path, sizeof path, "%s/agent.conf", dir);
  assert_int_equal(ck_fs_write_atomic(path, "[log]\nlevel = warn\r\n", 20, 0644, &err), CK_OK);
  assert_int_equal(ck_config_load(path, schema, &cfg, &err), CK_OK);
  assert_int_equal(ck_config_str(cfg, "log", "level", &s), CK_OK);
  assert_string_equal(s, "warn");
  ck_config_free(cfg);
  assert_int_equal(ck_fs_write_atomic(path, "[log]\nx = 1\n", 12, 0644, &err), CK_OK);
  assert_int_equal(ck_config_load(path, schema, &cfg, &err), CK_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "/agent.conf:2: [log] x: unknown key"));
  snprintf(path, sizeof path, "%s/missing.conf", dir);
  assert_int_equal(ck_config_load(path, schema, &cfg, &err), CK_ERR_NOENT);
  assert_non_null(strstr(err.msg, "missing.conf"));
  ck_test_rmtree(dir);
  free(dir);
}

static void empty_config_gives_defaults(void **state) {
  ck_config *cfg = NULL;
  int64_t n;

  (void)state;
  assert_int_equal(ck_config_new_empty(schema, &cfg), CK_OK);
  assert_int_equal(ck_config_num(cfg, "renew", "before", &n), CK_OK);
  assert_int_equal(n, 30 * 86400);
  ck_config_free(cfg);
}

static void log_section_chains_and_applies(void **state) {
  ck_config *cfg = NULL;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  /* [log] format is not in the test's own table: it comes from the chained
   * shared schema, and applying it configures the streams. */
  cfg = load_ok("[log]\nformat = json\nsecurity = none\nops = stderr\n");
  assert_int_equal(ck_log_config_apply(cfg, &err), CK_OK);
  ck_config_free(cfg);
  cfg = load_ok("[log]\nformat = xml\n");
  assert_int_equal(ck_log_config_apply(cfg, &err), CK_ERR_CONFIG);
  assert_string_equal(err.msg, "t.conf:2: [log] format: 'xml' is not kv or json");
  ck_config_free(cfg);
  cfg = load_ok("[log]\nops = tape\n");
  assert_int_equal(ck_log_config_apply(cfg, &err), CK_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "t.conf:2: [log] ops: log destination 'tape'"));
  ck_config_free(cfg);
  ck_log_shutdown();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(typed_values_and_defaults),
      cmocka_unit_test(errors_name_file_line_and_key),
      cmocka_unit_test(long_line_is_an_error_not_a_split),
      cmocka_unit_test(load_from_file),
      cmocka_unit_test(empty_config_gives_defaults),
      cmocka_unit_test(log_section_chains_and_applies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
