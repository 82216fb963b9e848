/* clock.c — the time and randomness seams (see clock.h). */
#include "common/util/clock.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

static ck_clock_fn clock_fn;     /* test override, or NULL */
static void *clock_arg;          /* its argument */
static int64_t fake_offset_ms;   /* CK_FAKE_TIME offset from the real clock */
static ck_random_fn random_fn;   /* test override, or NULL */
static void *random_arg;

static int64_t real_now_ms(void) {
  uv_timeval64_t tv;

  if (uv_gettimeofday(&tv) != 0)
    return 0;
  return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

ck_err ck_clock_init(void) {
  const char *v = getenv("CK_FAKE_TIME");
  int64_t t;

  fake_offset_ms = 0;
  if (v == NULL || *v == '\0')
    return CK_OK;
  if (*v == '+' || *v == '-') {
    if (ck_duration_parse(v + 1, &t) != CK_OK)
      return CK_ERR_CONFIG;
    fake_offset_ms = (*v == '-' ? -t : t) * 1000;
    return CK_OK;
  }
  if (ck_time_parse_rfc3339(v, &t) != CK_OK)
    return CK_ERR_CONFIG;
  fake_offset_ms = t * 1000 - real_now_ms();
  return CK_OK;
}

int64_t ck_clock_now_ms(void) {
  if (clock_fn != NULL)
    return clock_fn(clock_arg);
  return real_now_ms() + fake_offset_ms;
}

int64_t ck_clock_now(void) {
  int64_t ms = ck_clock_now_ms();
  /* floor division so times before 1970 stay consistent */
  return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

uint64_t ck_clock_mono_ms(void) { return uv_hrtime() / 1000000u; }

void ck_clock_set_source(ck_clock_fn fn, void *arg) {
  clock_fn = fn;
  clock_arg = arg;
}

ck_err ck_random(void *buf, size_t n) {
  int r;

  if (random_fn != NULL)
    return random_fn(buf, n, random_arg);
  /* uv_random with no loop is synchronous; it uses getrandom(2) or
   * /dev/urandom, blocking only until the kernel pool is initialized. */
  r = uv_random(NULL, NULL, buf, n, 0, NULL);
  return r == 0 ? CK_OK : ck_err_from_errno(r);
}

void ck_random_set_source(ck_random_fn fn, void *arg) {
  random_fn = fn;
  random_arg = arg;
}

ck_err ck_duration_parse(const char *text, int64_t *seconds) {
  const char *p = text;
  int64_t v = 0, mul;

  if (text == NULL || !isdigit((unsigned char)*p))
    return CK_ERR_PARSE;
  while (isdigit((unsigned char)*p)) {
    if (v > (INT64_MAX - 9) / 10)
      return CK_ERR_RANGE;
    v = v * 10 + (*p++ - '0');
  }
  switch (*p) {
  case '\0':
    mul = 1;
    break;
  case 's':
    mul = 1;
    p++;
    break;
  case 'm':
    mul = 60;
    p++;
    break;
  case 'h':
    mul = 3600;
    p++;
    break;
  case 'd':
    mul = 86400;
    p++;
    break;
  case 'w':
    mul = 7 * 86400;
    p++;
    break;
  default:
    return CK_ERR_PARSE;
  }
  if (*p != '\0')
    return CK_ERR_PARSE;
  if (v > INT64_MAX / mul)
    return CK_ERR_RANGE;
  *seconds = v * mul;
  return CK_OK;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil), so no timegm/TZ dependence. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  int64_t era;
  unsigned yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *p, int n, int *out) {
  int v = 0, i;

  for (i = 0; i < n; i++) {
    if (!isdigit((unsigned char)p[i]))
      return 0;
    v = v * 10 + (p[i] - '0');
  }
  *out = v;
  return 1;
}

ck_err ck_time_parse_rfc3339(const char *s, int64_t *epoch) {
  int y, mo, d, h, mi, sec;
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

  if (s == NULL || strlen(s) != 20)
    return CK_ERR_PARSE;
  if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
      s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
      s[16] != ':' || !digits(s + 17, 2, &sec) || (s[19] != 'Z' && s[19] != 'z'))
    return CK_ERR_PARSE;
  if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
      sec > 60)
    return CK_ERR_RANGE;
  *epoch = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
           mi * 60 + sec;
  return CK_OK;
}

void ck_time_format_rfc3339(int64_t epoch, char *buf, size_t len) {
  int64_t z, era, days = epoch >= 0 ? epoch / 86400 : -((-epoch + 86399) / 86400);
  int64_t secs = epoch - days * 86400, y;
  unsigned doe, yoe, doy, mp, d, m;

  z = days + 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = (unsigned)(z - era * 146097);
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = (int64_t)yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d,
           (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}
