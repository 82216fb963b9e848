/* cli_est.c — `certkeeper est fleet create|list|show|delete` and
 * `certkeeper est otp create`: EST device fleets and one-time device
 * passwords through /api/v1/est/fleets (docs/api.md "EST fleets",
 * docs/est.md).
 *
 * The fleet secret is read from a file (--secret-file; one trailing line
 * break is dropped) so it never appears in argv or shell history; the
 * coordinator keeps only a salted hash. `otp create` prints the password
 * alone on stdout, the one time it is shown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/fs.h"
#include "common/util/mem.h"
#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_api.h"
#include "coordinator/cli/cli_list.h"
#include "coordinator/cli/cli_out.h"

static const ck_cli_col fleet_cols[] = {{"NAME", "name", NULL},
                                        {"PROFILE", "profile", NULL},
                                        {"LABEL", "label", NULL},
                                        {"RATE/MIN", "rate_per_minute", NULL},
                                        {"PATTERNS", "patterns", NULL},
                                        {"OWNERS", "owners", NULL},
                                        {NULL, NULL, NULL}};

/* Reads a small text file into a malloc'ed string (trailing CR/LF
 * dropped). Returns an exit code. */
static int read_text(ck_cli *cli, const char *opt, const char *path, size_t max,
                     char **out, size_t *out_len) {
  ck_errctx err = CK_ERRCTX_INIT;
  uint8_t *data = NULL;
  size_t len = 0;
  char *s;

  if (ck_fs_read_file(path, max, &data, &len, &err) != CK_OK) {
    ck_cli_errorf(cli, "--%s %s: %s", opt, path, ck_errctx_msg(&err));
    return CK_CLI_LOCAL_IO;
  }
  if ((s = malloc(len + 1)) == NULL) {
    ck_wipe(data, len);
    free(data);
    ck_cli_errorf(cli, "out of memory");
    return CK_CLI_LOCAL_IO;
  }
  memcpy(s, data, len);
  s[len] = '\0';
  ck_wipe(data, len);
  free(data);
  if (len > 0 && s[len - 1] == '\n')
    s[--len] = '\0';
  if (len > 0 && s[len - 1] == '\r')
    s[--len] = '\0';
  *out = s;
  *out_len = len;
  return CK_CLI_OK;
}

/* "--rate 30/min" or "30": enrollments per minute. -1 when malformed. */
static long parse_rate(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);

  if (end == s || v < 0 || v > 1000000)
    return -1;
  if (*end == '\0' || strcmp(end, "/min") == 0 || strcmp(end, "/m") == 0)
    return v;
  if (strcmp(end, "/h") == 0 || strcmp(end, "/hour") == 0)
    return v >= 60 ? v / 60 : (v > 0 ? 1 : 0);
  return -1;
}

