/* sqlite_int.h — shared by the SQLite backend's files: the backend state,
 * connections with their prepared-statement caches, and column helpers.
 *
 *   store_sqlite.c  open/close, pragmas, read-connection pool, the group
 *                   commit transaction (savepoint per write), the vtable
 *   sqlite_schema.c forward migrations (PRAGMA user_version)
 *   sqlite_write.c  one function per write operation
 *   sqlite_read.c   the reads
 *   sqlite_docs.c   module documents (ck_store_doc): their writes and reads
 *
 * One connection is used by one thread at a time (the writer thread owns
 * the write connection; readers borrow from the pool), so connections are
 * opened SQLITE_OPEN_NOMUTEX. */
#ifndef CK_COORD_SQLITE_INT_H
#define CK_COORD_SQLITE_INT_H

#include <sqlite3.h>

#include "coordinator/store/store_int.h"

#define CK__SQ_STMT_SLOTS 128 /* statement cache per connection (power of 2)   \
                               */

typedef struct ck__sq_stmt_slot {
  const char *sql; /* the string literal (its address is the key) */
  sqlite3_stmt *st;
} ck__sq_stmt_slot;

typedef struct ck__sq_conn {
  sqlite3 *db;
  ck__sq_stmt_slot cache[CK__SQ_STMT_SLOTS];
  struct ck__sq_conn *next_free; /* pool link */
} ck__sq_conn;

typedef struct ck__sq {
  char *path;
  int sync_full;
  unsigned busy_ms;
  unsigned reader_cache_kib;
  ck__sq_conn *w; /* write connection: writer thread (and open) only */
  /* read pool */
  uv_mutex_t pool_mu;
  uv_cond_t pool_cv;
  ck__sq_conn **readers; /* every reader opened so far */
  unsigned n_readers;
  unsigned max_readers;
  ck__sq_conn *free_readers;
  /* background checkpointer: the writer's WAL hook wakes it when the WAL
   * holds ckpt_pages pages; it copies them back with PASSIVE checkpoints
   * on its own connection, so fsync and copy-back leave the writer */
  ck__sq_conn *ckc;
  uv_thread_t ckpt_thread;
  int ckpt_started;
  uv_mutex_t ckpt_mu;
  uv_cond_t ckpt_cv;
  int ckpt_wanted; /* under ckpt_mu */
  int ckpt_stop;   /* under ckpt_mu */
  int ckpt_pages;  /* threshold */
  /* the audit chain head as of the last successful operation (writer) */
  int64_t head_seq;
  uint8_t head_hash[CK_SHA256_LEN];
  int64_t now; /* ck_clock_now() of the batch being applied */
  /* certificates whose key's shared-across-hosts flag must be recomputed
   * at the end of the write being applied (installations added or removed;
   * writer thread only): once per distinct key and write, not once per
   * installation (a key in 10,000 certificates made that quadratic) */
  int64_t *shared_ids;
  size_t n_shared, cap_shared;
} ck__sq;

/* Returns the cached prepared statement for sql (a string literal: its
 * address is the cache key), preparing it on first use; NULL on error
 * (message in err). The statement is reset and unbound: use it, then call
 * ck__sq_done. */
sqlite3_stmt *ck__sq_stmt(ck__sq_conn *c, const char *sql, ck_errctx *err);

/* Resets st and clears its bindings (NULL is a no-op). */
void ck__sq_done(sqlite3_stmt *st);

/* Maps an SQLite result code to a ck_err and records "what: sqlite message"
 * in err: BUSY/LOCKED -> CK_ERR_BUSY, CONSTRAINT UNIQUE/PRIMARYKEY ->
 * CK_ERR_EXIST, FULL -> CK_ERR_STORE ("disk full"), others CK_ERR_STORE. */
ck_err ck__sq_fail(ck__sq_conn *c, int src, const char *what, ck_errctx *err);

/* Runs one or more SQL statements without caching (schema, pragmas). */
ck_err ck__sq_exec(ck__sq_conn *c, const char *sql, ck_errctx *err);

/* Applies the schema migrations on the write connection (sqlite_schema.c). */
ck_err ck__sq_migrate(ck__sq_conn *c, ck_errctx *err);

/* Applies one operation inside the open transaction (sqlite_write.c).
 * Returns CK_OK (op->result set) or the failure with a message. */
