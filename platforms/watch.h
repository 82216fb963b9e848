/* watch.h — directory watching for the agent's priv process.
 *
 * A ck_watch reports changes to the entries of a set of directories (not
 * recursive): a file written and closed, created, renamed in or out,
 * removed, or whose mode/owner changed. Bursts are coalesced so that one
 * change is reported once, well within a second. On Linux the backend is
 * inotify driven by the loop (no timer runs while nothing happens); the
 * POSIX fallback stats the entries of every watched directory once a second.
 *
 * Directories are watched, not files: to follow a configured file, watch its
 * parent and compare the reported path. New subdirectories are reported like
 * any entry but are not watched automatically; callers add them. */
#ifndef CK_PLATFORM_WATCH_H
#define CK_PLATFORM_WATCH_H

#include <uv.h>

#include "common/util/err.h"

typedef struct ck_watch ck_watch;

enum {
  CK_WATCH_CHANGED = 1, /* the entry exists and may have changed */
  CK_WATCH_REMOVED = 2, /* the entry is gone (deleted or renamed away); for
                           a watched directory itself, its watch is dropped */
  CK_WATCH_OVERFLOW = 4 /* events were lost: rescan everything (path NULL) */
};

/* Called on the loop thread for each coalesced change. path is "dir/name"
 * (dir as given to ck_watch_add), or the watched directory itself when it
 * was removed or renamed away, or NULL with CK_WATCH_OVERFLOW. flags is one
 * of the values above. path is borrowed for the duration of the call. The
 * callback may call ck_watch_add, ck_watch_remove and ck_watch_close. */
typedef void (*ck_watch_cb)(ck_watch *w, const char *path, unsigned flags,
                            void *arg);

/* Creates a watcher on loop. *out is owned by the caller and released with
 * ck_watch_close. cb is never called from within ck_watch_* functions, only
 * from the loop. */
ck_err ck_watch_new(uv_loop_t *loop, ck_watch_cb cb, void *arg, ck_watch **out,
                    ck_errctx *err);

/* Starts watching the entries of directory dir (copied). Adding a directory
 * already watched is a no-op. CK_ERR_NOENT when dir does not exist,
 * CK_ERR_INVAL when it is not a directory, CK_ERR_LIMIT when the system's
 * watch limit is reached (Linux: fs.inotify.max_user_watches). */
ck_err ck_watch_add(ck_watch *w, const char *dir, ck_errctx *err);

/* Stops watching dir (the same string given to ck_watch_add); unknown
 * directories are ignored. Changes already queued may still be reported. */
void ck_watch_remove(ck_watch *w, const char *dir);

/* "inotify" or "poll": which backend this build uses (static string). */
const char *ck_watch_backend(void);

/* Stops all watching and frees w asynchronously (its libuv handles close on
 * the next loop iteration). No callback is made after this call. NULL is a
 * no-op. */
void ck_watch_close(ck_watch *w);

#endif
