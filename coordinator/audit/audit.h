/* audit.h — the tamper-evident audit trail: event records, their canonical
 * encoding and hash chain, and the verifier.
 *
 * Every state change the coordinator makes is described by one event
 * (actor, action, object, details as JSON text). Events are appended by the
 * store's writer inside the same transaction as the change
 * (ck_store_write_audit), numbered by a gap-free seq, and chained:
 *
 *   hash = SHA-256(prev_hash || canonical(event))
 *
 * where prev_hash is the previous event's hash (32 zero bytes for seq 1)
 * and canonical() is the unambiguous byte encoding in ck_audit_encode. The
 * table refuses UPDATE and DELETE (triggers); anyone able to drop those can
 * still rewrite rows, which ck_audit_verify then detects — a modified row
 * (hash mismatch), a deleted row (a gap in seq or a prev_hash that does not
 * link) and a truncated tail (the head seq/hash recorded in the store's meta
 * table at every commit, or an anchor the operator kept elsewhere, is
 * missing). Rewriting the whole chain from some point on AND the meta head
 * is only caught by an external anchor: export ck_store_audit_head() to a
 * place the database's writer cannot change. See docs/internals/store.md. */
#ifndef CK_COORD_AUDIT_H
#define CK_COORD_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/crypto.h"
#include "common/util/err.h"

typedef struct ck_store ck_store;

/* One audit event. On append, seq, prev_hash and hash are assigned by the
 * store (time too when 0); the strings are copied. In read results they live
 * in the caller's arena and are never NULL. */
typedef struct ck_audit_event {
  int64_t seq;             /* 1, 2, 3, ... without gaps */
  int64_t time;            /* epoch seconds (ck_clock_now) */
  const char *actor;       /* "token:admin", "agent:web-01", "system" */
  const char *action;      /* dotted verb: "cert.issue", "profile.update" */
  const char *object_type; /* "cert", "profile", "agent", ... or "" */
  const char *object_id;   /* fingerprint, name, id ... or "" */
  const char *details;     /* JSON text ("" = none) */
  uint8_t prev_hash[CK_SHA256_LEN];
  uint8_t hash[CK_SHA256_LEN];
} ck_audit_event;

/* Returns the canonical encoding's length for ev, or 0 when a string is
 * NULL or longer than 2^32-1 bytes. */
size_t ck_audit_encoded_len(const ck_audit_event *ev);

/* Writes the canonical encoding of ev into buf (cap bytes, at least
 * ck_audit_encoded_len): the tag "CKA1", seq and time as 8-byte big-endian
 * two's complement, then actor, action, object_type, object_id and details
 * each as a 4-byte big-endian length and the bytes. prev_hash and hash are
 * not part of it. Returns the bytes written, 0 when cap is too small or ev
 * is invalid. */
size_t ck_audit_encode(const ck_audit_event *ev, uint8_t *buf, size_t cap);

/* Computes SHA-256(prev || canonical(ev)) into out, without touching ev.
 * Returns CK_ERR_INVAL for an event that does not encode, CK_ERR_NOMEM,
 * CK_ERR_CRYPTO. */
ck_err ck_audit_hash(const uint8_t prev[CK_SHA256_LEN],
                     const ck_audit_event *ev, uint8_t out[CK_SHA256_LEN]);

/* An optional head the operator recorded elsewhere (a file, a ticket, a
 * WORM log): the chain must contain this seq with this hash. */
typedef struct ck_audit_anchor {
  int64_t seq;
  uint8_t hash[CK_SHA256_LEN];
} ck_audit_anchor;

typedef enum ck_audit_problem {
  CK_AUDIT_OK = 0,
  CK_AUDIT_MODIFIED,      /* a row's hash does not match its contents */
  CK_AUDIT_GAP,           /* seq jumps: rows deleted (or seq 1 missing) */
  CK_AUDIT_BROKEN_LINK,   /* prev_hash is not the previous row's hash */
  CK_AUDIT_TRUNCATED,     /* the chain ends before the recorded head */
  CK_AUDIT_HEAD_MISMATCH, /* the head (meta or anchor) hash differs */
} ck_audit_problem;

typedef struct ck_audit_report {
  ck_audit_problem problem; /* CK_AUDIT_OK when the chain is intact */
  int64_t bad_seq;          /* first bad row (the seq expected, for a gap) */
  int64_t checked;          /* rows whose hash was checked */
  int64_t head_seq;         /* last seq in the table */
  uint8_t head_hash[CK_SHA256_LEN];
  char msg[256]; /* human description, "" when OK */
} ck_audit_report;

/* Returns a static name for p ("modified", "gap", ...). */
const char *ck_audit_problem_name(ck_audit_problem p);

/* Walks the whole chain from seq 1 page by page and checks every link,
 * then the head recorded in the store (and anchor, when not NULL). Returns
 * CK_OK with *out filled whether or not a problem was found (check
 * out->problem), or the error that prevented reading. */
ck_err ck_audit_verify(ck_store *s, const ck_audit_anchor *anchor,
                       ck_audit_report *out, ck_errctx *err);

#endif
