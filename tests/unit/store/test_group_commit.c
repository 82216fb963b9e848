/* test_group_commit.c — the writer thread: many concurrent submitters from
 * several threads (blocking and callback style) all complete and all rows
 * are there; writes queued while the writer is busy are committed together
 * in one batch; callbacks reach a libuv loop on its own thread; a full
 * queue says BUSY; closing drains the queue. The writer is held busy
 * deterministically by taking SQLite's write lock from another connection
 * (its BEGIN IMMEDIATE then waits in the busy handler). */
#include "tests/unit/store/fixture.h"

#include <stdatomic.h>

#include "coordinator/audit/audit.h"

#define THREADS 8
#define PER_THREAD 250

typedef struct worker {
  fx *f;
  int index;
  int async;          /* submit with a writer-thread callback */
  atomic_int *done;   /* async completions (all workers) */
  atomic_int *failed; /* async failures */
  int sync_failed;    /* blocking failures */
  ck_err first_error;
} worker;

static void on_done(ck_store_write *w, ck_err rc, void *arg) {
  worker *wk = arg;

  if (rc != CK_OK)
    atomic_fetch_add(wk->failed, 1);
  ck_store_write_free(w);
  atomic_fetch_add(wk->done, 1);
}

/* Builds write i of worker wk: a certificate and its audit event, or (for
 * i == PER_THREAD) a write that must fail (revoking an unknown cert).
 * NULL if building failed (no cmocka asserts off the main thread). */
static ck_store_write *make_write(worker *wk, int i, ck_store_cert *c,
                                  ck_arena *a) {
  ck_store_write *w = ck_store_write_new();
  ck_audit_event ev = {0};
  long n = (long)wk->index * 100000 + i;
  fx tmp;

  if (w == NULL)
    return NULL;
  if (i == PER_THREAD) {
    ck_store_revocation rv = {0};
    fx_hex("missing", n, rv.cert_fp);
    rv.actor = "test";
    if (ck_store_write_revoke(w, &rv, NULL) != CK_OK)
      goto fail;
    return w;
  }
  tmp.a = a;
  fx_cert(&tmp, c, n);
  ev.actor = "worker";
  ev.action = "cert.issue";
  ev.object_type = "cert";
  ev.object_id = c->fingerprint;
  ev.details = "{\"test\":true}";
  if (ck_store_write_cert_put(w, c, NULL) != CK_OK ||
      ck_store_write_audit(w, &ev, NULL) != CK_OK)
    goto fail;
  return w;
fail:
  ck_store_write_free(w);
  return NULL;
}

static void worker_main(void *arg) {
  worker *wk = arg;
  ck_arena *a = ck_arena_new(8192);
  int i;

  for (i = 0; i <= PER_THREAD; i++) {
    ck_store_cert c;
    ck_store_write *w;

    ck_arena_reset(a);
    w = make_write(wk, i, &c, a);
    if (w == NULL) {
      wk->first_error = CK_ERR_INTERNAL;
      break;
    }
    if (wk->async) {
      ck_err rc = ck_store_submit(wk->f->s, w, on_done, wk);
      if (rc != CK_OK) { /* must not happen: queue is large */
        wk->first_error = rc;
        ck_store_write_free(w);
      }
    } else {
      ck_err rc = ck_store_submit_wait(wk->f->s, w, NULL);
      if (rc != CK_OK) {
        wk->sync_failed++;
        if (i != PER_THREAD)
          wk->first_error = rc;
      }
      ck_store_write_free(w);
    }
  }
  ck_arena_free(a);
}

