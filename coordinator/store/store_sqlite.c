/* store_sqlite.c — the SQLite backend: connections, pragmas, the read pool
 * and the group-commit transaction.
 *
 * Durability: the database runs in WAL mode. With synchronous=NORMAL (the
 * default) a commit appends to the WAL without fsync: every committed
 * transaction survives a crash of the process (the OS holds the pages), and
 * a power loss or kernel crash can lose only the last commits, never
 * corrupt the database. synchronous=FULL (ck_store_opts.sync_full) fsyncs
 * the WAL at every commit — with group commit that is one fsync per batch,
 * not per certificate. See docs/internals/store.md.
 *
 * Checkpoints (copying the WAL back into the database file, with an fsync
 * of both) run on a background thread with its own connection, started by
 * the writer's WAL hook once the WAL holds checkpoint_kib; PASSIVE
 * checkpoints never block the writer. Should the WAL reach 8 times that
 * (readers pinning old snapshots, a slow disk), the writer checkpoints
 * itself: backpressure instead of an unbounded file.
 *
 * A batch is one BEGIN IMMEDIATE ... COMMIT; a failing write is rolled back
 * alone (its outcome reported) while the others commit (see sq_apply). The
 * audit chain head lives in memory on the writer thread, is rolled back with a
 * failed write, and is stored in audit_head once per batch. */
#include "coordinator/store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util/clock.h"
#include "common/util/log.h"

#define DEFAULT_READERS 4
#define DEFAULT_BUSY_MS 5000
#define DEFAULT_WRITER_CACHE_KIB 16384
#define DEFAULT_READER_CACHE_KIB 2048
#define DEFAULT_CHECKPOINT_KIB 16384
#define CHECKPOINT_HARD_FACTOR 8

/* ------------------------------------------------------------ connections */

ck_err ck__sq_fail(ck__sq_conn *c, int src, const char *what, ck_errctx *err) {
  const char *msg =
      c != NULL && c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(src);
  ck_err code = CK_ERR_STORE;

  switch (src & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    code = CK_ERR_BUSY;
    break;
  case SQLITE_CONSTRAINT:
    if (src == SQLITE_CONSTRAINT_UNIQUE || src == SQLITE_CONSTRAINT_PRIMARYKEY)
      code = CK_ERR_EXIST;
    break;
  case SQLITE_FULL:
    msg = "disk full";
    break;
  case SQLITE_NOMEM:
    code = CK_ERR_NOMEM;
    break;
  default:
    break;
  }
  return ck_failf(err, code, "store: %s: %s", what, msg);
}

ck_err ck__sq_exec(ck__sq_conn *c, const char *sql, ck_errctx *err) {
  char *msg = NULL;
  int src = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
  ck_err rc = CK_OK;

  if (src != SQLITE_OK) {
    char what[64];
    snprintf(what, sizeof what, "%.40s", sql);
    rc = ck__sq_fail(c, src, what, err);
  }
  sqlite3_free(msg);
  return rc;
}

static size_t slot_of(const char *sql) {
  uintptr_t h = (uintptr_t)sql;
  h ^= h >> 17;
  h *= (uintptr_t)0x9e3779b97f4a7c15ull;
  return (size_t)(h >> 7) & (CK__SQ_STMT_SLOTS - 1);
}

sqlite3_stmt *ck__sq_stmt(ck__sq_conn *c, const char *sql, ck_errctx *err) {
  size_t i = slot_of(sql), probes;
  sqlite3_stmt *st = NULL;
  int src;

  for (probes = 0; probes < CK__SQ_STMT_SLOTS; probes++) {
    ck__sq_stmt_slot *s = &c->cache[i];
    if (s->sql == sql)
      return s->st;
    if (s->sql == NULL)
      break;
    i = (i + 1) & (CK__SQ_STMT_SLOTS - 1);
  }
  if (probes == CK__SQ_STMT_SLOTS) {
    ck_failf(err, CK_ERR_INTERNAL, "store: statement cache full");
    return NULL;
  }
  src =
      sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
  if (src != SQLITE_OK) {
    ck__sq_fail(c, src, "preparing a statement", err);
    sqlite3_finalize(st);
    return NULL;
  }
  c->cache[i].sql = sql;
  c->cache[i].st = st;
  return st;
}

