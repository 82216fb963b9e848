/* http_request.c — the request as handlers see it: accessors, response
 * headers, ck_http_respond and the thread-pool deferral (see http.h).
 *
 * Responses are built here (status line, Date, Server, Content-Type,
 * Content-Length, Connection, extra headers) and handed to the connection
 * (ck__http_conn_deliver in http_server.c), which writes them in request
 * order. A request whose client has gone (req->hc == NULL) is only freed. */
#include "common/net/http_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/util/clock.h"
#include "common/util/log.h"

#define REQ_ARENA_BLOCK 4096

/* ---- lifetime ---------------------------------------------------------- */

ck_http_req *ck__http_req_new(ck__http_conn *hc) {
  ck_http_req *req = calloc(1, sizeof *req);

  if (req == NULL)
    return NULL;
  req->arena = ck_arena_new(REQ_ARENA_BLOCK);
  if (req->arena == NULL) {
    free(req);
    return NULL;
  }
  req->srv = hc->srv;
  req->hc = hc;
  req->method = CK_HTTP_OTHER;
  req->method_name = "";
  req->minor = 1;
  req->path = (char *)"";
  req->path_rest = "";
  req->query = "";
  req->is_tls = hc->conn->is_tls;
  ck_strlcpy(req->peer, hc->conn->peer, sizeof req->peer);
  req->start_ms = ck_clock_mono_ms();
  return req;
}

void ck__http_req_free(ck_http_req *req) {
  ck_http_server *srv;

  if (req == NULL)
    return;
  srv = req->srv;
  if (req->state == CK__REQ_HANDLER)
    srv->stats.reqs_live--;
  free(req->body);
  free(req->out);
  ck_arena_free(req->arena);
  free(req);
  ck__http_server_maybe_free(srv);
}

/* ---- accessors --------------------------------------------------------- */

unsigned ck_http_req_method(const ck_http_req *req) { return req->method; }
const char *ck_http_req_method_name(const ck_http_req *req) {
  return req->method_name;
}
const char *ck_http_req_path(const ck_http_req *req) { return req->path; }
const char *ck_http_req_path_rest(const ck_http_req *req) {
  return req->path_rest;
}
const char *ck_http_req_query(const ck_http_req *req) { return req->query; }
int ck_http_req_version_minor(const ck_http_req *req) { return req->minor; }
const char *ck_http_req_peer(const ck_http_req *req) { return req->peer; }
int ck_http_req_is_tls(const ck_http_req *req) { return req->is_tls; }
ck_arena *ck_http_req_arena(ck_http_req *req) { return req->arena; }
int ck_http_req_gone(const ck_http_req *req) { return req->hc == NULL; }

const char *ck_http_req_header(const ck_http_req *req, const char *name) {
  size_t i;

  for (i = 0; i < req->nhdrs; i++)
    if (strcasecmp(req->hdrs[i].name, name) == 0)
      return req->hdrs[i].value;
  return NULL;
}

size_t ck_http_req_header_count(const ck_http_req *req) { return req->nhdrs; }

int ck_http_req_header_at(const ck_http_req *req, size_t i, const char **name,
                          const char **value) {
  if (i >= req->nhdrs)
    return 0;
  *name = req->hdrs[i].name;
  *value = req->hdrs[i].value;
  return 1;
}

const uint8_t *ck_http_req_body(const ck_http_req *req, size_t *len) {
  *len = req->body != NULL ? req->body_len : 0;
  return req->body != NULL ? req->body : (const uint8_t *)"";
}

const uint8_t *ck_http_req_peer_cert_der(const ck_http_req *req, size_t *len) {
  *len = 0;
  if (req->hc == NULL || req->hc->conn == NULL || req->hc->closing)
    return NULL;
  return ck_conn_peer_cert_der(req->hc->conn, len);
}

const ck_conn *ck_http_req_conn(const ck_http_req *req) {
  if (req->hc == NULL || req->hc->conn == NULL || req->hc->closing)
    return NULL;
  return req->hc->conn;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Percent-decodes s[0..n) ('+' is a space) into the arena; NULL when
 * malformed or when it would decode to a NUL byte. */
static char *url_decode(ck_arena *a, const char *s, size_t n) {
  char *out = ck_arena_alloc(a, n + 1), *o = out;
  size_t i;
  int hi, lo;

  if (out == NULL)
    return NULL;
  for (i = 0; i < n; i++) {
    if (s[i] == '+') {
      *o++ = ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= n)
        return NULL;
      hi = hexval(s[i + 1]);
      lo = hexval(s[i + 2]);
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
        return NULL;
      *o++ = (char)(hi * 16 + lo);
      i += 2;
    } else {
      *o++ = s[i];
    }
  }
  *o = '\0';
  return out;
}

