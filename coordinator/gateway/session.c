/* session.c — one agent session on the gateway: bytes in through the framer,
 * frames decoded with the gateway's limits, each frame dispatched by the
 * session's state, answers written back, idle and ping timer, and a
 * reference count so a session closed while work is in flight is freed only
 * after the last work item came back.
 *
 * Ordering: frames are taken in arrival order. Renewal CSRs may run side by
 * side (up to max_inflight); enroll, inventory and event run alone (an
 * inventory's parts must be applied in order). A frame that cannot start
 * yet is held and reading stops until capacity frees up, so a fast sender
 * is slowed down by TCP rather than by our memory.
 *
 * References: one for the conn (dropped in its close callback), one for the
 * timer (dropped in its close callback), one per work item in flight. */
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "coordinator/gateway/gw_int.h"

#define DECODE_ARENA 4096

static void on_read(ck_conn *c, const uint8_t *data, size_t len,
                    ck_err status);

const ck_gateway_opts *ck__gw_opts(const gw_session *s) {
  return &s->gw->opts;
}

void ck__gw_session_ref(gw_session *s) { s->refs++; }

static void session_free(gw_session *s) {
  ck_gateway *gw = s->gw;

  ck__gw_agent_clear(&s->agent);
  ck__gw_inventory_reset(s);
  ck_wire_framer_free(&s->framer);
  if (s->has_held) {
    ck_wire_msg_wipe_secrets(&s->held);
    ck_arena_free(s->held_arena);
  }
  free(s);
  gw->n_alive--;
  ck__gw_maybe_done(gw);
}

void ck__gw_session_unref(gw_session *s) {
  if (--s->refs == 0)
    session_free(s);
}

/* ---- writing ------------------------------------------------------------- */

static void set_reading(gw_session *s);

static void on_write(ck_conn *c, ck_err status, void *arg) {
  gw_session *s = arg;

  (void)c;
  (void)status;
  /* The conn calls write callbacks before its close callback, which holds
   * a reference: s is alive here. */
  if (s->write_paused && !s->closing &&
      ck_conn_write_queue_size(s->conn) < CK_GW_WRITE_HIGH / 2) {
    s->write_paused = 0;
    set_reading(s);
    ck__gw_session_pump(s);
  }
}

ck_err ck__gw_send_raw(gw_session *s, const uint8_t *buf, size_t len) {
  uv_buf_t b;
  ck_err rc;

  if (s->closing)
    return CK_ERR_CLOSED;
  b = uv_buf_init((char *)buf, (unsigned)len);
  rc = ck_conn_write(s->conn, &b, 1, on_write, s);
  if (rc != CK_OK) {
    ck__gw_session_close(s, "write failed");
    return rc;
  }
  if (ck_conn_write_queue_size(s->conn) >= CK_GW_WRITE_HIGH &&
      !s->write_paused) {
    s->write_paused = 1;
    set_reading(s);
  }
  return CK_OK;
}

ck_err ck__gw_send(gw_session *s, const ck_wire_msg *m) {
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_err rc;

  rc = ck_wire_encode(m, &s->gw->opts.limits, &buf, &len, &err);
  if (rc != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.encode.failed",
           CK_S("session", s->sid), CK_E(rc, ck_errctx_msg(&err)));
    return rc;
  }
  rc = ck__gw_send_raw(s, buf, len);
  free(buf);
  return rc;
}

void ck__gw_send_error(gw_session *s, uint64_t id, ck_err code, int fatal,
                       const char *msg) {
  ck_wire_msg m;

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_ERROR;
  m.id = id;
  m.u.error.code = (int32_t)code;
  m.u.error.message = msg;
  m.u.error.fatal = fatal != 0;
  m.u.error.has_fatal = fatal != 0;
  (void)ck__gw_send(s, &m);
  if (fatal)
    ck__gw_session_close(s, msg);
}

/* ---- reading ------------------------------------------------------------- */

