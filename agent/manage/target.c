/* target.c — journaled install, rollback and recovery of a key + certificate
 * pair (see target.h for the contract and docs/agent.md for operators).
 *
 * Invariant that makes recovery simple: while a journal exists, every
 * "<target>.ck-prev" on disk was made by the operation that wrote the
 * journal (stale ones are removed before it is written), and no target is
 * replaced before every .ck-prev link is durable. So recovery only has to
 * rename each existing .ck-prev back over its target ("restore" lines) and
 * remove targets that did not exist before ("remove" lines), whatever step
 * the process died at. rename(2) of two links to the same inode does
 * nothing, so a .ck-prev still present after its rename is unlinked.
 *
 * Journal (text, written to "<journal>.tmp", fsynced, renamed, dir fsynced):
 *   certkeeper-target-journal 1
 *   op install|rollback
 *   old <sha256 hex of the leaf being replaced, or ->
 *   new <sha256 hex of the leaf being installed, or ->
 *   restore <path>        (one per file that existed)
 *   remove <path>         (one per file that did not exist; install only)
 */
#include "agent/manage/target.h"

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

#include "common/crypto/crypto.h"
#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/mem.h"

void (*ck__target_fault)(int step) = NULL;

#define JOURNAL_MAGIC "certkeeper-target-journal 1"
#define MAX_FILES 4
#define MAX_PEM (4u * 1024u * 1024u)

typedef struct tfile {
  const char *path; /* borrowed from the ck_target_files */
  char *newp;       /* "<path>.ck-new", owned */
  char *prevp;      /* "<path>.ck-prev", owned */
  char *prevtmp;    /* "<path>.ck-prev.tmp" (copy fallback), owned */
  unsigned mode;    /* final permission bits */
  int secret;       /* content holds the private key */
  int existed;      /* the target existed when the journal was written */
  char *data;       /* new content (install only), owned */
  size_t len;
} tfile;

typedef struct op {
  int step;            /* fault-seam step counter */
  tfile f[MAX_FILES];  /* distinct target files */
  size_t n;
  char *journal;       /* owned */
  char *journal_tmp;   /* owned */
} op;

static void fault(op *o) {
  if (ck__target_fault != NULL)
    ck__target_fault(++o->step);
}

static char *cat(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = malloc(la + lb + 1);

  if (s != NULL) {
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
  }
  return s;
}

