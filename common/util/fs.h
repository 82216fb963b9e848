/* fs.h — file helpers: atomic replace, bounded reads, owner and mode.
 *
 * Certificates and keys are installed by writing a temporary file in the
 * target's directory, fsyncing it, renaming it over the target and fsyncing
 * the directory, so a crash leaves either the old or the new file, never a
 * torn one. */
#ifndef CK_UTIL_FS_H
#define CK_UTIL_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util/err.h"

/* Atomically replaces (or creates) path with len bytes of data, created with
 * mode (e.g. 0600 for keys, 0644 for certificates). The mode is set before
 * any byte is written, so a key is never readable by others even briefly. */
ck_err ck_fs_write_atomic(const char *path, const void *data, size_t len,
                          mode_t mode, ck_errctx *err);

/* Reads the whole file at path, refusing files over max bytes. On success
 * *out is a malloc'ed buffer (caller frees) with a NUL after the *len bytes. */
ck_err ck_fs_read_file(const char *path, size_t max, uint8_t **out,
                       size_t *len, ck_errctx *err);

/* Sets owner and group by name (NULL keeps the current one) on path. */
ck_err ck_fs_set_owner(const char *path, const char *user, const char *group,
                       ck_errctx *err);

/* Sets the permission bits of path. */
ck_err ck_fs_set_mode(const char *path, mode_t mode, ck_errctx *err);

/* Creates directory path (and missing parents) with mode; existing is OK. */
ck_err ck_fs_mkdir_p(const char *path, mode_t mode, ck_errctx *err);

#endif
