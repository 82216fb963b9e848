/* fake_api.h — a fake coordinator REST API for the CLI tests, and a runner
 * for the real `certkeeper` binary.
 *
 * The fake is an HTTPS server built on our own layers (listener -> TCP conn
 * -> TLS wrap with tests/data/tls/server-ec.pem -> ck_http_server_attach)
 * running its own libuv loop in a second thread. It records every request
 * (method, path, query, Authorization, If-Match, Content-Type, body) and
 * answers from a table of canned responses keyed by method, path and
 * (optionally) the exact query; anything else gets a 404 problem. The main
 * thread runs the CLI with ck_test_sh (which blocks until the process
 * exits), so the recorded requests are complete when it returns; a mutex
 * guards the tables all the same.
 *
 * The CLI runs with a clean environment (env -i): HOME points into the
 * test's temporary directory, so the developer's own
 * ~/.config/certkeeper/cli.conf and CERTKEEPER_* variables never leak in. */
#ifndef CK_TESTS_FAKE_API_H
#define CK_TESTS_FAKE_API_H

#include "tests/testutil.h"

#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/net/conn.h"
#include "common/net/http.h"
#include "common/net/tls.h"
#include "common/util/fs.h"

#define FAKE_UNUSED __attribute__((unused))
#define FAKE_MAX_CANNED 32
#define FAKE_MAX_RECS 64
#define TEST_TOKEN "cka_test-token-5f0c1d2e"

typedef struct fake_canned {
  char method[8];
  char path[256];
  char query[256]; /* "" matches any query */
  int status;
  char ctype[64];
  char *body;      /* malloc'ed */
  int once;        /* answer once, then fall through to later entries */
  int used;
} fake_canned;

typedef struct fake_rec {
  char method[8];
  char path[512];
  char query[1024];
  char auth[512];
  char if_match[128];
  char ctype[128];
  char *body; /* malloc'ed, NUL-terminated */
} fake_rec;

typedef struct fake {
  uv_loop_t loop;
  uv_thread_t thread;
  uv_async_t stop;
  uv_sem_t ready;
  uv_mutex_t mu;
  ck_listener *lst;
  ck_http_server *srv;
  ck_tls_ctx *tls;
  int port;
  int failed;
  char why[512];
  int hs_failed; /* TLS handshakes that failed (untrusted client aborts) */
  fake_canned canned[FAKE_MAX_CANNED];
  size_t ncanned;
  fake_rec recs[FAKE_MAX_RECS];
  size_t nrecs;
  char *dir;       /* temporary directory (HOME, files) */
  char token_file[600];
} fake;

static void fake_record(fake *f, ck_http_req *req) {
  fake_rec *r;
  const char *h;
  const uint8_t *b;
  size_t len;

  if (f->nrecs >= FAKE_MAX_RECS)
    return;
  r = &f->recs[f->nrecs++];
  memset(r, 0, sizeof *r);
  snprintf(r->method, sizeof r->method, "%s", ck_http_req_method_name(req));
  snprintf(r->path, sizeof r->path, "%s", ck_http_req_path(req));
  snprintf(r->query, sizeof r->query, "%s", ck_http_req_query(req));
  if ((h = ck_http_req_header(req, "Authorization")) != NULL)
    snprintf(r->auth, sizeof r->auth, "%s", h);
  if ((h = ck_http_req_header(req, "If-Match")) != NULL)
    snprintf(r->if_match, sizeof r->if_match, "%s", h);
  if ((h = ck_http_req_header(req, "Content-Type")) != NULL)
    snprintf(r->ctype, sizeof r->ctype, "%s", h);
  b = ck_http_req_body(req, &len);
  r->body = malloc(len + 1);
  if (r->body != NULL) {
    memcpy(r->body, b, len);
    r->body[len] = '\0';
  }
}

static void fake_handler(ck_http_req *req, void *arg) {
  fake *f = arg;
  const char *m = ck_http_req_method_name(req), *p = ck_http_req_path(req);
  const char *q = ck_http_req_query(req);
  static const char nf[] =
      "{\"type\":\"urn:certkeeper:problem:not-found\",\"title\":\"Not "
      "Found\",\"status\":404,\"detail\":\"the fake has no answer for this\"}";
  int status = 404;
  char ctype[64] = "application/problem+json";
  char *body = NULL;
  size_t i;

  uv_mutex_lock(&f->mu);
  fake_record(f, req);
  for (i = 0; i < f->ncanned; i++) {
    fake_canned *c = &f->canned[i];
    if (strcmp(c->method, m) != 0 || strcmp(c->path, p) != 0 ||
        (c->query[0] != '\0' && strcmp(c->query, q) != 0) ||
        (c->once && c->used))
      continue;
    c->used = 1;
    status = c->status;
    snprintf(ctype, sizeof ctype, "%s", c->ctype);
    body = strdup(c->body);
    break;
  }
  uv_mutex_unlock(&f->mu);
  if (body == NULL)
    body = strdup(nf);
  ck_http_respond(req, status, ctype, body, strlen(body));
  free(body);
}

