/* fuzz_http.c — libFuzzer target for the HTTP request path: arbitrary bytes
 * go through ck__http_conn_feed(), the same entry the socket read callback
 * uses, on a connection attached to a real server with real routes. No
 * sockets: the conn is an in-memory fake whose writes stay "queued" until
 * the fuzzer completes them, so backpressure, pipelining limits, late and
 * out-of-order answers, and closes with requests in flight are exercised.
 *
 * Input: byte 0 picks the chunking and behaviour, the rest is the stream:
 *   bits 0-4  chunk size - 1 (1..32 bytes per feed), 0x1f = whole input
 *   bit 5     complete queued writes after every chunk
 *   bit 6     answer late requests newest first (else oldest first)
 *   bit 7     end with a FIN (read callback with CK_ERR_CLOSED) */
#include <stdlib.h>
#include <string.h>

#include "common/net/http_int.h"
#include "common/util/log.h"

typedef struct pending_write {
  ck_conn_write_cb cb;
  void *arg;
  size_t len;
} pending_write;

typedef struct fake_conn {
  ck_conn base;           /* first */
  ck_conn_read_cb read_cb;
  ck_conn_close_cb close_cb;
  int closing;
  pending_write w[256];
  size_t nw, queued;
} fake_conn;

static uv_loop_t loop;
static ck_http_req *late[64];
static size_t nlate;

static ck_err f_read_start(ck_conn *c, ck_conn_read_cb cb) {
  ((fake_conn *)c)->read_cb = cb;
  return CK_OK;
}
static void f_read_stop(ck_conn *c) { ((fake_conn *)c)->read_cb = NULL; }

static void complete_writes(fake_conn *f, ck_err st) {
  while (f->nw > 0) {
    pending_write w = f->w[0];
    memmove(f->w, f->w + 1, (f->nw - 1) * sizeof f->w[0]);
    f->nw--;
    f->queued -= w.len;
    if (w.cb != NULL)
      w.cb(&f->base, st, w.arg);
  }
}

static ck_err f_write(ck_conn *c, const uv_buf_t *bufs, unsigned n,
                      ck_conn_write_cb cb, void *arg) {
  fake_conn *f = (fake_conn *)c;
  size_t len = 0;

  if (f->closing)
    return CK_ERR_CLOSED;
  for (unsigned i = 0; i < n; i++) {
    len += bufs[i].len;
    if (bufs[i].len > 0)
      (void)((volatile const char *)bufs[i].base)[bufs[i].len - 1];
  }
  if (f->nw == sizeof f->w / sizeof f->w[0]) {
    if (cb != NULL)
      cb(c, CK_OK, arg); /* synchronous completion: also legal */
    return CK_OK;
  }
  f->w[f->nw].cb = cb;
  f->w[f->nw].arg = arg;
  f->w[f->nw].len = len;
  f->nw++;
  f->queued += len;
  return CK_OK;
}

static void f_close(ck_conn *c, ck_conn_close_cb cb) {
  fake_conn *f = (fake_conn *)c;
  if (f->closing)
    return;
  f->closing = 1;
  f->close_cb = cb;
}

static size_t f_wqs(const ck_conn *c) { return ((const fake_conn *)c)->queued; }

static const ck_conn_vtbl fake_vtbl = {
    .read_start = f_read_start,
    .read_stop = f_read_stop,
    .write = f_write,
    .close = f_close,
    .write_queue_size = f_wqs,
    .peer_cert_der = NULL,
};

/* ---- routes ------------------------------------------------------------ */

static void h_now(ck_http_req *req, void *arg) {
  size_t n;
  const char *v = ck_http_req_header(req, "x-a");
  (void)arg;
  (void)ck_http_req_body(req, &n);
  (void)ck_http_req_query_param(req, "q");
  if (v != NULL)
    ck_http_add_header(req, "X-Echo", v);
  if (ck_http_req_header(req, "x-close") != NULL)
    ck_http_add_header(req, "Connection", "close");
  ck_http_respond(req, 200, "text/plain", ck_http_req_path_rest(req),
                  strlen(ck_http_req_path_rest(req)));
}

