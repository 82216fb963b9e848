/* watch_posix.c — ck_watch by polling, for systems without inotify.
 *
 * Each watched directory keeps a snapshot of its entries (name, inode, size,
 * mode, owner, modification and change times, from stat through libuv so
 * nanoseconds are portable). One repeating timer, running only while at
 * least one directory is watched, rescans every directory each
 * CK_WATCH_POLL_MS and reports entries that appeared or changed
 * (CK_WATCH_CHANGED) and entries that disappeared (CK_WATCH_REMOVED). A
 * directory that can no longer be listed is reported as removed and dropped.
 * The scans are synchronous filesystem calls on the loop thread: cheap for
 * the few hundred entries of certificate directories, and the price of not
 * having kernel notifications. */
#include "platforms/watch.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#define CK_WATCH_POLL_MS 1000
/* Entries followed per directory (the first ones in name order, as libuv's
 * scandir sorts); the rest of a larger directory is not watched. */
#define CK_WATCH_MAX_ENTRIES 65536

typedef struct pentry {
  char *name; /* owned */
  uint64_t ino, size, mode, uid, gid;
  uv_timespec_t mtim, ctim;
  int seen; /* scratch during a rescan */
} pentry;

typedef struct pdir {
  char *path; /* as given to ck_watch_add; owned */
  pentry *ents;
  size_t n;
} pdir;

struct ck_watch {
  uv_loop_t *loop;
  ck_watch_cb cb;
  void *arg;
  uv_timer_t timer; /* the poll tick */
  int closing;      /* ck_watch_close called */
  pdir *dirs;
  size_t ndirs, capdirs;
};

const char *ck_watch_backend(void) {
  return "poll";
}

static void free_entries(pentry *e, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(e[i].name);
  free(e);
}

static void on_closed(uv_handle_t *h) {
  ck_watch *w = h->data;

  for (size_t i = 0; i < w->ndirs; i++) {
    free(w->dirs[i].path);
    free_entries(w->dirs[i].ents, w->dirs[i].n);
  }
  free(w->dirs);
  free(w);
}

/* "dir/name" in a malloc'ed string, NULL on OOM. */
static char *join(const char *dir, const char *name) {
  size_t dl = strlen(dir), nl = strlen(name);
  char *p = malloc(dl + nl + 2);

  if (p == NULL)
    return NULL;
  memcpy(p, dir, dl);
  if (dl == 0 || p[dl - 1] != '/')
    p[dl++] = '/';
  memcpy(p + dl, name, nl + 1);
  return p;
}

static int stat_entry(uv_loop_t *loop, const char *dir, const char *name,
                      pentry *e) {
  char *path = join(dir, name);
  uv_fs_t req;
  int r;

  if (path == NULL)
    return UV_ENOMEM;
  r = uv_fs_stat(loop, &req, path, NULL);
  if (r < 0) { /* dangling symlink: describe the link itself */
    uv_fs_req_cleanup(&req);
    r = uv_fs_lstat(loop, &req, path, NULL);
  }
  if (r == 0) {
    e->ino = req.statbuf.st_ino;
    e->size = req.statbuf.st_size;
    e->mode = req.statbuf.st_mode;
    e->uid = req.statbuf.st_uid;
    e->gid = req.statbuf.st_gid;
    e->mtim = req.statbuf.st_mtim;
    e->ctim = req.statbuf.st_ctim;
  }
  uv_fs_req_cleanup(&req);
  free(path);
  return r;
}