const char *ck_http_req_query_param(ck_http_req *req, const char *name) {
  const char *q = req->query, *amp, *eq, *end;
  size_t nlen = strlen(name), klen;

  while (*q != '\0') {
    amp = strchr(q, '&');
    end = amp != NULL ? amp : q + strlen(q);
    eq = memchr(q, '=', (size_t)(end - q));
    klen = (size_t)((eq != NULL ? eq : end) - q);
    if (klen == nlen && memcmp(q, name, nlen) == 0)
      return eq != NULL ? url_decode(req->arena, eq + 1, (size_t)(end - eq - 1))
                        : "";
    if (amp == NULL)
      break;
    q = amp + 1;
  }
  return NULL;
}

/* ---- response building ------------------------------------------------- */

const char *ck_http_status_text(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 412: return "Precondition Failed";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 416: return "Range Not Satisfiable";
  case 417: return "Expectation Failed";
  case 422: return "Unprocessable Entity";
  case 426: return "Upgrade Required";
  case 428: return "Precondition Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

/* A growable string; oom sticks so callers check once at the end. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
  char *g;
  size_t nc;

  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    nc = b->cap ? b->cap : 256;
    while (nc < b->len + n + 1)
      nc *= 2;
    g = realloc(b->p, nc);
    if (g == NULL) {
      b->oom = 1;
      return;
    }
    b->p = g;
    b->cap = nc;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_fmt(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_fmt(sbuf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) {
    b->oom = 1;
    return;
  }
  sb_add(b, tmp, (size_t)n);
}

/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") of the clock seam's now. */
static void http_date(char *out, size_t len) {
  static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                  "Thu", "Fri", "Sat"};
  static const char mons[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = (time_t)ck_clock_now();
  struct tm tm;

  if (gmtime_r(&t, &tm) == NULL) {
    ck_strlcpy(out, "Thu, 01 Jan 1970 00:00:00 GMT", len);
    return;
  }
  snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
           tm.tm_mday, mons[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
}

static void sb_allow(sbuf *b, unsigned allow) {
  static const struct {
    unsigned bit;
    const char *name;
  } m[] = {{CK_HTTP_GET, "GET"},       {CK_HTTP_HEAD, "HEAD"},
           {CK_HTTP_POST, "POST"},     {CK_HTTP_PUT, "PUT"},
           {CK_HTTP_DELETE, "DELETE"}, {CK_HTTP_PATCH, "PATCH"},
           {CK_HTTP_OPTIONS, "OPTIONS"}};
  size_t i;
  int first = 1;

  sb_str(b, "Allow: ");
  for (i = 0; i < sizeof m / sizeof m[0]; i++) {
    if (!(allow & m[i].bit))
      continue;
    if (!first)
      sb_str(b, ", ");
    sb_str(b, m[i].name);
    first = 0;
  }
  sb_str(b, "\r\n");
}

static int status_has_body(int status) {
  return status >= 200 && status != 204 && status != 304;
}

/* Builds the status line and headers; returns the malloc'ed head (caller
 * frees) or NULL on OOM. */
static char *build_head(ck_http_req *req, int status, const char *ctype,
                        size_t len, size_t *head_len) {
  sbuf b = {0};
  char date[40];
  const ck__http_rhdr *h;

  http_date(date, sizeof date);
  sb_fmt(&b, "HTTP/1.1 %d %s\r\n", status, ck_http_status_text(status));
  sb_str(&b, "Date: ");
  sb_str(&b, date);
  sb_str(&b, "\r\nServer: ");
  sb_str(&b, req->srv->server_name);
  sb_str(&b, "\r\n");
  if (ctype != NULL && status_has_body(status)) {
    sb_str(&b, "Content-Type: ");
    sb_str(&b, ctype);
    sb_str(&b, "\r\n");
  }
  if (status_has_body(status))
    sb_fmt(&b, "Content-Length: %zu\r\n", len);
  if (req->close_after)
    sb_str(&b, "Connection: close\r\n");
  else if (req->keep_alive_10)
    sb_str(&b, "Connection: keep-alive\r\n");
  if (status == 405)
    sb_allow(&b, req->allow);
  for (h = req->rhdrs; h != NULL; h = h->next) {
    sb_str(&b, h->name);
    sb_str(&b, ": ");
    sb_str(&b, h->value);
    sb_str(&b, "\r\n");
  }
  sb_str(&b, "\r\n");
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  *head_len = b.len;
  return b.p;
}

static void access_log(const ck_http_req *req, int status) {
  ck_log(CK_LOG_OPS, CK_LOG_DEBUG, "http.request", CK_S("peer", req->peer),
         CK_S("method", req->method_name), CK_S("path", req->path),
         CK_I("status", status),
         CK_I("ms", ck_clock_mono_ms() - req->start_ms));
}

ck_err ck__http_req_make_error(ck_http_req *req, int status) {
  char body[96], *head;
  size_t hlen = 0, blen;
  int send_body = req->method != CK_HTTP_HEAD && status_has_body(status);

  snprintf(body, sizeof body, "%d %s\n", status, ck_http_status_text(status));
  blen = strlen(body);
  req->status = status;
  head = build_head(req, status, "text/plain; charset=utf-8", blen, &hlen);
  if (head == NULL)
    return CK_ERR_NOMEM;
  req->out = malloc(hlen + blen);
  if (req->out == NULL) {
    free(head);
    return CK_ERR_NOMEM;
  }
  memcpy(req->out, head, hlen);
  free(head);
  if (send_body)
    memcpy(req->out + hlen, body, blen);
  req->out_len = hlen + (send_body ? blen : 0);
  req->state = CK__REQ_RESPONDED;
  access_log(req, status);
  return CK_OK;
}

static int is_tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

ck_err ck_http_add_header(ck_http_req *req, const char *name,
                          const char *value) {
  static const char *const reserved[] = {"Content-Length", "Transfer-Encoding",
                                         "Date", "Server", "Allow"};
  ck__http_rhdr *h;
  const char *p;
  size_t i;

  if (req->state != CK__REQ_HANDLER || name == NULL || value == NULL ||
      name[0] == '\0')
    return CK_ERR_INVAL;
  for (p = name; *p != '\0'; p++)
    if (!is_tchar((unsigned char)*p))
      return CK_ERR_INVAL;
  if (strpbrk(value, "\r\n") != NULL)
    return CK_ERR_INVAL;
  for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcasecmp(name, reserved[i]) == 0)
      return CK_ERR_INVAL;
  if (strcasecmp(name, "Connection") == 0) {
    if (strcasecmp(value, "close") != 0)
      return CK_ERR_INVAL;
    req->close_after = 1;
    return CK_OK;
  }
  h = ck_arena_alloc(req->arena, sizeof *h);
  if (h == NULL)
    return CK_ERR_NOMEM;
  h->next = NULL;
  h->name = ck_arena_strdup(req->arena, name);
  h->value = ck_arena_strdup(req->arena, value);
  if (h->name == NULL || h->value == NULL)
    return CK_ERR_NOMEM;
  if (req->rhdrs_tail != NULL)
    req->rhdrs_tail->next = h;
  else
    req->rhdrs = h;
  req->rhdrs_tail = h;
  return CK_OK;
}

ck_err ck_http_respond(ck_http_req *req, int status, const char *content_type,
                       const void *body, size_t len) {
  char *head;
  size_t hlen = 0;
  int send_body;

  if (req == NULL || req->state != CK__REQ_HANDLER || req->in_work)
    return CK_ERR_INVAL; /* misuse: not ours to answer (or already done) */
  if (status < 200 || status > 599 ||
      (content_type != NULL && strpbrk(content_type, "\r\n") != NULL) ||
      (body == NULL && len > 0) || len > UINT32_MAX) {
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "http.bad_response", CK_I("status", status),
           CK_S("path", req->path));
    status = 500;
    content_type = NULL;
    body = NULL;
    len = 0;
  }
  req->status = status;
  if (req->hc == NULL) {
    access_log(req, 499); /* client went away first */
    ck__http_req_free(req);
    return CK_ERR_CLOSED;
  }
  access_log(req, status);
  send_body = req->method != CK_HTTP_HEAD && status_has_body(status);
  head = build_head(req, status, content_type, len, &hlen);
  return ck__http_conn_deliver(req, head, hlen, send_body ? body : NULL,
                               send_body ? len : 0);
}

