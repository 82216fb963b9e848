/* tcp.c — the plain TCP half of conn.h: address parsing, listeners, client
 * connect and the TCP ck_conn.
 *
 * A TCP conn is a uv_tcp_t plus a fixed read buffer. Writes copy the caller's
 * buffers into one heap block per write (so callers may reuse theirs at
 * once); the bytes libuv could not hand to the kernel yet are reported by
 * write_queue_size for backpressure. Closing is graceful: reads stop being
 * delivered, queued writes are flushed, a FIN is sent (uv_shutdown) and the
 * socket is drained until the peer closes too, bounded by a linger timer.
 * Draining avoids the RST that closing a socket with unread input causes,
 * which would make the peer lose a final response (a 413 sent while the
 * client is still uploading). The conn is freed when both the socket and the
 * linger timer have been closed by libuv. */
#include "common/net/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/mem.h"

/* Longest time a closing conn waits for its writes to flush and for the
 * peer's FIN before the socket is closed hard. */
#define TCP_LINGER_MS 3000
#define TCP_READ_BUF 16384
#define TCP_BACKLOG 511

typedef struct tcp_conn {
  ck_conn base;              /* must stay first: ck_conn* <-> tcp_conn* */
  uv_tcp_t tcp;              /* the socket */
  uv_timer_t linger;         /* bounds a graceful close */
  uv_shutdown_t shutdown;    /* FIN after queued writes */
  ck_conn_read_cb read_cb;   /* NULL while not reading for the user */
  ck_conn_close_cb close_cb; /* set by close */
  int closing;               /* close was called */
  int handles_open;          /* tcp + linger handles not yet closed */
  int tcp_closing;           /* uv_close issued on tcp */
  int draining;              /* closing: still reading until the peer's FIN */
  int shut_done;             /* closing: our FIN has been sent */
  char rbuf[TCP_READ_BUF];   /* read buffer, used only inside read_cb */
} tcp_conn;

typedef struct tcp_write {
  uv_write_t req;      /* libuv request */
  ck_conn_write_cb cb; /* user callback, may be NULL */
  void *arg;           /* user argument */
  /* the copied bytes follow */
} tcp_write;

struct ck_listener {
  uv_tcp_t tcp;               /* listening socket */
  uv_loop_t *loop;            /* borrowed */
  ck_listener_cb cb;          /* called per accepted conn */
  void *data;                 /* user pointer */
  void (*close_cb)(void *);   /* user close callback */
  int port;                   /* bound port */
};

/* ---- address parsing --------------------------------------------------- */

/* Splits "HOST:PORT" / "[V6]:PORT" into host (NUL-terminated) and port. */
static ck_err split_host_port(const char *text, char *host, size_t hostlen,
                              int *port, ck_errctx *err) {
  const char *colon, *hs, *he, *p;
  long v = 0;

  if (text == NULL || *text == '\0')
    return ck_failf(err, CK_ERR_ADDR, "empty address");
  if (text[0] == '[') {
    hs = text + 1;
    he = strchr(hs, ']');
    if (he == NULL || he[1] != ':')
      return ck_failf(err, CK_ERR_ADDR,
                      "address '%s': expected [IPV6]:PORT", text);
    colon = he + 1;
  } else {
    colon = strrchr(text, ':');
    if (colon == NULL)
      return ck_failf(err, CK_ERR_ADDR, "address '%s': missing :PORT", text);
    if (memchr(text, ':', (size_t)(colon - text)) != NULL)
      return ck_failf(err, CK_ERR_ADDR,
                      "address '%s': IPv6 addresses need brackets", text);
    hs = text;
    he = colon;
  }
  if ((size_t)(he - hs) == 0)
    return ck_failf(err, CK_ERR_ADDR, "address '%s': missing host", text);
  if ((size_t)(he - hs) >= hostlen)
    return ck_failf(err, CK_ERR_ADDR, "address '%s': host too long", text);
  p = colon + 1;
  if (*p == '\0')
    return ck_failf(err, CK_ERR_ADDR, "address '%s': missing port", text);
  for (; *p != '\0'; p++) {
    if (*p < '0' || *p > '9')
      return ck_failf(err, CK_ERR_ADDR, "address '%s': port is not a number",
                      text);
    v = v * 10 + (*p - '0');
    if (v > 65535)
      return ck_failf(err, CK_ERR_ADDR, "address '%s': port out of range",
                      text);
  }
  memcpy(host, hs, (size_t)(he - hs));
  host[he - hs] = '\0';
  *port = (int)v;
  return CK_OK;
}