static void many_threads(void **state) {
  fx f;
  worker wk[THREADS];
  uv_thread_t th[THREADS];
  atomic_int done = 0, failed = 0;
  ck_store_stats st;
  ck_audit_report rep;
  ck_errctx e = CK_ERRCTX_INIT;
  int i, sync_failed = 0;

  (void)state;
  fx_setup(&f);
  for (i = 0; i < THREADS; i++) {
    memset(&wk[i], 0, sizeof wk[i]);
    wk[i].f = &f;
    wk[i].index = i;
    wk[i].async = i % 2;
    wk[i].done = &done;
    wk[i].failed = &failed;
    assert_int_equal(uv_thread_create(&th[i], worker_main, &wk[i]), 0);
  }
  for (i = 0; i < THREADS; i++) {
    assert_int_equal(uv_thread_join(&th[i]), 0);
    assert_int_equal(wk[i].first_error, CK_OK);
    sync_failed += wk[i].sync_failed;
  }
  /* closing drains what the async workers queued */
  ck_store_close(f.s);
  assert_int_equal(atomic_load(&done), (THREADS / 2) * (PER_THREAD + 1));
  assert_int_equal(atomic_load(&failed), THREADS / 2);
  assert_int_equal(sync_failed, THREADS / 2);
  f.s = fx_open_opts(&f, NULL);
  assert_int_equal(fx_sql_int(&f, "SELECT count(*) FROM certs"),
                   THREADS * PER_THREAD);
  assert_int_equal(fx_sql_int(&f, "SELECT count(*) FROM cert_der"),
                   THREADS * PER_THREAD);
  assert_int_equal(fx_sql_int(&f, "SELECT count(*) FROM audit"),
                   THREADS * PER_THREAD);
  assert_int_equal(fx_sql_int(&f, "SELECT max(seq) FROM audit"),
                   THREADS * PER_THREAD);
  assert_int_equal(ck_audit_verify(f.s, NULL, &rep, &e), CK_OK);
  assert_int_equal(rep.problem, CK_AUDIT_OK);
  assert_int_equal(rep.checked, THREADS * PER_THREAD);
  ck_store_get_stats(f.s, &st);
  assert_int_equal(st.writes, 0); /* a fresh handle */
  fx_teardown(&f);
}

/* Holds SQLite's write lock from another connection. */
static sqlite3 *hold_write_lock(fx *f) {
  sqlite3 *db = NULL;

  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                   SQLITE_OK);
  return db;
}