ck_err ck_http_respond_status(ck_http_req *req, int status) {
  char body[96];

  snprintf(body, sizeof body, "%d %s\n", status, ck_http_status_text(status));
  return ck_http_respond(req, status, "text/plain; charset=utf-8", body,
                         strlen(body));
}

/* ---- deferred work ----------------------------------------------------- */

static void work_thunk(uv_work_t *w) {
  ck_http_req *req = w->data;

  req->work_cb(req, req->work_arg);
}

static void after_thunk(uv_work_t *w, int status) {
  ck_http_req *req = w->data;

  (void)status; /* we never cancel queued work */
  req->in_work = 0;
  req->after_cb(req, req->work_arg);
}

ck_err ck_http_defer(ck_http_req *req, ck_http_work_cb work,
                     ck_http_work_cb after, void *arg) {
  int rc;

  if (req == NULL || req->state != CK__REQ_HANDLER || req->in_work ||
      work == NULL || after == NULL)
    return CK_ERR_INVAL;
  req->work_cb = work;
  req->after_cb = after;
  req->work_arg = arg;
  req->work.data = req;
  req->in_work = 1;
  rc = uv_queue_work(req->srv->loop, &req->work, work_thunk, after_thunk);
  if (rc != 0) {
    req->in_work = 0;
    return ck_err_from_errno(rc);
  }
  return CK_OK;
}
