/* test_mem.c — the heap seam (platforms/platform.h): after many small
 * blocks are freed, ck_platform_mem_trim gives their pages back (glibc:
 * the resident set shrinks even though a block above them is still in
 * use); elsewhere (and under a sanitizer's allocator) both calls are
 * harmless no-ops. */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platforms/platform.h"

/* A sanitizer's allocator replaces glibc's: nothing for malloc_trim to do. */
#if defined(__SANITIZE_ADDRESS__)
#define CK_TEST_OWN_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define CK_TEST_OWN_MALLOC 1
#endif
#endif

#define N_BLOCKS 4096
#define BLOCK 2048 /* below any mmap threshold: from the heap */

/* Resident pages of this process (Linux /proc; -1 elsewhere). */
static long resident_pages(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = -1, res = -1;

  if (f == NULL)
    return -1;
  if (fscanf(f, "%ld %ld", &size, &res) != 2)
    res = -1;
  fclose(f);
  return res;
}

static void test_trim(void **state) {
  static char *v[N_BLOCKS];
  char *keep;
  long before, after;
  size_t i;

  (void)state;
  ck_platform_mem_init();
  for (i = 0; i < N_BLOCKS; i++) {
    v[i] = malloc(BLOCK);
    assert_non_null(v[i]);
    memset(v[i], 0x5a, BLOCK);
  }
  keep = malloc(64); /* pins the top of the heap */
  assert_non_null(keep);
  for (i = 0; i < N_BLOCKS; i++)
    free(v[i]);
  before = resident_pages();
  ck_platform_mem_trim();
  after = resident_pages();
#if defined(__GLIBC__) && !defined(CK_TEST_OWN_MALLOC)
  /* 8 MiB were freed below `keep`: most of it must be given back */
  assert_true(before > 0 && after > 0);
  assert_true(before - after > (long)(N_BLOCKS * BLOCK / 4096) / 2);
#else
  (void)before;
  (void)after;
#endif
  free(keep);
  ck_platform_mem_trim(); /* twice is fine */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_trim),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
