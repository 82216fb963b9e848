/* cli_out.c — error lines, JSON, tables and field blocks (cli_out.h). */
#include "coordinator/cli/cli_out.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"

#define CELL_MAX 1024

/* Length of the valid, printable UTF-8 character at s (1..4), or 0 when
 * the bytes there are not one (invalid, overlong, surrogate, C1 control). */
static size_t utf8_char(const unsigned char *s) {
  uint32_t cp;
  size_t n, i;

  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    n = 2, cp = s[0] & 0x1f;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    n = 3, cp = s[0] & 0x0f;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    n = 4, cp = s[0] & 0x07;
  else
    return 0;
  for (i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
    return 0;
  return n;
}

static int ascii_ok(unsigned char c, int keep_nl) {
  return (c >= 0x20 && c != 0x7f) || (keep_nl && c == '\n') || c == '\t';
}

char *ck_cli_clean(const char *s, int keep_nl, char *out, size_t outlen) {
  const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
  size_t o = 0, n;

  while (*p != '\0') {
    n = utf8_char(p);
    if (n == 1 && !ascii_ok(*p, keep_nl))
      n = 0;
    if (n == 0) {
      if (o + 1 >= outlen)
        break;
      out[o++] = '?';
      p++;
      continue;
    }
    if (o + n >= outlen)
      break;
    memcpy(out + o, p, n);
    o += n;
    p += n;
  }
  out[o] = '\0';
  return out;
}

void ck_cli_out_clean(FILE *f, const char *s, int keep_nl) {
  const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
  size_t n;

  while (*p != '\0') {
    n = utf8_char(p);
    if (n == 1 && !ascii_ok(*p, keep_nl))
      n = 0;
    if (n == 0) {
      fputc('?', f);
      p++;
    } else {
      fwrite(p, 1, n, f);
      p += n;
    }
  }
}

void ck_cli_errorf(const ck_cli *cli, const char *fmt, ...) {
  char msg[2048];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fflush(stdout);
  fputs("certkeeper: ", stderr);
  if (cli != NULL && cli->cmd_name != NULL)
    fprintf(stderr, "%s: ", cli->cmd_name);
  ck_cli_out_clean(stderr, msg, 0);
  fputc('\n', stderr);
}

int ck_cli_out_json(const json_t *j) {
  if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
      fputc('\n', stdout) == EOF || fflush(stdout) != 0)
    return CK_CLI_LOCAL_IO;
  return CK_CLI_OK;
}

const char *ck_cli_fmt_value(const json_t *v, char *buf, size_t len) {
  char tmp[CELL_MAX];
  char *dump;
  size_t i, o = 0;
  const json_t *e;

  tmp[0] = '\0';
  if (v == NULL || json_is_null(v)) {
    snprintf(tmp, sizeof tmp, "-");
  } else if (json_is_string(v)) {
    /* a multi-line string (a list kept as lines) reads as "a, b" */
    const char *p = json_string_value(v);
    for (; *p != '\0' && o + 3 < sizeof tmp; p++) {
      if (*p == '\n' || *p == '\r') {
        if (o > 0 && p[1] != '\0' && p[1] != '\n' && p[1] != '\r') {
          tmp[o++] = ',';
          tmp[o++] = ' ';
        }
      } else {
        tmp[o++] = *p;
      }
    }
    tmp[o] = '\0';
    if (o == 0)
      snprintf(tmp, sizeof tmp, "-");
  } else if (json_is_integer(v)) {
    snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  } else if (json_is_real(v)) {
    snprintf(tmp, sizeof tmp, "%g", json_real_value(v));
  } else if (json_is_boolean(v)) {
    snprintf(tmp, sizeof tmp, "%s", json_is_true(v) ? "yes" : "no");
  } else if (json_is_array(v) && json_array_size(v) == 0) {
    snprintf(tmp, sizeof tmp, "-");
  } else if (json_is_array(v)) {
    int scalars = 1;
    json_array_foreach(v, i, e) {
      scalars &= !json_is_object(e) && !json_is_array(e);
    }
    if (scalars) {
      json_array_foreach(v, i, e) {
        char one[CELL_MAX];
        int w = snprintf(tmp + o, sizeof tmp - o, "%s%s", i ? ", " : "",
                         ck_cli_fmt_value(e, one, sizeof one));
        if (w < 0 || (size_t)w >= sizeof tmp - o)
          break;
        o += (size_t)w;
      }
    } else if ((dump = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER)) !=
               NULL) {
      snprintf(tmp, sizeof tmp, "%s", dump);
      free(dump);
    }
  } else if ((dump = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER)) !=
             NULL) {
    snprintf(tmp, sizeof tmp, "%s", dump);
    free(dump);
  }
  return ck_cli_clean(tmp, 0, buf, len);
}

