/* gateway.h — the agent gateway: agents connect over TLS and speak the
 * msgpack frame protocol (docs/protocol.md); docs/internals/gateway.md
 * describes the sessions, threading and enrollment.
 *
 * An agent without an identity enrolls: it connects with server-only TLS
 * (pinning our CA), sends `enroll` with a one-time token and a CSR for its
 * identity key, and gets its identity certificate. Afterwards it connects
 * with that certificate (mutual TLS) and sends hello, inventory, events and
 * renewal CSRs; the coordinator answers and pushes commands.
 *
 * Threading: every function here runs on the loop thread of rt, except
 * ck_gateway_post_command and ck_gateway_command_wait (any thread). Slow
 * work (store reads and writes, signing) runs on the libuv thread pool. */
#ifndef CK_COORD_GATEWAY_GATEWAY_H
#define CK_COORD_GATEWAY_GATEWAY_H

#include <stdint.h>

#include "common/crypto/tls.h"
#include "common/wire/wire.h"
#include "coordinator/core/coord_rt.h"

typedef struct ck_gateway ck_gateway;

/* Tunables; zero fields take the default in the comment. */
typedef struct ck_gateway_opts {
  unsigned max_sessions;     /* connections (handshaking included); 10000 */
  unsigned idle_timeout_ms;  /* close a session that sent nothing this long
                                while no work of it is in flight; 180000 */
  unsigned ping_interval_ms; /* ping enrolled agents this often; 60000 */
  unsigned max_inflight;     /* renewal CSRs one session may have in flight
                                at once (further frames wait); 32 */
  int64_t identity_validity; /* seconds an agent identity certificate is
                                valid; 90 days */
  ck_wire_limits limits;     /* frame limits; all zero = defaults */
} ck_gateway_opts;

/* Listens on addr with TLS context tls (a server context that asks for
 * optional client certificates chaining to our CAs; referenced while the
 * gateway lives), with default options. *out is owned by the caller:
 * ck_gateway_close, then ck_gateway_free after the loop ended. Returns a
 * listen error (CK_ERR_ADDR, CK_ERR_NET, ...) or CK_ERR_NOMEM. */
ck_err ck_gateway_start(ck_coord_rt *rt, ck_tls_ctx *tls, const char *addr,
                        ck_gateway **out, ck_errctx *err);

/* Same with explicit options (NULL = defaults). */
ck_err ck_gateway_start_opts(ck_coord_rt *rt, ck_tls_ctx *tls,
                             const char *addr, const ck_gateway_opts *opts,
                             ck_gateway **out, ck_errctx *err);

/* Stops accepting, lets each session's in-flight work finish and send its
 * answer, closes every session, and calls cb(arg) (cb may be NULL) once
 * all of them are gone. Call once. */
void ck_gateway_close(ck_gateway *gw, void (*cb)(void *arg), void *arg);

/* Port actually bound. */
int ck_gateway_port(const ck_gateway *gw);

/* Number of sessions alive: open, or closed and waiting for their work to
 * come back (what max_sessions limits; for health and tests). */
unsigned ck_gateway_sessions(const ck_gateway *gw);

/* Frees gw after close completed. NULL is a no-op. */
void ck_gateway_free(ck_gateway *gw);

/* ---- commands ----------------------------------------------------------- */

/* Called once per command sent with ck_gateway_send_command: status CK_OK
 * when the agent acknowledged it (`ack`, detail = its text or NULL), the
 * agent's error code (with its message in detail) when it refused, or
 * CK_ERR_CLOSED when the session ended first. detail is borrowed for the
 * call. Runs on the loop thread. */
typedef void (*ck_gateway_cmd_cb)(ck_err status, const char *detail,
                                  void *arg);

/* Pushes a `command` (renew, rescan, replace-before-revoke, trust-update,
 * config) to the connected agent agent_id; cmd is borrowed for the call.
 * On success *id (may be NULL) is the frame id the agent's answer carries
 * and cb (may be NULL) will be called exactly once. Errors, cb not called:
 * CK_ERR_NOT_FOUND (the agent has no open session), CK_ERR_INVAL (an
 * unknown action, or the command does not encode), CK_ERR_CLOSED (the
 * gateway is closing), CK_ERR_NOMEM. */
ck_err ck_gateway_send_command(ck_gateway *gw, const char *agent_id,
                               const ck_wire_command *cmd,
                               ck_gateway_cmd_cb cb, void *arg, uint64_t *id,
                               ck_errctx *err);

/* ---- commands from other threads (post.c) ------------------------------- */

/* Most commands posted and not yet taken by the loop; past it
 * ck_gateway_post_command answers CK_ERR_BUSY. */
#define CK_GATEWAY_POST_MAX 256

/* The outcome of a posted command, on the loop thread: status CK_OK when
 * the command frame was written to the agent's session (id is the frame
 * id the agent's ack carries, session the session id, both for the
 * record); else CK_ERR_NOT_FOUND (the agent has no open session),
 * CK_ERR_CLOSED (the gateway closed first), CK_ERR_INVAL, CK_ERR_NOMEM,
 * with msg saying why. msg and session are borrowed for the call. */
typedef void (*ck_gateway_post_cb)(ck_err status, uint64_t id,
                                   const char *session, const char *msg,
                                   void *arg);

/* Thread-safe: may be called from any thread (a REST worker) while gw
 * lives. Copies agent_id, actor ("token:ops", recorded with the agent's
 * answer) and cmd, queues them and wakes the loop, which sends the command
 * with ck_gateway_send_command and calls cb(arg) once (cb may be NULL).
 * When the agent answers, the gateway records an audit event
 * `agent.command.answer` (actor agent:<id>, object agent <id>, details
 * session, command_id, action, target, status "ack" or the error code
 * name, detail). Errors, cb not called: CK_ERR_BUSY (CK_GATEWAY_POST_MAX
 * queued), CK_ERR_CLOSED (the gateway is closing), CK_ERR_INVAL (unknown
 * action, missing agent_id), CK_ERR_NOMEM. */
ck_err ck_gateway_post_command(ck_gateway *gw, const char *agent_id,
                               const ck_wire_command *cmd, const char *actor,
                               ck_gateway_post_cb cb, void *arg,
                               ck_errctx *err);

/* The blocking form for worker threads (never the loop thread): posts and
 * waits up to timeout_ms for the outcome. CK_OK with *id and session
 * (17 bytes: 16 hex digits) filled when the command was written; the
 * post's errors; or CK_ERR_TIMEOUT when the loop did not take it in time
 * (it may still be sent). */
ck_err ck_gateway_command_wait(ck_gateway *gw, const char *agent_id,
                               const ck_wire_command *cmd, const char *actor,
                               unsigned timeout_ms, uint64_t *id,
                               char session[17], ck_errctx *err);

#endif
