/* post.c — commands posted from other threads: a bounded queue under a
 * mutex and a uv_async_t that wakes the loop, which sends each command with
 * ck_gateway_send_command and reports the outcome; the agent's answer is
 * recorded as an audit event through the store's loop channel.
 *
 * Ownership: a gw_post (one malloc'ed block plus an arena for the command
 * copy) belongs to the queue until the loop takes it, then to the loop:
 * freed after a failed send, or after the agent's answer (or the session's
 * end) once the audit write is submitted. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/gateway/gw_int.h"

/* Bytes of the agent's answer text kept in the audit record. */
#define POST_DETAIL_MAX 1024

typedef struct gw_post {
  struct gw_post *next;
  ck_gateway *gw;
  ck_arena *arena;   /* owns every string below and cmd's memory */
  const char *agent_id;
  const char *actor; /* who asked ("token:ops"), "" unknown */
  ck_wire_command cmd;
  ck_gateway_post_cb cb;
  void *arg;
  uint64_t id;       /* frame id once sent */
  char sid[17];      /* session it was sent on */
} gw_post;

static void post_free(gw_post *p) {
  if (p != NULL)
    ck_arena_free(p->arena);
}

/* Copies cmd into a new post (everything in one arena). NULL on OOM. */
static gw_post *post_new(const char *agent_id, const ck_wire_command *cmd,
                         const char *actor) {
  ck_arena *a = ck_arena_new(1024);
  gw_post *p = a != NULL ? ck_arena_alloc(a, sizeof *p) : NULL;
  ck_wire_kv *kv = NULL;
  uint8_t *data = NULL;
  size_t i;

  if (p == NULL)
    goto fail;
  memset(p, 0, sizeof *p);
  p->arena = a;
  p->agent_id = ck_arena_strdup(a, agent_id);
  p->actor = ck_arena_strdup(a, actor != NULL ? actor : "");
  p->cmd.action = cmd->action;
  if (p->agent_id == NULL || p->actor == NULL)
    goto fail;
  if (cmd->target != NULL &&
      (p->cmd.target = ck_arena_strdup(a, cmd->target)) == NULL)
    goto fail;
  if (cmd->args.n > 0) {
    if (cmd->args.n > CK_WIRE_MAX_ARGS ||
        (kv = ck_arena_alloc(a, cmd->args.n * sizeof *kv)) == NULL)
      goto fail;
    for (i = 0; i < cmd->args.n; i++) {
      kv[i].key = ck_arena_strdup(a, cmd->args.v[i].key);
      kv[i].value = ck_arena_strdup(a, cmd->args.v[i].value);
      if (kv[i].key == NULL || kv[i].value == NULL)
        goto fail;
    }
    p->cmd.args.v = kv;
    p->cmd.args.n = cmd->args.n;
  }
  if (cmd->data.data != NULL) {
    if ((data = ck_arena_alloc(a, cmd->data.len + 1)) == NULL)
      goto fail;
    memcpy(data, cmd->data.data, cmd->data.len);
    p->cmd.data.data = data;
    p->cmd.data.len = cmd->data.len;
  }
  return p;
fail:
  ck_arena_free(a);
  return NULL;
}

static void on_audit_done(ck_store_write *w, ck_err rc, void *arg) {
  ck_gateway *gw = arg;

  if (rc != CK_OK)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "gateway.command.audit_failed",
           CK_E(rc, ck_store_write_errmsg(w)));
  ck_store_write_free(w);
  gw->n_store--;
  ck__gw_maybe_done(gw);
}

/* A JSON string of at most POST_DETAIL_MAX bytes of s (NULL: null; text
 * that is not UTF-8 is replaced). */
static json_t *detail_json(const char *s) {
  json_t *v;
  size_t n, k;

  if (s == NULL)
    return json_null();
  n = strnlen(s, POST_DETAIL_MAX);
  v = json_stringn(s, n);
  /* at the limit, a multi-byte character may have been cut: back off */
  for (k = 1; v == NULL && n == POST_DETAIL_MAX && k <= 3; k++)
    v = json_stringn(s, n - k);
  return v != NULL ? v : json_string("(answer text is not UTF-8)");
}

/* Loop: the agent answered p's command (or its session ended). Records the
 * answer in the audit trail and frees p. */