static int fleet_create(ck_cli *cli, const char *name) {
  const char *profile = ck_cli_args_get(cli->args, "profile");
  const char *secret_file = ck_cli_args_get(cli->args, "secret-file");
  const char *label = ck_cli_args_get(cli->args, "label");
  const char *rate = ck_cli_args_get(cli->args, "rate");
  const char *idevid = ck_cli_args_get(cli->args, "idevid-ca");
  const char *const *patterns, *const *owners;
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  json_t *body = NULL;
  char *secret = NULL, *pem = NULL, buf[128];
  size_t slen = 0, plen = 0, np, no;
  long r = -1;
  int rc;

  if (profile == NULL || secret_file == NULL) {
    ck_cli_errorf(cli, "est fleet create needs --profile and --secret-file");
    return CK_CLI_USAGE;
  }
  if (rate != NULL && (r = parse_rate(rate)) < 0) {
    ck_cli_errorf(cli, "--rate '%s': give enrollments per minute, e.g. 30/min",
                  rate);
    return CK_CLI_USAGE;
  }
  patterns = ck_cli_args_all(cli->args, "pattern", &np);
  owners = ck_cli_args_all(cli->args, "owner", &no);
  if ((rc = read_text(cli, "secret-file", secret_file, 4096, &secret, &slen)) !=
      CK_CLI_OK)
    goto out;
  if (idevid != NULL && (rc = read_text(cli, "idevid-ca", idevid, 65536, &pem,
                                        &plen)) != CK_CLI_OK)
    goto out;
  body = json_pack("{s:s,s:s,s:s}", "name", name, "profile", profile, "secret",
                   secret);
  if (body == NULL ||
      (np > 0 && ck_cli_api_add_strings(body, "patterns", patterns, np) != 0) ||
      (no > 0 && ck_cli_api_add_strings(body, "owners", owners, no) != 0) ||
      (label != NULL &&
       json_object_set_new(body, "label", json_string(label)) != 0) ||
      (r >= 0 &&
       json_object_set_new(body, "rate_per_minute", json_integer(r)) != 0) ||
      (pem != NULL &&
       json_object_set_new(body, "idevid_ca", json_string(pem)) != 0)) {
    ck_cli_errorf(cli, "out of memory");
    rc = CK_CLI_LOCAL_IO;
    goto out;
  }
  ck_cli_path_lit(&path, "/est/fleets");
  if ((rc = ck_cli_api_call(cli, "POST", &path, body, NULL, &ans)) != CK_CLI_OK)
    goto out;
  if (cli->json && ans.json != NULL)
    rc = ck_cli_out_json(ans.json);
  else if (!cli->json)
    printf("fleet %s created (profile %s); devices log in with HTTP Basic user "
           "'%s'\n",
           ck_cli_clean(name, 0, buf, sizeof buf), profile,
           ck_cli_clean(name, 0, buf, sizeof buf));
out:
  if (secret != NULL) {
    /* the request body held the secret too: wipe what we can reach */
    json_t *s = json_object_get(body, "secret");
    if (s != NULL)
      json_string_set(s, "");
    ck_wipe(secret, slen + 1);
    free(secret);
  }
  free(pem);
  json_decref(body);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static int fleet_one(ck_cli *cli, const char *method, const char *name) {
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  char buf[128];
  int rc;

  ck_cli_path_lit(&path, "/est/fleets");
  ck_cli_path_seg(&path, name);
  if ((rc = ck_cli_api_call(cli, method, &path, NULL, NULL, &ans)) ==
      CK_CLI_OK) {
    if (cli->json && ans.json != NULL)
      rc = ck_cli_out_json(ans.json);
    else if (strcmp(method, "DELETE") == 0)
      printf("fleet %s deleted\n", ck_cli_clean(name, 0, buf, sizeof buf));
    else if (ans.json != NULL)
      ck_cli_out_object(ans.json, NULL, NULL);
  }
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static int run_fleet(ck_cli *cli) {
  const char *verb = ck_cli_pos(cli, 0), *name = ck_cli_pos(cli, 1);
  ck_cli_path path = {0};
  int rc;

  if (strcmp(verb, "list") == 0) {
    ck_cli_path_lit(&path, "/est/fleets");
    ck_cli_path_param(&path, "limit", "1000");
    rc = ck_cli_list_pages(cli, &path, fleet_cols, 1);
    ck_cli_path_free(&path);
    return rc;
  }
  if (name == NULL) {
    ck_cli_errorf(cli, "est fleet %s needs a fleet NAME", verb);
    return CK_CLI_USAGE;
  }
  if (strcmp(verb, "create") == 0)
    return fleet_create(cli, name);
  if (strcmp(verb, "show") == 0)
    return fleet_one(cli, "GET", name);
  if (strcmp(verb, "delete") == 0)
    return fleet_one(cli, "DELETE", name);
  ck_cli_errorf(cli, "unknown 'est fleet %s' (create, list, show, delete)",
                verb);
  return CK_CLI_USAGE;
}

static int run_otp(ck_cli *cli) {
  const char *verb = ck_cli_pos(cli, 0);
  const char *fleet = ck_cli_args_get(cli->args, "fleet");
  const char *device = ck_cli_args_get(cli->args, "device");
  const char *ttl = ck_cli_args_get(cli->args, "ttl");
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  json_t *body = NULL;
  const char *pw;
  int rc;

  if (strcmp(verb, "create") != 0) {
    ck_cli_errorf(cli, "unknown 'est otp %s' (create)", verb);
    return CK_CLI_USAGE;
  }
  if (fleet == NULL) {
    ck_cli_errorf(cli, "est otp create needs --fleet NAME");
    return CK_CLI_USAGE;
  }
  body = json_object();
  if (body == NULL ||
      (device != NULL &&
       json_object_set_new(body, "device", json_string(device)) != 0) ||
      (ttl != NULL &&
       json_object_set_new(body, "ttl", json_string(ttl)) != 0)) {
    ck_cli_errorf(cli, "out of memory");
    rc = CK_CLI_LOCAL_IO;
    goto out;
  }
  ck_cli_path_lit(&path, "/est/fleets");
  ck_cli_path_seg(&path, fleet);
  ck_cli_path_lit(&path, "/otps");
  if ((rc = ck_cli_api_call(cli, "POST", &path, body, NULL, &ans)) != CK_CLI_OK)
    goto out;
  if (cli->json && ans.json != NULL) {
    rc = ck_cli_out_json(ans.json);
  } else if ((pw = ck_cli_api_str(cli, ans.json, "password")) != NULL) {
    printf("%s\n", pw);
  } else {
    rc = CK_CLI_SERVER;
  }
out:
  json_decref(body);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static const ck_cli_opt fleet_opts[] = {
    {"profile", "P", 0, 0,
     "create: profile the fleet's certificates are issued under"},
    {"secret-file", "FILE", 0, 0,
     "create: file holding the fleet's enrollment secret"},
    {"pattern", "PAT", 1, 0,
     "create: allowed names, e.g. '*.sensors.example' or "
     "'{serial}.dev.example'"},
    {"rate", "N/min", 0, 0,
     "create: enrollments per minute for the whole fleet (0 = no limit)"},
    {"owner", "O", 1, 0,
     "create: owner recorded on certificates and told of events"},
    {"idevid-ca", "FILE", 0, 0,
     "create: PEM of the manufacturer CA(s) devices' IDevIDs chain to"},
    {"label", "L", 0, 0, "create: EST label, /.well-known/est/L/..."},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_opt otp_opts[] = {
    {"fleet", "NAME", 0, 0, "the fleet the password enrolls into"},
    {"device", "ID", 0, 0, "device id ({serial} in the fleet's patterns)"},
    {"ttl", "DURATION", 0, 0, "validity of the password (default 7d)"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_cmd est_cmds[] = {
    {"fleet",
     "create NAME --profile P --secret-file FILE [--pattern PAT] [--rate "
     "N/min] [--owner O] "
     "[--idevid-ca FILE] [--label L] | list | show NAME | delete NAME",
     "EST device fleets",
     "Devices of a fleet enroll over EST (RFC 7030) at /.well-known/est/ with "
     "HTTP Basic\n"
     "user NAME and the fleet secret (or a one-time password), or an IDevID "
     "certificate.",
     1, 2, fleet_opts, run_fleet},
    {"otp", "create --fleet NAME [--device ID] [--ttl D]",
     "One-time device passwords (printed once)", NULL, 1, 1, otp_opts, run_otp},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const ck_cli_group ck_cli_group_est = {
    "est", "EST device fleets and one-time passwords.", est_cmds};
