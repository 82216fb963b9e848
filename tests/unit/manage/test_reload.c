/* test_reload.c — agent/manage/reload.c: parsing every method and its
 * errors; running commands (success, failure with the stderr line in the
 * message, stdin on /dev/null, timeout killing the process group, a command
 * that leaves a daemon holding stderr, a missing program); and signal
 * reloads to a child of this test through a pid file. */
#include "tests/testutil.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/manage/reload.h"
#include "common/util/clock.h"

static char *g_dir;

static int setup(void **state) {
  (void)state;
  g_dir = ck_test_tmpdir();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ck_test_rmtree(g_dir);
  free(g_dir);
  return 0;
}

/* Writes an executable shell script to g_dir/name; returns its path
 * (static buffer per call slot). */
static const char *script(const char *name, const char *body) {
  static char paths[4][512];
  static int turn;
  char *p = paths[turn++ % 4];
  FILE *f;

  snprintf(p, 512, "%s/%s", g_dir, name);
  f = fopen(p, "w");
  assert_non_null(f);
  fprintf(f, "#!/bin/sh\n%s", body);
  fclose(f);
  assert_int_equal(chmod(p, 0755), 0);
  return p;
}

static ck_err parse(const char *text, ck_reload *r, ck_errctx *err) {
  memset(r, 0, sizeof *r);
  return ck_reload_parse(text, r, err);
}

static void parse_fails(const char *text, const char *needle) {
  ck_reload r;
  ck_errctx err = CK_ERRCTX_INIT;

  assert_int_equal(parse(text, &r, &err), CK_ERR_PARSE);
  if (strstr(err.msg, needle) == NULL) {
    print_error("'%s': message '%s' lacks '%s'\n", text, err.msg, needle);
    fail();
  }
  ck_reload_free(&r);
}

static void test_parse(void **state) {
  ck_reload r;
  char big[5000];
  size_t i;

  (void)state;
  assert_int_equal(parse(NULL, &r, NULL), CK_OK);
  assert_int_equal(r.kind, CK_RELOAD_NONE);
  assert_int_equal(parse("none", &r, NULL), CK_OK);
  assert_int_equal(r.kind, CK_RELOAD_NONE);
  assert_int_equal(ck_reload_run(&r, 0, NULL), CK_OK);

  assert_int_equal(parse("systemd:nginx.service", &r, NULL), CK_OK);
  assert_int_equal(r.kind, CK_RELOAD_SYSTEMD);
  assert_int_equal(r.argc, 3);
  assert_true(strstr(r.argv[0], "systemctl") != NULL && r.argv[0][0] == '/');
  assert_string_equal(r.argv[1], "reload");
  assert_string_equal(r.argv[2], "nginx.service");
  assert_null(r.argv[3]);
  ck_reload_free(&r);
  assert_int_equal(parse("systemd:getty@tty1.service", &r, NULL), CK_OK);
  ck_reload_free(&r);

  assert_int_equal(parse("signal:HUP:/run/nginx.pid", &r, NULL), CK_OK);
  assert_int_equal(r.kind, CK_RELOAD_SIGNAL);
  assert_int_equal(r.signo, SIGHUP);
  assert_string_equal(r.pidfile, "/run/nginx.pid");
  ck_reload_free(&r);
  assert_int_equal(parse("signal:SIGUSR1:/run/x.pid", &r, NULL), CK_OK);
  assert_int_equal(r.signo, SIGUSR1);
  ck_reload_free(&r);
  assert_int_equal(parse("signal:usr2:/run/x.pid", &r, NULL), CK_OK);
  assert_int_equal(r.signo, SIGUSR2);
  ck_reload_free(&r);
  assert_int_equal(parse("signal:TERM:/run/x.pid", &r, NULL), CK_OK);
  assert_int_equal(r.signo, SIGTERM);
  ck_reload_free(&r);

  assert_int_equal(parse("command:/usr/sbin/nginx  -s reload ", &r, NULL),
                   CK_OK);
  assert_int_equal(r.kind, CK_RELOAD_COMMAND);
  assert_int_equal(r.argc, 3);
  assert_string_equal(r.argv[0], "/usr/sbin/nginx");
  assert_string_equal(r.argv[1], "-s");
  assert_string_equal(r.argv[2], "reload");
  assert_null(r.argv[3]);
  ck_reload_free(&r);
  ck_reload_free(NULL);

  parse_fails("", "expected systemd:UNIT");
  parse_fails("reload", "expected systemd:UNIT");
  parse_fails("systemd:", "bad unit name");
  parse_fails("systemd:-x.service", "bad unit name");
  parse_fails("systemd:a b", "bad unit name");
  parse_fails("systemd:a;reboot", "bad unit name");
  parse_fails("signal:HUP", "signal:NAME:PIDFILE");
  parse_fails("signal:KILL:/run/x.pid", "use HUP, USR1, USR2 or TERM");
  parse_fails("signal::/run/x.pid", "use HUP");
  parse_fails("signal:HUP:run/x.pid", "absolute path");
  parse_fails("signal:HUP:", "absolute path");
  parse_fails("command:", "no command given");
  parse_fails("command:   ", "no command given");
  parse_fails("command:nginx -s reload", "absolute path");
  parse_fails("command:/bin/true\nx", "control character");
  memcpy(big, "command:/bin/true", 17);
  for (i = 17; i + 2 < 17 + 2 * 70; i += 2)
    memcpy(big + i, " a", 2);
  big[i] = '\0';
  parse_fails(big, "more than 64 arguments");
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  memcpy(big, "command:/", 9);
  parse_fails(big, "longer than");
}

