/* log_config.c — applies the shared [log] section (log_config.h). */
#include "common/util/log_config.h"

#include "common/util/log.h"

const ck_cfg_key ck_log_cfg_keys[] = {
    {"log", "ops", CK_CFG_STRING, "auto", 0, 0,
     "destination of the operational stream: auto, stderr, journal, syslog, "
     "file:/path, none", NULL},
    {"log", "security", CK_CFG_STRING, "auto", 0, 0,
     "destination of the security stream (same choices)", NULL},
    {"log", "format", CK_CFG_STRING, "kv", 0, 0, "kv or json", NULL},
    {"log", "level", CK_CFG_STRING, "info", 0, 0,
     "minimum level: debug, info, notice, warn, error, crit", NULL},
    {NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};

ck_err ck_log_config_apply(const ck_config *cfg, ck_errctx *err) {
  const char *ops, *sec, *fmt_s, *lvl_s;
  ck_log_format fmt;
  ck_log_level lvl;
  char where[512];
  ck_err rc;

  if (ck_config_str(cfg, "log", "ops", &ops) != CK_OK ||
      ck_config_str(cfg, "log", "security", &sec) != CK_OK ||
      ck_config_str(cfg, "log", "format", &fmt_s) != CK_OK ||
      ck_config_str(cfg, "log", "level", &lvl_s) != CK_OK)
    return ck_failf(err, CK_ERR_INTERNAL, "[log] keys missing from the schema");
  if (ck_log_format_parse(fmt_s, &fmt) != CK_OK)
    return ck_setf(err, CK_ERR_CONFIG, "%s: [log] format: '%s' is not kv or json",
                   ck_config_where(cfg, "log", "format", where, sizeof where), fmt_s);
  if (ck_log_level_parse(lvl_s, &lvl) != CK_OK)
    return ck_setf(err, CK_ERR_CONFIG,
                   "%s: [log] level: '%s' is not one of debug, info, notice, "
                   "warn, error, crit",
                   ck_config_where(cfg, "log", "level", where, sizeof where), lvl_s);
  rc = ck_log_configure(CK_LOG_OPS, ops, fmt, lvl, err);
  if (rc != CK_OK)
    return ck_failf(err, CK_ERR_CONFIG, "%s: [log] ops",
                    ck_config_where(cfg, "log", "ops", where, sizeof where));
  rc = ck_log_configure(CK_LOG_SEC, sec, fmt, lvl, err);
  if (rc != CK_OK)
    return ck_failf(err, CK_ERR_CONFIG, "%s: [log] security",
                    ck_config_where(cfg, "log", "security", where, sizeof where));
  return CK_OK;
}