static void h_late(ck_http_req *req, void *arg) {
  (void)arg;
  if (nlate < sizeof late / sizeof late[0])
    late[nlate++] = req;
  else
    ck_http_respond_status(req, 503);
}

static int guard(const ck_http_req *req, void *arg) {
  (void)arg;
  return ck_http_req_header(req, "x-no") != NULL ? 403 : 0;
}

static void answer_late(int newest_first) {
  while (nlate > 0) {
    ck_http_req *r;
    if (newest_first) {
      r = late[--nlate];
    } else {
      r = late[0];
      memmove(late, late + 1, (--nlate) * sizeof late[0]);
    }
    ck_http_respond(r, 201, NULL, "late", 4);
  }
}

static void on_server_closed(void *arg) { *(int *)arg = 1; }

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  uv_loop_init(&loop);
  ck_log_configure(CK_LOG_OPS, "none", CK_LOG_FMT_KV, CK_LOG_CRIT, NULL);
  ck_log_configure(CK_LOG_SEC, "none", CK_LOG_FMT_KV, CK_LOG_CRIT, NULL);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ck_http_config cfg;
  ck_http_server *srv = NULL;
  ck_http_route small = {.methods = CK_HTTP_POST | CK_HTTP_PUT,
                         .path = "/small", .handler = h_now,
                         .max_body_bytes = 16, .precheck = guard};
  fake_conn *fc;
  int closed = 0;
  uint8_t mode;
  size_t chunk, off = 0;

  if (size < 1)
    return 0;
  mode = data[0];
  data++;
  size--;
  chunk = (mode & 0x1f) == 0x1f ? (size ? size : 1) : (size_t)(mode & 0x1f) + 1;

  ck_http_config_defaults(&cfg);
  cfg.max_header_bytes = 512;
  cfg.max_body_bytes = 256;
  cfg.max_headers = 8;
  cfg.max_pipelined = 4;
  cfg.write_high_water = 300;
  if (ck_http_server_new(&loop, &cfg, &srv, NULL) != CK_OK)
    return 0;
  ck_http_server_route(srv, CK_HTTP_GET | CK_HTTP_POST, "/", h_now, NULL,
                       NULL);
  ck_http_server_route_prefix(srv, CK_HTTP_GET | CK_HTTP_PUT, "/p/", h_now,
                              NULL, NULL);
  ck_http_server_route(srv, CK_HTTP_GET | CK_HTTP_DELETE, "/late", h_late,
                       NULL, NULL);
  ck_http_server_add_route(srv, &small, NULL);

  fc = calloc(1, sizeof *fc);
  if (fc == NULL)
    abort();
  fc->base.vt = &fake_vtbl;
  fc->base.loop = &loop;
  memcpy(fc->base.peer, "fuzz:0", 7);
  if (ck_http_server_attach(srv, &fc->base, NULL) != CK_OK)
    abort();

  while (off < size && !fc->closing) {
    size_t n = size - off < chunk ? size - off : chunk;
    ck__http_conn_feed(&fc->base, data + off, n);
    off += n;
    if (mode & 0x20)
      complete_writes(fc, CK_OK);
    if (!fc->closing && off % (chunk * 3) < chunk)
      answer_late(mode & 0x40);
  }
  if ((mode & 0x80) && !fc->closing && fc->read_cb != NULL)
    fc->read_cb(&fc->base, NULL, 0, CK_ERR_CLOSED);
  complete_writes(fc, CK_OK);
  answer_late(mode & 0x40);
  complete_writes(fc, CK_OK);

  /* tear down: the server closes the conn; we play the conn's close */
  ck_http_server_close(srv, on_server_closed, &closed);
  complete_writes(fc, CK_ERR_CANCELED);
  if (fc->closing && fc->close_cb != NULL)
    fc->close_cb(&fc->base);
  free(fc);
  /* requests still held are detached now; answering frees them (the
   * server's close waits for that) */
  answer_late(mode & 0x40);
  while (!closed)
    if (uv_run(&loop, UV_RUN_ONCE) == 0 && !closed)
      abort(); /* the server never finished closing: a lifetime bug */
  return 0;
}
