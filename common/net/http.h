/* http.h — the HTTP/1.1 server layer every certkeeper web service sits on
 * (REST, EST, ACME, OCSP, CRL, portal).
 *
 * A server serves ck_conns (conn.h): either from a listener it owns
 * (ck_http_server_listen, plain HTTP) or conns handed to it already
 * established (ck_http_server_attach; HTTPS is listener -> tcp conn -> tls
 * wrap -> attach). Requests are routed by method and path to handlers:
 *
 *   static void health(ck_http_req *req, void *arg) {
 *     ck_http_respond(req, 200, "text/plain", "ok\n", 3);
 *   }
 *   ck_http_server_route(srv, CK_HTTP_GET, "/health", health, NULL, &err);
 *
 * The layer does for every handler: keep-alive and pipelining (responses
 * leave in request order even when a later request is answered first),
 * `Connection: close`, HTTP/1.0, HEAD (answered by GET routes with the body
 * left out), `Expect: 100-continue`, chunked request bodies, size limits
 * (431 headers, 413 body), header/body/idle timeouts, write backpressure,
 * Date/Server/Content-Length on every response, 404 and 405 with Allow.
 *
 * Request lifetime: a request handed to a handler stays valid until it is
 * answered with ck_http_respond() — exactly once, possibly later (from a
 * timer, another async operation, or ck_http_defer()'s thread-pool work).
 * If the client goes away first, the request lingers detached: accessors
 * keep working, ck_http_req_gone() returns 1 and ck_http_respond() just
 * frees it. All request memory (headers, body, the arena) is freed when the
 * request is answered.
 *
 * Threading: everything runs on the loop thread, except the work function
 * of ck_http_defer(), which runs on the libuv thread pool. */
#ifndef CK_NET_HTTP_H
#define CK_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/net/conn.h"
#include "common/util/err.h"
#include "common/util/mem.h"

typedef struct ck_http_server ck_http_server;
typedef struct ck_http_req ck_http_req;

/* Methods as bits, so a route can accept several. A GET route also answers
 * HEAD. Other methods (PROPFIND, ...) are CK_HTTP_OTHER and never routed
 * (405 on a known path, 404 otherwise). */
enum {
  CK_HTTP_GET = 1u << 0,
  CK_HTTP_HEAD = 1u << 1,
  CK_HTTP_POST = 1u << 2,
  CK_HTTP_PUT = 1u << 3,
  CK_HTTP_DELETE = 1u << 4,
  CK_HTTP_PATCH = 1u << 5,
  CK_HTTP_OPTIONS = 1u << 6,
  CK_HTTP_OTHER = 1u << 7
};

/* Server configuration. Zero fields take the default in brackets; fill with
 * ck_http_config_defaults() and change what you need. */
typedef struct ck_http_config {
  size_t max_header_bytes;   /* request line + headers [16 KiB] -> 431 */
  size_t max_body_bytes;     /* request body [1 MiB] -> 413; per route too */
  unsigned max_headers;      /* header fields per request [100] -> 431 */
  unsigned idle_timeout_ms;  /* keep-alive wait for the next request, and a
                                stalled write (client not reading) [60000] */
  unsigned header_timeout_ms;/* first byte (or accept) to end of headers
                                [10000]; slow clients are dropped */
  unsigned body_timeout_ms;  /* end of headers to end of body [30000] */
  unsigned max_connections;  /* open conns; more are closed at once [1024] */
  unsigned max_pipelined;    /* requests in flight per conn before the
                                server stops reading [16] */
  size_t write_high_water;   /* stop reading while more than this many bytes
                                wait to be written; resume below half
                                [256 KiB] */
  const char *server_name;   /* Server header ["certkeeper"]; copied */
} ck_http_config;

/* Fills cfg with the defaults listed above. */
void ck_http_config_defaults(ck_http_config *cfg);

/* A handler answers req (now or later) with ck_http_respond(). arg is the
 * pointer given with the route. */
typedef void (*ck_http_handler)(ck_http_req *req, void *arg);

