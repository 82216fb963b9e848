/* cli_acme.c — `certkeeper acme eab create|list`, `acme account list`,
 * `acme directory list|set`: the operators' side of the ACME server
 * through /api/v1/acme (docs/api.md "ACME", docs/acme.md). */
#include <stdio.h>
#include <string.h>

#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_api.h"
#include "coordinator/cli/cli_list.h"
#include "coordinator/cli/cli_out.h"

static const ck_cli_col eab_cols[] = {{"KID", "kid", NULL},
                                      {"OWNER", "owner", NULL},
                                      {"DIRECTORY", "directory", NULL},
                                      {"STATE", "state", NULL},
                                      {"ACCOUNT", "account", NULL},
                                      {"CREATED", "created_at", NULL},
                                      {NULL, NULL, NULL}};

static const ck_cli_col account_cols[] = {{"ID", "id", NULL},
                                          {"DIRECTORY", "directory", NULL},
                                          {"STATUS", "status", NULL},
                                          {"OWNER", "owner", NULL},
                                          {"EAB KID", "eab_kid", NULL},
                                          {"CREATED", "created_at", NULL},
                                          {NULL, NULL, NULL}};

static const ck_cli_col dir_cols[] = {
    {"NAME", "name", NULL},        {"PROFILE", "profile", NULL},
    {"EAB", "eab_required", NULL}, {"ALT CHAINS", "alternate_chains", NULL},
    {"SOURCE", "source", NULL},    {NULL, NULL, NULL}};

static int list(ck_cli *cli, const char *what, const ck_cli_col *cols,
                const char *owner) {
  ck_cli_path path = {0};
  int rc;

  ck_cli_path_lit(&path, "/acme/");
  ck_cli_path_lit(&path, what);
  ck_cli_path_param(&path, "limit", "1000");
  if (owner != NULL)
    ck_cli_path_param(&path, "owner", owner);
  rc = ck_cli_list_pages(cli, &path, cols, 1);
  ck_cli_path_free(&path);
  return rc;
}

static int eab_create(ck_cli *cli) {
  const char *owner = ck_cli_args_get(cli->args, "owner");
  const char *dir = ck_cli_args_get(cli->args, "directory");
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  json_t *body = NULL;
  char b1[256], b2[256];
  int rc;

  if (owner == NULL) {
    ck_cli_errorf(cli, "--owner NAME is required");
    return CK_CLI_USAGE;
  }
  body = json_pack("{s:s,s:s}", "owner", owner, "directory",
                   dir != NULL ? dir : "");
  if (body == NULL) {
    ck_cli_errorf(cli, "out of memory");
    return CK_CLI_LOCAL_IO;
  }
  ck_cli_path_lit(&path, "/acme/eab");
  if ((rc = ck_cli_api_call(cli, "POST", &path, body, NULL, &ans)) != CK_CLI_OK)
    goto out;
  if (cli->json) {
    rc = ck_cli_out_json(ans.json);
  } else if (ck_cli_api_str(cli, ans.json, "kid") == NULL ||
             ck_cli_api_str(cli, ans.json, "hmac") == NULL) {
    rc = CK_CLI_SERVER;
  } else {
    /* the HMAC key is shown once: it is derived, never stored */
    printf("kid:  %s\nhmac: %s\n",
           ck_cli_clean(json_string_value(json_object_get(ans.json, "kid")), 0,
                        b1, sizeof b1),
           ck_cli_clean(json_string_value(json_object_get(ans.json, "hmac")), 0,
                        b2, sizeof b2));
  }
out:
  json_decref(body);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static int run_eab(ck_cli *cli) {
  const char *sub = ck_cli_pos(cli, 0);

  if (strcmp(sub, "create") == 0)
    return eab_create(cli);
  if (strcmp(sub, "list") == 0)
    return list(cli, "eab", eab_cols, ck_cli_args_get(cli->args, "owner"));
  ck_cli_errorf(cli, "unknown subcommand '%s' (create, list)", sub);
  return CK_CLI_USAGE;
}

static int run_account(ck_cli *cli) {
  const char *sub = ck_cli_pos(cli, 0);

  if (strcmp(sub, "list") == 0)
    return list(cli, "accounts", account_cols, NULL);
  ck_cli_errorf(cli, "unknown subcommand '%s' (list)", sub);
  return CK_CLI_USAGE;
}

static int dir_set(ck_cli *cli) {
  const char *name = ck_cli_pos(cli, 1);
  const char *profile = ck_cli_args_get(cli->args, "profile");
  const char *eab = ck_cli_args_get(cli->args, "eab-required");
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  json_t *body;
  int rc;

  if (name == NULL || profile == NULL) {
    ck_cli_errorf(
        cli,
        "usage: acme directory set NAME --profile P [--eab-required yes|no]");
    return CK_CLI_USAGE;
  }
  if (eab != NULL && strcmp(eab, "yes") != 0 && strcmp(eab, "no") != 0) {
    ck_cli_errorf(cli, "--eab-required takes yes or no");
    return CK_CLI_USAGE;
  }
  body = json_pack("{s:s,s:b,s:b}", "profile", profile, "eab_required",
                   eab == NULL || strcmp(eab, "yes") == 0, "alternate_chains",
                   ck_cli_args_get(cli->args, "alternate-chains") != NULL);
  ck_cli_path_lit(&path, "/acme/directories");
  ck_cli_path_seg(&path, name);
  rc = ck_cli_api_call(cli, "PUT", &path, body, NULL, &ans);
  if (rc == CK_CLI_OK && cli->json)
    rc = ck_cli_out_json(ans.json);
  else if (rc == CK_CLI_OK)
    printf("directory %s saved\n", name);
  json_decref(body);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static int run_directory(ck_cli *cli) {
  const char *sub = ck_cli_pos(cli, 0);

  if (strcmp(sub, "list") == 0)
    return list(cli, "directories", dir_cols, NULL);
  if (strcmp(sub, "set") == 0)
    return dir_set(cli);
  ck_cli_errorf(cli, "unknown subcommand '%s' (list, set)", sub);
  return CK_CLI_USAGE;
}

static const ck_cli_opt eab_opts[] = {
    {"owner", "NAME", 0, 0,
     "owner (team) the accounts bound with this key act for"},
    {"directory", "NAME", 0, 0, "only usable on this directory (default: any)"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_opt dir_opts[] = {
    {"profile", "NAME", 0, 0, "profile the directory issues under"},
    {"eab-required", "yes|no", 0, 0,
     "new accounts need an EAB key (default yes)"},
    {"alternate-chains", NULL, 0, 0,
     "offer the chain with the root as an alternate"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_cmd acme_cmds[] = {
    {"eab", "create --owner NAME [--directory D] | list [--owner NAME]",
     "Create an External Account Binding key (shown once) or list them",
     "create prints the kid and the HMAC key (base64url) an ACME client "
     "registers with "
     "(certbot --eab-kid/--eab-hmac-key, lego --eab --kid/--hmac); the account "
     "it creates "
     "acts for the owner.",
     1, 1, eab_opts, run_eab},
    {"account", "list", "List ACME accounts", NULL, 1, 1, NULL, run_account},
    {"directory",
     "list | set NAME --profile P [--eab-required yes|no] [--alternate-chains]",
     "List ACME directories or create/update one", NULL, 1, 2, dir_opts,
     run_directory},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const ck_cli_group ck_cli_group_acme = {
    "acme", "ACME server: EAB keys, accounts, directories.", acme_cmds};
