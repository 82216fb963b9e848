/* revoke.c — ACME revokeCert (RFC 8555 §7.6) through the coordinator's
 * revocation path: store revocation + audit in one write, then OCSP/CRL
 * told at once (ck_validation_revoked), as REST revocation does.
 *
 * Who may revoke: the account the certificate was issued to (the
 * "acme.cert" document written at issuance), or anyone holding the
 * certificate's private key (a JWS with that key as jwk). Reasons: RFC 5280
 * codes unspecified(0), keyCompromise(1), affiliationChanged(3),
 * superseded(4), cessationOfOperation(5), privilegeWithdrawn(9). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto/crl.h"
#include "common/crypto/crypto.h"
#include "common/util/log.h"
#include "common/util/mem.h"
#include "coordinator/acme/acme_int.h"
#include "coordinator/acme/acme_util.h"
#include "coordinator/validation/validation.h"

static int reason_ok(int r) {
  return r == 0 || r == 1 || r == 3 || r == 4 || r == 5 || r == 9;
}

void acme_revoke(ck_acme_call *c) {
  ck_errctx err = CK_ERRCTX_INIT;
  const char *b64 =
      c->payload != NULL ? acme_str(c->payload, "certificate") : "";
  json_t *reason_v =
      c->payload != NULL ? json_object_get(c->payload, "reason") : NULL;
  json_t *owner_doc = NULL;
  uint8_t *der = NULL, spki[CK_ACME_SPKI_MAX], h[CK_SHA256_LEN];
  char hex[CK_SHA256_HEX_LEN];
  size_t der_len = 0, spki_len = 0;
  ck_arena *ar = NULL;
  ck_cert *cert = NULL;
  ck_store_cert sc;
  ck_store_revocation r;
  ck_store_write *w = NULL;
  const char *fp;
  int reason = 0, allowed = 0;
  ck_err rc;

  if (b64[0] == '\0' || strlen(b64) > 90000 ||
      (der = malloc(strlen(b64))) == NULL ||
      ck_b64u_decode(b64, strlen(b64), der, strlen(b64), &der_len) != CK_OK ||
      ck_cert_parse(der, der_len, &cert, &err) != CK_OK) {
    acme_problem(c, 400, "malformed",
                 "revokeCert needs certificate: a DER certificate in "
                 "base64url");
    goto out;
  }
  if (reason_v != NULL) {
    if (!json_is_integer(reason_v) ||
        !reason_ok((int)json_integer_value(reason_v))) {
      acme_problem(
          c, 400, "badRevocationReason",
          "reason must be one of 0, 1, 3, 4, 5, 9 (RFC 5280 CRLReason)");
      goto out;
    }
    reason = (int)json_integer_value(reason_v);
  }
  fp = ck_cert_get_info(cert)->sha256_hex;
  if ((ar = ck_arena_new(8192)) == NULL) {
    acme_internal(c, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  rc = ck_store_cert_get(c->a->rt->store, fp, 0, ar, &sc, &err);
  if (rc == CK_ERR_NOT_FOUND ||
      (rc == CK_OK && sc.source != CK_CERT_SRC_ISSUED)) {
    acme_problem(c, 404, "malformed", "this certificate was not issued here");
    goto out;
  }
  if (rc != CK_OK) {
    acme_internal(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  if (c->jws.kid != NULL) {
    ck_errctx e2 = CK_ERRCTX_INIT;
    allowed =
        acme_doc_load(c->a, ACME_K_CERT, fp, &owner_doc, NULL, &e2) == CK_OK &&
        strcmp(acme_str(owner_doc, "account"), c->acct_id) == 0;
  } else if (ck_acme_jwk_spki(c->jws.jwk, spki, sizeof spki, &spki_len) ==
                 CK_OK &&
             ck_crypto_sha256(spki, spki_len, h) == CK_OK) {
    ck_hex_encode(h, sizeof h, hex);
    allowed = ck_ct_equal(hex, sc.spki_sha256, 64);
  }
  if (!allowed) {
    acme_problem(c, 403, "unauthorized",
                 c->jws.kid != NULL
                     ? "account %s did not obtain this certificate"
                     : "the JWS key%s is not the certificate's key",
                 c->jws.kid != NULL ? c->acct_id : "");
    goto out;
  }
  if (sc.status == CK_CERT_REVOKED) {
    acme_problem(c, 400, "alreadyRevoked", "certificate %s is already revoked",
                 sc.serial_hex);
    goto out;
  }
  if (c->actor[0] == '\0')
    snprintf(c->actor, sizeof c->actor, "acme:%s/cert-key", c->dir.name);
  memset(&r, 0, sizeof r);
  ck_strlcpy(r.cert_fp, sc.fingerprint, sizeof r.cert_fp);
  r.reason = reason;
  r.actor = c->actor;
  if ((w = ck_store_write_new()) == NULL) {
    acme_internal(c, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  rc = ck_store_write_revoke(w, &r, &err);
  if (rc == CK_OK)
    rc =
        acme_audit(w, c->actor, "cert.revoke", "cert", sc.fingerprint,
                   json_pack("{s:s,s:s,s:s}", "serial", sc.serial_hex, "reason",
                             ck_crl_reason_name(reason), "via", "acme"),
                   &err);
  if (rc == CK_OK)
    rc = ck_store_submit_wait(c->a->rt->store, w, &err);
  if (rc == CK_ERR_CONFLICT) {
    acme_problem(c, 400, "alreadyRevoked", "certificate %s is already revoked",
                 sc.serial_hex);
    goto out;
  }
  if (rc != CK_OK) {
    acme_internal(c, rc, ck_errctx_msg(&err));
    goto out;
  }
  if (c->a->rt->validation != NULL)
    ck_validation_revoked(c->a->rt->validation, sc.ca_id, sc.serial_hex);
  ck_log(CK_LOG_SEC, CK_LOG_NOTICE, "cert.revoke", CK_S("actor", c->actor),
         CK_S("serial", sc.serial_hex), CK_S("fingerprint", sc.fingerprint),
         CK_S("reason", ck_crl_reason_name(reason)));
  c->status = 200;
  c->ctype = NULL;
out:
  ck_store_write_free(w);
  json_decref(owner_doc);
  ck_arena_free(ar);
  ck_cert_free(cert);
  free(der);
}