static char *dupn(const char *s, size_t n) {
  char *d = malloc(n + 1);

  if (d != NULL) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

static ck_err errno_fail(ck_errctx *err, const char *what, const char *path) {
  int e = errno;
  return ck_failf(err, ck_err_from_errno(-e), "%s %s: %s", what, path,
                  strerror(e));
}

static void dir_of(const char *path, char *dir, size_t len) {
  const char *slash = strrchr(path, '/');

  if (slash == NULL)
    ck_strlcpy(dir, ".", len);
  else if (slash == path)
    ck_strlcpy(dir, "/", len);
  else {
    size_t n = (size_t)(slash - path);
    if (n >= len)
      n = len - 1;
    memcpy(dir, path, n);
    dir[n] = '\0';
  }
}

static void op_clear(op *o) {
  size_t i;

  for (i = 0; i < o->n; i++) {
    free(o->f[i].newp);
    free(o->f[i].prevp);
    free(o->f[i].prevtmp);
    if (o->f[i].data != NULL) {
      if (o->f[i].secret)
        ck_crypto_free_secret(o->f[i].data, o->f[i].len);
      else
        free(o->f[i].data);
    }
  }
  free(o->journal);
  free(o->journal_tmp);
  memset(o, 0, sizeof *o);
}

static ck_err check_path(const char *what, const char *p, ck_errctx *err) {
  if (p == NULL || p[0] == '\0')
    return ck_failf(err, CK_ERR_INVAL, "%s: path missing", what);
  if (strchr(p, '\n') != NULL || strchr(p, '\r') != NULL)
    return ck_failf(err, CK_ERR_INVAL, "%s: path contains a line break",
                    what);
  if (strlen(p) + 16 >= PATH_MAX)
    return ck_failf(err, CK_ERR_INVAL, "%s: path too long", what);
  return CK_OK;
}

static int same(const char *a, const char *b) {
  return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static ck_err add_file(op *o, const char *path, unsigned mode, int secret,
                       ck_errctx *err) {
  tfile *f = &o->f[o->n];

  f->path = path;
  f->mode = mode & 07777;
  f->secret = secret;
  f->newp = cat(path, ".ck-new");
  f->prevp = cat(path, ".ck-prev");
  f->prevtmp = cat(path, ".ck-prev.tmp");
  o->n++;
  if (f->newp == NULL || f->prevp == NULL || f->prevtmp == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "target files");
  return CK_OK;
}

/* Builds the distinct file set of t (without contents). */
static ck_err op_init(op *o, const ck_target_files *t, ck_errctx *err) {
  unsigned cmode, kmode;
  int combined;
  ck_err rc;

  memset(o, 0, sizeof *o);
  if (t == NULL)
    return ck_failf(err, CK_ERR_INVAL, "target: no files given");
  if ((rc = check_path("cert_file", t->cert_file, err)) != CK_OK ||
      (rc = check_path("key_file", t->key_file, err)) != CK_OK)
    return rc;
  if (t->chain_file != NULL &&
      (rc = check_path("chain_file", t->chain_file, err)) != CK_OK)
    return rc;
  if (t->fullchain_file != NULL &&
      (rc = check_path("fullchain_file", t->fullchain_file, err)) != CK_OK)
    return rc;
  if (t->journal != NULL &&
      (rc = check_path("journal", t->journal, err)) != CK_OK)
    return rc;
  combined = same(t->cert_file, t->key_file);
  if (!combined && (same(t->chain_file, t->key_file) ||
                    same(t->fullchain_file, t->key_file)))
    return ck_failf(err, CK_ERR_INVAL,
                    "key_file %s is also a chain file: only cert_file may "
                    "share a file with the key",
                    t->key_file);
  if (same(t->chain_file, t->fullchain_file) &&
      !same(t->chain_file, t->cert_file))
    return ck_failf(err, CK_ERR_INVAL,
                    "chain_file and fullchain_file are the same file %s",
                    t->chain_file);
  cmode = t->cert_mode != 0 ? t->cert_mode : 0644;
  kmode = t->key_mode != 0 ? t->key_mode : 0600;
  if ((rc = add_file(o, t->cert_file, combined ? kmode : cmode, combined,
                     err)) != CK_OK)
    return rc;
  if (!combined && (rc = add_file(o, t->key_file, kmode, 1, err)) != CK_OK)
    return rc;
  if (t->chain_file != NULL && !same(t->chain_file, t->cert_file) &&
      (rc = add_file(o, t->chain_file, cmode, 0, err)) != CK_OK)
    return rc;
  if (t->fullchain_file != NULL && !same(t->fullchain_file, t->cert_file) &&
      (rc = add_file(o, t->fullchain_file, cmode, 0, err)) != CK_OK)
    return rc;
  o->journal = t->journal != NULL ? cat(t->journal, "")
                                  : cat(t->cert_file, ".ck-journal");
  if (o->journal != NULL)
    o->journal_tmp = cat(o->journal, ".tmp");
  if (o->journal == NULL || o->journal_tmp == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "target journal");
  return CK_OK;
}

/* ---- small filesystem steps, each wrapped by the fault seam ------------- */

static ck_err unlink_quiet(op *o, const char *path, int *removed,
                           ck_errctx *err) {
  int rc;

  fault(o);
  rc = unlink(path);
  fault(o);
  if (rc != 0 && errno != ENOENT)
    return errno_fail(err, "cannot remove", path);
  if (rc == 0 && removed != NULL)
    *removed = 1;
  return CK_OK;
}

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static ck_err fsync_dir(op *o, const char *path_in_dir, ck_errctx *err) {
  char dir[PATH_MAX];
  int fd, rc;

  dir_of(path_in_dir, dir, sizeof dir);
  fault(o);
  fd = open(dir, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_fail(err, "cannot open directory", dir);
  rc = fsync(fd);
  /* Some filesystems refuse fsync on a directory; the rename is then as
   * durable as the filesystem makes it. */
  if (rc != 0 && errno != EINVAL && errno != EROFS) {
    ck_err e = errno_fail(err, "cannot fsync directory", dir);
    close(fd);
    return e;
  }
  close(fd);
  fault(o);
  return CK_OK;
}

/* fsyncs each distinct directory of the files (and of the journal). */
static ck_err fsync_dirs(op *o, int with_journal, ck_errctx *err) {
  char dirs[MAX_FILES + 1][PATH_MAX];
  size_t nd = 0, i, j;
  ck_err rc;

  for (i = 0; i <= o->n; i++) {
    const char *p = i < o->n ? o->f[i].path : (with_journal ? o->journal : NULL);
    char d[PATH_MAX];
    if (p == NULL)
      continue;
    dir_of(p, d, sizeof d);
    for (j = 0; j < nd && strcmp(dirs[j], d) != 0; j++)
      ;
    if (j < nd)
      continue;
    ck_strlcpy(dirs[nd++], d, PATH_MAX);
    if ((rc = fsync_dir(o, p, err)) != CK_OK)
      return rc;
  }
  return CK_OK;
}

static ck_err write_all(int fd, const char *data, size_t len,
                        const char *path, ck_errctx *err) {
  while (len > 0) {
    ssize_t w = write(fd, data, len);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return errno_fail(err, "cannot write", path);
    }
    data += w;
    len -= (size_t)w;
  }
  return CK_OK;
}

/* Creates path (which must not exist) with exactly mode and owner before
 * any byte is written, writes data and fsyncs. open() applies the umask,
 * which can only clear bits: the fchmod on the still empty file widens a
 * certificate back to its configured mode and never makes a key readable
 * by anyone while it holds content. */
static ck_err write_new(op *o, const char *path, const char *data, size_t len,
                        unsigned mode, uid_t uid, gid_t gid, ck_errctx *err) {
  struct stat st;
  ck_err rc = CK_OK;
  int fd;

  fault(o);
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
            (mode_t)mode);
  fault(o);
  if (fd < 0)
    return errno_fail(err, "cannot create", path);
  if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) != 0) {
    rc = errno_fail(err, "cannot set owner of", path);
    goto out;
  }
  if (fstat(fd, &st) != 0) {
    rc = errno_fail(err, "cannot stat", path);
    goto out;
  }
  if ((st.st_mode & 07777) != mode && fchmod(fd, (mode_t)mode) != 0) {
    rc = errno_fail(err, "cannot set mode of", path);
    goto out;
  }
  fault(o);
  rc = write_all(fd, data, len, path, err);
  fault(o);
  if (rc != CK_OK)
    goto out;
  fault(o);
  if (fsync(fd) != 0)
    rc = errno_fail(err, "cannot fsync", path);
  fault(o);
