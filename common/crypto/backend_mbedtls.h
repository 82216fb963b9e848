/* backend_mbedtls.h — the mbedTLS 2.28 side of common/crypto/, for the files
 * of this room only (the TLS engine in tls_mbedtls.c included).
 *
 * Borrowed access to the mbedTLS objects behind the opaque handles, the
 * random generator every mbedTLS operation uses (a CTR-DRBG seeded from
 * ck_random(), our seam — never from the clock), the error-code-to-message
 * helper and mbedtls_x509_time conversion. Never include this outside
 * common/crypto/. */
#ifndef CK_CRYPTO_BACKEND_MBEDTLS_H
#define CK_CRYPTO_BACKEND_MBEDTLS_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_crt.h>

#include "common/crypto/crypto_int.h"

/* The key's pk context (borrowed). */
mbedtls_pk_context *ck__key_pk(const ck_key *key);

/* The certificate's parsed form (borrowed); NULL for info-only
 * certificates (key types mbedTLS cannot read, e.g. Ed25519). */
mbedtls_x509_crt *ck__cert_crt(const ck_cert *cert);

/* A DRBG for one operation or one TLS context. Use as
 * f_rng = mbedtls_ctr_drbg_random, p_rng = &rng->drbg. */
typedef struct ck__mbed_rng {
  mbedtls_ctr_drbg_context drbg;
} ck__mbed_rng;

/* Seeds rng from ck_random(). Returns CK_ERR_CRYPTO on failure (rng must
 * still be freed). */
ck_err ck__mbed_rng_init(ck__mbed_rng *rng, ck_errctx *err);
void ck__mbed_rng_free(ck__mbed_rng *rng);

/* Records code and "<message> (<mbedTLS error text>)" in err; returns code. */
ck_err ck__mbed_fail(ck_errctx *err, ck_err code, int mbed_ret, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

/* Verifies sig over data (hashing with md) with pk: 0 when it verifies,
 * else an mbedTLS error code. */
int ck__mbed_check_sig(mbedtls_md_type_t md, mbedtls_pk_type_t sig_pk,
                       const void *sig_opts, mbedtls_pk_context *pk,
                       const unsigned char *data, size_t len,
                       const unsigned char *sig, size_t sig_len);

/* Epoch seconds of an mbedtls_x509_time (UTC). */
int64_t ck__mbed_time(const mbedtls_x509_time *t);

#endif
