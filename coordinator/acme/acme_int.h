/* acme_int.h — internals shared by the ACME server's files: the server
 * state, one request (ck_acme_call), directory settings and the document
 * helpers. Resource handlers (account.c, order.c, authz.c, revoke.c,
 * ari.c) run on the thread pool and fill the call's answer. */
#ifndef CK_COORD_ACME_INT_H
#define CK_COORD_ACME_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "coordinator/acme/acme.h"
#include "coordinator/acme/jws.h"
#include "coordinator/acme/nonce.h"
#include "coordinator/acme/problem.h"
#include "coordinator/acme/validate.h"

/* Document kinds (store.h ck_store_doc). */
#define ACME_K_ACCOUNT "acme.account" /* key: JWK thumbprint; state: status */
#define ACME_K_EAB "acme.eab"         /* key: owner; state: unused|bound */
#define ACME_K_ORDER "acme.order"     /* key: account id; state: status */
#define ACME_K_AUTHZ "acme.authz"     /* key: order id; state: status */
#define ACME_K_CERT "acme.cert"       /* id: fingerprint; key: account id */
#define ACME_K_DIR "acme.directory"   /* id: name */

#define ACME_ID_LEN 23 /* 22 base64url characters (128 bits) + NUL */

struct ck_acme {
  ck_coord_rt *rt;
  ck_acme_nonces *nonces;
  ck_acme_validator *validator;
  uint8_t eab_master[32]; /* EAB keys are HMAC(master, kid) */
  size_t max_payload;     /* [acme] max_payload */
  int64_t order_lifetime; /* seconds an order stays pending */
  int64_t authz_lifetime; /* seconds a valid authorization is reused */
  int64_t retry_after;    /* seconds clients are told to wait */
  volatile int closing;
  pthread_mutex_t mu; /* guards running */
  pthread_cond_t idle;
  int running; /* validations queued and not finished on a worker:
                  ck_acme_free waits for 0 (a forced shutdown stops
                  the loop with workers still busy) */
};

/* A challenge still "processing" this long after it started lost its
 * validation (a restart): answering it again starts a new one. */
#define ACME_STALE_PROCESSING 120

typedef struct ck_acme_dir {
  char name[65];
  char profile[65];
  int eab_required;
  int alt_chains; /* offer the chain with its root as rel="alternate" */
} ck_acme_dir;

struct ck_acme_call {
  ck_acme *a;
  ck_http_req *req;
  ck_acme_dir dir;
  char base[700]; /* "https://host:port/acme/<dir>" */
  char res[300];  /* the path after base + "/" ("new-order", ...) */
  ck_acme_problem pb;
  /* the verified request (POST) */
  ck_acme_jws jws;
  json_t *payload; /* parsed payload object; NULL for POST-as-GET */
  json_t *acct;    /* the signing account (kid requests) */
  char acct_id[ACME_ID_LEN + 8];
  int64_t acct_version;
  char actor[200]; /* "acme:<dir>/<account id>" */
  /* the answer */
  int status;
  char *body;
  size_t body_len;
  const char *ctype;
  char location[1100];
  char link_up[1100];
  char link_alt[1100];
  int retry_after; /* seconds, 0 none */
  int head_only;   /* newNonce */
  /* follow-up on the loop thread: validate this challenge */
  char validate_authz[ACME_ID_LEN + 8];
  int validate_type; /* ck_acme_chal_type, -1 none */
};

/* ---- answers ---- */
void acme_json(ck_acme_call *c, int status, json_t *v); /* steals v */
int acme_problem(ck_acme_call *c, int status, const char *type, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));
/* Answers with the problem already in c->pb. */
void acme_answer_pb(ck_acme_call *c);
/* Internal error: logs msg, answers serverInternal. Returns 0. */
int acme_internal(ck_acme_call *c, ck_err rc, const char *msg);
/* URL of a resource: base + "/" + path (into buf). */
const char *acme_url(const ck_acme_call *c, char *buf, size_t len,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
json_t *acme_time(int64_t t); /* RFC 3339 string */

/* ---- documents ---- */
/* Loads (kind, id) into a new JSON object and its version. CK_ERR_NOT_FOUND. */
ck_err acme_doc_load(ck_acme *a, const char *kind, const char *id, json_t **out,
                     int64_t *version, ck_errctx *err);
/* Appends a put of doc (JSON dumped) to w. */
ck_err acme_doc_put(ck_store_write *w, const char *kind, const char *id,
                    const char *key, const char *state, int64_t due_at,
                    const json_t *doc, int64_t expect_version, ck_errctx *err);
/* Appends an audit event (details stolen, may be NULL). */
ck_err acme_audit(ck_store_write *w, const char *actor, const char *action,
                  const char *otype, const char *oid, json_t *details,
                  ck_errctx *err);
/* A random id (22 base64url characters). */
ck_err acme_new_id(char out[ACME_ID_LEN]);
const char *acme_str(const json_t *o, const char *k); /* "" when absent */
int64_t acme_int(const json_t *o, const char *k);

/* ---- directories (directory.c) ---- */
/* 1 and *out when name is a directory (config, store, or "default"). */
int acme_dir_find(ck_acme *a, const char *name, ck_acme_dir *out);
int acme_dir_name_ok(const char *name);
void acme_directory(ck_acme_call *c); /* GET directory */

/* ---- resources ---- */
void acme_new_account(ck_acme_call *c);
void acme_account(ck_acme_call *c, const char *id);
void acme_account_orders(ck_acme_call *c, const char *id);
void acme_key_change(ck_acme_call *c);
void acme_new_order(ck_acme_call *c);
void acme_order(ck_acme_call *c, const char *id);
void acme_finalize(ck_acme_call *c, const char *id);
void acme_cert(ck_acme_call *c, const char *id, int alt);
void acme_authz(ck_acme_call *c, const char *id);
void acme_challenge(ck_acme_call *c, const char *authz_id, const char *type);
void acme_revoke(ck_acme_call *c);
void acme_renewal_info(ck_acme_call *c, const char *cert_id);
/* The certificate an RFC 9773 certID names (strings in ar). 1, or 0 with
 * the problem answered (malformed certID, unknown certificate). */
int acme_cert_by_id(ck_acme_call *c, const char *cert_id, ck_arena *ar,
                    ck_store_cert *out);

/* order.c helpers finalize.c shares: the order object as clients see it
 * (new reference); loading an order of the signing account (refreshed; 1,
 * or 0 answered); the "acme.cert" document put (which account obtained a
 * certificate). */
json_t *acme_order_json(ck_acme_call *c, const char *id, const json_t *o);
int acme_load_own_order(ck_acme_call *c, const char *id, json_t **o,
                        int64_t *ver);
ck_err acme_put_cert_doc(ck_store_write *w, const char *fp, const char *order,
                         const char *dir, const char *acct, ck_errctx *err);

/* Challenge types <-> names ("http-01", ...); -1 for unknown names. */
const char *acme_chal_name(int type);
int acme_chal_parse(const char *name);

/* Recomputes an order's status from its authorizations (pending -> ready
 * when all are valid, -> invalid when one is) and stores it when it
 * changed. Reads the authorizations; blocks. */
ck_err acme_order_refresh(ck_acme *a, const char *order_id, json_t **order_out,
                          int64_t *version_out, ck_errctx *err);

/* Runs on the thread pool: validates challenge type of authz id and
 * stores the outcome (authz, order). */
void acme_validate_job(ck_acme *a, const char *authz_id, int type);

#endif
