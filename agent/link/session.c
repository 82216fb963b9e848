/* session.c — the agent's coordinator session (see session.h): connect,
 * hello/welcome, outbox pump, ping/pong, watchdog, reconnect with backoff
 * and jitter, link.state. All on the net process's loop. */
#include "agent/link/session.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/net/tls.h"
#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/wire/framer.h"
#include "platforms/platform.h"

#ifndef CK_VERSION
#define CK_VERSION "0.0.0"
#endif

#define CK_SESSION_BACKOFF_MIN_MS 1000u

typedef enum {
  CK__SES_IDLE = 0,   /* waiting for the reconnect timer */
  CK__SES_CONNECTING, /* TCP/TLS in progress */
  CK__SES_HELLO,      /* hello sent, waiting for welcome */
  CK__SES_UP,         /* welcome received */
  CK__SES_CLOSING     /* conn close requested */
} ck__ses_state;

struct ck_session {
  uv_loop_t *loop;
  ck_tls_ctx *ctx;
  char *server;
  char *agent_id;
  ck_session_cbs cbs;
  ck_outbox *outbox;
  int link_fd;
  unsigned reconnect_max_ms;

  ck__ses_state state;
  int attempt_live; /* a connect attempt's callback is still due */
  int stopping;     /* ck_session_close called */
  int timers_open;  /* handles to close on stop */
  ck_conn *conn;
  ck_wire_framer fr;
  ck_arena *arena;
  uv_timer_t retry;
  uv_timer_t watchdog;
  unsigned backoff_ms;
  uint64_t hello_id;
  uint64_t next_id;
  uint64_t last_rx_ms;
  unsigned ping_interval_s;

  /* outbox window: sequence numbers sent and not yet acknowledged */
  uint64_t sent[CK_SESSION_WINDOW];
  size_t n_sent;
  uint64_t last_sent;

  /* link.state */
  char sid[64];
  int64_t last_connect, last_report;
  char last_error[256];
};

/* ---- link.state ---------------------------------------------------------- */

static void ck__ses_link_write(ck_session *s, const char *state) {
  char buf[CK_LINK_STATE_SIZE];
  int n;

  if (s->link_fd < 0)
    return;
  memset(buf, ' ', sizeof buf);
  n = snprintf(buf, sizeof buf,
               "state=%s\nserver=%s\nsession=%s\nlast_connect=%" PRId64
               "\nlast_report=%" PRId64 "\nupdated=%" PRId64
               "\nlast_error=%s\n",
               state, s->server, s->sid, s->last_connect, s->last_report,
               ck_clock_now(), s->last_error);
  if (n < 0)
    return;
  if ((size_t)n >= sizeof buf)
    n = (int)sizeof buf - 1;
  buf[n] = '\n'; /* padding after: spaces, then a final newline */
  buf[sizeof buf - 1] = '\n';
  if (pwrite(s->link_fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf ||
      ftruncate(s->link_fd, (off_t)sizeof buf) != 0 || fsync(s->link_fd) != 0)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.link.state",
           CK_S("msg", strerror(errno)));
}

static void ck__ses_copy_field(char *dst, size_t cap, const char *v,
                               size_t n) {
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, v, n);
  dst[n] = '\0';
}

static int64_t ck__ses_num(const char *v, size_t n) {
  int64_t x = 0;
  size_t i;

  for (i = 0; i < n && v[i] >= '0' && v[i] <= '9' && x < INT64_MAX / 10 - 10;
       i++)
    x = x * 10 + (v[i] - '0');
  return x;
}

