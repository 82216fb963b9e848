/* sched_opts.c — the [sched], [notices], [notices-owner:NAME] and
 * [notices-profile:NAME] sections of coordinator.conf
 * (docs/configuration.md) and their resolution into ck__sched_opts.
 * Secrets (the SMTP password, webhook HMAC keys) are read from files named
 * in the configuration, never written in it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/fs.h"
#include "common/util/log_config.h"
#include "common/util/mem.h"
#include "coordinator/sched/sched_int.h"

const ck_cfg_key ck_sched_cfg_keys[] = {
    {"sched", "enabled", CK_CFG_BOOL, "true", 0, 0,
     "run the estate-wide scheduler (renewal triggers, incidents, notices)",
     NULL},
    {"sched", "tick", CK_CFG_DURATION, "60s", 1, 86400,
     "how often the scheduler scans the inventory", NULL},
    {"sched", "rate", CK_CFG_INT, "60", 1, CK_SCHED_RATE_MAX,
     "most agent renewals triggered in any 60 seconds (protects the CA)", NULL},
    {"sched", "jitter", CK_CFG_DURATION, "6h", 0, 30 * 86400LL,
     "renewals are spread over this long after the renewal window opens "
     "(at most a quarter of the time left)",
     NULL},
    {"sched", "retry", CK_CFG_DURATION, "1h", 60, 30 * 86400LL,
     "a triggered renewal with no successor is triggered again after this",
     NULL},
    {"sched", "horizon", CK_CFG_DURATION, "400d", 86400, 3650 * 86400LL,
     "certificates expiring within this are scanned (must cover the "
     "longest renewal window and cadence)",
     NULL},
    {"sched", "client_profiles", CK_CFG_LIST, "", 0, 0,
     "profiles whose certificates renew through their own client (EST, "
     "ACME): counted as automated, watched but never commanded",
     NULL},
    {"notices", "enabled", CK_CFG_BOOL, "true", 0, 0,
     "send expiry notices and incident notices to owners", NULL},
    {"notices", "cadence", CK_CFG_LIST, "90d,30d,7d,1d", 0, 0,
     "when notices are due, before expiry", NULL},
    {"notices", "notify_automated", CK_CFG_BOOL, "false", 0, 0,
     "also notify for certificates renewed automatically (agents, EST, "
     "ACME); incidents are always notified",
     NULL},
    {"notices", "digest", CK_CFG_BOOL, "true", 0, 0,
     "one daily message per owner and channel listing every certificate "
     "due (incidents and last-day notices still go out at once)",
     NULL},
    {"notices", "digest_max", CK_CFG_INT, "500", 1, 600,
     "certificates per digest message (more are split in parts)", NULL},
    {"notices", "smtp_url", CK_CFG_STRING, "", 0, 0,
     "mail server: smtp://host:port (STARTTLS per smtp_tls) or "
     "smtps://host:port; empty: no email",
     NULL},
    {"notices", "smtp_tls", CK_CFG_STRING, "try", 0, 0,
     "STARTTLS on smtp://: none, try (when offered) or all (required)", NULL},
    {"notices", "smtp_from", CK_CFG_STRING, "certkeeper@localhost", 0, 0,
     "sender address of notices", NULL},
    {"notices", "smtp_user", CK_CFG_STRING, "", 0, 0, "SMTP login, empty: none",
     NULL},
    {"notices", "smtp_password_file", CK_CFG_PATH, "", 0, 0,
     "file holding the SMTP password (mode 0600)", NULL},
    {"notices", "smtp_cacert", CK_CFG_PATH, "", 0, 0,
     "CA certificates the mail server's TLS certificate must chain to; "
     "empty: the system store",
     NULL},
    {"notices", "smtp_timeout", CK_CFG_DURATION, "30s", 1, 600,
     "one SMTP delivery attempt, connect to QUIT", NULL},
    {"notices", "webhook_secret_file", CK_CFG_PATH, "", 0, 0,
     "file holding the HMAC-SHA256 key webhooks are signed with (owners "
     "may have their own)",
     NULL},
    {"notices", "webhook_timeout", CK_CFG_DURATION, "10s", 1, 600,
     "one webhook attempt, connect to answer", NULL},
    {"notices", "fallback_email", CK_CFG_STRING, "", 0, 0,
     "where notices go for certificates without an owner or an owner "
     "without contacts",
     NULL},
    {"notices", "fallback_webhook", CK_CFG_STRING, "", 0, 0,
     "webhook for certificates without an owner (or without contacts)", NULL},
    {"notices", "retry_base", CK_CFG_DURATION, "30s", 1, 86400,
     "first retry delay of a failed delivery (doubles each attempt)", NULL},
    {"notices", "retry_cap", CK_CFG_DURATION, "6h", 1, 7 * 86400LL,
     "longest delay between delivery attempts", NULL},
    {"notices", "retry_max", CK_CFG_INT, "20", 1, 1000,
     "attempts before a delivery is recorded as failed", NULL},
    {"notices", "workers", CK_CFG_INT, "2", 1, 32,
     "delivery threads (a hanging endpoint holds one until its timeout)", NULL},
    {"notices-owner:*", "cadence", CK_CFG_LIST, "", 0, 0,
     "this owner's cadence (wins over the profile's and the default)", NULL},
    {"notices-owner:*", "webhook_secret_file", CK_CFG_PATH, "", 0, 0,
     "this owner's webhook HMAC key file", NULL},
    {"notices-profile:*", "cadence", CK_CFG_LIST, "", 0, 0,
     "cadence for certificates of this profile", NULL},
    {NULL, NULL, 0, NULL, 0, 0, NULL, ck_log_cfg_keys},
};

static char *dup_str(const ck_config *cfg, const char *sec, const char *key) {
  const char *v = "";

  ck_config_str(cfg, sec, key, &v);
  return strdup(v != NULL ? v : "");
}

/* Joins a LIST value into "a,b,c" and parses it as a cadence. */
static ck_err cadence_of(const ck_config *cfg, const char *sec,
                         ck_sched_cadence *out, int *has, ck_errctx *err) {
  const char *const *items = NULL;
  char text[1024] = "", where[4300];
  size_t n = 0, i, len = 0;
  ck_err rc;

  *has = 0;
  if (ck_config_list(cfg, sec, "cadence", &items, &n) != CK_OK || n == 0)
    return CK_OK;
  for (i = 0; i < n; i++) {
    int w =
        snprintf(text + len, sizeof text - len, "%s%s", i ? "," : "", items[i]);
    if (w < 0 || (size_t)w >= sizeof text - len)
      return ck_failf(err, CK_ERR_CONFIG, "[%s] cadence: too long", sec);
    len += (size_t)w;
  }
  if ((rc = ck_sched_cadence_parse(text, out, err)) != CK_OK)
    return ck_failf(err, CK_ERR_CONFIG, "%s: [%s] %s",
                    ck_config_where(cfg, sec, "cadence", where, sizeof where),
                    sec, ck_errctx_msg(err));
  *has = 1;
  return CK_OK;
}