out:
  close(fd);
  return rc;
}

/* Copies src to dst (via tmp) keeping mode and, as root, owner: the
 * fallback when hard links are not possible. */
static ck_err copy_file(op *o, const char *src, const char *tmp,
                        const char *dst, ck_errctx *err) {
  struct stat st;
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_err rc;
  int secret;

  if (lstat(src, &st) != 0)
    return errno_fail(err, "cannot stat", src);
  secret = (st.st_mode & 077) == 0;
  rc = ck_fs_read_file(src, 64u * 1024u * 1024u, &buf, &len, err);
  if (rc != CK_OK)
    return rc;
  if ((rc = unlink_quiet(o, tmp, NULL, err)) != CK_OK)
    goto out;
  rc = write_new(o, tmp, (const char *)buf, len, st.st_mode & 07777,
                 geteuid() == 0 ? st.st_uid : (uid_t)-1,
                 geteuid() == 0 ? st.st_gid : (gid_t)-1, err);
  if (rc != CK_OK)
    goto out;
  fault(o);
  if (rename(tmp, dst) != 0)
    rc = errno_fail(err, "cannot rename to", dst);
  fault(o);
out:
  if (secret)
    ck_crypto_free_secret(buf, len);
  else
    free(buf);
  return rc;
}

/* Makes f->prevp a second name (or a copy) of f->path. */
static ck_err link_prev(op *o, tfile *f, ck_errctx *err) {
  int rc, e;

  fault(o);
  rc = link(f->path, f->prevp);
  e = errno;
  fault(o);
  if (rc == 0)
    return CK_OK;
  if (e == EXDEV || e == EPERM || e == ENOTSUP || e == EMLINK || e == ENOSYS)
    return copy_file(o, f->path, f->prevtmp, f->prevp, err);
  errno = e;
  return errno_fail(err, "cannot link previous file to", f->prevp);
}

/* Renames prev over path; a prev still present afterwards (same inode as
 * path) is removed. Missing prev: nothing to do. */
static ck_err restore_one(op *o, const char *path, const char *prev,
                          ck_errctx *err) {
  int rc;

  if (!exists(prev))
    return CK_OK;
  fault(o);
  rc = rename(prev, path);
  fault(o);
  if (rc != 0)
    return errno_fail(err, "cannot restore previous file over", path);
  if (exists(prev))
    return unlink_quiet(o, prev, NULL, err);
  return CK_OK;
}

/* ---- journal ------------------------------------------------------------- */

static ck_err buf_add(char **b, size_t *len, size_t *cap, const char *s,
                      size_t n) {
  if (*len + n + 1 > *cap) {
    size_t nc = (*len + n + 1) * 2;
    char *nb = realloc(*b, nc);
    if (nb == NULL)
      return CK_ERR_NOMEM;
    *b = nb;
    *cap = nc;
  }
  memcpy(*b + *len, s, n);
  *len += n;
  (*b)[*len] = '\0';
  return CK_OK;
}

static ck_err buf_str(char **b, size_t *len, size_t *cap, const char *s) {
  return buf_add(b, len, cap, s, strlen(s));
}

static void fp_text(const uint8_t *fp, int have, char out[CK_SHA256_HEX_LEN]) {
  if (have)
    ck_hex_encode(fp, CK_SHA256_LEN, out);
  else
    ck_strlcpy(out, "-", CK_SHA256_HEX_LEN);
}

