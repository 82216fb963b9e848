/* cert_openssl.c — certificates and CSRs as OpenSSL objects.
 *
 * The neutral parser (x509_fields.c) has already extracted the fields; here
 * OpenSSL must accept the same bytes (d2i_X509 consuming all of them) and
 * answers the questions that need signatures: is a certificate self-signed,
 * does a CSR's signature verify with its own key.
 *
 * CSRs take a fast path when their key and signature are the usual ones
 * (EC P-256/P-384/P-521 with ECDSA-SHA-2, RSA with PKCS#1 v1.5 SHA-2,
 * Ed25519): OpenSSL 3.0's d2i_X509_REQ decodes the public key through its
 * generic decoder, ~150 us and locks shared by every thread, a cost paid on
 * each request the coordinator receives. There the neutral parse is the
 * only parse, and ck_csr_verify builds the key from the SPKI's parts
 * (checking an EC point is on its curve) and verifies the signature over
 * the CertificationRequestInfo bytes. Anything
 * else goes through d2i_X509_REQ and X509_REQ_verify as before. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <uv.h>

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

/* The backend half of a CSR: either the fast path's plan or OpenSSL's own
 * parsed request. */
typedef enum fast_key { FAST_NONE = 0, FAST_EC, FAST_RSA, FAST_ED25519 } fast_key;

typedef struct ossl_csr {
  X509_REQ *req;    /* slow path; NULL on the fast path */
  fast_key kind;    /* fast path: how to build the key */
  const char *md;   /* fast path digest ("SHA2-256"...), NULL for Ed25519 */
  const char *group; /* FAST_EC: "P-256", "P-384", "P-521" */
} ossl_csr;

/* The signatureAlgorithm's parameters: 0 absent, 1 NULL, -1 other. */
static int sig_alg_params(const ck_csr *r) {
  ck__der d, a;
  ck__tlv seq, oid, param;

  ck__der_init(&d, r->sig_alg, r->sig_alg_len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &seq) != 0)
    return -1;
  ck__der_enter(&a, &seq);
  if (ck__der_expect(&a, CK__T_OID, &oid) != 0)
    return -1;
  if (!ck__der_more(&a))
    return 0;
  if (ck__der_get(&a, &param) != 0 || ck__der_more(&a))
    return -1;
  return param.tag == CK__T_NULL && param.len == 0 ? 1 : -1;
}

/* Decides whether r can take the fast path and fills f. */
static void plan_fast(const ck_csr *r, ossl_csr *f) {
  const ck_key_info *k = &r->info.key;
  const char *alg = r->info.sig_alg;
  int params = sig_alg_params(r);

  f->kind = FAST_NONE;
  if (alg == NULL)
    return;
  if (k->type == CK_KEY_EC && params == 0 &&
      (strcmp(k->curve, "P-256") == 0 || strcmp(k->curve, "P-384") == 0 ||
       strcmp(k->curve, "P-521") == 0)) {
    f->group = strcmp(k->curve, "P-256") == 0   ? "P-256"
               : strcmp(k->curve, "P-384") == 0 ? "P-384"
                                                : "P-521";
    if (strcmp(alg, "ecdsa-with-SHA256") == 0)
      f->md = "SHA2-256";
    else if (strcmp(alg, "ecdsa-with-SHA384") == 0)
      f->md = "SHA2-384";
    else if (strcmp(alg, "ecdsa-with-SHA512") == 0)
      f->md = "SHA2-512";
    else
      return;
    f->kind = FAST_EC;
  } else if (k->type == CK_KEY_RSA && params >= 0) {
    if (strcmp(alg, "sha256WithRSAEncryption") == 0)
      f->md = "SHA2-256";
    else if (strcmp(alg, "sha384WithRSAEncryption") == 0)
      f->md = "SHA2-384";
    else if (strcmp(alg, "sha512WithRSAEncryption") == 0)
      f->md = "SHA2-512";
    else
      return;
    f->kind = FAST_RSA;
  } else if (k->type == CK_KEY_ED25519 && params == 0 &&
             strcmp(alg, "ED25519") == 0) {
    f->md = NULL;
    f->kind = FAST_ED25519;
  }
}