static void fake_hs(ck_conn *c, ck_err status, const ck_errctx *err,
                    void *arg) {
  fake *f = arg;
  ck_errctx e2 = CK_ERRCTX_INIT;

  (void)err;
  if (status != CK_OK) {
    f->hs_failed++;
    return;
  }
  (void)ck_http_server_attach(f->srv, c, &e2); /* takes c in every case */
}

static void fake_accept(ck_listener *l, ck_conn *c) {
  fake *f = ck_listener_data(l);
  ck_errctx err = CK_ERRCTX_INIT;

  if (ck_tls_conn_wrap(c, f->tls, CK_TLS_SERVER, fake_hs, f, &err) != CK_OK)
    ck_conn_close(c, NULL);
}

static void fake_on_stop(uv_async_t *a) {
  fake *f = a->data;

  ck_listener_close(f->lst, NULL);
  ck_http_server_close(f->srv, NULL, NULL);
  uv_close((uv_handle_t *)a, NULL);
}

static void fake_thread(void *arg) {
  fake *f = arg;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_tls_config cfg;
  char cert[512], key[512];

  memset(&cfg, 0, sizeof cfg);
  snprintf(cert, sizeof cert, "%s", ck_test_data("tls/server-ec.pem"));
  snprintf(key, sizeof key, "%s", ck_test_data("tls/server-ec.key"));
  cfg.role = CK_TLS_SERVER;
  cfg.cert_file = cert;
  cfg.key_file = key;
  if (ck_tls_ctx_new(&cfg, &f->tls, &err) != CK_OK ||
      ck_http_server_new(&f->loop, NULL, &f->srv, &err) != CK_OK ||
      ck_http_server_route_prefix(f->srv,
                                  CK_HTTP_GET | CK_HTTP_POST | CK_HTTP_PUT |
                                      CK_HTTP_DELETE | CK_HTTP_PATCH,
                                  "/", fake_handler, f, &err) != CK_OK ||
      ck_listener_start(&f->loop, "127.0.0.1:0", fake_accept, f, &f->lst,
                        &err) != CK_OK) {
    f->failed = 1;
    snprintf(f->why, sizeof f->why, "%s", ck_errctx_msg(&err));
    uv_close((uv_handle_t *)&f->stop, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_sem_post(&f->ready);
    return;
  }
  f->port = ck_listener_port(f->lst);
  uv_sem_post(&f->ready);
  uv_run(&f->loop, UV_RUN_DEFAULT);
}

/* Starts the fake and writes the test token to <dir>/api.token (0600). */
static FAKE_UNUSED fake *fake_start(void) {
  fake *f = calloc(1, sizeof *f);
  ck_errctx err = CK_ERRCTX_INIT;

  signal(SIGPIPE, SIG_IGN);
  assert_non_null(f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(uv_async_init(&f->loop, &f->stop, fake_on_stop), 0);
  f->stop.data = f;
  assert_int_equal(uv_sem_init(&f->ready, 0), 0);
  assert_int_equal(uv_mutex_init(&f->mu), 0);
  assert_int_equal(uv_thread_create(&f->thread, fake_thread, f), 0);
  uv_sem_wait(&f->ready);
  if (f->failed) {
    print_error("fake API setup failed: %s\n", f->why);
    fail();
  }
  f->dir = ck_test_tmpdir();
  snprintf(f->token_file, sizeof f->token_file, "%s/api.token", f->dir);
  assert_int_equal(ck_fs_write_atomic(f->token_file, TEST_TOKEN "\n",
                                      strlen(TEST_TOKEN) + 1, 0600, &err),
                   CK_OK);
  return f;
}

static FAKE_UNUSED void fake_stop(fake *f) {
  size_t i;

  uv_async_send(&f->stop);
  uv_thread_join(&f->thread);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  ck_tls_ctx_free(f->tls);
  uv_sem_destroy(&f->ready);
  uv_mutex_destroy(&f->mu);
  for (i = 0; i < f->ncanned; i++)
    free(f->canned[i].body);
  for (i = 0; i < f->nrecs; i++)
    free(f->recs[i].body);
  ck_test_rmtree(f->dir);
  free(f->dir);
  free(f);
}

/* Adds a canned answer. query "" matches any query. */
static FAKE_UNUSED void fake_answer_q(fake *f, const char *method,
                                      const char *path, const char *query,
                                      int status, const char *body) {
  fake_canned *c;

  uv_mutex_lock(&f->mu);
  assert_true(f->ncanned < FAKE_MAX_CANNED);
  c = &f->canned[f->ncanned++];
  memset(c, 0, sizeof *c);
  snprintf(c->method, sizeof c->method, "%s", method);
  snprintf(c->path, sizeof c->path, "%s", path);
  snprintf(c->query, sizeof c->query, "%s", query);
  c->status = status;
  snprintf(c->ctype, sizeof c->ctype, "%s",
           status >= 400 ? "application/problem+json" : "application/json");
  c->body = strdup(body);
  uv_mutex_unlock(&f->mu);
}

static FAKE_UNUSED void fake_answer(fake *f, const char *method,
                                    const char *path, int status,
                                    const char *body) {
  fake_answer_q(f, method, path, "", status, body);
}

/* Forgets canned answers and recorded requests. */
static FAKE_UNUSED void fake_reset(fake *f) {
  size_t i;

  uv_mutex_lock(&f->mu);
  for (i = 0; i < f->ncanned; i++)
    free(f->canned[i].body);
  for (i = 0; i < f->nrecs; i++)
    free(f->recs[i].body);
  f->ncanned = 0;
  f->nrecs = 0;
  uv_mutex_unlock(&f->mu);
}

static FAKE_UNUSED size_t fake_nrecs(fake *f) {
  size_t n;

  uv_mutex_lock(&f->mu);
  n = f->nrecs;
  uv_mutex_unlock(&f->mu);
  return n;
}

/* ---- running the CLI --------------------------------------------------- */

typedef struct cli_run {
  int rc;
  char *out; /* stdout, malloc'ed */
  char *err; /* stderr, malloc'ed */
} cli_run;

static FAKE_UNUSED void cli_run_free(cli_run *r) {
  free(r->out);
  free(r->err);
  memset(r, 0, sizeof *r);
}

static char *fake_slurp(const char *path) {
  uint8_t *buf = NULL;
  size_t len;
  ck_errctx err = CK_ERRCTX_INIT;

  if (ck_fs_read_file(path, 64 * 1024 * 1024, &buf, &len, &err) != CK_OK)
    return strdup("");
  return (char *)buf;
}

static const char *cli_bin(void) {
  static char path[1024];
  const char *b = getenv("CK_BUILD_DIR");

  assert_non_null(b);
  snprintf(path, sizeof path, "%s/coordinator/certkeeper", b);
  return path;
}

/* Runs `env -i HOME=<dir> <envs> certkeeper <args>` (args is a shell
 * fragment; quote what needs quoting) and captures stdout and stderr
 * apart. envs may be "" or "NAME=value ...". */
static FAKE_UNUSED __attribute__((format(printf, 3, 4))) cli_run
cli_env(fake *f, const char *envs, const char *fmt, ...) {
  char args[6000], o[700], e[700];
  cli_run r;
  va_list ap;
  char *junk = NULL;

  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(o, sizeof o, "%s/stdout.txt", f->dir);
  snprintf(e, sizeof e, "%s/stderr.txt", f->dir);
  r.rc = ck_test_sh(&junk,
                    "( env -i PATH=/usr/bin:/bin HOME='%s' %s '%s' %s "
                    "</dev/null >'%s' 2>'%s' )",
                    f->dir, envs, cli_bin(), args, o, e);
  free(junk);
  r.out = fake_slurp(o);
  r.err = fake_slurp(e);
  if (getenv("CK_TEST_VERBOSE") != NULL) /* to see what the CLI printed */
    fprintf(stderr, "$ certkeeper %s\n-> exit %d\n%s%s", args, r.rc, r.out,
            r.err);
  return r;
}

/* Runs the CLI against the fake with --server/--cacert/--token-file
 * added after the command's own arguments. */
static FAKE_UNUSED __attribute__((format(printf, 2, 3))) cli_run
cli(fake *f, const char *fmt, ...) {
  char args[5000];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  return cli_env(f, "",
                 "%s --server https://127.0.0.1:%d --cacert '%s' "
                 "--token-file '%s'",
                 args, f->port, ck_test_data("tls/root-ca.pem"),
                 f->token_file);
}

/* Asserts with the CLI's output shown when it fails. */
#define assert_rc(r, want)                                                     \
  do {                                                                         \
    if ((r).rc != (want)) {                                                    \
      print_error("exit %d, wanted %d\nstdout: %s\nstderr: %s\n", (r).rc,     \
                  (want), (r).out, (r).err);                                   \
      fail();                                                                  \
    }                                                                          \
  } while (0)

#endif
