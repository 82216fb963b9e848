/* validate_int.h — internals shared by the validator's files: validate.c
 * (entry point, retries, options), resolve.c (names and TXT records),
 * vconn.c (blocking TCP/TLS with deadlines), http01.c, dns01.c and
 * tlsalpn01.c (one challenge type each). Not for use outside acme/.
 *
 * Everything here blocks the calling thread (a thread-pool worker) and is
 * bounded by an absolute deadline in ck_clock_mono_ms() milliseconds. */
#ifndef CK_COORD_ACME_VALIDATE_INT_H
#define CK_COORD_ACME_VALIDATE_INT_H

#include <stdint.h>
#include <sys/socket.h>

#include "common/crypto/tls.h"
#include "coordinator/acme/validate.h"

#define CK__ACME_ERR "urn:ietf:params:acme:error:"
#define CK__ACME_MAX_ADDRS 16
#define CK__ACME_MAX_RESOLVERS 3

struct ck_acme_validator {
  ck_acme_validator_opts o;
  /* DNS servers asked for TXT records (and, when custom, addresses too) */
  struct sockaddr_storage ns[CK__ACME_MAX_RESOLVERS];
  size_t n_ns;
  int custom_ns;         /* 1: o.dns_resolver given: used for addresses too */
  ck_tls_ctx *alpn_ctx;  /* client, no verification, ALPN acme-tls/1 */
  ck_tls_ctx *https_ctx; /* client, no verification (https redirects) */
};

/* Records a failure in res: rc, the problem type (suffix after
 * "urn:ietf:params:acme:error:", e.g. "connection") and a detail. Returns
 * rc. */
ck_err ck__acme_vfail(ck_acme_validation *res, ck_err rc, const char *type,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Remaining milliseconds until deadline (0 when passed). */
int64_t ck__acme_left(uint64_t deadline);

/* ---- resolve.c ---------------------------------------------------------- */

typedef struct ck__acme_addrs {
  struct sockaddr_storage a[CK__ACME_MAX_ADDRS]; /* port 0 */
  size_t n;
} ck__acme_addrs;

/* Looks up the IPv6 and IPv4 addresses of name (IPv6 first), through the
 * configured resolver or the system's. On failure res holds a "dns"
 * problem (NXDOMAIN, SERVFAIL, timeout, no address). */
ck_err ck__acme_lookup_addrs(const ck_acme_validator *v, const char *name,
                             uint64_t deadline, ck__acme_addrs *out,
                             ck_acme_validation *res);

/* Looks up the TXT records of name. *txt is a heap array of *n strings
 * (free with ck__acme_txt_free), possibly empty (NOERROR/NODATA and
 * NXDOMAIN give *nxdomain = 1 and no records). On failure (timeouts,
 * SERVFAIL, malformed replies) res holds a "dns" problem. */
ck_err ck__acme_lookup_txt(const ck_acme_validator *v, const char *name,
                           uint64_t deadline, char ***txt, size_t *n,
                           int *nxdomain, ck_acme_validation *res);
void ck__acme_txt_free(char **txt, size_t n);

/* "ip:port" / "[ip]:port" of sa with the given port, into buf. */
void ck__acme_addr_str(const struct sockaddr_storage *sa, int port, char *buf,
                       size_t len);

/* ---- vconn.c ------------------------------------------------------------ */

typedef struct ck__acme_vconn {
  int fd;              /* -1 when closed */
  ck_tls_session *tls; /* NULL: plain TCP */
  int eof;             /* peer closed / close_notify */
} ck__acme_vconn;

/* Connects to sa:port before deadline. On failure res holds a "connection"
 * problem naming the address (refused, unreachable, timeout). */
ck_err ck__acme_vconn_open(ck__acme_vconn *c, const struct sockaddr_storage *sa,
                           int port, uint64_t deadline,
                           ck_acme_validation *res);
/* Runs a TLS client handshake on the open conn with ctx and SNI
 * server_name. Errors come back in err (CK_ERR_TIMEOUT, CK_ERR_NET,
 * CK_ERR_TLS_HANDSHAKE, ...); the caller picks the problem type. */
ck_err ck__acme_vconn_tls(ck__acme_vconn *c, ck_tls_ctx *ctx,
                          const char *server_name, uint64_t deadline,
                          ck_errctx *err);
ck_err ck__acme_vconn_write(ck__acme_vconn *c, const void *data, size_t len,
                            uint64_t deadline, ck_errctx *err);
/* Reads up to cap bytes (*n > 0), or CK_ERR_CLOSED at the end of the
 * stream, CK_ERR_TIMEOUT, CK_ERR_NET, CK_ERR_TLS. */
ck_err ck__acme_vconn_read(ck__acme_vconn *c, uint8_t *buf, size_t cap,
                           size_t *n, uint64_t deadline, ck_errctx *err);
void ck__acme_vconn_close(ck__acme_vconn *c);

/* ---- one file per challenge type ----------------------------------------- */

ck_err ck__acme_http01(const ck_acme_validator *v, const char *identifier,
                       const char *token, const char *key_authz,
                       uint64_t deadline, ck_acme_validation *res);
ck_err ck__acme_dns01(const ck_acme_validator *v, const char *identifier,
                      const char *key_authz, uint64_t deadline,
                      ck_acme_validation *res);
ck_err ck__acme_tlsalpn01(const ck_acme_validator *v, const char *identifier,
                          const char *key_authz, uint64_t deadline,
                          ck_acme_validation *res);

#endif
