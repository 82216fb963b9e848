/* tls.c — the TLS ck_conn (see tls.h): a TLS engine session between the user
 * and a transport conn.
 *
 * Data path: transport read -> ck_tls_session_feed -> (handshake step, or
 * ck_tls_session_read -> user read_cb); user write -> ck_tls_session_write ->
 * pending ciphertext -> one transport write. Nothing is queued in this layer:
 * the engine's output is moved to the transport as soon as it appears, so
 * backpressure is the transport's write queue.
 *
 * Flow control on input: while the user is not reading, the transport is not
 * read either; ciphertext already fed stays in the engine and is decrypted
 * when the user calls read_start (from a zero timer, never inside
 * read_start).
 *
 * Lifetime: a tls_conn owns its transport, its session and one timer (the
 * handshake deadline, later the read "kick"). It is freed after both the
 * transport's close callback and the timer's close callback have run, then
 * after the user's close callback. */
#include "common/net/tls.h"

#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"

#define TLS_PLAIN_BUF 16384
#define TLS_FLUSH_MAX (64u * 1024u * 1024u) /* bytes per transport write */

typedef enum tls_state {
  TLS_HANDSHAKE = 0, /* handshake running; user has no conn yet */
  TLS_OPEN,          /* handed to the user */
  TLS_FAILED         /* handshake failed; tearing down */
} tls_state;

typedef struct tls_conn {
  ck_conn base;         /* must stay first: ck_conn* <-> tls_conn* */
  ck_conn *transport;   /* owned */
  ck_tls_session *sess; /* owned */
  uv_timer_t timer;     /* handshake deadline, then read kick */
  tls_state state;
  ck_tls_handshake_cb hs_cb; /* called once */
  void *hs_arg;
  uint64_t started_ms;       /* monotonic, for the handshake log */
  unsigned timeout_ms;       /* handshake deadline */
  ck_conn_read_cb read_cb;   /* NULL while the user is not reading */
  ck_conn_close_cb close_cb; /* user close callback */
  int closing;               /* user close called (or teardown started) */
  int read_done;             /* a final status was delivered */
  int transport_end;         /* transport reported end/error */
  ck_err transport_status;   /* its status */
  int open_handles;          /* transport + timer not yet closed */
} tls_conn;

/* Decrypted bytes handed to read callbacks. One per thread rather than one
 * per conn (a coordinator holds thousands of mostly idle agent conns): it is
 * only used inside deliver(), which runs from loop callbacks and never
 * nests. */
static _Thread_local uint8_t plain[TLS_PLAIN_BUF];

typedef struct tls_wreq {
  tls_conn *tc;
  ck_conn_write_cb cb;
  void *arg;
} tls_wreq;

static const ck_conn_vtbl tls_vtbl;

/* ---- teardown ---------------------------------------------------------- */

static void maybe_free(tls_conn *tc) {
  if (--tc->open_handles > 0)
    return;
  if (tc->close_cb != NULL)
    tc->close_cb(&tc->base);
  ck_tls_session_free(tc->sess);
  free(tc);
}

static void on_timer_closed(uv_handle_t *h) {
  maybe_free(h->data);
}

static void on_transport_closed(ck_conn *t) {
  maybe_free(t->data);
}

/* Closes the transport (after queued writes) and the timer. */
static void teardown(tls_conn *tc) {
  tc->closing = 1;
  tc->read_cb = NULL;
  uv_timer_stop(&tc->timer);
  uv_close((uv_handle_t *)&tc->timer, on_timer_closed);
  ck_conn_close(tc->transport, on_transport_closed);
}

/* ---- output ------------------------------------------------------------ */

static void on_transport_write(ck_conn *t, ck_err status, void *arg) {
  tls_wreq *w = arg;

  (void)t;
  if (w->cb != NULL)
    w->cb(&w->tc->base, status, w->arg);
  free(w);
}

/* Moves all pending ciphertext to the transport (one write, unless it is
 * huge); cb (may be NULL) is called when the last byte has been written.
 * Returns the transport's error without calling cb. */
