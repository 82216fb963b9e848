/* cli_profile.c — `certkeeper profile list|show|set|delete`: issuance
 * profiles (policy as data, versioned) through /api/v1/profiles
 * (docs/api.md "Profiles", docs/profiles.md for the JSON).
 *
 * set sends a profile JSON file as the new version; --if-match VERSION
 * makes the server refuse (exit 7) when someone else changed the profile
 * since that version was read. show prints the profile JSON itself (its
 * version on stderr), since that is what set takes back. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/fs.h"
#include "coordinator/cli/cli.h"
#include "coordinator/cli/cli_api.h"
#include "coordinator/cli/cli_list.h"
#include "coordinator/cli/cli_out.h"

#define PROFILE_MAX (1024 * 1024)

/* A field of the profile itself: the API wraps it as {"name", "version",
 * "profile": {...}, "changed_by", ...}; a bare profile is read directly. */
static const json_t *inner(const json_t *it, const char *key) {
  const json_t *p = json_object_get(it, "profile");

  return json_object_get(json_is_object(p) ? p : it, key);
}

static const char *cell_workflow(const json_t *it, char *buf, size_t len) {
  return ck_cli_fmt_value(inner(it, "workflow"), buf, len);
}

static const char *cell_ca(const json_t *it, char *buf, size_t len) {
  const json_t *ca = inner(it, "ca");

  /* "" means the default CA */
  if (json_is_string(ca) && json_string_length(ca) == 0)
    return ck_cli_clean("(default)", 0, buf, len);
  return ck_cli_fmt_value(ca, buf, len);
}

static const char *cell_description(const json_t *it, char *buf, size_t len) {
  return ck_cli_fmt_value(inner(it, "description"), buf, len);
}

static const ck_cli_col profile_cols[] = {
    {"NAME", "name", NULL},
    {"VERSION", "version", NULL},
    {"WORKFLOW", NULL, cell_workflow},
    {"CA", NULL, cell_ca},
    {"CHANGED AT", "changed_at", NULL},
    {"CHANGED BY", "changed_by", NULL},
    {"DESCRIPTION", NULL, cell_description},
    {NULL, NULL, NULL}};

static int run_list(ck_cli *cli) {
  ck_cli_path path = {0};
  int rc;

  ck_cli_path_lit(&path, "/profiles");
  rc = ck_cli_list_pages(cli, &path, profile_cols, 1);
  ck_cli_path_free(&path);
  return rc;
}

/* 1 when v is a non-negative decimal number. */
static int is_number(const char *v) {
  if (*v == '\0')
    return 0;
  for (; *v != '\0'; v++)
    if (*v < '0' || *v > '9')
      return 0;
  return 1;
}