/* Lists dir into a fresh snapshot. Returns 0 or a negative libuv error. */
static int snapshot(uv_loop_t *loop, const char *dir, pentry **out,
                    size_t *nout) {
  uv_fs_t req;
  uv_dirent_t ent;
  pentry *ents = NULL, *ne;
  size_t n = 0, cap = 0;
  int r;

  *out = NULL;
  *nout = 0;
  r = uv_fs_scandir(loop, &req, dir, 0, NULL);
  if (r < 0) {
    uv_fs_req_cleanup(&req);
    return r;
  }
  while (uv_fs_scandir_next(&req, &ent) == 0) {
    if (n >= CK_WATCH_MAX_ENTRIES) {
      r = UV_E2BIG;
      break;
    }
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      if ((ne = realloc(ents, cap * sizeof *ne)) == NULL) {
        r = UV_ENOMEM;
        break;
      }
      ents = ne;
    }
    memset(&ents[n], 0, sizeof ents[n]);
    if ((ents[n].name = strdup(ent.name)) == NULL) {
      r = UV_ENOMEM;
      break;
    }
    /* an entry removed between scandir and stat is simply absent */
    if (stat_entry(loop, dir, ent.name, &ents[n]) < 0) {
      free(ents[n].name);
      continue;
    }
    n++;
  }
  uv_fs_req_cleanup(&req);
  if (r < 0 && r != UV_E2BIG) {
    free_entries(ents, n);
    return r;
  }
  *out = ents;
  *nout = n;
  return r > 0 ? 0 : r;
}

static int same(const pentry *a, const pentry *b) {
  return a->ino == b->ino && a->size == b->size && a->mode == b->mode &&
         a->uid == b->uid && a->gid == b->gid &&
         a->mtim.tv_sec == b->mtim.tv_sec &&
         a->mtim.tv_nsec == b->mtim.tv_nsec &&
         a->ctim.tv_sec == b->ctim.tv_sec && a->ctim.tv_nsec == b->ctim.tv_nsec;
}

/* One change found by a rescan, delivered after the diff is complete. */
typedef struct change {
  char *path; /* owned; NULL: overflow */
  unsigned flags;
} change;

typedef struct changes {
  change *v;
  size_t n, cap;
  int overflow; /* out of memory or too many entries */
} changes;

static void add_change(changes *c, const char *dir, const char *name,
                       unsigned flags) {
  change *nv;
  char *path;

  if (c->overflow)
    return;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 16;
    if ((nv = realloc(c->v, cap * sizeof *nv)) == NULL) {
      c->overflow = 1;
      return;
    }
    c->v = nv;
    c->cap = cap;
  }
  path = name ? join(dir, name) : strdup(dir);
  if (path == NULL) {
    c->overflow = 1;
    return;
  }
  c->v[c->n].path = path;
  c->v[c->n].flags = flags;
  c->n++;
}

/* Rescans directory i and appends what changed to c. A directory that can
 * no longer be listed is dropped and reported itself as removed (the
 * contract of inotify's DELETE_SELF). No callback runs here. */
static void rescan(ck_watch *w, size_t i, changes *c) {
  const char *dir = w->dirs[i].path;
  pentry *cur = NULL, *old = w->dirs[i].ents;
  size_t ncur = 0, nold = w->dirs[i].n;
  int r = snapshot(w->loop, dir, &cur, &ncur);

  if (r < 0 && r != UV_E2BIG) {
    add_change(c, dir, NULL, CK_WATCH_REMOVED);
    free(w->dirs[i].path);
    free_entries(old, nold);
    w->dirs[i] = w->dirs[--w->ndirs];
    return;
  }
  for (size_t k = 0; k < nold; k++)
    old[k].seen = 0;
  for (size_t j = 0; j < ncur; j++) {
    size_t k;
    for (k = 0; k < nold; k++)
      if (!old[k].seen && strcmp(old[k].name, cur[j].name) == 0)
        break;
    if (k == nold) {
      add_change(c, dir, cur[j].name, CK_WATCH_CHANGED);
      continue;
    }
    old[k].seen = 1;
    if (!same(&old[k], &cur[j]))
      add_change(c, dir, cur[j].name, CK_WATCH_CHANGED);
  }
  for (size_t k = 0; k < nold; k++)
    if (!old[k].seen)
      add_change(c, dir, old[k].name, CK_WATCH_REMOVED);
  free_entries(old, nold);
  w->dirs[i].ents = cur;
  w->dirs[i].n = ncur;
}

