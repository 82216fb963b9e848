/* ipc.c — wire frames over a socketpair end (see ipc.h).
 *
 * Reads land in a fixed buffer inside the ipc, are fed to the wire framer
 * (which refuses an oversized length prefix before buffering the body) and
 * decoded one by one into an arena that is reset per frame. Writes are
 * encoded into one malloc'ed block holding the uv_write_t and the bytes,
 * freed by the write callback. The ipc is freed when both the owner called
 * ck_ipc_close and libuv has closed the pipe handle. */
#include "agent/run/ipc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/wire/framer.h"
#include "platforms/platform.h"

#define CK_IPC_READ_BUF 65536u
#define CK_IPC_TRIM_AFTER (256u * 1024u)

struct ck_ipc {
  uv_pipe_t pipe;
  ck_wire_dir role;
  ck_ipc_msg_cb on_msg;
  ck_ipc_close_cb on_close;
  void *arg;
  ck_wire_framer fr;
  ck_wire_limits lim;
  ck_arena *arena;     /* per-frame decode memory, reset after each */
  size_t queued;       /* bytes in writes not yet completed */
  size_t since_trim;   /* bytes written since the heap was last trimmed */
  int failed;          /* peer closed or bad frame: no more sends */
  int user_closed;     /* ck_ipc_close was called */
  int handle_closing;  /* uv_close was called on the pipe */
  int handle_closed;   /* its close callback ran */
  uint8_t rbuf[CK_IPC_READ_BUF];
};

/* One queued write: the request and the encoded frame after it. */
typedef struct ck__ipc_wr {
  uv_write_t req;
  ck_ipc *ipc;
  size_t len;
  uint8_t data[];
} ck__ipc_wr;

static void ck__ipc_free(ck_ipc *ipc) {
  ck_wire_framer_free(&ipc->fr);
  ck_arena_free(ipc->arena);
  free(ipc);
}

static void ck__ipc_handle_closed(uv_handle_t *h) {
  ck_ipc *ipc = h->data;

  ipc->handle_closed = 1;
  if (ipc->user_closed)
    ck__ipc_free(ipc);
}

static void ck__ipc_close_handle(ck_ipc *ipc) {
  if (ipc->handle_closing)
    return;
  ipc->handle_closing = 1;
  uv_read_stop((uv_stream_t *)&ipc->pipe);
  uv_close((uv_handle_t *)&ipc->pipe, ck__ipc_handle_closed);
}

/* The channel failed (peer gone, bad frame): stop, close, tell the owner. */
static void ck__ipc_fail(ck_ipc *ipc, ck_err why, const char *msg) {
  if (ipc->failed || ipc->user_closed)
    return;
  ipc->failed = 1;
  if (why != CK_ERR_CLOSED)
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.ipc.bad_frame", CK_E(why, msg),
           CK_S("action", "closing the channel"));
  ck__ipc_close_handle(ipc);
  if (ipc->on_close != NULL)
    ipc->on_close(ipc, why, ipc->arg);
}

static void ck__ipc_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  ck_ipc *ipc = h->data;

  (void)suggested;
  *buf = uv_buf_init((char *)ipc->rbuf, sizeof ipc->rbuf);
}

/* Decodes and delivers every complete frame buffered. */
static void ck__ipc_drain(ck_ipc *ipc) {
  const uint8_t *body;
  size_t blen;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  while (!ipc->failed && !ipc->user_closed) {
    ck_wire_msg m;

    rc = ck_wire_framer_next(&ipc->fr, &body, &blen, &err);
    if (rc == CK_ERR_AGAIN) {
      /* nothing decoded is used after on_msg: an inventory part's blocks
       * go back now instead of staying until the next frame */
      ck_arena_reset(ipc->arena);
      return;
    }
    if (rc != CK_OK) {
      ck__ipc_fail(ipc, rc, ck_errctx_msg(&err));
      return;
    }
    memset(&m, 0, sizeof m);
    ck_arena_reset(ipc->arena);
    rc = ck_wire_decode(body, blen, &ipc->lim, ipc->arena, &m, &err);
    if (rc != CK_OK) {
      ck_failf(&err, rc, "ipc frame");
      ck__ipc_fail(ipc, rc, ck_errctx_msg(&err));
      return;
    }
    if (!ck_wire_type_receivable(m.type, ipc->role)) {
      ck_setf(&err, CK_ERR_WIRE_UNKNOWN_TYPE,
              "ipc frame: message '%s' is not accepted in this direction",
              ck_wire_type_name(m.type));
      ck_wire_msg_wipe_secrets(&m);
      ck__ipc_fail(ipc, CK_ERR_WIRE_UNKNOWN_TYPE, ck_errctx_msg(&err));
      return;
    }
    if (ipc->on_msg != NULL)
      ipc->on_msg(ipc, &m, ipc->arg);
    ck_wire_msg_wipe_secrets(&m);
  }
}

static void ck__ipc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  ck_ipc *ipc = s->data;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  (void)buf;
  if (ipc->failed || ipc->user_closed)
    return;
  if (n == 0)
    return;
  if (n < 0) {
    if (n == UV_EOF || n == UV_ECONNRESET)
      ck__ipc_fail(ipc, CK_ERR_CLOSED, "peer closed the channel");
    else
      ck__ipc_fail(ipc, CK_ERR_IO, uv_strerror((int)n));
    return;
  }
  rc = ck_wire_framer_feed(&ipc->fr, ipc->rbuf, (size_t)n, &err);
  if (rc != CK_OK) {
    ck_failf(&err, rc, "ipc frame");
    ck__ipc_fail(ipc, rc, ck_errctx_msg(&err));
    return;
  }
  ck__ipc_drain(ipc);
}

