/* priv.h — the agent's privileged worker (docs/internals/agent.md
 * "Processes"): one libuv loop running discovery and watching of local
 * certificate stores, the managed-certificate state machines
 * (agent/manage/managed.h), endpoint probes, hardware key store facts and
 * the trust target. It has no socket to the coordinator: everything goes
 * through the priv <-> net socketpair (agent/run/ipc.h), where priv plays
 * the agent side (it sends inventory, event, csr, ack; it receives cert,
 * pending, error, command, ack).
 *
 *   start-up  every [cert:ID] is added (ck_target_recover first, persisted
 *             state loaded, unfinished steps rolled back), the trust bundle
 *             is refreshed, then a full scan runs on the thread pool
 *   scan      at start and every [discovery] rescan: the roots plus the
 *             managed cert/key files, sent as a full `inventory` (split
 *             into parts); then the directories holding findings, the
 *             roots and the parents of managed files are watched. Only an
 *             index of what was sent is kept (invindex.h), the findings
 *             are freed and the heap trimmed
 *   watch     changed paths (gathered 200 ms) start a scan of the roots
 *             that is diffed against the index and sent as a `delta`
 *             inventory; a managed cert_file changed by someone else is
 *             re-read by its state machine
 *   command   renew (target = managed id), rescan (args reason=connect:
 *             while a scan runs, its result is sent in full, once; else a
 *             new scan, sent in full),
 *             trust-update (data = PEM bundle), config (data = [cert:ID]
 *             sections assigned by the coordinator, agent/run/assign.h;
 *             state_dir/assigned.conf is also read at start-up); each
 *             answered by `ack` or `error` with the command's id
 *   hwkeys    hardware key stores (platforms/hwkeys.h) are host facts:
 *             part 0 of every full inventory carries `host` (name, OS,
 *             arch, machine id, hwkeys); when a store appears or leaves
 *             after a full inventory was sent, a delta without findings
 *             carries the new `host` (ck__priv_hwkey_delta)
 *   trust     [trust] bundle gets the coordinator CA chain
 *             (state_dir/trust.pem from the last trust-update, else
 *             state_dir/ca.pem from enroll), written atomically 0644 only
 *             when its content changes, then [trust] command runs
 *   stop      SIGTERM/SIGINT, or the channel to net closing: timers and
 *             watchers stop, work in flight finishes, then it returns. */
#ifndef CK_AGENT_RUN_PRIV_H
#define CK_AGENT_RUN_PRIV_H

#include "agent/run/agentconf.h"

/* Runs priv on fd (one end of the socketpair; owned from here on) until a
 * stop. Returns 0 after a clean stop, 1 when it could not start (logged:
 * a bad [cert:ID], an unusable state directory or fd). */
int ck_priv_main(const ck_agentconf *cfg, int fd);

/* ---- internal, exposed for tests -------------------------------------- */

#include "agent/link/hostfacts.h"
#include "common/wire/wire.h"

/* Applies one platforms/hwkeys.h report to hf (ck_hostfacts_hwkey). When
 * the set of hardware key stores changed, fills *m with the `inventory`
 * that tells the coordinator: a delta of generation seq onto itself (base =
 * seq: no findings, nothing removed, so the generation does not move) whose
 * `host` holds all of hf's facts (pointers borrowed from hf: send m before
 * hf changes), and sets *built to 1; else *built is 0 and m untouched.
 * Errors as ck_hostfacts_hwkey. */
ck_err ck__priv_hwkey_delta(ck_hostfacts *hf, const char *kind,
                            const char *action, const char *devpath,
                            const char *name, uint64_t seq, ck_wire_msg *m,
                            int *built, ck_errctx *err);

#endif
