/* outbox.c — durable, bounded event queue: one file per entry plus a meta
 * file (see outbox.h). An in-memory index (seq, size) sorted by seq mirrors
 * the directory; it is rebuilt from the directory at open. */
#include "agent/link/outbox.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util/clock.h"
#include "common/util/fs.h"
#include "common/util/log.h"
#include "common/util/mem.h"

#define CK_OUTBOX_REPORT_ID "outbox"

typedef struct ck__ob_ent {
  uint64_t seq;
  size_t size;
} ck__ob_ent;

struct ck_outbox {
  char *dir;
  size_t max_events, max_bytes;
  ck__ob_ent *ents; /* sorted by seq */
  size_t n, cap;
  size_t bytes;
  uint64_t next;         /* next sequence number */
  uint64_t dropped;      /* total dropped by overflow */
  uint64_t report_seq;   /* pending overflow report entry, 0: none */
  uint64_t report_count; /* events it reports */
};

static ck_err ck__ob_path(const ck_outbox *ob, uint64_t seq, char *buf,
                          size_t len, ck_errctx *err) {
  if (snprintf(buf, len, "%s/%016" PRIx64 ".ev", ob->dir, seq) >= (int)len)
    return ck_failf(err, CK_ERR_INVAL, "outbox: path too long");
  return CK_OK;
}

static ck_err ck__ob_meta_write(ck_outbox *ob, ck_errctx *err) {
  char path[4096], text[256];
  int n;

  if (snprintf(path, sizeof path, "%s/meta", ob->dir) >= (int)sizeof path)
    return ck_failf(err, CK_ERR_INVAL, "outbox: path too long");
  n = snprintf(text, sizeof text,
               "next=%" PRIu64 "\ndropped=%" PRIu64 "\nreport_seq=%" PRIu64
               "\nreport_count=%" PRIu64 "\n",
               ob->next, ob->dropped, ob->report_seq, ob->report_count);
  return ck_fs_write_atomic(path, text, (size_t)n, 0600, err);
}

/* Parses the meta file text; unknown keys are ignored (newer versions). */
static ck_err ck__ob_meta_parse(const char *text, uint64_t *next,
                                uint64_t *dropped, uint64_t *rseq,
                                uint64_t *rcount) {
  const char *p = text;

  while (*p != '\0') {
    const char *eol = strchr(p, '\n'), *eq = strchr(p, '=');
    size_t klen;
    uint64_t *dst = NULL;
    char *end = NULL;
    unsigned long long v;

    if (eol == NULL)
      eol = p + strlen(p);
    if (eq == NULL || eq > eol)
      return CK_ERR_PARSE;
    klen = (size_t)(eq - p);
    if (klen == 4 && strncmp(p, "next", 4) == 0)
      dst = next;
    else if (klen == 7 && strncmp(p, "dropped", 7) == 0)
      dst = dropped;
    else if (klen == 10 && strncmp(p, "report_seq", 10) == 0)
      dst = rseq;
    else if (klen == 12 && strncmp(p, "report_count", 12) == 0)
      dst = rcount;
    if (dst != NULL) {
      if (eq[1] < '0' || eq[1] > '9')
        return CK_ERR_PARSE;
      errno = 0;
      v = strtoull(eq + 1, &end, 10);
      if (errno != 0 || end != eol)
        return CK_ERR_PARSE;
      *dst = (uint64_t)v;
    }
    p = *eol != '\0' ? eol + 1 : eol;
  }
  return CK_OK;
}

static ck_err ck__ob_meta_read(const char *dir, uint64_t *next,
                               uint64_t *dropped, uint64_t *rseq,
                               uint64_t *rcount, ck_errctx *err) {
  char path[4096];
  uint8_t *buf = NULL;
  size_t len = 0;
  ck_err rc;

  *next = 1;
  *dropped = *rseq = *rcount = 0;
  if (snprintf(path, sizeof path, "%s/meta", dir) >= (int)sizeof path)
    return ck_failf(err, CK_ERR_INVAL, "outbox: path too long");
  rc = ck_fs_read_file(path, 4096, &buf, &len, err);
  if (rc == CK_ERR_NOENT) {
    /* a new (or wiped) outbox numbers from the clock in milliseconds, so
     * its ids stay above those the coordinator already recorded from an
     * earlier outbox of this agent (it ignores ids at or below its mark) */
    int64_t ms = ck_clock_now_ms();
    *next = ms > 1 ? (uint64_t)ms : 1;
    ck_errctx_clear(err);
    return CK_OK;
  }
  if (rc != CK_OK)
    return rc;
  if (ck__ob_meta_parse((const char *)buf, next, dropped, rseq, rcount) !=
      CK_OK)
    rc = ck_setf(err, CK_ERR_CONFIG,
                 "%s: not an outbox meta file (key=number lines)", path);
  if (*next == 0)
    *next = 1;
  free(buf);
  return rc;
}

