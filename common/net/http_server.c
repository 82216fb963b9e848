/* http_server.c — the HTTP/1.1 server: routes, listeners, and the state
 * machine of one connection (parse -> dispatch -> ordered output).
 *
 * A connection keeps one queue of requests in arrival order. The request
 * being parsed is at its tail (hc->cur); complete requests go to their
 * handler at once (so pipelined requests run concurrently), and answers
 * leave strictly from the head: an answer that is ready early waits in
 * req->out until everything before it has been written. Reading stops
 * while the queue holds max_pipelined requests or while the conn's write
 * queue is over the high-water mark (backpressure); bytes already received
 * but not parsed wait in a stash.
 *
 * All progress goes through pump(), which is not re-entrant: callbacks that
 * arrive while it runs (a handler answering synchronously, a write callback
 * fired from inside ck_conn_write) just ask it to go round again. A
 * connection is freed only when both its conn and its timer have been
 * closed by libuv, so callbacks after conn_close() still find it. */
#include "common/net/http_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util/clock.h"
#include "common/util/log.h"

#define DEF_MAX_HEADER_BYTES (16u * 1024)
#define DEF_MAX_BODY_BYTES (1024u * 1024)
#define DEF_MAX_HEADERS 100
#define DEF_IDLE_MS 60000
#define DEF_HEADER_MS 10000
#define DEF_BODY_MS 30000
#define DEF_MAX_CONNS 1024
#define DEF_MAX_PIPELINED 16
#define DEF_WRITE_HIGH_WATER (256u * 1024)
/* Bytes received but not yet parsed that a paused connection may hold. */
#define STASH_MIN_LIMIT (64u * 1024)

static void pump(ck__http_conn *hc);
static void conn_close(ck__http_conn *hc);
static void parse_bytes(ck__http_conn *hc, const char *data, size_t len);

void ck_http_config_defaults(ck_http_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->max_header_bytes = DEF_MAX_HEADER_BYTES;
  cfg->max_body_bytes = DEF_MAX_BODY_BYTES;
  cfg->max_headers = DEF_MAX_HEADERS;
  cfg->idle_timeout_ms = DEF_IDLE_MS;
  cfg->header_timeout_ms = DEF_HEADER_MS;
  cfg->body_timeout_ms = DEF_BODY_MS;
  cfg->max_connections = DEF_MAX_CONNS;
  cfg->max_pipelined = DEF_MAX_PIPELINED;
  cfg->write_high_water = DEF_WRITE_HIGH_WATER;
  cfg->server_name = "certkeeper";
}

/* ---- server and routes ------------------------------------------------- */

ck_err ck_http_server_new(uv_loop_t *loop, const ck_http_config *cfg,
                          ck_http_server **out, ck_errctx *err) {
  ck_http_server *srv = NULL;
  ck_http_config def;
  const char *name;

  *out = NULL;
  ck_http_config_defaults(&def);
  srv = calloc(1, sizeof *srv);
  if (srv == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "http server: out of memory");
  srv->loop = loop;
  srv->cfg = cfg != NULL ? *cfg : def;
#define CK__DEF(f)                                                             \
  if (srv->cfg.f == 0)                                                         \
  srv->cfg.f = def.f
  CK__DEF(max_header_bytes);
  CK__DEF(max_body_bytes);
  CK__DEF(max_headers);
  CK__DEF(idle_timeout_ms);
  CK__DEF(header_timeout_ms);
  CK__DEF(body_timeout_ms);
  CK__DEF(max_connections);
  CK__DEF(max_pipelined);
  CK__DEF(write_high_water);
#undef CK__DEF
  name = srv->cfg.server_name != NULL ? srv->cfg.server_name : def.server_name;
  if (strpbrk(name, "\r\n") != NULL || strlen(name) >= sizeof srv->server_name) {
    free(srv);
    return ck_failf(err, CK_ERR_INVAL,
                    "http server: server_name must be one line under %zu "
                    "bytes",
                    sizeof srv->server_name);
  }
  ck_strlcpy(srv->server_name, name, sizeof srv->server_name);
  srv->cfg.server_name = srv->server_name;
  *out = srv;
  return CK_OK;
}

static int route_path_matches(const ck__http_route *rt, const char *path,
                              size_t plen) {
  if (rt->r.prefix)
    return plen >= rt->path_len && memcmp(path, rt->path, rt->path_len) == 0;
  return plen == rt->path_len && memcmp(path, rt->path, plen) == 0;
}

static int same_path(const ck__http_route *a, const ck__http_route *b) {
  return a->r.prefix == b->r.prefix && strcmp(a->path, b->path) == 0;
}

