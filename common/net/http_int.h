/* http_int.h — internal: the structures shared by http_server.c (server,
 * routing, the per-connection state machine) and http_request.c (request
 * accessors and response building). Not for use outside common/net/ except
 * by the HTTP fuzzer, which drives ck__http_conn_feed() directly. */
#ifndef CK_NET_HTTP_INT_H
#define CK_NET_HTTP_INT_H

#include "common/net/http.h"
#include "common/net/http_parse.h"

typedef struct ck__http_conn ck__http_conn;

typedef struct ck__http_route {
  ck_http_route r; /* r.path points at path below */
  size_t path_len; /* strlen(path) */
  char *path;      /* owned copy */
} ck__http_route;

typedef struct ck__http_hdr {
  const char *name;  /* in the request arena */
  const char *value; /* in the request arena */
} ck__http_hdr;

typedef struct ck__http_rhdr {
  struct ck__http_rhdr *next; /* response headers, in the order added */
  const char *name;           /* arena copy */
  const char *value;          /* arena copy */
} ck__http_rhdr;

/* Request states, in order. Invariants:
 *   PARSING:   hc->cur == req (headers or body still arriving), or req is
 *              a queue entry waiting for a server-made answer;
 *   HANDLER:   the handler owns the answer (counted in reqs_live);
 *              req->hc == NULL once the client has gone (detached);
 *   RESPONDED: req->out holds the whole response, waiting its turn. */
enum { CK__REQ_PARSING = 0, CK__REQ_HANDLER, CK__REQ_RESPONDED };

struct ck_http_req {
  ck_http_server *srv;         /* owning server (outlives the request) */
  ck__http_conn *hc;           /* NULL once detached */
  struct ck_http_req *next;    /* the conn's queue, in request order */
  ck_arena *arena;             /* request-lifetime memory */
  int state;                   /* CK__REQ_* */
  unsigned method;             /* CK_HTTP_* bit */
  const char *method_name;     /* static */
  int minor;                   /* HTTP/1.<minor> */
  int headers_done;            /* head parsed; body (if any) follows */
  char *path;                  /* arena */
  const char *path_rest;       /* inside path */
  const char *query;           /* arena; "" if none */
  ck__http_hdr *hdrs;          /* arena array */
  size_t nhdrs, hdr_cap;       /* used / allocated */
  uint8_t *body;               /* malloc'ed, NUL-terminated; NULL if none */
  size_t body_len, body_cap;   /* used / allocated */
  size_t body_limit;           /* route or server limit */
  char peer[64];               /* copied from the conn */
  int is_tls;                  /* from the conn */
  const ck__http_route *route; /* NULL: no route; then allow says 404/405 */
  unsigned allow;              /* methods of the best path match */
  int close_after;             /* send Connection: close, then close */
  int keep_alive_10;           /* HTTP/1.0 keep-alive: say so */
  int want_continue;           /* Expect: 100-continue, body accepted */
  int continue_sent;           /* interim response written */
  ck__http_rhdr *rhdrs, *rhdrs_tail; /* extra response headers */
  int precheck_status;         /* body-less request refused by precheck */
  int status;                  /* final status, for the access log */
  char *out;                   /* RESPONDED: malloc'ed response bytes */
  size_t out_len;
  int in_work;                 /* ck_http_defer work in flight */
  uv_work_t work;              /* thread-pool request */
  ck_http_work_cb work_cb, after_cb;
  void *work_arg;
  uint64_t start_ms;           /* monotonic, first byte */
};

/* Timer phases of a connection (what the single timer is counting). */
enum {
  CK__T_NONE = 0,
  CK__T_HEADER, /* waiting for the end of a request head */
  CK__T_BODY,   /* waiting for the end of a body */
  CK__T_IDLE,   /* keep-alive: waiting for the next request */
  CK__T_WRITE   /* backpressure: the client is not reading */
};

struct ck__http_conn {
  ck_http_server *srv;        /* borrowed */
  ck_conn *conn;              /* owned; closed by conn_close */
  ck__http_conn *prev, *next; /* server's list */
  ck__http_parser *parser;    /* owned */
  uv_timer_t timer;           /* one timer, re-armed per phase */
  int timer_kind;             /* CK__T_* */
  unsigned timer_gen;         /* gen when the running timer was armed */
  unsigned gen;               /* requests completed on this conn */
  size_t timer_wq;            /* write queue size when the timer was armed
                                 (CK__T_WRITE: progress resets it) */
  ck_http_req *head, *tail;   /* request queue, oldest first */
  unsigned nq;                /* entries in the queue */
  ck_http_req *cur;           /* being parsed (== tail) or NULL */
  ck_http_req *done;          /* just completed by the parser */
  char *stash;                /* received bytes not parsed yet (paused) */
  size_t stash_len;
  char *url;                  /* scratch: request target being received */
  size_t url_len, url_cap;
  char *field, *value;        /* scratch: header being received */
  size_t field_len, field_cap, value_len, value_cap;
  int in_value;               /* last piece was a header value */
  size_t header_bytes;        /* bytes of the current head so far */
  int reject_status;          /* status decided by a parse callback */
  const char *reject_reason;  /* static, for the log */
  int busy;                   /* pump / feed running: do not re-enter */
  int again;                  /* pump was asked for while busy */
  int reading;                /* read_start is on */
  int eof;                    /* the client has half-closed */
  int no_more;                /* parse no further requests */
  int close_when_flushed;     /* a response said Connection: close */
  int backpressure;           /* stopped reading: write queue too long */
  int partial;                /* bytes of a next request have arrived */
  int fresh;                  /* no request yet on this conn */
  int closing;                /* conn_close has run */
  int handles_open;           /* timer + conn not yet closed */
};

struct ck_http_server {
  uv_loop_t *loop;            /* borrowed */
  ck_http_config cfg;         /* with defaults filled in */
  char server_name[64];       /* Server header value */
  ck__http_route **routes;    /* owned array of owned routes (stable
                                 addresses: requests point at them) */
  size_t nroutes;
  ck_listener **listeners;    /* owned array */
  size_t nlisteners;
  unsigned listeners_open;    /* not yet closed by libuv */
  int port;                   /* port of the latest listener */
  ck__http_conn *conns;       /* open connections */
  ck_http_stats stats;        /* counters */
  int closing;                /* ck_http_server_close was called */
  void (*close_cb)(void *);   /* user's close callback */
  void *close_arg;
};

/* Feeds received bytes into hc's parser and advances the connection (the
 * read path of the socket, and the fuzzer's entry point). c must be a conn
 * attached to an HTTP server. */
void ck__http_conn_feed(ck_conn *c, const uint8_t *data, size_t len);

/* http_request.c */
ck_http_req *ck__http_req_new(ck__http_conn *hc);
/* Frees req and its memory; updates the server counters (and may finish a
 * pending server close, so srv must not be used after). */
void ck__http_req_free(ck_http_req *req);
/* Builds the full response for a server-made answer (errors, 404, 405)
 * into req->out and marks it RESPONDED. CK_ERR_NOMEM on failure. */
ck_err ck__http_req_make_error(ck_http_req *req, int status);

/* http_server.c */
/* Called by ck_http_respond once req (in state HANDLER, attached) has its
 * response: writes it now if it is at the head of the queue, else keeps it
 * (head and body copied into req->out) for pump. Frees req when written. */
ck_err ck__http_conn_deliver(ck_http_req *req, char *headbuf, size_t headlen,
                             const void *body, size_t bodylen);
void ck__http_server_maybe_free(ck_http_server *srv);

#endif
