/* rest_commands.c — /api/v1/agents/{id}/commands (docs/api.md "Agent
 * commands"): POST pushes a command (renew, rescan, trust-update,
 * replace-before-revoke, config) to the connected agent through the
 * gateway's thread-safe post queue and audits it; GET lists the commands
 * sent to the agent and the agent's answers, from the audit trail
 * (agent.command and agent.command.answer events).
 *
 * Runs on the thread pool: the POST blocks its worker only until the loop
 * has written the frame (ck_gateway_command_wait, bounded), never for the
 * agent's answer. */
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "common/util/mem.h"
#include "common/wire/wire.h"
#include "coordinator/gateway/gateway.h"
#include "coordinator/http/rest.h"

/* How long a POST waits for the loop to take the command. */
#define CMD_WAIT_MS 10000u
/* Longest target and args value accepted. */
#define CMD_TARGET_MAX 1024
#define CMD_VALUE_MAX 4096
/* Largest data payload (a trust bundle, a config snippet). */
#define CMD_DATA_MAX 262144
/* GET scans at most this many of the newest audit events. */
#define CMD_SCAN_MAX 20000
#define CMD_LIST_DEFAULT 50

static ck_wire_action action_parse(const char *s) {
  int a;

  for (a = CK_WIRE_ACT_RENEW; s != NULL && a <= CK_WIRE_ACT_CONFIG; a++)
    if (ck_wire_action_name((ck_wire_action)a) != NULL &&
        strcmp(s, ck_wire_action_name((ck_wire_action)a)) == 0)
      return (ck_wire_action)a;
  return CK_WIRE_ACT_UNKNOWN;
}

