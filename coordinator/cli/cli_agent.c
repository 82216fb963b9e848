/* cli_agent.c — `certkeeper agent list|show|command|renew|commands`:
 * enrolled agents through /api/v1/agents, and commands pushed to a
 * connected agent through /api/v1/agents/{id}/commands (docs/api.md
 * "Agents", "Agent commands"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/fs.h"

#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_api.h"
#include "coordinator/cli/cli_list.h"
#include "coordinator/cli/cli_out.h"

static const ck_cli_col agent_cols[] = {
    {"ID", "id", NULL},           {"NAME", "name", NULL},
    {"GROUP", "group", NULL},     {"STATUS", "status", NULL},
    {"LAST SEEN", "last_seen", NULL}, {"PLATFORM", "platform", NULL},
    {"VERSION", "version", NULL}, {NULL, NULL, NULL}};

static int run_list(ck_cli *cli) {
  ck_cli_path path = {0};
  int rc;

  ck_cli_path_lit(&path, "/agents");
  ck_cli_path_param(&path, "limit", "1000");
  rc = ck_cli_list_pages(cli, &path, agent_cols, 1);
  ck_cli_path_free(&path);
  return rc;
}

/* Prints an agent; the host facts (docs/api.md "Host facts") as
 * "host hostname:", "host hwkeys:" lines after the agent's own fields. */
static void show_agent(const json_t *agent) {
  static const char *const order[] = {
      "id",          "name",        "group",
      "status",      "enrolled_at", "last_seen",
      "platform",    "version",     "identity_fingerprint",
      "host_hwkeys", NULL};
  json_t *flat = json_deep_copy(agent);
  const json_t *host = json_object_get(agent, "host");
  const char *key;
  json_t *v;
  char name[96];

  if (flat == NULL)
    return;
  json_object_del(flat, "host");
  if (json_is_object(host)) {
    json_object_foreach((json_t *)host, key, v) {
      snprintf(name, sizeof name, "host_%s", key);
      json_object_set(flat, name, v);
    }
  } else {
    json_object_set_new(flat, "host_hwkeys", json_null());
  }
  ck_cli_out_object(flat, order, NULL);
  json_decref(flat);
}

