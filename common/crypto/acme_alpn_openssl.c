/* acme_alpn_openssl.c — tls-alpn-01 certificates (RFC 8737) with OpenSSL 3:
 * the check the validator runs on the certificate a host presents, and the
 * maker used by tests (see acme_alpn.h). */
#include "common/crypto/acme_alpn.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/crypto/backend_openssl.h"
#include "common/util/clock.h"

/* The extnValue: DER of Authorization ::= OCTET STRING (SIZE (32)). */
#define EXT_LEN (2 + CK_SHA256_LEN)

static int ascii_ieq(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);

  if (alen != blen)
    return 0;
  for (size_t i = 0; i < alen; i++) {
    int x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (x >= 'A' && x <= 'Z')
      x += 'a' - 'A';
    if (y >= 'A' && y <= 'Z')
      y += 'a' - 'A';
    if (x != y)
      return 0;
  }
  return 1;
}

static ck_err check_san(X509 *x, const char *name, ck_errctx *err) {
  int crit = 0, idx = -1;
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, &idx);
  const GENERAL_NAME *g;
  ck_err rc = CK_OK;

  if (gens == NULL)
    return ck_failf(err, CK_ERR_VERIFY,
                    crit == -2 ? "the certificate has more than one "
                                 "subjectAltName extension"
                               : "the certificate has no subjectAltName");
  if (sk_GENERAL_NAME_num(gens) != 1) {
    rc = ck_failf(err, CK_ERR_VERIFY,
                  "the certificate has %d subjectAltName entries; exactly "
                  "one (dNSName %s) is required",
                  sk_GENERAL_NAME_num(gens), name);
    goto out;
  }
  g = sk_GENERAL_NAME_value(gens, 0);
  if (g->type != GEN_DNS) {
    rc = ck_failf(err, CK_ERR_VERIFY,
                  "the certificate's subjectAltName is not a dNSName");
    goto out;
  }
  if (!ascii_ieq((const char *)ASN1_STRING_get0_data(g->d.dNSName),
                 (size_t)ASN1_STRING_length(g->d.dNSName), name)) {
    rc = ck_failf(err, CK_ERR_VERIFY,
                  "the certificate is for another name (its dNSName is not "
                  "%s)",
                  name);
    goto out;
  }
out:
  GENERAL_NAMES_free(gens);
  return rc;
}

ck_err ck_acme_alpn_cert_check(const uint8_t *der, size_t len,
                               const char *name,
                               const uint8_t digest[CK_SHA256_LEN],
                               ck_errctx *err) {
  const unsigned char *p = der;
  X509 *x = NULL;
  ASN1_OBJECT *oid = NULL;
  const ASN1_OCTET_STRING *val;
  X509_EXTENSION *ext;
  int idx;
  ck_err rc = CK_OK;

  if (der == NULL || len == 0 || len > 65536)
    return ck_failf(err, CK_ERR_BAD_CERT, "no certificate");
  x = d2i_X509(NULL, &p, (long)len);
  if (x == NULL || p != der + len) {
    rc = ck__ossl_fail(err, CK_ERR_BAD_CERT, "the certificate is malformed");
    goto out;
  }
  oid = OBJ_txt2obj(CK_ACME_ALPN_OID, 1);
  if (oid == NULL) {
    rc = ck__ossl_fail(err, CK_ERR_CRYPTO, "acmeIdentifier OID");
    goto out;
  }
  idx = X509_get_ext_by_OBJ(x, oid, -1);
  if (idx < 0) {
    rc = ck_failf(err, CK_ERR_VERIFY,
                  "the certificate has no acmeIdentifier extension");
    goto out;
  }
  if (X509_get_ext_by_OBJ(x, oid, idx) >= 0) {
    rc = ck_failf(err, CK_ERR_VERIFY,
                  "the certificate has more than one acmeIdentifier "
                  "extension");
    goto out;
  }
  ext = X509_get_ext(x, idx);
  if (X509_EXTENSION_get_critical(ext) != 1) {
    rc = ck_failf(err, CK_ERR_VERIFY,
                  "the acmeIdentifier extension is not critical (RFC 8737 "
                  "section 3)");
    goto out;
  }
  val = X509_EXTENSION_get_data(ext);
  if (ASN1_STRING_length(val) != EXT_LEN ||
      ASN1_STRING_get0_data(val)[0] != 0x04 ||
      ASN1_STRING_get0_data(val)[1] != CK_SHA256_LEN) {
    rc = ck_failf(err, CK_ERR_VERIFY,
                  "the acmeIdentifier extension is not an OCTET STRING of "
                  "32 bytes");
    goto out;
  }
  if (CRYPTO_memcmp(ASN1_STRING_get0_data(val) + 2, digest, CK_SHA256_LEN) !=
      0) {
    rc = ck_failf(err, CK_ERR_VERIFY,
                  "the acmeIdentifier extension does not hold the SHA-256 "
                  "digest of this challenge's key authorization");
    goto out;
  }
  rc = check_san(x, name, err);
out:
  ASN1_OBJECT_free(oid);
  X509_free(x);
  return rc;
}