ck_err ck_link_state_read(const char *path, ck_link_state *out,
                          ck_errctx *err) {
  char buf[CK_LINK_STATE_SIZE * 2];
  FILE *f;
  size_t len;
  const char *p, *end;

  memset(out, 0, sizeof *out);
  f = fopen(path, "re");
  if (f == NULL)
    return ck_failf(err, errno == ENOENT ? CK_ERR_NOENT : CK_ERR_IO,
                    "%s: %s", path, strerror(errno));
  len = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[len] = '\0';
  p = buf;
  end = buf + len;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p)), *eq;
    size_t kl, vl;

    if (eol == NULL)
      eol = end;
    eq = memchr(p, '=', (size_t)(eol - p));
    if (eq != NULL) {
      kl = (size_t)(eq - p);
      vl = (size_t)(eol - eq - 1);
      if (kl == 5 && !strncmp(p, "state", 5))
        ck__ses_copy_field(out->state, sizeof out->state, eq + 1, vl);
      else if (kl == 6 && !strncmp(p, "server", 6))
        ck__ses_copy_field(out->server, sizeof out->server, eq + 1, vl);
      else if (kl == 7 && !strncmp(p, "session", 7))
        ck__ses_copy_field(out->session, sizeof out->session, eq + 1, vl);
      else if (kl == 12 && !strncmp(p, "last_connect", 12))
        out->last_connect = ck__ses_num(eq + 1, vl);
      else if (kl == 11 && !strncmp(p, "last_report", 11))
        out->last_report = ck__ses_num(eq + 1, vl);
      else if (kl == 7 && !strncmp(p, "updated", 7))
        out->updated = ck__ses_num(eq + 1, vl);
      else if (kl == 10 && !strncmp(p, "last_error", 10))
        ck__ses_copy_field(out->last_error, sizeof out->last_error, eq + 1,
                           vl);
    }
    p = eol + 1;
  }
  return CK_OK;
}

/* ---- sending --------------------------------------------------------------- */

static ck_err ck__ses_write(ck_session *s, const uint8_t *buf, size_t len,
                            ck_errctx *err) {
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
  ck_err rc = ck_conn_write(s->conn, &b, 1, NULL, NULL);

  if (rc != CK_OK)
    return ck_failf(err, rc, "writing to the coordinator");
  return CK_OK;
}

static ck_err ck__ses_send_msg(ck_session *s, const ck_wire_msg *m,
                               ck_errctx *err) {
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_err rc;

  if (s->conn == NULL)
    return ck_failf(err, CK_ERR_CLOSED, "not connected");
  if ((rc = ck_wire_encode(m, NULL, &buf, &len, err)) != CK_OK)
    return rc;
  rc = ck__ses_write(s, buf, len, err);
  free(buf);
  return rc;
}

/* Sends outbox entries while the window has room. */
static void ck__ses_pump(ck_session *s) {
  ck_errctx err = CK_ERRCTX_INIT;

  if (s->state != CK__SES_UP || s->outbox == NULL)
    return;
  while (s->n_sent < CK_SESSION_WINDOW) {
    uint64_t seq = 0;
    uint8_t *frame = NULL;
    size_t len = 0;
    ck_err rc = ck_outbox_peek(s->outbox, s->last_sent, &seq, &frame, &len,
                               &err);

    if (rc != CK_OK)
      return; /* none left (or out of memory: next kick) */
    rc = ck__ses_write(s, frame, len, &err);
    free(frame);
    if (rc != CK_OK)
      return; /* the read side reports the failure */
    s->sent[s->n_sent++] = seq;
    s->last_sent = seq;
  }
}

/* id answered (ack or error): drop outbox entries through it. Returns 1
 * when id was an outbox id in flight. */
static int ck__ses_outbox_answer(ck_session *s, uint64_t id) {
  ck_errctx err = CK_ERRCTX_INIT;
  size_t i, k = 0;
  int found = 0;

  if (id == 0 || id >= CK_SESSION_ID_BASE)
    return 0;
  for (i = 0; i < s->n_sent; i++)
    if (s->sent[i] == id)
      found = 1;
  if (!found)
    return 0;
  for (i = 0; i < s->n_sent; i++)
    if (s->sent[i] > id)
      s->sent[k++] = s->sent[i];
  s->n_sent = k;
  if (ck_outbox_drop_through(s->outbox, id, &err) != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.outbox.drop",
           CK_E(err.code, ck_errctx_msg(&err)));
  return 1;
}

/* ---- connection life ------------------------------------------------------- */