/* Reads a secret file (at most 4 KiB), trailing newlines cut. */
static ck_err read_secret(const ck_config *cfg, const char *sec,
                          const char *key, char **out, size_t *outlen,
                          ck_errctx *err) {
  const char *path = "";
  uint8_t *data = NULL;
  size_t len = 0;
  char where[4300];
  ck_err rc;

  *out = NULL;
  *outlen = 0;
  if (ck_config_str(cfg, sec, key, &path) != CK_OK || path == NULL ||
      path[0] == '\0')
    return CK_OK;
  rc = ck_fs_read_file(path, 4096, &data, &len, err);
  if (rc != CK_OK)
    return ck_failf(err, CK_ERR_CONFIG, "%s: [%s] %s: cannot read %s: %s",
                    ck_config_where(cfg, sec, key, where, sizeof where), sec,
                    key, path, ck_strerror(rc));
  while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
    len--;
  if (len == 0) {
    free(data);
    return ck_failf(err, CK_ERR_CONFIG, "%s: [%s] %s: %s is empty",
                    ck_config_where(cfg, sec, key, where, sizeof where), sec,
                    key, path);
  }
  *out = malloc(len + 1);
  if (*out != NULL) {
    memcpy(*out, data, len);
    (*out)[len] = '\0';
    *outlen = len;
  }
  ck_wipe(data, len);
  free(data);
  return *out != NULL ? CK_OK : ck_failf(err, CK_ERR_NOMEM, "secret");
}

