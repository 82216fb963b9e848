/* fs.c — atomic file replace, bounded reads, owner and mode (see fs.h). */
#include "common/util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util/clock.h"
#include "common/util/mem.h"

static ck_err errno_fail(ck_errctx *err, const char *what, const char *path) {
  int e = errno;
  return ck_failf(err, ck_err_from_errno(-e), "%s %s: %s", what, path,
                  strerror(e));
}

/* Splits path into its directory ("." when there is none). */
static void dir_of(const char *path, char *dir, size_t len) {
  const char *slash = strrchr(path, '/');

  if (slash == NULL) {
    ck_strlcpy(dir, ".", len);
  } else if (slash == path) {
    ck_strlcpy(dir, "/", len);
  } else {
    size_t n = (size_t)(slash - path);
    if (n >= len)
      n = len - 1;
    memcpy(dir, path, n);
    dir[n] = '\0';
  }
}

ck_err ck_fs_write_atomic(const char *path, const void *data, size_t len,
                          mode_t mode, ck_errctx *err) {
  char dir[PATH_MAX], tmp[PATH_MAX];
  uint8_t rnd[8];
  char rhex[17];
  const uint8_t *p = data;
  ck_err rc = CK_OK;
  int fd = -1, dfd = -1, tries;
  size_t off = 0;
  ssize_t n;

  if (strlen(path) + 24 >= sizeof tmp)
    return ck_failf(err, CK_ERR_RANGE, "path too long: %s", path);
  dir_of(path, dir, sizeof dir);
  for (tries = 0; tries < 8 && fd < 0; tries++) {
    if ((rc = ck_random(rnd, sizeof rnd)) != CK_OK)
      return ck_failf(err, rc, "random name for %s", path);
    ck_hex_encode(rnd, sizeof rnd, rhex);
    snprintf(tmp, sizeof tmp, "%s.ck-%s.tmp", path, rhex);
    /* O_EXCL + mode at creation: the file is never more readable than mode. */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
              mode & 0777);
    if (fd < 0 && errno != EEXIST) {
      rc = errno_fail(err, "create", tmp);
      goto out;
    }
  }
  if (fd < 0) {
    rc = ck_failf(err, CK_ERR_EXIST, "no free temporary name next to %s", path);
    goto out;
  }
  /* umask may have cleared bits we asked for; set exactly mode. */
  if (fchmod(fd, mode & 07777) != 0) {
    rc = errno_fail(err, "chmod", tmp);
    goto out;
  }
  while (off < len) {
    n = write(fd, p + off, len - off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      rc = errno_fail(err, "write", tmp);
      goto out;
    }
    off += (size_t)n;
  }
  if (fsync(fd) != 0) {
    rc = errno_fail(err, "fsync", tmp);
    goto out;
  }
  if (close(fd) != 0) {
    fd = -1;
    rc = errno_fail(err, "close", tmp);
    goto out;
  }
  fd = -1;
  if (rename(tmp, path) != 0) {
    rc = errno_fail(err, "rename onto", path);
    goto out;
  }
  tmp[0] = '\0'; /* renamed: nothing to unlink */
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || fsync(dfd) != 0) {
    rc = errno_fail(err, "fsync directory", dir);
    goto out;
  }
out:
  if (fd >= 0)
    close(fd);
  if (dfd >= 0)
    close(dfd);
  if (rc != CK_OK && tmp[0] != '\0')
    unlink(tmp);
  return rc;
}

