/* test_log.c — both streams, both formats, redaction, escaping, levels. */
#include "tests/testutil.h"

#include <string.h>
#include <unistd.h>

#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/log.h"

typedef struct captured {
  char line[4096];
  ck_log_stream stream;
  int count;
} captured;

static void hook(ck_log_stream s, ck_log_level lvl, const char *line, void *arg) {
  captured *c = arg;

  (void)lvl;
  snprintf(c->line, sizeof c->line, "%s", line);
  c->stream = s;
  c->count++;
}

static int64_t fixed_clock(void *arg) {
  (void)arg;
  return 1864555200123LL;
}

static int setup(void **state) {
  static captured cap;

  memset(&cap, 0, sizeof cap);
  ck_clock_set_source(fixed_clock, NULL);
  ck_log_set_hook(hook, &cap);
  ck_log_set_ident("cktest");
  assert_int_equal(ck_log_configure(CK_LOG_OPS, "none", CK_LOG_FMT_KV, CK_LOG_INFO, NULL), CK_OK);
  assert_int_equal(ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_JSON, CK_LOG_DEBUG, NULL), CK_OK);
  *state = &cap;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ck_log_set_hook(NULL, NULL);
  ck_clock_set_source(NULL, NULL);
  ck_log_shutdown();
  return 0;
}

static void kv_format(void **state) {
  captured *c = *state;

  ck_log(CK_LOG_OPS, CK_LOG_INFO, "renew.done", CK_S("host", "web 1"),
         CK_I("ms", 42), CK_B("ok", 1), CK_S("quote", "a\"b"));
  assert_int_equal(c->count, 1);
  assert_int_equal(c->stream, CK_LOG_OPS);
  assert_non_null(strstr(c->line, "ts=2029-01-31T12:00:00.123Z level=info stream=ops "
                                  "event=renew.done host=\"web 1\" ms=42 ok=true "
                                  "quote=\"a\\\"b\""));
}

static void json_format_and_security_stream(void **state) {
  captured *c = *state;

  ck_log(CK_LOG_SEC, CK_LOG_WARN, "auth.failure", CK_S("peer", "127.0.0.1:5"),
         CK_S("reason", "line1\nline2\x01"));
  assert_int_equal(c->stream, CK_LOG_SEC);
  assert_string_equal(c->line,
                      "{\"ts\":\"2029-01-31T12:00:00.123Z\",\"level\":\"warn\","
                      "\"stream\":\"security\",\"prog\":\"cktest\","
                      "\"event\":\"auth.failure\",\"peer\":\"127.0.0.1:5\","
                      "\"reason\":\"line1\\nline2\\u0001\"}");
}

static void secrets_are_redacted(void **state) {
  captured *c = *state;

  ck_log(CK_LOG_OPS, CK_LOG_INFO, "enroll", CK_S("token", "s3cr3t-token"),
         CK_S("admin_password", "hunter2"), CK_S("key_pem", "-----BEGIN"));
  assert_null(strstr(c->line, "s3cr3t"));
  assert_null(strstr(c->line, "hunter2"));
  assert_null(strstr(c->line, "BEGIN"));
  assert_non_null(strstr(c->line, "token=[redacted]"));
  ck_log(CK_LOG_SEC, CK_LOG_INFO, "enroll", CK_S("token", "s3cr3t-token"));
  assert_null(strstr(c->line, "s3cr3t"));
  assert_non_null(strstr(c->line, "\"token\":\"[redacted]\""));
}

static void levels_filter(void **state) {
  captured *c = *state;
  ck_log_level lvl;

  ck_log(CK_LOG_OPS, CK_LOG_DEBUG, "noise");
  assert_int_equal(c->count, 0);
  ck_log(CK_LOG_OPS, CK_LOG_ERR, "boom", CK_E(CK_ERR_TIMEOUT, "no answer"));
  assert_int_equal(c->count, 1);
  assert_non_null(strstr(c->line, "err=CK_ERR_TIMEOUT msg=\"no answer\""));
  assert_int_equal(ck_log_level_parse("warn", &lvl), CK_OK);
  assert_int_equal(lvl, CK_LOG_WARN);
  assert_int_equal(ck_log_level_parse("loud", &lvl), CK_ERR_PARSE);
}

static void file_destination_and_bad_destination(void **state) {
  char *dir = ck_test_tmpdir();
  char dest[600], path[512];
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *buf = NULL;
  size_t len;

  (void)state;
  snprintf(path, sizeof path, "%s/sec.log", dir);
  snprintf(dest, sizeof dest, "file:%s", path);
  assert_int_equal(ck_log_configure(CK_LOG_SEC, dest, CK_LOG_FMT_JSON, CK_LOG_INFO, &err), CK_OK);
  ck_log(CK_LOG_SEC, CK_LOG_NOTICE, "policy.violation", CK_S("profile", "tls-server"));
  ck_log(CK_LOG_OPS, CK_LOG_NOTICE, "not.here");
  assert_int_equal(ck_fs_read_file(path, 65536, &buf, &len, &err), CK_OK);
  assert_non_null(strstr((char *)buf, "\"event\":\"policy.violation\""));
  assert_null(strstr((char *)buf, "not.here"));
  assert_int_equal(((char *)buf)[len - 1], '\n');
  free(buf);
  assert_int_equal(ck_log_configure(CK_LOG_OPS, "carrier-pigeon", CK_LOG_FMT_KV, CK_LOG_INFO, &err),
                   CK_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "carrier-pigeon"));
  ck_log_shutdown();
  ck_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(kv_format, setup, teardown),
      cmocka_unit_test_setup_teardown(json_format_and_security_stream, setup, teardown),
      cmocka_unit_test_setup_teardown(secrets_are_redacted, setup, teardown),
      cmocka_unit_test_setup_teardown(levels_filter, setup, teardown),
      cmocka_unit_test_setup_teardown(file_destination_and_bad_destination, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
