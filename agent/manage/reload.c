/* reload.c — parsing and running a reload method (see reload.h).
 *
 * How a command is waited for without sleep-polling and without a SIGCHLD
 * handler of our own: it is started with uv_spawn on a private libuv loop
 * (one per call, so this is safe on any thread-pool thread). libuv reports
 * the exit through its own SIGCHLD self-pipe and reaps only its own child
 * (waitpid on that pid); stderr arrives on a uv pipe; a loop timer bounds
 * the whole wait. On timeout the child's process group (the child is
 * started detached: setsid, so its pid is the group id) gets SIGKILL and we
 * wait for the exit, which then comes at once. Once the child has exited
 * we stop reading stderr after a short grace, so a daemon that inherited
 * stderr cannot hold us. */
#include "agent/manage/reload.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <unistd.h>
#include <uv.h>

#include "common/util/fs.h"
#include "common/util/mem.h"

#define MAX_TEXT 4096
#define MAX_ARGS 64
#define STDERR_KEEP 200
#define EXIT_GRACE_MS 200

static const char *const systemctl_paths[] = {"/usr/bin/systemctl",
                                              "/bin/systemctl"};

static const struct {
  const char *name;
  int signo;
} signals[] = {{"HUP", SIGHUP}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
               {"TERM", SIGTERM}};

void ck_reload_free(ck_reload *r) {
  size_t i;

  if (r == NULL)
    return;
  if (r->argv != NULL)
    for (i = 0; i < r->argc; i++)
      free(r->argv[i]);
  free(r->argv);
  free(r->pidfile);
  memset(r, 0, sizeof *r);
}

static char *dupn(const char *s, size_t n) {
  char *d = malloc(n + 1);

  if (d != NULL) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

static ck_err argv_push(ck_reload *r, const char *s, size_t n,
                        ck_errctx *err) {
  char **v;

  if (r->argc >= MAX_ARGS)
    return ck_failf(err, CK_ERR_PARSE, "reload command: more than %d arguments",
                    MAX_ARGS);
  v = realloc(r->argv, (r->argc + 2) * sizeof *v);
  if (v == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "reload command");
  r->argv = v;
  v[r->argc] = dupn(s, n);
  if (v[r->argc] == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "reload command");
  r->argc++;
  v[r->argc] = NULL;
  return CK_OK;
}

/* systemd unit names: letters, digits and ":-_.\@", not starting with '-'. */
static int unit_ok(const char *u) {
  size_t i, n = strlen(u);

  if (n == 0 || n > 255 || u[0] == '-')
    return 0;
  for (i = 0; i < n; i++)
    if (!isalnum((unsigned char)u[i]) && strchr(":-_.\\@", u[i]) == NULL)
      return 0;
  return 1;
}

static ck_err parse_command(const char *spec, ck_reload *r, ck_errctx *err) {
  const char *p = spec;
  ck_err rc;

  while (*p != '\0') {
    const char *start;
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '\0')
      break;
    start = p;
    while (*p != '\0' && *p != ' ' && *p != '\t')
      p++;
    if ((rc = argv_push(r, start, (size_t)(p - start), err)) != CK_OK)
      return rc;
  }
  if (r->argc == 0)
    return ck_failf(err, CK_ERR_PARSE, "reload 'command:': no command given");
  if (r->argv[0][0] != '/')
    return ck_failf(err, CK_ERR_PARSE,
                    "reload command '%s': the program must be an absolute "
                    "path (no shell, no PATH search)",
                    r->argv[0]);
  return CK_OK;
}

