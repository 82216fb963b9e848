/* sandbox_posix.c — the system-call filter on generic POSIX systems: there
 * is none (seccomp is Linux's). The user switch, which is portable, is
 * user_posix.c. */
#include "platforms/sandbox.h"

ck_err ck_sandbox_enter_net(ck_errctx *err) {
  return ck_failf(err, CK_ERR_UNSUPPORTED,
                  "no system-call sandbox on this platform (seccomp is "
                  "Linux-only)");
}
