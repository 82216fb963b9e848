/* cli_audit.c — `certkeeper audit list|verify`: the hash-chained audit
 * trail through /api/v1/audit (admin and auditor tokens).
 *
 * verify exits 0 when the chain is intact and 10 when it is broken, naming
 * the first bad row and why (a row modified, deleted or the tail cut), so
 * a cron job can alert on the exit code alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_api.h"
#include "coordinator/cli/cli_list.h"
#include "coordinator/cli/cli_out.h"

static const char *cell_object(const json_t *it, char *buf, size_t len) {
  char t[256], id[512];
  const json_t *obj = json_object_get(it, "object");

  if (obj != NULL) /* docs/api.md's spelling */
    return ck_cli_fmt_value(obj, buf, len);
  if (json_object_get(it, "object_type") == NULL &&
      json_object_get(it, "object_id") == NULL)
    return ck_cli_fmt_value(NULL, buf, len);
  ck_cli_fmt_value(json_object_get(it, "object_type"), t, sizeof t);
  ck_cli_fmt_value(json_object_get(it, "object_id"), id, sizeof id);
  snprintf(buf, len, "%s %s", t, id);
  return buf;
}

static const ck_cli_col audit_cols[] = {
    {"SEQ", "seq", NULL},       {"TIME", "time", NULL},
    {"ACTOR", "actor", NULL},   {"ACTION", "action", NULL},
    {"OBJECT", NULL, cell_object}, {"DETAILS", "details", NULL},
    {NULL, NULL, NULL}};

static int run_list(ck_cli *cli) {
  const char *after = ck_cli_args_get(cli->args, "after");
  ck_cli_path path = {0};
  char *end;
  long long v;
  int rc;

  if (after != NULL) {
    errno = 0;
    v = strtoll(after, &end, 10);
    if (errno != 0 || end == after || *end != '\0' || v < 0) {
      ck_cli_errorf(cli, "--after '%s': not a sequence number", after);
      return CK_CLI_USAGE;
    }
  }
  if (!ck_cli_list_limit_ok(cli, ck_cli_args_get(cli->args, "limit")))
    return CK_CLI_USAGE;
  ck_cli_path_lit(&path, "/audit");
  ck_cli_path_param(&path, "limit", ck_cli_args_get(cli->args, "limit"));
  rc = ck_cli_list_pages_by(cli, &path, audit_cols,
                            ck_cli_args_has(cli->args, "all"), "after", after);
  ck_cli_path_free(&path);
  return rc;
}

static int run_verify(ck_cli *cli) {
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  const json_t *ok;
  char a[64], b[64], r[1024];
  int rc;

  ck_cli_path_lit(&path, "/audit/verify");
  if ((rc = ck_cli_api_call(cli, "GET", &path, NULL, NULL, &ans)) !=
      CK_CLI_OK)
    goto out;
  ok = json_object_get(ans.json, "ok");
  if (!json_is_boolean(ok)) {
    ck_cli_errorf(cli, "unexpected answer: no boolean \"ok\"");
    rc = CK_CLI_SERVER;
    goto out;
  }
  if (cli->json) {
    rc = ck_cli_out_json(ans.json);
    if (rc != CK_CLI_OK)
      goto out;
  } else if (json_is_true(ok)) {
    printf("audit trail intact: %s rows verified\n",
           ck_cli_fmt_value(json_object_get(ans.json, "rows"), a, sizeof a));
  } else {
    const json_t *problem = json_object_get(ans.json, "problem");
    char p[64];
    printf("audit trail BROKEN at row %s%s%s%s: %s\n",
           ck_cli_fmt_value(json_object_get(ans.json, "first_bad"), b,
                            sizeof b),
           problem != NULL ? " (" : "",
           problem != NULL ? ck_cli_fmt_value(problem, p, sizeof p) : "",
           problem != NULL ? ")" : "",
           ck_cli_fmt_value(json_object_get(ans.json, "reason"), r,
                            sizeof r));
  }
  rc = json_is_true(ok) ? CK_CLI_OK : CK_CLI_AUDIT_BROKEN;
out:
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static const ck_cli_opt list_opts[] = {
    {"after", "SEQ", 0, 0, "only events after this sequence number"},
    {"limit", "N", 0, 0, "page size, 1..1000"},
    {"all", NULL, 0, 0, "follow the trail to its end"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_cmd audit_cmds[] = {
    {"list", "[--after SEQ] [--limit N] [--all]", "List audit events",
     NULL, 0, 0, list_opts, run_list},
    {"verify", "", "Verify the hash chain (exit 10 when broken)",
     "Prints the number of rows verified, or the first bad row and why; "
     "exit 0\nwhen intact, 10 when broken.",
     0, 0, NULL, run_verify},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const ck_cli_group ck_cli_group_audit = {
    "audit", "The tamper-evident audit trail: list, verify.", audit_cmds};
