/* testutil.c — helpers shared by the cmocka tests (see testutil.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "tests/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *ck_test_data(const char *rel) {
  static char path[PATH_MAX];
  const char *base = getenv("CK_TEST_DATA");

  if (base == NULL)
    base = "tests/data";
  snprintf(path, sizeof path, "%s/%s", base, rel);
  return path;
}

char *ck_test_slurp(const char *rel, size_t *len) {
  const char *path = ck_test_data(rel);
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n;

  if (f == NULL) {
    print_error("cannot open test data %s: %s\n", path, strerror(errno));
    fail();
  }
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  if (len != NULL)
    *len = (size_t)n;
  return buf;
}

char *ck_test_tmpdir(void) {
  char tmpl[] = "/tmp/cktest.XXXXXX";
  char *d = mkdtemp(tmpl);

  assert_non_null(d);
  return strdup(d);
}

static int rm_cb(const char *path, const struct stat *st, int flag,
                 struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void ck_test_rmtree(const char *dir) {
  if (dir != NULL && strncmp(dir, "/tmp/cktest.", 12) == 0)
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_deadline(uv_timer_t *t) { *(int *)t->data = 1; }

void ck_test_run_until(uv_loop_t *loop, const volatile int *flag,
                       unsigned timeout_ms) {
  uv_timer_t timer;
  int expired = 0;

  uv_timer_init(loop, &timer);
  timer.data = &expired;
  uv_timer_start(&timer, on_deadline, timeout_ms, 0);
  while (!*flag && !expired)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  if (!*flag) {
    print_error("condition not reached within %u ms\n", timeout_ms);
    fail();
  }
}

int ck_test_sh(char **out, const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  FILE *p;
  char *buf = NULL;
  size_t len = 0, cap = 0, n;
  char chunk[4096];
  int st;

  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  /* stderr joins stdout so failures are visible in the captured text */
  if (strlen(cmd) + 8 < sizeof cmd) {
    size_t l = strlen(cmd);
    memcpy(cmd + l, " 2>&1", 6);
  }
  p = popen(cmd, "r");
  if (p == NULL)
    return -1;
  while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) {
    if (len + n + 1 > cap) {
      cap = (len + n + 1) * 2;
      buf = realloc(buf, cap);
      assert_non_null(buf);
    }
    memcpy(buf + len, chunk, n);
    len += n;
  }
  if (buf == NULL)
    buf = calloc(1, 1);
  else
    buf[len] = '\0';
  st = pclose(p);
  if (out != NULL)
    *out = buf;
  else
    free(buf);
  if (st == -1 || !WIFEXITED(st))
    return -1;
  return WEXITSTATUS(st);
}

int ck_test_have(const char *prog) {
  char cmd[512];

  snprintf(cmd, sizeof cmd, "command -v '%s' >/dev/null 2>&1", prog);
  return system(cmd) == 0;
}
