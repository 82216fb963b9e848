/* mem_posix.c — heap tuning fallbacks (platform.h): nothing to do. */
#include "platforms/platform.h"

void ck_platform_mem_init(void) {}

void ck_platform_mem_trim(void) {}
