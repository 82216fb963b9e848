/* served.h — which certificate does a local endpoint actually serve?
 *
 * After an install and reload the agent connects to the configured
 * host:port and compares the SHA-256 of the leaf the server presents with
 * the one it installed (the [cert:ID] verify key). The handshake does not
 * verify the server (we only read its certificate) and sends SNI only when
 * a name is given (verify_sni) or the host is a DNS name. Both functions
 * block on a private libuv loop: run them on the thread pool. Works in both
 * crypto builds. */
#ifndef CK_MANAGE_SERVED_H
#define CK_MANAGE_SERVED_H

#include <stdint.h>

#include "common/util/err.h"

/* Connects to addr ("HOST:PORT", "[V6]:PORT"), completes a TLS handshake
 * (SNI sni, or HOST when sni is NULL) and stores the SHA-256 of the served
 * leaf in fp. timeout_ms (0 = 10000) bounds the attempt once the TCP
 * connection is up (the handshake) and the wait for it as long as the
 * kernel reports connect failures in time. Errors: CK_ERR_ADDR, CK_ERR_NET
 * (refused, unreachable), CK_ERR_TLS_HANDSHAKE, CK_ERR_TIMEOUT,
 * CK_ERR_PEER_CERT_REQUIRED (no certificate served). */
ck_err ck_served_fetch(const char *addr, const char *sni, unsigned timeout_ms,
                       uint8_t fp[32], ck_errctx *err);

/* Fetches repeatedly (pausing 250 ms, growing to 2 s, between attempts)
 * until the served leaf's fingerprint equals want or deadline_ms
 * milliseconds from now have passed. last (may be NULL) receives the last
 * fingerprint seen (zeros if none). Returns CK_OK, or CK_ERR_TIMEOUT whose
 * message names what was served instead (hex) or the last fetch error. */
ck_err ck_served_wait(const char *addr, const char *sni, const uint8_t want[32],
                      unsigned deadline_ms, uint8_t last[32], ck_errctx *err);

#endif
