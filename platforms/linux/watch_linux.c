/* watch_linux.c — ck_watch on inotify.
 *
 * One inotify descriptor per watcher, non-blocking, polled by the loop with a
 * uv_poll_t: nothing runs while nothing changes. Events are collected in a
 * pending list keyed by path (the latest event decides CHANGED or REMOVED)
 * and flushed by a short debounce timer that only runs while the list is
 * non-empty: each new event pushes the flush CK_WATCH_QUIET_MS further, but
 * never beyond CK_WATCH_MAX_DELAY_MS after the first one, so a file written
 * in many small writes is reported once and a steady stream of changes is
 * still reported in time. A kernel queue overflow, or more than
 * CK_WATCH_MAX_PENDING distinct paths in one batch, is reported as a single
 * CK_WATCH_OVERFLOW (the caller rescans). */
#include "platforms/watch.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define CK_WATCH_QUIET_MS 100
#define CK_WATCH_MAX_DELAY_MS 400
#define CK_WATCH_MAX_PENDING 4096

#define WATCH_MASK                                                             \
  (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |      \
   IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

typedef struct wdir {
  int wd;     /* inotify watch descriptor */
  char *path; /* as given to ck_watch_add; owned */
} wdir;

typedef struct pending {
  char *path;     /* owned */
  unsigned flags; /* CK_WATCH_CHANGED or CK_WATCH_REMOVED */
} pending;

struct ck_watch {
  uv_loop_t *loop;
  ck_watch_cb cb;
  void *arg;
  int fd;           /* inotify descriptor, closed after the poll handle */
  uv_poll_t poll;   /* readable inotify fd */
  uv_timer_t timer; /* debounce; active only while pending is non-empty */
  int open_handles; /* handles not yet closed; freed at 0 */
  int closing;      /* ck_watch_close called */
  wdir *dirs;       /* watched directories */
  size_t ndirs, capdirs;
  pending *pend; /* coalesced changes not yet reported */
  size_t npend, cappend;
  int overflow;      /* events lost: report CK_WATCH_OVERFLOW */
  uint64_t first_ms; /* loop time of the first pending event */
};

const char *ck_watch_backend(void) {
  return "inotify";
}

static void on_handle_closed(uv_handle_t *h) {
  ck_watch *w = h->data;

  if (--w->open_handles > 0)
    return;
  if (w->fd >= 0)
    close(w->fd);
  for (size_t i = 0; i < w->ndirs; i++)
    free(w->dirs[i].path);
  for (size_t i = 0; i < w->npend; i++)
    free(w->pend[i].path);
  free(w->dirs);
  free(w->pend);
  free(w);
}

static void clear_pending(ck_watch *w) {
  for (size_t i = 0; i < w->npend; i++)
    free(w->pend[i].path);
  w->npend = 0;
}

/* Reports the batch. The list is detached first: the callback may add or
 * remove directories or close the watcher. */
static void on_timer(uv_timer_t *t) {
  ck_watch *w = t->data;
  pending *p = w->pend;
  size_t n = w->npend;
  int overflow = w->overflow;

  w->pend = NULL;
  w->npend = w->cappend = 0;
  w->overflow = 0;
  if (overflow && !w->closing)
    w->cb(w, NULL, CK_WATCH_OVERFLOW, w->arg);
  for (size_t i = 0; i < n; i++) {
    if (!overflow && !w->closing)
      w->cb(w, p[i].path, p[i].flags, w->arg);
    free(p[i].path);
  }
  free(p);
}

static void schedule(ck_watch *w) {
  uint64_t now = uv_now(w->loop), delay = CK_WATCH_QUIET_MS;

  if (!uv_is_active((uv_handle_t *)&w->timer))
    w->first_ms = now;
  else if (now >= w->first_ms + CK_WATCH_MAX_DELAY_MS)
    delay = 0;
  else if (w->first_ms + CK_WATCH_MAX_DELAY_MS - now < delay)
    delay = w->first_ms + CK_WATCH_MAX_DELAY_MS - now;
  uv_timer_start(&w->timer, on_timer, delay, 0);
}

static void mark_overflow(ck_watch *w) {
  w->overflow = 1;
  clear_pending(w);
  schedule(w);
}

/* Queues path (taking ownership) with flags; the latest event wins. */
static void queue_path(ck_watch *w, char *path, unsigned flags) {
  if (w->overflow) {
    free(path);
    return;
  }
  for (size_t i = 0; i < w->npend; i++) {
    if (strcmp(w->pend[i].path, path) == 0) {
      w->pend[i].flags = flags;
      free(path);
      schedule(w);
      return;
    }
  }
  if (w->npend >= CK_WATCH_MAX_PENDING) {
    free(path);
    mark_overflow(w);
    return;
  }
  if (w->npend == w->cappend) {
    size_t cap = w->cappend ? w->cappend * 2 : 16;
    pending *np = realloc(w->pend, cap * sizeof *np);
    if (np == NULL) {
      free(path);
      mark_overflow(w); /* lost the event: let the caller rescan */
      return;
    }
    w->pend = np;
    w->cappend = cap;
  }
  w->pend[w->npend].path = path;
  w->pend[w->npend].flags = flags;
  w->npend++;
  schedule(w);
}

static wdir *find_wd(ck_watch *w, int wd) {
  for (size_t i = 0; i < w->ndirs; i++)
    if (w->dirs[i].wd == wd)
      return &w->dirs[i];
  return NULL;
}

static void drop_dir(ck_watch *w, wdir *d) {
  size_t i = (size_t)(d - w->dirs);

  free(d->path);
  w->dirs[i] = w->dirs[--w->ndirs];
}

static void handle_event(ck_watch *w, const struct inotify_event *ev) {
  wdir *d;
  char *path;
  size_t dl, nl;

  if (ev->mask & IN_Q_OVERFLOW) {
    mark_overflow(w);
    return;
  }
  if ((d = find_wd(w, ev->wd)) == NULL)
    return; /* removed by ck_watch_remove; late events */
  if (ev->mask & IN_IGNORED) {
    drop_dir(w, d); /* the kernel dropped the watch (directory deleted) */
    return;
  }
  if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
    path = strdup(d->path);
    if (ev->mask & IN_MOVE_SELF) {
      /* The inode lives on under a name we do not know: stop following. */
      inotify_rm_watch(w->fd, d->wd);
      drop_dir(w, d);
    }
    if (path == NULL)
      mark_overflow(w);
    else
      queue_path(w, path, CK_WATCH_REMOVED);
    return;
  }
  if (ev->len == 0 || ev->name[0] == '\0')
    return;
  dl = strlen(d->path);
  nl = strnlen(ev->name, ev->len);
  if ((path = malloc(dl + nl + 2)) == NULL) {
    mark_overflow(w);
    return;
  }
  memcpy(path, d->path, dl);
  /* "/" + "x" must not become "//x" */
  if (dl == 0 || path[dl - 1] != '/')
    path[dl++] = '/';
  memcpy(path + dl, ev->name, nl);
  path[dl + nl] = '\0';
  queue_path(w, path,
             (ev->mask & (IN_DELETE | IN_MOVED_FROM)) ? CK_WATCH_REMOVED
                                                      : CK_WATCH_CHANGED);
}

