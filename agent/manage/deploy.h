/* deploy.h — the install, reload, verify and rollback phases of a renewal,
 * composed from the blocking primitives of target.h, reload.h and served.h,
 * plus the received-certificate file DIR/managed/<id>/next.crt (PEM: leaf
 * first, then the chain, issuer first). Every function here blocks: the
 * state machine (managed.c) runs them on the libuv thread pool, one at a
 * time per managed certificate. */
#ifndef CK_AGENT_MANAGE_DEPLOY_H
#define CK_AGENT_MANAGE_DEPLOY_H

#include <stddef.h>
#include <stdint.h>

#include "agent/manage/reload.h"
#include "agent/manage/target.h"
#include "common/util/err.h"
#include "common/wire/wire.h"

/* One managed certificate's deployment settings; all borrowed. */
typedef struct ck_deploy {
  ck_target_files files;
  const ck_reload *reload;    /* NULL: no reload */
  unsigned reload_timeout_ms;
  const char *verify;         /* "host:port" or NULL: no served check */
  const char *verify_sni;     /* NULL: none */
  unsigned verify_timeout_ms;
  const char *trust_pem;      /* coordinator CA bundle, NULL: chain unchecked */
  const char *next_key;       /* DIR/managed/<id>/next.key */
  const char *next_crt;       /* DIR/managed/<id>/next.crt */
  const char *next_roots;     /* DIR/managed/<id>/next.roots: PEM anchors the
                                 coordinator delivered with next.crt (an
                                 upstream CA's chain); absent: none */
} ck_deploy;

/* Writes the received leaf and chain to path as PEM (0644, atomic). */
ck_err ck_deploy_write_next(const char *path, const ck_wire_bytes *cert,
                            const ck_wire_bytes *chain, size_t n_chain,
                            ck_errctx *err);

/* Reads the leaf of next.crt: its SHA-256, the SHA-256 of its public key
 * and its validity (any out pointer may be NULL). */
ck_err ck_deploy_read_next(const char *path, uint8_t fp[32],
                           uint8_t spki[32], int64_t *not_before,
                           int64_t *not_after, ck_errctx *err);

/* Writes the trust anchors delivered with a `cert` (roots, DER) to path as
 * PEM (0644, atomic); n == 0 removes path. */
ck_err ck_deploy_write_roots(const char *path, const ck_wire_bytes *roots,
                             size_t n, ck_errctx *err);

/* Checks next.key + next.crt (key match, chain against d->trust_pem or the
 * anchors in d->next_roots at now)
 * and installs them into d->files. *bad_pair is set to 1 when the check
 * failed (the pair can never be installed: discard it), 0 otherwise. On
 * success new_fp is the installed leaf's SHA-256. */
ck_err ck_deploy_install(const ck_deploy *d, int64_t now, uint8_t new_fp[32],
                         int *bad_pair, ck_errctx *err);

/* Runs the reload (CK_OK at once when there is none). */
ck_err ck_deploy_reload(const ck_deploy *d, ck_errctx *err);

/* Waits until d->verify serves the certificate want (CK_OK at once when no
 * verify address is configured). */
ck_err ck_deploy_verify(const ck_deploy *d, const uint8_t want[32],
                        ck_errctx *err);

/* Puts the previous pair back (ck_target_rollback) and reloads again.
 * CK_ERR_NOENT (no reload then) when there is no previous pair: the first
 * install of a certificate. */
ck_err ck_deploy_rollback(const ck_deploy *d, ck_errctx *err);

#endif
