/* test_nonce.c — ACME replay nonces (coordinator/acme/nonce.h): a nonce
 * works once; reused, made-up, tampered, stale (by count and by age, with
 * the clock seam) and concurrent double use are refused; memory is bounded
 * by the window whatever the number issued. */
#include "tests/testutil.h"

#include <pthread.h>
#include <string.h>

#include "common/util/clock.h"
#include "coordinator/acme/nonce.h"

static int64_t fake_now_ms;
static int64_t fake_clock(void *arg) {
  (void)arg;
  return fake_now_ms;
}

static void once(void **state) {
  ck_acme_nonces *n = NULL;
  char a[CK_ACME_NONCE_LEN], b[CK_ACME_NONCE_LEN];
  const char *why;

  (void)state;
  assert_int_equal(ck_acme_nonces_new(0, 0, &n, NULL), CK_OK);
  assert_int_equal(ck_acme_nonce_issue(n, a), CK_OK);
  assert_int_equal(ck_acme_nonce_issue(n, b), CK_OK);
  assert_int_equal(strlen(a), CK_ACME_NONCE_LEN - 1);
  assert_string_not_equal(a, b);
  assert_int_equal(ck_acme_nonce_consume(n, b, &why), CK_OK);
  assert_int_equal(ck_acme_nonce_consume(n, b, &why), CK_ERR_AUTH);
  assert_string_equal(why, "nonce already used");
  assert_int_equal(ck_acme_nonce_consume(n, a, &why), CK_OK);
  assert_int_equal(ck_acme_nonce_consume(n, "", &why), CK_ERR_AUTH);
  assert_string_equal(why, "unknown nonce");
  assert_int_equal(ck_acme_nonce_consume(n, NULL, &why), CK_ERR_AUTH);
  assert_int_equal(
      ck_acme_nonce_consume(n, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &why),
      CK_ERR_AUTH);
  assert_int_equal(ck_acme_nonce_issue(n, a), CK_OK);
  a[20] = a[20] == 'A' ? 'B' : 'A'; /* MAC no longer matches */
  assert_int_equal(ck_acme_nonce_consume(n, a, &why), CK_ERR_AUTH);
  assert_string_equal(why, "unknown nonce");
  ck_acme_nonces_free(n);
  /* another instance (a restart) knows none of the old nonces */
  assert_int_equal(ck_acme_nonces_new(0, 0, &n, NULL), CK_OK);
  assert_int_equal(ck_acme_nonce_consume(n, b, &why), CK_ERR_AUTH);
  ck_acme_nonces_free(n);
}

static void window(void **state) {
  ck_acme_nonces *n = NULL;
  char first[CK_ACME_NONCE_LEN], mid[CK_ACME_NONCE_LEN] = "",
                                 x[CK_ACME_NONCE_LEN] = "";
  const char *why;
  int i;

  (void)state;
  assert_int_equal(ck_acme_nonces_new(256, 0, &n, NULL), CK_OK);
  ck_acme_nonce_issue(n, first);
  for (i = 0; i < 1000; i++) {
    if (i == 900)
      ck_acme_nonce_issue(n, mid);
    else
      ck_acme_nonce_issue(n, x);
  }
  assert_int_equal(ck_acme_nonce_consume(n, first, &why), CK_ERR_AUTH);
  assert_string_equal(why, "nonce expired (too many issued since)");
  assert_int_equal(ck_acme_nonce_consume(n, mid, &why), CK_OK);
  assert_int_equal(ck_acme_nonce_consume(n, x, &why), CK_OK);
  ck_acme_nonces_free(n);
}

static void lifetime(void **state) {
  ck_acme_nonces *n = NULL;
  char a[CK_ACME_NONCE_LEN], b[CK_ACME_NONCE_LEN];
  const char *why;

  (void)state;
  fake_now_ms = 1700000000000LL;
  ck_clock_set_source(fake_clock, NULL);
  assert_int_equal(ck_acme_nonces_new(0, 60, &n, NULL), CK_OK);
  ck_acme_nonce_issue(n, a);
  ck_acme_nonce_issue(n, b);
  fake_now_ms += 59 * 1000;
  assert_int_equal(ck_acme_nonce_consume(n, a, &why), CK_OK);
  fake_now_ms += 2 * 1000;
  assert_int_equal(ck_acme_nonce_consume(n, b, &why), CK_ERR_AUTH);
  assert_string_equal(why, "nonce expired");
  ck_clock_set_source(NULL, NULL);
  ck_acme_nonces_free(n);
}

/* Two threads race to use the same nonces: each is accepted exactly once. */
typedef struct race {
  ck_acme_nonces *n;
  char (*nonces)[CK_ACME_NONCE_LEN];
  int count, wins;
} race;

static void *racer(void *arg) {
  race *r = arg;
  const char *why;
  int i;
  for (i = 0; i < r->count; i++)
    r->wins += ck_acme_nonce_consume(r->n, r->nonces[i], &why) == CK_OK;
  return NULL;
}

static void concurrent(void **state) {
  static char nonces[2000][CK_ACME_NONCE_LEN];
  race r1, r2;
  pthread_t t1, t2;
  ck_acme_nonces *n = NULL;
  int i;

  (void)state;
  assert_int_equal(ck_acme_nonces_new(0, 0, &n, NULL), CK_OK);
  for (i = 0; i < 2000; i++)
    ck_acme_nonce_issue(n, nonces[i]);
  r1 = (race){n, nonces, 2000, 0};
  r2 = r1;
  pthread_create(&t1, NULL, racer, &r1);
  pthread_create(&t2, NULL, racer, &r2);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  assert_int_equal(r1.wins + r2.wins, 2000);
  ck_acme_nonces_free(n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(once),
      cmocka_unit_test(window),
      cmocka_unit_test(lifetime),
      cmocka_unit_test(concurrent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