static ck_err journal_write(op *o, const char *opname, const char *old_hex,
                            const char *new_hex, int rollback,
                            ck_errctx *err) {
  char *b = NULL;
  size_t len = 0, cap = 0, i;
  ck_err rc = CK_OK;

  if (buf_str(&b, &len, &cap, JOURNAL_MAGIC "\nop ") != CK_OK ||
      buf_str(&b, &len, &cap, opname) != CK_OK ||
      buf_str(&b, &len, &cap, "\nold ") != CK_OK ||
      buf_str(&b, &len, &cap, old_hex) != CK_OK ||
      buf_str(&b, &len, &cap, "\nnew ") != CK_OK ||
      buf_str(&b, &len, &cap, new_hex) != CK_OK ||
      buf_str(&b, &len, &cap, "\n") != CK_OK) {
    rc = ck_failf(err, CK_ERR_NOMEM, "journal");
    goto out;
  }
  for (i = 0; i < o->n; i++) {
    const char *verb = o->f[i].existed ? "restore " : "remove ";
    if (rollback && !o->f[i].existed)
      continue;
    if (buf_str(&b, &len, &cap, verb) != CK_OK ||
        buf_str(&b, &len, &cap, o->f[i].path) != CK_OK ||
        buf_str(&b, &len, &cap, "\n") != CK_OK) {
      rc = ck_failf(err, CK_ERR_NOMEM, "journal");
      goto out;
    }
  }
  if ((rc = unlink_quiet(o, o->journal_tmp, NULL, err)) != CK_OK)
    goto out;
  rc = write_new(o, o->journal_tmp, b, len, 0600, (uid_t)-1, (gid_t)-1, err);
  if (rc != CK_OK)
    goto out;
  fault(o);
  if (rename(o->journal_tmp, o->journal) != 0)
    rc = errno_fail(err, "cannot rename journal to", o->journal);
  fault(o);
  if (rc == CK_OK)
    rc = fsync_dir(o, o->journal, err);
out:
  free(b);
  return rc;
}

static ck_err journal_remove(op *o, ck_errctx *err) {
  ck_err rc = unlink_quiet(o, o->journal, NULL, err);
  if (rc == CK_OK)
    rc = fsync_dir(o, o->journal, err);
  return rc;
}

/* One action read back from a journal. */
typedef struct jline {
  int remove; /* 1: "remove", 0: "restore" */
  char *path; /* owned */
} jline;

/* Parses journal text into lines (at most 2 * MAX_FILES). Returns
 * CK_ERR_PARSE for anything unexpected. */
static ck_err journal_parse(const char *text, size_t len, jline *lines,
                            size_t *n, ck_errctx *err) {
  const char *p = text, *end = text + len;
  int lineno = 0;

  *n = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t ll;
    if (nl == NULL)
      return ck_failf(err, CK_ERR_PARSE, "journal truncated at line %d",
                      lineno + 1);
    ll = (size_t)(nl - p);
    lineno++;
    if (memchr(p, '\0', ll) != NULL)
      return ck_failf(err, CK_ERR_PARSE, "journal: NUL byte at line %d",
                      lineno);
    if (lineno == 1) {
      if (ll != strlen(JOURNAL_MAGIC) || memcmp(p, JOURNAL_MAGIC, ll) != 0)
        return ck_failf(err, CK_ERR_PARSE, "journal: bad header");
    } else if (ll > 8 && memcmp(p, "restore ", 8) == 0) {
      if (*n >= 2 * MAX_FILES)
        return ck_failf(err, CK_ERR_PARSE, "journal: too many files");
      lines[*n].remove = 0;
      lines[*n].path = dupn(p + 8, ll - 8);
      if (lines[*n].path == NULL)
        return ck_failf(err, CK_ERR_NOMEM, "journal");
      (*n)++;
    } else if (ll > 7 && memcmp(p, "remove ", 7) == 0) {
      if (*n >= 2 * MAX_FILES)
        return ck_failf(err, CK_ERR_PARSE, "journal: too many files");
      lines[*n].remove = 1;
      lines[*n].path = dupn(p + 7, ll - 7);
      if (lines[*n].path == NULL)
        return ck_failf(err, CK_ERR_NOMEM, "journal");
      (*n)++;
    } else if (!((ll >= 3 && memcmp(p, "op ", 3) == 0) ||
                 (ll >= 4 && memcmp(p, "old ", 4) == 0) ||
                 (ll >= 4 && memcmp(p, "new ", 4) == 0))) {
      return ck_failf(err, CK_ERR_PARSE, "journal: unexpected line %d",
                      lineno);
    }
    p = nl + 1;
  }
  if (lineno == 0)
    return ck_failf(err, CK_ERR_PARSE, "journal is empty");
  return CK_OK;
}

