/* svc_ca.h — health and CA-certificate endpoints (plain HTTP). */
#ifndef CK_COORD_HTTP_SVC_CA_H
#define CK_COORD_HTTP_SVC_CA_H

#include "common/net/http.h"
#include "coordinator/core/coord_rt.h"

ck_err ck_svc_ca_register(ck_http_server *srv, ck_coord_rt *rt, ck_errctx *err);

#endif
