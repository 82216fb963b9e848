/* probe.h — which certificate does each local listening socket serve?
 *
 * For every listening address (platforms/listening.h; wildcards are probed
 * on loopback: 0.0.0.0 → 127.0.0.1, [::] → [::1]) a TLS handshake is tried
 * without verification (the point is to see what is served, not to trust
 * it) and without SNI, on one private libuv loop, all probes concurrently
 * (at most CK_PROBE_PARALLEL connections open at a time), each bounded by
 * timeout_ms. Ports that do not speak TLS fail their handshake (or time
 * out) and are skipped. Blocking: run it on a worker thread when called
 * from a loop. */
#ifndef CK_AGENT_DISCOVER_PROBE_H
#define CK_AGENT_DISCOVER_PROBE_H

#include <stddef.h>

#include "agent/discover/discover.h"
#include "common/util/err.h"
#include "platforms/listening.h"

/* Connections open at once during a probe run. */
#define CK_PROBE_PARALLEL 64

/* Probes the n addresses in a (timeout_ms per probe, 0 = 3000) and, for
 * each endpoint that completed a handshake, appends to d a "certificate"
 * finding with path "tcp://ADDR" (ADDR the probed address,
 * "127.0.0.1:8443", "[::1]:443"; fields parsed from the served leaf, its
 * DER kept) and adds ADDR to the endpoints of the file findings of d with
 * the same fingerprint. Duplicate addresses (after the wildcard mapping) are
 * probed once; endpoints that fail are skipped (logged at debug level).
 * Errors: CK_ERR_INVAL, CK_ERR_NOMEM,
 * CK_ERR_INTERNAL (libuv); one endpoint's failure is never an error. */
ck_err ck_probe_endpoints(const ck_listen_addr *a, size_t n,
                          unsigned timeout_ms, ck_discover *d,
                          ck_errctx *err);

/* Applies an earlier probe run to a fresh scan without probing again: for
 * every "tcp://ADDR" finding of probed (what ck_probe_endpoints appended to
 * a scan that held no files, say), appends a copy to d (once per ADDR) and adds ADDR to the
 * endpoints of d's file findings with the same fingerprint. The agent
 * probes into an empty ck_discover and applies the result to its scan.
 * Errors: CK_ERR_INVAL, CK_ERR_NOMEM. */
ck_err ck_probe_apply(const ck_discover *probed, ck_discover *d,
                      ck_errctx *err);

#endif
