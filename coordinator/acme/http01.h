/* http01.h — the two parsers of the http-01 validator (http01_parse.c): an
 * HTTP/1.x response as received from the challenged host, and the URL of a
 * redirect. Both take untrusted input; tests/fuzz/fuzz_acmehttp.c drives
 * them. The fetch itself is ck__acme_http01 (validate_int.h). */
#ifndef CK_COORD_ACME_HTTP01_H
#define CK_COORD_ACME_HTTP01_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/err.h"

#define CK_ACME_HTTP_MAX_HEAD 8192 /* status line + headers */
#define CK_ACME_HTTP_MAX_BODY 8192 /* a key authorization is ~90 bytes */
#define CK_ACME_HTTP_MAX_URL 1024

typedef struct ck_acme_http_resp {
  int status;                          /* 200, 301, ... */
  char location[CK_ACME_HTTP_MAX_URL]; /* Location header, "" if none */
  size_t body_len;                     /* bytes written to the body buffer */
} ck_acme_http_resp;

/* Parses the response in buf[0..len). eof says the peer has closed the
 * stream (a body without Content-Length or chunking ends there). The
 * de-chunked body goes to body[0..body_cap). Returns CK_OK when the
 * response is complete, CK_ERR_AGAIN when more bytes are needed,
 * CK_ERR_LIMIT when the head exceeds CK_ACME_HTTP_MAX_HEAD, the body
 * body_cap or the Location header its buffer, CK_ERR_PARSE when malformed
 * (or truncated at eof). The response to a HEAD-less GET is assumed. */
ck_err ck_acme_http_resp_parse(const uint8_t *buf, size_t len, int eof,
                               uint8_t *body, size_t body_cap,
                               ck_acme_http_resp *out);

typedef struct ck_acme_url {
  int https;                     /* 0: http */
  int port;                      /* explicit port, 0 if none */
  char host[256];                /* lower case, no final dot */
  char path[CK_ACME_HTTP_MAX_URL]; /* "/..." incl. query, no fragment */
} ck_acme_url;

/* Resolves ref (a Location value: absolute http/https URL,
 * scheme-relative, absolute or relative path) against base into *out.
 * Returns CK_ERR_PARSE for what cannot be parsed, CK_ERR_UNSUPPORTED for
 * other schemes, user info, or a host that is an IP address literal, and
 * CK_ERR_LIMIT for over-long parts. */
ck_err ck_acme_url_resolve(const ck_acme_url *base, const char *ref,
                           ck_acme_url *out);

#endif
