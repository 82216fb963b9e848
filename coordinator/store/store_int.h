/* store_int.h — what store.c shares with the backends: the queued write
 * (a list of validated, copied operations) and the backend vtable.
 *
 * A backend implements apply() — run a batch of writes in one transaction,
 * each write atomically (all its operations or none), filling each write's
 * outcome and results — and one function per read. Everything else (the
 * queue, the writer thread, completion delivery, input validation) is
 * shared, so a PostgreSQL backend only has to speak SQL. */
#ifndef CK_COORD_STORE_INT_H
#define CK_COORD_STORE_INT_H

#include "coordinator/store/store.h"

typedef enum ck__store_op_kind {
  CK__OP_CERT_PUT = 1,
  CK__OP_CERT_SET,
  CK__OP_EXPIRE_SWEEP,
  CK__OP_INSTALL_PUT,
  CK__OP_INSTALL_DEL,
  CK__OP_AGENT_PUT,
  CK__OP_AGENT_SEEN,
  CK__OP_OWNER_PUT,
  CK__OP_OWNER_DEL,
  CK__OP_PROFILE_PUT,
  CK__OP_REQUEST_PUT,
  CK__OP_REQUEST_SET,
  CK__OP_REVOKE,
  CK__OP_ETOKEN_PUT,
  CK__OP_ETOKEN_USE,
  CK__OP_APITOKEN_PUT,
  CK__OP_APITOKEN_REVOKE,
  CK__OP_CA_PUT,
  CK__OP_CA_CRL_NUMBER,
  CK__OP_AUDIT,
  CK__OP_AGENT_REPORT,
  CK__OP_AGENT_HOST,
  CK__OP_PLAN_PUT,
  CK__OP_DOC_PUT,
  CK__OP_DOC_DEL,
  CK__OP__MAX
} ck__store_op_kind;

/* Returns "cert.put", "audit.append", ... for kind (static). */
const char *ck__store_op_name(ck__store_op_kind kind);

/* One operation; strings and blobs point into the write's arena. */
typedef struct ck__store_op {
  ck__store_op_kind kind;
  int64_t result; /* set by the backend on success */
  union {
    ck_store_cert cert; /* CERT_PUT */
    struct {
      char fp[CK_SHA256_HEX_LEN];
      ck_store_cert_patch patch;
    } cert_set;
    struct {
      int64_t now;
      unsigned limit;
    } sweep;
    ck_store_install install; /* INSTALL_PUT, INSTALL_DEL */
    ck_store_agent agent;     /* AGENT_PUT, AGENT_SEEN (id, last_seen,
                                 platform/version NULL = keep),
                                 AGENT_REPORT (id, report_seq),
                                 AGENT_HOST (id, host, host_at) */
    ck_store_owner owner;     /* OWNER_PUT, OWNER_DEL (name) */
    struct {
      ck_store_profile p;
      int64_t expect_version;
    } profile;
    ck_store_request request; /* REQUEST_PUT, REQUEST_SET (id, state,
                                 reason, cert_fp) */
    ck_store_revocation revoke;
    ck_store_etoken etoken;     /* ETOKEN_PUT, ETOKEN_USE (hash, used_by,
                                   used_at = now) */
    ck_store_apitoken apitoken; /* APITOKEN_PUT, APITOKEN_REVOKE (name) */
    ck_store_ca ca;             /* CA_PUT, CA_CRL_NUMBER (id) */
    ck_audit_event audit;
    ck_store_plan plan;         /* PLAN_PUT */
    struct {
      ck_store_doc d;         /* DOC_PUT; DOC_DEL (kind, id) */
      int64_t expect_version; /* < 0 unconditional, 0 absent, > 0 equal */
    } doc;
  } u;
} ck__store_op;