ck_err ck_http_server_add_route(ck_http_server *srv, const ck_http_route *r,
                                ck_errctx *err) {
  ck__http_route *rt = NULL, **grown;
  size_t i;

  if (r->handler == NULL || r->path == NULL || r->path[0] != '/' ||
      (r->methods & ~(unsigned)(CK_HTTP_OTHER - 1)) != 0 || r->methods == 0)
    return ck_failf(err, CK_ERR_INVAL,
                    "http route '%s': needs a handler, a path starting with "
                    "'/' and known methods",
                    r->path != NULL ? r->path : "(null)");
  rt = calloc(1, sizeof *rt);
  if (rt == NULL || (rt->path = strdup(r->path)) == NULL) {
    free(rt);
    return ck_failf(err, CK_ERR_NOMEM, "http route: out of memory");
  }
  rt->r = *r;
  rt->r.path = rt->path;
  rt->path_len = strlen(rt->path);
  for (i = 0; i < srv->nroutes; i++) {
    if (same_path(srv->routes[i], rt) &&
        (srv->routes[i]->r.methods & rt->r.methods) != 0) {
      free(rt->path);
      free(rt);
      return ck_failf(err, CK_ERR_INVAL,
                      "http route '%s': method already routed", r->path);
    }
  }
  grown = realloc(srv->routes, (srv->nroutes + 1) * sizeof *grown);
  if (grown == NULL) {
    free(rt->path);
    free(rt);
    return ck_failf(err, CK_ERR_NOMEM, "http route: out of memory");
  }
  srv->routes = grown;
  srv->routes[srv->nroutes++] = rt;
  return CK_OK;
}

ck_err ck_http_server_route(ck_http_server *srv, unsigned methods,
                            const char *path, ck_http_handler h, void *arg,
                            ck_errctx *err) {
  ck_http_route r = {.methods = methods, .path = path, .handler = h,
                     .arg = arg};
  return ck_http_server_add_route(srv, &r, err);
}

ck_err ck_http_server_route_prefix(ck_http_server *srv, unsigned methods,
                                   const char *prefix, ck_http_handler h,
                                   void *arg, ck_errctx *err) {
  ck_http_route r = {.methods = methods, .path = prefix, .prefix = 1,
                     .handler = h, .arg = arg};
  return ck_http_server_add_route(srv, &r, err);
}

/* Sets req->route (NULL if none takes the method) and req->allow (methods
 * of the best-matching path; 0 when no path matches: 404). */
static void route_lookup(ck_http_server *srv, ck_http_req *req) {
  const ck__http_route *best = NULL, *rt;
  size_t plen = strlen(req->path), i;
  unsigned want = req->method, allow = 0;

  if (want == CK_HTTP_HEAD)
    want |= CK_HTTP_GET;
  for (i = 0; i < srv->nroutes; i++) {
    rt = srv->routes[i];
    if (!route_path_matches(rt, req->path, plen))
      continue;
    if (best == NULL || (best->r.prefix && !rt->r.prefix) ||
        (best->r.prefix && rt->r.prefix && rt->path_len > best->path_len))
      best = rt;
  }
  req->route = NULL;
  if (best == NULL) {
    req->allow = 0;
    return;
  }
  for (i = 0; i < srv->nroutes; i++) {
    rt = srv->routes[i];
    if (!same_path(rt, best))
      continue;
    allow |= rt->r.methods;
    if (req->route == NULL && (rt->r.methods & want) != 0)
      req->route = rt;
  }
  if (allow & CK_HTTP_GET)
    allow |= CK_HTTP_HEAD;
  req->allow = allow;
  if (req->route != NULL && req->route->r.prefix)
    req->path_rest = req->path + req->route->path_len;
}

void ck__http_server_maybe_free(ck_http_server *srv) {
  void (*cb)(void *);
  void *arg;
  size_t i;

  if (!srv->closing || srv->conns != NULL || srv->stats.reqs_live > 0 ||
      srv->listeners_open > 0)
    return;
  cb = srv->close_cb;
  arg = srv->close_arg;
  for (i = 0; i < srv->nroutes; i++) {
    free(srv->routes[i]->path);
    free(srv->routes[i]);
  }
  free(srv->routes);
  free(srv->listeners);
  free(srv);
  if (cb != NULL)
    cb(arg);
}

static void on_listener_closed(void *data) {
  ck_http_server *srv = data;

  srv->listeners_open--;
  ck__http_server_maybe_free(srv);
}

void ck_http_server_close(ck_http_server *srv, void (*cb)(void *arg),
                          void *arg) {
  ck__http_conn *hc;
  size_t i;

  if (srv == NULL || srv->closing)
    return;
  srv->closing = 1;
  srv->close_cb = cb;
  srv->close_arg = arg;
  for (i = 0; i < srv->nlisteners; i++)
    ck_listener_close(srv->listeners[i], on_listener_closed);
  srv->nlisteners = 0;
  /* conn_close does not unlink (that happens in the close callback) */
  for (hc = srv->conns; hc != NULL; hc = hc->next)
    conn_close(hc);
  ck__http_server_maybe_free(srv);
}

