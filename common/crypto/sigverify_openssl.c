/* sigverify_openssl.c — raw signature verification with OpenSSL 3
 * (sigverify.h). */
#include "common/crypto/sigverify.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

ck_err ck_crypto_ed25519_verify(const uint8_t *spki, size_t spki_len,
                                const void *msg, size_t msg_len,
                                const uint8_t *sig, size_t sig_len) {
  const unsigned char *p = spki;
  EVP_PKEY *pk = NULL;
  EVP_MD_CTX *md = NULL;
  ck_err rc = CK_ERR_BAD_KEY;

  if (spki_len > 65536 || sig_len != 64)
    return sig_len != 64 ? CK_ERR_BAD_SIGNATURE : CK_ERR_BAD_KEY;
  pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
  if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_ED25519)
    goto out;
  rc = CK_ERR_NOMEM;
  if ((md = EVP_MD_CTX_new()) == NULL)
    goto out;
  rc = CK_ERR_BAD_SIGNATURE;
  if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
      EVP_DigestVerify(md, sig, sig_len, msg, msg_len) == 1)
    rc = CK_OK;
out:
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pk);
  return rc;
}