void ck__sq_done(sqlite3_stmt *st) {
  if (st == NULL)
    return;
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

static void conn_close(ck__sq_conn *c) {
  size_t i;

  if (c == NULL)
    return;
  for (i = 0; i < CK__SQ_STMT_SLOTS; i++)
    sqlite3_finalize(c->cache[i].st);
  sqlite3_close_v2(c->db);
  free(c);
}

static ck_err conn_open(ck__sq *q, int writer, unsigned cache_kib,
                        ck__sq_conn **out, ck_errctx *err) {
  ck__sq_conn *c = calloc(1, sizeof *c);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  char sql[256];
  ck_err rc;
  int src;

  if (c == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  if (writer)
    flags |= SQLITE_OPEN_CREATE;
  src = sqlite3_open_v2(q->path, &c->db, flags, NULL);
  if (src != SQLITE_OK) {
    rc = ck__sq_fail(c, src, q->path, err);
    goto fail;
  }
  sqlite3_extended_result_codes(c->db, 1);
  sqlite3_busy_timeout(c->db, (int)q->busy_ms);
  if (writer) {
    /* WAL must be set outside a transaction and sticks to the file */
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s;"
             " PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
             " PRAGMA cache_size = -%u; PRAGMA journal_size_limit = %d;",
             q->sync_full ? "FULL" : "NORMAL", cache_kib, 64 << 20);
  } else {
    snprintf(sql, sizeof sql,
             "PRAGMA query_only = 1; PRAGMA cache_size = -%u;"
             " PRAGMA temp_store = MEMORY;",
             cache_kib);
  }
  if ((rc = ck__sq_exec(c, sql, err)) != CK_OK)
    goto fail;
  *out = c;
  return CK_OK;
fail:
  conn_close(c);
  return rc;
}

/* ------------------------------------------------------------ read pool */

ck__sq_conn *ck__sq_reader_get(ck__sq *q, ck_errctx *err) {
  ck__sq_conn *c = NULL;

  uv_mutex_lock(&q->pool_mu);
  while (q->free_readers == NULL && q->n_readers >= q->max_readers)
    uv_cond_wait(&q->pool_cv, &q->pool_mu);
  if (q->free_readers != NULL) {
    c = q->free_readers;
    q->free_readers = c->next_free;
  } else if (conn_open(q, 0, q->reader_cache_kib, &c, err) == CK_OK) {
    q->readers[q->n_readers++] = c;
  }
  uv_mutex_unlock(&q->pool_mu);
  return c;
}

void ck__sq_reader_put(ck__sq *q, ck__sq_conn *c) {
  if (c == NULL)
    return;
  uv_mutex_lock(&q->pool_mu);
  c->next_free = q->free_readers;
  q->free_readers = c;
  uv_cond_signal(&q->pool_cv);
  uv_mutex_unlock(&q->pool_mu);
}

/* ------------------------------------------------------------ checkpoints */

/* Runs on the writer thread after each commit with the WAL's page count. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages) {
  ck__sq *q = arg;

  (void)name;
  if (pages >= q->ckpt_pages * CHECKPOINT_HARD_FACTOR) {
    /* the background thread cannot keep up: do it here */
    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  } else if (pages >= q->ckpt_pages) {
    uv_mutex_lock(&q->ckpt_mu);
    if (!q->ckpt_wanted) {
      q->ckpt_wanted = 1;
      uv_cond_signal(&q->ckpt_cv);
    }
    uv_mutex_unlock(&q->ckpt_mu);
  }
  return SQLITE_OK;
}

