/* auth.c — who is asking an EST question (RFC 7030 §3.2.3, §3.3.2):
 *   - simplereenroll: the TLS client certificate must be one we issued over
 *     EST (an "est.device" record), still active; it names the fleet;
 *   - simpleenroll / serverkeygen: HTTP Basic with user = fleet name and
 *     the fleet secret or a one-time password of that fleet, or else a TLS
 *     client certificate that chains to a fleet's IDevID anchor.
 * Failures answer 401 (with WWW-Authenticate: Basic) when credentials are
 * missing or wrong, 403 when a certificate is presented but may not be
 * used. Messages never say whether a fleet exists. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/est/est_int.h"

#define REALM "certkeeper EST"

const char *ck__estd_auth_name(ck__estd_auth k) {
  switch (k) {
  case CK__ESTD_AUTH_SECRET:
    return "secret";
  case CK__ESTD_AUTH_OTP:
    return "otp";
  case CK__ESTD_AUTH_REENROLL:
    return "reenroll";
  case CK__ESTD_AUTH_IDEVID:
    return "idevid";
  }
  return "?";
}

void ck__estd_refuse(ck_estd_result *out, int status, const char *fmt, ...) {
  va_list ap;

  out->status = status;
  va_start(ap, fmt);
  vsnprintf(out->message, sizeof out->message, fmt, ap);
  va_end(ap);
  if (status == 401)
    out->realm = REALM;
}

void ck__estd_who_clear(ck__estd_who *who) {
  if (who == NULL)
    return;
  ck_estd_fleet_clear(&who->fleet);
  ck_cert_free(who->presented);
  memset(who, 0, sizeof *who);
}

/* The device id an IDevID certificate carries: the subject's serialNumber
 * attribute (RFC 8995 §2.3.1), else its CN. */
static void idevid_device(const ck_cert_info *ci, char *out, size_t len) {
  const char *p = strstr(ci->subject, "serialNumber=");
  size_t n;

  if (p != NULL && (p == ci->subject || p[-1] == ',')) {
    p += strlen("serialNumber=");
    n = strcspn(p, ",+");
    if (n >= len)
      n = len - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return;
  }
  ck_strlcpy(out, ci->subject_cn, len);
}

/* The certificate being renewed: ours, active, issued over EST. */
static int auth_reenroll(ck_coord_rt *rt, const ck_estd_req *in,
                         ck__estd_who *who, ck_estd_result *out) {
  ck_errctx err = CK_ERRCTX_INIT;
  char fleet[CK_ESTD_NAME_MAX];
  ck_arena *a = NULL;
  ck_store_cert sc;
  const ck_cert_info *ci;
  int ok = 0;
  ck_err rc;

  if (in->peer_cert == NULL) {
    ck__estd_refuse(
        out, 403,
        "simplereenroll needs the certificate being renewed as the TLS client "
        "certificate");
    return 0;
  }
  if (ck_cert_parse(in->peer_cert, in->peer_cert_len, &who->presented, &err) !=
      CK_OK) {
    ck__estd_refuse(out, 403, "the TLS client certificate does not parse");
    return 0;
  }
  ci = ck_cert_get_info(who->presented);
  memcpy(who->renews, ci->sha256_hex, sizeof who->renews);
  if ((a = ck_arena_new(4096)) == NULL) {
    ck__estd_refuse(out, 503, "out of memory");
    return 0;
  }
  rc = ck_store_cert_get(rt->store, ci->sha256_hex, 0, a, &sc, &err);
  if (rc == CK_ERR_NOT_FOUND ||
      (rc == CK_OK && sc.source != CK_CERT_SRC_ISSUED)) {
    ck__estd_refuse(
        out, 403,
        "the TLS client certificate was not issued by this coordinator");
    goto out;
  }
  if (rc != CK_OK) {
    ck__estd_refuse(out, 500, "store: %s", ck_errctx_msg(&err));
    goto out;
  }
  if (sc.status != CK_CERT_ACTIVE || sc.not_after <= ck_clock_now()) {
    ck__estd_refuse(out, 403, "the certificate being renewed is %s",
                    sc.status != CK_CERT_ACTIVE ? ck_cert_status_name(sc.status)
                                                : "expired");
    goto out;
  }
  rc = ck_estd_device_get(rt->store, ci->sha256_hex, fleet, who->device,
                          sizeof who->device, &err);
  if (rc == CK_ERR_NOT_FOUND) {
    ck__estd_refuse(out, 403,
                    "the TLS client certificate was not issued over EST; renew "
                    "it the way it "
                    "was issued");
    goto out;
  }
  if (rc == CK_OK)
    rc = ck_estd_fleet_get(rt->store, fleet, &who->fleet, &err);
  if (rc == CK_ERR_NOT_FOUND) {
    ck__estd_refuse(out, 403, "the certificate's fleet '%s' no longer exists",
                    fleet);
    goto out;
  }
  if (rc != CK_OK) {
    ck__estd_refuse(out, 500, "store: %s", ck_errctx_msg(&err));
    goto out;
  }
  who->kind = CK__ESTD_AUTH_REENROLL;
  ok = 1;
out:
  ck_arena_free(a);
  return ok;
}