/* The subjectPublicKey BIT STRING's bits (after the unused-bits octet). */
static int spki_bits(const ck_csr *r, const uint8_t **v, size_t *n) {
  ck__der d, in;
  ck__tlv seq, alg, bits;

  ck__der_init(&d, r->spki, r->spki_len);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &seq) != 0)
    return -1;
  ck__der_enter(&in, &seq);
  if (ck__der_expect(&in, CK__T_SEQUENCE, &alg) != 0 ||
      ck__der_expect(&in, CK__T_BITSTRING, &bits) != 0 || bits.len < 2 ||
      bits.v[0] != 0)
    return -1;
  *v = bits.v + 1;
  *n = bits.len - 1;
  return 0;
}

/* Builds an RSA public key from RSAPublicKey DER (modulus, exponent). */
static EVP_PKEY *rsa_from_der(const uint8_t *v, size_t n) {
  ck__der d, in;
  ck__tlv seq, mod, exp;
  OSSL_PARAM_BLD *bld = NULL;
  OSSL_PARAM *params = NULL;
  BIGNUM *bn_n = NULL, *bn_e = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  EVP_PKEY *pk = NULL;

  ck__der_init(&d, v, n);
  if (ck__der_expect(&d, CK__T_SEQUENCE, &seq) != 0 || ck__der_more(&d))
    return NULL;
  ck__der_enter(&in, &seq);
  if (ck__der_expect(&in, CK__T_INTEGER, &mod) != 0 ||
      ck__der_expect(&in, CK__T_INTEGER, &exp) != 0 || ck__der_more(&in) ||
      mod.len == 0 || exp.len == 0 || (mod.v[0] & 0x80) || (exp.v[0] & 0x80))
    return NULL; /* negative modulus or exponent */
  if ((bn_n = BN_bin2bn(mod.v, (int)mod.len, NULL)) == NULL ||
      (bn_e = BN_bin2bn(exp.v, (int)exp.len, NULL)) == NULL ||
      (bld = OSSL_PARAM_BLD_new()) == NULL ||
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1 ||
      (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
      (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
      EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
    pk = NULL;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  return pk;
}

/* EC keys: an EVP_PKEY per curve holding only the group, made once. A CSR's
 * key is a copy of it with the point set (EVP_PKEY_set1_encoded_public_key
 * checks the point is on the curve): ~6 us, where EVP_PKEY_fromdata builds
 * the group from scratch each time, ~25 us. The templates live as long as
 * the process and are only read (EVP_PKEY_dup) once made. */
static const char *const ec_groups[] = {"P-256", "P-384", "P-521"};
static EVP_PKEY *ec_tmpl[3];
static uv_once_t ec_once = UV_ONCE_INIT;

static void make_ec_templates(void) {
  size_t i;

  for (i = 0; i < 3; i++) {
    OSSL_PARAM params[2];
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 (char *)ec_groups[i], 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &ec_tmpl[i], EVP_PKEY_KEY_PARAMETERS, params) != 1)
      ec_tmpl[i] = NULL; /* that curve then takes EVP_PKEY_fromdata */
    EVP_PKEY_CTX_free(ctx);
  }
  ERR_clear_error();
}

static EVP_PKEY *ec_from_point(const char *group, const uint8_t *v, size_t n) {
  EVP_PKEY_CTX *ctx;
  EVP_PKEY *pk = NULL;
  OSSL_PARAM params[3];
  size_t i;

  uv_once(&ec_once, make_ec_templates);
  for (i = 0; i < 3; i++) {
    if (strcmp(group, ec_groups[i]) != 0 || ec_tmpl[i] == NULL)
      continue;
    if ((pk = EVP_PKEY_dup(ec_tmpl[i])) != NULL &&
        EVP_PKEY_set1_encoded_public_key(pk, v, n) != 1) {
      EVP_PKEY_free(pk);
      pk = NULL;
    }
    return pk;
  }
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                               (char *)group, 0);
  params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                (void *)v, n);
  params[2] = OSSL_PARAM_construct_end();
  ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
  if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
    pk = NULL;
  EVP_PKEY_CTX_free(ctx);
  return pk;
}