static void checkpointer_main(void *arg) {
  ck__sq *q = arg;

  for (;;) {
    int src, log = 0, done = 0;

    uv_mutex_lock(&q->ckpt_mu);
    while (!q->ckpt_wanted && !q->ckpt_stop)
      uv_cond_wait(&q->ckpt_cv, &q->ckpt_mu);
    if (q->ckpt_stop) {
      uv_mutex_unlock(&q->ckpt_mu);
      break;
    }
    q->ckpt_wanted = 0;
    uv_mutex_unlock(&q->ckpt_mu);
    src = sqlite3_wal_checkpoint_v2(q->ckc->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                    &log, &done);
    if (src != SQLITE_OK && src != SQLITE_BUSY)
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "store.checkpoint.failed",
             CK_S("msg", sqlite3_errmsg(q->ckc->db)));
  }
}

static void checkpointer_stop(ck__sq *q) {
  if (!q->ckpt_started)
    return;
  uv_mutex_lock(&q->ckpt_mu);
  q->ckpt_stop = 1;
  uv_cond_signal(&q->ckpt_cv);
  uv_mutex_unlock(&q->ckpt_mu);
  uv_thread_join(&q->ckpt_thread);
  q->ckpt_started = 0;
}

static ck_err checkpointer_start(ck__sq *q, ck_errctx *err) {
  ck_err rc = conn_open(q, 0, 256, &q->ckc, err);

  if (rc != CK_OK)
    return rc;
  /* the checkpointer writes: lift query_only from the reader defaults */
  if ((rc = ck__sq_exec(q->ckc, "PRAGMA query_only = 0", err)) != CK_OK)
    return rc;
  sqlite3_wal_hook(q->w->db, wal_hook, q);
  if (uv_thread_create(&q->ckpt_thread, checkpointer_main, q) != 0)
    return ck_failf(err, CK_ERR_INTERNAL,
                    "store: cannot start the checkpoint thread");
  q->ckpt_started = 1;
  return CK_OK;
}

/* ------------------------------------------------------------ group commit */

static ck_err step_simple(ck__sq *q, const char *sql, ck_errctx *err) {
  sqlite3_stmt *st = ck__sq_stmt(q->w, sql, err);
  int src;

  if (st == NULL)
    return err != NULL && err->code != CK_OK ? err->code : CK_ERR_STORE;
  src = sqlite3_step(st);
  ck__sq_done(st);
  if (src != SQLITE_DONE)
    return ck__sq_fail(q->w, src, sql, err);
  return CK_OK;
}

/* Marks writes [from, n) failed with rc/msg (those not failed already). */
static void fail_all(ck_store_write **ws, size_t from, size_t n, ck_err rc,
                     const char *msg) {
  size_t i;

  for (i = from; i < n; i++) {
    if (ws[i]->rc != CK_OK)
      continue;
    ws[i]->rc = rc;
    ws[i]->failed_op = 0;
    ck_setf(&ws[i]->err, rc, "%s", msg);
  }
}

/* Applies one write's operations; on failure records which and why. */
static ck_err run_ops(ck__sq *q, ck_store_write *w) {
  size_t j;
  ck_err rc;

  ck__sq_shared_begin(q);
  for (j = 0; j < w->n_ops; j++) {
    rc = ck__sq_apply_op(q, &w->ops[j], &w->err);
    if (rc != CK_OK) {
      w->rc = ck_failf(&w->err, rc, "operation %zu (%s)", j,
                       ck__store_op_name(w->ops[j].kind));
      w->failed_op = j;
      return rc;
    }
  }
  /* the shared-key flags of the keys this write's installations touched */
  if ((rc = ck__sq_shared_flush(q, &w->err)) != CK_OK) {
    j = w->n_ops > 0 ? w->n_ops - 1 : 0;
    w->rc = ck_failf(&w->err, rc, "operation %zu (%s)", j,
                     w->n_ops > 0 ? ck__store_op_name(w->ops[j].kind) : "?");
    w->failed_op = j;
    return rc;
  }
  return CK_OK;
}

enum { RUN_OK = 0, RUN_RETRY, RUN_BROKEN };

/* Runs ws[0..n) inside the open transaction. Fast mode stops at the first
 * failing write (RUN_RETRY: the caller rolls everything back and runs the
 * batch again carefully). Careful mode wraps each write in a savepoint and
 * rolls a failing write back alone. RUN_BROKEN: the transaction cannot go
 * on (I/O error, disk full: SQLite may already have rolled it back). */