/* Frees s once nothing refers to it any more. */
static void ck__ses_free(ck_session *s) {
  ck_arena_free(s->arena);
  ck_wire_framer_free(&s->fr);
  free(s->server);
  free(s->agent_id);
  free(s);
}

static void ck__ses_connect(ck_session *s);

static void ck__ses_retry_cb(uv_timer_t *t) {
  ck_session *s = t->data;

  if (!s->stopping && s->state == CK__SES_IDLE)
    ck__ses_connect(s);
}

/* Schedules the next attempt: delay doubles up to the cap, with jitter. */
static void ck__ses_schedule(ck_session *s) {
  uint32_t r = 0;
  uint64_t delay;

  if (s->stopping)
    return;
  s->state = CK__SES_IDLE;
  if (s->backoff_ms < CK_SESSION_BACKOFF_MIN_MS)
    s->backoff_ms = CK_SESSION_BACKOFF_MIN_MS;
  (void)ck_random(&r, sizeof r);
  delay = s->backoff_ms / 2 + (s->backoff_ms / 2 > 0 ? r % (s->backoff_ms / 2 + 1) : 0);
  s->backoff_ms = s->backoff_ms > s->reconnect_max_ms / 2
                      ? s->reconnect_max_ms
                      : s->backoff_ms * 2;
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.link.retry", CK_S("server", s->server),
         CK_I("in_ms", delay));
  uv_timer_start(&s->retry, ck__ses_retry_cb, delay, 0);
}

static void ck__ses_conn_closed(ck_conn *c) {
  ck_session *s = c->data;

  s->conn = NULL;
  if (s->stopping) {
    if (!s->attempt_live && !s->timers_open)
      ck__ses_free(s); /* timers were closed already: last reference */
    return;
  }
  ck__ses_schedule(s);
}

