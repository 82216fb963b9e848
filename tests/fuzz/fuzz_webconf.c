/* fuzz_webconf.c — libFuzzer target for the nginx/Apache/HAProxy directive
 * parsers (agent/discover/webconf.c). The fuzz build links only ckcommon,
 * so the parser source is compiled in directly. */
#define _GNU_SOURCE /* memmem, as in webconf.c */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent/discover/webconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ck_webconf wc = {0};
  ck_errctx err = CK_ERRCTX_INIT;
  (void)ck_webconf_sniff((const char *)data, size);
  if (ck_webconf_parse(&wc, "/etc/fuzz/site.conf", (const char *)data, size,
                       &err) == CK_OK) {
    for (size_t i = 0; i < wc.n; i++)
      if (!wc.refs[i].path || !wc.refs[i].path[0] || wc.refs[i].line == 0)
        __builtin_trap();
  }
  ck_webconf_clear(&wc);
  return 0;
}
