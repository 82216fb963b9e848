/* base64.c — base64 encoding and decoding over caller buffers (base64.h).
 * Decoding walks the text one character at a time, collecting 6-bit
 * sextets into a 24-bit group and flushing three bytes per full group;
 * padding and a short last group are settled once the walk ends. */
#include "common/util/base64.h"

#include <string.h>

static const char STD_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char *alphabet(unsigned flags) {
  return (flags & CK_BASE64_URL) ? URL_ALPHABET : STD_ALPHABET;
}

/* The 6-bit value of c in the alphabet, or -1. The search covers the 64
 * letters only, so NUL is never found. */
static int sextet(const char *alpha, uint8_t c) {
  const char *hit = memchr(alpha, c, 64);
  return hit != NULL ? (int)(hit - alpha) : -1;
}

static int is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static ck_err fault(ck_base64_fault *why, ck_base64_fault_kind kind,
                    size_t at) {
  if (why != NULL) {
    why->kind = kind;
    why->at = at;
  }
  return kind == CK_BASE64_FAULT_ROOM ? CK_ERR_LIMIT : CK_ERR_PARSE;
}

size_t ck_base64_encoded_len(size_t n, unsigned flags, size_t wrap,
                             size_t eol_len) {
  size_t chars = (flags & CK_BASE64_NOPAD) ? (n * 4 + 2) / 3 : (n + 2) / 3 * 4;
  size_t lines = wrap > 0 ? (chars + wrap - 1) / wrap : 0;
  return chars + lines * eol_len;
}

/* Output cursor of the encoder: appends characters, breaking lines. */
typedef struct {
  char *out;       /* destination (borrowed) */
  size_t k;        /* characters written */
  size_t col;      /* characters on the current line */
  size_t wrap;     /* line length, 0 = no breaks */
  const char *eol; /* line end (borrowed) */
  size_t eol_len;  /* strlen(eol) */
} encoder;

static void put_eol(encoder *e) {
  memcpy(e->out + e->k, e->eol, e->eol_len);
  e->k += e->eol_len;
  e->col = 0;
}

static void put(encoder *e, char c) {
  e->out[e->k++] = c;
  if (e->wrap > 0 && ++e->col == e->wrap)
    put_eol(e);
}

size_t ck_base64_encode_into(const uint8_t *in, size_t n, unsigned flags,
                             size_t wrap, const char *eol, char *out) {
  const char *alpha = alphabet(flags);
  int pad = !(flags & CK_BASE64_NOPAD);
  encoder e = {out, 0, 0, wrap, eol, wrap > 0 && eol != NULL ? strlen(eol) : 0};
  size_t i;

  if (e.eol_len == 0)
    e.wrap = 0;
  for (i = 0; i < n; i += 3) {
    size_t left = n - i;
    uint32_t v = (uint32_t)in[i] << 16;
    if (left > 1)
      v |= (uint32_t)in[i + 1] << 8;
    if (left > 2)
      v |= in[i + 2];
    put(&e, alpha[(v >> 18) & 63]);
    put(&e, alpha[(v >> 12) & 63]);
    if (left > 1)
      put(&e, alpha[(v >> 6) & 63]);
    else if (pad)
      put(&e, '=');
    if (left > 2)
      put(&e, alpha[v & 63]);
    else if (pad)
      put(&e, '=');
  }
  if (e.col > 0)
    put_eol(&e);
  out[e.k] = '\0';
  return e.k;
}

size_t ck_base64_decoded_max(size_t len) {
  return len / 4 * 3 + 3;
}

/* Appends the bytes of a last group of `have` data characters (2 or 3)
 * held in the low bits of acc. */
static ck_err flush_short(uint32_t acc, size_t have, unsigned flags,
                          uint8_t *out, size_t cap, size_t *k,
                          ck_base64_fault *why) {
  uint32_t unused = have == 2 ? 0x0f : 0x03;

  if ((flags & CK_BASE64_BITS) && (acc & unused) != 0)
    return fault(why, CK_BASE64_FAULT_BITS, 0);
  if (*k + have - 1 > cap)
    return fault(why, CK_BASE64_FAULT_ROOM, 0);
  if (have == 2) {
    out[(*k)++] = (uint8_t)(acc >> 4);
  } else {
    out[(*k)++] = (uint8_t)(acc >> 10);
    out[(*k)++] = (uint8_t)(acc >> 2);
  }
  return CK_OK;
}

ck_err ck_base64_decode_into(const void *in, size_t len, unsigned flags,
                             uint8_t *out, size_t cap, size_t *out_len,
                             ck_base64_fault *why) {
  const uint8_t *p = in;
  const char *alpha = alphabet(flags);
  int skip_space = (flags & CK_BASE64_SPACE) != 0;
  int pad_ok = !(flags & CK_BASE64_NOPAD);
  uint32_t acc = 0;
  size_t i, k = 0, quad = 0, pad = 0, pad_at = 0;
  ck_err rc;
  int v;

  *out_len = 0;
  if (why != NULL) {
    why->kind = CK_BASE64_FAULT_NONE;
    why->at = 0;
  }
  for (i = 0; i < len; i++) {
    uint8_t c = p[i];
    if (skip_space && is_space(c))
      continue;
    if (c == '=' && pad_ok) {
      if (quad < 2)
        return fault(why, CK_BASE64_FAULT_PAD_EARLY, i);
      if (pad == 0)
        pad_at = quad;
      pad++;
      if (++quad == 4)
        break;
      continue;
    }
    if (pad > 0)
      return fault(why, CK_BASE64_FAULT_AFTER_PAD, i);
    if ((v = sextet(alpha, c)) < 0)
      return fault(why, CK_BASE64_FAULT_CHAR, i);
    acc = (acc << 6) | (uint32_t)v;
    if (++quad == 4) {
      if (k + 3 > cap)
        return fault(why, CK_BASE64_FAULT_ROOM, i);
      out[k++] = (uint8_t)(acc >> 16);
      out[k++] = (uint8_t)(acc >> 8);
      out[k++] = (uint8_t)acc;
      acc = 0;
      quad = 0;
    }
  }
  if (pad > 0) {
    /* the padded group ended the text: only whitespace may follow */
    for (i = i + 1; i < len; i++)
      if (!(skip_space && is_space(p[i])))
        return fault(why, CK_BASE64_FAULT_AFTER_PAD, i);
    if (quad != 4)
      return fault(why, CK_BASE64_FAULT_PAD, 0);
    if ((rc = flush_short(acc, pad_at, flags, out, cap, &k, why)) != CK_OK)
      return rc;
  } else if (quad != 0) {
    if (pad_ok || quad == 1)
      return fault(why, CK_BASE64_FAULT_TRUNCATED, quad);
    if ((rc = flush_short(acc, quad, flags, out, cap, &k, why)) != CK_OK)
      return rc;
  }
  *out_len = k;
  return CK_OK;
}