ck_err ck__sq_apply_op(ck__sq *q, ck__store_op *op, ck_errctx *err);

/* The shared-key recount of one write (sqlite_write.c): begin forgets
 * what an earlier (possibly failed) write queued; flush recomputes the
 * CK_WEAK_SHARED_KEY flag once per public key the write's installation
 * puts and deletes touched. Flush runs after the write's last operation,
 * inside the same transaction (and savepoint). */
void ck__sq_shared_begin(ck__sq *q);
ck_err ck__sq_shared_flush(ck__sq *q, ck_errctx *err);

/* Writes q->head_seq/head_hash into the audit_head table (sqlite_write.c). */
ck_err ck__sq_save_head(ck__sq *q, ck_errctx *err);

/* Loads the audit chain head at open (sqlite_write.c). */
ck_err ck__sq_load_head(ck__sq *q, ck_errctx *err);

/* Borrow and return a read connection (store_sqlite.c). Acquire returns
 * NULL with err set when no connection can be opened. */
ck__sq_conn *ck__sq_reader_get(ck__sq *q, ck_errctx *err);
void ck__sq_reader_put(ck__sq *q, ck__sq_conn *c);

/* A read in progress (sqlite_read.c, sqlite_docs.c): the borrowed read
 * connection, its statement and the accumulated bind result (OR of the
 * ck__sq_bind_* returns; step only when it is SQLITE_OK). */
typedef struct ck__sq_rd {
  ck__sq *q;
  ck__sq_conn *c;
  sqlite3_stmt *st;
  int b; /* accumulated bind result */
} ck__sq_rd;

/* Borrows a read connection and the cached statement for sql into *r.
 * Returns CK_OK (end with ck__sq_rd_end) or the failure, with nothing
 * held. */
ck_err ck__sq_rd_begin(ck__sq_rd *r, ck__sq *q, const char *sql,
                       ck_errctx *err);
/* Resets the statement and returns the connection to the pool. */
void ck__sq_rd_end(ck__sq_rd *r);

/* Row decoding into an arena; oom is set when an allocation failed. */
typedef struct ck__sq_dec {
  ck_arena *a; /* borrowed: the caller's result arena */
  int oom;
} ck__sq_dec;

/* Column i of the current row copied into d->a; "" for NULL (and on OOM,
 * which sets d->oom). */
const char *ck__sq_col_str(ck__sq_dec *d, sqlite3_stmt *st, int i);

/* Decodes the current row of st into item; returns the row's keyset key
 * (for the next page's cursor). Failed allocations set d->oom. */
typedef int64_t (*ck__sq_row_fn)(ck__sq_dec *d, sqlite3_stmt *st, void *item);

/* Steps up to limit rows of r into an arena array of elem-sized items
 * (*items, *n; set on success only); *more says a further row exists;
 * *last_key is the key of the last row kept. A step failure is reported
 * as `what` ("reading a list"). Does not end the read. */
ck_err ck__sq_rd_many(ck__sq_rd *r, ck__sq_row_fn fn, size_t elem,
                      unsigned limit, ck_arena *a, void **items, size_t *n,
                      int *more, int64_t *last_key, const char *what,
                      ck_errctx *err);

/* Fills the read half of the vtable (sqlite_read.c). */
void ck__sq_read_ops(ck__store_backend *ops);

/* Documents (sqlite_docs.c): the DOC_PUT / DOC_DEL operations, applied
 * like ck__sq_apply_op, and the doc_* reads of the vtable. */
ck_err ck__sq_doc_put(ck__sq *q, ck__store_op *op, ck_errctx *err);
ck_err ck__sq_doc_del(ck__sq *q, ck__store_op *op, ck_errctx *err);
void ck__sq_doc_read_ops(ck__store_backend *ops);

/* Binding helpers: text "" or NULL binds as NULL in *_or_null; blobs and
 * text are bound SQLITE_STATIC (they outlive the statement's use). */
int ck__sq_bind_text(sqlite3_stmt *st, int i, const char *s);
int ck__sq_bind_text_or_null(sqlite3_stmt *st, int i, const char *s);
int ck__sq_bind_hash(sqlite3_stmt *st, int i, const char *hex);
int ck__sq_bind_hash_raw(sqlite3_stmt *st, int i, const uint8_t *h);
int ck__sq_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n);
int ck__sq_bind_id_or_null(sqlite3_stmt *st, int i, int64_t id);

#endif
