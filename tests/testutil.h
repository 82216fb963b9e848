/* testutil.h — helpers shared by the cmocka tests.
 * Include after <stdarg.h>, <stddef.h>, <setjmp.h>, <stdint.h> and <cmocka.h>
 * (cmocka's own requirement); or just include this header, which does it. */
#ifndef CK_TESTS_TESTUTIL_H
#define CK_TESTS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

/* Path of a file under tests/data (static buffer, overwritten per call). */
const char *ck_test_data(const char *rel);

/* Reads a file under tests/data into a malloc'ed NUL-terminated buffer;
 * fails the test when missing. */
char *ck_test_slurp(const char *rel, size_t *len);

/* Creates a fresh temporary directory (removed by ck_test_rmtree). The
 * returned string is malloc'ed. */
char *ck_test_tmpdir(void);
void ck_test_rmtree(const char *dir);

/* Runs the loop until *flag becomes non-zero or timeout_ms passes; fails the
 * test on timeout. The condition is checked after each loop iteration (no
 * sleeping): a timer bounds the wait. */
void ck_test_run_until(uv_loop_t *loop, const volatile int *flag,
                       unsigned timeout_ms);

/* Runs a shell command, capturing stdout+stderr into a malloc'ed string
 * (*out, may be NULL to discard). Returns the exit status (or -1). */
int ck_test_sh(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True when the given program is on PATH. */
int ck_test_have(const char *prog);

#endif
