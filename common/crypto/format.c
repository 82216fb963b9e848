/* format.c — text helpers of the crypto room: a growing string builder,
 * hex and fingerprint formatting, ASN.1 time conversion.
 *
 * Kept apart from the parsers so the exact printed forms (fingerprints,
 * escaped names, epoch seconds) live in one place for both backends. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto_int.h"

/* ---------------------------------------------------------- string builder */

static int sb_reserve(ck__sb *sb, size_t extra) {
  size_t ncap;
  char *ns;

  if (sb->failed)
    return -1;
  if (extra > (SIZE_MAX / 2) - sb->len - 1) {
    sb->failed = 1;
    return -1;
  }
  if (sb->len + extra + 1 <= sb->cap)
    return 0;
  ncap = sb->cap ? sb->cap : 64;
  while (ncap < sb->len + extra + 1)
    ncap *= 2;
  ns = realloc(sb->s, ncap);
  if (ns == NULL) {
    sb->failed = 1;
    return -1;
  }
  sb->s = ns;
  sb->cap = ncap;
  return 0;
}

void ck__sb_putn(ck__sb *sb, const char *s, size_t n) {
  if (sb_reserve(sb, n) != 0)
    return;
  memcpy(sb->s + sb->len, s, n);
  sb->len += n;
  sb->s[sb->len] = '\0';
}

void ck__sb_puts(ck__sb *sb, const char *s) {
  ck__sb_putn(sb, s, strlen(s));
}

void ck__sb_putc(ck__sb *sb, char c) {
  ck__sb_putn(sb, &c, 1);
}

void ck__sb_printf(ck__sb *sb, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) {
    sb->failed = 1;
    return;
  }
  ck__sb_putn(sb, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void ck__sb_free(ck__sb *sb) {
  free(sb->s);
  memset(sb, 0, sizeof *sb);
}

const char *ck__sb_to_arena(ck__sb *sb, ck_arena *a) {
  if (sb->failed)
    return NULL;
  return ck_arena_strndup(a, sb->s != NULL ? sb->s : "", sb->len);
}

void ck__sb_put_printable(ck__sb *sb, const uint8_t *v, size_t n) {
  size_t i;

  for (i = 0; i < n; i++) {
    if (v[i] >= 0x20 && v[i] < 0x7f && v[i] != '\\')
      ck__sb_putc(sb, (char)v[i]);
    else
      ck__sb_printf(sb, "\\x%02x", v[i]);
  }
}

/* -------------------------------------------------------------------- hex */

ck_err ck_crypto_hex(const uint8_t *in, size_t n, int colons, char *out,
                     size_t outlen) {
  static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
  const char *digits = colons ? up : lo;
  size_t need, i, k = 0;

  if (out == NULL || outlen == 0)
    return CK_ERR_RANGE;
  need = colons ? (n == 0 ? 1 : 3 * n) : 2 * n + 1;
  if (n > SIZE_MAX / 3 || outlen < need) {
    out[0] = '\0';
    return CK_ERR_RANGE;
  }
  for (i = 0; i < n; i++) {
    if (colons && i > 0)
      out[k++] = ':';
    out[k++] = digits[in[i] >> 4];
    out[k++] = digits[in[i] & 15];
  }
  out[k] = '\0';
  return CK_OK;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

ck_err ck_crypto_fingerprint_parse(const char *text,
                                   uint8_t out[CK_SHA256_LEN]) {
  uint8_t tmp[CK_SHA256_LEN];
  size_t n = 0;
  int hi, lo;

  if (text == NULL)
    return CK_ERR_PARSE;
  while (*text != '\0') {
    if (*text == ':' && n > 0) {
      text++;
      continue;
    }
    hi = hexval(text[0]);
    lo = hi < 0 ? -1 : hexval(text[1]);
    if (lo < 0 || n == CK_SHA256_LEN)
      return CK_ERR_PARSE;
    tmp[n++] = (uint8_t)(hi << 4 | lo);
    text += 2;
  }
  if (n != CK_SHA256_LEN)
    return CK_ERR_PARSE;
  memcpy(out, tmp, sizeof tmp);
  return CK_OK;
}

/* ------------------------------------------------------------------- time */

int64_t ck__civil_to_epoch(int year, int mon, int day, int hour, int min,
                           int sec) {
  /* Howard Hinnant's days_from_civil. */
  int64_t y = (int64_t)year - (mon <= 2);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t mp = (mon + 9) % 12;
  int64_t doy = (153 * mp + 2) / 5 + day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;

  return days * 86400 + hour * 3600 + min * 60 + sec;
}

static int digits(const uint8_t *p, size_t n, int *out) {
  int v = 0;
  size_t i;

  for (i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    v = v * 10 + (p[i] - '0');
  }
  *out = v;
  return 0;
}

int ck__asn1_time(const ck__tlv *t, int64_t *out) {
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const uint8_t *p = t->v;
  int year, mon, day, hour, min, sec;

  if (t->tag == CK__T_UTCTIME && t->len == 13 && p[12] == 'Z') {
    if (digits(p, 2, &year) != 0)
      return -1;
    year += year < 50 ? 2000 : 1900; /* RFC 5280 4.1.2.5.1 */
    p += 2;
  } else if (t->tag == CK__T_GENTIME && t->len == 15 && p[14] == 'Z') {
    if (digits(p, 4, &year) != 0)
      return -1;
    p += 4;
  } else {
    return -1;
  }
  if (digits(p, 2, &mon) != 0 || digits(p + 2, 2, &day) != 0 ||
      digits(p + 4, 2, &hour) != 0 || digits(p + 6, 2, &min) != 0 ||
      digits(p + 8, 2, &sec) != 0)
    return -1;
  if (mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1] || hour > 23 ||
      min > 59 || sec > 60)
    return -1;
  *out = ck__civil_to_epoch(year, mon, day, hour, min, sec);
  return 0;
}