static ck_err flush(tls_conn *tc, ck_conn_write_cb cb, void *arg) {
  tls_wreq *w = NULL;
  ck_err rc = CK_OK;

  if (cb != NULL) {
    w = malloc(sizeof *w);
    if (w == NULL)
      return CK_ERR_NOMEM;
    w->tc = tc;
    w->cb = cb;
    w->arg = arg;
  } else if (ck_tls_session_pending(tc->sess) == 0) {
    return CK_OK;
  }
  for (;;) {
    size_t n = ck_tls_session_pending(tc->sess);
    uint8_t *buf;
    uv_buf_t b;
    int last;

    if (n > TLS_FLUSH_MAX)
      n = TLS_FLUSH_MAX;
    buf = malloc(n > 0 ? n : 1);
    if (buf == NULL) {
      rc = CK_ERR_NOMEM;
      break;
    }
    n = ck_tls_session_take(tc->sess, buf, n);
    last = ck_tls_session_pending(tc->sess) == 0;
    b = uv_buf_init((char *)buf, (unsigned)n);
    rc = ck_conn_write(tc->transport, &b, 1,
                       last && w != NULL ? on_transport_write : NULL,
                       last ? w : NULL);
    free(buf); /* the transport copied it */
    if (rc != CK_OK)
      break;
    if (last) {
      w = NULL; /* on_transport_write frees it */
      break;
    }
  }
  free(w);
  return rc;
}

/* ---- handshake ---------------------------------------------------------- */

static int is_auth_failure(ck_err rc) {
  return rc == CK_ERR_PIN_MISMATCH || rc == CK_ERR_UNTRUSTED ||
         rc == CK_ERR_EXPIRED || rc == CK_ERR_NOT_YET_VALID ||
         rc == CK_ERR_VERIFY || rc == CK_ERR_PEER_CERT_REQUIRED;
}

/* Reports a failed handshake once and tears the connection down (after the
 * pending alert has been written). */
static void fail_handshake(tls_conn *tc, ck_err rc, ck_errctx *err) {
  ck_tls_handshake_cb cb = tc->hs_cb;
  ck_errctx full = CK_ERRCTX_INIT;

  if (tc->state != TLS_HANDSHAKE)
    return;
  tc->state = TLS_FAILED;
  (void)flush(tc, NULL, NULL);
  ck_setf(&full, rc, "TLS with %s: %s", tc->base.peer, ck_errctx_msg(err));
  /* Certificate failures are security events (someone presented the wrong
   * identity); the rest are operational. */
  ck_log(is_auth_failure(rc) ? CK_LOG_SEC : CK_LOG_OPS, CK_LOG_WARN,
         "tls.handshake.fail", CK_S("peer", tc->base.peer), CK_E(rc, full.msg));
  teardown(tc);
  cb(NULL, rc, &full, tc->hs_arg);
}

static void handshake_done(tls_conn *tc) {
  ck_tls_version v = ck_tls_session_version(tc->sess);

  uv_timer_stop(&tc->timer);
  tc->state = TLS_OPEN;
  ck_log(CK_LOG_OPS, CK_LOG_DEBUG, "tls.handshake", CK_S("peer", tc->base.peer),
         CK_S("version", v == CK_TLS_V13 ? "TLSv1.3" : "TLSv1.2"),
         CK_S("cipher", ck_tls_session_cipher(tc->sess)),
         CK_I("ms", ck_clock_mono_ms() - tc->started_ms));
  tc->hs_cb(&tc->base, CK_OK, NULL, tc->hs_arg);
  /* Not reading yet: stop reading the socket too (flow control). */
  if (!tc->closing && tc->read_cb == NULL && !tc->transport_end)
    ck_conn_read_stop(tc->transport);
}

static void handshake_step(tls_conn *tc) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc = ck_tls_session_handshake(tc->sess, &err);

  if (rc == CK_ERR_AGAIN) {
    (void)flush(tc, NULL, NULL);
    return;
  }
  if (rc != CK_OK) {
    fail_handshake(tc, rc, &err);
    return;
  }
  (void)flush(tc, NULL, NULL);
  handshake_done(tc);
}

/* ---- input -------------------------------------------------------------- */

static void deliver_end(tls_conn *tc, ck_err status) {
  ck_conn_read_cb cb = tc->read_cb;

  tc->read_done = 1;
  tc->read_cb = NULL;
  if (cb != NULL)
    cb(&tc->base, NULL, 0, status);
}

