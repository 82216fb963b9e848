/* test_fs.c — atomic replace, modes, bounded reads, mkdir -p. */
#include "tests/testutil.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util/fs.h"

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;

  assert_non_null(d);
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      n++;
  closedir(d);
  return n;
}

static void atomic_write_replace_and_mode(void **state) {
  char *dir = ck_test_tmpdir();
  char path[512];
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *buf = NULL;
  size_t len;
  struct stat st;
  mode_t old = umask(077); /* mode must be exact whatever the umask */

  (void)state;
  snprintf(path, sizeof path, "%s/key.pem", dir);
  assert_int_equal(ck_fs_write_atomic(path, "first", 5, 0600, &err), CK_OK);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(ck_fs_write_atomic(path, "second!", 7, 0644, &err), CK_OK);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);
  assert_int_equal(ck_fs_read_file(path, 100, &buf, &len, &err), CK_OK);
  assert_int_equal(len, 7);
  assert_string_equal((char *)buf, "second!");
  free(buf);
  /* no temporary files left behind */
  assert_int_equal(count_entries(dir), 1);
  umask(old);
  ck_test_rmtree(dir);
  free(dir);
}

static void atomic_write_failure_leaves_target(void **state) {
  char *dir = ck_test_tmpdir();
  char path[512];
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  snprintf(path, sizeof path, "%s/missing-dir/cert.pem", dir);
  assert_int_equal(ck_fs_write_atomic(path, "x", 1, 0644, &err), CK_ERR_NOENT);
  assert_non_null(strstr(err.msg, "missing-dir"));
  ck_test_rmtree(dir);
  free(dir);
}

static void read_limits(void **state) {
  char *dir = ck_test_tmpdir();
  char path[512];
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *buf = NULL;
  size_t len;
  char big[10000];

  (void)state;
  memset(big, 'x', sizeof big);
  snprintf(path, sizeof path, "%s/big", dir);
  assert_int_equal(ck_fs_write_atomic(path, big, sizeof big, 0644, &err), CK_OK);
  assert_int_equal(ck_fs_read_file(path, 9999, &buf, &len, &err), CK_ERR_LIMIT);
  assert_null(buf);
  assert_int_equal(ck_fs_read_file(path, 10000, &buf, &len, &err), CK_OK);
  assert_int_equal(len, 10000);
  free(buf);
  snprintf(path, sizeof path, "%s/empty", dir);
  assert_int_equal(ck_fs_write_atomic(path, "", 0, 0644, &err), CK_OK);
  assert_int_equal(ck_fs_read_file(path, 10, &buf, &len, &err), CK_OK);
  assert_int_equal(len, 0);
  free(buf);
  /* files that report size 0 but have content (procfs) are read whole */
  if (access("/proc/self/status", R_OK) == 0) {
    assert_int_equal(ck_fs_read_file("/proc/self/status", 1 << 20, &buf, &len, &err), CK_OK);
    assert_true(len > 0);
    assert_non_null(strstr((char *)buf, "Name:"));
    free(buf);
    assert_int_equal(ck_fs_read_file("/proc/self/status", 8, &buf, &len, &err), CK_ERR_LIMIT);
  }
  assert_int_equal(ck_fs_read_file(dir, 100, &buf, &len, &err), CK_ERR_INVAL);
  snprintf(path, sizeof path, "%s/nope", dir);
  assert_int_equal(ck_fs_read_file(path, 10, &buf, &len, &err), CK_ERR_NOENT);
  ck_test_rmtree(dir);
  free(dir);
}

static void mkdir_p_and_owner(void **state) {
  char *dir = ck_test_tmpdir();
  char path[512];
  ck_errctx err = CK_ERRCTX_INIT;
  struct stat st;

  (void)state;
  snprintf(path, sizeof path, "%s/a/b/c", dir);
  assert_int_equal(ck_fs_mkdir_p(path, 0750, &err), CK_OK);
  assert_int_equal(ck_fs_mkdir_p(path, 0750, &err), CK_OK);
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(ck_fs_set_mode(path, 0700, &err), CK_OK);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  assert_int_equal(ck_fs_set_owner(path, "no-such-user-ck", NULL, &err), CK_ERR_NOENT);
  assert_non_null(strstr(err.msg, "no-such-user-ck"));
  if (geteuid() == 0) {
    assert_int_equal(ck_fs_set_owner(path, "nobody", "nogroup", &err), CK_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_not_equal(st.st_uid, 0);
  }
  ck_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(atomic_write_replace_and_mode),
      cmocka_unit_test(atomic_write_failure_leaves_target),
      cmocka_unit_test(read_limits),
      cmocka_unit_test(mkdir_p_and_owner),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
