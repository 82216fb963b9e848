/* listening_posix.c — listing listening sockets needs /proc/net (Linux);
 * elsewhere the agent probes only endpoints named in configuration. */
#include "platforms/listening.h"

ck_err ck_platform_listening(ck_listen_addr **out, size_t *n, ck_errctx *err) {
  *out = NULL;
  *n = 0;
  return ck_failf(err, CK_ERR_UNSUPPORTED,
                  "listing listening sockets needs /proc/net (Linux)");
}

ck_err ck_listening_parse(const char *text, size_t len, int v6,
                          ck_listen_addr **out, size_t *n, ck_errctx *err) {
  return ck_failf(err, CK_ERR_UNSUPPORTED,
                  "the /proc/net/tcp format is Linux-only");
}
