/* main.c — `certkeeper`, the operators' command-line client of the
 * coordinator's REST API (docs/cli.md).
 *
 * The command line is `certkeeper [global options] GROUP COMMAND [options]
 * [arguments]`. main finds the group and command in the tables exported by
 * the cli_<group>.c files, parses the options against the command's table
 * plus the global one, prints generated --help, resolves the settings
 * (flags > environment > config file, cli_conf.h), runs the command and
 * returns its exit code (cli.h). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/mem.h"
#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_args.h"
#include "coordinator/cli/cli_conf.h"
#include "coordinator/cli/cli_http.h"
#include "coordinator/cli/cli_out.h"

#ifndef CK_VERSION
#define CK_VERSION "0.0.0"
#endif

const ck_cli_opt ck_cli_global_opts[] = {
    {"server", "URL", 0, 0,
     "coordinator API, https://HOST:PORT (env CERTKEEPER_SERVER)"},
    {"cacert", "FILE", 0, 0,
     "CA certificate(s) to trust for the server, PEM (env CERTKEEPER_CACERT)"},
    {"token-file", "FILE", 0, 0,
     "file holding the API token (env CERTKEEPER_TOKEN holds the token)"},
    {"config", "FILE", 0, 0,
     "config file (env CERTKEEPER_CONFIG; default "
     "~/.config/certkeeper/cli.conf)"},
    {"timeout", "DURATION", 0, 0, "whole-request timeout (default 60s)"},
    {"json", NULL, 0, 0, "print the API's JSON instead of tables"},
    {"help", NULL, 0, 0, "show help"},
    {NULL, NULL, 0, 0, NULL}};

/* Accepted only before the group name. */
static const ck_cli_opt main_opts[] = {
    {"version", NULL, 0, 0, "print the version and exit"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_group *const groups[] = {
    &ck_cli_group_cert,    &ck_cli_group_token, &ck_cli_group_apitoken,
    &ck_cli_group_agent,   &ck_cli_group_profile, &ck_cli_group_owner,
    &ck_cli_group_ca,      &ck_cli_group_audit,
    &ck_cli_group_request, &ck_cli_group_policy, /* issue 8: approvals */
    &ck_cli_group_acme, /* issue 7: ACME */
    &ck_cli_group_est, /* issue 6: EST */
    &ck_cli_group_kpi, /* issue 8: KPIs (`certkeeper kpi`) */
    NULL};

const char *ck_cli_pos(const ck_cli *cli, size_t i) {
  size_t n;
  const char *const *p = ck_cli_args_positional(cli->args, &n);

  return i < n ? p[i] : NULL;
}

static void top_help(FILE *f) {
  size_t g, c;

  fprintf(f,
          "usage: certkeeper [global options] GROUP COMMAND [options] "
          "[arguments]\n\n"
          "The operators' client of the certkeeper coordinator's REST API.\n"
          "\ncommands:\n");
  for (g = 0; groups[g] != NULL; g++)
    for (c = 0; groups[g]->cmds[c].name != NULL; c++) {
      char name[48];
      snprintf(name, sizeof name, "%s %s", groups[g]->name,
               groups[g]->cmds[c].name);
      fprintf(f, "  %-20s %s\n", name, groups[g]->cmds[c].summary);
    }
  fprintf(f, "\nglobal options (accepted before or after the command):\n");
  ck_cli_args_help(f, ck_cli_global_opts);
  fprintf(f, "  %-18s  %s (before the command only)\n", "--version",
          main_opts[0].help);
  fprintf(f,
          "\nSettings come from flags, then CERTKEEPER_SERVER, "
          "CERTKEEPER_CACERT,\nCERTKEEPER_TOKEN / CERTKEEPER_TOKEN_FILE, then "
          "the config file ([server] url,\ncacert, token_file, timeout).\n"
          "\nexit codes: 0 ok, 1 usage, 2 connection/TLS, 3 pending, 4 "
          "refused by policy,\n5 authentication/permission, 6 not found, 7 "
          "conflict, 8 server error,\n9 local file error, 10 audit chain "
          "broken, 11 request rejected as invalid.\n"
          "\n`certkeeper GROUP COMMAND --help` describes one command; "
          "docs/cli.md all.\n");
}

static void group_help(FILE *f, const ck_cli_group *g) {
  size_t c;

  fprintf(f, "usage: certkeeper %s COMMAND [options]\n\n%s\n\ncommands:\n",
          g->name, g->summary);
  for (c = 0; g->cmds[c].name != NULL; c++)
    fprintf(f, "  %-10s %s\n", g->cmds[c].name, g->cmds[c].summary);
  fprintf(f, "\n`certkeeper %s COMMAND --help` for a command's options.\n",
          g->name);
}

static void cmd_help(FILE *f, const ck_cli_group *g, const ck_cli_cmd *c) {
  fprintf(f, "usage: certkeeper %s %s%s%s\n\n%s\n", g->name, c->name,
          c->synopsis[0] != '\0' ? " " : "", c->synopsis, c->summary);
  if (c->help != NULL)
    fprintf(f, "\n%s\n", c->help);
  if (c->opts != NULL && c->opts[0].name != NULL) {
    fprintf(f, "\noptions:\n");
    ck_cli_args_help(f, c->opts);
  }
  fprintf(f, "\nglobal options:\n");
  ck_cli_args_help(f, ck_cli_global_opts);
}

static const ck_cli_group *find_group(const char *name) {
  size_t g;

  for (g = 0; groups[g] != NULL; g++)
    if (strcmp(groups[g]->name, name) == 0)
      return groups[g];
  return NULL;
}

static const ck_cli_cmd *find_cmd(const ck_cli_group *g, const char *name) {
  size_t c;

  for (c = 0; g->cmds[c].name != NULL; c++)
    if (strcmp(g->cmds[c].name, name) == 0)
      return &g->cmds[c];
  return NULL;
}

static int is_help_word(const char *w) {
  return strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0 ||
         strcmp(w, "help") == 0;
}

int main(int argc, char **argv) {
  ck_cli cli;
  ck_cli_args *lead = NULL, *args = NULL;
  const ck_cli_group *g = NULL;
  const ck_cli_cmd *c = NULL;
  char why[512], name[64];
  int rc = CK_CLI_USAGE, used = 0, i, curl_up = 0;
  size_t npos;

  memset(&cli, 0, sizeof cli);
  (void)ck_clock_init();
  if (argc < 1)
    return CK_CLI_USAGE;
  /* global options before the group name */
  lead = ck_cli_args_new(ck_cli_global_opts, main_opts);
  if (lead == NULL) {
    ck_cli_errorf(NULL, "out of memory");
    rc = CK_CLI_LOCAL_IO;
    goto out;
  }
  if (ck_cli_args_parse(lead, argc - 1, argv + 1, 1, &used, why, sizeof why) !=
      0) {
    ck_cli_errorf(NULL, "%s (see certkeeper --help)", why);
    goto out;
  }
  if (ck_cli_args_has(lead, "version")) {
    printf("certkeeper %s\n", CK_VERSION);
    rc = CK_CLI_OK;
    goto out;
  }
  i = 1 + used;
  if (i >= argc || is_help_word(argv[i])) {
    int asked = i < argc || ck_cli_args_has(lead, "help");
    top_help(asked ? stdout : stderr);
    rc = asked ? CK_CLI_OK : CK_CLI_USAGE;
    goto out;
  }
  if (strcmp(argv[i], "version") == 0) {
    printf("certkeeper %s\n", CK_VERSION);
    rc = CK_CLI_OK;
    goto out;
  }
  if ((g = find_group(argv[i])) == NULL) {
    ck_cli_errorf(NULL, "unknown command '%s' (see certkeeper --help)",
                  argv[i]);
    goto out;
  }
  i++;
  /* a group that is one command (name ""): `certkeeper kpi [options]` */
  if (g->cmds[0].name != NULL && g->cmds[0].name[0] == '\0') {
    c = &g->cmds[0];
    snprintf(name, sizeof name, "%s", g->name);
    cli.cmd_name = name;
    goto parse;
  }
  if (i >= argc || is_help_word(argv[i])) {
    group_help(i < argc ? stdout : stderr, g);
    rc = i < argc ? CK_CLI_OK : CK_CLI_USAGE;
    goto out;
  }
  if ((c = find_cmd(g, argv[i])) == NULL) {
    ck_cli_errorf(NULL, "unknown command '%s %s' (see certkeeper %s --help)",
                  g->name, argv[i], g->name);
    goto out;
  }
  snprintf(name, sizeof name, "%s %s", g->name, c->name);
  cli.cmd_name = name;
  i++;
parse:
  /* the command's own parse: leading globals again, then the rest */
  args = ck_cli_args_new(ck_cli_global_opts, c->opts);
  if (args == NULL) {
    ck_cli_errorf(&cli, "out of memory");
    rc = CK_CLI_LOCAL_IO;
    goto out;
  }
  if (ck_cli_args_parse(args, used, argv + 1, 0, NULL, why, sizeof why) != 0 ||
      ck_cli_args_parse(args, argc - i, argv + i, 0, NULL, why, sizeof why) !=
          0) {
    ck_cli_errorf(&cli, "%s (see certkeeper %s --help)", why, name);
    goto out;
  }
  if (ck_cli_args_has(args, "help")) {
    cmd_help(stdout, g, c);
    rc = CK_CLI_OK;
    goto out;
  }
  (void)ck_cli_args_positional(args, &npos);
  if (ck_cli_args_check_required(args, why, sizeof why) != 0) {
    ck_cli_errorf(&cli, "%s (see certkeeper %s --help)", why, name);
    goto out;
  }
  if (npos < c->min_pos || npos > c->max_pos) {
    ck_cli_errorf(&cli, "%s (usage: certkeeper %s %s)",
                  npos < c->min_pos ? "missing argument"
                                    : "too many arguments",
                  name, c->synopsis);
    goto out;
  }
  cli.args = args;
  cli.json = ck_cli_args_has(args, "json");
  rc = ck_cli_conf_resolve(args, &cli.set, why, sizeof why);
  if (rc != CK_CLI_OK) {
    ck_cli_errorf(&cli, "%s", why);
    goto out;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    ck_cli_errorf(&cli, "libcurl failed to initialise");
    rc = CK_CLI_CONN;
    goto out;
  }
  curl_up = 1;
  rc = c->run(&cli);
  if ((fflush(stdout) != 0 || ferror(stdout)) && rc == CK_CLI_OK) {
    ck_cli_errorf(&cli, "cannot write the output");
    rc = CK_CLI_LOCAL_IO;
  }
out:
  if (cli.token != NULL) {
    ck_wipe(cli.token, strlen(cli.token));
    free(cli.token);
  }
  ck_cli_http_free(cli.http);
  if (curl_up)
    curl_global_cleanup();
  ck_cli_settings_clear(&cli.set);
  ck_cli_args_free(args);
  ck_cli_args_free(lead);
  return rc;
}
