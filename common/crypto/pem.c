/* pem.c — PEM blocks: finding, decoding and encoding them (RFC 7468).
 *
 * Backend-neutral so both builds split bundles the same way. The reader is
 * deliberately tolerant of what real files contain — CRLF line endings,
 * trailing blanks, "Bag Attributes" and other text between blocks, RFC 1421
 * headers (Proc-Type/DEK-Info, which mark an encrypted traditional key) —
 * and strict about the block itself: matching BEGIN/END labels and valid
 * base64. It never reads past len and never needs a NUL terminator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crypto_int.h"
#include "common/util/base64.h"

static const char BEGIN[] = "-----BEGIN ";
static const char END[] = "-----END ";
static const char DASHES[] = "-----";

/* RFC 1421 headers are a few short lines; bounding them keeps hostile
 * input from being rescanned once per BEGIN. */
#define MAX_HEADER_LINES 16
#define MAX_HEADER_LINE 256

/* Finds needle in [p, p+n); returns its offset or n when absent. */
static size_t find(const uint8_t *p, size_t n, const char *needle) {
  size_t m = strlen(needle), i;

  if (m > n)
    return n;
  for (i = 0; i + m <= n; i++)
    if (p[i] == (uint8_t)needle[0] && memcmp(p + i, needle, m) == 0)
      return i;
  return n;
}

int ck_pem_looks_like(const uint8_t *data, size_t len) {
  return data != NULL && find(data, len, BEGIN) < len;
}

void ck_crypto_free_secret(void *p, size_t len) {
  if (p == NULL)
    return;
  ck_wipe(p, len);
  free(p);
}

void ck_pem_block_clear(ck_pem_block *blk) {
  if (blk == NULL)
    return;
  ck_crypto_free_secret(blk->der, blk->der_len);
  memset(blk, 0, sizeof *blk);
}

/* Position just after the end of the line containing p[at] (or n). */
static size_t line_end(const uint8_t *p, size_t n, size_t at) {
  while (at < n && p[at] != '\n')
    at++;
  return at < n ? at + 1 : n;
}

static int is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Decodes the base64 body in [p, p+n) on the shared codec: whitespace
 * skipped, strict '=' padding, unused trailing bits tolerated (as OpenSSL
 * reads them), an empty body refused. 0 or -1; *out is malloc'ed. */
static int b64_decode(const uint8_t *p, size_t n, uint8_t **out,
                      size_t *out_len) {
  size_t cap = ck_base64_decoded_max(n), k = 0;
  uint8_t *buf = malloc(cap);

  if (buf == NULL)
    return -1;
  if (ck_base64_decode_into(p, n, CK_BASE64_SPACE, buf, cap, &k, NULL) !=
          CK_OK ||
      k == 0) {
    ck_crypto_free_secret(buf, cap);
    return -1;
  }
  *out = buf;
  *out_len = k;
  return 0;
}

/* Checks that [p, p+n) holds only blanks. */
static int only_blanks(const uint8_t *p, size_t n) {
  size_t i;

  for (i = 0; i < n; i++)
    if (!is_space(p[i]))
      return 0;
  return 1;
}