static ck_err parse_signal(const char *spec, ck_reload *r, ck_errctx *err) {
  const char *colon = strchr(spec, ':');
  const char *name = spec;
  size_t nlen, i;

  if (colon == NULL)
    return ck_failf(err, CK_ERR_PARSE,
                    "reload 'signal:%s': expected signal:NAME:PIDFILE", spec);
  nlen = (size_t)(colon - spec);
  if (nlen > 3 && strncasecmp(name, "SIG", 3) == 0) {
    name += 3;
    nlen -= 3;
  }
  for (i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (strlen(signals[i].name) == nlen &&
        strncasecmp(signals[i].name, name, nlen) == 0)
      break;
  if (i == sizeof signals / sizeof signals[0])
    return ck_failf(err, CK_ERR_PARSE,
                    "reload signal '%.*s': use HUP, USR1, USR2 or TERM",
                    (int)(colon - spec), spec);
  r->signo = signals[i].signo;
  if (colon[1] != '/')
    return ck_failf(err, CK_ERR_PARSE,
                    "reload signal pid file '%s': must be an absolute path",
                    colon + 1);
  r->pidfile = dupn(colon + 1, strlen(colon + 1));
  if (r->pidfile == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "reload");
  return CK_OK;
}

ck_err ck_reload_parse(const char *text, ck_reload *out, ck_errctx *err) {
  ck_reload r;
  ck_err rc = CK_OK;
  size_t i;

  memset(&r, 0, sizeof r);
  if (text == NULL || strcmp(text, "none") == 0) {
    *out = r;
    return CK_OK;
  }
  if (strlen(text) > MAX_TEXT) {
    rc = ck_failf(err, CK_ERR_PARSE, "reload method longer than %d bytes",
                  MAX_TEXT);
    goto out;
  }
  for (i = 0; text[i] != '\0'; i++)
    if ((unsigned char)text[i] < 0x20 && text[i] != '\t') {
      rc = ck_failf(err, CK_ERR_PARSE, "reload method: control character");
      goto out;
    }
  if (strncmp(text, "systemd:", 8) == 0) {
    const char *unit = text + 8;
    const char *ctl = systemctl_paths[0];
    r.kind = CK_RELOAD_SYSTEMD;
    if (!unit_ok(unit)) {
      rc = ck_failf(err, CK_ERR_PARSE, "reload 'systemd:%s': bad unit name",
                    unit);
      goto out;
    }
    for (i = 0; i < sizeof systemctl_paths / sizeof systemctl_paths[0]; i++)
      if (access(systemctl_paths[i], X_OK) == 0) {
        ctl = systemctl_paths[i];
        break;
      }
    if ((rc = argv_push(&r, ctl, strlen(ctl), err)) != CK_OK ||
        (rc = argv_push(&r, "reload", 6, err)) != CK_OK ||
        (rc = argv_push(&r, unit, strlen(unit), err)) != CK_OK)
      goto out;
  } else if (strncmp(text, "signal:", 7) == 0) {
    r.kind = CK_RELOAD_SIGNAL;
    rc = parse_signal(text + 7, &r, err);
  } else if (strncmp(text, "command:", 8) == 0) {
    r.kind = CK_RELOAD_COMMAND;
    rc = parse_command(text + 8, &r, err);
  } else {
    rc = ck_failf(err, CK_ERR_PARSE,
                  "reload method '%.40s': expected systemd:UNIT, "
                  "signal:NAME:PIDFILE, command:PROGRAM ARGS... or none",
                  text);
  }
out:
  if (rc != CK_OK)
    ck_reload_free(&r);
  else
    *out = r;
  return rc;
}

/* ---- signal ---------------------------------------------------------------- */

/* Pid file: decimal digits, optionally followed by whitespace (a newline),
 * nothing else; 2..INT32_MAX. */
ck_err ck__reload_pid_parse(const uint8_t *data, size_t len, const char *path,
                            pid_t *pid, ck_errctx *err) {
  size_t i;
  long long v = 0;

  if (len == 0 || !isdigit(data[0]))
    return ck_setf(err, CK_ERR_PARSE, "pid file %s: no process id", path);
  for (i = 0; i < len && isdigit(data[i]); i++) {
    v = v * 10 + (data[i] - '0');
    if (v > 0x7fffffffLL)
      return ck_setf(err, CK_ERR_PARSE, "pid file %s: process id too large",
                     path);
  }
  for (; i < len; i++)
    if (!isspace(data[i]))
      return ck_setf(err, CK_ERR_PARSE,
                     "pid file %s: unexpected text after the process id",
                     path);
  if (v < 2)
    return ck_setf(err, CK_ERR_PARSE, "pid file %s: process id %lld refused",
                   path, v);
  *pid = (pid_t)v;
  return CK_OK;
}

static ck_err read_pidfile(const char *path, pid_t *pid, ck_errctx *err) {
  uint8_t *data = NULL;
  size_t len = 0;
  ck_err rc;

  rc = ck_fs_read_file(path, 64, &data, &len, err);
  if (rc == CK_ERR_LIMIT || rc == CK_ERR_RANGE)
    rc = ck_setf(err, CK_ERR_PARSE, "pid file %s: too long", path);
  if (rc == CK_OK)
    rc = ck__reload_pid_parse(data, len, path, pid, err);
  free(data);
  return rc;
}

static ck_err run_signal(const ck_reload *r, ck_errctx *err) {
  pid_t pid = 0;
  ck_err rc = read_pidfile(r->pidfile, &pid, err);

  if (rc != CK_OK)
    return rc;
  if (kill(pid, r->signo) != 0) {
    int e = errno;
    if (e == ESRCH)
      return ck_failf(err, CK_ERR_NOENT,
                      "process %ld (from %s) is not running", (long)pid,
                      r->pidfile);
    return ck_failf(err, ck_err_from_errno(-e),
                    "cannot signal process %ld (from %s): %s", (long)pid,
                    r->pidfile, strerror(e));
  }
  return CK_OK;
}

/* ---- command --------------------------------------------------------------- */

typedef struct run {
  uv_loop_t loop;
  uv_process_t proc;
  uv_pipe_t errpipe;
  uv_timer_t timer;
  int handles;       /* open handles still to close */
  int exited;        /* exit callback ran */
  int64_t status;    /* exit status */
  int term_signal;   /* signal that ended it, 0 if none */
  int eof;           /* stderr reached end of file (or stopped reading) */
  int timed_out;     /* the deadline passed and the group was killed */
  int grace;         /* the timer now runs the post-exit grace period */
  char buf[STDERR_KEEP + 1]; /* first bytes of stderr */
  size_t len;
  char rd[512]; /* read buffer */
} run;

static void on_close(uv_handle_t *h) {
  run *x = h->data;
  x->handles--;
}

static void close_pipe(run *x) {
  if (!uv_is_closing((uv_handle_t *)&x->errpipe)) {
    uv_read_stop((uv_stream_t *)&x->errpipe);
    x->eof = 1;
    uv_close((uv_handle_t *)&x->errpipe, on_close);
  }
}

static void on_timer(uv_timer_t *t);

static void maybe_finish(run *x) {
  if (!x->exited)
    return;
  if (x->eof) {
    uv_timer_stop(&x->timer);
    return;
  }
  /* Exited but something still holds stderr open: give it a moment. */
  if (!x->grace) {
    x->grace = 1;
    uv_timer_stop(&x->timer);
    uv_timer_start(&x->timer, on_timer, EXIT_GRACE_MS, 0);
  }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  run *x = h->data;
  (void)hint;
  *b = uv_buf_init(x->rd, sizeof x->rd);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  run *x = s->data;

  if (n < 0) {
    close_pipe(x);
    maybe_finish(x);
    return;
  }
  if (n > 0 && x->len < STDERR_KEEP) {
    size_t take = (size_t)n;
    if (take > STDERR_KEEP - x->len)
      take = STDERR_KEEP - x->len;
    memcpy(x->buf + x->len, b->base, take);
    x->len += take;
    x->buf[x->len] = '\0';
  }
}

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal) {
  run *x = p->data;

  x->exited = 1;
  x->status = status;
  x->term_signal = term_signal;
  uv_close((uv_handle_t *)p, on_close);
  maybe_finish(x);
}

