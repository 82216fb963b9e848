/* fuzz_est_fields.c — libFuzzer target for the length-prefixed fields
 * between priv and the EST re-enrollment helper (agent/run/est_helper.c):
 * priv reads the helper's stdout with ck_est_fields_unpack, so whatever it
 * accepts must lie inside the input and pack back to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/run/est_helper.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ck_wire_bytes v[CK_EST_HELPER_IN];
  uint8_t *re = NULL;
  size_t n, i, len = 0;

  if (size == 0)
    return 0;
  n = data[0] % CK_EST_HELPER_IN + 1;
  if (ck_est_fields_unpack(data + 1, size - 1, v, n, NULL) != 0)
    return 0;
  for (i = 0; i < n; i++)
    if (v[i].data < data + 1 || v[i].data + v[i].len > data + size)
      __builtin_trap();
  if (ck_est_fields_pack(v, n, &re, &len) != 0 || len != size - 1 ||
      memcmp(re, data + 1, len) != 0)
    __builtin_trap();
  free(re);
  return 0;
}