struct ck_store_write {
  ck_arena *arena;   /* copies of every string and blob */
  ck__store_op *ops; /* malloc'ed array */
  size_t n_ops;
  size_t cap_ops;
  /* outcome, written by the backend's apply() */
  ck_err rc;
  size_t failed_op;
  ck_errctx err;
  /* submission, owned by store.c */
  int submitted;
  ck_store_done_fn cb;
  void *cb_arg;
  ck_store_loop *loop; /* deliver cb there when not NULL */
  struct ck_store_write *next;
};

/* A backend. be is its private state. Reads are called from any thread
 * concurrently; apply() only from the writer thread. */
typedef struct ck__store_backend {
  const char *name;
  /* Runs ws[0..n) in one transaction, each write all-or-nothing, and sets
   * every write's rc/err/failed_op and op results. Never fails as a whole
   * without setting each write's rc. */
  void (*apply)(void *be, ck_store_write **ws, size_t n);
  void (*close)(void *be);

  ck_err (*cert_get)(void *be, const uint8_t fp[CK_SHA256_LEN], int with_der,
                     ck_arena *a, ck_store_cert *out, ck_errctx *err);
  ck_err (*cert_list)(void *be, const ck_cert_filter *f, ck_store_page *pg,
                      unsigned limit, ck_arena *a, ck_store_cert **items,
                      size_t *n, ck_errctx *err);
  ck_err (*install_list)(void *be, const uint8_t *cert_fp, const char *agent_id,
                         ck_store_page *pg, unsigned limit, ck_arena *a,
                         ck_store_install **items, size_t *n, ck_errctx *err);
  ck_err (*agent_get)(void *be, const char *id, const uint8_t *identity_fp,
                      ck_arena *a, ck_store_agent *out, ck_errctx *err);
  ck_err (*agent_list)(void *be, ck_store_page *pg, unsigned limit, ck_arena *a,
                       ck_store_agent **items, size_t *n, ck_errctx *err);
  ck_err (*owner_get)(void *be, const char *name, ck_arena *a,
                      ck_store_owner *out, ck_errctx *err);
  ck_err (*owner_list)(void *be, ck_store_page *pg, unsigned limit, ck_arena *a,
                       ck_store_owner **items, size_t *n, ck_errctx *err);
  ck_err (*profile_get)(void *be, const char *name, int64_t version,
                        ck_arena *a, ck_store_profile *out, ck_errctx *err);
  /* name NULL: latest of every profile; else the history of name */
  ck_err (*profile_list)(void *be, const char *name, ck_store_page *pg,
                         unsigned limit, ck_arena *a, ck_store_profile **items,
                         size_t *n, ck_errctx *err);
  ck_err (*request_get)(void *be, int64_t id, ck_arena *a,
                        ck_store_request *out, ck_errctx *err);
  ck_err (*request_list)(void *be, int state, ck_store_page *pg, unsigned limit,
                         ck_arena *a, ck_store_request **items, size_t *n,
                         ck_errctx *err);
  ck_err (*revocation_get)(void *be, const uint8_t fp[CK_SHA256_LEN],
                           ck_arena *a, ck_store_revocation *out,
                           ck_errctx *err);
  ck_err (*revocation_list)(void *be, int64_t ca_id, ck_store_page *pg,
                            unsigned limit, ck_arena *a,
                            ck_store_revocation **items, size_t *n,
                            ck_errctx *err);
  ck_err (*plan_list)(void *be, int state, ck_store_page *pg, unsigned limit,
                      ck_arena *a, ck_store_plan **items, size_t *n,
                      ck_errctx *err);
  ck_err (*doc_get)(void *be, const char *kind, const char *id, ck_arena *a,
                    ck_store_doc *out, ck_errctx *err);
  /* f checked; the page starts after (after_due, after_id) when after_id
   * is not NULL (after_due only meaningful when f->due_before != 0) */
  ck_err (*doc_list)(void *be, const ck_doc_filter *f, int64_t after_due,
                     const char *after_id, ck_store_page *pg, unsigned limit,
                     ck_arena *a, ck_store_doc **items, size_t *n,
                     ck_errctx *err);
  ck_err (*doc_count)(void *be, const ck_doc_filter *f, int64_t *n,
                      ck_errctx *err);
  ck_err (*etoken_get)(void *be, const uint8_t hash[CK_SHA256_LEN], ck_arena *a,
                       ck_store_etoken *out, ck_errctx *err);
  ck_err (*etoken_list)(void *be, ck_store_page *pg, unsigned limit,
                        ck_arena *a, ck_store_etoken **items, size_t *n,
                        ck_errctx *err);
  ck_err (*etoken_by_agent)(void *be, const char *agent_id, ck_arena *a,
                            ck_store_etoken *out, ck_errctx *err);
  ck_err (*apitoken_get)(void *be, const uint8_t hash[CK_SHA256_LEN],
                         ck_arena *a, ck_store_apitoken *out, ck_errctx *err);
  ck_err (*apitoken_list)(void *be, ck_store_page *pg, unsigned limit,
                          ck_arena *a, ck_store_apitoken **items, size_t *n,
                          ck_errctx *err);
  ck_err (*ca_get)(void *be, int64_t id, const char *name, ck_arena *a,
                   ck_store_ca *out, ck_errctx *err);
  ck_err (*ca_list)(void *be, ck_store_page *pg, unsigned limit, ck_arena *a,
                    ck_store_ca **items, size_t *n, ck_errctx *err);
  ck_err (*audit_list)(void *be, int64_t after_seq, unsigned limit, ck_arena *a,
                       ck_audit_event **items, size_t *n, ck_errctx *err);
  ck_err (*audit_head)(void *be, int64_t *seq, uint8_t hash[CK_SHA256_LEN],
                       ck_errctx *err);
} ck__store_backend;

