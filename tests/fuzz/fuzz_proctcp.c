/* fuzz_proctcp.c — libFuzzer target for the /proc/net/tcp{,6} parser
 * (platforms/linux/listening_linux.c). The first byte picks IPv4 or IPv6
 * rows; the rest is the text. Each call appends to the array of the
 * previous one, as ck_platform_listening does. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "platforms/listening.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ck_listen_addr *a = NULL;
  size_t n = 0;
  ck_errctx err = CK_ERRCTX_INIT;
  int v6;

  if (size == 0)
    return 0;
  v6 = data[0] & 1;
  (void)ck_listening_parse((const char *)data + 1, size - 1, v6, &a, &n, &err);
  (void)ck_listening_parse((const char *)data + 1, size - 1, !v6, &a, &n, &err);
  for (size_t i = 0; i < n; i++) {
    size_t len = strnlen(a[i].addr, sizeof a[i].addr);
    if (len == 0 || len == sizeof a[i].addr || a[i].port > 65535)
      __builtin_trap();
    for (size_t j = 0; j < i; j++) /* deduplicated */
      if (strcmp(a[i].addr, a[j].addr) == 0)
        __builtin_trap();
  }
  free(a);
  return 0;
}