/* Printable text without control characters, at most max bytes. */
static int text_ok(const char *s, size_t max) {
  size_t i;

  for (i = 0; s[i] != '\0'; i++)
    if (i >= max || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return 0;
  return 1;
}

/* Fills cmd from the request body o (strings in the request arena). Returns
 * 0 with a 400 problem set on bad input. */
static int parse_command(rest_call *c, json_t *o, ck_wire_command *cmd) {
  ck_arena *a = ck_http_req_arena(c->req);
  const char *action, *target, *data, *key;
  json_t *args, *v;
  ck_wire_kv *kv;
  size_t n = 0;
  int bad = 0;

  memset(cmd, 0, sizeof *cmd);
  action = rest_str(c, o, "action", &bad);
  target = rest_str(c, o, "target", &bad);
  data = rest_str(c, o, "data", &bad);
  if (bad)
    return 0;
  json_object_foreach(o, key, v) {
    if (strcmp(key, "action") != 0 && strcmp(key, "target") != 0 &&
        strcmp(key, "args") != 0 && strcmp(key, "data") != 0) {
      rest_problemf(c, 400, "bad-request",
                    "unknown field '%.64s' (fields: action, target, args, data)",
                    key);
      return 0;
    }
  }
  if (action == NULL) {
    rest_problem(c, 400, "bad-request",
                 "field 'action' is required: renew, rescan, trust-update, "
                 "replace-before-revoke or config");
    return 0;
  }
  if ((cmd->action = action_parse(action)) == CK_WIRE_ACT_UNKNOWN) {
    rest_problemf(c, 400, "bad-request",
                  "unknown action '%.64s': use renew, rescan, trust-update, "
                  "replace-before-revoke or config",
                  action);
    return 0;
  }
  if (target != NULL && (target[0] == '\0' || !text_ok(target, CMD_TARGET_MAX))) {
    rest_problemf(c, 400, "bad-request",
                  "field 'target' must be 1..%d printable characters",
                  CMD_TARGET_MAX);
    return 0;
  }
  if ((cmd->action == CK_WIRE_ACT_RENEW ||
       cmd->action == CK_WIRE_ACT_REPLACE_BEFORE_REVOKE) &&
      target == NULL) {
    rest_problemf(c, 400, "bad-request",
                  "action '%s' needs a 'target' (the managed certificate id)",
                  action);
    return 0;
  }
  cmd->target = target;
  if (data != NULL) {
    if (strlen(data) > CMD_DATA_MAX) {
      rest_problemf(c, 400, "bad-request", "field 'data' exceeds %d bytes",
                    CMD_DATA_MAX);
      return 0;
    }
    cmd->data.data = (const uint8_t *)data;
    cmd->data.len = strlen(data);
  }
  args = json_object_get(o, "args");
  if (args == NULL || json_is_null(args))
    return 1;
  if (!json_is_object(args)) {
    rest_problem(c, 400, "bad-request",
                 "field 'args' must be an object of string values");
    return 0;
  }
  if (json_object_size(args) > CK_WIRE_MAX_ARGS) {
    rest_problemf(c, 400, "bad-request", "field 'args' has more than %u entries",
                  CK_WIRE_MAX_ARGS);
    return 0;
  }
  kv = ck_arena_alloc(a, (json_object_size(args) + 1) * sizeof *kv);
  if (kv == NULL) {
    rest_problem(c, 503, "unavailable", "out of memory");
    return 0;
  }
  json_object_foreach(args, key, v) {
    if (!json_is_string(v)) {
      rest_problemf(c, 400, "bad-request", "args.%.64s must be a string", key);
      return 0;
    }
    if (key[0] == '\0' || !text_ok(key, 64) ||
        !text_ok(json_string_value(v), CMD_VALUE_MAX)) {
      rest_problemf(c, 400, "bad-request",
                    "args.%.64s: keys are 1..64 and values at most %d "
                    "printable characters",
                    key, CMD_VALUE_MAX);
      return 0;
    }
    kv[n].key = key;
    kv[n].value = json_string_value(v);
    n++;
  }
  cmd->args.v = kv;
  cmd->args.n = n;
  return 1;
}

/* Checks the agent exists and may get commands; sets the problem if not. */
static int agent_usable(rest_call *c, const char *id) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_agent ag;
  ck_err rc;

  rc = ck_store_agent_get(c->rt->store, id, ck_http_req_arena(c->req), &ag, &err);
  if (rc == CK_ERR_NOT_FOUND || rc == CK_ERR_NOENT) {
    rest_problemf(c, 404, "not-found", "no agent '%.64s'", id);
    return 0;
  }
  if (rc != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return 0;
  }
  if (ag.status != CK_AGENT_ACTIVE) {
    rest_problemf(c, 409, "agent-not-active", "agent '%.64s' is %s", id,
                  ck_agent_status_name(ag.status));
    return 0;
  }
  return 1;
}

