/* fuzz_outbox.c — libFuzzer target for what the agent reads back from its
 * state directory: an outbox entry file and the outbox meta file
 * (agent/link/outbox.c), and link.state (agent/link/session.c). The first
 * byte picks the file, the rest is its content. Damaged entries must be
 * skipped, never crash; a meta file either loads or is refused. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/link/outbox.h"
#include "agent/link/session.h"
#include "common/util/fs.h"
#include "common/util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

/* Removes the scratch directory when the fuzzer exits. */
static void cleanup(void) {
  static const char *const names[] = {"0000000000000001.ev", "meta",
                                      "link.state"};
  char p[128];
  size_t i;

  for (i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    unlink(p);
  }
  rmdir(dir);
}

static void put(const char *name, const uint8_t *d, size_t n) {
  char p[128];

  snprintf(p, sizeof p, "%s/%s", dir, name);
  (void)ck_fs_write_atomic(p, d, n, 0600, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ck_outbox *ob = NULL;
  ck_link_state ls;
  char p[128];
  uint64_t seq = 0;
  uint8_t *f = NULL;
  size_t len = 0, n = 0, b = 0;
  uint64_t dropped = 0;

  if (size < 1 || size > 64 * 1024)
    return 0;
  if (dir[0] == '\0') {
    snprintf(dir, sizeof dir, "/tmp/fuzz_outbox.XXXXXX");
    if (mkdtemp(dir) == NULL)
      abort();
    atexit(cleanup);
    ck_log_configure(CK_LOG_OPS, "none", CK_LOG_FMT_KV, CK_LOG_CRIT, NULL);
  }
  snprintf(p, sizeof p, "%s/0000000000000001.ev", dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/meta", dir);
  unlink(p);
  switch (data[0] % 3) {
  case 0:
    put("0000000000000001.ev", data + 1, size - 1);
    break;
  case 1:
    put("meta", data + 1, size - 1);
    break;
  default:
    put("link.state", data + 1, size - 1);
    snprintf(p, sizeof p, "%s/link.state", dir);
    if (ck_link_state_read(p, &ls, NULL) == CK_OK &&
        (ls.state[sizeof ls.state - 1] != '\0' ||
         ls.last_error[sizeof ls.last_error - 1] != '\0'))
      __builtin_trap();
    return 0;
  }
  if (ck_outbox_open(dir, 100, 1 << 20, &ob, NULL) == CK_OK) {
    while (ck_outbox_peek(ob, seq, &seq, &f, &len, NULL) == CK_OK) {
      if (len < 4)
        __builtin_trap();
      free(f);
    }
    ck_outbox_close(ob);
  }
  (void)ck_outbox_stat(dir, &n, &b, &dropped, NULL);
  return 0;
}
