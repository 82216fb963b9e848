/* watch_cases.h — ck_watch test cases shared by test_watch.c (the build's
 * backend: inotify on Linux) and test_posix.c (the poll fallback, built
 * under ckposix_* names on Linux). Include after tests/testutil.h and
 * platforms/watch.h; each includer defines WATCH_EXPECT_BACKEND. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WREC_MAX 256

typedef struct wrec {
  char path[512];
  unsigned flags;
} wrec;

typedef struct wfix {
  uv_loop_t loop;
  ck_watch *w;
  char *dir;
  wrec ev[WREC_MAX]; /* first WREC_MAX events */
  size_t n;          /* events received (may exceed WREC_MAX) */
  int overflow;      /* CK_WATCH_OVERFLOW seen */
  int close_in_cb;   /* close the watcher from the next callback */
  int after_close;   /* callbacks after ck_watch_close (must stay 0) */
  int closed;
  char want[512]; /* the event waited for */
  unsigned want_flags;
  int found;
} wfix;

static int is_poll(void) {
  return strcmp(ck_watch_backend(), "poll") == 0;
}

/* Generous bounds: the contract is "within a second" for inotify and one
 * poll interval for the fallback; loaded CI machines get slack. */
static unsigned wait_ms(void) {
  return is_poll() ? 6000 : 3000;
}

static void on_event(ck_watch *w, const char *path, unsigned flags, void *arg) {
  wfix *f = arg;

  if (f->closed)
    f->after_close++;
  if (flags & CK_WATCH_OVERFLOW) {
    assert_null(path);
    f->overflow = 1;
  } else {
    assert_non_null(path);
    assert_true(flags == CK_WATCH_CHANGED || flags == CK_WATCH_REMOVED);
    if (f->n < WREC_MAX) {
      snprintf(f->ev[f->n].path, sizeof f->ev[f->n].path, "%s", path);
      f->ev[f->n].flags = flags;
    }
    if (strcmp(path, f->want) == 0 && (flags & f->want_flags))
      f->found = 1;
  }
  f->n++;
  if (f->close_in_cb) {
    f->close_in_cb = 0;
    ck_watch_close(w);
    f->closed = 1;
  }
}

