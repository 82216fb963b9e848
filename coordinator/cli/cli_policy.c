/* cli_policy.c — `certkeeper policy explain --profile P --csr FILE`: what
 * would happen to a request (automatic, admin-mediated or refused, and
 * why) through POST /api/v1/policy/explain, without issuing anything. */
#include <stdio.h>

#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_api.h"
#include "coordinator/cli/cli_out.h"

static int run_explain(ck_cli *cli) {
  const char *profile = ck_cli_args_get(cli->args, "profile");
  const char *ident = ck_cli_args_get(cli->args, "identity");
  const char *validity = ck_cli_args_get(cli->args, "validity");
  const char *group = ck_cli_args_get(cli->args, "group");
  static const char *const order[] = {"outcome", "reason", "profile", NULL};
  static const char *const skip[] = {"route", "refusal", "approval", NULL};
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  json_t *body = NULL, *route;
  int rc;

  if ((rc = ck_cli_api_csr_body(
           cli, ck_cli_args_get(cli->args, "csr"),
           (const char *const[]){"profile", profile, "identity", ident,
                                 "validity", validity, "group", group, NULL},
           &body)) != CK_CLI_OK)
    goto out;
  ck_cli_path_lit(&path, "/policy/explain");
  if ((rc = ck_cli_api_call(cli, "POST", &path, body, NULL, &ans)) != CK_CLI_OK)
    goto out;
  if (cli->json) {
    rc = ck_cli_out_json(ans.json);
    goto out;
  }
  ck_cli_out_object(ans.json, order, skip);
  route = json_object_get(ans.json, "route");
  if (json_is_object(route))
    ck_cli_out_object(route, NULL, (const char *const[]){"reason", NULL});
out:
  json_decref(body);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static const ck_cli_opt explain_opts[] = {
    {"profile", "NAME", 0, 1, "profile the request would use"},
    {"csr", "FILE", 0, 1, "the certificate signing request, PEM or DER"},
    {"identity", "KIND", 0, 0,
     "requester: human, api-token (default), acme-eab, est-idevid, agent-mtls"},
    {"validity", "DURATION", 0, 0, "requested validity"},
    {"group", "NAME", 0, 0, "agent group (identity agent-mtls/est-idevid)"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_cmd policy_cmds[] = {
    {"explain", "--profile P --csr FILE [--identity KIND] [--json]",
     "What would happen to this request: automatic, admin-mediated or refused",
     "Nothing is issued or stored. docs/approvals.md explains the routing.", 0, 0,
     explain_opts, run_explain},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const ck_cli_group ck_cli_group_policy = {
    "policy", "Issuance routing: explain what would happen to a request.", policy_cmds};
