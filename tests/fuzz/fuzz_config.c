/* fuzz_config.c — the configuration parser (common/util/config.c over
 * inih) on arbitrary text, against the coordinator-like schema below and the
 * shared [log] keys: any input either loads or fails with CK_ERR_CONFIG /
 * CK_ERR_NOMEM, never crashes; what loads answers every getter. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/config.h"
#include "common/util/log_config.h"

static const ck_cfg_key schema[] = {
    {"listen", "http", CK_CFG_ADDR, "127.0.0.1:8080", 0, 0, "", NULL},
    {"store", "sync", CK_CFG_STRING, "normal", 0, 0, "", NULL},
    {"store", "max", CK_CFG_SIZE, "1MiB", 1024, 1 << 30, "", NULL},
    {"renew", "before", CK_CFG_DURATION, "30d", 0, 0, "", NULL},
    {"renew", "workers", CK_CFG_INT, "4", 1, 64, "", NULL},
    {"renew", "enabled", CK_CFG_BOOL, "true", 0, 0, "", NULL},
    {"discover", "roots", CK_CFG_LIST, "", 0, 0, "", NULL},
    {"profile:*", "ttl", CK_CFG_DURATION, NULL, 0, 0, "", NULL},
    {NULL, NULL, 0, NULL, 0, 0, NULL, ck_log_cfg_keys},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  ck_errctx err = CK_ERRCTX_INIT;
  ck_config *cfg = NULL;
  const char *const *items;
  const char *s;
  int64_t n;
  size_t k;
  int b;
  ck_err rc;

  if (text == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  rc = ck_config_load_string("fuzz.conf", text, schema, &cfg, &err);
  if (rc == CK_OK) {
    ck_config_str(cfg, "listen", "http", &s);
    ck_config_str(cfg, "store", "sync", &s);
    ck_config_num(cfg, "store", "max", &n);
    ck_config_num(cfg, "renew", "before", &n);
    ck_config_int(cfg, "renew", "workers", &n);
    ck_config_bool(cfg, "renew", "enabled", &b);
    ck_config_list(cfg, "discover", "roots", &items, &k);
    ck_config_sections(cfg, "profile:*", &items, &k);
    for (size_t i = 0; i < k; i++)
      ck_config_num(cfg, items[i], "ttl", &n);
    ck_config_free(cfg);
  } else if (rc != CK_ERR_CONFIG && rc != CK_ERR_NOMEM) {
    abort();
  } else if (strstr(err.msg, "fuzz.conf") == NULL) {
    abort(); /* every error names the file */
  }
  free(text);
  return 0;
}
