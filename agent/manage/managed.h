/* managed.h — the managed-certificate state machine (docs/internals/agent.md
 * "Managed-certificate state machine").
 *
 *   NEED_KEY -> GENERATING_KEY -> HAVE_KEY -> NEED_CSR -> SUBMITTED
 *     -> (PENDING_APPROVAL) -> HAVE_CERT -> INSTALLING -> RELOADING
 *     -> (VERIFYING) -> MONITORING
 *   RELOADING/VERIFYING failed -> ROLLING_BACK -> MONITORING (old pair, a
 *     failure event, retry after a backoff)
 *   a failed step -> FAILED (reason, retried with exponential backoff)
 *
 * A ck_managed_set holds the managed certificates of one agent on one libuv
 * loop. Each certificate runs one step function per state (managed.c) that
 * says when to run next; libuv timers schedule it (at most an hour ahead,
 * then re-evaluated, so wall-clock jumps and CK_FAKE_TIME work). Blocking
 * phases run on the libuv thread pool: key generation (keycsr.h), install,
 * reload, served-certificate check and rollback (deploy.h). Every transition
 * goes through one setter, which logs "agent.managed.state" (old -> new),
 * checks the new state's invariants and sends an `event` (kind state, or
 * failure with code, reason and attempt) through the ops callback; stable
 * states are persisted to DIR/managed/<id>/state (format: mstate.h).
 *
 * Files per certificate, DIR = the agent's state_dir:
 *   DIR/managed/<id>/          0700
 *   DIR/managed/<id>/state     0600  stable state (mstate.h)
 *   DIR/managed/<id>/next.key  0600  key of the CSR in flight
 *   DIR/managed/<id>/next.csr  0644  the CSR of next.key as sent (DER)
 *   DIR/managed/<id>/next.crt  0644  received certificate + chain (PEM)
 *   DIR/managed/<id>/next.roots 0644 trust anchors delivered with it (PEM;
 *                                    upstream CAs, deploy.h)
 *   DIR/managed/<id>/journal   0600  install journal (target.h)
 *
 * Start-up: ck_target_recover runs first; GENERATING_KEY restarts at
 * NEED_KEY; SUBMITTED re-sends the CSR of next.key (the earlier request id
 * died with the old process); PENDING_APPROVAL keeps waiting for a `cert`
 * with its cert_id and, at the persisted retry time (the `pending` answer's
 * retry_after), sends the same CSR again (DIR/managed/<id>/next.csr: same
 * key, same bytes, so the coordinator answers from its open request); HAVE_CERT whose certificate is already installed (the
 * process died in RELOADING/VERIFYING/ROLLING_BACK) first puts the
 * previous pair back, then installs again.
 *
 * Renewal time: the coordinator's renew_at when it sent one, else the
 * earlier of not_after - renew_fraction * lifetime and not_after -
 * renew_before, minus a random jitter (at most `jitter`, capped at 5% of the
 * remaining life). A managed certificate with no installed or an unreadable
 * certificate renews at once; ck_managed_renew renews at once.
 *
 * Single-threaded: call everything on the loop's thread. */
#ifndef CK_AGENT_MANAGE_MANAGED_H
#define CK_AGENT_MANAGE_MANAGED_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/util/err.h"
#include "common/wire/wire.h"

/* X(NAME, stable): stable states are persisted. */
#define CK_MANAGED_STATE_MAP(X)                                                \
  X(NEED_KEY, 0)                                                               \
  X(GENERATING_KEY, 0)                                                         \
  X(HAVE_KEY, 0)                                                               \
  X(NEED_CSR, 0)                                                               \
  X(SUBMITTED, 1)                                                              \
  X(PENDING_APPROVAL, 1)                                                       \
  X(HAVE_CERT, 1)                                                              \
  X(INSTALLING, 0)                                                             \
  X(RELOADING, 0)                                                              \
  X(VERIFYING, 0)                                                              \
  X(MONITORING, 1)                                                             \
  X(ROLLING_BACK, 0)                                                           \
  X(FAILED, 1)

typedef enum ck_managed_state {
#define CK__MSTATE_ENUM(name, stable) CK_MS_##name,
  CK_MANAGED_STATE_MAP(CK__MSTATE_ENUM)
#undef CK__MSTATE_ENUM
      CK_MS__COUNT
} ck_managed_state;

/* "MONITORING"; NULL when out of range (static). */
const char *ck_managed_state_name(ck_managed_state s);
/* Parses a state name; -1 when unknown. */
int ck_managed_state_from_name(const char *name);
/* 1 when s is persisted. */
int ck_managed_state_stable(ck_managed_state s);

/* One managed certificate ([cert:ID] of the agent config); all borrowed
 * during ck_managed_add, which copies what it keeps. */
typedef struct ck_managed_conf {
  const char *id;      /* [A-Za-z0-9._-]{1,64} */
  const char *profile; /* required */
  const char *const *sans;
  size_t n_sans;       /* >= 1 */
  const char *cn;      /* NULL: no CN */
  const char *key;     /* key spec, NULL: ec-p256 */
  const char *cert_file, *key_file; /* required */
  const char *chain_file, *fullchain_file; /* optional */
  const char *owner, *group;               /* optional */
  unsigned mode, key_mode;                 /* 0: 0644 / 0600 */
  const char *reload;        /* NULL or "none": no reload */
  int64_t reload_timeout;    /* seconds, 0: 30 */
  const char *verify;        /* NULL: no served-certificate check */
  const char *verify_sni;
  int64_t verify_timeout;    /* seconds, 0: 30 */
  double renew_fraction;     /* (0,1); 0: 1/3 */
  int64_t renew_before;      /* seconds, 0: unset */
  int64_t jitter;            /* seconds, <0: none, 0: 3600 */
} ck_managed_conf;

