/* http_fixture.h — shared by the HTTP tests (unit and curl integration): an
 * HTTP server running its own libuv loop in a second thread, and a small
 * blocking raw-socket client for the main thread.
 *
 * Synchronisation is by semaphores and by what the client reads from the
 * socket, never by sleeping; every blocking read has a receive timeout so a
 * broken server fails the test instead of hanging it. Handlers run on the
 * server thread; results they record are read by the main thread only after
 * the thread has been joined, or through the /stats route (in-band). */
#ifndef CK_TESTS_HTTP_FIXTURE_H
#define CK_TESTS_HTTP_FIXTURE_H

#include "tests/testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/net/http.h"

#define HFX_UNUSED __attribute__((unused))

typedef struct hfx hfx;
typedef void (*hfx_setup_fn)(hfx *f);

struct hfx {
  uv_loop_t loop;
  uv_thread_t thread;
  uv_async_t stop;
  uv_sem_t ready;
  ck_http_server *srv;
  ck_http_config cfg;
  hfx_setup_fn setup; /* adds routes, on the server thread */
  int port;
  int failed;         /* server setup failed (checked by the main thread) */
  char why[512];
  int closed;         /* server close callback ran */
  int stop_sent;      /* hfx_request_stop ran */
  ck_http_stats final;/* stats just before closing */
  void *user;         /* for the test */
};

static void hfx_on_closed(void *arg) { ((hfx *)arg)->closed = 1; }

static void hfx_on_stop(uv_async_t *a) {
  hfx *f = a->data;

  ck_http_server_stats(f->srv, &f->final);
  ck_http_server_close(f->srv, hfx_on_closed, f);
  uv_close((uv_handle_t *)a, NULL);
}

static void hfx_thread(void *arg) {
  hfx *f = arg;
  ck_errctx err = CK_ERRCTX_INIT;

  if (ck_http_server_new(&f->loop, &f->cfg, &f->srv, &err) != CK_OK) {
    f->failed = 1;
  } else {
    if (f->setup != NULL)
      f->setup(f);
    if (!f->failed &&
        ck_http_server_listen(f->srv, "127.0.0.1:0", &err) != CK_OK)
      f->failed = 1;
    f->port = ck_http_server_port(f->srv);
  }
  if (f->failed)
    snprintf(f->why, sizeof f->why, "%s", ck_errctx_msg(&err));
  uv_sem_post(&f->ready);
  if (!f->failed)
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

/* Starts a server with cfg (NULL: defaults) and the routes of setup. */
static HFX_UNUSED hfx *hfx_start(const ck_http_config *cfg, hfx_setup_fn setup,
                                 void *user) {
  hfx *f = calloc(1, sizeof *f);

  signal(SIGPIPE, SIG_IGN); /* peers that reset must not kill the test */
  assert_non_null(f);
  if (cfg != NULL)
    f->cfg = *cfg;
  else
    ck_http_config_defaults(&f->cfg);
  f->setup = setup;
  f->user = user;
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(uv_async_init(&f->loop, &f->stop, hfx_on_stop), 0);
  f->stop.data = f;
  assert_int_equal(uv_sem_init(&f->ready, 0), 0);
  assert_int_equal(uv_thread_create(&f->thread, hfx_thread, f), 0);
  uv_sem_wait(&f->ready);
  if (f->failed) {
    print_error("server setup failed: %s\n", f->why);
    fail();
  }
  assert_true(f->port > 0);
  return f;
}

/* Asks the server thread to close the server (once). */
static HFX_UNUSED void hfx_request_stop(hfx *f) {
  if (!f->stop_sent) {
    f->stop_sent = 1;
    uv_async_send(&f->stop);
  }
}

/* Asks the server to close, joins its thread and frees f. The stats taken
 * just before the close are copied to *final if not NULL. */
static HFX_UNUSED void hfx_stop(hfx *f, ck_http_stats *final) {
  hfx_request_stop(f);
  uv_thread_join(&f->thread);
  assert_true(f->closed);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  uv_sem_destroy(&f->ready);
  if (final != NULL)
    *final = f->final;
  free(f);
}

/* ---- raw client -------------------------------------------------------- */

typedef struct rawc {
  int fd;
  char *buf;  /* received, not yet consumed */
  size_t len, cap;
  int eof;    /* the server closed (recv returned 0) */
} rawc;

typedef struct resp {
  int status;
  char head[8192]; /* status line and headers, NUL-terminated */
  char *body;      /* malloc'ed, NUL-terminated */
  size_t body_len;
} resp;

static HFX_UNUSED uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Connects to 127.0.0.1:port; rcvbuf > 0 shrinks the receive buffer (set
 * before connecting so the advertised window stays small). */
static HFX_UNUSED rawc *raw_connect_rcvbuf(int port, int rcvbuf) {
  rawc *c = calloc(1, sizeof *c);
  struct sockaddr_in sa;
  struct timeval tv = {10, 0};
  int one = 1;

  assert_non_null(c);
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(c->fd >= 0);
  if (rcvbuf > 0)
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof sa), 0);
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return c;
}