static ck_err load_ovr(const ck_config *cfg, const char *pattern, int owner,
                       ck__sched_ovr **out, size_t *nout, ck_errctx *err) {
  const char *const *names = NULL;
  size_t n = 0, i, plen = strlen(pattern) - 1; /* "notices-owner:" */
  ck_err rc;

  *out = NULL;
  *nout = 0;
  if (ck_config_sections(cfg, pattern, &names, &n) != CK_OK || n == 0)
    return CK_OK;
  if ((*out = calloc(n, sizeof **out)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "settings");
  for (i = 0; i < n; i++) {
    ck__sched_ovr *v = &(*out)[i];
    (*nout)++;
    v->name = strdup(strlen(names[i]) > plen ? names[i] + plen : "");
    if (v->name == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "settings");
    if ((rc = cadence_of(cfg, names[i], &v->cadence, &v->has_cadence, err)) !=
        CK_OK)
      return rc;
    if (owner && (rc = read_secret(cfg, names[i], "webhook_secret_file",
                                   &v->secret, &v->secret_len, err)) != CK_OK)
      return rc;
  }
  return CK_OK;
}

ck_err ck__sched_opts_load(const ck_config *cfg, ck__sched_opts *o,
                           ck_errctx *err) {
  const char *const *items = NULL;
  const char *tls = "try";
  char where[4300];
  int has = 0;
  size_t n = 0, i;
  ck_err rc;

  memset(o, 0, sizeof *o);
  ck_config_bool(cfg, "sched", "enabled", &o->enabled);
  ck_config_num(cfg, "sched", "tick", &o->tick);
  ck_config_int(cfg, "sched", "rate", &o->rate);
  ck_config_num(cfg, "sched", "jitter", &o->pol.jitter);
  ck_config_num(cfg, "sched", "retry", &o->pol.retry);
  ck_config_num(cfg, "sched", "horizon", &o->horizon);
  if (ck_config_list(cfg, "sched", "client_profiles", &items, &n) == CK_OK &&
      n > 0) {
    if ((o->client_profiles = calloc(n, sizeof *o->client_profiles)) == NULL)
      return ck_failf(err, CK_ERR_NOMEM, "settings");
    for (i = 0; i < n; i++)
      if ((o->client_profiles[o->nclient++] = strdup(items[i])) == NULL)
        return ck_failf(err, CK_ERR_NOMEM, "settings");
  }
  ck_config_bool(cfg, "notices", "enabled", &o->notices);
  ck_sched_cadence_default(&o->pol.cadence);
  if ((rc = cadence_of(cfg, "notices", &o->pol.cadence, &has, err)) != CK_OK)
    return rc;
  ck_config_bool(cfg, "notices", "notify_automated", &o->pol.notify_automated);
  ck_config_bool(cfg, "notices", "digest", &o->digest);
  ck_config_int(cfg, "notices", "digest_max", &o->digest_max);
  ck_config_str(cfg, "notices", "smtp_tls", &tls);
  if (strcmp(tls, "none") == 0)
    o->smtp_tls = 0;
  else if (strcmp(tls, "try") == 0)
    o->smtp_tls = 1;
  else if (strcmp(tls, "all") == 0)
    o->smtp_tls = 2;
  else
    return ck_failf(
        err, CK_ERR_CONFIG,
        "%s: [notices] smtp_tls: '%s' is not none, try or all",
        ck_config_where(cfg, "notices", "smtp_tls", where, sizeof where), tls);
  o->smtp_url = dup_str(cfg, "notices", "smtp_url");
  o->smtp_from = dup_str(cfg, "notices", "smtp_from");
  o->smtp_user = dup_str(cfg, "notices", "smtp_user");
  o->smtp_cacert = dup_str(cfg, "notices", "smtp_cacert");
  o->fallback_email = dup_str(cfg, "notices", "fallback_email");
  o->fallback_webhook = dup_str(cfg, "notices", "fallback_webhook");
  if (o->smtp_url == NULL || o->smtp_from == NULL || o->smtp_user == NULL ||
      o->smtp_cacert == NULL || o->fallback_email == NULL ||
      o->fallback_webhook == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "settings");
  if (o->smtp_url[0] != '\0' && strncmp(o->smtp_url, "smtp://", 7) != 0 &&
      strncmp(o->smtp_url, "smtps://", 8) != 0)
    return ck_failf(
        err, CK_ERR_CONFIG,
        "%s: [notices] smtp_url: '%s' must start with smtp:// "
        "or smtps://",
        ck_config_where(cfg, "notices", "smtp_url", where, sizeof where),
        o->smtp_url);
  ck_config_num(cfg, "notices", "smtp_timeout", &o->smtp_timeout);
  ck_config_num(cfg, "notices", "webhook_timeout", &o->webhook_timeout);
  ck_config_num(cfg, "notices", "retry_base", &o->retry_base);
  ck_config_num(cfg, "notices", "retry_cap", &o->retry_cap);
  ck_config_int(cfg, "notices", "retry_max", &o->retry_max);
  ck_config_int(cfg, "notices", "workers", &o->workers);
  o->lease = o->smtp_timeout > o->webhook_timeout ? o->smtp_timeout
                                                  : o->webhook_timeout;
  o->lease = 2 * o->lease + 60; /* a crashed sender's claim expires */
  {
    size_t plen = 0;
    if ((rc = read_secret(cfg, "notices", "smtp_password_file",
                          &o->smtp_password, &plen, err)) != CK_OK ||
        (rc = read_secret(cfg, "notices", "webhook_secret_file", &o->secret,
                          &o->secret_len, err)) != CK_OK)
      return rc;
  }
  if ((rc = load_ovr(cfg, "notices-owner:*", 1, &o->owners, &o->nowners,
                     err)) != CK_OK ||
      (rc = load_ovr(cfg, "notices-profile:*", 0, &o->profiles, &o->nprofiles,
                     err)) != CK_OK)
    return rc;
  return CK_OK;
}

static void free_secret(char *p, size_t len) {
  if (p != NULL)
    ck_wipe(p, len);
  free(p);
}

static void ovr_free(ck__sched_ovr *v, size_t n) {
  size_t i;

  for (i = 0; v != NULL && i < n; i++) {
    free(v[i].name);
    free_secret(v[i].secret, v[i].secret_len);
  }
  free(v);
}

void ck__sched_opts_clear(ck__sched_opts *o) {
  size_t i;

  for (i = 0; i < o->nclient; i++)
    free(o->client_profiles[i]);
  free(o->client_profiles);
  free(o->smtp_url);
  free(o->smtp_from);
  free(o->smtp_user);
  free(o->smtp_cacert);
  if (o->smtp_password != NULL)
    free_secret(o->smtp_password, strlen(o->smtp_password));
  free_secret(o->secret, o->secret_len);
  free(o->fallback_email);
  free(o->fallback_webhook);
  ovr_free(o->owners, o->nowners);
  ovr_free(o->profiles, o->nprofiles);
  memset(o, 0, sizeof *o);
}

static const ck__sched_ovr *find_ovr(const ck__sched_ovr *v, size_t n,
                                     const char *name) {
  size_t i;

  for (i = 0; name != NULL && name[0] != '\0' && i < n; i++)
    if (strcmp(v[i].name, name) == 0)
      return &v[i];
  return NULL;
}

const ck_sched_cadence *ck__sched_cadence_for(const ck__sched_opts *o,
                                              const char *owner,
                                              const char *profile) {
  const ck__sched_ovr *v = find_ovr(o->owners, o->nowners, owner);

  if (v != NULL && v->has_cadence)
    return &v->cadence;
  v = find_ovr(o->profiles, o->nprofiles, profile);
  if (v != NULL && v->has_cadence)
    return &v->cadence;
  return &o->pol.cadence;
}

const char *ck__sched_secret_for(const ck__sched_opts *o, const char *owner,
                                 size_t *len) {
  const ck__sched_ovr *v = find_ovr(o->owners, o->nowners, owner);

  if (v != NULL && v->secret != NULL) {
    *len = v->secret_len;
    return v->secret;
  }
  *len = o->secret_len;
  return o->secret;
}
