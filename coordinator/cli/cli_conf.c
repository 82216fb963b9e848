/* cli_conf.c — resolves the CLI's settings from flags, environment and the
 * config file (precedence in cli_conf.h), and loads the API token. */
#include "coordinator/cli/cli_conf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util/clock.h"
#include "common/util/config.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

#define TOKEN_FILE_MAX 4096
#define DEFAULT_TIMEOUT_S 60

static const ck_cfg_key cli_schema[] = {
    {"server", "url", CK_CFG_STRING, NULL, 0, 0,
     "coordinator REST API base URL (https://host:port)", NULL},
    {"server", "cacert", CK_CFG_PATH, NULL, 0, 0,
     "PEM file with the CA certificate(s) to trust for the server", NULL},
    {"server", "token_file", CK_CFG_PATH, NULL, 0, 0,
     "file holding the API bearer token", NULL},
    {"server", "timeout", CK_CFG_DURATION, "60s", 1, 86400,
     "whole-request timeout", NULL},
    {NULL, NULL, CK_CFG_STRING, NULL, 0, 0, NULL, NULL}};

static const char *env_nonempty(const char *name) {
  const char *v = getenv(name);

  return v != NULL && v[0] != '\0' ? v : NULL;
}

void ck_cli_settings_clear(ck_cli_settings *s) {
  if (s == NULL)
    return;
  free(s->server);
  free(s->cacert);
  free(s->token_file);
  if (s->token_env != NULL) {
    ck_wipe(s->token_env, strlen(s->token_env));
    free(s->token_env);
  }
  free(s->config_path);
  memset(s, 0, sizeof *s);
}

int ck_cli_conf_server_url(const char *in, char **out, char *why,
                           size_t why_len) {
  const char *p;
  const char *scheme = strstr(in, "://");
  char *u = NULL;
  size_t len;

  *out = NULL;
  for (p = in; *p != '\0'; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
      snprintf(why, why_len,
               "server URL contains a space or control character");
      return CK_CLI_USAGE;
    }
  if (scheme != NULL && !(scheme - in == 5 && strncmp(in, "https", 5) == 0)) {
    snprintf(why, why_len,
             "server URL '%.200s': only https:// is accepted (the API token "
             "must not travel in clear)",
             in);
    return CK_CLI_USAGE;
  }
  len = strlen(in) + (scheme == NULL ? 8 : 0) + 1;
  u = malloc(len);
  if (u == NULL) {
    snprintf(why, why_len, "out of memory");
    return CK_CLI_LOCAL_IO;
  }
  snprintf(u, len, "%s%s", scheme == NULL ? "https://" : "", in);
  len = strlen(u);
  while (len > 8 && u[len - 1] == '/')
    u[--len] = '\0';
  if (len <= 8) {
    free(u);
    snprintf(why, why_len, "server URL '%.200s' has no host", in);
    return CK_CLI_USAGE;
  }
  *out = u;
  return CK_CLI_OK;
}

/* A path from the config file: relative ones are taken from the config
 * file's directory, so a config can sit next to its token and CA. */
static char *config_relative(const char *cfg_path, const char *p) {
  const char *slash;
  size_t dlen, len;
  char *r;

  if (p[0] == '/' || (slash = strrchr(cfg_path, '/')) == NULL)
    return strdup(p);
  dlen = (size_t)(slash - cfg_path);
  len = dlen + 1 + strlen(p) + 1;
  r = malloc(len);
  if (r != NULL)
    snprintf(r, len, "%.*s/%s", (int)dlen, cfg_path, p);
  return r;
}

/* The config file to read: *explicit_ says whether the user named it. */
static char *config_path(const ck_cli_args *args, int *explicit_) {
  const char *p = ck_cli_args_get(args, "config"), *base;
  char buf[4096];

  *explicit_ = 1;
  if (p == NULL)
    p = env_nonempty("CERTKEEPER_CONFIG");
  if (p != NULL)
    return strdup(p);
  *explicit_ = 0;
  if ((base = env_nonempty("XDG_CONFIG_HOME")) != NULL)
    snprintf(buf, sizeof buf, "%s/certkeeper/cli.conf", base);
  else if ((base = env_nonempty("HOME")) != NULL)
    snprintf(buf, sizeof buf, "%s/.config/certkeeper/cli.conf", base);
  else
    return NULL;
  return strdup(buf);
}

static int parse_timeout(const char *text, long *out, char *why,
                         size_t why_len) {
  int64_t s;

  if (ck_duration_parse(text, &s) != CK_OK || s < 1 || s > 86400) {
    snprintf(why, why_len,
             "--timeout '%.100s': not a duration between 1s and 1d (e.g. 30, "
             "90s, 5m)",
             text);
    return CK_CLI_USAGE;
  }
  *out = (long)s;
  return CK_CLI_OK;
}