/* The connection failed or ended: tell the owner, close, reconnect. */
static void ck__ses_down(ck_session *s, ck_err why, const char *msg) {
  int was_up = s->state == CK__SES_UP;

  if (s->state == CK__SES_CLOSING || s->state == CK__SES_IDLE)
    return;
  ck_strlcpy(s->last_error, msg, sizeof s->last_error);
  for (char *p = s->last_error; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  ck_log(CK_LOG_OPS, was_up ? CK_LOG_WARN : CK_LOG_INFO, "agent.link.down",
         CK_S("server", s->server), CK_E(why, msg));
  uv_timer_stop(&s->watchdog);
  s->n_sent = 0;
  s->last_sent = 0;
  s->sid[0] = '\0';
  ck__ses_link_write(s, "disconnected");
  ck_wire_framer_free(&s->fr);
  if (was_up && s->cbs.down != NULL)
    s->cbs.down(s, why, msg, s->cbs.arg);
  if (s->conn != NULL) {
    s->state = CK__SES_CLOSING;
    ck_conn_close(s->conn, ck__ses_conn_closed);
  } else {
    ck__ses_schedule(s);
  }
}

static void ck__ses_watchdog_cb(uv_timer_t *t) {
  ck_session *s = t->data;
  uint64_t quiet = ck_clock_mono_ms() - s->last_rx_ms;
  uint64_t limit = (uint64_t)(s->ping_interval_s ? s->ping_interval_s : 60) *
                   3000u;

  if (s->state != CK__SES_UP && s->state != CK__SES_HELLO)
    return;
  if (quiet > limit)
    ck__ses_down(s, CK_ERR_TIMEOUT,
                 "nothing received from the coordinator for three ping "
                 "intervals");
}

static void ck__ses_welcome(ck_session *s, const ck_wire_msg *m) {
  const ck_wire_welcome *w = &m->u.welcome;
  uint64_t every;

  s->state = CK__SES_UP;
  s->backoff_ms = CK_SESSION_BACKOFF_MIN_MS;
  ck_strlcpy(s->sid, w->session != NULL ? w->session : "", sizeof s->sid);
  for (char *p = s->sid; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  s->ping_interval_s = w->has_ping_interval ? w->ping_interval : 0;
  s->last_connect = ck_clock_now();
  s->last_error[0] = '\0';
  ck__ses_link_write(s, "connected");
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "agent.link.up", CK_S("server", s->server),
         CK_S("session", s->sid),
         CK_I("outbox", s->outbox ? ck_outbox_count(s->outbox) : 0));
  every = (uint64_t)(s->ping_interval_s ? s->ping_interval_s : 60) * 1000u;
  uv_timer_start(&s->watchdog, ck__ses_watchdog_cb, every, every);
  if (s->cbs.up != NULL)
    s->cbs.up(s, w, s->cbs.arg);
  ck__ses_pump(s);
}

static void ck__ses_frame(ck_session *s, const ck_wire_msg *m) {
  ck_errctx err = CK_ERRCTX_INIT;
  char msg[400];

  if (s->state == CK__SES_HELLO) {
    if (m->type == CK_WIRE_WELCOME && m->id == s->hello_id) {
      ck__ses_welcome(s, m);
      return;
    }
    if (m->type == CK_WIRE_ERROR) {
      snprintf(msg, sizeof msg, "the coordinator refused the session: %s",
               m->u.error.message ? m->u.error.message : "no reason");
      ck__ses_down(s, m->u.error.code < 0 ? (ck_err)m->u.error.code
                                          : CK_ERR_DENIED,
                   msg);
      return;
    }
    if (m->type != CK_WIRE_PING)
      return; /* nothing else before welcome */
  }
  switch (m->type) {
  case CK_WIRE_PING: {
    ck_wire_msg p;
    memset(&p, 0, sizeof p);
    p.type = CK_WIRE_PONG;
    p.id = m->id;
    p.u.pong.time = ck_clock_now();
    (void)ck__ses_send_msg(s, &p, &err);
    return;
  }
  case CK_WIRE_ACK:
    if (ck__ses_outbox_answer(s, m->id)) {
      s->last_report = ck_clock_now();
      ck__ses_link_write(s, "connected");
      ck__ses_pump(s);
      return;
    }
    break;
  case CK_WIRE_ERROR:
    if (m->u.error.has_fatal && m->u.error.fatal) {
      snprintf(msg, sizeof msg, "the coordinator ended the session: %s",
               m->u.error.message ? m->u.error.message : "no reason");
      ck__ses_down(s, m->u.error.code < 0 ? (ck_err)m->u.error.code
                                          : CK_ERR_CLOSED,
                   msg);
      return;
    }
    if (ck__ses_outbox_answer(s, m->id)) {
      ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.outbox.refused",
             CK_I("id", m->id), CK_I("code", m->u.error.code),
             CK_S("msg", m->u.error.message ? m->u.error.message : ""),
             CK_S("action", "event dropped"));
      ck__ses_pump(s);
      return;
    }
    break;
  default:
    break;
  }
  if (s->cbs.msg != NULL)
    s->cbs.msg(s, m, s->cbs.arg);
}

static void ck__ses_read(ck_conn *c, const uint8_t *data, size_t len,
                         ck_err status) {
  ck_session *s = c->data;
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *body;
  size_t blen;
  ck_err rc;

  if (s->state != CK__SES_HELLO && s->state != CK__SES_UP)
    return;
  if (status != CK_OK) {
    ck__ses_down(s, status,
                 status == CK_ERR_CLOSED ? "the coordinator closed the "
                                           "connection"
                                         : ck_strerror(status));
    return;
  }
  s->last_rx_ms = ck_clock_mono_ms();
  if ((rc = ck_wire_framer_feed(&s->fr, data, len, &err)) != CK_OK) {
    ck__ses_down(s, rc, ck_errctx_msg(&err));
    return;
  }
  while (s->state == CK__SES_HELLO || s->state == CK__SES_UP) {
    ck_wire_msg m;

    rc = ck_wire_framer_next(&s->fr, &body, &blen, &err);
    if (rc == CK_ERR_AGAIN) {
      ck_arena_reset(s->arena); /* nothing decoded outlives on_msg */
      return;
    }
    if (rc != CK_OK) {
      ck__ses_down(s, rc, ck_errctx_msg(&err));
      return;
    }
    ck_arena_reset(s->arena);
    memset(&m, 0, sizeof m);
    rc = ck_wire_decode(body, blen, NULL, s->arena, &m, &err);
    if (rc == CK_OK && !ck_wire_type_receivable(m.type, CK_WIRE_TO_AGENT))
      rc = ck_setf(&err, CK_ERR_WIRE_UNKNOWN_TYPE,
                   "message '%s' is not sent to agents",
                   ck_wire_type_name(m.type));
    if (rc != CK_OK) {
      /* answer and go on, as the gateway does; fatal ones end the session */
      ck_wire_msg reply;
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.link.bad_frame",
             CK_E(rc, ck_errctx_msg(&err)));
      ck_wire_error_reply(&reply, &m, &err);
      (void)ck__ses_send_msg(s, &reply, NULL);
      if (reply.u.error.fatal) {
        ck__ses_down(s, rc, ck_errctx_msg(&err));
        return;
      }
      continue;
    }
    ck__ses_frame(s, &m);
  }
}

