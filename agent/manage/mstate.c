/* mstate.c — reading and writing DIR/managed/<id>/state (format: mstate.h). */
#include "agent/manage/mstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

/* Parses a decimal number of n bytes at s into *out (bounded, no sign). */
static int ck__num(const char *s, size_t n, int64_t max, int64_t *out) {
  int64_t v = 0;
  size_t i;

  if (n == 0 || n > 19)
    return -1;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  if (v > max)
    return -1;
  *out = v;
  return 0;
}

/* Copies n bytes into dst[cap] as a string; -1 when too long or holding a
 * control character. */
static int ck__str(const char *s, size_t n, char *dst, size_t cap) {
  size_t i;
  if (n >= cap)
    return -1;
  for (i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return -1;
  memcpy(dst, s, n);
  dst[n] = '\0';
  return 0;
}

enum {
  K_STATE = 1 << 0,
  K_FP = 1 << 1,
  K_NOT_AFTER = 1 << 2,
  K_NEXT = 1 << 3,
  K_TICKET = 1 << 4,
  K_ATTEMPT = 1 << 5,
  K_ERROR = 1 << 6,
  K_UPDATED = 1 << 7
};

ck_err ck_mstate_parse(const char *text, size_t len, ck_mstate *out,
                       ck_errctx *err) {
  size_t pos = 0;
  unsigned seen = 0, line = 0;
  ck_err rc = CK_OK;

  memset(out, 0, sizeof *out);
  while (pos < len) {
    const char *ln = text + pos, *eq, *val;
    const char *nl = memchr(ln, '\n', len - pos);
    size_t ll = nl != NULL ? (size_t)(nl - ln) : len - pos, kl, vl;
    unsigned bit = 0;
    int bad = 0;
    int64_t num = 0;

    pos += ll + (nl != NULL ? 1 : 0);
    line++;
    if (ll > 0 && ln[ll - 1] == '\r')
      ll--;
    if (ll == 0 || ln[0] == '#')
      continue;
    eq = memchr(ln, '=', ll);
    if (eq == NULL) {
      rc = ck_failf(err, CK_ERR_PARSE, "state line %u: no '='", line);
      goto out;
    }
    kl = (size_t)(eq - ln);
    val = eq + 1;
    vl = ll - kl - 1;
#define KEY(lit) (kl == sizeof(lit) - 1 && memcmp(ln, lit, kl) == 0)
    if (KEY("state")) {
      bit = K_STATE;
      bad = vl == 0 || ck__str(val, vl, out->state, sizeof out->state);
    } else if (KEY("fingerprint")) {
      char hex[96];
      bit = K_FP;
      bad = ck__str(val, vl, hex, sizeof hex) ||
            ck_crypto_fingerprint_parse(hex, out->fingerprint) != CK_OK;
      out->has_fingerprint = !bad;
    } else if (KEY("not_after")) {
      bit = K_NOT_AFTER;
      bad = ck__num(val, vl, INT64_MAX / 2, &out->not_after);
    } else if (KEY("next_renewal")) {
      bit = K_NEXT;
      bad = ck__num(val, vl, INT64_MAX / 2, &out->next_renewal);
    } else if (KEY("ticket")) {
      bit = K_TICKET;
      bad = ck__str(val, vl, out->ticket, sizeof out->ticket);
    } else if (KEY("attempt")) {
      bit = K_ATTEMPT;
      bad = ck__num(val, vl, 1000000, &num);
      out->attempt = (uint32_t)num;
    } else if (KEY("last_error")) {
      bit = K_ERROR;
      bad = ck__str(val, vl, out->last_error, sizeof out->last_error);
    } else if (KEY("updated_at")) {
      bit = K_UPDATED;
      bad = ck__num(val, vl, INT64_MAX / 2, &out->updated_at);
    }
#undef KEY
    if (bit == 0)
      continue; /* unknown key: ignored */
    if (seen & bit) {
      rc = ck_failf(err, CK_ERR_PARSE, "state line %u: duplicate key", line);
      goto out;
    }
    seen |= bit;
    if (bad) {
      rc = ck_failf(err, CK_ERR_PARSE, "state line %u: bad value", line);
      goto out;
    }
  }
  if (!(seen & K_STATE))
    rc = ck_failf(err, CK_ERR_PARSE, "state file has no 'state' line");
out:
  if (rc != CK_OK)
    memset(out, 0, sizeof *out);
  return rc;
}

/* Appends "key=value\n" with newlines in value replaced by spaces. */
static int ck__put(char *buf, size_t cap, size_t *used, const char *key,
                   const char *val) {
  size_t i, n = strlen(key), vl = strlen(val);

  if (*used + n + vl + 2 >= cap)
    return -1;
  memcpy(buf + *used, key, n);
  *used += n;
  buf[(*used)++] = '=';
  for (i = 0; i < vl; i++)
    buf[(*used)++] =
        ((unsigned char)val[i] < 0x20 || val[i] == 0x7f) ? ' ' : val[i];
  buf[(*used)++] = '\n';
  buf[*used] = '\0';
  return 0;
}

ck_err ck_mstate_format(const ck_mstate *s, char **out, size_t *out_len,
                        ck_errctx *err) {
  size_t cap = 1024, used = 0;
  char *buf = malloc(cap), num[32], hex[CK_SHA256_HEX_LEN];
  int bad = 0;

  *out = NULL;
  if (buf == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "state: out of memory");
  buf[0] = '\0';
  bad |= ck__put(buf, cap, &used, "state", s->state);
  if (s->has_fingerprint) {
    ck_hex_encode(s->fingerprint, 32, hex);
    bad |= ck__put(buf, cap, &used, "fingerprint", hex);
  }
#define NUM(key, v)                                                            \
  do {                                                                         \
    snprintf(num, sizeof num, "%lld", (long long)(v));                         \
    bad |= ck__put(buf, cap, &used, key, num);                                 \
  } while (0)
  if (s->not_after > 0)
    NUM("not_after", s->not_after);
  if (s->next_renewal > 0)
    NUM("next_renewal", s->next_renewal);
  if (s->ticket[0] != '\0')
    bad |= ck__put(buf, cap, &used, "ticket", s->ticket);
  NUM("attempt", s->attempt);
  if (s->last_error[0] != '\0')
    bad |= ck__put(buf, cap, &used, "last_error", s->last_error);
  if (s->updated_at > 0)
    NUM("updated_at", s->updated_at);
#undef NUM
  if (bad) {
    free(buf);
    return ck_failf(err, CK_ERR_INTERNAL, "state: formatting overflow");
  }
  *out = buf;
  *out_len = used;
  return CK_OK;
}

ck_err ck_mstate_load(const char *path, ck_mstate *out, ck_errctx *err) {
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_err rc;

  if ((rc = ck_fs_read_file(path, CK_MSTATE_MAX_BYTES, &buf, &len, err)) !=
      CK_OK)
    goto out;
  if ((rc = ck_mstate_parse((const char *)buf, len, out, err)) != CK_OK)
    ck_failf(err, rc, "%s", path);
out:
  free(buf);
  return rc;
}

ck_err ck_mstate_save(const char *path, const ck_mstate *s, ck_errctx *err) {
  char *text = NULL;
  size_t len = 0;
  ck_err rc;

  if ((rc = ck_mstate_format(s, &text, &len, err)) != CK_OK)
    goto out;
  rc = ck_fs_write_atomic(path, text, len, 0600, err);
out:
  free(text);
  return rc;
}
