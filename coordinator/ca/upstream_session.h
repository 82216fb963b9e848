/* upstream_session.h — one order's conversation with an upstream ACME CA,
 * shared by upstream_acme.c (the order) and upstream_account.c (the
 * account). Internal to coordinator/ca/. */
#ifndef CK_COORD_CA_UPSTREAM_SESSION_H
#define CK_COORD_CA_UPSTREAM_SESSION_H

#include "coordinator/ca/upstream_acme.h"
#include "coordinator/ca/upstream_acme_int.h"

/* Everything one order needs; lives on the worker's stack. */
typedef struct ck__acme_session {
  const ck_upstream_acme_req *req; /* borrowed */
  const ck_profile_upstream *cfg;
  ck_errctx *err;
  ck__acme_http *http;
  ck__acme_dir dir;
  ck__acme_key key;
  char *kid; /* account URL */
  char nonce[256];
  ck__acme_http01 *http01;
  char *tokens[CK_ACME_MAX_AUTHZ]; /* http-01 tokens we serve */
  size_t n_tokens;
  struct {
    char *name, *value;
  } dns[CK_ACME_MAX_AUTHZ]; /* dns-01 records the hook published */
  size_t n_dns;
  uint64_t deadline_ms;
  char hook[4200]; /* DATA_DIR/hooks/<dns01_hook> */
} ck__acme_session;

/* Records "upstream ACME CA <directory>: <step>: <message>" with code. */
ck_err ck__acme_sfail(ck__acme_session *s, ck_err code, const char *step,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The CA answered r with an unexpected status: CK_ERR_UPSTREAM naming its
 * problem document (type and detail) or the status. */
ck_err ck__acme_problem_fail(ck__acme_session *s, const char *step,
                             const ck__acme_resp *r);

/* Absolute path of a configured file (relative ones under the data
 * directory) into buf. */
ck_err ck__acme_resolve(ck__acme_session *s, const char *path, char *buf,
                        size_t len);

/* POSTs payload (NULL: POST-as-GET) to url as a JWS of the account key
 * (kid once registered, else the JWK), retrying a badNonce; *r holds the
 * answer whatever its status. */
ck_err ck__acme_signed_post(ck__acme_session *s, const char *url,
                            const char *payload, const char *accept,
                            ck__acme_resp *r);

/* ------------------------------------------------- account (upstream_account.c) */

/* The store id of this (directory, account key) pair: hex SHA-256, into
 * out (CK_SHA256_HEX_LEN bytes). */
ck_err ck__acme_account_id(ck__acme_session *s, char *out);

/* Sets s->kid from the cached account document id; CK_ERR_NOT_FOUND when
 * there is none (or it is unreadable). */
ck_err ck__acme_account_cached(ck__acme_session *s, const char *id);

/* Registers the account (newAccount, with EAB when configured), sets
 * s->kid and caches it as document id, audited "ca.upstream.account". */
ck_err ck__acme_account_register(ck__acme_session *s, const char *id);

#endif
