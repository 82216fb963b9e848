/* hwkeys_posix.c — no device manager to ask on generic POSIX systems:
 * hardware key stores are not reported there. */
#include "platforms/hwkeys.h"

#include <stddef.h>

ck_err ck_hwkeys_start(uv_loop_t *loop, ck_hwkeys_cb cb, void *arg,
                       ck_hwkeys **out, ck_errctx *err) {
  *out = NULL;
  return ck_failf(err, CK_ERR_UNSUPPORTED,
                  "hardware key store monitoring needs libudev (Linux)");
}

void ck_hwkeys_stop(ck_hwkeys *h) {
  (void)h;
}
