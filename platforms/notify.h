/* notify.h — the service-manager seam: tells systemd (or anything speaking
 * its sd_notify protocol) how the daemon is doing. Linux sends one datagram
 * to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or '@' for the
 * abstract namespace), without libsystemd; the POSIX fallback has no service
 * manager and does nothing. Used by `certkeeper-coordinator run` (READY=1
 * once every listener is up, RELOADING=1/READY=1 around SIGHUP, STOPPING=1)
 * and `certkeeper-agent run` (READY=1 once the workers are started). */
#ifndef CK_PLATFORM_NOTIFY_H
#define CK_PLATFORM_NOTIFY_H

/* Sends state (newline-separated assignments such as "READY=1" or
 * "STATUS=serving") to the service manager. Returns 1 when sent, 0 when no
 * service manager listens (NOTIFY_SOCKET unset or empty, or a platform
 * without one), -1 when the socket is malformed or the send failed (the
 * daemon goes on: readiness is advisory). Never blocks; safe to call from
 * any thread. */
int ck_notify(const char *state);

#endif
