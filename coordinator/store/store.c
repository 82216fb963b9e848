/* store.c — the backend-neutral half of the store: opening a backend, the
 * write queue and its group-committing writer thread, and delivery of
 * completions (writer thread, libuv loop, or a blocked worker thread).
 *
 * Group commit: submitters append to a FIFO under one mutex; the writer
 * thread takes everything queued (up to batch_max) and hands it to the
 * backend as one transaction. While a batch commits, new writes pile up and
 * become the next batch, so the batch size grows with the load and the
 * per-commit cost (fsync, WAL append, lock) is shared — no timer, no added
 * latency when idle. */
#include "coordinator/store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"

#define DEFAULT_BATCH_MAX 4096
#define DEFAULT_QUEUE_MAX 65536

/* A write submitted by ck_store_submit_wait: its completion is a flag set
 * under the store mutex, not a callback. */
static void wait_marker(ck_store_write *w, ck_err rc, void *arg) {
  (void)w;
  (void)rc;
  (void)arg;
}

struct ck_store {
  const ck__store_backend *ops;
  void *be;
  uv_thread_t writer;
  int writer_started;
  uv_mutex_t mu;
  uv_cond_t work_cv;           /* writer waits for writes */
  uv_cond_t space_cv;          /* blocking submitters wait for queue space */
  uv_cond_t done_cv;           /* blocking submitters wait for completion */
  ck_store_write *head, *tail; /* the queue */
  size_t queued;
  size_t queue_max;
  size_t batch_max;
  int closing;
  ck_store_write **batch; /* writer's batch array, batch_max entries */
  ck_store_stats stats;
};

struct ck_store_loop {
  uv_async_t async; /* data = this */
  ck_store *store;
  uv_mutex_t mu;
  ck_store_write *head, *tail; /* completed, not yet delivered */
  size_t inflight;             /* submitted, callback not yet run (loop
                                  thread only) */
  int closing;
};

/* ------------------------------------------------------------ completion */

static void loop_push(ck_store_loop *l, ck_store_write *w) {
  uv_mutex_lock(&l->mu);
  w->next = NULL;
  if (l->tail != NULL)
    l->tail->next = w;
  else
    l->head = w;
  l->tail = w;
  /* sent under the lock: the loop cannot deliver w (and its owner cannot
   * close and free l) before this thread is done with l */
  uv_async_send(&l->async);
  uv_mutex_unlock(&l->mu);
}

/* Hands each finished write to whoever waits for it. Callbacks may free
 * their write, and a released waiter may free its write at once, so each
 * write is touched only until it is handed over. */
static void complete_batch(ck_store *s, ck_store_write **ws, size_t n) {
  size_t i, failed = 0;
  int waiters = 0;

  for (i = 0; i < n; i++)
    if (ws[i]->rc != CK_OK)
      failed++;
  uv_mutex_lock(&s->mu);
  s->stats.writes += n;
  s->stats.failed += failed;
  s->stats.batches++;
  if (n > s->stats.max_batch)
    s->stats.max_batch = n;
  uv_mutex_unlock(&s->mu);

  for (i = 0; i < n; i++) {
    ck_store_write *w = ws[i];
    ck_store_done_fn cb = w->cb;
    void *arg = w->cb_arg;

    if (cb == wait_marker) {
      waiters = 1;
      continue; /* released below, under the mutex */
    }
    ws[i] = NULL;
    if (w->loop != NULL) {
      loop_push(w->loop, w);
      continue;
    }
    w->submitted = 0;
    if (cb != NULL)
      cb(w, w->rc, arg); /* may free w */
  }
  if (!waiters)
    return;
  uv_mutex_lock(&s->mu);
  for (i = 0; i < n; i++)
    if (ws[i] != NULL)
      ws[i]->submitted = 0; /* the waiter owns it again from here */
  uv_cond_broadcast(&s->done_cv);
  uv_mutex_unlock(&s->mu);
}

static void writer_main(void *arg) {
  ck_store *s = arg;

  for (;;) {
    size_t n = 0;

    uv_mutex_lock(&s->mu);
    while (s->head == NULL && !s->closing)
      uv_cond_wait(&s->work_cv, &s->mu);
    if (s->head == NULL) {
      uv_mutex_unlock(&s->mu);
      break;
    }
    while (s->head != NULL && n < s->batch_max) {
      ck_store_write *w = s->head;
      s->head = w->next;
      w->next = NULL;
      s->batch[n++] = w;
    }
    if (s->head == NULL)
      s->tail = NULL;
    s->queued -= n;
    uv_cond_broadcast(&s->space_cv);
    uv_mutex_unlock(&s->mu);

    s->ops->apply(s->be, s->batch, n);
    complete_batch(s, s->batch, n);
  }
}