static void release_write_lock(sqlite3 *db) {
  assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

/* Failed writes seen by count_done (asserting off the main thread would
 * unwind the wrong stack). */
static atomic_int bad_callbacks;

static void count_done(ck_store_write *w, ck_err rc, void *arg) {
  atomic_int *n = arg;

  if (rc != CK_OK)
    atomic_fetch_add(&bad_callbacks, 1);
  ck_store_write_free(w);
  atomic_fetch_add(n, 1);
}

static void batch_stats(void **state) {
  fx f;
  ck_store_stats st;
  sqlite3 *lock;
  atomic_int done = 0;
  ck_store_write *last = ck_store_write_new();
  ck_store_cert c;
  int i;

  (void)state;
  fx_setup(&f);
  lock = hold_write_lock(&f);
  for (i = 0; i < 500; i++) {
    ck_store_write *w = ck_store_write_new();
    fx_cert(&f, &c, i);
    assert_int_equal(ck_store_write_cert_put(w, &c, NULL), CK_OK);
    assert_int_equal(ck_store_submit(f.s, w, count_done, &done), CK_OK);
  }
  release_write_lock(lock);
  fx_cert(&f, &c, 9999);
  assert_int_equal(ck_store_write_cert_put(last, &c, NULL), CK_OK);
  fx_commit(&f, last, CK_OK); /* FIFO: everything before it is done */
  assert_int_equal(atomic_load(&done), 500);
  ck_store_get_stats(f.s, &st);
  assert_int_equal(st.writes, 501);
  assert_int_equal(st.failed, 0);
  /* the writer took k >= 1 writes before blocking on the lock; all the
   * others queued behind it and went into ONE transaction, then `last`:
   * 501 writes in at most 3 commits */
  assert_true(st.batches <= 3);
  assert_true(st.max_batch >= 250);
  assert_int_equal(atomic_load(&bad_callbacks), 0);
  ck_store_write_free(last);
  fx_teardown(&f);
}

/* Writes queued behind a held lock share one batch; the failing ones (an
 * audit event then an operation that fails) are dropped alone, the others
 * commit, and the audit chain has no hole and verifies. */
static void failing_write_in_a_batch(void **state) {
  fx f;
  sqlite3 *lock;
  ck_store_write *w[12];
  ck_audit_report rep;
  ck_errctx e = CK_ERRCTX_INIT;
  int i;

  (void)state;
  fx_setup(&f);
  lock = hold_write_lock(&f);
  for (i = 0; i < 12; i++) {
    ck_store_cert c;
    ck_audit_event ev = {0};
    w[i] = ck_store_write_new();
    fx_cert(&f, &c, i);
    ev.actor = "test";
    ev.action = "cert.issue";
    ev.object_id = c.fingerprint;
    assert_int_equal(ck_store_write_audit(w[i], &ev, NULL), CK_OK);
    assert_int_equal(ck_store_write_cert_put(w[i], &c, NULL), CK_OK);
    if (i % 4 == 2) { /* then fail: revoke something unknown */
      ck_store_revocation rv = {0};
      fx_hex("missing", i, rv.cert_fp);
      rv.actor = "test";
      assert_int_equal(ck_store_write_revoke(w[i], &rv, NULL), CK_OK);
    }
    assert_int_equal(ck_store_submit(f.s, w[i], NULL, NULL), CK_OK);
  }
  release_write_lock(lock);
  ck_store_close(f.s); /* drains */
  f.s = fx_open_opts(&f, NULL);
  for (i = 0; i < 12; i++) {
    ck_store_cert c, got;
    fx_cert(&f, &c, i);
    if (i % 4 == 2) {
      assert_int_equal(ck_store_write_status(w[i]), CK_ERR_NOT_FOUND);
      assert_int_equal(ck_store_write_failed_op(w[i]), 2);
      assert_int_equal(ck_store_write_result(w[i], 0), 0);
      assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 0, f.a, &got, &e),
                       CK_ERR_NOT_FOUND);
    } else {
      assert_int_equal(ck_store_write_status(w[i]), CK_OK);
      assert_true(ck_store_write_result(w[i], 0) > 0);
      assert_int_equal(ck_store_cert_get(f.s, c.fingerprint, 0, f.a, &got, &e),
                       CK_OK);
    }
    ck_store_write_free(w[i]);
  }
  assert_int_equal(fx_sql_int(&f, "SELECT count(*) FROM audit"), 9);
  assert_int_equal(fx_sql_int(&f, "SELECT max(seq) FROM audit"), 9);
  assert_int_equal(ck_audit_verify(f.s, NULL, &rep, &e), CK_OK);
  assert_int_equal(rep.problem, CK_AUDIT_OK);
  fx_teardown(&f);
}

static void queue_full_is_busy(void **state) {
  fx f;
  ck_store_opts o = {0};
  ck_store_stats st;
  sqlite3 *lock;
  atomic_int done = 0;
  ck_store_write *extra = ck_store_write_new();
  ck_store_cert c;
  int i, accepted = 0;
  ck_err rc = CK_OK;

  (void)state;
  fx_setup(&f);
  ck_store_close(f.s);
  o.queue_max = 4;
  f.s = fx_open_opts(&f, &o);
  lock = hold_write_lock(&f);
  for (i = 0; i < 10 && rc == CK_OK; i++) {
    ck_store_write *w = ck_store_write_new();
    fx_cert(&f, &c, i);
    assert_int_equal(ck_store_write_cert_put(w, &c, NULL), CK_OK);
    rc = ck_store_submit(f.s, w, count_done, &done);
    if (rc == CK_OK)
      accepted++;
    else
      ck_store_write_free(w); /* refused: the callback will not run */
  }
  assert_int_equal(rc, CK_ERR_BUSY);
  /* the writer may have taken up to 4 into its (blocked) first batch
   * before the queue filled again; refusal happens at exactly 4 queued */
  assert_true(accepted >= 4 && accepted <= 8);
  ck_store_get_stats(f.s, &st);
  assert_int_equal(st.queued, 4);
  release_write_lock(lock);
  /* a blocking submitter waits for room instead */
  fx_cert(&f, &c, 100);
  assert_int_equal(ck_store_write_cert_put(extra, &c, NULL), CK_OK);
  fx_commit(&f, extra, CK_OK);
  assert_int_equal(atomic_load(&done), accepted);
  ck_store_write_free(extra);
  fx_teardown(&f);
}

