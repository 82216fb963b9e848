/* fuzz_mstate.c — libFuzzer target for the managed-certificate state file
 * parser (agent/manage/mstate.c): whatever parses must format and parse
 * back to the same values. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/manage/mstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ck_mstate a, b;
  ck_errctx err = CK_ERRCTX_INIT;
  char *text = NULL;
  size_t len = 0;

  if (ck_mstate_parse((const char *)data, size, &a, &err) != CK_OK)
    return 0;
  if (a.state[0] == '\0')
    __builtin_trap();
  if (ck_mstate_format(&a, &text, &len, &err) != CK_OK)
    __builtin_trap();
  if (ck_mstate_parse(text, len, &b, &err) != CK_OK ||
      strcmp(a.state, b.state) != 0 || a.attempt != b.attempt ||
      a.not_after != b.not_after || a.next_renewal != b.next_renewal ||
      a.has_fingerprint != b.has_fingerprint)
    __builtin_trap();
  free(text);
  return 0;
}