static void on_readable(uv_poll_t *p, int status, int events) {
  ck_watch *w = p->data;
  /* aligned for struct inotify_event, room for many events per read */
  char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
  ssize_t r;

  if (status < 0) {
    mark_overflow(w);
    return;
  }
  for (int rounds = 0; rounds < 64 && !w->closing; rounds++) {
    r = read(w->fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break; /* EAGAIN: drained */
    for (char *q = buf; q < buf + r;) {
      const struct inotify_event *ev = (const struct inotify_event *)q;
      size_t sz = sizeof *ev + ev->len;
      if ((size_t)(buf + r - q) < sz)
        break; /* the kernel never splits events; be safe anyway */
      handle_event(w, ev);
      q += sz;
    }
  }
}

ck_err ck_watch_new(uv_loop_t *loop, ck_watch_cb cb, void *arg, ck_watch **out,
                    ck_errctx *err) {
  ck_watch *w = NULL;
  int r;

  *out = NULL;
  if (loop == NULL || cb == NULL)
    return ck_failf(err, CK_ERR_INVAL, "watch: loop and callback required");
  if ((w = calloc(1, sizeof *w)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "watch: out of memory");
  w->loop = loop;
  w->cb = cb;
  w->arg = arg;
  w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (w->fd < 0) {
    int e = errno;
    free(w);
    return ck_failf(err, e == EMFILE ? CK_ERR_LIMIT : ck_err_from_errno(-e),
                    "watch: inotify_init1: %s%s", strerror(e),
                    e == EMFILE ? " (fs.inotify.max_user_instances)" : "");
  }
  if ((r = uv_poll_init(loop, &w->poll, w->fd)) < 0) {
    close(w->fd);
    free(w);
    return ck_failf(err, CK_ERR_IO, "watch: uv_poll_init: %s", uv_strerror(r));
  }
  uv_timer_init(loop, &w->timer);
  w->poll.data = w->timer.data = w;
  w->open_handles = 2;
  if ((r = uv_poll_start(&w->poll, UV_READABLE, on_readable)) < 0) {
    ck_watch_close(w);
    return ck_failf(err, CK_ERR_IO, "watch: uv_poll_start: %s", uv_strerror(r));
  }
  *out = w;
  return CK_OK;
}

ck_err ck_watch_add(ck_watch *w, const char *dir, ck_errctx *err) {
  struct stat st;
  int wd, e;
  char *copy;

  if (w == NULL || w->closing || dir == NULL || dir[0] == '\0')
    return ck_failf(err, CK_ERR_INVAL, "watch: no directory");
  for (size_t i = 0; i < w->ndirs; i++)
    if (strcmp(w->dirs[i].path, dir) == 0)
      return CK_OK;
  wd = inotify_add_watch(w->fd, dir, WATCH_MASK);
  if (wd < 0) {
    e = errno;
    if (e == ENOTDIR ||
        (e != ENOENT && stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)))
      return ck_failf(err, CK_ERR_INVAL, "watch %s: not a directory", dir);
    if (e == ENOSPC)
      return ck_failf(err, CK_ERR_LIMIT,
                      "watch %s: too many watches (raise "
                      "fs.inotify.max_user_watches)",
                      dir);
    return ck_failf(err, ck_err_from_errno(-e), "watch %s: %s", dir,
                    strerror(e));
  }
  if (find_wd(w, wd) != NULL)
    return CK_OK; /* same directory under another name (symlink) */
  if (w->ndirs == w->capdirs) {
    size_t cap = w->capdirs ? w->capdirs * 2 : 8;
    wdir *nd = realloc(w->dirs, cap * sizeof *nd);
    if (nd == NULL) {
      inotify_rm_watch(w->fd, wd);
      return ck_failf(err, CK_ERR_NOMEM, "watch %s: out of memory", dir);
    }
    w->dirs = nd;
    w->capdirs = cap;
  }
  if ((copy = strdup(dir)) == NULL) {
    inotify_rm_watch(w->fd, wd);
    return ck_failf(err, CK_ERR_NOMEM, "watch %s: out of memory", dir);
  }
  w->dirs[w->ndirs].wd = wd;
  w->dirs[w->ndirs].path = copy;
  w->ndirs++;
  return CK_OK;
}

void ck_watch_remove(ck_watch *w, const char *dir) {
  if (w == NULL || dir == NULL)
    return;
  for (size_t i = 0; i < w->ndirs; i++) {
    if (strcmp(w->dirs[i].path, dir) == 0) {
      inotify_rm_watch(w->fd, w->dirs[i].wd);
      drop_dir(w, &w->dirs[i]);
      return;
    }
  }
}

void ck_watch_close(ck_watch *w) {
  if (w == NULL || w->closing)
    return;
  w->closing = 1;
  uv_close((uv_handle_t *)&w->poll, on_handle_closed);
  uv_close((uv_handle_t *)&w->timer, on_handle_closed);
}