static void on_answer(ck_err status, const char *detail, void *arg) {
  gw_post *p = arg;
  ck_gateway *gw = p->gw;
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = NULL;
  ck_audit_event ev;
  char actor[64], *d = NULL;
  json_t *o;

  o = json_pack("{s:s,s:I,s:s,s:s?,s:s,s:o}", "session", p->sid, "command_id",
                (json_int_t)p->id, "action", ck_wire_action_name(p->cmd.action),
                "target", p->cmd.target, "status",
                status == CK_OK ? "ack"
                : status == CK_ERR_CLOSED ? "closed"
                                          : ck_err_name(status),
                "detail", detail_json(detail));
  if (o != NULL && p->actor[0] != '\0')
    json_object_set_new(o, "requested_by", json_string(p->actor));
  d = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(o);
  snprintf(actor, sizeof actor, "agent:%s", p->agent_id);
  memset(&ev, 0, sizeof ev);
  ev.actor = actor;
  ev.action = "agent.command.answer";
  ev.object_type = "agent";
  ev.object_id = p->agent_id;
  ev.details = d != NULL ? d : "";
  w = ck_store_write_new();
  if (d == NULL || w == NULL || gw->sl == NULL ||
      ck_store_write_audit(w, &ev, &err) != CK_OK ||
      ck_store_submit_loop(gw->sl, w, on_audit_done, gw) != CK_OK) {
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "gateway.command.audit_failed",
           CK_S("agent", p->agent_id), CK_I("id", p->id),
           CK_E(err.code, ck_errctx_msg(&err)));
    ck_store_write_free(w);
  } else {
    gw->n_store++;
  }
  free(d);
  post_free(p);
}

/* Loop: sends one taken post and reports the outcome. */
static void post_send(ck_gateway *gw, gw_post *p) {
  ck_errctx err = CK_ERRCTX_INIT;
  gw_session *s;
  ck_err rc;

  p->gw = gw;
  rc = ck_gateway_send_command(gw, p->agent_id, &p->cmd, on_answer, p, &p->id,
                               &err);
  if (rc != CK_OK) {
    if (p->cb != NULL)
      p->cb(rc, 0, "", ck_errctx_msg(&err), p->arg);
    post_free(p);
    return;
  }
  s = ck__gw_find_agent(gw, p->agent_id); /* the session it went to */
  if (s != NULL)
    memcpy(p->sid, s->sid, sizeof p->sid);
  ck_log(CK_LOG_SEC, CK_LOG_NOTICE, "gateway.command.posted",
         CK_S("agent", p->agent_id), CK_S("actor", p->actor),
         CK_S("action", ck_wire_action_name(p->cmd.action)), CK_I("id", p->id));
  /* p stays alive for on_answer, which the send guarantees runs once. */
  if (p->cb != NULL)
    p->cb(CK_OK, p->id, p->sid, "delivered", p->arg);
}

/* Takes the whole queue under the lock. */
static gw_post *post_take(ck_gateway *gw) {
  gw_post *list;

  uv_mutex_lock(&gw->post_mu);
  list = gw->post_head;
  gw->post_head = NULL;
  gw->post_tail = &gw->post_head;
  gw->n_posted = 0;
  uv_mutex_unlock(&gw->post_mu);
  return list;
}

static void on_post_async(uv_async_t *h) {
  ck_gateway *gw = h->data;
  gw_post *p, *next;

  for (p = post_take(gw); p != NULL; p = next) {
    next = p->next;
    p->next = NULL;
    post_send(gw, p);
  }
}

ck_err ck__gw_post_init(ck_gateway *gw, ck_errctx *err) {
  gw->post_head = NULL;
  gw->post_tail = &gw->post_head;
  if (uv_async_init(gw->rt->loop, &gw->post_async, on_post_async) != 0) {
    gw->post_closed = 1;
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "gateway.post.init_failed");
    return ck_failf(err, CK_ERR_INTERNAL, "gateway: uv_async_init failed");
  }
  gw->post_async.data = gw;
  uv_unref((uv_handle_t *)&gw->post_async); /* never keeps the loop alive */
  gw->post_open = 1;
  return CK_OK;
}

static void on_post_closed(uv_handle_t *h) {
  ck_gateway *gw = h->data;

  gw->post_open = 0;
  ck__gw_maybe_done(gw);
}

void ck__gw_post_close(ck_gateway *gw) {
  gw_post *p, *next;

  uv_mutex_lock(&gw->post_mu);
  gw->post_closed = 1;
  uv_mutex_unlock(&gw->post_mu);
  for (p = post_take(gw); p != NULL; p = next) {
    next = p->next;
    if (p->cb != NULL)
      p->cb(CK_ERR_CLOSED, 0, "", "the gateway is shutting down", p->arg);
    post_free(p);
  }
  if (gw->post_open)
    uv_close((uv_handle_t *)&gw->post_async, on_post_closed);
}

void ck__gw_post_free(ck_gateway *gw) {
  gw_post *p, *next;

  if (gw->post_tail == NULL)
    return; /* never initialised */
  for (p = post_take(gw); p != NULL; p = next) {
    next = p->next;
    post_free(p);
  }
}