static void post_command(rest_call *c, const char *id, json_t *body) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_write *w = NULL;
  ck_wire_command cmd;
  json_t *d = NULL, *keys;
  uint64_t cid = 0;
  char sid[17] = "";
  size_t i;
  ck_err rc;

  if (!parse_command(c, body, &cmd) || !agent_usable(c, id))
    return;
  if (c->rt->gateway == NULL) {
    rest_problem(c, 503, "unavailable", "the agent gateway is not running");
    return;
  }
  rc = ck_gateway_command_wait(c->rt->gateway, id, &cmd, c->actor, CMD_WAIT_MS,
                               &cid, sid, &err);
  switch (rc) {
  case CK_OK:
    break;
  case CK_ERR_NOT_FOUND:
    rest_problemf(c, 409, "agent-not-connected",
                  "agent '%.64s' is not connected to the gateway; the command "
                  "was not sent (retry when it is online)",
                  id);
    return;
  case CK_ERR_BUSY:
  case CK_ERR_CLOSED:
  case CK_ERR_TIMEOUT:
    rest_problemf(c, 503, "unavailable", "command not sent: %s",
                  ck_errctx_msg(&err));
    return;
  default:
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  /* Delivered: audit it (the arg values stay out of the trail; keys only). */
  keys = json_array();
  for (i = 0; i < cmd.args.n; i++)
    json_array_append_new(keys, json_string(cmd.args.v[i].key));
  d = json_pack("{s:s,s:s?,s:I,s:s,s:o,s:I}", "action",
                ck_wire_action_name(cmd.action), "target", cmd.target,
                "command_id", (json_int_t)cid, "session", sid, "arg_keys", keys,
                "data_len", (json_int_t)cmd.data.len);
  w = ck_store_write_new();
  if (d == NULL || w == NULL)
    rc = ck_failf(&err, CK_ERR_NOMEM, "out of memory");
  else if ((rc = rest_audit(w, c, "agent.command", "agent", id, d, &err)) == CK_OK)
    rc = ck_store_submit_wait(c->rt->store, w, &err);
  json_decref(d);
  ck_store_write_free(w);
  if (rc != CK_OK) {
    ck_log(CK_LOG_SEC, CK_LOG_ERR, "agent.command.audit_failed",
           CK_S("actor", c->actor), CK_S("agent", id), CK_I("id", cid),
           CK_E(rc, ck_errctx_msg(&err)));
    rest_problemf(c, 500, "internal",
                  "command %llu was delivered to agent '%.64s' but could not "
                  "be audited; see the coordinator's log",
                  (unsigned long long)cid, id);
    return;
  }
  ck_log(CK_LOG_SEC, CK_LOG_NOTICE, "agent.command", CK_S("actor", c->actor),
         CK_S("agent", id), CK_S("action", ck_wire_action_name(cmd.action)),
         CK_S("target", cmd.target), CK_I("id", cid));
  rest_json(c, 202, json_pack("{s:s,s:I,s:s,s:s,s:s?,s:b}", "agent_id", id,
                              "command_id", (json_int_t)cid, "session", sid,
                              "action", ck_wire_action_name(cmd.action),
                              "target", cmd.target, "delivered", 1));
}

/* Copies member k of src into dst when present. */
static void copy_member(json_t *dst, const json_t *src, const char *k,
                        const char *as) {
  json_t *v = json_object_get(src, k);

  if (v != NULL)
    json_object_set(dst, as != NULL ? as : k, v);
}

/* Folds one audit event into the list (cmds, in audit order) and the index
 * by "session:command_id". */
static void fold_event(const ck_audit_event *ev, json_t *cmds, json_t *idx) {
  json_t *d = ev->details[0] != '\0' ? json_loads(ev->details, 0, NULL) : NULL;
  json_t *o, *sess, *cid;
  char key[64];
  int answer = strcmp(ev->action, "agent.command.answer") == 0;

  if (d == NULL)
    return;
  sess = json_object_get(d, "session");
  cid = json_object_get(d, "command_id");
  if (!json_is_string(sess) || !json_is_integer(cid))
    goto out;
  snprintf(key, sizeof key, "%.20s:%lld", json_string_value(sess),
           (long long)json_integer_value(cid));
  o = json_object_get(idx, key);
  if (o == NULL) {
    o = json_pack("{s:O,s:O,s:n,s:n,s:s,s:n,s:n}", "command_id", cid, "session",
                  sess, "requested_by", "sent_at", "status", "sent",
                  "answered_at", "detail");
    if (o == NULL)
      goto out;
    json_array_append_new(cmds, o);
    json_object_set(idx, key, o);
  }
  copy_member(o, d, "action", NULL);
  copy_member(o, d, "target", NULL);
  if (answer) {
    copy_member(o, d, "status", NULL);
    copy_member(o, d, "detail", NULL);
    copy_member(o, d, "requested_by", NULL);
    json_object_set_new(o, "answered_at", rest_time(ev->time));
  } else {
    json_object_set_new(o, "requested_by", json_string(ev->actor));
    json_object_set_new(o, "sent_at", rest_time(ev->time));
  }
out:
  json_decref(d);
}

