/* log.h — structured logging on two streams.
 *
 * The operating model keeps two streams apart:
 *   CK_LOG_OPS  operational: latency, failures, queue depth, renewals done;
 *   CK_LOG_SEC  security: authentication failures, policy violations,
 *               anomalous issuance, revocations.
 * Each stream has its own destination, format and minimum level, so the
 * security stream can go to a SIEM while operations go to the journal.
 *
 * A record is an event name plus typed key=value fields:
 *   ck_log(CK_LOG_OPS, CK_LOG_INFO, "tls.handshake",
 *          CK_S("peer", c->peer), CK_I("ms", elapsed));
 * rendered as key=value text or one JSON object per line. Fields whose key
 * names a secret (token, secret, password, passphrase, private_key, key_pem,
 * authorization) are always written as "[redacted]".
 *
 * Thread-safe: records from the thread pool are serialized by a mutex. */
#ifndef CK_UTIL_LOG_H
#define CK_UTIL_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

typedef enum ck_log_stream { CK_LOG_OPS = 0, CK_LOG_SEC = 1 } ck_log_stream;

typedef enum ck_log_level {
  CK_LOG_DEBUG = 0,
  CK_LOG_INFO,
  CK_LOG_NOTICE,
  CK_LOG_WARN,
  CK_LOG_ERR,
  CK_LOG_CRIT
} ck_log_level;

typedef enum ck_log_format { CK_LOG_FMT_KV = 0, CK_LOG_FMT_JSON } ck_log_format;

typedef enum ck_kv_type { CK_KV_STR, CK_KV_INT, CK_KV_DBL, CK_KV_BOOL } ck_kv_type;

typedef struct ck_kv {
  const char *key;
  ck_kv_type type;
  union {
    const char *s;
    int64_t i;
    double d;
  } v;
} ck_kv;

#define CK_S(k, val) ((ck_kv){.key = (k), .type = CK_KV_STR, .v.s = (val)})
#define CK_I(k, val) ((ck_kv){.key = (k), .type = CK_KV_INT, .v.i = (int64_t)(val)})
#define CK_D(k, val) ((ck_kv){.key = (k), .type = CK_KV_DBL, .v.d = (double)(val)})
#define CK_B(k, val) ((ck_kv){.key = (k), .type = CK_KV_BOOL, .v.i = !!(val)})
/* An error as two fields: err=<CK_ERR_NAME> msg="<human message>". */
#define CK_E(code, text) CK_S("err", ck_err_name(code)), CK_S("msg", (text))

/* Writes one record. event is a dotted name ("agent.renew.done"). */
void ck_log_kv(ck_log_stream s, ck_log_level lvl, const char *event,
               const ck_kv *kv, size_t n);

#define ck_log(stream, level, event, ...)                                      \
  do {                                                                         \
    const ck_kv ck__kv[] = {CK_S(NULL, NULL), __VA_ARGS__};                    \
    ck_log_kv((stream), (level), (event), ck__kv + 1,                          \
              sizeof ck__kv / sizeof ck__kv[0] - 1);                           \
  } while (0)

/* Sets the program name used in syslog and in records ("certkeeper-agent"). */
void ck_log_set_ident(const char *ident);

/* Configures one stream. dest is "auto" (journal when stderr is connected to
 * journald, else stderr), "stderr", "journal" (stderr with <N> priority
 * prefixes, which journald parses), "syslog", "file:/path" (appended, created
 * 0640) or "none". */
ck_err ck_log_configure(ck_log_stream s, const char *dest, ck_log_format fmt,
                        ck_log_level min_level, ck_errctx *err);

/* Parses "debug", "info", "notice", "warn", "error", "crit". */
ck_err ck_log_level_parse(const char *text, ck_log_level *out);
/* Parses "kv" or "json". */
ck_err ck_log_format_parse(const char *text, ck_log_format *out);
const char *ck_log_level_name(ck_log_level lvl);

/* A hook that receives every rendered line (without newline) in addition to
 * the configured destination; for tests. NULL removes it. */
typedef void (*ck_log_hook)(ck_log_stream s, ck_log_level lvl,
                            const char *line, void *arg);
void ck_log_set_hook(ck_log_hook hook, void *arg);

/* Closes files and syslog. Records after this go to stderr. */
void ck_log_shutdown(void);

#endif