/* Hands decrypted bytes to the user while they read. */
static void deliver(tls_conn *tc) {
  ck_errctx err = CK_ERRCTX_INIT;
  size_t n;
  ck_err rc;

  while (tc->state == TLS_OPEN && !tc->closing && !tc->read_done &&
         tc->read_cb != NULL) {
    rc = ck_tls_session_read(tc->sess, plain, sizeof plain, &n, &err);
    (void)flush(tc, NULL, NULL); /* post-handshake messages */
    if (rc == CK_OK) {
      tc->read_cb(&tc->base, plain, n, CK_OK);
      continue;
    }
    if (rc == CK_ERR_AGAIN) {
      if (tc->transport_end)
        deliver_end(tc, tc->transport_status == CK_ERR_CLOSED
                            ? CK_ERR_CLOSED
                            : tc->transport_status);
      return;
    }
    if (rc != CK_ERR_CLOSED)
      ck_log(CK_LOG_OPS, CK_LOG_INFO, "tls.read.fail",
             CK_S("peer", tc->base.peer), CK_E(rc, ck_errctx_msg(&err)));
    deliver_end(tc, rc);
    return;
  }
}

static void on_transport_read(ck_conn *t, const uint8_t *data, size_t len,
                              ck_err status) {
  tls_conn *tc = t->data;
  ck_errctx err = CK_ERRCTX_INIT;

  if (tc->closing)
    return;
  if (status != CK_OK) {
    tc->transport_end = 1;
    tc->transport_status = status;
    if (tc->state == TLS_HANDSHAKE) {
      ck_failf(&err, CK_ERR_TLS_HANDSHAKE,
               "the peer closed the connection during the handshake (%s)",
               ck_strerror(status));
      fail_handshake(tc, CK_ERR_TLS_HANDSHAKE, &err);
    } else {
      deliver(tc);
    }
    return;
  }
  if (ck_tls_session_feed(tc->sess, data, len, &err) != CK_OK) {
    if (tc->state == TLS_HANDSHAKE) {
      fail_handshake(tc, err.code, &err);
    } else {
      tc->transport_end = 1;
      tc->transport_status = err.code;
      deliver(tc);
    }
    return;
  }
  if (tc->state == TLS_HANDSHAKE)
    handshake_step(tc);
  else
    deliver(tc);
}

static void on_timer(uv_timer_t *t) {
  tls_conn *tc = t->data;
  ck_errctx err = CK_ERRCTX_INIT;

  if (tc->state == TLS_HANDSHAKE) {
    ck_failf(&err, CK_ERR_TIMEOUT, "no TLS handshake within %u ms",
             tc->timeout_ms);
    fail_handshake(tc, CK_ERR_TIMEOUT, &err);
    return;
  }
  deliver(tc); /* the read kick after read_start */
}

/* ---- vtable ------------------------------------------------------------- */

static ck_err tls_read_start(ck_conn *c, ck_conn_read_cb cb) {
  tls_conn *tc = (tls_conn *)c;
  ck_err rc;

  if (tc->closing || tc->read_done)
    return CK_ERR_CLOSED;
  tc->read_cb = cb;
  if (!tc->transport_end) {
    rc = ck_conn_read_start(tc->transport, on_transport_read);
    if (rc != CK_OK) {
      tc->read_cb = NULL;
      return rc;
    }
  }
  /* Plaintext may already wait in the engine: deliver it from the loop. */
  uv_timer_start(&tc->timer, on_timer, 0, 0);
  return CK_OK;
}

static void tls_read_stop(ck_conn *c) {
  tls_conn *tc = (tls_conn *)c;

  if (tc->closing)
    return;
  tc->read_cb = NULL;
  uv_timer_stop(&tc->timer);
  if (!tc->transport_end)
    ck_conn_read_stop(tc->transport);
}

static ck_err tls_write(ck_conn *c, const uv_buf_t *bufs, unsigned nbufs,
                        ck_conn_write_cb cb, void *arg) {
  tls_conn *tc = (tls_conn *)c;
  ck_errctx err = CK_ERRCTX_INIT;
  unsigned i;
  ck_err rc;

  if (tc->closing)
    return CK_ERR_CLOSED;
  for (i = 0; i < nbufs; i++) {
    if (bufs[i].len == 0)
      continue;
    rc = ck_tls_session_write(tc->sess, (const uint8_t *)bufs[i].base,
                              bufs[i].len, &err);
    if (rc != CK_OK) {
      ck_log(CK_LOG_OPS, CK_LOG_INFO, "tls.write.fail",
             CK_S("peer", tc->base.peer), CK_E(rc, ck_errctx_msg(&err)));
      return rc;
    }
  }
  return flush(tc, cb, arg);
}