ck_err ck_gateway_post_command(ck_gateway *gw, const char *agent_id,
                               const ck_wire_command *cmd, const char *actor,
                               ck_gateway_post_cb cb, void *arg,
                               ck_errctx *err) {
  gw_post *p;
  ck_err rc = CK_OK;

  if (gw == NULL || agent_id == NULL || agent_id[0] == '\0' || cmd == NULL ||
      ck_wire_action_name(cmd->action) == NULL ||
      cmd->action == CK_WIRE_ACT_UNKNOWN)
    return ck_failf(err, CK_ERR_INVAL, "command: needs an agent and a known "
                                       "action");
  if ((p = post_new(agent_id, cmd, actor)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "command: out of memory");
  p->cb = cb;
  p->arg = arg;
  uv_mutex_lock(&gw->post_mu);
  if (gw->post_closed) {
    rc = CK_ERR_CLOSED;
  } else if (gw->n_posted >= CK_GATEWAY_POST_MAX) {
    rc = CK_ERR_BUSY;
  } else {
    *gw->post_tail = p;
    gw->post_tail = &p->next;
    gw->n_posted++;
    (void)uv_async_send(&gw->post_async);
  }
  uv_mutex_unlock(&gw->post_mu);
  if (rc != CK_OK) {
    post_free(p);
    return rc == CK_ERR_CLOSED
               ? ck_failf(err, rc, "the gateway is shutting down")
               : ck_failf(err, rc, "too many commands queued (%d); retry",
                          CK_GATEWAY_POST_MAX);
  }
  return CK_OK;
}

/* ---- the blocking form -------------------------------------------------- */

/* Shared by the waiting thread and the loop; the last to let go frees it. */
typedef struct post_wait {
  uv_mutex_t mu;
  uv_cond_t cv;
  int refs;
  int done;
  ck_err status;
  uint64_t id;
  char sid[17];
  char msg[256];
} post_wait;

/* Drops one reference (the lock is held); frees at zero. */
static void wait_unref_locked(post_wait *pw) {
  if (--pw->refs > 0) {
    uv_mutex_unlock(&pw->mu);
    return;
  }
  uv_mutex_unlock(&pw->mu);
  uv_cond_destroy(&pw->cv);
  uv_mutex_destroy(&pw->mu);
  free(pw);
}

static void on_wait_done(ck_err status, uint64_t id, const char *session,
                         const char *msg, void *arg) {
  post_wait *pw = arg;

  uv_mutex_lock(&pw->mu);
  pw->status = status;
  pw->id = id;
  ck_strlcpy(pw->sid, session != NULL ? session : "", sizeof pw->sid);
  ck_strlcpy(pw->msg, msg != NULL ? msg : "", sizeof pw->msg);
  pw->done = 1;
  uv_cond_signal(&pw->cv);
  wait_unref_locked(pw);
}

ck_err ck_gateway_command_wait(ck_gateway *gw, const char *agent_id,
                               const ck_wire_command *cmd, const char *actor,
                               unsigned timeout_ms, uint64_t *id,
                               char session[17], ck_errctx *err) {
  post_wait *pw = calloc(1, sizeof *pw);
  uint64_t deadline, now;
  ck_err rc;

  if (pw == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "command: out of memory");
  if (uv_mutex_init(&pw->mu) != 0) {
    free(pw);
    return ck_failf(err, CK_ERR_NOMEM, "command: mutex");
  }
  if (uv_cond_init(&pw->cv) != 0) {
    uv_mutex_destroy(&pw->mu);
    free(pw);
    return ck_failf(err, CK_ERR_NOMEM, "command: condition variable");
  }
  pw->refs = 2;
  rc = ck_gateway_post_command(gw, agent_id, cmd, actor, on_wait_done, pw, err);
  uv_mutex_lock(&pw->mu);
  if (rc != CK_OK) {
    pw->refs = 1; /* the callback will never run */
    wait_unref_locked(pw);
    return rc;
  }
  deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
  while (!pw->done && (now = uv_hrtime()) < deadline)
    (void)uv_cond_timedwait(&pw->cv, &pw->mu, deadline - now);
  if (!pw->done) {
    wait_unref_locked(pw);
    return ck_failf(err, CK_ERR_TIMEOUT,
                    "the gateway did not take the command within %u ms",
                    timeout_ms);
  }
  rc = pw->status;
  if (rc == CK_OK) {
    if (id != NULL)
      *id = pw->id;
    if (session != NULL)
      memcpy(session, pw->sid, sizeof pw->sid);
  } else {
    (void)ck_failf(err, rc, "%s", pw->msg);
  }
  wait_unref_locked(pw);
  return rc;
}
