/* est.h — the agent's EST client (RFC 7030) for devices that enroll over
 * EST instead of certkeeper's own protocol. It runs on a libuv loop over the
 * agent's TLS stack (common/net/tls.h, either crypto backend): one TLS
 * connection per request, "Connection: close", bounded by a timer.
 *
 *   GET  <base>/cacerts          trust bootstrap (§4.1.1): a provisional TLS
 *                                connection (server not yet verifiable); the
 *                                CA set is accepted only when one of its
 *                                certificates has the pinned SHA-256
 *                                fingerprint, and the server's own chain must
 *                                verify to it; the pinned certificate and
 *                                those that chain to it become the trust
 *                                anchors of every later request
 *   POST <base>/simpleenroll     PKCS#10 (base64), HTTP Basic (fleet name +
 *                                secret or one-time password) and/or a TLS
 *                                client certificate (IDevID)
 *   POST <base>/simplereenroll   the same with the certificate being renewed
 *                                as TLS client certificate
 * Answers: 200 with a base64 certs-only PKCS#7 (est_http.h), 202 with
 * Retry-After (CK_ERR_AGAIN, retry_after set), and each error status mapped
 * to a ck_err with a message naming the status, what to check, and the
 * server's text (ck_est_status_err).
 *
 * <base> is the URL's path: "/.well-known/est" or "/.well-known/est/LABEL"
 * (a label selects a profile on the server).
 *
 * A request that has no trust anchors yet (no ca_pem given, no bootstrap
 * done) runs the /cacerts bootstrap first, on its own connection.
 * Single-threaded: everything on the loop's thread. */
#ifndef CK_AGENT_LINK_EST_H
#define CK_AGENT_LINK_EST_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/crypto/crypto.h"
#include "common/util/err.h"
#include "common/util/mem.h"
#include "common/wire/wire.h"

/* A parsed EST URL. */
typedef struct ck_est_url {
  char host[256];    /* "127.0.0.1", "est.example" (no brackets) */
  char addr[300];    /* "host:port" / "[v6]:port" for ck_tls_connect */
  char hostport[300];/* Host header value */
  char base[512];    /* "/.well-known/est" or "/.well-known/est/LABEL" */
} ck_est_url;

/* Parses "https://HOST[:PORT]/.well-known/est[/LABEL][/]" (port 443 by
 * default; IPv6 in brackets). CK_ERR_CONFIG naming what is wrong. */
ck_err ck_est_url_parse(const char *url, ck_est_url *out, ck_errctx *err);

/* Client configuration; everything borrowed during ck_est_client_new only. */
typedef struct ck_est_conf {
  const char *url;            /* required, see ck_est_url_parse */
  const char *ca_fingerprint; /* SHA-256 hex of a CA certificate /cacerts
                                 must hold (bootstrap pin); required unless
                                 ca_pem is given */
  const uint8_t *ca_pem;      /* trust anchors already known (PEM), or NULL */
  size_t ca_pem_len;
  const char *user;           /* HTTP Basic user (fleet), NULL: no Basic */
  const uint8_t *password;    /* its secret or one-time password */
  size_t password_len;
  const uint8_t *cert_pem;    /* TLS client certificate chain (IDevID or
                                 the certificate being renewed), or NULL */
  size_t cert_pem_len;
  const uint8_t *key_pem;     /* its key (unencrypted PEM) */
  size_t key_pem_len;
  unsigned timeout_ms;        /* per request (connect to answer); 0: 30000 */
} ck_est_conf;

typedef struct ck_est_client ck_est_client;

/* The outcome of one request, handed to the callback (borrowed; the
 * callback may move certs out, e.g. `*mine = res->certs; memset(&res->certs,
 * 0, ...)`). */
typedef struct ck_est_result {
  ck_err rc;            /* CK_OK, CK_ERR_AGAIN (202/429/503), or why not */
  ck_errctx err;        /* message when rc != CK_OK */
  int status;           /* HTTP status, 0 when none was received */
  int64_t retry_after;  /* seconds (202/429/503), -1 when not given */
  ck_cert_list certs;   /* the answer's certificates, as sent */
} ck_est_result;

typedef void (*ck_est_cb)(ck_est_client *c, ck_est_result *res, void *arg);

/* Creates a client on loop. *out is owned by the caller (ck_est_client_close).
 * Errors: CK_ERR_CONFIG (URL, pin, Basic without password, key without
 * certificate), TLS context errors (bad certificate or key PEM). The
 * password is copied and wiped on close. */
ck_err ck_est_client_new(uv_loop_t *loop, const ck_est_conf *conf,
                         ck_est_client **out, ck_errctx *err);

/* GET /cacerts (bootstrapping trust when none is known yet). cb is called
 * once, never from inside this call, unless this returns an error. */
ck_err ck_est_cacerts(ck_est_client *c, ck_est_cb cb, void *arg,
                      ck_errctx *err);

/* POST /simpleenroll (reenroll 0) or /simplereenroll (1) with the DER
 * PKCS#10 csr (copied). On CK_OK in the result, certs holds what the server
 * sent (the issued certificate and possibly its chain; ck_est_pick_leaf
 * finds it). Same callback contract as ck_est_cacerts. */
ck_err ck_est_enroll(ck_est_client *c, int reenroll, const uint8_t *csr,
                     size_t csr_len, ck_est_cb cb, void *arg, ck_errctx *err);

/* The trust anchors in use (PEM, borrowed from c), or NULL before a
 * bootstrap. */
const uint8_t *ck_est_client_ca_pem(const ck_est_client *c, size_t *len);

/* Number of requests in flight. */
size_t ck_est_client_busy(const ck_est_client *c);

/* Aborts requests in flight (their callbacks are not called), and frees c
 * once their handles are closed (needs the loop to run). NULL: no-op. */
void ck_est_client_close(ck_est_client *c);

/* From an answer's certificates: the index of the one whose public key is
 * spki_sha256 (the CSR's), or -1. */
int ck_est_pick_leaf(const ck_cert_list *certs,
                     const uint8_t spki_sha256[CK_SHA256_LEN]);

/* Orders the issuers of certs->certs[leaf] into chain (borrowed pointers
 * into certs and anchors): from the leaf's issuer upwards, following
 * issuer == subject among certs and then anchors, stopping before a
 * self-signed root; at most cap entries. Returns how many were found. */
size_t ck_est_chain(const ck_cert_list *certs, size_t leaf,
                    const ck_cert_list *anchors, const ck_cert **chain,
                    size_t cap);

/* The state machine's view of an EST answer to the DER csr: into *out
 * (allocated from a, valid while a is), either a `cert` (type CK_WIRE_CERT:
 * the certificate for the CSR's public key and its issuers, ck_est_chain
 * over the answer and the anchors in ca_pem) or an `error` (res->rc, its
 * message, retry_after from Retry-After; 60 s for a CK_ERR_AGAIN without
 * one). The caller sets out->id (and cert_id). Returns CK_OK when *out is
 * a cert or mirrors res's failure, else why the answer was unusable
 * (CK_ERR_KEY_MISMATCH: no certificate for the key), *out being the error
 * to send then. */
ck_err ck_est_answer(const ck_est_result *res, const uint8_t *csr,
                     size_t csr_len, const uint8_t *ca_pem, size_t ca_len,
                     ck_arena *a, ck_wire_msg *out, ck_errctx *err);

#endif
