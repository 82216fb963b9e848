/* cert_openssl.c — certificates and CSRs as OpenSSL objects.
 *
 * The neutral parser (x509_fields.c) has already extracted the fields; here
 * OpenSSL must accept the same bytes (d2i_X509 / d2i_X509_REQ consuming all
 * of them) and answers the questions that need signatures: is a certificate
 * self-signed, does a CSR's signature verify with its own key. */
#include <limits.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/crypto/backend_openssl.h"

X509 *ck__cert_x509(const ck_cert *cert) {
  return (X509 *)cert->be;
}

ck_err ck__cert_from_x509(X509 *x, ck_cert **out, ck_errctx *err) {
  unsigned char *der = NULL;
  int n;
  ck_err rc;

  n = i2d_X509(x, &der);
  if (n <= 0)
    return ck__ossl_fail(err, CK_ERR_BAD_CERT, "cannot encode certificate");
  rc = ck__cert_from_der(der, (size_t)n, out, err);
  OPENSSL_free(der);
  return rc;
}

ck_err ck__be_cert_load(ck_cert *c, ck_errctx *err) {
  const unsigned char *p = c->der;
  X509 *x;

  if (c->der_len > LONG_MAX)
    return ck_failf(err, CK_ERR_BAD_CERT, "certificate too large");
  x = d2i_X509(NULL, &p, (long)c->der_len);
  if (x == NULL)
    return ck__ossl_fail(err, CK_ERR_BAD_CERT,
                         "OpenSSL cannot parse the certificate");
  if (p != c->der + c->der_len) {
    X509_free(x);
    return ck_failf(err, CK_ERR_BAD_CERT, "certificate has trailing bytes");
  }
  c->be = x;
  return CK_OK;
}

int ck__be_cert_self_sig(const ck_cert *c) {
  EVP_PKEY *pk;
  int ok;

  if (c->be == NULL)
    return -1;
  pk = X509_get0_pubkey(c->be);
  if (pk == NULL) {
    ERR_clear_error();
    return -1;
  }
  ok = X509_verify(c->be, pk) == 1;
  ERR_clear_error();
  return ok;
}

void ck__be_cert_free(void *be) {
  X509_free(be);
}

ck_err ck__be_csr_load(ck_csr *r, ck_errctx *err) {
  const unsigned char *p = r->der;
  X509_REQ *req;

  if (r->der_len > LONG_MAX)
    return ck_failf(err, CK_ERR_BAD_CSR, "CSR too large");
  req = d2i_X509_REQ(NULL, &p, (long)r->der_len);
  if (req == NULL)
    return ck__ossl_fail(err, CK_ERR_BAD_CSR, "OpenSSL cannot parse the CSR");
  if (p != r->der + r->der_len) {
    X509_REQ_free(req);
    return ck_failf(err, CK_ERR_BAD_CSR, "CSR has trailing bytes");
  }
  r->be = req;
  return CK_OK;
}

ck_err ck__be_csr_verify(const ck_csr *r, ck_errctx *err) {
  EVP_PKEY *pk = X509_REQ_get0_pubkey(r->be);

  if (pk == NULL)
    return ck__ossl_fail(err, CK_ERR_UNSUPPORTED,
                         "cannot use the CSR's %s public key",
                         r->info.key.desc);
  if (X509_REQ_verify(r->be, pk) != 1)
    return ck__ossl_fail(err, CK_ERR_BAD_SIGNATURE,
                         "the CSR's signature does not verify with its key");
  ERR_clear_error();
  return CK_OK;
}

void ck__be_csr_free(void *be) {
  X509_REQ_free(be);
}