const char *ck_cli_fmt_expiry(const char *rfc3339, char *buf, size_t len) {
  int64_t t, d;
  char date[16];

  if (rfc3339 == NULL || ck_time_parse_rfc3339(rfc3339, &t) != CK_OK)
    return ck_cli_clean(rfc3339 != NULL && *rfc3339 ? rfc3339 : "-", 0, buf,
                        len);
  snprintf(date, sizeof date, "%.10s", rfc3339);
  d = t - ck_clock_now();
  if (d >= 0)
    snprintf(buf, len, "%s (in %" PRId64 "d)", date, d / 86400);
  else
    snprintf(buf, len, "%s (expired %" PRId64 "d ago)", date, -d / 86400);
  return buf;
}

/* Display width: one column per UTF-8 character (close enough for the
 * names and dates tables hold). */
static size_t width(const char *s) {
  size_t w = 0;

  for (; *s != '\0'; s++)
    w += ((unsigned char)*s & 0xc0) != 0x80;
  return w;
}

static const char *cell(const ck_cli_col *c, const json_t *item, char *buf,
                        size_t len) {
  if (c->fn != NULL)
    return c->fn(item, buf, len);
  return ck_cli_fmt_value(json_object_get(item, c->key), buf, len);
}

void ck_cli_table_init(ck_cli_table *t, const ck_cli_col *cols) {
  memset(t, 0, sizeof *t);
  t->cols = cols;
  while (cols[t->ncols].header != NULL &&
         t->ncols < sizeof t->width / sizeof t->width[0])
    t->ncols++;
}

static void pad(size_t n) {
  while (n-- > 0)
    fputc(' ', stdout);
}

void ck_cli_table_page(ck_cli_table *t, const json_t *items) {
  char buf[CELL_MAX];
  size_t i, c;
  const json_t *it;

  if (!t->started) {
    for (c = 0; c < t->ncols; c++)
      t->width[c] = width(t->cols[c].header);
    json_array_foreach(items, i, it) {
      for (c = 0; c < t->ncols; c++) {
        size_t w = width(cell(&t->cols[c], it, buf, sizeof buf));
        if (w > t->width[c])
          t->width[c] = w;
      }
    }
    for (c = 0; c < t->ncols; c++) {
      fputs(t->cols[c].header, stdout);
      if (c + 1 < t->ncols)
        pad(t->width[c] - width(t->cols[c].header) + 2);
    }
    fputc('\n', stdout);
    t->started = 1;
  }
  json_array_foreach(items, i, it) {
    for (c = 0; c < t->ncols; c++) {
      const char *s = cell(&t->cols[c], it, buf, sizeof buf);
      size_t w = width(s);
      fputs(s, stdout);
      if (c + 1 < t->ncols)
        pad((w < t->width[c] ? t->width[c] - w : 0) + 2);
    }
    fputc('\n', stdout);
    t->rows++;
  }
}

static int in_list(const char *const *list, const char *k) {
  for (; list != NULL && *list != NULL; list++)
    if (strcmp(*list, k) == 0)
      return 1;
  return 0;
}

static void field(const char *key, const json_t *v, size_t w) {
  char label[64], lab[128], val[CELL_MAX];
  size_t i;

  snprintf(label, sizeof label, "%s:", key);
  for (i = 0; label[i] != '\0'; i++)
    if (label[i] == '_')
      label[i] = ' ';
  fprintf(stdout, "%-*s  %s\n", (int)w + 1,
          ck_cli_clean(label, 0, lab, sizeof lab),
          ck_cli_fmt_value(v, val, sizeof val));
}

void ck_cli_out_object(const json_t *obj, const char *const *order,
                       const char *const *skip) {
  const char *const *k;
  const char *key;
  const json_t *v;
  size_t w = 0;

  for (k = order; k != NULL && *k != NULL; k++)
    if (strlen(*k) > w)
      w = strlen(*k);
  json_object_foreach((json_t *)obj, key, v) {
    if (!in_list(skip, key) && strlen(key) > w && strlen(key) < 60)
      w = strlen(key);
  }
  for (k = order; k != NULL && *k != NULL; k++)
    field(*k, json_object_get(obj, *k), w);
  json_object_foreach((json_t *)obj, key, v) {
    if (in_list(order, key) || in_list(skip, key))
      continue;
    field(key, v, w);
  }
}
