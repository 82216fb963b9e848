/* cli_http.h — the CLI's HTTPS client: one libcurl easy handle, reused so
 * that paging (--all) keeps its connection.
 *
 * Only https:// is spoken; the server is always verified (chain and host
 * name) against the --cacert file, or the system trust store when none is
 * given; redirects are not followed (the bearer token must not be sent
 * anywhere else). The token travels only in the Authorization header and
 * the header copies are wiped once the request is done. */
#ifndef CK_CLI_HTTP_H
#define CK_CLI_HTTP_H

#include <stddef.h>

#include "common/util/err.h"

typedef struct ck_cli_http ck_cli_http;

/* One request. Every pointer is borrowed for the call. */
typedef struct ck_cli_http_req {
  const char *method;   /* "GET", "POST", "PUT", "DELETE" */
  const char *url;      /* full https:// URL, query included */
  const char *token;    /* bearer token, or NULL */
  const char *body;     /* request body (JSON) or NULL */
  size_t body_len;
  const char *if_match; /* If-Match header value, or NULL */
} ck_cli_http_req;

/* The answer. body is malloc'ed and NUL-terminated (caller clears). */
typedef struct ck_cli_http_resp {
  long status;
  char *body;
  size_t body_len;
  char content_type[128]; /* "" when absent */
} ck_cli_http_resp;

/* Creates a client that trusts cacert (a PEM file; NULL: the system store)
 * and gives each request timeout_s seconds. Returns CK_ERR_IO when cacert
 * cannot be read, CK_ERR_INTERNAL when libcurl fails; *out caller-owned. */
ck_err ck_cli_http_new(const char *cacert, long timeout_s, ck_cli_http **out,
                       ck_errctx *err);

void ck_cli_http_free(ck_cli_http *h);

/* Sends req and reads the whole answer into *resp (any HTTP status counts
 * as success here). Errors, with a message naming the server: CK_ERR_NET
 * (cannot connect/resolve, connection lost), CK_ERR_UNTRUSTED (the server's
 * certificate does not verify against the trusted CAs or its name does not
 * match), CK_ERR_TLS (other TLS failures), CK_ERR_TIMEOUT, CK_ERR_LIMIT
 * (answer over 64 MiB). On error *resp is empty. */
ck_err ck_cli_http_do(ck_cli_http *h, const ck_cli_http_req *req,
                      ck_cli_http_resp *resp, ck_errctx *err);

/* Frees resp->body and zeroes resp. NULL-safe. */
void ck_cli_http_resp_clear(ck_cli_http_resp *resp);

#endif
