/* cli_token.c — `certkeeper token create|list`: one-time agent enrollment
 * tokens through /api/v1/enrollment-tokens (docs/api.md "Enrollment
 * tokens").
 *
 * create prints the token alone on stdout (so `T=$(certkeeper token create
 * ...)` works); the coordinator shows it this once and keeps only a hash. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/util/clock.h"
#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_api.h"
#include "coordinator/cli/cli_list.h"
#include "coordinator/cli/cli_out.h"

static int run_create(ck_cli *cli) {
  const char *group = ck_cli_args_get(cli->args, "group");
  const char *ttl = ck_cli_args_get(cli->args, "ttl");
  const char *const *profiles, *const *patterns;
  size_t np, ns;
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  json_t *body = NULL;
  int64_t secs;
  int rc;

  profiles = ck_cli_args_all(cli->args, "profile", &np);
  patterns = ck_cli_args_all(cli->args, "san-pattern", &ns);
  if (ttl != NULL && ck_duration_parse(ttl, &secs) != CK_OK) {
    ck_cli_errorf(cli, "--ttl '%s': not a duration (e.g. 1h, 30m)", ttl);
    return CK_CLI_USAGE;
  }
  body = json_pack("{s:s}", "group", group);
  if (body == NULL ||
      ck_cli_api_add_strings(body, "profiles", profiles, np) != 0 ||
      (ns > 0 &&
       ck_cli_api_add_strings(body, "san_patterns", patterns, ns) != 0) ||
      (ttl != NULL &&
       json_object_set_new(body, "ttl", json_string(ttl)) != 0)) {
    ck_cli_errorf(cli, "out of memory");
    rc = CK_CLI_LOCAL_IO;
    goto out;
  }
  ck_cli_path_lit(&path, "/enrollment-tokens");
  if ((rc = ck_cli_api_call(cli, "POST", &path, body, NULL, &ans)) ==
      CK_CLI_OK)
    rc = ck_cli_api_print_secret(cli, ans.json);
out:
  json_decref(body);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static const char *cell_expires(const json_t *it, char *buf, size_t len) {
  return ck_cli_fmt_expiry(
      json_string_value(json_object_get(it, "expires_at")), buf, len);
}

static const ck_cli_col token_cols[] = {
    {"ID", "id", NULL},
    {"GROUP", "group", NULL},
    {"PROFILES", "profiles", NULL},
    {"SAN PATTERNS", "san_patterns", NULL},
    {"EXPIRES", NULL, cell_expires},
    {"USED", "used_at", NULL},
    {"USED BY", "used_by", NULL},
    {"CREATED BY", "created_by", NULL},
    {NULL, NULL, NULL}};

static int run_list(ck_cli *cli) {
  ck_cli_path path = {0};
  int rc;

  ck_cli_path_lit(&path, "/enrollment-tokens");
  rc = ck_cli_list_pages(cli, &path, token_cols, 1);
  ck_cli_path_free(&path);
  return rc;
}

static const ck_cli_opt create_opts[] = {
    {"group", "NAME", 0, 1, "agent group the enrolled agent joins"},
    {"profile", "NAME", 1, 1, "profile the agent may request under"},
    {"san-pattern", "PATTERN", 1, 0,
     "narrows the names the agent may request (e.g. .web.test)"},
    {"ttl", "DURATION", 0, 0, "how long the token stays usable (e.g. 1h)"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_cmd token_cmds[] = {
    {"create",
     "--group NAME --profile P [--profile P2] [--san-pattern X] [--ttl 1h]",
     "Create a one-time agent enrollment token",
     "Prints the token alone on stdout; it is shown this once and works "
     "once:\n  T=$(certkeeper token create --group web --profile tls-server "
     "--ttl 1h)",
     0, 0, create_opts, run_create},
    {"list", "", "List enrollment tokens (never the tokens themselves)", NULL,
     0, 0, NULL, run_list},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const ck_cli_group ck_cli_group_token = {
    "token", "Agent enrollment tokens: create, list.", token_cmds};
