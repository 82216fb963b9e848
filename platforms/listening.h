/* listening.h — the host's listening TCP sockets, for endpoint probes.
 *
 * On Linux these are the LISTEN rows of /proc/net/tcp and /proc/net/tcp6 of
 * the process's network namespace. Wildcard listeners stay as "0.0.0.0:443"
 * and "[::]:443": callers probe 127.0.0.1 / ::1 for those. Other platforms
 * return CK_ERR_UNSUPPORTED. */
#ifndef CK_PLATFORM_LISTENING_H
#define CK_PLATFORM_LISTENING_H

#include <stddef.h>

#include "common/util/err.h"

typedef struct ck_listen_addr {
  char addr[64]; /* "127.0.0.1:443", "[::1]:443", "0.0.0.0:22", "[::]:22" */
  unsigned port; /* 0..65535 */
} ck_listen_addr;

/* Most addresses kept; more is CK_ERR_LIMIT (nobody probes that many). */
#define CK_LISTENING_MAX 4096

/* Lists the listening TCP sockets, deduplicated (SO_REUSEPORT groups and
 * repeated rows appear once). *out is malloc'ed and owned by the caller (NULL
 * when *n is 0). CK_ERR_NOENT when /proc/net/tcp cannot be read. */
ck_err ck_platform_listening(ck_listen_addr **out, size_t *n, ck_errctx *err);

/* The parser behind it: appends the LISTEN rows of one /proc/net/tcp (v6 0)
 * or /proc/net/tcp6 (v6 1) text of len bytes to the array *out of *n entries
 * (NULL/0 to start; grown with realloc, caller owns it), skipping addresses
 * already present. The header line and malformed lines are skipped; the text
 * need not be NUL-terminated. Addresses are decoded in host byte order, as
 * the kernel writes them. CK_ERR_LIMIT beyond CK_LISTENING_MAX entries
 * (entries so far are kept), CK_ERR_NOMEM. */
ck_err ck_listening_parse(const char *text, size_t len, int v6,
                          ck_listen_addr **out, size_t *n, ck_errctx *err);

#endif
