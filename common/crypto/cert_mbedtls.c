/* cert_mbedtls.c — certificates and CSRs as mbedTLS objects.
 *
 * The neutral parser has extracted the fields already; mbedTLS must accept
 * the bytes too. When it refuses only because it does not know an algorithm
 * (Ed25519 keys or signatures, exotic curves) the certificate stays usable
 * for inventory: CK_ERR_UNSUPPORTED tells cert.c to keep it "info only".
 * Unknown critical extensions are tolerated here (inventory must see such
 * certificates) but not in verify_mbedtls.c, which re-parses strictly.
 * CSRs are checked without mbedtls_x509_csr (see mbed_csr below). */
#include <stdlib.h>

#include <mbedtls/x509_crt.h>
#include <mbedtls/platform.h>

#include "common/crypto/backend_mbedtls.h"

mbedtls_x509_crt *ck__cert_crt(const ck_cert *cert) {
  return (mbedtls_x509_crt *)cert->be;
}

/* 1 when ret only says "algorithm not implemented by mbedTLS". */
static int unsupported(int ret) {
  int high = -((-ret) & 0xff80); /* X.509 errors add a low-level code */

  return ret == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG ||
         ret == MBEDTLS_ERR_PK_UNKNOWN_NAMED_CURVE ||
         high == MBEDTLS_ERR_X509_UNKNOWN_SIG_ALG ||
         high == MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE;
}

static int accept_extension(void *ctx, mbedtls_x509_crt const *crt,
                            mbedtls_x509_buf const *oid, int critical,
                            const unsigned char *p, const unsigned char *end) {
  (void)ctx;
  (void)crt;
  (void)oid;
  (void)critical;
  (void)p;
  (void)end;
  return 0;
}

ck_err ck__be_cert_load(ck_cert *c, ck_errctx *err) {
  mbedtls_x509_crt *crt = malloc(sizeof *crt);
  int ret;

  if (crt == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  mbedtls_x509_crt_init(crt);
  ret = mbedtls_x509_crt_parse_der_with_ext_cb(crt, c->der, c->der_len, 1,
                                               accept_extension, NULL);
  if (ret != 0) {
    ck__be_cert_free(crt);
    return ck__mbed_fail(
        err, unsupported(ret) ? CK_ERR_UNSUPPORTED : CK_ERR_BAD_CERT, ret,
        "mbedTLS cannot parse the certificate");
  }
  c->be = crt;
  return CK_OK;
}

int ck__be_cert_self_sig(const ck_cert *c) {
  mbedtls_x509_crt *crt = c->be;

  if (crt == NULL)
    return -1;
  return ck__mbed_check_sig(crt->sig_md, crt->sig_pk, crt->sig_opts, &crt->pk,
                            crt->tbs.p, crt->tbs.len, crt->sig.p,
                            crt->sig.len) == 0;
}

void ck__be_cert_free(void *be) {
  if (be == NULL)
    return;
  mbedtls_x509_crt_free(be);
  free(be);
}

/* The mbedTLS side of a CSR. mbedtls_x509_csr_parse_der is not used: it
 * refuses an empty subject, which SAN-only requests have. The structure was
 * checked by the neutral parser; here the key and the signature algorithm
 * are loaded for the signature check. */
typedef struct mbed_csr {
  mbedtls_pk_context pk;
  mbedtls_md_type_t md;
  mbedtls_pk_type_t sig_pk;
  void *sig_opts; /* RSASSA-PSS parameters, mbedtls_free'd */
} mbed_csr;

ck_err ck__be_csr_load(ck_csr *r, ck_errctx *err) {
  mbed_csr *m = calloc(1, sizeof *m);
  mbedtls_x509_buf oid, params;
  unsigned char *p = (unsigned char *)r->sig_alg; /* read only */
  int ret;

  if (m == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory");
  mbedtls_pk_init(&m->pk);
  ret = mbedtls_pk_parse_public_key(&m->pk, r->spki, r->spki_len);
  if (ret == 0)
    ret = mbedtls_x509_get_alg(&p, r->sig_alg + r->sig_alg_len, &oid, &params);
  if (ret == 0)
    ret = mbedtls_x509_get_sig_alg(&oid, &params, &m->md, &m->sig_pk,
                                   &m->sig_opts);
  if (ret != 0) {
    ck__be_csr_free(m);
    return ck__mbed_fail(err,
                         unsupported(ret) ? CK_ERR_UNSUPPORTED : CK_ERR_BAD_CSR,
                         ret, "mbedTLS cannot use the CSR");
  }
  r->be = m;
  return CK_OK;
}

ck_err ck__be_csr_verify(const ck_csr *r, ck_errctx *err) {
  mbed_csr *m = r->be;
  int ret = ck__mbed_check_sig(m->md, m->sig_pk, m->sig_opts, &m->pk, r->cri,
                               r->cri_len, r->sig, r->sig_len);

  if (ret != 0)
    return ck__mbed_fail(err, CK_ERR_BAD_SIGNATURE, ret,
                         "the CSR's signature does not verify with its key");
  return CK_OK;
}

void ck__be_csr_free(void *be) {
  mbed_csr *m = be;

  if (m == NULL)
    return;
  mbedtls_pk_free(&m->pk);
  mbedtls_free(m->sig_opts);
  free(m);
}