/* ---------------------------------------------------------------- open */

ck_err ck_store_open(const ck_store_opts *opts, ck_store **out,
                     ck_errctx *err) {
  ck_store *s = NULL;
  ck_err rc;
  int mu = 0, c1 = 0, c2 = 0, c3 = 0;

  if (opts == NULL || out == NULL || opts->path == NULL ||
      opts->path[0] == '\0')
    return ck_failf(err, CK_ERR_INVAL, "store: no database path given");
  s = calloc(1, sizeof *s);
  if (s == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  s->batch_max = opts->batch_max ? opts->batch_max : DEFAULT_BATCH_MAX;
  s->queue_max = opts->queue_max ? opts->queue_max : DEFAULT_QUEUE_MAX;
  s->batch = calloc(s->batch_max, sizeof *s->batch);
  if (s->batch == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
    goto out;
  }
  if (uv_mutex_init(&s->mu) != 0 || !(mu = 1) ||
      uv_cond_init(&s->work_cv) != 0 || !(c1 = 1) ||
      uv_cond_init(&s->space_cv) != 0 || !(c2 = 1) ||
      uv_cond_init(&s->done_cv) != 0 || !(c3 = 1)) {
    rc = ck_failf(err, CK_ERR_INTERNAL, "store: cannot create locks");
    goto out;
  }
  rc = ck__store_sqlite_open(opts, &s->ops, &s->be, err);
  if (rc != CK_OK)
    goto out;
  if (uv_thread_create(&s->writer, writer_main, s) != 0) {
    rc = ck_failf(err, CK_ERR_INTERNAL, "store: cannot start writer thread");
    goto out;
  }
  s->writer_started = 1;
  *out = s;
  s = NULL;
  rc = CK_OK;
out:
  if (s != NULL) {
    if (s->be != NULL)
      s->ops->close(s->be);
    if (c3)
      uv_cond_destroy(&s->done_cv);
    if (c2)
      uv_cond_destroy(&s->space_cv);
    if (c1)
      uv_cond_destroy(&s->work_cv);
    if (mu)
      uv_mutex_destroy(&s->mu);
    free(s->batch);
    free(s);
  }
  return rc;
}

void ck_store_close(ck_store *s) {
  if (s == NULL)
    return;
  uv_mutex_lock(&s->mu);
  s->closing = 1;
  uv_cond_broadcast(&s->work_cv);
  uv_cond_broadcast(&s->space_cv);
  uv_mutex_unlock(&s->mu);
  if (s->writer_started)
    uv_thread_join(&s->writer);
  s->ops->close(s->be);
  uv_cond_destroy(&s->done_cv);
  uv_cond_destroy(&s->space_cv);
  uv_cond_destroy(&s->work_cv);
  uv_mutex_destroy(&s->mu);
  free(s->batch);
  free(s);
}

const char *ck_store_backend_name(const ck_store *s) {
  return s != NULL ? s->ops->name : "none";
}

const ck__store_backend *ck__store_ops(const ck_store *s) {
  return s->ops;
}

void *ck__store_be(const ck_store *s) {
  return s->be;
}

void ck_store_get_stats(ck_store *s, ck_store_stats *out) {
  uv_mutex_lock(&s->mu);
  *out = s->stats;
  out->queued = s->queued;
  uv_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------- submit */

/* Appends w to the queue; called with s->mu held. */
static void enqueue_locked(ck_store *s, ck_store_write *w) {
  w->next = NULL;
  if (s->tail != NULL)
    s->tail->next = w;
  else
    s->head = w;
  s->tail = w;
  s->queued++;
  uv_cond_signal(&s->work_cv);
}

static ck_err check_write(const ck_store_write *w) {
  if (w == NULL || w->n_ops == 0 || w->submitted)
    return CK_ERR_INVAL;
  return CK_OK;
}

static ck_err submit(ck_store *s, ck_store_write *w, ck_store_done_fn cb,
                     void *arg, ck_store_loop *l) {
  ck_err rc = CK_OK;

  if (s == NULL || check_write(w) != CK_OK)
    return CK_ERR_INVAL;
  uv_mutex_lock(&s->mu);
  if (s->closing)
    rc = CK_ERR_CLOSED;
  else if (s->queued >= s->queue_max)
    rc = CK_ERR_BUSY;
  if (rc == CK_OK) {
    w->rc = CK_OK;
    w->failed_op = 0;
    ck_errctx_clear(&w->err);
    w->submitted = 1;
    w->cb = cb;
    w->cb_arg = arg;
    w->loop = l;
    enqueue_locked(s, w);
  }
  uv_mutex_unlock(&s->mu);
  return rc;
}

ck_err ck_store_submit(ck_store *s, ck_store_write *w, ck_store_done_fn cb,
                       void *arg) {
  return submit(s, w, cb, arg, NULL);
}

ck_err ck_store_submit_wait(ck_store *s, ck_store_write *w, ck_errctx *err) {
  if (s == NULL || check_write(w) != CK_OK)
    return ck_failf(err, CK_ERR_INVAL,
                    "store: write is empty or already submitted");
  uv_mutex_lock(&s->mu);
  while (!s->closing && s->queued >= s->queue_max)
    uv_cond_wait(&s->space_cv, &s->mu);
  if (s->closing) {
    uv_mutex_unlock(&s->mu);
    return ck_failf(err, CK_ERR_CLOSED, "store: closing");
  }
  w->rc = CK_OK;
  w->failed_op = 0;
  ck_errctx_clear(&w->err);
  w->submitted = 1;
  w->cb = wait_marker;
  w->cb_arg = NULL;
  w->loop = NULL;
  enqueue_locked(s, w);
  while (w->submitted)
    uv_cond_wait(&s->done_cv, &s->mu);
  uv_mutex_unlock(&s->mu);
  if (w->rc != CK_OK)
    return ck_failf(err, w->rc, "%s", ck_errctx_msg(&w->err));
  return CK_OK;
}

/* ------------------------------------------------------------ loop channel */

static void on_loop_async(uv_async_t *h) {
  ck_store_loop *l = h->data;
  ck_store_write *w, *next;

  uv_mutex_lock(&l->mu);
  w = l->head;
  l->head = l->tail = NULL;
  uv_mutex_unlock(&l->mu);
  for (; w != NULL; w = next) {
    ck_store_done_fn cb = w->cb;
    void *arg = w->cb_arg;

    next = w->next;
    w->next = NULL;
    w->submitted = 0;
    w->loop = NULL;
    l->inflight--;
    if (cb != NULL)
      cb(w, w->rc, arg); /* may free w */
  }
}

ck_err ck_store_loop_open(ck_store *s, uv_loop_t *loop, ck_store_loop **out,
                          ck_errctx *err) {
  ck_store_loop *l;

  if (s == NULL || loop == NULL || out == NULL)
    return ck_failf(err, CK_ERR_INVAL, "store: loop channel needs a loop");
  l = calloc(1, sizeof *l);
  if (l == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "store: out of memory");
  if (uv_mutex_init(&l->mu) != 0) {
    free(l);
    return ck_failf(err, CK_ERR_INTERNAL, "store: cannot create a lock");
  }
  if (uv_async_init(loop, &l->async, on_loop_async) != 0) {
    uv_mutex_destroy(&l->mu);
    free(l);
    return ck_failf(err, CK_ERR_INTERNAL, "store: cannot create uv_async");
  }
  l->async.data = l;
  l->store = s;
  *out = l;
  return CK_OK;
}

ck_err ck_store_submit_loop(ck_store_loop *l, ck_store_write *w,
                            ck_store_done_fn cb, void *arg) {
  ck_err rc;

  if (l == NULL || l->closing)
    return CK_ERR_INVAL;
  rc = submit(l->store, w, cb, arg, l);
  if (rc == CK_OK)
    l->inflight++;
  return rc;
}

static void on_loop_closed(uv_handle_t *h) {
  ck_store_loop *l = h->data;

  uv_mutex_destroy(&l->mu);
  free(l);
}

ck_err ck_store_loop_close(ck_store_loop *l) {
  if (l == NULL)
    return CK_OK;
  if (l->inflight > 0)
    return CK_ERR_BUSY;
  l->closing = 1;
  uv_close((uv_handle_t *)&l->async, on_loop_closed);
  return CK_OK;
}