void ck_http_server_stats(const ck_http_server *srv, ck_http_stats *out) {
  *out = srv->stats;
}

static void on_accept(ck_listener *l, ck_conn *c) {
  ck_http_server *srv = ck_listener_data(l);
  ck_errctx e = CK_ERRCTX_INIT;

  if (ck_http_server_attach(srv, c, &e) != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "http.accept_refused",
           CK_S("peer", c->peer), CK_E(e.code, ck_errctx_msg(&e)));
}

ck_err ck_http_server_listen(ck_http_server *srv, const char *addr,
                             ck_errctx *err) {
  ck_listener *l = NULL, **grown;
  ck_err rc;

  if (srv->closing)
    return ck_failf(err, CK_ERR_CLOSED, "http server is closing");
  grown = realloc(srv->listeners, (srv->nlisteners + 1) * sizeof *grown);
  if (grown == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "http listen: out of memory");
  srv->listeners = grown;
  rc = ck_listener_start(srv->loop, addr, on_accept, srv, &l, err);
  if (rc != CK_OK)
    return rc;
  srv->listeners[srv->nlisteners++] = l;
  srv->listeners_open++;
  srv->port = ck_listener_port(l);
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "http.listen", CK_S("addr", addr),
         CK_I("port", srv->port));
  return CK_OK;
}

int ck_http_server_port(const ck_http_server *srv) { return srv->port; }

/* ---- connection: lifetime ---------------------------------------------- */

static void on_read(ck_conn *c, const uint8_t *data, size_t len,
                    ck_err status);

static void conn_free_if_done(ck__http_conn *hc) {
  ck_http_server *srv = hc->srv;

  if (--hc->handles_open > 0)
    return;
  if (hc->prev != NULL)
    hc->prev->next = hc->next;
  else
    srv->conns = hc->next;
  if (hc->next != NULL)
    hc->next->prev = hc->prev;
  srv->stats.conns_open--;
  ck__http_parser_free(hc->parser);
  free(hc->url);
  free(hc->field);
  free(hc->value);
  free(hc->stash);
  free(hc);
  ck__http_server_maybe_free(srv);
}

static void on_conn_closed(ck_conn *c) {
  ck__http_conn *hc = c->data;

  hc->conn = NULL;
  conn_free_if_done(hc);
}

static void on_timer_closed(uv_handle_t *h) { conn_free_if_done(h->data); }

/* Drops every queued request: those a handler owns are detached (the
 * handler still answers; the answer is then dropped), the rest freed. */
static void detach_all(ck__http_conn *hc) {
  ck_http_req *req = hc->head, *next;

  for (; req != NULL; req = next) {
    next = req->next;
    req->next = NULL;
    if (req->state == CK__REQ_HANDLER)
      req->hc = NULL;
    else
      ck__http_req_free(req);
  }
  hc->head = hc->tail = hc->cur = hc->done = NULL;
  hc->nq = 0;
}

/* Closes the connection now (queued writes are still flushed by the conn
 * layer). hc stays allocated until libuv has closed both handles. */
static void conn_close(ck__http_conn *hc) {
  if (hc->closing)
    return;
  hc->closing = 1;
  detach_all(hc);
  free(hc->stash);
  hc->stash = NULL;
  hc->stash_len = 0;
  uv_timer_stop(&hc->timer);
  uv_close((uv_handle_t *)&hc->timer, on_timer_closed);
  ck_conn_close(hc->conn, on_conn_closed);
}

static const ck__http_parse_cbs parse_cbs;

ck_err ck_http_server_attach(ck_http_server *srv, ck_conn *c, ck_errctx *err) {
  ck__http_conn *hc = NULL;

  if (srv->closing) {
    ck_conn_close(c, NULL);
    return ck_failf(err, CK_ERR_CLOSED, "http server is closing");
  }
  if (srv->stats.conns_open >= srv->cfg.max_connections) {
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "http.conn_limit", CK_S("peer", c->peer),
           CK_I("open", srv->stats.conns_open));
    ck_conn_close(c, NULL);
    return ck_failf(err, CK_ERR_LIMIT, "http: %u connections already open",
                    srv->stats.conns_open);
  }
  hc = calloc(1, sizeof *hc);
  if (hc != NULL)
    hc->parser = ck__http_parser_new(&parse_cbs, hc);
  if (hc == NULL || hc->parser == NULL) {
    free(hc);
    ck_conn_close(c, NULL);
    return ck_failf(err, CK_ERR_NOMEM, "http conn: out of memory");
  }
  hc->srv = srv;
  hc->conn = c;
  hc->fresh = 1;
  hc->handles_open = 2;
  uv_timer_init(srv->loop, &hc->timer);
  hc->timer.data = hc;
  c->data = hc;
  hc->next = srv->conns;
  if (srv->conns != NULL)
    srv->conns->prev = hc;
  srv->conns = hc;
  srv->stats.conns_open++;
  srv->stats.conns_total++;
  pump(hc);
  return CK_OK;
}

