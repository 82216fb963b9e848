/* reload.h — telling a service to pick up a newly installed certificate.
 *
 * Methods (the [cert:ID] reload key, docs/agent.md):
 *   systemd:UNIT          runs `systemctl reload UNIT`
 *   signal:NAME:PIDFILE   sends SIGHUP/SIGUSR1/SIGUSR2/SIGTERM (NAME is HUP,
 *                         USR1, USR2 or TERM, "SIG" prefix allowed) to the
 *                         process whose id is in PIDFILE (absolute path)
 *   command:ARGV...       runs ARGV split on spaces, no shell; ARGV[0] must
 *                         be an absolute path
 *   none                  does nothing
 * Commands run with stdin on /dev/null, stdout discarded and stderr
 * captured (its first line, up to 200 bytes, goes into the error message),
 * in their own process group, which is killed when the timeout passes. */
#ifndef CK_MANAGE_RELOAD_H
#define CK_MANAGE_RELOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util/err.h"

typedef enum ck_reload_kind {
  CK_RELOAD_NONE = 0,
  CK_RELOAD_SYSTEMD, /* argv = systemctl reload UNIT */
  CK_RELOAD_SIGNAL,  /* signo + pidfile */
  CK_RELOAD_COMMAND  /* argv */
} ck_reload_kind;

/* A parsed reload method. Owns its strings (ck_reload_free). */
typedef struct ck_reload {
  ck_reload_kind kind;
  char **argv;   /* NULL-terminated argument vector (SYSTEMD, COMMAND) */
  size_t argc;   /* entries in argv before the NULL */
  int signo;     /* SIGNAL: the signal number */
  char *pidfile; /* SIGNAL: absolute path of the pid file */
} ck_reload;

/* Parses text (see above) into *out, which the caller then releases with
 * ck_reload_free. NULL text means "none". Returns CK_ERR_PARSE with a
 * message naming the problem (unknown method, bad unit name, unknown
 * signal, relative path, empty command, too many arguments). */
ck_err ck_reload_parse(const char *text, ck_reload *out, ck_errctx *err);

/* Frees what r owns and zeroes it; NULL is a no-op. */
void ck_reload_free(ck_reload *r);

/* Runs the method, blocking until it is done (run it on the thread pool).
 * timeout_ms 0 means 30000. Returns CK_OK when the command exited 0 or the
 * signal was sent; CK_ERR_IO "reload command exited with status N: <first
 * stderr line>" (or "killed by signal N"); CK_ERR_TIMEOUT when it did not
 * finish in time (its process group was killed); CK_ERR_NOENT when the
 * program cannot be run, the pid file is missing or the process is gone;
 * CK_ERR_PARSE for a malformed pid file; CK_ERR_PERM when the signal is
 * not allowed. */
ck_err ck_reload_run(const ck_reload *r, unsigned timeout_ms, ck_errctx *err);

/* Internal, exposed for the fuzzer: parses pid file contents (decimal
 * digits, optional trailing whitespace, value 2..2^31-1); path is only for
 * messages. CK_ERR_PARSE otherwise. */
ck_err ck__reload_pid_parse(const uint8_t *data, size_t len, const char *path,
                            pid_t *pid, ck_errctx *err);

#endif