/* Adds the acmeIdentifier extension to x. */
static ck_err add_acme_ext(X509 *x, const uint8_t *digest, int critical,
                           ck_errctx *err) {
  uint8_t der[EXT_LEN];
  ASN1_OBJECT *oid = OBJ_txt2obj(CK_ACME_ALPN_OID, 1);
  ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
  X509_EXTENSION *ext = NULL;
  ck_err rc = CK_OK;

  der[0] = 0x04;
  der[1] = CK_SHA256_LEN;
  memcpy(der + 2, digest, CK_SHA256_LEN);
  if (oid == NULL || os == NULL || !ASN1_OCTET_STRING_set(os, der, EXT_LEN) ||
      (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, critical, os)) == NULL ||
      !X509_add_ext(x, ext, -1))
    rc = ck__ossl_fail(err, CK_ERR_CRYPTO, "acmeIdentifier extension");
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(os);
  ASN1_OBJECT_free(oid);
  return rc;
}

static ck_err add_san(X509 *x, const char *name, ck_errctx *err) {
  GENERAL_NAMES *gens = GENERAL_NAMES_new();
  GENERAL_NAME *g = GENERAL_NAME_new();
  ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
  ck_err rc = CK_OK;

  if (gens == NULL || g == NULL || ia5 == NULL ||
      !ASN1_STRING_set(ia5, name, (int)strlen(name))) {
    rc = ck__ossl_fail(err, CK_ERR_NOMEM, "subjectAltName");
    goto out;
  }
  GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
  ia5 = NULL;
  if (!sk_GENERAL_NAME_push(gens, g)) {
    rc = ck__ossl_fail(err, CK_ERR_NOMEM, "subjectAltName");
    goto out;
  }
  g = NULL;
  if (!X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT))
    rc = ck__ossl_fail(err, CK_ERR_CRYPTO, "subjectAltName");
out:
  ASN1_IA5STRING_free(ia5);
  GENERAL_NAME_free(g);
  GENERAL_NAMES_free(gens);
  return rc;
}

static ck_err x509_pem(X509 *x, char **out, ck_errctx *err) {
  BIO *b = BIO_new(BIO_s_mem());
  char *data = NULL;
  long n;
  ck_err rc = CK_OK;

  if (b == NULL || PEM_write_bio_X509(b, x) != 1) {
    rc = ck__ossl_fail(err, CK_ERR_CRYPTO, "certificate PEM");
    goto out;
  }
  n = BIO_get_mem_data(b, &data);
  *out = malloc((size_t)n + 1);
  if (*out == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  memcpy(*out, data, (size_t)n);
  (*out)[n] = '\0';
out:
  BIO_free(b);
  return rc;
}

ck_err ck_acme_alpn_cert_make(const char *name,
                              const uint8_t digest[CK_SHA256_LEN],
                              int bad_critical, char **cert_pem,
                              char **key_pem, ck_errctx *err) {
  ck_key_spec spec = {CK_KEY_EC, 256};
  ck_key *key = NULL;
  X509 *x = NULL;
  X509_NAME *subj = NULL;
  uint8_t serial[16];
  BIGNUM *bn = NULL;
  size_t klen = 0;
  time_t now = (time_t)ck_clock_now();
  ck_err rc;

  *cert_pem = NULL;
  *key_pem = NULL;
  rc = ck_key_generate(&spec, &key, err);
  if (rc != CK_OK)
    goto out;
  x = X509_new();
  subj = X509_NAME_new();
  rc = ck_random(serial, sizeof serial);
  if (rc != CK_OK)
    goto out;
  serial[0] &= 0x7F;
  bn = BN_bin2bn(serial, sizeof serial, NULL);
  if (x == NULL || subj == NULL || bn == NULL || !X509_set_version(x, 2) ||
      BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
      !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
                                  (const unsigned char *)"ACME challenge",
                                  -1, -1, 0) ||
      !X509_set_subject_name(x, subj) || !X509_set_issuer_name(x, subj) ||
      X509_time_adj_ex(X509_getm_notBefore(x), 0, -3600, &now) == NULL ||
      X509_time_adj_ex(X509_getm_notAfter(x), 7, 0, &now) == NULL ||
      !X509_set_pubkey(x, ck__key_evp(key))) {
    rc = ck__ossl_fail(err, CK_ERR_CRYPTO, "tls-alpn-01 certificate");
    goto out;
  }
  rc = add_san(x, name, err);
  if (rc == CK_OK)
    rc = add_acme_ext(x, digest, bad_critical ? 0 : 1, err);
  if (rc != CK_OK)
    goto out;
  if (X509_sign(x, ck__key_evp(key), EVP_sha256()) <= 0) {
    rc = ck__ossl_fail(err, CK_ERR_CRYPTO, "signing the certificate");
    goto out;
  }
  rc = x509_pem(x, cert_pem, err);
  if (rc == CK_OK)
    rc = ck_key_export_pem(key, CK_KEY_PEM_PKCS8, key_pem, &klen, err);
  if (rc != CK_OK) {
    free(*cert_pem);
    *cert_pem = NULL;
  }
out:
  BN_free(bn);
  X509_NAME_free(subj);
  X509_free(x);
  ck_key_free(key);
  return rc;
}