/* ---- connection: output ------------------------------------------------ */

static void on_written(ck_conn *c, ck_err status, void *arg) {
  ck__http_conn *hc = arg;

  if (hc->closing)
    return;
  if (status != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_DEBUG, "http.write_failed", CK_S("peer", c->peer),
           CK_S("err", ck_err_name(status)));
    conn_close(hc);
    return;
  }
  pump(hc);
}

static ck_err conn_write(ck__http_conn *hc, const uv_buf_t *bufs,
                         unsigned n) {
  ck_err rc = ck_conn_write(hc->conn, bufs, n, on_written, hc);

  if (rc != CK_OK)
    conn_close(hc);
  return rc;
}

static ck_http_req *queue_pop(ck__http_conn *hc) {
  ck_http_req *req = hc->head;

  hc->head = req->next;
  if (hc->head == NULL)
    hc->tail = NULL;
  req->next = NULL;
  hc->nq--;
  return req;
}

/* After a response that closes the connection: nothing more is parsed and
 * the requests behind it are dropped. */
static void close_after_this(ck__http_conn *hc) {
  hc->no_more = 1;
  hc->close_when_flushed = 1;
  detach_all(hc);
}

ck_err ck__http_conn_deliver(ck_http_req *req, char *headbuf, size_t headlen,
                             const void *body, size_t bodylen) {
  ck__http_conn *hc = req->hc;
  uv_buf_t bufs[2];
  ck_err rc = CK_OK;
  int close;

  if (headbuf == NULL) {
    conn_close(hc); /* detaches req */
    ck__http_req_free(req);
    return CK_ERR_NOMEM;
  }
  if (req == hc->head) {
    /* its turn: write straight from the caller's buffers (the conn copies) */
    bufs[0] = uv_buf_init(headbuf, (unsigned)headlen);
    bufs[1] = uv_buf_init((char *)(uintptr_t)body, (unsigned)bodylen);
    rc = conn_write(hc, bufs, bodylen > 0 ? 2 : 1);
    free(headbuf);
    if (hc->closing) {
      ck__http_req_free(req); /* conn_close detached it */
      return rc;
    }
    queue_pop(hc);
    close = req->close_after;
    ck__http_req_free(req);
    if (close)
      close_after_this(hc);
    pump(hc);
    return rc;
  }
  req->out = malloc(headlen + bodylen + 1);
  if (req->out == NULL) {
    free(headbuf);
    conn_close(hc);
    ck__http_req_free(req);
    return CK_ERR_NOMEM;
  }
  memcpy(req->out, headbuf, headlen);
  if (bodylen > 0)
    memcpy(req->out + headlen, body, bodylen);
  req->out_len = headlen + bodylen;
  free(headbuf);
  req->state = CK__REQ_RESPONDED;
  hc->srv->stats.reqs_live--;
  pump(hc);
  return CK_OK;
}

/* Writes the answers that are ready, in order, and a pending 100 Continue. */
static void flush_ready(ck__http_conn *hc) {
  static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
  ck_http_req *req;
  uv_buf_t b;
  int close;

  while ((req = hc->head) != NULL && req->state == CK__REQ_RESPONDED) {
    b = uv_buf_init(req->out, (unsigned)req->out_len);
    if (conn_write(hc, &b, 1) != CK_OK)
      return; /* closed */
    queue_pop(hc);
    close = req->close_after;
    ck__http_req_free(req);
    if (close) {
      close_after_this(hc);
      return;
    }
  }
  if (req != NULL && req == hc->cur && req->want_continue &&
      !req->continue_sent) {
    req->continue_sent = 1;
    b = uv_buf_init((char *)cont, sizeof cont - 1);
    conn_write(hc, &b, 1);
  }
}

/* ---- connection: the pump ---------------------------------------------- */

/* Updates and returns the backpressure state from the conn's write queue:
 * on above the high-water mark, off again below half of it. */
static int over_high_water(ck__http_conn *hc) {
  size_t q = ck_conn_write_queue_size(hc->conn);
  size_t hw = hc->srv->cfg.write_high_water;

  if (!hc->backpressure && q > hw) {
    hc->backpressure = 1;
    hc->srv->stats.backpressure_events++;
  } else if (hc->backpressure && q <= hw / 2) {
    hc->backpressure = 0;
  }
  return hc->backpressure;
}