/* Optional hook run once the headers are in and before the body is read.
 * Return 0 to accept (the server then sends `100 Continue` if the client
 * asked for it and reads the body) or an HTTP status (401, 403, 415, ...)
 * to refuse: the server answers with that status, closes the connection
 * and the handler is not called. The body is not available yet. */
typedef int (*ck_http_precheck)(const ck_http_req *req, void *arg);

/* A route. path is matched against the request path (without the query):
 * exactly, or as a prefix when prefix is 1 ("/.well-known/est/"). The most
 * specific match wins: an exact route, else the longest prefix. If the
 * best-matching path has no route for the method, the answer is 405 with
 * an Allow header listing the methods it has. */
typedef struct ck_http_route {
  unsigned methods;          /* CK_HTTP_GET | CK_HTTP_POST ... */
  const char *path;          /* copied */
  int prefix;                /* 1: path is a prefix */
  ck_http_handler handler;   /* required */
  void *arg;                 /* handed to handler and precheck */
  size_t max_body_bytes;     /* 0: the server's limit */
  ck_http_precheck precheck; /* optional, see above */
} ck_http_route;

/* Creates a server on loop with cfg (NULL: defaults). On success *out is a
 * new server owned by the caller, to be closed with ck_http_server_close. */
ck_err ck_http_server_new(uv_loop_t *loop, const ck_http_config *cfg,
                          ck_http_server **out, ck_errctx *err);

/* Adds a route (contents copied). Fails with CK_ERR_INVAL on a missing
 * handler, a path not starting with '/', no methods, or a duplicate. */
ck_err ck_http_server_add_route(ck_http_server *srv, const ck_http_route *r,
                                ck_errctx *err);
/* Shorthands for an exact and a prefix route with the server's limits. */
ck_err ck_http_server_route(ck_http_server *srv, unsigned methods,
                            const char *path, ck_http_handler h, void *arg,
                            ck_errctx *err);
ck_err ck_http_server_route_prefix(ck_http_server *srv, unsigned methods,
                                   const char *prefix, ck_http_handler h,
                                   void *arg, ck_errctx *err);

/* Listens on addr ("127.0.0.1:0", "[::]:8080") for plain HTTP; the server
 * owns the listener. May be called more than once. */
ck_err ck_http_server_listen(ck_http_server *srv, const char *addr,
                             ck_errctx *err);
/* Port of the most recent listener (useful after ":0"), 0 if none. */
int ck_http_server_port(const ck_http_server *srv);

/* Serves an established conn (e.g. a TLS conn after its handshake). The
 * server takes ownership of c in every case: on error (server closing,
 * CK_ERR_LIMIT for too many connections) c has been closed. c->data is
 * used by the server. */
ck_err ck_http_server_attach(ck_http_server *srv, ck_conn *c, ck_errctx *err);

/* Stops listening and closes every connection at once (requests in flight
 * are detached). cb(arg) runs, and srv is freed, once all connections are
 * closed and every detached request has been answered. NULL srv is a
 * no-op; cb may be NULL. */
void ck_http_server_close(ck_http_server *srv, void (*cb)(void *arg),
                          void *arg);

/* Counters, for metrics and tests. */
typedef struct ck_http_stats {
  uint64_t conns_total;    /* conns ever attached or accepted */
  uint64_t requests_total; /* requests whose headers were parsed */
  unsigned conns_open;     /* conns now open */
  uint64_t backpressure_events; /* times a conn stopped reading because
                                    its write queue passed the high water */
  unsigned reqs_live;      /* requests handed to handlers, not yet answered */
} ck_http_stats;
void ck_http_server_stats(const ck_http_server *srv, ck_http_stats *out);

/* ---- the request (all strings NUL-terminated, owned by the request) --- */

unsigned ck_http_req_method(const ck_http_req *req);        /* CK_HTTP_* */
const char *ck_http_req_method_name(const ck_http_req *req); /* "GET" */
/* Path without the query, as sent (not percent-decoded): "/a/b". */
const char *ck_http_req_path(const ck_http_req *req);
/* For a prefix route, the part of the path after the prefix ("simpleenroll"
 * for "/.well-known/est/simpleenroll"); "" for exact routes. */