/* Builds the CSR's public key for the fast path; NULL when OpenSSL refuses
 * it (an EC point not on the curve, a malformed RSA key). */
static EVP_PKEY *fast_pubkey(const ck_csr *r, const ossl_csr *f) {
  const uint8_t *v;
  size_t n;

  if (spki_bits(r, &v, &n) != 0)
    return NULL;
  switch (f->kind) {
  case FAST_EC:
    return ec_from_point(f->group, v, n);
  case FAST_RSA:
    return rsa_from_der(v, n);
  case FAST_ED25519:
    return n == 32 ? EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, v, n)
                   : NULL;
  default:
    return NULL;
  }
}

ck_err ck__be_csr_load(ck_csr *r, ck_errctx *err) {
  const unsigned char *p = r->der;
  ossl_csr *f = calloc(1, sizeof *f);

  if (f == NULL)
    return ck_failf(err, CK_ERR_NOMEM, "out of memory reading CSR");
  plan_fast(r, f);
  if (f->kind != FAST_NONE) {
    r->be = f;
    return CK_OK;
  }
  if (r->der_len > LONG_MAX) {
    free(f);
    return ck_failf(err, CK_ERR_BAD_CSR, "CSR too large");
  }
  f->req = d2i_X509_REQ(NULL, &p, (long)r->der_len);
  if (f->req == NULL) {
    free(f);
    return ck__ossl_fail(err, CK_ERR_BAD_CSR, "OpenSSL cannot parse the CSR");
  }
  if (p != r->der + r->der_len) {
    X509_REQ_free(f->req);
    free(f);
    return ck_failf(err, CK_ERR_BAD_CSR, "CSR has trailing bytes");
  }
  r->be = f;
  return CK_OK;
}

static ck_err fast_verify(const ck_csr *r, const ossl_csr *f, ck_errctx *err) {
  EVP_PKEY *pk = fast_pubkey(r, f);
  EVP_MD_CTX *md = NULL;
  ck_err rc;

  if (pk == NULL) {
    rc = ck__ossl_fail(err, CK_ERR_UNSUPPORTED,
                       "cannot use the CSR's %s public key", r->info.key.desc);
    goto out;
  }
  if ((md = EVP_MD_CTX_new()) == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  if (EVP_DigestVerifyInit_ex(md, NULL, f->md, NULL, NULL, pk, NULL) != 1 ||
      EVP_DigestVerify(md, r->sig, r->sig_len, r->cri, r->cri_len) != 1) {
    rc = ck__ossl_fail(err, CK_ERR_BAD_SIGNATURE,
                       "the CSR's signature does not verify with its key");
    goto out;
  }
  ERR_clear_error();
  rc = CK_OK;
out:
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pk);
  return rc;
}

ck_err ck__be_csr_verify(const ck_csr *r, ck_errctx *err) {
  const ossl_csr *f = r->be;
  EVP_PKEY *pk;

  if (f->req == NULL)
    return fast_verify(r, f, err);
  pk = X509_REQ_get0_pubkey(f->req);
  if (pk == NULL)
    return ck__ossl_fail(err, CK_ERR_UNSUPPORTED,
                         "cannot use the CSR's %s public key",
                         r->info.key.desc);
  if (X509_REQ_verify(f->req, pk) != 1)
    return ck__ossl_fail(err, CK_ERR_BAD_SIGNATURE,
                         "the CSR's signature does not verify with its key");
  ERR_clear_error();
  return CK_OK;
}

void ck__be_csr_free(void *be) {
  ossl_csr *f = be;

  if (f == NULL)
    return;
  X509_REQ_free(f->req);
  free(f);
}