/* Fills addr from a numeric host; "localhost" means 127.0.0.1. */
static int numeric_addr(const char *host, int port,
                        struct sockaddr_storage *addr) {
  memset(addr, 0, sizeof *addr);
  if (strcmp(host, "localhost") == 0)
    host = "127.0.0.1";
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)addr) == 0)
    return 1;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)addr) == 0)
    return 1;
  return 0;
}

ck_err ck_net_parse_addr(const char *text, struct sockaddr_storage *addr,
                         ck_errctx *err) {
  char host[256];
  int port = 0;
  ck_err rc;

  rc = split_host_port(text, host, sizeof host, &port, err);
  if (rc != CK_OK)
    return rc;
  if (!numeric_addr(host, port, addr))
    return ck_failf(err, CK_ERR_ADDR,
                    "address '%s': '%s' is not a numeric IPv4/IPv6 address",
                    text, host);
  return CK_OK;
}

/* Formats a socket address as "1.2.3.4:80" or "[::1]:443". */
static void format_addr(const struct sockaddr_storage *ss, char *out,
                        size_t len) {
  char ip[INET6_ADDRSTRLEN] = "?";

  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
    uv_ip4_name(in, ip, sizeof ip);
    snprintf(out, len, "%s:%d", ip, ntohs(in->sin_port));
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
    uv_ip6_name(in6, ip, sizeof ip);
    snprintf(out, len, "[%s]:%d", ip, ntohs(in6->sin6_port));
  } else {
    ck_strlcpy(out, "unknown", len);
  }
}

/* ---- the TCP conn ------------------------------------------------------ */

static const ck_conn_vtbl tcp_vtbl;

static void tcp_handle_closed(uv_handle_t *h) {
  tcp_conn *tc = h->data;

  if (--tc->handles_open > 0)
    return;
  if (tc->close_cb != NULL)
    tc->close_cb(&tc->base);
  free(tc);
}

/* Closes the socket and the linger timer; frees tc when both are closed. */
static void tcp_close_hard(tcp_conn *tc) {
  if (tc->tcp_closing)
    return;
  tc->tcp_closing = 1;
  uv_close((uv_handle_t *)&tc->tcp, tcp_handle_closed);
  uv_close((uv_handle_t *)&tc->linger, tcp_handle_closed);
}

/* Allocates a conn with both handles initialised (so it must be freed via
 * tcp_close_hard from here on). NULL on failure. */
static tcp_conn *tcp_conn_new(uv_loop_t *loop) {
  tcp_conn *tc = calloc(1, sizeof *tc);

  if (tc == NULL)
    return NULL;
  if (uv_tcp_init(loop, &tc->tcp) != 0) {
    free(tc);
    return NULL;
  }
  uv_timer_init(loop, &tc->linger);
  tc->tcp.data = tc;
  tc->linger.data = tc;
  tc->handles_open = 2;
  tc->base.vt = &tcp_vtbl;
  tc->base.loop = loop;
  ck_strlcpy(tc->base.peer, "unknown", sizeof tc->base.peer);
  return tc;
}

static void tcp_fill_peer(tcp_conn *tc) {
  struct sockaddr_storage ss;
  int len = (int)sizeof ss;

  if (uv_tcp_getpeername(&tc->tcp, (struct sockaddr *)&ss, &len) == 0)
    format_addr(&ss, tc->base.peer, sizeof tc->base.peer);
}

static void tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  tcp_conn *tc = h->data;

  (void)suggested;
  buf->base = tc->rbuf;
  buf->len = sizeof tc->rbuf;
}

static void tcp_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  tcp_conn *tc = s->data;
  ck_conn_read_cb cb = tc->read_cb;

  if (tc->closing) {
    /* draining while closing: discard; done once the peer is done */
    if (nread < 0) {
      tc->draining = 0;
      uv_read_stop(s);
      if (tc->shut_done)
        tcp_close_hard(tc);
    }
    return;
  }
  if (nread == 0 || cb == NULL)
    return;
  if (nread > 0) {
    cb(&tc->base, (const uint8_t *)buf->base, (size_t)nread, CK_OK);
    return;
  }
  /* End of stream is CK_ERR_CLOSED; anything else (a reset) is CK_ERR_NET,
   * so the layer above can tell a half-close from a dead peer. */
  uv_read_stop(s);
  tc->read_cb = NULL;
  cb(&tc->base, NULL, 0, nread == UV_EOF ? CK_ERR_CLOSED : CK_ERR_NET);
}

