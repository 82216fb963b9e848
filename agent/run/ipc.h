/* ipc.h — the priv <-> net channel: ordinary wire frames (4-byte length +
 * one msgpack map, common/wire/wire.h) over one end of a socketpair, read
 * and written through a libuv uv_pipe_t.
 *
 * Both directions use the wire codec and its limits, so a frame the other
 * side could not decode is never sent (ck_wire_encode validates). Each end
 * declares the role it RECEIVES as (the wire table's direction): priv plays
 * the agent (CK_WIRE_TO_AGENT: cert, pending, error, command, ack), net plays
 * the coordinator side of the pipe (CK_WIRE_TO_COORD: inventory, event, csr,
 * ack, error). A frame that does not decode, is over the limit, or is not
 * receivable by the role closes the channel: on_close gets the reason, which
 * is also logged (event "agent.ipc.bad_frame"). Docs: docs/internals/agent.md
 * "priv ⇄ net messages".
 *
 *   ck_ipc_open(loop, fd, CK_WIRE_TO_COORD, on_msg, on_close, me, &ipc, &err);
 *   on_msg(ipc, m, me):  m and everything it points to valid during cb only
 *   ck_ipc_send(ipc, &reply, &err);
 *   ck_ipc_close(ipc);   async; on_close is NOT called after this
 *
 * Single-threaded: all calls on the loop's thread. */
#ifndef CK_AGENT_RUN_IPC_H
#define CK_AGENT_RUN_IPC_H

#include <stddef.h>
#include <uv.h>

#include "common/util/err.h"
#include "common/wire/wire.h"

typedef struct ck_ipc ck_ipc;

/* A decoded frame; m (and its arena) is valid during the callback only. The
 * callback may call ck_ipc_send and ck_ipc_close. */
typedef void (*ck_ipc_msg_cb)(ck_ipc *ipc, const ck_wire_msg *m, void *arg);

/* The channel is closed: CK_ERR_CLOSED when the peer closed it, else the
 * read or frame error (CK_ERR_WIRE_*, CK_ERR_NOMEM, CK_ERR_IO). Called once;
 * afterwards ck_ipc_send returns CK_ERR_CLOSED; the owner still calls
 * ck_ipc_close to free it. Not called after ck_ipc_close. */
typedef void (*ck_ipc_close_cb)(ck_ipc *ipc, ck_err why, void *arg);

/* Opens fd (a connected socketpair end; ownership passes to the ipc, which
 * closes it) on loop and starts reading. role: what this end may receive
 * (CK_WIRE_TO_AGENT on the priv side, CK_WIRE_TO_COORD on the net side).
 * Errors: CK_ERR_INVAL, CK_ERR_NOMEM, CK_ERR_IO (fd not usable; fd is closed
 * then too). */
ck_err ck_ipc_open(uv_loop_t *loop, int fd, ck_wire_dir role,
                   ck_ipc_msg_cb on_msg, ck_ipc_close_cb on_close, void *arg,
                   ck_ipc **out, ck_errctx *err);

/* Encodes m and queues it for writing (copied; m may go away at once).
 * Errors: CK_ERR_CLOSED after close or a channel failure; encode errors
 * (CK_ERR_INVAL names a missing field, CK_ERR_WIRE_TOO_BIG); CK_ERR_NOMEM. */
ck_err ck_ipc_send(ck_ipc *ipc, const ck_wire_msg *m, ck_errctx *err);

/* Bytes queued and not yet written (for backpressure). */
size_t ck_ipc_pending(const ck_ipc *ipc);

/* Stops reading, drops writes not yet done, closes the fd
 * and frees the ipc asynchronously (needs the loop to run). No callback
 * fires afterwards. NULL is a no-op. */
void ck_ipc_close(ck_ipc *ipc);

#endif
