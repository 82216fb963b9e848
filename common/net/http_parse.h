/* http_parse.h — internal: the HTTP/1.x request parser behind a small
 * interface, so the server (http_server.c) does not depend on which parser
 * library is underneath. Today that is Debian's libhttp-parser 2.9; a swap
 * (llhttp, picohttpparser) only rewrites http_parse.c.
 *
 * The parser is push-style: feed it bytes as they arrive, it calls back
 * with pieces of the request (a piece may arrive in several calls) and stops
 * right after each complete message so the caller can decide whether to
 * parse the next one (pipelining limits, backpressure). */
#ifndef CK_NET_HTTP_PARSE_H
#define CK_NET_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ck__http_parser ck__http_parser;

/* What is known once the headers are complete. */
typedef struct ck__http_head {
  int method;              /* CK_HTTP_* bit (http.h) */
  const char *method_name; /* "GET", static */
  int major;               /* 1 for HTTP/1.x */
  int minor;               /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
  int keep_alive;          /* connection may carry another request */
  int chunked;             /* Transfer-Encoding: chunked */
  int upgrade;             /* Upgrade or CONNECT: the rest is not HTTP */
  int64_t content_length;  /* -1 when absent */
} ck__http_head;

/* Callbacks; u is the user pointer given to ck__http_parser_new. Return 0
 * to go on, non-zero to stop with an error (feed returns
 * CK__HTTP_PARSE_ERROR and ck__http_parser_cb_failed() is 1). */
typedef struct ck__http_parse_cbs {
  int (*on_begin)(void *u);
  int (*on_url)(void *u, const char *at, size_t n);
  int (*on_header_field)(void *u, const char *at, size_t n);
  int (*on_header_value)(void *u, const char *at, size_t n);
  int (*on_headers_done)(void *u, const ck__http_head *head);
  int (*on_body)(void *u, const char *at, size_t n);
  int (*on_message_done)(void *u);
} ck__http_parse_cbs;

enum {
  CK__HTTP_PARSE_MORE = 0,    /* all bytes consumed, message not complete */
  CK__HTTP_PARSE_MESSAGE = 1, /* stopped right after a complete message */
  CK__HTTP_PARSE_ERROR = 2    /* malformed input or a callback said stop */
};

/* Returns a new request parser (caller owns; ck__http_parser_free), or NULL
 * on OOM. cbs is borrowed and must outlive the parser. */
ck__http_parser *ck__http_parser_new(const ck__http_parse_cbs *cbs, void *u);
void ck__http_parser_free(ck__http_parser *p);

/* Parses len > 0 bytes; *used says how many were consumed. After MESSAGE,
 * call again with the rest to parse the next message. After ERROR the
 * parser is dead. */
int ck__http_parser_feed(ck__http_parser *p, const char *data, size_t len,
                         size_t *used);

/* After ERROR: 1 if a callback stopped the parse, and a static description
 * of what was wrong otherwise. */
int ck__http_parser_cb_failed(const ck__http_parser *p);
int ck__http_parser_header_overflow(const ck__http_parser *p);
const char *ck__http_parser_error(const ck__http_parser *p);

#endif