static int run_show(ck_cli *cli) {
  const char *version = ck_cli_args_get(cli->args, "version");
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  int rc;

  if (version != NULL && !is_number(version)) {
    ck_cli_errorf(cli, "--version '%s': not a version number", version);
    return CK_CLI_USAGE;
  }
  ck_cli_path_lit(&path, "/profiles");
  ck_cli_path_seg(&path, ck_cli_pos(cli, 0));
  ck_cli_path_param(&path, "version", version);
  if ((rc = ck_cli_api_call(cli, "GET", &path, NULL, NULL, &ans)) ==
      CK_CLI_OK) {
    const json_t *body = json_object_get(ans.json, "profile");
    if (!json_is_object(ans.json)) {
      ck_cli_errorf(cli, "unexpected answer: not a profile object");
      rc = CK_CLI_SERVER;
    } else if (cli->json || !json_is_object(body)) {
      rc = ck_cli_out_json(ans.json);
    } else {
      /* the profile itself on stdout (what set takes back), its version
       * on stderr */
      char name[128], v[64], by[256], at[64];
      fprintf(stderr, "certkeeper: profile %s version %s, changed by %s at "
                      "%s\n",
              ck_cli_fmt_value(json_object_get(ans.json, "name"), name,
                               sizeof name),
              ck_cli_fmt_value(json_object_get(ans.json, "version"), v,
                               sizeof v),
              ck_cli_fmt_value(json_object_get(ans.json, "changed_by"), by,
                               sizeof by),
              ck_cli_fmt_value(json_object_get(ans.json, "changed_at"), at,
                               sizeof at));
      rc = ck_cli_out_json(body);
    }
  }
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

/* Reads the profile JSON from path ("-": stdin). Returns an exit code. */
static int read_profile(ck_cli *cli, const char *path, json_t **out) {
  ck_errctx err = CK_ERRCTX_INIT;
  json_error_t jerr;
  uint8_t *buf = NULL;
  size_t len = 0;

  *out = NULL;
  if (strcmp(path, "-") == 0) {
    *out = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
  } else {
    if (ck_fs_read_file(path, PROFILE_MAX, &buf, &len, &err) != CK_OK) {
      ck_cli_errorf(cli, "cannot read %s: %s", path, ck_errctx_msg(&err));
      return CK_CLI_LOCAL_IO;
    }
    *out = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
  }
  if (*out == NULL) {
    ck_cli_errorf(cli, "%s:%d:%d: not valid JSON: %s", path, jerr.line,
                  jerr.column, jerr.text);
    return CK_CLI_LOCAL_IO;
  }
  if (!json_is_object(*out)) {
    ck_cli_errorf(cli, "%s: a profile is a JSON object", path);
    json_decref(*out);
    *out = NULL;
    return CK_CLI_LOCAL_IO;
  }
  /* `profile show --json` output (the API's wrapper) is taken too */
  if (json_is_object(json_object_get(*out, "profile")) &&
      json_object_get(*out, "version") != NULL) {
    json_t *p = json_incref(json_object_get(*out, "profile"));
    json_decref(*out);
    *out = p;
  }
  return CK_CLI_OK;
}

static int run_set(ck_cli *cli) {
  const char *name = ck_cli_pos(cli, 0);
  const char *file = ck_cli_args_get(cli->args, "file");
  const char *if_match = ck_cli_args_get(cli->args, "if-match");
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  json_t *body = NULL;
  const char *p;
  char buf[256], ver[64];
  int rc;

  if (if_match != NULL) {
    for (p = if_match; *p != '\0'; p++)
      if ((unsigned char)*p < 0x20 || *p == 0x7f)
        break;
    if (*if_match == '\0' || *p != '\0') {
      ck_cli_errorf(cli, "--if-match: give the version number read before");
      return CK_CLI_USAGE;
    }
  }
  if ((rc = read_profile(cli, file, &body)) != CK_CLI_OK)
    return rc;
  ck_cli_path_lit(&path, "/profiles");
  ck_cli_path_seg(&path, name);
  if ((rc = ck_cli_api_call(cli, "PUT", &path, body, if_match, &ans)) ==
      CK_CLI_OK) {
    if (cli->json && ans.json != NULL)
      rc = ck_cli_out_json(ans.json);
    else if (!cli->json)
      printf("profile %s stored as version %s\n",
             ck_cli_clean(name, 0, buf, sizeof buf),
             ck_cli_fmt_value(json_object_get(ans.json, "version"), ver,
                              sizeof ver));
  }
  json_decref(body);
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static int run_delete(ck_cli *cli) {
  const char *name = ck_cli_pos(cli, 0);
  ck_cli_path path = {0};
  ck_cli_answer ans = {0};
  char buf[256];
  int rc;

  ck_cli_path_lit(&path, "/profiles");
  ck_cli_path_seg(&path, name);
  if ((rc = ck_cli_api_call(cli, "DELETE", &path, NULL, NULL, &ans)) ==
      CK_CLI_OK) {
    if (cli->json && ans.json != NULL)
      rc = ck_cli_out_json(ans.json);
    else if (!cli->json)
      printf("profile %s deleted\n", ck_cli_clean(name, 0, buf, sizeof buf));
  }
  ck_cli_answer_clear(&ans);
  ck_cli_path_free(&path);
  return rc;
}

static const ck_cli_opt show_opts[] = {
    {"version", "N", 0, 0, "an older version instead of the latest"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_opt set_opts[] = {
    {"file", "FILE", 0, 1, "the profile JSON (docs/profiles.md); - for stdin"},
    {"if-match", "VERSION", 0, 0,
     "refuse (exit 7) unless VERSION is still the latest"},
    {NULL, NULL, 0, 0, NULL}};

static const ck_cli_cmd profile_cmds[] = {
    {"list", "", "List profiles (latest version of each)", NULL, 0, 0, NULL,
     run_list},
    {"show", "NAME [--version N]", "Print a profile's JSON",
     "Prints the profile itself (what `profile set` takes) on stdout and its\n"
     "version on stderr; --json prints the API's answer (version, author,\n"
     "time and the profile).",
     1, 1, show_opts, run_show},
    {"set", "NAME --file FILE [--if-match VERSION]",
     "Store a new version of a profile",
     "Edit safely: certkeeper profile show web > web.json; edit web.json;\n"
     "certkeeper profile set web --file web.json --if-match <its version>",
     1, 1, set_opts, run_set},
    {"delete", "NAME", "Mark a profile deleted (a new version)", NULL, 1, 1,
     NULL, run_delete},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL}};

const ck_cli_group ck_cli_group_profile = {
    "profile", "Issuance profiles: list, show, set, delete.", profile_cmds};