static HFX_UNUSED rawc *raw_connect(int port) {
  return raw_connect_rcvbuf(port, 0);
}

static HFX_UNUSED void raw_send(rawc *c, const void *p, size_t n) {
  const char *s = p;

  while (n > 0) {
    ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    assert_true(w > 0);
    s += w;
    n -= (size_t)w;
  }
}

static HFX_UNUSED void raw_sends(rawc *c, const char *s) {
  raw_send(c, s, strlen(s));
}

/* Reads more bytes; 1 on data, 0 on EOF, -1 on timeout or error. */
static int raw_fill(rawc *c) {
  ssize_t n;

  if (c->cap - c->len < 65536) {
    c->cap = c->cap ? c->cap * 2 : 131072;
    c->buf = realloc(c->buf, c->cap + 1);
    assert_non_null(c->buf);
  }
  do
    n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
  while (n < 0 && errno == EINTR);
  if (n == 0) {
    c->eof = 1;
    return 0;
  }
  if (n < 0)
    return -1;
  c->len += (size_t)n;
  c->buf[c->len] = '\0';
  return 1;
}

/* Value of header name in a response head, copied to a static buffer. */
static HFX_UNUSED const char *resp_header(const resp *r, const char *name) {
  static char val[1024];
  const char *p = strstr(r->head, "\r\n");
  size_t nlen = strlen(name);

  while (p != NULL && p[2] != '\0') {
    const char *line = p + 2, *eol = strstr(line, "\r\n");
    if (eol == NULL)
      break;
    if ((size_t)(eol - line) > nlen && line[nlen] == ':' &&
        strncasecmp(line, name, nlen) == 0) {
      const char *v = line + nlen + 1;
      while (*v == ' ')
        v++;
      snprintf(val, sizeof val, "%.*s", (int)(eol - v), v);
      return val;
    }
    p = eol;
  }
  return NULL;
}

static HFX_UNUSED void resp_free(resp *r) {
  free(r->body);
  r->body = NULL;
}

/* Reads one response (an interim 1xx too). head_req: the request was HEAD,
 * so no body follows whatever Content-Length says. Returns 0, or -1 when
 * the connection ended (or timed out) before a whole response. */
static HFX_UNUSED int raw_response(rawc *c, resp *r, int head_req) {
  char *end;
  size_t hlen, clen = 0;
  const char *cl;

  memset(r, 0, sizeof *r);
  while ((end = c->buf ? strstr(c->buf, "\r\n\r\n") : NULL) == NULL)
    if (raw_fill(c) <= 0)
      return -1;
  hlen = (size_t)(end - c->buf) + 4;
  assert_true(hlen < sizeof r->head);
  memcpy(r->head, c->buf, hlen);
  r->head[hlen] = '\0';
  assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
  cl = resp_header(r, "Content-Length");
  if (cl != NULL && !head_req && r->status >= 200)
    clen = strtoul(cl, NULL, 10);
  while (c->len < hlen + clen)
    if (raw_fill(c) <= 0)
      return -1;
  r->body = malloc(clen + 1);
  assert_non_null(r->body);
  memcpy(r->body, c->buf + hlen, clen);
  r->body[clen] = '\0';
  r->body_len = clen;
  memmove(c->buf, c->buf + hlen + clen, c->len - hlen - clen);
  c->len -= hlen + clen;
  c->buf[c->len] = '\0';
  return 0;
}

/* Sends req and returns the status of its response, body in *r. */
static HFX_UNUSED int raw_roundtrip(rawc *c, const char *req, resp *r) {
  raw_sends(c, req);
  assert_int_equal(raw_response(c, r, strncmp(req, "HEAD ", 5) == 0), 0);
  return r->status;
}

/* Waits for the server to close the connection (reading and discarding);
 * returns the milliseconds it took, or fails the test on a timeout. */
static HFX_UNUSED uint64_t raw_wait_close(rawc *c) {
  uint64_t t0 = now_ms();
  int rc;

  while ((rc = raw_fill(c)) > 0)
    c->len = 0;
  if (rc < 0) {
    /* ECONNRESET also means the server closed */
    assert_true(errno == ECONNRESET);
  }
  return now_ms() - t0;
}

static HFX_UNUSED void raw_close(rawc *c) {
  if (c == NULL)
    return;
  close(c->fd);
  free(c->buf);
  free(c);
}

/* Closes with a TCP reset instead of a FIN (a client that vanished). */
static HFX_UNUSED void raw_reset(rawc *c) {
  struct linger lg = {1, 0};

  setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  raw_close(c);
}

/* One request on a fresh connection; returns the status, body in *r. */
static HFX_UNUSED int raw_once(int port, const char *req, resp *r) {
  rawc *c = raw_connect(port);
  int st = raw_roundtrip(c, req, r);

  raw_close(c);
  return st;
}

#endif
