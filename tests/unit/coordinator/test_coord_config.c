/* test_coord_config.c — coordinator.conf resolved into ck_coord_settings:
 * the [gateway] keys (defaults, values, bounds, the idle/ping rule), and a
 * docs check that every key of ck_coord_cfg_keys has a row in
 * docs/coordinator.md's table. */
#include "tests/testutil.h"

#include <string.h>

#include "common/util/fs.h"
#include "common/util/mem.h"
#include "coordinator/core/coord.h"

static char *dir;

static int setup(void **state) {
  (void)state;
  dir = ck_test_tmpdir();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ck_test_rmtree(dir);
  free(dir);
  return 0;
}

/* Writes coordinator.conf with body and loads it. */
static ck_err load(const char *body, ck_coord_settings *set, ck_errctx *err) {
  char path[4200];
  ck_config *cfg = NULL;
  ck_err rc;

  snprintf(path, sizeof path, "%s/%s", dir, CK_COORD_CONF);
  assert_int_equal(ck_fs_write_atomic(path, body, strlen(body), 0600, NULL),
                   CK_OK);
  rc = ck_coord_load_settings(dir, NULL, &cfg, set, err);
  ck_config_free(cfg);
  return rc;
}

static void test_gateway_defaults(void **state) {
  ck_coord_settings set;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  if (load("[listen]\nhttp = 127.0.0.1:1\n", &set, &err) != CK_OK)
    fail_msg("%s", ck_errctx_msg(&err));
  assert_int_equal(set.gw.max_sessions, 10000);
  assert_int_equal(set.gw.idle_timeout, 180);
  assert_int_equal(set.gw.ping_interval, 60);
  assert_int_equal(set.gw.identity_validity, 90 * 86400);
  assert_int_equal(set.gw.max_inflight, 32);
  assert_int_equal(set.gw.max_frame, 1048576);
}

static void test_gateway_values(void **state) {
  ck_coord_settings set;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  if (load("[gateway]\nmax_sessions = 500\nidle_timeout = 10m\n"
           "ping_interval = 2m\nidentity_validity = 30d\nmax_inflight = 8\n"
           "max_frame = 256KiB\n",
           &set, &err) != CK_OK)
    fail_msg("%s", ck_errctx_msg(&err));
  assert_int_equal(set.gw.max_sessions, 500);
  assert_int_equal(set.gw.idle_timeout, 600);
  assert_int_equal(set.gw.ping_interval, 120);
  assert_int_equal(set.gw.identity_validity, 30 * 86400);
  assert_int_equal(set.gw.max_inflight, 8);
  assert_int_equal(set.gw.max_frame, 262144);
}

static void expect_refused(const char *body, const char *needle) {
  ck_coord_settings set;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc = load(body, &set, &err);

  if (rc == CK_OK)
    fail_msg("accepted: %s", body);
  if (strstr(ck_errctx_msg(&err), needle) == NULL)
    fail_msg("'%s' does not mention '%s'", ck_errctx_msg(&err), needle);
}

static void test_gateway_refused(void **state) {
  (void)state;
  expect_refused("[gateway]\nidle_timeout = 30s\nping_interval = 60s\n",
                 "idle_timeout");
  expect_refused("[gateway]\nmax_sessions = 0\n", "max_sessions");
  expect_refused("[gateway]\nidentity_validity = 1m\n", "identity_validity");
  expect_refused("[gateway]\nmax_frame = 1GiB\n", "max_frame");
  expect_refused("[gateway]\nmax_sesions = 5\n", "max_sesions");
}

/* Every key of the schema (not the chained [log] ones, documented in
 * configuration.md) has a row "| `section` | `key` |" in the table. */
static void test_doc_table(void **state) {
  const char *src = getenv("CK_SOURCE_DIR");
  char path[4200], row[600];
  uint8_t *doc = NULL;
  size_t len = 0, i;

  (void)state;
  assert_non_null(src);
  snprintf(path, sizeof path, "%s/docs/coordinator.md", src);
  assert_int_equal(ck_fs_read_file(path, 1 << 20, &doc, &len, NULL), CK_OK);
  for (i = 0; ck_coord_cfg_keys[i].key != NULL; i++) {
    snprintf(row, sizeof row, "| `%s` | `%s` |", ck_coord_cfg_keys[i].section,
             ck_coord_cfg_keys[i].key);
    if (strstr((char *)doc, row) == NULL)
      fail_msg("docs/coordinator.md has no row '%s'", row);
  }
  free(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_gateway_defaults, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gateway_values, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gateway_refused, setup, teardown),
      cmocka_unit_test(test_doc_table),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
