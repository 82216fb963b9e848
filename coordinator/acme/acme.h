/* acme.h — the coordinator's ACME server (RFC 8555, with RFC 9773
 * renewal information), as the HTTPS service svc_acme.c drives it.
 *
 * One ck_acme per running coordinator holds what is not in the store: the
 * replay-nonce set, the challenge validator (validate.h), the EAB master
 * key and the limits. Accounts, EAB keys, orders, authorizations and
 * directories are store documents ("acme.*" kinds, docs/acme.md).
 *
 * A request is a ck_acme_call: created on the loop thread, worked on the
 * thread pool (every store read/write and issuance happens there), then
 * finished on the loop thread, which answers it and queues the challenge
 * validations it asked for on the thread pool. */
#ifndef CK_COORD_ACME_ACME_H
#define CK_COORD_ACME_ACME_H

#include "common/net/http.h"
#include "coordinator/core/coord_rt.h"

typedef struct ck_acme ck_acme;
typedef struct ck_acme_call ck_acme_call;

/* Builds the server from rt's configuration ([acme], [acme-directory:*],
 * the run flags --acme-dns-resolver/--acme-http01-port): loads or creates
 * DIR/acme-eab.key (0600), creates the nonce set and the validator. On
 * success *out is caller-owned (ck_acme_free after the loop stopped). */
ck_err ck_acme_new(ck_coord_rt *rt, ck_acme **out, ck_errctx *err);

/* From now on challenge validations are no longer started (loop thread,
 * at shutdown); those running finish. */
void ck_acme_close(ck_acme *a);

/* After the loop has stopped (no validation is running). NULL: no-op. */
void ck_acme_free(ck_acme *a);

/* One request under /acme/. new: loop thread (NULL on OOM: answer 503);
 * work: thread pool; finish: loop thread, answers req and frees c. */
ck_acme_call *ck_acme_call_new(ck_acme *a, ck_http_req *req);
void ck_acme_call_work(ck_acme_call *c);
void ck_acme_call_finish(ck_acme_call *c);

/* ---- operator side (REST, CLI): EAB keys ---- */

/* Creates an EAB key for owner, usable on directory dir ("" = any).
 * Writes the acme.eab document with its audit event (actor). The HMAC key
 * is derived from the master key and kid, never stored: hmac_b64 receives
 * it (base64url) to show once. Blocks (thread pool). */
ck_err ck_acme_eab_create(ck_acme *a, const char *owner, const char *dir,
                          const char *actor, char kid[64], char hmac_b64[64],
                          ck_errctx *err);

#endif
