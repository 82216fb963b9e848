/* svc_acme.c — the ACME service's HTTP glue: every request under /acme/
 * becomes a ck_acme_call (coordinator/acme/acme.h) worked on the thread
 * pool and answered on the loop. The body limit here is a hard ceiling;
 * the ACME layer enforces its own, smaller [acme] max_payload with an
 * RFC 8555 problem document. */
#include "coordinator/http/svc_acme.h"

#include "coordinator/acme/acme.h"

#define ACME_BODY_CEILING (1024 * 1024)

static void acme_work(ck_http_req *req, void *arg) {
  (void)req;
  ck_acme_call_work(arg);
}

static void acme_after(ck_http_req *req, void *arg) {
  (void)req;
  ck_acme_call_finish(arg);
}

static void acme_handler(ck_http_req *req, void *arg) {
  ck_coord_rt *rt = arg;
  ck_acme_call *c = ck_acme_call_new(rt->acme, req);

  if (c == NULL) {
    ck_http_respond_status(req, 503);
    return;
  }
  if (ck_http_defer(req, acme_work, acme_after, c) != CK_OK) {
    ck_acme_call_finish(c); /* not worked: answers serverInternal */
  }
}

ck_err ck_svc_acme_register(ck_http_server *srv, ck_coord_rt *rt,
                            ck_errctx *err) {
  ck_http_route r = {0};
  ck_err rc;

  if ((rc = ck_acme_new(rt, &rt->acme, err)) != CK_OK)
    return rc;
  r.methods = CK_HTTP_GET | CK_HTTP_POST;
  r.path = "/acme/";
  r.prefix = 1;
  r.handler = acme_handler;
  r.arg = rt;
  r.max_body_bytes = ACME_BODY_CEILING;
  return ck_http_server_add_route(srv, &r, err);
}