static void ck__ses_hs(ck_conn *c, ck_err status, const ck_errctx *herr,
                       void *arg) {
  ck_session *s = arg;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_wire_msg m;
  static const char *const caps[] = {"outbox", "ipc"};
  char msg[600];

  s->attempt_live = 0;
  if (s->stopping) {
    if (c != NULL) {
      c->data = s;
      s->conn = c;
      s->state = CK__SES_CLOSING;
      ck_conn_close(c, ck__ses_conn_closed);
    } else if (!s->timers_open) {
      ck__ses_free(s);
    }
    return;
  }
  if (status != CK_OK) {
    snprintf(msg, sizeof msg, "cannot connect to %s: %s", s->server,
             herr != NULL ? ck_errctx_msg(herr) : ck_strerror(status));
    ck__ses_down(s, status, msg);
    return;
  }
  s->conn = c;
  c->data = s;
  s->state = CK__SES_HELLO;
  s->last_rx_ms = ck_clock_mono_ms();
  ck_wire_framer_init(&s->fr, 0);
  if (ck_conn_read_start(c, ck__ses_read) != CK_OK) {
    ck__ses_down(s, CK_ERR_NET, "cannot read from the connection");
    return;
  }
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_HELLO;
  m.id = s->hello_id = ck_session_next_id(s);
  m.u.hello.agent_id = s->agent_id;
  m.u.hello.version = CK_VERSION;
  m.u.hello.platform = ck_platform_name();
  m.u.hello.caps.v = (const char **)caps;
  m.u.hello.caps.n = sizeof caps / sizeof caps[0];
  m.u.hello.max_v = CK_WIRE_VERSION;
  m.u.hello.has_max_v = true;
  if (ck__ses_send_msg(s, &m, &err) != CK_OK) {
    ck__ses_down(s, err.code, ck_errctx_msg(&err));
    return;
  }
  /* the watchdog also bounds the wait for welcome */
  uv_timer_start(&s->watchdog, ck__ses_watchdog_cb, 60000, 60000);
}

static void ck__ses_connect(ck_session *s) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  s->state = CK__SES_CONNECTING;
  ck__ses_link_write(s, "connecting");
  s->attempt_live = 1;
  rc = ck_tls_connect(s->loop, s->server, s->ctx, ck__ses_hs, s, &err);
  if (rc != CK_OK) {
    s->attempt_live = 0;
    ck__ses_down(s, rc, ck_errctx_msg(&err));
  }
}

/* ---- public ---------------------------------------------------------------- */