ck_err ck_ipc_open(uv_loop_t *loop, int fd, ck_wire_dir role,
                   ck_ipc_msg_cb on_msg, ck_ipc_close_cb on_close, void *arg,
                   ck_ipc **out, ck_errctx *err) {
  ck_ipc *ipc = NULL;
  int r;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || fd < 0 || out == NULL ||
      (role != CK_WIRE_TO_AGENT && role != CK_WIRE_TO_COORD)) {
    if (fd >= 0)
      close(fd);
    return ck_failf(err, CK_ERR_INVAL, "ipc: bad arguments");
  }
  ipc = calloc(1, sizeof *ipc);
  if (ipc == NULL || (ipc->arena = ck_arena_new(16384)) == NULL) {
    free(ipc);
    close(fd);
    return ck_failf(err, CK_ERR_NOMEM, "ipc: out of memory");
  }
  ipc->role = role;
  ipc->on_msg = on_msg;
  ipc->on_close = on_close;
  ipc->arg = arg;
  ipc->lim = ck_wire_limits_default();
  ck_wire_framer_init(&ipc->fr, ipc->lim.max_frame);
  if ((r = uv_pipe_init(loop, &ipc->pipe, 0)) != 0) {
    ck__ipc_free(ipc);
    close(fd);
    return ck_failf(err, CK_ERR_IO, "ipc: pipe init: %s", uv_strerror(r));
  }
  ipc->pipe.data = ipc;
  if ((r = uv_pipe_open(&ipc->pipe, fd)) != 0) {
    close(fd);
    ck_failf(err, CK_ERR_IO, "ipc: cannot use fd %d: %s", fd, uv_strerror(r));
    goto fail;
  }
  if ((r = uv_read_start((uv_stream_t *)&ipc->pipe, ck__ipc_alloc,
                         ck__ipc_read)) != 0) {
    ck_failf(err, CK_ERR_IO, "ipc: cannot read: %s", uv_strerror(r));
    goto fail;
  }
  *out = ipc;
  return CK_OK;
fail:
  /* the handle was initialised: free through the close callback */
  ipc->user_closed = 1;
  ck__ipc_close_handle(ipc);
  return CK_ERR_IO;
}

static void ck__ipc_written(uv_write_t *req, int status) {
  ck__ipc_wr *w = (ck__ipc_wr *)req;
  ck_ipc *ipc = w->ipc;

  ipc->queued -= w->len;
  ipc->since_trim += w->len;
  ck_wipe(w->data, w->len);
  free(w);
  if (ipc->queued == 0 && ipc->since_trim >= CK_IPC_TRIM_AFTER) {
    /* a burst (an inventory's parts) is written: its frames are freed, give
     * the memory back to the system */
    ipc->since_trim = 0;
    ck_platform_mem_trim();
  }
  if (status != 0 && status != UV_ECANCELED)
    ck__ipc_fail(ipc, CK_ERR_IO, uv_strerror(status));
}

ck_err ck_ipc_send(ck_ipc *ipc, const ck_wire_msg *m, ck_errctx *err) {
  uint8_t *frame = NULL;
  size_t len = 0;
  ck__ipc_wr *w = NULL;
  uv_buf_t b;
  ck_err rc;
  int r;

  if (ipc == NULL || m == NULL)
    return ck_failf(err, CK_ERR_INVAL, "ipc: bad arguments");
  if (ipc->failed || ipc->user_closed || ipc->handle_closing)
    return ck_failf(err, CK_ERR_CLOSED, "ipc: channel closed");
  if ((rc = ck_wire_encode(m, &ipc->lim, &frame, &len, err)) != CK_OK)
    return ck_failf(err, rc, "ipc: encoding '%s'",
                    ck_wire_type_name(m->type) ? ck_wire_type_name(m->type)
                                               : "?");
  w = malloc(sizeof *w + len);
  if (w == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "ipc: out of memory");
    goto out;
  }
  w->ipc = ipc;
  w->len = len;
  memcpy(w->data, frame, len);
  b = uv_buf_init((char *)w->data, (unsigned)len);
  if ((r = uv_write(&w->req, (uv_stream_t *)&ipc->pipe, &b, 1,
                    ck__ipc_written)) != 0) {
    ck_wipe(w->data, len);
    free(w);
    rc = ck_failf(err, r == UV_EPIPE ? CK_ERR_CLOSED : CK_ERR_IO,
                  "ipc: write: %s", uv_strerror(r));
    goto out;
  }
  ipc->queued += len;
out:
  if (frame != NULL) {
    ck_wipe(frame, len);
    free(frame);
  }
  return rc;
}

size_t ck_ipc_pending(const ck_ipc *ipc) {
  return ipc != NULL ? ipc->queued : 0;
}

void ck_ipc_close(ck_ipc *ipc) {
  if (ipc == NULL || ipc->user_closed)
    return;
  ipc->user_closed = 1;
  if (ipc->handle_closed) {
    ck__ipc_free(ipc);
    return;
  }
  ck__ipc_close_handle(ipc);
}
