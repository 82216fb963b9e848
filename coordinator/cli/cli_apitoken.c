/* cli_apitoken.c — `certkeeper api-token create`: bearer tokens for the
 * REST API itself, through /api/v1/api-tokens (admin only).
 *
 * The token is printed alone on stdout, shown this once: store it in a file
 * with mode 0600 and point --token-file (or token_file) at it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/util/clock.h"
#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_api.h"
#include "coordinator/cli/cli_out.h"

static const char *const roles[] = {"admin", "operator", "approver",
                                    "auditor", "owner", NULL};

static int run_create(ck_cli *cli) {
  const char *name = ck_cli_args_get(cli->args, "name");
  const char *role = ck_cli_args_get(cli->args, "role");
  const char *owner = ck_cli_args_get(cli->args, "owner");
  const char *ttl = ck_cli_args_get(cli->args, "ttl");
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  json_t *body = NULL;
  int64_t secs;
  size_t i;
  int rc;

  for (i = 0; roles[i] != NULL && strcmp(roles[i], role) != 0; i++)
    ;
  if (roles[i] == NULL) {
    ck_cli_errorf(cli, "--role '%s': one of admin, operator, approver, "
                       "auditor, owner",
                  role);
    return CK_CLI_USAGE;
  }
  if (strcmp(role, "owner") == 0 && owner == NULL) {
    ck_cli_errorf(cli, "--role owner needs --owner NAME");
    return CK_CLI_USAGE;
  }
  if (ttl != NULL && ck_duration_parse(ttl, &secs) != CK_OK) {
    ck_cli_errorf(cli, "--ttl '%s': not a duration (e.g. 90d)", ttl);
    return CK_CLI_USAGE;
  }
  body = json_pack("{s:s, s:s}", "name", name, "role", role);
  if (body == NULL ||
      (owner != NULL &&
       json_object_set_new(body, "owner", json_string(owner)) != 0) ||
      (ttl != NULL && json_object_set_new(body, "ttl", json_string(ttl)) != 0)) {
    ck_cli_errorf(cli, "out of memory");
    rc = CK_CLI_LOCAL_IO;
    goto out;
  }
  ck_cli_path_lit(&path, "/api-tokens");
  if ((rc = ck_cli_api_call(cli, "POST", &path, body, NULL, &ans)) ==
      CK_CLI_OK)
    rc = ck_cli_api_print_secret(cli, ans.json);
out:
  json_decref(body);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static const ck_cli_opt create_opts[] = {
    {"name", "NAME", 0, 1, "a name for the token (e.g. ci)"},
    {"role", "ROLE", 0, 1, "admin, operator, approver, auditor or owner"},
    {"owner", "NAME", 0, 0, "the owner an owner-role token acts for"},
    {"ttl", "DURATION", 0, 0, "lifetime (e.g. 90d); default: the server's"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_cmd apitoken_cmds[] = {
    {"create", "--name NAME --role ROLE [--owner O] [--ttl T]",
     "Create an API token (printed once)",
     "Prints the token alone on stdout, e.g.\n  umask 077; certkeeper "
     "api-token create --name ci --role operator > ci.token",
     0, 0, create_opts, run_create},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const ck_cli_group ck_cli_group_apitoken = {
    "api-token", "REST API bearer tokens: create.", apitoken_cmds};
