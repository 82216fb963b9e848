/* log.c — structured records on the operational and security streams.
 * See log.h for the model; this file renders records as key=value or JSON
 * lines and writes them to the stream's destination. */
#include "common/util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#ifndef CK_DISABLE_SYSLOG
#include <syslog.h>
#endif

#include "common/util/clock.h"
#include "common/util/mem.h"
#include "platforms/platform.h"

typedef enum dest_kind { DEST_STDERR, DEST_JOURNAL, DEST_SYSLOG, DEST_FILE, DEST_NONE } dest_kind;

typedef struct log_stream {
  dest_kind dest;
  ck_log_format fmt;
  ck_log_level min;
  int fd; /* DEST_FILE */
} log_stream;

static log_stream streams[2] = {
    {DEST_STDERR, CK_LOG_FMT_KV, CK_LOG_INFO, -1},
    {DEST_STDERR, CK_LOG_FMT_KV, CK_LOG_INFO, -1},
};
static char ident[64] = "certkeeper";
static ck_log_hook hook;
static void *hook_arg;
static uv_once_t once = UV_ONCE_INIT;
static uv_mutex_t lock;
#ifndef CK_DISABLE_SYSLOG
static int syslog_open;
#endif

static const char *level_names[] = {"debug", "info", "notice", "warn", "error", "crit"};
static const char *stream_names[] = {"ops", "security"};

static void init_once(void) { uv_mutex_init(&lock); }

const char *ck_log_level_name(ck_log_level lvl) {
  if ((unsigned)lvl > CK_LOG_CRIT)
    return "?";
  return level_names[lvl];
}

ck_err ck_log_level_parse(const char *text, ck_log_level *out) {
  unsigned i;

  for (i = 0; i <= CK_LOG_CRIT; i++) {
    if (strcmp(text, level_names[i]) == 0) {
      *out = (ck_log_level)i;
      return CK_OK;
    }
  }
  if (strcmp(text, "warning") == 0) {
    *out = CK_LOG_WARN;
    return CK_OK;
  }
  if (strcmp(text, "err") == 0) {
    *out = CK_LOG_ERR;
    return CK_OK;
  }
  return CK_ERR_PARSE;
}

ck_err ck_log_format_parse(const char *text, ck_log_format *out) {
  if (strcmp(text, "kv") == 0)
    *out = CK_LOG_FMT_KV;
  else if (strcmp(text, "json") == 0)
    *out = CK_LOG_FMT_JSON;
  else
    return CK_ERR_PARSE;
  return CK_OK;
}

void ck_log_set_ident(const char *id) {
  uv_once(&once, init_once);
  uv_mutex_lock(&lock);
  ck_strlcpy(ident, id, sizeof ident);
  uv_mutex_unlock(&lock);
}

void ck_log_set_hook(ck_log_hook h, void *arg) {
  uv_once(&once, init_once);
  uv_mutex_lock(&lock);
  hook = h;
  hook_arg = arg;
  uv_mutex_unlock(&lock);
}