ck_err ck_session_new(uv_loop_t *loop, const ck_session_opts *o,
                      const ck_session_cbs *cbs, ck_session **out,
                      ck_errctx *err) {
  ck_session *s = NULL;
  ck_tls_config tc;
  ck_err rc;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || o == NULL || o->server == NULL || out == NULL ||
      o->cert_pem == NULL || o->key_pem == NULL || o->ca_pem == NULL)
    return ck_failf(err, CK_ERR_INVAL, "session: bad arguments");
  s = calloc(1, sizeof *s);
  if (s == NULL || (s->server = strdup(o->server)) == NULL ||
      (o->agent_id != NULL && (s->agent_id = strdup(o->agent_id)) == NULL) ||
      (s->arena = ck_arena_new(16384)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "session: out of memory");
    goto fail;
  }
  memset(&tc, 0, sizeof tc);
  tc.role = CK_TLS_CLIENT;
  tc.cert_pem = o->cert_pem;
  tc.cert_pem_len = o->cert_pem_len;
  tc.key_pem = o->key_pem;
  tc.key_pem_len = o->key_pem_len;
  tc.ca_pem = o->ca_pem;
  tc.ca_pem_len = o->ca_pem_len;
  tc.verify = CK_TLS_VERIFY_REQUIRE;
  tc.handshake_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms
                                                  : 15000;
  if ((rc = ck_tls_ctx_new(&tc, &s->ctx, err)) != CK_OK) {
    rc = ck_failf(err, CK_ERR_CONFIG, "identity or coordinator CA");
    goto fail;
  }
  if (cbs != NULL)
    s->cbs = *cbs;
  s->loop = loop;
  s->outbox = o->outbox;
  s->link_fd = o->link_state_fd;
  s->reconnect_max_ms =
      (o->reconnect_max_s ? o->reconnect_max_s : 300) * 1000u;
  if (s->reconnect_max_ms < CK_SESSION_BACKOFF_MIN_MS)
    s->reconnect_max_ms = CK_SESSION_BACKOFF_MIN_MS;
  s->backoff_ms = CK_SESSION_BACKOFF_MIN_MS;
  s->next_id = CK_SESSION_ID_BASE;
  uv_timer_init(loop, &s->retry);
  uv_timer_init(loop, &s->watchdog);
  s->retry.data = s->watchdog.data = s;
  s->timers_open = 2;
  ck__ses_connect(s);
  *out = s;
  return CK_OK;
fail:
  if (s != NULL) {
    ck_tls_ctx_free(s->ctx);
    ck_arena_free(s->arena);
    free(s->server);
    free(s->agent_id);
    free(s);
  }
  return rc;
}

int ck_session_up(const ck_session *s) {
  return s != NULL && s->state == CK__SES_UP;
}

uint64_t ck_session_next_id(ck_session *s) { return s->next_id++; }

ck_err ck_session_send(ck_session *s, const ck_wire_msg *m, ck_errctx *err) {
  if (s == NULL || m == NULL)
    return ck_failf(err, CK_ERR_INVAL, "session: bad arguments");
  if (s->state != CK__SES_UP)
    return ck_failf(err, CK_ERR_CLOSED, "not connected to the coordinator");
  return ck__ses_send_msg(s, m, err);
}

void ck_session_kick(ck_session *s) {
  if (s != NULL)
    ck__ses_pump(s);
}

static void ck__ses_timer_closed(uv_handle_t *h) {
  ck_session *s = h->data;

  if (--s->timers_open > 0)
    return;
  if (s->conn == NULL && !s->attempt_live)
    ck__ses_free(s);
}

void ck_session_close(ck_session *s) {
  if (s == NULL || s->stopping)
    return;
  if (s->state == CK__SES_UP || s->state == CK__SES_HELLO) {
    ck_strlcpy(s->last_error, "the agent stopped", sizeof s->last_error);
    s->sid[0] = '\0';
  }
  ck__ses_link_write(s, "disconnected");
  s->stopping = 1;
  ck_tls_ctx_free(s->ctx); /* conns hold their own reference */
  s->ctx = NULL;
  uv_close((uv_handle_t *)&s->retry, ck__ses_timer_closed);
  uv_close((uv_handle_t *)&s->watchdog, ck__ses_timer_closed);
  if (s->conn != NULL && s->state != CK__SES_CLOSING) {
    s->state = CK__SES_CLOSING;
    ck_conn_close(s->conn, ck__ses_conn_closed);
  }
}