static void on_tick(uv_timer_t *t) {
  ck_watch *w = t->data;
  changes c = {0};

  /* Diff every directory first, then report: the callbacks may add or
   * remove directories or close the watcher. Scanning from the end keeps
   * the index valid when rescan drops a directory (swap with the last). */
  for (size_t i = w->ndirs; i-- > 0;)
    rescan(w, i, &c);
  if (c.overflow && !w->closing)
    w->cb(w, NULL, CK_WATCH_OVERFLOW, w->arg);
  for (size_t i = 0; i < c.n; i++) {
    if (!c.overflow && !w->closing)
      w->cb(w, c.v[i].path, c.v[i].flags, w->arg);
    free(c.v[i].path);
  }
  free(c.v);
  if (!w->closing && w->ndirs == 0)
    uv_timer_stop(&w->timer);
}

ck_err ck_watch_new(uv_loop_t *loop, ck_watch_cb cb, void *arg, ck_watch **out,
                    ck_errctx *err) {
  ck_watch *w;

  *out = NULL;
  if (loop == NULL || cb == NULL)
    return ck_failf(err, CK_ERR_INVAL, "watch: loop and callback required");
  if ((w = calloc(1, sizeof *w)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "watch: out of memory");
  w->loop = loop;
  w->cb = cb;
  w->arg = arg;
  uv_timer_init(loop, &w->timer);
  w->timer.data = w;
  *out = w;
  return CK_OK;
}

ck_err ck_watch_add(ck_watch *w, const char *dir, ck_errctx *err) {
  uv_fs_t req;
  pdir *nd;
  pentry *ents = NULL;
  size_t n = 0;
  char *copy;
  int r, isdir;

  if (w == NULL || w->closing || dir == NULL || dir[0] == '\0')
    return ck_failf(err, CK_ERR_INVAL, "watch: no directory");
  for (size_t i = 0; i < w->ndirs; i++)
    if (strcmp(w->dirs[i].path, dir) == 0)
      return CK_OK;
  r = uv_fs_stat(w->loop, &req, dir, NULL);
  isdir = r == 0 && (req.statbuf.st_mode & S_IFMT) == S_IFDIR;
  uv_fs_req_cleanup(&req);
  if (r < 0)
    return ck_failf(err, ck_err_from_errno(r), "watch %s: %s", dir,
                    uv_strerror(r));
  if (!isdir)
    return ck_failf(err, CK_ERR_INVAL, "watch %s: not a directory", dir);
  r = snapshot(w->loop, dir, &ents, &n);
  if (r < 0 && r != UV_E2BIG)
    return ck_failf(err, ck_err_from_errno(r), "watch %s: %s", dir,
                    uv_strerror(r));
  if (w->ndirs == w->capdirs) {
    size_t cap = w->capdirs ? w->capdirs * 2 : 8;
    if ((nd = realloc(w->dirs, cap * sizeof *nd)) == NULL) {
      free_entries(ents, n);
      return ck_failf(err, CK_ERR_NOMEM, "watch %s: out of memory", dir);
    }
    w->dirs = nd;
    w->capdirs = cap;
  }
  if ((copy = strdup(dir)) == NULL) {
    free_entries(ents, n);
    return ck_failf(err, CK_ERR_NOMEM, "watch %s: out of memory", dir);
  }
  w->dirs[w->ndirs].path = copy;
  w->dirs[w->ndirs].ents = ents;
  w->dirs[w->ndirs].n = n;
  w->ndirs++;
  if (!uv_is_active((uv_handle_t *)&w->timer))
    uv_timer_start(&w->timer, on_tick, CK_WATCH_POLL_MS, CK_WATCH_POLL_MS);
  return CK_OK;
}

void ck_watch_remove(ck_watch *w, const char *dir) {
  if (w == NULL || dir == NULL)
    return;
  for (size_t i = 0; i < w->ndirs; i++) {
    if (strcmp(w->dirs[i].path, dir) == 0) {
      free(w->dirs[i].path);
      free_entries(w->dirs[i].ents, w->dirs[i].n);
      w->dirs[i] = w->dirs[--w->ndirs];
      break;
    }
  }
  if (w->ndirs == 0 && !w->closing)
    uv_timer_stop(&w->timer);
}

void ck_watch_close(ck_watch *w) {
  if (w == NULL || w->closing)
    return;
  w->closing = 1;
  uv_close((uv_handle_t *)&w->timer, on_closed);
}