static int run_writes(ck__sq *q, ck_store_write **ws, size_t n, int careful,
                      ck_errctx *e) {
  size_t i;

  for (i = 0; i < n; i++) {
    ck_store_write *w = ws[i];
    int64_t seq = q->head_seq;
    uint8_t hash[CK_SHA256_LEN];

    if (!careful) {
      if (run_ops(q, w) != CK_OK)
        return sqlite3_get_autocommit(q->w->db) ? RUN_BROKEN : RUN_RETRY;
      continue;
    }
    memcpy(hash, q->head_hash, sizeof hash);
    if (step_simple(q, "SAVEPOINT w", e) != CK_OK)
      return RUN_BROKEN;
    if (run_ops(q, w) != CK_OK) {
      q->head_seq = seq; /* the failed write's events never happened */
      memcpy(q->head_hash, hash, sizeof hash);
      if (sqlite3_get_autocommit(q->w->db) ||
          step_simple(q, "ROLLBACK TO w", e) != CK_OK)
        return RUN_BROKEN;
    }
    if (step_simple(q, "RELEASE w", e) != CK_OK ||
        sqlite3_get_autocommit(q->w->db))
      return RUN_BROKEN;
  }
  return RUN_OK;
}

/* Group commit: the whole batch in one transaction. The fast path runs the
 * writes back to back — savepoints cost a copy of every page a write
 * touches that the batch already dirtied, a large share of a write's cost —
 * and only when a write fails is the batch rolled back and run again with
 * a savepoint per write, so the failing one is dropped alone. */
static void sq_apply(void *be, ck_store_write **ws, size_t n) {
  ck__sq *q = be;
  int64_t seq0 = q->head_seq;
  uint8_t hash0[CK_SHA256_LEN];
  ck_errctx e = CK_ERRCTX_INIT;
  ck_err rc;
  size_t i;
  int run;

  memcpy(hash0, q->head_hash, sizeof hash0);
  q->now = ck_clock_now();
  if ((rc = step_simple(q, "BEGIN IMMEDIATE", &e)) != CK_OK) {
    fail_all(ws, 0, n, rc, ck_errctx_msg(&e));
    return;
  }
  run = run_writes(q, ws, n, n == 1, &e);
  if (run == RUN_RETRY) {
    step_simple(q, "ROLLBACK", NULL);
    q->head_seq = seq0;
    memcpy(q->head_hash, hash0, sizeof hash0);
    for (i = 0; i < n; i++) {
      ws[i]->rc = CK_OK;
      ws[i]->failed_op = 0;
      ck_errctx_clear(&ws[i]->err);
    }
    if ((rc = step_simple(q, "BEGIN IMMEDIATE", &e)) != CK_OK) {
      fail_all(ws, 0, n, rc, ck_errctx_msg(&e));
      return;
    }
    run = run_writes(q, ws, n, 1, &e);
  }
  if (run != RUN_OK) {
    /* the transaction is unusable: nothing of this batch commits */
    char msg[300];
    snprintf(msg, sizeof msg, "store: batch rolled back: %s",
             e.code != CK_OK ? ck_errctx_msg(&e) : "a write failed fatally");
    if (!sqlite3_get_autocommit(q->w->db))
      step_simple(q, "ROLLBACK", NULL);
    fail_all(ws, 0, n, CK_ERR_STORE, msg);
    goto rollback_head;
  }
  if (q->head_seq != seq0 && (rc = ck__sq_save_head(q, &e)) != CK_OK) {
    step_simple(q, "ROLLBACK", NULL);
    fail_all(ws, 0, n, rc, ck_errctx_msg(&e));
    goto rollback_head;
  }
  if ((rc = step_simple(q, "COMMIT", &e)) != CK_OK) {
    if (!sqlite3_get_autocommit(q->w->db))
      step_simple(q, "ROLLBACK", NULL);
    fail_all(ws, 0, n, rc, ck_errctx_msg(&e));
    goto rollback_head;
  }
  return;
rollback_head:
  q->head_seq = seq0;
  memcpy(q->head_hash, hash0, sizeof hash0);
  ck_log(CK_LOG_OPS, CK_LOG_ERR, "store.batch.failed", CK_I("writes", n),
         CK_S("msg", ck_errctx_msg(&e)));
}

