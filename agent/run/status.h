/* status.h — `certkeeper-agent status [--config FILE] [--json]`: what the
 * running agent last recorded, read from the state directory without
 * talking to the daemon:
 *   - the enrollment (agent id, server) from state_dir/agent.conf;
 *   - the connection from state_dir/link.state (agent/link/session.h):
 *     state, session, last connect, last report, last error;
 *   - the outbox depth and overflow count (agent/link/outbox.h);
 *   - every [cert:ID] with its persisted state from
 *     state_dir/managed/<id>/state (agent/manage/mstate.h): state,
 *     fingerprint, not_after, next_renewal, attempt, last_error; "NEW" when
 *     the state machine has not written one yet; then every certificate
 *     assigned by the coordinator (state_dir/assigned.conf, assign.h) that
 *     the local configuration does not override, each marked with where it
 *     comes from (FROM / "source": config or coordinator).
 * Text is a table for people; --json one object for tools (keys documented
 * in docs/agent.md "status"). */
#ifndef CK_AGENT_RUN_STATUS_H
#define CK_AGENT_RUN_STATUS_H

/* The command: argc/argv after the word "status". Returns 0, 1 when the
 * configuration cannot be loaded, 2 for bad usage. */
int ck_status_main(int argc, char **argv);

#endif
