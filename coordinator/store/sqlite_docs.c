/* sqlite_docs.c — module-owned documents (ck_store_doc, table docs of
 * migration 5) in the SQLite backend: the put/delete operations with their
 * expect_version check, run by the writer inside the group-commit
 * transaction, and the reads (get, keyset-paged lists, counts), each on a
 * borrowed read connection. Kept apart from sqlite_write.c/sqlite_read.c,
 * whose conventions it follows (static SQL arrays key the statement
 * cache; a failed operation returns its error and the caller rolls the
 * write back). */
#include "coordinator/store/sqlite_int.h"

#include <string.h>

/* ---------------------------------------------------------------- writes */

static const char SQL_DOC_VERSION[] =
    "SELECT version FROM docs WHERE kind = ?1 AND id = ?2";
static const char SQL_DOC_PUT[] =
    "INSERT INTO docs (kind, id, key, state, due_at, doc, version,"
    " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"
    " ON CONFLICT (kind, id) DO UPDATE SET key = excluded.key,"
    " state = excluded.state, due_at = excluded.due_at, doc = excluded.doc,"
    " version = excluded.version, updated_at = excluded.updated_at";
static const char SQL_DOC_DEL[] = "DELETE FROM docs WHERE kind = ?1 AND id = ?2";

/* Runs the writer's statement sql bound to (kind, id) (+ bind() when not
 * NULL); *version gets column 0 of the row, 0 when there is none. */
static ck_err run_ref(ck__sq *q, const char *sql, const ck_store_doc *d,
                      int64_t *version, const char *what, ck_errctx *err) {
  sqlite3_stmt *st = ck__sq_stmt(q->w, sql, err);
  ck_err rc = CK_OK;
  int src;

  if (st == NULL)
    return err != NULL && err->code != CK_OK ? err->code : CK_ERR_STORE;
  src = ck__sq_bind_text(st, 1, d->kind);
  if (src == SQLITE_OK)
    src = ck__sq_bind_text(st, 2, d->id);
  if (src == SQLITE_OK)
    src = sqlite3_step(st);
  if (version != NULL)
    *version = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  if (src != SQLITE_ROW && src != SQLITE_DONE)
    rc = ck__sq_fail(q->w, src, what, err);
  ck__sq_done(st);
  return rc;
}

/* The expect_version check shared by put and delete: CK_ERR_CONFLICT with
 * a message naming the document when it fails. */
static ck_err doc_expect(const ck_store_doc *d, int64_t expect, int64_t cur,
                         ck_errctx *err) {
  if (expect < 0 || expect == cur)
    return CK_OK;
  if (cur == 0)
    return ck_failf(err, CK_ERR_CONFLICT,
                    "store: document %s/%s does not exist (expected version "
                    "%lld)",
                    d->kind, d->id, (long long)expect);
  if (expect == 0)
    return ck_failf(err, CK_ERR_CONFLICT,
                    "store: document %s/%s already exists (version %lld)",
                    d->kind, d->id, (long long)cur);
  return ck_failf(err, CK_ERR_CONFLICT,
                  "store: document %s/%s is at version %lld, not %lld",
                  d->kind, d->id, (long long)cur, (long long)expect);
}

ck_err ck__sq_doc_put(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_doc *d = &op->u.doc.d;
  int64_t cur = 0;
  sqlite3_stmt *st;
  ck_err rc;
  int b, src;

  if ((rc = run_ref(q, SQL_DOC_VERSION, d, &cur, "reading a document version",
                    err)) != CK_OK ||
      (rc = doc_expect(d, op->u.doc.expect_version, cur, err)) != CK_OK)
    return rc;
  st = ck__sq_stmt(q->w, SQL_DOC_PUT, err);
  if (st == NULL)
    return err != NULL && err->code != CK_OK ? err->code : CK_ERR_STORE;
  b = ck__sq_bind_text(st, 1, d->kind);
  b |= ck__sq_bind_text(st, 2, d->id);
  b |= ck__sq_bind_text(st, 3, d->key);
  b |= ck__sq_bind_text(st, 4, d->state);
  b |= sqlite3_bind_int64(st, 5, d->due_at);
  b |= ck__sq_bind_text(st, 6, d->doc);
  b |= sqlite3_bind_int64(st, 7, cur + 1);
  b |= sqlite3_bind_int64(st, 8, q->now);
  src = b != SQLITE_OK ? b : sqlite3_step(st);
  ck__sq_done(st);
  if (src != SQLITE_DONE)
    return ck__sq_fail(q->w, src, "storing a document", err);
  op->result = cur + 1;
  return CK_OK;
}