ck_err ck_log_configure(ck_log_stream s, const char *dest, ck_log_format fmt,
                        ck_log_level min_level, ck_errctx *err) {
  log_stream ns = {DEST_STDERR, fmt, min_level, -1};

  if ((unsigned)s > CK_LOG_SEC)
    return ck_failf(err, CK_ERR_INVAL, "no such log stream %d", (int)s);
  if (strcmp(dest, "auto") == 0) {
    ns.dest = ck_platform_stderr_is_journal() ? DEST_JOURNAL : DEST_STDERR;
  } else if (strcmp(dest, "stderr") == 0) {
    ns.dest = DEST_STDERR;
  } else if (strcmp(dest, "journal") == 0) {
    ns.dest = DEST_JOURNAL;
  } else if (strcmp(dest, "syslog") == 0) {
#ifdef CK_DISABLE_SYSLOG
    return ck_failf(err, CK_ERR_UNSUPPORTED, "log destination syslog: left out of this build");
#else
    ns.dest = DEST_SYSLOG;
#endif
  } else if (strcmp(dest, "none") == 0) {
    ns.dest = DEST_NONE;
  } else if (strncmp(dest, "file:", 5) == 0 && dest[5] == '/') {
    ns.dest = DEST_FILE;
    ns.fd = open(dest + 5, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (ns.fd < 0)
      return ck_failf(err, ck_err_from_errno(-errno), "log file %s: %s",
                      dest + 5, strerror(errno));
  } else {
    return ck_failf(err, CK_ERR_CONFIG,
                    "log destination '%s': expected auto, stderr, journal, "
                    "syslog, none or file:/absolute/path", dest);
  }
  uv_once(&once, init_once);
  uv_mutex_lock(&lock);
  if (streams[s].fd >= 0)
    close(streams[s].fd);
  streams[s] = ns;
#ifndef CK_DISABLE_SYSLOG
  if (ns.dest == DEST_SYSLOG && !syslog_open) {
    openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    syslog_open = 1;
  }
#endif
  uv_mutex_unlock(&lock);
  return CK_OK;
}

void ck_log_shutdown(void) {
  int i;

  uv_once(&once, init_once);
  uv_mutex_lock(&lock);
  for (i = 0; i < 2; i++) {
    if (streams[i].fd >= 0)
      close(streams[i].fd);
    streams[i].fd = -1;
    streams[i].dest = DEST_STDERR;
  }
#ifndef CK_DISABLE_SYSLOG
  if (syslog_open)
    closelog();
  syslog_open = 0;
#endif
  uv_mutex_unlock(&lock);
}

/* ---- rendering --------------------------------------------------------- */

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
  if (b->len + n >= b->cap) /* truncate: never overflow */
    n = b->cap - b->len - 1;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

static void putf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(sbuf *b, const char *fmt, ...) {
  char tmp[64];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0)
    put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static int is_secret_key(const char *k) {
  static const char *const secret[] = {"token", "secret", "password", "passphrase",
                                       "private_key", "key_pem", "authorization",
                                       "hmac", NULL};
  size_t i;

  for (i = 0; secret[i] != NULL; i++)
    if (strstr(k, secret[i]) != NULL)
      return 1;
  return 0;
}

/* JSON string escaping (RFC 8259): quotes, backslash, control bytes. */
static void put_json_str(sbuf *b, const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");

  puts_(b, "\"");
  for (; *p; p++) {
    if (*p == '"' || *p == '\\') {
      char e[2] = {'\\', (char)*p};
      put(b, e, 2);
    } else if (*p == '\n') {
      puts_(b, "\\n");
    } else if (*p < 0x20 || *p == 0x7f) {
      putf(b, "\\u%04x", *p);
    } else {
      put(b, (const char *)p, 1);
    }
  }
  puts_(b, "\"");
}

/* key=value: quote when the value has spaces, quotes, '=' or control bytes;
 * control bytes are escaped so one record stays one line. */
static void put_kv_str(sbuf *b, const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  int quote = *p == '\0';

  for (; *p; p++)
    if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
      quote = 1;
  if (!quote) {
    puts_(b, s);
    return;
  }
  puts_(b, "\"");
  for (p = (const unsigned char *)s; p && *p; p++) {
    if (*p == '"' || *p == '\\') {
      char e[2] = {'\\', (char)*p};
      put(b, e, 2);
    } else if (*p < 0x20 || *p == 0x7f) {
      putf(b, "\\x%02x", *p);
    } else {
      put(b, (const char *)p, 1);
    }
  }
  puts_(b, "\"");
}

static void render(sbuf *b, const log_stream *st, ck_log_stream s,
                   ck_log_level lvl, const char *event, const ck_kv *kv,
                   size_t n) {
  char ts[40];
  int64_t ms = ck_clock_now_ms();
  size_t i;
  int json = st->fmt == CK_LOG_FMT_JSON;

  ck_time_format_rfc3339(ms / 1000, ts, sizeof ts);
  /* insert milliseconds before the Z */
  snprintf(ts + 19, sizeof ts - 19, ".%03dZ", (int)(ms % 1000));
  if (json) {
    puts_(b, "{\"ts\":\"");
    puts_(b, ts);
    puts_(b, "\",\"level\":\"");
    puts_(b, level_names[lvl]);
    puts_(b, "\",\"stream\":\"");
    puts_(b, stream_names[s]);
    puts_(b, "\",\"prog\":");
    put_json_str(b, ident);
    puts_(b, ",\"event\":");
    put_json_str(b, event);
  } else {
    if (st->dest != DEST_JOURNAL && st->dest != DEST_SYSLOG) {
      puts_(b, "ts=");
      puts_(b, ts);
      puts_(b, " ");
    }
    puts_(b, "level=");
    puts_(b, level_names[lvl]);
    puts_(b, " stream=");
    puts_(b, stream_names[s]);
    puts_(b, " event=");
    put_kv_str(b, event);
  }
  for (i = 0; i < n; i++) {
    const char *key = kv[i].key ? kv[i].key : "?";
    int redact = is_secret_key(key);
    if (json) {
      puts_(b, ",");
      put_json_str(b, key);
      puts_(b, ":");
    } else {
      puts_(b, " ");
      put_kv_str(b, key);
      puts_(b, "=");
    }
    if (redact) {
      if (json)
        put_json_str(b, "[redacted]");
      else
        puts_(b, "[redacted]");
      continue;
    }
    switch (kv[i].type) {
    case CK_KV_STR:
      if (json)
        put_json_str(b, kv[i].v.s);
      else
        put_kv_str(b, kv[i].v.s);
      break;
    case CK_KV_INT:
      putf(b, "%lld", (long long)kv[i].v.i);
      break;
    case CK_KV_DBL:
      putf(b, "%.6g", kv[i].v.d);
      break;
    case CK_KV_BOOL:
      puts_(b, kv[i].v.i ? "true" : "false");
      break;
    }
  }
  if (json)
    puts_(b, "}");
}

static void write_all(int fd, const char *p, size_t n) {
  ssize_t w;

  while (n > 0) {
    w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return; /* logging must never fail the caller */
    }
    p += w;
    n -= (size_t)w;
  }
}

