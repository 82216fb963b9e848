/* test_clock.c — time parsing/formatting and the clock/random seams. */
#include "tests/testutil.h"

#include <string.h>

#include "common/util/clock.h"
#include "common/util/mem.h"

static int64_t fixed_clock(void *arg) { return *(int64_t *)arg; }

static void rfc3339_roundtrip(void **state) {
  static const struct {
    const char *text;
    int64_t epoch;
  } cases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"2000-02-29T12:34:56Z", 951827696},
      {"2029-01-31T12:00:00Z", 1864555200},
      {"2038-01-19T03:14:08Z", 2147483648LL},
      {"2100-12-31T23:59:59Z", 4133980799LL},
  };
  char buf[32];
  int64_t t;
  size_t i;

  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(ck_time_parse_rfc3339(cases[i].text, &t), CK_OK);
    assert_int_equal(t, cases[i].epoch);
    ck_time_format_rfc3339(cases[i].epoch, buf, sizeof buf);
    assert_string_equal(buf, cases[i].text);
  }
}

static void rfc3339_rejects(void **state) {
  static const char *bad[] = {"", "2029-01-31", "2029-01-31T12:00:00",
                              "2029-13-01T00:00:00Z", "2029-02-30T00:00:00Z",
                              "2029-01-31T24:00:00Z", "2029-01-31X12:00:00Z",
                              "20a9-01-31T12:00:00Z", "2029-01-31T12:00:00+01:00"};
  int64_t t;
  size_t i;

  (void)state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_not_equal(ck_time_parse_rfc3339(bad[i], &t), CK_OK);
}

static void durations(void **state) {
  int64_t s;

  (void)state;
  assert_int_equal(ck_duration_parse("90s", &s), CK_OK);
  assert_int_equal(s, 90);
  assert_int_equal(ck_duration_parse("15m", &s), CK_OK);
  assert_int_equal(s, 900);
  assert_int_equal(ck_duration_parse("30d", &s), CK_OK);
  assert_int_equal(s, 30 * 86400);
  assert_int_equal(ck_duration_parse("2w", &s), CK_OK);
  assert_int_equal(s, 14 * 86400);
  assert_int_equal(ck_duration_parse("42", &s), CK_OK);
  assert_int_equal(s, 42);
  assert_int_equal(ck_duration_parse("", &s), CK_ERR_PARSE);
  assert_int_equal(ck_duration_parse("5y", &s), CK_ERR_PARSE);
  assert_int_equal(ck_duration_parse("-5s", &s), CK_ERR_PARSE);
  assert_int_equal(ck_duration_parse("5ss", &s), CK_ERR_PARSE);
  assert_int_equal(ck_duration_parse("99999999999999999999d", &s), CK_ERR_RANGE);
}

static void clock_seam(void **state) {
  int64_t fixed = 1864555200123LL;

  (void)state;
  ck_clock_set_source(fixed_clock, &fixed);
  assert_int_equal(ck_clock_now(), 1864555200);
  assert_int_equal(ck_clock_now_ms(), fixed);
  ck_clock_set_source(NULL, NULL);
  assert_true(ck_clock_now() > 1700000000 && ck_clock_now() < 1864555200);
}

static void fake_time_env(void **state) {
  int64_t t;

  (void)state;
  setenv("CK_FAKE_TIME", "2029-01-31T12:00:00Z", 1);
  assert_int_equal(ck_clock_init(), CK_OK);
  t = ck_clock_now();
  assert_true(t >= 1864555200 && t < 1864555200 + 60);
  setenv("CK_FAKE_TIME", "+30d", 1);
  assert_int_equal(ck_clock_init(), CK_OK);
  unsetenv("CK_FAKE_TIME");
  t = ck_clock_now();
  assert_int_equal(ck_clock_init(), CK_OK);
  assert_true(t - ck_clock_now() >= 30 * 86400 - 60);
  setenv("CK_FAKE_TIME", "tomorrow", 1);
  assert_int_equal(ck_clock_init(), CK_ERR_CONFIG);
  unsetenv("CK_FAKE_TIME");
  assert_int_equal(ck_clock_init(), CK_OK);
}

static ck_err counting_random(void *buf, size_t n, void *arg) {
  size_t i;
  unsigned char *p = buf;

  for (i = 0; i < n; i++)
    p[i] = (unsigned char)(*(int *)arg)++;
  return CK_OK;
}

static void random_seam(void **state) {
  unsigned char a[32], b[32];
  int ctr = 0;

  (void)state;
  assert_int_equal(ck_random(a, sizeof a), CK_OK);
  assert_int_equal(ck_random(b, sizeof b), CK_OK);
  assert_memory_not_equal(a, b, sizeof a);
  ck_random_set_source(counting_random, &ctr);
  assert_int_equal(ck_random(a, 4), CK_OK);
  assert_int_equal(a[0], 0);
  assert_int_equal(a[3], 3);
  ck_random_set_source(NULL, NULL);
}

static void monotonic(void **state) {
  uint64_t a = ck_clock_mono_ms(), b = ck_clock_mono_ms();

  (void)state;
  assert_true(b >= a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rfc3339_roundtrip), cmocka_unit_test(rfc3339_rejects),
      cmocka_unit_test(durations),         cmocka_unit_test(clock_seam),
      cmocka_unit_test(fake_time_env),     cmocka_unit_test(random_seam),
      cmocka_unit_test(monotonic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