static wfix *wfix_new(void) {
  wfix *f = calloc(1, sizeof *f);
  ck_errctx err = CK_ERRCTX_INIT;

  assert_non_null(f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(ck_watch_new(&f->loop, on_event, f, &f->w, &err), CK_OK);
  f->dir = ck_test_tmpdir();
  assert_int_equal(ck_watch_add(f->w, f->dir, &err), CK_OK);
  return f;
}

static void wfix_free(wfix *f) {
  if (!f->closed)
    ck_watch_close(f->w);
  uv_run(&f->loop, UV_RUN_DEFAULT); /* close callbacks free the watcher */
  assert_int_equal(uv_loop_close(&f->loop), 0);
  ck_test_rmtree(f->dir);
  free(f->dir);
  free(f);
}

static void wpath(const wfix *f, const char *name, char *out, size_t size) {
  snprintf(out, size, "%s/%s", f->dir, name);
}

/* Waits for an event on dir/name with one of flags. */
static void wait_event(wfix *f, const char *name, unsigned flags) {
  if (name[0] == '/')
    snprintf(f->want, sizeof f->want, "%s", name);
  else
    wpath(f, name, f->want, sizeof f->want);
  f->want_flags = flags;
  f->found = 0;
  for (size_t i = 0; i < f->n && i < WREC_MAX; i++)
    if (strcmp(f->ev[i].path, f->want) == 0 && (f->ev[i].flags & flags))
      f->found = 1;
  ck_test_run_until(&f->loop, &f->found, wait_ms());
}

static size_t count_events(const wfix *f, const char *name, unsigned flags) {
  char p[512];
  size_t c = 0;

  wpath(f, name, p, sizeof p);
  for (size_t i = 0; i < f->n && i < WREC_MAX; i++)
    if (strcmp(f->ev[i].path, p) == 0 && (f->ev[i].flags & flags))
      c++;
  return c;
}

static void write_file(const wfix *f, const char *name, const char *text,
                       int chunks) {
  char p[512];
  int fd;

  wpath(f, name, p, sizeof p);
  fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  for (int i = 0; i < chunks; i++)
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  assert_int_equal(close(fd), 0);
}

static void watch_backend_name(void **state) {
  (void)state;
  assert_string_equal(ck_watch_backend(), WATCH_EXPECT_BACKEND);
}

/* A file written in many pieces is reported once, promptly. */
static void watch_new_file_reported_once(void **state) {
  wfix *f = wfix_new();
  uint64_t t0;

  (void)state;
  write_file(f, "cert.pem", "-----BEGIN CERTIFICATE-----\n", 50);
  t0 = uv_hrtime(); /* the change is complete: the clock starts */
  wait_event(f, "cert.pem", CK_WATCH_CHANGED);
  /* inotify: well within a second; poll: within about one interval */
  assert_true((uv_hrtime() - t0) / 1000000 < (is_poll() ? 3000u : 1000u));
  /* a marker written afterwards flushes anything still pending */
  write_file(f, "marker", "x", 1);
  wait_event(f, "marker", CK_WATCH_CHANGED);
  assert_int_equal(count_events(f, "cert.pem", CK_WATCH_CHANGED), 1);
  assert_int_equal(f->overflow, 0);
  wfix_free(f);
}

static void watch_remove_rename_chmod(void **state) {
  wfix *f = wfix_new();
  char a[512], b[512];

  (void)state;
  write_file(f, "a.pem", "a", 1);
  write_file(f, "gone.pem", "g", 1);
  wait_event(f, "gone.pem", CK_WATCH_CHANGED);
  wait_event(f, "a.pem", CK_WATCH_CHANGED);
  f->n = 0;

  wpath(f, "gone.pem", a, sizeof a);
  assert_int_equal(unlink(a), 0);
  wait_event(f, "gone.pem", CK_WATCH_REMOVED);

  wpath(f, "a.pem", a, sizeof a);
  wpath(f, "b.pem", b, sizeof b);
  assert_int_equal(rename(a, b), 0);
  wait_event(f, "a.pem", CK_WATCH_REMOVED);
  wait_event(f, "b.pem", CK_WATCH_CHANGED);

  f->n = 0;
  assert_int_equal(chmod(b, 0600), 0);
  wait_event(f, "b.pem", CK_WATCH_CHANGED);
  wfix_free(f);
}

/* Removed directories stop being reported; a deleted watched directory is
 * itself reported as removed. */
static void watch_remove_and_dir_deleted(void **state) {
  wfix *f = wfix_new();
  ck_errctx err = CK_ERRCTX_INIT;
  char sub[512], other[512], p[600];

  (void)state;
  wpath(f, "sub", sub, sizeof sub);
  wpath(f, "other", other, sizeof other);
  assert_int_equal(mkdir(sub, 0755), 0);
  assert_int_equal(mkdir(other, 0755), 0);
  assert_int_equal(ck_watch_add(f->w, sub, &err), CK_OK);
  assert_int_equal(ck_watch_add(f->w, sub, &err), CK_OK); /* no-op */
  assert_int_equal(ck_watch_add(f->w, other, &err), CK_OK);
  ck_watch_remove(f->w, f->dir); /* top level no longer watched */
  ck_watch_remove(f->w, "/not/watched");

  /* sub is watched */
  write_file(f, "sub/x.pem", "x", 1);
  wait_event(f, "sub/x.pem", CK_WATCH_CHANGED);
  /* top level is not: a file there is not reported before the marker */
  f->n = 0;
  write_file(f, "top.pem", "t", 1);
  write_file(f, "other/marker", "m", 1);
  wait_event(f, "other/marker", CK_WATCH_CHANGED);
  assert_int_equal(count_events(f, "top.pem", CK_WATCH_CHANGED), 0);

  /* deleting a watched directory reports it removed */
  snprintf(p, sizeof p, "%s/x.pem", sub);
  assert_int_equal(unlink(p), 0);
  assert_int_equal(rmdir(sub), 0);
  wait_event(f, sub, CK_WATCH_REMOVED);
  wfix_free(f);
}

static void watch_bad_arguments(void **state) {
  wfix *f = wfix_new();
  ck_errctx err = CK_ERRCTX_INIT;
  char p[512];

  (void)state;
  wpath(f, "missing", p, sizeof p);
  assert_int_equal(ck_watch_add(f->w, p, &err), CK_ERR_NOENT);
  assert_non_null(strstr(err.msg, "missing"));
  write_file(f, "file", "f", 1);
  wpath(f, "file", p, sizeof p);
  ck_errctx_clear(&err);
  assert_int_equal(ck_watch_add(f->w, p, &err), CK_ERR_INVAL);
  assert_non_null(strstr(err.msg, "not a directory"));
  assert_int_equal(ck_watch_add(f->w, "", &err), CK_ERR_INVAL);
  wfix_free(f);
}

/* Closing from the callback: no further callbacks, everything freed
 * (uv_loop_close succeeds in wfix_free, ASan checks the memory). */
static void watch_close_in_callback(void **state) {
  wfix *f = wfix_new();

  (void)state;
  f->close_in_cb = 1;
  write_file(f, "one", "1", 1);
  write_file(f, "two", "2", 1);
  write_file(f, "three", "3", 1);
  ck_test_run_until(&f->loop, &f->closed, wait_ms());
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(f->after_close, 0);
  assert_int_equal(f->n, 1);
  wfix_free(f);
}
