/* svc_est.h — the EST service (RFC 7030) on the HTTPS listener; see
 * svc_est.c and docs/est.md. */
#ifndef CK_COORD_HTTP_SVC_EST_H
#define CK_COORD_HTTP_SVC_EST_H

#include "common/net/http.h"
#include "coordinator/core/coord_rt.h"

/* Registers /.well-known/est/ on srv (the HTTPS server: client
 * certificates are needed for re-enrollment). rt is borrowed for the
 * server's lifetime. */
ck_err ck_svc_est_register(ck_http_server *srv, ck_coord_rt *rt,
                           ck_errctx *err);

#endif
