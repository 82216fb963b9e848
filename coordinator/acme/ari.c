/* ari.c — ACME Renewal Information (RFC 9773): GET
 * renewal-info/<certID> answers the window in which the client should
 * renew. The window starts at the certificate's renewal time under its
 * profile (ck_profile_renew_at: what agents use too) and ends halfway to
 * expiry, so clients spread out instead of renewing all at once. When the
 * certificate must go early — a replace-then-revoke plan waits for it
 * (workflow/revoke_plan.h), or it is revoked — the window moves to now.
 *
 * certID (RFC 9773 §4.1) = base64url(AKI keyIdentifier) "."
 * base64url(serial DER content octets). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/clock.h"
#include "common/util/mem.h"
#include "coordinator/acme/acme_int.h"
#include "coordinator/acme/acme_util.h"
#include "coordinator/ca/ca.h"
#include "coordinator/policy/profile.h"
#include "coordinator/workflow/profile_cache.h"
#include "coordinator/workflow/revoke_plan.h"

#define ARI_RETRY_AFTER 21600 /* 6 h, RFC 9773 §4.3 */

/* 1 when a waiting replace-then-revoke plan names fingerprint. */
static int plan_waiting(ck_acme *a, const char *fingerprint) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_plan *plans = NULL;
  size_t n = 0, i;
  int hit = 0;

  if (a->rt->plans == NULL || ck_revoke_plans_get(a->rt->plans, 0, CK_PLAN_MAX,
                                                  &plans, &n, &err) != CK_OK)
    return 0;
  for (i = 0; i < n && !hit; i++)
    hit = plans[i].state == CK_PLAN_WAITING &&
          strcmp(plans[i].fingerprint, fingerprint) == 0;
  ck_revoke_plans_free_copy(plans, n);
  return hit;
}

int acme_cert_by_id(ck_acme_call *c, const char *cert_id, ck_arena *ar,
                    ck_store_cert *out) {
  ck_errctx err = CK_ERRCTX_INIT;
  const char *dot = strchr(cert_id, '.');
  uint8_t aki[64], serial[64];
  size_t aki_len = 0, serial_len = 0, i, n = 0, k;
  char aki_hex[130], serial_hex[130];
  ck_cert_filter f;
  ck_store_page pg;
  ck_store_cert *items = NULL;
  ck_err rc;

  if (dot == NULL || strchr(dot + 1, '.') != NULL ||
      ck_b64u_decode(cert_id, (size_t)(dot - cert_id), aki, sizeof aki,
                     &aki_len) != CK_OK ||
      ck_b64u_decode(dot + 1, strlen(dot + 1), serial, sizeof serial,
                     &serial_len) != CK_OK ||
      aki_len == 0 || serial_len == 0)
    return acme_problem(c, 400, "malformed",
                        "certID must be base64url(AKI "
                        "keyIdentifier).base64url(serial) (RFC 9773)");
  ck_hex_encode(aki, aki_len, aki_hex);
  for (k = 0; k + 1 < serial_len && serial[k] == 0; k++)
    ;
  ck_hex_encode(serial + k, serial_len - k, serial_hex);
  memset(&f, 0, sizeof f);
  f.by = CK_CERTQ_SERIAL;
  f.key = serial_hex;
  memset(&pg, 0, sizeof pg);
  pg.limit = 100;
  if ((rc = ck_store_cert_list(c->a->rt->store, &f, &pg, ar, &items, &n,
                               &err)) != CK_OK)
    return acme_internal(c, rc, ck_errctx_msg(&err));
  for (i = 0; i < n; i++) {
    const ck_ca *ca = ck_ca_set_by_id(c->a->rt->cas, items[i].ca_id);
    const char *ski = ca != NULL ? ck_cert_get_info(ca->cert)->ski_hex : "";
    if (ski != NULL && strcmp(ski, aki_hex) == 0) {
      *out = items[i];
      return 1;
    }
  }
  return acme_problem(c, 404, "malformed",
                      "no certificate issued here has certID %.200s", cert_id);
}

void acme_renewal_info(ck_acme_call *c, const char *cert_id) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_store_cert one, *sc = &one;
  ck_arena *ar = NULL;
  const ck_profile *prof = NULL;
  int64_t now = ck_clock_now(), start, end;
  int early = 0;

  if ((ar = ck_arena_new(8192)) == NULL) {
    acme_internal(c, CK_ERR_NOMEM, "out of memory");
    return;
  }
  if (!acme_cert_by_id(c, cert_id, ar, &one))
    goto out;
  if (sc->profile[0] != '\0' &&
      ck_profile_cache_get(c->a->rt->profiles, sc->profile, &prof, &err) ==
          CK_OK) {
    start = ck_profile_renew_at(prof, sc->not_before, sc->not_after);
  } else {
    start = sc->not_after - (sc->not_after - sc->not_before) / 3;
  }
  end = start + (sc->not_after - start) / 2;
  if (sc->status == CK_CERT_REVOKED || plan_waiting(c->a, sc->fingerprint)) {
    early = 1;
    start = now;
    end = now + 3600 < sc->not_after ? now + 3600 : sc->not_after;
  }
  if (end <= start)
    end = start + 60;
  c->retry_after = early ? 3600 : ARI_RETRY_AFTER;
  acme_json(c, 200,
            json_pack("{s:{s:o,s:o}}", "suggestedWindow", "start",
                      acme_time(start), "end", acme_time(end)));
out:
  if (prof != NULL)
    ck_profile_cache_put(c->a->rt->profiles, prof);
  ck_arena_free(ar);
}