ck_err ck_pem_next(const uint8_t *data, size_t len, size_t *pos,
                   ck_pem_block *blk, ck_errctx *err) {
  size_t start, at, lab, lab_len, eol, body, body_end, end_line, rest, m;
  size_t hdr_lines;
  int encrypted = 0;

  if (data == NULL || pos == NULL || blk == NULL || *pos > len)
    return ck_failf(err, CK_ERR_INVAL, "ck_pem_next: bad arguments");
  start = *pos + find(data + *pos, len - *pos, BEGIN);
  if (start >= len)
    return CK_ERR_NOENT;
  *pos = start + sizeof BEGIN - 1; /* where to go on after a bad block */

  /* "-----BEGIN <label>-----" then only blanks to the end of the line. */
  memset(blk, 0, sizeof *blk);
  /* Every scan here is bounded by the label limit, so hostile input with
   * many BEGINs on one line stays linear. */
  lab = start + sizeof BEGIN - 1;
  m = len - lab < sizeof blk->label + 5 ? len - lab : sizeof blk->label + 5;
  lab_len = find(data + lab, m, DASHES);
  if (lab_len >= m || lab_len == 0 || lab_len >= sizeof blk->label)
    return ck_failf(err, CK_ERR_BAD_PEM, "malformed PEM BEGIN line");
  for (at = lab; at < lab + lab_len; at++)
    if (data[at] < 0x20 || data[at] >= 0x7f)
      return ck_failf(err, CK_ERR_BAD_PEM, "malformed PEM label");
  memcpy(blk->label, data + lab, lab_len); /* kept even if the body fails */
  blk->offset = start;
  eol = lab + lab_len + 5;
  while (eol < len &&
         (data[eol] == ' ' || data[eol] == '\t' || data[eol] == '\r'))
    eol++;
  if (eol < len && data[eol] != '\n')
    return ck_failf(err, CK_ERR_BAD_PEM, "text after PEM BEGIN line");
  if (eol < len)
    eol++;

  /* RFC 1421 headers: lines with a ':' before the base64 starts, ended by
   * a blank line; continuation lines start with a blank. */
  body = eol;
  for (hdr_lines = 0; body < len && hdr_lines < MAX_HEADER_LINES; hdr_lines++) {
    size_t lim = len - body < MAX_HEADER_LINE ? len : body + MAX_HEADER_LINE;
    size_t le = line_end(data, lim, body);
    size_t colon;

    if (le == lim && lim < len)
      break; /* too long for a header: body text */
    colon = find(data + body, le - body, ":");
    if (colon < le - body) {
      if (le - body >= 10 && memcmp(data + body, "Proc-Type:", 10) == 0 &&
          find(data + body, le - body, "ENCRYPTED") < le - body)
        encrypted = 1;
      body = le;
      continue;
    }
    if (body > eol && (data[body] == ' ' || data[body] == '\t') &&
        !only_blanks(data + body, le - body)) {
      body = le; /* header continuation */
      continue;
    }
    if (body > eol && only_blanks(data + body, le - body)) {
      body = le; /* the blank line after headers */
    }
    break;
  }

  /* Body up to "-----END <label>-----". The search stops at the first
   * "-----" (a BEGIN without END must not make every later block rescan
   * the rest of the input: that would be quadratic on hostile files). */
  end_line = body + find(data + body, len - body, DASHES);
  if (end_line >= len || len - end_line < sizeof END - 1 ||
      memcmp(data + end_line, END, sizeof END - 1) != 0)
    return ck_failf(err, CK_ERR_BAD_PEM, "PEM block '%.*s' has no END line",
                    (int)lab_len, (const char *)data + lab);
  body_end = end_line;
  at = end_line + sizeof END - 1;
  if (len - at < lab_len + 5 || memcmp(data + at, data + lab, lab_len) != 0 ||
      memcmp(data + at + lab_len, DASHES, 5) != 0)
    return ck_failf(err, CK_ERR_BAD_PEM,
                    "PEM END line does not match BEGIN '%.*s'", (int)lab_len,
                    (const char *)data + lab);
  rest = at + lab_len + 5;

  if (b64_decode(data + body, body_end - body, &blk->der, &blk->der_len) != 0) {
    blk->der = NULL;
    blk->der_len = 0;
    return ck_failf(err, CK_ERR_BAD_PEM, "PEM block '%.*s': bad base64",
                    (int)lab_len, (const char *)data + lab);
  }
  blk->encrypted = encrypted;
  *pos = line_end(data, len, rest);
  return CK_OK;
}

ck_err ck_pem_encode(const char *label, const uint8_t *der, size_t der_len,
                     char **out, size_t *out_len) {
  size_t lab = strlen(label), cap, k = 0;
  char *s;

  if (der_len > CK__MAX_INPUT || lab > 60)
    return CK_ERR_RANGE;
  cap = 2 * (lab + 16) + ck_base64_encoded_len(der_len, 0, 64, 1) + 1;
  s = malloc(cap);
  if (s == NULL)
    return CK_ERR_NOMEM;
  k += (size_t)snprintf(s + k, cap - k, "-----BEGIN %s-----\n", label);
  k += ck_base64_encode_into(der, der_len, 0, 64, "\n", s + k);
  k += (size_t)snprintf(s + k, cap - k, "-----END %s-----\n", label);
  *out = s;
  *out_len = k;
  return CK_OK;
}