static ck_err tcp_read_start(ck_conn *c, ck_conn_read_cb cb) {
  tcp_conn *tc = (tcp_conn *)c;
  int rc;

  if (tc->closing)
    return CK_ERR_CLOSED;
  tc->read_cb = cb;
  rc = uv_read_start((uv_stream_t *)&tc->tcp, tcp_alloc, tcp_on_read);
  if (rc != 0 && rc != UV_EALREADY) {
    tc->read_cb = NULL;
    return ck_err_from_errno(rc);
  }
  return CK_OK;
}

static void tcp_read_stop(ck_conn *c) {
  tcp_conn *tc = (tcp_conn *)c;

  if (tc->closing)
    return;
  tc->read_cb = NULL;
  uv_read_stop((uv_stream_t *)&tc->tcp);
}

static void tcp_on_write(uv_write_t *req, int status) {
  tcp_write *w = (tcp_write *)req;
  tcp_conn *tc = req->handle->data;

  if (w->cb != NULL)
    w->cb(&tc->base, status == 0 ? CK_OK : ck_err_from_errno(status), w->arg);
  free(w);
}

static ck_err tcp_write_fn(ck_conn *c, const uv_buf_t *bufs, unsigned nbufs,
                           ck_conn_write_cb cb, void *arg) {
  tcp_conn *tc = (tcp_conn *)c;
  tcp_write *w;
  size_t total = 0, off = 0;
  uv_buf_t one;
  unsigned i;
  int rc;

  if (tc->closing)
    return CK_ERR_CLOSED;
  for (i = 0; i < nbufs; i++) {
    if (bufs[i].len > UINT32_MAX - total)
      return CK_ERR_RANGE; /* one uv_buf_t holds it all */
    total += bufs[i].len;
  }
  w = malloc(sizeof *w + total);
  if (w == NULL)
    return CK_ERR_NOMEM;
  w->cb = cb;
  w->arg = arg;
  for (i = 0; i < nbufs; i++) {
    if (bufs[i].len > 0)
      memcpy((char *)(w + 1) + off, bufs[i].base, bufs[i].len);
    off += bufs[i].len;
  }
  one = uv_buf_init((char *)(w + 1), (unsigned)total);
  rc = uv_write(&w->req, (uv_stream_t *)&tc->tcp, &one, 1, tcp_on_write);
  if (rc != 0) {
    free(w);
    return ck_err_from_errno(rc);
  }
  return CK_OK;
}

static void tcp_on_linger(uv_timer_t *t) { tcp_close_hard(t->data); }

static void tcp_on_shutdown(uv_shutdown_t *req, int status) {
  tcp_conn *tc = req->handle->data;

  /* Our FIN is out: keep draining input until the peer's FIN (tcp_on_read
   * then closes); the linger timer bounds the wait. */
  tc->shut_done = 1;
  if (status != 0 || !tc->draining)
    tcp_close_hard(tc);
}

static void tcp_close(ck_conn *c, ck_conn_close_cb cb) {
  tcp_conn *tc = (tcp_conn *)c;
  uv_stream_t *s = (uv_stream_t *)&tc->tcp;
  int rc;

  if (tc->closing)
    return;
  tc->closing = 1;
  tc->close_cb = cb;
  tc->read_cb = NULL;
  uv_timer_start(&tc->linger, tcp_on_linger, TCP_LINGER_MS, 0);
  if (uv_shutdown(&tc->shutdown, s, tcp_on_shutdown) != 0) {
    tcp_close_hard(tc);
    return;
  }
  /* Fails with ENOTCONN when the peer's FIN already arrived. */
  rc = uv_read_start(s, tcp_alloc, tcp_on_read);
  tc->draining = rc == 0 || rc == UV_EALREADY;
}

static size_t tcp_write_queue_size(const ck_conn *c) {
  const tcp_conn *tc = (const tcp_conn *)c;

  return tc->tcp.write_queue_size;
}

static const uint8_t *tcp_peer_cert_der(const ck_conn *c, size_t *len) {
  (void)c;
  *len = 0;
  return NULL;
}

static const ck_conn_vtbl tcp_vtbl = {
    .read_start = tcp_read_start,
    .read_stop = tcp_read_stop,
    .write = tcp_write_fn,
    .close = tcp_close,
    .write_queue_size = tcp_write_queue_size,
    .peer_cert_der = tcp_peer_cert_der,
};

