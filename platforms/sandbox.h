/* sandbox.h — narrowing the privileges of the agent's net process.
 *
 * The supervisor forks net, which reads its identity key, then calls
 * ck_sandbox_drop_user and ck_sandbox_enter_net before it parses anything
 * from the network. On Linux the sandbox is no_new_privs plus a seccomp
 * allowlist (docs/agent.md lists what is denied); other platforms return
 * CK_ERR_UNSUPPORTED from ck_sandbox_enter_net. Both calls are
 * irreversible and affect the whole process. */
#ifndef CK_PLATFORM_SANDBOX_H
#define CK_PLATFORM_SANDBOX_H

#include "common/util/err.h"

/* Switches to user (its primary group, no supplementary groups) when running
 * as root, and checks root cannot be regained. When not root: user NULL or
 * naming the current user is a no-op (CK_OK); another user is CK_ERR_PERM.
 * As root with user NULL or "root" nothing changes (the caller decides
 * whether that is acceptable). CK_ERR_NOENT when the user does not exist. */
ck_err ck_sandbox_drop_user(const char *user, ck_errctx *err);

/* Sets no_new_privs and installs the net process's system-call allowlist for
 * this process and all its threads: file I/O in already-reachable paths,
 * TCP/UDP/Unix sockets as a client, memory, time, signals, threads. Denied
 * calls (execve, fork, ptrace, mount, set*id, bind/listen, other socket
 * families, ...) fail with EPERM. CK_ERR_UNSUPPORTED where unavailable. */
ck_err ck_sandbox_enter_net(ck_errctx *err);

#endif
