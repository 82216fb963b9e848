/* est.h — the EST server's decisions (RFC 7030, RFC 8951), independent of
 * HTTP plumbing: coordinator/http/svc_est.c parses the request line and
 * headers and sends what these functions decide.
 *
 *   request.c   pure decoding of an EST request: path (label, operation),
 *               Content-Type, base64 body, the PKCS#10 CSR, HTTP Basic
 *               credentials (fuzzed by tests/fuzz/fuzz_est.c);
 *   auth.c      who is asking: fleet secret, one-time password, the
 *               certificate being renewed, an IDevID certificate;
 *   enroll.c    the decision for simpleenroll / simplereenroll /
 *               serverkeygen: names against the fleet, rate limit,
 *               issuance through workflow/issue.h, audit and security log;
 *   ratelimit.c enrollments per minute per fleet (in memory);
 *   fleet.c, pattern.c, otp.c   fleets, name patterns, one-time passwords.
 *
 * Every refusal carries the HTTP status RFC 7030 asks for and a one-line
 * message for the body; nothing is issued on refusal. */
#ifndef CK_COORD_EST_EST_H
#define CK_COORD_EST_EST_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/crypto.h"
#include "common/crypto/tls.h"
#include "coordinator/core/coord_rt.h"
#include "coordinator/est/fleet.h"

#define CK_ESTD_BODY_MAX (64u * 1024u) /* bytes of a request body */

typedef enum ck_estd_op {
  CK_ESTD_OP_NONE = 0,
  CK_ESTD_OP_CACERTS,
  CK_ESTD_OP_SIMPLEENROLL,
  CK_ESTD_OP_SIMPLEREENROLL,
  CK_ESTD_OP_CSRATTRS,
  CK_ESTD_OP_SERVERKEYGEN,
  CK_ESTD_OP_FULLCMC, /* recognised, answered 501 */
} ck_estd_op;

/* Returns "cacerts", "simpleenroll", ... (static). */
const char *ck_estd_op_name(ck_estd_op op);

/* Splits the part of the path after "/.well-known/est/" into an optional
 * label and the operation: "cacerts" or "<label>/cacerts". label gets ""
 * when there is none. Returns CK_ERR_NOT_FOUND for an unknown operation
 * or a malformed label (the message says which). */
ck_err ck_estd_parse_path(const char *rest, char label[CK_ESTD_NAME_MAX],
                          ck_estd_op *op, ck_errctx *err);

/* Decodes the body of simpleenroll / simplereenroll / serverkeygen: the
 * Content-Type must be application/pkcs10 (parameters and case ignored),
 * the body base64 (RFC 8951: with or without line breaks; the
 * Content-Transfer-Encoding header is not needed and, when present, must
 * say base64), holding one DER PKCS#10 request whose signature verifies
 * (proof of possession). On success *csr is caller-owned. Otherwise
 * *status is 415 (content type), 400 (base64, not a CSR, bad signature) or
 * 413 and err says why. */
ck_err ck_estd_decode_csr(const char *content_type, const char *cte,
                          const uint8_t *body, size_t len, ck_csr **csr,
                          int *status, ck_errctx *err);

/* Parses an "Authorization: Basic ..." header into user and password
 * (NUL-terminated, wiped by the caller with ck_wipe). Returns CK_OK,
 * CK_ERR_NOENT when the header is absent or another scheme, CK_ERR_PARSE
 * when it is Basic but malformed. */
ck_err ck_estd_parse_basic(const char *header, char *user, size_t user_len,
                           char *pass, size_t pass_len);

/* --------------------------------------------------------- decisions */

/* An enrollment request as svc_est.c hands it over (all borrowed). */
typedef struct ck_estd_req {
  ck_estd_op op;             /* SIMPLEENROLL, SIMPLEREENROLL, SERVERKEYGEN */
  const char *label;         /* "" none */
  const char *authorization; /* the Authorization header, NULL none */
  const uint8_t *peer_cert;  /* TLS client certificate (DER), NULL none */
  size_t peer_cert_len;
  const ck_csr *csr; /* decoded and verified (ck_estd_decode_csr) */
  const char *peer;  /* client address, for logs */
  /* Channel bindings of the TLS connection (RFC 7030 §3.5): tls-unique
   * (TLS 1.2; len 0 under TLS 1.3, where it is not defined) and
   * tls-exporter (RFC 9266; len 0 when unavailable). */
  uint8_t tls_unique[64];
  size_t tls_unique_len;
  uint8_t tls_exporter[64];
  size_t tls_exporter_len;
} ck_estd_req;

/* What to answer. */
typedef struct ck_estd_result {
  int status;        /* 200, 202, 400, 401, 403, 404, 429, 500, 503 */
  char message[512]; /* the error body / pending reason */
  int retry_after;   /* seconds for 202/429/503, 0 none */
  const char *realm; /* for 401: the WWW-Authenticate realm (static) */
  uint8_t *p7;       /* 200: certs-only PKCS#7 DER (issued certificate
                        first, then its CA chain); malloc'ed */
  size_t p7_len;
  uint8_t *key_der; /* serverkeygen: PKCS#8 DER, malloc'ed (wiped by
                       ck_estd_result_clear) */
  size_t key_len;
} ck_estd_result;

/* Decides and, when allowed, issues. Blocks (store, signing): run it on
 * the thread pool. Always fills out (clear it with ck_estd_result_clear). */
void ck_estd_enroll(ck_coord_rt *rt, const ck_estd_req *in,
                    ck_estd_result *out);

/* /cacerts: the CA chain of the label's fleet profile (or the default CA)
 * as certs-only PKCS#7 DER into out->p7 (status 200), or 404 for an
 * unknown label. Blocks on the store: thread pool. */
void ck_estd_cacerts(ck_coord_rt *rt, const char *label, ck_estd_result *out);

/* /csrattrs: the DER CsrAttrs (RFC 7030 §4.5.2) we ask for, into
 * out->p7 (status 200), or 404 for an unknown label. */
void ck_estd_csrattrs(ck_coord_rt *rt, const char *label, ck_estd_result *out);

void ck_estd_result_clear(ck_estd_result *r);

/* Records a refusal decided outside ck_estd_enroll (a body that does not
 * decode): security log and an "est.refused" audit event naming op, fleet
 * (NULL: unknown), status, reason and peer. Blocks on the store. */
void ck_estd_refused(ck_coord_rt *rt, const ck_estd_req *in, const char *fleet,
                     const ck_estd_result *out);

/* ------------------------------------------------------ TLS context */

/* Builds the HTTPS listener's TLS context from base (the shared server
 * configuration): client certificates of any extendedKeyUsage are accepted
 * (re-enrollment presents the device's own, often serverAuth-only,
 * certificate) and the trust bundle is base's plus the IDevID anchors of
 * every fleet stored now: called at start-up, on SIGHUP and, through
 * rt->https_trust_reload, after a fleet with anchors is created or deleted
 * over REST (rest_est.c). *out caller-owned (ck_tls_ctx_free). Blocks on
 * the store. */
ck_err ck_estd_https_tls(ck_coord_rt *rt, const ck_tls_config *base,
                         ck_tls_ctx **out, ck_errctx *err);

/* ------------------------------------------------------- rate limit */

/* Takes one enrollment from fleet's budget of per_min per minute (fixed
 * one-minute windows on ck_clock_now). Returns 0 when allowed, else the
 * seconds until the window ends (>= 1). per_min 0 = unlimited. Thread-safe;
 * remembers at most a few thousand fleets (least recently used dropped). */
int ck_estd_rate_take(const char *fleet, unsigned per_min);

#endif
