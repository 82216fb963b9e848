/* config.h — the configuration file format of both daemons.
 *
 * INI syntax parsed by inih (Debian's libinih): `[section]` headers,
 * `key = value` lines, `#` or `;` comments. What a program accepts is
 * declared in a schema table (section, key, type, default, bounds, help);
 * loading checks every line against it, so a typo is an error naming
 * file:line and the key, not a silently ignored setting. docs/configuration.md
 * is the reference for the keys each daemon declares.
 *
 * Types: string, int (with min/max), bool (true/false/yes/no/on/off/1/0),
 * duration ("30d", "12h", "90s"), size ("1MiB", "64KiB", "512"), address
 * ("127.0.0.1:8443"), path, and list (comma-separated, repeated keys add up). */
#ifndef CK_UTIL_CONFIG_H
#define CK_UTIL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

typedef enum ck_cfg_type {
  CK_CFG_STRING,
  CK_CFG_INT,
  CK_CFG_BOOL,
  CK_CFG_DURATION,
  CK_CFG_SIZE,
  CK_CFG_ADDR,
  CK_CFG_PATH,
  CK_CFG_LIST
} ck_cfg_type;

/* One accepted key. A schema is an array ended by an entry with key NULL
 * (whose include may chain another schema).
 * section "*" accepts any section name of that prefix form, e.g.
 * {"profile:*", ...} matches [profile:web]. */
typedef struct ck_cfg_key {
  const char *section; /* "log", "gateway", "profile:*" */
  const char *key;
  ck_cfg_type type;
  const char *def; /* default as text, or NULL for none */
  int64_t min;     /* bounds for INT, DURATION (seconds), SIZE (bytes); */
  int64_t max;     /* min == max == 0 means unbounded */
  const char *help;
  /* Only on the terminating entry (key NULL): another schema to consult
   * after this one, so shared tables (ck_log_cfg_keys) chain into a
   * daemon's own. */
  const struct ck_cfg_key *include;
} ck_cfg_key;

typedef struct ck_config ck_config;

/* Loads path against schema. On any error returns it with err->msg of the
 * form "path:line: [section] key: what is wrong". *out is owned by the
 * caller (ck_config_free). */
ck_err ck_config_load(const char *path, const ck_cfg_key *schema,
                      ck_config **out, ck_errctx *err);

/* Same from a string (name is used in messages). */
ck_err ck_config_load_string(const char *name, const char *text,
                             const ck_cfg_key *schema, ck_config **out,
                             ck_errctx *err);

/* An empty config: every getter returns the schema default. */
ck_err ck_config_new_empty(const ck_cfg_key *schema, ck_config **out);

void ck_config_free(ck_config *cfg);

/* Typed getters. The value set in the file, else the schema default, else
 * CK_ERR_NOENT. Strings are borrowed from cfg. Values were validated at load
 * time; a getter whose key is not in the schema returns CK_ERR_INVAL. */
ck_err ck_config_str(const ck_config *cfg, const char *section,
                     const char *key, const char **out);
ck_err ck_config_int(const ck_config *cfg, const char *section,
                     const char *key, int64_t *out);
ck_err ck_config_bool(const ck_config *cfg, const char *section,
                      const char *key, int *out);
/* DURATION in seconds, SIZE in bytes. */
ck_err ck_config_num(const ck_config *cfg, const char *section,
                     const char *key, int64_t *out);

/* LIST values: *n items, items borrowed from cfg. */
ck_err ck_config_list(const ck_config *cfg, const char *section,
                      const char *key, const char *const **items, size_t *n);

/* Names of the sections present in the file matching a schema pattern such
 * as "profile:*" (*n of them). The array is borrowed from cfg and stays
 * valid until ck_config_free; thread-safe (results are cached per
 * pattern). */
ck_err ck_config_sections(const ck_config *cfg, const char *pattern,
                          const char *const **names, size_t *n);

/* Where a key was set, for messages raised after load ("file:line"), or the
 * file name alone when the key came from the default. */
const char *ck_config_where(const ck_config *cfg, const char *section,
                            const char *key, char *buf, size_t len);

/* Parses a size "1MiB", "64KiB", "1GiB", "512" into bytes. */
ck_err ck_size_parse(const char *text, int64_t *bytes);

#endif