/* May a new request be parsed (and so dispatched) now? */
static int can_start_request(ck__http_conn *hc) {
  return hc->nq < hc->srv->cfg.max_pipelined && !over_high_water(hc);
}

static int should_close(const ck__http_conn *hc) {
  if (hc->close_when_flushed && hc->head == NULL)
    return 1;
  /* the client has half-closed: close once every complete request has
   * been answered (a partial one can never complete) */
  return hc->eof && hc->stash_len == 0 &&
         (hc->head == NULL || hc->head->state == CK__REQ_PARSING);
}

static void update_reading(ck__http_conn *hc) {
  int want = !hc->eof && !hc->no_more && !hc->backpressure &&
             hc->stash_len == 0 && (hc->cur != NULL || can_start_request(hc));

  if (want && !hc->reading) {
    if (ck_conn_read_start(hc->conn, on_read) != CK_OK) {
      conn_close(hc);
      return;
    }
    hc->reading = 1;
  } else if (!want && hc->reading) {
    ck_conn_read_stop(hc->conn);
    hc->reading = 0;
  }
}

static void on_timer(uv_timer_t *t) {
  static const char *const names[] = {"none", "header", "body", "idle",
                                      "write"};
  ck__http_conn *hc = t->data;
  int kind = hc->timer_kind;
  size_t q;

  if (kind == CK__T_WRITE) {
    /* a slow reader that still makes progress keeps its connection */
    q = ck_conn_write_queue_size(hc->conn);
    if (q < hc->timer_wq) {
      hc->timer_wq = q;
      uv_timer_start(&hc->timer, on_timer, hc->srv->cfg.idle_timeout_ms, 0);
      return;
    }
  }
  hc->timer_kind = CK__T_NONE;
  ck_log(CK_LOG_OPS, kind == CK__T_IDLE ? CK_LOG_DEBUG : CK_LOG_INFO,
         "http.timeout", CK_S("peer", hc->conn->peer),
         CK_S("phase", names[kind]));
  conn_close(hc);
}

static void update_timer(ck__http_conn *hc) {
  const ck_http_config *cfg = &hc->srv->cfg;
  int kind = CK__T_NONE;
  unsigned ms = 0;

  if (hc->backpressure) {
    kind = CK__T_WRITE;
    ms = cfg->idle_timeout_ms;
  } else if (hc->cur != NULL && hc->cur->headers_done) {
    kind = CK__T_BODY;
    ms = cfg->body_timeout_ms;
  } else if (hc->cur != NULL || hc->partial || (hc->fresh && hc->nq == 0)) {
    kind = CK__T_HEADER;
    ms = cfg->header_timeout_ms;
  } else if (hc->nq == 0 && !hc->eof) {
    kind = CK__T_IDLE;
    ms = cfg->idle_timeout_ms;
  }
  if (kind == hc->timer_kind && hc->gen == hc->timer_gen)
    return;
  hc->timer_kind = kind;
  hc->timer_gen = hc->gen;
  hc->timer_wq = ck_conn_write_queue_size(hc->conn);
  if (kind == CK__T_NONE)
    uv_timer_stop(&hc->timer);
  else
    uv_timer_start(&hc->timer, on_timer, ms, 0);
}

static void pump(ck__http_conn *hc) {
  char *buf;
  size_t n;

  if (hc->busy) {
    hc->again = 1;
    return;
  }
  hc->busy = 1;
  do {
    hc->again = 0;
    if (hc->closing)
      break;
    flush_ready(hc);
    if (hc->closing)
      break;
    if (should_close(hc)) {
      conn_close(hc);
      break;
    }
    over_high_water(hc);
    if (hc->stash_len > 0 && hc->no_more) {
      free(hc->stash);
      hc->stash = NULL;
      hc->stash_len = 0;
    }
    if (hc->stash_len > 0 && can_start_request(hc)) {
      buf = hc->stash;
      n = hc->stash_len;
      hc->stash = NULL;
      hc->stash_len = 0;
      parse_bytes(hc, buf, n);
      free(buf);
      hc->again = 1;
      continue;
    }
    update_reading(hc);
    if (hc->closing)
      break;
    update_timer(hc);
  } while (hc->again);
  hc->busy = 0;
}

/* ---- connection: input ------------------------------------------------- */

/* Records why a parse callback is about to stop the parser; parse_failed
 * answers with it. The first reason wins. */
static void reject(ck__http_conn *hc, int status, const char *why) {
  if (hc->reject_status == 0) {
    hc->reject_status = status;
    hc->reject_reason = why;
  }
}

/* The parser stopped on an error: answer the request being parsed with the
 * status a callback chose (or 400 / 431), then close. */