/* ---- listener ---------------------------------------------------------- */

static void listener_closed(uv_handle_t *h) {
  ck_listener *l = h->data;

  if (l->close_cb != NULL)
    l->close_cb(l->data);
  free(l);
}

static void listener_on_conn(uv_stream_t *server, int status) {
  ck_listener *l = server->data;
  tcp_conn *tc;

  if (status != 0) {
    /* EMFILE and friends: nothing to accept now; libuv retries. */
    return;
  }
  tc = tcp_conn_new(l->loop);
  if (tc == NULL)
    return;
  if (uv_accept(server, (uv_stream_t *)&tc->tcp) != 0) {
    tc->closing = 1;
    tcp_close_hard(tc);
    return;
  }
  uv_tcp_nodelay(&tc->tcp, 1);
  tcp_fill_peer(tc);
  l->cb(l, &tc->base);
}

ck_err ck_listener_start(uv_loop_t *loop, const char *addr, ck_listener_cb cb,
                         void *data, ck_listener **out, ck_errctx *err) {
  struct sockaddr_storage ss, bound;
  int len = (int)sizeof bound;
  ck_listener *l = NULL;
  ck_err rc;
  int uvrc;

  *out = NULL;
  rc = ck_net_parse_addr(addr, &ss, err);
  if (rc != CK_OK)
    return rc;
  l = calloc(1, sizeof *l);
  if (l == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "listener %s: out of memory", addr);
  l->loop = loop;
  l->cb = cb;
  l->data = data;
  uvrc = uv_tcp_init(loop, &l->tcp);
  if (uvrc != 0) {
    free(l);
    return ck_failf(err, ck_err_from_errno(uvrc), "listener %s: %s", addr,
                    uv_strerror(uvrc));
  }
  l->tcp.data = l;
  uvrc = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&ss, 0);
  if (uvrc == 0)
    uvrc = uv_listen((uv_stream_t *)&l->tcp, TCP_BACKLOG, listener_on_conn);
  if (uvrc == 0)
    uvrc = uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&bound, &len);
  if (uvrc != 0) {
    rc = ck_err_from_errno(uvrc);
    if (rc == CK_ERR_INVAL || rc == CK_ERR_IO)
      rc = CK_ERR_NET;
    ck_failf(err, rc, "cannot listen on %s: %s", addr, uv_strerror(uvrc));
    l->close_cb = NULL;
    uv_close((uv_handle_t *)&l->tcp, listener_closed);
    return rc;
  }
  l->port = bound.ss_family == AF_INET6
                ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  *out = l;
  return CK_OK;
}

int ck_listener_port(const ck_listener *l) { return l->port; }

void *ck_listener_data(const ck_listener *l) { return l->data; }

void ck_listener_close(ck_listener *l, void (*cb)(void *data)) {
  if (l == NULL)
    return;
  l->close_cb = cb;
  uv_close((uv_handle_t *)&l->tcp, listener_closed);
}

/* ---- client connect ---------------------------------------------------- */

typedef struct tcp_connect {
  uv_loop_t *loop;
  uv_getaddrinfo_t gai;   /* name lookup when the host is not numeric */
  uv_connect_t req;       /* the connect in flight */
  tcp_conn *tc;           /* conn being connected */
  struct addrinfo *ai;    /* lookup result (owned) */
  struct addrinfo *next;  /* next address to try */
  ck_connect_cb cb;
  void *arg;
  ck_err last;            /* last failure, reported if all attempts fail */
  char why[128];          /* its OS error text ("connection refused") */
} tcp_connect;

/* The OS error text of the failure being reported, for the connect
 * callback (ck_tcp_connect_error): per thread, as each loop runs on one. */
static _Thread_local char connect_error[128];

const char *ck_tcp_connect_error(void) {
  return connect_error;
}

static void connect_why(tcp_connect *cr, const char *what, int uvrc) {
  snprintf(cr->why, sizeof cr->why, "%s%s", what, uv_strerror(uvrc));
}

static void connect_finish(tcp_connect *cr, tcp_conn *tc, ck_err status) {
  ck_connect_cb cb = cr->cb;
  void *arg = cr->arg;

  memcpy(connect_error, status != CK_OK ? cr->why : "",
         status != CK_OK ? sizeof connect_error : 1);
  if (cr->ai != NULL)
    uv_freeaddrinfo(cr->ai);
  free(cr);
  cb(tc != NULL ? &tc->base : NULL, status, arg);
}

