/* mem_linux.c — glibc heap tuning for the long-lived agent processes
 * (platform.h): fewer per-thread arenas and giving freed memory back. */
#include "platforms/platform.h"

#include <stdlib.h> /* defines __GLIBC__ on glibc (musl has no such knobs) */

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void ck_platform_mem_init(void) {
#if defined(__GLIBC__)
  /* one arena: the agent's pool threads (a scan, a reload command) are
   * few and short, and every extra arena keeps its freed pages */
  (void)mallopt(M_ARENA_MAX, 1);
#endif
}

void ck_platform_mem_trim(void) {
#if defined(__GLIBC__)
  (void)malloc_trim(0);
#endif
}
