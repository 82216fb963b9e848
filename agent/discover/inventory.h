/* inventory.h — turns discovery results (discover.h) into `inventory` wire
 * messages (common/wire/wire.h, docs/protocol.md) and computes what changed
 * between two scans.
 *
 * What is sent: every "certificate" finding (files, bundles, PKCS#12 and
 * "tcp://addr:port" endpoint findings from probe.h), and every unreadable
 * "pkcs12" finding as a finding without fingerprint whose risks say
 * "unread" (the coordinator counts those). Keys and "error" findings are
 * not certificates and are not sent; a key's effect shows in the
 * certificate's key_path / key_match / key_*_readable risks. Risk names are
 * ck_risk_name()'s, plus "key_mismatch" (key_match false) and "unread".
 *
 * Typical use by the agent (priv):
 *   full scan  → ck_inventory_frames(FULL, seq)
 *   watched change of paths P → ck_discover_paths(P) → fresh;
 *     copy the last scan, ck_inventory_merge(copy, P, fresh),
 *     ck_inventory_delta(last, copy) → changed, removed
 *     → ck_inventory_frames(DELTA, seq+1, base seq) ; last = copy. */
#ifndef CK_AGENT_DISCOVER_INVENTORY_H
#define CK_AGENT_DISCOVER_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "agent/discover/discover.h"
#include "common/util/err.h"
#include "common/wire/wire.h"

/* Called once per frame's message, in order; m (and everything it points
 * to) is valid during the call only. m->id is 0: a sender that needs an id
 * copies the message struct (a shallow copy is enough) and sets it (any
 * 64-bit id was allowed for when sizing the parts). Return
 * 0 to go on, non-zero to stop (ck_inventory_frames then returns
 * CK_ERR_CANCELED). */
typedef int (*ck_inventory_emit_fn)(const ck_wire_msg *m, void *arg);

/* Converts the sendable findings of d (see above) into one or more
 * `inventory` messages of the given mode and generation seq (base: for
 * DELTA, the generation it applies to) and calls emit for each. Messages
 * are parts 0..k with `final` set on the last; each encodes (ck_wire_encode
 * with the default limits and max_frame as the body limit; 0 = the default
 * 1 MiB) to a body of at most max_frame bytes. Findings carry their DER
 * when the finding has one (ck_discover_opts.keep_der); a finding too large
 * for a frame on its own is sent without DER, and skipped (logged) if it is
 * still too large. removed (DELTA only, ignored for FULL) goes into the
 * first parts, before findings. An empty d gives one empty part.
 * A DELTA split into parts: part 0 has base = base, later parts base = seq
 * (each part is then a delta of generation seq onto itself, which the
 * coordinator applies in order).
 * Errors: CK_ERR_INVAL (mode, max_frame below 4 KiB), CK_ERR_NOMEM,
 * CK_ERR_CANCELED (emit stopped), an encoding error. */
ck_err ck_inventory_frames(const ck_discover *d, ck_wire_inv_mode mode,
                           uint64_t seq, uint64_t base,
                           const char *const *removed, size_t n_removed,
                           size_t max_frame, ck_inventory_emit_fn emit,
                           void *arg, ck_errctx *err);

/* Compares the sendable findings of two scans by (path, index): findings of
 * cur that are new or differ in any field sent (fingerprint, file stat,
 * key, services, endpoints, risks, ...) are deep-copied into *changed,
 * together with every other finding of the same path (a changed file is
 * sent whole: the coordinator replaces what it holds for that path)
 * (zeroed by the caller; ck_discover_free it also on failure); paths that
 * held a sendable finding in old and hold none in cur go into *removed
 * (malloc'ed array of malloc'ed strings, *n_removed of them; free each and
 * the array; NULL when none). Errors: CK_ERR_INVAL, CK_ERR_NOMEM. */
ck_err ck_inventory_delta(const ck_discover *old, const ck_discover *cur,
                          ck_discover *changed, char ***removed,
                          size_t *n_removed, ck_errctx *err);

/* Frees what ck_inventory_delta put in *removed. */
void ck_inventory_removed_free(char **removed, size_t n);

/* ck_discover_paths (declared in discover.h): re-examines only the given
 * files / directories (direct entries only).
 *
 * Folds the result fresh of ck_discover_paths(paths) into base (a previous
 * full scan, possibly merged before): every finding of base whose path is
 * one of paths or a direct entry of one of them is dropped, and fresh's
 * findings are moved in (fresh is left empty). Then, so a watched change
 * costs one file and not a rescan:
 *   - services and endpoints of the dropped findings carry over to the new
 *     findings of the same path (services) / same fingerprint (endpoints);
 *   - new certificates without a matched key are matched by public key
 *     against the keys of base, and certificates of base against the new
 *     keys (key_path, key_match, key-mode risks, cert_path);
 *   - certificates of base whose key_path was dropped and not replaced by
 *     a matching key lose key_path/key_match (also a web-config pairing
 *     that said "mismatch": the next full scan finds it again).
 * Errors: CK_ERR_NOMEM (base then holds a consistent but possibly
 * incomplete result: run a full scan). */
ck_err ck_inventory_merge(ck_discover *base, const char *const *paths,
                          size_t n, ck_discover *fresh, ck_errctx *err);

#endif