ck_err ck__target_journal_parse(const char *text, size_t len, size_t *n_files,
                                ck_errctx *err) {
  jline lines[2 * MAX_FILES];
  size_t n = 0, i;
  ck_err rc;

  memset(lines, 0, sizeof lines);
  rc = journal_parse(text, len, lines, &n, err);
  for (i = 0; i < n; i++)
    free(lines[i].path);
  if (rc == CK_OK && n_files != NULL)
    *n_files = n;
  return rc;
}

/* ---- contents ------------------------------------------------------------ */

static ck_err append_pem(char **b, size_t *len, size_t *cap, const uint8_t *der,
                         size_t der_len, const char *what, ck_errctx *err) {
  char *pem = NULL;
  size_t pem_len = 0;
  ck_err rc;

  if (der == NULL || der_len == 0)
    return ck_failf(err, CK_ERR_INVAL, "%s: empty certificate", what);
  rc = ck_pem_encode("CERTIFICATE", der, der_len, &pem, &pem_len);
  if (rc != CK_OK)
    return ck_failf(err, rc, "%s: cannot encode as PEM", what);
  rc = buf_add(b, len, cap, pem, pem_len);
  free(pem);
  return rc != CK_OK ? ck_failf(err, rc, "%s", what) : CK_OK;
}

/* Builds each file's content. Buffers that receive the key are allocated
 * at their exact size (no realloc leaving copies behind) and wiped when
 * freed. */
static ck_err build_contents(op *o, const ck_target_files *t,
                             const ck_target_pair *p, ck_errctx *err) {
  char *leaf = NULL, *chain = NULL;
  size_t leaf_len = 0, leaf_cap = 0, chain_len = 0, chain_cap = 0, i;
  ck_err rc = CK_OK;

  if (p == NULL || p->key_pem == NULL || p->key_pem_len == 0)
    return ck_failf(err, CK_ERR_INVAL, "install: no private key given");
  if ((rc = append_pem(&leaf, &leaf_len, &leaf_cap, p->cert_der,
                       p->cert_der_len, "leaf certificate", err)) != CK_OK)
    goto out;
  if (buf_add(&chain, &chain_len, &chain_cap, "", 0) != CK_OK) {
    rc = ck_failf(err, CK_ERR_NOMEM, "chain");
    goto out;
  }
  for (i = 0; i < p->n_chain; i++) {
    char what[48];
    snprintf(what, sizeof what, "chain certificate %zu", i + 1);
    if ((rc = append_pem(&chain, &chain_len, &chain_cap, p->chain[i].data,
                         p->chain[i].len, what, err)) != CK_OK)
      goto out;
  }
  for (i = 0; i < o->n; i++) {
    tfile *f = &o->f[i];
    const char *path = f->path;
    int with_leaf = 0, with_chain = 0, with_key = 0;
    size_t need, nl;
    if (path == t->cert_file) {
      with_leaf = 1;
      with_key = same(t->cert_file, t->key_file);
      with_chain = with_key || same(t->cert_file, t->fullchain_file) ||
                   same(t->cert_file, t->chain_file);
    } else if (path == t->key_file) {
      with_key = 1;
    } else if (path == t->chain_file) {
      with_chain = 1;
    } else {
      with_leaf = with_chain = 1; /* fullchain_file */
    }
    nl = with_key && p->key_pem[p->key_pem_len - 1] != '\n';
    need = (with_leaf ? leaf_len : 0) + (with_chain ? chain_len : 0) +
           (with_key ? p->key_pem_len + nl : 0);
    f->data = malloc(need + 1);
    if (f->data == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "file contents");
      goto out;
    }
    f->len = 0;
    if (with_leaf) {
      memcpy(f->data + f->len, leaf, leaf_len);
      f->len += leaf_len;
    }
    if (with_chain) {
      memcpy(f->data + f->len, chain, chain_len);
      f->len += chain_len;
    }
    if (with_key) {
      memcpy(f->data + f->len, p->key_pem, p->key_pem_len);
      f->len += p->key_pem_len;
      if (nl)
        f->data[f->len++] = '\n';
    }
    f->data[f->len] = '\0';
  }
out:
  free(leaf);
  free(chain);
  return rc;
}

