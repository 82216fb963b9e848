/* der.c — a small bounds-checked DER reader and writer.
 *
 * The neutral parts of common/crypto/ (detection, certificate and CSR field
 * extraction, CSR encoding) read and write ASN.1 with these few functions
 * instead of a backend's parser, so both builds see the same fields. The
 * reader never reads outside [p, end): every length is checked against the
 * bytes left before it is used, and malformed input yields -1, never a
 * crash. Only what X.509 needs is supported: single-octet tags and definite
 * lengths of at most four octets (BER indefinite lengths are refused). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto_int.h"

void ck__der_init(ck__der *d, const uint8_t *p, size_t n) {
  d->p = p;
  d->end = p + n;
}

void ck__der_enter(ck__der *d, const ck__tlv *t) {
  ck__der_init(d, t->v, t->len);
}

int ck__der_more(const ck__der *d) {
  return d->p < d->end;
}

int ck__der_peek(const ck__der *d) {
  if (d->p >= d->end)
    return -1;
  return d->p[0];
}

int ck__der_get(ck__der *d, ck__tlv *t) {
  const uint8_t *p = d->p;
  size_t left = (size_t)(d->end - d->p);
  size_t len, nlen, i;

  if (left < 2)
    return -1;
  if ((p[0] & 0x1f) == 0x1f) /* multi-octet tag: not used in X.509 */
    return -1;
  t->tag = p[0];
  if (p[1] < 0x80) {
    len = p[1];
    nlen = 0;
  } else {
    nlen = p[1] & 0x7f;
    if (nlen == 0 || nlen > 4 || nlen > left - 2) /* indefinite / huge */
      return -1;
    len = 0;
    for (i = 0; i < nlen; i++)
      len = (len << 8) | p[2 + i];
  }
  if (len > left - 2 - nlen)
    return -1;
  t->raw = p;
  t->v = p + 2 + nlen;
  t->len = len;
  t->raw_len = 2 + nlen + len;
  d->p = t->v + len;
  return 0;
}

int ck__der_expect(ck__der *d, unsigned tag, ck__tlv *t) {
  ck__der save = *d;

  if (ck__der_get(d, t) != 0 || t->tag != tag) {
    *d = save;
    return -1;
  }
  return 0;
}

int ck__der_optional(ck__der *d, unsigned tag, ck__tlv *t) {
  if (ck__der_peek(d) != (int)tag)
    return 0;
  return ck__der_get(d, t) == 0 ? 1 : -1;
}

int ck__der_bool(const ck__tlv *t, int *out) {
  if (t->tag != CK__T_BOOLEAN || t->len != 1)
    return -1;
  *out = t->v[0] != 0;
  return 0;
}

int ck__der_small_uint(const ck__tlv *t, long max, long *out) {
  long v = 0;
  size_t i;

  if (t->tag != CK__T_INTEGER || t->len == 0 || t->len > 8)
    return -1;
  if (t->v[0] & 0x80) /* negative */
    return -1;
  for (i = 0; i < t->len; i++) {
    if (v > (LONG_MAX >> 8))
      return -1;
    v = (v << 8) | t->v[i];
  }
  if (v > max)
    return -1;
  *out = v;
  return 0;
}

size_t ck__der_element_len(const uint8_t *p, size_t n) {
  ck__der d;
  ck__tlv t;

  ck__der_init(&d, p, n);
  if (ck__der_get(&d, &t) != 0)
    return 0;
  return t.raw_len;
}

/* ----------------------------------------------------------------- writer */

void ck__derw_init(ck__derw *w) {
  memset(w, 0, sizeof *w);
}

static int reserve(ck__derw *w, size_t extra) {
  size_t ncap;
  uint8_t *nb;

  if (w->failed)
    return -1;
  if (extra > SIZE_MAX / 2 - w->len) {
    w->failed = 1;
    return -1;
  }
  if (w->len + extra <= w->cap)
    return 0;
  ncap = w->cap ? w->cap : 256;
  while (ncap < w->len + extra)
    ncap *= 2;
  nb = malloc(ncap);
  if (nb == NULL) {
    w->failed = 1;
    return -1;
  }
  /* Copy-and-wipe instead of realloc: the buffer may hold key material. */
  if (w->buf != NULL) {
    memcpy(nb, w->buf, w->len);
    ck_wipe(w->buf, w->cap);
    free(w->buf);
  }
  w->buf = nb;
  w->cap = ncap;
  return 0;
}

void ck__derw_raw(ck__derw *w, const void *v, size_t n) {
  if (n == 0 || reserve(w, n) != 0)
    return;
  memcpy(w->buf + w->len, v, n);
  w->len += n;
}

static void put_header(ck__derw *w, unsigned tag, size_t n) {
  uint8_t h[6];
  size_t k = 0, i;

  h[k++] = (uint8_t)tag;
  if (n < 0x80) {
    h[k++] = (uint8_t)n;
  } else {
    size_t bytes = 0, t = n;
    while (t > 0) {
      bytes++;
      t >>= 8;
    }
    h[k++] = (uint8_t)(0x80 | bytes);
    for (i = bytes; i > 0; i--)
      h[k++] = (uint8_t)(n >> (8 * (i - 1)));
  }
  ck__derw_raw(w, h, k);
}

void ck__derw_tlv(ck__derw *w, unsigned tag, const void *v, size_t n) {
  put_header(w, tag, n);
  ck__derw_raw(w, v, n);
}

void ck__derw_begin(ck__derw *w, unsigned tag) {
  uint8_t h[2];

  if (w->depth >= (int)(sizeof w->open / sizeof w->open[0])) {
    w->failed = 1;
    return;
  }
  h[0] = (uint8_t)tag;
  h[1] = 0; /* patched by end */
  ck__derw_raw(w, h, 2);
  if (w->failed)
    return;
  w->open[w->depth++] = w->len - 1;
}

void ck__derw_end(ck__derw *w) {
  size_t at, n, bytes = 0, t, i;

  if (w->failed)
    return;
  if (w->depth == 0) {
    w->failed = 1;
    return;
  }
  at = w->open[--w->depth];
  n = w->len - at - 1;
  if (n < 0x80) {
    w->buf[at] = (uint8_t)n;
    return;
  }
  for (t = n; t > 0; t >>= 8)
    bytes++;
  if (reserve(w, bytes) != 0)
    return;
  memmove(w->buf + at + 1 + bytes, w->buf + at + 1, n);
  w->buf[at] = (uint8_t)(0x80 | bytes);
  for (i = 0; i < bytes; i++)
    w->buf[at + 1 + i] = (uint8_t)(n >> (8 * (bytes - 1 - i)));
  w->len += bytes;
}

ck_err ck__derw_finish(ck__derw *w, uint8_t **out, size_t *len) {
  ck_err rc = CK_OK;

  if (w->failed) {
    rc = CK_ERR_NOMEM;
  } else if (w->depth != 0 || w->len == 0) {
    rc = CK_ERR_INTERNAL;
  } else {
    *out = w->buf;
    *len = w->len;
    w->buf = NULL;
  }
  ck__derw_free(w);
  return rc;
}

void ck__derw_free(ck__derw *w) {
  if (w->buf != NULL) {
    ck_wipe(w->buf, w->cap);
    free(w->buf);
  }
  ck__derw_init(w);
}