/* "0123456789abcdef.ev" -> seq. */
static int ck__ob_name_seq(const char *name, uint64_t *seq) {
  uint64_t v = 0;
  int i;

  if (strlen(name) != 19 || strcmp(name + 16, ".ev") != 0)
    return 0;
  for (i = 0; i < 16; i++) {
    char c = name[i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = (unsigned)(c - 'a' + 10);
    else
      return 0;
    v = v << 4 | d;
  }
  *seq = v;
  return v != 0;
}

static int ck__ob_cmp(const void *a, const void *b) {
  const ck__ob_ent *x = a, *y = b;

  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static ck_err ck__ob_push(ck_outbox *ob, uint64_t seq, size_t size) {
  if (ob->n == ob->cap) {
    size_t ncap = ob->cap ? ob->cap * 2 : 64;
    ck__ob_ent *ne = realloc(ob->ents, ncap * sizeof *ne);
    if (ne == NULL)
      return CK_ERR_NOMEM;
    ob->ents = ne;
    ob->cap = ncap;
  }
  ob->ents[ob->n].seq = seq;
  ob->ents[ob->n].size = size;
  ob->n++;
  ob->bytes += size;
  return CK_OK;
}

/* Removes index entry i and its file. */
static void ck__ob_remove_at(ck_outbox *ob, size_t i) {
  char path[4096];

  if (ck__ob_path(ob, ob->ents[i].seq, path, sizeof path, NULL) == CK_OK &&
      unlink(path) != 0 && errno != ENOENT)
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.outbox.unlink", CK_S("path", path),
           CK_S("msg", strerror(errno)));
  ob->bytes -= ob->ents[i].size;
  memmove(&ob->ents[i], &ob->ents[i + 1], (ob->n - i - 1) * sizeof *ob->ents);
  ob->n--;
}

/* Scans dir: entries into the index, leftover temporary files removed. */
static ck_err ck__ob_scan(ck_outbox *ob, int clean, ck_errctx *err) {
  DIR *d = opendir(ob->dir);
  struct dirent *de;
  ck_err rc = CK_OK;

  if (d == NULL)
    return ck_failf(err, ck_err_from_errno(-errno), "outbox: open %s: %s",
                    ob->dir, strerror(errno));
  while ((de = readdir(d)) != NULL) {
    char path[4096];
    struct stat st;
    uint64_t seq;

    if (snprintf(path, sizeof path, "%s/%s", ob->dir, de->d_name) >=
        (int)sizeof path)
      continue;
    if (strstr(de->d_name, ".ck-") != NULL &&
        strstr(de->d_name, ".tmp") != NULL) {
      if (clean)
        (void)unlink(path); /* an interrupted atomic write */
      continue;
    }
    if (!ck__ob_name_seq(de->d_name, &seq))
      continue;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    if ((rc = ck__ob_push(ob, seq, (size_t)st.st_size)) != CK_OK) {
      rc = ck_failf(err, rc, "outbox: out of memory");
      break;
    }
  }
  closedir(d);
  if (rc == CK_OK && ob->n > 1)
    qsort(ob->ents, ob->n, sizeof *ob->ents, ck__ob_cmp);
  return rc;
}

ck_err ck_outbox_open(const char *dir, size_t max_events, size_t max_bytes,
                      ck_outbox **out, ck_errctx *err) {
  ck_outbox *ob = NULL;
  ck_err rc;

  if (out != NULL)
    *out = NULL;
  if (dir == NULL || dir[0] == '\0' || out == NULL || max_events < 1 ||
      max_bytes < 4096)
    return ck_failf(err, CK_ERR_INVAL, "outbox: bad arguments");
  if ((rc = ck_fs_mkdir_p(dir, 0700, err)) != CK_OK)
    return ck_failf(err, rc, "outbox");
  ob = calloc(1, sizeof *ob);
  if (ob == NULL || (ob->dir = strdup(dir)) == NULL) {
    free(ob);
    return ck_failf(err, CK_ERR_NOMEM, "outbox: out of memory");
  }
  ob->max_events = max_events;
  ob->max_bytes = max_bytes;
  if ((rc = ck__ob_meta_read(dir, &ob->next, &ob->dropped, &ob->report_seq,
                             &ob->report_count, err)) != CK_OK)
    goto out;
  if ((rc = ck__ob_scan(ob, 1, err)) != CK_OK)
    goto out;
  /* a crash between an entry and the meta update: never reuse a seq */
  if (ob->n > 0 && ob->ents[ob->n - 1].seq >= ob->next)
    ob->next = ob->ents[ob->n - 1].seq + 1;
  if (ob->report_seq != 0) {
    size_t i;
    int found = 0;
    for (i = 0; i < ob->n && !found; i++)
      found = ob->ents[i].seq == ob->report_seq;
    if (!found)
      ob->report_seq = ob->report_count = 0;
  }
  *out = ob;
  ob = NULL;
out:
  ck_outbox_close(ob);
  return rc;
}

/* Encodes ev as the frame with id seq (*buf malloc'ed). */
static ck_err ck__ob_encode(const ck_wire_event *ev, uint64_t seq,
                            uint8_t **buf, size_t *len, ck_errctx *err) {
  ck_wire_msg m;
  ck_err rc;

  memset(&m, 0, sizeof m);
  m.type = CK_WIRE_EVENT;
  m.id = seq;
  m.u.event = *ev;
  if ((rc = ck_wire_encode(&m, NULL, buf, len, err)) != CK_OK)
    return ck_failf(err, rc, "outbox: event");
  return CK_OK;
}

/* The encoded size of ev with id seq. */
static ck_err ck__ob_size(const ck_outbox *ob, const ck_wire_event *ev,
                          uint64_t seq, size_t *size, ck_errctx *err) {
  uint8_t *buf = NULL;
  ck_err rc = ck__ob_encode(ev, seq, &buf, size, err);

  free(buf);
  if (rc == CK_OK && *size > ob->max_bytes)
    rc = ck_failf(err, CK_ERR_LIMIT,
                  "outbox: one event of %zu bytes exceeds outbox_max_bytes "
                  "(%zu)",
                  *size, ob->max_bytes);
  return rc;
}

/* Encodes ev with id seq and writes its entry file; *size its length. */
static ck_err ck__ob_write(ck_outbox *ob, const ck_wire_event *ev,
                           uint64_t seq, size_t *size, ck_errctx *err) {
  uint8_t *buf = NULL;
  size_t len = 0;
  char path[4096];
  ck_err rc;

  if ((rc = ck__ob_encode(ev, seq, &buf, &len, err)) != CK_OK)
    return rc;
  if (len > ob->max_bytes) {
    rc = ck_failf(err, CK_ERR_LIMIT,
                  "outbox: one event of %zu bytes exceeds outbox_max_bytes "
                  "(%zu)",
                  len, ob->max_bytes);
    goto out;
  }
  if ((rc = ck__ob_path(ob, seq, path, sizeof path, err)) != CK_OK)
    goto out;
  if ((rc = ck_fs_write_atomic(path, buf, len, 0600, err)) != CK_OK)
    goto out;
  *size = len;
out:
  free(buf);
  return rc;
}

/* Writes (or rewrites) the overflow report with the current count. */
static ck_err ck__ob_report(ck_outbox *ob, uint64_t dropped_now,
                            ck_errctx *err) {
  ck_wire_event ev;
  char reason[96];
  size_t size = 0, i;
  uint64_t seq;
  int fresh = ob->report_seq == 0;
  ck_err rc;

  seq = fresh ? ob->next : ob->report_seq;
  memset(&ev, 0, sizeof ev);
  ev.kind = CK_WIRE_EVENT_FAILURE;
  ev.cert_id = CK_OUTBOX_REPORT_ID;
  ev.new_state = "FAILED";
  ev.code = CK_ERR_LIMIT;
  ev.has_code = true;
  ev.at = ck_clock_now();
  snprintf(reason, sizeof reason, "outbox overflow: %" PRIu64 " events dropped",
           (fresh ? 0 : ob->report_count) + dropped_now);
  ev.reason = reason;
  if ((rc = ck__ob_write(ob, &ev, seq, &size, err)) != CK_OK)
    return rc;
  if (fresh) {
    ob->next++;
    ob->report_seq = seq;
    ob->report_count = dropped_now;
    return ck__ob_push(ob, seq, size) == CK_OK
               ? CK_OK
               : ck_failf(err, CK_ERR_NOMEM, "outbox: out of memory");
  }
  ob->report_count += dropped_now;
  for (i = 0; i < ob->n; i++)
    if (ob->ents[i].seq == seq) {
      ob->bytes = ob->bytes - ob->ents[i].size + size;
      ob->ents[i].size = size;
    }
  return CK_OK;
}

ck_err ck_outbox_append(ck_outbox *ob, const ck_wire_event *ev, uint64_t *seq,
                        ck_errctx *err) {
  uint64_t s, dropped_now = 0;
  size_t size = 0, i;
  ck_err rc;

  if (ob == NULL || ev == NULL)
    return ck_failf(err, CK_ERR_INVAL, "outbox: bad arguments");
  /* the size with the largest id it may get (after a new report) */
  if ((rc = ck__ob_size(ob, ev, ob->next + 1, &size, err)) != CK_OK)
    return rc;
  /* make room: the oldest entries go first, never an unsent report */
  i = 0;
  while (i < ob->n &&
         (ob->n + 1 > ob->max_events || ob->bytes + size > ob->max_bytes)) {
    if (ob->ents[i].seq == ob->report_seq) {
      i++;
      continue;
    }
    ck__ob_remove_at(ob, i);
    dropped_now++;
  }
  if (dropped_now > 0) {
    ob->dropped += dropped_now;
    ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.outbox.overflow",
           CK_I("dropped", dropped_now), CK_I("total_dropped", ob->dropped),
           CK_I("max_events", ob->max_events),
           CK_I("max_bytes", ob->max_bytes));
    /* the report comes before the new entry (it may take ob->next) */
    if ((rc = ck__ob_report(ob, dropped_now, err)) != CK_OK)
      return rc;
  }
  s = ob->next;
  if ((rc = ck__ob_write(ob, ev, s, &size, err)) != CK_OK)
    return rc;
  ob->next = s + 1;
  if ((rc = ck__ob_push(ob, s, size)) != CK_OK)
    return ck_failf(err, rc, "outbox: out of memory");
  if ((rc = ck__ob_meta_write(ob, err)) != CK_OK)
    return ck_failf(err, rc, "outbox: meta");
  if (seq != NULL)
    *seq = s;
  return CK_OK;
}