/* ---------------------------------------------------------------- open */

static void sq_close(void *be) {
  ck__sq *q = be;
  unsigned i;

  if (q == NULL)
    return;
  checkpointer_stop(q);
  conn_close(q->ckc);
  for (i = 0; i < q->n_readers; i++)
    conn_close(q->readers[i]);
  if (q->w != NULL) {
    /* leave a clean, checkpointed database behind */
    sqlite3_wal_checkpoint_v2(q->w->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
                              NULL);
    conn_close(q->w);
  }
  uv_cond_destroy(&q->ckpt_cv);
  uv_mutex_destroy(&q->ckpt_mu);
  uv_cond_destroy(&q->pool_cv);
  uv_mutex_destroy(&q->pool_mu);
  free(q->readers);
  free(q->shared_ids);
  free(q->path);
  free(q);
}

/* Creates the backend's locks; on failure destroys those made, returns -1. */
static int locks_init(ck__sq *q) {
  int n = 0;

  if (uv_mutex_init(&q->pool_mu) == 0 && ++n &&
      uv_cond_init(&q->pool_cv) == 0 && ++n &&
      uv_mutex_init(&q->ckpt_mu) == 0 && ++n && uv_cond_init(&q->ckpt_cv) == 0)
    return 0;
  if (n > 2)
    uv_mutex_destroy(&q->ckpt_mu);
  if (n > 1)
    uv_cond_destroy(&q->pool_cv);
  if (n > 0)
    uv_mutex_destroy(&q->pool_mu);
  return -1;
}

static ck__store_backend vt;
static uv_once_t vt_once = UV_ONCE_INIT;

static void vt_init(void) {
  ck__sq_read_ops(&vt);
  vt.apply = sq_apply;
  vt.close = sq_close;
  vt.name = "sqlite";
}

ck_err ck__store_sqlite_open(const ck_store_opts *opts,
                             const ck__store_backend **ops, void **be,
                             ck_errctx *err) {
  ck__sq *q = NULL;
  struct stat sb;
  int created;
  ck_err rc;

  q = calloc(1, sizeof *q);
  if (q == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  if (locks_init(q) != 0) {
    free(q);
    return ck_failf(err, CK_ERR_INTERNAL, "store: cannot create locks");
  }
  q->path = strdup(opts->path);
  q->sync_full = opts->sync_full ? 1 : 0;
  q->busy_ms = opts->busy_timeout_ms ? opts->busy_timeout_ms : DEFAULT_BUSY_MS;
  q->reader_cache_kib = opts->reader_cache_kib ? opts->reader_cache_kib
                                               : DEFAULT_READER_CACHE_KIB;
  q->max_readers = opts->readers ? opts->readers : DEFAULT_READERS;
  q->ckpt_pages = (int)((opts->checkpoint_kib ? opts->checkpoint_kib
                                              : DEFAULT_CHECKPOINT_KIB) /
                        4); /* 4 KiB pages */
  if (q->ckpt_pages < 16)
    q->ckpt_pages = 16;
  q->readers = calloc(q->max_readers, sizeof *q->readers);
  if (q->path == NULL || q->readers == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
    goto fail;
  }
  created = stat(q->path, &sb) != 0;
  rc = conn_open(q, 1,
                 opts->writer_cache_kib ? opts->writer_cache_kib
                                        : DEFAULT_WRITER_CACHE_KIB,
                 &q->w, err);
  if (rc != CK_OK)
    goto fail;
  /* token hashes, CA key paths: not for other users' eyes */
  if (created)
    chmod(q->path, 0600);
  if ((rc = ck__sq_migrate(q->w, err)) != CK_OK)
    goto fail;
  if ((rc = ck__sq_load_head(q, err)) != CK_OK)
    goto fail;
  if ((rc = checkpointer_start(q, err)) != CK_OK)
    goto fail;
  uv_once(&vt_once, vt_init);
  *ops = &vt;
  *be = q;
  return CK_OK;
fail:
  sq_close(q);
  return rc;
}
