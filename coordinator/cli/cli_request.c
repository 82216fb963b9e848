/* cli_request.c — `certkeeper request submit|list|show|approve|reject|
 * rework|resubmit|reopen|ack|issue|cert|kpis`: admin-mediated issuance
 * requests through /api/v1/requests (docs/api.md "Requests",
 * docs/approvals.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/fs.h"
#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_api.h"
#include "coordinator/cli/cli_list.h"
#include "coordinator/cli/cli_out.h"

static const char *const SHOW_ORDER[] = {
    "id", "state", "profile", "requester", "identity", "justification",
    "approvals_count", "approvals_required", "round", "rework_count",
    "reopen_count", "escalations", "note", "reason", "cert_fingerprint", NULL};
static const char *const SHOW_SKIP[] = {"csr", "approvals", "approval", "route",
                                        "agent_profiles", "agent_patterns", NULL};

/* Prints a request answer: JSON, or the main fields, the route and the
 * approvals. */
static int print_request(ck_cli *cli, const json_t *ans) {
  const json_t *r = json_object_get(ans, "request"), *route, *ap, *v;
  char buf[600];
  size_t i;

  if (cli->json)
    return ck_cli_out_json(ans);
  if (!json_is_object(r)) {
    ck_cli_errorf(cli, "unexpected answer from the server");
    return CK_CLI_SERVER;
  }
  ck_cli_out_object(r, SHOW_ORDER, SHOW_SKIP);
  route = json_object_get(r, "route");
  if (json_is_object(route)) {
    printf("route:  %s\n", ck_cli_fmt_value(json_object_get(route, "reason"), buf, sizeof buf));
    printf("purpose:  %s", ck_cli_fmt_value(json_object_get(route, "purpose"), buf, sizeof buf));
    printf("  blast radius: %s",
           ck_cli_fmt_value(json_object_get(route, "blast_radius"), buf, sizeof buf));
    printf(" (%s)\n", ck_cli_fmt_value(json_object_get(route, "blast_factors"), buf, sizeof buf));
  }
  ap = json_object_get(r, "approval");
  if (json_is_object(ap)) {
    printf("approvers:  roles %s", ck_cli_fmt_value(json_object_get(ap, "roles"), buf, sizeof buf));
    printf("; named %s", ck_cli_fmt_value(json_object_get(ap, "named"), buf, sizeof buf));
    printf("; criteria %s\n", ck_cli_fmt_value(json_object_get(ap, "criteria"), buf, sizeof buf));
  }
  json_array_foreach(json_object_get(r, "approvals"), i, v) {
    printf("approved by:  %s", ck_cli_fmt_value(json_object_get(v, "by"), buf, sizeof buf));
    printf(" (%s)\n", ck_cli_fmt_value(json_object_get(v, "role"), buf, sizeof buf));
  }
  return CK_CLI_OK;
}