/* Checks an entry file's bytes: prefix matches, body decodes, id == seq. */
static ck_err ck__ob_check(const uint8_t *buf, size_t len, uint64_t seq,
                           ck_errctx *err) {
  ck_arena *a;
  ck_wire_msg m;
  uint32_t blen;
  ck_err rc;

  if (len < CK_WIRE_HEADER_LEN)
    return ck_setf(err, CK_ERR_WIRE_TRUNCATED, "entry of %zu bytes", len);
  blen = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
         (uint32_t)buf[2] << 8 | (uint32_t)buf[3];
  if ((size_t)blen != len - CK_WIRE_HEADER_LEN)
    return ck_setf(err, CK_ERR_WIRE_TRUNCATED,
                   "length prefix says %lu bytes, file holds %zu",
                   (unsigned long)blen, len - CK_WIRE_HEADER_LEN);
  if ((a = ck_arena_new(4096)) == NULL)
    return ck_setf(err, CK_ERR_NOMEM, "out of memory");
  memset(&m, 0, sizeof m);
  rc = ck_wire_decode(buf + CK_WIRE_HEADER_LEN, blen, NULL, a, &m, err);
  if (rc == CK_OK && (m.type != CK_WIRE_EVENT || m.id != seq))
    rc = ck_setf(err, CK_ERR_WIRE_MALFORMED,
                 "entry is not the event with id %" PRIu64, seq);
  ck_arena_free(a);
  return rc;
}

