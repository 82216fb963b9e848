/* audit_verify.c — walks the audit chain through the store interface (so it
 * works on any backend) and reports the first row that does not hold:
 * seq must run 1, 2, 3, ... (a gap means deleted rows), every prev_hash
 * must equal the previous row's hash (a broken link means rows deleted or
 * replaced), every hash must match SHA-256(prev_hash || canonical(row)) (a
 * mismatch means the row was modified), and the chain must reach the head
 * recorded at the last commit (else the tail was truncated) and the
 * operator's anchor when one is given. Memory stays bounded: one page of
 * events at a time in an arena that is reset per page. */
#include "coordinator/audit/audit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/util/mem.h"
#include "coordinator/store/store.h"

#define PAGE 1000

static void report(ck_audit_report *r, ck_audit_problem p, int64_t seq,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(ck_audit_report *r, ck_audit_problem p, int64_t seq,
                   const char *fmt, ...) {
  va_list ap;

  r->problem = p;
  r->bad_seq = seq;
  va_start(ap, fmt);
  vsnprintf(r->msg, sizeof r->msg, fmt, ap);
  va_end(ap);
}

/* Checks one row against the running chain state. Returns 1 when the row
 * is bad (report filled). */
static int check_row(ck_audit_report *r, const ck_audit_event *ev,
                     int64_t expect_seq, const uint8_t prev[CK_SHA256_LEN],
                     ck_err *rc) {
  uint8_t h[CK_SHA256_LEN];

  if (ev->seq != expect_seq) {
    report(r, CK_AUDIT_GAP, expect_seq,
           "audit event %" PRId64 " is missing (next present is %" PRId64
           "): rows were deleted",
           expect_seq, ev->seq);
    return 1;
  }
  if (memcmp(ev->prev_hash, prev, CK_SHA256_LEN) != 0) {
    report(r, CK_AUDIT_BROKEN_LINK, ev->seq,
           "audit event %" PRId64 " does not link to event %" PRId64
           ": rows were replaced",
           ev->seq, ev->seq - 1);
    return 1;
  }
  *rc = ck_audit_hash(prev, ev, h);
  if (*rc != CK_OK)
    return 1;
  if (memcmp(h, ev->hash, CK_SHA256_LEN) != 0) {
    report(r, CK_AUDIT_MODIFIED, ev->seq,
           "audit event %" PRId64 " was modified (hash mismatch)", ev->seq);
    return 1;
  }
  return 0;
}

ck_err ck_audit_verify(ck_store *s, const ck_audit_anchor *anchor,
                       ck_audit_report *out, ck_errctx *err) {
  ck_arena *a = NULL;
  uint8_t prev[CK_SHA256_LEN] = {0};
  uint8_t head_hash[CK_SHA256_LEN];
  int64_t expect = 1, head_seq = 0;
  int anchor_seen = 0;
  ck_err rc = CK_OK;

  if (s == NULL || out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "audit: missing argument");
  memset(out, 0, sizeof *out);
  /* read the recorded head first: rows committed after it are fine */
  if ((rc = ck_store_audit_head(s, &head_seq, head_hash, err)) != CK_OK)
    return rc;
  a = ck_arena_new(64 * 1024);
  if (a == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "audit: out of memory");
  for (;;) {
    ck_store_page pg = {PAGE, NULL, NULL};
    ck_audit_event *evs = NULL;
    size_t n = 0, i;

    ck_arena_reset(a);
    rc = ck_store_audit_list(s, expect - 1, &pg, a, &evs, &n, err);
    if (rc != CK_OK)
      goto out;
    for (i = 0; i < n; i++) {
      if (check_row(out, &evs[i], expect, prev, &rc)) {
        if (rc != CK_OK) {
          ck_failf(err, rc, "audit: hashing event %" PRId64, evs[i].seq);
          goto out;
        }
        goto out;
      }
      if (evs[i].seq == head_seq &&
          memcmp(evs[i].hash, head_hash, CK_SHA256_LEN) != 0) {
        report(out, CK_AUDIT_HEAD_MISMATCH, evs[i].seq,
               "audit event %" PRId64 " differs from the head recorded at "
               "commit",
               evs[i].seq);
        goto out;
      }
      if (anchor != NULL && evs[i].seq == anchor->seq) {
        anchor_seen = 1;
        if (memcmp(evs[i].hash, anchor->hash, CK_SHA256_LEN) != 0) {
          report(out, CK_AUDIT_HEAD_MISMATCH, evs[i].seq,
                 "audit event %" PRId64 " differs from the anchor kept "
                 "outside the database",
                 evs[i].seq);
          goto out;
        }
      }
      memcpy(prev, evs[i].hash, CK_SHA256_LEN);
      out->checked++;
      out->head_seq = evs[i].seq;
      expect++;
    }
    if (n < PAGE)
      break;
  }
  memcpy(out->head_hash, prev, CK_SHA256_LEN);
  if (out->head_seq < head_seq) {
    report(out, CK_AUDIT_TRUNCATED, out->head_seq + 1,
           "audit trail ends at event %" PRId64 " but %" PRId64
           " were committed: the tail was deleted",
           out->head_seq, head_seq);
  } else if (anchor != NULL && anchor->seq > 0 && !anchor_seen) {
    report(out, CK_AUDIT_TRUNCATED, out->head_seq + 1,
           "audit trail ends at event %" PRId64 " before the anchor %" PRId64,
           out->head_seq, anchor->seq);
  }
out:
  ck_arena_free(a);
  return rc;
}