static void tls_close(ck_conn *c, ck_conn_close_cb cb) {
  tls_conn *tc = (tls_conn *)c;

  if (tc->closing)
    return;
  tc->close_cb = cb;
  ck_tls_session_close(tc->sess);
  (void)flush(tc, NULL, NULL); /* close_notify goes before the FIN */
  teardown(tc);
}

static size_t tls_write_queue_size(const ck_conn *c) {
  const tls_conn *tc = (const tls_conn *)c;

  return ck_tls_session_pending(tc->sess) +
         ck_conn_write_queue_size(tc->transport);
}

static const uint8_t *tls_peer_cert_der(const ck_conn *c, size_t *len) {
  const tls_conn *tc = (const tls_conn *)c;
  int verified = 0;
  const uint8_t *der = ck_tls_session_peer_cert(tc->sess, len, &verified);

  if (der == NULL || !verified) {
    *len = 0;
    return NULL;
  }
  return der;
}

static const ck_conn_vtbl tls_vtbl = {
    .read_start = tls_read_start,
    .read_stop = tls_read_stop,
    .write = tls_write,
    .close = tls_close,
    .write_queue_size = tls_write_queue_size,
    .peer_cert_der = tls_peer_cert_der,
};

const ck_tls_session *ck_tls_conn_session(const ck_conn *c) {
  if (c == NULL || c->vt != &tls_vtbl)
    return NULL;
  return ((const tls_conn *)c)->sess;
}

const uint8_t *ck_tls_conn_peer_chain(const ck_conn *c, size_t i, size_t *len) {
  const ck_tls_session *s = ck_tls_conn_session(c);
  int verified = 0;

  *len = 0;
  if (s == NULL || ck_tls_session_peer_cert(s, len, &verified) == NULL ||
      !verified) {
    *len = 0;
    return NULL;
  }
  return ck_tls_session_peer_chain(s, i, len);
}

const uint8_t *ck_tls_conn_pinned_ca(const ck_conn *c, size_t *len) {
  const ck_tls_session *s = ck_tls_conn_session(c);

  if (s == NULL) {
    *len = 0;
    return NULL;
  }
  return ck_tls_session_pinned_ca(s, len, NULL);
}

/* ---- wrap and connect ---------------------------------------------------- */

static ck_err wrap(ck_conn *transport, ck_tls_ctx *ctx, ck_tls_role role,
                   const char *server_name, ck_tls_handshake_cb cb, void *arg,
                   ck_errctx *err) {
  tls_conn *tc = NULL;
  void *old_data;
  ck_err rc;

  if (transport == NULL || ctx == NULL || cb == NULL)
    return ck_failf(err, CK_ERR_INVAL, "TLS wrap: missing argument");
  if (role != ck_tls_ctx_role(ctx))
    return ck_failf(err, CK_ERR_INVAL,
                    "TLS wrap: a %s context cannot run the %s side",
                    ck_tls_ctx_role(ctx) == CK_TLS_SERVER ? "server" : "client",
                    role == CK_TLS_SERVER ? "server" : "client");
  tc = calloc(1, sizeof *tc);
  if (tc == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "TLS conn");
  rc = ck_tls_session_new(ctx, server_name, &tc->sess, err);
  if (rc != CK_OK)
    goto fail;
  /* The client's first step writes the ClientHello; nothing can be
   * rejected yet, so any failure here is local (out of memory). */
  rc = ck_tls_session_handshake(tc->sess, err);
  if (rc != CK_ERR_AGAIN) {
    if (rc == CK_OK)
      rc = ck_failf(err, CK_ERR_INTERNAL, "TLS handshake done without peer");
    goto fail;
  }
  tc->base.vt = &tls_vtbl;
  tc->base.loop = transport->loop;
  tc->base.is_tls = 1;
  ck_strlcpy(tc->base.peer, transport->peer, sizeof tc->base.peer);
  tc->transport = transport;
  tc->hs_cb = cb;
  tc->hs_arg = arg;
  tc->started_ms = ck_clock_mono_ms();
  tc->state = TLS_HANDSHAKE;
  old_data = transport->data;
  transport->data = tc;
  rc = ck_conn_read_start(transport, on_transport_read);
  if (rc != CK_OK) {
    transport->data = old_data;
    ck_failf(err, rc, "TLS with %s: cannot read from the transport",
             transport->peer);
    goto fail;
  }
  rc = flush(tc, NULL, NULL);
  if (rc != CK_OK) {
    ck_conn_read_stop(transport);
    transport->data = old_data;
    ck_failf(err, rc, "TLS with %s: cannot write to the transport",
             transport->peer);
    goto fail;
  }
  uv_timer_init(transport->loop, &tc->timer);
  tc->timer.data = tc;
  tc->open_handles = 2;
  tc->timeout_ms = ck_tls_ctx_handshake_timeout_ms(ctx);
  uv_timer_start(&tc->timer, on_timer, tc->timeout_ms, 0);
  return CK_OK;

fail:
  ck_tls_session_free(tc->sess);
  free(tc);
  return rc;
}

