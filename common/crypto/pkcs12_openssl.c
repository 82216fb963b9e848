/* pkcs12_openssl.c — reading PKCS#12 (.p12/.pfx) with OpenSSL.
 *
 * The MAC is checked first so a wrong password is reported as
 * CK_ERR_BAD_PASSWORD rather than as a decryption failure; "no password"
 * tries both the empty and the absent password, as files differ. Files from
 * older tools (and Windows exports) use RC2/3DES with SHA-1, which OpenSSL 3
 * keeps in its "legacy" provider: when parsing fails we load that provider
 * once (keeping the default one) and retry. The key is handed over as a
 * ck_key, certificates as ck_certs. CK_DISABLE_PKCS12 trims this out. */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "common/crypto/backend_openssl.h"

#ifdef CK_DISABLE_PKCS12

ck_err ck_pkcs12_read(const uint8_t *data, size_t len, const char *password,
                      ck_key **key, ck_cert **cert, ck_cert_list *chain,
                      ck_errctx *err) {
  ck_content c;

  ck_crypto_detect(data, len, &c);
  if (c.kind != CK_CONTENT_PKCS12)
    return ck_failf(err, CK_ERR_BAD_PKCS12, "not a PKCS#12 file");
  return ck_failf(err, CK_ERR_UNSUPPORTED,
                  "PKCS#12 file found but not read: PKCS#12 support was left "
                  "out of this build (CK_DISABLE_PKCS12)");
}

#else

static pthread_once_t legacy_once = PTHREAD_ONCE_INIT;
static OSSL_PROVIDER *legacy;

static void unload_legacy(void) {
  OSSL_PROVIDER_unload(legacy);
  legacy = NULL;
}

/* Runs once; the provider stays loaded until exit (before OpenSSL's own
 * atexit cleanup, which was registered earlier and so runs later). */
static void load_legacy(void) {
  legacy = OSSL_PROVIDER_try_load(NULL, "legacy", 1);
  ERR_clear_error();
  if (legacy != NULL)
    atexit(unload_legacy);
}

/* Checks the MAC and picks the password that works (NULL or ""). */
static ck_err check_mac(PKCS12 *p12, const char **pass, ck_errctx *err) {
  if (!PKCS12_mac_present(p12))
    return CK_OK;
  if (*pass != NULL && (*pass)[0] != '\0') {
    if (PKCS12_verify_mac(p12, *pass, -1) == 1)
      return CK_OK;
  } else {
    if (PKCS12_verify_mac(p12, "", 0) == 1) {
      *pass = "";
      return CK_OK;
    }
    if (PKCS12_verify_mac(p12, NULL, 0) == 1) {
      *pass = NULL;
      return CK_OK;
    }
  }
  return ck__ossl_fail(err, CK_ERR_BAD_PASSWORD,
                       "PKCS#12: wrong password (MAC check failed)");
}

ck_err ck_pkcs12_read(const uint8_t *data, size_t len, const char *password,
                      ck_key **key, ck_cert **cert, ck_cert_list *chain,
                      ck_errctx *err) {
  const unsigned char *p = data;
  PKCS12 *p12 = NULL;
  EVP_PKEY *pk = NULL;
  X509 *x = NULL;
  STACK_OF(X509) *ca = NULL;
  ck_key *k = NULL;
  ck_cert *c = NULL, *extra;
  ck_cert_list tmp = {0};
  int i, n;
  ck_err rc;

  if (data == NULL || len > CK__MAX_INPUT || len > LONG_MAX) {
    rc = ck_failf(err, CK_ERR_INVAL, "ck_pkcs12_read: bad input");
    goto out;
  }
  p12 = d2i_PKCS12(NULL, &p, (long)len);
  if (p12 == NULL) {
    rc = ck__ossl_fail(err, CK_ERR_BAD_PKCS12, "not a PKCS#12 file");
    goto out;
  }
  rc = check_mac(p12, &password, err);
  if (rc != CK_OK)
    goto out;
  if (PKCS12_parse(p12, password, &pk, &x, &ca) != 1) {
    ERR_clear_error();
    pthread_once(&legacy_once, load_legacy);
    if (legacy == NULL || PKCS12_parse(p12, password, &pk, &x, &ca) != 1) {
      rc = ck__ossl_fail(err, CK_ERR_UNSUPPORTED,
                         "PKCS#12: cannot decrypt the contents");
      goto out;
    }
  }
  if (pk != NULL) {
    rc = ck__key_wrap(pk, &k, err);
    pk = NULL; /* taken over (freed on failure) */
    if (rc != CK_OK)
      goto out;
  }
  if (x == NULL && ca != NULL && sk_X509_num(ca) > 0)
    x = sk_X509_shift(ca); /* no key: the first certificate is "the" one */
  if (x != NULL) {
    rc = ck__cert_from_x509(x, &c, err);
    if (rc != CK_OK)
      goto out;
  }
  n = ca != NULL ? sk_X509_num(ca) : 0;
  for (i = 0; i < n; i++) {
    rc = ck__cert_from_x509(sk_X509_value(ca, i), &extra, err);
    if (rc == CK_OK)
      rc = ck_cert_list_add(&tmp, extra);
    if (rc != CK_OK)
      goto out;
  }
  /* Success: hand everything over. */
  if (chain != NULL)
    for (i = 0; (size_t)i < tmp.n; i++) {
      rc = ck_cert_list_add(chain, tmp.certs[i]);
      tmp.certs[i] = NULL;
      if (rc != CK_OK)
        goto out;
    }
  if (key != NULL) {
    *key = k;
    k = NULL;
  }
  if (cert != NULL) {
    *cert = c;
    c = NULL;
  }
  rc = CK_OK;
out:
  for (i = 0; (size_t)i < tmp.n; i++)
    ck_cert_free(tmp.certs[i]);
  free(tmp.certs);
  ck_key_free(k);
  ck_cert_free(c);
  EVP_PKEY_free(pk);
  X509_free(x);
  sk_X509_pop_free(ca, X509_free);
  PKCS12_free(p12);
  ERR_clear_error();
  return rc;
}

#endif