static void on_timer(uv_timer_t *t) {
  run *x = t->data;

  if (x->grace) {
    close_pipe(x);
    return;
  }
  if (!x->exited && !x->timed_out) {
    x->timed_out = 1;
    /* the whole group: a shell script's children too */
    uv_kill(-x->proc.pid, SIGKILL);
    uv_kill(x->proc.pid, SIGKILL);
  }
}

/* First line of the captured stderr, non-printables replaced. */
static const char *stderr_line(run *x) {
  size_t i;

  for (i = 0; i < x->len; i++) {
    if (x->buf[i] == '\n' || x->buf[i] == '\r') {
      x->buf[i] = '\0';
      break;
    }
    if ((unsigned char)x->buf[i] < 0x20 || (unsigned char)x->buf[i] > 0x7e)
      x->buf[i] = '?';
  }
  return x->len > 0 ? x->buf : "(no output)";
}

static ck_err run_command(const ck_reload *r, unsigned timeout_ms,
                          ck_errctx *err) {
  run *x = NULL;
  uv_process_options_t opt;
  uv_stdio_container_t stdio[3];
  ck_err rc = CK_OK;
  int loop_ok = 0, e;

  x = calloc(1, sizeof *x);
  if (x == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "reload");
  if ((e = uv_loop_init(&x->loop)) != 0) {
    rc = ck_failf(err, ck_err_from_errno(e), "reload: loop: %s",
                  uv_strerror(e));
    goto out;
  }
  loop_ok = 1;
  uv_pipe_init(&x->loop, &x->errpipe, 0);
  x->errpipe.data = x;
  x->handles++;
  uv_timer_init(&x->loop, &x->timer);
  x->timer.data = x;
  x->handles++;

  memset(&opt, 0, sizeof opt);
  memset(stdio, 0, sizeof stdio);
  stdio[0].flags = UV_IGNORE; /* /dev/null */
  stdio[1].flags = UV_IGNORE;
  stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[2].data.stream = (uv_stream_t *)&x->errpipe;
  opt.file = r->argv[0];
  opt.args = r->argv;
  opt.stdio = stdio;
  opt.stdio_count = 3;
  opt.exit_cb = on_exit_cb;
  opt.flags = UV_PROCESS_DETACHED; /* setsid: own process group to kill */
  x->proc.data = x;
  e = uv_spawn(&x->loop, &x->proc, &opt);
  if (e != 0) {
    rc = ck_failf(err, e == UV_ENOENT || e == UV_EACCES ? CK_ERR_NOENT
                                                        : ck_err_from_errno(e),
                  "cannot run reload command %s: %s", r->argv[0],
                  uv_strerror(e));
    /* libuv still wants the failed process handle closed */
    x->handles++;
    uv_close((uv_handle_t *)&x->proc, on_close);
    close_pipe(x);
    goto out;
  }
  x->handles++;
  uv_read_start((uv_stream_t *)&x->errpipe, on_alloc, on_read);
  uv_timer_start(&x->timer, on_timer, timeout_ms, 0);
  /* Runs until the child is reaped and stderr is done; SIGKILL on
   * timeout makes the exit come. */
  while (!(x->exited && x->eof))
    if (uv_run(&x->loop, UV_RUN_ONCE) == 0)
      break;
  if (x->timed_out)
    rc = ck_failf(err, CK_ERR_TIMEOUT,
                  "reload command %s did not finish within %u ms (killed): %s",
                  r->argv[0], timeout_ms, stderr_line(x));
  else if (x->term_signal != 0)
    rc = ck_failf(err, CK_ERR_IO, "reload command %s killed by signal %d: %s",
                  r->argv[0], x->term_signal, stderr_line(x));
  else if (x->status != 0)
    rc = ck_failf(err, CK_ERR_IO,
                  "reload command exited with status %lld: %s",
                  (long long)x->status, stderr_line(x));
out:
  if (loop_ok) {
    if (!uv_is_closing((uv_handle_t *)&x->timer))
      uv_close((uv_handle_t *)&x->timer, on_close);
    close_pipe(x);
    while (x->handles > 0 && uv_run(&x->loop, UV_RUN_ONCE) != 0)
      ;
    uv_run(&x->loop, UV_RUN_DEFAULT);
    uv_loop_close(&x->loop);
  }
  free(x);
  return rc;
}

ck_err ck_reload_run(const ck_reload *r, unsigned timeout_ms, ck_errctx *err) {
  if (r == NULL)
    return CK_OK;
  if (timeout_ms == 0)
    timeout_ms = 30000;
  switch (r->kind) {
  case CK_RELOAD_NONE:
    return CK_OK;
  case CK_RELOAD_SIGNAL:
    return run_signal(r, err);
  case CK_RELOAD_SYSTEMD:
  case CK_RELOAD_COMMAND:
    if (r->argv == NULL || r->argc == 0)
      return ck_failf(err, CK_ERR_INVAL, "reload: no command");
    return run_command(r, timeout_ms, err);
  }
  return ck_failf(err, CK_ERR_INVAL, "reload: unknown method");
}