/* Resolves owner/group when running as root; (uid_t)-1 keeps. */
static ck_err resolve_owner(const ck_target_files *t, uid_t *uid, gid_t *gid,
                            ck_errctx *err) {
  char buf[4096];

  *uid = (uid_t)-1;
  *gid = (gid_t)-1;
  if (geteuid() != 0)
    return CK_OK;
  if (t->owner != NULL && t->owner[0] != '\0') {
    struct passwd pw, *res = NULL;
    if (getpwnam_r(t->owner, &pw, buf, sizeof buf, &res) != 0 || res == NULL)
      return ck_failf(err, CK_ERR_NOENT, "owner '%s': no such user", t->owner);
    *uid = pw.pw_uid;
  }
  if (t->group != NULL && t->group[0] != '\0') {
    struct group gr, *res = NULL;
    if (getgrnam_r(t->group, &gr, buf, sizeof buf, &res) != 0 || res == NULL)
      return ck_failf(err, CK_ERR_NOENT, "group '%s': no such group",
                      t->group);
    *gid = gr.gr_gid;
  }
  return CK_OK;
}

/* SHA-256 of the first certificate in path; *have = 0 when unreadable. */
static void file_fp(const char *path, uint8_t fp[32], int *have) {
  ck_target_files t;

  memset(&t, 0, sizeof t);
  t.cert_file = path;
  *have = ck_target_current(&t, fp, NULL, NULL, NULL) == CK_OK;
}

/* ---- recovery core -------------------------------------------------------- */

/* Removes *.ck-new and *.ck-prev.tmp of o's files; *removed set when any. */
static ck_err remove_leftovers(op *o, int *removed, ck_errctx *err) {
  size_t i;
  ck_err rc;

  for (i = 0; i < o->n; i++) {
    if ((rc = unlink_quiet(o, o->f[i].newp, removed, err)) != CK_OK ||
        (rc = unlink_quiet(o, o->f[i].prevtmp, removed, err)) != CK_OK)
      return rc;
  }
  return CK_OK;
}

/* Applies the journal of o (which must exist) and removes it. */
static ck_err replay_journal(op *o, ck_errctx *err) {
  jline lines[2 * MAX_FILES];
  uint8_t *text = NULL;
  size_t len = 0, n = 0, i;
  ck_errctx perr = CK_ERRCTX_INIT;
  ck_err rc;

  memset(lines, 0, sizeof lines);
  rc = ck_fs_read_file(o->journal, 64u * 1024u, &text, &len, err);
  if (rc != CK_OK)
    goto out;
  if (journal_parse((const char *)text, len, lines, &n, &perr) != CK_OK) {
    /* Cannot happen with our own atomic journal; be safe anyway: restore
     * every configured file that has a .ck-prev. */
    for (i = 0; i < n; i++)
      free(lines[i].path);
    n = 0;
    for (i = 0; i < o->n; i++)
      if ((rc = restore_one(o, o->f[i].path, o->f[i].prevp, err)) != CK_OK)
        goto out;
  }
  for (i = 0; i < n; i++) {
    char *prev = cat(lines[i].path, ".ck-prev");
    char *newp = cat(lines[i].path, ".ck-new");
    if (prev == NULL || newp == NULL) {
      free(prev);
      free(newp);
      rc = ck_failf(err, CK_ERR_NOMEM, "recovery");
      goto out;
    }
    if (lines[i].remove)
      rc = unlink_quiet(o, lines[i].path, NULL, err);
    else
      rc = restore_one(o, lines[i].path, prev, err);
    if (rc == CK_OK)
      rc = unlink_quiet(o, newp, NULL, err);
    free(prev);
    free(newp);
    if (rc != CK_OK)
      goto out;
  }
  if ((rc = remove_leftovers(o, NULL, err)) != CK_OK)
    goto out;
  if ((rc = fsync_dirs(o, 0, err)) != CK_OK)
    goto out;
  rc = journal_remove(o, err);
out:
  for (i = 0; i < n; i++)
    free(lines[i].path);
  free(text);
  return rc;
}

/* CK_ERR_BUSY when o's journal exists: an interrupted install must be
 * recovered (ck_target_recover) before anything else touches the files. */
static ck_err no_journal(const op *o, ck_errctx *err) {
  if (!exists(o->journal))
    return CK_OK;
  return ck_failf(err, CK_ERR_BUSY,
                  "journal %s exists: an earlier install was interrupted; "
                  "run recovery first",
                  o->journal);
}

/* ---- public ---------------------------------------------------------------- */

