/* validate.h — ACME challenge validation (RFC 8555 §8.3 http-01, §8.4
 * dns-01, RFC 8737 tls-alpn-01): the coordinator's validator, as the ACME
 * server (acme/) calls it.
 *
 * ck_acme_validate() blocks (DNS lookups, TCP/TLS connects, HTTP GETs with
 * timeouts and retries) and is meant to run on a libuv thread-pool worker,
 * never on the loop. It is thread-safe: one ck_acme_validator serves every
 * worker at once.
 *
 * Test overrides, as pebble has them: a DNS resolver address through which
 * every name (A/AAAA) and TXT record is looked up, and the destination
 * ports of http-01 and tls-alpn-01 connections. */
#ifndef CK_COORD_ACME_VALIDATE_H
#define CK_COORD_ACME_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/config.h"
#include "common/util/err.h"

typedef enum ck_acme_chal_type {
  CK_ACME_CHAL_HTTP01 = 0,    /* "http-01" */
  CK_ACME_CHAL_DNS01 = 1,     /* "dns-01" */
  CK_ACME_CHAL_TLSALPN01 = 2, /* "tls-alpn-01" */
} ck_acme_chal_type;

typedef struct ck_acme_validator_opts {
  char dns_resolver[128]; /* "ip:port" used for every lookup; "" = system */
  int http01_port;        /* default 80 */
  int tlsalpn01_port;     /* default 443 */
  int64_t timeout_ms;     /* per attempt (connect + exchange), default 10000 */
  int attempts;           /* tries before failing, default 3 */
  int64_t retry_delay_ms; /* between attempts, default 1000 */
} ck_acme_validator_opts;

typedef struct ck_acme_validator ck_acme_validator;

/* Fills *o from the loaded coordinator configuration ([acme] section; the
 * `run` flags --acme-dns-resolver and --acme-http01-port override it). */
ck_err ck_acme_validator_opts_from_config(const ck_config *cfg,
                                          ck_acme_validator_opts *o,
                                          ck_errctx *err);

/* Fills *o with the defaults listed in ck_acme_validator_opts. */
void ck_acme_validator_opts_defaults(ck_acme_validator_opts *o);

/* Records the `run` flags (--acme-dns-resolver, "" or NULL: none;
 * --acme-http01-port, 0: none) that ck_acme_validator_opts_from_config
 * applies over the configuration file. ck_coord_load_settings calls it at
 * start-up; process-wide, thread-safe. */
void ck_acme_validator_set_run_overrides(const char *dns_resolver,
                                         int http01_port);

ck_err ck_acme_validator_new(const ck_acme_validator_opts *o,
                             ck_acme_validator **out, ck_errctx *err);
void ck_acme_validator_free(ck_acme_validator *v);

/* The outcome of one validation. On failure problem is the RFC 8555 §6.7
 * error type ("urn:ietf:params:acme:error:connection", ":dns",
 * ":incorrectResponse", ":tls", ":unauthorized", ...) and detail a message
 * fit for the client (what was fetched, what was expected). */
typedef struct ck_acme_validation {
  ck_err rc;          /* CK_OK: the challenge is satisfied */
  char problem[96];   /* "" on success */
  char detail[512];   /* "" on success */
  char address[64];   /* the address that answered/was tried, "" none */
} ck_acme_validation;

/* Validates one challenge for DNS identifier `identifier` (no wildcard
 * label for http-01/tls-alpn-01; dns-01 looks up
 * _acme-challenge.<identifier minus "*.">). token is the challenge token,
 * key_authz the key authorization token "." base64url(JWK thumbprint).
 * Blocks up to attempts * (timeout_ms + retry_delay_ms). Returns res->rc. */
ck_err ck_acme_validate(ck_acme_validator *v, ck_acme_chal_type type,
                        const char *identifier, const char *token,
                        const char *key_authz, ck_acme_validation *res);

#endif
