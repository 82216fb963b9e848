/* notify_posix.c — notify.h where no service manager is known: nothing to
 * tell, so every call reports "nobody listens". */
#include "platforms/notify.h"

int ck_notify(const char *state) {
  (void)state;
  return 0;
}
