/* upstream_acme_int.h — the pieces of the upstream ACME connector
 * (upstream_acme.h), shared between its files and the unit tests:
 *   upstream_jws.c     account key (PEM file) -> JWK, JWS and EAB signing
 *   upstream_parse.c   parsing the CA's JSON answers and headers
 *   upstream_http.c    one libcurl session: GET, HEAD, POST with limits
 *   upstream_http01.c  the http-01 responder (a private loop and thread)
 *   upstream_dns01.c   dns-01: the TXT value and the operator's hook
 *   upstream_account.c the account: registered once, cached in the store
 *   upstream_acme.c    the RFC 8555 conversation itself (its per-order
 *                      state: upstream_session.h)
 * Nothing here is thread-shared except the responder registry. */
#ifndef CK_COORD_CA_UPSTREAM_ACME_INT_H
#define CK_COORD_CA_UPSTREAM_ACME_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

/* ------------------------------------------------------------- JWS (jws) */

/* An account key as JOSE sees it. */
typedef struct ck__acme_key {
  json_t *jwk;        /* private JWK (d included); owned */
  json_t *pub;        /* public JWK (kty, crv, x, y); owned */
  char alg[8];        /* "ES256" or "ES384" */
  char thumbprint[64]; /* RFC 7638 SHA-256 thumbprint, base64url */
} ck__acme_key;

/* Builds *out from a PEM/DER private key (EC P-256 or P-384; other types
 * are CK_ERR_UNSUPPORTED with a message). */
ck_err ck__acme_key_from_pem(const uint8_t *data, size_t len, ck__acme_key *out,
                             ck_errctx *err);

/* Reads the account key file at path; when it does not exist and create is
 * 1, generates an EC P-256 key and writes it there first (PKCS#8 PEM, mode
 * 0600, atomically). *created is set to 1 in that case. */
ck_err ck__acme_key_load(const char *path, int create, ck__acme_key *out,
                         int *created, ck_errctx *err);

/* Frees what k holds (key material wiped by jansson's free is not
 * guaranteed: d is overwritten before release). NULL is a no-op. */
void ck__acme_key_clear(ck__acme_key *k);

/* Signs one ACME request (RFC 8555 6.2) as flattened JSON serialization:
 * protected header {alg, nonce, url} plus kid (the account URL) or, when
 * kid is NULL, jwk (newAccount). payload NULL means POST-as-GET (empty
 * payload). On success *out is malloc'ed JSON text (caller frees). */
ck_err ck__acme_jws(const ck__acme_key *k, const char *kid, const char *nonce,
                    const char *url, const char *payload, char **out,
                    ck_errctx *err);

/* The externalAccountBinding object (RFC 8555 7.3.4): a HS256 JWS over the
 * account's public JWK with {alg, kid, url}, keyed with hmac. On success
 * *out is a new JSON object. */
ck_err ck__acme_eab(const ck__acme_key *k, const char *kid, const uint8_t *hmac,
                    size_t hmac_len, const char *url, json_t **out,
                    ck_errctx *err);

/* Decodes base64url (padding and surrounding whitespace tolerated) into a
 * malloc'ed buffer. CK_ERR_PARSE on a bad character. */
ck_err ck__acme_b64url_decode(const char *in, size_t len, uint8_t **out,
                              size_t *out_len, ck_errctx *err);

/* base64url without padding of data; malloc'ed NUL-terminated, NULL on
 * OOM. */
char *ck__acme_b64url(const uint8_t *data, size_t len);

/* ---------------------------------------------------------- parse (parse) */

#define CK_ACME_BODY_MAX (1024 * 1024) /* largest answer read from the CA */

typedef enum ck__acme_status {
  CK_ACME_ST_UNKNOWN = 0,
  CK_ACME_ST_PENDING,
  CK_ACME_ST_READY,
  CK_ACME_ST_PROCESSING,
  CK_ACME_ST_VALID,
  CK_ACME_ST_INVALID,
  CK_ACME_ST_DEACTIVATED,
  CK_ACME_ST_EXPIRED,
  CK_ACME_ST_REVOKED,
} ck__acme_status;

ck__acme_status ck__acme_status_parse(const char *s);

/* The directory. Strings borrowed from root. */
typedef struct ck__acme_dir {
  json_t *root;
  const char *new_nonce, *new_account, *new_order;
  int eab_required; /* meta.externalAccountRequired */
} ck__acme_dir;

/* An RFC 7807 problem document. */
typedef struct ck__acme_problem {
  char type[128];   /* "urn:ietf:params:acme:error:badNonce", "" none */
  char detail[512]; /* printable ASCII only, truncated */
} ck__acme_problem;

/* An order. authz[i] and the strings are borrowed from root. */
#define CK_ACME_MAX_AUTHZ 100
typedef struct ck__acme_order {
  json_t *root;
  ck__acme_status status;
  const char *authz[CK_ACME_MAX_AUTHZ];
  size_t n_authz;
  const char *finalize;
  const char *certificate; /* NULL until valid */
  ck__acme_problem error;  /* the order's "error", type "" none */
} ck__acme_order;

