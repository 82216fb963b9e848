/* est_helper.h — the EST re-enrollment helper process (docs/internals/
 * agent.md "EST mode"). simplereenroll authenticates with the certificate
 * being renewed, so its TLS handshake needs that certificate's key, which
 * only priv may read; priv must not talk to the network or parse what comes
 * from it. So priv starts `certkeeper-agent est-reenroll` for each
 * re-enrollment (priv_est.c): the helper reads its inputs from stdin —
 * including that key — drops to the [agent] user, enters the net sandbox
 * before any network use, makes the one request (agent/link/est.h), writes
 * the answer to stdout and exits. It holds the old key for one request
 * only; the new key never leaves priv.
 *
 * Both directions are a sequence of length-prefixed fields (4-byte big-
 * endian length, then the bytes), exactly the count expected, nothing
 * after:
 *   stdin   url, ca_fingerprint, anchors PEM (may be empty), client
 *           certificate chain PEM, its key PEM, CSR DER, user (may be
 *           empty), timeout in seconds (decimal)
 *   stdout  the answer as one wire frame (`cert` or `error`, id 1,
 *           common/wire/wire.h), the anchors PEM after the request (empty
 *           when none) */
#ifndef CK_AGENT_RUN_EST_HELPER_H
#define CK_AGENT_RUN_EST_HELPER_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"
#include "common/wire/wire.h"

#define CK_EST_HELPER_IN 8  /* fields on stdin */
#define CK_EST_HELPER_OUT 2 /* fields on stdout */
#define CK_EST_HELPER_MAX (4u << 20) /* bytes either way */

/* Packs n fields into *out (malloc'ed, caller frees; wipe it when a field
 * is a key). CK_ERR_LIMIT over CK_EST_HELPER_MAX, CK_ERR_NOMEM. */
ck_err ck_est_fields_pack(const ck_wire_bytes *v, size_t n, uint8_t **out,
                          size_t *out_len);

/* Splits buf into exactly n fields (slices of buf, borrowed). CK_ERR_PARSE
 * when a length runs past the end, fields are missing or bytes follow. */
ck_err ck_est_fields_unpack(const uint8_t *buf, size_t len, ck_wire_bytes *v,
                            size_t n, ck_errctx *err);

/* `certkeeper-agent est-reenroll` (argc/argv after the command name; no
 * arguments): the helper process above. Exit status 0 when an answer was
 * written (also a refusal: it is in the answer), 1 otherwise. */
int ck_est_helper_main(int argc, char **argv);

#endif