typedef struct loop_ctx {
  uv_thread_t loop_thread;
  int on_loop_thread; /* all callbacks ran on the loop thread */
  int done;
  int failed;
  int all;
} loop_ctx;

static void on_loop_done(ck_store_write *w, ck_err rc, void *arg) {
  loop_ctx *lc = arg;
  uv_thread_t self = uv_thread_self();

  if (!uv_thread_equal(&self, &lc->loop_thread))
    lc->on_loop_thread = 0;
  if (rc != CK_OK)
    lc->failed++;
  ck_store_write_free(w);
  if (++lc->done == 200)
    lc->all = 1;
}

static void loop_callbacks(void **state) {
  fx f;
  uv_loop_t loop;
  ck_store_loop *ch = NULL;
  loop_ctx lc = {0};
  ck_errctx e = CK_ERRCTX_INIT;
  int i;

  (void)state;
  fx_setup(&f);
  assert_int_equal(uv_loop_init(&loop), 0);
  lc.loop_thread = uv_thread_self();
  lc.on_loop_thread = 1;
  assert_int_equal(ck_store_loop_open(f.s, &loop, &ch, &e), CK_OK);
  for (i = 0; i < 200; i++) {
    ck_store_cert c;
    ck_store_write *w = ck_store_write_new();
    fx_cert(&f, &c, i);
    if (i == 50)
      c.der = NULL; /* refused by the builder: never submitted */
    if (ck_store_write_cert_put(w, &c, NULL) != CK_OK) {
      ck_store_revocation rv = {0}; /* submit a failing write instead */
      fx_hex("missing", i, rv.cert_fp);
      rv.actor = "t";
      assert_int_equal(ck_store_write_revoke(w, &rv, NULL), CK_OK);
    }
    assert_int_equal(ck_store_submit_loop(ch, w, on_loop_done, &lc), CK_OK);
  }
  /* callbacks are pending: the channel cannot close yet */
  assert_int_equal(ck_store_loop_close(ch), CK_ERR_BUSY);
  ck_test_run_until(&loop, &lc.all, 10000);
  assert_int_equal(lc.done, 200);
  assert_int_equal(lc.failed, 1);
  assert_true(lc.on_loop_thread);
  assert_int_equal(ck_store_loop_close(ch), CK_OK);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(fx_sql_int(&f, "SELECT count(*) FROM certs"), 199);
  assert_int_equal(ck_store_loop_close(NULL), CK_OK);
  fx_teardown(&f);
}

static void close_drains_queue(void **state) {
  fx f;
  ck_store_cert c;
  atomic_int done = 0;
  int i;

  (void)state;
  fx_setup(&f);
  /* queued writes are committed by close, callbacks included */
  for (i = 0; i < 100; i++) {
    ck_store_write *q = ck_store_write_new();
    fx_cert(&f, &c, i);
    assert_int_equal(ck_store_write_cert_put(q, &c, NULL), CK_OK);
    assert_int_equal(ck_store_submit(f.s, q, count_done, &done), CK_OK);
  }
  ck_store_close(f.s);
  assert_int_equal(atomic_load(&done), 100);
  f.s = fx_open_opts(&f, NULL);
  assert_int_equal(fx_sql_int(&f, "SELECT count(*) FROM certs"), 100);
  assert_int_equal(atomic_load(&bad_callbacks), 0);
  fx_teardown(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(many_threads),
      cmocka_unit_test(batch_stats),
      cmocka_unit_test(failing_write_in_a_batch),
      cmocka_unit_test(queue_full_is_busy),
      cmocka_unit_test(loop_callbacks),
      cmocka_unit_test(close_drains_queue),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
