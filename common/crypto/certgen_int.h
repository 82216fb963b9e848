/* certgen_int.h — the backend half of certgen.c (issuing certificates).
 *
 * certgen.c encodes the TBSCertificate itself (der.c), so both builds write
 * the same structure; only the signature comes from the backend, through a
 * "signer" prepared once per issuer: certgen_openssl.c keeps an initialised
 * EVP_MD_CTX to copy per signature (no algorithm fetches on the hot path),
 * certgen_mbedtls.c serialises mbedtls_pk_sign behind a mutex (an mbedTLS
 * key is not safe for concurrent use). Not for use outside common/crypto/. */
#ifndef CK_CRYPTO_CERTGEN_INT_H
#define CK_CRYPTO_CERTGEN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto/certgen.h"
#include "common/crypto/crypto_int.h"

/* Largest signature a signer may produce (RSA 8192). */
#define CK__CERTGEN_SIG_MAX 1024

typedef enum ck__certgen_md {
  CK__CERTGEN_PURE = 0, /* Ed25519: no separate digest */
  CK__CERTGEN_SHA256,
  CK__CERTGEN_SHA384,
  CK__CERTGEN_SHA512,
} ck__certgen_md;

/* Prepares a signer for key with digest md. key is borrowed and must
 * outlive the signer. Returns CK_ERR_UNSUPPORTED when the backend cannot
 * sign with this key type, CK_ERR_CRYPTO / CK_ERR_NOMEM otherwise. On
 * success *out is owned by the caller (ck__certgen_be_free). */
ck_err ck__certgen_be_new(const ck_key *key, ck__certgen_md md, void **out,
                          ck_errctx *err);

/* Signs len bytes at tbs into sig (CK__CERTGEN_SIG_MAX bytes), *sig_len set
 * to the signature's length (DER ECDSA-Sig-Value, PKCS#1 v1.5 block or raw
 * Ed25519). Thread-safe for one signer. */
ck_err ck__certgen_be_sign(void *signer, const uint8_t *tbs, size_t len,
                           uint8_t sig[CK__CERTGEN_SIG_MAX], size_t *sig_len,
                           ck_errctx *err);

/* Frees a signer. NULL is a no-op. */
void ck__certgen_be_free(void *signer);

/* ---- other signed structures (CRLs, OCSP responses: crl.c, ocsp.c) ---- */

/* Signs len bytes at tbs with iss's key. *alg (static) is the DER
 * AlgorithmIdentifier to write next to the signature. Thread-safe. */
ck_err ck__certgen_sign_raw(const ck_certgen_issuer *iss, const uint8_t *tbs,
                            size_t len, uint8_t sig[CK__CERTGEN_SIG_MAX],
                            size_t *sig_len, const uint8_t **alg,
                            size_t *alg_len, ck_errctx *err);
/* The issuer's Name DER (NULL, *len 0 for a self-signed issuer) and key
 * identifier (what certificates it issues carry as AKI). Borrowed. */
const uint8_t *ck__certgen_issuer_name(const ck_certgen_issuer *iss,
                                       size_t *len);
const uint8_t *ck__certgen_issuer_key_id(const ck_certgen_issuer *iss,
                                         size_t *len);
/* The DER AlgorithmIdentifier iss signs with (static). */
const uint8_t *ck__certgen_issuer_alg(const ck_certgen_issuer *iss,
                                      size_t *len);
/* Writes a Time: UTCTime through 2049 and GeneralizedTime after, or
 * always GeneralizedTime when generalized is 1 (OCSP). */
void ck__certgen_write_time(ck__derw *w, int64_t t, int generalized);

#endif
