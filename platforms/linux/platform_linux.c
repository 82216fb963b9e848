/* platform_linux.c — Linux implementation of platform.h. */
#include "platforms/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

const char *ck_platform_name(void) { return "linux"; }

int ck_platform_stderr_is_journal(void) {
  const char *js = getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;

  /* systemd sets JOURNAL_STREAM=<device>:<inode> of the stream socket. */
  if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
    return 0;
  if (fstat(2, &st) != 0)
    return 0;
  return (unsigned long long)st.st_dev == dev &&
         (unsigned long long)st.st_ino == ino;
}
