/* cli_agent.c — `certkeeper agent list|show`: enrolled agents through
 * /api/v1/agents (read-only; docs/api.md "Agents"). */
#include <stdio.h>

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

static int run_show(ck_cli *cli) {
  static const char *const order[] = {
      "id",        "name",     "group",   "status", "enrolled_at",
      "last_seen", "platform", "version", NULL};
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
      ck_cli_out_object(ans.json, order, NULL);
    }
  }
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static const ck_cli_cmd agent_cmds[] = {
    {"list", "", "List enrolled agents", NULL, 0, 0, NULL, run_list},
    {"show", "ID", "Show one agent", NULL, 1, 1, NULL, run_show},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const ck_cli_group ck_cli_group_agent = {"agent", "Agents: list, show.",
                                         agent_cmds};