ck_err ck_tls_conn_wrap(ck_conn *transport, ck_tls_ctx *ctx, ck_tls_role role,
                        ck_tls_handshake_cb cb, void *arg, ck_errctx *err) {
  return wrap(transport, ctx, role, NULL, cb, arg, err);
}

typedef struct tls_connect {
  ck_tls_ctx *ctx; /* referenced until the wrap */
  ck_tls_handshake_cb cb;
  void *arg;
  char addr[300]; /* for messages */
  char host[256]; /* server name when ctx has none */
} tls_connect;

static void connect_free(tls_connect *tcn) {
  ck_tls_ctx_free(tcn->ctx);
  free(tcn);
}

static void on_tcp_connected(ck_conn *c, ck_err status, void *arg) {
  tls_connect *tcn = arg;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  if (status != CK_OK) {
    const char *why = ck_tcp_connect_error();
    if (why[0] != '\0')
      ck_failf(&err, status, "connect %s: %s (%s)", tcn->addr,
               ck_strerror(status), why);
    else
      ck_failf(&err, status, "connect %s: %s", tcn->addr, ck_strerror(status));
    tcn->cb(NULL, status, &err, tcn->arg);
    connect_free(tcn);
    return;
  }
  rc = wrap(c, tcn->ctx, CK_TLS_CLIENT,
            ck_tls_ctx_server_name(tcn->ctx) != NULL ? NULL : tcn->host,
            tcn->cb, tcn->arg, &err);
  if (rc != CK_OK) {
    ck_conn_close(c, NULL);
    tcn->cb(NULL, rc, &err, tcn->arg);
  }
  connect_free(tcn);
}

/* "host:port" / "[v6]:port" -> host. */
static ck_err host_of(const char *addr, char *host, size_t len,
                      ck_errctx *err) {
  const char *end;
  const char *start = addr;

  if (addr[0] == '[') {
    start = addr + 1;
    end = strchr(start, ']');
  } else {
    end = strrchr(addr, ':');
  }
  if (end == NULL || end == start || (size_t)(end - start) >= len)
    return ck_failf(err, CK_ERR_ADDR, "address '%s': expected HOST:PORT", addr);
  memcpy(host, start, (size_t)(end - start));
  host[end - start] = '\0';
  return CK_OK;
}

ck_err ck_tls_connect(uv_loop_t *loop, const char *addr, ck_tls_ctx *ctx,
                      ck_tls_handshake_cb cb, void *arg, ck_errctx *err) {
  tls_connect *tcn = NULL;
  ck_err rc;

  if (addr == NULL || ctx == NULL || cb == NULL)
    return ck_failf(err, CK_ERR_INVAL, "TLS connect: missing argument");
  if (ck_tls_ctx_role(ctx) != CK_TLS_CLIENT)
    return ck_failf(err, CK_ERR_INVAL, "TLS connect %s: needs a client context",
                    addr);
  tcn = calloc(1, sizeof *tcn);
  if (tcn == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "TLS connect");
  rc = host_of(addr, tcn->host, sizeof tcn->host, err);
  if (rc != CK_OK) {
    free(tcn);
    return rc;
  }
  ck_strlcpy(tcn->addr, addr, sizeof tcn->addr);
  tcn->ctx = ck_tls_ctx_ref(ctx);
  tcn->cb = cb;
  tcn->arg = arg;
  rc = ck_tcp_connect(loop, addr, on_tcp_connected, tcn, err);
  if (rc != CK_OK)
    connect_free(tcn);
  return rc;
}
