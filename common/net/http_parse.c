/* http_parse.c — the request parser interface (http_parse.h) implemented on
 * Debian's libhttp-parser 2.9.
 *
 * libhttp-parser calls back with pieces and can be paused from a callback;
 * we pause after every complete message so the server decides, message by
 * message, whether to go on (the library's documented way to stop between
 * pipelined requests). Its own limits stay on as a second line: the
 * compiled-in 80 KiB header cap and the refusal of a request carrying both
 * Content-Length and chunked Transfer-Encoding (request smuggling). */
#include "common/net/http_parse.h"

#include <http_parser.h>
#include <stdlib.h>

#include "common/net/http.h"

struct ck__http_parser {
  http_parser hp;                /* the library's state */
  const ck__http_parse_cbs *cbs; /* borrowed */
  void *u;                       /* user pointer for cbs */
  int cb_failed;                 /* a callback returned non-zero */
  int dead;                      /* an error happened; feed refuses */
};

static int method_bit(unsigned m) {
  switch (m) {
  case HTTP_GET:
    return CK_HTTP_GET;
  case HTTP_HEAD:
    return CK_HTTP_HEAD;
  case HTTP_POST:
    return CK_HTTP_POST;
  case HTTP_PUT:
    return CK_HTTP_PUT;
  case HTTP_DELETE:
    return CK_HTTP_DELETE;
  case HTTP_PATCH:
    return CK_HTTP_PATCH;
  case HTTP_OPTIONS:
    return CK_HTTP_OPTIONS;
  default:
    return CK_HTTP_OTHER;
  }
}

static ck__http_parser *self(http_parser *hp) { return hp->data; }

/* Records a callback failure so the caller can tell it from bad input. */
static int cb_result(ck__http_parser *p, int rc) {
  if (rc != 0)
    p->cb_failed = 1;
  return rc != 0 ? -1 : 0;
}

static int hp_begin(http_parser *hp) {
  ck__http_parser *p = self(hp);
  return cb_result(p, p->cbs->on_begin(p->u));
}

static int hp_url(http_parser *hp, const char *at, size_t n) {
  ck__http_parser *p = self(hp);
  return cb_result(p, p->cbs->on_url(p->u, at, n));
}

static int hp_field(http_parser *hp, const char *at, size_t n) {
  ck__http_parser *p = self(hp);
  return cb_result(p, p->cbs->on_header_field(p->u, at, n));
}

static int hp_value(http_parser *hp, const char *at, size_t n) {
  ck__http_parser *p = self(hp);
  return cb_result(p, p->cbs->on_header_value(p->u, at, n));
}

static int hp_headers_done(http_parser *hp) {
  ck__http_parser *p = self(hp);
  ck__http_head h;

  h.method = method_bit(hp->method);
  h.method_name = http_method_str((enum http_method)hp->method);
  h.major = hp->http_major;
  h.minor = hp->http_minor;
  h.keep_alive = http_should_keep_alive(hp);
  h.chunked = (hp->flags & F_CHUNKED) != 0;
  h.upgrade = hp->upgrade;
  h.content_length = (hp->flags & F_CONTENTLENGTH) && !h.chunked
                         ? (int64_t)(hp->content_length > INT64_MAX
                                         ? INT64_MAX
                                         : hp->content_length)
                         : -1;
  return cb_result(p, p->cbs->on_headers_done(p->u, &h));
}

static int hp_body(http_parser *hp, const char *at, size_t n) {
  ck__http_parser *p = self(hp);
  return cb_result(p, p->cbs->on_body(p->u, at, n));
}

static int hp_done(http_parser *hp) {
  ck__http_parser *p = self(hp);
  int rc = p->cbs->on_message_done(p->u);

  if (rc != 0)
    return cb_result(p, rc);
  http_parser_pause(hp, 1);
  return 0;
}

static const http_parser_settings hp_settings = {
    .on_message_begin = hp_begin,
    .on_url = hp_url,
    .on_header_field = hp_field,
    .on_header_value = hp_value,
    .on_headers_complete = hp_headers_done,
    .on_body = hp_body,
    .on_message_complete = hp_done,
};

ck__http_parser *ck__http_parser_new(const ck__http_parse_cbs *cbs, void *u) {
  ck__http_parser *p = calloc(1, sizeof *p);

  if (p == NULL)
    return NULL;
  http_parser_init(&p->hp, HTTP_REQUEST);
  p->hp.data = p;
  p->cbs = cbs;
  p->u = u;
  return p;
}

void ck__http_parser_free(ck__http_parser *p) { free(p); }

int ck__http_parser_feed(ck__http_parser *p, const char *data, size_t len,
                         size_t *used) {
  size_t n;
  enum http_errno e;

  *used = 0;
  if (p->dead)
    return CK__HTTP_PARSE_ERROR;
  if (len == 0)
    return CK__HTTP_PARSE_MORE;
  n = http_parser_execute(&p->hp, &hp_settings, data, len);
  *used = n > len ? len : n;
  e = HTTP_PARSER_ERRNO(&p->hp);
  if (e == HPE_PAUSED) {
    http_parser_pause(&p->hp, 0);
    if (p->hp.upgrade)
      p->dead = 1; /* the rest is another protocol, which we do not speak */
    return CK__HTTP_PARSE_MESSAGE;
  }
  if (e != HPE_OK) {
    p->dead = 1;
    return CK__HTTP_PARSE_ERROR;
  }
  return CK__HTTP_PARSE_MORE;
}

int ck__http_parser_cb_failed(const ck__http_parser *p) { return p->cb_failed; }

int ck__http_parser_header_overflow(const ck__http_parser *p) {
  return HTTP_PARSER_ERRNO(&p->hp) == HPE_HEADER_OVERFLOW;
}

const char *ck__http_parser_error(const ck__http_parser *p) {
  return http_errno_description(HTTP_PARSER_ERRNO(&p->hp));
}