static void parse_failed(ck__http_conn *hc) {
  ck__http_parser *p = hc->parser;
  ck_http_req *req = hc->cur;
  int status = hc->reject_status;
  const char *why = hc->reject_reason;

  if (status == 0 || !ck__http_parser_cb_failed(p)) {
    status = ck__http_parser_header_overflow(p) ? 431 : 400;
    why = ck__http_parser_error(p);
  }
  if (req == NULL) {
    req = ck__http_req_new(hc);
    if (req == NULL) {
      conn_close(hc);
      return;
    }
    if (hc->tail != NULL)
      hc->tail->next = req;
    else
      hc->head = req;
    hc->tail = req;
    hc->nq++;
  }
  hc->cur = NULL;
  hc->no_more = 1;
  req->close_after = 1;
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "http.reject", CK_S("peer", req->peer),
         CK_I("status", status), CK_S("reason", why));
  if (ck__http_req_make_error(req, status) != CK_OK)
    conn_close(hc);
}

/* A complete request: hand it to its handler (or answer 404/405). */
static void dispatch(ck__http_conn *hc, ck_http_req *req) {
  const ck__http_route *rt = req->route;

  if (req->close_after)
    hc->no_more = 1;
  if (rt == NULL || req->precheck_status != 0) {
    int st = req->precheck_status != 0 ? req->precheck_status
             : req->allow != 0        ? 405
                                      : 404;
    if (ck__http_req_make_error(req, st) != CK_OK)
      conn_close(hc);
    return;
  }
  req->state = CK__REQ_HANDLER;
  hc->srv->stats.reqs_live++;
  rt->r.handler(req, rt->r.arg); /* req may be gone when this returns */
}

static void stash_bytes(ck__http_conn *hc, const char *data, size_t len) {
  size_t limit = hc->srv->cfg.max_header_bytes * 2;
  char *grown;

  if (limit < STASH_MIN_LIMIT)
    limit = STASH_MIN_LIMIT;
  if (hc->stash_len + len > limit) {
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "http.reject",
           CK_S("peer", hc->conn->peer), CK_S("reason", "pipeline flood"));
    conn_close(hc);
    return;
  }
  grown = realloc(hc->stash, hc->stash_len + len);
  if (grown == NULL) {
    conn_close(hc);
    return;
  }
  memcpy(grown + hc->stash_len, data, len);
  hc->stash = grown;
  hc->stash_len += len;
}

static void parse_bytes(ck__http_conn *hc, const char *data, size_t len) {
  size_t used;
  int rc;

  while (len > 0 && !hc->closing && !hc->no_more) {
    if (hc->cur == NULL && !can_start_request(hc)) {
      stash_bytes(hc, data, len);
      return;
    }
    rc = ck__http_parser_feed(hc->parser, data, len, &used);
    data += used;
    len -= used;
    if (rc == CK__HTTP_PARSE_ERROR) {
      parse_failed(hc);
      return;
    }
    if (rc == CK__HTTP_PARSE_MESSAGE) {
      ck_http_req *req = hc->done;
      hc->done = NULL;
      hc->partial = 0;
      hc->gen++;
      if (req != NULL)
        dispatch(hc, req);
      continue;
    }
    hc->partial = 1;
    if (used == 0)
      break; /* cannot happen with libhttp-parser; do not spin */
  }
}

void ck__http_conn_feed(ck_conn *c, const uint8_t *data, size_t len) {
  ck__http_conn *hc = c->data;

  if (hc->closing || len == 0)
    return;
  hc->busy++;
  if (hc->stash_len > 0)
    stash_bytes(hc, (const char *)data, len);
  else
    parse_bytes(hc, (const char *)data, len);
  hc->busy--;
  pump(hc);
}

static void on_read(ck_conn *c, const uint8_t *data, size_t len,
                    ck_err status) {
  ck__http_conn *hc = c->data;

  if (hc->closing)
    return;
  if (status == CK_OK) {
    ck__http_conn_feed(c, data, len);
    return;
  }
  hc->reading = 0;
  if (status == CK_ERR_CLOSED) {
    hc->eof = 1; /* answer what is complete, then close */
    pump(hc);
  } else {
    ck_log(CK_LOG_OPS, CK_LOG_DEBUG, "http.read_failed", CK_S("peer", c->peer),
           CK_S("err", ck_err_name(status)));
    conn_close(hc);
  }
}

/* ---- parser callbacks -------------------------------------------------- */

static int grow_append(char **buf, size_t *len, size_t *cap, const char *at,
                       size_t n) {
  size_t want = *len + n + 1, nc;
  char *g;

  if (want > *cap) {
    nc = *cap ? *cap : 64;
    while (nc < want)
      nc *= 2;
    g = realloc(*buf, nc);
    if (g == NULL)
      return -1;
    *buf = g;
    *cap = nc;
  }
  memcpy(*buf + *len, at, n);
  *len += n;
  (*buf)[*len] = '\0';
  return 0;
}