/* One challenge of an authorization (borrowed from the authz's root). */
typedef struct ck__acme_chall {
  const char *type, *url, *token;
  ck__acme_status status;
} ck__acme_chall;

#define CK_ACME_MAX_CHALL 16
typedef struct ck__acme_authz {
  json_t *root;
  ck__acme_status status;
  const char *ident_type, *ident_value;
  int wildcard;
  ck__acme_chall chall[CK_ACME_MAX_CHALL];
  size_t n_chall;
  ck__acme_problem error; /* first challenge error, for messages */
} ck__acme_authz;

/* Each parser takes the raw body and fills *out (call the matching _clear
 * after success and failure alike). CK_ERR_PARSE names what is wrong: not
 * JSON, a missing or mistyped field, an unknown status, a URL that is not
 * https, too many entries. */
ck_err ck__acme_parse_dir(const char *body, size_t len, ck__acme_dir *out,
                          ck_errctx *err);
void ck__acme_dir_clear(ck__acme_dir *d);
ck_err ck__acme_parse_order(const char *body, size_t len, ck__acme_order *out,
                            ck_errctx *err);
void ck__acme_order_clear(ck__acme_order *o);
ck_err ck__acme_parse_authz(const char *body, size_t len, ck__acme_authz *out,
                            ck_errctx *err);
void ck__acme_authz_clear(ck__acme_authz *a);

/* Fills *out from a problem document body; returns 1 when it was one
 * (a JSON object with a string "type"), else 0 with out zeroed. */
int ck__acme_parse_problem(const char *body, size_t len, ck__acme_problem *out);

/* The challenge of type in a, or NULL. */
const ck__acme_chall *ck__acme_authz_find(const ck__acme_authz *a,
                                          const char *type);

/* Retry-After (RFC 9110: delay-seconds or an IMF-fixdate) as seconds from
 * now, clamped to [min_s, max_s]; default_s when absent or unparsable. */
int64_t ck__acme_retry_after(const char *value, int64_t now, int64_t default_s,
                             int64_t min_s, int64_t max_s);

/* True (1) for a token as RFC 8555 8.3 allows: base64url characters only,
 * 1..256 bytes. */
int ck__acme_token_ok(const char *token);

/* ------------------------------------------------------------ http (http) */

typedef struct ck__acme_http ck__acme_http;

/* One answer. Header values are copied, "" when absent. */
typedef struct ck__acme_resp {
  long status;
  char *body; /* NUL-terminated, malloc'ed; NULL before a request */
  size_t len;
  char location[2048];
  char nonce[256];
  char retry_after[64];
  char content_type[128];
} ck__acme_resp;

void ck__acme_resp_clear(ck__acme_resp *r);

/* Opens a session. ca_bundle "" = the system trust store. deadline_ms is
 * the monotonic time (ck_clock_mono_ms) after which every request fails
 * with CK_ERR_TIMEOUT; single requests are also bounded at 30 s. */
ck_err ck__acme_http_new(const char *ca_bundle, uint64_t deadline_ms,
                         ck__acme_http **out, ck_errctx *err);
void ck__acme_http_free(ck__acme_http *h);

/* method "GET", "HEAD" or "POST" (body: application/jose+json). accept may
 * be NULL. A transport failure (DNS, connect, TLS, timeout, an answer over
 * CK_ACME_BODY_MAX) is CK_ERR_NET / CK_ERR_TLS / CK_ERR_TIMEOUT /
 * CK_ERR_LIMIT naming the URL; any HTTP status is CK_OK with *resp filled. */
ck_err ck__acme_http_do(ck__acme_http *h, const char *method, const char *url,
                        const char *body, const char *accept,
                        ck__acme_resp *resp, ck_errctx *err);

/* -------------------------------------------------------- http-01 (http01) */

typedef struct ck__acme_http01 ck__acme_http01;

/* Gets the responder listening on addr, starting it (own thread and loop)
 * when no order holds it. Every acquire needs one release; the last
 * release stops it. CK_ERR_ADDR / CK_ERR_NET when addr cannot be bound. */
ck_err ck__acme_http01_acquire(const char *addr, ck__acme_http01 **out,
                               ck_errctx *err);
/* Serves keyauth at /.well-known/acme-challenge/<token> until unset. */
ck_err ck__acme_http01_set(ck__acme_http01 *r, const char *token,
                           const char *keyauth, ck_errctx *err);
void ck__acme_http01_unset(ck__acme_http01 *r, const char *token);
void ck__acme_http01_release(ck__acme_http01 *r);

/* ------------------------------------------------------- dns-01 (dns01) */

/* The TXT record value for keyauth: base64url(SHA-256(keyauth)). */
ck_err ck__acme_dns01_value(const char *keyauth, char *out, size_t len,
                            ck_errctx *err);

/* Runs `hook action name value` (no shell) and waits for it at most
 * timeout_ms. CK_ERR_CONFIG when it cannot be started, CK_ERR_UPSTREAM
 * when it fails or is killed for taking too long. */
ck_err ck__acme_dns01_hook(const char *hook, const char *action,
                           const char *name, const char *value,
                           uint64_t timeout_ms, ck_errctx *err);

#endif