static void list_commands(rest_call *c, const char *id) {
  ck_errctx err = CK_ERRCTX_INIT;
  const char *l = rest_query(c, "limit");
  uint8_t head_hash[CK_SHA256_LEN];
  json_t *cmds = NULL, *idx = NULL, *items;
  ck_audit_event *evs;
  ck_store_page pg;
  ck_arena *a = NULL;
  int64_t head = 0, after;
  long limit = CMD_LIST_DEFAULT;
  size_t n, i, total;
  char *end;
  ck_err rc;

  if (l != NULL) {
    limit = strtol(l, &end, 10);
    if (*l == '\0' || *end != '\0' || limit < 1 || limit > 1000) {
      rest_problem(c, 400, "bad-request", "limit must be 1..1000");
      return;
    }
  }
  {
    ck_store_agent ag;
    rc = ck_store_agent_get(c->rt->store, id, ck_http_req_arena(c->req), &ag,
                            &err);
    if (rc != CK_OK) {
      if (rc == CK_ERR_NOT_FOUND || rc == CK_ERR_NOENT)
        rest_problemf(c, 404, "not-found", "no agent '%.64s'", id);
      else
        rest_problem_err(c, rc, ck_errctx_msg(&err));
      return;
    }
  }
  if ((rc = ck_store_audit_head(c->rt->store, &head, head_hash, &err)) != CK_OK) {
    rest_problem_err(c, rc, ck_errctx_msg(&err));
    return;
  }
  after = head > CMD_SCAN_MAX ? head - CMD_SCAN_MAX : 0;
  cmds = json_array();
  idx = json_object();
  if (cmds == NULL || idx == NULL)
    goto oom;
  while (after < head) {
    if ((a = ck_arena_new(65536)) == NULL)
      goto oom;
    memset(&pg, 0, sizeof pg);
    pg.limit = CK_STORE_PAGE_MAX;
    rc = ck_store_audit_list(c->rt->store, after, &pg, a, &evs, &n, &err);
    if (rc != CK_OK) {
      rest_problem_err(c, rc, ck_errctx_msg(&err));
      goto out;
    }
    for (i = 0; i < n; i++)
      if (strcmp(evs[i].object_type, "agent") == 0 &&
          strcmp(evs[i].object_id, id) == 0 &&
          (strcmp(evs[i].action, "agent.command") == 0 ||
           strcmp(evs[i].action, "agent.command.answer") == 0))
        fold_event(&evs[i], cmds, idx);
    if (n == 0)
      break;
    after = evs[n - 1].seq;
    ck_arena_free(a);
    a = NULL;
  }
  /* newest first, at most limit */
  items = json_array();
  total = json_array_size(cmds);
  for (i = 0; items != NULL && i < total && i < (size_t)limit; i++)
    json_array_append(items, json_array_get(cmds, total - 1 - i));
  rest_json(c, 200, json_pack("{s:s,s:o}", "agent_id", id, "items",
                              items != NULL ? items : json_array()));
  goto out;
oom:
  rest_problem(c, 503, "unavailable", "out of memory");
out:
  ck_arena_free(a);
  json_decref(cmds);
  json_decref(idx);
}

void ck__rest_agent_commands(rest_call *c, char **segs, int nsegs) {
  const char *m = ck_http_req_method_name(c->req);
  json_t *body;

  if (nsegs != 3) {
    rest_problem(c, 404, "not-found", "use /api/v1/agents/{id}/commands");
    return;
  }
  if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
    if (!rest_allow(c, CK_R_OPS | CK_R(CK_API_AUDITOR)))
      return;
    list_commands(c, segs[1]);
    return;
  }
  if (strcmp(m, "POST") != 0) {
    rest_problem(c, 405, "bad-request", "use GET or POST on agent commands");
    return;
  }
  if (!rest_allow(c, CK_R_OPS))
    return;
  if ((body = rest_body_object(c)) == NULL)
    return;
  post_command(c, segs[1], body);
  json_decref(body);
}