ck_err ck__estd_csr_digest(const ck_csr *csr, char out[CK_SHA256_HEX_LEN]) {
  uint8_t h[CK_SHA256_LEN];
  size_t len = 0;
  const uint8_t *der = ck_csr_der(csr, &len);
  ck_err rc;

  out[0] = '\0';
  if (der == NULL)
    return CK_ERR_INVAL;
  if ((rc = ck_crypto_sha256(der, len, h)) != CK_OK)
    return rc;
  return ck_crypto_hex(h, sizeof h, 0, out, CK_SHA256_HEX_LEN);
}

/* A used one-time password still admits the CSR of the request it paid
 * for while that waits for approval (the device polls for the result). */
static int otp_collects(const ck__estd_who *who, const ck_csr *csr) {
  char hex[CK_SHA256_HEX_LEN];

  return who->otp.pending_csr[0] != '\0' && who->otp.used_for[0] == '\0' &&
         csr != NULL && ck__estd_csr_digest(csr, hex) == CK_OK &&
         ck_ct_equal(hex, who->otp.pending_csr, CK_SHA256_HEX_LEN - 1);
}

/* HTTP Basic: fleet secret or one-time password. */
static int auth_basic(ck_coord_rt *rt, const ck_csr *csr, const char *user,
                      const char *pass, ck__estd_who *who,
                      ck_estd_result *out) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_err rc;

  rc = ck_estd_fleet_get(rt->store, user, &who->fleet, &err);
  if (rc == CK_ERR_NOT_FOUND || rc == CK_ERR_PARSE) {
    char h[CK_SHA256_HEX_LEN];
    /* as slow as a real check, so timing does not tell which fleets exist */
    (void)ck_estd_secret_hash("00000000000000000000000000000000", pass, h);
    ck__estd_refuse(out, 401, "unknown fleet or wrong password");
    return 0;
  }
  if (rc != CK_OK) {
    ck__estd_refuse(out, 500, "store: %s", ck_errctx_msg(&err));
    return 0;
  }
  /* one-time passwords carry a prefix; try them first (cheap lookup) */
  if (strncmp(pass, "ckd_", 4) == 0) {
    rc = ck_estd_otp_get(rt->store, pass, &who->otp, &err);
    if (rc == CK_OK && strcmp(who->otp.fleet, who->fleet.name) == 0) {
      if (who->otp.used_at != 0 && !otp_collects(who, csr)) {
        ck__estd_refuse(out, 401,
                        "this one-time password has already been used");
        return 0;
      }
      who->otp_pending = who->otp.used_at != 0;
      if (!who->otp_pending && who->otp.expires_at != 0 &&
          who->otp.expires_at <= ck_clock_now()) {
        ck__estd_refuse(out, 401, "this one-time password has expired");
        return 0;
      }
      who->kind = CK__ESTD_AUTH_OTP;
      ck_strlcpy(who->device, who->otp.device, sizeof who->device);
      return 1;
    }
    if (rc != CK_OK && rc != CK_ERR_NOT_FOUND) {
      ck__estd_refuse(out, 500, "store: %s", ck_errctx_msg(&err));
      return 0;
    }
  }
  if (ck_estd_fleet_check_secret(&who->fleet, pass)) {
    who->kind = CK__ESTD_AUTH_SECRET;
    return 1;
  }
  ck__estd_refuse(out, 401, "unknown fleet or wrong password");
  return 0;
}