static void set_reading(gw_session *s) {
  int want = !s->closing && !s->draining && !s->has_held &&
             !s->write_paused && s->state != GW_AUTH;

  if (want == s->reading)
    return;
  if (want) {
    if (ck_conn_read_start(s->conn, on_read) != CK_OK) {
      ck__gw_session_close(s, "connection ended");
      return;
    }
  } else {
    ck_conn_read_stop(s->conn);
  }
  s->reading = want;
}

static void on_read(ck_conn *c, const uint8_t *data, size_t len,
                    ck_err status) {
  gw_session *s = c->data;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_msg reply;
  ck_err rc;

  if (status != CK_OK) {
    s->reading = 0;
    ck__gw_session_close(s, status == CK_ERR_CLOSED ? "peer closed"
                                                    : ck_strerror(status));
    return;
  }
  s->last_rx_ms = ck_clock_mono_ms();
  rc = ck_wire_framer_feed(&s->framer, data, len, &err);
  if (rc != CK_OK) {
    /* Too big (or out of memory): the stream cannot be resynchronised. */
    ck_log(CK_LOG_SEC, CK_LOG_WARN, "gateway.frame.refused",
           CK_S("session", s->sid), CK_S("peer", s->peer),
           CK_E(rc, ck_errctx_msg(&err)));
    ck_wire_error_reply(&reply, NULL, &err);
    reply.u.error.fatal = true;
    reply.u.error.has_fatal = true;
    (void)ck__gw_send(s, &reply);
    ck__gw_session_close(s, "frame refused");
    return;
  }
  ck__gw_session_pump(s);
}

/* ---- dispatch ------------------------------------------------------------ */

/* Whether m may start now given the work in flight. */
static int can_start(const gw_session *s, const ck_wire_msg *m) {
  switch (m->type) {
  case CK_WIRE_CSR:
    if (ck__gw_is_identity_csr(m))
      return s->inflight == 0;
    return !s->excl_busy && s->inflight < s->gw->opts.max_inflight;
  case CK_WIRE_ENROLL:
  case CK_WIRE_INVENTORY:
  case CK_WIRE_EVENT:
    return s->inflight == 0;
  default:
    return 1;
  }
}

static void start_work(gw_session *s, ck_arena *arena, const ck_wire_msg *m,
                       void (*run)(gw_work *), int exclusive) {
  gw_work *w = ck__gw_work_new(s, arena, m, run, exclusive);

  if (w == NULL) {
    ck__gw_send_error(s, m->id, CK_ERR_NOMEM, 1, "coordinator out of memory");
    return;
  }
  ck__gw_work_queue(w);
}

/* Handles one decoded frame; takes arena (freed here or by the work). */
static void dispatch(gw_session *s, ck_arena *arena, ck_wire_msg *m) {
  const char *name = ck_wire_type_name(m->type);
  char msg[160];

  if (!ck_wire_type_receivable(m->type, CK_WIRE_TO_COORD)) {
    snprintf(msg, sizeof msg, "message type '%s' is not sent to the coordinator",
             name != NULL ? name : "?");
    ck__gw_send_error(s, m->id, CK_ERR_WIRE_UNKNOWN_TYPE, 0, msg);
    goto done;
  }
  if (s->state == GW_UNENROLLED) {
    if (m->type == CK_WIRE_HELLO) {
      ck__gw_on_hello(s, m);
    } else if (m->type == CK_WIRE_ENROLL) {
      start_work(s, arena, m, ck__gw_enroll_run, 1);
      return;
    } else {
      ck_log(CK_LOG_SEC, CK_LOG_WARN, "gateway.unauthenticated",
             CK_S("session", s->sid), CK_S("peer", s->peer),
             CK_S("type", name));
      snprintf(msg, sizeof msg,
               "enroll first: '%s' needs a client certificate (an agent "
               "identity); without one only hello and enroll are accepted",
               name);
      ck__gw_send_error(s, m->id, CK_ERR_AUTH, 1, msg);
    }
    goto done;
  }
  switch (m->type) {
  case CK_WIRE_HELLO:
    ck__gw_on_hello(s, m);
    break;
  case CK_WIRE_ENROLL:
    snprintf(msg, sizeof msg,
             "already enrolled: this connection authenticated as agent %s",
             s->agent.id);
    ck__gw_send_error(s, m->id, CK_ERR_CONFLICT, 0, msg);
    break;
  case CK_WIRE_CSR:
    start_work(s, arena, m, ck__gw_renew_run, ck__gw_is_identity_csr(m));
    return;
  case CK_WIRE_INVENTORY:
    start_work(s, arena, m, ck__gw_inventory_run, 1);
    return;
  case CK_WIRE_EVENT:
    start_work(s, arena, m, ck__gw_event_run, 1);
    return;
  case CK_WIRE_PONG:
    break; /* last_rx_ms already moved */
  case CK_WIRE_ACK:
  case CK_WIRE_ERROR:
    ck__gw_on_answer(s, m);
    break;
  default:
    break;
  }
done:
  ck_wire_msg_wipe_secrets(m);
  ck_arena_free(arena);
}