ck_err ck__sq_doc_del(ck__sq *q, ck__store_op *op, ck_errctx *err) {
  const ck_store_doc *d = &op->u.doc.d;
  int64_t cur = 0;
  ck_err rc;

  op->result = 0;
  if ((rc = run_ref(q, SQL_DOC_VERSION, d, &cur, "reading a document version",
                    err)) != CK_OK ||
      (rc = doc_expect(d, op->u.doc.expect_version, cur, err)) != CK_OK)
    return rc;
  if (cur == 0)
    return CK_OK;
  if ((rc = run_ref(q, SQL_DOC_DEL, d, NULL, "deleting a document", err)) !=
      CK_OK)
    return rc;
  op->result = 1;
  return CK_OK;
}

/* ---------------------------------------------------------------- reads */

#define DOC_COLS                                                               \
  "kind, id, key, state, due_at, doc, version, created_at, updated_at"

/* Parameters: ?1 kind, ?2 state, ?3 key, ?4 due_before, ?5/?6 the cursor's
 * (due_at, id), ?7 the row limit. One statement per filter shape (state?,
 * key?, due?) so each gets its index: docs_state, docs_key, docs_due,
 * docs_state_due; the due ones say "due_at != 0" to match the partial
 * indexes. */
#define DOC_W_STATE " AND state = ?2"
#define DOC_W_KEY " AND key = ?3"
#define DOC_W_DUE " AND due_at != 0 AND due_at < ?4"
#define DOC_LIST(w)                                                            \
  "SELECT " DOC_COLS " FROM docs WHERE kind = ?1" w                            \
  " AND id > ?6 ORDER BY id LIMIT ?7"
#define DOC_LIST_DUE(w)                                                        \
  "SELECT " DOC_COLS " FROM docs WHERE kind = ?1" w DOC_W_DUE                  \
  " AND (due_at, id) > (?5, ?6) ORDER BY due_at, id LIMIT ?7"
#define DOC_COUNT(w) "SELECT count(*) FROM docs WHERE kind = ?1" w

/* Indexed by doc_shape(): 1 state, 2 key, 4 due. */
static const char *const SQL_DOC_LISTS[8] = {
    DOC_LIST(""),
    DOC_LIST(DOC_W_STATE),
    DOC_LIST(DOC_W_KEY),
    DOC_LIST(DOC_W_STATE DOC_W_KEY),
    DOC_LIST_DUE(""),
    DOC_LIST_DUE(DOC_W_STATE),
    DOC_LIST_DUE(DOC_W_KEY),
    DOC_LIST_DUE(DOC_W_STATE DOC_W_KEY),
};
static const char *const SQL_DOC_COUNTS[8] = {
    DOC_COUNT(""),
    DOC_COUNT(DOC_W_STATE),
    DOC_COUNT(DOC_W_KEY),
    DOC_COUNT(DOC_W_STATE DOC_W_KEY),
    DOC_COUNT(DOC_W_DUE),
    DOC_COUNT(DOC_W_STATE DOC_W_DUE),
    DOC_COUNT(DOC_W_KEY DOC_W_DUE),
    DOC_COUNT(DOC_W_STATE DOC_W_KEY DOC_W_DUE),
};
static const char SQL_DOC_GET[] =
    "SELECT " DOC_COLS " FROM docs WHERE kind = ?1 AND id = ?2";

static unsigned doc_shape(const ck_doc_filter *f) {
  return (f->state != NULL ? 1u : 0u) | (f->key != NULL ? 2u : 0u) |
         (f->due_before != 0 ? 4u : 0u);
}

/* Binds the filter's parameters (those its statement has). */
static void doc_bind(ck__sq_rd *r, const ck_doc_filter *f) {
  r->b |= ck__sq_bind_text(r->st, 1, f->kind);
  if (f->state != NULL)
    r->b |= ck__sq_bind_text(r->st, 2, f->state);
  if (f->key != NULL)
    r->b |= ck__sq_bind_text(r->st, 3, f->key);
  if (f->due_before != 0)
    r->b |= sqlite3_bind_int64(r->st, 4, f->due_before);
}