static ck_err connect_try(tcp_connect *cr, const struct sockaddr *sa);

static void connect_next(tcp_connect *cr) {
  while (cr->next != NULL) {
    struct addrinfo *ai = cr->next;
    cr->next = ai->ai_next;
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
      continue;
    if (connect_try(cr, ai->ai_addr) == CK_OK)
      return;
  }
  connect_finish(cr, NULL, cr->last);
}

static void connect_done(uv_connect_t *req, int status) {
  tcp_connect *cr = req->data;
  tcp_conn *tc = cr->tc;

  cr->tc = NULL;
  if (status == 0) {
    uv_tcp_nodelay(&tc->tcp, 1);
    tcp_fill_peer(tc);
    connect_finish(cr, tc, CK_OK);
    return;
  }
  cr->last = status == UV_ECANCELED ? CK_ERR_CANCELED
                                    : ck_err_from_errno(status);
  connect_why(cr, "", status);
  if (cr->last == CK_ERR_INVAL || cr->last == CK_ERR_IO)
    cr->last = CK_ERR_NET;
  tc->closing = 1;
  tcp_close_hard(tc);
  if (cr->ai != NULL && status != UV_ECANCELED)
    connect_next(cr);
  else
    connect_finish(cr, NULL, cr->last);
}

/* Starts one connect attempt; CK_OK means connect_done will run. */
static ck_err connect_try(tcp_connect *cr, const struct sockaddr *sa) {
  tcp_conn *tc = tcp_conn_new(cr->loop);
  int rc;

  if (tc == NULL)
    return cr->last = CK_ERR_NOMEM;
  cr->req.data = cr;
  rc = uv_tcp_connect(&cr->req, &tc->tcp, sa, connect_done);
  if (rc != 0) {
    tc->closing = 1;
    tcp_close_hard(tc);
    cr->last = ck_err_from_errno(rc);
    if (cr->last == CK_ERR_INVAL || cr->last == CK_ERR_IO)
      cr->last = CK_ERR_NET;
    connect_why(cr, "", rc);
    return cr->last;
  }
  cr->tc = tc;
  return CK_OK;
}

static void connect_resolved(uv_getaddrinfo_t *gai, int status,
                             struct addrinfo *res) {
  tcp_connect *cr = gai->data;

  if (status != 0) {
    cr->last = status == UV_ECANCELED ? CK_ERR_CANCELED : CK_ERR_ADDR;
    connect_why(cr, "cannot resolve the host: ", status);
    if (res != NULL)
      uv_freeaddrinfo(res);
    connect_finish(cr, NULL, cr->last);
    return;
  }
  cr->ai = res;
  cr->next = res;
  cr->last = CK_ERR_ADDR;
  snprintf(cr->why, sizeof cr->why, "the host has no IPv4/IPv6 address");
  connect_next(cr);
}

ck_err ck_tcp_connect(uv_loop_t *loop, const char *addr, ck_connect_cb cb,
                      void *arg, ck_errctx *err) {
  struct sockaddr_storage ss;
  struct addrinfo hints;
  tcp_connect *cr = NULL;
  char host[256], port_s[8];
  int port = 0, rc;
  ck_err e;

  e = split_host_port(addr, host, sizeof host, &port, err);
  if (e != CK_OK)
    return e;
  if (port == 0)
    return ck_failf(err, CK_ERR_ADDR, "connect %s: port 0", addr);
  cr = calloc(1, sizeof *cr);
  if (cr == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "connect %s: out of memory", addr);
  cr->loop = loop;
  cr->cb = cb;
  cr->arg = arg;
  if (numeric_addr(host, port, &ss)) {
    e = connect_try(cr, (const struct sockaddr *)&ss);
    if (e != CK_OK) {
      e = ck_failf(err, e, "connect %s: %s (%s)", addr, ck_strerror(e),
                   cr->why[0] != '\0' ? cr->why : "no detail");
      free(cr);
      return e;
    }
    return CK_OK;
  }
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  snprintf(port_s, sizeof port_s, "%d", port);
  cr->gai.data = cr;
  rc = uv_getaddrinfo(loop, &cr->gai, connect_resolved, host, port_s, &hints);
  if (rc != 0) {
    free(cr);
    return ck_failf(err, CK_ERR_ADDR, "connect %s: cannot resolve '%s': %s",
                    addr, host, uv_strerror(rc));
  }
  return CK_OK;
}