ck_err ck_fs_read_file(const char *path, size_t max, uint8_t **out,
                       size_t *len, ck_errctx *err) {
  ck_err rc = CK_OK;
  uint8_t *buf = NULL;
  size_t cap = 0, used = 0;
  struct stat st;
  int sized;
  ssize_t n;
  int fd;

  *out = NULL;
  *len = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_fail(err, "open", path);
  if (fstat(fd, &st) != 0) {
    rc = errno_fail(err, "stat", path);
    goto out;
  }
  if (S_ISDIR(st.st_mode)) {
    rc = ck_failf(err, CK_ERR_INVAL, "%s: is a directory", path);
    goto out;
  }
  if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
    rc = ck_failf(err, CK_ERR_LIMIT, "%s: larger than %zu bytes", path, max);
    goto out;
  }
  /* Regular files with a size get one allocation of that size (+2 detects
   * growth), so a key read here leaves no stray copies in freed memory.
   * Others (/proc, pipes) grow by copy-and-wipe. */
  sized = S_ISREG(st.st_mode) && st.st_size > 0;
  cap = sized ? (size_t)st.st_size + 2 : 4096;
  if (cap > max + 2)
    cap = max + 2;
  buf = malloc(cap);
  if (buf == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "reading %s", path);
    goto out;
  }
  for (;;) {
    if (used == cap - 1) {
      uint8_t *nb;
      size_t ncap;
      if (used > max) {
        rc = ck_failf(err, CK_ERR_LIMIT, "%s: larger than %zu bytes", path, max);
        goto out;
      }
      if (sized) {
        rc = ck_failf(err, CK_ERR_BUSY, "%s: changed while being read", path);
        goto out;
      }
      ncap = cap * 2 > max + 2 ? max + 2 : cap * 2;
      nb = malloc(ncap);
      if (nb == NULL) {
        rc = ck_failf(err, CK_ERR_NOMEM, "reading %s", path);
        goto out;
      }
      memcpy(nb, buf, used);
      ck_wipe(buf, cap);
      free(buf);
      buf = nb;
      cap = ncap;
    }
    n = read(fd, buf + used, cap - 1 - used);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      rc = errno_fail(err, "read", path);
      goto out;
    }
    if (n == 0)
      break;
    used += (size_t)n;
  }
  if (used > max) {
    rc = ck_failf(err, CK_ERR_LIMIT, "%s: larger than %zu bytes", path, max);
    goto out;
  }
  buf[used] = '\0';
  *out = buf;
  *len = used;
  buf = NULL;
out:
  close(fd);
  if (buf != NULL) {
    ck_wipe(buf, cap);
    free(buf);
  }
  return rc;
}

ck_err ck_fs_set_owner(const char *path, const char *user, const char *group,
                       ck_errctx *err) {
  uid_t uid = (uid_t)-1;
  gid_t gid = (gid_t)-1;
  struct passwd *pw;
  struct group *gr;

  if (user != NULL) {
    pw = getpwnam(user);
    if (pw == NULL)
      return ck_failf(err, CK_ERR_NOENT, "no such user '%s'", user);
    uid = pw->pw_uid;
  }
  if (group != NULL) {
    gr = getgrnam(group);
    if (gr == NULL)
      return ck_failf(err, CK_ERR_NOENT, "no such group '%s'", group);
    gid = gr->gr_gid;
  }
  if (lchown(path, uid, gid) != 0)
    return errno_fail(err, "chown", path);
  return CK_OK;
}

ck_err ck_fs_set_mode(const char *path, mode_t mode, ck_errctx *err) {
  if (chmod(path, mode & 07777) != 0)
    return errno_fail(err, "chmod", path);
  return CK_OK;
}

ck_err ck_fs_mkdir_p(const char *path, mode_t mode, ck_errctx *err) {
  char buf[PATH_MAX];
  size_t i, n = ck_strlcpy(buf, path, sizeof buf);
  struct stat st;

  if (n >= sizeof buf)
    return ck_failf(err, CK_ERR_RANGE, "path too long: %s", path);
  for (i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0')
      continue;
    buf[i] = '\0';
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
      return errno_fail(err, "mkdir", buf);
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
      return ck_failf(err, CK_ERR_EXIST, "%s exists and is not a directory", buf);
    if (i < n)
      buf[i] = '/';
  }
  return CK_OK;
}