/* Decodes the current row (DOC_COLS) into item (a ck_store_doc). */
static int64_t row_doc(ck__sq_dec *dc, sqlite3_stmt *st, void *item) {
  ck_store_doc *d = item;

  memset(d, 0, sizeof *d);
  d->kind = ck__sq_col_str(dc, st, 0);
  d->id = ck__sq_col_str(dc, st, 1);
  d->key = ck__sq_col_str(dc, st, 2);
  d->state = ck__sq_col_str(dc, st, 3);
  d->due_at = sqlite3_column_int64(st, 4);
  d->doc = ck__sq_col_str(dc, st, 5);
  d->version = sqlite3_column_int64(st, 6);
  d->created_at = sqlite3_column_int64(st, 7);
  d->updated_at = sqlite3_column_int64(st, 8);
  return 0;
}

static ck_err sq_doc_get(void *be, const char *kind, const char *id,
                         ck_arena *a, ck_store_doc *out, ck_errctx *err) {
  ck_err rc;
  int src;
  ck__sq_rd r;

  if ((rc = ck__sq_rd_begin(&r, be, SQL_DOC_GET, err)) != CK_OK)
    return rc;
  r.b |= ck__sq_bind_text(r.st, 1, kind);
  r.b |= ck__sq_bind_text(r.st, 2, id);
  src = r.b != SQLITE_OK ? r.b : sqlite3_step(r.st);
  if (src == SQLITE_ROW) {
    ck__sq_dec dc = {a, 0};
    row_doc(&dc, r.st, out);
    if (dc.oom)
      rc = ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  } else if (src == SQLITE_DONE) {
    rc = ck_failf(err, CK_ERR_NOT_FOUND, "store: document %s/%s not found",
                  kind, id);
  } else {
    rc = ck__sq_fail(r.c, src, "reading a document", err);
  }
  ck__sq_rd_end(&r);
  return rc;
}

static ck_err sq_doc_list(void *be, const ck_doc_filter *f, int64_t after_due,
                          const char *after_id, ck_store_page *pg,
                          unsigned limit, ck_arena *a, ck_store_doc **items,
                          size_t *n, ck_errctx *err) {
  int by_due = f->due_before != 0, more = 0;
  int64_t last = 0;
  void *arr = NULL;
  ck_err rc;
  ck__sq_rd r;

  if ((rc = ck__sq_rd_begin(&r, be, SQL_DOC_LISTS[doc_shape(f)], err)) != CK_OK)
    return rc;
  doc_bind(&r, f);
  if (by_due)
    r.b |= sqlite3_bind_int64(r.st, 5, after_id != NULL ? after_due : 0);
  r.b |= ck__sq_bind_text(r.st, 6, after_id != NULL ? after_id : "");
  r.b |= sqlite3_bind_int64(r.st, 7, (int64_t)limit + 1);
  rc = ck__sq_rd_many(&r, row_doc, sizeof(ck_store_doc), limit, a, &arr, n,
                      &more, &last, "reading documents", err);
  if (rc == CK_OK)
    *items = arr;
  ck__sq_rd_end(&r);
  if (rc == CK_OK && more && *n > 0) {
    const ck_store_doc *l = &(*items)[*n - 1];
    pg->next_cursor = ck__store_doc_cursor_fmt(a, by_due, l->due_at, l->id);
    if (pg->next_cursor == NULL)
      rc = ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  }
  return rc;
}

static ck_err sq_doc_count(void *be, const ck_doc_filter *f, int64_t *n,
                           ck_errctx *err) {
  ck_err rc;
  int src;
  ck__sq_rd r;

  *n = 0;
  if ((rc = ck__sq_rd_begin(&r, be, SQL_DOC_COUNTS[doc_shape(f)], err)) !=
      CK_OK)
    return rc;
  doc_bind(&r, f);
  src = r.b != SQLITE_OK ? r.b : sqlite3_step(r.st);
  if (src == SQLITE_ROW)
    *n = sqlite3_column_int64(r.st, 0);
  else
    rc = ck__sq_fail(r.c, src, "counting documents", err);
  ck__sq_rd_end(&r);
  return rc;
}

void ck__sq_doc_read_ops(ck__store_backend *ops) {
  ops->doc_get = sq_doc_get;
  ops->doc_list = sq_doc_list;
  ops->doc_count = sq_doc_count;
}
