/* cli_owner.c — `certkeeper owner list|set|delete`: owners (teams) and
 * their contacts through /api/v1/owners (docs/api.md "Owners"). */
#include <stdio.h>

#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_api.h"
#include "coordinator/cli/cli_list.h"
#include "coordinator/cli/cli_out.h"

static const ck_cli_col owner_cols[] = {{"NAME", "name", NULL},
                                        {"EMAIL", "email", NULL},
                                        {"WEBHOOK", "webhook", NULL},
                                        {"UPDATED", "updated_at", NULL},
                                        {NULL, NULL, NULL}};

static int run_list(ck_cli *cli) {
  ck_cli_path path = {0};
  int rc;

  ck_cli_path_lit(&path, "/owners");
  ck_cli_path_param(&path, "limit", "1000");
  rc = ck_cli_list_pages(cli, &path, owner_cols, 1);
  ck_cli_path_free(&path);
  return rc;
}

static int run_set(ck_cli *cli) {
  const char *name = ck_cli_pos(cli, 0);
  const char *email = ck_cli_args_get(cli->args, "email");
  const char *webhook = ck_cli_args_get(cli->args, "webhook");
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  json_t *body = json_object();
  char buf[256];
  int rc;

  if (body == NULL ||
      (email != NULL &&
       json_object_set_new(body, "email", json_string(email)) != 0) ||
      (webhook != NULL &&
       json_object_set_new(body, "webhook", json_string(webhook)) != 0)) {
    ck_cli_errorf(cli, "out of memory");
    rc = CK_CLI_LOCAL_IO;
    goto out;
  }
  ck_cli_path_lit(&path, "/owners");
  ck_cli_path_seg(&path, name);
  if ((rc = ck_cli_api_call(cli, "PUT", &path, body, NULL, &ans)) !=
      CK_CLI_OK)
    goto out;
  if (cli->json && ans.json != NULL)
    rc = ck_cli_out_json(ans.json);
  else if (!cli->json)
    printf("owner %s saved\n", ck_cli_clean(name, 0, buf, sizeof buf));
out:
  json_decref(body);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static int run_delete(ck_cli *cli) {
  const char *name = ck_cli_pos(cli, 0);
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  char buf[256];
  int rc;

  ck_cli_path_lit(&path, "/owners");
  ck_cli_path_seg(&path, name);
  if ((rc = ck_cli_api_call(cli, "DELETE", &path, NULL, NULL, &ans)) ==
      CK_CLI_OK) {
    if (cli->json && ans.json != NULL)
      rc = ck_cli_out_json(ans.json);
    else if (!cli->json)
      printf("owner %s deleted\n", ck_cli_clean(name, 0, buf, sizeof buf));
  }
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static const ck_cli_opt set_opts[] = {
    {"email", "ADDRESS", 0, 0, "where expiry notices go"},
    {"webhook", "URL", 0, 0, "URL notices are POSTed to"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_cmd owner_cmds[] = {
    {"list", "", "List owners and their contacts", NULL, 0, 0, NULL,
     run_list},
    {"set", "NAME [--email E] [--webhook URL]",
     "Create or update an owner (fields not given are cleared)", NULL, 1, 1,
     set_opts, run_set},
    {"delete", "NAME", "Remove an owner", NULL, 1, 1, NULL, run_delete},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const ck_cli_group ck_cli_group_owner = {
    "owner", "Owners (teams) and contacts: list, set, delete.", owner_cmds};
