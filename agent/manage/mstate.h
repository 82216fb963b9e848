/* mstate.h — the persisted state of one managed certificate:
 * DIR/managed/<id>/state, written by the state machine (managed.c) and read
 * by it at start-up and by `certkeeper-agent status`.
 *
 * Format: UTF-8 text, one `key=value` per line, no spaces around '=', lines
 * ending in "\n"; unknown keys are ignored (newer writers may add some), a
 * key given twice is an error. Written atomically (temp file, fsync, rename),
 * mode 0600. Keys, all optional except state:
 *   state=MONITORING        a stable state name: MONITORING, SUBMITTED,
 *                           PENDING_APPROVAL, HAVE_CERT or FAILED
 *   fingerprint=<64 hex>    SHA-256 of the installed leaf certificate
 *   not_after=<epoch s>     of the installed certificate
 *   next_renewal=<epoch s>  when the next renewal (MONITORING) or retry
 *                           (FAILED, and MONITORING after a rollback) starts,
 *                           or when to send next.csr again (PENDING_APPROVAL:
 *                           the coordinator's retry_after)
 *   ticket=<text>           coordinator request number (PENDING_APPROVAL)
 *   attempt=<n>             failures in a row (0 after a success)
 *   last_error=<text>       human text of the last failure (one line)
 *   updated_at=<epoch s>    when the file was written
 * Example:
 *   state=MONITORING
 *   fingerprint=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 *   not_after=1893456000
 *   next_renewal=1890000000
 *   attempt=0
 *   updated_at=1764000000 */
#ifndef CK_AGENT_MANAGE_MSTATE_H
#define CK_AGENT_MANAGE_MSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

#define CK_MSTATE_FILE "state"
#define CK_MSTATE_MAX_BYTES 8192u

/* One state file, as plain data (fixed buffers: no ownership). */
typedef struct ck_mstate {
  char state[32];        /* state name as written; "" never after parse */
  int has_fingerprint;
  uint8_t fingerprint[32];
  int64_t not_after;     /* 0 = absent */
  int64_t next_renewal;  /* 0 = absent */
  char ticket[128];      /* "" = absent */
  uint32_t attempt;
  char last_error[256];  /* "" = absent */
  int64_t updated_at;    /* 0 = absent */
} ck_mstate;

/* Parses len bytes of text into *out (zeroed first). Returns CK_ERR_PARSE
 * naming the line for a line without '=', a duplicate key, a bad number or
 * fingerprint, an over-long value or one with a control character, or a
 * missing state. */
ck_err ck_mstate_parse(const char *text, size_t len, ck_mstate *out,
                       ck_errctx *err);

/* Formats s into a malloc'ed NUL-terminated string *out (caller frees).
 * Control characters (newlines) in ticket/last_error become spaces. */
ck_err ck_mstate_format(const ck_mstate *s, char **out, size_t *out_len,
                        ck_errctx *err);

/* Reads and parses path. CK_ERR_NOENT when it does not exist. */
ck_err ck_mstate_load(const char *path, ck_mstate *out, ck_errctx *err);

/* Formats s and replaces path atomically (mode 0600). */
ck_err ck_mstate_save(const char *path, const ck_mstate *s, ck_errctx *err);

#endif