void ck__gw_session_pump(gw_session *s) {
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *body;
  ck_wire_msg m, reply;
  ck_arena *arena;
  size_t len;
  ck_err rc;

  while (!s->closing && s->state != GW_AUTH) {
    if (s->has_held) {
      if (!can_start(s, &s->held))
        break;
      s->has_held = 0;
      m = s->held;
      arena = s->held_arena;
      s->held_arena = NULL;
      dispatch(s, arena, &m);
      continue;
    }
    if (s->draining)
      break;
    ck_errctx_clear(&err);
    rc = ck_wire_framer_next(&s->framer, &body, &len, &err);
    if (rc == CK_ERR_AGAIN)
      break;
    if (rc != CK_OK) {
      ck_wire_error_reply(&reply, NULL, &err);
      reply.u.error.fatal = true;
      reply.u.error.has_fatal = true;
      (void)ck__gw_send(s, &reply);
      ck__gw_session_close(s, "framer failed");
      return;
    }
    arena = ck_arena_new(DECODE_ARENA);
    if (arena == NULL) {
      ck__gw_send_error(s, 0, CK_ERR_NOMEM, 1, "coordinator out of memory");
      return;
    }
    memset(&m, 0, sizeof m);
    rc = ck_wire_decode(body, len, &s->gw->opts.limits, arena, &m, &err);
    if (rc != CK_OK) {
      ck_log(CK_LOG_OPS, CK_LOG_INFO, "gateway.frame.bad",
             CK_S("session", s->sid), CK_S("peer", s->peer),
             CK_E(rc, ck_errctx_msg(&err)));
      ck_wire_error_reply(&reply, &m, &err);
      (void)ck__gw_send(s, &reply);
      ck_wire_msg_wipe_secrets(&m);
      ck_arena_free(arena);
      if (reply.u.error.fatal) {
        ck__gw_session_close(s, "frame refused");
        return;
      }
      continue;
    }
    if (!can_start(s, &m)) {
      s->held = m;
      s->held_arena = arena;
      s->has_held = 1;
      break;
    }
    dispatch(s, arena, &m);
  }
  if (!s->closing)
    set_reading(s);
  if (s->draining && !s->closing && s->inflight == 0)
    ck__gw_session_close(s, "gateway closing");
}

/* ---- timer --------------------------------------------------------------- */

static void on_timer(uv_timer_t *t) {
  gw_session *s = t->data;
  const ck_gateway_opts *o = &s->gw->opts;
  uint64_t now = ck_clock_mono_ms();
  char msg[96];

  if (s->closing)
    return;
  if (s->inflight == 0 && now - s->last_rx_ms >= o->idle_timeout_ms) {
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "gateway.session.idle",
           CK_S("session", s->sid), CK_S("peer", s->peer),
           CK_I("idle_ms", now - s->last_rx_ms));
    snprintf(msg, sizeof msg, "idle for %u ms: closing", o->idle_timeout_ms);
    ck__gw_send_error(s, 0, CK_ERR_TIMEOUT, 1, msg);
    return;
  }
  if (s->state == GW_AGENT && now - s->last_ping_ms >= o->ping_interval_ms) {
    s->last_ping_ms = now;
    ck__gw_ping(s);
  }
}

static void on_timer_closed(uv_handle_t *h) {
  ck__gw_session_unref(h->data);
}