void ck_log_kv(ck_log_stream s, ck_log_level lvl, const char *event,
               const ck_kv *kv, size_t n) {
  char line[4096], pre[8];
  sbuf b = {line, 0, sizeof line};
  log_stream *st;
  static const int sd_prio[] = {7, 6, 5, 4, 3, 2};

  if ((unsigned)s > CK_LOG_SEC || (unsigned)lvl > CK_LOG_CRIT)
    return;
  uv_once(&once, init_once);
  uv_mutex_lock(&lock);
  st = &streams[s];
  if (lvl < st->min || (st->dest == DEST_NONE && hook == NULL)) {
    uv_mutex_unlock(&lock);
    return;
  }
  line[0] = '\0';
  render(&b, st, s, lvl, event, kv, n);
  if (hook != NULL)
    hook(s, lvl, line, hook_arg);
  switch (st->dest) {
  case DEST_JOURNAL:
    snprintf(pre, sizeof pre, "<%d>", sd_prio[lvl]);
    write_all(2, pre, strlen(pre));
    /* fall through */
  case DEST_STDERR:
    put(&b, "\n", 1);
    write_all(2, line, b.len);
    break;
  case DEST_FILE:
    put(&b, "\n", 1);
    write_all(st->fd, line, b.len);
    break;
  case DEST_SYSLOG:
#ifndef CK_DISABLE_SYSLOG
    syslog((s == CK_LOG_SEC ? LOG_AUTHPRIV : LOG_DAEMON) | sd_prio[lvl], "%s", line);
#endif
    break;
  case DEST_NONE:
    break;
  }
  uv_mutex_unlock(&lock);
}
