/* bench_discover.c — times one discovery scan (agent/discover/discover.h)
 * over the given paths, e.g. a directory of 10,000 key files:
 *   bench_discover [--full-key-parse] [--repeat N] PATH...
 * --full-key-parse loads every key with the crypto backend instead of
 * reading its public key from the encoding (the old way), for comparison.
 * Prints files, findings, keys, certificates matched to keys and the best
 * elapsed time of the repeats. Figures: docs/performance.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/discover/discover.h"
#include "common/crypto/crypto.h"
#include "common/util/clock.h"

int main(int argc, char **argv) {
  const char **roots = calloc((size_t)argc + 1, sizeof(char *));
  ck_discover_opts o;
  size_t nr = 0;
  long repeat = 3, best = -1;
  int full = 0;
  if (!roots)
    return 1;
  memset(&o, 0, sizeof(o));
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--full-key-parse"))
      full = 1;
    else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
      repeat = strtol(argv[++i], NULL, 10);
    else
      roots[nr++] = argv[i];
  }
  if (!nr || repeat < 1 || repeat > 1000) {
    fprintf(stderr, "usage: bench_discover [--full-key-parse] [--repeat N] "
                    "PATH...\n");
    free(roots);
    return 2;
  }
  o.roots = roots;
  o.n_roots = nr;
  o.full_key_parse = full;
  for (long r = 0; r < repeat; r++) {
    ck_discover d;
    ck_errctx e = CK_ERRCTX_INIT;
    unsigned long keys = 0, matched = 0;
    uint64_t t0 = ck_clock_mono_ms();
    long ms;
    memset(&d, 0, sizeof(d));
    if (ck_discover_run(&o, &d, &e) != CK_OK) {
      fprintf(stderr, "scan: %s\n", ck_errctx_msg(&e));
      ck_discover_free(&d);
      free(roots);
      return 1;
    }
    ms = (long)(ck_clock_mono_ms() - t0);
    for (size_t i = 0; i < d.n; i++) {
      keys += !strcmp(d.f[i].kind, "key");
      matched += d.f[i].has_cert && d.f[i].key_match == 1;
    }
    printf("%s %s: %lu files, %zu findings, %lu keys, %lu certificates "
           "matched, %ld ms\n",
           ck_crypto_backend(), full ? "full-key-parse" : "peek",
           d.stats.files, d.n, keys, matched, ms);
    if (best < 0 || ms < best)
      best = ms;
    ck_discover_free(&d);
  }
  printf("best: %ld ms\n", best);
  free(roots);
  return 0;
}