static void on_conn_closed(ck_conn *c) {
  ck__gw_session_unref(c->data);
}

/* ---- life cycle ---------------------------------------------------------- */

void ck__gw_session_close(gw_session *s, const char *why) {
  ck_gateway *gw = s->gw;

  if (s->closing)
    return;
  s->closing = 1;
  ck_log(CK_LOG_OPS, CK_LOG_DEBUG, "gateway.session.close",
         CK_S("session", s->sid), CK_S("peer", s->peer),
         CK_S("agent", s->state == GW_AGENT ? s->agent.id : ""),
         CK_S("why", why != NULL ? why : ""));
  if (s->prev != NULL)
    s->prev->next = s->next;
  else
    gw->sessions = s->next;
  if (s->next != NULL)
    s->next->prev = s->prev;
  s->prev = s->next = NULL;
  gw->n_open--;
  ck__gw_cmds_fail(s);
  if (s->has_held) {
    ck_wire_msg_wipe_secrets(&s->held);
    ck_arena_free(s->held_arena);
    s->held_arena = NULL;
    s->has_held = 0;
  }
  uv_timer_stop(&s->timer);
  uv_close((uv_handle_t *)&s->timer, on_timer_closed);
  ck_conn_close(s->conn, on_conn_closed);
}

void ck__gw_session_drain(gw_session *s) {
  if (s->closing || s->draining)
    return;
  s->draining = 1;
  set_reading(s);
  if (s->inflight == 0 && !s->has_held)
    ck__gw_session_close(s, "gateway closing");
}

void ck__gw_session_start(ck_gateway *gw, ck_conn *conn) {
  const ck_gateway_opts *o = &gw->opts;
  gw_session *s = calloc(1, sizeof *s);
  uint8_t rnd[8], fp[CK_SHA256_LEN];
  const uint8_t *der;
  size_t der_len = 0;
  uint64_t tick;
  gw_work *w;

  if (s == NULL || ck_random(rnd, sizeof rnd) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.session.failed",
           CK_S("peer", conn->peer), CK_S("msg", "out of memory"));
    free(s);
    ck_conn_close(conn, NULL);
    ck__gw_maybe_done(gw);
    return;
  }
  s->gw = gw;
  s->conn = conn;
  conn->data = s;
  s->refs = 2; /* conn + timer */
  s->next_id = 1;
  ck_hex_encode(rnd, sizeof rnd, s->sid);
  ck_strlcpy(s->peer, conn->peer, sizeof s->peer);
  ck_wire_framer_init(&s->framer, o->limits.max_frame);
  s->last_rx_ms = s->last_ping_ms = ck_clock_mono_ms();
  uv_timer_init(gw->rt->loop, &s->timer);
  s->timer.data = s;
  gw->n_alive++;
  gw->n_open++;
  s->next = gw->sessions;
  if (gw->sessions != NULL)
    gw->sessions->prev = s;
  gw->sessions = s;
  tick = o->idle_timeout_ms < o->ping_interval_ms ? o->idle_timeout_ms
                                                   : o->ping_interval_ms;
  tick = tick / 4 > 10 ? tick / 4 : 10;
  uv_timer_start(&s->timer, on_timer, tick, tick);

  der = ck_conn_peer_cert_der(conn, &der_len);
  if (der == NULL) {
    s->state = GW_UNENROLLED;
    ck_log(CK_LOG_OPS, CK_LOG_DEBUG, "gateway.session.open",
           CK_S("session", s->sid), CK_S("peer", s->peer),
           CK_S("auth", "none"));
    set_reading(s);
    return;
  }
  s->state = GW_AUTH;
  if (ck_crypto_sha256(der, der_len, fp) != CK_OK) {
    ck__gw_session_close(s, "hash failed");
    return;
  }
  ck_hex_encode(fp, sizeof fp, s->cert_fp);
  w = ck__gw_work_new(s, NULL, NULL, ck__gw_auth_run, 1);
  if (w == NULL) {
    ck__gw_session_close(s, "out of memory");
    return;
  }
  w->after = ck__gw_auth_after;
  ck__gw_work_queue(w);
}
