/* run.h — `certkeeper-agent run`: the supervisor of the two workers
 * (docs/internals/agent.md "Processes").
 *
 * Loads the configuration (agentconf.h) and the [log] section, refuses to
 * start without an enrollment, creates a socketpair and forks priv
 * (agent/run/priv.h) and net (agent/run/net.h) on its two ends. When a
 * worker dies the other is stopped too and both are started again on a
 * fresh socketpair after a delay that doubles from 1 s to 60 s (reset once
 * the workers ran for a minute). SIGTERM/SIGINT stop both (SIGKILL after
 * 10 s) and exit 0; SIGHUP re-reads the configuration and restarts both
 * with it (a file that does not load is logged and the old one kept);
 * READY=1/STOPPING=1 go to the service manager (platforms/notify.h). The supervisor itself
 * runs no event loop and initialises no crypto, so it stays small. */
#ifndef CK_AGENT_RUN_RUN_H
#define CK_AGENT_RUN_RUN_H

/* The command: argc/argv after the word "run" ([--config FILE]). Returns
 * the exit status: 0 after SIGTERM/SIGINT, 1 when it cannot start, 2 for
 * bad usage. */
int ck_run_main(int argc, char **argv);

#endif