int ck_cli_conf_resolve(const ck_cli_args *args, ck_cli_settings *out,
                        char *why, size_t why_len) {
  ck_config *cfg = NULL;
  ck_errctx err = CK_ERRCTX_INIT;
  char *path = NULL;
  const char *server = NULL, *cacert = NULL, *tfile = NULL, *tenv = NULL;
  const char *cfg_url = NULL, *cfg_ca = NULL, *cfg_tf = NULL, *v;
  int explicit_ = 0, rc = CK_CLI_OK;
  int64_t cfg_timeout = DEFAULT_TIMEOUT_S;
  struct stat st;

  memset(out, 0, sizeof *out);
  out->timeout_s = DEFAULT_TIMEOUT_S;
  path = config_path(args, &explicit_);
  if (path != NULL && (explicit_ || stat(path, &st) == 0)) {
    if (ck_config_load(path, cli_schema, &cfg, &err) != CK_OK) {
      int io = err.code == CK_ERR_NOENT || err.code == CK_ERR_IO ||
               err.code == CK_ERR_PERM;
      snprintf(why, why_len, "config file %s: %s", path, ck_errctx_msg(&err));
      rc = io ? CK_CLI_LOCAL_IO : CK_CLI_USAGE;
      goto out;
    }
    out->config_path = path;
    path = NULL;
    (void)ck_config_str(cfg, "server", "url", &cfg_url);
    (void)ck_config_str(cfg, "server", "cacert", &cfg_ca);
    (void)ck_config_str(cfg, "server", "token_file", &cfg_tf);
    (void)ck_config_num(cfg, "server", "timeout", &cfg_timeout);
    out->timeout_s = (long)cfg_timeout;
  }

  server = ck_cli_args_get(args, "server");
  if (server == NULL)
    server = env_nonempty("CERTKEEPER_SERVER");
  if (server == NULL)
    server = cfg_url;
  if (server != NULL &&
      (rc = ck_cli_conf_server_url(server, &out->server, why, why_len)) !=
          CK_CLI_OK)
    goto out;

  if ((cacert = ck_cli_args_get(args, "cacert")) == NULL)
    cacert = env_nonempty("CERTKEEPER_CACERT");
  if (cacert != NULL)
    out->cacert = strdup(cacert);
  else if (cfg_ca != NULL)
    out->cacert = config_relative(out->config_path, cfg_ca);

  /* token: --token-file, then CERTKEEPER_TOKEN, CERTKEEPER_TOKEN_FILE, then
   * the config file */
  tfile = ck_cli_args_get(args, "token-file");
  if (tfile == NULL && (tenv = env_nonempty("CERTKEEPER_TOKEN")) == NULL)
    tfile = env_nonempty("CERTKEEPER_TOKEN_FILE");
  if (tfile != NULL)
    out->token_file = strdup(tfile);
  else if (tenv != NULL)
    out->token_env = strdup(tenv);
  else if (cfg_tf != NULL)
    out->token_file = config_relative(out->config_path, cfg_tf);

  if ((v = ck_cli_args_get(args, "timeout")) != NULL &&
      (rc = parse_timeout(v, &out->timeout_s, why, why_len)) != CK_CLI_OK)
    goto out;
  if ((cacert != NULL && out->cacert == NULL) ||
      (cfg_ca != NULL && cacert == NULL && out->cacert == NULL) ||
      (tfile != NULL && out->token_file == NULL) ||
      (tenv != NULL && out->token_env == NULL)) {
    snprintf(why, why_len, "out of memory");
    rc = CK_CLI_LOCAL_IO;
  }
out:
  free(path);
  ck_config_free(cfg);
  return rc;
}

static int token_char_ok(unsigned char c) { return c > 0x20 && c < 0x7f; }

int ck_cli_conf_load_token(const ck_cli_settings *s, char **token, char *why,
                           size_t why_len) {
  uint8_t *buf = NULL;
  size_t len = 0, i, start, end;
  ck_errctx err = CK_ERRCTX_INIT;
  int rc = CK_CLI_OK;
  const char *src;
  char *t = NULL;

  *token = NULL;
  if (s->token_file != NULL) {
    if (ck_fs_read_file(s->token_file, TOKEN_FILE_MAX, &buf, &len, &err) !=
        CK_OK) {
      snprintf(why, why_len, "cannot read token file %s: %s", s->token_file,
               ck_errctx_msg(&err));
      rc = CK_CLI_LOCAL_IO;
      goto out;
    }
    src = (const char *)buf;
  } else if (s->token_env != NULL) {
    src = s->token_env;
    len = strlen(src);
  } else {
    snprintf(why, why_len,
             "no API token: use --token-file FILE, CERTKEEPER_TOKEN, "
             "CERTKEEPER_TOKEN_FILE or token_file in the config file");
    rc = CK_CLI_USAGE;
    goto out;
  }
  /* the first line, trimmed */
  for (start = 0; start < len && (src[start] == ' ' || src[start] == '\t' ||
                                   src[start] == '\r' || src[start] == '\n');
       start++)
    ;
  for (end = start; end < len && src[end] != '\n' && src[end] != '\r'; end++)
    ;
  while (end > start && (src[end - 1] == ' ' || src[end - 1] == '\t'))
    end--;
  if (end == start) {
    snprintf(why, why_len, "the API token %s%s is empty",
             s->token_file != NULL ? "in " : "from CERTKEEPER_TOKEN",
             s->token_file != NULL ? s->token_file : "");
    rc = CK_CLI_USAGE;
    goto out;
  }
  for (i = start; i < end; i++)
    if (!token_char_ok((unsigned char)src[i])) {
      snprintf(why, why_len,
               "the API token %s%s holds a space or control character",
               s->token_file != NULL ? "in " : "from CERTKEEPER_TOKEN",
               s->token_file != NULL ? s->token_file : "");
      rc = CK_CLI_USAGE;
      goto out;
    }
  t = malloc(end - start + 1);
  if (t == NULL) {
    snprintf(why, why_len, "out of memory");
    rc = CK_CLI_LOCAL_IO;
    goto out;
  }
  memcpy(t, src + start, end - start);
  t[end - start] = '\0';
  *token = t;
out:
  if (buf != NULL) {
    ck_wipe(buf, len);
    free(buf);
  }
  return rc;
}
