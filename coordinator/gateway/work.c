/* work.c — the gateway's thread-pool work items.
 *
 * A work item carries the decoded frame it answers (its arena), runs its
 * function on the libuv pool (store reads and waits, signing), and encodes
 * its answer there too; back on the loop the answer is written if the
 * session is still open, and dropped otherwise. The item holds a session
 * reference, so a session closed meanwhile stays allocated until the item
 * came back. */
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "coordinator/gateway/gw_int.h"

gw_work *ck__gw_work_new(gw_session *s, ck_arena *arena, const ck_wire_msg *msg,
                         void (*run)(gw_work *w), int exclusive) {
  gw_work *w = calloc(1, sizeof *w);

  if (w == NULL) {
    ck_arena_free(arena);
    return NULL;
  }
  w->s = s;
  w->arena = arena;
  if (msg != NULL)
    w->msg = *msg;
  w->run = run;
  w->exclusive = exclusive;
  w->req.data = w;
  ck__gw_session_ref(s);
  s->inflight++;
  if (exclusive)
    s->excl_busy = 1;
  return w;
}

static void work_free(gw_work *w) {
  ck_wire_msg_wipe_secrets(&w->msg);
  ck_arena_free(w->arena);
  free(w->reply);
  free(w);
}

static void on_work(uv_work_t *req) {
  gw_work *w = req->data;

  w->run(w);
}

static void on_after(uv_work_t *req, int status) {
  gw_work *w = req->data;
  gw_session *s = w->s;

  (void)status; /* never canceled: we do not call uv_cancel */
  s->inflight--;
  if (w->exclusive)
    s->excl_busy = 0;
  s->last_rx_ms = ck_clock_mono_ms();
  if (!s->closing) {
    if (w->after != NULL)
      w->after(w);
    if (w->reply != NULL && !s->closing)
      (void)ck__gw_send_raw(s, w->reply, w->reply_len);
    if (w->close_after)
      ck__gw_session_close(s, "refused");
  }
  work_free(w);
  if (!s->closing)
    ck__gw_session_pump(s);
  ck__gw_session_unref(s);
}

void ck__gw_work_queue(gw_work *w) {
  gw_session *s = w->s;
  int rc = uv_queue_work(s->gw->rt->loop, &w->req, on_work, on_after);

  if (rc != 0) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.work.failed",
           CK_S("session", s->sid), CK_S("msg", uv_strerror(rc)));
    s->inflight--;
    if (w->exclusive)
      s->excl_busy = 0;
    work_free(w);
    ck__gw_session_close(s, "thread pool refused work");
    ck__gw_session_unref(s);
  }
}

/* Appends one encoded frame to w->reply. */
static ck_err append(gw_work *w, const ck_wire_msg *m, ck_errctx *err) {
  uint8_t *buf = NULL, *grown;
  size_t len = 0;
  ck_err rc;

  rc = ck_wire_encode(m, &w->s->gw->opts.limits, &buf, &len, err);
  if (rc != CK_OK)
    return rc;
  grown = realloc(w->reply, w->reply_len + len);
  if (grown == NULL) {
    free(buf);
    return ck_failf(err, CK_ERR_NOMEM, "reply: out of memory");
  }
  memcpy(grown + w->reply_len, buf, len);
  w->reply = grown;
  w->reply_len += len;
  free(buf);
  return CK_OK;
}

void ck__gw_reply(gw_work *w, const ck_wire_msg *m) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_msg e;
  ck_err rc = append(w, m, &err);

  if (rc == CK_OK)
    return;
  ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.encode.failed",
         CK_S("session", w->s->sid), CK_E(rc, ck_errctx_msg(&err)));
  memset(&e, 0, sizeof e);
  e.type = CK_WIRE_ERROR;
  e.id = m->id;
  e.u.error.code = CK_ERR_INTERNAL;
  e.u.error.message = "the coordinator could not encode its answer";
  ck_errctx_clear(&err);
  (void)append(w, &e, &err);
}

void ck__gw_reply_error(gw_work *w, ck_err code, int fatal, const char *msg) {
  ck_wire_msg e;

  memset(&e, 0, sizeof e);
  e.type = CK_WIRE_ERROR;
  e.id = w->msg.id;
  e.u.error.code = (int32_t)code;
  e.u.error.message = msg != NULL && msg[0] != '\0' ? msg : ck_strerror(code);
  e.u.error.fatal = fatal != 0;
  e.u.error.has_fatal = fatal != 0;
  ck__gw_reply(w, &e);
  if (fatal)
    w->close_after = 1;
}
