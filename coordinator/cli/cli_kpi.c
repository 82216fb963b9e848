/* cli_kpi.c — `certkeeper kpi [--since DURATION] [--json]`: the lifecycle
 * KPIs of GET /api/v1/kpi (docs/api.md "KPIs", docs/cli.md). */
#include <stdio.h>

#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_api.h"
#include "coordinator/cli/cli_out.h"

static long long geti(const json_t *o, const char *k) {
  return (long long)json_integer_value(json_object_get(o, k));
}

/* "87.5%" or "-" when there was nothing to measure. */
static const char *pct(const json_t *o, const char *k, char *buf, size_t len) {
  const json_t *v = json_object_get(o, k);

  if (!json_is_number(v))
    return "-";
  snprintf(buf, len, "%.1f%%", json_number_value(v) * 100.0);
  return buf;
}

static void print_kpi(const json_t *j) {
  const json_t *r = json_object_get(j, "renewals");
  const json_t *inv = json_object_get(j, "inventory");
  const json_t *ap = json_object_get(j, "approvals");
  const json_t *lat = json_object_get(ap, "latency_s");
  char b1[32], b2[32];

  printf("renewals            %lld (automated %lld, on time %lld)\n",
         geti(r, "total"), geti(r, "automated"), geti(r, "on_time"));
  printf("automation coverage %s\n",
         pct(r, "automation_coverage", b1, sizeof b1));
  printf("on-time renewals    %s\n", pct(r, "on_time_rate", b1, sizeof b1));
  printf("open incidents      %lld\n", geti(r, "incidents_open"));
  printf("active certificates %lld (without owner %lld)\n", geti(inv, "active"),
         geti(inv, "without_owner"));
  printf("expiring in 30 days %lld (without owner %lld)\n",
         geti(inv, "expiring_30d"), geti(inv, "expiring_30d_without_owner"));
  if (!json_is_object(ap)) {
    printf("approvals           -\n");
    return;
  }
  printf("approval requests   %lld (approved %lld, rejected %lld, issued "
         "%lld)\n",
         geti(ap, "requests"), geti(ap, "approved"), geti(ap, "rejected"),
         geti(ap, "issued"));
  printf("approval latency    p50 %llds, p90 %llds, max %llds\n",
         geti(lat, "p50"), geti(lat, "p90"), geti(lat, "max"));
  printf("rework rate         %s (%lld rework rounds)\n",
         pct(ap, "rework_rate", b1, sizeof b1), geti(ap, "rework_total"));
  printf("reopen rate         %s (%lld reopens)\n",
         pct(ap, "reopen_rate", b2, sizeof b2), geti(ap, "reopen_total"));
}

static int run_kpi(ck_cli *cli) {
  const char *since = ck_cli_args_get(cli->args, "since");
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  int rc;

  ck_cli_path_lit(&path, "/kpi");
  ck_cli_path_param(&path, "since", since);
  if ((rc = ck_cli_api_call(cli, "GET", &path, NULL, NULL, &ans)) ==
      CK_CLI_OK) {
    if (cli->json)
      rc = ck_cli_out_json(ans.json);
    else if (json_is_object(ans.json))
      print_kpi(ans.json);
    else
      rc = CK_CLI_SERVER;
  }
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static const ck_cli_opt kpi_opts[] = {
    {"since", "DURATION", 0, 0,
     "only renewals and requests of this window, e.g. 30d (default: all)"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_cmd kpi_cmds[] = {
    {"", "[--since DURATION]",
     "Lifecycle KPIs: automation coverage, on-time renewals, approvals, "
     "certificates without owner",
     "Automation coverage is the share of renewals whose successor came "
     "without a person (agent, EST, ACME); on time means the successor was "
     "valid before the old certificate expired. docs/notices.md explains "
     "each figure.",
     0, 0, kpi_opts, run_kpi},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const ck_cli_group ck_cli_group_kpi = {
    "kpi", "Lifecycle KPIs (certkeeper kpi [--json]).", kpi_cmds};
