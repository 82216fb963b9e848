/* audit.c — canonical encoding and hash chaining of audit events.
 *
 * The encoding is deliberately simple and length-prefixed so no two
 * different events share a byte string (no separators to escape, no JSON
 * canonicalisation): a future reader in any language can recompute it. */
#include "coordinator/audit/audit.h"

#include <stdlib.h>
#include <string.h>

#define TAG "CKA1"
#define TAG_LEN 4

static const char *const problem_names[] = {
    "ok", "modified", "gap", "broken-link", "truncated", "head-mismatch",
};

const char *ck_audit_problem_name(ck_audit_problem p) {
  if ((unsigned)p >= sizeof problem_names / sizeof problem_names[0])
    return "?";
  return problem_names[p];
}

static const char *field(const ck_audit_event *ev, int i) {
  switch (i) {
  case 0:
    return ev->actor;
  case 1:
    return ev->action;
  case 2:
    return ev->object_type;
  case 3:
    return ev->object_id;
  default:
    return ev->details;
  }
}

size_t ck_audit_encoded_len(const ck_audit_event *ev) {
  size_t n = TAG_LEN + 16;
  int i;

  if (ev == NULL)
    return 0;
  for (i = 0; i < 5; i++) {
    const char *f = field(ev, i);
    size_t l;
    if (f == NULL)
      return 0;
    l = strlen(f);
    if (l > UINT32_MAX)
      return 0;
    n += 4 + l;
  }
  return n;
}

static uint8_t *put_u64(uint8_t *p, uint64_t v) {
  int i;
  for (i = 7; i >= 0; i--) {
    p[i] = (uint8_t)(v & 0xff);
    v >>= 8;
  }
  return p + 8;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
  return p + 4;
}

size_t ck_audit_encode(const ck_audit_event *ev, uint8_t *buf, size_t cap) {
  size_t need = ck_audit_encoded_len(ev);
  uint8_t *p = buf;
  int i;

  if (need == 0 || buf == NULL || cap < need)
    return 0;
  memcpy(p, TAG, TAG_LEN);
  p += TAG_LEN;
  p = put_u64(p, (uint64_t)ev->seq);
  p = put_u64(p, (uint64_t)ev->time);
  for (i = 0; i < 5; i++) {
    const char *f = field(ev, i);
    size_t l = strlen(f);
    p = put_u32(p, (uint32_t)l);
    memcpy(p, f, l);
    p += l;
  }
  return (size_t)(p - buf);
}

ck_err ck_audit_hash(const uint8_t prev[CK_SHA256_LEN],
                     const ck_audit_event *ev, uint8_t out[CK_SHA256_LEN]) {
  uint8_t stackbuf[1024];
  uint8_t *buf = stackbuf;
  size_t need = ck_audit_encoded_len(ev), total;
  ck_err rc;

  if (need == 0 || prev == NULL)
    return CK_ERR_INVAL;
  total = CK_SHA256_LEN + need;
  if (total > sizeof stackbuf) {
    buf = malloc(total);
    if (buf == NULL)
      return CK_ERR_NOMEM;
  }
  memcpy(buf, prev, CK_SHA256_LEN);
  if (ck_audit_encode(ev, buf + CK_SHA256_LEN, need) != need) {
    rc = CK_ERR_INTERNAL;
    goto out;
  }
  rc = ck_crypto_sha256(buf, total, out);
out:
  if (buf != stackbuf)
    free(buf);
  return rc;
}