/* Opens the SQLite backend (store_sqlite.c). On success *ops and *be. */
ck_err ck__store_sqlite_open(const ck_store_opts *opts,
                             const ck__store_backend **ops, void **be,
                             ck_errctx *err);

/* The backend of an open store and its private state (store.c). */
const ck__store_backend *ck__store_ops(const ck_store *s);
void *ck__store_be(const ck_store *s);

/* Parses 64 hex digits (any case) into out. Returns 0 on success, -1 when
 * text is not exactly 64 hex digits. */
int ck__store_hex32(const char *text, uint8_t out[CK_SHA256_LEN]);

/* Formats 32 bytes as 64 lower-case hex digits + NUL. */
void ck__store_hex32_fmt(const uint8_t in[CK_SHA256_LEN],
                         char out[CK_SHA256_HEX_LEN]);

/* Pagination helpers shared by backends. ck__store_cursor_int parses an
 * integer cursor (0 when absent); ck__store_cursor_pair "a:b". Return
 * CK_ERR_PARSE with a message for a malformed cursor. */
ck_err ck__store_cursor_int(const char *cursor, int64_t *out, ck_errctx *err);
ck_err ck__store_cursor_pair(const char *cursor, int64_t *a, int64_t *b,
                             ck_errctx *err);
/* Formats a cursor into the arena; NULL on OOM. */
const char *ck__store_cursor_fmt(ck_arena *a, int64_t x, const int64_t *y);

/* Document cursors (opaque to callers, safe in URLs and JSON): "i<hex id>"
 * for id-ordered lists, "d<due_at>.<hex id>" for due-ordered ones. fmt
 * returns NULL on OOM; parse gives CK_ERR_PARSE for a malformed cursor or
 * one of the other ordering, and the id decoded into a (NULL for an empty
 * cursor). */
const char *ck__store_doc_cursor_fmt(ck_arena *a, int by_due, int64_t due_at,
                                     const char *id);
ck_err ck__store_doc_cursor_parse(const char *cursor, int by_due, ck_arena *a,
                                  int64_t *due_at, const char **id,
                                  ck_errctx *err);

/* Checks a document kind: 1..CK_STORE_DOC_KIND_MAX bytes of [a-z0-9._-]
 * (CK_ERR_INVAL, CK_ERR_LIMIT). */
ck_err ck__store_doc_kind_check(const char *kind, ck_errctx *err);

#endif
