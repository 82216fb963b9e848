/* net_est.h — the net process in EST mode (agent/run/net_est.c): answers
 * priv's `csr` with EST simpleenroll instead of talking to the
 * coordinator's gateway. ck_net_main hands over to it when the config has
 * an [est] section. docs/internals/agent.md "EST mode". */
#ifndef CK_AGENT_RUN_NET_EST_H
#define CK_AGENT_RUN_NET_EST_H

#include "agent/run/agentconf.h"

/* Runs the EST net process on the socketpair end fd (owned). Returns the
 * exit status (0 after SIGTERM/SIGINT, 1 when it could not start or priv
 * went away). */
int ck_net_est_main(const ck_agentconf *cfg, int fd);

#endif
