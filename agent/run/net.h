/* net.h — the agent's net process: the only one that talks to the
 * coordinator (docs/internals/agent.md "Processes").
 *
 * ck_net_main reads the identity key and certificate and ca.pem from the
 * state directory, prepares DIR/outbox and DIR/link.state for the [agent]
 * user, drops to that user and enters the sandbox (platforms/sandbox.h),
 * and then runs one libuv loop with:
 *   - the priv channel (agent/run/ipc.h, net receives as CK_WIRE_TO_COORD);
 *   - the coordinator session (agent/link/session.h) with the outbox.
 * Routing: priv's `event` is stored in the outbox (fsync) and acknowledged
 * to priv; `inventory` is forwarded while connected and dropped otherwise
 * (every new session asks priv for a full one: `command rescan` with
 * reason=connect and max_frame=<the coordinator's welcome.max_frame>); `csr` is forwarded with a session id and the answer
 * (`cert`, `pending`, `error`) relayed back under priv's id; while the
 * session is not up a csr is held (at most 16, for up to 20 s: priv usually
 * asks while the first connection is being set up) and then answered
 * `error` CK_ERR_AGAIN (retry_after 60); `command` and unsolicited
 * `cert` go to priv under ids of net's own, and priv's `ack`/`error` go back
 * to the coordinator under the coordinator's id.
 * SIGTERM/SIGINT stop the loop (exit 0); the channel to priv closing ends
 * the process (exit 1): the supervisor restarts both workers. */
#ifndef CK_AGENT_RUN_NET_H
#define CK_AGENT_RUN_NET_H

#include "agent/run/agentconf.h"

/* Runs the net process on the socketpair end fd (owned). Returns the exit
 * status. */
int ck_net_main(const ck_agentconf *cfg, int fd);

#endif