ck_err ck_target_install(const ck_target_files *t, const ck_target_pair *p,
                         ck_errctx *err) {
  op o;
  uid_t uid;
  gid_t gid;
  uint8_t old_fp[32], new_fp[32];
  char old_hex[CK_SHA256_HEX_LEN], new_hex[CK_SHA256_HEX_LEN];
  int have_old = 0, journaled = 0;
  size_t i;
  ck_err rc;

  if ((rc = op_init(&o, t, err)) != CK_OK)
    goto out;
  if ((rc = build_contents(&o, t, p, err)) != CK_OK)
    goto out;
  if ((rc = resolve_owner(t, &uid, &gid, err)) != CK_OK)
    goto out;
  if ((rc = no_journal(&o, err)) != CK_OK)
    goto out;
  file_fp(t->cert_file, old_fp, &have_old);
  if ((rc = ck_crypto_sha256(p->cert_der, p->cert_der_len, new_fp)) != CK_OK)
    goto out;
  fp_text(old_fp, have_old, old_hex);
  fp_text(new_fp, 1, new_hex);

  /* Stale leftovers, so every .ck-prev present while the journal exists is
   * ours. */
  for (i = 0; i < o.n; i++) {
    if ((rc = unlink_quiet(&o, o.f[i].newp, NULL, err)) != CK_OK ||
        (rc = unlink_quiet(&o, o.f[i].prevtmp, NULL, err)) != CK_OK ||
        (rc = unlink_quiet(&o, o.f[i].prevp, NULL, err)) != CK_OK)
      goto out;
    o.f[i].existed = exists(o.f[i].path);
  }
  if ((rc = journal_write(&o, "install", old_hex, new_hex, 0, err)) != CK_OK)
    goto out;
  journaled = 1;
  for (i = 0; i < o.n; i++)
    if ((rc = write_new(&o, o.f[i].newp, o.f[i].data, o.f[i].len, o.f[i].mode,
                        uid, gid, err)) != CK_OK)
      goto out;
  for (i = 0; i < o.n; i++)
    if (o.f[i].existed && (rc = link_prev(&o, &o.f[i], err)) != CK_OK)
      goto out;
  if ((rc = fsync_dirs(&o, 0, err)) != CK_OK)
    goto out;
  for (i = 0; i < o.n; i++) {
    int r;
    fault(&o);
    r = rename(o.f[i].newp, o.f[i].path);
    fault(&o);
    if (r != 0) {
      rc = errno_fail(err, "cannot rename new file over", o.f[i].path);
      goto out;
    }
  }
  if ((rc = fsync_dirs(&o, 0, err)) != CK_OK)
    goto out;
  rc = journal_remove(&o, err);
out:
  if (rc != CK_OK && journaled && exists(o.journal)) {
    /* Put the previous pair back now; if that fails too the journal stays
     * for ck_target_recover. */
    ck_errctx rerr = CK_ERRCTX_INIT;
    if (replay_journal(&o, &rerr) != CK_OK)
      ck_failf(err, rc, "(restoring the previous files failed too: %s)",
               ck_errctx_msg(&rerr));
  }
  op_clear(&o);
  return rc;
}

ck_err ck_target_rollback(const ck_target_files *t, ck_errctx *err) {
  op o;
  uint8_t cur_fp[32], prev_fp[32];
  char cur_hex[CK_SHA256_HEX_LEN], prev_hex[CK_SHA256_HEX_LEN];
  int have_cur = 0, have_prev = 0;
  size_t i;
  ck_err rc;

  if ((rc = op_init(&o, t, err)) != CK_OK)
    goto out;
  if ((rc = no_journal(&o, err)) != CK_OK)
    goto out;
  for (i = 0; i < o.n; i++) {
    o.f[i].existed = exists(o.f[i].prevp);
    /* cert_file and key_file are the first one or two files */
    if (!o.f[i].existed && (o.f[i].path == t->cert_file ||
                            o.f[i].path == t->key_file)) {
      rc = ck_failf(err, CK_ERR_NOENT,
                    "nothing to roll back to: %s does not exist",
                    o.f[i].prevp);
      goto out;
    }
  }
  file_fp(t->cert_file, cur_fp, &have_cur);
  file_fp(o.f[0].prevp, prev_fp, &have_prev);
  fp_text(cur_fp, have_cur, cur_hex);
  fp_text(prev_fp, have_prev, prev_hex);
  if ((rc = remove_leftovers(&o, NULL, err)) != CK_OK)
    goto out;
  if ((rc = journal_write(&o, "rollback", cur_hex, prev_hex, 1, err)) !=
      CK_OK)
    goto out;
  for (i = 0; i < o.n; i++)
    if (o.f[i].existed &&
        (rc = restore_one(&o, o.f[i].path, o.f[i].prevp, err)) != CK_OK)
      goto out;
  if ((rc = fsync_dirs(&o, 0, err)) != CK_OK)
    goto out;
  rc = journal_remove(&o, err);
out:
  op_clear(&o);
  return rc;
}

