/* webconf.h — small line parsers for web server TLS configuration.
 *
 * Discovery maps certificate files to the services that use them by reading
 * the TLS directives of nginx (ssl_certificate, ssl_certificate_key),
 * Apache (SSLCertificateFile, SSLCertificateKeyFile,
 * SSLCertificateChainFile) and HAProxy (`crt` on bind lines; a directory
 * means every PEM in it). The parsers are deliberately simple: one
 * directive per line, comments after '#', quoted values, no variable
 * expansion (values holding '$' or "data:" are ignored) and no include
 * following. Relative paths are resolved against the config file's
 * directory. */
#ifndef CK_AGENT_DISCOVER_WEBCONF_H
#define CK_AGENT_DISCOVER_WEBCONF_H

#include <stddef.h>

#include "common/util/err.h"

/* One reference from a config line to a certificate or key file. */
typedef struct ck_webref {
  char *path;          /* referenced path (resolved against the config dir) */
  const char *service; /* "nginx", "apache" or "haproxy" (static) */
  char *conf;          /* config file path */
  unsigned line;       /* 1-based line number in conf */
  int is_key;          /* a key directive (ssl_certificate_key, ...) */
} ck_webref;

/* A growing set of references; declare `ck_webconf w = {0};`. */
typedef struct ck_webconf {
  ck_webref *refs; /* owned */
  size_t n;
  size_t cap;
} ck_webconf;

/* Returns 1 when text (len bytes, may hold anything) contains one of the
 * directive names above, so the caller only parses likely configs. */
int ck_webconf_sniff(const char *text, size_t len);

/* Parses the config text of conf_path (len bytes, not necessarily
 * NUL-terminated, may hold NULs and any bytes) and appends the references
 * found to wc. Returns CK_OK, CK_ERR_NOMEM or CK_ERR_LIMIT (more than
 * 10,000 references in one file); on failure wc keeps what it had. */
ck_err ck_webconf_parse(ck_webconf *wc, const char *conf_path, const char *text,
                        size_t len, ck_errctx *err);

/* Frees every reference; wc can be reused. NULL is a no-op. */
void ck_webconf_clear(ck_webconf *wc);

#endif
