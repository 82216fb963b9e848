/* est_http.h — the bytes of the agent's EST client (RFC 7030, RFC 8951):
 * the HTTP/1.1 response parser, Retry-After, and the meaning of each
 * HTTP status for an EST request. Pure functions on buffers, no I/O, so the
 * unit tests and tests/fuzz/fuzz_est_http.c drive them directly; the
 * connection side is est.c, base64 and PKCS#7 are common/crypto/pkcs7.h.
 *
 * The parser takes the whole response received so far (the client keeps
 * appending to one buffer, at most CK_EST_RESP_MAX bytes) and says whether
 * it is complete: the status line, headers, and a body delimited by
 * Content-Length, chunked transfer coding, or the end of the connection. */
#ifndef CK_AGENT_LINK_EST_HTTP_H
#define CK_AGENT_LINK_EST_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/crypto.h"
#include "common/util/err.h"

#define CK_EST_RESP_MAX (1u << 20)  /* whole response, headers and body */
#define CK_EST_HEAD_MAX (16u << 10) /* status line + headers */

/* A parsed response. body points into the buffer given to the parser, or
 * into owned (de-chunked body); valid while both live. */
typedef struct ck_est_resp {
  int status;             /* 100..599 */
  int64_t retry_after;    /* Retry-After in seconds from now, -1 if absent
                             or not understood */
  char content_type[96];  /* media type, lower case, no parameters: "" if
                             absent ("application/pkcs7-mime") */
  char smime_type[32];    /* smime-type parameter, lower case, "" if none */
  int b64;                /* Content-Transfer-Encoding: base64 */
  int64_t content_length; /* -1 when absent */
  int chunked;            /* Transfer-Encoding: chunked */
  const uint8_t *body;    /* the body (de-chunked) */
  size_t body_len;
  uint8_t *owned;         /* malloc'ed de-chunked body, or NULL */
} ck_est_resp;

/* Parses buf[0..len) as one HTTP/1.x response. eof: the peer has closed the
 * connection (a body without length ends there). Returns CK_OK with *r
 * filled (release with ck_est_resp_clear), CK_ERR_AGAIN when more bytes
 * are needed (*r cleared), CK_ERR_HTTP_PARSE for a malformed response or
 * one cut short at eof, CK_ERR_LIMIT when the head passes CK_EST_HEAD_MAX
 * or len passes CK_EST_RESP_MAX. now (epoch seconds) turns an HTTP-date
 * Retry-After into seconds. */
ck_err ck_est_resp_parse(const uint8_t *buf, size_t len, int eof, int64_t now,
                         ck_est_resp *r, ck_errctx *err);

/* Frees what r owns and zeroes it. NULL is a no-op. */
void ck_est_resp_clear(ck_est_resp *r);

/* Retry-After value: delta-seconds or an IMF-fixdate ("Sun, 06 Nov 1994
 * 08:49:37 GMT") relative to now; -1 when neither. Capped at 30 days;
 * a date in the past gives 0. */
int64_t ck_est_retry_after(const char *v, size_t n, int64_t now);

/* The certificates of a 200 answer to /cacerts, /simpleenroll or
 * /simplereenroll: Content-Type application/pkcs7-mime (smime-type
 * certs-only when given), a base64 body (RFC 8951: base64 whatever the
 * Content-Transfer-Encoding says; a body that is already DER is accepted
 * too), a certs-only PKCS#7 (common/crypto/pkcs7.h) with at least one
 * certificate. Appends them to list in message order (unchanged on
 * failure). Errors: CK_ERR_UNSUPPORTED (content type), CK_ERR_PARSE (base64,
 * not certs-only, empty), CK_ERR_BAD_DER, CK_ERR_BAD_CERT, CK_ERR_LIMIT. */
ck_err ck_est_resp_certs(const ck_est_resp *r, ck_cert_list *list,
                         ck_errctx *err);

/* What an HTTP status means for an EST request: CK_OK for 200, CK_ERR_AGAIN
 * for 202, 429 and 503 (retry later), CK_ERR_PARSE 400, CK_ERR_AUTH 401,
 * CK_ERR_DENIED 403, CK_ERR_NOT_FOUND 404, CK_ERR_UNSUPPORTED 405/415/501,
 * CK_ERR_CONFLICT 409, CK_ERR_LIMIT 413, CK_ERR_INTERNAL other 5xx,
 * CK_ERR_HTTP_PARSE anything else. *hint (static) says what to check. */
ck_err ck_est_status_err(int status, const char **hint);

/* Copies up to cap-1 bytes of a server's text body into out, keeping only
 * the first line, printable ASCII (others become '?'), for messages. */
void ck_est_body_excerpt(const uint8_t *body, size_t len, char *out,
                         size_t cap);

#endif
