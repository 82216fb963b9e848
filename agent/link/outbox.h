/* outbox.h — the agent's offline queue of events for the coordinator.
 *
 * Events (managed-certificate state changes and failures) must reach the
 * coordinator exactly once even when it is down for days and the agent
 * restarts meanwhile. Each event is stored, already encoded as a wire frame
 * whose id is its outbox sequence number, in its own file
 * DIR/<seq as 16 hex digits>.ev written atomically (temporary file, fsync,
 * rename, fsync of the directory) before priv's event is acknowledged. The
 * coordinator records an event only when its id is above the agent's report
 * mark and acknowledges duplicates without recording them, so resending
 * after a reconnect is safe; an `ack` drops every entry up to its id.
 *
 * DIR/meta holds `next` (next sequence number, never reused; a new or
 * wiped outbox starts at the wall clock in milliseconds so its ids stay
 * above any earlier outbox's), `dropped`
 * (events dropped by overflow since the outbox was created), `report_seq`
 * and `report_count` (the pending overflow report), as key=value lines,
 * replaced atomically.
 *
 * Bounds: when an append would exceed max_events or max_bytes, the oldest
 * entries are dropped, counted in `dropped`, and one failure event
 * (cert_id "outbox", new_state "FAILED", reason "outbox overflow: N events
 * dropped") is queued in their place; until that report is handed out for
 * sending it is rewritten with the growing count (then it is sealed, in
 * meta, and later drops get a new report). The report itself may exceed
 * the bounds by one entry.
 *
 * Damage: an entry file that is truncated, does not decode, or whose id is
 * not its sequence number is logged (agent.outbox.corrupt), removed and
 * skipped; it never stops the queue. Single-threaded. */
#ifndef CK_AGENT_LINK_OUTBOX_H
#define CK_AGENT_LINK_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"
#include "common/wire/wire.h"

typedef struct ck_outbox ck_outbox;

/* Opens (creating, mode 0700) the queue in dir. max_events >= 1,
 * max_bytes >= 4096. Removes leftover temporary files. *out is owned by
 * the caller (ck_outbox_close). Errors: CK_ERR_INVAL, CK_ERR_IO/PERM (named
 * path), CK_ERR_CONFIG for an unreadable meta file, CK_ERR_NOMEM. */
ck_err ck_outbox_open(const char *dir, size_t max_events, size_t max_bytes,
                      ck_outbox **out, ck_errctx *err);

/* Stores ev (durably) as the next entry; *seq gets its sequence number (the
 * wire id it will be sent with). May drop the oldest entries (see above).
 * Errors: encode errors (CK_ERR_INVAL naming a missing field), CK_ERR_LIMIT
 * for one event larger than max_bytes, filesystem errors. */
ck_err ck_outbox_append(ck_outbox *ob, const ck_wire_event *ev, uint64_t *seq,
                        ck_errctx *err);

/* The first entry with a sequence number above `after` (0: the oldest):
 * *seq and the complete frame (length prefix + body) in *frame (malloc'ed,
 * caller frees) of *len bytes. Damaged entries are skipped and removed.
 * Seals the overflow report (meta updated) when it is the one returned.
 * Returns CK_OK, CK_ERR_NOENT when there is none, or CK_ERR_NOMEM. */
ck_err ck_outbox_peek(ck_outbox *ob, uint64_t after, uint64_t *seq,
                      uint8_t **frame, size_t *len, ck_errctx *err);

/* Removes every entry with a sequence number <= seq (the coordinator
 * acknowledged seq). Errors: filesystem errors on the meta file. */
ck_err ck_outbox_drop_through(ck_outbox *ob, uint64_t seq, ck_errctx *err);

/* Entries queued, their bytes, events dropped by overflow (persisted
 * total), next sequence number. */
size_t ck_outbox_count(const ck_outbox *ob);
size_t ck_outbox_bytes(const ck_outbox *ob);
uint64_t ck_outbox_dropped(const ck_outbox *ob);
uint64_t ck_outbox_next_seq(const ck_outbox *ob);

/* Reads depth and counters of the outbox in dir without opening it for
 * writing (for `status`): entries, bytes, dropped. Missing dir: zeros. */
ck_err ck_outbox_stat(const char *dir, size_t *count, size_t *bytes,
                      uint64_t *dropped, ck_errctx *err);

/* Frees ob (entries stay on disk). NULL is a no-op. */
void ck_outbox_close(ck_outbox *ob);

#endif
