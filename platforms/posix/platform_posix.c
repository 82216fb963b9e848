/* platform_posix.c — fallbacks for POSIX systems without Linux specifics. */
#include "platforms/platform.h"

const char *ck_platform_name(void) { return "posix"; }

int ck_platform_stderr_is_journal(void) { return 0; }

int ck_platform_machine_id(char *buf, size_t len) {
  if (buf != NULL && len > 0)
    buf[0] = '\0';
  return 0;
}