static int head_bytes(ck__http_conn *hc, size_t n) {
  hc->header_bytes += n;
  if (hc->header_bytes > hc->srv->cfg.max_header_bytes) {
    reject(hc, 431, "request headers too large");
    return -1;
  }
  return 0;
}

static int p_begin(void *u) {
  ck__http_conn *hc = u;
  ck_http_req *req = ck__http_req_new(hc);

  if (req == NULL) {
    reject(hc, 503, "out of memory");
    return -1;
  }
  if (hc->tail != NULL)
    hc->tail->next = req;
  else
    hc->head = req;
  hc->tail = req;
  hc->nq++;
  hc->cur = req;
  hc->fresh = 0;
  hc->url_len = hc->field_len = hc->value_len = 0;
  hc->in_value = 0;
  hc->header_bytes = 0;
  hc->reject_status = 0;
  hc->reject_reason = NULL;
  return 0;
}

static int p_url(void *u, const char *at, size_t n) {
  ck__http_conn *hc = u;

  /* count the request line's method and version too */
  if (head_bytes(hc, n + (hc->url_len == 0 ? 20 : 0)) != 0)
    return -1;
  return grow_append(&hc->url, &hc->url_len, &hc->url_cap, at, n);
}

/* Moves the header received so far into the request. */
static int commit_header(ck__http_conn *hc) {
  ck_http_req *req = hc->cur;
  ck__http_hdr *grown;
  size_t vlen = hc->value_len;

  if (hc->field_len == 0 && !hc->in_value)
    return 0;
  if (req->nhdrs >= hc->srv->cfg.max_headers) {
    reject(hc, 431, "too many request headers");
    return -1;
  }
  if (req->nhdrs == req->hdr_cap) {
    size_t nc = req->hdr_cap ? req->hdr_cap * 2 : 16;
    grown = ck_arena_alloc(req->arena, nc * sizeof *grown);
    if (grown == NULL)
      return -1;
    if (req->nhdrs > 0)
      memcpy(grown, req->hdrs, req->nhdrs * sizeof *grown);
    req->hdrs = grown;
    req->hdr_cap = nc;
  }
  while (vlen > 0 &&
         (hc->value[vlen - 1] == ' ' || hc->value[vlen - 1] == '\t'))
    vlen--;
  grown = &req->hdrs[req->nhdrs];
  grown->name = ck_arena_strndup(req->arena, hc->field ? hc->field : "",
                                 hc->field_len);
  grown->value = ck_arena_strndup(req->arena, hc->value ? hc->value : "",
                                  vlen);
  if (grown->name == NULL || grown->value == NULL)
    return -1;
  req->nhdrs++;
  hc->field_len = hc->value_len = 0;
  hc->in_value = 0;
  return 0;
}

static int p_field(void *u, const char *at, size_t n) {
  ck__http_conn *hc = u;

  if (hc->in_value && commit_header(hc) != 0)
    return -1;
  if (head_bytes(hc, n + (hc->field_len == 0 ? 4 : 0)) != 0)
    return -1;
  return grow_append(&hc->field, &hc->field_len, &hc->field_cap, at, n);
}

static int p_value(void *u, const char *at, size_t n) {
  ck__http_conn *hc = u;

  hc->in_value = 1;
  if (head_bytes(hc, n) != 0)
    return -1;
  return grow_append(&hc->value, &hc->value_len, &hc->value_cap, at, n);
}

/* Splits the request target into path and query (origin-form, "*" or
 * absolute-form). Returns 0, or -1 on a target we cannot route. */
static int split_target(ck_http_req *req, const char *url, size_t len) {
  const char *q, *end = url + len, *path = url;

  if (len == 0)
    return -1;
  if (url[0] != '/' && !(len == 1 && url[0] == '*')) {
    /* absolute-form "http://host/path?q": skip scheme and authority */
    const char *s = memchr(url, ':', len);
    if (s == NULL || end - s < 3 || s[1] != '/' || s[2] != '/')
      return -1;
    path = memchr(s + 3, '/', (size_t)(end - (s + 3)));
    if (path == NULL) {
      q = memchr(s + 3, '?', (size_t)(end - (s + 3)));
      req->path = ck_arena_strdup(req->arena, "/");
      req->query = q ? ck_arena_strndup(req->arena, q + 1,
                                        (size_t)(end - q - 1))
                     : "";
      return req->path && req->query ? 0 : -1;
    }
  }
  q = memchr(path, '?', (size_t)(end - path));
  {
    const char *pend = q != NULL ? q : end;
    const char *frag = memchr(path, '#', (size_t)(pend - path));
    if (frag != NULL)
      pend = frag;
    req->path = ck_arena_strndup(req->arena, path, (size_t)(pend - path));
  }
  if (q != NULL) {
    const char *qend = memchr(q, '#', (size_t)(end - q));
    if (qend == NULL)
      qend = end;
    req->query = ck_arena_strndup(req->arena, q + 1, (size_t)(qend - q - 1));
  } else {
    req->query = "";
  }
  if (req->path == NULL || req->query == NULL)
    return -1;
  req->path_rest = req->path + strlen(req->path);
  return 0;
}

