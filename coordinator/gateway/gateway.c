/* gateway.c — the agent gateway's listener: accepts TCP connections, wraps
 * them in TLS, enforces the session limit, keeps the list of open sessions
 * (commands are pushed through it) and drains everything on close.
 *
 * The gateway is done closing when the listener is closed, no handshake is
 * pending, every session has been freed (their in-flight work finished) and
 * every store write it submitted from the loop has completed; only then is
 * the store completion channel closed and the caller's callback run. */
#include "coordinator/gateway/gateway.h"

#include <stdlib.h>
#include <string.h>

#include "common/net/tls.h"
#include "common/util/log.h"
#include "coordinator/gateway/gw_int.h"

#define DEF_MAX_SESSIONS 10000u
#define DEF_IDLE_MS 180000u
#define DEF_PING_MS 60000u
#define DEF_INFLIGHT 32u
#define DEF_IDENTITY_VALIDITY (90LL * 86400)

static void on_handshake(ck_conn *c, ck_err status, const ck_errctx *err,
                         void *arg) {
  ck_gateway *gw = arg;

  gw->n_handshaking--;
  if (status != CK_OK) {
    /* tls.c already logged certificate failures to the security stream. */
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "gateway.handshake.failed",
           CK_E(status, err != NULL ? ck_errctx_msg(err) : ""));
    ck__gw_maybe_done(gw);
    return;
  }
  if (gw->closing) {
    ck_conn_close(c, NULL);
    ck__gw_maybe_done(gw);
    return;
  }
  ck__gw_session_start(gw, c);
}

static void on_accept(ck_listener *l, ck_conn *c) {
  ck_gateway *gw = ck_listener_data(l);
  ck_errctx err = CK_ERRCTX_INIT;

  if (gw->closing) {
    ck_conn_close(c, NULL);
    return;
  }
  if (gw->n_alive + gw->n_handshaking >= gw->opts.max_sessions) {
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "gateway.session.limit",
           CK_S("peer", c->peer), CK_I("max", gw->opts.max_sessions));
    ck_conn_close(c, NULL);
    return;
  }
  if (ck_tls_conn_wrap(c, gw->tls, CK_TLS_SERVER, on_handshake, gw, &err) !=
      CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "gateway.accept.failed",
           CK_S("peer", c->peer), CK_E(err.code, ck_errctx_msg(&err)));
    ck_conn_close(c, NULL);
    return;
  }
  gw->n_handshaking++;
}

static void apply_defaults(ck_gateway_opts *o) {
  ck_wire_limits def = ck_wire_limits_default();

  if (o->max_sessions == 0)
    o->max_sessions = DEF_MAX_SESSIONS;
  if (o->idle_timeout_ms == 0)
    o->idle_timeout_ms = DEF_IDLE_MS;
  if (o->ping_interval_ms == 0)
    o->ping_interval_ms = DEF_PING_MS;
  if (o->max_inflight == 0)
    o->max_inflight = DEF_INFLIGHT;
  if (o->identity_validity <= 0)
    o->identity_validity = DEF_IDENTITY_VALIDITY;
  if (o->limits.max_frame == 0)
    o->limits.max_frame = def.max_frame;
  if (o->limits.max_depth == 0)
    o->limits.max_depth = def.max_depth;
  if (o->limits.max_str == 0)
    o->limits.max_str = def.max_str;
  if (o->limits.max_entries == 0)
    o->limits.max_entries = def.max_entries;
  if (o->limits.max_objects == 0)
    o->limits.max_objects = def.max_objects;
}

ck_err ck_gateway_start_opts(ck_coord_rt *rt, ck_tls_ctx *tls,
                             const char *addr, const ck_gateway_opts *opts,
                             ck_gateway **out, ck_errctx *err) {
  ck_gateway *gw = NULL;
  ck_err rc;

  *out = NULL;
  if (rt == NULL || tls == NULL || addr == NULL ||
      ck_tls_ctx_role(tls) != CK_TLS_SERVER)
    return ck_failf(err, CK_ERR_INVAL, "gateway: needs a runtime, a TLS server "
                                       "context and an address");
  gw = calloc(1, sizeof *gw);
  if (gw == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "gateway: out of memory");
  gw->rt = rt;
  if (opts != NULL)
    gw->opts = *opts;
  apply_defaults(&gw->opts);
  if (uv_mutex_init(&gw->post_mu) != 0) {
    free(gw);
    return ck_failf(err, CK_ERR_NOMEM, "gateway: mutex");
  }
  if ((rc = ck_store_loop_open(rt->store, rt->loop, &gw->sl, err)) != CK_OK)
    goto fail;
  rc = ck_listener_start(rt->loop, addr, on_accept, gw, &gw->lst, err);
  if (rc != CK_OK) {
    (void)ck_store_loop_close(gw->sl);
    goto fail;
  }
  gw->port = ck_listener_port(gw->lst);
  (void)ck__gw_post_init(gw, NULL); /* on failure posting answers CLOSED */
  gw->tls = ck_tls_ctx_ref(tls);
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "gateway.listen", CK_S("addr", addr),
         CK_I("port", gw->port));
  *out = gw;
  return CK_OK;