/* How the machine talks to the outside (priv: the ipc to net; tests: fakes).
 * send: sends an `event`, a `csr` or an `ack` (of a stored `cert`, echoing
 * its id). When m->id is 0 it must first set m->id to a fresh message id
 * (the machine reads it back to match the answer to a csr). The
 * message is valid during the call only. Failures are logged, not fatal:
 * events are also in the log, and an unanswered CSR times out. */
typedef struct ck_managed_ops {
  ck_err (*send)(ck_wire_msg *m, void *arg);
  void *arg;
} ck_managed_ops;

/* Set-wide tunables; zero = default. */
typedef struct ck_managed_opts {
  int64_t retry_base;     /* seconds, first backoff (60) */
  int64_t retry_max;      /* seconds, cap of the backoff (6h) */
  int64_t submit_timeout; /* seconds without an answer to a csr (600) */
} ck_managed_opts;

typedef struct ck_managed_set ck_managed_set;

/* Creates an empty set for state_dir (copied). The trust
 * bundle for chain checks is state_dir/ca.pem (skipped when absent). */
ck_err ck_managed_set_new(uv_loop_t *loop, const char *state_dir,
                          const ck_managed_ops *ops,
                          const ck_managed_opts *opts, ck_managed_set **out,
                          ck_errctx *err);

/* Adds one certificate: creates DIR/managed/<id>/, runs ck_target_recover
 * on its files, loads its persisted state and rolls an unfinished one back
 * (blocking file work). Nothing runs before
 * ck_managed_set_start. Errors: CK_ERR_INVAL / CK_ERR_CONFIG (bad id,
 * reload text, missing files), CK_ERR_EXIST (duplicate id), file errors.
 * Added after ck_managed_set_start, its machine starts at once. */
ck_err ck_managed_add(ck_managed_set *s, const ck_managed_conf *c,
                      ck_errctx *err);

/* Stops managing id (`command config` no longer assigns it,
 * agent/run/assign.h): it leaves the set at once, its timer stops, work in
 * flight finishes and its result is dropped; no event is sent. Its files
 * (installed pair, DIR/managed/<id>/) are kept, so adding it again resumes
 * from the persisted state. CK_ERR_NOT_FOUND for an unknown id. */
ck_err ck_managed_remove(ck_managed_set *s, const char *id, ck_errctx *err);

/* Starts every certificate's machine (timers, due renewals). */
void ck_managed_set_start(ck_managed_set *s);

/* Offers a message from the coordinator (via net): `cert`, `pending` or
 * `error` answering a csr (matched by id), or an unsolicited `cert` with a
 * cert_id while SUBMITTED, PENDING_APPROVAL, or FAILED with a next.key and
 * no next.crt (a late answer); accepted only when its key is next.key's.
 * Returns 1 when a managed certificate took (or deliberately ignored) it,
 * 0 when none matches. */
int ck_managed_on_msg(ck_managed_set *s, const ck_wire_msg *m);

/* `command renew`: starts a renewal of id now; in PENDING_APPROVAL, sends
 * the pending CSR again now (an approver's nudge). CK_ERR_NOT_FOUND for an
 * unknown id, CK_ERR_BUSY when a renewal is already under way. */
ck_err ck_managed_renew(ck_managed_set *s, const char *id, ck_errctx *err);

/* A watched file changed: when it is the cert_file of a MONITORING
 * certificate, the installed certificate is re-read (and a renewal
 * scheduled from it, or started at once when it is gone or unreadable). */
void ck_managed_file_changed(ck_managed_set *s, const char *path);

/* Re-evaluates every timer against the current clock (tests that move
 * the fake clock; a resume from suspend). */
void ck_managed_set_recheck(ck_managed_set *s);

/* Current state of id (-1 when unknown) and its next timer deadline (epoch
 * seconds, 0 = none) — for tests and logs. */
int ck_managed_get(const ck_managed_set *s, const char *id, int64_t *next_at);

/* Number of certificates; their config files for the watcher: cert_file of
 * certificate i (NULL past the end). */
size_t ck_managed_count(const ck_managed_set *s);
const char *ck_managed_cert_file(const ck_managed_set *s, size_t i);
const char *ck_managed_id(const ck_managed_set *s, size_t i);
/* 1 when path is a file certificate i writes its leaf into (cert_file or
 * fullchain_file; compared as given), else 0. */
int ck_managed_leaf_file(const ck_managed_set *s, size_t i,
                         const char *path);

/* Computes a renewal time (the rule above, without the renew_at case):
 * rnd in [0,1) picks the jitter. For tests and status. */
int64_t ck_managed_renewal_time(int64_t not_before, int64_t not_after,
                                double fraction, int64_t renew_before,
                                int64_t jitter, int64_t now, double rnd);

/* Stops timers and frees the set once in-flight thread-pool work is done
 * (needs the loop to run). No ops call happens afterwards. NULL: no-op. */
void ck_managed_set_close(ck_managed_set *s);

#endif