ck_err ck_target_recover(const ck_target_files *t, ck_target_recovery *out,
                         ck_errctx *err) {
  op o;
  int removed = 0;
  ck_err rc;

  if ((rc = op_init(&o, t, err)) != CK_OK)
    goto out;
  /* A journal that never got its name: nothing had started. */
  if ((rc = unlink_quiet(&o, o.journal_tmp, NULL, err)) != CK_OK)
    goto out;
  if (exists(o.journal)) {
    rc = replay_journal(&o, err);
    if (rc == CK_OK && out != NULL)
      *out = CK_TARGET_RESTORED;
    goto out;
  }
  if ((rc = remove_leftovers(&o, &removed, err)) != CK_OK)
    goto out;
  if (removed && (rc = fsync_dirs(&o, 0, err)) != CK_OK)
    goto out;
  if (out != NULL)
    *out = CK_TARGET_CLEAN;
out:
  if (rc != CK_OK)
    ck_failf(err, rc, "recovering %s", t != NULL && t->cert_file != NULL
                                           ? t->cert_file
                                           : "(no file)");
  op_clear(&o);
  return rc;
}

ck_err ck_target_current(const ck_target_files *t, uint8_t fp[32],
                         int64_t *not_before, int64_t *not_after,
                         ck_errctx *err) {
  uint8_t *data = NULL;
  size_t len = 0;
  ck_cert *cert = NULL;
  const ck_cert_info *info;
  int secret = 0;
  ck_err rc;

  if (t == NULL || t->cert_file == NULL)
    return ck_failf(err, CK_ERR_INVAL, "cert_file missing");
  rc = ck_fs_read_file(t->cert_file, MAX_PEM, &data, &len, err);
  if (rc != CK_OK)
    goto out;
  secret = 1; /* a combined file holds the key: wipe the copy */
  rc = ck_cert_parse(data, len, &cert, err);
  if (rc != CK_OK) {
    ck_failf(err, rc, "%s", t->cert_file);
    goto out;
  }
  info = ck_cert_get_info(cert);
  memcpy(fp, info->sha256, CK_SHA256_LEN);
  if (not_before != NULL)
    *not_before = info->not_before;
  if (not_after != NULL)
    *not_after = info->not_after;
out:
  ck_cert_free(cert);
  if (secret)
    ck_crypto_free_secret(data, len);
  else
    free(data);
  return rc;
}

ck_err ck_target_check(const ck_target_pair *p, const char *trust_pem_file,
                       int64_t now, ck_errctx *err) {
  ck_key *key = NULL;
  ck_cert *leaf = NULL;
  ck_cert_list chain = {0}, trusted = {0};
  uint8_t *trust = NULL;
  size_t trust_len = 0, i;
  ck_err rc;

  if (p == NULL || p->key_pem == NULL || p->cert_der == NULL)
    return ck_failf(err, CK_ERR_INVAL, "check: key or certificate missing");
  rc = ck_key_parse((const uint8_t *)p->key_pem, p->key_pem_len, &key, err);
  if (rc != CK_OK) {
    ck_failf(err, rc, "new private key");
    goto out;
  }
  rc = ck_cert_parse(p->cert_der, p->cert_der_len, &leaf, err);
  if (rc != CK_OK) {
    ck_failf(err, rc, "new certificate");
    goto out;
  }
  rc = ck_key_match_cert(key, leaf, err);
  if (rc != CK_OK) {
    ck_failf(err, rc, "new certificate %s",
             ck_cert_get_info(leaf)->subject);
    goto out;
  }
  if (trust_pem_file == NULL)
    goto out;
  for (i = 0; i < p->n_chain; i++) {
    if (p->chain[i].data == NULL ||
        (rc = ck_cert_list_parse(&chain, p->chain[i].data, p->chain[i].len,
                                 err)) != CK_OK) {
      rc = ck_failf(err, rc != CK_OK ? rc : CK_ERR_BAD_CERT,
                    "chain certificate %zu", i + 1);
      goto out;
    }
  }
  rc = ck_fs_read_file(trust_pem_file, MAX_PEM, &trust, &trust_len, err);
  if (rc != CK_OK)
    goto out;
  rc = ck_cert_list_parse(&trusted, trust, trust_len, err);
  if (rc != CK_OK) {
    ck_failf(err, rc, "trust bundle %s", trust_pem_file);
    goto out;
  }
  for (i = 0; i < p->n_roots; i++) { /* anchors for this pair only */
    if (p->roots[i].data == NULL ||
        (rc = ck_cert_list_parse(&trusted, p->roots[i].data, p->roots[i].len,
                                 err)) != CK_OK) {
      rc = ck_failf(err, rc != CK_OK ? rc : CK_ERR_BAD_CERT,
                    "delivered root %zu", i + 1);
      goto out;
    }
  }
  rc = ck_cert_verify(leaf, &chain, &trusted, now != 0 ? now : ck_clock_now(),
                      err);
  if (rc != CK_OK)
    ck_failf(err, rc, "new certificate does not verify against %s%s",
             trust_pem_file,
             p->n_roots > 0 ? " or the roots delivered with it" : "");
out:
  ck_key_free(key);
  ck_cert_free(leaf);
  ck_cert_list_clear(&chain);
  ck_cert_list_clear(&trusted);
  free(trust);
  return rc;
}