static size_t count_headers(const ck_http_req *req, const char *name) {
  size_t i, n = 0;

  for (i = 0; i < req->nhdrs; i++)
    if (strcasecmp(req->hdrs[i].name, name) == 0)
      n++;
  return n;
}

static int p_headers_done(void *u, const ck__http_head *h) {
  ck__http_conn *hc = u;
  ck_http_req *req = hc->cur;
  ck_http_server *srv = hc->srv;
  const ck__http_route *rt;
  const char *expect;
  int has_body;

  if (commit_header(hc) != 0)
    return -1;
  req->headers_done = 1;
  req->method = (unsigned)h->method;
  req->method_name = h->method_name;
  req->minor = h->minor;
  srv->stats.requests_total++;
  if (h->major != 1) {
    req->minor = 1;
    reject(hc, 505, "HTTP version not supported");
    return -1;
  }
  if (split_target(req, hc->url ? hc->url : "", hc->url_len) != 0) {
    req->path = "";
    reject(hc, 400, "bad request target");
    return -1;
  }
  if (h->minor >= 1 && count_headers(req, "Host") != 1) {
    reject(hc, 400, "HTTP/1.1 request needs exactly one Host header");
    return -1;
  }
  if (!h->keep_alive || h->upgrade)
    req->close_after = 1;
  else if (h->minor == 0)
    req->keep_alive_10 = 1;
  route_lookup(srv, req);
  rt = req->route;
  req->body_limit = rt != NULL && rt->r.max_body_bytes != 0
                        ? rt->r.max_body_bytes
                        : srv->cfg.max_body_bytes;
  has_body = h->chunked || h->content_length > 0;
  if (h->content_length > 0 && (uint64_t)h->content_length > req->body_limit) {
    reject(hc, 413, "request body too large");
    return -1;
  }
  expect = ck_http_req_header(req, "Expect");
  if (expect != NULL && strcasecmp(expect, "100-continue") != 0) {
    reject(hc, 417, "unsupported expectation");
    return -1;
  }
  if (rt != NULL && rt->r.precheck != NULL) {
    int st = rt->r.precheck(req, rt->r.arg);
    if (st != 0 && (st < 300 || st > 599))
      st = 500;
    if (st != 0 && has_body) {
      reject(hc, st, "refused before the body");
      return -1;
    }
    req->precheck_status = st;
  }
  if (has_body && rt == NULL) {
    /* no handler will read it: answer now rather than take the body */
    reject(hc, req->allow != 0 ? 405 : 404, "no route");
    return -1;
  }
  if (expect != NULL && has_body && h->minor >= 1)
    req->want_continue = 1;
  if (h->content_length > 0) {
    req->body = malloc((size_t)h->content_length + 1);
    if (req->body == NULL) {
      reject(hc, 503, "out of memory");
      return -1;
    }
    req->body_cap = (size_t)h->content_length;
  }
  return 0;
}

static int p_body(void *u, const char *at, size_t n) {
  ck__http_conn *hc = u;
  ck_http_req *req = hc->cur;
  uint8_t *g;

  if (n > req->body_limit - req->body_len) {
    reject(hc, 413, "request body too large");
    return -1;
  }
  if (req->body_len + n > req->body_cap) {
    size_t nc = req->body_cap ? req->body_cap : 1024;
    while (nc < req->body_len + n)
      nc *= 2;
    if (nc > req->body_limit)
      nc = req->body_limit;
    g = realloc(req->body, nc + 1);
    if (g == NULL) {
      reject(hc, 503, "out of memory");
      return -1;
    }
    req->body = g;
    req->body_cap = nc;
  }
  memcpy(req->body + req->body_len, at, n);
  req->body_len += n;
  return 0;
}

static int p_message_done(void *u) {
  ck__http_conn *hc = u;
  ck_http_req *req = hc->cur;

  if (req->body != NULL)
    req->body[req->body_len] = '\0';
  hc->cur = NULL;
  hc->done = req;
  return 0;
}

static const ck__http_parse_cbs parse_cbs = {
    .on_begin = p_begin,
    .on_url = p_url,
    .on_header_field = p_field,
    .on_header_value = p_value,
    .on_headers_done = p_headers_done,
    .on_body = p_body,
    .on_message_done = p_message_done,
};
