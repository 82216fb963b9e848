/* target.h — installing a managed key + certificate pair atomically.
 *
 * Two files cannot be renamed together, so an install is journaled: the
 * journal (paths, fingerprints of the old and new leaf) is written and
 * fsynced first, every new file is written as "<target>.ck-new" with its
 * final owner and mode before any byte, the current files are hard-linked
 * (or copied) to "<target>.ck-prev", the new files are renamed over the
 * targets, the directories fsynced, and only then the journal removed. If
 * the process dies anywhere in between, ck_target_recover() (run before
 * anything else at start-up) finds the journal and puts the previous pair
 * back, so cert_file and key_file always hold a matching pair: the old one
 * or the new one. A rollback (restore "*.ck-prev") is journaled the same
 * way and recovery completes it.
 *
 * Files written (PEM):
 *   cert_file       the leaf; leaf + intermediates when it equals
 *                   fullchain_file; leaf + intermediates + key when it
 *                   equals key_file (one combined PEM, created key_mode)
 *   key_file        the private key, key_mode (0600) from creation
 *   chain_file      the intermediates (issuer first), may be empty
 *   fullchain_file  the leaf followed by the intermediates
 * Owner and group are applied (fchown before writing) only when the
 * process runs as root. All functions are blocking (run them on the thread
 * pool) and not safe to call concurrently for the same files. */
#ifndef CK_MANAGE_TARGET_H
#define CK_MANAGE_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"
#include "common/wire/wire.h"

/* Where a managed certificate lives. All strings borrowed. */
typedef struct ck_target_files {
  const char *cert_file;      /* required */
  const char *key_file;       /* required; == cert_file: combined PEM */
  const char *chain_file;     /* optional: intermediates */
  const char *fullchain_file; /* optional: leaf + intermediates */
  const char *owner, *group;  /* optional user/group names (root only) */
  unsigned cert_mode;         /* 0 -> 0644 */
  unsigned key_mode;          /* 0 -> 0600 */
  const char *journal;        /* journal path; NULL -> "<cert_file>.ck-journal" */
} ck_target_files;

/* A pair to install. All borrowed. */
typedef struct ck_target_pair {
  const char *key_pem; /* unencrypted PEM private key */
  size_t key_pem_len;
  const uint8_t *cert_der; /* the leaf, DER */
  size_t cert_der_len;
  const ck_wire_bytes *chain; /* intermediates, issuer first, DER */
  size_t n_chain;
  const ck_wire_bytes *roots; /* extra trust anchors for this pair only, DER
                                 (the coordinator's `cert` roots: an
                                 upstream CA); NULL/0: none */
  size_t n_roots;
} ck_target_pair;

/* Checks that p's key belongs to its leaf (CK_ERR_KEY_MISMATCH otherwise)
 * and, when trust_pem_file is not NULL, that the leaf chains through p's
 * intermediates to a certificate in that PEM bundle or in p->roots at
 * time now (epoch
 * seconds, 0 = ck_clock_now()): CK_ERR_UNTRUSTED, CK_ERR_EXPIRED,
 * CK_ERR_NOT_YET_VALID, CK_ERR_VERIFY, ... Malformed input gives
 * CK_ERR_BAD_KEY / CK_ERR_BAD_CERT / CK_ERR_BAD_PEM. Messages say which. */
ck_err ck_target_check(const ck_target_pair *p, const char *trust_pem_file,
                       int64_t now, ck_errctx *err);

/* Installs p into t's files as described above (call ck_target_check
 * first). Stale "*.ck-prev" files are replaced by links to the files being
 * replaced. Returns CK_OK with the new pair in place and the journal gone;
 * on failure the previous pair is put back where possible (the journal stays
 * when that fails too, for ck_target_recover). CK_ERR_BUSY when a journal
 * already exists (run ck_target_recover first). CK_ERR_INVAL for a bad
 * file set (missing paths, chain_file equal to key_file, newline in a
 * path), CK_ERR_NOENT for an unknown owner/group, CK_ERR_IO and friends for
 * filesystem failures, naming the path. */
ck_err ck_target_install(const ck_target_files *t, const ck_target_pair *p,
                         ck_errctx *err);

/* Puts the "*.ck-prev" files back over the targets (journaled like an
 * install; the .ck-prev files are consumed). A file without a .ck-prev is
 * left as it is. Returns CK_ERR_NOENT when cert_file or key_file has no
 * .ck-prev (nothing to roll back to), CK_ERR_BUSY when a journal exists. */
ck_err ck_target_rollback(const ck_target_files *t, ck_errctx *err);

typedef enum ck_target_recovery {
  CK_TARGET_CLEAN = 0, /* no journal: nothing was in flight */
  CK_TARGET_RESTORED   /* a journal was found and the previous pair restored */
} ck_target_recovery;

/* Start-up recovery. With a journal: restores the previous pair (install)
 * or completes the rollback, removes leftovers (*.ck-new, temporary files)
 * and the journal: *out = CK_TARGET_RESTORED. Without: removes stray
 * *.ck-new files: *out = CK_TARGET_CLEAN. Idempotent; safe to run again
 * after dying in it. */
ck_err ck_target_recover(const ck_target_files *t, ck_target_recovery *out,
                         ck_errctx *err);

/* The installed leaf (first certificate of cert_file): its SHA-256 and
 * validity. CK_ERR_NOENT when cert_file is absent; parse errors otherwise.
 * not_before / not_after may be NULL. */
ck_err ck_target_current(const ck_target_files *t, uint8_t fp[32],
                         int64_t *not_before, int64_t *not_after,
                         ck_errctx *err);

/* Test seam: when not NULL, called before and after every filesystem step
 * of install, rollback and recover with an increasing step number (from 1
 * per call). NULL in production; tests set it to kill the process at a
 * chosen step. */
extern void (*ck__target_fault)(int step);

/* Internal, exposed for the fuzzer: parses journal text (format in
 * target.c); *n_files receives the number of restore/remove lines.
 * CK_ERR_PARSE for anything else. */
ck_err ck__target_journal_parse(const char *text, size_t len, size_t *n_files,
                                ck_errctx *err);

#endif
