/* tlsalpn01.c — the tls-alpn-01 challenge (RFC 8737): a TLS handshake to
 * <name> on the configured port (443, or the tls-alpn-01 port override)
 * with SNI <name> and ALPN "acme-tls/1" only; the server must negotiate
 * acme-tls/1 and present a self-signed certificate whose critical
 * acmeIdentifier extension holds SHA-256(key authorization) and whose only
 * SAN is <name> (checked by common/crypto/acme_alpn.h). The certificate is
 * not verified: that extension is the proof. */
#include <string.h>

#include "common/crypto/acme_alpn.h"
#include "common/util/mem.h"
#include "coordinator/acme/validate_int.h"

ck_err ck__acme_tlsalpn01(const ck_acme_validator *v, const char *identifier,
                          const char *key_authz, uint64_t deadline,
                          ck_acme_validation *res) {
  uint8_t digest[CK_SHA256_LEN];
  ck__acme_addrs addrs;
  ck__acme_vconn c = {.fd = -1, .tls = NULL, .eof = 0};
  ck_errctx err = CK_ERRCTX_INIT;
  const uint8_t *der;
  const char *alpn;
  size_t len = 0;
  int port = v->o.tlsalpn01_port;
  ck_err rc;

  if (ck_crypto_sha256(key_authz, strlen(key_authz), digest) != CK_OK)
    return ck__acme_vfail(res, CK_ERR_CRYPTO, "serverInternal",
                          "cannot hash the key authorization");
  rc = ck__acme_lookup_addrs(v, identifier, deadline, &addrs, res);
  if (rc != CK_OK)
    return rc;
  rc = CK_ERR_NET;
  for (size_t i = 0; i < addrs.n && rc != CK_OK; i++) {
    rc = ck__acme_vconn_open(&c, &addrs.a[i], port, deadline, res);
    if (rc == CK_ERR_TIMEOUT)
      break;
  }
  if (rc != CK_OK) {
    char detail[sizeof res->detail];
    ck_strlcpy(detail, res->detail, sizeof detail);
    return ck__acme_vfail(res, rc, "connection",
                          "tls-alpn-01 connection to %s: %s", identifier,
                          detail);
  }
  rc = ck__acme_vconn_tls(&c, v->alpn_ctx, identifier, deadline, &err);
  if (rc != CK_OK) {
    ck__acme_vfail(res, rc, rc == CK_ERR_TIMEOUT ? "connection" : "tls",
                   "tls-alpn-01 handshake with %s [%s]: %s", identifier,
                   res->address, ck_errctx_msg(&err));
    goto out;
  }
  alpn = ck_tls_session_alpn(c.tls);
  if (alpn == NULL || strcmp(alpn, CK_ACME_ALPN_PROTO) != 0) {
    rc = ck__acme_vfail(res, CK_ERR_TLS, "tls",
                        "%s [%s] did not negotiate the \"%s\" ALPN protocol",
                        identifier, res->address, CK_ACME_ALPN_PROTO);
    goto out;
  }
  der = ck_tls_session_peer_cert(c.tls, &len, NULL);
  if (der == NULL) {
    rc = ck__acme_vfail(res, CK_ERR_TLS, "tls",
                        "%s [%s] presented no certificate", identifier,
                        res->address);
    goto out;
  }
  ck_errctx_clear(&err);
  rc = ck_acme_alpn_cert_check(der, len, identifier, digest, &err);
  if (rc != CK_OK)
    rc = ck__acme_vfail(res, rc == CK_ERR_VERIFY ? CK_ERR_DENIED : rc,
                        rc == CK_ERR_VERIFY ? "incorrectResponse" : "tls",
                        "tls-alpn-01 certificate from %s [%s]: %s",
                        identifier, res->address, ck_errctx_msg(&err));
out:
  ck__acme_vconn_close(&c);
  return rc;
}