ck_err ck_outbox_peek(ck_outbox *ob, uint64_t after, uint64_t *seq,
                      uint8_t **frame, size_t *len, ck_errctx *err) {
  size_t i = 0;

  *frame = NULL;
  *len = 0;
  while (i < ob->n) {
    char path[4096];
    uint8_t *buf = NULL;
    size_t blen = 0;
    ck_errctx ferr = CK_ERRCTX_INIT;
    ck_err rc;

    if (ob->ents[i].seq <= after) {
      i++;
      continue;
    }
    if (ck__ob_path(ob, ob->ents[i].seq, path, sizeof path, err) != CK_OK)
      return CK_ERR_INVAL;
    rc = ck_fs_read_file(path, ob->max_bytes + 16, &buf, &blen, &ferr);
    if (rc == CK_ERR_NOMEM) {
      return ck_failf(err, rc, "outbox: out of memory");
    }
    if (rc == CK_OK)
      rc = ck__ob_check(buf, blen, ob->ents[i].seq, &ferr);
    if (rc != CK_OK) {
      ck_log(CK_LOG_OPS, CK_LOG_ERR, "agent.outbox.corrupt",
             CK_S("path", path), CK_E(rc, ck_errctx_msg(&ferr)),
             CK_S("action", "entry removed and skipped"));
      free(buf);
      if (ob->ents[i].seq == ob->report_seq)
        ob->report_seq = ob->report_count = 0;
      ck__ob_remove_at(ob, i);
      continue;
    }
    *seq = ob->ents[i].seq;
    *frame = buf;
    *len = blen;
    if (*seq == ob->report_seq) {
      /* sealed once handed out: the coordinator may record this one, so
       * later drops get a report of their own (persisted across restarts) */
      ck_errctx merr = CK_ERRCTX_INIT;
      ob->report_seq = ob->report_count = 0;
      if (ck__ob_meta_write(ob, &merr) != CK_OK)
        ck_log(CK_LOG_OPS, CK_LOG_WARN, "agent.outbox.meta",
               CK_E(merr.code, ck_errctx_msg(&merr)));
    }
    return CK_OK;
  }
  return CK_ERR_NOENT;
}

