/* svc_ca.c — unauthenticated endpoints on the plain HTTP listener:
 *   GET /healthz         200 "ok" once every service is ready, else 503;
 *   GET /ca/chain.pem    the default issuing CA followed by its parents, PEM;
 *   GET /ca/<name>.crt   one CA certificate, DER (the AIA caIssuers URL);
 *   GET /ca/<name>.pem   the same, PEM.
 * Everything is served from memory loaded at start (no store access). */
#include "coordinator/http/svc_ca.h"

#include <string.h>

#include "coordinator/ca/ca.h"

static void healthz(ck_http_req *req, void *arg) {
  ck_coord_rt *rt = arg;

  if (rt->ready && !rt->draining)
    ck_http_respond(req, 200, "text/plain", "ok\n", 3);
  else
    ck_http_respond(req, 503, "text/plain", "starting\n", 9);
}

static void ca_files(ck_http_req *req, void *arg) {
  ck_coord_rt *rt = arg;
  const char *rest = ck_http_req_path_rest(req), *dot;
  char name[64];
  const ck_ca *ca;
  size_t n;

  ck_http_add_header(req, "Cache-Control", "max-age=3600");
  if (strcmp(rest, "chain.pem") == 0) {
    ck_http_respond(req, 200, "application/pem-certificate-chain", rt->chain_pem,
                    rt->chain_pem_len);
    return;
  }
  dot = strrchr(rest, '.');
  n = dot != NULL ? (size_t)(dot - rest) : 0;
  if (n == 0 || n >= sizeof name || strchr(rest, '/') != NULL) {
    ck_http_respond_status(req, 404);
    return;
  }
  memcpy(name, rest, n);
  name[n] = '\0';
  ca = ck_ca_set_find(rt->cas, name);
  if (ca == NULL) {
    ck_http_respond_status(req, 404);
  } else if (strcmp(dot, ".crt") == 0 || strcmp(dot, ".der") == 0) {
    size_t len;
    const uint8_t *der = ck_cert_der(ca->cert, &len);
    ck_http_respond(req, 200, "application/pkix-cert", der, len);
  } else if (strcmp(dot, ".pem") == 0) {
    ck_http_respond(req, 200, "application/x-pem-file", ca->pem, ca->pem_len);
  } else {
    ck_http_respond_status(req, 404);
  }
}

ck_err ck_svc_ca_register(ck_http_server *srv, ck_coord_rt *rt, ck_errctx *err) {
  ck_err rc = ck_http_server_route(srv, CK_HTTP_GET, "/healthz", healthz, rt, err);

  if (rc == CK_OK)
    rc = ck_http_server_route_prefix(srv, CK_HTTP_GET, "/ca/", ca_files, rt, err);
  return rc;
}