static int run_show(ck_cli *cli) {
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  int rc;

  ck_cli_path_lit(&path, "/agents");
  ck_cli_path_seg(&path, ck_cli_pos(cli, 0));
  if ((rc = ck_cli_api_call(cli, "GET", &path, NULL, NULL, &ans)) ==
      CK_CLI_OK) {
    if (!json_is_object(ans.json)) {
      ck_cli_errorf(cli, "unexpected answer: not an agent object");
      rc = CK_CLI_SERVER;
    } else if (cli->json) {
      rc = ck_cli_out_json(ans.json);
    } else {
      show_agent(ans.json);
    }
  }
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

/* Largest --data-file accepted (the API's limit). */
#define DATA_MAX 262144

/* Builds {"args": {k: v, ...}} members from --arg K=V values into body.
 * Returns an exit code. */
static int add_args(ck_cli *cli, json_t *body, const char *const *kv,
                    size_t n) {
  json_t *args;
  const char *eq;
  char key[65];
  size_t i, klen;

  if (n == 0)
    return CK_CLI_OK;
  if ((args = json_object()) == NULL ||
      json_object_set_new(body, "args", args) != 0) {
    ck_cli_errorf(cli, "out of memory");
    return CK_CLI_LOCAL_IO;
  }
  for (i = 0; i < n; i++) {
    eq = strchr(kv[i], '=');
    klen = eq != NULL ? (size_t)(eq - kv[i]) : 0;
    if (klen == 0 || klen >= sizeof key) {
      ck_cli_errorf(cli, "--arg '%s': expected KEY=VALUE (KEY 1..64 chars)",
                    kv[i]);
      return CK_CLI_USAGE;
    }
    memcpy(key, kv[i], klen);
    key[klen] = '\0';
    if (json_object_get(args, key) != NULL) {
      ck_cli_errorf(cli, "--arg %s given twice", key);
      return CK_CLI_USAGE;
    }
    if (json_object_set_new(args, key, json_string(eq + 1)) != 0) {
      ck_cli_errorf(cli, "--arg %s: the value is not valid UTF-8", key);
      return CK_CLI_USAGE;
    }
  }
  return CK_CLI_OK;
}

/* Reads --data-file into body's "data" (text). Returns an exit code. */
static int add_data(ck_cli *cli, json_t *body, const char *path) {
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = CK_CLI_OK;

  if (path == NULL)
    return CK_CLI_OK;
  if (ck_fs_read_file(path, DATA_MAX, &data, &len, &err) != CK_OK) {
    ck_cli_errorf(cli, "cannot read %s: %s", path, ck_errctx_msg(&err));
    return CK_CLI_LOCAL_IO;
  }
  if (memchr(data, '\0', len) != NULL ||
      json_object_set_new(body, "data",
                          json_stringn((const char *)data, len)) != 0) {
    ck_cli_errorf(cli, "%s is not UTF-8 text", path);
    rc = CK_CLI_USAGE;
  }
  free(data);
  return rc;
}

/* POSTs a command and prints the outcome. Returns an exit code. */
static int send_command(ck_cli *cli, const char *agent, json_t *body) {
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  json_t *id;
  int rc;

  ck_cli_path_lit(&path, "/agents");
  ck_cli_path_seg(&path, agent);
  ck_cli_path_lit(&path, "/commands");
  if ((rc = ck_cli_api_call(cli, "POST", &path, body, NULL, &ans)) ==
      CK_CLI_OK) {
    id = json_object_get(ans.json, "command_id");
    if (!json_is_integer(id)) {
      ck_cli_errorf(cli, "unexpected answer: no command_id");
      rc = CK_CLI_SERVER;
    } else if (cli->json) {
      rc = ck_cli_out_json(ans.json);
    } else {
      printf("command %lld (%s) delivered to agent %s\n",
             (long long)json_integer_value(id),
             json_string_value(json_object_get(body, "action")), agent);
    }
  }
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static int run_command(ck_cli *cli) {
  const char *target = ck_cli_args_get(cli->args, "target");
  const char *const *kv;
  json_t *body;
  size_t n;
  int rc;

  kv = ck_cli_args_all(cli->args, "arg", &n);
  body = json_pack("{s:s}", "action", ck_cli_pos(cli, 1));
  if (body == NULL ||
      (target != NULL &&
       json_object_set_new(body, "target", json_string(target)) != 0)) {
    ck_cli_errorf(cli, "out of memory");
    json_decref(body);
    return CK_CLI_LOCAL_IO;
  }
  if ((rc = add_args(cli, body, kv, n)) == CK_CLI_OK &&
      (rc = add_data(cli, body, ck_cli_args_get(cli->args, "data-file"))) ==
          CK_CLI_OK)
    rc = send_command(cli, ck_cli_pos(cli, 0), body);
  json_decref(body);
  return rc;
}

static int run_renew(ck_cli *cli) {
  json_t *body = json_pack("{s:s,s:s}", "action", "renew", "target",
                           ck_cli_pos(cli, 1));
  int rc;

  if (body == NULL) {
    ck_cli_errorf(cli, "out of memory");
    return CK_CLI_LOCAL_IO;
  }
  rc = send_command(cli, ck_cli_pos(cli, 0), body);
  json_decref(body);
  return rc;
}

static const ck_cli_col command_cols[] = {
    {"ID", "command_id", NULL},   {"ACTION", "action", NULL},
    {"TARGET", "target", NULL},   {"STATUS", "status", NULL},
    {"SENT", "sent_at", NULL},    {"ANSWERED", "answered_at", NULL},
    {"BY", "requested_by", NULL}, {NULL, NULL, NULL}};

static int run_commands(ck_cli *cli) {
  const char *limit = ck_cli_args_get(cli->args, "limit");
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  ck_cli_table t;
  const json_t *items;
  int rc;

  if (!ck_cli_list_limit_ok(cli, limit))
    return CK_CLI_USAGE;
  ck_cli_path_lit(&path, "/agents");
  ck_cli_path_seg(&path, ck_cli_pos(cli, 0));
  ck_cli_path_lit(&path, "/commands");
  ck_cli_path_param(&path, "limit", limit);
  if ((rc = ck_cli_api_call(cli, "GET", &path, NULL, NULL, &ans)) ==
      CK_CLI_OK) {
    items = json_object_get(ans.json, "items");
    if (!json_is_array(items)) {
      ck_cli_errorf(cli, "unexpected answer: no items");
      rc = CK_CLI_SERVER;
    } else if (cli->json) {
      rc = ck_cli_out_json(ans.json);
    } else {
      ck_cli_table_init(&t, command_cols);
      ck_cli_table_page(&t, items);
    }
  }
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static const ck_cli_opt command_opts[] = {
    {"target", "T", 0, 0,
     "what the command applies to: a managed certificate id or a path"},
    {"arg", "KEY=VALUE", 1, 0, "an action argument"},
    {"data-file", "FILE", 0, 0,
     "payload sent with the command: a trust bundle, a config snippet"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_opt commands_opts[] = {
    {"limit", "N", 0, 0, "newest N commands (1..1000, default 50)"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_cmd agent_cmds[] = {
    {"list", "", "List enrolled agents", NULL, 0, 0, NULL, run_list},
    {"show", "ID", "Show one agent", NULL, 1, 1, NULL, run_show},
    {"command", "ID ACTION [--target T] [--arg K=V]... [--data-file F]",
     "Push a command to a connected agent",
     "ACTION is renew, rescan, trust-update, replace-before-revoke or "
     "config. The command is sent at once to the agent's open session; an "
     "agent that is not connected gives exit 7 and nothing is queued. "
     "The agent's answer shows in `agent commands ID`.",
     2, 2, command_opts, run_command},
    {"renew", "ID CERT_ID", "Ask a connected agent to renew a certificate now",
     "Shortcut for `agent command ID renew --target CERT_ID`.", 2, 2, NULL,
     run_renew},
    {"commands", "ID [--limit N]",
     "Commands sent to an agent and its answers, newest first", NULL, 1, 1,
     commands_opts, run_commands},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const ck_cli_group ck_cli_group_agent = {
    "agent", "Agents: list, show, command, renew, commands.", agent_cmds};