const char *ck_http_req_path_rest(const ck_http_req *req);
/* Raw query after '?', "" if none. */
const char *ck_http_req_query(const ck_http_req *req);
/* Looks up query parameter name and returns its percent-decoded value in
 * the request arena ("" for "?flag"), or NULL if absent or malformed. */
const char *ck_http_req_query_param(ck_http_req *req, const char *name);
/* First header named name (case-insensitive), or NULL. Repeated headers are
 * not merged; use ck_http_req_header_at to see them all. */
const char *ck_http_req_header(const ck_http_req *req, const char *name);
size_t ck_http_req_header_count(const ck_http_req *req);
/* i-th header in arrival order; returns 0 when i is out of range. */
int ck_http_req_header_at(const ck_http_req *req, size_t i, const char **name,
                          const char **value);
/* The request body (de-chunked), len 0 and a non-NULL pointer if none. */
const uint8_t *ck_http_req_body(const ck_http_req *req, size_t *len);
/* HTTP minor version: 0 for HTTP/1.0, 1 for HTTP/1.1. */
int ck_http_req_version_minor(const ck_http_req *req);
/* Peer address "127.0.0.1:54321" (copied at request start). */
const char *ck_http_req_peer(const ck_http_req *req);
/* 1 when the request came over a TLS conn. */
int ck_http_req_is_tls(const ck_http_req *req);
/* DER of the verified TLS client certificate or NULL (plain HTTP, none, or
 * the client has gone). Borrowed; copy it to keep it past the handler. */
const uint8_t *ck_http_req_peer_cert_der(const ck_http_req *req, size_t *len);
/* The connection the request came on (borrowed), or NULL once the client
 * has gone: for what the accessors here do not cover, e.g. the TLS session
 * and its channel bindings (common/net/tls.h ck_tls_conn_session, used by
 * EST). Loop thread only; do not keep it past the handler. */
const ck_conn *ck_http_req_conn(const ck_http_req *req);
/* The request's arena: memory freed when the request is answered. */
ck_arena *ck_http_req_arena(ck_http_req *req);
/* 1 when the client has disconnected; a response would be dropped. */
int ck_http_req_gone(const ck_http_req *req);

/* Adds a response header (name and value copied; CR, LF and NUL are
 * refused with CK_ERR_INVAL). Content-Length, Transfer-Encoding, Date and
 * Server are set by the layer and refused here. "Connection: close" makes
 * the server close the connection after this response. */
ck_err ck_http_add_header(ck_http_req *req, const char *name,
                          const char *value);

/* Answers req with status, an optional content_type (NULL: none) and len
 * bytes of body (copied; the caller keeps its buffer). For HEAD requests the
 * body is left out and Content-Length still says len. Must be called exactly
 * once per request, on the loop thread; req is freed by this call (or when
 * its turn to be written comes) and must not be used afterwards. Returns
 * CK_ERR_CLOSED when the client has gone (the response is dropped) and
 * CK_ERR_NOMEM if the response could not be built (the connection is then
 * closed); req is consumed either way. */
ck_err ck_http_respond(ck_http_req *req, int status, const char *content_type,
                       const void *body, size_t len);

/* Answers with status, "text/plain" and the standard reason phrase plus a
 * newline as body ("404 Not Found\n"). Same contract as ck_http_respond. */
ck_err ck_http_respond_status(ck_http_req *req, int status);

/* Deferred mode: runs work(req, arg) on the libuv thread pool, then
 * after(req, arg) on the loop thread, which must answer req (even when
 * ck_http_req_gone() says the client left; respond then just frees it).
 * work may read the request and allocate from its arena (nothing else
 * touches the request meanwhile) but must not call loop functions or
 * respond. Returns an error without calling either callback if the work
 * could not be queued; the caller must then still respond. */
typedef void (*ck_http_work_cb)(ck_http_req *req, void *arg);
ck_err ck_http_defer(ck_http_req *req, ck_http_work_cb work,
                     ck_http_work_cb after, void *arg);

/* Standard reason phrase for status ("Not Found"); "Unknown" otherwise. */
const char *ck_http_status_text(int status);

#endif