fail:
  uv_mutex_destroy(&gw->post_mu);
  free(gw);
  return ck_failf(err, rc, "gateway %s", addr);
}

ck_err ck_gateway_start(ck_coord_rt *rt, ck_tls_ctx *tls, const char *addr,
                        ck_gateway **out, ck_errctx *err) {
  return ck_gateway_start_opts(rt, tls, addr, NULL, out, err);
}

int ck_gateway_port(const ck_gateway *gw) { return gw->port; }

unsigned ck_gateway_sessions(const ck_gateway *gw) { return gw->n_alive; }

gw_session *ck__gw_find_agent(ck_gateway *gw, const char *agent_id) {
  gw_session *s;

  /* Newest first (sessions are pushed at the head); linear, but a push is
   * rare next to the frames of thousands of sessions. */
  for (s = gw->sessions; s != NULL; s = s->next)
    if (s->state == GW_AGENT && !s->closing && !s->draining &&
        strcmp(s->agent.id, agent_id) == 0)
      return s;
  return NULL;
}

void ck__gw_maybe_done(ck_gateway *gw) {
  void (*cb)(void *);

  if (!gw->closing || gw->done || !gw->listener_closed || gw->n_alive > 0 ||
      gw->n_handshaking > 0 || gw->n_store > 0 || gw->post_open)
    return;
  gw->done = 1;
  if (gw->sl != NULL) {
    /* No write of ours is pending, so this cannot be CK_ERR_BUSY. */
    (void)ck_store_loop_close(gw->sl);
    gw->sl = NULL;
  }
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "gateway.closed");
  cb = gw->close_cb;
  if (cb != NULL)
    cb(gw->close_arg);
}

static void on_listener_closed(void *data) {
  ck_gateway *gw = data;

  gw->listener_closed = 1;
  ck__gw_maybe_done(gw);
}

void ck_gateway_close(ck_gateway *gw, void (*cb)(void *arg), void *arg) {
  gw_session *s, *next;

  if (gw == NULL || gw->closing)
    return;
  gw->closing = 1;
  gw->close_cb = cb;
  gw->close_arg = arg;
  for (s = gw->sessions; s != NULL; s = next) {
    next = s->next; /* draining may unlink s */
    ck__gw_session_drain(s);
  }
  ck__gw_post_close(gw);
  ck_listener_close(gw->lst, on_listener_closed);
  gw->lst = NULL;
}

void ck_gateway_free(ck_gateway *gw) {
  if (gw == NULL)
    return;
  ck__gw_post_free(gw);
  uv_mutex_destroy(&gw->post_mu);
  ck_tls_ctx_free(gw->tls);
  free(gw);
}

ck_err ck_gateway_send_command(ck_gateway *gw, const char *agent_id,
                               const ck_wire_command *cmd,
                               ck_gateway_cmd_cb cb, void *arg, uint64_t *id,
                               ck_errctx *err) {
  ck_wire_msg m;
  gw_session *s;
  gw_cmd *pc = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_err rc;

  if (gw->closing)
    return ck_failf(err, CK_ERR_CLOSED, "gateway is closing");
  if (cmd == NULL || agent_id == NULL || cmd->action == CK_WIRE_ACT_UNKNOWN ||
      ck_wire_action_name(cmd->action) == NULL)
    return ck_failf(err, CK_ERR_INVAL, "command: unknown action");
  s = ck__gw_find_agent(gw, agent_id);
  if (s == NULL)
    return ck_failf(err, CK_ERR_NOT_FOUND, "agent %s is not connected",
                    agent_id);
  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_COMMAND;
  m.id = s->next_id;
  m.u.command = *cmd;
  rc = ck_wire_encode(&m, &gw->opts.limits, &buf, &len, err);
  if (rc != CK_OK)
    return ck_failf(err, CK_ERR_INVAL, "command for agent %s", agent_id);
  pc = calloc(1, sizeof *pc);
  if (pc == NULL) {
    free(buf);
    return ck_failf(err, CK_ERR_NOMEM, "command: out of memory");
  }
  rc = ck__gw_send_raw(s, buf, len);
  free(buf);
  if (rc != CK_OK) {
    free(pc);
    return ck_failf(err, rc, "agent %s: session closing", agent_id);
  }
  pc->id = s->next_id++;
  pc->cb = cb;
  pc->arg = arg;
  pc->next = s->cmds;
  s->cmds = pc;
  if (id != NULL)
    *id = pc->id;
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "gateway.command.sent",
         CK_S("agent", agent_id), CK_S("action", ck_wire_action_name(cmd->action)),
         CK_I("id", pc->id), CK_S("session", s->sid));
  return CK_OK;
}