static ck_err run_text(const char *text, unsigned timeout_ms, ck_errctx *err) {
  ck_reload r;
  ck_err rc;

  assert_int_equal(parse(text, &r, err), CK_OK);
  rc = ck_reload_run(&r, timeout_ms, err);
  ck_reload_free(&r);
  return rc;
}

static void test_command_ok(void **state) {
  char text[600];
  const char *s;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  s = script("ok.sh", "[ \"$1\" = a ] && [ \"$2\" = b ] || exit 9\n"
                      "echo 'noise on stdout'\nexit 0\n");
  snprintf(text, sizeof text, "command:%s a b", s);
  assert_int_equal(run_text(text, 10000, &err), CK_OK);
}

static void test_command_fails(void **state) {
  char text[600];
  const char *s;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  s = script("fail.sh", "echo 'nginx: [emerg] bad certificate' >&2\n"
                        "echo 'second line' >&2\nexit 3\n");
  snprintf(text, sizeof text, "command:%s", s);
  assert_int_equal(run_text(text, 10000, &err), CK_ERR_IO);
  assert_non_null(strstr(err.msg, "exited with status 3"));
  assert_non_null(strstr(err.msg, "nginx: [emerg] bad certificate"));
  assert_null(strstr(err.msg, "second line"));

  /* stdin is /dev/null: read gets end of file at once */
  s = script("stdin.sh", "if read x; then exit 5; fi\necho 'eof' >&2\n"
                         "exit 4\n");
  snprintf(text, sizeof text, "command:%s", s);
  ck_errctx_clear(&err);
  assert_int_equal(run_text(text, 10000, &err), CK_ERR_IO);
  assert_non_null(strstr(err.msg, "status 4: eof"));

  /* killed by a signal */
  s = script("sig.sh", "kill -TERM $$\n");
  snprintf(text, sizeof text, "command:%s", s);
  ck_errctx_clear(&err);
  assert_int_equal(run_text(text, 10000, &err), CK_ERR_IO);
  assert_non_null(strstr(err.msg, "signal"));

  /* long stderr is cut */
  s = script("long.sh", "i=0; while [ $i -lt 100 ]; do printf 'xxxxxxxxxx' "
                        ">&2; i=$((i+1)); done\nexit 1\n");
  snprintf(text, sizeof text, "command:%s", s);
  ck_errctx_clear(&err);
  assert_int_equal(run_text(text, 10000, &err), CK_ERR_IO);
  assert_true(strlen(err.msg) < 300);

  ck_errctx_clear(&err);
  assert_int_equal(run_text("command:/nonexistent/bin/reload", 10000, &err),
                   CK_ERR_NOENT);
  assert_non_null(strstr(err.msg, "/nonexistent/bin/reload"));
}

