/* cacerts.c — the two unauthenticated EST answers: /cacerts (RFC 7030
 * §4.1: the CA certificates, as certs-only PKCS#7 — the issuing CA of the
 * label's fleet profile with its parents up to the root, or the default CA
 * without a label) and /csrattrs (§4.5: what we would like in a CSR). */
#include <stdlib.h>
#include <string.h>

#include "common/crypto/pkcs7.h"
#include "coordinator/ca/ca.h"
#include "coordinator/est/est_int.h"
#include "coordinator/policy/profile.h"
#include "coordinator/workflow/profile_cache.h"

/* The CA of the label's fleet (default CA without label). 0 with out set
 * on failure. */
static const ck_ca *label_ca(ck_coord_rt *rt, const char *label,
                             ck_estd_result *out) {
  ck_errctx err = CK_ERRCTX_INIT;
  const ck_profile *prof = NULL;
  const ck_ca *ca = NULL;
  ck_estd_fleet f;
  ck_err rc;

  if (label == NULL || label[0] == '\0')
    return ck_ca_set_default(rt->cas);
  memset(&f, 0, sizeof f);
  rc = ck_estd_fleet_by_label(rt->store, label, &f, &err);
  if (rc == CK_ERR_NOT_FOUND) {
    ck__estd_refuse(out, 404, "no EST label '%s'", label);
    return NULL;
  }
  if (rc == CK_OK)
    rc = ck_profile_cache_get(rt->profiles, f.profile, &prof, &err);
  if (rc != CK_OK) {
    ck__estd_refuse(out, 500, "label '%s': %s", label, ck_errctx_msg(&err));
    ck_estd_fleet_clear(&f);
    return NULL;
  }
  ca = prof->ca != NULL && prof->ca[0] != '\0'
           ? ck_ca_set_find(rt->cas, prof->ca)
           : ck_ca_set_default(rt->cas);
  ck_profile_cache_put(rt->profiles, prof);
  ck_estd_fleet_clear(&f);
  if (ca == NULL)
    ck__estd_refuse(out, 500, "label '%s': the profile's CA is not loaded",
                    label);
  return ca;
}

void ck_estd_cacerts(ck_coord_rt *rt, const char *label, ck_estd_result *out) {
  ck_errctx err = CK_ERRCTX_INIT;
  ck_cert_list l = {0};
  ck_pkcs7_cert items[CK_PKCS7_MAX_CERTS];
  const ck_ca *ca;
  size_t i;

  memset(out, 0, sizeof *out);
  if ((ca = label_ca(rt, label, out)) == NULL)
    return;
  if (ck_cert_list_parse(&l, (const uint8_t *)ca->chain_pem, ca->chain_pem_len,
                         &err) != CK_OK) {
    ck__estd_refuse(out, 500, "CA chain: %s", ck_errctx_msg(&err));
    return;
  }
  for (i = 0; i < l.n && i < CK_PKCS7_MAX_CERTS; i++)
    items[i].der = ck_cert_der(l.certs[i], &items[i].len);
  if (ck_pkcs7_certs_only_build(items, i, &out->p7, &out->p7_len, &err) !=
      CK_OK)
    ck__estd_refuse(out, 500, "PKCS#7: %s", ck_errctx_msg(&err));
  else
    out->status = 200;
  ck_cert_list_clear(&l);
}

void ck_estd_csrattrs(ck_coord_rt *rt, const char *label, ck_estd_result *out) {
  /* CsrAttrs ::= SEQUENCE { challengePassword (1.2.840.113549.1.9.7),
   *   ecdsa-with-SHA256 (1.2.840.10045.4.3.2), extensionRequest
   *   (1.2.840.113549.1.9.14) }: bind the request to the TLS channel
   * (RFC 7030 §3.5: tls-unique under TLS 1.2), sign with ECDSA/SHA-256
   * (RSA is accepted too) and put the names in subjectAltName. */
  static const uint8_t attrs[] = {
      0x30, 0x20, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09,
      0x07, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x06,
      0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e};

  memset(out, 0, sizeof *out);
  if (label != NULL && label[0] != '\0' && label_ca(rt, label, out) == NULL)
    return;
  if ((out->p7 = malloc(sizeof attrs)) == NULL) {
    ck__estd_refuse(out, 503, "out of memory");
    return;
  }
  memcpy(out->p7, attrs, sizeof attrs);
  out->p7_len = sizeof attrs;
  out->status = 200;
}