ck_err ck_outbox_drop_through(ck_outbox *ob, uint64_t seq, ck_errctx *err) {
  int changed = 0;

  while (ob->n > 0 && ob->ents[0].seq <= seq) {
    if (ob->ents[0].seq == ob->report_seq) {
      ob->report_seq = ob->report_count = 0;
      changed = 1;
    }
    ck__ob_remove_at(ob, 0);
  }
  return changed ? ck__ob_meta_write(ob, err) : CK_OK;
}

size_t ck_outbox_count(const ck_outbox *ob) { return ob->n; }
size_t ck_outbox_bytes(const ck_outbox *ob) { return ob->bytes; }
uint64_t ck_outbox_dropped(const ck_outbox *ob) { return ob->dropped; }
uint64_t ck_outbox_next_seq(const ck_outbox *ob) { return ob->next; }

ck_err ck_outbox_stat(const char *dir, size_t *count, size_t *bytes,
                      uint64_t *dropped, ck_errctx *err) {
  ck_outbox tmp;
  uint64_t next, rseq, rcount;
  struct stat st;
  ck_err rc;

  *count = *bytes = 0;
  *dropped = 0;
  if (stat(dir, &st) != 0)
    return errno == ENOENT ? CK_OK
                           : ck_failf(err, ck_err_from_errno(-errno),
                                      "outbox: %s: %s", dir, strerror(errno));
  if ((rc = ck__ob_meta_read(dir, &next, dropped, &rseq, &rcount, err)) !=
      CK_OK)
    return rc;
  memset(&tmp, 0, sizeof tmp);
  tmp.dir = (char *)dir; /* only read by the scan */
  rc = ck__ob_scan(&tmp, 0, err);
  *count = tmp.n;
  *bytes = tmp.bytes;
  free(tmp.ents);
  return rc;
}

void ck_outbox_close(ck_outbox *ob) {
  if (ob == NULL)
    return;
  free(ob->ents);
  free(ob->dir);
  free(ob);
}
