/* command.c — the short exchanges answered on the loop: hello/welcome
 * (recording that the agent was seen), ping/pong keep-alive, and commands
 * pushed to an agent with the ack or error that answers them.
 *
 * The agent_seen write goes through the store's loop channel without
 * waiting: the welcome does not depend on it, and the gateway counts such
 * writes so it closes only after their callbacks ran. */
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "coordinator/gateway/gw_int.h"

static void on_seen_done(ck_store_write *w, ck_err rc, void *arg) {
  ck_gateway *gw = arg;

  if (rc != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "gateway.agent_seen.failed",
           CK_E(rc, ck_store_write_errmsg(w)));
  ck_store_write_free(w);
  gw->n_store--;
  ck__gw_maybe_done(gw);
}

/* Records the agent as seen: at most once a minute per session, so a
 * stream of hellos cannot turn into a stream of store writes. */
static void record_seen(gw_session *s, const ck_wire_hello *h) {
  ck_gateway *gw = s->gw;
  ck_errctx err = CK_ERRCTX_INIT;
  uint64_t now = ck_clock_mono_ms();
  ck_store_write *w;

  if (s->last_seen_ms != 0 && now - s->last_seen_ms < 60000)
    return;
  s->last_seen_ms = now;
  w = ck_store_write_new();

  if (w == NULL || gw->sl == NULL ||
      ck_store_write_agent_seen(w, s->agent.id, 0, h->platform, h->version,
                                &err) != CK_OK ||
      ck_store_submit_loop(gw->sl, w, on_seen_done, gw) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "gateway.agent_seen.failed",
           CK_S("agent", s->agent.id), CK_E(err.code, ck_errctx_msg(&err)));
    ck_store_write_free(w);
    return;
  }
  gw->n_store++;
}

/* Printable ASCII, 1..max bytes. */
static int printable(const char *v, size_t max) {
  size_t i;

  if (v == NULL || v[0] == '\0')
    return 0;
  for (i = 0; v[i] != '\0'; i++)
    if (i >= max || v[i] < 0x20 || v[i] > 0x7e)
      return 0;
  return 1;
}

void ck__gw_on_hello(gw_session *s, const ck_wire_msg *m) {
  const ck_wire_hello *h = &m->u.hello;
  const ck_gateway_opts *o = ck__gw_opts(s);
  ck_wire_msg r;
  char msg[256];

  if (s->state == GW_AGENT && h->agent_id != NULL &&
      strcmp(h->agent_id, s->agent.id) != 0) {
    ck_log(CK_LOG_SEC, CK_LOG_WARN, "gateway.hello.mismatch",
           CK_S("session", s->sid), CK_S("peer", s->peer),
           CK_S("agent", s->agent.id), CK_S("claimed", h->agent_id));
    snprintf(msg, sizeof msg,
             "hello.agent_id '%.64s' does not match the client certificate "
             "(agent %s)", h->agent_id, s->agent.id);
    ck__gw_send_error(s, m->id, CK_ERR_AUTH, 1, msg);
    return;
  }
  memset(&r, 0, sizeof r);
  r.type = CK_WIRE_WELCOME;
  r.id = m->id;
  r.u.welcome.session = s->sid;
  r.u.welcome.agent_id = s->state == GW_AGENT ? s->agent.id : NULL;
  r.u.welcome.server_time = ck_clock_now();
  r.u.welcome.ping_interval =
      o->ping_interval_ms >= 1000 ? o->ping_interval_ms / 1000 : 1;
  r.u.welcome.has_ping_interval = true;
  r.u.welcome.max_frame = (uint32_t)o->limits.max_frame;
  r.u.welcome.has_max_frame = true;
  if (ck__gw_send(s, &r) != CK_OK)
    return;
  if (s->state == GW_UNENROLLED) {
    /* the version the agent row gets if this session enrolls */
    free(s->agent.version);
    s->agent.version = printable(h->version, 64) ? strdup(h->version) : NULL;
  }
  if (s->state == GW_AGENT) {
    ck_log(CK_LOG_OPS, CK_LOG_DEBUG, "gateway.hello", CK_S("session", s->sid),
           CK_S("agent", s->agent.id), CK_S("version", h->version),
           CK_S("platform", h->platform));
    record_seen(s, h);
  }
}

void ck__gw_ping(gw_session *s) {
  ck_wire_msg m;

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_PING;
  m.id = s->next_id++;
  m.u.ping.time = ck_clock_now();
  (void)ck__gw_send(s, &m);
}

void ck__gw_on_answer(gw_session *s, const ck_wire_msg *m) {
  gw_cmd **pp, *c;
  ck_err status;
  const char *detail;

  for (pp = &s->cmds; *pp != NULL; pp = &(*pp)->next)
    if ((*pp)->id == m->id)
      break;
  if (m->type == CK_WIRE_ERROR) {
    status = m->u.error.code < 0 ? (ck_err)m->u.error.code : CK_ERR_INTERNAL;
    detail = m->u.error.message;
  } else {
    status = CK_OK;
    detail = m->u.ack.detail;
  }
  if (*pp == NULL) {
    /* An ack of a cert we sent, or an error about one of our frames. */
    if (m->type == CK_WIRE_ERROR)
      ck_log(CK_LOG_OPS, CK_LOG_INFO, "gateway.agent.error",
             CK_S("session", s->sid), CK_S("agent", s->agent.id),
             CK_I("id", m->id), CK_I("code", m->u.error.code),
             CK_S("msg", detail));
    return;
  }
  c = *pp;
  *pp = c->next;
  ck_log(CK_LOG_OPS, CK_LOG_INFO, "gateway.command.answer",
         CK_S("session", s->sid), CK_S("agent", s->agent.id), CK_I("id", c->id),
         CK_S("status", status == CK_OK ? "ack" : ck_err_name(status)));
  if (c->cb != NULL)
    c->cb(status, detail, c->arg);
  free(c);
}

void ck__gw_cmds_fail(gw_session *s) {
  gw_cmd *c;

  while ((c = s->cmds) != NULL) {
    s->cmds = c->next;
    if (c->cb != NULL)
      c->cb(CK_ERR_CLOSED, "the agent's session closed", c->arg);
    free(c);
  }
}
