/* tls_trust.c — the HTTPS listener's TLS context as EST needs it: client
 * certificates of any purpose (RFC 7030 §3.3.2 re-enrollment with the
 * certificate being renewed) and the fleets' IDevID trust anchors next to
 * our own CAs, so a manufacturer-issued device certificate survives the
 * handshake and reaches auth.c, which checks it against its own fleet's
 * anchor. REST ignores client certificates, so widening the bundle only
 * lets more certificates *reach* EST's checks. */
#include <stdlib.h>
#include <string.h>

#include "common/util/log.h"
#include "coordinator/est/est.h"

#define MAX_PAGES 10

ck_err ck_estd_https_tls(ck_coord_rt *rt, const ck_tls_config *base,
                         ck_tls_ctx **out, ck_errctx *err) {
  ck_tls_config tc = *base;
  ck_errctx e2 = CK_ERRCTX_INIT;
  ck_arena *a = NULL;
  ck_doc_filter f;
  ck_store_page pg;
  ck_store_doc *items = NULL;
  char *bundle = NULL;
  size_t n = 0, i, len = base->ca_pem_len, cap = base->ca_pem_len + 1;
  int pages = 0, anchors = 0;
  ck_err rc;

  if ((bundle = malloc(cap)) == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "HTTPS trust bundle");
  memcpy(bundle, base->ca_pem, base->ca_pem_len);
  bundle[len] = '\0';
  if ((a = ck_arena_new(65536)) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "HTTPS trust bundle");
    goto out;
  }
  memset(&f, 0, sizeof f);
  memset(&pg, 0, sizeof pg);
  f.kind = CK_ESTD_KIND_FLEET;
  pg.limit = CK_STORE_PAGE_MAX;
  do {
    if (ck_store_doc_list(rt->store, &f, &pg, a, &items, &n, &e2) != CK_OK) {
      ck_log(CK_LOG_OPS, CK_LOG_WARN, "est.idevid.anchors",
             CK_S("msg", ck_errctx_msg(&e2)));
      break;
    }
    for (i = 0; i < n; i++) {
      ck_estd_fleet fl;
      size_t pl;
      char *nb;
      if (strstr(items[i].doc, "idevid_pem") == NULL ||
          ck_estd_fleet_from_doc(&items[i], &fl, NULL) != CK_OK)
        continue;
      pl = fl.idevid_pem != NULL ? strlen(fl.idevid_pem) : 0;
      if (pl > 0 && (nb = realloc(bundle, cap + pl + 1)) != NULL) {
        bundle = nb;
        bundle[len++] = '\n';
        memcpy(bundle + len, fl.idevid_pem, pl);
        len += pl;
        bundle[len] = '\0';
        cap += pl + 1;
        anchors++;
      }
      ck_estd_fleet_clear(&fl);
    }
    pg.cursor = pg.next_cursor;
  } while (pg.cursor != NULL && ++pages < MAX_PAGES);
  tc.ca_pem = (const uint8_t *)bundle;
  tc.ca_pem_len = len;
  tc.ca_file = NULL;
  tc.client_any_purpose = 1;
  rc = ck_tls_ctx_new(&tc, out, &e2);
  if (rc != CK_OK && anchors > 0) {
    /* an anchor the TLS library refuses must not take HTTPS down: serve
     * without the anchors (IDevID enrollment fails, and says so here) */
    ck_log(CK_LOG_OPS, CK_LOG_ERR, "est.idevid.anchors_refused",
           CK_I("fleets", anchors), CK_E(rc, ck_errctx_msg(&e2)));
    tc.ca_pem = base->ca_pem;
    tc.ca_pem_len = base->ca_pem_len;
    anchors = 0;
    rc = ck_tls_ctx_new(&tc, out, &e2);
  }
  if (rc != CK_OK)
    rc = ck_failf(err, rc, "HTTPS TLS context: %s", ck_errctx_msg(&e2));
  else if (anchors > 0)
    ck_log(CK_LOG_OPS, CK_LOG_INFO, "est.idevid.anchors",
           CK_I("fleets", anchors));
out:
  ck_arena_free(a);
  free(bundle);
  return rc;
}
