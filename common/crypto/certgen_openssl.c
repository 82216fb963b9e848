/* certgen_openssl.c — the certificate signer for OpenSSL 3.
 *
 * A signer holds an EVP_MD_CTX on which EVP_DigestSignInit has run once
 * (digest and signature algorithm fetched, key bound). Each signature
 * copies that template with EVP_MD_CTX_copy_ex — the copy duplicates the
 * provider's context, never refetching an algorithm, which in OpenSSL 3.0
 * takes a lock shared by all threads — and signs on the copy. The template
 * itself is only read, so any number of threads may sign at once. Ed25519
 * (pure, one-shot) is initialised per signature instead. */
#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/crypto/backend_openssl.h"
#include "common/crypto/certgen_int.h"

typedef struct signer {
  EVP_PKEY *pkey;   /* own reference */
  EVP_MD_CTX *tmpl; /* initialised for signing; NULL for Ed25519 */
} signer;

void ck__certgen_be_free(void *p) {
  signer *s = p;

  if (s == NULL)
    return;
  EVP_MD_CTX_free(s->tmpl);
  EVP_PKEY_free(s->pkey);
  OPENSSL_free(s);
}

ck_err ck__certgen_be_new(const ck_key *key, ck__certgen_md md, void **out,
                          ck_errctx *err) {
  const char *mdname = NULL;
  signer *s = NULL;
  ck_err rc;

  switch (md) {
  case CK__CERTGEN_PURE:
    break;
  case CK__CERTGEN_SHA256:
    mdname = "SHA2-256";
    break;
  case CK__CERTGEN_SHA384:
    mdname = "SHA2-384";
    break;
  case CK__CERTGEN_SHA512:
    mdname = "SHA2-512";
    break;
  }
  s = OPENSSL_zalloc(sizeof *s);
  if (s == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  s->pkey = ck__key_evp(key);
  if (EVP_PKEY_get_size(s->pkey) > CK__CERTGEN_SIG_MAX) {
    s->pkey = NULL;
    rc = ck_failf(err, CK_ERR_UNSUPPORTED, "%s issuer key is too large",
                  key->info.desc);
    goto out;
  }
  if (EVP_PKEY_up_ref(s->pkey) != 1) {
    s->pkey = NULL;
    rc = ck__ossl_fail(err, CK_ERR_CRYPTO, "EVP_PKEY_up_ref failed");
    goto out;
  }
  if (mdname != NULL) {
    s->tmpl = EVP_MD_CTX_new();
    if (s->tmpl == NULL) {
      rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
      goto out;
    }
    if (EVP_DigestSignInit_ex(s->tmpl, NULL, mdname, NULL, NULL, s->pkey,
                              NULL) != 1) {
      rc = ck__ossl_fail(err, CK_ERR_UNSUPPORTED,
                         "cannot sign with the %s issuer key", key->info.desc);
      goto out;
    }
  }
  *out = s;
  s = NULL;
  rc = CK_OK;
out:
  ck__certgen_be_free(s);
  return rc;
}

ck_err ck__certgen_be_sign(void *p, const uint8_t *tbs, size_t len,
                           uint8_t sig[CK__CERTGEN_SIG_MAX], size_t *sig_len,
                           ck_errctx *err) {
  signer *s = p;
  EVP_MD_CTX *md = NULL;
  size_t n = CK__CERTGEN_SIG_MAX;
  ck_err rc;

  md = EVP_MD_CTX_new();
  if (md == NULL) {
    rc = ck_failf(err, CK_ERR_NOMEM, "out of memory");
    goto out;
  }
  if (s->tmpl != NULL) {
    if (EVP_MD_CTX_copy_ex(md, s->tmpl) != 1) {
      rc = ck__ossl_fail(err, CK_ERR_CRYPTO, "copying the signing context");
      goto out;
    }
  } else if (EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, s->pkey, NULL) !=
             1) {
    rc = ck__ossl_fail(err, CK_ERR_CRYPTO, "preparing the signature");
    goto out;
  }
  if (EVP_DigestSign(md, sig, &n, tbs, len) != 1) {
    rc = ck__ossl_fail(err, CK_ERR_CRYPTO, "signing the certificate failed");
    goto out;
  }
  *sig_len = n;
  rc = CK_OK;
out:
  EVP_MD_CTX_free(md);
  return rc;
}
