/* log_config.h — the [log] section both daemons share.
 *
 * A daemon chains ck_log_cfg_keys into its own schema (the terminating
 * entry's include) and calls ck_log_config_apply() after loading, so both
 * daemons configure their two log streams the same way
 * (docs/configuration.md). */
#ifndef CK_UTIL_LOG_CONFIG_H
#define CK_UTIL_LOG_CONFIG_H

#include "common/util/config.h"

/* Schema of the [log] section: ops, security, format, level. */
extern const ck_cfg_key ck_log_cfg_keys[];

/* Configures both streams from cfg. Errors name file:line and the key. */
ck_err ck_log_config_apply(const ck_config *cfg, ck_errctx *err);

#endif
