/* platform_linux.c — Linux implementation of platform.h. */
#include "platforms/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util/fs.h"

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

int ck_platform_machine_id(char *buf, size_t len) {
  static const char *const files[] = {"/etc/machine-id",
                                      "/var/lib/dbus/machine-id"};
  size_t f, i, n;

  if (buf == NULL || len == 0)
    return 0;
  buf[0] = '\0';
  for (f = 0; f < sizeof files / sizeof files[0]; f++) {
    uint8_t *data = NULL;

    if (ck_fs_read_file(files[f], 256, &data, &n, NULL) != CK_OK)
      continue;
    while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r' ||
                     data[n - 1] == ' ' || data[n - 1] == '\t'))
      n--;
    for (i = 0; i < n; i++)
      if (data[i] < 0x21 || data[i] > 0x7e)
        break;
    if (n > 0 && i == n && n < len) {
      memcpy(buf, data, n);
      buf[n] = '\0';
      free(data);
      return 1;
    }
    free(data);
  }
  return 0;
}
