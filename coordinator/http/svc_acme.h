/* svc_acme.h — the ACME service on the HTTPS listener (RFC 8555):
 * /acme/<directory>/... (docs/acme.md). */
#ifndef CK_COORD_HTTP_SVC_ACME_H
#define CK_COORD_HTTP_SVC_ACME_H

#include "common/net/http.h"
#include "coordinator/core/coord_rt.h"

/* Creates the ACME server (rt->acme, freed with ck_acme_free after the
 * loop stopped) and routes /acme/ on srv to it. */
ck_err ck_svc_acme_register(ck_http_server *srv, ck_coord_rt *rt,
                            ck_errctx *err);

#endif