static void test_command_timeout(void **state) {
  char text[1300], pidfile[600];
  const char *s;
  ck_errctx err = CK_ERRCTX_INIT;
  uint64_t t0;

  (void)state;
  snprintf(pidfile, sizeof pidfile, "%s/child.pid", g_dir);
  s = script("hang.sh", "echo 'starting' >&2\n"
                        "sleep 60 &\necho $! > \"$1\"\nwait\n");
  snprintf(text, sizeof text, "command:%s %s", s, pidfile);
  t0 = ck_clock_mono_ms();
  assert_int_equal(run_text(text, 500, &err), CK_ERR_TIMEOUT);
  assert_true(ck_clock_mono_ms() - t0 < 5000);
  assert_non_null(strstr(err.msg, "500 ms"));
  assert_non_null(strstr(err.msg, "starting"));
}

/* A command that starts a daemon which keeps stderr open must not hold the
 * reload until the daemon ends. */
static void test_command_leaves_daemon(void **state) {
  char text[1300], pidfile[600];
  const char *s;
  ck_errctx err = CK_ERRCTX_INIT;
  uint64_t t0;
  char *pid_text;
  size_t len = 0;
  FILE *f;

  (void)state;
  snprintf(pidfile, sizeof pidfile, "%s/daemon.pid", g_dir);
  s = script("daemon.sh", "sleep 30 &\necho $! > \"$1\"\nexit 0\n");
  snprintf(text, sizeof text, "command:%s %s", s, pidfile);
  t0 = ck_clock_mono_ms();
  assert_int_equal(run_text(text, 20000, &err), CK_OK);
  assert_true(ck_clock_mono_ms() - t0 < 5000);
  f = fopen(pidfile, "r");
  assert_non_null(f);
  pid_text = calloc(1, 32);
  assert_non_null(pid_text);
  len = fread(pid_text, 1, 31, f);
  fclose(f);
  assert_true(len > 0);
  kill((pid_t)strtol(pid_text, NULL, 10), SIGKILL); /* clean up */
  free(pid_text);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_signal(void **state) {
  char text[700], pidfile[600], buf[32];
  sigset_t set, old;
  pid_t pid;
  int st = 0;
  ck_errctx err = CK_ERRCTX_INIT;

  (void)state;
  snprintf(pidfile, sizeof pidfile, "%s/svc.pid", g_dir);
  snprintf(text, sizeof text, "signal:HUP:%s", pidfile);

  /* the child blocks SIGHUP (inherited mask) and waits for it */
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int sig = 0;
    alarm(20); /* never outlive a broken test */
    if (sigwait(&set, &sig) == 0 && sig == SIGHUP)
      _exit(42);
    _exit(1);
  }
  assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
  snprintf(buf, sizeof buf, "%ld\n", (long)pid);
  write_file(pidfile, buf);
  assert_int_equal(run_text(text, 0, &err), CK_OK);
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 42);

  /* the process is gone now */
  ck_errctx_clear(&err);
  assert_int_equal(run_text(text, 0, &err), CK_ERR_NOENT);
  assert_non_null(strstr(err.msg, "not running"));

  /* pid files parsed strictly */
  write_file(pidfile, "12abc\n");
  ck_errctx_clear(&err);
  assert_int_equal(run_text(text, 0, &err), CK_ERR_PARSE);
  assert_non_null(strstr(err.msg, "unexpected text"));
  write_file(pidfile, "0\n");
  assert_int_equal(run_text(text, 0, NULL), CK_ERR_PARSE);
  write_file(pidfile, "1\n");
  assert_int_equal(run_text(text, 0, NULL), CK_ERR_PARSE);
  write_file(pidfile, "");
  assert_int_equal(run_text(text, 0, NULL), CK_ERR_PARSE);
  write_file(pidfile, " 123");
  assert_int_equal(run_text(text, 0, NULL), CK_ERR_PARSE);
  write_file(pidfile, "99999999999\n");
  assert_int_equal(run_text(text, 0, NULL), CK_ERR_PARSE);
  write_file(pidfile, "123456789012345678901234567890123456789012345678901234"
                      "567890123456789\n");
  assert_int_equal(run_text(text, 0, NULL), CK_ERR_PARSE);
  unlink(pidfile);
  assert_int_equal(run_text(text, 0, NULL), CK_ERR_NOENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_command_ok),
      cmocka_unit_test(test_command_fails),
      cmocka_unit_test(test_command_timeout),
      cmocka_unit_test(test_command_leaves_daemon),
      cmocka_unit_test(test_signal),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
