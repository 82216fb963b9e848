/* cli_ca.c — `certkeeper ca list`: the CAs the coordinator issues from,
 * through /api/v1/cas (docs/api.md "CAs"). */
#include <stdio.h>

#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_api.h"
#include "coordinator/cli/cli_list.h"
#include "coordinator/cli/cli_out.h"

static const char *cell_expiry(const json_t *it, char *buf, size_t len) {
  return ck_cli_fmt_expiry(json_string_value(json_object_get(it, "not_after")),
                           buf, len);
}

static const ck_cli_col ca_cols[] = {
    {"NAME", "name", NULL},         {"DEFAULT", "default", NULL},
    {"SUBJECT", "subject", NULL},   {"EXPIRES", NULL, cell_expiry},
    {"PARENT", "parent", NULL},     {"FINGERPRINT", "fingerprint", NULL},
    {NULL, NULL, NULL}};

static int run_list(ck_cli *cli) {
  ck_cli_path path = {0};
  int rc;

  ck_cli_path_lit(&path, "/cas");
  rc = ck_cli_list_pages(cli, &path, ca_cols, 1);
  ck_cli_path_free(&path);
  return rc;
}

static const ck_cli_cmd ca_cmds[] = {
    {"list", "", "List the CAs (root, issuing, imported)", NULL, 0, 0, NULL,
     run_list},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const ck_cli_group ck_cli_group_ca = {"ca", "Certificate authorities: list.",
                                      ca_cmds};
