/* test_state.c — the agent's state directory writer (agent/link/state.c):
 * file modes (key 0600 from creation, directory 0700), contents, refusal to
 * overwrite an existing enrollment without force, atomic replacement with
 * force, and specific errors for bad input. */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/link/state.h"
#include "common/util/fs.h"

static ck_state_files files(const char *id, const char *key) {
  ck_state_files f;

  memset(&f, 0, sizeof f);
  f.agent_id = id;
  f.server = "127.0.0.1:8443";
  f.ca_fingerprint = "ab01";
  f.enrolled_at = 1700000000;
  f.key_pem = key;
  f.key_pem_len = strlen(key);
  f.cert_pem = "CERT\n";
  f.cert_pem_len = 5;
  f.ca_pem = "CA\n";
  f.ca_pem_len = 3;
  return f;
}

static mode_t mode_of(const char *dir, const char *name) {
  char p[4096];
  struct stat st;

  snprintf(p, sizeof p, "%s%s%s", dir, name ? "/" : "", name ? name : "");
  assert_int_equal(stat(p, &st), 0);
  return st.st_mode & 07777;
}

static char *read_in(const char *dir, const char *name) {
  char p[4096];
  uint8_t *d = NULL;
  size_t n = 0;

  snprintf(p, sizeof p, "%s/%s", dir, name);
  assert_int_equal(ck_fs_read_file(p, 1 << 20, &d, &n, NULL), CK_OK);
  return (char *)d;
}

static void test_write_modes_and_contents(void **state) {
  char *tmp = ck_test_tmpdir();
  char dir[1024];
  ck_state_files f = files("agt-1", "KEY-1\n");
  ck_errctx err = CK_ERRCTX_INIT;
  char *s;
  (void)state;

  snprintf(dir, sizeof dir, "%s/nested/state", tmp);
  assert_int_equal(ck_state_enrolled(dir), 0);
  assert_int_equal(ck_state_write(dir, &f, 0, &err), CK_OK);
  assert_int_equal(ck_state_enrolled(dir), 1);
  assert_int_equal(mode_of(dir, NULL), 0700);
  assert_int_equal(mode_of(dir, CK_STATE_KEY_FILE), 0600);
  assert_int_equal(mode_of(dir, CK_STATE_CERT_FILE), 0644);
  assert_int_equal(mode_of(dir, CK_STATE_CA_FILE), 0644);
  assert_int_equal(mode_of(dir, CK_STATE_CONF_FILE), 0644);
  s = read_in(dir, CK_STATE_KEY_FILE);
  assert_string_equal(s, "KEY-1\n");
  free(s);
  s = read_in(dir, CK_STATE_CA_FILE);
  assert_string_equal(s, "CA\n");
  free(s);
  s = read_in(dir, CK_STATE_CONF_FILE);
  assert_non_null(strstr(s, "[agent]\n"));
  assert_non_null(strstr(s, "id = agt-1\n"));
  assert_non_null(strstr(s, "server = 127.0.0.1:8443\n"));
  assert_non_null(strstr(s, "enrolled_at = 1700000000\n"));
  free(s);
  ck_test_rmtree(tmp);
  free(tmp);
}

static void test_existing_dir_tightened(void **state) {
  char *tmp = ck_test_tmpdir();
  ck_state_files f = files("agt-1", "KEY\n");
  (void)state;

  assert_int_equal(chmod(tmp, 0755), 0);
  assert_int_equal(ck_state_write(tmp, &f, 0, NULL), CK_OK);
  assert_int_equal(mode_of(tmp, NULL), 0700);
  ck_test_rmtree(tmp);
  free(tmp);
}

static void test_refuses_overwrite(void **state) {
  char *tmp = ck_test_tmpdir();
  ck_state_files f1 = files("agt-1", "KEY-1\n");
  ck_state_files f2 = files("agt-2", "KEY-2\n");
  ck_errctx err = CK_ERRCTX_INIT;
  char *s;
  (void)state;

  assert_int_equal(ck_state_write(tmp, &f1, 0, NULL), CK_OK);
  assert_int_equal(ck_state_write(tmp, &f2, 0, &err), CK_ERR_EXIST);
  assert_non_null(strstr(ck_errctx_msg(&err), "--force"));
  s = read_in(tmp, CK_STATE_KEY_FILE); /* untouched */
  assert_string_equal(s, "KEY-1\n");
  free(s);
  /* with force: replaced */
  assert_int_equal(ck_state_write(tmp, &f2, 1, NULL), CK_OK);
  s = read_in(tmp, CK_STATE_KEY_FILE);
  assert_string_equal(s, "KEY-2\n");
  free(s);
  s = read_in(tmp, CK_STATE_CONF_FILE);
  assert_non_null(strstr(s, "id = agt-2\n"));
  free(s);
  assert_int_equal(mode_of(tmp, CK_STATE_KEY_FILE), 0600);
  ck_test_rmtree(tmp);
  free(tmp);
}

/* A key left behind alone (an interrupted enrollment) also counts. */
static void test_key_alone_counts(void **state) {
  char *tmp = ck_test_tmpdir();
  char p[4096];
  ck_state_files f = files("agt-1", "KEY\n");
  (void)state;

  snprintf(p, sizeof p, "%s/%s", tmp, CK_STATE_KEY_FILE);
  assert_int_equal(ck_fs_write_atomic(p, "OLD", 3, 0600, NULL), CK_OK);
  assert_int_equal(ck_state_enrolled(tmp), 1);
  assert_int_equal(ck_state_write(tmp, &f, 0, NULL), CK_ERR_EXIST);
  ck_test_rmtree(tmp);
  free(tmp);
}

/* Atomic: no temporary file is left beside the state files. */
static void test_no_leftovers(void **state) {
  char *tmp = ck_test_tmpdir();
  char *out = NULL;
  ck_state_files f = files("agt-1", "KEY\n");
  (void)state;

  assert_int_equal(ck_state_write(tmp, &f, 0, NULL), CK_OK);
  assert_int_equal(ck_state_write(tmp, &f, 1, NULL), CK_OK);
  assert_int_equal(ck_test_sh(&out, "ls -A '%s' | wc -l", tmp), 0);
  assert_int_equal(strtol(out, NULL, 10), 4);
  free(out);
  ck_test_rmtree(tmp);
  free(tmp);
}

static void test_bad_input(void **state) {
  char *tmp = ck_test_tmpdir();
  ck_state_files f = files("agt\n[evil]", "KEY\n");
  ck_errctx err = CK_ERRCTX_INIT;
  (void)state;

  assert_int_equal(ck_state_write(tmp, &f, 0, &err), CK_ERR_INVAL);
  f = files("agt-1", "KEY\n");
  f.server = "";
  assert_int_equal(ck_state_write(tmp, &f, 0, NULL), CK_ERR_INVAL);
  f = files("agt-1", "");
  assert_int_equal(ck_state_write(tmp, &f, 0, NULL), CK_ERR_INVAL);
  assert_int_equal(ck_state_write(NULL, &f, 0, NULL), CK_ERR_INVAL);
  assert_int_equal(ck_state_enrolled(tmp), 0); /* nothing written */
  ck_test_rmtree(tmp);
  free(tmp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_modes_and_contents),
      cmocka_unit_test(test_existing_dir_tightened),
      cmocka_unit_test(test_refuses_overwrite),
      cmocka_unit_test(test_key_alone_counts),
      cmocka_unit_test(test_no_leftovers),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
