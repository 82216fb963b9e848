/* conn.h — a byte stream on the libuv loop: plain TCP, or TLS layered on top.
 *
 * One interface for both so the agent gateway, HTTPS and plain HTTP share the
 * same code above it. A TLS conn wraps another conn (normally TCP) and is
 * itself a conn (tls.h), so the layers compose: listener -> tcp conn ->
 * (optional) tls conn -> http / wire session.
 *
 * Threading: every function must be called on the loop thread.
 * Lifetime: a conn is created by a listener or a connect call and freed by
 * the conn layer after ck_conn_close()'s callback has returned. */
#ifndef CK_NET_CONN_H
#define CK_NET_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/util/err.h"

typedef struct ck_conn ck_conn;

/* Called with received bytes (borrowed, valid only during the call) and
 * status CK_OK, or once with data == NULL, len == 0 and status != CK_OK on
 * end of stream (CK_ERR_CLOSED) or error. After a non-OK status no more
 * reads are delivered. */
typedef void (*ck_conn_read_cb)(ck_conn *c, const uint8_t *data, size_t len,
                                ck_err status);
/* Called when a write has been handed to the kernel (or failed). */
typedef void (*ck_conn_write_cb)(ck_conn *c, ck_err status, void *arg);
/* Called once when the conn is closed; c is freed right after it returns. */
typedef void (*ck_conn_close_cb)(ck_conn *c);

typedef struct ck_conn_vtbl {
  ck_err (*read_start)(ck_conn *c, ck_conn_read_cb cb);
  void (*read_stop)(ck_conn *c);
  /* Copies the bytes; the caller's buffers may be reused when it returns. */
  ck_err (*write)(ck_conn *c, const uv_buf_t *bufs, unsigned nbufs,
                  ck_conn_write_cb cb, void *arg);
  /* Half-close is not offered; close flushes queued writes first when it
   * can (TLS sends close_notify) and then frees. */
  void (*close)(ck_conn *c, ck_conn_close_cb cb);
  /* Bytes queued and not yet written to the kernel (backpressure). */
  size_t (*write_queue_size)(const ck_conn *c);
  /* DER of the verified peer certificate, or NULL/0 (plain TCP or none). */
  const uint8_t *(*peer_cert_der)(const ck_conn *c, size_t *len);
} ck_conn_vtbl;

struct ck_conn {
  const ck_conn_vtbl *vt; /* the layer implementing this conn */
  uv_loop_t *loop;        /* borrowed */
  void *data;             /* user pointer, untouched by the conn layer */
  char peer[64];          /* "127.0.0.1:54321" or "[::1]:443", for logs */
  int is_tls;             /* 1 when this conn is a TLS layer */
};

/* Dispatchers: thin wrappers over c->vt. */
ck_err ck_conn_read_start(ck_conn *c, ck_conn_read_cb cb);
void ck_conn_read_stop(ck_conn *c);
ck_err ck_conn_write(ck_conn *c, const uv_buf_t *bufs, unsigned nbufs,
                     ck_conn_write_cb cb, void *arg);
void ck_conn_close(ck_conn *c, ck_conn_close_cb cb);
size_t ck_conn_write_queue_size(const ck_conn *c);
const uint8_t *ck_conn_peer_cert_der(const ck_conn *c, size_t *len);

/* ---- TCP: listener and client connect (tcp.c) ------------------------- */

typedef struct ck_listener ck_listener;
/* Called for each accepted TCP conn. The callee owns c (must close it). */
typedef void (*ck_listener_cb)(ck_listener *l, ck_conn *c);

/* Parses "HOST:PORT", "[V6]:PORT" into addr. Port 0 is allowed (ephemeral). */
ck_err ck_net_parse_addr(const char *text, struct sockaddr_storage *addr,
                         ck_errctx *err);

/* Starts listening on text address ("127.0.0.1:0"). On success *out is a
 * new listener owned by the caller (free with ck_listener_close). */
ck_err ck_listener_start(uv_loop_t *loop, const char *addr, ck_listener_cb cb,
                         void *data, ck_listener **out, ck_errctx *err);
/* Port actually bound (useful after ":0"). */
int ck_listener_port(const ck_listener *l);
void *ck_listener_data(const ck_listener *l);
/* Stops accepting and frees l once libuv has closed the handle; cb may be
 * NULL. Conns already accepted are not affected. */
void ck_listener_close(ck_listener *l, void (*cb)(void *data));

/* Connects to addr ("HOST:PORT"); cb gets the new conn (owned by the callee)
 * or NULL and an error. Returns an error without calling cb if the connect
 * could not be started. */
typedef void (*ck_connect_cb)(ck_conn *c, ck_err status, void *arg);
ck_err ck_tcp_connect(uv_loop_t *loop, const char *addr, ck_connect_cb cb,
                      void *arg, ck_errctx *err);
/* Inside a connect callback reporting a failure: the OS error text of it
 * ("connection refused", "cannot resolve the host: unknown node or
 * service"); "" otherwise. Per thread, valid until the callback returns. */
const char *ck_tcp_connect_error(void);

#endif