/* Does cert chain to the fleet's IDevID anchors? */
static int idevid_ok(const ck_estd_fleet *f, const ck_cert *cert) {
  ck_cert_list anchors = {0};
  int ok = 0;

  if (f->idevid_pem == NULL || f->idevid_pem[0] == '\0')
    return 0;
  if (ck_cert_list_parse(&anchors, (const uint8_t *)f->idevid_pem,
                         strlen(f->idevid_pem), NULL) == CK_OK &&
      ck_cert_verify(cert, NULL, &anchors, 0, NULL) == CK_OK)
    ok = 1;
  ck_cert_list_clear(&anchors);
  return ok;
}

/* IDevID: the fleet of the label, or any fleet with an anchor. */
static int auth_idevid(ck_coord_rt *rt, const ck_estd_req *in,
                       ck__estd_who *who) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_arena *a = NULL;
  ck_doc_filter f;
  ck_store_page pg;
  ck_store_doc *items = NULL;
  size_t n = 0, i;
  int ok = 0, pages = 0;

  if (ck_cert_parse(in->peer_cert, in->peer_cert_len, &who->presented, NULL) !=
      CK_OK)
    return 0;
  if (in->label[0] != '\0') {
    if (ck_estd_fleet_by_label(rt->store, in->label, &who->fleet, &err) ==
            CK_OK &&
        idevid_ok(&who->fleet, who->presented))
      ok = 1;
    goto out;
  }
  if ((a = ck_arena_new(16384)) == NULL)
    goto out;
  memset(&f, 0, sizeof f);
  memset(&pg, 0, sizeof pg);
  f.kind = CK_ESTD_KIND_FLEET;
  pg.limit = CK_STORE_PAGE_MAX;
  do { /* bounded: at most 10 pages of fleets */
    if (ck_store_doc_list(rt->store, &f, &pg, a, &items, &n, &err) != CK_OK)
      goto out;
    for (i = 0; i < n && !ok; i++) {
      if (strstr(items[i].doc, "idevid_pem") == NULL)
        continue;
      ck_estd_fleet_clear(&who->fleet);
      if (ck_estd_fleet_from_doc(&items[i], &who->fleet, &err) == CK_OK &&
          idevid_ok(&who->fleet, who->presented))
        ok = 1;
    }
    pg.cursor = pg.next_cursor;
  } while (!ok && pg.cursor != NULL && ++pages < 10);
out:
  ck_arena_free(a);
  if (ok) {
    who->kind = CK__ESTD_AUTH_IDEVID;
    idevid_device(ck_cert_get_info(who->presented), who->device,
                  sizeof who->device);
  } else {
    ck_estd_fleet_clear(&who->fleet);
    ck_cert_free(who->presented);
    who->presented = NULL;
  }
  return ok;
}

int ck__estd_authenticate(ck_coord_rt *rt, const ck_estd_req *in,
                          ck__estd_who *who, ck_estd_result *out) {
  char user[CK_ESTD_NAME_MAX + 64], pass[CK_ESTD_SECRET_MAX + 1];
  int ok = 0;
  ck_err rc;

  memset(who, 0, sizeof *who);
  if (in->op == CK_ESTD_OP_SIMPLEREENROLL)
    return auth_reenroll(rt, in, who, out);
  rc = ck_estd_parse_basic(in->authorization, user, sizeof user, pass,
                           sizeof pass);
  if (rc == CK_OK) {
    ok = auth_basic(rt, in->csr, user, pass, who, out);
  } else if (rc == CK_ERR_PARSE) {
    ck__estd_refuse(out, 401, "malformed HTTP Basic credentials");
  } else if (in->peer_cert != NULL && auth_idevid(rt, in, who)) {
    ok = 1;
  } else if (in->peer_cert != NULL) {
    ck__estd_refuse(
        out, 401,
        "the TLS client certificate does not chain to a fleet's IDevID trust "
        "anchor; use HTTP Basic with the fleet name and its secret or a "
        "one-time "
        "password");
  } else {
    ck__estd_refuse(out, 401,
                    "authentication required: HTTP Basic with the fleet name "
                    "and its secret "
                    "or a one-time password, or an IDevID client certificate");
  }
  ck_wipe(pass, sizeof pass);
  ck_wipe(user, sizeof user);
  if (!ok)
    ck__estd_who_clear(who);
  return ok;
}
