/* cli.h — what every `certkeeper` command shares: the exit codes scripts
 * rely on, the run context (server, trust, token, output mode), and the
 * tables through which main.c finds and documents commands.
 *
 * A command group lives in its own file (cli_cert.c, cli_token.c, ...) and
 * exports one ck_cli_group. A command's run function returns an exit code
 * (never exits itself), prints its result on stdout and any error on stderr
 * through cli_out.h, and talks to the coordinator through cli_api.h. */
#ifndef CK_CLI_CLI_H
#define CK_CLI_CLI_H

#include <stddef.h>

#include "coordinator/cli/cli_args.h"

/* Exit codes: stable, documented in docs/cli.md. */
typedef enum ck_cli_exit {
  CK_CLI_OK = 0,           /* done */
  CK_CLI_USAGE = 1,        /* bad command line or missing settings */
  CK_CLI_CONN = 2,         /* cannot reach the server, TLS/trust failure */
  CK_CLI_PENDING = 3,      /* accepted but waiting for approval (202) */
  CK_CLI_REFUSED = 4,      /* refused by policy (403 policy-violation) */
  CK_CLI_AUTH = 5,         /* 401, or 403 forbidden for this role */
  CK_CLI_NOT_FOUND = 6,    /* 404 */
  CK_CLI_CONFLICT = 7,     /* 409 (exists, already revoked, stale If-Match) */
  CK_CLI_SERVER = 8,       /* 5xx or an answer the CLI does not understand */
  CK_CLI_LOCAL_IO = 9,     /* a local file could not be read or written */
  CK_CLI_AUDIT_BROKEN = 10,/* audit verify found the chain broken */
  CK_CLI_INVALID = 11      /* the server rejected the request as malformed
                              (400 bad-request/bad-csr, 413, 415) */
} ck_cli_exit;

/* The settings a command runs with, resolved by cli_conf.c from flags,
 * environment and the config file (in that order of precedence). Strings
 * are owned by the struct (ck_cli_settings_clear). */
typedef struct ck_cli_settings {
  char *server;      /* "https://host:port", no trailing slash; NULL: unset */
  char *cacert;      /* PEM file to trust; NULL: the system store */
  char *token_file;  /* where the token comes from, when from a file */
  char *token_env;   /* the token given by CERTKEEPER_TOKEN (secret) */
  char *config_path; /* config file that was read, NULL if none */
  long timeout_s;    /* whole-request timeout in seconds */
} ck_cli_settings;

typedef struct ck_cli_http ck_cli_http;

/* The run context of one invocation. */
typedef struct ck_cli {
  const char *cmd_name;  /* "cert issue", for messages */
  const ck_cli_args *args; /* borrowed: the parsed command line */
  ck_cli_settings set;   /* owned */
  int json;              /* --json: print the API's JSON */
  int settings_err;      /* exit code if settings could not be resolved */
  char settings_why[512];/* ... and why */
  char *token;           /* loaded on first use, wiped and freed at exit */
  ck_cli_http *http;     /* created on first request; owned */
} ck_cli;

/* One command: "issue" in group "cert". */
typedef struct ck_cli_cmd {
  const char *name;
  const char *synopsis; /* after "certkeeper cert issue": "--profile P ..." */
  const char *summary;  /* one line for the group's help */
  const char *help;     /* a paragraph for the command's --help (or NULL) */
  size_t min_pos;       /* positional arguments accepted */
  size_t max_pos;
  const ck_cli_opt *opts; /* command options (NULL: none) */
  /* Returns a ck_cli_exit code. */
  int (*run)(ck_cli *cli);
} ck_cli_cmd;

/* A command group: "cert" with its commands, ended by name NULL. */
typedef struct ck_cli_group {
  const char *name;
  const char *summary;
  const ck_cli_cmd *cmds;
} ck_cli_group;

extern const ck_cli_group ck_cli_group_cert;
extern const ck_cli_group ck_cli_group_token;
extern const ck_cli_group ck_cli_group_apitoken;
extern const ck_cli_group ck_cli_group_agent;
extern const ck_cli_group ck_cli_group_profile;
extern const ck_cli_group ck_cli_group_owner;
extern const ck_cli_group ck_cli_group_ca;
extern const ck_cli_group ck_cli_group_audit;
extern const ck_cli_group ck_cli_group_est;
extern const ck_cli_group ck_cli_group_request; /* cli_request.c */
extern const ck_cli_group ck_cli_group_policy;  /* cli_policy.c */
extern const ck_cli_group ck_cli_group_acme;    /* cli_acme.c */
extern const ck_cli_group ck_cli_group_kpi;     /* cli_kpi.c: one command */

/* The global options every command accepts (--server, --json, ...). */
extern const ck_cli_opt ck_cli_global_opts[];

/* Positional argument i of the command (NULL when absent). */
const char *ck_cli_pos(const ck_cli *cli, size_t i);

#endif