static int run_submit(ck_cli *cli) {
  const char *profile = ck_cli_args_get(cli->args, "profile");
  const char *csr_path = ck_cli_args_get(cli->args, "csr");
  const char *just = ck_cli_args_get(cli->args, "justification");
  const char *validity = ck_cli_args_get(cli->args, "validity");
  const char *owner = ck_cli_args_get(cli->args, "owner");
  const char *out_path = ck_cli_args_get(cli->args, "out");
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  json_t *body = NULL;
  int rc;

  if ((rc = ck_cli_api_csr_body(
           cli, csr_path,
           (const char *const[]){"profile", profile, "justification", just,
                                 "validity", validity, "owner", owner, NULL},
           &body)) != CK_CLI_OK)
    goto out;
  ck_cli_path_lit(&path, "/requests");
  if ((rc = ck_cli_api_call(cli, "POST", &path, body, NULL, &ans)) != CK_CLI_OK)
    goto out;
  if (ans.status == 201 && out_path != NULL) {
    const char *chain = ck_cli_api_str(cli, ans.json, "chain_pem");
    ck_errctx err = CK_ERRCTX_INIT;
    if (chain == NULL) {
      rc = CK_CLI_SERVER;
      goto out;
    }
    if (ck_fs_write_atomic(out_path, chain, strlen(chain), 0644, &err) != CK_OK) {
      ck_cli_errorf(cli, "cannot write %s: %s", out_path, ck_errctx_msg(&err));
      rc = CK_CLI_LOCAL_IO;
      goto out;
    }
  }
  rc = print_request(cli, ans.json);
  if (rc == CK_CLI_OK && ans.status == 202)
    rc = CK_CLI_PENDING;
out:
  json_decref(body);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static const ck_cli_col request_cols[] = {{"ID", "id", NULL},
                                          {"STATE", "state", NULL},
                                          {"PROFILE", "profile", NULL},
                                          {"REQUESTER", "requester", NULL},
                                          {"APPROVALS", "approvals_count", NULL},
                                          {"OF", "approvals_required", NULL},
                                          {"REWORK", "rework_count", NULL},
                                          {"REOPEN", "reopen_count", NULL},
                                          {NULL, NULL, NULL}};

static int run_list(ck_cli *cli) {
  const char *state = ck_cli_args_get(cli->args, "state");
  const char *limit = ck_cli_args_get(cli->args, "limit");
  ck_cli_path path = {0};
  int rc;

  if (!ck_cli_list_limit_ok(cli, limit))
    return CK_CLI_USAGE;
  ck_cli_path_lit(&path, "/requests");
  ck_cli_path_param(&path, "state", state);
  ck_cli_path_param(&path, "limit", limit);
  rc = ck_cli_list_pages(cli, &path, request_cols, ck_cli_args_has(cli->args, "all"));
  ck_cli_path_free(&path);
  return rc;
}

static int run_show(ck_cli *cli) {
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  int rc;

  ck_cli_path_lit(&path, "/requests");
  ck_cli_path_seg(&path, ck_cli_pos(cli, 0));
  if ((rc = ck_cli_api_call(cli, "GET", &path, NULL, NULL, &ans)) == CK_CLI_OK)
    rc = print_request(cli, ans.json);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

/* POST /requests/ID/<action> with the text (under key) and the rest. */
static int post_step(ck_cli *cli, const char *action, const char *key,
                     const char *text, json_t *body) {
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  int rc;

  if (body == NULL || (text != NULL && json_object_set_new(body, key, json_string(text)) != 0)) {
    ck_cli_errorf(cli, "out of memory");
    json_decref(body);
    return CK_CLI_LOCAL_IO;
  }
  ck_cli_path_lit(&path, "/requests");
  ck_cli_path_seg(&path, ck_cli_pos(cli, 0));
  ck_cli_path_lit(&path, "/");
  ck_cli_path_lit(&path, action);
  if ((rc = ck_cli_api_call(cli, "POST", &path, body, NULL, &ans)) == CK_CLI_OK)
    rc = print_request(cli, ans.json);
  json_decref(body);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static int run_approve(ck_cli *cli) {
  size_t n = 0, i;
  const char *const *conf = ck_cli_args_all(cli->args, "confirm", &n);
  json_t *body = json_object(), *arr = json_array();

  for (i = 0; arr != NULL && i < n; i++)
    json_array_append_new(arr, json_string(conf[i]));
  if (body != NULL && arr != NULL)
    json_object_set_new(body, "confirm", arr);
  else
    json_decref(arr);
  return post_step(cli, "approve", "comment", ck_cli_args_get(cli->args, "comment"), body);
}

static int run_reject(ck_cli *cli) {
  return post_step(cli, "reject", "reason", ck_cli_args_get(cli->args, "reason"), json_object());
}

static int run_rework(ck_cli *cli) {
  return post_step(cli, "rework", "note", ck_cli_args_get(cli->args, "note"), json_object());
}

static int run_resubmit(ck_cli *cli) {
  const char *csr_path = ck_cli_args_get(cli->args, "csr");
  json_t *body = NULL;
  int rc;

  if (csr_path == NULL)
    body = json_object();
  else if ((rc = ck_cli_api_csr_body(cli, csr_path, NULL, &body)) != CK_CLI_OK)
    return rc;
  return post_step(cli, "resubmit", "justification",
                   ck_cli_args_get(cli->args, "justification"), body);
}

static int run_reopen(ck_cli *cli) {
  return post_step(cli, "reopen", "reason", ck_cli_args_get(cli->args, "reason"), json_object());
}

static int run_ack(ck_cli *cli) {
  return post_step(cli, "ack", "note", ck_cli_args_get(cli->args, "note"), json_object());
}

static int run_issue(ck_cli *cli) { return post_step(cli, "issue", "note", NULL, json_object()); }

static int run_cert(ck_cli *cli) {
  const char *out_path = ck_cli_args_get(cli->args, "out");
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  ck_errctx err = CK_ERRCTX_INIT;
  const char *chain;
  int rc;

  ck_cli_path_lit(&path, "/requests");
  ck_cli_path_seg(&path, ck_cli_pos(cli, 0));
  ck_cli_path_lit(&path, "/certificate");
  ck_cli_path_param(&path, "format", "json");
  if ((rc = ck_cli_api_call(cli, "GET", &path, NULL, NULL, &ans)) != CK_CLI_OK)
    goto out;
  if ((chain = ck_cli_api_str(cli, ans.json, "chain_pem")) == NULL) {
    rc = CK_CLI_SERVER;
    goto out;
  }
  if (out_path == NULL) {
    fputs(chain, stdout);
  } else if (ck_fs_write_atomic(out_path, chain, strlen(chain), 0644, &err) != CK_OK) {
    ck_cli_errorf(cli, "cannot write %s: %s", out_path, ck_errctx_msg(&err));
    rc = CK_CLI_LOCAL_IO;
  }
out:
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static int run_kpis(ck_cli *cli) {
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  int rc;

  ck_cli_path_lit(&path, "/requests/kpis");
  ck_cli_path_param(&path, "since", ck_cli_args_get(cli->args, "since"));
  if ((rc = ck_cli_api_call(cli, "GET", &path, NULL, NULL, &ans)) == CK_CLI_OK) {
    if (cli->json)
      rc = ck_cli_out_json(ans.json);
    else
      ck_cli_out_object(ans.json, NULL, NULL);
  }
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static const ck_cli_opt submit_opts[] = {
    {"profile", "NAME", 0, 1, "profile to issue under"},
    {"csr", "FILE", 0, 1, "certificate signing request, PEM or DER"},
    {"justification", "TEXT", 0, 1, "why the certificate is needed (shown to approvers)"},
    {"validity", "DURATION", 0, 0, "requested validity (default: the profile's)"},
    {"owner", "NAME", 0, 0, "owner recorded on the certificate"},
    {"out", "FILE", 0, 0, "where to write the chain if issued at once"},
    {NULL, NULL, 0, 0, NULL}};
static const ck_cli_opt list_opts[] = {
    {"state", "STATE", 0, 0, "pending, approved, rejected, rework, issued or closed"},
    {"limit", "N", 0, 0, "rows per page (1..1000)"},
    {"all", NULL, 0, 0, "follow every page"},
    {NULL, NULL, 0, 0, NULL}};
static const ck_cli_opt approve_opts[] = {
    {"confirm", "CRITERION", 1, 0, "a criterion of the profile you confirm (repeat for each)"},
    {"comment", "TEXT", 0, 0, "free text kept with the approval"},
    {NULL, NULL, 0, 0, NULL}};
static const ck_cli_opt reject_opts[] = {{"reason", "TEXT", 0, 1, "why (shown to the requester)"},
                                         {NULL, NULL, 0, 0, NULL}};
static const ck_cli_opt rework_opts[] = {{"note", "TEXT", 0, 1, "what to change"},
                                         {NULL, NULL, 0, 0, NULL}};
static const ck_cli_opt resubmit_opts[] = {
    {"csr", "FILE", 0, 0, "a new CSR"},
    {"justification", "TEXT", 0, 0, "a new justification"},
    {NULL, NULL, 0, 0, NULL}};
static const ck_cli_opt reopen_opts[] = {{"reason", "TEXT", 0, 1, "why it is reopened"},
                                         {NULL, NULL, 0, 0, NULL}};
static const ck_cli_opt ack_opts[] = {{"note", "TEXT", 0, 0, "free text"},
                                      {NULL, NULL, 0, 0, NULL}};
static const ck_cli_opt cert_opts[] = {{"out", "FILE", 0, 0, "write the chain here (default stdout)"},
                                       {NULL, NULL, 0, 0, NULL}};
static const ck_cli_opt kpis_opts[] = {{"since", "DURATION", 0, 0, "only requests this recent (e.g. 30d)"},
                                       {NULL, NULL, 0, 0, NULL}};

static const ck_cli_cmd request_cmds[] = {
    {"submit", "--profile P --csr FILE --justification TEXT [--validity D] [--owner O]",
     "Ask for a certificate with a justification (exit 3 while it waits)",
     "Routing decides: automatic (issued at once, --out writes the chain) or "
     "admin-mediated (exit 3, pending). See docs/approvals.md.",
     0, 0, submit_opts, run_submit},
    {"list", "[--state STATE] [--limit N] [--all]", "List requests", NULL, 0, 0, list_opts,
     run_list},
    {"show", "ID", "Show a request: state, route, approvals, counts", NULL, 1, 1, NULL, run_show},
    {"approve", "ID [--confirm CRITERION...]", "Approve (counted once per approver)",
     "The requester cannot approve; the approver's token must have a role or name "
     "the profile lists; every criterion of the profile must be confirmed. The "
     "last required approval issues the certificate.",
     1, 1, approve_opts, run_approve},
    {"reject", "ID --reason TEXT", "Reject a pending request", NULL, 1, 1, reject_opts, run_reject},
    {"rework", "ID --note TEXT", "Send a pending request back to the requester", NULL, 1, 1,
     rework_opts, run_rework},
    {"resubmit", "ID [--csr FILE] [--justification TEXT]",
     "Resubmit a request sent back for rework", NULL, 1, 1, resubmit_opts, run_resubmit},
    {"reopen", "ID --reason TEXT", "Reopen a delivered request for a new approval round", NULL,
     1, 1, reopen_opts, run_reopen},
    {"ack", "ID", "Acknowledge delivery: closes the request", NULL, 1, 1, ack_opts, run_ack},
    {"issue", "ID", "Retry the issuance of an approved request", NULL, 1, 1, NULL, run_issue},
    {"cert", "ID [--out FILE]", "Download the issued chain (leaf first, PEM)", NULL, 1, 1,
     cert_opts, run_cert},
    {"kpis", "[--since D]", "Requests, approvals, rework/reopen counts, approval latency", NULL,
     0, 0, kpis_opts, run_kpis},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const ck_cli_group ck_cli_group_request = {
    "request", "Admin-mediated issuance requests: submit, approve, reject, rework, ...",
    request_cmds};
